/*
 * src/wire/icmp_test.c -- ICMP parse, emit and the quoted datagram of an
 * error: a known echo request, each malformed length, round trips.
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
#include "wire/icmp.h"

/* An echo request, id 0x1234 seq 1, 16 bytes "a".."p"; checksum a27f and the
 * reply's aa7f computed independently. */
static const uint8_t echo_msg[] = {
    0x08, 0x00, 0xa2, 0x7f, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
};

/* The IPv4 header and first 8 TCP bytes of a SYN 10.0.0.2:80 -> 10.0.0.1:43210. */
static const uint8_t quoted_syn[] = {
    0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x0a, 0x74, 0x0a, 0x00,
    0x00, 0x02, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x50, 0xa8, 0xca, 0x11, 0x22, 0x33, 0x44,
};

static void
parses_known_echo(void **state)
{
    struct tp_icmp m;

    (void)state;
    assert_int_equal(tp_icmp_parse(echo_msg, sizeof(echo_msg), &m), TP_WIRE_OK);
    assert_int_equal(m.type, TP_ICMP_ECHO);
    assert_int_equal(m.code, 0);
    assert_int_equal(m.id, 0x1234);
    assert_int_equal(m.seq, 1);
    assert_ptr_equal(m.body, echo_msg + 8);
    assert_int_equal(m.body_len, 16);
}

static void
emits_known_echo_reply(void **state)
{
    struct tp_icmp m;
    uint8_t hdr[TP_ICMP_HDR_LEN];

    (void)state;
    assert_int_equal(tp_icmp_parse(echo_msg, sizeof(echo_msg), &m), TP_WIRE_OK);
    m.type = TP_ICMP_ECHO_REPLY;
    tp_icmp_emit(&m, hdr);
    assert_int_equal(hdr[0], 0);
    assert_int_equal(hdr[1], 0);
    assert_int_equal(tp_load_be16(hdr + 2), 0xaa7f);
    assert_int_equal(tp_load_be16(hdr + 4), 0x1234);
    assert_int_equal(tp_load_be16(hdr + 6), 1);
    /* And the request re-emitted gives back the original bytes. */
    m.type = TP_ICMP_ECHO;
    tp_icmp_emit(&m, hdr);
    assert_memory_equal(hdr, echo_msg, 8);
}

static void
truncated_below_header(void **state)
{
    struct tp_icmp m;

    (void)state;
    for (size_t len = 0; len < TP_ICMP_HDR_LEN; len++) {
        uint8_t *b = malloc(len ? len : 1);

        memcpy(b, echo_msg, len);
        assert_int_equal(tp_icmp_parse(b, len, &m), TP_WIRE_TRUNCATED);
        free(b);
    }
}

static void
checksum_covers_every_byte(void **state)
{
    uint8_t b[sizeof(echo_msg)];
    struct tp_icmp m;

    (void)state;
    for (size_t i = 0; i < sizeof(b); i++) {
        memcpy(b, echo_msg, sizeof(b));
        b[i] ^= 0x10;
        assert_int_equal(tp_icmp_parse(b, sizeof(b), &m), TP_WIRE_BAD_CSUM);
    }
    /* Cutting the body short breaks the checksum too. */
    for (size_t len = 8; len < sizeof(echo_msg); len++)
        assert_int_equal(tp_icmp_parse(echo_msg, len, &m), TP_WIRE_BAD_CSUM);
}

static void
is_error_types(void **state)
{
    (void)state;
    for (unsigned t = 0; t < 256; t++) {
        bool want = t == 3 || t == 4 || t == 5 || t == 11 || t == 12;

        assert_int_equal(tp_icmp_is_error((uint8_t)t), want);
    }
}

static void
emit_parse_round_trip(void **state)
{
    static const struct tp_icmp cases[] = {
        { .type = TP_ICMP_ECHO, .id = 7, .seq = 65535 },
        { .type = TP_ICMP_ECHO_REPLY, .id = 0xffff, .seq = 0 },
        { .type = TP_ICMP_DEST_UNREACH, .code = TP_ICMP_UNREACH_NEEDFRAG, .next_mtu = 1280 },
        { .type = TP_ICMP_DEST_UNREACH, .code = TP_ICMP_UNREACH_PORT },
        { .type = TP_ICMP_PARAM_PROBLEM, .pointer = 9 },
        { .type = TP_ICMP_TIME_EXCEEDED, .code = 1 },
        { .type = 42, .code = 3 },
    };
    uint8_t body[37];
    uint8_t buf[TP_ICMP_HDR_LEN + sizeof(body)];

    (void)state;
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t blen = 0; blen <= sizeof(body); blen += 9) {
            struct tp_icmp o = cases[i], m;

            o.body = body;
            o.body_len = blen;
            tp_icmp_emit(&o, buf);
            memcpy(buf + TP_ICMP_HDR_LEN, body, blen);
            assert_int_equal(tp_icmp_parse(buf, TP_ICMP_HDR_LEN + blen, &m), TP_WIRE_OK);
            assert_int_equal(m.type, o.type);
            assert_int_equal(m.code, o.code);
            assert_int_equal(m.id, o.id);
            assert_int_equal(m.seq, o.seq);
            assert_int_equal(m.next_mtu, o.next_mtu);
            assert_int_equal(m.pointer, o.pointer);
            assert_ptr_equal(m.body, buf + TP_ICMP_HDR_LEN);
            assert_int_equal(m.body_len, blen);
        }
    }
}

/* Build a dest-unreachable message quoting q[0..qlen) into buf. */
static size_t
make_error(uint8_t *buf, const uint8_t *q, size_t qlen)
{
    struct tp_icmp o = { .type = TP_ICMP_DEST_UNREACH, .code = TP_ICMP_UNREACH_PORT,
        .body = q, .body_len = qlen };

    tp_icmp_emit(&o, buf);
    memcpy(buf + TP_ICMP_HDR_LEN, q, qlen);
    return TP_ICMP_HDR_LEN + qlen;
}

static void
quoted_tcp_segment(void **state)
{
    uint8_t buf[64];
    struct tp_icmp m;
    struct tp_ipv4 qip;
    const uint8_t *l4;
    size_t l4_len;

    (void)state;
    assert_int_equal(tp_icmp_parse(buf, make_error(buf, quoted_syn, sizeof(quoted_syn)), &m),
        TP_WIRE_OK);
    assert_int_equal(tp_icmp_quoted(&m, &qip, &l4, &l4_len), TP_WIRE_OK);
    assert_int_equal(qip.src, 0x0a000002);
    assert_int_equal(qip.dst, 0x0a000001);
    assert_int_equal(qip.proto, 6);
    assert_int_equal(qip.total_len, 60);
    assert_ptr_equal(l4, buf + 8 + 20);
    assert_int_equal(l4_len, 8);
    assert_int_equal(tp_load_be16(l4), 80);
    assert_int_equal(tp_load_be32(l4 + 4), 0x11223344);
}

static void
quoted_malformed(void **state)
{
    uint8_t q[sizeof(quoted_syn)];
    uint8_t buf[64];
    struct tp_icmp m;
    struct tp_ipv4 qip;
    const uint8_t *l4;
    size_t l4_len;

    (void)state;
    /* Fewer than 8 bytes of a longer datagram's payload, or no full header. */
    for (size_t qlen = 0; qlen < sizeof(quoted_syn); qlen++) {
        assert_int_equal(tp_icmp_parse(buf, make_error(buf, quoted_syn, qlen), &m), TP_WIRE_OK);
        assert_int_equal(tp_icmp_quoted(&m, &qip, &l4, &l4_len), TP_WIRE_TRUNCATED);
    }
    memcpy(q, quoted_syn, sizeof(q));
    q[0] = 0x65;
    tp_icmp_parse(buf, make_error(buf, q, sizeof(q)), &m);
    assert_int_equal(tp_icmp_quoted(&m, &qip, &l4, &l4_len), TP_WIRE_BAD_VERSION);
    q[0] = 0x43;
    tp_icmp_parse(buf, make_error(buf, q, sizeof(q)), &m);
    assert_int_equal(tp_icmp_quoted(&m, &qip, &l4, &l4_len), TP_WIRE_BAD_HDR_LEN);
    q[0] = 0x4f;                                    /* a 60-byte header in 28 bytes */
    tp_icmp_parse(buf, make_error(buf, q, sizeof(q)), &m);
    assert_int_equal(tp_icmp_quoted(&m, &qip, &l4, &l4_len), TP_WIRE_TRUNCATED);
    q[0] = 0x45;
    tp_store_be16(q + 2, 19);
    tp_icmp_parse(buf, make_error(buf, q, sizeof(q)), &m);
    assert_int_equal(tp_icmp_quoted(&m, &qip, &l4, &l4_len), TP_WIRE_BAD_TOTAL_LEN);
}

static void
quoted_short_datagram_is_whole(void **state)
{
    uint8_t q[24];
    uint8_t buf[64];
    struct tp_icmp m;
    struct tp_ipv4 qip;
    const uint8_t *l4;
    size_t l4_len;

    (void)state;
    /* A datagram of 4 payload bytes is quoted whole: no 8 bytes to demand. */
    memcpy(q, quoted_syn, sizeof(q));
    tp_store_be16(q + 2, 24);
    assert_int_equal(tp_icmp_parse(buf, make_error(buf, q, sizeof(q)), &m), TP_WIRE_OK);
    assert_int_equal(tp_icmp_quoted(&m, &qip, &l4, &l4_len), TP_WIRE_OK);
    assert_int_equal(l4_len, 4);
    /* But not 3 of its 4 bytes. */
    assert_int_equal(tp_icmp_parse(buf, make_error(buf, q, 23), &m), TP_WIRE_OK);
    assert_int_equal(tp_icmp_quoted(&m, &qip, &l4, &l4_len), TP_WIRE_TRUNCATED);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_known_echo),
        cmocka_unit_test(emits_known_echo_reply),
        cmocka_unit_test(truncated_below_header),
        cmocka_unit_test(checksum_covers_every_byte),
        cmocka_unit_test(is_error_types),
        cmocka_unit_test(emit_parse_round_trip),
        cmocka_unit_test(quoted_tcp_segment),
        cmocka_unit_test(quoted_malformed),
        cmocka_unit_test(quoted_short_datagram_is_whole),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
