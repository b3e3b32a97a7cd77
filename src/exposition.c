/* exposition: render a struct rw_report as Prometheus text 0.0.4, Prometheus protobuf (delimited MetricFamily
 * records) and the /verdicts JSON.
 *
 * Both metric formats walk one family table (render_families) through a small emitter, so the two can never
 * disagree on names, types, labels or values. Values are carried as an unsigned mantissa and a power-of-ten
 * scale, so the text form is exact decimal with no printf("%g") on the hot path, and the protobuf form is the
 * nearest double. A family with no samples is left out of both. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "metrics.pb-c.h"
#include "rigwatch/buildinfo.h"
#include "rigwatch/events.h"
#include "rigwatch/alerts.h"
#include "rigwatch/exposition.h"
#include "rigwatch/fpprobe.h"
#include "rigwatch/verdict.h"
#include "rigwatch/respond.h"
#include "rigwatch/features.h"
#include "rigwatch/identity.h"
#include "rigwatch/fpprobe.h"
#include "rigwatch/targets.h"

#ifndef RW_VERSION
#define RW_VERSION "unknown"
#endif

/* ---- buffers ---------------------------------------------------------------------------------------------- */

static inline void buf_putc(struct rw_buf *b, char c)
{
	rw_buf_putc(b, c);
}

/* ---- numbers ---------------------------------------------------------------------------------------------- */

static const uint64_t pow10u[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000 };

/* value = m / 10^scale */
struct val {
	uint64_t m;
	unsigned scale;
};

static inline struct val V(uint64_t m, unsigned scale)
{
	struct val v = { m, scale };
	return v;
}

static void put_u64(struct rw_buf *b, uint64_t v)
{
	char tmp[24];
	int i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	rw_buf_append(b, tmp + i, sizeof tmp - (size_t)i);
}

static void put_val(struct rw_buf *b, struct val v)
{
	if (v.scale == 0) {
		put_u64(b, v.m);
		return;
	}
	uint64_t p = pow10u[v.scale], f = v.m % p;
	put_u64(b, v.m / p);
	if (!f)
		return;
	char tmp[12];
	unsigned n = v.scale;
	tmp[0] = '.';
	for (unsigned i = n; i > 0; i--) {
		tmp[i] = (char)('0' + f % 10);
		f /= 10;
	}
	while (tmp[n] == '0')
		n--;
	rw_buf_append(b, tmp, n + 1);
}

static double val_double(struct val v)
{
	if (v.scale == 0)
		return (double)v.m;
	uint64_t p = pow10u[v.scale];
	return (double)(v.m / p) + (double)(v.m % p) / (double)p;
}

/* Q16.16 (non-negative) to micro-units, rounded. */
static uint64_t q16_micro(int64_t q)
{
	if (q <= 0)
		return 0;
	return (uint64_t)((q * 1000000 + 32768) >> 16);
}

/* a * mult / div, saturating, without overflow in between. */
static uint64_t muldiv(uint64_t a, uint64_t mult, uint64_t div)
{
	unsigned __int128 x = (unsigned __int128)a * mult / div;
	return x > UINT64_MAX ? UINT64_MAX : (uint64_t)x;
}

/* ---- names ------------------------------------------------------------------------------------------------ */

/* ---- Accept negotiation ----------------------------------------------------------------------------------- */

static bool ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	return alen == blen && strncasecmp(a, b, alen) == 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* q-value in thousandths ("0.7" -> 700), 1000 when malformed the way lenient servers treat it. */
static int parse_q(const char *s, size_t n)
{
	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return 1000;
	int q = (s[0] - '0') * 1000, mult = 100;
	size_t i = 1;
	if (i < n && s[i] == '.')
		for (i++; i < n && mult && s[i] >= '0' && s[i] <= '9'; i++, mult /= 10)
			q += (s[i] - '0') * mult;
	return q > 1000 ? 1000 : q;
}

enum rw_expo_format rw_expo_negotiate(const char *accept)
{
	int best_text = -1, best_proto = -1;
	unsigned order = 0, text_order = 0, proto_order = 0;

	if (!accept)
		return RW_EXPO_TEXT;
	for (const char *p = accept; *p; order++) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *item = p;
		p = end ? end + 1 : p + n;

		/* media range, then ;params */
		const char *semi = memchr(item, ';', n);
		const char *mt = item;
		size_t mtn = semi ? (size_t)(semi - item) : n;
		trim(&mt, &mtn);
		int q = 1000;
		bool proto_ok = false, enc_ok = false;
		for (const char *par = semi; par && par < item + n;) {
			const char *pend = memchr(par + 1, ';', (size_t)(item + n - par - 1));
			const char *kv = par + 1;
			size_t kvn = (size_t)((pend ? pend : item + n) - kv);
			par = pend;
			trim(&kv, &kvn);
			const char *eq = memchr(kv, '=', kvn);
			if (!eq)
				continue;
			const char *k = kv, *v = eq + 1;
			size_t kn = (size_t)(eq - kv), vn = kvn - kn - 1;
			trim(&k, &kn);
			trim(&v, &vn);
			if (ieq(k, kn, "q"))
				q = parse_q(v, vn);
			else if (ieq(k, kn, "proto"))
				proto_ok = vn == strlen("io.prometheus.client.MetricFamily") &&
					   !strncmp(v, "io.prometheus.client.MetricFamily", vn);
			else if (ieq(k, kn, "encoding"))
				enc_ok = ieq(v, vn, "delimited");
		}
		if (q <= 0)
			continue;
		if (ieq(mt, mtn, "application/vnd.google.protobuf")) {
			if (proto_ok && enc_ok && q > best_proto)
				best_proto = q, proto_order = order;
		} else if (ieq(mt, mtn, "text/plain") || ieq(mt, mtn, "text/*") || ieq(mt, mtn, "*/*")) {
			if (q > best_text)
				best_text = q, text_order = order;
		}
	}
	if (best_proto < 0)
		return RW_EXPO_TEXT;
	if (best_proto > best_text || (best_proto == best_text && proto_order < text_order))
		return RW_EXPO_PROTOBUF;
	return RW_EXPO_TEXT;
}

/* ---- the emitter: one family walk, two formats ------------------------------------------------------------ */

/* Identity labels of a target, in output order. Empty values are left out (Prometheus reads an empty label
 * as an absent one), so a plain systemd service carries only cgroup and unit. */
enum { L_CGROUP, L_RUNTIME, L_ID, L_POD_UID, L_SLURM_JOB, L_SLURM_STEP, L_SLURM_USER, L_UNIT, L_COUNT };
static const char *const label_names[L_COUNT] = { "cgroup", "runtime", "id", "pod_uid", "slurm_job", "slurm_step",
						  "slurm_user", "unit" };

enum fam_type { F_COUNTER, F_GAUGE };

struct tlabels {
	size_t voff[L_COUNT];     /* proto: sanitized values in e->strs (SIZE_MAX: none) */
	size_t toff, tlen;        /* text: `{cgroup="..",...` without the closing brace */
};

struct emitter {
	bool proto;
	const struct rw_report *r;
	struct rw_buf *out;
	struct tlabels *tl;
	struct rw_buf strs;       /* per-target label text or sanitized values */
	struct rw_buf fam;        /* proto: the family record being built */
	const char *name, *help;
	size_t name_len;
	enum fam_type type;
	bool started;
};

static void target_labels(struct emitter *e)
{
	for (unsigned i = 0; i < e->r->n_targets; i++) {
		const struct rw_sample *s = &e->r->targets[i].sample;
		const char *vals[L_COUNT] = { s->cgroup, s->identity.runtime, s->identity.id, s->identity.pod_uid,
					      s->identity.slurm_job, s->identity.slurm_step, s->identity.slurm_user,
					      s->identity.unit };
		struct tlabels *t = &e->tl[i];
		t->toff = e->strs.len;
		/* The unit of a container or Slurm step is the runtime's own scope ("docker-<id>.scope",
		 * "slurmstepd.scope"): it says nothing the id does not, so it is a label only for plain units. */
		if (vals[L_ID][0] || vals[L_POD_UID][0] || vals[L_SLURM_JOB][0])
			vals[L_UNIT] = "";
		for (unsigned l = 0; l < L_COUNT; l++) {
			t->voff[l] = SIZE_MAX;
			if (!vals[l][0])
				continue;
			if (e->proto) {
				t->voff[l] = e->strs.len;
				rw_buf_escaped(&e->strs, vals[l], RW_ESC_NONE);
				buf_putc(&e->strs, '\0');
			} else {
				buf_putc(&e->strs, e->strs.len == t->toff ? '{' : ',');
				rw_buf_puts(&e->strs, label_names[l]);
				rw_buf_append(&e->strs, "=\"", 2);
				rw_buf_escaped(&e->strs, vals[l], RW_ESC_LABEL);
				buf_putc(&e->strs, '"');
			}
		}
		t->tlen = e->strs.len - t->toff;
	}
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		p[n++] = c | (v ? 0x80 : 0);
	} while (v);
	return n;
}

static void fam_end(struct emitter *e)
{
	if (e->proto && e->started) {
		uint8_t hdr[10];
		size_t h = put_varint(hdr, e->fam.len);
		rw_buf_append(e->out, hdr, h);
		rw_buf_append(e->out, e->fam.data, e->fam.len);
	}
	e->started = false;
}

static void fam(struct emitter *e, const char *name, enum fam_type type, const char *help)
{
	fam_end(e);
	e->name = name;
	e->name_len = strlen(name);
	e->type = type;
	e->help = help;
}

static void fam_header(struct emitter *e)
{
	e->started = true;
	if (!e->proto) {
		rw_buf_puts(e->out, "# HELP ");
		rw_buf_puts(e->out, e->name);
		buf_putc(e->out, ' ');
		rw_buf_puts(e->out, e->help);   /* help texts are ours: no '\\' or newline to escape */
		rw_buf_puts(e->out, "\n# TYPE ");
		rw_buf_puts(e->out, e->name);
		rw_buf_puts(e->out, e->type == F_COUNTER ? " counter\n" : " gauge\n");
		return;
	}
	/* A MetricFamily's fields 1..3 now; each Metric is appended as its own field-4 record in sample(). Packing
	 * metrics one at a time gives the same bytes as packing the whole family, without building an array of
	 * every Metric of a 1,000-target family first. */
	Io__Prometheus__Client__MetricFamily mf = IO__PROMETHEUS__CLIENT__METRIC_FAMILY__INIT;
	mf.name = (char *)e->name;
	mf.help = (char *)e->help;
	mf.has_type = 1;
	mf.type = e->type == F_COUNTER ? IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER
				       : IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE;
	rw_buf_reset(&e->fam);
	size_t n = io__prometheus__client__metric_family__get_packed_size(&mf);
	if (rw_buf_reserve(&e->fam, n) == 0)
		e->fam.len += io__prometheus__client__metric_family__pack(&mf, (uint8_t *)e->fam.data + e->fam.len);
}

#define EXTRA_LABELS_MAX 10

/* One sample: target index (-1 for a host-level series) and up to EXTRA_LABELS_MAX extra labels. Extra label
 * names are ours; their values are escaped (build_info's carry compiler strings). */
static void sample_n(struct emitter *e, int target, const char *const *lnames, const char *const *lvals, unsigned nx,
		     struct val v)
{
	if (nx > EXTRA_LABELS_MAX)
		nx = EXTRA_LABELS_MAX;
	if (!e->started)
		fam_header(e);
	if (!e->proto) {
		struct rw_buf *b = e->out;
		rw_buf_append(b, e->name, e->name_len);
		bool open = false;
		if (target >= 0 && e->tl[target].tlen) {
			rw_buf_append(b, e->strs.data + e->tl[target].toff, e->tl[target].tlen);
			open = true;
		}
		for (unsigned x = 0; x < nx; x++) {
			buf_putc(b, open ? ',' : '{');
			rw_buf_puts(b, lnames[x]);
			rw_buf_append(b, "=\"", 2);
			rw_buf_escaped(b, lvals[x], RW_ESC_LABEL);
			buf_putc(b, '"');
			open = true;
		}
		if (open)
			buf_putc(b, '}');
		buf_putc(b, ' ');
		put_val(b, v);
		buf_putc(b, '\n');
		return;
	}

	Io__Prometheus__Client__LabelPair lp[L_COUNT + EXTRA_LABELS_MAX], *lpp[L_COUNT + EXTRA_LABELS_MAX];
	size_t nl = 0;
	if (target >= 0) {
		for (unsigned l = 0; l < L_COUNT; l++) {
			if (e->tl[target].voff[l] == SIZE_MAX)
				continue;
			io__prometheus__client__label_pair__init(&lp[nl]);
			lp[nl].name = (char *)label_names[l];
			lp[nl].value = e->strs.data + e->tl[target].voff[l];
			lpp[nl] = &lp[nl];
			nl++;
		}
	}
	for (unsigned x = 0; x < nx; x++) {
		io__prometheus__client__label_pair__init(&lp[nl]);
		lp[nl].name = (char *)lnames[x];
		lp[nl].value = (char *)lvals[x];   /* ours: valid UTF-8 */
		lpp[nl] = &lp[nl];
		nl++;
	}
	Io__Prometheus__Client__Metric m = IO__PROMETHEUS__CLIENT__METRIC__INIT;
	Io__Prometheus__Client__Counter c = IO__PROMETHEUS__CLIENT__COUNTER__INIT;
	Io__Prometheus__Client__Gauge g = IO__PROMETHEUS__CLIENT__GAUGE__INIT;
	m.n_label = nl;
	m.label = lpp;
	if (e->type == F_COUNTER) {
		c.has_value = 1;
		c.value = val_double(v);
		m.counter = &c;
	} else {
		g.has_value = 1;
		g.value = val_double(v);
		m.gauge = &g;
	}
	size_t n = io__prometheus__client__metric__get_packed_size(&m);
	if (rw_buf_reserve(&e->fam, n + 11))
		return;
	uint8_t *p = (uint8_t *)e->fam.data + e->fam.len;
	size_t h = 0;
	p[h++] = (4 << 3) | 2;   /* field 4 (metric), wire type 2 (length-delimited) */
	h += put_varint(p + h, n);
	h += io__prometheus__client__metric__pack(&m, p + h);
	e->fam.len += h;
}

static void sample2(struct emitter *e, int target, const char *lname, const char *lval, const char *lname2,
		    const char *lval2, struct val v)
{
	const char *names[2] = { lname, lname2 }, *vals[2] = { lval, lval2 };
	sample_n(e, target, names, vals, lname2 ? 2 : lname ? 1 : 0, v);
}

#define INFO_LABELS (2 + RW_CONTAINER_LABELS)
/* One sample of an info metric: the target's labels plus n label pairs whose values are not ours (escaped in the
 * text format, sanitized to UTF-8 in protobuf); value 1. */
static void info_sample(struct emitter *e, int target, unsigned n, char names[][96], const char *const *vals)
{
	struct rw_buf tmp = RW_BUF_INIT;
	size_t voff[INFO_LABELS];
	if (!e->started)
		fam_header(e);
	for (unsigned i = 0; i < n; i++) {
		voff[i] = tmp.len;
		rw_buf_escaped(&tmp, vals[i], e->proto ? RW_ESC_NONE : RW_ESC_LABEL);
		buf_putc(&tmp, '\0');
	}
	if (tmp.err) {
		rw_buf_free(&tmp);
		return;
	}
	if (!e->proto) {
		struct rw_buf *b = e->out;
		rw_buf_append(b, e->name, e->name_len);
		bool open = false;
		if (e->tl[target].tlen) {
			rw_buf_append(b, e->strs.data + e->tl[target].toff, e->tl[target].tlen);
			open = true;
		}
		for (unsigned i = 0; i < n; i++) {
			buf_putc(b, open ? ',' : '{');
			rw_buf_puts(b, names[i]);
			rw_buf_append(b, "=\"", 2);
			rw_buf_puts(b, tmp.data + voff[i]);
			buf_putc(b, '"');
			open = true;
		}
		rw_buf_puts(b, open ? "} 1\n" : " 1\n");
		rw_buf_free(&tmp);
		return;
	}
	Io__Prometheus__Client__LabelPair lp[L_COUNT + INFO_LABELS], *lpp[L_COUNT + INFO_LABELS];
	size_t nl = 0;
	for (unsigned l = 0; l < L_COUNT; l++) {
		if (e->tl[target].voff[l] == SIZE_MAX)
			continue;
		io__prometheus__client__label_pair__init(&lp[nl]);
		lp[nl].name = (char *)label_names[l];
		lp[nl].value = e->strs.data + e->tl[target].voff[l];
		lpp[nl] = &lp[nl];
		nl++;
	}
	for (unsigned i = 0; i < n; i++) {
		io__prometheus__client__label_pair__init(&lp[nl]);
		lp[nl].name = names[i];
		lp[nl].value = tmp.data + voff[i];
		lpp[nl] = &lp[nl];
		nl++;
	}
	Io__Prometheus__Client__Metric m = IO__PROMETHEUS__CLIENT__METRIC__INIT;
	Io__Prometheus__Client__Gauge g = IO__PROMETHEUS__CLIENT__GAUGE__INIT;
	m.n_label = nl;
	m.label = lpp;
	g.has_value = 1;
	g.value = 1;
	m.gauge = &g;
	size_t sz = io__prometheus__client__metric__get_packed_size(&m);
	if (rw_buf_reserve(&e->fam, sz + 11) == 0) {
		uint8_t *p = (uint8_t *)e->fam.data + e->fam.len;
		size_t h = 0;
		p[h++] = (4 << 3) | 2;
		h += put_varint(p + h, sz);
		h += io__prometheus__client__metric__pack(&m, p + h);
		e->fam.len += h;
	}
	rw_buf_free(&tmp);
}

/* rigwatch_container_info for one target: name, image and the chosen labels (container_label_<key>, the key's
 * characters outside [a-zA-Z0-9_] as '_'). */
static void container_info(struct emitter *e, int target, const struct rw_container_meta *c)
{
	char names[INFO_LABELS][96];
	const char *vals[INFO_LABELS];
	unsigned n = 0;
	snprintf(names[n], sizeof names[n], "name");
	vals[n++] = c->name;
	snprintf(names[n], sizeof names[n], "image");
	vals[n++] = c->image;
	for (unsigned i = 0; i < c->n_labels && i < RW_CONTAINER_LABELS; i++) {
		int k = snprintf(names[n], sizeof names[n], "container_label_%s", c->labels[i].key);
		for (char *q = names[n] + strlen("container_label_"); k > 0 && *q; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9')))
				*q = '_';
		bool dup = false;
		for (unsigned j = 2; j < n; j++)
			dup |= strcmp(names[j], names[n]) == 0; /* "a.b" and "a_b" map to one name: keep the first */
		if (!dup)
			vals[n++] = c->labels[i].value;
	}
	info_sample(e, target, n, names, vals);
}

static void sample(struct emitter *e, int target, const char *lname, const char *lval, struct val v)
{
	sample2(e, target, lname, lval, NULL, NULL, v);
}

/* Every family, host-level first, then per target. Names are lint-clean for `promtool check metrics`: base units,
 * `_total` only on counters, no type names or unit abbreviations in names. */
static void render_families(struct emitter *e)
{
	const struct rw_report *r = e->r;
	unsigned n = r->n_targets;

	const struct rw_build_label *bl;
	unsigned nbl = rw_build_info(&bl);
	const char *bnames[EXTRA_LABELS_MAX], *bvals[EXTRA_LABELS_MAX];
	for (unsigned i = 0; i < nbl && i < EXTRA_LABELS_MAX; i++)
		bnames[i] = bl[i].name, bvals[i] = bl[i].value;
	fam(e, "rigwatch_build_info", F_GAUGE,
	    "A metric with a constant '1' value labeled by version, revision, compiler, arch and library versions from "
	    "which rigwatch was built.");
	sample_n(e, -1, bnames, bvals, nbl, V(1, 0));

	/* The agent's own process, under the names of the Prometheus client libraries (dashboards for any exporter
	 * work unchanged). */
	const struct rw_procself *ps = &r->self;
	fam(e, "process_cpu_seconds_total", F_COUNTER, "Total user and system CPU time spent in seconds.");
	sample(e, -1, NULL, NULL, V(ps->cpu_usec, 6));
	fam(e, "process_open_fds", F_GAUGE, "Number of open file descriptors.");
	sample(e, -1, NULL, NULL, V(r->open_fds, 0));
	fam(e, "process_max_fds", F_GAUGE, "Maximum number of open file descriptors.");
	if (ps->max_fds)
		sample(e, -1, NULL, NULL, V(ps->max_fds, 0));
	fam(e, "process_virtual_memory_bytes", F_GAUGE, "Virtual memory size in bytes.");
	if (ps->vm_bytes)
		sample(e, -1, NULL, NULL, V(ps->vm_bytes, 0));
	fam(e, "process_resident_memory_bytes", F_GAUGE, "Resident memory size in bytes.");
	if (ps->rss_bytes)
		sample(e, -1, NULL, NULL, V(ps->rss_bytes, 0));
	fam(e, "process_start_time_seconds", F_GAUGE, "Start time of the process since unix epoch in seconds.");
	if (ps->start_time_ns)
		sample(e, -1, NULL, NULL, V(ps->start_time_ns, 9));

	fam(e, "rigwatch_source_available", F_GAUGE,
	    "Whether this host can provide an evidence source (pmu, fpprobe, cgroup, indicators): 1 yes, 0 no.");
	for (unsigned s = 0; s < RW_SRC_COUNT; s++)
		sample(e, -1, "source", rw_source_name((enum rw_source)s),
		       V(!!(r->sources_available & RW_SRC_BIT(s)), 0));

	fam(e, "rigwatch_fp_path", F_GAUGE,
	    "Which path gives the FP control-state evidence (bpf: every context switch, ptrace: reads of busy threads): "
	    "1 for the live one.");
	sample(e, -1, "path", "bpf", V(r->fp_path == RW_FP_PATH_BPF, 0));
	sample(e, -1, "path", "ptrace", V(r->fp_path == RW_FP_PATH_PTRACE, 0));

	fam(e, "rigwatch_pmu_hardware_available", F_GAUGE, "Whether hardware performance counters are usable.");
	sample(e, -1, NULL, NULL, V(r->pmu_hw_available, 0));
	fam(e, "rigwatch_pmu_cgroup_events_permitted", F_GAUGE,
	    "Whether the kernel lets this agent open per-cgroup perf events.");
	sample(e, -1, NULL, NULL, V(r->pmu_cgroup_permitted, 0));

	unsigned by_verdict[RW_VERDICT_COUNT] = { 0 };
	for (unsigned i = 0; i < n; i++)
		if ((unsigned)r->targets[i].verdict.verdict < RW_VERDICT_COUNT)
			by_verdict[r->targets[i].verdict.verdict]++;
	fam(e, "rigwatch_targets", F_GAUGE, "Targets (workload cgroups) watched in the last interval, by verdict.");
	for (unsigned v = 0; v < RW_VERDICT_COUNT; v++)
		sample(e, -1, "verdict", rw_verdict_name((enum rw_verdict)v), V(by_verdict[v], 0));

	fam(e, "rigwatch_cgroups_seen", F_GAUGE, "Cgroup directories walked in the last interval.");
	sample(e, -1, NULL, NULL, V(r->cgroups_seen, 0));
	fam(e, "rigwatch_interval_seconds", F_GAUGE,
	    "Sampling interval. Every value here was measured over the last interval and is served from a cache "
	    "refreshed once per interval.");
	sample(e, -1, NULL, NULL, V(r->interval_ms, 3));
	fam(e, "rigwatch_loop_duration_seconds", F_GAUGE, "Time the sampling loop worked in the last interval.");
	sample(e, -1, NULL, NULL, V(r->loop_duration_us, 6));
	fam(e, "rigwatch_last_report_timestamp_seconds", F_GAUGE, "When the last interval ended, in Unix time.");
	sample(e, -1, NULL, NULL, V(r->time_ns, 9));
	fam(e, "rigwatch_config_last_reload_successful", F_GAUGE,
	    "Whether the last configuration reload (SIGHUP) succeeded: 1 yes (or none yet), 0 the old one still runs.");
	sample(e, -1, NULL, NULL, V(r->config_reload_ok, 0));
	fam(e, "rigwatch_config_last_reload_success_timestamp_seconds", F_GAUGE,
	    "When the configuration was last loaded successfully (start or reload), in Unix time.");
	sample(e, -1, NULL, NULL, V(r->config_reload_success_ns, 9));
	fam(e, "rigwatch_intervals_total", F_COUNTER, "Sampling intervals completed since start.");
	sample(e, -1, NULL, NULL, V(r->interval_seq, 0));
	fam(e, "rigwatch_fpprobe_probes_total", F_COUNTER,
	    "FP control-register observations: values saved at context switches (eBPF) or reads that succeeded (ptrace).");
	sample(e, -1, NULL, NULL, V(r->fpprobe_probes_total, 0));
	fam(e, "rigwatch_fpprobe_failures_total", F_COUNTER,
	    "FP control-register reads that failed (thread exited, refused, timed out).");
	sample(e, -1, NULL, NULL, V(r->fpprobe_failed_total, 0));
	fam(e, "rigwatch_fp_observations_dropped_total", F_COUNTER,
	    "eBPF path: FP observations lost because the per-target counts map was full.");
	sample(e, -1, NULL, NULL, V(r->fp_dropped_total, 0));
	fam(e, "rigwatch_counters_denied_total", F_COUNTER,
	    "Target-intervals that wanted hardware counters and could not open them (fd budget, permission).");
	sample(e, -1, NULL, NULL, V(r->counters_denied_total, 0));
	fam(e, "rigwatch_perf_event_fds", F_GAUGE, "File descriptors spent on per-cgroup perf events.");
	sample(e, -1, NULL, NULL, V(r->counter_fds, 0));
	/* Every action x result pair from the start, at 0 until it happens: increase() sees the first one. */
	fam(e, "rigwatch_response_actions_total", F_COUNTER,
	    "Response decisions on mining targets since start, by action (dry-run, freeze, kill) and result (ok, "
	    "vanished, frozen_not_killed, failed, refused, rate_limited, no_evidence, recheck_failed, allowed).");
	for (unsigned a = 0; a < RW_RA_COUNT; a++)
		for (unsigned res = 0; res < RW_RR_COUNT; res++)
			sample2(e, -1, "action", rw_respond_action_name((enum rw_respond_action)a), "result",
				rw_respond_result_name((enum rw_respond_result)res), V(r->response_actions[a][res], 0));
	/* Per sink, from zero: an alert that never reached its receiver shows as a drop or a failure. */
	fam(e, "rigwatch_alerts_sent_total", F_COUNTER,
	    "Alert lines delivered by each sink since start (output: stdout or the file; http: a 2xx answer).");
	for (unsigned k = 0; k < RW_ALERT_SINKS; k++)
		sample(e, -1, "sink", rw_alert_sink_name((enum rw_alert_sink)k), V(r->alerts_sent[k], 0));
	fam(e, "rigwatch_alerts_dropped_total", F_COUNTER,
	    "Alert lines a sink never tried: HTTP queue full or left at shutdown, syslog socket full.");
	for (unsigned k = 0; k < RW_ALERT_SINKS; k++)
		sample(e, -1, "sink", rw_alert_sink_name((enum rw_alert_sink)k), V(r->alerts_dropped[k], 0));
	fam(e, "rigwatch_alerts_failed_total", F_COUNTER,
	    "Alert lines a sink tried and gave up on (HTTP after its retries, a write or send error).");
	for (unsigned k = 0; k < RW_ALERT_SINKS; k++)
		sample(e, -1, "sink", rw_alert_sink_name((enum rw_alert_sink)k), V(r->alerts_failed[k], 0));
	fam(e, "rigwatch_detections_total", F_COUNTER, "Times a target entered the mining verdict since start.");
	sample(e, -1, NULL, NULL, V(r->detections_total, 0));
	fam(e, "rigwatch_detection_delay_seconds_total", F_COUNTER,
	    "Sum over those entries of the time from the agent's first sight of the target to the mining verdict; "
	    "divided by rigwatch_detections_total it is the mean time to detection.");
	sample(e, -1, NULL, NULL, V(r->detection_delay_ns_total, 9));

	/* Per target. */
	fam(e, "rigwatch_target_score", F_GAUGE, "Fused miner probability of the target, 0 to 1.");
	for (unsigned i = 0; i < n; i++) {
		int32_t q = r->targets[i].verdict.score_q16;
		sample(e, (int)i, NULL, NULL, V(q16_micro(q > 65536 ? 65536 : q), 6));
	}
	fam(e, "rigwatch_target_verdict", F_GAUGE, "Current verdict of the target: 1 for the verdict it is in, else 0.");
	for (unsigned i = 0; i < n; i++)
		for (unsigned v = 0; v < RW_VERDICT_COUNT; v++)
			sample(e, (int)i, "verdict", rw_verdict_name((enum rw_verdict)v),
			       V(r->targets[i].verdict.verdict == (enum rw_verdict)v, 0));
	fam(e, "rigwatch_target_detection_delay_seconds", F_GAUGE,
	    "For a target in the mining verdict: time from the agent's first sight of it to that verdict.");
	for (unsigned i = 0; i < n; i++) {
		const struct rw_verdict_state *v = &r->targets[i].verdict;
		if (v->verdict == RW_VERDICT_MINING)
			sample(e, (int)i, NULL, NULL, V(v->since_ns > v->first_seen_ns ? v->since_ns - v->first_seen_ns : 0, 9));
	}
	fam(e, "rigwatch_target_response_actions_total", F_COUNTER,
	    "Response decisions on this target (action x result pairs that happened), while the agent lists it: "
	    "rigwatch_response_actions_total with the target's identity.");
	for (unsigned i = 0; i < n; i++)
		for (unsigned a = 0; a < RW_RA_COUNT; a++)
			for (unsigned res = 0; res < RW_RR_COUNT; res++)
				if (r->targets[i].response_decisions[a][res])
					sample2(e, (int)i, "action", rw_respond_action_name((enum rw_respond_action)a),
						"result", rw_respond_result_name((enum rw_respond_result)res),
						V(r->targets[i].response_decisions[a][res], 0));
	fam(e, "rigwatch_target_action", F_GAUGE,
	    "1 for a target the response acted on (frozen, killed, failed) or would have (dry-run); absent otherwise.");
	for (unsigned i = 0; i < n; i++)
		if (r->targets[i].action != RW_ACTION_NONE && r->targets[i].action <= RW_ACTION_FAILED)
			sample(e, (int)i, "action", rw_action_state_name(r->targets[i].action), V(1, 0));
	fam(e, "rigwatch_container_info", F_GAUGE,
	    "Names of a container target from its engine's state: name, image reference and the labels chosen by "
	    "[docker] labels; 1 for each container whose names are known. Join on cgroup or id.");
	for (unsigned i = 0; i < n; i++)
		if (r->targets[i].container.have)
			container_info(e, (int)i, &r->targets[i].container);
	fam(e, "rigwatch_target_detections_total", F_COUNTER, "Times the target entered the mining verdict.");
	for (unsigned i = 0; i < n; i++)
		sample(e, (int)i, NULL, NULL, V(r->targets[i].verdict.detections, 0));

	fam(e, "rigwatch_target_cpu_usage_seconds_total", F_COUNTER, "CPU time used by the target (cgroup cpu.stat).");
	for (unsigned i = 0; i < n; i++)
		if (r->targets[i].sample.cg.have & RW_CGS_CPU)
			sample(e, (int)i, NULL, NULL, V(r->targets[i].sample.cg.usage_usec, 6));
	fam(e, "rigwatch_target_cpu_cores_used", F_GAUGE,
	    "CPU seconds per second the target used over the last interval.");
	for (unsigned i = 0; i < n; i++) {
		const struct rw_sample *s = &r->targets[i].sample;
		if ((s->cg.have & RW_CGS_CPU) && s->interval_us)
			sample(e, (int)i, NULL, NULL, V(muldiv(s->cpu_usec, 1000000, s->interval_us), 6));
	}
	fam(e, "rigwatch_target_memory_bytes", F_GAUGE, "Memory charged to the target (memory.current).");
	for (unsigned i = 0; i < n; i++)
		if (r->targets[i].sample.cg.have & RW_CGS_MEMORY)
			sample(e, (int)i, NULL, NULL, V(r->targets[i].sample.cg.memory_current, 0));

	/* Cumulative, so PromQL takes rates over any window; task-clock counts nanoseconds, so it is a family of its
	 * own in seconds rather than an "event" beside counts. */
	fam(e, "rigwatch_target_perf_events_total", F_COUNTER,
	    "Perf events counted for the target since its counters were opened (at attention), scaled for multiplexing.");
	for (unsigned i = 0; i < n; i++) {
		const struct rw_sample *s = &r->targets[i].sample;
		for (unsigned c = 0; c < RW_CTR_COUNT; c++)
			if (c != RW_CTR_TASK_CLOCK && (s->counters_present & (1u << c)))
				sample(e, (int)i, "event", rw_counter_role_name((enum rw_counter_role)c),
				       V(s->counters_total[c], 0));
	}
	fam(e, "rigwatch_target_perf_task_clock_seconds_total", F_COUNTER,
	    "CPU time the target's tasks ran, by the task-clock perf event, since its counters were opened.");
	for (unsigned i = 0; i < n; i++) {
		const struct rw_sample *s = &r->targets[i].sample;
		if (s->counters_present & (1u << RW_CTR_TASK_CLOCK))
			sample(e, (int)i, NULL, NULL, V(s->counters_total[RW_CTR_TASK_CLOCK], 9));
	}
	fam(e, "rigwatch_target_perf_scaling_ratio", F_GAUGE,
	    "Least time_running/time_enabled of the target's counters over CPUs: 1 means no multiplexing.");
	/* software events are never multiplexed: only targets with hardware counters get a ratio */
	for (unsigned i = 0; i < n; i++)
		if (r->targets[i].sample.counters_present & ((1u << RW_CTR_FIRST_SOFTWARE) - 1))
			sample(e, (int)i, NULL, NULL, V(q16_micro(r->targets[i].sample.counter_ratio_q16), 6));
	fam(e, "rigwatch_target_fpprobe_rounding_modes", F_GAUGE,
	    "Most distinct FP rounding modes seen on one thread of the target in the last interval.");
	for (unsigned i = 0; i < n; i++)
		if (r->targets[i].sample.fp.probes)
			sample(e, (int)i, NULL, NULL, V(r->targets[i].sample.fp.max_thread_modes, 0));
	fam(e, "rigwatch_target_fp_observations", F_GAUGE,
	    "FP control-register observations of the target's threads in the last interval, by rounding mode.");
	for (unsigned i = 0; i < n; i++)
		if (r->targets[i].sample.fp.probes)
			for (unsigned m = 0; m < 4; m++)
				sample(e, (int)i, "mode", rw_fp_rmode_name(m), V(r->targets[i].sample.fp.mode_obs[m], 0));
	fam(e, "rigwatch_target_allowed", F_GAUGE,
	    "1 for a target an [allow] rule exempts: scored, never alerted on or acted upon; absent otherwise.");
	for (unsigned i = 0; i < n; i++)
		if (r->targets[i].allowed)
			sample(e, (int)i, NULL, NULL, V(1, 0));
	fam(e, "rigwatch_target_kubernetes_info", F_GAUGE,
	    "Kubernetes names of the target, for joins on cgroup: constant 1 labeled by namespace, pod and container.");
	for (unsigned i = 0; i < n; i++) {
		const struct rw_identity *id = &r->targets[i].sample.identity;
		if (!id->k8s_pod[0])
			continue;
		/* values are the kubelet's names, checked by the names module to be [a-z0-9.-] only */
		const char *ln[3] = { "namespace", "pod", "container" };
		const char *lv[3] = { id->k8s_ns, id->k8s_pod, id->k8s_container };
		sample_n(e, (int)i, ln, lv, id->k8s_container[0] ? 3 : 2, V(1, 0));
	}
	fam_end(e);
}

static int render(const struct rw_report *r, struct rw_buf *out, bool proto)
{
	struct emitter e = { .proto = proto, .r = r, .out = out };
	int rc = 0;

	if (r->n_targets) {
		e.tl = calloc(r->n_targets, sizeof *e.tl);
		if (!e.tl)
			return -ENOMEM;
	}
	/* Room for the whole body up front: about 1.5 KiB per target in text, less in protobuf. */
	rw_buf_reserve(out, 4096 + (size_t)r->n_targets * 1536);
	target_labels(&e);
	if (e.strs.err)
		rc = e.strs.err;
	else
		render_families(&e);
	if (!rc && (e.fam.err || out->err))
		rc = -ENOMEM;
	free(e.tl);
	rw_buf_free(&e.strs);
	rw_buf_free(&e.fam);
	return rc;
}

int rw_expo_text(const struct rw_report *r, struct rw_buf *out)
{
	return render(r, out, false);
}

int rw_expo_protobuf(const struct rw_report *r, struct rw_buf *out)
{
	return render(r, out, true);
}

/* ---- JSON ------------------------------------------------------------------------------------------------- */

static void json_key(struct rw_buf *b, const char *key, bool *first)
{
	if (!*first)
		buf_putc(b, ',');
	*first = false;
	buf_putc(b, '"');
	rw_buf_puts(b, key);
	rw_buf_append(b, "\":", 2);
}

/* A key that is not ours (a container label's): escaped as any JSON string. */
static void json_key_escaped(struct rw_buf *b, const char *key, bool *first)
{
	if (!*first)
		buf_putc(b, ',');
	*first = false;
	rw_buf_json_string(b, key);
	buf_putc(b, ':');
}

static void json_time(struct rw_buf *b, uint64_t ns)
{
	if (!ns) {
		rw_buf_puts(b, "null");
		return;
	}
	buf_putc(b, '"');
	rw_buf_rfc3339(b, ns, 0);
	buf_putc(b, '"');
}

/* The engine's names: "container": {"engine", "name", "short_id", "image", "image_repository", "image_tag",
 * "image_id", "state", "started", "labels": {...}}. */
static void container_json(struct rw_buf *b, const struct rw_container_meta *c, bool *first)
{
	bool f2 = true;
	json_key(b, "container", first);
	buf_putc(b, '{');
	const char *const k[] = { "engine", "name", "short_id", "image", "image_repository", "image_tag", "image_id" };
	const char *const v[] = { c->engine, c->name, c->short_id, c->image, c->image_repository, c->image_tag,
				  c->image_id };
	for (unsigned i = 0; i < sizeof k / sizeof k[0]; i++) {
		if (!v[i][0])
			continue;
		json_key(b, k[i], &f2);
		rw_buf_json_string(b, v[i]);
	}
	if (c->have_state) {
		json_key(b, "state", &f2);
		rw_buf_json_string(b, c->paused ? "paused" : c->running ? "running" : "exited");
		json_key(b, "started", &f2);
		json_time(b, c->started_ns);
	}
	json_key(b, "labels", &f2);
	buf_putc(b, '{');
	bool f3 = true;
	for (unsigned i = 0; i < c->n_labels && i < RW_CONTAINER_LABELS; i++) {
		json_key_escaped(b, c->labels[i].key, &f3);
		rw_buf_json_string(b, c->labels[i].value);
	}
	buf_putc(b, '}');
	buf_putc(b, '}');
}

/* Where the miner started: "origin": {"started_by", "detail", "hashing_since", "process_tree": [...]}. */
static void origin_json(struct rw_buf *b, const struct rw_container_origin *o, bool *first)
{
	char d[400];
	bool f2 = true;
	json_key(b, "origin", first);
	buf_putc(b, '{');
	json_key(b, "started_by", &f2);
	rw_buf_json_string(b, rw_origin_start_name(o->started));
	json_key(b, "detail", &f2);
	rw_origin_describe(o, d, sizeof d);
	rw_buf_json_string(b, d);
	json_key(b, "hashing_since", &f2);
	json_time(b, o->hashing_since_ns);
	json_key(b, "process_tree", &f2);
	buf_putc(b, '[');
	for (unsigned i = 0; i < o->n && i < RW_ORIGIN_CHAIN_MAX; i++) {
		const struct rw_origin_proc *p = &o->chain[i];
		bool f3 = true;
		if (i)
			buf_putc(b, ',');
		buf_putc(b, '{');
		json_key(b, "pid", &f3);
		put_u64(b, (uint64_t)(p->pid > 0 ? p->pid : 0));
		json_key(b, "ppid", &f3);
		put_u64(b, (uint64_t)(p->ppid > 0 ? p->ppid : 0));
		json_key(b, "uid", &f3);
		put_u64(b, p->uid);
		json_key(b, "comm", &f3);
		rw_buf_json_string(b, p->comm);
		json_key(b, "exe", &f3);
		rw_buf_json_string(b, p->exe);
		json_key(b, "cmdline", &f3);
		rw_buf_json_string(b, p->cmdline);
		json_key(b, "start", &f3);
		json_time(b, p->start_ns);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
	buf_putc(b, '}');
}

int rw_verdict_target_json(const struct rw_report_target *t, struct rw_buf *b)
{
	const struct rw_sample *s = &t->sample;
	const struct rw_verdict_state *v = &t->verdict;
	const struct rw_identity *id = &s->identity;
	bool first = true, f2;

	buf_putc(b, '{');
	json_key(b, "cgroup", &first);
	rw_buf_json_string(b, s->cgroup);
	json_key(b, "cgroup_id", &first);
	put_u64(b, s->cgroup_id);
	if (rw_target_is_process(s->cgroup_id)) {
		/* A process outside every target cgroup: the cgroup above is where it sits. Its origin chain (it and its
		 * ancestors, from the indicator scan) says who it is. */
		json_key(b, "pid", &first);
		put_u64(b, rw_proc_target_pid(s->cgroup_id));
		json_key(b, "process", &first);
		buf_putc(b, '[');
		unsigned no = s->ind.n_origin < RW_ORIGIN_MAX ? s->ind.n_origin : RW_ORIGIN_MAX;
		for (unsigned i = 0; i < no; i++) {
			const struct rw_proc_origin *o = &s->ind.origin[i];
			char comm[sizeof o->comm + 1], exe[sizeof o->exe + 1];
			memcpy(comm, o->comm, sizeof o->comm);
			comm[sizeof o->comm] = '\0';
			memcpy(exe, o->exe, sizeof o->exe);
			exe[sizeof o->exe] = '\0';
			if (i)
				buf_putc(b, ',');
			f2 = true;
			buf_putc(b, '{');
			json_key(b, "pid", &f2);
			put_u64(b, (uint64_t)(o->pid > 0 ? o->pid : 0));
			json_key(b, "ppid", &f2);
			put_u64(b, (uint64_t)(o->ppid > 0 ? o->ppid : 0));
			json_key(b, "uid", &f2);
			put_u64(b, o->uid);
			json_key(b, "comm", &f2);
			rw_buf_json_string(b, comm);
			json_key(b, "exe", &f2);
			rw_buf_json_string(b, exe);
			buf_putc(b, '}');
		}
		buf_putc(b, ']');
	}

	json_key(b, "identity", &first);
	buf_putc(b, '{');
	f2 = true;
	const char *const idk[] = { "runtime", "id", "name", "pod_uid", "k8s_namespace", "k8s_pod", "k8s_container",
				    "slurm_job", "slurm_step", "slurm_uid", "slurm_user", "unit" };
	const char *const idv[] = { id->runtime, id->id, id->name, id->pod_uid, id->k8s_ns, id->k8s_pod,
				    id->k8s_container, id->slurm_job, id->slurm_step, id->slurm_uid, id->slurm_user,
				    id->unit };
	for (unsigned i = 0; i < sizeof idk / sizeof idk[0]; i++) {
		if (!idv[i][0])
			continue;
		json_key(b, idk[i], &f2);
		rw_buf_json_string(b, idv[i]);
	}
	/* the short name tables show (rigwatch list, top): one rule for every reader */
	char label[256];
	rw_identity_label(id, label, sizeof label);
	json_key(b, "label", &f2);
	rw_buf_json_string(b, label);
	buf_putc(b, '}');

	if (t->container.have)
		container_json(b, &t->container, &first);
	if (t->origin.have)
		origin_json(b, &t->origin, &first);

	json_key(b, "verdict", &first);
	rw_buf_json_string(b, rw_verdict_name(v->verdict));
	/* exempt by an [allow] rule: scored and shown here, never alerted on or acted upon */
	json_key(b, "allowed", &first);
	rw_buf_puts(b, t->allowed ? "true" : "false");
	if (t->allowed) {
		json_key(b, "allow_reason", &first);
		rw_buf_json_string(b, t->allow_reason);
	}
	json_key(b, "score", &first);
	rw_buf_q16(b, v->score_q16 < 0 ? 0 : v->score_q16 > 65536 ? 65536 : v->score_q16);
	if ((s->cg.have & RW_CGS_CPU) && s->interval_us) {
		json_key(b, "cpu_cores", &first);
		put_val(b, V(muldiv(s->cpu_usec, 1000000, s->interval_us), 6));
	}
	if ((s->counters_present & (1u << RW_CTR_TASK_CLOCK)) && s->interval_us) {
		/* the same by the task-clock perf event (ns per interval): a second witness of the CPU use */
		json_key(b, "task_clock_cores", &first);
		put_val(b, V(muldiv(s->counters[RW_CTR_TASK_CLOCK], 1000, s->interval_us), 6));
	}

	json_key(b, "sources", &first);
	buf_putc(b, '[');
	f2 = true;
	for (unsigned i = 0; i < RW_SRC_COUNT; i++) {
		if (!(v->sources_used & RW_SRC_BIT(i)))
			continue;
		if (!f2)
			buf_putc(b, ',');
		f2 = false;
		rw_buf_json_string(b, rw_source_name((enum rw_source)i));
	}
	buf_putc(b, ']');

	if (s->fp.probes || s->fp.threads_traced) {
		/* The FP evidence of the last interval as observed, whatever the model makes of it. */
		json_key(b, "fp", &first);
		buf_putc(b, '{');
		f2 = true;
		json_key(b, "observations", &f2);
		put_u64(b, s->fp.probes);
		json_key(b, "threads", &f2);
		put_u64(b, s->fp.threads);
		json_key(b, "modes", &f2);
		buf_putc(b, '[');
		for (unsigned m = 0; m < 4; m++) {
			if (m)
				buf_putc(b, ',');
			put_u64(b, s->fp.mode_obs[m]);
		}
		buf_putc(b, ']');
		json_key(b, "max_thread_nondefault", &f2);
		put_u64(b, s->fp.max_thread_nondefault);
		if (s->fp.threads_traced) {
			char text[200];
			rw_fp_traced_describe(&s->fp, rw_target_is_process(s->cgroup_id), text, sizeof text);
			json_key(b, "traced_threads", &f2);
			put_u64(b, s->fp.threads_traced);
			json_key(b, "tracer_pid", &f2);
			put_u64(b, (uint64_t)(s->fp.tracer_pid > 0 ? s->fp.tracer_pid : 0));
			json_key(b, "traced", &f2);
			rw_buf_json_string(b, text);
		}
		buf_putc(b, '}');
	}

	json_key(b, "reasons", &first);
	buf_putc(b, '[');
	unsigned nr = v->n_reasons < RW_REASONS_MAX ? v->n_reasons : RW_REASONS_MAX;
	for (unsigned i = 0; i < nr; i++) {
		const struct rw_reason *rs = &v->reasons[i];
		char feature[sizeof rs->feature + 1], detail[sizeof rs->detail + 1];
		/* fixed arrays from another module: never trust them to be terminated */
		memcpy(feature, rs->feature, sizeof rs->feature);
		feature[sizeof rs->feature] = '\0';
		memcpy(detail, rs->detail, sizeof rs->detail);
		detail[sizeof rs->detail] = '\0';
		if (i)
			buf_putc(b, ',');
		f2 = true;
		buf_putc(b, '{');
		json_key(b, "source", &f2);
		rw_buf_json_string(b, rw_source_name(rs->source));
		json_key(b, "feature", &f2);
		rw_buf_json_string(b, feature);
		json_key(b, "value", &f2);
		rw_buf_q16(b, rs->value_q16);
		json_key(b, "detail", &f2);
		rw_buf_json_string(b, detail);
		buf_putc(b, '}');
	}
	buf_putc(b, ']');

	json_key(b, "first_seen", &first);
	json_time(b, v->first_seen_ns);
	json_key(b, "since", &first);
	json_time(b, v->since_ns);
	json_key(b, "detections", &first);
	put_u64(b, v->detections);
	json_key(b, "action", &first);
	rw_buf_json_string(b, rw_action_state_name(t->action));
	buf_putc(b, '}');
	return b->err;
}

int rw_verdicts_json(const struct rw_report *r, struct rw_buf *b, struct rw_verdict_slice *slices)
{
	char host[sizeof r->host + 1];

	memcpy(host, r->host, sizeof r->host);
	host[sizeof r->host] = '\0';
	rw_buf_reserve(b, 256 + (size_t)r->n_targets * 768);
	rw_buf_puts(b, "{\"host\":");
	rw_buf_json_string(b, host);
	rw_buf_puts(b, ",\"interval_s\":");
	put_val(b, V(r->interval_ms, 3));
	rw_buf_puts(b, ",\"time\":");
	json_time(b, r->time_ns);
	rw_buf_puts(b, ",\"targets\":[");
	for (unsigned i = 0; i < r->n_targets; i++) {
		if (i)
			buf_putc(b, ',');
		size_t off = b->len;
		rw_verdict_target_json(&r->targets[i], b);
		if (slices) {
			slices[i].cgroup_id = r->targets[i].sample.cgroup_id;
			slices[i].off = off;
			slices[i].len = b->len - off;
		}
	}
	rw_buf_puts(b, "]}\n");
	return b->err;
}
