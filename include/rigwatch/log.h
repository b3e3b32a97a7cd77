/* log: one line per event to stderr, in logfmt (default) or JSON, as node_exporter and the Prometheus tools write:
 *   ts=2026-11-30T06:41:18.123Z level=info module=agent msg="rigwatch running" interval_ms=1000
 *   {"ts":"2026-11-30T06:41:18.123Z","level":"info","module":"agent","msg":"rigwatch running","interval_ms":"1000"}
 * Four levels: warnings and errors always, info by default, debug on request.
 *
 * Under systemd, when stderr is the journal (JOURNAL_STREAM names its device and inode), every line also starts
 * with the sd-daemon priority prefix ("<3>" error, "<4>" warn, "<6>" info, "<7>" debug), which journald strips
 * and stores as the entry's PRIORITY, so `journalctl -p err` filters them. */
#ifndef RIGWATCH_LOG_H
#define RIGWATCH_LOG_H

#include <stdio.h>

enum rw_log_level { RW_LOG_ERROR = 0, RW_LOG_WARN = 1, RW_LOG_INFO = 2, RW_LOG_DEBUG = 3 };
enum rw_log_format { RW_LOG_LOGFMT = 0, RW_LOG_JSON = 1 };

/* Set the most verbose level printed (default RW_LOG_INFO). Not thread-safe; call before starting threads. */
void rw_log_set_level(enum rw_log_level level);
/* Parse "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int rw_log_parse_level(const char *name, enum rw_log_level *out);

/* Line format (default logfmt). Not thread-safe; call before starting threads. */
void rw_log_set_format(enum rw_log_format format);
/* Parse "logfmt" or "json"; returns 0 or -EINVAL. */
int rw_log_parse_format(const char *name, enum rw_log_format *out);

/* Where lines go (NULL: stderr, the default), and whether that stream is the journal (JOURNAL_STREAM compared with
 * its fstat), which turns the priority prefix on. Not thread-safe; call before starting threads. */
void rw_log_set_output(FILE *out);

/* printf-style message: msg="<formatted text>". */
void rw_log(enum rw_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A fixed message with fields: key, value, key, value, ..., NULL. Keys are ours (letters, digits, '_'); values
 * are quoted and escaped as needed. */
void rw_log_kv(enum rw_log_level level, const char *module, const char *msg, ...) __attribute__((sentinel));

#define rw_log_error(mod, ...) rw_log(RW_LOG_ERROR, mod, __VA_ARGS__)
#define rw_log_warn(mod, ...)  rw_log(RW_LOG_WARN, mod, __VA_ARGS__)
#define rw_log_info(mod, ...)  rw_log(RW_LOG_INFO, mod, __VA_ARGS__)
#define rw_log_debug(mod, ...) rw_log(RW_LOG_DEBUG, mod, __VA_ARGS__)

#endif
