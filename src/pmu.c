/* pmu: per-cgroup counting with perf_event_open in cgroup mode, events encoded by libpfm4.
 *
 * libpfm4 only knows what CPUID (or /proc/cpuinfo on ARM) says; in a VM without a vPMU it happily encodes events
 * that the kernel will never count. So every encoded event is also probed with perf_event_open on this process
 * (pid 0, cpu -1) and only what the kernel accepts is opened per cgroup. Software events are encoded by hand as
 * PERF_TYPE_SOFTWARE: libpfm4's perf:: PMU disappears under LIBPFM_FORCE_PMU, and they must count everywhere.
 *
 * libpfm4 is needed only while the table is encoded, in rw_pmu_init: it is loaded with dlopen and closed again
 * before rw_pmu_init returns, and what `rigwatch events` shows of it is copied. Linked in for good, the
 * relocated pointers of its PMU tables alone kept 2.4 MB of the agent resident. Where the library cannot be
 * loaded the agent counts software events only, as on a host without a PMU, and says why. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>

#include "rigwatch/cgroups.h"
#include "rigwatch/log.h"
#include "rigwatch/pmu.h"

#define PMU_MAX_HW      16   /* events in one table; the largest has 8 */
#define PMU_MAX_GROUPS  8    /* table groups */
#define PMU_MAX_MEMBERS 8    /* events in one perf group: no PMU counts more at once; the tables use 5 */
#define PMU_N_SW        3

#define READ_FORMAT (PERF_FORMAT_GROUP | PERF_FORMAT_ID | PERF_FORMAT_TOTAL_TIME_ENABLED | \
		     PERF_FORMAT_TOTAL_TIME_RUNNING)

struct pmu_event {
	enum rw_counter_role role;
	const char *name;
	unsigned group;
	enum rw_event_status status;
	int error;                  /* errno (probe) or libpfm4 code (encoding) */
	char encode_error[160];     /* pfm_strerror(error) for RW_EV_ENCODE_FAILED */
	struct perf_event_attr attr;
};

#define PMU_MAX_LISTED  48   /* PMUs shown by `rigwatch events` */

/* What rw_pmu_report shows of libpfm4, copied while it is loaded. */
struct pfm_pmu_seen {
	char name[32];
	char desc[96];
	pfm_pmu_type_t type;
	int counters, fixed, events;
};

struct rw_pmu {
	char core_name[64];         /* libpfm4 core PMU, "none" */
	int pfm_version;            /* pfm_get_version(), -1 when the library could not be loaded */
	char pfm_init_msg[160];     /* pfm_initialize's result, or why the library did not load */
	unsigned n_listed;
	struct pfm_pmu_seen listed[PMU_MAX_LISTED];
	const struct rw_event_table *table;
	bool table_requested;       /* named by the caller rather than detected */
	unsigned n_hw;
	struct pmu_event hw[PMU_MAX_HW];
	struct pmu_event sw[PMU_N_SW];
	unsigned ncpu;
	int *cpus;                  /* online CPU numbers */
	bool hw_available;
	char hw_reason[256];
	bool cgroup_permitted;
	int cgroup_error;           /* errno of the cgroup-mode probe, 0 if it worked */
	char cgroup_root[PATH_MAX];
	uint32_t warned_groups;     /* hardware groups refused in cgroup mode, logged once each */
};

/* One perf group on one CPU. */
struct pmu_cpu_group {
	int leader;                 /* -1: not opened on this CPU */
	unsigned n;
	int fds[PMU_MAX_MEMBERS];
	uint64_t ids[PMU_MAX_MEMBERS];
	uint8_t roles[PMU_MAX_MEMBERS];
	bool ran;                   /* enabled time moved at the last read: the cgroup was scheduled on this CPU */
	unsigned read_seq;          /* the rw_pmu_group_read call that last read it */
	uint64_t enabled, running;  /* as of the last read */
	uint64_t raw[PMU_MAX_MEMBERS]; /* member counts as of the last read, by member index */
};

struct rw_pmu_group {
	struct rw_pmu *pmu;
	unsigned ncpu, per_cpu;     /* per_cpu = table groups + 1 software group (last) */
	unsigned nfds;
	uint32_t present;
	unsigned reads;             /* rw_pmu_group_read calls */
	uint64_t leader_reads;      /* read(2) calls on leaders */
	struct pmu_cpu_group g[];   /* ncpu * per_cpu, CPU-major */
};

/* Every so many reads, every CPU's groups are read, also those the cgroup did not run on. */
#define FULL_READ_EVERY 8

static const struct {
	enum rw_counter_role role;
	const char *name;
	uint64_t config;
} sw_defs[PMU_N_SW] = {
	{ RW_CTR_TASK_CLOCK, "task-clock", PERF_COUNT_SW_TASK_CLOCK },
	{ RW_CTR_CONTEXT_SWITCHES, "context-switches", PERF_COUNT_SW_CONTEXT_SWITCHES },
	{ RW_CTR_PAGE_FAULTS, "page-faults", PERF_COUNT_SW_PAGE_FAULTS },
};

/* "hardware counters unavailable" is said once per process, however often a pmu is set up. */
static int hw_unavailable_logged;

/* The libpfm4 calls rigwatch makes, resolved from the library while it is loaded (pfm_load .. pfm_unload, under
 * pfm_mu: the library keeps global state). */
static struct {
	void *handle;
	__typeof__(pfm_initialize) *initialize;
	__typeof__(pfm_terminate) *terminate;
	__typeof__(pfm_get_os_event_encoding) *get_os_event_encoding;
	__typeof__(pfm_get_pmu_info) *get_pmu_info;
	__typeof__(pfm_strerror) *strerror;
	__typeof__(pfm_get_version) *get_version;
} pfm;
static pthread_mutex_t pfm_mu = PTHREAD_MUTEX_INITIALIZER;

static void pfm_unload(void)
{
	if (pfm.handle) {
		if (pfm.terminate)
			pfm.terminate();
		dlclose(pfm.handle);
	}
	memset(&pfm, 0, sizeof pfm);
	pthread_mutex_unlock(&pfm_mu);
}

/* Load libpfm4 and run pfm_initialize (which reads LIBPFM_FORCE_PMU and friends). Returns its result, or
 * PFM_ERR_NOTSUPP with *why set when the library is missing. Always pair with pfm_unload. */
static int pfm_load(char *why, size_t len)
{
	pthread_mutex_lock(&pfm_mu);
	memset(&pfm, 0, sizeof pfm);
	pfm.handle = dlopen("libpfm.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!pfm.handle) {
		snprintf(why, len, "libpfm4 not loaded (%s)", dlerror());
		return PFM_ERR_NOTSUPP;
	}
	/* POSIX's way to convert dlsym's object pointer to a function pointer */
	*(void **)&pfm.initialize = dlsym(pfm.handle, "pfm_initialize");
	*(void **)&pfm.terminate = dlsym(pfm.handle, "pfm_terminate");
	*(void **)&pfm.get_os_event_encoding = dlsym(pfm.handle, "pfm_get_os_event_encoding");
	*(void **)&pfm.get_pmu_info = dlsym(pfm.handle, "pfm_get_pmu_info");
	*(void **)&pfm.strerror = dlsym(pfm.handle, "pfm_strerror");
	*(void **)&pfm.get_version = dlsym(pfm.handle, "pfm_get_version");
	if (!pfm.initialize || !pfm.terminate || !pfm.get_os_event_encoding || !pfm.get_pmu_info || !pfm.strerror ||
	    !pfm.get_version) {
		snprintf(why, len, "libpfm4 lacks a function rigwatch needs (%s)", dlerror());
		dlclose(pfm.handle);
		pfm.handle = NULL;
		return PFM_ERR_NOTSUPP;
	}
	int r = pfm.initialize();
	snprintf(why, len, "%s", pfm.strerror(r));
	return r;
}

static int sys_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
			       unsigned long flags)
{
	long r = syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
	return r < 0 ? -errno : (int)r;
}

uint64_t rw_pmu_scale(uint64_t raw, uint64_t enabled, uint64_t running)
{
	if (running == 0)
		return 0;
	if (running >= enabled)
		return raw;     /* never multiplexed (or clock skew): nothing to extrapolate */
	unsigned __int128 v = (unsigned __int128)raw * enabled / running;
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/* "0-3,6,8-9" -> list. */
static int parse_cpu_list(const char *s, int **out, unsigned *n)
{
	int *cpus = NULL;
	unsigned cnt = 0, cap = 0;
	const char *p = s;

	while (*p && *p != '\n') {
		char *end;
		long a = strtol(p, &end, 10), b;
		if (end == p || a < 0)
			goto bad;
		b = a;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			if (end == p + 1 || b < a)
				goto bad;
			p = end;
		}
		for (long c = a; c <= b; c++) {
			if (cnt == cap) {
				unsigned ncap = cap ? cap * 2 : 16;
				int *np = realloc(cpus, ncap * sizeof *np);
				if (!np) {
					free(cpus);
					return -ENOMEM;
				}
				cpus = np;
				cap = ncap;
			}
			cpus[cnt++] = (int)c;
		}
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			goto bad;
	}
	if (cnt == 0)
		goto bad;
	*out = cpus;
	*n = cnt;
	return 0;
bad:
	free(cpus);
	return -EINVAL;
}

static int online_cpus(int **out, unsigned *n)
{
	char buf[4096];
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	int ret = -ENOENT;

	if (f) {
		if (fgets(buf, sizeof buf, f))
			ret = parse_cpu_list(buf, out, n);
		fclose(f);
	}
	if (ret == 0 || ret == -ENOMEM)
		return ret;
	/* No sysfs (odd containers): assume CPUs 0..n-1 are online. */
	long cnt = sysconf(_SC_NPROCESSORS_ONLN);
	if (cnt < 1)
		cnt = 1;
	int *cpus = calloc((size_t)cnt, sizeof *cpus);
	if (!cpus)
		return -ENOMEM;
	for (long i = 0; i < cnt; i++)
		cpus[i] = (int)i;
	*out = cpus;
	*n = (unsigned)cnt;
	return 0;
}

int rw_pmu_cgroup_root(const char *mountinfo, char *buf, size_t len)
{
	struct rw_cgroup_mounts m;
	char err[256];
	/* Zeroed first: a mountinfo that cannot be read leaves m as it was (-ENOENT from the parser, no cgroup2 mount,
	 * still fills in a v1 perf_event hierarchy). */
	memset(&m, 0, sizeof m);
	int r = rw_cgroup_mounts_detect(mountinfo, &m, err, sizeof err);
	/* A v1 perf_event hierarchy takes the controller away from v2: v2 directories then give ENOENT. */
	const char *root = m.v1_perf_event[0] ? m.v1_perf_event : m.v2;
	if (r < 0 && r != -ENOENT)
		return r;
	if (!root[0])
		return -ENOENT;
	if (strlen(root) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, root);
	return 0;
}

static enum rw_event_status classify_open_error(int err)
{
	if (err == EACCES || err == EPERM)
		return RW_EV_NO_PERMISSION;
	return RW_EV_REJECTED;  /* ENOENT/EOPNOTSUPP/ENODEV (no PMU or event), EINVAL (bad config), others */
}

/* Ask the kernel whether it counts this event at all, on this process. */
static void probe_event(struct pmu_event *ev)
{
	struct perf_event_attr a = ev->attr;
	a.disabled = 1;
	a.read_format = 0;
	int fd = sys_perf_event_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		ev->status = RW_EV_OK;
		ev->error = 0;
	} else {
		ev->status = classify_open_error(-fd);
		ev->error = -fd;
	}
}

static int encode_event(struct pmu_event *ev)
{
	pfm_perf_encode_arg_t arg;

	memset(&ev->attr, 0, sizeof ev->attr);
	memset(&arg, 0, sizeof arg);
	arg.attr = &ev->attr;
	arg.size = sizeof arg;
	int r = pfm.get_os_event_encoding(ev->name, PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT, &arg);
	ev->attr.size = sizeof ev->attr;
	return r;
}

/* The core PMU libpfm4 detected (or was forced to) that has a table; else the first core PMU without one. The
 * PMUs present are copied for rw_pmu_report. */
static const struct rw_event_table *detect_core(struct rw_pmu *pmu)
{
	const struct rw_event_table *found = NULL;
	char *name = pmu->core_name;
	size_t len = sizeof pmu->core_name;
	pfm_pmu_t p;

	snprintf(name, len, "none");
	pfm_for_all_pmus(p) {
		pfm_pmu_info_t pi;
		memset(&pi, 0, sizeof pi);
		pi.size = sizeof pi;
		if (pfm.get_pmu_info(p, &pi) != PFM_SUCCESS || !pi.is_present)
			continue;
		if (pmu->n_listed < PMU_MAX_LISTED) {
			struct pfm_pmu_seen *l = &pmu->listed[pmu->n_listed++];
			snprintf(l->name, sizeof l->name, "%s", pi.name ? pi.name : "?");
			snprintf(l->desc, sizeof l->desc, "%s", pi.desc ? pi.desc : "");
			l->type = pi.type;
			l->counters = pi.num_cntrs;
			l->fixed = pi.num_fixed_cntrs;
			l->events = pi.nevents;
		}
		if (found || pi.type != PFM_PMU_TYPE_CORE)
			continue;
		const struct rw_event_table *c = rw_events_table_for_pmu(pi.name);
		if (c) {
			snprintf(name, len, "%s", pi.name);
			found = c;
		} else if (strcmp(name, "none") == 0) {
			snprintf(name, len, "%s", pi.name);   /* e.g. ix86arch, or a PMU we have no table for */
		}
	}
	return found;
}

static int read_paranoid(void)
{
	int v = INT_MIN;
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = INT_MIN;
		fclose(f);
	}
	return v;
}

static void explain_hw(struct rw_pmu *pmu)
{
	const struct pmu_event *bad = NULL;

	for (unsigned i = 0; i < pmu->n_hw; i++) {
		const struct pmu_event *ev = &pmu->hw[i];
		if ((ev->role == RW_CTR_INSTRUCTIONS || ev->role == RW_CTR_CYCLES) && ev->status != RW_EV_OK) {
			bad = ev;
			break;
		}
	}
	if (!bad) {
		if (pmu->n_hw == 0)
			snprintf(pmu->hw_reason, sizeof pmu->hw_reason, "table %s has no events", pmu->table->pmu);
		else
			pmu->hw_available = true;
		return;
	}
	if (pmu->pfm_version < 0) {
		snprintf(pmu->hw_reason, sizeof pmu->hw_reason, "%s", pmu->pfm_init_msg);
		return;
	}
	char core[96];
	if (strcmp(pmu->core_name, "none") == 0)
		snprintf(core, sizeof core, "no core PMU known to libpfm4");
	else
		snprintf(core, sizeof core, "core PMU %s", pmu->core_name);
	switch (bad->status) {
	case RW_EV_ENCODE_FAILED:
		snprintf(pmu->hw_reason, sizeof pmu->hw_reason, "%s; libpfm4 cannot encode %s (%.60s)", core, bad->name,
			 bad->encode_error);
		break;
	case RW_EV_NO_PERMISSION:
		snprintf(pmu->hw_reason, sizeof pmu->hw_reason,
			 "%s; perf_event_open of %s not permitted (%s, perf_event_paranoid=%d)", core, bad->name,
			 strerror(bad->error), read_paranoid());
		break;
	default:
		snprintf(pmu->hw_reason, sizeof pmu->hw_reason,
			 "%s; the kernel rejects %s (%s: no PMU driver or no vPMU in this VM)", core, bad->name,
			 strerror(bad->error));
		break;
	}
}

/* Per-CPU events on a cgroup need CAP_PERFMON/CAP_SYS_ADMIN or a low perf_event_paranoid: try one. */
static void probe_cgroup_mode(struct rw_pmu *pmu, const char *cgroup_root)
{
	int r = 0;
	if (!cgroup_root)
		r = rw_pmu_cgroup_root("/proc/self/mountinfo", pmu->cgroup_root, sizeof pmu->cgroup_root);
	else if ((size_t)snprintf(pmu->cgroup_root, sizeof pmu->cgroup_root, "%s", cgroup_root) >= sizeof pmu->cgroup_root)
		r = -ENAMETOOLONG;
	if (r < 0) {
		pmu->cgroup_error = -r;
		snprintf(pmu->cgroup_root, sizeof pmu->cgroup_root, "(no cgroup mount)");
		return;
	}
	int cfd = open(pmu->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		pmu->cgroup_error = errno;
		return;
	}
	struct perf_event_attr a = pmu->sw[0].attr;
	a.disabled = 1;
	int fd = sys_perf_event_open(&a, cfd, pmu->cpus[0], -1, PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC);
	close(cfd);
	if (fd >= 0) {
		close(fd);
		pmu->cgroup_permitted = true;
		pmu->cgroup_error = 0;
	} else {
		pmu->cgroup_error = -fd;
	}
}

int rw_pmu_init(struct rw_pmu **out, const char *table_name)
{
	return rw_pmu_init_at(out, table_name, NULL);
}

int rw_pmu_init_at(struct rw_pmu **out, const char *table_name, const char *cgroup_root)
{
	struct rw_pmu *pmu;
	int ret;

	*out = NULL;
	pmu = calloc(1, sizeof *pmu);
	if (!pmu)
		return -ENOMEM;
	ret = online_cpus(&pmu->cpus, &pmu->ncpu);
	if (ret < 0) {
		free(pmu);
		return ret;
	}
	int pfm_ret = pfm_load(pmu->pfm_init_msg, sizeof pmu->pfm_init_msg);
	pmu->pfm_version = pfm.handle ? pfm.get_version() : -1;

	const struct rw_event_table *detected = NULL;
	if (pfm_ret == PFM_SUCCESS)
		detected = detect_core(pmu);
	else
		snprintf(pmu->core_name, sizeof pmu->core_name, "none");
	if (table_name && table_name[0] && strcmp(table_name, "auto") != 0) {
		pmu->table = rw_events_table_for_pmu(table_name);
		if (!pmu->table) {
			rw_log_error("pmu", "unknown event table \"%s\"", table_name);
			ret = -EINVAL;
			goto fail;
		}
		pmu->table_requested = true;
	} else {
		pmu->table = detected ? detected : rw_events_generic();
	}

	if (pmu->table->n_events > PMU_MAX_HW || pmu->table->n_groups > PMU_MAX_GROUPS) {
		ret = -EINVAL;
		goto fail;
	}
	unsigned members[PMU_MAX_GROUPS] = { 0 };
	for (unsigned i = 0; i < pmu->table->n_events; i++) {
		unsigned k = pmu->table->events[i].group;
		if (k >= pmu->table->n_groups || ++members[k] > PMU_MAX_MEMBERS) {
			rw_log_error("pmu", "event table %s: group %u is out of range or has more than %d events",
				     pmu->table->pmu, k, PMU_MAX_MEMBERS);
			ret = -EINVAL;
			goto fail;
		}
	}
	pmu->n_hw = pmu->table->n_events;
	for (unsigned i = 0; i < pmu->n_hw; i++) {
		struct pmu_event *ev = &pmu->hw[i];
		const struct rw_event_def *d = &pmu->table->events[i];
		ev->role = d->role;
		ev->name = d->name;
		ev->group = d->group;
		int r = pfm_ret == PFM_SUCCESS ? encode_event(ev) : pfm_ret;
		if (r != PFM_SUCCESS) {
			ev->status = RW_EV_ENCODE_FAILED;
			ev->error = r;
			snprintf(ev->encode_error, sizeof ev->encode_error, "%s",
				 pfm.handle ? pfm.strerror(r) : pmu->pfm_init_msg);
			continue;
		}
		probe_event(ev);
	}
	for (unsigned i = 0; i < PMU_N_SW; i++) {
		struct pmu_event *ev = &pmu->sw[i];
		ev->role = sw_defs[i].role;
		ev->name = sw_defs[i].name;
		ev->group = pmu->table->n_groups;
		ev->attr.size = sizeof ev->attr;
		ev->attr.type = PERF_TYPE_SOFTWARE;
		ev->attr.config = sw_defs[i].config;
		probe_event(ev);
	}
	explain_hw(pmu);
	pfm_unload();
	probe_cgroup_mode(pmu, cgroup_root);

	if (!pmu->hw_available && __atomic_exchange_n(&hw_unavailable_logged, 1, __ATOMIC_RELAXED) == 0)
		rw_log_info("pmu", "hardware counters unavailable (%s): counting software events only",
			    pmu->hw_reason);
	if (!pmu->cgroup_permitted)
		rw_log_warn("pmu", "cgroup-mode perf events not permitted on %s (%s): no per-cgroup counters",
			    pmu->cgroup_root, strerror(pmu->cgroup_error));
	rw_log_debug("pmu", "core PMU %s, table %s, %u online CPUs, %u fds per target", pmu->core_name,
		     pmu->table->pmu, pmu->ncpu, rw_pmu_fds_per_group(pmu));
	*out = pmu;
	return 0;
fail:
	pfm_unload();
	free(pmu->cpus);
	free(pmu);
	return ret;
}

void rw_pmu_free(struct rw_pmu *pmu)
{
	if (!pmu)
		return;
	free(pmu->cpus);
	free(pmu);
}

const char *rw_pmu_core_name(const struct rw_pmu *pmu) { return pmu->core_name; }
const struct rw_event_table *rw_pmu_table(const struct rw_pmu *pmu) { return pmu->table; }
bool rw_pmu_hw_available(const struct rw_pmu *pmu) { return pmu->hw_available; }
const char *rw_pmu_hw_reason(const struct rw_pmu *pmu) { return pmu->hw_reason; }
bool rw_pmu_cgroup_permitted(const struct rw_pmu *pmu) { return pmu->cgroup_permitted; }
unsigned rw_pmu_ncpus(const struct rw_pmu *pmu) { return pmu->ncpu; }

unsigned rw_pmu_fds_per_group(const struct rw_pmu *pmu)
{
	unsigned n = 0;
	for (unsigned i = 0; i < pmu->n_hw; i++)
		n += pmu->hw[i].status == RW_EV_OK;
	for (unsigned i = 0; i < PMU_N_SW; i++)
		n += pmu->sw[i].status == RW_EV_OK;
	return n * pmu->ncpu;
}

static void fill_info(const struct pmu_event *ev, struct rw_pmu_event_info *o)
{
	o->role = ev->role;
	o->name = ev->name;
	o->status = ev->status;
	o->error = ev->error;
	o->type = ev->status == RW_EV_ENCODE_FAILED ? 0 : ev->attr.type;
	o->config = ev->status == RW_EV_ENCODE_FAILED ? 0 : ev->attr.config;
	o->config1 = ev->status == RW_EV_ENCODE_FAILED ? 0 : ev->attr.config1;
}

unsigned rw_pmu_events(const struct rw_pmu *pmu, struct rw_pmu_event_info *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < pmu->n_hw; i++, n++)
		if (n < max)
			fill_info(&pmu->hw[i], &out[n]);
	for (unsigned i = 0; i < PMU_N_SW; i++, n++)
		if (n < max)
			fill_info(&pmu->sw[i], &out[n]);
	return n;
}

static void close_cpu_group(struct pmu_cpu_group *cg)
{
	/* Members first, then the leader: closing a leader first would promote members to singletons. */
	for (unsigned i = cg->n; i-- > 0;)
		if (cg->fds[i] >= 0)
			close(cg->fds[i]);
	cg->n = 0;
	cg->leader = -1;
}

/* Open the accepted events of one group (hardware group index, or the software set) on one CPU. */
static int open_cpu_group(struct pmu_event *evs, unsigned nev, unsigned group, int cgroup_fd, int cpu,
			  struct pmu_cpu_group *cg)
{
	cg->leader = -1;
	cg->n = 0;
	for (unsigned i = 0; i < nev; i++) {
		struct pmu_event *ev = &evs[i];
		if (ev->group != group || ev->status != RW_EV_OK)
			continue;
		if (cg->n == PMU_MAX_MEMBERS)
			break;
		struct perf_event_attr a = ev->attr;
		a.size = sizeof a;
		a.read_format = READ_FORMAT;
		a.disabled = cg->leader < 0;    /* the leader starts disabled; members follow it */
		a.inherit = 0;
		/* Every member gets the cgroup fd and flag too: the kernel rejects a member watching another cgroup,
		 * and a pid=-1 member would only count by grace of its leader (notes §1.6). */
		int fd = sys_perf_event_open(&a, cgroup_fd, cpu, cg->leader,
					     PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			close_cpu_group(cg);
			return fd;
		}
		uint64_t id = 0;
		if (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)
			id = UINT64_MAX;
		if (cg->leader < 0)
			cg->leader = fd;
		cg->fds[cg->n] = fd;
		cg->ids[cg->n] = id;
		cg->roles[cg->n] = (uint8_t)ev->role;
		cg->n++;
	}
	return 0;
}

static bool fatal_open_error(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM;
}

int rw_pmu_group_open(struct rw_pmu *pmu, int cgroup_fd, struct rw_pmu_group **out)
{
	struct rw_pmu_group *g;
	unsigned ngrp = pmu->table->n_groups;
	unsigned per_cpu = ngrp + 1;
	uint32_t opened_everywhere[PMU_MAX_GROUPS + 1];
	int ret = 0;

	*out = NULL;
	g = calloc(1, sizeof *g + (size_t)pmu->ncpu * per_cpu * sizeof g->g[0]);
	if (!g)
		return -ENOMEM;
	g->pmu = pmu;
	g->ncpu = pmu->ncpu;
	g->per_cpu = per_cpu;
	for (unsigned i = 0; i < pmu->ncpu * per_cpu; i++)
		g->g[i].leader = -1;
	for (unsigned k = 0; k < per_cpu; k++)
		opened_everywhere[k] = 1;

	for (unsigned c = 0; c < pmu->ncpu; c++) {
		struct pmu_cpu_group *row = &g->g[c * per_cpu];
		int cpu = pmu->cpus[c];

		/* Software first: if even task-clock will not open, the cgroup (or our right to watch it) is gone. */
		ret = open_cpu_group(pmu->sw, PMU_N_SW, ngrp, cgroup_fd, cpu, &row[ngrp]);
		if (ret < 0)
			goto fail;              /* -ENODEV: the CPU went offline since rw_pmu_init */
		for (unsigned k = 0; k < ngrp; k++) {
			ret = open_cpu_group(pmu->hw, pmu->n_hw, k, cgroup_fd, cpu, &row[k]);
			if (ret == 0) {
				if (row[k].leader < 0)
					opened_everywhere[k] = 0;
				continue;
			}
			if (fatal_open_error(-ret))
				goto fail;
			/* Accepted per task but refused per cgroup (a group too big for the counters, a hybrid CPU
			 * without this PMU): count the rest. */
			opened_everywhere[k] = 0;
			if (!(__atomic_fetch_or(&pmu->warned_groups, 1u << k, __ATOMIC_RELAXED) & (1u << k)))
				rw_log_warn("pmu", "event group %u of table %s refused in cgroup mode on CPU %d (%s); "
					    "counting without it", k, pmu->table->pmu, cpu, strerror(-ret));
			ret = 0;
		}
	}

	for (unsigned k = 0; k <= ngrp; k++) {
		if (!opened_everywhere[k])
			continue;
		const struct pmu_event *evs = k == ngrp ? pmu->sw : pmu->hw;
		unsigned nev = k == ngrp ? PMU_N_SW : pmu->n_hw;
		for (unsigned i = 0; i < nev; i++)
			if (evs[i].group == k && evs[i].status == RW_EV_OK)
				g->present |= RW_CTR_BIT(evs[i].role);
	}
	for (unsigned i = 0; i < g->ncpu * per_cpu; i++) {
		struct pmu_cpu_group *cg = &g->g[i];
		g->nfds += cg->n;
		if (cg->leader < 0)
			continue;
		if (ioctl(cg->leader, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP) < 0 ||
		    ioctl(cg->leader, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) < 0) {
			ret = -errno;
			goto fail;
		}
	}
	*out = g;
	return 0;
fail:
	rw_pmu_group_close(g);
	return ret;
}

void rw_pmu_group_close(struct rw_pmu_group *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->ncpu * g->per_cpu; i++)
		close_cpu_group(&g->g[i]);
	free(g);
}

unsigned rw_pmu_group_fds(const struct rw_pmu_group *g) { return g->nfds; }

/* running/enabled as Q16.16, at most 1.0; times are cumulative ns, so running << 16 can pass 2^64 after 78 h. */
static uint32_t ratio_q16(uint64_t running, uint64_t enabled)
{
	if (running >= enabled)
		return 65536u;
	while (running > (UINT64_MAX >> 16)) {
		running >>= 1;
		enabled >>= 1;
	}
	return (uint32_t)((running << 16) / enabled);
}

static int member_index(const struct pmu_cpu_group *cg, uint64_t id, unsigned pos)
{
	if (pos < cg->n && cg->ids[pos] == id)
		return (int)pos;        /* the kernel reports members in the order they joined */
	for (unsigned i = 0; i < cg->n; i++)
		if (cg->ids[i] == id)
			return (int)i;
	return -1;
}

/* Read one CPU group into its cache. */
static int read_cpu_group(struct rw_pmu_group *g, struct pmu_cpu_group *cg)
{
	uint64_t buf[3 + 2 * PMU_MAX_MEMBERS];
	ssize_t n = read(cg->leader, buf, sizeof buf);
	g->leader_reads++;
	if (n < 0)
		return -errno;
	if (n < 3 * (ssize_t)sizeof(uint64_t) || buf[0] > cg->n || (size_t)n < (3 + 2 * buf[0]) * sizeof(uint64_t))
		return -EIO;
	cg->ran = buf[1] != cg->enabled;
	cg->enabled = buf[1];
	cg->running = buf[2];
	for (unsigned m = 0; m < buf[0]; m++) {
		int idx = member_index(cg, buf[4 + 2 * m], m);
		if (idx >= 0)
			cg->raw[idx] = buf[3 + 2 * m];
	}
	cg->read_seq = g->reads;
	return 0;
}

/* The cgroup's task-clock on one CPU as of the last read (the software group is last in the row). */
static uint64_t row_task_clock(const struct rw_pmu_group *g, const struct pmu_cpu_group *row)
{
	const struct pmu_cpu_group *sw = &row[g->per_cpu - 1];
	for (unsigned i = 0; i < sw->n; i++)
		if (sw->roles[i] == RW_CTR_TASK_CLOCK)
			return sw->raw[i];
	return 0;
}

static bool row_ran(const struct rw_pmu_group *g, const struct pmu_cpu_group *row)
{
	for (unsigned k = 0; k < g->per_cpu; k++)
		if (row[k].ran)
			return true;
	return false;
}

static int read_row(struct rw_pmu_group *g, struct pmu_cpu_group *row)
{
	for (unsigned k = 0; k < g->per_cpu; k++) {
		if (row[k].leader < 0)
			continue;
		int r = read_cpu_group(g, &row[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Each read costs a system call per CPU per group, and reading a group active on another CPU an interrupt
 * there: the part of the agent's cost that grows with the CPU count. A busy cgroup with a thread or two runs on
 * one or two CPUs of sixteen between two reads (tools/bench/perfread), and the counts of the other CPUs have
 * not moved. So only the CPUs it ran on at their last read are read, then the rest only if the task-clock read
 * falls short of the CPU time the cgroup used (cpu_ns, from cpu.stat) by more than 1/16, and every
 * FULL_READ_EVERY reads regardless. A count deferred so is not lost: totals are cumulative and catch up at the
 * next read of that CPU. */
int rw_pmu_group_read(struct rw_pmu_group *g, uint64_t cpu_ns, uint64_t totals[RW_CTR_COUNT], uint32_t *present,
		      uint32_t *min_ratio_q16)
{
	uint32_t ratio = 65536;
	bool full = g->reads % FULL_READ_EVERY == 0 || cpu_ns == 0 || !(g->present & RW_CTR_BIT(RW_CTR_TASK_CLOCK));
	uint64_t covered = 0;
	bool skipped = false;
	int r;

	g->reads++;
	for (unsigned c = 0; c < g->ncpu; c++) {
		struct pmu_cpu_group *row = &g->g[c * g->per_cpu];
		if (!full && !row_ran(g, row)) {
			skipped = true;
			continue;
		}
		uint64_t before = row_task_clock(g, row);
		if ((r = read_row(g, row)) < 0)
			return r;
		covered += row_task_clock(g, row) - before;
	}
	if (skipped && covered < cpu_ns - cpu_ns / 16) {
		for (unsigned c = 0; c < g->ncpu; c++) {
			struct pmu_cpu_group *row = &g->g[c * g->per_cpu];
			if (row[g->per_cpu - 1].read_seq != g->reads && (r = read_row(g, row)) < 0)
				return r;
		}
	}

	memset(totals, 0, RW_CTR_COUNT * sizeof totals[0]);
	for (unsigned i = 0; i < g->ncpu * g->per_cpu; i++) {
		const struct pmu_cpu_group *cg = &g->g[i];
		if (cg->leader < 0)
			continue;
		if (cg->enabled > 0) {
			/* Q16.16 of running/enabled; enabled only advances while the cgroup runs on this CPU. */
			uint32_t q = ratio_q16(cg->running, cg->enabled);
			if (q < ratio)
				ratio = q;
		}
		for (unsigned m = 0; m < cg->n; m++) {
			unsigned role = cg->roles[m];
			if (!(g->present & RW_CTR_BIT(role)))
				continue;       /* not open on every CPU: a partial sum would mislead */
			uint64_t v = rw_pmu_scale(cg->raw[m], cg->enabled, cg->running);
			totals[role] = totals[role] > UINT64_MAX - v ? UINT64_MAX : totals[role] + v;
		}
	}
	if (present)
		*present = g->present;
	if (min_ratio_q16)
		*min_ratio_q16 = ratio;
	return 0;
}

uint64_t rw_pmu_group_leader_reads(const struct rw_pmu_group *g) { return g->leader_reads; }

static const char *status_name(enum rw_event_status s)
{
	switch (s) {
	case RW_EV_OK: return "ok";
	case RW_EV_ENCODE_FAILED: return "encode failed";
	case RW_EV_REJECTED: return "kernel rejected";
	case RW_EV_NO_PERMISSION: return "no permission";
	}
	return "?";
}

static const char *pmu_type_name(pfm_pmu_type_t t)
{
	switch (t) {
	case PFM_PMU_TYPE_CORE: return "core";
	case PFM_PMU_TYPE_UNCORE: return "uncore";
	case PFM_PMU_TYPE_OS_GENERIC: return "os-generic";
	default: return "unknown";
	}
}

static void report_event(FILE *out, const struct pmu_event *ev, const char *group)
{
	char why[160] = "";

	if (ev->status == RW_EV_ENCODE_FAILED)
		snprintf(why, sizeof why, " (%.150s)", ev->encode_error);
	else if (ev->status != RW_EV_OK)
		snprintf(why, sizeof why, " (%s)", strerror(ev->error));
	if (ev->status == RW_EV_ENCODE_FAILED)
		fprintf(out, "  %-22s %-5s %-60s %-40s %s%s\n", rw_counter_role_name(ev->role), group, ev->name, "-",
			status_name(ev->status), why);
	else {
		char enc[96];
		snprintf(enc, sizeof enc, "type=%u config=0x%llx config1=0x%llx", ev->attr.type,
			 (unsigned long long)ev->attr.config, (unsigned long long)ev->attr.config1);
		fprintf(out, "  %-22s %-5s %-60s %-40s %s%s\n", rw_counter_role_name(ev->role), group, ev->name, enc,
			status_name(ev->status), why);
	}
}

void rw_pmu_report(const struct rw_pmu *pmu, FILE *out)
{
	const char *force = getenv("LIBPFM_FORCE_PMU");
	int v = pmu->pfm_version;

	if (v >= 0)
		fprintf(out, "libpfm4: API version %d.%d (pfm_get_version; the library cannot report its release), "
			"pfm_initialize: %s\n", PFM_MAJ_VERSION(v), PFM_MIN_VERSION(v), pmu->pfm_init_msg);
	else
		fprintf(out, "libpfm4: %s\n", pmu->pfm_init_msg);
	if (force && force[0])
		fprintf(out, "LIBPFM_FORCE_PMU=%s: only that PMU is active\n", force);
	fprintf(out, "PMUs present:\n");
	for (unsigned i = 0; i < pmu->n_listed; i++) {
		const struct pfm_pmu_seen *l = &pmu->listed[i];
		fprintf(out, "  %-24s type=%-10s counters=%d fixed=%d events=%d  %s\n", l->name, pmu_type_name(l->type),
			l->counters, l->fixed, l->events, l->desc);
	}
	if (pmu->n_listed == 0)
		fprintf(out, "  (none)\n");
	fprintf(out, "core PMU: %s\n", pmu->core_name);
	fprintf(out, "event table: %s (%s; %s)\n", pmu->table->pmu, pmu->table->description,
		pmu->table_requested ? "requested" : "detected");
	fprintf(out, "  %-22s %-5s %-60s %-40s %s\n", "role", "group", "event", "encoding", "status");
	for (unsigned i = 0; i < pmu->n_hw; i++) {
		char grp[8];
		snprintf(grp, sizeof grp, "%u", pmu->hw[i].group);
		report_event(out, &pmu->hw[i], grp);
	}
	fprintf(out, "software events (always counted):\n");
	for (unsigned i = 0; i < PMU_N_SW; i++)
		report_event(out, &pmu->sw[i], "sw");
	fprintf(out, "hardware counters: %s%s%s\n", pmu->hw_available ? "available" : "unavailable",
		pmu->hw_available ? "" : " - ", pmu->hw_reason);
	fprintf(out, "cgroup-mode counting: %s (probe on %s, CPU %d%s%s)\n",
		pmu->cgroup_permitted ? "permitted" : "NOT permitted", pmu->cgroup_root, pmu->cpus[0],
		pmu->cgroup_error ? ": " : "", pmu->cgroup_error ? strerror(pmu->cgroup_error) : "");
	fprintf(out, "online CPUs: %u (", pmu->ncpu);
	for (unsigned i = 0; i < pmu->ncpu; i++)
		fprintf(out, "%s%d", i ? "," : "", pmu->cpus[i]);
	fprintf(out, "); file descriptors per watched cgroup: %u\n", rw_pmu_fds_per_group(pmu));
}
