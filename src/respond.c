/* respond: auto-kill for batch clusters. Decide on behavioural evidence, check the safety rules, re-check the
 * evidence right before acting, rate-limit, audit, then freeze or kill through a directory fd whose inode is the
 * target's id: a path is looked up once, checked, and never again.
 *
 * Writes of cgroup.freeze and cgroup.kill are plain openat()+write() relative to that fd; libcgroup only takes
 * paths, which is what must not be trusted twice here. On v1-only hosts the same steps go through the v1 freezer
 * (freezer.state FROZEN/THAWED; the kill is a SIGKILL sweep, as v1 has no cgroup.kill) and "populated" is a look
 * at cgroup.procs below the directory, as v1 has no cgroup.events.
 *
 * Everything here runs on the agent loop's thread; the waits are bounded (ACT_WAIT_MS, RW_RESPOND_RECHECK_MS) and
 * only happen for a target that qualifies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/buf.h"
#include "rigwatch/clock.h"
#include "rigwatch/dockerapi.h"
#include "rigwatch/fpprobe.h"
#include "rigwatch/log.h"
#include "rigwatch/respond.h"
#include "rigwatch/targets.h"
#include "rigwatch/verdict.h"
#include "rigwatch/features.h"

#define NS_PER_S        1000000000ull
#define RATE_WINDOW_NS  (60ull * NS_PER_S)
#define ACT_WAIT_MS     2000u          /* longest wait for frozen 1 / populated 0 */
#define POLL_SLICE_MS   10             /* cgroup.events re-read period while waiting */
#define SUBTREE_MAX_DIRS  4096u        /* a bigger subtree is refused rather than half-checked */
#define SUBTREE_MAX_DEPTH 32
#define SELF_SEARCH_MAX_DIRS 200000u   /* the search for the agent's own cgroup gives up beyond this */
#define MAX_FAILURES_PER_EPISODE 3
#define MAX_RECHECKS_PER_EPISODE 10    /* fresh reads that did not qualify, before the episode is left alone */
#define AUDIT_LINE_MAX  8192
#define PIDS_MAX        8192u          /* processes signalled per cgroup per pass */
#define SCAN_TIDS_MAX   4096u          /* threads the re-check hands to the FP reader */
#define SCAN_UIDS_MAX   8
#define SELF_CHAIN_MAX  64

/* What respond remembers about one target it has acted on, or refused, in some mining episode. */
struct entry {
	uint64_t cgroup_id;
	enum rw_action_state state;
	uint64_t action_time_ns;
	uint64_t episode;       /* verdict since_ns of the episode handled last */
	bool done;              /* acted (or dry-run) in `episode`: nothing more until a new episode */
	bool noted_refused;     /* refusal audited in `episode` */
	bool noted_rate;        /* rate limit audited in `episode` */
	bool noted_evidence;    /* "no behavioural evidence" audited in `episode` */
	bool noted_recheck;     /* a failed re-check audited in `episode` */
	unsigned failures;      /* failed attempts in `episode` */
	unsigned rechecks;      /* re-checks that did not qualify in `episode` */
	uint32_t decisions[RW_RA_COUNT][RW_RR_COUNT]; /* every decision on this target, all episodes */
	int fd;                 /* frozen/killed cgroup target: its directory, to see a thaw or its removal; -1 */
	bool engine_paused;     /* frozen by the container engine (docker pause), not by cgroup.freeze */
	bool engine_seen_paused;/* ... and its state has shown it paused since: an unpause is seen as a thaw */
	int pidfd;              /* frozen/killed process target: the process; -1 */
};

struct rw_respond {
	enum rw_response_mode mode;
	uint32_t min_intervals;
	int32_t min_score_q16;
	uint32_t max_per_min;
	struct rw_glob_list allow_cgroups;
	struct rw_glob_list allow_identities;
	struct rw_glob_list unprotect;
	bool process_targets;
	char kube_pods_dir[RW_CONFIG_PATH_LEN];
	char docker_socket[RW_CONFIG_PATH_LEN]; /* "" = never through the engine API */
	char proc_root[RW_CONFIG_PATH_LEN];
	char root[RW_CONFIG_PATH_LEN];
	bool v1;                              /* v1-only host: root is a v1 hierarchy */
	char v1_freezer[RW_CONFIG_PATH_LEN];  /* there, the freezer hierarchy's mount ("" when not mounted) */
	char self_cg[RW_CGROUP_PATH_MAX];
	uint64_t self_chain[SELF_CHAIN_MAX];  /* inodes of the agent's cgroup and every ancestor up to the root */
	unsigned n_self_chain;
	char audit_path[RW_CONFIG_PATH_LEN];
	int audit_fd;
	struct rw_respond_recheck recheck;
	rw_respond_event_fn on_event;
	void *on_event_arg;

	uint64_t *rate_ring;    /* times of the last max_per_min actions, oldest at rate_head */
	unsigned rate_n, rate_head;

	struct entry *entries;  /* sorted by cgroup_id */
	size_t n_entries, cap_entries;

	struct rw_respond_stats stats;
	uint64_t decisions[RW_RA_COUNT][RW_RR_COUNT]; /* every audited decision, repeats included */
};

static const char *const ra_names[RW_RA_COUNT] = { "dry-run", "freeze", "kill" };
static const char *const rr_names[RW_RR_COUNT] = { "ok", "vanished", "frozen_not_killed", "failed", "refused",
						   "rate_limited", "no_evidence", "recheck_failed",
						   "allowed" };

const char *rw_respond_action_name(enum rw_respond_action a)
{
	return (unsigned)a < RW_RA_COUNT ? ra_names[a] : "?";
}

const char *rw_respond_result_name(enum rw_respond_result r)
{
	return (unsigned)r < RW_RR_COUNT ? rr_names[r] : "?";
}

static const char *const action_names[] = { "none", "dry-run", "frozen", "killed", "failed" };

const char *rw_action_state_name(enum rw_action_state s)
{
	return (unsigned)s < sizeof action_names / sizeof action_names[0] ? action_names[s] : "?";
}

/* ---------------------------------------------------------------- paths */

static bool is_root_path(const char *p)
{
	return p[0] == '\0' || strcmp(p, "/") == 0;
}

/* "/a/b": leading '/', no empty, "." or ".." component, no trailing '/'. We join it to the root and write
 * there, so anything else is refused outright. */
static bool canonical_path(const char *p)
{
	if (is_root_path(p))
		return true;
	if (p[0] != '/')
		return false;
	for (const char *c = p + 1;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!e)
			return true;
		c = e + 1;
	}
}

/* a is b or an ancestor of b (component-wise; "/" is everyone's ancestor). */
static bool path_covers(const char *a, const char *b)
{
	if (is_root_path(a))
		return true;
	size_t n = strlen(a);
	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

static bool has_component(const char *p, const char *name)
{
	size_t n = strlen(name);
	for (const char *c = p; (c = strstr(c, name)) != NULL; c += n)
		if ((c == p || c[-1] == '/') && (c[n] == '\0' || c[n] == '/'))
			return true;
	return false;
}

static int abs_path(const struct rw_respond *r, char *buf, size_t len, const char *rel, const char *file)
{
	int n = snprintf(buf, len, "%s%s%s%s", r->root, is_root_path(rel) ? "" : rel, file ? "/" : "",
			 file ? file : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ---------------------------------------------------------------- safety rules */

static bool is_glob_meta(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* One allow_identity pattern against one candidate "kind:value". A pattern without glob characters whose value
 * is 12+ characters also matches as a prefix of a container id: operators paste the short id `docker ps` shows. */
static bool identity_pattern_matches(const char *pat, const char *cand, bool container_id)
{
	if (fnmatch(pat, cand, 0) == 0)
		return true;
	if (!container_id || is_glob_meta(pat))
		return false;
	const char *pc = strchr(pat, ':'), *cc = strchr(cand, ':');
	if (!pc || !cc || pc - pat != cc - cand || strncmp(pat, cand, (size_t)(pc - pat)) != 0)
		return false;
	size_t n = strlen(pc + 1);
	return n >= 12 && strncmp(pc + 1, cc + 1, n) == 0;
}

static bool any_identity_pattern(const struct rw_respond *r, const char *cand, bool container_id, char *why,
				 size_t len, const char *where)
{
	for (unsigned i = 0; i < r->allow_identities.n; i++) {
		if (identity_pattern_matches(r->allow_identities.items[i], cand, container_id)) {
			snprintf(why, len, "allow_identity %s matches %s%s", r->allow_identities.items[i], cand, where);
			return true;
		}
	}
	return false;
}

static const char *const unit_suffixes[] = { ".service", ".scope", ".slice", ".socket", ".mount", ".swap" };

static bool is_unit_name(const char *c, size_t n)
{
	for (size_t i = 0; i < sizeof unit_suffixes / sizeof unit_suffixes[0]; i++) {
		size_t s = strlen(unit_suffixes[i]);
		if (n > s && memcmp(c + n - s, unit_suffixes[i], s) == 0)
			return true;
	}
	return false;
}

/* Identity rules for one cgroup: its identity (given, or read off the path) and every systemd unit on the path. */
static bool identity_protected(const struct rw_respond *r, const char *path, const struct rw_identity *given,
			       char *why, size_t len, const char *where)
{
	struct rw_identity idbuf;
	const struct rw_identity *id = given;
	char cand[512];

	if (r->allow_identities.n == 0)
		return false;
	if (!id) {
		rw_identity_from_path(path, &idbuf);
		id = &idbuf;
	}
	if (id->runtime[0] && id->id[0]) {
		snprintf(cand, sizeof cand, "%s:%s", id->runtime, id->id);
		if (any_identity_pattern(r, cand, true, why, len, where))
			return true;
	}
	if (strcmp(id->runtime, "lxc") == 0 && id->name[0]) {
		snprintf(cand, sizeof cand, "lxc:%s", id->name);
		if (any_identity_pattern(r, cand, false, why, len, where))
			return true;
	}
	if (id->pod_uid[0]) {
		snprintf(cand, sizeof cand, "pod:%s", id->pod_uid);
		if (any_identity_pattern(r, cand, false, why, len, where))
			return true;
	}
	if (id->slurm_job[0]) {
		/* "slurm:1234/step_0" protects that step, "slurm:1234" every step of job 1234. */
		if (id->slurm_step[0]) {
			snprintf(cand, sizeof cand, "slurm:%s/step_%s", id->slurm_job, id->slurm_step);
			if (any_identity_pattern(r, cand, false, why, len, where))
				return true;
		}
		snprintf(cand, sizeof cand, "slurm:%s", id->slurm_job);
		if (any_identity_pattern(r, cand, false, why, len, where))
			return true;
		char *slash = strchr(cand, '/');
		if (slash) {
			*slash = '\0';
			if (any_identity_pattern(r, cand, false, why, len, where))
				return true;
		}
	}
	if (id->unit[0]) {
		snprintf(cand, sizeof cand, "unit:%s", id->unit);
		if (any_identity_pattern(r, cand, false, why, len, where))
			return true;
	}
	/* Every unit on the path: "unit:foo.service" protects foo.service's sub-cgroups, "unit:batch.slice" a slice. */
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n && is_unit_name(c, n)) {
			snprintf(cand, sizeof cand, "unit:%.*s", (int)n, c);
			if (any_identity_pattern(r, cand, false, why, len, where))
				return true;
		}
		c += n;
	}
	return false;
}

/* allow_cgroup on the path itself and every ancestor: allow-listing a cgroup protects its subtree. */
static bool cgroup_glob_protected(const struct rw_respond *r, const char *path, char *why, size_t len,
				  const char *where)
{
	char buf[RW_CGROUP_PATH_MAX];

	if (r->allow_cgroups.n == 0)
		return false;
	snprintf(buf, sizeof buf, "%s", path);
	for (;;) {
		for (unsigned i = 0; i < r->allow_cgroups.n; i++) {
			const char *g = r->allow_cgroups.items[i];
			/* globs are written with or without the leading '/' */
			if (fnmatch(g, buf, 0) == 0 || (g[0] != '/' && buf[0] == '/' && fnmatch(g, buf + 1, 0) == 0)) {
				snprintf(why, len, "allow_cgroup %s matches %s%s", g, buf, where);
				return true;
			}
		}
		char *slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return false;
		*slash = '\0';
	}
}


/* ---------------------------------------------------------------- the built-in protected set */

static bool comp_is(const char *c, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(c, name, n) == 0;
}

static bool comp_glob(const char *c, size_t n, const char *pat)
{
	char buf[256];
	if (n >= sizeof buf)
		return false;
	memcpy(buf, c, n);
	buf[n] = '\0';
	return fnmatch(pat, buf, 0) == 0;
}

/* Container runtimes' and the kubelet's own cgroups where they are not systemd services (cgroupfs drivers,
 * kubelet's --runtime-cgroups / --kubelet-cgroups / --system-reserved-cgroup). */
static const char *const runtime_names[] = { "kubelet", "kube-proxy", "containerd", "dockerd", "docker-daemon",
					     "crio", "cri-o", "podruntime", "runtime", "system", NULL };
static const char *const runtime_globs[] = { "containerd-shim*", "docker-containerd*", "crio-conmon-*",
					     "libpod-conmon-*", "conmon*", NULL };
static const char *const slurm_daemons[] = { "slurmd", "slurmctld", "slurmdbd", "slurmrestd", NULL };

/* A pod of the kube-system namespace: the kubelet keeps /var/log/pods/<namespace>_<pod>_<uid>. */
static bool kube_system_pod(const struct rw_respond *r, const char *uid)
{
	DIR *d;
	struct dirent *de;
	bool found = false;
	size_t ul = strlen(uid);

	if (!uid[0] || !r->kube_pods_dir[0] || !(d = opendir(r->kube_pods_dir)))
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		found = strncmp(de->d_name, "kube-system_", 12) == 0 && n > 12 + ul && de->d_name[n - ul - 1] == '_' &&
			strcmp(de->d_name + n - ul, uid) == 0;
	}
	closedir(d);
	return found;
}

/* The built-in protection of one cgroup (path relative to the root; id: its identity, or NULL to read it off the
 * path). Returns the reason in buf, or NULL. *hard: no setting lifts it. */
static const char *protected_class(const struct rw_respond *r, const char *path, const struct rw_identity *given,
				   bool *hard, char *buf, size_t len)
{
	struct rw_identity idbuf;
	const struct rw_identity *id;

	*hard = true;
	if (is_root_path(path))
		return snprintf(buf, len, "the cgroup2 root"), buf;
	if (has_component(path, "init.scope"))
		return snprintf(buf, len, "init.scope (PID 1)"), buf;
	*hard = false;
	/* the kind as the path says (the walk's own reading of it); a given identity may add a pod uid */
	rw_identity_from_path(path, &idbuf);
	if (given && given->pod_uid[0])
		snprintf(idbuf.pod_uid, sizeof idbuf.pod_uid, "%s", given->pod_uid);
	id = &idbuf;
	bool workload = id->kind == RW_KIND_CONTAINER || id->kind == RW_KIND_SLURM;
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (!n)
			break;
		if (n > 8 && memcmp(c + n - 8, ".service", 8) == 0)
			return snprintf(buf, len, "systemd service %.*s", (int)n, c), buf;
		if (comp_glob(c, n, "session-*.scope"))
			return snprintf(buf, len, "user session %.*s", (int)n, c), buf;
		if (comp_is(c, n, "slurmstepd.scope") && id->kind != RW_KIND_SLURM)
			return snprintf(buf, len, "Slurm daemon (slurmstepd.scope outside a job step)"), buf;
		for (unsigned i = 0; slurm_daemons[i]; i++)
			if (comp_is(c, n, slurm_daemons[i]))
				return snprintf(buf, len, "Slurm daemon cgroup %s", slurm_daemons[i]), buf;
		for (unsigned i = 0; runtime_names[i]; i++)
			if (comp_is(c, n, runtime_names[i]) && !workload)
				return snprintf(buf, len, "container runtime or kubelet cgroup %.*s", (int)n, c), buf;
		for (unsigned i = 0; runtime_globs[i]; i++)
			if (comp_glob(c, n, runtime_globs[i]))
				return snprintf(buf, len, "container runtime helper %.*s", (int)n, c), buf;
		c += n;
	}
	if (!workload && (strncmp(path, "/system.slice/", 14) == 0 || strncmp(path, "system.slice/", 13) == 0 ||
			  strcmp(path, "/system.slice") == 0))
		return snprintf(buf, len, "in system.slice and not a container or Slurm step"), buf;
	if (id->kind == RW_KIND_NONE)
		return snprintf(buf, len, "a structure cgroup (slice, QoS level, Slurm job) holding other workloads"), buf;
	if (id->pod_uid[0] && kube_system_pod(r, id->pod_uid))
		return snprintf(buf, len, "kube-system pod %.40s", id->pod_uid), buf;
	return NULL;
}

/* [response] unprotect: a pattern matching the cgroup or one of its ancestors lifts the built-in protection. */
static const char *unprotected_by(const struct rw_respond *r, const char *path)
{
	char b[RW_CGROUP_PATH_MAX];

	if (r->unprotect.n == 0)
		return NULL;
	snprintf(b, sizeof b, "%s", path[0] == '/' ? path + 1 : path);
	for (;;) {
		for (unsigned i = 0; i < r->unprotect.n; i++) {
			const char *g = r->unprotect.items[i];
			if (fnmatch(g[0] == '/' ? g + 1 : g, b, FNM_PATHNAME) == 0)
				return g;
		}
		char *slash = strrchr(b, '/');
		if (!slash)
			return NULL;
		*slash = '\0';
	}
}

/* The protected set on one cgroup, unprotect applied. why gets "<class><where>". */
static bool builtin_protected(const struct rw_respond *r, const char *path, const struct rw_identity *id, char *why,
			      size_t len, const char *where)
{
	char cls[256];
	bool hard;
	if (!protected_class(r, path, id, &hard, cls, sizeof cls))
		return false;
	if (!hard && unprotected_by(r, path))
		return false;
	snprintf(why, len, "protected: %s%s%s", cls, where,
		 hard ? "" : " (lift with [response] unprotect = <its path>)");
	return true;
}

static bool in_self_chain(const struct rw_respond *r, uint64_t ino)
{
	for (unsigned i = 0; i < r->n_self_chain; i++)
		if (r->self_chain[i] == ino)
			return true;
	return false;
}
struct subtree_check {
	const struct rw_respond *r;
	char *why;
	size_t len;
	unsigned dirs;
	bool refused;
};

/* Depth-first over the descendants of rel (whose directory is dfd, consumed). */
static void check_descendants(struct subtree_check *sc, int dfd, char *rel, size_t rel_len, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		return;
	}
	while (!sc->refused && (de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++sc->dirs > SUBTREE_MAX_DIRS || depth >= SUBTREE_MAX_DEPTH) {
			snprintf(sc->why, sc->len, "subtree larger than %u cgroups or %d levels: not checked, not touched",
				 SUBTREE_MAX_DIRS, SUBTREE_MAX_DEPTH);
			sc->refused = true;
			break;
		}
		size_t n = strlen(de->d_name);
		if (rel_len + 1 + n >= RW_CGROUP_PATH_MAX) {
			snprintf(sc->why, sc->len, "subtree path too long below %s", rel);
			sc->refused = true;
			break;
		}
		rel[rel_len] = '/';
		memcpy(rel + rel_len + 1, de->d_name, n + 1);
		if (cgroup_glob_protected(sc->r, rel, sc->why, sc->len, " (in the subtree)") ||
		    identity_protected(sc->r, rel, NULL, sc->why, sc->len, " (in the subtree)") ||
		    builtin_protected(sc->r, rel, NULL, sc->why, sc->len, " (in the subtree)")) {
			sc->refused = true;
		} else {
			int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			struct stat st;
			if (cfd >= 0 && fstat(cfd, &st) == 0 && in_self_chain(sc->r, (uint64_t)st.st_ino)) {
				snprintf(sc->why, sc->len, "the agent's own cgroup %s is in the subtree", rel);
				sc->refused = true;
				close(cfd);
			} else if (cfd >= 0) { /* a child that vanished meanwhile is simply gone */
				check_descendants(sc, cfd, rel, rel_len + 1 + n, depth + 1);
			}
		}
		rel[rel_len] = '\0';
	}
	closedir(d);
}


int rw_respond_allowed(const struct rw_respond *r, const char *cgroup, uint64_t cgroup_id, const struct rw_identity *id,
		       char *why, size_t whylen)
{
	if (!r || !cgroup) {
		snprintf(why, whylen, "no target");
		return -EPERM;
	}
	if (!canonical_path(cgroup)) {
		snprintf(why, whylen, "not a canonical cgroup path: %s", cgroup);
		return -EPERM;
	}
	if (is_root_path(cgroup)) {
		snprintf(why, whylen, "the cgroup2 root");
		return -EPERM;
	}
	if ((cgroup_id && in_self_chain(r, cgroup_id)) || (r->self_cg[0] && path_covers(cgroup, r->self_cg))) {
		if ((r->n_self_chain && cgroup_id == r->self_chain[0]) || strcmp(cgroup, r->self_cg) == 0)
			snprintf(why, whylen, "the agent's own cgroup");
		else
			snprintf(why, whylen, "an ancestor of the agent's own cgroup %s", r->self_cg);
		return -EPERM;
	}
	if (has_component(cgroup, "init.scope")) {
		snprintf(why, whylen, "init.scope");
		return -EPERM;
	}
	if (cgroup_glob_protected(r, cgroup, why, whylen, ""))
		return -EPERM;
	if (identity_protected(r, cgroup, id, why, whylen, ""))
		return -EPERM;
	if (builtin_protected(r, cgroup, id, why, whylen, ""))
		return -EPERM;

	/* Acting freezes or kills the whole subtree: refuse if any descendant is protected. */
	char path[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX];
	char rel[RW_CGROUP_PATH_MAX];
	if (abs_path(r, path, sizeof path, cgroup, NULL) < 0) {
		snprintf(why, whylen, "path too long");
		return -EPERM;
	}
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) { /* a vanished target has no subtree to protect */
		struct subtree_check sc = { .r = r, .why = why, .len = whylen };
		snprintf(rel, sizeof rel, "%s", cgroup);
		check_descendants(&sc, dfd, rel, strlen(rel), 0);
		if (sc.refused)
			return -EPERM;
	}
	return 0;
}
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int ret = n < 0 ? -errno : 0;
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return ret;
}

/* Value of `key` in a cgroup.events file: 0/1, or a negative errno (-ENOENT: the cgroup is gone). */

/* A whole small file relative to a directory fd; -ENOENT/-ENODEV when the cgroup is gone. */
static int read_at(int dfd, const char *file, char *buf, size_t len)
{
	int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int ret = n < 0 ? -errno : 0;
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return ret;
}

static int write_at(int dfd, const char *file, const char *value)
{
	int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	int ret = n < 0 ? -errno : 0;
	close(fd);
	return ret;
}

static bool gone_errno(int e)
{
	return e == -ENOENT || e == -ENODEV;
}

/* v1: 1 if cgroup.procs of the directory or of one below it lists a process, 0 if none does, -ENOENT when the
 * directory is gone. */
static int v1_populated(int dfd, int depth)
{
	char one[16];
	int ret = read_at(dfd, "cgroup.procs", one, sizeof one);
	if (ret < 0)
		return ret;
	if (one[0])
		return 1;
	if (depth >= SUBTREE_MAX_DEPTH)
		return 1; /* deeper than we look: say populated, the safe answer for a kill that waits for empty */
	int dup_fd = dup(dfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return 0;
	}
	rewinddir(d);
	struct dirent *de;
	int found = 0;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			continue;
		found = v1_populated(cfd, depth + 1) == 1;
		close(cfd);
	}
	closedir(d);
	return found;
}

/* v1 freezer.state as cgroup.events' "frozen": 1 FROZEN, 0 THAWED, 2 FREEZING (neither yet). */
static int v1_frozen(int dfd)
{
	char buf[32];
	int ret = read_at(dfd, "freezer.state", buf, sizeof buf);
	if (ret < 0)
		return ret;
	return strncmp(buf, "FROZEN", 6) == 0 ? 1 : strncmp(buf, "THAWED", 6) == 0 ? 0 : 2;
}

/* Value of `key` in the cgroup's cgroup.events: 0/1, or a negative errno (-ENOENT: the cgroup is gone). A v1
 * directory has no cgroup.events: "populated" and "frozen" then come from cgroup.procs and freezer.state. */
static int events_value(int dfd, const char *key)
{
	char buf[256];
	int ret = read_at(dfd, "cgroup.events", buf, sizeof buf);
	if (ret == -ENOENT && faccessat(dfd, "cgroup.procs", F_OK, 0) == 0) {
		if (strcmp(key, "populated") == 0)
			return v1_populated(dfd, 0);
		if (strcmp(key, "frozen") == 0)
			return v1_frozen(dfd);
	}
	if (ret < 0)
		return ret;
	size_t k = strlen(key);
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, k) == 0 && line[k] == ' ')
			return atoi(line + k + 1);
	return -ENODATA;
}

/* Wait until cgroup.events says `key want`, re-reading it every POLL_SLICE_MS. 0, RW_RESPOND_VANISHED,
 * -ETIMEDOUT or -errno. */
static int wait_events(int dfd, const char *key, int want, unsigned timeout_ms, unsigned *waited_ms)
{
	uint64_t start = rw_mono_ms();
	for (;;) {
		int v = events_value(dfd, key);
		uint64_t el = rw_mono_ms() - start;
		if (waited_ms)
			*waited_ms = (unsigned)el;
		if (gone_errno(v))
			return RW_RESPOND_VANISHED;
		if (v == want)
			return 0;
		if (v < 0)
			return v;
		if (el >= timeout_ms)
			return -ETIMEDOUT;
		unsigned slice = timeout_ms - el < POLL_SLICE_MS ? (unsigned)(timeout_ms - el) : POLL_SLICE_MS;
		struct timespec ts = { 0, (long)slice * 1000000L };
		nanosleep(&ts, NULL);
	}
}

int rw_respond_open_target(const struct rw_respond *r, const char *cgroup, uint64_t cgroup_id, char *detail,
			   size_t len)
{
	char path[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX];
	struct stat st;
	int fd;

	if (!canonical_path(cgroup) || abs_path(r, path, sizeof path, cgroup, NULL) < 0) {
		snprintf(detail, len, "not a canonical cgroup path");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(detail, len, "cgroup gone (%s)", strerror(e));
		return e == ENOENT || e == ENOTDIR ? -ENOENT : -e;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != cgroup_id) {
		snprintf(detail, len, "%s is now another cgroup (inode %llu, the target was %llu): not touched", cgroup,
			 (unsigned long long)st.st_ino, (unsigned long long)cgroup_id);
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* v1 freezer: FROZEN, then wait for freezer.state to say so (FREEZING in between; the write is repeated now and
 * then, as a v1 freeze that meets a task it cannot stop stays FREEZING until asked again). */
static int v1_freeze(int dfd, char *detail, size_t len)
{
	uint64_t start = rw_mono_ms();
	unsigned waited = 0;
	int ret, v = 2;
	for (unsigned round = 0;; round++) {
		if (round % 10 == 0 && (ret = write_at(dfd, "freezer.state", "FROZEN")) < 0) {
			if (gone_errno(ret)) {
				snprintf(detail, len, "cgroup gone");
				return RW_RESPOND_VANISHED;
			}
			snprintf(detail, len, "writing freezer.state: %s", strerror(-ret));
			return ret;
		}
		v = v1_frozen(dfd);
		waited = (unsigned)(rw_mono_ms() - start);
		if (gone_errno(v)) {
			snprintf(detail, len, "cgroup gone while freezing");
			return RW_RESPOND_VANISHED;
		}
		if (v == 1) {
			snprintf(detail, len, "freezer.state=FROZEN after %u ms", waited);
			return 0;
		}
		if (v < 0 || waited >= ACT_WAIT_MS)
			break;
		struct timespec ts = { 0, POLL_SLICE_MS * 1000000L };
		nanosleep(&ts, NULL);
	}
	ret = v < 0 ? v : -ETIMEDOUT;
	snprintf(detail, len, "freezer.state=FROZEN written but not frozen after %u ms: %s", waited, strerror(-ret));
	return ret;
}

int rw_respond_freeze(int dfd, char *detail, size_t len)
{
	unsigned waited = 0;
	if (faccessat(dfd, "cgroup.freeze", F_OK, 0) != 0 && faccessat(dfd, "freezer.state", F_OK, 0) == 0)
		return v1_freeze(dfd, detail, len);
	int ret = write_at(dfd, "cgroup.freeze", "1");
	if (ret < 0) {
		if (gone_errno(ret) || gone_errno(events_value(dfd, "populated"))) {
			snprintf(detail, len, "cgroup gone");
			return RW_RESPOND_VANISHED;
		}
		snprintf(detail, len, "writing cgroup.freeze: %s", strerror(-ret));
		return ret;
	}
	ret = wait_events(dfd, "frozen", 1, ACT_WAIT_MS, &waited);
	if (ret == 0)
		snprintf(detail, len, "cgroup.freeze=1; frozen 1 after %u ms", waited);
	else if (ret == RW_RESPOND_VANISHED)
		snprintf(detail, len, "cgroup gone while freezing");
	else
		snprintf(detail, len, "cgroup.freeze=1 written but not frozen after %u ms: %s", waited, strerror(-ret));
	return ret;
}

int rw_respond_thaw(int dfd, char *detail, size_t len)
{
	unsigned waited = 0;
	bool v1 = faccessat(dfd, "cgroup.freeze", F_OK, 0) != 0 && faccessat(dfd, "freezer.state", F_OK, 0) == 0;
	int ret = v1 ? write_at(dfd, "freezer.state", "THAWED") : write_at(dfd, "cgroup.freeze", "0");
	if (ret < 0) {
		if (gone_errno(ret)) {
			snprintf(detail, len, "cgroup gone");
			return RW_RESPOND_VANISHED;
		}
		snprintf(detail, len, "writing %s: %s", v1 ? "freezer.state" : "cgroup.freeze", strerror(-ret));
		return ret;
	}
	ret = wait_events(dfd, "frozen", 0, ACT_WAIT_MS, &waited);
	snprintf(detail, len, ret == 0 ? "thawed after %u ms" : "thaw: not thawed after %u ms", waited);
	return ret;
}
static int read_pids(int dirfd_, pid_t *pids, unsigned max)
{
	int fd = openat(dirfd_, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	char buf[8192], carry[16];
	size_t carry_n = 0;
	unsigned n = 0;
	ssize_t got;

	if (fd < 0)
		return -errno;
	while ((got = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] == '\n') {
				carry[carry_n] = '\0';
				if (carry_n && n < max)
					pids[n++] = (pid_t)atoi(carry);
				carry_n = 0;
			} else if (carry_n < sizeof carry - 1) {
				carry[carry_n++] = buf[i];
			}
		}
	}
	close(fd);
	return (int)n;
}

static bool pid_in(const pid_t *pids, int n, pid_t p)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == p)
			return true;
	return false;
}

/* SIGKILL the processes of one cgroup. A pid is read, pinned with a pidfd, and signalled only if it is still
 * listed after pinning: a pid that exited and was reused outside the cgroup in between is never hit. */
static unsigned signal_cgroup(int dfd, pid_t *a, pid_t *b)
{
	int na = read_pids(dfd, a, PIDS_MAX), nb;
	unsigned sent = 0;
	static const int no_fd = -1;
	int *fds;

	if (na <= 0)
		return 0;
	fds = malloc((size_t)na * sizeof *fds);
	if (!fds)
		return 0;
	for (int i = 0; i < na; i++) {
		fds[i] = no_fd;
		if (a[i] <= 1 || a[i] == getpid())
			continue; /* never init, never ourselves (the rules keep us out; this is belt and braces) */
		fds[i] = (int)syscall(SYS_pidfd_open, a[i], 0);
		if (fds[i] < 0 && errno == ENOSYS)
			fds[i] = -2; /* pre-5.3 kernel: plain kill() below */
	}
	nb = read_pids(dfd, b, PIDS_MAX);
	for (int i = 0; i < na; i++) {
		if (fds[i] == no_fd || !pid_in(b, nb, a[i]))
			goto next;
		if (fds[i] == -2 ? kill(a[i], SIGKILL) == 0
				 : syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0) == 0)
			sent++;
next:
		if (fds[i] >= 0)
			close(fds[i]);
	}
	free(fds);
	return sent;
}

static unsigned signal_subtree(int dfd, pid_t *a, pid_t *b, int depth)
{
	unsigned sent = signal_cgroup(dfd, a, b);
	DIR *d;
	struct dirent *de;

	if (depth >= SUBTREE_MAX_DEPTH)
		return sent;
	int dup_fd = dup(dfd);
	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return sent;
	}
	rewinddir(d); /* the dup shares the offset: start from the top on every pass */
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			continue;
		sent += signal_subtree(cfd, a, b, depth + 1);
		close(cfd);
	}
	closedir(d);
	return sent;
}

int rw_respond_kill(int dfd, enum rw_kill_method how, char *detail, size_t len)
{
	uint64_t start = rw_mono_ms();
	unsigned waited = 0, sent = 0, passes = 0;
	bool used_kill_file = false;
	int ret;

	if (gone_errno(events_value(dfd, "populated"))) {
		snprintf(detail, len, "cgroup gone");
		return RW_RESPOND_VANISHED;
	}
	if (how == RW_KILL_AUTO && faccessat(dfd, "cgroup.kill", F_OK, 0) == 0) {
		ret = write_at(dfd, "cgroup.kill", "1");
		if (ret == 0) {
			used_kill_file = true;
			ret = wait_events(dfd, "populated", 0, ACT_WAIT_MS, &waited);
			if (ret == 0 || ret == RW_RESPOND_VANISHED) {
				snprintf(detail, len, "cgroup.kill; empty after %u ms", waited);
				return ret;
			}
		} else if (gone_errno(ret)) {
			snprintf(detail, len, "cgroup gone");
			return RW_RESPOND_VANISHED;
		}
		/* cgroup.kill failed or did not empty the subtree in time: go on with signals for what is left */
	}

	pid_t *a = malloc(PIDS_MAX * sizeof *a), *b = malloc(PIDS_MAX * sizeof *b);
	if (!a || !b) {
		free(a);
		free(b);
		snprintf(detail, len, "out of memory");
		return -ENOMEM;
	}
	bool v1_thawed = false;
	for (;;) {
		sent += signal_subtree(dfd, a, b, 0);
		passes++;
		if (!v1_thawed && passes == 1 && v1_frozen(dfd) == 1 && faccessat(dfd, "cgroup.freeze", F_OK, 0) != 0) {
			/* A task the v1 freezer holds does not act on SIGKILL until it is thawed (measured on 6.18: still
			 * listed 2 s and 35 sweeps later). Every process of the frozen subtree now has it pending and
			 * dies on its way out of the freezer, before it runs a single user instruction. */
			v1_thawed = write_at(dfd, "freezer.state", "THAWED") == 0;
		}
		unsigned el = (unsigned)(rw_mono_ms() - start);
		unsigned left = el >= ACT_WAIT_MS ? 0 : ACT_WAIT_MS - el;
		ret = wait_events(dfd, "populated", 0, left < 50 ? left : 50, NULL);
		if (ret != -ETIMEDOUT || left == 0)
			break;
	}
	free(a);
	free(b);
	waited = (unsigned)(rw_mono_ms() - start);
	const char *how_text = used_kill_file ? "cgroup.kill, then " : "";
	const char *thaw_text = v1_thawed ? " (v1: THAWED after the first, so the frozen processes die)" : "";
	if (ret == 0 || ret == RW_RESPOND_VANISHED)
		snprintf(detail, len, "%sSIGKILL to %u processes in %u passes%s; %s after %u ms", how_text, sent, passes,
			 thaw_text, ret == 0 ? "empty" : "cgroup gone", waited);
	else
		snprintf(detail, len, "%sSIGKILL to %u processes in %u passes%s; still populated after %u ms: %s",
			 how_text, sent, passes, thaw_text, waited, strerror(-ret));
	return ret;
}
static void json_kv(struct rw_buf *b, bool *first, const char *k, const char *v)
{
	if (!v[0])
		return;
	rw_buf_printf(b, "%s\"%s\":", *first ? "" : ",", k);
	rw_buf_json_string(b, v);
	*first = false;
}

static void json_time(struct rw_buf *b, uint64_t ns)
{
	rw_buf_putc(b, '"');
	rw_buf_rfc3339(b, ns, 3);
	rw_buf_putc(b, '"');
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One JSON line, written and fsync()ed: an action is on disk before it is taken. */
static int audit(struct rw_respond *r, const struct rw_report_target *t, uint64_t now_ns, const char *action,
		 const char *result, const char *detail, const char *interval_check, const char *recheck)
{
	char q[32];
	struct rw_buf s = RW_BUF_INIT;
	const struct rw_identity *id = &t->sample.identity;
	const struct rw_verdict_state *v = &t->verdict;
	bool first = true;

	if (r->audit_fd < 0)
		return -EBADF;
	rw_buf_puts(&s, "{\"time\":");
	json_time(&s, now_ns);
	rw_buf_puts(&s, ",\"target\":{\"cgroup\":");
	rw_buf_json_string(&s, t->sample.cgroup);
	rw_buf_printf(&s, ",\"cgroup_id\":%llu},\"identity\":{", (unsigned long long)t->sample.cgroup_id);
	json_kv(&s, &first, "kind", rw_workload_kind_name(id->kind));
	json_kv(&s, &first, "runtime", id->runtime);
	json_kv(&s, &first, "id", id->id);
	json_kv(&s, &first, "name", id->name);
	json_kv(&s, &first, "pod_uid", id->pod_uid);
	json_kv(&s, &first, "slurm_job", id->slurm_job);
	json_kv(&s, &first, "unit", id->unit);
	rw_format_q16(v->score_q16, q, sizeof q);
	rw_buf_printf(&s, "},\"evidence\":{\"score\":%s,\"verdict\":\"%s\",\"intervals\":%u,\"since\":", q,
		      rw_verdict_name(v->verdict), v->intervals_in_verdict);
	json_time(&s, v->since_ns);
	rw_buf_puts(&s, ",\"sources\":[");
	first = true;
	for (unsigned i = 0; i < RW_SRC_COUNT; i++) {
		if (v->sources_used & RW_SRC_BIT(i)) {
			rw_buf_printf(&s, "%s\"%s\"", first ? "" : ",", rw_source_name(i));
			first = false;
		}
	}
	rw_buf_puts(&s, "],\"reasons\":[");
	for (unsigned i = 0; i < v->n_reasons && i < RW_REASONS_MAX; i++) {
		const struct rw_reason *re = &v->reasons[i];
		rw_format_q16(re->value_q16, q, sizeof q);
		rw_buf_printf(&s, "%s{\"source\":\"%s\",\"feature\":", i ? "," : "", rw_source_name(re->source));
		rw_buf_json_string(&s, re->feature);
		rw_buf_printf(&s, ",\"value\":%s,\"detail\":", q);
		rw_buf_json_string(&s, re->detail);
		rw_buf_putc(&s, '}');
	}
	rw_buf_printf(&s, "]},\"mode\":\"%s\",\"action\":", rw_response_mode_name(r->mode));
	rw_buf_json_string(&s, action);
	rw_buf_puts(&s, ",\"result\":");
	rw_buf_json_string(&s, result);
	rw_buf_puts(&s, ",\"detail\":");
	rw_buf_json_string(&s, detail ? detail : "");
	rw_buf_puts(&s, ",\"checks\":{\"interval\":");
	rw_buf_json_string(&s, interval_check ? interval_check : "");
	rw_buf_puts(&s, ",\"recheck\":");
	rw_buf_json_string(&s, recheck ? recheck : "");
	rw_buf_putc(&s, '}');
	/* past AUDIT_LINE_MAX, a closed, minimal line instead */
	if (s.len + 3 >= AUDIT_LINE_MAX) {
		rw_buf_reset(&s);
		rw_buf_puts(&s, "{\"time\":");
		json_time(&s, now_ns);
		rw_buf_printf(&s, ",\"target\":{\"cgroup_id\":%llu},\"action\":", (unsigned long long)t->sample.cgroup_id);
		rw_buf_json_string(&s, action);
		rw_buf_puts(&s, ",\"result\":");
		rw_buf_json_string(&s, result);
		rw_buf_puts(&s, ",\"detail\":\"line too long\"");
	}
	rw_buf_puts(&s, "}\n");

	int ret = s.err ? s.err : write_all(r->audit_fd, s.data, s.len);
	rw_buf_free(&s);
	if (ret == 0 && fsync(r->audit_fd) < 0)
		ret = -errno;
	if (ret < 0)
		rw_log_error("respond", "audit log %s: %s", r->audit_path, strerror(-ret));
	return ret;
}

/* ---------------------------------------------------------------- state */
static struct entry *find_entry(struct rw_respond *r, uint64_t id, size_t *pos)
{
	size_t lo = 0, hi = r->n_entries;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->entries[mid].cgroup_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return lo < r->n_entries && r->entries[lo].cgroup_id == id ? &r->entries[lo] : NULL;
}

static struct entry *add_entry(struct rw_respond *r, uint64_t id)
{
	size_t pos;
	struct entry *e = find_entry(r, id, &pos);
	if (e)
		return e;
	if (r->n_entries == r->cap_entries) {
		size_t cap = r->cap_entries ? r->cap_entries * 2 : 16;
		struct entry *n = realloc(r->entries, cap * sizeof *n);
		if (!n)
			return NULL;
		r->entries = n;
		r->cap_entries = cap;
	}
	memmove(&r->entries[pos + 1], &r->entries[pos], (r->n_entries - pos) * sizeof *r->entries);
	r->n_entries++;
	e = &r->entries[pos];
	memset(e, 0, sizeof *e);
	e->cgroup_id = id;
	e->fd = e->pidfd = -1;
	return e;
}

void rw_respond_forget(struct rw_respond *r, uint64_t cgroup_id)
{
	size_t pos;
	struct entry *e;
	if (!r || !(e = find_entry(r, cgroup_id, &pos)))
		return;
	if (e->fd >= 0)
		close(e->fd);
	if (e->pidfd >= 0)
		close(e->pidfd);
	memmove(&r->entries[pos], &r->entries[pos + 1], (r->n_entries - pos - 1) * sizeof *r->entries);
	r->n_entries--;
}

/* Sliding 60 s window over the last max_per_min actions. A clock that went backwards counts as "too soon". */
static bool rate_ok(const struct rw_respond *r, uint64_t now_ns)
{
	if (r->max_per_min == 0)
		return false;
	if (r->rate_n < r->max_per_min)
		return true;
	uint64_t oldest = r->rate_ring[r->rate_head];
	return now_ns >= oldest && now_ns - oldest >= RATE_WINDOW_NS;
}

static void rate_record(struct rw_respond *r, uint64_t now_ns)
{
	if (r->max_per_min == 0)
		return;
	if (r->rate_n < r->max_per_min) {
		r->rate_ring[(r->rate_head + r->rate_n) % r->max_per_min] = now_ns;
		r->rate_n++;
	} else {
		r->rate_ring[r->rate_head] = now_ns;
		r->rate_head = (r->rate_head + 1) % r->max_per_min;
	}
}


/* ---------------------------------------------------------------- evidence */

bool rw_respond_evidence_qualifies(const struct rw_fp_evidence *fp, uint64_t cpu_usec, uint64_t window_us,
				   char *why, size_t len)
{
	uint64_t cores_q16 = window_us ? (cpu_usec << 16) / window_us : 0;
	unsigned c100 = (unsigned)((cores_q16 * 100) >> 16);
	bool fp_ok = fp && fp->path != RW_FP_PATH_NONE && fp->max_thread_nondefault >= RW_RESPOND_MIN_NONDEFAULT_MODES;
	bool cpu_ok = cores_q16 >= RW_RESPOND_MIN_CORES_Q16;

	if (!fp || fp->path == RW_FP_PATH_NONE || fp->probes == 0)
		snprintf(why, len, "no FP evidence; %u.%02u cores", c100 / 100, c100 % 100);
	else
		snprintf(why, len,
			 "%u non-default rounding modes on one thread (modes seen 0x%x, %u reads of %u threads, %u of %u "
			 "consecutive reads changed mode, %s path); %u.%02u cores over %llu ms",
			 fp->max_thread_nondefault, fp->modes_union, fp->probes, fp->threads, fp->changes, fp->pairs,
			 fp->path == RW_FP_PATH_BPF ? "eBPF" : "ptrace", c100 / 100, c100 % 100,
			 (unsigned long long)(window_us / 1000));
	return fp_ok && cpu_ok;
}

/* Numbers one per line (cgroup.procs, cgroup.threads), each handed to fn; stops early when fn returns false. */
static int for_each_number(int dfd, const char *file, bool (*fn)(long v, void *arg), void *arg)
{
	int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
	char buf[8192], cur[24];
	size_t cn = 0;
	ssize_t got;

	if (fd < 0)
		return -errno;
	while ((got = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] != '\n') {
				if (cn < sizeof cur - 1)
					cur[cn++] = buf[i];
				continue;
			}
			cur[cn] = '\0';
			if (cn && !fn(atol(cur), arg)) {
				close(fd);
				return 0;
			}
			cn = 0;
		}
	}
	close(fd);
	return got < 0 ? -errno : 0;
}

/* What a fresh look at the target's processes found. */
struct scan {
	const struct rw_respond *r;
	pid_t *tids;
	unsigned n_tids, n_procs, n_uids, dirs;
	uint32_t uids[SCAN_UIDS_MAX];
	bool more_uids, has_self, truncated;
	pid_t self;
};

static int proc_uid(const char *proc_root, long pid, uint32_t *uid)
{
	char path[RW_CONFIG_PATH_LEN + 32], buf[4096];
	snprintf(path, sizeof path, "%s/%ld/status", proc_root, pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	char *u = strstr(buf, "\nUid:");
	if (!u)
		return -ENODATA;
	*uid = (uint32_t)strtoul(u + 5, NULL, 10);
	return 0;
}

static void scan_add_uid(struct scan *sc, uint32_t uid)
{
	for (unsigned i = 0; i < sc->n_uids; i++)
		if (sc->uids[i] == uid)
			return;
	if (sc->n_uids < SCAN_UIDS_MAX)
		sc->uids[sc->n_uids++] = uid;
	else
		sc->more_uids = true;
}

static bool scan_proc(long pid, void *arg)
{
	struct scan *sc = arg;
	uint32_t uid;
	sc->n_procs++;
	if (pid == sc->self)
		sc->has_self = true;
	if (proc_uid(sc->r->proc_root, pid, &uid) == 0)
		scan_add_uid(sc, uid);
	return true;
}

static bool scan_thread(long tid, void *arg)
{
	struct scan *sc = arg;
	if (sc->n_tids < SCAN_TIDS_MAX)
		sc->tids[sc->n_tids++] = (pid_t)tid;
	return true;
}

/* Processes, their uids and threads in the cgroup of dfd and its descendants. */
static void scan_subtree(struct scan *sc, int dfd, int depth)
{
	DIR *d;
	struct dirent *de;

	for_each_number(dfd, "cgroup.procs", scan_proc, sc);
	if (sc->tids && for_each_number(dfd, "cgroup.threads", scan_thread, sc) == -ENOENT)
		for_each_number(dfd, "tasks", scan_thread, sc); /* v1 */
	if (depth >= SUBTREE_MAX_DEPTH || ++sc->dirs > SUBTREE_MAX_DIRS) {
		sc->truncated = true;
		return;
	}
	int dup_fd = dup(dfd);
	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			continue;
		scan_subtree(sc, cfd, depth + 1);
		close(cfd);
	}
	closedir(d);
}

static void scan_text(const struct scan *sc, char *buf, size_t len)
{
	int o = snprintf(buf, len, "%u processes, uids ", sc->n_procs);
	for (unsigned i = 0; i < sc->n_uids && o > 0 && (size_t)o < len; i++)
		o += snprintf(buf + o, len - (size_t)o, "%s%u", i ? "," : "", sc->uids[i]);
	if (sc->more_uids && o > 0 && (size_t)o < len)
		snprintf(buf + o, len - (size_t)o, ",...");
}

static int proc_stat_times(const char *proc_root, long pid, uint64_t *cpu_usec, uint64_t *start_ticks);

struct proc_cpu {
	const char *proc_root;
	uint64_t usec;
	unsigned n;
};

static bool add_proc_cpu(long pid, void *arg)
{
	struct proc_cpu *pc = arg;
	uint64_t u;
	if (proc_stat_times(pc->proc_root, pid, &u, NULL) == 0)
		pc->usec += u;
	return ++pc->n < PIDS_MAX;
}

/* The processes' CPU times summed over cgroup.procs of the directory and below. */
static void proc_cpu_subtree(struct proc_cpu *pc, int dfd, int depth)
{
	for_each_number(dfd, "cgroup.procs", add_proc_cpu, pc);
	int dup_fd;
	DIR *d;
	if (depth >= SUBTREE_MAX_DEPTH || pc->n >= PIDS_MAX || (dup_fd = dup(dfd)) < 0)
		return;
	if (!(d = fdopendir(dup_fd))) {
		close(dup_fd);
		return;
	}
	rewinddir(d);
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd >= 0) {
			proc_cpu_subtree(pc, cfd, depth + 1);
			close(cfd);
		}
	}
	closedir(d);
}

/* CPU used by the cgroup: cgroup2's cpu.stat, or v1's cpuacct.usage where the directory is a cpuacct one, else
 * (another v1 hierarchy, such as the freezer) its processes' times from /proc. */
static int cpu_usage_usec(const struct rw_respond *r, int dfd, uint64_t *out)
{
	char buf[1024];
	int ret = read_at(dfd, "cpu.stat", buf, sizeof buf);
	char *u = ret == 0 ? strstr(buf, "usage_usec ") : NULL;
	if (u) {
		*out = strtoull(u + 11, NULL, 10);
		return 0;
	}
	if (read_at(dfd, "cpuacct.usage", buf, sizeof buf) == 0 && buf[0] >= '0' && buf[0] <= '9') {
		*out = strtoull(buf, NULL, 10) / 1000;
		return 0;
	}
	if (!r->v1)
		return ret < 0 ? ret : -ENODATA;
	struct proc_cpu pc = { .proc_root = r->proc_root };
	proc_cpu_subtree(&pc, dfd, 0);
	*out = pc.usec;
	return 0;
}

/* utime + stime of a process (or thread) in microseconds, and its start time in clock ticks since boot. */
static int proc_stat_times(const char *proc_root, long pid, uint64_t *cpu_usec, uint64_t *start_ticks)
{
	char path[RW_CONFIG_PATH_LEN + 40], buf[1024];
	snprintf(path, sizeof path, "%s/%ld/stat", proc_root, pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p)
		return -ENODATA;
	/* fields after comm, numbered as in proc(5): state is 3, utime 14, stime 15, starttime 22 */
	unsigned long long f[23] = { 0 };
	unsigned field = 3;
	for (char *save = NULL, *tok = strtok_r(p + 1, " ", &save); tok && field <= 22;
	     tok = strtok_r(NULL, " ", &save), field++)
		f[field] = strtoull(tok, NULL, 10);
	if (field <= 22)
		return -ENODATA;
	long hz = sysconf(_SC_CLK_TCK);
	if (cpu_usec)
		*cpu_usec = (f[14] + f[15]) * 1000000ull / (unsigned long long)(hz > 0 ? hz : 100);
	if (start_ticks)
		*start_ticks = f[22];
	return 0;
}

/* The fresh FP read through the agent's reader, with the CPU delta across it. */
static bool fresh_evidence(const struct rw_respond *r, uint64_t id, int dfd, long pid, const pid_t *tids, unsigned n,
			   char *text, size_t len)
{
	struct rw_fp_evidence fp;
	uint64_t c0 = 0, c1 = 0, t0, t1;
	int ret;

	memset(&fp, 0, sizeof fp);
	if (!r->recheck.read_fp) {
		snprintf(text, len, "no FP reader: nothing can re-check the evidence");
		return false;
	}
	ret = dfd >= 0 ? cpu_usage_usec(r, dfd, &c0) : proc_stat_times(r->proc_root, pid, &c0, NULL);
	t0 = rw_mono_ns() / 1000u;
	if (ret == 0)
		ret = r->recheck.read_fp(r->recheck.arg, id, tids, n, RW_RESPOND_RECHECK_MS, &fp);
	if (ret == 0)
		ret = dfd >= 0 ? cpu_usage_usec(r, dfd, &c1) : proc_stat_times(r->proc_root, pid, &c1, NULL);
	t1 = rw_mono_ns() / 1000u;
	if (ret < 0) {
		snprintf(text, len, "fresh read failed: %s", strerror(-ret));
		return false;
	}
	return rw_respond_evidence_qualifies(&fp, c1 >= c0 ? c1 - c0 : 0, t1 - t0, text, len);
}

/* ---------------------------------------------------------------- decisions */

/* Audit one decision and hand it to the event callback. Returns the audit write's result. */
static int decide(struct rw_respond *r, const struct rw_report_target *t, uint64_t now_ns, enum rw_respond_action ra,
		  enum rw_respond_result rr, const char *detail, const char *icheck, const char *rcheck)
{
	int ret = audit(r, t, now_ns, ra_names[ra], rr_names[rr], detail, icheck, rcheck);
	r->decisions[ra][rr]++;
	struct entry *e = find_entry(r, t->sample.cgroup_id, NULL);
	if (e)
		e->decisions[ra][rr]++;
	if (r->on_event) {
		char checks[1200];
		snprintf(checks, sizeof checks, "interval: %s%s%s", icheck ? icheck : "-", rcheck && rcheck[0] ? "; re-check: " : "",
			 rcheck && rcheck[0] ? rcheck : "");
		struct rw_respond_event ev = { .target = t, .action = ra, .result = rr, .detail = detail ? detail : "",
					       .checks = checks, .time_ns = now_ns };
		r->on_event(&ev, r->on_event_arg);
	}
	return ret;
}

static bool gates(const struct rw_respond *r, const struct rw_verdict_state *v)
{
	return v->verdict == RW_VERDICT_MINING && v->intervals_in_verdict >= r->min_intervals &&
	       v->score_q16 >= r->min_score_q16;
}

/* A frozen target thawed by someone else is theirs again. */
static void refresh_entry(struct entry *e, const char *name)
{
	char buf[16];
	if (e->state != RW_ACTION_FROZEN || e->fd < 0)
		return;
	if ((read_at(e->fd, "cgroup.freeze", buf, sizeof buf) == 0 && buf[0] == '0') ||
	    (read_at(e->fd, "freezer.state", buf, sizeof buf) == 0 && strncmp(buf, "THAWED", 6) == 0)) {
		rw_log_info("respond", "%s was thawed by someone else; left alone until it enters mining anew", name);
		e->state = RW_ACTION_NONE;
		e->action_time_ns = 0;
		close(e->fd);
		e->fd = -1;
	}
}

/* A container the engine paused for us: once its state has shown it paused, a state showing it running again
 * means someone ran `docker unpause`: left alone for the rest of the episode, as after a cgroup thaw. */
static void engine_refresh(struct entry *e, const struct rw_report_target *t)
{
	if (!e->engine_paused || e->state != RW_ACTION_FROZEN || !t->container.have)
		return;
	if (t->container.paused) {
		e->engine_seen_paused = true;
	} else if (e->engine_seen_paused) {
		rw_log_info("respond", "%s was unpaused by someone else; left alone until it enters mining anew",
			    t->sample.cgroup);
		e->state = RW_ACTION_NONE;
		e->action_time_ns = 0;
		e->engine_paused = e->engine_seen_paused = false;
	}
}

bool rw_respond_holds(const struct rw_respond *r, uint64_t target_id)
{
	struct entry *e = r ? find_entry((struct rw_respond *)r, target_id, NULL) : NULL;
	return e && (e->state == RW_ACTION_FROZEN || e->state == RW_ACTION_KILLED);
}

static void refuse(struct rw_respond *r, struct entry *e, const struct rw_report_target *t, uint64_t now_ns,
		   enum rw_respond_action ra, const char *why, const char *icheck, const char *rcheck)
{
	if (e->noted_refused)
		return;
	e->noted_refused = true;
	r->stats.refused++;
	rw_log_warn("respond", "not acting on %s (mining, score %d/65536): %s", t->sample.cgroup, t->verdict.score_q16,
		    why);
	decide(r, t, now_ns, ra, RW_RR_REFUSED, why, icheck, rcheck);
}

static void recheck_failed(struct rw_respond *r, struct entry *e, const struct rw_report_target *t, uint64_t now_ns,
			   enum rw_respond_action ra, const char *detail, const char *icheck, const char *rcheck)
{
	e->rechecks++;
	if (e->noted_recheck)
		return;
	e->noted_recheck = true;
	rw_log_warn("respond", "not acting on %s: the re-check right before acting did not hold: %s (%s)",
		    t->sample.cgroup, detail, rcheck);
	decide(r, t, now_ns, ra, RW_RR_RECHECK_FAILED, detail, icheck, rcheck);
}

/* Per-process target: by pid, the start time checked once the pid is pinned by a pidfd. Returns the pidfd or
 * a negative errno (-ESRCH: gone or a reused pid). */
static int open_process(const struct rw_respond *r, uint64_t id, long *pid_out, char *detail, size_t len)
{
	long pid = (long)rw_proc_target_pid(id);
	uint64_t want = (id >> 22) & ((1ull << 41) - 1), have = 0;
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	*pid_out = pid;
	if (fd < 0) {
		int e = errno;
		snprintf(detail, len, "process %ld: %s", pid, strerror(e));
		return -e;
	}
	if (proc_stat_times(r->proc_root, pid, NULL, &have) < 0 || (have & ((1ull << 41) - 1)) != want) {
		snprintf(detail, len, "process %ld is gone (pid reused: start time %llu, the target's %llu)", pid,
			 (unsigned long long)have, (unsigned long long)want);
		close(fd);
		return -ESRCH;
	}
	return fd;
}

static bool collect_task(long tid, void *arg)
{
	return scan_thread(tid, arg);
}

/* The process target's own cgroup path (its "0::" line), relative to the cgroup2 root as it sees it. */
static void process_cgroup(const struct rw_respond *r, long pid, char *out, size_t len)
{
	char path[RW_CONFIG_PATH_LEN + 32], buf[2048];
	snprintf(path, sizeof path, "%s/%ld/cgroup", r->proc_root, pid);
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	char *l = strstr(buf, "0::");
	if (l && (l == buf || l[-1] == '\n')) {
		l += 3;
		size_t k = strcspn(l, "\n");
		if (k >= len)
			k = len - 1;
		memcpy(out, l, k);
		out[k] = '\0';
	}
}

static void act_on_process(struct rw_respond *r, struct entry *e, struct rw_report_target *t, uint64_t now_ns,
			   enum rw_respond_action ra, const char *icheck)
{
	char detail[512], rcheck[640] = "", why[512], cg[RW_CGROUP_PATH_MAX];
	long pid;
	pid_t *tids = NULL;

	if (!r->process_targets) {
		refuse(r, e, t, now_ns, ra, "a per-process target: [response] process_targets is off", icheck, "");
		return;
	}
	int pfd = open_process(r, t->sample.cgroup_id, &pid, detail, sizeof detail);
	if (pfd < 0) {
		if (pfd == -ESRCH) {
			rate_record(r, now_ns);
			e->done = true;
			e->state = ra == RW_RA_DRY_RUN ? RW_ACTION_DRY_RUN : RW_ACTION_KILLED;
			decide(r, t, now_ns, ra, RW_RR_VANISHED, detail, icheck, "");
		} else {
			recheck_failed(r, e, t, now_ns, ra, detail, icheck, "");
		}
		return;
	}
	process_cgroup(r, pid, cg, sizeof cg);
	if (pid <= 1 || pid == getpid() || pid == getppid()) {
		refuse(r, e, t, now_ns, ra, "the agent, its parent or PID 1", icheck, "");
		goto out;
	}
	if (cg[0] && !is_root_path(cg) &&
	    (builtin_protected(r, cg, NULL, why, sizeof why, "") || cgroup_glob_protected(r, cg, why, sizeof why, "") ||
	     identity_protected(r, cg, NULL, why, sizeof why, ""))) {
		refuse(r, e, t, now_ns, ra, why, icheck, "");
		goto out;
	}
	struct scan sc = { .r = r, .self = getpid() };
	char taskdir[RW_CONFIG_PATH_LEN + 40];
	snprintf(taskdir, sizeof taskdir, "%s/%ld/task", r->proc_root, pid);
	tids = malloc(SCAN_TIDS_MAX * sizeof *tids);
	DIR *d = tids ? opendir(taskdir) : NULL;
	if (d) {
		struct dirent *de;
		sc.tids = tids;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
				collect_task(atol(de->d_name), &sc);
		closedir(d);
	}
	bool ok = fresh_evidence(r, t->sample.cgroup_id, -1, pid, tids, sc.n_tids, rcheck, sizeof rcheck);
	/* the same process still, after the read */
	uint64_t st = 0;
	if (proc_stat_times(r->proc_root, pid, NULL, &st) < 0 ||
	    (st & ((1ull << 41) - 1)) != ((t->sample.cgroup_id >> 22) & ((1ull << 41) - 1)))
		ok = false;
	if (!ok) {
		recheck_failed(r, e, t, now_ns, ra, "process target did not re-qualify", icheck, rcheck);
		goto out;
	}
	rate_record(r, now_ns);
	if (ra == RW_RA_DRY_RUN) {
		decide(r, t, now_ns, ra, RW_RR_OK, "dry-run: no change made; freeze or kill mode would act now", icheck,
		       rcheck);
		r->stats.dry_runs++;
		e->done = true;
		e->state = RW_ACTION_DRY_RUN;
		goto out;
	}
	if (audit(r, t, now_ns, ra_names[ra], "pending", "", icheck, rcheck) < 0) {
		decide(r, t, now_ns, ra, RW_RR_FAILED, "audit log not writable", icheck, rcheck);
		r->stats.failures++;
		e->failures++;
		e->state = RW_ACTION_FAILED;
		goto out;
	}
	int sig = ra == RW_RA_FREEZE ? SIGSTOP : SIGKILL;
	if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0) {
		int er = errno;
		snprintf(detail, sizeof detail, "%s to process %ld: %s", sig == SIGSTOP ? "SIGSTOP" : "SIGKILL", pid,
			 strerror(er));
		if (er == ESRCH) {
			e->state = ra == RW_RA_FREEZE ? RW_ACTION_FROZEN : RW_ACTION_KILLED;
			e->done = true;
			decide(r, t, now_ns, ra, RW_RR_VANISHED, detail, icheck, rcheck);
		} else {
			decide(r, t, now_ns, ra, RW_RR_FAILED, detail, icheck, rcheck);
			r->stats.failures++;
			e->failures++;
			e->state = RW_ACTION_FAILED;
		}
		goto out;
	}
	snprintf(detail, sizeof detail, "%s to process %ld (start time checked, through a pidfd)",
		 sig == SIGSTOP ? "SIGSTOP" : "SIGKILL", pid);
	e->state = ra == RW_RA_FREEZE ? RW_ACTION_FROZEN : RW_ACTION_KILLED;
	e->done = true;
	if (ra == RW_RA_FREEZE)
		r->stats.freezes++;
	else
		r->stats.kills++;
	decide(r, t, now_ns, ra, RW_RR_OK, detail, icheck, rcheck);
	rw_log_warn("respond", "%s process %ld: %s", ra_names[ra], pid, detail);
out:
	free(tids);
	if (e->pidfd < 0 && (e->state == RW_ACTION_FROZEN || e->state == RW_ACTION_KILLED))
		e->pidfd = pfd;
	else
		close(pfd);
}

/* The cgroup target, through its directory fd: re-check, then act. */
/* A Docker container the engine API may act on: Docker then records what happened (Paused; exited 137). */
static bool docker_target(const struct rw_respond *r, const struct rw_report_target *t)
{
	const struct rw_identity *id = &t->sample.identity;
	if (!r->docker_socket[0] || id->kind != RW_KIND_CONTAINER || strcmp(id->runtime, "docker") != 0 ||
	    strlen(id->id) != 64)
		return false;
	for (const char *p = id->id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Kill through the engine (SIGKILL to the container's init: Docker records exit 137), then wait for the cgroup
 * to empty; cgroup writes when the engine cannot be reached, refuses, or the cgroup does not empty in time.
 * The cgroup is frozen (cgroup2) already: a fatal signal still ends a frozen task, and nothing forks meanwhile. */
static int docker_kill(const struct rw_respond *r, const struct rw_report_target *t, int fd, char *kd, size_t len)
{
	char ad[400], cd[400];
	unsigned waited = 0;
	int ret = rw_docker_kill(r->docker_socket, t->sample.identity.id, ad, sizeof ad);
	if (ret == 0) {
		ret = wait_events(fd, "populated", 0, ACT_WAIT_MS, &waited);
		if (ret == 0 || ret == RW_RESPOND_VANISHED) {
			snprintf(kd, len, "killed by the engine (%s; the container exits 137); cgroup empty after %u ms", ad,
				 waited);
			return ret;
		}
		snprintf(ad + strlen(ad), sizeof ad - strlen(ad), " but not empty after %u ms", waited);
	}
	ret = rw_respond_kill(fd, RW_KILL_AUTO, cd, sizeof cd);
	snprintf(kd, len, "%s; killed by cgroup writes instead: %s", ad, cd);
	return ret;
}

static void act_on_cgroup(struct rw_respond *r, struct entry *e, struct rw_report_target *t, uint64_t now_ns,
			  enum rw_respond_action ra, const char *icheck)
{
	const char *cg = t->sample.cgroup;
	char detail[1200], detail2[400], rcheck[900], who[160];
	struct scan sc = { .r = r, .self = getpid() };
	int fd = rw_respond_open_target(r, cg, t->sample.cgroup_id, detail, sizeof detail);
	int act_fd = -1; /* the directory frozen and swept: fd, or on v1 the freezer twin */
	int act_errno = ENOENT;

	if (fd == -ENOENT) {
		/* gone before we could act: nothing left to do, which is what acting was for */
		rate_record(r, now_ns);
		e->done = true;
		e->state = ra == RW_RA_DRY_RUN ? RW_ACTION_DRY_RUN : ra == RW_RA_FREEZE ? RW_ACTION_FROZEN : RW_ACTION_KILLED;
		if (ra == RW_RA_DRY_RUN)
			r->stats.dry_runs++;
		else if (ra == RW_RA_FREEZE)
			r->stats.freezes++;
		else
			r->stats.kills++;
		decide(r, t, now_ns, ra, RW_RR_VANISHED, detail, icheck, "");
		return;
	}
	if (fd < 0) {
		recheck_failed(r, e, t, now_ns, ra, detail, icheck, "");
		return;
	}
	if (!(sc.tids = malloc(SCAN_TIDS_MAX * sizeof *sc.tids))) {
		close(fd);
		return; /* out of memory: do nothing, which is the safe side */
	}
	scan_subtree(&sc, fd, 0);
	scan_text(&sc, who, sizeof who);
	if (r->v1 && strcmp(r->v1_freezer, r->root) != 0) {
		/* v1, walking another hierarchy than the freezer: the freezer twin at the same path is what gets
		 * frozen and swept, so it is checked for the agent too. */
		char fp[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX];
		snprintf(fp, sizeof fp, "%s%s", r->v1_freezer, cg);
		act_fd = r->v1_freezer[0] ? open(fp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
		act_errno = r->v1_freezer[0] ? errno : ENODEV;
		if (act_fd >= 0) {
			struct scan fsc = { .r = r, .self = getpid() };
			scan_subtree(&fsc, act_fd, 0);
			sc.has_self |= fsc.has_self;
			sc.truncated |= fsc.truncated;
		}
	} else {
		act_fd = fd;
	}
	if (sc.has_self) {
		snprintf(detail, sizeof detail, "the agent's own process (pid %d) is in this cgroup's subtree", sc.self);
		refuse(r, e, t, now_ns, ra, detail, icheck, who);
		goto out;
	}
	if (sc.truncated) {
		snprintf(detail, sizeof detail, "subtree larger than %u cgroups or %d levels: not checked, not touched",
			 SUBTREE_MAX_DIRS, SUBTREE_MAX_DEPTH);
		refuse(r, e, t, now_ns, ra, detail, icheck, who);
		goto out;
	}
	bool ok = sc.n_procs > 0 && fresh_evidence(r, t->sample.cgroup_id, fd, 0, sc.tids, sc.n_tids, rcheck, sizeof rcheck);
	if (sc.n_procs == 0)
		snprintf(rcheck, sizeof rcheck, "no processes left");
	size_t rl = strlen(rcheck);
	snprintf(rcheck + rl, sizeof rcheck - rl, "; %s", who);
	if (!ok) {
		recheck_failed(r, e, t, now_ns, ra, "the fresh read does not show hashing", icheck, rcheck);
		goto out;
	}
	rate_record(r, now_ns);
	if (ra == RW_RA_DRY_RUN) {
		decide(r, t, now_ns, ra, RW_RR_OK, "dry-run: no change made; freeze or kill mode would act now", icheck,
		       rcheck);
		rw_log_warn("respond", "dry-run: would act on %s", cg);
		r->stats.dry_runs++;
		e->done = true;
		e->state = RW_ACTION_DRY_RUN;
		goto out;
	}
	if (audit(r, t, now_ns, ra_names[ra], "pending", "", icheck, rcheck) < 0) {
		/* no record, no action */
		decide(r, t, now_ns, ra, RW_RR_FAILED, "audit log not writable", icheck, rcheck);
		rw_log_error("respond", "%s %s failed: audit log not writable", ra_names[ra], cg);
		r->stats.failures++;
		e->failures++;
		e->state = RW_ACTION_FAILED;
		goto out;
	}
	if (act_fd < 0) {
		if (!r->v1_freezer[0])
			snprintf(detail, sizeof detail, "the v1 freezer controller is not mounted: nothing to freeze "
				 "or kill %s with", cg);
		else
			snprintf(detail, sizeof detail, "%.300s%.500s: no v1 freezer cgroup at this path (%s), nothing to "
				 "freeze with", r->v1_freezer, cg, strerror(act_errno));
		decide(r, t, now_ns, ra, RW_RR_FAILED, detail, icheck, rcheck);
		rw_log_error("respond", "%s %s failed: %s", ra_names[ra], cg, detail);
		r->stats.failures++;
		e->failures++;
		e->state = RW_ACTION_FAILED;
		goto out;
	}
	rw_log_warn("respond", "%s %s (%s, score %d/65536, %u intervals; %s)", ra_names[ra], cg,
		    rw_verdict_name(t->verdict.verdict), t->verdict.score_q16, t->verdict.intervals_in_verdict, rcheck);
	/* A Docker container is paused by the engine where it answers: `docker ps` shows it Paused and `docker
	 * unpause` resumes it. Otherwise, or when it refuses, the cgroup is frozen as any other. */
	char via[440] = "";
	if (ra == RW_RA_FREEZE && docker_target(r, t)) {
		char ad[400];
		if (rw_docker_pause(r->docker_socket, t->sample.identity.id, ad, sizeof ad) == 0) {
			snprintf(detail, sizeof detail, "paused by the engine (%s; docker ps shows it Paused, docker "
				 "unpause resumes it)", ad);
			e->done = true;
			e->state = RW_ACTION_FROZEN;
			e->engine_paused = true;
			e->engine_seen_paused = false;
			r->stats.freezes++;
			decide(r, t, now_ns, ra, RW_RR_OK, detail, icheck, rcheck);
			rw_log_warn("respond", "%s %s: %s", ra_names[ra], cg, detail);
			goto out;
		}
		snprintf(via, sizeof via, "%s; frozen by cgroup writes instead: ", ad);
	}
	/* freeze first in both modes: nothing forks away between the scan of the processes and the kill */
	int ret = rw_respond_freeze(act_fd, detail2, sizeof detail2);
	enum rw_respond_result rr = RW_RR_OK;
	enum rw_action_state state = RW_ACTION_FROZEN;
	snprintf(detail, sizeof detail, "%.439s%.399s", via, detail2);
	if (ret == 0 && ra == RW_RA_KILL) {
		struct scan again = { .r = r, .self = getpid() };
		scan_subtree(&again, act_fd, 0); /* frozen now: this is who the kill would hit */
		if (again.n_uids > 1 || again.more_uids || again.has_self) {
			scan_text(&again, who, sizeof who);
			snprintf(detail, sizeof detail,
				 "%s; not killed: %s share this cgroup, and one process's evidence does not condemn "
				 "another user's processes; left frozen for an operator (thaw: %s)",
				 detail2, who, act_fd != fd || faccessat(act_fd, "freezer.state", F_OK, 0) == 0
							? "write THAWED to freezer.state" : "write 0 to cgroup.freeze");
			rr = RW_RR_FROZEN_NOT_KILLED;
		} else {
			char kd[900];
			if (docker_target(r, t))
				ret = docker_kill(r, t, act_fd, kd, sizeof kd);
			else
				ret = rw_respond_kill(act_fd, RW_KILL_AUTO, kd, sizeof kd);
			snprintf(detail, sizeof detail, "%.399s; %.790s", detail2, kd);
			state = RW_ACTION_KILLED;
			if (ret == 0) /* leave the empty cgroup usable for whoever owns it */
				rw_respond_thaw(act_fd, detail2, sizeof detail2);
		}
	} else if (ret == RW_RESPOND_VANISHED && ra == RW_RA_KILL) {
		state = RW_ACTION_KILLED;
	}
	if (ret < 0 && ret != RW_RESPOND_VANISHED) {
		decide(r, t, now_ns, ra, RW_RR_FAILED, detail, icheck, rcheck);
		rw_log_error("respond", "%s %s failed: %s", ra_names[ra], cg, detail);
		r->stats.failures++;
		e->failures++;
		e->state = RW_ACTION_FAILED;
		goto out;
	}
	if (ret == RW_RESPOND_VANISHED)
		rr = RW_RR_VANISHED;
	e->done = true;
	e->state = state;
	if (state == RW_ACTION_FROZEN)
		r->stats.freezes++;
	else
		r->stats.kills++;
	decide(r, t, now_ns, ra, rr, detail, icheck, rcheck);
	rw_log_warn("respond", "%s %s: %s", ra_names[ra], cg, detail);
	if (e->fd < 0) {
		e->fd = act_fd; /* kept: a thaw or the cgroup's removal is seen through it */
		if (act_fd == fd)
			fd = -1;
		act_fd = -1;
	}
out:
	free(sc.tids);
	if (act_fd >= 0 && act_fd != fd)
		close(act_fd);
	if (fd >= 0)
		close(fd);
}

static int consider(struct rw_respond *r, struct rw_report_target *t, uint64_t now_ns);

int rw_respond_consider(struct rw_respond *r, struct rw_report_target *t, uint64_t now_ns)
{
	if (!r || !t)
		return -EINVAL;
	int ret = consider(r, t, now_ns);
	const struct entry *e = find_entry(r, t->sample.cgroup_id, NULL);
	if (e)
		memcpy(t->response_decisions, e->decisions, sizeof e->decisions);
	else
		memset(t->response_decisions, 0, sizeof t->response_decisions);
	return ret;
}

static int consider(struct rw_respond *r, struct rw_report_target *t, uint64_t now_ns)
{
	char icheck[384], why[512];
	struct entry *e;

	t->action = RW_ACTION_NONE;
	t->action_time_ns = 0;
	if (r->mode == RW_RESPONSE_OFF)
		return 0;

	e = find_entry(r, t->sample.cgroup_id, NULL);
	if (e) {
		refresh_entry(e, t->sample.cgroup);
		engine_refresh(e, t);
		t->action = e->state;
		t->action_time_ns = e->action_time_ns;
	}
	if (!gates(r, &t->verdict))
		return 0;
	if (e && e->episode == t->verdict.since_ns &&
	    (e->done || (e->state == RW_ACTION_FAILED && e->failures >= MAX_FAILURES_PER_EPISODE) ||
	     e->rechecks >= MAX_RECHECKS_PER_EPISODE))
		return 0;
	if (!e && !(e = add_entry(r, t->sample.cgroup_id)))
		return 0; /* out of memory: do nothing, which is the safe side */
	if (e->episode != t->verdict.since_ns) {
		e->episode = t->verdict.since_ns;
		e->done = e->noted_refused = e->noted_rate = e->noted_evidence = e->noted_recheck = false;
		e->failures = e->rechecks = 0;
	}
	enum rw_respond_action ra = r->mode == RW_RESPONSE_DRY_RUN ? RW_RA_DRY_RUN
				    : r->mode == RW_RESPONSE_FREEZE ? RW_RA_FREEZE
								    : RW_RA_KILL;
	enum rw_action_state before = e->state;

	/* 0. an [allow] rule exempts the target: recorded once per episode, never acted upon */
	if (t->allowed) {
		if (!e->noted_refused) {
			e->noted_refused = true;
			rw_log_info("respond", "not acting on %s (mining): allowed: %s", t->sample.cgroup, t->allow_reason);
			snprintf(why, sizeof why, "allowed: %s", t->allow_reason);
			decide(r, t, now_ns, ra, RW_RR_ALLOWED, why, "", "");
		}
		return 0;
	}
	/* 1. behaviour in this interval: names, command lines and connections are not looked at */
	if (!rw_respond_evidence_qualifies(&t->sample.fp, t->sample.cpu_usec, t->sample.interval_us, icheck,
					   sizeof icheck)) {
		if (!e->noted_evidence) {
			e->noted_evidence = true;
			rw_log_warn("respond", "not acting on %s (mining): no behavioural evidence of hashing (%s)",
				    t->sample.cgroup, icheck);
			decide(r, t, now_ns, ra, RW_RR_NO_EVIDENCE,
			       "mining verdict without behavioural evidence of hashing: indicators (names, command lines, "
			       "connections) never act",
			       icheck, "");
		}
		return 0;
	}
	/* 2. the rules */
	if (!rw_target_is_process(t->sample.cgroup_id) &&
	    rw_respond_allowed(r, t->sample.cgroup, t->sample.cgroup_id, &t->sample.identity, why, sizeof why) < 0) {
		refuse(r, e, t, now_ns, ra, why, icheck, "");
		return 0;
	}
	/* 3. the rate limit */
	if (!rate_ok(r, now_ns)) {
		if (!e->noted_rate) {
			e->noted_rate = true;
			r->stats.rate_limited++;
			if (r->max_per_min)
				snprintf(why, sizeof why, "rate limit: %u actions in the last 60 s", r->max_per_min);
			else
				snprintf(why, sizeof why, "rate limit: max_actions_per_min is 0");
			rw_log_warn("respond", "not acting on %s yet: %s", t->sample.cgroup, why);
			decide(r, t, now_ns, ra, RW_RR_RATE_LIMITED, why, icheck, "");
		}
		return 0;
	}
	/* 4. fresh evidence, then the action, through an fd on that very cgroup or process */
	if (rw_target_is_process(t->sample.cgroup_id))
		act_on_process(r, e, t, now_ns, ra, icheck);
	else
		act_on_cgroup(r, e, t, now_ns, ra, icheck);
	if (e->state != before || e->done || e->state == RW_ACTION_FAILED)
		e->action_time_ns = now_ns;
	t->action = e->state;
	t->action_time_ns = e->action_time_ns;
	return 0;
}

/* ---------------------------------------------------------------- the agent's own cgroup */

/* The "0::" line of /proc/self/cgroup: where the kernel says we are, relative to our cgroup namespace's root. */
static int read_self_cgroup(const char *proc_root, char *out, size_t len)
{
	char path[RW_CONFIG_PATH_LEN + 32], buf[4096];
	int ret;

	snprintf(path, sizeof path, "%s/self/cgroup", proc_root[0] ? proc_root : "/proc");
	if ((ret = read_small(path, buf, sizeof buf)) < 0)
		return ret;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line - 3) : strlen(line + 3);
		if (n >= len)
			return -ENAMETOOLONG;
		memcpy(out, line + 3, n);
		out[n] = '\0';
		char *del = strstr(out, " (deleted)");
		if (del)
			*del = '\0';
		if (out[0] == '\0')
			snprintf(out, len, "/");
		return 0;
	}
	return -ENOENT;
}

static bool stop_at_pid(long v, void *arg)
{
	bool *found = arg;
	if (v == (long)getpid()) {
		*found = true;
		return false;
	}
	return true;
}

static bool lists_self(int dfd)
{
	bool found = false;
	for_each_number(dfd, "cgroup.procs", stop_at_pid, &found);
	return found;
}

/* Depth-first search below dfd (consumed) for the directory whose cgroup.procs lists us; rel gets its path. */
static bool search_self(int dfd, char *rel, size_t rel_len, int depth, unsigned *dirs)
{
	DIR *d;
	struct dirent *de;
	bool found = false;

	if (lists_self(dfd)) {
		close(dfd);
		return true;
	}
	if (depth >= SUBTREE_MAX_DEPTH || ++*dirs > SELF_SEARCH_MAX_DIRS || !(d = fdopendir(dfd))) {
		close(dfd);
		return false;
	}
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		size_t n = strlen(de->d_name);
		if (rel_len + 1 + n >= RW_CGROUP_PATH_MAX)
			continue;
		int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			continue;
		rel[rel_len] = '/';
		memcpy(rel + rel_len + 1, de->d_name, n + 1);
		found = search_self(cfd, rel, rel_len + 1 + n, depth + 1, dirs);
		if (!found)
			rel[rel_len] = '\0';
	}
	closedir(d);
	return found;
}

/* Find the agent's cgroup in the tree below r->root, by its cgroup.procs, and the inodes of it and each ancestor. */
static int find_self(struct rw_respond *r, char *err, size_t errlen)
{
	char said[RW_CGROUP_PATH_MAX] = "", path[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX], rel[RW_CGROUP_PATH_MAX];
	unsigned dirs = 0;
	bool found = false;
	int fd, ret;

	ret = read_self_cgroup(r->proc_root, said, sizeof said);
	rel[0] = '\0';
	if (ret == 0 && !is_root_path(said) && canonical_path(said) && abs_path(r, path, sizeof path, said, NULL) == 0 &&
	    (fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		found = lists_self(fd);
		close(fd);
		if (found)
			snprintf(rel, sizeof rel, "%s", said);
	}
	if (!found && (fd = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		found = search_self(fd, rel, 0, 0, &dirs);
	if (!found) {
		snprintf(err, errlen,
			 "respond: cannot find the agent's own cgroup in the tree it walks (%s; /proc/self/cgroup says "
			 "\"%s\"): freeze/kill/dry-run cannot be armed without it, since the agent could act on itself. Run "
			 "the agent inside that hierarchy, or set response.mode = off",
			 r->root, ret == 0 ? said : strerror(-ret));
		return -ENOENT;
	}
	if (!rel[0])
		snprintf(rel, sizeof rel, "/");
	snprintf(r->self_cg, sizeof r->self_cg, "%s", rel);
	/* inodes of the cgroup and every ancestor up to the root */
	r->n_self_chain = 0;
	for (char cur[RW_CGROUP_PATH_MAX];;) {
		struct stat st;
		snprintf(cur, sizeof cur, "%s", rel);
		if (abs_path(r, path, sizeof path, cur, NULL) == 0 && stat(path, &st) == 0 &&
		    r->n_self_chain < SELF_CHAIN_MAX)
			r->self_chain[r->n_self_chain++] = (uint64_t)st.st_ino;
		if (is_root_path(rel))
			break;
		char *slash = strrchr(rel, '/');
		if (slash == rel)
			rel[1] = '\0';
		else
			*slash = '\0';
	}
	return 0;
}

/* ---------------------------------------------------------------- open / close */

int rw_respond_open(struct rw_respond **out, const struct rw_config *cfg, const char *cgroup2_root, char *err,
		    size_t errlen)
{
	struct rw_respond *r;
	int ret;

	*out = NULL;
	if (!cfg || !cgroup2_root || cgroup2_root[0] != '/') {
		snprintf(err, errlen, "respond: the cgroup2 root must be an absolute path");
		return -EINVAL;
	}
	if (!(r = calloc(1, sizeof *r))) {
		snprintf(err, errlen, "respond: out of memory");
		return -ENOMEM;
	}
	r->audit_fd = -1;
	r->mode = cfg->response;
	r->min_intervals = cfg->response_min_intervals;
	r->min_score_q16 = cfg->response_min_score_q16;
	r->max_per_min = cfg->response_max_actions_per_min;
	r->allow_cgroups = cfg->allow_cgroups;
	r->allow_identities = cfg->allow_identities;
	r->unprotect = cfg->unprotect;
	r->process_targets = cfg->response_process_targets;
	snprintf(r->kube_pods_dir, sizeof r->kube_pods_dir, "%s", cfg->kube_pods_dir);
	if (cfg->docker_respond_via_api)
		snprintf(r->docker_socket, sizeof r->docker_socket, "%s", cfg->docker_socket);
	snprintf(r->proc_root, sizeof r->proc_root, "%s", cfg->proc_root[0] ? cfg->proc_root : "/proc");
	snprintf(r->root, sizeof r->root, "%s", cgroup2_root);
	for (size_t n = strlen(r->root); n > 1 && r->root[n - 1] == '/'; n--)
		r->root[n - 1] = '\0';
	snprintf(r->audit_path, sizeof r->audit_path, "%s", cfg->audit_log);
	r->recheck.read_fp = rw_respond_fp_ptrace;

	if (r->mode == RW_RESPONSE_OFF) {
		/* nothing will be touched: no audit log, and not knowing our own cgroup does not matter */
		*out = r;
		return 0;
	}
	if ((ret = find_self(r, err, errlen)) < 0)
		goto fail;
	if (r->max_per_min && !(r->rate_ring = calloc(r->max_per_min, sizeof *r->rate_ring))) {
		ret = -ENOMEM;
		snprintf(err, errlen, "respond: out of memory");
		goto fail;
	}
	if (!r->audit_path[0]) {
		ret = -EINVAL;
		snprintf(err, errlen, "response.audit_log: required when response.mode is %s",
			 rw_response_mode_name(r->mode));
		goto fail;
	}
	char dir[RW_CONFIG_PATH_LEN];
	snprintf(dir, sizeof dir, "%s", r->audit_path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			ret = -errno;
			snprintf(err, errlen, "response.audit_log: mkdir %s: %s", dir, strerror(errno));
			goto fail;
		}
	}
	r->audit_fd = open(r->audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (r->audit_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "response.audit_log: %s: %s", r->audit_path, strerror(errno));
		goto fail;
	}
	rw_log_info("respond", "mode %s, own cgroup %s (inode %llu, %u ancestors), audit log %s",
		    rw_response_mode_name(r->mode), r->self_cg,
		    (unsigned long long)(r->n_self_chain ? r->self_chain[0] : 0), r->n_self_chain ? r->n_self_chain - 1 : 0,
		    r->audit_path);
	*out = r;
	return 0;
fail:
	rw_respond_close(r);
	return ret;
}

void rw_respond_close(struct rw_respond *r)
{
	if (!r)
		return;
	if (r->audit_fd >= 0)
		close(r->audit_fd);
	for (size_t i = 0; i < r->n_entries; i++) {
		if (r->entries[i].fd >= 0)
			close(r->entries[i].fd);
		if (r->entries[i].pidfd >= 0)
			close(r->entries[i].pidfd);
	}
	free(r->rate_ring);
	free(r->entries);
	free(r);
}

void rw_respond_set_v1_freezer(struct rw_respond *r, const char *freezer_root)
{
	if (!r)
		return;
	r->v1 = true;
	snprintf(r->v1_freezer, sizeof r->v1_freezer, "%s", freezer_root ? freezer_root : "");
}

void rw_respond_set_recheck(struct rw_respond *r, const struct rw_respond_recheck *rc)
{
	if (r && rc)
		r->recheck = *rc;
}

void rw_respond_on_event(struct rw_respond *r, rw_respond_event_fn fn, void *arg)
{
	if (!r)
		return;
	r->on_event = fn;
	r->on_event_arg = arg;
}

void rw_respond_get_stats(const struct rw_respond *r, struct rw_respond_stats *out)
{
	memset(out, 0, sizeof *out);
	if (r)
		*out = r->stats;
}

void rw_respond_get_decisions(const struct rw_respond *r, uint64_t out[RW_RA_COUNT][RW_RR_COUNT])
{
	if (r)
		memcpy(out, r->decisions, sizeof r->decisions);
	else
		memset(out, 0, sizeof(uint64_t) * RW_RA_COUNT * RW_RR_COUNT);
}

const char *rw_respond_self_cgroup(const struct rw_respond *r)
{
	return r->self_cg;
}

/* ---------------------------------------------------------------- the ptrace FP reader */

#define PT_MAX_THREADS 4      /* busiest threads read */
#define PT_CANDIDATES  256    /* threads whose CPU is compared */
#define PT_ROUNDS      10     /* reads per thread */

int rw_respond_fp_ptrace(void *arg, uint64_t target_id, const pid_t *tids, unsigned n, unsigned window_ms,
			 struct rw_fp_evidence *out)
{
	uint64_t before[PT_CANDIDATES], after;
	pid_t pick[PT_MAX_THREADS];
	uint64_t best[PT_MAX_THREADS];
	unsigned np = 0;
	(void)arg;
	(void)target_id;

	memset(out, 0, sizeof *out);
	if (n > PT_CANDIDATES)
		n = PT_CANDIDATES;
	for (unsigned i = 0; i < n; i++)
		if (proc_stat_times("/proc", tids[i], &before[i], NULL) < 0)
			before[i] = UINT64_MAX;
	struct timespec q = { (time_t)(window_ms / 4 / 1000), (long)(window_ms / 4 % 1000) * 1000000L };
	nanosleep(&q, NULL);
	for (unsigned i = 0; i < n; i++) {
		if (before[i] == UINT64_MAX || proc_stat_times("/proc", tids[i], &after, NULL) < 0 || after <= before[i])
			continue;
		uint64_t d = after - before[i];
		unsigned at = np < PT_MAX_THREADS ? np++ : PT_MAX_THREADS;
		if (at == PT_MAX_THREADS) {
			unsigned lo = 0;
			for (unsigned j = 1; j < PT_MAX_THREADS; j++)
				if (best[j] < best[lo])
					lo = j;
			if (best[lo] >= d)
				continue;
			at = lo;
		}
		pick[at] = tids[i];
		best[at] = d;
	}
	if (np == 0)
		return 0; /* nothing ran: no observations, which does not qualify */

	uint8_t modes[PT_MAX_THREADS] = { 0 };
	int last[PT_MAX_THREADS];
	for (unsigned j = 0; j < np; j++)
		last[j] = -1;
	long gap_ns = (long)window_ms * 3 / 4 * 1000000L / PT_ROUNDS;
	for (unsigned round = 0; round < PT_ROUNDS; round++) {
		for (unsigned j = 0; j < np; j++) {
			uint32_t control = 0;
			uint64_t stop_ns = 0;
			if (rw_fpprobe_read_thread(pick[j], &control, &stop_ns) < 0) {
				out->failed++;
				continue;
			}
			struct rw_fp_decoded dc;
			rw_fp_decode(control, &dc);
			modes[j] |= (uint8_t)(1u << dc.rmode);
			out->modes_union |= (uint8_t)(1u << dc.rmode);
			out->mode_obs[dc.rmode & 3]++;
			out->probes++;
			if (dc.ftz || dc.daz)
				out->ftz_daz = 1;
			if (dc.ftz && dc.daz)
				out->ftz_daz_obs++;
			if (last[j] >= 0) {
				out->pairs++;
				out->changes += last[j] != dc.rmode;
			}
			last[j] = dc.rmode;
			out->last_control = control;
		}
		struct timespec g = { gap_ns / 1000000000L, gap_ns % 1000000000L };
		nanosleep(&g, NULL);
	}
	rw_fpprobe_release_pending(50);
	for (unsigned j = 0; j < np; j++) {
		unsigned all = (unsigned)__builtin_popcount(modes[j]);
		unsigned nondef = (unsigned)__builtin_popcount(modes[j] & 0xe);
		if (all)
			out->threads++;
		if (all > out->max_thread_modes)
			out->max_thread_modes = (uint8_t)all;
		if (nondef > out->max_thread_nondefault)
			out->max_thread_nondefault = (uint8_t)nondef;
	}
	if (out->probes)
		out->path = RW_FP_PATH_PTRACE;
	return 0;
}

/* ---------------------------------------------------------------- least privilege */

/* Capabilities the agent never uses, whatever the configuration. Kept: DAC_OVERRIDE and DAC_READ_SEARCH (cgroup
 * and /proc files), SYS_ADMIN/PERFMON/BPF (counters, eBPF), SYS_NICE (the probe thread's priority), SYS_RESOURCE
 * (RLIMIT_NOFILE, locked memory for BPF maps), IPC_LOCK, NET_BIND_SERVICE (a listen port below 1024),
 * KILL and SYS_PTRACE when asked for. SETPCAP goes last, once the bounding set is cut. */
static const struct { int cap; const char *name; } never[] = {
	{ CAP_CHOWN, "chown" }, { CAP_FOWNER, "fowner" }, { CAP_FSETID, "fsetid" }, { CAP_SETGID, "setgid" },
	{ CAP_SETUID, "setuid" }, { CAP_LINUX_IMMUTABLE, "linux_immutable" },
	{ CAP_NET_BROADCAST, "net_broadcast" }, { CAP_NET_ADMIN, "net_admin" }, { CAP_NET_RAW, "net_raw" },
	{ CAP_IPC_OWNER, "ipc_owner" }, { CAP_SYS_MODULE, "sys_module" }, { CAP_SYS_RAWIO, "sys_rawio" },
	{ CAP_SYS_CHROOT, "sys_chroot" }, { CAP_SYS_PACCT, "sys_pacct" }, { CAP_SYS_BOOT, "sys_boot" },
	{ CAP_SYS_TIME, "sys_time" }, { CAP_SYS_TTY_CONFIG, "sys_tty_config" }, { CAP_MKNOD, "mknod" },
	{ CAP_LEASE, "lease" }, { CAP_AUDIT_WRITE, "audit_write" }, { CAP_AUDIT_CONTROL, "audit_control" },
	{ CAP_SETFCAP, "setfcap" }, { CAP_MAC_OVERRIDE, "mac_override" }, { CAP_MAC_ADMIN, "mac_admin" },
	{ CAP_SYSLOG, "syslog" }, { CAP_WAKE_ALARM, "wake_alarm" }, { CAP_BLOCK_SUSPEND, "block_suspend" },
	{ CAP_AUDIT_READ, "audit_read" }, { 40 /* CAP_CHECKPOINT_RESTORE */, "checkpoint_restore" },
};

int rw_respond_drop_privileges(bool need_kill, bool need_ptrace, char *dropped, size_t len)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int drop[64], nd = 0, o = 0;

	dropped[0] = '\0';
	memset(data, 0, sizeof data);
	for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
		drop[nd++] = never[i].cap;
	if (!need_kill)
		drop[nd++] = CAP_KILL;
	if (!need_ptrace)
		drop[nd++] = CAP_SYS_PTRACE;
	drop[nd++] = CAP_SETPCAP;

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	/* the bounding set first (it needs CAP_SETPCAP), so that nothing exec'd could get them back either */
	for (int i = 0; i < nd; i++)
		prctl(PR_CAPBSET_DROP, drop[i], 0, 0, 0); /* EINVAL for a capability this kernel lacks: fine */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int i = 0; i < nd; i++) {
		unsigned w = (unsigned)drop[i] / 32, b = 1u << ((unsigned)drop[i] % 32);
		if (w > 1)
			continue;
		if (data[w].permitted & b) {
			const char *name = drop[i] == CAP_KILL ? "kill" : drop[i] == CAP_SYS_PTRACE ? "sys_ptrace"
					   : drop[i] == CAP_SETPCAP ? "setpcap" : NULL;
			for (size_t k = 0; !name && k < sizeof never / sizeof never[0]; k++)
				if (never[k].cap == drop[i])
					name = never[k].name;
			if (o >= 0 && (size_t)o < len)
				o += snprintf(dropped + o, len - (size_t)o, "%s%s", o ? "," : "", name ? name : "?");
		}
		data[w].effective &= ~b;
		data[w].permitted &= ~b;
		data[w].inheritable &= ~b;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
