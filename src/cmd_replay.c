/* cmd_replay: `rigwatch replay`. Reads a trace (trace.c), scores every sample with a fresh scorer (score.c) and
 * prints each verdict change as one JSON line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/buf.h"
#include "rigwatch/cmd_replay.h"
#include "rigwatch/score.h"
#include "rigwatch/trace.h"

/* One verdict change as a JSON line: {"time","cgroup","cgroup_id","verdict","previous","score","sources","reasons",
 * "first_seen","since"}, fields named as in a /verdicts target (which has more: identity, action, ...), plus the
 * sample's time and the previous verdict. */
static void verdict_json(struct rw_buf *b, const struct rw_sample *s, const struct rw_verdict_state *v,
			 enum rw_verdict prev)
{
	rw_buf_puts(b, "{\"time\":\"");
	rw_buf_rfc3339(b, s->time_ns, 3);
	rw_buf_puts(b, "\",\"cgroup\":");
	rw_buf_json_string(b, s->cgroup);
	rw_buf_printf(b, ",\"cgroup_id\":%llu,\"verdict\":\"%s\",\"previous\":\"%s\",\"score\":",
		      (unsigned long long)s->cgroup_id, rw_verdict_name(v->verdict), rw_verdict_name(prev));
	char q[32];
	rw_format_q16(v->score_q16, q, sizeof q);
	rw_buf_puts(b, q);
	rw_buf_puts(b, ",\"sources\":[");
	int first = 1;
	for (unsigned i = 0; i < RW_SRC_COUNT; i++) {
		if (v->sources_used & RW_SRC_BIT(i)) {
			rw_buf_printf(b, "%s\"%s\"", first ? "" : ",", rw_source_name(i));
			first = 0;
		}
	}
	rw_buf_puts(b, "],\"reasons\":[");
	for (unsigned i = 0; i < v->n_reasons && i < RW_REASONS_MAX; i++) {
		const struct rw_reason *r = &v->reasons[i];
		rw_buf_printf(b, "%s{\"source\":\"%s\",\"feature\":", i ? "," : "", rw_source_name(r->source));
		rw_buf_json_string(b, r->feature);
		rw_format_q16(r->value_q16, q, sizeof q);
		rw_buf_printf(b, ",\"value\":%s,\"detail\":", q);
		rw_buf_json_string(b, r->detail);
		rw_buf_putc(b, '}');
	}
	rw_buf_puts(b, "],\"first_seen\":\"");
	rw_buf_rfc3339(b, v->first_seen_ns, 3);
	rw_buf_puts(b, "\",\"since\":\"");
	rw_buf_rfc3339(b, v->since_ns, 3);
	rw_buf_puts(b, "\"}\n");
}

int rw_replay_file(const char *path, const struct rw_config *cfg, const struct rw_model *m, FILE *out, char *err,
		   size_t errlen)
{
	struct rw_trace_reader r;
	struct rw_trace_header *h = malloc(sizeof(*h));
	struct rw_sample *s = malloc(sizeof(*s));
	struct rw_scorer sc;
	struct rw_verdict_state *v = malloc(sizeof(*v));
	struct rw_buf line = RW_BUF_INIT;
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
		const struct rw_score_target *t = rw_scorer_find(&sc, s->cgroup_id);
		enum rw_verdict prev = t ? t->tracker.st.verdict : RW_VERDICT_CLEAN;
		bool changed = false;
		int sr = rw_scorer_score(&sc, s, v, &changed);
		if (sr < 0) {
			rc = sr;
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
		/* A new target starting clean is not news; print it only if it starts otherwise. */
		if (changed && (t || v->verdict != RW_VERDICT_CLEAN)) {
			rw_buf_reset(&line);
			verdict_json(&line, s, v, prev);
			if (line.err) {
				rc = line.err;
				snprintf(err, errlen, "%s: out of memory", path);
				break;
			}
			fwrite(line.data, 1, line.len, out);
		}
	}
	fflush(out);
out:
	rw_trace_reader_close(&r);
	rw_scorer_free(&sc);
out_free:
	rw_buf_free(&line);
	free(h);
	free(s);
	free(v);
	return rc;
}
