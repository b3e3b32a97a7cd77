/* rw_test.h: the small harness every CUnit suite uses. One suite per module; each test file is its own
 * binary so a crash in one module cannot hide the results of another.
 *
 *   static void test_x(void) { CU_ASSERT_EQUAL(1, 1); }
 *   static const rw_test tests[] = { RW_TEST(test_x), { NULL, NULL } };
 *   int main(void) { return rw_test_main("identity", tests); }
 */
#ifndef RW_TEST_H
#define RW_TEST_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "rigwatch/fsutil.h"
#include "rigwatch/procwatch.h"

typedef struct {
	const char *name;
	void (*fn)(void);
} rw_test;

#define RW_TEST(f) { #f, f }

/* The suite's own pid, set by rw_test_main before any test forks. */
static pid_t rw_test_pid;

/* First call in a forked child that runs until the test kills it (spinners, sleepers, tracees). A _FATAL
 * assertion in the parent skips the rest of the test, cleanup included: without this the child would live on
 * as an orphan holding the harness's output pipe, and tests/run-unit.sh (or CI) would wait for it forever.
 * So the child dies with the suite and writes nowhere the harness reads. */
static inline void rw_test_child_detach(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != rw_test_pid) /* the suite already died before prctl took effect */
		_exit(0);
	int fd = open("/dev/null", O_WRONLY);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

/* /proc/PID/NAME of a test's child through the agent's own parser PARSE: 0, or -ESRCH when it cannot be read or
 * parsed (gone, reaped). A child that exited but is not reaped yet still reads, in state 'Z'. */
static inline int rw_test_proc_read(pid_t pid, const char *name, int (*parse)(const char *, struct rw_proc_info *),
				    struct rw_proc_info *pi)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if (rw_read_small(AT_FDCWD, path, buf, sizeof(buf)) <= 0 || parse(buf, pi) < 0)
		return -ESRCH;
	return 0;
}

/* Its stat (state, CPU times, start time) and its status (uid, resident and anonymous memory). */
static inline int rw_test_proc_stat(pid_t pid, struct rw_proc_info *pi)
{
	return rw_test_proc_read(pid, "stat", rw_proc_parse_stat, pi);
}

static inline int rw_test_proc_status(pid_t pid, struct rw_proc_info *pi)
{
	return rw_test_proc_read(pid, "status", rw_proc_parse_status, pi);
}

/* Its scheduler state ('R', 'S', 'T', 'D', 'Z'), 0 once it cannot be read. */
static inline char rw_test_proc_state(pid_t pid)
{
	struct rw_proc_info pi;
	return rw_test_proc_stat(pid, &pi) == 0 ? pi.state : 0;
}

/* Directory of test fixtures (tests/data), overridable for out-of-tree runs. */
static inline const char *rw_test_data_dir(void)
{
	const char *d = getenv("RW_TEST_DATA");
	return d ? d : "tests/data";
}

/* Tests that could not run here: left unregistered by RW_TEST_SKIP, or ended early by rw_test_skip(). They are
 * reported as skipped, never counted as passed. */
static unsigned rw_test_n_skipped;     /* ended early by rw_test_skip() */
static unsigned rw_test_n_unregistered; /* left out by RW_TEST_SKIP */
static const void *rw_test_skipped_current;

/* Call from a test that cannot run here (not root, no cgroup2, a missing tool), then return: the test counts as
 * skipped. `why` is printed. A test that also failed an assertion counts as failed. */
static inline void rw_test_skip(const char *why)
{
	const void *cur = CU_get_current_test();
	printf("  (skipped: %s)\n", why);
	if (cur && cur != rw_test_skipped_current) {
		rw_test_skipped_current = cur;
		rw_test_n_skipped++;
	}
}

/* RW_TEST_SKIP="suite/test_a,suite/test_b": tests left unregistered, for runs where they cannot work (qemu-user
 * has no ptrace or perf_event_open; see `make check-arm64`). Each skip is printed and counted. */
static inline int rw_test_skipped(const char *suite, const char *name)
{
	const char *p = getenv("RW_TEST_SKIP");
	size_t ns = strlen(suite), nn = strlen(name);
	while (p && *p) {
		size_t len = strcspn(p, ",");
		if (len == ns + 1 + nn && strncmp(p, suite, ns) == 0 && p[ns] == '/' && strncmp(p + ns + 1, name, nn) == 0) {
			printf("  (skipped %s/%s: in RW_TEST_SKIP)\n", suite, name);
			rw_test_n_unregistered++;
			return 1;
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

static inline int rw_test_main(const char *suite_name, const rw_test *tests)
{
	rw_test_pid = getpid();
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		return 2;
	for (const rw_test *t = tests; t->name; t++)
		if (!rw_test_skipped(suite_name, t->name) && !CU_add_test(suite, t->name, t->fn))
			return 2;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_tests_failed();
	unsigned run = CU_get_number_of_tests_run();
	if (CU_get_number_of_failures() && !failed)
		failed = 1;
	CU_cleanup_registry();
	/* Tests that returned early through rw_test_skip() ran for CUnit, but they are not passes. */
	unsigned passed = run >= failed + rw_test_n_skipped ? run - failed - rw_test_n_skipped : 0;
	/* A machine-readable line for tests/run-unit.sh to sum up. */
	printf("RWTEST %s run=%u passed=%u failed_tests=%u skipped=%u\n", suite_name, run, passed, failed,
	       rw_test_n_skipped + rw_test_n_unregistered);
	return failed ? 1 : 0;
}

#endif
