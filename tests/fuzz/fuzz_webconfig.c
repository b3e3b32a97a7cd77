/* fuzz_webconfig: the --web.config.file parser (rw_webconfig_parse). Properties: failure says why (with the file
 * name) and leaves nothing loaded; success gives at most RW_WEB_MAX_USERS users, each with a non-empty name
 * without ':' or control characters, a bcrypt hash and no repeats, and certificate and key both set or both
 * empty, every string NUL-terminated. */
#include <errno.h>

#include "fuzz.h"
#include "rigwatch/log.h"
#include "rigwatch/webconfig.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_webconfig wc, zero;
	char err[512] = "";
	char *text = fuzz_cstr(data, size);

	int rc = rw_webconfig_parse(&wc, "/etc/rw/web.yml", text, err, sizeof err);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL && strncmp(err, "/etc/rw/web.yml", 15) == 0);
		FUZZ_CHECK(memcmp(&wc, &zero, sizeof wc) == 0);
	} else {
		FUZZ_CHECK(wc.n_users <= RW_WEB_MAX_USERS);
		FUZZ_CHECK(FUZZ_TERMINATED(wc.cert_file) && FUZZ_TERMINATED(wc.key_file));
		FUZZ_CHECK((wc.cert_file[0] == '\0') == (wc.key_file[0] == '\0'));
		for (unsigned i = 0; i < wc.n_users; i++) {
			const struct rw_web_user *u = &wc.users[i];
			FUZZ_CHECK(FUZZ_TERMINATED(u->name) && FUZZ_TERMINATED(u->hash));
			FUZZ_CHECK(u->name[0] && !strchr(u->name, ':'));
			for (const char *c = u->name; *c; c++)
				FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
			FUZZ_CHECK(rw_webconfig_is_bcrypt(u->hash));
			for (unsigned j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(wc.users[j].name, u->name) != 0);
		}
	}
	free(text);
	return 0;
}
