/* httpget: one GET over a fresh TCP connection, with one deadline for connect, send and receive. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/clock.h"
#include "rigwatch/httpget.h"

int rw_httpget_target(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = listen;
	size_t hl;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - listen);
	}
	if (!colon[1] || strlen(colon + 1) >= portlen || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -EINVAL;
	strcpy(port, colon + 1);
	if (hl == 0 || (hl == 7 && !strncmp(h, "0.0.0.0", 7)))
		h = "127.0.0.1", hl = 9;
	else if (hl == 2 && !strncmp(h, "::", 2))
		h = "::1", hl = 3;
	if (hl >= hostlen)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
}

static long long now_ms(void)
{
	return (long long)(rw_mono_ns() / 1000000);
}

/* Wait for `events` on fd until the deadline: 1 ready, 0 timed out, negative errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_to(const char *host, const char *port, long long deadline, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res), last = -ECONNREFUSED;
	if (rc) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			last = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			freeaddrinfo(res);
			return fd;
		}
		if (errno == EINPROGRESS) {
			int w = wait_fd(fd, POLLOUT, deadline), soerr = 0;
			socklen_t sl = sizeof soerr;
			if (w > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
				freeaddrinfo(res);
				return fd;
			}
			last = w == 0 ? -ETIMEDOUT : w < 0 ? w : -soerr;
		} else {
			last = -errno;
		}
		close(fd);
	}
	freeaddrinfo(res);
	snprintf(err, errlen, "connect to %s port %s: %s", host, port, strerror(-last));
	return last;
}

/* Decode a chunked body in place; returns its length or -EPROTO. */
static long dechunk(char *p, size_t n)
{
	size_t in = 0, out = 0;
	for (;;) {
		char *end;
		if (in >= n)
			return -EPROTO;
		unsigned long sz = strtoul(p + in, &end, 16);
		if (end == p + in)
			return -EPROTO;
		char *eol = memchr(end, '\n', n - (size_t)(end - p));
		if (!eol)
			return -EPROTO;
		in = (size_t)(eol - p) + 1;
		if (sz == 0)
			return (long)out;
		if (sz > n - in)
			return -EPROTO;
		memmove(p + out, p + in, sz);
		out += sz;
		in += sz;
		if (in < n && p[in] == '\r')
			in++;
		if (in < n && p[in] == '\n')
			in++;
	}
}

int rw_httpget(const char *listen, const char *path, unsigned timeout_ms, int *status, struct rw_buf *body, char *err,
	       size_t errlen)
{
	char host[256], port[16], req[768];
	long long deadline = now_ms() + timeout_ms;
	struct rw_buf resp = RW_BUF_INIT;
	int fd, r = 0;

	if (rw_httpget_target(listen, host, sizeof host, port, sizeof port) < 0) {
		snprintf(err, errlen, "cannot read \"%s\" as host:port", listen);
		return -EINVAL;
	}
	if ((fd = connect_to(host, port, deadline, err, errlen)) < 0)
		return fd;
	int n = snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nAccept: application/json\r\nUser-Agent: rigwatch\r\n"
			 "Connection: close\r\n\r\n",
			 path, strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);
	for (int off = 0; off < n;) {
		ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w > 0) {
			off += (int)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			r = -errno;
			snprintf(err, errlen, "send to %s: %s", listen, strerror(errno));
			goto out;
		}
		if ((r = wait_fd(fd, POLLOUT, deadline)) <= 0) {
			r = r ? r : -ETIMEDOUT;
			snprintf(err, errlen, "%s: no answer within %u ms", listen, timeout_ms);
			goto out;
		}
	}
	for (;;) {
		if (rw_buf_reserve(&resp, 65536) < 0) {
			r = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		ssize_t got = recv(fd, resp.data + resp.len, resp.cap - resp.len, 0);
		if (got > 0) {
			resp.len += (size_t)got;
			if (resp.len > RW_HTTPGET_MAX_BODY) {
				r = -EFBIG;
				snprintf(err, errlen, "%s: response larger than %u bytes", listen, RW_HTTPGET_MAX_BODY);
				goto out;
			}
			continue;
		}
		if (got == 0)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			r = -errno;
			snprintf(err, errlen, "receive from %s: %s", listen, strerror(errno));
			goto out;
		}
		if ((r = wait_fd(fd, POLLIN, deadline)) <= 0) {
			r = r ? r : -ETIMEDOUT;
			snprintf(err, errlen, "%s: no complete answer within %u ms", listen, timeout_ms);
			goto out;
		}
		r = 0;
	}
	/* status line and headers */
	rw_buf_append(&resp, "", 1);
	resp.len--;
	int code = 0;
	char *hdr_end = resp.data ? strstr(resp.data, "\r\n\r\n") : NULL;
	if (!hdr_end || sscanf(resp.data, "HTTP/1.%*1[01] %3d", &code) != 1 || code < 100 || code > 599) {
		r = -EPROTO;
		snprintf(err, errlen, "%s: not an HTTP response", listen);
		goto out;
	}
	char *b = hdr_end + 4;
	size_t blen = resp.len - (size_t)(b - resp.data);
	bool chunked = false;
	long long clen = -1;
	for (char *line = strstr(resp.data, "\r\n") + 2; line < hdr_end; line = strstr(line, "\r\n") + 2) {
		if (!strncasecmp(line, "transfer-encoding:", 18) && strcasestr(line, "chunked") &&
		    strcasestr(line, "chunked") < strstr(line, "\r\n"))
			chunked = true;
		else if (!strncasecmp(line, "content-length:", 15))
			clen = strtoll(line + 15, NULL, 10);
	}
	if (chunked) {
		long d = dechunk(b, blen);
		if (d < 0) {
			r = -EPROTO;
			snprintf(err, errlen, "%s: bad chunked body", listen);
			goto out;
		}
		blen = (size_t)d;
	} else if (clen >= 0) {
		if ((unsigned long long)clen > blen) {
			r = -EPROTO;
			snprintf(err, errlen, "%s: body shorter than its Content-Length", listen);
			goto out;
		}
		blen = (size_t)clen;
	}
	rw_buf_append(body, b, blen);
	*status = code;
	r = body->err;
out:
	close(fd);
	rw_buf_free(&resp);
	return r;
}
