/*
 * tests/unit/tcp_handshake_test.c -- opening connections (RFC 9293 3.5):
 * simultaneous open (MUST-10), SYN-RECEIVED's origin (MUST-11), listen
 * queues, MSS (MUST-15), data on a SYN (dropped in LISTEN, kept in
 * SYN-SENT: 3.10.7.3), SYN+FIN, simultaneous close.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/tcp_harness.h"

enum { A = TP_TCP_ACK, S = TP_TCP_SYN, F = TP_TCP_FIN, R = TP_TCP_RST, P = TP_TCP_PSH };

static int
setup(void **state)
{
    *state = th_new(NULL);
    return 0;
}

static int
teardown(void **state)
{
    th_free(*state);
    return 0;
}

static void
syn_opts(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack, bool mss, uint16_t mss_val)
{
    struct th_seg syn = { 0 };

    syn.flags = flags;
    syn.seq = seq;
    syn.ack = ack;
    syn.win = 65535;
    syn.opts.has_mss = mss;
    syn.opts.mss = mss_val;
    th_inject(h, &syn);
}

static void
simultaneous_open_reaches_established(void **state)
{
    struct th *h = *state;
    struct tapir_tcp_event ev;
    uint32_t iss;
    int s = tapir_tcp_socket(h->st);

    th_connect(h, s, 6000, S);
    iss = h->last.seq;
    syn_opts(h, S, 300, 0, true, 1460);                 /* the peer's SYN crosses ours */
    th_expect(h, S | A, iss, 301, TH_ANY, 0);
    assert_true(h->last.opts.has_mss);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_RECEIVED);
    syn_opts(h, S | A, 300, iss + 1, true, 1460);       /* its SYN,ACK */
    th_expect_none(h);
    assert_int_equal(th_state(h, s), TAPIR_TCP_ESTABLISHED);
    assert_true(tapir_tcp_next_event(h->st, &ev));
    assert_true(ev.events & TAPIR_EV_WRITABLE);
    assert_int_equal(tapir_tcp_send(h->st, s, "ab", 2, 0), 2);
    th_poll(h);
    th_expect(h, A | P, iss + 1, 301, TH_ANY, 2);
    tapir_tcp_abort(h->st, s);
    th_expect(h, R | A, iss + 3, 301, TH_ANY, 0);
}

static void
rst_in_syn_received_from_syn_sent_refuses_the_connect(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int s = tapir_tcp_socket(h->st);

    th_connect(h, s, 6000, S);
    iss = h->last.seq;
    syn_opts(h, S, 300, 0, true, 1460);
    th_expect(h, S | A, iss, 301, TH_ANY, 0);
    th_send(h, R, 301, 0, 0, NULL, 0);                  /* exact sequence number */
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, s), -ECONNREFUSED);
    assert_int_equal(th_stat(h, "TcpAttemptFails"), 1);
    tapir_tcp_close(h->st, s);
}

static void
rst_in_syn_received_from_listen_returns_to_listen(void **state)
{
    struct th *h = *state;
    int l = tapir_tcp_socket(h->st);

    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 4);
    syn_opts(h, S, 1000, 0, true, 1460);
    th_expect(h, S | A, TH_ANY, 1001, TH_ANY, 0);
    assert_int_equal(th_nsocks(h), 2);
    th_send(h, R, 1001, 0, 0, NULL, 0);
    assert_int_equal(th_nsocks(h), 1);                  /* the embryo is gone */
    assert_int_equal(th_state(h, l), TAPIR_TCP_LISTEN);
    assert_int_equal(tapir_tcp_accept(h->st, l, NULL), -EAGAIN);
    /* The listener still answers. */
    syn_opts(h, S, 5000, 0, true, 1460);
    th_expect(h, S | A, TH_ANY, 5001, TH_ANY, 0);
    tapir_tcp_close(h->st, l);
    th_expect(h, R | A, TH_ANY, 5001, TH_ANY, 0);
}

static void
retransmitted_syn_gets_the_syn_ack_again(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int l = tapir_tcp_socket(h->st);

    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 4);
    syn_opts(h, S, 1000, 0, true, 1460);
    th_expect(h, S | A, TH_ANY, 1001, TH_ANY, 0);
    iss = h->last.seq;
    syn_opts(h, S, 1000, 0, true, 1460);
    th_expect(h, S | A, iss, 1001, TH_ANY, 0);
    assert_int_equal(th_nsocks(h), 2);
    tapir_tcp_close(h->st, l);
    th_expect(h, R | A, TH_ANY, TH_ANY, TH_ANY, 0);
}

static void
ack_in_listen_gets_rst_and_rst_is_ignored(void **state)
{
    struct th *h = *state;
    int l = tapir_tcp_socket(h->st);

    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 4);
    th_send(h, A, 1, 4242, 1000, NULL, 0);
    th_expect(h, R, 4242, TH_ANY, TH_ANY, 0);
    th_send(h, R, 1, 0, 0, NULL, 0);
    th_expect_none(h);
    assert_int_equal(th_nsocks(h), 1);
    tapir_tcp_close(h->st, l);
}

static void
listen_queues_are_bounded_and_counted(void **state)
{
    struct th *h = *state;
    uint32_t iss[3];
    int l = tapir_tcp_socket(h->st);

    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 2);
    for (int i = 0; i < 2; i++) {
        h->rport = (uint16_t)(40000 + i);
        syn_opts(h, S, 100, 0, true, 1460);
        th_expect(h, S | A, TH_ANY, 101, TH_ANY, 0);
        iss[i] = h->last.seq;
    }
    h->rport = 40002;
    syn_opts(h, S, 100, 0, true, 1460);                 /* SYN queue full */
    th_expect_none(h);
    assert_int_equal(th_stat(h, "TcpExtListenDrops"), 1);
    h->rport = 40000;
    th_send(h, A, 101, iss[0] + 1, 65535, NULL, 0);     /* a: accept queue 1 */
    h->rport = 40002;
    syn_opts(h, S, 100, 0, true, 1460);                 /* c: SYN queue has room again */
    th_expect(h, S | A, TH_ANY, 101, TH_ANY, 0);
    iss[2] = h->last.seq;
    h->rport = 40001;
    th_send(h, A, 101, iss[1] + 1, 65535, NULL, 0);     /* b: accept queue 2 = backlog */
    h->rport = 40002;
    th_send(h, A, 101, iss[2] + 1, 65535, NULL, 0);     /* c: no room, stays embryonic */
    th_expect_none(h);
    assert_int_equal(th_stat(h, "TcpExtListenOverflows"), 1);
    assert_int_equal(th_stat(h, "TcpExtListenDrops"), 2);
    h->rport = 40003;
    syn_opts(h, S, 100, 0, true, 1460);                 /* accept queue full: SYN dropped */
    th_expect_none(h);
    assert_int_equal(th_stat(h, "TcpExtListenOverflows"), 2);
    assert_int_equal(th_nsocks(h), 4);
    int a = tapir_tcp_accept(h->st, l, NULL);
    int b = tapir_tcp_accept(h->st, l, NULL);
    assert_true(a >= 0 && b >= 0);
    assert_int_equal(tapir_tcp_accept(h->st, l, NULL), -EAGAIN);
    h->rport = 40002;                                   /* c's ACK again: room now */
    th_send(h, A, 101, iss[2] + 1, 65535, NULL, 0);
    int c = tapir_tcp_accept(h->st, l, NULL);
    assert_true(c >= 0);
    assert_int_equal(th_stat(h, "TcpPassiveOpens"), 3);
    tapir_tcp_abort(h->st, a);
    tapir_tcp_abort(h->st, b);
    tapir_tcp_abort(h->st, c);
    tapir_tcp_close(h->st, l);
    th_drain(h);
}

static void
embryos_hold_no_buffers(void **state)
{
    struct th *h = *state;
    int l = tapir_tcp_socket(h->st), c;
    uint32_t iss = 0;

    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 8);
    for (int i = 0; i < 8; i++) {
        h->rport = (uint16_t)(30000 + i);
        syn_opts(h, S, 7, 0, true, 1460);
        th_expect(h, S | A, TH_ANY, 8, TH_ANY, 0);
        iss = h->last.seq;
    }
    assert_int_equal(th_stat(h, "TapirTcpBufAllocs"), 0);  /* a SYN flood costs slots only */
    th_send(h, A, 8, iss + 1, 65535, NULL, 0);               /* the last one completes */
    assert_int_equal(th_stat(h, "TapirTcpBufAllocs"), 1);
    c = tapir_tcp_accept(h->st, l, NULL);
    assert_true(c >= 0);
    tapir_tcp_abort(h->st, c);
    tapir_tcp_close(h->st, l);
    th_drain(h);
    assert_int_equal(th_nsocks(h), 0);
}

/* In LISTEN the text of a SYN is dropped (3.10.7.2 would queue it; the
 * embryo holds no buffers, so a SYN flood costs no memory), counted, and
 * left unacknowledged: the peer sends it again. */
static void
data_on_syn_is_dropped_and_counted(void **state)
{
    struct th *h = *state;
    struct th_seg syn = { 0 };
    int l = tapir_tcp_socket(h->st);

    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 4);
    syn.flags = S;
    syn.seq = 10;
    syn.win = 65535;
    syn.data = "abc";
    syn.len = 3;
    th_inject(h, &syn);
    th_expect(h, S | A, TH_ANY, 11, TH_ANY, 0);         /* the data is not acknowledged */
    assert_int_equal(th_stat(h, "TapirTcpSynDataDropped"), 3);
    tapir_tcp_close(h->st, l);
    th_drain(h);
}

/* Connect; returns the socket, our ISS in *iss, SYN sent. */
static int
connecting(struct th *h, uint32_t *iss)
{
    int s = tapir_tcp_socket(h->st);

    th_connect(h, s, 6000, S);
    *iss = h->last.seq;
    return s;
}

/* RFC 9293 3.10.7.3: text on the SYN,ACK that completes our open is
 * processed (sixth step on): delivered and acknowledged at once. */
static void
data_on_syn_ack_is_delivered(void **state)
{
    struct th *h = *state;
    struct th_seg syn = { 0 };
    char buf[8];
    uint32_t iss;
    int s = connecting(h, &iss);

    syn.flags = S | A;
    syn.seq = 300;
    syn.ack = iss + 1;
    syn.win = 65535;
    syn.data = "abc";
    syn.len = 3;
    th_inject(h, &syn);
    th_expect(h, A, iss + 1, 304, TH_ANY, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, s), TAPIR_TCP_ESTABLISHED);
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(th_stat(h, "TapirTcpSynDataDropped"), 0);
    tapir_tcp_abort(h->st, s);
    th_expect(h, R | A, iss + 1, 304, TH_ANY, 0);
}

/* The same step in a simultaneous open: the SYN's text is "queued for
 * processing after the ESTABLISHED state has been reached" -- not
 * acknowledged by our SYN,ACK, not readable in SYN-RECEIVED, readable
 * (and acknowledged) once the peer acknowledges our SYN. */
static void
data_on_syn_in_syn_sent_waits_for_established(void **state)
{
    struct th *h = *state;
    struct th_seg syn = { 0 };
    char buf[8];
    uint32_t iss;
    int s = connecting(h, &iss);

    syn.flags = S;
    syn.seq = 300;
    syn.win = 65535;
    syn.data = "abc";
    syn.len = 3;
    th_inject(h, &syn);
    th_expect(h, S | A, iss, 301, TH_ANY, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_RECEIVED);
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), -EAGAIN);
    th_send(h, A, 304, iss + 1, 65535, NULL, 0);
    th_expect_none(h);                                  /* the ACK is delayed */
    assert_int_equal(th_state(h, s), TAPIR_TCP_ESTABLISHED);
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), 3);
    assert_memory_equal(buf, "abc", 3);
    th_advance_ms(h, 40);
    th_expect(h, A, iss + 1, 304, TH_ANY, 0);
    tapir_tcp_abort(h->st, s);
    th_expect(h, R | A, iss + 1, 304, TH_ANY, 0);
}

/* SYN+FIN is dropped; with cfg.tcp.synfin_as_syn it is taken as a SYN
 * whose FIN (and, in LISTEN, text) is forgotten. */
static void
synfin_is_dropped_unless_taken_as_syn(void **state)
{
    struct th *h = *state;
    struct tapir_tcp_config tcp = tapir_stack_config(h->st)->tcp;
    int l = tapir_tcp_socket(h->st);

    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 4);
    th_send(h, S | F, 17, 0, 65535, "abc", 3);
    th_expect_none(h);
    assert_int_equal(th_stat(h, "TapirTcpInBadFlags"), 1);
    tcp.synfin_as_syn = true;
    assert_int_equal(tapir_stack_set_tcp_config(h->st, &tcp), 0);
    th_send(h, S | F, 17, 0, 65535, "abc", 3);
    th_expect(h, S | A, TH_ANY, 18, TH_ANY, 0);
    assert_int_equal(th_nsocks(h), 2);
    tapir_tcp_close(h->st, l);
    th_expect(h, R | A, TH_ANY, 18, TH_ANY, 0);
}

/* Open a connection whose peer announced mss (or none); returns it. */
static int
open_with_peer_mss(struct th *h, bool has_mss, uint16_t mss, uint32_t *iss)
{
    int s = tapir_tcp_socket(h->st);

    tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_NODELAY, 1);
    th_connect(h, s, 6000, S);
    assert_int_equal(h->last.opts.mss, 1460);           /* MTU 1500 - 40 */
    *iss = h->last.seq;
    syn_opts(h, S | A, 0, *iss + 1, has_mss, mss);
    th_expect(h, A, *iss + 1, 1, TH_ANY, 0);
    return s;
}

static void
segments_follow_the_peer_mss(void **state)
{
    struct th *h = *state;
    static char data[3000];
    uint32_t iss;
    int s;

    /* No MSS option: 536 (MUST-15). */
    s = open_with_peer_mss(h, false, 0, &iss);
    assert_int_equal(tapir_tcp_send(h->st, s, data, 1000, 0), 1000);
    th_poll(h);
    th_expect(h, A, iss + 1, 1, TH_ANY, 536);
    th_expect(h, A | P, iss + 537, 1, TH_ANY, 464);
    tapir_tcp_abort(h->st, s);
    th_drain(h);
    /* An absurd MSS is raised to 64. */
    s = open_with_peer_mss(h, true, 1, &iss);
    assert_int_equal(th_stat(h, "TapirTcpMssClamped"), 1);
    assert_int_equal(tapir_tcp_send(h->st, s, data, 100, 0), 100);
    th_poll(h);
    th_expect(h, A, iss + 1, 1, TH_ANY, 64);
    th_expect(h, A | P, iss + 65, 1, TH_ANY, 36);
    tapir_tcp_abort(h->st, s);
    th_drain(h);
    /* A large MSS is cut to our MTU - 40. */
    s = open_with_peer_mss(h, true, 9000, &iss);
    assert_int_equal(tapir_tcp_send(h->st, s, data, 3000, 0), 3000);
    th_poll(h);
    th_expect(h, A, iss + 1, 1, TH_ANY, 1460);
    th_expect(h, A, iss + 1461, 1, TH_ANY, 1460);
    th_expect(h, A | P, iss + 2921, 1, TH_ANY, 80);
    tapir_tcp_abort(h->st, s);
    th_drain(h);
}

static void
nagle_holds_a_short_segment_until_the_ack(void **state)
{
    struct th *h = *state;
    static char data[1000];
    uint32_t iss;
    int l, s = th_passive_open(h, 80, 100, &l, &iss);

    assert_int_equal(tapir_tcp_send(h->st, s, data, 1000, 0), 1000);
    th_poll(h);
    th_expect(h, A | P, iss + 1, 101, TH_ANY, 1000);    /* nothing in flight: goes */
    assert_int_equal(tapir_tcp_send(h->st, s, data, 10, 0), 10);
    th_poll(h);
    th_expect_none(h);                                  /* RFC 9293 3.7.4: held */
    th_send(h, A, 101, iss + 1001, 65535, NULL, 0);
    th_expect(h, A | P, iss + 1001, 101, TH_ANY, 10);
    tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_NODELAY, 1);
    assert_int_equal(tapir_tcp_send(h->st, s, data, 10, 0), 10);
    th_poll(h);
    th_expect(h, A | P, iss + 1011, 101, TH_ANY, 10);   /* MUST-17: it can be turned off */
    tapir_tcp_abort(h->st, s);
    tapir_tcp_close(h->st, l);
    th_drain(h);
}

static void
simultaneous_close_goes_through_closing(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int l, s = th_passive_open(h, 80, 100, &l, &iss);

    tapir_tcp_close(h->st, l);
    assert_int_equal(tapir_tcp_shutdown(h->st, s, TAPIR_SHUT_WR), 0);
    th_poll(h);
    th_expect(h, F | A, iss + 1, 101, TH_ANY, 0);
    th_send(h, F | A, 101, iss + 1, 65535, NULL, 0);    /* FINs cross */
    th_expect(h, A, iss + 2, 102, TH_ANY, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSING);
    th_send(h, A, 102, iss + 2, 65535, NULL, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_TIME_WAIT);
    assert_int_equal(tapir_tcp_close(h->st, s), 0);
    th_expire(h, 10 * 60 * 1000);
}

static void
stale_handles_give_ebadf(void **state)
{
    struct th *h = *state;
    int s = tapir_tcp_socket(h->st), t;
    char c;

    assert_true(s >= 0);
    assert_int_equal(tapir_tcp_close(h->st, s), 0);
    t = tapir_tcp_socket(h->st);                        /* likely the same slot */
    assert_true(t >= 0 && t != s);
    assert_int_equal(tapir_tcp_close(h->st, s), -EBADF);
    assert_int_equal(tapir_tcp_recv(h->st, s, &c, 1, 0), -EBADF);
    assert_int_equal(tapir_tcp_send(h->st, -1, &c, 1, 0), -EBADF);
    assert_int_equal(tapir_tcp_recv(h->st, t, &c, 1, 0), -ENOTCONN);
    assert_int_equal(tapir_tcp_close(h->st, t), 0);
}

static void
socket_table_is_bounded(void **state)
{
    struct th *h = *state;
    int s[16];

    for (int i = 0; i < 16; i++)
        assert_true((s[i] = tapir_tcp_socket(h->st)) >= 0);
    assert_int_equal(tapir_tcp_socket(h->st), -ENOBUFS);
    for (int i = 0; i < 16; i++)
        tapir_tcp_close(h->st, s[i]);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(simultaneous_open_reaches_established),
        T(rst_in_syn_received_from_syn_sent_refuses_the_connect),
        T(rst_in_syn_received_from_listen_returns_to_listen),
        T(retransmitted_syn_gets_the_syn_ack_again),
        T(ack_in_listen_gets_rst_and_rst_is_ignored),
        T(listen_queues_are_bounded_and_counted),
        T(embryos_hold_no_buffers),
        T(data_on_syn_is_dropped_and_counted),
        T(data_on_syn_ack_is_delivered),
        T(data_on_syn_in_syn_sent_waits_for_established),
        T(synfin_is_dropped_unless_taken_as_syn),
        T(segments_follow_the_peer_mss),
        T(nagle_holds_a_short_segment_until_the_ack),
        T(simultaneous_close_goes_through_closing),
        T(stale_handles_give_ebadf),
        T(socket_table_is_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
