/* vsource: where `rigwatch list` and `top` get their verdicts. The agent answering on the configured address
 * (agent.listen_address, --web.listen-address) when there is one, so the commands show what the daemon decided;
 * only without one do they sample and score the host themselves, and they say which. Either way the verdicts
 * come as the /verdicts JSON document, read by one code path (listview). */
#ifndef RIGWATCH_VSOURCE_H
#define RIGWATCH_VSOURCE_H

#include <signal.h>
#include <stdbool.h>

#include "rigwatch/config.h"
#include "rigwatch/buf.h"

struct rw_vsource;

/* Ask the agent on cfg->listen_address for /verdicts (unless force_local); when none answers with one, open a
 * local scoring agent. `warmup` is how many intervals the local agent samples before its first document (rates
 * need two readings; counters open on the second look at a busy target). Returns 0, or a negative errno with err
 * set (the local agent could not start: -ENOENT/-EINVAL are bad input). */
int rw_vsource_open(struct rw_vsource **out, const struct rw_config *cfg, bool force_local, unsigned warmup,
		    volatile sig_atomic_t *stop, char *err, size_t errlen);
void rw_vsource_close(struct rw_vsource *s);

/* The next /verdicts document, appended to *json: the agent's current one, or (local) the report after the warmup
 * intervals the first time and after one more interval each later time. Returns 0 or a negative errno (err set);
 * an agent that stopped answering is an error, not a switch to local scoring. */
int rw_vsource_fetch(struct rw_vsource *s, volatile sig_atomic_t *stop, struct rw_buf *json, char *err, size_t errlen);

/* Whether the verdicts are the running agent's, and a sentence saying where they come from
 * ("agent at 127.0.0.1:10170" / "scored here (no agent on 127.0.0.1:10170: Connection refused)"). */
bool rw_vsource_is_agent(const struct rw_vsource *s);
const char *rw_vsource_describe(const struct rw_vsource *s);

#endif
