/* features: from one sample to the model's inputs, in Q16.16 fixed point. No floating point here: this runs for
 * every target every interval, and the same code must give the same bits live and in replay. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "rigwatch/features.h"

static const struct {
	const char *name;
	enum rw_source source;
} feature_info[RW_F_COUNT] = {
	[RW_F_IPC]                = { "ipc", RW_SRC_PMU },
	[RW_F_LLC_MPKI]           = { "llc_mpki", RW_SRC_PMU },
	[RW_F_BRANCH_MPKI]        = { "branch_mpki", RW_SRC_PMU },
	[RW_F_PD_PER_INSN]        = { "packed_double_per_insn", RW_SRC_PMU },
	[RW_F_PD256_PER_INSN]     = { "packed_double_256_per_insn", RW_SRC_PMU },
	[RW_F_FP_SCALAR_PER_INSN] = { "scalar_double_per_insn", RW_SRC_PMU },
	[RW_F_FP_SIMD_PER_INSN]   = { "fp_simd_per_insn", RW_SRC_PMU },
	[RW_F_CRYPTO_PKI]         = { "crypto_pki", RW_SRC_PMU },
	[RW_F_FP_MODE_EVENNESS]   = { "fp_mode_evenness", RW_SRC_FPPROBE },
	[RW_F_FP_NONDEFAULT_EVENNESS] = { "fp_nondefault_evenness", RW_SRC_FPPROBE },
	[RW_F_FP_NONDEFAULT_SHARE]= { "fp_nondefault_share", RW_SRC_FPPROBE },
	[RW_F_FP_CHANGE_RATE]     = { "fp_change_rate", RW_SRC_FPPROBE },
	[RW_F_FP_FTZ_DAZ_NONDEFAULT] = { "fp_ftz_daz_nondefault", RW_SRC_FPPROBE },
	[RW_F_FP_TRACED_THREADS]  = { "fp_traced_threads", RW_SRC_FPPROBE },
	[RW_F_CORES]              = { "cores", RW_SRC_CGROUP },
	[RW_F_THROTTLE]           = { "throttle", RW_SRC_CGROUP },
	[RW_F_CPU_STEADINESS]     = { "cpu_steadiness", RW_SRC_CGROUP },
	[RW_F_MEMORY_GIB]         = { "memory_gib", RW_SRC_CGROUP },
	[RW_F_HUGEPAGE_SHARE]     = { "hugepage_share", RW_SRC_CGROUP },
	[RW_F_ANON_GIB]           = { "anon_gib", RW_SRC_CGROUP },
	[RW_F_IND_RULES]          = { "indicator_rules", RW_SRC_INDICATORS },
	[RW_F_IND_MATCHES]        = { "indicator_matches", RW_SRC_INDICATORS },
	[RW_F_POOL_CONNECTIONS]   = { "pool_connections", RW_SRC_INDICATORS },
};

static const char *const source_names[RW_SRC_COUNT] = { "pmu", "fpprobe", "cgroup", "indicators" };

const char *rw_feature_name(enum rw_feature f)
{
	return (unsigned)f < RW_F_COUNT ? feature_info[f].name : NULL;
}

int rw_feature_by_name(const char *name)
{
	for (unsigned i = 0; i < RW_F_COUNT; i++)
		if (!strcmp(feature_info[i].name, name))
			return (int)i;
	return -ENOENT;
}

enum rw_source rw_feature_source(enum rw_feature f)
{
	return feature_info[f].source;
}

const char *rw_source_name(enum rw_source s)
{
	return (unsigned)s < RW_SRC_COUNT ? source_names[s] : "?";
}

int rw_source_by_name(const char *name)
{
	for (unsigned i = 0; i < RW_SRC_COUNT; i++)
		if (!strcmp(source_names[i], name))
			return (int)i;
	return -ENOENT;
}

int32_t rw_ratio_q16(uint64_t num, uint64_t den, uint32_t mult)
{
	if (den == 0)
		return 0;
	/* num * mult * 65536 fits in 128 bits for any 64-bit num and 32-bit mult. */
	unsigned __int128 q = ((unsigned __int128)num * mult << 16) / den;
	return q > INT32_MAX ? INT32_MAX : (int32_t)q;
}

static int32_t clamp_i64(int64_t v)
{
	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

void rw_features_state_init(struct rw_features_state *st)
{
	memset(st, 0, sizeof(*st));
}

static void set(struct rw_features *out, enum rw_feature f, int32_t v)
{
	out->v[f] = v;
	out->present |= RW_F_BIT(f);
	out->sources |= RW_SRC_BIT(feature_info[f].source);
}

static int have_ctr(const struct rw_sample *s, enum rw_counter_role a)
{
	return (s->counters_present >> a) & 1;
}

static void pmu_features(const struct rw_sample *s, struct rw_features *out)
{
	if (!(s->sources & RW_SRC_BIT(RW_SRC_PMU)) || !have_ctr(s, RW_CTR_INSTRUCTIONS))
		return;
	uint64_t insn = s->counters[RW_CTR_INSTRUCTIONS];
	/* An interval without retired instructions says nothing about the mix; leave the ratios missing. */
	if (insn == 0)
		return;
	if (have_ctr(s, RW_CTR_CYCLES) && s->counters[RW_CTR_CYCLES])
		set(out, RW_F_IPC, rw_ratio_q16(insn, s->counters[RW_CTR_CYCLES], 1));
	if (have_ctr(s, RW_CTR_LLC_MISSES))
		set(out, RW_F_LLC_MPKI, rw_ratio_q16(s->counters[RW_CTR_LLC_MISSES], insn, 1000));
	if (have_ctr(s, RW_CTR_BRANCH_MISSES))
		set(out, RW_F_BRANCH_MPKI, rw_ratio_q16(s->counters[RW_CTR_BRANCH_MISSES], insn, 1000));
	if (have_ctr(s, RW_CTR_FP_128_PACKED_DOUBLE))
		set(out, RW_F_PD_PER_INSN, rw_ratio_q16(s->counters[RW_CTR_FP_128_PACKED_DOUBLE], insn, 1));
	if (have_ctr(s, RW_CTR_FP_256_PACKED_DOUBLE))
		set(out, RW_F_PD256_PER_INSN, rw_ratio_q16(s->counters[RW_CTR_FP_256_PACKED_DOUBLE], insn, 1));
	if (have_ctr(s, RW_CTR_FP_SCALAR_DOUBLE))
		set(out, RW_F_FP_SCALAR_PER_INSN, rw_ratio_q16(s->counters[RW_CTR_FP_SCALAR_DOUBLE], insn, 1));
	if (have_ctr(s, RW_CTR_FP_SIMD))
		set(out, RW_F_FP_SIMD_PER_INSN, rw_ratio_q16(s->counters[RW_CTR_FP_SIMD], insn, 1));
	if (have_ctr(s, RW_CTR_CRYPTO))
		set(out, RW_F_CRYPTO_PKI, rw_ratio_q16(s->counters[RW_CTR_CRYPTO], insn, 1000));
}

/* Whether the reads of the window so far are too few to judge, so that it should reach back. Too few non-default
 * reads for their spread count where one thread of the window was seen in two non-default modes within an
 * interval (`mixer`: it changes among them, as a hashing thread does, and as no stray read does), or where they are
 * at least an eighth of the reads. So a busy thread with a stray non-default read never reaches back to gather old
 * ones, while a miner hashing once every few seconds does, however many default reads its other threads add: its
 * own idle event loop, or a decoy thread woken often on purpose to outnumber the hashing thread's reads. */
static bool fp_sparse(uint64_t n, uint64_t nd, bool mixer)
{
	return n < RW_FP_MIN_OBS || (nd < RW_FP_MIN_NONDEFAULT && (mixer || nd * 8 >= n));
}

/* The FP evidence is judged on shares, not counts: RandomX's CFROUND draws the rounding mode from random data, so
 * a hashing thread spends near-equal shares in all four modes and changes mode between most observations, however
 * many observations there are; legitimate users of the modes differ in the mix (interval arithmetic: nearest and
 * upward; stochastic rounding: upward and downward; -ffast-math: FTZ/DAZ with nearest only). The shares are taken
 * over the last RW_FP_WINDOW intervals, so a thread that hashes a little each second still adds up to enough
 * observations. A thread stopped most of each second, or held to a few percent of a core on a crowded host, is read
 * once or twice an interval, so eight intervals hold too few reads for a share and its FP features came and went;
 * where they are too few (fp_sparse), the window reaches back, up to RW_FP_HISTORY intervals, until they are enough:
 * a sparse thread is judged on the mix a busy one shows in eight intervals. The counts of an interval without FP
 * evidence enter the window as zeros. */
static void fpprobe_features(struct rw_features_state *st, const struct rw_sample *s, struct rw_features *out)
{
	const struct rw_fp_evidence *fp = &s->fp;
	/* Traced threads are evidence without a single read: the probe was there and was refused. */
	int measured = ((s->sources & RW_SRC_BIT(RW_SRC_FPPROBE)) && fp->probes > 0) || fp->threads_traced > 0;
	unsigned slot = st->fp_pos;
	st->fp_pos = (st->fp_pos + 1) % RW_FP_HISTORY;
	memset(&st->fp[slot], 0, sizeof(st->fp[slot]));
	if (measured) {
		for (unsigned m = 0; m < 4; m++)
			st->fp[slot].mode_obs[m] = fp->mode_obs[m];
		st->fp[slot].ftz_daz_obs = fp->ftz_daz_obs;
		st->fp[slot].pairs = fp->pairs;
		st->fp[slot].changes = fp->changes;
		st->fp[slot].thread_nondefault = fp->max_thread_nondefault;
	}
	/* The shares speak for the whole window: an interval without reads (the thread got too little CPU to be
	 * probed this time) keeps what the previous ones showed. But never across RW_FP_WINDOW intervals in a row
	 * without a read: the reads before such a gap (idle, frozen, killed and restarted) belong to what ran then, not
	 * to what runs now; a sparse miner is read every interval or two. */
	uint64_t mode[4] = { 0, 0, 0, 0 }, ftz = 0, pairs = 0, changes = 0, n = 0;
	unsigned empty_run = 0;
	bool mixer = false;
	for (unsigned k = 0; k < RW_FP_HISTORY; k++) {
		if (empty_run >= RW_FP_WINDOW || (k >= RW_FP_WINDOW && !fp_sparse(n, n - mode[0], mixer)))
			break;
		unsigned w = (slot + RW_FP_HISTORY - k) % RW_FP_HISTORY; /* newest first */
		const uint32_t *o = st->fp[w].mode_obs;
		empty_run = o[0] || o[1] || o[2] || o[3] ? 0 : empty_run + 1;
		mixer = mixer || st->fp[w].thread_nondefault >= 2;
		for (unsigned m = 0; m < 4; m++)
			mode[m] += o[m];
		ftz += st->fp[w].ftz_daz_obs;
		pairs += st->fp[w].pairs;
		changes += st->fp[w].changes;
		n = mode[0] + mode[1] + mode[2] + mode[3];
	}
	if (measured)
		set(out, RW_F_FP_TRACED_THREADS,
		    (int32_t)(fp->threads_traced > 32767 ? 32767 : fp->threads_traced) << 16);
	if (n >= RW_FP_MIN_OBS) {
		/* Gini-Simpson index over its maximum: (n^2 - sum n_m^2) / n^2 * 4/3. n can reach 2^39 (32 intervals
		 * of four 32-bit counts), so the squares could overflow 64 bits; scale n down to keep them in. */
		while (n > (1u << 30)) {
			for (unsigned m = 0; m < 4; m++)
				mode[m] >>= 1;
			ftz >>= 1;
			n = mode[0] + mode[1] + mode[2] + mode[3];
		}
		uint64_t sq = mode[0] * mode[0] + mode[1] * mode[1] + mode[2] * mode[2] + mode[3] * mode[3];
		set(out, RW_F_FP_MODE_EVENNESS, rw_ratio_q16((n * n - sq) * 4, n * n * 3, 1));
		uint64_t nd = n - mode[0];
		if (nd >= RW_FP_MIN_NONDEFAULT) {
			/* 1 - sum of squared shares over modes 1..3, over its maximum 2/3 */
			uint64_t sqn = mode[1] * mode[1] + mode[2] * mode[2] + mode[3] * mode[3];
			set(out, RW_F_FP_NONDEFAULT_EVENNESS, rw_ratio_q16((nd * nd - sqn) * 3, nd * nd * 2, 1));
		} else {
			/* enough reads, hardly any in a non-default mode: no spread over them to speak of */
			set(out, RW_F_FP_NONDEFAULT_EVENNESS, 0);
		}
		int32_t nondefault = rw_ratio_q16(nd, n, 1);
		int32_t ftz_share = rw_ratio_q16(ftz > n ? n : ftz, n, 1);
		set(out, RW_F_FP_NONDEFAULT_SHARE, nondefault);
		set(out, RW_F_FP_FTZ_DAZ_NONDEFAULT, ftz_share < nondefault ? ftz_share : nondefault);
	}
	if (pairs >= RW_FP_MIN_PAIRS)
		set(out, RW_F_FP_CHANGE_RATE, rw_ratio_q16(changes > pairs ? pairs : changes, pairs, 1));
}

/* Steadiness of CPU use over the window: 1 - MAD/mean, in 0..1. A miner holds its cores flat; interactive and batch
 * work comes and goes. Below RW_STEADY_FLOOR_Q16 on average it is not measured (-1): a target that barely runs
 * comes and goes at one-second resolution whatever it is, so a 0 there would weigh as evidence of benign work
 * against a miner held to a few percent of a core (stopped most of each second, hashing once every few seconds,
 * starved on a crowded host). */
static int32_t steadiness(const struct rw_features_state *st)
{
	int64_t sum = 0, dev = 0;
	unsigned n = st->filled;
	for (unsigned i = 0; i < n; i++)
		sum += st->cores[i];
	int64_t mean = sum / n;
	if (mean < RW_STEADY_FLOOR_Q16)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		int64_t d = st->cores[i] - mean;
		dev += d < 0 ? -d : d;
	}
	int64_t mad = dev / n;
	int64_t r = 65536 - (mad << 16) / mean;
	return r < 0 ? 0 : (int32_t)r;
}

static void cgroup_features(struct rw_features_state *st, const struct rw_sample *s, struct rw_features *out)
{
	if (!(s->sources & RW_SRC_BIT(RW_SRC_CGROUP)))
		return;
	const struct rw_cgstats *cg = &s->cg;
	if ((cg->have & RW_CGS_CPU) && s->interval_us > 0) {
		int32_t cores = rw_ratio_q16(s->cpu_usec, s->interval_us, 1);
		set(out, RW_F_CORES, cores);
		st->cores[st->pos] = cores;
		st->pos = (st->pos + 1) % RW_STEADY_WINDOW;
		if (st->filled < RW_STEADY_WINDOW)
			st->filled++;
		int32_t steady = st->filled >= RW_STEADY_MIN ? steadiness(st) : -1;
		if (steady >= 0)
			set(out, RW_F_CPU_STEADINESS, steady);
	}
	if ((cg->have & RW_CGS_THROTTLE) && s->interval_us > 0)
		set(out, RW_F_THROTTLE, rw_ratio_q16(s->throttled_usec, s->interval_us, 1));
	if (cg->have & (RW_CGS_MEMORY | RW_CGS_PROCMEM))
		set(out, RW_F_MEMORY_GIB, clamp_i64((int64_t)(cg->memory_current >> 14)));
	if (cg->have & RW_CGS_MEMSTAT) {
		set(out, RW_F_HUGEPAGE_SHARE, rw_ratio_q16(cg->anon_thp, cg->anon, 1));
		set(out, RW_F_ANON_GIB, clamp_i64((int64_t)(cg->anon >> 14)));
	} else if (cg->have & RW_CGS_PROCMEM) {
		/* the processes' anonymous memory; /proc gives no huge-page split of it */
		set(out, RW_F_ANON_GIB, clamp_i64((int64_t)(cg->anon >> 14)));
	}
}

static void indicator_features(const struct rw_sample *s, struct rw_features *out)
{
	if (!(s->sources & RW_SRC_BIT(RW_SRC_INDICATORS)))
		return;
	set(out, RW_F_IND_RULES, __builtin_popcount(s->ind.rule_hits) << 16);
	set(out, RW_F_IND_MATCHES, (int32_t)(s->ind.matches > 32767 ? 32767 : s->ind.matches) << 16);
	set(out, RW_F_POOL_CONNECTIONS,
	    (int32_t)(s->ind.pool_connections > 32767 ? 32767 : s->ind.pool_connections) << 16);
	if (s->ind.matches || s->ind.pool_connections) {
		memcpy(out->evidence, s->ind.evidence, sizeof(out->evidence));
		out->evidence[sizeof(out->evidence) - 1] = '\0';
	}
}

void rw_features_compute(struct rw_features_state *st, const struct rw_sample *s, struct rw_features *out)
{
	out->present = 0;
	out->sources = 0;
	memset(out->v, 0, sizeof(out->v));
	out->evidence[0] = '\0';
	out->interval_ms = (s->interval_us + 500) / 1000;
	pmu_features(s, out);
	fpprobe_features(st, s, out);
	cgroup_features(st, s, out);
	indicator_features(s, out);
}
