/* perfread bench: what one read of a per-cgroup, per-CPU perf event group costs, the part of the agent's
 * counter cost that grows with the number of CPUs (each counted target holds one group per online CPU).
 *
 *   perfread [--cgroups N] [--busy B] [--rounds R] [--gap-ms G]
 *
 * Makes N cgroups under the cgroup2 mount (default 64), B of them (default N/2) with a busy process (nice 19),
 * the rest with a sleeper, opens a group of the three software events the agent always counts (task-clock
 * leader, context-switches, page-faults) on every online CPU for each, then R times (default 10), G ms apart
 * (default 500), reads every group once and times each read. A group whose enabled time moved since its last
 * read had its cgroup scheduled on that CPU ("hot"); the others ("cold") only report a count that did not move.
 * Prints median and p90 ns per read for hot and cold groups, the median number of hot CPUs per busy cgroup and
 * the median time to read all groups of one busy and one sleeping cgroup. Root; cgroup2 with perf_event. */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/cgroups.h"

#define MEMBERS 3

struct group {
	int leader, member[MEMBERS - 1];
	uint64_t last_enabled;
};

struct cg {
	char path[1200];
	pid_t pid;
	int busy;
	struct group *g; /* one per CPU */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, unsigned p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_u64);
	return v[(n - 1) * p / 100];
}

static int open_event(int cgfd, int cpu, uint64_t config, int group)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = config;
	a.read_format = PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING |
			PERF_FORMAT_ID;
	return (int)syscall(SYS_perf_event_open, &a, cgfd, cpu, group, PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC);
}

static pid_t spawn_in(const char *dir, int busy)
{
	char procs[1300];
	snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
	pid_t parent = getpid(), pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	int fd = open(procs, O_WRONLY);
	if (fd < 0 || write(fd, "0\n", 2) != 2)
		_exit(1);
	close(fd);
	if (busy) {
		if (setpriority(PRIO_PROCESS, 0, 19) != 0)
			_exit(1);
		for (volatile unsigned long x = 0;; x++)
			;
	}
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int n = 64, busy = -1, rounds = 10, gap_ms = 500;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--cgroups") == 0)
			n = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--busy") == 0)
			busy = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--gap-ms") == 0)
			gap_ms = atoi(argv[i + 1]);
		else {
			fprintf(stderr, "usage: perfread [--cgroups N] [--busy B] [--rounds R] [--gap-ms G]\n");
			return 2;
		}
	}
	if (busy < 0)
		busy = n / 2;
	if (n <= 0 || busy > n || rounds <= 0 || gap_ms <= 0) {
		fprintf(stderr, "perfread: bad arguments\n");
		return 2;
	}
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	struct rw_cgroup_mounts mounts;
	char err[256], parent[RW_MOUNT_PATH_MAX + 32];
	if (rw_cgroup_mounts_detect("/proc/self/mountinfo", &mounts, err, sizeof err) != 0) {
		fprintf(stderr, "perfread: %s\n", err[0] ? err : "no cgroup2 mount");
		return 1;
	}
	snprintf(parent, sizeof parent, "%s/rwperfread.%d", mounts.v2, (int)getpid());
	if (mkdir(parent, 0755) != 0) {
		fprintf(stderr, "perfread: mkdir %s: %s\n", parent, strerror(errno));
		return 1;
	}
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	struct cg *cgs = calloc((size_t)n, sizeof *cgs);
	uint64_t *hot = NULL, *cold = NULL, *busy_all = NULL, *idle_all = NULL, *hot_cpus = NULL;
	int rc = 1;
	for (int i = 0; i < n; i++) {
		struct cg *c = &cgs[i];
		snprintf(c->path, sizeof c->path, "%s/c%d", parent, i);
		c->busy = i < busy;
		if (mkdir(c->path, 0755) != 0)
			goto out;
		c->pid = spawn_in(c->path, c->busy);
		c->g = calloc((size_t)ncpu, sizeof *c->g);
		int cgfd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		for (int cpu = 0; cpu < ncpu; cpu++) {
			struct group *g = &c->g[cpu];
			g->leader = open_event(cgfd, cpu, PERF_COUNT_SW_TASK_CLOCK, -1);
			g->member[0] = g->leader < 0 ? -1 : open_event(cgfd, cpu, PERF_COUNT_SW_CONTEXT_SWITCHES, g->leader);
			g->member[1] = g->member[0] < 0 ? -1 : open_event(cgfd, cpu, PERF_COUNT_SW_PAGE_FAULTS, g->leader);
			if (g->member[1] < 0) {
				fprintf(stderr, "perfread: perf_event_open (cgroup %d, cpu %d): %s\n", i, cpu, strerror(errno));
				close(cgfd);
				goto out;
			}
		}
		close(cgfd);
	}

	size_t cap = (size_t)n * (size_t)ncpu * (size_t)rounds;
	hot = malloc(cap * sizeof *hot);
	cold = malloc(cap * sizeof *cold);
	busy_all = malloc((size_t)n * rounds * sizeof(uint64_t));
	idle_all = malloc((size_t)n * rounds * sizeof(uint64_t));
	hot_cpus = malloc((size_t)n * rounds * sizeof(uint64_t));
	if (!cgs || !hot || !cold || !busy_all || !idle_all || !hot_cpus)
		goto out;
	size_t nh = 0, nc = 0, nb = 0, ni = 0, nhc = 0;
	for (int r = 0; r <= rounds; r++) {
		struct timespec ts = { gap_ms / 1000, (long)(gap_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		for (int i = 0; i < n; i++) {
			struct cg *c = &cgs[i];
			uint64_t t_all = 0, nhot = 0;
			for (int cpu = 0; cpu < ncpu; cpu++) {
				uint64_t buf[3 + 2 * MEMBERS];
				uint64_t t0 = now_ns();
				ssize_t got = read(c->g[cpu].leader, buf, sizeof buf);
				uint64_t dt = now_ns() - t0;
				if (got < (ssize_t)(3 * sizeof(uint64_t))) {
					fprintf(stderr, "perfread: read: %s\n", got < 0 ? strerror(errno) : "short");
					goto out;
				}
				int moved = buf[1] != c->g[cpu].last_enabled;
				c->g[cpu].last_enabled = buf[1];
				t_all += dt;
				if (r == 0)
					continue; /* the first round only sets the baseline */
				nhot += (uint64_t)moved;
				if (moved)
					hot[nh++] = dt;
				else
					cold[nc++] = dt;
			}
			if (r == 0)
				continue;
			if (c->busy) {
				busy_all[nb++] = t_all;
				hot_cpus[nhc++] = nhot;
			} else {
				idle_all[ni++] = t_all;
			}
		}
	}
	printf("perfread: %d CPUs, %d cgroups (%d busy), %d rounds %d ms apart, groups of 3 software events\n",
	       ncpu, n, busy, rounds, gap_ms);
	printf("%-28s %10s %10s %10s\n", "", "reads", "median_ns", "p90_ns");
	printf("%-28s %10zu %10llu %10llu\n", "hot group (cgroup ran there)", nh, (unsigned long long)pct(hot, nh, 50),
	       (unsigned long long)pct(hot, nh, 90));
	printf("%-28s %10zu %10llu %10llu\n", "cold group", nc, (unsigned long long)pct(cold, nc, 50),
	       (unsigned long long)pct(cold, nc, 90));
	printf("%-28s %10zu %10llu %10llu\n", "all groups of a busy cgroup", nb, (unsigned long long)pct(busy_all, nb, 50),
	       (unsigned long long)pct(busy_all, nb, 90));
	printf("%-28s %10zu %10llu %10llu\n", "all groups of an idle cgroup", ni,
	       (unsigned long long)pct(idle_all, ni, 50), (unsigned long long)pct(idle_all, ni, 90));
	printf("hot CPUs per busy cgroup per round: median %llu, p90 %llu of %d\n",
	       (unsigned long long)pct(hot_cpus, nhc, 50), (unsigned long long)pct(hot_cpus, nhc, 90), ncpu);
	rc = 0;
out:
	for (int i = 0; i < n; i++) {
		struct cg *c = &cgs[i];
		if (c->pid > 0) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
		}
		for (int cpu = 0; c->g && cpu < ncpu; cpu++) {
			struct group *g = &c->g[cpu];
			for (int m = 0; m < MEMBERS - 1; m++)
				if (g->member[m] > 0)
					close(g->member[m]);
			if (g->leader > 0)
				close(g->leader);
		}
		free(c->g);
		rmdir(c->path);
	}
	rmdir(parent);
	free(cgs);
	free(hot);
	free(cold);
	free(busy_all);
	free(idle_all);
	free(hot_cpus);
	return rc;
}
