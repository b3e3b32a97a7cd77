/* fpbpf: load the fpmode eBPF program (src/bpf/fpmode.bpf.c, embedded through its skeleton) and turn its per-CPU
 * counts into struct rw_fp_evidence once per interval. See include/rigwatch/fpbpf.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rigwatch/fpbpf.h"

#if defined(RW_HAVE_BPF)

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fpmode.skel.h"
#include "bpf/fpmode.h"

#define DEFAULT_MAX_TARGETS 4096
#define KERNEL_BTF          "/sys/kernel/btf/vmlinux"

struct entry {
	uint64_t key;
	struct rw_fp_evidence ev;
};

struct watch_entry {
	uint64_t id;
	uint8_t kind; /* FPMODE_WATCH_* */
};

struct rw_fpbpf {
	struct fpmode *skel;
	int counts_fd, stats_fd, watch_fd, pids_fd;
	unsigned ncpu;
	unsigned cap;                 /* keys the buffers hold */
	size_t stride;                /* bytes of one CPU's value in a per-CPU map read */
	uint64_t *keys;
	unsigned char *vals;
	struct entry *entries;        /* the last refreshed interval, sorted by key */
	unsigned n_entries;
	bool batch_unsupported;       /* kernel without batch ops on this map type: per-key reads */
	struct watch_entry *watch, *watch_new; /* the watched cgroups in the kernel and the next set, sorted by id */
	unsigned n_watch;
	uint32_t *pids, *pids_new;    /* the counted processes of per-process cgroups, sorted */
	unsigned n_pids;
	bool watch_set;               /* a set is in the kernel (watch_all is off) */
	uint32_t prog_id;
};

/* libbpf's messages while loading, kept for the one line the caller logs (the verifier's verdict is usually the
 * last line that is not a register dump). Loading happens once, from one thread, so a static buffer is enough. */
static char load_log[256];
static bool in_verifier_log, have_verifier_line;

/* Keep the verifier's reason when there is one (the last line of its log that is neither a register dump nor a
 * statistic), else libbpf's last message. */
static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[4096];
	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof msg, fmt, ap);
	for (char *line = msg, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strstr(line, "BEGIN PROG LOAD LOG")) {
			in_verifier_log = true;
			continue;
		}
		if (strstr(line, "END PROG LOAD LOG")) {
			in_verifier_log = false;
			continue;
		}
		if (!line[0] || (have_verifier_line && !in_verifier_log))
			continue;
		if (in_verifier_log) {
			if ((line[0] >= '0' && line[0] <= '9') || line[0] == ';' || line[0] == ' ' ||
			    !strncmp(line, "processed ", 10) || !strncmp(line, "verification time", 17) ||
			    !strncmp(line, "stack depth", 11) || !strncmp(line, "func#", 5) || !strncmp(line, "reg type", 8))
				continue;
			have_verifier_line = true;
		}
		size_t n = strlen(line);
		if (n >= sizeof load_log)
			n = sizeof load_log - 1;
		memcpy(load_log, line, n);
		load_log[n] = '\0';
	}
	return 0;
}

static int fail(int r, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return r;
}

static int classify_load_error(int r, char *why, size_t whylen)
{
	if (r == -EPERM)
		return fail(r, why, whylen, "eBPF not permitted (needs CAP_BPF and CAP_PERFMON, or root)");
	if (r == -ESRCH || r == -ENOENT)
		return fail(r, why, whylen, "eBPF: no x86_fpu_regs_deactivated tracepoint or type in the kernel's BTF (%s)",
			    load_log[0] ? load_log : strerror(-r));
	if (r == -EINVAL || r == -EACCES)
		return fail(r, why, whylen, "eBPF program refused by the kernel's verifier: %s",
			    load_log[0] ? load_log : strerror(-r));
	return fail(r, why, whylen, "eBPF load failed: %s (%s)", strerror(-r), load_log[0] ? load_log : "-");
}

int rw_fpbpf_open(struct rw_fpbpf **out, const struct rw_fpbpf_opts *opts, char *why, size_t whylen)
{
	struct rw_fpbpf_opts o = { 0 };
	struct rw_fpbpf *b;
	int r, cpus;

	*out = NULL;
	if (opts)
		o = *opts;
	const char *btf = o.btf_path && o.btf_path[0] ? o.btf_path : KERNEL_BTF;
	if (access(btf, R_OK) != 0)
		return fail(-ENOENT, why, whylen, "eBPF needs BTF type information: %s: %s", btf, strerror(errno));
	if ((cpus = libbpf_num_possible_cpus()) <= 0)
		return fail(cpus < 0 ? cpus : -EINVAL, why, whylen, "eBPF: cannot count possible CPUs");
	if (!(b = calloc(1, sizeof *b)))
		return fail(-ENOMEM, why, whylen, "eBPF: out of memory");
	b->ncpu = (unsigned)cpus;
	b->cap = o.max_targets ? o.max_targets : DEFAULT_MAX_TARGETS;
	b->stride = (sizeof(struct fpmode_counts) + 7) & ~(size_t)7;

	load_log[0] = '\0';
	in_verifier_log = have_verifier_line = false;
	libbpf_print_fn_t prev = libbpf_set_print(capture_print);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = o.btf_path && o.btf_path[0] ? o.btf_path : NULL);
	b->skel = fpmode__open_opts(&oo);
	if (!b->skel) {
		r = fail(-errno, why, whylen, "eBPF: cannot open the embedded object: %s", strerror(errno));
		goto out;
	}
	if ((r = bpf_map__set_max_entries(b->skel->maps.counts, b->cap)) < 0 ||
	    (r = bpf_map__set_max_entries(b->skel->maps.watch, b->cap)) < 0 ||
	    (r = bpf_map__set_max_entries(b->skel->maps.watch_pids, b->cap)) < 0) {
		r = fail(r, why, whylen, "eBPF: cannot size the maps: %s", strerror(-r));
		goto out;
	}
	if (o.test_reject)
		bpf_program__set_autoload(b->skel->progs.rw_fpmode_reject, true);
	if ((r = fpmode__load(b->skel)) < 0) {
		r = classify_load_error(r, why, whylen);
		goto out;
	}
	if ((r = fpmode__attach(b->skel)) < 0) {
		r = fail(r, why, whylen, "eBPF: cannot attach to x86_fpu_regs_deactivated: %s", strerror(-r));
		goto out;
	}
	b->counts_fd = bpf_map__fd(b->skel->maps.counts);
	b->stats_fd = bpf_map__fd(b->skel->maps.stats);
	b->watch_fd = bpf_map__fd(b->skel->maps.watch);
	b->pids_fd = bpf_map__fd(b->skel->maps.watch_pids);
	struct bpf_prog_info info;
	uint32_t len = sizeof info;
	memset(&info, 0, sizeof info);
	if (bpf_obj_get_info_by_fd(bpf_program__fd(b->skel->progs.rw_fpmode), &info, &len) == 0)
		b->prog_id = info.id;
	b->keys = calloc(b->cap, sizeof *b->keys);
	b->vals = calloc(b->cap, b->stride * b->ncpu);
	b->entries = calloc(b->cap, sizeof *b->entries);
	b->watch = calloc(b->cap, sizeof *b->watch);
	b->watch_new = calloc(b->cap, sizeof *b->watch_new);
	b->pids = calloc(b->cap, sizeof *b->pids);
	b->pids_new = calloc(b->cap, sizeof *b->pids_new);
	if (!b->keys || !b->vals || !b->entries || !b->watch || !b->watch_new || !b->pids || !b->pids_new) {
		r = fail(-ENOMEM, why, whylen, "eBPF: out of memory");
		goto out;
	}
	r = 0;
out:
	libbpf_set_print(prev);
	if (r < 0) {
		rw_fpbpf_close(b);
		return r;
	}
	*out = b;
	return 0;
}

void rw_fpbpf_close(struct rw_fpbpf *b)
{
	if (!b)
		return;
	fpmode__destroy(b->skel);
	free(b->keys);
	free(b->vals);
	free(b->entries);
	free(b->watch);
	free(b->watch_new);
	free(b->pids);
	free(b->pids_new);
	free(b);
}

static int cmp_watch(const void *x, const void *y)
{
	const struct watch_entry *a = x, *b = y;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return (int)b->kind - (int)a->kind; /* per process first: it wins where an id is given both ways */
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

/* Bring the watch map from the sorted set `old` to the sorted set `cur`: write what is new or changed, then delete
 * what left (a task of a cgroup in both sets is never missed). */
static int sync_watch(int fd, const struct watch_entry *old, unsigned n_old, const struct watch_entry *cur,
		      unsigned n_cur)
{
	unsigned i = 0, j;
	for (j = 0; j < n_cur; j++) {
		while (i < n_old && old[i].id < cur[j].id)
			i++;
		if (i < n_old && old[i].id == cur[j].id && old[i].kind == cur[j].kind)
			continue;
		if (bpf_map_update_elem(fd, &cur[j].id, &cur[j].kind, BPF_ANY) < 0)
			return -errno;
	}
	for (i = 0, j = 0; i < n_old; i++) {
		while (j < n_cur && cur[j].id < old[i].id)
			j++;
		if (j < n_cur && cur[j].id == old[i].id)
			continue;
		bpf_map_delete_elem(fd, &old[i].id);
	}
	return 0;
}

static int sync_pids(int fd, const uint32_t *old, unsigned n_old, const uint32_t *cur, unsigned n_cur)
{
	uint8_t one = 1;
	unsigned i = 0, j;
	for (j = 0; j < n_cur; j++) {
		while (i < n_old && old[i] < cur[j])
			i++;
		if (i < n_old && old[i] == cur[j])
			continue;
		if (bpf_map_update_elem(fd, &cur[j], &one, BPF_ANY) < 0)
			return -errno;
	}
	for (i = 0, j = 0; i < n_old; i++) {
		while (j < n_cur && cur[j] < old[i])
			j++;
		if (j < n_cur && cur[j] == old[i])
			continue;
		bpf_map_delete_elem(fd, &old[i]);
	}
	return 0;
}

/* Empty a map whose contents are no longer known (after a failed update). */
static void clear_map(int fd, size_t key_size)
{
	unsigned char key[8];
	if (key_size > sizeof key)
		return;
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key) < 0)
			break;
}

static void set_watch_all(struct rw_fpbpf *b, bool all)
{
	__atomic_store_n(&b->skel->data->watch_all, all ? 1u : 0u, __ATOMIC_RELAXED);
	b->watch_set = !all;
}

int rw_fpbpf_set_watch(struct rw_fpbpf *b, const struct rw_fpbpf_watch *w)
{
	unsigned n = 0, np;
	int r;

	if (!b)
		return -EINVAL;
	if ((uint64_t)w->n_cgroups + w->n_proc_cgroups > b->cap || w->n_pids > b->cap) {
		set_watch_all(b, true);
		return -E2BIG;
	}
	for (unsigned i = 0; i < w->n_proc_cgroups; i++)
		b->watch_new[n++] = (struct watch_entry){ w->proc_cgroups[i], FPMODE_WATCH_PROCS };
	for (unsigned i = 0; i < w->n_cgroups; i++)
		b->watch_new[n++] = (struct watch_entry){ w->cgroups[i], FPMODE_WATCH_CGROUP };
	qsort(b->watch_new, n, sizeof *b->watch_new, cmp_watch);
	unsigned m = 0;
	for (unsigned i = 0; i < n; i++)
		if (m == 0 || b->watch_new[m - 1].id != b->watch_new[i].id)
			b->watch_new[m++] = b->watch_new[i];
	n = m;
	if (w->n_pids)
		memcpy(b->pids_new, w->pids, w->n_pids * sizeof *w->pids);
	qsort(b->pids_new, w->n_pids, sizeof *b->pids_new, cmp_u32);
	np = 0;
	for (unsigned i = 0; i < w->n_pids; i++)
		if (np == 0 || b->pids_new[np - 1] != b->pids_new[i])
			b->pids_new[np++] = b->pids_new[i];

	/* Processes first: a cgroup that turns per-process finds its counted processes there already. */
	if ((r = sync_pids(b->pids_fd, b->pids, b->n_pids, b->pids_new, np)) < 0 ||
	    (r = sync_watch(b->watch_fd, b->watch, b->n_watch, b->watch_new, n)) < 0) {
		/* The maps hold part of each set: count everything until a later call gets through from empty maps. */
		set_watch_all(b, true);
		clear_map(b->pids_fd, sizeof(uint32_t));
		clear_map(b->watch_fd, sizeof(uint64_t));
		b->n_watch = b->n_pids = 0;
		return r;
	}
	struct watch_entry *tw = b->watch;
	b->watch = b->watch_new;
	b->watch_new = tw;
	b->n_watch = n;
	uint32_t *tp = b->pids;
	b->pids = b->pids_new;
	b->pids_new = tp;
	b->n_pids = np;
	if (!b->watch_set)
		set_watch_all(b, false);
	return 0;
}

void rw_fpbpf_all_per_process(struct rw_fpbpf *b, bool on)
{
	__atomic_store_n(&b->skel->bss->all_per_process, on ? 1u : 0u, __ATOMIC_RELAXED);
}

/* Sum one key's per-CPU values into evidence. The last raw value is that of the CPU with the most observations
 * (the CPUs' values are not ordered in time). */
static void merge(const struct rw_fpbpf *b, const unsigned char *vals, struct rw_fp_evidence *ev)
{
	uint32_t best = 0;
	memset(ev, 0, sizeof *ev);
	for (unsigned c = 0; c < b->ncpu; c++) {
		const struct fpmode_counts *v = (const void *)(vals + (size_t)c * b->stride);
		if (!v->obs)
			continue;
		ev->probes += v->obs;
		for (int m = 0; m < 4; m++)
			ev->mode_obs[m] += v->mode_obs[m];
		ev->ftz_daz_obs += v->ftz_daz_obs;
		ev->pairs += v->pairs;
		ev->changes += v->changes;
		uint32_t th = ev->threads + v->threads;
		ev->threads = (uint16_t)(th > UINT16_MAX ? UINT16_MAX : th);
		ev->modes_union |= v->modes_union;
		if (v->max_thread_modes > ev->max_thread_modes)
			ev->max_thread_modes = v->max_thread_modes;
		if (v->max_thread_nondefault > ev->max_thread_nondefault)
			ev->max_thread_nondefault = v->max_thread_nondefault;
		ev->ftz_daz |= v->ftz_or_daz;
		if (v->obs > best) {
			best = v->obs;
			ev->last_control = v->last_control;
		}
	}
	if (ev->probes)
		ev->path = RW_FP_PATH_BPF;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	return a->key < b->key ? -1 : a->key > b->key;
}

/* Kernels before 5.6 have no batch operations: walk the keys, reading and deleting each. */
static unsigned read_per_key(struct rw_fpbpf *b)
{
	unsigned n = 0;
	uint64_t key, next;
	int r = bpf_map_get_next_key(b->counts_fd, NULL, &next);
	while (r == 0 && n < b->cap) {
		key = next;
		r = bpf_map_get_next_key(b->counts_fd, &key, &next);
		if (bpf_map_lookup_elem(b->counts_fd, &key, b->vals + (size_t)n * b->stride * b->ncpu) == 0) {
			b->keys[n++] = key;
			bpf_map_delete_elem(b->counts_fd, &key);
		}
	}
	return n;
}

int rw_fpbpf_refresh(struct rw_fpbpf *b)
{
	unsigned n = 0;
	uint64_t in_batch = 0, out_batch = 0;
	bool first = true;

	/* New interval first: per-thread state from before it no longer pairs with what follows. */
	__atomic_add_fetch(&b->skel->data->epoch, 1, __ATOMIC_RELAXED);
	b->n_entries = 0; /* on an error below, no evidence rather than the last interval's again */
	while (!b->batch_unsupported && n < b->cap) {
		uint32_t count = b->cap - n;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		int r = bpf_map_lookup_and_delete_batch(b->counts_fd, first ? NULL : &in_batch, &out_batch, b->keys + n,
							b->vals + (size_t)n * b->stride * b->ncpu, &count, &bo);
		int err = r < 0 ? -errno : 0;
		n += count;
		if (err == -ENOENT)
			break; /* the whole map was read */
		if (err == -ENOSPC)
			break; /* the next hash bucket holds more than the room left (the program refilled the map while
				* it was read): what is left is read at the next refresh */
		if (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -ENOTTY) {
			if (first && n == 0) {
				b->batch_unsupported = true;
				break;
			}
			return err;
		}
		if (err < 0)
			return err;
		in_batch = out_batch;
		first = false;
	}
	if (b->batch_unsupported)
		n = read_per_key(b);
	for (unsigned i = 0; i < n; i++) {
		struct entry *e = &b->entries[b->n_entries];
		e->key = b->keys[i];
		merge(b, b->vals + (size_t)i * b->stride * b->ncpu, &e->ev);
		if (e->ev.probes)
			b->n_entries++;
	}
	qsort(b->entries, b->n_entries, sizeof *b->entries, cmp_entry);
	return (int)b->n_entries;
}

static int collect(const struct rw_fpbpf *b, uint64_t key, struct rw_fp_evidence *out)
{
	struct entry k = { .key = key };
	const struct entry *e = b ? bsearch(&k, b->entries, b->n_entries, sizeof *b->entries, cmp_entry) : NULL;
	if (!e) {
		memset(out, 0, sizeof *out);
		return -ENOENT;
	}
	*out = e->ev;
	return 0;
}

int rw_fpbpf_collect_cgroup(const struct rw_fpbpf *b, uint64_t cgroup_id, struct rw_fp_evidence *out)
{
	if (cgroup_id & FPMODE_KEY_PROC) {
		memset(out, 0, sizeof *out);
		return -ENOENT;
	}
	return collect(b, cgroup_id, out);
}

int rw_fpbpf_collect_process(const struct rw_fpbpf *b, uint32_t tgid, struct rw_fp_evidence *out)
{
	return collect(b, FPMODE_KEY_PROC | tgid, out);
}

/* One key's counts gathered since the last refresh, read without deleting them (the interval keeps them). */
static int peek(struct rw_fpbpf *b, uint64_t key, struct rw_fp_evidence *out)
{
	memset(out, 0, sizeof *out);
	if (!b)
		return -ENOENT;
	if (bpf_map_lookup_elem(b->counts_fd, &key, b->vals) != 0)
		return errno == ENOENT ? -ENOENT : -errno;
	merge(b, b->vals, out);
	return out->probes ? 0 : -ENOENT;
}

int rw_fpbpf_peek_cgroup(struct rw_fpbpf *b, uint64_t cgroup_id, struct rw_fp_evidence *out)
{
	if (cgroup_id & FPMODE_KEY_PROC) {
		memset(out, 0, sizeof *out);
		return -ENOENT;
	}
	return peek(b, cgroup_id, out);
}

int rw_fpbpf_peek_process(struct rw_fpbpf *b, uint32_t tgid, struct rw_fp_evidence *out)
{
	return peek(b, FPMODE_KEY_PROC | tgid, out);
}

void rw_fpbpf_stats(const struct rw_fpbpf *b, struct rw_fpbpf_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!b)
		return;
	uint64_t v[b->ncpu > 0 ? b->ncpu : 1];
	for (uint32_t i = 0; i < FPMODE_STAT_COUNT; i++) {
		uint64_t sum = 0;
		if (bpf_map_lookup_elem(b->stats_fd, &i, v) == 0)
			for (unsigned c = 0; c < b->ncpu; c++)
				sum += v[c];
		if (i == FPMODE_STAT_DROPPED)
			out->dropped = sum;
		else
			out->no_storage = sum;
	}
	out->last_entries = b->n_entries;
	out->prog_id = b->prog_id;
}

#endif

void rw_fp_evidence_add(struct rw_fp_evidence *sum, const struct rw_fp_evidence *e)
{
	if (!e->probes)
		return;
	if (e->probes > sum->probes)
		sum->last_control = e->last_control; /* the busiest process's, as merge() takes the busiest CPU's */
	sum->probes += e->probes;
	for (int m = 0; m < 4; m++)
		sum->mode_obs[m] += e->mode_obs[m];
	sum->ftz_daz_obs += e->ftz_daz_obs;
	sum->pairs += e->pairs;
	sum->changes += e->changes;
	uint32_t th = (uint32_t)sum->threads + e->threads;
	sum->threads = (uint16_t)(th > UINT16_MAX ? UINT16_MAX : th);
	sum->modes_union |= e->modes_union;
	if (e->max_thread_modes > sum->max_thread_modes)
		sum->max_thread_modes = e->max_thread_modes;
	if (e->max_thread_nondefault > sum->max_thread_nondefault)
		sum->max_thread_nondefault = e->max_thread_nondefault;
	sum->ftz_daz |= e->ftz_daz;
	sum->path = e->path;
}

#ifndef RW_HAVE_BPF

/* Built without eBPF (aarch64 has no x86_fpu tracepoint; or no libbpf): every call says so, the caller uses the
 * ptrace probe. */
int rw_fpbpf_open(struct rw_fpbpf **out, const struct rw_fpbpf_opts *opts, char *why, size_t whylen)
{
	(void)opts;
	*out = NULL;
	snprintf(why, whylen, "eBPF FP path not built for this architecture (no x86_fpu tracepoint)");
	return -ENOTSUP;
}

void rw_fpbpf_close(struct rw_fpbpf *b) { (void)b; }

void rw_fpbpf_all_per_process(struct rw_fpbpf *b, bool on) { (void)b, (void)on; }

int rw_fpbpf_set_watch(struct rw_fpbpf *b, const struct rw_fpbpf_watch *w)
{
	(void)b, (void)w;
	return -ENOTSUP;
}

int rw_fpbpf_refresh(struct rw_fpbpf *b)
{
	(void)b;
	return -ENOTSUP;
}

int rw_fpbpf_collect_cgroup(const struct rw_fpbpf *b, uint64_t cgroup_id, struct rw_fp_evidence *out)
{
	(void)b, (void)cgroup_id;
	memset(out, 0, sizeof *out);
	return -ENOENT;
}

int rw_fpbpf_collect_process(const struct rw_fpbpf *b, uint32_t tgid, struct rw_fp_evidence *out)
{
	(void)b, (void)tgid;
	memset(out, 0, sizeof *out);
	return -ENOENT;
}

int rw_fpbpf_peek_cgroup(struct rw_fpbpf *b, uint64_t cgroup_id, struct rw_fp_evidence *out)
{
	(void)b;
	(void)cgroup_id;
	memset(out, 0, sizeof *out);
	return -ENOENT;
}

int rw_fpbpf_peek_process(struct rw_fpbpf *b, uint32_t tgid, struct rw_fp_evidence *out)
{
	(void)b;
	(void)tgid;
	memset(out, 0, sizeof *out);
	return -ENOENT;
}

void rw_fpbpf_stats(const struct rw_fpbpf *b, struct rw_fpbpf_stats *out)
{
	(void)b;
	memset(out, 0, sizeof *out);
}

#endif
