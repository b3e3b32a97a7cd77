/* targets: the table of workload cgroups the agent tracks, keyed by cgroup id (inode), with what each one needs
 * between intervals (previous readings for deltas, open counters, first-seen time). */
#ifndef RIGWATCH_TARGETS_H
#define RIGWATCH_TARGETS_H

#include <stdbool.h>
#include <stdint.h>

#include "rigwatch/cgstats.h"
#include "rigwatch/containers.h"
#include "rigwatch/events.h"
#include "rigwatch/identity.h"
#include "rigwatch/sample.h"

struct rw_pmu_group;

/* Targets are keyed by cgroup id (the cgroup2 directory inode) or, for a busy process that sits in the root cgroup
 * or in a cgroup that is not a target, by process: bit 63 set, the process start time (clock ticks since boot,
 * /proc/PID/stat field 22, 41 bits) and its pid (22 bits, pid_max is at most 2^22). Inode numbers never set bit 63
 * on the filesystems cgroups live on (kernfs uses 32-bit inode numbers plus a generation in the high half, far
 * below 2^63), so the two kinds never collide, and a reused pid gets a new id. */
#define RW_PROC_TARGET_BIT (1ull << 63)
static inline uint64_t rw_proc_target_id(uint32_t pid, uint64_t start_ticks)
{
	return RW_PROC_TARGET_BIT | ((start_ticks & ((1ull << 41) - 1)) << 22) | (pid & ((1u << 22) - 1));
}
static inline int rw_target_is_process(uint64_t id)
{
	return (id & RW_PROC_TARGET_BIT) != 0;
}
static inline uint32_t rw_proc_target_pid(uint64_t id)
{
	return (uint32_t)(id & ((1u << 22) - 1));
}

struct rw_target {
	uint64_t id;
	char path[RW_CGROUP_PATH_MAX];        /* relative to the cgroup2 root */
	struct rw_identity identity;
	uint64_t seen_seq;                    /* last walk that found it */
	uint64_t first_seen_ns;

	struct rw_cgstats prev_cg;            /* readings at the end of the previous interval */
	uint64_t prev_time_ns;                /* CLOCK_MONOTONIC of prev_cg */
	bool have_prev;
	uint64_t sample_time_ns;              /* CLOCK_MONOTONIC of the last sample, read or carried */
	unsigned still_intervals;             /* consecutive readings with next to no CPU (see the agent) */
	uint32_t cg_missing;                  /* cgroup files found missing (see rw_cgstats_paths.missing) */

	struct rw_pmu_group *perf_group;      /* open counters; NULL unless busy (attention) */
	uint64_t prev_counters[RW_CTR_COUNT];
	unsigned idle_intervals;              /* consecutive intervals below the attention threshold */
	bool was_busy;                        /* above it in the previous interval */
	bool counters_denied;                 /* busy, but no counters could be opened */
	bool denied_logged;

	uint64_t proc_anon, proc_rss;         /* processes' memory from /proc, where the cgroup's cannot be read */
	bool have_proc_mem;

	struct rw_indicator_evidence indicators; /* latest process scan, carried between scans */
	bool have_indicators;
	bool ran_since_scan;                  /* its tasks used CPU since that scan (idle scans wait for it) */
	uint64_t scan_seq;                    /* the agent's interval of that scan */
	bool scan_was_busy;                   /* the target was busy at that scan */
	uint8_t verdict;                      /* enum rw_verdict after the previous interval, for alerts */
	uint8_t action;                       /* enum rw_action_state after the previous interval */
	bool names_done;                      /* the names module has nothing more to add to identity */
	uint32_t allow_gen;                   /* agent's rules generation allow_idx was found for (0: never) */
	int allow_idx;                        /* index of the [allow] rule that matches, -1 none */

	struct rw_container_meta container;   /* engine state, cached; re-read when its file changes */
	uint64_t container_mtime_ns;          /* of the file container was read from; 0 none */
	uint32_t container_checks;            /* looks at the engine's state so far */
	bool container_bad_logged;            /* a malformed state file was logged (once per file version) */
	struct rw_container_origin origin;    /* collected once, when the target is first convicted */
	uint64_t hashing_since_ns;            /* first interval whose FP evidence showed hashing */

};

struct rw_targets;

int rw_targets_new(struct rw_targets **out);
/* Free the table; `release` is called for each target first (close counters, free scoring state). */
void rw_targets_free(struct rw_targets *t, void (*release)(struct rw_target *, void *), void *arg);

/* Find by id, or NULL. */
struct rw_target *rw_targets_find(struct rw_targets *t, uint64_t id);
/* Find or insert (zeroed, with id set) into *out; *created tells which. Returns 0 or -ENOMEM. */
int rw_targets_get(struct rw_targets *t, uint64_t id, struct rw_target **out, bool *created);
/* Remove every target whose seen_seq differs from `seq`, calling `release` on each before freeing it. */
unsigned rw_targets_sweep(struct rw_targets *t, uint64_t seq, void (*release)(struct rw_target *, void *), void *arg);

unsigned rw_targets_count(const struct rw_targets *t);
/* Iterate: pass *cursor = 0 first; returns NULL at the end. Order is stable between inserts. */
struct rw_target *rw_targets_next(struct rw_targets *t, unsigned *cursor);

#endif
