/*
 * src/daemon/tapird.c -- tapird: one stack on a TUN device, serving tapir
 * TCP sockets to programs (the preload shim, `tapir exec`) through the
 * bridge engine (src/api/engine.c) on a Unix control socket.
 *
 * Takes the flags of `tapir run` plus --socket PATH, and shares the CLI's
 * option table, parsers and setup of a stack on a TUN device (capture,
 * impaired link, control socket: src/cli/link.c), its device setup and
 * counter report (args.c, device.c, counters.c), so both commands
 * configure a device alike.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/engine.h"
#include "cli/cli.h"
#include "linux/clock.h"
#include "linux/ctl.h"
#include "linux/pcap.h"
#include "linux/log.h"

#define TAPIRD_DEFAULT_SOCKET "/run/tapir/tapird.sock"

struct tapird_opts {
    struct tp_cli_link link;        /* `tapir run`'s: device, capture, control socket, ... */
    const char *socket_path;
    unsigned long max_socks;
};

enum {
    OPT_SOCKET = 's',
    OPT_MAX_SOCKS = TP_CLI_OPT_LINK_END,
};

static const struct option tapird_longopts[] = {
    TP_CLI_LINK_LONGOPTS,
    { "socket", required_argument, NULL, OPT_SOCKET },
    { "max-sockets", required_argument, NULL, OPT_MAX_SOCKS },
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
parse_one(struct tapird_opts *o, int c)
{
    if (tp_cli_link_opt(&o->link, c, optarg))
        return;
    switch (c) {
    case TP_CLI_OPT_HELP: fputs(tapird_usage, stdout); exit(TP_EXIT_OK);
    case OPT_SOCKET:
        if (optarg[0] == '\0' || strlen(optarg) >= 100)
            tp_cli_usage_fail("--socket: '%s' is not a usable socket path", optarg);
        o->socket_path = optarg;
        break;
    case OPT_MAX_SOCKS: o->max_socks = tp_cli_uint("--max-sockets", optarg, 16, 1u << 20); break;
    default: tp_cli_usage_fail("tapird: unexpected option");
    }
}

static void
parse(int argc, char **argv, struct tapird_opts *o)
{
    int c;

    memset(o, 0, sizeof(*o));
    tp_cli_link_defaults(&o->link, TAPIR_LOG_INFO);
    o->socket_path = TAPIRD_DEFAULT_SOCKET;
    o->max_socks = 4096;
    tp_cli_getopt_reset();
    while ((c = tp_cli_getopt(argc, argv, ":" TP_CLI_LINK_SHORTOPTS "s:", tapird_longopts)) != -1)
        parse_one(o, c);
    tp_cli_no_operands("tapird", argc, argv);
    tp_cli_dev_check("tapird", &o->link.dev, o->link.has_addr, o->link.has_peer);
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

/* Serve until stopped; the device is up, pc (taken) is the capture or
 * NULL.  Returns the exit status. */
static int
serve(const struct tapird_opts *o, struct tp_tun *tun, struct tp_nl *nl, struct tp_pcap *pc)
{
    struct tapir_config cfg;
    struct tp_engine *eng = NULL;
    struct tp_ctl *ctl = NULL;
    struct tapird_ctx cctx;
    struct tp_rt *rt;
    int err, status = TP_EXIT_OK;

    tp_cli_stack_config(&o->link.dev, &cfg);
    cfg.tcp.max_socks = (uint32_t)o->max_socks;
    if ((err = tp_rt_new(&cfg, tun, &rt)) != 0) {
        tp_cli_error("cannot start the stack: %s", strerror(-err));
        (void)tp_pcap_close(pc);
        tp_cli_dev_down(tun, nl);
        return TP_EXIT_FAIL;
    }
    if (pc != NULL)
        tp_rt_set_pcap(rt, pc);
    if (tp_cli_link_impair(&o->link, rt, o->link.dev.mtu) != 0) {
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
    if (tp_cli_link_ctl(&o->link, rt, tun->name, on_ctl_request, &cctx, &ctl) != 0) {
        status = TP_EXIT_FAIL;
        goto out;
    }
    {
        char a[16];

        tp_info("ready: stack %s/%u on %s, sockets at %s", tapir_ipv4_str(o->link.dev.addr, a),
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
    if (o->link.stats_path != NULL && tp_cli_write_counters(o->link.stats_path, rt) != 0)
        status = TP_EXIT_FAIL;
    tp_rt_free(rt);
    return status;
}

int
main(int argc, char **argv)
{
    struct tapird_opts o;
    struct tp_pcap *pc;
    struct tp_tun tun;
    struct tp_nl nl;

    parse(argc, argv, &o);
    tp_log_set_level(o.link.level);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (tp_cli_link_pcap(&o.link, &pc) != 0)
        return TP_EXIT_FAIL;
    if ((o.link.netns_new && tp_cli_netns_new() != 0)
        || tp_cli_dev_up(&o.link.dev, &tun, &nl) != 0) {
        (void)tp_pcap_close(pc);
        return TP_EXIT_FAIL;
    }
    return serve(&o, &tun, &nl, pc);
}
