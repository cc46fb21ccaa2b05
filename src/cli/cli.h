/*
 * src/cli/cli.h -- what the tapir command's files share: the command table,
 * argument parsing that fails with one line and exit status 2, device setup,
 * the options and setup of a stack on a TUN device (run, nc, tapird) and
 * counter printing.
 *
 * Exit status: 0 success, 1 failure at run time (privilege, kernel refused,
 * a demo step failed), 2 bad usage.
 */
#ifndef TP_CLI_CLI_H
#define TP_CLI_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "linux/ctl.h"
#include "linux/impair.h"
#include "linux/pcap.h"
#include "linux/runtime.h"
#include "linux/rtnl.h"
#include "linux/tun.h"
#include "services/svc.h"

#define TP_EXIT_OK 0
#define TP_EXIT_FAIL 1
#define TP_EXIT_USAGE 2

/* A subcommand: argv[0] is its name; returns the exit status. */
struct tp_cli_cmd {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;            /* one line for `tapir help` */
    const char *usage;              /* the flags, for `tapir help NAME` */
};

/* main.c: the table, NULL-terminated by a zero entry. */
extern const struct tp_cli_cmd tp_cli_cmds[];

int tp_cmd_run(int argc, char **argv);
int tp_cmd_nc(int argc, char **argv);
int tp_cmd_demo(int argc, char **argv);
int tp_cmd_status(int argc, char **argv);
int tp_cmd_stats(int argc, char **argv);
int tp_cmd_exec(int argc, char **argv);   /* cmd_exec.c */

/* Print `tapir help NAME` to stdout (for a command's --help). */
void tp_cli_print_help(const char *name);

/* ---- args.c ------------------------------------------------------------ */

/* Print "tapir: <message>" as one line on stderr and exit 2. */
_Noreturn void tp_cli_usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "tapir: <message>" as one line on stderr (no exit). */
void tp_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Reset getopt, then call getopt_long with a leading ':' so that missing
 * values and unknown options come back to us; those fail here with one
 * line naming the option.  Returns like getopt_long otherwise.
 */
void tp_cli_getopt_reset(void);
int tp_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Fail (exit 2) unless every argument was consumed: cmd names the command. */
void tp_cli_no_operands(const char *cmd, int argc, char **argv);

/* Parsers: on bad input each prints "tapir: FLAG: 'ARG' is not ..." and
 * exits 2.  flag is the option as the user knows it ("--addr"). */
uint32_t tp_cli_ipv4(const char *flag, const char *arg);
unsigned long tp_cli_uint(const char *flag, const char *arg, unsigned long lo, unsigned long hi);
void tp_cli_cidr(const char *flag, const char *arg, uint32_t *addr, uint8_t *prefix_len);
enum tapir_log_level tp_cli_log_level(const char *flag, const char *arg);
const char *tp_cli_ifname(const char *flag, const char *arg);

/* ---- device.c ---------------------------------------------------------- */

#define TP_CLI_MAX_ROUTES 8

struct tp_cli_dev {
    const char *name;               /* NULL: the kernel picks "tunN" */
    uint32_t addr;                  /* the stack's own address */
    uint32_t peer;                  /* the kernel's address on the device */
    bool has_prefix;                /* false: point-to-point */
    uint8_t prefix_len;             /* with has_prefix: both ends' network */
    uint16_t mtu;
    int n_routes;
    uint32_t route_dst[TP_CLI_MAX_ROUTES];
    uint8_t route_len[TP_CLI_MAX_ROUTES];
};

/*
 * Enter a new network namespace of this process (unshare(CLONE_NEWNET)) and
 * bring its loopback up.  On failure prints one line (a missing privilege
 * is named) and returns a negative errno.
 */
int tp_cli_netns_new(void);

/*
 * Open the TUN device and configure it: IPv6 off, MTU, up, the kernel's
 * address (point-to-point with the stack's address as the peer, or a
 * prefix), routes.  On failure prints one line, undoes what was done and
 * returns a negative errno.  tun and nl are filled for tp_cli_dev_down().
 */
int tp_cli_dev_up(const struct tp_cli_dev *dev, struct tp_tun *tun, struct tp_nl *nl);

/* Remove the routes and address, set the link down, close the device.
 * Returns 0, or a negative errno after printing one line. */
int tp_cli_dev_down(struct tp_tun *tun, struct tp_nl *nl);

/* Check the addresses of a command's device options: --addr and --peer
 * given and different, and in one network when --prefix is given.  On a
 * fault prints one line naming the option (cmd: "run", "nc", "tapird") and
 * exits 2. */
void tp_cli_dev_check(const char *cmd, const struct tp_cli_dev *dev, bool has_addr,
    bool has_peer);

/* The prefix length the stack uses for its network: dev's prefix, or for
 * a point-to-point link the longest one holding both ends as hosts. */
uint8_t tp_cli_stack_prefix(const struct tp_cli_dev *dev);

/* Fill cfg for a stack on dev: address, prefix, MTU, a random seed, logs
 * to the runtime's sink at the current level. */
void tp_cli_stack_config(const struct tp_cli_dev *dev, struct tapir_config *cfg);

/* ---- link.c: what `tapir run`, `tapir nc` and tapird share ------------ */

/* Their common options: getopt values, long options, short options. */
enum {
    TP_CLI_OPT_ADDR = 'a',
    TP_CLI_OPT_DEV = 'd',
    TP_CLI_OPT_HELP = 'h',
    TP_CLI_OPT_MTU = 'm',
    TP_CLI_OPT_PEER = 'p',
    TP_CLI_OPT_PREFIX = 'P',
    TP_CLI_OPT_ROUTE = 'r',
    TP_CLI_OPT_LOG_LEVEL = 256,
    TP_CLI_OPT_NETNS_NEW,
    TP_CLI_OPT_STATS,
    TP_CLI_OPT_PCAP,
    TP_CLI_OPT_IMPAIR,
    TP_CLI_OPT_CTL,
    TP_CLI_OPT_NO_CTL,
    TP_CLI_OPT_LINK_END             /* a command's own options from here */
};

#define TP_CLI_LINK_LONGOPTS                                                  \
    { "addr", required_argument, NULL, TP_CLI_OPT_ADDR },                     \
    { "dev", required_argument, NULL, TP_CLI_OPT_DEV },                       \
    { "help", no_argument, NULL, TP_CLI_OPT_HELP },                           \
    { "mtu", required_argument, NULL, TP_CLI_OPT_MTU },                       \
    { "peer", required_argument, NULL, TP_CLI_OPT_PEER },                     \
    { "prefix", required_argument, NULL, TP_CLI_OPT_PREFIX },                 \
    { "route", required_argument, NULL, TP_CLI_OPT_ROUTE },                   \
    { "log-level", required_argument, NULL, TP_CLI_OPT_LOG_LEVEL },           \
    { "netns-new", no_argument, NULL, TP_CLI_OPT_NETNS_NEW },                 \
    { "stats-on-exit", required_argument, NULL, TP_CLI_OPT_STATS },           \
    { "pcap", required_argument, NULL, TP_CLI_OPT_PCAP },                     \
    { "impair", required_argument, NULL, TP_CLI_OPT_IMPAIR },                 \
    { "ctl", required_argument, NULL, TP_CLI_OPT_CTL },                       \
    { "no-ctl", no_argument, NULL, TP_CLI_OPT_NO_CTL }

#define TP_CLI_LINK_SHORTOPTS "a:d:hm:p:P:r:"

struct tp_cli_link {
    struct tp_cli_dev dev;
    bool has_addr, has_peer, netns_new;
    enum tapir_log_level level;
    const char *stats_path;         /* --stats-on-exit */
    const char *pcap_path;
    bool has_impair;
    struct tp_impair_spec impair;
    const char *ctl_path;           /* NULL: TP_CTL_DIR/<dev>.ctl */
    bool no_ctl;
};

/* Defaults: MTU 1500, no impairment, the given log level. */
void tp_cli_link_defaults(struct tp_cli_link *l, enum tapir_log_level level);

/* Take getopt's c (one of the options above but --help) into l; false if
 * it is not one.  A bad argument: one line, exit 2. */
bool tp_cli_link_opt(struct tp_cli_link *l, int c, const char *arg);

/* Open --pcap's file (*pc NULL without it), before anything is set up so
 * that a bad path costs nothing.  0, or a negative errno after one line. */
int tp_cli_link_pcap(const struct tp_cli_link *l, struct tp_pcap **pc);

/* Put --impair's faulty link under rt (a random seed unless given). */
int tp_cli_link_impair(const struct tp_cli_link *l, struct tp_rt *rt, uint16_t mtu);

/* Open the control socket (--ctl, or TP_CTL_DIR/<dev_name>.ctl; none with
 * --no-ctl, or when the default path is taken by another namespace's
 * stack).  *out NULL without one.  0, or a negative errno after one line. */
int tp_cli_link_ctl(const struct tp_cli_link *l, struct tp_rt *rt, const char *dev_name,
    tp_ctl_fn *fn, void *ctx, struct tp_ctl **out);

/* ---- counters.c -------------------------------------------------------- */

/* Print the non-zero counters as "name value description" lines, each
 * with indent in front; returns how many were printed. */
int tp_cli_print_counters(FILE *f, const struct tp_rt *rt, const char *indent);

/* Write every counter as "name value" lines to path.  Returns 0, or a
 * negative errno after printing one line. */
int tp_cli_write_counters(const char *path, const struct tp_rt *rt);

/* The value of the counter called name; 0 if there is none. */
uint64_t tp_cli_counter(const struct tp_rt *rt, const char *name);

/* ---- report.c ---------------------------------------------------------- */

/* Every counter: the runtime's (stack and runtime), the impaired link's
 * (TapirImpair{Tx,Rx}...) if any, the services' if svc is not NULL.  As
 * "name value description" lines (zeros only with all); returns how many
 * were printed. */
int tp_cli_print_all_counters(FILE *f, const struct tp_rt *rt, const struct tp_svc *svc,
    const char *indent, bool all);

/* The same counters as {"counters": {"name": value, ...}}. */
void tp_cli_stats_json(FILE *f, const struct tp_rt *rt, const struct tp_svc *svc);

/* Every counter as "name value" lines to path (--stats-on-exit). */
int tp_cli_write_all_counters(const char *path, const struct tp_rt *rt,
    const struct tp_svc *svc);

/* The connections and listeners of st, like `ss -ti`, or as JSON. */
int tp_cli_status(FILE *f, struct tapir_stack *st, bool json);

#endif
