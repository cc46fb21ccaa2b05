/*
 * tests/unit/tcp_matrix_test.c -- every synchronized state x every kind of
 * arriving segment (SYN, SYN+ACK, ACK, FIN, RST, RST+ACK, data), inside the
 * window and outside it (old), asserting the segment sent in reply and the
 * state reached (RFC 9293 3.10.7.4, RFC 5961, RFC 1337), SYN-RECEIVED
 * included.  LISTEN, SYN-SENT and ports without a socket: see
 * tcp_open_matrix_test.  Each case runs on a fresh stack.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/tcp_harness.h"

enum { A = TP_TCP_ACK, S = TP_TCP_SYN, F = TP_TCP_FIN, R = TP_TCP_RST, P = TP_TCP_PSH };

enum kind { K_SYN, K_SYNACK, K_ACK, K_FIN, K_RST, K_RSTACK, K_DATA, K_N };

static const char *const kind_names[K_N] = {
    "SYN", "SYN+ACK", "ACK", "FIN", "RST", "RST+ACK", "data",
};

#define NONE 0xff                   /* no reply expected */
#define CLOSED_ TAPIR_TCP_CLOSED

/* A connection brought to a state, with the numbers a peer would use. */
struct conn {
    int s;
    uint32_t iss;
    uint32_t rcv_nxt;               /* what we expect next from the peer */
    uint32_t snd_una;               /* what the peer has acknowledged */
    uint32_t snd_max;
};

/* SYN-RECEIVED by simultaneous open, so the socket has a handle. */
static struct conn
reach_syn_received(struct th *h)
{
    struct th_seg syn = { 0 };
    struct conn c;

    c.s = tapir_tcp_socket(h->st);
    th_connect(h, c.s, 6000, S);
    c.iss = h->last.seq;
    syn.flags = S;
    syn.seq = 1000;
    syn.win = 65535;
    th_inject(h, &syn);
    th_expect(h, S | A, c.iss, 1001, TH_ANY, 0);
    c.rcv_nxt = 1001;
    c.snd_una = c.snd_max = c.iss + 1;
    return c;
}

static struct conn
reach(struct th *h, enum tapir_tcp_state st)
{
    struct conn c;
    int l;

    if (st == TAPIR_TCP_SYN_RECEIVED) {
        c = reach_syn_received(h);
        assert_int_equal(th_state(h, c.s), st);
        return c;
    }

    c.s = th_passive_open(h, 80, 1000, &l, &c.iss);
    tapir_tcp_close(h->st, l);
    c.rcv_nxt = 1001;
    c.snd_una = c.snd_max = c.iss + 1;
    if (st == TAPIR_TCP_CLOSE_WAIT || st == TAPIR_TCP_LAST_ACK) {
        th_send(h, F | A, 1001, c.iss + 1, 65535, NULL, 0);
        th_expect(h, A, c.iss + 1, 1002, TH_ANY, 0);
        c.rcv_nxt = 1002;
    }
    if (st == TAPIR_TCP_LAST_ACK || st == TAPIR_TCP_FIN_WAIT_1 || st == TAPIR_TCP_FIN_WAIT_2
        || st == TAPIR_TCP_CLOSING || st == TAPIR_TCP_TIME_WAIT) {
        tapir_tcp_shutdown(h->st, c.s, TAPIR_SHUT_WR);
        th_poll(h);
        th_expect(h, F | A, c.iss + 1, c.rcv_nxt, TH_ANY, 0);
        c.snd_max = c.iss + 2;
    }
    if (st == TAPIR_TCP_FIN_WAIT_2 || st == TAPIR_TCP_TIME_WAIT) {
        th_send(h, A, 1001, c.iss + 2, 65535, NULL, 0);
        c.snd_una = c.iss + 2;
    }
    if (st == TAPIR_TCP_CLOSING || st == TAPIR_TCP_TIME_WAIT) {
        th_send(h, F | A, 1001, c.snd_una, 65535, NULL, 0);
        th_expect(h, A, c.snd_max, 1002, TH_ANY, 0);
        c.rcv_nxt = 1002;
    }
    th_expect_none(h);
    assert_int_equal(th_state(h, c.s), st);
    return c;
}

static void
inject(struct th *h, const struct conn *c, enum kind k, bool inwin)
{
    uint32_t seq = inwin ? c->rcv_nxt : c->rcv_nxt - 1000;

    switch (k) {
    case K_SYN: th_send(h, S, seq, 0, 65535, NULL, 0); break;
    case K_SYNACK: th_send(h, S | A, seq, c->snd_una, 65535, NULL, 0); break;
    case K_ACK: th_send(h, A, seq, c->snd_una, 65535, NULL, 0); break;
    case K_FIN: th_send(h, F | A, seq, c->snd_una, 65535, NULL, 0); break;
    case K_RST: th_send(h, R, seq, 0, 0, NULL, 0); break;
    case K_RSTACK: th_send(h, R | A, seq, c->snd_una, 0, NULL, 0); break;
    case K_DATA: th_send(h, A, seq, c->snd_una, 65535, "0123456789", 10); break;
    case K_N: break;
    }
}

struct want {
    uint8_t reply;                  /* flags of the one reply, or NONE */
    int ack_delta;                  /* its ACK minus RCV.NXT before the segment */
    enum tapir_tcp_state to;
};

/* The RFC's answer for a segment in the window.  "=" keeps the state. */
static struct want
want_inwin(enum tapir_tcp_state st, enum kind k)
{
    bool had_fin = st == TAPIR_TCP_CLOSE_WAIT || st == TAPIR_TCP_CLOSING
        || st == TAPIR_TCP_LAST_ACK || st == TAPIR_TCP_TIME_WAIT;

    if (st == TAPIR_TCP_SYN_RECEIVED) {
        switch (k) {
        case K_ACK:
        case K_DATA:
            return (struct want){ NONE, 0, TAPIR_TCP_ESTABLISHED };     /* handshake done */
        case K_FIN:
            return (struct want){ A, 1, TAPIR_TCP_CLOSE_WAIT };
        case K_RST:
        case K_RSTACK:
            return (struct want){ NONE, 0, CLOSED_ };                   /* ECONNREFUSED */
        case K_SYN:
        case K_SYNACK:
        case K_N:
            break;
        }
    }

    switch (k) {
    case K_SYN:
    case K_SYNACK:
        return (struct want){ A, 0, st };                   /* RFC 5961 4.2 challenge */
    case K_ACK:
        return (struct want){ NONE, 0, st };
    case K_FIN:
        if (had_fin)
            return (struct want){ A, 0, st };               /* a FIN again: re-ACK */
        return (struct want){ A, 1, st == TAPIR_TCP_ESTABLISHED ? TAPIR_TCP_CLOSE_WAIT
            : st == TAPIR_TCP_FIN_WAIT_1 ? TAPIR_TCP_CLOSING : TAPIR_TCP_TIME_WAIT };
    case K_RST:
    case K_RSTACK:
        if (st == TAPIR_TCP_TIME_WAIT)
            return (struct want){ NONE, 0, st };            /* RFC 1337 */
        return (struct want){ NONE, 0, CLOSED_ };
    case K_DATA:
        if (st == TAPIR_TCP_TIME_WAIT)
            return (struct want){ A, 0, st };               /* "acknowledge it" */
        return (struct want){ NONE, 0, st };                /* taken (delayed ACK) or ignored */
    case K_N:
        break;
    }
    return (struct want){ NONE, 0, st };
}

/* The answer for an old segment (left of the window). */
static struct want
want_old(enum tapir_tcp_state st, enum kind k)
{
    switch (k) {
    case K_RST:
    case K_RSTACK:
        return (struct want){ NONE, 0, st };                /* ignored */
    case K_ACK:                     /* unacceptable: ACK, TIME-WAIT too */
    case K_SYN:
    case K_SYNACK:
    case K_FIN:
    case K_DATA:
        return (struct want){ A, 0, st };                   /* unacceptable: ACK */
    case K_N:
        break;
    }
    return (struct want){ NONE, 0, st };
}

static void
run_case(enum tapir_tcp_state st, enum kind k, bool inwin)
{
    struct th *h = th_new(NULL);
    struct conn c = reach(h, st);
    struct want w = inwin ? want_inwin(st, k) : want_old(st, k);
    struct th_seg got;

    inject(h, &c, k, inwin);
    if (w.reply == NONE) {
        if (th_next(h, &got))
            fail_msg("%s + %s %s: unexpected reply flags 0x%x", tapir_tcp_state_name(st),
                kind_names[k], inwin ? "in window" : "old", got.flags);
    } else {
        if (!th_next(h, &got))
            fail_msg("%s + %s %s: no reply", tapir_tcp_state_name(st), kind_names[k],
                inwin ? "in window" : "old");
        if (got.flags != w.reply || got.seq != c.snd_max
            || got.ack != c.rcv_nxt + (uint32_t)w.ack_delta)
            fail_msg("%s + %s %s: reply flags 0x%x seq %u ack %u, want 0x%x seq %u ack %u",
                tapir_tcp_state_name(st), kind_names[k], inwin ? "in window" : "old",
                got.flags, got.seq, got.ack, w.reply, c.snd_max,
                c.rcv_nxt + (uint32_t)w.ack_delta);
        th_expect_none(h);
    }
    if (th_state(h, c.s) != w.to)
        fail_msg("%s + %s %s: state %s, want %s", tapir_tcp_state_name(st), kind_names[k],
            inwin ? "in window" : "old", tapir_tcp_state_name(th_state(h, c.s)),
            tapir_tcp_state_name(w.to));
    if (inwin && k == K_DATA && (st == TAPIR_TCP_ESTABLISHED || st == TAPIR_TCP_FIN_WAIT_1
        || st == TAPIR_TCP_FIN_WAIT_2 || st == TAPIR_TCP_SYN_RECEIVED)) {
        char buf[16];

        assert_int_equal(tapir_tcp_recv(h->st, c.s, buf, sizeof(buf), 0), 10);
    }
    tapir_tcp_abort(h->st, c.s);
    th_drain(h);
    th_free(h);
}

static void
run_state(enum tapir_tcp_state st)
{
    for (int k = 0; k < K_N; k++) {
        run_case(st, (enum kind)k, true);
        run_case(st, (enum kind)k, false);
    }
}

static void syn_received(void **state) { (void)state; run_state(TAPIR_TCP_SYN_RECEIVED); }
static void established(void **state) { (void)state; run_state(TAPIR_TCP_ESTABLISHED); }
static void fin_wait_1(void **state) { (void)state; run_state(TAPIR_TCP_FIN_WAIT_1); }
static void fin_wait_2(void **state) { (void)state; run_state(TAPIR_TCP_FIN_WAIT_2); }
static void close_wait(void **state) { (void)state; run_state(TAPIR_TCP_CLOSE_WAIT); }
static void closing(void **state) { (void)state; run_state(TAPIR_TCP_CLOSING); }
static void last_ack(void **state) { (void)state; run_state(TAPIR_TCP_LAST_ACK); }
static void time_wait(void **state) { (void)state; run_state(TAPIR_TCP_TIME_WAIT); }

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syn_received),
        cmocka_unit_test(established),
        cmocka_unit_test(fin_wait_1),
        cmocka_unit_test(fin_wait_2),
        cmocka_unit_test(close_wait),
        cmocka_unit_test(closing),
        cmocka_unit_test(last_ack),
        cmocka_unit_test(time_wait),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
