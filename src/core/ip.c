/*
 * src/core/ip.c -- IPv4 input and output (RFC 791, RFC 1122 3.2.1).
 *
 * Input validates each packet in order (lengths, version, checksum,
 * addresses, fragments) and hands the good ones to ICMP or TCP; every drop
 * is counted by reason; fragments go to ip_reass.c.  Output builds the
 * header in front of the caller's iovecs; a datagram larger than the MTU
 * (only ICMP makes them: TCP segments fit the MSS) leaves in fragments cut
 * from those iovecs without copying (RFC 791 3.2).  Not implemented: IP
 * options (skipped), routing beyond one link.
 */
#include <errno.h>
#include <string.h>

#include "core/stack_int.h"

static const enum tp_stat wire_err_stat[TP_WIRE_NERR] = {
    [TP_WIRE_OK] = TP_STAT_IP_IN_HDR_ERRORS,            /* not used */
    [TP_WIRE_TRUNCATED] = TP_STAT_IP_IN_TRUNCATED,
    [TP_WIRE_BAD_VERSION] = TP_STAT_IP_IN_BAD_VERSION,
    [TP_WIRE_BAD_HDR_LEN] = TP_STAT_IP_IN_BAD_HDR_LEN,
    [TP_WIRE_BAD_TOTAL_LEN] = TP_STAT_IP_IN_BAD_TOTAL_LEN,
    [TP_WIRE_BAD_CSUM] = TP_STAT_IP_IN_CSUM_ERRORS,
    [TP_WIRE_BAD_OPTION] = TP_STAT_IP_IN_HDR_ERRORS,
};

static bool
is_broadcast_or_multicast(const struct tapir_stack *st, uint32_t a)
{
    uint32_t host_mask = st->cfg.prefix_len >= 32 ? 0 : 0xffffffffu >> st->cfg.prefix_len;

    if (a == 0xffffffffu || (a >> 28) == 0xe)          /* limited broadcast, 224/4 */
        return true;
    return st->cfg.prefix_len <= 30 && (a & host_mask) == host_mask
        && ((a ^ st->cfg.addr) & ~host_mask) == 0;     /* our directed broadcast */
}

bool
tp_ip_is_local_net(const struct tapir_stack *st, uint32_t addr)
{
    uint32_t net_mask = st->cfg.prefix_len == 0 ? 0 : 0xffffffffu << (32 - st->cfg.prefix_len);

    return ((addr ^ st->cfg.addr) & net_mask) == 0 && !is_broadcast_or_multicast(st, addr);
}

/* RFC 1122 3.2.1.3: a source must be a unicast address other than ours. */
static bool
src_is_valid(const struct tapir_stack *st, uint32_t src)
{
    return src != 0 && src != st->cfg.addr && (src >> 24) != 127
        && !is_broadcast_or_multicast(st, src);
}

void
tp_ip_input(struct tapir_stack *st, const uint8_t *pkt, size_t len, struct tapir_time now)
{
    struct tp_ipv4 ip;
    enum tp_wire_err err;

    tp_stat_inc(st, TP_STAT_IP_IN_RECEIVES);
    if ((err = tp_ipv4_parse(pkt, len, &ip)) != TP_WIRE_OK) {
        tp_stat_inc(st, TP_STAT_IP_IN_HDR_ERRORS);
        tp_stat_inc(st, wire_err_stat[err]);
        tp_log(st, TAPIR_LOG_DEBUG, "ip: drop %zu bytes: %s", len, tp_wire_err_str(err));
        return;
    }
    if (ip.dst != st->cfg.addr) {
        tp_stat_inc(st, TP_STAT_IP_IN_ADDR_ERRORS);
        return;
    }
    if (!src_is_valid(st, ip.src)) {
        tp_stat_inc(st, TP_STAT_IP_IN_BAD_SRC);
        return;
    }
    if (ip.mf || ip.frag_off != 0) {
        tp_ip_reass_input(st, &ip, now);
        return;
    }
    tp_ip_deliver(st, &ip, now);
}

void
tp_ip_deliver(struct tapir_stack *st, const struct tp_ipv4 *ipp, struct tapir_time now)
{
    struct tp_ipv4 ip = *ipp;

    switch (ip.proto) {
    case TP_IP_PROTO_ICMP:
        tp_stat_inc(st, TP_STAT_IP_IN_DELIVERS);
        tp_icmp_input(st, &ip, now);
        break;
    case TP_IP_PROTO_TCP:
        tp_stat_inc(st, TP_STAT_IP_IN_DELIVERS);
        tp_tcp_input(st, &ip, now);
        break;
    case TP_IP_PROTO_UDP:
        /* RFC 1122 4.1.3.1: no UDP listener here, so the port is unreachable. */
        tp_stat_inc(st, TP_STAT_IP_IN_UNKNOWN_PROTOS);
        tp_icmp_send_error(st, &ip, TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PORT, now);
        break;
    default:
        tp_stat_inc(st, TP_STAT_IP_IN_UNKNOWN_PROTOS);
        tp_icmp_send_error(st, &ip, TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PROTO, now);
        break;
    }
}

#define IP_OUT_MAX_IOV 8

/* The bytes [off, off + n) of iov[0..iovcnt) as iovecs in out (at most
 * iovcnt of them); returns their count. */
static int
slice_iov(const struct tapir_iov *iov, int iovcnt, size_t off, size_t n, struct tapir_iov *out)
{
    int k = 0;

    for (int i = 0; i < iovcnt && n > 0; i++) {
        size_t take;

        if (off >= iov[i].len) {
            off -= iov[i].len;
            continue;
        }
        take = iov[i].len - off < n ? iov[i].len - off : n;
        out[k++] = (struct tapir_iov){ (const uint8_t *)iov[i].base + off, take };
        n -= take;
        off = 0;
    }
    return k;
}

static int
transmit(struct tapir_stack *st, const struct tp_ipv4_out *o, const struct tapir_iov *iov,
    int iovcnt)
{
    struct tapir_iov v[IP_OUT_MAX_IOV + 1];
    uint8_t hdr[TP_IPV4_HDR_MIN];
    int err;

    tp_ipv4_emit(o, hdr);
    v[0] = (struct tapir_iov){ hdr, sizeof(hdr) };
    memcpy(&v[1], iov, (size_t)iovcnt * sizeof(v[0]));
    if ((err = st->link.transmit(st->link.ctx, v, iovcnt + 1)) != 0) {
        tp_stat_inc(st, TP_STAT_IP_OUT_DISCARDS);
        return err;
    }
    return 0;
}

/* RFC 791 3.2: every fragment but the last carries a multiple of 8 bytes
 * and MF; all share the identification. */
static int
output_fragments(struct tapir_stack *st, struct tp_ipv4_out *o, const struct tapir_iov *iov,
    int iovcnt, size_t plen)
{
    size_t step = ((size_t)st->cfg.mtu - TP_IPV4_HDR_MIN) & ~(size_t)7;
    struct tapir_iov part[IP_OUT_MAX_IOV];
    int err = 0;

    o->df = false;
    for (size_t off = 0; off < plen && err == 0; off += step) {
        size_t n = plen - off < step ? plen - off : step;

        o->frag_off = (uint16_t)off;
        o->mf = off + n < plen;
        o->payload_len = (uint16_t)n;
        if ((err = transmit(st, o, part, slice_iov(iov, iovcnt, off, n, part))) == 0)
            tp_stat_inc(st, TP_STAT_IP_FRAG_CREATES);
    }
    if (err == 0)
        tp_stat_inc(st, TP_STAT_IP_FRAG_OKS);
    return err;
}

int
tp_ip_output(struct tapir_stack *st, uint32_t dst, uint8_t proto, uint8_t tos,
    uint8_t ttl, const struct tapir_iov *iov, int iovcnt)
{
    struct tp_ipv4_out o;
    size_t plen = 0;

    TP_ASSERT(iovcnt >= 0 && iovcnt <= IP_OUT_MAX_IOV);
    if (iovcnt < 0 || iovcnt > IP_OUT_MAX_IOV)
        return -EINVAL;
    for (int i = 0; i < iovcnt; i++)
        plen += iov[i].len;
    if (plen > 65535 - TP_IPV4_HDR_MIN
        || (plen + TP_IPV4_HDR_MIN > st->cfg.mtu && (proto == TP_IP_PROTO_TCP
        || st->cfg.mtu < TP_IPV4_HDR_MIN + 8))) {
        tp_stat_inc(st, TP_STAT_IP_OUT_NO_ROUTES);
        return -EMSGSIZE;
    }
    o = (struct tp_ipv4_out){
        .tos = tos,
        .id = st->ip_id++,
        .df = true,
        .ttl = ttl != 0 ? ttl : st->cfg.ttl,
        .proto = proto,
        .src = st->cfg.addr,
        .dst = dst,
        .payload_len = (uint16_t)plen,
    };
    tp_stat_inc(st, TP_STAT_IP_OUT_REQUESTS);
    if (plen + TP_IPV4_HDR_MIN > st->cfg.mtu)
        return output_fragments(st, &o, iov, iovcnt, plen);
    return transmit(st, &o, iov, iovcnt);
}
