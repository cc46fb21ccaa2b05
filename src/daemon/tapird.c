/*
 * src/daemon/tapird.c -- tapird: one stack on a TUN device, serving tapir
 * TCP sockets to programs (the preload shim, `tapir exec`) through the
 * bridge engine (src/api/engine.c) on a Unix control socket.
 *
 * Takes the flags of `tapir run` plus --socket PATH, and reuses the CLI's
 * argument parsers, device setup and counter report (src/cli/args.c,
 * device.c, counters.c), so both commands configure a device alike.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/engine.h"
#include "cli/cli.h"
#include "linux/clock.h"
#include "linux/ctl.h"
#include "linux/impair.h"
#include "linux/pcap.h"
#include "linux/log.h"

#define TAPIRD_DEFAULT_SOCKET "/run/tapir/tapird.sock"

struct tapird_opts {
    struct tp_cli_dev dev;
    bool has_addr, has_peer, netns_new;
    const char *socket_path;
    const char *stats_path;
    const char *pcap_path;
    const char *ctl_path;           /* NULL: TP_CTL_DIR/<dev>.ctl */
    bool no_ctl;
    bool has_impair;
    struct tp_impair_spec impair;
    enum tapir_log_level level;
    unsigned long max_socks;
};

enum {
    OPT_ADDR = 'a',
    OPT_DEV = 'd',
    OPT_HELP = 'h',
    OPT_MTU = 'm',
    OPT_PEER = 'p',
    OPT_PREFIX = 'P',
    OPT_ROUTE = 'r',
    OPT_SOCKET = 's',
    OPT_LOG_LEVEL = 256,
    OPT_NETNS_NEW,
    OPT_STATS,
    OPT_MAX_SOCKS,
    OPT_PCAP,
    OPT_IMPAIR,
    OPT_CTL,
    OPT_NO_CTL,
};

static const struct option tapird_longopts[] = {
    { "addr", required_argument, NULL, OPT_ADDR },
    { "dev", required_argument, NULL, OPT_DEV },
    { "help", no_argument, NULL, OPT_HELP },
    { "mtu", required_argument, NULL, OPT_MTU },
    { "peer", required_argument, NULL, OPT_PEER },
    { "prefix", required_argument, NULL, OPT_PREFIX },
    { "route", required_argument, NULL, OPT_ROUTE },
    { "socket", required_argument, NULL, OPT_SOCKET },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "netns-new", no_argument, NULL, OPT_NETNS_NEW },
    { "stats-on-exit", required_argument, NULL, OPT_STATS },
    { "max-sockets", required_argument, NULL, OPT_MAX_SOCKS },
    { "pcap", required_argument, NULL, OPT_PCAP },
    { "impair", required_argument, NULL, OPT_IMPAIR },
    { "ctl", required_argument, NULL, OPT_CTL },
    { "no-ctl", no_argument, NULL, OPT_NO_CTL },
    { NULL, 0, NULL, 0 },
};

static const char tapird_usage[] =
    "usage: tapird --addr A --peer B [--socket PATH] [--dev NAME] [--prefix N] [--mtu M]\n"
    "              [--route NET/N]... [--log-level L] [--netns-new] [--stats-on-exit FILE]\n"
    "              [--max-sockets N] [--pcap FILE] [--impair SPEC] [--ctl PATH | --no-ctl]\n"
    "  --socket PATH        control socket (default " TAPIRD_DEFAULT_SOCKET "); '@name'\n"
    "                       for the abstract namespace.  Root and tapird's own uid may\n"
    "                       connect; the file is mode 0660.\n"
    "  --max-sockets N      TCP sockets of the stack, 16..1048576 (default 4096)\n"
    "  --pcap FILE, --impair SPEC, --ctl PATH, --no-ctl: as for 'tapir run'\n"
    "                       ('tapir status --ctl PATH' lists the connections)\n"
    "  the other flags are those of 'tapir run' (see 'tapir help run').\n";

static void
check_opts(const struct tapird_opts *o)
{
    tp_cli_dev_check("tapird", &o->dev, o->has_addr, o->has_peer);
}

static void
parse_one(struct tapird_opts *o, int c)
{
    struct tp_cli_dev *d = &o->dev;

    switch (c) {
    case OPT_ADDR: d->addr = tp_cli_ipv4("--addr", optarg); o->has_addr = true; break;
    case OPT_DEV: d->name = tp_cli_ifname("--dev", optarg); break;
    case OPT_HELP: fputs(tapird_usage, stdout); exit(TP_EXIT_OK);
    case OPT_MTU: d->mtu = (uint16_t)tp_cli_uint("--mtu", optarg, 68, 65535); break;
    case OPT_PEER: d->peer = tp_cli_ipv4("--peer", optarg); o->has_peer = true; break;
    case OPT_PREFIX:
        d->prefix_len = (uint8_t)tp_cli_uint("--prefix", optarg, 1, 30);
        d->has_prefix = true;
        break;
    case OPT_ROUTE:
        if (d->n_routes == TP_CLI_MAX_ROUTES)
            tp_cli_usage_fail("--route: at most %d routes", TP_CLI_MAX_ROUTES);
        tp_cli_cidr("--route", optarg, &d->route_dst[d->n_routes], &d->route_len[d->n_routes]);
        d->n_routes++;
        break;
    case OPT_SOCKET:
        if (optarg[0] == '\0' || strlen(optarg) >= 100)
            tp_cli_usage_fail("--socket: '%s' is not a usable socket path", optarg);
        o->socket_path = optarg;
        break;
    case OPT_LOG_LEVEL: o->level = tp_cli_log_level("--log-level", optarg); break;
    case OPT_NETNS_NEW: o->netns_new = true; break;
    case OPT_STATS:
        if (optarg[0] == '\0')
            tp_cli_usage_fail("--stats-on-exit: empty file name");
        o->stats_path = optarg;
        break;
    case OPT_MAX_SOCKS: o->max_socks = tp_cli_uint("--max-sockets", optarg, 16, 1u << 20); break;
    case OPT_PCAP:
        if (optarg[0] == '\0')
            tp_cli_usage_fail("--pcap: empty file name");
        o->pcap_path = optarg;
        break;
    case OPT_CTL:
        if (optarg[0] == '\0' || strlen(optarg) >= 108)
            tp_cli_usage_fail("--ctl: '%s' is not a usable socket path", optarg);
        o->ctl_path = optarg;
        break;
    case OPT_NO_CTL: o->no_ctl = true; break;
    case OPT_IMPAIR: {
        char e[160];

        if (tp_impair_parse(optarg, &o->impair, e, sizeof(e)) != 0)
            tp_cli_usage_fail("--impair: %s", e);
        o->has_impair = true;
        break;
    }
    default: tp_cli_usage_fail("tapird: unexpected option");
    }
}

static void
parse(int argc, char **argv, struct tapird_opts *o)
{
    int c;

    memset(o, 0, sizeof(*o));
    o->dev.mtu = 1500;
    o->level = TAPIR_LOG_INFO;
    o->socket_path = TAPIRD_DEFAULT_SOCKET;
    o->max_socks = 4096;
    tp_impair_spec_default(&o->impair);
    tp_cli_getopt_reset();
    while ((c = tp_cli_getopt(argc, argv, ":a:d:hm:p:P:r:s:", tapird_longopts)) != -1)
        parse_one(o, c);
    tp_cli_no_operands("tapird", argc, argv);
    check_opts(o);
}

/* Make the socket's directory (mode 0755) if it is missing. */
static void
make_dir(const char *path)
{
    char dir[128];
    const char *slash = strrchr(path, '/');
    size_t n;

    if (path[0] == '@' || slash == NULL || slash == path)
        return;
    n = (size_t)(slash - path);
    if (n >= sizeof(dir))
        return;
    memcpy(dir, path, n);
    dir[n] = '\0';
    mkdir(dir, 0755);
}

/* Each tapir socket holds two fds here (our end, and briefly the program's). */
static void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* --pcap and --impair, as `tapir run` does them. */
static int
link_extras(const struct tapird_opts *o, struct tp_rt *rt)
{
    struct tp_impair_spec spec = o->impair;
    struct tp_impair *imp;
    struct tp_pcap *pc;
    char text[200];
    int err;

    if (o->pcap_path != NULL) {
        if ((err = tp_pcap_open(o->pcap_path, 0, tp_clock_now(), &pc)) != 0) {
            tp_cli_error("--pcap %s: %s", o->pcap_path, strerror(-err));
            return err;
        }
        tp_rt_set_pcap(rt, pc);
    }
    if (!o->has_impair)
        return 0;
    if (!spec.has_seed) {
        if (getrandom(&spec.seed, sizeof(spec.seed), 0) != (ssize_t)sizeof(spec.seed))
            spec.seed = (uint64_t)tp_clock_now().us;
        spec.has_seed = true;
    }
    tp_impair_format(&spec, text, sizeof(text));
    if ((err = tp_impair_new(&spec, o->dev.mtu, &imp)) != 0
        || (err = tp_rt_set_impair(rt, imp)) != 0) {
        tp_cli_error("--impair: cannot create the impaired link: %s", strerror(-err));
        return err;
    }
    tp_info("impair: %s", text);
    return 0;
}

struct tapird_ctx {
    struct tp_rt *rt;
    struct tp_engine *eng;
};

static void
print_engine_counters(FILE *f, const struct tp_engine *eng);

/* `tapir status` and `tapir stats` on the control socket. */
static int
on_ctl_request(void *ctx, const char *req, FILE *out)
{
    struct tapird_ctx *c = ctx;
    bool json = strstr(req, " json") != NULL;

    if (c->eng != NULL)
        tp_engine_sweep(c->eng);    /* no socket of an exited program listed */

    if (strncmp(req, "status", 6) == 0)
        return tp_cli_status(out, tp_rt_stack(c->rt), json);
    if (strncmp(req, "stats", 5) == 0) {
        if (json) {
            tp_cli_stats_json(out, c->rt, NULL);
            return 0;
        }
        if (c->eng != NULL)
            print_engine_counters(out, c->eng);
        tp_cli_print_all_counters(out, c->rt, NULL, "", strstr(req, " all") != NULL);
        return 0;
    }
    fprintf(out, "error: unknown request '%s'\n", req);
    return -EINVAL;
}

static int
ctl_start(const struct tapird_opts *o, const struct tp_tun *tun, struct tapird_ctx *c,
    struct tp_ctl **out)
{
    char path[128];
    int err;

    *out = NULL;
    if (o->no_ctl)
        return 0;
    if (o->ctl_path != NULL)
        snprintf(path, sizeof(path), "%s", o->ctl_path);
    else
        snprintf(path, sizeof(path), "%s/%s.ctl", TP_CTL_DIR, tun->name);
    make_dir(path);
    if ((err = tp_ctl_open(c->rt, path, on_ctl_request, c, out)) != 0) {
        tp_cli_error("--ctl: cannot listen at %s: %s (use --ctl PATH or --no-ctl)", path,
            strerror(-err));
        return err;
    }
    tp_info("control socket: %s (tapir status --ctl %s)", path, path);
    return 0;
}

static void
print_engine_counters(FILE *f, const struct tp_engine *eng)
{
    for (int i = 0; i < TP_ENGINE_STAT_N; i++) {
        uint64_t v = tp_engine_stat(eng, (enum tp_engine_stat)i);

        if (v != 0)
            fprintf(f, "%-26s %12llu\n", tp_engine_stat_name((enum tp_engine_stat)i),
                (unsigned long long)v);
    }
}

static int
serve(const struct tapird_opts *o, struct tp_tun *tun, struct tp_nl *nl)
{
    struct tapir_config cfg;
    struct tp_engine *eng = NULL;
    struct tp_ctl *ctl = NULL;
    struct tapird_ctx cctx;
    struct tp_rt *rt;
    int err, status = TP_EXIT_OK;

    tp_cli_stack_config(&o->dev, &cfg);
    cfg.tcp.max_socks = (uint32_t)o->max_socks;
    if ((err = tp_rt_new(&cfg, tun, &rt)) != 0) {
        tp_cli_error("cannot start the stack: %s", strerror(-err));
        tp_cli_dev_down(tun, nl);
        return TP_EXIT_FAIL;
    }
    if (link_extras(o, rt) != 0) {
        status = TP_EXIT_FAIL;
        goto out;
    }
    make_dir(o->socket_path);
    if ((err = tp_engine_new(rt, o->socket_path, geteuid(), &eng)) != 0) {
        tp_cli_error("--socket: cannot listen at %s: %s", o->socket_path, strerror(-err));
        status = TP_EXIT_FAIL;
        goto out;
    }
    cctx = (struct tapird_ctx){ .rt = rt, .eng = eng };
    if (ctl_start(o, tun, &cctx, &ctl) != 0) {
        status = TP_EXIT_FAIL;
        goto out;
    }
    {
        char a[16];

        tp_info("ready: stack %s/%u on %s, sockets at %s", tapir_ipv4_str(o->dev.addr, a),
            cfg.prefix_len, tun->name, o->socket_path);
    }
    if ((err = tp_rt_run(rt)) != 0) {
        tp_cli_error("the loop failed: %s", strerror(-err));
        status = TP_EXIT_FAIL;
    }
out:
    tp_ctl_close(ctl);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    if (eng != NULL) {
        tp_engine_sweep(eng);
        tp_info("sockets open at exit: %zu", tp_engine_nsocks(eng));
        print_engine_counters(stdout, eng);
    }
    tp_engine_free(eng);
    tapir_stack_poll(tp_rt_stack(rt), tp_clock_now());     /* send the resets */
    if (tp_cli_dev_down(tun, nl) != 0)
        status = TP_EXIT_FAIL;
    tp_cli_print_counters(stdout, rt, "");
    if (o->stats_path != NULL && tp_cli_write_counters(o->stats_path, rt) != 0)
        status = TP_EXIT_FAIL;
    tp_rt_free(rt);
    return status;
}

int
main(int argc, char **argv)
{
    struct tapird_opts o;
    struct tp_tun tun;
    struct tp_nl nl;

    parse(argc, argv, &o);
    tp_log_set_level(o.level);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (o.netns_new && tp_cli_netns_new() != 0)
        return TP_EXIT_FAIL;
    if (tp_cli_dev_up(&o.dev, &tun, &nl) != 0)
        return TP_EXIT_FAIL;
    return serve(&o, &tun, &nl);
}
