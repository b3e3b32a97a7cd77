/* trace: recorded samples on disk (proto/trace.proto). "RWTRACE\x01", a length-delimited Header, then one
 * length-delimited Sample per target per interval, appended and flushed as they come. The reader is strict: a
 * truncated or corrupt record is an error naming the byte offset where it starts, reported after every whole
 * sample before it has been returned. */
#ifndef RIGWATCH_TRACE_H
#define RIGWATCH_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rigwatch/sample.h"

#define RW_TRACE_MAGIC     "RWTRACE\x01"
#define RW_TRACE_MAGIC_LEN 8
#define RW_TRACE_FORMAT    1
#define RW_TRACE_RECORD_MAX (1u << 20)  /* a record longer than this is corruption, not data */

struct rw_trace_event {
	unsigned role;             /* enum rw_counter_role */
	char name[128];            /* libpfm4 event string */
};

struct rw_trace_header {
	unsigned format;
	char host[64];
	char kernel[160];
	char cpu_model[128];
	char pmu[32];
	unsigned n_events;
	struct rw_trace_event events[RW_CTR_COUNT];
	uint32_t interval_ms;
	char version[32];
	char label[128];
	uint64_t start_time_ns;
	char cgroup[RW_CGROUP_PATH_MAX];
};

/* Fill host, kernel, CPU model, version and start time from this machine; the caller sets pmu, events,
 * interval_ms, label and cgroup. */
void rw_trace_header_init(struct rw_trace_header *h, uint32_t interval_ms, const char *label);

struct rw_trace_writer {
	FILE *f;
	char path[512];
	uint64_t offset;           /* bytes written */
	uint64_t samples;
};

/* Create (truncate) path and write the header. Returns 0 or -errno with a message in err. */
int rw_trace_writer_open(struct rw_trace_writer *w, const char *path, const struct rw_trace_header *h, char *err,
			 size_t errlen);
/* Append one sample (not yet flushed). */
int rw_trace_write(struct rw_trace_writer *w, const struct rw_sample *s);
/* Flush what was appended (once per interval, so a crash loses at most the interval in progress). */
int rw_trace_flush(struct rw_trace_writer *w);
int rw_trace_writer_close(struct rw_trace_writer *w);

struct rw_trace_reader {
	FILE *f;
	char path[512];
	uint64_t offset;           /* start of the next record */
	uint64_t samples;          /* whole samples returned so far */
	uint8_t *buf;
	size_t cap;
};

/* Open path and read its header. Errors (not a trace, truncated/corrupt header) name the file and offset. */
int rw_trace_reader_open(struct rw_trace_reader *r, const char *path, struct rw_trace_header *h, char *err,
			 size_t errlen);
/* Next sample: 1 with *s filled, 0 at a clean end of file, -EINVAL for a truncated or corrupt record, a sample
 * with cgroup_id 0 included ("FILE: offset N: ..."), -errno for I/O errors. */
int rw_trace_next(struct rw_trace_reader *r, struct rw_sample *s, char *err, size_t errlen);
void rw_trace_reader_close(struct rw_trace_reader *r);

#endif
