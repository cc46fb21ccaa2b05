/*
 * src/wire/ipv4_test.c -- IPv4 parse and emit: a known packet, every
 * malformed length, options, fragments, quoted headers and round trips.
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

/* A TCP SYN, 10.0.0.1 -> 10.0.0.2, id 0x1c46, DF, TTL 64; checksum 0a74
 * computed independently. */
static const uint8_t syn_pkt[] = {
    0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x0a, 0x74, 0x0a, 0x00,
    0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0xa8, 0xca, 0x00, 0x50, 0x11, 0x22, 0x33, 0x44,
    0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x35, 0x74, 0x00, 0x00, 0x02, 0x04,
    0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x03, 0x07,
};

static void
fix_csum(uint8_t *p)
{
    size_t hl = (size_t)(p[0] & 0x0f) * 4;

    tp_store_be16(p + 10, 0);
    tp_store_be16(p + 10, tp_csum(p, hl < 20 ? 20 : hl));
}

static void
assert_inside(const uint8_t *buf, size_t len, const struct tp_ipv4 *ip)
{
    assert_true(ip->opts >= buf && ip->opts + ip->opts_len <= buf + len);
    assert_true(ip->payload >= buf && ip->payload + ip->payload_len <= buf + len);
    assert_true(ip->payload == ip->opts + ip->opts_len);
}

static void
parses_known_syn(void **state)
{
    struct tp_ipv4 ip;

    (void)state;
    assert_int_equal(tp_ipv4_parse(syn_pkt, sizeof(syn_pkt), &ip), TP_WIRE_OK);
    assert_int_equal(ip.hdr_len, 20);
    assert_int_equal(ip.tos, 0);
    assert_int_equal(ip.total_len, 60);
    assert_int_equal(ip.id, 0x1c46);
    assert_true(ip.df);
    assert_false(ip.mf);
    assert_int_equal(ip.frag_off, 0);
    assert_int_equal(ip.ttl, 64);
    assert_int_equal(ip.proto, TP_IP_PROTO_TCP);
    assert_int_equal(ip.src, 0x0a000001);
    assert_int_equal(ip.dst, 0x0a000002);
    assert_int_equal(ip.opts_len, 0);
    assert_ptr_equal(ip.payload, syn_pkt + 20);
    assert_int_equal(ip.payload_len, 40);
    assert_inside(syn_pkt, sizeof(syn_pkt), &ip);
}

static void
trailing_padding_is_ignored(void **state)
{
    uint8_t buf[sizeof(syn_pkt) + 6];
    struct tp_ipv4 ip;

    (void)state;
    memcpy(buf, syn_pkt, sizeof(syn_pkt));
    memset(buf + sizeof(syn_pkt), 0xaa, 6);
    assert_int_equal(tp_ipv4_parse(buf, sizeof(buf), &ip), TP_WIRE_OK);
    assert_int_equal(ip.payload_len, 40);
    assert_int_equal(ip.total_len, 60);
}

static void
truncated_at_every_length(void **state)
{
    struct tp_ipv4 ip;

    (void)state;
    for (size_t len = 0; len < sizeof(syn_pkt); len++) {
        uint8_t *b = malloc(len ? len : 1);         /* exact size: ASan sees overreads */

        memcpy(b, syn_pkt, len);
        assert_int_equal(tp_ipv4_parse(b, len, &ip), TP_WIRE_TRUNCATED);
        if (len < 20)
            assert_int_equal(tp_ipv4_parse_quoted(b, len, &ip), TP_WIRE_TRUNCATED);
        else
            assert_int_equal(tp_ipv4_parse_quoted(b, len, &ip), TP_WIRE_OK);
        free(b);
    }
}

static void
bad_version(void **state)
{
    static const uint8_t versions[] = { 0, 1, 5, 6, 15 };
    uint8_t b[sizeof(syn_pkt)];
    struct tp_ipv4 ip;

    (void)state;
    for (size_t i = 0; i < sizeof(versions); i++) {
        memcpy(b, syn_pkt, sizeof(b));
        b[0] = (uint8_t)(versions[i] << 4 | 5);
        fix_csum(b);
        assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_BAD_VERSION);
        assert_int_equal(tp_ipv4_parse_quoted(b, sizeof(b), &ip), TP_WIRE_BAD_VERSION);
    }
}

static void
ihl_below_five(void **state)
{
    uint8_t b[sizeof(syn_pkt)];
    struct tp_ipv4 ip;

    (void)state;
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        memcpy(b, syn_pkt, sizeof(b));
        b[0] = (uint8_t)(0x40 | ihl);
        fix_csum(b);
        assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_BAD_HDR_LEN);
        assert_int_equal(tp_ipv4_parse_quoted(b, sizeof(b), &ip), TP_WIRE_BAD_HDR_LEN);
    }
}

static void
ihl_past_the_buffer(void **state)
{
    uint8_t b[24];
    struct tp_ipv4 ip;

    (void)state;
    /* IHL 15 says 60 bytes of header; only 24 are there. */
    memcpy(b, syn_pkt, sizeof(b));
    b[0] = 0x4f;
    tp_store_be16(b + 2, 24);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_TRUNCATED);
    assert_int_equal(tp_ipv4_parse_quoted(b, sizeof(b), &ip), TP_WIRE_TRUNCATED);
}

static void
total_len_too_small_or_too_large(void **state)
{
    uint8_t b[sizeof(syn_pkt)];
    struct tp_ipv4 ip;

    (void)state;
    for (uint16_t tl = 0; tl < 20; tl++) {
        memcpy(b, syn_pkt, sizeof(b));
        tp_store_be16(b + 2, tl);
        fix_csum(b);
        assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_BAD_TOTAL_LEN);
        assert_int_equal(tp_ipv4_parse_quoted(b, sizeof(b), &ip), TP_WIRE_BAD_TOTAL_LEN);
    }
    /* Smaller than a header with options. */
    memcpy(b, syn_pkt, sizeof(b));
    b[0] = 0x46;
    tp_store_be16(b + 2, 22);
    fix_csum(b);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_BAD_TOTAL_LEN);
    /* Larger than the buffer, by one and by a lot. */
    memcpy(b, syn_pkt, sizeof(b));
    tp_store_be16(b + 2, (uint16_t)(sizeof(b) + 1));
    fix_csum(b);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_TRUNCATED);
    tp_store_be16(b + 2, 0xffff);
    fix_csum(b);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_TRUNCATED);
    /* Quoted: the datagram may be cut short; payload_len is what is there. */
    assert_int_equal(tp_ipv4_parse_quoted(b, sizeof(b), &ip), TP_WIRE_OK);
    assert_int_equal(ip.total_len, 0xffff);
    assert_int_equal(ip.payload_len, sizeof(b) - 20);
    /* Exactly the header and nothing more is fine. */
    memcpy(b, syn_pkt, sizeof(b));
    tp_store_be16(b + 2, 20);
    fix_csum(b);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_OK);
    assert_int_equal(ip.payload_len, 0);
}

static void
every_corrupted_header_byte_fails(void **state)
{
    uint8_t b[sizeof(syn_pkt)];
    struct tp_ipv4 ip;

    (void)state;
    for (size_t i = 0; i < 20; i++) {
        for (int bit = 0; bit < 8; bit++) {
            enum tp_wire_err e;

            memcpy(b, syn_pkt, sizeof(b));
            b[i] ^= (uint8_t)(1u << bit);
            e = tp_ipv4_parse(b, sizeof(b), &ip);
            assert_int_not_equal(e, TP_WIRE_OK);
            if (i >= 4)             /* past the length and version fields */
                assert_int_equal(e, TP_WIRE_BAD_CSUM);
        }
    }
    /* The quoted parser does not look at the checksum. */
    memcpy(b, syn_pkt, sizeof(b));
    b[10] ^= 1;
    assert_int_equal(tp_ipv4_parse_quoted(b, sizeof(b), &ip), TP_WIRE_OK);
    /* The payload is not covered by the header checksum. */
    memcpy(b, syn_pkt, sizeof(b));
    b[30] ^= 0xff;
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_OK);
}

static void
options_are_skipped(void **state)
{
    uint8_t b[32];
    struct tp_ipv4 ip;

    (void)state;
    memset(b, 0, sizeof(b));
    memcpy(b, syn_pkt, 20);
    b[0] = 0x47;                                    /* IHL 7: 8 option bytes */
    tp_store_be16(b + 2, 32);
    b[20] = 0x94;                                   /* router alert */
    b[21] = 4;
    b[24] = 1;                                      /* NOP, then EOL */
    memset(b + 28, 0x5a, 4);
    fix_csum(b);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_OK);
    assert_int_equal(ip.hdr_len, 28);
    assert_ptr_equal(ip.opts, b + 20);
    assert_int_equal(ip.opts_len, 8);
    assert_ptr_equal(ip.payload, b + 28);
    assert_int_equal(ip.payload_len, 4);
    assert_inside(b, sizeof(b), &ip);
}

static void
fragments_are_recognised(void **state)
{
    uint8_t b[sizeof(syn_pkt)];
    struct tp_ipv4 ip;

    (void)state;
    memcpy(b, syn_pkt, sizeof(b));
    tp_store_be16(b + 6, 0x2000);                   /* MF, offset 0: a first fragment */
    fix_csum(b);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_OK);
    assert_true(ip.mf);
    assert_false(ip.df);
    assert_int_equal(ip.frag_off, 0);
    tp_store_be16(b + 6, 185);                      /* last fragment at 1480 */
    fix_csum(b);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_OK);
    assert_false(ip.mf);
    assert_int_equal(ip.frag_off, 1480);
    tp_store_be16(b + 6, 0x3fff);                   /* MF and the largest offset */
    fix_csum(b);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_OK);
    assert_true(ip.mf);
    assert_int_equal(ip.frag_off, 0x1fff * 8);
}

static void
emit_parse_round_trip(void **state)
{
    uint64_t s = 99;

    (void)state;
    for (int t = 0; t < 1000; t++) {
        uint8_t b[20 + 64];
        struct tp_ipv4_out o;
        struct tp_ipv4 ip;

        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        o = (struct tp_ipv4_out){
            .tos = (uint8_t)s,
            .id = (uint16_t)(s >> 8),
            .df = (s >> 24) & 1,
            .mf = (s >> 60) & 1,
            .frag_off = (uint16_t)(((s >> 40) & 0x1fff) * 8),
            .ttl = (uint8_t)(s >> 25),
            .proto = (uint8_t)(s >> 33),
            .src = (uint32_t)(s >> 7),
            .dst = (uint32_t)(s >> 29),
            .payload_len = (uint16_t)((s >> 50) % 65),
        };
        memset(b, 0xee, sizeof(b));
        tp_ipv4_emit(&o, b);
        assert_int_equal(tp_csum(b, 20), 0);
        assert_int_equal(tp_ipv4_parse(b, 20 + o.payload_len, &ip), TP_WIRE_OK);
        assert_int_equal(ip.hdr_len, 20);
        assert_int_equal(ip.tos, o.tos);
        assert_int_equal(ip.total_len, 20 + o.payload_len);
        assert_int_equal(ip.id, o.id);
        assert_int_equal(ip.df, o.df);
        assert_int_equal(ip.mf, o.mf);
        assert_int_equal(ip.frag_off, o.frag_off);
        assert_int_equal(ip.ttl, o.ttl);
        assert_int_equal(ip.proto, o.proto);
        assert_int_equal(ip.src, o.src);
        assert_int_equal(ip.dst, o.dst);
        assert_int_equal(ip.payload_len, o.payload_len);
    }
}

static void
emit_matches_known_bytes(void **state)
{
    struct tp_ipv4_out o = {
        .tos = 0, .id = 0x1c46, .df = true, .ttl = 64, .proto = TP_IP_PROTO_TCP,
        .src = 0x0a000001, .dst = 0x0a000002, .payload_len = 40,
    };
    uint8_t b[20];

    (void)state;
    tp_ipv4_emit(&o, b);
    assert_memory_equal(b, syn_pkt, 20);
}

static void
error_names_are_distinct(void **state)
{
    (void)state;
    assert_string_equal(tp_wire_err_str(TP_WIRE_OK), "ok");
    assert_string_equal(tp_wire_err_str(TP_WIRE_TRUNCATED), "truncated");
    assert_string_equal(tp_wire_err_str(TP_WIRE_BAD_CSUM), "bad checksum");
    for (int i = 0; i < TP_WIRE_NERR; i++) {
        assert_true(strlen(tp_wire_err_str((enum tp_wire_err)i)) > 0);
        assert_string_not_equal(tp_wire_err_str((enum tp_wire_err)i), "unknown error");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(tp_wire_err_str((enum tp_wire_err)i),
                tp_wire_err_str((enum tp_wire_err)j));
    }
    assert_string_equal(tp_wire_err_str(TP_WIRE_NERR), "unknown error");
}

static void
largest_header(void **state)
{
    uint8_t b[64];
    struct tp_ipv4 ip;

    (void)state;
    memset(b, 1, sizeof(b));                        /* 40 bytes of NOP options */
    memcpy(b, syn_pkt, 20);
    b[0] = 0x4f;
    tp_store_be16(b + 2, 64);
    fix_csum(b);
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_OK);
    assert_int_equal(ip.hdr_len, 60);
    assert_int_equal(ip.opts_len, 40);
    assert_ptr_equal(ip.payload, b + 60);
    assert_int_equal(ip.payload_len, 4);
    /* The checksum covers the options too. */
    b[59] ^= 1;
    assert_int_equal(tp_ipv4_parse(b, sizeof(b), &ip), TP_WIRE_BAD_CSUM);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_known_syn),
        cmocka_unit_test(trailing_padding_is_ignored),
        cmocka_unit_test(truncated_at_every_length),
        cmocka_unit_test(bad_version),
        cmocka_unit_test(ihl_below_five),
        cmocka_unit_test(ihl_past_the_buffer),
        cmocka_unit_test(total_len_too_small_or_too_large),
        cmocka_unit_test(every_corrupted_header_byte_fails),
        cmocka_unit_test(options_are_skipped),
        cmocka_unit_test(fragments_are_recognised),
        cmocka_unit_test(emit_parse_round_trip),
        cmocka_unit_test(emit_matches_known_bytes),
        cmocka_unit_test(error_names_are_distinct),
        cmocka_unit_test(largest_header),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
