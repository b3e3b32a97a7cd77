/* fuzz_rules: the indicator rule file parser (rw_procscan_rules_parse). Properties: failure says why and
 * returns no rule set; success returns one whose count is at most the number of lines. */
#include "fuzz.h"
#include "rigwatch/log.h"
#include "rigwatch/procscan.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_procscan_rules *rules = NULL;
	char err[512] = "";
	char *text = fuzz_cstr(data, size);

	int rc = rw_procscan_rules_parse(&rules, "fuzz.rules", text, err, sizeof err);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && err[0] != '\0');
	} else {
		FUZZ_CHECK(rules != NULL);
		size_t lines = 1;
		for (const char *p = text; *p; p++)
			lines += *p == '\n';
		FUZZ_CHECK(rw_procscan_rules_count(rules) <= lines);
		rw_procscan_rules_free(rules);
	}
	free(text);
	return 0;
}
