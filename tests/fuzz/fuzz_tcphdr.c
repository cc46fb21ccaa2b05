/*
 * tests/fuzz/fuzz_tcphdr.c -- TCP header and option parse, emit and the
 * checksum on arbitrary bytes.
 *
 * Invariants: a parsed header's options and payload lie inside the input;
 * options that parse can be emitted, and the emitted header parses back to
 * the same fields and options (SACK blocks that do not fit aside) with a
 * length that is a multiple of 4 and at most 60; a segment whose checksum
 * field is set to tp_tcp_csum() then verifies.
 */
#include <string.h>

#include "fuzz_check.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/tcphdr.h"

static void
check_round_trip(const struct tp_tcphdr *h, const struct tp_tcp_opts *o)
{
    struct tp_tcp_out s = {
        .src_port = h->src_port, .dst_port = h->dst_port, .seq = h->seq, .ack = h->ack,
        .flags = h->flags, .window = h->window, .urg = h->urg, .opts = *o,
    };
    uint8_t buf[TP_TCPHDR_MAX];
    struct tp_tcphdr h2;
    struct tp_tcp_opts o2;
    size_t len = tp_tcphdr_len(&s);

    FUZZ_CHECK(len >= TP_TCPHDR_MIN && len <= TP_TCPHDR_MAX && len % 4 == 0);
    tp_tcphdr_emit(&s, buf);
    FUZZ_CHECK(tp_tcphdr_parse(buf, len, &h2) == TP_WIRE_OK);
    FUZZ_CHECK(h2.hdr_len == len && h2.payload_len == 0);
    FUZZ_CHECK(h2.src_port == h->src_port && h2.dst_port == h->dst_port);
    FUZZ_CHECK(h2.seq == h->seq && h2.ack == h->ack && h2.flags == h->flags);
    FUZZ_CHECK(h2.window == h->window && h2.urg == h->urg && h2.reserved == 0);
    FUZZ_CHECK(tp_tcp_opts_parse(h2.opts, h2.opts_len, &o2) == TP_WIRE_OK);
    FUZZ_CHECK(o2.has_mss == o->has_mss && (!o->has_mss || o2.mss == o->mss));
    FUZZ_CHECK(o2.has_wscale == o->has_wscale && (!o->has_wscale || o2.wscale == o->wscale));
    FUZZ_CHECK(o2.sack_permitted == o->sack_permitted);
    FUZZ_CHECK(o2.has_ts == o->has_ts);
    FUZZ_CHECK(!o->has_ts || (o2.ts_val == o->ts_val && o2.ts_ecr == o->ts_ecr));
    FUZZ_CHECK(o2.n_sack <= o->n_sack && o2.n_unknown == 0);
    /* Blocks are dropped only when they do not fit. */
    FUZZ_CHECK(o2.n_sack == o->n_sack || len + 8 > TP_TCPHDR_MAX);
    for (int i = 0; i < o2.n_sack; i++)
        FUZZ_CHECK(o2.sack[i].left == o->sack[i].left && o2.sack[i].right == o->sack[i].right);
}

static void
check_csum(const uint8_t *data, size_t size)
{
    uint8_t buf[4096];
    uint32_t src, dst;

    if (size < TP_TCPHDR_MIN || size > sizeof(buf))
        return;
    src = tp_load_be32(data + 4);
    dst = tp_load_be32(data + 8);
    memcpy(buf, data, size);
    tp_store_be16(buf + 16, 0);
    tp_store_be16(buf + 16, tp_tcp_csum(src, dst, buf, size));
    FUZZ_CHECK(tp_tcp_csum(src, dst, buf, size) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tp_tcphdr h;
    struct tp_tcp_opts o;

    if (tp_tcphdr_parse(data, size, &h) == TP_WIRE_OK) {
        FUZZ_CHECK(h.hdr_len >= TP_TCPHDR_MIN && h.hdr_len <= TP_TCPHDR_MAX);
        FUZZ_CHECK(h.hdr_len % 4 == 0 && h.hdr_len <= size);
        FUZZ_CHECK(h.opts == data + TP_TCPHDR_MIN);
        FUZZ_CHECK(h.opts_len == (size_t)h.hdr_len - TP_TCPHDR_MIN);
        FUZZ_CHECK(h.payload == data + h.hdr_len && h.payload_len == size - h.hdr_len);
        FUZZ_CHECK(h.reserved <= 0x0f);
        if (tp_tcp_opts_parse(h.opts, h.opts_len, &o) == TP_WIRE_OK) {
            FUZZ_CHECK(o.n_sack <= TP_TCP_MAX_SACK);
            check_round_trip(&h, &o);
        }
    }
    /* The option parser over the whole input, longer than any header. */
    if (tp_tcp_opts_parse(data, size, &o) == TP_WIRE_OK)
        FUZZ_CHECK(o.n_sack <= TP_TCP_MAX_SACK);
    check_csum(data, size);
    return 0;
}
