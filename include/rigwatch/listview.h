/* listview: a /verdicts document as rows, and rows as a table that fits a terminal: `rigwatch list` and `top`
 * show the same document whether a running agent gave it or the command scored the host itself. Pure: no I/O
 * but the terminal-size query. */
#ifndef RIGWATCH_LISTVIEW_H
#define RIGWATCH_LISTVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "rigwatch/exposition.h"
#include "rigwatch/json.h"

struct rw_list_row {
	uint64_t cgroup_id;
	const char *identity;      /* identity.label, else the cgroup path; points into the document */
	const char *cgroup;
	const char *verdict;
	const char *action;
	char sources[64];          /* "pmu,fpprobe" or "-" */
	double score;              /* 0..1 */
	double cores;              /* cores used in the last interval; < 0 when not given */
	uint64_t detections;
};

struct rw_list {
	struct rw_json_doc doc;
	const char *host;          /* into the document */
	const char *time;          /* RFC 3339 or "" */
	double interval_s;
	unsigned n;
	struct rw_list_row *rows;
};

/* Read a /verdicts document (the keys the agent writes: host, interval_s, time, targets[] with cgroup, cgroup_id,
 * verdict, score, and optionally identity.label, cpu_cores, sources, action, detections). Returns 0, -EINVAL with
 * err naming the place ("targets[3].score: expected a number"), or -ENOMEM. */
int rw_list_load(struct rw_list *l, const char *json, size_t len, char *err, size_t errlen);
void rw_list_free(struct rw_list *l);
/* Highest score first; ties by identity, then cgroup id. */
void rw_list_sort(struct rw_list *l);

/* Highlight flags for rw_list_table (top): a row whose verdict or action changed, or that is new. */
#define RW_LIST_CHANGED 1u

/* Append the table (header line included) to *out: columns IDENTITY first, then VERDICT, SCORE, CORES, ACTION,
 * SOURCES, CGROUP, dropped from the right and shrunk (ending in "~") so that no line is wider than `width`
 * columns. At most max_rows rows (0: all). `marks` (or NULL) holds RW_LIST_* flags per row; `ansi` adds SGR
 * colours (mining red, suspect yellow, changed rows reversed) and ends each line with erase-to-end. Control
 * characters in names are shown as '?', so a cgroup name cannot drive the terminal. */
void rw_list_table(const struct rw_list *l, unsigned width, unsigned max_rows, const unsigned char *marks, bool ansi,
		   struct rw_buf *out);

/* Columns of the terminal on fd (TIOCGWINSZ), else $COLUMNS, else 80. Rows likewise ($LINES, 24). */
unsigned rw_term_width(int fd);
unsigned rw_term_height(int fd);

#endif
