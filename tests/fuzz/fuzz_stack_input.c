/*
 * tests/fuzz/fuzz_stack_input.c -- a whole stack fed a sequence of packets
 * on a virtual clock.
 *
 * Input format, repeated until the bytes run out:
 *   flags (1 byte): bit 0 set: fix the IPv4 header checksum and the ICMP or
 *                   TCP checksum before input, so mutations get past them;
 *                   bits 1-7: advance the clock by (flags >> 1)^2 ms first
 *   length (2 bytes, big-endian), then that many packet bytes (fewer if the
 *   input ends).
 * After each packet the stack is polled at the current time, and once more
 * at its next deadline if that is within a minute.  Everything the stack
 * sends is checked: a valid IPv4 header from our address within the MTU, and
 * a well-formed ICMP message or TCP segment with a checksum that verifies.
 */
#include <string.h>

#include "fuzz_check.h"
#include "tapir/tapir.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcphdr.h"

#define US_ADDR 0x0a000002u                         /* 10.0.0.2 */
#define PKT_MAX 65535

struct sink {
    uint8_t buf[PKT_MAX];
    uint16_t mtu;
    unsigned n_sent;
};

static void
check_l4(const struct tp_ipv4 *ip)
{
    if (ip->proto == TP_IP_PROTO_ICMP) {
        struct tp_icmp m;

        FUZZ_CHECK(tp_icmp_parse(ip->payload, ip->payload_len, &m) == TP_WIRE_OK);
        /* RFC 1122 3.2.2: we send echo replies and errors, never an error
         * about an ICMP error. */
        FUZZ_CHECK(m.type == TP_ICMP_ECHO_REPLY || tp_icmp_is_error(m.type));
        if (tp_icmp_is_error(m.type)) {
            struct tp_ipv4 q;
            const uint8_t *l4;
            size_t l4_len;

            FUZZ_CHECK(tp_icmp_quoted(&m, &q, &l4, &l4_len) == TP_WIRE_OK);
            FUZZ_CHECK(q.dst == US_ADDR && q.src == ip->dst);
            FUZZ_CHECK(q.proto != TP_IP_PROTO_ICMP || l4_len < 1 || !tp_icmp_is_error(l4[0]));
        }
    } else if (ip->proto == TP_IP_PROTO_TCP) {
        struct tp_tcphdr h;
        struct tp_tcp_opts o;

        FUZZ_CHECK(tp_tcphdr_parse(ip->payload, ip->payload_len, &h) == TP_WIRE_OK);
        FUZZ_CHECK(tp_tcp_csum(ip->src, ip->dst, ip->payload, ip->payload_len) == 0);
        FUZZ_CHECK(tp_tcp_opts_parse(h.opts, h.opts_len, &o) == TP_WIRE_OK);
        FUZZ_CHECK(h.reserved == 0);
    } else {
        FUZZ_CHECK(!"the stack sent a protocol it does not speak");
    }
}

static int
transmit(void *ctx, const struct tapir_iov *iov, int iovcnt)
{
    struct sink *s = ctx;
    struct tp_ipv4 ip;
    size_t len = 0;

    FUZZ_CHECK(iovcnt >= 1);
    for (int i = 0; i < iovcnt; i++) {
        FUZZ_CHECK(iov[i].len <= PKT_MAX - len);
        if (iov[i].len > 0)
            memcpy(s->buf + len, iov[i].base, iov[i].len);
        len += iov[i].len;
    }
    FUZZ_CHECK(len <= s->mtu);
    FUZZ_CHECK(tp_ipv4_parse(s->buf, len, &ip) == TP_WIRE_OK);
    FUZZ_CHECK(ip.total_len == len);
    FUZZ_CHECK(ip.src == US_ADDR);
    FUZZ_CHECK(ip.dst != US_ADDR && ip.dst != 0 && ip.dst != 0xffffffffu);
    FUZZ_CHECK(!ip.mf && ip.frag_off == 0 && ip.ttl > 0);
    check_l4(&ip);
    s->n_sent++;
    return 0;
}

/* Make the checksums right, as far as the lengths allow. */
static void
fix_checksums(uint8_t *p, size_t len)
{
    size_t hl, total;

    if (len < TP_IPV4_HDR_MIN || p[0] >> 4 != 4)
        return;
    hl = (size_t)(p[0] & 0x0f) * 4;
    total = tp_load_be16(p + 2);
    if (hl < TP_IPV4_HDR_MIN || hl > len)
        return;
    tp_store_be16(p + 10, 0);
    tp_store_be16(p + 10, tp_csum(p, hl));
    if (total < hl || total > len)
        return;
    if (p[9] == TP_IP_PROTO_TCP && total - hl >= TP_TCPHDR_MIN) {
        uint8_t *seg = p + hl;

        tp_store_be16(seg + 16, 0);
        tp_store_be16(seg + 16, tp_tcp_csum(tp_load_be32(p + 12), tp_load_be32(p + 16), seg,
            total - hl));
    } else if (p[9] == TP_IP_PROTO_ICMP && total - hl >= TP_ICMP_HDR_LEN) {
        tp_store_be16(p + hl + 2, 0);
        tp_store_be16(p + hl + 2, tp_csum(p + hl, total - hl));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sink sink;                        /* large: keep it off the stack */
    static uint8_t pkt[PKT_MAX];
    struct tapir_config cfg;
    struct tapir_link link = { transmit, &sink };
    struct tapir_stack *st;
    struct tapir_time now = { 1000000 };

    tapir_config_default(&cfg);
    cfg.addr = US_ADDR;
    cfg.seed = 42;
    sink.mtu = cfg.mtu;
    sink.n_sent = 0;
    FUZZ_CHECK(tapir_stack_new(&cfg, &link, &st) == 0);
    while (size >= 3) {
        uint8_t flags = data[0];
        size_t len = tp_load_be16(data + 1);
        struct tapir_time next;

        data += 3;
        size -= 3;
        if (len > size)
            len = size;
        memcpy(pkt, data, len);
        data += len;
        size -= len;
        if (flags & 1)
            fix_checksums(pkt, len);
        now.us += (int64_t)(flags >> 1) * (flags >> 1) * 1000;
        tapir_stack_input(st, pkt, len, now);
        next = tapir_stack_poll(st, now);
        if (next.us > now.us && next.us - now.us <= 60 * 1000000) {
            now = next;
            tapir_stack_poll(st, now);
        }
    }
    tapir_stack_free(st);
    return 0;
}
