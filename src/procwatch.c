/* procwatch: busy processes outside every target cgroup become targets of their own. See
 * include/rigwatch/procwatch.h. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rigwatch/config.h"
#include "rigwatch/fsutil.h"
#include "rigwatch/procwatch.h"
#include "rigwatch/targets.h"

#define NBUCKETS 1024

struct rw_procwatch {
	char proc_root[RW_CONFIG_PATH_LEN];
	int32_t min_cpu_q16;
	uint64_t tick_ns;
	uint64_t seq, now_ns;
	unsigned looked;          /* pids looked at in this scan */
	struct rw_procwatch_entry *e;
	unsigned n, cap;
	int32_t bucket[NBUCKETS]; /* index of the first entry of a pid's chain, -1 none */
	char *procs;              /* cgroup.procs buffer */
	size_t procs_cap;
};

int rw_proc_parse_stat(const char *text, struct rw_proc_info *out)
{
	/* comm may hold spaces and parentheses: it ends at the last ')' */
	const char *lp = strchr(text, '('), *rp = strrchr(text, ')');
	int pid;
	if (!lp || !rp || rp < lp || sscanf(text, "%d", &pid) != 1 || pid <= 0)
		return -EINVAL;
	char st;
	int ppid;
	unsigned flags;
	unsigned long long ut, stt, start;
	long threads;
	if (sscanf(rp + 1, " %c %d %*d %*d %*d %*d %u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %ld %*d %llu", &st,
		   &ppid, &flags, &ut, &stt, &threads, &start) != 7)
		return -EINVAL;
	out->kthread = (flags & 0x00200000u) != 0; /* PF_KTHREAD */
	out->pid = pid;
	out->ppid = ppid;
	out->state = st;
	out->utime = ut;
	out->stime = stt;
	out->threads = threads > 0 ? (uint32_t)threads : 0;
	out->start_ticks = start;
	size_t n = (size_t)(rp - lp - 1);
	if (n >= sizeof(out->comm))
		n = sizeof(out->comm) - 1;
	memcpy(out->comm, lp + 1, n);
	out->comm[n] = '\0';
	return 0;
}

int rw_proc_parse_status(const char *text, struct rw_proc_info *out)
{
	bool uid = false;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long long v;
		if (!strncmp(l, "Uid:", 4) && sscanf(l + 4, "%llu", &v) == 1) {
			out->uid = (uint32_t)v;
			uid = true;
		} else if (!strncmp(l, "VmRSS:", 6) && sscanf(l + 6, "%llu", &v) == 1)
			out->rss_bytes = v * 1024;
		else if (!strncmp(l, "RssAnon:", 8) && sscanf(l + 8, "%llu", &v) == 1)
			out->anon_bytes = v * 1024;
	}
	return uid ? 0 : -EINVAL;
}

int rw_procwatch_new(struct rw_procwatch **out, const char *proc_root, int32_t min_cpu_q16)
{
	struct rw_procwatch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	snprintf(w->proc_root, sizeof(w->proc_root), "%s", proc_root && *proc_root ? proc_root : "/proc");
	w->min_cpu_q16 = min_cpu_q16;
	long hz = sysconf(_SC_CLK_TCK);
	w->tick_ns = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
	memset(w->bucket, 0xff, sizeof(w->bucket));
	*out = w;
	return 0;
}

void rw_procwatch_free(struct rw_procwatch *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < w->n; i++)
		free(w->e[i].cgroup);
	free(w->e);
	free(w->procs);
	free(w);
}

void rw_procwatch_begin(struct rw_procwatch *w, uint64_t now_ns)
{
	w->seq++;
	w->now_ns = now_ns;
	w->looked = 0;
}

static struct rw_procwatch_entry *find(struct rw_procwatch *w, int32_t pid)
{
	for (int32_t i = w->bucket[(uint32_t)pid % NBUCKETS]; i >= 0; i = w->e[i].next)
		if (w->e[i].info.pid == pid)
			return &w->e[i];
	return NULL;
}

static int read_file(const char *proc_root, int pid, const char *name, char *buf, size_t len)
{
	char path[RW_CONFIG_PATH_LEN + 48];
	snprintf(path, sizeof(path), "%s/%d/%s", proc_root, pid, name);
	return rw_read_small(AT_FDCWD, path, buf, len) > 0 ? 0 : -ESRCH;
}

static void look(struct rw_procwatch *w, int pid, const char *path)
{
	char buf[1024];
	/* A known process that is no target is read every few scans only (spread by pid), its CPU measured over the
	 * longer window: most of the cost of a scan is the /proc/PID/stat of idle processes. */
	struct rw_procwatch_entry *known = find(w, pid);
	if (known && !(known->busy && w->seq - known->busy <= RW_PROCWATCH_GRACE) &&
	    (w->seq + (uint64_t)pid) % RW_PROCWATCH_IDLE_EVERY != 0) {
		known->seen = w->seq;
		return;
	}
	struct rw_proc_info pi = { 0 };
	if (read_file(w->proc_root, pid, "stat", buf, sizeof(buf)) < 0 || rw_proc_parse_stat(buf, &pi) < 0)
		return; /* gone */
	if (pi.state == 'Z' || pi.state == 'X' || pi.kthread)
		return; /* kernel threads run kernel code: no miner there, and nothing to probe */
	struct rw_procwatch_entry *e = find(w, pid);
	if (e && e->info.start_ticks != pi.start_ticks)
		e->seen = 0; /* the pid names another process now: the old entry goes at the end of the scan */
	if (!e || e->info.start_ticks != pi.start_ticks) {
		if (w->n == w->cap) {
			unsigned cap = w->cap ? w->cap * 2 : 256;
			struct rw_procwatch_entry *n = realloc(w->e, cap * sizeof(*n));
			if (!n)
				return;
			w->e = n;
			w->cap = cap;
		}
		e = &w->e[w->n];
		memset(e, 0, sizeof(*e));
		e->id = rw_proc_target_id((uint32_t)pid, pi.start_ticks);
		e->info = pi;
		e->prev_ticks = pi.utime + pi.stime;
		e->prev_ns = w->now_ns;
		e->next = w->bucket[(uint32_t)pid % NBUCKETS];
		w->bucket[(uint32_t)pid % NBUCKETS] = (int32_t)w->n++;
		e->seen = w->seq;
		return; /* no delta yet */
	}
	uint64_t ticks = pi.utime + pi.stime;
	uint64_t window = w->now_ns - e->prev_ns;
	if (window && ticks >= e->prev_ticks) {
		uint64_t share = (((ticks - e->prev_ticks) * w->tick_ns) << 16) / window;
		if ((int64_t)share >= w->min_cpu_q16)
			e->busy = w->seq;
	}
	uint32_t uid = e->info.uid;
	uint64_t rss = e->info.rss_bytes, anon = e->info.anon_bytes;
	e->info = pi;
	e->info.uid = uid;
	e->info.rss_bytes = rss;
	e->info.anon_bytes = anon;
	e->prev_ticks = ticks;
	e->prev_ns = w->now_ns;
	e->seen = w->seq;
	if (e->busy && w->seq - e->busy <= RW_PROCWATCH_GRACE) {
		/* a target: where it sits, and its memory and owner */
		if (!e->cgroup || strcmp(e->cgroup, path) != 0) {
			char *c = strdup(path);
			if (!c)
				return;
			free(e->cgroup);
			e->cgroup = c;
		}
		char status[4096];
		if (read_file(w->proc_root, pid, "status", status, sizeof(status)) == 0)
			rw_proc_parse_status(status, &e->info);
	}
}

int rw_procwatch_cgroup(struct rw_procwatch *w, int dir_fd, const char *path)
{
	int fd = openat(dir_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	size_t len = 0;
	for (;;) {
		if (w->procs_cap - len < 4096) {
			size_t cap = w->procs_cap ? w->procs_cap * 2 : 16384;
			char *n = realloc(w->procs, cap);
			if (!n) {
				close(fd);
				return -ENOMEM;
			}
			w->procs = n;
			w->procs_cap = cap;
		}
		ssize_t r = read(fd, w->procs + len, w->procs_cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!w->procs)
		return 0;
	w->procs[len] = '\0';
	int n = 0;
	for (char *p = w->procs; *p && w->looked < RW_PROCWATCH_MAX_PIDS;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid > 0 && pid != getpid()) {
			w->looked++;
			n++;
			look(w, (int)pid, path);
		}
		p = end;
		while (*p == '\n')
			p++;
	}
	return n;
}

void rw_procwatch_end(struct rw_procwatch *w)
{
	unsigned k = 0;
	for (unsigned i = 0; i < w->n; i++) {
		if (w->e[i].seen == w->seq)
			w->e[k++] = w->e[i];
		else
			free(w->e[i].cgroup); /* exited, or moved into a target cgroup */
	}
	w->n = k;
	memset(w->bucket, 0xff, sizeof(w->bucket));
	for (unsigned i = 0; i < w->n; i++) {
		uint32_t b = (uint32_t)w->e[i].info.pid % NBUCKETS;
		w->e[i].next = w->bucket[b];
		w->bucket[b] = (int32_t)i;
	}
}

const struct rw_procwatch_entry *rw_procwatch_next(struct rw_procwatch *w, unsigned *cursor)
{
	while (w && *cursor < w->n) {
		const struct rw_procwatch_entry *e = &w->e[(*cursor)++];
		if (e->busy && w->seq - e->busy <= RW_PROCWATCH_GRACE && e->cgroup)
			return e;
	}
	return NULL;
}

int rw_proc_memory_of_cgroup(const char *proc_root, const char *procs_path, unsigned max_pids, uint64_t *anon,
			     uint64_t *rss)
{
	char procs[16384];
	*anon = *rss = 0;
	ssize_t n = rw_read_small(AT_FDCWD, procs_path, procs, sizeof procs);
	if (n < 0)
		return (int)n;
	int counted = 0;
	for (char *p = procs; *p && (unsigned)counted < max_pids;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		char status[4096];
		struct rw_proc_info info;
		memset(&info, 0, sizeof info);
		if (pid > 0 && read_file(proc_root, (int)pid, "status", status, sizeof status) == 0 &&
		    rw_proc_parse_status(status, &info) == 0) {
			*anon += info.anon_bytes;
			*rss += info.rss_bytes;
			counted++;
		}
		p = end;
		while (*p == '\n')
			p++;
	}
	return counted;
}
