/* listview: /verdicts rows and the width-fitting table. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "rigwatch/jsonread.h"
#include "rigwatch/listview.h"

static int field_err(char *err, size_t errlen, unsigned i, const char *key, const char *what)
{
	snprintf(err, errlen, "targets[%u].%s: %s", i, key, what);
	return -EINVAL;
}

/* A string member copied out (control characters as '?', cut at a UTF-8 boundary); 0, or -ENOENT/-EINVAL. */
static int member_str(const struct rw_json *obj, const char *key, char *dst, size_t cap)
{
	struct rw_json v;
	if (rw_json_member(obj, key, &v) < 0)
		return -ENOENT;
	return rw_json_string(&v, dst, cap) < 0 ? -EINVAL : 0;
}

static int member_num(const struct rw_json *obj, const char *key, double *out)
{
	struct rw_json v;
	if (rw_json_member(obj, key, &v) < 0)
		return -ENOENT;
	return rw_json_double(&v, out);
}

/* A non-negative integer up to 2^64 - 1 (cgroup ids, process target ids with their high bit set). */
static int member_u64(const struct rw_json *obj, const char *key, uint64_t *out)
{
	struct rw_json v;
	char tmp[24];
	if (rw_json_member(obj, key, &v) < 0 || v.type != RW_JSON_NUMBER || v.n == 0 || v.n >= sizeof tmp)
		return -EINVAL;
	memcpy(tmp, v.p, v.n);
	tmp[v.n] = '\0';
	if (strspn(tmp, "0123456789") != v.n)
		return -EINVAL;
	errno = 0;
	unsigned long long x = strtoull(tmp, NULL, 10);
	if (errno)
		return -EINVAL;
	*out = x;
	return 0;
}

/* Copy src into dst (cap bytes), cut at a UTF-8 character boundary when it does not fit. */
static void copy_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap) {
		n = cap - 1;
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int load_row(const struct rw_json *t, unsigned i, struct rw_list_row *row, char *err, size_t errlen)
{
	struct rw_json id, v, key, el;
	char ns[128], pod[160], ctr[96], k8s[512];
	double d;

	if (t->type != RW_JSON_OBJECT)
		return field_err(err, errlen, i, "", "expected an object");
	if (member_str(t, "cgroup", row->cgroup, sizeof row->cgroup) < 0)
		return field_err(err, errlen, i, "cgroup", "expected a string");
	if (member_u64(t, "cgroup_id", &row->cgroup_id) < 0)
		return field_err(err, errlen, i, "cgroup_id", "expected a number");
	if (member_str(t, "verdict", row->verdict, sizeof row->verdict) < 0)
		return field_err(err, errlen, i, "verdict", "expected a string");
	if (member_num(t, "score", &d) < 0 || !(d >= 0 && d <= 1))
		return field_err(err, errlen, i, "score", "expected a number from 0 to 1");
	row->score = d;
	row->cores = member_num(t, "cpu_cores", &d) == 0 ? d : -1;
	if (member_str(t, "action", row->action, sizeof row->action) < 0)
		strcpy(row->action, "none");
	row->detections = member_u64(t, "detections", &row->detections) == 0 ? row->detections : 0;

	/* the names people use for a Kubernetes workload rather than its container id */
	bool have_id = rw_json_member(t, "identity", &id) == 0;
	struct rw_json ctn;
	char engine[16], cname[128], image[256], named[sizeof engine + sizeof cname + sizeof image + 4];
	if (rw_json_member(t, "container", &ctn) == 0 && member_str(&ctn, "engine", engine, sizeof engine) == 0 &&
	    member_str(&ctn, "name", cname, sizeof cname) == 0 && cname[0]) {
		/* the engine's name and image, as `docker ps` shows them: "docker:web[acme/web:2.1]" */
		if (member_str(&ctn, "image", image, sizeof image) < 0)
			image[0] = '\0';
		snprintf(named, sizeof named, "%s:%s%s%s%s", engine, cname, image[0] ? "[" : "", image, image[0] ? "]" : "");
		copy_cut(row->identity, sizeof row->identity, named);
	} else if (have_id && member_str(&id, "k8s_namespace", ns, sizeof ns) == 0 && ns[0] &&
	    member_str(&id, "k8s_pod", pod, sizeof pod) == 0 && pod[0]) {
		if (member_str(&id, "k8s_container", ctr, sizeof ctr) < 0)
			ctr[0] = '\0';
		snprintf(k8s, sizeof k8s, "k8s:%s/%s%s%s", ns, pod, ctr[0] ? "/" : "", ctr);
		copy_cut(row->identity, sizeof row->identity, k8s);
	} else if (!have_id || member_str(&id, "label", row->identity, sizeof row->identity) < 0) {
		copy_cut(row->identity, sizeof row->identity, row->cgroup);
	}
	bool allowed = false;
	if (rw_json_member(t, "allowed", &v) == 0 && rw_json_bool(&v, &allowed) == 0 && allowed &&
	    !strcmp(row->action, "none"))
		strcpy(row->action, "allowed");

	size_t o = 0, cur = 0;
	row->sources[0] = '\0';
	if (rw_json_member(t, "sources", &v) == 0 && v.type == RW_JSON_ARRAY) {
		char one[32];
		key.type = RW_JSON_NONE;
		while (rw_json_next(&v, &cur, &key, &el) == 1) {
			int n = rw_json_string(&el, one, sizeof one);
			if (n >= 0 && o + (size_t)n + 2 < sizeof row->sources)
				o += (size_t)snprintf(row->sources + o, sizeof row->sources - o, "%s%s", o ? "," : "", one);
		}
	}
	if (!o)
		strcpy(row->sources, "-");
	return 0;
}

int rw_list_load(struct rw_list *l, const char *json, size_t len, char *err, size_t errlen)
{
	struct rw_json root, targets, key, t;
	char perr[160];
	double d;
	int r;

	memset(l, 0, sizeof *l);
	if ((r = rw_json_parse(json, len, &root, perr, sizeof perr)) < 0) {
		snprintf(err, errlen, "%s", perr);
		return r;
	}
	if (root.type != RW_JSON_OBJECT || rw_json_member(&root, "targets", &targets) < 0 ||
	    targets.type != RW_JSON_ARRAY) {
		snprintf(err, errlen, "not a /verdicts document: no \"targets\" array");
		return -EINVAL;
	}
	if (member_str(&root, "host", l->host, sizeof l->host) < 0)
		l->host[0] = '\0';
	if (member_str(&root, "time", l->time, sizeof l->time) < 0)
		l->time[0] = '\0';
	l->interval_s = member_num(&root, "interval_s", &d) == 0 ? d : 0;

	unsigned n = 0, cap = 0, i = 0;
	size_t cur = 0;
	key.type = RW_JSON_NONE;
	while (rw_json_next(&targets, &cur, &key, &t) == 1) {
		if (n == cap) {
			unsigned ncap = cap ? cap * 2 : 64;
			struct rw_list_row *nr = realloc(l->rows, ncap * sizeof *nr);
			if (!nr) {
				rw_list_free(l);
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			l->rows = nr;
			cap = ncap;
		}
		memset(&l->rows[n], 0, sizeof l->rows[n]);
		if ((r = load_row(&t, i++, &l->rows[n], err, errlen)) < 0) {
			rw_list_free(l);
			return r;
		}
		n++;
	}
	l->n = n;
	return 0;
}

void rw_list_free(struct rw_list *l)
{
	free(l->rows);
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
