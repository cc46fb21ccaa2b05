/*
 * tests/unit/tcp_random_test.c -- robustness: seeded random segments (any
 * flags, sequence and acknowledgment numbers near and far from the window,
 * options, payloads) against a listener and its connections, with the
 * clock moving.  Nothing may crash or trip a sanitizer, memory stays
 * bounded by the socket table, and after closing everything and letting
 * the timers run, every slot is free.  A failure prints its seed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/tcp_harness.h"

static uint64_t
next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void
one_seed(uint64_t seed)
{
    struct th *h = th_new(NULL);
    static char payload[2000];
    uint32_t iss, bases[2];
    uint64_t x = seed;
    int l, c, socks[16], n = 0;

    c = th_passive_open(h, 80, 1000, &l, &iss);
    socks[n++] = c;
    bases[0] = 1000;
    bases[1] = iss;
    for (int i = 0; i < 3000; i++) {
        struct th_seg *s = calloc(1, sizeof(*s));
        uint64_t r = next(&x);
        int a;

        s->flags = (uint8_t)(r & 0x3f);
        s->sport = (uint16_t)(40000 + (r >> 8) % 3);
        s->seq = bases[0] + (uint32_t)((int32_t)(next(&x) % 140000) - 70000);
        s->ack = bases[1] + (uint32_t)((int32_t)(next(&x) % 140000) - 70000);
        if ((r >> 12) % 4 == 0)
            s->seq = (uint32_t)next(&x);
        s->win = (uint16_t)next(&x);
        s->opts.has_mss = (r >> 20) % 3 == 0;
        s->opts.mss = (uint16_t)next(&x);
        s->data = payload;
        s->len = (r >> 24) % 5 == 0 ? next(&x) % sizeof(payload) : 0;
        th_inject(h, s);
        free(s);
        if ((r >> 30) % 16 == 0)
            th_advance_ms(h, (int64_t)(next(&x) % 3000));
        if ((r >> 34) % 64 == 0 && (a = tapir_tcp_accept(h->st, l, NULL)) >= 0 && n < 16)
            socks[n++] = a;
        if ((r >> 40) % 32 == 0)
            tapir_tcp_send(h->st, socks[next(&x) % (uint64_t)n], payload, 1000, 0);
        if ((r >> 46) % 32 == 0) {
            char buf[4096];

            tapir_tcp_recv(h->st, socks[next(&x) % (uint64_t)n], buf, sizeof(buf), 0);
        }
        th_drain(h);
        assert_true(th_nsocks(h) <= 16);
    }
    for (int i = 0; i < n; i++)
        tapir_tcp_close(h->st, socks[i]);
    while (tapir_tcp_accept(h->st, l, NULL) >= 0)
        ;
    tapir_tcp_close(h->st, l);
    th_expire(h, 60 * 60 * 1000);
    if (th_nsocks(h) != 0)
        fail_msg("seed %llu: %zu sockets left", (unsigned long long)seed, th_nsocks(h));
    th_free(h);
}

static void
random_segments_never_break_the_stack(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++)
        one_seed(seed * 0x9e3779b97f4a7c15u);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_segments_never_break_the_stack),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
