/*
 * tests/pktdrill/main.c -- the tapir-pktdrill command.
 *
 *   tapir-pktdrill [--parse-only] [--strict|--semantic] [--no-bsd-profile] [-D SYM]... [-v]
 *                  SCRIPT...
 *
 * Prints one line per script: "PASS path", "FAIL path:line: reason" or
 * "SKIP path: reason", then a count.  Exits 0 if no script failed, 1 if
 * one did, 2 on a usage error.  tests/conformance/run.sh drives it over the
 * corpus.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd.h"

struct pd_cli {
    bool parse_only;
    struct pd_run_opts run;
    const char *defines[PD_MAX_DEFINES];
    int ndefines;
    bool user_defines;
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: tapir-pktdrill [--parse-only] [--strict|--semantic] [-D SYM]... [-v] "
               "SCRIPT...\n"
               "  --parse-only  only parse; report unparseable scripts with their line\n"
               "  --strict      options must match byte for byte (default)\n"
               "  --semantic    options match as a set of kinds and values\n"
               "  --ignore-options  never compare TCP options (diagnosis, not conformance)\n"
               "  --no-bsd-profile  tapir's default settings, not FreeBSD's choices\n"
               "  -D SYM        define SYM for #ifdef (default: STANDARD)\n"
               "  -v            trace every event to stderr\n");
}

/* Returns the index of the first script argument, or -1 on a usage error. */
static int
parse_args(int argc, char **argv, struct pd_cli *cli)
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--parse-only") == 0)
            cli->parse_only = true;
        else if (strcmp(argv[i], "--strict") == 0)
            cli->run.mode = PD_MATCH_STRICT;
        else if (strcmp(argv[i], "--semantic") == 0)
            cli->run.mode = PD_MATCH_SEMANTIC;
        else if (strcmp(argv[i], "--ignore-options") == 0)
            cli->run.ignore_options = true;
        else if (strcmp(argv[i], "--no-bsd-profile") == 0)
            cli->run.no_profile = true;
        else if (strcmp(argv[i], "-v") == 0)
            cli->run.verbose = true;
        else if (strcmp(argv[i], "-D") == 0 && i + 1 < argc && cli->ndefines < PD_MAX_DEFINES) {
            if (!cli->user_defines)
                cli->ndefines = 0;
            cli->user_defines = true;
            cli->defines[cli->ndefines++] = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        } else {
            return -1;
        }
    }
    return i < argc ? i : -1;
}

static enum pd_verdict
one_script(const struct pd_cli *cli, const char *path, char why[PD_ERR_LEN])
{
    struct pd_script s;
    enum pd_verdict v = PD_PASS;

    if (pd_parse_file(path, cli->defines, cli->ndefines, &s, why) < 0)
        return PD_FAIL;
    if (!cli->parse_only)
        v = pd_run_script(&s, &cli->run, why);
    pd_script_free(&s);
    return v;
}

int
main(int argc, char **argv)
{
    struct pd_cli cli = { .run = { .mode = PD_MATCH_STRICT } };
    int first, n[3] = { 0 };
    char why[PD_ERR_LEN];

    cli.defines[cli.ndefines++] = "STANDARD";
    if ((first = parse_args(argc, argv, &cli)) < 0) {
        usage(stderr);
        return 2;
    }
    for (int i = first; i < argc; i++) {
        why[0] = '\0';
        enum pd_verdict v = one_script(&cli, argv[i], why);
        n[v]++;
        if (v == PD_PASS)
            printf("PASS %s\n", argv[i]);
        else
            printf("%s %s\n", v == PD_FAIL ? "FAIL" : "SKIP", why);
        fflush(stdout);
    }
    printf("tapir-pktdrill: %d ok, %d not ok, %d skipped (%s)\n", n[PD_PASS], n[PD_FAIL],
        n[PD_SKIP], cli.parse_only ? "parse only" : "run");
    return n[PD_FAIL] ? 1 : 0;
}
