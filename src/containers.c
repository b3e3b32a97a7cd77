/* containers: names from the container engine's on-disk state, and the origin of a convicted container's miner. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/containers.h"
#include "rigwatch/fsutil.h"
#include "rigwatch/jsonread.h"

/* config.v2.json of a container with a few labels is 3-5 KiB; one with hundreds of mounts or a long env stays far
 * below this. A larger file is refused rather than read partly. */
#define DOCKER_CONFIG_MAX (1024 * 1024)

void rw_image_ref_split(const char *ref, char *repo, size_t repolen, char *tag, size_t taglen)
{
	const char *at = strchr(ref, '@');
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(ref, ':');
	size_t rn;

	if (at) {
		/* a digest pins the content: there is no tag to show */
		rn = (size_t)(at - ref);
		snprintf(tag, taglen, "%s", "");
	} else if (colon && (!slash || colon > slash)) {
		rn = (size_t)(colon - ref);
		snprintf(tag, taglen, "%s", colon + 1);
	} else {
		/* "registry:5000/x" has its colon before the last '/': a port, not a tag */
		rn = strlen(ref);
		snprintf(tag, taglen, "%s", "latest");
	}
	snprintf(repo, repolen, "%.*s", (int)rn, ref);
}

/* Copy with truncation at a UTF-8 character boundary. */
static void copy_trunc(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n > cap - 1) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int two(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

static bool ndigits(const char *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

int rw_parse_rfc3339_ns(const char *s, uint64_t *ns)
{
	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	*ns = 0;
	if (strlen(s) < 20 || !ndigits(s, 4) || s[4] != '-' || !ndigits(s + 5, 2) || s[7] != '-' ||
	    !ndigits(s + 8, 2) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !ndigits(s + 11, 2) ||
	    s[13] != ':' || !ndigits(s + 14, 2) || s[16] != ':' || !ndigits(s + 17, 2))
		return -EINVAL;
	struct tm tm = { 0 };
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = two(s + 5) - 1;
	tm.tm_mday = two(s + 8);
	tm.tm_hour = two(s + 11);
	tm.tm_min = two(s + 14);
	tm.tm_sec = two(s + 17);
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -EINVAL;
	const char *p = s + 19;
	uint64_t frac = 0;
	unsigned fd = 0;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++)
			if (fd < 9) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				fd++;
			}
		for (; fd < 9; fd++)
			frac *= 10;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && ndigits(p + 1, 2) && p[3] == ':' && ndigits(p + 4, 2)) {
		off = (two(p + 1) * 60L + two(p + 4)) * 60L * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 && tm.tm_year >= 70)
		return -EINVAL;
	int64_t secs = (int64_t)t - off;
	if (tm.tm_year < 70 || secs <= 0)
		return 0; /* Go's zero time: never started */
	*ns = (uint64_t)secs * 1000000000ull + frac;
	return 0;
}

static void get_str(const struct rw_json *obj, const char *const *path, unsigned n, char *dst, size_t cap)
{
	struct rw_json v;
	dst[0] = '\0';
	if (rw_json_path(obj, path, n, &v) == 0 && v.type == RW_JSON_STRING)
		rw_json_string(&v, dst, cap);
}

static bool label_wanted(const struct rw_glob_list *g, const char *key)
{
	for (unsigned i = 0; g && i < g->n; i++)
		if (fnmatch(g->items[i], key, 0) == 0)
			return true;
	return false;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int rw_docker_config_parse(const char *text, size_t len, const struct rw_glob_list *labels,
			   struct rw_container_meta *out, char *err, size_t errlen)
{
	struct rw_json root, v, st;
	char buf[300], jerr[96];

	memset(out, 0, sizeof *out);
	if (rw_json_parse(text, len, &root, jerr, sizeof jerr) < 0) {
		snprintf(err, errlen, "not JSON (%s)", jerr);
		return -EINVAL;
	}
	if (root.type != RW_JSON_OBJECT) {
		snprintf(err, errlen, "not a JSON object");
		return -EINVAL;
	}
	/* ID and Name are what make this a container's state file; everything else may be missing */
	get_str(&root, (const char *const[]){ "ID" }, 1, buf, sizeof buf);
	if (!is_hex64(buf)) {
		snprintf(err, errlen, "field ID: not a 64-hex container id");
		return -EINVAL;
	}
	snprintf(out->short_id, sizeof out->short_id, "%.12s", buf);
	get_str(&root, (const char *const[]){ "Name" }, 1, buf, sizeof buf);
	if (!buf[0]) {
		snprintf(err, errlen, "field Name: missing or not a string");
		return -EINVAL;
	}
	copy_trunc(out->name, sizeof out->name, buf[0] == '/' ? buf + 1 : buf);
	snprintf(out->engine, sizeof out->engine, "docker");
	get_str(&root, (const char *const[]){ "Config", "Image" }, 2, out->image, sizeof out->image);
	get_str(&root, (const char *const[]){ "Image" }, 1, out->image_id, sizeof out->image_id);
	if (out->image[0])
		rw_image_ref_split(out->image, out->image_repository, sizeof out->image_repository, out->image_tag,
				   sizeof out->image_tag);

	if (rw_json_member(&root, "State", &st) == 0 && st.type == RW_JSON_OBJECT) {
		int64_t pid;
		bool b;
		if (rw_json_member(&st, "Pid", &v) == 0 && rw_json_int(&v, &pid) == 0 && pid > 0 && pid <= INT32_MAX)
			out->pid = (int32_t)pid;
		if (rw_json_member(&st, "Running", &v) == 0 && rw_json_bool(&v, &b) == 0)
			out->running = b;
		if (rw_json_member(&st, "Paused", &v) == 0 && rw_json_bool(&v, &b) == 0)
			out->paused = b;
		get_str(&st, (const char *const[]){ "StartedAt" }, 1, buf, sizeof buf);
		if (buf[0] && rw_parse_rfc3339_ns(buf, &out->started_ns) < 0) {
			snprintf(err, errlen, "field State.StartedAt: not an RFC 3339 time");
			return -EINVAL;
		}
	}
	if (!out->running)
		out->pid = 0; /* a stopped container's last pid may be anyone's now */

	struct rw_json lab, k, lv;
	const char *const lp[] = { "Config", "Labels" };
	if (labels && labels->n && rw_json_path(&root, lp, 2, &lab) == 0 && lab.type == RW_JSON_OBJECT) {
		size_t cur = 0;
		while (out->n_labels < RW_CONTAINER_LABELS && rw_json_next(&lab, &cur, &k, &lv) == 1) {
			struct rw_container_label *l = &out->labels[out->n_labels];
			if (lv.type != RW_JSON_STRING || rw_json_string(&k, l->key, sizeof l->key) >= (int)sizeof l->key)
				continue; /* a key too long to show whole is not shown cut */
			if (!label_wanted(labels, l->key))
				continue;
			rw_json_string(&lv, l->value, sizeof l->value);
			out->n_labels++;
		}
	}
	out->have = true;
	return 0;
}

void rw_docker_config_path(const char *docker_root, const char *id, char *path, size_t len)
{
	snprintf(path, len, "%s/containers/%s/config.v2.json", docker_root, id);
}

uint64_t rw_docker_meta_mtime(const char *docker_root, const char *id)
{
	char path[RW_CONFIG_PATH_LEN + 128];
	struct stat st;
	rw_docker_config_path(docker_root, id, path, sizeof path);
	if (stat(path, &st) < 0)
		return 0;
	return (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
}

int rw_docker_meta_read(const char *docker_root, const char *id, const struct rw_glob_list *labels,
			struct rw_container_meta *out, uint64_t *mtime_ns, char *err, size_t errlen)
{
	char path[RW_CONFIG_PATH_LEN + 128], why[200];
	char *text = NULL;
	size_t len = 0;
	struct stat st;

	memset(out, 0, sizeof *out);
	*mtime_ns = 0;
	err[0] = '\0';
	if (!is_hex64(id))
		return -ENOENT;
	rw_docker_config_path(docker_root, id, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DOCKER_CONFIG_MAX) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file under %d bytes", path, DOCKER_CONFIG_MAX);
		return -EINVAL;
	}
	*mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		return -ENOMEM;
	}
	/* dockerd replaces the file by rename: an open fd always reads one whole version */
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = '\0';
	int r = rw_docker_config_parse(text, len, labels, out, why, sizeof why);
	free(text);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return r;
	}
	return 0;
}

/* ---- origin ------------------------------------------------------------------------------------------------ */

/* RandomX cannot hash without its 256 MiB cache (light mode) or 2080 MiB dataset: a process holding less anonymous
 * memory than this is not the one hashing, however busy. */
#define HASHING_ANON_MIN (192ull << 20)

struct pinfo {
	struct rw_origin_proc o;
	uint64_t anon_bytes;
	uint64_t cpu_ticks;
	uint64_t start_ticks;
};

static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int read_pinfo(const char *proc_root, int32_t pid, uint64_t btime, long hz, struct pinfo *p)
{
	char path[RW_CONFIG_PATH_LEN + 48], buf[1024];
	memset(p, 0, sizeof *p);
	snprintf(path, sizeof path, "%s/%d/stat", proc_root, (int)pid);
	if (rw_read_small(AT_FDCWD, path, buf, sizeof buf) <= 0)
		return -ENOENT;
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp)
		return -EINVAL;
	snprintf(p->o.comm, sizeof p->o.comm, "%.*s", (int)(rp - lp - 1), lp + 1);
	sanitize(p->o.comm);
	/* after ") ": field 3 (state) is token 0; ppid (4), utime (14), stime (15), starttime (22) */
	unsigned long long tok[20] = { 0 };
	char *q = rp + 1;
	for (unsigned i = 0; i < 20; i++) {
		while (*q == ' ')
			q++;
		if (!*q)
			break;
		tok[i] = i == 0 ? 0 : strtoull(q, NULL, 10);
		while (*q && *q != ' ')
			q++;
	}
	unsigned long long f[23] = { 0 };
	for (unsigned i = 0; i < 20; i++)
		f[i + 3] = tok[i];
	p->o.pid = pid;
	p->o.ppid = (int32_t)f[4];
	p->cpu_ticks = f[14] + f[15];
	p->start_ticks = f[22];
	p->o.start_ns = (btime + p->start_ticks / (uint64_t)hz) * 1000000000ull +
			(p->start_ticks % (uint64_t)hz) * (1000000000ull / (uint64_t)hz);

	snprintf(path, sizeof path, "%s/%d/status", proc_root, (int)pid);
	char st[4096];
	if (rw_read_small(AT_FDCWD, path, st, sizeof st) > 0) {
		char *u = strstr(st, "\nUid:");
		if (u)
			p->o.uid = (uint32_t)strtoul(u + 5, NULL, 10);
		char *a = strstr(st, "\nRssAnon:");
		if (a)
			p->anon_bytes = strtoull(a + 9, NULL, 10) * 1024u;
	}
	snprintf(path, sizeof path, "%s/%d/exe", proc_root, (int)pid);
	ssize_t n = readlink(path, p->o.exe, sizeof p->o.exe - 1);
	p->o.exe[n > 0 ? n : 0] = '\0';
	sanitize(p->o.exe);

	snprintf(path, sizeof path, "%s/%d/cmdline", proc_root, (int)pid);
	n = rw_read_small(AT_FDCWD, path, buf, sizeof buf);
	if (n > 0) {
		while (n > 0 && buf[n - 1] == '\0')
			n--;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[n] = '\0';
		sanitize(buf);
		copy_trunc(p->o.cmdline, sizeof p->o.cmdline, buf);
	}
	return 0;
}

static bool is_init_helper(const struct rw_origin_proc *o)
{
	const char *b = strrchr(o->exe, '/');
	b = b ? b + 1 : o->exe;
	/* docker run --init puts docker-init (tini) first, with the entry point as its child */
	return !strcmp(o->comm, "docker-init") || !strcmp(o->comm, "tini") || !strcmp(b, "docker-init") ||
	       !strcmp(b, "tini");
}

int rw_container_origin_read(const char *proc_root, const char *cgroup_procs, int32_t first_pid,
			     struct rw_container_origin *out)
{
	memset(out, 0, sizeof *out);
	if (!proc_root || !*proc_root)
		proc_root = "/proc";
	FILE *f = fopen(cgroup_procs, "re");
	if (!f)
		return -ENOENT;
	uint64_t btime = rw_boot_time_s(proc_root);
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;

	/* Two passes over the cgroup's processes: the busiest one's CPU time, then the oldest of those near it. */
	int32_t pids[512];
	unsigned np = 0;
	int pid;
	while (np < sizeof pids / sizeof pids[0] && fscanf(f, "%d", &pid) == 1)
		if (pid > 0)
			pids[np++] = pid;
	fclose(f);

	/* Candidates: the processes with RandomX's memory footprint, or all of them where none has it. */
	struct pinfo best, cur;
	uint64_t max_cpu = 0;
	bool any = false, footprint = false;
	for (unsigned i = 0; i < np; i++)
		if (read_pinfo(proc_root, pids[i], btime, hz, &cur) == 0 && cur.anon_bytes >= HASHING_ANON_MIN)
			footprint = true;
	for (unsigned i = 0; i < np; i++)
		if (read_pinfo(proc_root, pids[i], btime, hz, &cur) == 0 &&
		    (!footprint || cur.anon_bytes >= HASHING_ANON_MIN) && cur.cpu_ticks >= max_cpu) {
			max_cpu = cur.cpu_ticks;
			any = true;
		}
	if (!any)
		return -ENOENT;
	any = false;
	for (unsigned i = 0; i < np; i++) {
		if (read_pinfo(proc_root, pids[i], btime, hz, &cur) < 0 || cur.cpu_ticks * 2 < max_cpu ||
		    (footprint && cur.anon_bytes < HASHING_ANON_MIN))
			continue;
		if (!any || cur.start_ticks < best.start_ticks ||
		    (cur.start_ticks == best.start_ticks && cur.o.pid < best.o.pid)) {
			best = cur;
			any = true;
		}
	}
	if (!any)
		return -ENOENT;

	/* The chain: the hashing process, then parents while they are the container's; the first parent outside
	 * (a runtime's shim for docker exec) ends it and is shown as the one that started it. */
	bool reached_first = false;
	cur = best;
	for (;;) {
		out->chain[out->n++] = cur.o;
		if (first_pid > 0 && cur.o.pid == first_pid) {
			reached_first = true;
			break;
		}
		bool inside = false;
		for (unsigned i = 0; i < np && !inside; i++)
			inside = pids[i] == cur.o.pid;
		if (!inside || out->n == RW_ORIGIN_CHAIN_MAX || cur.o.ppid <= 0 || cur.o.pid == 1)
			break;
		if (read_pinfo(proc_root, cur.o.ppid, btime, hz, &cur) < 0)
			break; /* the parent is gone: the chain ends here */
	}

	if (first_pid <= 0)
		out->started = RW_ORIGIN_UNKNOWN;
	else if (best.o.pid == first_pid || (reached_first && out->n == 2 && is_init_helper(&out->chain[1])))
		out->started = RW_ORIGIN_ENTRYPOINT;
	else if (reached_first)
		out->started = RW_ORIGIN_SPAWNED;
	else
		out->started = RW_ORIGIN_EXEC;
	out->have = true;
	return 0;
}

const char *rw_origin_start_name(enum rw_origin_start s)
{
	switch (s) {
	case RW_ORIGIN_ENTRYPOINT:
		return "entrypoint";
	case RW_ORIGIN_SPAWNED:
		return "spawned";
	case RW_ORIGIN_EXEC:
		return "exec";
	case RW_ORIGIN_UNKNOWN:
	default:
		return "unknown";
	}
}

void rw_origin_describe(const struct rw_container_origin *o, char *buf, size_t len)
{
	if (!o->have || o->n == 0) {
		snprintf(buf, len, "unknown");
		return;
	}
	const struct rw_origin_proc *m = &o->chain[0], *top = &o->chain[o->n - 1];
	const char *what = m->exe[0] ? m->exe : m->comm;
	switch (o->started) {
	case RW_ORIGIN_ENTRYPOINT:
		snprintf(buf, len, "%s (pid %d) is the container's entry point: the image or its command runs it", what,
			 (int)m->pid);
		return;
	case RW_ORIGIN_SPAWNED:
		snprintf(buf, len, "%s (pid %d) was started inside the container by its running service (%s, pid %d, "
			 "%u levels up): the service was compromised", what, (int)m->pid,
			 o->n > 1 ? (o->chain[1].exe[0] ? o->chain[1].exe : o->chain[1].comm) : "?",
			 o->n > 1 ? (int)o->chain[1].pid : 0, o->n - 1);
		return;
	case RW_ORIGIN_EXEC:
		snprintf(buf, len, "%s (pid %d) was started later from outside the container's process tree (parent %s, "
			 "pid %d: e.g. docker exec)", what, (int)m->pid, o->n > 1 ? top->comm : "gone",
			 o->n > 1 ? (int)top->pid : 0);
		return;
	case RW_ORIGIN_UNKNOWN:
	default:
		snprintf(buf, len, "%s (pid %d); the container's first process is not known", what, (int)m->pid);
		return;
	}
}
