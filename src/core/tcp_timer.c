/*
 * src/core/tcp_timer.c -- per-connection deadlines and what happens when
 * they pass: retransmission and persist (RFC 9293 3.8.1, RFC 6298, RFC 1122
 * 4.2.2.17), delayed ACK, keepalive (RFC 9293 3.8.4), TIME-WAIT (3.10.7.4),
 * the orphan FIN-WAIT-2 limit, and RACK-TLP's deadline (tcp_rack.c).
 *
 * Each TCB keeps its deadlines; the earliest is its key in a binary
 * min-heap of TCB indices allocated at creation, so arming is O(log N) and
 * the stack's next deadline is the heap's top.  Called by tcp_input.c,
 * tcp_output.c and tcp_usrreq.c (arming) and by tp_tcp_poll() (running).
 */
#include <errno.h>

#include "core/tcp_int.h"

/* ---- heap ---- */

static bool
heap_less(const struct tp_tcp *tcp, uint32_t a, uint32_t b)
{
    return tcp->tcbs[tcp->heap[a]].timer_at.us < tcp->tcbs[tcp->heap[b]].timer_at.us;
}

static void
heap_swap(struct tp_tcp *tcp, uint32_t a, uint32_t b)
{
    uint32_t t = tcp->heap[a];

    tcp->heap[a] = tcp->heap[b];
    tcp->heap[b] = t;
    tcp->tcbs[tcp->heap[a]].heap_pos = a;
    tcp->tcbs[tcp->heap[b]].heap_pos = b;
}

static void
sift_up(struct tp_tcp *tcp, uint32_t i)
{
    while (i > 0 && heap_less(tcp, i, (i - 1) / 2)) {
        heap_swap(tcp, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void
sift_down(struct tp_tcp *tcp, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < tcp->heap_len && heap_less(tcp, l, m))
            m = l;
        if (r < tcp->heap_len && heap_less(tcp, r, m))
            m = r;
        if (m == i)
            return;
        heap_swap(tcp, i, m);
        i = m;
    }
}

void
tp_tcp_timer_remove(struct tp_tcb *tcb)
{
    struct tp_tcp *tcp = tcb->st->tcp;
    uint32_t i = tcb->heap_pos;

    if (i == TP_TCP_NONE)
        return;
    tcb->heap_pos = TP_TCP_NONE;
    if (--tcp->heap_len == i)
        return;
    tcp->heap[i] = tcp->heap[tcp->heap_len];
    tcp->tcbs[tcp->heap[i]].heap_pos = i;
    sift_up(tcp, i);
    sift_down(tcp, tcp->tcbs[tcp->heap[i]].heap_pos);
}

/* Recompute tcb's earliest deadline and its place in the heap. */
void
tp_tcp_timer_update(struct tp_tcb *tcb)
{
    struct tp_tcp *tcp = tcb->st->tcp;
    struct tapir_time t = tapir_time_min(tapir_time_min(tcb->rtx_at, tcb->delack_at),
        tapir_time_min(tapir_time_min(tcb->tw_at, tcb->keep_at), tcb->rack_at));

    tcb->timer_at = t;
    if (t.us == INT64_MAX) {
        tp_tcp_timer_remove(tcb);
        return;
    }
    if (tcb->heap_pos == TP_TCP_NONE) {
        tcb->heap_pos = tcp->heap_len;
        tcp->heap[tcp->heap_len++] = tcb->index;
    }
    sift_up(tcp, tcb->heap_pos);
    sift_down(tcp, tcb->heap_pos);
}

struct tapir_time
tp_tcp_next_deadline(const struct tapir_stack *st)
{
    const struct tp_tcp *tcp = st->tcp;

    return tcp->heap_len == 0 ? TAPIR_TIME_NEVER : tcp->tcbs[tcp->heap[0]].timer_at;
}

/* ---- RTO (RFC 6298) ---- */

static int64_t
rto_clamp(const struct tp_tcb *tcb, int64_t rto)
{
    int64_t lo = (int64_t)tcb->st->cfg.tcp.rto_min_ms * 1000;
    int64_t hi = (int64_t)tcb->st->cfg.tcp.rto_max_ms * 1000;

    return rto < lo ? lo : rto > hi ? hi : rto;
}

/* RFC 6298 (2.2), (2.3); the clock granularity G is 1 ms. */
void
tp_tcp_rtt_sample(struct tp_tcb *tcb, int64_t r)
{
    if (r < 0)
        return;
    if (!tcb->rtt_valid) {
        tcb->srtt_us = r;
        tcb->rttvar_us = r / 2;
        tcb->rtt_valid = true;
    } else {
        int64_t d = tcb->srtt_us > r ? tcb->srtt_us - r : r - tcb->srtt_us;

        tcb->rttvar_us = (3 * tcb->rttvar_us + d) / 4;
        tcb->srtt_us = (7 * tcb->srtt_us + r) / 8;
    }
    tcb->rto_us = rto_clamp(tcb, tcb->srtt_us + (4 * tcb->rttvar_us > 1000
        ? 4 * tcb->rttvar_us : 1000));
    tp_cc_on_rtt(tcb, r);
}

/* RFC 6298 (5.1): start the timer if it is not running. */
void
tp_tcp_arm_rtx(struct tp_tcb *tcb, struct tapir_time now)
{
    if (tcb->rtx_at.us != INT64_MAX)
        return;                     /* running, or the persist timer */
    tcb->rtx_at = tapir_time_add(now, TAPIR_US(tcb->rto_us));
    tp_tcp_timer_update(tcb);
}

void
tp_tcp_enter_time_wait(struct tp_tcb *tcb, struct tapir_time now)
{
    if (tcb->state != TAPIR_TCP_TIME_WAIT)
        tp_tcb_set_state(tcb, TAPIR_TCP_TIME_WAIT);
    tcb->rtx_at = tcb->delack_at = tcb->keep_at = tcb->rack_at = TAPIR_TIME_NEVER;
    tcb->tw_at = tapir_time_add(now, TAPIR_MS(2 * (int64_t)tcb->st->cfg.tcp.msl_ms));
    tp_tcp_timer_update(tcb);
}

/* The error to report when giving up: a soft ICMP error seen meanwhile
 * explains the timeout better (RFC 1122 4.2.3.9). */
static int
timeout_error(const struct tp_tcb *tcb)
{
    return tcb->soft_err != 0 ? tcb->soft_err : -ETIMEDOUT;
}

static bool
rtx_gives_up(struct tp_tcb *tcb, struct tapir_time now)
{
    const struct tapir_tcp_config *c = &tcb->st->cfg.tcp;
    bool syn = tcb->state == TAPIR_TCP_SYN_SENT || tcb->state == TAPIR_TCP_SYN_RECEIVED;

    if (syn)
        return tcb->n_rtx >= c->syn_retries;
    /* MUST-21: TCP_USER_TIMEOUT, when set, replaces R2 with a time. */
    if (tcb->user_timeout_ms != 0)
        return tapir_time_sub(now, tcb->rtx_since).us >= (int64_t)tcb->user_timeout_ms * 1000;
    if (tcb->n_rtx == c->r1)
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_R1_REACHED);   /* MUST-20 advice */
    return tcb->n_rtx >= c->r2;
}

/* RFC 6298 (5.4)-(5.6), with go-back-N: SND.NXT returns to SND.UNA and
 * output sends again from there. */
static void
rtx_expired(struct tp_tcb *tcb, struct tapir_time now)
{
    struct tapir_stack *st = tcb->st;

    tcb->rtx_at = TAPIR_TIME_NEVER;
    if (tcb->persist) {
        /* RFC 9293 3.8.6.1 (MUST-36): probe the zero window with one byte,
         * backed off like the RTO up to rto_max.  Probing goes on while the
         * peer answers (MUST-35: a zero window must not close the
         * connection); probes that draw no ACK at all count against R2
         * like retransmissions, so a vanished peer is given up. */
        if (++tcb->n_probes_unanswered > tcb->st->cfg.tcp.r2) {
            tp_stat_inc(st, TP_STAT_TCP_EXT_ABORT_ON_TIMEOUT);
            tp_tcb_closed(tcb, timeout_error(tcb));
            return;
        }
        tcb->rto_us = rto_clamp(tcb, tcb->rto_us * 2);
        tcb->probe_now = true;
        tcb->rtx_at = tapir_time_add(now, TAPIR_US(tcb->rto_us));
        tp_stat_inc(st, TP_STAT_TCP_EXT_ZERO_WINDOW_PROBES);
        tcb->snd_nxt = tcb->snd_una;
        return;
    }
    tp_stat_inc(st, TP_STAT_TCP_EXT_TIMEOUTS);
    if (tcb->n_rtx == 0)
        tcb->rtx_since = tapir_time_add(now, TAPIR_US(-tcb->rto_us));
    if (rtx_gives_up(tcb, now)) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_ABORT_ON_TIMEOUT);
        if (tcb->state == TAPIR_TCP_SYN_SENT || tcb->state == TAPIR_TCP_SYN_RECEIVED)
            tp_stat_inc(st, TP_STAT_TCP_ATTEMPT_FAILS);
        tp_tcb_closed(tcb, timeout_error(tcb));
        return;
    }
    tcb->n_rtx++;
    if (tcb->state == TAPIR_TCP_SYN_SENT && tcb->n_rtx >= TP_TCP_SYN_RTX_BARE
        && st->cfg.tcp.syn_rtx_drop_options)
        tp_tcp_opts_withdraw(tcb);
    tcb->rto_us = rto_clamp(tcb, tcb->rto_us * 2);
    tcb->rtt_timing = false;        /* Karn's rule */
    tp_cc_on_rto(tcb);
    tp_recovery_on_rto(tcb);
    tcb->n_dupacks = 0;
    tcb->snd_nxt = tcb->snd_una;
    /* The peer shrank its window to zero under data in flight: the
     * retransmission is a one-byte probe at SND.UNA (RFC 9293 3.8.6.1). */
    if (tcb->snd_wnd == 0)
        tcb->probe_now = true;
    tcb->rtx_at = tapir_time_add(now, TAPIR_US(tcb->rto_us));
}

static void
tw_expired(struct tp_tcb *tcb)
{
    tcb->tw_at = TAPIR_TIME_NEVER;
    if (tcb->state == TAPIR_TCP_TIME_WAIT || tcb->state == TAPIR_TCP_FIN_WAIT_2)
        tp_tcb_closed(tcb, 0);
}

static void
keep_expired(struct tp_tcb *tcb, struct tapir_time now)
{
    tcb->keep_at = TAPIR_TIME_NEVER;
    if (!tcb->keepalive || tcb->state != TAPIR_TCP_ESTABLISHED)
        return;
    if (tcb->n_keep_probes >= tcb->keepcnt) {
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_ABORT_ON_TIMEOUT);
        tp_tcb_closed(tcb, timeout_error(tcb));
        return;
    }
    tcb->n_keep_probes++;
    tcb->keep_probe = true;         /* output sends SEG.SEQ = SND.UNA - 1 */
    tcb->keep_at = tapir_time_add(now, TAPIR_SEC(tcb->keepintvl_s));
}

/* Run one TCB's due deadlines; returns false if the TCB was freed. */
static bool
run_one(struct tp_tcb *tcb, struct tapir_time now)
{
    uint32_t gen = tcb->gen;

    if (tcb->delack_at.us <= now.us) {
        tcb->delack_at = TAPIR_TIME_NEVER;
        tcb->ack_now = true;
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_DELAYED_ACKS);
    }
    if (tcb->tw_at.us <= now.us) {
        tw_expired(tcb);
        if (!tcb->in_use || tcb->gen != gen || tcb->state == TAPIR_TCP_CLOSED)
            return false;
    }
    if (tcb->rack_at.us <= now.us)
        tp_rack_timer(tcb, now);    /* RFC 8985: reordering timer or probe */
    if (tcb->rtx_at.us <= now.us) {
        rtx_expired(tcb, now);
        if (!tcb->in_use || tcb->gen != gen || tcb->state == TAPIR_TCP_CLOSED)
            return false;
    }
    if (tcb->keep_at.us <= now.us) {
        keep_expired(tcb, now);
        if (!tcb->in_use || tcb->gen != gen || tcb->state == TAPIR_TCP_CLOSED)
            return false;
    }
    return true;
}

void
tp_tcp_timers_run(struct tapir_stack *st, struct tapir_time now)
{
    struct tp_tcp *tcp = st->tcp;

    while (tcp->heap_len > 0 && tcp->tcbs[tcp->heap[0]].timer_at.us <= now.us) {
        struct tp_tcb *tcb = &tcp->tcbs[tcp->heap[0]];

        if (run_one(tcb, now))
            tp_tcp_output(tcb, now);
        if (tcb->in_use && tcb->heap_pos != TP_TCP_NONE) {
            tp_tcp_timer_update(tcb);
            /* A handler that leaves a deadline in the past would spin. */
            TP_ASSERT(tcb->timer_at.us > now.us);
            if (tcb->timer_at.us <= now.us)
                tp_tcp_timer_remove(tcb);
        }
    }
}
