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

/* The reasons are written for every scored target every interval: a small bounded string builder rather than
 * snprintf, whose format machinery made up nine tenths of a target's scoring (callgrind, tools/bench/model.c). */
struct text {
	char *p, *end; /* end: the last byte, kept for the terminating NUL */
};

static void put_str(struct text *t, const char *s)
{
	while (*s && t->p < t->end)
		*t->p++ = *s++;
}

static void put_uint(struct text *t, uint64_t v)
{
	char digits[20];
	unsigned n = 0;
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n && t->p < t->end)
		*t->p++ = digits[--n];
}

static void put_int(struct text *t, int64_t v)
{
	if (v < 0) {
		put_str(t, "-");
		put_uint(t, (uint64_t)0 - (uint64_t)v);
	} else {
		put_uint(t, (uint64_t)v);
	}
}

/* v (Q16.16) with `digits` decimals (0..3), rounded, trailing zeros trimmed: "0.21", "4", "1.5". */
static void put_dec(struct text *t, int32_t v, unsigned digits)
{
	static const int64_t pow10[] = { 1, 10, 100, 1000 };
	int64_t p = pow10[digits];
	int64_t a = v < 0 ? -(int64_t)v : v;
	int64_t scaled = (a * p + 32768) >> 16;
	int64_t whole = scaled / p, frac = scaled % p;
	if (v < 0 && scaled)
		put_str(t, "-");
	put_uint(t, (uint64_t)whole);
	if (digits && frac) {
		char f[4];
		unsigned n = digits;
		for (unsigned i = digits; i-- > 0; frac /= 10)
			f[i] = (char)('0' + frac % 10);
		while (n > 0 && f[n - 1] == '0')
			n--;
		put_str(t, ".");
		for (unsigned i = 0; i < n && t->p < t->end; i++)
			*t->p++ = f[i];
	}
}

static void put_span(struct text *t, uint32_t interval_ms)
{
	if (interval_ms % 1000 == 0) {
		put_uint(t, interval_ms / 1000);
		put_str(t, " s");
	} else {
		put_uint(t, interval_ms);
		put_str(t, " ms");
	}
}

/* "N thing" or "N things": whole counts. */
static void put_count(struct text *t, int32_t n, const char *one, const char *many)
{
	put_int(t, n);
	put_str(t, n == 1 ? one : many);
}

static int32_t percent(int32_t v)
{
	return (int32_t)(((int64_t)v * 100 + 32768) >> 16);
}

void rw_reason_describe(int feature, int32_t v, uint32_t interval_ms, const char *evidence, char *buf, unsigned len)
{
	int32_t n = (v + 32768) >> 16;   /* counts are whole numbers */
	struct text t = { buf, buf + (len ? len - 1 : 0) };

	if (len == 0)
		return;
	switch (feature) {
	case RW_F_IPC:
		put_dec(&t, v, 2);
		put_str(&t, " instructions per cycle");
		break;
	case RW_F_LLC_MPKI:
		put_dec(&t, v, 2);
		put_str(&t, " last-level-cache misses per 1000 instructions");
		break;
	case RW_F_BRANCH_MPKI:
		put_dec(&t, v, 2);
		put_str(&t, " branch misses per 1000 instructions");
		break;
	case RW_F_PD_PER_INSN:
		put_str(&t, "packed-double FP ");
		put_dec(&t, v, 2);
		put_str(&t, " per instruction");
		break;
	case RW_F_PD256_PER_INSN:
		put_str(&t, "256-bit packed-double FP ");
		put_dec(&t, v, 2);
		put_str(&t, " per instruction");
		break;
	case RW_F_FP_SCALAR_PER_INSN:
		put_str(&t, "scalar double FP ");
		put_dec(&t, v, 2);
		put_str(&t, " per instruction");
		break;
	case RW_F_FP_SIMD_PER_INSN:
		put_str(&t, "FP/SIMD operations ");
		put_dec(&t, v, 2);
		put_str(&t, " per instruction");
		break;
	case RW_F_CRYPTO_PKI:
		put_dec(&t, v, 2);
		put_str(&t, " AES/crypto operations per 1000 instructions");
		break;
	case RW_F_FP_MODE_EVENNESS:
		put_str(&t, "FP rounding modes ");
		put_int(&t, percent(v));
		put_str(&t, " % even (100: all four in equal shares)");
		break;
	case RW_F_FP_NONDEFAULT_EVENNESS:
		put_str(&t, "non-default FP rounding modes ");
		put_int(&t, percent(v));
		put_str(&t, " % even (100: all three in equal shares)");
		break;
	case RW_F_FP_NONDEFAULT_SHARE:
		put_int(&t, percent(v));
		put_str(&t, " % of FP reads in a non-default rounding mode");
		break;
	case RW_F_FP_CHANGE_RATE:
		put_str(&t, "FP rounding mode changed between ");
		put_int(&t, percent(v));
		put_str(&t, " % of consecutive reads of a thread");
		break;
	case RW_F_FP_FTZ_DAZ_NONDEFAULT:
		put_str(&t, "FP flush-to-zero and denormals-are-zero with non-default rounding in ");
		put_int(&t, percent(v));
		put_str(&t, " % of reads");
		break;
	case RW_F_FP_TRACED_THREADS:
		put_count(&t, n, " busy thread", " busy threads");
		put_str(&t, " traced by another process (FP state unreadable)");
		break;
	case RW_F_CORES:
		put_dec(&t, v, 2);
		put_str(&t, " CPU cores used over ");
		put_span(&t, interval_ms);
		break;
	case RW_F_THROTTLE:
		put_str(&t, "CPU-throttled ");
		put_int(&t, percent(v));
		put_str(&t, " % of ");
		put_span(&t, interval_ms);
		break;
	case RW_F_CPU_STEADINESS:
		put_str(&t, "CPU use ");
		put_int(&t, percent(v));
		put_str(&t, " % steady over the last ");
		put_uint(&t, RW_STEADY_WINDOW);
		put_str(&t, " intervals");
		break;
	case RW_F_MEMORY_GIB:
		if (v < 65536) {
			put_int(&t, (int32_t)(((int64_t)v * 1024 + 32768) >> 16));
			put_str(&t, " MiB of memory");
		} else {
			put_dec(&t, v, 2);
			put_str(&t, " GiB of memory");
		}
		break;
	case RW_F_ANON_GIB:
		if (v < 65536) {
			put_int(&t, (int32_t)(((int64_t)v * 1024 + 32768) >> 16));
			put_str(&t, " MiB of anonymous memory");
		} else {
			put_dec(&t, v, 2);
			put_str(&t, " GiB of anonymous memory");
		}
		break;
	case RW_F_HUGEPAGE_SHARE:
		put_int(&t, percent(v));
		put_str(&t, " % of anonymous memory in huge pages");
		break;
	case RW_F_IND_RULES:
	case RW_F_IND_MATCHES:
		if (evidence && *evidence)
			put_str(&t, evidence);
		else if (feature == RW_F_IND_RULES)
			put_count(&t, n, " kind of miner indicator matched", " kinds of miner indicator matched");
		else
			put_count(&t, n, " miner indicator match", " miner indicator matches");
		break;
	case RW_F_POOL_CONNECTIONS:
		put_count(&t, n, " TCP connection", " TCP connections");
		put_str(&t, " to mining-pool ports");
		break;
	default:
		put_str(&t, "feature ");
		put_int(&t, feature);
		put_str(&t, " = ");
		put_dec(&t, v, 2);
		break;
	}
	*t.p = '\0';
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
		struct text name = { r->feature, r->feature + sizeof(r->feature) - 1 };
		put_str(&name, rw_feature_name(best));
		*name.p = '\0';
		r->value_q16 = f->v[best];
		rw_reason_describe(best, f->v[best], f->interval_ms, f->evidence, r->detail, sizeof(r->detail));
	}
	return n;
}

/* `mining` only where the model's sources agree (model.h): a single source reaches `suspect` at most, whatever the
 * configured thresholds. */
static enum rw_verdict level_of(const struct rw_config *cfg, const struct rw_model_output *mo)
{
	int32_t p = mo->p_q16;
	if (p >= cfg->mining_threshold_q16 && mo->agreed)
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

bool rw_verdict_update(struct rw_verdict_tracker *t, const struct rw_config *cfg, const struct rw_features *f,
		      const struct rw_model_output *mo, uint64_t time_ns)
{
	unsigned n = cfg->verdict_enter_n, k = cfg->verdict_enter_k, m = cfg->verdict_leave_m;
	bool changed = false;

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
		changed = true;
	}
	if (t->held && !changed) {
		t->st.intervals_in_verdict++;
		return false;
	}

	enum rw_verdict level = level_of(cfg, mo);
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
		changed = true;
	} else if (cur == RW_VERDICT_CLEAN && n_suspect >= k) {
		enter(t, RW_VERDICT_SUSPECT, time_ns);
		changed = true;
	} else if (cur != RW_VERDICT_CLEAN) {
		t->below = level < cur ? t->below + 1 : 0;
		if (t->below >= m) {
			enum rw_verdict to = cur == RW_VERDICT_MINING && level == RW_VERDICT_SUSPECT ?
				RW_VERDICT_SUSPECT : RW_VERDICT_CLEAN;
			enter(t, to, time_ns);
			changed = true;
		}
	}

	t->st.intervals_in_verdict++;
	t->st.score_q16 = mo->p_q16;
	t->st.sources_used = mo->sources_used;
	t->st.n_reasons = rw_verdict_reasons(f, mo, t->st.reasons, RW_REASONS_MAX);
	return changed;
}
