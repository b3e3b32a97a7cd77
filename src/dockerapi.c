/* dockerapi: a minimal HTTP/1.1 client on AF_UNIX for the engine's pause and kill endpoints. One connection per
 * request with "Connection: close", so the reply ends where the stream does; replies are read up to a small
 * bound (these endpoints answer 204 with no body, or a short JSON error). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/clock.h"
#include "rigwatch/dockerapi.h"
#include "rigwatch/jsonread.h"

#define REPLY_MAX 8192

/* Wait for fd to be ready for `events` until the deadline. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = rw_mono_ns() / 1000000u;
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int rw_docker_request(const char *socket_path, const char *method, const char *path, unsigned timeout_ms,
		      int *status, char *body, size_t bodylen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[512], *reply = NULL;
	size_t got = 0;
	int fd, r;
	uint64_t deadline = rw_mono_ns() / 1000000u + timeout_ms;

	*status = 0;
	if (body && bodylen)
		body[0] = '\0';
	if (strlen(socket_path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	int rn = snprintf(req, sizeof req,
			  "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: rigwatch\r\nContent-Length: 0\r\n"
			  "Connection: close\r\n\r\n",
			  method, path);
	if (rn < 0 || (size_t)rn >= sizeof req)
		return -ENAMETOOLONG;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			r = -errno;
			goto out;
		}
		/* a listener with a full backlog: wait for room */
		if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
			goto out;
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EISCONN) {
			r = -errno;
			goto out;
		}
	}
	for (size_t sent = 0; sent < (size_t)rn;) {
		ssize_t n = send(fd, req + sent, (size_t)rn - sent, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			r = -errno;
			goto out;
		}
		if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
			goto out;
	}
	if (!(reply = malloc(REPLY_MAX + 1))) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, reply + got, REPLY_MAX - got, 0);
		if (n > 0) {
			got += (size_t)n;
			if (got == REPLY_MAX)
				break; /* enough to know the status and the message */
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			r = -errno;
			goto out;
		}
		if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
			goto out;
	}
	reply[got] = '\0';
	int maj, min, code;
	if (sscanf(reply, "HTTP/%d.%d %d", &maj, &min, &code) != 3 || code < 100 || code > 599) {
		r = -EPROTO;
		goto out;
	}
	*status = code;
	char *b = strstr(reply, "\r\n\r\n");
	if (body && bodylen && b)
		snprintf(body, bodylen, "%s", b + 4);
	r = 0;
out:
	free(reply);
	close(fd);
	return r;
}

static bool id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

/* The engine's error reply is {"message":"..."}; chunked framing may surround it. */
static void error_message(const char *body, char *msg, size_t len)
{
	const char *o = strchr(body, '{'), *c = strrchr(body, '}');
	struct rw_json root, m;
	msg[0] = '\0';
	if (o && c && c > o && rw_json_parse(o, (size_t)(c - o + 1), &root, NULL, 0) == 0 &&
	    rw_json_member(&root, "message", &m) == 0)
		rw_json_string(&m, msg, len);
}

static int call(const char *socket_path, const char *id, const char *what, const char *query, char *detail,
		size_t len)
{
	char path[160], body[512], msg[200];
	int status;

	if (!id_ok(id)) {
		snprintf(detail, len, "not a container id");
		return -EINVAL;
	}
	snprintf(path, sizeof path, "/containers/%s/%s%s", id, what, query);
	int r = rw_docker_request(socket_path, "POST", path, RW_DOCKER_API_TIMEOUT_MS, &status, body, sizeof body);
	if (r < 0) {
		snprintf(detail, len, "docker engine API at %s unreachable (%s)", socket_path, strerror(-r));
		return r;
	}
	if (status == 204 || status == 200) {
		snprintf(detail, len, "docker engine API: POST /containers/%.12s/%s%s: %d", id, what, query, status);
		return 0;
	}
	error_message(body, msg, sizeof msg);
	snprintf(detail, len, "docker engine API: POST /containers/%.12s/%s%s: %d %s", id, what, query, status, msg);
	return -EREMOTEIO;
}

int rw_docker_pause(const char *socket_path, const char *id, char *detail, size_t len)
{
	return call(socket_path, id, "pause", "", detail, len);
}

int rw_docker_kill(const char *socket_path, const char *id, char *detail, size_t len)
{
	return call(socket_path, id, "kill", "?signal=KILL", detail, len);
}
