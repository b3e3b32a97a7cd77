/* cgroups suite: mountinfo parsing (pure v2, hybrid, legacy, escapes, malformed) and the walk over fixture
 * cgroupfs trees. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rigwatch/cgroups.h"
#include "rw_test.h"

static char *slurp(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", rw_test_data_dir(), rel);
	FILE *f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_mountinfo_pure_v2(void)
{
	struct rw_cgroup_mounts m;
	char err[256];
	CU_ASSERT_EQUAL(rw_cgroup_mounts_parse(slurp("mountinfo/pure-v2.txt"), &m, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(m.v2, "/sys/fs/cgroup");
	CU_ASSERT_FALSE(m.hybrid);
	CU_ASSERT_STRING_EQUAL(m.v1_memory, "");
	CU_ASSERT_STRING_EQUAL(m.v1_perf_event, "");
}

static void test_mountinfo_hybrid(void)
{
	struct rw_cgroup_mounts m;
	char err[256];
	CU_ASSERT_EQUAL(rw_cgroup_mounts_parse(slurp("mountinfo/hybrid-debian12.txt"), &m, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(m.v2, "/sys/fs/cgroup/unified");
	CU_ASSERT_TRUE(m.hybrid);
	CU_ASSERT_STRING_EQUAL(m.v1_memory, "/sys/fs/cgroup/memory");
	CU_ASSERT_STRING_EQUAL(m.v1_cpu, "/sys/fs/cgroup/cpu");
	CU_ASSERT_STRING_EQUAL(m.v1_cpuacct, "/sys/fs/cgroup/cpuacct");
	CU_ASSERT_STRING_EQUAL(m.v1_pids, "/sys/fs/cgroup/pids");
	CU_ASSERT_STRING_EQUAL(m.v1_freezer, "/sys/fs/cgroup/freezer");
	CU_ASSERT_STRING_EQUAL(m.v1_perf_event, ""); /* perf_event stays on v2 there */
}

static void test_mountinfo_legacy_v1(void)
{
	struct rw_cgroup_mounts m;
	char err[256] = "";
	CU_ASSERT_EQUAL(rw_cgroup_mounts_parse(slurp("mountinfo/legacy-v1-only.txt"), &m, err, sizeof err), 0);
	CU_ASSERT_EQUAL(m.layout, RW_CGROUP_V1);
	CU_ASSERT_FALSE(m.hybrid);
	CU_ASSERT_STRING_EQUAL(m.v2, "");
	CU_ASSERT_STRING_EQUAL(m.v1_systemd, "/sys/fs/cgroup/systemd");
	CU_ASSERT_STRING_EQUAL(m.v1_cpu, "/sys/fs/cgroup/cpu,cpuacct");
	CU_ASSERT_STRING_EQUAL(m.v1_cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
	CU_ASSERT_STRING_EQUAL(m.v1_memory, "/sys/fs/cgroup/memory");
	CU_ASSERT_STRING_EQUAL(m.v1_perf_event, "");
	CU_ASSERT_STRING_EQUAL(rw_cgroup_layout_name(m.layout), "v1");

	CU_ASSERT_EQUAL(rw_cgroup_mounts_parse(slurp("mountinfo/rhel8-v1-slurm.txt"), &m, err, sizeof err), 0);
	CU_ASSERT_EQUAL(m.layout, RW_CGROUP_V1);
	CU_ASSERT_STRING_EQUAL(m.v1_perf_event, "/sys/fs/cgroup/perf_event");
	CU_ASSERT_STRING_EQUAL(m.v1_freezer, "/sys/fs/cgroup/freezer");
	CU_ASSERT_STRING_EQUAL(m.v1_pids, "/sys/fs/cgroup/pids");
	CU_ASSERT_STRING_EQUAL(m.v1_systemd, "/sys/fs/cgroup/systemd");

	/* no cgroup mount of either kind */
	const char *none = "25 21 0:22 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n";
	CU_ASSERT_EQUAL(rw_cgroup_mounts_parse(none, &m, err, sizeof err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no cgroup mount found"));
}

/* The walked v1 hierarchy: the freezer with a Slurm tree, else an accounting hierarchy with child cgroups, else
 * name=systemd. */
static void test_v1_pick(void)
{
	struct rw_cgroup_mounts m;
	char tmpl[] = "/tmp/rwcgpick.XXXXXX", sub[64];
	char *empty = mkdtemp(tmpl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(empty);

	memset(&m, 0, sizeof m);
	snprintf(m.v1_freezer, sizeof m.v1_freezer, "%s/cgroupfs/v1/freezer", rw_test_data_dir());
	snprintf(m.v1_cpuacct, sizeof m.v1_cpuacct, "%s/cgroupfs/v1/cpuacct", rw_test_data_dir());
	snprintf(m.v1_systemd, sizeof m.v1_systemd, "%s", empty);
	CU_ASSERT_EQUAL(rw_cgroup_v1_pick(&m), 0);
	CU_ASSERT_STRING_EQUAL(m.v1_walk_name, "freezer");
	CU_ASSERT_STRING_EQUAL(m.v1_walk, m.v1_freezer);

	snprintf(m.v1_freezer, sizeof m.v1_freezer, "%s", empty); /* no Slurm tree */
	CU_ASSERT_EQUAL(rw_cgroup_v1_pick(&m), 0);
	CU_ASSERT_STRING_EQUAL(m.v1_walk_name, "cpuacct");

	snprintf(m.v1_cpuacct, sizeof m.v1_cpuacct, "%s", empty); /* accounting with no child cgroup */
	CU_ASSERT_EQUAL(rw_cgroup_v1_pick(&m), 0);
	CU_ASSERT_STRING_EQUAL(m.v1_walk_name, "name=systemd");

	snprintf(sub, sizeof sub, "%s/slurm_node3", empty); /* multiple-slurmd naming */
	CU_ASSERT_EQUAL(mkdir(sub, 0755), 0);
	m.v1_systemd[0] = '\0';
	CU_ASSERT_EQUAL(rw_cgroup_v1_pick(&m), 0);
	CU_ASSERT_STRING_EQUAL(m.v1_walk_name, "freezer");
	rmdir(sub);
	rmdir(empty);

	memset(&m, 0, sizeof m);
	CU_ASSERT_EQUAL(rw_cgroup_v1_pick(&m), -ENOENT);
}

static void test_mountinfo_escapes_and_comounts(void)
{
	struct rw_cgroup_mounts m;
	char err[256];
	CU_ASSERT_EQUAL(rw_cgroup_mounts_parse(slurp("mountinfo/escaped-and-perf-v1.txt"), &m, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(m.v2, "/mnt/cgroup two");
	CU_ASSERT_STRING_EQUAL(m.v1_cpu, "/sys/fs/cgroup/cpu,cpuacct");
	CU_ASSERT_STRING_EQUAL(m.v1_cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
	CU_ASSERT_STRING_EQUAL(m.v1_perf_event, "/sys/fs/cgroup/perf_event");
}

static void test_mountinfo_malformed(void)
{
	struct rw_cgroup_mounts m;
	char err[256] = "";
	const char *bad = "26 22 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n27 22 0:25 / /x rw shared:5 pstore\n";
	CU_ASSERT_EQUAL(rw_cgroup_mounts_parse(bad, &m, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
	CU_ASSERT_EQUAL(rw_cgroup_mounts_parse("", &m, err, sizeof err), -ENOENT);
	CU_ASSERT_EQUAL(rw_cgroup_mounts_parse("1 2 3\n", &m, err, sizeof err), -EINVAL);
}

static void test_mountinfo_this_host(void)
{
	struct rw_cgroup_mounts m;
	char err[256];
	int r = rw_cgroup_mounts_detect("/proc/self/mountinfo", &m, err, sizeof err);
	if (r == -ENOENT)
		return; /* a host without cgroups is allowed to exist */
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT(m.v2[0] != '\0' || (m.layout == RW_CGROUP_V1 && m.v1_walk[0] != '\0'));
	CU_ASSERT_EQUAL(rw_cgroup_mounts_detect("/nonexistent/mountinfo", &m, err, sizeof err), -ENOENT);
}

struct seen {
	unsigned n;
	char paths[64][512];
	char labels[64][96];
	uint64_t ids[64];
};

static int collect(const struct rw_cgroup_entry *e, void *arg)
{
	struct seen *s = arg;
	if (s->n == 64)
		return -ENOSPC;
	snprintf(s->paths[s->n], sizeof s->paths[0], "%s", e->path);
	if (e->identity)
		rw_identity_label(e->identity, s->labels[s->n], sizeof s->labels[0]);
	else
		snprintf(s->labels[s->n], sizeof s->labels[0], "(known)");
	s->ids[s->n] = e->id;
	/* Opened, unless known to the caller; reachable from its parent either way. */
	if (e->identity) {
		CU_ASSERT(e->dir_fd >= 0);
	} else {
		CU_ASSERT_EQUAL(e->dir_fd, -1);
	}
	struct stat st;
	CU_ASSERT(fstatat(e->parent_fd, e->name, &st, 0) == 0 && (uint64_t)st.st_ino == e->id);
	s->n++;
	return 0;
}

/* A walk that knows one target id, and what it saw. */
struct known_and_seen {
	uint64_t id;
	struct seen s;
};

static int collect_known(const struct rw_cgroup_entry *e, void *arg)
{
	return collect(e, &((struct known_and_seen *)arg)->s);
}

static int find(const struct seen *s, const char *path)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->paths[i], path) == 0)
			return (int)i;
	return -1;
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX3 "a1b2c3d4e5f60718a1b2c3d4e5f60718a1b2c3d4e5f60718a1b2c3d4e5f60718"

/* A v1 tree: no cgroup.events; a leaf is a target when its cgroup.procs lists a process. */
static void test_walk_v1_fixture(void)
{
	char root[512];
	struct seen *s = calloc(1, sizeof *s);
	snprintf(root, sizeof root, "%s/cgroupfs/v1/freezer", rw_test_data_dir());
	CU_ASSERT_EQUAL(rw_cgroup_walk(root, NULL, 0, NULL, 0, collect, s, NULL), 0);
	int k = find(s, "/slurm/uid_1000/job_42/step_0");
	CU_ASSERT(k >= 0);
	if (k >= 0)
		CU_ASSERT_STRING_EQUAL(s->labels[k], "slurm:42/step_0");
	CU_ASSERT(find(s, "/slurm/uid_1000/job_42/step_batch") >= 0); /* its processes are in task_0 below */
	CU_ASSERT(find(s, "/docker/" HEX64) >= 0);
	CU_ASSERT_EQUAL(find(s, "/slurm/uid_1000/job_42/step_1"), -1); /* emptied, left behind */
	CU_ASSERT_EQUAL(find(s, "/slurm/uid_1000/job_42/step_batch/task_0"), -1);
	CU_ASSERT_EQUAL(find(s, "/slurm/uid_1000/job_42"), -1);
	CU_ASSERT_EQUAL(find(s, "/slurm/uid_1000"), -1);
	CU_ASSERT_EQUAL(s->n, 3u);
	free(s);
}

static void test_walk_pure_v2_fixture(void)
{
	char root[512];
	struct seen *s = calloc(1, sizeof *s);
	struct rw_walk_stats st;
	snprintf(root, sizeof root, "%s/cgroupfs/v2", rw_test_data_dir());
	CU_ASSERT_EQUAL(rw_cgroup_walk(root, NULL, 0, NULL, 0, collect, s, &st), 0);

	/* workloads found */
	CU_ASSERT(find(s, "/system.slice/docker-" HEX64 ".scope") >= 0);
	CU_ASSERT(find(s, "/system.slice/nginx.service") >= 0);
	CU_ASSERT(find(s, "/system.slice/slurmstepd.scope/job_42/step_0") >= 0);
	CU_ASSERT(find(s, "/system.slice/slurmstepd.scope/job_42/step_batch") >= 0);
	CU_ASSERT(find(s, "/machine.slice/libpod-" HEX3 ".scope") >= 0);
	CU_ASSERT(find(s, "/user.slice/user-1000.slice/user@1000.service/app.slice/app-editor.scope") >= 0);
	CU_ASSERT(find(s, "/user.slice/user-1000.slice/session-3.scope") >= 0);
	CU_ASSERT(find(s, "/batch/leafjob") >= 0);
	CU_ASSERT(find(s, "/init.scope") >= 0);
	CU_ASSERT(find(s, "/lxc.payload.web") >= 0);
	int k = find(s, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0c4f3f2a_1f2c_11e9_b015_"
			"1ebee232acfa.slice/cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba98"
			"76543210.scope");
	CU_ASSERT(k >= 0);
	if (k >= 0)
		CU_ASSERT_STRING_EQUAL(s->labels[k], "containerd:fedcba987654");

	/* not targets: empty, structure, runtime helpers, and what lies below a target */
	CU_ASSERT_EQUAL(find(s, "/system.slice/idle.service"), -1);
	CU_ASSERT_EQUAL(find(s, "/batch/emptyleaf"), -1);
	CU_ASSERT_EQUAL(find(s, "/batch"), -1);
	CU_ASSERT_EQUAL(find(s, "/system.slice/slurmstepd.scope/job_42/step_0/user/task_0"), -1);
	CU_ASSERT_EQUAL(find(s, "/machine.slice/libpod-conmon-" HEX3 ".scope"), -1);
	CU_ASSERT_EQUAL(find(s, "/lxc.monitor.web"), -1);
	CU_ASSERT_EQUAL(find(s, "/system.slice/slurmstepd.scope"), -1);
	CU_ASSERT_EQUAL(find(s, "/user.slice/user-1000.slice/user@1000.service"), -1);
	CU_ASSERT_EQUAL(find(s, "/"), -1);

	/* ids are the directory inodes */
	int d = find(s, "/system.slice/nginx.service");
	char p[1024];
	snprintf(p, sizeof p, "%s/system.slice/nginx.service", root);
	struct stat stt;
	CU_ASSERT_EQUAL(stat(p, &stt), 0);
	if (d >= 0)
		CU_ASSERT_EQUAL(s->ids[d], (uint64_t)stt.st_ino);
	CU_ASSERT_EQUAL(rw_cgroup_id(p), (uint64_t)stt.st_ino);
	CU_ASSERT_EQUAL(rw_cgroup_id("/nonexistent/cg"), 0);
	CU_ASSERT_EQUAL(st.targets, s->n);
	CU_ASSERT(st.dirs > s->n);
	free(s);
}

static void test_walk_include_exclude(void)
{
	char root[512];
	struct seen *s = calloc(1, sizeof *s);
	const char *inc[] = { "/system.slice/*" };
	const char *exc[] = { "*nginx*", "*slurm*" };
	snprintf(root, sizeof root, "%s/cgroupfs/v2", rw_test_data_dir());
	CU_ASSERT_EQUAL(rw_cgroup_walk(root, inc, 1, exc, 2, collect, s, NULL), 0);
	CU_ASSERT_EQUAL(s->n, 1);
	CU_ASSERT(find(s, "/system.slice/docker-" HEX64 ".scope") == 0);
	free(s);
}

static int stop_early(const struct rw_cgroup_entry *e, void *arg)
{
	(void)e;
	(*(int *)arg)++;
	return -ECANCELED;
}

static void test_walk_errors(void)
{
	int calls = 0;
	char root[512];
	snprintf(root, sizeof root, "%s/cgroupfs/v2", rw_test_data_dir());
	CU_ASSERT_EQUAL(rw_cgroup_walk("/nonexistent/root", NULL, 0, NULL, 0, stop_early, &calls, NULL), -ENOENT);
	CU_ASSERT_EQUAL(rw_cgroup_walk(root, NULL, 0, NULL, 0, stop_early, &calls, NULL), -ECANCELED);
	CU_ASSERT_EQUAL(calls, 1);
}

/* A tree that changes under the walk: directories removed between readdir and open are skipped. */
static int remove_sibling(const struct rw_cgroup_entry *e, void *arg)
{
	const char *base = arg;
	char p[1024];
	if (strstr(e->path, "/a")) {
		snprintf(p, sizeof p, "%s/b/cgroup.events", base);
		unlink(p);
		snprintf(p, sizeof p, "%s/b", base);
		rmdir(p);
	}
	return 0;
}

static void test_walk_vanishing(void)
{
	char base[] = "/tmp/rwcg.XXXXXX";
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(base));
	char p[1024];
	for (int i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%c", base, "ab"[i]);
		mkdir(p, 0755);
	}
	struct rw_walk_stats st;
	CU_ASSERT_EQUAL(rw_cgroup_walk(base, NULL, 0, NULL, 0, remove_sibling, base, &st), 0);
	CU_ASSERT(st.targets >= 1 && st.targets <= 2);
	snprintf(p, sizeof p, "%s/a", base);
	rmdir(p);
	snprintf(p, sizeof p, "%s/b", base);
	rmdir(p);
	rmdir(base);
}

static bool known_one(uint64_t id, void *arg)
{
	return id == ((const struct known_and_seen *)arg)->id;
}

/* A known target is offered again without a look at cgroup.events: even an empty one (idle.service here, which a
 * fresh walk skips), as long as its directory exists. */
static void test_walk_known_targets(void)
{
	char root[512], p[1024];
	struct stat st;
	snprintf(root, sizeof root, "%s/cgroupfs/v2", rw_test_data_dir());
	snprintf(p, sizeof p, "%s/system.slice/idle.service", root);
	CU_ASSERT_EQUAL_FATAL(stat(p, &st), 0);
	uint64_t idle_id = (uint64_t)st.st_ino;

	struct known_and_seen *ks = calloc(1, sizeof *ks);
	ks->id = idle_id;
	struct rw_walk_stats ws;
	CU_ASSERT_EQUAL(rw_cgroup_walk_known(root, NULL, 0, NULL, 0, known_one, collect_known, ks, &ws), 0);
	int k = find(&ks->s, "/system.slice/idle.service");
	CU_ASSERT(k >= 0);
	if (k >= 0)
		CU_ASSERT_STRING_EQUAL(ks->s.labels[k], "(known)"); /* offered without its identity: the caller has it */
	CU_ASSERT(find(&ks->s, "/system.slice/nginx.service") >= 0);
	CU_ASSERT_EQUAL(find(&ks->s, "/batch/emptyleaf"), -1);
	free(ks);
}

static const rw_test tests[] = {
	RW_TEST(test_mountinfo_pure_v2),
	RW_TEST(test_mountinfo_hybrid),
	RW_TEST(test_mountinfo_legacy_v1),
	RW_TEST(test_v1_pick),
	RW_TEST(test_walk_v1_fixture),
	RW_TEST(test_mountinfo_escapes_and_comounts),
	RW_TEST(test_mountinfo_malformed),
	RW_TEST(test_mountinfo_this_host),
	RW_TEST(test_walk_pure_v2_fixture),
	RW_TEST(test_walk_include_exclude),
	RW_TEST(test_walk_errors),
	RW_TEST(test_walk_vanishing),
	RW_TEST(test_walk_known_targets),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("cgroups", tests); }
