/* train: labelled traces in, a model file out.
 *
 *   train --prior models/rigwatch.model --out FILE [--name NAME] [--date YYYY-MM-DD] [--lambda [SOURCE=]L]...
 *         mining:TRACE... benign:TRACE...
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
 * with the trained model, and again with a model trained without that trace (leave-one-trace-out), and the line
 * says where the verdict went and how many seconds after the first sample it reached `mining`.
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

#define MAX_TRACES 64
#define MIN_ROWS 8          /* per class and source, to train rather than keep the prior */
#define NEWTON_ITERS 60

struct row {
	unsigned trace;
	int label;                 /* 1 mining, 0 benign */
	struct rw_features f;
};

struct trace_info {
	const char *path;
	int label;
	unsigned rows;
	uint64_t start_ns;
};

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

static int read_trace(const char *path, int label, int dump)
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
		rows[n_rows].label = label;
		rows[n_rows].f = f;
		n_rows++;
		ti->rows++;
	}
	rw_trace_reader_close(&r);
	if (rc < 0)
		die("%s", err);
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

/* Fit weights w[0..n) and intercept w[n] on the rows of source s, skipping trace `hold` (-1: none). */
static void fit(const struct rw_model *m, unsigned s, int hold, double lambda, double *w)
{
	const struct rw_model_source *src = &m->src[s];
	unsigned n = src->n, d = n + 1;
	double cls[2] = { 0, 0 };
	for (size_t i = 0; i < n_rows; i++)
		if ((int)rows[i].trace != hold && (rows[i].f.sources & RW_SRC_BIT(s)))
			cls[rows[i].label] += 1;
	memset(w, 0, d * sizeof(*w));
	if (!cls[0] || !cls[1])
		return;
	for (unsigned it = 0; it < NEWTON_ITERS; it++) {
		double g[RW_F_COUNT + 1] = { 0 }, H[(RW_F_COUNT + 1) * (RW_F_COUNT + 1)] = { 0 }, x[RW_F_COUNT + 1];
		for (size_t i = 0; i < n_rows; i++) {
			const struct row *r = &rows[i];
			if ((int)r->trace == hold || !(r->f.sources & RW_SRC_BIT(s)))
				continue;
			/* class-balanced: each class weighs 1/2 in total */
			double cw = 0.5 / cls[r->label];
			design(m, src, &r->f, x);
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
		/* L2 on the weights (not the intercept) keeps separable data finite */
		for (unsigned j = 0; j < n; j++) {
			g[j] += lambda * w[j];
			H[j * d + j] += lambda;
		}
		H[n * d + n] += 1e-9;
		if (solve(H, g, d) < 0)
			break;
		for (unsigned j = 0; j < d; j++)
			w[j] -= g[j];
	}
}

static double predict(const struct rw_model *m, unsigned s, const double *w, const struct rw_features *f)
{
	double x[RW_F_COUNT + 1], z = w[m->src[s].n];
	design(m, &m->src[s], f, x);
	for (unsigned j = 0; j < m->src[s].n; j++)
		z += w[j] * x[j];
	return z;
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
		if (!(any & m->terms[src->first + j].bit))
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
};

/* Replay one trace through the scoring path (rw_scorer, as `rigwatch replay`); a trace of several targets is
 * judged by its worst target. */
static void replay(const char *path, const struct rw_config *cfg, const struct rw_model *m, struct replay_result *res)
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
	if (!h || !smp || !v || rw_scorer_init(&sc, cfg, m) < 0)
		die("%s", "out of memory");
	if (rw_trace_reader_open(&r, path, h, err, sizeof(err)) < 0)
		die("%s", err);
	while ((rc = rw_trace_next(&r, smp, err, sizeof(err))) == 1) {
		if (!res->samples++)
			first = smp->time_ns;
		if (rw_scorer_score(&sc, smp, v) < 0)
			die("%s", "out of memory");
		if (v->verdict > res->max)
			res->max = v->verdict;
		if (v->verdict == RW_VERDICT_MINING && res->to_mining < 0)
			res->to_mining = (double)(smp->time_ns - first) / 1e9;
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
		if (rw_scorer_score(&sc, &smp, &v) < 0)
			die("%s", "out of memory");
		const struct rw_score_target *t = rw_scorer_find(&sc, smp.cgroup_id ? smp.cgroup_id : 1);
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

int main(int argc, char **argv)
{
	const char *prior = "models/rigwatch.model", *outpath = NULL, *name = "rigwatch", *date = NULL;
	const char *config = NULL, *notes[16];
	unsigned n_notes = 0;
	double lambda[RW_SRC_COUNT] = { 0.05, 0.05, 0.05, 0.05 };
	char err[512];
	int i;

	if (argc == 3 && !strcmp(argv[1], "--dump"))
		return read_trace(argv[2], 0, 1);
	if (argc == 4 && !strcmp(argv[1], "--scores"))
		return scores(argv[2], argv[3]);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prior") && i + 1 < argc)
			prior = argv[++i];
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			outpath = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--date") && i + 1 < argc)
			date = argv[++i];
		else if (!strcmp(argv[i], "--lambda") && i + 1 < argc) {
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
			read_trace(argv[i] + 7, 1, 0);
		else if (!strncmp(argv[i], "benign:", 7))
			read_trace(argv[i] + 7, 0, 0);
		else
			die("usage: train --prior FILE --out FILE [--name N] [--date D] [--lambda [SRC=]L] [--config FILE] "
			    "[--note TEXT]... mining:TRACE... benign:TRACE... | train --dump TRACE (bad argument \"%s\")",
			    argv[i]);
	}
	if (!outpath || !n_traces)
		die("%s", "usage: train --out FILE mining:TRACE... benign:TRACE...");

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

	/* Which sources the data can train, and their weights on all traces. */
	int trained[RW_SRC_COUNT];
	unsigned cls[RW_SRC_COUNT][2];
	static double wfull[RW_SRC_COUNT][RW_F_COUNT + 1];
	static double wloto[MAX_TRACES][RW_SRC_COUNT][RW_F_COUNT + 1];
	for (unsigned s = 0; s < RW_SRC_COUNT; s++) {
		cls[s][0] = cls[s][1] = 0;
		for (size_t r = 0; r < n_rows; r++)
			if (rows[r].f.sources & RW_SRC_BIT(s))
				cls[s][rows[r].label]++;
		trained[s] = cls[s][0] >= MIN_ROWS && cls[s][1] >= MIN_ROWS && source_varies(m, s);
		if (!trained[s])
			continue;
		fit(m, s, -1, lambda[s], wfull[s]);
		set_weights(m, s, wfull[s]);
		for (unsigned t = 0; t < n_traces; t++)
			fit(m, s, (int)t, lambda[s], wloto[t][s]);
	}

	/* Replay every trace with the trained model, and with the model trained without it. */
	static struct replay_result full[MAX_TRACES], held[MAX_TRACES];
	free(materialize(m, check));
	for (unsigned t = 0; t < n_traces; t++) {
		replay(traces[t].path, &cfg, check, &full[t]);
		*mt = *m;
		for (unsigned s = 0; s < RW_SRC_COUNT; s++)
			if (trained[s])
				set_weights(mt, s, wloto[t][s]);
		free(materialize(mt, check));
		replay(traces[t].path, &cfg, check, &held[t]);
	}

	static char prov[RW_MODEL_PROVENANCE_MAX];
	prov[0] = '\0';
	append(prov, sizeof(prov), "model method tools/train: per-source L2 logistic regression (Newton, "
	       "class-balanced, L2 lambda pmu %g fpprobe %g cgroup %g indicators %g), integer weights in 1/256 "
	       "log-odds; fusion bias and caps from the prior\n", lambda[RW_SRC_PMU], lambda[RW_SRC_FPPROBE],
	       lambda[RW_SRC_CGROUP], lambda[RW_SRC_INDICATORS]);
	append(prov, sizeof(prov), "model date %s\n", date);
	for (unsigned k = 0; k < n_notes; k++)
		append(prov, sizeof(prov), "model note %s\n", notes[k]);
	char thr_s[32], thr_m[32];
	rw_format_q16(cfg.suspect_threshold_q16, thr_s, sizeof(thr_s));
	rw_format_q16(cfg.mining_threshold_q16, thr_m, sizeof(thr_m));
	append(prov, sizeof(prov), "model traces %u traces, %zu samples; verdicts below are replays through the "
	       "scoring path (verdict enter_k=%u of enter_n=%u, suspect %s, mining %s), seconds counted from each "
	       "trace's first sample; \"held out\": with a model trained without that trace\n", n_traces, n_rows,
	       cfg.verdict_enter_k, cfg.verdict_enter_n, thr_s, thr_m);
	unsigned mi = 0, mi_ok = 0, mi_hok = 0, be = 0, be_ok = 0, be_hok = 0;
	double worst = 0, hworst = 0;
	for (unsigned t = 0; t < n_traces; t++) {
		char a[96], b[96];
		describe(&full[t], a, sizeof(a));
		describe(&held[t], b, sizeof(b));
		append(prov, sizeof(prov), "model trace %s %s %u samples: %s; held out: %s\n",
		       traces[t].label ? "mining" : "benign", base_name(traces[t].path), traces[t].rows, a, b);
		if (traces[t].label) {
			mi++;
			if (full[t].final == RW_VERDICT_MINING) {
				mi_ok++;
				worst = full[t].to_mining > worst ? full[t].to_mining : worst;
			}
			if (held[t].final == RW_VERDICT_MINING) {
				mi_hok++;
				hworst = held[t].to_mining > hworst ? held[t].to_mining : hworst;
			}
		} else {
			be++;
			be_ok += full[t].max == RW_VERDICT_CLEAN;
			be_hok += held[t].max == RW_VERDICT_CLEAN;
		}
	}
	append(prov, sizeof(prov), "model accuracy replayed: %u/%u miner traces end mining (slowest %.1f s), %u/%u "
	       "benign traces never leave clean; held out: %u/%u miners (slowest %.1f s), %u/%u benign\n", mi_ok, mi,
	       worst, be_ok, be, mi_hok, mi, hworst, be_hok, be);

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
		/* training accuracy with the integer weights, and leave-one-trace-out accuracy */
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
			lok += (predict(m, s, wloto[rows[r].trace][s], &rows[r].f) > 0) == rows[r].label;
		}
		append(prov, sizeof(prov), "%s kind trained\n", rw_source_name(s));
		for (unsigned j = 0; j < src->n; j++)
			if (!(measured() & m->terms[src->first + j].bit))
				append(prov, sizeof(prov), "%s note %s: never measured in the training traces, prior weight "
				       "kept\n", rw_source_name(s), rw_feature_name(m->terms[src->first + j].feature));
		append(prov, sizeof(prov), "%s traces %u mining and %u benign samples\n", rw_source_name(s), cls[s][1],
		       cls[s][0]);
		append(prov, sizeof(prov),
		       "%s accuracy per sample, this source alone: training %u/%u (%.1f %%), leave-one-trace-out "
		       "%u/%u (%.1f %%)\n", rw_source_name(s), ok, tot, 100.0 * ok / tot, lok, tot, 100.0 * lok / tot);
	}
	if (strlen(prov) + 1 >= sizeof(prov))
		die("%s", "provenance longer than RW_MODEL_PROVENANCE_MAX");

	/* Round-trip through the printer and the strict parser: what we write must load. */
	snprintf(m->provenance, sizeof(m->provenance), "%s", prov);
	char *text = materialize(m, check);
	size_t len = strlen(text);
	FILE *out = fopen(outpath, "w");
	if (!out || fwrite(text, 1, len, out) != len || fclose(out) != 0)
		die("cannot write %s", outpath);
	fprintf(stderr, "train: %s: %u traces, %zu samples\n", outpath, n_traces, n_rows);
	for (unsigned t = 0; t < n_traces; t++) {
		char a[96], b[96];
		describe(&full[t], a, sizeof(a));
		describe(&held[t], b, sizeof(b));
		fprintf(stderr, "  %-6s %-28s %s; held out: %s\n", traces[t].label ? "mining" : "benign",
			base_name(traces[t].path), a, b);
	}
	free(text);
	free(check);
	free(mt);
	free(m);
	free(rows);
	return 0;
}
