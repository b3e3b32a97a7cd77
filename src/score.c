/* score: sample -> features -> model -> verdict, with the per-target state in an open-addressing table.
 * The live agent and `rigwatch replay` (cmd_replay.c) both come through rw_scorer_score(), so a replayed trace is
 * judged exactly as it was live. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/score.h"

static size_t slot_of(uint64_t id, size_t cap)
{
	/* cgroup ids are inode numbers, often sequential: mix them (splitmix64 finaliser) */
	id ^= id >> 30;
	id *= 0xbf58476d1ce4e5b9ull;
	id ^= id >> 27;
	id *= 0x94d049bb133111ebull;
	id ^= id >> 31;
	return (size_t)id & (cap - 1);
}

int rw_scorer_init(struct rw_scorer *sc, const struct rw_config *cfg, const struct rw_model *model)
{
	memset(sc, 0, sizeof(*sc));
	sc->cfg = cfg;
	sc->model = model;
	sc->cap = 64;
	sc->slots = calloc(sc->cap, sizeof(*sc->slots));
	return sc->slots ? 0 : -ENOMEM;
}

void rw_scorer_free(struct rw_scorer *sc)
{
	free(sc->slots);
	sc->slots = NULL;
	sc->cap = sc->n = 0;
}

static struct rw_score_target *lookup(const struct rw_scorer *sc, uint64_t id)
{
	for (size_t i = slot_of(id, sc->cap);; i = (i + 1) & (sc->cap - 1)) {
		struct rw_score_target *t = &sc->slots[i];
		if (t->cgroup_id == id || t->cgroup_id == 0)
			return t;
	}
}

static int rehash(struct rw_scorer *sc, size_t cap)
{
	struct rw_score_target *old = sc->slots;
	size_t oldcap = sc->cap;
	struct rw_score_target *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	sc->slots = slots;
	sc->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].cgroup_id)
			*lookup(sc, old[i].cgroup_id) = old[i];
	free(old);
	return 0;
}

const struct rw_score_target *rw_scorer_find(const struct rw_scorer *sc, uint64_t cgroup_id)
{
	if (cgroup_id == 0 || !sc->slots)
		return NULL;
	const struct rw_score_target *t = lookup(sc, cgroup_id);
	return t->cgroup_id ? t : NULL;
}

void rw_scorer_hold(struct rw_scorer *sc, uint64_t cgroup_id, int held)
{
	if (cgroup_id == 0 || !sc->slots)
		return;
	struct rw_score_target *t = lookup(sc, cgroup_id);
	if (t->cgroup_id)
		t->tracker.held = held;
}

int rw_scorer_score(struct rw_scorer *sc, const struct rw_sample *s, struct rw_verdict_state *out, bool *changed)
{
	uint64_t id = s->cgroup_id;
	if (id == 0)
		return -EINVAL; /* names no target, and marks a free slot */
	struct rw_score_target *t = lookup(sc, id);

	if (!t->cgroup_id) {
		/* keep the table at most half full */
		if ((sc->n + 1) * 2 > sc->cap) {
			int rc = rehash(sc, sc->cap * 2);
			if (rc < 0)
				return rc;
			t = lookup(sc, id);
		}
		memset(t, 0, sizeof(*t));
		t->cgroup_id = id;
		rw_features_state_init(&t->fstate);
		rw_verdict_tracker_init(&t->tracker);
		sc->n++;
	}
	t->last_seen_ns = s->time_ns;
	rw_features_compute(&t->fstate, s, &t->features);
	rw_model_eval(sc->model, &t->features, &t->out);
	/* Reasons are for targets an operator will look at: not clean, or scoring at least suspect. */
	if (t->out.p_q16 >= sc->cfg->suspect_threshold_q16 || t->tracker.st.verdict != RW_VERDICT_CLEAN)
		rw_model_explain(sc->model, &t->features, &t->out);
	else
		memset(t->out.contrib_q16, 0, sizeof(t->out.contrib_q16));
	bool ch = rw_verdict_update(&t->tracker, sc->cfg, &t->features, &t->out, s->time_ns);
	if (out)
		*out = t->tracker.st;
	if (changed)
		*changed = ch;
	return 0;
}

size_t rw_scorer_expire(struct rw_scorer *sc, uint64_t before_ns)
{
	size_t dropped = 0;
	for (size_t i = 0; i < sc->cap; i++) {
		if (sc->slots[i].cgroup_id && sc->slots[i].last_seen_ns < before_ns) {
			sc->slots[i].cgroup_id = 0;
			dropped++;
		}
	}
	if (dropped) {
		/* Re-insert the survivors so no probe chain is broken by the holes. */
		sc->n -= dropped;
		if (rehash(sc, sc->cap) < 0) {
			/* Out of memory: the holes would break lookups, so rebuild in place the slow way. */
			for (size_t i = 0; i < sc->cap; i++) {
				if (!sc->slots[i].cgroup_id)
					continue;
				struct rw_score_target tmp = sc->slots[i];
				sc->slots[i].cgroup_id = 0;
				*lookup(sc, tmp.cgroup_id) = tmp;
			}
		}
	}
	return dropped;
}
