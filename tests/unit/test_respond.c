/* respond: the safety rules table-tested (protected set, unprotect, own cgroup by inode, in and out of a cgroup
 * namespace), what qualifies, gating and the rate limit with a fake clock, and real freeze/kill on real child
 * cgroups under the cgroup2 mount with real processes: idle, busy, and busy switching the FP rounding mode the way
 * RandomX does, read back by the real ptrace re-check. Needs root and cgroup2. */
#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <sched.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/cgroups.h"
#include "rigwatch/config.h"
#include "rigwatch/respond.h"
#include "rigwatch/targets.h"
#include "rw_test.h"

#define S 1000000000ull
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char cg2[512];        /* cgroup2 mount */
static char base_rel[128];   /* "/rwrespond.<pid>": our private parent cgroup */
static char audit_path[256];

static int find_cg2(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[2048];
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		char *dash = strstr(line, " - ");
		char mnt[512];
		if (dash && strncmp(dash + 3, "cgroup2 ", 8) == 0 && sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
			snprintf(cg2, sizeof cg2, "%s", mnt);
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -1;
}

static bool have_cgroups(void)
{
	if (geteuid() != 0 || (!cg2[0] && find_cg2() < 0)) {
		rw_test_skip("needs root and a cgroup2 mount");
		return false;
	}
	return true;
}

static void abs_of(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s%s", cg2, rel);
}

static int mkcg(const char *rel)
{
	char p[1024];
	abs_of(p, sizeof p, rel);
	return mkdir(p, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

static void rmcg(const char *rel)
{
	char p[1024];
	abs_of(p, sizeof p, rel);
	rmdir(p);
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n < 0 ? -1 : 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int cg_file(const char *rel, const char *file, char *buf, size_t len)
{
	char p[1024];
	snprintf(p, sizeof p, "%s%s/%s", cg2, rel, file);
	return read_file(p, buf, len);
}

static bool events_has(const char *rel, const char *what)
{
	char buf[256];
	return cg_file(rel, "cgroup.events", buf, sizeof buf) == 0 && strstr(buf, what) != NULL;
}

/* How long a test waits for the kernel to settle a cgroup (frozen, emptied, thawed) or for a child to be reaped:
 * a bound for valgrind on a busy 2-core machine, not an expectation. A state that already holds returns at once. */
#define SETTLE_MS 60000

/* events_has, polled for up to ms: the kernel reports freezing per cgroup, asynchronously. */
static bool events_wait(const char *rel, const char *what, int ms)
{
	for (int i = 0; i < ms / 5; i++) {
		if (events_has(rel, what))
			return true;
		usleep(5000);
	}
	return events_has(rel, what);
}

enum kind { IDLE = 0, BUSY = 1, FPSWITCH = 2 };

/* Busy, switching the SSE rounding mode among all four the way RandomX's CFROUND does, with FP work between. */
static void fp_switcher(void)
{
	static const int modes[] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
	volatile double x = 1.0;
	for (unsigned i = 0;; i++) {
		fesetround(modes[(i >> 4) & 3]);
		for (int k = 0; k < 2000; k++)
			x = x * 1.0000001 + 1e-9;
	}
}

/* A process's real uid from /proc, or -1. */
static long uid_of(pid_t pid)
{
	struct rw_proc_info pi = { 0 };
	return rw_test_proc_status(pid, &pi) == 0 ? (long)pi.uid : -1;
}

/* Start a child in cgroup rel (NULL: stays where we are), as uid (0: root): idle (pause), busy (spins) or
 * FPSWITCH; returns once it runs as that uid and is listed in cgroup.procs. */
static pid_t spawn_as(const char *rel, enum kind kind, uid_t uid)
{
	char p[1024], buf[4096], me[32];
	pid_t pid = fork();
	if (pid == 0) {
		rw_test_child_detach();
		snprintf(p, sizeof p, "%s%s/cgroup.procs", cg2, rel ? rel : "");
		snprintf(me, sizeof me, "%d", getpid());
		if (rel && write_file(p, me) < 0)
			_exit(3);
		if (uid && (setgid(uid) < 0 || setuid(uid) < 0))
			_exit(4);
		if (kind == FPSWITCH)
			fp_switcher();
		if (kind == BUSY)
			for (volatile unsigned long i = 0;; i++)
				;
		for (;;)
			pause();
	}
	for (int i = 0; uid && i < SETTLE_MS / 5 && uid_of(pid) != (long)uid; i++)
		usleep(5000);
	if (!rel)
		return pid;
	snprintf(me, sizeof me, "%d\n", pid);
	for (int i = 0; i < SETTLE_MS / 5; i++) {
		if (cg_file(rel, "cgroup.procs", buf, sizeof buf) == 0 && strstr(buf, me))
			break;
		usleep(5000);
	}
	return pid;
}

static pid_t spawn_in(const char *rel, bool busy)
{
	return spawn_as(rel, busy ? BUSY : IDLE, 0);
}

/* Reaped with SIGKILL (true), or still alive / other end (false). Waits up to SETTLE_MS. */
static bool died_by_sigkill(pid_t pid)
{
	int st;
	for (int i = 0; i < SETTLE_MS / 5; i++) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
		usleep(5000);
	}
	return false;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void config_for(struct rw_config *c, enum rw_response_mode mode)
{
	rw_config_defaults(c);
	c->response = mode;
	c->response_min_intervals = 3;
	c->response_min_score_q16 = 65536 * 9 / 10;
	c->response_max_actions_per_min = 100;
	snprintf(audit_path, sizeof audit_path, "/tmp/rwrespond-audit.%d.jsonl", getpid());
	snprintf(c->audit_log, sizeof c->audit_log, "%s", audit_path);
	unlink(audit_path);
}

static void add_glob(struct rw_glob_list *l, const char *g)
{
	snprintf(l->items[l->n++], RW_CONFIG_GLOB_LEN, "%s", g);
}

static struct rw_respond *open_ok(const struct rw_config *c, const char *root)
{
	struct rw_respond *r = NULL;
	char err[256] = "";
	int ret = rw_respond_open(&r, c, root, err, sizeof err);
	if (ret)
		printf("  open: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	return r;
}

/* Audit lines holding s1 and s2 (either NULL: any), leaving out those holding `except` (NULL: none). */
static int audit_count_except(const char *s1, const char *s2, const char *except)
{
	FILE *f = fopen(audit_path, "r");
	char line[8192];
	int n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		CU_ASSERT(line[0] == '{' && strstr(line, "}\n") != NULL);
		if ((!s1 || strstr(line, s1)) && (!s2 || strstr(line, s2)) && (!except || !strstr(line, except)))
			n++;
	}
	fclose(f);
	return n;
}

static int audit_count(const char *s1, const char *s2)
{
	return audit_count_except(s1, s2, NULL);
}

static void target_init(struct rw_report_target *t, uint64_t id, const char *cg, enum rw_verdict v, int32_t score,
			uint32_t intervals, uint64_t since)
{
	memset(t, 0, sizeof *t);
	t->sample.cgroup_id = id;
	snprintf(t->sample.cgroup, sizeof t->sample.cgroup, "%s", cg);
	rw_identity_from_path(cg, &t->sample.identity);
	t->verdict.verdict = v;
	t->verdict.score_q16 = score;
	t->verdict.intervals_in_verdict = intervals;
	t->verdict.since_ns = since;
	t->verdict.sources_used = RW_SRC_BIT(RW_SRC_FPPROBE) | RW_SRC_BIT(RW_SRC_CGROUP);
	t->verdict.n_reasons = 1;
	t->verdict.reasons[0].source = RW_SRC_FPPROBE;
	snprintf(t->verdict.reasons[0].feature, sizeof t->verdict.reasons[0].feature, "fp_rounding_modes");
	t->verdict.reasons[0].value_q16 = 4 << 16;
	snprintf(t->verdict.reasons[0].detail, sizeof t->verdict.reasons[0].detail, "4 \"distinct\" modes in 1 s");
	/* the interval's behavioural evidence: one core, three non-default rounding modes on one thread */
	t->sample.interval_us = 1000000;
	t->sample.cpu_usec = 1000000;
	t->sample.fp.path = RW_FP_PATH_PTRACE;
	t->sample.fp.probes = 16;
	t->sample.fp.threads = 1;
	t->sample.fp.modes_union = 0xf;
	t->sample.fp.max_thread_modes = 4;
	t->sample.fp.max_thread_nondefault = 3;
}

static bool is_root(const char *rel)
{
	return rel[0] == '\0' || strcmp(rel, "/") == 0;
}

/* A cgroup's id: the inode of its directory. */
static uint64_t cg_ino(const char *rel)
{
	char p[1024];
	struct stat st;
	abs_of(p, sizeof p, rel);
	return stat(p, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static void move_self(const char *rel)
{
	char p[1024], pid[32];
	snprintf(p, sizeof p, "%s%s/cgroup.procs", cg2, is_root(rel) ? "" : rel);
	snprintf(pid, sizeof pid, "%d", getpid());
	CU_ASSERT_EQUAL(write_file(p, pid), 0);
}

/* ---------------------------------------------------------------- tests */

static void test_action_names(void)
{
	CU_ASSERT_STRING_EQUAL(rw_action_state_name(RW_ACTION_NONE), "none");
	CU_ASSERT_STRING_EQUAL(rw_action_state_name(RW_ACTION_DRY_RUN), "dry-run");
	CU_ASSERT_STRING_EQUAL(rw_action_state_name(RW_ACTION_FROZEN), "frozen");
	CU_ASSERT_STRING_EQUAL(rw_action_state_name(RW_ACTION_KILLED), "killed");
	CU_ASSERT_STRING_EQUAL(rw_action_state_name(RW_ACTION_FAILED), "failed");
}

/* Root, the agent's own cgroup and every ancestor, init.scope, non-canonical paths: run from a real nested
 * cgroup, so "own cgroup" is what /proc/self/cgroup says. */
static void test_rules_self_root_init(void)
{
	if (!have_cgroups())
		return;
	char self_rel[256], orig[512] = "/", buf[1024], p[2048], pid[32];
	struct rw_config c;
	read_file("/proc/self/cgroup", buf, sizeof buf);
	char *l = strstr(buf, "0::");
	if (l) {
		sscanf(l + 3, "%511s", orig);
	}
	snprintf(self_rel, sizeof self_rel, "%s/agent", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(self_rel), 0);
	snprintf(self_rel, sizeof self_rel, "%s/agent/inner", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(self_rel), 0);
	snprintf(p, sizeof p, "%s%s/cgroup.procs", cg2, self_rel);
	snprintf(pid, sizeof pid, "%d", getpid());
	CU_ASSERT_EQUAL_FATAL(write_file(p, pid), 0);

	config_for(&c, RW_RESPONSE_DRY_RUN);
	struct rw_respond *r = open_ok(&c, cg2);
	CU_ASSERT_STRING_EQUAL(rw_respond_self_cgroup(r), self_rel);

	char why[512], a[256];
	struct { const char *path; bool refused; const char *why_has; } table[] = {
		{ "/", true, "root" },
		{ "", true, "root" },
		{ "/init.scope", true, "init.scope" },
		{ "/system.slice/foo.service/init.scope", true, "init.scope" },
		{ "/x/init.scope/y", true, "init.scope" },
		{ "/x/init.scopey", false, NULL },
		{ "/x/myinit.scope", false, NULL },
		{ "relative/path", true, "canonical" },
		{ "/a/../b", true, "canonical" },
		{ "/a/./b", true, "canonical" },
		{ "/a//b", true, "canonical" },
		{ "/a/b/", true, "canonical" },
		{ "/system.slice/docker-" HEX64 ".scope", false, NULL },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		const char *res = rw_respond_allowed(r, table[i].path, 0, NULL, why, sizeof why) < 0 ? why : NULL;
		if ((res != NULL) != table[i].refused)
			printf("  rule mismatch for '%s': %s\n", table[i].path, res ? res : "allowed");
		CU_ASSERT_EQUAL(res != NULL, table[i].refused);
		if (res && table[i].why_has)
			CU_ASSERT_PTR_NOT_NULL(strstr(res, table[i].why_has));
	}
	/* own cgroup and each ancestor, up to the root */
	CU_ASSERT_EQUAL(rw_respond_allowed(r, self_rel, 0, NULL, why, sizeof why), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "own cgroup"));
	snprintf(a, sizeof a, "%s/agent", base_rel);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, a, 0, NULL, why, sizeof why), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ancestor"));
	CU_ASSERT_EQUAL(rw_respond_allowed(r, base_rel, 0, NULL, why, sizeof why), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ancestor"));
	/* by inode: a path that does not say so is still the agent's cgroup or an ancestor */
	CU_ASSERT_EQUAL(rw_respond_allowed(r, "/elsewhere", cg_ino(self_rel), NULL, why, sizeof why), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "own cgroup"));
	CU_ASSERT_EQUAL(rw_respond_allowed(r, "/elsewhere", cg_ino(base_rel), NULL, why, sizeof why), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "ancestor"));
	CU_ASSERT_EQUAL(rw_respond_allowed(r, "/elsewhere", cg_ino(self_rel) + 999999, NULL, why, sizeof why), 0);
	/* siblings and name prefixes are not ancestors */
	snprintf(a, sizeof a, "%s/agentx", base_rel);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, a, 0, NULL, why, sizeof why), 0);
	snprintf(a, sizeof a, "%s/agent/inner2", base_rel);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, a, 0, NULL, why, sizeof why), 0);
	snprintf(a, sizeof a, "%s/other", base_rel);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, a, 0, NULL, why, sizeof why), 0);
	rw_respond_close(r);

	/* back where we came from */
	snprintf(p, sizeof p, "%s%s/cgroup.procs", cg2, strcmp(orig, "/") == 0 ? "" : orig);
	CU_ASSERT_EQUAL(write_file(p, pid), 0);
	rmcg(self_rel);
	snprintf(a, sizeof a, "%s/agent", base_rel);
	rmcg(a);
	unlink(audit_path);
}

static void test_rules_allow_lists(void)
{
	if (!have_cgroups())
		return;
	struct rw_config c;
	config_for(&c, RW_RESPONSE_DRY_RUN);
	add_glob(&c.allow_cgroups, "/batch.slice/*");
	add_glob(&c.allow_cgroups, "kube/pod-*");
	add_glob(&c.allow_cgroups, "/protected");
	add_glob(&c.allow_identities, "docker:" HEX64);
	add_glob(&c.allow_identities, "containerd:abc*");
	add_glob(&c.allow_identities, "podman:fedcba987654");  /* short id, no glob: a prefix */
	add_glob(&c.allow_identities, "pod:1111-2222");
	add_glob(&c.allow_identities, "slurm:1234");
	add_glob(&c.allow_identities, "unit:nginx.service");
	add_glob(&c.allow_identities, "unit:ci-*.scope");
	add_glob(&c.allow_identities, "lxc:build*");
	struct rw_respond *r = open_ok(&c, cg2);
	char why[512];

	struct { const char *path; bool refused; const char *why_has; } paths[] = {
		{ "/batch.slice/job1", true, "allow_cgroup /batch.slice/*" },
		{ "/batch.slice/job1/step0", true, "allow_cgroup" },
		{ "/batch.slicex/job1", false, NULL },
		{ "/kube/pod-abc/c1", true, "allow_cgroup kube/pod-*" },
		{ "/protected", true, "allow_cgroup /protected" },
		{ "/protected/child/grandchild", true, "matches /protected" }, /* ancestor match protects the subtree */
		{ "/protectedx", false, NULL },
		/* identity read off the path when none is given */
		{ "/system.slice/docker-" HEX64 ".scope", true, "allow_identity docker:" },
		{ "/system.slice/docker-" HEX64 ".scope/sub", true, "allow_identity docker:" },
		{ "/system.slice/nginx.service", true, "unit:nginx.service" },
		{ "/system.slice/nginx.service/worker", true, "unit:nginx.service" },
		{ "/system.slice/apache.service", true, "systemd service apache.service" }, /* built in */
		{ "/user.slice/ci-42.scope", true, "unit:ci-*.scope" },
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		const char *res = rw_respond_allowed(r, paths[i].path, 0, NULL, why, sizeof why) < 0 ? why : NULL;
		if ((res != NULL) != paths[i].refused)
			printf("  allow mismatch for '%s': %s\n", paths[i].path, res ? res : "allowed");
		CU_ASSERT_EQUAL(res != NULL, paths[i].refused);
		if (res && paths[i].why_has)
			CU_ASSERT_PTR_NOT_NULL(strstr(res, paths[i].why_has));
	}

	/* identities as the agent hands them over, one per kind, with near misses */
	struct { const char *runtime, *id, *name, *pod, *job, *unit; bool refused; } ids[] = {
		{ "docker", HEX64, "", "", "", "", true },
		{ "containerd", HEX64, "", "", "", "", false },          /* same hex, other runtime */
		{ "containerd", "abc123def", "", "", "", "", true }, /* glob */
		{ "podman", "fedcba9876543210aaaa", "", "", "", "", true },
		{ "podman", "fedcba9876553210aaaa", "", "", "", "", false },
		{ "containerd", "ffff0000", "", "1111-2222", "", "", true },
		{ "containerd", "ffff0000", "", "1111-2223", "", "", false },
		{ "slurm", "", "", "", "1234", "", true },
		{ "slurm", "", "", "", "1234/step_0", "", true },
		{ "slurm", "", "", "", "12345/step_0", "", false },
		{ "systemd", "", "", "", "", "nginx.service", true },
		{ "systemd", "", "", "", "", "nginx2.service", false },
		{ "lxc", "build7", "build7", "", "", "", true },
		{ "lxc", "web", "web", "", "", "", false },
	};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		struct rw_identity id;
		memset(&id, 0, sizeof id);
		id.kind = RW_KIND_CONTAINER;
		snprintf(id.runtime, sizeof id.runtime, "%s", ids[i].runtime);
		snprintf(id.id, sizeof id.id, "%s", ids[i].id);
		snprintf(id.name, sizeof id.name, "%s", ids[i].name);
		snprintf(id.pod_uid, sizeof id.pod_uid, "%s", ids[i].pod);
		snprintf(id.slurm_job, sizeof id.slurm_job, "%s", ids[i].job);
		snprintf(id.unit, sizeof id.unit, "%s", ids[i].unit);
		const char *res = rw_respond_allowed(r, "/some/workload", 0, &id, why, sizeof why) < 0 ? why : NULL;
		if ((res != NULL) != ids[i].refused)
			printf("  identity mismatch #%zu %s:%s: %s\n", i, ids[i].runtime, ids[i].id,
			       res ? res : "allowed");
		CU_ASSERT_EQUAL(res != NULL, ids[i].refused);
	}
	rw_respond_close(r);

	/* a protected cgroup below the target protects the target: acting would hit the whole subtree */
	config_for(&c, RW_RESPONSE_DRY_RUN);
	add_glob(&c.allow_cgroups, "*/parent/keepme");
	add_glob(&c.allow_identities, "unit:precious.service");
	r = open_ok(&c, cg2);
	char a[256], b[256];
	snprintf(a, sizeof a, "%s/parent", base_rel);
	snprintf(b, sizeof b, "%s/parent/keepme", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(a), 0);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, a, 0, NULL, why, sizeof why), 0);
	CU_ASSERT_EQUAL_FATAL(mkcg(b), 0);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, a, 0, NULL, why, sizeof why), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "in the subtree"));
	rmcg(b);
	snprintf(b, sizeof b, "%s/parent/x/precious.service", base_rel);
	snprintf(why, sizeof why, "%s/parent/x", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(why), 0);
	CU_ASSERT_EQUAL_FATAL(mkcg(b), 0);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, a, 0, NULL, why, sizeof why), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "unit:precious.service"));
	rmcg(b);
	snprintf(b, sizeof b, "%s/parent/x", base_rel);
	rmcg(b);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, a, 0, NULL, why, sizeof why), 0);
	rmcg(a);
	rw_respond_close(r);
	unlink(audit_path);
}

/* min_intervals, min_score, once per episode, the rate limit on a fake clock: dry-run on paths that do not exist. */
static void test_gating_and_rate_limit(void)
{
	if (!have_cgroups())
		return;
	struct rw_config c;
	struct rw_report_target t;
	const uint64_t t0 = 1700000000ull * S;
	config_for(&c, RW_RESPONSE_DRY_RUN);
	c.response_min_intervals = 3;
	c.response_min_score_q16 = 65536 * 9 / 10;
	c.response_max_actions_per_min = 2;
	struct rw_respond *r = open_ok(&c, cg2);

	target_init(&t, 11, "/rwfake/a", RW_VERDICT_SUSPECT, 65536, 10, t0);
	CU_ASSERT_EQUAL(rw_respond_consider(r, &t, t0), 0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	target_init(&t, 11, "/rwfake/a", RW_VERDICT_MINING, 65536, 2, t0);   /* too few intervals */
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	target_init(&t, 11, "/rwfake/a", RW_VERDICT_MINING, 65536 * 9 / 10 - 1, 3, t0); /* score just under */
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT_EQUAL(audit_count(NULL, NULL), 0);
	target_init(&t, 11, "/rwfake/a", RW_VERDICT_MINING, 65536 * 9 / 10, 3, t0); /* exactly at the gates */
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_DRY_RUN);
	CU_ASSERT_EQUAL(t.action_time_ns, t0);
	CU_ASSERT_EQUAL(audit_count("\"action\":\"dry-run\"", "\"cgroup\":\"/rwfake/a\""), 1);
	/* same episode again: remembered, not repeated */
	t.verdict.intervals_in_verdict = 4;
	rw_respond_consider(r, &t, t0 + S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_DRY_RUN);
	CU_ASSERT_EQUAL(audit_count(NULL, NULL), 1);
	/* verdict drops: still marked with what was done */
	t.verdict.verdict = RW_VERDICT_CLEAN;
	rw_respond_consider(r, &t, t0 + 2 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_DRY_RUN);

	/* rate limit 2/min: b is the second action, c is held back until 60 s after the first */
	struct rw_report_target tb, tc;
	target_init(&tb, 12, "/rwfake/b", RW_VERDICT_MINING, 65536, 5, t0);
	target_init(&tc, 13, "/rwfake/c", RW_VERDICT_MINING, 65536, 5, t0);
	rw_respond_consider(r, &tb, t0 + 10 * S);
	CU_ASSERT_EQUAL(tb.action, RW_ACTION_DRY_RUN);
	rw_respond_consider(r, &tc, t0 + 10 * S);
	CU_ASSERT_EQUAL(tc.action, RW_ACTION_NONE);
	CU_ASSERT_EQUAL(audit_count("\"result\":\"rate_limited\"", "/rwfake/c"), 1);
	rw_respond_consider(r, &tc, t0 + 59 * S);
	CU_ASSERT_EQUAL(tc.action, RW_ACTION_NONE);
	CU_ASSERT_EQUAL(audit_count("\"result\":\"rate_limited\"", NULL), 1); /* noted once per episode */
	rw_respond_consider(r, &tc, t0 + 60 * S);
	CU_ASSERT_EQUAL(tc.action, RW_ACTION_DRY_RUN);
	/* a clock going backwards never opens the window */
	struct rw_report_target td;
	target_init(&td, 14, "/rwfake/d", RW_VERDICT_MINING, 65536, 5, t0);
	rw_respond_consider(r, &td, t0);
	CU_ASSERT_EQUAL(td.action, RW_ACTION_NONE);

	/* a new episode of a (dry-run-)handled target acts again; forget drops the memory */
	target_init(&t, 11, "/rwfake/a", RW_VERDICT_MINING, 65536, 3, t0 + 200 * S);
	rw_respond_consider(r, &t, t0 + 203 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_DRY_RUN);
	CU_ASSERT_EQUAL(t.action_time_ns, t0 + 203 * S);
	rw_respond_forget(r, 11);
	t.verdict.verdict = RW_VERDICT_CLEAN;
	rw_respond_consider(r, &t, t0 + 204 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);

	/* refusals are audited once per episode, and never acted on */
	struct rw_report_target ti;
	target_init(&ti, 15, "/init.scope", RW_VERDICT_MINING, 65536, 9, t0);
	rw_respond_consider(r, &ti, t0 + 300 * S);
	rw_respond_consider(r, &ti, t0 + 301 * S);
	CU_ASSERT_EQUAL(ti.action, RW_ACTION_NONE);
	CU_ASSERT_EQUAL(audit_count("\"result\":\"refused\"", "init.scope"), 1);

	struct rw_respond_stats st;
	rw_respond_get_stats(r, &st);
	CU_ASSERT_EQUAL(st.dry_runs, 4);
	CU_ASSERT_EQUAL(st.rate_limited, 2);
	CU_ASSERT_EQUAL(st.refused, 1);
	CU_ASSERT_EQUAL(st.freezes + st.kills + st.failures, 0);
	rw_respond_close(r);

	/* max_actions_per_min 0: nothing ever */
	config_for(&c, RW_RESPONSE_DRY_RUN);
	c.response_max_actions_per_min = 0;
	r = open_ok(&c, cg2);
	target_init(&t, 21, "/rwfake/z", RW_VERDICT_MINING, 65536, 9, t0);
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	rw_respond_close(r);

	/* off: nothing, not even an audit log */
	config_for(&c, RW_RESPONSE_OFF);
	r = open_ok(&c, cg2);
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT_EQUAL(access(audit_path, F_OK), -1);
	rw_respond_close(r);
	unlink(audit_path);
}

static int open_target_ok(struct rw_respond *r, const char *rel)
{
	char detail[512];
	int fd = rw_respond_open_target(r, rel, cg_ino(rel), detail, sizeof detail);
	if (fd < 0)
		printf("  open_target %s: %s\n", rel, detail);
	CU_ASSERT(fd >= 0);
	return fd;
}

/* freeze / thaw / kill / vanished on real cgroups, through inode-checked directory fds. `root` is the cgroup2
 * mount or a second mount of it. */
static void actions_on(const char *root)
{
	struct rw_config c;
	char a[256], sub[256], gone[256], detail[512];
	config_for(&c, RW_RESPONSE_FREEZE);
	struct rw_respond *r = open_ok(&c, root);

	snprintf(a, sizeof a, "%s/act", base_rel);
	snprintf(sub, sizeof sub, "%s/act/sub", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(a), 0);
	CU_ASSERT_EQUAL_FATAL(mkcg(sub), 0);
	pid_t busy = spawn_in(a, true), idle = spawn_in(a, false), deep = spawn_in(sub, true);

	/* the path must still name the target: another inode is refused */
	CU_ASSERT_EQUAL(rw_respond_open_target(r, a, cg_ino(sub), detail, sizeof detail), -ESTALE);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "another cgroup"));
	snprintf(gone, sizeof gone, "%s/never-there", base_rel);
	CU_ASSERT_EQUAL(rw_respond_open_target(r, gone, 12345, detail, sizeof detail), -ENOENT);
	CU_ASSERT_EQUAL(rw_respond_open_target(r, "/a/../b", 1, detail, sizeof detail), -EINVAL);

	int fd = open_target_ok(r, a);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(rw_respond_freeze(fd, detail, sizeof detail), 0);
	CU_ASSERT(events_wait(a, "frozen 1", SETTLE_MS));
	CU_ASSERT(events_wait(sub, "frozen 1", 1000)); /* descendants too */
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "frozen 1 after"));
	CU_ASSERT_EQUAL(rw_respond_freeze(fd, detail, sizeof detail), 0); /* idempotent */
	CU_ASSERT(events_wait(a, "frozen 1", SETTLE_MS));
	CU_ASSERT_EQUAL(rw_respond_thaw(fd, detail, sizeof detail), 0);
	CU_ASSERT(events_wait(a, "frozen 0", SETTLE_MS));

	/* cgroup.kill on the subtree (a frozen one, as in kill mode) */
	CU_ASSERT_EQUAL(rw_respond_freeze(fd, detail, sizeof detail), 0);
	CU_ASSERT_EQUAL(rw_respond_kill(fd, RW_KILL_AUTO, detail, sizeof detail), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "cgroup.kill"));
	CU_ASSERT(events_wait(a, "populated 0", SETTLE_MS));
	char procs[256] = "x";
	cg_file(a, "cgroup.procs", procs, sizeof procs);
	CU_ASSERT_STRING_EQUAL(procs, "");
	cg_file(sub, "cgroup.procs", procs, sizeof procs);
	CU_ASSERT_STRING_EQUAL(procs, "");
	CU_ASSERT(died_by_sigkill(busy));
	CU_ASSERT(died_by_sigkill(idle));
	CU_ASSERT(died_by_sigkill(deep));
	CU_ASSERT_EQUAL(rw_respond_kill(fd, RW_KILL_AUTO, detail, sizeof detail), 0); /* idempotent */
	rw_respond_thaw(fd, detail, sizeof detail);

	/* the fallback for kernels before 5.14: SIGKILL over cgroup.procs of the subtree, frozen and not; the same fd
	 * serves every pass */
	busy = spawn_in(a, true);
	idle = spawn_in(sub, false);
	CU_ASSERT_EQUAL(rw_respond_kill(fd, RW_KILL_SIGNALS, detail, sizeof detail), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "SIGKILL to ")); /* 2, or more when a dying one is listed still */
	CU_ASSERT(events_wait(a, "populated 0", SETTLE_MS));
	CU_ASSERT(died_by_sigkill(busy));
	CU_ASSERT(died_by_sigkill(idle));
	busy = spawn_in(sub, true);
	CU_ASSERT_EQUAL(rw_respond_freeze(fd, detail, sizeof detail), 0);
	CU_ASSERT_EQUAL(rw_respond_kill(fd, RW_KILL_SIGNALS, detail, sizeof detail), 0);
	CU_ASSERT(events_wait(a, "populated 0", SETTLE_MS));
	CU_ASSERT(died_by_sigkill(busy));
	rw_respond_thaw(fd, detail, sizeof detail);

	/* the cgroup goes while we hold its fd: vanished is success, and nothing else is touched */
	rmcg(sub);
	rmcg(a);
	CU_ASSERT_EQUAL(rw_respond_freeze(fd, detail, sizeof detail), RW_RESPOND_VANISHED);
	CU_ASSERT_EQUAL(rw_respond_kill(fd, RW_KILL_AUTO, detail, sizeof detail), RW_RESPOND_VANISHED);
	CU_ASSERT_EQUAL(rw_respond_kill(fd, RW_KILL_SIGNALS, detail, sizeof detail), RW_RESPOND_VANISHED);
	/* a new cgroup of the same name is another inode: the old fd never reaches it */
	CU_ASSERT_EQUAL_FATAL(mkcg(a), 0);
	busy = spawn_in(a, false);
	CU_ASSERT_EQUAL(rw_respond_freeze(fd, detail, sizeof detail), RW_RESPOND_VANISHED);
	CU_ASSERT(events_wait(a, "frozen 0", SETTLE_MS));
	CU_ASSERT_EQUAL(kill(busy, 0), 0);
	reap(busy);
	close(fd);
	rmcg(a);
	rw_respond_close(r);
	unlink(audit_path);
}

static void test_actions_real_cgroups(void)
{
	if (!have_cgroups())
		return;
	actions_on(cg2);
}

/* A second mount of the same cgroup2 hierarchy: the agent in a container sees the host's tree there. */
static void test_actions_second_mount(void)
{
	if (!have_cgroups())
		return;
	char mnt[128];
	snprintf(mnt, sizeof mnt, "/tmp/rwrespond-cg2.%d", getpid());
	mkdir(mnt, 0700);
	if (mount("none", mnt, "cgroup2", 0, NULL) < 0) {
		printf("  (second-mount variant skipped: mount cgroup2: %s)\n", strerror(errno));
		rmdir(mnt);
		return;
	}
	char save[512];
	snprintf(save, sizeof save, "%s", cg2);
	snprintf(cg2, sizeof cg2, "%s", mnt);   /* the helpers write through the second mount as well */
	actions_on(mnt);
	snprintf(cg2, sizeof cg2, "%s", save);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

/* Events handed to the callback, for the counters and alerts. */
static struct {
	unsigned n;
	enum rw_respond_action action[32];
	enum rw_respond_result result[32];
	char checks[32][256];
} evs;

static void on_event(const struct rw_respond_event *ev, void *arg)
{
	(void)arg;
	if (evs.n < 32) {
		evs.action[evs.n] = ev->action;
		evs.result[evs.n] = ev->result;
		snprintf(evs.checks[evs.n], sizeof evs.checks[0], "%s", ev->checks);
		evs.n++;
	}
}

static bool last_event(enum rw_respond_action a, enum rw_respond_result res)
{
	if (!evs.n)
		return false;
	if (evs.action[evs.n - 1] != a || evs.result[evs.n - 1] != res)
		printf("  last event %s/%s, wanted %s/%s\n", rw_respond_action_name(evs.action[evs.n - 1]),
		       rw_respond_result_name(evs.result[evs.n - 1]), rw_respond_action_name(a),
		       rw_respond_result_name(res));
	return evs.action[evs.n - 1] == a && evs.result[evs.n - 1] == res;
}

/* rw_respond_consider until it acts, each try a new mining episode: on a loaded machine (load 40-70 on 2 cores is
 * seen) a re-check may find the workload starved below the CPU floor, which is right, and the next one not. Up to
 * 120 s of tries: a workload that never once gets 5 % of a core in that time is a test that cannot work here. */
static void consider_until_acted(struct rw_respond *r, struct rw_report_target *t, uint64_t now_ns)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0;; i++) {
		rw_respond_consider(r, t, now_ns);
		if (t->action != RW_ACTION_NONE)
			return;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 120) {
			printf("  no action after %d tries in 120 s: every re-check found the workload starved\n", i + 1);
			return;
		}
		t->verdict.since_ns++;
		usleep(100000);
	}
}

/* Audit lines other than re-checks that did not hold (see consider_until_acted). */
static int audit_decisions(void)
{
	return audit_count(NULL, NULL) - audit_count("\"result\":\"recheck_failed\"", NULL);
}

/* An [allow] rule's target (the agent sets rt->allowed): kill mode, a real process switching rounding modes, a
 * mining verdict; the decision is recorded once with result "allowed" and the reason, and nothing is done. */
static void test_consider_allowed(void)
{
	if (!have_cgroups())
		return;
	struct rw_config c;
	struct rw_report_target t;
	char a[256];
	const uint64_t t0 = 1700000000ull * S;
	snprintf(a, sizeof a, "%s/allowed", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(a), 0);
	pid_t m = spawn_as(a, FPSWITCH, 0);
	config_for(&c, RW_RESPONSE_KILL);
	struct rw_respond *r = open_ok(&c, cg2);
	memset(&evs, 0, sizeof evs);
	rw_respond_on_event(r, on_event, NULL);
	target_init(&t, cg_ino(a), a, RW_VERDICT_MINING, 65536, 3, t0);
	t.allowed = true;
	snprintf(t.allow_reason, sizeof t.allow_reason, "the lab's benchmark");
	for (int i = 0; i < 5; i++)
		rw_respond_consider(r, &t, t0 + (uint64_t)i * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT(last_event(RW_RA_KILL, RW_RR_ALLOWED));
	CU_ASSERT_EQUAL(evs.n, 1);
	CU_ASSERT(!rw_respond_holds(r, t.sample.cgroup_id));
	CU_ASSERT_EQUAL(audit_count("\"result\":\"allowed\"", "the lab's benchmark"), 1);
	CU_ASSERT_EQUAL(audit_count("\"result\":\"pending\"", NULL), 0);
	CU_ASSERT(events_wait(a, "frozen 0", SETTLE_MS));
	CU_ASSERT_EQUAL(kill(m, 0), 0);
	rw_respond_close(r);
	reap(m);
	rmcg(a);
	unlink(audit_path);
}

/* The whole path through rw_respond_consider: freeze mode and kill mode on real processes, the real ptrace
 * re-check of a process that switches rounding modes, audit lines in order with both checks, idempotence, a
 * thaw by someone else respected, and no action without an audit record. */
static void test_consider_freeze_kill(void)
{
	if (!have_cgroups())
		return;
	struct rw_config c;
	struct rw_report_target t, benign;
	char a[256], b[256], detail[512];
	const uint64_t t0 = 1700000000ull * S;
	snprintf(a, sizeof a, "%s/miner", base_rel);
	snprintf(b, sizeof b, "%s/benign", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(a), 0);
	CU_ASSERT_EQUAL_FATAL(mkcg(b), 0);
	pid_t m = spawn_as(a, FPSWITCH, 0), bn = spawn_in(b, true);

	config_for(&c, RW_RESPONSE_FREEZE);
	struct rw_respond *r = open_ok(&c, cg2);
	memset(&evs, 0, sizeof evs);
	rw_respond_on_event(r, on_event, NULL);
	target_init(&t, cg_ino(a), a, RW_VERDICT_MINING, 65536, 3, t0);
	target_init(&benign, cg_ino(b), b, RW_VERDICT_CLEAN, 100, 50, t0);
	consider_until_acted(r, &t, t0);
	rw_respond_consider(r, &benign, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_FROZEN);
	CU_ASSERT(last_event(RW_RA_FREEZE, RW_RR_OK));
	CU_ASSERT(rw_respond_holds(r, t.sample.cgroup_id));
	CU_ASSERT(!rw_respond_holds(r, benign.sample.cgroup_id));
	CU_ASSERT_EQUAL(benign.action, RW_ACTION_NONE);
	CU_ASSERT(events_wait(a, "frozen 1", SETTLE_MS));
	CU_ASSERT(events_wait(b, "frozen 0", SETTLE_MS));
	CU_ASSERT_EQUAL(audit_count("\"action\":\"freeze\"", "\"result\":\"pending\""), 1);
	CU_ASSERT_EQUAL(audit_count("\"action\":\"freeze\"", "\"result\":\"ok\""), 1);
	/* the pending and the ok line carry the evidence (so do the re-checks that did not hold on a loaded machine,
	 * consider_until_acted's earlier tries: not counted) */
	const char *rf = "\"result\":\"recheck_failed\"";
	CU_ASSERT_EQUAL(audit_count_except("\"evidence\":{\"score\":1,\"verdict\":\"mining\"", "fp_rounding_modes", rf),
			2);
	CU_ASSERT_EQUAL(audit_count_except("4 \\\"distinct\\\" modes", NULL, rf), 2);     /* escaped */
	/* both checks in the audit line: the interval's and the fresh read's, with who is in the cgroup */
	CU_ASSERT_EQUAL(audit_count_except("\"checks\":{\"interval\":\"3 non-default rounding modes", "\"recheck\":\"", rf),
			2);
	CU_ASSERT_EQUAL(audit_count_except("ptrace path", "1 processes, uids 0", rf), 2);
	/* pending comes first */
	FILE *f = fopen(audit_path, "r");
	char line[8192] = "";
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof line, f) && strstr(line, "\"result\":\"recheck_failed\""))
		;
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"result\":\"pending\""));
	fclose(f);
	/* stays frozen and marked frozen, even after the verdict drops; nothing more is written */
	t.verdict.intervals_in_verdict = 9;
	rw_respond_consider(r, &t, t0 + S);
	t.verdict.verdict = RW_VERDICT_CLEAN;
	rw_respond_consider(r, &t, t0 + 2 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_FROZEN);
	CU_ASSERT_EQUAL(t.action_time_ns, t0);
	CU_ASSERT(events_wait(a, "frozen 1", SETTLE_MS));
	CU_ASSERT_EQUAL(audit_decisions(), 2);
	/* an operator thaws it: respected for this episode, and the verdict is no longer held */
	int fd = open_target_ok(r, a);
	rw_respond_thaw(fd, detail, sizeof detail);
	close(fd);
	t.verdict.verdict = RW_VERDICT_MINING;
	rw_respond_consider(r, &t, t0 + 3 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT(!rw_respond_holds(r, t.sample.cgroup_id));
	CU_ASSERT(events_wait(a, "frozen 0", SETTLE_MS));
	rw_respond_close(r);

	/* kill mode: freeze then kill; the benign neighbour keeps running */
	config_for(&c, RW_RESPONSE_KILL);
	r = open_ok(&c, cg2);
	rw_respond_on_event(r, on_event, NULL);
	rw_respond_consider(r, &benign, t0);
	consider_until_acted(r, &t, t0 + 4 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_KILLED);
	CU_ASSERT(last_event(RW_RA_KILL, RW_RR_OK));
	CU_ASSERT(died_by_sigkill(m));
	CU_ASSERT(events_wait(a, "populated 0", SETTLE_MS));
	CU_ASSERT(events_wait(a, "frozen 0", SETTLE_MS)); /* left thawed and empty */
	CU_ASSERT(events_wait(b, "populated 1", SETTLE_MS));
	CU_ASSERT_EQUAL(kill(bn, 0), 0);
	CU_ASSERT_EQUAL(audit_count("\"action\":\"kill\"", "\"result\":\"pending\""), 1);
	CU_ASSERT_EQUAL(audit_count("\"action\":\"kill\"", "\"result\":\"ok\""), 1);
	rw_respond_consider(r, &t, t0 + 5 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_KILLED);
	CU_ASSERT(rw_respond_holds(r, t.sample.cgroup_id)); /* killed, and its cgroup is still there */
	CU_ASSERT_EQUAL(audit_decisions(), 2);
	/* a target that vanished before the action: success */
	struct rw_report_target g;
	char gone[256];
	snprintf(gone, sizeof gone, "%s/gone", base_rel);
	target_init(&g, 33, gone, RW_VERDICT_MINING, 65536, 3, t0);
	rw_respond_consider(r, &g, t0 + 6 * S);
	CU_ASSERT_EQUAL(g.action, RW_ACTION_KILLED);
	CU_ASSERT_EQUAL(audit_count("\"result\":\"vanished\"", NULL), 1);
	struct rw_respond_stats st;
	rw_respond_get_stats(r, &st);
	CU_ASSERT_EQUAL(st.kills, 2);
	CU_ASSERT_EQUAL(st.failures, 0);
	rw_respond_close(r);

	/* no audit record, no action: /dev/full takes the open but not the write */
	m = spawn_as(a, FPSWITCH, 0);
	config_for(&c, RW_RESPONSE_KILL);
	snprintf(c.audit_log, sizeof c.audit_log, "/dev/full");
	r = open_ok(&c, cg2);
	target_init(&t, cg_ino(a), a, RW_VERDICT_MINING, 65536, 3, t0);
	consider_until_acted(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_FAILED);
	CU_ASSERT(events_wait(a, "populated 1", SETTLE_MS));
	CU_ASSERT(events_wait(a, "frozen 0", SETTLE_MS));
	CU_ASSERT_EQUAL(kill(m, 0), 0);
	rw_respond_close(r);

	reap(m);
	reap(bn);
	rmcg(a);
	rmcg(b);
	unlink(audit_path);
}

/* What may act: only FP evidence of hashing plus CPU, in the interval and in the fresh read. */
static void test_qualification(void)
{
	struct rw_fp_evidence fp;
	char why[512];
	memset(&fp, 0, sizeof fp);
	/* nothing observed: never, whatever the CPU */
	CU_ASSERT(!rw_respond_evidence_qualifies(&fp, 1000000, 1000000, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no FP evidence"));
	CU_ASSERT(!rw_respond_evidence_qualifies(NULL, 1000000, 1000000, why, sizeof why));
	fp.path = RW_FP_PATH_PTRACE;
	fp.probes = 16;
	fp.threads = 1;
	fp.modes_union = 0x3;
	fp.max_thread_nondefault = 1; /* round-upward only: interval arithmetic, not RandomX */
	CU_ASSERT(!rw_respond_evidence_qualifies(&fp, 1000000, 1000000, why, sizeof why));
	fp.max_thread_nondefault = 2;
	fp.modes_union = 0x7;
	CU_ASSERT(rw_respond_evidence_qualifies(&fp, 1000000, 1000000, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "2 non-default rounding modes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "1.00 cores"));
	/* the same FP evidence without CPU in the same window: a stopped or idle target does not act */
	CU_ASSERT(!rw_respond_evidence_qualifies(&fp, 45000, 1000000, why, sizeof why));
	CU_ASSERT(rw_respond_evidence_qualifies(&fp, 50000, 1000000, why, sizeof why));
	CU_ASSERT(!rw_respond_evidence_qualifies(&fp, 100000, 0, why, sizeof why));
	fp.path = RW_FP_PATH_BPF;
	CU_ASSERT(rw_respond_evidence_qualifies(&fp, 400000, 400000, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "eBPF"));
}

/* A `mining` verdict is not enough: names alone (no FP evidence in the interval) and a fresh read that does not
 * show hashing (an idle process, the stale-indicator case) never act. */
static void test_recheck_blocks(void)
{
	if (!have_cgroups())
		return;
	struct rw_config c;
	struct rw_report_target t;
	char a[256];
	const uint64_t t0 = 1700000000ull * S;
	snprintf(a, sizeof a, "%s/named", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(a), 0);
	pid_t idle = spawn_in(a, false);

	config_for(&c, RW_RESPONSE_KILL);
	struct rw_respond *r = open_ok(&c, cg2);
	memset(&evs, 0, sizeof evs);
	rw_respond_on_event(r, on_event, NULL);
	/* indicators only: score 0.99 and mining, but no FP evidence */
	target_init(&t, cg_ino(a), a, RW_VERDICT_MINING, 65536 * 99 / 100, 9, t0);
	memset(&t.sample.fp, 0, sizeof t.sample.fp);
	t.verdict.sources_used = RW_SRC_BIT(RW_SRC_INDICATORS);
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT(last_event(RW_RA_KILL, RW_RR_NO_EVIDENCE));
	CU_ASSERT_EQUAL(audit_count("\"result\":\"no_evidence\"", "indicators"), 1);
	rw_respond_consider(r, &t, t0 + S);
	CU_ASSERT_EQUAL(audit_count("\"result\":\"no_evidence\"", NULL), 1); /* once per episode */

	/* the interval claims hashing, the process is idle now: the fresh read decides */
	target_init(&t, cg_ino(a), a, RW_VERDICT_MINING, 65536, 9, t0 + 10 * S);
	rw_respond_consider(r, &t, t0 + 10 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT(last_event(RW_RA_KILL, RW_RR_RECHECK_FAILED));
	CU_ASSERT_EQUAL(audit_count("\"result\":\"recheck_failed\"", "1 processes"), 1);
	CU_ASSERT(events_wait(a, "frozen 0", SETTLE_MS));
	CU_ASSERT_EQUAL(kill(idle, 0), 0);
	/* a busy process that never touches the rounding mode: still no */
	pid_t busy = spawn_in(a, true);
	target_init(&t, cg_ino(a), a, RW_VERDICT_MINING, 65536, 9, t0 + 20 * S);
	rw_respond_consider(r, &t, t0 + 20 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT(last_event(RW_RA_KILL, RW_RR_RECHECK_FAILED));
	CU_ASSERT(events_wait(a, "frozen 0", SETTLE_MS));
	CU_ASSERT_EQUAL(kill(busy, 0), 0);
	CU_ASSERT_EQUAL(kill(idle, 0), 0);
	/* the target's own counts (rigwatch_target_response_actions_total): every decision on it, all episodes */
	CU_ASSERT_EQUAL(t.response_decisions[RW_RA_KILL][RW_RR_RECHECK_FAILED], 2);
	CU_ASSERT_EQUAL(t.response_decisions[RW_RA_KILL][RW_RR_NO_EVIDENCE], 1);
	/* the path names another cgroup now (the target went, a new one took its name): not touched */
	target_init(&t, cg_ino(a) + 1000000, a, RW_VERDICT_MINING, 65536, 9, t0 + 30 * S);
	rw_respond_consider(r, &t, t0 + 30 * S);
	CU_ASSERT(last_event(RW_RA_KILL, RW_RR_RECHECK_FAILED));
	CU_ASSERT_EQUAL(audit_count("another cgroup", NULL), 1);
	CU_ASSERT_EQUAL(kill(busy, 0), 0);
	/* The counter behind rigwatch_response_actions_total moves once per decision although the target's action
	 * state never left `none`: three re-checks that failed, one decision held back for lack of evidence. */
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT_EQUAL(t.response_decisions[RW_RA_KILL][RW_RR_RECHECK_FAILED], 1); /* another target, its own count */
	uint64_t dec[RW_RA_COUNT][RW_RR_COUNT];
	rw_respond_get_decisions(r, dec);
	CU_ASSERT_EQUAL(dec[RW_RA_KILL][RW_RR_RECHECK_FAILED], 3);
	CU_ASSERT_EQUAL(dec[RW_RA_KILL][RW_RR_NO_EVIDENCE], 1);
	CU_ASSERT_EQUAL(dec[RW_RA_KILL][RW_RR_OK] + dec[RW_RA_FREEZE][RW_RR_OK] + dec[RW_RA_DRY_RUN][RW_RR_OK], 0);
	CU_ASSERT_EQUAL(evs.n, 4);
	rw_respond_close(r);
	reap(busy);
	reap(idle);
	rmcg(a);
	unlink(audit_path);
}

/* Kill mode, a cgroup holding processes of two users: frozen, not killed, and the reason says so. */
static void test_shared_cgroup_frozen_not_killed(void)
{
	if (!have_cgroups())
		return;
	struct rw_config c;
	struct rw_report_target t;
	char a[256];
	const uint64_t t0 = 1700000000ull * S;
	snprintf(a, sizeof a, "%s/shared", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(a), 0);
	pid_t victim = spawn_in(a, false);
	pid_t miner = spawn_as(a, FPSWITCH, 65534);

	config_for(&c, RW_RESPONSE_KILL);
	struct rw_respond *r = open_ok(&c, cg2);
	memset(&evs, 0, sizeof evs);
	rw_respond_on_event(r, on_event, NULL);
	target_init(&t, cg_ino(a), a, RW_VERDICT_MINING, 65536, 9, t0);
	consider_until_acted(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_FROZEN);
	CU_ASSERT(last_event(RW_RA_KILL, RW_RR_FROZEN_NOT_KILLED));
	CU_ASSERT(events_wait(a, "frozen 1", SETTLE_MS));
	CU_ASSERT_EQUAL(kill(victim, 0), 0);
	CU_ASSERT_EQUAL(kill(miner, 0), 0);
	CU_ASSERT_EQUAL(audit_count("\"result\":\"frozen_not_killed\"", "uids 0,65534"), 1);
	CU_ASSERT(rw_respond_holds(r, t.sample.cgroup_id));
	rw_respond_close(r);
	char p[1024];
	snprintf(p, sizeof p, "%s%s/cgroup.freeze", cg2, a);
	write_file(p, "0");
	reap(miner);
	reap(victim);
	rmcg(a);
	unlink(audit_path);
}

/* The agent moved into the target after start: the process scan right before acting finds its pid. */
static void test_never_the_agent_pid(void)
{
	if (!have_cgroups())
		return;
	struct rw_config c;
	struct rw_report_target t;
	char a[256], buf[1024], orig[512] = "/";
	const uint64_t t0 = 1700000000ull * S;
	read_file("/proc/self/cgroup", buf, sizeof buf);
	char *l = strstr(buf, "0::");
	if (l)
		sscanf(l + 3, "%511s", orig);
	snprintf(a, sizeof a, "%s/withagent", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(a), 0);
	pid_t miner = spawn_as(a, FPSWITCH, 0);

	config_for(&c, RW_RESPONSE_FREEZE);
	struct rw_respond *r = open_ok(&c, cg2);
	move_self(a);
	target_init(&t, cg_ino(a), a, RW_VERDICT_MINING, 65536, 9, t0);
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT(events_wait(a, "frozen 0", SETTLE_MS));
	CU_ASSERT_EQUAL(audit_count("\"result\":\"refused\"", "the agent's own process"), 1);
	move_self(orig);
	rw_respond_close(r);
	reap(miner);
	rmcg(a);
	unlink(audit_path);
}

/* The built-in protected set, and unprotect lifting only what it names. */
static void test_protected_set(void)
{
	if (!have_cgroups())
		return;
	struct rw_config c;
	char why[512], dir[256], p[512];
	config_for(&c, RW_RESPONSE_DRY_RUN);
	snprintf(dir, sizeof dir, "/tmp/rwrespond-pods.%d", getpid());
	mkdir(dir, 0755);
	snprintf(p, sizeof p, "%s/kube-system_coredns-5d78c9869d-abcde_aaaa1111-2222-3333-4444-555566667777", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/team-a_job-7_bbbb1111-2222-3333-4444-555566667777", dir);
	mkdir(p, 0755);
	snprintf(c.kube_pods_dir, sizeof c.kube_pods_dir, "%s", dir);
	struct rw_respond *r = open_ok(&c, cg2);
	struct { const char *path; bool refused; const char *why_has; } table[] = {
		{ "/system.slice/sshd.service", true, "systemd service sshd.service" },
		{ "/system.slice/cron.service", true, "systemd service cron.service" },
		{ "/system.slice/kubelet.service", true, "systemd service kubelet.service" },
		{ "/system.slice/containerd.service", true, "systemd service" },
		{ "/rwtest/cron.service", true, "systemd service cron.service" },  /* the name is enough */
		{ "/system.slice/run-r1234.scope", true, "in system.slice" },
		{ "/user.slice/user-1000.slice/session-3.scope", true, "user session session-3.scope" },
		{ "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", true, "user@1000.service" },
		{ "/kubepods.slice", true, "structure" },
		{ "/kubepods/burstable", true, "structure" },
		{ "/kubelet", true, "kubelet" },
		{ "/system.slice/crio-conmon-" HEX64 ".scope", true, "crio-conmon" },
		{ "/system.slice/slurmstepd.scope", true, "Slurm daemon" },
		{ "/system.slice/slurmstepd.scope/system", true, "Slurm daemon" },
		{ "/slurmd", true, "Slurm daemon" },
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podaaaa1111_2222_3333_4444_555566667777"
		  ".slice/cri-containerd-" HEX64 ".scope", true, "kube-system pod" },
		/* what kill mode is for */
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podbbbb1111_2222_3333_4444_555566667777"
		  ".slice/cri-containerd-" HEX64 ".scope", false, NULL },
		{ "/system.slice/docker-" HEX64 ".scope", false, NULL },
		{ "/docker/" HEX64, false, NULL },
		{ "/system.slice/slurmstepd.scope/job_42/step_0", false, NULL },
		{ "/batch/job-7", false, NULL },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		const char *res = rw_respond_allowed(r, table[i].path, 0, NULL, why, sizeof why) < 0 ? why : NULL;
		if ((res != NULL) != table[i].refused || (res && table[i].why_has && !strstr(res, table[i].why_has)))
			printf("  protected-set mismatch for '%s': %s\n", table[i].path, res ? res : "allowed");
		CU_ASSERT_EQUAL(res != NULL, table[i].refused);
		if (res && table[i].why_has)
			CU_ASSERT_PTR_NOT_NULL(strstr(res, table[i].why_has));
	}
	rw_respond_close(r);

	/* unprotect: what it names, and nothing else; never the root, init.scope or the agent */
	config_for(&c, RW_RESPONSE_DRY_RUN);
	char err[256];
	CU_ASSERT_EQUAL(rw_config_parse(&c, "t.conf", "[response]\nunprotect = system.slice/cron.service, /rwtest/*.service\n",
					err, sizeof err), 0);
	r = open_ok(&c, cg2);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, "/system.slice/cron.service", 0, NULL, why, sizeof why), 0);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, "/rwtest/cron.service", 0, NULL, why, sizeof why), 0);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, "/system.slice/sshd.service", 0, NULL, why, sizeof why), -EPERM);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, "/rwtest/x/cron.service", 0, NULL, why, sizeof why), -EPERM);
	CU_ASSERT_EQUAL(rw_respond_allowed(r, "/system.slice/cron.service/init.scope", 0, NULL, why, sizeof why), -EPERM);
	rw_respond_close(r);

	/* vague values are rejected, naming the key, and the config is left as it was */
	const char *vague[] = { "*", "/", "/*", "*.service", "*/cron.service", "system.slice/**", "a/../b",
				"system.slice//x", "[s]ystem.slice/x", "system.slice/" };
	for (size_t i = 0; i < sizeof vague / sizeof vague[0]; i++) {
		char text[256];
		struct rw_config before = c;
		snprintf(text, sizeof text, "[response]\nunprotect = %s\n", vague[i]);
		int ret = rw_config_parse(&c, "t.conf", text, err, sizeof err);
		if (ret != -EINVAL)
			printf("  unprotect '%s' accepted\n", vague[i]);
		CU_ASSERT_EQUAL(ret, -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.conf:2"));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "response.unprotect"));
		CU_ASSERT_EQUAL(memcmp(&before, &c, sizeof c), 0);
	}
	snprintf(p, sizeof p, "%s/kube-system_coredns-5d78c9869d-abcde_aaaa1111-2222-3333-4444-555566667777", dir);
	rmdir(p);
	snprintf(p, sizeof p, "%s/team-a_job-7_bbbb1111-2222-3333-4444-555566667777", dir);
	rmdir(p);
	rmdir(dir);
	unlink(audit_path);
}

/* Own cgroup found by inode inside a cgroup namespace, where /proc/self/cgroup says "/"; and arming refused when
 * the agent is not in the tree it walks. Runs in a child: unshare(CLONE_NEWCGROUP) is for the rest of a process. */
static void test_self_in_cgroup_namespace(void)
{
	if (!have_cgroups())
		return;
	char ns[256], other[256];
	snprintf(ns, sizeof ns, "%s/nsagent", base_rel);
	snprintf(other, sizeof other, "%s/elsewhere", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(ns), 0);
	CU_ASSERT_EQUAL_FATAL(mkcg(other), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char p[1024], me[32], buf[256], err[512];
		struct rw_config c;
		struct rw_respond *r = NULL;
		snprintf(p, sizeof p, "%s%s/cgroup.procs", cg2, ns);
		snprintf(me, sizeof me, "%d", getpid());
		if (write_file(p, me) < 0 || unshare(CLONE_NEWCGROUP) < 0)
			_exit(10);
		read_file("/proc/self/cgroup", buf, sizeof buf);
		if (!strstr(buf, "0::/\n"))
			_exit(11); /* the namespace did not hide the path: the test would prove nothing */
		config_for(&c, RW_RESPONSE_KILL);
		if (rw_respond_open(&r, &c, cg2, err, sizeof err) < 0)
			_exit(12);
		if (strcmp(rw_respond_self_cgroup(r), ns) != 0)
			_exit(13);
		char why[512];
		if (rw_respond_allowed(r, "/renamed/elsewhere", cg_ino(ns), NULL, why, sizeof why) == 0 || !strstr(why, "own"))
			_exit(14);
		if (rw_respond_allowed(r, "/x", cg_ino(base_rel), NULL, why, sizeof why) == 0 || !strstr(why, "ancestor"))
			_exit(15);
		rw_respond_close(r);
		/* a root the agent is not in: refused, clearly */
		char root[1024];
		snprintf(root, sizeof root, "%s%s", cg2, other);
		if (rw_respond_open(&r, &c, root, err, sizeof err) != -ENOENT || !strstr(err, "own cgroup"))
			_exit(16);
		/* mode off needs no self */
		config_for(&c, RW_RESPONSE_OFF);
		if (rw_respond_open(&r, &c, root, err, sizeof err) != 0)
			_exit(17);
		rw_respond_close(r);
		unlink(audit_path);
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("  namespace child: status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	rmcg(ns);
	rmcg(other);
}

/* Per-process targets: refused unless opted in; then by pid, and only the process with that start time. */
static void test_process_targets(void)
{
	if (!have_cgroups())
		return;
	struct rw_config c;
	struct rw_report_target t;
	const uint64_t t0 = 1700000000ull * S;
	pid_t m = spawn_as(NULL, FPSWITCH, 0);
	usleep(100000);
	struct rw_proc_info mi = { 0 };
	CU_ASSERT(rw_test_proc_stat(m, &mi) == 0); /* not fatal: the workload and its cgroup are cleaned up below */
	uint64_t id = rw_proc_target_id((uint32_t)m, mi.start_ticks);

	config_for(&c, RW_RESPONSE_KILL);
	struct rw_respond *r = open_ok(&c, cg2);
	target_init(&t, id, "/", RW_VERDICT_MINING, 65536, 9, t0);
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT_EQUAL(audit_count("\"result\":\"refused\"", "process_targets is off"), 1);
	CU_ASSERT_EQUAL(kill(m, 0), 0);
	rw_respond_close(r);

	config_for(&c, RW_RESPONSE_KILL);
	c.response_process_targets = true;
	r = open_ok(&c, cg2);
	/* the same pid with another start time is another process: gone, nothing sent */
	target_init(&t, rw_proc_target_id((uint32_t)m, mi.start_ticks + 1), "/", RW_VERDICT_MINING, 65536, 9, t0);
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(audit_count("\"result\":\"vanished\"", "pid reused"), 1);
	CU_ASSERT_EQUAL(kill(m, 0), 0);
	target_init(&t, id, "/", RW_VERDICT_MINING, 65536, 9, t0 + S);
	consider_until_acted(r, &t, t0 + S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_KILLED);
	CU_ASSERT(died_by_sigkill(m));
	CU_ASSERT_EQUAL(audit_count("\"result\":\"ok\"", "start time checked"), 1);
	rw_respond_close(r);
	unlink(audit_path);
}

static bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

/* Least privilege, in a child: without CAP_KILL another user's process cannot be signalled; no_new_privs set. */
static void test_drop_privileges(void)
{
	if (geteuid() != 0 || !has_cap(CAP_KILL)) {
		printf("  (skipped: needs root with CAP_KILL)\n");
		return;
	}
	pid_t other = spawn_as(NULL, IDLE, 65534);
	/* until the child has dropped to uid 65534: before that it is root's, and any root may signal it */
	for (int i = 0; i < SETTLE_MS / 5 && uid_of(other) != 65534; i++)
		usleep(5000);
	CU_ASSERT_EQUAL_FATAL(uid_of(other), 65534);
	for (int round = 0; round < 2; round++) {
		bool keep = round == 0; /* freeze/kill mode with ptrace, then off without */
		pid_t pid = fork();
		if (pid == 0) {
			char dropped[512];
			if (rw_respond_drop_privileges(keep, keep, dropped, sizeof dropped) < 0)
				_exit(10);
			if (has_cap(CAP_SETUID) || !strstr(dropped, "setuid") || prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0))
				_exit(11);
			if (has_cap(CAP_KILL) != keep || has_cap(CAP_SYS_PTRACE) != keep ||
			    (prctl(PR_CAPBSET_READ, CAP_KILL, 0, 0, 0) == 1) != keep)
				_exit(12);
			if ((kill(other, 0) == 0) != keep || (!keep && errno != EPERM))
				_exit(13);
			if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
				_exit(14);
			_exit(0);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			printf("  privileges child (keep %d): status %d\n", keep, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CU_ASSERT_EQUAL(kill(other, 0), 0);
	reap(other);
}

static void test_open_errors(void)
{
	struct rw_config c;
	struct rw_respond *r = NULL;
	char err[256] = "";
	config_for(&c, RW_RESPONSE_KILL);
	snprintf(c.audit_log, sizeof c.audit_log, "/nonexistent-dir-rw/sub/audit.jsonl");
	CU_ASSERT(rw_respond_open(&r, &c, "/sys/fs/cgroup", err, sizeof err) < 0);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "response.audit_log"));
	c.audit_log[0] = '\0';
	CU_ASSERT_EQUAL(rw_respond_open(&r, &c, "/sys/fs/cgroup", err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "required"));
	CU_ASSERT_EQUAL(rw_respond_open(&r, &c, "relative", err, sizeof err), -EINVAL);
}

/* The v1 freezer: freeze (freezer.state FROZEN), thaw, and the kill of a frozen v1 cgroup (a v1-frozen task only
 * dies once thawed: the SIGKILL sweep thaws after its first pass), on a real cgroup of the host's v1 freezer. */
static void test_actions_v1_freezer(void)
{
	struct rw_cgroup_mounts m;
	char err[256], dir[512], sub[600], detail[512], buf[64], me[32];
	if (rw_cgroup_mounts_detect("/proc/self/mountinfo", &m, err, sizeof err) < 0 || !m.v1_freezer[0] ||
	    geteuid() != 0) {
		rw_test_skip("needs root and the v1 freezer mounted");
		return;
	}
	snprintf(dir, sizeof dir, "%s/rwtest.v1.%d", m.v1_freezer, (int)getpid());
	snprintf(sub, sizeof sub, "%s/sub", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
	CU_ASSERT_EQUAL(mkdir(sub, 0755), 0);
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		const char *where = k ? sub : dir;
		kids[k] = fork();
		if (kids[k] == 0) {
			rw_test_child_detach();
			char p[700];
			snprintf(p, sizeof p, "%s/cgroup.procs", where);
			snprintf(me, sizeof me, "%d", getpid());
			if (write_file(p, me) < 0)
				_exit(3);
			for (volatile unsigned long i = 0;; i++)
				;
		}
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	for (int i = 0; i < SETTLE_MS / 5; i++) { /* both listed, each in its own cgroup */
		int listed = 0;
		for (int k = 0; k < 2; k++) {
			char procs[256] = "";
			int f = openat(fd, k ? "sub/cgroup.procs" : "cgroup.procs", O_RDONLY);
			ssize_t n = f >= 0 ? read(f, procs, sizeof procs - 1) : -1;
			if (f >= 0)
				close(f);
			listed += n > 0;
		}
		if (listed == 2)
			break;
		usleep(5000);
	}
	CU_ASSERT_EQUAL(rw_respond_freeze(fd, detail, sizeof detail), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "freezer.state=FROZEN after"));
	int f = openat(fd, "freezer.state", O_RDONLY);
	ssize_t n = f >= 0 ? read(f, buf, sizeof buf - 1) : -1;
	if (f >= 0)
		close(f);
	buf[n > 0 ? n : 0] = '\0';
	CU_ASSERT_EQUAL(strncmp(buf, "FROZEN", 6), 0);
	CU_ASSERT_EQUAL(rw_respond_thaw(fd, detail, sizeof detail), 0);
	CU_ASSERT_EQUAL(rw_respond_freeze(fd, detail, sizeof detail), 0);
	CU_ASSERT_EQUAL(rw_respond_kill(fd, RW_KILL_AUTO, detail, sizeof detail), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "THAWED after the first"));
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "empty after"));
	CU_ASSERT(died_by_sigkill(kids[0]));
	CU_ASSERT(died_by_sigkill(kids[1]));
	CU_ASSERT_EQUAL(rw_respond_kill(fd, RW_KILL_AUTO, detail, sizeof detail), 0); /* empty: nothing to do */
	/* gone while we hold its fd: vanished */
	CU_ASSERT_EQUAL(rmdir(sub), 0);
	CU_ASSERT_EQUAL(rmdir(dir), 0);
	CU_ASSERT_EQUAL(rw_respond_freeze(fd, detail, sizeof detail), RW_RESPOND_VANISHED);
	CU_ASSERT_EQUAL(rw_respond_kill(fd, RW_KILL_AUTO, detail, sizeof detail), RW_RESPOND_VANISHED);
	close(fd);
}

static const rw_test tests[] = {
	RW_TEST(test_action_names),
	RW_TEST(test_open_errors),
	RW_TEST(test_rules_self_root_init),
	RW_TEST(test_rules_allow_lists),
	RW_TEST(test_gating_and_rate_limit),
	RW_TEST(test_actions_real_cgroups),
	RW_TEST(test_actions_second_mount),
	RW_TEST(test_actions_v1_freezer),
	RW_TEST(test_qualification),
	RW_TEST(test_protected_set),
	RW_TEST(test_self_in_cgroup_namespace),
	RW_TEST(test_consider_freeze_kill),
	RW_TEST(test_consider_allowed),
	RW_TEST(test_recheck_blocks),
	RW_TEST(test_shared_cgroup_frozen_not_killed),
	RW_TEST(test_never_the_agent_pid),
	RW_TEST(test_process_targets),
	RW_TEST(test_drop_privileges),
	{ NULL, NULL },
};

int main(void)
{
	int ret;
	if (geteuid() == 0 && find_cg2() == 0) {
		snprintf(base_rel, sizeof base_rel, "/rwrespond.%d", getpid());
		mkcg(base_rel);
	}
	ret = rw_test_main("respond", tests);
	if (base_rel[0])
		rmcg(base_rel);
	return ret;
}
