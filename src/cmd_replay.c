/* cmd_replay: `rigwatch replay`. Reads a trace (trace.c), scores every sample with a fresh scorer (score.c) and
 * prints each verdict change as one JSON line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rigwatch/cmd_replay.h"
#include "rigwatch/score.h"
#include "rigwatch/trace.h"

/* RFC 3339 UTC with milliseconds: "2026-05-01T12:00:00.123Z". */
static void format_time_ns(uint64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char b[32];
	gmtime_r(&sec, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", b, (unsigned)(ns / 1000000u % 1000u));
}

static void json_str(FILE *out, const char *s)
{
	putc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			putc(*p, out);
	}
	putc('"', out);
}

static void json_q16(FILE *out, int32_t v)
{
	char b[32];
	rw_format_q16(v, b, sizeof(b));
	fputs(b, out);
}

/* One verdict state as a JSON object (no newline), the shape of a /verdicts target minus identity:
 * {"time","cgroup","cgroup_id","verdict","previous","score","sources","reasons","first_seen","since"}. */
static void verdict_json(FILE *out, const struct rw_sample *s, const struct rw_verdict_state *v, enum rw_verdict prev)
{
	char t[40], fs[40], since[40];
	format_time_ns(s->time_ns, t, sizeof(t));
	format_time_ns(v->first_seen_ns, fs, sizeof(fs));
	format_time_ns(v->since_ns, since, sizeof(since));
	fprintf(out, "{\"time\":\"%s\",\"cgroup\":", t);
	json_str(out, s->cgroup);
	fprintf(out, ",\"cgroup_id\":%llu,\"verdict\":\"%s\",\"previous\":\"%s\",\"score\":",
		(unsigned long long)s->cgroup_id, rw_verdict_name(v->verdict), rw_verdict_name(prev));
	json_q16(out, v->score_q16);
	fputs(",\"sources\":[", out);
	int first = 1;
	for (unsigned i = 0; i < RW_SRC_COUNT; i++) {
		if (v->sources_used & RW_SRC_BIT(i)) {
			fprintf(out, "%s\"%s\"", first ? "" : ",", rw_source_name(i));
			first = 0;
		}
	}
	fputs("],\"reasons\":[", out);
	for (unsigned i = 0; i < v->n_reasons && i < RW_REASONS_MAX; i++) {
		const struct rw_reason *r = &v->reasons[i];
		fprintf(out, "%s{\"source\":\"%s\",\"feature\":", i ? "," : "", rw_source_name(r->source));
		json_str(out, r->feature);
		fputs(",\"value\":", out);
		json_q16(out, r->value_q16);
		fputs(",\"detail\":", out);
		json_str(out, r->detail);
		putc('}', out);
	}
	fprintf(out, "],\"first_seen\":\"%s\",\"since\":\"%s\"}", fs, since);
}

int rw_replay_file(const char *path, const struct rw_config *cfg, const struct rw_model *m, FILE *out, char *err,
		   size_t errlen)
{
	struct rw_trace_reader r;
	struct rw_trace_header *h = malloc(sizeof(*h));
	struct rw_sample *s = malloc(sizeof(*s));
	struct rw_scorer sc;
	struct rw_verdict_state *v = malloc(sizeof(*v));
	int rc = -ENOMEM;

	memset(&sc, 0, sizeof(sc));
	if (!h || !s || !v) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_free;
	}
	if ((rc = rw_trace_reader_open(&r, path, h, err, errlen)) < 0)
		goto out_free;
	if ((rc = rw_scorer_init(&sc, cfg, m)) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		rc = rw_trace_next(&r, s, err, errlen);
		if (rc <= 0)
			break;
		const struct rw_score_target *t = rw_scorer_find(&sc, s->cgroup_id ? s->cgroup_id : 1);
		enum rw_verdict prev = t ? t->tracker.st.verdict : RW_VERDICT_CLEAN;
		int changed = rw_scorer_score(&sc, s, v);
		if (changed < 0) {
			rc = changed;
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
		/* A new target starting clean is not news; print it only if it starts otherwise. */
		if (changed && (t || v->verdict != RW_VERDICT_CLEAN)) {
			verdict_json(out, s, v, prev);
			putc('\n', out);
		}
	}
	fflush(out);
out:
	rw_trace_reader_close(&r);
	rw_scorer_free(&sc);
out_free:
	free(h);
	free(s);
	free(v);
	return rc;
}
