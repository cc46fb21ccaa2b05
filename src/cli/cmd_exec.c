/*
 * src/cli/cmd_exec.c -- `tapir exec [--socket PATH] -- CMD [ARG]...`: run
 * an unmodified program with its AF_INET TCP sockets served by tapird.
 *
 * Puts libtapir-preload.so (found beside the tapir binary, in ../lib/) in
 * front of LD_PRELOAD, sets TAPIR_SOCKET when --socket is given, and
 * replaces itself with CMD.  tapird must already be running.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define PRELOAD_NAME "libtapir-preload.so"

static const struct option exec_longopts[] = {
    { "socket", required_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* <dir of /proc/self/exe>/../lib/libtapir-preload.so, or NULL. */
static char *
find_preload(void)
{
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    snprintf(path, sizeof(path), "%s/../lib/%s", dirname(exe), PRELOAD_NAME);
    if (access(path, R_OK) != 0)
        return NULL;
    return realpath(path, NULL);
}

static int
set_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    char *v;
    int err;

    if (old == NULL || old[0] == '\0')
        return setenv("LD_PRELOAD", lib, 1);
    if ((v = malloc(strlen(lib) + strlen(old) + 2)) == NULL)
        return -1;
    sprintf(v, "%s:%s", lib, old);
    err = setenv("LD_PRELOAD", v, 1);
    free(v);
    return err;
}

int
tp_cmd_exec(int argc, char **argv)
{
    const char *sock = NULL;
    char *lib;
    int c;

    tp_cli_getopt_reset();
    /* '+': stop at the first operand, so CMD's own flags are left alone. */
    while ((c = tp_cli_getopt(argc, argv, "+:s:h", exec_longopts)) != -1) {
        switch (c) {
        case 's':
            if (optarg[0] == '\0' || strlen(optarg) >= 100)
                tp_cli_usage_fail("--socket: '%s' is not a usable socket path", optarg);
            sock = optarg;
            break;
        case 'h':
            tp_cli_print_help("exec");
            exit(TP_EXIT_OK);
        default:
            tp_cli_usage_fail("exec: unexpected option");
        }
    }
    if (optind >= argc)
        tp_cli_usage_fail("exec: missing the command to run (tapir exec -- CMD ...)");
    if ((lib = find_preload()) == NULL) {
        tp_cli_error("exec: %s not found in the lib directory beside the tapir binary",
            PRELOAD_NAME);
        return TP_EXIT_FAIL;
    }
    if (set_preload(lib) != 0 || (sock != NULL && setenv("TAPIR_SOCKET", sock, 1) != 0)) {
        tp_cli_error("exec: cannot set the environment: %s", strerror(errno));
        return TP_EXIT_FAIL;
    }
    free(lib);
    execvp(argv[optind], argv + optind);
    tp_cli_error("exec: %s: %s", argv[optind], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
