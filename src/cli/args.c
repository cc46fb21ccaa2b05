/*
 * src/cli/args.c -- argument parsing for every tapir subcommand.
 *
 * Called by the cmd_*.c files.  Each bad argument ends the program with one
 * line on stderr that names the option and what is wrong with its value,
 * and exit status 2, so scripts and people get the same clear answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "linux/log.h"

__attribute__((format(printf, 1, 0))) static void
vline(const char *fmt, va_list ap)
{
    char line[512];

    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "tapir: %s\n", line);
}

void
tp_cli_usage_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vline(fmt, ap);
    va_end(ap);
    exit(TP_EXIT_USAGE);
}

void
tp_cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vline(fmt, ap);
    va_end(ap);
}

void
tp_cli_getopt_reset(void)
{
    optind = 0;                         /* glibc: 0 also resets its internal state */
    opterr = 0;                         /* we print our own one-line errors */
}

/* The option as typed, without an "=value" part. */
static void
typed_option(const char *arg, char *out, size_t cap)
{
    size_t n = strcspn(arg, "=");

    if (n >= cap)
        n = cap - 1;
    memcpy(out, arg, n);
    out[n] = '\0';
}

int
tp_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    char typed[64];
    int c = getopt_long(argc, argv, shortopts, longopts, NULL);

    if (c != ':' && c != '?')
        return c;
    /* optind has moved past the offending word, unless it was a short
     * option inside a cluster ("-xv"); optopt names those. */
    if (optind > 0 && optind <= argc && strncmp(argv[optind - 1], "--", 2) == 0)
        typed_option(argv[optind - 1], typed, sizeof(typed));
    else
        snprintf(typed, sizeof(typed), "-%c", optopt);
    if (c == ':')
        tp_cli_usage_fail("%s: missing value", typed);
    tp_cli_usage_fail("%s: unknown option (see 'tapir help %s')", typed, argv[0]);
}

void
tp_cli_no_operands(const char *cmd, int argc, char **argv)
{
    if (optind < argc)
        tp_cli_usage_fail("%s: unexpected argument '%s'", cmd, argv[optind]);
}

uint32_t
tp_cli_ipv4(const char *flag, const char *arg)
{
    uint32_t a;

    if (tapir_ipv4_parse(arg, &a) != 0)
        tp_cli_usage_fail("%s: '%s' is not an IPv4 address", flag, arg);
    if (a == 0 || a == 0xffffffffu || (a >> 28) == 0xe || (a >> 24) == 127)
        tp_cli_usage_fail("%s: '%s' is not a unicast address a host can use", flag, arg);
    return a;
}

unsigned long
tp_cli_uint(const char *flag, const char *arg, unsigned long lo, unsigned long hi)
{
    unsigned long v;
    char *end;

    errno = 0;
    if (arg[0] < '0' || arg[0] > '9')
        tp_cli_usage_fail("%s: '%s' is not a number", flag, arg);
    v = strtoul(arg, &end, 10);
    if (*end != '\0')
        tp_cli_usage_fail("%s: '%s' is not a number", flag, arg);
    if (errno == ERANGE || v < lo || v > hi)
        tp_cli_usage_fail("%s: '%s' is out of range (%lu..%lu)", flag, arg, lo, hi);
    return v;
}

void
tp_cli_cidr(const char *flag, const char *arg, uint32_t *addr, uint8_t *prefix_len)
{
    char buf[32];
    const char *slash = strchr(arg, '/');
    size_t n = slash != NULL ? (size_t)(slash - arg) : 0;
    unsigned long len;
    char *end;

    if (slash == NULL || n >= sizeof(buf) || slash[1] < '0' || slash[1] > '9')
        tp_cli_usage_fail("%s: '%s' is not ADDRESS/PREFIX (like 10.1.0.0/16)", flag, arg);
    memcpy(buf, arg, n);
    buf[n] = '\0';
    len = strtoul(slash + 1, &end, 10);
    if (*end != '\0' || len > 32 || tapir_ipv4_parse(buf, addr) != 0)
        tp_cli_usage_fail("%s: '%s' is not ADDRESS/PREFIX (like 10.1.0.0/16)", flag, arg);
    *prefix_len = (uint8_t)len;
    if (len < 32 && (*addr & (0xffffffffu >> len)) != 0)
        tp_cli_usage_fail("%s: '%s' has host bits set", flag, arg);
}

enum tapir_log_level
tp_cli_log_level(const char *flag, const char *arg)
{
    enum tapir_log_level l;

    if (tp_log_level_parse(arg, &l) != 0)
        tp_cli_usage_fail("%s: '%s' is not a log level (error, warn, info, debug, trace)",
            flag, arg);
    return l;
}

const char *
tp_cli_ifname(const char *flag, const char *arg)
{
    if (arg[0] == '\0' || strlen(arg) >= IFNAMSIZ)
        tp_cli_usage_fail("%s: '%s' is not an interface name (1 to %d characters)", flag,
            arg, IFNAMSIZ - 1);
    for (const char *p = arg; *p != '\0'; p++) {
        if (*p == '/' || *p == ':' || *p == ' ' || *p == '\t' || *p == '\n')
            tp_cli_usage_fail("%s: '%s' is not an interface name (no '/', ':' or "
                "blanks)", flag, arg);
    }
    if (strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0)
        tp_cli_usage_fail("%s: '%s' is not an interface name", flag, arg);
    return arg;
}
