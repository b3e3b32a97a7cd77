/* procwatch suite: the /proc stat and status parsers (odd comms, malformed text), and the table on real processes:
 * a busy child listed in a cgroup.procs file becomes a process target keyed by pid and start time, an idle one
 * does not, kernel threads never do, and a target goes when its process exits. Also the process ids of targets.h. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/procwatch.h"
#include "rigwatch/targets.h"
#include "rw_test.h"

static void test_parse_stat(void)
{
	struct rw_proc_info pi = { 0 };
	const char *t = "4211 (redis (x) server) R 4208 4211 4208 0 -1 4194304 120 0 0 0 1234 56 0 0 20 0 4 0 98765 "
			"1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	CU_ASSERT_EQUAL(rw_proc_parse_stat(t, &pi), 0);
	CU_ASSERT_EQUAL(pi.pid, 4211);
	CU_ASSERT_EQUAL(pi.ppid, 4208);
	CU_ASSERT_STRING_EQUAL(pi.comm, "redis (x) serve"); /* 15 bytes, as the kernel keeps */
	CU_ASSERT_EQUAL(pi.state, 'R');
	CU_ASSERT_EQUAL(pi.utime, 1234);
	CU_ASSERT_EQUAL(pi.stime, 56);
	CU_ASSERT_EQUAL(pi.threads, 4);
	CU_ASSERT_EQUAL(pi.start_ticks, 98765);
	CU_ASSERT_FALSE(pi.kthread);
	const char *k = "77 (kdamond.0) S 2 0 0 0 -1 2129984 0 0 0 0 0 500 0 0 20 0 1 0 300 0 0 "
			"18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0\n";
	CU_ASSERT_EQUAL(rw_proc_parse_stat(k, &pi), 0);
	CU_ASSERT_TRUE(pi.kthread);
	CU_ASSERT_EQUAL(rw_proc_parse_stat("", &pi), -EINVAL);
	CU_ASSERT_EQUAL(rw_proc_parse_stat("12 (x", &pi), -EINVAL);
	CU_ASSERT_EQUAL(rw_proc_parse_stat("12 (x) R 1 2", &pi), -EINVAL);
	CU_ASSERT_EQUAL(rw_proc_parse_stat("-3 (x) R 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5", &pi), -EINVAL);
}

static void test_parse_status(void)
{
	struct rw_proc_info pi = { 0 };
	CU_ASSERT_EQUAL(rw_proc_parse_status("Name:\tx\nUid:\t1000\t1000\t1000\t1000\nVmRSS:\t  2048 kB\n"
					     "RssAnon:\t  1024 kB\n", &pi), 0);
	CU_ASSERT_EQUAL(pi.uid, 1000);
	CU_ASSERT_EQUAL(pi.rss_bytes, 2048 * 1024);
	CU_ASSERT_EQUAL(pi.anon_bytes, 1024 * 1024);
	CU_ASSERT_EQUAL(rw_proc_parse_status("Name:\tx\n", &pi), -EINVAL);
}

static void test_ids(void)
{
	uint64_t id = rw_proc_target_id(4211, 98765);
	CU_ASSERT_TRUE(rw_target_is_process(id));
	CU_ASSERT_EQUAL(rw_proc_target_pid(id), 4211);
	CU_ASSERT_NOT_EQUAL(id, rw_proc_target_id(4211, 98766)); /* a reused pid is another target */
	CU_ASSERT_FALSE(rw_target_is_process(123456));
}

static void msleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool has(struct rw_procwatch *w, pid_t pid, const char **cg)
{
	unsigned cur = 0;
	for (const struct rw_procwatch_entry *e; (e = rw_procwatch_next(w, &cur)) != NULL;)
		if (e->info.pid == pid) {
			if (cg)
				*cg = e->cgroup;
			return true;
		}
	return false;
}

static void test_table(void)
{
	char dir[] = "/tmp/rwpw.XXXXXX";
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	pid_t busy = fork();
	if (busy == 0) {
		rw_test_child_detach();
		volatile double x = 1;
		for (;;)
			x = x * 1.0000001 + 1e-9;
	}
	/* The idle child must be asleep for good before the first scan: starting up (slow under valgrind) it uses CPU,
	 * and at a threshold of almost nothing one tick of that between two scans makes it a target. Once it sleeps
	 * in pause(), nothing wakes it and its CPU time cannot move. */
	int pfd[2];
	CU_ASSERT_FATAL(pipe(pfd) == 0);
	pid_t idle = fork();
	if (idle == 0) {
		rw_test_child_detach();
		(void)!write(pfd[1], "x", 1);
		for (;;)
			pause();
	}
	close(pfd[1]); /* so that the read ends if the child died before writing */
	char x;
	CU_ASSERT_FATAL(read(pfd[0], &x, 1) == 1);
	close(pfd[0]);
	for (int i = 0; i < 3000 && rw_test_proc_state(idle) != 'S'; i++)
		msleep(10);
	CU_ASSERT_FATAL(rw_test_proc_state(idle) == 'S');
	char path[128];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "%d\n%d\n2\n%d\n", (int)busy, (int)idle, (int)getpid()); /* 2: kthreadd; ourselves: skipped */
	fclose(f);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(dfd >= 0);

	struct rw_procwatch *w;
	/* A threshold of almost nothing: on a crowded host (load 80 on 2 cores here) a spinner gets less than the
	 * agent's 5 % of a core, but it always gets some; the idle child none. */
	CU_ASSERT_EQUAL_FATAL(rw_procwatch_new(&w, "/proc", 1), 0);
	bool seen = false;
	for (int i = 0; i < 300 && !seen; i++) {
		rw_procwatch_begin(w, mono_ns());
		CU_ASSERT_EQUAL(rw_procwatch_cgroup(w, dfd, "/some.slice"), 3); /* busy, idle, kthreadd */
		rw_procwatch_end(w);
		seen = has(w, busy, NULL);
		if (!seen)
			msleep(200);
	}
	CU_ASSERT_FATAL(seen);
	const char *cg = NULL;
	CU_ASSERT_TRUE(has(w, busy, &cg));
	CU_ASSERT_STRING_EQUAL(cg ? cg : "", "/some.slice");
	CU_ASSERT_FALSE(has(w, idle, NULL));
	CU_ASSERT_FALSE(has(w, 2, NULL));
	CU_ASSERT_FALSE(has(w, getpid(), NULL));
	unsigned cur = 0;
	const struct rw_procwatch_entry *e = rw_procwatch_next(w, &cur);
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_TRUE(rw_target_is_process(e->id));
	CU_ASSERT_EQUAL(rw_proc_target_pid(e->id), (uint32_t)busy);
	CU_ASSERT(e->info.rss_bytes > 0);
	CU_ASSERT_EQUAL(e->info.uid, getuid());
	/* it stays a target while it lives, even when it no longer uses the CPU */
	kill(busy, SIGSTOP);
	for (int i = 0; i < 3; i++) {
		rw_procwatch_begin(w, mono_ns());
		rw_procwatch_cgroup(w, dfd, "/some.slice");
		rw_procwatch_end(w);
		msleep(50);
	}
	CU_ASSERT_TRUE(has(w, busy, NULL));
	/* and goes when it exits */
	kill(busy, SIGKILL);
	waitpid(busy, NULL, 0);
	rw_procwatch_begin(w, mono_ns());
	rw_procwatch_cgroup(w, dfd, "/some.slice");
	rw_procwatch_end(w);
	CU_ASSERT_FALSE(has(w, busy, NULL));
	/* a cgroup without cgroup.procs (vanished) is normal life */
	int empty = open("/tmp", O_RDONLY | O_DIRECTORY);
	CU_ASSERT_EQUAL(rw_procwatch_cgroup(w, empty, "/gone"), 0);
	close(empty);
	rw_procwatch_free(w);
	kill(idle, SIGKILL);
	waitpid(idle, NULL, 0);
	close(dfd);
	unlink(path);
	rmdir(dir);
}

/* The memory fallback sums the listed processes' RssAnon: a child that touched 64 MiB shows it, a gone pid is
 * skipped, an unreadable list is an error. */
static void test_memory_of_cgroup(void)
{
	int pfd[2];
	CU_ASSERT_FATAL(pipe(pfd) == 0);
	pid_t child = fork();
	if (child == 0) {
		rw_test_child_detach();
		size_t len = 64u << 20;
		volatile char *m = malloc(len);
		if (!m)
			_exit(1);
		for (size_t i = 0; i < len; i += 4096)
			m[i] = 1;
		(void)!write(pfd[1], "x", 1);
		for (;;)
			pause();
	}
	char x;
	CU_ASSERT_FATAL(read(pfd[0], &x, 1) == 1);
	close(pfd[0]);
	close(pfd[1]);
	char dir[] = "/tmp/rwprocmem.XXXXXX", path[64];
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "%d\n999999999\n", (int)child); /* the second pid does not exist */
	fclose(f);
	uint64_t anon = 0, rss = 0;
	CU_ASSERT_EQUAL(rw_proc_memory_of_cgroup("/proc", path, 16, &anon, &rss), 1);
	CU_ASSERT(anon >= (60ull << 20));
	CU_ASSERT(rss >= anon);
	unlink(path);
	CU_ASSERT(rw_proc_memory_of_cgroup("/proc", path, 16, &anon, &rss) < 0);
	rmdir(dir);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static const rw_test tests[] = {
	RW_TEST(test_parse_stat),
	RW_TEST(test_parse_status),
	RW_TEST(test_ids),
	RW_TEST(test_table),
	RW_TEST(test_memory_of_cgroup),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("procwatch", tests);
}
