/* fpprobe bench: how long the FP control-register probe holds a thread stopped (seize to detach), median and
 * p99 in microseconds; and, as a test driver, the probe's evidence for real cgroups.
 *
 *   fpprobe [bench] [--pid PID [--tid TID]] [--reads N] [--gap-us U]
 *       Probe PID's threads (or only TID) (default: a child of its own that switches rounding modes in a loop) N times
 *       (default 2000), U us apart (default 500), and print the stop time figures.
 *   fpprobe evidence --cgroup DIR [--cgroup DIR ...] [--interval-ms MS] [--intervals K] [--reads-per-thread R]
 *                    [--max-probes M] [--min-share FRACTION]
 *       Run the probe thread over the cgroup2 directories as the agent does, print one line per cgroup per
 *       interval: "evidence cgroup=DIR interval=I probes= failed= threads= modes=0x.. max_thread_modes=
 *       max_thread_nondefault= ftz_daz= last=0x....".
 *   fpprobe read TID [--count N] [--gap-ms G]
 *       Print TID's raw control register and its decoding N times. */
#include <dirent.h>
#include <errno.h>
#include <fenv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/config.h"
#include "rigwatch/fpprobe.h"
#include "rigwatch/log.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usleep_ns(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

/* A target of our own: switches the rounding mode as RandomX's CFROUND does, in a tight FP loop. */
static pid_t spawn_switcher(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		static const int modes[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
		volatile double x = 1.0;
		for (unsigned i = 0;; i++) {
			fesetround(modes[i & 3]);
			for (int j = 0; j < 1000; j++)
				x = x * 1.0000001 + 1e-9;
			if (x > 1e300)
				x = 1.0;
		}
	}
	return pid;
}

static int bench(pid_t pid, pid_t only_tid, unsigned reads, unsigned gap_us)
{
	pid_t own = 0;
	if (!pid) {
		own = pid = spawn_switcher();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		usleep_ns(100000);
	}
	pid_t tids[256];
	unsigned ntids = 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "fpprobe: no such process %d\n", (int)pid);
		return 2;
	}
	struct dirent *de;
	while ((de = readdir(d)) && ntids < 256)
		if (de->d_name[0] != '.' && (!only_tid || atoi(de->d_name) == only_tid))
			tids[ntids++] = (pid_t)atoi(de->d_name);
	closedir(d);
	if (!ntids) {
		fprintf(stderr, "fpprobe: no thread %d in process %d\n", (int)only_tid, (int)pid);
		return 2;
	}

	/* as the agent's probe thread does */
	int boosted = rw_fpprobe_boost_thread() == 0;
	uint64_t *ns = calloc(reads, sizeof(*ns)), *call = calloc(reads, sizeof(*call)), cpu_ns = 0;
	unsigned ok = 0, failed = 0;
	unsigned modes[4] = { 0 };
	for (unsigned i = 0; i < reads; i++) {
		uint32_t control;
		uint64_t t, c0 = now_ns(), u0 = thread_cpu_ns();
		int rc = rw_fpprobe_read_thread(tids[i % ntids], &control, &t);
		call[i] = now_ns() - c0;
		cpu_ns += thread_cpu_ns() - u0;
		if (rc == 0) {
			struct rw_fp_decoded dec;
			rw_fp_decode(control, &dec);
			modes[dec.rmode]++;
			ns[ok++] = t;
		} else
			failed++;
		usleep_ns(gap_us);
	}
	rw_fpprobe_release_pending(100);
	if (own) {
		kill(own, SIGKILL);
		waitpid(own, NULL, 0);
	}
	if (!ok) {
		fprintf(stderr, "fpprobe: no successful read of %d\n", (int)pid);
		free(ns);
		free(call);
		return 1;
	}
	qsort(ns, ok, sizeof(*ns), cmp_u64);
	qsort(call, reads, sizeof(*call), cmp_u64);
	/* stop_us: time the thread was held stopped; call_us: the whole call, including waiting for a thread that
	 * was waiting for a CPU to reach its stop; cpu_us: the prober's own CPU time per read (the agent's cost). */
	printf("fpprobe bench: target=%s sched=%s threads=%u reads=%u failed=%u stop_us median=%.1f p90=%.1f p99=%.1f max=%.1f "
	       "call_us median=%.1f p99=%.1f cpu_us mean=%.1f modes nearest=%u down=%u up=%u zero=%u\n",
	       own ? "switcher" : "pid", boosted ? "fifo" : "other", ntids, ok, failed, ns[ok / 2] / 1e3, ns[(ok * 90) / 100] / 1e3,
	       ns[(ok * 99) / 100] / 1e3, ns[ok - 1] / 1e3, call[reads / 2] / 1e3, call[(reads * 99) / 100] / 1e3,
	       cpu_ns / 1e3 / reads, modes[0], modes[1], modes[2], modes[3]);
	free(call);
	free(ns);
	return 0;
}

static int evidence(int argc, char **argv)
{
	struct rw_config cfg;
	rw_config_defaults(&cfg);
	const char *dirs[64];
	unsigned ndirs = 0, intervals = 1;
	for (int i = 0; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "fpprobe: %s needs a value\n", argv[i]);
			return 2;
		}
		if (!strcmp(argv[i], "--cgroup") && ndirs < 64)
			dirs[ndirs++] = v;
		else if (!strcmp(argv[i], "--interval-ms"))
			cfg.interval_ms = (uint32_t)atoi(v);
		else if (!strcmp(argv[i], "--intervals"))
			intervals = (unsigned)atoi(v);
		else if (!strcmp(argv[i], "--reads-per-thread"))
			cfg.fpprobe_reads_per_thread = (uint32_t)atoi(v);
		else if (!strcmp(argv[i], "--max-probes"))
			cfg.fpprobe_max_probes = (uint32_t)atoi(v);
		else if (!strcmp(argv[i], "--min-share")) {
			if (rw_parse_q16(v, &cfg.fpprobe_min_thread_cpu_q16) < 0) {
				fprintf(stderr, "fpprobe: bad --min-share '%s'\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "fpprobe: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!ndirs || !cfg.interval_ms) {
		fprintf(stderr, "fpprobe evidence: needs --cgroup DIR and a nonzero --interval-ms\n");
		return 2;
	}
	struct rw_fpprobe_target t[64];
	for (unsigned i = 0; i < ndirs; i++) {
		struct stat st;
		if (stat(dirs[i], &st) < 0) {
			fprintf(stderr, "fpprobe: %s: %s\n", dirs[i], strerror(errno));
			return 2;
		}
		t[i].cgroup_id = st.st_ino;
		snprintf(t[i].path, sizeof(t[i].path), "%s", dirs[i]);
	}
	struct rw_fpprobe *p;
	int rc = rw_fpprobe_start(&p, &cfg);
	if (rc < 0 || !p) {
		fprintf(stderr, "fpprobe: start: %s\n", strerror(-rc));
		return 1;
	}
	for (unsigned k = 0; k < intervals; k++) {
		rw_fpprobe_set_targets(p, t, ndirs);
		/* the first round also spends up to 100 ms measuring thread CPU shares */
		usleep_ns((uint64_t)cfg.interval_ms * 1000 + (k == 0 ? 100000 : 0));
		for (unsigned i = 0; i < ndirs; i++) {
			struct rw_fp_evidence ev;
			rw_fpprobe_collect(p, t[i].cgroup_id, &ev);
			printf("evidence cgroup=%s interval=%u probes=%u failed=%u threads=%u modes=%u "
			       "max_thread_modes=%u max_thread_nondefault=%u ftz_daz=%u last=0x%04x\n",
			       dirs[i], k, ev.probes, ev.failed, ev.threads, ev.modes_union, ev.max_thread_modes,
			       ev.max_thread_nondefault, ev.ftz_daz, ev.last_control);
		}
		fflush(stdout);
	}
	rw_fpprobe_stop(p);
	return 0;
}

static int readtid(int argc, char **argv)
{
	if (argc < 1)
		return 2;
	pid_t tid = (pid_t)atoi(argv[0]);
	unsigned count = 5, gap = 50;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--count"))
			count = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--gap-ms"))
			gap = (unsigned)atoi(argv[i + 1]);
	}
	int bad = 0;
	for (unsigned i = 0; i < count; i++) {
		uint32_t c = 0;
		uint64_t ns = 0;
		int rc = rw_fpprobe_read_thread(tid, &c, &ns);
		if (rc < 0) {
			printf("read %d: %s\n", (int)tid, strerror(-rc));
			bad = 1;
		} else {
			struct rw_fp_decoded d;
			rw_fp_decode(c, &d);
			printf("read %d: control=0x%04x rmode=%s ftz=%u daz=%u stop_us=%.1f\n", (int)tid, c,
			       rw_fp_rmode_name(d.rmode), d.ftz, d.daz, ns / 1e3);
		}
		usleep_ns((uint64_t)gap * 1000);
	}
	rw_fpprobe_release_pending(100);
	return bad;
}

int main(int argc, char **argv)
{
	const char *log = getenv("RW_LOG_LEVEL");
	enum rw_log_level lvl;
	if (log && rw_log_parse_level(log, &lvl) == 0)
		rw_log_set_level(lvl);
	if (argc > 1 && !strcmp(argv[1], "evidence"))
		return evidence(argc - 2, argv + 2);
	if (argc > 1 && !strcmp(argv[1], "read"))
		return readtid(argc - 2, argv + 2);
	int i = argc > 1 && !strcmp(argv[1], "bench") ? 2 : 1;
	pid_t pid = 0, tid = 0;
	unsigned reads = 2000, gap = 500;
	for (; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--help") || !v) {
			fprintf(stderr, "usage: fpprobe [bench] [--pid PID [--tid TID]] [--reads N] [--gap-us U]\n"
					"       fpprobe evidence --cgroup DIR... [--interval-ms MS] [--intervals K] "
					"[--reads-per-thread R] [--max-probes M] [--min-share F]\n"
					"       fpprobe read TID [--count N] [--gap-ms G]\n");
			return 2;
		}
		if (!strcmp(argv[i], "--pid"))
			pid = (pid_t)atoi(v);
		else if (!strcmp(argv[i], "--tid"))
			tid = (pid_t)atoi(v);
		else if (!strcmp(argv[i], "--reads"))
			reads = (unsigned)atoi(v);
		else if (!strcmp(argv[i], "--gap-us"))
			gap = (unsigned)atoi(v);
	}
	return bench(pid, tid, reads ? reads : 1, gap);
}
