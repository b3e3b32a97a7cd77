/* exposition: the agent's report rendered for the outside world. Prometheus text format 0.0.4, the Prometheus
 * protobuf delimited format (io.prometheus.client.MetricFamily, proto/metrics.proto), and the /verdicts JSON.
 * Pure functions from a struct rw_report into caller-owned growable buffers; no I/O, no locks, no globals, so the
 * http module can render once per interval and serve the bodies to every scrape. */
#ifndef RIGWATCH_EXPOSITION_H
#define RIGWATCH_EXPOSITION_H

#include <stddef.h>
#include <stdint.h>

#include "rigwatch/report.h"

#define RW_EXPO_TEXT_TYPE  "text/plain; version=0.0.4; charset=utf-8"
#define RW_EXPO_PROTO_TYPE \
	"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
#define RW_EXPO_JSON_TYPE  "application/json"

/* A growable byte buffer. Allocation failure is sticky: `err` becomes -ENOMEM and later appends do nothing, so a
 * renderer appends freely and checks once at the end. Zero-initialise (RW_BUF_INIT) before first use. */
struct rw_buf {
	char *data;
	size_t len, cap;
	int err;
};
#define RW_BUF_INIT { NULL, 0, 0, 0 }

void rw_buf_free(struct rw_buf *b);
void rw_buf_reset(struct rw_buf *b);                  /* empty it, keep the memory */
int rw_buf_reserve(struct rw_buf *b, size_t extra);   /* room for `extra` more bytes; 0 or -ENOMEM */
void rw_buf_append(struct rw_buf *b, const void *p, size_t n);
void rw_buf_puts(struct rw_buf *b, const char *s);
void rw_buf_printf(struct rw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal with its quotes: `"`, `\` and control characters escaped, invalid UTF-8 bytes replaced
 * by U+FFFD (cgroup names are bytes; JSON, Prometheus label values and protobuf strings must be UTF-8). */
void rw_buf_json_string(struct rw_buf *b, const char *s);
/* RFC 3339 UTC: "2024-05-01T12:00:00Z", with `frac_digits` (0, 3, 6 or 9) fraction digits of the second. */
void rw_buf_rfc3339(struct rw_buf *b, uint64_t time_ns, unsigned frac_digits);

/* Which /metrics format a scrape's Accept header asks for. The protobuf format only when it is acceptable with
 * proto=io.prometheus.client.MetricFamily and encoding=delimited, at a higher q than any text type we serve
 * (ties go to the range listed first). Everything else, a missing header included, gets text 0.0.4. */
enum rw_expo_format { RW_EXPO_TEXT = 0, RW_EXPO_PROTOBUF };
enum rw_expo_format rw_expo_negotiate(const char *accept);

/* Render every metric family of the report, appended to *out. Returns 0 or -ENOMEM. */
int rw_expo_text(const struct rw_report *r, struct rw_buf *out);
int rw_expo_protobuf(const struct rw_report *r, struct rw_buf *out);

/* Where one target's JSON object sits inside a rendered /verdicts body, so /verdicts/<cgroup_id> can be served as
 * a slice of the same buffer. */
struct rw_verdict_slice {
	uint64_t cgroup_id;
	size_t off, len;
};

/* /verdicts: {"host","interval_s","time","targets":[...]} appended to *out, one object per target as described in
 * DESIGN.md plus "action" and "detections". If `slices` is not NULL it receives r->n_targets entries, in report
 * order. Returns 0 or -ENOMEM. */
int rw_verdicts_json(const struct rw_report *r, struct rw_buf *out, struct rw_verdict_slice *slices);
/* One target's object alone. */
int rw_verdict_target_json(const struct rw_report_target *t, struct rw_buf *out);

/* The stable names used in metrics, JSON and alerts come from one place each: rw_source_name (features.h),
 * rw_verdict_name (verdict.h), rw_action_state_name (respond.h). */

/* Decimal text of a signed Q16.16 value, up to 6 fraction digits, trailing zeros trimmed ("0.5", "-1.25", "3"). */
void rw_buf_q16(struct rw_buf *b, int32_t v);

#endif
