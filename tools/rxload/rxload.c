/* rxload: a real RandomX miner workload for testing and evaluating rigwatch.
 *
 * It hashes with Debian's librandomx exactly as a Monero miner does (JIT VM, AES, the 256 MiB Cache in light mode
 * or the 2080 MiB Dataset in fast mode), on N threads, optionally on a duty cycle, under a process name of the
 * caller's choice (argv[0] and comm), and optionally holding a stratum connection open, so a test can run a miner
 * that looks like "nginx". Nothing here is simulated: the instruction mix, the MXCSR rounding-mode changes and the
 * memory footprint are those of RandomX itself. It does not mine: nonces are local and results are discarded. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <randomx.h>

#define RXLOAD_ENV "RXLOAD_ARGS"

struct opts {
	int fast;
	unsigned threads, init_threads;
	unsigned duty;          /* percent of each period spent hashing */
	unsigned period_ms;
	unsigned report_ms;
	unsigned seconds;       /* 0 = until SIGINT/SIGTERM */
	const char *name;
	const char *url;
	int large_pages;
};

struct worker {
	pthread_t th;
	unsigned id;
	randomx_vm *vm;
	const struct opts *o;
	_Atomic uint64_t hashes;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000ull), (long)(t % 1000000000ull) };
	while (!stop_flag && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rxload [options]\n"
		"A RandomX hashing workload (Debian librandomx), for testing miner detection. It does not mine.\n"
		"  --mode light|fast   light: 256 MiB Cache (default); fast: 2080 MiB Dataset built on all threads\n"
		"  --threads N         hashing threads (default 1)\n"
		"  --init-threads N    threads building the fast-mode Dataset (default: online CPUs)\n"
		"  --duty PCT          percent of each period spent hashing, 1..100 (default 100)\n"
		"  --period-ms MS      duty-cycle period (default 1000): hash PCT%% of it, sleep the rest\n"
		"  --name NAME         run as NAME: argv[0] (re-exec) and comm (prctl PR_SET_NAME), e.g. nginx\n"
		"  --url URL           hold a TCP connection to stratum+tcp://HOST:PORT and send a stratum login\n"
		"  --seconds S         stop after S seconds (default 0: until SIGINT/SIGTERM)\n"
		"  --report-ms MS      hash-rate report period (default 1000)\n"
		"  --large-pages       ask librandomx for huge pages (falls back without)\n"
		"Output (stdout, line-buffered):\n"
		"  rxload: ready mode=M threads=N init_ms=T pid=P     once the Cache/Dataset is built\n"
		"  rxload: H/s RATE                                   every report period (all threads)\n"
		"  rxload: final hashes=N seconds=S H/s RATE          at exit\n");
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	memset(o, 0, sizeof(*o));
	o->threads = 1;
	o->init_threads = ncpu > 0 ? (unsigned)ncpu : 1;
	o->duty = 100;
	o->period_ms = 1000;
	o->report_ms = 1000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--large-pages")) {
			o->large_pages = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "rxload: %s needs a value (or unknown option)\n", a);
			return -1;
		}
		if (!strcmp(a, "--mode")) {
			if (!strcmp(v, "light"))
				o->fast = 0;
			else if (!strcmp(v, "fast"))
				o->fast = 1;
			else
				bad = 1;
		} else if (!strcmp(a, "--threads"))
			bad = parse_uint(v, 1, 1024, &o->threads);
		else if (!strcmp(a, "--init-threads"))
			bad = parse_uint(v, 1, 1024, &o->init_threads);
		else if (!strcmp(a, "--duty"))
			bad = parse_uint(v, 1, 100, &o->duty);
		else if (!strcmp(a, "--period-ms"))
			bad = parse_uint(v, 10, 3600000, &o->period_ms);
		else if (!strcmp(a, "--report-ms"))
			bad = parse_uint(v, 50, 3600000, &o->report_ms);
		else if (!strcmp(a, "--seconds"))
			bad = parse_uint(v, 0, 100000000, &o->seconds);
		else if (!strcmp(a, "--name"))
			o->name = *v ? v : NULL, bad = !*v;
		else if (!strcmp(a, "--url"))
			o->url = v;
		else {
			fprintf(stderr, "rxload: unknown option %s (see --help)\n", a);
			return -1;
		}
		if (bad) {
			fprintf(stderr, "rxload: bad value for %s: '%s'\n", a, v);
			return -1;
		}
		i++;
	}
	return 0;
}

/* argv[0] is what ps, pgrep and /proc/<pid>/cmdline show, and only exec sets it cleanly; comm follows the
 * executable's file name on exec, so it is set with prctl after. Threads inherit comm from their creator.
 * The re-exec'd process gets argv = { NAME } alone, so its command line is as bare as an injected miner's;
 * the options travel in the environment (RXLOAD_ARGS, separated by 0x1f). */
static char **rename_self(int *argc, char **argv, const char *name)
{
	const char *packed = getenv(RXLOAD_ENV);
	if (!packed) {
		size_t len = 1;
		for (int i = 1; i < *argc; i++)
			len += strlen(argv[i]) + 1;
		char *buf = calloc(1, len), *p = buf;
		if (buf) {
			for (int i = 1; i < *argc; i++)
				p += sprintf(p, "%s%s", i > 1 ? "\x1f" : "", argv[i]);
			char *nargv[2] = { (char *)name, NULL };
			setenv(RXLOAD_ENV, buf, 1);
			execv("/proc/self/exe", nargv);
			fprintf(stderr, "rxload: re-exec as %s: %s (argv[0] unchanged)\n", name, strerror(errno));
			unsetenv(RXLOAD_ENV);
			free(buf);
		}
	} else {
		/* Second life: rebuild argv from the environment. */
		char *copy = strdup(packed);
		unsigned n = 2;
		for (const char *c = packed; *c; c++)
			n += *c == '\x1f';
		char **nargv = calloc(n + 1, sizeof(*nargv));
		if (!copy || !nargv) {
			fprintf(stderr, "rxload: out of memory\n");
			exit(1);
		}
		int k = 0;
		nargv[k++] = argv[0];
		for (char *save = NULL, *tok = strtok_r(copy, "\x1f", &save); tok; tok = strtok_r(NULL, "\x1f", &save))
			nargv[k++] = tok;
		*argc = k;
		argv = nargv;
		unsetenv(RXLOAD_ENV);
	}
	if (prctl(PR_SET_NAME, name, 0, 0, 0) != 0)
		fprintf(stderr, "rxload: PR_SET_NAME: %s\n", strerror(errno));
	return argv;
}

/* A stratum client's first line, so the connection looks like a miner's to anything watching the socket. */
static int pool_connect(const char *url)
{
	char host[256], port[16];
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	const char *colon = strrchr(p, ':');
	if (!colon || colon == p || (size_t)(colon - p) >= sizeof(host) || strlen(colon + 1) >= sizeof(port)) {
		fprintf(stderr, "rxload: --url wants stratum+tcp://HOST:PORT, got '%s'\n", url);
		return -1;
	}
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = 0;
	snprintf(port, sizeof(port), "%s", colon + 1);
	char *slash = strchr(port, '/');
	if (slash)
		*slash = 0;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "rxload: %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "rxload: connect %s:%s: %s (hashing anyway)\n", host, port, strerror(errno));
		return -1;
	}
	static const char login[] = "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":{\"login\":"
				    "\"rxload-test-wallet\",\"pass\":\"x\",\"agent\":\"rxload/1.0\",\"algo\":[\"rx/0\"]}}\n";
	if (send(fd, login, sizeof(login) - 1, MSG_NOSIGNAL) < 0)
		fprintf(stderr, "rxload: send login: %s\n", strerror(errno));
	return fd;
}

static void *hash_thread(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	/* A block-header-sized input with this thread's nonce space, as miners hash. */
	uint8_t input[76] = { 0x10, 0x10 }, out[RANDOMX_HASH_SIZE];
	uint32_t nonce = w->id << 24;
	uint64_t period = (uint64_t)o->period_ms * 1000000ull;
	uint64_t busy = period * o->duty / 100;
	uint64_t start = now_ns();

	while (!stop_flag) {
		uint64_t end_busy = start + busy;
		do {
			memcpy(input + 39, &nonce, sizeof(nonce));
			nonce++;
			randomx_calculate_hash(w->vm, input, sizeof(input), out);
			atomic_fetch_add_explicit(&w->hashes, 1, memory_order_relaxed);
		} while (!stop_flag && (o->duty == 100 || now_ns() < end_busy));
		if (o->duty < 100)
			sleep_until(start + period);
		start += period;
	}
	return NULL;
}

struct init_job {
	pthread_t th;
	randomx_dataset *ds;
	randomx_cache *cache;
	unsigned long start, count;
};

static void *init_thread(void *arg)
{
	struct init_job *j = arg;
	randomx_init_dataset(j->ds, j->cache, j->start, j->count);
	return NULL;
}

/* Fast mode: the Dataset is built from the Cache on all threads, as a miner does at startup and epoch change. */
static int build_dataset(randomx_dataset *ds, randomx_cache *cache, unsigned nthreads)
{
	unsigned long items = randomx_dataset_item_count();
	struct init_job *jobs = calloc(nthreads, sizeof(*jobs));
	if (!jobs)
		return -1;
	unsigned long per = items / nthreads, at = 0;
	unsigned started = 0;
	for (unsigned i = 0; i < nthreads; i++) {
		jobs[i] = (struct init_job){ .ds = ds, .cache = cache, .start = at,
					     .count = i + 1 == nthreads ? items - at : per };
		at += jobs[i].count;
		if (pthread_create(&jobs[i].th, NULL, init_thread, &jobs[i]) != 0) {
			init_thread(&jobs[i]);
			jobs[i].count = 0;
		} else
			started++;
	}
	for (unsigned i = 0; i < nthreads; i++)
		if (jobs[i].count)
			pthread_join(jobs[i].th, NULL);
	free(jobs);
	(void)started;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = 1, pool_fd = -1;
	randomx_cache *cache = NULL;
	randomx_dataset *ds = NULL;
	struct worker *w = NULL;
	unsigned nvm = 0, nth = 0;

	int renamed = getenv(RXLOAD_ENV) != NULL;
	if (renamed)
		argv = rename_self(&argc, argv, argv[0]);
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	if (o.name && !renamed)
		argv = rename_self(&argc, argv, o.name);
	setvbuf(stdout, NULL, _IOLBF, 0);

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.url)
		pool_fd = pool_connect(o.url);

	randomx_flags flags = randomx_get_flags();
	if (o.large_pages)
		flags |= RANDOMX_FLAG_LARGE_PAGES;
	uint64_t t0 = now_ns();
	cache = randomx_alloc_cache(flags);
	if (!cache && (flags & RANDOMX_FLAG_LARGE_PAGES)) {
		flags &= ~RANDOMX_FLAG_LARGE_PAGES;
		cache = randomx_alloc_cache(flags);
	}
	if (!cache) {
		fprintf(stderr, "rxload: cannot allocate the RandomX Cache (256 MiB)\n");
		goto out;
	}
	static const char key[] = "rxload test seed";
	randomx_init_cache(cache, key, sizeof(key) - 1);
	if (o.fast) {
		randomx_flags dflags = flags | RANDOMX_FLAG_FULL_MEM;
		ds = randomx_alloc_dataset(dflags);
		if (!ds && (dflags & RANDOMX_FLAG_LARGE_PAGES)) {
			dflags &= ~RANDOMX_FLAG_LARGE_PAGES;
			ds = randomx_alloc_dataset(dflags);
		}
		if (!ds) {
			fprintf(stderr, "rxload: cannot allocate the RandomX Dataset (2080 MiB)\n");
			goto out;
		}
		build_dataset(ds, cache, o.init_threads);
		flags = dflags;
		/* The Cache is not needed once the Dataset is built; a miner keeps only the Dataset. */
		randomx_release_cache(cache);
		cache = NULL;
	}

	w = calloc(o.threads, sizeof(*w));
	if (!w)
		goto out;
	for (nvm = 0; nvm < o.threads; nvm++) {
		w[nvm].id = nvm;
		w[nvm].o = &o;
		w[nvm].vm = randomx_create_vm(flags, cache, ds);
		if (!w[nvm].vm) {
			fprintf(stderr, "rxload: cannot create RandomX VM %u\n", nvm);
			goto out;
		}
	}
	uint64_t t1 = now_ns();
	printf("rxload: ready mode=%s threads=%u init_ms=%llu pid=%ld flags=0x%x\n", o.fast ? "fast" : "light",
	       o.threads, (unsigned long long)((t1 - t0) / 1000000), (long)getpid(), (unsigned)flags);

	for (nth = 0; nth < o.threads; nth++)
		if (pthread_create(&w[nth].th, NULL, hash_thread, &w[nth]) != 0) {
			fprintf(stderr, "rxload: pthread_create failed\n");
			stop_flag = 1;
			break;
		}

	uint64_t last = t1, last_hashes = 0, end = o.seconds ? t1 + (uint64_t)o.seconds * 1000000000ull : 0;
	uint64_t next = t1 + (uint64_t)o.report_ms * 1000000ull;
	while (!stop_flag) {
		uint64_t wake = end && end < next ? end : next;
		sleep_until(wake);
		uint64_t t = now_ns(), total = 0;
		for (unsigned i = 0; i < nth; i++)
			total += atomic_load_explicit(&w[i].hashes, memory_order_relaxed);
		if (t >= next) {
			printf("rxload: H/s %.1f\n", (double)(total - last_hashes) * 1e9 / (double)(t - last));
			last = t;
			last_hashes = total;
			next += (uint64_t)o.report_ms * 1000000ull;
		}
		if (end && t >= end)
			stop_flag = 1;
	}
	for (unsigned i = 0; i < nth; i++)
		pthread_join(w[i].th, NULL);
	uint64_t total = 0, t2 = now_ns();
	for (unsigned i = 0; i < nth; i++)
		total += w[i].hashes;
	printf("rxload: final hashes=%llu seconds=%.2f H/s %.1f\n", (unsigned long long)total,
	       (double)(t2 - t1) / 1e9, (double)total * 1e9 / (double)(t2 - t1));
	rc = 0;
out:
	for (unsigned i = 0; w && i < nvm; i++)
		randomx_destroy_vm(w[i].vm);
	free(w);
	if (ds)
		randomx_release_dataset(ds);
	if (cache)
		randomx_release_cache(cache);
	if (pool_fd >= 0)
		close(pool_fd);
	return rc;
}
