/*
 * src/core/tcp_reass.c -- the out-of-order queue (RFC 9293 3.10.7.4,
 * seventh step: segments beyond RCV.NXT are held until the hole fills).
 *
 * Called by tcp_input.c.  Out-of-order bytes are written straight into the
 * receive ring at their offset from RCV.NXT (the advertised window never
 * exceeds the ring's free space, so they fit), and a short sorted list of
 * blocks records which ranges are present.  Overlaps are trimmed by merging
 * blocks; the same sequence number always carries the same byte.  Memory is
 * the ring itself: the cap (cfg.tcp.reass_max_bytes) bounds how far past
 * RCV.NXT data is held, and at most TP_TCP_REASS_MAX_BLOCKS holes are
 * tracked; beyond either the segment is dropped and counted.  The blocks are
 * what SACK reports (tcp_opts.c), the latest segment's first.
 */
#include <string.h>

#include "core/tcp_int.h"

void
tp_reass_init(struct tp_reass *q)
{
    memset(q, 0, sizeof(*q));
}

bool
tp_reass_empty(const struct tp_reass *q)
{
    return q->n == 0 && !q->has_fin;
}

/* Add [left, right) to the sorted, disjoint block list, merging overlaps.
 * Returns false if it would need a block the list cannot hold. */
static bool
add_block(struct tp_reass *q, uint32_t left, uint32_t right)
{
    uint8_t i = 0, j;

    while (i < q->n && tp_seq_lt(q->blk[i].right, left))
        i++;
    /* Blocks i..j-1 touch or overlap [left, right). */
    j = i;
    while (j < q->n && tp_seq_leq(q->blk[j].left, right)) {
        left = tp_seq_min(left, q->blk[j].left);
        right = tp_seq_max(right, q->blk[j].right);
        j++;
    }
    if (i == j) {
        if (q->n == TP_TCP_REASS_MAX_BLOCKS)
            return false;
        memmove(&q->blk[i + 1], &q->blk[i], (size_t)(q->n - i) * sizeof(q->blk[0]));
        q->n++;
    } else if (j - i > 1) {
        memmove(&q->blk[i + 1], &q->blk[j], (size_t)(q->n - j) * sizeof(q->blk[0]));
        q->n = (uint8_t)(q->n - (j - i - 1));
    }
    q->blk[i] = (struct tp_sack_block){ left, right };
    return true;
}

/* RFC 2883 4: data [seq, seq + len) repeating bytes already held is
 * reported in a D-SACK block, the first (lowest) repeated range only. */
void
tp_reass_dsack(struct tp_tcb *tcb, uint32_t seq, uint32_t len)
{
    const struct tp_reass *q = &tcb->reass;

    for (uint8_t i = 0; i < q->n; i++) {
        uint32_t l = tp_seq_max(seq, q->blk[i].left);
        uint32_t r = tp_seq_min(seq + len, q->blk[i].right);

        if (tp_seq_lt(l, r)) {
            tp_tcp_dsack_note(tcb, l, r - l);
            return;
        }
    }
}

bool
tp_reass_insert(struct tp_tcb *tcb, uint32_t seq, const uint8_t *data, uint32_t len)
{
    struct tapir_stack *st = tcb->st;
    struct tp_reass *q = &tcb->reass;
    uint32_t off = seq - tcb->rcv_nxt;
    bool overlaps = false;

    TP_ASSERT(tp_seq_geq(seq, tcb->rcv_nxt));
    if (len == 0)
        return true;
    for (uint8_t i = 0; i < q->n; i++)
        if (tp_seq_lt(seq, q->blk[i].right) && tp_seq_gt(seq + len, q->blk[i].left))
            overlaps = true;
    if (overlaps)
        tp_reass_dsack(tcb, seq, len);
    if (!add_block(q, seq, seq + len)) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_OFO_DROP);
        return false;
    }
    q->last_seq = seq;
    tp_ring_write_at(&tcb->rcv, off, data, len);
    tp_stat_inc(st, overlaps ? TP_STAT_TCP_EXT_OFO_MERGE : TP_STAT_TCP_EXT_OFO_QUEUE);
    return true;
}

uint32_t
tp_reass_pull(struct tp_tcb *tcb)
{
    struct tp_reass *q = &tcb->reass;
    uint32_t pulled = 0;

    while (q->n > 0 && tp_seq_leq(q->blk[0].left, tcb->rcv_nxt)) {
        if (tp_seq_gt(q->blk[0].right, tcb->rcv_nxt)) {
            uint32_t n = q->blk[0].right - tcb->rcv_nxt;

            tp_ring_extend(&tcb->rcv, n);
            tcb->rcv_nxt += n;
            pulled += n;
        }
        memmove(&q->blk[0], &q->blk[1], (size_t)(q->n - 1) * sizeof(q->blk[0]));
        q->n--;
    }
    return pulled;
}
