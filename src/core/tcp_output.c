/*
 * src/core/tcp_output.c -- what a connection sends, and when (RFC 9293
 * 3.8.6 flow control, 3.7.4 Nagle, 3.10.7 replies; RFC 5961 challenge ACKs).
 *
 * next_segment() is the single decision "what would I send now": SYN,
 * SYN-ACK, data within min(SND.WND, cwnd) cut at the peer's MSS, FIN after
 * the data, zero-window and keepalive probes, and ACKs.  tp_tcp_output()
 * sends until it says "nothing", and arms the retransmission or persist
 * deadline that tcp_timer.c runs.  Called from input, from the timers and,
 * for socket calls, from tp_tcp_poll() through the output list.
 */
#include <string.h>

#include "core/tcp_int.h"
#include "wire/csum.h"

struct seg {
    uint32_t seq;
    uint32_t len;                   /* payload bytes from the send ring */
    uint8_t flags;
};

static bool
is_synchronized(enum tapir_tcp_state s)
{
    return s >= TAPIR_TCP_ESTABLISHED;
}

/* RFC 9293 3.8.6.2.2 (receiver SWS avoidance) and 3.8.6 (never shrink):
 * the right edge moves only by min(half the buffer, MSS) or more; with
 * cfg.tcp.rcv_wnd_free_space, it moves to the end of the free space unless
 * that is below both a quarter of the buffer and one MSS. */
uint32_t
tp_tcp_rcv_window(const struct tp_tcb *tcb)
{
    uint32_t cap = tcb->rcv.buf != NULL ? tcb->rcv.cap : tcb->rcvbuf_cap;
    uint32_t free_b = cap - (tcb->rcv.buf != NULL ? tcb->rcv.len : 0);
    uint32_t step = cap / 2 < tcb->rcv_mss ? cap / 2 : tcb->rcv_mss;
    bool adv_ahead = !tp_seq_lt(tcb->rcv_adv, tcb->rcv_nxt);

    /* RFC 7323 2.3: the largest window the scale can express. */
    if (free_b > (uint32_t)65535 << tcb->rcv_wscale)
        free_b = (uint32_t)65535 << tcb->rcv_wscale;
    if (tcb->st->cfg.tcp.rcv_wnd_free_space) {
        if (free_b < cap / 4 && free_b < tcb->snd_mss)
            free_b = 0;
        if (adv_ahead && free_b < tcb->rcv_adv - tcb->rcv_nxt)
            free_b = tcb->rcv_adv - tcb->rcv_nxt;
        return free_b;
    }
    if (!adv_ahead || tp_seq_geq(tcb->rcv_nxt + free_b, tcb->rcv_adv + step))
        return free_b;
    return tcb->rcv_adv - tcb->rcv_nxt;
}

/* The window field of a segment other than a SYN (RFC 7323 2.3): scaled,
 * rounded down to the scale's unit, or up with cfg.tcp.rcv_wnd_free_space
 * (never past what the field can carry). */
static uint32_t
scaled_window(const struct tp_tcb *tcb, uint32_t wnd)
{
    uint8_t ws = tcb->rcv_wscale;

    if (tcb->st->cfg.tcp.rcv_wnd_free_space && ws > 0) {
        uint64_t up = ((uint64_t)wnd + (1u << ws) - 1) >> ws << ws;

        return up > (uint64_t)65535 << ws ? (uint32_t)65535 << ws : (uint32_t)up;
    }
    return wnd >> ws << ws;
}

/*
 * A pure window update is worth a segment when the right edge moves by the
 * SWS step, two segments or half the buffer (RFC 1122 4.2.3.3), and the
 * move matters to the peer: it is a quarter of the buffer or more, or the
 * window is down to an eighth of the buffer, or the buffer holds no more
 * than eight segments.  (The BSD stacks use these thresholds; FreeBSD's
 * conformance scripts expect them.)  A move of a few segments while most
 * of the window is still open waits for the next ACK that data draws
 * (every second segment, RFC 5681 4.2): without that, a reader that
 * empties the buffer after each segment drew an update after every other
 * segment, one ACK per 1.5 data segments instead of one per two.
 */
static bool
wants_window_update(const struct tp_tcb *tcb)
{
    uint32_t wnd = tp_tcp_rcv_window(tcb);
    uint32_t edge = tcb->rcv_nxt + wnd;
    uint32_t cap = tcb->rcv.cap;
    uint32_t step = 2u * tcb->rcv_mss < cap / 2 ? 2u * tcb->rcv_mss : cap / 2;
    uint32_t adv;

    /* After the peer's FIN no more data comes: a window update would only
     * reach a peer that may have closed already. */
    if (tcb->rcv.buf == NULL || tcb->fin_rcvd
        || !tp_seq_geq(edge, tcb->rcv_adv + (step ? step : 1)))
        return false;
    adv = edge - tcb->rcv_adv;
    return adv >= cap / 4 || wnd <= cap / 8 || cap <= 8u * tcb->rcv_mss;
}

/* RFC 3168: the IP ECN field of s (ECT(0) on new data only: 6.1.5 and
 * 6.1.6 keep it off retransmissions, pure ACKs, SYNs and window probes),
 * and ECE and CWR on s's flags.  The socket's IP_TOS gives the other bits. */
static uint8_t
ecn_mark(struct tp_tcb *tcb, const struct seg *s, uint8_t *flags)
{
    bool new_data = s->len > 0 && !tp_seq_lt(s->seq, tcb->snd_max) && tcb->snd_wnd > 0;

    if (!tcb->ecn_ok || (s->flags & (TP_TCP_SYN | TP_TCP_RST)))
        return tcb->ip_tos;
    if (tcb->ecn_ece && (s->flags & TP_TCP_ACK))
        *flags |= TP_TCP_ECE;
    if (tcb->ecn_cwr && new_data) {
        *flags |= TP_TCP_CWR;
        tcb->ecn_cwr = false;
    }
    return (uint8_t)((tcb->ip_tos & ~3u) | (new_data ? 2u : 0u));
}

static void
emit(struct tp_tcb *tcb, const struct seg *s)
{
    struct tapir_stack *st = tcb->st;
    struct tp_tcp_out o = { 0 };
    uint8_t tos;
    uint8_t hdr[TP_TCPHDR_MAX];
    struct tapir_iov iov[3];
    struct tp_csum c;
    size_t hlen;
    int n = 1;

    o.src_port = tcb->lport;
    o.dst_port = tcb->rport;
    o.seq = s->seq;
    o.flags = s->flags;
    tos = ecn_mark(tcb, s, &o.flags);
    if (!(s->flags & TP_TCP_RST) || (s->flags & TP_TCP_ACK)) {
        uint32_t wnd = tp_tcp_rcv_window(tcb);

        /* RFC 7323 2.3: a SYN's window is never scaled; others are, and
         * the right edge they reach (rounded down to the scale's unit)
         * may lie left of one advertised before: RCV.ADV keeps the
         * furthest, which is what the acceptability test uses (2.4). */
        if (s->flags & TP_TCP_SYN)
            wnd = wnd > 65535 ? 65535 : wnd;
        else
            wnd = scaled_window(tcb, wnd);
        o.window = (uint16_t)((s->flags & TP_TCP_SYN) ? wnd : wnd >> tcb->rcv_wscale);
        if (s->flags & TP_TCP_ACK) {
            o.ack = tcb->rcv_nxt;
            tcb->last_ack_sent = tcb->rcv_nxt;
            if (tp_seq_gt(tcb->rcv_nxt + wnd, tcb->rcv_adv))
                tcb->rcv_adv = tcb->rcv_nxt + wnd;
        }
    }
    tp_tcp_opts_out(tcb, s->flags, &o.opts);
    if ((s->flags & TP_TCP_ACK) && !(s->flags & TP_TCP_SYN))
        tp_tcp_sack_out(tcb, &o.opts);
    hlen = tp_tcphdr_len(&o);
    /* SACK blocks on a full data segment must not push it past the MTU. */
    while (o.opts.n_sack > 0 && hlen + s->len + 20 > st->cfg.mtu) {
        o.opts.n_sack--;
        hlen = tp_tcphdr_len(&o);
    }
    tp_tcphdr_emit(&o, hdr);
    iov[0] = (struct tapir_iov){ hdr, hlen };
    if (s->len > 0)
        n += tp_ring_iov(&tcb->snd, s->seq - tcb->snd_buf_seq, s->len, &iov[1]);
    tp_csum_init(&c);
    tp_csum_add_pseudo(&c, st->cfg.addr, tcb->raddr, TP_IP_PROTO_TCP,
        (uint16_t)(hlen + s->len));
    for (int i = 0; i < n; i++)
        tp_csum_add(&c, iov[i].base, iov[i].len);
    tp_store_be16(hdr + 16, tp_csum_finish(&c));
    if (tp_ip_output(st, tcb->raddr, TP_IP_PROTO_TCP, tos, tcb->ip_ttl, iov, n) == 0)
        tp_stat_inc(st, TP_STAT_TCP_OUT_SEGS);
    if (!(s->flags & TP_TCP_SYN) && tp_rack_active(tcb))
        tp_rack_on_send(tcb, s->seq, s->len + !!(s->flags & TP_TCP_FIN), st->tcp->now);
    if (s->flags & TP_TCP_RST)
        tp_stat_inc(st, TP_STAT_TCP_OUT_RSTS);
    if (s->flags & TP_TCP_ACK) {
        tcb->ack_now = false;
        tcb->n_unacked_segs = 0;
        if (tcb->delack_at.us != INT64_MAX) {
            tcb->delack_at = TAPIR_TIME_NEVER;
            tp_tcp_timer_update(tcb);
        }
    }
}

/* The data, FIN and probes of a synchronized connection. */
static bool
next_data(struct tp_tcb *tcb, struct seg *s)
{
    uint32_t room = tp_sack_skip_sacked(tcb);      /* go-back-N after an RTO */
    uint32_t data_end = tcb->snd_buf_seq + tcb->snd.len;
    uint32_t avail = tp_seq_lt(tcb->snd_nxt, data_end) ? data_end - tcb->snd_nxt : 0;
    uint32_t inflight = tcb->snd_nxt - tcb->snd_una;
    /* RFC 6675: in SACK recovery cwnd is measured against pipe. */
    uint32_t load = tp_sack_in_flight(tcb);
    uint32_t wusable = tcb->snd_wnd > inflight ? tcb->snd_wnd - inflight : 0;
    uint32_t cusable = tcb->cwnd > load ? tcb->cwnd - load : 0;
    uint32_t usable = wusable < cusable ? wusable : cusable;
    uint32_t len = avail < usable ? avail : usable;
    bool fin_state = tcb->state == TAPIR_TCP_FIN_WAIT_1 || tcb->state == TAPIR_TCP_CLOSING
        || tcb->state == TAPIR_TCP_LAST_ACK;
    bool rtx = tp_seq_lt(tcb->snd_nxt, tcb->snd_max);
    bool fin;

    if (len > tp_tcp_seg_max(tcb))
        len = tp_tcp_seg_max(tcb);
    if (len > room)
        len = room;
    if (tcb->probe_now && avail > 0 && len == 0)
        len = 1;                    /* RFC 9293 3.8.6.1: one byte into a zero window */
    fin = fin_state && tp_seq_leq(tcb->snd_nxt, data_end) && tcb->snd_nxt + len == data_end;
    /* A FIN going out again waits for cwnd like data: after an RTO the
     * segments before it (skipped SACKed data included) may carry it. */
    if (fin && len == 0 && rtx && usable == 0)
        fin = false;
    if (len == 0 && !fin)
        return false;
    /* RFC 9293 3.7.4 (Nagle, MUST-17 to be able to turn off) and 3.8.6.2.1
     * (sender SWS avoidance): hold a short segment while data is in flight,
     * unless it ends the stream or is half the largest window seen.  With
     * nothing in flight it goes, even when the window cut it short: the ACK
     * that would release it could never come. */
    if (len > 0 && len < tp_tcp_seg_max(tcb) && !fin && !rtx && !tcb->probe_now && !tcb->nodelay
        && inflight > 0 && !(tcb->max_snd_wnd > 0 && len >= tcb->max_snd_wnd / 2))
        return false;
    s->seq = tcb->snd_nxt;
    s->len = len;
    s->flags = TP_TCP_ACK;
    if (len > 0 && s->seq + len == data_end)
        s->flags |= TP_TCP_PSH;
    if (fin)
        s->flags |= TP_TCP_FIN;
    tcb->probe_now = false;
    return true;
}

/* Our FIN is the last thing sent and is not acknowledged yet. */
static bool
fin_unacked(const struct tp_tcb *tcb)
{
    bool fin_state = tcb->state == TAPIR_TCP_FIN_WAIT_1 || tcb->state == TAPIR_TCP_CLOSING
        || tcb->state == TAPIR_TCP_LAST_ACK;

    return fin_state && tcb->snd_nxt == tcb->snd_max
        && tcb->snd_max == tcb->snd_buf_seq + tcb->snd.len + 1
        && tp_seq_lt(tcb->snd_una, tcb->snd_max);
}

/* RFC 9293: what tcb would send now; false for nothing. */
static bool
next_segment(struct tp_tcb *tcb, struct seg *s)
{
    memset(s, 0, sizeof(*s));
    switch (tcb->state) {
    case TAPIR_TCP_CLOSED:
    case TAPIR_TCP_LISTEN:
        return false;
    case TAPIR_TCP_SYN_SENT:
        s->seq = tcb->iss;
        s->flags = TP_TCP_SYN;
        /* RFC 3168 6.1.1: an ECN-setup SYN; 6.1.1.1: after
         * cfg.tcp.ecn_syn_retries retransmissions without, in case ECN is
         * what gets it lost. */
        tcb->ecn_syn = tcb->st->cfg.tcp.ecn == TAPIR_TCP_ECN_ON
            && tcb->n_rtx <= tcb->st->cfg.tcp.ecn_syn_retries;
        if (tcb->ecn_syn)
            s->flags |= TP_TCP_ECE | TP_TCP_CWR;
        return tcb->snd_nxt == tcb->iss;
    case TAPIR_TCP_SYN_RECEIVED:
        s->seq = tcb->snd_nxt;
        s->flags = tcb->snd_nxt == tcb->iss ? TP_TCP_SYN | TP_TCP_ACK : TP_TCP_ACK;
        if (tcb->snd_nxt == tcb->iss && tcb->ecn_ok)
            s->flags |= TP_TCP_ECE;                 /* ECN-setup SYN,ACK */
        return tcb->snd_nxt == tcb->iss || tcb->ack_now;
    case TAPIR_TCP_ESTABLISHED:
    case TAPIR_TCP_FIN_WAIT_1:
    case TAPIR_TCP_FIN_WAIT_2:
    case TAPIR_TCP_CLOSE_WAIT:
    case TAPIR_TCP_CLOSING:
    case TAPIR_TCP_LAST_ACK:
    case TAPIR_TCP_TIME_WAIT:
        break;
    case TAPIR_TCP_NSTATES:
        return false;
    }
    if (tcb->state != TAPIR_TCP_TIME_WAIT && next_data(tcb, s))
        return true;
    if (tcb->keep_probe) {
        tcb->keep_probe = false;
        s->seq = tcb->snd_una - 1;  /* RFC 9293 3.8.4: elicits an ACK */
        s->flags = TP_TCP_ACK;
        return true;
    }
    s->seq = tp_tcp_ack_seq(tcb);
    s->flags = TP_TCP_ACK;
    if (!tcb->ack_now && !wants_window_update(tcb))
        return false;
    /* cfg.tcp.ack_repeats_fin: the ACK is a retransmission of our FIN. */
    if (tcb->st->cfg.tcp.ack_repeats_fin && fin_unacked(tcb)) {
        s->seq = tcb->snd_max - 1;
        s->flags |= TP_TCP_FIN;
    }
    return true;
}

/* len bytes of old sequence space went again: counted, told to the
 * congestion control (RFC 7661's R), and (Karn) not timed. */
static void
note_rtx(struct tp_tcb *tcb, uint32_t len)
{
    tp_stat_inc(tcb->st, TP_STAT_TCP_RETRANS_SEGS);
    tcb->total_retrans++;
    tp_cc_on_retransmit(tcb, len);
    tcb->rtt_timing = false;
}

/* After sending s: sequence space, RTT timing, retransmission timer. */
static void
account(struct tp_tcb *tcb, const struct seg *s, struct tapir_time now)
{
    uint32_t n = s->len + !!(s->flags & TP_TCP_SYN) + !!(s->flags & TP_TCP_FIN);

    if (n == 0 || s->seq == tcb->snd_una - 1)
        return;
    if (tp_seq_lt(s->seq, tcb->snd_max)) {
        note_rtx(tcb, s->len);
    } else if (!tcb->rtt_timing) {
        tcb->rtt_timing = true;     /* RFC 6298 (Karn): only new data is timed */
        tcb->rtt_seq = s->seq;
        tcb->rtt_start = now;
    }
    tcb->last_send = now;
    tcb->snd_nxt = s->seq + n;
    if (tp_seq_gt(tcb->snd_nxt, tcb->snd_max))
        tcb->snd_max = tcb->snd_nxt;
    tp_tcp_arm_rtx(tcb, now);
}

/* RFC 9293 3.8.6.1: data waits on a zero window with nothing in flight:
 * the persist timer will probe it. */
static void
arm_persist(struct tp_tcb *tcb, struct tapir_time now)
{
    uint32_t data_end = tcb->snd_buf_seq + tcb->snd.len;

    if (!is_synchronized(tcb->state) || tcb->snd_wnd != 0 || tcb->snd_nxt != tcb->snd_una
        || !tp_seq_lt(tcb->snd_nxt, data_end) || tcb->rtx_at.us != INT64_MAX)
        return;
    tcb->persist = true;
    tcb->rtx_at = tapir_time_add(now, TAPIR_US(tcb->rto_us > TP_TCP_PERSIST_MIN_MS * 1000
        ? tcb->rto_us : TP_TCP_PERSIST_MIN_MS * 1000));
    tp_tcp_timer_update(tcb);
}

/* Retransmit [seq, seq + len) in SACK recovery (RFC 6675 5 (C.1)-(C.3));
 * the rescue (rule 4) leaves HighRxt alone. */
static void
sack_send(struct tp_tcb *tcb, const struct seg *s, bool rescue)
{
    emit(tcb, s);
    if (!rescue && tp_seq_gt(s->seq + s->len, tcb->high_rxt))
        tcb->high_rxt = s->seq + s->len;
    tp_stat_inc(tcb->st, rescue ? TP_STAT_TCP_EXT_SACK_RESCUE : TP_STAT_TCP_EXT_SACK_RETRANS);
    note_rtx(tcb, s->len);
}

/* What NextSeg() names now (tail: no new data could go), cut to a segment
 * of the send ring; a lost record that held our FIN sends it again. */
static bool
sack_next(struct tp_tcb *tcb, bool tail, struct seg *s, bool *rescue)
{
    uint32_t data_end = tcb->snd_buf_seq + tcb->snd.len, seq, len;
    bool fin_state = tcb->state == TAPIR_TCP_FIN_WAIT_1 || tcb->state == TAPIR_TCP_CLOSING
        || tcb->state == TAPIR_TCP_LAST_ACK;

    *rescue = false;
    if (tp_rack_active(tcb)) {
        /* Rules (3) and (4) are the reordering timer's and the probe's. */
        if (tail || !tp_rack_next_lost(tcb, &seq, &len))
            return false;
    } else if (!tp_sack_next_hole(tcb, !tail, &seq, &len)) {
        if (!tail || !tp_sack_rescue(tcb, data_end, &seq, &len))
            return false;
        *rescue = true;
    }
    if (tp_seq_lt(seq, tcb->snd_buf_seq) || tp_seq_gt(seq, data_end))
        return false;
    *s = (struct seg){ .seq = seq, .len = len, .flags = TP_TCP_ACK };
    if (tp_seq_gt(seq + len, data_end)) {
        s->len = data_end - seq;
        if (fin_state && seq + len == data_end + 1)
            s->flags |= TP_TCP_FIN;
    }
    if (s->len > tp_tcp_seg_max(tcb)) {
        s->len = tp_tcp_seg_max(tcb);
        s->flags = TP_TCP_ACK;
    }
    return s->len > 0 || (s->flags & TP_TCP_FIN);
}

/* RFC 6675 5 (C): while cwnd - pipe allows a segment, retransmit what
 * NextSeg() names: before new data (tail false) rule (1), the lost holes;
 * after it (tail true: no new data could go) rules (3) and (4).  With
 * RACK, lost records are resent outside recovery too (after an RTO), and
 * the first of a recovery goes whatever cwnd says (RFC 6675 5 (4.3)). */
static void
sack_retransmit(struct tp_tcb *tcb, bool tail)
{
    bool rescue = false;
    struct seg s;

    if (!tcb->opt_sack || (!tcb->in_recovery && !tp_rack_active(tcb)))
        return;
    for (int guard = 0; guard < 1000 && !rescue; guard++) {
        if (!tcb->rtx_force && tp_sack_pipe(tcb) + tp_tcp_seg_max(tcb) > tcb->cwnd)
            return;
        if (!sack_next(tcb, tail, &s, &rescue))
            return;
        tcb->rtx_force = false;
        sack_send(tcb, &s, rescue);
    }
}

/* RFC 8985 7.3: the tail loss probe tcp_rack.c asked for: one new segment
 * (cwnd notwithstanding), or the last segment sent, again. */
static void
send_probe(struct tp_tcb *tcb, struct tapir_time now)
{
    uint32_t data_end = tcb->snd_buf_seq + tcb->snd.len;
    uint32_t inflight = tcb->snd_nxt - tcb->snd_una;
    struct seg s = { .flags = TP_TCP_ACK };

    tcb->tlp_now = false;
    if (tcb->tlp_new && tp_seq_lt(tcb->snd_nxt, data_end) && tcb->snd_wnd > inflight) {
        s.seq = tcb->snd_nxt;
        s.len = data_end - s.seq;
        if (s.len > tcb->snd_wnd - inflight)
            s.len = tcb->snd_wnd - inflight;
        if (s.len > tp_tcp_seg_max(tcb))
            s.len = tp_tcp_seg_max(tcb);
        if (s.seq + s.len == data_end)
            s.flags |= TP_TCP_PSH;
        emit(tcb, &s);
        account(tcb, &s, now);
        tp_rack_probe_sent(tcb, false, now);
        return;
    }
    /* The last segment: with our FIN if that was sent. */
    if (tcb->snd_max == data_end + 1 && (tcb->state == TAPIR_TCP_FIN_WAIT_1
        || tcb->state == TAPIR_TCP_CLOSING || tcb->state == TAPIR_TCP_LAST_ACK))
        s.flags |= TP_TCP_FIN;
    data_end = tp_seq_min(tcb->snd_max, data_end);
    if (!tp_seq_lt(tcb->snd_una, data_end) || tp_seq_lt(tcb->snd_una, tcb->snd_buf_seq))
        return;
    s.seq = data_end - tcb->snd_una > tp_tcp_seg_max(tcb) ? data_end - tp_tcp_seg_max(tcb)
        : tcb->snd_una;
    s.seq = tp_seq_max(s.seq, tp_rack_last_start(tcb));     /* that segment, not more */
    if (!tp_seq_lt(s.seq, data_end))
        return;
    s.len = data_end - s.seq;
    emit(tcb, &s);
    note_rtx(tcb, s.len);
    tp_rack_probe_sent(tcb, true, now);
}

void
tp_tcp_output(struct tp_tcb *tcb, struct tapir_time now)
{
    uint32_t max0 = tcb->snd_max;
    struct seg s;

    if (tcb->rtx_once) {
        /* RFC 5681 3.2: resend the first unacknowledged segment only. */
        uint32_t data_end = tcb->snd_buf_seq + tcb->snd.len;
        uint32_t len = tp_seq_lt(tcb->snd_una, data_end) ? data_end - tcb->snd_una : 0;

        tcb->rtx_once = false;
        if (len > tp_tcp_seg_max(tcb))
            len = tp_tcp_seg_max(tcb);
        if (len > 0 && tp_seq_geq(tcb->snd_una, tcb->snd_buf_seq)) {
            s = (struct seg){ .seq = tcb->snd_una, .len = len, .flags = TP_TCP_ACK };
            emit(tcb, &s);
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_FAST_RETRANS);
            note_rtx(tcb, len);
        }
    }
    /* After more than an RTO without sending, the ACK clock is gone:
     * cfg.tcp.cwv says what becomes of the window (tcp_cc.c). */
    if (is_synchronized(tcb->state) && tcb->snd_una == tcb->snd_max && tcb->last_send.us != 0
        && tapir_time_sub(now, tcb->last_send).us > tcb->rto_us) {
        tp_cc_after_idle(tcb);
        tcb->last_send = now;
    }
    if (tcb->tlp_now && is_synchronized(tcb->state))
        send_probe(tcb, now);
    sack_retransmit(tcb, false);
    for (int guard = 0; guard < 100000 && next_segment(tcb, &s); guard++) {
        emit(tcb, &s);
        account(tcb, &s, now);
    }
    sack_retransmit(tcb, true);
    if (tcb->snd_max != max0)
        tp_rack_after_send(tcb, now);
    arm_persist(tcb, now);
}

void
tp_tcp_output_later(struct tp_tcb *tcb)
{
    struct tp_tcp *tcp = tcb->st->tcp;

    if (tcb->out_queued)
        return;
    tcb->out_queued = true;
    tcb->out_next = tcp->out_head;
    tcp->out_head = tcb->index;
}

/*
 * The sequence number of a segment without data: the highest sent (after a
 * timeout SND.NXT went back, and an ACK at SND.NXT would look old to the
 * peer), but no further than the right edge of the peer's window.  A peer
 * that shrank its window to zero with our data in flight accepts only
 * SEQ = RCV.NXT (RFC 9293 3.10.7.4), and a Linux receiver drops a segment
 * outside its window without reading its ACK: both sides would then wait
 * for each other for good.
 */
uint32_t
tp_tcp_ack_seq(const struct tp_tcb *tcb)
{
    uint32_t wnd_end = tcb->snd_una + tcb->snd_wnd;

    return tp_seq_leq(tcb->snd_max, wnd_end) ? tcb->snd_max : wnd_end;
}

void
tp_tcp_send_ack(struct tp_tcb *tcb)
{
    struct seg s = { .seq = tp_tcp_ack_seq(tcb), .flags = TP_TCP_ACK };

    emit(tcb, &s);
}

void
tp_tcp_send_challenge_ack(struct tp_tcb *tcb, struct tapir_time now)
{
    /* RFC 5961 7: rate limited, counted either way. */
    if (!tp_ratelimit_take(&tcb->st->tcp->challenge_rl, now)) {
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_CHALLENGE_ACK_LIMITED);
        return;
    }
    tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_CHALLENGE_ACK);
    tp_tcp_send_ack(tcb);
}

void
tp_tcp_send_rst(struct tapir_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
    uint16_t rport, uint32_t seq, uint32_t ack, bool with_ack, const struct tp_tcb *sk)
{
    struct tp_tcp_out o = { 0 };
    uint8_t buf[TP_TCPHDR_MAX];
    struct tapir_iov iov;
    size_t hlen;

    o.src_port = lport;
    o.dst_port = rport;
    o.seq = seq;
    o.ack = with_ack ? ack : 0;
    o.flags = (uint8_t)(TP_TCP_RST | (with_ack ? TP_TCP_ACK : 0));
    hlen = tp_tcphdr_len(&o);
    tp_tcphdr_emit(&o, buf);
    tp_store_be16(buf + 16, tp_tcp_csum(laddr, raddr, buf, hlen));
    iov = (struct tapir_iov){ buf, hlen };
    if (tp_ip_output(st, raddr, TP_IP_PROTO_TCP, sk ? sk->ip_tos : 0, sk ? sk->ip_ttl : 0,
            &iov, 1) == 0) {
        tp_stat_inc(st, TP_STAT_TCP_OUT_SEGS);
        tp_stat_inc(st, TP_STAT_TCP_OUT_RSTS);
    }
}
