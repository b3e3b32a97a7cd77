/* targets: an open-addressing hash table of workload cgroups keyed by cgroup id. Churn is the normal case
 * (containers come and go every second on CI runners), so removal uses backward-shift deletion: no tombstones
 * that would slowly fill the table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/targets.h"

struct rw_targets {
	struct rw_target **slots;
	unsigned cap;   /* power of two */
	unsigned count;
};

static unsigned slot_of(const struct rw_targets *t, uint64_t id)
{
	/* cgroup inode numbers are sequential; a multiplicative hash spreads them. */
	return (unsigned)((id * 0x9E3779B97F4A7C15ull) >> 32) & (t->cap - 1);
}

int rw_targets_new(struct rw_targets **out)
{
	struct rw_targets *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->cap = 64;
	t->slots = calloc(t->cap, sizeof *t->slots);
	if (!t->slots) {
		free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void rw_targets_free(struct rw_targets *t, void (*release)(struct rw_target *, void *), void *arg)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->cap; i++) {
		if (t->slots[i]) {
			if (release)
				release(t->slots[i], arg);
			free(t->slots[i]);
		}
	}
	free(t->slots);
	free(t);
}

struct rw_target *rw_targets_find(struct rw_targets *t, uint64_t id)
{
	for (unsigned i = slot_of(t, id);; i = (i + 1) & (t->cap - 1)) {
		if (!t->slots[i])
			return NULL;
		if (t->slots[i]->id == id)
			return t->slots[i];
	}
}

static int grow(struct rw_targets *t)
{
	unsigned old_cap = t->cap;
	struct rw_target **old = t->slots;
	struct rw_target **slots = calloc((size_t)old_cap * 2, sizeof *slots);
	if (!slots)
		return -ENOMEM;
	t->slots = slots;
	t->cap = old_cap * 2;
	for (unsigned i = 0; i < old_cap; i++) {
		if (!old[i])
			continue;
		unsigned j = slot_of(t, old[i]->id);
		while (t->slots[j])
			j = (j + 1) & (t->cap - 1);
		t->slots[j] = old[i];
	}
	free(old);
	return 0;
}

int rw_targets_get(struct rw_targets *t, uint64_t id, struct rw_target **out, bool *created)
{
	struct rw_target *found = rw_targets_find(t, id);
	*created = false;
	*out = found;
	if (found)
		return 0;
	if ((t->count + 1) * 4 > t->cap * 3 && grow(t) < 0)
		return -ENOMEM;
	struct rw_target *n = calloc(1, sizeof *n);
	if (!n)
		return -ENOMEM;
	n->id = id;
	unsigned i = slot_of(t, id);
	while (t->slots[i])
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = n;
	t->count++;
	*created = true;
	*out = n;
	return 0;
}

/* Backward-shift deletion for linear probing. */
static void remove_slot(struct rw_targets *t, unsigned i)
{
	unsigned mask = t->cap - 1;
	t->slots[i] = NULL;
	t->count--;
	for (unsigned j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
		unsigned home = slot_of(t, t->slots[j]->id);
		/* move slots[j] into the hole at i if its home is not in the cyclic range (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			t->slots[j] = NULL;
			i = j;
		}
	}
}

unsigned rw_targets_sweep(struct rw_targets *t, uint64_t seq, void (*release)(struct rw_target *, void *), void *arg)
{
	unsigned removed = 0;
	for (unsigned i = 0; i < t->cap;) {
		struct rw_target *x = t->slots[i];
		if (x && x->seen_seq != seq) {
			if (release)
				release(x, arg);
			free(x);
			remove_slot(t, i);
			removed++;
			continue; /* a shifted entry may now sit at i */
		}
		i++;
	}
	return removed;
}

unsigned rw_targets_count(const struct rw_targets *t) { return t->count; }

struct rw_target *rw_targets_next(struct rw_targets *t, unsigned *cursor)
{
	while (*cursor < t->cap) {
		struct rw_target *x = t->slots[(*cursor)++];
		if (x)
			return x;
	}
	return NULL;
}
