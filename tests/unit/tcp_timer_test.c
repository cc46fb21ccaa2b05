/*
 * tests/unit/tcp_timer_test.c -- time: RFC 6298 RTO (SRTT/RTTVAR, Karn,
 * backoff), SYN and SYN,ACK retries, R1/R2 (MUST-20), FIN retransmission,
 * TIME-WAIT (2 MSL, restarted by a retransmitted FIN), keepalive.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/tcp_harness.h"

enum { A = TP_TCP_ACK, S = TP_TCP_SYN, F = TP_TCP_FIN, R = TP_TCP_RST, P = TP_TCP_PSH };

static struct th *
harness(uint32_t syn_retries, uint32_t r1, uint32_t r2, uint32_t msl_ms)
{
    struct tapir_config cfg;

    th_config(&cfg);
    cfg.tcp.syn_retries = syn_retries;
    cfg.tcp.r1 = r1;
    cfg.tcp.r2 = r2;
    cfg.tcp.msl_ms = msl_ms;
    return th_new(&cfg);
}

/* A passive open whose handshake takes rtt_ms: one RTT sample. */
static int
open_with_rtt(struct th *h, int64_t rtt_ms, uint32_t *iss, int *l)
{
    int c;

    *l = tapir_tcp_socket(h->st);
    tapir_tcp_bind(h->st, *l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, *l, 4);
    th_send(h, S, 1000, 0, 65535, NULL, 0);
    th_expect(h, S | A, TH_ANY, 1001, TH_ANY, 0);
    *iss = h->last.seq;
    th_advance_ms(h, rtt_ms);
    th_send(h, A, 1001, *iss + 1, 65535, NULL, 0);
    c = tapir_tcp_accept(h->st, *l, NULL);
    assert_true(c >= 0);
    tapir_tcp_close(h->st, *l);
    return c;
}

static uint32_t
rto_us(struct th *h, int s)
{
    struct tapir_tcp_info info;

    assert_int_equal(tapir_tcp_info(h->st, s, &info), 0);
    return info.rto_us;
}

static void
rto_from_rtt_sample_and_exponential_backoff(void **state)
{
    struct th *h = harness(6, 3, 15, 60000);
    uint32_t iss;
    int l, s = open_with_rtt(h, 100, &iss, &l);

    (void)state;
    /* RFC 6298 (2.2): SRTT 100 ms, RTTVAR 50 ms, RTO = 100 + 4 * 50. */
    assert_int_equal(rto_us(h, s), 300000);
    tapir_tcp_send(h->st, s, "data", 4, 0);
    th_poll(h);
    th_expect(h, A | P, iss + 1, 1001, TH_ANY, 4);
    th_advance_us(h, 299999);
    th_expect_none(h);
    th_advance_us(h, 1);
    th_expect(h, A | P, iss + 1, 1001, TH_ANY, 4);      /* (5.4) */
    th_advance_us(h, 599999);
    th_expect_none(h);
    th_advance_us(h, 1);                                /* (5.5): doubled */
    th_expect(h, A | P, iss + 1, 1001, TH_ANY, 4);
    assert_int_equal(rto_us(h, s), 1200000);
    assert_int_equal(th_stat(h, "TcpRetransSegs"), 2);
    assert_int_equal(th_stat(h, "TcpExtTCPTimeouts"), 2);
    /* Karn: the ACK of a retransmitted segment gives no sample. */
    th_advance_ms(h, 10);
    th_send(h, A, 1001, iss + 5, 65535, NULL, 0);
    assert_int_equal(rto_us(h, s), 1200000);
    /* A fresh segment acknowledged after 100 ms: SRTT 100, RTTVAR 37.5. */
    tapir_tcp_send(h->st, s, "more", 4, 0);
    th_poll(h);
    th_expect(h, A | P, iss + 5, 1001, TH_ANY, 4);
    th_advance_ms(h, 100);
    th_send(h, A, 1001, iss + 9, 65535, NULL, 0);
    assert_int_equal(rto_us(h, s), 250000);
    th_advance_ms(h, 10000);
    th_expect_none(h);
    tapir_tcp_abort(h->st, s);
    th_drain(h);
    th_free(h);
}

static void
syn_retries_end_in_etimedout(void **state)
{
    struct th *h = harness(3, 3, 15, 60000);
    struct tapir_tcp_event ev;
    int s = tapir_tcp_socket(h->st);
    const int64_t gaps[] = { 1000, 2000, 4000 };
    uint32_t iss;

    (void)state;
    th_connect(h, s, 7000, S);
    iss = h->last.seq;
    for (int i = 0; i < 3; i++) {
        th_advance_ms(h, gaps[i] - 1);
        th_expect_none(h);
        th_advance_ms(h, 1);
        th_expect(h, S, iss, 0, TH_ANY, 0);             /* the same SYN again */
    }
    th_advance_ms(h, 8000 - 1);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_SENT);
    th_advance_ms(h, 1);
    th_expect_none(h);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
    while (tapir_tcp_next_event(h->st, &ev))
        assert_true(ev.events & TAPIR_EV_ERROR);
    assert_int_equal(tapir_tcp_error(h->st, s), -ETIMEDOUT);
    assert_int_equal(th_stat(h, "TcpAttemptFails"), 1);
    assert_int_equal(th_stat(h, "TcpExtTCPAbortOnTimeout"), 1);
    tapir_tcp_close(h->st, s);
    th_free(h);
}

static void
syn_ack_retries_drop_the_embryo(void **state)
{
    struct th *h = harness(2, 3, 15, 60000);
    int l = tapir_tcp_socket(h->st);
    uint32_t iss;

    (void)state;
    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 4);
    th_send(h, S, 1, 0, 65535, NULL, 0);
    th_expect(h, S | A, TH_ANY, 2, TH_ANY, 0);
    iss = h->last.seq;
    th_advance_ms(h, 1000);
    th_expect(h, S | A, iss, 2, TH_ANY, 0);
    th_advance_ms(h, 2000);
    th_expect(h, S | A, iss, 2, TH_ANY, 0);
    assert_int_equal(th_nsocks(h), 2);
    th_advance_ms(h, 4000);
    th_expect_none(h);
    assert_int_equal(th_nsocks(h), 1);                  /* the listener alone */
    tapir_tcp_close(h->st, l);
    th_free(h);
}

static void
r2_ends_in_etimedout_and_r1_is_counted(void **state)
{
    struct th *h = harness(6, 2, 4, 60000);
    uint32_t iss, wait = 300000;
    int l, s = open_with_rtt(h, 100, &iss, &l);

    (void)state;
    tapir_tcp_send(h->st, s, "data", 4, 0);
    th_poll(h);
    th_expect(h, A | P, iss + 1, 1001, TH_ANY, 4);
    for (int i = 0; i < 4; i++) {
        th_advance_us(h, wait);
        th_expect(h, A | P, iss + 1, 1001, TH_ANY, 4);
        wait *= 2;
    }
    assert_int_equal(th_stat(h, "TapirTcpR1Reached"), 1);
    th_advance_us(h, wait - 1);
    assert_int_equal(th_state(h, s), TAPIR_TCP_ESTABLISHED);
    th_advance_us(h, 1);
    th_expect_none(h);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, s), -ETIMEDOUT);
    assert_int_equal(th_stat(h, "TcpExtTCPAbortOnTimeout"), 1);
    tapir_tcp_close(h->st, s);
    th_free(h);
}

static void
user_timeout_replaces_r2(void **state)
{
    struct th *h = harness(6, 3, 15, 60000);
    uint32_t iss;
    int l, s = open_with_rtt(h, 100, &iss, &l);

    (void)state;
    assert_int_equal(tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_USER_TIMEOUT, 1000), 0);
    tapir_tcp_send(h->st, s, "data", 4, 0);
    th_poll(h);
    th_expect(h, A | P, iss + 1, 1001, TH_ANY, 4);      /* sent at t */
    th_advance_ms(h, 300);
    th_expect(h, A | P, iss + 1, 1001, TH_ANY, 4);      /* t + 300 ms */
    th_advance_ms(h, 600);
    th_expect(h, A | P, iss + 1, 1001, TH_ANY, 4);      /* t + 900 ms */
    th_advance_ms(h, 1200);                             /* t + 2100 ms > 1 s: give up */
    th_expect_none(h);
    assert_int_equal(tapir_tcp_error(h->st, s), -ETIMEDOUT);
    tapir_tcp_close(h->st, s);
    th_free(h);
}

static void
fin_is_retransmitted(void **state)
{
    struct th *h = harness(6, 3, 15, 60000);
    uint32_t iss;
    int l, s = open_with_rtt(h, 100, &iss, &l);

    (void)state;
    tapir_tcp_close(h->st, s);
    th_poll(h);
    th_expect(h, F | A, iss + 1, 1001, TH_ANY, 0);
    th_advance_ms(h, 300);
    th_expect(h, F | A, iss + 1, 1001, TH_ANY, 0);
    th_advance_ms(h, 600);
    th_expect(h, F | A, iss + 1, 1001, TH_ANY, 0);
    th_send(h, A, 1001, iss + 2, 65535, NULL, 0);       /* FIN-WAIT-2 (orphan) */
    th_send(h, F | A, 1001, iss + 2, 65535, NULL, 0);
    th_expect(h, A, iss + 2, 1002, TH_ANY, 0);
    th_expire(h, 10 * 60 * 1000);
    th_free(h);
}

static void
time_wait_is_2msl_and_restarted_by_a_retransmitted_fin(void **state)
{
    struct th *h = harness(6, 3, 15, 1000);
    uint32_t iss;
    int l, s = open_with_rtt(h, 100, &iss, &l);

    (void)state;
    tapir_tcp_close(h->st, s);
    th_poll(h);
    th_expect(h, F | A, iss + 1, 1001, TH_ANY, 0);
    th_send(h, F | A, 1001, iss + 2, 65535, NULL, 0);   /* ACKs ours, sends its own */
    th_expect(h, A, iss + 2, 1002, TH_ANY, 0);
    assert_int_equal(th_nsocks(h), 1);
    th_advance_ms(h, 1500);
    th_send(h, F | A, 1001, iss + 2, 65535, NULL, 0);   /* our ACK was lost */
    th_expect(h, A, iss + 2, 1002, TH_ANY, 0);
    th_advance_ms(h, 1999);
    assert_int_equal(th_nsocks(h), 1);                  /* 2 MSL from the restart */
    th_advance_ms(h, 1);
    assert_int_equal(th_nsocks(h), 0);
    th_expect_none(h);
    th_free(h);
}

static void
keepalive_probes_then_gives_up(void **state)
{
    struct th *h = harness(6, 3, 15, 60000);
    uint32_t iss;
    int l, s = open_with_rtt(h, 100, &iss, &l);

    (void)state;
    tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_KEEPIDLE, 10);
    tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_KEEPINTVL, 2);
    tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_KEEPCNT, 2);
    tapir_tcp_setsockopt(h->st, s, TAPIR_SO_KEEPALIVE, 1);
    th_advance_ms(h, 10000);
    th_expect(h, A, iss, 1001, TH_ANY, 0);              /* SEG.SEQ = SND.UNA - 1 */
    th_send(h, A, 1001, iss + 1, 65535, NULL, 0);       /* the peer lives: idle again */
    th_advance_ms(h, 9999);
    th_expect_none(h);
    th_advance_ms(h, 1);
    th_expect(h, A, iss, 1001, TH_ANY, 0);
    th_advance_ms(h, 2000);
    th_expect(h, A, iss, 1001, TH_ANY, 0);
    assert_int_equal(th_stat(h, "TcpExtTCPAbortOnTimeout"), 0);
    th_advance_ms(h, 2000);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, s), -ETIMEDOUT);
    assert_int_equal(th_stat(h, "TcpExtTCPAbortOnTimeout"), 1);     /* as Linux counts it */
    tapir_tcp_close(h->st, s);
    th_free(h);
}

/* TCP_KEEPIDLE changed while keep-alives wait: the wait takes the new
 * idle time at once (MUST-27), not after the old one ran out. */
static void
keepidle_change_rearms_the_pending_wait(void **state)
{
    struct th *h = harness(6, 3, 15, 60000);
    uint32_t iss;
    int l, s = open_with_rtt(h, 100, &iss, &l);

    (void)state;
    tapir_tcp_setsockopt(h->st, s, TAPIR_SO_KEEPALIVE, 1);     /* 2 h idle */
    th_advance_ms(h, 1000);
    tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_KEEPIDLE, 10);
    th_advance_ms(h, 9999);
    th_expect_none(h);
    th_advance_ms(h, 1);
    th_expect(h, A, iss, 1001, TH_ANY, 0);
    tapir_tcp_abort(h->st, s);
    th_drain(h);
    th_free(h);
}

static void
next_deadline_is_reported(void **state)
{
    struct th *h = harness(6, 3, 15, 60000);
    uint32_t iss;
    int l, s = open_with_rtt(h, 100, &iss, &l);
    struct tapir_time t;

    (void)state;
    assert_int_equal(th_poll(h).us, INT64_MAX);         /* idle: nothing to wait for */
    tapir_tcp_send(h->st, s, "x", 1, 0);
    th_poll(h);
    th_drain(h);
    t = th_poll(h);
    assert_int_equal(t.us, h->now.us + 300000);         /* the RTO */
    tapir_tcp_abort(h->st, s);
    th_drain(h);
    assert_int_equal(th_poll(h).us, INT64_MAX);
    th_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rto_from_rtt_sample_and_exponential_backoff),
        cmocka_unit_test(syn_retries_end_in_etimedout),
        cmocka_unit_test(syn_ack_retries_drop_the_embryo),
        cmocka_unit_test(r2_ends_in_etimedout_and_r1_is_counted),
        cmocka_unit_test(user_timeout_replaces_r2),
        cmocka_unit_test(fin_is_retransmitted),
        cmocka_unit_test(time_wait_is_2msl_and_restarted_by_a_retransmitted_fin),
        cmocka_unit_test(keepalive_probes_then_gives_up),
        cmocka_unit_test(keepidle_change_rearms_the_pending_wait),
        cmocka_unit_test(next_deadline_is_reported),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
