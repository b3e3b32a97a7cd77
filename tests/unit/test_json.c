/* json: the strict reader on valid and invalid text (RFC 8259's grammar, UTF-8, surrogates, depth), and on the
 * /verdicts golden document the exposition module writes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/json.h"
#include "rw_test.h"

static void ok(const char *text)
{
	struct rw_json_doc d;
	char err[128] = "";
	int r = rw_json_parse(text, strlen(text), &d, err, sizeof err);
	if (r)
		fprintf(stderr, "\nrejected %s: %s\n", text, err);
	CU_ASSERT_EQUAL(r, 0);
	rw_json_free(&d);
}

static void bad(const char *text, size_t len, const char *why)
{
	struct rw_json_doc d;
	char err[128] = "";
	int r = rw_json_parse(text, len, &d, err, sizeof err);
	CU_ASSERT_EQUAL(r, -EINVAL);
	CU_ASSERT_PTR_NULL(d.root);
	if (!strstr(err, why))
		fprintf(stderr, "\n%.*s: got \"%s\", want \"%s\"\n", (int)len, text, err, why);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
}
#define BAD(t, why) bad(t, sizeof t - 1, why)

static void test_valid(void)
{
	ok("{}");
	ok("[]");
	ok(" \t\r\n[1, -0, 0.5, -1.25e+3, 2E-2, 1e5, true, false, null, \"\", {\"a\": [[]]}] \n");
	ok("\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
	ok("\"é😀\"");
	ok("0");
	ok("{\"a\":1,\"a\":2}");   /* duplicate names are allowed by the RFC; rw_json_get returns the first */
}

static void test_invalid(void)
{
	BAD("", "unexpected end");
	BAD("   ", "unexpected end");
	BAD("[1,]", "expected a value");
	BAD("{\"a\":1,}", "expected a member name");
	BAD("[1 2]", "expected ',' or ']'");
	BAD("{\"a\" 1}", "expected ':'");
	BAD("{a:1}", "expected a member name");
	BAD("01", "leading zero");
	BAD("-", "bad number");
	BAD("1.", "no digits after the decimal point");
	BAD(".5", "expected a value");
	BAD("1e", "no digits in the exponent");
	BAD("+1", "expected a value");
	BAD("NaN", "expected a value");
	BAD("tru", "bad literal");
	BAD("nul", "bad literal");
	BAD("\"abc", "unterminated string");
	BAD("\"a\tb\"", "control character");
	BAD("\"\\x\"", "bad escape");
	BAD("\"\\u12g4\"", "bad hex digit");
	BAD("\"\\ud83d\"", "high surrogate without its low half");
	BAD("\"\\ud83d\\u0041\"", "high surrogate without its low half");
	BAD("\"\\ude00\"", "lone low surrogate");
	BAD("\"\xff\"", "invalid UTF-8");
	BAD("\"\xc0\xaf\"", "invalid UTF-8");          /* overlong '/' */
	BAD("\"\xed\xa0\x80\"", "invalid UTF-8");      /* an encoded surrogate */
	BAD("\"\xe2\x82\"", "invalid UTF-8");          /* truncated */
	BAD("{} {}", "text after the value");
	BAD("[1]x", "text after the value");
	BAD("[\"a\0b\"]", "control character");          /* a NUL byte inside the text */
	BAD("[1]\0", "text after the value");

	/* line and column of the error */
	struct rw_json_doc d;
	char err[128];
	const char *t = "{\n  \"a\": [1,\n  2,,]\n}";
	CU_ASSERT_EQUAL(rw_json_parse(t, strlen(t), &d, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 3, column 5"));

	/* nesting: RW_JSON_MAX_DEPTH levels parse, one more does not */
	char deep[2 * RW_JSON_MAX_DEPTH + 3];
	for (int depth = RW_JSON_MAX_DEPTH; depth <= RW_JSON_MAX_DEPTH + 1; depth++) {
		memset(deep, '[', (size_t)depth);
		memset(deep + depth, ']', (size_t)depth);
		int r = rw_json_parse(deep, 2 * (size_t)depth, &d, err, sizeof err);
		CU_ASSERT_EQUAL(r, depth <= RW_JSON_MAX_DEPTH ? 0 : -EINVAL);
		if (r == 0)
			rw_json_free(&d);
		else
			CU_ASSERT_PTR_NOT_NULL(strstr(err, "nested too deep"));
	}
}

static void test_values(void)
{
	struct rw_json_doc d;
	const char *t = "{\"s\":\"a\\u0000b\\ud83d\\ude00\",\"n\":-1.5e2,\"i\":42,\"arr\":[true,false,null],"
			"\"o\":{\"x\":\"y\"}}";
	CU_ASSERT_EQUAL_FATAL(rw_json_parse(t, strlen(t), &d, NULL, 0), 0);
	const struct rw_json *r = d.root;
	CU_ASSERT_EQUAL(r->type, RW_JSON_OBJECT);
	CU_ASSERT_EQUAL(r->n, 5);
	const struct rw_json *s = rw_json_get(r, "s");
	CU_ASSERT_EQUAL_FATAL(s->type, RW_JSON_STRING);
	CU_ASSERT_EQUAL(s->len, 7);
	CU_ASSERT(!memcmp(s->str, "a\0b\xf0\x9f\x98\x80", 7));
	CU_ASSERT(fabs(rw_json_get_num(r, "n", 0) + 150.0) < 1e-9);
	CU_ASSERT_STRING_EQUAL(rw_json_get(r, "n")->str, "-1.5e2");
	CU_ASSERT_EQUAL(rw_json_get_num(r, "i", 0), 42);
	CU_ASSERT_EQUAL(rw_json_get_num(r, "missing", 7), 7);
	CU_ASSERT_EQUAL(rw_json_get_num(r, "s", 7), 7);   /* not a number */
	const struct rw_json *a = rw_json_get(r, "arr");
	CU_ASSERT_EQUAL_FATAL(a->n, 3);
	CU_ASSERT_EQUAL(a->child->type, RW_JSON_TRUE);
	CU_ASSERT_EQUAL(a->child->next->type, RW_JSON_FALSE);
	CU_ASSERT_EQUAL(a->child->next->next->type, RW_JSON_NULL);
	CU_ASSERT_PTR_NULL(a->child->next->next->next);
	CU_ASSERT_STRING_EQUAL(rw_json_get_str(rw_json_get(r, "o"), "x", ""), "y");
	CU_ASSERT_PTR_NULL(rw_json_get(a, "x"));   /* not an object */
	CU_ASSERT_PTR_NULL(rw_json_get(NULL, "x"));
	rw_json_free(&d);
}

/* The golden /verdicts document from the exposition suite reads back with every target. */
static void test_verdicts_golden(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/exposition/verdicts.json", rw_test_data_dir());
	FILE *f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	struct rw_json_doc d;
	char err[128] = "";
	CU_ASSERT_EQUAL_FATAL(rw_json_parse(buf, n, &d, err, sizeof err), 0);
	const struct rw_json *targets = rw_json_get(d.root, "targets");
	CU_ASSERT_EQUAL_FATAL(targets->type, RW_JSON_ARRAY);
	CU_ASSERT(targets->n >= 3);
	for (const struct rw_json *t = targets->child; t; t = t->next) {
		CU_ASSERT(rw_json_get_str(t, "cgroup", NULL) != NULL);
		CU_ASSERT(rw_json_get_str(t, "verdict", NULL) != NULL);
		double sc = rw_json_get_num(t, "score", -1);
		CU_ASSERT(sc >= 0 && sc <= 1);
	}
	rw_json_free(&d);
}

static const rw_test tests[] = {
	RW_TEST(test_valid),
	RW_TEST(test_invalid),
	RW_TEST(test_values),
	RW_TEST(test_verdicts_golden),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("json", tests); }
