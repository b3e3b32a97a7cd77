/* features: what the model looks at, computed from one sample (and, for windowed features such as steadiness, the
 * target's recent samples). Fixed point throughout: every value is Q16.16 in an int32_t (65536 = 1.0), ratios are
 * computed with 128-bit intermediates and saturate. A feature whose source did not measure anything this interval
 * is marked missing (its bit in `present` is clear), never reported as zero. */
#ifndef RIGWATCH_FEATURES_H
#define RIGWATCH_FEATURES_H

#include <stdint.h>

#include "rigwatch/sample.h"

enum rw_feature {
	/* pmu: hardware counters, per instruction */
	RW_F_IPC = 0,              /* instructions per cycle */
	RW_F_LLC_MPKI,             /* last-level-cache misses per 1000 instructions */
	RW_F_BRANCH_MPKI,          /* branch misses per 1000 instructions */
	RW_F_PD_PER_INSN,          /* 128-bit packed-double FP per instruction (RandomX's width) */
	RW_F_PD256_PER_INSN,       /* 256-bit packed-double FP per instruction (AVX BLAS and friends) */
	RW_F_FP_SCALAR_PER_INSN,   /* scalar double FP per instruction */
	RW_F_FP_SIMD_PER_INSN,     /* FP/SIMD work without a width split, per instruction */
	RW_F_CRYPTO_PKI,           /* AES/crypto ops per 1000 instructions */
	/* fpprobe: FP control register of the busy threads, as shares of the observations over the last
	 * RW_FP_WINDOW intervals, so that they mean the same at 16 reads an interval (ptrace) or hundreds (eBPF) */
	RW_F_FP_MODE_EVENNESS,     /* how evenly the four rounding modes are used: 1 - sum of squared shares, over its
				    * maximum 3/4 (0: one mode, 1: all four in equal shares, 0.67: two in equal shares) */
	RW_F_FP_NONDEFAULT_EVENNESS,/* the same over the three non-default modes only (max 2/3 -> 1): a busy neighbour
				    * thread at round-to-nearest in the same cgroup does not dilute it; 0 when fewer
				    * than RW_FP_MIN_NONDEFAULT of the reads are in a non-default mode */
	RW_F_FP_NONDEFAULT_SHARE,  /* share of observations in a rounding mode other than to-nearest */
	RW_F_FP_CHANGE_RATE,       /* share of consecutive observations of one thread that changed rounding mode */
	RW_F_FP_FTZ_DAZ_NONDEFAULT,/* min(share with flush-to-zero and denormals-are-zero both set, non-default share) */
	RW_F_FP_TRACED_THREADS,    /* busy threads the probe could not read because another process traces them */
	/* cgroup: resource behaviour */
	RW_F_CORES,                /* CPU cores used over the interval */
	RW_F_THROTTLE,             /* share of the interval spent throttled */
	RW_F_CPU_STEADINESS,       /* 1 - mean absolute deviation / mean of cores used over the window (0..1) */
	RW_F_MEMORY_GIB,           /* memory.current in GiB */
	RW_F_HUGEPAGE_SHARE,       /* anon_thp / anon (0..1) */
	RW_F_ANON_GIB,             /* anonymous memory in GiB: RandomX cannot hash without its 256 MiB cache (light
				    * mode) or 2080 MiB dataset (fast mode) */
	/* indicators: names, flags, connections */
	RW_F_IND_RULES,            /* distinct indicator rule kinds matched */
	RW_F_IND_MATCHES,          /* rule matches over all processes */
	RW_F_POOL_CONNECTIONS,     /* TCP connections to mining-pool ports */
	RW_F_COUNT
};
#define RW_F_BIT(f) (1u << (f))

/* Samples the steadiness window spans, and how many it needs before steadiness is reported. */
#define RW_STEADY_WINDOW 8
#define RW_STEADY_MIN    3
/* Below this many cores on average over the window (5 % of a core) steadiness is not measured (see features.c). */
#define RW_STEADY_FLOOR_Q16 (65536 / 20)
/* FP shares are taken over the last RW_FP_WINDOW intervals (up to RW_FP_HISTORY for a sparse thread: see
 * features.c), and only once they rest on enough observations (pairs for the change rate): a share of three reads
 * says little, whichever path produced them. */
#define RW_FP_WINDOW    8
#define RW_FP_HISTORY   32
#define RW_FP_MIN_OBS   12
#define RW_FP_MIN_PAIRS 8
#define RW_FP_MIN_NONDEFAULT 8

struct rw_features {
	uint32_t present;          /* RW_F_BIT()s of features that have a value */
	uint32_t sources;          /* RW_SRC_BIT()s with at least one present feature */
	int32_t v[RW_F_COUNT];     /* Q16.16; meaningful only where present */
	uint32_t interval_ms;      /* length of the interval the values cover (for the words in reasons) */
	char evidence[160];        /* the indicator scan's strongest match in words, "" if none */
};

/* Per-target state for windowed features. Plain value type; zero it with rw_features_state_init(). */
struct rw_features_state {
	int32_t cores[RW_STEADY_WINDOW];
	unsigned pos, filled;
	struct {
		uint32_t mode_obs[4], ftz_daz_obs, pairs, changes;
		uint8_t thread_nondefault; /* most distinct non-default modes on one thread */
	} fp[RW_FP_HISTORY];       /* the FP evidence of the latest intervals (zero where none) */
	unsigned fp_pos;
};

void rw_features_state_init(struct rw_features_state *st);

/* Compute the features of one sample and advance the window. */
void rw_features_compute(struct rw_features_state *st, const struct rw_sample *s, struct rw_features *out);

/* "ipc", "fp_rounding_modes", ...: the names used in model files and reasons; NULL if out of range. */
const char *rw_feature_name(enum rw_feature f);
/* The feature with that name, or -ENOENT. */
int rw_feature_by_name(const char *name);
/* The evidence source a feature belongs to. */
enum rw_source rw_feature_source(enum rw_feature f);
/* "pmu", "fpprobe", "cgroup", "indicators". */
const char *rw_source_name(enum rw_source s);
int rw_source_by_name(const char *name);

/* Saturating Q16.16 ratio num/den * mult; 0 when den is 0. Exposed for tests. */
int32_t rw_ratio_q16(uint64_t num, uint64_t den, uint32_t mult);

#endif
