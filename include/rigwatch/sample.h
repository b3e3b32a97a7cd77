/* sample: everything the sources measured about one target over one interval. The one contract between where
 * numbers come from (the live host, or a recorded trace) and what we conclude (features, model, verdicts).
 * A plain value type: no pointers, so it can be copied, recorded and replayed as is. */
#ifndef RIGWATCH_SAMPLE_H
#define RIGWATCH_SAMPLE_H

#include <stdint.h>

#include "rigwatch/cgstats.h"
#include "rigwatch/events.h"
#include "rigwatch/identity.h"

#define RW_CGROUP_PATH_MAX 1024

/* Evidence sources, as named in verdicts ("pmu", "fpprobe", "cgroup", "indicators"). */
enum rw_source {
	RW_SRC_PMU = 0,
	RW_SRC_FPPROBE,
	RW_SRC_CGROUP,
	RW_SRC_INDICATORS,
	RW_SRC_COUNT
};
#define RW_SRC_BIT(s) (1u << (s))

/* Which path produced a target's FP evidence. */
enum rw_fp_path {
	RW_FP_PATH_NONE = 0,
	RW_FP_PATH_BPF,     /* eBPF: the MXCSR the kernel saved at each context switch of the target's threads */
	RW_FP_PATH_PTRACE   /* ptrace: reads of the target's running threads from outside */
};

/* FP control state of the target's threads over the interval, from either path. An observation is one value of
 * the control register (MXCSR or FPCR) of one thread: saved at a context switch (eBPF) or read with ptrace. */
struct rw_fp_evidence {
	uint8_t  path;            /* enum rw_fp_path; RW_FP_PATH_NONE when nothing was observed */
	uint8_t  modes_union;     /* bit m set: rounding mode m (0 nearest, 1 down, 2 up, 3 toward zero) seen */
	uint8_t  max_thread_modes;      /* most distinct rounding modes seen on any one thread */
	uint8_t  max_thread_nondefault; /* most distinct non-default modes seen on any one thread */
	uint8_t  ftz_daz;         /* 1 if flush-to-zero or denormals-are-zero was seen */
	uint32_t probes;          /* observations */
	uint32_t failed;          /* failed ptrace attempts (thread exited, refused, timed out); 0 on the eBPF path */
	uint32_t mode_obs[4];     /* observations per rounding mode (sums to probes) */
	uint32_t ftz_daz_obs;     /* observations with flush-to-zero and denormals-are-zero both set */
	uint32_t pairs;           /* consecutive observations of the same thread within the interval */
	uint32_t changes;         /* of those pairs, how many saw a different rounding mode */
	uint16_t threads;         /* distinct threads observed */
	uint16_t threads_traced;  /* busy threads that could not be read because another process traces them */
	int32_t  tracer_pid;      /* the tracer of one such thread (0 if none) */
	int32_t  traced_tid;      /* that thread */
	uint8_t  tracer_same_target; /* 1: the tracer sits in the same cgroup as that thread */
	char     traced_comm[16]; /* comm of that thread and of its tracer, for the reason; may lack a terminator */
	char     tracer_comm[16];
	uint32_t last_control;    /* last raw value observed (MXCSR or FPCR), for the operator */
};

#define RW_ORIGIN_MAX 6
/* One process of the chain that led to the target's oldest suspicious process (oldest ancestor last). */
struct rw_proc_origin {
	int32_t pid, ppid;
	uint32_t uid;
	uint64_t start_time_s;    /* seconds since the epoch */
	char comm[16];
	char exe[96];
};

/* Indicator scan of the target's processes. */
struct rw_indicator_evidence {
	uint32_t rule_hits;       /* bit per rule kind matched (procscan's RW_IND_* bits) */
	uint16_t matches;         /* rules matched, all processes, pool connections included */
	uint16_t pool_connections;/* TCP connections to pool ports */
	uint16_t processes;       /* processes scanned */
	uint16_t n_origin;
	char evidence[160];       /* the strongest match in words: "cmdline contains stratum+tcp://" */
	struct rw_proc_origin origin[RW_ORIGIN_MAX];
};

struct rw_sample {
	uint64_t cgroup_id;              /* inode number of the cgroup2 directory */
	char cgroup[RW_CGROUP_PATH_MAX]; /* path relative to the cgroup2 root, starting with '/' */
	struct rw_identity identity;
	uint64_t time_ns;                /* CLOCK_REALTIME at the end of the interval */
	uint32_t interval_us;            /* measured length of the interval */
	uint32_t sources;                /* RW_SRC_BIT()s of sources that measured something this interval */

	/* cgroup files: cumulative as read, and deltas over this interval */
	struct rw_cgstats cg;
	uint64_t cpu_usec;               /* usage_usec delta */
	uint64_t throttled_usec;         /* throttled_usec delta */
	uint64_t nr_throttled;           /* nr_throttled delta */

	/* counters: scaled deltas over the interval, cumulative totals since counting began */
	uint32_t counters_present;       /* bit per enum rw_counter_role */
	uint32_t counter_ratio_q16;      /* min running/enabled over CPUs, Q16.16; 65536 = no multiplexing */
	uint64_t counters[RW_CTR_COUNT];
	uint64_t counters_total[RW_CTR_COUNT];

	struct rw_fp_evidence fp;
	struct rw_indicator_evidence ind;
};

#endif
