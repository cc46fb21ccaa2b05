/*
 * src/core/tcp_rack.c -- RACK-TLP loss detection (RFC 8985) for a SACK
 * connection, when cfg.tcp.rack is on.
 *
 * Per-segment records: each transmitted segment (data and FIN; not SYN)
 * gets a record [seq, end) with the time of its latest transmission and
 * flags (SACKED, LOST, RTX: retransmitted at least once, RTX_OUT: that
 * retransmission is still in flight).  The records sit in SEQ order in an
 * array allocated with the send ring (sndbuf / 512 + 16 of them), from
 * SND.UNA up; a full array merges new data into its last record, so
 * memory stays bounded and only the timing gets coarser.
 *
 * RACK (RFC 8985 6): a segment is lost when one sent after it has been
 * delivered (ACKed or SACKed) and a reordering window has passed since:
 * this finds lost retransmissions and losses with fewer than DupThresh
 * segments behind them.  RFC 6675's DupThresh rule still marks too
 * (tcp_sack.c IsLost); both feed NextSeg() rule 1, which in this mode is
 * "the first LOST record below SND.NXT"; pipe is the bytes of records
 * neither SACKed nor LOST.  NextSeg() rules 3 and 4 are left out in this
 * mode: the reordering timer and the tail loss probe do their work.
 *
 * TLP (RFC 8985 7): when ACKs stop for PTO = 2 SRTT (plus 200 ms when one
 * segment is in flight; at least 10 ms, at most the RTO), one probe goes:
 * a new segment if the window allows, else the last one again.  Its ACK
 * (or SACK) makes RACK find a tail loss without waiting for the RTO.
 *
 * Called by tcp_output.c (each transmission), tcp_input.c (each ACK),
 * tcp_timer.c (the RACK deadline, RTO) and tcp_sack.c (pipe, rule 1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/tcp_int.h"

#define REC_SACKED 0x1u
#define REC_LOST 0x2u               /* deemed lost, not sent again since */
#define REC_RTX 0x4u                /* retransmitted at least once */
#define REC_RTX_OUT 0x8u            /* the latest retransmission is in flight */
#define DUPTHRESH 3u
#define PTO_ONE_SEG_US 200000       /* RFC 8985 7.2 WCDelAckT */
#define PTO_MIN_US 10000          /* our floor: see docs/loss-recovery.md */
#define PTO_NO_RTT_US 1000000       /* RFC 8985 7.2: no SRTT yet */
#define REO_WND_PERSIST 16          /* RFC 8985 6.2 step 4 */
#define REO_WND_MULT_MAX 64         /* the window stays below SRTT anyway */

bool
tp_rack_active(const struct tp_tcb *tcb)
{
    return tcb->opt_sack && tcb->st->cfg.tcp.rack && tcb->recs != NULL;
}

/* A record counts as marked while SACKED or LOST: pipe leaves it out. */
static bool
is_marked(uint32_t flags)
{
    return (flags & (REC_SACKED | REC_LOST)) != 0;
}

/* LOST and not SACKED: what NextSeg() rule (1) would resend. */
static bool
is_to_resend(uint32_t flags)
{
    return (flags & (REC_SACKED | REC_LOST)) == REC_LOST;
}

/* Every change of a record's flags goes through here, so that the counts
 * of marked and to-be-resent records stay exact: with none of either (a
 * transfer without loss), pipe and NextSeg() need no walk over records. */
static void
set_flags(struct tp_tcb *tcb, struct tp_seg_rec *r, uint32_t flags)
{
    if (is_marked(flags) && !is_marked(r->flags))
        tcb->rec_n_marked++;
    else if (!is_marked(flags) && is_marked(r->flags))
        tcb->rec_n_marked--;
    if (is_to_resend(flags) && !is_to_resend(r->flags))
        tcb->rec_n_lost++;
    else if (!is_to_resend(flags) && is_to_resend(r->flags))
        tcb->rec_n_lost--;
    r->flags = (uint8_t)flags;
}

int
tp_rack_alloc(struct tp_tcb *tcb)
{
    uint32_t cap = tcb->sndbuf_cap / 512 + 16;

    if (tcb->recs != NULL)
        return 0;
    tcb->recs = malloc((size_t)cap * sizeof(tcb->recs[0]));
    if (tcb->recs == NULL)
        return -ENOMEM;
    tcb->rec_cap = cap;
    tcb->rec_head = tcb->rec_n = tcb->rec_n_marked = tcb->rec_n_lost = 0;
    tcb->rack.reo_wnd_mult = 1;
    return 0;
}

void
tp_rack_free(struct tp_tcb *tcb)
{
    free(tcb->recs);
    tcb->recs = NULL;
    tcb->rec_cap = tcb->rec_head = tcb->rec_n = tcb->rec_n_marked = tcb->rec_n_lost = 0;
}

static struct tp_seg_rec *
rec_at(const struct tp_tcb *tcb, uint32_t i)
{
    return &tcb->recs[tcb->rec_head + i];
}

/* RFC 8985 6.2 RACK_sent_after().  Ties of the clock are broken by the
 * order of transmission, not by end sequence number as the RFC does: a
 * retransmission sent in the same microsecond after new data is later. */
static bool
sent_after(int64_t t1, uint32_t n1, int64_t t2, uint32_t n2)
{
    return t1 > t2 || (t1 == t2 && (int32_t)(n1 - n2) > 0);
}

/* The first record that ends past seq (binary search; rec_n if none). */
static uint32_t
rec_find(const struct tp_tcb *tcb, uint32_t seq)
{
    uint32_t lo = 0, hi = tcb->rec_n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (tp_seq_leq(rec_at(tcb, mid)->end, seq))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void
rec_append(struct tp_tcb *tcb, uint32_t seq, uint32_t end, int64_t t, uint32_t n)
{
    struct tp_seg_rec *last;

    if (tcb->rec_head + tcb->rec_n == tcb->rec_cap && tcb->rec_head > 0) {
        memmove(tcb->recs, rec_at(tcb, 0), (size_t)tcb->rec_n * sizeof(tcb->recs[0]));
        tcb->rec_head = 0;
    }
    if (tcb->rec_n == tcb->rec_cap) {
        /* Full: the last record grows (bounded memory, coarser timing). */
        last = rec_at(tcb, tcb->rec_n - 1);
        last->end = end;
        last->xmit_us = t;
        last->xmit_n = n;
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_SEG_REC_MERGED);
        return;
    }
    *rec_at(tcb, tcb->rec_n++) = (struct tp_seg_rec){ .seq = seq, .end = end, .xmit_us = t,
        .xmit_n = n };
}

void
tp_rack_on_send(struct tp_tcb *tcb, uint32_t seq, uint32_t n, struct tapir_time now)
{
    uint32_t end = seq + n, i, order = ++tcb->rack.n_sent;

    if (tcb->recs == NULL || n == 0)
        return;
    /* A retransmission: the records it covers were sent now, and again. */
    for (i = rec_find(tcb, seq); i < tcb->rec_n && tp_seq_lt(rec_at(tcb, i)->seq, end); i++) {
        struct tp_seg_rec *r = rec_at(tcb, i);

        r->xmit_us = now.us;
        r->xmit_n = order;
        set_flags(tcb, r, (r->flags & ~REC_LOST) | REC_RTX | REC_RTX_OUT);
    }
    if (tcb->rec_n > 0 && tp_seq_geq(rec_at(tcb, tcb->rec_n - 1)->end, end))
        return;
    if (tcb->rec_n > 0 && tp_seq_gt(rec_at(tcb, tcb->rec_n - 1)->end, seq))
        seq = rec_at(tcb, tcb->rec_n - 1)->end;
    rec_append(tcb, seq, end, now.us, order);
}

/* RFC 8985 6.2 step 2: a delivered record updates RACK.xmit_ts, .end_seq
 * and .rtt, unless it was retransmitted and the ACK may be for the
 * original (RTT below the minimum); step 3: a never-retransmitted record
 * delivered below RACK.fack shows reordering. */
static void
rack_update(struct tp_tcb *tcb, const struct tp_seg_rec *r, struct tapir_time now)
{
    struct tp_rack *k = &tcb->rack;
    int64_t rtt = now.us - r->xmit_us;

    if (!(r->flags & REC_RTX)) {
        if (k->min_rtt_us == 0 || rtt < k->min_rtt_us)
            k->min_rtt_us = rtt > 0 ? rtt : 1;
        if (k->fack_valid && tp_seq_lt(r->end, k->fack) && !k->reordering_seen) {
            k->reordering_seen = true;
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_RACK_REORDER);
        }
    } else if (rtt < k->min_rtt_us) {
        return;
    }
    if (!k->fack_valid || tp_seq_gt(r->end, k->fack)) {
        k->fack = r->end;
        k->fack_valid = true;
    }
    if (!k->valid || sent_after(r->xmit_us, r->xmit_n, k->xmit_us, k->xmit_n)) {
        k->xmit_us = r->xmit_us;
        k->xmit_n = r->xmit_n;
        k->rtt_us = rtt;
        k->valid = true;
    }
}

/* Records SND.UNA passed are delivered: update RACK, drop them. */
static void
drop_acked(struct tp_tcb *tcb, struct tapir_time now)
{
    while (tcb->rec_n > 0 && tp_seq_leq(rec_at(tcb, 0)->end, tcb->snd_una)) {
        struct tp_seg_rec *r = rec_at(tcb, 0);

        if (!(r->flags & REC_SACKED))
            rack_update(tcb, r, now);
        set_flags(tcb, r, 0);
        tcb->rec_head++;
        tcb->rec_n--;
    }
    if (tcb->rec_n == 0)
        tcb->rec_head = 0;
    else if (tp_seq_lt(rec_at(tcb, 0)->seq, tcb->snd_una))
        rec_at(tcb, 0)->seq = tcb->snd_una;
}

/* Mark records the scoreboard's SACKed ranges cover (both lists sorted);
 * returns the number of SACKed records. */
static uint32_t
mark_sacked(struct tp_tcb *tcb, struct tapir_time now)
{
    uint32_t i = 0, n = 0;

    for (uint8_t b = 0; b < tcb->n_sacked; b++) {
        struct tp_sack_block s = tcb->sacked[b];

        for (i = i < rec_find(tcb, s.left) ? rec_find(tcb, s.left) : i;
             i < tcb->rec_n && tp_seq_leq(rec_at(tcb, i)->end, s.right); i++) {
            struct tp_seg_rec *r = rec_at(tcb, i);

            if (tp_seq_lt(r->seq, s.left))
                continue;
            n++;
            if (r->flags & REC_SACKED)
                continue;
            set_flags(tcb, r, (r->flags | REC_SACKED) & ~(REC_LOST | REC_RTX_OUT));
            rack_update(tcb, r, now);
        }
    }
    return n;
}

/* RFC 8985 6.2 step 4, first half: a D-SACK (at most one per round
 * trip) says a retransmission was spurious, so the reordering window
 * grows by min_RTT / 4; after 16 recoveries without one it falls back. */
static void
reo_wnd_update(struct tp_tcb *tcb)
{
    struct tp_rack *k = &tcb->rack;

    if (k->dsack_round_valid && tp_seq_geq(tcb->snd_una, k->dsack_round))
        k->dsack_round_valid = false;
    if (!k->dsack_round_valid && k->dsack_on_ack) {
        k->dsack_round_valid = true;
        k->dsack_round = tcb->snd_max;
        if (k->reo_wnd_mult < REO_WND_MULT_MAX)
            k->reo_wnd_mult++;
        k->reo_wnd_persist = REO_WND_PERSIST;
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_RACK_REO_WND_GROWN);
    } else if (k->was_in_recovery && !tcb->in_recovery) {
        if (k->reo_wnd_persist > 0)
            k->reo_wnd_persist--;
        if (k->reo_wnd_persist == 0)
            k->reo_wnd_mult = 1;
    }
    k->dsack_on_ack = false;
    k->was_in_recovery = tcb->in_recovery;
}

/* RFC 8985 6.2 step 4, second half: the reordering window. */
static int64_t
reo_wnd(const struct tp_tcb *tcb, uint32_t n_sacked_recs)
{
    const struct tp_rack *k = &tcb->rack;
    int64_t w = k->min_rtt_us / 4 * k->reo_wnd_mult;

    if (!k->reordering_seen && (tcb->in_recovery || tp_seq_lt(tcb->snd_una, tcb->recover)
        || n_sacked_recs >= DUPTHRESH))
        return 0;
    return tcb->rtt_valid && tcb->srtt_us < w ? tcb->srtt_us : w;
}

static void
mark_lost(struct tp_tcb *tcb, struct tp_seg_rec *r, uint32_t *n)
{
    if (r->flags & REC_RTX_OUT)
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_LOST_RETRANSMIT);
    set_flags(tcb, r, (r->flags | REC_LOST) & ~REC_RTX_OUT);
    (*n)++;
}

/* RFC 8985 6.2 step 5, with RFC 6675's DupThresh rule beside it: mark lost
 * records; returns how many were marked, and in *wait how long until the
 * next one may be (0: none pending). */
static uint32_t
detect_loss(struct tp_tcb *tcb, uint32_t n_sacked_recs, struct tapir_time now, int64_t *wait)
{
    const struct tp_rack *k = &tcb->rack;
    int64_t w = reo_wnd(tcb, n_sacked_recs);
    uint32_t n = 0;

    *wait = 0;
    for (uint32_t i = 0; i < tcb->rec_n; i++) {
        struct tp_seg_rec *r = rec_at(tcb, i);
        int64_t left;

        if (r->flags & (REC_SACKED | REC_LOST))
            continue;
        if (!(r->flags & REC_RTX) && tcb->n_sacked > 0 && tp_sack_is_lost(tcb, r->seq)) {
            mark_lost(tcb, r, &n);              /* DupThresh (RFC 6675 IsLost) */
            continue;
        }
        if (!k->valid || !sent_after(k->xmit_us, k->xmit_n, r->xmit_us, r->xmit_n)) {
            if (!(r->flags & REC_RTX))
                break;                          /* the rest were sent later still */
            continue;
        }
        left = r->xmit_us + k->rtt_us + w - now.us;
        if (left <= 0) {
            mark_lost(tcb, r, &n);
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_RACK_LOST);
        } else if (left > *wait) {
            *wait = left;
        }
    }
    return n;
}

/* RFC 8985 7.2: the probe timeout, or NEVER when no probe is due. */
static struct tapir_time
pto_deadline(const struct tp_tcb *tcb, struct tapir_time now)
{
    int64_t pto;
    struct tapir_time t;

    if (tcb->in_recovery || tp_seq_lt(tcb->snd_una, tcb->recover) || tcb->rack.tlp_in_flight
        || tcb->snd_una == tcb->snd_max || tcb->persist || tcb->rtx_at.us == INT64_MAX)
        return TAPIR_TIME_NEVER;
    if (!tcb->rtt_valid) {
        pto = PTO_NO_RTT_US;
    } else {
        pto = 2 * tcb->srtt_us;
        if (tcb->snd_max - tcb->snd_una <= tp_tcp_seg_max(tcb))
            pto += PTO_ONE_SEG_US;
    }
    if (pto < PTO_MIN_US)
        pto = PTO_MIN_US;
    t = tapir_time_add(now, TAPIR_US(pto));
    return t.us < tcb->rtx_at.us ? t : TAPIR_TIME_NEVER;
}

/* Arm the RACK deadline: the reordering timer if a record waits on it,
 * else the probe timeout. */
static void
rack_arm(struct tp_tcb *tcb, int64_t wait, struct tapir_time now)
{
    tcb->rack_reo = wait > 0;
    tcb->rack_at = wait > 0 ? tapir_time_add(now, TAPIR_US(wait)) : pto_deadline(tcb, now);
    tp_tcp_timer_update(tcb);
}

/* RFC 8985 7.4: the probe's episode ends with the ACK that covers it; a
 * retransmitted probe that no D-SACK calls spurious repaired a real loss,
 * which the congestion control hears of as one. */
static void
tlp_check(struct tp_tcb *tcb)
{
    struct tp_rack *k = &tcb->rack;

    if (!k->tlp_in_flight || tp_seq_lt(tcb->snd_una, k->tlp_end))
        return;
    k->tlp_in_flight = false;
    if (k->tlp_is_retrans && !k->dsack_seen && !tcb->in_recovery) {
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_LOSS_PROBE_RECOVERY);
        tp_cc_on_congestion(tcb);
    }
}

/* New losses marked: recovery begins if it may (tcp_sack.c decides). */
static void
on_lost(struct tp_tcb *tcb, uint32_t n)
{
    if (n > 0 && !tcb->in_recovery)
        tp_recovery_on_loss(tcb);
}

void
tp_rack_on_ack(struct tp_tcb *tcb, struct tapir_time now)
{
    uint32_t n_sacked;
    int64_t wait;

    if (!tp_rack_active(tcb))
        return;
    drop_acked(tcb, now);
    n_sacked = mark_sacked(tcb, now);
    reo_wnd_update(tcb);
    tlp_check(tcb);
    on_lost(tcb, detect_loss(tcb, n_sacked, now, &wait));
    rack_arm(tcb, wait, now);
}

void
tp_rack_after_send(struct tp_tcb *tcb, struct tapir_time now)
{
    /* RFC 8985 7.2: new data restarts the probe timer (not the
     * reordering timer). */
    if (!tp_rack_active(tcb) || tcb->rack_reo)
        return;
    tcb->rack_at = pto_deadline(tcb, now);
    tp_tcp_timer_update(tcb);
}

/* RFC 8985 7.3: the probe: a new segment if the peer's window has room,
 * else the last segment sent, again. */
static void
tlp_fire(struct tp_tcb *tcb)
{
    uint32_t data_end = tcb->snd_buf_seq + tcb->snd.len;
    uint32_t inflight = tcb->snd_nxt - tcb->snd_una;

    if (tp_seq_lt(tcb->snd_nxt, data_end) && tcb->snd_wnd > inflight && tcb->snd_nxt == tcb->snd_max) {
        tcb->tlp_new = true;
    } else if (tp_seq_lt(tcb->snd_una, tp_seq_min(tcb->snd_max, data_end))) {
        tcb->tlp_new = false;
    } else {
        return;                     /* only a FIN in flight: the RTO resends it */
    }
    tcb->tlp_now = true;
}

void
tp_rack_timer(struct tp_tcb *tcb, struct tapir_time now)
{
    int64_t wait;

    tcb->rack_at = TAPIR_TIME_NEVER;
    if (!tp_rack_active(tcb) || tcb->snd_una == tcb->snd_max)
        return;
    if (tcb->rack_reo) {
        /* RFC 8985 6.3: the reordering window passed. */
        tcb->rack_reo = false;
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_RACK_REO_TIMEOUT);
        on_lost(tcb, detect_loss(tcb, mark_sacked(tcb, now), now, &wait));
        rack_arm(tcb, wait, now);
        return;
    }
    tlp_fire(tcb);
}

void
tp_rack_probe_sent(struct tp_tcb *tcb, bool retrans, struct tapir_time now)
{
    struct tp_rack *k = &tcb->rack;

    tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_LOSS_PROBES);
    k->tlp_in_flight = true;
    k->tlp_is_retrans = retrans;
    k->tlp_end = tcb->snd_max;
    k->dsack_seen = false;
    /* RFC 8985 7.3: after the probe, the RTO. */
    tcb->rtx_at = tapir_time_add(now, TAPIR_US(tcb->rto_us));
    tcb->rack_at = TAPIR_TIME_NEVER;
    tp_tcp_timer_update(tcb);
}

void
tp_rack_on_rto(struct tp_tcb *tcb)
{
    /* Everything not SACKed is lost (RFC 8985 6.3, RFC 6675 5.1);
     * go-back-N resends it, and a retransmission lost again is found by
     * RACK and resent by NextSeg() rule 1. */
    for (uint32_t i = 0; i < tcb->rec_n; i++) {
        struct tp_seg_rec *r = rec_at(tcb, i);

        if (!(r->flags & REC_SACKED))
            set_flags(tcb, r, (r->flags | REC_LOST) & ~REC_RTX_OUT);
    }
    tcb->rack.tlp_in_flight = false;
    tcb->rack_reo = false;
    tcb->rack_at = TAPIR_TIME_NEVER;
}

/* RFC 6675 SetPipe with per-segment state: what is neither SACKed nor
 * lost is in flight, once (a retransmission clears LOST). */
static uint32_t
pipe_walk(const struct tp_tcb *tcb)
{
    uint32_t pipe = 0;

    for (uint32_t i = 0; i < tcb->rec_n; i++) {
        const struct tp_seg_rec *r = rec_at(tcb, i);

        if (!tp_seq_lt(r->seq, tcb->snd_nxt))
            break;
        if (!(r->flags & (REC_SACKED | REC_LOST)))
            pipe += tp_seq_min(r->end, tcb->snd_nxt) - tp_seq_max(r->seq, tcb->snd_una);
    }
    return pipe;
}

/*
 * Output asks for pipe before every segment, so a walk over the records
 * (up to sndbuf / MSS of them) made a window's worth of sending quadratic:
 * 70 % of the instructions of a clean 16 MB transfer in the simulator.
 * With no record SACKED or LOST the records, contiguous from SND.UNA,
 * are all in flight up to SND.NXT; debug builds check that against the walk.
 */
uint32_t
tp_rack_pipe(const struct tp_tcb *tcb)
{
    const struct tp_seg_rec *first, *last;
    uint32_t pipe;

    if (tcb->rec_n == 0)
        return tcb->snd_nxt - tcb->snd_una;
    if (tcb->rec_n_marked != 0)
        return pipe_walk(tcb);
    first = rec_at(tcb, 0);
    last = rec_at(tcb, tcb->rec_n - 1);
    pipe = tp_seq_lt(first->seq, tcb->snd_nxt)
        ? tp_seq_min(last->end, tcb->snd_nxt) - tp_seq_max(first->seq, tcb->snd_una) : 0;
    TP_ASSERT(pipe == pipe_walk(tcb));
    return pipe;
}

bool
tp_rack_next_lost(const struct tp_tcb *tcb, uint32_t *seq, uint32_t *len)
{
    if (tcb->rec_n_lost == 0)
        return false;               /* nothing to resend: no walk */
    for (uint32_t i = 0; i < tcb->rec_n; i++) {
        const struct tp_seg_rec *r = rec_at(tcb, i);
        uint32_t s = tp_seq_max(r->seq, tcb->snd_una);

        if (!tp_seq_lt(r->seq, tcb->snd_nxt))
            return false;
        if ((r->flags & (REC_LOST | REC_SACKED)) == REC_LOST && tp_seq_lt(s, r->end)) {
            *seq = s;
            *len = r->end - s;
            return true;
        }
    }
    return false;
}

uint32_t
tp_rack_last_start(const struct tp_tcb *tcb)
{
    return tcb->rec_n > 0 ? rec_at(tcb, tcb->rec_n - 1)->seq : tcb->snd_una;
}

void
tp_rack_mark_head_lost(struct tp_tcb *tcb)
{
    struct tp_seg_rec *r;
    uint32_t n = 0;

    if (!tp_rack_active(tcb) || tcb->rec_n == 0)
        return;
    r = rec_at(tcb, 0);
    if (!(r->flags & (REC_SACKED | REC_LOST | REC_RTX_OUT)))
        mark_lost(tcb, r, &n);
}
