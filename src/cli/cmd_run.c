/*
 * src/cli/cmd_run.c -- `tapir run`: serve one stack on a TUN device until
 * SIGINT or SIGTERM, then remove what was created and print the counters.
 *
 * Calls device.c to set the device up, the runtime (src/linux/loop.c) to
 * serve, counters.c to report.  The kernel's end of the device gets --peer;
 * the stack answers at --addr.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "linux/log.h"

struct run_opts {
    struct tp_cli_dev dev;
    bool has_addr, has_peer;
    bool netns_new;
    const char *stats_path;
    enum tapir_log_level level;
};

enum {
    OPT_ADDR = 'a',
    OPT_DEV = 'd',
    OPT_HELP = 'h',
    OPT_MTU = 'm',
    OPT_PEER = 'p',
    OPT_PREFIX = 'P',
    OPT_ROUTE = 'r',
    OPT_LOG_LEVEL = 256,
    OPT_NETNS_NEW,
    OPT_STATS,
};

static const struct option run_longopts[] = {
    { "addr", required_argument, NULL, OPT_ADDR },
    { "dev", required_argument, NULL, OPT_DEV },
    { "help", no_argument, NULL, OPT_HELP },
    { "mtu", required_argument, NULL, OPT_MTU },
    { "peer", required_argument, NULL, OPT_PEER },
    { "prefix", required_argument, NULL, OPT_PREFIX },
    { "route", required_argument, NULL, OPT_ROUTE },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "netns-new", no_argument, NULL, OPT_NETNS_NEW },
    { "stats-on-exit", required_argument, NULL, OPT_STATS },
    { NULL, 0, NULL, 0 },
};

static void
add_route(struct run_opts *o, const char *arg)
{
    struct tp_cli_dev *d = &o->dev;

    if (d->n_routes == TP_CLI_MAX_ROUTES)
        tp_cli_usage_fail("--route: at most %d routes", TP_CLI_MAX_ROUTES);
    tp_cli_cidr("--route", arg, &d->route_dst[d->n_routes], &d->route_len[d->n_routes]);
    d->n_routes++;
}

static void
check_opts(const struct run_opts *o)
{
    const struct tp_cli_dev *d = &o->dev;
    uint32_t mask;

    if (!o->has_addr)
        tp_cli_usage_fail("run: --addr is required (the stack's address)");
    if (!o->has_peer)
        tp_cli_usage_fail("run: --peer is required (the kernel's address on the device)");
    if (d->addr == d->peer)
        tp_cli_usage_fail("--peer: must differ from --addr");
    if (!d->has_prefix)
        return;
    mask = d->prefix_len == 0 ? 0 : 0xffffffffu << (32 - d->prefix_len);
    if (((d->addr ^ d->peer) & mask) != 0)
        tp_cli_usage_fail("--prefix: --addr and --peer are not in one /%u network",
            d->prefix_len);
}

static void
parse(int argc, char **argv, struct run_opts *o)
{
    int c;

    memset(o, 0, sizeof(*o));
    o->dev.mtu = 1500;
    o->level = TAPIR_LOG_INFO;
    tp_cli_getopt_reset();
    while ((c = tp_cli_getopt(argc, argv, ":a:d:hm:p:P:r:", run_longopts)) != -1) {
        switch (c) {
        case OPT_ADDR:
            o->dev.addr = tp_cli_ipv4("--addr", optarg);
            o->has_addr = true;
            break;
        case OPT_DEV:
            o->dev.name = tp_cli_ifname("--dev", optarg);
            break;
        case OPT_HELP:
            tp_cli_print_help("run");
            exit(TP_EXIT_OK);
        case OPT_MTU:
            o->dev.mtu = (uint16_t)tp_cli_uint("--mtu", optarg, 68, 65535);
            break;
        case OPT_PEER:
            o->dev.peer = tp_cli_ipv4("--peer", optarg);
            o->has_peer = true;
            break;
        case OPT_PREFIX:
            o->dev.prefix_len = (uint8_t)tp_cli_uint("--prefix", optarg, 1, 30);
            o->dev.has_prefix = true;
            break;
        case OPT_ROUTE:
            add_route(o, optarg);
            break;
        case OPT_LOG_LEVEL:
            o->level = tp_cli_log_level("--log-level", optarg);
            break;
        case OPT_NETNS_NEW:
            o->netns_new = true;
            break;
        case OPT_STATS:
            if (optarg[0] == '\0')
                tp_cli_usage_fail("--stats-on-exit: empty file name");
            o->stats_path = optarg;
            break;
        default:
            tp_cli_usage_fail("run: unexpected option");
        }
    }
    tp_cli_no_operands("run", argc, argv);
    check_opts(o);
}

static void
log_ready(const struct run_opts *o, const struct tp_tun *tun, uint8_t stack_prefix)
{
    char a[16], p[16];

    tapir_ipv4_str(o->dev.addr, a);
    tapir_ipv4_str(o->dev.peer, p);
    if (o->dev.has_prefix)
        tp_info("ready: stack %s/%u on %s, kernel %s/%u, mtu %u", a, stack_prefix, tun->name,
            p, o->dev.prefix_len, o->dev.mtu);
    else
        tp_info("ready: stack %s/%u on %s, kernel %s peer %s, mtu %u", a, stack_prefix,
            tun->name, p, a, o->dev.mtu);
    if (o->netns_new)
        tp_info("in a new network namespace: nsenter --net=/proc/%d/ns/net ping %s",
            (int)getpid(), a);
    tp_info("stop with SIGINT or SIGTERM; SIGUSR1 logs the counters");
}

/* Serve until stopped; the device is up.  Returns the exit status. */
static int
serve(const struct run_opts *o, struct tp_tun *tun, struct tp_nl *nl)
{
    struct tapir_config cfg;
    struct tp_rt *rt;
    int err, status = TP_EXIT_OK;

    tp_cli_stack_config(&o->dev, &cfg);
    if ((err = tp_rt_new(&cfg, tun, &rt)) != 0) {
        tp_cli_error("cannot start the stack: %s", strerror(-err));
        tp_cli_dev_down(tun, nl);
        return TP_EXIT_FAIL;
    }
    log_ready(o, tun, cfg.prefix_len);
    if ((err = tp_rt_run(rt)) != 0) {
        tp_cli_error("run: stopped on an error: %s", strerror(-err));
        status = TP_EXIT_FAIL;
    }
    /* Stopping already: a second SIGTERM (timeout(1) signals both the child
     * and its process group) or Ctrl-C must not cut the cleanup and the
     * report short once tp_rt_free() unblocks them.  SIG_IGN also discards
     * one that is pending. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    if (tp_cli_dev_down(tun, nl) != 0)
        status = TP_EXIT_FAIL;
    tp_cli_print_counters(stdout, rt, "");
    if (o->stats_path != NULL && tp_cli_write_counters(o->stats_path, rt) != 0)
        status = TP_EXIT_FAIL;
    tp_rt_free(rt);
    return status;
}

int
tp_cmd_run(int argc, char **argv)
{
    struct run_opts o;
    struct tp_tun tun;
    struct tp_nl nl;

    parse(argc, argv, &o);
    tp_log_set_level(o.level);
    if (o.netns_new && tp_cli_netns_new() != 0)
        return TP_EXIT_FAIL;
    if (tp_cli_dev_up(&o.dev, &tun, &nl) != 0)
        return TP_EXIT_FAIL;
    return serve(&o, &tun, &nl);
}
