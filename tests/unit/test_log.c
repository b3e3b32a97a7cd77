/* log: logfmt and JSON lines, quoting and escaping, levels, and the journald priority prefix when the output is
 * the stream JOURNAL_STREAM names. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rigwatch/jsonread.h"
#include "rigwatch/log.h"
#include "rw_test.h"

static FILE *out;

/* Everything logged since the last call, as one string (static buffer). */
static const char *logged(void)
{
	static char buf[8192];
	fflush(out);
	rewind(out);
	size_t n = fread(buf, 1, sizeof buf - 1, out);
	buf[n] = '\0';
	rewind(out);
	if (ftruncate(fileno(out), 0) != 0)
		CU_FAIL("ftruncate");
	return buf;
}

static int matches(const char *text, const char *pattern)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	int ok = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static int setup(void)
{
	unsetenv("JOURNAL_STREAM");
	out = tmpfile();
	rw_log_set_output(out);
	rw_log_set_level(RW_LOG_INFO);
	rw_log_set_format(RW_LOG_LOGFMT);
	return out ? 0 : -1;
}

#define TS "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static void test_logfmt(void)
{
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	rw_log_info("agent", "rigwatch %s running", "0.1.0");
	const char *l = logged();
	CU_ASSERT(matches(l, "^ts=" TS " level=info module=agent msg=\"rigwatch 0\\.1\\.0 running\"\n$"));

	rw_log_kv(RW_LOG_WARN, "http", "listening", "address", "127.0.0.1:10170", "note", "two words", "empty", "",
		  "eq", "a=b", NULL);
	l = logged();
	CU_ASSERT(matches(l, "^ts=" TS " level=warn module=http msg=listening address=127\\.0\\.0\\.1:10170 "
			     "note=\"two words\" empty=\"\" eq=\"a=b\"\n$"));

	/* quotes, backslashes, newlines and invalid UTF-8 cannot break the line */
	rw_log_error("agent", "cgroup \"/a\\b\"\nsecond\xff line é");
	l = logged();
	CU_ASSERT_PTR_NOT_NULL(strstr(l, " level=error module=agent msg=\"cgroup \\\"/a\\\\b\\\"\\nsecond\xef\xbf\xbd line é\"\n"));
	CU_ASSERT_EQUAL(strchr(l, '\n') - l + 1, (long)strlen(l));   /* one line */
	fclose(out);
}

static void test_json(void)
{
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	rw_log_set_format(RW_LOG_JSON);
	rw_log_kv(RW_LOG_INFO, "agent", "say \"hi\"", "interval_ms", "1000", NULL);
	const char *l = logged();
	CU_ASSERT(matches(l, "^\\{\"ts\":\"" TS "\",\"level\":\"info\",\"module\":\"agent\",\"msg\":\"say \\\\\"hi\\\\\"\","
			     "\"interval_ms\":\"1000\"\\}\n$"));
	rw_log_warn("x", "tab\there \x01");
	l = logged();
	CU_ASSERT_PTR_NOT_NULL(strstr(l, "\"msg\":\"tab\\there \\u0001\"}\n"));
	rw_log_set_format(RW_LOG_LOGFMT);
	fclose(out);
}

static void test_levels_and_parse(void)
{
	enum rw_log_level lv;
	enum rw_log_format f;
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	rw_log_debug("agent", "hidden");
	CU_ASSERT_STRING_EQUAL(logged(), "");
	rw_log_set_level(RW_LOG_DEBUG);
	rw_log_debug("agent", "shown");
	CU_ASSERT_PTR_NOT_NULL(strstr(logged(), "level=debug module=agent msg=shown\n"));
	rw_log_set_level(RW_LOG_ERROR);
	rw_log_warn("agent", "hidden");
	CU_ASSERT_STRING_EQUAL(logged(), "");
	rw_log_set_level(RW_LOG_INFO);

	CU_ASSERT_EQUAL(rw_log_parse_level("warn", &lv), 0);
	CU_ASSERT_EQUAL(lv, RW_LOG_WARN);
	CU_ASSERT(rw_log_parse_level("warning", &lv) < 0);
	CU_ASSERT_EQUAL(rw_log_parse_format("json", &f), 0);
	CU_ASSERT_EQUAL(f, RW_LOG_JSON);
	CU_ASSERT_EQUAL(rw_log_parse_format("logfmt", &f), 0);
	CU_ASSERT_EQUAL(f, RW_LOG_LOGFMT);
	CU_ASSERT(rw_log_parse_format("text", &f) < 0);
	fclose(out);
}

/* Values are cut at 1024 bytes (on a UTF-8 boundary) before escaping, so a line is always whole: one line, and in
 * JSON a valid document. */
static void test_long_line(void)
{
	static char big[5000];
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	memset(big, '"', sizeof big - 1);   /* every byte doubles when escaped */
	big[sizeof big - 1] = '\0';
	rw_log_kv(RW_LOG_INFO, "agent", big, "k", big, NULL);
	const char *l = logged();
	size_t n = strlen(l);
	CU_ASSERT(n > 4096 && n < 4096 + 200);
	CU_ASSERT_EQUAL(l[n - 1], '\n');
	CU_ASSERT_PTR_NULL(memchr(l, '\n', n - 1));

	memset(big, 'a', sizeof big - 1);
	memcpy(big + 1023, "\xc3\xa9", 2);   /* a two-byte character across the cut */
	rw_log_set_format(RW_LOG_JSON);
	rw_log_kv(RW_LOG_INFO, "agent", big, NULL);
	l = logged();
	struct rw_json root, m;
	static char msg[2048];
	char err[128] = "";
	CU_ASSERT_EQUAL_FATAL(rw_json_parse(l, strlen(l), &root, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(rw_json_member(&root, "msg", &m), 0);
	CU_ASSERT_EQUAL(rw_json_string(&m, msg, sizeof msg), 1023);
	rw_log_set_format(RW_LOG_LOGFMT);
	fclose(out);
}

/* systemd puts "<device>:<inode>" of the journal stream in JOURNAL_STREAM; lines to that stream carry "<N>". */
static void test_journal_prefix(void)
{
	struct stat st;
	char js[64];
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	CU_ASSERT_EQUAL_FATAL(fstat(fileno(out), &st), 0);
	snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	rw_log_set_output(out);
	rw_log_error("agent", "e");
	rw_log_warn("agent", "w");
	rw_log_info("agent", "i");
	CU_ASSERT(matches(logged(), "^<3>ts=" TS " level=error module=agent msg=e\n"
				    "<4>ts=" TS " level=warn module=agent msg=w\n"
				    "<6>ts=" TS " level=info module=agent msg=i\n$"));
	rw_log_set_format(RW_LOG_JSON);
	rw_log_info("agent", "j");
	CU_ASSERT(matches(logged(), "^<6>\\{\"ts\":"));
	rw_log_set_format(RW_LOG_LOGFMT);

	/* another stream (stderr redirected elsewhere): no prefix */
	snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", js, 1);
	rw_log_set_output(out);
	rw_log_info("agent", "i");
	CU_ASSERT(matches(logged(), "^ts="));
	setenv("JOURNAL_STREAM", "garbage", 1);
	rw_log_set_output(out);
	rw_log_info("agent", "i");
	CU_ASSERT(matches(logged(), "^ts="));
	unsetenv("JOURNAL_STREAM");
	rw_log_set_output(NULL);
	fclose(out);
}

static const rw_test tests[] = {
	RW_TEST(test_logfmt),
	RW_TEST(test_json),
	RW_TEST(test_levels_and_parse),
	RW_TEST(test_long_line),
	RW_TEST(test_journal_prefix),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("log", tests); }
