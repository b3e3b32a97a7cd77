/* config: embedded defaults, a strict INI-style file parser and the effective-config printer. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rigwatch/allow.h"
#include "rigwatch/config.h"
#include "rigwatch/fsutil.h"

enum key_type { T_U32, T_Q16, T_BOOL, T_STR, T_GLOBS, T_RESPONSE, T_LOGLEVEL, T_LOGFORMAT, T_FPPATH, T_UNPROTECT };

struct key_def {
	const char *section;
	const char *key;
	enum key_type type;
	size_t offset;
	size_t size;          /* T_STR: buffer size */
	uint32_t min, max;    /* T_U32 bounds */
};

#define K(sec, name, type, field, lo, hi) \
	{ sec, name, type, offsetof(struct rw_config, field), sizeof(((struct rw_config *)0)->field), lo, hi }

/* Every setting, in the order check-config prints them. */
static const struct key_def keys[] = {
	K("agent", "interval_ms", T_U32, interval_ms, 100, 3600000),
	K("agent", "listen_address", T_STR, listen_address, 0, 0),
	K("agent", "log_level", T_LOGLEVEL, log_level, 0, 0),
	K("agent", "log_format", T_LOGFORMAT, log_format, 0, 0),
	K("agent", "cgroup_root", T_STR, cgroup_root, 0, 0),
	K("agent", "proc_root", T_STR, proc_root, 0, 0),
	K("agent", "include", T_GLOBS, include, 0, 0),
	K("agent", "exclude", T_GLOBS, exclude, 0, 0),
	K("agent", "attention_cpu", T_Q16, attention_cpu_q16, 0, 0),
	K("agent", "max_open_files", T_U32, max_open_files, 64, 1048576),
	K("agent", "counter_fd_budget", T_U32, counter_fd_budget, 0, 1048576),
	K("agent", "pmu_table", T_STR, pmu_table, 0, 0),
	K("agent", "kube_containers_dir", T_STR, kube_containers_dir, 0, 0),
	K("fpprobe", "enabled", T_BOOL, fpprobe_enabled, 0, 0),
	K("fpprobe", "path", T_FPPATH, fpprobe_path, 0, 0),
	K("fpprobe", "btf", T_STR, fpprobe_btf, 0, 0),
	K("fpprobe", "max_probes", T_U32, fpprobe_max_probes, 1, 10000),
	K("fpprobe", "reads_per_thread", T_U32, fpprobe_reads_per_thread, 1, 50),
	K("fpprobe", "min_thread_cpu", T_Q16, fpprobe_min_thread_cpu_q16, 0, 0),
	K("fpprobe", "min_target_cpu", T_Q16, fpprobe_min_target_cpu_q16, 0, 0),
	K("procscan", "enabled", T_BOOL, procscan_enabled, 0, 0),
	K("procscan", "rules", T_STR, procscan_rules, 0, 0),
	K("model", "file", T_STR, model_file, 0, 0),
	K("verdict", "enter_k", T_U32, verdict_enter_k, 1, 64),
	K("verdict", "enter_n", T_U32, verdict_enter_n, 1, 64),
	K("verdict", "leave_m", T_U32, verdict_leave_m, 1, 1000),
	K("verdict", "suspect_threshold", T_Q16, suspect_threshold_q16, 0, 0),
	K("verdict", "mining_threshold", T_Q16, mining_threshold_q16, 0, 0),
	K("response", "mode", T_RESPONSE, response, 0, 0),
	K("response", "min_intervals", T_U32, response_min_intervals, 1, 10000),
	K("response", "min_score", T_Q16, response_min_score_q16, 0, 0),
	K("response", "max_actions_per_min", T_U32, response_max_actions_per_min, 0, 10000),
	K("response", "audit_log", T_STR, audit_log, 0, 0),
	K("response", "allow_cgroup", T_GLOBS, allow_cgroups, 0, 0),
	K("response", "allow_identity", T_GLOBS, allow_identities, 0, 0),
	K("response", "unprotect", T_UNPROTECT, unprotect, 0, 0),
	K("response", "process_targets", T_BOOL, response_process_targets, 0, 0),
	K("response", "kube_pods_dir", T_STR, kube_pods_dir, 0, 0),
	K("http", "max_connections", T_U32, http_max_connections, 1, 100000),
	K("http", "per_ip_connections", T_U32, http_per_ip_connections, 0, 100000),
	K("http", "timeout_s", T_U32, http_timeout_s, 1, 3600),
	K("http", "memory_limit", T_U32, http_memory_limit, 4096, 16777216),
	K("http", "web_config_file", T_STR, http_web_config_file, 0, 0),
	K("alerts", "output", T_STR, alerts_output, 0, 0),
	K("alerts", "syslog", T_BOOL, alerts_syslog, 0, 0),
	K("alerts", "syslog_socket", T_STR, alerts_syslog_socket, 0, 0),
	K("alerts", "http_url", T_STR, alerts_http_url, 0, 0),
	K("alerts", "http_retries", T_U32, alerts_http_retries, 0, 10),
	K("alerts", "http_timeout_ms", T_U32, alerts_http_timeout_ms, 100, 60000),
	K("alerts", "http_queue", T_U32, alerts_http_queue, 1, 65536),
	K("docker", "root", T_STR, docker_root, 0, 0),
	K("docker", "socket", T_STR, docker_socket, 0, 0),
	K("docker", "labels", T_GLOBS, docker_labels, 0, 0),
	K("docker", "respond_via_api", T_BOOL, docker_respond_via_api, 0, 0),
	K("podman", "storage_root", T_STR, podman_storage_root, 0, 0),
};

static const char *const response_names[] = { "off", "dry-run", "freeze", "kill" };

const char *rw_response_mode_name(enum rw_response_mode mode)
{
	return (unsigned)mode < 4 ? response_names[mode] : "?";
}

void rw_config_defaults(struct rw_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->interval_ms = 1000;
	strcpy(cfg->listen_address, "127.0.0.1:10170");
	strcpy(cfg->log_level, "info");
	strcpy(cfg->log_format, "logfmt");
	strcpy(cfg->proc_root, "/proc");
	cfg->attention_cpu_q16 = 65536 / 20;      /* 0.05 cores */
	cfg->max_open_files = 65536;
	strcpy(cfg->pmu_table, "auto");
	cfg->fpprobe_enabled = true;
	strcpy(cfg->fpprobe_path, "auto");
	cfg->fpprobe_max_probes = 128;     /* 8 threads a round at 16 reads each */
	/* 4 misses a miner's mode changes in ~18 % of intervals, 8 in ~1 %; 16 (one read per 62.5 ms) also sees
	 * 2+ non-default modes in most intervals of a miner hashing only 25 % of the time (tools/train traces) */
	cfg->fpprobe_reads_per_thread = 16;
	cfg->fpprobe_min_thread_cpu_q16 = 0; /* every thread that ran: targets share the budget by CPU instead */
	/* Below attention_cpu: on a crowded host (load 49 on 2 cores here, other work included) a miner gets 4 % of
	 * a core, and the probe's budget is shared by CPU, so low targets cost few reads. */
	cfg->fpprobe_min_target_cpu_q16 = 65536 / 100;
	cfg->procscan_enabled = true;
	strcpy(cfg->procscan_rules, "models/indicators.rules");
	strcpy(cfg->model_file, "models/rigwatch.model");
	cfg->verdict_enter_k = 3;
	cfg->verdict_enter_n = 5;
	cfg->verdict_leave_m = 10;
	cfg->suspect_threshold_q16 = 65536 / 2;
	cfg->mining_threshold_q16 = 65536 * 8 / 10;
	cfg->response = RW_RESPONSE_OFF;
	cfg->response_min_intervals = 3;
	cfg->response_min_score_q16 = 65536 * 9 / 10;
	cfg->response_max_actions_per_min = 6;
	strcpy(cfg->audit_log, "/var/log/rigwatch/audit.jsonl");
	strcpy(cfg->kube_pods_dir, "/var/log/pods");
	strcpy(cfg->kube_containers_dir, "/var/log/containers");
	cfg->http_max_connections = 64;
	cfg->http_per_ip_connections = 16;
	cfg->http_timeout_s = 10;
	cfg->http_memory_limit = 65536;
	strcpy(cfg->alerts_output, "stdout");
	strcpy(cfg->alerts_syslog_socket, "/dev/log");
	cfg->alerts_http_retries = 3;
	cfg->alerts_http_timeout_ms = 2000;
	cfg->alerts_http_queue = 256;
	strcpy(cfg->docker_root, "/var/lib/docker");
	strcpy(cfg->docker_socket, "/var/run/docker.sock");
	cfg->docker_respond_via_api = true;
	strcpy(cfg->podman_storage_root, "/var/lib/containers/storage");
}

int rw_parse_q16(const char *text, int32_t *out)
{
	const char *p = text;
	int64_t whole = 0, frac = 0, scale = 1;
	bool neg = false, digits = false;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	while (isdigit((unsigned char)*p)) {
		whole = whole * 10 + (*p++ - '0');
		digits = true;
		if (whole > 32767)
			return -EINVAL;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (scale < 100000000) {
				frac = frac * 10 + (*p - '0');
				scale *= 10;
			}
			p++;
			digits = true;
		}
	}
	if (!digits || *p != '\0')
		return -EINVAL;
	int64_t v = whole * 65536 + (frac * 65536 + scale / 2) / scale;
	if (v > INT32_MAX)
		return -EINVAL;
	*out = (int32_t)(neg ? -v : v);
	return 0;
}

static const struct key_def *find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
			return &keys[i];
	return NULL;
}

static bool section_known(const char *section)
{
	if (strcmp(section, "allow") == 0)
		return true;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* An unprotect pattern must name a place: its first component literal (no glob character), no empty, "." or ".."
 * component, no "**". "*", "/" or "*.service" would lift the protection of the whole host at once. */
static bool unprotect_vague(const char *pat, char *err, size_t errlen, const struct key_def *k)
{
	const char *p = pat[0] == '/' ? pat + 1 : pat;
	const char *slash = strchr(p, '/');
	size_t first = slash ? (size_t)(slash - p) : strlen(p);
	const char *why = NULL;

	if (first == 0)
		why = "names no cgroup";
	else if (strcspn(p, "*?[") < first)
		why = "its first component is a pattern; name the slice or cgroup it opens (e.g. system.slice/cron.service)";
	else if (strstr(p, "**"))
		why = "\"**\" is not a pattern here";
	for (const char *c = p; !why && *c;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			why = "empty, \".\" or \"..\" component";
		c += n + (e ? 1 : 0);
		if (e && !*c)
			why = "trailing '/'";
	}
	if (why)
		snprintf(err, errlen, "%s.%s: \"%s\" is too vague to unprotect: %s", k->section, k->key, pat, why);
	return why != NULL;
}

/* Apply one value; `err` gets a message without location. */
static int apply(struct rw_config *cfg, const struct key_def *k, const char *value, char *err, size_t errlen)
{
	char *field = (char *)cfg + k->offset;

	switch (k->type) {
	case T_U32: {
		char *end;
		errno = 0;
		unsigned long v = strtoul(value, &end, 10);
		if (!isdigit((unsigned char)value[0]) || *end || errno || v < k->min || v > k->max) {
			snprintf(err, errlen, "%s.%s: expected an integer in %u..%u, got \"%s\"", k->section,
				 k->key, k->min, k->max, value);
			return -EINVAL;
		}
		*(uint32_t *)(void *)field = (uint32_t)v;
		return 0;
	}
	case T_Q16: {
		int32_t v;
		if (rw_parse_q16(value, &v) < 0 || v < 0) {
			snprintf(err, errlen, "%s.%s: expected a non-negative decimal number, got \"%s\"",
				 k->section, k->key, value);
			return -EINVAL;
		}
		*(int32_t *)(void *)field = v;
		return 0;
	}
	case T_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "on") || !strcmp(value, "1"))
			*(bool *)(void *)field = true;
		else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "off") ||
			 !strcmp(value, "0"))
			*(bool *)(void *)field = false;
		else {
			snprintf(err, errlen, "%s.%s: expected true or false, got \"%s\"", k->section, k->key, value);
			return -EINVAL;
		}
		return 0;
	case T_STR:
		if (strchr(value, '"')) {
			/* Printed quoted, and a quoted value cannot hold one. */
			snprintf(err, errlen, "%s.%s: quotes are not allowed in the value", k->section, k->key);
			return -EINVAL;
		}
		if (strlen(value) >= k->size) {
			snprintf(err, errlen, "%s.%s: value longer than %zu bytes", k->section, k->key, k->size - 1);
			return -EINVAL;
		}
		strcpy(field, value);
		return 0;
	case T_LOGLEVEL:
		if (strcmp(value, "error") && strcmp(value, "warn") && strcmp(value, "info") && strcmp(value, "debug")) {
			snprintf(err, errlen, "%s.%s: expected error, warn, info or debug, got \"%s\"", k->section,
				 k->key, value);
			return -EINVAL;
		}
		strcpy(field, value);
		return 0;
	case T_LOGFORMAT:
		if (strcmp(value, "logfmt") && strcmp(value, "json")) {
			snprintf(err, errlen, "%s.%s: expected logfmt or json, got \"%s\"", k->section, k->key, value);
			return -EINVAL;
		}
		strcpy(field, value);
		return 0;
	case T_FPPATH:
		if (strcmp(value, "auto") && strcmp(value, "bpf") && strcmp(value, "ptrace")) {
			snprintf(err, errlen, "%s.%s: expected auto, bpf or ptrace, got \"%s\"", k->section, k->key, value);
			return -EINVAL;
		}
		strcpy(field, value);
		return 0;
	case T_RESPONSE:
		for (unsigned i = 0; i < 4; i++) {
			if (strcmp(value, response_names[i]) == 0) {
				*(enum rw_response_mode *)(void *)field = (enum rw_response_mode)i;
				return 0;
			}
		}
		snprintf(err, errlen, "%s.%s: expected off, dry-run, freeze or kill, got \"%s\"", k->section, k->key,
			 value);
		return -EINVAL;
	case T_GLOBS:
	case T_UNPROTECT: {
		/* A comma-separated list; each occurrence of the key appends, "" clears. */
		struct rw_glob_list *l = (struct rw_glob_list *)(void *)field;
		char tmp[4096];
		if (strlen(value) >= sizeof tmp) {
			snprintf(err, errlen, "%s.%s: list too long", k->section, k->key);
			return -EINVAL;
		}
		strcpy(tmp, value);
		if (tmp[0] == '\0') {
			l->n = 0;
			return 0;
		}
		for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			tok = trim(tok);
			if (!*tok)
				continue;
			if (strchr(tok, '"')) {
				/* A quote could not survive the printed form (items are written unquoted). */
				snprintf(err, errlen, "%s.%s: quotes are not allowed inside a pattern", k->section,
					 k->key);
				return -EINVAL;
			}
			if (l->n == RW_CONFIG_MAX_GLOBS || strlen(tok) >= RW_CONFIG_GLOB_LEN) {
				snprintf(err, errlen, "%s.%s: at most %d patterns of %d bytes", k->section, k->key,
					 RW_CONFIG_MAX_GLOBS, RW_CONFIG_GLOB_LEN - 1);
				return -EINVAL;
			}
			if (k->type == T_UNPROTECT && unprotect_vague(tok, err, errlen, k))
				return -EINVAL;
			strcpy(l->items[l->n++], tok);
		}
		return 0;
	}
	}
	return -EINVAL;
}

/* Checks across keys, once everything is read. */
static int validate(const struct rw_config *cfg, char *err, size_t errlen)
{
	if (cfg->verdict_enter_k > cfg->verdict_enter_n) {
		snprintf(err, errlen, "verdict.enter_k (%u) exceeds verdict.enter_n (%u)", cfg->verdict_enter_k,
			 cfg->verdict_enter_n);
		return -EINVAL;
	}
	if (cfg->suspect_threshold_q16 > 65536 || cfg->mining_threshold_q16 > 65536 ||
	    cfg->response_min_score_q16 > 65536) {
		snprintf(err, errlen, "thresholds and scores must be within 0..1");
		return -EINVAL;
	}
	if (cfg->suspect_threshold_q16 > cfg->mining_threshold_q16) {
		snprintf(err, errlen, "verdict.suspect_threshold exceeds verdict.mining_threshold");
		return -EINVAL;
	}
	if (cfg->listen_address[0] == '\0' || !strrchr(cfg->listen_address, ':')) {
		snprintf(err, errlen, "agent.listen_address: expected host:port, got \"%s\"", cfg->listen_address);
		return -EINVAL;
	}
	return 0;
}

/* The value part of `key = value`, already trimmed, checked and unquoted in place. A value is either quoted
 * ("..." with no quote inside, nothing but blanks after it) or bare: a bare value may not contain a quote, '#'
 * or ';' (comments go on their own line, so a '#' never silently cuts or joins a value) nor, except in a
 * comma-separated list, blanks (a word after the value is junk, not part of it). */
static int unquote(char **value, bool list, char *msg, size_t msglen)
{
	char *v = *value;
	if (v[0] == '"') {
		char *close = strchr(v + 1, '"');
		if (!close) {
			snprintf(msg, msglen, "unterminated quote");
			return -EINVAL;
		}
		if (close[1] != '\0') {
			snprintf(msg, msglen, "unexpected \"%.32s\" after the quoted value",
				 close + 1 + strspn(close + 1, " \t\r\f\v"));
			return -EINVAL;
		}
		*close = '\0';
		*value = v + 1;
		return 0;
	}
	size_t bad = strcspn(v, "\"#;");
	if (v[bad]) {
		if (v[bad] == '"')
			snprintf(msg, msglen, "stray quote in an unquoted value");
		else
			snprintf(msg, msglen, "'%c' in an unquoted value: comments go on their own line (quote the "
				 "value if it contains '%c')", v[bad], v[bad]);
		return -EINVAL;
	}
	if (!list) {
		size_t word = strcspn(v, " \t\r\f\v");
		if (v[word]) {
			snprintf(msg, msglen, "unexpected \"%.32s\" after the value (quote a value with blanks)",
				 v + word + strspn(v + word, " \t\r\f\v"));
			return -EINVAL;
		}
	}
	return 0;
}

int rw_config_set(struct rw_config *cfg, const char *section, const char *key, const char *value, char *err,
		  size_t errlen)
{
	const struct key_def *k = find_key(section, key);
	struct rw_config tmp = *cfg;
	int r;

	if (!k) {
		snprintf(err, errlen, "unknown setting %s.%s", section, key);
		return -EINVAL;
	}
	if ((r = apply(&tmp, k, value, err, errlen)) < 0 || (r = validate(&tmp, err, errlen)) < 0)
		return r;
	*cfg = tmp;
	return 0;
}

/* One key of an [allow] section into rule *ar; `msg` gets a message without location. */
static int allow_key(struct rw_allow_rule *ar, const char *key, const char *value, char *msg, size_t msglen)
{
	char *field;
	size_t size;
	if (strcmp(key, "cgroup") == 0)
		field = ar->cgroup, size = sizeof ar->cgroup;
	else if (strcmp(key, "identity") == 0)
		field = ar->identity, size = sizeof ar->identity;
	else if (strcmp(key, "reason") == 0)
		field = ar->reason, size = sizeof ar->reason;
	else {
		snprintf(msg, msglen, "unknown key \"%s\" in [allow] (cgroup, identity, reason)", key);
		return -EINVAL;
	}
	if (field[0]) {
		snprintf(msg, msglen, "allow.%s: already set in this [allow] section", key);
		return -EINVAL;
	}
	if (!value[0] || strlen(value) >= size) {
		snprintf(msg, msglen, "allow.%s: expected 1 to %zu bytes", key, size - 1);
		return -EINVAL;
	}
	for (const char *c = value; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(msg, msglen, "allow.%s: control character in the value", key);
			return -EINVAL;
		}
	}
	if (field == ar->identity && rw_allow_identity_check(value, msg, msglen) < 0)
		return -EINVAL;
	strcpy(field, value);
	return 0;
}

/* An [allow] section is complete: it says what it exempts and why. */
static int allow_done(const struct rw_allow_rule *ar, const char *name, unsigned line, char *err, size_t errlen)
{
	if (!ar->cgroup[0] && !ar->identity[0]) {
		snprintf(err, errlen, "%s:%u: [allow] rule matches nothing: give cgroup = GLOB or identity = KIND:PATTERN",
			 name, line);
		return -EINVAL;
	}
	if (!ar->reason[0]) {
		snprintf(err, errlen, "%s:%u: [allow] rule without a reason: every exemption says why (reason = \"...\")",
			 name, line);
		return -EINVAL;
	}
	return 0;
}

int rw_config_parse(struct rw_config *cfg, const char *name, const char *text, char *err, size_t errlen)
{
	struct rw_config *tmp = malloc(sizeof *tmp);
	char section[32] = "";
	char msg[512];
	char line[4096];
	unsigned lineno = 0, allow_line = 0;   /* allow_line: header of the [allow] rule being read */
	const char *p = text;
	unsigned seen_line[sizeof keys / sizeof keys[0]] = { 0 };   /* line where each key was set, 0 = not yet */
	int r = 0;

	if (!tmp)
		return -ENOMEM;
	*tmp = *cfg;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len >= sizeof line) {
			snprintf(err, errlen, "%s:%u: line longer than %zu bytes", name, lineno, sizeof line - 1);
			r = -EINVAL;
			goto out;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : p + len;
		if (memchr(line, '\0', len) != NULL && strlen(line) != len) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", name, lineno);
			r = -EINVAL;
			goto out;
		}

		char *s = trim(line);
		if (*s == '#' || *s == ';' || *s == '\0')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (!e || trim(e + 1)[0] != '\0') {
				snprintf(err, errlen, "%s:%u: malformed section header", name, lineno);
				r = -EINVAL;
				goto out;
			}
			*e = '\0';
			s = trim(s + 1);
			if (!section_known(s) || strlen(s) >= sizeof section) {
				snprintf(err, errlen, "%s:%u: unknown section [%s]", name, lineno, s);
				r = -EINVAL;
				goto out;
			}
			if (!strcmp(section, "allow") && (r = allow_done(&tmp->allow.r[tmp->allow.n - 1], name, allow_line, err, errlen)) < 0)
				goto out;
			if (!strcmp(s, "allow")) {
				/* every [allow] header starts a rule of its own */
				if (tmp->allow.n == RW_CONFIG_MAX_ALLOW) {
					snprintf(err, errlen, "%s:%u: more than %d [allow] rules", name, lineno,
						 RW_CONFIG_MAX_ALLOW);
					r = -EINVAL;
					goto out;
				}
				struct rw_allow_rule *ar = &tmp->allow.r[tmp->allow.n++];
				memset(ar, 0, sizeof *ar);
				allow_line = lineno;
			}
			strcpy(section, s);
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected key = value", name, lineno);
			r = -EINVAL;
			goto out;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		if (!section[0]) {
			snprintf(err, errlen, "%s:%u: key \"%s\" outside any [section]", name, lineno, key);
			r = -EINVAL;
			goto out;
		}
		if (!strcmp(section, "allow")) {
			if ((r = unquote(&value, false, msg, sizeof msg)) < 0) {
				snprintf(err, errlen, "%s:%u: allow.%s: %s", name, lineno, key, msg);
				goto out;
			}
			if ((r = allow_key(&tmp->allow.r[tmp->allow.n - 1], key, value, msg, sizeof msg)) < 0) {
				snprintf(err, errlen, "%s:%u: %s", name, lineno, msg);
				goto out;
			}
			continue;
		}
		const struct key_def *k = find_key(section, key);
		if (!k) {
			snprintf(err, errlen, "%s:%u: unknown key \"%s\" in [%s]", name, lineno, key, section);
			r = -EINVAL;
			goto out;
		}
		if ((r = unquote(&value, k->type == T_GLOBS || k->type == T_UNPROTECT, msg, sizeof msg)) < 0) {
			snprintf(err, errlen, "%s:%u: %s.%s: %s", name, lineno, section, key, msg);
			goto out;
		}
		/* A repeated key would silently replace the earlier line's value; list keys append instead (and may
		 * not be cleared by a later line, which would discard the earlier ones just as silently). */
		unsigned *seen = &seen_line[k - keys];
		if (*seen && (k->type != T_GLOBS || value[0] == '\0')) {
			snprintf(err, errlen, "%s:%u: %s.%s: %s on line %u", name, lineno, section, key,
				 k->type == T_GLOBS ? "empty value would clear the patterns given" : "already set",
				 *seen);
			r = -EINVAL;
			goto out;
		}
		if (!*seen)
			*seen = lineno;
		if ((r = apply(tmp, k, value, msg, sizeof msg)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", name, lineno, msg);
			goto out;
		}
	}
	if (!strcmp(section, "allow") && (r = allow_done(&tmp->allow.r[tmp->allow.n - 1], name, allow_line, err, errlen)) < 0)
		goto out;
	if ((r = validate(tmp, msg, sizeof msg)) < 0) {
		snprintf(err, errlen, "%s: %s", name, msg);
		goto out;
	}
	*cfg = *tmp;
out:
	free(tmp);
	return r;
}

/* Largest config file read: far above any real one, and a bound on what a wrong path can make us allocate. */
#define CONFIG_MAX_BYTES (1u << 20)

int rw_config_load(struct rw_config *cfg, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len;
	int r = rw_read_regular_file(path, CONFIG_MAX_BYTES, &text, &len, err, errlen);
	if (r == 0)
		r = rw_config_parse(cfg, path, text, err, errlen);
	free(text);
	return r;
}

void rw_config_print(const struct rw_config *cfg, FILE *out)
{
	const char *section = "";

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const struct key_def *k = &keys[i];
		const char *field = (const char *)cfg + k->offset;
		char buf[32];

		if (strcmp(section, k->section) != 0) {
			fprintf(out, "%s[%s]\n", i ? "\n" : "", k->section);
			section = k->section;
		}
		fprintf(out, "%s = ", k->key);
		switch (k->type) {
		case T_U32:
			fprintf(out, "%u\n", *(const uint32_t *)(const void *)field);
			break;
		case T_Q16:
			rw_format_q16(*(const int32_t *)(const void *)field, buf, sizeof buf);
			fprintf(out, "%s\n", buf);
			break;
		case T_BOOL:
			fprintf(out, "%s\n", *(const bool *)(const void *)field ? "true" : "false");
			break;
		case T_STR:
		case T_LOGLEVEL:
		case T_LOGFORMAT:
		case T_FPPATH:
			fprintf(out, "\"%s\"\n", field);
			break;
		case T_RESPONSE:
			fprintf(out, "%s\n", rw_response_mode_name(*(const enum rw_response_mode *)(const void *)field));
			break;
		case T_GLOBS:
		case T_UNPROTECT: {
			const struct rw_glob_list *l = (const struct rw_glob_list *)(const void *)field;
			/* Quoted when a pattern holds a character a bare value may not. */
			bool quote = l->n == 0;
			for (unsigned j = 0; j < l->n; j++)
				quote |= l->items[j][strcspn(l->items[j], "#;")] != '\0';
			fputs(quote ? "\"" : "", out);
			for (unsigned j = 0; j < l->n; j++)
				fprintf(out, "%s%s", j ? ", " : "", l->items[j]);
			fputs(quote ? "\"\n" : "\n", out);
			break;
		}
		}
	}
	for (unsigned i = 0; i < cfg->allow.n; i++) {
		const struct rw_allow_rule *ar = &cfg->allow.r[i];
		fputs("\n[allow]\n", out);
		if (ar->cgroup[0])
			fprintf(out, "cgroup = \"%s\"\n", ar->cgroup);
		if (ar->identity[0])
			fprintf(out, "identity = \"%s\"\n", ar->identity);
		fprintf(out, "reason = \"%s\"\n", ar->reason);
	}
}
