/*
 * src/core/tcp_cc.c -- congestion control (RFC 5681); see tcp_cc.h.
 *
 * Called by tcp_input.c (ACKs, duplicate ACKs) and tcp_timer.c (RTO).
 */
#include "core/tcp_cc.h"
#include "core/tcp_int.h"

/* SMSS as RFC 5681 means it: the payload of a full segment, options
 * (timestamps) taken off, so cwnd holds whole segments. */
static uint32_t
smss(const struct tp_tcb *tcb)
{
    return tp_tcp_seg_max(tcb);
}

static uint32_t
half_flight(const struct tp_tcb *tcb)
{
    uint32_t half = (tcb->snd_max - tcb->snd_una) / 2;

    /* RFC 5681 (4): ssthresh = max(FlightSize / 2, 2 * SMSS). */
    return half > 2u * smss(tcb) ? half : 2u * smss(tcb);
}

void
tp_cc_init(struct tp_tcb *tcb)
{
    switch (tcb->cc) {
    case TP_CC_RENO:
        tcb->cwnd = 10u * smss(tcb);
        tcb->ssthresh = UINT32_MAX;
        break;
    }
}

void
tp_cc_on_ack(struct tp_tcb *tcb, uint32_t acked)
{
    switch (tcb->cc) {
    case TP_CC_RENO:
        if (tcb->cwnd < tcb->ssthresh)              /* slow start, RFC 3465 ABC, L = 2 */
            tcb->cwnd += acked < 2 * smss(tcb) ? acked : 2 * smss(tcb);
        else                                        /* congestion avoidance, (3) */
            tcb->cwnd += (uint32_t)((uint64_t)smss(tcb) * smss(tcb) / tcb->cwnd) + 1;
        break;
    }
}

int
tp_cc_on_dupacks(struct tp_tcb *tcb)
{
    switch (tcb->cc) {
    case TP_CC_RENO:
        tcb->ssthresh = half_flight(tcb);
        tcb->cwnd = tcb->ssthresh;
        return 1;
    }
    return 0;
}

void
tp_cc_on_rto(struct tp_tcb *tcb)
{
    switch (tcb->cc) {
    case TP_CC_RENO:
        tcb->ssthresh = half_flight(tcb);
        tcb->cwnd = smss(tcb);                   /* RFC 5681 (5): loss window */
        break;
    }
}
