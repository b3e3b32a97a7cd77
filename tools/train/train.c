/* train: labelled traces in, a model file out.
 *
 *   train --prior models/rigwatch.model --out FILE [--name NAME] [--date YYYY-MM-DD] [--lambda L]
 *         mining:TRACE... benign:TRACE...
 *   train --dump TRACE        print each sample's features (for looking at a recording)
 *
 * Every sample goes through rw_features_compute() exactly as in the agent. Per evidence source, an L2-regularised
 * logistic regression (Newton's method, fixed iterations, class-balanced) over that source's features, scaled as
 * in the prior (lo, hi, center, scale); a missing feature is 0 after scaling, as at inference. A source without
 * enough labelled rows of both classes keeps the prior's weights and its provenance says so (the pmu source on a
 * host without a PMU). Deterministic: no randomness, no clock (the date is the newest trace's start day unless
 * --date is given), so the same traces give a byte-identical file. Doubles are fine here: this is not the
 * scoring path; the output is integer weights. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rigwatch/features.h"
#include "rigwatch/model.h"
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

int main(int argc, char **argv)
{
	const char *prior = "models/rigwatch.model", *outpath = NULL, *name = "rigwatch", *date = NULL;
	double lambda = 0.05;
	char err[512];
	int i;

	if (argc == 3 && !strcmp(argv[1], "--dump"))
		return read_trace(argv[2], 0, 1);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prior") && i + 1 < argc)
			prior = argv[++i];
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			outpath = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--date") && i + 1 < argc)
			date = argv[++i];
		else if (!strcmp(argv[i], "--lambda") && i + 1 < argc)
			lambda = atof(argv[++i]);
		else if (!strncmp(argv[i], "mining:", 7))
			read_trace(argv[i] + 7, 1, 0);
		else if (!strncmp(argv[i], "benign:", 7))
			read_trace(argv[i] + 7, 0, 0);
		else
			die("usage: train --prior FILE --out FILE [--name N] [--date D] [--lambda L] "
			    "mining:TRACE... benign:TRACE... | train --dump TRACE (bad argument \"%s\")", argv[i]);
	}
	if (!outpath || !n_traces)
		die("%s", "usage: train --out FILE mining:TRACE... benign:TRACE...");

	struct rw_model *m = malloc(sizeof(*m));
	if (!m || rw_model_load(m, prior, err, sizeof(err)) < 0)
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

	static char prov[RW_MODEL_PROVENANCE_MAX];
	prov[0] = '\0';
	append(prov, sizeof(prov), "model method tools/train: per-source L2 logistic regression (Newton, lambda %g, "
	       "class-balanced), integer weights in 1/256 log-odds\n", lambda);
	append(prov, sizeof(prov), "model date %s\n", date);
	append(prov, sizeof(prov), "model traces %u traces, %zu samples\n", n_traces, n_rows);
	for (unsigned t = 0; t < n_traces; t++) {
		const char *b = strrchr(traces[t].path, '/');
		append(prov, sizeof(prov), "model trace %s %s %u samples\n", traces[t].label ? "mining" : "benign",
		       b ? b + 1 : traces[t].path, traces[t].rows);
	}

	for (unsigned s = 0; s < RW_SRC_COUNT; s++) {
		struct rw_model_source *src = &m->src[s];
		unsigned cls[2] = { 0, 0 };
		for (size_t r = 0; r < n_rows; r++)
			if (rows[r].f.sources & RW_SRC_BIT(s))
				cls[rows[r].label]++;
		if (cls[0] < MIN_ROWS || cls[1] < MIN_ROWS) {
			append(prov, sizeof(prov), "%s kind prior\n", rw_source_name(s));
			append(prov, sizeof(prov),
			       "%s note kept the prior: %u mining and %u benign samples with this source (need %d of each)\n",
			       rw_source_name(s), cls[1], cls[0], MIN_ROWS);
			if (s == RW_SRC_PMU)
				append(prov, sizeof(prov), "%s note prior derived from the RandomX specification "
				       "(doc/specs.md, design.md); the training host has no PMU\n", rw_source_name(s));
			continue;
		}
		double w[RW_F_COUNT + 1];
		fit(m, s, -1, lambda, w);
		for (unsigned j = 0; j < src->n; j++) {
			double q = round(w[j] * RW_LOGIT_UNIT);
			m->terms[src->first + j].weight = (int32_t)(q > 16384 ? 16384 : q < -16384 ? -16384 : q);
		}
		double b = round(w[src->n] * RW_LOGIT_UNIT);
		src->intercept = (int32_t)(b > 4096 ? 4096 : b < -4096 ? -4096 : b);
		/* training accuracy with the integer weights, and leave-one-trace-out accuracy */
		double wq[RW_F_COUNT + 1];
		for (unsigned j = 0; j < src->n; j++)
			wq[j] = m->terms[src->first + j].weight / (double)RW_LOGIT_UNIT;
		wq[src->n] = src->intercept / (double)RW_LOGIT_UNIT;
		unsigned ok = 0, tot = 0, lok = 0, ltot = 0;
		for (size_t r = 0; r < n_rows; r++) {
			if (!(rows[r].f.sources & RW_SRC_BIT(s)))
				continue;
			tot++;
			ok += (predict(m, s, wq, &rows[r].f) > 0) == rows[r].label;
		}
		for (unsigned t = 0; t < n_traces; t++) {
			double wl[RW_F_COUNT + 1];
			fit(m, s, (int)t, lambda, wl);
			for (size_t r = 0; r < n_rows; r++) {
				if (rows[r].trace != t || !(rows[r].f.sources & RW_SRC_BIT(s)))
					continue;
				ltot++;
				lok += (predict(m, s, wl, &rows[r].f) > 0) == rows[r].label;
			}
		}
		append(prov, sizeof(prov), "%s kind trained\n", rw_source_name(s));
		append(prov, sizeof(prov), "%s traces %u mining and %u benign samples\n", rw_source_name(s), cls[1],
		       cls[0]);
		append(prov, sizeof(prov),
		       "%s accuracy per sample: training %u/%u (%.1f %%), leave-one-trace-out %u/%u (%.1f %%)\n",
		       rw_source_name(s), ok, tot, 100.0 * ok / tot, lok, ltot, ltot ? 100.0 * lok / ltot : 0.0);
	}

	/* Round-trip through the printer and the strict parser: what we write must load. */
	snprintf(m->provenance, sizeof(m->provenance), "%s", prov);
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	fprintf(mem, "# rigwatch model, format 1 (include/rigwatch/model.h). Written by tools/train; do not edit.\n");
	rw_model_print(m, mem);
	fclose(mem);
	struct rw_model *check = malloc(sizeof(*check));
	if (!check || rw_model_parse(check, outpath, text, err, sizeof(err)) < 0)
		die("internal: written model does not parse: %s", err);
	FILE *out = fopen(outpath, "w");
	if (!out || fwrite(text, 1, len, out) != len || fclose(out) != 0)
		die("cannot write %s", outpath);
	fprintf(stderr, "train: %s: %u traces, %zu samples\n", outpath, n_traces, n_rows);
	free(text);
	free(check);
	free(m);
	free(rows);
	return 0;
}
