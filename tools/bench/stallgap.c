/* stallgap: a spinning thread that watches its own progress. It reads CLOCK_MONOTONIC in a tight loop for the
 * given seconds and counts the gaps between two consecutive reads longer than the threshold: the times it did not
 * run (preempted, stopped by a tracer, an interrupt). Side by side with and without an observer, the difference is
 * what the observer adds.
 *   stallgap SECONDS [THRESHOLD_US]      prints: gaps=N max_us=M gap_ms=T (total time in gaps) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: stallgap SECONDS [THRESHOLD_US]\n");
		return 2;
	}
	double secs = atof(argv[1]);
	unsigned long long thr = (unsigned long long)(argc > 2 ? atof(argv[2]) : 50) * 1000ull;
	unsigned long long start = now_ns(), end = start + (unsigned long long)(secs * 1e9), prev = start, gaps = 0,
			   maxgap = 0, total = 0;
	for (;;) {
		unsigned long long t = now_ns(), d = t - prev;
		if (d > thr) {
			gaps++;
			total += d;
			if (d > maxgap)
				maxgap = d;
		}
		prev = t;
		if (t >= end)
			break;
	}
	printf("gaps=%llu max_us=%llu gap_ms=%llu\n", gaps, maxgap / 1000, total / 1000000);
	return 0;
}
