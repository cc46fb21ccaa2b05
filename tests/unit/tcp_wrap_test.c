/*
 * tests/unit/tcp_wrap_test.c -- sequence numbers across 2^32 (RFC 9293
 * 3.4): both ISNs just below the wrap, through the handshake, data both
 * ways (in order and out of order), retransmission and close.
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
#include "core/seq.h"

enum { A = TP_TCP_ACK, S = TP_TCP_SYN, F = TP_TCP_FIN, R = TP_TCP_RST, P = TP_TCP_PSH };

static void
seq_arithmetic_wraps(void **state)
{
    (void)state;
    assert_true(tp_seq_lt(0xfffffff0u, 0x10u));
    assert_false(tp_seq_lt(0x10u, 0xfffffff0u));
    assert_true(tp_seq_leq(5u, 5u));
    assert_true(tp_seq_gt(0u, 0xffffffffu));
    assert_int_equal(tp_seq_diff(0x10u, 0xfffffff0u), 0x20);
    assert_int_equal(tp_seq_diff(0xfffffff0u, 0x10u), -0x20);
    assert_true(tp_seq_in(0x2u, 0xfffffffeu, 8));
    assert_false(tp_seq_in(0x6u, 0xfffffffeu, 8));
    assert_int_equal(tp_seq_max(0xffffffffu, 1u), 1u);
    assert_int_equal(tp_seq_min(0xffffffffu, 1u), 0xffffffffu);
}

static void
passive_connection_across_the_wrap(void **state)
{
    struct th *h = th_new(NULL);
    const uint32_t peer = 0xffffff00u, us = 0xfffffff0u;
    static char data[600], buf[600];
    int l, s;
    uint32_t iss;

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)('a' + i % 26);
    th_force_isn(h, us);
    s = th_passive_open(h, 80, peer, &l, &iss);
    assert_int_equal(iss, us);
    tapir_tcp_close(h->st, l);
    /* Peer to us, crossing 2^32 (peer + 1 + 255 = 2^32); out of order first. */
    th_send(h, A, peer + 1 + 300, us + 1, 65535, data + 300, 300);
    th_expect(h, A, us + 1, peer + 1, TH_ANY, 0);
    th_send(h, A, peer + 1, us + 1, 65535, data, 300);
    th_expect(h, A, us + 1, peer + 601, TH_ANY, 0);
    assert_int_equal(peer + 601, 0x159u);
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), 600);
    assert_memory_equal(buf, data, 600);
    /* Us to the peer, crossing at 15 bytes; one loss and a retransmission. */
    tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_NODELAY, 1);
    assert_int_equal(tapir_tcp_send(h->st, s, data, 100, 0), 100);
    th_poll(h);
    th_expect(h, A | P, us + 1, peer + 601, TH_ANY, 100);
    assert_memory_equal(h->last.payload, data, 100);
    th_advance_ms(h, 200);                              /* RTO from the handshake sample */
    th_expect(h, A | P, us + 1, peer + 601, TH_ANY, 100);
    th_send(h, A, peer + 601, us + 101, 65535, NULL, 0);
    assert_int_equal(us + 101, 0x55u);
    /* Close from our side, then theirs. */
    assert_int_equal(tapir_tcp_close(h->st, s), 0);
    th_poll(h);
    th_expect(h, F | A, us + 101, peer + 601, TH_ANY, 0);
    th_send(h, F | A, peer + 601, us + 102, 65535, NULL, 0);
    th_expect(h, A, us + 102, peer + 602, TH_ANY, 0);
    th_expire(h, 10 * 60 * 1000);
    th_free(h);
}

static void
active_connection_across_the_wrap(void **state)
{
    struct th *h = th_new(NULL);
    const uint32_t peer = 0xfffffffeu;
    char buf[16];
    uint32_t iss;
    int s;

    (void)state;
    th_force_isn(h, 0xffffffffu);
    s = th_active_open(h, 7000, peer, &iss);
    assert_int_equal(iss, 0xffffffffu);                 /* the SYN is the last number */
    assert_int_equal(tapir_tcp_send(h->st, s, "wrap", 4, 0), 4);
    th_poll(h);
    th_expect(h, A | P, 0, peer + 1, TH_ANY, 4);
    th_send(h, A | P, peer + 1, 4, 65535, "ok", 2);     /* peer + 1 = 2^32 - 1 */
    th_send(h, F | A, peer + 3, 4, 65535, NULL, 0);
    th_expect(h, A, 4, 2, TH_ANY, 0);
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), 2);
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), 0);
    tapir_tcp_close(h->st, s);
    th_poll(h);
    th_expect(h, F | A, 4, 2, TH_ANY, 0);
    th_send(h, A, 2, 5, 65535, NULL, 0);
    assert_int_equal(th_nsocks(h), 0);
    th_free(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seq_arithmetic_wraps),
        cmocka_unit_test(passive_connection_across_the_wrap),
        cmocka_unit_test(active_connection_across_the_wrap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
