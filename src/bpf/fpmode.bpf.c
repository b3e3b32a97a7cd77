// SPDX-License-Identifier: GPL-2.0
/* fpmode: the MXCSR of every user thread the kernel switches out, counted per target.
 *
 * The tracepoint x86_fpu_regs_deactivated fires in the context switch right after the outgoing task's FPU
 * registers were saved to memory, while `current` is still that task: the saved MXCSR is that thread's SSE
 * control state at the moment it stopped running. Reading it costs one load; no thread is ever stopped.
 *
 * Only watched tasks are counted: the agent keeps the cgroups it watches in `watch` (per cgroup, or per process for
 * the root and the cgroups that are not targets) and, for the latter, the processes that are targets of their own in
 * `watch_pids`. Every other task leaves after one hash lookup (kernel threads before it): the program runs in every
 * context switch of the host, and most of them are of tasks no one asked about. Until the agent hands over its
 * first set (`watch_all`), every task is counted.
 *
 * Per target (cgroup v2 id, or process for tasks of the per-process cgroups), per CPU: observations, per
 * rounding mode, FTZ+DAZ, and from per-thread state (task storage) the mode changes between consecutive
 * observations of one thread in one target and interval, the threads seen and the most modes seen on one thread. The agent bumps `epoch`
 * and reads-and-deletes the counts once per interval; per-thread state older than the epoch starts afresh.
 *
 * Types are declared locally with preserve_access_index (CO-RE): no generated vmlinux.h, the loader relocates
 * field offsets against the running kernel's BTF. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "fpmode.h"

#define PF_KTHREAD 0x00200000

struct fxregs_state {
	__u32 mxcsr;
} __attribute__((preserve_access_index));

struct xregs_state {
	struct fxregs_state i387;
} __attribute__((preserve_access_index));

union fpregs_state {
	struct xregs_state xsave;
} __attribute__((preserve_access_index));

/* 5.16 and later: the register image hangs off fpu->fpstate. */
struct fpstate {
	union fpregs_state regs;
} __attribute__((preserve_access_index));

struct fpu {
	struct fpstate *fpstate;
} __attribute__((preserve_access_index));

/* Before 5.16: embedded as fpu->state. */
struct fpu___old {
	union fpregs_state state;
} __attribute__((preserve_access_index));

struct task_struct {
	unsigned int flags;
} __attribute__((preserve_access_index));

struct thread_state {
	__u64 key;        /* target of the last observation (a thread can move to another cgroup) */
	__u32 epoch;      /* interval of the last observation */
	__u8 last_mode;
	__u8 modes;       /* rounding modes seen in that interval */
};

/* Sized by the loader (fpbpf.c) before load. Preallocated: updates never allocate in the context switch. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct fpmode_counts);
} counts SEC(".maps");

/* Watched cgroups (FPMODE_WATCH_CGROUP or FPMODE_WATCH_PROCS) and the counted processes of the latter; sized by the
 * loader like counts. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} watch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} watch_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FPMODE_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Written by the agent through the mmapped data section. Starts at 1: fresh task storage (epoch 0) is never
 * taken for a thread already seen in this interval. */
__u32 epoch = 1;
__u32 watch_all = 1;

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		(*v)++;
}

static __always_inline __u8 popcount4(__u8 m)
{
	return (m & 1) + ((m >> 1) & 1) + ((m >> 2) & 1) + ((m >> 3) & 1);
}

static __always_inline __u32 saved_mxcsr(struct fpu *fpu)
{
	if (bpf_core_field_exists(fpu->fpstate))
		return BPF_CORE_READ(fpu, fpstate, regs.xsave.i387.mxcsr);
	return BPF_CORE_READ((struct fpu___old *)fpu, state.xsave.i387.mxcsr);
}

static __always_inline int observe(struct fpu *fpu)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (task->flags & PF_KTHREAD)
		return 0;
	__u64 key = bpf_get_current_cgroup_id();
	__u8 *kind = bpf_map_lookup_elem(&watch, &key);
	if (kind && *kind == FPMODE_WATCH_PROCS) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		if (!watch_all && !bpf_map_lookup_elem(&watch_pids, &tgid))
			return 0;
		key = FPMODE_KEY_PROC | tgid;
	} else if (!kind && !watch_all) {
		return 0;
	}
	__u32 mxcsr = saved_mxcsr(fpu);

	struct fpmode_counts *c = bpf_map_lookup_elem(&counts, &key);
	if (!c) {
		struct fpmode_counts zero = {};
		bpf_map_update_elem(&counts, &key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&counts, &key);
		if (!c) {
			stat_inc(FPMODE_STAT_DROPPED); /* map full */
			return 0;
		}
	}
	__u8 mode = (mxcsr >> 13) & 3;
	c->obs++;
	c->mode_obs[mode]++;
	if ((mxcsr & 0x8040) == 0x8040)
		c->ftz_daz_obs++;
	if (mxcsr & 0x8040)
		c->ftz_or_daz = 1;
	c->modes_union |= 1 << mode;
	c->last_control = mxcsr;

	struct thread_state *ts = bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts) {
		stat_inc(FPMODE_STAT_NO_STORAGE);
		return 0;
	}
	__u32 e = epoch;
	if (ts->epoch != e || ts->key != key) {
		ts->epoch = e;
		ts->key = key;
		ts->modes = 0;
		c->threads++;
	} else {
		c->pairs++;
		if (ts->last_mode != mode)
			c->changes++;
	}
	ts->last_mode = mode;
	ts->modes |= 1 << mode;
	__u8 n = popcount4(ts->modes), nd = popcount4(ts->modes & 0xe);
	if (n > c->max_thread_modes)
		c->max_thread_modes = n;
	if (nd > c->max_thread_nondefault)
		c->max_thread_nondefault = nd;
	return 0;
}

SEC("tp_btf/x86_fpu_regs_deactivated")
int BPF_PROG(rw_fpmode, struct fpu *fpu)
{
	return observe(fpu);
}

/* Not loaded unless a test asks for it (fpbpf's test_reject option): reads past the end of a map value, which
 * the verifier must refuse, to exercise the loader's verifier-rejection path on a real kernel. */
SEC("?tp_btf/x86_fpu_regs_deactivated")
int BPF_PROG(rw_fpmode_reject, struct fpu *fpu)
{
	__u32 idx = 0;
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		return (int)v[64];
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
