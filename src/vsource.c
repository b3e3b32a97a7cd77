/* vsource: the running agent's /verdicts, or a local scoring agent's report rendered as the same document. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/agent.h"
#include "rigwatch/exposition.h"
#include "rigwatch/httpget.h"
#include "rigwatch/vsource.h"

/* Long enough for an agent on a loaded host (its HTTP thread answers from a cache), short enough for a person. */
#define AGENT_TIMEOUT_MS 5000

struct rw_vsource {
	struct rw_config cfg;
	bool agent_mode;
	char describe[512];
	struct rw_buf first;       /* the agent's first answer, served by the first fetch */
	bool have_first;
	struct rw_agent *agent;    /* local scoring */
	unsigned warmup;
	bool warmed;
};

/* err: the whole story; why: the short reason for a header line */
static int get_verdicts(const char *addr, struct rw_buf *json, char *err, size_t errlen, char *why, size_t whylen)
{
	int status = 0;
	struct rw_buf body = RW_BUF_INIT;
	int r = rw_httpget(addr, "/verdicts", AGENT_TIMEOUT_MS, &status, &body, err, errlen);
	if (r == 0 && status != 200) {
		snprintf(err, errlen, "%s answered /verdicts with HTTP %d", addr, status);
		snprintf(why, whylen, "HTTP %d from %s", status, addr);
		r = -EPROTO;
	} else if (r < 0) {
		snprintf(why, whylen, "no agent on %s: %s", addr, r == -EPROTO ? "not plain HTTP" : strerror(-r));
	}
	if (r == 0)
		rw_buf_append(json, body.data, body.len), r = json->err;
	rw_buf_free(&body);
	return r;
}

int rw_vsource_open(struct rw_vsource **out, const struct rw_config *cfg, bool force_local, unsigned warmup,
		    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct rw_vsource *s = calloc(1, sizeof *s);
	char why[320] = "", detail[512];
	int r;

	(void)stop;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->cfg = *cfg;
	s->warmup = warmup ? warmup : 1;
	if (!force_local) {
		r = get_verdicts(cfg->listen_address, &s->first, detail, sizeof detail, why, sizeof why);
		if (r == 0) {
			s->agent_mode = s->have_first = true;
			snprintf(s->describe, sizeof s->describe, "agent at %s", cfg->listen_address);
			*out = s;
			return 0;
		}
		rw_buf_free(&s->first);
	} else {
		snprintf(why, sizeof why, "--local");
	}
	if ((r = rw_agent_open(&s->agent, cfg, RW_AGENT_SCORE, err, errlen)) < 0) {
		free(s);
		return r;
	}
	snprintf(s->describe, sizeof s->describe, "scored here (%s); cgroup layout %s", why,
		 rw_agent_cgroup_layout(s->agent));
	*out = s;
	return 0;
}

void rw_vsource_close(struct rw_vsource *s)
{
	if (!s)
		return;
	if (s->agent)
		rw_agent_close(s->agent);
	rw_buf_free(&s->first);
	free(s);
}

int rw_vsource_fetch(struct rw_vsource *s, volatile sig_atomic_t *stop, struct rw_buf *json, char *err, size_t errlen)
{
	int r;
	if (s->agent_mode) {
		if (s->have_first) {
			s->have_first = false;
			rw_buf_append(json, s->first.data, s->first.len);
			rw_buf_free(&s->first);
			return json->err;
		}
		char why[320];
		return get_verdicts(s->cfg.listen_address, json, err, errlen, why, sizeof why);
	}
	if (!s->warmed) {
		r = rw_agent_run(s->agent, stop, s->warmup);
		s->warmed = true;
	} else {
		const struct rw_report *rep;
		r = rw_agent_step(s->agent, &rep);
	}
	if (r < 0) {
		snprintf(err, errlen, "sampling: %s", strerror(-r));
		return r;
	}
	r = rw_verdicts_json(rw_agent_report(s->agent), json, NULL);
	if (r < 0)
		snprintf(err, errlen, "out of memory");
	return r;
}

bool rw_vsource_is_agent(const struct rw_vsource *s) { return s->agent_mode; }

const char *rw_vsource_describe(const struct rw_vsource *s) { return s->describe; }
