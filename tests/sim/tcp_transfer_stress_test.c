/*
 * tests/sim/tcp_transfer_stress_test.c -- the transfer of
 * tests/lib/sim_xfer.c under conditions that stress flow control and
 * segmentation rather than the link alone: asymmetric loss, tiny buffers,
 * applications that read slowly, loss in bursts, an outage, TCP extensions
 * switched off on one or both nodes, a 576-byte MTU.  500 seeds each, like
 * tcp_transfer_test; the same environment variables select one case.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/sim_xfer.h"

/* A stray segment may reach a stack after its connection closed and draw
 * an RST from the closed port (RFC 9293 3.10.7.1); on these links such RSTs
 * are accepted once both applications have closed, never before. */
static const struct sim_link_cfg lossy_back = { .loss = 0.2, .delay_us = 1000 };

static const struct sim_xfer_config configs[] = {
    /* One direction clean, the other losing 20 %: data or its ACKs suffer. */
    { .name = "asym", .link = { .delay_us = 1000 }, .back = &lossy_back, .strays = true },
    /* 2 KB buffers: windows close and reopen all the time (RFC 9293 3.8.6). */
    { .name = "smallbuf", .link = { .loss = 0.01, .delay_us = 1000 }, .strays = true,
        .bufs = 2048 },
    /* Applications drain 1000 bytes every 20 ms from 8 KB buffers: zero
     * windows, window updates that may be lost, probes. */
    { .name = "slowread", .link = { .loss = 0.02, .delay_us = 1000 }, .strays = true,
        .bufs = 8192, .read_chunk = 1000, .read_every_us = 20000 },
    /* One packet in 100 starts a burst of 0..4 ms that loses everything:
     * several segments of one window lost together. */
    { .name = "burst", .link = { .burst_enter = 0.01, .burst_us = 2000, .burst_loss = 1.0,
        .delay_us = 1000 }, .strays = true },
    /* Both directions dead for 4 s from t = 5 ms (just after the handshake):
     * RTO backoff, then recovery when the link returns (R2 is not reached). */
    { .name = "outage", .link = { .loss = 0.01, .delay_us = 1000 }, .strays = true,
        .outage_at_us = 5000, .outage_us = 4000000 },
    /* RFC 7323 and RFC 2018 switched off on both nodes: 16-bit windows, no
     * timestamps, recovery without SACK, over the mixed link. */
    { .name = "noopts", .link = { .loss = 0.05, .dup = 0.05, .reorder = 0.05, .reorder_us = 3000,
        .corrupt = 0.02, .delay_us = 1000, .jitter_us = 500 }, .strays = true,
        .opts_off = { SIM_XFER_NO_OPTS, SIM_XFER_NO_OPTS } },
    /* Node 0 (the client) offers them all, node 1 knows none and answers
     * without them: the client must use none either. */
    { .name = "halfopts", .link = { .loss = 0.05, .dup = 0.05, .reorder = 0.05,
        .reorder_us = 3000, .corrupt = 0.02, .delay_us = 1000, .jitter_us = 500 },
        .strays = true, .opts_off = { 0, SIM_XFER_NO_OPTS } },
    /* A 576-byte MTU (RFC 9293 MUST-15's 536-byte MSS) with everything mixed. */
    { .name = "mtu576", .link = { .loss = 0.03, .dup = 0.03, .reorder = 0.03, .reorder_us = 3000,
        .corrupt = 0.01, .delay_us = 1000, .jitter_us = 500 }, .strays = true, .mtu = 576 },
};

static void
run_config(void **state)
{
    const struct sim_xfer_config *c = *state;
    const char *only = getenv("TAPIR_SIM_CONFIG");
    struct sim_xfer_tally t = { 0 };

    if (only != NULL && *only != '\0' && strcmp(only, c->name) != 0) {
        skip();
        return;
    }
    if (sim_xfer_run_config(c, &t) != 0)
        fail_msg("config %s: %" PRIu64 " of %" PRIu64 " transfers failed; first: %s", c->name,
            t.failures, t.runs, t.first);
}

int
main(int argc, char **argv)
{
    struct CMUnitTest tests[sizeof(configs) / sizeof(configs[0]) + 0];

    (void)argc;
    sim_xfer_set_prog(argv[0]);
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        tests[i] = (struct CMUnitTest){
            .name = configs[i].name,
            .test_func = run_config,
            .initial_state = (void *)(uintptr_t)&configs[i],
        };
    }
    return cmocka_run_group_tests_name("tcp_transfer_stress", tests, NULL, NULL);
}
