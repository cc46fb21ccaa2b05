/*
 * src/wire/csum_test.c -- the Internet checksum against known vectors and a
 * byte-at-a-time reference: one-shot, in pieces split anywhere, with the
 * pseudo-header, and the RFC 1624 incremental update against recomputation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/ipv4.h"
#include "wire/tcphdr.h"

/* A deterministic generator so every run checks the same inputs. */
static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void
fill_random(uint64_t *s, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)next_rand(s);
}

/* RFC 1071 4.1, done the slow obvious way: big-endian 16-bit words. */
static uint32_t
ref_sum(const uint8_t *p, size_t len, uint32_t s)
{
    for (size_t i = 0; i < len; i++)
        s += (i % 2 == 0) ? (uint32_t)p[i] << 8 : p[i];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return s;
}

static uint16_t
ref_csum(const uint8_t *p, size_t len)
{
    return (uint16_t)~ref_sum(p, len, 0);
}

static void
rfc1071_example(void **state)
{
    /* RFC 1071 3: the sum of these bytes is ddf2, so the checksum is 220d. */
    static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

    (void)state;
    assert_int_equal(tp_csum(b, sizeof(b)), 0x220d);
    assert_int_equal(ref_csum(b, sizeof(b)), 0x220d);
}

/* A TCP SYN from 10.0.0.1:43210 to 10.0.0.2:80 with Linux's option order;
 * checksums computed independently (a Python one-off). */
static const uint8_t syn_pkt[] = {
    0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x0a, 0x74, 0x0a, 0x00,
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xa8, 0xca, 0x00, 0x50, 0x11, 0x22, 0x33, 0x44,
    0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x35, 0x74, 0x00, 0x00, 0x02, 0x04,
    0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x03, 0x07,
};

static void
known_ipv4_headers(void **state)
{
    /* The widely published example header whose checksum is b861. */
    uint8_t h[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
        0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
    uint8_t syn[sizeof(syn_pkt)];

    (void)state;
    assert_int_equal(tp_csum(h, sizeof(h)), 0);
    h[10] = h[11] = 0;
    assert_int_equal(tp_csum(h, sizeof(h)), 0xb861);

    memcpy(syn, syn_pkt, sizeof(syn));
    assert_int_equal(tp_csum(syn, 20), 0);
    syn[10] = syn[11] = 0;
    assert_int_equal(tp_csum(syn, 20), 0x0a74);
}

static void
known_tcp_segment(void **state)
{
    uint8_t seg[sizeof(syn_pkt) - 20];

    (void)state;
    memcpy(seg, syn_pkt + 20, sizeof(seg));
    assert_int_equal(tp_tcp_csum(0x0a000001, 0x0a000002, seg, sizeof(seg)), 0);
    seg[16] = seg[17] = 0;
    assert_int_equal(tp_tcp_csum(0x0a000001, 0x0a000002, seg, sizeof(seg)), 0x3574);
    /* Swapping the addresses does not change the sum; another one does. */
    assert_int_equal(tp_tcp_csum(0x0a000002, 0x0a000001, seg, sizeof(seg)), 0x3574);
    assert_int_not_equal(tp_tcp_csum(0x0a000003, 0x0a000001, seg, sizeof(seg)), 0x3574);
}

static void
empty_and_extremes(void **state)
{
    uint8_t b[64] = { 0 };

    (void)state;
    assert_int_equal(tp_csum(b, 0), 0xffff);
    memset(b, 0, sizeof(b));
    assert_int_equal(tp_csum(b, sizeof(b)), 0xffff);
    memset(b, 0xff, sizeof(b));
    assert_int_equal(tp_csum(b, sizeof(b)), 0);
    assert_int_equal(tp_csum(b, 1), 0x00ff);
    b[0] = 0x12;
    assert_int_equal(tp_csum(b, 1), (uint16_t)~0x1200);
}

static void
matches_reference_all_lengths_and_alignments(void **state)
{
    uint8_t *buf = malloc(70000);
    uint64_t seed = 0x1234567;

    (void)state;
    assert_non_null(buf);
    fill_random(&seed, buf, 70000);
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len < 300; len++)
            assert_int_equal(tp_csum(buf + off, len), ref_csum(buf + off, len));
    for (size_t len = 65530; len <= 65540; len++)
        assert_int_equal(tp_csum(buf + 3, len), ref_csum(buf + 3, len));
    /* Words of all ones make the accumulators carry the most. */
    memset(buf, 0xff, 70000);
    buf[69999] = 0xfe;
    assert_int_equal(tp_csum(buf + 1, 69999), ref_csum(buf + 1, 69999));
    free(buf);
}

static void
pieces_at_every_split_point(void **state)
{
    uint8_t buf[131];
    uint64_t seed = 42;

    (void)state;
    fill_random(&seed, buf, sizeof(buf));
    for (size_t n = 0; n <= sizeof(buf); n += 13) {
        uint16_t want = ref_csum(buf, n);

        for (size_t i = 0; i <= n; i++) {
            for (size_t j = i; j <= n; j++) {
                struct tp_csum c;

                tp_csum_init(&c);
                tp_csum_add(&c, buf, i);
                tp_csum_add(&c, buf + i, j - i);
                tp_csum_add(&c, buf + j, n - j);
                assert_int_equal(tp_csum_finish(&c), want);
                assert_int_equal(c.len, n);
            }
        }
    }
    /* One byte at a time. */
    {
        struct tp_csum c;

        tp_csum_init(&c);
        for (size_t i = 0; i < sizeof(buf); i++)
            tp_csum_add(&c, buf + i, 1);
        assert_int_equal(tp_csum_finish(&c), ref_csum(buf, sizeof(buf)));
    }
}

static void
pseudo_header_equals_explicit_bytes(void **state)
{
    uint64_t seed = 7;

    (void)state;
    for (int t = 0; t < 200; t++) {
        uint8_t buf[12 + 64 + 1];
        uint32_t src = (uint32_t)next_rand(&seed), dst = (uint32_t)next_rand(&seed);
        uint8_t proto = (uint8_t)next_rand(&seed);
        uint16_t l4 = (uint16_t)next_rand(&seed);
        size_t pre = (size_t)(t % 2);       /* an odd piece before the pseudo-header */
        struct tp_csum c;
        uint8_t all[1 + 12 + 64];

        fill_random(&seed, buf, sizeof(buf));
        tp_csum_init(&c);
        tp_csum_add(&c, buf, pre);
        tp_csum_add_pseudo(&c, src, dst, proto, l4);
        tp_csum_add(&c, buf + 12, 64);
        memcpy(all, buf, pre);
        tp_store_be32(all + pre, src);
        tp_store_be32(all + pre + 4, dst);
        all[pre + 8] = 0;
        all[pre + 9] = proto;
        tp_store_be16(all + pre + 10, l4);
        memcpy(all + pre + 12, buf + 12, 64);
        assert_int_equal(tp_csum_finish(&c), ref_csum(all, pre + 12 + 64));
    }
}

static void
incremental_update_equals_recomputation(void **state)
{
    uint64_t seed = 0xfeedface;
    int n_zero = 0;

    (void)state;
    for (int t = 0; t < 20000; t++) {
        uint8_t h[40];
        size_t len = 2 + 2 * (size_t)(next_rand(&seed) % 19);
        size_t field, at;
        uint16_t csum;

        fill_random(&seed, h, len);
        if (t % 50 == 0)
            memset(h, t % 100 == 0 ? 0 : 0xff, len);
        field = 2 * (size_t)(next_rand(&seed) % (len / 2));
        tp_store_be16(h + field, 0);
        tp_store_be16(h + field, tp_csum(h, len));
        csum = tp_load_be16(h + field);
        if (len >= 8 && next_rand(&seed) % 2) {
            /* A 32-bit field, aligned on 16 bits, not overlapping the sum. */
            uint32_t old, nv = (uint32_t)next_rand(&seed);

            do
                at = 2 * (size_t)(next_rand(&seed) % (len / 2 - 1));
            while (at == field || at + 2 == field);
            old = tp_load_be32(h + at);
            if (t % 7 == 0)
                nv = 0;
            tp_store_be32(h + at, nv);
            csum = tp_csum_update32(csum, old, nv);
        } else {
            uint16_t old, nv = (uint16_t)next_rand(&seed);

            do
                at = 2 * (size_t)(next_rand(&seed) % (len / 2));
            while (at == field && len > 2);
            if (at == field)
                continue;
            old = tp_load_be16(h + at);
            if (t % 5 == 0)
                nv = (uint16_t)(t % 10 == 0 ? 0 : 0xffff);
            tp_store_be16(h + at, nv);
            csum = tp_csum_update16(csum, old, nv);
        }
        tp_store_be16(h + field, 0);
        /* Over data that is all zero the update yields 0x0000 where
         * recomputation yields 0xffff (both are zero in one's complement);
         * no real header is all zero. */
        if (tp_csum(h, len) == 0xffff && csum == 0) {
            n_zero++;
            continue;
        }
        assert_int_equal(csum, tp_csum(h, len));
    }
    assert_true(n_zero < 300);
}

static void
rfc1624_example(void **state)
{
    /* RFC 1624 4: HC = 0xdd2f, m = 0x5555 becomes m' = 0x3285 -> 0x0000. */
    (void)state;
    assert_int_equal(tp_csum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc1071_example),
        cmocka_unit_test(known_ipv4_headers),
        cmocka_unit_test(known_tcp_segment),
        cmocka_unit_test(empty_and_extremes),
        cmocka_unit_test(matches_reference_all_lengths_and_alignments),
        cmocka_unit_test(pieces_at_every_split_point),
        cmocka_unit_test(pseudo_header_equals_explicit_bytes),
        cmocka_unit_test(incremental_update_equals_recomputation),
        cmocka_unit_test(rfc1624_example),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
