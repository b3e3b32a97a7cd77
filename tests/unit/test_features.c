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
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_MODE_EVENNESS));
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_IPC));
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_IND_RULES));
	CU_ASSERT_EQUAL(f.sources, RW_SRC_BIT(RW_SRC_CGROUP));
	/* reads of the default mode are evidence: one mode, present, once there are enough of them */
	s.fp.probes = 16;
	s.fp.mode_obs[0] = 16;
	s.fp.pairs = 15;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT(f.present & RW_F_BIT(RW_F_FP_MODE_EVENNESS));
	CU_ASSERT_EQUAL(f.v[RW_F_FP_MODE_EVENNESS], 0);
	CU_ASSERT(f.present & RW_F_BIT(RW_F_FP_NONDEFAULT_EVENNESS));   /* no non-default reads: 0, not missing */
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_EVENNESS], 0);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_SHARE], 0);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_CHANGE_RATE], 0);
	CU_ASSERT(f.sources & RW_SRC_BIT(RW_SRC_FPPROBE));
}

/* RandomX-like reads: all four modes in equal shares, FTZ+DAZ set, most pairs changing. */
static void fp_randomx(struct rw_sample *s, uint32_t per_mode)
{
	s->sources |= RW_SRC_BIT(RW_SRC_FPPROBE);
	s->fp.path = RW_FP_PATH_PTRACE;
	s->fp.probes = 4 * per_mode;
	for (unsigned m = 0; m < 4; m++)
		s->fp.mode_obs[m] = per_mode;
	s->fp.ftz_daz_obs = 4 * per_mode;
	s->fp.pairs = 4 * per_mode - 1;
	s->fp.changes = 3 * per_mode;
	s->fp.threads = 1;
}

static void test_fpprobe_features(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	fp_randomx(&s, 4);
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_MODE_EVENNESS], 65536);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_EVENNESS], 65536);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_SHARE], 49152);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_CHANGE_RATE], rw_ratio_q16(12, 15, 1));
	CU_ASSERT_EQUAL(f.v[RW_F_FP_FTZ_DAZ_NONDEFAULT], 49152);   /* min(1, 0.75) */
	CU_ASSERT_EQUAL(f.v[RW_F_FP_TRACED_THREADS], 0);

	/* shares, not counts: 25 times the observations (the eBPF path) give the same values */
	struct rw_features g;
	rw_features_state_init(&st);
	fp_randomx(&s, 100);
	s.fp.changes = 300;
	s.fp.pairs = 400;
	rw_features_compute(&st, &s, &g);
	CU_ASSERT_EQUAL(g.v[RW_F_FP_MODE_EVENNESS], 65536);
	CU_ASSERT_EQUAL(g.v[RW_F_FP_NONDEFAULT_SHARE], f.v[RW_F_FP_NONDEFAULT_SHARE]);
	CU_ASSERT_EQUAL(g.v[RW_F_FP_CHANGE_RATE], 49152);

	/* two modes in equal shares (stochastic rounding: upward and downward): evenness 2/3; -ffast-math (FTZ+DAZ,
	 * nearest only): no FTZ+DAZ-with-non-default evidence */
	rw_features_state_init(&st);
	memset(&s.fp, 0, sizeof(s.fp));
	s.fp.probes = 16;
	s.fp.mode_obs[1] = s.fp.mode_obs[2] = 8;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_MODE_EVENNESS], rw_ratio_q16(2, 3, 1));
	rw_features_state_init(&st);
	memset(&s.fp, 0, sizeof(s.fp));
	s.fp.probes = s.fp.mode_obs[0] = s.fp.ftz_daz_obs = 16;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_FTZ_DAZ_NONDEFAULT], 0);
}

/* Too few observations for a share: missing. Over the window they add up. */
static void test_fpprobe_min_observations(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	fp_randomx(&s, 1);       /* 4 reads, 3 pairs */
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_MODE_EVENNESS));
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_CHANGE_RATE));
	rw_features_compute(&st, &s, &f);
	rw_features_compute(&st, &s, &f);     /* 12 reads, 9 pairs over three intervals */
	CU_ASSERT(f.present & RW_F_BIT(RW_F_FP_MODE_EVENNESS));
	CU_ASSERT(f.present & RW_F_BIT(RW_F_FP_CHANGE_RATE));
	CU_ASSERT_EQUAL(f.v[RW_F_FP_MODE_EVENNESS], 65536);
	/* the window forgets: after RW_FP_WINDOW intervals without reads nothing is left (an idle or frozen target is
	 * not judged on what it did before), and once RW_FP_HISTORY have passed a new read finds nothing to add to */
	memset(&s.fp, 0, sizeof(s.fp));
	s.sources &= ~RW_SRC_BIT(RW_SRC_FPPROBE);
	for (unsigned i = 0; i < RW_FP_WINDOW; i++)
		rw_features_compute(&st, &s, &f);
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_MODE_EVENNESS));
	for (unsigned i = RW_FP_WINDOW; i < RW_FP_HISTORY; i++)
		rw_features_compute(&st, &s, &f);
	fp_randomx(&s, 1);
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_MODE_EVENNESS));
}

/* A thread read once an interval (stopped most of each second): the window reaches back until its reads are enough
 * for a share, and the share is what eight busy intervals show. A busy thread's window stays eight intervals. */
static void test_fpprobe_sparse_reaches_back(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	unsigned first = 0;
	for (unsigned i = 0; i < RW_FP_HISTORY && !first; i++) {
		memset(&s.fp, 0, sizeof(s.fp));
		s.sources |= RW_SRC_BIT(RW_SRC_FPPROBE);
		s.fp.probes = 1;
		s.fp.mode_obs[i % 4] = 1;      /* RandomX's CFROUND: the modes in turn, one read each interval */
		s.fp.pairs = s.fp.changes = 1;
		rw_features_compute(&st, &s, &f);
		if (f.present & RW_F_BIT(RW_F_FP_NONDEFAULT_EVENNESS))
			first = i + 1;
	}
	/* 12 reads (9 of them non-default) after 12 intervals, where eight intervals would never hold enough */
	CU_ASSERT_EQUAL(first, RW_FP_MIN_OBS);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_MODE_EVENNESS], 65536);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_EVENNESS], 65536);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_SHARE], 49152);

	/* a gap of RW_FP_WINDOW intervals without a read (the miner killed, the cgroup idle), then a few default reads
	 * (a service started again): not enough for a share, and the miner's reads before the gap are not gathered */
	for (unsigned i = 0; i < RW_FP_WINDOW; i++) {
		memset(&s.fp, 0, sizeof(s.fp));
		rw_features_compute(&st, &s, &f);
	}
	memset(&s.fp, 0, sizeof(s.fp));
	s.fp.probes = s.fp.mode_obs[0] = 4;
	s.fp.pairs = 3;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_MODE_EVENNESS));
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_NONDEFAULT_EVENNESS));

	/* a busy thread with a stray non-default read (16 reads an interval, one of them upward every 8 intervals):
	 * eight intervals suffice, the sparse past with its many non-default reads is not gathered */
	for (unsigned i = 0; i < RW_FP_WINDOW; i++) {
		memset(&s.fp, 0, sizeof(s.fp));
		s.fp.probes = 16;
		s.fp.mode_obs[0] = i ? 16 : 15;
		s.fp.mode_obs[2] = i ? 0 : 1;
		s.fp.pairs = 15;
		rw_features_compute(&st, &s, &f);
	}
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_SHARE], rw_ratio_q16(1, 128, 1));
	CU_ASSERT(f.present & RW_F_BIT(RW_F_FP_NONDEFAULT_EVENNESS));
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_EVENNESS], 0);

	/* busy again (default mode only, 16 reads an interval): eight intervals suffice, the sparse past is not read */
	for (unsigned i = 0; i < RW_FP_WINDOW; i++) {
		memset(&s.fp, 0, sizeof(s.fp));
		s.fp.probes = s.fp.mode_obs[0] = 16;
		s.fp.pairs = 15;
		rw_features_compute(&st, &s, &f);
	}
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_SHARE], 0);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_MODE_EVENNESS], 0);

	/* some non-default reads, too few to judge their spread: reached back for more. Two reads an interval, one in
	 * a non-default mode every other interval (the three in turn): eight intervals hold 4 of them. */
	rw_features_state_init(&st);
	for (unsigned i = 0; i < 2 * RW_FP_WINDOW; i++) {
		memset(&s.fp, 0, sizeof(s.fp));
		s.fp.probes = 2;
		s.fp.mode_obs[0] = i % 2 ? 1 : 2;
		if (i % 2)
			s.fp.mode_obs[1 + (i / 2) % 3] = 1;
		s.fp.pairs = s.fp.changes = 2;
		rw_features_compute(&st, &s, &f);
	}
	/* back to the eighth non-default read (interval 1): 8 of 30 reads */
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_SHARE], rw_ratio_q16(8, 30, 1));
	CU_ASSERT(f.v[RW_F_FP_NONDEFAULT_EVENNESS] > 60000);            /* 3, 3 and 2 of them */

	/* a miner hashing once every 5 intervals beside its own idle thread at round-to-nearest (2 reads an interval,
	 * as rx-light-1t-sparse-bpf.trace shows): eight intervals hold 18-20 default reads and 3 or 6 non-default ones,
	 * more than an eighth of them, so the window reaches back and the spread stays measured from one burst to the
	 * next instead of dropping to 0 between them. With a decoy thread woken 20 times an interval at
	 * round-to-nearest they are far less than an eighth, but the hashing thread is seen in several non-default
	 * modes within its burst: the window reaches back all the same. */
	for (unsigned decoy = 0; decoy <= 20; decoy += 20) {
		rw_features_state_init(&st);
		unsigned spread_low = 0;
		for (unsigned i = 0; i < 6 * RW_FP_WINDOW; i++) {
			memset(&s.fp, 0, sizeof(s.fp));
			s.fp.mode_obs[0] = 2 + decoy;
			if (i % 5 == 0) {
				s.fp.mode_obs[0] += 2;
				for (unsigned m = 1; m < 4; m++)
					s.fp.mode_obs[m] = 1;
				s.fp.max_thread_nondefault = 3;
			}
			s.fp.probes = s.fp.mode_obs[0] + s.fp.mode_obs[1] + s.fp.mode_obs[2] + s.fp.mode_obs[3];
			rw_features_compute(&st, &s, &f);
			if (i >= 2 * RW_FP_WINDOW && (!(f.present & RW_F_BIT(RW_F_FP_NONDEFAULT_EVENNESS)) ||
						      f.v[RW_F_FP_NONDEFAULT_EVENNESS] < 60000))
				spread_low++;
		}
		CU_ASSERT_EQUAL(spread_low, 0);
	}

	/* stray non-default reads, one thread in one mode each (2 in 24 reads over eight intervals: under an eighth, no
	 * thread in two non-default modes): the window stays 8 intervals and the spread is 0, though reaching back
	 * would gather eight of them, evenly spread */
	rw_features_state_init(&st);
	for (unsigned i = 0; i < 4 * RW_FP_WINDOW; i++) {
		memset(&s.fp, 0, sizeof(s.fp));
		s.fp.mode_obs[0] = 3;
		if (i % 4 == 0) {
			s.fp.mode_obs[0] = 2;
			s.fp.mode_obs[1 + (i / 4) % 3] = 1;
			s.fp.max_thread_nondefault = 1;
		}
		s.fp.probes = 3;
		rw_features_compute(&st, &s, &f);
	}
	CU_ASSERT(f.present & RW_F_BIT(RW_F_FP_NONDEFAULT_EVENNESS));
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_EVENNESS], 0);
	CU_ASSERT_EQUAL(f.v[RW_F_FP_NONDEFAULT_SHARE], rw_ratio_q16(2, 24, 1));
}

/* Busy threads another process traces: FP evidence without a single read. */
static void test_fpprobe_traced_threads(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	s.fp.threads_traced = 2;
	s.fp.tracer_pid = 1234;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT(f.present & RW_F_BIT(RW_F_FP_TRACED_THREADS));
	CU_ASSERT_EQUAL(f.v[RW_F_FP_TRACED_THREADS], 2 << 16);
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_FP_MODE_EVENNESS));
	CU_ASSERT(f.sources & RW_SRC_BIT(RW_SRC_FPPROBE));
}

/* RandomX's memory footprint: anonymous memory from memory.stat. */
static void test_anon_memory(void)
{
	struct rw_features_state st;
	struct rw_features f;
	struct rw_sample s;
	rw_features_state_init(&st);
	base_sample(&s);
	s.cg.anon = 256ull << 20;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT(f.present & RW_F_BIT(RW_F_ANON_GIB));
	CU_ASSERT_EQUAL(f.v[RW_F_ANON_GIB], 65536 / 4);
	s.cg.have &= ~RW_CGS_MEMSTAT;
	rw_features_compute(&st, &s, &f);
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_ANON_GIB));
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
	/* an idle target's steadiness is not measured: neither steady nor unsteady */
	for (int i = 0; i < RW_STEADY_WINDOW; i++) {
		s.cpu_usec = 1000;
		rw_features_compute(&st, &s, &f);
	}
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_CPU_STEADINESS));
	/* nor is one at 4 % of a core that runs some intervals and not others, as a miner hashing every other second
	 * does; at 6 % on average (over RW_STEADY_FLOOR_Q16, 5 %) it is measured again */
	for (int i = 0; i < RW_STEADY_WINDOW; i++) {
		s.cpu_usec = i % 2 ? 80000 : 0;
		rw_features_compute(&st, &s, &f);
	}
	CU_ASSERT_FALSE(f.present & RW_F_BIT(RW_F_CPU_STEADINESS));
	for (int i = 0; i < RW_STEADY_WINDOW; i++) {
		s.cpu_usec = i % 2 ? 120000 : 0;
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
	RW_TEST(test_fpprobe_min_observations),
	RW_TEST(test_fpprobe_sparse_reaches_back),
	RW_TEST(test_fpprobe_traced_threads),
	RW_TEST(test_anon_memory),
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
