/* procself: the process_* figures parsed from a /proc/<pid>/stat line, and read from this process's own /proc. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/procself.h"
#include "rw_test.h"

static void test_parse(void)
{
	/* comm with a blank and a ')' in it: fields are counted after the last ')' */
	const char *line = "4242 (my) prog) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 130 0 0 20 0 3 0 "
			   "12345 104857600 1448 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
	struct rw_procself p;
	memset(&p, 0, sizeof p);
	CU_ASSERT_EQUAL_FATAL(rw_procself_parse_stat(line, 1700000000, 100, 4096, &p), 0);
	CU_ASSERT_EQUAL(p.cpu_usec, 3800000);                        /* (250 + 130) ticks at 100 Hz */
	CU_ASSERT_EQUAL(p.vm_bytes, 104857600);
	CU_ASSERT_EQUAL(p.rss_bytes, 1448ull * 4096);
	CU_ASSERT_EQUAL(p.start_time_ns, 1700000000ull * 1000000000ull + 123450000000ull);

	CU_ASSERT_EQUAL(rw_procself_parse_stat("4242 (short) S 1 2 3", 1, 100, 4096, &p), -EINVAL);
	CU_ASSERT_EQUAL(rw_procself_parse_stat("no parenthesis", 1, 100, 4096, &p), -EINVAL);
	CU_ASSERT_EQUAL(rw_procself_parse_stat("", 1, 100, 4096, &p), -EINVAL);
}

static uint64_t cpu_now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void test_read_self(void)
{
	struct rw_procself p, q;
	struct rlimit rl;
	struct timespec now;

	memset(&p, 0, sizeof p);
	CU_ASSERT_EQUAL_FATAL(rw_procself_read(NULL, &p), 0);
	clock_gettime(CLOCK_REALTIME, &now);
	CU_ASSERT(p.rss_bytes > 0);
	CU_ASSERT(p.vm_bytes >= p.rss_bytes);
	CU_ASSERT_EQUAL(getrlimit(RLIMIT_NOFILE, &rl), 0);
	CU_ASSERT_EQUAL(p.max_fds, rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur);
	/* started, and before now */
	CU_ASSERT(p.start_time_ns > 0 && p.start_time_ns <= (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec);

	/* burn CPU until the process clock says 300 ms more; the ticks in /proc follow (10 ms granularity) */
	uint64_t until = cpu_now_usec() + 300000;
	volatile uint64_t x = 0;
	while (cpu_now_usec() < until)
		for (int i = 0; i < 100000; i++)
			x += (uint64_t)i;
	q = p;
	CU_ASSERT_EQUAL_FATAL(rw_procself_read(NULL, &q), 0);
	CU_ASSERT(q.cpu_usec >= p.cpu_usec + 200000);
	CU_ASSERT_EQUAL(q.start_time_ns, p.start_time_ns);   /* kept, not re-read */

	/* a proc root that is not there: an error, *out untouched */
	struct rw_procself r = p;
	CU_ASSERT(rw_procself_read("/nonexistent-proc", &r) < 0);
	CU_ASSERT(!memcmp(&r, &p, sizeof p));
}

static const rw_test tests[] = {
	RW_TEST(test_parse),
	RW_TEST(test_read_self),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("procself", tests); }
