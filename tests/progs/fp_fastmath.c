/* A program built with -ffast-math: crtfastmath.o sets FTZ/DAZ at startup, the rounding mode stays nearest.
 * The fpprobe tests must see FTZ/DAZ here and no non-default rounding mode. Runs for argv[1] seconds (default
 * forever). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0, x = 1.0, y = 1e-300;
	time_t end = time(NULL) + (time_t)secs;
	for (unsigned long i = 0;; i++) {
		x = x * 1.0000001 + y;
		y = y * 0.5; /* goes denormal, then flushed */
		if (y == 0.0)
			y = 1e-300;
		if ((i & 0xfffff) == 0 && secs > 0 && time(NULL) >= end)
			break;
	}
	printf("%g\n", x);
	return 0;
}
