/*
 * src/core/tcp_cc.h -- congestion control behind a small interface.
 *
 * The TCP module calls these hooks and reads tcb->cwnd and tcb->ssthresh;
 * the algorithm is chosen per connection by tcb->cc (a switch, not a table
 * of function pointers: the core keeps no relocated data), from
 * cfg.tcp.cc or the socket option TAPIR_TCP_CONGESTION.
 *   NewReno: RFC 5681 slow start and congestion avoidance with appropriate
 *     byte counting (RFC 3465, L = 2); fast recovery is tcp_sack.c's
 *     (RFC 6582 without SACK, RFC 6675 with it).
 *   CUBIC: RFC 9438 window growth (cubic and Reno-friendly regions, fast
 *     convergence, beta 0.7), slow start ended by HyStart++ (RFC 9406).
 * Both: an initial window of 10 segments (RFC 6928); on an RTO ssthresh as
 * RFC 5681 (4) (CUBIC: its beta) and cwnd = 1 segment; after an idle
 * period longer than the RTO, cwnd restarts at min(IW, cwnd) (RFC 5681
 * 4.1, the part of RFC 7661 implemented).
 */
#ifndef TP_CORE_TCP_CC_H
#define TP_CORE_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "tapir/tcp.h"
#include "tapir/time.h"

struct tp_tcb;

enum tp_cc_algo {
    TP_CC_RENO = TAPIR_TCP_CC_NEWRENO,
    TP_CC_CUBIC = TAPIR_TCP_CC_CUBIC,
};

/* Per-connection state of the algorithms (bytes, microseconds). */
struct tp_cc_state {
    uint64_t ca_acked;              /* NewReno: bytes acked toward the next +SMSS */
    /* CUBIC, RFC 9438 4 */
    uint32_t w_max;
    uint32_t w_last_max;            /* fast convergence (4.7) */
    uint32_t w_est;                 /* Reno-friendly estimate (4.3) */
    int64_t k_ms;
    struct tapir_time epoch;
    bool in_epoch;
    uint64_t frac;                  /* growth below one byte, carried */
    /* HyStart++, RFC 9406 4 */
    uint32_t round_end;
    int64_t last_round_min_us, cur_round_min_us, css_baseline_us;
    uint32_t rtt_samples;
    uint8_t css_rounds;
    bool in_css;
};

/* After the handshake: the initial window (RFC 6928: 10 segments). */
void tp_cc_init(struct tp_tcb *tcb);
/* Switch algorithm (socket option): cwnd and ssthresh carry over. */
void tp_cc_select(struct tp_tcb *tcb, enum tp_cc_algo algo);
/* acked bytes of new data were acknowledged (not during fast recovery). */
void tp_cc_on_ack(struct tp_tcb *tcb, uint32_t acked);
/* Fast retransmit (a congestion event): returns true to retransmit
 * SND.UNA's segment. */
int tp_cc_on_dupacks(struct tp_tcb *tcb);
/* A retransmission timeout. */
void tp_cc_on_rto(struct tp_tcb *tcb);
/* An RTT sample (HyStart++). */
void tp_cc_on_rtt(struct tp_tcb *tcb, int64_t rtt_us);
/* Sending resumes after an idle period longer than the RTO. */
void tp_cc_after_idle(struct tp_tcb *tcb);

#endif
