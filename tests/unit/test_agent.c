/* agent: the sampling loop on a copy of the pure-v2 cgroupfs fixture (tests/data/cgroupfs/v2), changed between
 * intervals the way the kernel would change it: CPU time that grows, a cgroup that goes, one that comes. Scoring
 * on (the shipped model); counters, FP probe, indicators, HTTP, alerts and response off. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rigwatch/agent.h"
#include "rigwatch/config.h"
#include "rigwatch/log.h"
#include "rw_test.h"

#define HEX64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DOCKER "/system.slice/docker-" HEX64 ".scope"
#define NGINX  "/system.slice/nginx.service"

static char dir[] = "/tmp/rw-test-agent-XXXXXX";
static char root[sizeof dir + 8];

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, fmt, a, b);
	return system(cmd);
}

/* cpu.stat of a fixture cgroup with usage_usec set (user time all of it). */
static void set_usage(const char *cgroup, unsigned long long usec)
{
	char path[1024];
	snprintf(path, sizeof path, "%s%s/cpu.stat", root, cgroup);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "usage_usec %llu\nuser_usec %llu\nsystem_usec 0\n", usec, usec);
	fclose(f);
}

struct seen {
	unsigned samples;
	unsigned docker;
};

static int on_sample(const struct rw_sample *s, void *arg)
{
	struct seen *n = arg;
	n->samples++;
	n->docker += strcmp(s->cgroup, DOCKER) == 0;
	return 0;
}

static const struct rw_report_target *find(const struct rw_report *r, const char *cgroup)
{
	for (unsigned i = 0; i < r->n_targets; i++)
		if (strcmp(r->targets[i].sample.cgroup, cgroup) == 0)
			return &r->targets[i];
	return NULL;
}

/* A fresh copy of the fixture for each test: the tests change it. */
static void fresh_tree(void)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/cgroupfs/v2' '%s'", root, rw_test_data_dir(), root);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

static struct rw_agent *open_agent(void)
{
	struct rw_config cfg;
	struct rw_agent *a = NULL;
	char err[512];
	fresh_tree();
	rw_config_defaults(&cfg);
	snprintf(cfg.cgroup_root, sizeof cfg.cgroup_root, "%s", root);
	cfg.fpprobe_enabled = false;
	cfg.procscan_enabled = false;
	cfg.response = RW_RESPONSE_OFF;
	int r = rw_agent_open(&a, &cfg, RW_AGENT_SCORE, err, sizeof err);
	CU_ASSERT_EQUAL(r, 0);
	if (r)
		fprintf(stderr, "rw_agent_open: %s\n", err);
	return a;
}

/* The first interval only primes the deltas; the second has one sample per target with the CPU used in between. */
static void test_intervals(void)
{
	struct rw_agent *a = open_agent();
	const struct rw_report *rep;
	struct seen n = { 0, 0 };
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	rw_agent_on_sample(a, on_sample, &n);

	set_usage(DOCKER, 5000000);
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	CU_ASSERT_EQUAL(rep->interval_seq, 1);
	CU_ASSERT_EQUAL(rep->n_targets, 0);
	CU_ASSERT(rep->cgroups_seen > 0);
	CU_ASSERT_EQUAL(n.samples, 0);

	set_usage(DOCKER, 5000000 + 3000000);     /* 3 s of CPU since */
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	CU_ASSERT_EQUAL(rep->interval_seq, 2);
	CU_ASSERT(rep->n_targets >= 2);
	CU_ASSERT_EQUAL(n.samples, rep->n_targets);
	CU_ASSERT_EQUAL(n.docker, 1);
	CU_ASSERT_PTR_EQUAL(rw_agent_report(a), rep);
	const struct rw_report_target *d = find(rep, DOCKER), *ng = find(rep, NGINX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ng);
	CU_ASSERT_EQUAL(d->sample.cpu_usec, 3000000);
	CU_ASSERT(d->sample.interval_us > 0);
	CU_ASSERT(d->sample.sources & RW_SRC_BIT(RW_SRC_CGROUP));
	CU_ASSERT_EQUAL(d->sample.identity.kind, RW_KIND_CONTAINER);
	CU_ASSERT(d->sample.cgroup_id != 0);
	CU_ASSERT_TRUE(d->counters_wanted);        /* busy: counters asked for the next interval */
	CU_ASSERT_EQUAL(ng->sample.cpu_usec, 0);  /* its cpu.stat did not move */
	CU_ASSERT_FALSE(ng->counters_wanted);
	CU_ASSERT(d->verdict.first_seen_ns != 0); /* scored */
	rw_agent_close(a);
}

/* A cgroup that goes is no target from the next interval on; one that comes is a target once it has two
 * readings. */
static void test_vanish_and_appear(void)
{
	struct rw_agent *a = open_agent();
	const struct rw_report *rep;
	char path[512];
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	unsigned before = rep->n_targets;
	CU_ASSERT_PTR_NOT_NULL(find(rep, NGINX));

	CU_ASSERT_EQUAL_FATAL(sh("rm -rf '%s%s'", root, NGINX), 0);
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	CU_ASSERT_PTR_NULL(find(rep, NGINX));
	CU_ASSERT_EQUAL(rep->n_targets, before - 1);

	snprintf(path, sizeof path, "%s/system.slice/new.service", root);
	CU_ASSERT_EQUAL_FATAL(sh("cp -r '%s" DOCKER "' '%s'", root, path), 0);
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	CU_ASSERT_PTR_NULL(find(rep, "/system.slice/new.service")); /* first reading */
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	const struct rw_report_target *t = find(rep, "/system.slice/new.service");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->sample.identity.kind, RW_KIND_SERVICE);
	CU_ASSERT_EQUAL(rep->n_targets, before);
	rw_agent_close(a);
}

/* A target that sat still: without the eBPF path (none here) its readings are never carried, so CPU it uses later
 * shows in the very next interval, all of it (a carry would show a burst late and have it probed after it ended). */
static void test_still_target(void)
{
	struct rw_agent *a = open_agent();
	const struct rw_report *rep;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	set_usage(NGINX, 1000000);
	for (int i = 0; i < 8; i++) /* past STILL_SETTLE readings with no CPU */
		CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	CU_ASSERT_EQUAL(find(rep, NGINX)->sample.cpu_usec, 0);

	set_usage(NGINX, 1000000 + 2000000);
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	const struct rw_report_target *t = find(rep, NGINX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->sample.cpu_usec, 2000000);
	CU_ASSERT(t->sample.interval_us > 0);
	rw_agent_close(a);
}

/* record --cgroup: only the named target is sampled. */
static void test_only_cgroup(void)
{
	struct rw_agent *a = open_agent();
	const struct rw_report *rep;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	rw_agent_only_cgroup(a, DOCKER);
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	CU_ASSERT_EQUAL_FATAL(rw_agent_step(a, &rep), 0);
	CU_ASSERT_EQUAL(rep->n_targets, 1);
	CU_ASSERT_PTR_NOT_NULL(find(rep, DOCKER));
	rw_agent_close(a);
}

/* An explicit root that does not exist is bad input (exit 2), with the path in the message. */
static void test_missing_root(void)
{
	struct rw_config cfg;
	struct rw_agent *a = NULL;
	char err[512] = "";
	rw_config_defaults(&cfg);
	snprintf(cfg.cgroup_root, sizeof cfg.cgroup_root, "%s/nonexistent", dir);
	cfg.fpprobe_enabled = false;
	CU_ASSERT_EQUAL(rw_agent_open(&a, &cfg, 0, err, sizeof err), -ENOENT);
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nonexistent"));
}

static const rw_test tests[] = {
	RW_TEST(test_intervals),
	RW_TEST(test_vanish_and_appear),
	RW_TEST(test_still_target),
	RW_TEST(test_only_cgroup),
	RW_TEST(test_missing_root),
	{ NULL, NULL },
};

int main(void)
{
	if (!mkdtemp(dir))
		return 2;
	snprintf(root, sizeof root, "%s/v2", dir);
	rw_log_set_level(RW_LOG_ERROR);
	int rc = rw_test_main("agent", tests);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 2;
	return rc;
}
