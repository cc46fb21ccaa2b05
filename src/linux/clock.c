/*
 * src/linux/clock.c -- CLOCK_MONOTONIC in the core's units.
 *
 * Called by the loop (once per wakeup, the time handed to the stack) and
 * by the CLI for step timings.  Monotonic because the stack's timers
 * (RFC 6298 RTO, TIME-WAIT) must not jump when the wall clock is set.
 */
#include "linux/clock.h"

struct tapir_time
tp_clock_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (struct tapir_time){ (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 };
}

struct timespec
tp_clock_to_timespec(struct tapir_time t)
{
    return (struct timespec){ .tv_sec = (time_t)(t.us / 1000000),
        .tv_nsec = (long)(t.us % 1000000) * 1000 };
}
