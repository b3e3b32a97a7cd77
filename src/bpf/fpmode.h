/* fpmode.h: the layout shared by the eBPF program (fpmode.bpf.c) and its loader (src/fpbpf.c). Only fixed-width
 * kernel types (linux/types.h), so both compilers see the same structures. */
#ifndef RIGWATCH_BPF_FPMODE_H
#define RIGWATCH_BPF_FPMODE_H

#include <linux/types.h>

/* Key of the counts map: a cgroup v2 id, or FPMODE_KEY_PROC | tgid for a task whose cgroup is one of the
 * per-process cgroups (the root, cgroups that are not targets). cgroup ids never set bit 63. */
#define FPMODE_KEY_PROC (1ull << 63)

/* Values of the watch map: how a watched cgroup's tasks are counted. */
#define FPMODE_WATCH_CGROUP 1        /* per cgroup */
#define FPMODE_WATCH_PROCS  2        /* per process, for the processes in watch_pids */

/* Counts for one key on one CPU since the agent last read and deleted the entry. */
struct fpmode_counts {
	__u32 obs;                   /* MXCSR values seen (context switches of the key's user threads) */
	__u32 mode_obs[4];           /* per rounding mode */
	__u32 ftz_daz_obs;           /* FTZ and DAZ both set */
	__u32 pairs;                 /* observations that followed one of the same thread in the same interval */
	__u32 changes;               /* of those, how many saw another rounding mode */
	__u32 threads;               /* threads seen for the first time in this interval */
	__u32 last_control;          /* the last MXCSR seen on this CPU */
	__u8 modes_union;            /* bit per rounding mode seen */
	__u8 max_thread_modes;       /* most modes seen on one thread this interval */
	__u8 max_thread_nondefault;  /* most non-default modes seen on one thread this interval */
	__u8 ftz_or_daz;             /* 1 if FTZ or DAZ was ever set */
};

/* Per-CPU statistics (array indices). */
enum fpmode_stat {
	FPMODE_STAT_DROPPED = 0,     /* observations lost: the counts map was full */
	FPMODE_STAT_NO_STORAGE,      /* observations without per-thread state (allocation failed) */
	FPMODE_STAT_COUNT
};

#endif
