/* alerts: one JSON line per verdict change and per response decision, with Falco's output fields (time, rule,
 * priority, source, hostname, output, output_fields, tags), so Falco pipelines (falcosidekick, SIEM parsers) take
 * them as they are. Sinks, any together: stdout or a file appended to (cfg->alerts_output, "" for none); a syslog
 * datagram socket ([alerts] syslog, syslog_socket); JSON POSTs to an HTTP URL, Falcosidekick's input
 * ([alerts] http_url), sent by a thread of its own from a bounded queue with bounded retries, so a slow or dead
 * receiver never holds up sampling. Called from the sampling thread only. */
#ifndef RIGWATCH_ALERTS_H
#define RIGWATCH_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "rigwatch/config.h"
#include "rigwatch/report.h"
#include "rigwatch/verdict.h"

struct rw_alerts;

/* Open the output named by cfg->alerts_output: "stdout", "" (off: a valid handle that writes nothing) or a file
 * path, opened for appending and created 0640 if missing; the syslog socket and the HTTP sender when configured
 * (a URL other than http://host[:port][/path] is -EINVAL). Returns 0 or a negative errno with err naming the key
 * or file. */
int rw_alerts_open(struct rw_alerts **out, const struct rw_config *cfg, char *err, size_t errlen);

/* Write the alert for a target whose verdict went from `old` to t->verdict.verdict. `host` is the report's host
 * name. Returns 0 or a negative errno (write failures are also logged, once per failure streak). */
int rw_alerts_verdict_change(struct rw_alerts *a, const char *host, const struct rw_report_target *t,
			     enum rw_verdict old);

/* Render the alert line (with its trailing newline) into *out without writing it; for tests and `replay`. */
struct rw_buf;
int rw_alerts_format(const char *host, const struct rw_report_target *t, enum rw_verdict old, struct rw_buf *out);

/* Write the alert for a response decision (freeze, kill, dry-run; done, refused, failed...), at the moment it is
 * taken: rule "Cryptocurrency miner killed" (Critical), "... frozen" (Error), "... would be stopped (dry-run)"
 * (Warning), "... response held back" (Warning: refused, rate limited, no behavioural evidence, re-check failed),
 * with the decision, the evidence it rested on and the workload's identity in output_fields. */
struct rw_respond_event;
int rw_alerts_action(struct rw_alerts *a, const char *host, const struct rw_respond_event *ev);
int rw_alerts_action_format(const char *host, const struct rw_respond_event *ev, struct rw_buf *out);

/* What each sink did since open: the output (stdout or file), syslog, the HTTP sender. sent: delivered (HTTP: a
 * 2xx answer); dropped: never tried (HTTP queue full, syslog socket full, left in the queue at close); failed:
 * tried and given up (HTTP after its retries, a write or send error). For rigwatch_alerts_*_total{sink}. */
enum rw_alert_sink { RW_ALERT_SINK_OUTPUT = 0, RW_ALERT_SINK_SYSLOG, RW_ALERT_SINK_HTTP, RW_ALERT_SINKS };
_Static_assert(RW_ALERT_SINKS == RW_REPORT_ALERT_SINKS, "report.h sizes the alert counters");
/* "output", "syslog", "http": the sink label */
const char *rw_alert_sink_name(enum rw_alert_sink s);
struct rw_alerts_stats {
	uint64_t sent[RW_ALERT_SINKS], dropped[RW_ALERT_SINKS], failed[RW_ALERT_SINKS];
};
/* Safe to call while the sender runs. NULL gives zeros. */
void rw_alerts_get_stats(struct rw_alerts *a, struct rw_alerts_stats *out);

/* Stop the HTTP sender (it gets up to 2 s more for what is queued, no more retries), close the file (not
 * stdout). NULL is a no-op. */
void rw_alerts_close(struct rw_alerts *a);

#endif
