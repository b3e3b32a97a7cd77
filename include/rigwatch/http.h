/* http: the agent's HTTP endpoint, served by libmicrohttpd (epoll) from one serving thread of its own.
 *
 *   GET|HEAD /                   a small HTML page linking to the others
 *   GET|HEAD /metrics            Prometheus text 0.0.4, or protobuf delimited when the Accept header asks for it
 *   GET|HEAD /verdicts           JSON of every target
 *   GET|HEAD /verdicts/<id>      JSON of one target by cgroup id (inode number), 404 if unknown
 *   GET|HEAD /healthz            "ok" while the sampling loop published within the last 3 intervals, else 503;
 *                                never needs credentials
 *   other paths 404; other methods on these paths 405 with an Allow header. /metrics and /verdicts answer 503
 *   until the first report is published.
 *
 * The sampling thread calls rw_http_publish() once per interval: it renders the text, protobuf and JSON bodies
 * there (so a scrape costs the same whatever the number of targets) and swaps them in under a mutex held only for
 * a pointer swap. Bodies are refcounted snapshots that responses reference without copying, so a slow client
 * keeps an old snapshot alive rather than blocking anybody.
 *
 * Limits, from the [http] config section (defaults in config.c): max_connections (64) for all clients,
 * per_ip_connections (16) per client address (0 = no limit), timeout_s (10) for an idle or slow connection,
 * memory_limit (65536 bytes) per connection, which bounds request headers: a larger header gets 431 or a closed
 * connection. The listen backlog is the kernel's SOMAXCONN.
 *
 * Hostile clients cannot starve it: a connection must deliver its request headers within
 * min(timeout_s, RW_HTTP_HEADER_DEADLINE_S) of opening (or of its previous response) and take its response within
 * RW_HTTP_RESPONSE_DEADLINE_S, however it trickles bytes; and the pool never refuses a connection. One that
 * would exceed max_connections, or its address's per_ip_connections, displaces the oldest connection still waiting
 * for its request (one that never sent a request first, then idle keep-alive ones; one mid-response only when no
 * other is left), of the same address when it is that address's share that is full. So /healthz and a scrape
 * get in during any flood: they send their request at once, the flood's connections do not.
 *
 * With cfg->http_web_config_file set (see webconfig.h): HTTPS only when it has tls_server_config, and HTTP basic
 * auth on every path but /healthz when it has basic_auth_users (401 with WWW-Authenticate otherwise; bcrypt checks
 * limited to a few a second, 429 with Retry-After beyond). A bad file makes rw_http_start return -EINVAL. */
#ifndef RIGWATCH_HTTP_H
#define RIGWATCH_HTTP_H

#include <stddef.h>

#include "rigwatch/config.h"
#include "rigwatch/report.h"

struct rw_http;

#define RW_HTTP_HEADER_DEADLINE_S   5u
#define RW_HTTP_RESPONSE_DEADLINE_S 60u

/* Bind cfg->listen_address ("host:port", "[v6addr]:port", ":port" for every address; port 0 picks a free one)
 * and start serving. Returns 0, or a negative errno with err saying why ("listen 127.0.0.1:10170: Address already
 * in use"). */
int rw_http_start(struct rw_http **out, const struct rw_config *cfg, char *err, size_t errlen);

/* Render the report's bodies and make them the ones served. Call from the sampling thread after each interval;
 * the report is not referenced after the call returns. On allocation failure the previous bodies stay served
 * and the failure is logged. */
void rw_http_publish(struct rw_http *h, const struct rw_report *r);

/* The bound TCP port (useful with port 0). */
unsigned rw_http_port(const struct rw_http *h);

/* Stop serving, close every connection, free everything. NULL is a no-op. */
void rw_http_stop(struct rw_http *h);

#endif
