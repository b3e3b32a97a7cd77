/* alerts: Falco-compatible JSON lines on verdict changes.
 *
 * Field shapes follow falcosecurity/falco userspace/engine/formats.cpp: "time" RFC 3339 UTC with nanoseconds,
 * "priority" one of Falco's names, "output" starting with "<time>: <Priority> ", "output_fields" with dotted keys
 * (Falco's own names where one exists: container.id, container.type, k8s.pod.uid, proc.pid, proc.name,
 * proc.exepath, user.uid; rigwatch.* for the rest), "tags" an array. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/alerts.h"
#include "rigwatch/respond.h"
#include "rigwatch/features.h"
#include "rigwatch/exposition.h"
#include "rigwatch/log.h"

struct rw_alerts {
	FILE *fp;            /* NULL: alerts off */
	bool own;            /* fp is a file we opened */
	bool failing;        /* last write failed: log the next failure only after a success */
	char path[RW_CONFIG_PATH_LEN];
	struct rw_buf line;
};

int rw_alerts_open(struct rw_alerts **out, const struct rw_config *cfg, char *err, size_t errlen)
{
	struct rw_alerts *a = calloc(1, sizeof *a);

	*out = NULL;
	if (!a) {
		snprintf(err, errlen, "alerts: out of memory");
		return -ENOMEM;
	}
	snprintf(a->path, sizeof a->path, "%s", cfg->alerts_output);
	if (!strcmp(cfg->alerts_output, "stdout")) {
		a->fp = stdout;
	} else if (cfg->alerts_output[0]) {
		int fd = open(cfg->alerts_output, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0 || !(a->fp = fdopen(fd, "a"))) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			snprintf(err, errlen, "alerts.output %s: %s", cfg->alerts_output, strerror(e));
			free(a);
			return -e;
		}
		a->own = true;
	}
	*out = a;
	return 0;
}

void rw_alerts_close(struct rw_alerts *a)
{
	if (!a)
		return;
	if (a->own && a->fp)
		fclose(a->fp);
	else if (a->fp)
		fflush(a->fp);
	rw_buf_free(&a->line);
	free(a);
}

/* A fixed char array from another module, as a terminated string. */
#define TERM(dst, src)                                  \
	do {                                            \
		memcpy(dst, src, sizeof(src));          \
		dst[sizeof(src)] = '\0';                \
	} while (0)

static void field_str(struct rw_buf *b, const char *key, const char *val)
{
	rw_buf_puts(b, ",\"");
	rw_buf_puts(b, key);
	rw_buf_puts(b, "\":");
	rw_buf_json_string(b, val);
}

static void field_u64(struct rw_buf *b, const char *key, uint64_t v)
{
	rw_buf_printf(b, ",\"%s\":%llu", key, (unsigned long long)v);
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]) || !s[i])
			return false;
	return true;
}

/* Falco's container/k8s/proc fields and ours for the workload's identity. */
static void identity_fields(struct rw_buf *b, const struct rw_sample *s)
{
	const struct rw_identity *id = &s->identity;
	if (id->id[0]) {
		/* Falco's container.id is the 12-character short form of a 64-hex id */
		char shortid[13];
		bool longhex = strlen(id->id) == 64 && all_hex(id->id, 64);
		snprintf(shortid, sizeof shortid, "%.12s", id->id);
		field_str(b, "container.id", longhex ? shortid : id->id);
		field_str(b, "container.full_id", id->id);
	}
	if (id->runtime[0])
		field_str(b, "container.type", id->runtime);
	if (id->name[0])
		field_str(b, "rigwatch.name", id->name);
	if (id->pod_uid[0])
		field_str(b, "k8s.pod.uid", id->pod_uid);
	if (id->k8s_ns[0])
		field_str(b, "k8s.ns.name", id->k8s_ns);
	if (id->k8s_pod[0])
		field_str(b, "k8s.pod.name", id->k8s_pod);
	if (id->k8s_container[0])
		field_str(b, "container.name", id->k8s_container);   /* Falco's container.name is the k8s name */
	if (id->slurm_job[0])
		field_str(b, "rigwatch.slurm_job", id->slurm_job);
	if (id->slurm_step[0])
		field_str(b, "rigwatch.slurm_step", id->slurm_step);
	if (id->slurm_user[0])
		field_str(b, "rigwatch.slurm_user", id->slurm_user);
	if (id->unit[0])
		field_str(b, "rigwatch.unit", id->unit);
	if (s->ind.n_origin) {
		const struct rw_proc_origin *o = &s->ind.origin[0];
		char comm[sizeof o->comm + 1], exe[sizeof o->exe + 1];
		TERM(comm, o->comm);
		TERM(exe, o->exe);
		field_u64(b, "proc.pid", (uint64_t)(o->pid > 0 ? o->pid : 0));
		field_str(b, "proc.name", comm);
		field_str(b, "proc.exepath", exe);
		field_u64(b, "user.uid", o->uid);
	}
}

/* "docker:0123456789ab", "slurm:1234/step_0", "systemd:x.service", else the cgroup path */
static void workload_label(const struct rw_sample *s, char *label, size_t len)
{
	const struct rw_identity *id = &s->identity;
	if (id->runtime[0] && id->id[0])
		snprintf(label, len, "%s:%.12s", id->runtime, id->id);
	else if (id->slurm_job[0])
		snprintf(label, len, "slurm:%s", id->name);
	else if (id->unit[0])
		snprintf(label, len, "systemd:%s", id->unit);
	else
		snprintf(label, len, "%s", s->cgroup);
}

int rw_alerts_format(const char *host, const struct rw_report_target *t, enum rw_verdict old, struct rw_buf *b)
{
	const struct rw_sample *s = &t->sample;
	const struct rw_verdict_state *v = &t->verdict;
	const struct rw_identity *id = &s->identity;
	const char *rule, *priority;
	char label[RW_CGROUP_PATH_MAX + 64], evidence[sizeof v->reasons[0].detail + sizeof s->ind.evidence + 1];
	char sources[64] = "", tm[40], score[32];

	switch (v->verdict) {
	case RW_VERDICT_MINING:
		rule = "Cryptocurrency miner detected";
		priority = "Critical";
		break;
	case RW_VERDICT_SUSPECT:
		rule = "Suspected cryptocurrency miner";
		priority = "Warning";
		break;
	default:
		rule = "Cryptocurrency miner verdict cleared";
		priority = "Notice";
		break;
	}

	uint64_t when = v->since_ns ? v->since_ns : s->time_ns;
	if (!when) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		when = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	struct rw_buf tb = RW_BUF_INIT;
	rw_buf_rfc3339(&tb, when, 9);
	snprintf(tm, sizeof tm, "%.*s", (int)tb.len, tb.data ? tb.data : "");
	rw_buf_free(&tb);

	workload_label(s, label, sizeof label);

	for (unsigned i = 0; i < RW_SRC_COUNT; i++)
		if (v->sources_used & RW_SRC_BIT(i)) {
			size_t n = strlen(sources);
			snprintf(sources + n, sizeof sources - n, "%s%s", n ? "," : "",
				 rw_source_name((enum rw_source)i));
		}
	evidence[0] = '\0';
	if (v->n_reasons)
		TERM(evidence, v->reasons[0].detail);
	else if (s->ind.evidence[0])
		snprintf(evidence, sizeof evidence, "%.*s", (int)sizeof s->ind.evidence, s->ind.evidence);

	struct rw_buf sb = RW_BUF_INIT;
	rw_buf_q16(&sb, v->score_q16 < 0 ? 0 : v->score_q16 > 65536 ? 65536 : v->score_q16);
	snprintf(score, sizeof score, "%.*s", (int)sb.len, sb.data ? sb.data : "0");
	rw_buf_free(&sb);

	/* "output": Falco's "<time>: <Priority> <message>" */
	struct rw_buf ob = RW_BUF_INIT;
	rw_buf_printf(&ob, "%.*s: %s %s in %s (cgroup=%s verdict=%s previous=%s score=%s sources=%s",
		      18, tm + 11, priority, rule, label, s->cgroup, rw_verdict_name(v->verdict),
		      rw_verdict_name(old), score, sources[0] ? sources : "none");
	if (evidence[0])
		rw_buf_printf(&ob, " evidence=\"%s\"", evidence);
	if (t->action != RW_ACTION_NONE)
		rw_buf_printf(&ob, " action=%s", rw_action_state_name(t->action));
	rw_buf_puts(&ob, ")");
	rw_buf_append(&ob, "", 1);

	rw_buf_puts(b, "{\"time\":");
	rw_buf_json_string(b, tm);
	field_str(b, "rule", rule);
	field_str(b, "priority", priority);
	field_str(b, "source", "rigwatch");
	field_str(b, "hostname", host);
	field_str(b, "output", ob.err ? "" : ob.data);
	rw_buf_free(&ob);

	rw_buf_puts(b, ",\"output_fields\":{");
	rw_buf_puts(b, "\"rigwatch.cgroup\":");
	rw_buf_json_string(b, s->cgroup);
	field_u64(b, "rigwatch.cgroup_id", s->cgroup_id);
	field_str(b, "rigwatch.verdict", rw_verdict_name(v->verdict));
	field_str(b, "rigwatch.previous_verdict", rw_verdict_name(old));
	rw_buf_puts(b, ",\"rigwatch.score\":");
	rw_buf_puts(b, score);
	field_str(b, "rigwatch.sources", sources);
	field_str(b, "rigwatch.evidence", evidence);
	field_str(b, "rigwatch.action", rw_action_state_name(t->action));
	field_u64(b, "rigwatch.detections", v->detections);
	identity_fields(b, s);
	rw_buf_puts(b, "},\"tags\":[\"rigwatch\",\"cryptomining\",\"mitre_impact\",\"T1496\"");
	if (id->kind == RW_KIND_CONTAINER)
		rw_buf_puts(b, ",\"container\"");
	if (id->slurm_job[0])
		rw_buf_puts(b, ",\"slurm\"");
	rw_buf_puts(b, "]}\n");
	return b->err;
}

int rw_alerts_verdict_change(struct rw_alerts *a, const char *host, const struct rw_report_target *t,
			     enum rw_verdict old)
{
	if (!a || !a->fp)
		return 0;
	rw_buf_reset(&a->line);
	int rc = rw_alerts_format(host, t, old, &a->line);
	if (rc)
		return rc;
	if (fwrite(a->line.data, 1, a->line.len, a->fp) != a->line.len || fflush(a->fp) != 0) {
		rc = errno ? -errno : -EIO;
		clearerr(a->fp);
		if (!a->failing)
			rw_log_error("alerts", "write %s: %s", a->path, strerror(-rc));
		a->failing = true;
		return rc;
	}
	a->failing = false;
	return 0;
}

/* Rule and priority of a response decision: a kill is Critical, a freeze Error, a dry-run or a held-back action
 * Warning, a failure Error. */
static void action_rule(const struct rw_respond_event *ev, const char **rule, const char **priority)
{
	switch (ev->result) {
	case RW_RR_OK:
	case RW_RR_VANISHED:
		if (ev->action == RW_RA_KILL) {
			*rule = "Cryptocurrency miner killed";
			*priority = "Critical";
		} else if (ev->action == RW_RA_FREEZE) {
			*rule = "Cryptocurrency miner frozen";
			*priority = "Error";
		} else {
			*rule = "Cryptocurrency miner would be stopped (dry-run)";
			*priority = "Warning";
		}
		return;
	case RW_RR_FROZEN_NOT_KILLED:
		*rule = "Cryptocurrency miner frozen, not killed (shared cgroup)";
		*priority = "Error";
		return;
	case RW_RR_FAILED:
		*rule = "Cryptocurrency miner response failed";
		*priority = "Error";
		return;
	default:
		*rule = "Cryptocurrency miner response held back";
		*priority = "Warning";
		return;
	}
}

int rw_alerts_action_format(const char *host, const struct rw_respond_event *ev, struct rw_buf *b)
{
	const struct rw_report_target *t = ev->target;
	const struct rw_sample *s = &t->sample;
	const struct rw_verdict_state *v = &t->verdict;
	const char *rule, *priority;
	char label[RW_CGROUP_PATH_MAX + 64], tm[40], score[32];

	action_rule(ev, &rule, &priority);
	workload_label(s, label, sizeof label);
	struct rw_buf tb = RW_BUF_INIT;
	rw_buf_rfc3339(&tb, ev->time_ns, 9);
	snprintf(tm, sizeof tm, "%.*s", (int)tb.len, tb.data ? tb.data : "");
	rw_buf_free(&tb);
	struct rw_buf sb = RW_BUF_INIT;
	rw_buf_q16(&sb, v->score_q16 < 0 ? 0 : v->score_q16 > 65536 ? 65536 : v->score_q16);
	snprintf(score, sizeof score, "%.*s", (int)sb.len, sb.data ? sb.data : "0");
	rw_buf_free(&sb);

	struct rw_buf ob = RW_BUF_INIT;
	rw_buf_printf(&ob, "%.*s: %s %s in %s (cgroup=%s action=%s result=%s verdict=%s score=%s detail=\"%s\" "
			   "evidence=\"%s\")",
		      18, tm[0] ? tm + 11 : "", priority, rule, label, s->cgroup, rw_respond_action_name(ev->action),
		      rw_respond_result_name(ev->result), rw_verdict_name(v->verdict), score, ev->detail, ev->checks);
	rw_buf_append(&ob, "", 1);

	rw_buf_puts(b, "{\"time\":");
	rw_buf_json_string(b, tm);
	field_str(b, "rule", rule);
	field_str(b, "priority", priority);
	field_str(b, "source", "rigwatch");
	field_str(b, "hostname", host);
	field_str(b, "output", ob.err ? "" : ob.data);
	rw_buf_free(&ob);
	rw_buf_puts(b, ",\"output_fields\":{");
	rw_buf_puts(b, "\"rigwatch.cgroup\":");
	rw_buf_json_string(b, s->cgroup);
	field_u64(b, "rigwatch.cgroup_id", s->cgroup_id);
	field_str(b, "rigwatch.response.action", rw_respond_action_name(ev->action));
	field_str(b, "rigwatch.response.result", rw_respond_result_name(ev->result));
	field_str(b, "rigwatch.response.detail", ev->detail);
	field_str(b, "rigwatch.response.evidence", ev->checks);
	field_str(b, "rigwatch.verdict", rw_verdict_name(v->verdict));
	rw_buf_puts(b, ",\"rigwatch.score\":");
	rw_buf_puts(b, score);
	identity_fields(b, s);
	rw_buf_puts(b, "},\"tags\":[\"rigwatch\",\"cryptomining\",\"mitre_impact\",\"T1496\",\"response\"");
	if (s->identity.kind == RW_KIND_CONTAINER)
		rw_buf_puts(b, ",\"container\"");
	if (s->identity.slurm_job[0])
		rw_buf_puts(b, ",\"slurm\"");
	rw_buf_puts(b, "]}\n");
	return b->err;
}

static int write_line(struct rw_alerts *a)
{
	if (fwrite(a->line.data, 1, a->line.len, a->fp) != a->line.len || fflush(a->fp) != 0) {
		int rc = errno ? -errno : -EIO;
		clearerr(a->fp);
		if (!a->failing)
			rw_log_error("alerts", "write %s: %s", a->path, strerror(-rc));
		a->failing = true;
		return rc;
	}
	a->failing = false;
	return 0;
}

int rw_alerts_action(struct rw_alerts *a, const char *host, const struct rw_respond_event *ev)
{
	if (!a || !a->fp)
		return 0;
	rw_buf_reset(&a->line);
	int rc = rw_alerts_action_format(host, ev, &a->line);
	return rc ? rc : write_line(a);
}
