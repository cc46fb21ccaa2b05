/*
 * tests/unit/tcp_data_test.c -- moving data: reassembly (with overlaps, a
 * memory cap and a bound on holes), flow control (RFC 9293 3.8.6: the
 * SND.WL1/WL2 rule, zero windows, persist probes, a window that never
 * shrinks), shutdown for reading, close with unread data.
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

struct fx {
    struct th *h;
    int l, s;
    uint32_t iss;
};

static struct fx *
fx_new(uint32_t rcvbuf, uint32_t reass_max)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct tapir_config cfg;

    th_config(&cfg);
    if (rcvbuf != 0)
        cfg.tcp.rcvbuf = rcvbuf;
    if (reass_max != 0)
        cfg.tcp.reass_max_bytes = reass_max;
    f->h = th_new(&cfg);
    f->s = th_passive_open(f->h, 80, 1000, &f->l, &f->iss);
    tapir_tcp_close(f->h->st, f->l);
    return f;
}

static int
setup(void **state)
{
    *state = fx_new(0, 0);
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    th_expire(f->h, 10 * 60 * 1000);
    th_free(f->h);
    free(f);
    return 0;
}

static void
done(struct fx *f)
{
    tapir_tcp_abort(f->h->st, f->s);
    th_drain(f->h);
}

static void
expect_read(struct fx *f, const char *want)
{
    char buf[256];
    long n = tapir_tcp_recv(f->h->st, f->s, buf, sizeof(buf), 0);

    assert_int_equal(n, (long)strlen(want));
    assert_memory_equal(buf, want, strlen(want));
}

static void
out_of_order_segments_are_reassembled(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, A, 1005, f->iss + 1, 65535, "ef", 2);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);       /* duplicate ACK at once */
    th_send(h, A, 1003, f->iss + 1, 65535, "cd", 2);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    assert_int_equal(tapir_tcp_recv(h->st, f->s, (char[4]){ 0 }, 4, 0), -EAGAIN);
    assert_int_equal(th_stat(h, "TcpExtTCPOFOQueue"), 2);
    th_send(h, A, 1001, f->iss + 1, 65535, "ab", 2);
    th_expect(h, A, f->iss + 1, 1007, TH_ANY, 0);       /* the hole filled: ACK at once */
    expect_read(f, "abcdef");
    done(f);
}

static void
fin_beyond_a_hole_waits_for_it(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, F | A, 1004, f->iss + 1, 65535, "def", 3);  /* data + FIN past a hole */
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_ESTABLISHED);
    th_send(h, A, 1001, f->iss + 1, 65535, "abc", 3);
    th_expect(h, A, f->iss + 1, 1008, TH_ANY, 0);       /* the data and the FIN */
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_CLOSE_WAIT);
    expect_read(f, "abcdef");
    assert_int_equal(tapir_tcp_recv(h->st, f->s, (char[4]){ 0 }, 4, 0), 0);
    done(f);
}

/* A FIN without data beyond a hole: an immediate duplicate ACK (RFC 5681
 * 4.2), and the FIN is kept until the hole fills. */
static void
bare_fin_beyond_a_hole_gets_a_dup_ack_and_waits(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, A, 1004, f->iss + 1, 65535, "def", 3);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);
    th_send(h, F | A, 1007, f->iss + 1, 65535, NULL, 0);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 0);       /* at once */
    th_expect_none(h);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_ESTABLISHED);
    th_send(h, A, 1001, f->iss + 1, 65535, "abc", 3);
    th_expect(h, A, f->iss + 1, 1008, TH_ANY, 0);       /* the data and the FIN */
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_CLOSE_WAIT);
    expect_read(f, "abcdef");
    assert_int_equal(tapir_tcp_recv(h->st, f->s, (char[4]){ 0 }, 4, 0), 0);
    done(f);
}

static void
overlapping_segments_are_trimmed(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, A, 1006, f->iss + 1, 65535, "FGH", 3);   /* [1006,1009) */
    th_send(h, A, 1004, f->iss + 1, 65535, "DEFGHIJ", 7);   /* [1004,1011) covers it */
    th_send(h, A, 1012, f->iss + 1, 65535, "LM", 2);    /* [1012,1014) */
    th_send(h, A, 1010, f->iss + 1, 65535, "JKL", 3);   /* bridges [1010,1013) */
    th_drain(h);
    assert_int_equal(th_stat(h, "TcpExtTCPOFOMerge"), 2);
    th_send(h, A, 999, f->iss + 1, 65535, "??ABCDE", 7);    /* starts before RCV.NXT */
    th_expect(h, A, f->iss + 1, 1014, TH_ANY, 0);
    expect_read(f, "ABCDEFGHIJKLM");
    th_send(h, A, 1010, f->iss + 1, 65535, "JKLMN", 5); /* mostly old: only N is new */
    th_advance_ms(h, 40);
    th_expect(h, A, f->iss + 1, 1015, TH_ANY, 0);
    expect_read(f, "N");
    done(f);
}

static void
reassembly_is_capped(void **state)
{
    struct fx *f = fx_new(0, 100);
    struct th *h = f->h;

    (void)state;
    th_send(h, A, 1001 + 50, f->iss + 1, 65535, "0123456789", 10);  /* within 100 */
    th_send(h, A, 1001 + 95, f->iss + 1, 65535, "0123456789", 10);  /* ends past the cap */
    th_send(h, A, 1001 + 200, f->iss + 1, 65535, "0123456789", 10); /* beyond it */
    assert_int_equal(th_stat(h, "TcpExtTCPOFOQueue"), 2);   /* the second, cut to 5 */
    assert_int_equal(th_stat(h, "TcpExtTCPOFODrop"), 1);
    done(f);
    teardown((void **)&f);
}

/* At most TP_TCP_REASS_MAX_BLOCKS (32) separate blocks are held: enough for
 * the holes 1 % loss leaves in a 1 MB window (8 were not: a kernel sender
 * with BBR saw hundreds of its segments dropped, then sent again). */
static void
reassembly_tracks_32_blocks(void **state)
{
    struct fx *f = fx_new(0, 0);
    struct th *h = f->h;
    char want[66], got[80];

    (void)state;
    for (uint32_t i = 0; i < sizeof(want); i++)
        want[i] = (char)('!' + i);
    /* Bytes at odd offsets from RCV.NXT, each a block of its own. */
    for (uint32_t i = 0; i < 33; i++)
        th_send(h, A, 1001 + 1 + 2 * i, f->iss + 1, 65535, &want[1 + 2 * i], 1);
    assert_int_equal(th_stat(h, "TcpExtTCPOFOQueue"), 32);
    assert_int_equal(th_stat(h, "TcpExtTCPOFODrop"), 1);    /* the 33rd, offset 65 */
    /* The holes at offsets 64 down to 2 join blocks: none needs a new one. */
    for (uint32_t i = 0; i < 32; i++)
        th_send(h, A, 1001 + 64 - 2 * i, f->iss + 1, 65535, &want[64 - 2 * i], 1);
    assert_int_equal(th_stat(h, "TcpExtTCPOFODrop"), 1);
    th_send(h, A, 1001, f->iss + 1, 65535, want, 1);        /* the first hole */
    th_drain(h);
    assert_int_equal(tapir_tcp_recv(h->st, f->s, got, sizeof(got), 0), 65);
    assert_memory_equal(got, want, 65);
    done(f);
    teardown((void **)&f);
}

static void
zero_receive_window_then_window_update(void **state)
{
    struct fx *f = fx_new(1000, 0);
    struct th *h = f->h;
    static char data[1000], out[1000];

    (void)state;
    memset(data, 'z', sizeof(data));
    th_send(h, A, 1001, f->iss + 1, 65535, data, 600);
    th_advance_ms(h, 40);
    th_expect(h, A, f->iss + 1, 1601, 400, 0);
    th_send(h, A, 1601, f->iss + 1, 65535, data, 400);
    th_advance_ms(h, 40);
    th_expect(h, A, f->iss + 1, 2001, 0, 0);            /* full */
    th_send(h, A, 2001, f->iss + 1, 65535, "p", 1);     /* a probe: not taken */
    th_expect(h, A, f->iss + 1, 2001, 0, 0);
    assert_int_equal(tapir_tcp_recv(h->st, f->s, out, 100, 0), 100);
    th_poll(h);
    th_expect_none(h);                                  /* 100 < min(MSS, buffer/2): SWS */
    assert_int_equal(tapir_tcp_recv(h->st, f->s, out, sizeof(out), 0), 900);
    th_poll(h);
    th_expect(h, A, f->iss + 1, 2001, 1000, 0);         /* the window update */
    done(f);
    teardown((void **)&f);
}

static void
receive_window_never_shrinks(void **state)
{
    struct fx *f = fx_new(4000, 0);
    struct th *h = f->h;
    static char data[1460];
    uint32_t edge = 1001 + 4000;

    (void)state;
    for (int i = 0; i < 2; i++) {
        th_send(h, A, 1001 + 1460 * (uint32_t)i, f->iss + 1, 65535, data, 1460);
        th_advance_ms(h, 40);
        while (th_pending(h) > 0) {
            th_expect(h, A, f->iss + 1, TH_ANY, TH_ANY, 0);
            assert_int_equal(h->last.ack + h->last.win, edge);  /* right edge fixed */
        }
    }
    done(f);
    teardown((void **)&f);
}

static void
send_window_follows_the_wl1_wl2_rule(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    static char data[2500];

    th_send(h, A, 1001, f->iss + 1, 2000, "ab", 2);     /* WL1 = 1001 */
    th_send(h, A, 1003, f->iss + 1, 3000, "cd", 2);     /* WL1 = 1003, window 3000 */
    th_send(h, A, 1001, f->iss + 1, 50, "ab", 2);       /* old: must not shrink it to 50 */
    th_drain(h);
    tapir_tcp_setsockopt(h->st, f->s, TAPIR_TCP_NODELAY, 1);
    assert_int_equal(tapir_tcp_send(h->st, f->s, data, sizeof(data), 0), 2500);
    th_poll(h);
    th_expect(h, A, f->iss + 1, 1005, TH_ANY, 1460);
    th_expect(h, A | P, f->iss + 1461, 1005, TH_ANY, 1040);
    /* A newer segment with a smaller window is obeyed. */
    th_send(h, A, 1005, f->iss + 2501, 100, NULL, 0);
    assert_int_equal(tapir_tcp_send(h->st, f->s, data, 500, 0), 500);
    th_poll(h);
    th_expect(h, A, f->iss + 2501, 1005, TH_ANY, 100);
    th_expect_none(h);
    done(f);
}

static void
zero_send_window_is_probed_with_backoff(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    struct tapir_tcp_info info;

    th_send(h, A, 1001, f->iss + 1, 0, NULL, 0);        /* the peer's window closes */
    assert_int_equal(tapir_tcp_send(h->st, f->s, "hello", 5, 0), 5);
    th_poll(h);
    th_expect_none(h);
    tapir_tcp_info(h->st, f->s, &info);
    th_advance_us(h, info.rto_us - 1);
    th_expect_none(h);
    th_advance_us(h, 1);
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 1);       /* one byte into the zero window */
    th_send(h, A, 1001, f->iss + 1, 0, NULL, 0);        /* not taken */
    th_expect_none(h);
    th_advance_us(h, 2 * info.rto_us - 1);
    th_expect_none(h);
    th_advance_us(h, 1);                                /* backed off: twice the wait */
    th_expect(h, A, f->iss + 1, 1001, TH_ANY, 1);
    assert_int_equal(th_stat(h, "TapirTcpZeroWindowProbes"), 2);
    th_send(h, A, 1001, f->iss + 2, 1000, NULL, 0);     /* the byte is taken, it opens */
    th_expect(h, A | P, f->iss + 2, 1001, TH_ANY, 4);
    th_send(h, A, 1001, f->iss + 6, 1000, NULL, 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_ESTABLISHED);
    th_advance_ms(h, 5000);
    th_expect_none(h);                                  /* all acknowledged */
    done(f);
}

/* The peer shrinks its window to zero while data is in flight (it acks
 * part of a flight with window 0).  Our ACKs must carry a sequence number
 * the peer accepts (no further than SND.UNA + SND.WND: a Linux receiver
 * drops segments beyond its window without reading their ACK), and the
 * retransmission timeout must probe the zero window at SND.UNA; otherwise
 * neither side ever moves again. */
static void
window_shrunk_to_zero_with_data_in_flight_is_probed(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    char data[1000];
    struct tapir_tcp_info info;

    memset(data, 'd', sizeof(data));
    th_send(h, A, 1001, f->iss + 1, 1000, NULL, 0);
    assert_int_equal(tapir_tcp_send(h->st, f->s, data, sizeof(data), 0), 1000);
    th_poll(h);
    th_expect(h, A | P, f->iss + 1, 1001, TH_ANY, 1000);
    th_send(h, A, 1001, f->iss + 501, 0, NULL, 0);      /* half taken, window closed */
    th_send(h, A | P, 1001, f->iss + 501, 0, "x", 1);   /* peer data: we must ack */
    th_advance_ms(h, 50);                               /* past the delayed ACK */
    th_expect(h, A, f->iss + 501, 1002, TH_ANY, 0);     /* SEQ inside the peer's window */
    tapir_tcp_info(h->st, f->s, &info);
    th_advance_us(h, info.rto_us);
    th_expect(h, A, f->iss + 501, 1002, TH_ANY, 1);     /* a probe at SND.UNA */
    th_send(h, A, 1002, f->iss + 502, 1000, NULL, 0);   /* taken; the window opens */
    th_expect(h, A | P, f->iss + 502, 1002, TH_ANY, 499);
    th_send(h, A, 1002, f->iss + 1001, 1000, NULL, 0);
    th_advance_ms(h, 5000);
    th_expect_none(h);
    done(f);
}

static void
shutdown_read_discards_incoming_data(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    char c;

    assert_int_equal(tapir_tcp_shutdown(h->st, f->s, TAPIR_SHUT_RD), 0);
    assert_int_equal(tapir_tcp_recv(h->st, f->s, &c, 1, 0), 0);
    th_send(h, A, 1001, f->iss + 1, 65535, "abc", 3);
    th_expect(h, A, f->iss + 1, 1004, TH_ANY, 0);
    assert_int_equal(tapir_tcp_recv(h->st, f->s, &c, 1, 0), 0);
    assert_int_equal(th_state(h, f->s), TAPIR_TCP_ESTABLISHED);
    done(f);
}

static void
close_with_unread_data_resets(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    th_send(h, A, 1001, f->iss + 1, 65535, "abc", 3);
    assert_int_equal(tapir_tcp_close(h->st, f->s), 0);
    th_expect(h, R | A, f->iss + 1, 1004, TH_ANY, 0);   /* RFC 2525 2.17 */
    assert_int_equal(th_stat(h, "TcpExtTCPAbortOnClose"), 1);
    assert_int_equal(th_nsocks(h), 0);
}

static void
data_to_an_orphan_resets(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;

    tapir_tcp_close(h->st, f->s);
    th_poll(h);
    th_expect(h, F | A, f->iss + 1, 1001, TH_ANY, 0);
    th_send(h, A, 1001, f->iss + 2, 65535, "late", 4);
    th_expect(h, R | A, f->iss + 2, 1001, TH_ANY, 0);
    assert_int_equal(th_stat(h, "TcpExtTCPAbortOnData"), 1);
    assert_int_equal(th_nsocks(h), 0);
}

static void
peek_leaves_data_in_place(void **state)
{
    struct fx *f = *state;
    struct th *h = f->h;
    char buf[8];

    th_send(h, A | P, 1001, f->iss + 1, 65535, "peek", 4);
    assert_int_equal(tapir_tcp_recv(h->st, f->s, buf, 8, TAPIR_MSG_PEEK), 4);
    assert_int_equal(tapir_tcp_recv(h->st, f->s, buf, 2, 0), 2);
    assert_memory_equal(buf, "pe", 2);
    expect_read(f, "ek");
    done(f);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T0(fn) cmocka_unit_test(fn)
    const struct CMUnitTest tests[] = {
        T(out_of_order_segments_are_reassembled),
        T(fin_beyond_a_hole_waits_for_it),
        T(bare_fin_beyond_a_hole_gets_a_dup_ack_and_waits),
        T(overlapping_segments_are_trimmed),
        T0(reassembly_is_capped),
        T0(reassembly_tracks_32_blocks),
        T0(zero_receive_window_then_window_update),
        T0(receive_window_never_shrinks),
        T(send_window_follows_the_wl1_wl2_rule),
        T(zero_send_window_is_probed_with_backoff),
        T(window_shrunk_to_zero_with_data_in_flight_is_probed),
        T(shutdown_read_discards_incoming_data),
        T(close_with_unread_data_resets),
        T(data_to_an_orphan_resets),
        T(peek_leaves_data_in_place),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
