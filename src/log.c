/* log: leveled one-line messages to stderr, logfmt or JSON, with the journald priority prefix when stderr is
 * the journal. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rigwatch/log.h"

/* The only process-wide mutable state besides the agent context: a logger must work before any context
 * exists (argument parsing) and from every thread. All of it is set before threads start. */
static enum rw_log_level log_level = RW_LOG_INFO;
static enum rw_log_format log_format = RW_LOG_LOGFMT;
static FILE *log_out;          /* NULL: stderr */
static bool log_journal;       /* prefix lines with <priority> */

static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* syslog(3) priorities of the four levels: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const char level_prio[] = { '3', '4', '6', '7' };

void rw_log_set_level(enum rw_log_level level) { log_level = level; }

enum rw_log_level rw_log_get_level(void) { return log_level; }

int rw_log_parse_level(const char *name, enum rw_log_level *out)
{
	for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum rw_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void rw_log_set_format(enum rw_log_format format) { log_format = format; }

int rw_log_parse_format(const char *name, enum rw_log_format *out)
{
	if (!strcmp(name, "logfmt"))
		*out = RW_LOG_LOGFMT;
	else if (!strcmp(name, "json"))
		*out = RW_LOG_JSON;
	else
		return -EINVAL;
	return 0;
}

/* systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connected to stdout/stderr; a process whose
 * stderr is still that stream may use the "<N>" prefix (sd-daemon(3)). A redirected stderr no longer matches. */
static bool is_journal(FILE *out)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(fileno(out), &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void rw_log_set_output(FILE *out)
{
	log_out = out;
	log_journal = is_journal(out ? out : stderr);
}

/* ---- one line in a fixed buffer: whatever does not fit is cut, the line is always terminated ---------------- */

#define LINE_MAX_BYTES 2048

struct line {
	char buf[LINE_MAX_BYTES];
	size_t len;
	unsigned fields;
};

static void put(struct line *l, const char *s, size_t n)
{
	/* two bytes kept back for "\n\0" */
	if (n > sizeof l->buf - 2 - l->len)
		n = sizeof l->buf - 2 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s) { put(l, s, strlen(s)); }

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 where the bytes are not one (RFC 3629). */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* logfmt quotes a value that is empty or holds a blank, '=', '"' or a control character. */
static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == 0x7f)
			return true;
	return false;
}

/* A quoted string: the escapes of JSON, which logfmt readers (go-logfmt, Loki) accept too; invalid UTF-8 bytes
 * become U+FFFD so a JSON line stays valid. */
static void put_quoted(struct line *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	put(l, "\"", 1);
	while (*p) {
		unsigned char c = *p;
		if (c >= 0x80) {
			size_t n = utf8_len(p);
			if (n) {
				put(l, (const char *)p, n);
				p += n;
			} else {
				put(l, "\xef\xbf\xbd", 3);
				p++;
			}
			continue;
		}
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			put(l, e, 2);
		} else if (c == '\n') {
			put(l, "\\n", 2);
		} else if (c == '\t') {
			put(l, "\\t", 2);
		} else if (c == '\r') {
			put(l, "\\r", 2);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			put(l, e, 6);
		} else {
			put(l, (const char *)p, 1);
		}
		p++;
	}
	put(l, "\"", 1);
}

static void field(struct line *l, const char *key, const char *value)
{
	if (l->fields++)
		put(l, log_format == RW_LOG_JSON ? "," : " ", 1);
	if (log_format == RW_LOG_JSON) {
		put(l, "\"", 1);
		puts_(l, key);
		put(l, "\":", 2);
		put_quoted(l, value);
		return;
	}
	puts_(l, key);
	put(l, "=", 1);
	if (needs_quotes(value))
		put_quoted(l, value);
	else
		puts_(l, value);
}

/* RFC 3339 UTC with milliseconds, as Prometheus' own logs: 2026-11-30T06:41:18.123Z */
static void timestamp(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!gmtime_r(&ts.tv_sec, &tm))
		memset(&tm, 0, sizeof tm);
	size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void emit(enum rw_log_level level, const char *module, const char *msg, va_list *kv)
{
	struct line l;
	char ts[40];

	l.len = 0;
	l.fields = 0;
	if (log_journal) {
		char p[3] = { '<', level_prio[level], '>' };
		put(&l, p, 3);
	}
	if (log_format == RW_LOG_JSON)
		put(&l, "{", 1);
	timestamp(ts, sizeof ts);
	field(&l, "ts", ts);
	field(&l, "level", level_names[level]);
	field(&l, "module", module);
	field(&l, "msg", msg);
	if (kv) {
		const char *k, *v;
		while ((k = va_arg(*kv, const char *)) != NULL) {
			v = va_arg(*kv, const char *);
			field(&l, k, v ? v : "");
		}
	}
	if (log_format == RW_LOG_JSON)
		put(&l, "}", 1);
	l.buf[l.len++] = '\n';
	l.buf[l.len] = '\0';
	/* One fputs per line keeps lines whole when threads log at once (stdio locks the stream). */
	fputs(l.buf, log_out ? log_out : stderr);
}

void rw_log(enum rw_log_level level, const char *module, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > log_level || (unsigned)level > RW_LOG_DEBUG)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	emit(level, module, msg, NULL);
}

void rw_log_kv(enum rw_log_level level, const char *module, const char *msg, ...)
{
	va_list ap;

	if (level > log_level || (unsigned)level > RW_LOG_DEBUG)
		return;
	va_start(ap, msg);
	emit(level, module, msg, &ap);
	va_end(ap);
}
