/* procscan: match a target's processes (comm, exe, command line, TCP connections) against the indicator rules and
 * record the process tree of the oldest suspicious one. Reads only /proc-style files, so it runs on fixture trees. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "rigwatch/config.h"
#include "rigwatch/fsutil.h"
#include "rigwatch/log.h"
#include "rigwatch/procscan.h"

#define COMP "procscan"
#define MAX_PROCS   4096   /* processes scanned per target */
#define MAX_FDS     4096   /* fds looked at per process */
#define CMDLINE_MAX 4096
#define LINE_MAX_LEN 512

enum kind { K_NAME, K_EXE, K_CMDLINE, K_POOL_HOST, K_POOL_PORT, K_COUNT };

static const struct {
	const char *word;
	unsigned bit;
	int strength;     /* which match becomes the evidence sentence: higher wins */
} kinds[K_COUNT] = {
	[K_NAME] = { "name", RW_IND_NAME, 3 },
	[K_EXE] = { "exe", RW_IND_EXE, 2 },
	[K_CMDLINE] = { "cmdline", RW_IND_CMDLINE, 5 },
	[K_POOL_HOST] = { "pool-host", RW_IND_POOL_HOST, 4 },
	[K_POOL_PORT] = { "pool-port", RW_IND_POOL_PORT, 1 },
};

struct rule {
	enum kind kind;
	uint16_t port;
	char value[RW_PROCSCAN_VALUE_MAX + 1]; /* lowercased, except exe */
};

struct rw_procscan_rules {
	struct rule *r;
	unsigned n, cap;
	uint8_t ports[65536 / 8];
	unsigned nports;
};

const char *rw_procscan_kind_name(unsigned bit)
{
	for (unsigned k = 0; k < K_COUNT; k++)
		if (kinds[k].bit == bit)
			return kinds[k].word;
	return "?";
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* ---- rules ------------------------------------------------------------------------------------------------- */

static int add_rule(struct rw_procscan_rules *rs, const struct rule *r)
{
	if (rs->n == rs->cap) {
		unsigned cap = rs->cap ? rs->cap * 2 : 64;
		struct rule *n = realloc(rs->r, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		rs->r = n;
		rs->cap = cap;
	}
	rs->r[rs->n++] = *r;
	if (r->kind == K_POOL_PORT) {
		if (!(rs->ports[r->port / 8] & (1u << (r->port % 8))))
			rs->nports++;
		rs->ports[r->port / 8] |= (uint8_t)(1u << (r->port % 8));
	}
	return 0;
}

int rw_procscan_rules_parse(struct rw_procscan_rules **out, const char *name, const char *text, char *err,
			    size_t errlen)
{
	struct rw_procscan_rules *rs = calloc(1, sizeof(*rs));
	int rc = 0;
	unsigned lineno = 0;
	if (!rs)
		return -ENOMEM;
	*out = NULL;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[LINE_MAX_LEN + 1];
		lineno++;
		if (len > LINE_MAX_LEN) {
			snprintf(err, errlen, "%s:%u: line longer than %d characters", name, lineno, LINE_MAX_LEN);
			rc = -EINVAL;
			goto out;
		}
		memcpy(line, p, len);
		line[len] = 0;
		p = nl ? nl + 1 : p + len;
		/* trim */
		char *s = line, *e = line + len;
		while (*s == ' ' || *s == '\t')
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = 0;
		if (!*s || *s == '#')
			continue;
		char *sp = s;
		while (*sp && *sp != ' ' && *sp != '\t')
			sp++;
		char *val = sp;
		if (*sp)
			*sp = 0, val = sp + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		struct rule r = { 0 };
		unsigned k;
		for (k = 0; k < K_COUNT; k++)
			if (!strcmp(s, kinds[k].word))
				break;
		if (k == K_COUNT) {
			snprintf(err, errlen, "%s:%u: unknown rule kind '%s' (name, exe, cmdline, pool-host, pool-port)",
				 name, lineno, s);
			rc = -EINVAL;
			goto out;
		}
		r.kind = (enum kind)k;
		if (!*val) {
			snprintf(err, errlen, "%s:%u: %s rule without a value", name, lineno, s);
			rc = -EINVAL;
			goto out;
		}
		if (strlen(val) > RW_PROCSCAN_VALUE_MAX) {
			snprintf(err, errlen, "%s:%u: value longer than %d characters", name, lineno,
				 RW_PROCSCAN_VALUE_MAX);
			rc = -EINVAL;
			goto out;
		}
		if (r.kind == K_POOL_PORT) {
			char *end;
			errno = 0;
			long port = strtol(val, &end, 10);
			if (errno || *end || end == val || port < 1 || port > 65535) {
				snprintf(err, errlen, "%s:%u: bad pool-port '%s' (want 1..65535)", name, lineno, val);
				rc = -EINVAL;
				goto out;
			}
			r.port = (uint16_t)port;
		} else if ((r.kind == K_NAME || r.kind == K_POOL_HOST) && strpbrk(val, " \t/")) {
			snprintf(err, errlen, "%s:%u: %s value '%s' must be one word without '/'", name, lineno, s, val);
			rc = -EINVAL;
			goto out;
		}
		snprintf(r.value, sizeof(r.value), "%s", val);
		if (r.kind != K_EXE)
			lower(r.value);
		if ((rc = add_rule(rs, &r)) < 0) {
			snprintf(err, errlen, "%s:%u: out of memory", name, lineno);
			goto out;
		}
	}
out:
	if (rc < 0) {
		rw_procscan_rules_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

int rw_procscan_rules_load(struct rw_procscan_rules **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);
	int rc = 0;
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (len < cap - 1)
			break;
		if (cap >= (1u << 22)) {
			snprintf(err, errlen, "%s: rule file larger than 4 MiB", path);
			rc = -EINVAL;
			break;
		}
		cap *= 2;
		char *nb = realloc(buf, cap);
		if (!nb) {
			free(buf);
			buf = NULL;
		} else
			buf = nb;
	}
	int ioerr = ferror(f);
	fclose(f);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (!rc && ioerr) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -EIO;
	}
	if (!rc && memchr(buf, 0, len)) {
		snprintf(err, errlen, "%s: binary data (NUL byte) in a rule file", path);
		rc = -EINVAL;
	}
	if (!rc) {
		buf[len] = 0;
		rc = rw_procscan_rules_parse(out, path, buf, err, errlen);
	}
	free(buf);
	return rc;
}

void rw_procscan_rules_free(struct rw_procscan_rules *rules)
{
	if (!rules)
		return;
	free(rules->r);
	free(rules);
}

unsigned rw_procscan_rules_count(const struct rw_procscan_rules *rules)
{
	return rules ? rules->n : 0;
}

/* ---- /proc reading ----------------------------------------------------------------------------------------- */

struct proc {
	int32_t pid, ppid;
	uint32_t uid;
	uint64_t start_ticks;
	char comm[16];
	char exe[96];
	uint32_t hits;
	int strength;
	char evidence[160];
	char netns[64];
};

/* Copy with truncation (snprintf of a longer buffer trips -Wformat-truncation). */
static void copy_trunc(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}


/* comm, ppid, start time, uid, exe of one process; -ESRCH when it is gone. */
static int read_proc(const char *proc_root, int32_t pid, struct proc *p)
{
	char path[RW_CONFIG_PATH_LEN + 64], buf[1024];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
	if (rw_read_small(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return -ESRCH;
	/* "pid (comm) S ppid ..."; comm may hold spaces and parentheses, so cut at the last ')'. */
	char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
	if (!lp || !rp || rp < lp)
		return -ESRCH;
	size_t cl = (size_t)(rp - lp - 1);
	if (cl > sizeof(p->comm) - 1)
		cl = sizeof(p->comm) - 1;
	memcpy(p->comm, lp + 1, cl);
	p->comm[cl] = 0;
	int ppid;
	unsigned long long start;
	if (sscanf(rp + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &ppid,
		   &start) != 2)
		return -ESRCH;
	p->ppid = ppid;
	p->start_ticks = start;
	/* comm file when present (stat's copy is the same, but fixtures may give only one) */
	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, (int)pid);
	if (rw_read_small(AT_FDCWD, path, buf, sizeof(p->comm) + 1) > 0) {
		buf[strcspn(buf, "\n")] = 0;
		copy_trunc(p->comm, sizeof(p->comm), buf);
	}
	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid);
	char st[4096];
	if (rw_read_small(AT_FDCWD, path, st, sizeof(st)) > 0) {
		char *u = strstr(st, "\nUid:");
		if (u)
			p->uid = (uint32_t)strtoul(u + 5, NULL, 10);
	}
	snprintf(path, sizeof(path), "%s/%d/exe", proc_root, (int)pid);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		copy_trunc(p->exe, sizeof(p->exe), buf);
	}
	snprintf(path, sizeof(path), "%s/%d/ns/net", proc_root, (int)pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		copy_trunc(p->netns, sizeof(p->netns), buf);
	} else
		snprintf(p->netns, sizeof(p->netns), "pid:%d", (int)pid); /* unknown: read this pid's own view */
	return 0;
}

static const char *base_name(const char *path, char *buf, size_t len)
{
	const char *b = strrchr(path, '/');
	snprintf(buf, len, "%s", b ? b + 1 : path);
	char *del = strstr(buf, " (deleted)");
	if (del)
		*del = 0;
	lower(buf);
	return buf;
}

static void hit(struct proc *p, unsigned kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void hit(struct proc *p, unsigned kind, const char *fmt, ...)
{
	p->hits |= kinds[kind].bit;
	if (kinds[kind].strength <= p->strength)
		return;
	p->strength = kinds[kind].strength;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->evidence, sizeof(p->evidence), fmt, ap);
	va_end(ap);
}

/* Match comm, exe and cmdline; returns the number of rules matched. */
static unsigned match_text(const struct rw_procscan_rules *rs, const char *proc_root, struct proc *p)
{
	char path[RW_CONFIG_PATH_LEN + 64], cmd[CMDLINE_MAX + 1], lcmd[CMDLINE_MAX + 1];
	char comm[16], exeb[96], argv0b[256];
	unsigned matches = 0;
	snprintf(path, sizeof(path), "%s/%d/cmdline", proc_root, (int)p->pid);
	int n = rw_read_small(AT_FDCWD, path, cmd, sizeof(cmd));
	if (n < 0)
		n = 0;
	/* argv[0] basename before the NULs become spaces */
	base_name(cmd, argv0b, sizeof(argv0b));
	argv0b[strcspn(argv0b, " ")] = 0;
	for (int i = 0; i < n; i++)
		if (cmd[i] == 0 || cmd[i] == '\n')
			cmd[i] = ' ';
	while (n > 0 && cmd[n - 1] == ' ')
		cmd[--n] = 0;
	memcpy(lcmd, cmd, (size_t)n + 1);
	lower(lcmd);
	snprintf(comm, sizeof(comm), "%s", p->comm);
	lower(comm);
	base_name(p->exe, exeb, sizeof(exeb));

	for (unsigned i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->r[i];
		switch (r->kind) {
		case K_NAME:
			if (!strncmp(comm, r->value, 15) && strlen(comm) == (strlen(r->value) < 15 ? strlen(r->value) : 15)) {
				hit(p, K_NAME, "comm is %s (pid %d)", p->comm, (int)p->pid);
			} else if ((*exeb && !strcmp(exeb, r->value)) || (*argv0b && !strcmp(argv0b, r->value))) {
				hit(p, K_NAME, "%s is %s (pid %d %s)", !strcmp(exeb, r->value) ? "exe" : "argv[0]",
				    r->value, (int)p->pid, p->comm);
			} else
				continue;
			break;
		case K_EXE:
			if (!*p->exe || !strstr(p->exe, r->value))
				continue;
			hit(p, K_EXE, "exe %s contains %s (pid %d)", p->exe, r->value, (int)p->pid);
			break;
		case K_CMDLINE:
			if (!n || !strstr(lcmd, r->value))
				continue;
			hit(p, K_CMDLINE, "cmdline contains %s (pid %d %s)", r->value, (int)p->pid, p->comm);
			break;
		case K_POOL_HOST:
			if (!n || !strstr(lcmd, r->value))
				continue;
			hit(p, K_POOL_HOST, "cmdline names pool %s (pid %d %s)", r->value, (int)p->pid, p->comm);
			break;
		default:
			continue;
		}
		matches++;
	}
	return matches;
}

/* ---- sockets ----------------------------------------------------------------------------------------------- */

struct sock {
	uint64_t inode;
	unsigned proc;   /* index into the scan's process array */
};

static int sock_cmp(const void *a, const void *b)
{
	const struct sock *x = a, *y = b;
	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int collect_sockets(const char *proc_root, unsigned idx, int32_t pid, struct sock **v, unsigned *n,
			   unsigned *cap)
{
	char path[RW_CONFIG_PATH_LEN + 64], link[128];
	snprintf(path, sizeof(path), "%s/%d/fd", proc_root, (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	struct dirent *de;
	unsigned seen = 0;
	while ((de = readdir(d)) && seen < MAX_FDS) {
		if (de->d_name[0] == '.')
			continue;
		seen++;
		ssize_t l = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		unsigned long long ino;
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		if (*n == *cap) {
			unsigned nc = *cap ? *cap * 2 : 64;
			struct sock *nv = realloc(*v, nc * sizeof(*nv));
			if (!nv)
				break;
			*v = nv;
			*cap = nc;
		}
		(*v)[(*n)++] = (struct sock){ ino, idx };
	}
	closedir(d);
	return 0;
}

/* "0100007F:0D05" (IPv4) or 32 hex digits (IPv6), both in the kernel's host-order words, to text. */
static void format_addr(const char *hex, char *out, size_t len)
{
	unsigned char a[16];
	size_t hl = strcspn(hex, ":");
	int fam = hl == 8 ? AF_INET : AF_INET6;
	if (hl != 8 && hl != 32) {
		snprintf(out, len, "?");
		return;
	}
	for (size_t w = 0; w < hl / 8; w++) {
		unsigned int word;
		char tmp[9];
		memcpy(tmp, hex + w * 8, 8);
		tmp[8] = 0;
		word = (unsigned int)strtoul(tmp, NULL, 16);
		memcpy(a + w * 4, &word, 4); /* the kernel printed the word in host order */
	}
	if (!inet_ntop(fam, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

/* Read one net/tcp or net/tcp6 table and count connections of our sockets to pool ports. */
static unsigned match_tcp(const struct rw_procscan_rules *rs, const char *path, const struct sock *socks,
			  unsigned nsocks, struct proc *procs)
{
	FILE *f = fopen(path, "re");
	unsigned found = 0;
	if (!f)
		return 0;
	char line[512];
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char local[64], rem[64];
		unsigned st;
		unsigned long long ino;
		if (sscanf(line, " %*s %63s %63s %x %*s %*s %*s %*u %*d %llu", local, rem, &st, &ino) != 4)
			continue;
		if (st == 0x0A || ino == 0) /* listener, or a socket in TIME_WAIT owned by no one */
			continue;
		char *colon = strchr(rem, ':');
		if (!colon)
			continue;
		unsigned port = (unsigned)strtoul(colon + 1, NULL, 16);
		if (port > 65535 || !(rs->ports[port / 8] & (1u << (port % 8))))
			continue;
		struct sock key = { ino, 0 };
		const struct sock *s = bsearch(&key, socks, nsocks, sizeof(*socks), sock_cmp);
		if (!s)
			continue;
		char addr[64];
		format_addr(rem, addr, sizeof(addr));
		struct proc *p = &procs[s->proc];
		hit(p, K_POOL_PORT, "connection to %s%s%s:%u (pool port) (pid %d %s)", strchr(addr, ':') ? "[" : "",
		    addr, strchr(addr, ':') ? "]" : "", port, (int)p->pid, p->comm);
		found++;
	}
	fclose(f);
	return found;
}

/* ---- the scan ---------------------------------------------------------------------------------------------- */

static void fill_origin(struct rw_proc_origin *o, const struct proc *p, uint64_t btime, long hz)
{
	memset(o, 0, sizeof(*o));
	o->pid = p->pid;
	o->ppid = p->ppid;
	o->uid = p->uid;
	o->start_time_s = btime + p->start_ticks / (uint64_t)hz;
	snprintf(o->comm, sizeof(o->comm), "%s", p->comm);
	snprintf(o->exe, sizeof(o->exe), "%s", p->exe);
}

/* The scan of the processes listed in f (one pid per line), or of the one process `single` when f is NULL; `what`
 * names them in logs. A single process always gets its origin chain (it and its ancestors): for a process target
 * that chain is its identity. */
static int scan(const struct rw_procscan_rules *rules, const char *proc_root, FILE *f, int32_t single,
		const char *what, struct rw_indicator_evidence *out)
{
	char path[RW_CONFIG_PATH_LEN + 64];
	struct proc *procs = NULL;
	struct sock *socks = NULL;
	unsigned nprocs = 0, nsocks = 0, capsocks = 0;
	uint32_t matches = 0, conns = 0;
	int rc = 0;

	/* Grown as needed: most targets hold a handful of processes, and zeroing room for MAX_PROCS on every scan
	 * of every busy target was most of the agent's CPU time. */
	unsigned cap = 0;
	int pid;
	bool once = false;
	while (nprocs < MAX_PROCS && (f ? fscanf(f, "%d", &pid) == 1 : !once)) {
		if (!f) {
			pid = single;
			once = true;
		}
		if (pid <= 0)
			continue; /* outside our PID namespace */
		if (nprocs == cap) {
			unsigned ncap = cap ? cap * 2 : 16;
			struct proc *n = realloc(procs, (ncap > MAX_PROCS ? MAX_PROCS : ncap) * sizeof(*procs));
			if (!n) {
				rc = -ENOMEM;
				break;
			}
			procs = n;
			cap = ncap > MAX_PROCS ? MAX_PROCS : ncap;
		}
		if (read_proc(proc_root, pid, &procs[nprocs]) < 0)
			continue; /* gone: skipped silently */
		if (rules)
			matches += match_text(rules, proc_root, &procs[nprocs]);
		if (rules && rules->nports)
			collect_sockets(proc_root, nprocs, pid, &socks, &nsocks, &capsocks);
		nprocs++;
	}

	/* Pool connections: each network namespace's TCP tables are read once, through one of its processes. */
	if (nsocks) {
		qsort(socks, nsocks, sizeof(*socks), sock_cmp);
		for (unsigned i = 0; i < nprocs; i++) {
			bool first = true;
			for (unsigned j = 0; j < i && first; j++)
				if (!strcmp(procs[j].netns, procs[i].netns))
					first = false;
			if (!first)
				continue;
			snprintf(path, sizeof(path), "%s/%d/net/tcp", proc_root, (int)procs[i].pid);
			conns += match_tcp(rules, path, socks, nsocks, procs);
			snprintf(path, sizeof(path), "%s/%d/net/tcp6", proc_root, (int)procs[i].pid);
			conns += match_tcp(rules, path, socks, nsocks, procs);
		}
	}

	/* Totals, the strongest evidence, and the oldest suspicious process. */
	int best = 0;
	const struct proc *oldest = NULL;
	for (unsigned i = 0; i < nprocs; i++) {
		const struct proc *p = &procs[i];
		out->rule_hits |= p->hits;
		if (!p->hits)
			continue;
		if (p->strength > best) {
			best = p->strength;
			snprintf(out->evidence, sizeof(out->evidence), "%s", p->evidence);
		}
		if (!oldest || p->start_ticks < oldest->start_ticks ||
		    (p->start_ticks == oldest->start_ticks && p->pid < oldest->pid))
			oldest = p;
	}
	out->processes = (uint16_t)(nprocs > UINT16_MAX ? UINT16_MAX : nprocs);
	out->matches = (uint16_t)((matches + conns) > UINT16_MAX ? UINT16_MAX : matches + conns);
	out->pool_connections = (uint16_t)(conns > UINT16_MAX ? UINT16_MAX : conns);
	if (!f && nprocs)
		oldest = &procs[0];
	if (oldest) {
		uint64_t btime = rw_boot_time_s(proc_root);
		long hz = sysconf(_SC_CLK_TCK);
		if (hz <= 0)
			hz = 100;
		struct proc cur = *oldest;
		for (;;) {
			fill_origin(&out->origin[out->n_origin++], &cur, btime, hz);
			if (out->n_origin == RW_ORIGIN_MAX || cur.ppid <= 0 || cur.pid == 1)
				break;
			int32_t parent = cur.ppid;
			if (read_proc(proc_root, parent, &cur) < 0)
				break; /* the parent is gone: the chain ends here */
		}
		rw_log_debug(COMP, "%s: %s; origin pid %d (%s)", what, out->evidence, (int)oldest->pid,
			     oldest->comm);
	}
	free(socks);
	free(procs);
	return rc;
}

int rw_procscan_target(const struct rw_procscan_rules *rules, const char *proc_root, const char *cgroup_dir,
		       struct rw_indicator_evidence *out)
{
	char path[RW_CGROUP_PATH_MAX + 64];
	memset(out, 0, sizeof(*out));
	if (!proc_root || !*proc_root)
		proc_root = "/proc";
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup_dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return -ENOENT; /* vanished cgroup: normal life */
	int rc = scan(rules, proc_root, f, 0, cgroup_dir, out);
	fclose(f);
	return rc;
}

int rw_procscan_process(const struct rw_procscan_rules *rules, const char *proc_root, int32_t pid,
			struct rw_indicator_evidence *out)
{
	char what[32];
	memset(out, 0, sizeof(*out));
	if (!proc_root || !*proc_root)
		proc_root = "/proc";
	snprintf(what, sizeof(what), "pid %d", (int)pid);
	int rc = scan(rules, proc_root, NULL, pid, what, out);
	if (rc == 0 && !out->processes)
		return -ENOENT; /* exited: normal life */
	return rc;
}
