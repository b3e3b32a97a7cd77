/* jsonread: validate once, then walk spans. The validator is a recursive descent over the RFC 8259 grammar with a
 * depth bound; lookups reuse its skipping on text already known to be valid, so they cannot run off the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/jsonread.h"

struct cur {
	const char *p, *end, *start;
	const char *msg;
};

static void ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int hexval(char h)
{
	if (h >= '0' && h <= '9')
		return h - '0';
	if (h >= 'a' && h <= 'f')
		return h - 'a' + 10;
	if (h >= 'A' && h <= 'F')
		return h - 'A' + 10;
	return -1;
}

static bool skip_string(struct cur *c)
{
	if (c->p >= c->end || *c->p != '"') {
		c->msg = "expected a string";
		return false;
	}
	c->p++;
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;
		if (ch == '"') {
			c->p++;
			return true;
		}
		if (ch < 0x20) {
			c->msg = "control character in a string";
			return false;
		}
		if (ch == '\\') {
			if (++c->p >= c->end)
				break;
			char e = *c->p;
			if (e == 'u') {
				for (int i = 1; i <= 4; i++)
					if (c->p + i >= c->end || hexval(c->p[i]) < 0) {
						c->msg = "bad \\u escape";
						return false;
					}
				c->p += 4;
			} else if (!strchr("\"\\/bfnrt", e) || e == '\0') {
				c->msg = "bad escape";
				return false;
			}
		}
		c->p++;
	}
	c->msg = "unterminated string";
	return false;
}

static bool digits(struct cur *c)
{
	const char *s = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > s;
}

static bool skip_number(struct cur *c)
{
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (!digits(c))
		goto bad;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (!digits(c))
			goto bad;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (!digits(c))
			goto bad;
	}
	return true;
bad:
	c->msg = "bad number";
	return false;
}

static bool literal(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) {
		c->msg = "unexpected character";
		return false;
	}
	c->p += n;
	return true;
}

static enum rw_json_type type_at(char ch)
{
	switch (ch) {
	case '{':
		return RW_JSON_OBJECT;
	case '[':
		return RW_JSON_ARRAY;
	case '"':
		return RW_JSON_STRING;
	case 't':
	case 'f':
		return RW_JSON_BOOL;
	case 'n':
		return RW_JSON_NULL;
	default:
		return (ch == '-' || (ch >= '0' && ch <= '9')) ? RW_JSON_NUMBER : RW_JSON_NONE;
	}
}

static bool skip_value(struct cur *c, unsigned depth)
{
	ws(c);
	if (c->p >= c->end) {
		c->msg = "unexpected end";
		return false;
	}
	switch (type_at(*c->p)) {
	case RW_JSON_STRING:
		return skip_string(c);
	case RW_JSON_NUMBER:
		return skip_number(c);
	case RW_JSON_NULL:
		return literal(c, "null");
	case RW_JSON_BOOL:
		return literal(c, *c->p == 't' ? "true" : "false");
	case RW_JSON_OBJECT:
	case RW_JSON_ARRAY: {
		char close = *c->p == '{' ? '}' : ']';
		bool obj = close == '}';
		if (depth >= RW_JSON_MAX_DEPTH) {
			c->msg = "nested too deep";
			return false;
		}
		c->p++;
		ws(c);
		if (c->p < c->end && *c->p == close) {
			c->p++;
			return true;
		}
		for (;;) {
			if (obj) {
				ws(c);
				if (!skip_string(c))
					return false;
				ws(c);
				if (c->p >= c->end || *c->p != ':') {
					c->msg = "expected ':'";
					return false;
				}
				c->p++;
			}
			if (!skip_value(c, depth + 1))
				return false;
			ws(c);
			if (c->p < c->end && *c->p == ',') {
				c->p++;
				continue;
			}
			if (c->p < c->end && *c->p == close) {
				c->p++;
				return true;
			}
			c->msg = obj ? "expected ',' or '}'" : "expected ',' or ']'";
			return false;
		}
	}
	default:
		c->msg = "unexpected character";
		return false;
	}
}

int rw_json_parse(const char *text, size_t len, struct rw_json *root, char *err, size_t errlen)
{
	struct cur c = { text, text + len, text, NULL };

	memset(root, 0, sizeof *root);
	if (err && errlen)
		err[0] = '\0';
	ws(&c);
	const char *start = c.p;
	if (!skip_value(&c, 0))
		goto bad;
	const char *vend = c.p;
	ws(&c);
	if (c.p != c.end) {
		c.msg = "trailing data after the value";
		goto bad;
	}
	root->p = start;
	root->n = (size_t)(vend - start);
	root->type = type_at(*start);
	return 0;
bad:
	if (err && errlen)
		snprintf(err, errlen, "offset %zu: %s", (size_t)(c.p - c.start), c.msg ? c.msg : "invalid");
	return -EINVAL;
}

int rw_json_next(const struct rw_json *v, size_t *cursor, struct rw_json *key, struct rw_json *val)
{
	if (!v || (v->type != RW_JSON_OBJECT && v->type != RW_JSON_ARRAY))
		return -EINVAL;
	bool obj = v->type == RW_JSON_OBJECT;
	struct cur c = { v->p + (*cursor ? *cursor : 1), v->p + v->n, v->p, NULL };

	ws(&c);
	if (c.p < c.end && *c.p == ',')
		c.p++;
	ws(&c);
	if (c.p >= c.end || *c.p == '}' || *c.p == ']')
		return 0;
	if (obj) {
		const char *k = c.p;
		skip_string(&c);
		if (key) {
			key->p = k;
			key->n = (size_t)(c.p - k);
			key->type = RW_JSON_STRING;
		}
		ws(&c);
		c.p++; /* ':' */
	} else if (key) {
		memset(key, 0, sizeof *key);
	}
	ws(&c);
	const char *s = c.p;
	skip_value(&c, 0);
	val->p = s;
	val->n = (size_t)(c.p - s);
	val->type = type_at(*s);
	*cursor = (size_t)(c.p - v->p);
	return 1;
}

/* Compare a string token with a plain key; escapes in the token are decoded first (bounded). */
static bool key_eq(const struct rw_json *k, const char *key)
{
	char buf[256];
	size_t kn = strlen(key);
	if (memchr(k->p, '\\', k->n) == NULL)
		return k->n == kn + 2 && memcmp(k->p + 1, key, kn) == 0;
	int n = rw_json_string(k, buf, sizeof buf);
	return n >= 0 && (size_t)n == kn && memcmp(buf, key, kn) == 0;
}

int rw_json_member(const struct rw_json *obj, const char *key, struct rw_json *out)
{
	struct rw_json k, v;
	size_t cur = 0;
	int r;

	memset(out, 0, sizeof *out);
	if (!obj || obj->type != RW_JSON_OBJECT)
		return -EINVAL;
	while ((r = rw_json_next(obj, &cur, &k, &v)) == 1) {
		if (key_eq(&k, key)) {
			*out = v;
			return 0;
		}
	}
	return -ENOENT;
}

int rw_json_path(const struct rw_json *obj, const char *const *keys, unsigned n, struct rw_json *out)
{
	struct rw_json cur = *obj;
	for (unsigned i = 0; i < n; i++) {
		int r = rw_json_member(&cur, keys[i], out);
		if (r < 0)
			return r;
		cur = *out;
	}
	*out = cur;
	return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static uint32_t hex4(const char *p)
{
	return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

int rw_json_string(const struct rw_json *v, char *dst, size_t cap)
{
	if (!v || v->type != RW_JSON_STRING || v->n < 2)
		return -EINVAL;
	const char *p = v->p + 1, *end = v->p + v->n - 1;
	size_t total = 0, used = 0;
	bool full = cap == 0;

	while (p < end) {
		char enc[4];
		size_t k;
		if (*p != '\\') {
			/* one UTF-8 character as written: copied whole or not at all */
			unsigned char ch = (unsigned char)*p;
			k = ch < 0x80 ? 1 : (ch & 0xe0) == 0xc0 ? 2 : (ch & 0xf0) == 0xe0 ? 3 : (ch & 0xf8) == 0xf0 ? 4 : 1;
			if ((size_t)(end - p) < k)
				k = (size_t)(end - p);
			memcpy(enc, p, k);
			for (size_t i = 1; i < k; i++)
				if (((unsigned char)enc[i] & 0xc0) != 0x80)
					k = 1; /* not a character: its first byte alone, shown as '?' */
			if (k == 1 && (ch < 0x20 || ch == 0x7f || ch >= 0x80))
				enc[0] = '?';
			p += k;
		} else {
			char e = p[1];
			p += 2;
			if (e == 'u') {
				uint32_t cp = hex4(p);
				p += 4;
				if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
					uint32_t lo = hex4(p + 2);
					if (lo >= 0xdc00 && lo < 0xe000) {
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
						p += 6;
					}
				}
				if (cp < 0x20 || cp == 0x7f || (cp >= 0xd800 && cp < 0xe000))
					cp = '?';
				k = put_utf8(enc, cp);
			} else {
				k = 1;
				switch (e) {
				case 'b': case 'f': case 'n': case 'r': case 't':
					enc[0] = '?';
					break;
				default:
					enc[0] = e; /* '"', '\\', '/' */
				}
			}
		}
		total += k;
		if (!full && used + k <= cap - 1) {
			memcpy(dst + used, enc, k);
			used += k;
		} else {
			full = true;
		}
	}
	if (cap)
		dst[used] = '\0';
	return total > (size_t)INT32_MAX ? INT32_MAX : (int)total;
}

int rw_json_int(const struct rw_json *v, int64_t *out)
{
	if (!v || v->type != RW_JSON_NUMBER)
		return -EINVAL;
	const char *p = v->p, *end = v->p + v->n;
	bool neg = *p == '-';
	uint64_t acc = 0;
	if (neg)
		p++;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (acc > (UINT64_C(1) << 63) / 10)
			return -ERANGE;
		acc = acc * 10 + (uint64_t)(*p - '0');
	}
	if (acc > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
		return -ERANGE;
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

int rw_json_double(const struct rw_json *v, double *out)
{
	char tmp[64];
	if (!v || v->type != RW_JSON_NUMBER || v->n >= sizeof tmp)
		return -EINVAL;
	/* the span is not NUL-terminated; its grammar was checked by rw_json_parse */
	memcpy(tmp, v->p, v->n);
	tmp[v->n] = '\0';
	*out = strtod(tmp, NULL);
	return 0;
}

int rw_json_bool(const struct rw_json *v, bool *out)
{
	if (!v || v->type != RW_JSON_BOOL)
		return -EINVAL;
	*out = v->p[0] == 't';
	return 0;
}
