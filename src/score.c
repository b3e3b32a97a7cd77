/* score: sample -> features -> model -> verdict, with the per-target state in an open-addressing table.
 * The live agent and `rigwatch replay` both come through rw_scorer_score(), so a replayed trace is judged
 * exactly as it was live. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rigwatch/score.h"
#include "rigwatch/trace.h"

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

int rw_scorer_score(struct rw_scorer *sc, const struct rw_sample *s, struct rw_verdict_state *out)
{
	/* cgroup id 0 never names a cgroup; key it as 1 to keep "free" unambiguous (only synthetic tests do this) */
	uint64_t id = s->cgroup_id ? s->cgroup_id : 1;
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
	int changed = rw_verdict_update(&t->tracker, sc->cfg, &t->features, &t->out, s->time_ns);
	if (out)
		*out = t->tracker.st;
	return changed;
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

void rw_format_time_ns(uint64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char b[32];
	gmtime_r(&sec, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", b, (unsigned)(ns / 1000000u % 1000u));
}

static void json_str(FILE *out, const char *s)
{
	putc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			putc(*p, out);
	}
	putc('"', out);
}

static void json_q16(FILE *out, int32_t v)
{
	char b[32];
	rw_format_q16(v, b, sizeof(b));
	fputs(b, out);
}

void rw_verdict_json(FILE *out, const struct rw_sample *s, const struct rw_verdict_state *v, enum rw_verdict prev)
{
	char t[40], fs[40], since[40];
	rw_format_time_ns(s->time_ns, t, sizeof(t));
	rw_format_time_ns(v->first_seen_ns, fs, sizeof(fs));
	rw_format_time_ns(v->since_ns, since, sizeof(since));
	fprintf(out, "{\"time\":\"%s\",\"cgroup\":", t);
	json_str(out, s->cgroup);
	fprintf(out, ",\"cgroup_id\":%llu,\"verdict\":\"%s\",\"previous\":\"%s\",\"score\":",
		(unsigned long long)s->cgroup_id, rw_verdict_name(v->verdict), rw_verdict_name(prev));
	json_q16(out, v->score_q16);
	fputs(",\"sources\":[", out);
	int first = 1;
	for (unsigned i = 0; i < RW_SRC_COUNT; i++) {
		if (v->sources_used & RW_SRC_BIT(i)) {
			fprintf(out, "%s\"%s\"", first ? "" : ",", rw_source_name(i));
			first = 0;
		}
	}
	fputs("],\"reasons\":[", out);
	for (unsigned i = 0; i < v->n_reasons && i < RW_REASONS_MAX; i++) {
		const struct rw_reason *r = &v->reasons[i];
		fprintf(out, "%s{\"source\":\"%s\",\"feature\":", i ? "," : "", rw_source_name(r->source));
		json_str(out, r->feature);
		fputs(",\"value\":", out);
		json_q16(out, r->value_q16);
		fputs(",\"detail\":", out);
		json_str(out, r->detail);
		putc('}', out);
	}
	fprintf(out, "],\"first_seen\":\"%s\",\"since\":\"%s\"}", fs, since);
}

int rw_replay_file(const char *path, const struct rw_config *cfg, const struct rw_model *m, FILE *out, char *err,
		   size_t errlen)
{
	struct rw_trace_reader r;
	struct rw_trace_header *h = malloc(sizeof(*h));
	struct rw_sample *s = malloc(sizeof(*s));
	struct rw_scorer sc;
	struct rw_verdict_state *v = malloc(sizeof(*v));
	int rc = -ENOMEM;

	memset(&sc, 0, sizeof(sc));
	if (!h || !s || !v) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_free;
	}
	if ((rc = rw_trace_reader_open(&r, path, h, err, errlen)) < 0)
		goto out_free;
	if ((rc = rw_scorer_init(&sc, cfg, m)) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		rc = rw_trace_next(&r, s, err, errlen);
		if (rc <= 0)
			break;
		const struct rw_score_target *t = rw_scorer_find(&sc, s->cgroup_id ? s->cgroup_id : 1);
		enum rw_verdict prev = t ? t->tracker.st.verdict : RW_VERDICT_CLEAN;
		int changed = rw_scorer_score(&sc, s, v);
		if (changed < 0) {
			rc = changed;
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
		/* A new target starting clean is not news; print it only if it starts otherwise. */
		if (changed && (t || v->verdict != RW_VERDICT_CLEAN)) {
			rw_verdict_json(out, s, v, prev);
			putc('\n', out);
		}
	}
	fflush(out);
out:
	rw_trace_reader_close(&r);
	rw_scorer_free(&sc);
out_free:
	free(h);
	free(s);
	free(v);
	return rc;
}
