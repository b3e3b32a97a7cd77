/* replay: the shipped model (models/rigwatch.model) on the shipped recordings (tests/data/traces, listed with their
 * labels and deadlines in traces.list), through the same scoring path as the live agent and `rigwatch replay`,
 * with the embedded default config. Every miner must end in `mining` within its deadline, counted from the trace's
 * first sample (5 s at full speed, 10 s at 25 % duty); every benign recording must stay `clean` throughout, not
 * even `suspect`. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "rigwatch/config.h"
#include "rigwatch/model.h"
#include "rigwatch/score.h"
#include "rigwatch/trace.h"
#include "rw_test.h"

#define MAX_ENTRIES 64

struct entry {
	char file[128];
	char label[16];
	unsigned deadline_s;
};

static struct entry entries[MAX_ENTRIES];
static unsigned n_entries;
static struct rw_model model;
static struct rw_config cfg;
static int loaded;

static void path_of(const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s/traces/%s", rw_test_data_dir(), file);
}

/* traces.list: "FILE LABEL DEADLINE_S COMMAND..." a line; # comments. */
static int load(void)
{
	char path[512], err[512], line[1024];
	if (loaded)
		return loaded > 0;
	loaded = -1;
	rw_config_defaults(&cfg);
	snprintf(path, sizeof(path), "%s/../../models/rigwatch.model", rw_test_data_dir());
	if (rw_model_load(&model, path, err, sizeof(err)) < 0) {
		printf("\n  %s\n", err);
		return 0;
	}
	path_of("traces.list", path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("\n  %s: cannot open\n", path);
		return 0;
	}
	while (fgets(line, sizeof(line), f) && n_entries < MAX_ENTRIES) {
		struct entry *e = &entries[n_entries];
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%127s %15s %u", e->file, e->label, &e->deadline_s) != 3) {
			printf("\n  %s: bad line: %s", path, line);
			fclose(f);
			return 0;
		}
		n_entries++;
	}
	fclose(f);
	loaded = 1;
	return 1;
}

struct result {
	unsigned samples;
	enum rw_verdict final, max;
	int64_t to_mining_ms;      /* from the first sample; -1 if never */
	char label[128];           /* from the trace header */
};

static int replay(const char *file, struct result *res)
{
	static struct rw_sample s;
	static struct rw_trace_header h;
	struct rw_trace_reader r;
	struct rw_scorer sc;
	struct rw_verdict_state v;
	char path[512], err[512];
	uint64_t first = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	res->to_mining_ms = -1;
	path_of(file, path, sizeof(path));
	if (rw_trace_reader_open(&r, path, &h, err, sizeof(err)) < 0) {
		printf("\n  %s\n", err);
		return -1;
	}
	snprintf(res->label, sizeof(res->label), "%s", h.label);
	if (rw_scorer_init(&sc, &cfg, &model) < 0) {
		rw_trace_reader_close(&r);
		return -1;
	}
	while ((rc = rw_trace_next(&r, &s, err, sizeof(err))) == 1) {
		if (!res->samples++)
			first = s.time_ns;
		if (rw_scorer_score(&sc, &s, &v) < 0) {
			rc = -1;
			break;
		}
		if (v.verdict > res->max)
			res->max = v.verdict;
		if (v.verdict == RW_VERDICT_MINING && res->to_mining_ms < 0)
			res->to_mining_ms = (int64_t)((s.time_ns - first) / 1000000u);
		res->final = v.verdict;
	}
	if (rc < 0)
		printf("\n  %s\n", err);
	rw_scorer_free(&sc);
	rw_trace_reader_close(&r);
	return rc;
}

static void test_manifest(void)
{
	CU_ASSERT_FATAL(load());
	unsigned miners = 0, benign = 0;
	for (unsigned i = 0; i < n_entries; i++) {
		const struct entry *e = &entries[i];
		struct result res;
		CU_ASSERT(!strcmp(e->label, "mining") || !strcmp(e->label, "benign"));
		CU_ASSERT_EQUAL(replay(e->file, &res), 0);
		/* the header's label is the manifest's: a trace cannot be listed under the wrong class */
		CU_ASSERT_STRING_EQUAL(res.label, e->label);
		CU_ASSERT(res.samples >= 10);
		miners += !strcmp(e->label, "mining");
		benign += !strcmp(e->label, "benign");
		/* and the shipped model names it among its training traces */
		char needle[160];
		snprintf(needle, sizeof(needle), " %s %s ", e->label, e->file);
		if (!strstr(model.provenance, needle))
			printf("\n  %s not in the model's provenance", e->file);
		CU_ASSERT_PTR_NOT_NULL(strstr(model.provenance, needle));
	}
	CU_ASSERT(miners >= 4);
	CU_ASSERT(benign >= 8);

	/* every trace in the directory is in the manifest */
	char dir[512];
	path_of("", dir, sizeof(dir));
	DIR *d = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 6, ".trace"))
			continue;
		int found = 0;
		for (unsigned i = 0; i < n_entries; i++)
			found |= !strcmp(entries[i].file, de->d_name);
		if (!found)
			printf("\n  %s: not in traces.list", de->d_name);
		CU_ASSERT(found);
	}
	closedir(d);
}

static void test_miners_mining_in_time(void)
{
	CU_ASSERT_FATAL(load());
	for (unsigned i = 0; i < n_entries; i++) {
		const struct entry *e = &entries[i];
		struct result res;
		if (strcmp(e->label, "mining"))
			continue;
		CU_ASSERT_EQUAL_FATAL(replay(e->file, &res), 0);
		printf("\n  %-24s %-7s after %5.1f s (deadline %u s)", e->file, rw_verdict_name(res.final),
		       res.to_mining_ms / 1000.0, e->deadline_s);
		CU_ASSERT_EQUAL(res.final, RW_VERDICT_MINING);
		CU_ASSERT(res.to_mining_ms >= 0);
		CU_ASSERT(res.to_mining_ms <= (int64_t)e->deadline_s * 1000);
	}
}

static void test_benign_stay_clean(void)
{
	CU_ASSERT_FATAL(load());
	for (unsigned i = 0; i < n_entries; i++) {
		const struct entry *e = &entries[i];
		struct result res;
		if (strcmp(e->label, "benign"))
			continue;
		CU_ASSERT_EQUAL_FATAL(replay(e->file, &res), 0);
		printf("\n  %-24s highest verdict %s", e->file, rw_verdict_name(res.max));
		CU_ASSERT_EQUAL(res.max, RW_VERDICT_CLEAN);
	}
}

/* `rigwatch replay` (rw_replay_file) reports the same first `mining` as the scorer loop above. */
static void test_replay_file_agrees(void)
{
	CU_ASSERT_FATAL(load());
	for (unsigned i = 0; i < n_entries; i++) {
		const struct entry *e = &entries[i];
		char path[512], err[512], *text = NULL;
		size_t len = 0;
		struct result res;
		CU_ASSERT_EQUAL_FATAL(replay(e->file, &res), 0);
		path_of(e->file, path, sizeof(path));
		FILE *mem = open_memstream(&text, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
		CU_ASSERT_EQUAL(rw_replay_file(path, &cfg, &model, mem, err, sizeof(err)), 0);
		fclose(mem);
		const char *hit = strstr(text, "\"verdict\":\"mining\"");
		CU_ASSERT_EQUAL(hit != NULL, res.to_mining_ms >= 0);
		if (res.max == RW_VERDICT_CLEAN)
			CU_ASSERT_EQUAL(len, 0);   /* a target that stays clean prints nothing */
		free(text);
	}
}

/* Resource behaviour alone can never raise a target to `suspect`, however flat, busy and big it is (stress-ng,
 * xz, a database): the cgroup source is capped well below the suspect threshold, with or without the absent
 * indicators' say. */
static void test_cgroup_alone_never_suspect(void)
{
	CU_ASSERT_FATAL(load());
	struct rw_features f;
	struct rw_model_output out;
	static const int32_t cores[] = { 1 << 16, 2 << 16, 4 << 16, 64 << 16 };
	static const int32_t mem[] = { 0, 1 << 15, 2 << 16, 64 << 16 };
	for (unsigned c = 0; c < 4; c++) {
		for (unsigned k = 0; k < 4; k++) {
			for (unsigned ind = 0; ind < 2; ind++) {
				memset(&f, 0, sizeof(f));
				f.present = RW_F_BIT(RW_F_CORES) | RW_F_BIT(RW_F_THROTTLE) | RW_F_BIT(RW_F_CPU_STEADINESS) |
					    RW_F_BIT(RW_F_MEMORY_GIB) | RW_F_BIT(RW_F_HUGEPAGE_SHARE);
				f.sources = RW_SRC_BIT(RW_SRC_CGROUP);
				f.v[RW_F_CORES] = cores[c];
				f.v[RW_F_CPU_STEADINESS] = 65536;
				f.v[RW_F_MEMORY_GIB] = mem[k];
				f.v[RW_F_HUGEPAGE_SHARE] = k & 1 ? 65536 : 0;
				if (ind) {   /* the indicator scan ran and found nothing */
					f.present |= RW_F_BIT(RW_F_IND_RULES) | RW_F_BIT(RW_F_IND_MATCHES) |
						     RW_F_BIT(RW_F_POOL_CONNECTIONS);
					f.sources |= RW_SRC_BIT(RW_SRC_INDICATORS);
				}
				rw_model_eval(&model, &f, &out);
				CU_ASSERT(out.p_q16 < cfg.suspect_threshold_q16);
			}
		}
	}
}

static const rw_test tests[] = {
	RW_TEST(test_manifest),
	RW_TEST(test_cgroup_alone_never_suspect),
	RW_TEST(test_miners_mining_in_time),
	RW_TEST(test_benign_stay_clean),
	RW_TEST(test_replay_file_agrees),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("replay", tests);
}
