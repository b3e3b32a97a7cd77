/* alerts: Falco-compatible JSON lines, checked field by field with a real JSON parser (python3), written to a
 * file and appended across opens; "" writes nothing; an unwritable path is an error naming it. The syslog sink
 * against a unix datagram socket the test binds; the HTTP sink against a real HTTP server (python3 http.server,
 * tests/unit/alert_receiver.py) answering with chosen statuses, and against a listener that never answers. */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_fixture.h"
#include "rigwatch/alerts.h"
#include "rigwatch/config.h"
#include "rigwatch/exposition.h"
#include "rigwatch/log.h"
#include "rigwatch/respond.h"
#include "rw_test.h"

/* Run python3 on the text with the given assertions; it sees the lines as `L` (a list of parsed objects). */
static int py_check(const char *text, size_t len, const char *asserts)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "python3 -c 'import json,sys\nL=[json.loads(l) for l in sys.stdin.read().splitlines()]\n%s'",
		 asserts);
	FILE *p = popen(cmd, "w");
	if (!p)
		return -1;
	fwrite(text, 1, len, p);
	return pclose(p);
}

static void test_format_mining(void)
{
	struct rw_report rep;
	struct rw_report_target t[4];
	struct rw_buf b = RW_BUF_INIT;
	fixture_report(&rep, t);
	CU_ASSERT_EQUAL_FATAL(rw_alerts_format("node-1", &t[0], RW_VERDICT_SUSPECT, &b), 0);
	CU_ASSERT_EQUAL(b.data[b.len - 1], '\n');
	CU_ASSERT_PTR_NULL(memchr(b.data, '\n', b.len - 1));   /* one line */
	CU_ASSERT_EQUAL(py_check(b.data, b.len,
		"a=L[0]; f=a[\"output_fields\"]\n"
		"assert sorted(a)==[\"hostname\",\"output\",\"output_fields\",\"priority\",\"rule\",\"source\",\"tags\",\"time\"], a\n"
		"assert a[\"time\"]==\"2024-05-01T10:40:03.000000000Z\", a[\"time\"]\n"
		"assert a[\"rule\"]==\"Cryptocurrency miner detected\" and a[\"priority\"]==\"Critical\"\n"
		"assert a[\"source\"]==\"rigwatch\" and a[\"hostname\"]==\"node-1\"\n"
		"assert a[\"output\"].startswith(\"10:40:03.000000000: Critical Cryptocurrency miner detected in docker:0123456789ab \"), a[\"output\"]\n"
		"assert \"previous=suspect\" in a[\"output\"] and \"action=dry-run\" in a[\"output\"]\n"
		"assert f[\"container.id\"]==\"0123456789ab\" and len(f[\"container.full_id\"])==64\n"
		"assert f[\"container.type\"]==\"docker\" and f[\"rigwatch.cgroup_id\"]==4242\n"
		"assert f[\"rigwatch.verdict\"]==\"mining\" and f[\"rigwatch.previous_verdict\"]==\"suspect\"\n"
		"assert f[\"rigwatch.score\"]==0.98999 and f[\"rigwatch.sources\"]==\"pmu,fpprobe\"\n"
		"assert f[\"rigwatch.evidence\"]==\"4 distinct FP rounding modes in 1 s\"\n"
		"assert f[\"proc.pid\"]==777 and f[\"proc.name\"]==\"xmrig\" and f[\"proc.exepath\"]==\"/tmp/.x/xmrig\"\n"
		"assert f[\"user.uid\"]==1000 and f[\"rigwatch.action\"]==\"dry-run\"\n"
		"assert a[\"tags\"]==[\"rigwatch\",\"cryptomining\",\"mitre_impact\",\"T1496\",\"container\"], a[\"tags\"]\n"),
		0);
	rw_buf_free(&b);
}

/* A response decision is an alert of its own: a kill is Critical, a hold-back a Warning, with the decision, the
 * evidence and the identity in output_fields. */
static void test_format_action(void)
{
	struct rw_report rep;
	struct rw_report_target t[4];
	struct rw_buf b = RW_BUF_INIT;
	fixture_report(&rep, t);
	struct rw_respond_event ev = { .target = &t[0], .action = RW_RA_KILL, .result = RW_RR_OK,
				       .detail = "cgroup.freeze=1; frozen 1 after 3 ms; cgroup.kill; empty after 9 ms",
				       .checks = "interval: 3 non-default \"rounding\" modes; re-check: 2 modes",
				       .time_ns = 1714560003000000000ull };
	CU_ASSERT_EQUAL_FATAL(rw_alerts_action_format("node-1", &ev, &b), 0);
	ev.action = RW_RA_FREEZE;
	ev.result = RW_RR_REFUSED;
	ev.detail = "protected: systemd service cron.service";
	CU_ASSERT_EQUAL_FATAL(rw_alerts_action_format("node-1", &ev, &b), 0);
	ev.action = RW_RA_DRY_RUN;
	ev.result = RW_RR_OK;
	CU_ASSERT_EQUAL_FATAL(rw_alerts_action_format("node-1", &ev, &b), 0);
	ev.action = RW_RA_KILL;
	ev.result = RW_RR_FROZEN_NOT_KILLED;
	CU_ASSERT_EQUAL_FATAL(rw_alerts_action_format("node-1", &ev, &b), 0);
	CU_ASSERT_EQUAL(py_check(b.data, b.len,
		"assert len(L)==4\n"
		"a=L[0]; f=a[\"output_fields\"]\n"
		"assert a[\"rule\"]==\"Cryptocurrency miner killed\" and a[\"priority\"]==\"Critical\", a\n"
		"assert a[\"time\"]==\"2024-05-01T10:40:03.000000000Z\" and a[\"source\"]==\"rigwatch\"\n"
		"assert a[\"output\"].startswith(\"10:40:03.000000000: Critical Cryptocurrency miner killed in docker:0123456789ab \"), a[\"output\"]\n"
		"assert f[\"rigwatch.response.action\"]==\"kill\" and f[\"rigwatch.response.result\"]==\"ok\"\n"
		"assert f[\"rigwatch.response.evidence\"].startswith(\"interval: 3 non-default \\\"rounding\\\"\")\n"
		"assert f[\"container.id\"]==\"0123456789ab\" and f[\"rigwatch.cgroup_id\"]==4242 and f[\"proc.name\"]==\"xmrig\"\n"
		"assert \"response\" in a[\"tags\"] and \"container\" in a[\"tags\"]\n"
		"assert L[1][\"rule\"]==\"Cryptocurrency miner response held back\" and L[1][\"priority\"]==\"Warning\"\n"
		"assert L[1][\"output_fields\"][\"rigwatch.response.detail\"]==\"protected: systemd service cron.service\"\n"
		"assert L[2][\"rule\"]==\"Cryptocurrency miner would be stopped (dry-run)\" and L[2][\"priority\"]==\"Warning\"\n"
		"assert L[3][\"output_fields\"][\"rigwatch.response.result\"]==\"frozen_not_killed\" and L[3][\"priority\"]==\"Error\"\n"),
		0);
	rw_buf_free(&b);
}

static void test_format_hostile_and_cleared(void)
{
	struct rw_report rep;
	struct rw_report_target t[4];
	struct rw_buf b = RW_BUF_INIT;
	fixture_report(&rep, t);
	/* hostile cgroup name, suspect; then the Slurm step cleared */
	CU_ASSERT_EQUAL(rw_alerts_format("ho\"st", &t[2], RW_VERDICT_CLEAN, &b), 0);
	CU_ASSERT_EQUAL(rw_alerts_format("node-1", &t[3], RW_VERDICT_MINING, &b), 0);
	CU_ASSERT_EQUAL(py_check(b.data, b.len,
		"a,c=L\n"
		"assert a[\"priority\"]==\"Warning\" and a[\"hostname\"]==\"ho\\\"st\"\n"
		"assert a[\"output_fields\"][\"rigwatch.cgroup\"]==\"/user.slice/we\\\"ird\\\\na\\nme\\ufffd\\u00e9.scope\"\n"
		"assert a[\"output_fields\"][\"rigwatch.evidence\"]==\"cmdline contains stratum+tcp://\\x01\\x7f\"\n"
		"assert \"container.id\" not in a[\"output_fields\"] and \"container\" not in a[\"tags\"]\n"
		"assert c[\"rule\"]==\"Cryptocurrency miner verdict cleared\" and c[\"priority\"]==\"Notice\"\n"
		"assert c[\"output_fields\"][\"rigwatch.slurm_job\"]==\"1234\" and \"slurm\" in c[\"tags\"]\n"
		"assert c[\"output_fields\"][\"rigwatch.slurm_step\"]==\"0\"\n"
		"assert c[\"output_fields\"][\"rigwatch.slurm_user\"]==\"alice\"\n"
		"assert \"slurm:1234/step_0\" in c[\"output\"] and c[\"output_fields\"][\"rigwatch.sources\"]==\"\"\n"),
		0);
	rw_buf_free(&b);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 16);
	*len = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

static void test_file_output(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct rw_report_target t[4];
	struct rw_alerts *a = NULL;
	char err[256], path[] = "/tmp/rw-alerts-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);

	rw_config_defaults(&cfg);
	fixture_report(&rep, t);
	snprintf(cfg.alerts_output, sizeof cfg.alerts_output, "%s", path);
	CU_ASSERT_EQUAL_FATAL(rw_alerts_open(&a, &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_alerts_verdict_change(a, rep.host, &t[0], RW_VERDICT_CLEAN), 0);
	CU_ASSERT_EQUAL(rw_alerts_verdict_change(a, rep.host, &t[2], RW_VERDICT_CLEAN), 0);
	rw_alerts_close(a);
	/* reopening appends */
	CU_ASSERT_EQUAL_FATAL(rw_alerts_open(&a, &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_alerts_verdict_change(a, rep.host, &t[1], RW_VERDICT_SUSPECT), 0);
	rw_alerts_close(a);
	size_t len = 0;
	char *text = slurp(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(py_check(text, len,
		"assert [x[\"output_fields\"][\"rigwatch.verdict\"] for x in L]==[\"mining\",\"suspect\",\"clean\"]\n"), 0);
	free(text);

	/* off: nothing written anywhere, calls succeed */
	cfg.alerts_output[0] = '\0';
	CU_ASSERT_EQUAL_FATAL(rw_alerts_open(&a, &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_alerts_verdict_change(a, rep.host, &t[0], RW_VERDICT_CLEAN), 0);
	rw_alerts_close(a);
	CU_ASSERT_EQUAL(rw_alerts_verdict_change(NULL, rep.host, &t[0], RW_VERDICT_CLEAN), 0);
	unlink(path);

	/* a path that cannot be opened: error naming it */
	snprintf(cfg.alerts_output, sizeof cfg.alerts_output, "/nonexistent-dir/alerts.json");
	a = (struct rw_alerts *)1;
	CU_ASSERT_EQUAL(rw_alerts_open(&a, &cfg, err, sizeof err), -ENOENT);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent-dir/alerts.json"));

	/* a full device: the write error is reported, not hidden */
	snprintf(cfg.alerts_output, sizeof cfg.alerts_output, "/dev/full");
	CU_ASSERT_EQUAL_FATAL(rw_alerts_open(&a, &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_alerts_verdict_change(a, rep.host, &t[0], RW_VERDICT_CLEAN), -ENOSPC);
	rw_alerts_close(a);
}

/* Kubernetes names under Falco's field names; the allowed target's line is still formattable (the agent does not
 * write it: see agent.c). */
static void test_format_k8s_names(void)
{
	struct rw_report r;
	struct rw_report_target t[4];
	struct rw_buf b = RW_BUF_INIT;
	fixture_report(&r, t);
	CU_ASSERT_EQUAL(rw_alerts_format("node-1", &t[1], RW_VERDICT_CLEAN, &b), 0);
	CU_ASSERT_EQUAL(py_check(b.data, b.len,
		"f=L[0][\"output_fields\"]\n"
		"assert f[\"k8s.ns.name\"]==\"crypto-lab\" and f[\"k8s.pod.name\"]==\"bench-7d9c5b6f4-x2x9z\"\n"
		"assert f[\"container.name\"]==\"hasher\" and f[\"k8s.pod.uid\"]==\"1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718\"\n"), 0);
	rw_buf_free(&b);
}

/* A datagram socket bound where the syslog sink sends: each alert is one datagram, "<PRI>Mmm dd hh:mm:ss
 * rigwatch[pid]: " and the JSON line, facility daemon with Falco's priority as the severity. */
static void test_syslog_sink(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct rw_report_target t[4];
	struct rw_alerts *a = NULL;
	struct rw_alerts_stats st;
	char err[256], dir[] = "/tmp/rw-syslog-XXXXXX";
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/log", dir);
	int rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(rx >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(rx, (struct sockaddr *)&sa, sizeof sa), 0);

	rw_config_defaults(&cfg);
	fixture_report(&rep, t);
	cfg.alerts_output[0] = '\0';
	cfg.alerts_syslog = true;
	snprintf(cfg.alerts_syslog_socket, sizeof cfg.alerts_syslog_socket, "%s", sa.sun_path);
	CU_ASSERT_EQUAL_FATAL(rw_alerts_open(&a, &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_alerts_verdict_change(a, rep.host, &t[0], RW_VERDICT_SUSPECT), 0);
	struct rw_respond_event ev = { .target = &t[0], .action = RW_RA_KILL, .result = RW_RR_OK,
				       .detail = "cgroup.kill", .checks = "interval: 3 modes", .time_ns = 1714560003000000000ull };
	CU_ASSERT_EQUAL(rw_alerts_action(a, rep.host, &ev), 0);

	struct rw_buf json = RW_BUF_INIT;
	char want_tag[64];
	snprintf(want_tag, sizeof want_tag, " rigwatch[%ld]: {", (long)getpid());
	for (int i = 0; i < 2; i++) {
		char d[16384];
		ssize_t n = recv(rx, d, sizeof d - 1, MSG_DONTWAIT);
		CU_ASSERT_FATAL(n > 0);
		d[n] = '\0';
		/* both alerts are Critical (a mining verdict, a kill): daemon (3) * 8 + 2 */
		CU_ASSERT_EQUAL(strncmp(d, "<26>", 4), 0);
		char *j = strstr(d, want_tag);
		CU_ASSERT_PTR_NOT_NULL_FATAL(j);
		CU_ASSERT_PTR_NULL(strchr(d, '\n'));
		rw_buf_puts(&json, j + strlen(want_tag) - 1);
		rw_buf_puts(&json, "\n");
	}
	CU_ASSERT_EQUAL(py_check(json.data, json.len,
		"assert [x[\"rule\"] for x in L]==[\"Cryptocurrency miner detected\",\"Cryptocurrency miner killed\"], L\n"
		"assert L[1][\"priority\"]==\"Critical\" and L[1][\"output_fields\"][\"rigwatch.response.action\"]==\"kill\"\n"
		"assert L[1][\"output_fields\"][\"container.id\"]==\"0123456789ab\"\n"), 0);
	rw_buf_free(&json);
	rw_alerts_get_stats(a, &st);
	CU_ASSERT_EQUAL(st.sent[RW_ALERT_SINK_SYSLOG], 2);
	CU_ASSERT_EQUAL(st.sent[RW_ALERT_SINK_OUTPUT], 0);

	/* a receiver that stopped reading: its queue fills, the sink drops (counted) instead of waiting */
	unsigned calls = 0;
	do {
		rw_alerts_verdict_change(a, rep.host, &t[0], RW_VERDICT_SUSPECT);
		rw_alerts_get_stats(a, &st);
	} while (!st.dropped[RW_ALERT_SINK_SYSLOG] && ++calls < 100000);
	CU_ASSERT(st.dropped[RW_ALERT_SINK_SYSLOG] > 0);

	/* the daemon gone (socket removed): failures counted, calls still return */
	close(rx);
	unlink(sa.sun_path);
	uint64_t failed0 = st.failed[RW_ALERT_SINK_SYSLOG];
	rw_alerts_verdict_change(a, rep.host, &t[0], RW_VERDICT_SUSPECT);
	rw_alerts_get_stats(a, &st);
	CU_ASSERT_EQUAL(st.failed[RW_ALERT_SINK_SYSLOG], failed0 + 1);
	rw_alerts_close(a);
	rmdir(dir);

	/* a socket path that cannot be a unix socket path: an error naming the key */
	memset(cfg.alerts_syslog_socket, 'x', sizeof cfg.alerts_syslog_socket - 1);
	cfg.alerts_syslog_socket[sizeof cfg.alerts_syslog_socket - 1] = '\0';
	CU_ASSERT_EQUAL(rw_alerts_open(&a, &cfg, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "alerts.syslog_socket"));
}

/* Start tests/unit/alert_receiver.py; its port, or 0 (then the test is skipped: no python3). */
static int start_receiver(const char *out, const char *statuses, pid_t *pid)
{
	int pfd[2];
	char script[512];
	snprintf(script, sizeof script, "%s/../unit/alert_receiver.py", rw_test_data_dir());
	if (access(script, R_OK) != 0 || pipe(pfd) != 0)
		return 0;
	*pid = fork();
	if (*pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pfd[1], 1);
		close(pfd[0]);
		execlp("python3", "python3", script, out, statuses, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char buf[32] = "";
	size_t got = 0;
	while (got < sizeof buf - 1 && !strchr(buf, '\n')) {
		ssize_t n = read(pfd[0], buf + got, sizeof buf - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
	}
	close(pfd[0]);
	return strchr(buf, '\n') ? atoi(buf) : 0;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Poll the stats until done (a condition on them) or 60 s pass. */
static bool stats_wait(struct rw_alerts *a, struct rw_alerts_stats *st, bool (*done)(const struct rw_alerts_stats *))
{
	for (int i = 0; i < 600; i++) {
		rw_alerts_get_stats(a, st);
		if (done(st))
			return true;
		usleep(100000);
	}
	return false;
}

static bool one_settled(const struct rw_alerts_stats *st)
{
	return st->sent[RW_ALERT_SINK_HTTP] + st->failed[RW_ALERT_SINK_HTTP] >= 1;
}

static bool two_settled(const struct rw_alerts_stats *st)
{
	return st->sent[RW_ALERT_SINK_HTTP] + st->failed[RW_ALERT_SINK_HTTP] >= 2;
}

static bool one_failed(const struct rw_alerts_stats *st)
{
	return st->failed[RW_ALERT_SINK_HTTP] >= 1;
}

/* Falcosidekick's input: one JSON POST per alert. A 503 is retried and then delivered; a 400 (the receiver refuses
 * the body) is not retried. */
static void test_http_sink(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct rw_report_target t[4];
	struct rw_alerts *a = NULL;
	struct rw_alerts_stats st;
	char err[256], out[] = "/tmp/rw-alerts-http-XXXXXX";
	int fd = mkstemp(out);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	pid_t pid = 0;
	int port = start_receiver(out, "503,200,400", &pid);
	if (!port) {
		if (pid > 0)
			stop_child(pid);
		unlink(out);
		rw_test_skip("python3 or tests/unit/alert_receiver.py not available");
		return;
	}
	rw_config_defaults(&cfg);
	fixture_report(&rep, t);
	cfg.alerts_output[0] = '\0';
	snprintf(cfg.alerts_http_url, sizeof cfg.alerts_http_url, "http://127.0.0.1:%d/falco", port);
	cfg.alerts_http_retries = 3;
	/* the receiver answers 503, 200, 400 in turn: a try that timed out on a slow machine (python3, valgrind) and was
	 * retried would use up an answer and shift the rest */
	cfg.alerts_http_timeout_ms = 60000;
	CU_ASSERT_EQUAL_FATAL(rw_alerts_open(&a, &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_alerts_verdict_change(a, rep.host, &t[0], RW_VERDICT_SUSPECT), 0);
	CU_ASSERT(stats_wait(a, &st, one_settled));
	CU_ASSERT_EQUAL(st.sent[RW_ALERT_SINK_HTTP], 1); /* the 503 retried */
	struct rw_respond_event ev = { .target = &t[0], .action = RW_RA_FREEZE, .result = RW_RR_OK,
				       .detail = "cgroup.freeze=1", .checks = "interval: 3 modes", .time_ns = 1714560003000000000ull };
	CU_ASSERT_EQUAL(rw_alerts_action(a, rep.host, &ev), 0);
	CU_ASSERT(stats_wait(a, &st, two_settled));
	CU_ASSERT_EQUAL(st.sent[RW_ALERT_SINK_HTTP], 1);
	CU_ASSERT_EQUAL(st.failed[RW_ALERT_SINK_HTTP], 1);
	CU_ASSERT_EQUAL(st.dropped[RW_ALERT_SINK_HTTP], 0);
	rw_alerts_close(a);
	stop_child(pid);
	size_t len = 0;
	char *text = slurp(out, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(py_check(text, len,
		"assert [x[\"status\"] for x in L]==[503,200,400], L\n"
		"assert all(x[\"path\"]==\"/falco\" and x[\"content_type\"]==\"application/json\" for x in L)\n"
		"b=[x[\"body\"] for x in L]\n"
		"assert b[0]==b[1] and b[0][\"rule\"]==\"Cryptocurrency miner detected\", b\n"
		"assert sorted(b[0])==[\"hostname\",\"output\",\"output_fields\",\"priority\",\"rule\",\"source\",\"tags\",\"time\"]\n"
		"assert b[2][\"rule\"]==\"Cryptocurrency miner frozen\" and b[2][\"priority\"]==\"Error\", b[2]\n"
		"assert b[2][\"output_fields\"][\"rigwatch.response.action\"]==\"freeze\"\n"), 0);
	free(text);
	unlink(out);
}

/* A receiver that accepts connections and never answers, a queue of 2: sampling never waits (each call returns),
 * the overflow is dropped and counted, and close cuts the POST in flight short. Then a port nobody listens on:
 * the retries run out and the alert counts as failed. */
static void test_http_sink_bounded(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct rw_report_target t[4];
	struct rw_alerts *a = NULL;
	struct rw_alerts_stats st;
	char err[256];
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sin;
	CU_ASSERT_FATAL(ls >= 0);
	CU_ASSERT_EQUAL_FATAL(bind(ls, (struct sockaddr *)&sin, sizeof sin), 0);
	CU_ASSERT_EQUAL_FATAL(listen(ls, 16), 0);
	CU_ASSERT_EQUAL_FATAL(getsockname(ls, (struct sockaddr *)&sin, &sl), 0);

	rw_config_defaults(&cfg);
	fixture_report(&rep, t);
	cfg.alerts_output[0] = '\0';
	snprintf(cfg.alerts_http_url, sizeof cfg.alerts_http_url, "http://127.0.0.1:%d", ntohs(sin.sin_port));
	cfg.alerts_http_queue = 2;
	cfg.alerts_http_timeout_ms = 60000;
	cfg.alerts_http_retries = 10;
	CU_ASSERT_EQUAL_FATAL(rw_alerts_open(&a, &cfg, err, sizeof err), 0);
	for (int i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(rw_alerts_verdict_change(a, rep.host, &t[0], RW_VERDICT_SUSPECT), 0);
	rw_alerts_get_stats(a, &st);
	/* at most one in flight and two queued: 17 or more of 20 dropped */
	CU_ASSERT(st.dropped[RW_ALERT_SINK_HTTP] >= 17);
	CU_ASSERT_EQUAL(st.sent[RW_ALERT_SINK_HTTP], 0);
	rw_alerts_close(a); /* returns: the 60 s POST in flight is cut short */
	close(ls);

	/* nobody listens on that port now: connection refused, retried, given up */
	cfg.alerts_http_queue = 8;
	cfg.alerts_http_timeout_ms = 1000;
	cfg.alerts_http_retries = 2;
	CU_ASSERT_EQUAL_FATAL(rw_alerts_open(&a, &cfg, err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_alerts_verdict_change(a, rep.host, &t[0], RW_VERDICT_SUSPECT), 0);
	CU_ASSERT(stats_wait(a, &st, one_failed));
	CU_ASSERT_EQUAL(st.sent[RW_ALERT_SINK_HTTP], 0);
	rw_alerts_close(a);

	/* URLs the sink cannot speak: an error naming the key */
	const char *bad[] = { "https://example.com/", "http://", "http://h:99999/", "http://h:80x", "ftp://h/",
			      "http://[::1/" };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(cfg.alerts_http_url, sizeof cfg.alerts_http_url, "%s", bad[i]);
		a = (struct rw_alerts *)1;
		CU_ASSERT_EQUAL(rw_alerts_open(&a, &cfg, err, sizeof err), -EINVAL);
		CU_ASSERT_PTR_NULL(a);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "alerts.http_url"));
	}
}

static const rw_test tests[] = {
	RW_TEST(test_format_mining),
	RW_TEST(test_format_action),
	RW_TEST(test_format_hostile_and_cleared),
	RW_TEST(test_file_output),
	RW_TEST(test_format_k8s_names),
	RW_TEST(test_syslog_sink),
	RW_TEST(test_http_sink),
	RW_TEST(test_http_sink_bounded),
	{ NULL, NULL },
};

int main(void)
{
	rw_log_set_level(RW_LOG_ERROR + 0);
	return rw_test_main("alerts", tests);
}
