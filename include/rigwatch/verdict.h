/* verdict: per-target conclusion with hysteresis, and the reasons behind it in an operator's words.
 * The data types here are shared with http, exposition, respond and trace; the tracker functions are below. */
#ifndef RIGWATCH_VERDICT_H
#define RIGWATCH_VERDICT_H

#include <stdint.h>

#include "rigwatch/sample.h"

enum rw_verdict { RW_VERDICT_CLEAN = 0, RW_VERDICT_SUSPECT, RW_VERDICT_MINING, RW_VERDICT_COUNT };

#define RW_REASONS_MAX 6

struct rw_reason {
	enum rw_source source;
	char feature[32];      /* feature name as in the model file: "fp_rounding_modes" */
	int32_t value_q16;     /* feature value, Q16.16 */
	char detail[128];      /* "4 distinct FP rounding modes in 1 s" */
};

/* What the tracker concluded for one target after its latest sample. */
struct rw_verdict_state {
	enum rw_verdict verdict;
	int32_t score_q16;            /* fused probability, 0..65536 */
	uint32_t sources_used;        /* RW_SRC_BIT()s that contributed to the score */
	unsigned n_reasons;
	struct rw_reason reasons[RW_REASONS_MAX];
	uint64_t first_seen_ns;       /* CLOCK_REALTIME when the target was first seen */
	uint64_t since_ns;            /* when the current verdict began */
	uint32_t intervals_in_verdict;/* consecutive intervals in the current verdict */
	uint64_t detections;          /* times the target entered `mining` */
};

const char *rw_verdict_name(enum rw_verdict v);   /* "clean", "suspect", "mining" */

/* ---- the tracker ----
 * Each interval the fused score gets a level: mining (>= verdict.mining_threshold), suspect (>= suspect_threshold)
 * or clean. A target enters `mining` when k of its last n levels (verdict.enter_k, enter_n) are mining, and
 * `suspect` (from clean) when k of the last n are at least suspect. It leaves after m consecutive intervals
 * (verdict.leave_m) below its verdict: from mining to suspect if the latest level is suspect, else to clean; from
 * suspect to clean. Leaving clears the window, so coming back needs k fresh levels. */

#define RW_VERDICT_WINDOW_MAX 64

struct rw_config;
struct rw_features;
struct rw_model_output;

/* Per-target tracker state: a plain value type, owned by the caller (score.c keeps one per target). */
struct rw_verdict_tracker {
	struct rw_verdict_state st;
	uint8_t levels[RW_VERDICT_WINDOW_MAX]; /* ring of the latest levels (enum rw_verdict) */
	unsigned pos, filled;
	uint32_t below;                        /* consecutive intervals below the current verdict */
	int started;
	int held;                              /* set by the owner: see rw_verdict_update */
};

void rw_verdict_tracker_init(struct rw_verdict_tracker *t);

/* Feed one interval: the target's features, the model's output for them, and the sample's time (CLOCK_REALTIME
 * ns). Updates t->st (verdict, score, sources, reasons, since, first_seen). Returns true when the verdict changed
 * (including the first interval of a target, which starts `clean` unless evidence says otherwise), else false.
 * While t->held is set (the response froze or killed the target: a stopped workload shows no activity, and must
 * not decay to `clean`), verdict, score, reasons and since stay as they were; only intervals_in_verdict counts on. */
bool rw_verdict_update(struct rw_verdict_tracker *t, const struct rw_config *cfg, const struct rw_features *f,
		      const struct rw_model_output *mo, uint64_t time_ns);

/* The features that pushed the score up the most (positive contributions, largest first), in words; returns how
 * many were written (at most max). */
unsigned rw_verdict_reasons(const struct rw_features *f, const struct rw_model_output *mo, struct rw_reason *out,
			    unsigned max);

/* One feature value in an operator's words: "4 distinct FP rounding modes in 1 s",
 * "packed-double FP 0.21 per instruction". `evidence` (may be NULL) is the indicator scan's text. */
void rw_reason_describe(int feature, int32_t value_q16, uint32_t interval_ms, const char *evidence, char *buf,
			unsigned len);

#endif
