/* fuzz_config: the INI config parser (rw_config_parse, and rw_config_load through a memfd). Properties: a failed
 * parse leaves the config untouched and says why; a successful one prints (rw_config_print) to text that parses
 * back to the same configuration, and the text obeys the strict rules, checked here by a scan of its own: every
 * value is either quoted (closed, nothing after the quote) or bare (no quote, '#' or ';', no blanks unless a
 * list), and no key but a list key appears twice (within one [allow] section: each starts a rule). */
#include <ctype.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "rigwatch/config.h"
#include "rigwatch/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	rw_log_set_level(RW_LOG_ERROR);
	return 0;
}

static char *print(const struct rw_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	FUZZ_CHECK(f != NULL);
	rw_config_print(c, f);
	FUZZ_CHECK(fclose(f) == 0);
	return buf;
}

static bool is_list_key(const char *key)
{
	return !strcmp(key, "include") || !strcmp(key, "exclude") || !strcmp(key, "allow_cgroup") ||
	       !strcmp(key, "allow_identity");
}

static void trim_span(const char **b, const char **e)
{
	while (*b < *e && isspace((unsigned char)**b))
		(*b)++;
	while (*e > *b && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* The strict rules, checked on text the parser accepted. */
static void check_rules(const char *text)
{
	char seen[64][80];
	unsigned n_seen = 0;
	char section[40] = "";

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
		const char *b = p, *e = end;
		p = nl ? nl + 1 : end;
		trim_span(&b, &e);
		if (b == e || *b == '#' || *b == ';')
			continue;
		if (*b == '[') {
			const char *close = memchr(b, ']', (size_t)(e - b));
			FUZZ_CHECK(close && close + 1 == e);
			const char *sb = b + 1, *se = close;
			trim_span(&sb, &se);
			FUZZ_CHECK((size_t)(se - sb) < sizeof section);
			memcpy(section, sb, (size_t)(se - sb));
			section[se - sb] = '\0';
			if (!strcmp(section, "allow")) {
				/* every [allow] header starts a rule of its own: its keys may appear again */
				unsigned k = 0;
				for (unsigned i = 0; i < n_seen; i++)
					if (strncmp(seen[i], "allow.", 6) != 0)
						memmove(seen[k++], seen[i], sizeof seen[0]);
				n_seen = k;
			}
			continue;
		}
		const char *eq = memchr(b, '=', (size_t)(e - b));
		FUZZ_CHECK(eq != NULL);
		const char *kb = b, *ke = eq, *vb = eq + 1, *ve = e;
		trim_span(&kb, &ke);
		trim_span(&vb, &ve);
		char key[80];
		FUZZ_CHECK((size_t)(ke - kb) < 40);
		snprintf(key, sizeof key, "%s.%.*s", section, (int)(ke - kb), kb);
		bool list = is_list_key(strchr(key, '.') + 1);
		if (vb < ve && *vb == '"') {
			const char *q = memchr(vb + 1, '"', (size_t)(ve - vb - 1));
			FUZZ_CHECK(q != NULL && q + 1 == ve);
		} else {
			for (const char *c = vb; c < ve; c++) {
				FUZZ_CHECK(*c != '"' && *c != '#' && *c != ';');
				FUZZ_CHECK(list || !isspace((unsigned char)*c));
			}
		}
		if (list)
			continue;
		for (unsigned i = 0; i < n_seen; i++)
			FUZZ_CHECK(strcmp(seen[i], key) != 0);
		FUZZ_CHECK(n_seen < 64);
		strcpy(seen[n_seen++], key);
	}
}

/* The file path: the same text through rw_config_load must give the same answer as rw_config_parse. */
static void check_load(const uint8_t *data, size_t size, int parse_rc, const struct rw_config *parsed)
{
	static struct rw_config loaded;
	char path[64], err[512] = "";
	int fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	rw_config_defaults(&loaded);
	int rc = rw_config_load(&loaded, path, err, sizeof err);
	if (memchr(data, '\0', size)) {
		FUZZ_CHECK(rc == -EINVAL && strstr(err, "NUL") != NULL);
	} else {
		FUZZ_CHECK((rc == 0) == (parse_rc == 0));
		if (rc == 0)
			FUZZ_CHECK(memcmp(&loaded, parsed, sizeof loaded) == 0);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rw_config cfg, before, back;
	char err[512] = "";
	char *text = fuzz_cstr(data, size);

	rw_config_defaults(&cfg);
	before = cfg;
	int rc = rw_config_parse(&cfg, "fuzz.conf", text, err, sizeof err);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
	} else {
		size_t n1, n2;
		char *p1 = print(&cfg, &n1);
		rw_config_defaults(&back);
		rc = rw_config_parse(&back, "printed", p1, err, sizeof err);
		if (rc != 0)
			fprintf(stderr, "printed config does not parse back: %s\n---\n%s---\n", err, p1);
		FUZZ_CHECK(rc == 0);
		char *p2 = print(&back, &n2);
		FUZZ_CHECK(n1 == n2 && memcmp(p1, p2, n1) == 0);
		check_rules(text);
		check_rules(p1);
		free(p1);
		free(p2);
	}
	check_load(data, size, rc == 0 ? 0 : -1, &cfg);
	free(text);
	return 0;
}
