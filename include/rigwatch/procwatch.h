/* procwatch: busy processes outside every target cgroup. On hosts without per-service cgroups everything runs in
 * the root cgroup, and a miner with root can move itself there or into a slice: such a process, once it uses at
 * least min_cpu of a core over an interval, becomes a target of its own (id rw_proc_target_id(pid, start time)),
 * with CPU and memory from /proc instead of cgroup files. It stays one while it lives and was busy within the
 * last RW_PROCWATCH_GRACE scans, and goes when it exits or moves into a target cgroup.
 *
 * Cost: one read of /proc/PID/stat per process target per scan, and per other process in a non-target cgroup
 * every RW_PROCWATCH_IDLE_EVERY scans (the walk hands over those cgroups; their cgroup.procs lists the
 * processes), at most RW_PROCWATCH_MAX_PIDS per scan. A process that turns busy becomes a target within
 * RW_PROCWATCH_IDLE_EVERY + 1 scans. */
#ifndef RIGWATCH_PROCWATCH_H
#define RIGWATCH_PROCWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "rigwatch/sample.h"

#define RW_PROCWATCH_GRACE    60    /* scans a process target stays after its last busy one */
#define RW_PROCWATCH_MAX_PIDS 16384 /* processes looked at per scan */
#define RW_PROCWATCH_IDLE_EVERY 4   /* a process that is no target is read every this many scans */

/* What /proc says about one process. */
struct rw_proc_info {
	int32_t pid, ppid;
	uint32_t uid;             /* real uid (status) */
	uint64_t start_ticks;     /* clock ticks since boot */
	uint64_t utime, stime;    /* clock ticks, all threads */
	uint32_t threads;
	uint64_t rss_bytes, anon_bytes; /* VmRSS, RssAnon (status) */
	char state;
	bool kthread;             /* a kernel thread (PF_KTHREAD): never a target */
	char comm[16];
};

/* Parsers of /proc/PID/stat and /proc/PID/status text, exposed for tests and fuzzing. Return 0 or -EINVAL. */
int rw_proc_parse_stat(const char *text, struct rw_proc_info *out);
int rw_proc_parse_status(const char *text, struct rw_proc_info *out);

/* One process that is a target now. */
struct rw_procwatch_entry {
	uint64_t id;              /* rw_proc_target_id(pid, start_ticks) */
	struct rw_proc_info info; /* from the latest scan; status fields filled for targets */
	char *cgroup;             /* the cgroup it sits in, relative to the cgroup2 root (owned by the table) */
	/* internal */
	uint64_t prev_ticks, prev_ns, seen, busy;
	int32_t next;
};

struct rw_procwatch;

int rw_procwatch_new(struct rw_procwatch **out, const char *proc_root, int32_t min_cpu_q16);
void rw_procwatch_free(struct rw_procwatch *w);
/* A scan: begin, one call per non-target cgroup (dir_fd its open cgroup2 directory, path relative to the root),
 * end. now_ns: CLOCK_MONOTONIC of the scan. rw_procwatch_cgroup returns how many processes it looked at in that
 * cgroup, or a negative errno. */
void rw_procwatch_begin(struct rw_procwatch *w, uint64_t now_ns);
int rw_procwatch_cgroup(struct rw_procwatch *w, int dir_fd, const char *path);
void rw_procwatch_end(struct rw_procwatch *w);
/* The process targets after the scan: pass *cursor = 0 first; NULL at the end. */
const struct rw_procwatch_entry *rw_procwatch_next(struct rw_procwatch *w, unsigned *cursor);

/* Memory of a cgroup's processes from /proc (RssAnon and VmRSS summed over the pids listed in procs_path, at most
 * max_pids of them): for targets whose cgroup memory files cannot be read (a hybrid host whose v1 memory hierarchy
 * has no twin of the cgroup). Threads share their process's memory, so cgroup.procs (not cgroup.threads) is the
 * list. Returns how many processes were counted, or a negative errno if the list cannot be read. */
int rw_proc_memory_of_cgroup(const char *proc_root, const char *procs_path, unsigned max_pids, uint64_t *anon,
			     uint64_t *rss);

#endif
