/* events: per-microarchitecture tables of libpfm4 event strings, one row per counter role.
 * Pure data; the pmu module encodes and opens them.
 *
 * Groups. Events of one group are opened as one perf group, so the kernel schedules them together and their
 * ratios are exact. Group 0 of every table holds instructions, cycles and the strongest RandomX signature the CPU
 * has (Intel 128-bit packed double, AMD flops or Zen4 PACK128+AES, ARM ASE_SPEC+CRYPTO_SPEC), so the key
 * per-instruction ratios never depend on multiplexing. Later groups do not repeat instructions: each group is
 * scaled by its own enabled/running times to the same window, so their counts are interpreted per instruction
 * against group 0's scaled total (what `perf stat` does), and the pmu module reports the smallest
 * running/enabled ratio so consumers know how much of that is estimate. Where the counters suffice (Intel with
 * HT off, 8 counters) all groups are on the PMU at once and nothing is estimated.
 *
 * Budget: a group takes at most 4 general-purpose counters (`slots`: one hyper-thread's on Intel); Intel instructions
 * (INST_RETIRED:ANY_P, 0xc0) and cycles (0x3c) go on fixed counters and ARM CPU_CYCLES on the cycle counter
 * (slots 0); AMD RETIRED_SSE_AVX_FLOPS is a merged event taking a counter pair (slots 2). */
#ifndef RIGWATCH_EVENTS_H
#define RIGWATCH_EVENTS_H

/* What a counter means to the features, whatever its vendor name. */
enum rw_counter_role {
	RW_CTR_INSTRUCTIONS = 0,
	RW_CTR_CYCLES,
	RW_CTR_LLC_MISSES,
	RW_CTR_BRANCH_MISSES,
	RW_CTR_FP_SCALAR_DOUBLE,
	RW_CTR_FP_128_PACKED_DOUBLE, /* Intel FP_ARITH 128B_PACKED_DOUBLE, AMD Zen4 PACK128 uops */
	RW_CTR_FP_256_PACKED_DOUBLE,
	RW_CTR_FP_SIMD,              /* all SIMD/FP work where no width split exists (AMD flops, ARM ASE_SPEC) */
	RW_CTR_CRYPTO,               /* AES/crypto ops: ARM CRYPTO_SPEC, AMD Zen4 SSE_AVX_AES */
	RW_CTR_TASK_CLOCK,           /* software events from here on: always available */
	RW_CTR_CONTEXT_SWITCHES,
	RW_CTR_PAGE_FAULTS,
	RW_CTR_COUNT
};
#define RW_CTR_FIRST_SOFTWARE RW_CTR_TASK_CLOCK
#define RW_CTR_BIT(r) (1u << (r))

/* Most general-purpose counters one group may take (4 per hyper-thread on Intel). */
#define RW_EVENTS_GROUP_SLOTS 4

struct rw_event_def {
	enum rw_counter_role role;
	const char *name;   /* libpfm4 string, with its pmu:: prefix */
	unsigned group;     /* events of one group are scheduled together; keep a group within the counters */
	unsigned slots;     /* general-purpose counters it takes: 0 on a fixed counter, 2 for an AMD merged event */
};

struct rw_event_table {
	const char *pmu;          /* libpfm4 PMU name this table is for ("skx", "arm_n1", "perf") */
	const char *description;
	const struct rw_event_def *events;
	unsigned n_events;
	unsigned n_groups;        /* groups are numbered 0 .. n_groups-1 */
};

/* All tables compiled into this build (the ARM ones only into aarch64 builds, where libpfm4 knows them). */
const struct rw_event_table *const *rw_events_tables(unsigned *count);
/* The table for a libpfm4 PMU name, or NULL. */
const struct rw_event_table *rw_events_table_for_pmu(const char *pmu);
/* The generic perf:: table, used when no model-specific core PMU is present. */
const struct rw_event_table *rw_events_generic(void);

/* "instructions", "cycles", "llc_misses", ... stable names for metrics and traces. */
const char *rw_counter_role_name(enum rw_counter_role role);

#endif
