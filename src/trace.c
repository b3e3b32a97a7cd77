/* trace: writer and strict reader of recorded samples (see trace.h and proto/trace.proto). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "trace.pb-c.h"

#include "rigwatch/events.h"
#include "rigwatch/trace.h"

#ifndef RW_VERSION
#define RW_VERSION "unknown"
#endif

/* Bounded copy from a protobuf string (NULL-safe) into a fixed array. */
static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void rw_trace_header_init(struct rw_trace_header *h, uint32_t interval_ms, const char *label)
{
	struct utsname u;
	struct timespec ts;

	memset(h, 0, sizeof(*h));
	h->format = RW_TRACE_FORMAT;
	h->interval_ms = interval_ms;
	copy_str(h->label, sizeof(h->label), label);
	copy_str(h->version, sizeof(h->version), RW_VERSION);
	if (gethostname(h->host, sizeof(h->host) - 1) < 0)
		h->host[0] = '\0';
	if (uname(&u) == 0)
		snprintf(h->kernel, sizeof(h->kernel), "%.32s %.40s %.64s %.16s", u.sysname, u.release, u.version,
			 u.machine);
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f)) {
			/* x86 "model name", aarch64 has no model name: "CPU part" is the best it offers */
			if (!strncmp(line, "model name", 10) || !strncmp(line, "CPU part", 8)) {
				char *c = strchr(line, ':');
				if (!c)
					continue;
				c++;
				while (*c == ' ' || *c == '\t')
					c++;
				c[strcspn(c, "\n")] = '\0';
				copy_str(h->cpu_model, sizeof(h->cpu_model), c);
				break;
			}
		}
		fclose(f);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	h->start_time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- encoding ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Everything the packed message points into, so encoding needs no allocation. */
struct sample_msg {
	Rigwatch__Trace__Sample s;
	Rigwatch__Trace__Identity id;
	Rigwatch__Trace__CgStats cg;
	Rigwatch__Trace__FpEvidence fp;
	Rigwatch__Trace__Indicators ind;
	Rigwatch__Trace__Origin origin[RW_ORIGIN_MAX];
	Rigwatch__Trace__Origin *origin_p[RW_ORIGIN_MAX];
	uint64_t counters[RW_CTR_COUNT], totals[RW_CTR_COUNT];
	uint32_t mode_obs[4];
	/* fixed arrays in rw_sample may lack a terminator; protobuf strings need one */
	char cgroup[RW_CGROUP_PATH_MAX], evidence[sizeof(((struct rw_sample *)0)->ind.evidence) + 1];
	char comm[RW_ORIGIN_MAX][17], exe[RW_ORIGIN_MAX][97];
	char traced_comm[17], tracer_comm[17];
	char runtime[17], idstr[73], name[129], pod[41], job[49], unit[161];
};

static char *term(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t n = strnlen(src, slen);
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return dst;
}
#define TERM(dst, src) term(dst, sizeof(dst), src, sizeof(src))

static void to_msg(const struct rw_sample *in, struct sample_msg *m)
{
	rigwatch__trace__sample__init(&m->s);
	rigwatch__trace__identity__init(&m->id);
	rigwatch__trace__cg_stats__init(&m->cg);
	rigwatch__trace__fp_evidence__init(&m->fp);
	rigwatch__trace__indicators__init(&m->ind);

	m->s.cgroup_id = in->cgroup_id;
	m->s.cgroup = TERM(m->cgroup, in->cgroup);
	m->id.kind = (uint32_t)in->identity.kind;
	m->id.runtime = TERM(m->runtime, in->identity.runtime);
	m->id.id = TERM(m->idstr, in->identity.id);
	m->id.name = TERM(m->name, in->identity.name);
	m->id.pod_uid = TERM(m->pod, in->identity.pod_uid);
	m->id.slurm_job = TERM(m->job, in->identity.slurm_job);
	m->id.unit = TERM(m->unit, in->identity.unit);
	m->s.identity = &m->id;
	m->s.time_ns = in->time_ns;
	m->s.interval_us = in->interval_us;
	m->s.sources = in->sources;

	const struct rw_cgstats *c = &in->cg;
	m->cg.have = c->have;
	m->cg.usage_usec = c->usage_usec;
	m->cg.user_usec = c->user_usec;
	m->cg.system_usec = c->system_usec;
	m->cg.nr_periods = c->nr_periods;
	m->cg.nr_throttled = c->nr_throttled;
	m->cg.throttled_usec = c->throttled_usec;
	m->cg.memory_current = c->memory_current;
	m->cg.anon = c->anon;
	m->cg.anon_thp = c->anon_thp;
	m->cg.file = c->file;
	m->cg.pids_current = c->pids_current;
	m->cg.psi_some_avg10_x100 = c->psi_some_avg10_x100;
	m->cg.psi_some_total_usec = c->psi_some_total_usec;
	m->s.cg = &m->cg;
	m->s.cpu_usec = in->cpu_usec;
	m->s.throttled_usec = in->throttled_usec;
	m->s.nr_throttled = in->nr_throttled;

	m->s.counters_present = in->counters_present;
	m->s.counter_ratio_q16 = in->counter_ratio_q16;
	/* Counters only when some are present: most targets have none, and the record stays small. */
	if (in->counters_present) {
		memcpy(m->counters, in->counters, sizeof(m->counters));
		memcpy(m->totals, in->counters_total, sizeof(m->totals));
		m->s.n_counters = RW_CTR_COUNT;
		m->s.counters = m->counters;
		m->s.n_counters_total = RW_CTR_COUNT;
		m->s.counters_total = m->totals;
	}

	m->fp.probes = in->fp.probes;
	m->fp.failed = in->fp.failed;
	m->fp.threads = in->fp.threads;
	m->fp.modes_union = in->fp.modes_union;
	m->fp.max_thread_modes = in->fp.max_thread_modes;
	m->fp.max_thread_nondefault = in->fp.max_thread_nondefault;
	m->fp.ftz_daz = in->fp.ftz_daz;
	m->fp.last_control = in->fp.last_control;
	m->fp.path = in->fp.path;
	memcpy(m->mode_obs, in->fp.mode_obs, sizeof(m->mode_obs));
	m->fp.n_mode_obs = 4;
	m->fp.mode_obs = m->mode_obs;
	m->fp.ftz_daz_obs = in->fp.ftz_daz_obs;
	m->fp.pairs = in->fp.pairs;
	m->fp.changes = in->fp.changes;
	m->fp.threads_traced = in->fp.threads_traced;
	m->fp.tracer_pid = in->fp.tracer_pid;
	m->fp.traced_tid = in->fp.traced_tid;
	m->fp.tracer_same_target = in->fp.tracer_same_target;
	m->fp.traced_comm = TERM(m->traced_comm, in->fp.traced_comm);
	m->fp.tracer_comm = TERM(m->tracer_comm, in->fp.tracer_comm);
	m->s.fp = &m->fp;

	m->ind.rule_hits = in->ind.rule_hits;
	m->ind.matches = in->ind.matches;
	m->ind.pool_connections = in->ind.pool_connections;
	m->ind.processes = in->ind.processes;
	m->ind.evidence = TERM(m->evidence, in->ind.evidence);
	unsigned no = in->ind.n_origin > RW_ORIGIN_MAX ? RW_ORIGIN_MAX : in->ind.n_origin;
	for (unsigned i = 0; i < no; i++) {
		Rigwatch__Trace__Origin *o = &m->origin[i];
		rigwatch__trace__origin__init(o);
		o->pid = in->ind.origin[i].pid;
		o->ppid = in->ind.origin[i].ppid;
		o->uid = in->ind.origin[i].uid;
		o->start_time_s = in->ind.origin[i].start_time_s;
		o->comm = TERM(m->comm[i], in->ind.origin[i].comm);
		o->exe = TERM(m->exe[i], in->ind.origin[i].exe);
		m->origin_p[i] = o;
	}
	m->ind.n_origin = no;
	m->ind.origin = no ? m->origin_p : NULL;
	m->s.ind = &m->ind;
}

static void from_msg(const Rigwatch__Trace__Sample *m, struct rw_sample *out)
{
	memset(out, 0, sizeof(*out));
	out->cgroup_id = m->cgroup_id;
	copy_str(out->cgroup, sizeof(out->cgroup), m->cgroup);
	if (m->identity) {
		const Rigwatch__Trace__Identity *id = m->identity;
		out->identity.kind = (enum rw_workload_kind)id->kind;
		copy_str(out->identity.runtime, sizeof(out->identity.runtime), id->runtime);
		copy_str(out->identity.id, sizeof(out->identity.id), id->id);
		copy_str(out->identity.name, sizeof(out->identity.name), id->name);
		copy_str(out->identity.pod_uid, sizeof(out->identity.pod_uid), id->pod_uid);
		copy_str(out->identity.slurm_job, sizeof(out->identity.slurm_job), id->slurm_job);
		copy_str(out->identity.unit, sizeof(out->identity.unit), id->unit);
	}
	out->time_ns = m->time_ns;
	out->interval_us = m->interval_us;
	out->sources = m->sources;
	if (m->cg) {
		const Rigwatch__Trace__CgStats *c = m->cg;
		out->cg.have = c->have;
		out->cg.usage_usec = c->usage_usec;
		out->cg.user_usec = c->user_usec;
		out->cg.system_usec = c->system_usec;
		out->cg.nr_periods = c->nr_periods;
		out->cg.nr_throttled = c->nr_throttled;
		out->cg.throttled_usec = c->throttled_usec;
		out->cg.memory_current = c->memory_current;
		out->cg.anon = c->anon;
		out->cg.anon_thp = c->anon_thp;
		out->cg.file = c->file;
		out->cg.pids_current = c->pids_current;
		out->cg.psi_some_avg10_x100 = c->psi_some_avg10_x100;
		out->cg.psi_some_total_usec = c->psi_some_total_usec;
	}
	out->cpu_usec = m->cpu_usec;
	out->throttled_usec = m->throttled_usec;
	out->nr_throttled = m->nr_throttled;
	out->counters_present = m->counters_present;
	out->counter_ratio_q16 = m->counter_ratio_q16;
	/* A trace from a build with more counter roles keeps the ones this build knows. */
	for (size_t i = 0; i < m->n_counters && i < RW_CTR_COUNT; i++)
		out->counters[i] = m->counters[i];
	for (size_t i = 0; i < m->n_counters_total && i < RW_CTR_COUNT; i++)
		out->counters_total[i] = m->counters_total[i];
	out->counters_present &= (1u << RW_CTR_COUNT) - 1;
	if (m->fp) {
		const Rigwatch__Trace__FpEvidence *f = m->fp;
		out->fp.probes = f->probes;
		out->fp.failed = f->failed;
		out->fp.threads = (uint16_t)(f->threads > UINT16_MAX ? UINT16_MAX : f->threads);
		out->fp.modes_union = (uint8_t)(f->modes_union & 0xf);
		out->fp.max_thread_modes = (uint8_t)(f->max_thread_modes > 4 ? 4 : f->max_thread_modes);
		out->fp.max_thread_nondefault = (uint8_t)(f->max_thread_nondefault > 3 ? 3 : f->max_thread_nondefault);
		out->fp.ftz_daz = f->ftz_daz ? 1 : 0;
		out->fp.last_control = f->last_control;
		out->fp.path = (uint8_t)(f->path <= RW_FP_PATH_PTRACE ? f->path : RW_FP_PATH_NONE);
		/* Traces written before the per-mode counts existed came from ptrace reads. */
		if (out->fp.path == RW_FP_PATH_NONE && f->probes)
			out->fp.path = RW_FP_PATH_PTRACE;
		for (size_t i = 0; i < f->n_mode_obs && i < 4; i++)
			out->fp.mode_obs[i] = f->mode_obs[i];
		out->fp.ftz_daz_obs = f->ftz_daz_obs;
		out->fp.pairs = f->pairs;
		out->fp.changes = f->changes > f->pairs ? f->pairs : f->changes;
		out->fp.threads_traced =
			(uint16_t)(f->threads_traced > UINT16_MAX ? UINT16_MAX : f->threads_traced);
		out->fp.tracer_pid = f->tracer_pid;
		out->fp.traced_tid = f->traced_tid;
		out->fp.tracer_same_target = f->tracer_same_target ? 1 : 0;
		copy_str(out->fp.traced_comm, sizeof(out->fp.traced_comm), f->traced_comm);
		copy_str(out->fp.tracer_comm, sizeof(out->fp.tracer_comm), f->tracer_comm);
	}
	if (m->ind) {
		const Rigwatch__Trace__Indicators *in = m->ind;
		out->ind.rule_hits = in->rule_hits;
		out->ind.matches = (uint16_t)(in->matches > UINT16_MAX ? UINT16_MAX : in->matches);
		out->ind.pool_connections =
			(uint16_t)(in->pool_connections > UINT16_MAX ? UINT16_MAX : in->pool_connections);
		out->ind.processes = (uint16_t)(in->processes > UINT16_MAX ? UINT16_MAX : in->processes);
		copy_str(out->ind.evidence, sizeof(out->ind.evidence), in->evidence);
		size_t no = in->n_origin > RW_ORIGIN_MAX ? RW_ORIGIN_MAX : in->n_origin;
		out->ind.n_origin = (uint16_t)no;
		for (size_t i = 0; i < no; i++) {
			const Rigwatch__Trace__Origin *o = in->origin[i];
			out->ind.origin[i].pid = o->pid;
			out->ind.origin[i].ppid = o->ppid;
			out->ind.origin[i].uid = o->uid;
			out->ind.origin[i].start_time_s = o->start_time_s;
			copy_str(out->ind.origin[i].comm, sizeof(out->ind.origin[i].comm), o->comm);
			copy_str(out->ind.origin[i].exe, sizeof(out->ind.origin[i].exe), o->exe);
		}
	}
}

/* ---- writer ---- */

static int write_all(struct rw_trace_writer *w, const void *p, size_t n)
{
	if (fwrite(p, 1, n, w->f) != n)
		return errno ? -errno : -EIO;
	w->offset += n;
	return 0;
}

static int write_record(struct rw_trace_writer *w, const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t stackbuf[4096], *buf = n + 10 <= sizeof(stackbuf) ? stackbuf : malloc(n + 10);
	int rc;
	if (!buf)
		return -ENOMEM;
	size_t h = put_varint(buf, n);
	protobuf_c_message_pack(msg, buf + h);
	rc = write_all(w, buf, h + n);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

int rw_trace_writer_open(struct rw_trace_writer *w, const char *path, const struct rw_trace_header *h, char *err,
			 size_t errlen)
{
	Rigwatch__Trace__Header hm = RIGWATCH__TRACE__HEADER__INIT;
	Rigwatch__Trace__Event ev[RW_CTR_COUNT], *evp[RW_CTR_COUNT];
	int rc;

	memset(w, 0, sizeof(*w));
	copy_str(w->path, sizeof(w->path), path);
	w->f = fopen(path, "wb");
	if (!w->f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	hm.format = RW_TRACE_FORMAT;
	hm.host = (char *)h->host;
	hm.kernel = (char *)h->kernel;
	hm.cpu_model = (char *)h->cpu_model;
	hm.pmu = (char *)h->pmu;
	unsigned ne = h->n_events > RW_CTR_COUNT ? RW_CTR_COUNT : h->n_events;
	for (unsigned i = 0; i < ne; i++) {
		rigwatch__trace__event__init(&ev[i]);
		ev[i].role = h->events[i].role;
		/* the names /metrics uses for the same counters */
		ev[i].role_name = (char *)(h->events[i].role < RW_CTR_COUNT ? rw_counter_role_name(h->events[i].role) : "");
		ev[i].name = (char *)h->events[i].name;
		evp[i] = &ev[i];
	}
	hm.n_events = ne;
	hm.events = evp;
	hm.interval_ms = h->interval_ms;
	hm.version = (char *)h->version;
	hm.label = (char *)h->label;
	hm.start_time_ns = h->start_time_ns;
	hm.cgroup = (char *)h->cgroup;
	errno = 0;
	if ((rc = write_all(w, RW_TRACE_MAGIC, RW_TRACE_MAGIC_LEN)) < 0 ||
	    (rc = write_record(w, &hm.base)) < 0 || (rc = rw_trace_flush(w)) < 0) {
		snprintf(err, errlen, "%s: write: %s", path, strerror(-rc));
		fclose(w->f);
		w->f = NULL;
		return rc;
	}
	return 0;
}

int rw_trace_write(struct rw_trace_writer *w, const struct rw_sample *s)
{
	struct sample_msg *m = malloc(sizeof(*m));
	int rc;
	if (!m)
		return -ENOMEM;
	to_msg(s, m);
	errno = 0;
	rc = write_record(w, &m->s.base);
	free(m);
	if (rc == 0)
		w->samples++;
	return rc;
}

int rw_trace_flush(struct rw_trace_writer *w)
{
	if (fflush(w->f) != 0)
		return -errno;
	return 0;
}

int rw_trace_writer_close(struct rw_trace_writer *w)
{
	int rc = 0;
	if (!w->f)
		return 0;
	if (fclose(w->f) != 0)
		rc = -errno;
	w->f = NULL;
	return rc;
}

/* ---- reader ---- */

/* Read one length-delimited record at r->offset into r->buf. Returns 1 (record of *len bytes), 0 at a clean end,
 * or -EINVAL with the message in err. */
static int read_record(struct rw_trace_reader *r, const char *what, size_t *len, char *err, size_t errlen)
{
	uint64_t v = 0;
	unsigned shift = 0, nbytes = 0;
	for (;;) {
		int c = getc(r->f);
		if (c == EOF) {
			if (ferror(r->f)) {
				snprintf(err, errlen, "%s: offset %llu: read error", r->path,
					 (unsigned long long)r->offset);
				return -EIO;
			}
			if (nbytes == 0)
				return 0;
			snprintf(err, errlen, "%s: offset %llu: truncated %s (length cut short); %llu whole samples before it",
				 r->path, (unsigned long long)r->offset, what, (unsigned long long)r->samples);
			return -EINVAL;
		}
		nbytes++;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
		shift += 7;
		if (nbytes >= 10)
			break;
	}
	if (v == 0 || v > RW_TRACE_RECORD_MAX || nbytes >= 10) {
		snprintf(err, errlen, "%s: offset %llu: corrupt %s (record length %llu); %llu whole samples before it",
			 r->path, (unsigned long long)r->offset, what, (unsigned long long)v,
			 (unsigned long long)r->samples);
		return -EINVAL;
	}
	if (v > r->cap) {
		uint8_t *b = realloc(r->buf, v);
		if (!b) {
			snprintf(err, errlen, "%s: out of memory", r->path);
			return -ENOMEM;
		}
		r->buf = b;
		r->cap = v;
	}
	size_t got = fread(r->buf, 1, v, r->f);
	if (got != v) {
		if (ferror(r->f)) {
			snprintf(err, errlen, "%s: offset %llu: read error", r->path, (unsigned long long)r->offset);
			return -EIO;
		}
		snprintf(err, errlen,
			 "%s: offset %llu: truncated %s (%llu bytes declared, %zu present); %llu whole samples before it",
			 r->path, (unsigned long long)r->offset, what, (unsigned long long)v, got,
			 (unsigned long long)r->samples);
		return -EINVAL;
	}
	*len = v;
	return 1;
}

int rw_trace_reader_open(struct rw_trace_reader *r, const char *path, struct rw_trace_header *h, char *err,
			 size_t errlen)
{
	char magic[RW_TRACE_MAGIC_LEN];
	size_t len;
	int rc;

	memset(r, 0, sizeof(*r));
	copy_str(r->path, sizeof(r->path), path);
	r->f = fopen(path, "rb");
	if (!r->f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fread(magic, 1, sizeof(magic), r->f) != sizeof(magic) || memcmp(magic, RW_TRACE_MAGIC, sizeof(magic))) {
		snprintf(err, errlen, "%s: offset 0: not a rigwatch trace (bad magic)", path);
		rc = -EINVAL;
		goto fail;
	}
	r->offset = RW_TRACE_MAGIC_LEN;
	rc = read_record(r, "header", &len, err, errlen);
	if (rc == 0) {
		snprintf(err, errlen, "%s: offset %llu: truncated header (end of file)", path,
			 (unsigned long long)r->offset);
		rc = -EINVAL;
	}
	if (rc < 0)
		goto fail;
	Rigwatch__Trace__Header *hm = rigwatch__trace__header__unpack(NULL, len, r->buf);
	if (!hm) {
		snprintf(err, errlen, "%s: offset %llu: corrupt header message (%zu bytes)", path,
			 (unsigned long long)r->offset, len);
		rc = -EINVAL;
		goto fail;
	}
	if (hm->format != RW_TRACE_FORMAT) {
		snprintf(err, errlen, "%s: offset %llu: trace format %u not supported (this build reads %d)", path,
			 (unsigned long long)r->offset, hm->format, RW_TRACE_FORMAT);
		rigwatch__trace__header__free_unpacked(hm, NULL);
		rc = -EINVAL;
		goto fail;
	}
	memset(h, 0, sizeof(*h));
	h->format = hm->format;
	copy_str(h->host, sizeof(h->host), hm->host);
	copy_str(h->kernel, sizeof(h->kernel), hm->kernel);
	copy_str(h->cpu_model, sizeof(h->cpu_model), hm->cpu_model);
	copy_str(h->pmu, sizeof(h->pmu), hm->pmu);
	for (size_t i = 0; i < hm->n_events && i < RW_CTR_COUNT; i++) {
		h->events[i].role = hm->events[i]->role;
		copy_str(h->events[i].name, sizeof(h->events[i].name), hm->events[i]->name);
		h->n_events++;
	}
	h->interval_ms = hm->interval_ms;
	copy_str(h->version, sizeof(h->version), hm->version);
	copy_str(h->label, sizeof(h->label), hm->label);
	h->start_time_ns = hm->start_time_ns;
	copy_str(h->cgroup, sizeof(h->cgroup), hm->cgroup);
	rigwatch__trace__header__free_unpacked(hm, NULL);
	r->offset = (uint64_t)ftello(r->f);
	return 0;
fail:
	rw_trace_reader_close(r);
	return rc;
}

int rw_trace_next(struct rw_trace_reader *r, struct rw_sample *s, char *err, size_t errlen)
{
	size_t len;
	int rc = read_record(r, "sample", &len, err, errlen);
	if (rc <= 0)
		return rc;
	Rigwatch__Trace__Sample *m = rigwatch__trace__sample__unpack(NULL, len, r->buf);
	if (!m) {
		snprintf(err, errlen, "%s: offset %llu: corrupt sample message (%zu bytes); %llu whole samples before it",
			 r->path, (unsigned long long)r->offset, len, (unsigned long long)r->samples);
		return -EINVAL;
	}
	from_msg(m, s);
	rigwatch__trace__sample__free_unpacked(m, NULL);
	if (s->cgroup_id == 0) {
		snprintf(err, errlen, "%s: offset %llu: sample with cgroup_id 0, which no target has; %llu whole samples "
			 "before it", r->path, (unsigned long long)r->offset, (unsigned long long)r->samples);
		return -EINVAL;
	}
	r->offset = (uint64_t)ftello(r->f);
	r->samples++;
	return 1;
}

void rw_trace_reader_close(struct rw_trace_reader *r)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}
