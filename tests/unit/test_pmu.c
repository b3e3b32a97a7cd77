/* test_pmu: multiplex scaling, set-up without a PMU, the report, and real cgroup-mode counting: a busy child in
 * a fresh cgroup2 cgroup must show about one second of task-clock per second, a sleeping one about none.
 * The cgroup tests need root (cgroup creation and per-CPU perf events); they pass with a note otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/log.h"
#include "rigwatch/pmu.h"
#include "rw_test.h"

#define SW_MASK (RW_CTR_BIT(RW_CTR_TASK_CLOCK) | RW_CTR_BIT(RW_CTR_CONTEXT_SWITCHES) | \
		 RW_CTR_BIT(RW_CTR_PAGE_FAULTS))

static void test_scale(void)
{
	CU_ASSERT_EQUAL(rw_pmu_scale(1000, 1000, 0), 0);            /* never ran: no guess */
	CU_ASSERT_EQUAL(rw_pmu_scale(0, 0, 0), 0);
	CU_ASSERT_EQUAL(rw_pmu_scale(1000, 500, 500), 1000);        /* never multiplexed */
	CU_ASSERT_EQUAL(rw_pmu_scale(1000, 1000, 500), 2000);       /* on the PMU half the time */
	CU_ASSERT_EQUAL(rw_pmu_scale(7, 3, 2), 10);                 /* 21/2 rounds down */
	CU_ASSERT_EQUAL(rw_pmu_scale(1000, 400, 500), 1000);        /* running > enabled (skew): raw */
	/* raw * enabled passes 2^64 but the result fits. */
	CU_ASSERT_EQUAL(rw_pmu_scale(UINT64_C(1) << 62, UINT64_C(3) << 42, UINT64_C(1) << 42),
			UINT64_C(3) << 62);
	CU_ASSERT_EQUAL(rw_pmu_scale(UINT64_MAX - 1, UINT64_MAX, UINT64_MAX - 1), UINT64_MAX);
	CU_ASSERT_EQUAL(rw_pmu_scale(UINT64_MAX / 3, UINT64_MAX, UINT64_MAX / 2),
			(uint64_t)(((unsigned __int128)(UINT64_MAX / 3) * UINT64_MAX) / (UINT64_MAX / 2)));
	/* A result beyond 2^64 saturates rather than wrapping. */
	CU_ASSERT_EQUAL(rw_pmu_scale(UINT64_MAX / 2, UINT64_MAX, 1000), UINT64_MAX);
}

static void test_init_without_hardware_never_fails(void)
{
	struct rw_pmu *p;
	struct rw_pmu_event_info info[32];

	CU_ASSERT_EQUAL(rw_pmu_init(&p, "nosuchtable"), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(rw_pmu_init(&p, NULL), 0);
	unsigned n = rw_pmu_events(p, info, 32);
	CU_ASSERT_FATAL(n >= 3 && n <= 32);
	unsigned ok = 0, sw = 0;
	for (unsigned i = 0; i < n; i++) {
		ok += info[i].status == RW_EV_OK;
		if (info[i].role >= RW_CTR_FIRST_SOFTWARE) {
			sw++;
			if (info[i].status != RW_EV_OK)
				fprintf(stderr, "software %s: status %d, %s\n", info[i].name, info[i].status,
					strerror(info[i].error));
			CU_ASSERT_EQUAL(info[i].status, RW_EV_OK);
			CU_ASSERT_EQUAL(info[i].type, 1);  /* PERF_TYPE_SOFTWARE */
		}
	}
	CU_ASSERT_EQUAL(sw, 3);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	CU_ASSERT_EQUAL(rw_pmu_ncpus(p), (unsigned)online);
	CU_ASSERT_EQUAL(rw_pmu_fds_per_group(p), ok * rw_pmu_ncpus(p));
	if (rw_pmu_hw_available(p)) {
		CU_ASSERT_STRING_EQUAL(rw_pmu_hw_reason(p), "");
	} else {
		CU_ASSERT(strlen(rw_pmu_hw_reason(p)) > 10);
		printf("\n  (no hardware counters here: %s)\n", rw_pmu_hw_reason(p));
	}
	/* "auto" is the config file's spelling of NULL. */
	struct rw_pmu *q;
	CU_ASSERT_EQUAL_FATAL(rw_pmu_init(&q, "auto"), 0);
	CU_ASSERT_PTR_EQUAL(rw_pmu_table(q), rw_pmu_table(p));
	rw_pmu_free(q);
	rw_pmu_free(p);
}

static void test_report(void)
{
	struct rw_pmu *p;
	char *buf = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(rw_pmu_init(&p, "perf"), 0);
	FILE *f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	rw_pmu_report(p, f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "libpfm4: API version 4.0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "event table: perf"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "perf::instructions"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "type=1 config=0x1 config1=0x0"));  /* task-clock */
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "cgroup-mode counting: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, rw_pmu_hw_available(p) ? "hardware counters: available"
							     : "hardware counters: unavailable - "));
	if (access("/proc/sys/kernel/perf_event_paranoid", F_OK) == 0) {
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "perf_events generic PMU"));
	}
	if (getenv("RW_TEST_VERBOSE"))
		fputs(buf, stdout);
	free(buf);
	rw_pmu_free(p);
}

/* The cgroup2 mount, read independently of the pmu module. */
static int find_cgroup2(char *out, size_t len)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int ret = -ENOENT;
	if (!f)
		return -errno;
	while (fgets(line, sizeof line, f)) {
		char mnt[PATH_MAX];
		const char *dash = strstr(line, " - cgroup2 ");
		if (dash && sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strlen(mnt) < len) {
			strcpy(out, mnt);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

static bool v1_perf_event_mounted(void)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof line, f))
		if (strstr(line, " - cgroup ") && strstr(line, "perf_event"))
			found = true;
	fclose(f);
	return found;
}

static void test_cgroup_root(void)
{
	char mine[PATH_MAX], theirs[PATH_MAX];
	if (find_cgroup2(mine, sizeof mine) != 0 || v1_perf_event_mounted()) {
		rw_test_skip("no cgroup2 mount, or perf_event bound to v1");
		return;
	}
	CU_ASSERT_EQUAL_FATAL(rw_pmu_cgroup_root("/proc/self/mountinfo", theirs, sizeof theirs), 0);
	CU_ASSERT_STRING_EQUAL(theirs, mine);
	CU_ASSERT_EQUAL(rw_pmu_cgroup_root("/proc/self/mountinfo", theirs, 3), -ENAMETOOLONG);
}

/* A mountinfo that cannot be opened is "no cgroup mount", and nothing is read that was never written (valgrind
 * sees the difference in `make check-valgrind`; here the buffer must stay untouched). */
static void test_cgroup_root_without_mountinfo(void)
{
	char buf[64];
	memset(buf, 'x', sizeof buf);
	CU_ASSERT_EQUAL(rw_pmu_cgroup_root("/nonexistent/mountinfo", buf, sizeof buf), -ENOENT);
	CU_ASSERT_EQUAL(buf[0], 'x');
}

/* An explicit cgroup root (agent.cgroup_root, --cgroup-root) is where perf's cgroup mode is tried, not the host's
 * own mount: a directory that is no cgroup cannot have per-cgroup counters, whatever the host allows. */
static void test_cgroup_root_explicit(void)
{
	struct rw_pmu *p;
	char *text = NULL;
	size_t len = 0;
	char fixture[PATH_MAX];
	snprintf(fixture, sizeof fixture, "%s/cgroupfs/v2", rw_test_data_dir());
	CU_ASSERT_EQUAL_FATAL(access(fixture, R_OK | X_OK), 0);
	CU_ASSERT_EQUAL_FATAL(rw_pmu_init_at(&p, NULL, fixture), 0);
	CU_ASSERT_FALSE(rw_pmu_cgroup_permitted(p));
	FILE *m = open_memstream(&text, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	rw_pmu_report(p, m);
	fclose(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, fixture));
	free(text);
	rw_pmu_free(p);
}

static unsigned count_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The cgroup's own CPU time (cgroup2 cpu.stat usage_usec, kept by the core even without the cpu controller):
 * the reference task-clock must match. Wall time is not one: other work on this host steals the CPU. */
static uint64_t cg_usage_ns(const char *path)
{
	char file[PATH_MAX + 96], key[64];
	unsigned long long v, usage = 0;
	snprintf(file, sizeof file, "%s/cpu.stat", path);
	FILE *f = fopen(file, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%63s %llu", key, &v) == 2)
		if (strcmp(key, "usage_usec") == 0)
			usage = v;
	fclose(f);
	return (uint64_t)usage * 1000u;
}

struct cg {
	char path[PATH_MAX + 64];
	pid_t child;
};

/* A fresh cgroup2 cgroup with one child process in it, busy-looping or sleeping. */
static int cg_start(struct cg *c, const char *tag, bool busy)
{
	char root[PATH_MAX], procs[PATH_MAX + 96];
	int pfd[2];

	c->child = -1;
	if (find_cgroup2(root, sizeof root) != 0)
		return -ENOENT;
	snprintf(c->path, sizeof c->path, "%s/rw-test-pmu-%d-%s", root, (int)getpid(), tag);
	if (mkdir(c->path, 0755) != 0 && errno != EEXIST)
		return -errno;
	snprintf(procs, sizeof procs, "%s/cgroup.procs", c->path);
	if (pipe(pfd) != 0)
		return -errno;
	fflush(NULL);
	c->child = fork();
	if (c->child < 0)
		return -errno;
	if (c->child == 0) {
		rw_test_child_detach();
		int fd = open(procs, O_WRONLY);
		char ok = 'x';
		if (fd >= 0 && write(fd, "0\n", 2) == 2)
			ok = 'y';
		if (write(pfd[1], &ok, 1) != 1)
			_exit(1);
		if (busy)
			for (volatile unsigned long x = 0;; x++)
				;
		for (;;)
			pause();
	}
	char ok = 0;
	close(pfd[1]);
	if (read(pfd[0], &ok, 1) != 1)
		ok = 0;
	close(pfd[0]);
	return ok == 'y' ? 0 : -EIO;
}

/* Let the cgroup's child run until the cgroup has used min_ns more CPU, however slow or busy the machine is (at
 * most 60 s). A fixed sleep would give a spinner anywhere from a full CPU to almost nothing on a loaded host. */
static bool run_for_cpu(const struct cg *c, uint64_t min_ns)
{
	uint64_t u0 = cg_usage_ns(c->path);
	for (unsigned i = 0; i < 3000; i++) {
		if (cg_usage_ns(c->path) - u0 >= min_ns)
			return true;
		usleep(20000);
	}
	return false;
}

/* Stop (SIGSTOP, waited for) and continue the child around reads that must agree: with the child stopped,
 * the counters and cpu.stat cannot move between two reads however long the test is descheduled in between. */
static void hold(const struct cg *c)
{
	kill(c->child, SIGSTOP);
	for (unsigned i = 0; i < 3000; i++) {
		if (rw_test_proc_state(c->child) == 'T')
			return;
		usleep(2000);
	}
	CU_FAIL("child never reached its job-control stop");
}

static void release(const struct cg *c)
{
	kill(c->child, SIGCONT);
}

static void cg_stop(struct cg *c)
{
	if (c->child > 0) {
		kill(c->child, SIGKILL);
		waitpid(c->child, NULL, 0);
		c->child = -1;
	}
	for (int i = 0; i < 50 && rmdir(c->path) != 0 && errno == EBUSY; i++)
		usleep(20000);
}

static bool cgroup_tests_possible(struct rw_pmu *p)
{
	char root[PATH_MAX];
	if (geteuid() != 0) {
		rw_test_skip("not root");
		return false;
	}
	if (find_cgroup2(root, sizeof root) != 0 || v1_perf_event_mounted()) {
		rw_test_skip("no cgroup2 mount with perf_event");
		return false;
	}
	if (!rw_pmu_cgroup_permitted(p)) {
		rw_test_skip("cgroup-mode perf events not permitted");
		return false;
	}
	return true;
}

/* Count one cgroup for about a second; returns task-clock ns, the elapsed ns and the cgroup's usage in ns. */
/* Count a cgroup's child: a busy one until it has used 0.2 s of CPU (stopped while the counts are read, so that
 * counters and cpu.stat cover the same time), an idle one for 1 s. */
static void measure(struct rw_pmu *p, struct cg *c, bool busy, uint64_t *task_ns, uint64_t *elapsed,
		    uint64_t *usage, uint64_t totals[], uint32_t *present, uint32_t *ratio)
{
	struct rw_pmu_group *g = NULL;
	unsigned before = count_fds();
	int cfd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(cfd >= 0);
	if (busy)
		hold(c);
	uint64_t t0 = now_ns(), u0 = cg_usage_ns(c->path);
	CU_ASSERT_EQUAL_FATAL(rw_pmu_group_open(p, cfd, &g), 0);
	close(cfd);  /* the events keep counting without the directory fd */
	CU_ASSERT_EQUAL(rw_pmu_group_fds(g), rw_pmu_fds_per_group(p));
	CU_ASSERT_EQUAL(count_fds(), before + rw_pmu_group_fds(g));
	if (busy) {
		release(c);
		CU_ASSERT(run_for_cpu(c, 200000000ull));
		hold(c);
	} else {
		usleep(1000000);
	}
	CU_ASSERT_EQUAL(rw_pmu_group_read(g, 0, totals, present, ratio), 0);
	*usage = cg_usage_ns(c->path) - u0;
	*elapsed = now_ns() - t0;
	if (busy)
		release(c);
	*task_ns = totals[RW_CTR_TASK_CLOCK];
	rw_pmu_group_close(g);
	CU_ASSERT_EQUAL(count_fds(), before);
}

static void test_cgroup_busy_and_sleeper(void)
{
	struct rw_pmu *p;
	struct cg busy, idle;
	uint64_t totals[RW_CTR_COUNT], task_ns, elapsed, usage;
	uint32_t present = 0, ratio = 0;

	CU_ASSERT_EQUAL_FATAL(rw_pmu_init(&p, NULL), 0);
	if (!cgroup_tests_possible(p))
		goto out;

	CU_ASSERT_EQUAL_FATAL(cg_start(&busy, "busy", true), 0);
	measure(p, &busy, true, &task_ns, &elapsed, &usage, totals, &present, &ratio);
	cg_stop(&busy);
	printf("\n  busy cgroup: task-clock %.3f s, cpu.stat usage %.3f s, over %.3f s; ctxsw %llu, faults %llu, "
	       "ratio %u/65536\n", task_ns / 1e9, usage / 1e9, elapsed / 1e9,
	       (unsigned long long)totals[RW_CTR_CONTEXT_SWITCHES], (unsigned long long)totals[RW_CTR_PAGE_FAULTS],
	       ratio);
	/* The task-clock of the cgroup agrees with its own CPU time by cpu.stat (both read with the child stopped);
	 * one thread cannot have used more CPU time than wall time passed. */
	CU_ASSERT(task_ns + 5000000 > usage * 9 / 10);
	CU_ASSERT(task_ns < usage * 11 / 10 + 5000000);
	CU_ASSERT(task_ns >= 150000000);
	CU_ASSERT(task_ns < elapsed * 11 / 10);
	CU_ASSERT_EQUAL(present & SW_MASK, SW_MASK);
	if (!rw_pmu_hw_available(p)) {
		CU_ASSERT_EQUAL(present, SW_MASK);
	} else {
		CU_ASSERT(present & RW_CTR_BIT(RW_CTR_INSTRUCTIONS));
	}
	CU_ASSERT(ratio > 0 && ratio <= 65536);

	CU_ASSERT_EQUAL_FATAL(cg_start(&idle, "idle", false), 0);
	measure(p, &idle, false, &task_ns, &elapsed, &usage, totals, &present, &ratio);
	cg_stop(&idle);
	printf("  sleeping cgroup: task-clock %.6f s over %.3f s, ctxsw %llu\n", task_ns / 1e9, elapsed / 1e9,
	       (unsigned long long)totals[RW_CTR_CONTEXT_SWITCHES]);
	CU_ASSERT(task_ns < elapsed / 100);
	CU_ASSERT_EQUAL(present & SW_MASK, SW_MASK);
	CU_ASSERT_EQUAL(ratio, 65536);  /* never ran: nothing multiplexed */
out:
	rw_pmu_free(p);
}

/* A removed cgroup is normal life: -ENOENT, nothing left open. */
static void test_cgroup_vanished(void)
{
	struct rw_pmu *p;
	struct rw_pmu_group *g = NULL;
	char root[PATH_MAX], path[PATH_MAX + 64];

	CU_ASSERT_EQUAL_FATAL(rw_pmu_init(&p, NULL), 0);
	if (!cgroup_tests_possible(p))
		goto out;
	CU_ASSERT_EQUAL_FATAL(find_cgroup2(root, sizeof root), 0);
	snprintf(path, sizeof path, "%s/rw-test-pmu-%d-gone", root, (int)getpid());
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
	int cfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(cfd >= 0);
	CU_ASSERT_EQUAL(rmdir(path), 0);
	unsigned before = count_fds();
	CU_ASSERT_EQUAL(rw_pmu_group_open(p, cfd, &g), -ENOENT);
	CU_ASSERT_PTR_NULL(g);
	CU_ASSERT_EQUAL(count_fds(), before);
	close(cfd);
out:
	rw_pmu_free(p);
}

/* Out of descriptors: -EMFILE, and whatever was opened is closed again. */
static void test_cgroup_emfile(void)
{
	struct rw_pmu *p;
	struct rw_pmu_group *g = NULL;
	struct cg c;
	struct rlimit old, lim;

	CU_ASSERT_EQUAL_FATAL(rw_pmu_init(&p, NULL), 0);
	if (!cgroup_tests_possible(p))
		goto out;
	CU_ASSERT_FATAL(rw_pmu_fds_per_group(p) >= 3);
	CU_ASSERT_EQUAL_FATAL(cg_start(&c, "emfile", false), 0);
	int cfd = open(c.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(cfd >= 0);
	/* Leave room for exactly two more descriptors, whatever the harness left open (CI may hand over only 0-2,
	 * with no holes at all): take two spare descriptors, cap the limit at the highest fd in use, fill every
	 * hole below it with /dev/null, then give the two spares back. */
	int spare[2] = { open("/dev/null", O_RDONLY | O_CLOEXEC), open("/dev/null", O_RDONLY | O_CLOEXEC) };
	CU_ASSERT_FATAL(spare[0] >= 0 && spare[1] >= 0);
	int hi = 0, fillers[4096], nfill = 0;
	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			hi = fd;
	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &old) == 0);
	lim = old;
	lim.rlim_cur = (rlim_t)hi + 1;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &lim) == 0);
	for (int fd; nfill < 4096 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
		fillers[nfill++] = fd;
	close(spare[0]);
	close(spare[1]);
	unsigned before = count_fds();
	int r = rw_pmu_group_open(p, cfd, &g);
	unsigned after = count_fds();
	while (nfill > 0)
		close(fillers[--nfill]);
	setrlimit(RLIMIT_NOFILE, &old);
	CU_ASSERT_EQUAL(r, -EMFILE);
	CU_ASSERT_PTR_NULL(g);
	CU_ASSERT_EQUAL(after, before);
	rw_pmu_group_close(g);
	close(cfd);
	cg_stop(&c);
out:
	rw_pmu_free(p);
}

static void pin(pid_t pid, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CU_ASSERT_EQUAL(sched_setaffinity(pid, sizeof set, &set), 0);
}

/* Given the cgroup's CPU time, a read skips the CPUs it did not run on, unless their count is needed to add
 * up: a busy child pinned to one CPU, then moved to another. */
static void test_cgroup_reads_cpus_it_ran_on(void)
{
	struct rw_pmu *p;
	struct rw_pmu_group *g = NULL;
	struct cg c;
	uint64_t totals[RW_CTR_COUNT];
	uint32_t present, ratio;

	CU_ASSERT_EQUAL_FATAL(rw_pmu_init(&p, NULL), 0);
	if (!cgroup_tests_possible(p))
		goto out;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		rw_test_skip("one CPU");
		goto out;
	}
	/* Every read below is made with the child stopped (hold), so cpu.stat and the counters cover the same CPU
	 * time; between reads it runs until it has used 20 ms more (run_for_cpu), however busy the machine. Being
	 * stopped also switches it out, which a cgroup event needs to start counting on that CPU. */
	CU_ASSERT_EQUAL_FATAL(cg_start(&c, "hot", true), 0);
	pin(c.child, 0);
	hold(&c);
	int cfd = open(c.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(cfd >= 0);
	uint64_t u0 = cg_usage_ns(c.path);
	CU_ASSERT_EQUAL_FATAL(rw_pmu_group_open(p, cfd, &g), 0);
	close(cfd);
	release(&c);

	/* first read: every CPU */
	CU_ASSERT(run_for_cpu(&c, 20000000ull));
	hold(&c);
	uint64_t u1 = cg_usage_ns(c.path);
	CU_ASSERT_EQUAL(rw_pmu_group_read(g, u1 - u0, totals, &present, &ratio), 0);
	uint64_t full = rw_pmu_group_leader_reads(g);
	CU_ASSERT(full >= 2);
	release(&c);

	/* pinned: only CPU 0's groups */
	CU_ASSERT(run_for_cpu(&c, 20000000ull));
	hold(&c);
	uint64_t u2 = cg_usage_ns(c.path), before = rw_pmu_group_leader_reads(g);
	CU_ASSERT_EQUAL(rw_pmu_group_read(g, u2 - u1, totals, &present, &ratio), 0);
	uint64_t partial = rw_pmu_group_leader_reads(g) - before;
	CU_ASSERT(partial > 0 && partial < full);

	/* more CPU time than CPU 0 saw: the rest is read too */
	before = rw_pmu_group_leader_reads(g);
	CU_ASSERT_EQUAL(rw_pmu_group_read(g, 10 * (u2 - u1), totals, &present, &ratio), 0);
	CU_ASSERT_EQUAL(rw_pmu_group_leader_reads(g) - before, full);

	/* moved to CPU 1, which ran nothing at its last read: its count is not lost */
	pin(c.child, 1);
	release(&c);
	CU_ASSERT(run_for_cpu(&c, 20000000ull));
	hold(&c);
	uint64_t u3 = cg_usage_ns(c.path), pre = totals[RW_CTR_TASK_CLOCK];
	CU_ASSERT_EQUAL(rw_pmu_group_read(g, u3 - u2, totals, &present, &ratio), 0);
	uint64_t got = totals[RW_CTR_TASK_CLOCK] - pre;
	printf("\n  full read %llu leader reads, pinned %llu; after the move task-clock %.3f s, cpu.stat %.3f s\n",
	       (unsigned long long)full, (unsigned long long)partial, got / 1e9, (u3 - u2) / 1e9);
	CU_ASSERT(got + 5000000 > (u3 - u2) * 9 / 10);
	CU_ASSERT(totals[RW_CTR_TASK_CLOCK] + 5000000 > (u3 - u0) * 9 / 10);
	CU_ASSERT(totals[RW_CTR_TASK_CLOCK] < (u3 - u0) * 11 / 10 + 5000000);
	release(&c);
	rw_pmu_group_close(g);
	cg_stop(&c);
out:
	rw_pmu_free(p);
}

static const rw_test tests[] = {
	RW_TEST(test_scale),
	RW_TEST(test_init_without_hardware_never_fails),
	RW_TEST(test_report),
	RW_TEST(test_cgroup_root),
	RW_TEST(test_cgroup_root_without_mountinfo),
	RW_TEST(test_cgroup_root_explicit),
	RW_TEST(test_cgroup_busy_and_sleeper),
	RW_TEST(test_cgroup_vanished),
	RW_TEST(test_cgroup_emfile),
	RW_TEST(test_cgroup_reads_cpus_it_ran_on),
	{ NULL, NULL },
};

int main(void)
{
	/* The one "hardware counters unavailable" info line is expected here; keep warnings visible. */
	rw_log_set_level(RW_LOG_WARN);
	return rw_test_main("pmu", tests);
}
