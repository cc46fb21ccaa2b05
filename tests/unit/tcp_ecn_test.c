/*
 * tests/unit/tcp_ecn_test.c -- Explicit Congestion Notification (RFC 3168)
 * with cfg.tcp.ecn: the handshake's negotiation from either side (6.1.1),
 * ECN-setup SYNs given up after the first retransmission (6.1.1.1), ECT(0)
 * on new data only (6.1.5, 6.1.6), CE echoed with ECE until CWR (6.1.3),
 * and ECE halving cwnd once per window with CWR after it (6.1.2).
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

enum { A = TP_TCP_ACK, S = TP_TCP_SYN, F = TP_TCP_FIN, R = TP_TCP_RST, P = TP_TCP_PSH,
    E = TP_TCP_ECE, W = TP_TCP_CWR };

enum { NOT_ECT = 0, ECT0 = 2, CE = 3 };
enum { MSS = 536 };                 /* the peer's SYNs here carry no MSS option */

static char data[20000];

static struct th *
harness(enum tapir_tcp_ecn ecn)
{
    struct tapir_config cfg;

    th_config(&cfg);
    cfg.tcp.ecn = ecn;
    return th_new(&cfg);
}

static void
inject(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack, uint8_t ecn, size_t len)
{
    struct th_seg *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    s->flags = flags;
    s->seq = seq;
    s->ack = ack;
    s->win = 65535;
    s->tos = ecn;
    s->data = data;
    s->len = len;
    th_inject(h, s);
    free(s);
}

static bool
has_ecn(struct th *h, int s)
{
    struct tapir_tcp_info info;

    assert_int_equal(tapir_tcp_info(h->st, s, &info), 0);
    return (info.options & TAPIR_TCPI_OPT_ECN) != 0;
}

/* Listen on 80 and take a SYN with syn_flags; returns the accepted socket
 * and our ISS; the SYN,ACK's flags are checked against synack. */
static int
passive(struct th *h, uint8_t syn_flags, int synack, uint32_t *iss)
{
    int l = tapir_tcp_socket(h->st), c;

    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 4);
    h->lport = 80;
    h->rport = 40000;
    inject(h, syn_flags, 1000, 0, NOT_ECT, 0);
    th_expect(h, synack, TH_ANY, 1001, TH_ANY, 0);
    *iss = h->last.seq;
    inject(h, A, 1001, *iss + 1, NOT_ECT, 0);
    c = tapir_tcp_accept(h->st, l, NULL);
    assert_true(c >= 0);
    tapir_tcp_close(h->st, l);
    assert_int_equal(tapir_tcp_setsockopt(h->st, c, TAPIR_TCP_NODELAY, 1), 0);
    return c;
}

static void
done(struct th *h, int c)
{
    tapir_tcp_abort(h->st, c);
    th_drain(h);
    th_free(h);
}

/* An ECN-setup SYN (ECE, CWR) is answered with ECE alone when ECN is on or
 * passive, and plainly when it is off; a plain SYN never gets ECN. */
static void
passive_side_negotiates(void **state)
{
    const struct { enum tapir_tcp_ecn cfg; uint8_t syn; int synack; bool ok; } cases[] = {
        { TAPIR_TCP_ECN_PASSIVE, S | E | W, S | A | E, true },
        { TAPIR_TCP_ECN_ON, S | E | W, S | A | E, true },
        { TAPIR_TCP_ECN_OFF, S | E | W, S | A, false },
        { TAPIR_TCP_ECN_ON, S, S | A, false },
        { TAPIR_TCP_ECN_ON, S | E, S | A, false },          /* not a setup SYN */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct th *h = harness(cases[i].cfg);
        uint32_t iss;
        int c = passive(h, cases[i].syn, cases[i].synack, &iss);

        assert_int_equal(h->last.tos & 3, NOT_ECT);         /* never on a SYN,ACK */
        assert_int_equal(has_ecn(h, c), cases[i].ok);
        assert_int_equal(tapir_tcp_send(h->st, c, data, 10, 0), 10);
        th_poll(h);
        th_expect(h, A | P, iss + 1, 1001, TH_ANY, 10);
        assert_int_equal(h->last.tos & 3, cases[i].ok ? ECT0 : NOT_ECT);
        assert_int_equal(th_stat(h, "TapirTcpEcnConns"), cases[i].ok);
        done(h, c);
    }
}

/* Our SYN asks with ECE and CWR, again on the first retransmission, not
 * on the second; a SYN,ACK with ECE (no CWR) completes the negotiation. */
static void
active_side_negotiates_and_gives_up_on_lost_syns(void **state)
{
    struct th *h = harness(TAPIR_TCP_ECN_ON);
    struct tapir_tcp_config tcp;
    uint32_t iss;
    int s = tapir_tcp_socket(h->st);

    (void)state;
    th_connect(h, s, 6000, S | E | W);
    assert_int_equal(h->last.tos & 3, NOT_ECT);
    iss = h->last.seq;
    th_advance_ms(h, 1000);
    th_expect(h, S | E | W, iss, 0, TH_ANY, 0);
    th_advance_ms(h, 2000);
    th_expect(h, S, iss, 0, TH_ANY, 0);                 /* ECN given up */
    inject(h, S | A | E, 300, iss + 1, NOT_ECT, 0);
    th_expect(h, A, iss + 1, 301, TH_ANY, 0);
    assert_false(has_ecn(h, s));                        /* the SYN acknowledged did not ask */
    done(h, s);

    h = harness(TAPIR_TCP_ECN_ON);
    s = tapir_tcp_socket(h->st);
    th_connect(h, s, 6000, S | E | W);
    iss = h->last.seq;
    inject(h, S | A | E, 300, iss + 1, NOT_ECT, 0);
    th_expect(h, A, iss + 1, 301, TH_ANY, 0);
    assert_true(has_ecn(h, s));
    done(h, s);

    /* cfg.tcp.ecn_syn_retries 0: only the first SYN asks. */
    h = harness(TAPIR_TCP_ECN_ON);
    tcp = tapir_stack_config(h->st)->tcp;
    tcp.ecn_syn_retries = 0;
    assert_int_equal(tapir_stack_set_tcp_config(h->st, &tcp), 0);
    s = tapir_tcp_socket(h->st);
    th_connect(h, s, 6000, S | E | W);
    th_advance_ms(h, 1000);
    th_expect(h, S, TH_ANY, 0, TH_ANY, 0);
    done(h, s);
}

/* The receiver: a CE mark is echoed with ECE on every ACK until a segment
 * with CWR arrives. */
static void
ce_is_echoed_until_cwr(void **state)
{
    struct th *h = harness(TAPIR_TCP_ECN_ON);
    uint32_t iss;
    int c = passive(h, S | E | W, S | A | E, &iss);

    (void)state;
    inject(h, A, 1001, iss + 1, CE, 1000);
    inject(h, A, 2001, iss + 1, ECT0, 1000);            /* second segment: ACK now */
    th_expect(h, A | E, iss + 1, 3001, TH_ANY, 0);
    assert_int_equal(h->last.tos & 3, NOT_ECT);         /* pure ACKs are not ECT */
    assert_int_equal(th_stat(h, "TapirTcpEcnCeRcvd"), 1);
    inject(h, A, 3001, iss + 1, ECT0, 1000);
    inject(h, A, 4001, iss + 1, ECT0, 1000);
    th_expect(h, A | E, iss + 1, 5001, TH_ANY, 0);      /* still echoing */
    inject(h, A | W, 5001, iss + 1, ECT0, 1000);
    inject(h, A, 6001, iss + 1, ECT0, 1000);
    th_expect(h, A, iss + 1, 7001, TH_ANY, 0);          /* CWR ended it */
    done(h, c);
}

/* The sender: ECE halves cwnd (RFC 5681's loss response, no
 * retransmission) and CWR goes out on the next new data; more ECE within
 * the same window of data changes nothing; retransmissions are not ECT. */
static void
ece_reduces_cwnd_once_per_window(void **state)
{
    struct th *h = harness(TAPIR_TCP_ECN_ON);
    struct tapir_tcp_info info;
    uint32_t iss, cwnd0;
    int c = passive(h, S | E | W, S | A | E, &iss);

    (void)state;
    assert_int_equal(tapir_tcp_send(h->st, c, data, 4 * MSS, 0), 4 * MSS);
    th_poll(h);
    for (int i = 0; i < 4; i++) {
        th_expect(h, TH_ANY, iss + 1 + (uint32_t)i * MSS, 1001, TH_ANY, MSS);
        assert_int_equal(h->last.tos & 3, ECT0);
        assert_int_equal(h->last.flags & W, 0);
    }
    assert_int_equal(tapir_tcp_info(h->st, c, &info), 0);
    cwnd0 = info.cwnd;
    inject(h, A | E, 1001, iss + 1 + MSS, NOT_ECT, 0);
    assert_int_equal(tapir_tcp_info(h->st, c, &info), 0);
    assert_true(info.cwnd < cwnd0);
    assert_int_equal(info.cwnd, info.ssthresh);
    assert_int_equal(info.ssthresh, 3 * MSS / 2 < 2 * MSS ? 2 * MSS : 3 * MSS / 2);
    assert_int_equal(th_stat(h, "TapirTcpEcnCwndReduced"), 1);
    th_expect_none(h);                                  /* nothing retransmitted */
    cwnd0 = info.cwnd;
    inject(h, A | E, 1001, iss + 1 + 2 * MSS, NOT_ECT, 0);
    assert_int_equal(th_stat(h, "TapirTcpEcnCwndReduced"), 1);    /* same window */
    assert_int_equal(tapir_tcp_info(h->st, c, &info), 0);
    assert_int_equal(info.cwnd, cwnd0);
    assert_int_equal(info.ssthresh, cwnd0);
    inject(h, A, 1001, iss + 1 + 4 * MSS, NOT_ECT, 0);
    assert_int_equal(tapir_tcp_send(h->st, c, data, 100, 0), 100);
    th_poll(h);
    th_expect(h, A | P | W, iss + 1 + 4 * MSS, 1001, TH_ANY, 100);
    assert_int_equal(h->last.tos & 3, ECT0);
    assert_int_equal(tapir_tcp_send(h->st, c, data, 100, 0), 100);
    th_poll(h);
    th_expect(h, A | P, iss + 101 + 4 * MSS, 1001, TH_ANY, 100);  /* CWR once */
    th_advance_ms(h, 3000);                             /* RTO: a retransmission */
    th_expect(h, TH_ANY, iss + 1 + 4 * MSS, 1001, TH_ANY, 200);
    assert_int_equal(h->last.tos & 3, NOT_ECT);
    done(h, c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passive_side_negotiates),
        cmocka_unit_test(active_side_negotiates_and_gives_up_on_lost_syns),
        cmocka_unit_test(ce_is_echoed_until_cwr),
        cmocka_unit_test(ece_reduces_cwnd_once_per_window),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
