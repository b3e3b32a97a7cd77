/* fpprobe: the FP control-register probe. Evidence that needs no PMU: RandomX switches the SSE rounding mode
 * (MXCSR bits 13-14; FPCR RMode on aarch64) many times a second, ordinary programs almost never do. The probe reads
 * the register of a target's busy threads from outside with ptrace (seize, interrupt, read FP registers, detach),
 * a few times spread over each interval, and reports which rounding modes it saw.
 *
 * Safety comes first: a probed thread is stopped for tens of microseconds and is never left stopped (detach on
 * every path; waits are bounded; a thread that cannot be stopped in time is released the moment its stop arrives,
 * and at the latest when the probe thread exits, since the kernel detaches a dying tracer's tracees). Only threads
 * in state R (running or runnable) that ran since the last round and spent their life mostly in user code are
 * interrupted: a ptrace
 * interrupt wakes a thread asleep in a system call, and epoll_wait, sigtimedwait and their like then return EINTR;
 * a thread in D state (a vfork parent, I/O) would be held until it wakes. Threads already traced (reported as
 * evidence), the agent's own threads and kernel threads are skipped. Reads per interval are capped; targets share
 * them in proportion to 1 + their CPU, so a target at a few percent of a core is read every few intervals.
 *
 * The probe thread blocks every signal, so the agent's shutdown signals never interrupt a probe half-way.
 * The agent must not waitpid(-1, ...) with __WALL from another thread: that could reap a tracee's stop report. */
#ifndef RIGWATCH_FPPROBE_H
#define RIGWATCH_FPPROBE_H

#include <stdint.h>
#include <sys/types.h>

#include "rigwatch/config.h"
#include "rigwatch/sample.h"

/* Rounding modes, the numbering of struct rw_fp_evidence.modes_union. */
enum rw_fp_rmode { RW_FP_NEAREST = 0, RW_FP_DOWN = 1, RW_FP_UP = 2, RW_FP_ZERO = 3 };

struct rw_fp_decoded {
	uint8_t rmode;  /* enum rw_fp_rmode */
	uint8_t ftz;    /* flush-to-zero (MXCSR FTZ, FPCR FZ) */
	uint8_t daz;    /* denormals-are-zero (MXCSR DAZ, FPCR FIZ where FEAT_AFP has it) */
};

/* Pure decoders, compiled on every architecture. */
void rw_fp_decode_mxcsr(uint32_t mxcsr, struct rw_fp_decoded *out);
void rw_fp_decode_fpcr(uint32_t fpcr, struct rw_fp_decoded *out);
/* The decoder of the build architecture (MXCSR on x86_64, FPCR on aarch64). */
void rw_fp_decode(uint32_t control, struct rw_fp_decoded *out);
/* Name of a rounding mode: "nearest", "down", "up", "zero". */
const char *rw_fp_rmode_name(unsigned rmode);

/* The traced-thread evidence of ev in words, for a reason: "thread 4211 (redis-server) is traced by pid 4208
 * (redis-server) in the same cgroup; cannot read its FP state" ("(and 2 more busy threads)" when there are several;
 * a tracer in another cgroup is "outside this target", or "in another cgroup" for a process target). "" when
 * ev->threads_traced is 0. Pure; any length. */
void rw_fp_traced_describe(const struct rw_fp_evidence *ev, int is_process, char *buf, size_t len);

/* Read one thread's FP control register synchronously (for tests, the bench and tools). Returns 0 with
 * *control set and *stop_ns the time the thread was held stopped: from the last moment it was seen not yet
 * stopped (an upper bound on when it trapped) to the end of the detach; a thread that was waiting for a CPU when
 * interrupted is not counted as stopped while it waits (it would not have run anyway). Or it returns
 *   -ESRCH      the thread is gone (or exited mid-probe), or tid <= 0 (a task of another PID namespace)
 *   -EPERM      ptrace refused (kernel thread, security policy)
 *   -EBUSY      the thread is already traced by someone else
 *   -EINVAL     the thread belongs to the calling process
 *   -EAGAIN     the thread is not in state R now (asleep, stopped, uninterruptible): not interrupted at all
 *   -ETIMEDOUT  the thread did not stop within the bound (it waited that long for a CPU); it is released later
 *   -ENOTSUP    no probe on this architecture
 * A thread that did not stop in time stays seized with a stop pending; this call and
 * rw_fpprobe_release_pending() release it once it stops, and the kernel releases it when the calling thread
 * exits. Call rw_fpprobe_release_pending() before dropping privileges or when done probing.
 * Blocks SIGCHLD in the calling thread (the probe sleeps in sigtimedwait until its tracee stops); waitpid on
 * the caller's own children works as before. */
int rw_fpprobe_read_thread(pid_t tid, uint32_t *control, uint64_t *stop_ns);
/* Release the calling thread's tracees that had not stopped in time; waits at most wait_ms for each.
 * Returns how many are still pending. */
int rw_fpprobe_release_pending(unsigned wait_ms);

/* Give the calling thread the lowest real-time priority (SCHED_FIFO 1), as the probe thread has, so that it is
 * not preempted while a target is stopped. Returns 0 or a negative errno (e.g. -EPERM without CAP_SYS_NICE). */
int rw_fpprobe_boost_thread(void);

/* A busy target for the next interval: a cgroup (pid 0; path its cgroup2 directory, absolute, where
 * cgroup.threads is read) or one process (pid and its start time in clock ticks since boot, /proc/PID/stat field
 * 22: the threads of /proc/PID/task are read while the pid still names that process; path unused). cgroup_id is
 * the target's id either way. */
struct rw_fpprobe_target {
	uint64_t cgroup_id;
	int32_t pid;
	uint64_t start_ticks;
	char path[RW_CGROUP_PATH_MAX + 64];
};

struct rw_fpprobe;

/* Start the probe thread. With cfg->fpprobe_enabled false it returns 0 and *out = NULL: every other call
 * accepts NULL and does nothing (collect reports nothing). Uses cfg->interval_ms, fpprobe_max_probes (reads per
 * interval, all targets), fpprobe_reads_per_thread, fpprobe_min_thread_cpu_q16 (a floor for a thread's share of a
 * core; 0: every thread that ran) and proc_root. Blocks SIGCHLD
 * in the calling thread, and so in threads it creates afterwards, so that tracee stops reach the probe thread. */
int rw_fpprobe_start(struct rw_fpprobe **out, const struct rw_config *cfg);
/* The busy targets for the coming interval (copied). Called once per interval; starts a new probing round. */
void rw_fpprobe_set_targets(struct rw_fpprobe *p, const struct rw_fpprobe_target *t, unsigned n);
/* Evidence for cgroup_id since its last collect, then reset. Returns 0 when the target had probes or failed
 * attempts, -ENOENT when there is nothing for it (out zeroed). */
int rw_fpprobe_collect(struct rw_fpprobe *p, uint64_t cgroup_id, struct rw_fp_evidence *out);
/* Stop and join the probe thread; no thread is left stopped. Frees p. */
void rw_fpprobe_stop(struct rw_fpprobe *p);

#endif
