/* procscan: the rule parser (strict, file:line errors), and the scan on fixture /proc trees under
 * tests/data/procscan/ (a miner disguised among ordinary processes, a clean target), plus a scan of a live child. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rigwatch/procscan.h"
#include "rw_test.h"

static const char *fixture(const char *rel, char *buf, size_t len)
{
	snprintf(buf, len, "%s/procscan/%s", rw_test_data_dir(), rel);
	return buf;
}

static const char test_rules[] =
	"# test rules\n"
	"\n"
	"name xmrig\n"
	"exe /xmrig\n"
	"cmdline stratum+tcp://\n"
	"cmdline --donate-level\n"
	"cmdline -a rx/0\n"
	"pool-host pool.supportxmr.com\n"
	"pool-port 3333\n"
	"pool-port 14444\n";

static void test_rules_parse(void)
{
	struct rw_procscan_rules *r = NULL;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(rw_procscan_rules_parse(&r, "t.rules", test_rules, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rw_procscan_rules_count(r), 8);
	rw_procscan_rules_free(r);
	/* values may carry spaces; trailing blanks and CRs go */
	CU_ASSERT_EQUAL(rw_procscan_rules_parse(&r, "t", "  cmdline   -a rx/0  \r\n", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rw_procscan_rules_count(r), 1);
	rw_procscan_rules_free(r);
	CU_ASSERT_EQUAL(rw_procscan_kind_name(RW_IND_POOL_PORT)[0], 'p');
	CU_ASSERT_STRING_EQUAL(rw_procscan_kind_name(RW_IND_CMDLINE), "cmdline");
}

static void expect_error(const char *text, const char *msg)
{
	struct rw_procscan_rules *r = (struct rw_procscan_rules *)1;
	char err[256] = "";
	CU_ASSERT_EQUAL(rw_procscan_rules_parse(&r, "bad.rules", text, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(r);
	if (!strstr(err, msg)) {
		printf("\n  got '%s', want '%s'\n", err, msg);
		CU_FAIL("error message");
	}
}

static void test_rules_errors(void)
{
	expect_error("name xmrig\nfoo bar\n", "bad.rules:2: unknown rule kind 'foo'");
	expect_error("# c\n\nname\n", "bad.rules:3: name rule without a value");
	expect_error("pool-port 0\n", "bad.rules:1: bad pool-port '0'");
	expect_error("pool-port 65536\n", "bad.rules:1: bad pool-port");
	expect_error("pool-port 33x\n", "bad.rules:1: bad pool-port");
	expect_error("name two words\n", "bad.rules:1: name value 'two words' must be one word");
	expect_error("pool-host a/b\n", "bad.rules:1:");
	char big[700];
	memset(big, 'a', sizeof(big));
	memcpy(big, "cmdline ", 8);
	big[sizeof(big) - 1] = 0;
	expect_error(big, "bad.rules:1: line longer than");
	/* a file that is not there */
	struct rw_procscan_rules *r;
	char err[256];
	CU_ASSERT_EQUAL(rw_procscan_rules_load(&r, "/nonexistent/x.rules", err, sizeof(err)), -ENOENT);
	CU_ASSERT(strstr(err, "/nonexistent/x.rules") != NULL);
	/* not a regular file: bad input */
	CU_ASSERT_EQUAL(rw_procscan_rules_load(&r, "models", err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "models: not a regular file") != NULL);
	CU_ASSERT_PTR_NULL(r);
}

static void test_default_rules(void)
{
	struct rw_procscan_rules *r = NULL;
	char err[256] = "";
	int rc = rw_procscan_rules_load(&r, "models/indicators.rules", err, sizeof(err));
	if (rc)
		printf("\n  %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT(rw_procscan_rules_count(r) > 50);
	/* the default rules find the fixture miner */
	char proc[512], cg[512];
	struct rw_indicator_evidence ev;
	CU_ASSERT_EQUAL(rw_procscan_target(r, fixture("miner/proc", proc, sizeof(proc)),
					   fixture("miner/cg", cg, sizeof(cg)), &ev), 0);
	CU_ASSERT(ev.rule_hits & RW_IND_CMDLINE);
	CU_ASSERT(ev.rule_hits & RW_IND_NAME);
	CU_ASSERT_EQUAL(ev.pool_connections, 2);
	CU_ASSERT_EQUAL(rw_procscan_target(r, fixture("clean/proc", proc, sizeof(proc)),
					   fixture("clean/cg", cg, sizeof(cg)), &ev), 0);
	CU_ASSERT_EQUAL(ev.rule_hits, 0);
	rw_procscan_rules_free(r);
}

static void test_scan_miner(void)
{
	struct rw_procscan_rules *r = NULL;
	char err[256], proc[512], cg[512];
	CU_ASSERT_EQUAL_FATAL(rw_procscan_rules_parse(&r, "t", test_rules, err, sizeof(err)), 0);
	struct rw_indicator_evidence ev;
	memset(&ev, 0xab, sizeof(ev));
	CU_ASSERT_EQUAL(rw_procscan_target(r, fixture("miner/proc", proc, sizeof(proc)),
					   fixture("miner/cg", cg, sizeof(cg)), &ev), 0);
	/* 100 (xmrig), 101 (nginx), 102 (disguised kworker); 103 is listed but gone */
	CU_ASSERT_EQUAL(ev.processes, 3);
	CU_ASSERT_EQUAL(ev.rule_hits, RW_IND_NAME | RW_IND_EXE | RW_IND_CMDLINE | RW_IND_POOL_HOST | RW_IND_POOL_PORT);
	/* xmrig: name, exe, 3 cmdline, pool-host = 6; connections: 102 to 10.1.2.3:3333 and [2001:db8::1]:14444.
	 * Not counted: the listener on 3333 (101), a TIME_WAIT entry, a connection of a socket not in the target. */
	CU_ASSERT_EQUAL(ev.pool_connections, 2);
	CU_ASSERT_EQUAL(ev.matches, 8);
	CU_ASSERT_STRING_EQUAL(ev.evidence, "cmdline contains stratum+tcp:// (pid 100 xmrig)");
	/* the oldest suspicious process is 102 (started before 100), then its parents 40 and 1 */
	CU_ASSERT_EQUAL_FATAL(ev.n_origin, 3);
	CU_ASSERT_EQUAL(ev.origin[0].pid, 102);
	CU_ASSERT_EQUAL(ev.origin[0].ppid, 40);
	CU_ASSERT_EQUAL(ev.origin[0].uid, 33);
	CU_ASSERT_EQUAL(ev.origin[0].start_time_s, 1700000000ull + 4000 / sysconf(_SC_CLK_TCK));
	CU_ASSERT_STRING_EQUAL(ev.origin[0].comm, "kworker/0:1");
	CU_ASSERT_STRING_EQUAL(ev.origin[0].exe, "/var/tmp/.cache/kw (deleted)");
	CU_ASSERT_EQUAL(ev.origin[1].pid, 40);
	CU_ASSERT_STRING_EQUAL(ev.origin[1].exe, "/usr/sbin/apache2");
	CU_ASSERT_EQUAL(ev.origin[2].pid, 1);
	CU_ASSERT_EQUAL(ev.origin[2].ppid, 0);
	CU_ASSERT_STRING_EQUAL(ev.origin[2].comm, "systemd");
	rw_procscan_rules_free(r);

	/* only the port rule: the evidence is the connection, in words */
	CU_ASSERT_EQUAL_FATAL(rw_procscan_rules_parse(&r, "t", "pool-port 14444\n", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rw_procscan_target(r, proc, cg, &ev), 0);
	CU_ASSERT_EQUAL(ev.rule_hits, RW_IND_POOL_PORT);
	CU_ASSERT_EQUAL(ev.pool_connections, 1);
	CU_ASSERT_STRING_EQUAL(ev.evidence, "connection to [2001:db8::1]:14444 (pool port) (pid 102 kworker/0:1)");
	rw_procscan_rules_free(r);

	/* name matches comm case-insensitively, and argv[0]'s basename */
	CU_ASSERT_EQUAL_FATAL(rw_procscan_rules_parse(&r, "t", "name NGINX\n", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rw_procscan_target(r, proc, cg, &ev), 0);
	CU_ASSERT_EQUAL(ev.rule_hits, RW_IND_NAME);
	CU_ASSERT_EQUAL(ev.matches, 1);
	CU_ASSERT_EQUAL(ev.origin[0].pid, 101);
	rw_procscan_rules_free(r);
}

static void test_scan_clean(void)
{
	struct rw_procscan_rules *r = NULL;
	char err[256], proc[512], cg[512];
	CU_ASSERT_EQUAL_FATAL(rw_procscan_rules_parse(&r, "t", test_rules, err, sizeof(err)), 0);
	struct rw_indicator_evidence ev;
	CU_ASSERT_EQUAL(rw_procscan_target(r, fixture("clean/proc", proc, sizeof(proc)),
					   fixture("clean/cg", cg, sizeof(cg)), &ev), 0);
	CU_ASSERT_EQUAL(ev.processes, 1);
	CU_ASSERT_EQUAL(ev.rule_hits, 0);
	CU_ASSERT_EQUAL(ev.matches, 0);
	CU_ASSERT_EQUAL(ev.pool_connections, 0); /* a listener on 3333 is not a pool connection */
	CU_ASSERT_EQUAL(ev.n_origin, 0);
	CU_ASSERT_STRING_EQUAL(ev.evidence, "");
	/* a vanished cgroup */
	CU_ASSERT_EQUAL(rw_procscan_target(r, proc, "/nonexistent/cg", &ev), -ENOENT);
	/* no rules: still counts processes */
	CU_ASSERT_EQUAL(rw_procscan_target(NULL, proc, cg, &ev), 0);
	CU_ASSERT_EQUAL(ev.processes, 1);
	rw_procscan_rules_free(r);
}

/* Whether /proc/PID/cmdline holds `what` in one of its arguments. */
static bool cmdline_has(pid_t pid, const char *what)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
		if (strstr(buf + i, what))
			return true;
	}
	return false;
}

static void test_scan_live(void)
{
	/* A live child whose command line carries a stratum URL, scanned through the real /proc. */
	char dir[] = "/tmp/rwps.XXXXXX", path[256];
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	pid_t pid = fork();
	if (pid == 0) {
		rw_test_child_detach();
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", "sleep 30; exit 0", "stratum+tcp://127.0.0.1:3333", (char *)NULL);
		_exit(127);
	}
	/* until the child has exec'd (its command line is the shell's): a bound for a busy machine, not a wait */
	for (int i = 0; i < 12000 && !cmdline_has(pid, "stratum+tcp"); i++)
		usleep(5000);
	CU_ASSERT_FATAL(cmdline_has(pid, "stratum+tcp"));
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
	struct rw_procscan_rules *r = NULL;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(rw_procscan_rules_parse(&r, "t", test_rules, err, sizeof(err)), 0);
	struct rw_indicator_evidence ev;
	CU_ASSERT_EQUAL(rw_procscan_target(r, "/proc", dir, &ev), 0);
	CU_ASSERT_EQUAL(ev.processes, 1);
	CU_ASSERT_EQUAL(ev.rule_hits, RW_IND_CMDLINE);
	CU_ASSERT(ev.n_origin >= 2); /* sleep, then this test binary, ... */
	CU_ASSERT_EQUAL(ev.origin[0].pid, pid);
	CU_ASSERT_EQUAL(ev.origin[1].pid, getpid());
	CU_ASSERT_STRING_EQUAL(ev.origin[0].comm, "sh");
	CU_ASSERT(strstr(ev.origin[0].exe, "sh") != NULL);
	CU_ASSERT(ev.origin[0].start_time_s > 1600000000ull);
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* now gone: skipped silently */
	CU_ASSERT_EQUAL(rw_procscan_target(r, "/proc", dir, &ev), 0);
	CU_ASSERT_EQUAL(ev.processes, 0);
	rw_procscan_rules_free(r);
	unlink(path);
	rmdir(dir);
}

static const rw_test tests[] = {
	RW_TEST(test_rules_parse),
	RW_TEST(test_rules_errors),
	RW_TEST(test_default_rules),
	RW_TEST(test_scan_miner),
	RW_TEST(test_scan_clean),
	RW_TEST(test_scan_live),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("procscan", tests);
}
