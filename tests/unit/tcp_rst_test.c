/*
 * tests/unit/tcp_rst_test.c -- resets and blind-attack defences: RFC 9293
 * 3.10.7 per state, RFC 5961 (exact RST, challenge ACKs and their rate
 * limit, the ACK range check, and the switches that turn it off), RFC 1337
 * in TIME-WAIT.
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

struct fx {
    struct th *h;
    int l, s;
    uint32_t iss;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    f->h = th_new(NULL);
    f->s = th_passive_open(f->h, 80, 1000, &f->l, &f->iss);
    tapir_tcp_close(f->h->st, f->l);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    th_expire(f->h, 10 * 60 * 1000);
    th_free(f->h);
    free(f);
    return 0;
}

static void
exact_rst_resets_established(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    struct tapir_tcp_event ev;
    char c;

    th_send(h, R, 1001, 0, 0, NULL, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_CLOSED);
    assert_true(tapir_tcp_next_event(h->st, &ev));
    assert_int_equal(ev.sock, f->s);
    assert_true((ev.events & (TAPIR_EV_ERROR | TAPIR_EV_HUP)) == (TAPIR_EV_ERROR | TAPIR_EV_HUP));
    assert_int_equal(tapir_tcp_recv(h->st, f->s, &c, 1, 0), -ECONNRESET);
    assert_int_equal(tapir_tcp_send(h->st, f->s, &c, 1, 0), -EPIPE);
    assert_int_equal(th_stat(h, "TcpEstabResets"), 1);
    tapir_tcp_close(h->st, f->s);
}

static void
in_window_rst_gets_a_challenge_ack(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, R, 1001 + 100, 0, 0, NULL, 0);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);       /* RFC 5961 3.2 */
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_ESTABLISHED);
    assert_int_equal(th_stat(h, "TcpExtTCPChallengeACK"), 1);
    th_send(h, R | A, 1001 + 60000, f->iss + 1, 0, NULL, 0);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    tapir_tcp_abort(h->st, f->s);
    th_expect(h, R | A, f->iss + 1, 1001, TH_ANY, 0);
}

static void
out_of_window_rst_is_ignored(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, R, 1000, 0, 0, NULL, 0);                 /* just left of the window */
    th_send(h, R, 1001 + 70000, 0, 0, NULL, 0);         /* past the right edge */
    th_expect_none(h);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_ESTABLISHED);
    assert_int_equal(th_stat(h, "TapirTcpRstOutOfWindow"), 2);
    tapir_tcp_abort(h->st, f->s);
    th_drain(h);
}

static void
syn_in_established_gets_a_challenge_ack(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, S, 1001 + 10, 0, 65535, NULL, 0);        /* in window */
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);       /* RFC 5961 4.2 */
    /* Outside the window: a challenge ACK as well, "irrespective of the
     * sequence number" (RFC 5961 4.2), counted as one. */
    th_send(h, S, 5, 0, 65535, NULL, 0);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_ESTABLISHED);
    assert_int_equal(th_stat(h, "TcpExtTCPChallengeACK"), 2);
    tapir_tcp_abort(h->st, f->s);
    th_drain(h);
}

/* Turn one of the cfg.tcp switches on in the running stack. */
static void
set_switch(struct th *h, bool *(*field)(struct tapir_tcp_config *))
{
    struct tapir_tcp_config tcp = tapir_stack_config(h->st)->tcp;

    *field(&tcp) = true;
    assert_int_equal(tapir_stack_set_tcp_config(h->st, &tcp), 0);
}

static bool *
rst_in_window(struct tapir_tcp_config *t)
{
    return &t->rst_in_window;
}

static bool *
syn_in_window(struct tapir_tcp_config *t)
{
    return &t->syn_in_window;
}

/* RFC 5961 3.2 turned off: RFC 793's rule, any RST in the window resets;
 * one outside it is still ignored. */
static void
rst_in_window_switch_resets_on_any_in_window_rst(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    set_switch(h, rst_in_window);
    th_send(h, R, 1000, 0, 0, NULL, 0);                 /* left of the window */
    th_expect_none(h);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_ESTABLISHED);
    th_send(h, R, 1001 + 100, 0, 0, NULL, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, f->s), -ECONNRESET);
    assert_int_equal(th_stat(h, "TcpExtTCPChallengeACK"), 0);
    tapir_tcp_close(h->st, f->s);
}

/* RFC 5961 4.2 turned off: a SYN in the window draws <SEQ=SND.NXT>
 * <ACK=RCV.NXT><CTL=RST,ACK> and ends the connection with ECONNRESET; a SYN
 * outside the window is still answered with an ACK. */
static void
syn_in_window_switch_resets_the_connection(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    set_switch(h, syn_in_window);
    th_send(h, S, 5, 0, 65535, NULL, 0);                /* outside */
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    th_send(h, S, 1000, 0, 65535, "ab", 2);             /* acceptable, but the SYN is left */
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_ESTABLISHED);
    th_send(h, S, 1001 + 10, 0, 65535, NULL, 0);        /* inside */
    th_expect(h, R | A, f->iss + 1, 1001, TH_ANY, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, f->s), -ECONNRESET);
    assert_int_equal(th_stat(h, "TcpEstabResets"), 1);
    tapir_tcp_close(h->st, f->s);
}

static void
challenge_acks_are_rate_limited(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    int sent = 0;

    for (int i = 0; i < 1100; i++) {
        th_send(h, R, 1001 + 1 + (uint32_t)i, 0, 0, NULL, 0);
        while (th_pending(h) > 0) {
            th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
            sent++;
        }
    }
    assert_int_equal(sent, 1000);                       /* challenge_ack_per_sec */
    assert_int_equal(th_stat(h, "TapirTcpChallengeACKLimited"), 100);
    th_advance_ms(h, 1000);                             /* the bucket refills */
    th_send(h, R, 1001 + 5, 0, 0, NULL, 0);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    tapir_tcp_abort(h->st, f->s);
    th_drain(h);
}

static void
ack_range_is_checked(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    /* An ACK of data never sent: ACK back and drop (RFC 9293, RFC 5961 5.2). */
    th_send(h, A, 1001, f->iss + 10, 65535, "x", 1);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    assert_int_equal(th_stat(h, "TapirTcpAckTooNew"), 1);
    /* Far below SND.UNA - MAX.SND.WND: a challenge ACK. */
    th_send(h, A, 1001, f->iss - 200000, 65535, "x", 1);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    assert_int_equal(th_stat(h, "TapirTcpAckTooOld"), 1);
    assert_int_equal(th_stat(h, "TcpExtTCPChallengeACK"), 1);
    /* Neither delivered its byte. */
    assert_int_equal(tapir_tcp_readiness(h->st, f->s) & TAPIR_EV_READABLE, 0);
    tapir_tcp_abort(h->st, f->s);
    th_drain(h);
}

static void
out_of_window_data_is_acked_and_dropped(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, A, 500, f->iss + 1, 65535, "old", 3);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    th_send(h, A, 1001 + 100000, f->iss + 1, 65535, "far", 3);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    assert_int_equal(th_stat(h, "TapirTcpSeqDrops"), 2);
    tapir_tcp_abort(h->st, f->s);
    th_drain(h);
}

static void
rst_in_close_wait_and_fin_wait_2(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    char c;

    th_send(h, F | A, 1001, f->iss + 1, 65535, NULL, 0);
    th_expect(h, A, f->iss + 1, 1002, TH_ANY, 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_CLOSE_WAIT);
    th_send(h, R, 1002, 0, 0, NULL, 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_recv(h->st, f->s, &c, 1, 0), 0);     /* EOF was seen first */
    assert_int_equal(tapir_tcp_error(h->st, f->s), -ECONNRESET);
    tapir_tcp_close(h->st, f->s);
    /* A second connection, closed by us, reset in FIN-WAIT-2. */
    f->s = th_passive_open(h, 81, 5000, &f->l, &f->iss);
    tapir_tcp_close(h->st, f->l);
    tapir_tcp_shutdown(h->st, f->s, TAPIR_SHUT_WR);
    th_poll(h);
    th_expect(h, F | A, f->iss + 1, 5001, TH_ANY, 0);
    th_send(h, A, 5001, f->iss + 2, 65535, NULL, 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_FIN_WAIT_2);
    th_send(h, R, 5001, 0, 0, NULL, 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, f->s), -ECONNRESET);
    tapir_tcp_close(h->st, f->s);
}

static void
rst_in_last_ack_closes_quietly(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, F | A, 1001, f->iss + 1, 65535, NULL, 0);
    th_expect(h, A, f->iss + 1, 1002, TH_ANY, 0);
    tapir_tcp_close(h->st, f->s);                       /* orphan in LAST-ACK */
    th_poll(h);
    th_expect(h, F | A, f->iss + 1, 1002, TH_ANY, 0);
    assert_int_equal(th_nsocks(h), 1);
    th_send(h, R, 1002, 0, 0, NULL, 0);
    assert_int_equal(th_nsocks(h), 0);
    th_expect_none(h);
}

static void
time_wait_ignores_rst(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    tapir_tcp_shutdown(h->st, f->s, TAPIR_SHUT_WR);
    th_poll(h);
    th_expect(h, F | A, f->iss + 1, 1001, TH_ANY, 0);
    th_send(h, F | A, 1001, f->iss + 2, 65535, NULL, 0);
    th_expect(h, A, f->iss + 2, 1002, TH_ANY, 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_TIME_WAIT);
    th_send(h, R, 1002, 0, 0, NULL, 0);                 /* RFC 1337: no assassination */
    th_expect_none(h);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_TIME_WAIT);
    assert_int_equal(th_stat(h, "TapirTcpRstInTimeWait"), 1);
    tapir_tcp_close(h->st, f->s);
}

static void
syn_sent_checks_ack_and_rst(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    uint32_t iss;
    int s;

    tapir_tcp_abort(h->st, f->s);
    th_drain(h);
    s = tapir_tcp_socket(h->st);
    th_connect(h, s, 7000, S);
    iss = h->last.seq;
    th_send(h, S | A, 50, iss + 5, 65535, NULL, 0);     /* unacceptable ACK */
    th_expect(h, R, iss + 5, TH_ANY, TH_ANY, 0);
    th_send(h, R, 0, 0, 0, NULL, 0);                    /* RST without ACK: ignored */
    th_send(h, R | A, 0, iss + 7, 0, NULL, 0);          /* RST with a bad ACK: ignored */
    th_expect_none(h);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_SENT);
    th_send(h, R | A, 0, iss + 1, 0, NULL, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, s), -ECONNREFUSED);
    tapir_tcp_close(h->st, s);
}

static void
bad_ack_in_syn_received_gets_rst(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    int l = tapir_tcp_socket(h->st);
    uint32_t iss;

    tapir_tcp_abort(h->st, f->s);
    th_drain(h);
    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 90 });
    tapir_tcp_listen(h->st, l, 4);
    h->lport = 90;
    th_send(h, S, 10, 0, 65535, NULL, 0);
    th_expect(h, S | A, TH_ANY, 11, TH_ANY, 0);
    iss = h->last.seq;
    th_send(h, A, 11, iss + 100, 65535, NULL, 0);
    th_expect(h, R, iss + 100, TH_ANY, TH_ANY, 0);
    th_send(h, A, 11, iss, 65535, NULL, 0);             /* SND.UNA itself is not acceptable */
    th_expect(h, R, iss, TH_ANY, TH_ANY, 0);
    tapir_tcp_close(h->st, l);
    th_drain(h);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(exact_rst_resets_established),
        T(in_window_rst_gets_a_challenge_ack),
        T(out_of_window_rst_is_ignored),
        T(syn_in_established_gets_a_challenge_ack),
        T(rst_in_window_switch_resets_on_any_in_window_rst),
        T(syn_in_window_switch_resets_the_connection),
        T(challenge_acks_are_rate_limited),
        T(ack_range_is_checked),
        T(out_of_window_data_is_acked_and_dropped),
        T(rst_in_close_wait_and_fin_wait_2),
        T(rst_in_last_ack_closes_quietly),
        T(time_wait_ignores_rst),
        T(syn_sent_checks_ack_and_rst),
        T(bad_ack_in_syn_received_gets_rst),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
