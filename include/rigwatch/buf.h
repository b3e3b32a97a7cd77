/* buf: a growable byte buffer, and the one copy of the text every output shares: strings that are always valid
 * UTF-8 (JSON, Prometheus label values, protobuf strings), RFC 3339 UTC times and Q16.16 decimals. /metrics,
 * /verdicts, alerts, the audit log and `rigwatch replay` all write through these. */
#ifndef RIGWATCH_BUF_H
#define RIGWATCH_BUF_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. Allocation failure is sticky: `err` becomes -ENOMEM and later appends do nothing, so a
 * renderer appends freely and checks once at the end. Zero-initialise (RW_BUF_INIT) before first use. */
struct rw_buf {
	char *data;
	size_t len, cap;
	int err;
};
#define RW_BUF_INIT { NULL, 0, 0, 0 }

void rw_buf_free(struct rw_buf *b);
void rw_buf_reset(struct rw_buf *b);                  /* empty it, keep the memory */
int rw_buf_reserve(struct rw_buf *b, size_t extra);   /* room for `extra` more bytes; 0 or -ENOMEM */
void rw_buf_append(struct rw_buf *b, const void *p, size_t n);
void rw_buf_puts(struct rw_buf *b, const char *s);
void rw_buf_putc(struct rw_buf *b, char c);
void rw_buf_printf(struct rw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text from outside (cgroup names, process names, rule text) is bytes; what we write must be UTF-8. Each mode
 * appends s with every byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) replaced by U+FFFD, and escapes for its syntax:
 *   RW_ESC_NONE   nothing more (protobuf strings)
 *   RW_ESC_LABEL  a Prometheus label value: \\, \" and \n
 *   RW_ESC_JSON   the inside of a JSON string: \\, \", \n, \r, \t, other controls and DEL as \u00XX */
enum rw_esc { RW_ESC_NONE, RW_ESC_LABEL, RW_ESC_JSON };
void rw_buf_escaped(struct rw_buf *b, const char *s, enum rw_esc mode);
/* A JSON string literal with its quotes (RW_ESC_JSON); NULL is "". */
void rw_buf_json_string(struct rw_buf *b, const char *s);

/* RFC 3339 UTC: "2024-05-01T12:00:00Z", with `frac_digits` (0, 3, 6 or 9) fraction digits of the second. */
void rw_buf_rfc3339(struct rw_buf *b, uint64_t time_ns, unsigned frac_digits);

/* Decimal text of a signed Q16.16 value, rounded to 6 fraction digits, trailing zeros trimmed ("0.5", "-1.25",
 * "3", "0.000015"): the precision of metrics and JSON. */
void rw_buf_q16(struct rw_buf *b, int32_t v);
/* The same rounded to 4 fraction digits into buf ("0.05", "-0.5", "1"): the precision of config and model files,
 * where a value written parses back to itself. */
void rw_format_q16(int32_t v, char *buf, size_t len);

#endif
