/* model: the classifier. One logistic model per evidence source (pmu, fpprobe, cgroup, indicators), each over the
 * features of its source; the sources that measured something are fused as a capped sum of log-odds.
 * Integer-only inference (Q16.16, 128-bit products), sigmoid by table.
 *
 * Agreement: no single source convicts. The sources that "agree" are fpprobe, pmu and indicators when their capped
 * log-odds are above 0, and the cgroup when its RandomX memory-footprint term (anon_gib) contributes above 0 (not
 * its busy or steady terms). Unless fpprobe agrees together with at least one of the others, the fused log-odds
 * are capped at `alone` (below the mining threshold in the shipped model), and the verdict tracker does not
 * enter `mining` whatever the thresholds (rw_model_output.agreed).
 *
 * File format, version 2 (models/rigwatch.model; one statement a line, `#` comments, key=value arguments):
 *
 *   rigwatch-model 2
 *   name rigwatch-prior
 *   fusion bias=-384 cap=2560 alone=256
 *   source fpprobe intercept=-512 cap_pos=1536 cap_neg=1024
 *   feature fp_rounding_modes lo=1 hi=4 center=1.5 scale=1 weight=640
 *   ...
 *   provenance kind prior
 *   provenance note free text
 *
 * Log-odds quantities (bias, cap, alone, intercept, cap_pos, cap_neg, weight) are integers in units of 1/256 log-odds.
 * lo, hi, center and scale are decimals in the feature's own units: a feature contributes
 * weight/256 * (clamp(x, lo, hi) - center) / scale, and nothing when it is missing. Every source appears once, and
 * lists every feature of its source (weight=0 to leave one out). `provenance KEY TEXT` lines belong to the block
 * they are in (the file, or the source above them); keys: kind (trained|prior), trace, traces, date, accuracy,
 * method, note; each source needs a `kind`. Anything else is an error naming file:line, and no model is loaded. */
#ifndef RIGWATCH_MODEL_H
#define RIGWATCH_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rigwatch/features.h"

#define RW_MODEL_VERSION 2
#define RW_LOGIT_UNIT 256          /* file log-odds unit: 1/256 */
#define RW_MODEL_PROVENANCE_MAX 8192

#define RW_MODEL_MULT_SHIFT 24

struct rw_model_term {
	uint32_t bit;              /* RW_F_BIT(feature) */
	uint8_t feature;           /* enum rw_feature */
	int32_t lo_q16, hi_q16, center_q16, scale_q16;
	int32_t weight;            /* 1/256 log-odds per unit of (x - center) / scale */
	int64_t mult;              /* weight * 2^32 / scale_q16: contribution_q16 = d_q16 * mult >> 24 */
};

struct rw_model_source {
	int32_t intercept, cap_pos, cap_neg;   /* 1/256 log-odds as in the file */
	int32_t intercept_q16, cap_pos_q16, cap_neg_q16;
	uint8_t first, n;          /* its terms: terms[first .. first + n) */
	char kind[16];             /* provenance kind: "trained" or "prior" */
};

struct rw_model {
	unsigned version;
	char name[64];
	int32_t bias, cap, alone;  /* fusion, 1/256 log-odds; alone: the cap without agreement */
	int32_t bias_q16, cap_q16, alone_q16;
	struct rw_model_source src[RW_SRC_COUNT];
	struct rw_model_term terms[RW_F_COUNT];
	unsigned n_terms;
	/* Derived by the parser for rw_model_eval: each term indexed by its feature, and per source the features
	 * with a nonzero weight, so scoring walks only present, weighted features with no index indirection.
	 * Relative to lo: t = x - lo is inside the clamp when (uint64_t)t <= range (one compare for both ends), and
	 * clamp(x) - center = t - off. */
	struct {
		int64_t lo[RW_F_COUNT];     /* Q16 */
		uint64_t range[RW_F_COUNT]; /* hi - lo */
		int64_t off[RW_F_COUNT];    /* center - lo */
		int64_t mult[RW_F_COUNT];
	} eval;
	uint32_t eval_mask[RW_SRC_COUNT];
	char provenance[RW_MODEL_PROVENANCE_MAX]; /* the provenance lines, "source key text\n" */
};

struct rw_model_output {
	int32_t p_q16;                         /* fused probability of mining, 0..65536 */
	int32_t logit_q16;                     /* fused log-odds, after caps */
	uint32_t sources_used;                 /* RW_SRC_BIT()s that had a present feature */
	uint32_t agree;                        /* RW_SRC_BIT()s whose evidence is for mining (see Agreement) */
	int agreed;                            /* fpprobe and another source agree: `mining` is allowed */
	int32_t source_logit_q16[RW_SRC_COUNT];/* per-source log-odds after caps; 0 where unused */
	int32_t contrib_q16[RW_F_COUNT];       /* each feature's log-odds contribution, 0 where missing; filled
						* by rw_model_explain(), not by rw_model_eval() */
};

/* Load a model file. On error returns -EINVAL (or -errno for I/O), writes "file:line: message" into err and leaves
 * *m untouched. */
int rw_model_load(struct rw_model *m, const char *path, char *err, size_t errlen);
/* Same, from text in memory; `name` is used in messages. */
int rw_model_parse(struct rw_model *m, const char *name, const char *text, char *err, size_t errlen);

/* Score one feature vector: everything in *out but contrib_q16. Integer only; the hot path (every target, every
 * interval), kept under 300 instructions (tools/bench/model-callgrind.sh). */
void rw_model_eval(const struct rw_model *m, const struct rw_features *f, struct rw_model_output *out);
/* Fill out->contrib_q16 for the reasons: only needed for targets worth explaining. */
void rw_model_explain(const struct rw_model *m, const struct rw_features *f, struct rw_model_output *out);

/* 1 / (1 + e^-z), z and result Q16.16; table of 513 points over [-16, 16] with linear interpolation. */
int32_t rw_sigmoid_q16(int32_t z_q16);

/* Write the model back in the file format (parsable; what the trainer writes). */
void rw_model_print(const struct rw_model *m, FILE *out);

#endif
