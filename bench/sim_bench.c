/*
 * bench/sim_bench.c -- the cost of tapir's TCP in CPU time, measured over
 * the simulator (tests/lib/sim.c): two stacks in one process, node 0 sends
 * N MB to node 1, and the program prints MB of payload per CPU second.
 *
 * A benchmark, not a test: it reads the process CPU clock, which no test
 * does.  The link can be impaired (loss, rate, queue, delay) to report the
 * goodput and completion time in virtual time as well.
 *
 *   sim_bench [-m MB] [-l loss] [-r rate_bps] [-q queue_bytes] [-d delay_us] [-s seed]
 *             [-b buf_bytes] [-T]
 *
 * -T prints a table instead: goodput and completion time through the given
 * bottleneck (default 100 Mbit/s, 20 ms RTT, 250 kB queue) at 0, 0.1, 1 and
 * 5 % random loss, for NewReno and for CUBIC.  -b sets both nodes' send and
 * receive buffers (default: tapir_config_default()'s 1 MB).
 *
 * Build it Release for figures worth recording (the Debug build carries
 * ASan and UBSan).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/sim.h"

#define PORT 5001
#define CHUNK 65536

struct bench {
    uint64_t total;
    uint64_t sent;
    uint64_t received;
    bool shut;
    bool eof_a;
    bool eof_b;
    int lsock;
    int a;
    int b;
    int err;
    uint8_t buf[CHUNK];
};

static void
sender(struct sim *sim, struct bench *bn)
{
    struct tapir_stack *st = sim_stack(sim, 0);
    long n;

    while (bn->sent < bn->total) {
        size_t len = bn->total - bn->sent < CHUNK ? (size_t)(bn->total - bn->sent) : CHUNK;

        if ((n = tapir_tcp_send(st, bn->a, bn->buf, len, 0)) < 0) {
            if (n != -EAGAIN)
                bn->err = (int)n;
            return;
        }
        bn->sent += (uint64_t)n;
    }
    if (!bn->shut && tapir_tcp_shutdown(st, bn->a, TAPIR_SHUT_WR) == 0)
        bn->shut = true;
    if (!bn->eof_a) {
        uint8_t b[64];

        if (tapir_tcp_recv(st, bn->a, b, sizeof(b), 0) == 0)
            bn->eof_a = true;
    }
}

static void
receiver(struct sim *sim, struct bench *bn)
{
    struct tapir_stack *st = sim_stack(sim, 1);
    long n;

    while ((n = tapir_tcp_recv(st, bn->b, bn->buf, CHUNK, 0)) > 0)
        bn->received += (uint64_t)n;
    if (n == 0 && !bn->eof_b) {
        bn->eof_b = true;
        tapir_tcp_close(st, bn->b);
    } else if (n < 0 && n != -EAGAIN) {
        bn->err = (int)n;
    }
}

static void
on_event(struct sim *sim, int node, const struct tapir_tcp_event *ev, void *ctx)
{
    struct bench *bn = ctx;

    if (node == 1 && ev->sock == bn->lsock) {
        if ((bn->b = tapir_tcp_accept(sim_stack(sim, 1), bn->lsock, NULL)) >= 0) {
            tapir_tcp_close(sim_stack(sim, 1), bn->lsock);
            bn->lsock = -1;
            receiver(sim, bn);
        }
        return;
    }
    if (node == 0)
        sender(sim, bn);
    else if (bn->b >= 0 && !bn->eof_b)
        receiver(sim, bn);
    (void)ev;
}

static bool
done(struct sim *sim, void *ctx)
{
    struct bench *bn = ctx;

    (void)sim;
    return bn->err != 0 || (bn->eof_a && bn->eof_b);
}

static double
cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-m MB] [-l loss] [-r rate_bps] [-q queue_bytes] [-d delay_us] "
        "[-s seed] [-b buf_bytes] [-T]\n", prog);
    return 2;
}

struct result {
    double cpu_s;
    double virt_s;
    uint64_t bytes;
    uint64_t packets;
    uint64_t dropped;
};

/* One transfer of `bytes` from node 0 to node 1 over lc, with buffers of
 * buf bytes (0: the default); 0 or -1. */
static int
run(uint64_t seed, const struct sim_link_cfg *lc, enum tapir_tcp_cc cc, uint64_t bytes,
    uint32_t buf, struct result *res)
{
    struct sim_cfg cfg = { .seed = seed, .max_time_us = 24LL * 3600 * 1000000,
        .max_events = UINT64_MAX / 2 };
    struct bench *bn = calloc(1, sizeof(*bn));
    struct tapir_config tc;
    struct sim *sim;
    double cpu0;
    int rc;

    tapir_config_default(&tc);
    tc.tcp.cc = cc;
    if (buf != 0)
        tc.tcp.sndbuf = tc.tcp.rcvbuf = buf;
    if (bn == NULL || (rc = sim_new(&cfg, &tc, &sim)) != 0) {
        fprintf(stderr, "sim_bench: cannot create the simulation\n");
        free(bn);
        return -1;
    }
    bn->total = bytes;
    bn->lsock = bn->a = bn->b = -1;
    memset(bn->buf, 0x5a, sizeof(bn->buf));
    sim_set_links(sim, 0, 1, lc);
    sim_tcp_on_event(sim, 0, on_event, bn);
    sim_tcp_on_event(sim, 1, on_event, bn);
    bn->lsock = tapir_tcp_socket(sim_stack(sim, 1));
    tapir_tcp_bind(sim_stack(sim, 1), bn->lsock, (struct tapir_sockaddr){ 0, PORT });
    tapir_tcp_listen(sim_stack(sim, 1), bn->lsock, 4);
    bn->a = tapir_tcp_socket(sim_stack(sim, 0));
    tapir_tcp_connect(sim_stack(sim, 0), bn->a, (struct tapir_sockaddr){ sim_addr(sim, 1), PORT });

    cpu0 = cpu_seconds();
    rc = sim_run(sim, done, bn);
    res->cpu_s = cpu_seconds() - cpu0;
    res->virt_s = (double)sim_now(sim) / 1e6;
    res->bytes = bn->received;
    res->packets = sim_link_stats(sim, 0, 1)->sent + sim_link_stats(sim, 1, 0)->sent;
    res->dropped = 0;
    for (int i = 0; i < 2; i++)
        res->dropped += sim_link_stats(sim, i, 1 - i)->lost
            + sim_link_stats(sim, i, 1 - i)->queue_drops;
    if (rc != 0 || bn->err != 0 || bn->received != bn->total) {
        fprintf(stderr, "sim_bench: failed: %s (err %d, received %" PRIu64 " of %" PRIu64 ")\n",
            sim_error(sim), bn->err, bn->received, bn->total);
        sim_trace_dump(sim, stderr, 40);
        rc = -1;
    }
    sim_free(sim);
    free(bn);
    return rc == 0 ? 0 : -1;
}

static int
table(uint64_t seed, struct sim_link_cfg lc, uint64_t bytes, uint32_t buf)
{
    static const double losses[] = { 0, 0.001, 0.01, 0.05 };
    static const char *const names[TAPIR_TCP_CC_COUNT] = {
        [TAPIR_TCP_CC_NEWRENO] = "NewReno",
        [TAPIR_TCP_CC_CUBIC] = "CUBIC",
    };
    struct result r;

    printf("sim_bench: bottleneck %.1f Mbit/s, queue %" PRIu32 " B, one-way delay %.1f ms, "
        "%.1f MB per run\n", (double)lc.rate_bps / 1e6, lc.queue_bytes,
        (double)lc.delay_us / 1e3, (double)bytes / 1e6);
    printf("%-8s %8s %14s %14s %10s %10s\n", "cc", "loss %", "goodput Mbit/s", "completion s",
        "packets", "dropped");
    for (int cc = 0; cc < TAPIR_TCP_CC_COUNT; cc++) {
        for (size_t i = 0; i < sizeof(losses) / sizeof(losses[0]); i++) {
            lc.loss = losses[i];
            if (run(seed, &lc, (enum tapir_tcp_cc)cc, bytes, buf, &r) != 0)
                return 1;
            printf("%-8s %8.1f %14.2f %14.3f %10" PRIu64 " %10" PRIu64 "\n", names[cc],
                losses[i] * 100, (double)r.bytes * 8 / r.virt_s / 1e6, r.virt_s, r.packets,
                r.dropped);
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct sim_link_cfg lc = { .delay_us = 100 };
    struct result r;
    uint64_t seed = 1;
    uint32_t buf = 0;
    double mb = 64;
    bool tab = false;
    int opt;

    while ((opt = getopt(argc, argv, "m:l:r:q:d:s:Tb:")) != -1) {
        switch (opt) {
        case 'm': mb = atof(optarg); break;
        case 'l': lc.loss = atof(optarg); break;
        case 'r': lc.rate_bps = strtoull(optarg, NULL, 0); break;
        case 'q': lc.queue_bytes = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'd': lc.delay_us = strtoll(optarg, NULL, 0); break;
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 'T': tab = true; break;
        case 'b': buf = (uint32_t)strtoul(optarg, NULL, 0); break;
        default: return usage(argv[0]);
        }
    }
    if (mb <= 0)
        return usage(argv[0]);
    if (tab) {
        if (lc.rate_bps == 0) {
            lc.rate_bps = 100000000;
            lc.delay_us = 10000;
            lc.queue_bytes = 250000;
        }
        return table(seed, lc, (uint64_t)(mb * 1024 * 1024), buf);
    }
    if (run(seed, &lc, TAPIR_TCP_CC_NEWRENO, (uint64_t)(mb * 1024 * 1024), buf, &r) != 0)
        return 1;
    printf("sim_bench: %.1f MB in %.3f CPU s: %.1f MB of payload per CPU second\n",
        (double)r.bytes / 1e6, r.cpu_s, (double)r.bytes / 1e6 / r.cpu_s);
    printf("sim_bench: link loss %.3f rate %" PRIu64 " bit/s queue %" PRIu32 " B delay %" PRId64
        " us; virtual completion %.3f s, goodput %.2f Mbit/s; %" PRIu64 " packets, %" PRIu64
        " dropped\n", lc.loss, lc.rate_bps, lc.queue_bytes, lc.delay_us, r.virt_s,
        (double)r.bytes * 8 / r.virt_s / 1e6, r.packets, r.dropped);
    return 0;
}
