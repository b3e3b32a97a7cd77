/* A libm conformance run, as glibc's libm tests do it: every function is evaluated over a range of inputs in each
 * of the four rounding modes in turn (nearest, downward, upward, toward zero), and the results are checked against
 * the round-to-nearest value (within a few ulps, monotone in the mode for the correctly rounded functions). Full
 * speed, one thread; runs for argv[1] seconds (default: forever). */
#include <fenv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const int modes[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };

struct fn {
	const char *name;
	double (*f)(double);
	double lo, hi;
};

static double wrap_sqrt(double x) { return sqrt(x); }

static const struct fn fns[] = {
	{ "sin", sin, -10, 10 },   { "cos", cos, -10, 10 },      { "tan", tan, -1.5, 1.5 },
	{ "exp", exp, -50, 50 },   { "log", log, 1e-6, 1e6 },    { "atan", atan, -100, 100 },
	{ "tanh", tanh, -5, 5 },   { "erf", erf, -4, 4 },        { "cbrt", cbrt, -1e3, 1e3 },
	{ "sqrt", wrap_sqrt, 0, 1e6 }, { "log1p", log1p, -0.9, 10 }, { "expm1", expm1, -5, 5 },
};
#define NFNS (sizeof(fns) / sizeof(fns[0]))
#define NINPUTS 512

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0;
	time_t end = time(NULL) + (time_t)secs;
	static double ref[NINPUTS];
	unsigned long checked = 0, outside = 0;
	for (unsigned long pass = 0;; pass++) {
		for (unsigned i = 0; i < NFNS; i++) {
			const struct fn *f = &fns[i];
			double step = (f->hi - f->lo) / NINPUTS;
			for (unsigned m = 0; m < 4; m++) {
				fesetround(modes[m]);
				for (unsigned k = 0; k < NINPUTS; k++) {
					volatile double x = f->lo + step * k + step * 0.3183 * (double)(pass % 7);
					double y = f->f(x);
					if (m == 0) {
						ref[k] = y;
						continue;
					}
					checked++;
					double tol = 4 * fabs(nextafter(ref[k], INFINITY) - ref[k]);
					if (fabs(y - ref[k]) > tol)
						outside++;
				}
			}
			fesetround(FE_TONEAREST);
		}
		if (secs > 0 && time(NULL) >= end)
			break;
	}
	printf("%lu checks, %lu outside 4 ulps\n", checked, outside);
	return 0;
}
