/*
 * src/wire/tcphdr_test.c -- TCP header and option parse and emit: a known
 * SYN, malformed offsets and option lengths, the emitted option layouts, and
 * round trips for every combination of options.
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
#include "wire/tcphdr.h"

/* The TCP part of a Linux-style SYN 10.0.0.1:43210 -> 10.0.0.2:80: mss 1460,
 * sackOK, TS val 0x0a0b0c0d ecr 0, nop, wscale 7; checksum 3574. */
static const uint8_t syn_seg[] = {
    0xa8, 0xca, 0x00, 0x50, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
    0xfa, 0xf0, 0x35, 0x74, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
    0x0a, 0x0b, 0x0c, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

static void
parses_known_syn(void **state)
{
    struct tp_tcphdr h;
    struct tp_tcp_opts o;

    (void)state;
    assert_int_equal(tp_tcphdr_parse(syn_seg, sizeof(syn_seg), &h), TP_WIRE_OK);
    assert_int_equal(h.src_port, 43210);
    assert_int_equal(h.dst_port, 80);
    assert_int_equal(h.seq, 0x11223344);
    assert_int_equal(h.ack, 0);
    assert_int_equal(h.hdr_len, 40);
    assert_int_equal(h.flags, TP_TCP_SYN);
    assert_int_equal(h.reserved, 0);
    assert_int_equal(h.window, 64240);
    assert_int_equal(h.csum, 0x3574);
    assert_int_equal(h.urg, 0);
    assert_ptr_equal(h.opts, syn_seg + 20);
    assert_int_equal(h.opts_len, 20);
    assert_ptr_equal(h.payload, syn_seg + 40);
    assert_int_equal(h.payload_len, 0);
    assert_int_equal(tp_tcp_csum(0x0a000001, 0x0a000002, syn_seg, sizeof(syn_seg)), 0);

    assert_int_equal(tp_tcp_opts_parse(h.opts, h.opts_len, &o), TP_WIRE_OK);
    assert_true(o.has_mss);
    assert_int_equal(o.mss, 1460);
    assert_true(o.sack_permitted);
    assert_true(o.has_ts);
    assert_int_equal(o.ts_val, 0x0a0b0c0d);
    assert_int_equal(o.ts_ecr, 0);
    assert_true(o.has_wscale);
    assert_int_equal(o.wscale, 7);
    assert_int_equal(o.n_sack, 0);
    assert_int_equal(o.n_unknown, 0);
}

static void
flags_reserved_and_payload(void **state)
{
    uint8_t b[sizeof(syn_seg) + 5];
    struct tp_tcphdr h;

    (void)state;
    memcpy(b, syn_seg, sizeof(syn_seg));
    memcpy(b + sizeof(syn_seg), "hello", 5);
    b[12] = 0xaf;                                   /* offset 10, all reserved bits */
    b[13] = 0xff;
    assert_int_equal(tp_tcphdr_parse(b, sizeof(b), &h), TP_WIRE_OK);
    assert_int_equal(h.reserved, 0x0f);
    assert_int_equal(h.flags, 0xff);
    assert_ptr_equal(h.payload, b + 40);
    assert_int_equal(h.payload_len, 5);
}

static void
truncated_below_twenty(void **state)
{
    struct tp_tcphdr h;

    (void)state;
    for (size_t len = 0; len < TP_TCPHDR_MIN; len++) {
        uint8_t *b = malloc(len ? len : 1);

        memcpy(b, syn_seg, len);
        assert_int_equal(tp_tcphdr_parse(b, len, &h), TP_WIRE_TRUNCATED);
        free(b);
    }
}

static void
data_offset_below_five_or_past_end(void **state)
{
    uint8_t b[sizeof(syn_seg)];
    struct tp_tcphdr h;

    (void)state;
    for (uint8_t off = 0; off < 5; off++) {
        memcpy(b, syn_seg, sizeof(b));
        b[12] = (uint8_t)(off << 4);
        assert_int_equal(tp_tcphdr_parse(b, sizeof(b), &h), TP_WIRE_BAD_HDR_LEN);
    }
    /* Offset 10 (40 bytes) with 20..39 bytes present. */
    for (size_t len = TP_TCPHDR_MIN; len < sizeof(syn_seg); len++) {
        uint8_t *c = malloc(len);

        memcpy(c, syn_seg, len);
        assert_int_equal(tp_tcphdr_parse(c, len, &h), TP_WIRE_BAD_HDR_LEN);
        free(c);
    }
    /* Offset 15 in a 40-byte segment. */
    memcpy(b, syn_seg, sizeof(b));
    b[12] = 0xf0;
    assert_int_equal(tp_tcphdr_parse(b, sizeof(b), &h), TP_WIRE_BAD_HDR_LEN);
}

/* Parse n option bytes from a buffer of exactly that size. */
static enum tp_wire_err
parse_opts(const uint8_t *bytes, size_t n, struct tp_tcp_opts *o)
{
    uint8_t *b = malloc(n ? n : 1);
    enum tp_wire_err e;

    memcpy(b, bytes, n);
    e = tp_tcp_opts_parse(b, n, o);
    free(b);
    return e;
}

static void
eol_ends_the_list(void **state)
{
    /* Garbage after EOL is not read as options. */
    static const uint8_t b[] = { 2, 4, 1, 0, 0, 0xff, 0, 0x33 };
    struct tp_tcp_opts o;

    (void)state;
    assert_int_equal(parse_opts(b, sizeof(b), &o), TP_WIRE_OK);
    assert_true(o.has_mss);
    assert_int_equal(o.mss, 256);
    assert_false(o.has_ts);
    assert_int_equal(parse_opts(b, 0, &o), TP_WIRE_OK);
    assert_false(o.has_mss);
}

static void
nops_and_unknown_kinds_are_skipped(void **state)
{
    static const uint8_t b[] = { 1, 1, 1, 30, 6, 9, 9, 9, 9, 254, 2, 3, 3, 14, 1, 253, 3, 0 };
    struct tp_tcp_opts o;

    (void)state;
    assert_int_equal(parse_opts(b, sizeof(b), &o), TP_WIRE_OK);
    assert_int_equal(o.n_unknown, 3);
    assert_true(o.has_wscale);
    assert_int_equal(o.wscale, 14);
}

static void
bad_option_lengths(void **state)
{
    static const struct {
        uint8_t b[12];
        size_t n;
    } bad[] = {
        { { 30, 0 }, 2 },                           /* length 0 */
        { { 30, 1 }, 2 },                           /* length 1 */
        { { 1, 30, 1, 0 }, 4 },
        { { 30 }, 1 },                              /* no length byte */
        { { 1, 1, 1, 2 }, 4 },                      /* MSS kind as the last byte */
        { { 30, 5, 0, 0 }, 4 },                     /* past the end */
        { { 2, 4, 0 }, 3 },
        { { 8, 10, 0, 0, 0, 0, 0, 0, 0 }, 9 },
        { { 2, 3, 0 }, 3 },                         /* wrong length for the kind */
        { { 2, 5, 0, 0, 0 }, 5 },
        { { 3, 4, 0, 0 }, 4 },
        { { 3, 2 }, 2 },
        { { 4, 3, 0 }, 3 },
        { { 8, 8, 0, 0, 0, 0, 0, 0 }, 8 },
        { { 8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 11 },
        { { 5, 2 }, 2 },                            /* SACK of no block */
        { { 5, 6, 0, 0, 0, 0 }, 6 },
        { { 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 11 },
    };
    struct tp_tcp_opts o;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse_opts(bad[i].b, bad[i].n, &o), TP_WIRE_BAD_OPTION);
}

static void
sack_blocks(void **state)
{
    uint8_t b[40];
    struct tp_tcp_opts o;

    (void)state;
    for (int n = 1; n <= 4; n++) {
        size_t len = 2 + 2 + 8 * (size_t)n;

        b[0] = 1;
        b[1] = 1;
        b[2] = TP_TCPOPT_SACK;
        b[3] = (uint8_t)(2 + 8 * n);
        for (int i = 0; i < n; i++) {
            tp_store_be32(b + 4 + 8 * i, 1000u * (uint32_t)i);
            tp_store_be32(b + 8 + 8 * i, 1000u * (uint32_t)i + 500);
        }
        assert_int_equal(parse_opts(b, len, &o), TP_WIRE_OK);
        assert_int_equal(o.n_sack, n);
        for (int i = 0; i < n; i++) {
            assert_int_equal(o.sack[i].left, 1000u * (uint32_t)i);
            assert_int_equal(o.sack[i].right, 1000u * (uint32_t)i + 500);
        }
        /* One byte short of the last block. */
        assert_int_equal(parse_opts(b, len - 1, &o), TP_WIRE_BAD_OPTION);
    }
}

static void
emit_and_check(const struct tp_tcp_out *s, const uint8_t *want_opts, size_t want_len)
{
    uint8_t buf[TP_TCPHDR_MAX];

    assert_int_equal(tp_tcphdr_len(s), TP_TCPHDR_MIN + want_len);
    memset(buf, 0xcc, sizeof(buf));
    tp_tcphdr_emit(s, buf);
    assert_int_equal(buf[12] >> 4, (TP_TCPHDR_MIN + want_len) / 4);
    assert_memory_equal(buf + TP_TCPHDR_MIN, want_opts, want_len);
    if (TP_TCPHDR_MIN + want_len < sizeof(buf))
        assert_int_equal(buf[TP_TCPHDR_MIN + want_len], 0xcc);     /* nothing past it */
}

static void
emit_layouts(void **state)
{
    struct tp_tcp_out s = { .flags = TP_TCP_SYN };
    /* mss 1460,nop,wscale 6,sackOK,TS val 0x01020304 ecr 0 */
    static const uint8_t syn_all[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 6, 4, 2, 8, 10,
        1, 2, 3, 4, 0, 0, 0, 0 };
    static const uint8_t synack_mss_sack[] = { 2, 4, 0x05, 0xb4, 4, 2, 0, 0 };
    static const uint8_t data_ts[] = { 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9 };
    static const uint8_t data_ts_sack[] = { 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9,
        1, 1, 5, 18, 0, 0, 0, 100, 0, 0, 0, 200, 0, 0, 1, 0, 0, 0, 2, 0 };
    static const uint8_t none[1] = { 0 };

    (void)state;
    emit_and_check(&s, none, 0);
    s.opts = (struct tp_tcp_opts){ .has_mss = true, .mss = 1460, .has_wscale = true,
        .wscale = 6, .sack_permitted = true, .has_ts = true, .ts_val = 0x01020304 };
    emit_and_check(&s, syn_all, sizeof(syn_all));

    s.flags = TP_TCP_SYN | TP_TCP_ACK;
    s.opts = (struct tp_tcp_opts){ .has_mss = true, .mss = 1460, .sack_permitted = true };
    emit_and_check(&s, synack_mss_sack, sizeof(synack_mss_sack));

    s.flags = TP_TCP_ACK;
    s.opts = (struct tp_tcp_opts){ .has_ts = true, .ts_val = 7, .ts_ecr = 9 };
    emit_and_check(&s, data_ts, sizeof(data_ts));

    s.opts.n_sack = 2;
    s.opts.sack[0] = (struct tp_sack_block){ 100, 200 };
    s.opts.sack[1] = (struct tp_sack_block){ 256, 512 };
    emit_and_check(&s, data_ts_sack, sizeof(data_ts_sack));
}

static void
emit_drops_sack_blocks_that_do_not_fit(void **state)
{
    struct tp_tcp_out s = { .flags = TP_TCP_ACK };
    uint8_t buf[TP_TCPHDR_MAX];
    struct tp_tcphdr h;
    struct tp_tcp_opts o;

    (void)state;
    s.opts.n_sack = 4;
    for (int i = 0; i < 4; i++)
        s.opts.sack[i] = (struct tp_sack_block){ (uint32_t)i * 10, (uint32_t)i * 10 + 5 };
    /* Without TS all four fit: nop,nop,sack = 36 bytes. */
    assert_int_equal(tp_tcphdr_len(&s), 20 + 36);
    s.opts.has_ts = true;
    /* With TS only three: 12 + 4 + 24 = 40. */
    assert_int_equal(tp_tcphdr_len(&s), 60);
    tp_tcphdr_emit(&s, buf);
    assert_int_equal(tp_tcphdr_parse(buf, 60, &h), TP_WIRE_OK);
    assert_int_equal(tp_tcp_opts_parse(h.opts, h.opts_len, &o), TP_WIRE_OK);
    assert_int_equal(o.n_sack, 3);
    assert_int_equal(o.sack[2].left, 20);
    /* After the 20 bytes of a full SYN's options only two fit. */
    s.opts.has_mss = s.opts.has_wscale = s.opts.sack_permitted = true;
    assert_int_equal(tp_tcphdr_len(&s), 60);
    tp_tcphdr_emit(&s, buf);
    assert_int_equal(tp_tcphdr_parse(buf, 60, &h), TP_WIRE_OK);
    assert_int_equal(tp_tcp_opts_parse(h.opts, h.opts_len, &o), TP_WIRE_OK);
    assert_int_equal(o.n_sack, 2);
    assert_int_equal(buf[40], TP_TCPOPT_NOP);
    assert_int_equal(buf[42], TP_TCPOPT_SACK);
    assert_int_equal(buf[43], 18);
}

/* The blocks emit can carry after the other options. */
static uint8_t
sack_room(const struct tp_tcp_opts *t)
{
    struct tp_tcp_out s = { .opts = *t };
    size_t base;

    s.opts.n_sack = 0;
    base = tp_tcphdr_len(&s) - TP_TCPHDR_MIN;
    /* Without SACK the list was padded to 4; SACK wants 2 NOPs and 2 bytes. */
    for (uint8_t n = TP_TCP_MAX_SACK; n > 0; n--) {
        s.opts.n_sack = n;
        if (tp_tcphdr_len(&s) - TP_TCPHDR_MIN - base >= 8u * n)
            return n;
    }
    return 0;
}

static void
emit_parse_round_trip_every_combination(void **state)
{
    uint64_t r = 12345;

    (void)state;
    for (unsigned mask = 0; mask < 16; mask++) {
        for (uint8_t nsack = 0; nsack <= TP_TCP_MAX_SACK; nsack++) {
            for (int syn = 0; syn < 2; syn++) {
                struct tp_tcp_out s;
                uint8_t buf[TP_TCPHDR_MAX + 3];
                struct tp_tcphdr h;
                struct tp_tcp_opts o;
                size_t len;
                uint8_t want_sack;

                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                memset(&s, 0, sizeof(s));
                s.src_port = (uint16_t)r;
                s.dst_port = (uint16_t)(r >> 16);
                s.seq = (uint32_t)(r >> 5);
                s.ack = (uint32_t)(r >> 29);
                s.flags = (uint8_t)(syn ? TP_TCP_SYN : TP_TCP_ACK | TP_TCP_PSH);
                s.window = (uint16_t)(r >> 40);
                s.urg = (uint16_t)(r >> 3);
                s.opts.has_mss = mask & 1;
                s.opts.mss = (uint16_t)(r >> 11);
                s.opts.has_wscale = (mask >> 1) & 1;
                s.opts.wscale = (uint8_t)(r >> 13);
                s.opts.sack_permitted = (mask >> 2) & 1;
                s.opts.has_ts = (mask >> 3) & 1;
                s.opts.ts_val = (uint32_t)(r >> 17);
                s.opts.ts_ecr = (uint32_t)(r >> 19);
                s.opts.n_sack = nsack;
                for (int i = 0; i < nsack; i++)
                    s.opts.sack[i] = (struct tp_sack_block){ (uint32_t)(r >> i),
                        (uint32_t)(r >> (i + 7)) };
                want_sack = nsack;
                if (nsack > 0 && sack_room(&s.opts) < nsack)
                    want_sack = sack_room(&s.opts);

                len = tp_tcphdr_len(&s);
                assert_true(len >= TP_TCPHDR_MIN && len <= TP_TCPHDR_MAX);
                assert_int_equal(len % 4, 0);
                tp_tcphdr_emit(&s, buf);
                memcpy(buf + len, "abc", 3);
                assert_int_equal(tp_load_be16(buf + 16), 0);
                tp_store_be16(buf + 16, tp_tcp_csum(1, 2, buf, len + 3));
                assert_int_equal(tp_tcp_csum(1, 2, buf, len + 3), 0);

                assert_int_equal(tp_tcphdr_parse(buf, len + 3, &h), TP_WIRE_OK);
                assert_int_equal(h.hdr_len, len);
                assert_int_equal(h.src_port, s.src_port);
                assert_int_equal(h.dst_port, s.dst_port);
                assert_int_equal(h.seq, s.seq);
                assert_int_equal(h.ack, s.ack);
                assert_int_equal(h.flags, s.flags);
                assert_int_equal(h.reserved, 0);
                assert_int_equal(h.window, s.window);
                assert_int_equal(h.urg, s.urg);
                assert_int_equal(h.payload_len, 3);
                assert_memory_equal(h.payload, "abc", 3);

                assert_int_equal(tp_tcp_opts_parse(h.opts, h.opts_len, &o), TP_WIRE_OK);
                assert_int_equal(o.has_mss, s.opts.has_mss);
                if (o.has_mss)
                    assert_int_equal(o.mss, s.opts.mss);
                assert_int_equal(o.has_wscale, s.opts.has_wscale);
                if (o.has_wscale)
                    assert_int_equal(o.wscale, s.opts.wscale);
                assert_int_equal(o.sack_permitted, s.opts.sack_permitted);
                assert_int_equal(o.has_ts, s.opts.has_ts);
                if (o.has_ts) {
                    assert_int_equal(o.ts_val, s.opts.ts_val);
                    assert_int_equal(o.ts_ecr, s.opts.ts_ecr);
                }
                assert_int_equal(o.n_sack, want_sack);
                for (int i = 0; i < want_sack; i++) {
                    assert_int_equal(o.sack[i].left, s.opts.sack[i].left);
                    assert_int_equal(o.sack[i].right, s.opts.sack[i].right);
                }
                assert_int_equal(o.n_unknown, 0);
            }
        }
    }
}

static void
timestamps_and_sack_are_aligned(void **state)
{
    /* Every 4-byte field of TS and SACK starts on a 4-byte boundary of the
     * header, for every combination: the BSD layout's point. */
    (void)state;
    for (unsigned mask = 0; mask < 16; mask++) {
        struct tp_tcp_out s = { .flags = TP_TCP_SYN };
        uint8_t buf[TP_TCPHDR_MAX];
        size_t len, i;

        s.opts.has_mss = mask & 1;
        s.opts.has_wscale = (mask >> 1) & 1;
        s.opts.sack_permitted = (mask >> 2) & 1;
        s.opts.has_ts = (mask >> 3) & 1;
        s.opts.n_sack = 1;
        len = tp_tcphdr_len(&s);
        tp_tcphdr_emit(&s, buf);
        for (i = TP_TCPHDR_MIN; i < len;) {
            if (buf[i] == TP_TCPOPT_EOL)
                break;
            if (buf[i] == TP_TCPOPT_NOP) {
                i++;
                continue;
            }
            if (buf[i] == TP_TCPOPT_TS || buf[i] == TP_TCPOPT_SACK)
                assert_int_equal((i + 2) % 4, 0);
            i += buf[i + 1];
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_known_syn),
        cmocka_unit_test(flags_reserved_and_payload),
        cmocka_unit_test(truncated_below_twenty),
        cmocka_unit_test(data_offset_below_five_or_past_end),
        cmocka_unit_test(eol_ends_the_list),
        cmocka_unit_test(nops_and_unknown_kinds_are_skipped),
        cmocka_unit_test(bad_option_lengths),
        cmocka_unit_test(sack_blocks),
        cmocka_unit_test(emit_layouts),
        cmocka_unit_test(emit_drops_sack_blocks_that_do_not_fit),
        cmocka_unit_test(emit_parse_round_trip_every_combination),
        cmocka_unit_test(timestamps_and_sack_are_aligned),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
