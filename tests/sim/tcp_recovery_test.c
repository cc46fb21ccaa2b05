/*
 * tests/sim/tcp_recovery_test.c -- loss recovery between two tapir stacks:
 * a filter drops the first transmission of three segments of one window
 * (deterministic, no random loss), and the transfer must complete
 * byte-exact with no retransmission timeout:
 *   - with SACK, by RFC 6675 recovery that retransmits exactly the three
 *     lost segments;
 *   - without SACK (either side off), by NewReno's partial ACKs (RFC 6582).
 * The sender's counters prove which mechanism worked.  Then lost
 * retransmissions and a lost tail, repaired by RACK-TLP (RFC 8985) without
 * an RTO, and by the RTO with RACK off; and a table through a bottleneck.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/stack_int.h"         /* one node's configuration differs: st->cfg */
#include "lib/sim.h"

#define PORT 5001
#define SIZE (400u * 1000u)
#define BIG (8u * 1000u * 1000u)
#define NDROP 3

struct xfer {
    struct sim *sim;
    uint64_t size;
    int cs, ls, as;
    uint64_t sent, rcvd;
    bool eof, bad, have_base;
    uint32_t base;                  /* sequence number of the first data byte */
    uint32_t seg;                   /* payload of a full segment */
    uint32_t drop[NDROP];           /* segment indices to drop */
    bool dropped[NDROP];
    int times;                      /* transmissions of each dropped: 0 means 1, -1 none */
    int seen[NDROP];
    uint32_t tail_from;             /* 0, or drop the first transmission from this offset on */
    uint32_t sent_end;              /* offset past the highest data sent */
};

static uint8_t
pattern(uint64_t i)
{
    return (uint8_t)(i * 7 + (i >> 9));
}

static uint64_t
stat(struct sim *sim, int node, const char *name)
{
    for (size_t i = 0; i < tapir_stats_count(); i++)
        if (strcmp(tapir_stats_name(i), name) == 0)
            return tapir_stats_get(sim_stack(sim, node), i);
    fail_msg("no counter %s", name);
    return 0;
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Drop the first transmission of the chosen data segments from node 0. */
static bool
filter(struct sim *sim, int from, int to, const uint8_t *pkt, size_t len, void *ctx)
{
    struct xfer *x = ctx;
    size_t ihl, thl, plen;
    uint32_t seq, off;

    (void)sim;
    (void)to;
    if (from != 0 || len < 40 || pkt[9] != 6)
        return false;
    ihl = (size_t)(pkt[0] & 0xf) * 4;
    thl = (size_t)(pkt[ihl + 12] >> 4) * 4;
    plen = len - ihl - thl;
    seq = be32(pkt + ihl + 4);
    if (plen == 0)
        return false;
    if (!x->have_base) {
        x->have_base = true;
        x->base = seq;
        x->seg = (uint32_t)plen;
    }
    off = seq - x->base;
    for (int i = 0; i < NDROP; i++) {
        if (x->seen[i] < (x->times == 0 ? 1 : x->times) && off == x->drop[i] * x->seg) {
            x->seen[i]++;
            x->dropped[i] = true;
            return true;
        }
    }
    if (off < x->sent_end)
        return false;               /* a retransmission */
    x->sent_end = off + (uint32_t)plen;
    return x->tail_from != 0 && off >= x->tail_from;
}

static void
pump(struct sim *sim, struct xfer *x)
{
    uint8_t buf[16384];
    struct tapir_stack *st = sim_stack(sim, 0);

    while (x->sent < x->size) {
        size_t n = x->size - x->sent < sizeof(buf) ? x->size - x->sent : sizeof(buf);
        long k;

        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(x->sent + i);
        k = tapir_tcp_send(st, x->cs, buf, n, 0);
        if (k <= 0)
            return;
        x->sent += (uint64_t)k;
    }
    tapir_tcp_shutdown(st, x->cs, TAPIR_SHUT_WR);
    x->sent++;                      /* past size: FIN queued */
}

static void
on_event(struct sim *sim, int node, const struct tapir_tcp_event *ev, void *ctx)
{
    struct xfer *x = ctx;
    struct tapir_stack *st = sim_stack(sim, node);
    uint8_t buf[16384];
    long n;

    if (node == 0) {
        if ((ev->events & TAPIR_EV_WRITABLE) && x->sent <= x->size)
            pump(sim, x);
        return;
    }
    if (ev->sock == x->ls) {
        int s = tapir_tcp_accept(st, x->ls, NULL);

        if (s >= 0)
            x->as = s;
        return;
    }
    while ((n = tapir_tcp_recv(st, x->as, buf, sizeof(buf), 0)) > 0) {
        for (long i = 0; i < n; i++)
            if (buf[i] != pattern(x->rcvd + (uint64_t)i))
                x->bad = true;
        x->rcvd += (uint64_t)n;
    }
    if (n == 0)
        x->eof = true;
}

static bool
done(struct sim *sim, void *ctx)
{
    struct xfer *x = ctx;

    (void)sim;
    return x->eof;
}

/* Set up node 1 listening and node 0 connecting with congestion control
 * cc; the caller runs it. */
static void
xfer_start(struct xfer *x, const struct sim_link_cfg *link, uint64_t seed, uint64_t size,
    bool sack0, bool sack1, bool rack, int cc)
{
    struct sim_cfg sc = { .seed = seed, .max_time_us = 3600LL * 1000000 };
    struct tapir_config tc;

    memset(x, 0, sizeof(*x));
    x->cs = x->ls = x->as = -1;
    x->size = size;
    tapir_config_default(&tc);
    tc.tcp.max_socks = 8;
    assert_int_equal(sim_new(&sc, &tc, &x->sim), 0);
    sim_set_links(x->sim, 0, 1, link);
    sim_tcp_on_event(x->sim, 0, on_event, x);
    sim_tcp_on_event(x->sim, 1, on_event, x);
    /* SACK off on one side: the other must not use it (RFC 2018 2). */
    sim_stack(x->sim, 0)->cfg.tcp.sack = sack0;
    sim_stack(x->sim, 1)->cfg.tcp.sack = sack1;
    sim_stack(x->sim, 0)->cfg.tcp.rack = rack;
    x->ls = tapir_tcp_socket(sim_stack(x->sim, 1));
    assert_int_equal(tapir_tcp_bind(sim_stack(x->sim, 1), x->ls, (struct tapir_sockaddr){ 0, PORT }), 0);
    assert_int_equal(tapir_tcp_listen(sim_stack(x->sim, 1), x->ls, 4), 0);
    x->cs = tapir_tcp_socket(sim_stack(x->sim, 0));
    assert_int_equal(tapir_tcp_setsockopt(sim_stack(x->sim, 0), x->cs, TAPIR_TCP_CONGESTION, cc), 0);
    assert_int_equal(tapir_tcp_connect(sim_stack(x->sim, 0), x->cs,
        (struct tapir_sockaddr){ sim_addr(x->sim, 1), PORT }), -EINPROGRESS);
}

static void
run(bool sack0, bool sack1, bool rack, const uint32_t drop[NDROP], uint64_t *rtx)
{
    struct sim_link_cfg link = { .delay_us = 5000 };
    struct xfer xs, *xp = &xs;
    int rc;

#define x (*xp)
    xfer_start(xp, &link, 42, SIZE, sack0, sack1, rack, TAPIR_TCP_CC_NEWRENO);
    memcpy(x.drop, drop, sizeof(x.drop));
    sim_set_filter(x.sim, filter, xp);

    rc = sim_run(x.sim, done, xp);
    if (rc != 0 || x.rcvd != SIZE || x.bad) {
        sim_trace_dump(x.sim, stderr, 60);
        fail_msg("run: rc %d (%s), %" PRIu64 " of %u bytes, bad %d", rc, sim_error(x.sim),
            x.rcvd, SIZE, x.bad);
    }
    for (int i = 0; i < NDROP; i++)
        assert_true(x.dropped[i]);
    assert_int_equal(sim_link_stats(x.sim, 0, 1)->filtered, NDROP);
    /* No retransmission timeout: the losses were repaired by ACK clocking. */
    assert_int_equal(stat(x.sim, 0, "TcpExtTCPTimeouts"), 0);
    *rtx = stat(x.sim, 0, "TcpRetransSegs");
    if (sack0 && sack1) {
        assert_int_equal(stat(x.sim, 0, "TcpExtTCPSackRecovery"), 1);
        assert_int_equal(stat(x.sim, 0, "TcpExtTCPRenoRecovery"), 0);
        assert_int_equal(*rtx, NDROP);      /* exactly the lost segments */
        assert_int_equal(stat(x.sim, 0, "TcpExtTCPLostRetransmit"), 0);
        /* RACK's marks, or none: DupThresh alone (RFC 6675) */
        assert_true(rack ? stat(x.sim, 0, "TapirTcpRackLost") > 0
            : stat(x.sim, 0, "TapirTcpRackLost") == 0);
    } else {
        assert_int_equal(stat(x.sim, 0, "TcpExtTCPSackRecovery"), 0);
        assert_int_equal(stat(x.sim, 0, "TcpExtTCPRenoRecovery"), 1);
        assert_true(*rtx >= NDROP);
    }
    printf("recovery sack %d/%d rack %d: %" PRIu64 " retransmissions, %.3f s virtual\n", sack0,
        sack1, rack, *rtx, (double)sim_now(x.sim) / 1e6);
    sim_free(x.sim);
#undef x
}

/* A bottleneck (rate limit and a bounded queue, 20 ms RTT) with random
 * loss: NewReno and CUBIC, RACK-TLP on and off, move BIG bytes at 0, 0.1, 1
 * and 5 % loss.  The test asserts delivery (byte-exact, completed); the
 * table of goodput, completion time, retransmissions, RTOs and tail loss
 * probes is for reading, not asserted. */
static void
bottleneck_table(void **state)
{
    static const double loss[] = { 0, 0.001, 0.01, 0.05 };
    static const char *const name[] = { "NewReno", "CUBIC" };

    (void)state;
    printf("\n%-8s %4s %6s %12s %10s %6s %5s %5s %5s %6s\n", "cc", "rack", "loss", "goodput",
        "time", "rtx", "RTOs", "TLPs", "CSS", "qdrops");
    for (int cc = 0; cc < TAPIR_TCP_CC_COUNT; cc++) {
        for (int rack = 0; rack <= 1; rack++) {
            for (size_t i = 0; i < sizeof(loss) / sizeof(loss[0]); i++) {
                struct sim_link_cfg link = { .delay_us = 10000, .rate_bps = 100000000,
                    .queue_bytes = 250000, .loss = loss[i] };
                struct sim_link_cfg back = { .delay_us = 10000, .loss = loss[i] };
                struct xfer *xp = calloc(1, sizeof(*xp));
                uint64_t size = loss[i] >= 0.05 ? BIG / 4 : BIG;
                double secs;
                int rc;

                assert_non_null(xp);
                xfer_start(xp, &link, 1000 + i, size, true, true, rack, cc);
                sim_set_link(xp->sim, 1, 0, &back);
                rc = sim_run(xp->sim, done, xp);
                if (rc != 0 || xp->rcvd != size || xp->bad) {
                    sim_trace_dump(xp->sim, stderr, 40);
                    fail_msg("%s rack %d loss %.1f%%: rc %d (%s), %" PRIu64 " of %" PRIu64 " bytes",
                        name[cc], rack, loss[i] * 100, rc, sim_error(xp->sim), xp->rcvd, size);
                }
                secs = (double)sim_now(xp->sim) / 1e6;
                printf("%-8s %4s %5.1f%% %7.2f Mb/s %8.3f s %6" PRIu64 " %5" PRIu64 " %5" PRIu64
                    " %5" PRIu64 " %6" PRIu64 "\n",
                    name[cc], rack ? "on" : "off", loss[i] * 100, (double)size * 8 / secs / 1e6, secs,
                    stat(xp->sim, 0, "TcpRetransSegs"), stat(xp->sim, 0, "TcpExtTCPTimeouts"),
                    stat(xp->sim, 0, "TcpExtTCPLossProbes"), stat(xp->sim, 0, "TapirTcpHystartCss"),
                    sim_link_stats(xp->sim, 0, 1)->queue_drops);
                sim_free(xp->sim);
                free(xp);
            }
        }
    }
}

/* Lost retransmissions and a lost tail, with RACK-TLP on and off: either
 * the three segments of one window lost twice (the first transmission and
 * the fast retransmission), or the last segments of the transfer (with the
 * FIN) lost once.  With RACK-TLP no RTO repairs them: RACK finds the lost
 * retransmissions (TcpExtTCPLostRetransmit) and a probe the tail
 * (TcpExtTCPLossProbes); RFC 6675 alone waits for the timer. */
static void
rack_tlp_against_the_timer(void **state)
{
    (void)state;
    for (int tail = 0; tail <= 1; tail++) {
        for (int rack = 0; rack <= 1; rack++) {
            struct sim_link_cfg link = { .delay_us = 5000 };
            struct xfer *xp = calloc(1, sizeof(*xp));
            uint64_t rto, tlp, lost_rtx;
            int rc;

            assert_non_null(xp);
            xfer_start(xp, &link, 42, SIZE, true, true, rack, TAPIR_TCP_CC_NEWRENO);
            if (tail) {
                xp->tail_from = SIZE - 3 * 1448;    /* MSS 1460 less the TS option */
                xp->times = -1;
            } else {
                xp->drop[0] = 20;
                xp->drop[1] = 24;
                xp->drop[2] = 28;
                xp->times = 2;
            }
            sim_set_filter(xp->sim, filter, xp);
            rc = sim_run(xp->sim, done, xp);
            if (rc != 0 || xp->rcvd != SIZE || xp->bad)
                fail_msg("tail %d rack %d: rc %d (%s), %" PRIu64 " bytes", tail, rack, rc,
                    sim_error(xp->sim), xp->rcvd);
            assert_int_equal(sim_link_stats(xp->sim, 0, 1)->filtered, tail ? 3 : 2 * NDROP);
            rto = stat(xp->sim, 0, "TcpExtTCPTimeouts");
            tlp = stat(xp->sim, 0, "TcpExtTCPLossProbes");
            lost_rtx = stat(xp->sim, 0, "TcpExtTCPLostRetransmit");
            printf("%s, rack %d: %" PRIu64 " RTOs, %" PRIu64 " probes, %" PRIu64
                " lost retransmissions found, %.3f s virtual\n", tail ? "tail lost" :
                "retransmissions lost", rack, rto, tlp, lost_rtx, (double)sim_now(xp->sim) / 1e6);
            if (rack) {
                assert_int_equal(rto, 0);
                if (tail) {
                    assert_true(tlp >= 1);
                    assert_int_equal(lost_rtx, 0);
                } else {
                    assert_int_equal(lost_rtx, NDROP);
                }
            } else {
                assert_true(rto >= 1);
                assert_int_equal(tlp, 0);
                assert_int_equal(lost_rtx, 0);
            }
            sim_free(xp->sim);
            free(xp);
        }
    }
}

/* Segments 20, 24 and 28 go in the same flight (IW10, then slow start). */
static const uint32_t one_window[NDROP] = { 20, 24, 28 };

static void
sack_recovers_three_losses_without_rto(void **state)
{
    uint64_t rtx;

    (void)state;
    run(true, true, true, one_window, &rtx);
    run(true, true, false, one_window, &rtx);
}

static void
newreno_recovers_three_losses_without_rto(void **state)
{
    uint64_t rtx;

    (void)state;
    run(false, true, true, one_window, &rtx);
    run(true, false, true, one_window, &rtx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sack_recovers_three_losses_without_rto),
        cmocka_unit_test(newreno_recovers_three_losses_without_rto),
        cmocka_unit_test(rack_tlp_against_the_timer),
        cmocka_unit_test(bottleneck_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
