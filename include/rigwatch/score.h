/* score: the one path from a sample to a verdict, shared by the live agent and `rigwatch replay` (cmd_replay.c):
 * features (with the target's window) -> model -> verdict tracker. Owns the per-target state, keyed by cgroup id. */
#ifndef RIGWATCH_SCORE_H
#define RIGWATCH_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "rigwatch/config.h"
#include "rigwatch/features.h"
#include "rigwatch/model.h"
#include "rigwatch/sample.h"
#include "rigwatch/verdict.h"

struct rw_score_target {
	uint64_t cgroup_id;            /* 0 = free slot */
	uint64_t last_seen_ns;
	struct rw_features_state fstate;
	struct rw_verdict_tracker tracker;
	struct rw_features features;   /* of the latest sample */
	struct rw_model_output out;    /* of the latest sample */
};

struct rw_scorer {
	const struct rw_config *cfg;   /* borrowed; must outlive the scorer */
	const struct rw_model *model;  /* borrowed */
	struct rw_score_target *slots; /* open addressing, power-of-two size */
	size_t cap, n;
};

/* Returns 0 or -ENOMEM. */
int rw_scorer_init(struct rw_scorer *sc, const struct rw_config *cfg, const struct rw_model *model);
void rw_scorer_free(struct rw_scorer *sc);

/* Score one sample of one target: features, model, tracker. Copies the target's verdict state to *out and sets
 * *changed when the verdict changed (a new target's first interval counts); either may be NULL. Returns 0,
 * -ENOMEM, or -EINVAL for cgroup id 0, which no target has. */
int rw_scorer_score(struct rw_scorer *sc, const struct rw_sample *s, struct rw_verdict_state *out, bool *changed);

/* Hold a known target's verdict as it is (see rw_verdict_update), or release it. Unknown ids are ignored. */
void rw_scorer_hold(struct rw_scorer *sc, uint64_t cgroup_id, int held);

/* The state of a target, or NULL if unknown. */
const struct rw_score_target *rw_scorer_find(const struct rw_scorer *sc, uint64_t cgroup_id);

/* Forget targets not scored since before_ns (vanished cgroups). Returns how many were dropped. */
size_t rw_scorer_expire(struct rw_scorer *sc, uint64_t before_ns);

#endif
