/*
 * src/linux/clock.h -- the runtime's clock: CLOCK_MONOTONIC as tapir_time.
 *
 * The same clock arms the loop's timerfd (TFD_TIMER_ABSTIME), so a deadline
 * the stack returns can be handed to the kernel unchanged.
 */
#ifndef TP_LINUX_CLOCK_H
#define TP_LINUX_CLOCK_H

#include <time.h>

#include "tapir/time.h"

/* Now, in microseconds of CLOCK_MONOTONIC.  Never fails on Linux. */
struct tapir_time tp_clock_now(void);

/* The instant t as a timespec of the same clock (for timerfd_settime). */
struct timespec tp_clock_to_timespec(struct tapir_time t);

#endif
