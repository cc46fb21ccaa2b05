/*
 * src/core/tcp_input.c -- segment arrival (RFC 9293 3.10.7), with RFC 5961
 * for RST, SYN and ACK checks and RFC 1337 in TIME-WAIT.
 *
 * Called by ip.c through tp_tcp_input().  Each RFC step is a function that
 * returns a verdict; tp_tcp_input() turns verdicts into actions in one
 * switch.  Replies are sent through tcp_output.c after the steps ran.
 * Not implemented: URG (ignored), the security/compartment check.  Data on
 * a SYN in LISTEN is dropped and counted (the peer sends it again once
 * synchronized); in SYN-SENT it is kept (3.10.7.3).
 */
#include <errno.h>
#include <string.h>

#include "core/tcp_int.h"

enum seg_verdict {
    SEG_CONTINUE,                   /* go on to the next step */
    SEG_DROP,                       /* discard silently */
    SEG_DROP_ACK,                   /* discard, then send an ACK */
    SEG_DROP_CHALLENGE,             /* discard, then a rate-limited challenge ACK */
    SEG_DROP_RST,                   /* discard, then RST <SEQ=SEG.ACK> */
    SEG_GONE,                       /* the TCB was closed or freed */
};

struct seg_ctx {
    const struct tp_ipv4 *ip;
    struct tp_tcphdr h;
    struct tp_tcp_opts opts;
    uint32_t seq;
    uint32_t len;                   /* SEG.LEN: payload plus SYN and FIN */
    const uint8_t *data;            /* payload left after trimming */
    uint32_t data_len;
    bool fin;                       /* FIN still inside the window after trimming */
    struct tapir_time now;
};

static bool
has(const struct seg_ctx *c, uint8_t f)
{
    return (c->h.flags & f) != 0;
}

static enum seg_verdict process_text(struct tp_tcb *tcb, struct seg_ctx *c);
static enum seg_verdict check_fin(struct tp_tcb *tcb, struct seg_ctx *c);
static void schedule_ack(struct tp_tcb *tcb, struct tapir_time now);

/* ---- bad input ---- */

/* RFC 9293 3.1 and 3.10.7: combinations no sender may produce.  SYN+RST
 * is ambiguous; a segment without SYN, ACK or RST carries no usable
 * control.  SYN+FIN would open a connection and close it at once: LISTEN
 * and SYN-SENT drop it (unless cfg.tcp.synfin_as_syn); a synchronized
 * state needs no exception, its SYN check (fourth step) comes before the
 * FIN could count.  Dropped segments are counted; a closed port still
 * answers them with RST as 3.10.7.1 says. */
static bool
flags_are_legal(uint8_t f, enum tapir_tcp_state s)
{
    if ((f & TP_TCP_SYN) && (f & TP_TCP_RST))
        return false;
    if ((f & TP_TCP_SYN) && (f & TP_TCP_FIN)
        && (s == TAPIR_TCP_LISTEN || s == TAPIR_TCP_SYN_SENT || s == TAPIR_TCP_CLOSED))
        return false;
    return (f & (TP_TCP_SYN | TP_TCP_ACK | TP_TCP_RST)) != 0;
}

/* ---- option values ---- */

static void
apply_syn_opts(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    uint32_t mss = TP_TCP_MSS_DEFAULT;              /* MUST-15 */

    if (c->opts.has_mss) {
        mss = c->opts.mss;
        if (mss < TP_TCP_MSS_MIN) {
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_MSS_CLAMPED);
            mss = TP_TCP_MSS_MIN;
        }
    }
    if (mss > tcb->rcv_mss)
        mss = tcb->rcv_mss;                         /* our MTU - 40 (or TCP_MAXSEG) */
    tcb->snd_mss = (uint16_t)mss;
    tp_tcb_round_bufs(tcb);
    tp_cc_init(tcb);
}

static void
drop_syn_data(struct tapir_stack *st, const struct seg_ctx *c)
{
    if (c->h.payload_len > 0)
        tp_stat_add(st, TP_STAT_TCP_EXT_SYN_DATA_DROP, c->h.payload_len);
}

/* ---- ECN (RFC 3168) ---- */

/* 6.1.1: a peer's SYN with ECE and CWR asks for ECN; we agree if
 * configured to. */
static bool
ecn_setup_syn(const struct tapir_stack *st, const struct seg_ctx *c)
{
    return st->cfg.tcp.ecn != TAPIR_TCP_ECN_OFF && has(c, TP_TCP_ECE) && has(c, TP_TCP_CWR);
}

/* An acceptable segment of an ECN connection: CWR ends our echo, a CE mark
 * (re)starts it (6.1.3); ECE on an ACK reduces cwnd once per window of
 * data (6.1.2) and has CWR sent on the next new data. */
static void
ecn_input(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    struct tapir_stack *st = tcb->st;

    if (!tcb->ecn_ok)
        return;
    if (has(c, TP_TCP_CWR))
        tcb->ecn_ece = false;
    if ((c->ip->tos & 3) == 3) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_ECN_CE);
        tcb->ecn_ece = true;
    }
    if (!has(c, TP_TCP_ECE) || !has(c, TP_TCP_ACK) || tcb->in_recovery
        || tp_seq_lt(tcb->snd_una, tcb->ecn_recover))
        return;
    tp_stat_inc(st, TP_STAT_TCP_EXT_ECN_REDUCED);
    tp_cc_on_congestion(tcb);
    tcb->ecn_cwr = true;
    tcb->ecn_recover = tcb->snd_max;
}

/* ---- LISTEN (RFC 9293 3.10.7.2) ---- */

static struct tp_tcb *
spawn_child(struct tp_tcb *lst, const struct seg_ctx *c)
{
    struct tapir_stack *st = lst->st;
    struct tp_tcb *t = tp_tcb_alloc(st);

    if (t == NULL)
        return NULL;
    t->laddr = c->ip->dst;
    t->lport = c->h.dst_port;
    t->raddr = c->ip->src;
    t->rport = c->h.src_port;
    t->sndbuf_cap = lst->sndbuf_cap;
    t->rcvbuf_cap = lst->rcvbuf_cap;
    t->nodelay = lst->nodelay;
    t->keepalive = lst->keepalive;
    t->linger0 = lst->linger0;
    t->maxseg = lst->maxseg;
    t->keepidle_s = lst->keepidle_s;
    t->keepintvl_s = lst->keepintvl_s;
    t->keepcnt = lst->keepcnt;
    t->user_timeout_ms = lst->user_timeout_ms;
    t->ip_tos = lst->ip_tos;
    t->ip_ttl = lst->ip_ttl;
    t->cc = lst->cc;
    t->parent = lst->index;
    tp_tcp_opts_offer(t);
    t->syn_next = lst->syn_head;    /* on the listener's SYN queue list */
    if (lst->syn_head != TP_TCP_NONE)
        st->tcp->tcbs[lst->syn_head].syn_prev = t->index;
    lst->syn_head = t->index;
    lst->n_synq++;
    return t;
}

static void
syn_received_init(struct tp_tcb *t, const struct seg_ctx *c)
{
    t->rcv_mss = tp_tcp_our_mss(t->st, t);
    tp_tcp_opts_syn(t, &c->opts, c->now);
    apply_syn_opts(t, c);
    t->irs = c->seq;
    t->rcv_nxt = c->seq + 1;
    t->rcv_adv = t->rcv_nxt;
    t->last_ack_sent = t->rcv_nxt;
    t->snd_wnd = c->h.window;                       /* never scaled on a SYN */
    t->max_snd_wnd = t->snd_wnd;
    t->snd_wl1 = c->seq;
}

static enum seg_verdict
listen_input(struct tp_tcb *lst, const struct seg_ctx *c)
{
    struct tapir_stack *st = lst->st;
    struct tp_tcb *t;

    if (has(c, TP_TCP_RST))
        return SEG_DROP;                            /* first */
    if (has(c, TP_TCP_ACK) && has(c, TP_TCP_SYN) && st->cfg.tcp.listen_synack_silent) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_LISTEN_DROPS);
        return SEG_DROP;
    }
    if (has(c, TP_TCP_ACK)) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_LISTEN_ACK_RST);
        return SEG_DROP_RST;                        /* second */
    }
    if (!has(c, TP_TCP_SYN))
        return SEG_DROP;
    if (lst->n_acceptq >= lst->backlog || lst->n_synq >= lst->backlog) {
        if (lst->n_acceptq >= lst->backlog)
            tp_stat_inc(st, TP_STAT_TCP_EXT_LISTEN_OVERFLOWS);
        tp_stat_inc(st, TP_STAT_TCP_EXT_LISTEN_DROPS);
        return SEG_DROP;            /* the peer retransmits its SYN */
    }
    if ((t = spawn_child(lst, c)) == NULL) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_LISTEN_DROPS);
        return SEG_DROP;
    }
    drop_syn_data(st, c);
    t->from_listen = true;
    t->ecn_ok = ecn_setup_syn(st, c);
    syn_received_init(t, c);
    t->iss = tp_tcp_isn(st, t->laddr, t->lport, t->raddr, t->rport);
    t->snd_una = t->snd_nxt = t->snd_max = t->iss;
    t->snd_buf_seq = t->iss + 1;
    tp_tcb_set_state(t, TAPIR_TCP_SYN_RECEIVED);
    tp_tcp_hash_conn(t);
    tp_tcp_output(t, c->now);                       /* SYN,ACK */
    return SEG_DROP;
}

/* ---- SYN-SENT (RFC 9293 3.10.7.3) ---- */

static void
established(struct tp_tcb *tcb, struct tapir_time now)
{
    (void)now;
    /* RFC 6298 (5.7): a SYN timed out, so start data with an RTO of 3 s. */
    if (!tcb->rtt_valid && tcb->n_rtx > 0 && tcb->rto_us < 3000000)
        tcb->rto_us = 3000000;
    tcb->n_rtx = 0;
    tcb->recover = tcb->snd_una;    /* RFC 6582: no recovery point yet */
    tcb->ecn_recover = tcb->snd_una;
    if (tcb->ecn_ok)
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_ECN_CONN);
    if (tcb->opt_wscale)
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_CONN_WSCALE);
    if (tcb->opt_ts)
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_CONN_TS);
    if (tcb->opt_sack)
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_CONN_SACK);
    tp_tcb_set_state(tcb, TAPIR_TCP_ESTABLISHED);
    if (tcb->fin_queued)            /* shutdown(WR) before the handshake ended */
        tp_tcb_set_state(tcb, TAPIR_TCP_FIN_WAIT_1);
    if (tcb->keepalive)
        tcb->keep_at = tapir_time_add(now, TAPIR_SEC(tcb->keepidle_s));
}

static void
take_rtt_sample(struct tp_tcb *tcb, uint32_t ack, struct tapir_time now)
{
    if (tcb->rtt_timing && tp_seq_gt(ack, tcb->rtt_seq)) {
        tcb->rtt_timing = false;
        tp_tcp_rtt_sample(tcb, tapir_time_sub(now, tcb->rtt_start).us);
    }
}

/* RFC 9293 3.10.7.3, fifth, our SYN acknowledged: "If there are other
 * controls or text in the segment, then continue processing at the sixth
 * step" -- the text after the SYN is delivered and acknowledged now. */
static enum seg_verdict
syn_ack_text(struct tp_tcb *tcb, struct seg_ctx *c)
{
    enum seg_verdict v;

    c->h.flags &= (uint8_t)~TP_TCP_SYN;
    c->seq++;
    c->len--;
    if (c->len == 0)
        return SEG_DROP;
    if ((v = process_text(tcb, c)) != SEG_CONTINUE)
        return v;
    v = check_fin(tcb, c);
    return v == SEG_CONTINUE ? SEG_DROP : v;
}

/* The same step, simultaneous open: the text is "queued for processing
 * after the ESTABLISHED state has been reached".  It waits in the
 * reassembly queue at RCV.NXT (unacknowledged: the SYN,ACK acknowledges
 * the SYN alone) and joins the stream when our SYN is acknowledged. */
static void
hold_syn_text(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    uint32_t n = (uint32_t)c->h.payload_len, room;

    if (n == 0)
        return;
    room = tcb->rcv.buf != NULL ? tp_ring_free(&tcb->rcv) : 0;
    if (room > tcb->st->cfg.tcp.reass_max_bytes)
        room = tcb->st->cfg.tcp.reass_max_bytes;
    if (n > room) {
        tp_stat_add(tcb->st, TP_STAT_TCP_EXT_SYN_DATA_DROP, n - room);
        n = room;
    }
    if (n > 0)
        tp_reass_insert(tcb, tcb->rcv_nxt, c->h.payload, n);
}

static enum seg_verdict
syn_sent_input(struct tp_tcb *tcb, struct seg_ctx *c)
{
    bool ack_ok = false;

    if (has(c, TP_TCP_ACK)) {                       /* first */
        if (tp_seq_leq(c->h.ack, tcb->iss) || tp_seq_gt(c->h.ack, tcb->snd_max))
            return has(c, TP_TCP_RST) ? SEG_DROP : SEG_DROP_RST;
        ack_ok = true;
    }
    if (has(c, TP_TCP_RST)) {                       /* second; RFC 5961 3.2 */
        if (!ack_ok)
            return SEG_DROP;
        tp_stat_inc(tcb->st, TP_STAT_TCP_ATTEMPT_FAILS);
        tp_tcb_closed(tcb, -ECONNREFUSED);
        return SEG_GONE;
    }
    if (!has(c, TP_TCP_SYN))                        /* fourth */
        return SEG_DROP;
    syn_received_init(tcb, c);
    tcb->snd_wl2 = c->h.ack;
    if (ack_ok) {
        /* 6.1.1: an ECN-setup SYN,ACK has ECE without CWR. */
        tcb->ecn_ok = tcb->ecn_syn && has(c, TP_TCP_ECE) && !has(c, TP_TCP_CWR);
        tcb->snd_una = c->h.ack;
        take_rtt_sample(tcb, c->h.ack, c->now);
        tcb->rtx_at = TAPIR_TIME_NEVER;
        tp_tcp_timer_update(tcb);
        established(tcb, c->now);
        tcb->ack_now = true;
        tp_tcb_notify(tcb, TAPIR_EV_WRITABLE);
        return syn_ack_text(tcb, c);        /* the ACK goes out from output */
    }
    /* Simultaneous open (MUST-10): SYN,ACK <SEQ=ISS><ACK=RCV.NXT>. */
    tcb->from_listen = false;
    tcb->ecn_ok = ecn_setup_syn(tcb->st, c);
    tp_tcb_set_state(tcb, TAPIR_TCP_SYN_RECEIVED);
    tcb->snd_nxt = tcb->iss;
    hold_syn_text(tcb, c);
    return SEG_DROP;
}

/* ---- synchronized states (RFC 9293 3.10.7.4) ---- */

/* First: the acceptability test, then trimming to the window. */
/* RCV.WND for the acceptability test: what we advertised or, with
 * cfg.tcp.rcv_wnd_free_space, the free buffer space when that exceeds it
 * (beyond 65535 bytes unscaled); TIME-WAIT, which takes no more data,
 * keeps what it advertised. */
static uint32_t
rcv_wnd(const struct tp_tcb *tcb)
{
    uint32_t wnd = tp_seq_gt(tcb->rcv_adv, tcb->rcv_nxt) ? tcb->rcv_adv - tcb->rcv_nxt : 0;

    if (tcb->st->cfg.tcp.rcv_wnd_free_space && tcb->rcv.buf != NULL
        && tcb->state != TAPIR_TCP_TIME_WAIT && tp_ring_free(&tcb->rcv) > wnd)
        wnd = tp_ring_free(&tcb->rcv);
    return wnd;
}

static enum seg_verdict
check_sequence(struct tp_tcb *tcb, struct seg_ctx *c)
{
    struct tapir_stack *st = tcb->st;
    uint32_t wnd = rcv_wnd(tcb);
    uint32_t rn = tcb->rcv_nxt, seq = c->seq, off, end;
    bool ok;

    if (c->len == 0)
        ok = wnd == 0 ? seq == rn : tp_seq_in(seq, rn, wnd);
    else if (wnd == 0)
        ok = seq == rn;             /* MUST-66: still take its ACK and RST; no data */
    else
        ok = tp_seq_in(seq, rn, wnd) || tp_seq_in(seq + c->len - 1, rn, wnd);
    if (!ok) {
        if (has(c, TP_TCP_RST)) {
            tp_stat_inc(st, TP_STAT_TCP_EXT_RST_BAD_SEQ);
            return SEG_DROP;
        }
        tp_stat_inc(st, TP_STAT_TCP_EXT_SEQ_DROP);
        /* RFC 5961 4.2: a SYN gets a challenge ACK "irrespective of the
         * sequence number" (rate limited as such). */
        if (has(c, TP_TCP_SYN) && tcb->state != TAPIR_TCP_SYN_RECEIVED)
            return SEG_DROP_CHALLENGE;
        /* Data wholly below RCV.NXT: a duplicate, for D-SACK (RFC 2883). */
        if (c->h.payload_len > 0 && tp_seq_leq(seq + (uint32_t)c->h.payload_len, rn))
            tp_tcp_dsack_note(tcb, seq + !!has(c, TP_TCP_SYN), (uint32_t)c->h.payload_len);
        /* TIME-WAIT answers too (RFC 9293 3.10.7.4: an unacceptable
         * segment gets an ACK), rate limited like any such answer. */
        if (tcb->state == TAPIR_TCP_TIME_WAIT && has(c, TP_TCP_FIN) && seq + c->len == rn)
            tp_tcp_enter_time_wait(tcb, c->now);    /* retransmitted FIN: restart 2MSL */
        return SEG_DROP_ACK;
    }
    /* Trim what lies before RCV.NXT and past the window. */
    off = tp_seq_lt(seq, rn) ? rn - seq : 0;
    if (has(c, TP_TCP_SYN) && off > 0)
        off--;                      /* the SYN itself (a peer's retransmitted SYN) */
    /* RFC 2883 4.1.1: the repeated front of the segment, for D-SACK. */
    if (off > 0 && c->h.payload_len > 0)
        tp_tcp_dsack_note(tcb, rn - off, off < c->h.payload_len ? off : (uint32_t)c->h.payload_len);
    c->data = c->h.payload + (off < c->h.payload_len ? off : c->h.payload_len);
    c->data_len = off < c->h.payload_len ? (uint32_t)(c->h.payload_len - off) : 0;
    c->seq = seq + off;
    end = rn + wnd;
    if (tp_seq_gt(c->seq + c->data_len, end)) {
        c->data_len = tp_seq_gt(end, c->seq) ? end - c->seq : 0;
        c->fin = false;             /* a FIN past the window is not ours yet */
        tcb->ack_now = true;
        tp_stat_inc(st, TP_STAT_TCP_EXT_RCV_OVERFLOW);
    }
    return SEG_CONTINUE;
}

/* Second: RFC 5961 3.2 -- only an exact RST resets; in-window ones get a
 * challenge ACK (unless cfg.tcp.rst_in_window turns RFC 5961 off: then any
 * RST that passed the acceptability test resets, as in RFC 793).
 * TIME-WAIT ignores RSTs (RFC 1337). */
static enum seg_verdict
check_rst(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    struct tapir_stack *st = tcb->st;
    bool was_estab;

    if (!has(c, TP_TCP_RST))
        return SEG_CONTINUE;
    if (tcb->state == TAPIR_TCP_TIME_WAIT) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_RST_IN_TW);
        return SEG_DROP;
    }
    if (c->seq != tcb->rcv_nxt && !st->cfg.tcp.rst_in_window)
        return SEG_DROP_CHALLENGE;
    switch (tcb->state) {
    case TAPIR_TCP_SYN_RECEIVED:
        tp_stat_inc(st, TP_STAT_TCP_ATTEMPT_FAILS);
        if (tcb->from_listen) {
            tp_tcb_free(tcb);       /* back to LISTEN: the listener lives on */
            return SEG_GONE;
        }
        tp_tcb_closed(tcb, -ECONNREFUSED);
        return SEG_GONE;
    case TAPIR_TCP_CLOSING:
    case TAPIR_TCP_LAST_ACK:
        tp_tcb_closed(tcb, st->cfg.tcp.rst_error_after_fin ? -ECONNRESET : 0);
        return SEG_GONE;
    case TAPIR_TCP_ESTABLISHED:
    case TAPIR_TCP_FIN_WAIT_1:
    case TAPIR_TCP_FIN_WAIT_2:
    case TAPIR_TCP_CLOSE_WAIT:
        was_estab = tcb->state == TAPIR_TCP_ESTABLISHED || tcb->state == TAPIR_TCP_CLOSE_WAIT;
        if (was_estab)
            tp_stat_inc(st, TP_STAT_TCP_ESTAB_RESETS);
        tp_tcb_closed(tcb, -ECONNRESET);
        return SEG_GONE;
    case TAPIR_TCP_CLOSED:
    case TAPIR_TCP_LISTEN:
    case TAPIR_TCP_SYN_SENT:
    case TAPIR_TCP_TIME_WAIT:
    case TAPIR_TCP_NSTATES:
        break;
    }
    return SEG_DROP;
}

/* Fourth: RFC 5961 4.2 -- a SYN in a synchronized state gets a challenge
 * ACK (SYN-RECEIVED included: a retransmitted SYN was handled before).
 * With cfg.tcp.syn_in_window (RFC 5961 off), RFC 793's rule instead: a SYN
 * whose own sequence number is in the window is an error, answered with a
 * reset that ends the connection; one left of it (a segment acceptable
 * only for what follows the SYN) still gets the ACK. */
static enum seg_verdict
check_syn(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    struct tapir_stack *st = tcb->st;

    if (!has(c, TP_TCP_SYN))
        return SEG_CONTINUE;
    if (!st->cfg.tcp.syn_in_window || tcb->state == TAPIR_TCP_SYN_RECEIVED
        || !tp_seq_in(c->h.seq, tcb->rcv_nxt, rcv_wnd(tcb)))
        return SEG_DROP_CHALLENGE;
    if (tcb->state == TAPIR_TCP_ESTABLISHED || tcb->state == TAPIR_TCP_CLOSE_WAIT)
        tp_stat_inc(st, TP_STAT_TCP_ESTAB_RESETS);
    tp_tcp_send_rst(st, tcb->laddr, tcb->lport, tcb->raddr, tcb->rport, tcb->snd_max,
        tcb->rcv_nxt, true, tcb);
    tp_tcb_closed(tcb, -ECONNRESET);
    return SEG_GONE;
}

/* Fifth, for SYN-RECEIVED: the ACK of our SYN completes the handshake. */
static enum seg_verdict
ack_syn_received(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    struct tp_tcb *p = tp_tcb_at(tcb->st, tcb->parent);

    if (!(tp_seq_lt(tcb->snd_una, c->h.ack) && tp_seq_leq(c->h.ack, tcb->snd_max)))
        return SEG_DROP_RST;
    if (tcb->from_listen && p != NULL && p->n_acceptq >= p->backlog) {
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_LISTEN_OVERFLOWS);
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_LISTEN_DROPS);
        return SEG_DROP;            /* stays in SYN-RECEIVED; the SYN,ACK is resent */
    }
    /* Buffers only for a completed handshake: a SYN flood costs TCB slots,
     * not buffer memory.  Without memory the ACK is dropped (counted) and
     * the handshake retried. */
    if (tcb->snd.buf == NULL && tp_tcb_alloc_bufs(tcb) != 0)
        return SEG_DROP;
    tcb->snd_wnd = tp_tcp_seg_wnd(tcb, c->h.window, c->h.flags);
    tcb->snd_wl1 = c->h.seq;
    tcb->snd_wl2 = c->h.ack;
    established(tcb, c->now);
    if (tcb->from_listen && p != NULL)
        tp_tcp_child_established(tcb);
    else
        tp_tcb_notify(tcb, TAPIR_EV_WRITABLE);
    if (tcb->reass.n > 0 && tcb->reass.blk[0].left == tcb->rcv_nxt) {
        /* The text a simultaneous-open SYN carried (hold_syn_text). */
        tcb->bytes_received += tp_reass_pull(tcb);
        tp_tcb_notify(tcb, TAPIR_EV_READABLE);
        schedule_ack(tcb, c->now);
    }
    return SEG_CONTINUE;
}

/* RFC 9293 3.10.7.4 (fifth), the window update rule. */
static void
update_window(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    if (tp_seq_lt(tcb->snd_wl1, c->h.seq)
        || (tcb->snd_wl1 == c->h.seq && tp_seq_leq(tcb->snd_wl2, c->h.ack))) {
        tcb->snd_wnd = tp_tcp_seg_wnd(tcb, c->h.window, c->h.flags);
        tcb->snd_wl1 = c->h.seq;
        tcb->snd_wl2 = c->h.ack;
        if (tcb->snd_wnd > tcb->max_snd_wnd)
            tcb->max_snd_wnd = tcb->snd_wnd;
        if (tcb->snd_wnd > 0 && tcb->persist) {
            /* The window opened: a probe byte in flight is timed as data. */
            tcb->persist = false;
            tcb->rtx_at = tcb->snd_max == tcb->snd_una ? TAPIR_TIME_NEVER
                : tapir_time_add(c->now, TAPIR_US(tcb->rto_us));
            tp_tcp_timer_update(tcb);
        }
    }
}

/* New data acknowledged: free it, time it, grow cwnd, rearm (RFC 6298 5.2, 5.3). */
static void
ack_new_data(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    uint32_t ack = c->h.ack, n = 0;
    struct tapir_time now = c->now;

    if (tcb->opt_ts && c->opts.has_ts && c->opts.ts_ecr != 0) {
        /* RFC 7323 4.2: an ACK of new data times the segment whose TSval
         * it echoes, retransmitted or not. */
        uint32_t ms = tp_tcp_ts_now(tcb, now) - c->opts.ts_ecr;

        if (ms < 0x7fffffffu) {
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_TS_RTT_SAMPLES);
            tp_tcp_rtt_sample(tcb, (int64_t)ms * 1000);
            tcb->rtt_timing = false;
        }
    }
    take_rtt_sample(tcb, ack, now);
    if (tp_seq_gt(ack, tcb->snd_buf_seq)) {
        n = ack - tcb->snd_buf_seq;
        if (n > tcb->snd.len)
            n = tcb->snd.len;
        tp_ring_drop(&tcb->snd, n);
        tcb->snd_buf_seq += n;
    }
    tcb->snd_una = ack;
    if (tp_seq_lt(tcb->snd_nxt, ack))
        tcb->snd_nxt = ack;
    tcb->bytes_acked += n;          /* data only: not our SYN or FIN */
    tcb->n_rtx = 0;
    tcb->n_dupacks = 0;
    tcb->soft_err = 0;
    /* Data bytes only (not a SYN or FIN); recovery sets cwnd itself. */
    if (!tcb->in_recovery && n > 0)
        tp_cc_on_ack(tcb, n);
    tcb->persist = false;
    tcb->rtx_at = tcb->snd_una == tcb->snd_max ? TAPIR_TIME_NEVER
        : tapir_time_add(now, TAPIR_US(tcb->rto_us));
    tp_tcp_timer_update(tcb);
    if (n > 0)
        tp_tcb_notify(tcb, TAPIR_EV_WRITABLE);
}

static bool
our_fin_acked(const struct tp_tcb *tcb)
{
    return tcb->snd_una == tcb->snd_buf_seq + tcb->snd.len + 1 && tcb->snd.len == 0;
}

/* Fifth: RFC 9293 3.10.7.4 with RFC 5961 5.2's range check. */
static enum seg_verdict
check_ack(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    struct tapir_stack *st = tcb->st;
    uint32_t ack = c->h.ack;
    enum seg_verdict v;

    if (!has(c, TP_TCP_ACK))
        return SEG_DROP;
    tcb->n_probes_unanswered = 0;   /* the peer is there (zero-window probing) */
    if (tcb->state == TAPIR_TCP_SYN_RECEIVED && (v = ack_syn_received(tcb, c)) != SEG_CONTINUE)
        return v;
    if (tp_seq_gt(ack, tcb->snd_max)) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_ACK_TOO_NEW);
        return SEG_DROP_ACK;
    }
    if (tp_seq_lt(ack, tcb->snd_una - tcb->max_snd_wnd)) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_ACK_TOO_OLD);
        return SEG_DROP_CHALLENGE;
    }
    if (tp_seq_gt(ack, tcb->snd_una)) {
        uint32_t acked = ack - tcb->snd_una;

        ack_new_data(tcb, c);
        tp_sack_input(tcb, &c->opts);
        tp_recovery_on_ack(tcb, acked);
    } else {
        bool news = tp_sack_input(tcb, &c->opts);

        /* RFC 5681 2 "duplicate ACK", and RFC 6675 5: an ACK bringing new
         * SACK information counts too. */
        if (ack == tcb->snd_una && c->len == 0 && !tcb->persist
            && tcb->snd_max != tcb->snd_una && (news
            || (tp_tcp_seg_wnd(tcb, c->h.window, c->h.flags) == tcb->snd_wnd
            && tcb->snd_wnd > 0))) {
            if (tcb->n_dupacks < UINT8_MAX)
                tcb->n_dupacks++;
            tp_recovery_on_dupack(tcb);     /* fast retransmit and recovery */
        }
    }
    tp_rack_on_ack(tcb, c->now);    /* RFC 8985: losses by time, the probe timer */
    if (c->len == 0)
        tp_stat_inc(st, TP_STAT_TCP_EXT_PURE_ACKS);
    update_window(tcb, c);
    switch (tcb->state) {
    case TAPIR_TCP_TIME_WAIT:
        /* "The only thing that can arrive in this state is a
         * retransmission of the remote FIN.  Acknowledge it": anything but
         * a repeat of the last ACK gets one (a retransmitted FIN lies
         * below RCV.NXT and was answered by the sequence check). */
        if (c->len != 0 || c->h.seq != tcb->rcv_nxt || ack != tcb->snd_max)
            return SEG_DROP_ACK;
        break;
    case TAPIR_TCP_FIN_WAIT_1:
        if (our_fin_acked(tcb)) {
            tp_tcb_set_state(tcb, TAPIR_TCP_FIN_WAIT_2);
            if (!tcb->has_handle) { /* an orphan does not wait forever (Linux: tcp_fin_timeout) */
                tcb->tw_at = tapir_time_add(c->now, TAPIR_MS(tcb->st->cfg.tcp.msl_ms));
                tp_tcp_timer_update(tcb);
            }
        }
        break;
    case TAPIR_TCP_CLOSING:
        if (our_fin_acked(tcb))
            tp_tcp_enter_time_wait(tcb, c->now);
        break;
    case TAPIR_TCP_LAST_ACK:
        if (our_fin_acked(tcb)) {
            tp_tcb_closed(tcb, 0);
            return SEG_GONE;
        }
        break;
    case TAPIR_TCP_CLOSED:
    case TAPIR_TCP_LISTEN:
    case TAPIR_TCP_SYN_SENT:
    case TAPIR_TCP_SYN_RECEIVED:
    case TAPIR_TCP_ESTABLISHED:
    case TAPIR_TCP_FIN_WAIT_2:
    case TAPIR_TCP_CLOSE_WAIT:
    case TAPIR_TCP_NSTATES:
        break;
    }
    return SEG_CONTINUE;
}

static bool
can_take_data(enum tapir_tcp_state s)
{
    return s == TAPIR_TCP_ESTABLISHED || s == TAPIR_TCP_FIN_WAIT_1
        || s == TAPIR_TCP_FIN_WAIT_2;
}

/* Delayed ACK (RFC 1122 4.2.3.2): every second full segment, else 40 ms. */
static void
schedule_ack(struct tp_tcb *tcb, struct tapir_time now)
{
    if (++tcb->n_unacked_segs >= 2) {
        tcb->ack_now = true;
        return;
    }
    if (tcb->delack_at.us == INT64_MAX) {
        uint32_t ms = tcb->st->cfg.tcp.delack_ms;

        ms = ms == 0 ? TP_TCP_DELACK_MS : ms > 200 ? 200 : ms;  /* RFC 5681 4.2: < 500 ms */
        tcb->delack_at = tapir_time_add(now, TAPIR_MS(ms));
        tp_tcp_timer_update(tcb);
    }
}

/* Seventh: deliver in-order data, hold out-of-order data. */
static enum seg_verdict
process_text(struct tp_tcb *tcb, struct seg_ctx *c)
{
    struct tapir_stack *st = tcb->st;
    uint32_t off, room, n;

    if (!can_take_data(tcb->state))
        return SEG_CONTINUE;
    if (c->data_len == 0 && c->fin && tp_seq_gt(c->seq, tcb->rcv_nxt)) {
        /* A bare FIN beyond a hole: kept for when the hole fills, and
         * answered at once with a duplicate ACK (RFC 5681 4.2). */
        tcb->reass.has_fin = true;
        tcb->reass.fin_seq = c->seq;
        tcb->ack_now = true;
        c->fin = false;
        return SEG_CONTINUE;
    }
    if (c->data_len == 0)
        return SEG_CONTINUE;
    if (tcb->rd_shut && tcb->has_handle) {
        /* shutdown(RD): the bytes are acknowledged and discarded. */
        tcb->rcv_nxt += c->data_len;
        tcb->ack_now = true;
        return SEG_CONTINUE;
    }
    if (!tcb->has_handle && tcb->parent == TP_TCP_NONE) {
        /* Nobody will read it: reset (RFC 9293 3.10.4, RFC 2525 2.17). */
        tp_stat_inc(st, TP_STAT_TCP_EXT_ABORT_ON_DATA);
        tp_tcp_send_rst(st, tcb->laddr, tcb->lport, tcb->raddr, tcb->rport, tcb->snd_max,
            tcb->rcv_nxt, true, tcb);
        tp_tcb_closed(tcb, -ECONNRESET);
        return SEG_GONE;
    }
    off = c->seq - tcb->rcv_nxt;
    room = tp_ring_free(&tcb->rcv);
    if (off > 0 && room > st->cfg.tcp.reass_max_bytes)
        room = st->cfg.tcp.reass_max_bytes;
    if (off >= room) {
        tp_stat_inc(st, off > 0 ? TP_STAT_TCP_EXT_OFO_DROP : TP_STAT_TCP_EXT_RCV_OVERFLOW);
        tcb->ack_now = true;
        c->fin = false;
        return SEG_CONTINUE;
    }
    n = c->data_len < room - off ? c->data_len : room - off;
    if (n < c->data_len)
        c->fin = false;
    if (off > 0) {
        bool held = tp_reass_insert(tcb, c->seq, c->data, n);

        tcb->ack_now = true;        /* RFC 5681 4.2: a duplicate ACK at once */
        if (held && c->fin && !tcb->reass.has_fin) {
            tcb->reass.has_fin = true;
            tcb->reass.fin_seq = c->seq + n;
        }
        c->fin = false;
        return SEG_CONTINUE;
    }
    if (tcb->reass.n > 0 && !tcb->dsack_pending)
        tp_reass_dsack(tcb, c->seq, n);
    tp_ring_write(&tcb->rcv, c->data, n);
    tcb->rcv_nxt += n;
    tcb->bytes_received += n;
    if (tcb->reass.n > 0) {
        uint32_t pulled = tp_reass_pull(tcb);

        tcb->bytes_received += pulled;
        tcb->ack_now = true;        /* a hole filled: ACK at once */
    } else {
        schedule_ack(tcb, c->now);
    }
    tp_tcb_notify(tcb, TAPIR_EV_READABLE);
    return SEG_CONTINUE;
}

/* Eighth: the FIN, once everything before it has arrived. */
static enum seg_verdict
check_fin(struct tp_tcb *tcb, struct seg_ctx *c)
{
    bool fin = c->fin && c->seq + c->data_len == tcb->rcv_nxt;

    if (!fin && tcb->reass.has_fin && tcb->reass.fin_seq == tcb->rcv_nxt && tcb->reass.n == 0)
        fin = true;
    if (!fin || tcb->state == TAPIR_TCP_SYN_RECEIVED)
        return SEG_CONTINUE;
    if (tcb->fin_rcvd) {
        tcb->ack_now = true;
        if (tcb->state == TAPIR_TCP_TIME_WAIT)
            tp_tcp_enter_time_wait(tcb, c->now);
        return SEG_CONTINUE;
    }
    tcb->reass.has_fin = false;
    tcb->rcv_nxt++;
    tcb->fin_rcvd = true;
    tcb->ack_now = true;
    tp_tcb_notify(tcb, TAPIR_EV_READABLE | TAPIR_EV_RDHUP);
    switch (tcb->state) {
    case TAPIR_TCP_ESTABLISHED:
        tp_tcb_set_state(tcb, TAPIR_TCP_CLOSE_WAIT);
        break;
    case TAPIR_TCP_FIN_WAIT_1:
        if (our_fin_acked(tcb))
            tp_tcp_enter_time_wait(tcb, c->now);
        else
            tp_tcb_set_state(tcb, TAPIR_TCP_CLOSING);
        break;
    case TAPIR_TCP_FIN_WAIT_2:
        tp_tcp_enter_time_wait(tcb, c->now);
        tp_tcb_notify(tcb, TAPIR_EV_HUP);
        break;
    case TAPIR_TCP_CLOSED:
    case TAPIR_TCP_LISTEN:
    case TAPIR_TCP_SYN_SENT:
    case TAPIR_TCP_SYN_RECEIVED:
    case TAPIR_TCP_CLOSE_WAIT:
    case TAPIR_TCP_CLOSING:
    case TAPIR_TCP_LAST_ACK:
    case TAPIR_TCP_TIME_WAIT:
    case TAPIR_TCP_NSTATES:
        break;
    }
    return SEG_CONTINUE;
}

/* An unacceptable segment, to be answered with an ACK.  With
 * cfg.tcp.old_segment_ack one lying wholly before RCV.NXT (no RST or SYN)
 * has its ACK field processed first; if that ends CLOSING, TIME-WAIT
 * begins without an answer, as the peer's FIN was acknowledged already. */
static enum seg_verdict
old_segment(struct tp_tcb *tcb, struct seg_ctx *c)
{
    enum tapir_tcp_state was = tcb->state;
    enum seg_verdict v;

    if (!tcb->st->cfg.tcp.old_segment_ack || !has(c, TP_TCP_ACK) || has(c, TP_TCP_RST)
        || has(c, TP_TCP_SYN) || tp_seq_gt(c->seq + c->len, tcb->rcv_nxt))
        return SEG_DROP_ACK;
    c->data_len = 0;
    c->fin = false;
    v = check_ack(tcb, c);
    if (v == SEG_GONE)
        return v;
    if (was == TAPIR_TCP_CLOSING && tcb->state == TAPIR_TCP_TIME_WAIT)
        return SEG_DROP;
    return v == SEG_DROP_CHALLENGE ? v : SEG_DROP_ACK;
}

static enum seg_verdict
input_synchronized(struct tp_tcb *tcb, struct seg_ctx *c)
{
    enum seg_verdict v;

    /* Simultaneous open (RFC 9293 figure 8, line 6): the peer's SYN,ACK
     * repeats the SYN we already took; its ACK is what counts. */
    if (tcb->state == TAPIR_TCP_SYN_RECEIVED && !tcb->from_listen && has(c, TP_TCP_SYN)
        && has(c, TP_TCP_ACK) && c->h.seq == tcb->irs) {
        c->h.flags &= (uint8_t)~TP_TCP_SYN;
        c->seq++;
        c->len--;
    }
    /* Our SYN,ACK was lost: the peer sends its SYN again. */
    if (tcb->state == TAPIR_TCP_SYN_RECEIVED && has(c, TP_TCP_SYN) && !has(c, TP_TCP_ACK)
        && c->h.seq == tcb->irs) {
        tcb->snd_nxt = tcb->iss;
        return SEG_DROP;
    }
    /* RFC 7323 5.3 R1: PAWS, before the acceptability test. */
    if (tp_tcp_paws_reject(tcb, &c->opts, c->h.flags, c->now))
        return SEG_DROP_ACK;
    if ((v = check_sequence(tcb, c)) != SEG_CONTINUE)   /* first */
        return v == SEG_DROP_ACK ? old_segment(tcb, c) : v;
    tp_tcp_ts_update(tcb, &c->opts, c->h.seq, c->now);  /* R3 */
    if ((v = check_rst(tcb, c)) != SEG_CONTINUE)        /* second */
        return v;
    if ((v = check_syn(tcb, c)) != SEG_CONTINUE)        /* fourth; no third */
        return v;
    if ((v = check_ack(tcb, c)) != SEG_CONTINUE)        /* fifth */
        return v;
    ecn_input(tcb, c);
    if ((v = process_text(tcb, c)) != SEG_CONTINUE)     /* seventh; no URG */
        return v;
    return check_fin(tcb, c);                           /* eighth */
}

/* ---- demultiplexing and the verdict switch ---- */

/* RFC 9293 3.10.7.1: no connection.  An RST is never answered.  sk is a
 * bound socket in CLOSED that the segment reached (its IP_TOS and IP_TTL
 * apply), or NULL. */
static void
reply_closed(struct tapir_stack *st, const struct seg_ctx *c, const struct tp_tcb *sk)
{
    if (has(c, TP_TCP_RST))
        return;
    if (has(c, TP_TCP_ACK))
        tp_tcp_send_rst(st, c->ip->dst, c->h.dst_port, c->ip->src, c->h.src_port,
            c->h.ack, 0, false, sk);
    else
        tp_tcp_send_rst(st, c->ip->dst, c->h.dst_port, c->ip->src, c->h.src_port, 0,
            c->h.seq + c->len, true, sk);
}

/* RFC 9293 3.10.7.4 allows a new SYN to reopen a TIME-WAIT connection if
 * its sequence number lies beyond what the old one used. */
static bool
time_wait_reuse(struct tp_tcb *tcb, const struct seg_ctx *c)
{
    if (tcb->state != TAPIR_TCP_TIME_WAIT || !has(c, TP_TCP_SYN) || has(c, TP_TCP_ACK)
        || has(c, TP_TCP_FIN) || !tp_seq_gt(c->seq, tcb->rcv_nxt)
        || tcb->st->cfg.tcp.tw_syn_challenge)
        return false;
    tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_TW_RECYCLED);
    tp_tcb_closed(tcb, 0);
    return true;
}

/* cfg.tcp.synfin_as_syn: a SYN+FIN is taken as the SYN alone (its FIN
 * forgotten), where by default flags_are_legal() has it dropped. */
static void
synfin_as_syn(struct seg_ctx *c)
{
    if (!has(c, TP_TCP_SYN) || !has(c, TP_TCP_FIN))
        return;
    c->h.flags &= (uint8_t)~TP_TCP_FIN;
    c->fin = false;
    c->len--;
}

static int
parse_segment(struct tapir_stack *st, const struct tp_ipv4 *ip, struct seg_ctx *c)
{
    if (tp_tcphdr_parse(ip->payload, ip->payload_len, &c->h) != TP_WIRE_OK) {
        tp_stat_inc(st, TP_STAT_TCP_IN_ERRS);
        return -1;
    }
    if (tp_tcp_csum(ip->src, ip->dst, ip->payload, ip->payload_len) != 0) {
        tp_stat_inc(st, TP_STAT_TCP_IN_ERRS);
        tp_stat_inc(st, TP_STAT_TCP_IN_CSUM_ERRORS);
        return -1;
    }
    if (tp_tcp_opts_parse(c->h.opts, c->h.opts_len, &c->opts) != TP_WIRE_OK) {
        tp_stat_inc(st, TP_STAT_TCP_IN_ERRS);
        tp_stat_inc(st, TP_STAT_TCP_EXT_BAD_OPTS);
        return -1;
    }
    c->ip = ip;
    c->seq = c->h.seq;
    c->len = (uint32_t)c->h.payload_len + !!(c->h.flags & TP_TCP_SYN)
        + !!(c->h.flags & TP_TCP_FIN);
    c->data = c->h.payload;
    c->data_len = (uint32_t)c->h.payload_len;
    c->fin = (c->h.flags & TP_TCP_FIN) != 0;
    return 0;
}

static void
act(struct tp_tcb *tcb, const struct seg_ctx *c, enum seg_verdict v)
{
    switch (v) {
    case SEG_CONTINUE:
    case SEG_DROP:
        break;
    case SEG_DROP_ACK:
        /* Two ends that each find the other's bare ACKs unacceptable would
         * answer each other forever: rate limit those answers (data and
         * FINs are always answered). */
        if (c->len == 0 && tcb->last_oow_ack.us != 0
            && tapir_time_sub(c->now, tcb->last_oow_ack).us < TP_TCP_OOW_ACK_MS * 1000) {
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_OOW_ACK_LIMITED);
            break;
        }
        tcb->last_oow_ack = c->now;
        tcb->ack_now = true;
        break;
    case SEG_DROP_CHALLENGE:
        tp_tcp_send_challenge_ack(tcb, c->now);
        break;
    case SEG_DROP_RST:
        tp_tcp_send_rst(tcb->st, c->ip->dst, c->h.dst_port, c->ip->src, c->h.src_port,
            c->h.ack, 0, false, tcb);
        break;
    case SEG_GONE:
        return;
    }
    if (tcb->keepalive && tcb->state == TAPIR_TCP_ESTABLISHED) {
        /* RFC 9293 3.8.4: any segment shows the peer is alive. */
        tcb->n_keep_probes = 0;
        tcb->keep_at = tapir_time_add(c->now, TAPIR_SEC(tcb->keepidle_s));
    }
    tp_tcp_output(tcb, c->now);
    tp_tcp_timer_update(tcb);
}

void
tp_tcp_input(struct tapir_stack *st, const struct tp_ipv4 *ip, struct tapir_time now)
{
    struct seg_ctx c;
    struct tp_tcb *tcb;
    enum seg_verdict v = SEG_DROP;

    memset(&c, 0, sizeof(c));
    st->tcp->now = now;
    c.now = now;
    tp_stat_inc(st, TP_STAT_TCP_IN_SEGS);
    if (parse_segment(st, ip, &c) != 0)
        return;
    tcb = tp_tcp_lookup(st, ip->dst, c.h.dst_port, ip->src, c.h.src_port);
    if (tcb == NULL)
        tcb = tp_tcp_lookup_listener(st, ip->dst, c.h.dst_port);
    if (tcb != NULL && st->cfg.tcp.synfin_as_syn)
        synfin_as_syn(&c);
    if (tcb != NULL && time_wait_reuse(tcb, &c))
        tcb = tp_tcp_lookup_listener(st, ip->dst, c.h.dst_port);
    if (!flags_are_legal(c.h.flags, tcb != NULL ? tcb->state : TAPIR_TCP_CLOSED))
        tp_stat_inc(st, TP_STAT_TCP_EXT_BAD_FLAGS);
    if (tcb == NULL) {
        /* RFC 9293 3.10.7.1 answers anything but a RST, whatever its flags. */
        tp_stat_inc(st, TP_STAT_TCP_EXT_NO_PORT);
        reply_closed(st, &c, tp_tcp_lookup_bound(st, ip->dst, c.h.dst_port));
        return;
    }
    if (!flags_are_legal(c.h.flags, tcb->state))
        return;                     /* counted above; a connection ignores it */
    switch (tcb->state) {
    case TAPIR_TCP_LISTEN:
        v = listen_input(tcb, &c);
        if (v == SEG_DROP_RST)
            act(tcb, &c, v);
        return;
    case TAPIR_TCP_SYN_SENT:
        v = syn_sent_input(tcb, &c);
        break;
    case TAPIR_TCP_CLOSED:
        reply_closed(st, &c, tcb);
        return;
    case TAPIR_TCP_SYN_RECEIVED:
    case TAPIR_TCP_ESTABLISHED:
    case TAPIR_TCP_FIN_WAIT_1:
    case TAPIR_TCP_FIN_WAIT_2:
    case TAPIR_TCP_CLOSE_WAIT:
    case TAPIR_TCP_CLOSING:
    case TAPIR_TCP_LAST_ACK:
    case TAPIR_TCP_TIME_WAIT:
        v = input_synchronized(tcb, &c);
        break;
    case TAPIR_TCP_NSTATES:
        return;
    }
    act(tcb, &c, v);
}

/* ---- listener queues ---- */

void
tp_tcp_child_established(struct tp_tcb *tcb)
{
    struct tapir_stack *st = tcb->st;
    struct tp_tcb *p = tp_tcb_at(st, tcb->parent);

    tp_stat_inc(st, TP_STAT_TCP_PASSIVE_OPENS);
    tp_tcp_synq_unlink(p, tcb);
    p->n_synq--;
    p->n_acceptq++;
    tcb->in_acceptq = true;
    tcb->acc_next = TP_TCP_NONE;
    if (p->acc_tail != TP_TCP_NONE)
        st->tcp->tcbs[p->acc_tail].acc_next = tcb->index;
    else
        p->acc_head = tcb->index;
    p->acc_tail = tcb->index;
    tp_tcb_notify(p, TAPIR_EV_READABLE);
}

/* A listener closes: its children, on the SYN queue list and the accept
 * queue, are reset -- O(children), not a scan of the table. */
void
tp_tcp_listener_drop_children(struct tp_tcb *lst)
{
    struct tp_tcp *tcp = lst->st->tcp;

    for (int q = 0; q < 2; q++) {
        uint32_t *head = q == 0 ? &lst->syn_head : &lst->acc_head;

        while (*head != TP_TCP_NONE) {
            struct tp_tcb *t = &tcp->tcbs[*head];

            TP_ASSERT(t->in_use && t->parent == lst->index);
            tp_tcp_send_rst(lst->st, t->laddr, t->lport, t->raddr, t->rport, t->snd_max,
                t->rcv_nxt, true, t);
            tp_tcb_free(t);         /* unlinks it: the head moves on */
            if (*head == t->index)
                break;              /* never spin on a broken link */
        }
    }
    TP_ASSERT(lst->n_synq == 0 && lst->n_acceptq == 0);
    lst->acc_head = lst->acc_tail = TP_TCP_NONE;
}
