/* fpbpf: the eBPF FP path on the real kernel. Children in real cgroup2 directories set MXCSR and sleep briefly,
 * so they are switched out often; the program's counts must show what they did. Every failure of the load path
 * is forced for real: missing BTF, a file that is not BTF, a program the verifier refuses, no capabilities, a
 * full counts map. Needs root, kernel BTF and a cgroup2 mount; otherwise the tests say skipped. */
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "rigwatch/cgroups.h"
#include "rigwatch/fpbpf.h"
#include "rw_test.h"

#define WAIT_MS 30000 /* generous: the machine is shared and may run this under valgrind */

#if defined(RW_HAVE_BPF)

struct cg {
	char path[PATH_MAX];
	uint64_t id;
	pid_t child;
};

static char cg_root[RW_MOUNT_PATH_MAX];

static bool bpf_tests_possible(void)
{
	struct rw_cgroup_mounts m;
	char err[256];
	if (geteuid() != 0) {
		printf("\n  (skipped: not root)\n");
		return false;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		printf("\n  (skipped: no kernel BTF at /sys/kernel/btf/vmlinux)\n");
		return false;
	}
	if (rw_cgroup_mounts_detect("/proc/self/mountinfo", &m, err, sizeof err) < 0 || !m.v2[0]) {
		printf("\n  (skipped: no cgroup2 mount)\n");
		return false;
	}
	snprintf(cg_root, sizeof cg_root, "%s", m.v2);
	return true;
}

/* The child's loop: set each MXCSR value in turn and sleep 200 us after each, so every value is what the kernel
 * saves at the next switch. */
static void child_loop(const uint32_t *csr, unsigned n) __attribute__((noreturn));
static void child_loop(const uint32_t *csr, unsigned n)
{
	rw_test_child_detach();
	for (unsigned i = 0;; i++) {
		_mm_setcsr(csr[i % n]);
		volatile double x = 1.0;
		for (int k = 0; k < 2000; k++)
			x = x * 1.0000001 + 1e-9;
		usleep(200);
	}
}

static int cg_start(struct cg *c, const char *tag, const uint32_t *csr, unsigned n)
{
	struct stat st;
	snprintf(c->path, sizeof c->path, "%s/rwtest.%d.fpbpf.%s", cg_root, (int)getpid(), tag);
	if (mkdir(c->path, 0755) != 0 && errno != EEXIST)
		return -errno;
	if (stat(c->path, &st) != 0)
		return -errno;
	c->id = st.st_ino;
	int pfd[2];
	if (pipe(pfd) != 0)
		return -errno;
	c->child = fork();
	if (c->child == 0) {
		char b;
		close(pfd[1]);
		/* Its first control value before it joins the cgroup: every observation there is one the test set. */
		_mm_setcsr(csr[0]);
		if (read(pfd[0], &b, 1) != 1) /* wait until we are in the cgroup */
			_exit(1);
		child_loop(csr, n);
	}
	close(pfd[0]);
	char procs[PATH_MAX + 16], pid[16];
	snprintf(procs, sizeof procs, "%s/cgroup.procs", c->path);
	snprintf(pid, sizeof pid, "%d", (int)c->child);
	FILE *f = fopen(procs, "w");
	int r = f && fputs(pid, f) >= 0 && fclose(f) == 0 ? 0 : -EIO;
	if (!f)
		r = -errno;
	if (write(pfd[1], "x", 1) != 1)
		r = -EIO;
	close(pfd[1]);
	return r;
}

static void cg_stop(struct cg *c)
{
	if (c->child > 0) {
		kill(c->child, SIGKILL);
		waitpid(c->child, NULL, 0);
		c->child = -1;
	}
	for (int i = 0; i < 50 && rmdir(c->path) != 0 && errno == EBUSY; i++)
		usleep(20000);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void add(struct rw_fp_evidence *acc, const struct rw_fp_evidence *e)
{
	acc->path = e->path ? e->path : acc->path;
	acc->probes += e->probes;
	for (int m = 0; m < 4; m++)
		acc->mode_obs[m] += e->mode_obs[m];
	acc->ftz_daz_obs += e->ftz_daz_obs;
	acc->pairs += e->pairs;
	acc->changes += e->changes;
	acc->threads = e->threads > acc->threads ? e->threads : acc->threads;
	acc->modes_union |= e->modes_union;
	acc->ftz_daz |= e->ftz_daz;
	if (e->max_thread_modes > acc->max_thread_modes)
		acc->max_thread_modes = e->max_thread_modes;
	if (e->max_thread_nondefault > acc->max_thread_nondefault)
		acc->max_thread_nondefault = e->max_thread_nondefault;
	if (e->probes)
		acc->last_control = e->last_control;
}

static const uint32_t rx_csr[4] = { 0x9fc0, 0xbfc0, 0xdfc0, 0xffc0 }; /* FTZ+DAZ, all four modes */
static const uint32_t plain_csr[1] = { 0x1f80 };                     /* the ABI default */

/* Refresh every 100 ms until `done` says the accumulated evidence is enough, or the bound passes. */
static bool gather(struct rw_fpbpf *b, bool by_process, uint64_t id, struct rw_fp_evidence *acc,
		   bool (*done)(const struct rw_fp_evidence *))
{
	memset(acc, 0, sizeof *acc);
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end;) {
		struct rw_fp_evidence e;
		usleep(100000);
		if (rw_fpbpf_refresh(b) < 0)
			return false;
		int r = by_process ? rw_fpbpf_collect_process(b, (uint32_t)id, &e) : rw_fpbpf_collect_cgroup(b, id, &e);
		if (r == 0)
			add(acc, &e);
		if (done(acc))
			return true;
	}
	return false;
}

static bool all_modes(const struct rw_fp_evidence *e)
{
	return e->max_thread_modes == 4 && e->changes > 0 && e->probes >= 40;
}

static bool enough_obs(const struct rw_fp_evidence *e)
{
	return e->probes >= 40;
}

static void test_observe_modes(void)
{
	if (!bpf_tests_possible())
		return;
	struct rw_fpbpf *b = NULL;
	char why[256] = "";
	int r = rw_fpbpf_open(&b, NULL, why, sizeof why);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	if (r)
		printf("\n  open: %s\n", why);
	struct cg rx = { .child = -1 }, plain = { .child = -1 };
	CU_ASSERT_EQUAL(cg_start(&rx, "rx", rx_csr, 4), 0);
	CU_ASSERT_EQUAL(cg_start(&plain, "plain", plain_csr, 1), 0);

	struct rw_fp_evidence e;
	CU_ASSERT_TRUE(gather(b, false, rx.id, &e, all_modes));
	CU_ASSERT_EQUAL(e.path, RW_FP_PATH_BPF);
	CU_ASSERT_EQUAL(e.modes_union, 0xf);
	CU_ASSERT_EQUAL(e.max_thread_modes, 4);
	CU_ASSERT_EQUAL(e.max_thread_nondefault, 3);
	for (int m = 0; m < 4; m++)
		CU_ASSERT_TRUE(e.mode_obs[m] > 0);
	CU_ASSERT_EQUAL(e.mode_obs[0] + e.mode_obs[1] + e.mode_obs[2] + e.mode_obs[3], e.probes);
	/* every value the child set has both; a switch before its first ldmxcsr (it was just placed in the cgroup)
	 * shows the default control word: seen once in 255 on a loaded machine */
	CU_ASSERT(e.ftz_daz_obs <= e.probes && e.probes - e.ftz_daz_obs <= 2);
	if (e.ftz_daz_obs != e.probes)
		printf("\n  ftz_daz_obs %u of %u, modes %u %u %u %u, last 0x%x\n", e.ftz_daz_obs, e.probes, e.mode_obs[0],
		       e.mode_obs[1], e.mode_obs[2], e.mode_obs[3], e.last_control);
	CU_ASSERT_EQUAL(e.ftz_daz, 1);
	CU_ASSERT_TRUE(e.threads >= 1);
	printf("\n  (rx: %u obs, %u threads, %u pairs, %u changes, last 0x%x)\n", e.probes, e.threads, e.pairs, e.changes, e.last_control);
	CU_ASSERT_TRUE(e.pairs > 0 && e.changes > 0 && e.changes <= e.pairs);
	CU_ASSERT_EQUAL(e.last_control & 0x9fc0, 0x9fc0);
	CU_ASSERT_EQUAL(e.failed, 0);

	CU_ASSERT_TRUE(gather(b, false, plain.id, &e, enough_obs));
	CU_ASSERT_EQUAL(e.modes_union, 1);
	CU_ASSERT_EQUAL(e.mode_obs[0], e.probes);
	CU_ASSERT_EQUAL(e.max_thread_modes, 1);
	CU_ASSERT_EQUAL(e.max_thread_nondefault, 0);
	CU_ASSERT_EQUAL(e.changes, 0);
	CU_ASSERT_EQUAL(e.ftz_daz_obs, 0);
	CU_ASSERT_EQUAL(e.ftz_daz, 0);
	CU_ASSERT_EQUAL(e.last_control & ~0x3fu, 0x1f80); /* exception flags are sticky */

	/* A vanished target leaves nothing behind: the next intervals have no entry for it. */
	cg_stop(&rx);
	rw_fpbpf_refresh(b);
	rw_fpbpf_refresh(b);
	CU_ASSERT_EQUAL(rw_fpbpf_collect_cgroup(b, rx.id, &e), -ENOENT);
	CU_ASSERT_EQUAL(e.probes, 0);
	cg_stop(&plain);
	rw_fpbpf_close(b);
}

/* Tasks of a per-process cgroup are counted by process; the cgroup itself gets nothing. */
static void test_per_process_cgroup(void)
{
	if (!bpf_tests_possible())
		return;
	struct rw_fpbpf *b = NULL;
	char why[256];
	CU_ASSERT_EQUAL_FATAL(rw_fpbpf_open(&b, NULL, why, sizeof why), 0);
	struct cg rx = { .child = -1 };
	CU_ASSERT_EQUAL(cg_start(&rx, "proc", rx_csr, 4), 0);
	uint32_t pid = (uint32_t)rx.child;
	struct rw_fpbpf_watch w = { .proc_cgroups = &rx.id, .n_proc_cgroups = 1, .pids = &pid, .n_pids = 1 };
	CU_ASSERT_EQUAL(rw_fpbpf_set_watch(b, &w), 0);
	rw_fpbpf_refresh(b);

	struct rw_fp_evidence e;
	CU_ASSERT_TRUE(gather(b, true, (uint64_t)rx.child, &e, all_modes));
	CU_ASSERT_EQUAL(e.path, RW_FP_PATH_BPF);
	CU_ASSERT_EQUAL(e.modes_union, 0xf);
	CU_ASSERT_EQUAL(rw_fpbpf_collect_cgroup(b, rx.id, &e), -ENOENT);

	/* Back to per-cgroup counting once the set has it as a target cgroup. */
	w = (struct rw_fpbpf_watch){ .cgroups = &rx.id, .n_cgroups = 1 };
	CU_ASSERT_EQUAL(rw_fpbpf_set_watch(b, &w), 0);
	rw_fpbpf_refresh(b);
	CU_ASSERT_TRUE(gather(b, false, rx.id, &e, enough_obs));
	CU_ASSERT_EQUAL(rw_fpbpf_collect_process(b, (uint32_t)rx.child, &e), -ENOENT);
	cg_stop(&rx);
	rw_fpbpf_close(b);
}

/* Only the watched set is counted: a cgroup that is no target, and a process of a per-process cgroup that is no
 * target of its own, leave no entry, while the watched ones in the same intervals do. A set larger than the maps
 * is refused and everything is counted again. */
static void test_watched_only(void)
{
	if (!bpf_tests_possible())
		return;
	struct rw_fpbpf *b = NULL;
	struct rw_fpbpf_opts o = { .max_targets = 64 };
	char why[256];
	CU_ASSERT_EQUAL_FATAL(rw_fpbpf_open(&b, &o, why, sizeof why), 0);
	struct cg tgt = { .child = -1 }, other = { .child = -1 }, pa = { .child = -1 }, pb = { .child = -1 };
	CU_ASSERT_EQUAL(cg_start(&tgt, "tgt", rx_csr, 4), 0);
	CU_ASSERT_EQUAL(cg_start(&other, "other", rx_csr, 4), 0);
	CU_ASSERT_EQUAL(cg_start(&pa, "pa", rx_csr, 4), 0);
	CU_ASSERT_EQUAL(cg_start(&pb, "pb", rx_csr, 4), 0);
	uint64_t procs[2] = { pa.id, pb.id };
	uint32_t pid = (uint32_t)pa.child;
	struct rw_fpbpf_watch w = { .cgroups = &tgt.id, .n_cgroups = 1, .proc_cgroups = procs, .n_proc_cgroups = 2,
				    .pids = &pid, .n_pids = 1 };
	CU_ASSERT_EQUAL(rw_fpbpf_set_watch(b, &w), 0);
	CU_ASSERT_EQUAL(rw_fpbpf_set_watch(b, &w), 0); /* unchanged: nothing to write */
	rw_fpbpf_refresh(b);

	struct rw_fp_evidence et = { 0 }, ep = { 0 }, e;
	unsigned unwatched = 0;
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end && !(enough_obs(&et) && enough_obs(&ep));) {
		usleep(100000);
		CU_ASSERT_TRUE_FATAL(rw_fpbpf_refresh(b) >= 0);
		if (rw_fpbpf_collect_cgroup(b, tgt.id, &e) == 0)
			add(&et, &e);
		if (rw_fpbpf_collect_process(b, (uint32_t)pa.child, &e) == 0)
			add(&ep, &e);
		unwatched += rw_fpbpf_collect_cgroup(b, other.id, &e) == 0;
		unwatched += rw_fpbpf_collect_cgroup(b, pa.id, &e) == 0;
		unwatched += rw_fpbpf_collect_cgroup(b, pb.id, &e) == 0;
		unwatched += rw_fpbpf_collect_process(b, (uint32_t)pb.child, &e) == 0;
		unwatched += rw_fpbpf_collect_process(b, (uint32_t)other.child, &e) == 0;
	}
	CU_ASSERT_TRUE(enough_obs(&et));
	CU_ASSERT_TRUE(enough_obs(&ep));
	CU_ASSERT_EQUAL(et.modes_union, 0xf);
	CU_ASSERT_EQUAL(ep.modes_union, 0xf);
	CU_ASSERT_EQUAL(unwatched, 0);

	/* The other process becomes a target, the first one leaves: the counts follow. */
	pid = (uint32_t)pb.child;
	CU_ASSERT_EQUAL(rw_fpbpf_set_watch(b, &w), 0);
	rw_fpbpf_refresh(b);
	CU_ASSERT_TRUE(gather(b, true, (uint64_t)pb.child, &e, enough_obs));
	CU_ASSERT_EQUAL(rw_fpbpf_collect_process(b, (uint32_t)pa.child, &e), -ENOENT);

	/* Larger than the maps: refused, and every task is counted again (here: the cgroup that was no target). */
	uint64_t many[65];
	for (unsigned i = 0; i < 65; i++)
		many[i] = i + 1;
	w = (struct rw_fpbpf_watch){ .cgroups = many, .n_cgroups = 65 };
	CU_ASSERT_EQUAL(rw_fpbpf_set_watch(b, &w), -E2BIG);
	rw_fpbpf_refresh(b);
	CU_ASSERT_TRUE(gather(b, false, other.id, &e, enough_obs));
	cg_stop(&tgt);
	cg_stop(&other);
	cg_stop(&pa);
	cg_stop(&pb);
	rw_fpbpf_close(b);
}

/* v1-only hosts: tasks counted per process whatever their cgroup (here one outside every watched set), only
 * the watched pids once a set is given, and per cgroup again when switched off. */
static void test_all_per_process(void)
{
	if (!bpf_tests_possible())
		return;
	struct rw_fpbpf *b = NULL;
	char why[256];
	CU_ASSERT_EQUAL_FATAL(rw_fpbpf_open(&b, NULL, why, sizeof why), 0);
	struct cg rx = { .child = -1 }, other = { .child = -1 };
	CU_ASSERT_EQUAL(cg_start(&rx, "allproc", rx_csr, 4), 0);
	CU_ASSERT_EQUAL(cg_start(&other, "allother", rx_csr, 4), 0);
	rw_fpbpf_all_per_process(b, true);
	rw_fpbpf_refresh(b);
	struct rw_fp_evidence e;
	CU_ASSERT_TRUE(gather(b, true, (uint64_t)rx.child, &e, all_modes));
	CU_ASSERT_EQUAL(e.modes_union, 0xf);
	CU_ASSERT_EQUAL(rw_fpbpf_collect_cgroup(b, rx.id, &e), -ENOENT);

	/* a watched set of pids: the other process is no longer counted */
	uint32_t pid = (uint32_t)rx.child;
	struct rw_fpbpf_watch w = { .pids = &pid, .n_pids = 1 };
	CU_ASSERT_EQUAL(rw_fpbpf_set_watch(b, &w), 0);
	rw_fpbpf_refresh(b);
	CU_ASSERT_TRUE(gather(b, true, (uint64_t)rx.child, &e, enough_obs));
	CU_ASSERT_EQUAL(rw_fpbpf_collect_process(b, (uint32_t)other.child, &e), -ENOENT);

	rw_fpbpf_all_per_process(b, false);
	w = (struct rw_fpbpf_watch){ .cgroups = &rx.id, .n_cgroups = 1 };
	CU_ASSERT_EQUAL(rw_fpbpf_set_watch(b, &w), 0);
	rw_fpbpf_refresh(b);
	CU_ASSERT_TRUE(gather(b, false, rx.id, &e, enough_obs));
	cg_stop(&rx);
	cg_stop(&other);
	rw_fpbpf_close(b);
}

/* Two processes' evidence summed as one v1 target's. */
static void test_evidence_add(void)
{
	struct rw_fp_evidence sum = { 0 };
	struct rw_fp_evidence a = { .path = RW_FP_PATH_BPF, .modes_union = 0x3, .max_thread_modes = 2,
				    .max_thread_nondefault = 1, .probes = 10, .mode_obs = { 5, 5, 0, 0 }, .pairs = 8,
				    .changes = 4, .threads = 2, .last_control = 0x1f80 };
	struct rw_fp_evidence b = { .path = RW_FP_PATH_BPF, .modes_union = 0xc, .max_thread_modes = 3,
				    .max_thread_nondefault = 3, .ftz_daz = 1, .probes = 30, .mode_obs = { 0, 0, 10, 20 },
				    .ftz_daz_obs = 3, .pairs = 20, .changes = 19, .threads = 1, .last_control = 0x7f80 };
	struct rw_fp_evidence none = { 0 };
	rw_fp_evidence_add(&sum, &a);
	rw_fp_evidence_add(&sum, &none); /* a process with nothing observed changes nothing */
	rw_fp_evidence_add(&sum, &b);
	CU_ASSERT_EQUAL(sum.probes, 40);
	CU_ASSERT_EQUAL(sum.mode_obs[0] + sum.mode_obs[1] + sum.mode_obs[2] + sum.mode_obs[3], 40);
	CU_ASSERT_EQUAL(sum.modes_union, 0xf);
	CU_ASSERT_EQUAL(sum.max_thread_modes, 3);
	CU_ASSERT_EQUAL(sum.max_thread_nondefault, 3);
	CU_ASSERT_EQUAL(sum.pairs, 28);
	CU_ASSERT_EQUAL(sum.changes, 23);
	CU_ASSERT_EQUAL(sum.threads, 3);
	CU_ASSERT_EQUAL(sum.ftz_daz, 1);
	CU_ASSERT_EQUAL(sum.ftz_daz_obs, 3);
	CU_ASSERT_EQUAL(sum.last_control, 0x7f80); /* the busier process's */
	CU_ASSERT_EQUAL(sum.path, RW_FP_PATH_BPF);
}

/* A counts map smaller than the active targets: observations of the rest are dropped and counted, refresh
 * never returns more than the map holds, and the program keeps running. */
static void test_map_full(void)
{
	if (!bpf_tests_possible())
		return;
	struct rw_fpbpf *b = NULL;
	struct rw_fpbpf_opts o = { .max_targets = 2 };
	char why[256];
	CU_ASSERT_EQUAL_FATAL(rw_fpbpf_open(&b, &o, why, sizeof why), 0);
	struct cg c[4];
	for (int i = 0; i < 4; i++) {
		char tag[16];
		snprintf(tag, sizeof tag, "full%d", i);
		c[i].child = -1;
		CU_ASSERT_EQUAL(cg_start(&c[i], tag, plain_csr, 1), 0);
	}
	struct rw_fpbpf_stats st = { 0 };
	bool dropped = false;
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end && !dropped;) {
		usleep(100000);
		int n = rw_fpbpf_refresh(b);
		if (n < 0 || n > 2)
			printf("  refresh: %d\n", n);
		CU_ASSERT_TRUE(n >= 0 && n <= 2);
		rw_fpbpf_stats(b, &st);
		dropped = st.dropped > 0;
	}
	CU_ASSERT_TRUE(dropped);
	CU_ASSERT_TRUE(st.prog_id > 0);
	for (int i = 0; i < 4; i++)
		cg_stop(&c[i]);
	rw_fpbpf_close(b);
}

static void test_missing_btf(void)
{
	if (!bpf_tests_possible())
		return;
	struct rw_fpbpf *b = (struct rw_fpbpf *)&b;
	struct rw_fpbpf_opts o = { .btf_path = "/nonexistent/vmlinux.btf" };
	char why[256] = "";
	CU_ASSERT_EQUAL(rw_fpbpf_open(&b, &o, why, sizeof why), -ENOENT);
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "/nonexistent/vmlinux.btf"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "BTF"));
}

/* A file that exists but is not BTF: the CO-RE relocation step fails, the load is refused cleanly. */
static void test_bad_btf(void)
{
	if (!bpf_tests_possible())
		return;
	char path[] = "/tmp/rwtest.fpbpf.btf.XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "not BTF at all\n", 15), 15);
	close(fd);
	struct rw_fpbpf *b = NULL;
	struct rw_fpbpf_opts o = { .btf_path = path };
	char why[256] = "";
	int r = rw_fpbpf_open(&b, &o, why, sizeof why);
	CU_ASSERT_TRUE(r < 0);
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_TRUE(why[0] != '\0');
	unlink(path);
}

static void test_verifier_reject(void)
{
	if (!bpf_tests_possible())
		return;
	struct rw_fpbpf *b = NULL;
	struct rw_fpbpf_opts o = { .test_reject = true };
	char why[256] = "";
	int r = rw_fpbpf_open(&b, &o, why, sizeof why);
	CU_ASSERT_TRUE(r == -EACCES || r == -EINVAL);
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "verifier"));
	printf("\n  (%s)\n", why);
	/* and a normal load right after works: nothing was left half-loaded */
	CU_ASSERT_EQUAL(rw_fpbpf_open(&b, NULL, why, sizeof why), 0);
	rw_fpbpf_close(b);
}

/* Without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (dropped in a child, as an unprivileged container would run):
 * -EPERM and a reason naming the capabilities. */
static void test_no_permission(void)
{
	if (!bpf_tests_possible())
		return;
	int pfd[2];
	CU_ASSERT_FATAL(pipe(pfd) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		char msg[300];
		int r = -1;
		if (syscall(SYS_capget, &h, d) == 0) {
			for (int i = 0; i < 2; i++) {
				unsigned drop[] = { CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN };
				for (unsigned k = 0; k < 3; k++)
					if (drop[k] / 32 == (unsigned)i) {
						d[i].effective &= ~(1u << (drop[k] % 32));
						d[i].permitted &= ~(1u << (drop[k] % 32));
					}
			}
			if (syscall(SYS_capset, &h, d) == 0) {
				struct rw_fpbpf *b = NULL;
				char why[256] = "";
				r = rw_fpbpf_open(&b, NULL, why, sizeof why);
				rw_fpbpf_close(b);
				snprintf(msg, sizeof msg, "%d %s", r, why);
			} else {
				snprintf(msg, sizeof msg, "capset: %s", strerror(errno));
			}
		} else {
			snprintf(msg, sizeof msg, "capget: %s", strerror(errno));
		}
		ssize_t w = write(pfd[1], msg, strlen(msg) + 1);
		_exit(w > 0 ? 0 : 1);
	}
	close(pfd[1]);
	char buf[300] = "";
	ssize_t n = read(pfd[0], buf, sizeof buf - 1);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	CU_ASSERT_TRUE(n > 0);
	printf("\n  (%s)\n", buf);
	CU_ASSERT_EQUAL(atoi(buf), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "CAP_BPF"));
}

static const rw_test tests[] = {
	RW_TEST(test_observe_modes),
	RW_TEST(test_per_process_cgroup),
	RW_TEST(test_watched_only),
	RW_TEST(test_all_per_process),
	RW_TEST(test_evidence_add),
	RW_TEST(test_map_full),
	RW_TEST(test_missing_btf),
	RW_TEST(test_bad_btf),
	RW_TEST(test_verifier_reject),
	RW_TEST(test_no_permission),
	{ NULL, NULL },
};

#else /* !RW_HAVE_BPF */

/* Built without eBPF (aarch64): open says why, every other call is harmless. */
static void test_not_built(void)
{
	struct rw_fpbpf *b = (struct rw_fpbpf *)&b;
	struct rw_fp_evidence e;
	struct rw_fpbpf_stats st;
	char why[256] = "";
	CU_ASSERT_EQUAL(rw_fpbpf_open(&b, NULL, why, sizeof why), -ENOTSUP);
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "not built"));
	CU_ASSERT_EQUAL(rw_fpbpf_refresh(b), -ENOTSUP);
	CU_ASSERT_EQUAL(rw_fpbpf_collect_cgroup(b, 1, &e), -ENOENT);
	CU_ASSERT_EQUAL(rw_fpbpf_collect_process(b, 1, &e), -ENOENT);
	rw_fpbpf_stats(b, &st);
	CU_ASSERT_EQUAL(st.dropped, 0);
	rw_fpbpf_close(b);
}

static const rw_test tests[] = {
	RW_TEST(test_not_built),
	{ NULL, NULL },
};

#endif

int main(void)
{
	return rw_test_main("fpbpf", tests);
}
