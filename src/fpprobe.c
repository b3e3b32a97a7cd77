/* fpprobe: read the FP control register (MXCSR / FPCR) of a target's busy threads with ptrace, a few times spread
 * over each interval, and report the rounding modes seen. See include/rigwatch/fpprobe.h for the safety rules. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__aarch64__)
#include <elf.h>
#include <asm/ptrace.h>
#endif

#include "rigwatch/clock.h"
#include "rigwatch/fpprobe.h"
#include "rigwatch/fsutil.h"
#include "rigwatch/log.h"

#define COMP "fpprobe"
/* How long the prober waits for a thread to reach its ptrace stop before it goes on with the next one. Only threads
 * in state R are interrupted: one running on a CPU traps within microseconds, a runnable one when the scheduler
 * next gives it a CPU. On a crowded host that turn can be far off (CFS hands out slices of 3-24 ms to every
 * runnable task in turn: at load 80 on 2 cores a runnable thread waits 100 ms and more), and a prober that waited
 * for each such thread would read few. So the wait is short and the thread is not lost: it stays seized with its
 * stop pending, and the moment the stop arrives (every later wait of the prober watches for SIGCHLD) its register
 * is read and it is released, never held stopped across a sleep. */
#define STOP_WAIT_NS   (30 * 1000000ull)
#define STOP_SLICE_NS  (5 * 1000000ull) /* longest sleep between two looks while waiting for a stop */
#define PENDING_MAX    16
#define NEW_TARGET_WINDOW_MS 100  /* CPU-time window for a target seen for the first time */
#define MAX_TIDS       4096       /* threads considered per target */

/* ---- decoders ---------------------------------------------------------------------------------------------- */

void rw_fp_decode_mxcsr(uint32_t mxcsr, struct rw_fp_decoded *out)
{
	/* MXCSR RC (bits 13-14): 00 nearest, 01 down (toward -inf), 10 up (toward +inf), 11 toward zero: the same
	 * numbering as enum rw_fp_rmode. FTZ is bit 15, DAZ bit 6. */
	out->rmode = (uint8_t)((mxcsr >> 13) & 3);
	out->ftz = (uint8_t)((mxcsr >> 15) & 1);
	out->daz = (uint8_t)((mxcsr >> 6) & 1);
}

void rw_fp_decode_fpcr(uint32_t fpcr, struct rw_fp_decoded *out)
{
	/* FPCR RMode (bits 22-23): 00 RN nearest, 01 RP toward +inf, 10 RM toward -inf, 11 RZ toward zero.
	 * Up and down are swapped relative to MXCSR. FZ is bit 24; FIZ (bit 0, FEAT_AFP) flushes inputs. */
	static const uint8_t map[4] = { RW_FP_NEAREST, RW_FP_UP, RW_FP_DOWN, RW_FP_ZERO };
	out->rmode = map[(fpcr >> 22) & 3];
	out->ftz = (uint8_t)((fpcr >> 24) & 1);
	out->daz = (uint8_t)(fpcr & 1);
}

void rw_fp_decode(uint32_t control, struct rw_fp_decoded *out)
{
#if defined(__aarch64__)
	rw_fp_decode_fpcr(control, out);
#else
	rw_fp_decode_mxcsr(control, out);
#endif
}

const char *rw_fp_rmode_name(unsigned rmode)
{
	static const char *names[4] = { "nearest", "down", "up", "zero" };
	return rmode < 4 ? names[rmode] : "?";
}

void rw_fp_traced_describe(const struct rw_fp_evidence *ev, int is_process, char *buf, size_t len)
{
	char traced[17], tracer[17];
	if (!buf || !len)
		return;
	buf[0] = '\0';
	if (!ev->threads_traced)
		return;
	/* fixed arrays from a sample: never trust them to be terminated */
	memcpy(traced, ev->traced_comm, 16);
	traced[16] = '\0';
	memcpy(tracer, ev->tracer_comm, 16);
	tracer[16] = '\0';
	char more[64] = "";
	if (ev->threads_traced > 1)
		snprintf(more, sizeof(more), " (and %u more busy threads)", (unsigned)ev->threads_traced - 1);
	snprintf(buf, len, "thread %d (%s)%s is traced by pid %d (%s) %s; cannot read its FP state", (int)ev->traced_tid,
		 traced[0] ? traced : "?", more, (int)ev->tracer_pid, tracer[0] ? tracer : "?",
		 ev->tracer_same_target ? "in the same cgroup" : is_process ? "in another cgroup" : "outside this target");
}

/* ---- one read ---------------------------------------------------------------------------------------------- */

/* Tracees seized by one tracer thread that had not stopped in time. The ptrace relation belongs to a thread,
 * not a process, so this list belongs to the thread that made it. */
struct pending {
	pid_t tid[PENDING_MAX];
	uint64_t target[PENDING_MAX]; /* the target it was read for; 0 for the synchronous API */
	unsigned n;
	struct rw_fpprobe *owner;     /* the probe thread's list: a late stop still yields its read */
};

struct rw_fpprobe;
static void record(struct rw_fpprobe *p, uint64_t id, pid_t tid, int rc, uint32_t control);
static int get_control(pid_t tid, uint32_t *control);

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
	nanosleep(&ts, NULL);
}

/* Tgid, TracerPid, State and Name (comm, may be NULL) of a thread from <proc_root>/<tid>/status. */
static int read_status(const char *proc_root, pid_t tid, pid_t *tgid, pid_t *tracer, char *state, char name[16])
{
	char path[RW_CONFIG_PATH_LEN + 48], buf[4096];
	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = 0;
	*tgid = 0;
	*tracer = 0;
	*state = '?';
	if (name)
		name[0] = '\0';
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (!strncmp(line, "State:", 6))
			sscanf(line + 6, " %c", state);
		else if (name && !strncmp(line, "Name:", 5))
			sscanf(line + 5, " %15[^\n]", name);
		else if (!strncmp(line, "Tgid:", 5))
			*tgid = (pid_t)atoi(line + 5);
		else if (!strncmp(line, "TracerPid:", 10))
			*tracer = (pid_t)atoi(line + 10);
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* Detach a stopped tracee, handing back a signal it was stopped for (so a probe never eats a signal). */
static void detach_stopped(pid_t tid, int status)
{
	long sig = 0;
	if (WIFSTOPPED(status) && (status >> 16) != PTRACE_EVENT_STOP)
		sig = WSTOPSIG(status); /* signal-delivery-stop: re-inject */
	if (ptrace(PTRACE_DETACH, tid, NULL, (void *)sig) < 0 && errno != ESRCH)
		rw_log_debug(COMP, "detach %d: %s", (int)tid, strerror(errno));
}

/* Release pending tracees that have stopped (or died); wait up to wait_ns for each still running. */
static void pending_release(struct pending *pd, uint64_t wait_ns)
{
	unsigned k = 0;
	for (unsigned i = 0; i < pd->n; i++) {
		pid_t tid = pd->tid[i];
		uint64_t deadline = rw_mono_ns() + wait_ns;
		bool keep = true;
		for (;;) {
			int st = 0;
			pid_t r = waitpid(tid, &st, __WALL | WNOHANG);
			if (r == tid && WIFSTOPPED(st)) {
				/* It stopped after all (it waited that long for a CPU): the read it was stopped for is
				 * taken now, at no extra stop. */
				uint32_t control = 0;
				int rc = pd->owner && pd->target[i] ? get_control(tid, &control) : -ESRCH;
				detach_stopped(tid, st);
				if (rc == 0)
					record(pd->owner, pd->target[i], tid, 0, control);
				keep = false;
			} else if (r == tid || (r < 0 && errno != EINTR)) {
				keep = false; /* exited, or no longer ours */
			}
			if (!keep || rw_mono_ns() >= deadline)
				break;
			sleep_ns(200000);
		}
		if (keep) {
			pd->target[k] = pd->target[i];
			pd->tid[k++] = tid;
		} else
			rw_log_debug(COMP, "released late tracee %d", (int)tid);
	}
	pd->n = k;
}

static sigset_t sigchld_set;
static pthread_once_t sigchld_once = PTHREAD_ONCE_INIT;
static __thread bool sigchld_blocked;

static void sigchld_init(void)
{
	sigemptyset(&sigchld_set);
	sigaddset(&sigchld_set, SIGCHLD);
}

/* SIGCHLD blocked in the calling thread, once: the stop of a tracee then stays pending for sigtimedwait instead
 * of being discarded (its default action is to ignore it). Threads created afterwards inherit the mask. */
static void block_sigchld(void)
{
	pthread_once(&sigchld_once, sigchld_init);
	if (!sigchld_blocked) {
		pthread_sigmask(SIG_BLOCK, &sigchld_set, NULL);
		sigchld_blocked = true;
	}
}

static int get_control(pid_t tid, uint32_t *control)
{
#if defined(__x86_64__)
	struct user_fpregs_struct fp;
	if (ptrace(PTRACE_GETFPREGS, tid, NULL, &fp) < 0)
		return -errno;
	*control = fp.mxcsr;
	return 0;
#elif defined(__aarch64__)
	struct user_fpsimd_state fp;
	struct iovec iov = { &fp, sizeof(fp) };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRFPREG, &iov) < 0)
		return -errno;
	*control = fp.fpcr;
	return 0;
#else
	(void)tid;
	(void)control;
	return -ENOTSUP;
#endif
}

/* Who traces a thread that the probe found traced (-EBUSY). */
struct traced {
	pid_t tracer;
	char comm[16];
};

/* One read. Only a thread in state R is interrupted (running or waiting for a CPU): a thread asleep in a system
 * call would see it return early (epoll_wait, sigtimedwait and their like return EINTR when a ptrace interrupt
 * wakes them), and one in D state (a vfork parent, a thread waiting for I/O) would be held until it wakes.
 * Returns -EAGAIN, no failure, for a thread not in state R now. */
static int probe_one(const char *proc_root, pid_t tid, struct pending *pd, uint32_t *control, uint64_t *stop_ns,
		     struct traced *tr)
{
#if !defined(__x86_64__) && !defined(__aarch64__)
	(void)proc_root; (void)tid; (void)pd; (void)control; (void)stop_ns; (void)tr;
	return -ENOTSUP;
#else
	pid_t tgid, tracer;
	char state;
	int rc, st = 0;

	if (tid <= 0)
		return -ESRCH; /* a task outside our PID namespace reads as 0 in cgroup.threads */
	block_sigchld();
	if (pd->n)
		pending_release(pd, 0);
	if (pd->n >= PENDING_MAX)
		return -EAGAIN;
	/* The last look before the interrupt: its state now, not at the start of the round. */
	if (read_status(proc_root, tid, &tgid, &tracer, &state, tr ? tr->comm : NULL) < 0 || state == 'Z' ||
	    state == 'X')
		return -ESRCH;
	if (tgid == getpid())
		return -EINVAL;
	if (tracer != 0) {
		if (tr)
			tr->tracer = tracer;
		return -EBUSY;
	}
	if (state != 'R')
		return -EAGAIN;

	uint64_t t0 = rw_mono_ns();
	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
		rc = -errno;
		/* An exiting task refuses with EPERM: that is a thread gone, not a refusal. */
		if (rc == -EPERM && (read_status(proc_root, tid, &tgid, &tracer, &state, NULL) < 0 || state == 'Z' ||
				     state == 'X'))
			rc = -ESRCH;
		return rc;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		rc = -errno;
		/* Not stopped, so it cannot be detached now; it has no stop pending either, unless the interrupt
		 * raced with something, in which case it is released like a late one. */
		if (rc != -ESRCH)
			pd->target[pd->n] = 0, pd->tid[pd->n++] = tid;
		return rc;
	}
	/* Bounded wait: poll without yielding for a few microseconds (the usual case is a thread running on another
	 * CPU, stopping at once; sched_yield would hand our CPU to a busy neighbour for a whole slice), then sleep
	 * until the stop. A tracee's stop notifies its tracer with SIGCHLD, blocked in this thread
	 * (block_sigchld) and taken here by sigtimedwait: one wake-up per stop. Polling in 10-50 us sleeps cost a
	 * context switch each, hundreds per probe of a thread waiting for a CPU on a busy host (on a 16-CPU VM with
	 * 250 busy cgroups the probe thread spent 40 % of the agent's time waking up). The slices only bound the
	 * wait when the SIGCHLD went to another thread of the process. */
	uint64_t before_stop = t0; /* the last time it was seen not yet stopped */
	for (;;) {
		pid_t r = waitpid(tid, &st, __WALL | WNOHANG);
		if (r == tid) {
			if (WIFSTOPPED(st))
				break;
			return -ESRCH; /* exited mid-probe */
		}
		if (r < 0 && errno != EINTR)
			return -ESRCH;
		uint64_t t = rw_mono_ns();
		if (t - t0 > STOP_WAIT_NS) {
			pd->target[pd->n] = 0, pd->tid[pd->n++] = tid;
			return -ETIMEDOUT;
		}
		before_stop = t;
		if (t - t0 < 30000)
			continue;
		uint64_t left = STOP_WAIT_NS - (t - t0);
		struct timespec ts = { 0, (long)(left < STOP_SLICE_NS ? left : STOP_SLICE_NS) };
		if (sigtimedwait(&sigchld_set, NULL, &ts) == SIGCHLD)
			before_stop = rw_mono_ns(); /* a stop was signalled just now: it began a wake-up latency ago */
	}
	rc = get_control(tid, control);
	detach_stopped(tid, st);
	if (stop_ns)
		*stop_ns = rw_mono_ns() - before_stop;
	return rc;
#endif
}

/* The synchronous API keeps its late tracees per calling thread, since the ptrace relation is per thread. */
static __thread struct pending tls_pending;

int rw_fpprobe_read_thread(pid_t tid, uint32_t *control, uint64_t *stop_ns)
{
	uint64_t ns = 0;
	int rc = probe_one("/proc", tid, &tls_pending, control, &ns, NULL);
	if (stop_ns)
		*stop_ns = ns;
	return rc;
}

int rw_fpprobe_release_pending(unsigned wait_ms)
{
	pending_release(&tls_pending, (uint64_t)wait_ms * 1000000ull);
	return (int)tls_pending.n;
}

int rw_fpprobe_boost_thread(void)
{
	/* A probed thread stays stopped until the prober detaches it; if the prober were preempted by ordinary
	 * busy tasks between seeing the stop and detaching, the target would wait a scheduler slice or more. The
	 * lowest real-time priority keeps that path short; the thread runs microseconds per probe and sleeps
	 * otherwise (and the kernel's RT throttling bounds it regardless). Needs CAP_SYS_NICE; optional. */
	struct sched_param sp = { .sched_priority = 1 };
	int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (rc)
		rw_log_debug(COMP, "no real-time priority for the probe thread: %s", strerror(rc));
	return -rc;
}

/* ---- the probe thread -------------------------------------------------------------------------------------- */

struct thr_mode {
	pid_t tid;
	uint8_t modes;
	uint8_t last;   /* rounding mode of the previous read, 0xff before the first */
};

/* A target as the probe keeps it (under mu): where to find its threads, and its evidence since the last collect. */
struct probed {
	uint64_t id;
	pid_t pid;                /* a process target; 0 for a cgroup */
	uint64_t start_ticks;
	char path[sizeof(((struct rw_fpprobe_target *)0)->path)];
	bool active;
	bool has_evidence;        /* since the last collect */
	struct rw_fp_evidence ev;
	struct thr_mode *thr;     /* per-thread modes since last collect */
	unsigned nthr, capthr;
};

/* A CPU-time snapshot of one target's threads (probe thread only), with the target's share of the read budget
 * carried from round to round. */
struct target_threads {
	uint64_t id;
	uint64_t time_ns;
	uint64_t credit;          /* Q16 cores, grows by the target's weight each round it waits for reads */
	unsigned n;
	unsigned foreign;         /* tasks listed as 0: outside our PID namespace */
	unsigned cap;             /* room in the arrays: grown as needed, most targets have few threads */
	pid_t *tid;
	uint64_t *cpu;            /* CPU time, ns */
};

struct rw_fpprobe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	bool stop;
	unsigned targets_gen;     /* bumped by every new target list: a round in progress ends early */
	/* settings */
	char proc_root[RW_CONFIG_PATH_LEN];
	uint32_t interval_ms, max_probes, reads_per_thread;
	int32_t min_share_q16;
	uint64_t tick_ns;
	/* under mu */
	struct probed *tg;
	unsigned ntg, captg;
	/* probe thread only */
	struct target_threads *snaps;
	unsigned nsnaps;
	struct pending pend;
};

/* State, utime and stime of one thread from <proc_root>/<tid>/task/<tid>/stat: the thread's own times (the
 * stat of /proc/<tid> itself sums the whole thread group when tid is not the leader). */
static int thread_times(const char *proc_root, pid_t tid, uint64_t *user, uint64_t *sys, char *state)
{
	char path[RW_CONFIG_PATH_LEN + 64], buf[1024];
	snprintf(path, sizeof(path), "%s/%d/task/%d/stat", proc_root, (int)tid, (int)tid);
	if (rw_read_small(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return -ESRCH;
	char *rp = strrchr(buf, ')');
	unsigned long long ut, stt;
	char st;
	if (!rp || sscanf(rp + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &st, &ut, &stt) != 3)
		return -EINVAL;
	*user = ut;
	*sys = stt;
	if (state)
		*state = st;
	return 0;
}

/* Start time (clock ticks since boot) of a process, or 0 if it is gone. */
static uint64_t proc_start_ticks(const char *proc_root, pid_t pid)
{
	char path[RW_CONFIG_PATH_LEN + 32], buf[1024];
	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
	if (rw_read_small(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return 0;
	char *rp = strrchr(buf, ')');
	unsigned long long start;
	if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			  &start) != 1)
		return 0;
	return start;
}

/* A thread's CPU time in ns: schedstat's run time, or utime+stime from its stat where schedstat is absent. */
static int thread_cpu_ns(const char *proc_root, pid_t tid, uint64_t tick_ns, uint64_t *ns)
{
	char path[RW_CONFIG_PATH_LEN + 64], buf[256];
	unsigned long long run;
	snprintf(path, sizeof(path), "%s/%d/task/%d/schedstat", proc_root, (int)tid, (int)tid);
	if (rw_read_small(AT_FDCWD, path, buf, sizeof(buf)) > 0 && sscanf(buf, "%llu", &run) == 1) {
		*ns = run;
		return 0;
	}
	uint64_t u, k;
	if (thread_times(proc_root, tid, &u, &k, NULL) < 0)
		return -ESRCH;
	*ns = (u + k) * tick_ns;
	return 0;
}

static int snap_add(struct target_threads *s, pid_t tid, const struct rw_fpprobe *p)
{
	uint64_t ns;
	if (thread_cpu_ns(p->proc_root, tid, p->tick_ns, &ns) < 0)
		return 0; /* gone */
	if (s->n == s->cap) {
		unsigned ncap = s->cap ? s->cap * 2 : 8;
		if (ncap > MAX_TIDS)
			ncap = MAX_TIDS;
		pid_t *nt = realloc(s->tid, ncap * sizeof(*s->tid));
		if (!nt)
			return -ENOMEM;
		s->tid = nt;
		uint64_t *nc = realloc(s->cpu, ncap * sizeof(*s->cpu));
		if (!nc)
			return -ENOMEM;
		s->cpu = nc;
		s->cap = ncap;
	}
	s->tid[s->n] = tid;
	s->cpu[s->n] = ns;
	s->n++;
	return 0;
}

/* Every thread of a target and its CPU times into s: from cgroup.threads for a cgroup, from /proc/<pid>/task for
 * a process (after checking that the pid still names the process it did). */
static int take_snap(const struct rw_fpprobe *p, const struct rw_fpprobe_target *t, struct target_threads *s)
{
	int tid, rc = 0;
	s->n = 0;
	s->foreign = 0;
	s->time_ns = rw_mono_ns();
	if (t->pid > 0) {
		char path[RW_CONFIG_PATH_LEN + 32];
		if (proc_start_ticks(p->proc_root, t->pid) != t->start_ticks)
			return -ESRCH; /* exited; the pid may name another process by now */
		snprintf(path, sizeof(path), "%s/%d/task", p->proc_root, (int)t->pid);
		DIR *d = opendir(path);
		if (!d)
			return -errno;
		struct dirent *de;
		while (rc == 0 && s->n < MAX_TIDS && (de = readdir(d)) != NULL)
			if ((tid = atoi(de->d_name)) > 0)
				rc = snap_add(s, tid, p);
		closedir(d);
		return rc;
	}
	char path[sizeof(t->path) + 32];
	snprintf(path, sizeof(path), "%s/cgroup.threads", t->path);
	FILE *f = fopen(path, "re");
	if (!f && errno == ENOENT) {
		snprintf(path, sizeof(path), "%s/tasks", t->path); /* a v1 cgroup: the same list, older name */
		f = fopen(path, "re");
	}
	if (!f)
		return -errno;
	while (rc == 0 && s->n < MAX_TIDS && fscanf(f, "%d", &tid) == 1) {
		if (tid <= 0)
			s->foreign++; /* cgroup.threads shows 0 for a task outside our PID namespace */
		else
			rc = snap_add(s, tid, p);
	}
	fclose(f);
	return rc;
}

static struct target_threads *snap_find(struct rw_fpprobe *p, uint64_t id)
{
	for (unsigned i = 0; i < p->nsnaps; i++)
		if (p->snaps[i].id == id)
			return &p->snaps[i];
	return NULL;
}

static void snap_free(struct target_threads *s)
{
	free(s->tid);
	free(s->cpu);
	s->cap = 0;
	s->tid = NULL;
	s->cpu = NULL;
}

static void snaps_free(struct target_threads *v, unsigned n)
{
	if (!v)
		return;
	for (unsigned i = 0; i < n; i++)
		snap_free(&v[i]);
	free(v);
}

/* A thread that may be read this round. */
struct candidate {
	unsigned tg;      /* index into the round's target copy */
	pid_t tid;
	uint64_t delta;   /* CPU ticks over the window */
	unsigned rank;    /* 0 = busiest thread of its target */
	bool chosen;
	bool dead;        /* exited or refused this round: do not retry */
};

static int cand_by_target_delta(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	if (x->tg != y->tg)
		return x->tg < y->tg ? -1 : 1;
	return x->delta > y->delta ? -1 : x->delta < y->delta;
}

static struct probed *probed_find(struct rw_fpprobe *p, uint64_t id)
{
	for (unsigned i = 0; i < p->ntg; i++)
		if (p->tg[i].id == id)
			return &p->tg[i];
	return NULL;
}

static void record(struct rw_fpprobe *p, uint64_t id, pid_t tid, int rc, uint32_t control)
{
	pthread_mutex_lock(&p->mu);
	struct probed *t = probed_find(p, id);
	if (!t)
		goto out;
	t->has_evidence = true;
	if (rc < 0) {
		t->ev.failed++;
		goto out;
	}
	struct rw_fp_decoded d;
	rw_fp_decode(control, &d);
	t->ev.path = RW_FP_PATH_PTRACE;
	t->ev.probes++;
	t->ev.mode_obs[d.rmode]++;
	if (d.ftz && d.daz)
		t->ev.ftz_daz_obs++;
	t->ev.last_control = control;
	t->ev.modes_union |= (uint8_t)(1u << d.rmode);
	if (d.ftz || d.daz)
		t->ev.ftz_daz = 1;
	struct thr_mode *m = NULL;
	for (unsigned i = 0; i < t->nthr; i++)
		if (t->thr[i].tid == tid)
			m = &t->thr[i];
	if (!m) {
		if (t->nthr == t->capthr) {
			unsigned cap = t->capthr ? t->capthr * 2 : 16;
			struct thr_mode *n = realloc(t->thr, cap * sizeof(*n));
			if (!n)
				goto out;
			t->thr = n;
			t->capthr = cap;
		}
		m = &t->thr[t->nthr++];
		m->tid = tid;
		m->modes = 0;
		m->last = 0xff;
		if (t->ev.threads < UINT16_MAX)
			t->ev.threads++;
	}
	if (m->last != 0xff) {
		t->ev.pairs++;
		if (m->last != d.rmode)
			t->ev.changes++;
	}
	m->last = d.rmode;
	m->modes |= (uint8_t)(1u << d.rmode);
	uint8_t all = (uint8_t)__builtin_popcount(m->modes), nd = (uint8_t)__builtin_popcount(m->modes & 0xe);
	if (all > t->ev.max_thread_modes)
		t->ev.max_thread_modes = all;
	if (nd > t->ev.max_thread_nondefault)
		t->ev.max_thread_nondefault = nd;
out:
	pthread_mutex_unlock(&p->mu);
}

/* The cgroup2 line of /proc/<pid>/cgroup ("0::/path"), "" if unreadable. */
static void proc_cgroup(const char *proc_root, pid_t pid, char *out, size_t len)
{
	char path[RW_CONFIG_PATH_LEN + 32], buf[4096];
	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, (int)pid);
	if (rw_read_small(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return;
	char *l = strstr(buf, "0::");
	if (l && (l == buf || l[-1] == '\n'))
		snprintf(out, len, "%.*s", (int)strcspn(l + 3, "\n"), l + 3);
}

/* A busy thread another process traces: evidence in itself (anti-debugging miners trace themselves so that no
 * one else can attach). The first one of an interval is named in the evidence. */
static void record_traced(struct rw_fpprobe *p, uint64_t id, pid_t tid, const struct traced *tr)
{
	char tcomm[16] = "", cg_a[512], cg_b[512];
	char path[RW_CONFIG_PATH_LEN + 32];
	snprintf(path, sizeof(path), "%s/%d/comm", p->proc_root, (int)tr->tracer);
	char buf[64];
	if (rw_read_small(AT_FDCWD, path, buf, sizeof(buf)) > 0)
		snprintf(tcomm, sizeof(tcomm), "%.*s", (int)strcspn(buf, "\n"), buf);
	proc_cgroup(p->proc_root, tid, cg_a, sizeof(cg_a));
	proc_cgroup(p->proc_root, tr->tracer, cg_b, sizeof(cg_b));
	pthread_mutex_lock(&p->mu);
	struct probed *t = probed_find(p, id);
	if (t) {
		t->has_evidence = true;
		if (t->ev.threads_traced < UINT16_MAX)
			t->ev.threads_traced++;
		if (!t->ev.tracer_pid) {
			t->ev.tracer_pid = tr->tracer;
			t->ev.traced_tid = tid;
			t->ev.tracer_same_target = cg_a[0] && !strcmp(cg_a, cg_b);
			memcpy(t->ev.traced_comm, tr->comm, sizeof(t->ev.traced_comm));
			memcpy(t->ev.tracer_comm, tcomm, sizeof(t->ev.tracer_comm));
		}
	}
	pthread_mutex_unlock(&p->mu);
}

/* Wait until deadline (monotonic ns) or until stop / a new round; returns true to go on with this round. While a
 * tracee that did not stop in time is pending, the wait watches for its stop (SIGCHLD) and releases it at once. */
static bool wait_until(struct rw_fpprobe *p, uint64_t deadline, unsigned targets_gen)
{
	pthread_mutex_lock(&p->mu);
	for (;;) {
		if (p->stop || p->targets_gen != targets_gen)
			break;
		uint64_t t = rw_mono_ns();
		if (t >= deadline)
			break;
		if (p->pend.n) {
			pthread_mutex_unlock(&p->mu);
			uint64_t left = deadline - t;
			struct timespec ts = { 0, (long)(left < STOP_SLICE_NS ? left : STOP_SLICE_NS) };
			sigtimedwait(&sigchld_set, NULL, &ts);
			pending_release(&p->pend, 0);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		/* The condvar clock is CLOCK_REALTIME by default; convert the remaining time. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t abs = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + (deadline - t);
		ts.tv_sec = (time_t)(abs / 1000000000ull);
		ts.tv_nsec = (long)(abs % 1000000000ull);
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	}
	bool go = !p->stop && p->targets_gen == targets_gen;
	pthread_mutex_unlock(&p->mu);
	return go;
}

/* Choose this round's threads within the budget (up to maxthreads). Every target with a thread that ran in user
 * code gets credit in proportion to 1 + its cores each round; targets are served in order of credit, each
 * target's busiest thread first, then second ones, and a served target starts again from zero. A target at 5 %
 * of a core among busy ones is served within a few rounds, a busy one more often, and the budget stays the
 * same however many targets there are. */
static void choose(struct target_threads *cur, unsigned n, struct candidate *cands, unsigned ncand, unsigned maxthreads,
		   const uint64_t *tcpu_q16)
{
	if (!ncand)
		return; /* qsort wants a real array even for no elements */
	qsort(cands, ncand, sizeof(*cands), cand_by_target_delta);
	unsigned *first = calloc(n, sizeof(*first)), *count = calloc(n, sizeof(*count)), *order = calloc(n, sizeof(*order));
	if (!first || !count || !order)
		goto out;
	for (unsigned i = 0; i < ncand; i++) {
		cands[i].rank = i && cands[i - 1].tg == cands[i].tg ? cands[i - 1].rank + 1 : 0;
		if (!cands[i].rank)
			first[cands[i].tg] = i;
		count[cands[i].tg]++;
	}
	unsigned nt = 0;
	for (unsigned i = 0; i < n; i++)
		if (count[i]) {
			cur[i].credit += 65536 + tcpu_q16[i];
			order[nt++] = i;
		}
	/* by credit, highest first (few targets: insertion sort) */
	for (unsigned i = 1; i < nt; i++)
		for (unsigned j = i; j > 0 && cur[order[j]].credit > cur[order[j - 1]].credit; j--) {
			unsigned x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	unsigned taken = 0;
	for (unsigned r = 0; taken < maxthreads; r++) {
		bool any = false;
		for (unsigned k = 0; k < nt && taken < maxthreads; k++) {
			unsigned i = order[k];
			if (r >= count[i])
				continue;
			any = true;
			cands[first[i] + r].chosen = true;
			cur[i].credit = 0;
			taken++;
		}
		if (!any)
			break;
	}
out:
	free(first);
	free(count);
	free(order);
}

/* One round: choose threads from CPU-time deltas, then read each a few times, spread over the interval. */
static void run_round(struct rw_fpprobe *p, unsigned targets_gen, const struct rw_fpprobe_target *tgts, unsigned n)
{
	uint64_t start = rw_mono_ns();
	struct target_threads *cur = calloc(n ? n : 1, sizeof(*cur)), *base = NULL;
	struct candidate *cands = NULL;
	uint64_t *tcpu = calloc(n ? n : 1, sizeof(*tcpu));
	unsigned ncand = 0, capcand = 0;
	bool any_new = false;
	if (!cur || !tcpu)
		goto out;

	for (unsigned i = 0; i < n; i++) {
		struct target_threads *old = snap_find(p, tgts[i].cgroup_id);
		cur[i].id = tgts[i].cgroup_id;
		if (old)
			cur[i].credit = old->credit;
		if (take_snap(p, &tgts[i], &cur[i]) < 0)
			cur[i].n = 0; /* vanished cgroup or process: normal life */
		if (!old)
			any_new = true;
	}
	/* Targets seen for the first time have no earlier snapshot: measure them over a short window. */
	if (any_new) {
		base = cur;
		cur = calloc(n, sizeof(*cur));
		if (!cur || !wait_until(p, start + NEW_TARGET_WINDOW_MS * 1000000ull, targets_gen))
			goto out;
		for (unsigned i = 0; i < n; i++) {
			cur[i].id = tgts[i].cgroup_id;
			cur[i].credit = base[i].credit;
			if (take_snap(p, &tgts[i], &cur[i]) < 0)
				cur[i].n = 0;
		}
	}

	/* Candidates: every thread that ran since the last snapshot (above min_thread_cpu of a core when that is set)
	 * and has spent its life mostly in user code: at least two clock ticks of user time and no less user than
	 * system time. A thread that lives in system calls (an event loop, a thread that only wakes to sleep again)
	 * is likely to be caught in one, which an interrupt would cut short; a miner hashes in user code. Lifetime
	 * times, not the window's: a short window on a crowded host holds no whole tick. */
	for (unsigned i = 0; i < n; i++) {
		struct target_threads *prev = snap_find(p, tgts[i].cgroup_id);
		if (!prev || !prev->tid)
			prev = base ? &base[i] : NULL;
		if (!prev)
			continue;
		uint64_t window = cur[i].time_ns - prev->time_ns;
		if (window == 0)
			continue;
		for (unsigned k = 0; k < cur[i].n; k++) {
			unsigned j = 0;
			/* threads keep their order in cgroup.threads and task/: look near the same index first */
			if (k < prev->n && prev->tid[k] == cur[i].tid[k])
				j = k;
			else
				for (j = 0; j < prev->n && prev->tid[j] != cur[i].tid[k]; j++)
					;
			if (j == prev->n || cur[i].cpu[k] < prev->cpu[j])
				continue; /* new thread: no delta yet */
			uint64_t d = cur[i].cpu[k] - prev->cpu[j];
			uint64_t share = (d << 16) / window; /* of one core, Q16.16 */
			tcpu[i] += share;
			if (d == 0 || (int64_t)share < p->min_share_q16)
				continue;
			uint64_t u, sy;
			if (thread_times(p->proc_root, cur[i].tid[k], &u, &sy, NULL) < 0 || u < 2 || u < sy)
				continue;
			if (ncand == capcand) {
				capcand = capcand ? capcand * 2 : 64;
				struct candidate *nc = realloc(cands, capcand * sizeof(*nc));
				if (!nc)
					goto out;
				cands = nc;
			}
			cands[ncand++] = (struct candidate){ .tg = i, .tid = cur[i].tid[k], .delta = d };
		}
	}

	/* Threads we cannot name cannot be probed: each counts as a failed probe, once per round. */
	for (unsigned i = 0; i < n; i++)
		if (cur[i].foreign) {
			rw_log_debug(COMP, "%s: %u threads outside our PID namespace", tgts[i].path, cur[i].foreign);
			for (unsigned k = 0; k < cur[i].foreign && k < 64; k++)
				record(p, tgts[i].cgroup_id, 0, -ESRCH, 0);
		}

	unsigned reads = p->reads_per_thread ? p->reads_per_thread : 1;
	unsigned maxthreads = p->max_probes / reads;
	if (maxthreads == 0)
		maxthreads = 1, reads = p->max_probes ? p->max_probes : 1;
	choose(cur, n, cands, ncand, maxthreads, tcpu);

	/* Keep this round's snapshots as the next round's baseline; forget targets no longer busy. */
	snaps_free(p->snaps, p->nsnaps);
	p->snaps = cur;
	p->nsnaps = n;
	cur = NULL;

	unsigned k = 0;
	for (unsigned c = 0; c < ncand; c++)
		if (cands[c].chosen)
			cands[k++] = cands[c];
	ncand = k;

	uint64_t interval = (uint64_t)p->interval_ms * 1000000ull;
	for (unsigned r = 0; r < reads && ncand; r++) {
		uint64_t at = start + interval * (2 * r + 1) / (2 * reads);
		if (!wait_until(p, at, targets_gen))
			break;
		for (unsigned c = 0; c < ncand; c++) {
			if (cands[c].dead)
				continue;
			uint32_t control = 0;
			uint64_t ns = 0;
			struct traced tr = { 0 };
			int rc = probe_one(p->proc_root, cands[c].tid, &p->pend, &control, &ns, &tr);
			if (rc == -EAGAIN)
				continue; /* not running just now (asleep, stopped): try at the next read */
			if (rc == -ETIMEDOUT && p->pend.n && p->pend.tid[p->pend.n - 1] == cands[c].tid) {
				/* still waiting for a CPU: its read is taken when its stop arrives */
				p->pend.target[p->pend.n - 1] = tgts[cands[c].tg].cgroup_id;
				continue;
			}
			if (rc < 0) {
				rw_log_debug(COMP, "thread %d: %s", (int)cands[c].tid,
					     rc == -ETIMEDOUT ? "did not stop in time" : strerror(-rc));
				if (rc != -ETIMEDOUT)
					cands[c].dead = true;
				if (rc == -EINVAL)
					continue; /* our own thread: skipped, not a failure */
				if (rc == -EBUSY) {
					record_traced(p, tgts[cands[c].tg].cgroup_id, cands[c].tid, &tr);
					continue;
				}
			}
			record(p, tgts[cands[c].tg].cgroup_id, cands[c].tid, rc, control);
		}
	}
	if (p->pend.n)
		pending_release(&p->pend, 0);
out:
	snaps_free(base, n);
	snaps_free(cur, n);
	free(cands);
	free(tcpu);
}

static void *probe_main(void *arg)
{
	struct rw_fpprobe *p = arg;
	unsigned seen = 0;
	sigset_t all;
	/* Block signals so shutdown signals go to other threads and never cut a probe between seize and detach. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	rw_fpprobe_boost_thread();

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->targets_gen == seen) {
			if (p->pend.n) {
				/* A late tracee: released the moment its stop arrives (SIGCHLD), the wait cut into
				 * slices only to notice a new round or the stop. */
				pthread_mutex_unlock(&p->mu);
				struct timespec ts = { 0, (long)STOP_SLICE_NS };
				sigtimedwait(&sigchld_set, NULL, &ts);
				pending_release(&p->pend, 0);
				pthread_mutex_lock(&p->mu);
			} else
				pthread_cond_wait(&p->cv, &p->mu);
		}
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		seen = p->targets_gen;
		unsigned n = 0;
		struct rw_fpprobe_target *copy = calloc(p->ntg ? p->ntg : 1, sizeof(*copy));
		for (unsigned i = 0; copy && i < p->ntg; i++)
			if (p->tg[i].active) {
				copy[n].cgroup_id = p->tg[i].id;
				copy[n].pid = p->tg[i].pid;
				copy[n].start_ticks = p->tg[i].start_ticks;
				memcpy(copy[n].path, p->tg[i].path, sizeof(copy[n].path));
				n++;
			}
		pthread_mutex_unlock(&p->mu);
		if (copy)
			run_round(p, seen, copy, n);
		free(copy);
	}
	/* Give late tracees a last chance to be detached cleanly; the rest are released by the kernel as this
	 * thread exits (a dying tracer's tracees are detached and resumed). */
	pending_release(&p->pend, 50);
	return NULL;
}

int rw_fpprobe_start(struct rw_fpprobe **out, const struct rw_config *cfg)
{
	*out = NULL;
	if (!cfg->fpprobe_enabled) {
		rw_log_info(COMP, "disabled by configuration");
		return 0;
	}
#if !defined(__x86_64__) && !defined(__aarch64__)
	rw_log_info(COMP, "no FP control-register probe on this architecture");
	return 0;
#endif
	struct rw_fpprobe *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	/* In the caller too, so that threads it starts later (the HTTP server's) never take the probe's SIGCHLD. */
	block_sigchld();
	snprintf(p->proc_root, sizeof(p->proc_root), "%s", cfg->proc_root[0] ? cfg->proc_root : "/proc");
	p->interval_ms = cfg->interval_ms ? cfg->interval_ms : 1000;
	p->max_probes = cfg->fpprobe_max_probes;
	p->reads_per_thread = cfg->fpprobe_reads_per_thread;
	p->min_share_q16 = cfg->fpprobe_min_thread_cpu_q16;
	p->pend.owner = p;
	long hz = sysconf(_SC_CLK_TCK);
	p->tick_ns = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	int rc = pthread_create(&p->th, NULL, probe_main, p);
	if (rc) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		free(p);
		return -rc;
	}
	*out = p;
	return 0;
}

static void tgt_drop(struct rw_fpprobe *p, unsigned i)
{
	free(p->tg[i].thr);
	p->tg[i] = p->tg[--p->ntg];
}

void rw_fpprobe_set_targets(struct rw_fpprobe *p, const struct rw_fpprobe_target *t, unsigned n)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	/* A target no longer busy keeps its evidence until collected, then goes. */
	for (unsigned i = p->ntg; i-- > 0;) {
		if (!p->tg[i].active && !p->tg[i].has_evidence)
			tgt_drop(p, i);
		else
			p->tg[i].active = false;
	}
	for (unsigned k = 0; k < n; k++) {
		struct probed *g = probed_find(p, t[k].cgroup_id);
		if (!g) {
			if (p->ntg == p->captg) {
				unsigned cap = p->captg ? p->captg * 2 : 16;
				struct probed *ng = realloc(p->tg, cap * sizeof(*ng));
				if (!ng)
					break;
				p->tg = ng;
				p->captg = cap;
			}
			g = &p->tg[p->ntg++];
			memset(g, 0, sizeof(*g));
			g->id = t[k].cgroup_id;
		}
		snprintf(g->path, sizeof(g->path), "%s", t[k].path);
		g->pid = t[k].pid;
		g->start_ticks = t[k].start_ticks;
		g->active = true;
	}
	p->targets_gen++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int rw_fpprobe_collect(struct rw_fpprobe *p, uint64_t cgroup_id, struct rw_fp_evidence *out)
{
	memset(out, 0, sizeof(*out));
	if (!p)
		return -ENOENT;
	int rc = -ENOENT;
	pthread_mutex_lock(&p->mu);
	struct probed *t = probed_find(p, cgroup_id);
	if (t && t->has_evidence) {
		*out = t->ev;
		rc = 0;
	}
	if (t) {
		memset(&t->ev, 0, sizeof(t->ev));
		t->nthr = 0;
		t->has_evidence = false;
		if (!t->active)
			tgt_drop(p, (unsigned)(t - p->tg));
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void rw_fpprobe_stop(struct rw_fpprobe *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	snaps_free(p->snaps, p->nsnaps);
	while (p->ntg)
		tgt_drop(p, 0);
	free(p->tg);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
