/* test_events: the counter tables. Shape checks, and every x86 string re-encoded by the installed libpfm4 with
 * LIBPFM_FORCE_PMU set, compared with the config libpfm4 4.13 gave for it (the table below).
 *
 * libpfm4 reads LIBPFM_FORCE_PMU once per process in pfm_initialize(), so each forced PMU is tried in a forked
 * child that sets the variable before its first rw_pmu_init(). The parent never initialises libpfm4. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rigwatch/events.h"
#include "rigwatch/log.h"
#include "rigwatch/pmu.h"
#include "rw_test.h"

struct expect {
	const char *name;
	uint32_t type;
	uint64_t config, config1;
};

/* Encoded by libpfm4 4.13.0-1 with LIBPFM_FORCE_PMU=<pmu>. The clx rows equal the skx ones, as they must (same
 * event table). perf:: values are the kernel's generic PERF_TYPE_HARDWARE/SOFTWARE configs. */
static const struct expect expected[] = {
	{ "skx::INST_RETIRED:ANY_P", 4, 0xc0, 0 },
	{ "skx::UNHALTED_CORE_CYCLES", 4, 0x3c, 0 },
	{ "skx::LONGEST_LAT_CACHE:MISS", 4, 0x412e, 0 },
	{ "skx::BR_MISP_RETIRED:ALL_BRANCHES", 4, 0xc5, 0 },
	{ "skx::FP_ARITH:SCALAR_DOUBLE", 4, 0x1c7, 0 },
	{ "skx::FP_ARITH:128B_PACKED_DOUBLE", 4, 0x4c7, 0 },
	{ "skx::FP_ARITH:256B_PACKED_DOUBLE", 4, 0x10c7, 0 },

	{ "clx::INST_RETIRED:ANY_P", 4, 0xc0, 0 },
	{ "clx::UNHALTED_CORE_CYCLES", 4, 0x3c, 0 },
	{ "clx::LONGEST_LAT_CACHE:MISS", 4, 0x412e, 0 },
	{ "clx::BR_MISP_RETIRED:ALL_BRANCHES", 4, 0xc5, 0 },
	{ "clx::FP_ARITH:SCALAR_DOUBLE", 4, 0x1c7, 0 },
	{ "clx::FP_ARITH:128B_PACKED_DOUBLE", 4, 0x4c7, 0 },
	{ "clx::FP_ARITH:256B_PACKED_DOUBLE", 4, 0x10c7, 0 },

	{ "icx::INST_RETIRED:ANY_P", 4, 0xc0, 0 },
	{ "icx::UNHALTED_CORE_CYCLES", 4, 0x3c, 0 },
	{ "icx::LONGEST_LAT_CACHE:MISS", 4, 0x412e, 0 },
	{ "icx::BR_MISP_RETIRED:ALL_BRANCHES", 4, 0xc5, 0 },
	{ "icx::FP_ARITH_INST_RETIRED:SCALAR_DOUBLE", 4, 0x1c7, 0 },
	{ "icx::FP_ARITH_INST_RETIRED:128B_PACKED_DOUBLE", 4, 0x4c7, 0 },
	{ "icx::FP_ARITH_INST_RETIRED:256B_PACKED_DOUBLE", 4, 0x10c7, 0 },

	{ "spr::INST_RETIRED:ANY_P", 4, 0xc0, 0 },
	{ "spr::UNHALTED_CORE_CYCLES", 4, 0x3c, 0 },
	{ "spr::LONGEST_LAT_CACHE:MISS", 4, 0x412e, 0 },
	{ "spr::BR_MISP_RETIRED:ALL_BRANCHES", 4, 0xc5, 0 },
	{ "spr::FP_ARITH_INST_RETIRED:SCALAR_DOUBLE", 4, 0x1c7, 0 },
	{ "spr::FP_ARITH_INST_RETIRED:128B_PACKED_DOUBLE", 4, 0x4c7, 0 },
	{ "spr::FP_ARITH_INST_RETIRED:256B_PACKED_DOUBLE", 4, 0x10c7, 0 },

	{ "amd64_fam17h_zen2::RETIRED_INSTRUCTIONS", 4, 0xc0, 0 },
	{ "amd64_fam17h_zen2::CYCLES_NOT_IN_HALT", 4, 0x76, 0 },
	{ "amd64_fam17h_zen2::RETIRED_SSE_AVX_FLOPS:ANY", 4, 0xf03, 0 },
	{ "amd64_fam17h_zen2::DATA_CACHE_REFILLS_FROM_SYSTEM:LS_MABRESP_LCL_DRAM:LS_MABRESP_RMT_DRAM", 4, 0x4843, 0 },
	{ "amd64_fam17h_zen2::RETIRED_BRANCH_INSTRUCTIONS_MISPREDICTED", 4, 0xc3, 0 },

	{ "amd64_fam19h_zen3::RETIRED_INSTRUCTIONS", 4, 0xc0, 0 },
	{ "amd64_fam19h_zen3::CYCLES_NOT_IN_HALT", 4, 0x76, 0 },
	{ "amd64_fam19h_zen3::RETIRED_SSE_AVX_FLOPS:ANY", 4, 0xf03, 0 },
	{ "amd64_fam19h_zen3::DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:MEM_IO_LCL:MEM_IO_RMT", 4, 0x4843, 0 },
	{ "amd64_fam19h_zen3::RETIRED_BRANCH_INSTRUCTIONS_MISPREDICTED", 4, 0xc3, 0 },

	{ "amd64_fam19h_zen4::RETIRED_INSTRUCTIONS", 4, 0xc0, 0 },
	{ "amd64_fam19h_zen4::CYCLES_NOT_IN_HALT", 4, 0x76, 0 },
	{ "amd64_fam19h_zen4::RETIRED_FP_OPS_BY_WIDTH:PACK128_UOPS_RETIRED", 4, 0x808, 0 },
	{ "amd64_fam19h_zen4::RETIRED_INT_OPS:SSE_AVX_AES", 4, 0x500b, 0 },
	{ "amd64_fam19h_zen4::DEMAND_DATA_CACHE_FILLS_FROM_SYSTEM:DRAM_IO_NEAR:DRAM_IO_FAR", 4, 0x4843, 0 },
	{ "amd64_fam19h_zen4::RETIRED_BRANCH_INSTRUCTIONS_MISPREDICTED", 4, 0xc3, 0 },
	{ "amd64_fam19h_zen4::RETIRED_FP_OPS_BY_WIDTH:SCALAR_UOPS_RETIRED", 4, 0x408, 0 },
	{ "amd64_fam19h_zen4::RETIRED_FP_OPS_BY_WIDTH:PACK256_UOPS_RETIRED", 4, 0x1008, 0 },

	{ "perf::instructions", 0, 0x1, 0 },
	{ "perf::cycles", 0, 0x0, 0 },
	{ "perf::cache-misses", 0, 0x3, 0 },
	{ "perf::branch-misses", 0, 0x5, 0 },

#if defined(__aarch64__)
	/* Arm PMUv3 architected event numbers, as the arm64 libpfm4 4.13.0-1 encodes them for all four cores
	 * (checked with LIBPFM_FORCE_PMU under qemu-aarch64; `make check-arm64` runs this suite there). */
#define NEOVERSE_EXPECT(P) \
	{ P "::INST_RETIRED", 4, 0x08, 0 }, { P "::CPU_CYCLES", 4, 0x11, 0 }, { P "::ASE_SPEC", 4, 0x74, 0 }, \
	{ P "::CRYPTO_SPEC", 4, 0x77, 0 }, { P "::LL_CACHE_MISS_RD", 4, 0x37, 0 }, \
	{ P "::BR_MIS_PRED_RETIRED", 4, 0x22, 0 }
	NEOVERSE_EXPECT("arm_n1"), NEOVERSE_EXPECT("arm_v1"), NEOVERSE_EXPECT("arm_n2"), NEOVERSE_EXPECT("arm_v2"),
#endif
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

/* qemu-user (check-arm64) has no perf_event_open: software events cannot be accepted there. A real kernel
 * refuses this attr (no PMU has that type) with ENOENT, not ENOSYS. */
static bool perf_syscall_missing(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = 0x7fffff00u;
	long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd >= 0)
		close((int)fd);
	return fd < 0 && errno == ENOSYS;
}

static const struct expect *find_expected(const char *name)
{
	for (size_t i = 0; i < N_EXPECTED; i++)
		if (strcmp(expected[i].name, name) == 0)
			return &expected[i];
	return NULL;
}

static void test_role_names_unique(void)
{
	for (unsigned a = 0; a < RW_CTR_COUNT; a++) {
		const char *na = rw_counter_role_name((enum rw_counter_role)a);
		CU_ASSERT_PTR_NOT_NULL_FATAL(na);
		CU_ASSERT_STRING_NOT_EQUAL(na, "unknown");
		for (unsigned b = a + 1; b < RW_CTR_COUNT; b++)
			CU_ASSERT_STRING_NOT_EQUAL(na, rw_counter_role_name((enum rw_counter_role)b));
	}
	CU_ASSERT_STRING_EQUAL(rw_counter_role_name(RW_CTR_COUNT), "unknown");
	CU_ASSERT_STRING_EQUAL(rw_counter_role_name(RW_CTR_INSTRUCTIONS), "instructions");
	CU_ASSERT_STRING_EQUAL(rw_counter_role_name(RW_CTR_TASK_CLOCK), "task_clock");
}

static void test_table_shape(void)
{
	unsigned n;
	const struct rw_event_table *const *t = rw_events_tables(&n);
	bool seen_generic = false;

	CU_ASSERT_FATAL(n >= 8);
	for (unsigned i = 0; i < n; i++) {
		const struct rw_event_table *tb = t[i];
		uint32_t roles = 0;
		unsigned slots[8] = { 0 }, used[8] = { 0 };
		char prefix[64];

		snprintf(prefix, sizeof prefix, "%s::", tb->pmu);
		CU_ASSERT_PTR_EQUAL(rw_events_table_for_pmu(tb->pmu), tb);
		CU_ASSERT(tb->n_groups >= 1 && tb->n_groups <= 8);
		CU_ASSERT(tb->n_events >= 4);
		for (unsigned e = 0; e < tb->n_events; e++) {
			const struct rw_event_def *d = &tb->events[e];
			CU_ASSERT(d->role < RW_CTR_FIRST_SOFTWARE);        /* software events are the pmu module's */
			CU_ASSERT_FALSE(roles & RW_CTR_BIT(d->role));      /* one row per role */
			roles |= RW_CTR_BIT(d->role);
			CU_ASSERT_EQUAL(strncmp(d->name, prefix, strlen(prefix)), 0);
			CU_ASSERT_FATAL(d->group < tb->n_groups);
			slots[d->group] += d->slots;
			used[d->group]++;
			if (d->role == RW_CTR_INSTRUCTIONS || d->role == RW_CTR_CYCLES)
				CU_ASSERT_EQUAL(d->group, 0);
		}
		CU_ASSERT(roles & RW_CTR_BIT(RW_CTR_INSTRUCTIONS));
		CU_ASSERT(roles & RW_CTR_BIT(RW_CTR_CYCLES));
		for (unsigned g = 0; g < tb->n_groups; g++) {
			CU_ASSERT(used[g] > 0);                           /* groups are contiguous */
			CU_ASSERT(slots[g] <= RW_EVENTS_GROUP_SLOTS);
		}
		if (tb == rw_events_generic())
			seen_generic = true;
	}
	CU_ASSERT(seen_generic);
	CU_ASSERT_STRING_EQUAL(rw_events_generic()->pmu, "perf");
	CU_ASSERT_PTR_NULL(rw_events_table_for_pmu("nosuchpmu"));
	CU_ASSERT_PTR_NULL(rw_events_table_for_pmu(NULL));
	/* The traps the notes warn about. */
	CU_ASSERT_PTR_NOT_NULL(rw_events_table_for_pmu("clx"));
	CU_ASSERT_PTR_NOT_EQUAL(rw_events_table_for_pmu("clx"), rw_events_table_for_pmu("skx"));
	CU_ASSERT_PTR_NOT_NULL(rw_events_table_for_pmu("amd64_fam19h_zen4"));
#if defined(__aarch64__)
	CU_ASSERT_PTR_NOT_NULL(rw_events_table_for_pmu("arm_n1"));
#else
	CU_ASSERT_PTR_NULL(rw_events_table_for_pmu("arm_n1"));
#endif
}

/* Crypto roles exist exactly where the CPU has an event: Zen4 and ARM, not Intel, Zen2/3 or generic. */
static void test_crypto_only_where_it_exists(void)
{
	unsigned n;
	const struct rw_event_table *const *t = rw_events_tables(&n);
	for (unsigned i = 0; i < n; i++) {
		bool has = false;
		for (unsigned e = 0; e < t[i]->n_events; e++)
			has |= t[i]->events[e].role == RW_CTR_CRYPTO;
		bool want = strcmp(t[i]->pmu, "amd64_fam19h_zen4") == 0 || strncmp(t[i]->pmu, "arm_", 4) == 0;
		if (has != want)
			fprintf(stderr, "table %s: crypto role %s\n", t[i]->pmu, has ? "unexpected" : "missing");
		CU_ASSERT_EQUAL(has, want);
	}
}

/* Every compiled x86 string has a recorded expectation (so the encoding test covers the whole table). */
static void test_every_string_has_expectation(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned n;
	const struct rw_event_table *const *t = rw_events_tables(&n);
	for (unsigned i = 0; i < n; i++)
		for (unsigned e = 0; e < t[i]->n_events; e++) {
			const struct expect *x = find_expected(t[i]->events[e].name);
			if (!x)
				fprintf(stderr, "no recorded encoding for %s\n", t[i]->events[e].name);
			CU_ASSERT_PTR_NOT_NULL(x);
		}
#endif
}

/* In a child: force `force` (or none), init with `table`, compare every encoding. Exit status = mismatches. */
static int child_check(const char *force, const char *table, const char *want_core, bool want_encode)
{
	struct rw_pmu *p;
	struct rw_pmu_event_info info[32];
	int bad = 0;

	if (force)
		setenv("LIBPFM_FORCE_PMU", force, 1);
	else
		unsetenv("LIBPFM_FORCE_PMU");
	rw_log_set_level(RW_LOG_ERROR);
	if (rw_pmu_init(&p, table) != 0) {
		fprintf(stderr, "[%s] rw_pmu_init failed\n", force ? force : "-");
		return 100;
	}
	const struct rw_event_table *tb = rw_pmu_table(p);
	if (want_core && strcmp(rw_pmu_core_name(p), want_core) != 0) {
		fprintf(stderr, "[%s] core PMU %s, want %s\n", force ? force : "-", rw_pmu_core_name(p), want_core);
		bad++;
	}
	if (strcmp(tb->pmu, table ? table : want_core) != 0) {
		fprintf(stderr, "[%s] table %s chosen\n", force ? force : "-", tb->pmu);
		bad++;
	}
	unsigned n = rw_pmu_events(p, info, 32);
	if (n != tb->n_events + 3) {
		fprintf(stderr, "[%s] %u events reported, want %u\n", force ? force : "-", n, tb->n_events + 3);
		bad++;
	}
	for (unsigned i = 0; i < n && i < 32; i++) {
		if (info[i].role >= RW_CTR_FIRST_SOFTWARE) {
			/* Encoded by hand and counted with or without a PMU. */
			if (info[i].type != 1 || (info[i].status != RW_EV_OK && !perf_syscall_missing())) {
				fprintf(stderr, "[%s] software %s type %u status %d\n", force ? force : "-", info[i].name, info[i].type,
					info[i].status);
				bad++;
			}
			continue;
		}
		if (!want_encode) {
			if (info[i].status != RW_EV_ENCODE_FAILED) {
				fprintf(stderr, "[%s] %s encoded but should not\n", force ? force : "-", info[i].name);
				bad++;
			}
			continue;
		}
		const struct expect *x = find_expected(info[i].name);
		if (!x || info[i].status == RW_EV_ENCODE_FAILED || info[i].type != x->type ||
		    info[i].config != x->config || info[i].config1 != x->config1) {
			fprintf(stderr, "[%s] %s: status %d type %u config 0x%llx config1 0x%llx, want 0x%llx\n", force ? force : "-",
				info[i].name, info[i].status, info[i].type, (unsigned long long)info[i].config,
				(unsigned long long)info[i].config1, x ? (unsigned long long)x->config : 0ULL);
			bad++;
		}
	}
	/* In this process hardware is available only if the kernel counts instructions and cycles. */
	if (!rw_pmu_hw_available(p) && rw_pmu_hw_reason(p)[0] == '\0') {
		fprintf(stderr, "[%s] unavailable without a reason\n", force ? force : "-");
		bad++;
	}
	rw_pmu_free(p);
	return bad;
}

static int run_child(const char *force, const char *table, const char *want_core, bool want_encode)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(child_check(force, table, want_core, want_encode));
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

static void test_x86_tables_encode_forced(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned n, tried = 0;
	const struct rw_event_table *const *t = rw_events_tables(&n);
	for (unsigned i = 0; i < n; i++) {
		if (t[i] == rw_events_generic())
			continue;
		/* Auto-detection under LIBPFM_FORCE_PMU picks the forced PMU's table. */
		int r = run_child(t[i]->pmu, NULL, t[i]->pmu, true);
		if (r != 0)
			fprintf(stderr, "table %s: %d mismatches\n", t[i]->pmu, r);
		CU_ASSERT_EQUAL(r, 0);
		tried++;
	}
	CU_ASSERT_EQUAL(tried, 7);
#endif
}

/* The Neoverse tables encoded by the arm64 libpfm4, each auto-detected under LIBPFM_FORCE_PMU. */
static void test_arm_tables_encode_forced(void)
{
#if defined(__aarch64__)
	static const char *const pmus[] = { "arm_n1", "arm_v1", "arm_n2", "arm_v2" };
	for (unsigned i = 0; i < 4; i++) {
		int r = run_child(pmus[i], NULL, pmus[i], true);
		if (r != 0)
			fprintf(stderr, "table %s: %d mismatches\n", pmus[i], r);
		CU_ASSERT_EQUAL(r, 0);
	}
#endif
}

/* The Cascade Lake trap: skx:: strings do not encode when libpfm4 sees a clx. */
static void test_skx_strings_fail_on_clx(void)
{
#if defined(__x86_64__) || defined(__i386__)
	CU_ASSERT_EQUAL(run_child("clx", "skx", "clx", false), 0);
#endif
}

/* The generic table, requested by name, with libpfm4's perf PMU present (no forcing). */
static void test_generic_table_encodes(void)
{
	if (access("/proc/sys/kernel/perf_event_paranoid", F_OK) != 0) {
		rw_test_skip("no /proc/sys/kernel/perf_event_paranoid, libpfm4 has no perf PMU");
		return;
	}
	if (perf_syscall_missing()) {
		rw_test_skip("no perf_event_open syscall, e.g. under qemu-user");
		return;
	}
	CU_ASSERT_EQUAL(run_child(NULL, "perf", NULL, true), 0);
}

static const rw_test tests[] = {
	RW_TEST(test_role_names_unique),
	RW_TEST(test_table_shape),
	RW_TEST(test_crypto_only_where_it_exists),
	RW_TEST(test_every_string_has_expectation),
	RW_TEST(test_x86_tables_encode_forced),
	RW_TEST(test_arm_tables_encode_forced),
	RW_TEST(test_skx_strings_fail_on_clx),
	RW_TEST(test_generic_table_encodes),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("events", tests);
}
