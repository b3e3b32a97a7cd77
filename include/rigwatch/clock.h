/* clock: the time in nanoseconds, one way for every module. CLOCK_MONOTONIC for intervals, deadlines and
 * durations; CLOCK_REALTIME only for timestamps a person or another machine reads. */
#ifndef RIGWATCH_CLOCK_H
#define RIGWATCH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t rw_clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t rw_mono_ns(void)
{
	return rw_clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t rw_real_ns(void)
{
	return rw_clock_ns(CLOCK_REALTIME);
}

#endif
