/*
 * src/linux/log.h -- log lines for the runtime, the CLI and the stack.
 *
 * One process-wide threshold and one sink (stderr).  Each line is
 * "LEVEL HH:MM:SS.uuuuuu message", written with a single write(2) so lines
 * from several threads or processes sharing stderr do not interleave.
 */
#ifndef TP_LINUX_LOG_H
#define TP_LINUX_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "tapir/stack.h"

/* Lines above this level are dropped before formatting.  Default: INFO.
 * Call before starting threads; reading it is then race-free. */
void tp_log_set_level(enum tapir_log_level level);
enum tapir_log_level tp_log_level(void);

/* "error", "warn", "info", "debug", "trace"; never NULL. */
const char *tp_log_level_name(enum tapir_log_level level);

/* Parse a level name (as above, case-sensitive); returns 0 and *out, or
 * -EINVAL. */
int tp_log_level_parse(const char *s, enum tapir_log_level *out);

/* Format and write one line at level.  fmt follows printf; no newline. */
void tp_log_emit(enum tapir_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tp_log_vemit(enum tapir_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define tp_err(...)   tp_log_emit(TAPIR_LOG_ERROR, __VA_ARGS__)
#define tp_warn(...)  tp_log_emit(TAPIR_LOG_WARN, __VA_ARGS__)
#define tp_info(...)  tp_log_emit(TAPIR_LOG_INFO, __VA_ARGS__)
#define tp_debug(...) tp_log_emit(TAPIR_LOG_DEBUG, __VA_ARGS__)
#define tp_trace(...) tp_log_emit(TAPIR_LOG_TRACE, __VA_ARGS__)

/*
 * A tapir_log_fn for struct tapir_config.log: the stack's lines go to the
 * same sink with a "stack: " prefix.  ctx is unused (pass NULL).  Called
 * from inside tapir_stack_input()/poll(); it never calls into the stack.
 */
void tp_log_stack(void *ctx, enum tapir_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
