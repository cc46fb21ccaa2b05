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
 * RFC 5681 (4) (CUBIC: its beta) and cwnd = 1 segment.
 * A window the sender does not fill is handled per cfg.tcp.cwv: RFC 7661
 * (pipeACK measures what the path carried; while it is below half of cwnd
 * -- a quarter in slow start -- cwnd does not grow, a loss is answered
 * from what was in use, and after 5 minutes cwnd is halved), or RFC 5681
 * 4.1 (after an idle period longer than the RTO, restart from
 * min(IW, cwnd)), or neither.
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
    /* RFC 7661 4.2: pipeACK, the most data acknowledged in one round trip
     * within the sampling period max(3 SRTT, 1 s), kept as the largest
     * sample of each quarter of the period. */
    struct tapir_time pa_start;     /* the sample under way began */
    uint32_t pa_from;               /* SND.UNA then */
    bool pa_sampling;
    bool pa_defined;                /* false: no sample yet (a validated window) */
    uint8_t pa_n;
    struct tapir_time pa_at[4];
    uint32_t pa_max[4];
    struct tapir_time nvp_since;    /* entered the non-validated phase; NEVER: validated */
    /* RFC 7661 4.4.1: a loss found while non-validated, answered at the end
     * of its recovery. */
    bool loss_in_nvp;
    uint32_t loss_flight;           /* LossFlightSize */
    uint32_t loss_pipeack;
    uint32_t rtx_bytes;             /* R: retransmitted since */
};

/* After the handshake: the initial window (RFC 6928: 10 segments). */
void tp_cc_init(struct tp_tcb *tcb);
/* Switch algorithm (socket option): cwnd and ssthresh carry over. */
void tp_cc_select(struct tp_tcb *tcb, enum tp_cc_algo algo);
/* acked bytes of new data were acknowledged (not during fast recovery). */
void tp_cc_on_ack(struct tp_tcb *tcb, uint32_t acked);
/* Fast recovery begins (a loss): ssthresh and cwnd as the algorithm says,
 * and the loss noted for RFC 7661 4.4.1 at the recovery's end. */
void tp_cc_on_dupacks(struct tp_tcb *tcb);
/* A retransmission timeout. */
void tp_cc_on_rto(struct tp_tcb *tcb);
/* An RTT sample (HyStart++). */
void tp_cc_on_rtt(struct tp_tcb *tcb, int64_t rtt_us);
/* Sending resumes after an idle period longer than the RTO (cfg.tcp.cwv). */
void tp_cc_after_idle(struct tp_tcb *tcb);
/* len bytes were retransmitted (RFC 7661's R). */
void tp_cc_on_retransmit(struct tp_tcb *tcb, uint32_t len);
/* A congestion signal outside fast recovery -- an ACK with ECE (RFC 3168
 * 6.1.2), a loss repaired by a tail loss probe (RFC 8985 7.4): the
 * reduction of a loss, nothing else. */
void tp_cc_on_congestion(struct tp_tcb *tcb);
/* Fast recovery ended with a full acknowledgment. */
void tp_cc_after_recovery(struct tp_tcb *tcb);
/* pipeACK in bytes, UINT32_MAX while undefined (tcp_info, tests). */
uint32_t tp_cc_pipeack(const struct tp_tcb *tcb);
/* True while cwnd is not validated (RFC 7661 4.3). */
bool tp_cc_nonvalidated(const struct tp_tcb *tcb);

#endif
