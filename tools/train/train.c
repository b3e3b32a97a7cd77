/* train: labelled traces in, a model file out.
 *
 *   train --prior models/rigwatch.model --out FILE [--name NAME] [--date YYYY-MM-DD] [--lambda [SOURCE=]L]...
 *         [--fixed FEATURE]... [--eval DIR] mining[:CLASS]:TRACE... benign[:CLASS]:TRACE...
 *   train --eval DIR ... (without --out)  the held-out evaluation alone: exit status 1 if it fails
 *   train --dump TRACE        print each sample's features (for looking at a recording)
 *   train --scores MODEL TRACE  print each sample's score, per-source log-odds and verdict under MODEL
 *
 * Every sample goes through rw_features_compute() exactly as in the agent. Per evidence source, an L2-regularised
 * logistic regression (Newton's method, fixed iterations, class-balanced) over that source's features, scaled as
 * in the prior (lo, hi, center, scale); a missing feature is 0 after scaling, as at inference. A source without
 * enough labelled rows of both classes keeps the prior's weights and its provenance says so (the pmu source on a
 * host without a PMU); so does a source whose features never vary over the training rows (indicators, when every
 * miner was renamed), since the data says nothing about it. PMU traces need nothing special: once the traces hold
 * enough samples with hardware counters, the pmu source is trained like the others.
 *
 * Accuracy goes into the provenance at the level that matters to an operator: each trace is replayed through the
 * scoring path (features, model, verdict tracker with the embedded default config, as `rigwatch replay` does)
 * with the trained model, and again with a model trained without its whole class (leave-one-class-out: a trace
 * given without a CLASS is a class of its own), and the line says where the verdict went and how many seconds
 * after the first sample it reached `mining`. A miner's deadline comes from its own samples: 10 s after the first
 * sample at >= 25 % of a core, 30 s after the first at >= 5 % (the earlier of the two). The held-out evaluation
 * fails if a benign trace reaches `mining` or a miner misses its deadline; --eval DIR writes it out
 * (samples.tsv, traces.tsv, report.md; tools/eval/eval.sh draws the plots). --fixed FEATURE keeps a feature's
 * prior weight (an evadable hint the data would otherwise make strong).
 *
 * Deterministic: no randomness, no clock (the date is the newest trace's start day unless --date is given), so
 * the same traces give a byte-identical file. Doubles are fine here: this is not the scoring path; the output is
 * integer weights. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rigwatch/config.h"
#include "rigwatch/features.h"
#include "rigwatch/model.h"
#include "rigwatch/score.h"
#include "rigwatch/trace.h"

#define MAX_TRACES 96
#define MAX_CLASSES 48
#define MIN_ROWS 8          /* per class and source, to train rather than keep the prior */
#define NEWTON_ITERS 60

struct row {
	unsigned trace, cls;
	int label;                 /* 1 mining, 0 benign */
	struct rw_features f;
};

struct trace_info {
	const char *path;
	int label;
	unsigned rows, cls;
	uint64_t start_ns;
	double deadline_s;         /* miners: seconds from the first sample; < 0: never at 5 % of a core */
	double mean_cores;
};

static const char *classes[MAX_CLASSES];
static int class_label[MAX_CLASSES];
static unsigned n_classes;

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

static struct row *rows;
static size_t n_rows, cap_rows;
static struct trace_info traces[MAX_TRACES];
static unsigned n_traces;

static void die(const char *fmt, const char *a)
{
	fprintf(stderr, "train: ");
	fprintf(stderr, fmt, a);
	fputc('\n', stderr);
	exit(2);
}

static unsigned class_of(const char *name, int label)
{
	for (unsigned c = 0; c < n_classes; c++)
		if (!strcmp(classes[c], name)) {
			if (class_label[c] != label)
				die("class %s holds both mining and benign traces", name);
			return c;
		}
	if (n_classes == MAX_CLASSES)
		die("more than 48 classes (%s)", name);
	classes[n_classes] = name;
	class_label[n_classes] = label;
	return n_classes++;
}

static void append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static int read_trace(const char *path, const char *cls, int label, int dump)
{
	struct rw_trace_reader r;
	struct rw_trace_header h;
	struct rw_sample s;
	char err[512];
	/* per-target windows: a trace may hold several targets */
	struct { uint64_t id; struct rw_features_state st; } win[64];
	unsigned n_win = 0;
	int rc;

	if (rw_trace_reader_open(&r, path, &h, err, sizeof(err)) < 0)
		die("%s", err);
	if (n_traces == MAX_TRACES)
		die("more than 64 traces (%s)", path);
	struct trace_info *ti = &traces[n_traces];
	ti->path = path;
	ti->label = label;
	ti->start_ns = h.start_time_ns;
	ti->cls = dump ? 0 : class_of(cls ? cls : base_name(path), label);
	ti->deadline_s = -1;
	double first25 = -1, first5 = -1, cores_sum = 0;
	uint64_t first_ns = 0;
	unsigned n_cores = 0;
	if (dump)
		printf("# %s: host=%s pmu=%s interval_ms=%u label=%s cgroup=%s\n", path, h.host, h.pmu, h.interval_ms,
		       h.label, h.cgroup);
	while ((rc = rw_trace_next(&r, &s, err, sizeof(err))) == 1) {
		unsigned w;
		for (w = 0; w < n_win && win[w].id != s.cgroup_id; w++)
			;
		if (w == n_win) {
			if (n_win == 64)
				continue;
			win[n_win].id = s.cgroup_id;
			rw_features_state_init(&win[n_win].st);
			n_win++;
		}
		struct rw_features f;
		rw_features_compute(&win[w].st, &s, &f);
		if (!n_cores++)
			first_ns = s.time_ns;
		if (f.present & RW_F_BIT(RW_F_CORES)) {
			double c = f.v[RW_F_CORES] / 65536.0, at = (double)(s.time_ns - first_ns) / 1e9;
			cores_sum += c;
			if (c >= 0.25 && first25 < 0)
				first25 = at;
			if (c >= 0.05 && first5 < 0)
				first5 = at;
		}
		if (dump) {
			printf("%s t=%llu", s.cgroup, (unsigned long long)(s.time_ns / 1000000));
			for (unsigned i = 0; i < RW_F_COUNT; i++)
				if (f.present & RW_F_BIT(i))
					printf(" %s=%.3f", rw_feature_name(i), f.v[i] / 65536.0);
			printf(" fp_probes=%u ctl=%#x\n", s.fp.probes, s.fp.last_control);
			continue;
		}
		if (n_rows == cap_rows) {
			cap_rows = cap_rows ? cap_rows * 2 : 1024;
			rows = realloc(rows, cap_rows * sizeof(*rows));
			if (!rows)
				die("%s", "out of memory");
		}
		rows[n_rows].trace = n_traces;
		rows[n_rows].cls = ti->cls;
		rows[n_rows].label = label;
		rows[n_rows].f = f;
		n_rows++;
		ti->rows++;
	}
	rw_trace_reader_close(&r);
	if (rc < 0)
		die("%s", err);
	if (first5 >= 0)
		ti->deadline_s = first5 + 30;
	if (first25 >= 0 && first25 + 10 < ti->deadline_s)
		ti->deadline_s = first25 + 10;
	ti->mean_cores = n_cores ? cores_sum / n_cores : 0;
	n_traces++;
	return 0;
}

/* Scaled design vector of one row for one source's terms, as rw_model_eval sees it. */
static void design(const struct rw_model *m, const struct rw_model_source *src, const struct rw_features *f,
		   double *x)
{
	for (unsigned j = 0; j < src->n; j++) {
		const struct rw_model_term *t = &m->terms[src->first + j];
		if (!(f->present & RW_F_BIT(t->feature))) {
			x[j] = 0;
			continue;
		}
		double v = f->v[t->feature] / 65536.0, lo = t->lo_q16 / 65536.0, hi = t->hi_q16 / 65536.0;
		v = v < lo ? lo : v > hi ? hi : v;
		x[j] = (v - t->center_q16 / 65536.0) / (t->scale_q16 / 65536.0);
	}
}

static int solve(double *a, double *b, unsigned n)
{
	/* Gaussian elimination with partial pivoting on an n x n system (row-major a). */
	for (unsigned c = 0; c < n; c++) {
		unsigned p = c;
		for (unsigned r = c + 1; r < n; r++)
			if (fabs(a[r * n + c]) > fabs(a[p * n + c]))
				p = r;
		if (fabs(a[p * n + c]) < 1e-12)
			return -1;
		if (p != c) {
			for (unsigned k = 0; k < n; k++) {
				double t = a[c * n + k];
				a[c * n + k] = a[p * n + k];
				a[p * n + k] = t;
			}
			double t = b[c];
			b[c] = b[p];
			b[p] = t;
		}
		for (unsigned r = c + 1; r < n; r++) {
			double f = a[r * n + c] / a[c * n + c];
			for (unsigned k = c; k < n; k++)
				a[r * n + k] -= f * a[c * n + k];
			b[r] -= f * b[c];
		}
	}
	for (unsigned c = n; c-- > 0;) {
		for (unsigned k = c + 1; k < n; k++)
			b[c] -= a[c * n + k] * b[k];
		b[c] /= a[c * n + c];
	}
	return 0;
}

static uint32_t fixed_mask;   /* features whose prior weight is kept (--fixed) */

/* Fit weights w[0..n) and intercept w[n] on the rows of source s, skipping class `hold` (-1: none). Features in
 * fixed_mask keep their prior weight: an offset in the fit, not a variable. */
static void fit_once(const struct rw_model *m, unsigned s, int hold, double lambda, uint32_t pinned, double *w)
{
	const struct rw_model_source *src = &m->src[s];
	unsigned n = src->n, d = n + 1;
	double cls[2] = { 0, 0 };
	for (size_t i = 0; i < n_rows; i++)
		if ((int)rows[i].cls != hold && (rows[i].f.sources & RW_SRC_BIT(s)))
			cls[rows[i].label] += 1;
	memset(w, 0, d * sizeof(*w));
	for (unsigned j = 0; j < n; j++)
		if (fixed_mask & m->terms[src->first + j].bit)
			w[j] = m->terms[src->first + j].weight / (double)RW_LOGIT_UNIT;
	if (!cls[0] || !cls[1])
		return;
	for (unsigned it = 0; it < NEWTON_ITERS; it++) {
		double g[RW_F_COUNT + 1] = { 0 }, H[(RW_F_COUNT + 1) * (RW_F_COUNT + 1)] = { 0 }, x[RW_F_COUNT + 1];
		for (size_t i = 0; i < n_rows; i++) {
			const struct row *r = &rows[i];
			if ((int)r->cls == hold || !(r->f.sources & RW_SRC_BIT(s)))
				continue;
			/* class-balanced: each class weighs 1/2 in total. Cgroup rows count twice, half each: as recorded,
			 * and without the memory files, as on a host whose memory controller is not where the agent
			 * reads (hybrid hierarchies): otherwise the intercept learns to expect the memory terms and says
			 * "miner" wherever they are missing. */
			unsigned views = s == RW_SRC_CGROUP ? 2 : 1;
			for (unsigned v = 0; v < views; v++) {
				struct rw_features fv = r->f;
				if (v == 1)
					fv.present &= ~(RW_F_BIT(RW_F_MEMORY_GIB) | RW_F_BIT(RW_F_HUGEPAGE_SHARE) |
							RW_F_BIT(RW_F_ANON_GIB));
				double cw = 0.5 / cls[r->label] / views;
				design(m, src, &fv, x);
				x[n] = 1;
				double z = 0;
				for (unsigned j = 0; j < d; j++)
					z += w[j] * x[j];
				double p = 1 / (1 + exp(-z));
				for (unsigned j = 0; j < d; j++) {
					g[j] += cw * (p - r->label) * x[j];
					for (unsigned k = 0; k < d; k++)
						H[j * d + k] += cw * p * (1 - p) * x[j] * x[k];
				}
			}
		}
		/* L2 on the weights (not the intercept) keeps separable data finite */
		for (unsigned j = 0; j < n; j++) {
			g[j] += lambda * w[j];
			H[j * d + j] += lambda;
		}
		H[n * d + n] += 1e-9;
		for (unsigned j = 0; j < n; j++) {
			if (!((fixed_mask | pinned) & m->terms[src->first + j].bit))
				continue;
			for (unsigned k = 0; k < d; k++)
				H[j * d + k] = H[k * d + j] = 0;
			H[j * d + j] = 1;
			g[j] = 0;
		}
		if (solve(H, g, d) < 0)
			break;
		for (unsigned j = 0; j < d; j++)
			w[j] -= g[j];
	}
}

/* Fit with each weight kept on the side of its prior weight's sign: a feature that says "more like RandomX" in the
 * prior may end up weak, never evidence against mining (say, round-to-nearest-only code scored as a fingerprint
 * because the confusers change modes even more). Active set: a weight that crosses 0 is pinned there and the rest
 * refitted, until none crosses. Weights with a prior of 0 are free. */
static void fit(const struct rw_model *m, unsigned s, int hold, double lambda, double *w)
{
	const struct rw_model_source *src = &m->src[s];
	uint32_t pinned = 0;
	for (unsigned round = 0; round <= src->n; round++) {
		fit_once(m, s, hold, lambda, pinned, w);
		uint32_t more = 0;
		for (unsigned j = 0; j < src->n; j++) {
			const struct rw_model_term *t = &m->terms[src->first + j];
			if ((fixed_mask | pinned) & t->bit)
				continue;
			if ((t->weight > 0 && w[j] < 0) || (t->weight < 0 && w[j] > 0))
				more |= t->bit;
		}
		if (!more)
			return;
		pinned |= more;
	}
}

/* The fusion bias, fitted on the training rows (class `hold` left out, -1: none) once the sources are: a
 * class-balanced one-parameter logistic regression of the label on bias + the sum of the sources' capped log-odds,
 * as the integer model computes them. The sources are trained one by one on the same data, so their log-odds
 * overlap; the bias is where their sum divides the classes. Returns 1/256 log-odds. */
static int32_t fit_bias(const struct rw_model *m, int hold)
{
	struct rw_model_output out;
	double cls[2] = { 0, 0 }, b = 0;
	double *z = malloc(n_rows * sizeof(*z));
	if (!z)
		die("%s", "out of memory");
	for (size_t i = 0; i < n_rows; i++) {
		if ((int)rows[i].cls == hold)
			continue;
		rw_model_eval(m, &rows[i].f, &out);
		double sum = 0;
		for (unsigned s = 0; s < RW_SRC_COUNT; s++)
			if (out.sources_used & RW_SRC_BIT(s))
				sum += out.source_logit_q16[s] / 65536.0;
		z[i] = sum;
		cls[rows[i].label] += 1;
	}
	if (!cls[0] || !cls[1]) {
		free(z);
		return m->bias;
	}
	for (unsigned it = 0; it < NEWTON_ITERS; it++) {
		double g = 0, h = 1e-9;
		for (size_t i = 0; i < n_rows; i++) {
			if ((int)rows[i].cls == hold)
				continue;
			double cw = 0.5 / cls[rows[i].label], p = 1 / (1 + exp(-(z[i] + b)));
			g += cw * (p - rows[i].label);
			h += cw * p * (1 - p);
		}
		b -= g / h;
	}
	free(z);
	double q = round(b * RW_LOGIT_UNIT);
	return (int32_t)(q > 4096 ? 4096 : q < -4096 ? -4096 : q);
}

static double predict(const struct rw_model *m, unsigned s, const double *w, const struct rw_features *f)
{
	double x[RW_F_COUNT + 1], z = w[m->src[s].n];
	design(m, &m->src[s], f, x);
	for (unsigned j = 0; j < m->src[s].n; j++)
		z += w[j] * x[j];
	return z;
}


/* Does any of source s's features take two different values over the rows that have the source? */
static int source_varies(const struct rw_model *m, unsigned s)
{
	const struct rw_model_source *src = &m->src[s];
	double x0[RW_F_COUNT + 1], x[RW_F_COUNT + 1];
	int first = 1;
	for (size_t r = 0; r < n_rows; r++) {
		if (!(rows[r].f.sources & RW_SRC_BIT(s)))
			continue;
		design(m, src, &rows[r].f, first ? x0 : x);
		if (first) {
			first = 0;
			continue;
		}
		for (unsigned j = 0; j < src->n; j++)
			if (x[j] != x0[j])
				return 1;
	}
	return 0;
}

/* Features present in at least one training row. One never measured (a counter the training host's PMU lacks)
 * keeps its prior weight: the data cannot speak for it, and where it is missing it adds nothing anyway. */
static uint32_t measured(void)
{
	uint32_t any = 0;
	for (size_t r = 0; r < n_rows; r++)
		any |= rows[r].f.present;
	return any;
}

static void set_weights(struct rw_model *m, unsigned s, const double *w)
{
	struct rw_model_source *src = &m->src[s];
	uint32_t any = measured();
	for (unsigned j = 0; j < src->n; j++) {
		if (!(any & m->terms[src->first + j].bit) || (fixed_mask & m->terms[src->first + j].bit))
			continue;
		double q = round(w[j] * RW_LOGIT_UNIT);
		m->terms[src->first + j].weight = (int32_t)(q > 16384 ? 16384 : q < -16384 ? -16384 : q);
	}
	double b = round(w[src->n] * RW_LOGIT_UNIT);
	src->intercept = (int32_t)(b > 4096 ? 4096 : b < -4096 ? -4096 : b);
}

/* The model as the agent will load it: printed in the file format and parsed back (which also derives the
 * fixed-point fields from the integer weights). Returns the text (malloc'd) and fills *out. */
static char *materialize(const struct rw_model *m, struct rw_model *out)
{
	char *text = NULL, err[512];
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (!mem)
		die("%s", "out of memory");
	fprintf(mem, "# rigwatch model, format 1 (include/rigwatch/model.h). Written by tools/train; do not edit.\n");
	rw_model_print(m, mem);
	fclose(mem);
	if (rw_model_parse(out, "(trained model)", text, err, sizeof(err)) < 0)
		die("internal: written model does not parse: %s", err);
	return text;
}

struct replay_result {
	unsigned samples;
	enum rw_verdict final, max;
	double to_mining;          /* seconds from the first sample to `mining`; < 0 if never */
	double worst_p;            /* highest fused score */
	char held[256];            /* at the highest score: what kept it from `mining` (benign traces) */
};

/* What kept a target from `mining` at one sample: the missing agreement, and the terms that pulled down. */
static void held_back(const struct rw_model *m, const struct rw_features *f, const struct rw_model_output *o,
		      char *buf, size_t len)
{
	struct rw_model_output ex = *o;
	rw_model_explain(m, f, &ex);
	buf[0] = '\0';
	if (!o->agreed) {
		if (!(o->agree & RW_SRC_BIT(RW_SRC_FPPROBE)))
			append(buf, len, "no agreement: no FP fingerprint%s;",
			       o->agree ? " (other evidence alone)" : "");
		else
			append(buf, len, "no agreement: FP alone, no memory footprint, counters or indicators;");
	}
	uint32_t used = 0;
	for (unsigned k = 0; k < 3; k++) {
		int best = -1;
		for (int i = 0; i < RW_F_COUNT; i++)
			if ((f->present & RW_F_BIT(i)) && !(used & RW_F_BIT(i)) && ex.contrib_q16[i] < 0 &&
			    (best < 0 || ex.contrib_q16[i] < ex.contrib_q16[best]))
				best = i;
		if (best < 0)
			break;
		used |= RW_F_BIT(best);
		append(buf, len, " %s=%.2f (%+.2f)", rw_feature_name(best), f->v[best] / 65536.0,
		       ex.contrib_q16[best] / 65536.0);
	}
	if (!buf[0])
		snprintf(buf, len, "score below the mining threshold");
}

/* Replay one trace through the scoring path (rw_scorer, as `rigwatch replay`); a trace of several targets is
 * judged by its worst target. With `tsv`, one line per sample: TAG t cores p verdict logits agreed. */
static void replay(const char *path, const struct rw_config *cfg, const struct rw_model *m, struct replay_result *res,
		   FILE *tsv, const char *tag)
{
	struct rw_trace_reader r;
	struct rw_trace_header *h = malloc(sizeof(*h));
	struct rw_sample *smp = malloc(sizeof(*smp));
	struct rw_verdict_state *v = malloc(sizeof(*v));
	struct rw_scorer sc;
	char err[512];
	uint64_t first = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	res->to_mining = -1;
	res->worst_p = -1;
	if (!h || !smp || !v || rw_scorer_init(&sc, cfg, m) < 0)
		die("%s", "out of memory");
	if (rw_trace_reader_open(&r, path, h, err, sizeof(err)) < 0)
		die("%s", err);
	while ((rc = rw_trace_next(&r, smp, err, sizeof(err))) == 1) {
		if (!res->samples++)
			first = smp->time_ns;
		if (rw_scorer_score(&sc, smp, v, NULL) < 0)
			die("%s", "out of memory");
		double at = (double)(smp->time_ns - first) / 1e9, p = v->score_q16 / 65536.0;
		const struct rw_score_target *t = rw_scorer_find(&sc, smp->cgroup_id);
		if (t && p > res->worst_p) {
			res->worst_p = p;
			held_back(m, &t->features, &t->out, res->held, sizeof(res->held));
		}
		if (tsv && t) {
			fprintf(tsv, "%s\t%.1f\t%.3f\t%.4f\t%s", tag, at,
				(t->features.present & RW_F_BIT(RW_F_CORES)) ? t->features.v[RW_F_CORES] / 65536.0 : 0,
				p, rw_verdict_name(v->verdict));
			for (unsigned s = 0; s < RW_SRC_COUNT; s++)
				fprintf(tsv, "\t%.3f", (t->out.sources_used & RW_SRC_BIT(s)) ?
					t->out.source_logit_q16[s] / 65536.0 : 0);
			fprintf(tsv, "\t%d\n", t->out.agreed);
		}
		if (v->verdict > res->max)
			res->max = v->verdict;
		if (v->verdict == RW_VERDICT_MINING && res->to_mining < 0)
			res->to_mining = at;
		res->final = v->verdict;
	}
	if (rc < 0)
		die("%s", err);
	rw_trace_reader_close(&r);
	rw_scorer_free(&sc);
	free(h);
	free(smp);
	free(v);
}

/* --scores: each sample through the scoring path, with the score, the per-source log-odds and the verdict. */
static int scores(const char *model_path, const char *path)
{
	static struct rw_config cfg;
	static struct rw_model m;
	static struct rw_sample smp;
	struct rw_trace_header h;
	struct rw_trace_reader r;
	struct rw_verdict_state v;
	struct rw_scorer sc;
	char err[512];
	uint64_t first = 0;
	unsigned n = 0;
	int rc;

	rw_config_defaults(&cfg);
	if (rw_model_load(&m, model_path, err, sizeof(err)) < 0 || rw_trace_reader_open(&r, path, &h, err, sizeof(err)) < 0)
		die("%s", err);
	if (rw_scorer_init(&sc, &cfg, &m) < 0)
		die("%s", "out of memory");
	printf("# %s (%s) with %s\n#    t      p  pmu  fpprobe cgroup indicators verdict\n", path, h.label, m.name);
	while ((rc = rw_trace_next(&r, &smp, err, sizeof(err))) == 1) {
		if (!n++)
			first = smp.time_ns;
		if (rw_scorer_score(&sc, &smp, &v, NULL) < 0)
			die("%s", "out of memory");
		const struct rw_score_target *t = rw_scorer_find(&sc, smp.cgroup_id);
		printf("%6.1f %6.3f", (double)(smp.time_ns - first) / 1e9, v.score_q16 / 65536.0);
		for (unsigned s = 0; s < RW_SRC_COUNT; s++)
			printf(" %7.2f", t->out.source_logit_q16[s] / 65536.0);
		printf(" %s\n", rw_verdict_name(v.verdict));
	}
	if (rc < 0)
		die("%s", err);
	rw_trace_reader_close(&r);
	rw_scorer_free(&sc);
	return 0;
}

static void describe(const struct replay_result *res, char *buf, size_t len)
{
	if (res->to_mining >= 0)
		snprintf(buf, len, "mining after %.1f s, ends %s", res->to_mining, rw_verdict_name(res->final));
	else if (res->max == RW_VERDICT_CLEAN)
		snprintf(buf, len, "clean throughout");
	else
		snprintf(buf, len, "reached %s, ends %s", rw_verdict_name(res->max), rw_verdict_name(res->final));
}

/* "mining:CLASS:PATH" or "mining:PATH" (and benign): the label, the class (NULL: the trace is its own) and the
 * path. A path with a colon needs the class form. */
static void trace_arg(char *a, int label)
{
	char *p = strchr(a, ':'), *cls = NULL, *path = a;
	p = strchr(a, ':');
	path = p + 1;
	char *q = strchr(path, ':');
	if (q && q != path) {
		*q = '\0';
		cls = path;
		path = q + 1;
	}
	read_trace(path, cls, label, 0);
}

static int passed(const struct trace_info *ti, const struct replay_result *r)
{
	if (!ti->label)
		return r->max < RW_VERDICT_MINING;
	return r->to_mining >= 0 && ti->deadline_s >= 0 && r->to_mining <= ti->deadline_s;
}

static void fmt_deadline(const struct trace_info *ti, char *buf, size_t len)
{
	if (ti->deadline_s >= 0)
		snprintf(buf, len, "%.0f", ti->deadline_s);
	else
		snprintf(buf, len, "none (never 5 %% of a core)");
}

/* The held-out evaluation in words: build/eval/report.md. */
static void write_report(const char *dir, const struct replay_result *full, const struct replay_result *held,
			 const struct rw_config *cfg, const struct rw_model *m, unsigned fails)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/report.md", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		die("cannot write %s", path);
	fprintf(f, "# Held-out evaluation\n\n");
	fprintf(f, "Each class of recordings is left out of training in turn; its recordings are replayed through the "
		"whole scoring path (features, model, verdict tracker with the default config: mining at %.2f, suspect "
		"at %.2f, %u of %u intervals) with the model trained without them. A miner passes when it is `mining` "
		"by its deadline (10 s after its first sample at >= 25 %% of a core, 30 s after the first at >= 5 %%); "
		"a confuser passes when it never reaches `mining`. Agreement rule: "
		"`mining` needs the FP fingerprint together with the memory footprint, counters or indicators; "
		"alone, any source stops at p = %.2f.\n\n",
		cfg->mining_threshold_q16 / 65536.0, cfg->suspect_threshold_q16 / 65536.0, cfg->verdict_enter_k,
		cfg->verdict_enter_n, rw_sigmoid_q16(m->alone_q16) / 65536.0);
	fprintf(f, "Result: **%s** (%u recordings, %u classes, %u failing). Shipped model: `%s`.\n\n",
		fails ? "FAIL" : "PASS", n_traces, n_classes, fails, m->name);
	for (int lab = 1; lab >= 0; lab--) {
		fprintf(f, lab ? "## Miners\n\n| class | recording | mean cores | deadline (s) | held out: time to "
			"mining (s) | final | shipped model: time to mining (s) | pass |\n|---|---|---|---|---|---|---|---|\n"
			: "## Confusers and ordinary benign work\n\n| class | recording | mean cores | held out: worst "
			"score | highest verdict | terms that held it back (at the worst score, held-out model) | shipped "
			"model: worst score | pass |\n|---|---|---|---|---|---|---|---|\n");
		for (unsigned c = 0; c < n_classes; c++) {
			if (class_label[c] != lab)
				continue;
			for (unsigned t = 0; t < n_traces; t++) {
				const struct trace_info *ti = &traces[t];
				if (ti->cls != c)
					continue;
				char dl[64];
				fmt_deadline(ti, dl, sizeof(dl));
				if (lab) {
					char a[32], b[32];
					snprintf(a, sizeof(a), held[t].to_mining >= 0 ? "%.1f" : "never", held[t].to_mining);
					snprintf(b, sizeof(b), full[t].to_mining >= 0 ? "%.1f" : "never", full[t].to_mining);
					fprintf(f, "| %s | %s | %.2f | %s | %s | %s | %s | %s |\n", classes[c],
						base_name(ti->path), ti->mean_cores, dl, a, rw_verdict_name(held[t].final),
						b, passed(ti, &held[t]) ? "yes" : "**NO**");
				} else {
					fprintf(f, "| %s | %s | %.2f | %.3f | %s | %s | %.3f | %s |\n", classes[c],
						base_name(ti->path), ti->mean_cores, held[t].worst_p,
						rw_verdict_name(held[t].max), held[t].held, full[t].worst_p,
						passed(ti, &held[t]) ? "yes" : "**NO**");
				}
			}
		}
		fprintf(f, "\n");
	}
	fprintf(f, "Per-sample scores: samples.tsv; per recording: traces.tsv. Plots (make eval): score.png, "
		"time_to_mining.png, confusion.png.\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *prior = "models/rigwatch.model", *outpath = NULL, *name = "rigwatch", *date = NULL;
	const char *config = NULL, *notes[16], *evaldir = NULL;
	unsigned n_notes = 0;
	double lambda[RW_SRC_COUNT] = { 0.05, 0.05, 0.05, 0.05 };
	char err[512];
	const char *fixed[RW_F_COUNT];
	unsigned n_fixed = 0;
	int i;

	if (argc == 3 && !strcmp(argv[1], "--dump"))
		return read_trace(argv[2], NULL, 0, 1);
	if (argc == 4 && !strcmp(argv[1], "--scores"))
		return scores(argv[2], argv[3]);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prior") && i + 1 < argc)
			prior = argv[++i];
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			outpath = argv[++i];
		else if (!strcmp(argv[i], "--eval") && i + 1 < argc)
			evaldir = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--date") && i + 1 < argc)
			date = argv[++i];
		else if (!strcmp(argv[i], "--fixed") && i + 1 < argc && n_fixed < RW_F_COUNT) {
			int f = rw_feature_by_name(argv[++i]);
			if (f < 0)
				die("--fixed: unknown feature \"%s\"", argv[i]);
			fixed_mask |= RW_F_BIT(f);
			fixed[n_fixed++] = argv[i];
		} else if (!strcmp(argv[i], "--lambda") && i + 1 < argc) {
			/* L for every source, or SOURCE=L for one */
			const char *a = argv[++i], *eq = strchr(a, '=');
			if (!eq) {
				for (unsigned s = 0; s < RW_SRC_COUNT; s++)
					lambda[s] = atof(a);
			} else {
				char src[32];
				snprintf(src, sizeof(src), "%.*s", (int)(eq - a), a);
				int s = rw_source_by_name(src);
				if (s < 0)
					die("--lambda: unknown source \"%s\"", src);
				lambda[s] = atof(eq + 1);
			}
		}
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			config = argv[++i];
		else if (!strcmp(argv[i], "--note") && i + 1 < argc && n_notes < 16)
			notes[n_notes++] = argv[++i];
		else if (!strncmp(argv[i], "mining:", 7))
			trace_arg(argv[i], 1);
		else if (!strncmp(argv[i], "benign:", 7))
			trace_arg(argv[i], 0);
		else
			die("usage: train --prior FILE (--out FILE | --eval DIR) [--name N] [--date D] [--lambda [SRC=]L] "
			    "[--fixed FEATURE] [--config FILE] [--note TEXT]... mining[:CLASS]:TRACE... "
			    "benign[:CLASS]:TRACE... | train --dump TRACE (bad argument \"%s\")", argv[i]);
	}
	if ((!outpath && !evaldir) || !n_traces)
		die("%s", "usage: train (--out FILE | --eval DIR) mining[:CLASS]:TRACE... benign[:CLASS]:TRACE...");

	/* Verdict-level accuracy is measured with the agent's embedded defaults, or the given config. */
	static struct rw_config cfg;
	rw_config_defaults(&cfg);
	if (config && rw_config_load(&cfg, config, err, sizeof(err)) < 0)
		die("%s", err);

	struct rw_model *m = malloc(sizeof(*m)), *mt = malloc(sizeof(*mt)), *check = malloc(sizeof(*check));
	if (!m || !mt || !check)
		die("%s", "out of memory");
	if (rw_model_load(m, prior, err, sizeof(err)) < 0)
		die("%s", err);
	snprintf(m->name, sizeof(m->name), "%s", name);

	char day[16];
	if (!date) {
		uint64_t newest = 0;
		for (unsigned t = 0; t < n_traces; t++)
			if (traces[t].start_ns > newest)
				newest = traces[t].start_ns;
		time_t sec = (time_t)(newest / 1000000000u);
		struct tm tm;
		gmtime_r(&sec, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		date = day;
	}

	/* Which sources the data can train, and their weights on all traces and without each class. */
	int trained[RW_SRC_COUNT];
	unsigned cls[RW_SRC_COUNT][2];
	static double wfull[RW_SRC_COUNT][RW_F_COUNT + 1];
	static double wloco[MAX_CLASSES][RW_SRC_COUNT][RW_F_COUNT + 1];
	for (unsigned s = 0; s < RW_SRC_COUNT; s++) {
		cls[s][0] = cls[s][1] = 0;
		for (size_t r = 0; r < n_rows; r++)
			if (rows[r].f.sources & RW_SRC_BIT(s))
				cls[s][rows[r].label]++;
		trained[s] = cls[s][0] >= MIN_ROWS && cls[s][1] >= MIN_ROWS && source_varies(m, s);
		if (!trained[s])
			continue;
		fit(m, s, -1, lambda[s], wfull[s]);
		for (unsigned c = 0; c < n_classes; c++)
			fit(m, s, (int)c, lambda[s], wloco[c][s]);
	}
	struct rw_model *prior_m = malloc(sizeof(*prior_m));
	if (!prior_m)
		die("%s", "out of memory");
	*prior_m = *m;
	for (unsigned s = 0; s < RW_SRC_COUNT; s++)
		if (trained[s])
			set_weights(m, s, wfull[s]);

	/* Replay every trace with the trained model, and with the model trained without its class. */
	static struct replay_result full[MAX_TRACES], held[MAX_TRACES];
	FILE *tsv = NULL;
	char path[1024];
	if (evaldir) {
		snprintf(path, sizeof(path), "%s/samples.tsv", evaldir);
		if (!(tsv = fopen(path, "w")))
			die("cannot write %s (does the directory exist?)", path);
		fprintf(tsv, "recording\tclass\tlabel\tmodel\tt\tcores\tp\tverdict\tpmu\tfpprobe\tcgroup\tindicators\t"
			"agreed\n");
	}
	free(materialize(m, check));
	m->bias = fit_bias(check, -1);
	free(materialize(m, check));
	for (unsigned t = 0; t < n_traces; t++) {
		char tag[256];
		snprintf(tag, sizeof(tag), "%s\t%s\t%s\tshipped", base_name(traces[t].path), classes[traces[t].cls],
			 traces[t].label ? "mining" : "benign");
		replay(traces[t].path, &cfg, check, &full[t], tsv, tag);
	}
	for (unsigned c = 0; c < n_classes; c++) {
		*mt = *prior_m;
		for (unsigned s = 0; s < RW_SRC_COUNT; s++)
			if (trained[s])
				set_weights(mt, s, wloco[c][s]);
		free(materialize(mt, check));
		mt->bias = fit_bias(check, (int)c);
		free(materialize(mt, check));
		for (unsigned t = 0; t < n_traces; t++) {
			if (traces[t].cls != c)
				continue;
			char tag[256];
			snprintf(tag, sizeof(tag), "%s\t%s\t%s\theld-out", base_name(traces[t].path), classes[c],
				 traces[t].label ? "mining" : "benign");
			replay(traces[t].path, &cfg, check, &held[t], tsv, tag);
		}
	}
	free(prior_m);
	unsigned fails = 0;
	for (unsigned t = 0; t < n_traces; t++)
		fails += !passed(&traces[t], &held[t]);

	static char prov[RW_MODEL_PROVENANCE_MAX];
	prov[0] = '\0';
	append(prov, sizeof(prov), "model method tools/train: per-source L2 logistic regression (Newton, "
	       "class-balanced, L2 lambda pmu %g fpprobe %g cgroup %g indicators %g), integer weights in 1/256 "
	       "log-odds; fusion bias fitted on the sum of the sources' log-odds; caps and the agreement cap from the prior", lambda[RW_SRC_PMU],
	       lambda[RW_SRC_FPPROBE], lambda[RW_SRC_CGROUP], lambda[RW_SRC_INDICATORS]);
	for (unsigned k = 0; k < n_fixed; k++)
		append(prov, sizeof(prov), "%s%s", k ? ", " : "; prior weight kept for ", fixed[k]);
	append(prov, sizeof(prov), "\n");
	append(prov, sizeof(prov), "model date %s\n", date);
	for (unsigned k = 0; k < n_notes; k++)
		append(prov, sizeof(prov), "model note %s\n", notes[k]);
	char thr_s[32], thr_m[32];
	rw_format_q16(cfg.suspect_threshold_q16, thr_s, sizeof(thr_s));
	rw_format_q16(cfg.mining_threshold_q16, thr_m, sizeof(thr_m));
	append(prov, sizeof(prov), "model traces %u traces in %u classes, %zu samples; verdicts below are replays "
	       "through the scoring path (verdict enter_k=%u of enter_n=%u, suspect %s, mining %s), seconds from each "
	       "trace's first sample; \"held out\": with a model trained without the trace's class; deadline: 10 s "
	       "after the first sample at >= 25 %% of a core, 30 s after the first at >= 5 %%\n", n_traces, n_classes,
	       n_rows, cfg.verdict_enter_k, cfg.verdict_enter_n, thr_s, thr_m);
	unsigned mi = 0, mi_ok = 0, mi_hok = 0, be = 0, be_ok = 0, be_hok = 0;
	double worst = 0, hworst = 0;
	for (unsigned t = 0; t < n_traces; t++) {
		char a[96], b[96], dl[64];
		describe(&full[t], a, sizeof(a));
		describe(&held[t], b, sizeof(b));
		fmt_deadline(&traces[t], dl, sizeof(dl));
		if (traces[t].label)
			append(prov, sizeof(prov), "model trace mining %s %s deadline %s s: %s; held out: %s\n",
			       classes[traces[t].cls], base_name(traces[t].path), dl, a, b);
		else
			append(prov, sizeof(prov), "model trace benign %s %s: %s; held out: %s (worst score %.2f)\n",
			       classes[traces[t].cls], base_name(traces[t].path), a, b, held[t].worst_p);
		if (traces[t].label) {
			mi++;
			if (passed(&traces[t], &full[t])) {
				mi_ok++;
				worst = full[t].to_mining > worst ? full[t].to_mining : worst;
			}
			if (passed(&traces[t], &held[t])) {
				mi_hok++;
				hworst = held[t].to_mining > hworst ? held[t].to_mining : hworst;
			}
		} else {
			be++;
			be_ok += passed(&traces[t], &full[t]);
			be_hok += passed(&traces[t], &held[t]);
		}
	}
	append(prov, sizeof(prov), "model accuracy replayed: %u/%u miner traces mining by their deadline (slowest "
	       "%.1f s), %u/%u benign traces never mining; held out by class: %u/%u miners (slowest %.1f s), %u/%u "
	       "benign\n", mi_ok, mi, worst, be_ok, be, mi_hok, mi, hworst, be_hok, be);

	for (unsigned s = 0; s < RW_SRC_COUNT; s++) {
		if (!trained[s]) {
			append(prov, sizeof(prov), "%s kind prior\n", rw_source_name(s));
			if (cls[s][0] < MIN_ROWS || cls[s][1] < MIN_ROWS)
				append(prov, sizeof(prov), "%s note kept the prior: %u mining and %u benign samples with "
				       "this source (need %d of each)\n", rw_source_name(s), cls[s][1], cls[s][0],
				       MIN_ROWS);
			else
				append(prov, sizeof(prov), "%s note kept the prior: its features never vary over the %u "
				       "mining and %u benign samples\n", rw_source_name(s), cls[s][1], cls[s][0]);
			if (s == RW_SRC_PMU)
				append(prov, sizeof(prov), "%s note derived from the RandomX specification "
				       "(doc/specs.md, design.md), not trained: the training host has no PMU; traces "
				       "with hardware counters train it like the other sources\n", rw_source_name(s));
			continue;
		}
		/* training accuracy with the integer weights, and leave-one-class-out accuracy */
		const struct rw_model_source *src = &m->src[s];
		double wq[RW_F_COUNT + 1];
		for (unsigned j = 0; j < src->n; j++)
			wq[j] = m->terms[src->first + j].weight / (double)RW_LOGIT_UNIT;
		wq[src->n] = src->intercept / (double)RW_LOGIT_UNIT;
		unsigned ok = 0, tot = 0, lok = 0;
		for (size_t r = 0; r < n_rows; r++) {
			if (!(rows[r].f.sources & RW_SRC_BIT(s)))
				continue;
			tot++;
			ok += (predict(m, s, wq, &rows[r].f) > 0) == rows[r].label;
			lok += (predict(m, s, wloco[rows[r].cls][s], &rows[r].f) > 0) == rows[r].label;
		}
		append(prov, sizeof(prov), "%s kind trained\n", rw_source_name(s));
		for (unsigned j = 0; j < src->n; j++) {
			uint32_t bit = m->terms[src->first + j].bit;
			const char *fname = rw_feature_name(m->terms[src->first + j].feature);
			if (!(measured() & bit))
				append(prov, sizeof(prov), "%s note %s: never measured in the training traces, prior weight "
				       "kept\n", rw_source_name(s), fname);
			else if (fixed_mask & bit)
				append(prov, sizeof(prov), "%s note %s: prior weight kept (--fixed)\n", rw_source_name(s),
				       fname);
		}
		append(prov, sizeof(prov), "%s traces %u mining and %u benign samples\n", rw_source_name(s), cls[s][1],
		       cls[s][0]);
		append(prov, sizeof(prov),
		       "%s accuracy per sample, this source alone: training %u/%u (%.1f %%), leave-one-class-out "
		       "%u/%u (%.1f %%)\n", rw_source_name(s), ok, tot, 100.0 * ok / tot, lok, tot, 100.0 * lok / tot);
	}
	if (strlen(prov) + 1 >= sizeof(prov))
		die("%s", "provenance longer than RW_MODEL_PROVENANCE_MAX");

	/* Round-trip through the printer and the strict parser: what we write must load. */
	snprintf(m->provenance, sizeof(m->provenance), "%s", prov);
	char *text = materialize(m, check);
	size_t len = strlen(text);
	if (outpath) {
		FILE *out = fopen(outpath, "w");
		if (!out || fwrite(text, 1, len, out) != len || fclose(out) != 0)
			die("cannot write %s", outpath);
		fprintf(stderr, "train: %s: %u traces, %zu samples\n", outpath, n_traces, n_rows);
	}
	if (evaldir) {
		fclose(tsv);
		snprintf(path, sizeof(path), "%s/traces.tsv", evaldir);
		FILE *f = fopen(path, "w");
		if (!f)
			die("cannot write %s", path);
		fprintf(f, "recording\tclass\tlabel\tmean_cores\tdeadline_s\theld_to_mining_s\theld_max\theld_final\t"
			"held_worst_p\tshipped_to_mining_s\tshipped_max\tshipped_worst_p\tpass\theld_back\n");
		for (unsigned t = 0; t < n_traces; t++)
			fprintf(f, "%s\t%s\t%s\t%.3f\t%.1f\t%.1f\t%s\t%s\t%.4f\t%.1f\t%s\t%.4f\t%d\t%s\n",
				base_name(traces[t].path), classes[traces[t].cls], traces[t].label ? "mining" : "benign",
				traces[t].mean_cores, traces[t].deadline_s, held[t].to_mining,
				rw_verdict_name(held[t].max), rw_verdict_name(held[t].final), held[t].worst_p,
				full[t].to_mining, rw_verdict_name(full[t].max), full[t].worst_p,
				passed(&traces[t], &held[t]), traces[t].label ? "" : held[t].held);
		fclose(f);
		write_report(evaldir, full, held, &cfg, check, fails);
		snprintf(path, sizeof(path), "%s/model.model", evaldir);
		f = fopen(path, "w");
		if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0)
			die("cannot write %s", path);
	}
	for (unsigned t = 0; t < n_traces; t++) {
		char a[96], b[96];
		describe(&full[t], a, sizeof(a));
		describe(&held[t], b, sizeof(b));
		fprintf(stderr, "  %s %-6s %-14s %-26s %s; held out: %s\n", passed(&traces[t], &held[t]) ? "ok  " : "FAIL",
			traces[t].label ? "mining" : "benign", classes[traces[t].cls], base_name(traces[t].path), a, b);
	}
	if (evaldir)
		fprintf(stderr, "train: held-out evaluation %s: %u of %u recordings fail (%s/report.md)\n",
			fails ? "FAILED" : "passed", fails, n_traces, evaldir);
	free(text);
	free(check);
	free(mt);
	free(m);
	free(rows);
	return evaldir && fails ? 1 : 0;
}
