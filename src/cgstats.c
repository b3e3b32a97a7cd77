/* cgstats: read a cgroup's CPU, memory, pids and pressure files. cgroup2 first; on hybrid hosts the v1 cpu,
 * cpuacct, memory and pids controllers fill in what the v2 tree lacks; on v1-only hosts they are all there is. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rigwatch/cgstats.h"
#include "rigwatch/fsutil.h"

/* Read a small file of directory `dir`, relative to its open fd when we have one (> 0), else to its parent's. */
static ssize_t read_small_at(int dirfd, int parent_fd, const char *dirname, const char *dir, const char *name,
			     char *buf, size_t len)
{
	char path[4352];
	if (dirfd > 0)
		return rw_read_kernfs(dirfd, name, buf, len);
	if (parent_fd > 0 && dirname) {
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dirname, name) >= sizeof path)
			return -ENAMETOOLONG;
		return rw_read_kernfs(parent_fd, path, buf, len);
	}
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return -ENAMETOOLONG;
	return rw_read_kernfs(AT_FDCWD, path, buf, len);
}

static ssize_t read_v2(const struct rw_cgstats_paths *p, const char *name, char *buf, size_t len)
{
	return read_small_at(p->v2_fd, p->v2_parent_fd, p->v2_name, p->v2_dir, name, buf, len);
}

/* One bit per file rw_cgstats_read may try, for rw_cgstats_paths.missing. */
enum {
	F_MEM_CURRENT = 0, F_MEM_STAT, F_PIDS, F_PSI,
	F_ACCT_USAGE, F_ACCT_STAT, F_ACCT_CPU_STAT, /* three per v1 cpu directory, in this order */
	F_CPU_USAGE, F_CPU_ACCT_STAT, F_CPU_CPU_STAT,
	F_V1_MEM_USAGE, F_V1_MEM_STAT, F_V1_PIDS,
};

/* read_small, unless the file is known missing; remembers a missing file. */
static ssize_t try_read(struct rw_cgstats_paths *p, unsigned bit, const char *dir, const char *name, char *buf,
			size_t len)
{
	if (p->missing & (1u << bit))
		return -ENOENT;
	ssize_t n = dir == p->v2_dir ? read_v2(p, name, buf, len) : read_small_at(-1, -1, NULL, dir, name, buf, len);
	if (n == -ENOENT)
		p->missing |= 1u << bit;
	return n;
}

static int try_u64(struct rw_cgstats_paths *p, unsigned bit, const char *dir, const char *name, uint64_t *v)
{
	char buf[64];
	ssize_t n = try_read(p, bit, dir, name, buf, sizeof buf);
	if (n < 0)
		return (int)n;
	char *end;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL; /* "max" and the like */
	return 0;
}

typedef void (*kv_fn)(const char *key, size_t klen, uint64_t v, struct rw_cgstats *out);

/* Parse "key value\n" lines; calls fn for each. Returns 0 or -EINVAL on a malformed line. */
static int parse_kv(const char *text, kv_fn fn, struct rw_cgstats *out)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (nl == p) {
			p++;
			continue;
		}
		const char *sp = memchr(p, ' ', (size_t)(nl - p));
		if (!sp)
			return -EINVAL;
		char *end;
		errno = 0;
		unsigned long long v = strtoull(sp + 1, &end, 10);
		if (end == sp + 1 || errno || end != nl || sp[1] == '-')
			return -EINVAL;
		fn(p, (size_t)(sp - p), v, out);
		p = *nl ? nl + 1 : nl;
	}
	return 0;
}

static bool key_is(const char *key, size_t klen, const char *want)
{
	return strlen(want) == klen && memcmp(key, want, klen) == 0;
}

static void cpu_stat_kv(const char *k, size_t kl, uint64_t v, struct rw_cgstats *o)
{
	if (key_is(k, kl, "usage_usec")) {
		o->usage_usec = v;
		o->have |= RW_CGS_CPU;
	} else if (key_is(k, kl, "user_usec")) {
		o->user_usec = v;
	} else if (key_is(k, kl, "system_usec")) {
		o->system_usec = v;
	} else if (key_is(k, kl, "nr_periods")) {
		o->nr_periods = v;
		o->have |= RW_CGS_THROTTLE;
	} else if (key_is(k, kl, "nr_throttled")) {
		o->nr_throttled = v;
	} else if (key_is(k, kl, "throttled_usec")) {
		o->throttled_usec = v;
	}
}

int rw_cgstats_parse_cpu_stat(const char *text, struct rw_cgstats *out)
{
	return parse_kv(text, cpu_stat_kv, out);
}

static void memory_stat_kv(const char *k, size_t kl, uint64_t v, struct rw_cgstats *o)
{
	/* v2 names, and the v1 ones: rss is anonymous memory, rss_huge its transparent huge pages. The
	 * hierarchical total_* v1 keys come later in the file and win, matching v2's recursive numbers. */
	if (key_is(k, kl, "anon") || key_is(k, kl, "rss") || key_is(k, kl, "total_rss")) {
		o->anon = v;
		o->have |= RW_CGS_MEMSTAT;
	} else if (key_is(k, kl, "anon_thp") || key_is(k, kl, "rss_huge") || key_is(k, kl, "total_rss_huge")) {
		o->anon_thp = v;
	} else if (key_is(k, kl, "file") || key_is(k, kl, "cache") || key_is(k, kl, "total_cache")) {
		o->file = v;
	}
}

int rw_cgstats_parse_memory_stat(const char *text, struct rw_cgstats *out)
{
	return parse_kv(text, memory_stat_kv, out);
}

int rw_cgstats_parse_pressure(const char *text, struct rw_cgstats *out)
{
	/* some avg10=1.23 avg60=0.50 avg300=0.10 total=123456 */
	if (strncmp(text, "some ", 5) != 0)
		return -EINVAL;
	const char *nl = strchr(text, '\n');
	const char *a = strstr(text, "avg10=");
	const char *t = strstr(text, "total=");
	if (!a || !t || (nl && (a > nl || t > nl)))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long whole = strtoul(a + 6, &end, 10);
	unsigned long frac = 0;
	if (end == a + 6 || errno)
		return -EINVAL;
	if (*end == '.') {
		const char *f = end + 1;
		frac = strtoul(f, &end, 10);
		if (end - f != 2)
			return -EINVAL;
	}
	if (whole > 100 || frac > 99)
		return -EINVAL;
	errno = 0;
	unsigned long long total = strtoull(t + 6, &end, 10);
	if (errno || end == t + 6 || t[6] == '-')
		return -EINVAL;
	out->psi_some_avg10_x100 = (uint32_t)(whole * 100 + frac);
	out->psi_some_total_usec = total;
	out->have |= RW_CGS_PSI;
	return 0;
}

/* v1 cpuacct and cpu: usage in ns, user/system in USER_HZ ticks, throttling in cpu.stat. `first` is the
 * file bit of this directory's cpuacct.usage; the next two bits are its cpuacct.stat and cpu.stat. */
static void read_v1_cpu(struct rw_cgstats_paths *p, const char *dir, unsigned first, struct rw_cgstats *o)
{
	char buf[512];
	uint64_t ns;
	if (!(o->have & RW_CGS_CPU) && try_u64(p, first, dir, "cpuacct.usage", &ns) == 0) {
		o->usage_usec = ns / 1000;
		o->have |= RW_CGS_CPU;
		if (try_read(p, first + 1, dir, "cpuacct.stat", buf, sizeof buf) > 0) {
			long hz = sysconf(_SC_CLK_TCK);
			unsigned long long u = 0, s = 0;
			if (sscanf(buf, "user %llu\nsystem %llu", &u, &s) == 2 && hz > 0) {
				o->user_usec = u * 1000000ull / (uint64_t)hz;
				o->system_usec = s * 1000000ull / (uint64_t)hz;
			}
		}
	}
	if (!(o->have & RW_CGS_THROTTLE) && try_read(p, first + 2, dir, "cpu.stat", buf, sizeof buf) > 0) {
		unsigned long long per = 0, thr = 0, tns = 0;
		const char *q;
		if ((q = strstr(buf, "nr_periods ")) && sscanf(q, "nr_periods %llu", &per) == 1 &&
		    (q = strstr(buf, "nr_throttled ")) && sscanf(q, "nr_throttled %llu", &thr) == 1 &&
		    (q = strstr(buf, "throttled_time ")) && sscanf(q, "throttled_time %llu", &tns) == 1) {
			o->nr_periods = per;
			o->nr_throttled = thr;
			o->throttled_usec = tns / 1000;
			o->have |= RW_CGS_THROTTLE;
		}
	}
}

int rw_cgstats_read(struct rw_cgstats_paths *paths, struct rw_cgstats *out)
{
	char buf[4096];
	ssize_t n;

	memset(out, 0, sizeof *out);
	if (paths->v1_only) {
		/* The walked directory is a v1 one: its files are read through the controller paths below (which may
		 * name it again); here only whether it still exists. */
		if (access(paths->v2_dir, F_OK) != 0)
			return -ENOENT;
	} else {
		/* cpu.stat is in every cgroup2 directory: its absence means the cgroup is gone. */
		n = read_v2(paths, "cpu.stat", buf, sizeof buf);
		if (n < 0 && access(paths->v2_dir, F_OK) != 0)
			return -ENOENT;
		if (n > 0)
			rw_cgstats_parse_cpu_stat(buf, out);
		if (try_u64(paths, F_MEM_CURRENT, paths->v2_dir, "memory.current", &out->memory_current) == 0)
			out->have |= RW_CGS_MEMORY;
		if (try_read(paths, F_MEM_STAT, paths->v2_dir, "memory.stat", buf, sizeof buf) > 0)
			rw_cgstats_parse_memory_stat(buf, out);
		if (try_u64(paths, F_PIDS, paths->v2_dir, "pids.current", &out->pids_current) == 0)
			out->have |= RW_CGS_PIDS;
		if (!paths->skip_psi && try_read(paths, F_PSI, paths->v2_dir, "cpu.pressure", buf, sizeof buf) > 0)
			rw_cgstats_parse_pressure(buf, out);
	}

	if (paths->v1_cpuacct_dir)
		read_v1_cpu(paths, paths->v1_cpuacct_dir, F_ACCT_USAGE, out);
	if (paths->v1_cpu_dir)
		read_v1_cpu(paths, paths->v1_cpu_dir, F_CPU_USAGE, out);
	if (paths->v1_memory_dir && !(out->have & RW_CGS_MEMORY) &&
	    try_u64(paths, F_V1_MEM_USAGE, paths->v1_memory_dir, "memory.usage_in_bytes", &out->memory_current) == 0) {
		out->have |= RW_CGS_MEMORY;
		if (try_read(paths, F_V1_MEM_STAT, paths->v1_memory_dir, "memory.stat", buf, sizeof buf) > 0)
			rw_cgstats_parse_memory_stat(buf, out);
	}
	if (paths->v1_pids_dir && !(out->have & RW_CGS_PIDS) &&
	    try_u64(paths, F_V1_PIDS, paths->v1_pids_dir, "pids.current", &out->pids_current) == 0)
		out->have |= RW_CGS_PIDS;
	return 0;
}
