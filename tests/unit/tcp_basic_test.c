/*
 * tests/unit/tcp_basic_test.c -- the thin path, scripted segment by
 * segment: handshakes, data both ways, closes, RST to a closed port.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/tcp_harness.h"
#include "wire/bytes.h"

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
passive_open_sends_syn_ack_with_mss_and_reaches_established(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int l, c;

    c = th_passive_open(h, 80, 1000, &l, &iss);
    assert_int_equal(th_stat(h, "TcpPassiveOpens"), 1);
    assert_int_equal(tapir_tcp_close(h->st, c), 0);
    assert_int_equal(tapir_tcp_close(h->st, l), 0);
    th_poll(h);
    th_expect(h, F | A, iss + 1, 1001, TH_ANY, 0);
    th_send(h, A, 1001, iss + 2, 65535, NULL, 0);
    assert_int_equal(th_nsocks(h), 1);          /* the orphan in FIN-WAIT-2 */
    th_send(h, F | A, 1001, iss + 2, 65535, NULL, 0);
    th_expect(h, A, iss + 2, 1002, TH_ANY, 0);
    th_advance_ms(h, 2 * 60000 - 1);
    assert_int_equal(th_nsocks(h), 1);          /* TIME-WAIT: 2 MSL */
    th_advance_ms(h, 1);
    assert_int_equal(th_nsocks(h), 0);
}

static void
syn_ack_carries_our_mss(void **state)
{
    struct th *h = *state;
    struct th_seg syn = { 0 };
    int l = tapir_tcp_socket(h->st);

    assert_int_equal(tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 }), 0);
    assert_int_equal(tapir_tcp_listen(h->st, l, 4), 0);
    syn.flags = S;
    syn.seq = 5;
    syn.win = 1000;
    th_inject(h, &syn);
    th_expect(h, S | A, TH_ANY, 6, TH_ANY, 0);
    assert_true(h->last.opts.has_mss);
    assert_int_equal(h->last.opts.mss, 1460);
    assert_int_equal(tapir_tcp_close(h->st, l), 0);
    th_expect(h, R | A, TH_ANY, TH_ANY, TH_ANY, 0); /* the embryonic child is reset */
}

static void
active_open_and_data_both_ways(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    char buf[100];
    int s = th_active_open(h, 5001, 7000, &iss);
    struct tapir_tcp_event ev;
    bool writable = false;

    while (tapir_tcp_next_event(h->st, &ev))
        if (ev.sock == s && (ev.events & TAPIR_EV_WRITABLE))
            writable = true;
    assert_true(writable);
    assert_int_equal(th_stat(h, "TcpActiveOpens"), 1);
    assert_int_equal(tapir_tcp_send(h->st, s, "hello", 5, 0), 5);
    th_expect_none(h);                          /* socket calls never transmit */
    th_poll(h);
    th_expect(h, A | P, iss + 1, 7001, TH_ANY, 5);
    assert_memory_equal(h->last.payload, "hello", 5);
    th_send(h, A, 7001, iss + 6, 65535, "world!", 6);
    th_expect_none(h);                          /* delayed ACK */
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), 6);
    assert_memory_equal(buf, "world!", 6);
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), -EAGAIN);
    th_advance_ms(h, 40);
    th_expect(h, A, iss + 6, 7007, TH_ANY, 0);
    /* The peer closes first: we go to CLOSE-WAIT, then LAST-ACK. */
    th_send(h, F | A, 7007, iss + 6, 65535, NULL, 0);
    th_expect(h, A, iss + 6, 7008, TH_ANY, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSE_WAIT);
    assert_int_equal(tapir_tcp_recv(h->st, s, buf, sizeof(buf), 0), 0);
    assert_int_equal(tapir_tcp_close(h->st, s), 0);
    th_poll(h);
    th_expect(h, F | A, iss + 6, 7008, TH_ANY, 0);
    th_send(h, A, 7008, iss + 7, 65535, NULL, 0);
    assert_int_equal(th_nsocks(h), 0);          /* LAST-ACK -> CLOSED, no TIME-WAIT */
}

static void
second_full_segment_is_acked_at_once(void **state)
{
    struct th *h = *state;
    static char data[1460];
    uint32_t iss;
    int l, c = th_passive_open(h, 80, 100, &l, &iss);

    th_send(h, A, 101, iss + 1, 65535, data, sizeof(data));
    th_expect_none(h);
    th_send(h, A, 101 + 1460, iss + 1, 65535, data, sizeof(data));
    th_expect(h, A, iss + 1, 101 + 2920, TH_ANY, 0);
    tapir_tcp_abort(h->st, c);
    th_expect(h, R | A, iss + 1, TH_ANY, TH_ANY, 0);
    tapir_tcp_close(h->st, l);
}

static void
segment_to_closed_port_is_answered_with_rst(void **state)
{
    struct th *h = *state;

    h->lport = 9;
    th_send(h, S, 500, 0, 1000, NULL, 0);
    th_expect(h, R | A, 0, 501, TH_ANY, 0);
    th_send(h, A, 500, 12345, 1000, NULL, 0);
    th_expect(h, R, 12345, TH_ANY, TH_ANY, 0);
    th_send(h, A | P, 500, 777, 1000, "abc", 3);
    th_expect(h, R, 777, TH_ANY, TH_ANY, 0);
    th_send(h, R, 500, 0, 1000, NULL, 0);
    th_expect_none(h);                          /* never answer a RST */
    th_send(h, F, 500, 0, 1000, "ab", 2);       /* no ACK: ack = seq + len */
    th_expect(h, R | A, 0, 503, TH_ANY, 0);
    assert_int_equal(th_stat(h, "TcpOutRsts"), 4);
}

static void
illegal_flags_are_dropped_and_counted(void **state)
{
    struct th *h = *state;

    uint32_t iss;
    int l, c = th_passive_open(h, 80, 100, &l, &iss);

    th_send(h, S | R, 101, iss + 1, 1000, NULL, 0);
    th_send(h, 0, 101, 0, 1000, "x", 1);
    th_expect_none(h);
    assert_int_equal(th_stat(h, "TapirTcpInBadFlags"), 2);
    assert_int_equal(th_state(h, c), TAPIR_TCP_ESTABLISHED);
    /* SYN+FIN in a synchronized state: its SYN draws the challenge ACK
     * of RFC 5961 4.2 before its FIN could count. */
    th_send(h, S | F | A, 101, iss + 1, 1000, NULL, 0);
    th_expect(h, A, iss + 1, 101, TH_ANY, 0);
    assert_int_equal(th_stat(h, "TapirTcpInBadFlags"), 2);
    assert_int_equal(th_state(h, c), TAPIR_TCP_ESTABLISHED);
    /* To a closed port they are still answered (RFC 9293 3.10.7.1). */
    h->lport = 9;
    th_send(h, S | F, 1, 0, 1000, NULL, 0);
    th_expect(h, R | A, 0, 3, TH_ANY, 0);
    tapir_tcp_abort(h->st, c);
    tapir_tcp_close(h->st, l);
}

static void
active_close_goes_through_fin_wait_and_time_wait(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int s = th_active_open(h, 5001, 1, &iss);

    assert_int_equal(tapir_tcp_shutdown(h->st, s, TAPIR_SHUT_WR), 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_FIN_WAIT_1);
    th_poll(h);
    th_expect(h, F | A, iss + 1, 2, TH_ANY, 0);
    th_send(h, A, 2, iss + 2, 65535, NULL, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_FIN_WAIT_2);
    /* Half-close: the peer still sends, we still receive. */
    th_send(h, A | P, 2, iss + 2, 65535, "xy", 2);
    th_send(h, F | A, 4, iss + 2, 65535, NULL, 0);
    th_expect(h, A, iss + 2, 5, TH_ANY, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_TIME_WAIT);
    assert_int_equal(tapir_tcp_close(h->st, s), 0);
    th_expire(h, 10 * 60 * 1000);
    assert_int_equal(th_nsocks(h), 0);
}

static void
malformed_segments_are_dropped_and_counted(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int l, c = th_passive_open(h, 80, 100, &l, &iss);
    uint8_t seg[24] = { 0 };

    tp_store_be16(seg, h->rport);
    tp_store_be16(seg + 2, 80);
    tp_store_be32(seg + 4, 101);
    tp_store_be32(seg + 8, iss + 1);
    seg[12] = 6 << 4;                           /* 24-byte header */
    seg[13] = A;
    tp_store_be16(seg + 14, 1000);
    seg[20] = TP_TCPOPT_MSS;                    /* MSS with length 1: malformed */
    seg[21] = 1;
    th_inject_raw(h, seg, sizeof(seg));
    assert_int_equal(th_stat(h, "TapirTcpInBadOpts"), 1);
    seg[12] = 15 << 4;                          /* data offset past the segment */
    th_inject_raw(h, seg, sizeof(seg));
    th_inject_raw(h, seg, 12);                  /* shorter than a header */
    assert_int_equal(th_stat(h, "TcpInErrs"), 3);
    th_expect_none(h);
    assert_int_equal(th_state(h, c), TAPIR_TCP_ESTABLISHED);
    tapir_tcp_abort(h->st, c);
    tapir_tcp_close(h->st, l);
    th_drain(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(passive_open_sends_syn_ack_with_mss_and_reaches_established,
            setup, teardown),
        cmocka_unit_test_setup_teardown(syn_ack_carries_our_mss, setup, teardown),
        cmocka_unit_test_setup_teardown(active_open_and_data_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(second_full_segment_is_acked_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(segment_to_closed_port_is_answered_with_rst, setup,
            teardown),
        cmocka_unit_test_setup_teardown(illegal_flags_are_dropped_and_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_segments_are_dropped_and_counted, setup,
            teardown),
        cmocka_unit_test_setup_teardown(active_close_goes_through_fin_wait_and_time_wait, setup,
            teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
