/*
 * tests/fuzz/fuzz_ipv4.c -- IPv4 parse (plain and quoted) and the Internet
 * checksum on arbitrary bytes.
 *
 * Invariants: a parse that succeeds describes slices inside the input, a
 * verified header checksum and a total length that fits; re-emitting the
 * parsed fields gives back the same header; the checksum of the input in
 * two pieces split anywhere equals the one-shot sum; an RFC 1624 update
 * equals recomputation.
 */
#include <string.h>

#include "fuzz_check.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

static void
check_parsed(const uint8_t *data, size_t size, const struct tp_ipv4 *ip, int quoted)
{
    FUZZ_CHECK(ip->hdr_len >= TP_IPV4_HDR_MIN && ip->hdr_len <= TP_IPV4_HDR_MAX);
    FUZZ_CHECK(ip->hdr_len % 4 == 0);
    FUZZ_CHECK(ip->hdr_len <= size);
    FUZZ_CHECK(ip->total_len >= ip->hdr_len);
    FUZZ_CHECK(ip->opts == data + TP_IPV4_HDR_MIN);
    FUZZ_CHECK(ip->opts_len == (size_t)ip->hdr_len - TP_IPV4_HDR_MIN);
    FUZZ_CHECK(ip->payload == data + ip->hdr_len);
    FUZZ_CHECK(fuzz_inside(data, size, ip->payload, ip->payload_len));
    if (!quoted) {
        FUZZ_CHECK(ip->total_len <= size);
        FUZZ_CHECK(ip->payload_len == (size_t)ip->total_len - ip->hdr_len);
        FUZZ_CHECK(tp_csum(data, ip->hdr_len) == 0);
    } else {
        FUZZ_CHECK(ip->payload_len <= (size_t)ip->total_len - ip->hdr_len);
    }
}

/* A header without options or fragment bits is what emit writes: it must
 * come back byte for byte (the checksum may be the other zero). */
static void
check_reemit(const uint8_t *data, const struct tp_ipv4 *ip)
{
    struct tp_ipv4_out o = {
        .tos = ip->tos, .id = ip->id, .df = ip->df, .ttl = ip->ttl, .proto = ip->proto,
        .src = ip->src, .dst = ip->dst,
        .payload_len = (uint16_t)(ip->total_len - TP_IPV4_HDR_MIN),
    };
    uint8_t b[TP_IPV4_HDR_MIN];

    if (ip->hdr_len != TP_IPV4_HDR_MIN || (tp_load_be16(data + 6) & ~0x4000) != 0)
        return;
    tp_ipv4_emit(&o, b);
    FUZZ_CHECK(memcmp(b, data, 10) == 0);
    FUZZ_CHECK(memcmp(b + 12, data + 12, 8) == 0);
    FUZZ_CHECK(tp_csum(b, sizeof(b)) == 0);
}

static void
check_csum(const uint8_t *data, size_t size)
{
    uint16_t whole = tp_csum(data, size);
    struct tp_csum c;
    size_t cut;

    if (size == 0)
        return;
    cut = data[0] % (size + 1);
    tp_csum_init(&c);
    tp_csum_add(&c, data, cut);
    tp_csum_add(&c, data + cut, size - cut);
    FUZZ_CHECK(tp_csum_finish(&c) == whole);
    /* Replace the 16-bit word at an even offset and update incrementally. */
    if (size >= 4 && size <= 4096) {
        uint8_t buf[4096];
        size_t at = (size_t)(data[1] % (size / 2)) * 2;
        uint16_t old = tp_load_be16(data + at), nv = (uint16_t)(old * 31 + 7);
        uint16_t upd, full;

        memcpy(buf, data, size);
        tp_store_be16(buf + at, nv);
        upd = tp_csum_update16(whole, old, nv);
        full = tp_csum(buf, size);
        /* The one ambiguity: all-zero data, where 0x0000 and 0xffff agree. */
        FUZZ_CHECK(upd == full || (full == 0xffff && upd == 0));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tp_ipv4 ip;

    if (tp_ipv4_parse(data, size, &ip) == TP_WIRE_OK) {
        check_parsed(data, size, &ip, 0);
        check_reemit(data, &ip);
    }
    if (tp_ipv4_parse_quoted(data, size, &ip) == TP_WIRE_OK)
        check_parsed(data, size, &ip, 1);
    check_csum(data, size);
    return 0;
}
