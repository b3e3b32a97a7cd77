/* respond: the auto-kill response for batch clusters. Given a target's verdict after each interval, decide whether
 * to act (mode off, dry-run, freeze, kill), check the safety rules, re-check the evidence, rate-limit, write the
 * audit log, and freeze or kill the target's cgroup subtree through a directory fd whose inode is the target's id.
 *
 * What may act (rw_respond_evidence_qualifies): behaviour, never names. A target is acted on only when its verdict
 * is `mining` (min_intervals, min_score) AND the interval's FP evidence shows hashing (two or more distinct
 * non-default rounding modes on one thread) AND the target used at least RW_RESPOND_MIN_CORES of CPU in that
 * interval; and then, right before acting, a fresh read (FP of the busiest threads, CPU delta, process scan)
 * must show the same. Indicators (names, command lines, pool connections) are never looked at here.
 *
 * Rules (rw_respond_allowed, the one place they live):
 *   - never the cgroup2 root, the agent's own cgroup or any of its ancestors (by inode), init.scope: no setting
 *     changes these;
 *   - a built-in protected set, lifted only by [response] unprotect (cgroup globs naming what they open):
 *     systemd services (any *.service component), everything in system.slice that is not a container or Slurm
 *     step, user session scopes, structure cgroups (slices, kubepods QoS levels, runtime helpers), container
 *     runtime and kubelet cgroups, Slurm daemons (slurmstepd.scope outside a job step), kube-system pods;
 *   - never a target matched by allow_cgroup / allow_identity (see config);
 *   - never a target whose subtree holds a cgroup one of the rules above protects (acting is on the subtree);
 *   - per-process targets (rw_target_is_process ids) only with [response] process_targets = true, and then by
 *     pid after checking the process's start time, through a pidfd.
 * Right before acting: never a cgroup whose subtree holds the agent's pid; in kill mode a cgroup whose processes
 * belong to more than one uid is frozen instead, with the reason in the audit line and the alert.
 * Once per mining episode (keyed by the verdict's since_ns): a frozen or killed target is not acted on again until
 * it enters `mining` anew; a target thawed by someone else is left alone for the rest of that episode.
 * Rate limit: at most max_actions_per_min actions (dry-run included) in any 60 s window; 0 means none at all.
 * Audit: one JSON line per decision, written and fsync()ed before the action ("result":"pending") and again with the
 * result; if the audit log cannot be written, nothing is done. Every decision is also handed to the event callback
 * (alerts, counters). */
#ifndef RIGWATCH_RESPOND_H
#define RIGWATCH_RESPOND_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include "rigwatch/config.h"
#include "rigwatch/identity.h"
#include "rigwatch/report.h"

struct rw_respond;

/* Least CPU use, in cores (Q16.16), for a target to count as hashing: in the interval and in the re-check. */
#define RW_RESPOND_MIN_CORES_Q16 (65536 / 20)
/* Distinct non-default rounding modes one thread must show. */
#define RW_RESPOND_MIN_NONDEFAULT_MODES 2
/* How long the re-check reads the target (FP reads spread over it, CPU delta across it). */
#define RW_RESPOND_RECHECK_MS 400

/* Whether a target's evidence shows hashing: FP evidence (path set, >= RW_RESPOND_MIN_NONDEFAULT_MODES on one
 * thread) and cpu_usec over window_us at least RW_RESPOND_MIN_CORES_Q16. why gets the verdict in words. */
bool rw_respond_evidence_qualifies(const struct rw_fp_evidence *fp, uint64_t cpu_usec, uint64_t window_us,
				   char *why, size_t whylen);

/* The fresh FP read of the re-check, supplied by the agent: the ptrace path (rw_respond_fp_ptrace) or any other.
 * tids: the target's threads (n of them) as the process scan found them; read the busiest ones now, over about
 * window_ms, and fill *out. Returns 0 or a negative errno (then nothing qualifies). */
struct rw_respond_recheck {
	int (*read_fp)(void *arg, uint64_t target_id, const pid_t *tids, unsigned n, unsigned window_ms,
		       struct rw_fp_evidence *out);
	void *arg;
};
void rw_respond_set_recheck(struct rw_respond *r, const struct rw_respond_recheck *rc);
/* A v1-only host: the root given to rw_respond_open is a v1 hierarchy, and freeze/kill go through the v1 freezer
 * mounted here (the twin at the target's path; the same directory when the freezer is the walked hierarchy).
 * Without it ("" or never called) a v1 target cannot be frozen or killed: the attempt fails and says so. */
void rw_respond_set_v1_freezer(struct rw_respond *r, const char *freezer_root);
/* The ptrace path: picks the busiest threads (CPU over the first quarter of the window), reads each one's FP
 * control register several times over the rest with rw_fpprobe_read_thread. arg is unused. */
int rw_respond_fp_ptrace(void *arg, uint64_t target_id, const pid_t *tids, unsigned n, unsigned window_ms,
			 struct rw_fp_evidence *out);

/* Decisions, for the counter rigwatch_response_actions_total{action,result} and the alert stream. */
enum rw_respond_action { RW_RA_DRY_RUN = 0, RW_RA_FREEZE, RW_RA_KILL, RW_RA_COUNT };
enum rw_respond_result {
	RW_RR_OK = 0,          /* done (dry-run: would have acted) */
	RW_RR_VANISHED,        /* the cgroup or process went before or while acting: done */
	RW_RR_FROZEN_NOT_KILLED, /* kill mode, shared cgroup (several uids): frozen instead */
	RW_RR_FAILED,
	RW_RR_REFUSED,         /* a safety rule */
	RW_RR_RATE_LIMITED,
	RW_RR_NO_EVIDENCE,     /* mining verdict without behavioural evidence of hashing in the interval */
	RW_RR_RECHECK_FAILED,  /* the fresh read right before acting did not show hashing (or the target changed) */
	RW_RR_ALLOWED,         /* an [allow] rule exempts the target (its reason is the detail) */
	RW_RR_COUNT
};
_Static_assert(RW_RA_COUNT == RW_REPORT_RESPONSE_ACTIONS && RW_RR_COUNT == RW_REPORT_RESPONSE_RESULTS,
	       "report.h sizes the response counter");
const char *rw_respond_action_name(enum rw_respond_action a);   /* "dry-run", "freeze", "kill" */
const char *rw_respond_result_name(enum rw_respond_result r);   /* "ok", "vanished", ... */

struct rw_respond_event {
	const struct rw_report_target *target;
	enum rw_respond_action action;
	enum rw_respond_result result;
	const char *detail;    /* what was done or why not */
	const char *checks;    /* the evidence the decision rested on: interval and re-check, in words */
	uint64_t time_ns;
};
typedef void (*rw_respond_event_fn)(const struct rw_respond_event *ev, void *arg);
/* Called once per decision that is audited (not for "pending"), at that moment, on the caller's thread. */
void rw_respond_on_event(struct rw_respond *r, rw_respond_event_fn fn, void *arg);

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
 * missing), and find the agent's own cgroup in the tree below cgroup2_root (absolute): the directory whose
 * cgroup.procs lists getpid(), tried first at the path /proc/self/cgroup gives ("0::" line) and else searched for
 * (inside a cgroup namespace that line says "/"), with the inodes of it and every ancestor. When the mode acts
 * (dry-run, freeze, kill) and the agent is not in that tree, returns -ENOENT with the reason in err: the caller
 * refuses to arm (exit 2). Returns 0 or a negative errno with a message in err. */
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

/* Whether the target's verdict is to be held as it is: respond froze it (and it is still frozen) or killed it (and
 * its cgroup is still there). A frozen cgroup shows no activity; it must not decay to `clean`. */
bool rw_respond_holds(const struct rw_respond *r, uint64_t target_id);

/* The safety rules. cgroup: path relative to the cgroup2 root ("/a/b"); cgroup_id its inode (0: not known, the
 * path rules only). Returns 0 when acting on the target is allowed, otherwise -EPERM with the reason in `why`
 * (e.g. "an ancestor of the agent's own cgroup /a/b/c"). */
int rw_respond_allowed(const struct rw_respond *r, const char *cgroup, uint64_t cgroup_id, const struct rw_identity *id,
		       char *why, size_t whylen);

/* Open the target's cgroup directory (path relative to the cgroup2 root) and check that its inode is cgroup_id.
 * Returns the fd, RW_RESPOND_VANISHED-style -ENOENT when gone, or -ESTALE when the path now names another cgroup;
 * detail says which. Every action below works through such an fd: a path is never looked up again. */
int rw_respond_open_target(const struct rw_respond *r, const char *cgroup, uint64_t cgroup_id, char *detail,
			   size_t len);
/* The actions, on an fd from rw_respond_open_target, for the subtree. Return 0 done, RW_RESPOND_VANISHED
 * when the cgroup is gone (a negative errno like the others, but an outcome the caller counts as done), or
 * another negative errno (-ETIMEDOUT when the bounded wait ran out); detail gets a line for the audit log. */
#define RW_RESPOND_VANISHED (-EIDRM)
enum rw_kill_method {
	RW_KILL_AUTO = 0,   /* cgroup.kill where the kernel has it (5.14+), signals otherwise */
	RW_KILL_SIGNALS,    /* SIGKILL every process in cgroup.procs of the subtree until it is empty */
};
int rw_respond_freeze(int cgroup_fd, char *detail, size_t len);
int rw_respond_thaw(int cgroup_fd, char *detail, size_t len);
int rw_respond_kill(int cgroup_fd, enum rw_kill_method how, char *detail, size_t len);

void rw_respond_get_stats(const struct rw_respond *r, struct rw_respond_stats *out);
/* Every decision handed to the event callback since open, by action and result: each attempt counts, a repeat
 * on a target whose action state does not change (a second failed re-check) as much as the first. The source of
 * rigwatch_response_actions_total. NULL gives zeros. */
void rw_respond_get_decisions(const struct rw_respond *r, uint64_t out[RW_RA_COUNT][RW_RR_COUNT]);
/* The agent's own cgroup as found at open, relative to the cgroup2 root ("/" when at the root; "" when not found,
 * which only happens with mode off). */
const char *rw_respond_self_cgroup(const struct rw_respond *r);

/* Least privilege for the whole process: call before any thread is started (capabilities are per thread). Drops
 * from the bounding, effective, permitted, inheritable and ambient sets every capability the agent never uses,
 * CAP_KILL unless need_kill (freeze or kill mode), CAP_SYS_PTRACE unless need_ptrace (a ptrace FP path), and sets
 * PR_SET_NO_NEW_PRIVS. dropped gets the names of what was held and dropped. Returns 0 or a negative errno. */
int rw_respond_drop_privileges(bool need_kill, bool need_ptrace, char *dropped, size_t len);

/* "none", "dry-run", "frozen", "killed", "failed": for /verdicts, /metrics labels and `rigwatch list`. */
const char *rw_action_state_name(enum rw_action_state s);

#endif
