/* alerts: one JSON line per verdict change, with Falco's output fields (time, rule, priority, source, hostname,
 * output, output_fields, tags), so Falco pipelines (falcosidekick, SIEM parsers) take them as they are.
 * Written to stdout or appended to a file (cfg->alerts_output); "" turns alerts off. Called from the sampling
 * thread only. */
#ifndef RIGWATCH_ALERTS_H
#define RIGWATCH_ALERTS_H

#include <stddef.h>

#include "rigwatch/config.h"
#include "rigwatch/report.h"
#include "rigwatch/verdict.h"

struct rw_alerts;

/* Open the output named by cfg->alerts_output: "stdout", "" (off: a valid handle that writes nothing) or a file
 * path, opened for appending and created 0640 if missing. Returns 0 or a negative errno with err naming the file. */
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

/* Close the file (not stdout). NULL is a no-op. */
void rw_alerts_close(struct rw_alerts *a);

#endif
