/* cmd_list: `rigwatch list` against the agent's real HTTP server (rw_http serving a fixture report): the table
 * and the JSON are that agent's /verdicts, and the first line says so; httpget's address handling and its
 * answer when nothing listens. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fixture.h"
#include "rigwatch/cmd_list.h"
#include "rigwatch/exposition.h"
#include "rigwatch/http.h"
#include "rigwatch/httpget.h"
#include "rigwatch/jsonread.h"
#include "rw_test.h"

static volatile sig_atomic_t no_stop;

static char *list_of(const struct rw_config *cfg, bool json, int *rc)
{
	char *text = NULL, err[512] = "";
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	*rc = rw_cmd_list(cfg, false, json, &no_stop, f, err, sizeof err);
	if (*rc)
		fprintf(stderr, "\nrw_cmd_list: %s\n", err);
	fclose(f);
	return text;
}

static void test_agent_table_and_json(void)
{
	struct rw_config cfg;
	struct rw_report rep;
	struct rw_report_target t[4];
	struct rw_http *h = NULL;
	char err[256] = "", want[256];
	int rc;

	rw_config_defaults(&cfg);
	snprintf(cfg.listen_address, sizeof cfg.listen_address, "127.0.0.1:0");
	cfg.http_timeout_s = 2;
	CU_ASSERT_EQUAL_FATAL(rw_http_start(&h, &cfg, err, sizeof err), 0);
	fixture_report(&rep, t);
	rw_http_publish(h, &rep);
	snprintf(cfg.listen_address, sizeof cfg.listen_address, "127.0.0.1:%u", rw_http_port(h));

	setenv("COLUMNS", "200", 1);
	char *text = list_of(&cfg, false, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(want, sizeof want, "# agent at %s\n# host node-1, 2024-05-01T10:40:05Z, 4 targets\nIDENTITY ",
		 cfg.listen_address);
	CU_ASSERT_EQUAL(strncmp(text, want, strlen(want)), 0);
	/* the fixture's verdicts, highest score first; the agent's verdicts, not a fresh scorer's */
	const char *mining = strstr(text, "\ndocker:0123456789ab "), *suspect = strstr(text, "\nsystemd:we");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mining);
	CU_ASSERT_PTR_NOT_NULL_FATAL(suspect);
	CU_ASSERT(mining < suspect);
	char id[64], verdict[16], score[16], cores[16], action[16], sources[64];
	CU_ASSERT_EQUAL(sscanf(mining + 1, "%63s %15s %15s %15s %15s %63s", id, verdict, score, cores, action, sources), 6);
	CU_ASSERT_STRING_EQUAL(verdict, "mining");
	CU_ASSERT_STRING_EQUAL(score, "0.99");
	CU_ASSERT_STRING_EQUAL(cores, "1.95");
	CU_ASSERT_STRING_EQUAL(action, "dry-run");
	CU_ASSERT_STRING_EQUAL(sources, "pmu,fpprobe");
	CU_ASSERT_PTR_NULL(strchr(text, '\x1b'));
	free(text);

	/* narrow: nothing past the width */
	setenv("COLUMNS", "40", 1);
	text = list_of(&cfg, false, &rc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		unsigned cols = 0;
		for (char *p = line; p < nl; p++)
			cols += ((unsigned char)*p & 0xc0) != 0x80;
		CU_ASSERT(cols <= 40);
	}
	free(text);
	unsetenv("COLUMNS");

	/* JSON: the agent's document itself, with where it came from */
	text = list_of(&cfg, true, &rc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	struct rw_json root, v, m;
	char str[64];
	CU_ASSERT_EQUAL_FATAL(rw_json_parse(text, strlen(text), &root, err, sizeof err), 0);
	CU_ASSERT_EQUAL(rw_json_member(&root, "source", &m), 0);
	rw_json_string(&m, str, sizeof str);
	CU_ASSERT_STRING_EQUAL(str, "agent");
	CU_ASSERT_EQUAL_FATAL(rw_json_member(&root, "verdicts", &v), 0);
	CU_ASSERT_EQUAL(rw_json_member(&v, "host", &m), 0);
	rw_json_string(&m, str, sizeof str);
	CU_ASSERT_STRING_EQUAL(str, "node-1");
	struct rw_buf direct = RW_BUF_INIT;
	rw_verdicts_json(&rep, &direct, NULL);
	rw_buf_putc(&direct, '\0');
	/* byte for byte the document the agent serves (without its final newline) */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ",\"verdicts\":"));
	CU_ASSERT_EQUAL(strncmp(strstr(text, ",\"verdicts\":") + 12, direct.data, strlen(direct.data) - 1), 0);
	rw_buf_free(&direct);
	free(text);
	rw_http_stop(h);
}

static void test_httpget(void)
{
	char host[64], port[16], err[256] = "";
	int status = 0;
	struct rw_buf body = RW_BUF_INIT;

	CU_ASSERT_EQUAL(rw_httpget_target(":10170", host, sizeof host, port, sizeof port), 0);
	CU_ASSERT_STRING_EQUAL(host, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(port, "10170");
	CU_ASSERT_EQUAL(rw_httpget_target("0.0.0.0:1", host, sizeof host, port, sizeof port), 0);
	CU_ASSERT_STRING_EQUAL(host, "127.0.0.1");
	CU_ASSERT_EQUAL(rw_httpget_target("[::]:9", host, sizeof host, port, sizeof port), 0);
	CU_ASSERT_STRING_EQUAL(host, "::1");
	CU_ASSERT_EQUAL(rw_httpget_target("[fe80::1]:9", host, sizeof host, port, sizeof port), 0);
	CU_ASSERT_STRING_EQUAL(host, "fe80::1");
	CU_ASSERT_EQUAL(rw_httpget_target("10.0.0.1:80", host, sizeof host, port, sizeof port), 0);
	CU_ASSERT_STRING_EQUAL(host, "10.0.0.1");
	CU_ASSERT_EQUAL(rw_httpget_target("nocolon", host, sizeof host, port, sizeof port), -EINVAL);
	CU_ASSERT_EQUAL(rw_httpget_target("h:", host, sizeof host, port, sizeof port), -EINVAL);
	CU_ASSERT_EQUAL(rw_httpget_target("h:12x", host, sizeof host, port, sizeof port), -EINVAL);
	CU_ASSERT_EQUAL(rw_httpget_target("[::1]9", host, sizeof host, port, sizeof port), -EINVAL);

	/* nothing listens on port 1 of loopback here (root-only port, never bound by the tests) */
	CU_ASSERT_EQUAL(rw_httpget("127.0.0.1:1", "/verdicts", 5000, &status, &body, err, sizeof err), -ECONNREFUSED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "Connection refused"));
	CU_ASSERT_EQUAL(body.len, 0);
	rw_buf_free(&body);
}

static const rw_test tests[] = {
	RW_TEST(test_agent_table_and_json),
	RW_TEST(test_httpget),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("cmd_list", tests); }
