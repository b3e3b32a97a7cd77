/* fuzz_model: the model file parser (rw_model_parse) and the integer inference over what it accepts.
 * Properties: a failed parse leaves the model untouched and says why; an accepted model prints to text that
 * parses back to a model giving the same output on the same features; the fused probability stays in 0..1. */
#include "fuzz.h"
#include "rigwatch/log.h"
#include "rigwatch/model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	return 0;
}

/* Features from the input bytes themselves, so the fuzzer steers them too: every feature present, with values
 * spread over the whole int32 range (clamping must hold at the extremes). */
static void features_from(const uint8_t *data, size_t size, struct rw_features *f)
{
	memset(f, 0, sizeof *f);
	for (unsigned i = 0; i < RW_F_COUNT; i++) {
		uint32_t v = 0;
		for (unsigned b = 0; b < 4 && size; b++)
			v = v << 8 | data[(i * 4 + b) % size];
		f->v[i] = (int32_t)v;
		f->present |= RW_F_BIT(i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_model m, before, back;
	char err[512] = "";
	char *text = fuzz_cstr(data, size);

	memset(&m, 0x5a, sizeof m);
	before = m;
	int rc = rw_model_parse(&m, "fuzz.model", text, err, sizeof err);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && err[0] != '\0');
		FUZZ_CHECK(memcmp(&m, &before, sizeof m) == 0);
		free(text);
		return 0;
	}
	FUZZ_CHECK(FUZZ_TERMINATED(m.name) && FUZZ_TERMINATED(m.provenance));

	struct rw_features f;
	struct rw_model_output o1, o2;
	features_from(data, size, &f);
	rw_model_eval(&m, &f, &o1);
	rw_model_explain(&m, &f, &o1);
	FUZZ_CHECK(o1.p_q16 >= 0 && o1.p_q16 <= 65536);

	char *buf = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);
	FUZZ_CHECK(mf != NULL);
	rw_model_print(&m, mf);
	FUZZ_CHECK(fclose(mf) == 0);
	rc = rw_model_parse(&back, "printed", buf, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "printed model does not parse back: %s\n---\n%s---\n", err, buf);
	FUZZ_CHECK(rc == 0);
	rw_model_eval(&back, &f, &o2);
	FUZZ_CHECK(o1.p_q16 == o2.p_q16 && o1.logit_q16 == o2.logit_q16 && o1.sources_used == o2.sources_used);
	free(buf);
	free(text);
	return 0;
}
