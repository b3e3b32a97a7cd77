/* fuzz_config: the INI config parser (rw_config_parse). Properties: a failed parse leaves the config untouched
 * and says why; a successful one prints (rw_config_print) to text that parses back to the same configuration. */
#include <errno.h>

#include "fuzz.h"
#include "rigwatch/config.h"
#include "rigwatch/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	return 0;
}

static char *print(const struct rw_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	FUZZ_CHECK(f != NULL);
	rw_config_print(c, f);
	FUZZ_CHECK(fclose(f) == 0);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_config cfg, before, back;
	char err[512] = "";
	char *text = fuzz_cstr(data, size);

	rw_config_defaults(&cfg);
	before = cfg;
	int rc = rw_config_parse(&cfg, "fuzz.conf", text, err, sizeof err);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
	} else {
		size_t n1, n2;
		char *p1 = print(&cfg, &n1);
		rw_config_defaults(&back);
		rc = rw_config_parse(&back, "printed", p1, err, sizeof err);
		if (rc != 0)
			fprintf(stderr, "printed config does not parse back: %s\n---\n%s---\n", err, p1);
		FUZZ_CHECK(rc == 0);
		char *p2 = print(&back, &n2);
		FUZZ_CHECK(n1 == n2 && memcmp(p1, p2, n1) == 0);
		free(p1);
		free(p2);
	}
	free(text);
	return 0;
}
