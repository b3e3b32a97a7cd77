/* cmd_list: one /verdicts document, from the agent or scored here, as a table or JSON. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rigwatch/buf.h"
#include "rigwatch/cmd_list.h"
#include "rigwatch/listview.h"
#include "rigwatch/vsource.h"

/* A '#' line cut to the width like the table below it. */
static void header_line(struct rw_buf *out, const char *text, unsigned width)
{
	size_t n = strlen(text);
	if (n > width && width > 1) {
		rw_buf_append(out, text, width - 1);
		rw_buf_puts(out, "~\n");
	} else {
		rw_buf_puts(out, text);
		rw_buf_puts(out, "\n");
	}
}

int rw_cmd_list(const struct rw_config *cfg, bool local, bool json_out, volatile sig_atomic_t *stop, FILE *out,
		char *err, size_t errlen)
{
	struct rw_vsource *src;
	struct rw_buf json = RW_BUF_INIT, text = RW_BUF_INIT;
	struct rw_list l;
	char why[768];
	int r;

	/* Three readings when scoring here: rates need a delta, and counters open on the second look at a busy
	 * target, so the third has a full interval of them. */
	if ((r = rw_vsource_open(&src, cfg, local, 3, stop, err, errlen)) < 0)
		return r;
	if ((r = rw_vsource_fetch(src, stop, &json, why, sizeof why)) < 0 ||
	    (r = rw_list_load(&l, json.data, json.len, why, sizeof why)) < 0) {
		snprintf(err, errlen, "%s: %s", rw_vsource_describe(src), why);
		rw_vsource_close(src);
		rw_buf_free(&json);
		return r == -EINVAL ? -EPROTO : r;   /* a bad document is not bad input of ours */
	}
	if (json_out) {
		/* the document as it came, inside a note of where it came from */
		rw_buf_puts(&text, "{\"source\":");
		rw_buf_json_string(&text, rw_vsource_is_agent(src) ? "agent" : "local");
		rw_buf_puts(&text, ",\"describe\":");
		rw_buf_json_string(&text, rw_vsource_describe(src));
		rw_buf_puts(&text, ",\"verdicts\":");
		while (json.len && (json.data[json.len - 1] == '\n' || json.data[json.len - 1] == ' '))
			json.len--;
		rw_buf_append(&text, json.data, json.len);
		rw_buf_puts(&text, "}\n");
	} else {
		unsigned width = rw_term_width(fileno(out));
		char head[1024];
		rw_list_sort(&l);
		snprintf(head, sizeof head, "# %s", rw_vsource_describe(src));
		header_line(&text, head, width);
		snprintf(head, sizeof head, "# host %s, %s, %u targets", l.host[0] ? l.host : "?", l.time[0] ? l.time : "-",
			 l.n);
		header_line(&text, head, width);
		rw_list_table(&l, width, 0, NULL, false, &text);
	}
	r = text.err;
	if (!r && fwrite(text.data, 1, text.len, out) != text.len)
		r = -EIO;
	if (r)
		snprintf(err, errlen, "writing the table: %s", strerror(-r));
	rw_list_free(&l);
	rw_buf_free(&json);
	rw_buf_free(&text);
	rw_vsource_close(src);
	return r;
}
