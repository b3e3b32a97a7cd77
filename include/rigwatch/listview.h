/* listview: a /verdicts document as rows, and rows as a table that fits a terminal: `rigwatch list` and `top`
 * show the same document whether a running agent gave it or the command scored the host itself. Pure: no I/O
 * but the terminal-size query. */
#ifndef RIGWATCH_LISTVIEW_H
#define RIGWATCH_LISTVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "rigwatch/buf.h"

struct rw_list_row {
	uint64_t cgroup_id;
	char identity[256];        /* k8s:<namespace>/<pod>/<container> where the identity has those names, else
				    * identity.label, else the cgroup path */
	char cgroup[1024];         /* cut at a UTF-8 boundary when longer; control characters as '?' */
	char verdict[16];
	char action[16];
	char sources[64];          /* "pmu,fpprobe" or "-" */
	double score;              /* 0..1 */
	double cores;              /* cores used in the last interval; < 0 when not given */
	uint64_t detections;
};

struct rw_list {
	char host[64];
	char time[40];             /* RFC 3339 or "" */
	double interval_s;
	unsigned n;
	struct rw_list_row *rows;
};

/* Read a /verdicts document (the keys the agent writes: host, interval_s, time, targets[] with cgroup, cgroup_id,
 * verdict, score, and optionally identity (label, k8s_namespace, k8s_pod, k8s_container), cpu_cores, sources,
 * action, allowed, detections), with the strict reader of jsonread.h; the rows own copies of what they show. An
 * allowed target with no action shows "allowed" as its action. Returns 0, -EINVAL with err naming the place
 * ("targets[3].score: expected a number from 0 to 1", "offset 12: ..."), or -ENOMEM. */
int rw_list_load(struct rw_list *l, const char *json, size_t len, char *err, size_t errlen);
void rw_list_free(struct rw_list *l);
/* Highest score first; ties by identity, then cgroup id. */
void rw_list_sort(struct rw_list *l);

/* Highlight flags for rw_list_table (top): a row whose verdict or action changed, or that is new. */
#define RW_LIST_CHANGED 1u

/* Append the table (header line included) to *out: columns IDENTITY first, then VERDICT, SCORE, CORES, ACTION,
 * SOURCES, CGROUP, so that no line is wider than `width` columns: the identity at most half the width, the
 * cgroup path shrunk, then columns dropped from the right, then the identity shrunk (cut text ends in "~"). At most max_rows rows (0: all). `marks` (or NULL) holds RW_LIST_* flags per row; `ansi` adds SGR
 * colours (mining red, suspect yellow, changed rows reversed) and ends each line with erase-to-end. Control
 * characters in names are shown as '?', so a cgroup name cannot drive the terminal. */
void rw_list_table(const struct rw_list *l, unsigned width, unsigned max_rows, const unsigned char *marks, bool ansi,
		   struct rw_buf *out);

/* Columns of the terminal on fd (TIOCGWINSZ), else $COLUMNS, else 80. Rows likewise ($LINES, 24). */
unsigned rw_term_width(int fd);
unsigned rw_term_height(int fd);

#endif
