/* agent: the sampling loop. Each interval: walk the cgroup tree, read every target's cgroup files, count the busy
 * ones with hardware counters, gather the probes' evidence, build one sample per target, score it, respond, and
 * publish a report. */
#ifndef RIGWATCH_AGENT_H
#define RIGWATCH_AGENT_H

#include <signal.h>
#include <stdint.h>

#include "rigwatch/config.h"
#include "rigwatch/report.h"

struct rw_agent;

/* What to start besides sampling. */
enum {
	RW_AGENT_HTTP    = 1u << 0,   /* serve /metrics, /verdicts, /healthz */
	RW_AGENT_ALERTS  = 1u << 1,   /* JSON alert lines on verdict changes */
	RW_AGENT_RESPOND = 1u << 2,   /* the configured response (off, dry-run, freeze, kill) */
	RW_AGENT_SCORE   = 1u << 3,   /* load the model and score targets */
};

/* Observer of every sample, e.g. the trace recorder. Return negative to stop the loop with that value. */
typedef int (*rw_sample_fn)(const struct rw_sample *s, void *arg);

/* Detect the cgroup mounts, initialise counters and probes. Returns 0, -ENOENT when there is no cgroup2 mount
 * (exit 2), or another negative errno; err says why. */
int rw_agent_open(struct rw_agent **out, const struct rw_config *cfg, unsigned flags, char *err, size_t errlen);
void rw_agent_close(struct rw_agent *a);

/* Call fn for each sample from now on. */
void rw_agent_on_sample(struct rw_agent *a, rw_sample_fn fn, void *arg);
/* Only sample targets whose relative path equals `cgroup` (record --cgroup). */
void rw_agent_only_cgroup(struct rw_agent *a, const char *cgroup);

/* One interval's work. The report stays valid until the next call. */
int rw_agent_step(struct rw_agent *a, const struct rw_report **report);

/* Run intervals until *stop is set or `max_intervals` (0 = no limit) have run. Returns 0 or negative errno. */
int rw_agent_run(struct rw_agent *a, volatile sig_atomic_t *stop, uint64_t max_intervals);

/* Reload (SIGHUP): the files a running agent reads are parsed into new objects first (indicator rules, model,
 * names cache); only when all of them load is anything swapped in, between intervals, so a bad file keeps the old
 * ones running. Applied at once: [agent] include, exclude, interval_ms, log_level, kube_containers_dir, [verdict],
 * [model], [procscan], [allow]. Every other setting keeps its old value until a restart, and is named in a warning.
 * Returns 0, or a negative errno with err saying why (file:line); the report's config_reload_* fields record it. */
int rw_agent_reload(struct rw_agent *a, const struct rw_config *cfg, char *err, size_t errlen);

/* A reload that failed before rw_agent_reload could be called (the configuration file itself is bad): recorded
 * in the report as a failure. */
void rw_agent_reload_failed(struct rw_agent *a);

/* Between intervals, when *flag is set: clear it and call fn (which typically reads the configuration again and
 * calls rw_agent_reload). The sleep between intervals is cut short for it. */
typedef void (*rw_reload_fn)(struct rw_agent *a, void *arg);
void rw_agent_on_reload(struct rw_agent *a, volatile sig_atomic_t *flag, rw_reload_fn fn, void *arg);

/* Everything a reload (or a start) would load besides the configuration itself: indicator rules when procscan is
 * enabled, and the model. Returns 0 or -EINVAL/-errno with err naming file:line. */
int rw_agent_check_files(const struct rw_config *cfg, char *err, size_t errlen);

/* The report of the latest interval. */
const struct rw_report *rw_agent_report(const struct rw_agent *a);

/* The counters in use, for the trace header: PMU name and events. */
/* The cgroup layout found, in words: "v2: ...", "hybrid: ..." or "v1: walking the freezer hierarchy at ...". */
const char *rw_agent_cgroup_layout(const struct rw_agent *a);
const struct rw_pmu *rw_agent_pmu(const struct rw_agent *a);

#endif
