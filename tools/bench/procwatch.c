/* procwatch bench: what the scan for busy processes outside every target cgroup costs per interval. Scans the
 * cgroup2 root's cgroup.procs (every process on a host without per-service cgroups) the way the agent does once
 * per interval, and prints the median wall and CPU time per scan and per process, with the process targets found.
 *
 * usage: procwatch [--scans N] [--gap-ms MS] [--cgroup DIR] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/cgroups.h"
#include "rigwatch/procwatch.h"

static uint64_t ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned scans = 30, gap_ms = 200;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--scans") && i + 1 < argc)
			scans = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--gap-ms") && i + 1 < argc)
			gap_ms = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cgroup") && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: procwatch [--scans N] [--gap-ms MS] [--cgroup DIR]\n");
			return 2;
		}
	}
	struct rw_cgroup_mounts m;
	char err[256];
	if (!dir) {
		if (rw_cgroup_mounts_detect("/proc/self/mountinfo", &m, err, sizeof err) < 0) {
			fprintf(stderr, "procwatch: %s\n", err);
			return 1;
		}
		dir = m.v2;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		perror(dir);
		return 1;
	}
	struct rw_procwatch *w;
	if (rw_procwatch_new(&w, "/proc", 65536 / 20) < 0 || scans < 2)
		return 1;
	uint64_t *wall = calloc(scans, sizeof(*wall)), *cpu = calloc(scans, sizeof(*cpu));
	unsigned procs = 0, targets = 0;
	for (unsigned i = 0; i < scans; i++) {
		uint64_t w0 = ns(CLOCK_MONOTONIC), c0 = ns(CLOCK_THREAD_CPUTIME_ID);
		rw_procwatch_begin(w, w0);
		rw_procwatch_cgroup(w, dfd, "/");
		rw_procwatch_end(w);
		wall[i] = ns(CLOCK_MONOTONIC) - w0;
		cpu[i] = ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		unsigned cur = 0;
		targets = 0;
		while (rw_procwatch_next(w, &cur))
			targets++;
		struct timespec ts = { gap_ms / 1000, (long)(gap_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	char path[300], buf[1 << 16];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "r");
	while (f && fgets(buf, sizeof buf, f))
		procs++;
	if (f)
		fclose(f);
	qsort(wall, scans, sizeof(*wall), cmp);
	qsort(cpu, scans, sizeof(*cpu), cmp);
	printf("procwatch: %u processes in %s, %u process targets at the end; per scan: wall median %.1f us, CPU "
	       "median %.1f us (%.2f us per process); at a 1 s interval %.3f %% of a core\n",
	       procs, dir, targets, wall[scans / 2] / 1e3, cpu[scans / 2] / 1e3,
	       procs ? cpu[scans / 2] / 1e3 / procs : 0, cpu[scans / 2] / 1e7);
	rw_procwatch_free(w);
	free(wall);
	free(cpu);
	close(dfd);
	return 0;
}
