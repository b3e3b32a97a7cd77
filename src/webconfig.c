/* webconfig: a strict parser for the exporter-toolkit web config subset (see webconfig.h). */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rigwatch/fsutil.h"
#include "rigwatch/webconfig.h"

#define WEBCONFIG_MAX_BYTES (64u * 1024)
#define PEM_MAX_BYTES       (1u << 20)

enum section { S_NONE, S_TLS, S_USERS };

struct parser {
	const char *name;
	unsigned line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (p->line)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->name, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->name, msg);
	return -EINVAL;
}

int rw_webconfig_is_bcrypt(const char *h)
{
	static const char alphabet[] = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[2] == '\0' || h[3] != '$')
		return 0;
	if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' || h[6] != '$')
		return 0;
	int cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return 0;
	return strspn(h + 7, alphabet) == 53;
}

/* Characters that start YAML this parser does not take: flow collections, anchors, aliases, tags, block
 * scalars, sequences, directives, reserved. */
static bool unsupported_start(char c)
{
	return c && strchr("[]{}&*!|>%@`-?,", c) != NULL;
}

/* Parse one scalar at *s (quoted or plain), ending at `stop` (':' for a key, '\0' for a value). Writes it to
 * out; on return *s points after it (and after blanks). */
static int scalar(struct parser *p, char **s, char stop, char *out, size_t outlen, const char *what)
{
	char *v = *s, *end;
	size_t n;
	if (*v == '\'' || *v == '"') {
		char q = *v;
		char *close = strchr(v + 1, q);
		if (!close)
			return fail(p, "unterminated quote in %s", what);
		if (q == '\'' && close[1] == '\'')
			return fail(p, "'' inside a single-quoted %s is not supported", what);
		if (q == '"' && memchr(v + 1, '\\', (size_t)(close - v - 1)))
			return fail(p, "escapes inside a double-quoted %s are not supported", what);
		n = (size_t)(close - v - 1);
		if (n >= outlen)
			return fail(p, "%s longer than %zu bytes", what, outlen - 1);
		memcpy(out, v + 1, n);
		out[n] = '\0';
		end = close + 1;
		while (*end == ' ')
			end++;
		*s = end;
		return 0;
	}
	if (unsupported_start(*v))
		return fail(p, "unsupported YAML at \"%.20s\" (only key: value mappings are accepted)", v);
	if (stop == ':') {
		/* a plain key runs to ": " or a final ':' */
		end = v;
		while (*end && !(*end == ':' && (end[1] == ' ' || end[1] == '\0')))
			end++;
	} else {
		/* a plain value runs to " #" (a comment) or the end of the line */
		end = strstr(v, " #");
		if (!end)
			end = v + strlen(v);
	}
	char *last = end;
	while (last > v && last[-1] == ' ')
		last--;
	n = (size_t)(last - v);
	if (n >= outlen)
		return fail(p, "%s longer than %zu bytes", what, outlen - 1);
	memcpy(out, v, n);
	out[n] = '\0';
	if (stop != ':' && (strchr(out, '\'') || strchr(out, '"')))
		return fail(p, "stray quote in %s", what);
	*s = end;
	return 0;
}

/* After a value: nothing, or a comment. */
static int line_end(struct parser *p, const char *s)
{
	while (*s == ' ')
		s++;
	if (*s && *s != '#')
		return fail(p, "unexpected \"%.32s\" after the value", s);
	if (*s == '#' && s[-1] != ' ')
		return fail(p, "a comment needs a blank before '#'");
	return 0;
}

static int set_path(struct parser *p, char *field, const char *value, const char *key)
{
	if (!value[0])
		return fail(p, "tls_server_config.%s: expected a file path", key);
	if (value[0] == '/' || !strchr(p->name, '/')) {
		if (strlen(value) >= RW_CONFIG_PATH_LEN)
			return fail(p, "tls_server_config.%s: path longer than %d bytes", key, RW_CONFIG_PATH_LEN - 1);
		strcpy(field, value);
		return 0;
	}
	/* Relative to the directory of the web config file, as exporter-toolkit resolves it. */
	int dir = (int)(strrchr(p->name, '/') - p->name);
	if ((size_t)dir + 1 + strlen(value) >= RW_CONFIG_PATH_LEN)
		return fail(p, "tls_server_config.%s: path longer than %d bytes", key, RW_CONFIG_PATH_LEN - 1);
	snprintf(field, RW_CONFIG_PATH_LEN, "%.*s/%s", dir, p->name, value);
	return 0;
}

static int parse(struct rw_webconfig *wc, struct parser *p, char *text)
{
	enum section sec = S_NONE;
	bool seen_tls = false, seen_users = false, seen_content = false;
	unsigned child_indent = 0, cert_line = 0, key_line = 0;
	char key[RW_WEB_NAME_LEN + 8], value[RW_CONFIG_PATH_LEN];

	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p->line++;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		unsigned indent = (unsigned)strspn(line, " ");
		char *s = line + indent;
		if (*s == '\t')
			return fail(p, "tab in indentation (YAML indents with spaces)");
		while (len && line[len - 1] == ' ')
			line[--len] = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if (indent == 0 && !strcmp(s, "---") && !seen_content) {
			seen_content = true;
			continue;
		}
		seen_content = true;
		if (strchr(s, '\t'))
			return fail(p, "tab character (YAML separates with spaces)");

		if (scalar(p, &s, ':', key, sizeof key, "key") < 0)
			return -EINVAL;
		if (*s != ':')
			return fail(p, "expected \"key: value\"");
		s++;
		while (*s == ' ')
			s++;
		bool has_value = *s && *s != '#';

		if (indent == 0) {
			if (has_value)
				return fail(p, "%s: expected a mapping on the following lines", key);
			if (!strcmp(key, "tls_server_config")) {
				if (seen_tls)
					return fail(p, "tls_server_config appears twice");
				seen_tls = true;
				sec = S_TLS;
			} else if (!strcmp(key, "basic_auth_users")) {
				if (seen_users)
					return fail(p, "basic_auth_users appears twice");
				seen_users = true;
				sec = S_USERS;
			} else if (!strcmp(key, "http_server_config")) {
				return fail(p, "http_server_config is not supported by rigwatch");
			} else {
				return fail(p, "unknown key \"%s\" (expected tls_server_config or basic_auth_users)", key);
			}
			child_indent = 0;
			continue;
		}
		if (sec == S_NONE)
			return fail(p, "indented line outside any section");
		if (!child_indent)
			child_indent = indent;
		else if (indent != child_indent)
			return fail(p, "inconsistent indentation (expected %u spaces)", child_indent);
		if (!has_value)
			return fail(p, "%s: expected a value", key);
		if (scalar(p, &s, '\0', value, sizeof value, "value") < 0 || line_end(p, s) < 0)
			return -EINVAL;

		if (sec == S_TLS) {
			if (!strcmp(key, "cert_file")) {
				if (cert_line)
					return fail(p, "cert_file already set on line %u", cert_line);
				cert_line = p->line;
				if (set_path(p, wc->cert_file, value, key) < 0)
					return -EINVAL;
			} else if (!strcmp(key, "key_file")) {
				if (key_line)
					return fail(p, "key_file already set on line %u", key_line);
				key_line = p->line;
				if (set_path(p, wc->key_file, value, key) < 0)
					return -EINVAL;
			} else if (!strcmp(key, "client_auth_type") || !strcmp(key, "client_ca_file") ||
				   !strcmp(key, "cipher_suites") || !strcmp(key, "curve_preferences") ||
				   !strcmp(key, "min_version") || !strcmp(key, "max_version") ||
				   !strcmp(key, "prefer_server_cipher_suites") || !strcmp(key, "client_allowed_sans") ||
				   !strcmp(key, "cert") || !strcmp(key, "key")) {
				return fail(p, "tls_server_config.%s is not supported by rigwatch", key);
			} else {
				return fail(p, "unknown key \"%s\" in tls_server_config (expected cert_file, key_file)",
					    key);
			}
			continue;
		}
		/* basic_auth_users */
		if (!key[0] || strchr(key, ':'))
			return fail(p, "basic_auth_users: a user name must be non-empty and without ':'");
		if (strlen(key) >= RW_WEB_NAME_LEN)
			return fail(p, "basic_auth_users: user name longer than %d bytes", RW_WEB_NAME_LEN - 1);
		for (const char *c = key; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return fail(p, "basic_auth_users: control character in a user name");
		for (unsigned i = 0; i < wc->n_users; i++)
			if (!strcmp(wc->users[i].name, key))
				return fail(p, "basic_auth_users: user \"%s\" appears twice", key);
		if (!rw_webconfig_is_bcrypt(value))
			return fail(p, "basic_auth_users.%s: expected a bcrypt hash ($2b$ and 56 more characters, as "
				    "htpasswd -nB makes), got \"%.16s%s\"", key, value, strlen(value) > 16 ? "..." : "");
		if (wc->n_users == RW_WEB_MAX_USERS)
			return fail(p, "basic_auth_users: more than %d users", RW_WEB_MAX_USERS);
		strcpy(wc->users[wc->n_users].name, key);
		strcpy(wc->users[wc->n_users].hash, value);
		wc->n_users++;
	}
	p->line = 0;
	if (seen_tls && !cert_line && !key_line)
		return fail(p, "tls_server_config needs cert_file and key_file");
	if (cert_line && !key_line)
		return fail(p, "tls_server_config has cert_file but no key_file");
	if (key_line && !cert_line)
		return fail(p, "tls_server_config has key_file but no cert_file");
	return 0;
}

int rw_webconfig_parse(struct rw_webconfig *wc, const char *name, const char *text, char *err, size_t errlen)
{
	struct parser p = { .name = name, .err = err, .errlen = errlen };
	char *copy = strdup(text);
	memset(wc, 0, sizeof *wc);
	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	int r = parse(wc, &p, copy);
	free(copy);
	if (r < 0)
		memset(wc, 0, sizeof *wc);
	return r;
}

/* The certificate and key load together in GnuTLS (the library libmicrohttpd serves TLS with), so a wrong file,
 * a key that does not match or an encrypted key is reported here rather than as a failed start. */
static int check_tls(const struct rw_webconfig *wc, const char *path, char *err, size_t errlen)
{
	char *cert = NULL, *key = NULL;
	size_t cl, kl;
	int r;
	if ((r = rw_read_regular_file(wc->cert_file, PEM_MAX_BYTES, &cert, &cl, err, errlen)) < 0 ||
	    (r = rw_read_regular_file(wc->key_file, PEM_MAX_BYTES, &key, &kl, err, errlen)) < 0)
		goto out;
	gnutls_certificate_credentials_t cred;
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		r = -ENOMEM;
		goto out;
	}
	gnutls_datum_t c = { (unsigned char *)cert, (unsigned)cl }, k = { (unsigned char *)key, (unsigned)kl };
	int g = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(cred);
	if (g < 0) {
		snprintf(err, errlen, "%s: tls_server_config: %s and %s: %s", path, wc->cert_file, wc->key_file,
			 gnutls_strerror(g));
		r = -EINVAL;
	}
out:
	free(cert);
	free(key);
	return r;
}

int rw_webconfig_load(struct rw_webconfig *wc, const char *path, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int r = rw_read_regular_file(path, WEBCONFIG_MAX_BYTES, &text, &len, err, errlen);
	memset(wc, 0, sizeof *wc);
	if (r < 0)
		return r;
	r = rw_webconfig_parse(wc, path, text, err, errlen);
	free(text);
	if (r == 0 && wc->cert_file[0] && (r = check_tls(wc, path, err, errlen)) < 0)
		memset(wc, 0, sizeof *wc);
	return r;
}
