/*
 * src/core/ip.c -- IPv4 input and output (RFC 791, RFC 1122 3.2.1).
 *
 * Input validates each packet in order (lengths, version, checksum,
 * addresses, fragments) and hands the good ones to ICMP or TCP; every drop
 * is counted by reason.  Output builds the header in front of the caller's
 * iovecs.  Not implemented: fragment reassembly (fragments are counted and
 * dropped; our own packets carry DF), IP options (skipped), routing beyond
 * one link.
 */
#include <errno.h>

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
        tp_stat_inc(st, TP_STAT_IP_REASM_FAILS);
        return;
    }
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

int
tp_ip_output(struct tapir_stack *st, uint32_t dst, uint8_t proto, uint8_t tos,
    const struct tapir_iov *iov, int iovcnt)
{
    struct tapir_iov v[IP_OUT_MAX_IOV + 1];
    uint8_t hdr[TP_IPV4_HDR_MIN];
    struct tp_ipv4_out o;
    size_t plen = 0;
    int err;

    TP_ASSERT(iovcnt >= 0 && iovcnt <= IP_OUT_MAX_IOV);
    if (iovcnt < 0 || iovcnt > IP_OUT_MAX_IOV)
        return -EINVAL;
    for (int i = 0; i < iovcnt; i++) {
        plen += iov[i].len;
        v[i + 1] = iov[i];
    }
    if (plen + TP_IPV4_HDR_MIN > st->cfg.mtu) {
        tp_stat_inc(st, TP_STAT_IP_OUT_NO_ROUTES);
        return -EMSGSIZE;
    }
    o = (struct tp_ipv4_out){
        .tos = tos,
        .id = st->ip_id++,
        .df = true,
        .ttl = st->cfg.ttl,
        .proto = proto,
        .src = st->cfg.addr,
        .dst = dst,
        .payload_len = (uint16_t)plen,
    };
    tp_ipv4_emit(&o, hdr);
    v[0] = (struct tapir_iov){ hdr, sizeof(hdr) };
    tp_stat_inc(st, TP_STAT_IP_OUT_REQUESTS);
    if ((err = st->link.transmit(st->link.ctx, v, iovcnt + 1)) != 0) {
        tp_stat_inc(st, TP_STAT_IP_OUT_DISCARDS);
        return err;
    }
    return 0;
}
