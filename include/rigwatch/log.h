/* log: one line per event, "level component: message", to stderr (journald picks it up).
 * Three tiers as in OpenBSD daemons: warnings and errors always, info by default, debug on request. */
#ifndef RIGWATCH_LOG_H
#define RIGWATCH_LOG_H

enum rw_log_level { RW_LOG_ERROR = 0, RW_LOG_WARN = 1, RW_LOG_INFO = 2, RW_LOG_DEBUG = 3 };

/* Set the most verbose level printed (default RW_LOG_INFO). Not thread-safe; call before starting threads. */
void rw_log_set_level(enum rw_log_level level);
enum rw_log_level rw_log_get_level(void);
/* Parse "error", "warn", "info" or "debug"; returns 0 or -EINVAL. */
int rw_log_parse_level(const char *name, enum rw_log_level *out);

void rw_log(enum rw_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define rw_log_error(comp, ...) rw_log(RW_LOG_ERROR, comp, __VA_ARGS__)
#define rw_log_warn(comp, ...)  rw_log(RW_LOG_WARN, comp, __VA_ARGS__)
#define rw_log_info(comp, ...)  rw_log(RW_LOG_INFO, comp, __VA_ARGS__)
#define rw_log_debug(comp, ...) rw_log(RW_LOG_DEBUG, comp, __VA_ARGS__)

#endif
