/* httpflood: hostile clients against a running agent's HTTP endpoint on loopback, while /healthz and /metrics
 * are timed from a clean address. Three floods, one after the other, each for --seconds:
 *
 *   slow   --conns connections from one address (127.0.0.2), each trickling its request line and headers one
 *          byte every 200 ms (an inactivity timeout never fires), reopened when the server closes them
 *   many   --addrs addresses (127.0.1.1 ...), --per-addr connections each, sending half a request and then
 *          trickling like the slow ones: each address within a per-address limit, together far over the pool
 *   idle   --conns connections spread over --addrs addresses (127.0.2.x) that never send a byte, reopened when
 *          closed
 *
 * Client sockets bind to 127.0.0.0/8 addresses only, so nothing leaves the host. Meanwhile the main thread asks
 * for /healthz every 100 ms and /metrics every 500 ms from 127.0.0.1, each with a 5 s bound, and reads the agent's
 * VmRSS (--pid). Per flood it prints: /healthz and /metrics answers, failures, median / p99 / max latency, the
 * intervals the agent counted (rigwatch_intervals_total: sampling goes on), the flood's connections opened and
 * closed by the server, and RSS before / max / after.
 *
 *   build/bench/httpflood --port 10170 --pid $(pidof rigwatch) [--seconds 10] [--conns 2000] [--addrs 40]
 *                         [--per-addr 16] [--only slow|many|idle] [--check]
 *
 * --check (for tests/integration/http-flood.sh): exit 1 unless, in every flood, each /healthz was answered 200
 * within 3 attempts, /metrics answered 200, rigwatch_intervals_total advanced, the server closed some of the
 * slow flood's connections, and RSS after the floods is within 64 MiB of RSS before. No latency is asserted. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static unsigned port;

/* A socket from `src` to the agent: blocking connect bounded by `timeout_ms`, then non-blocking if asked. */
static int connect_from(const char *src, unsigned timeout_ms, bool nonblock)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in me = { .sin_family = AF_INET };
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (inet_pton(AF_INET, src, &me.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 || connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) {
		close(fd);
		return -1;
	}
	if (nonblock)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* ---- the floods ------------------------------------------------------------------------------------------- */

enum kind { SLOW, MANY, IDLE };
static const char *const kind_names[] = { "slow", "many", "idle" };

struct flood {
	enum kind kind;
	unsigned conns, addrs, per_addr;
	atomic_bool stop;
	atomic_uint opened, closed_by_server, connect_failed;
};

struct fconn {
	int fd;
	unsigned sent;      /* bytes of the trickled request sent */
	char src[32];
};

static const char trickle[] =
	"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: httpflood\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";

static void fconn_open(struct flood *f, struct fconn *c)
{
	c->fd = connect_from(c->src, 1000, true);
	c->sent = 0;
	if (c->fd < 0) {
		atomic_fetch_add(&f->connect_failed, 1);
		return;
	}
	atomic_fetch_add(&f->opened, 1);
	if (f->kind == MANY) {   /* half a request at once, the rest trickled */
		ssize_t n = send(c->fd, trickle, 24, MSG_NOSIGNAL);
		c->sent = n > 0 ? (unsigned)n : 0;
	}
}

static void *flood_main(void *arg)
{
	struct flood *f = arg;
	unsigned n = f->kind == MANY ? f->addrs * f->per_addr : f->conns;
	struct fconn *c = calloc(n, sizeof *c);
	if (!c)
		return NULL;
	for (unsigned i = 0; i < n && !atomic_load(&f->stop); i++) {
		if (f->kind == SLOW)
			snprintf(c[i].src, sizeof c[i].src, "127.0.0.2");
		else if (f->kind == MANY)
			snprintf(c[i].src, sizeof c[i].src, "127.0.1.%u", i / f->per_addr % 250 + 1);
		else
			snprintf(c[i].src, sizeof c[i].src, "127.0.2.%u", i % f->addrs % 250 + 1);
		fconn_open(f, &c[i]);
	}
	while (!atomic_load(&f->stop)) {
		for (unsigned i = 0; i < n && !atomic_load(&f->stop); i++) {
			char buf[512];
			if (c[i].fd < 0) {
				fconn_open(f, &c[i]);
				continue;
			}
			/* the server closing us, or answering (a 408 or an error), both end this connection */
			ssize_t r = recv(c[i].fd, buf, sizeof buf, MSG_DONTWAIT);
			bool gone = r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
			if (!gone && f->kind != IDLE && c[i].sent < sizeof trickle - 1)
				gone = send(c[i].fd, trickle + c[i].sent++, 1, MSG_NOSIGNAL) < 0;
			if (gone || r > 0) {
				atomic_fetch_add(&f->closed_by_server, 1);
				close(c[i].fd);
				c[i].fd = -1;
			}
		}
		sleep_ms(200);
	}
	for (unsigned i = 0; i < n; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	free(c);
	return NULL;
}

/* ---- the samplers ----------------------------------------------------------------------------------------- */

/* GET path from 127.0.0.1 with a 5 s bound: the status (0 when none came), the body's value of
 * rigwatch_intervals_total in *intervals if asked. */
static int get(const char *path, double *intervals)
{
	char req[256];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	int fd = connect_from("127.0.0.1", 5000, false);
	if (fd < 0)
		return 0;
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return 0;
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t r;
	while (buf && (r = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
		len += (size_t)r;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				break;
			buf = nb;
		}
	}
	close(fd);
	int status = 0;
	if (buf) {
		buf[len] = '\0';
		if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
			status = 0;
		const char *m = intervals ? strstr(buf, "\nrigwatch_intervals_total ") : NULL;
		if (m)
			*intervals = strtod(m + 26, NULL);
	}
	free(buf);
	return status;
}

static long rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct lat {
	uint64_t *ns;
	unsigned n, cap, failed;
};

static void lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 256;
		uint64_t *nn = realloc(l->ns, cap * sizeof *nn);
		if (!nn)
			return;
		l->ns = nn;
		l->cap = cap;
	}
	l->ns[l->n++] = ns;
}

static void lat_print(const char *what, struct lat *l)
{
	if (!l->n) {
		printf("  %-8s answered 0, failed %u\n", what, l->failed);
		return;
	}
	qsort(l->ns, l->n, sizeof *l->ns, cmp_u64);
	printf("  %-8s answered %u, failed %u: median %.2f ms, p99 %.2f ms, max %.2f ms\n", what, l->n, l->failed,
	       l->ns[l->n / 2] / 1e6, l->ns[(size_t)l->n * 99 / 100] / 1e6, l->ns[l->n - 1] / 1e6);
}

int main(int argc, char **argv)
{
	unsigned seconds = 10, conns = 2000, addrs = 40, per_addr = 16;
	int pid = 0;
	bool check = false;
	const char *only = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--check")) {
			check = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "httpflood: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--port"))
			port = (unsigned)atoi(v);
		else if (!strcmp(a, "--pid"))
			pid = atoi(v);
		else if (!strcmp(a, "--seconds"))
			seconds = (unsigned)atoi(v);
		else if (!strcmp(a, "--conns"))
			conns = (unsigned)atoi(v);
		else if (!strcmp(a, "--addrs"))
			addrs = (unsigned)atoi(v);
		else if (!strcmp(a, "--per-addr"))
			per_addr = (unsigned)atoi(v);
		else if (!strcmp(a, "--only"))
			only = v;
		else {
			fprintf(stderr, "httpflood: unknown option %s\n", a);
			return 2;
		}
	}
	if (!port || !seconds || !conns || !addrs || !per_addr) {
		fprintf(stderr, "usage: httpflood --port PORT [--pid PID] [--seconds S] [--conns N] [--addrs N] "
				"[--per-addr N] [--only slow|many|idle] [--check]\n");
		return 2;
	}

	bool ok = true;
	long rss_first = pid ? rss_kib(pid) : -1, rss_last = -1;
	for (unsigned k = SLOW; k <= IDLE; k++) {
		if (only && strcmp(only, kind_names[k]))
			continue;
		struct flood f = { .kind = (enum kind)k, .conns = conns, .addrs = addrs, .per_addr = per_addr };
		struct lat hz = { 0 }, mx = { 0 };
		unsigned hz_gave_up = 0;
		double iv0 = -1, iv1 = -1;
		long rss0 = pid ? rss_kib(pid) : -1, rssmax = rss0;
		get("/metrics", &iv0);

		pthread_t th;
		if (pthread_create(&th, NULL, flood_main, &f)) {
			fprintf(stderr, "httpflood: pthread_create failed\n");
			return 1;
		}
		uint64_t t0 = mono_ns(), next_metrics = t0;
		while (mono_ns() - t0 < seconds * 1000000000ull) {
			/* /healthz: up to 3 attempts; each failed attempt counts, giving up counts once more */
			bool answered = false;
			for (unsigned attempt = 0; attempt < 3 && !answered; attempt++) {
				uint64_t s = mono_ns();
				if (get("/healthz", NULL) == 200) {
					lat_add(&hz, mono_ns() - s);
					answered = true;
				} else {
					hz.failed++;
				}
			}
			hz_gave_up += !answered;
			if (mono_ns() >= next_metrics) {
				uint64_t s = mono_ns();
				if (get("/metrics", &iv1) == 200)
					lat_add(&mx, mono_ns() - s);
				else
					mx.failed++;
				next_metrics = s + 500000000ull;
			}
			long r = pid ? rss_kib(pid) : -1;
			if (r > rssmax)
				rssmax = r;
			sleep_ms(100);
		}
		atomic_store(&f.stop, true);
		pthread_join(th, NULL);
		long rss1 = pid ? rss_kib(pid) : -1;
		rss_last = rss1;

		printf("%s flood, %u s: %u connections opened, %u closed by the server, %u connects failed\n",
		       kind_names[k], seconds, atomic_load(&f.opened), atomic_load(&f.closed_by_server),
		       atomic_load(&f.connect_failed));
		lat_print("/healthz", &hz);
		lat_print("/metrics", &mx);
		printf("  sampling: rigwatch_intervals_total %.0f -> %.0f; /healthz gave up after 3 attempts %u times\n",
		       iv0, iv1, hz_gave_up);
		if (pid)
			printf("  RSS: %ld KiB before, %ld KiB max, %ld KiB after\n", rss0, rssmax, rss1);

		if (check) {
			if (hz_gave_up || !hz.n) {
				printf("CHECK FAILED: %s flood: /healthz not answered within 3 attempts %u times\n",
				       kind_names[k], hz_gave_up);
				ok = false;
			}
			if (!mx.n) {
				printf("CHECK FAILED: %s flood: /metrics never answered\n", kind_names[k]);
				ok = false;
			}
			if (!(iv1 > iv0)) {
				printf("CHECK FAILED: %s flood: rigwatch_intervals_total did not advance (%.0f -> %.0f)\n",
				       kind_names[k], iv0, iv1);
				ok = false;
			}
			if (k == SLOW && !atomic_load(&f.closed_by_server)) {
				printf("CHECK FAILED: slow flood: the server closed none of the trickling connections\n");
				ok = false;
			}
		}
		free(hz.ns);
		free(mx.ns);
	}
	if (check && pid && rss_first > 0 && rss_last > rss_first + 64 * 1024) {
		printf("CHECK FAILED: RSS grew from %ld KiB to %ld KiB over the floods\n", rss_first, rss_last);
		ok = false;
	}
	return ok ? 0 : 1;
}
