/* listview: /verdicts documents read into rows (and refused when malformed, naming the place), sorted by score,
 * and tables that never run past the width however narrow, with names that cannot drive the terminal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/listview.h"
#include "rw_test.h"

static const char doc[] =
	"{\"host\":\"node-1\",\"interval_s\":1,\"time\":\"2026-11-30T07:00:00Z\",\"targets\":["
	"{\"cgroup\":\"/system.slice/a.service\",\"cgroup_id\":12,\"identity\":{\"unit\":\"a.service\",\"label\":"
	"\"systemd:a.service\"},\"verdict\":\"clean\",\"score\":0.1,\"cpu_cores\":0.5,\"sources\":[\"cgroup\"],"
	"\"action\":\"none\",\"detections\":0},"
	"{\"cgroup\":\"/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope\",\"cgroup_id\":18446744073709551615,"
	"\"identity\":{\"label\":\"k8s:default/miner-7d9f/xmrig\"},\"verdict\":\"mining\",\"score\":0.99,"
	"\"cpu_cores\":1.95,\"sources\":[\"pmu\",\"fpprobe\"],\"action\":\"killed\",\"detections\":2},"
	"{\"cgroup\":\"/evil\\u001b[2J\\u009b31m\",\"cgroup_id\":5,\"verdict\":\"suspect\",\"score\":0.6},"
	"{\"cgroup\":\"/kubepods.slice/x.scope\",\"cgroup_id\":7,\"identity\":{\"runtime\":\"containerd\","
	"\"k8s_namespace\":\"ml\",\"k8s_pod\":\"train-0\",\"k8s_container\":\"worker\",\"label\":\"containerd:x\"},"
	"\"verdict\":\"mining\",\"allowed\":true,\"allow_reason\":\"approved\",\"score\":0.95,\"action\":\"none\"}"
	"]}";

static void load(struct rw_list *l)
{
	char err[256] = "";
	int r = rw_list_load(l, doc, sizeof doc - 1, err, sizeof err);
	if (r)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_EQUAL_FATAL(r, 0);
}

static void test_rows(void)
{
	struct rw_list l;
	load(&l);
	CU_ASSERT_STRING_EQUAL(l.host, "node-1");
	CU_ASSERT_EQUAL(l.n, 4);
	rw_list_sort(&l);
	CU_ASSERT_STRING_EQUAL(l.rows[1].identity, "k8s:ml/train-0/worker");   /* names over the label */
	CU_ASSERT_STRING_EQUAL(l.rows[1].action, "allowed");
	/* the rest without the allowed one */
	l.rows[1] = l.rows[2], l.rows[2] = l.rows[3];
	l.n = 3;
	CU_ASSERT_STRING_EQUAL(l.rows[0].identity, "k8s:default/miner-7d9f/xmrig");
	CU_ASSERT_EQUAL(l.rows[0].cgroup_id, 18446744073709551615ull);   /* exact past 2^53 */
	CU_ASSERT_STRING_EQUAL(l.rows[0].sources, "pmu,fpprobe");
	CU_ASSERT_STRING_EQUAL(l.rows[0].action, "killed");
	CU_ASSERT_EQUAL(l.rows[0].detections, 2);
	CU_ASSERT_STRING_EQUAL(l.rows[1].verdict, "suspect");
	CU_ASSERT_STRING_EQUAL(l.rows[1].identity, l.rows[1].cgroup);   /* no label: the path */
	CU_ASSERT(l.rows[1].cores < 0);
	CU_ASSERT_STRING_EQUAL(l.rows[1].sources, "-");
	CU_ASSERT_STRING_EQUAL(l.rows[2].identity, "systemd:a.service");
	rw_list_free(&l);
}

static void refused(const char *text, const char *why)
{
	struct rw_list l;
	char err[256] = "";
	CU_ASSERT_EQUAL(rw_list_load(&l, text, strlen(text), err, sizeof err), -EINVAL);
	if (!strstr(err, why))
		fprintf(stderr, "\n%s: got \"%s\", want \"%s\"\n", text, err, why);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
	CU_ASSERT_PTR_NULL(l.rows);
	CU_ASSERT_EQUAL(l.n, 0);
}

static void test_refused(void)
{
	refused("[]", "no \"targets\" array");
	refused("{\"targets\":{}}", "no \"targets\" array");
	refused("{\"targets\":[1]}", "targets[0].: expected an object");
	refused("{\"targets\":[{\"cgroup_id\":1,\"verdict\":\"clean\",\"score\":0}]}", "targets[0].cgroup:");
	refused("{\"targets\":[{\"cgroup\":\"/a\",\"cgroup_id\":\"1\",\"verdict\":\"clean\",\"score\":0}]}",
		"targets[0].cgroup_id:");
	refused("{\"targets\":[{\"cgroup\":\"/a\",\"cgroup_id\":1,\"verdict\":\"clean\",\"score\":0},"
		"{\"cgroup\":\"/b\",\"cgroup_id\":2,\"verdict\":\"clean\",\"score\":1.5}]}",
		"targets[1].score: expected a number from 0 to 1");
	refused("{\"targets\":[{\"cgroup\":\"/a\",\"cgroup_id\":1,\"score\":0}]}", "targets[0].verdict:");
	refused("{\"targets\":[", "offset");
}

/* Display columns of each line (code points), and the widest. */
static unsigned widest(const char *text, unsigned *lines)
{
	unsigned w = 0, cur = 0;
	*lines = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n') {
			w = cur > w ? cur : w;
			cur = 0;
			(*lines)++;
		} else if ((*p & 0xc0) != 0x80) {
			cur++;
		}
	}
	return w;
}

static void test_widths(void)
{
	struct rw_list l;
	load(&l);
	rw_list_sort(&l);
	for (unsigned width = 10; width <= 200; width++) {
		struct rw_buf b = RW_BUF_INIT;
		unsigned lines;
		rw_list_table(&l, width, 0, NULL, false, &b);
		rw_buf_append(&b, "", 1);
		unsigned w = widest(b.data, &lines);
		CU_ASSERT_EQUAL(lines, 5);
		/* narrowest: identity (at least 4 columns), verdict and score always stay */
		if (w > width && width >= 4 + 1 + 7 + 1 + 5)
			fprintf(stderr, "\nwidth %u: a line of %u:\n%s", width, w, b.data);
		CU_ASSERT(w <= width || width < 4 + 1 + 7 + 1 + 5);
		CU_ASSERT_EQUAL(strncmp(b.data, "ID", 2), 0);   /* identity first, however cut */
		CU_ASSERT_PTR_NULL(strchr(b.data, '\x1b'));                  /* the cgroup's ESC is not passed on */
		CU_ASSERT_PTR_NULL(strstr(b.data, "\xc2\x9b"));              /* nor its C1 CSI */
		if (width >= 160) {   /* everything fits: every column, full names */
			CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "CGROUP\n"));
			CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "/evil?[2J?31m\n"));
			CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "k8s:default/miner-7d9f/xmrig mining   0.99  1.95 killed  pmu,fpprobe"));
		}
		if (width == 80) {
			CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "k8s:default/miner-7d9f/xmrig"));
			CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "ACTION"));
		}
		rw_buf_free(&b);
	}
	/* max_rows, and the ANSI form: colours and erase-to-end, reversed when changed */
	struct rw_buf b = RW_BUF_INIT;
	unsigned char marks[4] = { RW_LIST_CHANGED, 0, 0, 0 };
	rw_list_table(&l, 100, 3, marks, true, &b);
	rw_buf_append(&b, "", 1);
	unsigned lines;
	widest(b.data, &lines);
	CU_ASSERT_EQUAL(lines, 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\n\x1b[1;7;31mk8s:default/miner-7d9f/xmrig"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\n\x1b[33m/evil?[2J"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\x1b[0m\x1b[K\n"));
	rw_buf_free(&b);
	rw_list_free(&l);
}

static void test_term_size(void)
{
	/* not a terminal: $COLUMNS, else 80 */
	unsetenv("COLUMNS");
	CU_ASSERT_EQUAL(rw_term_width(-1), 80);
	setenv("COLUMNS", "132", 1);
	CU_ASSERT_EQUAL(rw_term_width(-1), 132);
	setenv("COLUMNS", "wide", 1);
	CU_ASSERT_EQUAL(rw_term_width(-1), 80);
	unsetenv("COLUMNS");
	unsetenv("LINES");
	CU_ASSERT_EQUAL(rw_term_height(-1), 24);
}

static const rw_test tests[] = {
	RW_TEST(test_rows),
	RW_TEST(test_refused),
	RW_TEST(test_widths),
	RW_TEST(test_term_size),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("listview", tests); }
