/*
 * tests/unit/tcp_open_matrix_test.c -- the unsynchronized states x every
 * kind of arriving segment (SYN, SYN+ACK, ACK, FIN, RST, RST+ACK, data),
 * asserting the reply and the state reached: LISTEN (RFC 9293 3.10.7.2),
 * SYN-SENT (3.10.7.3, with an acceptable and an unacceptable ACK) and a port
 * with no socket (3.10.7.1).  The synchronized states are in
 * tcp_matrix_test.  Each case runs on a fresh stack.
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

enum { A = TP_TCP_ACK, S = TP_TCP_SYN, F = TP_TCP_FIN, R = TP_TCP_RST };

#define PEER_ISS 5000u
#define BAD_ACK 0x12345678u         /* never near our ISS */

/* A listener on port 80; segments come from the harness's peer port. */
static struct th *
listener(int *l)
{
    struct tapir_config cfg;
    struct th *h;

    th_config(&cfg);
    h = th_new(&cfg);
    *l = tapir_tcp_socket(h->st);
    assert_int_equal(tapir_tcp_bind(h->st, *l, (struct tapir_sockaddr){ 0, 80 }), 0);
    assert_int_equal(tapir_tcp_listen(h->st, *l, 4), 0);
    h->lport = 80;
    h->rport = 40000;
    th_poll(h);
    return h;
}

static void
finish(struct th *h)
{
    th_expire(h, 10 * 60 * 1000);
    th_free(h);
}

static void
listen_x_every_segment(void **state)
{
    int l;
    struct th *h;

    (void)state;
    /* SYN: a SYN-ACK acknowledging it. */
    h = listener(&l);
    th_send(h, S, PEER_ISS, 0, 65535, NULL, 0);
    th_expect(h, S | A, TH_ANY, PEER_ISS + 1, TH_ANY, 0);
    tapir_tcp_close(h->st, l);      /* resets the embryo */
    finish(h);
    /* SYN+ACK and ACK: the ACK is checked first, RST <SEQ=SEG.ACK>. */
    h = listener(&l);
    th_send(h, S | A, PEER_ISS, BAD_ACK, 65535, NULL, 0);
    th_expect(h, R, BAD_ACK, TH_ANY, TH_ANY, 0);
    th_send(h, A, PEER_ISS, BAD_ACK, 65535, NULL, 0);
    th_expect(h, R, BAD_ACK, TH_ANY, TH_ANY, 0);
    /* FIN, data without ACK, RST, RST+ACK: dropped in silence. */
    th_send(h, F, PEER_ISS, 0, 65535, NULL, 0);
    th_send(h, 0, PEER_ISS, 0, 65535, "data", 4);
    th_send(h, R, PEER_ISS, 0, 65535, NULL, 0);
    th_send(h, R | A, PEER_ISS, BAD_ACK, 65535, NULL, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, l), TAPIR_TCP_LISTEN);
    assert_int_equal(tapir_tcp_accept(h->st, l, NULL), -EAGAIN);
    tapir_tcp_close(h->st, l);
    finish(h);
}

/* A socket in SYN-SENT to the harness's peer; *iss is our ISS. */
static struct th *
syn_sent(int *s, uint32_t *iss)
{
    struct tapir_config cfg;
    struct th *h;

    th_config(&cfg);
    h = th_new(&cfg);
    *s = tapir_tcp_socket(h->st);
    th_connect(h, *s, 6000, S);
    *iss = h->last.seq;
    return h;
}

static void
syn_sent_x_every_segment(void **state)
{
    uint32_t iss;
    int s;
    struct th *h;

    (void)state;
    /* SYN+ACK acknowledging our SYN: ESTABLISHED, ACK. */
    h = syn_sent(&s, &iss);
    th_send(h, S | A, PEER_ISS, iss + 1, 65535, NULL, 0);
    th_expect(h, A, iss + 1, PEER_ISS + 1, TH_ANY, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_ESTABLISHED);
    tapir_tcp_abort(h->st, s);
    finish(h);
    /* SYN alone: simultaneous open, SYN-ACK, SYN-RECEIVED (MUST-10). */
    h = syn_sent(&s, &iss);
    th_send(h, S, PEER_ISS, 0, 65535, NULL, 0);
    th_expect(h, S | A, iss, PEER_ISS + 1, TH_ANY, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_RECEIVED);
    tapir_tcp_abort(h->st, s);
    finish(h);
    /* SYN+ACK and ACK with an unacceptable ACK: RST <SEQ=SEG.ACK>, no
     * change; RST+ACK with it: dropped. */
    h = syn_sent(&s, &iss);
    th_send(h, S | A, PEER_ISS, iss + 1000, 65535, NULL, 0);
    th_expect(h, R, iss + 1000, TH_ANY, TH_ANY, 0);
    th_send(h, A, PEER_ISS, iss, 65535, NULL, 0);
    th_expect(h, R, iss, TH_ANY, TH_ANY, 0);
    th_send(h, R | A, PEER_ISS, iss + 1000, 65535, NULL, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_SENT);
    /* An acceptable ACK without SYN, a FIN, data, a RST without ACK:
     * dropped, still SYN-SENT. */
    th_send(h, A, PEER_ISS, iss + 1, 65535, NULL, 0);
    th_send(h, F | A, PEER_ISS, iss + 1, 65535, NULL, 0);
    th_send(h, A, PEER_ISS, iss + 1, 65535, "data", 4);
    th_send(h, R, PEER_ISS, 0, 65535, NULL, 0);
    th_expect_none(h);
    assert_int_equal(th_state(h, s), TAPIR_TCP_SYN_SENT);
    /* RST+ACK acknowledging our SYN: refused. */
    th_send(h, R | A, 0, iss + 1, 65535, NULL, 0);
    th_expect_none(h);
    assert_int_equal(tapir_tcp_error(h->st, s), -ECONNREFUSED);
    assert_int_equal(th_state(h, s), TAPIR_TCP_CLOSED);
    tapir_tcp_close(h->st, s);
    finish(h);
}

static void
no_socket_x_every_segment(void **state)
{
    struct tapir_config cfg;
    struct th *h;

    (void)state;
    th_config(&cfg);
    h = th_new(&cfg);
    h->lport = 81;
    h->rport = 40000;
    /* Without ACK: RST+ACK acknowledging the segment's length (SYN, FIN
     * and data count). */
    th_send(h, S, PEER_ISS, 0, 65535, NULL, 0);
    th_expect(h, R | A, 0, PEER_ISS + 1, TH_ANY, 0);
    th_send(h, F, PEER_ISS, 0, 65535, NULL, 0);
    th_expect(h, R | A, 0, PEER_ISS + 1, TH_ANY, 0);
    th_send(h, 0, PEER_ISS, 0, 65535, "data", 4);
    th_expect(h, R | A, 0, PEER_ISS + 4, TH_ANY, 0);
    /* With ACK: RST <SEQ=SEG.ACK>. */
    th_send(h, S | A, PEER_ISS, BAD_ACK, 65535, NULL, 0);
    th_expect(h, R, BAD_ACK, TH_ANY, TH_ANY, 0);
    th_send(h, A, PEER_ISS, BAD_ACK, 65535, "data", 4);
    th_expect(h, R, BAD_ACK, TH_ANY, TH_ANY, 0);
    /* A RST is never answered. */
    th_send(h, R, PEER_ISS, 0, 65535, NULL, 0);
    th_send(h, R | A, PEER_ISS, BAD_ACK, 65535, NULL, 0);
    th_expect_none(h);
    assert_int_equal(th_stat(h, "TcpOutRsts"), 5);
    finish(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listen_x_every_segment),
        cmocka_unit_test(syn_sent_x_every_segment),
        cmocka_unit_test(no_socket_x_every_segment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
