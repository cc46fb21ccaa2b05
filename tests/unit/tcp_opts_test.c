/*
 * tests/unit/tcp_opts_test.c -- RFC 7323 and RFC 2018 negotiation and use:
 * the option matrix (stack on/off x peer offering each option or none),
 * scaled windows both ways, a window scale above 14, timestamps on every
 * segment, RTT from the TS echo, PAWS, a peer that omits the timestamp on
 * the handshake's last ACK, and the payload cut for the TS option.
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

enum { A = TP_TCP_ACK, S = TP_TCP_SYN, F = TP_TCP_FIN, P = TP_TCP_PSH };

#define PEER_ISS 5000u
#define PEER_TS 777000u

enum { O_WS = 1, O_TS = 2, O_SACK = 4, O_ALL = 7 };

static struct tp_tcp_opts synack_opts;      /* the latest SYN-ACK's, from passive() */

static struct th *
harness(bool on, uint32_t rcvbuf)
{
    struct tapir_config cfg;

    th_config(&cfg);
    cfg.tcp.wscale = cfg.tcp.timestamps = cfg.tcp.sack = on;
    cfg.tcp.rack = false;           /* RFC 6675 alone; tcp_sack_test has RACK */
    if (rcvbuf != 0)
        cfg.tcp.rcvbuf = rcvbuf;
    return th_new(&cfg);
}

static void
peer_opts(struct tp_tcp_opts *o, unsigned which, uint8_t ws, uint32_t tsval, uint32_t tsecr)
{
    memset(o, 0, sizeof(*o));
    o->has_wscale = (which & O_WS) != 0;
    o->wscale = ws;
    o->has_ts = (which & O_TS) != 0;
    o->ts_val = tsval;
    o->ts_ecr = tsecr;
    o->sack_permitted = (which & O_SACK) != 0;
}

/* A segment from the peer with its timestamp (if ts) and window field win. */
static void
send_ts(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, bool ts,
    uint32_t tsval, uint32_t tsecr, const void *data, size_t len)
{
    struct th_seg *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    s->flags = flags;
    s->seq = seq;
    s->ack = ack;
    s->win = win;
    s->data = data;
    s->len = len;
    peer_opts(&s->opts, ts ? O_TS : 0, 0, tsval, tsecr);
    th_inject(h, s);
    free(s);
}

/* Passive open where the peer's SYN offers `which` (ws: its shift).  The
 * SYN-ACK is left in h->last; returns the accepted socket. */
static int
passive(struct th *h, unsigned which, uint8_t ws, int *l, uint32_t *iss, bool final_ts)
{
    struct th_seg *syn = calloc(1, sizeof(*syn));
    int c;

    assert_non_null(syn);
    *l = tapir_tcp_socket(h->st);
    assert_int_equal(tapir_tcp_bind(h->st, *l, (struct tapir_sockaddr){ 0, 80 }), 0);
    assert_int_equal(tapir_tcp_listen(h->st, *l, 4), 0);
    h->lport = 80;
    syn->flags = S;
    syn->seq = PEER_ISS;
    syn->win = 65535;
    syn->opts.has_mss = true;
    syn->opts.mss = 1460;
    peer_opts(&syn->opts, which, ws, PEER_TS, 0);
    syn->opts.has_mss = true;
    syn->opts.mss = 1460;
    th_inject(h, syn);
    free(syn);
    th_expect(h, S | A, TH_ANY, PEER_ISS + 1, TH_ANY, 0);
    *iss = h->last.seq;
    synack_opts = h->last.opts;
    send_ts(h, A, PEER_ISS + 1, *iss + 1, 1000, final_ts && (which & O_TS),
        PEER_TS + 1, h->last.opts.ts_val, NULL, 0);
    if ((which & O_WS) && h->cfg.tcp.wscale) {
        /* The buffer is larger than the unscaled SYN-ACK could say: a
         * window update (RFC 1122 4.2.3.3), scaled. */
        th_expect(h, A, *iss + 1, PEER_ISS + 1, TH_ANY, 0);
        assert_true(((uint32_t)h->last.win << 5) > 65535);
    }
    c = tapir_tcp_accept(h->st, *l, NULL);
    assert_true(c >= 0);
    assert_int_equal(th_state(h, c), TAPIR_TCP_ESTABLISHED);
    return c;
}

static void
finish(struct th *h, int l, int c)
{
    tapir_tcp_abort(h->st, c);
    tapir_tcp_close(h->st, l);
    th_drain(h);
    th_expire(h, 10 * 60 * 1000);
    th_free(h);
}

static unsigned
info_opts(struct th *h, int s)
{
    struct tapir_tcp_info ti;

    assert_int_equal(tapir_tcp_info(h->st, s, &ti), 0);
    return ti.options;
}

/* Stack on or off x the peer offering each subset: the SYN-ACK carries
 * exactly the intersection, and tcp_info reports it. */
static void
passive_negotiation_matrix(void **state)
{
    (void)state;
    for (int on = 0; on <= 1; on++) {
        for (unsigned which = 0; which <= O_ALL; which++) {
            struct th *h = harness(on, 0);
            uint32_t iss;
            int l, c = passive(h, which, 7, &l, &iss, true);
            unsigned want = on ? which : 0;
            unsigned got = info_opts(h, c);
            struct tp_tcp_opts *so = &synack_opts;

            assert_true(so->has_mss);
            assert_int_equal(so->has_wscale, (want & O_WS) != 0);
            assert_int_equal(so->has_ts, (want & O_TS) != 0);
            assert_int_equal(so->sack_permitted, (want & O_SACK) != 0);
            if (want & O_TS)
                assert_int_equal(so->ts_ecr, PEER_TS);
            assert_int_equal((got & TAPIR_TCPI_OPT_WSCALE) != 0, (want & O_WS) != 0);
            assert_int_equal((got & TAPIR_TCPI_OPT_TIMESTAMPS) != 0, (want & O_TS) != 0);
            assert_int_equal((got & TAPIR_TCPI_OPT_SACK) != 0, (want & O_SACK) != 0);
            finish(h, l, c);
        }
    }
}

/* Active open: the SYN offers what is on; the SYN-ACK's answer decides. */
static void
active_negotiation_matrix(void **state)
{
    (void)state;
    for (int on = 0; on <= 1; on++) {
        for (unsigned which = 0; which <= O_ALL; which++) {
            struct th *h = harness(on, 0);
            struct th_seg *sa = calloc(1, sizeof(*sa));
            int s = tapir_tcp_socket(h->st);
            uint32_t iss, tsv;
            unsigned want = on ? which : 0, got;

            th_connect(h, s, 9000, S);
            assert_int_equal(h->last.win, 65535);
            iss = h->last.seq;
            assert_true(h->last.opts.has_mss);
            assert_int_equal(h->last.opts.has_wscale, on);
            assert_int_equal(h->last.opts.has_ts, on);
            assert_int_equal(h->last.opts.sack_permitted, on);
            if (on) {
                assert_int_equal(h->last.opts.ts_ecr, 0);
                /* the default 1 MB buffer needs a shift of 5 */
                assert_int_equal(h->last.opts.wscale, 5);
            }
            tsv = h->last.opts.ts_val;
            sa->flags = S | A;
            sa->seq = PEER_ISS;
            sa->ack = iss + 1;
            sa->win = 65535;
            peer_opts(&sa->opts, which, 2, PEER_TS, tsv);
            sa->opts.has_mss = true;
            sa->opts.mss = 1460;
            th_inject(h, sa);
            free(sa);
            th_expect(h, A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
            assert_int_equal(h->last.opts.has_ts, (want & O_TS) != 0);
            if (want & O_TS)
                assert_int_equal(h->last.opts.ts_ecr, PEER_TS);
            /* Unscaled unless both sides agreed (RFC 7323 2.2). */
            if (!(want & O_WS))
                assert_int_equal(h->last.win, 65535);
            else
                assert_int_equal(h->last.win, (1u << 20) >> 5);
            got = info_opts(h, s);
            assert_int_equal((got & TAPIR_TCPI_OPT_WSCALE) != 0, (want & O_WS) != 0);
            assert_int_equal((got & TAPIR_TCPI_OPT_TIMESTAMPS) != 0, (want & O_TS) != 0);
            assert_int_equal((got & TAPIR_TCPI_OPT_SACK) != 0, (want & O_SACK) != 0);
            tapir_tcp_abort(h->st, s);
            th_drain(h);
            th_expire(h, 10 * 60 * 1000);
            th_free(h);
        }
    }
}

/* Scaled windows both ways: the peer's field shifted by its scale, ours
 * shifted down by ours, and a receive window beyond 64 KB. */
static void
scaled_window_arithmetic(void **state)
{
    struct th *h = harness(true, 1u << 20);
    uint32_t iss;
    int l, c = passive(h, O_WS, 7, &l, &iss, true);
    struct tapir_tcp_info ti;
    char data[1000];

    (void)state;
    assert_int_equal(synack_opts.wscale, 5);
    assert_int_equal(tapir_tcp_info(h->st, c, &ti), 0);
    assert_int_equal(ti.snd_wscale, 7);
    assert_int_equal(ti.rcv_wscale, 5);
    assert_int_equal(ti.snd_wnd, 1000u << 7);       /* the final ACK's field 1000 */
    memset(data, 'x', sizeof(data));
    th_send(h, A | P, PEER_ISS + 1, iss + 1, 1000, data, sizeof(data));
    th_advance_ms(h, 200);                          /* delayed ACK */
    th_expect(h, A, iss + 1, PEER_ISS + 1 + 1000, ((1u << 20) - 1000) >> 5, 0);
    assert_int_equal(tapir_tcp_info(h->st, c, &ti), 0);
    assert_true(ti.rcv_wnd > 65535);
    /* RFC 7323 2.4: the edge advertised before (with the update after the
     * handshake) stays: RCV.WND is measured to it, not to the rounded one. */
    assert_int_equal(ti.rcv_wnd, (1u << 20) - 1000);
    /* The peer's window of 3 units lets 3 << 7 = 384 bytes go. */
    th_send(h, A, PEER_ISS + 1001, iss + 1, 3, NULL, 0);
    assert_int_equal(tapir_tcp_send(h->st, c, data, sizeof(data), 0), (long)sizeof(data));
    th_poll(h);
    th_expect(h, A, iss + 1, TH_ANY, TH_ANY, 384);
    th_expect_none(h);
    finish(h, l, c);
}

/* RFC 7323 2.3: a shift above 14 is used as 14, counted. */
static void
wscale_above_14_is_clamped(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss;
    int l, c = passive(h, O_WS, 200, &l, &iss, true);
    struct tapir_tcp_info ti;

    (void)state;
    assert_int_equal(tapir_tcp_info(h->st, c, &ti), 0);
    assert_int_equal(ti.snd_wscale, 14);
    assert_int_equal(ti.snd_wnd, 1000u << 14);
    assert_int_equal(th_stat(h, "TapirTcpWscaleClamped"), 1);
    finish(h, l, c);
}

/* Every segment carries TS once negotiated; the ACK of new data echoing
 * our TSval gives the RTT (RFC 7323 4), even for a retransmission. */
static void
timestamps_time_the_rtt(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss, tsv;
    int l, c = passive(h, O_TS, 0, &l, &iss, true);
    struct tapir_tcp_info ti;
    char data[100];
    uint64_t n0 = th_stat(h, "TapirTcpTsRttSamples");

    (void)state;
    /* The handshake's ACK echoed the SYN-ACK's TSval at once: RTT 0. */
    assert_int_equal(n0, 1);
    memset(data, 'y', sizeof(data));
    assert_int_equal(tapir_tcp_send(h->st, c, data, sizeof(data), 0), (long)sizeof(data));
    th_poll(h);
    th_expect(h, A | P, iss + 1, PEER_ISS + 1, TH_ANY, 100);
    assert_true(h->last.opts.has_ts);
    assert_int_equal(h->last.opts.ts_ecr, PEER_TS + 1);
    /* The retransmission after the RTO echoes a newer TSval. */
    th_advance_ms(h, 1000);
    th_expect(h, A | P, iss + 1, PEER_ISS + 1, TH_ANY, 100);
    tsv = h->last.opts.ts_val;
    th_advance_ms(h, 37);
    send_ts(h, A, PEER_ISS + 1, iss + 101, 1000, true, PEER_TS + 2, tsv, NULL, 0);
    assert_int_equal(tapir_tcp_info(h->st, c, &ti), 0);
    /* Karn's rule alone would take no sample from a retransmission. */
    assert_int_equal(th_stat(h, "TapirTcpTsRttSamples"), 2);
    assert_int_equal(ti.rtt_us, (7 * 0 + 37000) / 8);   /* RFC 6298 (2.3) */
    finish(h, l, c);
}

/* RFC 7323 5.3: a segment whose TSval is older than TS.Recent is dropped
 * (its data not delivered), answered with an ACK, and counted. */
static void
paws_drops_old_timestamps(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss;
    int l, c = passive(h, O_TS, 0, &l, &iss, true);
    char buf[16];

    (void)state;
    send_ts(h, A | P, PEER_ISS + 1, iss + 1, 1000, true, PEER_TS + 10, 0, "new", 3);
    th_advance_ms(h, 200);
    th_expect(h, A, iss + 1, PEER_ISS + 4, TH_ANY, 0);
    assert_int_equal(h->last.opts.ts_ecr, PEER_TS + 10);
    /* An old duplicate from before (TSval going backwards), in window. */
    send_ts(h, A | P, PEER_ISS + 4, iss + 1, 1000, true, PEER_TS + 5, 0, "old", 3);
    th_expect(h, A, iss + 1, PEER_ISS + 4, TH_ANY, 0);
    assert_int_equal(th_stat(h, "TcpExtPAWSEstab"), 1);
    assert_int_equal(tapir_tcp_recv(h->st, c, buf, sizeof(buf), 0), 3);
    assert_memory_equal(buf, "new", 3);
    assert_int_equal(tapir_tcp_recv(h->st, c, buf, sizeof(buf), 0), -EAGAIN);
    /* A RST is exempt from PAWS (R1); so is a TSval that wrapped forward. */
    send_ts(h, A | P, PEER_ISS + 4, iss + 1, 1000, true, PEER_TS + 10 + 0x7ffffff0u, 0, "ok!", 3);
    assert_int_equal(tapir_tcp_recv(h->st, c, buf, sizeof(buf), 0), 3);
    assert_int_equal(th_stat(h, "TcpExtPAWSEstab"), 1);
    finish(h, l, c);
}

/* Older Linux omits TS on the handshake's last ACK (and some peers on
 * other segments): accepted and counted, the connection works. */
static void
missing_timestamps_are_accepted(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss;
    int l, c = passive(h, O_ALL, 7, &l, &iss, false);
    char buf[16];

    (void)state;
    assert_int_equal(th_stat(h, "TapirTcpTsMissing"), 1);
    send_ts(h, A | P, PEER_ISS + 1, iss + 1, 1000, false, 0, 0, "abc", 3);
    assert_int_equal(tapir_tcp_recv(h->st, c, buf, sizeof(buf), 0), 3);
    assert_int_equal(th_stat(h, "TapirTcpTsMissing"), 2);
    assert_int_equal(th_stat(h, "TcpExtPAWSEstab"), 0);
    finish(h, l, c);
}

/* With TS on, a full segment carries MSS - 12 bytes of payload so the
 * packet still fits the MTU. */
static void
timestamps_shorten_the_payload(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss;
    int l, c = passive(h, O_TS | O_WS, 0, &l, &iss, true);
    static char data[3000];

    (void)state;
    send_ts(h, A, PEER_ISS + 1, iss + 1, 65535, true, PEER_TS + 2, 0, NULL, 0);
    assert_int_equal(tapir_tcp_send(h->st, c, data, sizeof(data), 0), (long)sizeof(data));
    th_poll(h);
    th_expect(h, A, iss + 1, TH_ANY, TH_ANY, 1448);
    th_expect(h, A, iss + 1 + 1448, TH_ANY, TH_ANY, 1448);
    th_expect_none(h);              /* Nagle holds the short tail */
    finish(h, l, c);
}


static void
expect_blocks(struct th *h, int n, const uint32_t *lr)
{
    assert_int_equal(h->last.opts.n_sack, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(h->last.opts.sack[i].left, lr[2 * i]);
        assert_int_equal(h->last.opts.sack[i].right, lr[2 * i + 1]);
    }
}

/* RFC 2018 4: out-of-order data is ACKed at once with SACK blocks, the
 * block of the latest segment first, as many as fit beside TS (3). */
static void
sack_blocks_from_the_reassembly_queue(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss, r = PEER_ISS + 1;
    int l, c = passive(h, O_ALL, 7, &l, &iss, true);
    static char d[1000];

    (void)state;
    send_ts(h, A, r + 1000, iss + 1, 1000, true, PEER_TS + 2, 0, d, 100);
    th_expect(h, A, iss + 1, r, TH_ANY, 0);
    expect_blocks(h, 1, (const uint32_t[]){ r + 1000, r + 1100 });
    send_ts(h, A, r + 3000, iss + 1, 1000, true, PEER_TS + 3, 0, d, 100);
    th_expect(h, A, iss + 1, r, TH_ANY, 0);
    expect_blocks(h, 2, (const uint32_t[]){ r + 3000, r + 3100, r + 1000, r + 1100 });
    send_ts(h, A, r + 5000, iss + 1, 1000, true, PEER_TS + 4, 0, d, 100);
    th_drain(h);
    /* The latest segment extends the first block: that block leads. */
    send_ts(h, A, r + 1100, iss + 1, 1000, true, PEER_TS + 5, 0, d, 100);
    th_expect(h, A, iss + 1, r, TH_ANY, 0);
    expect_blocks(h, 3, (const uint32_t[]){ r + 1000, r + 1200, r + 5000, r + 5100,
        r + 3000, r + 3100 });
    send_ts(h, A, r + 7000, iss + 1, 1000, true, PEER_TS + 6, 0, d, 100);
    th_expect(h, A, iss + 1, r, TH_ANY, 0);
    expect_blocks(h, 3, (const uint32_t[]){ r + 7000, r + 7100, r + 5000, r + 5100,
        r + 3000, r + 3100 });
    /* The hole at RCV.NXT fills: the ACK jumps, the other blocks remain. */
    send_ts(h, A, r, iss + 1, 1000, true, PEER_TS + 7, 0, d, 100);
    th_drain(h);
    send_ts(h, A, r + 100, iss + 1, 1000, true, PEER_TS + 8, 0, d, 900);
    th_expect(h, A, iss + 1, r + 1200, TH_ANY, 0);
    expect_blocks(h, 3, (const uint32_t[]){ r + 7000, r + 7100, r + 5000, r + 5100,
        r + 3000, r + 3100 });
    finish(h, l, c);
}

/* Without TS, four blocks fit; with SACK off on our side, none are sent. */
static void
sack_block_count_and_switch(void **state)
{
    static char d[100];

    (void)state;
    for (int on = 0; on <= 1; on++) {
        struct th *h = harness(on, 0);
        uint32_t iss, r = PEER_ISS + 1;
        int l, c = passive(h, O_SACK, 0, &l, &iss, true);

        for (uint32_t k = 1; k <= 5; k++) {
            send_ts(h, A, r + 1000 * k, iss + 1, 1000, false, 0, 0, d, 100);
            th_expect(h, A, iss + 1, r, TH_ANY, 0);
            assert_int_equal(h->last.opts.n_sack, on ? (k < 4 ? k : 4) : 0);
            if (on)
                assert_int_equal(h->last.opts.sack[0].left, r + 1000 * k);
        }
        finish(h, l, c);
    }
}

/* Bad SACK blocks are ignored and counted: inverted, beyond SND.MAX,
 * repeated; one below SND.UNA is a D-SACK (counted).  A good one after
 * them still works, and none of them crash anything. */
static void
bad_sack_blocks_are_counted(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss;
    int l, c = passive(h, O_SACK | O_WS, 0, &l, &iss, true);
    static char d[2 * 1460];
    struct th_seg *a = calloc(1, sizeof(*a));

    (void)state;
    assert_non_null(a);
    send_ts(h, A, PEER_ISS + 1, iss + 1, 65535, false, 0, 0, NULL, 0);
    assert_int_equal(tapir_tcp_send(h->st, c, d, sizeof(d), 0), (long)sizeof(d));
    th_poll(h);
    th_expect(h, A, iss + 1, TH_ANY, TH_ANY, 1460);
    th_expect(h, A | P, iss + 1461, TH_ANY, TH_ANY, 1460);
    a->flags = A;
    a->seq = PEER_ISS + 1;
    a->ack = iss + 1;
    a->win = 1000;
    a->opts.n_sack = 4;
    a->opts.sack[0] = (struct tp_sack_block){ iss + 2000, iss + 1500 };         /* inverted */
    a->opts.sack[1] = (struct tp_sack_block){ iss + 1461, iss + 9999 };         /* past SND.MAX */
    a->opts.sack[2] = (struct tp_sack_block){ iss + 1461, iss + 2921 };         /* good */
    a->opts.sack[3] = (struct tp_sack_block){ iss + 1461, iss + 2921 };         /* repeated */
    th_inject(h, a);
    assert_int_equal(th_stat(h, "TapirTcpSackInverted"), 1);
    assert_int_equal(th_stat(h, "TapirTcpSackOutside"), 1);
    assert_int_equal(th_stat(h, "TapirTcpSackRepeated"), 1);
    /* The first segment is acknowledged; a D-SACK for it follows. */
    a->ack = iss + 1461;
    a->opts.n_sack = 2;
    a->opts.sack[0] = (struct tp_sack_block){ iss + 1, iss + 1461 };
    a->opts.sack[1] = (struct tp_sack_block){ iss + 1, iss + 100 };             /* below SND.UNA */
    th_inject(h, a);
    assert_int_equal(th_stat(h, "TcpExtTCPDSACKRecv"), 1);
    assert_int_equal(th_stat(h, "TapirTcpSackOutside"), 2);
    a->ack = iss + 2921;
    a->opts.n_sack = 0;
    th_inject(h, a);
    th_expect_none(h);
    free(a);
    finish(h, l, c);
}

/* RFC 6675: three duplicate ACKs whose SACK blocks show two holes: the
 * first lost segment goes at once, the second as the next ACK frees room
 * in the pipe -- no RTO, and no hole sent twice. */
static void
sack_scoreboard_repairs_two_holes(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss, u;
    int l, c = passive(h, O_SACK | O_WS, 0, &l, &iss, true);
    static char d[10 * 1460];
    struct th_seg *a = calloc(1, sizeof(*a));

    (void)state;
    assert_non_null(a);
    u = iss + 1;
    send_ts(h, A, PEER_ISS + 1, u, 65535, false, 0, 0, NULL, 0);
    assert_int_equal(tapir_tcp_send(h->st, c, d, sizeof(d), 0), (long)sizeof(d));
    th_poll(h);
    for (int k = 0; k < 10; k++)
        th_expect(h, A | (k == 9 ? P : 0), u + 1460u * (uint32_t)k, TH_ANY, TH_ANY, 1460);
    /* Segments 0 and 3 lost: 1-2 and 4-9 arrive, each drawing a dup ACK. */
    a->flags = A;
    a->seq = PEER_ISS + 1;
    a->ack = u;
    a->win = 65535;
    for (int k = 1; k <= 9; k++) {
        if (k == 3)
            continue;
        a->opts.n_sack = k < 3 ? 1 : 2;
        a->opts.sack[0] = k < 3 ? (struct tp_sack_block){ u + 1460, u + 1460u * (uint32_t)(k + 1) }
            : (struct tp_sack_block){ u + 4 * 1460, u + 1460u * (uint32_t)(k + 1) };
        a->opts.sack[1] = (struct tp_sack_block){ u + 1460, u + 3 * 1460 };
        th_inject(h, a);
    }
    /* Exactly the two holes were resent, each once; then, with room in
     * cwnd and nothing else to send, NextSeg() rule (4)'s one rescue
     * retransmission of the last segment (tcp_sack_test has the rules). */
    th_expect(h, A, u, TH_ANY, TH_ANY, 1460);
    th_expect(h, A, u + 3 * 1460, TH_ANY, TH_ANY, 1460);
    th_expect(h, A, u + 9 * 1460, TH_ANY, TH_ANY, 1460);
    th_expect_none(h);
    assert_int_equal(th_stat(h, "TapirTcpSackRescue"), 1);
    assert_int_equal(th_stat(h, "TcpExtTCPSackRecovery"), 1);
    assert_int_equal(th_stat(h, "TcpExtTCPTimeouts"), 0);
    /* The ACK of everything ends recovery. */
    a->ack = u + 10 * 1460;
    a->opts.n_sack = 0;
    th_inject(h, a);
    th_expect_none(h);
    free(a);
    finish(h, l, c);
}

/* TAPIR_TCP_CONGESTION: per socket, inherited from a listener, checked;
 * IW10 (RFC 6928); an RTO leaves cwnd at one segment and ssthresh at
 * max(FlightSize / 2, 2 SMSS) (RFC 5681 (4), (5)). */
static void
congestion_control_option_and_rto(void **state)
{
    for (int cc = 0; cc < TAPIR_TCP_CC_COUNT; cc++) {
        struct th *h = harness(true, 0);
        uint32_t iss;
        int l = tapir_tcp_socket(h->st), c, v = -1;
        struct tapir_tcp_info ti;
        static char d[10 * 1460];

        (void)state;
        assert_int_equal(tapir_tcp_setsockopt(h->st, l, TAPIR_TCP_CONGESTION, TAPIR_TCP_CC_COUNT),
            -EINVAL);
        assert_int_equal(tapir_tcp_setsockopt(h->st, l, TAPIR_TCP_CONGESTION, -1), -EINVAL);
        assert_int_equal(tapir_tcp_setsockopt(h->st, l, TAPIR_TCP_CONGESTION, cc), 0);
        tapir_tcp_close(h->st, l);
        c = passive(h, O_WS, 0, &l, &iss, true);
        assert_int_equal(tapir_tcp_getsockopt(h->st, c, TAPIR_TCP_CONGESTION, &v), 0);
        assert_int_equal(v, h->cfg.tcp.cc);        /* the closed socket's choice did not leak */
        assert_int_equal(tapir_tcp_setsockopt(h->st, c, TAPIR_TCP_CONGESTION, cc), 0);
        assert_int_equal(tapir_tcp_getsockopt(h->st, c, TAPIR_TCP_CONGESTION, &v), 0);
        assert_int_equal(v, cc);
        assert_int_equal(tapir_tcp_info(h->st, c, &ti), 0);
        assert_int_equal(ti.cwnd, 10 * 1460);
        send_ts(h, A, PEER_ISS + 1, iss + 1, 65535, false, 0, 0, NULL, 0);
        assert_int_equal(tapir_tcp_send(h->st, c, d, sizeof(d), 0), (long)sizeof(d));
        th_poll(h);
        assert_int_equal(th_pending(h), 10);       /* the whole initial window */
        th_drain(h);
        th_advance_ms(h, 1000);                    /* RTO */
        th_expect(h, A, iss + 1, TH_ANY, TH_ANY, 1460);
        th_expect_none(h);
        assert_int_equal(tapir_tcp_info(h->st, c, &ti), 0);
        assert_int_equal(ti.cwnd, 1460);
        if (cc == TAPIR_TCP_CC_NEWRENO)
            assert_int_equal(ti.ssthresh, 5 * 1460);
        else
            assert_int_equal(ti.ssthresh, 7 * 1460);    /* CUBIC: beta 0.7 x cwnd */
        tapir_tcp_abort(h->st, c);
        tapir_tcp_close(h->st, l);
        th_drain(h);
        th_expire(h, 10 * 60 * 1000);
        th_free(h);
    }
}

/* A peer that keeps a zero window forever but answers each probe: probing
 * goes on (MUST-35), one probe per backed-off interval capped at rto_max
 * (no busy loop). */
static void
zero_window_forever_is_probed_boundedly(void **state)
{
    struct th *h = harness(false, 0);
    uint32_t iss;
    int l, c = passive(h, 0, 0, &l, &iss, true);
    static char d[100];
    size_t sent = 0;

    (void)state;
    th_send(h, A, PEER_ISS + 1, iss + 1, 0, NULL, 0);
    assert_int_equal(tapir_tcp_send(h->st, c, d, sizeof(d), 0), (long)sizeof(d));
    th_poll(h);
    th_expect_none(h);
    for (int i = 0; i < 40; i++) {
        struct th_seg s;

        th_advance_ms(h, 30 * 1000);
        while (th_next(h, &s)) {
            assert_int_equal(s.len, 1);             /* a one-byte probe */
            sent++;
            th_send(h, A, PEER_ISS + 1, iss + 1, 0, NULL, 0);  /* still zero */
        }
    }
    /* 20 minutes: the backoff reached rto_max (60 s); far fewer probes
     * than a fixed short interval would send, yet more than R2. */
    assert_true(sent > h->cfg.tcp.r2 + 1 && sent < 40);
    assert_int_equal(th_state(h, c), TAPIR_TCP_ESTABLISHED);
    assert_int_equal(th_stat(h, "TapirTcpZeroWindowProbes"), sent);
    finish(h, l, c);
}

/* A zero window whose peer then vanishes: unanswered probes count
 * against R2, and the connection is given up with ETIMEDOUT. */
static void
unanswered_zero_window_probes_give_up(void **state)
{
    struct th *h = harness(false, 0);
    uint32_t iss;
    int l, c = passive(h, 0, 0, &l, &iss, true);
    static char d[100];
    size_t probes = 0;

    (void)state;
    th_send(h, A, PEER_ISS + 1, iss + 1, 0, NULL, 0);
    assert_int_equal(tapir_tcp_send(h->st, c, d, sizeof(d), 0), (long)sizeof(d));
    th_poll(h);
    for (int i = 0; i < 3600 && th_state(h, c) != TAPIR_TCP_CLOSED; i++) {
        th_advance_ms(h, 1000);
        probes += th_pending(h);
        th_drain(h);
    }
    assert_int_equal(th_state(h, c), TAPIR_TCP_CLOSED);
    assert_int_equal(probes, h->cfg.tcp.r2);
    assert_int_equal(tapir_tcp_error(h->st, c), -ETIMEDOUT);
    assert_int_equal(th_stat(h, "TcpExtTCPAbortOnTimeout"), 1);
    finish(h, l, c);
}

/* MSS 0 is raised to 64 (counted); with timestamps a segment still fits:
 * 64 - 12 bytes.  A peer MSS above our link's is cut to the MTU's.  On a
 * 72-byte MTU we offer 32 (MUST-67: below the 64 floor) and send 20-byte
 * segments: 32 less the TS option (RFC 6691). */
static void
mss_zero_and_link_mtu(void **state)
{
    static char d[200];

    (void)state;
    for (int k = 0; k < 3; k++) {
        struct tapir_config cfg;
        struct th *h;
        struct th_seg *syn = calloc(1, sizeof(*syn));
        uint32_t iss;
        int l, c;

        th_config(&cfg);
        cfg.mtu = k == 2 ? 72 : 1000;
        h = th_new(&cfg);
        assert_non_null(syn);
        l = tapir_tcp_socket(h->st);
        assert_int_equal(tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 }), 0);
        assert_int_equal(tapir_tcp_listen(h->st, l, 4), 0);
        h->lport = 80;
        syn->flags = S;
        syn->seq = PEER_ISS;
        syn->win = 65535;
        peer_opts(&syn->opts, O_TS, 0, PEER_TS, 0);
        syn->opts.has_mss = true;
        syn->opts.mss = k == 0 ? 0 : 1460;
        th_inject(h, syn);
        free(syn);
        th_expect(h, S | A, TH_ANY, PEER_ISS + 1, TH_ANY, 0);
        assert_int_equal(h->last.opts.mss, cfg.mtu - 40);  /* ours: the link MTU - 40 */
        iss = h->last.seq;
        send_ts(h, A, PEER_ISS + 1, iss + 1, 65535, true, PEER_TS + 1, 0, NULL, 0);
        c = tapir_tcp_accept(h->st, l, NULL);
        assert_true(c >= 0);
        assert_int_equal(tapir_tcp_setsockopt(h->st, c, TAPIR_TCP_NODELAY, 1), 0);
        if (k == 0) {
            assert_int_equal(th_stat(h, "TapirTcpMssClamped"), 1);
            assert_int_equal(tapir_tcp_send(h->st, c, d, 100, 0), 100);
            th_poll(h);
            th_expect(h, A, iss + 1, TH_ANY, TH_ANY, 52);
            th_expect(h, A | P, iss + 53, TH_ANY, TH_ANY, 48);
        } else if (k == 2) {
            assert_int_equal(tapir_tcp_send(h->st, c, d, 30, 0), 30);
            th_poll(h);
            th_expect(h, A, iss + 1, TH_ANY, TH_ANY, 20);
            assert_int_equal(h->last.opts.has_ts, true);
            th_expect(h, A | P, iss + 21, TH_ANY, TH_ANY, 10);
        } else {
            static char big[2000];

            assert_int_equal(tapir_tcp_send(h->st, c, big, sizeof(big), 0), (long)sizeof(big));
            th_poll(h);
            th_expect(h, A, iss + 1, TH_ANY, TH_ANY, 948);
        }
        finish(h, l, c);
    }
}

/* Closing a listener resets its children in the SYN queue and the accept
 * queue (found through its own lists, not a table scan), and frees them. */
static void
closing_a_listener_resets_its_queues(void **state)
{
    struct th *h = harness(true, 0);
    int l = tapir_tcp_socket(h->st);
    struct th_seg s;
    int rsts = 0;

    (void)state;
    assert_int_equal(tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 }), 0);
    assert_int_equal(tapir_tcp_listen(h->st, l, 8), 0);
    h->lport = 80;
    for (uint16_t k = 0; k < 4; k++) {
        h->rport = (uint16_t)(40000 + k);
        th_send(h, S, PEER_ISS + 1000u * k, 0, 65535, NULL, 0);
        th_expect(h, S | A, TH_ANY, PEER_ISS + 1000u * k + 1, TH_ANY, 0);
        if (k % 2 == 1)             /* two complete the handshake */
            th_send(h, A, PEER_ISS + 1000u * k + 1, h->last.seq + 1, 65535, NULL, 0);
    }
    th_drain(h);
    assert_int_equal(th_nsocks(h), 5);
    tapir_tcp_close(h->st, l);
    while (th_next(h, &s))
        rsts += (s.flags & TP_TCP_RST) != 0;
    assert_int_equal(rsts, 4);
    assert_int_equal(th_nsocks(h), 0);
    th_free(h);
}

/* RFC 2883: a duplicate segment is reported once as the first SACK block
 * (D-SACK), before the blocks of held data. */
static void
duplicate_data_draws_one_dsack(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss, r = PEER_ISS + 1;
    int l, c = passive(h, O_SACK, 0, &l, &iss, true);
    static char d[300];

    (void)state;
    send_ts(h, A, r, iss + 1, 1000, false, 0, 0, d, 100);
    send_ts(h, A, r + 100, iss + 1, 1000, false, 0, 0, d, 100);
    th_expect(h, A, iss + 1, r + 200, TH_ANY, 0);
    assert_int_equal(h->last.opts.n_sack, 0);
    send_ts(h, A, r + 300, iss + 1, 1000, false, 0, 0, d, 100);   /* held */
    th_drain(h);
    send_ts(h, A, r + 100, iss + 1, 1000, false, 0, 0, d, 100);   /* a duplicate */
    th_expect(h, A, iss + 1, r + 200, TH_ANY, 0);
    expect_blocks(h, 2, (const uint32_t[]){ r + 100, r + 200, r + 300, r + 400 });
    assert_int_equal(th_stat(h, "TcpExtTCPDSACKOldSent"), 1);
    send_ts(h, A, r + 500, iss + 1, 1000, false, 0, 0, d, 100);   /* held */
    th_expect(h, A, iss + 1, r + 200, TH_ANY, 0);
    expect_blocks(h, 2, (const uint32_t[]){ r + 500, r + 600, r + 300, r + 400 });
    finish(h, l, c);
}

/* RFC 2883 4.1.1: a segment whose front repeats delivered data reports
 * that front [SEG.SEQ, RCV.NXT) as a D-SACK block, at once (no delayed
 * ACK), and its new part is taken. */
static void
partial_duplicate_front_draws_dsack(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss, r = PEER_ISS + 1;
    int l, c = passive(h, O_SACK, 0, &l, &iss, true);
    static char d[300];

    (void)state;
    send_ts(h, A, r, iss + 1, 1000, false, 0, 0, d, 100);
    th_advance_ms(h, 500);
    th_expect(h, A, iss + 1, r + 100, TH_ANY, 0);
    send_ts(h, A, r + 50, iss + 1, 1000, false, 0, 0, d, 100);    /* 50 old, 50 new */
    th_expect(h, A, iss + 1, r + 150, TH_ANY, 0);                /* no delay */
    expect_blocks(h, 1, (const uint32_t[]){ r + 50, r + 100 });
    send_ts(h, A, r + 150, iss + 1, 1000, false, 0, 0, d, 10);    /* new only */
    th_advance_ms(h, 500);
    th_expect(h, A, iss + 1, r + 160, TH_ANY, 0);
    assert_int_equal(h->last.opts.n_sack, 0);
    finish(h, l, c);
}

/* RFC 2883 4.1.2: data repeating part of a held out-of-order block, whether
 * it arrives out of order or in order, reports the repeated range first,
 * then the block that holds it (if still held); only the lowest repeated
 * range when it repeats several. */
static void
overlap_with_held_data_draws_dsack(void **state)
{
    struct th *h = harness(true, 0);
    uint32_t iss, r = PEER_ISS + 1;
    int l, c = passive(h, O_SACK, 0, &l, &iss, true);
    static char d[700];

    (void)state;
    send_ts(h, A, r + 200, iss + 1, 1000, false, 0, 0, d, 100);   /* held 200:300 */
    send_ts(h, A, r + 400, iss + 1, 1000, false, 0, 0, d, 100);   /* held 400:500 */
    th_drain(h);
    send_ts(h, A, r + 250, iss + 1, 1000, false, 0, 0, d, 100);   /* 250:350 */
    th_expect(h, A, iss + 1, r, TH_ANY, 0);
    expect_blocks(h, 3, (const uint32_t[]){ r + 250, r + 300, r + 200, r + 350,
        r + 400, r + 500 });
    send_ts(h, A, r + 150, iss + 1, 1000, false, 0, 0, d, 400);   /* 150:550 */
    th_expect(h, A, iss + 1, r, TH_ANY, 0);
    expect_blocks(h, 2, (const uint32_t[]){ r + 200, r + 350, r + 150, r + 550 });
    send_ts(h, A, r, iss + 1, 1000, false, 0, 0, d, 600);         /* 0:600, in order */
    th_expect(h, A, iss + 1, r + 600, TH_ANY, 0);
    expect_blocks(h, 1, (const uint32_t[]){ r + 150, r + 550 });
    finish(h, l, c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passive_negotiation_matrix),
        cmocka_unit_test(active_negotiation_matrix),
        cmocka_unit_test(scaled_window_arithmetic),
        cmocka_unit_test(wscale_above_14_is_clamped),
        cmocka_unit_test(timestamps_time_the_rtt),
        cmocka_unit_test(paws_drops_old_timestamps),
        cmocka_unit_test(missing_timestamps_are_accepted),
        cmocka_unit_test(timestamps_shorten_the_payload),
        cmocka_unit_test(sack_blocks_from_the_reassembly_queue),
        cmocka_unit_test(sack_block_count_and_switch),
        cmocka_unit_test(bad_sack_blocks_are_counted),
        cmocka_unit_test(sack_scoreboard_repairs_two_holes),
        cmocka_unit_test(congestion_control_option_and_rto),
        cmocka_unit_test(zero_window_forever_is_probed_boundedly),
        cmocka_unit_test(unanswered_zero_window_probes_give_up),
        cmocka_unit_test(mss_zero_and_link_mtu),
        cmocka_unit_test(closing_a_listener_resets_its_queues),
        cmocka_unit_test(duplicate_data_draws_one_dsack),
        cmocka_unit_test(partial_duplicate_front_draws_dsack),
        cmocka_unit_test(overlap_with_held_data_draws_dsack),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
