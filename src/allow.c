/* allow: match a target against the [allow] rules. */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rigwatch/allow.h"
#include "rigwatch/sample.h"

static const char *const kinds[] = { "container", "lxc", "pod", "k8s-namespace", "k8s-pod", "k8s-container",
				     "slurm-job", "slurm-user", "unit", "process" };

int rw_allow_identity_check(const char *pattern, char *err, size_t errlen)
{
	const char *colon = strchr(pattern, ':');
	if (colon && colon[1]) {
		for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
			if (strlen(kinds[i]) == (size_t)(colon - pattern) &&
			    strncmp(pattern, kinds[i], (size_t)(colon - pattern)) == 0)
				return 0;
	}
	snprintf(err, errlen, "identity \"%s\": expected KIND:PATTERN with KIND one of container, lxc, pod, "
		 "k8s-namespace, k8s-pod, k8s-container, slurm-job, slurm-user, unit, process", pattern);
	return -EINVAL;
}

/* Split "kind:glob" (checked at parse time). */
static bool kind_is(const char *pat, const char *kind, const char **glob)
{
	size_t n = strlen(kind);
	if (strncmp(pat, kind, n) != 0 || pat[n] != ':')
		return false;
	*glob = pat + n + 1;
	return true;
}

static bool glob_match(const char *glob, const char *value)
{
	return value[0] && fnmatch(glob, value, 0) == 0;
}

static bool unit_on_path(const char *glob, const char *path)
{
	static const char *const suffixes[] = { ".service", ".scope", ".slice", ".socket", ".mount", ".swap" };
	char comp[256];
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		for (size_t i = 0; n && n < sizeof comp && i < sizeof suffixes / sizeof suffixes[0]; i++) {
			size_t s = strlen(suffixes[i]);
			if (n > s && memcmp(c + n - s, suffixes[i], s) == 0) {
				memcpy(comp, c, n);
				comp[n] = '\0';
				if (fnmatch(glob, comp, 0) == 0)
					return true;
				break;
			}
		}
		c += n;
	}
	return false;
}

static bool identity_matches(const char *pat, const char *cgroup, const struct rw_identity *id)
{
	const char *g;
	char buf[512];

	if (kind_is(pat, "container", &g)) {
		if (id->kind != RW_KIND_CONTAINER || !id->id[0])
			return false;
		if (glob_match(g, id->id))
			return true;
		/* the short id `docker ps` and `crictl ps` show */
		size_t n = strlen(g);
		return !strpbrk(g, "*?[") && n >= 12 && strncmp(g, id->id, n) == 0;
	}
	if (kind_is(pat, "lxc", &g))
		return strcmp(id->runtime, "lxc") == 0 && glob_match(g, id->name);
	if (kind_is(pat, "pod", &g))
		return glob_match(g, id->pod_uid);
	if (kind_is(pat, "k8s-namespace", &g))
		return glob_match(g, id->k8s_ns);
	if (kind_is(pat, "k8s-pod", &g)) {
		if (!id->k8s_pod[0])
			return false;
		snprintf(buf, sizeof buf, "%s/%s", id->k8s_ns, id->k8s_pod);
		return glob_match(g, buf);
	}
	if (kind_is(pat, "k8s-container", &g)) {
		if (!id->k8s_container[0])
			return false;
		snprintf(buf, sizeof buf, "%s/%s/%s", id->k8s_ns, id->k8s_pod, id->k8s_container);
		return glob_match(g, buf);
	}
	if (kind_is(pat, "slurm-job", &g)) {
		if (!id->slurm_job[0])
			return false;
		if (glob_match(g, id->slurm_job))
			return true;
		snprintf(buf, sizeof buf, "%s/step_%s", id->slurm_job, id->slurm_step);
		return id->slurm_step[0] && glob_match(g, buf);
	}
	if (kind_is(pat, "slurm-user", &g))
		return glob_match(g, id->slurm_user);
	if (kind_is(pat, "unit", &g))
		return glob_match(g, id->unit) || unit_on_path(g, cgroup);
	if (kind_is(pat, "process", &g))
		return id->kind == RW_KIND_PROCESS && glob_match(g, id->name);
	return false;
}

/* The glob on the path and every ancestor; written with or without the leading '/'. */
static bool cgroup_matches(const char *glob, const char *cgroup)
{
	char buf[RW_CGROUP_PATH_MAX];
	snprintf(buf, sizeof buf, "%s", cgroup);
	for (;;) {
		if (fnmatch(glob, buf, 0) == 0 || (glob[0] != '/' && buf[0] == '/' && fnmatch(glob, buf + 1, 0) == 0))
			return true;
		char *slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return false;
		*slash = '\0';
	}
}

const struct rw_allow_rule *rw_allow_match(const struct rw_allow_rules *rules, const char *cgroup,
					   const struct rw_identity *id)
{
	for (unsigned i = 0; rules && i < rules->n; i++) {
		const struct rw_allow_rule *r = &rules->r[i];
		if (!r->cgroup[0] && !r->identity[0])
			continue;
		if (r->cgroup[0] && !cgroup_matches(r->cgroup, cgroup))
			continue;
		if (r->identity[0] && !identity_matches(r->identity, cgroup, id))
			continue;
		return r;
	}
	return NULL;
}
