/* dockerapi: the few Docker engine API calls a response needs, as HTTP/1.1 over the engine's unix socket (no
 * curl, no TLS: the socket is local and root-only). Used so that Docker itself records what the agent did: a
 * paused container shows "Paused" in `docker ps` and can be resumed with `docker unpause`; a killed one is
 * recorded as exited (137) rather than found with its processes gone. Every call is bounded by timeout_ms. */
#ifndef RIGWATCH_DOCKERAPI_H
#define RIGWATCH_DOCKERAPI_H

#include <stddef.h>

/* Long enough for `docker pause` on a loaded host (runc waits for the freezer), short enough for the agent loop. */
#define RW_DOCKER_API_TIMEOUT_MS 5000u

/* One request without a body: method and path ("/containers/<id>/pause"). *status gets the HTTP status; body (if
 * not NULL) the start of the reply's body, NUL-terminated. Returns 0 when a reply came (any status), -ENOENT /
 * -ECONNREFUSED / -EACCES when the socket is not there or not answering, -ETIMEDOUT, -EPROTO on a reply that is
 * not HTTP. */
int rw_docker_request(const char *socket_path, const char *method, const char *path, unsigned timeout_ms,
		      int *status, char *body, size_t bodylen);

/* POST /containers/<id>/pause and /containers/<id>/kill?signal=KILL. id: 64 hex. Return 0 when the engine did it
 * (204), -EREMOTEIO when it answered with an error (detail has its status and message), or the transport's
 * negative errno (the engine is unreachable: the caller falls back to cgroup writes). detail gets one line. */
int rw_docker_pause(const char *socket_path, const char *id, char *detail, size_t len);
int rw_docker_kill(const char *socket_path, const char *id, char *detail, size_t len);

#endif
