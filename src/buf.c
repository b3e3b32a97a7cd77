/* buf: growable buffer, UTF-8-safe escaping, RFC 3339 time and Q16.16 text (see buf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rigwatch/buf.h"

void rw_buf_free(struct rw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

void rw_buf_reset(struct rw_buf *b)
{
	b->len = 0;
	b->err = 0;
}

int rw_buf_reserve(struct rw_buf *b, size_t extra)
{
	if (b->err)
		return b->err;
	if (b->cap - b->len >= extra)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra) {
		if (cap > (size_t)-1 / 2) {
			b->err = -ENOMEM;
			return b->err;
		}
		cap *= 2;
	}
	char *n = realloc(b->data, cap);
	if (!n) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->data = n;
	b->cap = cap;
	return 0;
}

void rw_buf_append(struct rw_buf *b, const void *p, size_t n)
{
	if (n == 0 || rw_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void rw_buf_puts(struct rw_buf *b, const char *s)
{
	rw_buf_append(b, s, strlen(s));
}

void rw_buf_putc(struct rw_buf *b, char c)
{
	if (rw_buf_reserve(b, 1))
		return;
	b->data[b->len++] = c;
}

void rw_buf_printf(struct rw_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		rw_buf_append(b, small, (size_t)n);
		return;
	}
	if (rw_buf_reserve(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 if the bytes there are not one (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF). Stops at a NUL, which is never a continuation byte. */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		if (p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		if (p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

static const char utf8_replacement[] = "\xef\xbf\xbd";

void rw_buf_escaped(struct rw_buf *b, const char *s, enum rw_esc mode)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;   /* start of bytes not yet copied */

	while (*p) {
		unsigned char c = *p;
		const char *rep = NULL;
		char ubuf[7];
		size_t replen = 0, adv = 1;

		if (c >= 0x80) {
			adv = utf8_seq(p);
			if (adv) {
				p += adv;
				continue;
			}
			rep = utf8_replacement;
			replen = 3;
			adv = 1;
		} else if (mode == RW_ESC_LABEL) {
			if (c == '\\')
				rep = "\\\\", replen = 2;
			else if (c == '"')
				rep = "\\\"", replen = 2;
			else if (c == '\n')
				rep = "\\n", replen = 2;
		} else if (mode == RW_ESC_JSON) {
			if (c == '\\')
				rep = "\\\\", replen = 2;
			else if (c == '"')
				rep = "\\\"", replen = 2;
			else if (c == '\n')
				rep = "\\n", replen = 2;
			else if (c == '\t')
				rep = "\\t", replen = 2;
			else if (c == '\r')
				rep = "\\r", replen = 2;
			else if (c < 0x20 || c == 0x7f) {
				memcpy(ubuf, "\\u00", 4);
				ubuf[4] = hex[c >> 4];
				ubuf[5] = hex[c & 15];
				rep = ubuf;
				replen = 6;
			}
		}
		if (rep) {
			rw_buf_append(b, run, (size_t)(p - run));
			rw_buf_append(b, rep, replen);
			p += adv;
			run = p;
		} else {
			p++;
		}
	}
	rw_buf_append(b, run, (size_t)(p - run));
}

void rw_buf_json_string(struct rw_buf *b, const char *s)
{
	rw_buf_putc(b, '"');
	rw_buf_escaped(b, s ? s : "", RW_ESC_JSON);
	rw_buf_putc(b, '"');
}

void rw_buf_rfc3339(struct rw_buf *b, uint64_t time_ns, unsigned frac_digits)
{
	time_t secs = (time_t)(time_ns / 1000000000u);
	unsigned long frac = (unsigned long)(time_ns % 1000000000u);
	struct tm tm;
	char tmp[48];

	if (!gmtime_r(&secs, &tm))
		memset(&tm, 0, sizeof tm);
	size_t n = strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm);
	rw_buf_append(b, tmp, n);
	if (frac_digits == 3)
		rw_buf_printf(b, ".%03luZ", frac / 1000000);
	else if (frac_digits == 6)
		rw_buf_printf(b, ".%06luZ", frac / 1000);
	else if (frac_digits == 9)
		rw_buf_printf(b, ".%09luZ", frac);
	else
		rw_buf_putc(b, 'Z');
}

/* v rounded to `digits` (1..9) fraction digits, trailing zeros trimmed. */
static void q16_text(int32_t v, unsigned digits, char *buf, size_t len)
{
	static const uint64_t pow10u[] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
					   1000000000 };
	uint64_t a = v < 0 ? (uint64_t)-(int64_t)v : (uint64_t)v;
	uint64_t p = pow10u[digits];
	uint64_t scaled = (a * p + 32768) >> 16;
	char f[24];
	snprintf(f, sizeof f, "%0*llu", (int)digits, (unsigned long long)(scaled % p));
	for (int i = (int)digits - 1; i >= 0 && f[i] == '0'; i--)
		f[i] = '\0';
	snprintf(buf, len, "%s%llu%s%s", v < 0 ? "-" : "", (unsigned long long)(scaled / p), f[0] ? "." : "", f);
}

void rw_buf_q16(struct rw_buf *b, int32_t v)
{
	char t[32];
	q16_text(v, 6, t, sizeof t);
	rw_buf_puts(b, t);
}

void rw_format_q16(int32_t v, char *buf, size_t len)
{
	q16_text(v, 4, buf, len);
}
