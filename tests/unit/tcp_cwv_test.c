/*
 * tests/unit/tcp_cwv_test.c -- what becomes of a congestion window the
 * sender does not fill (cfg.tcp.cwv): RFC 7661 (the default), RFC 5681 4.1
 * restart after idle, or neither.
 *
 * The peer is scripted: it answers every flight 10 ms after it left, so
 * SRTT is 10 ms, the RTO its 200 ms floor and the pipeACK sampling period
 * its 1 s floor.  No options are negotiated: segments carry 1460 bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "tapir/stack.h"
#include "tapir/tcp.h"
#include "lib/tcp_harness.h"

#define MSS 1460
#define PEER_ISS 5000u
#define RTT_MS 10
#define A TP_TCP_ACK

static char data[64 * MSS];

struct conn {
    struct th *h;
    int s;
    uint32_t iss;
    uint32_t acked;                 /* bytes the peer has acknowledged */
    uint32_t sent;                  /* bytes the stack has sent */
};

static void
open_cc(struct conn *c, enum tapir_tcp_cwv mode, enum tapir_tcp_cc cc)
{
    struct tapir_config cfg;

    th_config(&cfg);
    cfg.tcp.cwv = mode;
    cfg.tcp.cc = cc;
    c->h = th_new(&cfg);
    c->s = th_active_open(c->h, 80, PEER_ISS, &c->iss);
    c->acked = c->sent = 0;
}

static void
open_conn(struct conn *c, enum tapir_tcp_cwv mode)
{
    open_cc(c, mode, TAPIR_TCP_CC_NEWRENO);
}

static void
close_conn(struct conn *c)
{
    tapir_tcp_abort(c->h->st, c->s);
    th_drain(c->h);
    th_expire(c->h, 10 * 60 * 1000);
    th_free(c->h);
}

static struct tapir_tcp_info
info(struct conn *c)
{
    struct tapir_tcp_info ti;

    assert_int_equal(tapir_tcp_info(c->h->st, c->s, &ti), 0);
    return ti;
}

/* Queue n segments of data; return how many segments the stack sent now. */
static size_t
write_segs(struct conn *c, size_t n)
{
    size_t k = 0;
    struct th_seg seg;

    assert_int_equal(tapir_tcp_send(c->h->st, c->s, data, n * MSS, 0), (long)(n * MSS));
    th_poll(c->h);
    while (th_next(c->h, &seg)) {
        assert_int_equal(seg.seq, c->iss + 1 + c->sent);
        assert_int_equal(seg.len, MSS);
        c->sent += MSS;
        k++;
    }
    return k;
}

/* One RTT later the peer acknowledges everything sent, one ACK per
 * segment (each ACK grows cwnd in slow start) or one for all. */
static void
ack_all(struct conn *c, bool per_segment)
{
    th_advance_ms(c->h, RTT_MS);
    if (!per_segment) {
        c->acked = c->sent;
    }
    while (c->acked < c->sent) {
        c->acked += MSS;
        th_send(c->h, A, PEER_ISS + 1, c->iss + 1 + c->acked, 65535, NULL, 0);
    }
    if (!per_segment)
        th_send(c->h, A, PEER_ISS + 1, c->iss + 1 + c->acked, 65535, NULL, 0);
}

/* Slow start with a full window each round, from IW10 to 40 segments. */
static void
grow_to_40(struct conn *c)
{
    assert_int_equal(write_segs(c, 10), 10);
    ack_all(c, true);
    assert_int_equal(info(c).cwnd, 20 * MSS);
    assert_int_equal(write_segs(c, 20), 20);
    ack_all(c, true);
    assert_int_equal(info(c).cwnd, 40 * MSS);
    th_expect_none(c->h);
}

/* An application-limited sender: segs segments per round trip, rounds
 * times, back to back. */
static void
trickle(struct conn *c, size_t segs, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        assert_int_equal(write_segs(c, segs), segs);
        ack_all(c, false);
    }
}

/* After an idle period longer than the RTO: RFC 5681 4.1 restarts from the
 * initial window; RFC 7661 and "off" keep the window that was earned. */
static void
idle_restart_depends_on_the_mode(void **state)
{
    static const struct {
        enum tapir_tcp_cwv mode;
        size_t burst;
        uint64_t restarts;
    } cases[] = {
        { TAPIR_TCP_CWV_RESTART, 10, 1 },
        { TAPIR_TCP_CWV_RFC7661, 40, 0 },
        { TAPIR_TCP_CWV_OFF, 40, 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conn c;

        open_conn(&c, cases[i].mode);
        grow_to_40(&c);
        th_advance_ms(c.h, 2000);               /* idle: 10 RTOs */
        assert_int_equal(write_segs(&c, 44), cases[i].burst);
        assert_int_equal(th_stat(c.h, "TapirTcpCwndRestart"), cases[i].restarts);
        close_conn(&c);
    }
}

/* RFC 7661 4.3: once pipeACK (the most acknowledged in a round trip over
 * the last second here) is below half the window, the window stops
 * growing; with the mechanism off, the same ACKs keep growing it. */
static void
unused_window_does_not_grow(void **state)
{
    struct conn c;
    uint32_t w;

    (void)state;
    open_conn(&c, TAPIR_TCP_CWV_RFC7661);
    grow_to_40(&c);
    trickle(&c, 2, 150);                        /* 1.5 s: the full rounds' samples age out */
    w = info(&c).cwnd;
    assert_int_equal(th_stat(c.h, "TapirTcpCwvNonValidated"), 1);
    trickle(&c, 2, 150);
    assert_int_equal(info(&c).cwnd, w);
    /* A full window again: validated, and growing. */
    assert_int_equal(write_segs(&c, 40), 40);
    ack_all(&c, true);
    ack_all(&c, true);
    assert_int_equal(write_segs(&c, 40), 40);
    ack_all(&c, true);
    assert_true(info(&c).cwnd > w);
    close_conn(&c);

    open_conn(&c, TAPIR_TCP_CWV_OFF);
    grow_to_40(&c);
    trickle(&c, 2, 150);
    w = info(&c).cwnd;
    trickle(&c, 2, 150);
    assert_true(info(&c).cwnd > w);
    assert_int_equal(th_stat(c.h, "TapirTcpCwvNonValidated"), 0);
    close_conn(&c);
}

/* RFC 7661 4.4.3: a window unused for the whole non-validated period (5
 * minutes) is halved, not below the initial window, and ssthresh raised
 * to at least 3/4 of it. */
static void
window_is_halved_after_the_nonvalidated_period(void **state)
{
    struct conn c;
    uint32_t w = 0;

    (void)state;
    open_conn(&c, TAPIR_TCP_CWV_RFC7661);
    grow_to_40(&c);
    /* One segment a second, more than an RTO apart each time; the window
     * is not validated from the second second on. */
    for (int t = 0; t < 290; t++) {
        trickle(&c, 1, 1);
        th_advance_ms(c.h, 1000 - RTT_MS);
        if (t == 2)
            w = info(&c).cwnd;
    }
    assert_true(w >= 40 * MSS);
    assert_int_equal(info(&c).cwnd, w);
    assert_int_equal(th_stat(c.h, "TapirTcpCwvReduced"), 0);
    for (int t = 0; t < 20; t++) {
        trickle(&c, 1, 1);
        th_advance_ms(c.h, 1000 - RTT_MS);
    }
    assert_int_equal(th_stat(c.h, "TapirTcpCwvReduced"), 1);
    assert_int_equal(info(&c).cwnd, w / 2);
    /* No loss yet: max(ssthresh, 3/4 cwnd) keeps it unbounded (the rule
     * itself: halving_raises_ssthresh_to_three_quarters). */
    assert_int_equal(info(&c).ssthresh, UINT32_MAX);
    /* Five more minutes: halved again, but never below the initial window. */
    for (int t = 0; t < 300; t++) {
        trickle(&c, 1, 1);
        th_advance_ms(c.h, 1000 - RTT_MS);
    }
    assert_int_equal(th_stat(c.h, "TapirTcpCwvReduced"), 2);
    assert_int_equal(info(&c).cwnd, w / 4 > 10 * MSS ? w / 4 : 10 * MSS);
    for (int t = 0; t < 600; t++) {
        trickle(&c, 1, 1);
        th_advance_ms(c.h, 1000 - RTT_MS);
    }
    assert_int_equal(info(&c).cwnd, 10 * MSS);
    close_conn(&c);
}

/* RFC 7661 4.4.3 raises ssthresh to 3/4 of the window it halves when it
 * was below that: after a loss (ssthresh 20 segments) the window grew past
 * 4/3 of it, then went unused for the non-validated period. */
static void
halving_raises_ssthresh_to_three_quarters(void **state)
{
    struct conn c;
    uint32_t first, w, ss;
    int rounds = 0;

    (void)state;
    open_conn(&c, TAPIR_TCP_CWV_RFC7661);
    grow_to_40(&c);
    first = c.iss + 1 + c.sent;
    assert_int_equal(write_segs(&c, 40), 40);
    th_advance_ms(c.h, RTT_MS);
    for (int d = 0; d < 3; d++)
        th_send(c.h, A, PEER_ISS + 1, first, 65535, NULL, 0);
    th_expect(c.h, A, first, TH_ANY, TH_ANY, MSS);
    th_drain(c.h);
    ack_all(&c, false);
    ss = info(&c).ssthresh;
    assert_int_equal(ss, 20 * MSS);
    /* Full windows until cwnd is past 4/3 of ssthresh. */
    while ((w = info(&c).cwnd) < 28 * MSS) {
        assert_true(++rounds < 30);
        assert_int_equal(write_segs(&c, w / MSS), w / MSS);
        ack_all(&c, true);
    }
    assert_int_equal(info(&c).ssthresh, ss);
    for (int t = 0; t < 310; t++) {
        trickle(&c, 1, 1);
        th_advance_ms(c.h, 1000 - RTT_MS);
    }
    assert_int_equal(th_stat(c.h, "TapirTcpCwvReduced"), 1);
    assert_int_equal(info(&c).cwnd, w / 2);
    assert_int_equal(info(&c).ssthresh, (uint32_t)((uint64_t)w * 3 / 4));
    close_conn(&c);
}

/* RFC 7661 4.4.1: a loss while non-validated ends its recovery with
 * cwnd = (max(pipeACK, LossFlightSize) - R) / 2; with the mechanism off,
 * CUBIC reduces the unused window it had (ssthresh = 0.7 cwnd). */
static void
loss_while_nonvalidated_uses_what_was_in_flight(void **state)
{
    for (int mode = 0; mode < 2; mode++) {
        struct conn c;
        uint32_t first;

        (void)state;
        uint32_t w;

        open_cc(&c, mode == 0 ? TAPIR_TCP_CWV_RFC7661 : TAPIR_TCP_CWV_OFF, TAPIR_TCP_CC_CUBIC);
        grow_to_40(&c);
        trickle(&c, 2, 150);
        w = info(&c).cwnd;
        first = c.iss + 1 + c.sent;
        assert_int_equal(write_segs(&c, 8), 8);
        th_advance_ms(c.h, RTT_MS);
        for (int d = 0; d < 3; d++)             /* the first segment is lost */
            th_send(c.h, A, PEER_ISS + 1, first, 65535, NULL, 0);
        th_expect(c.h, A, first, TH_ANY, TH_ANY, MSS);     /* fast retransmit */
        th_drain(c.h);
        th_advance_ms(c.h, RTT_MS);
        c.acked = c.sent;
        th_send(c.h, A, PEER_ISS + 1, c.iss + 1 + c.acked, 65535, NULL, 0);
        if (mode == 0) {
            assert_int_equal(info(&c).cwnd, (8 * MSS - MSS) / 2);
            assert_int_equal(info(&c).ssthresh, (8 * MSS - MSS) / 2);
            assert_int_equal(th_stat(c.h, "TapirTcpCwvLoss"), 1);
        } else {
            assert_int_equal(info(&c).ssthresh, (uint32_t)((uint64_t)w * 7 / 10));
            assert_int_equal(th_stat(c.h, "TapirTcpCwvLoss"), 0);
        }
        close_conn(&c);
    }
}

/* The setting is checked. */
static void
bad_setting_is_refused(void **state)
{
    struct tapir_config cfg;
    struct tapir_link link = { 0 };
    struct tapir_stack *st = NULL;

    (void)state;
    th_config(&cfg);
    cfg.tcp.cwv = TAPIR_TCP_CWV_COUNT;
    assert_int_equal(tapir_stack_new(&cfg, &link, &st), -EINVAL);
    assert_null(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_restart_depends_on_the_mode),
        cmocka_unit_test(unused_window_does_not_grow),
        cmocka_unit_test(window_is_halved_after_the_nonvalidated_period),
        cmocka_unit_test(loss_while_nonvalidated_uses_what_was_in_flight),
        cmocka_unit_test(halving_raises_ssthresh_to_three_quarters),
        cmocka_unit_test(bad_setting_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
