/* targets suite: insert, find, sweep with churn; backward-shift deletion keeps every survivor reachable. */
#include <stdlib.h>

#include "rigwatch/targets.h"
#include "rw_test.h"

static unsigned released;

static void count_release(struct rw_target *t, void *arg)
{
	(void)t;
	(void)arg;
	released++;
}

static void test_insert_find(void)
{
	struct rw_targets *t;
	bool created;
	CU_ASSERT_EQUAL_FATAL(rw_targets_new(&t), 0);
	for (uint64_t id = 1; id <= 1000; id++) {
		struct rw_target *x;
		CU_ASSERT_EQUAL_FATAL(rw_targets_get(t, id * 7, &x, &created), 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(x);
		CU_ASSERT_TRUE(created);
		CU_ASSERT_EQUAL(x->id, id * 7);
	}
	CU_ASSERT_EQUAL(rw_targets_count(t), 1000);
	struct rw_target *again;
	CU_ASSERT_EQUAL(rw_targets_get(t, 7, &again, &created), 0);
	CU_ASSERT_PTR_EQUAL(again, rw_targets_find(t, 7));
	CU_ASSERT_FALSE(created);
	CU_ASSERT_PTR_NULL(rw_targets_find(t, 8));
	unsigned cur = 0, n = 0;
	while (rw_targets_next(t, &cur))
		n++;
	CU_ASSERT_EQUAL(n, 1000);
	released = 0;
	rw_targets_free(t, count_release, NULL);
	CU_ASSERT_EQUAL(released, 1000);
}

/* Many generations of churn: each round keeps a random half, adds new ids, and checks the table's contents
 * against a plain array. */
static void test_churn_sweep(void)
{
	struct rw_targets *t;
	struct rw_target *x;
	bool created;
	enum { N = 3000 };
	static uint8_t alive[N * 40];
	CU_ASSERT_EQUAL_FATAL(rw_targets_new(&t), 0);
	srand(7);
	uint64_t next_id = 1;
	for (uint64_t seq = 1; seq <= 40; seq++) {
		for (uint64_t id = 1; id < next_id; id++) {
			if (alive[id] && rand() % 2) {
				CU_ASSERT_EQUAL_FATAL(rw_targets_get(t, id, &x, &created), 0);
				x->seen_seq = seq;
				CU_ASSERT_FALSE(created);
			} else {
				alive[id] = 0;
			}
		}
		for (int k = 0; k < 75; k++, next_id++) {
			CU_ASSERT_EQUAL_FATAL(rw_targets_get(t, next_id, &x, &created), 0);
			x->seen_seq = seq;
			alive[next_id] = 1;
		}
		released = 0;
		unsigned before = rw_targets_count(t);
		unsigned removed = rw_targets_sweep(t, seq, count_release, NULL);
		CU_ASSERT_EQUAL(removed, released);
		CU_ASSERT_EQUAL(rw_targets_count(t), before - removed);
		unsigned want = 0;
		for (uint64_t id = 1; id < next_id; id++) {
			struct rw_target *found = rw_targets_find(t, id);
			CU_ASSERT_EQUAL(found != NULL, alive[id] != 0);
			want += alive[id];
		}
		CU_ASSERT_EQUAL(rw_targets_count(t), want);
	}
	rw_targets_free(t, NULL, NULL);
}

static const rw_test tests[] = {
	RW_TEST(test_insert_find),
	RW_TEST(test_churn_sweep),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("targets", tests); }
