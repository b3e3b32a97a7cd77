/* http: a real rw_http server on a loopback port, driven over real sockets. Routes, status codes, content types,
 * HEAD, Accept and Accept-Encoding negotiation, keep-alive, /healthz staleness, and bad clients: huge headers,
 * slow clients, clients that never read, connection floods. The bad clients must never make rw_http_publish
 * (the sampling thread) wait. No assertion here is about how long anything takes: the tests that check publishing
 * is never held up give the stuck clients a connection timeout far longer than the generous bound the publishes
 * must finish within, so a publish that waited on a client would never finish in time, however slow the machine.
 * Publish times are printed for the curious; tools/bench/httpdrive measures them. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "report_fixture.h"
#include "rigwatch/config.h"
#include "rigwatch/exposition.h"
#include "rigwatch/http.h"
#include "rigwatch/log.h"
#include "rw_test.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void test_config(struct rw_config *cfg)
{
	rw_config_defaults(cfg);
	snprintf(cfg->listen_address, sizeof cfg->listen_address, "127.0.0.1:0");
	cfg->http_timeout_s = 2;
}

/* ---- a small HTTP/1.1 client ---- */

struct resp {
	int status;            /* 0: connection closed without a response */
	char head[8192];
	char *body;
	size_t body_len;
};

static int connect_port(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

static const char *header(const struct resp *r, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (!strncasecmp(line, name, n) && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			size_t vl = strcspn(v, "\r");
			snprintf(out, len, "%.*s", (int)vl, v);
			return out;
		}
	}
	return NULL;
}

/* Send req on fd and read one response (no body for HEAD). Returns 0, or -1 if the connection closed or failed
 * before a complete response (r->status stays 0). */
static int exchange(int fd, const char *req, size_t reqlen, bool head_only, struct resp *r)
{
	memset(r, 0, sizeof *r);
	for (size_t off = 0; off < reqlen;) {
		ssize_t n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;   /* the server may close on us mid-request: read what it said */
		off += (size_t)n;
	}
	size_t hl = 0;
	char *end = NULL;
	while (!end) {
		if (hl + 1 >= sizeof r->head)
			return -1;
		ssize_t n = recv(fd, r->head + hl, sizeof r->head - hl - 1, MSG_PEEK);
		if (n <= 0)
			return -1;
		r->head[hl + (size_t)n] = '\0';
		end = strstr(r->head, "\r\n\r\n");
		size_t take = end ? (size_t)(end + 4 - r->head) - hl : (size_t)n;
		if (recv(fd, r->head + hl, take, 0) != (ssize_t)take)
			return -1;
		hl += take;
		r->head[hl] = '\0';
		end = strstr(r->head, "\r\n\r\n");
	}
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	char cl[32];
	size_t want = header(r, "Content-Length", cl, sizeof cl) ? strtoul(cl, NULL, 10) : 0;
	if (head_only)
		return 0;
	r->body = malloc(want + 1);
	while (r->body && r->body_len < want) {
		ssize_t n = recv(fd, r->body + r->body_len, want - r->body_len, 0);
		if (n <= 0)
			return -1;
		r->body_len += (size_t)n;
	}
	if (r->body)
		r->body[r->body_len] = '\0';
	return 0;
}

static int request(unsigned port, const char *method, const char *path, const char *extra, struct resp *r)
{
	char req[4096];
	int fd = connect_port(port);
	if (fd < 0) {
		memset(r, 0, sizeof *r);
		return -1;
	}
	int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
			 path, extra ? extra : "");
	int rc = exchange(fd, req, (size_t)n, !strcmp(method, "HEAD"), r);
	if (rc == 0 && !strcmp(method, "HEAD")) {
		char tail[16];
		/* HEAD: nothing after the headers before the server closes */
		CU_ASSERT_EQUAL(recv(fd, tail, sizeof tail, 0), 0);
	}
	close(fd);
	return rc;
}

static struct rw_http *start(const struct rw_config *cfg)
{
	struct rw_http *h = NULL;
	char err[256] = "";
	int rc = rw_http_start(&h, cfg, err, sizeof err);
	if (rc)
		fprintf(stderr, "rw_http_start: %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	return h;
}

static void body_is(const struct resp *r, const struct rw_buf *want)
{
	CU_ASSERT_EQUAL(r->body_len, want->len);
	CU_ASSERT(r->body_len == want->len && !memcmp(r->body, want->data, want->len));
}

static void type_is(const struct resp *r, const char *want)
{
	char v[256];
	CU_ASSERT_PTR_NOT_NULL_FATAL(header(r, "Content-Type", v, sizeof v));
	CU_ASSERT_STRING_EQUAL(v, want);
}

/* ---- tests ---- */

static void test_before_first_report(void)
{
	struct rw_config cfg;
	struct resp r;
	test_config(&cfg);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	CU_ASSERT(port > 0);

	CU_ASSERT_EQUAL(request(port, "GET", "/healthz", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_STRING_EQUAL(r.body, "starting\n");
	resp_free(&r);
	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	type_is(&r, "text/plain; charset=utf-8");
	resp_free(&r);
	CU_ASSERT_EQUAL(request(port, "GET", "/", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	type_is(&r, "text/html; charset=utf-8");
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "href=\"/metrics\""));
	resp_free(&r);
	rw_http_stop(h);
}

static void test_routes(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct rw_report_target t[4];
	struct resp r;
	char v[256];
	struct rw_buf text = RW_BUF_INIT, pb = RW_BUF_INIT, json = RW_BUF_INIT;
	struct rw_verdict_slice sl[4];

	test_config(&cfg);
	fixture_report(&rep, t);
	rw_expo_text(&rep, &text);
	rw_expo_protobuf(&rep, &pb);
	rw_verdicts_json(&rep, &json, sl);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	rw_http_publish(h, &rep);

	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	type_is(&r, RW_EXPO_TEXT_TYPE);
	CU_ASSERT_PTR_NOT_NULL(header(&r, "Vary", v, sizeof v));
	CU_ASSERT_PTR_NULL(header(&r, "Content-Encoding", v, sizeof v));
	body_is(&r, &text);
	resp_free(&r);

	/* Prometheus' protobuf Accept header. Protobuf is rendered only while scrapers ask for it: the first such
	 * scrape gets text (which that Accept also allows), and from the next publish on it gets protobuf. */
	const char *pb_accept = "Accept: application/vnd.google.protobuf;"
				"proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;"
				"q=0.3,*/*;q=0.1\r\n";
	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", pb_accept, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	type_is(&r, RW_EXPO_TEXT_TYPE);
	body_is(&r, &text);
	resp_free(&r);
	rw_http_publish(h, &rep);
	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", pb_accept, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	type_is(&r, RW_EXPO_PROTO_TYPE);
	body_is(&r, &pb);
	resp_free(&r);
	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", "Accept: text/plain;version=0.0.4\r\n", &r), 0);
	type_is(&r, RW_EXPO_TEXT_TYPE);
	resp_free(&r);

	/* gzip, as Prometheus always asks; the same body once inflated */
	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", "Accept-Encoding: gzip\r\n", &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(header(&r, "Content-Encoding", v, sizeof v));
	CU_ASSERT_STRING_EQUAL(v, "gzip");
	CU_ASSERT(r.body_len < text.len);
	{
		uLongf outlen = text.len + 16;
		char *out = malloc(outlen);
		z_stream zs = { 0 };
		CU_ASSERT_EQUAL_FATAL(inflateInit2(&zs, 15 + 16), Z_OK);
		zs.next_in = (Bytef *)r.body;
		zs.avail_in = (uInt)r.body_len;
		zs.next_out = (Bytef *)out;
		zs.avail_out = (uInt)outlen;
		CU_ASSERT_EQUAL(inflate(&zs, Z_FINISH), Z_STREAM_END);
		CU_ASSERT_EQUAL(zs.total_out, text.len);
		CU_ASSERT(zs.total_out == text.len && !memcmp(out, text.data, text.len));
		inflateEnd(&zs);
		free(out);
	}
	resp_free(&r);
	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", "Accept-Encoding: gzip;q=0, identity\r\n", &r), 0);
	CU_ASSERT_PTR_NULL(header(&r, "Content-Encoding", v, sizeof v));
	body_is(&r, &text);
	resp_free(&r);

	/* HEAD: same headers and length, no body */
	CU_ASSERT_EQUAL(request(port, "HEAD", "/metrics", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	type_is(&r, RW_EXPO_TEXT_TYPE);
	CU_ASSERT_PTR_NOT_NULL(header(&r, "Content-Length", v, sizeof v));
	CU_ASSERT_EQUAL(strtoul(v, NULL, 10), text.len);
	resp_free(&r);
	CU_ASSERT_EQUAL(request(port, "HEAD", "/healthz", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	resp_free(&r);

	CU_ASSERT_EQUAL(request(port, "GET", "/verdicts", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	type_is(&r, RW_EXPO_JSON_TYPE);
	body_is(&r, &json);
	resp_free(&r);

	CU_ASSERT_EQUAL(request(port, "GET", "/verdicts/9000000000", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	type_is(&r, RW_EXPO_JSON_TYPE);
	CU_ASSERT_EQUAL(r.body_len, sl[2].len);
	CU_ASSERT(r.body_len == sl[2].len && !memcmp(r.body, json.data + sl[2].off, sl[2].len));
	resp_free(&r);
	CU_ASSERT_EQUAL(request(port, "GET", "/verdicts/1", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"slurm_job\":\"1234\",\"slurm_step\":\"0\",\"slurm_uid\":\"1000\","
					     "\"slurm_user\":\"alice\""));
	resp_free(&r);

	const char *missing[] = { "/verdicts/12345", "/verdicts/abc", "/verdicts/", "/verdicts/1x",
				  "/verdicts/99999999999999999999999" };
	for (unsigned i = 0; i < sizeof missing / sizeof missing[0]; i++) {
		CU_ASSERT_EQUAL(request(port, "GET", missing[i], NULL, &r), 0);
		CU_ASSERT_EQUAL(r.status, 404);
		resp_free(&r);
	}
	CU_ASSERT_EQUAL(request(port, "GET", "/verdicts/12345", NULL, &r), 0);
	type_is(&r, RW_EXPO_JSON_TYPE);
	resp_free(&r);
	CU_ASSERT_EQUAL(request(port, "GET", "/nope", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	type_is(&r, "text/plain; charset=utf-8");
	resp_free(&r);
	CU_ASSERT_EQUAL(request(port, "GET", "/metrics/", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	resp_free(&r);

	const char *bad_methods[] = { "POST", "PUT", "DELETE", "OPTIONS" };
	for (unsigned i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(request(port, bad_methods[i], "/metrics", "Content-Length: 0\r\n", &r), 0);
		CU_ASSERT_EQUAL(r.status, 405);
		CU_ASSERT_PTR_NOT_NULL(header(&r, "Allow", v, sizeof v));
		CU_ASSERT_STRING_EQUAL(v, "GET, HEAD");
		type_is(&r, "text/plain; charset=utf-8");
		resp_free(&r);
	}
	/* a body with POST is not read before answering, and does not break the server */
	CU_ASSERT_EQUAL(request(port, "POST", "/verdicts", "Content-Length: 5\r\n\r\nhello", &r), 0);
	CU_ASSERT_EQUAL(r.status, 405);
	resp_free(&r);

	CU_ASSERT_EQUAL(request(port, "GET", "/healthz", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "ok\n");
	type_is(&r, "text/plain; charset=utf-8");
	resp_free(&r);

	rw_http_stop(h);
	rw_buf_free(&text);
	rw_buf_free(&pb);
	rw_buf_free(&json);
}

static void test_keepalive_and_republish(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct rw_report_target t[4];
	struct resp r;
	const char get[] = "GET /verdicts/4242 HTTP/1.1\r\nHost: x\r\n\r\n";

	test_config(&cfg);
	fixture_report(&rep, t);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	rw_http_publish(h, &rep);
	int fd = connect_port(rw_http_port(h));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(exchange(fd, get, strlen(get), false, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"verdict\":\"mining\""));
	resp_free(&r);

	/* the next report replaces the bodies; the same connection sees it */
	t[0].verdict.verdict = RW_VERDICT_CLEAN;
	rw_http_publish(h, &rep);
	CU_ASSERT_EQUAL(exchange(fd, get, strlen(get), false, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"verdict\":\"clean\""));
	resp_free(&r);

	/* a target that left the report is gone from /verdicts/<id> */
	rep.n_targets = 1;
	rw_http_publish(h, &rep);
	const char get2[] = "GET /verdicts/77 HTTP/1.1\r\nHost: x\r\n\r\n";
	CU_ASSERT_EQUAL(exchange(fd, get2, strlen(get2), false, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	resp_free(&r);
	close(fd);
	rw_http_stop(h);
}

/* /healthz answers 200 right after a publish. With 100 ms intervals a stall of the test process longer than three
 * of them (valgrind, a busy machine) between publish and request reads as stale, so a few tries are allowed: what
 * must hold is that some publish is followed by a 200. */
static bool healthz_fresh_after_publish(struct rw_http *h, const struct rw_report *rep)
{
	for (unsigned i = 0; i < 20; i++) {
		struct resp r;
		rw_http_publish(h, rep);
		int rc = request(rw_http_port(h), "GET", "/healthz", NULL, &r);
		int status = r.status;
		resp_free(&r);
		if (rc == 0 && status == 200)
			return true;
	}
	return false;
}

static void test_healthz_stale(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct rw_report_target t[4];
	struct resp r;

	test_config(&cfg);
	fixture_report(&rep, t);
	rep.interval_ms = 100;
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	CU_ASSERT(healthz_fresh_after_publish(h, &rep));
	sleep_ms(450);   /* more than 3 intervals of 100 ms: stale however fast or slow the machine */
	CU_ASSERT_EQUAL(request(port, "GET", "/healthz", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_PTR_NOT_NULL(r.body && strstr(r.body, "stalled"));
	resp_free(&r);
	/* metrics are still served (the last ones) while stalled: Prometheus sees the stale timestamp */
	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	resp_free(&r);
	CU_ASSERT(healthz_fresh_after_publish(h, &rep));
	rw_http_stop(h);
}

static void test_huge_header(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct rw_report_target t[4];
	struct resp r;

	test_config(&cfg);
	cfg.http_memory_limit = 16384;
	fixture_report(&rep, t);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	rw_http_publish(h, &rep);

	/* one 200 KB header line, and many small ones */
	size_t big = 200 * 1024;
	char *req = malloc(big + 256);
	int n = snprintf(req, 256, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'a', big);
	memcpy(req + n + big, "\r\n\r\n", 5);
	int fd = connect_port(port);
	CU_ASSERT_FATAL(fd >= 0);
	exchange(fd, req, strlen(req), false, &r);
	/* 431 (or 413/414 in other libmicrohttpd versions), or dropped: never served */
	CU_ASSERT(r.status == 431 || r.status == 413 || r.status == 414 || r.status == 0);
	fprintf(stderr, "[huge header: status %d] ", r.status);
	resp_free(&r);
	close(fd);

	size_t off = (size_t)snprintf(req, 256, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
	for (unsigned i = 0; off + 64 < big; i++)
		off += (size_t)sprintf(req + off, "X-H%u: %u\r\n", i, i);
	memcpy(req + off, "\r\n", 3);
	fd = connect_port(port);
	CU_ASSERT_FATAL(fd >= 0);
	exchange(fd, req, strlen(req), false, &r);
	CU_ASSERT(r.status == 431 || r.status == 413 || r.status == 414 || r.status == 0);
	resp_free(&r);
	close(fd);
	free(req);

	/* and the server goes on */
	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	resp_free(&r);
	rw_http_stop(h);
}

/* A report of n synthetic targets (bigger bodies than the fixture). */
static struct rw_report_target *many_targets(struct rw_report *rep, unsigned n)
{
	struct rw_report_target fix[4];
	fixture_report(rep, fix);
	struct rw_report_target *t = calloc(n, sizeof *t);
	for (unsigned i = 0; t && i < n; i++) {
		t[i] = fix[i % 2];
		t[i].sample.cgroup_id = 1000 + i;
		snprintf(t[i].sample.cgroup, sizeof t[i].sample.cgroup, "/system.slice/docker-%064u.scope", i);
	}
	rep->targets = t;
	rep->n_targets = n;
	return t;
}

struct pubstats {
	uint64_t max_ns, total_ns;
	unsigned n;
};

static void timed_publish(struct rw_http *h, const struct rw_report *rep, struct pubstats *st)
{
	uint64_t t0 = mono_ns();
	rw_http_publish(h, rep);
	uint64_t dt = mono_ns() - t0;
	if (dt > st->max_ns)
		st->max_ns = dt;
	st->total_ns += dt;
	st->n++;
}

/* Publishing in a thread of its own, so the test can bound how long it waits for publishes to finish. */
struct publisher {
	struct rw_http *h;
	const struct rw_report *rep;
	unsigned want;                 /* publishes to do */
	unsigned min_gap_ms;           /* pause between publishes */
	const volatile unsigned *opened; /* if set: keep publishing until this many connections were opened too */
	unsigned opened_want;
	struct pubstats st;
	volatile int done;
};

static void *publisher_thread(void *arg)
{
	struct publisher *p = arg;
	while (p->st.n < p->want || (p->opened && *p->opened < p->opened_want)) {
		timed_publish(p->h, p->rep, &p->st);
		if (p->min_gap_ms)
			sleep_ms(p->min_gap_ms);
		if (p->st.n > 100000)
			break;
	}
	p->done = 1;
	return NULL;
}

/* Run publishes in a thread and wait for them, at most bound_s seconds. True if they all finished. */
static bool publishes_finish(struct publisher *p, unsigned bound_s)
{
	pthread_t th;
	if (pthread_create(&th, NULL, publisher_thread, p) != 0)
		return false;
	for (unsigned i = 0; i < bound_s * 20 && !p->done; i++)
		sleep_ms(50);
	bool ok = p->done;
	if (ok)
		pthread_join(th, NULL);
	else
		pthread_detach(th); /* still blocked: the test fails; the suite exits soon after */
	return ok;
}

/* Clients that never read their response, and clients that never finish their request, while the connection
 * timeout is far longer than the test: publishes must all finish anyway (they never wait for a client). */
static void test_publish_never_waits_for_clients(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	int slow[4], readers[4];

	test_config(&cfg);
	cfg.http_per_ip_connections = 4;
	cfg.http_max_connections = 16;
	cfg.http_timeout_s = 600;
	struct rw_report_target *t = many_targets(&rep, 300);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	struct publisher idle = { .h = h, .rep = &rep, .want = 10 };
	CU_ASSERT_FATAL(publishes_finish(&idle, 60));

	/* Clients that ask for /metrics (about 750 KB) and never read it: their responses hold snapshots. */
	for (unsigned i = 0; i < 4; i++) {
		readers[i] = connect_port(port);
		CU_ASSERT_FATAL(readers[i] >= 0);
		int small = 4096;
		setsockopt(readers[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
		const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
		CU_ASSERT_EQUAL(send(readers[i], req, strlen(req), 0), (ssize_t)strlen(req));
	}
	sleep_ms(100);
	struct publisher stuck = { .h = h, .rep = &rep, .want = 20 };
	CU_ASSERT(publishes_finish(&stuck, 60));
	for (unsigned i = 0; i < 4; i++)
		close(readers[i]);

	/* Slowloris: half a request line each, filling the per-client limit. */
	for (unsigned i = 0; i < 4; i++) {
		slow[i] = connect_port(port);
		CU_ASSERT_FATAL(slow[i] >= 0);
		CU_ASSERT_EQUAL(send(slow[i], "GET /metr", 9, 0), 9);
	}
	sleep_ms(100);
	struct publisher loris = { .h = h, .rep = &rep, .want = 20 };
	CU_ASSERT(publishes_finish(&loris, 60));
	fprintf(stderr, "[publish of 300 targets: idle max %.2f ms; clients not reading max %.2f ms; slowloris max "
		"%.2f ms] ", idle.st.max_ns / 1e6, stuck.st.max_ns / 1e6, loris.st.max_ns / 1e6);
	for (unsigned i = 0; i < 4; i++)
		close(slow[i]);
	if (!(idle.done && stuck.done && loris.done))
		return; /* a publisher is still blocked and uses h and t: leave both to the failing suite's exit */
	rw_http_stop(h);
	free(t);
}

/* The per-client share and the header deadline: a fifth connection from the same address displaces the oldest
 * slow one, the rest are closed by the server once the deadline passes, and service resumes. */
static void test_slow_clients(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct resp r;
	int slow[4];

	test_config(&cfg);
	cfg.http_per_ip_connections = 4;
	cfg.http_max_connections = 16;
	cfg.http_timeout_s = 1;
	struct rw_report_target *t = many_targets(&rep, 300);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	rw_http_publish(h, &rep);

	/* Slowloris: half a request line each, filling the per-client limit. */
	for (unsigned i = 0; i < 4; i++) {
		slow[i] = connect_port(port);
		CU_ASSERT_FATAL(slow[i] >= 0);
		CU_ASSERT_EQUAL(send(slow[i], "GET /metr", 9, 0), 9);
	}
	/* A fifth connection from the same address is over its share: it displaces the oldest slow one and is
	 * answered. */
	CU_ASSERT_EQUAL(request(port, "GET", "/healthz", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	resp_free(&r);
	/* The header deadline (the 1 s timeout) reaps the others: the server closes them. Each recv waits up to 60 s
	 * for that. */
	for (unsigned i = 0; i < 4; i++) {
		struct timeval tv = { 60, 0 };
		setsockopt(slow[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		char c;
		CU_ASSERT_EQUAL(recv(slow[i], &c, 1, 0), 0);
		close(slow[i]);
	}
	bool ok = false;
	for (unsigned i = 0; i < 300 && !ok; i++) {
		rw_http_publish(h, &rep);
		ok = request(port, "GET", "/healthz", NULL, &r) == 0 && r.status == 200;
		resp_free(&r);
		if (!ok)
			sleep_ms(100);
	}
	CU_ASSERT(ok);
	rw_http_stop(h);
	free(t);
}

struct flood {
	unsigned port;
	volatile int stop;
	volatile unsigned opened;
	unsigned answered;
};

static void *flood_thread(void *arg)
{
	struct flood *f = arg;
	int fds[256];
	while (!f->stop) {
		unsigned n = 0;
		for (; n < 256 && !f->stop; n++) {
			fds[n] = connect_port(f->port);
			if (fds[n] < 0)
				break;
			f->opened++;
			if (n % 2)   /* half of them send a whole request */
				send(fds[n], "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 35, MSG_NOSIGNAL);
		}
		for (unsigned i = 0; i < n; i++)
			close(fds[i]);
	}
	return NULL;
}

/* Publishes keep going while two threads open and drop connections as fast as they can, and /healthz answers
 * once the flood is over. */
static void test_connection_flood(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct resp r;

	test_config(&cfg);
	cfg.http_max_connections = 32;
	cfg.http_per_ip_connections = 0;
	cfg.http_timeout_s = 600;
	struct rw_report_target *t = many_targets(&rep, 300);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	rw_http_publish(h, &rep);

	struct flood f = { .port = port };
	pthread_t th[2];
	for (unsigned i = 0; i < 2; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, flood_thread, &f), 0);
	/* 50 publishes, and not done before the flood has opened 500 connections: the publishes overlap it. */
	struct publisher p = { .h = h, .rep = &rep, .want = 50, .min_gap_ms = 20, .opened = &f.opened,
			       .opened_want = 500 };
	bool finished = publishes_finish(&p, 120);
	f.stop = 1;
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	fprintf(stderr, "[flood: %u connections opened; %u publishes, max %.2f ms mean %.2f ms] ", f.opened, p.st.n,
		p.st.max_ns / 1e6, p.st.n ? p.st.total_ns / 1e6 / p.st.n : 0.0);
	CU_ASSERT(finished);
	CU_ASSERT(f.opened >= 500);

	/* after the flood, normal service: within a generous bound (publishing on, so /healthz is not stale) */
	int ok = 0;
	for (unsigned i = 0; i < 300 && !ok; i++) {
		rw_http_publish(h, &rep);
		if (request(port, "GET", "/healthz", NULL, &r) == 0 && r.status == 200)
			ok = 1;
		resp_free(&r);
		if (!ok)
			sleep_ms(100);
	}
	CU_ASSERT(ok);
	if (!finished)
		return; /* see test_publish_never_waits_for_clients */
	rw_http_stop(h);
	free(t);
}

static unsigned count_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_addresses_and_fds(void)
{
	struct rw_config cfg;
	struct rw_http *h = NULL;
	char err[256];

	test_config(&cfg);
	unsigned before = count_fds();
	for (unsigned i = 0; i < 3; i++) {
		struct rw_report rep;
		struct rw_report_target t[4];
		struct resp r;
		fixture_report(&rep, t);
		h = start(&cfg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h);
		rw_http_publish(h, &rep);
		CU_ASSERT_EQUAL(request(rw_http_port(h), "GET", "/metrics", NULL, &r), 0);
		resp_free(&r);
		rw_http_stop(h);
	}
	CU_ASSERT_EQUAL(count_fds(), before);   /* listener, epoll and connection fds all closed */

	const char *bad[] = { "nonsense", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:", "::1:80", "[::1]80",
			      "256.1.1.1:80", "127.0.0.1:8x" };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(cfg.listen_address, sizeof cfg.listen_address, "%s", bad[i]);
		err[0] = '\0';
		CU_ASSERT(rw_http_start(&h, &cfg, err, sizeof err) < 0);
		CU_ASSERT_PTR_NULL(h);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i]));   /* the message names the address */
	}
	CU_ASSERT_EQUAL(count_fds(), before);

	/* port in use */
	test_config(&cfg);
	struct rw_http *a = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	snprintf(cfg.listen_address, sizeof cfg.listen_address, "127.0.0.1:%u", rw_http_port(a));
	CU_ASSERT_EQUAL(rw_http_start(&h, &cfg, err, sizeof err), -EADDRINUSE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "Address already in use"));
	rw_http_stop(a);

	/* IPv6 loopback where the host has it */
	snprintf(cfg.listen_address, sizeof cfg.listen_address, "[::1]:0");
	if (rw_http_start(&h, &cfg, err, sizeof err) == 0) {
		CU_ASSERT(rw_http_port(h) > 0);
		rw_http_stop(h);
	} else {
		fprintf(stderr, "[no IPv6 loopback: %s] ", err);
	}
	rw_http_stop(NULL);
}

/* ---- ids and hostile clients ---- */

/* /verdicts/<id> takes digits only: an escaped NUL must not cut the path short ("1000%00junk" is not "1000"). */
static void test_verdict_ids_digits_only(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct resp r;
	test_config(&cfg);
	struct rw_report_target *t = many_targets(&rep, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	rw_http_publish(h, &rep);

	const char *ok[] = { "/verdicts/1000", "/verdicts/%31%30%30%30", "/verdicts/1000?x=1" };
	for (unsigned i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		CU_ASSERT_EQUAL(request(port, "GET", ok[i], NULL, &r), 0);
		if (r.status != 200)
			fprintf(stderr, "\n  %s: %d, want 200\n", ok[i], r.status);
		CU_ASSERT_EQUAL(r.status, 200);
		resp_free(&r);
	}
	const char *bad[] = { "/verdicts/1000%00junk", "/verdicts/1000%00", "/verdicts/%00", "/verdicts/1000%20",
			      "/verdicts/+1000", "/verdicts/-1000", "/verdicts/1000/", "/verdicts/1000%2F" };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CU_ASSERT_EQUAL(request(port, "GET", bad[i], NULL, &r), 0);
		if (r.status != 404 && r.status != 400)
			fprintf(stderr, "\n  %s: %d, want 404 or 400\n", bad[i], r.status);
		CU_ASSERT(r.status == 404 || r.status == 400);
		resp_free(&r);
	}
	rw_http_stop(h);
	free(t);
}

/* A TCP connection from a given loopback address (127.0.0.0/8 all routes to lo). */
static int connect_from(const char *src, unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in me = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (inet_pton(AF_INET, src, &me.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* GET /healthz from `src` answers 200, allowing a few retries (a flood may displace a connection that has not
 * sent its request yet). Each try follows a publish: /healthz reads as stalled a few intervals after the last one,
 * and the floods before a try may take longer than that under valgrind on a busy machine. */
static bool healthz_from(struct rw_http *h, const struct rw_report *rep, const char *src)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	for (unsigned attempt = 0; attempt < 10; attempt++) {
		struct resp r;
		rw_http_publish(h, rep);
		int fd = connect_from(src, rw_http_port(h));
		if (fd < 0)
			continue;
		int rc = exchange(fd, req, sizeof req - 1, false, &r);
		close(fd);
		bool ok = rc == 0 && r.status == 200;
		resp_free(&r);
		if (ok)
			return true;
	}
	return false;
}

/* Has the server closed fd? Waits up to `bound_ms`, sending one byte of a request line every 100 ms (a client
 * trickling its headers, which an inactivity timeout alone would never close). */
static bool closed_while_trickling(int fd, unsigned bound_ms)
{
	for (unsigned waited = 0; waited < bound_ms; waited += 100) {
		char c;
		if (send(fd, "X", 1, MSG_NOSIGNAL) < 0)
			return true;
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return true;
		sleep_ms(100);
	}
	return false;
}

/* Slow-header, many-address and idle floods: /healthz answers from a fresh address and from a flooding one
 * throughout, and trickling connections are closed by the header deadline. */
static void test_floods_leave_room_for_healthz(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	char src[32];
	enum { SLOW = 12, ADDRS = 20, PER_ADDR = 4, IDLE = 400 };
	static int fds[IDLE + ADDRS * PER_ADDR + SLOW];
	unsigned nfds = 0;

	test_config(&cfg);
	cfg.http_max_connections = 16;
	cfg.http_per_ip_connections = 4;
	cfg.http_timeout_s = 2;
	struct rw_report_target *t = many_targets(&rep, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	rw_http_publish(h, &rep);

	/* slow headers from one address, three times its share */
	for (unsigned i = 0; i < SLOW; i++) {
		int fd = connect_from("127.0.0.1", port);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(send(fd, "GET /metr", 9, MSG_NOSIGNAL), 9);
		fds[nfds++] = fd;
	}
	rw_http_publish(h, &rep);
	CU_ASSERT(healthz_from(h, &rep, "127.0.0.1"));
	CU_ASSERT(healthz_from(h, &rep, "127.0.0.200"));

	/* many addresses, each within its share, together five times the pool */
	for (unsigned a = 0; a < ADDRS; a++) {
		snprintf(src, sizeof src, "127.0.1.%u", a + 1);
		for (unsigned i = 0; i < PER_ADDR; i++) {
			int fd = connect_from(src, port);
			CU_ASSERT_FATAL(fd >= 0);
			CU_ASSERT_EQUAL(send(fd, "GET / HTTP/1.1\r\nHo", 18, MSG_NOSIGNAL), 18);
			fds[nfds++] = fd;
		}
	}
	rw_http_publish(h, &rep);
	CU_ASSERT(healthz_from(h, &rep, "127.0.0.200"));
	CU_ASSERT(healthz_from(h, &rep, "127.0.1.1"));

	/* idle connections that never send a byte, from many addresses */
	for (unsigned i = 0; i < IDLE; i++) {
		snprintf(src, sizeof src, "127.0.2.%u", i % 250 + 1);
		int fd = connect_from(src, port);
		CU_ASSERT_FATAL(fd >= 0);
		fds[nfds++] = fd;
	}
	rw_http_publish(h, &rep);
	CU_ASSERT(healthz_from(h, &rep, "127.0.0.200"));
	CU_ASSERT(healthz_from(h, &rep, "127.0.2.1"));
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);

	/* a client trickling its request line is closed by the header deadline (2 s here), not kept alive by
	 * its bytes; 60 s is only the bound of this wait */
	int fd = connect_from("127.0.0.3", port);
	CU_ASSERT_FATAL(fd >= 0);
	bool closed = closed_while_trickling(fd, 60000);
	if (!closed)
		fprintf(stderr, "\n  a trickling client was not closed within 60 s\n");
	CU_ASSERT(closed);
	close(fd);
	CU_ASSERT(healthz_from(h, &rep, "127.0.0.3"));
	rw_http_stop(h);
	free(t);
}

/* Basic auth from a web config file (plain HTTP here; TLS is covered by tests/integration/web-auth.sh): every
 * path but /healthz needs the user's password, checked against its bcrypt hash. */
static void test_basic_auth(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct resp r;
	char dir[] = "/tmp/rwauth.XXXXXX", v[256];
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	test_config(&cfg);
	snprintf(cfg.http_web_config_file, sizeof cfg.http_web_config_file, "%s/web.yml", dir);
	FILE *f = fopen(cfg.http_web_config_file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	/* bcrypt of "s3cret", cost 10 */
	fputs("basic_auth_users:\n  prom: $2b$10$b0Ogz7Rs9CIoYJOx9EehHuprPQjnzzq7eW191JR/F3PosueHC/iju\n", f);
	fclose(f);
	struct rw_report_target *t = many_targets(&rep, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	struct rw_http *h = start(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	unsigned port = rw_http_port(h);
	rw_http_publish(h, &rep);

	CU_ASSERT_EQUAL(request(port, "GET", "/metrics", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401);
	CU_ASSERT_PTR_NOT_NULL(header(&r, "WWW-Authenticate", v, sizeof v));
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "Basic realm=\"rigwatch\""));
	resp_free(&r);
	const char *deny[] = { "Authorization: Basic cHJvbTp3cm9uZw==\r\n", "Authorization: Basic bm9ib2R5OnMzY3JldA==\r\n",
			       "Authorization: Basic !!!\r\n", "Authorization: Bearer x\r\n" };
	for (unsigned i = 0; i < sizeof deny / sizeof deny[0]; i++) {
		CU_ASSERT_EQUAL(request(port, "GET", "/verdicts", deny[i], &r), 0);
		CU_ASSERT(r.status == 401 || r.status == 429);
		resp_free(&r);
	}
	/* unknown paths need credentials too: no probing for what exists */
	CU_ASSERT_EQUAL(request(port, "GET", "/nope", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 401);
	resp_free(&r);
	/* the right password, twice (the second from the remembered digest) */
	for (unsigned i = 0; i < 2; i++) {
		int status = 0;
		/* a 429 means the bcrypt budget of this second was spent by the refusals above: wait it out */
		for (unsigned tries = 0; tries < 120 && (status == 0 || status == 429); tries++) {
			if (status == 429)
				sleep_ms(500);
			CU_ASSERT_EQUAL(request(port, "GET", "/metrics", "Authorization: Basic cHJvbTpzM2NyZXQ=\r\n", &r), 0);
			status = r.status;
			resp_free(&r);
		}
		if (status != 200)
			printf("[right password, try %u: status %d] ", i, status);
		CU_ASSERT_EQUAL(status, 200);
	}
	/* /healthz says stalled once no report came for 3 intervals, and the waits above may have taken longer */
	rw_http_publish(h, &rep);
	CU_ASSERT_EQUAL(request(port, "GET", "/healthz", NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	resp_free(&r);
	rw_http_stop(h);
	free(t);

	/* a bad web config: the server does not start, and says where */
	f = fopen(cfg.http_web_config_file, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("basic_auth_users:\n  prom: plaintext\n", f);
	fclose(f);
	struct rw_http *bad = NULL;
	char err[512] = "";
	CU_ASSERT_EQUAL(rw_http_start(&bad, &cfg, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NULL(bad);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "web.yml:2: basic_auth_users.prom: expected a bcrypt hash"));
	unlink(cfg.http_web_config_file);
	rmdir(dir);
}

static const rw_test tests[] = {
	RW_TEST(test_before_first_report),
	RW_TEST(test_routes),
	RW_TEST(test_keepalive_and_republish),
	RW_TEST(test_healthz_stale),
	RW_TEST(test_huge_header),
	RW_TEST(test_publish_never_waits_for_clients),
	RW_TEST(test_slow_clients),
	RW_TEST(test_connection_flood),
	RW_TEST(test_addresses_and_fds),
	RW_TEST(test_verdict_ids_digits_only),
	RW_TEST(test_floods_leave_room_for_healthz),
	RW_TEST(test_basic_auth),
	{ NULL, NULL },
};

int main(void)
{
	rw_log_set_level(getenv("RWDBG") ? RW_LOG_DEBUG : RW_LOG_WARN);
	return rw_test_main("http", tests);
}
