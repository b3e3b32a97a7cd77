/* httpdrive: a real rw_http server fed with reports built here, for the scrape benchmark and for tests that need
 * the HTTP side before (or without) the agent loop.
 *
 *   httpdrive [--listen ADDR] [--targets N] [--interval-ms MS] [--duration S] [--per-ip N]
 *             [--cgroup DIR]... [--port-file FILE]
 *
 * --targets N   synthetic targets (Docker, Kubernetes, Slurm and systemd shapes; identities parsed by the real
 *               identity module), with software perf counters as on a host without a PMU.
 * --cgroup DIR  a real cgroup2 directory: its cgroup id (inode), path and cpu.stat/memory.current are read every
 *               interval.
 * Publishes one report per interval until SIGINT/SIGTERM or --duration, then prints how long rw_http_publish took
 * (median, max) and the body sizes. Prints "port N" on stdout once listening. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/cgstats.h"
#include "rigwatch/config.h"
#include "rigwatch/exposition.h"
#include "rigwatch/http.h"
#include "rigwatch/identity.h"
#include "rigwatch/log.h"
#include "rigwatch/report.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	if (buf)
		fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

/* cgroup2 mount point from /proc/self/mountinfo. */
static int cg2_root(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	int rc = -ENOENT;
	if (!f)
		return -errno;
	while (fgets(line, sizeof line, f)) {
		char mnt[1024], fstype[64];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(dash + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1) {
			snprintf(out, len, "%s", mnt);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

static void fill_synthetic(struct rw_report_target *t, unsigned i, uint64_t now)
{
	char path[RW_CGROUP_PATH_MAX];
	char hex[65];
	for (unsigned k = 0; k < 64; k++)
		hex[k] = "0123456789abcdef"[(i * 2654435761u >> (k % 28)) % 16 ^ (k % 16)];
	hex[64] = '\0';
	switch (i % 4) {
	case 0:
		snprintf(path, sizeof path, "/system.slice/docker-%s.scope", hex);
		break;
	case 1:
		snprintf(path, sizeof path,
			 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%08x_1234_4abc_8def_%012x.slice/"
			 "cri-containerd-%s.scope", i, i * 7919u, hex);
		break;
	case 2:
		snprintf(path, sizeof path, "/system.slice/slurmstepd.scope/job_%u/step_0", 100000 + i);
		break;
	default:
		snprintf(path, sizeof path, "/system.slice/worker-%u.service", i);
		break;
	}
	memset(t, 0, sizeof *t);
	struct rw_sample *s = &t->sample;
	snprintf(s->cgroup, sizeof s->cgroup, "%s", path);
	rw_identity_from_path(path, &s->identity);
	s->cgroup_id = 100000 + i;
	s->sources = RW_SRC_BIT(RW_SRC_CGROUP);
	s->cg.have = RW_CGS_CPU | RW_CGS_THROTTLE | RW_CGS_MEMORY;
	t->verdict.first_seen_ns = now - 3600ull * 1000000000u;
	t->verdict.since_ns = now - 600ull * 1000000000u;
	t->verdict.verdict = i % 97 == 0 ? RW_VERDICT_MINING : i % 31 == 0 ? RW_VERDICT_SUSPECT : RW_VERDICT_CLEAN;
	t->verdict.detections = t->verdict.verdict == RW_VERDICT_MINING;
	t->verdict.sources_used = RW_SRC_BIT(RW_SRC_CGROUP) | RW_SRC_BIT(RW_SRC_FPPROBE);
	if (t->verdict.verdict != RW_VERDICT_CLEAN) {
		t->verdict.n_reasons = 1;
		t->verdict.reasons[0].source = RW_SRC_FPPROBE;
		snprintf(t->verdict.reasons[0].feature, sizeof t->verdict.reasons[0].feature, "fp_rounding_modes");
		t->verdict.reasons[0].value_q16 = 4 << 16;
		snprintf(t->verdict.reasons[0].detail, sizeof t->verdict.reasons[0].detail,
			 "4 distinct FP rounding modes in 1 s");
	}
}

/* Advance a synthetic target by one interval. */
static void step_synthetic(struct rw_report_target *t, unsigned i, uint32_t interval_us, uint64_t now)
{
	struct rw_sample *s = &t->sample;
	s->time_ns = now;
	s->interval_us = interval_us;
	s->cpu_usec = (uint64_t)interval_us * (1 + i % 3) / 4;
	s->cg.usage_usec += s->cpu_usec;
	s->cg.throttled_usec += i % 5 == 0 ? 1000 : 0;
	s->cg.memory_current = (64ull << 20) + (uint64_t)i * 4096;
	s->counters_present = (1u << RW_CTR_TASK_CLOCK) | (1u << RW_CTR_CONTEXT_SWITCHES) | (1u << RW_CTR_PAGE_FAULTS);
	s->counter_ratio_q16 = 65536;
	s->counters[RW_CTR_TASK_CLOCK] = s->cpu_usec * 1000;
	s->counters[RW_CTR_CONTEXT_SWITCHES] = 100 + i % 50;
	s->counters[RW_CTR_PAGE_FAULTS] = 10 + i % 7;
	for (unsigned c = RW_CTR_TASK_CLOCK; c <= RW_CTR_PAGE_FAULTS; c++)
		s->counters_total[c] += s->counters[c];
	t->verdict.score_q16 = t->verdict.verdict == RW_VERDICT_MINING ? 63000
			     : t->verdict.verdict == RW_VERDICT_SUSPECT ? 40000 : (int32_t)(i * 37 % 9000);
	t->verdict.intervals_in_verdict++;
}

struct real_cg {
	char dir[1024];
};

/* Read a real cgroup's files into its target; returns -ENOENT if it vanished. */
static int step_real(struct rw_report_target *t, const struct real_cg *rc, const char *root, uint32_t interval_us,
		     uint64_t now)
{
	struct stat st;
	char p[1200];
	if (stat(rc->dir, &st) < 0)
		return -ENOENT;
	struct rw_sample *s = &t->sample;
	if (!s->cgroup_id) {
		memset(t, 0, sizeof *t);
		size_t rl = strlen(root);
		const char *rel = !strncmp(rc->dir, root, rl) ? rc->dir + rl : rc->dir;
		snprintf(s->cgroup, sizeof s->cgroup, "%s%s", rel[0] == '/' ? "" : "/", rel);
		rw_identity_from_path(s->cgroup, &s->identity);
		s->cgroup_id = (uint64_t)st.st_ino;
		t->verdict.first_seen_ns = now;
		t->verdict.since_ns = now;
	}
	uint64_t prev = s->cg.usage_usec;
	snprintf(p, sizeof p, "%s/cpu.stat", rc->dir);
	char *text = slurp(p);
	if (!text)
		return -ENOENT;
	struct rw_cgstats cg = { 0 };
	if (rw_cgstats_parse_cpu_stat(text, &cg) == 0)
		s->cg = cg;
	free(text);
	snprintf(p, sizeof p, "%s/memory.current", rc->dir);
	if ((text = slurp(p))) {
		s->cg.memory_current = strtoull(text, NULL, 10);
		s->cg.have |= RW_CGS_MEMORY;
		free(text);
	}
	s->cpu_usec = s->cg.usage_usec >= prev && prev ? s->cg.usage_usec - prev : 0;
	s->time_ns = now;
	s->interval_us = interval_us;
	s->sources = RW_SRC_BIT(RW_SRC_CGROUP);
	t->verdict.sources_used = RW_SRC_BIT(RW_SRC_CGROUP);
	return 0;
}

int main(int argc, char **argv)
{
	struct rw_config cfg;
	unsigned n_synth = 0, n_real = 0, duration_s = 0;
	struct real_cg *real = NULL;
	const char *port_file = NULL;
	char err[256], root[1024] = "";

	rw_config_defaults(&cfg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "httpdrive: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--listen"))
			snprintf(cfg.listen_address, sizeof cfg.listen_address, "%s", v);
		else if (!strcmp(a, "--targets"))
			n_synth = (unsigned)atoi(v);
		else if (!strcmp(a, "--interval-ms"))
			cfg.interval_ms = (uint32_t)atoi(v);
		else if (!strcmp(a, "--duration"))
			duration_s = (unsigned)atoi(v);
		else if (!strcmp(a, "--per-ip"))
			cfg.http_per_ip_connections = (uint32_t)atoi(v);
		else if (!strcmp(a, "--port-file"))
			port_file = v;
		else if (!strcmp(a, "--cgroup")) {
			real = realloc(real, (n_real + 1) * sizeof *real);
			if (!real)
				return 1;
			snprintf(real[n_real++].dir, sizeof real->dir, "%s", v);
		} else {
			fprintf(stderr, "httpdrive: unknown option %s\n", a);
			return 2;
		}
	}
	if (n_real && cg2_root(root, sizeof root)) {
		fprintf(stderr, "httpdrive: no cgroup2 mount\n");
		return 1;
	}

	struct rw_report rep;
	memset(&rep, 0, sizeof rep);
	gethostname(rep.host, sizeof rep.host - 1);
	rep.interval_ms = cfg.interval_ms;
	rep.start_time_ns = now_ns(CLOCK_REALTIME);
	rep.sources_available = RW_SRC_BIT(RW_SRC_CGROUP) | RW_SRC_BIT(RW_SRC_FPPROBE) | RW_SRC_BIT(RW_SRC_INDICATORS);
	snprintf(rep.pmu_name, sizeof rep.pmu_name, "perf");
	struct rw_report_target *targets = calloc(n_synth + n_real + 1, sizeof *targets);
	struct rw_report_target *realt = calloc(n_real + 1, sizeof *realt);
	if (!targets || !realt)
		return 1;
	for (unsigned i = 0; i < n_synth; i++)
		fill_synthetic(&targets[i], i, rep.start_time_ns);
	rep.targets = targets;

	struct rw_http *h;
	if (rw_http_start(&h, &cfg, err, sizeof err)) {
		fprintf(stderr, "httpdrive: %s\n", err);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("port %u\n", rw_http_port(h));
	fflush(stdout);
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (f) {
			fprintf(f, "%u\n", rw_http_port(h));
			fclose(f);
		}
	}

	size_t cap = 1024, n_pub = 0;
	uint64_t *pub_ns = malloc(cap * sizeof *pub_ns);
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), next = t0;
	while (!stop && pub_ns) {
		uint64_t mono = now_ns(CLOCK_MONOTONIC), now = now_ns(CLOCK_REALTIME);
		uint32_t ivl_us = cfg.interval_ms * 1000;
		unsigned n = n_synth;
		for (unsigned i = 0; i < n_synth; i++)
			step_synthetic(&targets[i], i, ivl_us, now);
		for (unsigned i = 0; i < n_real; i++)
			if (step_real(&realt[i], &real[i], root, ivl_us, now) == 0)
				targets[n++] = realt[i];
		rep.n_targets = n;
		rep.time_ns = now;
		rep.interval_seq++;
		rep.cgroups_seen = n;
		rep.loop_duration_us = (now_ns(CLOCK_MONOTONIC) - mono) / 1000;
		rep.open_fds = 8;

		uint64_t p0 = now_ns(CLOCK_MONOTONIC);
		rw_http_publish(h, &rep);
		uint64_t dt = now_ns(CLOCK_MONOTONIC) - p0;
		if (n_pub == cap) {
			uint64_t *np = realloc(pub_ns, 2 * cap * sizeof *np);
			if (!np)
				break;
			pub_ns = np;
			cap *= 2;
		}
		pub_ns[n_pub++] = dt;

		if (duration_s && now_ns(CLOCK_MONOTONIC) - t0 >= (uint64_t)duration_s * 1000000000u)
			break;
		next += (uint64_t)cfg.interval_ms * 1000000u;
		uint64_t m = now_ns(CLOCK_MONOTONIC);
		if (next > m) {
			struct timespec ts = { (time_t)((next - m) / 1000000000u), (long)((next - m) % 1000000000u) };
			nanosleep(&ts, NULL);
		} else {
			next = m;
		}
	}

	/* Body sizes of one more render, for the report. */
	struct rw_buf text = RW_BUF_INIT, proto = RW_BUF_INIT, json = RW_BUF_INIT;
	rw_expo_text(&rep, &text);
	rw_expo_protobuf(&rep, &proto);
	rw_verdicts_json(&rep, &json, NULL);
	if (n_pub) {
		qsort(pub_ns, n_pub, sizeof *pub_ns, cmp_u64);
		fprintf(stderr, "httpdrive: %zu publishes of %u targets: median %.3f ms, max %.3f ms; bodies: text %zu B, "
			"protobuf %zu B, json %zu B\n", n_pub, rep.n_targets, pub_ns[n_pub / 2] / 1e6,
			pub_ns[n_pub - 1] / 1e6, text.len, proto.len, json.len);
	}
	rw_buf_free(&text);
	rw_buf_free(&proto);
	rw_buf_free(&json);
	rw_http_stop(h);
	free(pub_ns);
	free(targets);
	free(realt);
	free(real);
	return 0;
}
