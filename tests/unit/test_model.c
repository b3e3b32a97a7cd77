/* model: the strict parser (errors name file:line, nothing loaded on error) and integer inference checked against
 * a double-precision reference on 10,000 random inputs. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rigwatch/model.h"
#include "rw_test.h"

static struct rw_model model;
static char err[512];

static int load_shipped(struct rw_model *m)
{
	return rw_model_load(m, "models/rigwatch.model", err, sizeof(err));
}

/* Double reference of the same model: what rw_model_eval approximates. Whether the sources agreed is taken from
 * the integer model (test_agreement checks that decision itself): a source's log-odds within rounding of 0 could
 * go either way in doubles. */
static double reference(const struct rw_model *m, const struct rw_features *f, int agreed)
{
	double total = m->bias / 256.0;
	for (unsigned s = 0; s < RW_SRC_COUNT; s++) {
		const struct rw_model_source *src = &m->src[s];
		if (!(f->sources & RW_SRC_BIT(s)))
			continue;
		double z = src->intercept / 256.0;
		for (unsigned i = src->first; i < (unsigned)src->first + src->n; i++) {
			const struct rw_model_term *t = &m->terms[i];
			if (!(f->present & RW_F_BIT(t->feature)))
				continue;
			double x = f->v[t->feature] / 65536.0, lo = t->lo_q16 / 65536.0, hi = t->hi_q16 / 65536.0;
			x = x < lo ? lo : x > hi ? hi : x;
			z += t->weight / 256.0 * (x - t->center_q16 / 65536.0) / (t->scale_q16 / 65536.0);
		}
		if (z > src->cap_pos / 256.0)
			z = src->cap_pos / 256.0;
		if (z < -src->cap_neg / 256.0)
			z = -src->cap_neg / 256.0;
		total += z;
	}
	if (total > m->cap / 256.0)
		total = m->cap / 256.0;
	if (!agreed && total > m->alone / 256.0)
		total = m->alone / 256.0;
	if (total < -m->cap / 256.0)
		total = -m->cap / 256.0;
	return 1.0 / (1.0 + exp(-total));
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}
static double urand(void)
{
	return rnd() / 4294967296.0;
}

static void random_features(const struct rw_model *m, struct rw_features *f)
{
	memset(f, 0, sizeof(*f));
	f->interval_ms = 1000;
	for (unsigned i = 0; i < m->n_terms; i++) {
		const struct rw_model_term *t = &m->terms[i];
		if (rnd() % 5 == 0)
			continue;   /* missing */
		double lo = t->lo_q16 / 65536.0, hi = t->hi_q16 / 65536.0, w = hi - lo;
		double x = lo - 0.2 * w + urand() * 1.4 * w;
		f->v[t->feature] = (int32_t)lrint(x * 65536.0);
		f->present |= RW_F_BIT(t->feature);
		f->sources |= RW_SRC_BIT(rw_feature_source(t->feature));
	}
}

/* A model with random weights, caps and scalings, written as text and parsed like any file. */
static int random_model(struct rw_model *m)
{
	char text[8192];
	size_t n = 0;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "rigwatch-model 2\nname random\nfusion bias=%d cap=%d alone=%d\n",
			      (int)(rnd() % 1024) - 512, 256 + (int)(rnd() % 3500), (int)(rnd() % 1024) - 256);
	for (unsigned s = 0; s < RW_SRC_COUNT; s++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "source %s intercept=%d cap_pos=%d cap_neg=%d\n",
				      rw_source_name(s), (int)(rnd() % 2048) - 1024, (int)(rnd() % 3000),
				      (int)(rnd() % 3000));
		for (unsigned f = 0; f < RW_F_COUNT; f++) {
			if (rw_feature_source(f) != (enum rw_source)s)
				continue;
			double lo = (double)(rnd() % 2000) / 100.0 - 10.0, hi = lo + 0.01 + (rnd() % 10000) / 100.0;
			double center = lo + urand() * (hi - lo), scale = 0.01 + (rnd() % 5000) / 100.0;
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "feature %s lo=%.2f hi=%.2f center=%.2f scale=%.2f weight=%d\n",
					      rw_feature_name(f), lo, hi, center, scale, (int)(rnd() % 4096) - 2048);
		}
		n += (size_t)snprintf(text + n, sizeof(text) - n, "provenance kind prior\n");
	}
	return rw_model_parse(m, "random", text, err, sizeof(err));
}

static void test_shipped_model_loads(void)
{
	int rc = load_shipped(&model);
	if (rc)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	/* trained by tools/train/train-shipped.sh (tests/unit/test_replay.c checks it against the recordings) */
	CU_ASSERT_STRING_EQUAL(model.name, "rigwatch-2026-11-30");
	CU_ASSERT(model.alone > 0 && rw_sigmoid_q16(model.alone_q16) < 65536 * 8 / 10);  /* below mining 0.8 */
	CU_ASSERT_STRING_EQUAL(model.src[RW_SRC_FPPROBE].kind, "trained");
	CU_ASSERT_EQUAL(model.n_terms, RW_F_COUNT);
	CU_ASSERT_STRING_EQUAL(model.src[RW_SRC_PMU].kind, "prior");
	CU_ASSERT_PTR_NOT_NULL(strstr(model.provenance, "pmu note derived from the RandomX specification"));
}

static void test_random_inputs_match_double_reference(void)
{
	struct rw_model *m = malloc(sizeof(*m));
	struct rw_features f;
	struct rw_model_output out;
	double worst = 0;
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL_FATAL(load_shipped(m), 0);
	for (unsigned i = 0; i < 10000; i++) {
		/* half on the shipped model, half on 50 random models */
		if (i >= 5000 && i % 100 == 0) {
			int rc = random_model(m);
			if (rc)
				fprintf(stderr, "%s\n", err);
			CU_ASSERT_EQUAL_FATAL(rc, 0);
		}
		random_features(m, &f);
		rw_model_eval(m, &f, &out);
		double d = fabs(out.p_q16 / 65536.0 - reference(m, &f, out.agreed));
		/* the explanation adds up to the score: per source, intercept + contributions (before caps) */
		rw_model_explain(m, &f, &out);
		for (unsigned s = 0; s < RW_SRC_COUNT; s++) {
			if (!(f.sources & RW_SRC_BIT(s)))
				continue;
			int64_t z = m->src[s].intercept_q16;
			for (unsigned k = m->src[s].first; k < (unsigned)m->src[s].first + m->src[s].n; k++)
				z += out.contrib_q16[m->terms[k].feature];
			z = z > m->src[s].cap_pos_q16 ? m->src[s].cap_pos_q16 : z;
			z = z < -m->src[s].cap_neg_q16 ? -m->src[s].cap_neg_q16 : z;
			CU_ASSERT_EQUAL(z, out.source_logit_q16[s]);
		}
		if (d > worst)
			worst = d;
	}
	printf("\n  largest |p_int - p_double| over 10000 inputs: %.6f (limit %.6f)\n", worst, 1.0 / 256);
	CU_ASSERT(worst < 1.0 / 256);
	free(m);
}

static void test_sigmoid_table(void)
{
	CU_ASSERT_EQUAL(rw_sigmoid_q16(0), 32768);
	CU_ASSERT_EQUAL(rw_sigmoid_q16(-100 * 65536), 0);
	CU_ASSERT_EQUAL(rw_sigmoid_q16(100 << 16), 65536);
	int32_t prev = -1;
	double worst = 0;
	for (int32_t z = -17 * 65536; z <= 17 << 16; z += 97) {
		int32_t p = rw_sigmoid_q16(z);
		CU_ASSERT(p >= prev);   /* monotone */
		prev = p;
		double d = fabs(p / 65536.0 - 1.0 / (1.0 + exp(-z / 65536.0)));
		if (d > worst)
			worst = d;
	}
	CU_ASSERT(worst < 1.0 / 4096);
}

static void set_f(struct rw_features *f, enum rw_feature i, double v)
{
	f->v[i] = (int32_t)lrint(v * 65536);
	f->present |= RW_F_BIT(i);
	f->sources |= RW_SRC_BIT(rw_feature_source(i));
}

static void test_missing_sources_contribute_nothing(void)
{
	struct rw_features f;
	struct rw_model_output out;
	CU_ASSERT_EQUAL_FATAL(load_shipped(&model), 0);
	memset(&f, 0, sizeof(f));
	rw_model_eval(&model, &f, &out);
	CU_ASSERT_EQUAL(out.sources_used, 0);
	CU_ASSERT_EQUAL(out.logit_q16, model.bias_q16);
	/* ordinary code: round-to-nearest only, no changes */
	set_f(&f, RW_F_FP_MODE_EVENNESS, 0);
	set_f(&f, RW_F_FP_NONDEFAULT_EVENNESS, 0);
	set_f(&f, RW_F_FP_NONDEFAULT_SHARE, 0);
	set_f(&f, RW_F_FP_CHANGE_RATE, 0);
	set_f(&f, RW_F_FP_FTZ_DAZ_NONDEFAULT, 0);
	set_f(&f, RW_F_FP_TRACED_THREADS, 0);
	rw_model_eval(&model, &f, &out);
	rw_model_explain(&model, &f, &out);
	CU_ASSERT_EQUAL(out.sources_used, RW_SRC_BIT(RW_SRC_FPPROBE));
	CU_ASSERT(out.source_logit_q16[RW_SRC_FPPROBE] < 0);
	CU_ASSERT_FALSE(out.agreed);
	CU_ASSERT(out.p_q16 < 65536 / 10);
	CU_ASSERT_EQUAL(out.contrib_q16[RW_F_CORES], 0);
}

/* No single source convicts: each at its most miner-like value alone stops at the `alone` cap, below the mining
 * threshold; the FP fingerprint with RandomX's memory footprint (or counters, or indicators) gets through. */
static void test_agreement(void)
{
	struct rw_features fp, cg, ind, f;
	struct rw_model_output out;
	CU_ASSERT_EQUAL_FATAL(load_shipped(&model), 0);
	int32_t alone_p = rw_sigmoid_q16(model.alone_q16);

	memset(&fp, 0, sizeof(fp));
	set_f(&fp, RW_F_FP_MODE_EVENNESS, 1);
	set_f(&fp, RW_F_FP_NONDEFAULT_EVENNESS, 1);
	set_f(&fp, RW_F_FP_NONDEFAULT_SHARE, 0.75);
	set_f(&fp, RW_F_FP_CHANGE_RATE, 0.75);
	set_f(&fp, RW_F_FP_FTZ_DAZ_NONDEFAULT, 0.75);
	set_f(&fp, RW_F_FP_TRACED_THREADS, 0);
	rw_model_eval(&model, &fp, &out);
	CU_ASSERT(out.source_logit_q16[RW_SRC_FPPROBE] > 0);
	CU_ASSERT_EQUAL(out.agree, RW_SRC_BIT(RW_SRC_FPPROBE));
	CU_ASSERT_FALSE(out.agreed);
	CU_ASSERT(out.p_q16 <= alone_p);

	memset(&cg, 0, sizeof(cg));   /* fast mode's dataset, two busy steady cores */
	set_f(&cg, RW_F_CORES, 2);
	set_f(&cg, RW_F_CPU_STEADINESS, 1);
	set_f(&cg, RW_F_MEMORY_GIB, 2.1);
	set_f(&cg, RW_F_ANON_GIB, 2.05);
	set_f(&cg, RW_F_HUGEPAGE_SHARE, 0);
	rw_model_eval(&model, &cg, &out);
	CU_ASSERT_EQUAL(out.agree, RW_SRC_BIT(RW_SRC_CGROUP));
	CU_ASSERT_FALSE(out.agreed);
	CU_ASSERT(out.p_q16 <= alone_p);

	memset(&ind, 0, sizeof(ind));
	set_f(&ind, RW_F_IND_RULES, 4);
	set_f(&ind, RW_F_IND_MATCHES, 10);
	set_f(&ind, RW_F_POOL_CONNECTIONS, 4);
	rw_model_eval(&model, &ind, &out);
	CU_ASSERT_FALSE(out.agreed);
	CU_ASSERT(out.p_q16 <= alone_p);

	/* indicators with the memory footprint, still without the FP fingerprint: not agreement */
	f = cg;
	for (int i = RW_F_IND_RULES; i <= RW_F_POOL_CONNECTIONS; i++)
		set_f(&f, i, ind.v[i] / 65536.0);
	rw_model_eval(&model, &f, &out);
	CU_ASSERT_FALSE(out.agreed);
	CU_ASSERT(out.p_q16 <= alone_p);

	/* the FP fingerprint with the footprint: agreed, and past the mining threshold */
	f = fp;
	for (int i = RW_F_CORES; i <= RW_F_ANON_GIB; i++)
		if (cg.present & RW_F_BIT(i))
			set_f(&f, i, cg.v[i] / 65536.0);
	rw_model_eval(&model, &f, &out);
	CU_ASSERT(out.agreed);
	CU_ASSERT(out.p_q16 > 65536 * 8 / 10);

	/* busy and steady is not the footprint: the FP fingerprint with 20 MiB of memory does not agree */
	set_f(&f, RW_F_ANON_GIB, 0.02);
	set_f(&f, RW_F_MEMORY_GIB, 0.03);
	rw_model_eval(&model, &f, &out);
	CU_ASSERT_FALSE(out.agreed);
	CU_ASSERT(out.p_q16 <= alone_p);
}

static void test_print_round_trips(void)
{
	struct rw_model *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char *buf = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(load_shipped(a), 0);
	FILE *f = open_memstream(&buf, &len);
	rw_model_print(a, f);
	fclose(f);
	int rc = rw_model_parse(b, "printed", buf, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n%s", err, buf);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(memcmp(a->terms, b->terms, sizeof(a->terms)), 0);
	CU_ASSERT_EQUAL(memcmp(a->src, b->src, sizeof(a->src)), 0);
	CU_ASSERT_STRING_EQUAL(a->provenance, b->provenance);
	free(buf);
	free(a);
	free(b);
}

/* Each broken file: the error names file:line, and the caller's model is untouched. */
static void expect_error(const char *file, const char *where, const char *what)
{
	char path[512];
	struct rw_model *m = malloc(sizeof(*m)), *before = malloc(sizeof(*before));
	CU_ASSERT_FATAL(m && before);
	memset(m, 0x5a, sizeof(*m));
	memcpy(before, m, sizeof(*m));
	snprintf(path, sizeof(path), "%s/model/%s", rw_test_data_dir(), file);
	err[0] = '\0';
	int rc = rw_model_load(m, path, err, sizeof(err));
	CU_ASSERT_EQUAL(rc, -EINVAL);
	if (!strstr(err, where) || !strstr(err, what))
		fprintf(stderr, "\n  %s: got \"%s\", wanted \"%s\" and \"%s\"\n", file, err, where, what);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, where));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, what));
	CU_ASSERT_EQUAL(memcmp(m, before, sizeof(*m)), 0);
	free(m);
	free(before);
}

static void test_strict_parser_errors(void)
{
	expect_error("unknown-key.model", "unknown-key.model:11:", "unknown key \"wieght\"");
	expect_error("bad-number.model", "bad-number.model:12:", "scale: expected a decimal number");
	expect_error("bad-weight.model", "bad-weight.model:13:", "weight: expected an integer");
	expect_error("missing-feature.model", "missing-feature.model:14:", "source pmu: missing feature crypto_pki");
	expect_error("missing-source.model", "missing-source.model:30:", "missing source indicators");
	expect_error("wrong-source.model", "wrong-source.model:11:", "belongs to source fpprobe, not pmu");
	expect_error("bad-version.model", "bad-version.model:2:", "version 3 not supported");
	expect_error("unknown-statement.model", "unknown-statement.model:5:", "unknown statement \"layer\"");
	expect_error("no-kind.model", "no-kind.model:22:", "missing \"provenance kind\"");
	expect_error("duplicate-feature.model", "duplicate-feature.model:12:", "feature llc_mpki given twice");
	expect_error("bad-scale.model", "bad-scale.model:11:", "scale must be positive");
	expect_error("overflow.model", "overflow.model:9:", "weight/scale too large");
	char e2[256];
	struct rw_model m;
	CU_ASSERT_EQUAL(rw_model_load(&m, "/nonexistent/x.model", e2, sizeof(e2)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(e2, "/nonexistent/x.model"));
	/* not a regular file (a FIFO would hang a plain open), and too large: bad input, exit 2 */
	CU_ASSERT_EQUAL(rw_model_load(&m, "models", e2, sizeof(e2)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e2, "models: not a regular file"));
	char big[] = "/tmp/rw-test-model-XXXXXX";
	int fd = mkstemp(big);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, (2 << 20)), 0);
	close(fd);
	CU_ASSERT_EQUAL(rw_model_load(&m, big, e2, sizeof(e2)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e2, "larger than"));
	unlink(big);
}

static const rw_test tests[] = {
	RW_TEST(test_shipped_model_loads),
	RW_TEST(test_random_inputs_match_double_reference),
	RW_TEST(test_sigmoid_table),
	RW_TEST(test_missing_sources_contribute_nothing),
	RW_TEST(test_agreement),
	RW_TEST(test_print_round_trips),
	RW_TEST(test_strict_parser_errors),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("model", tests);
}
