/* alerts: Falco-compatible JSON lines, checked field by field with a real JSON parser (python3), written to a
 * file and appended across opens; "" writes nothing; an unwritable path is an error naming it. */
#include <errno.h>
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

static const rw_test tests[] = {
	RW_TEST(test_format_mining),
	RW_TEST(test_format_action),
	RW_TEST(test_format_hostile_and_cleared),
	RW_TEST(test_file_output),
	RW_TEST(test_format_k8s_names),
	{ NULL, NULL },
};

int main(void)
{
	rw_log_set_level(RW_LOG_ERROR + 0);
	return rw_test_main("alerts", tests);
}
