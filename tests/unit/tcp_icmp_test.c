/*
 * tests/unit/tcp_icmp_test.c -- ICMP errors for connections (RFC 1122
 * 4.2.3.9, RFC 5461, RFC 5927): hard errors abort a connect with the right errno
 * (unless cfg.tcp.icmp_soft_only),
 * soft errors are kept and reported on timeout, quoted sequence numbers
 * are checked, frag-needed lowers the MSS (RFC 1191).
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
#include "wire/icmp.h"

enum { A = TP_TCP_ACK, S = TP_TCP_SYN, F = TP_TCP_FIN, R = TP_TCP_RST, P = TP_TCP_PSH };

static int
setup(void **state)
{
    struct tapir_config cfg;

    th_config(&cfg);
    cfg.tcp.syn_retries = 2;
    *state = th_new(&cfg);
    return 0;
}

static int
teardown(void **state)
{
    th_free(*state);
    return 0;
}

static int
connecting(struct th *h, uint32_t *iss)
{
    int s = tapir_tcp_socket(h->st);

    th_connect(h, s, 7000, S);
    *iss = h->last.seq;
    return s;
}

static void
hard_errors_abort_the_connect(void **state)
{
    struct th *h = *state;
    const struct { uint8_t code; int err; } cases[] = {
        { TP_ICMP_UNREACH_PORT, -ECONNREFUSED },
        { TP_ICMP_UNREACH_PROTO, -ECONNREFUSED },
        { TP_ICMP_UNREACH_HOST, -EHOSTUNREACH },
        { TP_ICMP_UNREACH_NET, -ENETUNREACH },
        { TP_ICMP_UNREACH_ADMIN_PROHIB, -ECONNREFUSED },    /* a filter refused us */
        { TP_ICMP_UNREACH_NET_PROHIB, -ECONNREFUSED },
        { TP_ICMP_UNREACH_HOST_PROHIB, -ECONNREFUSED },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t iss;
        int s = connecting(h, &iss);
        struct tapir_tcp_event ev;

        th_inject_icmp(h, TP_ICMP_DEST_UNREACH, cases[i].code, 0, iss);
        assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
        assert_true(tapir_tcp_next_event(h->st, &ev));
        assert_true(ev.events & TAPIR_EV_ERROR);
        assert_int_equal(tapir_tcp_error(h->st, s), cases[i].err);
        assert_int_equal(tapir_tcp_error(h->st, s), 0);             /* cleared */
        tapir_tcp_close(h->st, s);
    }
    assert_int_equal(th_stat(h, "TcpAttemptFails"), 7);
    th_expect_none(h);
}

/* RFC 5461: TTL exceeded in transit ends a connection attempt as net and
 * host unreachable do (the SYN will not get through). */
static void
ttl_exceeded_aborts_the_connect(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int s = connecting(h, &iss);

    th_inject_icmp(h, TP_ICMP_TIME_EXCEEDED, 0, 0, iss);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, s), -EHOSTUNREACH);
    tapir_tcp_close(h->st, s);
}

/* cfg.tcp.icmp_soft_only (FreeBSD's icmp_may_rst=0): no ICMP error ends a
 * connection attempt; the error is reported if the attempt times out. */
static void
icmp_soft_only_keeps_the_connect_going(void **state)
{
    struct th *h = *state;
    struct tapir_tcp_config tcp = tapir_stack_config(h->st)->tcp;
    const uint8_t codes[] = { TP_ICMP_UNREACH_PORT, TP_ICMP_UNREACH_PROTO,
        TP_ICMP_UNREACH_NET, TP_ICMP_UNREACH_HOST, TP_ICMP_UNREACH_ADMIN_PROHIB };
    uint32_t iss;
    int s;

    tcp.icmp_soft_only = true;
    assert_int_equal(tapir_stack_set_tcp_config(h->st, &tcp), 0);
    s = connecting(h, &iss);
    for (size_t i = 0; i < sizeof(codes); i++)
        th_inject_icmp(h, TP_ICMP_DEST_UNREACH, codes[i], 0, iss);
    th_inject_icmp(h, TP_ICMP_TIME_EXCEEDED, 0, 0, iss);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_SENT);
    assert_int_equal(tapir_tcp_error(h->st, s), 0);
    assert_int_equal(th_stat(h, "TcpAttemptFails"), 0);
    th_expire(h, 60000);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, s), -EHOSTUNREACH);    /* the last one */
    tapir_tcp_close(h->st, s);
}

static void
quoted_sequence_must_be_in_flight(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int s = connecting(h, &iss);

    th_inject_icmp(h, TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PORT, 0, iss + 1);
    th_inject_icmp(h, TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PORT, 0, iss - 1);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_SENT);
    assert_int_equal(th_stat(h, "TapirTcpIcmpBadSeq"), 2);
    h->rport = 7001;                                    /* no such connection */
    th_inject_icmp(h, TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PORT, 0, iss);
    assert_int_equal(th_stat(h, "TapirTcpIcmpNoConn"), 1);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_SENT);
    tapir_tcp_close(h->st, s);
}

static void
soft_error_is_reported_when_the_connect_times_out(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int s = connecting(h, &iss);

    th_inject_icmp(h, TP_ICMP_TIME_EXCEEDED, 1, 0, iss);    /* reassembly: soft */
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_SENT);
    assert_int_equal(tapir_tcp_error(h->st, s), 0);     /* not yet */
    th_expire(h, 60000);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
    assert_int_equal(tapir_tcp_error(h->st, s), -EHOSTUNREACH);
    tapir_tcp_close(h->st, s);
}

static void
unreachable_in_established_is_soft(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int s = th_active_open(h, 7000, 500, &iss);

    tapir_tcp_send(h->st, s, "x", 1, 0);
    th_poll(h);
    th_expect(h, A | P, iss + 1, 501, TH_ANY, 1);
    th_inject_icmp(h, TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PORT, 0, iss + 1);
    assert_int_equal(th_state(h, s), TAPIR_TCP_ESTABLISHED);
    assert_int_equal(tapir_tcp_error(h->st, s), 0);
    th_send(h, A, 501, iss + 2, 65535, NULL, 0);        /* progress clears it */
    tapir_tcp_abort(h->st, s);
    th_drain(h);
}

static void
frag_needed_lowers_the_mss(void **state)
{
    struct th *h = *state;
    static char data[1460];
    struct tapir_tcp_info info;
    uint32_t iss;
    int s = th_active_open(h, 7000, 500, &iss);

    tapir_tcp_send(h->st, s, data, sizeof(data), 0);
    th_poll(h);
    th_expect(h, A | P, iss + 1, 501, TH_ANY, 1460);
    th_inject_icmp(h, TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_NEEDFRAG, 1000, iss + 1);
    th_expect(h, A, iss + 1, 501, TH_ANY, 960);         /* sent again, smaller */
    tapir_tcp_info(h->st, s, &info);
    assert_int_equal(info.snd_mss, 960);
    assert_int_equal(th_stat(h, "TapirTcpPmtuLowered"), 1);
    tapir_tcp_abort(h->st, s);
    th_drain(h);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(hard_errors_abort_the_connect),
        T(ttl_exceeded_aborts_the_connect),
        T(icmp_soft_only_keeps_the_connect_going),
        T(quoted_sequence_must_be_in_flight),
        T(soft_error_is_reported_when_the_connect_times_out),
        T(unreachable_in_established_is_soft),
        T(frag_needed_lowers_the_mss),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
