/* Stochastic rounding as numerical-verification tools do it (CADNA-style random rounding): every floating-point
 * operation of the computation runs in a rounding mode drawn at random, upward or downward (with -4: any of the
 * four modes, the harder case for a detector, since that is what RandomX's CFROUND looks like). The computation is
 * a dot product and a recurrence, run several times to estimate the number of exact significant digits, as such a
 * tool reports. Runs on argv[2] threads (default 1) for argv[1] seconds (default: forever). */
#include <fenv.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const int modes4[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
static int all_four;
static double secs;

/* xorshift64*: the per-operation coin, as cheap as the instrumentation must be */
static inline uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static inline void random_mode(uint64_t *s)
{
	uint64_t r = next(s) >> 40;
	fesetround(all_four ? modes4[r & 3] : (r & 1) ? FE_UPWARD : FE_DOWNWARD);
}

/* a + b and a * b, each in a random rounding mode */
static inline double radd(uint64_t *s, double a, double b)
{
	random_mode(s);
	volatile double r = a + b;
	return r;
}

static inline double rmul(uint64_t *s, double a, double b)
{
	random_mode(s);
	volatile double r = a * b;
	return r;
}

static void *worker(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uintptr_t)arg;
	enum { N = 4096, SAMPLES = 3 };
	double *x = malloc(N * sizeof(double)), *y = malloc(N * sizeof(double));
	time_t end = time(NULL) + (time_t)secs;
	double digits = 0;
	for (int i = 0; i < N; i++) {
		x[i] = 1.0 / (i + 1);
		y[i] = (i & 1 ? -1.0 : 1.0) * (i + 1) / 3.0;
	}
	for (unsigned long round = 0;; round++) {
		double r[SAMPLES];
		for (int k = 0; k < SAMPLES; k++) {
			double acc = 0, u = 0.5;
			for (int i = 0; i < N; i++)
				acc = radd(&seed, acc, rmul(&seed, x[i], y[i]));
			for (int i = 0; i < 256; i++)  /* logistic recurrence: sensitive to rounding */
				u = rmul(&seed, 3.75, rmul(&seed, u, radd(&seed, 1.0, -u)));
			r[k] = acc + u;
		}
		fesetround(FE_TONEAREST);
		double mean = (r[0] + r[1] + r[2]) / 3, sd = 0;
		for (int k = 0; k < SAMPLES; k++)
			sd += (r[k] - mean) * (r[k] - mean);
		sd = sqrt(sd / 2);
		digits = sd > 0 ? log10(fabs(mean) / sd) : 15;
		if ((round & 63) == 0 && secs > 0 && time(NULL) >= end)
			break;
	}
	free(x);
	free(y);
	printf("exact significant digits: %.1f\n", digits);
	return NULL;
}

int main(int argc, char **argv)
{
	int a = 1;
	if (a < argc && !strcmp(argv[a], "-4")) {
		all_four = 1;
		a++;
	}
	secs = a < argc ? atof(argv[a]) : 0;
	int threads = a + 1 < argc ? atoi(argv[a + 1]) : 1;
	if (threads < 1 || threads > 64)
		threads = 1;
	pthread_t t[64];
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}
