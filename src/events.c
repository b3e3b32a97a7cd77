/* events: the counter tables. Every string here was encoded by libpfm4 4.13; tests/unit/test_events.c re-checks
 * each x86 one against the config libpfm4 gave for it, recorded there.
 *
 * Choices that are not obvious:
 * - Intel instructions are INST_RETIRED:ANY_P (0xc0), not INST_RETIRED:ANY: 4.13 mis-encodes spr ANY as 0x1c0,
 *   and the kernel puts 0xc0 on fixed counter 0 anyway.
 * - skx and clx are the same tables under two names: libpfm4 calls a Cascade Lake "clx" and rejects skx:: there.
 * - icx/spr need the ALL_BRANCHES umask on BR_MISP_RETIRED (no default umask in 4.13) and have no FP_ARITH alias
 *   on spr, so FP_ARITH_INST_RETIRED is spelled out there.
 * - AMD "LLC misses" are demand data-cache fills from DRAM (0x4843): the core-side count of what missed L3. The
 *   kernel's cache-misses on Zen is an L2 miss, and the L3 PMU is shared by a CCX and not per cgroup.
 * - Only Zen4 (RETIRED_INT_OPS:SSE_AVX_AES) and ARM (CRYPTO_SPEC) have a crypto event; Intel has none.
 * - On ARM, RandomX's vector FP lands in ASE_SPEC (Advanced SIMD), so that is the FP/SIMD role. */
#include <stddef.h>
#include <string.h>

#include "rigwatch/events.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define TABLE(p, d, ev, ng) { p, d, ev, N(ev), ng }

/* Intel Skylake-SP / Cascade Lake: 3 fixed counters, 4 general per hyper-thread (8 with HT off). */
#define SKL_FAMILY(P) \
	{ RW_CTR_INSTRUCTIONS,         P "::INST_RETIRED:ANY_P",             0, 0 }, \
	{ RW_CTR_CYCLES,               P "::UNHALTED_CORE_CYCLES",           0, 0 }, \
	{ RW_CTR_FP_128_PACKED_DOUBLE, P "::FP_ARITH:128B_PACKED_DOUBLE",    0, 1 }, \
	{ RW_CTR_LLC_MISSES,           P "::LONGEST_LAT_CACHE:MISS",         0, 1 }, \
	{ RW_CTR_BRANCH_MISSES,        P "::BR_MISP_RETIRED:ALL_BRANCHES",   0, 1 }, \
	{ RW_CTR_FP_SCALAR_DOUBLE,     P "::FP_ARITH:SCALAR_DOUBLE",         1, 1 }, \
	{ RW_CTR_FP_256_PACKED_DOUBLE, P "::FP_ARITH:256B_PACKED_DOUBLE",    1, 1 }

static const struct rw_event_def skx_events[] = { SKL_FAMILY("skx") };
static const struct rw_event_def clx_events[] = { SKL_FAMILY("clx") };

/* Intel Ice Lake-SP / Sapphire Rapids: 4 fixed counters, 8 general per thread; same layout as Skylake so that
 * features mean the same on every Intel host. */
#define ICL_FAMILY(P) \
	{ RW_CTR_INSTRUCTIONS,         P "::INST_RETIRED:ANY_P",                      0, 0 }, \
	{ RW_CTR_CYCLES,               P "::UNHALTED_CORE_CYCLES",                    0, 0 }, \
	{ RW_CTR_FP_128_PACKED_DOUBLE, P "::FP_ARITH_INST_RETIRED:128B_PACKED_DOUBLE", 0, 1 }, \
	{ RW_CTR_LLC_MISSES,           P "::LONGEST_LAT_CACHE:MISS",                  0, 1 }, \
	{ RW_CTR_BRANCH_MISSES,        P "::BR_MISP_RETIRED:ALL_BRANCHES",            0, 1 }, \
	{ RW_CTR_FP_SCALAR_DOUBLE,     P "::FP_ARITH_INST_RETIRED:SCALAR_DOUBLE",     1, 1 }, \
	{ RW_CTR_FP_256_PACKED_DOUBLE, P "::FP_ARITH_INST_RETIRED:256B_PACKED_DOUBLE", 1, 1 }

static const struct rw_event_def icx_events[] = { ICL_FAMILY("icx") };
static const struct rw_event_def spr_events[] = { ICL_FAMILY("spr") };

/* AMD Zen2/Zen3: 6 general counters, no fixed ones. No FP width split: RETIRED_SSE_AVX_FLOPS:ANY (all
 * precisions, a merged event on a counter pair) is the FP role and shares group 0 with instructions. */
static const struct rw_event_def zen2_events[] = {
	{ RW_CTR_INSTRUCTIONS,  "amd64_fam17h_zen2::RETIRED_INSTRUCTIONS", 0, 1 },
	{ RW_CTR_CYCLES,        "amd64_fam17h_zen2::CYCLES_NOT_IN_HALT", 0, 1 },
	{ RW_CTR_FP_SIMD,       "amd64_fam17h_zen2::RETIRED_SSE_AVX_FLOPS:ANY", 0, 2 },
	{ RW_CTR_LLC_MISSES,    "amd64_fam17h_zen2::DATA_CACHE_REFILLS_FROM_SYSTEM:LS_MABRESP_LCL_DRAM:LS_MABRESP_RMT_DRAM",
	  1, 1 },
	{ RW_CTR_BRANCH_MISSES, "amd64_fam17h_zen2::RETIRED_BRANCH_INSTRUCTIONS_MISPREDICTED", 1, 1 },
};

static const struct rw_event_def zen3_events[] = {
	{ RW_CTR_INSTRUCTIONS,  "amd64_fam19h_zen3::RETIRED_INSTRUCTIONS", 0, 1 },
	{ RW_CTR_CYCLES,        "amd64_fam19h_zen3::CYCLES_NOT_IN_HALT", 0, 1 },
	{ RW_CTR_FP_SIMD,       "amd64_fam19h_zen3::RETIRED_SSE_AVX_FLOPS:ANY", 0, 2 },
	{ RW_CTR_LLC_MISSES,    "amd64_fam19h_zen3::DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:MEM_IO_LCL:MEM_IO_RMT", 1, 1 },
	{ RW_CTR_BRANCH_MISSES, "amd64_fam19h_zen3::RETIRED_BRANCH_INSTRUCTIONS_MISPREDICTED", 1, 1 },
};

/* AMD Zen4: FP ops split by width, and an AES op count (the only x86 crypto event in libpfm4 4.13). Note 4.13
 * detects Zen4 only on model 0x11 (Genoa); other Zen4 models get no core PMU and fall back to perf::. */
static const struct rw_event_def zen4_events[] = {
	{ RW_CTR_INSTRUCTIONS,         "amd64_fam19h_zen4::RETIRED_INSTRUCTIONS", 0, 1 },
	{ RW_CTR_CYCLES,               "amd64_fam19h_zen4::CYCLES_NOT_IN_HALT", 0, 1 },
	{ RW_CTR_FP_128_PACKED_DOUBLE, "amd64_fam19h_zen4::RETIRED_FP_OPS_BY_WIDTH:PACK128_UOPS_RETIRED", 0, 1 },
	{ RW_CTR_CRYPTO,               "amd64_fam19h_zen4::RETIRED_INT_OPS:SSE_AVX_AES", 0, 1 },
	{ RW_CTR_LLC_MISSES,           "amd64_fam19h_zen4::DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:DRAM_IO_NEAR:DRAM_IO_FAR",
	  1, 1 },
	{ RW_CTR_BRANCH_MISSES,        "amd64_fam19h_zen4::RETIRED_BRANCH_INSTRUCTIONS_MISPREDICTED", 1, 1 },
	{ RW_CTR_FP_SCALAR_DOUBLE,     "amd64_fam19h_zen4::RETIRED_FP_OPS_BY_WIDTH:SCALAR_UOPS_RETIRED", 1, 1 },
	{ RW_CTR_FP_256_PACKED_DOUBLE, "amd64_fam19h_zen4::RETIRED_FP_OPS_BY_WIDTH:PACK256_UOPS_RETIRED", 1, 1 },
};

#if defined(__aarch64__)
/* Arm Neoverse: 6 general counters plus the dedicated cycle counter. Config is the architected event number,
 * so the four tables differ only in their prefix (libpfm4 detects them by CPU part number). */
#define NEOVERSE(P) \
	{ RW_CTR_INSTRUCTIONS,  P "::INST_RETIRED",        0, 1 }, \
	{ RW_CTR_CYCLES,        P "::CPU_CYCLES",          0, 0 }, \
	{ RW_CTR_FP_SIMD,       P "::ASE_SPEC",            0, 1 }, \
	{ RW_CTR_CRYPTO,        P "::CRYPTO_SPEC",         0, 1 }, \
	{ RW_CTR_LLC_MISSES,    P "::LL_CACHE_MISS_RD",    0, 1 }, \
	{ RW_CTR_BRANCH_MISSES, P "::BR_MIS_PRED_RETIRED", 1, 1 }

static const struct rw_event_def arm_n1_events[] = { NEOVERSE("arm_n1") };
static const struct rw_event_def arm_v1_events[] = { NEOVERSE("arm_v1") };
static const struct rw_event_def arm_n2_events[] = { NEOVERSE("arm_n2") };
static const struct rw_event_def arm_v2_events[] = { NEOVERSE("arm_v2") };
#endif

/* Kernel generic events: portable, but cache-misses is LLC on Intel, L2 on AMD and L1D on ARM. */
static const struct rw_event_def generic_events[] = {
	{ RW_CTR_INSTRUCTIONS,  "perf::instructions",  0, 1 },
	{ RW_CTR_CYCLES,        "perf::cycles",        0, 1 },
	{ RW_CTR_LLC_MISSES,    "perf::cache-misses",  0, 1 },
	{ RW_CTR_BRANCH_MISSES, "perf::branch-misses", 0, 1 },
};

static const struct rw_event_table skx_table =
	TABLE("skx", "Intel Skylake-SP (model 85, stepping < 5)", skx_events, 2);
static const struct rw_event_table clx_table =
	TABLE("clx", "Intel Cascade Lake (model 85, stepping >= 5)", clx_events, 2);
static const struct rw_event_table icx_table = TABLE("icx", "Intel Ice Lake-SP (model 106)", icx_events, 2);
static const struct rw_event_table spr_table = TABLE("spr", "Intel Sapphire Rapids (model 143)", spr_events, 2);
static const struct rw_event_table zen2_table =
	TABLE("amd64_fam17h_zen2", "AMD Zen2 (family 17h)", zen2_events, 2);
static const struct rw_event_table zen3_table =
	TABLE("amd64_fam19h_zen3", "AMD Zen3 (family 19h)", zen3_events, 2);
static const struct rw_event_table zen4_table =
	TABLE("amd64_fam19h_zen4", "AMD Zen4 (family 19h; libpfm4 4.13 detects model 0x11 only)", zen4_events, 2);
#if defined(__aarch64__)
static const struct rw_event_table arm_n1_table = TABLE("arm_n1", "Arm Neoverse N1", arm_n1_events, 2);
static const struct rw_event_table arm_v1_table = TABLE("arm_v1", "Arm Neoverse V1", arm_v1_events, 2);
static const struct rw_event_table arm_n2_table = TABLE("arm_n2", "Arm Neoverse N2", arm_n2_events, 2);
static const struct rw_event_table arm_v2_table = TABLE("arm_v2", "Arm Neoverse V2", arm_v2_events, 2);
#endif
static const struct rw_event_table generic_table =
	TABLE("perf", "kernel generic events (no model-specific table)", generic_events, 1);

static const struct rw_event_table *const all_tables[] = {
	&skx_table, &clx_table, &icx_table, &spr_table,
	&zen2_table, &zen3_table, &zen4_table,
#if defined(__aarch64__)
	&arm_n1_table, &arm_v1_table, &arm_n2_table, &arm_v2_table,
#endif
	&generic_table,
};

static const char *const role_names[RW_CTR_COUNT] = {
	[RW_CTR_INSTRUCTIONS] = "instructions",
	[RW_CTR_CYCLES] = "cycles",
	[RW_CTR_LLC_MISSES] = "llc_misses",
	[RW_CTR_BRANCH_MISSES] = "branch_misses",
	[RW_CTR_FP_SCALAR_DOUBLE] = "fp_scalar_double",
	[RW_CTR_FP_128_PACKED_DOUBLE] = "fp_128b_packed_double",
	[RW_CTR_FP_256_PACKED_DOUBLE] = "fp_256b_packed_double",
	[RW_CTR_FP_SIMD] = "fp_simd",
	[RW_CTR_CRYPTO] = "crypto",
	[RW_CTR_TASK_CLOCK] = "task_clock",
	[RW_CTR_CONTEXT_SWITCHES] = "context_switches",
	[RW_CTR_PAGE_FAULTS] = "page_faults",
};

const struct rw_event_table *const *rw_events_tables(unsigned *count)
{
	if (count)
		*count = (unsigned)N(all_tables);
	return all_tables;
}

const struct rw_event_table *rw_events_table_for_pmu(const char *pmu)
{
	if (!pmu)
		return NULL;
	for (size_t i = 0; i < N(all_tables); i++)
		if (strcmp(all_tables[i]->pmu, pmu) == 0)
			return all_tables[i];
	return NULL;
}

const struct rw_event_table *rw_events_generic(void)
{
	return &generic_table;
}

const char *rw_counter_role_name(enum rw_counter_role role)
{
	if ((unsigned)role >= RW_CTR_COUNT)
		return "unknown";
	return role_names[role];
}
