/*
 * src/core/tcp_opts.c -- the TCP extensions negotiated on the SYN exchange:
 * window scaling and timestamps (RFC 7323), SACK-permitted (RFC 2018).
 *
 * Each is used only if the stack's configuration enables it and both SYNs
 * carried it (RFC 7323 2.2 and 3.2, RFC 2018 2).  Before the exchange
 * tcb->opt_* say what we offer; tp_tcp_opts_syn() keeps what the peer
 * offered too.  Called by tcp_usrreq.c (connect), tcp_input.c (SYNs, PAWS,
 * TS.Recent, window scaling) and tcp_output.c (the options of each segment).
 */
#include "core/tcp_int.h"

/* The smallest shift that lets the receive buffer, or cfg.tcp.wscale_bytes
 * if larger, be advertised whole (RFC 7323 2.3: at most 14). */
static uint8_t
wscale_for(uint32_t rcvbuf, uint32_t want)
{
    uint8_t ws = 0;

    if (want > rcvbuf)
        rcvbuf = want;

    while (ws < TP_TCP_WSCALE_MAX && ((uint32_t)65535 << ws) < rcvbuf)
        ws++;
    return ws;
}

/* RFC 7323 5.4: a random offset per connection, so TSvals reveal neither
 * the host's uptime nor how connections relate to each other.  Keyed like
 * the ISN (RFC 6528), with the port secret so the two are unrelated. */
static uint32_t
ts_offset_for(const struct tp_tcb *tcb)
{
    uint8_t m[12];

    tp_store_be32(m, tcb->laddr);
    tp_store_be32(m + 4, tcb->raddr);
    tp_store_be16(m + 8, tcb->lport);
    tp_store_be16(m + 10, tcb->rport);
    return (uint32_t)(tp_siphash24(tcb->st->tcp->port_key, m, sizeof(m)) >> 17);
}

void
tp_tcp_opts_offer(struct tp_tcb *tcb)
{
    const struct tapir_tcp_config *c = &tcb->st->cfg.tcp;

    tcb->opt_wscale = c->wscale;
    tcb->opt_ts = c->timestamps;
    tcb->opt_sack = c->sack;
    tcb->rcv_wscale = c->wscale ? wscale_for(tcb->rcvbuf_cap, c->wscale_bytes) : 0;
    tcb->snd_wscale = 0;
    tcb->ts_offset = ts_offset_for(tcb);
    tcb->ts_recent_valid = false;
}

/* cfg.tcp.syn_rtx_drop_options: the SYNs from now on offer only the MSS. */
void
tp_tcp_opts_withdraw(struct tp_tcb *tcb)
{
    tcb->opt_wscale = tcb->opt_ts = tcb->opt_sack = false;
    tcb->rcv_wscale = 0;
}

void
tp_tcp_opts_syn(struct tp_tcb *tcb, const struct tp_tcp_opts *peer, struct tapir_time now)
{
    tcb->opt_wscale = tcb->opt_wscale && peer->has_wscale;
    tcb->opt_ts = tcb->opt_ts && peer->has_ts;
    tcb->opt_sack = tcb->opt_sack && peer->sack_permitted;
    if (tcb->opt_wscale) {
        tcb->snd_wscale = peer->wscale;
        if (tcb->snd_wscale > TP_TCP_WSCALE_MAX) {
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_WSCALE_CLAMPED);   /* RFC 7323 2.3 */
            tcb->snd_wscale = TP_TCP_WSCALE_MAX;
        }
    } else {
        tcb->snd_wscale = tcb->rcv_wscale = 0;
    }
    if (tcb->opt_ts) {
        tcb->ts_recent = peer->ts_val;
        tcb->ts_recent_at = now;
        tcb->ts_recent_valid = true;
    }
}

uint32_t
tp_tcp_ts_now(const struct tp_tcb *tcb, struct tapir_time now)
{
    return (uint32_t)((uint64_t)now.us / 1000) + tcb->ts_offset;
}

void
tp_tcp_opts_out(struct tp_tcb *tcb, uint8_t flags, struct tp_tcp_opts *o)
{
    bool syn = (flags & TP_TCP_SYN) != 0;

    if (syn) {
        o->has_mss = true;
        o->mss = tcb->rcv_mss;
        o->has_wscale = tcb->opt_wscale;
        o->wscale = tcb->rcv_wscale;
        o->sack_permitted = tcb->opt_sack;
    }
    if (tcb->opt_ts && !(flags & TP_TCP_RST)) {
        o->has_ts = true;
        o->ts_val = tp_tcp_ts_now(tcb, tcb->st->tcp->now);
        /* RFC 7323 3.2: TSecr is zero unless ACK is set. */
        o->ts_ecr = (flags & TP_TCP_ACK) && tcb->ts_recent_valid ? tcb->ts_recent : 0;
    }
}

bool
tp_tcp_paws_reject(struct tp_tcb *tcb, const struct tp_tcp_opts *o, uint8_t flags,
    struct tapir_time now)
{
    if (!tcb->opt_ts)
        return false;
    if (!o->has_ts) {
        /* RFC 7323 3.2 lets a receiver drop these; peers that omit the
         * option on some segments (older Linux on the handshake's last
         * ACK) would then hang.  Accept, count. */
        if (!(flags & TP_TCP_RST))
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_TS_MISSING);
        return false;
    }
    if ((flags & TP_TCP_RST) || !tcb->ts_recent_valid || !tp_seq_lt(o->ts_val, tcb->ts_recent))
        return false;
    /* RFC 7323 5.5: a TS.Recent idle for over 24 days is no longer valid. */
    if (tapir_time_sub(now, tcb->ts_recent_at).us > TP_TCP_PAWS_IDLE_US) {
        tcb->ts_recent_valid = false;
        return false;
    }
    tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_PAWS_ESTAB);
    return true;
}

void
tp_tcp_ts_update(struct tp_tcb *tcb, const struct tp_tcp_opts *o, uint32_t seq,
    struct tapir_time now)
{
    if (!tcb->opt_ts || !o->has_ts)
        return;
    if ((!tcb->ts_recent_valid || tp_seq_geq(o->ts_val, tcb->ts_recent))
        && tp_seq_leq(seq, tcb->last_ack_sent)) {
        tcb->ts_recent = o->ts_val;
        tcb->ts_recent_at = now;
        tcb->ts_recent_valid = true;
    }
}

uint32_t
tp_tcp_seg_max(const struct tp_tcb *tcb)
{
    uint32_t opts = tcb->opt_ts ? 12u : 0u;     /* nop,nop,TS */

    /* RFC 6691: the MSS counts no options, so they come out of the
     * payload -- on a tiny MTU too, or the segment would not fit. */
    return tcb->snd_mss > opts ? tcb->snd_mss - opts : 1;
}

uint32_t
tp_tcp_seg_wnd(const struct tp_tcb *tcb, uint16_t win, uint8_t flags)
{
    if (flags & TP_TCP_SYN)
        return win;
    return (uint32_t)win << tcb->snd_wscale;
}

/* RFC 2018 4: the first block holds the segment that arrived last; the
 * others follow, highest first (the ones most likely news to the sender).
 * tp_tcphdr_len() leaves out those the option space cannot hold. */
void
tp_tcp_dsack_note(struct tp_tcb *tcb, uint32_t seq, uint32_t len)
{
    if (!tcb->opt_sack || len == 0)
        return;
    tcb->dsack = (struct tp_sack_block){ seq, seq + len };
    tcb->dsack_pending = true;
    tcb->ack_now = true;            /* the next in-order segment would clear it */
    tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_DSACK_SENT);
}

/* Block i of the queue as SACK reports it: a FIN held right after it is
 * sequence space received too (a sender that resends from SND.UNA after
 * an RTO then need not send the FIN again). */
static struct tp_sack_block
sack_block(const struct tp_reass *q, int i)
{
    struct tp_sack_block b = q->blk[i];

    if (q->has_fin && b.right == q->fin_seq)
        b.right++;
    return b;
}

void
tp_tcp_sack_out(struct tp_tcb *tcb, struct tp_tcp_opts *o)
{
    const struct tp_reass *q = &tcb->reass;
    int first = -1;

    if (tcb->dsack_pending) {
        tcb->dsack_pending = false;
        if (tcb->opt_sack)
            o->sack[o->n_sack++] = tcb->dsack;
    }
    if (!tcb->opt_sack || q->n == 0)
        return;
    for (int i = 0; i < q->n; i++)
        if (tp_seq_in(q->last_seq, q->blk[i].left, q->blk[i].right - q->blk[i].left))
            first = i;
    if (first >= 0)
        o->sack[o->n_sack++] = sack_block(q, first);
    for (int i = q->n - 1; i >= 0 && o->n_sack < TP_TCP_MAX_SACK; i--)
        if (i != first)
            o->sack[o->n_sack++] = sack_block(q, i);
}
