/*
 * src/wire/tcphdr.c -- TCP header and options, parse and emit (RFC 9293 3.1,
 * RFC 7323 2-3 window scale and timestamps, RFC 2018 SACK).  Called by the
 * TCP input and output paths.
 *
 * The header parser reads nothing beyond the data offset it has checked;
 * the option parser checks every length byte before the option it covers.
 * Neither judges option values: that is the TCP layer's business.
 */
#include <string.h>

#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/ipv4.h"
#include "wire/tcphdr.h"

#define TCPOLEN_MSS 4
#define TCPOLEN_WSCALE 3
#define TCPOLEN_SACK_PERM 2
#define TCPOLEN_TS 10
#define TCPOLEN_SACK_BLOCK 8
#define TCP_OPT_SPACE (TP_TCPHDR_MAX - TP_TCPHDR_MIN)

enum tp_wire_err
tp_tcphdr_parse(const uint8_t *buf, size_t len, struct tp_tcphdr *h)
{
    size_t off;

    if (len < TP_TCPHDR_MIN)
        return TP_WIRE_TRUNCATED;
    off = (size_t)(buf[12] >> 4) * 4;
    if (off < TP_TCPHDR_MIN || off > len)
        return TP_WIRE_BAD_HDR_LEN;
    h->src_port = tp_load_be16(buf);
    h->dst_port = tp_load_be16(buf + 2);
    h->seq = tp_load_be32(buf + 4);
    h->ack = tp_load_be32(buf + 8);
    h->hdr_len = (uint8_t)off;
    h->reserved = buf[12] & 0x0f;
    h->flags = buf[13];
    h->window = tp_load_be16(buf + 14);
    h->csum = tp_load_be16(buf + 16);
    h->urg = tp_load_be16(buf + 18);
    h->opts = buf + TP_TCPHDR_MIN;
    h->opts_len = off - TP_TCPHDR_MIN;
    h->payload = buf + off;
    h->payload_len = len - off;
    return TP_WIRE_OK;
}

/* Store one option of kind whose length olen has been checked against the
 * bytes present; p points at its kind byte.  False if olen is wrong for a
 * known kind. */
static bool
take_option(const uint8_t *p, uint8_t olen, struct tp_tcp_opts *out)
{
    switch (p[0]) {
    case TP_TCPOPT_MSS:
        if (olen != TCPOLEN_MSS)
            return false;
        out->has_mss = true;
        out->mss = tp_load_be16(p + 2);
        return true;
    case TP_TCPOPT_WSCALE:
        if (olen != TCPOLEN_WSCALE)
            return false;
        out->has_wscale = true;
        out->wscale = p[2];
        return true;
    case TP_TCPOPT_SACK_PERM:
        if (olen != TCPOLEN_SACK_PERM)
            return false;
        out->sack_permitted = true;
        return true;
    case TP_TCPOPT_TS:
        if (olen != TCPOLEN_TS)
            return false;
        out->has_ts = true;
        out->ts_val = tp_load_be32(p + 2);
        out->ts_ecr = tp_load_be32(p + 6);
        return true;
    case TP_TCPOPT_SACK: {
        size_t n = (size_t)(olen - 2) / TCPOLEN_SACK_BLOCK;

        if (olen < 2 + TCPOLEN_SACK_BLOCK || (olen - 2) % TCPOLEN_SACK_BLOCK != 0)
            return false;
        /* Only a caller passing more than 40 bytes can exceed the limit. */
        if (n > TP_TCP_MAX_SACK)
            n = TP_TCP_MAX_SACK;
        for (size_t i = 0; i < n; i++) {
            out->sack[i].left = tp_load_be32(p + 2 + i * TCPOLEN_SACK_BLOCK);
            out->sack[i].right = tp_load_be32(p + 6 + i * TCPOLEN_SACK_BLOCK);
        }
        out->n_sack = (uint8_t)n;
        return true;
    }
    default:
        if (out->n_unknown < UINT8_MAX)
            out->n_unknown++;
        return true;
    }
}

enum tp_wire_err
tp_tcp_opts_parse(const uint8_t *opts, size_t len, struct tp_tcp_opts *out)
{
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    /* RFC 9293 3.1: EOL ends the list; NOP is one byte; every other kind
     * has a length byte that counts kind and length. */
    while (i < len) {
        uint8_t olen;

        if (opts[i] == TP_TCPOPT_EOL)
            break;
        if (opts[i] == TP_TCPOPT_NOP) {
            i++;
            continue;
        }
        if (len - i < 2)
            return TP_WIRE_BAD_OPTION;
        olen = opts[i + 1];
        if (olen < 2 || olen > len - i)
            return TP_WIRE_BAD_OPTION;
        if (!take_option(opts + i, olen, out))
            return TP_WIRE_BAD_OPTION;
        i += olen;
    }
    return TP_WIRE_OK;
}

uint16_t
tp_tcp_csum(uint32_t src, uint32_t dst, const void *seg, size_t len)
{
    struct tp_csum c;

    tp_csum_init(&c);
    tp_csum_add_pseudo(&c, src, dst, TP_IP_PROTO_TCP, (uint16_t)len);
    tp_csum_add(&c, seg, len);
    return tp_csum_finish(&c);
}

/* Pad with NOPs until n % mod == rem (and at least one byte is written when
 * nothing precedes: an option never starts the list misaligned). */
static size_t
pad_nop(uint8_t *o, size_t n, size_t mod, size_t rem)
{
    while (n == 0 || n % mod != rem)
        o[n++] = TP_TCPOPT_NOP;
    return n;
}

/* NOPs that pad_nop() would add at n. */
static size_t
nops_needed(size_t n, size_t mod, size_t rem)
{
    size_t k = 0;

    while (n + k == 0 || (n + k) % mod != rem)
        k++;
    return k;
}

/*
 * Lay the options of s out in o[0..40) and return their padded length.  The
 * alignment follows the BSD rules, which put the 4-byte fields of TS and SACK
 * on 4-byte boundaries: MSS; NOP until odd, WSCALE; NOP until even,
 * SACK_PERM; NOP until 2 mod 4, TS; NOP until 2 mod 4, SACK; EOL to a
 * multiple of 4.
 */
static size_t
layout(const struct tp_tcp_opts *t, uint8_t o[TCP_OPT_SPACE])
{
    size_t n = 0;

    if (t->has_mss) {
        o[n] = TP_TCPOPT_MSS;
        o[n + 1] = TCPOLEN_MSS;
        tp_store_be16(o + n + 2, t->mss);
        n += TCPOLEN_MSS;
    }
    if (t->has_wscale) {
        n = pad_nop(o, n, 2, 1);
        o[n] = TP_TCPOPT_WSCALE;
        o[n + 1] = TCPOLEN_WSCALE;
        o[n + 2] = t->wscale;
        n += TCPOLEN_WSCALE;
    }
    if (t->sack_permitted) {
        while (n % 2 != 0)
            o[n++] = TP_TCPOPT_NOP;
        o[n] = TP_TCPOPT_SACK_PERM;
        o[n + 1] = TCPOLEN_SACK_PERM;
        n += TCPOLEN_SACK_PERM;
    }
    if (t->has_ts) {
        n = pad_nop(o, n, 4, 2);
        o[n] = TP_TCPOPT_TS;
        o[n + 1] = TCPOLEN_TS;
        tp_store_be32(o + n + 2, t->ts_val);
        tp_store_be32(o + n + 6, t->ts_ecr);
        n += TCPOLEN_TS;
    }
    if (t->n_sack > 0) {
        size_t pad = nops_needed(n, 4, 2);
        size_t room = TCP_OPT_SPACE - n - pad;
        size_t nb = room >= 2 ? (room - 2) / TCPOLEN_SACK_BLOCK : 0;

        if (nb > t->n_sack)
            nb = t->n_sack;
        if (nb > TP_TCP_MAX_SACK)
            nb = TP_TCP_MAX_SACK;
        if (nb > 0) {
            n = pad_nop(o, n, 4, 2);
            o[n] = TP_TCPOPT_SACK;
            o[n + 1] = (uint8_t)(2 + nb * TCPOLEN_SACK_BLOCK);
            n += 2;
            for (size_t i = 0; i < nb; i++) {
                tp_store_be32(o + n, t->sack[i].left);
                tp_store_be32(o + n + 4, t->sack[i].right);
                n += TCPOLEN_SACK_BLOCK;
            }
        }
    }
    while (n % 4 != 0)
        o[n++] = TP_TCPOPT_EOL;
    return n;
}

size_t
tp_tcphdr_len(const struct tp_tcp_out *s)
{
    uint8_t o[TCP_OPT_SPACE];

    return TP_TCPHDR_MIN + layout(&s->opts, o);
}

void
tp_tcphdr_emit(const struct tp_tcp_out *s, uint8_t *buf)
{
    uint8_t o[TCP_OPT_SPACE];
    size_t n = layout(&s->opts, o);

    tp_store_be16(buf, s->src_port);
    tp_store_be16(buf + 2, s->dst_port);
    tp_store_be32(buf + 4, s->seq);
    tp_store_be32(buf + 8, s->ack);
    buf[12] = (uint8_t)(((TP_TCPHDR_MIN + n) / 4) << 4);
    buf[13] = s->flags;
    tp_store_be16(buf + 14, s->window);
    tp_store_be16(buf + 16, 0);
    tp_store_be16(buf + 18, s->urg);
    memcpy(buf + TP_TCPHDR_MIN, o, n);
}
