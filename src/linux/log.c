/*
 * src/linux/log.c -- the log sink of the runtime, the CLI and the stack.
 *
 * Called by everything outside the core, and by the core through the
 * tapir_log_fn it is configured with (tp_log_stack).  Writes to stderr only;
 * wall-clock time of day is printed because people read these lines next to
 * other programs' logs.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "linux/log.h"

/* The one piece of process-wide state outside the stack: a threshold read
 * by every thread, hence atomic. */
static _Atomic int log_threshold = TAPIR_LOG_INFO;

static const char *const level_names[] = {
    [TAPIR_LOG_ERROR] = "error",
    [TAPIR_LOG_WARN] = "warn",
    [TAPIR_LOG_INFO] = "info",
    [TAPIR_LOG_DEBUG] = "debug",
    [TAPIR_LOG_TRACE] = "trace",
};

/* Upper case in the line itself, so levels stand out when scanning. */
static const char *const level_tags[] = {
    [TAPIR_LOG_ERROR] = "ERROR",
    [TAPIR_LOG_WARN] = "WARN ",
    [TAPIR_LOG_INFO] = "INFO ",
    [TAPIR_LOG_DEBUG] = "DEBUG",
    [TAPIR_LOG_TRACE] = "TRACE",
};

#define N_LEVELS (sizeof(level_names) / sizeof(level_names[0]))

void
tp_log_set_level(enum tapir_log_level level)
{
    atomic_store_explicit(&log_threshold, (int)level, memory_order_relaxed);
}

enum tapir_log_level
tp_log_level(void)
{
    return (enum tapir_log_level)atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

const char *
tp_log_level_name(enum tapir_log_level level)
{
    return (size_t)level < N_LEVELS ? level_names[level] : "?";
}

int
tp_log_level_parse(const char *s, enum tapir_log_level *out)
{
    for (size_t i = 0; i < N_LEVELS; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum tapir_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

static bool
is_enabled(enum tapir_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

/* Format the whole line first, then one write(2): lines stay whole. */
__attribute__((format(printf, 3, 0))) static void
emit_line(enum tapir_log_level level, const char *prefix, const char *fmt, va_list ap)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int k;

    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    k = snprintf(line, sizeof(line), "%s %02d:%02d:%02d.%06ld %s",
        (size_t)level < N_LEVELS ? level_tags[level] : "?????", tm.tm_hour, tm.tm_min,
        tm.tm_sec, ts.tv_nsec / 1000, prefix);
    n = k < 0 ? 0 : (size_t)k;
    if (n < sizeof(line)) {
        k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        n += k < 0 ? 0 : (size_t)k;
    }
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;          /* cut a long line, keep its newline */
    line[n++] = '\n';
    /* A failed log write has nowhere to be reported. */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}

void
tp_log_vemit(enum tapir_log_level level, const char *fmt, va_list ap)
{
    if (is_enabled(level))
        emit_line(level, "", fmt, ap);
}

void
tp_log_emit(enum tapir_log_level level, const char *fmt, ...)
{
    va_list ap;

    if (!is_enabled(level))
        return;
    va_start(ap, fmt);
    emit_line(level, "", fmt, ap);
    va_end(ap);
}

void
tp_log_stack(void *ctx, enum tapir_log_level level, const char *fmt, va_list ap)
{
    (void)ctx;
    if (is_enabled(level))
        emit_line(level, "stack: ", fmt, ap);
}
