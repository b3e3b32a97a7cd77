/* webconfig suite: the exporter-toolkit web config subset. What parses and what it means (paths relative to the
 * file, users and hashes), every rejection naming file:line with nothing loaded, and the file checks (regular
 * files only, certificate and key that GnuTLS accepts, made here with openssl when it is installed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rigwatch/webconfig.h"
#include "rw_test.h"

#define HASH "$2b$10$b0Ogz7Rs9CIoYJOx9EehHuprPQjnzzq7eW191JR/F3PosueHC/iju"

static void test_parse_good(void)
{
	static struct rw_webconfig wc;
	char err[512] = "";
	const char *text = "---\n# rigwatch\ntls_server_config:\n    cert_file: tls.crt   # relative\n"
			   "    key_file: \"/etc/rw/tls.key\"\n\nbasic_auth_users:\n  prometheus: " HASH "\n"
			   "  'ops team': '" HASH "'\r\n";
	CU_ASSERT_EQUAL_FATAL(rw_webconfig_parse(&wc, "/etc/rw/web.yml", text, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(wc.cert_file, "/etc/rw/tls.crt");
	CU_ASSERT_STRING_EQUAL(wc.key_file, "/etc/rw/tls.key");
	CU_ASSERT_EQUAL_FATAL(wc.n_users, 2);
	CU_ASSERT_STRING_EQUAL(wc.users[0].name, "prometheus");
	CU_ASSERT_STRING_EQUAL(wc.users[0].hash, HASH);
	CU_ASSERT_STRING_EQUAL(wc.users[1].name, "ops team");

	/* empty: nothing asked for */
	CU_ASSERT_EQUAL(rw_webconfig_parse(&wc, "w.yml", "# nothing\n", err, sizeof err), 0);
	CU_ASSERT_EQUAL(wc.n_users, 0);
	CU_ASSERT_STRING_EQUAL(wc.cert_file, "");
	/* users only (basic auth over plain HTTP, e.g. behind a TLS proxy) */
	CU_ASSERT_EQUAL(rw_webconfig_parse(&wc, "w.yml", "basic_auth_users:\n u: " HASH "\n", err, sizeof err), 0);
	CU_ASSERT_EQUAL(wc.n_users, 1);
}

static void expect_bad(const char *text, const char *want)
{
	static struct rw_webconfig wc;
	char err[512] = "";
	CU_ASSERT_EQUAL(rw_webconfig_parse(&wc, "w.yml", text, err, sizeof err), -EINVAL);
	if (!strstr(err, want))
		fprintf(stderr, "\n  got \"%s\", want \"%s\"\n", err, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	CU_ASSERT_EQUAL(wc.n_users, 0);
	CU_ASSERT_STRING_EQUAL(wc.cert_file, "");
}

static void test_parse_bad(void)
{
	expect_bad("tls_server_config:\n\tcert_file: a\n", "w.yml:2: tab in indentation");
	expect_bad("tls_server_config:\n  cert_file: a\n", "w.yml: tls_server_config has cert_file but no key_file");
	expect_bad("tls_server_config:\n  key_file: a\n", "has key_file but no cert_file");
	expect_bad("tls_server_config:\n", "tls_server_config needs cert_file and key_file");
	expect_bad("tls_server_config:\n  cert_file: a\n  cert_file: b\n  key_file: k\n",
		   "w.yml:3: cert_file already set on line 2");
	expect_bad("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n",
		   "w.yml:4: tls_server_config.client_auth_type is not supported");
	expect_bad("tls_server_config:\n  certfile: a\n", "w.yml:2: unknown key \"certfile\" in tls_server_config");
	expect_bad("http_server_config:\n  http2: false\n", "w.yml:1: http_server_config is not supported");
	expect_bad("basic_auth_user:\n  a: " HASH "\n", "w.yml:1: unknown key \"basic_auth_user\"");
	expect_bad("basic_auth_users:\n  a: " HASH "\n  a: " HASH "\n", "w.yml:3: basic_auth_users: user \"a\" appears twice");
	expect_bad("basic_auth_users:\n  a: s3cret\n", "w.yml:2: basic_auth_users.a: expected a bcrypt hash");
	expect_bad("basic_auth_users:\n  a: $1$abc$def\n", "expected a bcrypt hash");
	expect_bad("basic_auth_users:\n  a: " HASH " junk\n", "expected a bcrypt hash");
	expect_bad("basic_auth_users:\n  a: '" HASH "' junk\n", "w.yml:2: unexpected \"junk\" after the value");
	expect_bad("basic_auth_users:\n  a: '" HASH "\n", "w.yml:2: unterminated quote");
	expect_bad("basic_auth_users: {a: b}\n", "w.yml:1: basic_auth_users: expected a mapping");
	expect_bad("basic_auth_users:\n  a:\n", "w.yml:2: a: expected a value");
	expect_bad("basic_auth_users:\n  - a\n", "w.yml:2: unsupported YAML");
	expect_bad("basic_auth_users:\n  a: " HASH "\n    b: " HASH "\n", "w.yml:3: inconsistent indentation");
	expect_bad("  a: b\n", "w.yml:1: indented line outside any section");
	expect_bad("basic_auth_users:\n  a:b: " HASH "\n", "without ':'");
	expect_bad("tls_server_config:\n  cert_file: \"a\\nb\"\n  key_file: k\n", "escapes inside a double-quoted");
	expect_bad("basic_auth_users\n", "w.yml:1: expected \"key: value\"");
	expect_bad("---\ntls_server_config:\n---\n", "w.yml:3:");
}

static void test_bcrypt_shape(void)
{
	CU_ASSERT_TRUE(rw_webconfig_is_bcrypt(HASH));
	CU_ASSERT_TRUE(rw_webconfig_is_bcrypt("$2y$04$b0Ogz7Rs9CIoYJOx9EehHuprPQjnzzq7eW191JR/F3PosueHC/iju"));
	CU_ASSERT_FALSE(rw_webconfig_is_bcrypt("$2b$03$b0Ogz7Rs9CIoYJOx9EehHuprPQjnzzq7eW191JR/F3PosueHC/iju"));
	CU_ASSERT_FALSE(rw_webconfig_is_bcrypt("$2x$10$b0Ogz7Rs9CIoYJOx9EehHuprPQjnzzq7eW191JR/F3PosueHC/iju"));
	CU_ASSERT_FALSE(rw_webconfig_is_bcrypt("$2b$10$b0Ogz7Rs9CIoYJOx9EehHuprPQjnzzq7eW191JR/F3PosueHC/ij!"));
	CU_ASSERT_FALSE(rw_webconfig_is_bcrypt("$2b$10$"));
}

static void test_load_files(void)
{
	static struct rw_webconfig wc;
	char dir[] = "/tmp/rwweb.XXXXXX", p[700], cmd[1600], err[512] = "";
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));

	snprintf(p, sizeof p, "%s/fifo.yml", dir);
	CU_ASSERT_EQUAL_FATAL(mkfifo(p, 0600), 0);
	CU_ASSERT_EQUAL(rw_webconfig_load(&wc, p, err, sizeof err), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "fifo.yml: not a regular file"));
	unlink(p);
	CU_ASSERT_EQUAL(rw_webconfig_load(&wc, "/nonexistent/web.yml", err, sizeof err), -ENOENT);

	/* a certificate and key that do not exist, then real ones, then a key of another certificate */
	snprintf(p, sizeof p, "%s/web.yml", dir);
	FILE *f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(rw_webconfig_load(&wc, p, err, sizeof err), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "tls.crt"));
	if (system("command -v openssl >/dev/null 2>&1") != 0) {
		printf("\n  (skipped: openssl not installed, certificate checks not run)\n");
	} else {
		snprintf(cmd, sizeof cmd,
			 "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key -out tls.crt -days 2 "
			 "-subj /CN=localhost >/dev/null 2>&1 && openssl req -x509 -newkey rsa:2048 -nodes -keyout "
			 "other.key -out other.crt -days 2 -subj /CN=other >/dev/null 2>&1", dir);
		CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
		int rc = rw_webconfig_load(&wc, p, err, sizeof err);
		if (rc)
			fprintf(stderr, "\n  %s\n", err);
		CU_ASSERT_EQUAL(rc, 0);
		f = fopen(p, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fputs("tls_server_config:\n  cert_file: tls.crt\n  key_file: other.key\n", f);
		fclose(f);
		CU_ASSERT_EQUAL(rw_webconfig_load(&wc, p, err, sizeof err), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "tls.crt and"));
		CU_ASSERT_STRING_EQUAL(wc.cert_file, "");
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static const rw_test tests[] = {
	RW_TEST(test_parse_good),
	RW_TEST(test_parse_bad),
	RW_TEST(test_bcrypt_shape),
	RW_TEST(test_load_files),
	{ NULL, NULL },
};

int main(void) { return rw_test_main("webconfig", tests); }
