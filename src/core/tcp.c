/*
 * src/core/tcp.c -- TCP for a stack with no sockets yet: every segment is to
 * a closed port and is answered as RFC 9293 3.10.7.1 says.  The full module
 * (tcp_input.c, tcp_output.c, ...) replaces this file.
 */
#include <stdlib.h>

#include "core/stack_int.h"
#include "wire/tcphdr.h"
#include "wire/bytes.h"

int
tp_tcp_init(struct tapir_stack *st)
{
    (void)st;
    return 0;
}

void
tp_tcp_fini(struct tapir_stack *st)
{
    (void)st;
}

void
tp_tcp_input(struct tapir_stack *st, const struct tp_ipv4 *ip, struct tapir_time now)
{
    struct tp_tcphdr h;
    struct tp_tcp_out o = { 0 };
    uint8_t buf[TP_TCPHDR_MAX];
    struct tapir_iov iov;
    size_t seg_len, hlen;

    (void)now;
    tp_stat_inc(st, TP_STAT_TCP_IN_SEGS);
    if (tp_tcphdr_parse(ip->payload, ip->payload_len, &h) != TP_WIRE_OK) {
        tp_stat_inc(st, TP_STAT_TCP_IN_ERRS);
        return;
    }
    if (tp_tcp_csum(ip->src, ip->dst, ip->payload, ip->payload_len) != 0) {
        tp_stat_inc(st, TP_STAT_TCP_IN_ERRS);
        tp_stat_inc(st, TP_STAT_TCP_IN_CSUM_ERRORS);
        return;
    }
    if (h.flags & TP_TCP_RST)
        return;
    o.src_port = h.dst_port;
    o.dst_port = h.src_port;
    if (h.flags & TP_TCP_ACK) {
        o.seq = h.ack;
        o.flags = TP_TCP_RST;
    } else {
        seg_len = h.payload_len + !!(h.flags & TP_TCP_SYN) + !!(h.flags & TP_TCP_FIN);
        o.ack = h.seq + (uint32_t)seg_len;
        o.flags = TP_TCP_RST | TP_TCP_ACK;
    }
    hlen = tp_tcphdr_len(&o);
    tp_tcphdr_emit(&o, buf);
    tp_store_be16(buf + 16, tp_tcp_csum(st->cfg.addr, ip->src, buf, hlen));
    iov = (struct tapir_iov){ buf, hlen };
    if (tp_ip_output(st, ip->src, TP_IP_PROTO_TCP, 0, &iov, 1) == 0) {
        tp_stat_inc(st, TP_STAT_TCP_OUT_SEGS);
        tp_stat_inc(st, TP_STAT_TCP_OUT_RSTS);
    }
}

void
tp_tcp_icmp_error(struct tapir_stack *st, const struct tp_icmp *m, const struct tp_ipv4 *qip,
    const uint8_t *l4, size_t l4_len, struct tapir_time now)
{
    (void)st, (void)m, (void)qip, (void)l4, (void)l4_len, (void)now;
}

struct tapir_time
tp_tcp_poll(struct tapir_stack *st, struct tapir_time now)
{
    (void)st, (void)now;
    return TAPIR_TIME_NEVER;
}

const char *
tapir_tcp_state_name(enum tapir_tcp_state s)
{
    static const char *const names[TAPIR_TCP_NSTATES] = {
        [TAPIR_TCP_CLOSED] = "CLOSED",
        [TAPIR_TCP_LISTEN] = "LISTEN",
        [TAPIR_TCP_SYN_SENT] = "SYN-SENT",
        [TAPIR_TCP_SYN_RECEIVED] = "SYN-RECEIVED",
        [TAPIR_TCP_ESTABLISHED] = "ESTABLISHED",
        [TAPIR_TCP_FIN_WAIT_1] = "FIN-WAIT-1",
        [TAPIR_TCP_FIN_WAIT_2] = "FIN-WAIT-2",
        [TAPIR_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
        [TAPIR_TCP_CLOSING] = "CLOSING",
        [TAPIR_TCP_LAST_ACK] = "LAST-ACK",
        [TAPIR_TCP_TIME_WAIT] = "TIME-WAIT",
    };

    return (unsigned)s < TAPIR_TCP_NSTATES ? names[s] : "?";
}
