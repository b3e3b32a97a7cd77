/* bench/model: cost of one target score. Runs N model evaluations (rw_model_eval) and N full scorer steps
 * (features + model + verdict, rw_scorer_score) over a fixed mix of miner-like and benign feature vectors, and
 * prints the median time per call of 7 runs, side by side. For instructions per score, run it under callgrind:
 *   valgrind --tool=callgrind --toggle-collect=rw_model_eval build/bench/model 100000
 * (total Ir / N; tools/bench/model-callgrind.sh does the division for both functions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rigwatch/score.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void make_sample(struct rw_sample *s, unsigned i)
{
	memset(s, 0, sizeof(*s));
	s->cgroup_id = 100 + i % 64;
	s->time_ns = 1700000000000000000ull + (uint64_t)(i / 64) * 1000000000ull;
	s->interval_us = 1000000;
	s->sources = RW_SRC_BIT(RW_SRC_CGROUP) | RW_SRC_BIT(RW_SRC_FPPROBE) | RW_SRC_BIT(RW_SRC_INDICATORS) |
		     RW_SRC_BIT(RW_SRC_PMU);
	s->cg.have = RW_CGS_CPU | RW_CGS_THROTTLE | RW_CGS_MEMORY | RW_CGS_MEMSTAT;
	s->cpu_usec = 200000 + (i * 7919) % 1800000;
	s->cg.memory_current = (uint64_t)(i % 5) << 29;
	s->cg.anon = 1000;
	s->cg.anon_thp = i % 3 ? 0 : 500;
	s->counters_present = 0x1ff;
	s->counters[RW_CTR_INSTRUCTIONS] = 2000000000ull + i;
	s->counters[RW_CTR_CYCLES] = 1500000000ull;
	s->counters[RW_CTR_LLC_MISSES] = (i % 7) * 1000000ull;
	s->counters[RW_CTR_BRANCH_MISSES] = (i % 11) * 1000000ull;
	s->counters[RW_CTR_FP_128_PACKED_DOUBLE] = (i % 2) ? 400000000ull : 1000ull;
	s->counters[RW_CTR_CRYPTO] = (i % 3) * 30000000ull;
	s->fp.probes = 4;
	s->fp.modes_union = (uint8_t)(i % 2 ? 0xf : 0x1);
	s->fp.max_thread_modes = (uint8_t)(i % 2 ? 4 : 1);
	s->fp.max_thread_nondefault = (uint8_t)(i % 2 ? 3 : 0);
	s->ind.matches = (uint16_t)(i % 13 == 0);
}

int main(int argc, char **argv)
{
	/* model N [eval|eval-nopmu|score]: one run of one part only, for callgrind. eval-nopmu: the samples of a host
	 * without hardware counters (most VMs), where the pmu source is absent. */
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 1000000, runs = argc > 2 ? 1 : 7;
	int nopmu = argc > 2 && !strcmp(argv[2], "eval-nopmu");
	int do_eval = argc < 3 || !strcmp(argv[2], "eval") || nopmu, do_score = argc < 3 || !strcmp(argv[2], "score");
	enum { MIX = 256 };
	static struct rw_sample samples[MIX];
	static struct rw_features feats[MIX];
	struct rw_features_state st;
	struct rw_model model;
	struct rw_config cfg;
	struct rw_model_output out;
	char err[512];
	double t_eval[7], t_score[7];
	int64_t sink = 0;

	if (rw_model_load(&model, "models/rigwatch.model", err, sizeof(err)) < 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	rw_config_defaults(&cfg);
	rw_features_state_init(&st);
	for (unsigned i = 0; i < MIX; i++) {
		make_sample(&samples[i], i);
		if (nopmu) {
			samples[i].sources &= ~RW_SRC_BIT(RW_SRC_PMU);
			samples[i].counters_present = 0;
		}
		rw_features_compute(&st, &samples[i], &feats[i]);
	}
	for (unsigned r = 0; r < runs; r++) {
		uint64_t t0 = now_ns();
		for (unsigned i = 0; do_eval && i < n; i++) {
			rw_model_eval(&model, &feats[i % MIX], &out);
			sink += out.p_q16;
		}
		uint64_t t1 = now_ns();
		struct rw_scorer sc;
		struct rw_sample s;
		rw_scorer_init(&sc, &cfg, &model);
		uint64_t t2 = now_ns(), tw = 0;
		for (unsigned i = 0; do_score && i < n; i++) {
			uint64_t a = now_ns();
			make_sample(&s, i);
			tw += now_ns() - a;
			sink += rw_scorer_score(&sc, &s, NULL, NULL) == 0;
		}
		uint64_t t3 = now_ns();
		rw_scorer_free(&sc);
		t_eval[r] = (double)(t1 - t0) / n;
		t_score[r] = (double)(t3 - t2 - tw) / n;
	}
	qsort(t_eval, runs, sizeof(double), cmp);
	qsort(t_score, runs, sizeof(double), cmp);
	printf("model: %u calls x %u runs: rw_model_eval median %.1f ns/score; rw_scorer_score (features + model + "
	       "verdict + reasons, sample building excluded, approx.) median %.1f ns/sample (checksum %lld)\n",
	       n, runs, t_eval[runs / 2], t_score[runs / 2], (long long)sink);
	return 0;
}
