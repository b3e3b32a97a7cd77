/* cmd_record: `rigwatch record`. Runs the sampling loop (agent.c) without scoring or HTTP and hands every sample
 * to the trace writer (trace.c), flushed each interval. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/agent.h"
#include "rigwatch/cmd_record.h"
#include "rigwatch/pmu.h"
#include "rigwatch/trace.h"

struct record_ctx {
	struct rw_trace_writer w;
	int error;
};

static int record_sample(const struct rw_sample *s, void *arg)
{
	struct record_ctx *c = arg;
	int rc = rw_trace_write(&c->w, s);
	if (rc == 0)
		rc = rw_trace_flush(&c->w);
	if (rc < 0)
		c->error = rc;
	return rc;
}

int rw_record(const struct rw_config *cfg, const char *output, const char *cgroup, uint32_t duration_s,
	      const char *label, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct rw_agent *a = NULL;
	struct rw_trace_header *h = malloc(sizeof(*h));
	struct record_ctx *c = calloc(1, sizeof(*c));
	volatile sig_atomic_t never = 0;
	int rc = -ENOMEM;

	if (!h || !c) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = rw_agent_open(&a, cfg, 0, err, errlen)) < 0)
		goto out;
	rw_trace_header_init(h, cfg->interval_ms, label);
	const struct rw_pmu *pmu = rw_agent_pmu(a);
	if (pmu) {
		struct rw_pmu_event_info ev[RW_CTR_COUNT];
		unsigned n = rw_pmu_events(pmu, ev, RW_CTR_COUNT);
		snprintf(h->pmu, sizeof(h->pmu), "%s", rw_pmu_core_name(pmu));
		for (unsigned i = 0; i < n && i < RW_CTR_COUNT; i++) {
			if (ev[i].status != RW_EV_OK)
				continue;
			h->events[h->n_events].role = ev[i].role;
			snprintf(h->events[h->n_events].name, sizeof(h->events[0].name), "%s", ev[i].name);
			h->n_events++;
		}
	}
	if (cgroup) {
		snprintf(h->cgroup, sizeof(h->cgroup), "%s", cgroup);
		rw_agent_only_cgroup(a, cgroup);
	}
	if ((rc = rw_trace_writer_open(&c->w, output, h, err, errlen)) < 0)
		goto out;
	rw_agent_on_sample(a, record_sample, c);
	uint64_t intervals = duration_s ? ((uint64_t)duration_s * 1000 + cfg->interval_ms - 1) / cfg->interval_ms : 0;
	/* one more interval than asked: the first one only primes the deltas */
	rc = rw_agent_run(a, stop ? stop : &never, intervals ? intervals + 1 : 0);
	if (c->error)
		rc = c->error;
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", output, strerror(-rc));
	int rc2 = rw_trace_writer_close(&c->w);
	if (rc == 0 && rc2 < 0) {
		rc = rc2;
		snprintf(err, errlen, "%s: %s", output, strerror(-rc));
	}
out:
	if (a)
		rw_agent_close(a);
	free(h);
	free(c);
	return rc;
}
