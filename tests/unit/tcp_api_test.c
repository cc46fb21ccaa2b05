/*
 * tests/unit/tcp_api_test.c -- the socket API around the protocol: bind
 * and ephemeral ports (RFC 6056), ISNs (RFC 6528), TIME-WAIT reuse,
 * readiness and events, info and snapshot, options.
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
bind_checks_and_ephemeral_ports(void **state)
{
    struct th *h = *state;
    const struct tapir_config *cfg = tapir_stack_config(h->st);
    struct tapir_sockaddr a, b;
    int s1 = tapir_tcp_socket(h->st), s2 = tapir_tcp_socket(h->st);
    int s3 = tapir_tcp_socket(h->st), s4 = tapir_tcp_socket(h->st);

    assert_int_equal(tapir_tcp_bind(h->st, s1, (struct tapir_sockaddr){ 0, 8080 }), 0);
    assert_int_equal(tapir_tcp_bind(h->st, s1, (struct tapir_sockaddr){ 0, 8081 }), -EINVAL);
    assert_int_equal(tapir_tcp_bind(h->st, s2, (struct tapir_sockaddr){ 0, 8080 }),
        -EADDRINUSE);
    assert_int_equal(tapir_tcp_bind(h->st, s2, (struct tapir_sockaddr){ 0x0b000001, 1 }),
        -EINVAL);                                       /* not our address */
    assert_int_equal(tapir_tcp_bind(h->st, s2, (struct tapir_sockaddr){ TH_LOCAL, 0 }), 0);
    tapir_tcp_getsockname(h->st, s2, &a);
    assert_true(a.port >= cfg->tcp.ephemeral_lo && a.port <= cfg->tcp.ephemeral_hi);
    assert_int_equal(a.addr, TH_LOCAL);
    /* Two connects to one peer take different ports from the range. */
    assert_int_equal(tapir_tcp_connect(h->st, s3, (struct tapir_sockaddr){ TH_REMOTE, 80 }),
        -EINPROGRESS);
    assert_int_equal(tapir_tcp_connect(h->st, s4, (struct tapir_sockaddr){ TH_REMOTE, 80 }),
        -EINPROGRESS);
    tapir_tcp_getsockname(h->st, s3, &a);
    tapir_tcp_getsockname(h->st, s4, &b);
    assert_true(a.port != b.port);
    assert_true(a.port >= cfg->tcp.ephemeral_lo && b.port >= cfg->tcp.ephemeral_lo);
    assert_int_equal(tapir_tcp_connect(h->st, s3, (struct tapir_sockaddr){ TH_REMOTE, 80 }),
        -EALREADY);
    assert_int_equal(tapir_tcp_getpeername(h->st, s1, &a), -ENOTCONN);
    assert_int_equal(tapir_tcp_getpeername(h->st, s3, &a), 0);
    assert_int_equal(a.addr, TH_REMOTE);
    assert_int_equal(a.port, 80);
    assert_int_equal(tapir_tcp_listen(h->st, s3, 1), -EINVAL);
    for (int s = 0; s < 4; s++)
        tapir_tcp_close(h->st, (int[]){ s1, s2, s3, s4 }[s]);
    th_drain(h);
}

/* RFC 6528: ISN = M + F(4-tuple, key), M ticking every 4 us. */
static void
isn_is_a_4us_clock_plus_a_keyed_hash(void **state)
{
    struct th *h = *state;
    uint32_t isn[3];

    for (int i = 0; i < 3; i++) {
        int s = tapir_tcp_socket(h->st);

        tapir_tcp_bind(h->st, s, (struct tapir_sockaddr){ 0, 5555 });
        tapir_tcp_connect(h->st, s,
            (struct tapir_sockaddr){ TH_REMOTE, (uint16_t)(i < 2 ? 80 : 81) });
        h->lport = 5555;
        h->rport = (uint16_t)(i < 2 ? 80 : 81);
        th_poll(h);
        th_expect(h, S, TH_ANY, 0, TH_ANY, 0);
        isn[i] = h->last.seq;
        tapir_tcp_close(h->st, s);
        th_advance_us(h, 4000);
    }
    assert_int_equal(isn[1] - isn[0], 1000);            /* same 4-tuple, 4 ms later */
    assert_true(isn[2] - isn[1] != 1000);               /* another 4-tuple, another offset */
}

static void
isn_differs_between_stacks_with_different_seeds(void **state)
{
    struct tapir_config cfg;
    struct th *h2;
    uint32_t a, b;
    int s;

    (void)state;
    for (int i = 0; i < 2; i++) {
        th_config(&cfg);
        cfg.seed = (uint64_t)i + 100;
        h2 = th_new(&cfg);
        s = tapir_tcp_socket(h2->st);
        tapir_tcp_bind(h2->st, s, (struct tapir_sockaddr){ 0, 5555 });
        tapir_tcp_connect(h2->st, s, (struct tapir_sockaddr){ TH_REMOTE, 80 });
        h2->lport = 5555;
        h2->rport = 80;
        th_poll(h2);
        th_expect(h2, S, TH_ANY, 0, TH_ANY, 0);
        if (i == 0)
            a = h2->last.seq;
        else
            b = h2->last.seq;
        tapir_tcp_close(h2->st, s);
        th_free(h2);
    }
    assert_true(a != b);
}

static void
new_syn_reopens_a_time_wait_connection(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int l, s = th_passive_open(h, 80, 1000, &l, &iss), c;

    tapir_tcp_close(h->st, s);
    th_poll(h);
    th_expect(h, F | A, iss + 1, 1001, TH_ANY, 0);
    th_send(h, F | A, 1001, iss + 2, 65535, NULL, 0);
    th_expect(h, A, iss + 2, 1002, TH_ANY, 0);
    assert_int_equal(th_nsocks(h), 2);                  /* listener + TIME-WAIT */
    th_send(h, S, 50000, 0, 65535, NULL, 0);            /* beyond RCV.NXT: a new incarnation */
    th_expect(h, S | A, TH_ANY, 50001, TH_ANY, 0);
    assert_int_equal(th_stat(h, "TcpExtTWRecycled"), 1);
    th_send(h, A, 50001, h->last.seq + 1, 65535, NULL, 0);
    c = tapir_tcp_accept(h->st, l, NULL);
    assert_true(c >= 0);
    tapir_tcp_abort(h->st, c);
    tapir_tcp_close(h->st, l);
    th_drain(h);
}

static void
readiness_and_events_follow_the_connection(void **state)
{
    struct th *h = *state;
    struct tapir_tcp_event ev;
    struct tapir_sockaddr peer;
    uint32_t iss;
    int l = tapir_tcp_socket(h->st), c;
    char buf[8];

    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 4);
    assert_int_equal(tapir_tcp_readiness(h->st, l), 0);
    th_send(h, S, 1000, 0, 65535, NULL, 0);
    th_expect(h, S | A, TH_ANY, 1001, TH_ANY, 0);
    iss = h->last.seq;
    assert_false(tapir_tcp_next_event(h->st, &ev));    /* an embryo is no news */
    th_send(h, A, 1001, iss + 1, 65535, NULL, 0);
    assert_true(tapir_tcp_next_event(h->st, &ev));
    assert_int_equal(ev.sock, l);
    assert_int_equal(ev.events, TAPIR_EV_READABLE);
    assert_false(tapir_tcp_next_event(h->st, &ev));
    assert_int_equal(tapir_tcp_readiness(h->st, l), TAPIR_EV_READABLE);
    c = tapir_tcp_accept(h->st, l, &peer);
    assert_int_equal(peer.addr, TH_REMOTE);
    assert_int_equal(peer.port, h->rport);
    assert_int_equal(tapir_tcp_readiness(h->st, c), TAPIR_EV_WRITABLE);
    while (tapir_tcp_next_event(h->st, &ev))
        ;
    /* Two segments, one event with the bits or-ed. */
    th_send(h, A, 1001, iss + 1, 65535, "ab", 2);
    th_send(h, F | A, 1003, iss + 1, 65535, NULL, 0);
    assert_true(tapir_tcp_next_event(h->st, &ev));
    assert_int_equal(ev.sock, c);
    assert_int_equal(ev.events, TAPIR_EV_READABLE | TAPIR_EV_RDHUP);
    assert_false(tapir_tcp_next_event(h->st, &ev));
    assert_int_equal(tapir_tcp_readiness(h->st, c),
        TAPIR_EV_READABLE | TAPIR_EV_RDHUP | TAPIR_EV_WRITABLE);
    assert_int_equal(tapir_tcp_recv(h->st, c, buf, sizeof(buf), 0), 2);
    assert_int_equal(tapir_tcp_recv(h->st, c, buf, sizeof(buf), 0), 0);
    tapir_tcp_close(h->st, c);
    assert_false(tapir_tcp_next_event(h->st, &ev));    /* a closed handle reports nothing */
    tapir_tcp_close(h->st, l);
    th_drain(h);
    th_expire(h, 10 * 60 * 1000);
}

static void
info_and_snapshot_describe_connections(void **state)
{
    struct th *h = *state;
    struct tapir_tcp_info info[4];
    uint32_t iss;
    int l, c = th_passive_open(h, 80, 1000, &l, &iss);

    tapir_tcp_send(h->st, c, "hello", 5, 0);
    th_poll(h);
    th_expect(h, A | P, iss + 1, 1001, TH_ANY, 5);
    th_send(h, A, 1001, iss + 1, 30000, "xyz", 3);
    assert_int_equal(tapir_tcp_info(h->st, c, &info[0]), 0);
    assert_int_equal(info[0].sock, c);
    assert_int_equal(info[0].state, TAPIR_TCP_ESTABLISHED);
    assert_int_equal(info[0].local.port, 80);
    assert_int_equal(info[0].remote.addr, TH_REMOTE);
    assert_int_equal(info[0].bytes_in_flight, 5);
    assert_int_equal(info[0].snd_queue, 5);
    assert_int_equal(info[0].rcv_queue, 3);
    assert_int_equal(info[0].snd_wnd, 30000);
    assert_int_equal(info[0].snd_mss, 1460);
    assert_int_equal(info[0].bytes_received, 3);
    assert_int_equal(info[0].bytes_acked, 0);               /* the SYN is not data */
    th_send(h, A, 1004, iss + 6, 30000, NULL, 0);
    assert_int_equal(tapir_tcp_info(h->st, c, &info[0]), 0);
    assert_int_equal(info[0].bytes_acked, 5);
    tapir_tcp_shutdown(h->st, c, TAPIR_SHUT_WR);
    th_poll(h);
    th_expect(h, F | A, iss + 6, TH_ANY, TH_ANY, 0);
    th_send(h, A, 1004, iss + 7, 30000, NULL, 0);
    assert_int_equal(tapir_tcp_info(h->st, c, &info[0]), 0);
    assert_int_equal(info[0].bytes_acked, 5);               /* nor is the FIN */
    assert_int_equal(tapir_tcp_snapshot(h->st, info, 4), 2);
    assert_int_equal(tapir_tcp_snapshot(h->st, info, 1), 2);    /* count beyond cap */
    tapir_tcp_abort(h->st, c);
    tapir_tcp_close(h->st, l);
    assert_int_equal(tapir_tcp_info(h->st, c, &info[0]), -EBADF);
    th_drain(h);
}

static void
options_are_checked(void **state)
{
    struct th *h = *state;
    int s = tapir_tcp_socket(h->st), v;

    assert_int_equal(tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_NODELAY, 1), 0);
    assert_int_equal(tapir_tcp_getsockopt(h->st, s, TAPIR_TCP_NODELAY, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(tapir_tcp_setsockopt(h->st, s, TAPIR_SO_RCVBUF, 10), -EINVAL);
    assert_int_equal(tapir_tcp_setsockopt(h->st, s, TAPIR_SO_RCVBUF, 8192), 0);
    assert_int_equal(tapir_tcp_getsockopt(h->st, s, TAPIR_SO_RCVBUF, &v), 0);
    assert_int_equal(v, 8192);
    assert_int_equal(tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_KEEPCNT, 0), -EINVAL);
    assert_int_equal(tapir_tcp_setsockopt(h->st, s, TAPIR_TCP_NOPTS, 1), -ENOPROTOOPT);
    assert_int_equal(tapir_tcp_setsockopt(h->st, s + 1, TAPIR_TCP_NODELAY, 1), -EBADF);
    assert_int_equal(tapir_tcp_shutdown(h->st, s, 7), -EINVAL);
    assert_int_equal(tapir_tcp_shutdown(h->st, s, TAPIR_SHUT_WR), -ENOTCONN);
    assert_int_equal(tapir_tcp_send(h->st, s, "x", 1, 0), -ENOTCONN);
    tapir_tcp_close(h->st, s);
}

static void
small_receive_buffer_limits_the_window(void **state)
{
    struct th *h = *state;
    struct th_seg syn = { 0 };
    int l = tapir_tcp_socket(h->st);

    tapir_tcp_setsockopt(h->st, l, TAPIR_SO_RCVBUF, 3000);
    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    tapir_tcp_listen(h->st, l, 4);
    syn.flags = S;
    syn.seq = 1;
    syn.win = 65535;
    th_inject(h, &syn);
    th_expect(h, S | A, TH_ANY, 2, 3000, 0);            /* inherited from the listener */
    tapir_tcp_close(h->st, l);
    th_drain(h);
}

/* The IPv4 TOS and TTL of the next segment the stack sent (not consumed). */
static void
expect_ip(struct th *h, uint8_t tos, uint8_t ttl)
{
    const uint8_t *ip;

    assert_true(th_pending(h) > 0);
    ip = h->q[h->q_head].buf;
    assert_int_equal(ip[1], tos);
    assert_int_equal(ip[8], ttl);
}

/* IP_TOS and IP_TTL (MUST-48, MUST-49): every segment of the socket
 * carries them -- a bound socket's RST for its port, the SYN,ACK and data
 * of a connection accepted from a listener that set them, and a change
 * made on the way applies at once. */
static void
ip_tos_and_ttl_reach_every_segment(void **state)
{
    struct th *h = *state;
    uint32_t iss;
    int l = tapir_tcp_socket(h->st), c, v;

    assert_int_equal(tapir_tcp_setsockopt(h->st, l, TAPIR_IP_TTL, 0), -EINVAL);
    assert_int_equal(tapir_tcp_setsockopt(h->st, l, TAPIR_IP_TTL, 256), -EINVAL);
    assert_int_equal(tapir_tcp_setsockopt(h->st, l, TAPIR_IP_TOS, 256), -EINVAL);
    assert_int_equal(tapir_tcp_getsockopt(h->st, l, TAPIR_IP_TTL, &v), 0);
    assert_int_equal(v, 64);                                /* the stack's */
    assert_int_equal(tapir_tcp_setsockopt(h->st, l, TAPIR_IP_TOS, 0x20), 0);
    assert_int_equal(tapir_tcp_setsockopt(h->st, l, TAPIR_IP_TTL, 4), 0);
    tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, 80 });
    h->lport = 80;
    h->rport = 40000;
    th_send(h, S, 100, 0, 65535, NULL, 0);                  /* bound, not listening */
    expect_ip(h, 0x20, 4);
    th_expect(h, R | A, 0, 101, TH_ANY, 0);
    tapir_tcp_listen(h->st, l, 4);
    th_send(h, S, 100, 0, 65535, NULL, 0);
    expect_ip(h, 0x20, 4);
    th_expect(h, S | A, TH_ANY, 101, TH_ANY, 0);
    iss = h->last.seq;
    th_send(h, A, 101, iss + 1, 65535, NULL, 0);
    c = tapir_tcp_accept(h->st, l, NULL);
    assert_true(c >= 0);
    assert_int_equal(tapir_tcp_getsockopt(h->st, c, TAPIR_IP_TOS, &v), 0);
    assert_int_equal(v, 0x20);
    assert_int_equal(tapir_tcp_setsockopt(h->st, c, TAPIR_IP_TOS, 0xe0), 0);
    assert_int_equal(tapir_tcp_setsockopt(h->st, c, TAPIR_IP_TTL, -1), 0);
    tapir_tcp_send(h->st, c, "x", 1, 0);
    th_poll(h);
    expect_ip(h, 0xe0, 64);
    th_expect(h, A | P, iss + 1, 101, TH_ANY, 1);
    tapir_tcp_abort(h->st, c);
    expect_ip(h, 0xe0, 64);
    th_expect(h, R | A, iss + 2, 101, TH_ANY, 0);
    tapir_tcp_close(h->st, l);
}

/* cfg.tcp's keepalive defaults reach new sockets; changing them in a
 * running stack (tapir_stack_set_tcp_config) reaches sockets created
 * after, not before; max_socks cannot change and a bad setting is refused
 * whole. */
static void
tcp_settings_change_while_running(void **state)
{
    struct th *h = *state;
    struct tapir_tcp_config tcp = tapir_stack_config(h->st)->tcp;
    int a = tapir_tcp_socket(h->st), b, v;

    assert_int_equal(tapir_tcp_getsockopt(h->st, a, TAPIR_TCP_KEEPIDLE, &v), 0);
    assert_int_equal(v, 7200);
    assert_int_equal(tapir_tcp_getsockopt(h->st, a, TAPIR_TCP_KEEPINTVL, &v), 0);
    assert_int_equal(v, 75);
    assert_int_equal(tapir_tcp_getsockopt(h->st, a, TAPIR_TCP_KEEPCNT, &v), 0);
    assert_int_equal(v, 9);
    tcp.keepidle_s = 15;
    tcp.keepintvl_s = 5;
    tcp.keepcnt = 8;
    assert_int_equal(tapir_stack_set_tcp_config(h->st, &tcp), 0);
    b = tapir_tcp_socket(h->st);
    assert_int_equal(tapir_tcp_getsockopt(h->st, b, TAPIR_TCP_KEEPIDLE, &v), 0);
    assert_int_equal(v, 15);
    assert_int_equal(tapir_tcp_getsockopt(h->st, b, TAPIR_TCP_KEEPINTVL, &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(tapir_tcp_getsockopt(h->st, b, TAPIR_TCP_KEEPCNT, &v), 0);
    assert_int_equal(v, 8);
    assert_int_equal(tapir_tcp_getsockopt(h->st, a, TAPIR_TCP_KEEPCNT, &v), 0);
    assert_int_equal(v, 9);                                 /* set before: unchanged */
    tcp.max_socks++;
    assert_int_equal(tapir_stack_set_tcp_config(h->st, &tcp), -EINVAL);
    tcp.max_socks--;
    tcp.rto_min_ms = 0;
    tcp.keepcnt = 3;
    assert_int_equal(tapir_stack_set_tcp_config(h->st, &tcp), -EINVAL);
    assert_int_equal(tapir_stack_config(h->st)->tcp.keepcnt, 8);
    tapir_tcp_close(h->st, a);
    tapir_tcp_close(h->st, b);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(bind_checks_and_ephemeral_ports),
        T(isn_is_a_4us_clock_plus_a_keyed_hash),
        T(isn_differs_between_stacks_with_different_seeds),
        T(new_syn_reopens_a_time_wait_connection),
        T(readiness_and_events_follow_the_connection),
        T(info_and_snapshot_describe_connections),
        T(options_are_checked),
        T(tcp_settings_change_while_running),
        T(ip_tos_and_ttl_reach_every_segment),
        T(small_receive_buffer_limits_the_window),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
