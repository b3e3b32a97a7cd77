/* Interval-arithmetic style (Boost.Interval, CGAL): switch to round-upward for the upper bounds, back to nearest
 * after. The fpprobe tests must see at most one non-default rounding mode here. Runs for argv[1] seconds (default
 * forever). */
#include <fenv.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0;
	volatile double lo = 1.0, hi = 1.0, k = 1.0000001;
	time_t end = time(NULL) + (time_t)secs;
	for (unsigned long i = 0;; i++) {
		fesetround(FE_UPWARD);
		for (int j = 0; j < 2000; j++)
			hi = hi * k + 1e-9;       /* upper bound rounded up */
		for (int j = 0; j < 2000; j++)
			lo = -(-lo * k - 1e-9);   /* lower bound: -(-x) rounded up = x rounded down */
		fesetround(FE_TONEAREST);
		for (int j = 0; j < 2000; j++)
			lo = lo * 0.9999999;
		if (hi > 1e300 || lo > 1e300)
			hi = lo = 1.0;
		if ((i & 0xff) == 0 && secs > 0 && time(NULL) >= end)
			break;
	}
	printf("%g %g\n", lo, hi);
	return 0;
}
