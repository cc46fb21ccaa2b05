/*
 * tests/fuzz/fuzz_stack_input.c -- a whole stack fed a sequence of packets
 * on a virtual clock, with a listener on port 80 and an echo application.
 *
 * Input format, repeated until the bytes run out:
 *   flags (1 byte): bit 0 set: fix the IPv4 header checksum and the ICMP or
 *                   TCP checksum before input, so mutations get past them,
 *                   and read the ACK number of a TCP segment with ACK set
 *                   as relative: 1 acknowledges all the stack has sent, so
 *                   seeds can complete handshakes without knowing the ISS;
 *                   bit 1 set: the application closes its oldest connection
 *                   after this packet;
 *                   bits 2-7 (v): advance the clock by v^2 ms first
 *   length (2 bytes, big-endian), then that many packet bytes (fewer if the
 *   input ends).
 * After each packet the stack is polled at the current time, and once more
 * at its next deadline if that is within a minute; the application accepts
 * connections on port 80 and echoes what it reads.  Everything the stack
 * sends is checked: a valid IPv4 header from our address within the MTU, and
 * a well-formed ICMP message or TCP segment with a checksum that verifies.
 */
#include <errno.h>
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
#define APP_MAX 8                                   /* connections the app holds */

struct app {
    int lsn;
    int conn[APP_MAX];
    int n_conn;
};

struct sink {
    uint8_t buf[PKT_MAX];
    uint16_t mtu;
    unsigned n_sent;
    uint32_t next_seq;                              /* after the last TCP segment sent */
};

/* Check the ICMP message or TCP segment in ip; for TCP, return the sequence
 * number that follows it, else 0. */
static uint32_t
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
        return h.seq + (uint32_t)h.payload_len + !!(h.flags & TP_TCP_SYN) +
            !!(h.flags & TP_TCP_FIN);
    } else {
        FUZZ_CHECK(!"the stack sent a protocol it does not speak");
    }
    return 0;
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
    FUZZ_CHECK(ip.ttl > 0);
    if (ip.mf || ip.frag_off != 0) {
        /* Only an ICMP reply larger than the MTU leaves in fragments:
         * without DF, all but the last a multiple of 8 bytes. */
        FUZZ_CHECK(ip.proto == TP_IP_PROTO_ICMP && !ip.df);
        FUZZ_CHECK(!ip.mf || ip.payload_len % 8 == 0);
    } else if (ip.proto == TP_IP_PROTO_TCP) {
        s->next_seq = check_l4(&ip);
    } else {
        check_l4(&ip);
    }
    s->n_sent++;
    return 0;
}

/* Make the checksums right, as far as the lengths allow, and a TCP ACK
 * number relative to what the stack sent (see the input format). */
static void
fix_checksums(uint8_t *p, size_t len, uint32_t next_seq)
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

        if (seg[13] & TP_TCP_ACK)
            tp_store_be32(seg + 8, next_seq + tp_load_be32(seg + 8) - 1);
        tp_store_be16(seg + 16, 0);
        tp_store_be16(seg + 16, tp_tcp_csum(tp_load_be32(p + 12), tp_load_be32(p + 16), seg,
            total - hl));
    } else if (p[9] == TP_IP_PROTO_ICMP && total - hl >= TP_ICMP_HDR_LEN) {
        tp_store_be16(p + hl + 2, 0);
        tp_store_be16(p + hl + 2, tp_csum(p + hl, total - hl));
    }
}

static void
app_close_oldest(struct tapir_stack *st, struct app *a)
{
    if (a->n_conn == 0)
        return;
    FUZZ_CHECK(tapir_tcp_close(st, a->conn[0]) == 0);
    memmove(a->conn, a->conn + 1, (size_t)(a->n_conn - 1) * sizeof(a->conn[0]));
    a->n_conn--;
}

/* Accept what is waiting, echo what can be read, close on EOF or error. */
static void
app_run(struct tapir_stack *st, struct app *a)
{
    uint8_t buf[512];
    int s;

    while (a->n_conn < APP_MAX && (s = tapir_tcp_accept(st, a->lsn, NULL)) >= 0)
        a->conn[a->n_conn++] = s;
    for (int i = 0; i < a->n_conn;) {
        long n = tapir_tcp_recv(st, a->conn[i], buf, sizeof(buf), 0);

        FUZZ_CHECK(n <= (long)sizeof(buf));
        if (n > 0) {
            long w = tapir_tcp_send(st, a->conn[i], buf, (size_t)n, 0);

            FUZZ_CHECK(w <= n);
            i++;
        } else if (n == -EAGAIN) {
            i++;
        } else {
            FUZZ_CHECK(tapir_tcp_close(st, a->conn[i]) == 0);
            a->conn[i] = a->conn[--a->n_conn];
        }
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
    struct app app = { 0 };

    tapir_config_default(&cfg);
    cfg.addr = US_ADDR;
    cfg.seed = 42;
    cfg.tcp.max_socks = 16;
    cfg.tcp.sndbuf = 8192;
    cfg.tcp.rcvbuf = 8192;
    cfg.tcp.reass_max_bytes = 8192;
    sink.mtu = cfg.mtu;
    sink.n_sent = 0;
    sink.next_seq = 0;
    FUZZ_CHECK(tapir_stack_new(&cfg, &link, &st) == 0);
    app.lsn = tapir_tcp_socket(st);
    FUZZ_CHECK(app.lsn >= 0);
    FUZZ_CHECK(tapir_tcp_bind(st, app.lsn, (struct tapir_sockaddr){ US_ADDR, 80 }) == 0);
    FUZZ_CHECK(tapir_tcp_listen(st, app.lsn, 4) == 0);
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
            fix_checksums(pkt, len, sink.next_seq);
        now.us += (int64_t)(flags >> 2) * (flags >> 2) * 1000;
        tapir_stack_input(st, pkt, len, now);
        app_run(st, &app);
        if (flags & 2)
            app_close_oldest(st, &app);
        next = tapir_stack_poll(st, now);
        if (next.us > now.us && next.us - now.us <= 60 * 1000000) {
            now = next;
            tapir_stack_poll(st, now);
            app_run(st, &app);
        }
    }
    tapir_stack_free(st);
    return 0;
}
