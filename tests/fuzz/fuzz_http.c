/* fuzz_http: HTTP requests from the network, end to end: the input is sent as raw bytes to the agent's real
 * HTTP server (rw_http_start on 127.0.0.1, port 0, serving the fixed report of tests/unit/report_fixture.h) and
 * the answer read back. This covers what libmicrohttpd parses for us (request line, percent-decoding of the path,
 * query string arguments, headers) and what src/http.c does with it: routing, /verdicts/<id> parsing, the Accept
 * negotiation of /metrics and Accept-Encoding (gzip). The server thread runs in this process, so ASan/UBSan and
 * libFuzzer's coverage see it.
 * Properties: the server answers with an HTTP/1.x status line or nothing, and it keeps answering:
 * every 256 inputs, after a fresh publish, a plain GET /healthz must still get 200. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fuzz.h"
#include "report_fixture.h"
#include "rigwatch/config.h"
#include "rigwatch/http.h"
#include "rigwatch/log.h"

static struct rw_http *server;
static unsigned port;
static struct rw_report rep;
static struct rw_report_target t[4];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct rw_config cfg;
	char err[256];

	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	rw_config_defaults(&cfg);
	snprintf(cfg.listen_address, sizeof cfg.listen_address, "127.0.0.1:0");
	cfg.http_timeout_s = 2;
	cfg.http_per_ip_connections = 0;
	if (rw_http_start(&server, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		exit(1);
	}
	port = rw_http_port(server);
	fixture_report(&rep, t);
	rw_http_publish(server, &rep);
	return 0;
}

/* Send the bytes, half-close, and read the answer until the server closes or stays quiet for `quiet_ms`.
 * libmicrohttpd (epoll, edge-triggered) does not notice the half-close of a client whose request is incomplete
 * until its connection timeout, so waiting for EOF would cost seconds per input: a local answer takes well under
 * the quiet time, and a missed tail only weakens the check. The socket is then reset (SO_LINGER 0), so the server
 * drops the connection at once instead of holding a slot until its timeout.
 * Returns bytes read into buf (at most cap - 1, NUL-terminated), or -1 if no connection. */
static ssize_t exchange(const uint8_t *req, size_t n, char *buf, size_t cap, int quiet_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	size_t got = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "fuzz_http: connect to 127.0.0.1:%u: %s\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	/* A request the server rejects early may close the connection under us: not a failure. */
	for (size_t off = 0; off < n;) {
		ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char tmp[4096];
		if (poll(&pfd, 1, quiet_ms) <= 0)
			break;
		ssize_t r = recv(fd, tmp, sizeof tmp, 0);
		if (r <= 0)
			break;
		size_t take = (size_t)r < cap - 1 - got ? (size_t)r : cap - 1 - got;
		memcpy(buf + got, tmp, take);
		got += take;
	}
	buf[got] = '\0';
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
	return (ssize_t)got;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[1 << 16];
	static unsigned count;

	ssize_t got = exchange(data, size, buf, sizeof buf, 20);
	FUZZ_CHECK(got >= 0);
	if (got > 0 && strncmp(buf, "HTTP/1.", 7) != 0) {
		fprintf(stderr, "answer without a status line: %.80s\n", buf);
		FUZZ_CHECK(0);
	}
	if (++count % 256 == 0) {
		static const char probe[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
		rw_http_publish(server, &rep);   /* /healthz is 200 only within 3 intervals of a publish */
		got = exchange((const uint8_t *)probe, sizeof probe - 1, buf, sizeof buf, 2000);
		FUZZ_CHECK(got > 12 && strncmp(buf + 9, "200", 3) == 0);
	}
	return 0;
}
