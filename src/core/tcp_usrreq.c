/*
 * src/core/tcp_usrreq.c -- the socket calls of include/tapir/tcp.h (RFC
 * 9293 3.10.1-3.10.6: OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS), the
 * module's poll, and ICMP errors for connections (RFC 1122 4.2.3.9, RFC
 * 5927).
 *
 * Called by the application.  Socket calls never transmit: they queue the
 * TCB on the output list, which tp_tcp_poll() flushes.  They use the time
 * of the latest input or poll as "now".
 */
#include <errno.h>
#include <string.h>

#include "core/tcp_int.h"

static struct tp_tcb *
get(struct tapir_stack *st, int s)
{
    return tp_tcb_from_handle(st, s);
}

int
tapir_tcp_socket(struct tapir_stack *st)
{
    struct tp_tcb *tcb = tp_tcb_alloc(st);

    if (tcb == NULL)
        return -ENOBUFS;
    tcb->has_handle = true;
    return tp_tcb_handle(tcb);
}

static int
bind_port(struct tp_tcb *tcb, uint16_t port)
{
    struct tapir_stack *st = tcb->st;
    int err;

    if (port == 0 && (err = tp_tcp_pick_port(st, 0, 0, &port)) != 0)
        return err;
    if (tp_tcp_port_in_use(st, port, tcb->reuseaddr))
        return -EADDRINUSE;
    tcb->laddr = st->cfg.addr;
    tcb->lport = port;
    tp_tcp_bind_port(tcb);
    return 0;
}

int
tapir_tcp_bind(struct tapir_stack *st, int s, struct tapir_sockaddr local)
{
    struct tp_tcb *tcb = get(st, s);

    if (tcb == NULL)
        return -EBADF;
    if (tcb->bound || tcb->state != TAPIR_TCP_CLOSED)
        return -EINVAL;
    if (local.addr != 0 && local.addr != st->cfg.addr)
        return -EINVAL;
    return bind_port(tcb, local.port);
}

int
tapir_tcp_listen(struct tapir_stack *st, int s, int backlog)
{
    struct tp_tcb *tcb = get(st, s);
    int err;

    if (tcb == NULL)
        return -EBADF;
    if (tcb->state != TAPIR_TCP_CLOSED || tcb->hashed)
        return -EINVAL;
    if (!tcb->bound && (err = bind_port(tcb, 0)) != 0)
        return err;
    tcb->backlog = backlog < 1 ? 1u : (uint32_t)backlog;
    tp_tcb_set_state(tcb, TAPIR_TCP_LISTEN);
    return 0;
}

int
tapir_tcp_accept(struct tapir_stack *st, int s, struct tapir_sockaddr *peer)
{
    struct tp_tcb *lst = get(st, s), *t;

    if (lst == NULL)
        return -EBADF;
    if (lst->state != TAPIR_TCP_LISTEN)
        return -EINVAL;
    if (lst->acc_head == TP_TCP_NONE)
        return -EAGAIN;
    t = &st->tcp->tcbs[lst->acc_head];
    lst->acc_head = t->acc_next;
    if (lst->acc_head == TP_TCP_NONE)
        lst->acc_tail = TP_TCP_NONE;
    lst->n_acceptq--;
    t->in_acceptq = false;
    t->parent = TP_TCP_NONE;
    t->acc_next = TP_TCP_NONE;
    t->has_handle = true;
    if (peer != NULL)
        *peer = (struct tapir_sockaddr){ t->raddr, t->rport };
    tp_tcb_notify(t, (unsigned)tapir_tcp_readiness(st, tp_tcb_handle(t)));
    return tp_tcb_handle(t);
}

int
tapir_tcp_connect(struct tapir_stack *st, int s, struct tapir_sockaddr remote)
{
    struct tp_tcb *tcb = get(st, s);
    uint16_t port;
    int err;

    if (tcb == NULL)
        return -EBADF;
    if (tcb->state == TAPIR_TCP_SYN_SENT || tcb->state == TAPIR_TCP_SYN_RECEIVED)
        return -EALREADY;
    if (tcb->state != TAPIR_TCP_CLOSED)
        return tcb->state == TAPIR_TCP_LISTEN ? -EINVAL : -EISCONN;
    if (tcb->hashed || tcb->snd.buf != NULL)
        return -EISCONN;            /* a socket connects once */
    if (remote.addr == 0 || remote.port == 0 || remote.addr == st->cfg.addr)
        return -EINVAL;
    if (!tcb->bound) {
        if ((err = tp_tcp_pick_port(st, remote.addr, remote.port, &port)) != 0)
            return err;
        tcb->laddr = st->cfg.addr;
        tcb->lport = port;
        tp_tcp_bind_port(tcb);
    } else if (tp_tcp_lookup(st, st->cfg.addr, tcb->lport, remote.addr, remote.port)) {
        return -EADDRINUSE;
    }
    if (tp_tcb_alloc_bufs(tcb) != 0)
        return -ENOBUFS;
    tcb->raddr = remote.addr;
    tcb->rport = remote.port;
    tcb->rcv_mss = tp_tcp_our_mss(st, tcb);
    tcb->snd_mss = TP_TCP_MSS_DEFAULT < tcb->rcv_mss ? TP_TCP_MSS_DEFAULT : tcb->rcv_mss;
    tp_tcp_opts_offer(tcb);
    tcb->iss = tp_tcp_isn(st, tcb->laddr, tcb->lport, tcb->raddr, tcb->rport);
    tcb->snd_una = tcb->snd_nxt = tcb->snd_max = tcb->iss;
    tcb->snd_buf_seq = tcb->iss + 1;
    tp_tcb_set_state(tcb, TAPIR_TCP_SYN_SENT);
    tp_tcp_hash_conn(tcb);
    tp_stat_inc(st, TP_STAT_TCP_ACTIVE_OPENS);
    tp_tcp_output_later(tcb);
    return -EINPROGRESS;
}

static int
take_error(struct tp_tcb *tcb)
{
    int err = tcb->err;

    tcb->err = 0;
    return err;
}

long
tapir_tcp_send(struct tapir_stack *st, int s, const void *buf, size_t len, unsigned flags)
{
    struct tp_tcb *tcb = get(st, s);
    uint32_t n;

    (void)flags;                    /* TAPIR_MSG_MORE: TODO(#4) with Nagle/cork */
    if (tcb == NULL)
        return -EBADF;
    if (tcb->err != 0)
        return take_error(tcb);
    switch (tcb->state) {
    case TAPIR_TCP_SYN_SENT:
    case TAPIR_TCP_SYN_RECEIVED:
    case TAPIR_TCP_ESTABLISHED:
    case TAPIR_TCP_CLOSE_WAIT:
        break;
    case TAPIR_TCP_CLOSED:
    case TAPIR_TCP_LISTEN:
        return tcb->snd.buf != NULL ? -EPIPE : -ENOTCONN;
    case TAPIR_TCP_FIN_WAIT_1:
    case TAPIR_TCP_FIN_WAIT_2:
    case TAPIR_TCP_CLOSING:
    case TAPIR_TCP_LAST_ACK:
    case TAPIR_TCP_TIME_WAIT:
    case TAPIR_TCP_NSTATES:
        return -EPIPE;
    }
    if (tcb->fin_queued)
        return -EPIPE;
    if (len == 0)
        return 0;
    n = tp_ring_write(&tcb->snd, buf, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
    if (n == 0)
        return -EAGAIN;
    tp_tcp_output_later(tcb);
    return (long)n;
}

long
tapir_tcp_recv(struct tapir_stack *st, int s, void *buf, size_t len, unsigned flags)
{
    struct tp_tcb *tcb = get(st, s);
    uint32_t n;

    if (tcb == NULL)
        return -EBADF;
    if (tcb->rcv.buf != NULL && tcb->rcv.len > 0 && !tcb->rd_shut) {
        n = tp_ring_peek(&tcb->rcv, 0, buf, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
        if (!(flags & TAPIR_MSG_PEEK)) {
            tp_ring_drop(&tcb->rcv, n);
            tp_tcp_output_later(tcb);           /* maybe a window update */
        }
        return (long)n;
    }
    if (tcb->fin_rcvd || tcb->rd_shut)
        return 0;
    if (tcb->err != 0)
        return take_error(tcb);
    switch (tcb->state) {
    case TAPIR_TCP_CLOSED:
        return tcb->rcv.buf != NULL ? 0 : -ENOTCONN;
    case TAPIR_TCP_LISTEN:
        return -ENOTCONN;
    case TAPIR_TCP_SYN_SENT:
    case TAPIR_TCP_SYN_RECEIVED:
    case TAPIR_TCP_ESTABLISHED:
    case TAPIR_TCP_FIN_WAIT_1:
    case TAPIR_TCP_FIN_WAIT_2:
    case TAPIR_TCP_CLOSE_WAIT:
    case TAPIR_TCP_CLOSING:
    case TAPIR_TCP_LAST_ACK:
    case TAPIR_TCP_TIME_WAIT:
    case TAPIR_TCP_NSTATES:
        break;
    }
    return -EAGAIN;
}

/* RFC 9293 3.10.4: CLOSE queues a FIN after the data. */
static void
shut_write(struct tp_tcb *tcb)
{
    if (tcb->fin_queued)
        return;
    tcb->fin_queued = true;
    if (tcb->state == TAPIR_TCP_ESTABLISHED)
        tp_tcb_set_state(tcb, TAPIR_TCP_FIN_WAIT_1);
    else if (tcb->state == TAPIR_TCP_CLOSE_WAIT)
        tp_tcb_set_state(tcb, TAPIR_TCP_LAST_ACK);
    tp_tcp_output_later(tcb);
}

int
tapir_tcp_shutdown(struct tapir_stack *st, int s, int how)
{
    struct tp_tcb *tcb = get(st, s);

    if (tcb == NULL)
        return -EBADF;
    if (how != TAPIR_SHUT_RD && how != TAPIR_SHUT_WR && how != TAPIR_SHUT_RDWR)
        return -EINVAL;
    if (tcb->state == TAPIR_TCP_CLOSED || tcb->state == TAPIR_TCP_LISTEN)
        return -ENOTCONN;
    if (how != TAPIR_SHUT_WR) {
        tcb->rd_shut = true;
        if (tcb->rcv.buf != NULL)
            tp_ring_drop(&tcb->rcv, tcb->rcv.len);
    }
    if (how != TAPIR_SHUT_RD)
        shut_write(tcb);
    return 0;
}

static bool
is_synchronized_or_syn_rcvd(enum tapir_tcp_state s)
{
    return s == TAPIR_TCP_SYN_RECEIVED || s == TAPIR_TCP_ESTABLISHED
        || s == TAPIR_TCP_FIN_WAIT_1 || s == TAPIR_TCP_FIN_WAIT_2
        || s == TAPIR_TCP_CLOSE_WAIT;
}

/* RFC 9293 3.10.5: ABORT -- RST if synchronized, then the TCB is gone. */
static void
abort_tcb(struct tp_tcb *tcb)
{
    if (is_synchronized_or_syn_rcvd(tcb->state))
        tp_tcp_send_rst(tcb->st, tcb->laddr, tcb->lport, tcb->raddr, tcb->rport,
            tcb->snd_max, tcb->rcv_nxt, true, tcb);
    if (tcb->state == TAPIR_TCP_ESTABLISHED || tcb->state == TAPIR_TCP_CLOSE_WAIT)
        tp_stat_inc(tcb->st, TP_STAT_TCP_ESTAB_RESETS);
    tp_tcb_free(tcb);
}

int
tapir_tcp_abort(struct tapir_stack *st, int s)
{
    struct tp_tcb *tcb = get(st, s);

    if (tcb == NULL)
        return -EBADF;
    abort_tcb(tcb);
    return 0;
}

int
tapir_tcp_close(struct tapir_stack *st, int s)
{
    struct tp_tcb *tcb = get(st, s);

    if (tcb == NULL)
        return -EBADF;
    switch (tcb->state) {
    case TAPIR_TCP_CLOSED:
    case TAPIR_TCP_LISTEN:
    case TAPIR_TCP_SYN_SENT:
        tp_tcb_free(tcb);
        return 0;
    case TAPIR_TCP_SYN_RECEIVED:
    case TAPIR_TCP_ESTABLISHED:
    case TAPIR_TCP_FIN_WAIT_1:
    case TAPIR_TCP_FIN_WAIT_2:
    case TAPIR_TCP_CLOSE_WAIT:
    case TAPIR_TCP_CLOSING:
    case TAPIR_TCP_LAST_ACK:
    case TAPIR_TCP_TIME_WAIT:
    case TAPIR_TCP_NSTATES:
        break;
    }
    /* RFC 2525 2.17: unread data means the peer's bytes were lost: reset. */
    if (tcb->linger0 || (tcb->rcv.buf != NULL && tcb->rcv.len > 0 && !tcb->rd_shut)) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_ABORT_ON_CLOSE);
        abort_tcb(tcb);
        return 0;
    }
    tcb->has_handle = false;
    tp_tcb_unnotify(tcb);
    shut_write(tcb);
    if (tcb->state == TAPIR_TCP_FIN_WAIT_2 && tcb->tw_at.us == INT64_MAX) {
        tcb->tw_at = tapir_time_add(st->tcp->now, TAPIR_MS(st->cfg.tcp.msl_ms));
        tp_tcp_timer_update(tcb);
    }
    return 0;
}

/* ---- options ---- */

static uint32_t *
opt_u32(struct tp_tcb *tcb, enum tapir_tcp_opt opt)
{
    switch (opt) {
    case TAPIR_SO_RCVBUF: return &tcb->rcvbuf_cap;
    case TAPIR_SO_SNDBUF: return &tcb->sndbuf_cap;
    case TAPIR_TCP_MAXSEG: return &tcb->maxseg;
    case TAPIR_TCP_KEEPIDLE: return &tcb->keepidle_s;
    case TAPIR_TCP_KEEPINTVL: return &tcb->keepintvl_s;
    case TAPIR_TCP_KEEPCNT: return &tcb->keepcnt;
    case TAPIR_TCP_USER_TIMEOUT: return &tcb->user_timeout_ms;
    case TAPIR_SO_REUSEADDR:
    case TAPIR_SO_KEEPALIVE:
    case TAPIR_SO_LINGER_ZERO:
    case TAPIR_TCP_NODELAY:
    case TAPIR_TCP_CONGESTION:
    case TAPIR_IP_TOS:
    case TAPIR_IP_TTL:
    case TAPIR_TCP_NOPTS:
        break;
    }
    return NULL;
}

static bool *
opt_bool(struct tp_tcb *tcb, enum tapir_tcp_opt opt)
{
    switch (opt) {
    case TAPIR_SO_REUSEADDR: return &tcb->reuseaddr;
    case TAPIR_SO_KEEPALIVE: return &tcb->keepalive;
    case TAPIR_SO_LINGER_ZERO: return &tcb->linger0;
    case TAPIR_TCP_NODELAY: return &tcb->nodelay;
    case TAPIR_SO_RCVBUF:
    case TAPIR_SO_SNDBUF:
    case TAPIR_TCP_MAXSEG:
    case TAPIR_TCP_KEEPIDLE:
    case TAPIR_TCP_KEEPINTVL:
    case TAPIR_TCP_KEEPCNT:
    case TAPIR_TCP_USER_TIMEOUT:
    case TAPIR_TCP_CONGESTION:
    case TAPIR_IP_TOS:
    case TAPIR_IP_TTL:
    case TAPIR_TCP_NOPTS:
        break;
    }
    return NULL;
}

/* IP_TOS and IP_TTL (RFC 9293 MUST-48, MUST-49: the application may set
 * the DSCP and the TTL): they apply to every segment sent from now on,
 * RSTs included, and accepted sockets inherit them from the listener. */
static int
set_ip_opt(struct tp_tcb *tcb, enum tapir_tcp_opt opt, int value)
{
    if (opt == TAPIR_IP_TTL) {
        if (value == -1)
            value = 0;              /* back to the stack's */
        else if (value < 1 || value > 255)
            return -EINVAL;
        tcb->ip_ttl = (uint8_t)value;
        return 0;
    }
    if (value < 0 || value > 255)
        return -EINVAL;
    tcb->ip_tos = (uint8_t)(value & ~3);    /* the ECN field is TCP's (RFC 3168), as on Linux */
    return 0;
}

int
tapir_tcp_setsockopt(struct tapir_stack *st, int s, enum tapir_tcp_opt opt, int value)
{
    struct tp_tcb *tcb = get(st, s);
    uint32_t *u;
    bool *b;

    if (tcb == NULL)
        return -EBADF;
    if ((b = opt_bool(tcb, opt)) != NULL) {
        *b = value != 0;
        if (opt == TAPIR_TCP_NODELAY && value != 0)
            tp_tcp_output_later(tcb);
        if (opt == TAPIR_SO_KEEPALIVE && tcb->state == TAPIR_TCP_ESTABLISHED) {
            tcb->keep_at = value ? tapir_time_add(st->tcp->now, TAPIR_SEC(tcb->keepidle_s))
                : TAPIR_TIME_NEVER;
            tp_tcp_timer_update(tcb);
        }
        return 0;
    }
    if (opt == TAPIR_TCP_CONGESTION) {
        if (value < 0 || value >= TAPIR_TCP_CC_COUNT)
            return -EINVAL;
        tp_cc_select(tcb, (enum tp_cc_algo)value);
        return 0;
    }
    if (opt == TAPIR_IP_TOS || opt == TAPIR_IP_TTL)
        return set_ip_opt(tcb, opt, value);
    if ((u = opt_u32(tcb, opt)) == NULL)
        return -ENOPROTOOPT;
    if (value < 0 || ((opt == TAPIR_SO_RCVBUF || opt == TAPIR_SO_SNDBUF)
        && (value < 256 || tcb->snd.buf != NULL)))
        return -EINVAL;
    if ((opt == TAPIR_TCP_KEEPIDLE || opt == TAPIR_TCP_KEEPINTVL || opt == TAPIR_TCP_KEEPCNT)
        && value < 1)
        return -EINVAL;
    *u = (uint32_t)value;
    if (opt == TAPIR_TCP_KEEPIDLE && tcb->keepalive && tcb->state == TAPIR_TCP_ESTABLISHED
        && tcb->n_keep_probes == 0) {
        /* A new idle time applies to the pending wait too (MUST-27). */
        tcb->keep_at = tapir_time_add(st->tcp->now, TAPIR_SEC(tcb->keepidle_s));
        tp_tcp_timer_update(tcb);
    }
    return 0;
}

int
tapir_tcp_getsockopt(struct tapir_stack *st, int s, enum tapir_tcp_opt opt, int *value)
{
    struct tp_tcb *tcb = get(st, s);
    uint32_t *u;
    bool *b;

    if (tcb == NULL)
        return -EBADF;
    if ((b = opt_bool(tcb, opt)) != NULL) {
        *value = *b;
        return 0;
    }
    if (opt == TAPIR_TCP_CONGESTION) {
        *value = (int)tcb->cc;
        return 0;
    }
    if (opt == TAPIR_IP_TOS || opt == TAPIR_IP_TTL) {
        *value = opt == TAPIR_IP_TOS ? tcb->ip_tos
            : tcb->ip_ttl != 0 ? tcb->ip_ttl : st->cfg.ttl;
        return 0;
    }
    if ((u = opt_u32(tcb, opt)) == NULL)
        return -ENOPROTOOPT;
    *value = *u > INT32_MAX ? INT32_MAX : (int)*u;
    if (opt == TAPIR_TCP_MAXSEG && tcb->snd_mss != 0)
        *value = tcb->snd_mss;
    return 0;
}

int
tapir_tcp_getsockname(struct tapir_stack *st, int s, struct tapir_sockaddr *out)
{
    struct tp_tcb *tcb = get(st, s);

    if (tcb == NULL)
        return -EBADF;
    *out = (struct tapir_sockaddr){ tcb->laddr, tcb->lport };
    return 0;
}

int
tapir_tcp_getpeername(struct tapir_stack *st, int s, struct tapir_sockaddr *out)
{
    struct tp_tcb *tcb = get(st, s);

    if (tcb == NULL)
        return -EBADF;
    if (tcb->raddr == 0 || tcb->state == TAPIR_TCP_LISTEN)
        return -ENOTCONN;
    *out = (struct tapir_sockaddr){ tcb->raddr, tcb->rport };
    return 0;
}

int
tapir_tcp_error(struct tapir_stack *st, int s)
{
    struct tp_tcb *tcb = get(st, s);

    if (tcb == NULL)
        return -EBADF;
    return take_error(tcb);
}

int
tapir_tcp_readiness(struct tapir_stack *st, int s)
{
    struct tp_tcb *tcb = get(st, s);
    unsigned r = 0;

    if (tcb == NULL)
        return -EBADF;
    if (tcb->state == TAPIR_TCP_LISTEN)
        return tcb->acc_head != TP_TCP_NONE ? TAPIR_EV_READABLE : 0;
    if ((tcb->rcv.buf != NULL && tcb->rcv.len > 0) || tcb->fin_rcvd || tcb->rd_shut)
        r |= TAPIR_EV_READABLE;
    if (tcb->fin_rcvd)
        r |= TAPIR_EV_RDHUP;
    if ((tcb->state == TAPIR_TCP_ESTABLISHED || tcb->state == TAPIR_TCP_CLOSE_WAIT)
        && !tcb->fin_queued && tp_ring_free(&tcb->snd) > 0)
        r |= TAPIR_EV_WRITABLE;
    if (tcb->err != 0)
        r |= TAPIR_EV_ERROR | TAPIR_EV_READABLE;
    if (tcb->state == TAPIR_TCP_CLOSED && tcb->snd.buf != NULL)
        r |= TAPIR_EV_HUP | TAPIR_EV_READABLE | TAPIR_EV_WRITABLE;
    if (tcb->state == TAPIR_TCP_TIME_WAIT)
        r |= TAPIR_EV_HUP;
    return (int)r;
}

/* ---- status ---- */

static void
fill_info(const struct tp_tcb *t, struct tapir_tcp_info *o)
{
    memset(o, 0, sizeof(*o));
    o->sock = t->has_handle ? tp_tcb_handle(t) : -1;
    o->state = t->state;
    o->local = (struct tapir_sockaddr){ t->laddr, t->lport };
    o->remote = (struct tapir_sockaddr){ t->raddr, t->rport };
    o->rtt_us = (uint32_t)t->srtt_us;
    o->rttvar_us = (uint32_t)t->rttvar_us;
    o->rto_us = (uint32_t)t->rto_us;
    o->snd_mss = t->snd_mss;
    o->rcv_mss = t->rcv_mss;
    if (t->state >= TAPIR_TCP_ESTABLISHED || t->state == TAPIR_TCP_SYN_RECEIVED) {
        o->options = (t->opt_ts ? TAPIR_TCPI_OPT_TIMESTAMPS : 0u)
            | (t->opt_sack ? TAPIR_TCPI_OPT_SACK : 0u) | (t->opt_wscale ? TAPIR_TCPI_OPT_WSCALE : 0u);
        o->snd_wscale = t->snd_wscale;
        o->rcv_wscale = t->rcv_wscale;
    }
    o->cwnd = t->cwnd;
    o->ssthresh = t->ssthresh;
    o->bytes_in_flight = t->snd_max - t->snd_una;
    o->snd_queue = t->snd.len;
    o->rcv_queue = t->rcv.len;
    o->snd_wnd = t->snd_wnd;
    o->rcv_wnd = tp_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    o->retransmits = t->n_rtx;
    o->total_retrans = t->total_retrans;
    o->bytes_acked = t->bytes_acked;
    if (t->ecn_ok)
        o->options |= TAPIR_TCPI_OPT_ECN;
    o->bytes_received = t->bytes_received;
}

int
tapir_tcp_info(struct tapir_stack *st, int s, struct tapir_tcp_info *out)
{
    struct tp_tcb *tcb = get(st, s);

    if (tcb == NULL)
        return -EBADF;
    fill_info(tcb, out);
    return 0;
}

size_t
tapir_tcp_snapshot(struct tapir_stack *st, struct tapir_tcp_info *out, size_t cap)
{
    struct tp_tcp *tcp = st->tcp;
    size_t n = 0;

    for (uint32_t i = 0; i < tcp->n_tcbs; i++) {
        if (!tcp->tcbs[i].in_use)
            continue;
        if (n < cap)
            fill_info(&tcp->tcbs[i], &out[n]);
        n++;
    }
    return n;
}

/* ---- poll ---- */

struct tapir_time
tp_tcp_poll(struct tapir_stack *st, struct tapir_time now)
{
    struct tp_tcp *tcp = st->tcp;

    tcp->now = now;
    while (tcp->out_head != TP_TCP_NONE) {
        struct tp_tcb *tcb = &tcp->tcbs[tcp->out_head];

        tcp->out_head = tcb->out_next;
        tcb->out_queued = false;
        tp_tcp_output(tcb, now);
        tp_tcp_timer_update(tcb);
    }
    tp_tcp_timers_run(st, now);
    return tp_tcp_next_deadline(st);
}

/* ---- ICMP errors (RFC 1122 4.2.3.9, RFC 5927) ---- */

/*
 * The errno an ICMP error stands for, and whether it ends a connection
 * attempt ("hard").  RFC 1122 names port and protocol unreachable hard.
 * Like Linux and FreeBSD we also end an attempt on net or host unreachable
 * and on TTL exceeded in transit: RFC 5461 describes this widely used
 * departure from MUST-56 (the SYN will not get through, so fail fast);
 * once established, every error is soft.  The administratively prohibited
 * codes (RFC 1812 5.2.7.1) say a filter refused us: ECONNREFUSED, as on
 * FreeBSD (Linux says ENETUNREACH or EHOSTUNREACH; RFC 1122 fixes no errno).
 */
static int
icmp_errno(const struct tp_icmp *m, bool *hard)
{
    *hard = false;
    if (m->type == TP_ICMP_DEST_UNREACH) {
        switch (m->code) {
        case TP_ICMP_UNREACH_PORT:
        case TP_ICMP_UNREACH_PROTO:
        case TP_ICMP_UNREACH_NET_PROHIB:
        case TP_ICMP_UNREACH_HOST_PROHIB:
        case TP_ICMP_UNREACH_ADMIN_PROHIB:
            *hard = true;
            return -ECONNREFUSED;
        case TP_ICMP_UNREACH_NET:
            *hard = true;
            return -ENETUNREACH;
        case TP_ICMP_UNREACH_HOST:
            *hard = true;
            return -EHOSTUNREACH;
        default:
            return -EHOSTUNREACH;
        }
    }
    if (m->type == TP_ICMP_PARAM_PROBLEM)
        return -EPROTO;
    if (m->type == TP_ICMP_TIME_EXCEEDED && m->code == 0)
        *hard = true;               /* TTL exceeded in transit: a loop, or too far */
    return -EHOSTUNREACH;           /* reassembly time exceeded and the rest: soft */
}

/* RFC 1191: frag-needed lowers the MSS; retransmit what was too big. */
static void
pmtu_lower(struct tp_tcb *tcb, const struct tp_icmp *m)
{
    uint32_t mss;

    if (m->next_mtu < 68 + 0 || m->next_mtu <= 40)
        return;
    mss = m->next_mtu - 40u;
    if (mss < TP_TCP_MSS_MIN)
        mss = TP_TCP_MSS_MIN;
    if (mss >= tcb->snd_mss)
        return;
    tcb->snd_mss = (uint16_t)mss;
    tcb->snd_nxt = tcb->snd_una;    /* go back: the lost segments were too big */
    tcb->rtt_timing = false;
    tp_stat_inc(tcb->st, TP_STAT_TCP_EXT_PMTU_LOWERED);
    tp_tcp_output(tcb, tcb->st->tcp->now);
}

void
tp_tcp_icmp_error(struct tapir_stack *st, const struct tp_icmp *m, const struct tp_ipv4 *qip,
    const uint8_t *l4, size_t l4_len, struct tapir_time now)
{
    struct tp_tcb *tcb;
    uint32_t seq;
    bool hard;
    int err;

    st->tcp->now = now;
    if (l4_len < 8 || m->type == TP_ICMP_SOURCE_QUENCH) /* RFC 6633: ignore quench */
        return;
    tcb = tp_tcp_lookup(st, qip->src, tp_load_be16(l4), qip->dst, tp_load_be16(l4 + 2));
    if (tcb == NULL || tcb->state == TAPIR_TCP_LISTEN) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_ICMP_NO_CONN);
        return;
    }
    seq = tp_load_be32(l4 + 4);
    /* RFC 5927 4.1: only a segment in flight can have provoked it. */
    if (!(tp_seq_geq(seq, tcb->snd_una) && tp_seq_lt(seq, tcb->snd_max))) {
        tp_stat_inc(st, TP_STAT_TCP_EXT_ICMP_BAD_SEQ);
        return;
    }
    tp_stat_inc(st, TP_STAT_TCP_EXT_ICMP_ERRORS);
    if (m->type == TP_ICMP_DEST_UNREACH && m->code == TP_ICMP_UNREACH_NEEDFRAG) {
        pmtu_lower(tcb, m);
        return;
    }
    err = icmp_errno(m, &hard);
    /* cfg.tcp.icmp_soft_only: every error is soft (FreeBSD icmp_may_rst=0). */
    if (hard && tcb->state == TAPIR_TCP_SYN_SENT && !st->cfg.tcp.icmp_soft_only) {
        tp_stat_inc(st, TP_STAT_TCP_ATTEMPT_FAILS);
        tp_tcb_closed(tcb, err);
        return;
    }
    tcb->soft_err = err;            /* reported if the connection times out */
}
