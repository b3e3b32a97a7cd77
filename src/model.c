/* model: strict parser for model files and integer-only inference. See model.h for the file format.
 * The scoring path (rw_model_eval, rw_sigmoid_q16) uses no floating point: Q16.16 values, 128-bit products. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/buf.h"
#include "rigwatch/config.h"
#include "rigwatch/model.h"

/* round(65536 / (1 + exp(-z))) for z = -16 + i/16, i = 0..512 (generated once with Python's math.exp). */
static const int32_t sigmoid_table[513] = {
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 2, 2,
	2, 2, 2, 2, 2, 2, 3, 3,
	3, 3, 3, 4, 4, 4, 4, 5,
	5, 5, 6, 6, 6, 7, 7, 8,
	8, 9, 9, 10, 10, 11, 12, 13,
	13, 14, 15, 16, 17, 18, 19, 21,
	22, 23, 25, 27, 28, 30, 32, 34,
	36, 39, 41, 44, 47, 50, 53, 56,
	60, 64, 68, 72, 77, 82, 87, 92,
	98, 105, 111, 119, 126, 134, 143, 152,
	162, 172, 184, 195, 208, 221, 236, 251,
	267, 284, 302, 321, 342, 364, 387, 412,
	439, 467, 497, 528, 562, 598, 636, 677,
	720, 766, 815, 867, 922, 980, 1042, 1109,
	1179, 1253, 1333, 1417, 1506, 1601, 1701, 1808,
	1921, 2041, 2168, 2303, 2446, 2598, 2758, 2928,
	3108, 3298, 3500, 3713, 3938, 4176, 4427, 4692,
	4971, 5266, 5577, 5904, 6249, 6611, 6992, 7392,
	7812, 8252, 8714, 9197, 9702, 10230, 10782, 11357,
	11955, 12579, 13226, 13898, 14595, 15316, 16062, 16832,
	17625, 18442, 19282, 20143, 21025, 21928, 22849, 23788,
	24743, 25712, 26695, 27689, 28693, 29705, 30723, 31744,
	32768, 33792, 34813, 35831, 36843, 37847, 38841, 39824,
	40793, 41748, 42687, 43608, 44511, 45393, 46254, 47094,
	47911, 48704, 49474, 50220, 50941, 51638, 52310, 52957,
	53581, 54179, 54754, 55306, 55834, 56339, 56822, 57284,
	57724, 58144, 58544, 58925, 59287, 59632, 59959, 60270,
	60565, 60844, 61109, 61360, 61598, 61823, 62036, 62238,
	62428, 62608, 62778, 62938, 63090, 63233, 63368, 63495,
	63615, 63728, 63835, 63935, 64030, 64119, 64203, 64283,
	64357, 64427, 64494, 64556, 64614, 64669, 64721, 64770,
	64816, 64859, 64900, 64938, 64974, 65008, 65039, 65069,
	65097, 65124, 65149, 65172, 65194, 65215, 65234, 65252,
	65269, 65285, 65300, 65315, 65328, 65341, 65352, 65364,
	65374, 65384, 65393, 65402, 65410, 65417, 65425, 65431,
	65438, 65444, 65449, 65454, 65459, 65464, 65468, 65472,
	65476, 65480, 65483, 65486, 65489, 65492, 65495, 65497,
	65500, 65502, 65504, 65506, 65508, 65509, 65511, 65513,
	65514, 65515, 65517, 65518, 65519, 65520, 65521, 65522,
	65523, 65523, 65524, 65525, 65526, 65526, 65527, 65527,
	65528, 65528, 65529, 65529, 65530, 65530, 65530, 65531,
	65531, 65531, 65532, 65532, 65532, 65532, 65533, 65533,
	65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534,
	65534, 65534, 65534, 65535, 65535, 65535, 65535, 65535,
	65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535,
	65535, 65535, 65535, 65535, 65535, 65536, 65536, 65536,
	65536, 65536, 65536, 65536, 65536, 65536, 65536, 65536,
	65536, 65536, 65536, 65536, 65536, 65536, 65536, 65536,
	65536, 65536, 65536, 65536, 65536, 65536, 65536, 65536,
	65536, 65536, 65536, 65536, 65536, 65536, 65536, 65536,
	65536, 65536, 65536, 65536, 65536, 65536, 65536, 65536,
	65536, 65536, 65536, 65536, 65536, 65536, 65536, 65536,
	65536, 65536, 65536, 65536, 65536, 65536, 65536, 65536,
	65536, 65536, 65536, 65536, 65536, 65536, 65536, 65536,
	65536,
};

int32_t rw_sigmoid_q16(int32_t z)
{
	if (z <= -16 * 65536)
		return 0;
	if (z >= 16 * 65536)
		return 65536;
	uint32_t u = (uint32_t)(z + 16 * 65536);
	uint32_t i = u >> 12, frac = u & 4095;      /* steps of 1/16 = 4096 in Q16 */
	int32_t a = sigmoid_table[i], b = sigmoid_table[i + 1];
	return a + (int32_t)(((int64_t)(b - a) * frac + 2048) >> 12);
}

static int32_t clamp32(int64_t v, int32_t lo, int32_t hi)
{
	return v < lo ? lo : v > hi ? hi : (int32_t)v;
}

/* One term's contribution: weight/256 * (clamp(x) - center) / scale, in Q16 log-odds. The parser checked that
 * |d| * |mult| stays under 2^62 for every d the clamp allows, so this is one 64-bit multiply. */
static inline int64_t term_contrib(const struct rw_model_term *t, int32_t x)
{
	x = x < t->lo_q16 ? t->lo_q16 : x;
	x = x > t->hi_q16 ? t->hi_q16 : x;
	return ((int64_t)x - t->center_q16) * t->mult >> RW_MODEL_MULT_SHIFT;
}

/* features.h keeps each source's features together and in source order: the evaluation walks them by constant
 * ranges, which the compiler unrolls into straight-line code with constant offsets. */
_Static_assert(RW_F_IPC == 0 && RW_F_FP_MODE_EVENNESS == 8 && RW_F_CORES == 14 && RW_F_IND_RULES == 20 &&
		       RW_F_COUNT == 23 && RW_SRC_PMU == 0 && RW_SRC_FPPROBE == 1 && RW_SRC_CGROUP == 2 &&
		       RW_SRC_INDICATORS == 3,
	       "rw_model_eval's feature ranges follow enum rw_feature and enum rw_source");

/* One feature's log-odds, as term_contrib: the value relative to lo, clamped to 0..range (values inside the
 * clamp, the usual case, take one unsigned compare and no conditional moves), less center - lo. */
static inline __attribute__((always_inline)) int64_t eval_term(const struct rw_model *m, const struct rw_features *f,
							       unsigned i)
{
	int64_t t = (int64_t)f->v[i] - m->eval.lo[i];
	if (__builtin_expect((uint64_t)t > m->eval.range[i], 0))
		t = t < 0 ? 0 : (int64_t)m->eval.range[i];
	return (t - m->eval.off[i]) * m->eval.mult[i] >> RW_MODEL_MULT_SHIFT;
}

/* Log-odds of features [first, end) that are present and weighted (`live`), added to z. */
static inline __attribute__((always_inline)) int64_t range_z(const struct rw_model *m, const struct rw_features *f,
							     uint32_t live, unsigned first, unsigned end, int64_t z)
{
#pragma GCC unroll 8
	for (unsigned i = first; i < end; i++)
		if (live & (1u << i))
			z += eval_term(m, f, i);
	return z;
}

/* The same over features all known present: no test per feature. Weights of 0 have a mult of 0, so their terms
 * add nothing here either. */
static inline __attribute__((always_inline)) int64_t range_z_all(const struct rw_model *m,
								 const struct rw_features *f, unsigned first,
								 unsigned end, int64_t z)
{
#pragma GCC unroll 8
	for (unsigned i = first; i < end; i++)
		z += eval_term(m, f, i);
	return z;
}

/* One source's capped log-odds from the log-odds of its terms. */
static inline __attribute__((always_inline)) int32_t source_cap(const struct rw_model_source *src, int64_t z)
{
	return clamp32(z, -src->cap_neg_q16, src->cap_pos_q16);
}

/* A source with every one of its features present: straight-line, its capped log-odds stored and returned. */
static inline __attribute__((always_inline)) int32_t source_full(const struct rw_model *m,
								 const struct rw_features *f,
								 struct rw_model_output *out, unsigned s,
								 unsigned first, unsigned end)
{
	int32_t zs = source_cap(&m->src[s], range_z_all(m, f, first, end, m->src[s].intercept_q16));
	out->source_logit_q16[s] = zs;
	return zs;
}

static inline __attribute__((always_inline)) void source_eval(const struct rw_model *m, const struct rw_features *f,
							      struct rw_model_output *out, unsigned s, unsigned first,
							      unsigned end, int64_t *total)
{
	if (!(f->sources & RW_SRC_BIT(s))) {
		out->source_logit_q16[s] = 0;
		return;
	}
	/* A source's features are usually all there when the source is: then the straight path. */
	uint32_t all = (uint32_t)(((1ull << end) - 1) & ~((1ull << first) - 1));
	int32_t zs;
	if ((f->present & all) == all) {
		zs = source_full(m, f, out, s, first, end);
	} else {
		const struct rw_model_source *src = &m->src[s];
		zs = source_cap(src, range_z(m, f, f->present & m->eval_mask[s], first, end, src->intercept_q16));
		out->source_logit_q16[s] = zs;
	}
	out->sources_used |= RW_SRC_BIT(s);
	*total += zs;
}

#define ALL_SOURCES ((1u << RW_SRC_COUNT) - 1)
#define ALL_FEATURES ((1u << RW_F_COUNT) - 1)

void rw_model_eval(const struct rw_model *m, const struct rw_features *f, struct rw_model_output *out)
{
	int64_t total = m->bias_q16;

	/* Every source with every feature (a host with a PMU, a busy target): one test for all, then straight-line. */
	if ((f->sources & ALL_SOURCES) == ALL_SOURCES && (f->present & ALL_FEATURES) == ALL_FEATURES) {
		out->sources_used = ALL_SOURCES;
		total += source_full(m, f, out, RW_SRC_PMU, RW_F_IPC, RW_F_FP_MODE_EVENNESS);
		total += source_full(m, f, out, RW_SRC_FPPROBE, RW_F_FP_MODE_EVENNESS, RW_F_CORES);
		total += source_full(m, f, out, RW_SRC_CGROUP, RW_F_CORES, RW_F_IND_RULES);
		total += source_full(m, f, out, RW_SRC_INDICATORS, RW_F_IND_RULES, RW_F_COUNT);
	} else {
		out->sources_used = 0;
		source_eval(m, f, out, RW_SRC_PMU, RW_F_IPC, RW_F_FP_MODE_EVENNESS, &total);
		source_eval(m, f, out, RW_SRC_FPPROBE, RW_F_FP_MODE_EVENNESS, RW_F_CORES, &total);
		source_eval(m, f, out, RW_SRC_CGROUP, RW_F_CORES, RW_F_IND_RULES, &total);
		source_eval(m, f, out, RW_SRC_INDICATORS, RW_F_IND_RULES, RW_F_COUNT, &total);
	}
	/* Agreement: `mining` needs the FP fingerprint and one more kind of evidence. Without it the fused log-odds
	 * stop at `alone`, whatever the weights say. A source's stored log-odds are 0 where it was not used, so
	 * "> 0" also says it was. */
	uint32_t agree = (uint32_t)(out->source_logit_q16[RW_SRC_PMU] > 0) << RW_SRC_PMU |
			 (uint32_t)(out->source_logit_q16[RW_SRC_FPPROBE] > 0) << RW_SRC_FPPROBE |
			 (uint32_t)(out->source_logit_q16[RW_SRC_INDICATORS] > 0) << RW_SRC_INDICATORS;
	/* From the cgroup only RandomX's memory footprint counts, not how busy or steady the target is: plenty of
	 * legitimate work is busy and steady. */
	if ((f->present & m->eval_mask[RW_SRC_CGROUP] & RW_F_BIT(RW_F_ANON_GIB)) && eval_term(m, f, RW_F_ANON_GIB) > 0)
		agree |= RW_SRC_BIT(RW_SRC_CGROUP);
	out->agree = agree;
	out->agreed = (int)((agree >> RW_SRC_FPPROBE) & 1) & ((agree & ~RW_SRC_BIT(RW_SRC_FPPROBE)) != 0);
	int32_t hi = m->cap_q16;
	if (!out->agreed && m->alone_q16 < hi)
		hi = m->alone_q16;
	out->logit_q16 = clamp32(total, -m->cap_q16, hi);
	out->p_q16 = rw_sigmoid_q16(out->logit_q16);
}

void rw_model_explain(const struct rw_model *m, const struct rw_features *f, struct rw_model_output *out)
{
	memset(out->contrib_q16, 0, sizeof(out->contrib_q16));
	for (unsigned i = 0; i < m->n_terms; i++) {
		const struct rw_model_term *t = &m->terms[i];
		if ((f->present & t->bit) && (f->sources & RW_SRC_BIT(rw_feature_source(t->feature))))
			out->contrib_q16[t->feature] = (int32_t)term_contrib(t, f->v[t->feature]);
	}
}

/* ---- parser ---- */

#define MAX_TOKENS 16

struct parse {
	const char *name;
	unsigned line;
	char *err;
	size_t errlen;
};

static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parse *p, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: %s", p->name, p->line, msg);
	return -EINVAL;
}

static int parse_int(struct parse *p, const char *key, const char *text, int32_t lo, int32_t hi, int32_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (!*text || *end || errno || v < lo || v > hi)
		return fail(p, "%s: expected an integer in %d..%d, got \"%s\"", key, lo, hi, text);
	*out = (int32_t)v;
	return 0;
}

static int parse_dec(struct parse *p, const char *key, const char *text, int32_t *out)
{
	if (rw_parse_q16(text, out) < 0)
		return fail(p, "%s: expected a decimal number (|x| < 32768), got \"%s\"", key, text);
	return 0;
}

/* key=value arguments against a list of required keys; every key must appear exactly once. */
static int parse_args(struct parse *p, char **tok, unsigned ntok, const char *const *keys, unsigned nkeys,
		      const char **vals)
{
	for (unsigned k = 0; k < nkeys; k++)
		vals[k] = NULL;
	for (unsigned i = 0; i < ntok; i++) {
		char *eq = strchr(tok[i], '=');
		if (!eq || eq == tok[i])
			return fail(p, "expected key=value, got \"%s\"", tok[i]);
		*eq = '\0';
		unsigned k;
		for (k = 0; k < nkeys; k++)
			if (!strcmp(keys[k], tok[i]))
				break;
		if (k == nkeys)
			return fail(p, "unknown key \"%s\"", tok[i]);
		if (vals[k])
			return fail(p, "key \"%s\" given twice", tok[i]);
		vals[k] = eq + 1;
	}
	for (unsigned k = 0; k < nkeys; k++)
		if (!vals[k])
			return fail(p, "missing key \"%s\"", keys[k]);
	return 0;
}

static int64_t term_mult(int32_t weight, int32_t scale_q16)
{
	/* weight/256 * d/scale in Q16: d_q16 * weight * 2^8 / scale_q16 = d_q16 * (weight * 2^32 / scale_q16) >> 24 */
	__int128 num = (__int128)weight * ((__int128)1 << (RW_MODEL_MULT_SHIFT + 8)); /* no shift of a negative */
	__int128 q = num >= 0 ? (num + scale_q16 / 2) / scale_q16 : (num - scale_q16 / 2) / scale_q16;
	return (int64_t)q;
}

static int finish_source(struct parse *p, struct rw_model *m, int s, bool *listed)
{
	if (s < 0)
		return 0;
	for (unsigned f = 0; f < RW_F_COUNT; f++)
		if (rw_feature_source(f) == (enum rw_source)s && !listed[f])
			return fail(p, "source %s: missing feature %s", rw_source_name(s), rw_feature_name(f));
	if (!m->src[s].kind[0])
		return fail(p, "source %s: missing \"provenance kind\"", rw_source_name(s));
	return 0;
}

static const char *const prov_keys[] = { "kind", "trace", "traces", "date", "accuracy", "method", "note" };

static int parse_text(struct rw_model *m, struct parse *p, char *text)
{
	bool seen_header = false, seen_name = false, seen_fusion = false;
	bool src_seen[RW_SRC_COUNT] = { false }, listed[RW_F_COUNT] = { false };
	int cur = -1;            /* current source block */
	unsigned last_line = 0;  /* end-of-file errors name the last statement */
	size_t prov_len = 0;
	char *save = NULL;
	int rc;

	memset(m, 0, sizeof(*m));
	p->line = 0;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p->line++;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		last_line = p->line;

		char copy[1024];
		if (strlen(s) >= sizeof(copy))
			return fail(p, "line too long");
		strcpy(copy, s);
		char *tok[MAX_TOKENS];
		unsigned ntok = 0;
		for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
			if (ntok == MAX_TOKENS && strcmp(tok[0], "provenance"))
				return fail(p, "too many fields");
			if (ntok < MAX_TOKENS)
				tok[ntok++] = t;
		}

		if (!seen_header) {
			if (strcmp(tok[0], "rigwatch-model"))
				return fail(p, "expected \"rigwatch-model %d\" first", RW_MODEL_VERSION);
			int32_t v;
			if (ntok != 2)
				return fail(p, "expected \"rigwatch-model %d\"", RW_MODEL_VERSION);
			if ((rc = parse_int(p, "version", tok[1], 1, 1000, &v)) < 0)
				return rc;
			if (v != RW_MODEL_VERSION)
				return fail(p, "model format version %d not supported (this build reads %d)", v,
					    RW_MODEL_VERSION);
			m->version = (unsigned)v;
			seen_header = true;
		} else if (!strcmp(tok[0], "name")) {
			if (ntok != 2 || strlen(tok[1]) >= sizeof(m->name))
				return fail(p, "expected \"name NAME\" (one word, under %zu characters)", sizeof(m->name));
			if (seen_name)
				return fail(p, "name given twice");
			strcpy(m->name, tok[1]);
			seen_name = true;
		} else if (!strcmp(tok[0], "fusion")) {
			static const char *const keys[] = { "bias", "cap", "alone" };
			const char *v[3];
			if (seen_fusion)
				return fail(p, "fusion given twice");
			if (cur >= 0)
				return fail(p, "fusion must come before the sources");
			if ((rc = parse_args(p, tok + 1, ntok - 1, keys, 3, v)) < 0 ||
			    (rc = parse_int(p, "bias", v[0], -16 * 256, 16 * 256, &m->bias)) < 0 ||
			    (rc = parse_int(p, "cap", v[1], 1, 16 * 256, &m->cap)) < 0 ||
			    (rc = parse_int(p, "alone", v[2], -16 * 256, 16 * 256, &m->alone)) < 0)
				return rc;
			seen_fusion = true;
		} else if (!strcmp(tok[0], "source")) {
			static const char *const keys[] = { "intercept", "cap_pos", "cap_neg" };
			const char *v[3];
			if (ntok < 2)
				return fail(p, "expected \"source NAME key=value...\"");
			int s_id = rw_source_by_name(tok[1]);
			if (s_id < 0)
				return fail(p, "unknown source \"%s\" (pmu, fpprobe, cgroup, indicators)", tok[1]);
			if (src_seen[s_id])
				return fail(p, "source %s given twice", tok[1]);
			if ((rc = finish_source(p, m, cur, listed)) < 0)
				return rc;
			struct rw_model_source *src = &m->src[s_id];
			if ((rc = parse_args(p, tok + 2, ntok - 2, keys, 3, v)) < 0 ||
			    (rc = parse_int(p, "intercept", v[0], -16 * 256, 16 * 256, &src->intercept)) < 0 ||
			    (rc = parse_int(p, "cap_pos", v[1], 0, 16 * 256, &src->cap_pos)) < 0 ||
			    (rc = parse_int(p, "cap_neg", v[2], 0, 16 * 256, &src->cap_neg)) < 0)
				return rc;
			src->first = (uint8_t)m->n_terms;
			src_seen[s_id] = true;
			cur = s_id;
		} else if (!strcmp(tok[0], "feature")) {
			static const char *const keys[] = { "lo", "hi", "center", "scale", "weight" };
			const char *v[5];
			if (cur < 0)
				return fail(p, "feature outside a source block");
			if (ntok < 2)
				return fail(p, "expected \"feature NAME key=value...\"");
			int f = rw_feature_by_name(tok[1]);
			if (f < 0)
				return fail(p, "unknown feature \"%s\"", tok[1]);
			if (rw_feature_source(f) != (enum rw_source)cur)
				return fail(p, "feature %s belongs to source %s, not %s", tok[1],
					    rw_source_name(rw_feature_source(f)), rw_source_name(cur));
			if (listed[f])
				return fail(p, "feature %s given twice", tok[1]);
			struct rw_model_term *t = &m->terms[m->n_terms];
			t->feature = (uint8_t)f;
			if ((rc = parse_args(p, tok + 2, ntok - 2, keys, 5, v)) < 0 ||
			    (rc = parse_dec(p, "lo", v[0], &t->lo_q16)) < 0 ||
			    (rc = parse_dec(p, "hi", v[1], &t->hi_q16)) < 0 ||
			    (rc = parse_dec(p, "center", v[2], &t->center_q16)) < 0 ||
			    (rc = parse_dec(p, "scale", v[3], &t->scale_q16)) < 0 ||
			    (rc = parse_int(p, "weight", v[4], -64 * 256, 64 * 256, &t->weight)) < 0)
				return rc;
			if (t->lo_q16 > t->hi_q16)
				return fail(p, "feature %s: lo exceeds hi", tok[1]);
			if (t->scale_q16 <= 0)
				return fail(p, "feature %s: scale must be positive", tok[1]);
			t->mult = term_mult(t->weight, t->scale_q16);
			t->bit = RW_F_BIT(f);
			int64_t dmax = (int64_t)t->hi_q16 - t->center_q16, dlo = (int64_t)t->center_q16 - t->lo_q16;
			if (dlo > dmax)
				dmax = dlo;
			if (dmax < 0)
				dmax = -dmax;
			__int128 worst = (__int128)dmax * (t->mult < 0 ? -t->mult : t->mult);
			if (worst >= ((__int128)1 << 62))
				return fail(p, "feature %s: weight/scale too large for its lo..hi range", tok[1]);
			listed[f] = true;
			m->eval.lo[f] = t->lo_q16;
			m->eval.range[f] = (uint64_t)((int64_t)t->hi_q16 - t->lo_q16);
			m->eval.off[f] = (int64_t)t->center_q16 - t->lo_q16;
			m->eval.mult[f] = t->mult;
			if (t->weight != 0)
				m->eval_mask[cur] |= t->bit;
			m->n_terms++;
			m->src[cur].n++;
		} else if (!strcmp(tok[0], "provenance")) {
			if (ntok < 3)
				return fail(p, "expected \"provenance KEY TEXT\"");
			unsigned k;
			for (k = 0; k < sizeof(prov_keys) / sizeof(prov_keys[0]); k++)
				if (!strcmp(prov_keys[k], tok[1]))
					break;
			if (k == sizeof(prov_keys) / sizeof(prov_keys[0]))
				return fail(p, "unknown provenance key \"%s\"", tok[1]);
			/* the text as written, after "provenance KEY " */
			const char *textp = copy + (tok[2] - s);
			if (k == 0) {
				if (cur < 0)
					return fail(p, "provenance kind belongs in a source block");
				if (strcmp(tok[2], "trained") && strcmp(tok[2], "prior"))
					return fail(p, "provenance kind: expected trained or prior, got \"%s\"", tok[2]);
				if (ntok != 3)
					return fail(p, "provenance kind: one word");
				strcpy(m->src[cur].kind, tok[2]);
			}
			int n = snprintf(m->provenance + prov_len, sizeof(m->provenance) - prov_len, "%s %s %s\n",
					 cur < 0 ? "model" : rw_source_name(cur), tok[1], textp);
			if (n < 0 || (size_t)n >= sizeof(m->provenance) - prov_len)
				return fail(p, "provenance too long (over %d bytes)", RW_MODEL_PROVENANCE_MAX);
			prov_len += (size_t)n;
		} else {
			return fail(p, "unknown statement \"%s\"", tok[0]);
		}
	}
	p->line = last_line ? last_line : p->line;
	if (!seen_header)
		return fail(p, "empty model file");
	if ((rc = finish_source(p, m, cur, listed)) < 0)
		return rc;
	if (!seen_name)
		return fail(p, "missing \"name\"");
	if (!seen_fusion)
		return fail(p, "missing \"fusion\"");
	for (unsigned s = 0; s < RW_SRC_COUNT; s++)
		if (!src_seen[s])
			return fail(p, "missing source %s", rw_source_name(s));

	m->bias_q16 = m->bias * (65536 / RW_LOGIT_UNIT);
	m->cap_q16 = m->cap * (65536 / RW_LOGIT_UNIT);
	m->alone_q16 = m->alone * (65536 / RW_LOGIT_UNIT);
	for (unsigned s = 0; s < RW_SRC_COUNT; s++) {
		struct rw_model_source *src = &m->src[s];
		src->intercept_q16 = src->intercept * (65536 / RW_LOGIT_UNIT);
		src->cap_pos_q16 = src->cap_pos * (65536 / RW_LOGIT_UNIT);
		src->cap_neg_q16 = src->cap_neg * (65536 / RW_LOGIT_UNIT);
	}
	return 0;
}

int rw_model_parse(struct rw_model *m, const char *name, const char *text, char *err, size_t errlen)
{
	struct parse p = { .name = name, .line = 0, .err = err, .errlen = errlen };
	struct rw_model *tmp = malloc(sizeof(*tmp));
	char *buf = strdup(text);
	int rc = -ENOMEM;

	if (!tmp || !buf) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	rc = parse_text(tmp, &p, buf);
	if (rc == 0)
		*m = *tmp;
out:
	free(buf);
	free(tmp);
	return rc;
}

int rw_model_load(struct rw_model *m, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	size_t cap = 8192, len = 0;
	text = malloc(cap);
	rc = -ENOMEM;
	if (!text)
		goto out;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= (1u << 20)) {
				snprintf(err, errlen, "%s: larger than 1 MiB, not a model file", path);
				rc = -EINVAL;
				goto out;
			}
			char *t = realloc(text, cap * 2);
			if (!t)
				goto out;
			text = t;
			cap *= 2;
		}
		size_t n = fread(text + len, 1, cap - 1 - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: binary data, not a model file", path);
		goto out;
	}
	rc = rw_model_parse(m, path, text, err, errlen);
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", path);
	free(text);
	fclose(f);
	return rc;
}

static void print_prov(const struct rw_model *m, const char *block, FILE *out)
{
	size_t bl = strlen(block);
	for (const char *l = m->provenance; *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l) : strlen(l);
		if (n > bl && !strncmp(l, block, bl) && l[bl] == ' ')
			fprintf(out, "provenance %.*s\n", (int)(n - bl - 1), l + bl + 1);
		l += n + (nl ? 1 : 0);
	}
}

void rw_model_print(const struct rw_model *m, FILE *out)
{
	char a[32], b[32], c[32], d[32];

	fprintf(out, "rigwatch-model %u\nname %s\n", m->version ? m->version : RW_MODEL_VERSION, m->name);
	print_prov(m, "model", out);
	fprintf(out, "fusion bias=%d cap=%d alone=%d\n", m->bias, m->cap, m->alone);
	for (unsigned s = 0; s < RW_SRC_COUNT; s++) {
		const struct rw_model_source *src = &m->src[s];
		fprintf(out, "\nsource %s intercept=%d cap_pos=%d cap_neg=%d\n", rw_source_name(s), src->intercept,
			src->cap_pos, src->cap_neg);
		for (unsigned i = src->first; i < (unsigned)src->first + src->n; i++) {
			const struct rw_model_term *t = &m->terms[i];
			rw_format_q16(t->lo_q16, a, sizeof(a));
			rw_format_q16(t->hi_q16, b, sizeof(b));
			rw_format_q16(t->center_q16, c, sizeof(c));
			rw_format_q16(t->scale_q16, d, sizeof(d));
			fprintf(out, "feature %s lo=%s hi=%s center=%s scale=%s weight=%d\n",
				rw_feature_name(t->feature), a, b, c, d, t->weight);
		}
		print_prov(m, rw_source_name(s), out);
	}
}
