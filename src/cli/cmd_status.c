/*
 * src/cli/cmd_status.c -- `tapir status` and `tapir stats`: ask a running
 * stack over its control socket (src/linux/ctl.c) and print the answer.
 *
 * The socket is --ctl PATH, or TP_CTL_DIR/<dev>.ctl for --dev NAME, or the
 * only socket in TP_CTL_DIR.  The stack forms the answer (cli/report.c);
 * this side only relays it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "linux/ctl.h"

#define CTL_TIMEOUT_MS 3000

enum {
    OPT_CTL = 'c',
    OPT_DEV = 'd',
    OPT_HELP = 'h',
    OPT_JSON = 'j',
    OPT_ALL = 'a',
};

static const struct option status_longopts[] = {
    { "ctl", required_argument, NULL, OPT_CTL },
    { "dev", required_argument, NULL, OPT_DEV },
    { "help", no_argument, NULL, OPT_HELP },
    { "json", no_argument, NULL, OPT_JSON },
    { "all", no_argument, NULL, OPT_ALL },
    { NULL, 0, NULL, 0 },
};

/* The only *.ctl in TP_CTL_DIR; fails (exit 1) with one line otherwise. */
static void
find_only_socket(char *path, size_t cap)
{
    DIR *d = opendir(TP_CTL_DIR);
    struct dirent *e;
    int n = 0;

    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len > 4 && strcmp(e->d_name + len - 4, ".ctl") == 0 && n++ == 0)
            snprintf(path, cap, "%s/%s", TP_CTL_DIR, e->d_name);
    }
    if (d != NULL)
        closedir(d);
    if (n == 0) {
        tp_cli_error("no stack running at %s/*.ctl (start one with tapir run)", TP_CTL_DIR);
        exit(TP_EXIT_FAIL);
    }
    if (n > 1) {
        tp_cli_error("%d stacks are running: choose one with --dev NAME or --ctl PATH", n);
        exit(TP_EXIT_FAIL);
    }
}

static int
ask(const char *cmd, int argc, char **argv)
{
    const char *ctl = NULL, *dev = NULL;
    bool json = false, all = false;
    char path[4200], req[64];
    int c, err;

    tp_cli_getopt_reset();
    while ((c = tp_cli_getopt(argc, argv, strcmp(cmd, "stats") == 0 ? ":ac:d:hj" : ":c:d:hj",
                status_longopts)) != -1) {
        switch (c) {
        case OPT_CTL:
            if (optarg[0] == '\0')
                tp_cli_usage_fail("--ctl: empty path");
            ctl = optarg;
            break;
        case OPT_DEV:
            dev = tp_cli_ifname("--dev", optarg);
            break;
        case OPT_HELP:
            tp_cli_print_help(cmd);
            return TP_EXIT_OK;
        case OPT_JSON:
            json = true;
            break;
        case OPT_ALL:
            if (strcmp(cmd, "stats") != 0)
                tp_cli_usage_fail("--all: unknown option (see 'tapir help %s')", cmd);
            all = true;
            break;
        default:
            tp_cli_usage_fail("%s: unexpected option", cmd);
        }
    }
    tp_cli_no_operands(cmd, argc, argv);
    if (ctl != NULL && dev != NULL)
        tp_cli_usage_fail("%s: give --ctl or --dev, not both", cmd);
    if (ctl != NULL)
        snprintf(path, sizeof(path), "%s", ctl);
    else if (dev != NULL)
        snprintf(path, sizeof(path), "%s/%s.ctl", TP_CTL_DIR, dev);
    else
        find_only_socket(path, sizeof(path));
    snprintf(req, sizeof(req), "%s%s%s", cmd, json ? " json" : "", all ? " all" : "");
    err = tp_ctl_ask(path, req, stdout, CTL_TIMEOUT_MS);
    fflush(stdout);
    if (err == -ENOENT || err == -ECONNREFUSED) {
        tp_cli_error("no stack running at %s (start one with tapir run)", path);
        return TP_EXIT_FAIL;
    }
    if (err != 0) {
        tp_cli_error("%s: %s: %s", cmd, path, strerror(-err));
        return TP_EXIT_FAIL;
    }
    return TP_EXIT_OK;
}

int
tp_cmd_status(int argc, char **argv)
{
    return ask("status", argc, argv);
}

int
tp_cmd_stats(int argc, char **argv)
{
    return ask("stats", argc, argv);
}
