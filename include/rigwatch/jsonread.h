/* jsonread: a small strict JSON reader for documents other programs write (a container engine's state files, its
 * API replies). The whole document is validated once (RFC 8259 grammar, nesting bounded); after that values are
 * spans of the caller's text, looked up by key or iterated, and strings are copied out unescaped. No allocation. */
#ifndef RIGWATCH_JSONREAD_H
#define RIGWATCH_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting accepted: Docker's config.v2.json is 5 levels deep. */
#define RW_JSON_MAX_DEPTH 64

enum rw_json_type {
	RW_JSON_NONE = 0,  /* not found */
	RW_JSON_NULL,
	RW_JSON_BOOL,
	RW_JSON_NUMBER,
	RW_JSON_STRING,
	RW_JSON_ARRAY,
	RW_JSON_OBJECT,
};

/* A value: its text (p, n bytes: for a string the quotes included) in the caller's document. */
struct rw_json {
	const char *p;
	size_t n;
	enum rw_json_type type;
};

/* Validate text[0..len) as one JSON value (surrounding whitespace allowed) and point *root at it.
 * Returns 0, or -EINVAL with "offset N: what" in err. */
int rw_json_parse(const char *text, size_t len, struct rw_json *root, char *err, size_t errlen);

/* The member `key` of an object (the first one, should a key repeat). Returns 0, -ENOENT when absent,
 * -EINVAL when obj is not an object. out->type is RW_JSON_NONE unless found. */
int rw_json_member(const struct rw_json *obj, const char *key, struct rw_json *out);
/* rw_json_member along a path of keys: {"State", "Pid"}. */
int rw_json_path(const struct rw_json *obj, const char *const *keys, unsigned n, struct rw_json *out);

/* Iterate an object's members (key set) or an array's elements (key NULL or left NONE): *cursor = 0 first.
 * Returns 1 with the next one, 0 at the end, -EINVAL when v is neither. */
int rw_json_next(const struct rw_json *v, size_t *cursor, struct rw_json *key, struct rw_json *val);

/* Copy a string value unescaped into dst (cap bytes, always NUL-terminated): truncated at a UTF-8 character
 * boundary, control characters and NUL shown as '?', so the result is safe in a log line, a table or a label.
 * Returns the full unescaped length (> cap - 1: truncated), or -EINVAL when v is not a string. */
int rw_json_string(const struct rw_json *v, char *dst, size_t cap);
/* An integer number value (no fraction or exponent) in int64 range. Returns 0 or -EINVAL / -ERANGE. */
int rw_json_int(const struct rw_json *v, int64_t *out);
/* Any number value as a double (fractions and exponents too: scores, cores). Returns 0 or -EINVAL. */
int rw_json_double(const struct rw_json *v, double *out);
/* true or false. Returns 0 or -EINVAL. */
int rw_json_bool(const struct rw_json *v, bool *out);

#endif
