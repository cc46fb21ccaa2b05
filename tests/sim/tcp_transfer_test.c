/*
 * tests/sim/tcp_transfer_test.c -- reliable transfer between two tapir
 * stacks over impaired simulated links, for hundreds of seeds: the link
 * configurations of loss, reordering, duplication, corruption and a
 * bottleneck (with NewReno, and with CUBIC).  The transfer itself is tests/lib/sim_xfer.c; the stressful
 * configurations (buffers, slow readers, small MTU, asymmetric loss) are
 * tests/sim/tcp_transfer_stress_test.c.
 *
 * Environment: TAPIR_SIM_SEEDS (seeds per configuration, default 500),
 * TAPIR_SIM_SEED, TAPIR_SIM_CONFIG, TAPIR_SIM_SIZE, TAPIR_SIM_DIR (run one
 * case), TAPIR_SIM_TRACE=1 (print every packet), TAPIR_SIM_PCAP=file.
 * A failure prints a one-line command that reruns it alone.
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

/* A stray segment (a duplicate, one held back, a retransmission whose ACK
 * was lost) may reach a stack after the connection closed, and a closed
 * port answers it with RST (RFC 9293 3.10.7.1).  Such RSTs are allowed once
 * both applications have closed, on links that make strays; an RST while
 * either application is open always fails the transfer.
 *
 * Under 30 % loss each way a segment and its ACK both get through with
 * probability 0.49, so the default SYN retries (6) give up on about 1 % of
 * connections (0.51^7) and R2 (15) now and then; that configuration allows
 * more retransmissions.  At 10 % the defaults fail with odds below 1e-5. */
static const struct sim_xfer_config configs[] = {
    { .name = "clean", .link = { .delay_us = 1000 } },
    { .name = "loss1", .link = { .loss = 0.01, .delay_us = 1000 }, .strays = true },
    { .name = "loss10", .link = { .loss = 0.10, .delay_us = 1000 }, .strays = true },
    { .name = "loss30", .link = { .loss = 0.30, .delay_us = 1000 }, .strays = true,
        .retries = 40 },
    { .name = "reorder", .link = { .reorder = 0.1, .reorder_us = 3000, .delay_us = 1000,
        .jitter_us = 500 }, .strays = true },
    { .name = "dup", .link = { .dup = 0.1, .delay_us = 1000 }, .strays = true },
    { .name = "corrupt", .link = { .corrupt = 0.05, .delay_us = 1000 }, .strays = true },
    { .name = "mixed", .link = { .loss = 0.05, .dup = 0.05, .reorder = 0.05, .reorder_us = 3000,
        .corrupt = 0.02, .delay_us = 1000, .jitter_us = 500 }, .strays = true },
    { .name = "bottleneck", .link = { .rate_bps = 10000000, .queue_bytes = 30000,
        .delay_us = 5000 }, .strays = true },
    /* FreeBSD's RFC-permitted choices (docs/conformance.md, "The bsd
     * profile"): scale 6, buffers rounded to the MSS (ring growth on the
     * active side), free-space windows, FIN repeated on ACKs, old segments'
     * ACKs taken; 100000-byte buffers are no multiple of the MSS. */
    { .name = "bsd-mixed", .link = { .loss = 0.05, .dup = 0.05, .reorder = 0.05,
        .reorder_us = 3000, .corrupt = 0.02, .delay_us = 1000, .jitter_us = 500 },
        .strays = true, .bufs = 100000, .bsd = true },
    /* CUBIC (RFC 9438) instead of NewReno, through the bottleneck with 1 % loss. */
    { .name = "cubic", .link = { .loss = 0.01, .rate_bps = 10000000, .queue_bytes = 30000,
        .delay_us = 5000 }, .strays = true, .cc = TAPIR_TCP_CC_CUBIC },
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

/* The stacks hold no hidden state (uninitialised memory, addresses used as
 * keys): the same seed replays the same transfer, packet for packet. */
static void
a_seed_replays_the_same_transfer(void **state)
{
    const struct sim_xfer_config *mixed = NULL;
    struct sim_xfer_tally a = { 0 }, b = { 0 }, other = { 0 };

    (void)state;
    if (getenv("TAPIR_SIM_CONFIG") != NULL || getenv("TAPIR_SIM_SEED") != NULL) {
        skip();
        return;
    }
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
        if (strcmp(configs[i].name, "mixed") == 0)
            mixed = &configs[i];
    assert_non_null(mixed);
    assert_true(sim_xfer_one(mixed, 7, 65536, SIM_XFER_BOTH, &a));
    assert_true(sim_xfer_one(mixed, 7, 65536, SIM_XFER_BOTH, &b));
    assert_true(sim_xfer_one(mixed, 8, 65536, SIM_XFER_BOTH, &other));
    assert_true(a.last_digest == b.last_digest);
    assert_int_equal(a.packets, b.packets);
    assert_int_equal(a.max_time_us, b.max_time_us);
    assert_true(a.last_digest != other.last_digest);
}

int
main(int argc, char **argv)
{
    struct CMUnitTest tests[sizeof(configs) / sizeof(configs[0]) + 1];

    (void)argc;
    sim_xfer_set_prog(argv[0]);
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
        tests[i] = (struct CMUnitTest){
            .name = configs[i].name,
            .test_func = run_config,
            .initial_state = (void *)(uintptr_t)&configs[i],
        };
    }
    tests[sizeof(configs) / sizeof(configs[0])] =
        (struct CMUnitTest)cmocka_unit_test(a_seed_replays_the_same_transfer);
    return cmocka_run_group_tests_name("tcp_transfer", tests, NULL, NULL);
}
