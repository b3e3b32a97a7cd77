/* identity: map a cgroup path (relative to the cgroup2 root) to the workload it holds.
 *
 * The approach is the one cAdvisor and Falco's libsinsp converge on: look at each path component, strip a known
 * runtime prefix/suffix pair from a table, and accept the remainder only if it is exactly 64 lowercase hex digits.
 * Everything that carries no 64-hex id (LXC, Slurm, systemd units) has its own small rule. Pure string work on
 * the caller's buffer: no allocation, no regex, every copy bounded by the destination field.
 *
 * Components are read from the outside in. The outermost container or Slurm step wins: a host agent acts on
 * what the host sees (docker-<id>.scope/init.scope is the container, not init.scope; a container nested inside
 * another one belongs to the outer one). Only the innermost systemd unit keeps updating after that. */
#include <stdio.h>
#include <string.h>

#include "rigwatch/identity.h"

#define ID_HEX_LEN 64

/* {prefix, suffix} around a 64-hex container id, after libsinsp's *_CGROUP_LAYOUT tables. */
struct id_layout {
	const char *prefix;
	const char *suffix;
	const char *runtime;
};

static const struct id_layout id_layouts[] = {
	{ "docker-", ".scope", "docker" },               /* docker, systemd driver */
	{ "cri-containerd-", ".scope", "containerd" },   /* kubelet + containerd, systemd driver */
	{ "crio-", ".scope", "cri-o" },                   /* kubelet + CRI-O, systemd driver */
	{ "crio-", "", "cri-o" },                         /* kubelet + CRI-O, cgroupfs driver */
	{ "libpod-", ".scope", "podman" },                /* podman, systemd cgroup manager */
	{ "libpod-", "", "podman" },                      /* podman, cgroupfs cgroup manager */
};

/* containerd without "SystemdCgroup = true" under a systemd kubelet: "<pod slice>:cri-containerd:<id>". */
static const struct id_layout id_infixes[] = {
	{ ":cri-containerd:", "", "containerd" },
};

/* A runtime's own helpers sit next to the container and are never a target. After the prefix comes the id. */
static const struct id_layout helper_layouts[] = {
	{ "libpod-conmon-", ".scope", "podman" },
	{ "crio-conmon-", ".scope", "cri-o" },
	{ "crio-conmon-", "", "cri-o" },
};

/* systemd unit suffixes and what a cgroup of that unit type is. Slices are only structure. */
struct unit_type {
	const char *suffix;
	enum rw_workload_kind kind;
};

static const struct unit_type unit_types[] = {
	{ ".service", RW_KIND_SERVICE },
	{ ".scope", RW_KIND_SCOPE },
	{ ".slice", RW_KIND_NONE },
	{ ".mount", RW_KIND_OTHER },
	{ ".socket", RW_KIND_OTHER },
	{ ".swap", RW_KIND_OTHER },
};

/* Slurm step names besides numeric step ids (SchedMD cgroup_v2 doc, "Hierarchy overview"). */
static const char *const slurm_step_words[] = { "batch", "extern", "interactive" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct span {
	const char *p;
	size_t n;
};

/* What the walk over components has learnt so far. */
struct path_parse {
	struct rw_identity *out;
	bool locked;          /* a container or Slurm step was found: kind/runtime/id are final */
	bool in_kubepods;     /* below a kubelet cgroup root */
	bool in_podman;       /* below a rootless podman-<pid>.scope or libpod_parent */
	struct span prev;     /* the previous component, for two-level rules */
	enum { SL_NONE, SL_STEPD, SL_V1ROOT, SL_V1UID, SL_JOB } slurm;
	unsigned depth;        /* components read before this one */
	struct span slurm_jobid;
	enum { LX_NONE, LX_NAME_NEXT, LX_MONITOR_NEXT } lxc;
};

static bool span_eq(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool span_starts(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n >= n && memcmp(s.p, lit, n) == 0;
}

static bool span_ends(struct span s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n >= n && memcmp(s.p + s.n - n, lit, n) == 0;
}

/* Exactly 64 lowercase hex digits: uppercase or 63/65 digits are some other name, not a runtime id. */
bool rw_identity_is_container_id(const char *p, size_t n)
{
	if (n != ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

static bool all_digits(const char *p, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* Copy n bytes into a field of cap bytes: truncated at a UTF-8 character boundary, control bytes replaced by
 * '?' so a hostile cgroup name cannot break a log line or table. Always NUL-terminated. */
static void copy_field(char *dst, size_t cap, const char *p, size_t n)
{
	if (cap == 0)
		return;
	if (n > cap - 1) {
		n = cap - 1;
		/* do not leave half a multi-byte character at the end */
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[n] = '\0';
}

static void set_str(char *dst, size_t cap, const char *s)
{
	copy_field(dst, cap, s, strlen(s));
}

#define SET_SPAN(field, s) copy_field((field), sizeof(field), (s).p, (s).n)
#define SET_STR(field, str) set_str((field), sizeof(field), (str))

/* Match one {prefix, suffix} layout; on success *id is the 64-hex remainder. */
static bool layout_match(struct span c, const struct id_layout *l, struct span *id)
{
	size_t pn = strlen(l->prefix), sn = strlen(l->suffix);

	if (c.n < pn + sn || !span_starts(c, l->prefix) || !span_ends(c, l->suffix))
		return false;
	if (!rw_identity_is_container_id(c.p + pn, c.n - pn - sn))
		return false;
	id->p = c.p + pn;
	id->n = c.n - pn - sn;
	return true;
}

/* A pod UID as kubelet writes it: a UUID (36) or a static pod's config hash (32 hex), with '-' or '_'. */
static bool is_pod_uid(const char *p, size_t n)
{
	if (n < 32 || n > 36)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || p[i] == '-' || p[i] == '_'))
			return false;
	return true;
}

/* Store a pod UID, restoring the dashes that the systemd driver turned into '_' (ConvertCgroupNameToSystemd). */
static void set_pod_uid(struct rw_identity *out, const char *p, size_t n)
{
	copy_field(out->pod_uid, sizeof out->pod_uid, p, n);
	for (char *q = out->pod_uid; *q; q++)
		if (*q == '_')
			*q = '-';
}

/* Pod level: "kubepods[-<qos>]-pod<uid_>.slice" (systemd driver) or "pod<uid>" below kubepods (cgroupfs). */
static bool match_pod(struct path_parse *w, struct span c)
{
	if (span_starts(c, "kubepods-") && span_ends(c, ".slice")) {
		size_t stem = c.n - strlen(".slice");
		size_t dash = stem;
		while (dash > 0 && c.p[dash - 1] != '-')
			dash--;
		/* dash is the index just after the last '-' in the stem */
		if (stem - dash > 3 && memcmp(c.p + dash, "pod", 3) == 0 &&
		    is_pod_uid(c.p + dash + 3, stem - dash - 3)) {
			set_pod_uid(w->out, c.p + dash + 3, stem - dash - 3);
			return true;
		}
		return false;
	}
	if (w->in_kubepods && span_starts(c, "pod") && is_pod_uid(c.p + 3, c.n - 3)) {
		set_pod_uid(w->out, c.p + 3, c.n - 3);
		return true;
	}
	return false;
}

static void lock_container(struct path_parse *w, const char *runtime, struct span id)
{
	struct rw_identity *out = w->out;

	out->kind = RW_KIND_CONTAINER;
	SET_STR(out->runtime, runtime);
	SET_SPAN(out->id, id);
	out->name[0] = '\0';
	w->locked = true;
}

static void lock_lxc(struct path_parse *w, struct span name)
{
	struct rw_identity *out = w->out;

	out->kind = RW_KIND_CONTAINER;
	SET_STR(out->runtime, "lxc");
	SET_SPAN(out->id, name);
	SET_SPAN(out->name, name);
	w->locked = true;
}

/* Container ids: the prefix/suffix table, the colon infix, then a bare id whose runtime comes from an ancestor. */
static bool match_container(struct path_parse *w, struct span c)
{
	struct span id;

	for (size_t i = 0; i < NELEM(id_layouts); i++) {
		if (layout_match(c, &id_layouts[i], &id)) {
			lock_container(w, id_layouts[i].runtime, id);
			return true;
		}
	}
	for (size_t i = 0; i < NELEM(id_infixes); i++) {
		size_t in = strlen(id_infixes[i].prefix);
		if (c.n < in + ID_HEX_LEN)
			continue;
		struct span head = { c.p, c.n - ID_HEX_LEN - in };
		if (memcmp(c.p + head.n, id_infixes[i].prefix, in) != 0 ||
		    !rw_identity_is_container_id(c.p + head.n + in, ID_HEX_LEN))
			continue;
		match_pod(w, head);
		id.p = c.p + head.n + in;
		id.n = ID_HEX_LEN;
		lock_container(w, id_infixes[i].runtime, id);
		return true;
	}
	if (rw_identity_is_container_id(c.p, c.n)) {
		/* cgroupfs drivers and docker --cgroup-parent name the leaf by the bare id */
		const char *rt = w->in_kubepods ? "containerd" : w->in_podman ? "podman" : "docker";
		lock_container(w, rt, c);
		return true;
	}
	return false;
}

/* Returns true when c is the Slurm step: the workload. Two layouts: cgroup/v2's slurmstepd.scope/job_<j>/step_<s>
 * and cgroup/v1's slurm/uid_<u>/job_<j>/step_<s> ("slurm_<node>" with --enable-multiple-slurmd), outermost only. */
static bool match_slurm(struct path_parse *w, struct span c, bool outermost, const char **structure)
{
	int prev = w->slurm;

	w->slurm = SL_NONE;
	if (span_eq(c, "slurmstepd.scope") || span_ends(c, "_slurmstepd.scope")) {
		/* <node>_slurmstepd.scope with --enable-multiple-slurmd */
		w->slurm = SL_STEPD;
		*structure = "slurm";
		return false;
	}
	if (outermost && (span_eq(c, "slurm") || (span_starts(c, "slurm_") && c.n > 6))) {
		/* cgroup/v1: /slurm/uid_<uid>/job_<id>/step_<id> in each controller (slurm_<node> with
		 * --enable-multiple-slurmd) */
		w->slurm = SL_V1ROOT;
		*structure = "slurm";
		return false;
	}
	if (prev == SL_V1ROOT && span_starts(c, "uid_") && all_digits(c.p + 4, c.n - 4) && c.n - 4 < 11) {
		w->slurm = SL_V1UID;
		SET_SPAN(w->out->slurm_uid, ((struct span){ c.p + 4, c.n - 4 }));
		*structure = "slurm";
		return false;
	}
	if (prev == SL_STEPD || prev == SL_V1UID) {
		if (span_starts(c, "job_") && all_digits(c.p + 4, c.n - 4)) {
			w->slurm = SL_JOB;
			w->slurm_jobid = (struct span){ c.p + 4, c.n - 4 };
			SET_SPAN(w->out->slurm_job, w->slurm_jobid);
			*structure = "slurm";
		} else if (span_eq(c, "system")) {
			*structure = "slurm";   /* slurmstepd's own waiting area */
		}
		return false;
	}
	if (prev == SL_JOB && span_starts(c, "step_")) {
		struct span s = { c.p + 5, c.n - 5 };
		bool ok = all_digits(s.p, s.n);
		for (size_t i = 0; !ok && i < NELEM(slurm_step_words); i++)
			ok = span_eq(s, slurm_step_words[i]);
		if (!ok)
			return false;
		struct rw_identity *out = w->out;
		out->kind = RW_KIND_SLURM;
		SET_STR(out->runtime, "slurm");
		out->id[0] = '\0';
		SET_SPAN(out->slurm_step, s);
		snprintf(out->name, sizeof out->name, "%s/%.*s", out->slurm_job, (int)c.n, c.p);
		w->locked = true;
		return true;
	}
	return false;
}

/* LXC: "lxc.payload.<name>" (LXC >= 4) or "lxc.payload/<name>", "lxc/<name>" (older); monitors are helpers. */
static bool match_lxc(struct path_parse *w, struct span c, const char **structure)
{
	int prev = w->lxc;

	w->lxc = LX_NONE;
	if (prev == LX_NAME_NEXT) {
		lock_lxc(w, c);
		return true;
	}
	if (prev == LX_MONITOR_NEXT) {
		*structure = "lxc";
		return false;
	}
	if (span_eq(c, "lxc") || span_eq(c, "lxc.payload")) {
		w->lxc = LX_NAME_NEXT;
		*structure = "lxc";
		return false;
	}
	if (span_eq(c, "lxc.monitor")) {
		w->lxc = LX_MONITOR_NEXT;
		*structure = "lxc";
		return false;
	}
	if (span_starts(c, "lxc.monitor.") && c.n > strlen("lxc.monitor.")) {
		*structure = "lxc";
		return false;
	}
	if (span_starts(c, "lxc.payload.") && c.n > strlen("lxc.payload.")) {
		struct span name = { c.p + strlen("lxc.payload."), c.n - strlen("lxc.payload.") };
		lock_lxc(w, name);
		return true;
	}
	return false;
}

/* Classify a systemd unit component; false if c is not a unit name. Always records it as the innermost unit. */
static bool match_unit(struct path_parse *w, struct span c, enum rw_workload_kind *kind)
{
	for (size_t i = 0; i < NELEM(unit_types); i++) {
		size_t sn = strlen(unit_types[i].suffix);
		if (c.n <= sn || !span_ends(c, unit_types[i].suffix))
			continue;
		SET_SPAN(w->out->unit, c);
		*kind = unit_types[i].kind;
		/* user@<uid>.service is a per-user manager holding apps below it, not a workload of its own */
		if (span_starts(c, "user@") && span_ends(c, ".service") &&
		    all_digits(c.p + 5, c.n - 5 - strlen(".service")))
			*kind = RW_KIND_NONE;
		return true;
	}
	return false;
}

static void classify(struct path_parse *w, struct span c)
{
	struct rw_identity *out = w->out;
	enum rw_workload_kind kind = RW_KIND_OTHER;
	const char *structure = NULL;   /* runtime of a structure-only cgroup (Slurm, LXC helpers) */
	struct span id;

	/* the innermost unit is recorded whatever else the component is (docker-<id>.scope is a unit too) */
	bool is_unit = match_unit(w, c, &kind);

	if (w->locked)
		return;
	if (match_slurm(w, c, w->depth == 0, &structure) || match_lxc(w, c, &structure) || match_container(w, c))
		return;

	/* Nothing below is final: the last component decides kind and runtime. */
	SET_SPAN(out->name, c);
	if (is_unit && !structure) {
		out->kind = kind;
		SET_STR(out->runtime, "systemd");
	} else {
		out->kind = structure ? RW_KIND_NONE : RW_KIND_OTHER;
		SET_STR(out->runtime, structure ? structure : "");
	}

	for (size_t i = 0; i < NELEM(helper_layouts); i++) {
		if (layout_match(c, &helper_layouts[i], &id)) {
			out->kind = RW_KIND_NONE;
			SET_STR(out->runtime, helper_layouts[i].runtime);
			return;
		}
	}
	if (match_pod(w, c)) {
		out->kind = RW_KIND_NONE;
		out->runtime[0] = '\0';
		return;
	}
	if (span_eq(c, "kubepods") || span_eq(c, "kubepods.slice") || span_starts(c, "kubepods-")) {
		w->in_kubepods = true;
		out->kind = RW_KIND_NONE;
		out->runtime[0] = '\0';
		return;
	}
	if (span_eq(w->prev, "kubepods") && (span_eq(c, "burstable") || span_eq(c, "besteffort"))) {
		out->kind = RW_KIND_NONE;   /* cgroupfs QoS level */
		return;
	}
	if (span_eq(c, "docker")) {
		out->kind = RW_KIND_NONE;   /* cgroupfs driver's parent of all containers */
		return;
	}
	if (span_eq(c, "libpod_parent") ||
	    (span_starts(c, "podman-") && span_ends(c, ".scope") &&
	     all_digits(c.p + 7, c.n - 7 - strlen(".scope"))))
		w->in_podman = true;   /* rootless podman-<pid>.scope/<id>, cgroupfs libpod_parent/<id> */
}

void rw_identity_from_path(const char *path, struct rw_identity *out)
{
	struct path_parse w;
	const char *p = path ? path : "";

	memset(out, 0, sizeof *out);
	memset(&w, 0, sizeof w);
	w.out = out;
	out->kind = RW_KIND_NONE;   /* the root (empty path, "/") is only structure */

	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		struct span c = { p, 0 };
		while (p[c.n] && p[c.n] != '/')
			c.n++;
		classify(&w, c);
		w.prev = c;
		w.depth++;
		p += c.n;
	}
}

void rw_identity_label(const struct rw_identity *id, char *buf, size_t len)
{
	if (!buf || len == 0)
		return;
	switch (id->kind) {
	case RW_KIND_CONTAINER:
		if (strcmp(id->runtime, "lxc") == 0)
			snprintf(buf, len, "lxc:%s", id->name);
		else
			snprintf(buf, len, "%s:%.12s", id->runtime, id->id);
		return;
	case RW_KIND_SLURM:
		snprintf(buf, len, "slurm:%s", id->name);
		return;
	case RW_KIND_SERVICE:
	case RW_KIND_SCOPE:
		snprintf(buf, len, "systemd:%s", id->unit);
		return;
	case RW_KIND_PROCESS:
		snprintf(buf, len, "process:%s/%s", id->id, id->name);
		return;
	case RW_KIND_NONE:
	case RW_KIND_OTHER:
	default:
		snprintf(buf, len, "cgroup:%s", id->name[0] ? id->name : "/");
		return;
	}
}

const char *rw_workload_kind_name(enum rw_workload_kind kind)
{
	switch (kind) {
	case RW_KIND_NONE:
		return "none";
	case RW_KIND_CONTAINER:
		return "container";
	case RW_KIND_SLURM:
		return "slurm";
	case RW_KIND_SERVICE:
		return "service";
	case RW_KIND_SCOPE:
		return "scope";
	case RW_KIND_OTHER:
		return "other";
	case RW_KIND_PROCESS:
		return "process";
	}
	return "unknown";
}
