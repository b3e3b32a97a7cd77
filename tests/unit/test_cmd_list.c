/* cmd_list: the `rigwatch list` table of a report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/cmd_list.h"
#include "rigwatch/features.h"
#include "rw_test.h"

/* The table of one target, header line included, as text the caller frees. */
static char *table_of(const struct rw_report_target *t)
{
	struct rw_report r;
	char *text = NULL;
	size_t len = 0;
	memset(&r, 0, sizeof r);
	r.targets = (struct rw_report_target *)t;
	r.n_targets = 1;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	rw_list_print_table(&r, f);
	fclose(f);
	return text;
}

/* The whitespace-separated field `n` (0-based) of the first target line. */
static void field(const char *table, unsigned n, char *out, size_t len)
{
	const char *p = strchr(table, '\n');
	out[0] = '\0';
	if (!p)
		return;
	p++;
	for (unsigned i = 0;; i++) {
		while (*p == ' ')
			p++;
		size_t w = strcspn(p, " \n");
		if (i == n) {
			snprintf(out, len, "%.*s", (int)w, p);
			return;
		}
		p += w;
		if (!*p || *p == '\n')
			return;
	}
}

/* IND counts the rules matched; procscan already counts each pool connection among them. */
static void test_indicator_count(void)
{
	struct rw_report_target t;
	char ind[32];
	memset(&t, 0, sizeof t);
	t.sample.cgroup_id = 4242;
	snprintf(t.sample.cgroup, sizeof t.sample.cgroup, "/system.slice/x.service");
	t.sample.interval_us = 1000000;
	t.sample.cpu_usec = 500000;
	t.sample.sources = RW_SRC_BIT(RW_SRC_CGROUP) | RW_SRC_BIT(RW_SRC_INDICATORS);
	t.sample.ind.matches = 3;          /* two rules and one pool connection */
	t.sample.ind.pool_connections = 1;
	char *text = table_of(&t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "IND"));
	field(text, 8, ind, sizeof ind);   /* CGROUP_ID IDENTITY CORES TASKCLK SOURCES INSTR/S CTXSW/S FPMODE IND */
	CU_ASSERT_STRING_EQUAL(ind, "3");
	field(text, 2, ind, sizeof ind);
	CU_ASSERT_STRING_EQUAL(ind, "0.50");
	field(text, 11, ind, sizeof ind);  /* ... SCORE VERDICT ACTION */
	CU_ASSERT_STRING_EQUAL(ind, "-");
	free(text);
	t.action = RW_ACTION_FROZEN;
	text = table_of(&t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	field(text, 11, ind, sizeof ind);
	CU_ASSERT_STRING_EQUAL(ind, "frozen");
	free(text);
	/* without the indicator source the column says so */
	t.sample.sources = RW_SRC_BIT(RW_SRC_CGROUP);
	text = table_of(&t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	field(text, 8, ind, sizeof ind);
	CU_ASSERT_STRING_EQUAL(ind, "-");
	free(text);
}

static const rw_test tests[] = {
	RW_TEST(test_indicator_count),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("cmd_list", tests); }
