/* respond: auto-kill for batch clusters. Decide, check the safety rules, rate-limit, audit, then freeze or kill.
 *
 * Writes of cgroup.freeze and cgroup.kill go through libcgroup 2.0.2 (its "cgroup" pseudo-controller maps to the
 * first cgroup2 mount it registered) when that mount is the cgroup2 root we were given and a probe read through
 * it works; otherwise (fixture roots, a second cgroup2 mount, a v2 mount libcgroup skipped because its
 * cgroup.controllers is empty) plain writes. Reads (cgroup.events, cgroup.procs, cgroup.freeze) are always plain:
 * 2.0.2 cannot read cgroup.* values back through cgroup_get_cgroup() (notes §3.1, libcgroup issue #300).
 *
 * Everything here runs on the agent loop's thread; the waits are bounded (ACT_WAIT_MS) and only happen when acting.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libcgroup.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/log.h"
#include "rigwatch/respond.h"
#include "rigwatch/verdict.h"
#include "rigwatch/features.h"

#define NS_PER_S        1000000000ull
#define RATE_WINDOW_NS  (60ull * NS_PER_S)
#define ACT_WAIT_MS     2000u          /* longest wait for frozen 1 / populated 0 */
#define POLL_SLICE_MS   20             /* re-read cgroup.events at least this often, in case a notify is missed */
#define SUBTREE_MAX_DIRS  4096u        /* a bigger subtree is refused rather than half-checked */
#define SUBTREE_MAX_DEPTH 32
#define MAX_FAILURES_PER_EPISODE 3
#define AUDIT_LINE_MAX  8192
#define PIDS_MAX        8192u          /* processes signalled per cgroup per pass */

/* What respond remembers about one target it has acted on, or refused, in some mining episode. */
struct entry {
	uint64_t cgroup_id;
	enum rw_action_state state;
	uint64_t action_time_ns;
	uint64_t episode;       /* verdict since_ns of the episode handled last */
	bool done;              /* acted (or dry-run) in `episode`: nothing more until a new episode */
	bool noted_refused;     /* refusal audited in `episode` */
	bool noted_rate;        /* rate limit audited in `episode` */
	unsigned failures;      /* failed attempts in `episode` */
};

struct rw_respond {
	enum rw_response_mode mode;
	uint32_t min_intervals;
	int32_t min_score_q16;
	uint32_t max_per_min;
	struct rw_glob_list allow_cgroups;
	struct rw_glob_list allow_identities;
	char root[RW_CONFIG_PATH_LEN];
	char self_cg[RW_CGROUP_PATH_MAX];
	char audit_path[RW_CONFIG_PATH_LEN];
	int audit_fd;
	bool libcg;

	uint64_t *rate_ring;    /* times of the last max_per_min actions, oldest at rate_head */
	unsigned rate_n, rate_head;

	struct entry *entries;  /* sorted by cgroup_id */
	size_t n_entries, cap_entries;

	struct rw_respond_stats stats;
};

static const char *const action_names[] = { "none", "dry-run", "frozen", "killed", "failed" };

const char *rw_action_state_name(enum rw_action_state s)
{
	return (unsigned)s < sizeof action_names / sizeof action_names[0] ? action_names[s] : "?";
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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
		/* "slurm:1234" protects every step of job 1234. */
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
		    identity_protected(sc->r, rel, NULL, sc->why, sc->len, " (in the subtree)")) {
			sc->refused = true;
		} else {
			int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (cfd >= 0) /* a child that vanished meanwhile is simply gone */
				check_descendants(sc, cfd, rel, rel_len + 1 + n, depth + 1);
		}
		rel[rel_len] = '\0';
	}
	closedir(d);
}

const char *rw_respond_allowed(const struct rw_respond *r, const char *cgroup, const struct rw_identity *id,
			       char *why, size_t whylen)
{
	if (!r || !cgroup) {
		snprintf(why, whylen, "no target");
		return why;
	}
	if (!canonical_path(cgroup)) {
		snprintf(why, whylen, "not a canonical cgroup path: %s", cgroup);
		return why;
	}
	if (is_root_path(cgroup)) {
		snprintf(why, whylen, "the cgroup2 root");
		return why;
	}
	if (path_covers(cgroup, r->self_cg)) {
		if (strcmp(cgroup, r->self_cg) == 0)
			snprintf(why, whylen, "the agent's own cgroup");
		else
			snprintf(why, whylen, "an ancestor of the agent's own cgroup %s", r->self_cg);
		return why;
	}
	if (has_component(cgroup, "init.scope")) {
		snprintf(why, whylen, "init.scope");
		return why;
	}
	if (cgroup_glob_protected(r, cgroup, why, whylen, ""))
		return why;
	if (identity_protected(r, cgroup, id, why, whylen, ""))
		return why;

	/* Acting freezes or kills the whole subtree: refuse if any descendant is protected. */
	if (r->allow_cgroups.n || r->allow_identities.n) {
		char path[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX];
		char rel[RW_CGROUP_PATH_MAX];
		if (abs_path(r, path, sizeof path, cgroup, NULL) < 0) {
			snprintf(why, whylen, "path too long");
			return why;
		}
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) { /* a vanished target has no subtree to protect */
			struct subtree_check sc = { .r = r, .why = why, .len = whylen };
			snprintf(rel, sizeof rel, "%s", cgroup);
			check_descendants(&sc, dfd, rel, strlen(rel), 0);
			if (sc.refused)
				return why;
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- cgroup files */

static bool dir_exists(const struct rw_respond *r, const char *rel)
{
	char path[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX];
	struct stat st;
	return abs_path(r, path, sizeof path, rel, NULL) == 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cg_write(const struct rw_respond *r, const char *rel, const char *file, const char *value)
{
	char path[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX];
	int ret;

	if (r->libcg) {
		struct cgroup *cg = cgroup_new_cgroup(is_root_path(rel) ? "/" : rel);
		struct cgroup_controller *c = cg ? cgroup_add_controller(cg, "cgroup") : NULL;
		ret = -ENOMEM;
		if (c && cgroup_add_value_string(c, file, value) == 0) {
			int e = cgroup_modify_cgroup(cg);
			if (e == 0) {
				ret = 0;
			} else {
				int le = cgroup_get_last_errno();
				ret = le > 0 ? -le : -EIO;
				if (!dir_exists(r, rel))
					ret = -ENOENT;
			}
		}
		if (cg)
			cgroup_free(&cg);
		return ret;
	}
	if ((ret = abs_path(r, path, sizeof path, rel, file)) < 0)
		return ret;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	ret = n < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* Whole small file into buf; -ENOENT when gone. */
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
static int events_value(const char *events_path, const char *key)
{
	char buf[256];
	int ret = read_small(events_path, buf, sizeof buf);
	if (ret < 0)
		return ret;
	size_t k = strlen(key);
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, k) == 0 && line[k] == ' ')
			return atoi(line + k + 1);
	return -ENODATA;
}

/* Wait until cgroup.events says `key want`: inotify on the file (the kernel signals changes of populated and
 * frozen as modifications) with a short poll slice as a backstop. 0, RW_RESPOND_VANISHED, -ETIMEDOUT or -errno. */
static int wait_events(const struct rw_respond *r, const char *rel, const char *key, int want, unsigned timeout_ms,
		       unsigned *waited_ms)
{
	char path[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX];
	uint64_t start = mono_ms();
	int ret, ifd;

	if ((ret = abs_path(r, path, sizeof path, rel, "cgroup.events")) < 0)
		return ret;
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd >= 0 && inotify_add_watch(ifd, path, IN_MODIFY) < 0) {
		close(ifd);
		ifd = -1;
	}
	for (;;) {
		int v = events_value(path, key);
		uint64_t el = mono_ms() - start;
		if (waited_ms)
			*waited_ms = (unsigned)el;
		if (v == -ENOENT || v == -ENODEV) {
			ret = RW_RESPOND_VANISHED;
			break;
		}
		if (v == want) {
			ret = 0;
			break;
		}
		if (v < 0) {
			ret = v;
			break;
		}
		if (el >= timeout_ms) {
			ret = -ETIMEDOUT;
			break;
		}
		int slice = (int)(timeout_ms - el < POLL_SLICE_MS ? timeout_ms - el : POLL_SLICE_MS);
		if (ifd >= 0) {
			struct pollfd pfd = { .fd = ifd, .events = POLLIN };
			if (poll(&pfd, 1, slice) > 0) {
				char drain[4096];
				while (read(ifd, drain, sizeof drain) > 0)
					;
			}
		} else {
			struct timespec ts = { 0, (long)slice * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	if (ifd >= 0)
		close(ifd);
	return ret;
}

int rw_respond_freeze(struct rw_respond *r, const char *cgroup, char *detail, size_t len)
{
	unsigned waited = 0;
	int ret;

	if (!dir_exists(r, cgroup)) {
		snprintf(detail, len, "cgroup gone");
		return RW_RESPOND_VANISHED;
	}
	ret = cg_write(r, cgroup, "cgroup.freeze", "1");
	if (ret < 0) {
		if (!dir_exists(r, cgroup)) {
			snprintf(detail, len, "cgroup gone");
			return RW_RESPOND_VANISHED;
		}
		snprintf(detail, len, "writing cgroup.freeze%s: %s", r->libcg ? " (libcgroup)" : "", strerror(-ret));
		return ret;
	}
	ret = wait_events(r, cgroup, "frozen", 1, ACT_WAIT_MS, &waited);
	if (ret == 0)
		snprintf(detail, len, "cgroup.freeze=1%s; frozen 1 after %u ms", r->libcg ? " (libcgroup)" : "", waited);
	else if (ret == RW_RESPOND_VANISHED)
		snprintf(detail, len, "cgroup gone while freezing");
	else
		snprintf(detail, len, "cgroup.freeze=1 written but not frozen after %u ms: %s", waited, strerror(-ret));
	return ret;
}

int rw_respond_thaw(struct rw_respond *r, const char *cgroup, char *detail, size_t len)
{
	unsigned waited = 0;
	int ret = cg_write(r, cgroup, "cgroup.freeze", "0");
	if (ret < 0) {
		if (!dir_exists(r, cgroup)) {
			snprintf(detail, len, "cgroup gone");
			return RW_RESPOND_VANISHED;
		}
		snprintf(detail, len, "writing cgroup.freeze: %s", strerror(-ret));
		return ret;
	}
	ret = wait_events(r, cgroup, "frozen", 0, ACT_WAIT_MS, &waited);
	snprintf(detail, len, ret == 0 ? "thawed after %u ms" : "thaw: not thawed after %u ms", waited);
	return ret;
}

/* Read a cgroup.procs file into pids[]; returns how many (at most max) or a negative errno. */
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

int rw_respond_kill(struct rw_respond *r, const char *cgroup, enum rw_kill_method how, char *detail, size_t len)
{
	char path[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX];
	uint64_t start = mono_ms();
	unsigned waited = 0, sent = 0, passes = 0;
	bool used_kill_file = false;
	int ret;

	if ((ret = abs_path(r, path, sizeof path, cgroup, "cgroup.kill")) < 0)
		return ret;
	if (!dir_exists(r, cgroup)) {
		snprintf(detail, len, "cgroup gone");
		return RW_RESPOND_VANISHED;
	}
	if (how == RW_KILL_AUTO && access(path, F_OK) == 0) {
		ret = cg_write(r, cgroup, "cgroup.kill", "1");
		if (ret == 0) {
			used_kill_file = true;
			ret = wait_events(r, cgroup, "populated", 0, ACT_WAIT_MS, &waited);
			if (ret == 0 || ret == RW_RESPOND_VANISHED) {
				snprintf(detail, len, "cgroup.kill%s; empty after %u ms",
					 r->libcg ? " (libcgroup)" : "", waited);
				return ret;
			}
		} else if (!dir_exists(r, cgroup)) {
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
	abs_path(r, path, sizeof path, cgroup, NULL);
	for (;;) {
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			ret = RW_RESPOND_VANISHED;
			break;
		}
		sent += signal_subtree(dfd, a, b, 0);
		close(dfd);
		passes++;
		unsigned el = (unsigned)(mono_ms() - start);
		unsigned left = el >= ACT_WAIT_MS ? 0 : ACT_WAIT_MS - el;
		ret = wait_events(r, cgroup, "populated", 0, left < 50 ? left : 50, NULL);
		if (ret != -ETIMEDOUT || left == 0)
			break;
	}
	free(a);
	free(b);
	waited = (unsigned)(mono_ms() - start);
	if (ret == 0 || ret == RW_RESPOND_VANISHED)
		snprintf(detail, len, "%sSIGKILL to %u processes in %u passes; %s after %u ms",
			 used_kill_file ? "cgroup.kill, then " : "", sent, passes,
			 ret == 0 ? "empty" : "cgroup gone", waited);
	else
		snprintf(detail, len, "%sSIGKILL to %u processes in %u passes; still populated after %u ms: %s",
			 used_kill_file ? "cgroup.kill, then " : "", sent, passes, waited, strerror(-ret));
	return ret;
}

/* ---------------------------------------------------------------- audit log */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_raw(struct sbuf *s, const char *t, size_t n)
{
	if (s->len + n >= s->cap)
		n = s->len + 1 < s->cap ? s->cap - s->len - 1 : 0;
	memcpy(s->p + s->len, t, n);
	s->len += n;
	s->p[s->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void sb_fmt(struct sbuf *s, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_raw(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void sb_str(struct sbuf *s, const char *t)
{
	sb_raw(s, "\"", 1);
	for (const unsigned char *c = (const unsigned char *)t; *c; c++) {
		if (*c == '"' || *c == '\\') {
			char e[2] = { '\\', (char)*c };
			sb_raw(s, e, 2);
		} else if (*c < 0x20) {
			sb_fmt(s, "\\u%04x", *c);
		} else {
			sb_raw(s, (const char *)c, 1);
		}
	}
	sb_raw(s, "\"", 1);
}

static void sb_kv(struct sbuf *s, bool *first, const char *k, const char *v)
{
	if (!v[0])
		return;
	sb_fmt(s, "%s\"%s\":", *first ? "" : ",", k);
	sb_str(s, v);
	*first = false;
}

static void sb_time(struct sbuf *s, uint64_t ns)
{
	time_t sec = (time_t)(ns / NS_PER_S);
	struct tm tm;
	char buf[40];
	gmtime_r(&sec, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	sb_fmt(s, "\"%s.%03uZ\"", buf, (unsigned)(ns % NS_PER_S / 1000000u));
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
		 const char *result, const char *detail)
{
	char line[AUDIT_LINE_MAX], q[32];
	struct sbuf s = { line, 0, sizeof line };
	const struct rw_identity *id = &t->sample.identity;
	const struct rw_verdict_state *v = &t->verdict;
	bool first = true;

	if (r->audit_fd < 0)
		return -EBADF;
	line[0] = '\0';
	sb_raw(&s, "{\"time\":", 8);
	sb_time(&s, now_ns);
	sb_raw(&s, ",\"target\":{\"cgroup\":", 20);
	sb_str(&s, t->sample.cgroup);
	sb_fmt(&s, ",\"cgroup_id\":%llu},\"identity\":{", (unsigned long long)t->sample.cgroup_id);
	sb_kv(&s, &first, "kind", rw_workload_kind_name(id->kind));
	sb_kv(&s, &first, "runtime", id->runtime);
	sb_kv(&s, &first, "id", id->id);
	sb_kv(&s, &first, "name", id->name);
	sb_kv(&s, &first, "pod_uid", id->pod_uid);
	sb_kv(&s, &first, "slurm_job", id->slurm_job);
	sb_kv(&s, &first, "unit", id->unit);
	rw_format_q16(v->score_q16, q, sizeof q);
	sb_fmt(&s, "},\"evidence\":{\"score\":%s,\"verdict\":\"%s\",\"intervals\":%u,\"since\":", q,
	       rw_verdict_name(v->verdict), v->intervals_in_verdict);
	sb_time(&s, v->since_ns);
	sb_raw(&s, ",\"sources\":[", 12);
	first = true;
	for (unsigned i = 0; i < RW_SRC_COUNT; i++) {
		if (v->sources_used & RW_SRC_BIT(i)) {
			sb_fmt(&s, "%s\"%s\"", first ? "" : ",", rw_source_name(i));
			first = false;
		}
	}
	sb_raw(&s, "],\"reasons\":[", 13);
	for (unsigned i = 0; i < v->n_reasons && i < RW_REASONS_MAX; i++) {
		const struct rw_reason *re = &v->reasons[i];
		rw_format_q16(re->value_q16, q, sizeof q);
		sb_fmt(&s, "%s{\"source\":\"%s\",\"feature\":", i ? "," : "", rw_source_name(re->source));
		sb_str(&s, re->feature);
		sb_fmt(&s, ",\"value\":%s,\"detail\":", q);
		sb_str(&s, re->detail);
		sb_raw(&s, "}", 1);
	}
	sb_fmt(&s, "]},\"mode\":\"%s\",\"action\":", rw_response_mode_name(r->mode));
	sb_str(&s, action);
	sb_raw(&s, ",\"result\":", 10);
	sb_str(&s, result);
	sb_raw(&s, ",\"detail\":", 10);
	sb_str(&s, detail ? detail : "");
	/* a truncated line would not be JSON: cut it to a closed, minimal one */
	if (s.len + 3 >= s.cap) {
		s.len = 0;
		sb_raw(&s, "{\"time\":", 8);
		sb_time(&s, now_ns);
		sb_fmt(&s, ",\"target\":{\"cgroup_id\":%llu},\"action\":", (unsigned long long)t->sample.cgroup_id);
		sb_str(&s, action);
		sb_raw(&s, ",\"result\":", 10);
		sb_str(&s, result);
		sb_raw(&s, ",\"detail\":\"line too long\"", 26);
	}
	sb_raw(&s, "}\n", 2);

	int ret = write_all(r->audit_fd, line, s.len);
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
	return e;
}

void rw_respond_forget(struct rw_respond *r, uint64_t cgroup_id)
{
	size_t pos;
	if (!r || !find_entry(r, cgroup_id, &pos))
		return;
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

/* cgroup.freeze of a target we froze: 1 still frozen, 0 thawed by someone, negative when unreadable/gone. */
static int freeze_file(const struct rw_respond *r, const char *rel)
{
	char path[RW_CONFIG_PATH_LEN + RW_CGROUP_PATH_MAX], buf[16];
	int ret;
	if ((ret = abs_path(r, path, sizeof path, rel, "cgroup.freeze")) < 0 ||
	    (ret = read_small(path, buf, sizeof buf)) < 0)
		return ret;
	return buf[0] == '1';
}

static bool qualifies(const struct rw_respond *r, const struct rw_verdict_state *v)
{
	return v->verdict == RW_VERDICT_MINING && v->intervals_in_verdict >= r->min_intervals &&
	       v->score_q16 >= r->min_score_q16;
}

int rw_respond_consider(struct rw_respond *r, struct rw_report_target *t, uint64_t now_ns)
{
	const char *cg, *act_name;
	char why[512], detail[512], detail2[512];
	struct entry *e;
	int ret;

	if (!r || !t)
		return -EINVAL;
	t->action = RW_ACTION_NONE;
	t->action_time_ns = 0;
	if (r->mode == RW_RESPONSE_OFF)
		return 0;
	cg = t->sample.cgroup;

	e = find_entry(r, t->sample.cgroup_id, NULL);
	if (e && e->state == RW_ACTION_FROZEN && freeze_file(r, cg) == 0) {
		rw_log_info("respond", "%s was thawed by someone else; left alone until it enters mining anew", cg);
		e->state = RW_ACTION_NONE;
		e->action_time_ns = 0;
	}
	if (e) {
		t->action = e->state;
		t->action_time_ns = e->action_time_ns;
	}
	if (!qualifies(r, &t->verdict))
		return 0;
	if (e && e->episode == t->verdict.since_ns &&
	    (e->done || (e->state == RW_ACTION_FAILED && e->failures >= MAX_FAILURES_PER_EPISODE)))
		return 0;
	if (!e && !(e = add_entry(r, t->sample.cgroup_id)))
		return 0; /* out of memory: do nothing, which is the safe side */
	if (e->episode != t->verdict.since_ns) {
		e->episode = t->verdict.since_ns;
		e->done = e->noted_refused = e->noted_rate = false;
		e->failures = 0;
	}
	act_name = r->mode == RW_RESPONSE_DRY_RUN ? "dry-run" : r->mode == RW_RESPONSE_FREEZE ? "freeze" : "kill";

	if (rw_respond_allowed(r, cg, &t->sample.identity, why, sizeof why)) {
		if (!e->noted_refused) {
			e->noted_refused = true;
			r->stats.refused++;
			rw_log_warn("respond", "not acting on %s (mining, score %d/65536): %s", cg, t->verdict.score_q16,
				    why);
			audit(r, t, now_ns, act_name, "refused", why);
		}
		return 0;
	}
	if (!rate_ok(r, now_ns)) {
		if (!e->noted_rate) {
			e->noted_rate = true;
			r->stats.rate_limited++;
			if (r->max_per_min)
				snprintf(why, sizeof why, "rate limit: %u actions in the last 60 s", r->max_per_min);
			else
				snprintf(why, sizeof why, "rate limit: max_actions_per_min is 0");
			rw_log_warn("respond", "not acting on %s yet: %s", cg, why);
			audit(r, t, now_ns, act_name, "rate_limited", why);
		}
		return 0;
	}
	rate_record(r, now_ns);

	if (r->mode == RW_RESPONSE_DRY_RUN) {
		audit(r, t, now_ns, act_name, "ok", "dry-run: no change made; freeze or kill mode would act now");
		rw_log_warn("respond", "dry-run: would act on %s", cg);
		r->stats.dry_runs++;
		e->done = true;
		e->state = RW_ACTION_DRY_RUN;
		goto out;
	}

	if (audit(r, t, now_ns, act_name, "pending", "") < 0) {
		/* no record, no action */
		snprintf(detail, sizeof detail, "audit log not writable");
		ret = -EIO;
		goto failed;
	}
	rw_log_warn("respond", "%s %s (%s, score %d/65536, %u intervals)", act_name, cg,
		    rw_verdict_name(t->verdict.verdict), t->verdict.score_q16, t->verdict.intervals_in_verdict);
	if (r->mode == RW_RESPONSE_FREEZE) {
		ret = rw_respond_freeze(r, cg, detail, sizeof detail);
	} else {
		/* freeze first so nothing forks away between reading cgroup.procs and the kill */
		ret = rw_respond_freeze(r, cg, detail2, sizeof detail2);
		if (ret != RW_RESPOND_VANISHED) {
			int kret = rw_respond_kill(r, cg, RW_KILL_AUTO, detail, sizeof detail);
			char tail[1200];
			snprintf(tail, sizeof tail, "%s; %s", detail2, detail);
			size_t tn = strlen(tail) < sizeof detail - 1 ? strlen(tail) : sizeof detail - 1;
			memcpy(detail, tail, tn);
			detail[tn] = '\0';
			ret = kret;
			if (ret == 0) {
				/* leave the empty cgroup usable for whoever owns it (a frozen cgroup would freeze
				 * anything its owner puts back in) */
				rw_respond_thaw(r, cg, detail2, sizeof detail2);
			}
		} else {
			snprintf(detail, sizeof detail, "%s", detail2);
		}
	}
	if (ret < 0)
		goto failed;
	audit(r, t, now_ns, act_name, ret == RW_RESPOND_VANISHED ? "vanished" : "ok", detail);
	e->done = true;
	e->state = r->mode == RW_RESPONSE_FREEZE ? RW_ACTION_FROZEN : RW_ACTION_KILLED;
	if (r->mode == RW_RESPONSE_FREEZE)
		r->stats.freezes++;
	else
		r->stats.kills++;
	rw_log_warn("respond", "%s %s: %s", act_name, cg, detail);
	goto out;

failed:
	audit(r, t, now_ns, act_name, "failed", detail);
	rw_log_error("respond", "%s %s failed: %s", act_name, cg, detail);
	r->stats.failures++;
	e->failures++;
	e->state = RW_ACTION_FAILED;
out:
	e->action_time_ns = now_ns;
	t->action = e->state;
	t->action_time_ns = now_ns;
	return 0;
}

/* ---------------------------------------------------------------- open / close */

/* The agent's own cgroup: the "0::" line of /proc/self/cgroup. */
static int read_self_cgroup(const char *proc_root, char *out, size_t len, char *err, size_t errlen)
{
	char path[RW_CONFIG_PATH_LEN + 32], buf[4096];
	int ret;

	snprintf(path, sizeof path, "%s/self/cgroup", proc_root[0] ? proc_root : "/proc");
	if ((ret = read_small(path, buf, sizeof buf)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line - 3) : strlen(line + 3);
		if (n >= len) {
			snprintf(err, errlen, "%s: cgroup path too long", path);
			return -ENAMETOOLONG;
		}
		memcpy(out, line + 3, n);
		out[n] = '\0';
		char *del = strstr(out, " (deleted)");
		if (del)
			*del = '\0';
		if (out[0] == '\0')
			snprintf(out, len, "/");
		return 0;
	}
	snprintf(err, errlen, "%s: no cgroup2 (\"0::\") line", path);
	return -ENOENT;
}

/* libcgroup only when its cgroup2 mount is our root and its "cgroup" pseudo-controller resolves there. */
static bool libcgroup_fits(const char *root)
{
	char want[PATH_MAX], have[PATH_MAX], line[1024], buf[256];
	void *h = NULL;
	FILE *f;
	bool ok = false;

	if (!realpath(root, want) || cgroup_init() != 0)
		return false;
	/* cgroup_init() registers the first cgroup2 mount of /proc/mounts (2.0.2, src/api.c) */
	if (!(f = fopen("/proc/mounts", "re")))
		return false;
	while (fgets(line, sizeof line, f)) {
		char dev[256], mnt[512], type[64];
		if (sscanf(line, "%255s %511s %63s", dev, mnt, type) == 3 && strcmp(type, "cgroup2") == 0) {
			ok = realpath(mnt, have) && strcmp(have, want) == 0;
			break;
		}
	}
	fclose(f);
	if (!ok)
		return false;
	int e = cgroup_read_value_begin("cgroup", "/", "cgroup.controllers", &h, buf, sizeof buf);
	if (h)
		cgroup_read_value_end(&h);
	return e == 0 || e == ECGEOF;
}

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
	snprintf(r->root, sizeof r->root, "%s", cgroup2_root);
	for (size_t n = strlen(r->root); n > 1 && r->root[n - 1] == '/'; n--)
		r->root[n - 1] = '\0';
	snprintf(r->audit_path, sizeof r->audit_path, "%s", cfg->audit_log);

	ret = read_self_cgroup(cfg->proc_root, r->self_cg, sizeof r->self_cg, err, errlen);
	if (r->mode == RW_RESPONSE_OFF) {
		/* nothing will be touched: no audit log, and not knowing our own cgroup does not matter */
		*out = r;
		return 0;
	}
	if (ret < 0)
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
	r->libcg = libcgroup_fits(r->root);
	rw_log_info("respond", "mode %s, own cgroup %s, audit log %s, cgroup writes via %s",
		    rw_response_mode_name(r->mode), r->self_cg, r->audit_path, r->libcg ? "libcgroup" : "plain writes");
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
	free(r->rate_ring);
	free(r->entries);
	free(r);
}

void rw_respond_get_stats(const struct rw_respond *r, struct rw_respond_stats *out)
{
	memset(out, 0, sizeof *out);
	if (r)
		*out = r->stats;
}

const char *rw_respond_self_cgroup(const struct rw_respond *r)
{
	return r->self_cg[0] ? r->self_cg : "/";
}

bool rw_respond_uses_libcgroup(const struct rw_respond *r)
{
	return r->libcg;
}
