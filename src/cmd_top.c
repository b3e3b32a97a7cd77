/* cmd_top: fetch, diff against the previous refresh, draw, wait for the next interval or a key. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "rigwatch/clock.h"
#include "rigwatch/buf.h"
#include "rigwatch/cmd_top.h"
#include "rigwatch/listview.h"

static volatile sig_atomic_t resized;

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

/* What a row looked like at the last refresh, sorted by cgroup id for lookups. */
struct seen {
	uint64_t id;
	char verdict[16], action[16];
};

static int by_id(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static long long now_ms(void)
{
	return (long long)(rw_mono_ns() / 1000000);
}

static void draw(int out_fd, const struct rw_vsource *src, const struct rw_list *l, const unsigned char *marks,
		 const char *status)
{
	struct rw_buf b = RW_BUF_INIT;
	unsigned width = rw_term_width(out_fd), height = rw_term_height(out_fd);
	unsigned mining = 0, suspect = 0;
	for (unsigned i = 0; i < l->n; i++) {
		mining += !strcmp(l->rows[i].verdict, "mining");
		suspect += !strcmp(l->rows[i].verdict, "suspect");
	}
	char title[768];
	snprintf(title, sizeof title, "rigwatch top (q quits): %s, host %s, %s: %u targets, %u mining, %u suspect",
		 rw_vsource_describe(src), l->host[0] ? l->host : "?", l->time[0] ? l->time : "-",
		 l->n, mining, suspect);
	rw_buf_puts(&b, "\x1b[H\x1b[1m");
	/* the title is cut to the width like a table cell would be: one line, always */
	size_t tl = strlen(title);
	rw_buf_append(&b, title, tl < width ? tl : width);
	rw_buf_puts(&b, "\x1b[0m\x1b[K\n");
	if (status && status[0]) {
		size_t sl = strlen(status);
		rw_buf_append(&b, status, sl < width ? sl : width);
	}
	rw_buf_puts(&b, "\x1b[K\n");
	rw_list_table(l, width, height > 4 ? height - 4 : 1, marks, true, &b);
	rw_buf_puts(&b, "\x1b[J");
	if (!b.err)
		write_all(out_fd, b.data, b.len);
	rw_buf_free(&b);
}

int rw_top_run(struct rw_vsource *src, volatile sig_atomic_t *stop, int in_fd, int out_fd, unsigned interval_ms)
{
	struct termios saved, raw;
	bool restore_tty = false, keys = true;
	struct rw_list cur;
	struct seen *seen = NULL;
	unsigned n_seen = 0;
	unsigned char *marks = NULL;
	char status[600] = "", err[512];
	int rc = 0;
	struct sigaction sa, old_winch;

	memset(&cur, 0, sizeof cur);
	if (isatty(in_fd) && tcgetattr(in_fd, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);   /* keys one at a time; ISIG kept: Ctrl-C still stops */
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		restore_tty = tcsetattr(in_fd, TCSANOW, &raw) == 0;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_winch;   /* no SA_RESTART: poll returns at once to redraw */
	sigaction(SIGWINCH, &sa, &old_winch);
	write_all(out_fd, "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J", 21);   /* alternate screen, cursor hidden */

	while (!*stop) {
		struct rw_buf json = RW_BUF_INIT;
		long long next = now_ms() + interval_ms;
		int r = rw_vsource_fetch(src, stop, &json, err, sizeof err);
		if (r == 0) {
			struct rw_list l;
			r = rw_list_load(&l, json.data, json.len, err, sizeof err);
			if (r == 0) {
				rw_list_sort(&l);
				free(marks);
				marks = calloc(l.n ? l.n : 1, 1);
				for (unsigned i = 0; marks && seen && i < l.n; i++) {
					struct seen key = { .id = l.rows[i].cgroup_id };
					const struct seen *p = bsearch(&key, seen, n_seen, sizeof *seen, by_id);
					if (!p || strcmp(p->verdict, l.rows[i].verdict) || strcmp(p->action, l.rows[i].action))
						marks[i] = RW_LIST_CHANGED;
				}
				struct seen *ns = calloc(l.n ? l.n : 1, sizeof *ns);
				for (unsigned i = 0; ns && i < l.n; i++) {
					ns[i].id = l.rows[i].cgroup_id;
					snprintf(ns[i].verdict, sizeof ns[i].verdict, "%s", l.rows[i].verdict);
					snprintf(ns[i].action, sizeof ns[i].action, "%s", l.rows[i].action);
				}
				if (ns)
					qsort(ns, l.n, sizeof *ns, by_id);
				free(seen);
				seen = ns;
				n_seen = ns ? l.n : 0;
				rw_list_free(&cur);
				cur = l;
				status[0] = '\0';
				if (cur.interval_s > 0 && rw_vsource_is_agent(src))
					next = now_ms() + (long long)(cur.interval_s * 1000);
			}
		}
		if (r < 0)
			snprintf(status, sizeof status, "no update: %s", err);
		rw_buf_free(&json);
		draw(out_fd, src, &cur, marks, status);

		/* wait for the next refresh, a key, or a resize */
		while (!*stop) {
			long long left = next - now_ms();
			if (left <= 0)
				break;
			struct pollfd p = { .fd = keys ? in_fd : -1, .events = POLLIN };
			int pr = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
			if (resized) {
				resized = 0;
				draw(out_fd, src, &cur, marks, status);
			}
			if (pr <= 0)
				continue;
			char c[32];
			ssize_t got = read(in_fd, c, sizeof c);
			if (got <= 0) {
				keys = false;   /* end of input (not a terminal): refresh on time only */
				continue;
			}
			for (ssize_t k = 0; k < got; k++)
				if (c[k] == 'q' || c[k] == 'Q')
					goto done;
		}
	}
done:
	write_all(out_fd, "\x1b[?25h\x1b[?1049l", 14);
	sigaction(SIGWINCH, &old_winch, NULL);
	if (restore_tty)
		tcsetattr(in_fd, TCSANOW, &saved);
	rw_list_free(&cur);
	free(seen);
	free(marks);
	return rc;
}

int rw_cmd_top(const struct rw_config *cfg, bool local, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct rw_vsource *src;
	int r = rw_vsource_open(&src, cfg, local, 1, stop, err, errlen);
	if (r < 0)
		return r;
	r = rw_top_run(src, stop, STDIN_FILENO, STDOUT_FILENO, cfg->interval_ms);
	rw_vsource_close(src);
	return r;
}
