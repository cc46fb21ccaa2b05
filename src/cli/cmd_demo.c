/*
 * src/cli/cmd_demo.c -- `tapir demo`, not written yet: says so.
 */
#include "cli/cli.h"

int
tp_cmd_demo(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tp_cli_error("demo: not implemented yet");
    return TP_EXIT_FAIL;
}
