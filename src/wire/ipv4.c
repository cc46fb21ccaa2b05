/*
 * src/wire/ipv4.c -- IPv4 header parse and emit (RFC 791 3.1).  Called by
 * the core's IP input and output and by ICMP for quoted headers.
 *
 * Options are handed out unread; fragments are described, not reassembled.
 * Every length is checked before the bytes it covers are read.
 */
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/ipv4.h"

#define IP_FLAG_DF 0x4000
#define IP_FLAG_MF 0x2000
#define IP_OFFMASK 0x1fff

/*
 * The checks both parsers share: version, IHL and total length against the
 * header.  On success *hdr_len is the header length in bytes, known to be
 * inside buf.
 */
static enum tp_wire_err
check_header(const uint8_t *buf, size_t len, size_t *hdr_len)
{
    size_t hl;

    if (len < TP_IPV4_HDR_MIN)
        return TP_WIRE_TRUNCATED;
    if (buf[0] >> 4 != 4)
        return TP_WIRE_BAD_VERSION;
    hl = (size_t)(buf[0] & 0x0f) * 4;
    if (hl < TP_IPV4_HDR_MIN)
        return TP_WIRE_BAD_HDR_LEN;
    if (len < hl)
        return TP_WIRE_TRUNCATED;
    if (tp_load_be16(buf + 2) < hl)
        return TP_WIRE_BAD_TOTAL_LEN;
    *hdr_len = hl;
    return TP_WIRE_OK;
}

/* Fill out from a header that check_header() accepted; present is how many
 * bytes of the datagram (header included) buf holds. */
static void
fill(const uint8_t *buf, size_t hl, size_t present, struct tp_ipv4 *out)
{
    uint16_t frag = tp_load_be16(buf + 6);

    out->hdr_len = (uint8_t)hl;
    out->tos = buf[1];
    out->total_len = tp_load_be16(buf + 2);
    out->id = tp_load_be16(buf + 4);
    out->df = (frag & IP_FLAG_DF) != 0;
    out->mf = (frag & IP_FLAG_MF) != 0;
    out->frag_off = (uint16_t)((frag & IP_OFFMASK) * 8u);
    out->ttl = buf[8];
    out->proto = buf[9];
    out->src = tp_load_be32(buf + 12);
    out->dst = tp_load_be32(buf + 16);
    out->opts = buf + TP_IPV4_HDR_MIN;
    out->opts_len = hl - TP_IPV4_HDR_MIN;
    out->payload = buf + hl;
    out->payload_len = present - hl;
}

enum tp_wire_err
tp_ipv4_parse(const uint8_t *buf, size_t len, struct tp_ipv4 *out)
{
    size_t hl;
    enum tp_wire_err e = check_header(buf, len, &hl);

    if (e != TP_WIRE_OK)
        return e;
    /* Bytes past total_len are link padding (RFC 1122 3.3.7 aside). */
    if (len < tp_load_be16(buf + 2))
        return TP_WIRE_TRUNCATED;
    if (tp_csum(buf, hl) != 0)
        return TP_WIRE_BAD_CSUM;
    fill(buf, hl, tp_load_be16(buf + 2), out);
    return TP_WIRE_OK;
}

enum tp_wire_err
tp_ipv4_parse_quoted(const uint8_t *buf, size_t len, struct tp_ipv4 *out)
{
    size_t hl, total;
    enum tp_wire_err e = check_header(buf, len, &hl);

    if (e != TP_WIRE_OK)
        return e;
    total = tp_load_be16(buf + 2);
    fill(buf, hl, total < len ? total : len, out);
    return TP_WIRE_OK;
}

void
tp_ipv4_emit(const struct tp_ipv4_out *o, uint8_t buf[TP_IPV4_HDR_MIN])
{
    buf[0] = 0x45;
    buf[1] = o->tos;
    tp_store_be16(buf + 2, (uint16_t)(TP_IPV4_HDR_MIN + o->payload_len));
    tp_store_be16(buf + 4, o->id);
    tp_store_be16(buf + 6, (uint16_t)((o->df ? IP_FLAG_DF : 0) | (o->mf ? IP_FLAG_MF : 0)
        | ((o->frag_off >> 3) & IP_OFFMASK)));
    buf[8] = o->ttl;
    buf[9] = o->proto;
    tp_store_be16(buf + 10, 0);
    tp_store_be32(buf + 12, o->src);
    tp_store_be32(buf + 16, o->dst);
    tp_store_be16(buf + 10, tp_csum(buf, TP_IPV4_HDR_MIN));
}
