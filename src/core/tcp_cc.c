/*
 * src/core/tcp_cc.c -- congestion control: NewReno and CUBIC; see tcp_cc.h.
 *
 * Called by tcp_input.c (ACKs), tcp_sack.c (fast retransmit), tcp_timer.c
 * (RTO, RTT samples) and tcp_output.c (restart after idle).  Integer
 * arithmetic only: CUBIC's cube root is computed by bisection.
 */
#include <string.h>

#include "core/tcp_cc.h"
#include "core/tcp_int.h"

#define IW_SEGS 10                  /* RFC 6928 */
#define ABC_L 2                     /* RFC 3465 */
/* RFC 9438: C = 0.4, beta = 0.7; alpha = 3 (1 - beta) / (1 + beta) = 9/17. */
#define CUBIC_BETA_NUM 7
#define CUBIC_BETA_DEN 10
/* RFC 9406 constants. */
#define HS_MIN_RTT_THRESH_US 4000
#define HS_MAX_RTT_THRESH_US 16000
#define HS_MIN_RTT_DIVISOR 8
#define HS_N_RTT_SAMPLE 8
#define HS_CSS_GROWTH_DIVISOR 4
#define HS_CSS_ROUNDS 5
/* RFC 7661 */
#define CWV_NVP_US (300LL * 1000000)        /* 5: the non-validated period */
#define CWV_PERIOD_MIN_US 1000000LL         /* 4.2: sampling period >= 1 s */
#define CWV_BUCKETS 4

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

static uint64_t
icbrt(uint64_t x)
{
    uint64_t lo = 0, hi = 2097152;  /* 2^21: its cube exceeds 2^63 */

    while (lo < hi) {
        uint64_t m = (lo + hi + 1) / 2;

        if (m * m * m <= x)
            lo = m;
        else
            hi = m - 1;
    }
    return lo;
}

static void
hystart_reset(struct tp_tcb *tcb)
{
    struct tp_cc_state *c = &tcb->ccs;

    c->round_end = tcb->snd_max;
    c->last_round_min_us = c->cur_round_min_us = INT64_MAX;
    c->rtt_samples = 0;
    c->in_css = false;
    c->css_rounds = 0;
}

/* RFC 7661 4.1: no pipeACK yet, so the window counts as validated. */
static void
cwv_reset(struct tp_tcb *tcb)
{
    struct tp_cc_state *c = &tcb->ccs;

    c->pa_sampling = false;
    c->pa_defined = false;
    c->pa_n = 0;
    c->nvp_since = TAPIR_TIME_NEVER;
    c->loss_in_nvp = false;
}

static void
ccs_reset(struct tp_tcb *tcb)
{
    memset(&tcb->ccs, 0, sizeof(tcb->ccs));
    hystart_reset(tcb);
    cwv_reset(tcb);
}

void
tp_cc_init(struct tp_tcb *tcb)
{
    ccs_reset(tcb);
    tcb->cwnd = IW_SEGS * smss(tcb);
    tcb->ssthresh = UINT32_MAX;
}

void
tp_cc_select(struct tp_tcb *tcb, enum tp_cc_algo algo)
{
    if (tcb->cc == algo)
        return;
    tcb->cc = algo;
    ccs_reset(tcb);
}

static bool
cwv_on(const struct tp_tcb *tcb)
{
    return tcb->st->cfg.tcp.cwv == TAPIR_TCP_CWV_RFC7661;
}

static int64_t
cwv_rtt_us(const struct tp_tcb *tcb)
{
    return tcb->srtt_us > 0 ? tcb->srtt_us : 1;
}

/* RFC 7661 4.2: the pipeACK sampling period, max(3 SRTT, 1 s). */
static int64_t
cwv_period_us(const struct tp_tcb *tcb)
{
    int64_t p = 3 * cwv_rtt_us(tcb);

    return p > CWV_PERIOD_MIN_US ? p : CWV_PERIOD_MIN_US;
}

uint32_t
tp_cc_pipeack(const struct tp_tcb *tcb)
{
    const struct tp_cc_state *c = &tcb->ccs;
    struct tapir_time now = tcb->st->tcp->now;
    int64_t period = cwv_period_us(tcb);
    uint32_t v = 0;

    if (!c->pa_defined)
        return UINT32_MAX;
    /* Samples older than the period count for nothing (4.5.1): after a
     * pause that long, pipeACK is zero. */
    for (uint8_t i = 0; i < c->pa_n; i++)
        if (tapir_time_sub(now, c->pa_at[i]).us < period && c->pa_max[i] > v)
            v = c->pa_max[i];
    return v;
}

/* RFC 7661 4.3: cwnd is not validated while pipeACK is below half of it.
 * In slow start, where cwnd doubles every round trip, the data acked in a
 * round is half the window by design, so tapir compares with a quarter. */
bool
tp_cc_nonvalidated(const struct tp_tcb *tcb)
{
    uint32_t pa, bar = tcb->cwnd < tcb->ssthresh ? tcb->cwnd / 4 : tcb->cwnd / 2;

    if (!cwv_on(tcb))
        return false;
    pa = tp_cc_pipeack(tcb);
    return pa != UINT32_MAX && pa < bar;
}

static void
pipeack_push(struct tp_tcb *tcb, struct tapir_time now, uint32_t sample)
{
    struct tp_cc_state *c = &tcb->ccs;
    int64_t span = cwv_period_us(tcb) / CWV_BUCKETS;

    c->pa_defined = true;
    if (c->pa_n > 0 && tapir_time_sub(now, c->pa_at[c->pa_n - 1]).us < span) {
        if (sample > c->pa_max[c->pa_n - 1])
            c->pa_max[c->pa_n - 1] = sample;
        return;
    }
    if (c->pa_n == CWV_BUCKETS) {
        memmove(&c->pa_at[0], &c->pa_at[1], (CWV_BUCKETS - 1) * sizeof(c->pa_at[0]));
        memmove(&c->pa_max[0], &c->pa_max[1], (CWV_BUCKETS - 1) * sizeof(c->pa_max[0]));
        c->pa_n--;
    }
    c->pa_at[c->pa_n] = now;
    c->pa_max[c->pa_n] = sample;
    c->pa_n++;
}

/* RFC 7661 4.2: a sample is the data acknowledged over (at least) one
 * measured round trip, taken outside loss recovery. */
static void
pipeack_on_ack(struct tp_tcb *tcb, struct tapir_time now)
{
    struct tp_cc_state *c = &tcb->ccs;

    if (c->pa_sampling && tapir_time_sub(now, c->pa_start).us < cwv_rtt_us(tcb))
        return;
    if (c->pa_sampling)
        pipeack_push(tcb, now, tcb->snd_una - c->pa_from);
    c->pa_sampling = true;
    c->pa_start = now;
    c->pa_from = tcb->snd_una;
}

/* RFC 7661 4.3 and 4.4.3: note when the window stopped being validated;
 * once it has stayed so for the non-validated period, halve it (not below
 * the initial window) and raise ssthresh to 3/4 of it.  Returns whether
 * the window was found not validated. */
static bool
cwv_update(struct tp_tcb *tcb, struct tapir_time since)
{
    struct tp_cc_state *c = &tcb->ccs;
    struct tapir_time now = tcb->st->tcp->now;
    uint32_t iw = IW_SEGS * smss(tcb), three_q;

    if (!tp_cc_nonvalidated(tcb)) {
        c->nvp_since = TAPIR_TIME_NEVER;
        return false;
    }
    if (c->nvp_since.us == INT64_MAX) {
        c->nvp_since = since;
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_CWV_NONVALIDATED);
    }
    if (tapir_time_sub(now, c->nvp_since).us < CWV_NVP_US)
        return true;
    three_q = (uint32_t)((uint64_t)tcb->cwnd * 3 / 4);
    if (tcb->ssthresh < three_q)
        tcb->ssthresh = three_q;
    tcb->cwnd = tcb->cwnd / 2 > iw ? tcb->cwnd / 2 : (tcb->cwnd < iw ? tcb->cwnd : iw);
    c->nvp_since = now;
    c->in_epoch = false;
    tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_CWV_REDUCED);
    return true;
}

/* RFC 5681 (2) with RFC 3465: grow by the bytes acked, at most L SMSS. */
static uint32_t
ss_growth(const struct tp_tcb *tcb, uint32_t acked)
{
    return acked < ABC_L * smss(tcb) ? acked : ABC_L * smss(tcb);
}

/* RFC 9406 4.2-4.3: slow start with HyStart++ (CUBIC's). */
static void
hystart_on_ack(struct tp_tcb *tcb, uint32_t acked)
{
    struct tp_cc_state *c = &tcb->ccs;
    uint32_t grow = ss_growth(tcb, acked);

    if (tp_seq_geq(tcb->snd_una, c->round_end)) {       /* a new round */
        c->last_round_min_us = c->cur_round_min_us;
        c->cur_round_min_us = INT64_MAX;
        c->rtt_samples = 0;
        c->round_end = tcb->snd_max;
        if (c->in_css && ++c->css_rounds >= HS_CSS_ROUNDS) {
            tcb->ssthresh = tcb->cwnd;                  /* on to congestion avoidance */
            c->in_css = false;
            return;
        }
    }
    if (c->in_css)
        grow /= HS_CSS_GROWTH_DIVISOR;
    tcb->cwnd += grow;
    if (c->rtt_samples < HS_N_RTT_SAMPLE || c->cur_round_min_us == INT64_MAX)
        return;
    if (!c->in_css && c->last_round_min_us != INT64_MAX) {
        int64_t eta = c->last_round_min_us / HS_MIN_RTT_DIVISOR;

        eta = eta < HS_MIN_RTT_THRESH_US ? HS_MIN_RTT_THRESH_US
            : eta > HS_MAX_RTT_THRESH_US ? HS_MAX_RTT_THRESH_US : eta;
        if (c->cur_round_min_us >= c->last_round_min_us + eta) {
            c->in_css = true;                           /* conservative slow start */
            c->css_baseline_us = c->cur_round_min_us;
            c->css_rounds = 0;
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_HYSTART_CSS);
        }
    } else if (c->in_css && c->cur_round_min_us < c->css_baseline_us) {
        c->in_css = false;                              /* a spurious exit: back */
    }
}

/* RFC 9438 4.2-4.4: congestion avoidance. */
static void
cubic_on_ack(struct tp_tcb *tcb, uint32_t acked)
{
    struct tp_cc_state *c = &tcb->ccs;
    struct tapir_time now = tcb->st->tcp->now;
    uint32_t mss = smss(tcb), cwnd = tcb->cwnd;
    int64_t t_ms, d, target, cubic;

    if (!c->in_epoch) {
        c->in_epoch = true;
        c->epoch = now;
        c->w_est = cwnd;
        c->frac = 0;
        if (c->w_max <= cwnd) {
            c->w_max = cwnd;
            c->k_ms = 0;
        } else {                    /* K = cbrt((W_max - cwnd) / (C SMSS)), in ms */
            c->k_ms = (int64_t)icbrt((uint64_t)(c->w_max - cwnd) * 2500000000ull / mss);
        }
    }
    t_ms = tapir_time_sub(now, c->epoch).us / 1000 + tcb->srtt_us / 1000;
    d = t_ms - c->k_ms;
    d = d > 100000 ? 100000 : d < -100000 ? -100000 : d;
    cubic = (int64_t)c->w_max + 4 * d * d * d / 1000 * (int64_t)mss / 10000000;
    target = cubic < cwnd ? cwnd : cubic > (int64_t)cwnd * 3 / 2 ? (int64_t)cwnd * 3 / 2 : cubic;
    /* Reno-friendly region (4.3): W_est grows by alpha SMSS per cwnd acked. */
    c->w_est += (uint32_t)((uint64_t)9 * acked * mss / (17ull * cwnd));
    if (cubic < (int64_t)c->w_est) {
        if (c->w_est > tcb->cwnd)
            tcb->cwnd = c->w_est;
        return;
    }
    c->frac += (uint64_t)(target - cwnd) * acked;
    tcb->cwnd += (uint32_t)(c->frac / cwnd);
    c->frac %= cwnd;
}

void
tp_cc_on_ack(struct tp_tcb *tcb, uint32_t acked)
{
    if (cwv_on(tcb)) {
        struct tapir_time now = tcb->st->tcp->now;

        pipeack_on_ack(tcb, now);
        if (cwv_update(tcb, now))
            return;                 /* RFC 7661 4.3: an unused window does not grow */
    }
    if (tcb->cwnd < tcb->ssthresh) {
        if (tcb->cc == TP_CC_CUBIC)
            hystart_on_ack(tcb, acked);
        else
            tcb->cwnd += ss_growth(tcb, acked);
        return;
    }
    switch (tcb->cc) {
    case TP_CC_RENO:
        /* RFC 5681 (3) by bytes (RFC 3465): +SMSS per cwnd acknowledged. */
        tcb->ccs.ca_acked += acked;
        if (tcb->ccs.ca_acked >= tcb->cwnd) {
            tcb->ccs.ca_acked -= tcb->cwnd;
            tcb->cwnd += smss(tcb);
        }
        break;
    case TP_CC_CUBIC:
        cubic_on_ack(tcb, acked);
        break;
    }
}

/* RFC 9438 4.6-4.7: the multiplicative decrease and fast convergence. */
static void
cubic_loss(struct tp_tcb *tcb)
{
    struct tp_cc_state *c = &tcb->ccs;
    uint32_t cwnd = tcb->cwnd, floor = 2 * smss(tcb);
    uint32_t ss = (uint32_t)((uint64_t)cwnd * CUBIC_BETA_NUM / CUBIC_BETA_DEN);

    c->w_max = cwnd < c->w_last_max
        ? (uint32_t)((uint64_t)cwnd * (CUBIC_BETA_DEN + CUBIC_BETA_NUM) / (2 * CUBIC_BETA_DEN))
        : cwnd;
    c->w_last_max = cwnd;
    c->in_epoch = false;
    c->in_css = false;
    tcb->ssthresh = ss > floor ? ss : floor;
}

/* A congestion event: ssthresh by the algorithm, cwnd = ssthresh. */
static void
reduce(struct tp_tcb *tcb)
{
    switch (tcb->cc) {
    case TP_CC_RENO:
        tcb->ssthresh = half_flight(tcb);
        break;
    case TP_CC_CUBIC:
        cubic_loss(tcb);
        break;
    }
    tcb->cwnd = tcb->ssthresh;
    tcb->ccs.ca_acked = 0;
}

void
tp_cc_on_dupacks(struct tp_tcb *tcb)
{
    struct tp_cc_state *c = &tcb->ccs;

    /* RFC 7661 4.4.1: a loss while non-validated is answered at the end
     * of the recovery from what was in use, not from cwnd. */
    c->loss_in_nvp = tp_cc_nonvalidated(tcb);
    c->loss_flight = tcb->snd_max - tcb->snd_una;
    c->loss_pipeack = c->loss_in_nvp ? tp_cc_pipeack(tcb) : 0;
    c->rtx_bytes = 0;
    c->pa_sampling = false;         /* 4.2: no samples during recovery */
    reduce(tcb);
}

void
tp_cc_on_congestion(struct tp_tcb *tcb)
{
    reduce(tcb);
}

void
tp_cc_on_rto(struct tp_tcb *tcb)
{
    /* Only the first timeout of a series reduces ssthresh (RFC 5681 (4)
     * applies to the flight, which later timeouts find at one segment). */
    if (tcb->n_rtx <= 1) {
        if (tcb->cc == TP_CC_CUBIC)
            cubic_loss(tcb);
        else
            tcb->ssthresh = half_flight(tcb);
    }
    tcb->cwnd = smss(tcb);                          /* RFC 5681 (5): loss window */
    tcb->ccs.ca_acked = 0;
    hystart_reset(tcb);
    cwv_reset(tcb);
}

void
tp_cc_on_retransmit(struct tp_tcb *tcb, uint32_t len)
{
    tcb->ccs.rtx_bytes += len;
}

/* RFC 7661 4.4.1: cwnd = (max(pipeACK, LossFlightSize) - R) / 2, and
 * pipeACK starts afresh (a validated window). */
void
tp_cc_after_recovery(struct tp_tcb *tcb)
{
    struct tp_cc_state *c = &tcb->ccs;
    uint32_t used, floor = 2 * smss(tcb);

    if (!c->loss_in_nvp)
        return;
    used = c->loss_pipeack > c->loss_flight ? c->loss_pipeack : c->loss_flight;
    used = used > c->rtx_bytes ? (used - c->rtx_bytes) / 2 : 0;
    tcb->cwnd = used > floor ? used : floor;
    tcb->ssthresh = tcb->cwnd;
    tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_CWV_LOSS);
    cwv_reset(tcb);
}

void
tp_cc_on_rtt(struct tp_tcb *tcb, int64_t rtt_us)
{
    struct tp_cc_state *c = &tcb->ccs;

    if (rtt_us < c->cur_round_min_us)
        c->cur_round_min_us = rtt_us;
    c->rtt_samples++;
}

void
tp_cc_after_idle(struct tp_tcb *tcb)
{
    uint32_t iw = IW_SEGS * smss(tcb);

    tcb->ccs.in_epoch = false;      /* CUBIC: the pause is not growth time */
    switch (tcb->st->cfg.tcp.cwv) {
    case TAPIR_TCP_CWV_RESTART:
        if (tcb->cwnd > iw) {
            tcb->cwnd = iw;         /* RFC 5681 4.1: RW = min(IW, cwnd) */
            tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_CWND_RESTART);
        }
        break;
    case TAPIR_TCP_CWV_RFC7661:
        /* The window is kept (4.3); the non-validated period began about
         * when the sender fell silent. */
        cwv_update(tcb, tcb->last_send);
        break;
    default:
        break;
    }
}
