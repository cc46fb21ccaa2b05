/*
 * tests/pktdrill/run_packet.c -- script packets to bytes and back.
 *
 * Inbound: builds IPv4 + TCP (or ICMP quoting one of our segments) with
 * correct checksums; our sequence numbers in the script (ack, SACK blocks,
 * the quoted segment) are shifted by the ISN offset learned from our first
 * SYN, a TS ecr is mapped back to the TS val we really sent.  Outbound:
 * verifies the checksums of what the stack sent and compares every field
 * the script gives.  Options compare byte for byte (strict) or as a set of
 * kinds and values (semantic); TS val is never compared.  The runner has
 * its own header code on purpose: it must not trust src/wire to test it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define IP_HDR 20
#define TCP_HDR 20
#define ICMP_HDR 8
#define PKT_MAX 65535
#define OPT_MAX 40

enum { OPTK_EOL = 0, OPTK_NOP = 1, OPTK_MSS = 2, OPTK_WS = 3, OPTK_SACKOK = 4, OPTK_SACK = 5,
    OPTK_TS = 8 };

/* ---- bytes and checksums ----------------------------------------------------- */

static uint16_t
ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
ld32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
st16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t
sum_add(uint32_t acc, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        acc += ld16(p + i);
    if (len & 1)
        acc += (uint32_t)p[len - 1] << 8;
    return acc;
}

static uint16_t
sum_fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* RFC 9293 3.1: the TCP checksum covers a pseudo-header. */
static uint16_t
l4_csum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *seg, size_t len)
{
    uint8_t ph[12];

    st32(ph, src);
    st32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    st16(ph + 10, (uint32_t)len);
    return sum_fold(sum_add(sum_add(0, ph, sizeof(ph)), seg, len));
}

static void
ip_header(uint8_t *h, const struct pd_packet *p, size_t total, uint8_t proto, uint32_t src,
    uint32_t dst)
{
    int tos = p->tos >= 0 ? p->tos : 0;

    if (p->ecn != PD_ECN_UNSET)
        tos = (tos & ~3) | (int)p->ecn;
    memset(h, 0, IP_HDR);
    h[0] = 0x45;
    h[1] = (uint8_t)tos;
    st16(h + 2, (uint32_t)total);
    h[8] = (uint8_t)(p->ttl >= 0 ? p->ttl : 64);
    h[9] = proto;
    st32(h + 12, src);
    st32(h + 16, dst);
    st16(h + 10, sum_fold(sum_add(0, h, IP_HDR)));
}

/* ---- the connection under test ---------------------------------------------------- */

static void
new_connection(struct pd_run *r)
{
    r->conn.known = true;
    r->conn.listening = false;
    r->conn.remote_port = r->next_remote_port++;
    r->conn.local_isn_known = false;
    r->conn.local_off = 0;
    r->nts = 0;
    if (r->conn.local_port == 0)
        r->conn.local_port = PD_DEFAULT_PORT;
}

/* An inbound SYN to a listener starts a new connection with a fresh remote
 * port; any other inbound packet uses the current one. */
static void
conn_for_inbound(struct pd_run *r, const struct pd_packet *p)
{
    bool syn_only = (p->flags & (PD_TH_SYN | PD_TH_ACK)) == PD_TH_SYN;

    bool listening = r->conn.listening;

    if (!p->is_icmp && syn_only && listening) {
        new_connection(r);
    } else if (!r->conn.known) {
        new_connection(r);
        r->conn.listening = listening;  /* only a SYN takes the listener's next child */
    }
}

static void
ts_remember(struct pd_run *r, uint32_t script_val, uint32_t live_val)
{
    for (int i = 0; i < r->nts; i++)
        if (r->ts[i].script_val == script_val) {
            r->ts[i].live_val = live_val;
            return;
        }
    if (r->nts < PD_MAX_TS_MAP)
        r->ts[r->nts++] = (struct pd_ts_map){ script_val, live_val };
}

static int
ts_ecr_live(struct pd_run *r, uint32_t script_ecr, uint32_t *live)
{
    if (script_ecr == 0) {
        *live = 0;
        return 0;
    }
    for (int i = 0; i < r->nts; i++)
        if (r->ts[i].script_val == script_ecr) {
            *live = r->ts[i].live_val;
            return 0;
        }
    return pd_fail(r, "inbound TS ecr %u: no outbound packet sent TS val %u", script_ecr,
        script_ecr);
}

/* ---- options ---------------------------------------------------------------------- */

/* One option at o[*n]; TS ecr and SACK edges are mapped only when
 * inbound.  Returns 0, or -1 with the reason set. */
static int
encode_one(struct pd_run *r, const struct pd_packet *p, const struct pd_tcpopt *t, uint8_t *o,
    int *n)
{
    uint32_t ecr = t->v2, off = p->outbound ? 0 : r->conn.local_off;

    switch (t->kind) {
    case PD_OPT_EOL: o[(*n)++] = OPTK_EOL; break;
    case PD_OPT_NOP: o[(*n)++] = OPTK_NOP; break;
    case PD_OPT_SACKOK: o[*n] = OPTK_SACKOK; o[*n + 1] = 2; *n += 2; break;
    case PD_OPT_MSS: o[*n] = OPTK_MSS; o[*n + 1] = 4; st16(o + *n + 2, t->v1); *n += 4; break;
    case PD_OPT_WSCALE: o[*n] = OPTK_WS; o[*n + 1] = 3; o[*n + 2] = (uint8_t)t->v1; *n += 3; break;
    case PD_OPT_RAW: memcpy(o + *n, t->raw, (size_t)t->nraw); *n += t->nraw; break;
    case PD_OPT_TS:
        if (!p->outbound && ts_ecr_live(r, t->v2, &ecr) < 0)
            return -1;
        o[*n] = OPTK_TS; o[*n + 1] = 10; st32(o + *n + 2, t->v1); st32(o + *n + 6, ecr);
        *n += 10;
        break;
    case PD_OPT_SACK:
        o[*n] = OPTK_SACK; o[*n + 1] = (uint8_t)(2 + 8 * t->nsack);
        for (int b = 0; b < t->nsack; b++) {
            st32(o + *n + 2 + 8 * b, t->sack[b][0] + off);
            st32(o + *n + 6 + 8 * b, t->sack[b][1] + off);
        }
        *n += 2 + 8 * t->nsack;
        break;
    }
    return 0;
}

/* Encode the options of p; *ts_at gets the offset of a TS option (or -1).
 * Returns the length, padded to 4 with EOL bytes, or -1. */
static int
encode_opts(struct pd_run *r, const struct pd_packet *p, uint8_t *o, int *ts_at)
{
    int n = 0;

    *ts_at = -1;
    for (int i = 0; i < p->nopts; i++) {
        const struct pd_tcpopt *t = &p->opts[i];
        int need = t->kind == PD_OPT_SACK ? 2 + 8 * t->nsack : t->kind == PD_OPT_TS ? 10
            : t->kind == PD_OPT_RAW ? t->nraw : 4;
        if (n + need > OPT_MAX)
            return pd_fail(r, "TCP options longer than %d bytes", OPT_MAX);
        if (t->kind == PD_OPT_TS)
            *ts_at = n;
        if (encode_one(r, p, t, o, &n) < 0)
            return -1;
    }
    while (n % 4)
        o[n++] = OPTK_EOL;
    return n;
}

struct live_opt {
    uint8_t kind, len;
    const uint8_t *v;
};

/* Split live options; false if malformed. */
static bool
split_opts(const uint8_t *o, int len, struct live_opt *out, int *n)
{
    int i = 0;

    *n = 0;
    while (i < len && *n < PD_MAX_OPTS) {
        if (o[i] == OPTK_EOL || o[i] == OPTK_NOP) {
            out[(*n)++] = (struct live_opt){ o[i], 1, o + i };
            i++;
            continue;
        }
        if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
            return false;
        out[(*n)++] = (struct live_opt){ o[i], o[i + 1], o + i + 2 };
        i += o[i + 1];
    }
    return i >= len;
}

static bool
same_option(const struct live_opt *a, const struct live_opt *b)
{
    if (a->kind != b->kind || a->len != b->len)
        return false;
    if (a->kind == OPTK_TS)                     /* TS val is not compared */
        return memcmp(a->v + 4, b->v + 4, 4) == 0;
    return a->len <= 2 || memcmp(a->v, b->v, (size_t)a->len - 2) == 0;
}

/* Semantic mode: the same options and values in any layout; padding
 * (NOP, EOL) is ignored. */
static bool
opts_match_semantic(const uint8_t *want, int wlen, const uint8_t *got, int glen)
{
    struct live_opt w[PD_MAX_OPTS], g[PD_MAX_OPTS];
    bool used[PD_MAX_OPTS] = { false };
    int nw, ng, real_w = 0, real_g = 0;

    if (!split_opts(want, wlen, w, &nw) || !split_opts(got, glen, g, &ng))
        return false;
    for (int i = 0; i < ng; i++)
        real_g += g[i].kind > OPTK_NOP;
    for (int i = 0; i < nw; i++) {
        bool found = false;
        if (w[i].kind <= OPTK_NOP)
            continue;
        real_w++;
        for (int j = 0; j < ng && !found; j++)
            if (!used[j] && same_option(&w[i], &g[j]))
                found = used[j] = true;
        if (!found)
            return false;
    }
    return real_w == real_g;
}

static void
hex_opts(char *buf, size_t cap, const uint8_t *o, int len)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; i < len && n + 4 < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%02x", o[i]);
}

static int
check_opts(struct pd_run *r, const struct pd_packet *p, const uint8_t *got, int glen)
{
    uint8_t want[OPT_MAX + 4];
    char wb[100], gb[100];
    int wlen, ts_at;

    if (p->opts_mode == PD_OPTS_ANY || r->opts->ignore_options)
        return 0;
    if ((wlen = encode_opts(r, p, want, &ts_at)) < 0)
        return -1;
    if (r->opts->mode == PD_MATCH_SEMANTIC) {
        if (opts_match_semantic(want, wlen, got, glen))
            return 0;
    } else {
        if (ts_at >= 0 && ts_at + 10 <= glen && got[ts_at] == OPTK_TS)
            memcpy(want + ts_at + 2, got + ts_at + 2, 4);   /* TS val is not compared */
        if (wlen == glen && memcmp(want, got, (size_t)glen) == 0)
            return 0;
    }
    hex_opts(wb, sizeof(wb), want, wlen);
    hex_opts(gb, sizeof(gb), got, glen);
    return pd_fail(r, "options differ: expected %s, sent %s (%s)", wlen ? wb : "none",
        glen ? gb : "none", r->opts->mode == PD_MATCH_SEMANTIC ? "semantic" : "strict");
}

/* ---- inbound ------------------------------------------------------------------------- */

static int
build_tcp(struct pd_run *r, const struct pd_packet *p, uint8_t *buf, size_t *len)
{
    uint8_t *t = buf + IP_HDR;
    int olen, ts_at;
    size_t tlen;

    if ((olen = encode_opts(r, p, t + TCP_HDR, &ts_at)) < 0)
        return -1;
    tlen = TCP_HDR + (size_t)olen + p->len;
    if (IP_HDR + tlen > PKT_MAX)
        return pd_fail(r, "inbound packet larger than 65535 bytes");
    st16(t, r->conn.remote_port);
    st16(t + 2, r->conn.local_port);
    st32(t + 4, p->seq);
    st32(t + 8, p->has_ack ? p->ack + r->conn.local_off : 0);
    t[12] = (uint8_t)(((TCP_HDR + olen) / 4) << 4);
    t[13] = p->flags;
    st16(t + 14, p->has_win ? p->win : 0);
    st16(t + 16, 0);
    st16(t + 18, p->has_urg ? p->urg : 0);
    memset(t + TCP_HDR + olen, 0, p->len);
    st16(t + 16, l4_csum(PD_REMOTE_IP, PD_LOCAL_IP, 6, t, tlen) ^ (p->bad_csum ? 0x5a5a : 0));
    ip_header(buf, p, IP_HDR + tlen, 6, PD_REMOTE_IP, PD_LOCAL_IP);
    *len = IP_HDR + tlen;
    return 0;
}

/* RFC 792: the ICMP error quotes our IP header and the first 8 bytes of
 * our TCP segment. */
static int
build_icmp(struct pd_run *r, const struct pd_packet *p, uint8_t *buf, size_t *len)
{
    static const struct pd_packet plain = { .ecn = PD_ECN_UNSET, .tos = -1, .ttl = -1 };
    uint8_t *m = buf + IP_HDR, *q = m + ICMP_HDR;
    size_t mlen = ICMP_HDR + IP_HDR + 8;

    memset(m, 0, mlen);
    m[0] = (uint8_t)p->icmp.type;
    m[1] = (uint8_t)p->icmp.code;
    if (p->icmp.has_mtu)
        st16(m + 6, p->icmp.mtu);
    ip_header(q, &plain, IP_HDR + TCP_HDR + p->icmp.q_len, 6, PD_LOCAL_IP, PD_REMOTE_IP);
    st16(q + IP_HDR, r->conn.local_port);
    st16(q + IP_HDR + 2, r->conn.remote_port);
    st32(q + IP_HDR + 4, p->icmp.q_seq + r->conn.local_off);
    st16(m + 2, sum_fold(sum_add(0, m, mlen)));
    ip_header(buf, p, IP_HDR + mlen, 1, PD_REMOTE_IP, PD_LOCAL_IP);
    *len = IP_HDR + mlen;
    return 0;
}

int
pd_inject(struct pd_run *r, const struct pd_packet *p)
{
    uint8_t *buf = malloc(PKT_MAX);
    size_t len = 0;
    int rc;

    if (!buf)
        return pd_fail(r, "out of memory");
    conn_for_inbound(r, p);
    rc = p->is_icmp ? build_icmp(r, p, buf, &len) : build_tcp(r, p, buf, &len);
    if (rc == 0) {
        pd_trace(r, "< inject %zu bytes", len);
        tapir_stack_input(r->st, buf, len, (struct tapir_time){ r->now_us + PD_TIME_BASE_US });
        pd_poll_now(r);
    }
    free(buf);
    return rc;
}

/* ---- outbound ---------------------------------------------------------------------- */

struct live_tcp {
    uint16_t sport, dport, win, urg;
    uint32_t seq, ack;
    uint8_t flags, tos, ttl;
    const uint8_t *opts, *payload;
    int olen;
    size_t plen;
};

static int
parse_live(struct pd_run *r, const struct pd_sent *s, struct live_tcp *lt)
{
    const uint8_t *ip = s->data, *t;
    size_t ihl, tot, doff;
    uint8_t tos, ttl;

    if (s->len < IP_HDR || ip[0] >> 4 != 4 || (ihl = (size_t)(ip[0] & 15) * 4) < IP_HDR
        || (tot = ld16(ip + 2)) > s->len || tot < ihl)
        return pd_fail(r, "the stack sent a malformed IPv4 packet (%zu bytes)", s->len);
    if (sum_fold(sum_add(0, ip, ihl)) != 0)
        return pd_fail(r, "the stack sent a bad IPv4 header checksum");
    if (ld32(ip + 12) != PD_LOCAL_IP || ld32(ip + 16) != PD_REMOTE_IP)
        return pd_fail(r, "the stack sent a packet from %08x to %08x", ld32(ip + 12),
            ld32(ip + 16));
    tos = ip[1];
    ttl = ip[8];
    if (ip[9] != 6)
        return pd_fail(r, "expected TCP, the stack sent IP protocol %u", ip[9]);
    t = ip + ihl;
    if (tot - ihl < TCP_HDR || (doff = (size_t)(t[12] >> 4) * 4) < TCP_HDR || doff > tot - ihl)
        return pd_fail(r, "the stack sent a malformed TCP header");
    if (l4_csum(PD_LOCAL_IP, PD_REMOTE_IP, 6, t, tot - ihl) != 0)
        return pd_fail(r, "the stack sent a bad TCP checksum");
    if (t[12] & 0x0f)
        return pd_fail(r, "the stack set reserved TCP bits 0x%x", t[12] & 0x0f);
    *lt = (struct live_tcp){ .sport = ld16(t), .dport = ld16(t + 2), .seq = ld32(t + 4),
        .ack = ld32(t + 8), .flags = t[13], .win = ld16(t + 14), .urg = ld16(t + 18),
        .tos = tos, .ttl = ttl, .opts = t + TCP_HDR, .olen = (int)doff - TCP_HDR,
        .payload = t + doff, .plen = tot - ihl - doff };
    return 0;
}

static void
flags_str(uint8_t f, char out[10])
{
    static const char names[] = "FSRP.UEW";
    int n = 0;

    for (int i = 0; i < 8; i++)
        if (f & (1u << i))
            out[n++] = names[i];
    if (n == 0)
        out[n++] = '-';
    out[n] = '\0';
}

/* Learn the tuple and our ISN from the first packets of a connection. */
static void
learn(struct pd_run *r, const struct pd_packet *p, const struct live_tcp *lt)
{
    if (!r->conn.known) {
        r->conn.known = true;
        r->conn.local_port = lt->sport;
        r->conn.remote_port = lt->dport;
    }
    if ((lt->flags & PD_TH_SYN) && !r->conn.local_isn_known) {
        r->conn.local_isn_known = true;
        r->conn.local_off = lt->seq - (p->seq_any ? 0 : p->seq);
    }
}

static int
check_ip(struct pd_run *r, const struct pd_packet *p, const struct live_tcp *lt)
{
    if (p->tos >= 0 && (lt->tos & ~3) != (p->tos & ~3))
        return pd_fail(r, "TOS 0x%02x, expected 0x%02x", lt->tos, p->tos);
    if (p->ecn != PD_ECN_UNSET && (lt->tos & 3) != (int)p->ecn)
        return pd_fail(r, "ECN field %d, expected %d", lt->tos & 3, (int)p->ecn);
    if (p->ttl >= 0 && lt->ttl != p->ttl)
        return pd_fail(r, "TTL %u, expected %d", lt->ttl, p->ttl);
    return 0;
}

static int
check_tcp(struct pd_run *r, const struct pd_packet *p, const struct live_tcp *lt)
{
    char fw[10], fg[10];
    uint32_t seq = lt->seq - (p->seq_abs ? 0 : r->conn.local_off);

    flags_str(p->flags, fw);
    flags_str(lt->flags, fg);
    if (lt->sport != r->conn.local_port || lt->dport != r->conn.remote_port)
        return pd_fail(r, "sent %s seq %u ack %u on ports %u > %u, expected a %s on %u > %u",
            fg, lt->seq, lt->ack, lt->sport, lt->dport, fw, r->conn.local_port,
            r->conn.remote_port);
    if (lt->flags != p->flags)
        return pd_fail(r, "flags %s, expected %s (sent %s %u:%u(%zu) ack %u win %u)", fg, fw,
            fg, seq, seq + (uint32_t)lt->plen, lt->plen, lt->ack, lt->win);
    if (!p->seq_any && seq != p->seq)
        return pd_fail(r, "%s seq %u, expected %u", fg, seq, p->seq);
    if (lt->plen != p->len)
        return pd_fail(r, "%s payload %zu bytes, expected %u", fg, lt->plen, p->len);
    if ((p->has_ack || (p->flags & PD_TH_ACK)) && lt->ack != p->ack)
        return pd_fail(r, "%s ack %u, expected %u", fg, lt->ack, p->ack);
    if (p->has_win && lt->win != p->win)
        return pd_fail(r, "%s win %u, expected %u", fg, lt->win, p->win);
    if (p->has_urg && lt->urg != p->urg)
        return pd_fail(r, "%s urg %u, expected %u", fg, lt->urg, p->urg);
    for (size_t i = 0; i < lt->plen; i++)
        if (lt->payload[i] != 0)
            return pd_fail(r, "payload byte %zu is 0x%02x, the script wrote zeros", i,
                lt->payload[i]);
    if (check_opts(r, p, lt->opts, lt->olen) < 0)
        return -1;
    return check_ip(r, p, lt);
}

static void
remember_ts(struct pd_run *r, const struct pd_packet *p, const struct live_tcp *lt)
{
    struct live_opt o[PD_MAX_OPTS];
    int n;

    if (!split_opts(lt->opts, lt->olen, o, &n))
        return;
    for (int i = 0; i < p->nopts; i++)
        if (p->opts[i].kind == PD_OPT_TS)
            for (int j = 0; j < n; j++)
                if (o[j].kind == OPTK_TS && o[j].len == 10)
                    ts_remember(r, p->opts[i].v1, ld32(o[j].v));
}

static struct pd_sent *
pop_sent(struct pd_run *r)
{
    struct pd_sent *s = r->sent_head;

    if (s && !(r->sent_head = s->next))
        r->sent_tail = &r->sent_head;
    return s;
}

static int
match_one(struct pd_run *r, const struct pd_packet *p, const struct pd_sent *s, int64_t lo,
    int64_t hi)
{
    struct live_tcp lt = { 0 };

    if (p->is_icmp)
        return pd_fail(r, "outbound ICMP packets are not supported by the runner");
    if (parse_live(r, s, &lt) < 0)
        return -1;
    learn(r, p, &lt);
    if (r->opts->verbose) {
        char f[10];
        flags_str(lt.flags, f);
        pd_trace(r, "> sent %s seq %u ack %u win %u len %zu opts %d bytes at %lld us", f,
            lt.seq - r->conn.local_off, lt.ack, lt.win, lt.plen, lt.olen, (long long)s->t_us);
    }
    if (check_tcp(r, p, &lt) < 0)
        return -1;
    if (s->t_us < lo || s->t_us > hi)
        return pd_fail(r, "sent at %.6f s, expected %.6f..%.6f s", (double)s->t_us / 1e6,
            (double)lo / 1e6, (double)hi / 1e6);
    remember_ts(r, p, &lt);
    return 0;
}

int
pd_expect(struct pd_run *r, const struct pd_packet *p, int64_t lo_us, int64_t hi_us,
    int64_t *at_us)
{
    struct pd_sent *s;
    int rc;

    while (!r->sent_head && r->now_us < hi_us)
        pd_advance_to(r, r->next_poll_us < hi_us && r->next_poll_us > r->now_us
            ? r->next_poll_us : hi_us);
    if (!(s = pop_sent(r)))
        return pd_fail(r, "expected packet not sent by %.6f s", (double)hi_us / 1e6);
    rc = match_one(r, p, s, lo_us, hi_us);
    *at_us = s->t_us;
    free(s->data);
    free(s);
    return rc;
}

void
pd_sent_free_all(struct pd_run *r)
{
    struct pd_sent *s;

    while ((s = pop_sent(r))) {
        free(s->data);
        free(s);
    }
}
