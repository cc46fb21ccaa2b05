/*
 * src/wire/icmp.c -- ICMPv4 messages, parse and emit (RFC 792; next-hop MTU
 * of RFC 1191 4).  Called by the core's ICMP module.
 *
 * Only the fixed 8-byte header is interpreted; the body is borrowed.  The
 * datagram an error quotes is parsed on demand by tp_icmp_quoted().
 */
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/icmp.h"

/* RFC 792: an error quotes the header plus the first 64 bits of data. */
#define ICMP_QUOTE_DATA 8

enum tp_wire_err
tp_icmp_parse(const uint8_t *buf, size_t len, struct tp_icmp *out)
{
    if (len < TP_ICMP_HDR_LEN)
        return TP_WIRE_TRUNCATED;
    if (tp_csum(buf, len) != 0)
        return TP_WIRE_BAD_CSUM;
    out->type = buf[0];
    out->code = buf[1];
    out->id = 0;
    out->seq = 0;
    out->next_mtu = 0;
    out->pointer = 0;
    switch (buf[0]) {
    case TP_ICMP_ECHO:
    case TP_ICMP_ECHO_REPLY:
        out->id = tp_load_be16(buf + 4);
        out->seq = tp_load_be16(buf + 6);
        break;
    case TP_ICMP_DEST_UNREACH:
        if (buf[1] == TP_ICMP_UNREACH_NEEDFRAG)
            out->next_mtu = tp_load_be16(buf + 6);
        break;
    case TP_ICMP_PARAM_PROBLEM:
        out->pointer = buf[4];
        break;
    default:
        break;
    }
    out->body = buf + TP_ICMP_HDR_LEN;
    out->body_len = len - TP_ICMP_HDR_LEN;
    return TP_WIRE_OK;
}

bool
tp_icmp_is_error(uint8_t type)
{
    switch (type) {
    case TP_ICMP_DEST_UNREACH:
    case TP_ICMP_SOURCE_QUENCH:
    case TP_ICMP_REDIRECT:
    case TP_ICMP_TIME_EXCEEDED:
    case TP_ICMP_PARAM_PROBLEM:
        return true;
    default:
        return false;
    }
}

enum tp_wire_err
tp_icmp_quoted(const struct tp_icmp *m, struct tp_ipv4 *ip, const uint8_t **l4,
    size_t *l4_len)
{
    size_t want;
    enum tp_wire_err e = tp_ipv4_parse_quoted(m->body, m->body_len, ip);

    if (e != TP_WIRE_OK)
        return e;
    /* A datagram shorter than 8 data bytes is quoted whole. */
    want = (size_t)ip->total_len - ip->hdr_len;
    if (want > ICMP_QUOTE_DATA)
        want = ICMP_QUOTE_DATA;
    if (ip->payload_len < want)
        return TP_WIRE_TRUNCATED;
    *l4 = ip->payload;
    *l4_len = ip->payload_len;
    return TP_WIRE_OK;
}

void
tp_icmp_emit(const struct tp_icmp *m, uint8_t hdr[TP_ICMP_HDR_LEN])
{
    struct tp_csum c;

    hdr[0] = m->type;
    hdr[1] = m->code;
    tp_store_be16(hdr + 2, 0);
    tp_store_be32(hdr + 4, 0);
    switch (m->type) {
    case TP_ICMP_ECHO:
    case TP_ICMP_ECHO_REPLY:
        tp_store_be16(hdr + 4, m->id);
        tp_store_be16(hdr + 6, m->seq);
        break;
    case TP_ICMP_DEST_UNREACH:
        if (m->code == TP_ICMP_UNREACH_NEEDFRAG)
            tp_store_be16(hdr + 6, m->next_mtu);
        break;
    case TP_ICMP_PARAM_PROBLEM:
        hdr[4] = m->pointer;
        break;
    default:
        break;
    }
    tp_csum_init(&c);
    tp_csum_add(&c, hdr, TP_ICMP_HDR_LEN);
    if (m->body_len > 0)
        tp_csum_add(&c, m->body, m->body_len);
    tp_store_be16(hdr + 2, tp_csum_finish(&c));
}
