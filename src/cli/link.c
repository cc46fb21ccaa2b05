/*
 * src/cli/link.c -- a stack on a TUN device as `tapir run`, `tapir nc` and
 * tapird set it up: their shared options (device, addresses, routes, log
 * level, counters file, capture, impaired link, control socket), and the
 * setup of the capture, the impaired link and the control socket.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "linux/clock.h"
#include "linux/log.h"

void
tp_cli_link_defaults(struct tp_cli_link *l, enum tapir_log_level level)
{
    memset(l, 0, sizeof(*l));
    l->dev.mtu = 1500;
    l->level = level;
    tp_impair_spec_default(&l->impair);
}

static void
add_route(struct tp_cli_dev *d, const char *arg)
{
    if (d->n_routes == TP_CLI_MAX_ROUTES)
        tp_cli_usage_fail("--route: at most %d routes", TP_CLI_MAX_ROUTES);
    tp_cli_cidr("--route", arg, &d->route_dst[d->n_routes], &d->route_len[d->n_routes]);
    d->n_routes++;
}

static const char *
file_name(const char *flag, const char *arg)
{
    if (arg[0] == '\0')
        tp_cli_usage_fail("%s: empty file name", flag);
    return arg;
}

/* The options about the device and its address. */
static bool
dev_opt(struct tp_cli_link *l, int c, const char *arg)
{
    struct tp_cli_dev *d = &l->dev;

    switch (c) {
    case TP_CLI_OPT_ADDR:
        d->addr = tp_cli_ipv4("--addr", arg);
        l->has_addr = true;
        return true;
    case TP_CLI_OPT_DEV:
        d->name = tp_cli_ifname("--dev", arg);
        return true;
    case TP_CLI_OPT_MTU:
        d->mtu = (uint16_t)tp_cli_uint("--mtu", arg, 68, 65535);
        return true;
    case TP_CLI_OPT_PEER:
        d->peer = tp_cli_ipv4("--peer", arg);
        l->has_peer = true;
        return true;
    case TP_CLI_OPT_PREFIX:
        d->prefix_len = (uint8_t)tp_cli_uint("--prefix", arg, 1, 30);
        d->has_prefix = true;
        return true;
    case TP_CLI_OPT_ROUTE:
        add_route(d, arg);
        return true;
    default:
        return false;
    }
}

bool
tp_cli_link_opt(struct tp_cli_link *l, int c, const char *arg)
{
    char e[160];

    if (dev_opt(l, c, arg))
        return true;
    switch (c) {
    case TP_CLI_OPT_LOG_LEVEL:
        l->level = tp_cli_log_level("--log-level", arg);
        return true;
    case TP_CLI_OPT_NETNS_NEW:
        l->netns_new = true;
        return true;
    case TP_CLI_OPT_STATS:
        l->stats_path = file_name("--stats-on-exit", arg);
        return true;
    case TP_CLI_OPT_PCAP:
        l->pcap_path = file_name("--pcap", arg);
        return true;
    case TP_CLI_OPT_IMPAIR:
        if (tp_impair_parse(arg, &l->impair, e, sizeof(e)) != 0)
            tp_cli_usage_fail("--impair: %s", e);
        l->has_impair = true;
        return true;
    case TP_CLI_OPT_CTL:
        if (arg[0] == '\0')
            tp_cli_usage_fail("--ctl: empty path");
        if (strlen(arg) >= 108)
            tp_cli_usage_fail("--ctl: '%s' is too long for a socket path (107 bytes)", arg);
        l->ctl_path = arg;
        return true;
    case TP_CLI_OPT_NO_CTL:
        l->no_ctl = true;
        return true;
    default:
        return false;
    }
}

int
tp_cli_link_pcap(const struct tp_cli_link *l, struct tp_pcap **pc)
{
    int err;

    *pc = NULL;
    if (l->pcap_path == NULL)
        return 0;
    if ((err = tp_pcap_open(l->pcap_path, 0, tp_clock_now(), pc)) != 0) {
        tp_cli_error("--pcap %s: %s", l->pcap_path, strerror(-err));
        return err;
    }
    return 0;
}

int
tp_cli_link_impair(const struct tp_cli_link *l, struct tp_rt *rt, uint16_t mtu)
{
    struct tp_impair_spec spec = l->impair;
    struct tp_impair *imp;
    char text[200];
    int err;

    if (!l->has_impair)
        return 0;
    if (!spec.has_seed) {
        if (getrandom(&spec.seed, sizeof(spec.seed), 0) != (ssize_t)sizeof(spec.seed))
            spec.seed = (uint64_t)tp_clock_now().us;
        spec.has_seed = true;
    }
    tp_impair_format(&spec, text, sizeof(text));
    if ((err = tp_impair_new(&spec, mtu, &imp)) != 0 || (err = tp_rt_set_impair(rt, imp)) != 0) {
        tp_cli_error("--impair: cannot create the impaired link: %s", strerror(-err));
        return err;
    }
    tp_info("impair: %s", text);
    return 0;
}

int
tp_cli_link_ctl(const struct tp_cli_link *l, struct tp_rt *rt, const char *dev_name,
    tp_ctl_fn *fn, void *ctx, struct tp_ctl **out)
{
    char path[108];
    int err;

    *out = NULL;
    if (l->no_ctl)
        return 0;
    if (l->ctl_path != NULL) {
        snprintf(path, sizeof(path), "%s", l->ctl_path);
    } else {
        if (mkdir(TP_CTL_DIR, 0700) != 0 && errno != EEXIST) {
            int e = errno;          /* the message may change errno */

            tp_cli_error("--ctl: cannot create %s: %s (use --ctl PATH or --no-ctl)",
                TP_CTL_DIR, strerror(e));
            return -e;
        }
        snprintf(path, sizeof(path), "%s/%s.ctl", TP_CTL_DIR, dev_name);
    }
    if ((err = tp_ctl_open(rt, path, fn, ctx, out)) != 0) {
        /* The default path is per device name, and the same name may be in
         * use in another network namespace: serve on without a socket. */
        if (err == -EADDRINUSE && l->ctl_path == NULL) {
            tp_warn("control socket: a stack already answers at %s; this one has none "
                "(give it one with --ctl PATH)", path);
            return 0;
        }
        if (err == -EADDRINUSE)
            tp_cli_error("--ctl: a stack is already running at %s", path);
        else
            tp_cli_error("--ctl: cannot listen at %s: %s", path, strerror(-err));
        return err;
    }
    tp_info("control socket: %s (tapir status --ctl %s)", path, path);
    return 0;
}
