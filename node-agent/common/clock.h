/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monotonic clock, for deadlines, timeouts and durations (never for wall-clock times):
 * CLOCK_MONOTONIC does not jump when the system time is set. Signed, so that "deadline - now"
 * and "-1: no deadline" need no casts.
 */
#ifndef KB_CLOCK_H
#define KB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_mono_us(void)
{
	return clock_mono_ns() / 1000;
}

static inline int64_t clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000;
}

#endif
