/* http: libmicrohttpd server for /metrics, /verdicts, /healthz (see http.h for the contract).
 *
 * Threads: the sampling thread renders a snapshot in rw_http_publish() and swaps it in under h->mu; the serving
 * thread (serve(): MHD in external epoll mode, then the deadline sweep) takes a reference to the current snapshot under h->mu and hands MHD a pointer into it,
 * released by MHD's free callback when the response is destroyed. h->mu is therefore held only for a pointer
 * swap or a refcount increment, never for rendering or sending. */
#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "rigwatch/clock.h"
#include "rigwatch/exposition.h"
#include "rigwatch/fsutil.h"
#include "rigwatch/http.h"
#include "rigwatch/log.h"
#include "rigwatch/webconfig.h"

/* The bodies of one published report. */
struct snap {
	atomic_uint refs;
	struct rw_buf text, proto, json;
	bool have_proto;                   /* protobuf rendered: only while scrapers ask for it */
	struct rw_verdict_slice *slices;   /* sorted by cgroup_id */
	unsigned n_slices, cap_slices;

	/* gzip forms of text and proto, made on the first request that accepts gzip (Prometheus always does) and
	 * then served to every later one: at most one compression per format per interval, and none when nobody
	 * asks. Guarded by zmu. */
	pthread_mutex_t zmu;
	bool zdone[2], zok[2];
	struct rw_buf z[2];
};

enum canned { C_NOT_FOUND, C_NOT_ALLOWED, C_NOT_READY, C_HEALTH_OK, C_HEALTH_STARTING, C_HEALTH_STALLED,
	      C_NO_TARGET, C_ROOT, C_UNAUTHORIZED, C_AUTH_BUSY, C_COUNT };

/* One open connection, as the deadline sweep and the pool's eviction see it (MHD's socket context). */
struct conn {
	int fd;
	unsigned idx;               /* in rw_http.conns */
	uint8_t addr[17];           /* family byte and address; IPv4-mapped IPv6 folded to IPv4 */
	bool busy;                  /* its request arrived and the response is not done */
	bool served;                /* it completed a request before (a keep-alive client) */
	bool evicted;               /* shut down by us; MHD closes it on its next pass */
	uint64_t since_ns;          /* busy: when the request arrived; else when it began to wait for one */
};

struct rw_http {
	struct MHD_Daemon *d;
	pthread_t thread;           /* runs MHD and the sweep; every struct conn is touched only there */
	bool thread_started;
	int wake_fd;                /* eventfd: rw_http_stop wakes the thread */
	atomic_bool stopping;
	struct conn **conns;
	unsigned n_conns, cap_conns, n_live;   /* n_live: not evicted */
	unsigned max_conns, per_ip;
	int listen_fd;              /* owned by MHD; read (TCP_INFO) only while it runs */
	uint64_t header_deadline_ns, response_deadline_ns;
	_Atomic uint64_t evicted_total[3];     /* by reason: enum evict_reason */

	/* --web.config.file: NULL for plain HTTP without authentication */
	struct rw_webconfig *web;
	char *tls_cert, *tls_key;              /* PEM, alive as long as the daemon */
	struct crypt_data *crypt;              /* serving thread only */
	uint8_t auth_salt[16];
	uint8_t auth_cache[RW_WEB_MAX_USERS][32];
	bool auth_ok[RW_WEB_MAX_USERS];
	uint64_t auth_window_ns;
	unsigned auth_checks;
	_Atomic uint64_t auth_failures;
	unsigned port;
	struct MHD_Response *canned[C_COUNT];

	pthread_mutex_t mu;         /* guards cur, last_publish_ns, interval_ms */
	struct snap *cur;
	uint64_t last_publish_ns;   /* CLOCK_MONOTONIC; 0 = never */
	uint32_t interval_ms;

	struct snap *spare;         /* sampling thread only: a retired snapshot whose buffers we reuse */
	/* When a scrape last asked for the gzip form of text (0) or protobuf (1), CLOCK_MONOTONIC ns: while
	 * scrapers use gzip, publish compresses ahead, so no scrape waits for a compression. */
	_Atomic uint64_t gzip_wanted_ns[2];
	/* When a scrape last preferred protobuf: the protobuf body is rendered only while they do (text is always
	 * rendered, and every Prometheus also accepts it, so the first protobuf scrape after a quiet spell gets text). */
	_Atomic uint64_t proto_wanted_ns;
};

static int gzip_buf(const struct rw_buf *src, struct rw_buf *dst);

/* Compress ahead while a gzip scrape came within this many ns (a few scrape intervals). */
#define GZIP_AHEAD_NS (300ull * 1000000000ull)

static void snap_free(struct snap *s)
{
	if (!s)
		return;
	rw_buf_free(&s->text);
	rw_buf_free(&s->proto);
	rw_buf_free(&s->json);
	rw_buf_free(&s->z[0]);
	rw_buf_free(&s->z[1]);
	pthread_mutex_destroy(&s->zmu);
	free(s->slices);
	free(s);
}

/* Drop one reference; true when it was the last. */
static bool snap_unref(struct snap *s)
{
	return atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1;
}

/* MHD's free callback for a response body that points into a snapshot. */
static void snap_release(void *cls)
{
	struct snap *s = cls;
	if (snap_unref(s))
		snap_free(s);
}

static struct snap *snap_acquire(struct rw_http *h)
{
	pthread_mutex_lock(&h->mu);
	struct snap *s = h->cur;
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&h->mu);
	return s;
}

static int slice_cmp(const void *a, const void *b)
{
	const struct rw_verdict_slice *x = a, *y = b;
	return x->cgroup_id < y->cgroup_id ? -1 : x->cgroup_id > y->cgroup_id;
}

void rw_http_publish(struct rw_http *h, const struct rw_report *r)
{
	struct snap *s = h->spare;
	int rc = 0;
	/* Render at a lower priority than the serving thread: on a small host the render of a large report would
	 * otherwise take the CPU from scrapes in flight (their tail latency). Restored below; raising it back needs
	 * CAP_SYS_NICE, and without it the sampling thread simply stays a little nicer. */
	pid_t tid = (pid_t)syscall(SYS_gettid);
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, (id_t)tid);
	bool reniced = errno == 0 && setpriority(PRIO_PROCESS, (id_t)tid, prio + 10) == 0;

	h->spare = NULL;
	if (!s) {
		if (!(s = calloc(1, sizeof *s))) {
			rc = -ENOMEM;
			goto out;
		}
		pthread_mutex_init(&s->zmu, NULL);
	}
	s->zdone[0] = s->zdone[1] = s->zok[0] = s->zok[1] = false;
	rw_buf_reset(&s->text);
	rw_buf_reset(&s->proto);
	rw_buf_reset(&s->json);
	if (r->n_targets > s->cap_slices) {
		struct rw_verdict_slice *n = realloc(s->slices, r->n_targets * sizeof *n);
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		s->slices = n;
		s->cap_slices = r->n_targets;
	}
	s->n_slices = r->n_targets;
	uint64_t pw = atomic_load_explicit(&h->proto_wanted_ns, memory_order_relaxed);
	s->have_proto = pw && rw_mono_ns() - pw < GZIP_AHEAD_NS;
	if ((rc = rw_expo_text(r, &s->text)) || (s->have_proto && (rc = rw_expo_protobuf(r, &s->proto))) ||
	    (rc = rw_verdicts_json(r, &s->json, s->slices)))
		goto out;
	qsort(s->slices, s->n_slices, sizeof *s->slices, slice_cmp);
	atomic_store_explicit(&s->refs, 1, memory_order_relaxed);
	for (unsigned which = 0; which < 2; which++) {
		uint64_t seen = atomic_load_explicit(&h->gzip_wanted_ns[which], memory_order_relaxed);
		if (seen && rw_mono_ns() - seen < GZIP_AHEAD_NS && (which == 0 || s->have_proto)) {
			/* Not yet visible to any request: no lock needed. */
			s->zok[which] = gzip_buf(which ? &s->proto : &s->text, &s->z[which]) == 0;
			s->zdone[which] = true;
		}
	}

	pthread_mutex_lock(&h->mu);
	struct snap *old = h->cur;
	h->cur = s;
	s = NULL;
	pthread_mutex_unlock(&h->mu);
	/* The last reference to the old snapshot: keep its buffers for the next render instead of freeing them. */
	if (old && snap_unref(old))
		h->spare = old;
out:
	if (rc)
		rw_log_warn("http", "cannot render report %llu: %s; serving the previous one",
			    (unsigned long long)r->interval_seq, strerror(-rc));
	if (s)
		h->spare = s;
	if (reniced)
		setpriority(PRIO_PROCESS, (id_t)tid, prio);
	/* The loop is alive even when rendering failed: /healthz is about the loop. */
	pthread_mutex_lock(&h->mu);
	h->last_publish_ns = rw_mono_ns();
	if (r->interval_ms)
		h->interval_ms = r->interval_ms;
	pthread_mutex_unlock(&h->mu);
}

/* ---- request handling ------------------------------------------------------------------------------------- */

static enum MHD_Result queue_canned(struct rw_http *h, struct MHD_Connection *c, enum canned which)
{
	static const unsigned status[C_COUNT] = {
		[C_NOT_FOUND] = MHD_HTTP_NOT_FOUND, [C_NOT_ALLOWED] = MHD_HTTP_METHOD_NOT_ALLOWED,
		[C_NOT_READY] = MHD_HTTP_SERVICE_UNAVAILABLE, [C_HEALTH_OK] = MHD_HTTP_OK,
		[C_HEALTH_STARTING] = MHD_HTTP_SERVICE_UNAVAILABLE, [C_HEALTH_STALLED] = MHD_HTTP_SERVICE_UNAVAILABLE,
		[C_NO_TARGET] = MHD_HTTP_NOT_FOUND, [C_ROOT] = MHD_HTTP_OK,
		[C_UNAUTHORIZED] = MHD_HTTP_UNAUTHORIZED, [C_AUTH_BUSY] = MHD_HTTP_TOO_MANY_REQUESTS,
	};
	if (which == C_UNAUTHORIZED) {
		/* MHD adds the WWW-Authenticate header to the response it is given: a fresh one each time, not
		 * the shared canned one (whose headers would pile up). */
		static const char body[] = "unauthorized\n";
		struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
									 MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
		enum MHD_Result ret = MHD_queue_basic_auth_fail_response(c, "rigwatch", r);
		MHD_destroy_response(r);
		return ret;
	}
	return MHD_queue_response(c, status[which], h->canned[which]);
}

static enum MHD_Result queue_slice(struct MHD_Connection *c, struct snap *s, const char *p, size_t len,
				   const char *type, bool metrics, bool gzipped)
{
	/* MHD sends straight from the snapshot; snap_release drops our reference when the response is done. */
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)p,
											 snap_release, s);
	if (!r) {
		snap_release(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (metrics)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	if (gzipped)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* gzip (RFC 1952) of src into dst at level 1: the body is rendered text with long repeated label sets, so the
 * fastest level already shrinks it about 8 times. */
static int gzip_buf(const struct rw_buf *src, struct rw_buf *dst)
{
	z_stream zs;
	int rc = -ENOMEM;

	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	rw_buf_reset(dst);
	size_t bound = deflateBound(&zs, (uLong)src->len);
	if (rw_buf_reserve(dst, bound))
		goto out;
	zs.next_in = (Bytef *)src->data;
	zs.avail_in = (uInt)src->len;
	zs.next_out = (Bytef *)dst->data;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) == Z_STREAM_END) {
		dst->len = zs.total_out;
		rc = 0;
	} else {
		rc = -EIO;
	}
out:
	deflateEnd(&zs);
	return rc;
}

/* Does an Accept-Encoding header allow gzip? ("gzip", "x-gzip" or "*", unless given q=0) */
static bool accepts_gzip(const char *ae)
{
	if (!ae)
		return false;
	for (const char *p = ae; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *tok = p;
		p = end ? end + 1 : p + n;
		while (n && (*tok == ' ' || *tok == '\t'))
			tok++, n--;
		size_t tn = strcspn(tok, ";, \t");
		if (tn > n)
			tn = n;
		if (!((tn == 4 && !strncasecmp(tok, "gzip", 4)) || (tn == 6 && !strncasecmp(tok, "x-gzip", 6)) ||
		      (tn == 1 && tok[0] == '*')))
			continue;
		const char *q = memchr(tok, ';', n);
		if (q) {
			q++;
			while (*q == ' ')
				q++;
			/* q=0, q=0.0, q=0.000: refused */
			if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=' && q[2] == '0' &&
			    strspn(q + 3, ".0") == strcspn(q + 3, ",; \t"))
				continue;
		}
		return true;
	}
	return false;
}

/* The gzip form of body `which` (0 text, 1 protobuf), made now if this is the first request for it. */
static const struct rw_buf *snap_gzip(struct snap *s, unsigned which)
{
	pthread_mutex_lock(&s->zmu);
	if (!s->zdone[which]) {
		s->zok[which] = gzip_buf(which ? &s->proto : &s->text, &s->z[which]) == 0;
		s->zdone[which] = true;
	}
	bool ok = s->zok[which];
	pthread_mutex_unlock(&s->zmu);
	return ok ? &s->z[which] : NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict decimal uint64, no sign, no leading junk. */
static bool parse_id(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* ---- basic authentication ------------------------------------------------------------------------------
 *
 * Passwords are checked against bcrypt hashes with libxcrypt's crypt_r(). A bcrypt check costs tens of ms of
 * CPU on the serving thread by design, so: a user's last accepted password is remembered as a salted SHA-256
 * (a scraper sending the same credentials every scrape costs one hash, not one bcrypt), and checks that need
 * bcrypt are limited to AUTH_BCRYPT_PER_S a second; past that the answer is 429 with Retry-After, so guessing
 * passwords cannot take the thread from /healthz and the scrapes. An unknown user costs a bcrypt all the same,
 * so timing does not tell which users exist. */
#define AUTH_BCRYPT_PER_S 5u

static bool ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

static void auth_digest(const struct rw_http *h, unsigned user, const char *pass, uint8_t out[32])
{
	gnutls_hash_hd_t hd;
	memset(out, 0, 32);
	if (gnutls_hash_init(&hd, GNUTLS_DIG_SHA256) < 0)
		return;
	gnutls_hash(hd, h->auth_salt, sizeof h->auth_salt);
	gnutls_hash(hd, &user, sizeof user);
	gnutls_hash(hd, pass, strlen(pass));
	gnutls_hash_deinit(hd, out);
}

/* C_COUNT: let the request through; else the canned answer that refuses it. */
static enum canned check_auth(struct rw_http *h, struct MHD_Connection *c)
{
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(c, &pass);
	enum canned ret = C_UNAUTHORIZED;
	if (!user || !pass)
		goto out;
	unsigned idx = RW_WEB_MAX_USERS;
	for (unsigned i = 0; i < h->web->n_users; i++)
		if (!strcmp(h->web->users[i].name, user))
			idx = i;
	uint8_t dig[32];
	auth_digest(h, idx, pass, dig);
	if (idx < RW_WEB_MAX_USERS && h->auth_ok[idx] && ct_equal(dig, h->auth_cache[idx], sizeof dig)) {
		ret = C_COUNT;
		goto out;
	}
	uint64_t now = rw_mono_ns();
	if (now - h->auth_window_ns >= 1000000000ull) {
		h->auth_window_ns = now;
		h->auth_checks = 0;
	}
	if (h->auth_checks >= AUTH_BCRYPT_PER_S) {
		ret = C_AUTH_BUSY;
		goto out;
	}
	h->auth_checks++;
	/* A fixed valid hash for unknown users, so they cost the same bcrypt. */
	const char *want = idx < RW_WEB_MAX_USERS ? h->web->users[idx].hash
						  : "$2b$10$CwTycUXWue0Thq9StjUM0uJ8DPLKXt1FYlwYpQW5h.NYFnn9Jm3LS";
	const char *got = crypt_r(pass, want, h->crypt);
	if (idx < RW_WEB_MAX_USERS && got && strlen(got) == strlen(want) && ct_equal(got, want, strlen(want))) {
		memcpy(h->auth_cache[idx], dig, sizeof dig);
		h->auth_ok[idx] = true;
		ret = C_COUNT;
	}
out:
	if (ret == C_UNAUTHORIZED)
		atomic_fetch_add_explicit(&h->auth_failures, 1, memory_order_relaxed);
	MHD_free(user);
	MHD_free(pass);
	return ret;
}

static void conn_request_arrived(struct MHD_Connection *c);

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct rw_http *h = cls;
	enum { R_ROOT, R_METRICS, R_VERDICTS, R_ONE, R_HEALTHZ, R_NONE } route;
	uint64_t id = 0;

	static char seen;   /* marks a request whose first callback has passed */
	bool safe = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);

	(void)version;
	(void)upload_data;

	if (*con_cls == NULL)
		conn_request_arrived(c);

	/* libmicrohttpd 0.9.75 closes a connection whose response was queued in the request's first callback (it
	 * cannot know yet that no body follows), so GET and HEAD are answered on the second one, which keeps
	 * scrapers' connections alive. A body sent with them is read and dropped. Other methods are answered at
	 * once and their connection closed. */
	if (safe && *con_cls == NULL) {
		*con_cls = &seen;
		return MHD_YES;
	}
	if (safe && *upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (!strcmp(url, "/"))
		route = R_ROOT;
	else if (!strcmp(url, "/metrics"))
		route = R_METRICS;
	else if (!strcmp(url, "/verdicts"))
		route = R_VERDICTS;
	else if (!strcmp(url, "/healthz"))
		route = R_HEALTHZ;
	else if (!strncmp(url, "/verdicts/", 10) && parse_id(url + 10, &id))
		route = R_ONE;
	else
		route = R_NONE;
	/* /healthz answers without credentials (a liveness probe has none, and it tells only "ok" or "stalled");
	 * every other path, unknown ones included, needs them when users are configured. */
	if (route != R_HEALTHZ && h->web && h->web->n_users) {
		enum canned deny = check_auth(h, c);
		if (deny != C_COUNT)
			return queue_canned(h, c, deny);
	}
	if (route == R_NONE)
		return queue_canned(h, c, C_NOT_FOUND);
	if (!safe)
		return queue_canned(h, c, C_NOT_ALLOWED);

	if (route == R_ROOT)
		return queue_canned(h, c, C_ROOT);
	if (route == R_HEALTHZ) {
		pthread_mutex_lock(&h->mu);
		uint64_t last = h->last_publish_ns, ivl = h->interval_ms;
		pthread_mutex_unlock(&h->mu);
		if (!last)
			return queue_canned(h, c, C_HEALTH_STARTING);
		return queue_canned(h, c, rw_mono_ns() - last <= 3 * ivl * 1000000u ? C_HEALTH_OK : C_HEALTH_STALLED);
	}

	struct snap *s = snap_acquire(h);
	if (!s)
		return queue_canned(h, c, C_NOT_READY);
	if (route == R_METRICS) {
		const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
		const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
		unsigned which = rw_expo_negotiate(accept) == RW_EXPO_PROTOBUF;
		if (which) {
			atomic_store_explicit(&h->proto_wanted_ns, rw_mono_ns(), memory_order_relaxed);
			if (!s->have_proto)
				which = 0; /* rendered from the next interval on; text until then */
		}
		const char *type = which ? RW_EXPO_PROTO_TYPE : RW_EXPO_TEXT_TYPE;
		const struct rw_buf *body = which ? &s->proto : &s->text, *z;
		if (accepts_gzip(ae)) {
			atomic_store_explicit(&h->gzip_wanted_ns[which], rw_mono_ns(), memory_order_relaxed);
			if ((z = snap_gzip(s, which)))
				return queue_slice(c, s, z->data, z->len, type, true, true);
		}
		return queue_slice(c, s, body->data, body->len, type, true, false);
	}
	if (route == R_VERDICTS)
		return queue_slice(c, s, s->json.data, s->json.len, RW_EXPO_JSON_TYPE, false, false);

	struct rw_verdict_slice key = { .cgroup_id = id };
	const struct rw_verdict_slice *hit = bsearch(&key, s->slices, s->n_slices, sizeof key, slice_cmp);
	if (!hit) {
		snap_release(s);
		return queue_canned(h, c, C_NO_TARGET);
	}
	return queue_slice(c, s, s->json.data + hit->off, hit->len, RW_EXPO_JSON_TYPE, false, false);
}

/* ---- the connection pool: deadlines and fair eviction --------------------------------------------------------
 *
 * libmicrohttpd's own limits refuse a new connection when the pool or a client's share is full, and its timeout
 * counts inactivity only, so slow or idle clients could hold every slot for as long as they liked. Here the pool
 * never refuses: a connection over a limit displaces the oldest connection still waiting for its request, and a
 * sweep closes any connection whose request headers took longer than the header deadline or whose response took
 * longer than the response deadline. Closing is shutdown(2) of the socket, which MHD sees as the peer leaving;
 * it then closes and reports the connection (MHD_CONNECTION_NOTIFY_CLOSED). All of this runs on the serving
 * thread, between MHD_run() calls, so a struct conn and its fd can never be used after MHD closed them. */

enum evict_reason { EV_HEADER_DEADLINE, EV_RESPONSE_DEADLINE, EV_DISPLACED };

static void conn_evict(struct rw_http *h, struct conn *k, enum evict_reason why)
{
	if (k->evicted)
		return;
	k->evicted = true;
	h->n_live--;
	shutdown(k->fd, SHUT_RDWR);
	atomic_fetch_add_explicit(&h->evicted_total[why], 1, memory_order_relaxed);
}

/* Eviction order: never the newcomer; first connections that never completed a request, then idle keep-alive
 * ones, then those mid-response; the oldest first within each. `same` restricts it to one client address. */
static struct conn *pick_victim(struct rw_http *h, const struct conn *newcomer, const uint8_t *same)
{
	struct conn *best = NULL;
	unsigned best_rank = 0;
	for (unsigned i = 0; i < h->n_conns; i++) {
		struct conn *k = h->conns[i];
		if (k == newcomer || k->evicted || (same && memcmp(k->addr, same, sizeof k->addr)))
			continue;
		unsigned rank = k->busy ? 1 : k->served ? 2 : 3;
		if (!best || rank > best_rank || (rank == best_rank && k->since_ns < best->since_ns)) {
			best = k;
			best_rank = rank;
		}
	}
	return best;
}

static void conn_address(struct MHD_Connection *c, uint8_t out[17])
{
	memset(out, 0, 17);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			out[0] = 4;
			memcpy(out + 1, a6->s6_addr + 12, 4);
		} else {
			out[0] = 6;
			memcpy(out + 1, a6->s6_addr, 16);
		}
	}
}

static void conn_started(struct rw_http *h, struct MHD_Connection *c, void **socket_context)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	int fd = ci ? ci->connect_fd : -1;
	struct conn *k = NULL;

	if (h->n_conns == h->cap_conns) {
		unsigned cap = h->cap_conns ? h->cap_conns * 2 : 64;
		struct conn **n = realloc(h->conns, cap * sizeof *n);
		if (n) {
			h->conns = n;
			h->cap_conns = cap;
		}
	}
	if (fd < 0 || h->n_conns == h->cap_conns || !(k = calloc(1, sizeof *k))) {
		/* Untracked, it could not be bounded: refuse it. */
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		*socket_context = NULL;
		return;
	}
	k->fd = fd;
	k->since_ns = rw_mono_ns();
	conn_address(c, k->addr);
	k->idx = h->n_conns;
	h->conns[h->n_conns++] = k;
	h->n_live++;
	*socket_context = k;

	/* A client that closed its side while queued in the backlog (a flood that connects, sends and closes at
	 * once) is not served while others wait behind it or the pool is half full: its answer most likely goes
	 * nowhere, and serving thousands of them would delay everyone queued after them. With room to spare it is
	 * served, as a client that only half-closed expects. */
	struct tcp_info ti;
	socklen_t tl = sizeof ti;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 && ti.tcpi_state == TCP_CLOSE_WAIT) {
		struct tcp_info li;   /* on a listening socket, tcpi_unacked is the accept queue's length */
		socklen_t ll = sizeof li;
		bool queued = getsockopt(h->listen_fd, IPPROTO_TCP, TCP_INFO, &li, &ll) == 0 && li.tcpi_unacked > 0;
		if (queued || h->n_live > h->max_conns / 2) {
			conn_evict(h, k, EV_DISPLACED);
			return;
		}
	}

	if (h->per_ip) {
		unsigned same = 0;
		for (unsigned i = 0; i < h->n_conns; i++)
			same += !h->conns[i]->evicted && !memcmp(h->conns[i]->addr, k->addr, sizeof k->addr);
		if (same > h->per_ip) {
			struct conn *v = pick_victim(h, k, k->addr);
			conn_evict(h, v ? v : k, EV_DISPLACED);
		}
	}
	if (h->n_live > h->max_conns) {
		struct conn *v = pick_victim(h, k, NULL);
		conn_evict(h, v ? v : k, EV_DISPLACED);
	}
}

static void conn_closed(struct rw_http *h, void **socket_context)
{
	struct conn *k = *socket_context;
	if (!k)
		return;
	if (!k->evicted)
		h->n_live--;
	struct conn *last = h->conns[--h->n_conns];
	h->conns[k->idx] = last;
	last->idx = k->idx;
	free(k);
	*socket_context = NULL;
}

static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct rw_http *h = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		conn_started(h, c, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		conn_closed(h, socket_context);
}

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

/* A request's headers are in: from now the response deadline applies. */
static void conn_request_arrived(struct MHD_Connection *c)
{
	struct conn *k = conn_of(c);
	if (k && !k->busy) {
		k->busy = true;
		k->since_ns = rw_mono_ns();
	}
}

/* The response is done (or the request failed): the connection waits for its next request, under the header
 * deadline again. */
static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con_cls;
	(void)toe;
	struct conn *k = conn_of(c);
	if (k) {
		k->busy = false;
		k->served = true;
		k->since_ns = rw_mono_ns();
	}
}

static void sweep(struct rw_http *h)
{
	uint64_t now = rw_mono_ns();
	for (unsigned i = 0; i < h->n_conns; i++) {
		struct conn *k = h->conns[i];
		if (k->evicted)
			continue;
		if (!k->busy && now - k->since_ns > h->header_deadline_ns)
			conn_evict(h, k, EV_HEADER_DEADLINE);
		else if (k->busy && now - k->since_ns > h->response_deadline_ns)
			conn_evict(h, k, EV_RESPONSE_DEADLINE);
	}
}

/* The serving thread: MHD's epoll set and the wake-up eventfd, at most SWEEP_MS between sweeps. */
#define SWEEP_MS 100

static void *serve(void *arg)
{
	struct rw_http *h = arg;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	struct pollfd pf[2] = { { .fd = di ? di->epoll_fd : -1, .events = POLLIN }, { .fd = h->wake_fd, .events = POLLIN } };

	while (!atomic_load_explicit(&h->stopping, memory_order_acquire)) {
		MHD_UNSIGNED_LONG_LONG to;
		int ms = SWEEP_MS;
		if (MHD_get_timeout(h->d, &to) == MHD_YES && to < (MHD_UNSIGNED_LONG_LONG)ms)
			ms = (int)to;
		if (poll(pf, 2, ms) < 0 && errno != EINTR)
			rw_log_warn("http", "poll: %s", strerror(errno));
		MHD_run(h->d);
		sweep(h);
	}
	return NULL;
}

/* libmicrohttpd's %-decoding of the path, except that %00 stays as it is: a decoded NUL would end the path
 * early for every C string comparison after it ("/verdicts/386%00junk" would look like "/verdicts/386"). */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	char *w = s;
	for (const char *r = s; *r;) {
		int hi, lo;
		if (r[0] == '%' && (hi = hexval(r[1])) >= 0 && (lo = hexval(r[2])) >= 0 && (hi | lo)) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* Mostly per-connection trouble (bad requests, limits hit, resets): normal life for a server. */
	rw_log_debug("http", "libmicrohttpd: %s", msg);
}

/* ---- start / stop ----------------------------------------------------------------------------------------- */

static const char root_html[] =
	"<!DOCTYPE html>\n<html><head><title>rigwatch</title></head><body>\n<h1>rigwatch</h1>\n"
	"<p>Cryptocurrency miner detection per cgroup.</p>\n<ul>\n"
	"<li><a href=\"/metrics\">/metrics</a></li>\n<li><a href=\"/verdicts\">/verdicts</a></li>\n"
	"<li><a href=\"/healthz\">/healthz</a></li>\n</ul>\n</body></html>\n";

static int make_canned(struct rw_http *h)
{
	static const struct {
		const char *body, *type;
	} bodies[C_COUNT] = {
		[C_NOT_FOUND] = { "not found\n", "text/plain; charset=utf-8" },
		[C_NOT_ALLOWED] = { "method not allowed\n", "text/plain; charset=utf-8" },
		[C_NOT_READY] = { "no report yet\n", "text/plain; charset=utf-8" },
		[C_HEALTH_OK] = { "ok\n", "text/plain; charset=utf-8" },
		[C_HEALTH_STARTING] = { "starting\n", "text/plain; charset=utf-8" },
		[C_HEALTH_STALLED] = { "stalled: no report in 3 intervals\n", "text/plain; charset=utf-8" },
		[C_NO_TARGET] = { "{\"error\":\"unknown cgroup_id\"}\n", RW_EXPO_JSON_TYPE },
		[C_ROOT] = { root_html, "text/html; charset=utf-8" },
		[C_UNAUTHORIZED] = { "unauthorized\n", "text/plain; charset=utf-8" },
		[C_AUTH_BUSY] = { "too many password checks; retry in a second\n", "text/plain; charset=utf-8" },
	};
	for (unsigned i = 0; i < C_COUNT; i++) {
		h->canned[i] = MHD_create_response_from_buffer(strlen(bodies[i].body), (void *)bodies[i].body,
							       MHD_RESPMEM_PERSISTENT);
		if (!h->canned[i])
			return -ENOMEM;
		MHD_add_response_header(h->canned[i], MHD_HTTP_HEADER_CONTENT_TYPE, bodies[i].type);
		if (i == C_NOT_ALLOWED)
			MHD_add_response_header(h->canned[i], MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		if (i == C_AUTH_BUSY)
			MHD_add_response_header(h->canned[i], MHD_HTTP_HEADER_RETRY_AFTER, "1");
	}
	return 0;
}

/* Split "host:port", "[v6]:port" or ":port". */
static int split_address(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = addr;
	size_t hn;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = addr + 1;
		hn = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -EINVAL;
		hn = (size_t)(colon - addr);
		if (memchr(addr, ':', hn))   /* an IPv6 address needs brackets */
			return -EINVAL;
	}
	const char *p = colon + 1;
	size_t pn = strlen(p);
	if (hn >= hostlen || pn == 0 || pn >= portlen || pn > 5 || strspn(p, "0123456789") != pn || atoi(p) > 65535)
		return -EINVAL;
	memcpy(host, h, hn);
	host[hn] = '\0';
	memcpy(port, p, pn + 1);
	return 0;
}

static int bind_one(const struct sockaddr *sa, socklen_t salen, int *fd_out)
{
	int one = 1, zero = 0;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (sa->sa_family == AF_INET6)   /* "[::]:port" and ":port" serve IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	if (bind(fd, sa, salen) < 0 || listen(fd, SOMAXCONN) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*fd_out = fd;
	return 0;
}

static int open_listener(const char *addr, int *fd_out, int *family, char *err, size_t errlen)
{
	char host[128], port[8];
	int rc = split_address(addr, host, sizeof host, port, sizeof port);
	if (rc) {
		snprintf(err, errlen, "listen address \"%s\": expected host:port, [ipv6]:port or :port", addr);
		return rc;
	}
	if (!host[0]) {
		/* every address: dual-stack IPv6 where the host has it, else IPv4 */
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port)),
					   .sin6_addr = IN6ADDR_ANY_INIT };
		struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)),
					  .sin_addr.s_addr = htonl(INADDR_ANY) };
		if ((rc = bind_one((struct sockaddr *)&s6, sizeof s6, fd_out)) == 0) {
			*family = AF_INET6;
			return 0;
		}
		if ((rc = bind_one((struct sockaddr *)&s4, sizeof s4, fd_out)) == 0) {
			*family = AF_INET;
			return 0;
		}
		snprintf(err, errlen, "listen %s: %s", addr, strerror(-rc));
		return rc;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE }, *res = NULL;
	int g = getaddrinfo(host, port, &hints, &res);
	if (g) {
		snprintf(err, errlen, "listen %s: %s", addr, gai_strerror(g));
		return -EINVAL;
	}
	rc = -EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if ((rc = bind_one(ai->ai_addr, ai->ai_addrlen, fd_out)) == 0) {
			*family = ai->ai_family;
			break;
		}
	}
	freeaddrinfo(res);
	if (rc)
		snprintf(err, errlen, "listen %s: %s", addr, strerror(-rc));
	return rc;
}

int rw_http_start(struct rw_http **out, const struct rw_config *cfg, char *err, size_t errlen)
{
	struct rw_http *h;
	int fd = -1, family = AF_INET, rc;

	*out = NULL;
	if (!(h = calloc(1, sizeof *h))) {
		snprintf(err, errlen, "http: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&h->mu, NULL);
	h->wake_fd = -1;
	h->interval_ms = cfg->interval_ms ? cfg->interval_ms : 1000;
	if ((rc = make_canned(h))) {
		snprintf(err, errlen, "http: out of memory");
		goto out;
	}
	if ((rc = open_listener(cfg->listen_address, &fd, &family, err, errlen)))
		goto out;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);

	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) != MHD_YES) {
		snprintf(err, errlen, "http: this libmicrohttpd lacks epoll support");
		rc = -ENOTSUP;
		goto out;
	}
	h->max_conns = cfg->http_max_connections;
	h->per_ip = cfg->http_per_ip_connections;
	unsigned header_s = cfg->http_timeout_s < RW_HTTP_HEADER_DEADLINE_S ? cfg->http_timeout_s
									     : RW_HTTP_HEADER_DEADLINE_S;
	h->header_deadline_ns = header_s * 1000000000ull;
	h->response_deadline_ns = RW_HTTP_RESPONSE_DEADLINE_S * 1000000000ull;
	if ((h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "http: eventfd: %s", strerror(errno));
		goto out;
	}

	bool tls = false;
	if (cfg->http_web_config_file[0]) {
		if (!(h->web = malloc(sizeof *h->web)) || !(h->crypt = calloc(1, sizeof *h->crypt))) {
			snprintf(err, errlen, "http: out of memory");
			rc = -ENOMEM;
			goto out;
		}
		if ((rc = rw_webconfig_load(h->web, cfg->http_web_config_file, err, errlen)) < 0) {
			rc = -EINVAL;   /* the operator's file: a usage error */
			goto out;
		}
		if (getrandom(h->auth_salt, sizeof h->auth_salt, 0) != (ssize_t)sizeof h->auth_salt) {
			snprintf(err, errlen, "http: getrandom: %s", strerror(errno));
			rc = -EIO;
			goto out;
		}
		if (h->web->cert_file[0]) {
			size_t n;
			if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
				snprintf(err, errlen, "%s: TLS asked for, but this libmicrohttpd has no TLS support",
					 cfg->http_web_config_file);
				rc = -ENOTSUP;
				goto out;
			}
			if ((rc = rw_read_regular_file(h->web->cert_file, 1u << 20, &h->tls_cert, &n, err, errlen)) ||
			    (rc = rw_read_regular_file(h->web->key_file, 1u << 20, &h->tls_key, &n, err, errlen)))
				goto out;
			tls = true;
		}
	}

	/* No internal thread: serve() runs MHD so that the pool bookkeeping shares its thread. MHD's own limit
	 * only bounds sockets while displaced connections wait to be closed; the pool limit is enforced above it. */
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0);
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem tls_opts[] = {
		{ tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, h->tls_key },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert },
		{ MHD_OPTION_END, 0, NULL },
	};
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, h,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)NULL,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(cfg->http_max_connections * 2 + 8),
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->http_timeout_s,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->http_memory_limit,
				MHD_OPTION_NOTIFY_CONNECTION, notify_connection, (void *)h,
				MHD_OPTION_NOTIFY_COMPLETED, request_completed, (void *)h,
				MHD_OPTION_UNESCAPE_CALLBACK, unescape, (void *)h,
				MHD_OPTION_ARRAY, tls_opts,
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "listen %s: libmicrohttpd failed to start (run with log level debug for why)",
			 cfg->listen_address);
		rc = -EIO;
		goto out;
	}
	h->listen_fd = fd;
	fd = -1;   /* MHD owns it now and closes it in MHD_stop_daemon */
	if ((rc = -pthread_create(&h->thread, NULL, serve, h))) {
		snprintf(err, errlen, "http: cannot start the serving thread: %s", strerror(-rc));
		goto out;
	}
	h->thread_started = true;
	if (h->web)
		rw_log_info("http", "web config %s: %s, %u basic-auth user%s (/healthz open)",
			    cfg->http_web_config_file, tls ? "TLS" : "no TLS", h->web->n_users,
			    h->web->n_users == 1 ? "" : "s");
	rw_log_info("http", "listening on %s (port %u): max %u connections, %u per client, request headers "
		    "within %us, responses within %us, %us idle timeout, %u bytes per connection",
		    cfg->listen_address, h->port, cfg->http_max_connections, cfg->http_per_ip_connections, header_s,
		    RW_HTTP_RESPONSE_DEADLINE_S, cfg->http_timeout_s, cfg->http_memory_limit);
	*out = h;
	h = NULL;
out:
	if (fd >= 0)
		close(fd);
	rw_http_stop(h);
	return rc;
}

unsigned rw_http_port(const struct rw_http *h)
{
	return h->port;
}

void rw_http_stop(struct rw_http *h)
{
	if (!h)
		return;
	if (h->thread_started) {
		atomic_store_explicit(&h->stopping, true, memory_order_release);
		uint64_t one = 1;
		if (write(h->wake_fd, &one, sizeof one) < 0)
			rw_log_debug("http", "wake: %s", strerror(errno));
		pthread_join(h->thread, NULL);
	}
	if (h->d)
		MHD_stop_daemon(h->d);   /* closes every connection and destroys every response, releasing snapshots */
	free(h->conns);
	free(h->web);
	free(h->crypt);
	free(h->tls_cert);
	if (h->tls_key) {
		explicit_bzero(h->tls_key, strlen(h->tls_key));
		free(h->tls_key);
	}
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	for (unsigned i = 0; i < C_COUNT; i++)
		if (h->canned[i])
			MHD_destroy_response(h->canned[i]);
	if (h->cur && snap_unref(h->cur))
		snap_free(h->cur);
	snap_free(h->spare);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
