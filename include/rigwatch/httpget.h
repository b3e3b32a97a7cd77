/* httpget: a minimal HTTP/1.1 GET for asking a running agent (`rigwatch list`, `top`) what it sees. Plain HTTP
 * only; bounded in time and size; the body is decoded from Content-Length, chunked, or read to the close. */
#ifndef RIGWATCH_HTTPGET_H
#define RIGWATCH_HTTPGET_H

#include "rigwatch/buf.h"

#define RW_HTTPGET_MAX_BODY (64u << 20)

/* The address to connect to for an agent listening on `listen` (the listen_address syntax: "host:port",
 * "[v6]:port", ":port"): a wildcard host becomes the loopback address. Returns 0 or -EINVAL. */
int rw_httpget_target(const char *listen, char *host, size_t hostlen, char *port, size_t portlen);

/* GET http://<listen>/<path> within timeout_ms all told. The body is appended to *body and *status set. Returns 0
 * (any HTTP status), -ECONNREFUSED (nothing listens), -ETIMEDOUT, -EPROTO (not an HTTP response), -EFBIG, or
 * another negative errno; err says what happened. */
int rw_httpget(const char *listen, const char *path, unsigned timeout_ms, int *status, struct rw_buf *body, char *err,
	       size_t errlen);

#endif
