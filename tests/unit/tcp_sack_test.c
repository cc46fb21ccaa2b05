/*
 * tests/unit/tcp_sack_test.c -- the sender's SACK loss recovery, segment by
 * segment in virtual time: RFC 6675 NextSeg() rules (3) and (4) (a hole
 * not yet deemed lost, the rescue retransmission once per recovery), RFC
 * 6675 5.1 (after an RTO the scoreboard is kept and SACKed data is not sent
 * again), and the receiver's SACK block covering a FIN it holds.
 *
 * The stack offers SACK only (no timestamps: every segment carries 1460
 * bytes); the test plays the receiver and writes its ACKs by hand.
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
#define MSS 1460u
#define RTT 10                      /* ms, the handshake's and each ACK's */

struct conn {
    struct th *h;
    int l, c;
    uint32_t u;                     /* our first data byte (ISS + 1) */
    struct th_seg *a;               /* the peer's next ACK, reused */
};

static struct th *
harness(bool rack)
{
    struct tapir_config cfg;

    th_config(&cfg);
    cfg.tcp.wscale = false;
    cfg.tcp.timestamps = false;
    cfg.tcp.sack = true;
    cfg.tcp.rack = rack;
    return th_new(&cfg);
}

/* Passive open with a peer offering SACK (the handshake takes RTT ms);
 * then n segments of data go out (n <= 10: the initial window). */
static void
open_rack(struct conn *k, int n, bool rack)
{
    static char d[10 * MSS];
    struct th_seg *syn = calloc(1, sizeof(*syn));
    uint32_t iss;

    assert_non_null(syn);
    memset(k, 0, sizeof(*k));
    k->h = harness(rack);
    k->l = tapir_tcp_socket(k->h->st);
    assert_int_equal(tapir_tcp_bind(k->h->st, k->l, (struct tapir_sockaddr){ 0, 80 }), 0);
    assert_int_equal(tapir_tcp_listen(k->h->st, k->l, 4), 0);
    k->h->lport = 80;
    syn->flags = S;
    syn->seq = PEER_ISS;
    syn->win = 65535;
    syn->opts.has_mss = true;
    syn->opts.mss = MSS;
    syn->opts.sack_permitted = true;
    th_inject(k->h, syn);
    free(syn);
    th_expect(k->h, S | A, TH_ANY, PEER_ISS + 1, TH_ANY, 0);
    assert_true(k->h->last.opts.sack_permitted);
    iss = k->h->last.seq;
    k->u = iss + 1;
    th_advance_ms(k->h, RTT);
    th_send(k->h, A, PEER_ISS + 1, k->u, 65535, NULL, 0);
    th_expect_none(k->h);
    k->c = tapir_tcp_accept(k->h->st, k->l, NULL);
    assert_true(k->c >= 0);
    k->a = calloc(1, sizeof(*k->a));
    assert_non_null(k->a);
    k->a->flags = A;
    k->a->seq = PEER_ISS + 1;
    k->a->ack = k->u;
    k->a->win = 65535;
    assert_int_equal(tapir_tcp_send(k->h->st, k->c, d, (size_t)n * MSS, 0), (long)((size_t)n * MSS));
    th_poll(k->h);
    for (int i = 0; i < n; i++)
        th_expect(k->h, A | (i == n - 1 ? P : 0), k->u + MSS * (uint32_t)i, TH_ANY, TH_ANY, MSS);
    th_expect_none(k->h);
}

/* RFC 6675 alone: RACK off. */
static void
open_and_send(struct conn *k, int n)
{
    open_rack(k, n, false);
}

static void
finish(struct conn *k)
{
    free(k->a);
    tapir_tcp_abort(k->h->st, k->c);
    tapir_tcp_close(k->h->st, k->l);
    th_drain(k->h);
    th_expire(k->h, 10 * 60 * 1000);
    th_free(k->h);
}

/* Segment i's sequence number. */
static uint32_t
sq(const struct conn *k, uint32_t i)
{
    return k->u + MSS * i;
}

/* The peer ACKs cumulative segment index `ack` with up to three SACK
 * blocks given as segment index pairs [l, r) (0, 0 ends the list). */
static void
ack_sack(struct conn *k, uint32_t ack, const uint32_t *blk, int n)
{
    k->a->ack = sq(k, ack);
    k->a->opts.n_sack = (uint8_t)n;
    for (int i = 0; i < n; i++)
        k->a->opts.sack[i] = (struct tp_sack_block){ sq(k, blk[2 * i]), sq(k, blk[2 * i + 1]) };
    th_inject(k->h, k->a);
}

/* Ten segments; 0 and 8 lost.  Segments 1-3 arriving make 0 lost (RFC 6675
 * IsLost): it goes at once.  With 4-6 the pipe falls below cwnd and no
 * new data is left, no hole above HighRxt lies below a SACKed byte, so
 * rule (4) sends the rescue: the last segment, 9.  Segment 9 arriving
 * leaves the hole at 8, which IsLost() does not call lost (one segment
 * SACKed above it): rule (3) resends it.  No second rescue, no RTO. */
static void
nextseg_rules_3_and_4(void **state)
{
    struct conn k;

    (void)state;
    open_and_send(&k, 10);
    for (uint32_t i = 1; i <= 7; i++) {
        ack_sack(&k, 0, (uint32_t[]){ 1, i + 1 }, 1);
        if (i == 3)
            th_expect(k.h, A, sq(&k, 0), TH_ANY, TH_ANY, MSS);     /* rule (1) */
        if (i == 6)
            th_expect(k.h, A, sq(&k, 9), TH_ANY, TH_ANY, MSS);     /* rule (4) */
        th_expect_none(k.h);
    }
    assert_int_equal(th_stat(k.h, "TcpExtTCPSackRecovery"), 1);
    assert_int_equal(th_stat(k.h, "TapirTcpSackRescue"), 1);
    ack_sack(&k, 0, (uint32_t[]){ 9, 10, 1, 8 }, 2);
    th_expect(k.h, A, sq(&k, 8), TH_ANY, TH_ANY, MSS);             /* rule (3) */
    th_expect_none(k.h);
    assert_int_equal(th_stat(k.h, "TapirTcpSackRetrans"), 1);
    assert_int_equal(th_stat(k.h, "TapirTcpSackRescue"), 1);
    /* Segment 0's retransmission arrives: a partial ACK, nothing new to
     * send, the rescue spent. */
    ack_sack(&k, 8, (uint32_t[]){ 9, 10 }, 1);
    th_expect_none(k.h);
    ack_sack(&k, 10, NULL, 0);
    th_expect_none(k.h);
    assert_int_equal(th_stat(k.h, "TcpRetransSegs"), 3);
    assert_int_equal(th_stat(k.h, "TcpExtTCPTimeouts"), 0);
    finish(&k);
}

/* Rule (4) is once per recovery, and only with room in cwnd: after the
 * rescue of segment 9 the next dup ACKs send nothing more, however much
 * room they make. */
static void
rescue_once_per_recovery(void **state)
{
    struct conn k;

    (void)state;
    open_and_send(&k, 10);
    for (uint32_t i = 1; i <= 8; i++)
        ack_sack(&k, 0, (uint32_t[]){ 1, i + 1 }, 1);
    th_expect(k.h, A, sq(&k, 0), TH_ANY, TH_ANY, MSS);
    th_expect(k.h, A, sq(&k, 9), TH_ANY, TH_ANY, MSS);
    th_expect_none(k.h);
    assert_int_equal(th_stat(k.h, "TapirTcpSackRescue"), 1);
    finish(&k);
}

/* RFC 6675 5.1: an RTO with segments 2-3 SACKed (too few for recovery).
 * cwnd falls to one segment: segment 0 goes again; its ACK doubles cwnd and
 * 1 goes, then 4 -- segments 2 and 3, SACKed, are skipped -- and no new
 * fast recovery begins below the recovery point. */
static void
rto_keeps_sacked_data(void **state)
{
    struct conn k;

    (void)state;
    open_and_send(&k, 10);
    ack_sack(&k, 0, (uint32_t[]){ 2, 3 }, 1);
    ack_sack(&k, 0, (uint32_t[]){ 2, 4 }, 1);
    th_expect_none(k.h);
    assert_int_equal(th_stat(k.h, "TcpExtTCPSackRecovery"), 0);
    th_advance_ms(k.h, 1100);
    assert_int_equal(th_stat(k.h, "TcpExtTCPTimeouts"), 1);
    th_expect(k.h, A, sq(&k, 0), TH_ANY, TH_ANY, MSS);
    th_expect_none(k.h);
    ack_sack(&k, 1, (uint32_t[]){ 2, 4 }, 1);
    th_expect(k.h, A, sq(&k, 1), TH_ANY, TH_ANY, MSS);
    th_expect(k.h, A, sq(&k, 4), TH_ANY, TH_ANY, MSS);
    th_expect_none(k.h);
    /* Segment 1 fills the hole: SND.UNA jumps over the SACKed 2-3; slow
     * start goes on from 5 (three more: 4 is in flight, cwnd is 4). */
    ack_sack(&k, 4, NULL, 0);
    th_expect(k.h, A, sq(&k, 5), TH_ANY, TH_ANY, MSS);
    th_expect(k.h, A, sq(&k, 6), TH_ANY, TH_ANY, MSS);
    th_expect(k.h, A, sq(&k, 7), TH_ANY, TH_ANY, MSS);
    th_expect_none(k.h);
    /* Three dup ACKs below the recovery point: no fast recovery (RFC
     * 6675 5.1), the timer is left to repair it. */
    ack_sack(&k, 5, (uint32_t[]){ 6, 7 }, 1);
    th_expect(k.h, A, sq(&k, 8), TH_ANY, TH_ANY, MSS);             /* go-back-N goes on */
    th_expect(k.h, A | P, sq(&k, 9), TH_ANY, TH_ANY, MSS);
    ack_sack(&k, 5, (uint32_t[]){ 6, 8 }, 1);
    ack_sack(&k, 5, (uint32_t[]){ 6, 8 }, 1);
    th_expect_none(k.h);
    assert_int_equal(th_stat(k.h, "TcpExtTCPSackRecovery"), 0);
    assert_int_equal(th_stat(k.h, "TcpRetransSegs"), 8);
    finish(&k);
}

/* The receiver's side: out-of-order data that ends in a FIN is reported
 * in a SACK block that covers the FIN too. */
static void
sack_block_covers_a_held_fin(void **state)
{
    struct th *h = harness(true);
    struct th_seg *syn = calloc(1, sizeof(*syn));
    static char d[1000];
    uint32_t iss;
    int l = tapir_tcp_socket(h->st), c;

    (void)state;
    assert_non_null(syn);
    assert_int_equal(tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 }), 0);
    assert_int_equal(tapir_tcp_listen(h->st, l, 4), 0);
    h->lport = 80;
    syn->flags = S;
    syn->seq = PEER_ISS;
    syn->win = 65535;
    syn->opts.sack_permitted = true;
    th_inject(h, syn);
    th_expect(h, S | A, TH_ANY, PEER_ISS + 1, TH_ANY, 0);
    iss = h->last.seq;
    th_send(h, A, PEER_ISS + 1, iss + 1, 65535, NULL, 0);
    c = tapir_tcp_accept(h->st, l, NULL);
    assert_true(c >= 0);
    /* 100 bytes missing, then 200 bytes and the FIN. */
    th_send(h, A | F, PEER_ISS + 101, iss + 1, 65535, d, 200);
    th_expect(h, A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
    assert_int_equal(h->last.opts.n_sack, 1);
    assert_int_equal(h->last.opts.sack[0].left, PEER_ISS + 101);
    assert_int_equal(h->last.opts.sack[0].right, PEER_ISS + 302);
    /* The hole filled: data and FIN acknowledged at once. */
    th_send(h, A, PEER_ISS + 1, iss + 1, 65535, d, 100);
    th_expect(h, A, iss + 1, PEER_ISS + 302, TH_ANY, 0);
    assert_int_equal(h->last.opts.n_sack, 0);
    assert_int_equal(th_state(h, c), TAPIR_TCP_CLOSE_WAIT);
    free(syn);
    tapir_tcp_abort(h->st, c);
    tapir_tcp_close(h->st, l);
    th_drain(h);
    th_expire(h, 10 * 60 * 1000);
    th_free(h);
}

/* ---- RACK-TLP (RFC 8985) ---- */

/* Segment 0 lost, only segment 1 SACKed: too little for DupThresh, but 1
 * was sent with 0 and delivered, so once the reordering window (min RTT /
 * 4 = 2.5 ms) has passed 0 is lost: the reordering timer fires and
 * recovery resends it.  With RACK off nothing goes before the RTO. */
static void
rack_reordering_timer(void **state)
{
    for (int on = 0; on <= 1; on++) {
        struct conn k;

        (void)state;
        open_rack(&k, 10, on);
        th_advance_ms(k.h, RTT);
        ack_sack(&k, 0, (uint32_t[]){ 1, 2 }, 1);
        th_expect_none(k.h);
        th_advance_ms(k.h, 2);
        th_expect_none(k.h);
        th_advance_ms(k.h, 1);
        if (on) {
            th_expect(k.h, A, sq(&k, 0), TH_ANY, TH_ANY, MSS);
            assert_int_equal(th_stat(k.h, "TapirTcpRackReoTimeouts"), 1);
            assert_int_equal(th_stat(k.h, "TapirTcpRackLost"), 1);
            assert_int_equal(th_stat(k.h, "TcpExtTCPSackRecovery"), 1);
        }
        th_expect_none(k.h);
        assert_int_equal(th_stat(k.h, "TcpExtTCPTimeouts"), 0);
        finish(&k);
    }
}

/* RFC 8985 6.2 step 4: a D-SACK shows a retransmission was spurious, so
 * the reordering window grows from min RTT / 4 (2.5 ms) to twice that --
 * once per round trip however many D-SACKs come.  Then segment 5 lost
 * with 6-7 SACKed: the reordering timer waits 5 ms instead of 2.5. */
static void
dsack_widens_the_reordering_window(void **state)
{
    for (int dsack = 0; dsack <= 1; dsack++) {
        struct conn k;

        (void)state;
        open_rack(&k, 10, true);
        th_advance_ms(k.h, RTT);
        ack_sack(&k, 4, NULL, 0);
        if (dsack) {
            ack_sack(&k, 5, (uint32_t[]){ 0, 1 }, 1);
            ack_sack(&k, 5, (uint32_t[]){ 1, 2 }, 1);      /* the same round */
        } else {
            ack_sack(&k, 5, NULL, 0);
        }
        assert_int_equal(th_stat(k.h, "TapirTcpRackReoWndGrown"), dsack);
        assert_int_equal(th_stat(k.h, "TcpExtTCPDSACKRecv"), 2 * dsack);
        ack_sack(&k, 5, (uint32_t[]){ 6, 8 }, 1);
        th_advance_ms(k.h, 3);
        if (dsack) {
            th_expect_none(k.h);
            th_advance_ms(k.h, 2);
        }
        th_expect(k.h, A, sq(&k, 5), TH_ANY, TH_ANY, MSS);
        assert_int_equal(th_stat(k.h, "TapirTcpRackReoTimeouts"), 1);
        th_drain(k.h);
        finish(&k);
    }
}

/* Segment 0 lost, and its fast retransmission lost too.  New data sent
 * after that retransmission is SACKed: RACK knows the retransmission had
 * its chance (TcpExtTCPLostRetransmit) and resends segment 0 a third time,
 * where RFC 6675 alone waits for the RTO. */
static void
rack_lost_retransmission(void **state)
{
    static char more[4 * MSS];
    struct conn k;

    (void)state;
    open_rack(&k, 10, true);
    th_advance_ms(k.h, RTT);
    for (uint32_t i = 1; i <= 3; i++)
        ack_sack(&k, 0, (uint32_t[]){ 1, i + 1 }, 1);
    th_expect(k.h, A, sq(&k, 0), TH_ANY, TH_ANY, MSS);             /* fast retransmit */
    th_expect_none(k.h);
    /* More data; the rest of the flight arrives: pipe drains (cwnd is 5
     * segments now), new data goes. */
    assert_int_equal(tapir_tcp_send(k.h->st, k.c, more, sizeof(more), 0), (long)sizeof(more));
    th_advance_ms(k.h, 1);
    ack_sack(&k, 0, (uint32_t[]){ 1, 10 }, 1);
    th_expect(k.h, A, sq(&k, 10), TH_ANY, TH_ANY, MSS);
    th_expect(k.h, A, sq(&k, 11), TH_ANY, TH_ANY, MSS);
    th_expect(k.h, A, sq(&k, 12), TH_ANY, TH_ANY, MSS);
    th_expect(k.h, A | P, sq(&k, 13), TH_ANY, TH_ANY, MSS);
    th_expect_none(k.h);
    /* The new data is SACKed one RTT later; segment 0 is not. */
    th_advance_ms(k.h, RTT);
    ack_sack(&k, 0, (uint32_t[]){ 10, 11, 1, 10 }, 2);
    th_expect(k.h, A, sq(&k, 0), TH_ANY, TH_ANY, MSS);
    assert_int_equal(th_stat(k.h, "TcpExtTCPLostRetransmit"), 1);
    assert_int_equal(th_stat(k.h, "TcpExtTCPTimeouts"), 0);
    th_drain(k.h);
    finish(&k);
}

/* The tail of a flight lost (segments 5-9), 0-4 ACKed: no ACK comes back
 * for the rest, so after PTO = 2 SRTT = 20 ms the last segment goes again
 * as a probe (TcpExtTCPLossProbes).  Its SACK shows 5-8 missing, sent
 * before it: RACK marks them lost and recovery resends them, all long
 * before the 200 ms RTO.  With RACK off the same flight waits for the RTO. */
static void
tlp_probes_the_tail(void **state)
{
    for (int on = 0; on <= 1; on++) {
        struct conn k;

        (void)state;
        open_rack(&k, 10, on);
        th_advance_ms(k.h, RTT);
        ack_sack(&k, 5, NULL, 0);
        th_expect_none(k.h);
        th_advance_ms(k.h, 2 * RTT - 1);
        th_expect_none(k.h);
        th_advance_ms(k.h, 1);
        if (!on) {
            th_expect_none(k.h);
            th_advance_ms(k.h, 200);
            assert_int_equal(th_stat(k.h, "TcpExtTCPTimeouts"), 1);
            assert_int_equal(th_stat(k.h, "TcpExtTCPLossProbes"), 0);
            finish(&k);
            continue;
        }
        th_expect(k.h, A, sq(&k, 9), TH_ANY, TH_ANY, MSS);         /* the probe */
        th_expect_none(k.h);
        assert_int_equal(th_stat(k.h, "TcpExtTCPLossProbes"), 1);
        th_advance_ms(k.h, RTT);
        ack_sack(&k, 5, (uint32_t[]){ 9, 10 }, 1);
        th_expect(k.h, A, sq(&k, 5), TH_ANY, TH_ANY, MSS);
        assert_int_equal(th_stat(k.h, "TapirTcpRackLost"), 4);
        assert_int_equal(th_stat(k.h, "TcpExtTCPSackRecovery"), 1);
        th_expect(k.h, A, sq(&k, 6), TH_ANY, TH_ANY, MSS);         /* as cwnd allows */
        th_expect_none(k.h);
        /* Everything arrives: recovery ends, the probe's episode too. */
        th_advance_ms(k.h, RTT);
        ack_sack(&k, 10, NULL, 0);
        th_expect_none(k.h);
        assert_int_equal(th_stat(k.h, "TcpExtTCPTimeouts"), 0);
        finish(&k);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nextseg_rules_3_and_4),
        cmocka_unit_test(rescue_once_per_recovery),
        cmocka_unit_test(rto_keeps_sacked_data),
        cmocka_unit_test(sack_block_covers_a_held_fin),
        cmocka_unit_test(rack_reordering_timer),
        cmocka_unit_test(dsack_widens_the_reordering_window),
        cmocka_unit_test(rack_lost_retransmission),
        cmocka_unit_test(tlp_probes_the_tail),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
