/* json: a small strict reader for JSON text (RFC 8259), for documents rigwatch reads back such as an agent's
 * /verdicts. The whole text is parsed into a tree in one allocation arena owned by the document; anything that is
 * not JSON (trailing commas, leading zeros, bad escapes, lone surrogates, invalid UTF-8, control characters in
 * strings, text after the value, nesting deeper than RW_JSON_MAX_DEPTH) is an error naming line and column. */
#ifndef RIGWATCH_JSON_H
#define RIGWATCH_JSON_H

#include <stddef.h>

#define RW_JSON_MAX_DEPTH 64

enum rw_json_type { RW_JSON_NULL, RW_JSON_FALSE, RW_JSON_TRUE, RW_JSON_NUMBER, RW_JSON_STRING, RW_JSON_ARRAY,
		    RW_JSON_OBJECT };

struct rw_json {
	enum rw_json_type type;
	const char *key;           /* member name inside an object (unescaped, NUL-terminated), else NULL */
	const char *str;           /* STRING: unescaped (may hold U+0000 as "\0": see len); NUMBER: its text */
	size_t len;                /* STRING: bytes in str */
	double num;                /* NUMBER */
	unsigned n;                /* ARRAY, OBJECT: members */
	struct rw_json *child;     /* ARRAY, OBJECT: first member */
	struct rw_json *next;      /* next member of the parent */
};

struct rw_json_doc {
	struct rw_json *root;
	void *arena;
};

/* Parse text[0..len). Returns 0, -EINVAL (err: "line L, column C: what"), or -ENOMEM. On error *doc is empty. */
int rw_json_parse(const char *text, size_t len, struct rw_json_doc *doc, char *err, size_t errlen);
void rw_json_free(struct rw_json_doc *doc);

/* Member `key` of an object, or NULL (also when obj is NULL or not an object). */
const struct rw_json *rw_json_get(const struct rw_json *obj, const char *key);
/* The string of member `key`, or `dflt` when absent or not a string. */
const char *rw_json_get_str(const struct rw_json *obj, const char *key, const char *dflt);
/* The number of member `key`, or `dflt` when absent or not a number. */
double rw_json_get_num(const struct rw_json *obj, const char *key, double dflt);

#endif
