/*
 * src/core/tcp_subr.c -- TCP's shared services: module creation, the TCB
 * pool and handles, the one place a state changes, events for the app,
 * ISNs (RFC 6528) and SipHash-2-4.
 *
 * Called by every tcp_*.c file and by stack.c (tp_tcp_init/fini).  ISNs are
 * a 4 us clock taken from the stack's "now" plus SipHash-2-4 of the 4-tuple
 * under a per-stack key drawn from the stack's generator at creation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/tcp_int.h"

/* A switch, not a table of pointers: such a table needs relocations and
 * lands in writable data under PIE, which the core may not have. */
const char *
tapir_tcp_state_name(enum tapir_tcp_state s)
{
    switch (s) {
    case TAPIR_TCP_CLOSED: return "CLOSED";
    case TAPIR_TCP_LISTEN: return "LISTEN";
    case TAPIR_TCP_SYN_SENT: return "SYN-SENT";
    case TAPIR_TCP_SYN_RECEIVED: return "SYN-RECEIVED";
    case TAPIR_TCP_ESTABLISHED: return "ESTABLISHED";
    case TAPIR_TCP_FIN_WAIT_1: return "FIN-WAIT-1";
    case TAPIR_TCP_FIN_WAIT_2: return "FIN-WAIT-2";
    case TAPIR_TCP_CLOSE_WAIT: return "CLOSE-WAIT";
    case TAPIR_TCP_CLOSING: return "CLOSING";
    case TAPIR_TCP_LAST_ACK: return "LAST-ACK";
    case TAPIR_TCP_TIME_WAIT: return "TIME-WAIT";
    case TAPIR_TCP_NSTATES: break;
    }
    return "?";
}

const char *
tp_tcp_state_str(enum tapir_tcp_state s)
{
    return tapir_tcp_state_name(s);
}

_Static_assert(TAPIR_TCP_CLOSED == 0, "a zeroed TCB is CLOSED");

/* The only assignment to tcb->state. */
void
tp_tcb_set_state(struct tp_tcb *tcb, enum tapir_tcp_state to)
{
    TP_ASSERT((unsigned)to < TAPIR_TCP_NSTATES);
    tp_log(tcb->st, TAPIR_LOG_DEBUG, "tcp %u: %s -> %s", tcb->index,
        tp_tcp_state_str(tcb->state), tp_tcp_state_str(to));
    tp_stat_inc(tcb->st, (enum tp_stat)(TP_STAT_TCP_EXT_STATE_CLOSED + (int)to));
    tcb->state = to;
}

/* ---- SipHash-2-4 (Aumasson and Bernstein), written from the paper ---- */

static inline uint64_t
rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline void
sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl64(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl64(v[0], 32);
    v[2] += v[3];
    v[3] = rotl64(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl64(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl64(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl64(v[2], 32);
}

static uint64_t
load_le64(const uint8_t *p, size_t n)
{
    uint64_t x = 0;

    for (size_t i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

uint64_t
tp_siphash24(const uint64_t key[2], const uint8_t *msg, size_t len)
{
    uint64_t v[4] = {
        key[0] ^ 0x736f6d6570736575u, key[1] ^ 0x646f72616e646f6du,
        key[0] ^ 0x6c7967656e657261u, key[1] ^ 0x7465646279746573u,
    };
    size_t i, tail = len & 7;
    uint64_t m;

    for (i = 0; i + 8 <= len; i += 8) {
        m = load_le64(msg + i, 8);
        v[3] ^= m;
        sip_round(v);
        sip_round(v);
        v[0] ^= m;
    }
    m = load_le64(msg + i, tail) | (uint64_t)(len & 0xff) << 56;
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for (int r = 0; r < 4; r++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport, key),
 * M a timer ticking every 4 us (here from the stack's "now"). */
uint32_t
tp_tcp_isn(struct tapir_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
    uint16_t rport)
{
    uint8_t m[12];

    if (st->tcp->isn_forced) {      /* wrap-around tests pick the ISN */
        st->tcp->isn_forced = false;
        return st->tcp->isn_next;
    }
    tp_store_be32(m, laddr);
    tp_store_be16(m + 4, lport);
    tp_store_be32(m + 6, raddr);
    tp_store_be16(m + 10, rport);
    return (uint32_t)(st->tcp->now.us / 4) + (uint32_t)tp_siphash24(st->tcp->isn_key, m, 12);
}

/* ---- module and pool ---- */

int
tp_tcp_init(struct tapir_stack *st)
{
    struct tp_tcp *tcp;
    uint32_t n = st->cfg.tcp.max_socks;
    int err;

    if ((tcp = calloc(1, sizeof(*tcp))) == NULL)
        return -ENOMEM;
    st->tcp = tcp;
    tcp->n_tcbs = n;
    tcp->tcbs = calloc(n, sizeof(*tcp->tcbs));
    tcp->heap = calloc(n, sizeof(*tcp->heap));
    if (tcp->tcbs == NULL || tcp->heap == NULL)
        return -ENOMEM;             /* the caller frees through tp_tcp_fini() */
    if ((err = tp_tcp_table_init(st, tcp)) != 0)
        return err;
    for (uint32_t i = 0; i < n; i++) {
        tcp->tcbs[i].st = st;
        tcp->tcbs[i].index = i;
        tcp->tcbs[i].free_next = i + 1 < n ? i + 1 : TP_TCP_NONE;
        tcp->tcbs[i].heap_pos = TP_TCP_NONE;
    }
    tcp->free_head = 0;
    tcp->ev_head = tcp->ev_tail = TP_TCP_NONE;
    tcp->out_head = TP_TCP_NONE;
    tcp->isn_key[0] = tp_rand64(st);
    tcp->isn_key[1] = tp_rand64(st);
    tcp->port_key[0] = tp_rand64(st);
    tcp->port_key[1] = tp_rand64(st);
    tcp->port_next_ctr = (uint16_t)tp_rand32(st);
    tcp->challenge_rl.per_sec = st->cfg.tcp.challenge_ack_per_sec;
    tcp->challenge_rl.tokens = st->cfg.tcp.challenge_ack_per_sec;
    return 0;
}

void
tp_tcp_config_changed(struct tapir_stack *st)
{
    struct tp_ratelimit *rl = &st->tcp->challenge_rl;

    rl->per_sec = st->cfg.tcp.challenge_ack_per_sec;
    if (rl->per_sec != 0 && rl->tokens > rl->per_sec)
        rl->tokens = rl->per_sec;
}

void
tp_tcp_fini(struct tapir_stack *st)
{
    struct tp_tcp *tcp = st->tcp;

    if (tcp == NULL)
        return;
    if (tcp->tcbs != NULL) {
        for (uint32_t i = 0; i < tcp->n_tcbs; i++) {
            tp_ring_fini(&tcp->tcbs[i].snd);
            tp_ring_fini(&tcp->tcbs[i].rcv);
            tp_rack_free(&tcp->tcbs[i]);
        }
    }
    free(tcp->tcbs);
    free(tcp->heap);
    free(tcp->conn_hash);
    free(tcp->port_hash);
    free(tcp);
    st->tcp = NULL;
}

struct tp_tcb *
tp_tcb_at(struct tapir_stack *st, uint32_t idx)
{
    return idx < st->tcp->n_tcbs ? &st->tcp->tcbs[idx] : NULL;
}

void
tp_tcb_init_rto(struct tp_tcb *tcb)
{
    tcb->srtt_us = 0;
    tcb->rttvar_us = 0;
    tcb->rto_us = (int64_t)tcb->st->cfg.tcp.rto_initial_ms * 1000;
    tcb->rtt_valid = false;
    tcb->rtt_timing = false;
}

struct tp_tcb *
tp_tcb_alloc(struct tapir_stack *st)
{
    struct tp_tcp *tcp = st->tcp;
    struct tp_tcb *tcb;
    uint32_t idx = tcp->free_head, gen;

    if (idx == TP_TCP_NONE) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_SOCK_FULL);
        return NULL;
    }
    tcb = &tcp->tcbs[idx];
    tcp->free_head = tcb->free_next;
    gen = tcb->gen;
    memset(tcb, 0, sizeof(*tcb));
    tcb->st = st;
    tcb->index = idx;
    tcb->gen = gen;
    tcb->in_use = true;             /* state: CLOSED, by the memset */
    tcb->heap_pos = TP_TCP_NONE;
    tcb->parent = tcb->acc_head = tcb->acc_tail = tcb->acc_next = TP_TCP_NONE;
    tcb->syn_head = tcb->syn_prev = tcb->syn_next = TP_TCP_NONE;
    tcb->ev_prev = tcb->ev_next = TP_TCP_NONE;
    tcb->conn_next = tcb->port_next = tcb->free_next = TP_TCP_NONE;
    tcb->rtx_at = tcb->delack_at = tcb->tw_at = tcb->keep_at = tcb->rack_at = TAPIR_TIME_NEVER;
    tcb->timer_at = TAPIR_TIME_NEVER;
    tcb->sndbuf_cap = st->cfg.tcp.sndbuf;
    tcb->rcvbuf_cap = st->cfg.tcp.rcvbuf;
    tcb->keepidle_s = st->cfg.tcp.keepidle_s ? st->cfg.tcp.keepidle_s : 7200;
    tcb->keepintvl_s = st->cfg.tcp.keepintvl_s ? st->cfg.tcp.keepintvl_s : 75;
    tcb->keepcnt = st->cfg.tcp.keepcnt ? st->cfg.tcp.keepcnt : 9;
    tcb->cc = st->cfg.tcp.cc < TAPIR_TCP_CC_COUNT ? (enum tp_cc_algo)st->cfg.tcp.cc : TP_CC_RENO;
    tp_reass_init(&tcb->reass);
    tp_tcb_init_rto(tcb);
    tcp->n_used++;
    return tcb;
}

void
tp_tcp_synq_unlink(struct tp_tcb *lst, struct tp_tcb *t)
{
    struct tp_tcb *tcbs = t->st->tcp->tcbs;

    if (t->syn_prev != TP_TCP_NONE)
        tcbs[t->syn_prev].syn_next = t->syn_next;
    else if (lst->syn_head == t->index)
        lst->syn_head = t->syn_next;
    if (t->syn_next != TP_TCP_NONE)
        tcbs[t->syn_next].syn_prev = t->syn_prev;
    t->syn_prev = t->syn_next = TP_TCP_NONE;
}

/* Take a child off its listener's SYN or accept queue. */
static void
unlink_from_parent(struct tp_tcb *tcb)
{
    struct tp_tcb *p = tp_tcb_at(tcb->st, tcb->parent);

    if (p == NULL)
        return;
    if (tcb->in_acceptq) {
        uint32_t *link = &p->acc_head, prev = TP_TCP_NONE;

        while (*link != TP_TCP_NONE && *link != tcb->index) {
            prev = *link;
            link = &tcb->st->tcp->tcbs[*link].acc_next;
        }
        if (*link == tcb->index) {
            *link = tcb->acc_next;
            if (p->acc_tail == tcb->index)
                p->acc_tail = prev;
        }
        p->n_acceptq--;
        tcb->in_acceptq = false;
    } else {
        tp_tcp_synq_unlink(p, tcb);
        p->n_synq--;
    }
    tcb->parent = TP_TCP_NONE;
}

void
tp_tcb_free(struct tp_tcb *tcb)
{
    struct tp_tcp *tcp = tcb->st->tcp;

    TP_ASSERT(tcb->in_use);
    if (tcb->state == TAPIR_TCP_LISTEN)
        tp_tcp_listener_drop_children(tcb);
    unlink_from_parent(tcb);
    tp_tcp_unhash_conn(tcb);
    tp_tcp_unbind_port(tcb);
    tp_tcp_timer_remove(tcb);
    tp_tcb_unnotify(tcb);
    if (tcb->out_queued) {
        uint32_t *link = &tcp->out_head;

        while (*link != TP_TCP_NONE && *link != tcb->index)
            link = &tcp->tcbs[*link].out_next;
        if (*link == tcb->index)
            *link = tcb->out_next;
        tcb->out_queued = false;
    }
    tp_ring_fini(&tcb->snd);
    tp_ring_fini(&tcb->rcv);
    tp_rack_free(tcb);
    tcb->in_use = false;
    tcb->has_handle = false;
    tcb->gen++;
    tcb->free_next = tcp->free_head;
    tcp->free_head = tcb->index;
    tcp->n_used--;
}

int
tp_tcb_alloc_bufs(struct tp_tcb *tcb)
{
    int err;

    if (tcb->snd.buf != NULL)
        return 0;
    if ((err = tp_ring_init(&tcb->snd, tcb->sndbuf_cap)) != 0
        || (err = tp_ring_init(&tcb->rcv, tcb->rcvbuf_cap)) != 0) {
        tp_ring_fini(&tcb->snd);
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_NO_MEM);
        return err;
    }
    tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_BUF_ALLOCS);
    if (tp_rack_alloc(tcb) != 0)
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_NO_MEM);      /* RACK stays off */
    return 0;
}

static uint32_t
round_up_to(uint32_t n, uint32_t unit)
{
    uint64_t r = ((uint64_t)n + unit - 1) / unit * unit;

    return r > UINT32_MAX ? n : (uint32_t)r;
}

/* cfg.tcp.buf_round_mss: once the peer's SYN fixes SND.MSS, a buffer
 * larger than one segment grows to a whole number of segments (a smaller
 * one stays).  Before the buffers exist (passive open) only their sizes
 * change; after connect() the rings grow, keeping what they hold.  Without
 * memory a ring keeps its size (counted). */
void
tp_tcb_round_bufs(struct tp_tcb *tcb)
{
    uint32_t mss = tcb->snd_mss;
    uint32_t snd = tcb->sndbuf_cap > mss ? round_up_to(tcb->sndbuf_cap, mss) : tcb->sndbuf_cap;
    uint32_t rcv = tcb->rcvbuf_cap > mss ? round_up_to(tcb->rcvbuf_cap, mss) : tcb->rcvbuf_cap;

    if (!tcb->st->cfg.tcp.buf_round_mss || mss == 0)
        return;
    if (tcb->snd.buf != NULL && tp_ring_grow(&tcb->snd, snd) != 0) {
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_NO_MEM);
        snd = tcb->sndbuf_cap;
    }
    if (tcb->rcv.buf != NULL && tp_ring_grow(&tcb->rcv, rcv) != 0) {
        tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_NO_MEM);
        rcv = tcb->rcvbuf_cap;
    }
    tcb->sndbuf_cap = snd;
    tcb->rcvbuf_cap = rcv;
}

int
tp_tcb_handle(const struct tp_tcb *tcb)
{
    return (int)((tcb->gen & 0x7ffu) << TP_TCP_HANDLE_IDX_BITS | tcb->index);
}

struct tp_tcb *
tp_tcb_from_handle(struct tapir_stack *st, int h)
{
    struct tp_tcb *tcb;

    if (h < 0)
        return NULL;
    tcb = tp_tcb_at(st, (uint32_t)h & ((1u << TP_TCP_HANDLE_IDX_BITS) - 1));
    if (tcb == NULL || !tcb->in_use || !tcb->has_handle || tp_tcb_handle(tcb) != h)
        return NULL;
    return tcb;
}

uint16_t
tp_tcp_our_mss(const struct tapir_stack *st, const struct tp_tcb *tcb)
{
    /* MUST-67: never more than a segment the link carries (MTU - 40; the
     * MTU is at least 68, so this is at least 28), even below the floor
     * TCP_MAXSEG and peers' values are clamped to. */
    uint32_t link = st->cfg.mtu - 40u, mss = link;

    if (tcb->maxseg != 0 && tcb->maxseg < mss)
        mss = tcb->maxseg < TP_TCP_MSS_MIN ? TP_TCP_MSS_MIN : tcb->maxseg;
    if (mss > link)
        mss = link;
    return (uint16_t)(mss > 65535 ? 65535 : mss);
}

/* ---- events ---- */

void
tp_tcb_notify(struct tp_tcb *tcb, unsigned ev)
{
    struct tp_tcp *tcp = tcb->st->tcp;

    if (!tcb->has_handle || ev == 0)
        return;
    tcb->ev_pending |= ev;
    if (tcb->ev_queued)
        return;
    tcb->ev_queued = true;
    tcb->ev_next = TP_TCP_NONE;
    tcb->ev_prev = tcp->ev_tail;
    if (tcp->ev_tail != TP_TCP_NONE)
        tcp->tcbs[tcp->ev_tail].ev_next = tcb->index;
    else
        tcp->ev_head = tcb->index;
    tcp->ev_tail = tcb->index;
}

void
tp_tcb_unnotify(struct tp_tcb *tcb)
{
    struct tp_tcp *tcp = tcb->st->tcp;

    if (!tcb->ev_queued)
        return;
    if (tcb->ev_prev != TP_TCP_NONE)
        tcp->tcbs[tcb->ev_prev].ev_next = tcb->ev_next;
    else
        tcp->ev_head = tcb->ev_next;
    if (tcb->ev_next != TP_TCP_NONE)
        tcp->tcbs[tcb->ev_next].ev_prev = tcb->ev_prev;
    else
        tcp->ev_tail = tcb->ev_prev;
    tcb->ev_queued = false;
    tcb->ev_pending = 0;
    tcb->ev_prev = tcb->ev_next = TP_TCP_NONE;
}

bool
tapir_tcp_next_event(struct tapir_stack *st, struct tapir_tcp_event *ev)
{
    struct tp_tcp *tcp = st->tcp;
    struct tp_tcb *tcb;
    unsigned bits;

    if (tcp->ev_head == TP_TCP_NONE)
        return false;
    tcb = &tcp->tcbs[tcp->ev_head];
    bits = tcb->ev_pending;
    tp_tcb_unnotify(tcb);
    ev->sock = tp_tcb_handle(tcb);
    ev->events = bits;
    return true;
}

void
tp_tcb_closed(struct tp_tcb *tcb, int err)
{
    if (tcb->state != TAPIR_TCP_CLOSED)
        tp_tcb_set_state(tcb, TAPIR_TCP_CLOSED);
    tp_tcp_unhash_conn(tcb);
    tp_tcp_timer_remove(tcb);
    tcb->rtx_at = tcb->delack_at = tcb->tw_at = tcb->keep_at = tcb->rack_at = TAPIR_TIME_NEVER;
    if (!tcb->has_handle) {
        tp_tcb_free(tcb);
        return;
    }
    if (err != 0)
        tcb->err = err;
    tp_tcb_notify(tcb, TAPIR_EV_HUP | TAPIR_EV_READABLE | TAPIR_EV_WRITABLE
        | (err != 0 ? TAPIR_EV_ERROR : 0u));
}
