/* agent: the sampling loop that turns the cgroup tree into one report per interval. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/agent.h"
#include "rigwatch/alerts.h"
#include "rigwatch/allow.h"
#include "rigwatch/features.h"
#include "rigwatch/fsutil.h"
#include "rigwatch/fpbpf.h"
#include "rigwatch/fpprobe.h"
#include "rigwatch/http.h"
#include "rigwatch/procscan.h"
#include "rigwatch/procwatch.h"
#include "rigwatch/cgroups.h"
#include "rigwatch/cgstats.h"
#include "rigwatch/clock.h"
#include "rigwatch/containers.h"
#include "rigwatch/log.h"
#include "rigwatch/model.h"
#include "rigwatch/names.h"
#include "rigwatch/pmu.h"
#include "rigwatch/respond.h"
#include "rigwatch/score.h"
#include "rigwatch/targets.h"

/* Counters stay open this many idle intervals, so a bursty workload does not churn file descriptors. */
#define COUNTERS_IDLE_CLOSE 10
/* Count our own open fds every so many intervals where that takes a readdir of /proc/self/fd. */
#define FD_COUNT_EVERY 10
/* Targets get their processes scanned for indicators every so many intervals, busy ones more often; the last
 * result is carried in between. */
#define PROCSCAN_IDLE_EVERY 30
#define PROCSCAN_BUSY_EVERY 10
/* An idle target whose tasks have not run since its last scan skips the scans in between, down to one every so many
 * intervals: a process that does not run cannot rename, exec or open anything, and at 500 sleeping containers these
 * scans (a dozen system calls per process) were a third of the agent's own system calls. */
#define PROCSCAN_STILL_EVERY 300
/* cpu.pressure's avg10 moves slowly: busy targets read it every so many intervals, carried in between. */
#define PSI_EVERY 5
/* Processes whose /proc status one target's memory fallback reads at most. */
#define PROC_MEMORY_MAX_PIDS 256
/* Cgroups whose tasks the eBPF path counts per process: the root and non-target cgroups with processes (the eBPF
 * map holds 64). */
#define RW_AGENT_PROC_CGROUPS 1024
/* v1-only hosts, eBPF path: a target's processes whose counts are summed, and how deep below it they are looked
 * for (Slurm's task_<n> level below a step). */
#define FP_V1_PIDS 512
#define FP_V1_DEPTH 4
/* A container's engine state file is stat()ed every so many intervals and re-read when it changed (a restart,
 * a pause, a rename). */
#define CONTAINER_RECHECK_EVERY 5
/* Retry cgroup files found missing every so many intervals. */
#define CGFILES_RECHECK_EVERY 64
/* On the eBPF path (cgroup2), a cgroup target that used next to no CPU (under STILL_CPU_Q16 of a core: a sleeping
 * process, an idle daemon) in STILL_SETTLE readings in a row has its files read every STILL_READ_EVERY intervals
 * (spread by id), its last reading carried with no CPU in between, unless the eBPF program saw its tasks switch in
 * the interval, which a task that ran does: on a host with hundreds of idle containers the reads were most of the
 * agent's own CPU. A carried zero is then a true zero, and a target that wakes is read in the same interval. */
#define STILL_CPU_Q16 66 /* 0.1 % of a core */
#define STILL_SETTLE 3
#define STILL_READ_EVERY 4

struct rw_agent {
	struct rw_config cfg;
	unsigned flags;
	struct rw_cgroup_mounts mounts;
	char root[RW_MOUNT_PATH_MAX];        /* cgroup2 root walked, or on v1-only hosts the v1 hierarchy walked */
	bool v1;                             /* v1-only host: targets are directories of that v1 hierarchy */
	char layout_text[RW_MOUNT_PATH_MAX * 2 + 128];
	struct rw_pmu *pmu;
	struct rw_targets *targets;
	uint64_t seq;
	uint64_t start_ns;
	unsigned counter_fds, counter_fd_budget;
	bool fds_by_stat;                    /* count_open_fds found the cheap way */
	uint64_t counters_denied_total;
	char only_cgroup[RW_CGROUP_PATH_MAX];

	rw_sample_fn on_sample;
	void *on_sample_arg;

	struct rw_model *model;              /* RW_AGENT_SCORE */
	struct rw_scorer scorer;
	bool scoring;
	struct rw_respond *respond;          /* RW_AGENT_RESPOND with a mode other than off */
	struct rw_fpprobe *fpprobe;          /* the ptrace path; NULL when off or when eBPF is live */
	struct rw_fpbpf *fpbpf;              /* the eBPF path; NULL when not live */
	bool fpbpf_error_logged;
	uint64_t proc_cg[RW_AGENT_PROC_CGROUPS];     /* cgroups counted per process: the root + this walk's */
	unsigned n_proc_cg;
	uint64_t *fp_cg;                     /* this walk's cgroup targets, watched by the eBPF program */
	unsigned n_fp_cg, fp_cg_cap;
	uint32_t *fp_pids;                   /* this walk's process targets, watched in their per-process cgroups */
	unsigned n_fp_pids, fp_pids_cap;
	bool fp_watch_error_logged;
	struct rw_procscan_rules *rules;     /* NULL when procscan.enabled is false */
	struct rw_procwatch *procwatch;      /* busy processes outside every target cgroup */
	struct rw_http *http;                /* RW_AGENT_HTTP */
	struct rw_alerts *alerts;            /* RW_AGENT_ALERTS */
	struct rw_names *names;              /* Kubernetes and Slurm user names */
	uint32_t allow_gen;                  /* bumped when cfg.allow changes: targets look their rule up again */
	struct rw_fpprobe_target *busy;      /* targets for the probe's next round */
	unsigned n_busy, busy_cap;

	volatile sig_atomic_t *reload_flag;  /* rw_agent_on_reload */
	rw_reload_fn reload_fn;
	void *reload_arg;

	/* report under construction / last built */
	struct rw_report report;
	unsigned report_cap;
	int step_error;                      /* first fatal error from a visit callback */
	uint64_t step_now_real, step_now_mono;
};

/* Open fds: Linux 6.2 and later give the count as the size of /proc/self/fd (a bitmap count); before that, a
 * readdir that costs as much as the fds (with 12,000 perf fds at 16 CPUs, a tenth of the agent's time), so done
 * only every FD_COUNT_EVERY intervals. */
static unsigned count_open_fds(bool *by_stat)
{
	struct stat st;
	if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0) {
		*by_stat = true;
		return (unsigned)st.st_size;
	}
	*by_stat = false;
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;
	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own fd */
}

/* Ask for cfg->max_open_files; counters cost ncpu fds per event per busy target. */
static unsigned raise_nofile(unsigned want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	rlim_t target = want;
	if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max)
		target = rl.rlim_max;
	if (rl.rlim_cur < target) {
		struct rlimit n = { target, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &n) == 0)
			rl.rlim_cur = target;
		else
			rw_log_warn("agent", "cannot raise RLIMIT_NOFILE to %u: %s", (unsigned)target, strerror(errno));
	}
	return rl.rlim_cur == RLIM_INFINITY ? want : (unsigned)rl.rlim_cur;
}

/* The FP path: eBPF where it loads (fpprobe.path auto or bpf), else the ptrace probe. In auto mode any eBPF
 * failure is one log line and the ptrace probe; fpprobe.path = bpf makes it a start-up error instead. */
static int fp_open(struct rw_agent *a, char *err, size_t errlen)
{
	const struct rw_config *cfg = &a->cfg;
	int r;

	if (!cfg->fpprobe_enabled)
		return 0;
	if (strcmp(cfg->fpprobe_path, "ptrace") != 0) {
		struct rw_fpbpf_opts o = { .btf_path = cfg->fpprobe_btf };
		char why[256] = "";
		struct stat st;
		if ((r = rw_fpbpf_open(&a->fpbpf, &o, why, sizeof why)) == 0) {
			/* Tasks of the root cgroup are counted per process: it holds every process of hosts without
			 * per-service cgroups. On v1-only hosts every task is: a cgroup2 id matches no target there,
			 * and a target's evidence is the sum of its processes'. */
			uint64_t root_id = stat(a->root, &st) == 0 ? (uint64_t)st.st_ino : 1;
			a->proc_cg[0] = root_id;
			a->n_proc_cg = 1;
			/* Nothing else is watched until the first walk has found the targets (their first visit only
			 * takes a baseline). On v1 the first interval counts every process. */
			struct rw_fpbpf_watch w = { .proc_cgroups = a->proc_cg, .n_proc_cgroups = 1 };
			if (a->v1)
				rw_fpbpf_all_per_process(a->fpbpf, true);
			else
				rw_fpbpf_set_watch(a->fpbpf, &w);
			rw_fpbpf_refresh(a->fpbpf); /* the first interval starts now */
			struct rw_fpbpf_stats bs;
			rw_fpbpf_stats(a->fpbpf, &bs);
			rw_log_info("agent", "FP path: eBPF at x86_fpu_regs_deactivated (program id %u)", bs.prog_id);
			a->report.fp_path = RW_FP_PATH_BPF;
			a->report.sources_available |= RW_SRC_BIT(RW_SRC_FPPROBE);
			return 0;
		}
		if (strcmp(cfg->fpprobe_path, "bpf") == 0) {
			snprintf(err, errlen, "fpprobe.path = bpf: %s", why);
			return r;
		}
		rw_log_warn("agent", "FP path: ptrace, not eBPF: %s", why);
	}
	if ((r = rw_fpprobe_start(&a->fpprobe, cfg)) < 0) {
		snprintf(err, errlen, "fpprobe: %s", strerror(-r));
		return r;
	}
	if (a->fpprobe) {
		a->report.fp_path = RW_FP_PATH_PTRACE;
		a->report.sources_available |= RW_SRC_BIT(RW_SRC_FPPROBE);
	}
	return 0;
}

/* Process ids listed in cgroup.procs of dir and of the cgroups below it (at most max, FP_V1_DEPTH levels). */
static unsigned subtree_pids(const char *dir, uint32_t *pids, unsigned n, unsigned max, int depth)
{
	char path[RW_MOUNT_PATH_MAX + RW_CGROUP_PATH_MAX + 16], buf[8192];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	if (rw_read_small(AT_FDCWD, path, buf, sizeof buf) > 0)
		for (char *p = buf, *end; *p && n < max; p = end) {
			unsigned long v = strtoul(p, &end, 10);
			if (end == p)
				break;
			if (v > 0)
				pids[n++] = (uint32_t)v;
		}
	if (depth >= FP_V1_DEPTH || n >= max)
		return n;
	DIR *d = opendir(dir);
	if (!d)
		return n;
	for (struct dirent *de; n < max && (de = readdir(d)) != NULL;) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < sizeof path)
			n = subtree_pids(path, pids, n, max, depth + 1);
	}
	closedir(d);
	return n;
}

/* FP evidence of the interval that just ended, from whichever path is live. dir: a cgroup target's directory; on
 * v1-only hosts the eBPF path counted its processes, and they are summed. */
static int fp_collect(struct rw_agent *a, uint64_t id, const char *dir, struct rw_fp_evidence *out)
{
	if (a->fpbpf && a->v1 && !rw_target_is_process(id)) {
		uint32_t pids[FP_V1_PIDS];
		unsigned n = subtree_pids(dir, pids, 0, FP_V1_PIDS, 0);
		memset(out, 0, sizeof *out);
		for (unsigned i = 0; i < n; i++) {
			struct rw_fp_evidence e;
			if (rw_fpbpf_collect_process(a->fpbpf, pids[i], &e) == 0)
				rw_fp_evidence_add(out, &e);
		}
		return out->probes ? 0 : -ENOENT;
	}
	if (a->fpbpf)
		return rw_target_is_process(id) ? rw_fpbpf_collect_process(a->fpbpf, rw_proc_target_pid(id), out)
						: rw_fpbpf_collect_cgroup(a->fpbpf, id, out);
	return rw_fpprobe_collect(a->fpprobe, id, out);
}

/* On v1: the sum of what the eBPF path has gathered for these threads' processes since the last refresh. Only a
 * process's main thread (tid = tgid) has a key, so the others add nothing. */
static void peek_v1(struct rw_agent *a, const pid_t *tids, unsigned n, struct rw_fp_evidence *out)
{
	memset(out, 0, sizeof *out);
	for (unsigned i = 0; i < n; i++) {
		struct rw_fp_evidence e;
		if (tids[i] > 0 && rw_fpbpf_peek_process(a->fpbpf, (uint32_t)tids[i], &e) == 0)
			rw_fp_evidence_add(out, &e);
	}
}

/* The response's fresh FP read on the eBPF path: what the target's threads showed at their context switches during
 * the window, the difference of two reads of its counts (the interval keeps them). Only what happened in the
 * window counts: observations, modes, changes; the most non-default modes on one thread is bounded by the
 * non-default modes the window saw. The thread list is not needed: every thread of the target is counted. */
static int fp_recheck_bpf(void *arg, uint64_t id, const pid_t *tids, unsigned n, unsigned window_ms,
			  struct rw_fp_evidence *out)
{
	struct rw_agent *a = arg;
	struct rw_fp_evidence e0, e1;
	bool proc = rw_target_is_process(id);
	uint32_t pid = rw_proc_target_pid(id);
	if (a->v1 && !proc)
		peek_v1(a, tids, n, &e0);
	else if (proc)
		rw_fpbpf_peek_process(a->fpbpf, pid, &e0);
	else
		rw_fpbpf_peek_cgroup(a->fpbpf, id, &e0);
	struct timespec ts = { window_ms / 1000, (long)(window_ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	if (a->v1 && !proc)
		peek_v1(a, tids, n, &e1);
	else if (proc)
		rw_fpbpf_peek_process(a->fpbpf, pid, &e1);
	else
		rw_fpbpf_peek_cgroup(a->fpbpf, id, &e1);
	memset(out, 0, sizeof *out);
	if (e1.probes < e0.probes) /* cannot happen on one thread; be safe */
		e0 = (struct rw_fp_evidence){ 0 };
	out->probes = e1.probes - e0.probes;
	if (!out->probes)
		return 0;
	out->path = RW_FP_PATH_BPF;
	unsigned nondefault = 0;
	for (int m = 0; m < 4; m++) {
		out->mode_obs[m] = e1.mode_obs[m] - e0.mode_obs[m];
		if (out->mode_obs[m]) {
			out->modes_union |= (uint8_t)(1u << m);
			nondefault += m > 0;
		}
	}
	out->ftz_daz_obs = e1.ftz_daz_obs - e0.ftz_daz_obs;
	out->pairs = e1.pairs - e0.pairs;
	out->changes = e1.changes - e0.changes;
	out->threads = e1.threads;
	out->ftz_daz = out->ftz_daz_obs > 0;
	out->last_control = e1.last_control;
	unsigned all = (unsigned)__builtin_popcount(out->modes_union);
	out->max_thread_modes = (uint8_t)(e1.max_thread_modes < all ? e1.max_thread_modes : all);
	out->max_thread_nondefault = (uint8_t)(e1.max_thread_nondefault < nondefault ? e1.max_thread_nondefault : nondefault);
	return 0;
}

/* Every response decision: its alert line now (respond counts it; the report copies the counts each interval). */
static void on_response(const struct rw_respond_event *ev, void *arg)
{
	struct rw_agent *a = arg;
	if (a->alerts && ev->result != RW_RR_ALLOWED)   /* exempt: counted, never alerted on */
		rw_alerts_action(a->alerts, a->report.host, ev);
}

/* One line for the start-up log and `rigwatch list`: which layout, what is walked, where counters come from. */
static void layout_text(const struct rw_agent *a, char *buf, size_t len)
{
	const struct rw_cgroup_mounts *m = &a->mounts;
	if (a->cfg.cgroup_root[0])
		snprintf(buf, len, "v2 (agent.cgroup_root %s)", a->root);
	else if (m->layout == RW_CGROUP_V1)
		snprintf(buf, len, "v1: walking the %s hierarchy at %s; counters %s%s", m->v1_walk_name, a->root,
			 m->v1_perf_event[0] ? "through perf_event at " : "off (perf_event not mounted)",
			 m->v1_perf_event);
	else if (m->layout == RW_CGROUP_HYBRID)
		snprintf(buf, len, "hybrid: cgroup2 at %s, v1 controllers beside%s%s", a->root,
			 m->v1_perf_event[0] ? "; counters through v1 perf_event at " : "", m->v1_perf_event);
	else
		snprintf(buf, len, "v2: cgroup2 at %s", a->root);
}

const char *rw_agent_cgroup_layout(const struct rw_agent *a) { return a->layout_text; }

int rw_agent_open(struct rw_agent **out, const struct rw_config *cfg, unsigned flags, char *err, size_t errlen)
{
	struct rw_agent *a = calloc(1, sizeof *a);
	int r;

	if (!a)
		return -ENOMEM;
	a->cfg = *cfg;
	a->flags = flags;
	if (flags & RW_AGENT_RESPOND) {
		/* Before any thread exists: capabilities are per thread. ptrace: the FP probe, the response's re-check,
		 * and procscan (the kernel checks /proc/PID/fd and exe as ptrace read access). */
		char dropped[512];
		bool need_kill = cfg->response == RW_RESPONSE_FREEZE || cfg->response == RW_RESPONSE_KILL;
		bool need_ptrace = cfg->fpprobe_enabled || cfg->procscan_enabled || cfg->response != RW_RESPONSE_OFF;
		if ((r = rw_respond_drop_privileges(need_kill, need_ptrace, dropped, sizeof dropped)) < 0)
			rw_log_warn("agent", "dropping capabilities: %s", strerror(-r));
		else
			rw_log_info("agent", "no_new_privs set; capabilities dropped: %s", dropped[0] ? dropped : "none held");
	}
	if (cfg->cgroup_root[0]) {
		/* An explicit root (fixture trees, or a host whose mounts are elsewhere): v2 only, no v1 twins. */
		if (strlen(cfg->cgroup_root) >= sizeof a->root) {
			snprintf(err, errlen, "agent.cgroup_root: longer than %zu bytes", sizeof a->root - 1);
			r = -EINVAL;
			goto fail;
		}
		strcpy(a->root, cfg->cgroup_root);
		strcpy(a->mounts.v2, cfg->cgroup_root);
		if (access(a->root, R_OK | X_OK) != 0) {
			snprintf(err, errlen, "agent.cgroup_root %s: %s", a->root, strerror(errno));
			r = -ENOENT;
			goto fail;
		}
	} else {
		r = rw_cgroup_mounts_detect("/proc/self/mountinfo", &a->mounts, err, (unsigned)errlen);
		if (r < 0)
			goto fail;
		snprintf(a->root, sizeof a->root, "%s",
			 a->mounts.layout == RW_CGROUP_V1 ? a->mounts.v1_walk : a->mounts.v2);
	}
	a->v1 = a->mounts.layout == RW_CGROUP_V1;
	layout_text(a, a->layout_text, sizeof a->layout_text);
	rw_log_info("agent", "cgroup layout %s", a->layout_text);
	if (a->v1 && !a->mounts.v1_perf_event[0])
		rw_log_warn("agent", "cgroup v1 without the perf_event controller mounted: no per-cgroup counters (the "
				     "other sources go on); mount it (mount -t cgroup -o perf_event perf_event "
				     "/sys/fs/cgroup/perf_event) for software and hardware counters per target");

	unsigned nofile = raise_nofile(cfg->max_open_files);
	a->counter_fd_budget = cfg->counter_fd_budget ? cfg->counter_fd_budget : nofile / 4 * 3;

	const char *table = strcmp(cfg->pmu_table, "auto") == 0 ? NULL : cfg->pmu_table;
	/* perf's cgroup mode is tried where the agent will open counters: the v1 perf_event mount where perf_event
	 * is bound to v1, else the cgroup2 root walked (agent.cgroup_root included). */
	if ((r = rw_pmu_init_at(&a->pmu, table, a->mounts.v1_perf_event[0] ? a->mounts.v1_perf_event : a->root)) < 0) {
		snprintf(err, errlen, "counters: %s%s", strerror(-r),
			 r == -EINVAL ? " (unknown agent.pmu_table; see `rigwatch events`)" : "");
		goto fail;
	}
	if (!rw_pmu_cgroup_permitted(a->pmu) && !(a->v1 && !a->mounts.v1_perf_event[0]))
		rw_log_warn("agent", "per-cgroup perf events not permitted (needs CAP_PERFMON or CAP_SYS_ADMIN, or "
				     "kernel.perf_event_paranoid <= 0): counters off, other sources go on");
	if ((r = rw_targets_new(&a->targets)) < 0)
		goto fail;
	if ((r = rw_names_new(&a->names, cfg->kube_pods_dir, cfg->kube_containers_dir)) < 0)
		goto fail;
	a->allow_gen = 1;

	if (flags & RW_AGENT_SCORE) {
		if (!(a->model = calloc(1, sizeof *a->model))) {
			r = -ENOMEM;
			goto fail;
		}
		if ((r = rw_model_load(a->model, cfg->model_file, err, errlen)) < 0)
			goto fail; /* bad input: exit 2, message names file:line */
		/* The scorer borrows the config: point it at our copy, which lives as long as the agent. */
		if ((r = rw_scorer_init(&a->scorer, &a->cfg, a->model)) < 0)
			goto fail;
		a->scoring = true;
	}
	if (cfg->procscan_enabled) {
		/* -EINVAL (bad rules) or -ENOENT: exit 2; a file that cannot be read (EACCES, EIO) is no usage error */
		if ((r = rw_procscan_rules_load(&a->rules, cfg->procscan_rules, err, errlen)) < 0)
			goto fail;
		a->report.sources_available |= RW_SRC_BIT(RW_SRC_INDICATORS);
	}
	if ((r = rw_procwatch_new(&a->procwatch, cfg->proc_root, cfg->attention_cpu_q16)) < 0)
		goto fail;
	if ((r = fp_open(a, err, errlen)) < 0)
		goto fail;
	if ((flags & RW_AGENT_ALERTS) && (r = rw_alerts_open(&a->alerts, &a->cfg, err, errlen)) < 0)
		goto fail;
	if ((flags & RW_AGENT_RESPOND) && cfg->response != RW_RESPONSE_OFF) {
		if ((r = rw_respond_open(&a->respond, &a->cfg, a->root, err, errlen)) < 0)
			goto fail;
		rw_respond_on_event(a->respond, on_response, a);
		if (a->v1)
			rw_respond_set_v1_freezer(a->respond, a->mounts.v1_freezer);
		if (a->fpbpf) {
			/* The re-check reads what the eBPF path sees: a miner that another process traces cannot be
			 * read with ptrace, but its context switches are counted all the same. */
			struct rw_respond_recheck rc = { .read_fp = fp_recheck_bpf, .arg = a };
			rw_respond_set_recheck(a->respond, &rc);
		}
		rw_log_info("agent", "response %s armed (audit log %s)", rw_response_mode_name(cfg->response),
			    cfg->audit_log);
	}

	a->start_ns = rw_real_ns();
	a->report.start_time_ns = a->start_ns;
	a->report.config_reload_ok = true;
	a->report.config_reload_success_ns = a->start_ns;
	a->report.interval_ms = cfg->interval_ms;
	gethostname(a->report.host, sizeof a->report.host - 1);
	snprintf(a->report.pmu_name, sizeof a->report.pmu_name, "%s", rw_pmu_core_name(a->pmu));
	a->report.pmu_hw_available = rw_pmu_hw_available(a->pmu);
	a->report.pmu_cgroup_permitted = rw_pmu_cgroup_permitted(a->pmu);
	a->report.sources_available |= RW_SRC_BIT(RW_SRC_CGROUP);
	if (a->report.pmu_hw_available && a->report.pmu_cgroup_permitted)
		a->report.sources_available |= RW_SRC_BIT(RW_SRC_PMU);
	/* HTTP last: once it answers, /healthz says the loop is about to run. */
	if ((flags & RW_AGENT_HTTP) && (r = rw_http_start(&a->http, &a->cfg, err, errlen)) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	rw_agent_close(a);
	return r;
}

static void release_target(struct rw_target *t, void *arg)
{
	struct rw_agent *a = arg;
	if (a->respond)
		rw_respond_forget(a->respond, t->id);
	if (t->perf_group) {
		rw_pmu_group_close(t->perf_group);
		t->perf_group = NULL;
		a->counter_fds -= rw_pmu_fds_per_group(a->pmu);
	}
}

void rw_agent_close(struct rw_agent *a)
{
	if (!a)
		return;
	rw_http_stop(a->http);
	rw_fpprobe_stop(a->fpprobe); /* joins the probe thread: no thread left stopped */
	rw_fpbpf_close(a->fpbpf);
	rw_targets_free(a->targets, release_target, a);
	rw_respond_close(a->respond);
	rw_alerts_close(a->alerts);
	rw_procscan_rules_free(a->rules);
	rw_procwatch_free(a->procwatch);
	rw_names_free(a->names);
	free(a->busy);
	free(a->fp_cg);
	free(a->fp_pids);
	if (a->scoring)
		rw_scorer_free(&a->scorer);
	free(a->model);
	rw_pmu_free(a->pmu);
	free(a->report.targets);
	free(a);
}

void rw_agent_on_sample(struct rw_agent *a, rw_sample_fn fn, void *arg)
{
	a->on_sample = fn;
	a->on_sample_arg = arg;
}

void rw_agent_only_cgroup(struct rw_agent *a, const char *cgroup)
{
	snprintf(a->only_cgroup, sizeof a->only_cgroup, "%s", cgroup ? cgroup : "");
}

const struct rw_report *rw_agent_report(const struct rw_agent *a) { return &a->report; }

const struct rw_pmu *rw_agent_pmu(const struct rw_agent *a) { return a->pmu; }

static struct rw_report_target *report_slot(struct rw_agent *a)
{
	if (a->report.n_targets == a->report_cap) {
		unsigned cap = a->report_cap ? a->report_cap * 2 : 64;
		struct rw_report_target *n = realloc(a->report.targets, (size_t)cap * sizeof *n);
		if (!n)
			return NULL;
		a->report.targets = n;
		a->report_cap = cap;
	}
	struct rw_report_target *rt = &a->report.targets[a->report.n_targets];
	memset(rt, 0, sizeof *rt);
	return rt;
}

/* Open counters for a target that became busy, within the fd budget. */
static void start_counters(struct rw_agent *a, struct rw_target *t, const struct rw_cgroup_entry *e)
{
	unsigned cost = rw_pmu_fds_per_group(a->pmu);
	int fd = e->dir_fd, own_fd = -1, r;

	if (!rw_pmu_cgroup_permitted(a->pmu))
		return;
	if (a->counter_fds + cost > a->counter_fd_budget) {
		r = -EMFILE;
		goto denied;
	}
	if (a->mounts.v1_perf_event[0]) {
		/* perf_event bound to v1: the kernel only accepts that hierarchy's directory (ENOENT for v2). */
		char p[RW_MOUNT_PATH_MAX + RW_CGROUP_PATH_MAX];
		snprintf(p, sizeof p, "%s%s", a->mounts.v1_perf_event, t->path);
		if ((own_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			r = -errno;
			goto denied;
		}
		fd = own_fd;
	} else if (fd < 0) {
		/* a known target: the walk did not open its directory */
		if ((own_fd = openat(e->parent_fd, e->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			if (errno == ENOENT)
				return; /* vanished: normal */
			r = -errno;
			goto denied;
		}
		fd = own_fd;
	}
	r = rw_pmu_group_open(a->pmu, fd, &t->perf_group);
	if (own_fd >= 0)
		close(own_fd);
	if (r == -ENOENT)
		return; /* vanished: normal */
	if (r < 0)
		goto denied;
	a->counter_fds += cost;
	memset(t->prev_counters, 0, sizeof t->prev_counters);
	t->counters_denied = false;
	t->denied_logged = false;
	return;
denied:
	t->perf_group = NULL;
	t->counters_denied = true;
	if (!t->denied_logged) {
		/* Never drop a target silently: say which one went without counters and why. */
		rw_log_warn("agent", "%s: no counters (%s; %u of %u counter fds in use)", t->path, strerror(-r),
			    a->counter_fds, a->counter_fd_budget);
		t->denied_logged = true;
	}
}

static void stop_counters(struct rw_agent *a, struct rw_target *t)
{
	rw_pmu_group_close(t->perf_group);
	t->perf_group = NULL;
	a->counter_fds -= rw_pmu_fds_per_group(a->pmu);
}

/* mnt + rel into buf ("" when mnt is ""): a plain copy, as this runs for every target and interval. The buffers
 * hold a mount path and a relative path of at most their maximum lengths. */
static void join_path(char *buf, size_t len, const char *mnt, const char *rel)
{
	size_t m = strlen(mnt), r = strlen(rel);
	if (!m || m + r >= len) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, mnt, m);
	memcpy(buf + m, rel, r + 1);
}

/* Remember a busy target for the FP probe's next round: a cgroup (its v2 directory) or a process (pid > 0). */
static void queue_probe(struct rw_agent *a, uint64_t id, const char *v2_dir, int32_t pid, uint64_t start_ticks)
{
	if (!a->fpprobe)
		return;
	if (a->n_busy == a->busy_cap) {
		unsigned cap = a->busy_cap ? a->busy_cap * 2 : 32;
		struct rw_fpprobe_target *n = realloc(a->busy, (size_t)cap * sizeof *n);
		if (!n)
			return; /* this target goes unprobed for one interval */
		a->busy = n;
		a->busy_cap = cap;
	}
	struct rw_fpprobe_target *pt = &a->busy[a->n_busy];
	if ((size_t)snprintf(pt->path, sizeof pt->path, "%s", v2_dir) >= sizeof pt->path)
		return;
	pt->cgroup_id = id;
	pt->pid = pid;
	pt->start_ticks = start_ticks;
	a->n_busy++;
}

/* Names no path holds (looked up until the names module has all it can give), then the [allow] rule that
 * matches, looked up again when the identity or the rules changed. */
static void target_names_allow(struct rw_agent *a, struct rw_target *t, struct rw_report_target *rt)
{
	if (!t->names_done) {
		t->names_done = rw_names_resolve(a->names, &t->identity);
		rt->sample.identity = t->identity;
		t->allow_gen = 0;
	}
	if (t->allow_gen != a->allow_gen) {
		const struct rw_allow_rule *ar = rw_allow_match(&a->cfg.allow, t->path, &t->identity);
		t->allow_idx = ar ? (int)(ar - a->cfg.allow.r) : -1;
		t->allow_gen = a->allow_gen;
	}
	if (t->allow_idx >= 0 && (unsigned)t->allow_idx < a->cfg.allow.n) {
		rt->allowed = true;
		snprintf(rt->allow_reason, sizeof rt->allow_reason, "%s", a->cfg.allow.r[t->allow_idx].reason);
	}
}

/* FP evidence of this target during the interval that just ended, from whichever path is live, and the target to
 * the probe's next round: every target above fpprobe.min_target_cpu goes, and the probe shares its read budget
 * among them by CPU. */
static void fp_evidence(struct rw_agent *a, const struct rw_target *t, struct rw_sample *s, const char *v2_dir,
			int32_t pid, uint64_t start_ticks)
{
	int64_t cores_q16 = (int64_t)((s->cpu_usec << 16) / (s->interval_us ? s->interval_us : 1));

	if (fp_collect(a, t->id, v2_dir, &s->fp) == 0 && s->fp.probes > 0)
		s->sources |= RW_SRC_BIT(RW_SRC_FPPROBE);
	if (cores_q16 >= a->cfg.fpprobe_min_target_cpu_q16)
		queue_probe(a, t->id, v2_dir, pid, start_ticks);
}

/* Indicators: a new target at once, busy ones every few intervals, idle ones now and then (spread by id so the
 * scans of many targets do not fall in one interval), carried in between. */
static void indicators(struct rw_agent *a, struct rw_target *t, struct rw_sample *s, bool busy, const char *v2_dir,
		       int32_t pid)
{
	uint64_t slot = a->seq + t->id;
	bool due = slot % (busy ? PROCSCAN_BUSY_EVERY : PROCSCAN_IDLE_EVERY) == 0;
	t->ran_since_scan |= s->cpu_usec > 0;
	if (due && !busy && !t->ran_since_scan && slot % PROCSCAN_STILL_EVERY != 0)
		due = false;
	/* a target that just became busy is scanned at once, unless a scan taken while it was busy is fresh enough
	 * for a busy one: a crowd of targets near attention_cpu comes and goes every interval, while a container whose
	 * entrypoint was scanned at first sight then execs its miner */
	if (busy && !t->was_busy && (!t->scan_was_busy || a->seq - t->scan_seq >= PROCSCAN_BUSY_EVERY))
		due = true;
	if (a->rules && (!t->have_indicators || due)) {
		int r = pid > 0 ? rw_procscan_process(a->rules, a->cfg.proc_root, pid, &t->indicators)
				: rw_procscan_target(a->rules, a->cfg.proc_root, v2_dir, &t->indicators);
		if (r == 0) {
			t->have_indicators = true;
			t->ran_since_scan = false;
			t->scan_seq = a->seq;
			t->scan_was_busy = busy;
		}
	}
	t->was_busy = busy; /* here, after the "just became busy" test above, for cgroup and process targets alike */
	if (t->have_indicators) {
		s->ind = t->indicators;
		s->sources |= RW_SRC_BIT(RW_SRC_INDICATORS);
	}
}

/* The engine's names for a Docker or Podman container target: read when first seen, then re-read when its state
 * file changes. No engine, no file or a malformed one leaves the names empty and costs nothing else. A container that
 * restarted in the same cgroup (a new start time) starts a new story: its origin is collected afresh. */
static void container_refresh(struct rw_agent *a, struct rw_target *t)
{
	char err[RW_CONFIG_PATH_LEN + 200];
	if (t->identity.kind != RW_KIND_CONTAINER)
		return;
	bool docker = strcmp(t->identity.runtime, "docker") == 0;
	if (!docker && strcmp(t->identity.runtime, "podman") != 0)
		return;
	bool first = t->container_checks++ == 0;
	if (!first && (a->seq + t->id) % CONTAINER_RECHECK_EVERY != 0)
		return;
	uint64_t m = docker ? rw_docker_meta_mtime(a->cfg.docker_root, t->identity.id)
			    : rw_podman_meta_mtime(a->cfg.podman_storage_root);
	if (!first && m == t->container_mtime_ns)
		return;
	struct rw_container_meta meta;
	int r = docker ? rw_docker_meta_read(a->cfg.docker_root, t->identity.id, &a->cfg.docker_labels, &meta,
					     &t->container_mtime_ns, err, sizeof err)
		       : rw_podman_meta_read(a->cfg.podman_storage_root, t->identity.id, &meta, &t->container_mtime_ns,
					     err, sizeof err);
	if (r == -EINVAL && !t->container_bad_logged) {
		rw_log_warn("containers", "%s: names not known: %s", t->path, err);
		t->container_bad_logged = true;
	} else if (r == 0) {
		t->container_bad_logged = false;
	}
	if (t->container.have && meta.have && meta.started_ns != t->container.started_ns) {
		memset(&t->origin, 0, sizeof t->origin);
		t->hashing_since_ns = 0;
	}
	t->container = meta;
}

/* Where a convicted target's miner started: collected once, at the first interval in `mining`. */
static void origin_step(struct rw_agent *a, struct rw_target *t, struct rw_report_target *rt, const char *v2_dir,
			int32_t pid)
{
	char why[256], procs[RW_MOUNT_PATH_MAX + RW_CGROUP_PATH_MAX + 16];
	const struct rw_sample *s = &rt->sample;
	if (!t->hashing_since_ns &&
	    rw_respond_evidence_qualifies(&s->fp, s->cpu_usec, s->interval_us, why, sizeof why))
		t->hashing_since_ns = s->time_ns;
	if (pid <= 0 && !t->origin.have && rt->verdict.verdict == RW_VERDICT_MINING) {
		snprintf(procs, sizeof procs, "%s/cgroup.procs", v2_dir);
		if (rw_container_origin_read(a->cfg.proc_root, procs, t->container.pid, &t->origin) == 0) {
			char d[400];
			rw_origin_describe(&t->origin, d, sizeof d);
			rw_log_info("origin", "%s: %s", t->path, d);
		}
	}
	/* the slot is zeroed: copy only what is known (these are a few KiB per target) */
	if (t->container.have)
		rt->container = t->container;
	if (t->origin.have) {
		rt->origin = t->origin;
		rt->origin.hashing_since_ns = t->hashing_since_ns;
	}
}

/* Score, then respond: the one path the replay of a trace takes too. A target the response froze or killed keeps
 * its verdict: stopped, it shows nothing. The response decides on process targets too (refused unless [response]
 * process_targets, then by pid). A verdict change goes to the alerts and the log. */
static int score_and_respond(struct rw_agent *a, struct rw_target *t, struct rw_report_target *rt,
			     const char *v2_dir, int32_t pid)
{
	struct rw_sample *s = &rt->sample;

	if (a->scoring && a->respond)
		rw_scorer_hold(&a->scorer, t->id, rw_respond_holds(a->respond, t->id));
	if (a->scoring && rw_scorer_score(&a->scorer, s, &rt->verdict, NULL) < 0)
		return -ENOMEM;
	/* names and origin before the response and the alert, which both carry them */
	container_refresh(a, t);
	origin_step(a, t, rt, v2_dir, pid);
	if (a->respond) {
		rw_respond_consider(a->respond, rt, a->step_now_real);
		t->action = (uint8_t)rt->action;
	}
	if (a->scoring && rt->verdict.verdict != t->verdict) {
		const struct rw_verdict_state *vs = &rt->verdict;
		if (vs->verdict == RW_VERDICT_MINING && !rt->allowed) {   /* an exempt miner is no detection */
			a->report.detections_total++;
			if (vs->since_ns > vs->first_seen_ns)
				a->report.detection_delay_ns_total += vs->since_ns - vs->first_seen_ns;
		}
		if (a->alerts && !rt->allowed)
			rw_alerts_verdict_change(a->alerts, a->report.host, rt, (enum rw_verdict)t->verdict);
		rw_log_info("verdict", "%s%s: %s -> %s (score %d%%)%s%s", t->path, pid > 0 ? " (process)" : "",
			    rw_verdict_name((enum rw_verdict)t->verdict), rw_verdict_name(rt->verdict.verdict),
			    (int)((int64_t)rt->verdict.score_q16 * 100 >> 16), rt->allowed ? "; allowed: " : "",
			    rt->allowed ? rt->allow_reason : "");
		t->verdict = rt->verdict.verdict;
	}
	return 0;
}

/* The rest of a target's interval, cgroup or process alike: FP evidence, indicators, score and respond, then the
 * sample into the report and to its consumer. Process targets (pid > 0) are never handed to the response: it acts
 * on cgroups, and the root cgroup is never one of them. */
static int conclude(struct rw_agent *a, struct rw_target *t, struct rw_report_target *rt, bool busy,
		    const char *v2_dir, int32_t pid, uint64_t start_ticks)
{
	struct rw_sample *s = &rt->sample;
	int r;

	target_names_allow(a, t, rt);
	fp_evidence(a, t, s, v2_dir, pid, start_ticks);
	indicators(a, t, s, busy, v2_dir, pid);
	if ((r = score_and_respond(a, t, rt, v2_dir, pid)) < 0)
		return r;

	a->report.n_targets++;
	if (a->on_sample && (r = a->on_sample(s, a->on_sample_arg)) < 0)
		return r;
	return 0;
}

/* This interval's sample of a target, cgroup or process alike: identity, time, CPU and the stats read. */
static struct rw_report_target *begin_sample(struct rw_agent *a, const struct rw_target *t, uint64_t interval_us,
					     const struct rw_cgstats *cg, uint64_t cpu_usec)
{
	struct rw_report_target *rt = report_slot(a);
	if (!rt)
		return NULL;
	struct rw_sample *s = &rt->sample;
	s->cgroup_id = t->id;
	snprintf(s->cgroup, sizeof s->cgroup, "%s", t->path);
	s->identity = t->identity;
	s->time_ns = a->step_now_real;
	s->interval_us = (uint32_t)(interval_us > UINT32_MAX ? UINT32_MAX : interval_us);
	s->cg = *cg;
	s->cpu_usec = cpu_usec;
	s->sources = RW_SRC_BIT(RW_SRC_CGROUP);
	return rt;
}

/* Keep this interval's reading as the target's previous one. Returns whether there was one before, with it in
 * *prev and its time in *prev_mono: deltas need two readings. */
static bool remember_stats(struct rw_agent *a, struct rw_target *t, const struct rw_cgstats *cg,
			   struct rw_cgstats *prev, uint64_t *prev_mono)
{
	bool had_prev = t->have_prev;
	*prev = t->prev_cg;
	*prev_mono = t->prev_time_ns;
	t->prev_cg = *cg;
	t->prev_time_ns = a->step_now_mono;
	t->have_prev = true;
	return had_prev;
}

/* Whether a still target's files can wait this interval (see STILL_READ_EVERY). */
static bool stats_can_wait(const struct rw_agent *a, const struct rw_target *t)
{
	/* only where the eBPF path tells at once that its tasks ran: elsewhere a burst would show up to
	 * STILL_READ_EVERY - 1 intervals late and be probed after it ended; a recording reads every interval */
	if (!a->fpbpf || a->v1 || a->only_cgroup[0])
		return false;
	if (!t->have_prev || t->still_intervals < STILL_SETTLE || (a->seq + t->id) % STILL_READ_EVERY == 0)
		return false;
	if (t->cg_missing && a->seq % CGFILES_RECHECK_EVERY == 0)
		return false; /* the retry of missing files */
	struct rw_fp_evidence e;
	if (rw_fpbpf_collect_cgroup(a->fpbpf, t->id, &e) == 0 && e.probes > 0)
		return false; /* its tasks ran */
	return true;
}

/* A busy process outside every target cgroup: its sample from /proc (CPU, memory, threads), then as any target. */
static int visit_process(struct rw_agent *a, const struct rw_procwatch_entry *pe)
{
	static long hz;
	bool created;
	if (!hz && (hz = sysconf(_SC_CLK_TCK)) <= 0)
		hz = 100;
	struct rw_target *t;
	int r = rw_targets_get(a->targets, pe->id, &t, &created);
	if (r < 0)
		return r;
	t->seen_seq = a->seq;
	if (created || strcmp(t->path, pe->cgroup) != 0) {
		snprintf(t->path, sizeof t->path, "%s", pe->cgroup);
		struct rw_identity cgid;
		rw_identity_from_path(pe->cgroup, &cgid);
		memset(&t->identity, 0, sizeof t->identity);
		t->identity.kind = RW_KIND_PROCESS;
		snprintf(t->identity.runtime, sizeof t->identity.runtime, "process");
		snprintf(t->identity.id, sizeof t->identity.id, "%d", (int)pe->info.pid);
		snprintf(t->identity.name, sizeof t->identity.name, "%s", pe->info.comm);
		memcpy(t->identity.unit, cgid.unit, sizeof t->identity.unit);
		t->names_done = false;
		t->allow_gen = 0;
		if (created)
			t->first_seen_ns = a->step_now_real;
	}
	struct rw_cgstats cg = { .have = RW_CGS_CPU | RW_CGS_MEMORY | RW_CGS_MEMSTAT | RW_CGS_PIDS };
	cg.user_usec = pe->info.utime * 1000000ull / (uint64_t)hz;
	cg.system_usec = pe->info.stime * 1000000ull / (uint64_t)hz;
	cg.usage_usec = cg.user_usec + cg.system_usec;
	cg.memory_current = pe->info.rss_bytes;
	cg.anon = pe->info.anon_bytes;
	cg.file = pe->info.rss_bytes > pe->info.anon_bytes ? pe->info.rss_bytes - pe->info.anon_bytes : 0;
	cg.pids_current = pe->info.threads;

	struct rw_cgstats prev;
	uint64_t prev_mono;
	bool had_prev = remember_stats(a, t, &cg, &prev, &prev_mono);
	if (!had_prev) {
		queue_probe(a, t->id, "", pe->info.pid, pe->info.start_ticks);
		return 0;
	}
	uint64_t interval_us = (a->step_now_mono - prev_mono) / 1000;
	if (interval_us == 0)
		return 0;
	uint64_t cpu_usec = cg.usage_usec >= prev.usage_usec ? cg.usage_usec - prev.usage_usec : 0;
	bool busy = (int64_t)((cpu_usec << 16) / interval_us) >= a->cfg.attention_cpu_q16;

	struct rw_report_target *rt = begin_sample(a, t, interval_us, &cg, cpu_usec);
	if (!rt)
		return -ENOMEM;
	return conclude(a, t, rt, busy, "", pe->info.pid, pe->info.start_ticks);
}

/* Grow an array of `size`-byte items to hold one more. Returns 0 or -ENOMEM. */
static int grow(void **arr, unsigned n, unsigned *cap, size_t size)
{
	if (n < *cap)
		return 0;
	unsigned c = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, (size_t)c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static int fp_watch_cgroup(struct rw_agent *a, uint64_t id)
{
	if (grow((void **)&a->fp_cg, a->n_fp_cg, &a->fp_cg_cap, sizeof *a->fp_cg) < 0)
		return -ENOMEM;
	a->fp_cg[a->n_fp_cg++] = id;
	return 0;
}

static int fp_watch_pid(struct rw_agent *a, uint32_t pid)
{
	if (grow((void **)&a->fp_pids, a->n_fp_pids, &a->fp_pids_cap, sizeof *a->fp_pids) < 0)
		return -ENOMEM;
	a->fp_pids[a->n_fp_pids++] = pid;
	return 0;
}

/* v1: the eBPF program counts the processes of the target at dir (and below), as cgroup v2 ids say nothing there. */
static int fp_watch_v1(struct rw_agent *a, const char *dir)
{
	uint32_t pids[FP_V1_PIDS];
	unsigned n = subtree_pids(dir, pids, 0, FP_V1_PIDS, 0);
	for (unsigned i = 0; i < n; i++)
		if (fp_watch_pid(a, pids[i]) < 0)
			return -ENOMEM;
	return 0;
}

static int visit_structure(const struct rw_cgroup_entry *e, void *arg)
{
	struct rw_agent *a = arg;
	if (strlen(e->path) >= RW_CGROUP_PATH_MAX)
		return 0;
	int r = rw_procwatch_cgroup(a->procwatch, e->dir_fd, e->path);
	/* The eBPF path counts the tasks of such cgroups per process, so that their busy processes (targets of
	 * their own) have FP evidence too. */
	if (r > 0 && a->fpbpf && !a->v1 && a->n_proc_cg < RW_AGENT_PROC_CGROUPS)
		a->proc_cg[a->n_proc_cg++] = e->id;
	return r == -ENOMEM ? r : 0;
}

/* Hand the eBPF path this walk's watched set: the cgroup targets, the cgroups whose tasks are counted per process,
 * and the process targets among those tasks. The program ignores every other task. */
static void fp_watch(struct rw_agent *a)
{
	if (!a->fpbpf)
		return;
	struct rw_fpbpf_watch w = { .cgroups = a->fp_cg, .n_cgroups = a->n_fp_cg, .proc_cgroups = a->proc_cg,
				    .n_proc_cgroups = a->n_proc_cg, .pids = a->fp_pids, .n_pids = a->n_fp_pids };
	int r = rw_fpbpf_set_watch(a->fpbpf, &w);
	if (r < 0 && !a->fp_watch_error_logged) {
		rw_log_warn("agent", "eBPF watched set (%u cgroups, %u processes): %s; counting every task meanwhile",
			    a->n_fp_cg + a->n_proc_cg, a->n_fp_pids, strerror(-r));
		a->fp_watch_error_logged = true;
	} else if (r == 0) {
		a->fp_watch_error_logged = false;
	}
}

static bool is_known(uint64_t id, void *arg)
{
	struct rw_agent *a = arg;
	return rw_targets_find(a->targets, id) != NULL;
}

/* A busy target whose cgroup memory files cannot be read (on a hybrid host, a cgroup with no twin in the v1
 * memory hierarchy): its processes' memory from /proc instead, read every PROCSCAN_BUSY_EVERY intervals and
 * carried between. RandomX's footprint (its 256 MiB cache or 2 GiB dataset) must not vanish with a missing
 * controller. */
static void proc_memory(struct rw_agent *a, struct rw_target *t, const char *v2_dir, struct rw_cgstats *cg)
{
	if (!t->have_proc_mem || (a->seq + t->id) % PROCSCAN_BUSY_EVERY == 0) {
		char procs[RW_MOUNT_PATH_MAX + RW_CGROUP_PATH_MAX + 16];
		uint64_t anon, rss;
		snprintf(procs, sizeof procs, "%s/cgroup.procs", v2_dir);
		if (rw_proc_memory_of_cgroup(a->cfg.proc_root, procs, PROC_MEMORY_MAX_PIDS, &anon, &rss) > 0) {
			t->proc_anon = anon;
			t->proc_rss = rss;
			t->have_proc_mem = true;
		}
	}
	if (!t->have_proc_mem)
		return;
	cg->anon = t->proc_anon;
	if (!(cg->have & RW_CGS_MEMORY))
		cg->memory_current = t->proc_rss;
	cg->have |= RW_CGS_PROCMEM;
}

/* A v1 target without a cpuacct twin (Slurm without jobacct_gather/cgroup, or a name=systemd unit without
 * CPUAccounting): CPU from its processes' /proc/PID/stat, summed over the cgroup.procs of the directory and below.
 * A process that exits takes its time with it, so an interval with exits reads low (the delta is clamped at 0). */
static void proc_cpu(struct rw_agent *a, const char *dir, struct rw_cgstats *cg)
{
	static long hz;
	uint32_t pids[PROC_MEMORY_MAX_PIDS];
	char path[RW_CONFIG_PATH_LEN + 32], buf[1024];
	if (!hz && (hz = sysconf(_SC_CLK_TCK)) <= 0)
		hz = 100;
	unsigned n = subtree_pids(dir, pids, 0, PROC_MEMORY_MAX_PIDS, 0);
	uint64_t ut = 0, st = 0;
	for (unsigned i = 0; i < n; i++) {
		struct rw_proc_info pi;
		snprintf(path, sizeof path, "%s/%u/stat", a->cfg.proc_root[0] ? a->cfg.proc_root : "/proc", pids[i]);
		if (rw_read_small(AT_FDCWD, path, buf, sizeof buf) > 0 && rw_proc_parse_stat(buf, &pi) == 0) {
			ut += pi.utime;
			st += pi.stime;
		}
	}
	cg->user_usec = ut * 1000000ull / (uint64_t)hz;
	cg->system_usec = st * 1000000ull / (uint64_t)hz;
	cg->usage_usec = cg->user_usec + cg->system_usec;
	cg->have |= RW_CGS_CPU | RW_CGS_PROCCPU;
}

/* Read stats: the target's cgroup files, v2 and, on a hybrid host, the v1 twins, into *cg. Returns 0, or -ENOENT
 * when the cgroup vanished mid-read. */
static int read_stats(struct rw_agent *a, struct rw_target *t, const struct rw_cgroup_entry *e, const char *v2,
		      struct rw_cgstats *cg)
{
	char v1cpu[RW_MOUNT_PATH_MAX + RW_CGROUP_PATH_MAX];
	char v1acct[sizeof v1cpu], v1mem[sizeof v1cpu], v1pids[sizeof v1cpu];

	join_path(v1cpu, sizeof v1cpu, a->mounts.v1_cpu, e->path);
	join_path(v1acct, sizeof v1acct,
		      strcmp(a->mounts.v1_cpuacct, a->mounts.v1_cpu) ? a->mounts.v1_cpuacct : "", e->path);
	join_path(v1mem, sizeof v1mem, a->mounts.v1_memory, e->path);
	join_path(v1pids, sizeof v1pids, a->mounts.v1_pids, e->path);
	struct rw_cgstats_paths paths = {
		.v2_dir = v2,
		.v1_only = a->v1,
		.v2_fd = e->dir_fd,
		.v2_parent_fd = e->parent_fd,
		.v2_name = e->name,
		.v1_cpu_dir = v1cpu[0] ? v1cpu : NULL,
		.v1_cpuacct_dir = v1acct[0] ? v1acct : NULL,
		.v1_memory_dir = v1mem[0] ? v1mem : NULL,
		.v1_pids_dir = v1pids[0] ? v1pids : NULL,
		/* Look again for missing files now and then: a controller can be enabled later. */
		.missing = a->seq % CGFILES_RECHECK_EVERY ? t->cg_missing : 0,
		/* CPU pressure matters where CPU is used: one file less per idle target per interval. */
		.skip_psi = !t->was_busy || (a->seq + t->id) % PSI_EVERY != 0,
	};
	int r = rw_cgstats_read(&paths, cg);
	if (r < 0)
		return r;
	t->cg_missing = paths.missing;
	if (a->v1 && !(cg->have & RW_CGS_CPU))
		proc_cpu(a, v2, cg);

	if (paths.skip_psi && !(cg->have & RW_CGS_PSI) && (t->prev_cg.have & RW_CGS_PSI)) {
		cg->psi_some_avg10_x100 = t->prev_cg.psi_some_avg10_x100;
		cg->psi_some_total_usec = t->prev_cg.psi_some_total_usec;
		cg->have |= RW_CGS_PSI;
	}
	return 0;
}

/* Build sample: this interval's sample of a cgroup target from its stats and the previous reading, with memory
 * from /proc where the cgroup's memory files are missing and the throttling deltas. */
static struct rw_report_target *build_sample(struct rw_agent *a, struct rw_target *t, const char *v2,
					     const struct rw_cgstats *cg, const struct rw_cgstats *prev,
					     uint64_t interval_us, uint64_t cpu_usec, bool busy)
{
	struct rw_report_target *rt = begin_sample(a, t, interval_us, cg, cpu_usec);
	if (!rt)
		return NULL;
	struct rw_sample *s = &rt->sample;
	if (!(cg->have & RW_CGS_MEMSTAT) && busy)
		proc_memory(a, t, v2, &s->cg);
	if (cg->have & RW_CGS_THROTTLE) {
		s->throttled_usec = cg->throttled_usec >= prev->throttled_usec ? cg->throttled_usec - prev->throttled_usec : 0;
		s->nr_throttled = cg->nr_throttled >= prev->nr_throttled ? cg->nr_throttled - prev->nr_throttled : 0;
	}
	return rt;
}

/* Counters: read what was open during this interval, then decide for the next one (open for a busy target, close
 * after COUNTERS_IDLE_CLOSE idle intervals). */
static void sample_counters(struct rw_agent *a, struct rw_target *t, const struct rw_cgroup_entry *e,
			    struct rw_report_target *rt, bool busy)
{
	struct rw_sample *s = &rt->sample;

	if (t->perf_group) {
		uint64_t totals[RW_CTR_COUNT];
		uint32_t present = 0, ratio = 0;
		if (rw_pmu_group_read(t->perf_group, s->cpu_usec * 1000, totals, &present, &ratio) == 0) {
			for (int i = 0; i < RW_CTR_COUNT; i++) {
				s->counters_total[i] = totals[i];
				s->counters[i] = totals[i] >= t->prev_counters[i] ? totals[i] - t->prev_counters[i] : 0;
				t->prev_counters[i] = totals[i];
			}
			s->counters_present = present;
			s->counter_ratio_q16 = ratio;
			if (present & (1u << RW_CTR_INSTRUCTIONS))
				s->sources |= RW_SRC_BIT(RW_SRC_PMU);
		}
	}
	if (busy) {
		t->idle_intervals = 0;
		if (!t->perf_group)
			start_counters(a, t, e);
	} else if (t->perf_group && ++t->idle_intervals >= COUNTERS_IDLE_CLOSE) {
		stop_counters(a, t);
	}
	rt->counters_wanted = busy;
	rt->counters_denied = busy && t->counters_denied;
	if (rt->counters_denied)
		a->counters_denied_total++;
}

/* One target cgroup's interval: read stats, build the sample, counters, then FP evidence, indicators, score and
 * respond (conclude). */
static int visit(const struct rw_cgroup_entry *e, void *arg)
{
	struct rw_agent *a = arg;
	bool created;
	char v2[RW_MOUNT_PATH_MAX + RW_CGROUP_PATH_MAX];

	if (strlen(e->path) >= RW_CGROUP_PATH_MAX) {
		rw_log_warn("agent", "skipping cgroup with a path over %d bytes: %.80s...", RW_CGROUP_PATH_MAX - 1,
			    e->path);
		return 0;
	}
	if (a->only_cgroup[0] && strcmp(a->only_cgroup, e->path) != 0)
		return 0;
	struct rw_target *t;
	int r = rw_targets_get(a->targets, e->id, &t, &created);
	if (r < 0)
		return r;
	t->seen_seq = a->seq;
	if (a->fpbpf && !a->v1 && fp_watch_cgroup(a, e->id) < 0)
		return -ENOMEM;
	if (created || strcmp(t->path, e->path) != 0) {
		snprintf(t->path, sizeof t->path, "%s", e->path);
		if (e->identity)
			t->identity = *e->identity;
		else
			rw_identity_from_path(e->path, &t->identity); /* a known target whose cgroup was renamed */
		t->names_done = false;
		t->allow_gen = 0;
		if (created)
			t->first_seen_ns = a->step_now_real;
	}

	join_path(v2, sizeof v2, a->root, e->path);
	if (a->fpbpf && a->v1 && fp_watch_v1(a, v2) < 0)
		return -ENOMEM;
	if (stats_can_wait(a, t)) {
		uint64_t since_us = (a->step_now_mono - t->sample_time_ns) / 1000;
		t->sample_time_ns = a->step_now_mono;
		struct rw_report_target *rt = build_sample(a, t, v2, &t->prev_cg, &t->prev_cg, since_us ? since_us : 1, 0,
							  false);
		if (!rt)
			return -ENOMEM;
		sample_counters(a, t, e, rt, false);
		return conclude(a, t, rt, false, v2, 0, 0);
	}
	struct rw_cgstats cg;
	if (read_stats(a, t, e, v2, &cg) < 0) {
		t->seen_seq = 0; /* vanished mid-read: sweep it */
		return 0;
	}
	struct rw_cgstats prev;
	uint64_t prev_mono;
	bool had_prev = remember_stats(a, t, &cg, &prev, &prev_mono);
	if (!had_prev || !(cg.have & RW_CGS_CPU)) {
		/* A sample needs a previous reading to form deltas. A target seen for the first time goes to the FP
		 * probe all the same (it measures new targets' threads over its own short window): the first sample
		 * then already carries FP evidence, a second sooner to a verdict. */
		if (!had_prev && (cg.have & RW_CGS_CPU))
			queue_probe(a, t->id, v2, 0, 0);
		return 0;
	}

	uint64_t interval_us = (a->step_now_mono - prev_mono) / 1000;
	if (interval_us == 0)
		return 0;
	uint64_t cpu_usec = cg.usage_usec >= prev.usage_usec ? cg.usage_usec - prev.usage_usec : 0;
	int64_t cores_q16 = (int64_t)((cpu_usec << 16) / interval_us);
	bool busy = cores_q16 >= a->cfg.attention_cpu_q16;
	t->still_intervals = cores_q16 < STILL_CPU_Q16 ? t->still_intervals + 1 : 0;
	t->sample_time_ns = a->step_now_mono;

	struct rw_report_target *rt = build_sample(a, t, v2, &cg, &prev, interval_us, cpu_usec, busy);
	if (!rt)
		return -ENOMEM;
	sample_counters(a, t, e, rt, busy);
	return conclude(a, t, rt, busy, v2, 0, 0);
}

int rw_agent_step(struct rw_agent *a, const struct rw_report **report)
{
	const char *inc[RW_CONFIG_MAX_GLOBS], *exc[RW_CONFIG_MAX_GLOBS];
	struct rw_walk_stats ws;
	int r;

	a->seq++;
	a->step_now_real = rw_real_ns();
	a->step_now_mono = rw_mono_ns();
	a->report.n_targets = 0;
	a->n_busy = 0;
	rw_names_tick(a->names);
	if (a->fpbpf && (r = rw_fpbpf_refresh(a->fpbpf)) < 0 && !a->fpbpf_error_logged) {
		rw_log_warn("agent", "reading the eBPF FP counts: %s (no FP evidence while this lasts)", strerror(-r));
		a->fpbpf_error_logged = true;
	}
	for (unsigned i = 0; i < a->cfg.include.n; i++)
		inc[i] = a->cfg.include.items[i];
	for (unsigned i = 0; i < a->cfg.exclude.n; i++)
		exc[i] = a->cfg.exclude.items[i];

	rw_procwatch_begin(a->procwatch, a->step_now_mono);
	a->n_proc_cg = 1; /* proc_cg[0]: the root */
	a->n_fp_cg = a->n_fp_pids = 0;
	r = rw_cgroup_walk_all(a->root, inc, a->cfg.include.n, exc, a->cfg.exclude.n, is_known, visit,
			       a->only_cgroup[0] ? NULL : visit_structure, a, &ws);
	if (r < 0) {
		rw_log_error("agent", "walking %s: %s", a->root, strerror(-r));
		return r;
	}
	/* Busy processes outside every target cgroup, as targets of their own. */
	rw_procwatch_end(a->procwatch);
	unsigned pcur = 0;
	for (const struct rw_procwatch_entry *pe; (pe = rw_procwatch_next(a->procwatch, &pcur)) != NULL;) {
		if (a->fpbpf && fp_watch_pid(a, (uint32_t)pe->info.pid) < 0)
			return -ENOMEM;
		if ((r = visit_process(a, pe)) < 0)
			return r;
	}
	rw_targets_sweep(a->targets, a->seq, release_target, a);
	rw_fpprobe_set_targets(a->fpprobe, a->busy, a->n_busy);
	fp_watch(a);
	if (a->scoring)
		rw_scorer_expire(&a->scorer, a->step_now_real); /* targets not scored in this interval are gone */

	struct rw_report *rep = &a->report;
	rep->time_ns = a->step_now_real;
	rep->interval_seq = a->seq;
	rep->cgroups_seen = ws.dirs;
	rep->counter_fds = a->counter_fds;
	rep->counters_denied_total = a->counters_denied_total;
	if (a->respond)
		rw_respond_get_decisions(a->respond, rep->response_actions);
	if (a->alerts) {
		struct rw_alerts_stats as;
		rw_alerts_get_stats(a->alerts, &as);
		memcpy(rep->alerts_sent, as.sent, sizeof as.sent);
		memcpy(rep->alerts_dropped, as.dropped, sizeof as.dropped);
		memcpy(rep->alerts_failed, as.failed, sizeof as.failed);
	}
	if (a->fds_by_stat || a->seq % FD_COUNT_EVERY == 1)
		rep->open_fds = count_open_fds(&a->fds_by_stat);
	rw_procself_read(NULL, &rep->self);   /* on failure the last figures stay */
	rep->loop_duration_us = (rw_mono_ns() - a->step_now_mono) / 1000;
	if (a->fpbpf) {
		struct rw_fpbpf_stats bs;
		rw_fpbpf_stats(a->fpbpf, &bs);
		rep->fp_dropped_total = bs.dropped;
	}
	for (unsigned i = 0; i < rep->n_targets; i++) {
		rep->fpprobe_probes_total += rep->targets[i].sample.fp.probes;
		rep->fpprobe_failed_total += rep->targets[i].sample.fp.failed;
	}
	if (a->http)
		rw_http_publish(a->http, rep);
	*report = rep;
	return 0;
}

int rw_agent_run(struct rw_agent *a, volatile sig_atomic_t *stop, uint64_t max_intervals)
{
	struct timespec next;
	const struct rw_report *rep;
	uint64_t n = 0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!*stop) {
		if ((r = rw_agent_step(a, &rep)) < 0)
			return r;
		if (max_intervals && ++n >= max_intervals)
			break;
		/* Absolute deadlines: the interval does not drift by the work done in it. */
		uint64_t ns = (uint64_t)next.tv_nsec + (uint64_t)a->cfg.interval_ms * 1000000ull;
		next.tv_sec += (time_t)(ns / 1000000000ull);
		next.tv_nsec = (long)(ns % 1000000000ull);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
			next = now; /* fell behind (suspend, overload): start afresh, no burst of catch-up steps */
		while (!*stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			if (a->reload_flag && *a->reload_flag)
				break;
		if (!*stop && a->reload_flag && *a->reload_flag) {
			*a->reload_flag = 0;
			a->reload_fn(a, a->reload_arg);
			/* the interval goes on from where the reload left it: no sample over a shortened interval */
			while (!*stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
				if (a->reload_flag && *a->reload_flag)
					break;
		}
	}
	return 0;
}

void rw_agent_on_reload(struct rw_agent *a, volatile sig_atomic_t *flag, rw_reload_fn fn, void *arg)
{
	a->reload_flag = fn ? flag : NULL;
	a->reload_fn = fn;
	a->reload_arg = arg;
}

/* The files besides the configuration: into new objects, nothing shared with a running agent. */
static int load_files(const struct rw_config *cfg, bool model, struct rw_procscan_rules **rules,
		      struct rw_model **m, char *err, size_t errlen)
{
	int r;
	*rules = NULL;
	*m = NULL;
	if (cfg->procscan_enabled && rw_procscan_rules_load(rules, cfg->procscan_rules, err, errlen) < 0)
		return -EINVAL;
	if (model) {
		if (!(*m = calloc(1, sizeof **m))) {
			rw_procscan_rules_free(*rules);
			*rules = NULL;
			snprintf(err, errlen, "model: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
		if ((r = rw_model_load(*m, cfg->model_file, err, errlen)) < 0) {
			rw_procscan_rules_free(*rules);
			free(*m);
			*rules = NULL;
			*m = NULL;
			return r;
		}
	}
	return 0;
}

int rw_agent_check_files(const struct rw_config *cfg, char *err, size_t errlen)
{
	struct rw_procscan_rules *rules;
	struct rw_model *m;
	int r = load_files(cfg, true, &rules, &m, err, errlen);
	rw_procscan_rules_free(rules);
	free(m);
	return r;
}

/* The settings a reload applies; all others wait for a restart. */
static void take_live(struct rw_config *dst, const struct rw_config *src)
{
	dst->include = src->include;
	dst->exclude = src->exclude;
	dst->interval_ms = src->interval_ms;
	memcpy(dst->log_level, src->log_level, sizeof dst->log_level);
	memcpy(dst->kube_containers_dir, src->kube_containers_dir, sizeof dst->kube_containers_dir);
	dst->verdict_enter_k = src->verdict_enter_k;
	dst->verdict_enter_n = src->verdict_enter_n;
	dst->verdict_leave_m = src->verdict_leave_m;
	dst->suspect_threshold_q16 = src->suspect_threshold_q16;
	dst->mining_threshold_q16 = src->mining_threshold_q16;
	memcpy(dst->model_file, src->model_file, sizeof dst->model_file);
	dst->procscan_enabled = src->procscan_enabled;
	memcpy(dst->procscan_rules, src->procscan_rules, sizeof dst->procscan_rules);
	dst->allow = src->allow;
}

/* "section.key" of the printed lines of `want` that `have` lacks: the settings a reload left for a restart. */
static void restart_keys(const struct rw_config *have, const struct rw_config *want, char *buf, size_t len)
{
	char *ht = NULL, *wt = NULL;
	size_t hl = 0, wl = 0, o = 0;
	FILE *h = open_memstream(&ht, &hl), *w = open_memstream(&wt, &wl);
	buf[0] = '\0';
	if (h && w) {
		rw_config_print(have, h);
		rw_config_print(want, w);
	}
	if (h)
		fclose(h);
	if (w)
		fclose(w);
	if (ht && wt) {
		char section[32] = "";
		for (char *save = NULL, *line = strtok_r(wt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (line[0] == '[') {
				snprintf(section, sizeof section, "%.*s", (int)strcspn(line + 1, "]"), line + 1);
				continue;
			}
			/* a line of `want` found nowhere in `have` (keys are unique within a section in this output) */
			char *at = strstr(ht, line);
			bool whole = at && (at == ht || at[-1] == '\n') && (at[strlen(line)] == '\n' || !at[strlen(line)]);
			if (whole || o + 2 >= len)
				continue;
			o += (size_t)snprintf(buf + o, len - o, "%s%s.%.*s", o ? ", " : "", section,
					      (int)strcspn(line, " ="), line);
			if (o >= len)
				o = len - 1;
		}
	}
	free(ht);
	free(wt);
}

void rw_agent_reload_failed(struct rw_agent *a)
{
	a->report.config_reload_ok = false;
}

int rw_agent_reload(struct rw_agent *a, const struct rw_config *cfg, char *err, size_t errlen)
{
	struct rw_procscan_rules *rules;
	struct rw_model *m;
	struct rw_names *names = NULL;
	int r;

	a->report.config_reload_ok = false;
	if ((r = load_files(cfg, a->scoring, &rules, &m, err, errlen)) < 0)
		return r;
	if (strcmp(cfg->kube_containers_dir, a->cfg.kube_containers_dir) != 0 &&
	    (r = rw_names_new(&names, a->cfg.kube_pods_dir, cfg->kube_containers_dir)) < 0) {
		rw_procscan_rules_free(rules);
		free(m);
		snprintf(err, errlen, "names: %s", strerror(-r));
		return r;
	}

	/* Everything loaded: swap. */
	struct rw_config *merged = malloc(sizeof *merged);
	char later[1024] = "";
	if (merged) {
		*merged = a->cfg;
		take_live(merged, cfg);
		restart_keys(merged, cfg, later, sizeof later);
		free(merged);
	}
	take_live(&a->cfg, cfg);
	if (a->scoring) {
		free(a->model);
		a->model = m;
		a->scorer.model = m;
	}
	rw_procscan_rules_free(a->rules);
	a->rules = rules;
	if (rules)
		a->report.sources_available |= RW_SRC_BIT(RW_SRC_INDICATORS);
	else
		a->report.sources_available &= ~RW_SRC_BIT(RW_SRC_INDICATORS);
	if (names) {
		rw_names_free(a->names);
		a->names = names;
	}
	enum rw_log_level lvl;
	if (rw_log_parse_level(a->cfg.log_level, &lvl) == 0)
		rw_log_set_level(lvl);
	a->report.interval_ms = a->cfg.interval_ms;
	/* every target looks its names and [allow] rule up again */
	a->allow_gen++;
	unsigned cur = 0;
	for (struct rw_target *t; (t = rw_targets_next(a->targets, &cur)) != NULL;)
		t->names_done = false;
	a->report.config_reload_ok = true;
	a->report.config_reload_success_ns = rw_clock_ns(CLOCK_REALTIME);
	if (later[0])
		rw_log_warn("agent", "reload: changed settings that take effect at the next restart: %s", later);
	return 0;
}
