/* listview: /verdicts rows and the width-fitting table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "rigwatch/listview.h"

static int field_err(char *err, size_t errlen, unsigned i, const char *key, const char *what)
{
	snprintf(err, errlen, "targets[%u].%s: %s", i, key, what);
	return -EINVAL;
}

int rw_list_load(struct rw_list *l, const char *json, size_t len, char *err, size_t errlen)
{
	char perr[160];
	int r;

	memset(l, 0, sizeof *l);
	if ((r = rw_json_parse(json, len, &l->doc, perr, sizeof perr)) < 0) {
		snprintf(err, errlen, "%s", perr);
		return r;
	}
	const struct rw_json *root = l->doc.root, *targets = rw_json_get(root, "targets");
	if (root->type != RW_JSON_OBJECT || !targets || targets->type != RW_JSON_ARRAY) {
		snprintf(err, errlen, "not a /verdicts document: no \"targets\" array");
		rw_list_free(l);
		return -EINVAL;
	}
	l->host = rw_json_get_str(root, "host", "");
	l->time = rw_json_get_str(root, "time", "");
	l->interval_s = rw_json_get_num(root, "interval_s", 0);
	if (targets->n && (!(l->rows = calloc(targets->n, sizeof *l->rows)) ||
			   !(l->names = calloc(targets->n, sizeof *l->names)))) {
		rw_list_free(l);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	unsigned i = 0;
	for (const struct rw_json *t = targets->child; t; t = t->next, i++) {
		struct rw_list_row *row = &l->rows[i];
		const struct rw_json *v;
		if (t->type != RW_JSON_OBJECT) {
			r = field_err(err, errlen, i, "", "expected an object");
			goto bad;
		}
		if (!(row->cgroup = rw_json_get_str(t, "cgroup", NULL))) {
			r = field_err(err, errlen, i, "cgroup", "expected a string");
			goto bad;
		}
		v = rw_json_get(t, "cgroup_id");
		if (!v || v->type != RW_JSON_NUMBER || v->num < 0) {
			r = field_err(err, errlen, i, "cgroup_id", "expected a number");
			goto bad;
		}
		row->cgroup_id = strtoull(v->str, NULL, 10);   /* exact: ids pass 2^53 */
		if (!(row->verdict = rw_json_get_str(t, "verdict", NULL))) {
			r = field_err(err, errlen, i, "verdict", "expected a string");
			goto bad;
		}
		v = rw_json_get(t, "score");
		if (!v || v->type != RW_JSON_NUMBER || !(v->num >= 0 && v->num <= 1)) {
			r = field_err(err, errlen, i, "score", "expected a number from 0 to 1");
			goto bad;
		}
		row->score = v->num;
		row->cores = rw_json_get_num(t, "cpu_cores", -1);
		row->action = rw_json_get_str(t, "action", "none");
		row->detections = (uint64_t)rw_json_get_num(t, "detections", 0);
		const struct rw_json *id = rw_json_get(t, "identity");
		const char *ns = rw_json_get_str(id, "k8s_namespace", ""), *pod = rw_json_get_str(id, "k8s_pod", "");
		if (ns[0] && pod[0]) {
			/* the names people use for a Kubernetes workload rather than its container id */
			const char *ctr = rw_json_get_str(id, "k8s_container", "");
			snprintf(l->names[i], sizeof l->names[i], "k8s:%s/%s%s%s", ns, pod, ctr[0] ? "/" : "", ctr);
			row->identity = l->names[i];
		} else {
			row->identity = rw_json_get_str(id, "label", row->cgroup);
		}
		v = rw_json_get(t, "allowed");
		if (v && v->type == RW_JSON_TRUE && !strcmp(row->action, "none"))
			row->action = "allowed";
		size_t o = 0;
		row->sources[0] = '\0';
		v = rw_json_get(t, "sources");
		for (const struct rw_json *s = v && v->type == RW_JSON_ARRAY ? v->child : NULL; s; s = s->next)
			if (s->type == RW_JSON_STRING && o + s->len + 2 < sizeof row->sources)
				o += (size_t)snprintf(row->sources + o, sizeof row->sources - o, "%s%s", o ? "," : "", s->str);
		if (!o)
			strcpy(row->sources, "-");
	}
	l->n = i;
	return 0;
bad:
	rw_list_free(l);
	return r;
}

void rw_list_free(struct rw_list *l)
{
	rw_json_free(&l->doc);
	free(l->rows);
	free(l->names);
	memset(l, 0, sizeof *l);
}

static int by_score(const void *a, const void *b)
{
	const struct rw_list_row *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	int c = strcmp(x->identity, y->identity);
	if (c)
		return c;
	return x->cgroup_id < y->cgroup_id ? -1 : x->cgroup_id > y->cgroup_id;
}

void rw_list_sort(struct rw_list *l)
{
	if (l->n > 1)
		qsort(l->rows, l->n, sizeof *l->rows, by_score);
}

/* ---- the table ------------------------------------------------------------------------------------------- */

enum { C_IDENTITY, C_VERDICT, C_SCORE, C_CORES, C_ACTION, C_SOURCES, C_CGROUP, C_COUNT };
static const char *const col_head[C_COUNT] = { "IDENTITY", "VERDICT", "SCORE", "CORES", "ACTION", "SOURCES",
					       "CGROUP" };
/* dropped in this order when the terminal is narrow; identity, verdict and score always stay */
static const int drop_order[] = { C_CGROUP, C_SOURCES, C_ACTION, C_CORES };

/* Terminal columns of a UTF-8 string: one per code point (names are not East Asian wide in practice). */
static unsigned text_cols(const char *s)
{
	unsigned n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return n;
}

/* Append s padded or cut to exactly `w` columns (cut text ends in '~'); control characters (C0, DEL, C1) as '?'. */
static void put_cell(struct rw_buf *b, const char *s, unsigned w, bool pad)
{
	unsigned cols = text_cols(s), limit = cols > w ? (w ? w - 1 : 0) : cols, used = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && used < limit) {
		size_t n = 1;
		if (*p >= 0xc0)
			n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
		for (size_t k = 1; k < n; k++)
			if (!p[k])
				n = k;
		if (*p < 0x20 || *p == 0x7f || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0))
			rw_buf_append(b, "?", 1);
		else
			rw_buf_append(b, p, n);
		p += n;
		used++;
	}
	if (cols > w && w) {
		rw_buf_append(b, "~", 1);
		used++;
	}
	if (pad)
		for (; used < w; used++)
			rw_buf_append(b, " ", 1);
}

static void cell_text(const struct rw_list_row *r, int c, char *tmp, size_t len, const char **out)
{
	switch (c) {
	case C_IDENTITY: *out = r->identity; return;
	case C_VERDICT: *out = r->verdict; return;
	case C_SCORE: snprintf(tmp, len, "%.2f", r->score); break;
	case C_CORES:
		if (r->cores >= 0)
			snprintf(tmp, len, "%.2f", r->cores);
		else
			snprintf(tmp, len, "-");
		break;
	case C_ACTION: *out = strcmp(r->action, "none") ? r->action : "-"; return;
	case C_SOURCES: *out = r->sources; return;
	default: *out = r->cgroup; return;
	}
	*out = tmp;
}

void rw_list_table(const struct rw_list *l, unsigned width, unsigned max_rows, const unsigned char *marks, bool ansi,
		   struct rw_buf *out)
{
	unsigned natural[C_COUNT], w[C_COUNT];
	bool shown[C_COUNT];
	unsigned nrows = max_rows && max_rows < l->n ? max_rows : l->n;
	char tmp[32];
	const char *txt;

	for (int c = 0; c < C_COUNT; c++) {
		natural[c] = text_cols(col_head[c]);
		shown[c] = true;
	}
	for (unsigned i = 0; i < nrows; i++)
		for (int c = 0; c < C_COUNT; c++) {
			cell_text(&l->rows[i], c, tmp, sizeof tmp, &txt);
			unsigned n = text_cols(txt);
			if (n > natural[c])
				natural[c] = n;
		}
	/* Fit: the identity at most half the width (24 columns at least); then the cgroup path shrunk (to 12), then
	 * columns dropped from the right; with the three that always stay, the identity takes what is left. */
	unsigned idcap = width / 2 > 24 ? width / 2 : 24, nd = 0;
	if (natural[C_IDENTITY] > idcap)
		natural[C_IDENTITY] = idcap;
	for (;;) {
		unsigned total = 0, cols = 0;
		for (int c = 0; c < C_COUNT; c++)
			if (shown[c])
				w[c] = natural[c], total += natural[c], cols++;
		total += cols - 1;   /* one blank between columns */
		if (total > width && shown[C_CGROUP]) {
			unsigned cut = total - width, room = w[C_CGROUP] > 12 ? w[C_CGROUP] - 12 : 0;
			cut = cut < room ? cut : room;
			w[C_CGROUP] -= cut, total -= cut;
		}
		if (total <= width)
			break;
		if (nd < sizeof drop_order / sizeof drop_order[0]) {
			shown[drop_order[nd++]] = false;
			continue;
		}
		unsigned rest = total - w[C_IDENTITY];
		w[C_IDENTITY] = width > rest + 4 ? width - rest : 4;
		break;
	}
	int last = C_COUNT - 1;
	while (!shown[last])
		last--;

	for (int c = 0; c < C_COUNT; c++) {
		if (!shown[c])
			continue;
		put_cell(out, col_head[c], w[c], c != last);
		if (c != last)
			rw_buf_append(out, " ", 1);
	}
	rw_buf_puts(out, ansi ? "\x1b[K\n" : "\n");
	for (unsigned i = 0; i < nrows; i++) {
		const struct rw_list_row *r = &l->rows[i];
		const char *sgr = NULL;
		if (ansi) {
			bool changed = marks && (marks[i] & RW_LIST_CHANGED);
			if (!strcmp(r->verdict, "mining"))
				sgr = changed ? "\x1b[1;7;31m" : "\x1b[1;31m";
			else if (!strcmp(r->verdict, "suspect"))
				sgr = changed ? "\x1b[7;33m" : "\x1b[33m";
			else if (changed)
				sgr = "\x1b[7m";
			if (sgr)
				rw_buf_puts(out, sgr);
		}
		for (int c = 0; c < C_COUNT; c++) {
			if (!shown[c])
				continue;
			cell_text(r, c, tmp, sizeof tmp, &txt);
			/* numbers right-aligned */
			if (c == C_SCORE || c == C_CORES)
				for (unsigned k = text_cols(txt); k < w[c]; k++)
					rw_buf_append(out, " ", 1);
			put_cell(out, txt, w[c], c != last && c != C_SCORE && c != C_CORES);
			if (c != last)
				rw_buf_append(out, " ", 1);
		}
		if (sgr)
			rw_buf_puts(out, "\x1b[0m");
		rw_buf_puts(out, ansi ? "\x1b[K\n" : "\n");
	}
}

static unsigned env_size(const char *name, unsigned dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n = v ? strtoul(v, &end, 10) : 0;
	return v && *v && !*end && n > 0 && n < 10000 ? (unsigned)n : dflt;
}

unsigned rw_term_width(int fd)
{
	struct winsize ws;
	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return env_size("COLUMNS", 80);
}

unsigned rw_term_height(int fd)
{
	struct winsize ws;
	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return env_size("LINES", 24);
}
