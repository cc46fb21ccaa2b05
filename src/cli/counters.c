/*
 * src/cli/counters.c -- print a runtime's counters (the stack's and the
 * runtime's own) for people and for scripts.
 *
 * Called by `tapir run` at exit and by `tapir demo` in its report.  The
 * stdout form is "name value description", one counter a line, so that
 * `awk '$1 == "IcmpOutEchoReps" {print $2}'` finds a value.
 */
#include <errno.h>
#include <string.h>

#include "cli/cli.h"

int
tp_cli_print_counters(FILE *f, const struct tp_rt *rt, const char *indent)
{
    struct tp_counter c;
    int n = 0;

    for (size_t i = 0; i < tp_rt_counters_count(); i++) {
        tp_rt_counter(rt, i, &c);
        if (c.value == 0)
            continue;
        fprintf(f, "%s%-26s %12llu  %s\n", indent, c.name, (unsigned long long)c.value, c.desc);
        n++;
    }
    fflush(f);
    return n;
}

int
tp_cli_write_counters(const char *path, const struct tp_rt *rt)
{
    struct tp_counter c;
    FILE *f = fopen(path, "we");
    int err = 0;

    if (f == NULL) {
        err = -errno;
        tp_cli_error("--stats-on-exit: cannot write '%s': %s", path, strerror(-err));
        return err;
    }
    for (size_t i = 0; i < tp_rt_counters_count(); i++) {
        tp_rt_counter(rt, i, &c);
        fprintf(f, "%s %llu\n", c.name, (unsigned long long)c.value);
    }
    err = ferror(f);
    if (fclose(f) != 0 || err != 0) {
        err = -EIO;
        tp_cli_error("--stats-on-exit: cannot write '%s'", path);
    }
    return err;
}

uint64_t
tp_cli_counter(const struct tp_rt *rt, const char *name)
{
    struct tp_counter c;

    for (size_t i = 0; i < tp_rt_counters_count(); i++) {
        tp_rt_counter(rt, i, &c);
        if (strcmp(c.name, name) == 0)
            return c.value;
    }
    return 0;
}
