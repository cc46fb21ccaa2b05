/*
 * src/cli/cmd_run.c -- `tapir run`: serve one stack on a TUN device until
 * SIGINT or SIGTERM, then remove what was created and print the counters;
 * and `tapir nc`, which is `tapir run` plus one netcat session that ends
 * the run when it is over.
 *
 * Calls device.c to set the device up, the runtime (src/linux/loop.c) to
 * serve, with its capture (pcap.c), impaired link (impair.c) and control
 * socket (ctl.c); the services (src/services) run on the stack's socket
 * API, driven by the runtime's after-hook.  report.c forms what the control
 * socket answers.  The kernel's end of the device gets --peer; the stack
 * answers at --addr.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "linux/clock.h"
#include "linux/ctl.h"
#include "linux/impair.h"
#include "linux/log.h"
#include "linux/pcap.h"
#include "services/nc.h"

#define SVC_MAX_CONNS_DEFAULT 256

struct run_opts {
    struct tp_cli_link link;        /* device, addresses, capture, control socket, ... */
    bool svc_on[TP_SVC_NKINDS];
    uint16_t svc_port[TP_SVC_NKINDS];
    struct tp_svc_config svc;
    /* nc */
    bool is_nc;
    struct tp_nc_config nc;
};

/* A running stack and what runs on it. */
struct run_ctx {
    const struct run_opts *o;
    struct tp_rt *rt;
    struct tp_svc *svc;
    struct tp_nc *nc;
    struct tp_ctl *ctl;
};

enum {
    OPT_ECHO = TP_CLI_OPT_LINK_END,
    OPT_DISCARD,
    OPT_CHARGEN,
    OPT_HTTP,
    OPT_HTTP_PORT,
    OPT_MAX_CONNS,
    OPT_KEEPALIVE,
    OPT_USER_TIMEOUT,
    OPT_LISTEN = 'l',
};

static const struct option run_longopts[] = {
    TP_CLI_LINK_LONGOPTS,
    { "echo", optional_argument, NULL, OPT_ECHO },
    { "discard", optional_argument, NULL, OPT_DISCARD },
    { "chargen", optional_argument, NULL, OPT_CHARGEN },
    { "http", optional_argument, NULL, OPT_HTTP },
    { "http-port", required_argument, NULL, OPT_HTTP_PORT },
    { "max-conns", required_argument, NULL, OPT_MAX_CONNS },
    { "keepalive", required_argument, NULL, OPT_KEEPALIVE },
    { "user-timeout", required_argument, NULL, OPT_USER_TIMEOUT },
    { "listen", no_argument, NULL, OPT_LISTEN },
    { NULL, 0, NULL, 0 },
};

static void
service_opt(struct run_opts *o, enum tp_svc_kind k, const char *flag, const char *arg)
{
    o->svc_on[k] = true;
    if (arg != NULL)
        o->svc_port[k] = (uint16_t)tp_cli_uint(flag, arg, 1, 65535);
}

/* The services' options. */
static bool
parse_more(struct run_opts *o, int c, const char *arg)
{
    switch (c) {
    case OPT_ECHO:
        service_opt(o, TP_SVC_ECHO, "--echo", arg);
        return true;
    case OPT_DISCARD:
        service_opt(o, TP_SVC_DISCARD, "--discard", arg);
        return true;
    case OPT_CHARGEN:
        service_opt(o, TP_SVC_CHARGEN, "--chargen", arg);
        return true;
    case OPT_HTTP:
        o->svc_on[TP_SVC_HTTP] = true;
        if (arg != NULL && arg[0] == '\0')
            tp_cli_usage_fail("--http: empty directory name");
        o->svc.http_dir = arg;
        return true;
    case OPT_HTTP_PORT:
        o->svc_port[TP_SVC_HTTP] = (uint16_t)tp_cli_uint("--http-port", arg, 1, 65535);
        return true;
    case OPT_MAX_CONNS:
        o->svc.max_conns = (uint32_t)tp_cli_uint("--max-conns", arg, 1, 65536);
        return true;
    case OPT_KEEPALIVE:
        o->svc.keepalive_s = (uint32_t)tp_cli_uint("--keepalive", arg, 1, 7200);
        return true;
    case OPT_USER_TIMEOUT:
        o->svc.user_timeout_ms = (uint32_t)tp_cli_uint("--user-timeout", arg, 1, 3600000);
        return true;
    default:
        return false;
    }
}

static void
check_opts(const struct run_opts *o)
{
    tp_cli_dev_check(o->is_nc ? "nc" : "run", &o->link.dev, o->link.has_addr,
        o->link.has_peer);
    if (o->svc.http_dir != NULL && access(o->svc.http_dir, R_OK | X_OK) != 0)
        tp_cli_usage_fail("--http: '%s' is not a readable directory", o->svc.http_dir);
}

static void
parse_defaults(struct run_opts *o, bool is_nc)
{
    memset(o, 0, sizeof(*o));
    tp_cli_link_defaults(&o->link, is_nc ? TAPIR_LOG_WARN : TAPIR_LOG_INFO);
    o->is_nc = is_nc;
    o->svc_port[TP_SVC_ECHO] = 7;
    o->svc_port[TP_SVC_DISCARD] = 9;
    o->svc_port[TP_SVC_CHARGEN] = 19;
    o->svc_port[TP_SVC_HTTP] = 80;
    o->svc.max_conns = SVC_MAX_CONNS_DEFAULT;
}

/* nc's operands: HOST PORT, or with --listen, PORT. */
static void
nc_operands(struct run_opts *o, int argc, char **argv)
{
    int left = argc - optind;

    if (o->nc.listen) {
        if (left == 0)
            tp_cli_usage_fail("nc: --listen needs a PORT");
        if (left > 1)
            tp_cli_usage_fail("nc: unexpected argument '%s'", argv[optind + 1]);
        o->nc.port = (uint16_t)tp_cli_uint("nc: PORT", argv[optind], 1, 65535);
        return;
    }
    if (left < 2)
        tp_cli_usage_fail("nc: HOST and PORT are required (or --listen PORT)");
    if (left > 2)
        tp_cli_usage_fail("nc: unexpected argument '%s'", argv[optind + 2]);
    o->nc.remote.addr = tp_cli_ipv4("nc: HOST", argv[optind]);
    o->nc.remote.port = (uint16_t)tp_cli_uint("nc: PORT", argv[optind + 1], 1, 65535);
}

static void
parse(int argc, char **argv, struct run_opts *o, bool is_nc)
{
    const char *cmd = is_nc ? "nc" : "run";
    int c;

    parse_defaults(o, is_nc);
    tp_cli_getopt_reset();
    while ((c = tp_cli_getopt(argc, argv, is_nc ? ":" TP_CLI_LINK_SHORTOPTS "l"
                : ":" TP_CLI_LINK_SHORTOPTS, run_longopts)) != -1) {
        if (tp_cli_link_opt(&o->link, c, optarg) || parse_more(o, c, optarg))
            continue;
        if (c == OPT_LISTEN && is_nc) {
            o->nc.listen = true;
            continue;
        }
        if (c == TP_CLI_OPT_HELP) {
            tp_cli_print_help(cmd);
            exit(TP_EXIT_OK);
        }
        tp_cli_usage_fail("%s: '%s' is not an option of %s", cmd, argv[optind - 1], cmd);
    }
    if (is_nc)
        nc_operands(o, argc, argv);
    else
        tp_cli_no_operands("run", argc, argv);
    check_opts(o);
}

static void
log_ready(const struct run_opts *o, const struct tp_tun *tun, uint8_t stack_prefix)
{
    char a[16], p[16];

    tapir_ipv4_str(o->link.dev.addr, a);
    tapir_ipv4_str(o->link.dev.peer, p);
    if (o->link.dev.has_prefix)
        tp_info("ready: stack %s/%u on %s, kernel %s/%u, mtu %u", a, stack_prefix, tun->name,
            p, o->link.dev.prefix_len, o->link.dev.mtu);
    else
        tp_info("ready: stack %s/%u on %s, kernel %s peer %s, mtu %u", a, stack_prefix,
            tun->name, p, a, o->link.dev.mtu);
    if (o->link.netns_new)
        tp_info("in a new network namespace: nsenter --net=/proc/%d/ns/net ping %s",
            (int)getpid(), a);
    tp_info("stop with SIGINT or SIGTERM; SIGUSR1 logs the counters");
}

/* ---- the control socket's answers ----------------------------------------- */

static int
on_ctl_request(void *ctx, const char *req, FILE *out)
{
    struct run_ctx *r = ctx;
    bool json = strstr(req, " json") != NULL;

    if (strncmp(req, "status", 6) == 0)
        return tp_cli_status(out, tp_rt_stack(r->rt), json);
    if (strncmp(req, "stats", 5) == 0) {
        if (json)
            tp_cli_stats_json(out, r->rt, r->svc);
        else
            tp_cli_print_all_counters(out, r->rt, r->svc, "", strstr(req, " all") != NULL);
        return 0;
    }
    fprintf(out, "error: unknown request '%s'\n", req);
    return -EINVAL;
}

/* ---- services and nc -------------------------------------------------------- */

/* The after-hook: hand each TCP event to its owner. */
static int
after_iteration(struct tp_rt *rt, void *ctx)
{
    struct run_ctx *r = ctx;
    struct tapir_stack *st = tp_rt_stack(rt);
    struct tapir_tcp_event ev;
    int n = 0;

    while (tapir_tcp_next_event(st, &ev)) {
        n++;
        if (r->svc != NULL && tp_svc_event(r->svc, &ev))
            continue;
        if (r->nc != NULL)
            (void)tp_nc_event(r->nc, &ev);
    }
    if (r->nc != NULL) {
        n += tp_nc_tick(r->nc);
        if (tp_nc_result(r->nc) != -EINPROGRESS)
            tp_rt_stop(rt);
    }
    return n;
}

static int
services_start(struct run_ctx *r)
{
    const struct run_opts *o = r->o;
    bool any = false;
    int err;

    for (int k = 0; k < TP_SVC_NKINDS; k++)
        any = any || o->svc_on[k];
    if (!any)
        return 0;
    if ((err = tp_svc_new(tp_rt_stack(r->rt), &o->svc, &r->svc)) != 0) {
        tp_cli_error("--http: cannot open '%s': %s", o->svc.http_dir ? o->svc.http_dir : "",
            strerror(-err));
        return err;
    }
    for (int k = 0; k < TP_SVC_NKINDS; k++) {
        if (!o->svc_on[k])
            continue;
        if ((err = tp_svc_listen(r->svc, (enum tp_svc_kind)k, o->svc_port[k])) != 0) {
            tp_cli_error("--%s: cannot listen on port %u: %s", tp_svc_kind_name(k),
                o->svc_port[k], strerror(-err));
            return err;
        }
        tp_info("%s service on port %u%s%s", tp_svc_kind_name(k), o->svc_port[k],
            k == TP_SVC_HTTP && o->svc.http_dir ? ", serving " : "",
            k == TP_SVC_HTTP && o->svc.http_dir ? o->svc.http_dir : "");
    }
    return 0;
}

static int
nc_start(struct run_ctx *r)
{
    struct tp_nc_config cfg = r->o->nc;
    char a[16];
    int err;

    if (!r->o->is_nc)
        return 0;
    cfg.in_fd = STDIN_FILENO;
    cfg.out_fd = STDOUT_FILENO;
    if ((err = tp_nc_new(r->rt, &cfg, &r->nc)) != 0) {
        if (cfg.listen)
            tp_cli_error("nc: cannot listen on port %u: %s", cfg.port, strerror(-err));
        else
            tp_cli_error("nc: cannot connect to %s:%u: %s", tapir_ipv4_str(cfg.remote.addr, a),
                cfg.remote.port, strerror(-err));
        return err;
    }
    if (cfg.listen)
        tp_info("nc: listening on port %u", cfg.port);
    return 0;
}

/* The nc session's outcome as an exit status, with one line if it failed. */
static int
nc_status(const struct run_ctx *r)
{
    int res = tp_nc_result(r->nc);
    char a[16];

    if (res == 0) {
        tp_info("nc: done: %llu bytes sent, %llu received",
            (unsigned long long)tp_nc_bytes_sent(r->nc),
            (unsigned long long)tp_nc_bytes_received(r->nc));
        return TP_EXIT_OK;
    }
    if (res == -EINPROGRESS)
        tp_cli_error("nc: stopped before the connection was over");
    else if (r->o->nc.listen)
        tp_cli_error("nc: connection on port %u: %s", r->o->nc.port, strerror(-res));
    else
        tp_cli_error("nc: connection to %s:%u: %s", tapir_ipv4_str(r->o->nc.remote.addr, a),
            r->o->nc.remote.port, strerror(-res));
    return TP_EXIT_FAIL;
}

/* ---- serving ------------------------------------------------------------------ */

static int
start_all(struct run_ctx *r, const struct tp_tun *tun, uint16_t mtu)
{
    int err;

    if ((err = tp_cli_link_impair(&r->o->link, r->rt, mtu)) != 0
        || (err = services_start(r)) != 0 || (err = nc_start(r)) != 0
        || (err = tp_cli_link_ctl(&r->o->link, r->rt, tun->name, on_ctl_request, r,
            &r->ctl)) != 0)
        return err;
    tp_rt_set_after(r->rt, after_iteration, r);
    return 0;
}

static void
stop_all(struct run_ctx *r)
{
    tp_ctl_close(r->ctl);
    r->ctl = NULL;
    tp_nc_free(r->nc);
    r->nc = NULL;
    tp_rt_set_after(r->rt, NULL, NULL);
}

/* Serve until stopped; the device is up, pc (taken) is the capture or
 * NULL.  Returns the exit status. */
static int
serve(const struct run_opts *o, struct tp_tun *tun, struct tp_nl *nl, struct tp_pcap *pc)
{
    struct run_ctx r = { .o = o };
    struct tapir_config cfg;
    int err, status = TP_EXIT_OK;

    tp_cli_stack_config(&o->link.dev, &cfg);
    if ((err = tp_rt_new(&cfg, tun, &r.rt)) != 0) {
        tp_cli_error("cannot start the stack: %s", strerror(-err));
        (void)tp_pcap_close(pc);
        tp_cli_dev_down(tun, nl);
        return TP_EXIT_FAIL;
    }
    if (pc != NULL) {
        tp_rt_set_pcap(r.rt, pc);
        tp_info("capturing every packet of the link to %s", o->link.pcap_path);
    }
    if (start_all(&r, tun, cfg.mtu) != 0) {
        stop_all(&r);
        tp_svc_free(r.svc);
        tp_rt_free(r.rt);
        tp_cli_dev_down(tun, nl);
        return TP_EXIT_FAIL;
    }
    log_ready(o, tun, cfg.prefix_len);
    if ((err = tp_rt_run(r.rt)) != 0) {
        tp_cli_error("%s: stopped on an error: %s", o->is_nc ? "nc" : "run", strerror(-err));
        status = TP_EXIT_FAIL;
    }
    if (r.nc != NULL && nc_status(&r) != TP_EXIT_OK)
        status = TP_EXIT_FAIL;
    /* Stopping already: a second SIGTERM (timeout(1) signals both the child
     * and its process group) or Ctrl-C must not cut the cleanup and the
     * report short once tp_rt_free() unblocks them.  SIG_IGN also discards
     * one that is pending. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    stop_all(&r);
    if (tp_cli_dev_down(tun, nl) != 0)
        status = TP_EXIT_FAIL;
    /* nc's stdout carries the data: its counters go to --stats-on-exit only. */
    if (!o->is_nc)
        tp_cli_print_all_counters(stdout, r.rt, r.svc, "", false);
    if (o->link.stats_path != NULL
        && tp_cli_write_all_counters(o->link.stats_path, r.rt, r.svc) != 0)
        status = TP_EXIT_FAIL;
    tp_svc_free(r.svc);
    tp_rt_free(r.rt);
    return status;
}

static int
run_main(int argc, char **argv, bool is_nc)
{
    struct tp_pcap *pc;
    struct run_opts o;
    struct tp_tun tun;
    struct tp_nl nl;

    parse(argc, argv, &o, is_nc);
    tp_log_set_level(o.link.level);
    /* nc's stdout may be a pipe whose reader is gone: EPIPE ends the
     * session with a message and the device is still removed. */
    signal(SIGPIPE, SIG_IGN);
    if (tp_cli_link_pcap(&o.link, &pc) != 0)
        return TP_EXIT_FAIL;
    if ((o.link.netns_new && tp_cli_netns_new() != 0)
        || tp_cli_dev_up(&o.link.dev, &tun, &nl) != 0) {
        (void)tp_pcap_close(pc);
        return TP_EXIT_FAIL;
    }
    return serve(&o, &tun, &nl, pc);
}

int
tp_cmd_run(int argc, char **argv)
{
    return run_main(argc, argv, false);
}

int
tp_cmd_nc(int argc, char **argv)
{
    return run_main(argc, argv, true);
}
