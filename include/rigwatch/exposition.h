/* exposition: the agent's report rendered for the outside world. Prometheus text format 0.0.4, the Prometheus
 * protobuf delimited format (io.prometheus.client.MetricFamily, proto/metrics.proto), and the /verdicts JSON.
 * Pure functions from a struct rw_report into caller-owned growable buffers; no I/O, no locks, no globals, so the
 * http module can render once per interval and serve the bodies to every scrape. */
#ifndef RIGWATCH_EXPOSITION_H
#define RIGWATCH_EXPOSITION_H

#include <stddef.h>
#include <stdint.h>

#include "rigwatch/buf.h"
#include "rigwatch/report.h"

#define RW_EXPO_TEXT_TYPE  "text/plain; version=0.0.4; charset=utf-8"
#define RW_EXPO_PROTO_TYPE \
	"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
#define RW_EXPO_JSON_TYPE  "application/json"

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

#endif
