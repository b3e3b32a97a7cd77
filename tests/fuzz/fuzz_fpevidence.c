/* fuzz_fpevidence: the FP evidence a trace carries, decoded as `rigwatch replay` decodes it. The input is the
 * serialized FpEvidence message; it is put in a Sample record behind a valid trace header, read back with
 * rw_trace_reader_open / rw_trace_next, and the sample goes through the features and the shipped model. The
 * raw control values go through both register decoders (rw_fp_decode_mxcsr, rw_fp_decode_fpcr).
 * Properties: what the reader hands on is in range whatever the message said (modes_union 4 bits, at most 4
 * modes and 3 non-default modes per thread, ftz_daz 0/1, a known path, changes <= pairs, per-mode counts copied
 * only for the 4 modes); the decoders return a rounding mode 0..3 and FTZ/DAZ bits that match the register
 * layouts; the model's probability stays in 0..1. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "rigwatch/features.h"
#include "rigwatch/fpprobe.h"
#include "rigwatch/log.h"
#include "rigwatch/model.h"
#include "rigwatch/trace.h"
#include "trace.pb-c.h"

static struct rw_model model;
static int have_model;
static uint8_t *header;
static size_t header_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256], path[64];
	struct rw_trace_header h;
	struct rw_trace_writer w;
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	have_model = rw_model_load(&model, "models/rigwatch.model", err, sizeof err) == 0;

	/* A trace with a header and no sample: its bytes are the prefix of every input's trace. */
	int fd = memfd_create("fuzz_fpevidence_hdr", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	rw_trace_header_init(&h, 1000, "fuzz");
	FUZZ_CHECK(rw_trace_writer_open(&w, path, &h, err, sizeof err) == 0);
	FUZZ_CHECK(rw_trace_writer_close(&w) == 0);
	off_t n = lseek(fd, 0, SEEK_END);
	FUZZ_CHECK(n > 0);
	header_len = (size_t)n;
	header = malloc(header_len);
	FUZZ_CHECK(header && pread(fd, header, header_len, 0) == (ssize_t)header_len);
	close(fd);
	return 0;
}

static void check_decoders(uint32_t v)
{
	struct rw_fp_decoded d;
	rw_fp_decode_mxcsr(v, &d);
	FUZZ_CHECK(d.rmode == ((v >> 13) & 3) && d.ftz == ((v >> 15) & 1) && d.daz == ((v >> 6) & 1));
	rw_fp_decode_fpcr(v, &d);
	static const uint8_t fpcr_map[4] = { RW_FP_NEAREST, RW_FP_UP, RW_FP_DOWN, RW_FP_ZERO };
	FUZZ_CHECK(d.rmode == fpcr_map[(v >> 22) & 3] && d.ftz == ((v >> 24) & 1) && d.daz == (v & 1));
	rw_fp_decode(v, &d);
	FUZZ_CHECK(d.rmode <= 3 && d.ftz <= 1 && d.daz <= 1);
	FUZZ_CHECK(rw_fp_rmode_name(d.rmode) != NULL);
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		p[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			p[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_trace_header h;
	static struct rw_sample s;
	char path[64], err[512] = "";

	if (size >= 4)
		check_decoders((uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
			       (uint32_t)data[3] << 24);
	Rigwatch__Trace__FpEvidence *fp = rigwatch__trace__fp_evidence__unpack(NULL, size, data);
	if (!fp)
		return 0;   /* not a message protobuf-c accepts: the reader would reject the record the same way */
	check_decoders(fp->last_control);

	Rigwatch__Trace__Sample m = RIGWATCH__TRACE__SAMPLE__INIT;
	m.fp = fp;
	m.cgroup = (char *)"/fuzz";
	size_t n = rigwatch__trace__sample__get_packed_size(&m);
	uint8_t *rec = malloc(n + 10);
	FUZZ_CHECK(rec != NULL);
	size_t hl = put_varint(rec, n);
	FUZZ_CHECK(rigwatch__trace__sample__pack(&m, rec + hl) == n);

	int fd = memfd_create("fuzz_fpevidence", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, header, header_len) == (ssize_t)header_len);
	FUZZ_CHECK(write(fd, rec, hl + n) == (ssize_t)(hl + n));
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

	struct rw_trace_reader r;
	FUZZ_CHECK(rw_trace_reader_open(&r, path, &h, err, sizeof err) == 0);
	int rc = rw_trace_next(&r, &s, err, sizeof err);
	if (rc == 1) {
		const struct rw_fp_evidence *e = &s.fp;
		FUZZ_CHECK(e->modes_union <= 0xf && e->max_thread_modes <= 4 && e->max_thread_nondefault <= 3);
		FUZZ_CHECK(e->ftz_daz <= 1 && e->path <= RW_FP_PATH_PTRACE && e->changes <= e->pairs);
		FUZZ_CHECK(e->probes == fp->probes && e->last_control == fp->last_control);
		for (unsigned i = 0; i < 4; i++)
			FUZZ_CHECK(e->mode_obs[i] == (i < fp->n_mode_obs ? fp->mode_obs[i] : 0));
		check_decoders(e->last_control);
		struct rw_features_state st;
		struct rw_features f;
		rw_features_state_init(&st);
		rw_features_compute(&st, &s, &f);
		rw_features_compute(&st, &s, &f);
		if (have_model) {
			struct rw_model_output o;
			rw_model_eval(&model, &f, &o);
			FUZZ_CHECK(o.p_q16 >= 0 && o.p_q16 <= 65536);
		}
	} else {
		FUZZ_CHECK(rc < 0 && err[0] != '\0');
	}
	rw_trace_reader_close(&r);
	close(fd);
	free(rec);
	rigwatch__trace__fp_evidence__free_unpacked(fp, NULL);
	return 0;
}
