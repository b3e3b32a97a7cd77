/* json: strict recursive-descent reader into an arena. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rigwatch/json.h"

/* Arena: blocks chained through their first word; nodes and strings never move once placed. */
struct block {
	struct block *prev;
	size_t used, cap;
	max_align_t data[];
};

struct parser {
	const char *p, *start, *end;
	struct block *arena;
	char *err;
	size_t errlen;
	int rc;
};

static void *arena_alloc(struct parser *ps, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	struct block *b = ps->arena;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 16384 ? n : 16384;
		struct block *nb = malloc(sizeof *nb + cap);
		if (!nb)
			return NULL;
		nb->prev = b;
		nb->used = 0;
		nb->cap = cap;
		ps->arena = b = nb;
	}
	void *r = (char *)b->data + b->used;
	b->used += n;
	return r;
}

static void arena_free(struct block *b)
{
	while (b) {
		struct block *prev = b->prev;
		free(b);
		b = prev;
	}
}

static int fail(struct parser *ps, const char *what)
{
	if (ps->rc)
		return ps->rc;
	unsigned line = 1, col = 1;
	for (const char *q = ps->start; q < ps->p && q < ps->end; q++) {
		if (*q == '\n')
			line++, col = 1;
		else
			col++;
	}
	snprintf(ps->err, ps->errlen, "line %u, column %u: %s", line, col, what);
	ps->rc = -EINVAL;
	return ps->rc;
}

static int oom(struct parser *ps)
{
	if (!ps->rc) {
		snprintf(ps->err, ps->errlen, "out of memory");
		ps->rc = -ENOMEM;
	}
	return ps->rc;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return false;
	ps->p += n;
	return true;
}

static int hex4(struct parser *ps, unsigned *out)
{
	unsigned v = 0;
	if (ps->end - ps->p < 4)
		return fail(ps, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = *ps->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else {
			ps->p--;
			return fail(ps, "bad hex digit in \\u escape");
		}
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at p (bounded by end), or 0 (RFC 3629). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	size_t avail = (size_t)(end - p);
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* At the opening quote. The unescaped text is never longer than the escaped one. */
static int string(struct parser *ps, const char **out, size_t *outlen)
{
	const char *q = ++ps->p;
	while (q < ps->end && *q != '"')
		q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
	if (q >= ps->end)
		return fail(ps, "unterminated string");
	char *o = arena_alloc(ps, (size_t)(q - ps->p) + 1);
	if (!o)
		return oom(ps);
	size_t n = 0;
	while (*ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;
		if (c < 0x20)
			return fail(ps, "control character in string");
		if (c >= 0x80) {
			size_t l = utf8_len((const unsigned char *)ps->p, (const unsigned char *)ps->end);
			if (!l)
				return fail(ps, "invalid UTF-8 in string");
			memcpy(o + n, ps->p, l);
			n += l;
			ps->p += l;
			continue;
		}
		if (c != '\\') {
			o[n++] = (char)c;
			ps->p++;
			continue;
		}
		ps->p++;
		char e = *ps->p++;
		switch (e) {
		case '"': o[n++] = '"'; break;
		case '\\': o[n++] = '\\'; break;
		case '/': o[n++] = '/'; break;
		case 'b': o[n++] = '\b'; break;
		case 'f': o[n++] = '\f'; break;
		case 'n': o[n++] = '\n'; break;
		case 'r': o[n++] = '\r'; break;
		case 't': o[n++] = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (hex4(ps, &cp))
				return ps->rc;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(ps, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
					return fail(ps, "high surrogate without its low half");
				ps->p += 2;
				if (hex4(ps, &lo))
					return ps->rc;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(ps, "high surrogate without its low half");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			n += put_utf8(o + n, cp);
			break;
		}
		default:
			ps->p--;
			return fail(ps, "bad escape");
		}
	}
	ps->p++;
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}

static int number(struct parser *ps, struct rw_json *v)
{
	const char *s = ps->p, *q = ps->p;
	if (q < ps->end && *q == '-')
		q++;
	if (q >= ps->end || *q < '0' || *q > '9') {
		ps->p = q;
		return fail(ps, "bad number");
	}
	if (*q == '0') {
		q++;
		if (q < ps->end && *q >= '0' && *q <= '9') {
			ps->p = q;
			return fail(ps, "leading zero in number");
		}
	} else {
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < ps->end && *q == '.') {
		q++;
		if (q >= ps->end || *q < '0' || *q > '9') {
			ps->p = q;
			return fail(ps, "no digits after the decimal point");
		}
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= ps->end || *q < '0' || *q > '9') {
			ps->p = q;
			return fail(ps, "no digits in the exponent");
		}
		while (q < ps->end && *q >= '0' && *q <= '9')
			q++;
	}
	size_t n = (size_t)(q - s);
	char *t = arena_alloc(ps, n + 1);
	if (!t)
		return oom(ps);
	memcpy(t, s, n);
	t[n] = '\0';
	v->str = t;
	v->len = n;
	v->num = strtod(t, NULL);   /* the grammar is checked above; strtod's own is wider */
	ps->p = q;
	return 0;
}

static int value(struct parser *ps, struct rw_json *v, unsigned depth);

static int members(struct parser *ps, struct rw_json *v, unsigned depth, bool object)
{
	char close = object ? '}' : ']';
	struct rw_json **tail = &v->child;

	if (depth >= RW_JSON_MAX_DEPTH)
		return fail(ps, "nested too deep");
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct rw_json *m = arena_alloc(ps, sizeof *m);
		if (!m)
			return oom(ps);
		memset(m, 0, sizeof *m);
		skip_ws(ps);
		if (object) {
			size_t kl;
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "expected a member name");
			if (string(ps, &m->key, &kl))
				return ps->rc;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, "expected ':'");
			ps->p++;
		}
		if (value(ps, m, depth + 1))
			return ps->rc;
		*tail = m;
		tail = &m->next;
		v->n++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int value(struct parser *ps, struct rw_json *v, unsigned depth)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end of text");
	switch (*ps->p) {
	case '{':
		v->type = RW_JSON_OBJECT;
		return members(ps, v, depth, true);
	case '[':
		v->type = RW_JSON_ARRAY;
		return members(ps, v, depth, false);
	case '"':
		v->type = RW_JSON_STRING;
		return string(ps, &v->str, &v->len);
	case 't':
		v->type = RW_JSON_TRUE;
		return literal(ps, "true") ? 0 : fail(ps, "bad literal");
	case 'f':
		v->type = RW_JSON_FALSE;
		return literal(ps, "false") ? 0 : fail(ps, "bad literal");
	case 'n':
		v->type = RW_JSON_NULL;
		return literal(ps, "null") ? 0 : fail(ps, "bad literal");
	default:
		if (*ps->p != '-' && (*ps->p < '0' || *ps->p > '9'))
			return fail(ps, "expected a value");
		v->type = RW_JSON_NUMBER;
		return number(ps, v);
	}
}

int rw_json_parse(const char *text, size_t len, struct rw_json_doc *doc, char *err, size_t errlen)
{
	char dummy[8];
	struct parser ps = { .p = text, .start = text, .end = text + len, .err = err ? err : dummy,
			     .errlen = err ? errlen : sizeof dummy };
	doc->root = NULL;
	doc->arena = NULL;
	struct rw_json *root = arena_alloc(&ps, sizeof *root);
	if (!root) {
		oom(&ps);
		return ps.rc;
	}
	memset(root, 0, sizeof *root);
	if (value(&ps, root, 0) == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			fail(&ps, "text after the value");
	}
	if (ps.rc) {
		arena_free(ps.arena);
		return ps.rc;
	}
	doc->root = root;
	doc->arena = ps.arena;
	return 0;
}

void rw_json_free(struct rw_json_doc *doc)
{
	arena_free(doc->arena);
	doc->arena = NULL;
	doc->root = NULL;
}

const struct rw_json *rw_json_get(const struct rw_json *obj, const char *key)
{
	if (!obj || obj->type != RW_JSON_OBJECT)
		return NULL;
	for (const struct rw_json *m = obj->child; m; m = m->next)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

const char *rw_json_get_str(const struct rw_json *obj, const char *key, const char *dflt)
{
	const struct rw_json *m = rw_json_get(obj, key);
	return m && m->type == RW_JSON_STRING ? m->str : dflt;
}

double rw_json_get_num(const struct rw_json *obj, const char *key, double dflt)
{
	const struct rw_json *m = rw_json_get(obj, key);
	return m && m->type == RW_JSON_NUMBER ? m->num : dflt;
}
