/* respond: the safety rules table-tested, gating and the rate limit with a fake clock, and real freeze/kill on
 * real child cgroups under the cgroup2 mount with real sleeping and busy processes. Needs root and cgroup2. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/config.h"
#include "rigwatch/respond.h"
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

/* Start a child in cgroup rel: busy (spins) or idle (pause); returns once it is listed in cgroup.procs. */
static pid_t spawn_in(const char *rel, bool busy)
{
	char p[1024], buf[4096], me[32];
	pid_t pid = fork();
	if (pid == 0) {
		rw_test_child_detach();
		snprintf(p, sizeof p, "%s%s/cgroup.procs", cg2, rel);
		snprintf(me, sizeof me, "%d", getpid());
		if (write_file(p, me) < 0)
			_exit(3);
		if (busy)
			for (volatile unsigned long i = 0;; i++)
				;
		for (;;)
			pause();
	}
	snprintf(me, sizeof me, "%d\n", pid);
	for (int i = 0; i < 200; i++) {
		if (cg_file(rel, "cgroup.procs", buf, sizeof buf) == 0 && strstr(buf, me))
			break;
		usleep(5000);
	}
	return pid;
}

/* Reaped with SIGKILL (true), or still alive / other end (false). Waits up to 2 s. */
static bool died_by_sigkill(pid_t pid)
{
	int st;
	for (int i = 0; i < 400; i++) {
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

/* Lines of the audit log containing every one of the given strings (NULL-terminated). */
static int audit_count(const char *s1, const char *s2)
{
	FILE *f = fopen(audit_path, "r");
	char line[8192];
	int n = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		CU_ASSERT(line[0] == '{' && strstr(line, "}\n") != NULL);
		if ((!s1 || strstr(line, s1)) && (!s2 || strstr(line, s2)))
			n++;
	}
	fclose(f);
	return n;
}

static void target_init(struct rw_report_target *t, uint64_t id, const char *cg, enum rw_verdict v, int32_t score,
			uint32_t intervals, uint64_t since)
{
	memset(t, 0, sizeof *t);
	t->sample.cgroup_id = id;
	snprintf(t->sample.cgroup, sizeof t->sample.cgroup, "%s", cg);
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
		const char *res = rw_respond_allowed(r, table[i].path, NULL, why, sizeof why);
		if ((res != NULL) != table[i].refused)
			printf("  rule mismatch for '%s': %s\n", table[i].path, res ? res : "allowed");
		CU_ASSERT_EQUAL(res != NULL, table[i].refused);
		if (res && table[i].why_has)
			CU_ASSERT_PTR_NOT_NULL(strstr(res, table[i].why_has));
	}
	/* own cgroup and each ancestor, up to the root */
	CU_ASSERT_PTR_NOT_NULL(strstr(rw_respond_allowed(r, self_rel, NULL, why, sizeof why) ?: "", "own cgroup"));
	snprintf(a, sizeof a, "%s/agent", base_rel);
	CU_ASSERT_PTR_NOT_NULL(strstr(rw_respond_allowed(r, a, NULL, why, sizeof why) ?: "", "ancestor"));
	CU_ASSERT_PTR_NOT_NULL(strstr(rw_respond_allowed(r, base_rel, NULL, why, sizeof why) ?: "", "ancestor"));
	/* siblings and name prefixes are not ancestors */
	snprintf(a, sizeof a, "%s/agentx", base_rel);
	CU_ASSERT_PTR_NULL(rw_respond_allowed(r, a, NULL, why, sizeof why));
	snprintf(a, sizeof a, "%s/agent/inner2", base_rel);
	CU_ASSERT_PTR_NULL(rw_respond_allowed(r, a, NULL, why, sizeof why));
	snprintf(a, sizeof a, "%s/other", base_rel);
	CU_ASSERT_PTR_NULL(rw_respond_allowed(r, a, NULL, why, sizeof why));
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
		{ "/system.slice/apache.service", false, NULL },
		{ "/user.slice/ci-42.scope", true, "unit:ci-*.scope" },
	};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		const char *res = rw_respond_allowed(r, paths[i].path, NULL, why, sizeof why);
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
		const char *res = rw_respond_allowed(r, "/some/workload", &id, why, sizeof why);
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
	CU_ASSERT_PTR_NULL(rw_respond_allowed(r, a, NULL, why, sizeof why));
	CU_ASSERT_EQUAL_FATAL(mkcg(b), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rw_respond_allowed(r, a, NULL, why, sizeof why) ?: "", "in the subtree"));
	rmcg(b);
	snprintf(b, sizeof b, "%s/parent/x/precious.service", base_rel);
	snprintf(why, sizeof why, "%s/parent/x", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(why), 0);
	CU_ASSERT_EQUAL_FATAL(mkcg(b), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rw_respond_allowed(r, a, NULL, why, sizeof why) ?: "", "unit:precious.service"));
	rmcg(b);
	snprintf(b, sizeof b, "%s/parent/x", base_rel);
	rmcg(b);
	CU_ASSERT_PTR_NULL(rw_respond_allowed(r, a, NULL, why, sizeof why));
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

/* freeze / thaw / kill / vanished on real cgroups. `root` is the cgroup2 mount or a second (bind) mount of it. */
static void actions_on(const char *root, bool expect_libcg)
{
	struct rw_config c;
	char a[256], sub[256], gone[256], detail[512];
	config_for(&c, RW_RESPONSE_FREEZE);
	struct rw_respond *r = open_ok(&c, root);
	CU_ASSERT_EQUAL(rw_respond_uses_libcgroup(r), expect_libcg);

	snprintf(a, sizeof a, "%s/act", base_rel);
	snprintf(sub, sizeof sub, "%s/act/sub", base_rel);
	CU_ASSERT_EQUAL_FATAL(mkcg(a), 0);
	CU_ASSERT_EQUAL_FATAL(mkcg(sub), 0);
	pid_t busy = spawn_in(a, true), idle = spawn_in(a, false), deep = spawn_in(sub, true);

	CU_ASSERT_EQUAL(rw_respond_freeze(r, a, detail, sizeof detail), 0);
	CU_ASSERT(events_has(a, "frozen 1"));
	CU_ASSERT(events_wait(sub, "frozen 1", 1000)); /* descendants too */
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "frozen 1 after"));
	CU_ASSERT_EQUAL(rw_respond_freeze(r, a, detail, sizeof detail), 0); /* idempotent */
	CU_ASSERT(events_has(a, "frozen 1"));
	CU_ASSERT_EQUAL(rw_respond_thaw(r, a, detail, sizeof detail), 0);
	CU_ASSERT(events_has(a, "frozen 0"));

	/* cgroup.kill on the subtree (a frozen one, as in kill mode) */
	CU_ASSERT_EQUAL(rw_respond_freeze(r, a, detail, sizeof detail), 0);
	CU_ASSERT_EQUAL(rw_respond_kill(r, a, RW_KILL_AUTO, detail, sizeof detail), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "cgroup.kill"));
	CU_ASSERT(events_has(a, "populated 0"));
	char procs[256] = "x";
	cg_file(a, "cgroup.procs", procs, sizeof procs);
	CU_ASSERT_STRING_EQUAL(procs, "");
	cg_file(sub, "cgroup.procs", procs, sizeof procs);
	CU_ASSERT_STRING_EQUAL(procs, "");
	CU_ASSERT(died_by_sigkill(busy));
	CU_ASSERT(died_by_sigkill(idle));
	CU_ASSERT(died_by_sigkill(deep));
	CU_ASSERT_EQUAL(rw_respond_kill(r, a, RW_KILL_AUTO, detail, sizeof detail), 0); /* idempotent */
	rw_respond_thaw(r, a, detail, sizeof detail);

	/* the fallback for kernels before 5.14: SIGKILL over cgroup.procs of the subtree, frozen and not */
	busy = spawn_in(a, true);
	idle = spawn_in(sub, false);
	CU_ASSERT_EQUAL(rw_respond_kill(r, a, RW_KILL_SIGNALS, detail, sizeof detail), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "SIGKILL to 2 processes"));
	CU_ASSERT(events_has(a, "populated 0"));
	CU_ASSERT(died_by_sigkill(busy));
	CU_ASSERT(died_by_sigkill(idle));
	busy = spawn_in(sub, true);
	CU_ASSERT_EQUAL(rw_respond_freeze(r, a, detail, sizeof detail), 0);
	CU_ASSERT_EQUAL(rw_respond_kill(r, a, RW_KILL_SIGNALS, detail, sizeof detail), 0);
	CU_ASSERT(events_has(a, "populated 0"));
	CU_ASSERT(died_by_sigkill(busy));
	rw_respond_thaw(r, a, detail, sizeof detail);

	/* vanished is success */
	snprintf(gone, sizeof gone, "%s/never-there", base_rel);
	CU_ASSERT_EQUAL(rw_respond_freeze(r, gone, detail, sizeof detail), RW_RESPOND_VANISHED);
	CU_ASSERT_EQUAL(rw_respond_kill(r, gone, RW_KILL_AUTO, detail, sizeof detail), RW_RESPOND_VANISHED);
	CU_ASSERT_EQUAL(rw_respond_kill(r, gone, RW_KILL_SIGNALS, detail, sizeof detail), RW_RESPOND_VANISHED);

	rmcg(sub);
	rmcg(a);
	rw_respond_close(r);
	unlink(audit_path);
}

static void test_actions_real_cgroups(void)
{
	if (!have_cgroups())
		return;
	actions_on(cg2, true);
}

/* A second mount of the same cgroup2 hierarchy is not libcgroup's: plain writes, same behaviour. */
static void test_actions_plain_writes(void)
{
	if (!have_cgroups())
		return;
	char mnt[128];
	snprintf(mnt, sizeof mnt, "/tmp/rwrespond-cg2.%d", getpid());
	mkdir(mnt, 0700);
	if (mount("none", mnt, "cgroup2", 0, NULL) < 0) {
		printf("  (plain-write variant skipped: mount cgroup2: %s)\n", strerror(errno));
		rmdir(mnt);
		return;
	}
	char save[512];
	snprintf(save, sizeof save, "%s", cg2);
	snprintf(cg2, sizeof cg2, "%s", mnt);   /* the helpers write through the second mount as well */
	actions_on(mnt, false);
	snprintf(cg2, sizeof cg2, "%s", save);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

/* The whole path through rw_respond_consider: freeze mode and kill mode on real processes, audit lines in order,
 * idempotence, a thaw by someone else respected, and no action without an audit record. */
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
	pid_t m = spawn_in(a, true), bn = spawn_in(b, true);

	config_for(&c, RW_RESPONSE_FREEZE);
	struct rw_respond *r = open_ok(&c, cg2);
	target_init(&t, 31, a, RW_VERDICT_MINING, 65536, 3, t0);
	target_init(&benign, 32, b, RW_VERDICT_CLEAN, 100, 50, t0);
	rw_respond_consider(r, &t, t0);
	rw_respond_consider(r, &benign, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_FROZEN);
	CU_ASSERT_EQUAL(benign.action, RW_ACTION_NONE);
	CU_ASSERT(events_has(a, "frozen 1"));
	CU_ASSERT(events_has(b, "frozen 0"));
	CU_ASSERT_EQUAL(audit_count("\"action\":\"freeze\"", "\"result\":\"pending\""), 1);
	CU_ASSERT_EQUAL(audit_count("\"action\":\"freeze\"", "\"result\":\"ok\""), 1);
	CU_ASSERT_EQUAL(audit_count("\"evidence\":{\"score\":1,\"verdict\":\"mining\"", "fp_rounding_modes"), 2);
	CU_ASSERT_EQUAL(audit_count("4 \\\"distinct\\\" modes", NULL), 2);     /* escaped */
	/* pending comes first */
	FILE *f = fopen(audit_path, "r");
	char line[8192] = "";
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"result\":\"pending\""));
	fclose(f);
	/* stays frozen and marked frozen, even after the verdict drops; nothing more is written */
	t.verdict.intervals_in_verdict = 9;
	rw_respond_consider(r, &t, t0 + S);
	t.verdict.verdict = RW_VERDICT_CLEAN;
	rw_respond_consider(r, &t, t0 + 2 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_FROZEN);
	CU_ASSERT_EQUAL(t.action_time_ns, t0);
	CU_ASSERT(events_has(a, "frozen 1"));
	CU_ASSERT_EQUAL(audit_count(NULL, NULL), 2);
	/* an operator thaws it: respected for this episode */
	rw_respond_thaw(r, a, detail, sizeof detail);
	t.verdict.verdict = RW_VERDICT_MINING;
	rw_respond_consider(r, &t, t0 + 3 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_NONE);
	CU_ASSERT(events_has(a, "frozen 0"));
	rw_respond_close(r);

	/* kill mode: freeze then kill; the benign neighbour keeps running */
	config_for(&c, RW_RESPONSE_KILL);
	r = open_ok(&c, cg2);
	rw_respond_consider(r, &benign, t0);
	rw_respond_consider(r, &t, t0 + 4 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_KILLED);
	CU_ASSERT(died_by_sigkill(m));
	CU_ASSERT(events_has(a, "populated 0"));
	CU_ASSERT(events_has(a, "frozen 0")); /* left thawed and empty */
	CU_ASSERT(events_has(b, "populated 1"));
	CU_ASSERT_EQUAL(kill(bn, 0), 0);
	CU_ASSERT_EQUAL(audit_count("\"action\":\"kill\"", "\"result\":\"pending\""), 1);
	CU_ASSERT_EQUAL(audit_count("\"action\":\"kill\"", "\"result\":\"ok\""), 1);
	rw_respond_consider(r, &t, t0 + 5 * S);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_KILLED);
	CU_ASSERT_EQUAL(audit_count(NULL, NULL), 2);
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
	m = spawn_in(a, true);
	config_for(&c, RW_RESPONSE_KILL);
	snprintf(c.audit_log, sizeof c.audit_log, "/dev/full");
	r = open_ok(&c, cg2);
	target_init(&t, 34, a, RW_VERDICT_MINING, 65536, 3, t0);
	rw_respond_consider(r, &t, t0);
	CU_ASSERT_EQUAL(t.action, RW_ACTION_FAILED);
	CU_ASSERT(events_has(a, "populated 1"));
	CU_ASSERT(events_has(a, "frozen 0"));
	CU_ASSERT_EQUAL(kill(m, 0), 0);
	rw_respond_close(r);

	reap(m);
	reap(bn);
	rmcg(a);
	rmcg(b);
	unlink(audit_path);
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

static const rw_test tests[] = {
	RW_TEST(test_action_names),
	RW_TEST(test_open_errors),
	RW_TEST(test_rules_self_root_init),
	RW_TEST(test_rules_allow_lists),
	RW_TEST(test_gating_and_rate_limit),
	RW_TEST(test_actions_real_cgroups),
	RW_TEST(test_actions_plain_writes),
	RW_TEST(test_consider_freeze_kill),
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
