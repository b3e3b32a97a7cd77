/* respond: the auto-kill response for batch clusters. Given a target's verdict after each interval, decide whether
 * to act (mode off, dry-run, freeze, kill), check the safety rules, rate-limit, write the audit log, and freeze
 * or kill the target's cgroup subtree.
 *
 * Rules (all in rw_respond_allowed(), the one place they live):
 *   - never the cgroup2 root, the agent's own cgroup or any of its ancestors, any path with an init.scope component;
 *   - never a target matched by [response] allow_cgroup (fnmatch on the path relative to the cgroup2 root, on the
 *     path or any ancestor of it) or allow_identity ("docker:<id>", "containerd:<id>", "cri-o:<id>", "podman:<id>",
 *     "lxc:<name>", "pod:<uid>", "slurm:<job>[/<step>]", "unit:<name>", globs allowed; "slurm:<job>" covers its
 *     steps, "unit:<name>" any unit on the path, a bare 12+ hex id prefix matches the full container id);
 *   - never a target whose subtree holds a cgroup that one of the rules above protects (acting is on the subtree).
 * Gating: verdict `mining` for at least min_intervals consecutive intervals, and score >= min_score.
 * Once per mining episode (keyed by the verdict's since_ns): a frozen or killed target is not acted on again until
 * it enters `mining` anew; a target thawed by someone else is left alone for the rest of that episode.
 * Rate limit: at most max_actions_per_min actions (dry-run included) in any 60 s window; 0 means none at all.
 * Audit: one JSON line per decision, written and fsync()ed before the action ("result":"pending") and again with the
 * result; if the audit log cannot be written, nothing is done. */
#ifndef RIGWATCH_RESPOND_H
#define RIGWATCH_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rigwatch/config.h"
#include "rigwatch/identity.h"
#include "rigwatch/report.h"

struct rw_respond;

/* Counters for /metrics, since open. */
struct rw_respond_stats {
	uint64_t dry_runs;       /* would have acted */
	uint64_t freezes;        /* targets frozen (vanished counts as done) */
	uint64_t kills;          /* targets killed */
	uint64_t failures;       /* actions that failed (audit write, timeout, permission) */
	uint64_t refused;        /* qualifying targets refused by a safety rule (once per episode) */
	uint64_t rate_limited;   /* qualifying targets held back by the rate limit (once per episode) */
};

/* Copy the settings of cfg ([response]), open the audit log (unless mode is off; its directory is created if
 * missing), find the agent's own cgroup from /proc/self/cgroup ("0::" line). cgroup2_root is the cgroup2 mount
 * (absolute). Returns 0 or a negative errno with a message in err. */
int rw_respond_open(struct rw_respond **out, const struct rw_config *cfg, const char *cgroup2_root, char *err,
		    size_t errlen);
void rw_respond_close(struct rw_respond *r);

/* Called once per target per interval after scoring. now_ns: CLOCK_REALTIME (the report's time_ns); used for the
 * rate limit, the audit time and t->action_time_ns. Sets t->action / t->action_time_ns to what respond did or
 * remembers for this target. Returns 0; failures of an action show as RW_ACTION_FAILED, not as an error.
 * -EINVAL only for bad arguments. */
int rw_respond_consider(struct rw_respond *r, struct rw_report_target *t, uint64_t now_ns);

/* The target is gone: drop what respond remembers about it. */
void rw_respond_forget(struct rw_respond *r, uint64_t cgroup_id);

/* The safety rules. cgroup: path relative to the cgroup2 root ("/a/b"). Returns NULL when acting on the target is
 * allowed, otherwise `why` (filled with the reason, e.g. "ancestor of the agent's own cgroup /a/b/c"). */
const char *rw_respond_allowed(const struct rw_respond *r, const char *cgroup, const struct rw_identity *id,
			       char *why, size_t whylen);

/* The actions, on a cgroup path relative to the cgroup2 root, for the subtree. Return 0 done, RW_RESPOND_VANISHED
 * when the cgroup is gone (a success), or a negative errno (-ETIMEDOUT when the bounded wait ran out); detail
 * gets a line for the audit log. */
#define RW_RESPOND_VANISHED 1
enum rw_kill_method {
	RW_KILL_AUTO = 0,   /* cgroup.kill where the kernel has it (5.14+), signals otherwise */
	RW_KILL_SIGNALS,    /* SIGKILL every process in cgroup.procs of the subtree until it is empty */
};
int rw_respond_freeze(struct rw_respond *r, const char *cgroup, char *detail, size_t len);
int rw_respond_thaw(struct rw_respond *r, const char *cgroup, char *detail, size_t len);
int rw_respond_kill(struct rw_respond *r, const char *cgroup, enum rw_kill_method how, char *detail, size_t len);

void rw_respond_get_stats(const struct rw_respond *r, struct rw_respond_stats *out);
/* The agent's own cgroup as found at open ("/" when at the root). */
const char *rw_respond_self_cgroup(const struct rw_respond *r);
/* Whether cgroup.freeze/cgroup.kill are written through libcgroup (true) or with plain writes (false). */
bool rw_respond_uses_libcgroup(const struct rw_respond *r);

/* "none", "dry-run", "frozen", "killed", "failed": for /verdicts, /metrics labels and `rigwatch list`. */
const char *rw_action_state_name(enum rw_action_state s);

#endif
