/* buf: the growable buffer, escaping that always yields valid UTF-8 (JSON, Prometheus labels, plain), RFC 3339
 * times and Q16.16 text, each tested here once for every output that uses them. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rigwatch/buf.h"
#include "rw_test.h"

#define T0 1714560000000000000ull   /* 2024-05-01T10:40:00Z */

static void json_is(const char *in, const char *want)
{
	struct rw_buf b = RW_BUF_INIT;
	rw_buf_json_string(&b, in);
	rw_buf_append(&b, "", 1);
	CU_ASSERT_STRING_EQUAL(b.data, want);
	if (strcmp(b.data, want))
		fprintf(stderr, "json of %s: got %s want %s\n", in, b.data, want);
	rw_buf_free(&b);
}

static void test_json_escape(void)
{
	json_is("plain", "\"plain\"");
	json_is("", "\"\"");
	json_is("q\"b\\s/", "\"q\\\"b\\\\s/\"");
	json_is("\n\r\t\b\x01\x1f\x7f", "\"\\n\\r\\t\\u0008\\u0001\\u001f\\u007f\"");
	json_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* invalid UTF-8: lone continuation, overlong, surrogate, truncated, above U+10FFFF */
	json_is("a\x80z", "\"a\xef\xbf\xbdz\"");
	json_is("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	json_is("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	json_is("\xe2\x82", "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	json_is("\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	json_is(NULL, "\"\"");
}

static void test_numbers(void)
{
	struct rw_buf b = RW_BUF_INIT;
	int32_t in[] = { 0, 65536, 32768, -81920, 1, 655, 64880, 3 << 16 };
	const char *want = "0|1|0.5|-1.25|0.000015|0.009995|0.98999|3|";
	for (unsigned i = 0; i < sizeof in / sizeof in[0]; i++) {
		rw_buf_q16(&b, in[i]);
		rw_buf_puts(&b, "|");
	}
	rw_buf_append(&b, "", 1);
	CU_ASSERT_STRING_EQUAL(b.data, want);
	rw_buf_reset(&b);
	rw_buf_rfc3339(&b, T0 + 123456789, 9);
	rw_buf_puts(&b, " ");
	rw_buf_rfc3339(&b, T0 + 123456789, 0);
	rw_buf_append(&b, "", 1);
	CU_ASSERT_STRING_EQUAL(b.data, "2024-05-01T10:40:00.123456789Z 2024-05-01T10:40:00Z");
	rw_buf_reset(&b);
	rw_buf_rfc3339(&b, T0 + 123456789, 3);
	rw_buf_puts(&b, " ");
	rw_buf_rfc3339(&b, T0 + 123456789, 6);
	rw_buf_append(&b, "", 1);
	CU_ASSERT_STRING_EQUAL(b.data, "2024-05-01T10:40:00.123Z 2024-05-01T10:40:00.123456Z");
	rw_buf_free(&b);
}


static void escaped_is(enum rw_esc mode, const char *in, const char *want)
{
	struct rw_buf b = RW_BUF_INIT;
	rw_buf_escaped(&b, in, mode);
	rw_buf_append(&b, "", 1);
	CU_ASSERT_STRING_EQUAL(b.data, want);
	if (strcmp(b.data, want))
		fprintf(stderr, "escaped (mode %d) %s: got %s want %s\n", (int)mode, in, b.data, want);
	rw_buf_free(&b);
}

/* Prometheus label values escape only \\, \" and newline; protobuf strings nothing; both replace bad UTF-8. */
static void test_label_and_plain(void)
{
	escaped_is(RW_ESC_LABEL, "a\\b\"c\nd\te", "a\\\\b\\\"c\\nd\te");
	escaped_is(RW_ESC_NONE, "a\\b\"c\nd", "a\\b\"c\nd");
	escaped_is(RW_ESC_LABEL, "/kubepods/\xff\xfe", "/kubepods/\xef\xbf\xbd\xef\xbf\xbd");
	escaped_is(RW_ESC_NONE, "x\xc3", "x\xef\xbf\xbd");
	escaped_is(RW_ESC_NONE, "caf\xc3\xa9", "caf\xc3\xa9");
}

/* The config and model files' precision: 4 digits, and what is written parses back. */
static void test_format_q16(void)
{
	char buf[32];
	rw_format_q16(3277, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "0.05");
	rw_format_q16(65536, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "1");
	rw_format_q16(-32768, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "-0.5");
	rw_format_q16(65535, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "1");
	rw_format_q16(INT32_MAX, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "32768");
	rw_format_q16(INT32_MIN, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "-32768");
}

/* Allocation failure is sticky: nothing more is appended and err says why. */
static void test_sticky_error(void)
{
	struct rw_buf b = RW_BUF_INIT;
	rw_buf_puts(&b, "ab");
	CU_ASSERT_EQUAL(rw_buf_reserve(&b, (size_t)-1 / 2 + 2), -ENOMEM);
	rw_buf_puts(&b, "cd");
	rw_buf_json_string(&b, "ef");
	CU_ASSERT_EQUAL(b.len, 2);
	CU_ASSERT_EQUAL(b.err, -ENOMEM);
	rw_buf_reset(&b);
	rw_buf_printf(&b, "%0300d", 7);
	CU_ASSERT_EQUAL(b.len, 300);
	CU_ASSERT_EQUAL(b.err, 0);
	rw_buf_free(&b);
}

static const rw_test tests[] = {
	RW_TEST(test_json_escape),
	RW_TEST(test_label_and_plain),
	RW_TEST(test_numbers),
	RW_TEST(test_format_q16),
	RW_TEST(test_sticky_error),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("buf", tests); }
