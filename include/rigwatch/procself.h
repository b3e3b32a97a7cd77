/* procself: the agent's own process figures under the names every Prometheus client library exports
 * (process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
 * process_max_fds, process_start_time_seconds), read from /proc/self and getrlimit. */
#ifndef RIGWATCH_PROCSELF_H
#define RIGWATCH_PROCSELF_H

#include <stdint.h>

struct rw_procself {
	uint64_t cpu_usec;         /* user + system time, from /proc/self/stat (clock ticks) */
	uint64_t rss_bytes;
	uint64_t vm_bytes;
	uint64_t max_fds;          /* RLIMIT_NOFILE soft limit; UINT64_MAX when unlimited */
	uint64_t start_time_ns;    /* Unix time: boot time (/proc/stat btime) + the process's start in ticks */
};

/* Read them from `proc_root` ("/proc" when NULL) into *out. out->start_time_ns is computed only while it is 0 (the
 * start does not move, and /proc/stat is long), so zero *out before the first call and keep it between calls.
 * Returns 0 or a negative errno (then *out is unchanged). */
int rw_procself_read(const char *proc_root, struct rw_procself *out);
/* The same from the text of a /proc/<pid>/stat line and /proc/stat's btime: the parsing alone, for tests. */
int rw_procself_parse_stat(const char *stat_line, uint64_t btime_s, long ticks_per_s, long page_size,
			   struct rw_procself *out);

#endif
