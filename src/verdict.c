/* verdict: per-target hysteresis over the fused score, and the reasons in an operator's words.
 * Integer only, like the rest of the scoring path. */
#include <stdio.h>
#include <string.h>

#include "rigwatch/config.h"
#include "rigwatch/features.h"
#include "rigwatch/model.h"
#include "rigwatch/verdict.h"

const char *rw_verdict_name(enum rw_verdict v)
{
	switch (v) {
	case RW_VERDICT_CLEAN:
		return "clean";
	case RW_VERDICT_SUSPECT:
		return "suspect";
	case RW_VERDICT_MINING:
		return "mining";
	default:
		return "unknown";
	}
}

void rw_verdict_tracker_init(struct rw_verdict_tracker *t)
{
	memset(t, 0, sizeof(*t));
}

/* v (Q16.16) with `digits` decimals (0..3), rounded, trailing zeros trimmed: "0.21", "4", "1.5". */
static void dec(int32_t v, unsigned digits, char *buf, size_t len)
{
	static const int64_t pow10[] = { 1, 10, 100, 1000 };
	int64_t p = pow10[digits];
	int64_t a = v < 0 ? -(int64_t)v : v;
	int64_t scaled = (a * p + 32768) >> 16;
	int64_t whole = scaled / p, frac = scaled % p;
	char f[8] = "";
	if (digits && frac) {
		snprintf(f, sizeof(f), ".%0*lld", (int)digits, (long long)frac);
		for (size_t i = strlen(f) - 1; f[i] == '0'; i--)
			f[i] = '\0';
	}
	snprintf(buf, len, "%s%lld%s", v < 0 && scaled ? "-" : "", (long long)whole, f);
}

static void span(uint32_t interval_ms, char *buf, size_t len)
{
	if (interval_ms % 1000 == 0)
		snprintf(buf, len, "%u s", interval_ms / 1000);
	else
		snprintf(buf, len, "%u ms", interval_ms);
}

static int32_t percent(int32_t v)
{
	return (int32_t)(((int64_t)v * 100 + 32768) >> 16);
}

void rw_reason_describe(int feature, int32_t v, uint32_t interval_ms, const char *evidence, char *buf, unsigned len)
{
	char d[32], in[24];
	int32_t n = (v + 32768) >> 16;   /* counts are whole numbers */

	span(interval_ms, in, sizeof(in));
	dec(v, 2, d, sizeof(d));
	switch (feature) {
	case RW_F_IPC:
		snprintf(buf, len, "%s instructions per cycle", d);
		break;
	case RW_F_LLC_MPKI:
		snprintf(buf, len, "%s last-level-cache misses per 1000 instructions", d);
		break;
	case RW_F_BRANCH_MPKI:
		snprintf(buf, len, "%s branch misses per 1000 instructions", d);
		break;
	case RW_F_PD_PER_INSN:
		snprintf(buf, len, "packed-double FP %s per instruction", d);
		break;
	case RW_F_PD256_PER_INSN:
		snprintf(buf, len, "256-bit packed-double FP %s per instruction", d);
		break;
	case RW_F_FP_SCALAR_PER_INSN:
		snprintf(buf, len, "scalar double FP %s per instruction", d);
		break;
	case RW_F_FP_SIMD_PER_INSN:
		snprintf(buf, len, "FP/SIMD operations %s per instruction", d);
		break;
	case RW_F_CRYPTO_PKI:
		snprintf(buf, len, "%s AES/crypto operations per 1000 instructions", d);
		break;
	case RW_F_FP_ROUNDING_MODES:
		snprintf(buf, len, "%d distinct FP rounding mode%s in %s", n, n == 1 ? "" : "s", in);
		break;
	case RW_F_FP_THREAD_MODES:
		snprintf(buf, len, "%d FP rounding mode%s on one thread in %s", n, n == 1 ? "" : "s", in);
		break;
	case RW_F_FP_NONDEFAULT_MODES:
		snprintf(buf, len, "%d non-default FP rounding mode%s on one thread in %s", n, n == 1 ? "" : "s", in);
		break;
	case RW_F_FP_FTZ_DAZ:
		snprintf(buf, len, "%s", v ? "FP flush-to-zero/denormals-are-zero set" :
			 "FP flush-to-zero/denormals-are-zero not set");
		break;
	case RW_F_CORES:
		snprintf(buf, len, "%s CPU cores used over %s", d, in);
		break;
	case RW_F_THROTTLE:
		snprintf(buf, len, "CPU-throttled %d %% of %s", percent(v), in);
		break;
	case RW_F_CPU_STEADINESS:
		snprintf(buf, len, "CPU use %d %% steady over the last %u intervals", percent(v), RW_STEADY_WINDOW);
		break;
	case RW_F_MEMORY_GIB:
		if (v < 65536) {
			snprintf(buf, len, "%d MiB of memory", (int32_t)(((int64_t)v * 1024 + 32768) >> 16));
		} else {
			snprintf(buf, len, "%s GiB of memory", d);
		}
		break;
	case RW_F_HUGEPAGE_SHARE:
		snprintf(buf, len, "%d %% of anonymous memory in huge pages", percent(v));
		break;
	case RW_F_IND_RULES:
	case RW_F_IND_MATCHES:
		if (evidence && *evidence)
			snprintf(buf, len, "%s", evidence);
		else if (feature == RW_F_IND_RULES)
			snprintf(buf, len, "%d kind%s of miner indicator matched", n, n == 1 ? "" : "s");
		else
			snprintf(buf, len, "%d miner indicator match%s", n, n == 1 ? "" : "es");
		break;
	case RW_F_POOL_CONNECTIONS:
		snprintf(buf, len, "%d TCP connection%s to mining-pool ports", n, n == 1 ? "" : "s");
		break;
	default:
		snprintf(buf, len, "feature %d = %s", feature, d);
		break;
	}
}

unsigned rw_verdict_reasons(const struct rw_features *f, const struct rw_model_output *mo, struct rw_reason *out,
			    unsigned max)
{
	unsigned n = 0;
	uint32_t used = 0;

	while (n < max) {
		int best = -1;
		for (int i = 0; i < RW_F_COUNT; i++) {
			if (!(f->present & RW_F_BIT(i)) || (used & RW_F_BIT(i)) || mo->contrib_q16[i] <= 0)
				continue;
			/* Ties go to the lower feature index so the list is the same on every run. */
			if (best < 0 || mo->contrib_q16[i] > mo->contrib_q16[best])
				best = i;
		}
		if (best < 0)
			break;
		used |= RW_F_BIT(best);
		struct rw_reason *r = &out[n++];
		r->source = rw_feature_source(best);
		snprintf(r->feature, sizeof(r->feature), "%s", rw_feature_name(best));
		r->value_q16 = f->v[best];
		rw_reason_describe(best, f->v[best], f->interval_ms, f->evidence, r->detail, sizeof(r->detail));
	}
	return n;
}

static enum rw_verdict level_of(const struct rw_config *cfg, int32_t p)
{
	if (p >= cfg->mining_threshold_q16)
		return RW_VERDICT_MINING;
	if (p >= cfg->suspect_threshold_q16)
		return RW_VERDICT_SUSPECT;
	return RW_VERDICT_CLEAN;
}

static void enter(struct rw_verdict_tracker *t, enum rw_verdict v, uint64_t time_ns)
{
	if (v == RW_VERDICT_MINING)
		t->st.detections++;
	if (v < t->st.verdict) {
		/* Leaving clears the window: coming back takes k fresh intervals. */
		memset(t->levels, 0, sizeof(t->levels));
		t->pos = t->filled = 0;
	}
	t->st.verdict = v;
	t->st.since_ns = time_ns;
	t->st.intervals_in_verdict = 0;
	t->below = 0;
}

int rw_verdict_update(struct rw_verdict_tracker *t, const struct rw_config *cfg, const struct rw_features *f,
		      const struct rw_model_output *mo, uint64_t time_ns)
{
	unsigned n = cfg->verdict_enter_n, k = cfg->verdict_enter_k, m = cfg->verdict_leave_m;
	int changed = 0;

	if (n > RW_VERDICT_WINDOW_MAX)
		n = RW_VERDICT_WINDOW_MAX;
	if (n == 0)
		n = 1;
	if (k == 0)
		k = 1;
	if (m == 0)
		m = 1;
	if (!t->started) {
		t->started = 1;
		t->st.verdict = RW_VERDICT_CLEAN;
		t->st.first_seen_ns = t->st.since_ns = time_ns;
		changed = 1;
	}

	enum rw_verdict level = level_of(cfg, mo->p_q16);
	t->levels[t->pos] = (uint8_t)level;
	t->pos = (t->pos + 1) % n;
	if (t->filled < n)
		t->filled++;
	unsigned n_mining = 0, n_suspect = 0;
	for (unsigned i = 0; i < t->filled; i++) {
		n_mining += t->levels[i] == RW_VERDICT_MINING;
		n_suspect += t->levels[i] >= RW_VERDICT_SUSPECT;
	}

	enum rw_verdict cur = t->st.verdict;
	if (n_mining >= k && cur != RW_VERDICT_MINING) {
		enter(t, RW_VERDICT_MINING, time_ns);
		changed = 1;
	} else if (cur == RW_VERDICT_CLEAN && n_suspect >= k) {
		enter(t, RW_VERDICT_SUSPECT, time_ns);
		changed = 1;
	} else if (cur != RW_VERDICT_CLEAN) {
		t->below = level < cur ? t->below + 1 : 0;
		if (t->below >= m) {
			enum rw_verdict to = cur == RW_VERDICT_MINING && level == RW_VERDICT_SUSPECT ?
				RW_VERDICT_SUSPECT : RW_VERDICT_CLEAN;
			enter(t, to, time_ns);
			changed = 1;
		}
	}

	t->st.intervals_in_verdict++;
	t->st.score_q16 = mo->p_q16;
	t->st.sources_used = mo->sources_used;
	t->st.n_reasons = rw_verdict_reasons(f, mo, t->st.reasons, RW_REASONS_MAX);
	return changed;
}
