/*
 * src/core/tcp_cc.h -- congestion control behind a small interface.
 *
 * The TCP module calls these four hooks and reads tcb->cwnd and
 * tcb->ssthresh; the algorithm is chosen per connection by tcb->cc (a
 * switch, not a table of function pointers: the core keeps no relocated
 * data).  Today there is one algorithm, a NewReno without fast recovery
 * (RFC 5681 slow start, congestion avoidance, fast retransmit, RTO
 * reaction).  TODO(#4): full NewReno (RFC 6582) with ABC, CUBIC, and a
 * per-stack and per-socket choice.
 */
#ifndef TP_CORE_TCP_CC_H
#define TP_CORE_TCP_CC_H

#include <stdint.h>

struct tp_tcb;

enum tp_cc_algo {
    TP_CC_RENO,
};

/* After the handshake: the initial window (RFC 6928: 10 segments). */
void tp_cc_init(struct tp_tcb *tcb);
/* acked bytes of new data were acknowledged. */
void tp_cc_on_ack(struct tp_tcb *tcb, uint32_t acked);
/* The third duplicate ACK: returns true to retransmit SND.UNA's segment. */
int tp_cc_on_dupacks(struct tp_tcb *tcb);
/* A retransmission timeout. */
void tp_cc_on_rto(struct tp_tcb *tcb);

#endif
