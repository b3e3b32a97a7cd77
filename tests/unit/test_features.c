/* features: fixed-point values from real sample shapes, and "missing" kept apart from zero. */
#include <string.h>

#include "rigwatch/features.h"
#include "rw_test.h"

static void base_sample(struct rw_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->cgroup_id = 42;
	s->interval_us = 1000000;
	s->sources = RW_SRC_BIT(RW_SRC_CGROUP);
	s->cg.have = RW_CGS_CPU | RW_CGS_THROTTLE | RW_CGS_MEMORY | RW_CGS_MEMSTAT;
	s->cpu_usec = 500000;
}

static void test_cgroup_features(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	s.throttled_usec = 250000;
	s.cg.memory_current = 2ull << 30;
	s.cg.anon = 1000;
	s.cg.anon_thp = 250;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_EQUAL(f.v[RW_F_CORES], 32768);
	CU_ASSERT_EQUAL(f.v[RW_F_THROTTLE], 16384);
	CU_ASSERT_EQUAL(f.v[RW_F_MEMORY_GIB], 2 << 16);
	CU_ASSERT_EQUAL(f.v[RW_F_HUGEPAGE_SHARE], 16384);
	CU_ASSERT(f.present & RW_F_BIT(RW_F_CORES));
	CU_ASSERT_EQUAL(f.sources, RW_SRC_BIT(RW_SRC_CGROUP));
	CU_ASSERT_EQUAL(f.interval_ms, 1000);
	/* a file that was not read is missing, not zero */
	s.cg.have = RW_CGS_CPU;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_MEMORY_GIB));
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_THROTTLE));
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_HUGEPAGE_SHARE));
}

static void test_missing_sources_are_missing(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	s.fp.probes = 0;
	s.sources |= RW_SRC_BIT(RW_SRC_FPPROBE);   /* probe ran but read nothing */
	s.counters_present = 0;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_ROUNDING_MODES));
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_IPC));
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_IND_RULES));
	CU_ASSERT_EQUAL(f.sources, RW_SRC_BIT(RW_SRC_CGROUP));
	/* a probe that read the default mode is evidence: 1 mode, present */
	s.fp.probes = 4;
	s.fp.modes_union = 1;
	s.fp.max_thread_modes = 1;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT(f.present & RW_F_BIT(RW_F_FP_ROUNDING_MODES));
	CU_ASSERT_EQUAL(f.v[RW_F_FP_ROUNDING_MODES], 1 << 16);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_MODES], 0);
	CU_ASSERT(f.sources & RW_SRC_BIT(RW_SRC_FPPROBE));
}

static void test_fpprobe_features(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	s.sources |= RW_SRC_BIT(RW_SRC_FPPROBE);
	s.fp.probes = 6;
	s.fp.modes_union = 0xf;
	s.fp.max_thread_modes = 4;
	s.fp.max_thread_nondefault = 3;
	s.fp.ftz_daz = 1;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_ROUNDING_MODES], 4 << 16);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_THREAD_MODES], 4 << 16);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_MODES], 3 << 16);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_FTZ_DAZ], 65536);
}

static void test_pmu_ratios(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	s.sources |= RW_SRC_BIT(RW_SRC_PMU);
	s.counters_present = (1u << RW_CTR_INSTRUCTIONS) | (1u << RW_CTR_CYCLES) | (1u << RW_CTR_LLC_MISSES) |
			     (1u << RW_CTR_BRANCH_MISSES) | (1u << RW_CTR_FP_128_PACKED_DOUBLE) |
			     (1u << RW_CTR_CRYPTO);
	s.counters[RW_CTR_INSTRUCTIONS] = 3000000000ull;
	s.counters[RW_CTR_CYCLES] = 1500000000ull;
	s.counters[RW_CTR_LLC_MISSES] = 12000000;     /* 4 per 1000 */
	s.counters[RW_CTR_BRANCH_MISSES] = 1200000;   /* 0.4 per 1000 */
	s.counters[RW_CTR_FP_128_PACKED_DOUBLE] = 630000000; /* 0.21 */
	s.counters[RW_CTR_CRYPTO] = 120000000;        /* 40 per 1000 */
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_EQUAL(f.v[RW_F_IPC], 2 << 16);
	CU_ASSERT_EQUAL(f.v[RW_F_LLC_MPKI], 4 << 16);
	CU_ASSERT_EQUAL(f.v[RW_F_BRANCH_MPKI], (int32_t)(0.4 * 65536));
	CU_ASSERT_EQUAL(f.v[RW_F_PD_PER_INSN], (int32_t)(0.21 * 65536));
	CU_ASSERT_EQUAL(f.v[RW_F_CRYPTO_PKI], 40 << 16);
	/* counters the table lacks stay missing */
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_PD256_PER_INSN));
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_SIMD_PER_INSN));
	/* no instructions retired: ratios are missing, not zero */
	s.counters[RW_CTR_INSTRUCTIONS] = 0;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_LLC_MPKI));
	CU_ASSERT_FALSE(f.sources & RW_SRC_BIT(RW_SRC_PMU));
}

static void test_ratio_saturates(void)
{
	CU_ASSERT_EQUAL(rw_ratio_q16(UINT64_MAX, 1, 1000), INT32_MAX);
	CU_ASSERT_EQUAL(rw_ratio_q16(5, 0, 1), 0);
	CU_ASSERT_EQUAL(rw_ratio_q16(UINT64_MAX, UINT64_MAX, 1), 65536);
}

static void test_steadiness_window(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	s.cpu_usec = 1000000;
	for (int i = 0; i < RW_STEADY_MIN - 1; i++) {
		rw_features_compute(&st, &s, &f);
		CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_CPU_STEADINESS));
	}
	rw_features_compute(&st, &s, &f);
	CU_ASSERT(f.present & RW_F_BIT(RW_F_CPU_STEADINESS));
	CU_ASSERT_EQUAL(f.v[RW_F_CPU_STEADINESS], 65536);
	/* alternate 0 and 2 cores over a whole window: mean 1, MAD 1, steadiness 0 */
	for (int i = 0; i < RW_STEADY_WINDOW; i++) {
		s.cpu_usec = i % 2 ? 2000000 : 0;
		rw_features_compute(&st, &s, &f);
	}
	CU_ASSERT_EQUAL(f.v[RW_F_CPU_STEADINESS], 0);
	/* 25 % duty at 1 s granularity: 1,0,0,0 -> mean .25, MAD .375 -> 0 */
	for (int i = 0; i < RW_STEADY_WINDOW; i++) {
		s.cpu_usec = i % 4 == 0 ? 1000000 : 0;
		rw_features_compute(&st, &s, &f);
	}
	CU_ASSERT_EQUAL(f.v[RW_F_CPU_STEADINESS], 0);
	/* idle is not steady */
	for (int i = 0; i < RW_STEADY_WINDOW; i++) {
		s.cpu_usec = 1000;
		rw_features_compute(&st, &s, &f);
	}
	CU_ASSERT(f.present & RW_F_BIT(RW_F_CPU_STEADINESS));
	CU_ASSERT_EQUAL(f.v[RW_F_CPU_STEADINESS], 0);
	/* 0.9 and 1.1 cores: MAD 0.1, mean 1 -> 0.9 */
	for (int i = 0; i < RW_STEADY_WINDOW; i++) {
		s.cpu_usec = i % 2 ? 900000 : 1100000;
		rw_features_compute(&st, &s, &f);
	}
	CU_ASSERT(f.v[RW_F_CPU_STEADINESS] > 58900 && f.v[RW_F_CPU_STEADINESS] < 59100);
}

static void test_indicators_and_names(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	s.sources |= RW_SRC_BIT(RW_SRC_INDICATORS);
	s.ind.rule_hits = 0x5;
	s.ind.matches = 3;
	s.ind.pool_connections = 1;
	strcpy(s.ind.evidence, "cmdline contains stratum+tcp://");
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_EQUAL(f.v[RW_F_IND_RULES], 2 << 16);
	CU_ASSERT_EQUAL(f.v[RW_F_IND_MATCHES], 3 << 16);
	CU_ASSERT_EQUAL(f.v[RW_F_POOL_CONNECTIONS], 1 << 16);
	CU_ASSERT_STRING_EQUAL(f.evidence, "cmdline contains stratum+tcp://");
	for (int i = 0; i < RW_F_COUNT; i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(rw_feature_name(i));
		CU_ASSERT_EQUAL(rw_feature_by_name(rw_feature_name(i)), i);
	}
	CU_ASSERT(rw_feature_by_name("nope") < 0);
	CU_ASSERT_EQUAL(rw_source_by_name("fpprobe"), RW_SRC_FPPROBE);
}

static const rw_test tests[] = {
	RW_TEST(test_cgroup_features),
	RW_TEST(test_missing_sources_are_missing),
	RW_TEST(test_fpprobe_features),
	RW_TEST(test_pmu_ratios),
	RW_TEST(test_ratio_saturates),
	RW_TEST(test_steadiness_window),
	RW_TEST(test_indicators_and_names),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("features", tests);
}
