/* fuzz_respond: the response rules. The input is a config text (its [response] allow_cgroup / allow_identity
 * lists and the rest, through rw_config_parse), then a line "--", then a target cgroup path. The path goes to
 * rw_respond_allowed with the identity derived from it (rw_identity_from_path), under a cgroup2 root that does
 * not exist (so nothing on this host is read or touched; response.mode is forced off).
 * Properties: a refusal always says why; the root, a path that is not canonical, and a path matched by an
 * allow_cgroup glob (checked here with fnmatch on the path and each of its ancestors) are always refused. */
#include <errno.h>
#include <fnmatch.h>

#include "fuzz.h"
#include "rigwatch/config.h"
#include "rigwatch/identity.h"
#include "rigwatch/log.h"
#include "rigwatch/respond.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	return 0;
}

static bool glob_covers(const struct rw_glob_list *l, const char *path)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path);
	for (;;) {
		for (unsigned i = 0; i < l->n; i++) {
			const char *g = l->items[i];
			if (fnmatch(g, buf, 0) == 0 || (g[0] != '/' && buf[0] == '/' && fnmatch(g, buf + 1, 0) == 0))
				return true;
		}
		char *slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			return false;
		*slash = '\0';
	}
}

static bool canonical(const char *p)
{
	if (p[0] != '/')
		return false;
	if (p[1] == '\0')
		return true;
	for (const char *c = p; *c; c++) {
		if (c[0] == '/' && (c[1] == '/' || c[1] == '\0'))
			return false;
		if (c[0] == '/' && c[1] == '.' && (c[2] == '/' || c[2] == '\0' || (c[2] == '.' && (c[3] == '/' || c[3] == '\0'))))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_config cfg;
	char err[512] = "", why[512];
	char *text = fuzz_cstr(data, size);
	char *sep = strstr(text, "\n--\n");
	const char *target = "/a";
	if (sep) {
		*sep = '\0';
		target = sep + 4;
		char *nl = strchr(sep + 4, '\n');
		if (nl)
			*nl = '\0';
	}
	rw_config_defaults(&cfg);
	if (rw_config_parse(&cfg, "fuzz.conf", text, err, sizeof err) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		free(text);
		return 0;
	}
	cfg.response = RW_RESPONSE_OFF;
	snprintf(cfg.proc_root, sizeof cfg.proc_root, "/nonexistent-rwfuzz/proc");
	struct rw_respond *r = NULL;
	FUZZ_CHECK(rw_respond_open(&r, &cfg, "/nonexistent-rwfuzz/cgroup", err, sizeof err) == 0 && r);

	struct rw_identity id;
	rw_identity_from_path(target, &id);
	why[0] = '\0';
	const char *no = rw_respond_allowed(r, target, 0, &id, why, sizeof why) < 0 ? why : NULL;
	if (no)
		FUZZ_CHECK(no == why && why[0] != '\0' && memchr(why, '\0', sizeof why));
	if (!strcmp(target, "/") || !canonical(target) || (canonical(target) && glob_covers(&cfg.allow_cgroups, target)))
		FUZZ_CHECK(no != NULL);
	/* and without an identity given: derived inside */
	const char *no2 = rw_respond_allowed(r, target, 0, NULL, why, sizeof why) < 0 ? why : NULL;
	FUZZ_CHECK((no == NULL) == (no2 == NULL));
	rw_respond_close(r);
	free(text);
	return 0;
}
