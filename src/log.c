/* log: leveled one-line messages to stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rigwatch/log.h"

/* The only process-wide mutable state besides the agent context: a logger must work before any context
 * exists (argument parsing) and from every thread. */
static enum rw_log_level log_level = RW_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

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

void rw_log(enum rw_log_level level, const char *component, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof line, "%s %s: ", level_names[level], component);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	/* One fputs per line keeps lines whole when threads log at once (stdio locks the stream). */
	size_t len = strlen(line);
	if (len + 1 < sizeof line) {
		line[len] = '\n';
		line[len + 1] = '\0';
	} else {
		line[sizeof line - 2] = '\n';
	}
	fputs(line, stderr);
}
