/*
 * tests/unit/tcp_choice_test.c -- choices the RFCs leave open, each a
 * setting of struct tapir_tcp_config (FreeBSD's are the conformance
 * runner's "bsd" profile, docs/conformance.md):
 *
 *   wscale_bytes        the offered window scale (RFC 7323 2.2) derived from
 *                       a size larger than the receive buffer;
 *   buf_round_mss       both buffers rounded up to a multiple of the MSS
 *                       once the peer's SYN fixes it (active, passive and
 *                       the ring growing with its contents);
 *   rcv_wnd_free_space  receiver SWS avoidance by withholding small windows
 *                       rather than holding the right edge (RFC 9293
 *                       3.8.6.2.2), a scaled window rounded up, and
 *                       segments accepted up to the free space;
 *   ack_repeats_fin     an ACK sent while our FIN is unacknowledged
 *                       repeats the FIN (challenge ACKs stay bare);
 *   rst_error_after_fin ECONNRESET for an RST in CLOSING and LAST-ACK;
 *   syn_rtx_drop_options  SYN retransmissions from the third on offer only
 *                       the MSS, and the connection then goes unscaled;
 *   tw_syn_challenge    a SYN never reopens a TIME-WAIT connection;
 *   old_segment_ack     the ACK field of a wholly old segment is taken;
 *   listen_synack_silent  a SYN,ACK at a listener draws no RST.
 *
 * Each is checked against the default, so a test fails if the setting
 * does nothing or leaks into the default behaviour.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/tcp_int.h"
#include "lib/tcp_harness.h"

enum { A = TP_TCP_ACK, S = TP_TCP_SYN, F = TP_TCP_FIN, R = TP_TCP_RST };

#define PEER_ISS 5000u

static uint8_t zeros[70000];

static struct th *
harness(uint32_t rcvbuf, uint32_t sndbuf, uint32_t wscale_bytes, bool round, bool free_space)
{
    struct tapir_config cfg;

    th_config(&cfg);
    cfg.tcp.rcvbuf = rcvbuf;
    cfg.tcp.sndbuf = sndbuf;
    cfg.tcp.wscale_bytes = wscale_bytes;
    cfg.tcp.buf_round_mss = round;
    cfg.tcp.rcv_wnd_free_space = free_space;
    return th_new(&cfg);
}

static void
finish(struct th *h, int l, int c)
{
    if (c >= 0)
        tapir_tcp_abort(h->st, c);
    if (l >= 0)
        tapir_tcp_close(h->st, l);
    th_drain(h);
    th_expire(h, 10 * 60 * 1000);
    th_free(h);
}

static int
sockopt(struct th *h, int s, enum tapir_tcp_opt opt)
{
    int v = -1;

    assert_int_equal(tapir_tcp_getsockopt(h->st, s, opt, &v), 0);
    return v;
}

/* The window scale our SYN offers for this configuration. */
static int
offered_wscale(uint32_t rcvbuf, uint32_t wscale_bytes)
{
    struct th *h = harness(rcvbuf, 32768, wscale_bytes, false, false);
    int s = tapir_tcp_socket(h->st), ws;

    th_connect(h, s, 80, S);
    assert_int_equal(h->last.win, 65535);
    assert_true(h->last.opts.has_wscale);
    ws = h->last.opts.wscale;
    finish(h, -1, s);
    return ws;
}

static void
test_wscale_bytes_offer(void **state)
{
    (void)state;
    assert_int_equal(offered_wscale(65536, 0), 1);             /* the buffer alone */
    assert_int_equal(offered_wscale(65535, 0), 0);
    assert_int_equal(offered_wscale(65536, 2097152), 6);       /* FreeBSD's 2 MB */
    assert_int_equal(offered_wscale(65536, 73728), 1);
    assert_int_equal(offered_wscale(65536, UINT32_MAX), 14);   /* RFC 7323 2.3 cap */
    assert_int_equal(offered_wscale(1 << 20, 65536), 5);       /* never below the buffer's */
}

/* The SYN-ACK offers the same scale, and windows after it are scaled by it. */
static void
test_wscale_bytes_passive(void **state)
{
    struct th *h = harness(65536, 32768, 2097152, false, false);
    struct th_seg *syn = calloc(1, sizeof(*syn));
    int l = tapir_tcp_socket(h->st), c;
    uint32_t iss;

    (void)state;
    assert_non_null(syn);
    assert_int_equal(tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 }), 0);
    assert_int_equal(tapir_tcp_listen(h->st, l, 4), 0);
    syn->flags = S;
    syn->seq = PEER_ISS;
    syn->win = 65535;
    syn->opts.has_mss = true;
    syn->opts.mss = 1460;
    syn->opts.has_wscale = true;
    syn->opts.wscale = 0;
    th_inject(h, syn);
    free(syn);
    th_expect(h, S | A, TH_ANY, PEER_ISS + 1, 65535, 0);
    assert_true(h->last.opts.has_wscale);
    assert_int_equal(h->last.opts.wscale, 6);
    iss = h->last.seq;
    th_send(h, A, PEER_ISS + 1, iss + 1, 65535, NULL, 0);
    c = tapir_tcp_accept(h->st, l, NULL);
    assert_true(c >= 0);
    th_send(h, A, PEER_ISS + 1, iss + 1, 65535, zeros, 100);
    th_advance_ms(h, 500);
    /* 65436 free bytes in 64-byte units, rounded down by default. */
    th_expect(h, A, iss + 1, PEER_ISS + 101, 65436 >> 6, 0);
    finish(h, l, c);
}

/* Passive open: SO_RCVBUF/SO_SNDBUF grow to whole segments of the MSS the
 * SYN fixed (min(peer's 1460, ours)), and the whole grown buffer is used. */
static void
test_round_passive(void **state)
{
    struct th *h = harness(65536, 32768, 0, true, false);
    int l, c;
    uint32_t iss;

    (void)state;
    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    assert_int_equal(sockopt(h, c, TAPIR_SO_RCVBUF), 65700);   /* 45 x 1460 */
    assert_int_equal(sockopt(h, c, TAPIR_SO_SNDBUF), 33580);   /* 23 x 1460 */
    /* The send ring takes 33580 bytes, not 32768. */
    assert_int_equal(tapir_tcp_send(h->st, c, zeros, sizeof(zeros), 0), 33580);
    finish(h, l, c);
}

static void
test_round_off(void **state)
{
    struct th *h = harness(65536, 32768, 0, false, false);
    int l, c;
    uint32_t iss;

    (void)state;
    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    assert_int_equal(sockopt(h, c, TAPIR_SO_RCVBUF), 65536);
    assert_int_equal(sockopt(h, c, TAPIR_SO_SNDBUF), 32768);
    assert_int_equal(tapir_tcp_send(h->st, c, zeros, sizeof(zeros), 0), 32768);
    finish(h, l, c);
}

/* A buffer that already is a multiple stays; the peer's smaller MSS rules. */
static void
test_round_small_mss(void **state)
{
    struct th *h = harness(65536, 32768, 0, true, false);
    struct th_seg *sa = calloc(1, sizeof(*sa));
    int s = tapir_tcp_socket(h->st);
    struct tapir_sockaddr me;
    uint32_t iss;

    (void)state;
    assert_non_null(sa);
    assert_int_equal(tapir_tcp_connect(h->st, s, (struct tapir_sockaddr){ TH_REMOTE, 80 }),
        -EINPROGRESS);
    assert_int_equal(tapir_tcp_getsockname(h->st, s, &me), 0);
    h->lport = me.port;
    h->rport = 80;
    /* Before the SYN exchange the configured sizes stand. */
    assert_int_equal(sockopt(h, s, TAPIR_SO_RCVBUF), 65536);
    th_poll(h);
    th_expect(h, S, TH_ANY, 0, TH_ANY, 0);
    iss = h->last.seq;
    sa->flags = S | A;
    sa->seq = PEER_ISS;
    sa->ack = iss + 1;
    sa->win = 65535;
    sa->opts.has_mss = true;
    sa->opts.mss = 1024;
    th_inject(h, sa);
    free(sa);
    th_expect(h, A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
    assert_int_equal(sockopt(h, s, TAPIR_SO_RCVBUF), 65536);   /* 64 x 1024 */
    assert_int_equal(sockopt(h, s, TAPIR_SO_SNDBUF), 32768);
    finish(h, -1, s);
}

/* A buffer no larger than one segment stays as the application set it. */
static void
test_round_small_buffer(void **state)
{
    struct th *h = harness(1000, 1460, 0, true, false);
    int l, c;
    uint32_t iss;

    (void)state;
    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    assert_int_equal(sockopt(h, c, TAPIR_SO_RCVBUF), 1000);
    assert_int_equal(sockopt(h, c, TAPIR_SO_SNDBUF), 1460);
    finish(h, l, c);
}

/* Active open: the rings exist since connect(); they grow at the SYN-ACK,
 * and with a scaled window the peer can fill all 65700 bytes. */
static void
test_round_active_fills(void **state)
{
    struct th *h = harness(65536, 32768, 0, true, false);
    struct th_seg *sa = calloc(1, sizeof(*sa));
    int s = tapir_tcp_socket(h->st);
    uint32_t iss, seq = PEER_ISS + 1;
    static uint8_t buf[70000];

    (void)state;
    assert_non_null(sa);
    th_connect(h, s, 80, S);
    assert_int_equal(h->last.opts.wscale, 1);
    iss = h->last.seq;
    sa->flags = S | A;
    sa->seq = PEER_ISS;
    sa->ack = iss + 1;
    sa->win = 65535;
    sa->opts.has_mss = true;
    sa->opts.mss = 1460;
    sa->opts.has_wscale = true;
    th_inject(h, sa);
    free(sa);
    th_expect(h, A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
    assert_int_equal(sockopt(h, s, TAPIR_SO_RCVBUF), 65700);
    for (int i = 0; i < 45; i++, seq += 1460)
        th_send(h, A, seq, iss + 1, 32768, zeros, 1460);
    th_advance_ms(h, 500);
    th_drain(h);
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), 65700);
    finish(h, -1, s);
}

/* tp_ring_grow keeps the held bytes and those beyond len (out-of-order
 * data at their offsets), across a wrapped ring. */
static void
test_ring_grow(void **state)
{
    struct tp_ring r;
    uint8_t in[100], out[100];

    (void)state;
    for (int i = 0; i < 100; i++)
        in[i] = (uint8_t)(i + 1);
    assert_int_equal(tp_ring_init(&r, 64), 0);
    assert_int_equal(tp_ring_write(&r, in, 50), 50);
    tp_ring_drop(&r, 40);                                 /* head 40 */
    assert_int_equal(tp_ring_write(&r, in + 50, 30), 30);  /* wraps: 40 held */
    tp_ring_write_at(&r, 10, in + 90, 5);                 /* a hole, then 5 bytes */
    assert_int_equal(tp_ring_grow(&r, 100), 0);
    assert_int_equal(r.cap, 100);
    assert_int_equal(r.len, 40);
    assert_int_equal(tp_ring_peek(&r, 0, out, 40), 40);
    assert_memory_equal(out, in + 40, 40);
    tp_ring_extend(&r, 15);
    assert_int_equal(tp_ring_peek(&r, 50, out, 5), 5);
    assert_memory_equal(out, in + 90, 5);
    assert_int_equal(tp_ring_grow(&r, 50), 0);            /* never shrinks */
    assert_int_equal(r.cap, 100);
    tp_ring_fini(&r);
}

/* One unread byte in a large buffer: the default holds the right edge
 * (window 65534), free-space offers all it can (65535). */
static int
window_after_one_byte(bool free_space)
{
    struct th *h = harness(100000, 32768, 0, false, free_space);
    int l, c, win;
    uint32_t iss;

    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    th_send(h, A, PEER_ISS + 1, iss + 1, 65535, zeros, 1);
    th_advance_ms(h, 500);
    th_expect(h, A, iss + 1, PEER_ISS + 2, TH_ANY, 0);
    win = h->last.win;
    finish(h, l, c);
    return win;
}

static void
test_free_space_edge(void **state)
{
    (void)state;
    assert_int_equal(window_after_one_byte(false), 65534);
    assert_int_equal(window_after_one_byte(true), 65535);
}

/* Small windows are withheld: below min(buffer / 4, MSS) the window already
 * offered stands; from there the whole free space is offered. */
static void
test_free_space_small(void **state)
{
    struct th *h = harness(8192, 32768, 0, false, true);
    static uint8_t buf[8192];
    uint32_t iss, seq = PEER_ISS + 1;
    int l, c;

    (void)state;
    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    for (int i = 0; i < 4; i++, seq += 1460)
        th_send(h, A, seq, iss + 1, 65535, zeros, 1460);
    th_send(h, A, seq, iss + 1, 65535, zeros, 1352);    /* 7192 held, 1000 free */
    seq += 1352;
    th_advance_ms(h, 500);
    th_drain(h);
    assert_int_equal(tapir_tcp_recv(h->st, c, buf, 300, 0), 300);
    th_send(h, A, seq, iss + 1, 65535, zeros, 1);      /* 1299 free: withheld */
    seq += 1;
    th_advance_ms(h, 500);
    th_expect(h, A, iss + 1, seq, 999, 0);
    th_expect_none(h);
    assert_int_equal(tapir_tcp_recv(h->st, c, buf, 1000, 0), 1000);
    th_send(h, A, seq, iss + 1, 65535, zeros, 1);      /* 2298 free */
    seq += 1;
    th_advance_ms(h, 500);
    th_expect(h, A, iss + 1, seq, 2298, 0);
    finish(h, l, c);
}

/* With a scale, the window is rounded up to the unit under free-space and
 * down by default. */
static int
scaled_window_after_one_byte(bool free_space)
{
    struct th *h = harness(100000, 32768, 0, false, free_space);
    struct th_seg *syn = calloc(1, sizeof(*syn));
    int l = tapir_tcp_socket(h->st), c, win;
    uint32_t iss;

    assert_non_null(syn);
    assert_int_equal(tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 }), 0);
    assert_int_equal(tapir_tcp_listen(h->st, l, 4), 0);
    syn->flags = S;
    syn->seq = PEER_ISS;
    syn->win = 65535;
    syn->opts.has_mss = true;
    syn->opts.mss = 1460;
    syn->opts.has_wscale = true;
    th_inject(h, syn);
    free(syn);
    th_expect(h, S | A, TH_ANY, PEER_ISS + 1, 65535, 0);
    assert_int_equal(h->last.opts.wscale, 1);
    iss = h->last.seq;
    th_send(h, A, PEER_ISS + 1, iss + 1, 65535, NULL, 0);
    c = tapir_tcp_accept(h->st, l, NULL);
    assert_true(c >= 0);
    th_drain(h);                                        /* a window update, maybe */
    th_send(h, A, PEER_ISS + 1, iss + 1, 65535, zeros, 1);
    th_advance_ms(h, 500);
    th_expect(h, A, iss + 1, PEER_ISS + 2, TH_ANY, 0);
    win = h->last.win;
    finish(h, l, c);
    return win;
}

static void
test_free_space_scaled_round_up(void **state)
{
    (void)state;
    assert_int_equal(scaled_window_after_one_byte(false), 99999 / 2);
    assert_int_equal(scaled_window_after_one_byte(true), (99999 + 1) / 2);
}

/* An RST beyond the advertised 65535 but inside the 65700-byte buffer:
 * in the window (a challenge ACK) under free-space, outside (ignored) by
 * default. */
static void
rst_beyond_advertised_edge(bool free_space)
{
    struct th *h = harness(65536, 32768, 0, true, free_space);
    int l, c;
    uint32_t iss;

    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    assert_int_equal(sockopt(h, c, TAPIR_SO_RCVBUF), 65700);
    th_send(h, R, PEER_ISS + 1 + 65600, 0, 0, NULL, 0);
    if (free_space)
        th_expect(h, A, iss + 1, PEER_ISS + 1, 65535, 0);     /* RFC 5961 3.2 */
    th_expect_none(h);
    assert_int_equal(th_state(h, c), TAPIR_TCP_ESTABLISHED);
    finish(h, l, c);
}

static void
test_free_space_acceptance(void **state)
{
    (void)state;
    rst_beyond_advertised_edge(false);
    rst_beyond_advertised_edge(true);
}

/* shutdown(WR), then the peer's FIN crosses ours (CLOSING).  Returns the
 * reply to that FIN in h->last. */
static void
closing_reply(bool repeat_fin)
{
    struct tapir_config cfg;
    struct th *h;
    int l, c;
    uint32_t iss;

    th_config(&cfg);
    cfg.tcp.ack_repeats_fin = repeat_fin;
    h = th_new(&cfg);
    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    assert_int_equal(tapir_tcp_shutdown(h->st, c, TAPIR_SHUT_WR), 0);
    th_poll(h);
    th_expect(h, F | A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
    th_send(h, F | A, PEER_ISS + 1, iss + 1, 65535, NULL, 0);
    if (repeat_fin)
        th_expect(h, F | A, iss + 1, PEER_ISS + 2, TH_ANY, 0);
    else
        th_expect(h, A, iss + 2, PEER_ISS + 2, TH_ANY, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, c), TAPIR_TCP_CLOSING);
    /* A challenge ACK (in-window RST) stays a bare ACK either way. */
    th_send(h, R, PEER_ISS + 100, 0, 0, NULL, 0);
    th_expect(h, A, iss + 2, PEER_ISS + 2, TH_ANY, 0);
    /* The peer's ACK of our FIN ends CLOSING as usual. */
    th_send(h, A, PEER_ISS + 2, iss + 2, 65535, NULL, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, c), TAPIR_TCP_TIME_WAIT);
    tapir_tcp_close(h->st, c);
    finish(h, l, -1);
}

static void
test_ack_repeats_fin(void **state)
{
    (void)state;
    closing_reply(false);
    closing_reply(true);
}

/* In FIN-WAIT-1 the delayed ACK of data repeats the FIN too; once the FIN
 * is acknowledged (FIN-WAIT-2) ACKs are bare again. */
static void
test_ack_repeats_fin_data(void **state)
{
    struct tapir_config cfg;
    struct th *h;
    int l, c;
    uint32_t iss;

    (void)state;
    th_config(&cfg);
    cfg.tcp.ack_repeats_fin = true;
    h = th_new(&cfg);
    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    assert_int_equal(tapir_tcp_shutdown(h->st, c, TAPIR_SHUT_WR), 0);
    th_poll(h);
    th_expect(h, F | A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
    th_send(h, A, PEER_ISS + 1, iss + 1, 65535, zeros, 10);
    th_advance_ms(h, 500);
    th_expect(h, F | A, iss + 1, PEER_ISS + 11, TH_ANY, 0);
    th_expect_none(h);
    th_send(h, A, PEER_ISS + 11, iss + 2, 65535, zeros, 10);
    assert_int_equal(th_state(h, c), TAPIR_TCP_FIN_WAIT_2);
    th_advance_ms(h, 500);
    th_expect(h, A, iss + 2, PEER_ISS + 21, TH_ANY, 0);
    finish(h, l, c);
}

/* An exact RST in CLOSING (both FINs crossed) or LAST-ACK (the peer closed
 * first): the error the application finds afterwards. */
static int
rst_error(bool setting, bool last_ack)
{
    struct tapir_config cfg;
    struct th *h;
    int l, c, err;
    uint32_t iss;

    th_config(&cfg);
    cfg.tcp.rst_error_after_fin = setting;
    h = th_new(&cfg);
    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    if (last_ack) {
        th_send(h, F | A, PEER_ISS + 1, iss + 1, 65535, NULL, 0);
        th_expect(h, A, iss + 1, PEER_ISS + 2, TH_ANY, 0);
    }
    assert_int_equal(tapir_tcp_shutdown(h->st, c, TAPIR_SHUT_WR), 0);
    th_poll(h);
    th_expect(h, F | A, iss + 1, PEER_ISS + 1 + last_ack, TH_ANY, 0);
    if (!last_ack) {
        th_send(h, F | A, PEER_ISS + 1, iss + 1, 65535, NULL, 0);
        th_expect(h, A, iss + 2, PEER_ISS + 2, TH_ANY, 0);
    }
    assert_int_equal(th_state(h, c), last_ack ? TAPIR_TCP_LAST_ACK : TAPIR_TCP_CLOSING);
    th_send(h, R, PEER_ISS + 2, 0, 0, NULL, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, c), TAPIR_TCP_CLOSED);
    err = tapir_tcp_error(h->st, c);
    tapir_tcp_close(h->st, c);
    finish(h, l, -1);
    return err;
}

static void
test_rst_error_after_fin(void **state)
{
    (void)state;
    assert_int_equal(rst_error(false, false), 0);
    assert_int_equal(rst_error(false, true), 0);
    assert_int_equal(rst_error(true, false), -ECONNRESET);
    assert_int_equal(rst_error(true, true), -ECONNRESET);
}

/* The options of the SYN and its retransmissions, then a SYN-ACK that
 * offers everything: with the setting the fourth SYN is <mss> alone and
 * the connection uses none of the extensions. */
static void
syn_rtx_options(bool setting)
{
    struct tapir_config cfg;
    struct th *h;
    struct th_seg *sa = calloc(1, sizeof(*sa));
    struct tapir_sockaddr me;
    struct tapir_tcp_info info;
    int s;
    uint32_t iss;

    assert_non_null(sa);
    th_config(&cfg);
    cfg.tcp.syn_rtx_drop_options = setting;
    h = th_new(&cfg);
    s = tapir_tcp_socket(h->st);
    assert_int_equal(tapir_tcp_connect(h->st, s, (struct tapir_sockaddr){ TH_REMOTE, 80 }),
        -EINPROGRESS);
    assert_int_equal(tapir_tcp_getsockname(h->st, s, &me), 0);
    h->lport = me.port;
    h->rport = 80;
    th_poll(h);
    for (int i = 0; i < 5; i++) {
        bool bare = setting && i >= 3;

        if (i > 0)
            th_advance_ms(h, 1000 << (i - 1));
        th_expect(h, S, TH_ANY, 0, 65535, 0);
        assert_true(h->last.opts.has_mss);
        assert_int_equal(h->last.opts.has_wscale, !bare);
        assert_int_equal(h->last.opts.has_ts, !bare);
        assert_int_equal(h->last.opts.sack_permitted, !bare);
    }
    iss = h->last.seq;
    sa->flags = S | A;
    sa->seq = PEER_ISS;
    sa->ack = iss + 1;
    sa->win = 65535;
    sa->opts.has_mss = true;
    sa->opts.mss = 1460;
    sa->opts.has_wscale = true;
    sa->opts.wscale = 2;
    sa->opts.sack_permitted = true;
    th_inject(h, sa);
    free(sa);
    th_expect(h, A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
    assert_int_equal(tapir_tcp_info(h->st, s, &info), 0);
    assert_int_equal(info.options != 0, !setting);
    finish(h, -1, s);
}

static void
test_syn_rtx_drop_options(void **state)
{
    (void)state;
    syn_rtx_options(false);
    syn_rtx_options(true);
}

/* Our close, then the peer's: TIME-WAIT with the listener still open.
 * Then a new SYN beyond RCV.NXT from the same port. */
static void
tw_syn(bool setting)
{
    struct tapir_config cfg;
    struct th *h;
    int l, c;
    uint32_t iss;

    th_config(&cfg);
    cfg.tcp.tw_syn_challenge = setting;
    /* TIME-WAIT keeps the advertised window (65535) under free-space: the
     * SYN lies outside it, so even with RFC 5961 4.2 off it draws a
     * challenge ACK, not the RST an in-window SYN would. */
    cfg.tcp.rcv_wnd_free_space = true;
    cfg.tcp.syn_in_window = true;
    h = th_new(&cfg);
    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    assert_int_equal(tapir_tcp_shutdown(h->st, c, TAPIR_SHUT_WR), 0);
    th_poll(h);
    th_expect(h, F | A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
    th_send(h, F | A, PEER_ISS + 1, iss + 2, 65535, NULL, 0);
    th_expect(h, A, iss + 2, PEER_ISS + 2, TH_ANY, 0);
    assert_int_equal(th_state(h, c), TAPIR_TCP_TIME_WAIT);
    th_advance_ms(h, 1000);
    th_send(h, S, PEER_ISS + 100000, 0, 65535, NULL, 0);
    if (setting) {
        th_expect(h, A, iss + 2, PEER_ISS + 2, TH_ANY, 0);    /* RFC 5961 4.2 */
        assert_int_equal(th_state(h, c), TAPIR_TCP_TIME_WAIT);
        assert_int_equal(th_stat(h, "TcpExtTCPChallengeACK"), 1);
    } else {
        th_expect(h, S | A, TH_ANY, PEER_ISS + 100001, TH_ANY, 0);
        assert_int_equal(th_state(h, c), TAPIR_TCP_CLOSED);
    }
    th_expect_none(h);
    tapir_tcp_close(h->st, c);
    finish(h, l, -1);
}

static void
test_tw_syn_challenge(void **state)
{
    (void)state;
    tw_syn(false);
    tw_syn(true);
}

/* CLOSING (FINs crossed); the peer's FIN comes again, now acknowledging
 * ours: by default an old segment, answered and dropped; with the setting
 * its ACK ends CLOSING. */
static void
old_fin_acks_ours(bool setting)
{
    struct tapir_config cfg;
    struct th *h;
    int l, c;
    uint32_t iss;

    th_config(&cfg);
    cfg.tcp.old_segment_ack = setting;
    h = th_new(&cfg);
    c = th_passive_open(h, 80, PEER_ISS, &l, &iss);
    assert_int_equal(tapir_tcp_shutdown(h->st, c, TAPIR_SHUT_WR), 0);
    th_poll(h);
    th_expect(h, F | A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
    th_send(h, F | A, PEER_ISS + 1, iss + 1, 65535, NULL, 0);
    th_expect(h, A, iss + 2, PEER_ISS + 2, TH_ANY, 0);
    assert_int_equal(th_state(h, c), TAPIR_TCP_CLOSING);
    th_advance_ms(h, 100);
    th_send(h, F | A, PEER_ISS + 1, iss + 2, 65535, NULL, 0);
    if (setting) {
        assert_int_equal(th_state(h, c), TAPIR_TCP_TIME_WAIT);
    } else {
        th_expect(h, A, iss + 2, PEER_ISS + 2, TH_ANY, 0);
        assert_int_equal(th_state(h, c), TAPIR_TCP_CLOSING);
    }
    th_expect_none(h);
    tapir_tcp_close(h->st, c);
    finish(h, l, -1);
}

static void
test_old_segment_ack(void **state)
{
    (void)state;
    old_fin_acks_ours(false);
    old_fin_acks_ours(true);
}

static void
synack_at_listener(bool setting)
{
    struct tapir_config cfg;
    struct th *h;
    int l;

    th_config(&cfg);
    cfg.tcp.listen_synack_silent = setting;
    h = th_new(&cfg);
    l = tapir_tcp_socket(h->st);
    assert_int_equal(tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 }), 0);
    assert_int_equal(tapir_tcp_listen(h->st, l, 4), 0);
    th_send(h, S | A, 17, 34, 32767, NULL, 0);
    if (setting) {
        assert_int_equal(th_stat(h, "TcpExtListenDrops"), 1);
    } else {
        th_expect(h, R, 34, TH_ANY, TH_ANY, 0);               /* <SEQ=SEG.ACK><CTL=RST> */
        assert_int_equal(th_stat(h, "TcpExtListenDrops"), 0);
    }
    th_expect_none(h);
    /* A SYN still opens a connection either way. */
    th_send(h, S, PEER_ISS, 0, 32767, NULL, 0);
    th_expect(h, S | A, TH_ANY, PEER_ISS + 1, TH_ANY, 0);
    finish(h, l, -1);
}

static void
test_listen_synack_silent(void **state)
{
    (void)state;
    synack_at_listener(false);
    synack_at_listener(true);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wscale_bytes_offer),
        cmocka_unit_test(test_wscale_bytes_passive),
        cmocka_unit_test(test_round_passive),
        cmocka_unit_test(test_round_off),
        cmocka_unit_test(test_round_small_mss),
        cmocka_unit_test(test_round_small_buffer),
        cmocka_unit_test(test_round_active_fills),
        cmocka_unit_test(test_ring_grow),
        cmocka_unit_test(test_free_space_edge),
        cmocka_unit_test(test_free_space_small),
        cmocka_unit_test(test_free_space_scaled_round_up),
        cmocka_unit_test(test_free_space_acceptance),
        cmocka_unit_test(test_ack_repeats_fin),
        cmocka_unit_test(test_ack_repeats_fin_data),
        cmocka_unit_test(test_rst_error_after_fin),
        cmocka_unit_test(test_syn_rtx_drop_options),
        cmocka_unit_test(test_tw_syn_challenge),
        cmocka_unit_test(test_old_segment_ack),
        cmocka_unit_test(test_listen_synack_silent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
