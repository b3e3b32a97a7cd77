/* fuzz_trace: the trace reader (rw_trace_reader_open, rw_trace_next), i.e. what `rigwatch replay` does with a
 * file from anywhere, followed by the replay path over every sample it returns: features, then the shipped model.
 * The input is written to a memfd and read through /proc/self/fd/N, so the real stdio path is exercised.
 * Properties: errors say why; decoded strings are NUL-terminated; the reader stops (clean end or error) within
 * as many records as the input has bytes; the model's probability stays in 0..1. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "rigwatch/features.h"
#include "rigwatch/log.h"
#include "rigwatch/model.h"
#include "rigwatch/trace.h"

static struct rw_model model;
static int have_model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	/* Run from the repository root (make fuzz does); without the model the replay stops at features. */
	have_model = rw_model_load(&model, "models/rigwatch.model", err, sizeof err) == 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_trace_header h;
	static struct rw_sample s;
	struct rw_trace_reader r;
	char path[64], err[512] = "";

	int fd = memfd_create("fuzz_trace", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

	int rc = rw_trace_reader_open(&r, path, &h, err, sizeof err);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && err[0] != '\0');
		close(fd);
		return 0;
	}
	FUZZ_CHECK(FUZZ_TERMINATED(h.host) && FUZZ_TERMINATED(h.kernel) && FUZZ_TERMINATED(h.cpu_model));
	FUZZ_CHECK(FUZZ_TERMINATED(h.pmu) && FUZZ_TERMINATED(h.version) && FUZZ_TERMINATED(h.label));
	FUZZ_CHECK(FUZZ_TERMINATED(h.cgroup) && h.n_events <= RW_CTR_COUNT);
	for (unsigned i = 0; i < h.n_events; i++)
		FUZZ_CHECK(FUZZ_TERMINATED(h.events[i].name));

	struct rw_features_state st;
	rw_features_state_init(&st);
	size_t records = 0;
	while ((rc = rw_trace_next(&r, &s, err, sizeof err)) == 1) {
		FUZZ_CHECK(++records <= size);
		FUZZ_CHECK(FUZZ_TERMINATED(s.cgroup) && FUZZ_TERMINATED(s.ind.evidence));
		FUZZ_CHECK(FUZZ_TERMINATED(s.identity.id) && FUZZ_TERMINATED(s.identity.name));
		FUZZ_CHECK(FUZZ_TERMINATED(s.identity.unit) && FUZZ_TERMINATED(s.identity.runtime));
		FUZZ_CHECK(s.ind.n_origin <= RW_ORIGIN_MAX);
		for (unsigned i = 0; i < s.ind.n_origin; i++)
			FUZZ_CHECK(FUZZ_TERMINATED(s.ind.origin[i].comm) && FUZZ_TERMINATED(s.ind.origin[i].exe));

		struct rw_features f;
		rw_features_compute(&st, &s, &f);
		if (have_model) {
			struct rw_model_output o;
			rw_model_eval(&model, &f, &o);
			rw_model_explain(&model, &f, &o);
			FUZZ_CHECK(o.p_q16 >= 0 && o.p_q16 <= 65536);
		}
	}
	if (rc < 0)
		FUZZ_CHECK(err[0] != '\0');
	rw_trace_reader_close(&r);
	close(fd);
	return 0;
}
