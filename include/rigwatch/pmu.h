/* pmu: per-cgroup counting with perf_event_open in cgroup mode, events encoded by libpfm4.
 * One event group per online CPU per group index, read with PERF_FORMAT_GROUP and enabled/running times,
 * scaled for multiplexing. Software events (task-clock, context-switches, page-faults) are always counted;
 * hardware events only where the kernel accepts them. */
#ifndef RIGWATCH_PMU_H
#define RIGWATCH_PMU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rigwatch/events.h"

struct rw_pmu;        /* host-wide: libpfm state, chosen table, encodings, what the kernel accepts */
struct rw_pmu_group;  /* one target's open events, all CPUs */

/* Status of one event of the chosen table on this host. */
enum rw_event_status {
	RW_EV_OK = 0,         /* encoded and accepted by the kernel */
	RW_EV_ENCODE_FAILED,  /* libpfm4 could not encode it */
	RW_EV_REJECTED,       /* the kernel refused it (no PMU driver, unsupported) */
	RW_EV_NO_PERMISSION,  /* perf_event_open said EACCES/EPERM */
};

struct rw_pmu_event_info {
	enum rw_counter_role role;
	const char *name;
	enum rw_event_status status;
	int error;            /* errno or libpfm4 code behind a failure, 0 if none */
	uint32_t type;        /* perf_event_attr.type and config as encoded */
	uint64_t config, config1;
};

/* Initialise libpfm4, pick the table for the host's core PMU (or `table_name` if not NULL), encode it and ask
 * the kernel which events it accepts. Never fails for a missing PMU: *out then counts software events only.
 * Returns 0, -ENOMEM, or -EINVAL for an unknown table_name. */
int rw_pmu_init(struct rw_pmu **out, const char *table_name);
/* The same, with perf's cgroup mode tried on `cgroup_root` (the directory whose descendants will be counted: the
 * agent's cgroup2 root or v1 perf_event mount) instead of the one rw_pmu_cgroup_root finds in this host's
 * mountinfo; NULL for that. */
int rw_pmu_init_at(struct rw_pmu **out, const char *table_name, const char *cgroup_root);
void rw_pmu_free(struct rw_pmu *pmu);

const char *rw_pmu_core_name(const struct rw_pmu *pmu);   /* libpfm4 core PMU name, or "none" */
const struct rw_event_table *rw_pmu_table(const struct rw_pmu *pmu);
bool rw_pmu_hw_available(const struct rw_pmu *pmu);      /* at least instructions and cycles count */
const char *rw_pmu_hw_reason(const struct rw_pmu *pmu);   /* why hardware counters are unavailable, "" if they are */
bool rw_pmu_cgroup_permitted(const struct rw_pmu *pmu);  /* cgroup-mode (per-CPU) events allowed */
unsigned rw_pmu_ncpus(const struct rw_pmu *pmu);
unsigned rw_pmu_fds_per_group(const struct rw_pmu *pmu); /* file descriptors one target costs: ncpus * events */
/* Events of the chosen table and the software events, with their status. Returns the count; fills up to max. */
unsigned rw_pmu_events(const struct rw_pmu *pmu, struct rw_pmu_event_info *out, unsigned max);

/* The directory that perf's cgroup mode works on: the v1 perf_event mount when perf_event is bound to v1,
 * else the cgroup2 mount, from a mountinfo file (normally /proc/self/mountinfo). Returns 0, -ENOENT (none, or
 * the file does not exist), -ENAMETOOLONG, or another negative errno when the file cannot be read. */
int rw_pmu_cgroup_root(const char *mountinfo, char *buf, size_t len);

/* Open counters for the cgroup whose directory fd is `cgroup_fd` (cgroup2 or v1 perf_event directory).
 * Per online CPU: one group per table group with accepted events, plus one software group; every member is
 * opened on the cgroup fd (PERF_FLAG_PID_CGROUP), leaders start disabled and are reset and enabled at the end.
 * The fd may be closed after the call. Returns 0, -ENOENT if the cgroup vanished (or is not a perf_event
 * cgroup), -EMFILE/-ENFILE when out of fds, -EACCES/-EPERM without permission; on error nothing stays open.
 * A hardware group the kernel refuses in cgroup mode is left out (logged once) and its roles are not present. */
int rw_pmu_group_open(struct rw_pmu *pmu, int cgroup_fd, struct rw_pmu_group **out);
void rw_pmu_group_close(struct rw_pmu_group *g);
unsigned rw_pmu_group_fds(const struct rw_pmu_group *g);  /* file descriptors this group holds */

/* Read cumulative scaled totals since open, summed over CPUs. totals[] is indexed by role; *present gets a
 * bit per role that was counted; *min_ratio_q16 the smallest running/enabled ratio (Q16.16, 65536 = never
 * multiplexed). cpu_ns is the CPU time the cgroup used since the previous read (cpu.stat), or 0 to read every
 * CPU: given it, the CPUs the cgroup did not run on lately are read only when the others' task-clock falls
 * short of it, and every few reads (their counts show up at that later read). Returns 0 or a negative errno. */
int rw_pmu_group_read(struct rw_pmu_group *g, uint64_t cpu_ns, uint64_t totals[RW_CTR_COUNT], uint32_t *present,
		      uint32_t *min_ratio_q16);
/* read(2) calls on group leaders so far (one per CPU per group in a full read): for tests and benches. */
uint64_t rw_pmu_group_leader_reads(const struct rw_pmu_group *g);

/* Multiplex scaling: raw * enabled / running, without overflow or division by zero (running 0 gives 0). */
uint64_t rw_pmu_scale(uint64_t raw, uint64_t enabled, uint64_t running);

/* `rigwatch events`: the host's PMUs as libpfm4 sees them, the chosen table and what the kernel accepts. */
void rw_pmu_report(const struct rw_pmu *pmu, FILE *out);

#endif
