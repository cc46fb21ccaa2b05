/*
 * tests/lib/tcp_harness.c -- see tcp_harness.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcp_harness.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "core/tcp_int.h"

static int
record(void *ctx, const struct tapir_iov *iov, int iovcnt)
{
    struct th *h = ctx;
    struct th_pkt *p;
    size_t len = 0;

    for (int i = 0; i < iovcnt; i++)
        len += iov[i].len;
    assert_true(h->q_len < TH_MAX_PKTS);
    p = &h->q[(h->q_head + h->q_len) % TH_MAX_PKTS];
    p->buf = malloc(len);
    assert_non_null(p->buf);
    p->len = 0;
    for (int i = 0; i < iovcnt; i++) {
        memcpy(p->buf + p->len, iov[i].base, iov[i].len);
        p->len += iov[i].len;
    }
    h->q_len++;
    h->n_tx++;
    return 0;
}

void
th_config(struct tapir_config *cfg)
{
    tapir_config_default(cfg);
    cfg->addr = TH_LOCAL;
    cfg->prefix_len = 24;
    cfg->seed = 1;
    cfg->tcp.max_socks = 16;
}

struct th *
th_new(const struct tapir_config *cfg)
{
    struct th *h = calloc(1, sizeof(*h));
    struct tapir_link link;

    assert_non_null(h);
    if (cfg != NULL)
        h->cfg = *cfg;
    else
        th_config(&h->cfg);
    link = (struct tapir_link){ record, h };
    assert_int_equal(tapir_stack_new(&h->cfg, &link, &h->st), 0);
    h->now = (struct tapir_time){ 1000000 };
    h->lport = 80;
    h->rport = 40000;
    tapir_stack_poll(h->st, h->now);
    return h;
}

void
th_drain(struct th *h)
{
    while (h->q_len > 0) {
        free(h->q[h->q_head].buf);
        h->q_head = (h->q_head + 1) % TH_MAX_PKTS;
        h->q_len--;
    }
}

void
th_free(struct th *h)
{
    size_t n = th_nsocks(h);

    th_drain(h);
    tapir_stack_free(h->st);
    free(h);
    assert_int_equal(n, 0);         /* leak check: every slot back */
}

size_t
th_nsocks(struct th *h)
{
    return tapir_tcp_snapshot(h->st, NULL, 0);
}

void
th_inject(struct th *h, const struct th_seg *s)
{
    struct tp_tcp_out o = { 0 };
    struct tp_ipv4_out ip = { 0 };
    uint8_t pkt[20 + 60 + 65536];
    size_t hlen;

    o.src_port = s->sport ? s->sport : h->rport;
    o.dst_port = s->dport ? s->dport : h->lport;
    o.seq = s->seq;
    o.ack = s->ack;
    o.flags = s->flags;
    o.window = s->win;
    o.opts = s->opts;
    hlen = tp_tcphdr_len(&o);
    assert_true(s->len <= 65536 - hlen - 20);
    tp_tcphdr_emit(&o, pkt + 20);
    if (s->len > 0)
        memcpy(pkt + 20 + hlen, s->data, s->len);
    tp_store_be16(pkt + 20 + 16, tp_tcp_csum(TH_REMOTE, TH_LOCAL, pkt + 20, hlen + s->len));
    ip.ttl = 64;
    ip.tos = s->tos;
    ip.proto = TP_IP_PROTO_TCP;
    ip.src = TH_REMOTE;
    ip.dst = TH_LOCAL;
    ip.payload_len = (uint16_t)(hlen + s->len);
    tp_ipv4_emit(&ip, pkt);
    tapir_stack_input(h->st, pkt, 20 + hlen + s->len, h->now);
}

void
th_send(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
    const void *data, size_t len)
{
    struct th_seg *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    s->flags = flags;
    s->seq = seq;
    s->ack = ack;
    s->win = win;
    s->data = data;
    s->len = len;
    th_inject(h, s);
    free(s);
}

struct tapir_time
th_poll(struct th *h)
{
    return tapir_stack_poll(h->st, h->now);
}

void
th_advance_us(struct th *h, int64_t us)
{
    h->now.us += us;
    tapir_stack_poll(h->st, h->now);
}

void
th_advance_ms(struct th *h, int64_t ms)
{
    th_advance_us(h, ms * 1000);
}

void
th_expire(struct th *h, int64_t max_ms)
{
    int64_t end = h->now.us + max_ms * 1000;

    for (int i = 0; i < 100000; i++) {
        struct tapir_time t = tapir_stack_poll(h->st, h->now);

        th_drain(h);
        if (t.us == INT64_MAX || t.us > end)
            break;
        if (t.us > h->now.us)
            h->now = t;
    }
    th_drain(h);
}

size_t
th_pending(const struct th *h)
{
    return h->q_len;
}

bool
th_next(struct th *h, struct th_seg *out)
{
    struct th_pkt *p;
    struct tp_ipv4 ip;
    struct tp_tcphdr t;

    if (h->q_len == 0)
        return false;
    p = &h->q[h->q_head];
    memset(out, 0, offsetof(struct th_seg, payload));
    assert_int_equal(tp_ipv4_parse(p->buf, p->len, &ip), TP_WIRE_OK);
    assert_int_equal(ip.proto, TP_IP_PROTO_TCP);
    assert_int_equal(ip.src, TH_LOCAL);
    assert_int_equal(tp_tcphdr_parse(ip.payload, ip.payload_len, &t), TP_WIRE_OK);
    assert_int_equal(tp_tcp_csum(ip.src, ip.dst, ip.payload, ip.payload_len), 0);
    assert_int_equal(tp_tcp_opts_parse(t.opts, t.opts_len, &out->opts), TP_WIRE_OK);
    out->src = ip.src;
    out->dst = ip.dst;
    out->tos = ip.tos;
    out->sport = t.src_port;
    out->dport = t.dst_port;
    out->seq = t.seq;
    out->ack = t.ack;
    out->flags = t.flags;
    out->win = t.window;
    out->len = t.payload_len;
    memcpy(out->payload, t.payload, t.payload_len);
    out->data = out->payload;
    free(p->buf);
    h->q_head = (h->q_head + 1) % TH_MAX_PKTS;
    h->q_len--;
    return true;
}

static const char *
flag_str(int f, char buf[32])
{
    static const char names[] = "FSRPAUEC";
    size_t n = 0;

    for (int i = 0; i < 8; i++)
        if (f & (1 << i))
            buf[n++] = names[i];
    buf[n] = '\0';
    return buf;
}

void
th_expect(struct th *h, int flags, int64_t seq, int64_t ack, int64_t win, int64_t len)
{
    struct th_seg *s = &h->last;
    char a[32], b[32];

    if (!th_next(h, s))
        fail_msg("expected a segment [%s] seq %lld, none was sent",
            flag_str(flags, a), (long long)seq);
    if ((flags != TH_ANY && s->flags != flags) || (seq != TH_ANY && s->seq != (uint32_t)seq)
        || (ack != TH_ANY && s->ack != (uint32_t)ack) || (win != TH_ANY && s->win != win)
        || (len != TH_ANY && s->len != (size_t)len))
        fail_msg("segment mismatch: got [%s] seq %u ack %u win %u len %zu; "
            "want [%s] seq %lld ack %lld win %lld len %lld",
            flag_str(s->flags, a), s->seq, s->ack, s->win, s->len, flag_str(flags, b),
            (long long)seq, (long long)ack, (long long)win, (long long)len);
    assert_int_equal(s->dport, h->rport);
}

void
th_expect_none(struct th *h)
{
    struct th_seg *s = &h->last;
    char a[32];

    if (th_next(h, s))
        fail_msg("expected no segment, got [%s] seq %u ack %u len %zu",
            flag_str(s->flags, a), s->seq, s->ack, s->len);
}

enum tapir_tcp_state
th_state(struct th *h, int s)
{
    struct tapir_tcp_info info;

    assert_int_equal(tapir_tcp_info(h->st, s, &info), 0);
    return info.state;
}

uint64_t
th_stat(struct th *h, const char *name)
{
    for (size_t i = 0; i < tapir_stats_count(); i++)
        if (strcmp(tapir_stats_name(i), name) == 0)
            return tapir_stats_get(h->st, i);
    fail_msg("no counter named %s", name);
    return 0;
}

int
th_passive_open(struct th *h, uint16_t port, uint32_t peer_iss, int *lsock, uint32_t *iss)
{
    struct th_seg *syn = calloc(1, sizeof(*syn));
    int l = tapir_tcp_socket(h->st), c;

    assert_non_null(syn);
    assert_true(l >= 0);
    assert_int_equal(tapir_tcp_bind(h->st, l, (struct tapir_sockaddr){ 0, port }), 0);
    assert_int_equal(tapir_tcp_listen(h->st, l, 4), 0);
    h->lport = port;
    syn->flags = TP_TCP_SYN;
    syn->seq = peer_iss;
    syn->win = 65535;
    syn->opts.has_mss = true;
    syn->opts.mss = 1460;
    th_inject(h, syn);
    free(syn);
    th_expect(h, TP_TCP_SYN | TP_TCP_ACK, TH_ANY, peer_iss + 1, TH_ANY, 0);
    *iss = h->last.seq;
    th_send(h, TP_TCP_ACK, peer_iss + 1, *iss + 1, 65535, NULL, 0);
    th_expect_none(h);
    c = tapir_tcp_accept(h->st, l, NULL);
    assert_true(c >= 0);
    assert_int_equal(th_state(h, c), TAPIR_TCP_ESTABLISHED);
    *lsock = l;
    return c;
}

uint32_t
th_connect(struct th *h, int s, uint16_t rport, int syn_flags)
{
    struct tapir_sockaddr me;

    assert_int_equal(tapir_tcp_connect(h->st, s, (struct tapir_sockaddr){ TH_REMOTE, rport }),
        -EINPROGRESS);
    assert_int_equal(tapir_tcp_getsockname(h->st, s, &me), 0);
    h->lport = me.port;
    h->rport = rport;
    th_poll(h);
    th_expect(h, syn_flags, TH_ANY, 0, TH_ANY, 0);
    return h->last.seq;
}

int
th_active_open(struct th *h, uint16_t rport, uint32_t peer_iss, uint32_t *iss)
{
    struct th_seg *sa = calloc(1, sizeof(*sa));
    int s = tapir_tcp_socket(h->st);

    assert_non_null(sa);
    assert_true(s >= 0);
    *iss = th_connect(h, s, rport, TP_TCP_SYN);
    sa->flags = TP_TCP_SYN | TP_TCP_ACK;
    sa->seq = peer_iss;
    sa->ack = *iss + 1;
    sa->win = 65535;
    sa->opts.has_mss = true;
    sa->opts.mss = 1460;
    th_inject(h, sa);
    free(sa);
    th_expect(h, TP_TCP_ACK, *iss + 1, peer_iss + 1, TH_ANY, 0);
    assert_int_equal(th_state(h, s), TAPIR_TCP_ESTABLISHED);
    return s;
}

void
th_inject_icmp(struct th *h, uint8_t type, uint8_t code, uint16_t next_mtu, uint32_t seq)
{
    uint8_t pkt[20 + 8 + 20 + 20];
    uint8_t *quoted = pkt + 28, *l4 = pkt + 48;
    struct tp_ipv4_out qip = { .ttl = 64, .proto = TP_IP_PROTO_TCP, .src = TH_LOCAL,
        .dst = TH_REMOTE, .payload_len = 20, .df = true };
    struct tp_ipv4_out ip = { .ttl = 64, .proto = TP_IP_PROTO_ICMP, .src = TH_REMOTE,
        .dst = TH_LOCAL, .payload_len = 8 + 40 };
    struct tp_icmp m = { .type = type, .code = code, .next_mtu = next_mtu };

    memset(pkt, 0, sizeof(pkt));
    tp_ipv4_emit(&qip, quoted);
    tp_store_be16(l4, h->lport);
    tp_store_be16(l4 + 2, h->rport);
    tp_store_be32(l4 + 4, seq);
    l4[12] = 5 << 4;
    l4[13] = TP_TCP_ACK;
    m.body = quoted;
    m.body_len = 40;
    tp_icmp_emit(&m, pkt + 20);
    tp_ipv4_emit(&ip, pkt);
    tapir_stack_input(h->st, pkt, sizeof(pkt), h->now);
}

void
th_force_isn(struct th *h, uint32_t iss)
{
    h->st->tcp->isn_forced = true;
    h->st->tcp->isn_next = iss;
}

void
th_inject_raw(struct th *h, const uint8_t *tcp, size_t len)
{
    struct tp_ipv4_out ip = { .ttl = 64, .proto = TP_IP_PROTO_TCP, .src = TH_REMOTE,
        .dst = TH_LOCAL, .payload_len = (uint16_t)len };
    uint8_t *pkt = malloc(20 + len);

    assert_non_null(pkt);
    memcpy(pkt + 20, tcp, len);
    if (len >= 18) {
        pkt[20 + 16] = pkt[20 + 17] = 0;
        tp_store_be16(pkt + 20 + 16, tp_tcp_csum(TH_REMOTE, TH_LOCAL, pkt + 20, len));
    }
    tp_ipv4_emit(&ip, pkt);
    tapir_stack_input(h->st, pkt, 20 + len, h->now);
    free(pkt);
}
