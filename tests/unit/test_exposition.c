/* exposition: golden text and JSON renders of a fixed report, a protobuf round trip through the generated
 * unpack checked against the text render, escaping, and Accept negotiation.
 * RW_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing (review the diff before committing). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.pb-c.h"
#include "report_fixture.h"
#include "rigwatch/buildinfo.h"
#include "rigwatch/exposition.h"
#include "rigwatch/targets.h"
#include "rw_test.h"

#ifndef RW_VERSION
#define RW_VERSION "unknown"
#endif

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* The build's labels as the text format writes them: version="0.1.0",revision="...",... */
static void build_labels_text(struct rw_buf *out)
{
	const struct rw_build_label *bl;
	unsigned n = rw_build_info(&bl);
	for (unsigned i = 0; i < n; i++)
		rw_buf_printf(out, "%s%s=\"%s\"", i ? "," : "", bl[i].name, bl[i].value);
}

/* Copy `in` to `out` with every `from` replaced by `to`. */
static void replace_all(struct rw_buf *out, const char *in, size_t len, const char *from, const char *to)
{
	size_t fl = strlen(from);
	const char *p = in, *end = in + len, *hit;
	while (fl && (hit = memmem(p, (size_t)(end - p), from, fl)) != NULL) {
		rw_buf_append(out, p, (size_t)(hit - p));
		rw_buf_puts(out, to);
		p = hit + fl;
	}
	rw_buf_append(out, p, (size_t)(end - p));
}

/* The golden files say @BUILD_LABELS@ where the build's labels go (revision and compiler differ per build). */
static void check_golden(const char *name, const struct rw_buf *got)
{
	char path[512];
	snprintf(path, sizeof path, "%s/exposition/%s", rw_test_data_dir(), name);
	struct rw_buf want = RW_BUF_INIT, labels = RW_BUF_INIT;
	const char *tag = "@BUILD_LABELS@";
	size_t glen = 0;
	char *golden;

	build_labels_text(&labels);
	rw_buf_append(&labels, "", 1);
	if (getenv("RW_UPDATE_GOLDEN")) {
		struct rw_buf tagged = RW_BUF_INIT;
		replace_all(&tagged, got->data, got->len, labels.data, tag);
		FILE *f = fopen(path, "wb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fwrite(tagged.data, 1, tagged.len, f);
		fclose(f);
		rw_buf_free(&tagged);
		fprintf(stderr, "updated %s\n", path);
	}
	golden = read_file(path, &glen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(golden);
	replace_all(&want, golden, glen, tag, labels.data);
	CU_ASSERT_EQUAL(got->len, want.len);
	if (got->len != want.len || memcmp(got->data, want.data, want.len)) {
		size_t i = 0;
		while (i < got->len && i < want.len && got->data[i] == want.data[i])
			i++;
		fprintf(stderr, "\n%s differs at byte %zu:\n got: %.80s\nwant: %.80s\n", name, i, got->data + i,
			want.data + i);
		CU_FAIL("render differs from golden file");
	}
	free(golden);
	rw_buf_free(&want);
	rw_buf_free(&labels);
}

static void test_text_golden(void)
{
	struct rw_report r;
	struct rw_report_target t[4];
	struct rw_buf b = RW_BUF_INIT;
	fixture_report(&r, t);
	CU_ASSERT_EQUAL_FATAL(rw_expo_text(&r, &b), 0);
	check_golden("report.prom", &b);

	/* properties that must hold whatever the golden says */
	CU_ASSERT_EQUAL(b.data[b.len - 1], '\n');
	static const char hostile[] = "cgroup=\"/user.slice/we\\\"ird\\\\na\\nme\xef\xbf\xbd\xc3\xa9.scope\"";
	CU_ASSERT_PTR_NOT_NULL(memmem(b.data, b.len, hostile, strlen(hostile)));
	rw_buf_append(&b, "", 1);   /* the buffer is not NUL-terminated: strstr would read past len */
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "rigwatch_target_verdict{cgroup=\"/system.slice/docker-"));
	CU_ASSERT_PTR_NULL(strstr(b.data, "\xff"));
	/* the container's unit label is dropped (it repeats the id), the plain scope keeps it */
	CU_ASSERT_PTR_NULL(strstr(b.data, "unit=\"docker-"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, ",unit=\"we\\\"ird"));
	rw_buf_free(&b);
}

static void test_json_golden(void)
{
	struct rw_report r;
	struct rw_report_target t[4];
	struct rw_buf b = RW_BUF_INIT;
	struct rw_verdict_slice sl[4];
	fixture_report(&r, t);
	CU_ASSERT_EQUAL_FATAL(rw_verdicts_json(&r, &b, sl), 0);
	check_golden("verdicts.json", &b);

	/* every slice is exactly the one-target render */
	for (unsigned i = 0; i < 4; i++) {
		struct rw_buf one = RW_BUF_INIT;
		CU_ASSERT_EQUAL(sl[i].cgroup_id, t[i].sample.cgroup_id);
		CU_ASSERT_EQUAL(rw_verdict_target_json(&t[i], &one), 0);
		CU_ASSERT_EQUAL(one.len, sl[i].len);
		CU_ASSERT(one.len == sl[i].len && !memcmp(one.data, b.data + sl[i].off, one.len));
		rw_buf_free(&one);
	}

	/* a real JSON parser agrees it is JSON, and reads back the hostile strings */
	FILE *p = popen("python3 -c 'import json,sys; d=json.load(sys.stdin); t=d[\"targets\"]; "
			"assert t[2][\"cgroup\"]==\"/user.slice/we\\\"ird\\\\na\\nme\\ufffd\\u00e9.scope\", "
			"repr(t[2][\"cgroup\"]); "
			"assert t[0][\"reasons\"][1][\"detail\"]==\"IPC \\\"1.25\\\"\\tlow\\\\high\"; "
			"assert t[0][\"reasons\"][1][\"value\"]==-1.25; assert t[0][\"score\"]==0.989990; "
			"assert t[0][\"since\"]==\"2024-05-01T10:40:03Z\"; assert t[3][\"sources\"]==[]; "
			"assert t[0][\"identity\"][\"runtime\"]==\"docker\"; assert d[\"interval_s\"]==1'", "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	fwrite(b.data, 1, b.len, p);
	CU_ASSERT_EQUAL(pclose(p), 0);
	rw_buf_free(&b);
}

/* ---- text parser for the round trip: family -> samples (sorted "k=v" label string, value) ---- */

struct tsample {
	char fam[96];
	char labels[1024];
	double value;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, unescaped "k=v\x1f" join. */
static void norm_labels(char **kv, unsigned n, char *out, size_t len)
{
	qsort(kv, n, sizeof *kv, cmp_str);
	out[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		strncat(out, kv[i], len - strlen(out) - 1);
		strncat(out, "\x1f", len - strlen(out) - 1);
	}
}

static unsigned parse_text(const char *text, struct tsample *out, unsigned max)
{
	unsigned n = 0;
	char fam[96] = "";
	for (const char *line = text; *line && n < max;) {
		const char *end = strchr(line, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(end);
		if (!strncmp(line, "# TYPE ", 7)) {
			sscanf(line + 7, "%95s", fam);
		} else if (line[0] != '#') {
			struct tsample *s = &out[n++];
			char *kv[16], store[16][512];
			unsigned nkv = 0;
			const char *p = line;
			size_t nl = strcspn(p, "{ ");
			snprintf(s->fam, sizeof s->fam, "%.*s", (int)nl, p);
			CU_ASSERT_STRING_EQUAL(s->fam, fam);   /* samples sit under their own TYPE */
			p += nl;
			if (*p == '{') {
				p++;
				while (*p != '}') {
					char *o = store[nkv];
					size_t k = strcspn(p, "=");
					memcpy(o, p, k);
					o += k;
					*o++ = '=';
					p += k + 2;   /* =" */
					while (*p != '"') {
						if (*p == '\\') {
							p++;
							*o++ = *p == 'n' ? '\n' : *p;
						} else {
							*o++ = *p;
						}
						p++;
					}
					*o = '\0';
					kv[nkv] = store[nkv];
					nkv++;
					p++;
					if (*p == ',')
						p++;
				}
				p++;
			}
			norm_labels(kv, nkv, s->labels, sizeof s->labels);
			s->value = strtod(p, NULL);
		}
		line = end + 1;
	}
	return n;
}

static void check_roundtrip(const struct rw_report *r)
{
	struct rw_buf text = RW_BUF_INIT, pb = RW_BUF_INIT;
	static struct tsample ts[2048];
	CU_ASSERT_EQUAL_FATAL(rw_expo_text(r, &text), 0);
	CU_ASSERT_EQUAL_FATAL(rw_expo_protobuf(r, &pb), 0);
	rw_buf_append(&text, "", 1);
	unsigned nt = parse_text(text.data, ts, 2048), k = 0, fams = 0;

	const uint8_t *p = (const uint8_t *)pb.data, *end = p + pb.len;
	while (p < end) {
		uint64_t len = 0;
		unsigned shift = 0;
		while (p < end && (*p & 0x80)) {
			len |= (uint64_t)(*p++ & 0x7f) << shift;
			shift += 7;
		}
		CU_ASSERT_FATAL(p < end);
		len |= (uint64_t)(*p++) << shift;
		CU_ASSERT_FATAL(len <= (uint64_t)(end - p));
		Io__Prometheus__Client__MetricFamily *mf =
			io__prometheus__client__metric_family__unpack(NULL, (size_t)len, p);
		CU_ASSERT_PTR_NOT_NULL_FATAL(mf);
		p += len;
		fams++;
		CU_ASSERT_PTR_NOT_NULL(mf->help);
		CU_ASSERT(mf->has_type);
		CU_ASSERT(mf->n_metric > 0);
		for (size_t i = 0; i < mf->n_metric; i++, k++) {
			const Io__Prometheus__Client__Metric *m = mf->metric[i];
			CU_ASSERT_FATAL(k < nt);
			CU_ASSERT_STRING_EQUAL(mf->name, ts[k].fam);
			char *kv[16], store[16][512], labels[1024];
			CU_ASSERT_FATAL(m->n_label <= 16);
			for (size_t l = 0; l < m->n_label; l++) {
				snprintf(store[l], sizeof store[l], "%s=%s", m->label[l]->name, m->label[l]->value);
				kv[l] = store[l];
			}
			norm_labels(kv, (unsigned)m->n_label, labels, sizeof labels);
			CU_ASSERT_STRING_EQUAL(labels, ts[k].labels);
			double v;
			if (mf->type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER) {
				CU_ASSERT_PTR_NOT_NULL_FATAL(m->counter);
				CU_ASSERT_PTR_NULL(m->gauge);
				v = m->counter->value;
			} else {
				CU_ASSERT_EQUAL(mf->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE);
				CU_ASSERT_PTR_NOT_NULL_FATAL(m->gauge);
				v = m->gauge->value;
			}
			CU_ASSERT(fabs(v - ts[k].value) <= 1e-12 * fabs(ts[k].value));
			if (fabs(v - ts[k].value) > 1e-12 * fabs(ts[k].value))
				fprintf(stderr, "%s %s: proto %.17g text %.17g\n", mf->name, labels, v, ts[k].value);
		}
		io__prometheus__client__metric_family__free_unpacked(mf, NULL);
	}
	CU_ASSERT_EQUAL(k, nt);   /* every text sample, no more */
	CU_ASSERT(fams >= 16);
	rw_buf_free(&text);
	rw_buf_free(&pb);
}

static void test_protobuf_roundtrip(void)
{
	struct rw_report r;
	struct rw_report_target t[4];
	fixture_report(&r, t);
	check_roundtrip(&r);

	/* no targets: host families only, still well-formed */
	r.n_targets = 0;
	check_roundtrip(&r);
	struct rw_buf b = RW_BUF_INIT;
	CU_ASSERT_EQUAL(rw_expo_text(&r, &b), 0);
	rw_buf_append(&b, "", 1);
	CU_ASSERT_PTR_NULL(strstr(b.data, "rigwatch_target_"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "rigwatch_targets{verdict=\"mining\"} 0\n"));
	rw_buf_free(&b);
}

static void test_protobuf_wire(void)
{
	/* the first record, decoded by hand: varint length, then field 1 (name) of the first family */
	struct rw_report r;
	struct rw_report_target t[4];
	struct rw_buf b = RW_BUF_INIT;
	fixture_report(&r, t);
	CU_ASSERT_EQUAL_FATAL(rw_expo_protobuf(&r, &b), 0);
	const uint8_t *p = (const uint8_t *)b.data;
	size_t h = 0, len = 0;
	for (unsigned shift = 0; h < 10 && h < b.len; shift += 7) {   /* the record's varint length */
		len |= (size_t)(p[h] & 0x7f) << shift;
		if (!(p[h++] & 0x80))
			break;
	}
	CU_ASSERT(h + len <= b.len);
	CU_ASSERT_EQUAL(p[h], (1 << 3) | 2);    /* field 1, length-delimited */
	CU_ASSERT_EQUAL(p[h + 1], strlen("rigwatch_build_info"));
	CU_ASSERT(!memcmp(p + h + 2, "rigwatch_build_info", 19));
	rw_buf_free(&b);
}

/* A process target (root cgroup): its pid, its origin chain as "process", and FP evidence with a traced thread. */
static void test_process_target_json(void)
{
	struct rw_report_target t;
	memset(&t, 0, sizeof t);
	struct rw_sample *s = &t.sample;
	s->cgroup_id = rw_proc_target_id(4211, 98765);
	snprintf(s->cgroup, sizeof s->cgroup, "/");
	s->identity.kind = RW_KIND_PROCESS;
	snprintf(s->identity.runtime, sizeof s->identity.runtime, "process");
	snprintf(s->identity.id, sizeof s->identity.id, "4211");
	snprintf(s->identity.name, sizeof s->identity.name, "redis-server");
	s->ind.n_origin = 2;
	s->ind.origin[0] = (struct rw_proc_origin){ .pid = 4211, .ppid = 4200, .uid = 1000, .comm = "redis-server",
						    .exe = "/usr/bin/redis-server" };
	s->ind.origin[1] = (struct rw_proc_origin){ .pid = 4200, .ppid = 1, .comm = "sh", .exe = "/bin/sh" };
	s->fp.threads_traced = 1;
	s->fp.tracer_pid = 4208;
	s->fp.traced_tid = 4211;
	s->fp.tracer_same_target = 1;
	memcpy(s->fp.traced_comm, "redis-server", 13);
	memcpy(s->fp.tracer_comm, "redis-server", 13);
	struct rw_buf b = RW_BUF_INIT;
	CU_ASSERT_EQUAL(rw_verdict_target_json(&t, &b), 0);
	rw_buf_append(&b, "", 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"cgroup\":\"/\",\"cgroup_id\":"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"pid\":4211,\"process\":[{\"pid\":4211,\"ppid\":4200,\"uid\":1000,"
					       "\"comm\":\"redis-server\",\"exe\":\"/usr/bin/redis-server\"},{\"pid\":4200,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"identity\":{\"runtime\":\"process\",\"id\":\"4211\",\"name\":\"redis-server\",\"label\":\"process:4211/redis-server\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"traced_threads\":1,\"tracer_pid\":4208,\"traced\":\"thread 4211 "
					       "(redis-server) is traced by pid 4208 (redis-server) in the same cgroup; "
					       "cannot read its FP state\""));
	/* a cgroup target has neither */
	s->cgroup_id = 4242;
	s->fp.threads_traced = 0;
	rw_buf_reset(&b);
	CU_ASSERT_EQUAL(rw_verdict_target_json(&t, &b), 0);
	rw_buf_append(&b, "", 1);
	CU_ASSERT_PTR_NULL(strstr(b.data, "\"pid\""));
	CU_ASSERT_PTR_NULL(strstr(b.data, "\"fp\""));
	rw_buf_free(&b);
}

static void test_negotiate(void)
{
	const char *proto = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
	char buf[512];

	CU_ASSERT_EQUAL(rw_expo_negotiate(NULL), RW_EXPO_TEXT);
	CU_ASSERT_EQUAL(rw_expo_negotiate(""), RW_EXPO_TEXT);
	CU_ASSERT_EQUAL(rw_expo_negotiate("*/*"), RW_EXPO_TEXT);
	CU_ASSERT_EQUAL(rw_expo_negotiate(proto), RW_EXPO_PROTOBUF);
	/* Prometheus 2.x with protobuf scraping on */
	snprintf(buf, sizeof buf, "%s;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2", proto);
	CU_ASSERT_EQUAL(rw_expo_negotiate(buf), RW_EXPO_PROTOBUF);
	/* Prometheus 2.x default, and 3.x default: no protobuf offered */
	CU_ASSERT_EQUAL(rw_expo_negotiate("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
					  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
			RW_EXPO_TEXT);
	/* text preferred */
	snprintf(buf, sizeof buf, "text/plain;q=0.9, %s;q=0.5", proto);
	CU_ASSERT_EQUAL(rw_expo_negotiate(buf), RW_EXPO_TEXT);
	/* equal q: the first listed wins */
	snprintf(buf, sizeof buf, "%s, text/plain", proto);
	CU_ASSERT_EQUAL(rw_expo_negotiate(buf), RW_EXPO_PROTOBUF);
	snprintf(buf, sizeof buf, "text/plain, %s", proto);
	CU_ASSERT_EQUAL(rw_expo_negotiate(buf), RW_EXPO_TEXT);
	/* protobuf without delimited encoding, or another message, or q=0: not ours */
	CU_ASSERT_EQUAL(rw_expo_negotiate("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily"),
			RW_EXPO_TEXT);
	CU_ASSERT_EQUAL(rw_expo_negotiate("application/vnd.google.protobuf;proto=x.Y;encoding=delimited"),
			RW_EXPO_TEXT);
	snprintf(buf, sizeof buf, "%s;q=0", proto);
	CU_ASSERT_EQUAL(rw_expo_negotiate(buf), RW_EXPO_TEXT);
	/* spacing and case */
	CU_ASSERT_EQUAL(rw_expo_negotiate(" Application/Vnd.Google.Protobuf ; proto=io.prometheus.client.MetricFamily ;"
					  " Encoding=Delimited ; q=1"), RW_EXPO_PROTOBUF);
	/* garbage does not crash and falls back to text */
	CU_ASSERT_EQUAL(rw_expo_negotiate(";;;,,,=;q=,application/vnd.google.protobuf;"), RW_EXPO_TEXT);
}

static void test_buf_oom_sticky(void)
{
	struct rw_buf b = RW_BUF_INIT;
	rw_buf_puts(&b, "abc");
	CU_ASSERT_EQUAL(rw_buf_reserve(&b, (size_t)-1 / 2 + 8), -ENOMEM);
	rw_buf_puts(&b, "def");   /* ignored after the failure */
	CU_ASSERT_EQUAL(b.err, -ENOMEM);
	CU_ASSERT_EQUAL(b.len, 3);
	rw_buf_reset(&b);
	CU_ASSERT_EQUAL(b.err, 0);
	rw_buf_printf(&b, "%0300d", 7);   /* longer than the printf fast path */
	CU_ASSERT_EQUAL(b.len, 300);
	CU_ASSERT_EQUAL(b.data[299], '7');
	rw_buf_free(&b);
}

static const rw_test tests[] = {
	RW_TEST(test_text_golden),
	RW_TEST(test_json_golden),
	RW_TEST(test_protobuf_roundtrip),
	RW_TEST(test_protobuf_wire),
	RW_TEST(test_process_target_json),
	RW_TEST(test_negotiate),
	RW_TEST(test_buf_oom_sticky),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("exposition", tests);
}
