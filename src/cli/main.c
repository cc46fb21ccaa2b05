/*
 * src/cli/main.c -- the `tapir` command: finds the subcommand in a table
 * and hands it the rest of the arguments.  Also `version` and `help`.
 *
 * New subcommands (nc, status, stats, exec) are one more row in
 * tp_cli_cmds and a cmd_NAME.c file.
 */
#include <string.h>

#include "cli/cli.h"
#include "tapir/tapir.h"

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

const struct tp_cli_cmd tp_cli_cmds[] = {
    { "run", tp_cmd_run, "serve a stack on a TUN device until SIGINT/SIGTERM",
        "tapir run --addr A --peer B [--dev NAME] [--prefix N] [--mtu M] [--route NET/N]...\n"
        "          [--log-level L] [--netns-new] [--stats-on-exit FILE] [--pcap FILE]\n"
        "          [--impair SPEC] [--ctl PATH | --no-ctl] [--echo[=PORT]] [--discard[=PORT]]\n"
        "          [--chargen[=PORT]] [--http[=DIR]] [--http-port PORT] [--max-conns N]\n"
        "          [--keepalive SECS] [--user-timeout MS]\n"
        "  --addr A             the stack's own IPv4 address\n"
        "  --peer B             the kernel's address on the device (A is its peer)\n"
        "  --dev NAME           the TUN device's name (default: chosen by the kernel)\n"
        "  --prefix N           give both ends the network B/N instead of point-to-point\n"
        "  --mtu M              link MTU, 68..65535 (default 1500)\n"
        "  --route NET/N        also route NET/N through the device (up to 8)\n"
        "  --log-level L        error, warn, info (default), debug, trace\n"
        "  --netns-new          run in a new network namespace of this process\n"
        "  --stats-on-exit FILE write every counter as 'name value' lines at exit\n"
        "  --pcap FILE          write every packet of the link to FILE (pcap, raw IPv4)\n"
        "  --impair SPEC        a faulty link: loss=P,dup=P,reorder=P,corrupt=P (percent),\n"
        "                       delay=MS,limit=N,seed=N; both directions, reproducible by seed\n"
        "  --ctl PATH           the control socket (default /run/tapir/DEV.ctl, mode 0600)\n"
        "  --no-ctl             no control socket\n"
        "  --echo[=PORT]        echo service (RFC 862), port 7 by default\n"
        "  --discard[=PORT]     discard service (RFC 863), port 9\n"
        "  --chargen[=PORT]     chargen service (RFC 864), port 19\n"
        "  --http[=DIR]         HTTP/1.1 server: files under DIR, and GET /bytes/N\n"
        "  --http-port PORT     the HTTP server's port (default 80)\n"
        "  --max-conns N        service connections open at once, 1..65536 (default 256)\n"
        "  --keepalive SECS     TCP keepalive on service connections: idle and interval\n"
        "                       SECS, 3 probes\n"
        "  --user-timeout MS    service connections give up after MS without an ACK (R2)\n" },
    { "nc", tp_cmd_nc, "netcat over tapir: connect or listen, stdin to socket to stdout",
        "tapir nc [RUN OPTIONS] HOST PORT\n"
        "tapir nc [RUN OPTIONS] --listen PORT\n"
        "  a stack on a TUN device, as 'tapir run' makes it (--addr and --peer required; every\n"
        "  run option works), plus one connection: to HOST:PORT, or the first one accepted\n"
        "  on PORT.  stdin is sent, what is received goes to stdout; at the end of stdin the\n"
        "  connection is shut down for writing; nc exits when both directions are done.\n"
        "  Logs go to stderr (default level warn).  Exit 0, or 1 if the connection failed.\n"
        "  -l, --listen         accept one connection on PORT instead of connecting\n" },
    { "status", tp_cmd_status, "list the connections of a running stack (like ss -ti)",
        "tapir status [--ctl PATH | --dev NAME] [--json]\n"
        "  --ctl PATH           the stack's control socket\n"
        "  --dev NAME           the stack on device NAME (/run/tapir/NAME.ctl)\n"
        "  --json               one JSON object\n"
        "  without either, the only socket in /run/tapir\n" },
    { "stats", tp_cmd_stats, "print the counters of a running stack",
        "tapir stats [--ctl PATH | --dev NAME] [--json] [--all]\n"
        "  --ctl PATH           the stack's control socket\n"
        "  --dev NAME           the stack on device NAME (/run/tapir/NAME.ctl)\n"
        "  --json               one JSON object with every counter\n"
        "  --all                also the counters that are zero\n" },
    { "demo", tp_cmd_demo, "ping, TCP echo, HTTP GET and a transfer out, in a private namespace",
        "tapir demo [--count N] [--verbose] [--log-level L]\n"
        "  --count N            pings to send, 1..100 (default 5)\n"
        "  --verbose            show the output of each tool the demo runs\n"
        "  --log-level L        error, warn (default), info, debug, trace\n" },
    { "exec", tp_cmd_exec, "run a program with its TCP sockets served by tapird (LD_PRELOAD)", "tapir exec [--socket PATH] -- CMD [ARG]...\n  --socket PATH        tapird's control socket (default: $TAPIR_SOCKET, else /run/tapir/tapird.sock)\n" },
    { "version", cmd_version, "print the version", "tapir version\n" },
    { "help", cmd_help, "list the commands, or describe one", "tapir help [COMMAND]\n" },
    { NULL, NULL, NULL, NULL },
};

static const struct tp_cli_cmd *
find_cmd(const char *name)
{
    for (const struct tp_cli_cmd *c = tp_cli_cmds; c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

static void
print_summary(FILE *f)
{
    fprintf(f, "usage: tapir COMMAND [ARGS]\n\ncommands:\n");
    for (const struct tp_cli_cmd *c = tp_cli_cmds; c->name != NULL; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n'tapir help COMMAND' describes one.  Exit status: 0 ok, 1 failed, "
        "2 bad usage.\n");
}

static int
cmd_version(int argc, char **argv)
{
    tp_cli_getopt_reset();
    while (tp_cli_getopt(argc, argv, "", (const struct option[]){ { 0 } }) != -1)
        ;
    tp_cli_no_operands("version", argc, argv);
    printf("tapir %s\n", TAPIR_VERSION);
    return TP_EXIT_OK;
}

void
tp_cli_print_help(const char *name)
{
    const struct tp_cli_cmd *c = find_cmd(name);

    if (c != NULL)
        printf("%s: %s\n\nusage: %s", c->name, c->summary, c->usage);
}

static int
cmd_help(int argc, char **argv)
{
    if (argc > 2)
        tp_cli_usage_fail("help: unexpected argument '%s'", argv[2]);
    if (argc < 2) {
        print_summary(stdout);
        return TP_EXIT_OK;
    }
    if (find_cmd(argv[1]) == NULL)
        tp_cli_usage_fail("help: '%s' is not a command (try 'tapir help')", argv[1]);
    tp_cli_print_help(argv[1]);
    return TP_EXIT_OK;
}

int
main(int argc, char **argv)
{
    const struct tp_cli_cmd *c;

    if (argc < 2)
        tp_cli_usage_fail("missing command (try 'tapir help')");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(1, argv + 1);
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv + 1);
    if ((c = find_cmd(argv[1])) == NULL)
        tp_cli_usage_fail("'%s' is not a command (try 'tapir help')", argv[1]);
    return c->main(argc - 1, argv + 1);
}
