/* fpbpf: FP control-state evidence from every context switch, with eBPF (x86_64). A small program at the
 * x86_fpu_regs_deactivated tracepoint reads the MXCSR the kernel has just saved for the user thread it switches
 * out, and counts per target in the kernel: observations, per rounding mode, FTZ+DAZ, same-thread mode changes,
 * threads. No thread is ever stopped. Needs kernel BTF (/sys/kernel/btf/vmlinux, or a BTF file for CO-RE
 * relocations) and CAP_BPF + CAP_PERFMON (or root). Where any of that is missing, open fails with a reason in
 * words and the caller uses the ptrace probe (fpprobe) instead.
 *
 * Targets are cgroup v2 ids (bpf_get_current_cgroup_id). Tasks whose cgroup is one of the "per-process cgroups"
 * (the root cgroup, cgroups that are not targets) are counted per process (tgid) instead. Only the watched set
 * (rw_fpbpf_set_watch) is counted: other tasks leave the program after one map lookup.
 *
 * Maps are bounded: at most max_targets keys per interval; observations of further keys are dropped and counted
 * (rw_fpbpf_stats). Counts are read and deleted once per interval (rw_fpbpf_refresh), so a target that vanished
 * leaves no entry behind; per-thread state lives in task storage and goes with the thread. */
#ifndef RIGWATCH_FPBPF_H
#define RIGWATCH_FPBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rigwatch/sample.h"

struct rw_fpbpf_opts {
	const char *btf_path;     /* BTF for CO-RE relocations; NULL or "" = the running kernel's */
	unsigned max_targets;     /* keys per interval (0 = 4096) */
	bool test_reject;         /* also load a program the verifier must refuse (tests of the failure path) */
};

struct rw_fpbpf_stats {
	uint64_t dropped;         /* observations lost because the counts map was full, since open */
	uint64_t no_storage;      /* observations without per-thread state (counted, but no pair/thread), since open */
	unsigned last_entries;    /* keys read by the last refresh */
	uint32_t prog_id;         /* kernel id of the loaded program (bpftool prog show id N) */
};

struct rw_fpbpf;

/* Load and attach the program. Returns 0, or a negative errno with `why` set to one line in words:
 *   -ENOTSUP    not built with eBPF (non-x86_64 build, no libbpf), or no such tracepoint
 *   -ENOENT     no BTF at the given path / no kernel BTF
 *   -EPERM      missing CAP_BPF / CAP_PERFMON (or CAP_SYS_ADMIN)
 *   -EINVAL, -EACCES  the verifier refused the program (its last log line is in `why`)
 *   other       load or attach failures, as libbpf reports them */
int rw_fpbpf_open(struct rw_fpbpf **out, const struct rw_fpbpf_opts *opts, char *why, size_t whylen);
/* Detach and free; NULL is fine. */
void rw_fpbpf_close(struct rw_fpbpf *b);

/* What the program counts. Every other task leaves it after one map lookup, so the kernel's cost in the context
 * switches of tasks no one watches stays small. */
struct rw_fpbpf_watch {
	const uint64_t *cgroups;       /* cgroup v2 ids counted per cgroup (the targets) */
	unsigned n_cgroups;
	const uint64_t *proc_cgroups;  /* cgroup v2 ids whose tasks are counted per process (root, non-target cgroups) */
	unsigned n_proc_cgroups;
	const uint32_t *pids;          /* the processes of proc_cgroups that are counted (process targets) */
	unsigned n_pids;
};

/* Replace the watched set (the arrays need not be sorted; only what changed is written to the kernel). Until the
 * first call every task is counted, cgroups per cgroup. Returns 0; -E2BIG when a set is larger than the maps
 * (max_targets): every task is counted again, as before the first call, until a set fits; or a map error. */
int rw_fpbpf_set_watch(struct rw_fpbpf *b, const struct rw_fpbpf_watch *w);

/* Once per interval: start a new interval in the kernel and read-and-delete every target's counts of the one
 * that ended (batch operations). Returns the number of targets with observations, or a negative errno. */
int rw_fpbpf_refresh(struct rw_fpbpf *b);

/* Evidence of the last refreshed interval, for a cgroup (by id) or a process of a per-process cgroup (by tgid).
 * Returns 0, or -ENOENT with *out zeroed when that target had no observation. */
int rw_fpbpf_collect_cgroup(const struct rw_fpbpf *b, uint64_t cgroup_id, struct rw_fp_evidence *out);
int rw_fpbpf_collect_process(const struct rw_fpbpf *b, uint32_t tgid, struct rw_fp_evidence *out);

/* What a target has gathered since the last refresh, read without taking it from the interval: the response's
 * re-check reads it twice around a short window. Returns 0, or -ENOENT with *out zeroed when there is nothing. */
int rw_fpbpf_peek_cgroup(struct rw_fpbpf *b, uint64_t cgroup_id, struct rw_fp_evidence *out);
int rw_fpbpf_peek_process(struct rw_fpbpf *b, uint32_t tgid, struct rw_fp_evidence *out);

void rw_fpbpf_stats(const struct rw_fpbpf *b, struct rw_fpbpf_stats *out);

#endif
