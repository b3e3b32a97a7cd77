/* verdict: hysteresis (k of n to enter, m below to leave), since/first_seen, and reasons in words. */
#include <string.h>

#include "rigwatch/config.h"
#include "rigwatch/features.h"
#include "rigwatch/model.h"
#include "rigwatch/verdict.h"
#include "rw_test.h"

#define S 1000000000ull

static struct rw_config cfg;
static struct rw_features feat;

static void setup(unsigned k, unsigned n, unsigned m)
{
	rw_config_defaults(&cfg);
	cfg.verdict_enter_k = k;
	cfg.verdict_enter_n = n;
	cfg.verdict_leave_m = m;
	cfg.suspect_threshold_q16 = 65536 / 2;
	cfg.mining_threshold_q16 = 65536 * 8 / 10;
	memset(&feat, 0, sizeof(feat));
	feat.interval_ms = 1000;
}

static bool feed(struct rw_verdict_tracker *t, int32_t p, uint64_t time_ns)
{
	struct rw_model_output mo;
	memset(&mo, 0, sizeof(mo));
	mo.p_q16 = p;
	mo.agreed = 1;
	return rw_verdict_update(t, &cfg, &feat, &mo, time_ns);
}

/* Without the model's agreement a score over the mining threshold is `suspect` at most. */
static void test_mining_needs_agreement(void)
{
	struct rw_verdict_tracker t;
	struct rw_model_output mo;
	setup(3, 5, 2);
	rw_verdict_tracker_init(&t);
	memset(&mo, 0, sizeof(mo));
	mo.p_q16 = 65536;
	for (uint64_t i = 0; i < 10; i++)
		rw_verdict_update(&t, &cfg, &feat, &mo, i * 1000000000ull);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_SUSPECT);
	CU_ASSERT_EQUAL(t.st.detections, 0);
	mo.agreed = 1;
	for (uint64_t i = 10; i < 13; i++)
		rw_verdict_update(&t, &cfg, &feat, &mo, i * 1000000000ull);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_MINING);
}

#define HIGH 60000   /* over mining */
#define MID  40000   /* suspect */
#define LOW  1000

static void test_enter_k_of_n(void)
{
	struct rw_verdict_tracker t;
	setup(3, 5, 4);
	rw_verdict_tracker_init(&t);
	CU_ASSERT_EQUAL(feed(&t, HIGH, 1 * S), 1);       /* first interval: a new target */
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_CLEAN);
	CU_ASSERT_EQUAL(t.st.first_seen_ns, 1 * S);
	CU_ASSERT_EQUAL(feed(&t, LOW, 2 * S), 0);
	CU_ASSERT_EQUAL(feed(&t, HIGH, 3 * S), 0);       /* 2 of the last 3 */
	CU_ASSERT_EQUAL(feed(&t, LOW, 4 * S), 0);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_CLEAN);
	CU_ASSERT_EQUAL(feed(&t, HIGH, 5 * S), 1);       /* 3 of the last 5 */
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_MINING);
	CU_ASSERT_EQUAL(t.st.since_ns, 5 * S);
	CU_ASSERT_EQUAL(t.st.first_seen_ns, 1 * S);
	CU_ASSERT_EQUAL(t.st.detections, 1);
	CU_ASSERT_EQUAL(t.st.score_q16, HIGH);
}

static void test_window_slides(void)
{
	struct rw_verdict_tracker t;
	setup(3, 5, 4);
	rw_verdict_tracker_init(&t);
	/* high every third interval: never 3 in any 5 */
	for (unsigned i = 0; i < 30; i++) {
		feed(&t, i % 3 == 0 ? HIGH : LOW, i * S);
		CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_CLEAN);
	}
}

static void test_leave_after_m(void)
{
	struct rw_verdict_tracker t;
	setup(2, 3, 3);
	rw_verdict_tracker_init(&t);
	feed(&t, HIGH, 1 * S);
	feed(&t, HIGH, 2 * S);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_MINING);
	CU_ASSERT_EQUAL(feed(&t, LOW, 3 * S), 0);
	CU_ASSERT_EQUAL(feed(&t, LOW, 4 * S), 0);
	CU_ASSERT_EQUAL(feed(&t, HIGH, 5 * S), 0);       /* resets the run below */
	CU_ASSERT_EQUAL(feed(&t, LOW, 6 * S), 0);
	CU_ASSERT_EQUAL(feed(&t, LOW, 7 * S), 0);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_MINING);
	CU_ASSERT_EQUAL(t.st.intervals_in_verdict, 6);
	CU_ASSERT_EQUAL(feed(&t, LOW, 8 * S), 1);        /* third in a row below */
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_CLEAN);
	CU_ASSERT_EQUAL(t.st.since_ns, 8 * S);
	CU_ASSERT_EQUAL(t.st.first_seen_ns, 1 * S);
	/* the window was cleared: one high is not enough to come back, two are */
	CU_ASSERT_EQUAL(feed(&t, HIGH, 9 * S), 0);
	CU_ASSERT_EQUAL(feed(&t, HIGH, 10 * S), 1);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_MINING);
	CU_ASSERT_EQUAL(t.st.detections, 2);
}

/* A target the response froze or killed: held at `mining` however long it shows nothing, released when thawed. */
static void test_held_verdict(void)
{
	struct rw_verdict_tracker t;
	setup(2, 3, 3);
	rw_verdict_tracker_init(&t);
	feed(&t, HIGH, 1 * S);
	feed(&t, HIGH, 2 * S);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_MINING);
	int32_t score = t.st.score_q16;
	t.held = 1;
	for (unsigned i = 3; i < 40; i++)
		CU_ASSERT_EQUAL(feed(&t, LOW, i * S), 0);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_MINING);
	CU_ASSERT_EQUAL(t.st.score_q16, score);
	CU_ASSERT_EQUAL(t.st.since_ns, 2 * S);
	CU_ASSERT_EQUAL(t.st.detections, 1);
	CU_ASSERT_EQUAL(t.st.intervals_in_verdict, 38);
	/* thawed: the tracker judges again, and leaves after m intervals below */
	t.held = 0;
	CU_ASSERT_EQUAL(feed(&t, LOW, 40 * S), 0);
	CU_ASSERT_EQUAL(feed(&t, LOW, 41 * S), 0);
	CU_ASSERT_EQUAL(feed(&t, LOW, 42 * S), 1);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_CLEAN);
}

static void test_suspect_path(void)
{
	struct rw_verdict_tracker t;
	setup(2, 3, 2);
	rw_verdict_tracker_init(&t);
	feed(&t, MID, 1 * S);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_CLEAN);
	CU_ASSERT_EQUAL(feed(&t, MID, 2 * S), 1);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_SUSPECT);
	CU_ASSERT_EQUAL(feed(&t, HIGH, 3 * S), 0);
	CU_ASSERT_EQUAL(feed(&t, HIGH, 4 * S), 1);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_MINING);
	/* mining -> suspect after m intervals at suspect level */
	feed(&t, MID, 5 * S);
	CU_ASSERT_EQUAL(feed(&t, MID, 6 * S), 1);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_SUSPECT);
	feed(&t, LOW, 7 * S);
	CU_ASSERT_EQUAL(feed(&t, LOW, 8 * S), 1);
	CU_ASSERT_EQUAL(t.st.verdict, RW_VERDICT_CLEAN);
	CU_ASSERT_EQUAL(t.st.detections, 1);
}

static void test_reason_texts(void)
{
	char buf[128];
	rw_reason_describe(RW_F_FP_MODE_EVENNESS, (int32_t)(0.98 * 65536 + 0.5), 1000, NULL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "FP rounding modes 98 % even (100: all four in equal shares)");
	rw_reason_describe(RW_F_FP_TRACED_THREADS, 2 << 16, 1000, NULL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2 busy threads traced by another process (FP state unreadable)");
	rw_reason_describe(RW_F_ANON_GIB, 256 * 64, 1000, NULL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "256 MiB of anonymous memory");
	rw_reason_describe(RW_F_PD_PER_INSN, (int32_t)(0.21 * 65536 + 0.5), 1000, NULL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "packed-double FP 0.21 per instruction");
	rw_reason_describe(RW_F_IND_RULES, 1 << 16, 1000, "cmdline contains stratum+tcp://", buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "cmdline contains stratum+tcp://");
	rw_reason_describe(RW_F_FP_CHANGE_RATE, 3 << 14, 500, NULL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "FP rounding mode changed between 75 % of consecutive reads of a thread");
	rw_reason_describe(RW_F_CORES, (int32_t)(1.98 * 65536 + 0.5), 1000, NULL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "1.98 CPU cores used over 1 s");
	rw_reason_describe(RW_F_MEMORY_GIB, (int32_t)(2080.0 / 1024 * 65536), 1000, NULL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2.03 GiB of memory");
	rw_reason_describe(RW_F_MEMORY_GIB, 256 * 64, 1000, NULL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "256 MiB of memory");
	rw_reason_describe(RW_F_POOL_CONNECTIONS, 2 << 16, 1000, NULL, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "2 TCP connections to mining-pool ports");
}

static void test_reasons_ranked_by_contribution(void)
{
	struct rw_model_output mo;
	struct rw_reason r[RW_REASONS_MAX];
	memset(&mo, 0, sizeof(mo));
	memset(&feat, 0, sizeof(feat));
	feat.interval_ms = 1000;
	feat.present = RW_F_BIT(RW_F_FP_MODE_EVENNESS) | RW_F_BIT(RW_F_IND_RULES) | RW_F_BIT(RW_F_CORES) |
		       RW_F_BIT(RW_F_MEMORY_GIB);
	feat.v[RW_F_FP_MODE_EVENNESS] = 65536;
	feat.v[RW_F_IND_RULES] = 1 << 16;
	feat.v[RW_F_CORES] = 1 << 16;
	strcpy(feat.evidence, "cmdline contains stratum+tcp://");
	mo.contrib_q16[RW_F_FP_MODE_EVENNESS] = 3 << 16;
	mo.contrib_q16[RW_F_IND_RULES] = 5 << 16;
	mo.contrib_q16[RW_F_CORES] = 1 << 10;
	mo.contrib_q16[RW_F_MEMORY_GIB] = -(1 << 16);    /* against: not a reason */
	mo.contrib_q16[RW_F_IPC] = 9 << 16;              /* not present: not a reason */
	unsigned n = rw_verdict_reasons(&feat, &mo, r, RW_REASONS_MAX);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(r[0].feature, "indicator_rules");
	CU_ASSERT_EQUAL(r[0].source, RW_SRC_INDICATORS);
	CU_ASSERT_STRING_EQUAL(r[0].detail, "cmdline contains stratum+tcp://");
	CU_ASSERT_STRING_EQUAL(r[1].detail, "FP rounding modes 100 % even (100: all four in equal shares)");
	CU_ASSERT_EQUAL(r[1].value_q16, 65536);
	CU_ASSERT_STRING_EQUAL(r[2].feature, "cores");
	CU_ASSERT_EQUAL(rw_verdict_reasons(&feat, &mo, r, 1), 1);
	CU_ASSERT_STRING_EQUAL(rw_verdict_name(RW_VERDICT_SUSPECT), "suspect");
}

static const rw_test tests[] = {
	RW_TEST(test_enter_k_of_n),
	RW_TEST(test_window_slides),
	RW_TEST(test_leave_after_m),
	RW_TEST(test_suspect_path),
	RW_TEST(test_held_verdict),
	RW_TEST(test_reason_texts),
	RW_TEST(test_mining_needs_agreement),
	RW_TEST(test_reasons_ranked_by_contribution),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("verdict", tests);
}
