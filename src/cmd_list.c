/* cmd_list: `rigwatch list`, one interval's report (agent.h) as a table for a person at a terminal. */
#include <stdint.h>
#include <stdio.h>

#include "rigwatch/cmd_list.h"
#include "rigwatch/containers.h"
#include "rigwatch/features.h"
#include "rigwatch/identity.h"

static void sources_text(uint32_t sources, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; i < RW_SRC_COUNT; i++)
		if (sources & RW_SRC_BIT(i))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", rw_source_name((enum rw_source)i));
	if (!o)
		snprintf(buf, len, "-");
}

/* "1.23" from microseconds of CPU per interval: cores used. */
static void cores_text(uint64_t usec, uint64_t interval_us, char *buf, size_t len)
{
	uint64_t c100 = usec * 100 / (interval_us ? interval_us : 1);
	snprintf(buf, len, "%llu.%02llu", (unsigned long long)(c100 / 100), (unsigned long long)(c100 % 100));
}

static void rate_text(const struct rw_sample *s, enum rw_counter_role role, char *buf, size_t len)
{
	if (s->counters_present & (1u << role))
		snprintf(buf, len, "%llu", (unsigned long long)(s->counters[role] * 1000000 / (s->interval_us ?: 1)));
	else
		snprintf(buf, len, "-");
}

void rw_list_print_table(const struct rw_report *r, FILE *out)
{
	fprintf(out, "%-10s %-26s %5s %7s %-26s %10s %8s %6s %4s %5s %-8s %-7s %s\n", "CGROUP_ID", "IDENTITY", "CORES",
		"TASKCLK", "SOURCES", "INSTR/S", "CTXSW/S", "FPMODE", "IND", "SCORE", "VERDICT", "ACTION", "CGROUP");
	for (unsigned i = 0; i < r->n_targets; i++) {
		static const char *const actions[] = { "-", "dry-run", "frozen", "killed", "failed" };
		const struct rw_report_target *t = &r->targets[i];
		const struct rw_sample *s = &t->sample;
		char ident[64], src[64], cores[32], tclk[32], instr[32], ctx[32], fp[16] = "-", ind[16] = "-";
		unsigned pct = (unsigned)((int64_t)t->verdict.score_q16 * 100 / 65536);

		rw_identity_label(&s->identity, ident, sizeof ident);
		sources_text(s->sources, src, sizeof src);
		cores_text(s->cpu_usec, s->interval_us, cores, sizeof cores);
		if (s->counters_present & (1u << RW_CTR_TASK_CLOCK))
			cores_text(s->counters[RW_CTR_TASK_CLOCK] / 1000, s->interval_us, tclk, sizeof tclk);
		else
			snprintf(tclk, sizeof tclk, t->counters_denied ? "denied" : "-");
		rate_text(s, RW_CTR_INSTRUCTIONS, instr, sizeof instr);
		rate_text(s, RW_CTR_CONTEXT_SWITCHES, ctx, sizeof ctx);
		/* FPMODE: most non-default rounding modes seen on one thread / register reads; IND: rules matched */
		if (s->fp.probes)
			snprintf(fp, sizeof fp, "%u/%u", s->fp.max_thread_nondefault, s->fp.probes);
		if (s->sources & RW_SRC_BIT(RW_SRC_INDICATORS))
			snprintf(ind, sizeof ind, "%u", s->ind.matches); /* pool connections are among them */
		fprintf(out, "%-10llu %-26.26s %5s %7s %-26s %10s %8s %6s %4s %2u.%02u %-8s %-7s %s\n",
			(unsigned long long)s->cgroup_id, ident, cores, tclk, src, instr, ctx, fp, ind, pct / 100, pct % 100,
			rw_verdict_name(t->verdict.verdict), actions[t->action <= RW_ACTION_FAILED ? t->action : 0],
			s->cgroup);
		if (s->ind.evidence[0])
			fprintf(out, "%-10s   indicator: %s\n", "", s->ind.evidence);
		if (t->container.have) {
			const struct rw_container_meta *c = &t->container;
			fprintf(out, "%-10s   container: %s name=%s image=%s id=%s", "", c->engine, c->name,
				c->image[0] ? c->image : "-", c->short_id);
			for (unsigned l = 0; l < c->n_labels && l < RW_CONTAINER_LABELS; l++)
				fprintf(out, " %s=%s", c->labels[l].key, c->labels[l].value);
			fputc('\n', out);
		}
		if (t->origin.have) {
			char d[400];
			rw_origin_describe(&t->origin, d, sizeof d);
			fprintf(out, "%-10s   origin: %s: %s\n", "", rw_origin_start_name(t->origin.started), d);
		}
	}
}
