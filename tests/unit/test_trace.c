/* trace: round trip of samples through a file, strict errors on truncated and corrupt records naming the offset
 * after the whole samples before it, and replay of a trace through the scoring path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rigwatch/cmd_replay.h"
#include "rigwatch/events.h"
#include "rigwatch/score.h"
#include "rigwatch/trace.h"
#include "rw_test.h"

static char dir[] = "/tmp/rw-test-trace-XXXXXX";
static char err[512];

static void make_sample(struct rw_sample *s, uint64_t id, unsigned i, int miner)
{
	memset(s, 0, sizeof(*s));
	s->cgroup_id = id;
	snprintf(s->cgroup, sizeof(s->cgroup), "/system.slice/job-%llu.service", (unsigned long long)id);
	s->identity.kind = RW_KIND_SERVICE;
	strcpy(s->identity.runtime, "systemd");
	snprintf(s->identity.unit, sizeof(s->identity.unit), "job-%llu.service", (unsigned long long)id);
	s->time_ns = 1700000000000000000ull + (uint64_t)i * 1000000000ull;
	s->interval_us = 1000000;
	s->sources = RW_SRC_BIT(RW_SRC_CGROUP) | RW_SRC_BIT(RW_SRC_FPPROBE) | RW_SRC_BIT(RW_SRC_INDICATORS);
	s->cg.have = RW_CGS_CPU | RW_CGS_MEMORY | RW_CGS_MEMSTAT;
	s->cg.usage_usec = (uint64_t)i * 990000;
	s->cg.memory_current = miner ? 280ull << 20 : 40ull << 20;
	s->cg.anon = miner ? 270ull << 20 : 30ull << 20;   /* RandomX's 256 MiB cache, or not */
	s->cpu_usec = 990000;
	s->counters_present = 1u << RW_CTR_TASK_CLOCK;
	s->counters[RW_CTR_TASK_CLOCK] = 990000000;
	s->counters_total[RW_CTR_TASK_CLOCK] = (uint64_t)i * 990000000;
	s->fp.probes = 4;
	s->fp.threads = 1;
	s->fp.modes_union = miner ? 0xf : 0x1;
	s->fp.max_thread_modes = miner ? 4 : 1;
	s->fp.max_thread_nondefault = miner ? 3 : 0;
	s->fp.ftz_daz = (uint8_t)miner;
	s->fp.last_control = miner ? 0xdfe0 : 0x1f80;
	s->fp.path = RW_FP_PATH_BPF;
	for (unsigned m = 0; m < 4; m++)
		s->fp.mode_obs[m] = miner ? 100000u + m : (m ? 0 : 4);
	s->fp.ftz_daz_obs = miner ? 400000 : 0;
	s->fp.pairs = miner ? 399000 : 3;
	s->fp.changes = miner ? 299000 : 0;
	s->fp.threads_traced = miner ? 1 : 0;
	s->fp.tracer_pid = miner ? 4208 : 0;
	s->fp.traced_tid = miner ? 4211 : 0;
	s->fp.tracer_same_target = (uint8_t)miner;
	if (miner) {
		memcpy(s->fp.traced_comm, "redis-server", 13);
		memcpy(s->fp.tracer_comm, "0123456789abcde", 16); /* a full kernel comm: 15 bytes */
	}
	s->ind.processes = 1;
	s->ind.n_origin = 1;
	s->ind.origin[0].pid = 1234;
	s->ind.origin[0].ppid = 1;
	strcpy(s->ind.origin[0].comm, "worker");
	strcpy(s->ind.origin[0].exe, "/usr/bin/worker");
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* The miner's cgroup name when not NULL: cgroup names are bytes, not necessarily UTF-8. */
static const char *miner_cgroup;

/* Write n samples alternating between a miner (id 7) and a benign target (id 8); returns the record offsets. */
static void write_trace(const char *path, unsigned n, uint64_t *offsets)
{
	struct rw_trace_writer w;
	struct rw_trace_header h;
	struct rw_sample s;
	rw_trace_header_init(&h, 1000, "unit-test");
	strcpy(h.pmu, "perf");
	h.n_events = 1;
	h.events[0].role = RW_CTR_TASK_CLOCK;
	strcpy(h.events[0].name, "perf::TASK-CLOCK");
	CU_ASSERT_EQUAL_FATAL(rw_trace_writer_open(&w, path, &h, err, sizeof(err)), 0);
	for (unsigned i = 0; i < n; i++) {
		if (offsets)
			offsets[i] = w.offset;
		make_sample(&s, 7 + i % 2, i / 2, i % 2 == 0);
		if (miner_cgroup && i % 2 == 0)
			snprintf(s.cgroup, sizeof(s.cgroup), "%s", miner_cgroup);
		CU_ASSERT_EQUAL(rw_trace_write(&w, &s), 0);
		CU_ASSERT_EQUAL(rw_trace_flush(&w), 0);
	}
	if (offsets)
		offsets[n] = w.offset;
	CU_ASSERT_EQUAL(w.samples, n);
	CU_ASSERT_EQUAL(rw_trace_writer_close(&w), 0);
}

static void test_round_trip(void)
{
	char path[256];
	struct rw_trace_reader r;
	struct rw_trace_header h;
	struct rw_sample s, want;
	path_of(path, sizeof(path), "rt.trace");
	write_trace(path, 6, NULL);
	CU_ASSERT_EQUAL_FATAL(rw_trace_reader_open(&r, path, &h, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(h.label, "unit-test");
	CU_ASSERT_STRING_EQUAL(h.pmu, "perf");
	CU_ASSERT_EQUAL(h.interval_ms, 1000);
	CU_ASSERT_EQUAL(h.n_events, 1);
	CU_ASSERT_STRING_EQUAL(h.events[0].name, "perf::TASK-CLOCK");
	CU_ASSERT_STRING_EQUAL(h.version, RW_VERSION);
	CU_ASSERT(h.kernel[0] != '\0');
	for (unsigned i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL_FATAL(rw_trace_next(&r, &s, err, sizeof(err)), 1);
		make_sample(&want, 7 + i % 2, i / 2, i % 2 == 0);
		CU_ASSERT_EQUAL(memcmp(&s, &want, sizeof(s)), 0);
	}
	CU_ASSERT_EQUAL(rw_trace_next(&r, &s, err, sizeof(err)), 0);
	rw_trace_reader_close(&r);
}

/* The header names each counter as /metrics does (rigwatch_counter_total{event=...}): one name per counter. */
static void test_header_role_names(void)
{
	char path[256];
	struct rw_trace_writer w;
	struct rw_trace_header h;
	path_of(path, sizeof(path), "roles.trace");
	rw_trace_header_init(&h, 1000, "roles");
	h.n_events = 2;
	h.events[0].role = RW_CTR_FP_128_PACKED_DOUBLE;
	strcpy(h.events[0].name, "fp_arith_inst_retired.128b_packed_double");
	h.events[1].role = RW_CTR_FP_256_PACKED_DOUBLE;
	strcpy(h.events[1].name, "fp_arith_inst_retired.256b_packed_double");
	CU_ASSERT_EQUAL_FATAL(rw_trace_writer_open(&w, path, &h, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rw_trace_writer_close(&w), 0);
	FILE *f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (int role = RW_CTR_FP_128_PACKED_DOUBLE; role <= RW_CTR_FP_256_PACKED_DOUBLE; role++) {
		const char *name = rw_counter_role_name((enum rw_counter_role)role);
		CU_ASSERT_PTR_NOT_NULL(memmem(buf, n, name, strlen(name)));
	}
	CU_ASSERT_PTR_NULL(memmem(buf, n, "fp_128_packed_double", 20));
}

/* cgroup id 0 names no target: a sample with it is corruption to the reader, and the scorer refuses it. */
static void test_cgroup_id_zero(void)
{
	char path[256];
	struct rw_trace_writer w;
	struct rw_trace_reader r;
	struct rw_trace_header h;
	struct rw_sample s;
	path_of(path, sizeof(path), "zero.trace");
	rw_trace_header_init(&h, 1000, "zero");
	CU_ASSERT_EQUAL_FATAL(rw_trace_writer_open(&w, path, &h, err, sizeof(err)), 0);
	make_sample(&s, 7, 0, 1);
	CU_ASSERT_EQUAL(rw_trace_write(&w, &s), 0);
	make_sample(&s, 0, 1, 1);
	CU_ASSERT_EQUAL(rw_trace_write(&w, &s), 0);
	CU_ASSERT_EQUAL(rw_trace_writer_close(&w), 0);
	CU_ASSERT_EQUAL_FATAL(rw_trace_reader_open(&r, path, &h, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rw_trace_next(&r, &s, err, sizeof(err)), 1);
	CU_ASSERT_EQUAL(rw_trace_next(&r, &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cgroup_id 0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "1 whole samples before it"));
	rw_trace_reader_close(&r);

	struct rw_config cfg;
	struct rw_model model;
	struct rw_scorer sc;
	rw_config_defaults(&cfg);
	CU_ASSERT_EQUAL_FATAL(rw_model_load(&model, "models/rigwatch.model", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(rw_scorer_init(&sc, &cfg, &model), 0);
	CU_ASSERT_EQUAL(rw_scorer_score(&sc, &s, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(sc.n, 0);
	rw_scorer_free(&sc);
}

/* Read a damaged trace: expect `whole` samples, then -EINVAL naming `offset`. */
static void expect_damage(const char *path, unsigned whole, uint64_t offset, const char *what)
{
	struct rw_trace_reader r;
	struct rw_trace_header h;
	struct rw_sample s;
	char want[64];
	int rc;
	unsigned got = 0;
	CU_ASSERT_EQUAL_FATAL(rw_trace_reader_open(&r, path, &h, err, sizeof(err)), 0);
	while ((rc = rw_trace_next(&r, &s, err, sizeof(err))) == 1)
		got++;
	CU_ASSERT_EQUAL(rc, -EINVAL);
	CU_ASSERT_EQUAL(got, whole);
	snprintf(want, sizeof(want), "offset %llu:", (unsigned long long)offset);
	if (!strstr(err, want) || !strstr(err, what))
		fprintf(stderr, "\n  got \"%s\", wanted \"%s\" and \"%s\"\n", err, want, what);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, what));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	rw_trace_reader_close(&r);
}

static void test_truncated_everywhere_in_last_record(void)
{
	char path[256];
	uint64_t off[5];
	path_of(path, sizeof(path), "trunc.trace");
	write_trace(path, 4, off);
	/* every cut inside the last record: 3 whole samples, then an error at its start */
	for (uint64_t cut = off[4] - 1; cut > off[3]; cut--) {   /* shrinking only: truncate() pads with zeros */
		CU_ASSERT_EQUAL_FATAL(truncate(path, (off_t)cut), 0);
		expect_damage(path, 3, off[3], "truncated sample");
	}
	/* a cut at a record boundary is a clean end */
	CU_ASSERT_EQUAL_FATAL(truncate(path, (off_t)off[3]), 0);
	struct rw_trace_reader r;
	struct rw_trace_header h;
	struct rw_sample s;
	unsigned n = 0;
	int rc;
	CU_ASSERT_EQUAL_FATAL(rw_trace_reader_open(&r, path, &h, err, sizeof(err)), 0);
	while ((rc = rw_trace_next(&r, &s, err, sizeof(err))) == 1)
		n++;
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(n, 3);
	rw_trace_reader_close(&r);
}

static void patch(const char *path, uint64_t at, const void *bytes, size_t n)
{
	FILE *f = fopen(path, "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, (long)at, SEEK_SET);
	fwrite(bytes, 1, n, f);
	fclose(f);
}

static void test_corrupt(void)
{
	char path[256];
	uint64_t off[6];
	path_of(path, sizeof(path), "corrupt.trace");
	/* a field tag of wire type 7 does not exist: the message cannot be decoded */
	write_trace(path, 5, off);
	unsigned char bad = 0x07;
	uint64_t hdr = off[2] + 1 + ((off[3] - off[2]) > 129);  /* first byte after the varint length */
	patch(path, hdr, &bad, 1);
	expect_damage(path, 2, off[2], "corrupt sample");
	/* an absurd record length */
	write_trace(path, 5, off);
	unsigned char huge[5] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	patch(path, off[1], huge, sizeof(huge));
	expect_damage(path, 1, off[1], "corrupt sample (record length");
	/* not a trace at all */
	struct rw_trace_reader r;
	struct rw_trace_header h;
	patch(path, 0, "NOTATRACE", 8);
	CU_ASSERT_EQUAL(rw_trace_reader_open(&r, path, &h, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "offset 0: not a rigwatch trace"));
	CU_ASSERT(rw_trace_reader_open(&r, "/nonexistent/x.trace", &h, err, sizeof(err)) == -ENOENT);
}

static void test_replay_prints_changes(void)
{
	char path[256], outpath[256], line[4096];
	struct rw_config cfg;
	struct rw_model model;
	path_of(path, sizeof(path), "replay.trace");
	path_of(outpath, sizeof(outpath), "replay.out");
	write_trace(path, 20, NULL);          /* 10 intervals of each target */
	rw_config_defaults(&cfg);
	CU_ASSERT_EQUAL_FATAL(rw_model_load(&model, "models/rigwatch.model", err, sizeof(err)), 0);
	FILE *out = fopen(outpath, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(rw_replay_file(path, &cfg, &model, out, err, sizeof(err)), 0);
	fclose(out);
	out = fopen(outpath, "r");
	unsigned n = 0;
	while (fgets(line, sizeof(line), out)) {
		n++;
		/* only the miner changes: to mining at its third interval (k=3 of n=5) */
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"cgroup_id\":7,"));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"verdict\":\"mining\",\"previous\":\"clean\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"time\":\"2023-11-14T22:13:22.000Z\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"first_seen\":\"2023-11-14T22:13:20.000Z\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "non-default FP rounding modes 100 % even"));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "270 MiB of anonymous memory"));
		CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"sources\":[\"fpprobe\",\"cgroup\",\"indicators\"]"));
	}
	fclose(out);
	CU_ASSERT_EQUAL(n, 1);
	/* a damaged trace: the changes before the damage are printed, then the error */
	CU_ASSERT_EQUAL_FATAL(truncate(path, 1000), 0);
	out = fopen(outpath, "w");
	CU_ASSERT_EQUAL(rw_replay_file(path, &cfg, &model, out, err, sizeof(err)), -EINVAL);
	fclose(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated sample"));
}

/* Replay output is JSON, so valid UTF-8 whatever bytes a cgroup name holds: invalid bytes become U+FFFD, controls
 * are escaped. */
static void test_replay_invalid_utf8(void)
{
	char path[256], outpath[256], line[4096];
	struct rw_config cfg;
	struct rw_model model;
	path_of(path, sizeof(path), "utf8.trace");
	path_of(outpath, sizeof(outpath), "utf8.out");
	miner_cgroup = "/bad\xff\xc3(\n\"x\"";
	write_trace(path, 20, NULL);
	miner_cgroup = NULL;
	rw_config_defaults(&cfg);
	CU_ASSERT_EQUAL_FATAL(rw_model_load(&model, "models/rigwatch.model", err, sizeof(err)), 0);
	FILE *out = fopen(outpath, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(rw_replay_file(path, &cfg, &model, out, err, sizeof(err)), 0);
	fclose(out);
	out = fopen(outpath, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fgets(line, sizeof(line), out));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"cgroup\":\"/bad\xef\xbf\xbd\xef\xbf\xbd(\\n\\\"x\\\"\","));
	CU_ASSERT_PTR_NULL(strchr(line, 0xff));
	fclose(out);
}

static const rw_test tests[] = {
	RW_TEST(test_round_trip),
	RW_TEST(test_header_role_names),
	RW_TEST(test_cgroup_id_zero),
	RW_TEST(test_truncated_everywhere_in_last_record),
	RW_TEST(test_corrupt),
	RW_TEST(test_replay_prints_changes),
	RW_TEST(test_replay_invalid_utf8),
	{ NULL, NULL },
};

int main(void)
{
	if (!mkdtemp(dir))
		return 2;
	int rc = rw_test_main("trace", tests);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 2;
	return rc;
}
