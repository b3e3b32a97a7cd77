/* replay: the shipped model (models/rigwatch.model) on the shipped recordings (tests/data/traces, listed with their
 * labels and classes in traces.list), through the same scoring path as the live agent and `rigwatch replay`, with
 * the embedded default config. Every miner must reach `mining` by its deadline, counted from the trace's first
 * sample: 10 s after the first sample at >= 25 % of a core, 30 s after the first at >= 5 %; no benign recording may
 * reach `mining` (legitimate rounding-mode users may be `suspect`), and ordinary work stays `clean`.
 * Held out: the same verdicts from models trained without each recording's class, computed afresh by the trainer
 * (tools/train/train-shipped.sh with --eval), which must also rebuild the shipped model byte for byte. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rigwatch/cmd_replay.h"
#include "rigwatch/config.h"
#include "rigwatch/model.h"
#include "rigwatch/score.h"
#include "rigwatch/trace.h"
#include "rw_test.h"

#define MAX_ENTRIES 64

struct entry {
	char file[128];
	char label[16];
	char cls[64];
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

/* traces.list: "FILE LABEL CLASS COMMAND..." a line; # comments. */
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
		if (sscanf(line, "%127s %15s %63s", e->file, e->label, e->cls) != 3) {
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
	int64_t deadline_ms;       /* from the samples' CPU use; -1 if never at 5 % of a core */
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

	int64_t first25 = -1, first5 = -1;
	memset(res, 0, sizeof(*res));
	res->to_mining_ms = -1;
	res->deadline_ms = -1;
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
		if (rw_scorer_score(&sc, &s, &v, NULL) < 0) {
			rc = -1;
			break;
		}
		int64_t at = (int64_t)((s.time_ns - first) / 1000000u);
		if ((s.cg.have & RW_CGS_CPU) && s.interval_us) {
			/* cores as features.c computes them: the same Q16 ratio, compared in Q16 */
			int32_t cores = rw_ratio_q16(s.cpu_usec, s.interval_us, 1);
			if (cores >= 65536 / 4 && first25 < 0)
				first25 = at;
			if (cores >= 65536 / 20 && first5 < 0)
				first5 = at;
		}
		if (v.verdict > res->max)
			res->max = v.verdict;
		if (v.verdict == RW_VERDICT_MINING && res->to_mining_ms < 0)
			res->to_mining_ms = at;
		res->final = v.verdict;
	}
	if (first5 >= 0)
		res->deadline_ms = first5 + 30000;
	if (first25 >= 0 && first25 + 10000 < res->deadline_ms)
		res->deadline_ms = first25 + 10000;
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
		snprintf(needle, sizeof(needle), "trace %s %s %s", e->label, e->cls, e->file);
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
		printf("\n  %-28s %-7s after %5.1f s (deadline %.1f s)", e->file, rw_verdict_name(res.final),
		       res.to_mining_ms / 1000.0, res.deadline_ms / 1000.0);
		CU_ASSERT(res.deadline_ms >= 0);
		CU_ASSERT(res.to_mining_ms >= 0);
		CU_ASSERT(res.to_mining_ms <= res.deadline_ms);
	}
}

static void test_benign_never_mining(void)
{
	CU_ASSERT_FATAL(load());
	for (unsigned i = 0; i < n_entries; i++) {
		const struct entry *e = &entries[i];
		struct result res;
		if (strcmp(e->label, "benign"))
			continue;
		CU_ASSERT_EQUAL_FATAL(replay(e->file, &res), 0);
		printf("\n  %-28s %-12s highest verdict %s", e->file, e->cls, rw_verdict_name(res.max));
		CU_ASSERT(res.max < RW_VERDICT_MINING);
		if (!strcmp(e->cls, "ordinary"))
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

/* No single source convicts with the shipped model: resource behaviour however flat, busy and big (fast mode's
 * dataset included), indicators however many, an FP fingerprint however RandomX-like, each alone stays below the
 * `alone` cap and the tracker never enters `mining` on it, whatever the other sources' absence says. */
static void test_single_source_never_mining(void)
{
	CU_ASSERT_FATAL(load());
	struct rw_features f;
	struct rw_model_output out;
	struct rw_verdict_tracker tr;
	static const int32_t cores[] = { 1 << 16, 2 << 16, 4 << 16, 64 << 16 };
	static const int32_t mem[] = { 0, 1 << 15, 2 << 16, 64 << 16 };
	int32_t alone_p = rw_sigmoid_q16(model.alone_q16);
	for (unsigned c = 0; c < 4; c++) {
		for (unsigned k = 0; k < 4; k++) {
			for (unsigned src = 0; src < 3; src++) {
				memset(&f, 0, sizeof(f));
				f.interval_ms = 1000;
				if (src == 0) {         /* the cgroup alone, with the indicator scan finding nothing */
					f.present = RW_F_BIT(RW_F_CORES) | RW_F_BIT(RW_F_THROTTLE) |
						    RW_F_BIT(RW_F_CPU_STEADINESS) | RW_F_BIT(RW_F_MEMORY_GIB) |
						    RW_F_BIT(RW_F_HUGEPAGE_SHARE) | RW_F_BIT(RW_F_ANON_GIB) |
						    RW_F_BIT(RW_F_IND_RULES) | RW_F_BIT(RW_F_IND_MATCHES) |
						    RW_F_BIT(RW_F_POOL_CONNECTIONS);
					f.sources = RW_SRC_BIT(RW_SRC_CGROUP) | RW_SRC_BIT(RW_SRC_INDICATORS);
					f.v[RW_F_CORES] = cores[c];
					f.v[RW_F_CPU_STEADINESS] = 65536;
					f.v[RW_F_MEMORY_GIB] = mem[k];
					f.v[RW_F_ANON_GIB] = mem[k];
					f.v[RW_F_HUGEPAGE_SHARE] = k & 1 ? 65536 : 0;
				} else if (src == 1) {  /* indicators alone, every rule matched */
					f.present = RW_F_BIT(RW_F_IND_RULES) | RW_F_BIT(RW_F_IND_MATCHES) |
						    RW_F_BIT(RW_F_POOL_CONNECTIONS);
					f.sources = RW_SRC_BIT(RW_SRC_INDICATORS);
					f.v[RW_F_IND_RULES] = (int32_t)(c + 1) << 16;
					f.v[RW_F_IND_MATCHES] = (int32_t)(k * 3 + 1) << 16;
					f.v[RW_F_POOL_CONNECTIONS] = (int32_t)k << 16;
				} else {                /* the FP fingerprint alone, FTZ+DAZ and traced threads included */
					f.present = RW_F_BIT(RW_F_FP_MODE_EVENNESS) | RW_F_BIT(RW_F_FP_NONDEFAULT_SHARE) |
						    RW_F_BIT(RW_F_FP_CHANGE_RATE) | RW_F_BIT(RW_F_FP_FTZ_DAZ_NONDEFAULT) |
						    RW_F_BIT(RW_F_FP_TRACED_THREADS);
					f.sources = RW_SRC_BIT(RW_SRC_FPPROBE);
					f.v[RW_F_FP_MODE_EVENNESS] = 65536;
					f.v[RW_F_FP_NONDEFAULT_SHARE] = 65536 * 3 / 4;
					f.v[RW_F_FP_CHANGE_RATE] = 65536 * (k + 1) / 4;
					f.v[RW_F_FP_FTZ_DAZ_NONDEFAULT] = 65536 * 3 / 4;
					f.v[RW_F_FP_TRACED_THREADS] = (int32_t)c << 16;
				}
				rw_model_eval(&model, &f, &out);
				rw_model_explain(&model, &f, &out);   /* the tracker writes the reasons from it */
				CU_ASSERT_FALSE(out.agreed);
				CU_ASSERT(out.p_q16 <= alone_p);
				rw_verdict_tracker_init(&tr);
				for (uint64_t i = 0; i < 10; i++)
					rw_verdict_update(&tr, &cfg, &f, &out, i * 1000000000ull);
				CU_ASSERT(tr.st.verdict != RW_VERDICT_MINING);
			}
		}
	}
}

/* Held out: the trainer (tools/train/train-shipped.sh with --eval) trains without each recording's class and
 * replays the class. Every recording must pass there too, the report must cover every recording in traces.list,
 * and the model it trains on everything must be the shipped file, byte for byte. */
static void test_held_out(void)
{
	CU_ASSERT_FATAL(load());
	const char *build = getenv("RW_BUILD");
	char trainer[512], dir[] = "/tmp/rw-heldout.XXXXXX", cmd[2048], path[600], line[2048];
	struct stat st;
	if (!build || snprintf(trainer, sizeof(trainer), "%s/train", build) <= 0 || stat(trainer, &st) < 0)
		build = "build";
	snprintf(trainer, sizeof(trainer), "%s/train", build);
	if (stat(trainer, &st) < 0) {
		printf("\n  %s: no trainer (run `make tools` first)", trainer);
		CU_FAIL_FATAL("no trainer to compute the held-out verdicts");
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "OUT_FLAG=--eval RW_BUILD='%s' sh %s/../../tools/train/train-shipped.sh %s "
		 ">%s/log 2>&1", build, rw_test_data_dir(), dir, dir);
	int rc = system(cmd);
	if (rc != 0) {
		snprintf(cmd, sizeof(cmd), "tail -40 %s/log", dir);
		if (system(cmd) < 0)
			printf("\n  trainer failed");
	}
	CU_ASSERT(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);

	snprintf(path, sizeof(path), "%s/traces.tsv", dir);
	FILE *f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	unsigned seen = 0;
	while (fgets(line, sizeof(line), f)) {
		char rec[128], cls[64], label[16], held_max[16], held_final[16];
		double cores, deadline, to_mining;
		int pass;
		if (!strncmp(line, "recording\t", 10))
			continue;
		if (sscanf(line, "%127s %63s %15s %lf %lf %lf %15s %15s", rec, cls, label, &cores, &deadline, &to_mining,
			   held_max, held_final) != 8) {
			printf("\n  %s: bad line %s", path, line);
			CU_FAIL("bad traces.tsv line");
			continue;
		}
		/* pass is the 13th field */
		const char *p = line;
		for (int k = 0; k < 12 && p; k++) {
			p = strchr(p, '\t');
			p = p ? p + 1 : NULL;
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		pass = atoi(p);
		int listed = 0;
		for (unsigned i = 0; i < n_entries; i++)
			listed |= !strcmp(entries[i].file, rec) && !strcmp(entries[i].label, label) &&
				  !strcmp(entries[i].cls, cls);
		CU_ASSERT(listed);
		seen++;
		if (!strcmp(label, "mining")) {
			printf("\n  held out %-28s mining after %5.1f s (deadline %.1f s)", rec, to_mining, deadline);
			CU_ASSERT(to_mining >= 0 && deadline >= 0 && to_mining <= deadline);
		} else {
			printf("\n  held out %-28s highest verdict %s", rec, held_max);
			CU_ASSERT_STRING_NOT_EQUAL(held_max, "mining");
		}
		CU_ASSERT_EQUAL(pass, 1);
	}
	fclose(f);
	CU_ASSERT_EQUAL(seen, n_entries);

	/* the same corpus gives the same model, byte for byte */
	snprintf(cmd, sizeof(cmd), "cmp -s %s/model.model %s/../../models/rigwatch.model", dir, rw_test_data_dir());
	rc = system(cmd);
	if (rc != 0)
		printf("\n  models/rigwatch.model is not what the trainer makes of the shipped recordings");
	CU_ASSERT(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("\n  could not remove %s", dir);
}

static const rw_test tests[] = {
	RW_TEST(test_manifest),
	RW_TEST(test_single_source_never_mining),
	RW_TEST(test_miners_mining_in_time),
	RW_TEST(test_benign_never_mining),
	RW_TEST(test_held_out),
	RW_TEST(test_replay_file_agrees),
	{ NULL, NULL },
};

int main(void)
{
	return rw_test_main("replay", tests);
}
