/*
 * src/core/icmp.c -- ICMPv4 (RFC 792, RFC 1122 3.2.2).
 *
 * Answers echo requests, passes errors that quote a TCP segment to the TCP
 * module, and sends errors about datagrams we cannot deliver.  Replies and
 * errors share one rate limit (RFC 1812 4.3.2.8 style token bucket).
 */
#include <string.h>

#include "core/stack_int.h"
#include "wire/tcphdr.h"

static void
echo_reply(struct tapir_stack *st, const struct tp_ipv4 *ip, const struct tp_icmp *req,
    struct tapir_time now)
{
    struct tp_icmp rep = *req;
    uint8_t hdr[TP_ICMP_HDR_LEN];
    struct tapir_iov iov[2];

    /* RFC 1122 3.2.2.6: a request to a broadcast address may be ignored; our
     * input already accepts only unicast to us. */
    if (!tp_ratelimit_take(&st->icmp_rl, now)) {
        tp_stat_inc(st, TP_STAT_ICMP_OUT_RATELIMITED);
        return;
    }
    rep.type = TP_ICMP_ECHO_REPLY;
    rep.code = 0;
    tp_icmp_emit(&rep, hdr);
    iov[0] = (struct tapir_iov){ hdr, sizeof(hdr) };
    iov[1] = (struct tapir_iov){ rep.body, rep.body_len };
    if (tp_ip_output(st, ip->src, TP_IP_PROTO_ICMP, ip->tos, 0, iov, 2) == 0) {
        tp_stat_inc(st, TP_STAT_ICMP_OUT_MSGS);
        tp_stat_inc(st, TP_STAT_ICMP_OUT_ECHO_REPS);
    }
}

static void
error_input(struct tapir_stack *st, const struct tp_icmp *m, struct tapir_time now)
{
    struct tp_ipv4 qip;
    const uint8_t *l4;
    size_t l4_len;

    if (tp_icmp_quoted(m, &qip, &l4, &l4_len) != TP_WIRE_OK) {
        tp_stat_inc(st, TP_STAT_ICMP_IN_ERRORS);
        return;
    }
    /* RFC 5927 4.1: the quoted datagram must be one we could have sent. */
    if (qip.src != st->cfg.addr) {
        tp_stat_inc(st, TP_STAT_ICMP_IN_ERRORS);
        return;
    }
    if (qip.proto == TP_IP_PROTO_TCP)
        tp_tcp_icmp_error(st, m, &qip, l4, l4_len, now);
}

void
tp_icmp_input(struct tapir_stack *st, const struct tp_ipv4 *ip, struct tapir_time now)
{
    struct tp_icmp m;
    enum tp_wire_err err;

    tp_stat_inc(st, TP_STAT_ICMP_IN_MSGS);
    if ((err = tp_icmp_parse(ip->payload, ip->payload_len, &m)) != TP_WIRE_OK) {
        tp_stat_inc(st, TP_STAT_ICMP_IN_ERRORS);
        if (err == TP_WIRE_BAD_CSUM)
            tp_stat_inc(st, TP_STAT_ICMP_IN_CSUM_ERRORS);
        return;
    }
    switch (m.type) {
    case TP_ICMP_ECHO:
        tp_stat_inc(st, TP_STAT_ICMP_IN_ECHOS);
        if (m.code == 0)
            echo_reply(st, ip, &m, now);
        break;
    case TP_ICMP_DEST_UNREACH:
        tp_stat_inc(st, TP_STAT_ICMP_IN_DEST_UNREACHS);
        error_input(st, &m, now);
        break;
    case TP_ICMP_TIME_EXCEEDED:
        tp_stat_inc(st, TP_STAT_ICMP_IN_TIME_EXCDS);
        error_input(st, &m, now);
        break;
    case TP_ICMP_PARAM_PROBLEM:
    case TP_ICMP_SOURCE_QUENCH:
        error_input(st, &m, now);
        break;
    default:
        tp_stat_inc(st, TP_STAT_ICMP_IN_OTHER);
        break;
    }
}

void
tp_icmp_send_error(struct tapir_stack *st, const struct tp_ipv4 *ip, uint8_t type,
    uint8_t code, struct tapir_time now)
{
    uint8_t quoted[TP_IPV4_HDR_MAX + 8];
    uint8_t hdr[TP_ICMP_HDR_LEN];
    struct tp_icmp m = { .type = type, .code = code };
    struct tapir_iov iov[2];
    size_t qlen;

    /* RFC 1122 3.2.2: never about an ICMP error, a fragment past the first,
     * or a datagram whose source is not a single host. */
    if (ip->frag_off != 0)
        return;
    if (ip->proto == TP_IP_PROTO_ICMP
        && (ip->payload_len < 1 || tp_icmp_is_error(ip->payload[0])))
        return;
    if (!tp_ratelimit_take(&st->icmp_rl, now)) {
        tp_stat_inc(st, TP_STAT_ICMP_OUT_RATELIMITED);
        return;
    }
    /* The header and payload are contiguous in the received packet. */
    qlen = ip->hdr_len + (ip->payload_len < 8 ? ip->payload_len : 8);
    memcpy(quoted, ip->payload - ip->hdr_len, qlen);
    m.body = quoted;
    m.body_len = qlen;
    tp_icmp_emit(&m, hdr);
    iov[0] = (struct tapir_iov){ hdr, sizeof(hdr) };
    iov[1] = (struct tapir_iov){ quoted, qlen };
    if (tp_ip_output(st, ip->src, TP_IP_PROTO_ICMP, 0, 0, iov, 2) == 0) {
        tp_stat_inc(st, TP_STAT_ICMP_OUT_MSGS);
        if (type == TP_ICMP_DEST_UNREACH)
            tp_stat_inc(st, TP_STAT_ICMP_OUT_DEST_UNREACHS);
    }
}
