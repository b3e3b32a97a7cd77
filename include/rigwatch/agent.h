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

/* The report of the latest interval. */
const struct rw_report *rw_agent_report(const struct rw_agent *a);

/* The counters in use, for the trace header: PMU name and events. */
const struct rw_pmu *rw_agent_pmu(const struct rw_agent *a);

#endif
