/* cgstats suite: file parsers, and reading fixture trees of a pure-v2 host a hybrid host (v1 twins) and a v1-only host. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "rigwatch/cgstats.h"
#include "rw_test.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_parse_cpu_stat(void)
{
	struct rw_cgstats s = { 0 };
	CU_ASSERT_EQUAL(rw_cgstats_parse_cpu_stat("usage_usec 10\nuser_usec 7\nsystem_usec 3\nnr_periods 4\n"
						  "nr_throttled 2\nthrottled_usec 99\n", &s), 0);
	CU_ASSERT_EQUAL(s.usage_usec, 10);
	CU_ASSERT_EQUAL(s.user_usec, 7);
	CU_ASSERT_EQUAL(s.system_usec, 3);
	CU_ASSERT_EQUAL(s.nr_throttled, 2);
	CU_ASSERT_EQUAL(s.throttled_usec, 99);
	CU_ASSERT_EQUAL(s.have, RW_CGS_CPU | RW_CGS_THROTTLE);

	struct rw_cgstats t = { 0 };
	CU_ASSERT_EQUAL(rw_cgstats_parse_cpu_stat("usage_usec 5\n", &t), 0);
	CU_ASSERT_EQUAL(t.have, RW_CGS_CPU);
	CU_ASSERT_EQUAL(rw_cgstats_parse_cpu_stat("usage_usec\n", &t), -EINVAL);
	CU_ASSERT_EQUAL(rw_cgstats_parse_cpu_stat("usage_usec x\n", &t), -EINVAL);
	CU_ASSERT_EQUAL(rw_cgstats_parse_cpu_stat("usage_usec -5\n", &t), -EINVAL);
	CU_ASSERT_EQUAL(rw_cgstats_parse_cpu_stat("usage_usec 99999999999999999999999\n", &t), -EINVAL);
	CU_ASSERT_EQUAL(rw_cgstats_parse_cpu_stat("", &t), 0);
}

static void test_parse_memory_stat(void)
{
	struct rw_cgstats s = { 0 };
	CU_ASSERT_EQUAL(rw_cgstats_parse_memory_stat("anon 100\nfile 50\nanon_thp 20\n", &s), 0);
	CU_ASSERT_EQUAL(s.anon, 100);
	CU_ASSERT_EQUAL(s.file, 50);
	CU_ASSERT_EQUAL(s.anon_thp, 20);
	/* v1: the hierarchical totals win over the cgroup's own numbers */
	struct rw_cgstats v1 = { 0 };
	CU_ASSERT_EQUAL(rw_cgstats_parse_memory_stat("cache 1\nrss 2\nrss_huge 0\ntotal_cache 10\ntotal_rss 20\n"
						     "total_rss_huge 4\n", &v1), 0);
	CU_ASSERT_EQUAL(v1.anon, 20);
	CU_ASSERT_EQUAL(v1.file, 10);
	CU_ASSERT_EQUAL(v1.anon_thp, 4);
}

static void test_parse_pressure(void)
{
	struct rw_cgstats s = { 0 };
	CU_ASSERT_EQUAL(rw_cgstats_parse_pressure("some avg10=12.34 avg60=1.00 avg300=0.00 total=777\n"
						  "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &s), 0);
	CU_ASSERT_EQUAL(s.psi_some_avg10_x100, 1234);
	CU_ASSERT_EQUAL(s.psi_some_total_usec, 777);
	CU_ASSERT(s.have & RW_CGS_PSI);
	struct rw_cgstats t = { 0 };
	CU_ASSERT_EQUAL(rw_cgstats_parse_pressure("full avg10=0.00 total=1\n", &t), -EINVAL);
	CU_ASSERT_EQUAL(rw_cgstats_parse_pressure("some avg10=101.00 avg60=0 total=1\n", &t), -EINVAL);
	CU_ASSERT_EQUAL(rw_cgstats_parse_pressure("some avg10=1.5 total=1\n", &t), -EINVAL);
	CU_ASSERT_EQUAL(rw_cgstats_parse_pressure("some avg60=1.00\ntotal=5\n", &t), -EINVAL);
	CU_ASSERT_EQUAL(t.have, 0);
}

static void test_read_pure_v2(void)
{
	char dir[512];
	struct rw_cgstats s;
	snprintf(dir, sizeof dir, "%s/cgroupfs/v2/system.slice/docker-" HEX64 ".scope", rw_test_data_dir());
	struct rw_cgstats_paths p = { .v2_dir = dir };
	CU_ASSERT_EQUAL(rw_cgstats_read(&p, &s), 0);
	CU_ASSERT_EQUAL(s.usage_usec, 5000000);
	CU_ASSERT_EQUAL(s.memory_current, 300u << 20);
	CU_ASSERT_EQUAL(s.anon, 150u << 20);
	CU_ASSERT_EQUAL(s.anon_thp, (300u << 20) / 8);
	CU_ASSERT_EQUAL(s.pids_current, 3);
	CU_ASSERT_EQUAL(s.psi_some_avg10_x100, 150);
	CU_ASSERT_EQUAL(s.have, RW_CGS_CPU | RW_CGS_THROTTLE | RW_CGS_MEMORY | RW_CGS_MEMSTAT | RW_CGS_PIDS |
				       RW_CGS_PSI);

	/* the same through an open directory fd, as the agent reads during its walk */
	struct rw_cgstats viafd;
	struct rw_cgstats_paths q = { .v2_dir = dir, .v2_fd = open(dir, O_RDONLY | O_DIRECTORY) };
	CU_ASSERT_FATAL(q.v2_fd > 0);
	CU_ASSERT_EQUAL(rw_cgstats_read(&q, &viafd), 0);
	CU_ASSERT_EQUAL(memcmp(&viafd, &s, sizeof s), 0);
	close(q.v2_fd);
}

static void test_read_hybrid_uses_v1_twins(void)
{
	char v2[512], cpu[512], acct[512], mem[512], pids[512];
	const char *d = rw_test_data_dir();
	snprintf(v2, sizeof v2, "%s/cgroupfs/hybrid/unified/system.slice/docker-" HEX64 ".scope", d);
	snprintf(cpu, sizeof cpu, "%s/cgroupfs/hybrid/cpu/system.slice/docker-" HEX64 ".scope", d);
	snprintf(acct, sizeof acct, "%s/cgroupfs/hybrid/cpuacct/system.slice/docker-" HEX64 ".scope", d);
	snprintf(mem, sizeof mem, "%s/cgroupfs/hybrid/memory/system.slice/docker-" HEX64 ".scope", d);
	snprintf(pids, sizeof pids, "%s/cgroupfs/hybrid/pids/system.slice/docker-" HEX64 ".scope", d);
	struct rw_cgstats_paths p = { .v2_dir = v2, .v1_cpu_dir = cpu, .v1_cpuacct_dir = acct,
				      .v1_memory_dir = mem, .v1_pids_dir = pids };
	struct rw_cgstats s;
	CU_ASSERT_EQUAL(rw_cgstats_read(&p, &s), 0);
	/* v2's cpu.stat wins for usage; throttling, memory and pids come from the v1 twins */
	CU_ASSERT_EQUAL(s.usage_usec, 2500000);
	CU_ASSERT_EQUAL(s.nr_throttled, 7);
	CU_ASSERT_EQUAL(s.throttled_usec, 3000000);
	CU_ASSERT_EQUAL(s.memory_current, 260u << 20);
	CU_ASSERT_EQUAL(s.anon, 250u << 20);
	CU_ASSERT_EQUAL(s.anon_thp, 2u << 20);
	CU_ASSERT_EQUAL(s.pids_current, 17);

	/* files found missing are remembered and not tried again; the numbers stay the same */
	CU_ASSERT_NOT_EQUAL(p.missing, 0);
	uint32_t missing = p.missing;
	struct rw_cgstats again;
	CU_ASSERT_EQUAL(rw_cgstats_read(&p, &again), 0);
	CU_ASSERT_EQUAL(p.missing, missing);
	CU_ASSERT_EQUAL(memcmp(&again, &s, sizeof s), 0);

	/* without v2 cpu.stat, cpuacct gives usage in ns and user/system in ticks */
	char empty_v2[512];
	snprintf(empty_v2, sizeof empty_v2, "%s/cgroupfs/hybrid/unified/system.slice", d);
	struct rw_cgstats_paths q = { .v2_dir = empty_v2, .v1_cpuacct_dir = acct };
	CU_ASSERT_EQUAL(rw_cgstats_read(&q, &s), 0);
	CU_ASSERT_EQUAL(s.usage_usec, 9999);
	CU_ASSERT(s.have & RW_CGS_CPU);
}

/* A v1-only host: the walked directory (here the freezer's) is only checked for existence, everything else comes
 * from the controller twins at the same relative path. */
static void test_read_v1_only(void)
{
	char walk[512], cpu[512], acct[512], mem[512], pids[512];
	const char *d = rw_test_data_dir(), *rel = "slurm/uid_1000/job_42/step_0";
	snprintf(walk, sizeof walk, "%s/cgroupfs/v1/freezer/%s", d, rel);
	snprintf(cpu, sizeof cpu, "%s/cgroupfs/v1/cpu/%s", d, rel);
	snprintf(acct, sizeof acct, "%s/cgroupfs/v1/cpuacct/%s", d, rel);
	snprintf(mem, sizeof mem, "%s/cgroupfs/v1/memory/%s", d, rel);
	snprintf(pids, sizeof pids, "%s/cgroupfs/v1/pids/%s", d, rel);
	struct rw_cgstats_paths p = { .v2_dir = walk, .v1_only = true, .v1_cpu_dir = cpu, .v1_cpuacct_dir = acct,
				      .v1_memory_dir = mem, .v1_pids_dir = pids };
	struct rw_cgstats s;
	CU_ASSERT_EQUAL(rw_cgstats_read(&p, &s), 0);
	CU_ASSERT_EQUAL(s.have & (RW_CGS_CPU | RW_CGS_THROTTLE | RW_CGS_MEMORY | RW_CGS_MEMSTAT | RW_CGS_PIDS),
			RW_CGS_CPU | RW_CGS_THROTTLE | RW_CGS_MEMORY | RW_CGS_MEMSTAT | RW_CGS_PIDS);
	CU_ASSERT_EQUAL(s.usage_usec, 1500000);           /* cpuacct.usage, ns */
	long hz = sysconf(_SC_CLK_TCK);
	CU_ASSERT_EQUAL(s.user_usec, 120ull * 1000000 / (uint64_t)hz); /* cpuacct.stat, ticks */
	CU_ASSERT_EQUAL(s.nr_periods, 10);
	CU_ASSERT_EQUAL(s.nr_throttled, 2);
	CU_ASSERT_EQUAL(s.throttled_usec, 5000);         /* throttled_time, ns */
	CU_ASSERT_EQUAL(s.memory_current, 272629760);
	CU_ASSERT_EQUAL(s.anon, 270532608);               /* total_rss: hierarchical, like v2 */
	CU_ASSERT_EQUAL(s.anon_thp, 2097152);
	CU_ASSERT_EQUAL(s.file, 1048576);
	CU_ASSERT_EQUAL(s.pids_current, 5);
	CU_ASSERT_FALSE(s.have & RW_CGS_PSI);

	/* the walked directory gone: the target vanished, even with twins left behind */
	char gone[600];
	snprintf(gone, sizeof gone, "%s/cgroupfs/v1/freezer/slurm/uid_1000/job_42/step_9", d);
	p.v2_dir = gone;
	CU_ASSERT_EQUAL(rw_cgstats_read(&p, &s), -ENOENT);
}

static void test_read_vanished(void)
{
	struct rw_cgstats s;
	struct rw_cgstats_paths p = { .v2_dir = "/nonexistent/cgroup/x" };
	CU_ASSERT_EQUAL(rw_cgstats_read(&p, &s), -ENOENT);
}

static const rw_test tests[] = {
	RW_TEST(test_parse_cpu_stat),
	RW_TEST(test_parse_memory_stat),
	RW_TEST(test_parse_pressure),
	RW_TEST(test_read_pure_v2),
	RW_TEST(test_read_hybrid_uses_v1_twins),
	RW_TEST(test_read_v1_only),
	RW_TEST(test_read_vanished),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("cgstats", tests); }
