/* fuzz_json: the strict JSON reader (rw_json_parse), which reads an agent's /verdicts for `rigwatch list` and
 * `top`. Properties: it returns 0, -EINVAL with an error text, or -ENOMEM; a parsed tree written back as JSON
 * parses again to the same tree (same types, names, strings byte for byte, number texts). */
#include <errno.h>

#include "fuzz.h"
#include "rigwatch/exposition.h"
#include "rigwatch/json.h"

static void write_string(struct rw_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	rw_buf_puts(b, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\' || c < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			rw_buf_append(b, e, 6);
		} else {
			rw_buf_append(b, &s[i], 1);
		}
	}
	rw_buf_puts(b, "\"");
}

static void write_value(struct rw_buf *b, const struct rw_json *v)
{
	switch (v->type) {
	case RW_JSON_NULL: rw_buf_puts(b, "null"); break;
	case RW_JSON_TRUE: rw_buf_puts(b, "true"); break;
	case RW_JSON_FALSE: rw_buf_puts(b, "false"); break;
	case RW_JSON_NUMBER: rw_buf_puts(b, v->str); break;
	case RW_JSON_STRING: write_string(b, v->str, v->len); break;
	case RW_JSON_ARRAY:
	case RW_JSON_OBJECT:
		rw_buf_puts(b, v->type == RW_JSON_ARRAY ? "[" : "{");
		for (const struct rw_json *m = v->child; m; m = m->next) {
			if (m != v->child)
				rw_buf_puts(b, ",");
			if (v->type == RW_JSON_OBJECT) {
				write_string(b, m->key, strlen(m->key));
				rw_buf_puts(b, ":");
			}
			write_value(b, m);
		}
		rw_buf_puts(b, v->type == RW_JSON_ARRAY ? "]" : "}");
		break;
	}
}

static void same(const struct rw_json *a, const struct rw_json *b)
{
	FUZZ_CHECK(a->type == b->type);
	FUZZ_CHECK((a->key == NULL) == (b->key == NULL));
	if (a->key)
		FUZZ_CHECK(!strcmp(a->key, b->key));
	if (a->type == RW_JSON_STRING || a->type == RW_JSON_NUMBER)
		FUZZ_CHECK(a->len == b->len && !memcmp(a->str, b->str, a->len));
	FUZZ_CHECK(a->n == b->n);
	const struct rw_json *x = a->child, *y = b->child;
	for (; x && y; x = x->next, y = y->next)
		same(x, y);
	FUZZ_CHECK(!x && !y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_json_doc d, d2;
	char err[256] = "";
	int rc = rw_json_parse((const char *)data, size, &d, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc) {
		FUZZ_CHECK(err[0] != '\0' && d.root == NULL);
		return 0;
	}
	struct rw_buf b = RW_BUF_INIT;
	write_value(&b, d.root);
	FUZZ_CHECK(b.err == 0);
	char err2[256] = "";
	rc = rw_json_parse(b.data, b.len, &d2, err2, sizeof err2);
	if (rc)
		fprintf(stderr, "written back: %.*s\nerror: %s\n", (int)b.len, b.data, err2);
	FUZZ_CHECK(rc == 0);
	same(d.root, d2.root);
	rw_json_free(&d2);
	rw_json_free(&d);
	rw_buf_free(&b);
	return 0;
}
