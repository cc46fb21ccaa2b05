/*
 * tapir/time.h -- instants and durations.
 *
 * The core never reads a clock: every call that needs the time is given it.
 * An instant and a duration are different types so the compiler refuses a
 * mix-up.  Both count microseconds.
 */
#ifndef TAPIR_TIME_H
#define TAPIR_TIME_H

#include <stdint.h>

struct tapir_time { int64_t us; };  /* an instant on the caller's monotonic clock */
struct tapir_dur  { int64_t us; };  /* the span between two instants */

#define TAPIR_TIME_NEVER ((struct tapir_time){ INT64_MAX })
#define TAPIR_US(n)      ((struct tapir_dur){ (int64_t)(n) })
#define TAPIR_MS(n)      ((struct tapir_dur){ (int64_t)(n) * 1000 })
#define TAPIR_SEC(n)     ((struct tapir_dur){ (int64_t)(n) * 1000000 })

static inline struct tapir_time
tapir_time_add(struct tapir_time t, struct tapir_dur d)
{
    if (t.us == INT64_MAX || d.us >= INT64_MAX - t.us)
        return TAPIR_TIME_NEVER;
    return (struct tapir_time){ t.us + d.us };
}

static inline struct tapir_dur
tapir_time_sub(struct tapir_time a, struct tapir_time b)
{
    return (struct tapir_dur){ a.us - b.us };
}

static inline int
tapir_time_before(struct tapir_time a, struct tapir_time b)
{
    return a.us < b.us;
}

static inline struct tapir_time
tapir_time_min(struct tapir_time a, struct tapir_time b)
{
    return a.us <= b.us ? a : b;
}

#endif
