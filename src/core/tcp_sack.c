/*
 * src/core/tcp_sack.c -- the sender's loss recovery: the SACK scoreboard
 * and conservative recovery of RFC 6675 when SACK was negotiated, NewReno
 * fast recovery (RFC 6582) when it was not.
 *
 * The scoreboard is a short sorted list of SACKed ranges above SND.UNA.
 * Blocks that are inverted, outside SND.UNA..SND.MAX, or repeated within
 * one segment are ignored and counted (a block below SND.UNA is a D-SACK,
 * RFC 2883: counted, not used); a full list drops the new block, counted:
 * memory never grows.  Called by tcp_input.c (ACKs), tcp_output.c (what
 * to retransmit, how much is in flight) and tcp_timer.c (RTO).
 *
 * NextSeg() (RFC 6675 4) is split by when tcp_output.c asks: rule (1),
 * lost holes, before new data; rule (2), new data, is tcp_output.c's own;
 * rules (3), holes not yet deemed lost, and (4), one rescue retransmission
 * at the tail per recovery, when no new data can go.  After an RTO the
 * scoreboard is kept (RFC 6675 5.1): go-back-N skips SACKed ranges.
 */
#include <string.h>

#include "core/tcp_int.h"

#define DUPTHRESH 3                 /* RFC 6675 2 */

/* Merge [l, r) into the sorted, disjoint list; false if it is full. */
static bool
board_add(struct tp_tcb *tcb, uint32_t l, uint32_t r, bool *grew)
{
    struct tp_sack_block *b = tcb->sacked;
    uint8_t i = 0, j, n = tcb->n_sacked;
    uint32_t old = 0;

    while (i < n && tp_seq_lt(b[i].right, l))
        i++;
    for (j = i; j < n && tp_seq_leq(b[j].left, r); j++) {
        old += b[j].right - b[j].left;
        l = tp_seq_min(l, b[j].left);
        r = tp_seq_max(r, b[j].right);
    }
    if (i == j) {
        if (n == TP_TCP_SACK_MAX_BLOCKS)
            return false;
        memmove(&b[i + 1], &b[i], (size_t)(n - i) * sizeof(b[0]));
        tcb->n_sacked++;
    } else if (j - i > 1) {
        memmove(&b[i + 1], &b[j], (size_t)(n - j) * sizeof(b[0]));
        tcb->n_sacked = (uint8_t)(n - (j - i - 1));
    }
    b[i] = (struct tp_sack_block){ l, r };
    if (r - l > old)
        *grew = true;
    return true;
}

bool
tp_sack_input(struct tp_tcb *tcb, const struct tp_tcp_opts *o)
{
    struct tapir_stack *st = tcb->st;
    bool grew = false;

    if (!tcb->opt_sack)
        return false;
    for (uint8_t i = 0; i < o->n_sack; i++) {
        uint32_t l = o->sack[i].left, r = o->sack[i].right;
        bool dup = false;

        for (uint8_t k = 0; k < i; k++)
            dup = dup || (o->sack[k].left == l && o->sack[k].right == r);
        if (dup) {
            tp_stat_inc(st, TP_STAT_TCP_EXT_SACK_REPEATED);
        } else if (!tp_seq_lt(l, r)) {
            tp_stat_inc(st, TP_STAT_TCP_EXT_SACK_INVERTED);
        } else if (i == 0 && tp_seq_leq(r, tcb->snd_una) && tp_seq_geq(l, tcb->snd_una - tcb->max_snd_wnd)) {
            tp_stat_inc(st, TP_STAT_TCP_EXT_DSACK_RECV);     /* RFC 2883 */
            tcb->rack.dsack_seen = true;    /* RFC 8985 7.4: a probe was spurious */
            tcb->rack.dsack_on_ack = true;  /* RFC 8985 6.2 step 4 */
        } else if (tp_seq_lt(l, tcb->snd_una) || tp_seq_gt(r, tcb->snd_max)) {
            tp_stat_inc(st, TP_STAT_TCP_EXT_SACK_OUTSIDE);
        } else if (!board_add(tcb, l, r, &grew)) {
            tp_stat_inc(st, TP_STAT_TCP_EXT_SACK_OVERFLOW);
        }
    }
    return grew;
}

/* Drop what SND.UNA passed. */
static void
board_prune(struct tp_tcb *tcb)
{
    uint8_t k = 0;

    for (uint8_t i = 0; i < tcb->n_sacked; i++) {
        struct tp_sack_block b = tcb->sacked[i];

        if (tp_seq_leq(b.right, tcb->snd_una))
            continue;
        if (tp_seq_lt(b.left, tcb->snd_una))
            b.left = tcb->snd_una;
        tcb->sacked[k++] = b;
    }
    tcb->n_sacked = k;
}

static uint32_t
smss(const struct tp_tcb *tcb)
{
    return tp_tcp_seg_max(tcb);
}

/* RFC 6675 IsLost(seq): DupThresh discontiguous SACKed ranges above it, or
 * more than (DupThresh - 1) * SMSS SACKed bytes above it. */
static bool
is_lost(const struct tp_tcb *tcb, uint32_t seq)
{
    uint32_t bytes = 0, blocks = 0;

    for (uint8_t i = 0; i < tcb->n_sacked; i++) {
        if (tp_seq_leq(tcb->sacked[i].right, seq))
            continue;
        blocks++;
        bytes += tcb->sacked[i].right - tp_seq_max(tcb->sacked[i].left, seq + 1);
    }
    return blocks >= DUPTHRESH || bytes > (DUPTHRESH - 1) * smss(tcb);
}

bool
tp_sack_is_lost(const struct tp_tcb *tcb, uint32_t seq)
{
    return is_lost(tcb, seq);
}

uint32_t
tp_sack_pipe(const struct tp_tcb *tcb)
{
    uint32_t pipe = tcb->snd_max - tcb->snd_una, hole = tcb->snd_una;

    if (tp_rack_active(tcb))
        return tp_rack_pipe(tcb);
    /* Every byte sent and not acknowledged counts, except SACKed ones and
     * those in holes deemed lost; a retransmitted byte counts once more
     * (RFC 6675 SetPipe, with holes as the unit: every unSACKed byte
     * below HighRxt was retransmitted, NextSeg() going up in order). */
    for (uint8_t i = 0; i < tcb->n_sacked; i++) {
        uint32_t l = tcb->sacked[i].left, r = tcb->sacked[i].right;

        pipe -= r - l;
        if (tp_seq_lt(hole, l)) {
            uint32_t rtx_end = tp_seq_min(tp_seq_max(tcb->high_rxt, hole), l);

            if (is_lost(tcb, hole))
                pipe -= (l - hole) - (rtx_end - hole);
            else
                pipe += rtx_end - hole;
        }
        hole = r;
    }
    return pipe;
}

uint32_t
tp_sack_in_flight(const struct tp_tcb *tcb)
{
    uint32_t n = tcb->snd_nxt - tcb->snd_una;

    if ((tcb->in_recovery && tcb->opt_sack) || tp_rack_active(tcb))
        return tp_sack_pipe(tcb);
    /* Outside recovery SACKed bytes have left the network: before the
     * third duplicate ACK this sends new data for each of the first two
     * (RFC 3042 limited transmit); after an RTO, it keeps the SACKed data
     * that go-back-N skips out of the count (RFC 6675 5.1). */
    for (uint8_t i = 0; i < tcb->n_sacked; i++) {
        uint32_t l = tcb->sacked[i].left, r = tp_seq_min(tcb->sacked[i].right, tcb->snd_nxt);

        if (tp_seq_lt(l, r))
            n -= r - l;
    }
    return n;
}

uint32_t
tp_sack_skip_sacked(struct tp_tcb *tcb)
{
    if (!tp_seq_lt(tcb->snd_nxt, tcb->snd_max))
        return UINT32_MAX;
    for (uint8_t i = 0; i < tcb->n_sacked; i++) {
        struct tp_sack_block b = tcb->sacked[i];

        if (tp_seq_lt(tcb->snd_nxt, b.left))
            return b.left - tcb->snd_nxt;
        if (tp_seq_lt(tcb->snd_nxt, b.right))
            tcb->snd_nxt = b.right;     /* the peer holds it: not sent again */
    }
    return UINT32_MAX;
}

bool
tp_sack_next_hole(const struct tp_tcb *tcb, bool lost_only, uint32_t *seq, uint32_t *len)
{
    uint32_t hole = tcb->snd_una;

    /* Rule (1) takes holes IsLost() says are lost; rule (3) any unSACKed
     * byte above HighRxt and below the highest SACKed one.  Lost holes lie
     * below all others (IsLost weakens going up), so both scans start at
     * HighRxt. */
    for (uint8_t i = 0; i < tcb->n_sacked; i++) {
        uint32_t l = tcb->sacked[i].left;
        uint32_t start = tp_seq_max(hole, tcb->high_rxt);

        if (tp_seq_lt(start, l) && (!lost_only || is_lost(tcb, start))) {
            *seq = start;
            *len = l - start < smss(tcb) ? l - start : smss(tcb);
            return true;
        }
        hole = tcb->sacked[i].right;
    }
    return false;
}

bool
tp_sack_rescue(struct tp_tcb *tcb, uint32_t data_end, uint32_t *seq, uint32_t *len)
{
    uint32_t end = tcb->snd_max, start;

    if (tcb->rescue_valid && !tp_seq_gt(tcb->snd_una, tcb->rescue_rxt))
        return false;               /* one rescue per recovery */
    if (tcb->n_sacked > 0 && tcb->sacked[tcb->n_sacked - 1].right == end)
        end = tcb->sacked[tcb->n_sacked - 1].left;
    /* The highest unSACKed byte (a FIN is left to the RTO), not one that
     * rule (1) or (3) already resent. */
    end = tp_seq_min(end, data_end);
    if (!tp_seq_gt(end, tp_seq_max(tcb->snd_una, tcb->high_rxt)))
        return false;
    start = end - tcb->snd_una > smss(tcb) ? end - smss(tcb) : tcb->snd_una;
    for (uint8_t i = 0; i < tcb->n_sacked; i++)
        if (tp_seq_lt(tcb->sacked[i].right, end) && tp_seq_gt(tcb->sacked[i].right, start))
            start = tcb->sacked[i].right;      /* stay inside the last hole */
    start = tp_seq_max(start, tcb->high_rxt);
    *seq = start;
    *len = end - start;
    tcb->rescue_valid = true;
    tcb->rescue_rxt = tcb->recover;
    return true;
}

/* Enter fast recovery on the third duplicate ACK (RFC 6675 5 (4), RFC 6582
 * 3.2 (2)), unless still inside the last one's recovery point. */
static void
enter_recovery(struct tp_tcb *tcb)
{
    if (tp_seq_lt(tcb->snd_una, tcb->recover) && tcb->recover != tcb->snd_una)
        return;                     /* RFC 6582 3.2 (1): no second reduction */
    tcb->in_recovery = true;
    tcb->recover = tcb->snd_max;
    tp_cc_on_dupacks(tcb);                          /* ssthresh, cwnd = ssthresh */
    tcb->rtx_once = true;
    tcb->high_rxt = tcb->snd_una + smss(tcb);
    tcb->rescue_valid = false;
    if (tp_rack_active(tcb)) {
        /* The first lost record goes at once (tcp_output.c rule (1)). */
        tcb->rtx_once = false;
        tcb->rtx_force = true;
        tp_rack_mark_head_lost(tcb);
    }
    if (tcb->opt_sack) {
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_SACK_RECOVERY);
    } else {
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_RENO_RECOVERY);
        tcb->cwnd += DUPTHRESH * smss(tcb);         /* RFC 6582 3.2 (2): inflate */
    }
}

void
tp_recovery_on_loss(struct tp_tcb *tcb)
{
    if (!tcb->in_recovery)
        enter_recovery(tcb);
}

void
tp_recovery_on_dupack(struct tp_tcb *tcb)
{
    if (!tcb->in_recovery) {
        if (tcb->n_dupacks >= DUPTHRESH || (tcb->opt_sack && tcb->n_sacked > 0
            && is_lost(tcb, tcb->snd_una)))
            enter_recovery(tcb);
        return;
    }
    if (!tcb->opt_sack)
        tcb->cwnd += smss(tcb);     /* RFC 6582 3.2 (3) */
}

void
tp_recovery_on_ack(struct tp_tcb *tcb, uint32_t acked)
{
    board_prune(tcb);
    if (!tcb->in_recovery)
        return;
    if (tp_seq_geq(tcb->snd_una, tcb->recover)) {
        /* Full acknowledgment.  RFC 6675 recovery set cwnd = ssthresh on
         * entry and leaves it there: a flight that drained during
         * recovery must not end at one segment, which a receiver's
         * delayed ACK would hold for up to its timer.  NewReno deflates
         * (RFC 6582 3.2 (3) option 1: min(ssthresh, max(FlightSize, SMSS)
         * + SMSS)). */
        uint32_t flight = tcb->snd_max - tcb->snd_una;

        tcb->in_recovery = false;
        if (flight < smss(tcb))
            flight = smss(tcb);
        flight += smss(tcb);
        if (!tcb->opt_sack && tcb->ssthresh > flight)
            tcb->cwnd = flight;
        else
            tcb->cwnd = tcb->ssthresh;
        tp_cc_after_recovery(tcb);
        return;
    }
    if (tp_seq_lt(tcb->high_rxt, tcb->snd_una))
        tcb->high_rxt = tcb->snd_una;
    if (!tcb->opt_sack) {
        /* Partial acknowledgment, RFC 6582 3.2 (5): retransmit the next
         * unacknowledged segment, deflate by what was acked. */
        tcb->rtx_once = true;
        tcb->cwnd = tcb->cwnd > acked ? tcb->cwnd - acked : smss(tcb);
        if (acked >= smss(tcb))
            tcb->cwnd += smss(tcb);
    }
}

void
tp_recovery_on_rto(struct tp_tcb *tcb)
{
    /* RFC 6675 5.1: recovery ends at RecoveryPoint = HighData, and no new
     * one starts below it.  The scoreboard stays: go-back-N (tcp_output.c)
     * resends from SND.UNA but skips what the peer SACKed. */
    tcb->in_recovery = false;
    tcb->recover = tcb->snd_max;    /* RFC 6582 4 */
    tcb->high_rxt = tcb->snd_una;
    tcb->rescue_valid = false;
    tcb->rtx_force = false;
    tp_rack_on_rto(tcb);
}
