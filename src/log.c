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

#include "rigwatch/buf.h"
#include "rigwatch/clock.h"

#include "rigwatch/log.h"

/* Process-wide: a logger must work before any context exists (argument parsing) and from every thread. All of it
 * is set before threads start, the level again on a reload (one int; a thread may log a last line at the old
 * level). */
static enum rw_log_level log_level = RW_LOG_INFO;
static enum rw_log_format log_format = RW_LOG_LOGFMT;
static FILE *log_out;          /* NULL: stderr */
static bool log_journal;       /* prefix lines with <priority> */

static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* syslog(3) priorities of the four levels: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const char level_prio[] = { '3', '4', '6', '7' };

void rw_log_set_level(enum rw_log_level level) { log_level = level; }


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

/* ---- one line ---------------------------------------------------------------------------------------------- */

/* Longest value written, in bytes before escaping: a line stays whole (and valid JSON) however long the input. */
#define VALUE_MAX 1024

/* logfmt quotes a value that is empty or holds a blank, '=', '"' or a control character; here also one with bytes
 * above ASCII, so that the quoting (rw_buf_json_string) makes any invalid UTF-8 valid. */
static bool needs_quotes(const char *s, size_t n)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == '=' || c == '"' || c >= 0x7f)
			return true;
	}
	return false;
}

static void field(struct rw_buf *b, unsigned *nfields, const char *key, const char *value)
{
	char cut[VALUE_MAX + 1];
	size_t n = strlen(value);
	if (n > VALUE_MAX) {
		n = VALUE_MAX;
		while (n && ((unsigned char)value[n] & 0xc0) == 0x80)   /* not inside a UTF-8 sequence */
			n--;
		memcpy(cut, value, n);
		cut[n] = '\0';
		value = cut;
	}
	if ((*nfields)++)
		rw_buf_putc(b, log_format == RW_LOG_JSON ? ',' : ' ');
	if (log_format == RW_LOG_JSON) {
		rw_buf_json_string(b, key);
		rw_buf_putc(b, ':');
		rw_buf_json_string(b, value);
		return;
	}
	rw_buf_puts(b, key);
	rw_buf_putc(b, '=');
	/* quoted with JSON's escapes, which logfmt readers (go-logfmt, Loki) accept; always valid UTF-8 */
	if (needs_quotes(value, n))
		rw_buf_json_string(b, value);
	else
		rw_buf_append(b, value, n);
}

static void emit(enum rw_log_level level, const char *module, const char *msg, va_list *kv)
{
	struct rw_buf b = RW_BUF_INIT;
	struct rw_buf ts = RW_BUF_INIT;
	unsigned nfields = 0;

	if (log_journal) {
		char p[3] = { '<', level_prio[level], '>' };
		rw_buf_append(&b, p, 3);
	}
	if (log_format == RW_LOG_JSON)
		rw_buf_putc(&b, '{');
	/* RFC 3339 UTC with milliseconds, as Prometheus' own logs: 2026-11-30T06:41:18.123Z */
	rw_buf_rfc3339(&ts, rw_real_ns(), 3);
	rw_buf_putc(&ts, '\0');
	field(&b, &nfields, "ts", ts.err ? "" : ts.data);
	field(&b, &nfields, "level", level_names[level]);
	field(&b, &nfields, "module", module);
	field(&b, &nfields, "msg", msg);
	if (kv) {
		const char *k, *v;
		while ((k = va_arg(*kv, const char *)) != NULL) {
			v = va_arg(*kv, const char *);
			field(&b, &nfields, k, v ? v : "");
		}
	}
	if (log_format == RW_LOG_JSON)
		rw_buf_putc(&b, '}');
	rw_buf_append(&b, "\n", 2);   /* with its NUL */
	/* One fputs per line keeps lines whole when threads log at once (stdio locks the stream). */
	if (!b.err)
		fputs(b.data, log_out ? log_out : stderr);
	else
		fprintf(log_out ? log_out : stderr, "level=%s module=%s msg=\"(out of memory)\"\n", level_names[level],
			module);
	rw_buf_free(&b);
	rw_buf_free(&ts);
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
