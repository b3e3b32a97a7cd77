/* alerts: Falco-compatible JSON lines on verdict changes.
 *
 * Field shapes follow falcosecurity/falco userspace/engine/formats.cpp: "time" RFC 3339 UTC with nanoseconds,
 * "priority" one of Falco's names, "output" starting with "<time>: <Priority> ", "output_fields" with dotted keys
 * (Falco's own names where one exists: container.id, container.type, k8s.pod.uid, proc.pid, proc.name,
 * proc.exepath, user.uid; rigwatch.* for the rest), "tags" an array. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/alerts.h"
#include "rigwatch/respond.h"
#include "rigwatch/features.h"
#include "rigwatch/exposition.h"
#include "rigwatch/log.h"

#ifndef RW_VERSION
#define RW_VERSION "unknown"
#endif

/* The HTTP sink: a sender thread with a bounded queue of rendered lines. The sampling thread only takes the lock
 * to append a pointer (or drop the line when the queue is full); every network wait happens on the sender. */
struct http_sink {
	char host[256], port[8], path[512], hostport[300];
	unsigned retries, timeout_ms, cap;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wake_fd;            /* eventfd: close cuts a POST in flight short */
	char **q;               /* ring of malloc'd bodies */
	unsigned head, n;
	bool stop, failing;
};

struct rw_alerts {
	FILE *fp;            /* NULL: the output sink is off */
	bool own;            /* fp is a file we opened */
	bool failing;        /* last write failed: log the next failure only after a success */
	char path[RW_CONFIG_PATH_LEN];
	struct rw_buf line;
	int syslog_fd;       /* -1: off */
	bool syslog_failing;
	struct sockaddr_un syslog_addr;
	struct http_sink *http;
	pthread_mutex_t stats_mu;
	struct rw_alerts_stats stats;
};

static void count(struct rw_alerts *a, uint64_t *field)
{
	pthread_mutex_lock(&a->stats_mu);
	(*field)++;
	pthread_mutex_unlock(&a->stats_mu);
}

/* "http://host[:port][/path]" (host may be [v6]). https is not spoken: put a local relay (falcosidekick itself,
 * a sidecar) in front of a TLS endpoint. */
static int parse_url(struct http_sink *h, const char *url, char *err, size_t errlen)
{
	const char *p = url, *hs, *he, *ps = NULL;
	if (strncmp(p, "http://", 7)) {
		snprintf(err, errlen, "alerts.http_url %s: only http:// URLs are supported", url);
		return -EINVAL;
	}
	p += 7;
	if (*p == '[') {
		hs = p + 1;
		if (!(he = strchr(hs, ']'))) {
			snprintf(err, errlen, "alerts.http_url %s: unterminated [IPv6 address]", url);
			return -EINVAL;
		}
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/?#");
		p = he;
	}
	if (*p == ':') {
		ps = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == ps || p - ps > 5 || atoi(ps) < 1 || atoi(ps) > 65535) {
			snprintf(err, errlen, "alerts.http_url %s: bad port", url);
			return -EINVAL;
		}
	}
	if (*p && *p != '/') {
		snprintf(err, errlen, "alerts.http_url %s: expected /path after the host", url);
		return -EINVAL;
	}
	if (he == hs || (size_t)(he - hs) >= sizeof h->host || strlen(p) >= sizeof h->path) {
		snprintf(err, errlen, "alerts.http_url %s: empty or too long host or path", url);
		return -EINVAL;
	}
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen, "alerts.http_url: control character or space in the URL");
			return -EINVAL;
		}
	snprintf(h->host, sizeof h->host, "%.*s", (int)(he - hs), hs);
	if (ps)
		snprintf(h->port, sizeof h->port, "%.*s", (int)(p - ps), ps);
	else
		strcpy(h->port, "80");
	snprintf(h->path, sizeof h->path, "%s", *p ? p : "/");
	snprintf(h->hostport, sizeof h->hostport, "%s%s%s:%s", strchr(h->host, ':') ? "[" : "", h->host,
		 strchr(h->host, ':') ? "]" : "", h->port);
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait for fd to be ready for `events` until deadline (mono ms) or until close wakes wake_fd. 0, -ETIMEDOUT,
 * -ECANCELED or a negative errno. */
static int wait_fd(int fd, short events, uint64_t deadline, int wake_fd)
{
	for (;;) {
		uint64_t now = mono_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd pfd[2] = { { .fd = fd, .events = events }, { .fd = wake_fd, .events = POLLIN } };
		int r = poll(pfd, 2, (int)(deadline - now));
		if (r > 0 && pfd[1].revents)
			return -ECANCELED;
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* One POST. Returns the HTTP status (>= 100) or a negative errno; why gets a line for the log. */
static int http_post_once(const struct http_sink *h, const char *body, char *why, size_t whylen)
{
	uint64_t deadline = mono_ms() + h->timeout_ms;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai = NULL;
	int r = getaddrinfo(h->host, h->port, &hints, &ai), fd = -1;
	if (r) {
		snprintf(why, whylen, "resolve %s: %s", h->host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	r = -ECONNREFUSED;
	for (struct addrinfo *p = ai; p && fd < 0; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		if (connect(fd, p->ai_addr, p->ai_addrlen) == 0)
			break;
		r = errno == EINPROGRESS ? wait_fd(fd, POLLOUT, deadline, h->wake_fd) : -errno;
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
			r = -soerr;
		if (r == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(why, whylen, "connect %s: %s", h->hostport, strerror(-r));
		return r;
	}
	struct rw_buf req = RW_BUF_INIT;
	size_t blen = strlen(body);
	rw_buf_printf(&req, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: rigwatch/%s\r\n"
			    "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		      h->path, h->hostport, RW_VERSION, blen);
	rw_buf_append(&req, body, blen);
	r = req.err;
	for (size_t off = 0; r == 0 && off < req.len;) {
		ssize_t w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && (errno == EAGAIN || errno == EINTR))
			r = wait_fd(fd, POLLOUT, deadline, h->wake_fd);
		else
			r = w < 0 ? -errno : -EPIPE;
	}
	rw_buf_free(&req);
	/* the status line is all we need: "HTTP/1.x NNN" */
	char resp[64];
	size_t got = 0;
	while (r == 0 && got < 12) {
		ssize_t n = recv(fd, resp + got, sizeof resp - 1 - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && (errno == EAGAIN || errno == EINTR))
			r = wait_fd(fd, POLLIN, deadline, h->wake_fd);
		else
			r = n < 0 ? -errno : -ECONNRESET;
	}
	close(fd);
	if (r < 0) {
		snprintf(why, whylen, "POST http://%s%.200s: %s", h->hostport, h->path, strerror(-r));
		return r;
	}
	resp[got] = '\0';
	int status = 0;
	if (sscanf(resp, "HTTP/%*d.%*d %3d", &status) != 1 || status < 100) {
		snprintf(why, whylen, "POST http://%s%.200s: not an HTTP answer", h->hostport, h->path);
		return -EPROTO;
	}
	snprintf(why, whylen, "POST http://%s%.200s: HTTP %d", h->hostport, h->path, status);
	return status;
}

/* Worth another try: the network, a timeout, a server error, 408 and 429. A 4xx is the receiver refusing the
 * body, which a retry does not change. */
static bool retryable(int st)
{
	return st < 0 || st >= 500 || st == 408 || st == 429;
}

static void *http_sender(void *arg)
{
	struct rw_alerts *a = arg;
	struct http_sink *h = a->http;
	uint64_t stop_deadline = 0;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->n && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->n)
			break;
		if (h->stop && !stop_deadline)
			stop_deadline = mono_ms() + 2000;
		if (stop_deadline && mono_ms() >= stop_deadline) {
			/* closing: what is left after the grace period is dropped, and counted */
			while (h->n) {
				free(h->q[h->head]);
				h->head = (h->head + 1) % h->cap;
				h->n--;
				count(a, &a->stats.dropped[RW_ALERT_SINK_HTTP]);
			}
			break;
		}
		char *body = h->q[h->head];
		h->head = (h->head + 1) % h->cap;
		h->n--;
		pthread_mutex_unlock(&h->mu);

		char why[1024];
		int st = -EIO;
		unsigned tries = 0;
		for (unsigned attempt = 0;; attempt++) {
			st = http_post_once(h, body, why, sizeof why);
			tries++;
			if ((st >= 200 && st < 300) || !retryable(st) || attempt >= h->retries)
				break;
			/* backoff 250 ms, 500 ms, 1 s ... up to 5 s; cut short by close, which allows no more retries */
			unsigned ms = 250u << (attempt < 5 ? attempt : 5);
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += (ms > 5000 ? 5000 : ms) / 1000;
			until.tv_nsec += (long)((ms > 5000 ? 5000 : ms) % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&h->mu);
			while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &until) != ETIMEDOUT)
				;
			bool stopping = h->stop;
			pthread_mutex_unlock(&h->mu);
			if (stopping)
				break;
		}
		free(body);
		bool ok = st >= 200 && st < 300;
		pthread_mutex_lock(&a->stats_mu);
		if (ok)
			a->stats.sent[RW_ALERT_SINK_HTTP]++;
		else if (st == -ECANCELED) /* cut short by close */
			a->stats.dropped[RW_ALERT_SINK_HTTP]++;
		else
			a->stats.failed[RW_ALERT_SINK_HTTP]++;
		pthread_mutex_unlock(&a->stats_mu);
		pthread_mutex_lock(&h->mu);
		if (!ok && !h->failing && st != -ECANCELED)
			rw_log_error("alerts", "%s; alert given up after %u %s (logged once until a POST succeeds)", why,
				     tries, tries == 1 ? "try" : "tries");
		h->failing = !ok;
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int http_open(struct rw_alerts *a, const struct rw_config *cfg, char *err, size_t errlen)
{
	struct http_sink *h = calloc(1, sizeof *h);
	int r;
	if (!h)
		return -ENOMEM;
	if ((r = parse_url(h, cfg->alerts_http_url, err, errlen)) < 0) {
		free(h);
		return r;
	}
	h->retries = cfg->alerts_http_retries;
	h->timeout_ms = cfg->alerts_http_timeout_ms ? cfg->alerts_http_timeout_ms : 2000;
	h->cap = cfg->alerts_http_queue ? cfg->alerts_http_queue : 1;
	if (!(h->q = calloc(h->cap, sizeof *h->q))) {
		free(h);
		return -ENOMEM;
	}
	if ((h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		r = -errno;
		snprintf(err, errlen, "alerts.http_url: eventfd: %s", strerror(-r));
		free(h->q);
		free(h);
		return r;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	a->http = h;
	if ((r = pthread_create(&h->thread, NULL, http_sender, a)) != 0) {
		snprintf(err, errlen, "alerts.http_url: starting the sender thread: %s", strerror(r));
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		close(h->wake_fd);
		free(h->q);
		free(h);
		a->http = NULL;
		return -r;
	}
	return 0;
}

static void http_close(struct rw_alerts *a)
{
	struct http_sink *h = a->http;
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	/* what is queued gets up to 2 s (the sender's own deadline); then a POST still in flight is cut short */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3;
	if (pthread_timedjoin_np(h->thread, NULL, &until) != 0) {
		uint64_t one = 1;
		if (write(h->wake_fd, &one, sizeof one) < 0)
			rw_log_debug("alerts", "waking the HTTP sender: %s", strerror(errno));
		pthread_join(h->thread, NULL);
	}
	close(h->wake_fd);
	while (h->n) {
		free(h->q[h->head]);
		h->head = (h->head + 1) % h->cap;
		h->n--;
	}
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h->q);
	free(h);
	a->http = NULL;
}

/* Hand the line (without its newline) to the sender; never waits on the network. */
static void http_enqueue(struct rw_alerts *a, const char *line, size_t len)
{
	struct http_sink *h = a->http;
	char *body = malloc(len + 1);
	bool queued = false;
	if (body) {
		memcpy(body, line, len);
		body[len] = '\0';
		pthread_mutex_lock(&h->mu);
		if (h->n < h->cap) {
			h->q[(h->head + h->n) % h->cap] = body;
			h->n++;
			queued = true;
			pthread_cond_signal(&h->cv);
		}
		pthread_mutex_unlock(&h->mu);
	}
	if (!queued) {
		free(body);
		count(a, &a->stats.dropped[RW_ALERT_SINK_HTTP]);
	}
}

/* Falco's priority names to syslog severities (RFC 5424 numbering). */
static int syslog_severity(const char *priority)
{
	static const char *const names[] = { "Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
					     "Informational", "Debug" };
	for (int i = 0; i < 8; i++)
		if (!strcmp(priority, names[i]))
			return i;
	return 5;
}

/* One datagram, as syslog(3) would send it (facility daemon, RFC 3164 header), but MSG_DONTWAIT: a syslog daemon
 * that has stopped reading costs a dropped alert (counted), never a stalled sampling loop. sendto() each time, so
 * a restarted daemon is found again. */
static void syslog_send(struct rw_alerts *a, const char *priority, const char *line, size_t len)
{
	char hdr[64], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
	int hl = snprintf(hdr, sizeof hdr, "<%d>%s rigwatch[%ld]: ", 3 * 8 + syslog_severity(priority), stamp,
			  (long)getpid());
	struct iovec iov[2] = { { hdr, (size_t)hl }, { (void *)line, len } };
	struct msghdr mh = { .msg_name = &a->syslog_addr, .msg_namelen = sizeof a->syslog_addr, .msg_iov = iov,
			     .msg_iovlen = 2 };
	if (sendmsg(a->syslog_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
		count(a, &a->stats.sent[RW_ALERT_SINK_SYSLOG]);
		a->syslog_failing = false;
		return;
	}
	int e = errno;
	if (e == EAGAIN || e == ENOBUFS) {
		count(a, &a->stats.dropped[RW_ALERT_SINK_SYSLOG]);
		return;
	}
	count(a, &a->stats.failed[RW_ALERT_SINK_SYSLOG]);
	if (!a->syslog_failing)
		rw_log_error("alerts", "syslog %s: %s", a->syslog_addr.sun_path, strerror(e));
	a->syslog_failing = true;
}

int rw_alerts_open(struct rw_alerts **out, const struct rw_config *cfg, char *err, size_t errlen)
{
	struct rw_alerts *a = calloc(1, sizeof *a);
	int r;

	*out = NULL;
	if (!a) {
		snprintf(err, errlen, "alerts: out of memory");
		return -ENOMEM;
	}
	a->syslog_fd = -1;
	pthread_mutex_init(&a->stats_mu, NULL);
	snprintf(a->path, sizeof a->path, "%s", cfg->alerts_output);
	if (cfg->alerts_syslog) {
		if (!cfg->alerts_syslog_socket[0] || strlen(cfg->alerts_syslog_socket) >= sizeof a->syslog_addr.sun_path) {
			snprintf(err, errlen, "alerts.syslog_socket \"%s\": empty or too long for a unix socket path",
				 cfg->alerts_syslog_socket);
			r = -EINVAL;
			goto fail;
		}
		a->syslog_addr.sun_family = AF_UNIX;
		strcpy(a->syslog_addr.sun_path, cfg->alerts_syslog_socket);
		if ((a->syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
			r = -errno;
			snprintf(err, errlen, "alerts.syslog: socket: %s", strerror(-r));
			goto fail;
		}
	}
	if (cfg->alerts_http_url[0] && (r = http_open(a, cfg, err, errlen)) < 0)
		goto fail;
	if (!strcmp(cfg->alerts_output, "stdout")) {
		a->fp = stdout;
	} else if (cfg->alerts_output[0]) {
		int fd = open(cfg->alerts_output, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0 || !(a->fp = fdopen(fd, "a"))) {
			r = -errno;
			if (fd >= 0)
				close(fd);
			snprintf(err, errlen, "alerts.output %s: %s", cfg->alerts_output, strerror(-r));
			goto fail;
		}
		a->own = true;
	}
	*out = a;
	return 0;
fail:
	rw_alerts_close(a);
	return r;
}

void rw_alerts_close(struct rw_alerts *a)
{
	if (!a)
		return;
	http_close(a);
	if (a->syslog_fd >= 0)
		close(a->syslog_fd);
	if (a->own && a->fp)
		fclose(a->fp);
	else if (a->fp)
		fflush(a->fp);
	rw_buf_free(&a->line);
	pthread_mutex_destroy(&a->stats_mu);
	free(a);
}

const char *rw_alert_sink_name(enum rw_alert_sink s)
{
	static const char *const names[RW_ALERT_SINKS] = { "output", "syslog", "http" };
	return (unsigned)s < RW_ALERT_SINKS ? names[s] : "?";
}

void rw_alerts_get_stats(struct rw_alerts *a, struct rw_alerts_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!a)
		return;
	pthread_mutex_lock(&a->stats_mu);
	*out = a->stats;
	pthread_mutex_unlock(&a->stats_mu);
}

/* A fixed char array from another module, as a terminated string. */
#define TERM(dst, src)                                  \
	do {                                            \
		memcpy(dst, src, sizeof(src));          \
		dst[sizeof(src)] = '\0';                \
	} while (0)

static void field_str(struct rw_buf *b, const char *key, const char *val)
{
	rw_buf_puts(b, ",\"");
	rw_buf_puts(b, key);
	rw_buf_puts(b, "\":");
	rw_buf_json_string(b, val);
}

static void field_u64(struct rw_buf *b, const char *key, uint64_t v)
{
	rw_buf_printf(b, ",\"%s\":%llu", key, (unsigned long long)v);
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]) || !s[i])
			return false;
	return true;
}

/* Falco's container/k8s/proc fields and ours for the workload's identity. */
static void identity_fields(struct rw_buf *b, const struct rw_sample *s)
{
	const struct rw_identity *id = &s->identity;
	if (id->id[0]) {
		/* Falco's container.id is the 12-character short form of a 64-hex id */
		char shortid[13];
		bool longhex = strlen(id->id) == 64 && all_hex(id->id, 64);
		snprintf(shortid, sizeof shortid, "%.12s", id->id);
		field_str(b, "container.id", longhex ? shortid : id->id);
		field_str(b, "container.full_id", id->id);
	}
	if (id->runtime[0])
		field_str(b, "container.type", id->runtime);
	if (id->name[0])
		field_str(b, "rigwatch.name", id->name);
	if (id->pod_uid[0])
		field_str(b, "k8s.pod.uid", id->pod_uid);
	if (id->slurm_job[0])
		field_str(b, "rigwatch.slurm_job", id->slurm_job);
	if (id->unit[0])
		field_str(b, "rigwatch.unit", id->unit);
	if (s->ind.n_origin) {
		const struct rw_proc_origin *o = &s->ind.origin[0];
		char comm[sizeof o->comm + 1], exe[sizeof o->exe + 1];
		TERM(comm, o->comm);
		TERM(exe, o->exe);
		field_u64(b, "proc.pid", (uint64_t)(o->pid > 0 ? o->pid : 0));
		field_str(b, "proc.name", comm);
		field_str(b, "proc.exepath", exe);
		field_u64(b, "user.uid", o->uid);
	}
}

/* Falco's container.name, container.image* fields from the engine's names, and the origin of a convicted
 * target's miner (rigwatch.origin.*: how it started, its process tree as "comm(pid) <- parent(pid) ..."). */
static void container_fields(struct rw_buf *b, const struct rw_report_target *t)
{
	const struct rw_container_meta *c = &t->container;
	if (c->have) {
		field_str(b, "container.name", c->name);
		field_str(b, "container.image", c->image);
		field_str(b, "container.image.repository", c->image_repository);
		field_str(b, "container.image.tag", c->image_tag);
		if (c->image_id[0])
			field_str(b, "container.image.id", c->image_id);
		if (c->started_ns) {
			struct rw_buf tb = RW_BUF_INIT;
			rw_buf_rfc3339(&tb, c->started_ns, 0);
			rw_buf_append(&tb, "", 1);
			field_str(b, "rigwatch.container.started", tb.err ? "" : tb.data);
			rw_buf_free(&tb);
		}
		for (unsigned i = 0; i < c->n_labels && i < RW_CONTAINER_LABELS; i++) {
			char key[sizeof c->labels[i].key + 24];
			snprintf(key, sizeof key, "container.label[%s]", c->labels[i].key);
			rw_buf_puts(b, ",");
			rw_buf_json_string(b, key);
			rw_buf_puts(b, ":");
			rw_buf_json_string(b, c->labels[i].value);
		}
	}
	const struct rw_container_origin *o = &t->origin;
	if (o->have) {
		char d[400], tree[RW_ORIGIN_CHAIN_MAX * 40];
		rw_origin_describe(o, d, sizeof d);
		field_str(b, "rigwatch.origin.started_by", rw_origin_start_name(o->started));
		field_str(b, "rigwatch.origin.detail", d);
		tree[0] = '\0';
		for (unsigned i = 0; i < o->n && i < RW_ORIGIN_CHAIN_MAX; i++) {
			size_t n = strlen(tree);
			snprintf(tree + n, sizeof tree - n, "%s%.15s(%d)", i ? " <- " : "", o->chain[i].comm,
				 (int)o->chain[i].pid);
		}
		field_str(b, "rigwatch.origin.process_tree", tree);
		if (o->n) {
			field_str(b, "rigwatch.origin.cmdline", o->chain[0].cmdline);
			field_u64(b, "rigwatch.origin.uid", o->chain[0].uid);
		}
		if (o->hashing_since_ns) {
			struct rw_buf tb = RW_BUF_INIT;
			rw_buf_rfc3339(&tb, o->hashing_since_ns, 0);
			rw_buf_append(&tb, "", 1);
			field_str(b, "rigwatch.origin.hashing_since", tb.err ? "" : tb.data);
			rw_buf_free(&tb);
		}
	}
}

/* "docker:0123456789ab", "slurm:1234/step_0", "systemd:x.service", else the cgroup path */
static void workload_label(const struct rw_sample *s, char *label, size_t len)
{
	const struct rw_identity *id = &s->identity;
	if (id->runtime[0] && id->id[0])
		snprintf(label, len, "%s:%.12s", id->runtime, id->id);
	else if (id->slurm_job[0])
		snprintf(label, len, "slurm:%s", id->slurm_job);
	else if (id->unit[0])
		snprintf(label, len, "systemd:%s", id->unit);
	else
		snprintf(label, len, "%s", s->cgroup);
}

/* "docker:web" for a container its engine names, else workload_label's */
static void target_label(const struct rw_report_target *t, char *label, size_t len)
{
	if (t->container.have && t->container.name[0])
		snprintf(label, len, "%s:%s", t->container.engine, t->container.name);
	else
		workload_label(&t->sample, label, len);
}

/* " image=acme/web:2.1 started_by=exec" for the output line of a named or convicted container */
static void container_words(const struct rw_report_target *t, struct rw_buf *ob)
{
	if (t->container.have && t->container.image[0])
		rw_buf_printf(ob, " image=%s", t->container.image);
	if (t->origin.have)
		rw_buf_printf(ob, " started_by=%s", rw_origin_start_name(t->origin.started));
}

static int format_verdict(const char *host, const struct rw_report_target *t, enum rw_verdict old, struct rw_buf *b,
			  const char **prio_out)
{
	const struct rw_sample *s = &t->sample;
	const struct rw_verdict_state *v = &t->verdict;
	const struct rw_identity *id = &s->identity;
	const char *rule, *priority;
	char label[RW_CGROUP_PATH_MAX + 64], evidence[sizeof v->reasons[0].detail + sizeof s->ind.evidence + 1];
	char sources[64] = "", tm[40], score[32];

	switch (v->verdict) {
	case RW_VERDICT_MINING:
		rule = "Cryptocurrency miner detected";
		priority = "Critical";
		break;
	case RW_VERDICT_SUSPECT:
		rule = "Suspected cryptocurrency miner";
		priority = "Warning";
		break;
	default:
		rule = "Cryptocurrency miner verdict cleared";
		priority = "Notice";
		break;
	}

	*prio_out = priority;
	uint64_t when = v->since_ns ? v->since_ns : s->time_ns;
	if (!when) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		when = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	struct rw_buf tb = RW_BUF_INIT;
	rw_buf_rfc3339(&tb, when, 9);
	snprintf(tm, sizeof tm, "%.*s", (int)tb.len, tb.data ? tb.data : "");
	rw_buf_free(&tb);

	target_label(t, label, sizeof label);

	for (unsigned i = 0; i < RW_SRC_COUNT; i++)
		if (v->sources_used & RW_SRC_BIT(i)) {
			size_t n = strlen(sources);
			snprintf(sources + n, sizeof sources - n, "%s%s", n ? "," : "",
				 rw_source_name((enum rw_source)i));
		}
	evidence[0] = '\0';
	if (v->n_reasons)
		TERM(evidence, v->reasons[0].detail);
	else if (s->ind.evidence[0])
		snprintf(evidence, sizeof evidence, "%.*s", (int)sizeof s->ind.evidence, s->ind.evidence);

	struct rw_buf sb = RW_BUF_INIT;
	rw_buf_q16(&sb, v->score_q16 < 0 ? 0 : v->score_q16 > 65536 ? 65536 : v->score_q16);
	snprintf(score, sizeof score, "%.*s", (int)sb.len, sb.data ? sb.data : "0");
	rw_buf_free(&sb);

	/* "output": Falco's "<time>: <Priority> <message>" */
	struct rw_buf ob = RW_BUF_INIT;
	rw_buf_printf(&ob, "%.*s: %s %s in %s (cgroup=%s verdict=%s previous=%s score=%s sources=%s",
		      18, tm + 11, priority, rule, label, s->cgroup, rw_verdict_name(v->verdict),
		      rw_verdict_name(old), score, sources[0] ? sources : "none");
	if (evidence[0])
		rw_buf_printf(&ob, " evidence=\"%s\"", evidence);
	if (t->action != RW_ACTION_NONE)
		rw_buf_printf(&ob, " action=%s", rw_action_state_name(t->action));
	container_words(t, &ob);
	rw_buf_puts(&ob, ")");
	rw_buf_append(&ob, "", 1);

	rw_buf_puts(b, "{\"time\":");
	rw_buf_json_string(b, tm);
	field_str(b, "rule", rule);
	field_str(b, "priority", priority);
	field_str(b, "source", "rigwatch");
	field_str(b, "hostname", host);
	field_str(b, "output", ob.err ? "" : ob.data);
	rw_buf_free(&ob);

	rw_buf_puts(b, ",\"output_fields\":{");
	rw_buf_puts(b, "\"rigwatch.cgroup\":");
	rw_buf_json_string(b, s->cgroup);
	field_u64(b, "rigwatch.cgroup_id", s->cgroup_id);
	field_str(b, "rigwatch.verdict", rw_verdict_name(v->verdict));
	field_str(b, "rigwatch.previous_verdict", rw_verdict_name(old));
	rw_buf_puts(b, ",\"rigwatch.score\":");
	rw_buf_puts(b, score);
	field_str(b, "rigwatch.sources", sources);
	field_str(b, "rigwatch.evidence", evidence);
	field_str(b, "rigwatch.action", rw_action_state_name(t->action));
	field_u64(b, "rigwatch.detections", v->detections);
	identity_fields(b, s);
	container_fields(b, t);
	rw_buf_puts(b, "},\"tags\":[\"rigwatch\",\"cryptomining\",\"mitre_impact\",\"T1496\"");
	if (id->kind == RW_KIND_CONTAINER)
		rw_buf_puts(b, ",\"container\"");
	if (id->slurm_job[0])
		rw_buf_puts(b, ",\"slurm\"");
	rw_buf_puts(b, "]}\n");
	return b->err;
}

int rw_alerts_format(const char *host, const struct rw_report_target *t, enum rw_verdict old, struct rw_buf *b)
{
	const char *prio;
	return format_verdict(host, t, old, b, &prio);
}

/* Every alert leaves through here, to every configured sink: the file or stdout, syslog, the HTTP sender. */
static int emit(struct rw_alerts *a, const char *priority)
{
	int rc = 0;
	size_t len = a->line.len;
	if (a->syslog_fd >= 0)
		syslog_send(a, priority, a->line.data, len ? len - 1 : 0);
	if (a->http)
		http_enqueue(a, a->line.data, len ? len - 1 : 0);
	if (!a->fp)
		return 0;
	if (fwrite(a->line.data, 1, len, a->fp) != len || fflush(a->fp) != 0) {
		rc = errno ? -errno : -EIO;
		clearerr(a->fp);
		count(a, &a->stats.failed[RW_ALERT_SINK_OUTPUT]);
		if (!a->failing)
			rw_log_error("alerts", "write %s: %s", a->path, strerror(-rc));
		a->failing = true;
		return rc;
	}
	count(a, &a->stats.sent[RW_ALERT_SINK_OUTPUT]);
	a->failing = false;
	return 0;
}

int rw_alerts_verdict_change(struct rw_alerts *a, const char *host, const struct rw_report_target *t,
			     enum rw_verdict old)
{
	const char *prio;
	if (!a)
		return 0;
	rw_buf_reset(&a->line);
	int rc = format_verdict(host, t, old, &a->line, &prio);
	return rc ? rc : emit(a, prio);
}

/* Rule and priority of a response decision: a kill is Critical, a freeze Error, a dry-run or a held-back action
 * Warning, a failure Error. */
static void action_rule(const struct rw_respond_event *ev, const char **rule, const char **priority)
{
	switch (ev->result) {
	case RW_RR_OK:
	case RW_RR_VANISHED:
		if (ev->action == RW_RA_KILL) {
			*rule = "Cryptocurrency miner killed";
			*priority = "Critical";
		} else if (ev->action == RW_RA_FREEZE) {
			*rule = "Cryptocurrency miner frozen";
			*priority = "Error";
		} else {
			*rule = "Cryptocurrency miner would be stopped (dry-run)";
			*priority = "Warning";
		}
		return;
	case RW_RR_FROZEN_NOT_KILLED:
		*rule = "Cryptocurrency miner frozen, not killed (shared cgroup)";
		*priority = "Error";
		return;
	case RW_RR_FAILED:
		*rule = "Cryptocurrency miner response failed";
		*priority = "Error";
		return;
	default:
		*rule = "Cryptocurrency miner response held back";
		*priority = "Warning";
		return;
	}
}

int rw_alerts_action_format(const char *host, const struct rw_respond_event *ev, struct rw_buf *b)
{
	const struct rw_report_target *t = ev->target;
	const struct rw_sample *s = &t->sample;
	const struct rw_verdict_state *v = &t->verdict;
	const char *rule, *priority;
	char label[RW_CGROUP_PATH_MAX + 64], tm[40], score[32];

	action_rule(ev, &rule, &priority);
	target_label(t, label, sizeof label);
	struct rw_buf tb = RW_BUF_INIT;
	rw_buf_rfc3339(&tb, ev->time_ns, 9);
	snprintf(tm, sizeof tm, "%.*s", (int)tb.len, tb.data ? tb.data : "");
	rw_buf_free(&tb);
	struct rw_buf sb = RW_BUF_INIT;
	rw_buf_q16(&sb, v->score_q16 < 0 ? 0 : v->score_q16 > 65536 ? 65536 : v->score_q16);
	snprintf(score, sizeof score, "%.*s", (int)sb.len, sb.data ? sb.data : "0");
	rw_buf_free(&sb);

	struct rw_buf ob = RW_BUF_INIT;
	rw_buf_printf(&ob, "%.*s: %s %s in %s (cgroup=%s action=%s result=%s verdict=%s score=%s detail=\"%s\" "
			   "evidence=\"%s\")",
		      18, tm[0] ? tm + 11 : "", priority, rule, label, s->cgroup, rw_respond_action_name(ev->action),
		      rw_respond_result_name(ev->result), rw_verdict_name(v->verdict), score, ev->detail, ev->checks);
	rw_buf_append(&ob, "", 1);

	rw_buf_puts(b, "{\"time\":");
	rw_buf_json_string(b, tm);
	field_str(b, "rule", rule);
	field_str(b, "priority", priority);
	field_str(b, "source", "rigwatch");
	field_str(b, "hostname", host);
	field_str(b, "output", ob.err ? "" : ob.data);
	rw_buf_free(&ob);
	rw_buf_puts(b, ",\"output_fields\":{");
	rw_buf_puts(b, "\"rigwatch.cgroup\":");
	rw_buf_json_string(b, s->cgroup);
	field_u64(b, "rigwatch.cgroup_id", s->cgroup_id);
	field_str(b, "rigwatch.response.action", rw_respond_action_name(ev->action));
	field_str(b, "rigwatch.response.result", rw_respond_result_name(ev->result));
	field_str(b, "rigwatch.response.detail", ev->detail);
	field_str(b, "rigwatch.response.evidence", ev->checks);
	field_str(b, "rigwatch.verdict", rw_verdict_name(v->verdict));
	rw_buf_puts(b, ",\"rigwatch.score\":");
	rw_buf_puts(b, score);
	identity_fields(b, s);
	container_fields(b, t);
	rw_buf_puts(b, "},\"tags\":[\"rigwatch\",\"cryptomining\",\"mitre_impact\",\"T1496\",\"response\"");
	if (s->identity.kind == RW_KIND_CONTAINER)
		rw_buf_puts(b, ",\"container\"");
	if (s->identity.slurm_job[0])
		rw_buf_puts(b, ",\"slurm\"");
	rw_buf_puts(b, "]}\n");
	return b->err;
}

int rw_alerts_action(struct rw_alerts *a, const char *host, const struct rw_respond_event *ev)
{
	const char *rule, *prio;
	if (!a)
		return 0;
	rw_buf_reset(&a->line);
	int rc = rw_alerts_action_format(host, ev, &a->line);
	action_rule(ev, &rule, &prio);
	return rc ? rc : emit(a, prio);
}
