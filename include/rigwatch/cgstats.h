/* cgstats: CPU, memory, pids and pressure of one cgroup, from its cgroup files (v2, and the v1 memory, cpu and
 * pids controllers on hybrid hosts). */
#ifndef RIGWATCH_CGSTATS_H
#define RIGWATCH_CGSTATS_H

#include <stdbool.h>
#include <stdint.h>

/* Which parts of struct rw_cgstats were read. */
enum {
	RW_CGS_CPU      = 1u << 0, /* usage/user/system */
	RW_CGS_THROTTLE = 1u << 1, /* nr_periods/nr_throttled/throttled_usec */
	RW_CGS_MEMORY   = 1u << 2, /* memory_current */
	RW_CGS_MEMSTAT  = 1u << 3, /* anon/anon_thp/file */
	RW_CGS_PIDS     = 1u << 4,
	RW_CGS_PSI      = 1u << 5,
	RW_CGS_PROCMEM  = 1u << 6, /* anon (and memory_current unless RW_CGS_MEMORY) summed from the processes' /proc
				    * status, where the cgroup's memory files cannot be read */
	RW_CGS_PROCCPU  = 1u << 7, /* usage/user/system summed from the processes' /proc stat: a v1 cgroup without a
				    * cpuacct twin */
};

/* Cumulative counters as the kernel reports them, and gauges. */
struct rw_cgstats {
	uint32_t have;
	uint64_t usage_usec, user_usec, system_usec;
	uint64_t nr_periods, nr_throttled, throttled_usec;
	uint64_t memory_current, anon, anon_thp, file;
	uint64_t pids_current;
	uint32_t psi_some_avg10_x100;  /* cpu.pressure "some avg10" times 100 */
	uint64_t psi_some_total_usec;
};

/* Where to read a target's files: its cgroup2 directory, and on hybrid hosts the v1 controller directories
 * (NULL where the controller is not on v1 or the cgroup has no v1 twin). Paths are absolute. */
struct rw_cgstats_paths {
	const char *v2_dir;         /* the walked directory: cgroup2, or with v1_only the walked v1 hierarchy's */
	int v2_fd;                  /* an open fd of v2_dir, or 0 (or -1) for none: files are then opened relative to
				     * it, which spares the kernel a walk of the whole path for every file */
	int v2_parent_fd;           /* without v2_fd: an open fd of v2_dir's parent (> 0), and v2_dir's name there */
	const char *v2_name;
	const char *v1_cpu_dir;     /* v1 cpu directory: throttling (cpu.stat), and cpuacct.* where co-mounted */
	const char *v1_cpuacct_dir; /* v1 cpuacct directory when mounted on its own */
	const char *v1_memory_dir;
	const char *v1_pids_dir;
	/* In/out: files found missing (bits private to cgstats). Files marked here are not tried again, which
	 * saves a failed open per file per interval on hosts that lack a controller; clear it now and then. */
	uint32_t missing;
	bool skip_psi;              /* leave cpu.pressure out this time (the agent reads it for busy targets only) */
	bool v1_only;               /* v1-only host: v2_dir is a v1 directory, read for its existence only; CPU, memory
				     * and pids come from the v1 controller directories */
};

/* Read everything available. Returns 0, or -ENOENT if the cgroup vanished (normal life: the caller skips it).
 * Missing optional files only clear their bit in out->have. */
int rw_cgstats_read(struct rw_cgstats_paths *paths, struct rw_cgstats *out);

/* Parsers, exposed for unit tests and fuzzing: take the text of one file. Return 0 or -EINVAL. */
int rw_cgstats_parse_cpu_stat(const char *text, struct rw_cgstats *out);
int rw_cgstats_parse_memory_stat(const char *text, struct rw_cgstats *out);
int rw_cgstats_parse_pressure(const char *text, struct rw_cgstats *out);

#endif
