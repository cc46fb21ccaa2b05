/*
 * src/linux/loop.c -- the runtime loop: epoll over the TUN fd, a timerfd
 * armed to the stack's next deadline and a signalfd; the only place in
 * tapir that blocks.
 * Called by the CLI (and later the daemon).  Calls tapir_stack_input() for
 * each packet read, tapir_stack_poll() once per iteration, and writes what
 * the stack transmits to the TUN device.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "linux/clock.h"
#include "linux/impair.h"
#include "linux/log.h"
#include "linux/pcap.h"
#include "linux/runtime.h"

#define RT_MAX_EVENTS 64
#define RT_RX_CAP 65536             /* any IPv4 packet fits */
#define RT_AFTER_ROUNDS 16          /* poll/hook rounds per iteration, at most */

struct tp_rt {
    struct tapir_stack *stack;      /* owned */
    struct tp_tun *tun;             /* borrowed */
    int epfd, tfd, sfd;
    struct tp_watch tun_w, timer_w, sig_w;
    struct tp_watch *closing;       /* closed during dispatch, not yet reaped */
    bool is_dispatching;
    bool stop;
    int stop_signal;
    int fatal;                      /* a negative errno that ends tp_rt_run() */
    sigset_t old_mask;
    bool has_old_mask;
    tp_rt_after_fn *after;
    void *after_ctx;
    uint8_t *rx;                    /* owned, RT_RX_CAP bytes */
    uint64_t stats[TP_RT_STAT_N];
    struct tp_pcap *pcap;           /* owned; NULL: no capture */
    struct tp_impair *imp;          /* owned; NULL: a perfect link */
    /* Two buffers: delivering a popped RX packet may transmit, which pops TX. */
    uint8_t *imp_tx, *imp_rx;       /* owned, RT_RX_CAP bytes each, with imp */
};

static const char *const rt_stat_names[TP_RT_STAT_N] = {
#define X(name, pub, desc) [TP_RT_STAT_##name] = pub,
    TP_RT_STATS(X)
#undef X
};

static const char *const rt_stat_descs[TP_RT_STAT_N] = {
#define X(name, pub, desc) [TP_RT_STAT_##name] = desc,
    TP_RT_STATS(X)
#undef X
};

/* Write one packet to the TUN device (a TUN device takes one packet per
 * write, so there is no syscall to save by queueing). */
static int
tun_send(struct tp_rt *rt, const struct tapir_iov *iov, int iovcnt)
{
    size_t len = 0;
    int err;

    for (int i = 0; i < iovcnt; i++)
        len += iov[i].len;
    if ((err = tp_tun_writev(rt->tun, iov, iovcnt)) != 0) {
        rt->stats[TP_RT_STAT_TUN_TX_ERRORS]++;
        tp_debug("tun: write of %zu bytes failed: %s", len, strerror(-err));
        /* The link's contract knows one failure: the packet is lost and the
         * stack's own recovery (retransmission) takes over. */
        return -EAGAIN;
    }
    rt->stats[TP_RT_STAT_TUN_TX_PACKETS]++;
    rt->stats[TP_RT_STAT_TUN_TX_BYTES] += len;
    tp_trace("tun: wrote %zu bytes", len);
    return 0;
}

/* Send the impaired link's TX packets that are due. */
static void
release_tx(struct tp_rt *rt, struct tapir_time now)
{
    int n;

    while ((n = tp_impair_pop(rt->imp, TP_IMPAIR_TX, now, rt->imp_tx, RT_RX_CAP)) > 0)
        (void)tun_send(rt, &(struct tapir_iov){ rt->imp_tx, (size_t)n }, 1);
}

/* The stack's link: captured as the stack sent it, then through the
 * impaired link if there is one, then to the TUN device. */
static int
rt_transmit(void *ctx, const struct tapir_iov *iov, int iovcnt)
{
    struct tp_rt *rt = ctx;
    struct tapir_time now;
    int err;

    if (rt->pcap == NULL && rt->imp == NULL)
        return tun_send(rt, iov, iovcnt);
    now = tp_clock_now();
    if (rt->pcap != NULL)
        (void)tp_pcap_writev(rt->pcap, iov, iovcnt, now);
    if (rt->imp == NULL)
        return tun_send(rt, iov, iovcnt);
    err = tp_impair_pushv(rt->imp, TP_IMPAIR_TX, iov, iovcnt, now);
    release_tx(rt, now);
    return err == -ENOBUFS ? -EAGAIN : 0;
}

struct rx_ctx {
    struct tp_rt *rt;
    struct tapir_time now;
};

/* A packet reaches the stack: captured as the stack received it. */
static void
deliver(struct tp_rt *rt, const void *pkt, size_t len, struct tapir_time now)
{
    if (rt->pcap != NULL)
        (void)tp_pcap_write(rt->pcap, pkt, len, now);
    tapir_stack_input(rt->stack, pkt, len, now);
}

/* Hand the impaired link's RX packets that are due to the stack. */
static void
release_rx(struct tp_rt *rt, struct tapir_time now)
{
    int n;

    while ((n = tp_impair_pop(rt->imp, TP_IMPAIR_RX, now, rt->imp_rx, RT_RX_CAP)) > 0)
        deliver(rt, rt->imp_rx, (size_t)n, now);
}

static void
rx_packet(void *ctx, const void *pkt, size_t len)
{
    struct rx_ctx *c = ctx;

    c->rt->stats[TP_RT_STAT_TUN_RX_PACKETS]++;
    c->rt->stats[TP_RT_STAT_TUN_RX_BYTES] += len;
    tp_trace("tun: read %zu bytes", len);
    if (c->rt->imp == NULL) {
        deliver(c->rt, pkt, len, c->now);
        return;
    }
    (void)tp_impair_push(c->rt->imp, TP_IMPAIR_RX, pkt, len, c->now);
    release_rx(c->rt, c->now);
}

static void
on_tun(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    /* One clock reading per batch: the packets of a batch arrived together. */
    struct rx_ctx c = { rt, tp_clock_now() };
    int n;

    (void)w;
    (void)events;
    rt->stats[TP_RT_STAT_TUN_RX_BATCHES]++;
    n = tp_tun_drain(rt->tun, rt->rx, RT_RX_CAP, TP_RT_RX_BATCH, rx_packet, &c);
    if (n < 0) {
        /* EBADFD: the interface was deleted under us.  No read error is
         * transient on a TUN fd, and level-triggered epoll would report it
         * again at once: stop rather than spin. */
        rt->stats[TP_RT_STAT_TUN_RX_ERRORS]++;
        tp_err("tun: read from %s failed: %s; stopping", rt->tun->name, strerror(-n));
        rt->fatal = n;
        rt->stop = true;
    }
}

static void
on_timer(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    uint64_t expirations;

    (void)events;
    /* Reading clears readiness; the poll at the top of the loop does the work. */
    if (read(w->fd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations))
        rt->stats[TP_RT_STAT_TIMER_FIRES]++;
}

static void
dump_counters(const struct tp_rt *rt)
{
    struct tp_counter c;

    tp_info("counters (non-zero):");
    for (size_t i = 0; i < tp_rt_counters_count(); i++) {
        tp_rt_counter(rt, i, &c);
        if (c.value != 0)
            tp_info("  %-26s %12llu  %s", c.name, (unsigned long long)c.value, c.desc);
    }
}

static void
on_signal(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct signalfd_siginfo si;

    (void)events;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGUSR1) {
            dump_counters(rt);
            continue;
        }
        tp_info("received SIG%s, stopping", sigabbrev_np((int)si.ssi_signo));
        rt->stop_signal = (int)si.ssi_signo;
        rt->stop = true;
    }
}

static int
timer_arm(struct tp_rt *rt, struct tapir_time deadline)
{
    struct itimerspec its;

    memset(&its, 0, sizeof(its));
    if (deadline.us != TAPIR_TIME_NEVER.us) {
        its.it_value = tp_clock_to_timespec(deadline);
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;  /* zero would disarm; "now" means "at once" */
    }
    return timerfd_settime(rt->tfd, TFD_TIMER_ABSTIME, &its, NULL) == -1 ? -errno : 0;
}

static int
signals_init(struct tp_rt *rt)
{
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGUSR1);
    if ((errno = pthread_sigmask(SIG_BLOCK, &mask, &rt->old_mask)) != 0)
        return -errno;
    rt->has_old_mask = true;
    if ((rt->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
        return -errno;
    return 0;
}

static void
watch_init(struct tp_watch *w, int fd, tp_watch_fn *fn, void *ctx)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->events = EPOLLIN;
    w->fn = fn;
    w->ctx = ctx;
}

static int
fds_init(struct tp_rt *rt)
{
    int err;

    if ((rt->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
        return -errno;
    if ((rt->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
        return -errno;
    if ((err = signals_init(rt)) != 0)
        return err;
    watch_init(&rt->tun_w, rt->tun->fd, on_tun, rt);
    watch_init(&rt->timer_w, rt->tfd, on_timer, rt);
    watch_init(&rt->sig_w, rt->sfd, on_signal, rt);
    if ((err = tp_rt_watch_add(rt, &rt->tun_w)) != 0
        || (err = tp_rt_watch_add(rt, &rt->timer_w)) != 0
        || (err = tp_rt_watch_add(rt, &rt->sig_w)) != 0)
        return err;
    return 0;
}

int
tp_rt_new(const struct tapir_config *cfg, struct tp_tun *tun, struct tp_rt **out)
{
    struct tapir_link link;
    struct tp_rt *rt;
    int err;

    *out = NULL;
    if ((rt = calloc(1, sizeof(*rt))) == NULL)
        return -ENOMEM;
    rt->epfd = rt->tfd = rt->sfd = -1;
    rt->tun = tun;
    if ((rt->rx = malloc(RT_RX_CAP)) == NULL) {
        err = -ENOMEM;
        goto fail;
    }
    link = (struct tapir_link){ .transmit = rt_transmit, .ctx = rt };
    if ((err = tapir_stack_new(cfg, &link, &rt->stack)) != 0)
        goto fail;
    if ((err = fds_init(rt)) != 0)
        goto fail;
    *out = rt;
    return 0;
fail:
    tp_rt_free(rt);
    return err;
}

static void
reap_closing(struct tp_rt *rt)
{
    while (rt->closing != NULL) {
        struct tp_watch *w = rt->closing;

        rt->closing = w->next_closing;
        w->next_closing = NULL;
        if (w->on_close != NULL)
            w->on_close(rt, w);
    }
}

void
tp_rt_free(struct tp_rt *rt)
{
    int err;

    if (rt == NULL)
        return;
    reap_closing(rt);
    if (rt->epfd >= 0)
        close(rt->epfd);
    if (rt->tfd >= 0)
        close(rt->tfd);
    if (rt->sfd >= 0)
        close(rt->sfd);
    /* Signals that arrived after the last read stay pending and are
     * delivered, with their default action, once unblocked. */
    if (rt->has_old_mask)
        pthread_sigmask(SIG_SETMASK, &rt->old_mask, NULL);
    tapir_stack_free(rt->stack);
    free(rt->rx);
    if ((err = tp_pcap_close(rt->pcap)) != 0)
        tp_warn("pcap: the capture file may be short: %s", strerror(-err));
    tp_impair_free(rt->imp);
    free(rt->imp_tx);
    free(rt->imp_rx);
    free(rt);
}

struct tapir_stack *
tp_rt_stack(struct tp_rt *rt)
{
    return rt->stack;
}

void
tp_rt_set_pcap(struct tp_rt *rt, struct tp_pcap *pc)
{
    rt->pcap = pc;
}

int
tp_rt_set_impair(struct tp_rt *rt, struct tp_impair *imp)
{
    if ((rt->imp_tx = malloc(RT_RX_CAP)) == NULL || (rt->imp_rx = malloc(RT_RX_CAP)) == NULL) {
        tp_impair_free(imp);
        return -ENOMEM;
    }
    rt->imp = imp;
    return 0;
}

const struct tp_impair *
tp_rt_impair(const struct tp_rt *rt)
{
    return rt->imp;
}

void
tp_rt_set_after(struct tp_rt *rt, tp_rt_after_fn *fn, void *ctx)
{
    rt->after = fn;
    rt->after_ctx = ctx;
}

int
tp_rt_watch_add(struct tp_rt *rt, struct tp_watch *w)
{
    struct epoll_event ev = { .events = w->events, .data.ptr = w };

    if (epoll_ctl(rt->epfd, EPOLL_CTL_ADD, w->fd, &ev) == -1)
        return -errno;
    w->is_active = true;
    w->is_closing = false;
    return 0;
}

int
tp_rt_watch_mod(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = w };

    if (!w->is_active)
        return -EINVAL;
    if (epoll_ctl(rt->epfd, EPOLL_CTL_MOD, w->fd, &ev) == -1)
        return -errno;
    w->events = events;
    return 0;
}

void
tp_rt_watch_close(struct tp_rt *rt, struct tp_watch *w)
{
    if (!w->is_active)
        return;
    epoll_ctl(rt->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->is_active = false;
    w->is_closing = true;
    w->next_closing = rt->closing;
    rt->closing = w;
    if (!rt->is_dispatching)
        reap_closing(rt);
}

/* Poll the stack and let the owner drain its events, until quiet. */
static struct tapir_time
service_stack(struct tp_rt *rt)
{
    struct tapir_time next = tapir_stack_poll(rt->stack, tp_clock_now());

    for (int round = 0; rt->after != NULL && round < RT_AFTER_ROUNDS; round++) {
        if (rt->after(rt, rt->after_ctx) <= 0)
            break;
        next = tapir_stack_poll(rt->stack, tp_clock_now());
    }
    return next;
}

/* Release what the impaired link has due, serve the stack, flush the
 * capture; returns the instant the loop must wake up at the latest. */
static struct tapir_time
service_iteration(struct tp_rt *rt)
{
    struct tapir_time next;
    int err;

    if (rt->imp != NULL) {
        struct tapir_time now = tp_clock_now();

        release_rx(rt, now);
        release_tx(rt, now);
    }
    next = service_stack(rt);
    if (rt->imp != NULL)    /* after the poll, which may have queued TX */
        next = tapir_time_min(next, tp_impair_next_deadline(rt->imp));
    if (rt->pcap != NULL && (err = tp_pcap_flush(rt->pcap)) != 0) {
        tp_warn("pcap: cannot write the capture file, capture stopped: %s", strerror(-err));
        (void)tp_pcap_close(rt->pcap);
        rt->pcap = NULL;
    }
    return next;
}

static void
dispatch(struct tp_rt *rt, const struct epoll_event *evs, int n)
{
    rt->is_dispatching = true;
    for (int i = 0; i < n; i++) {
        struct tp_watch *w = evs[i].data.ptr;

        /* A watcher closed by an earlier callback of this batch is skipped;
         * its memory stays valid until reap_closing(). */
        if (!w->is_closing)
            w->fn(rt, w, evs[i].events);
    }
    rt->is_dispatching = false;
    reap_closing(rt);
}

int
tp_rt_run(struct tp_rt *rt)
{
    struct epoll_event evs[RT_MAX_EVENTS];
    int n, err;

    rt->stop = false;
    rt->stop_signal = 0;
    rt->fatal = 0;
    while (!rt->stop) {
        if ((err = timer_arm(rt, service_iteration(rt))) != 0)
            return err;
        if (rt->stop)
            break;
        n = epoll_wait(rt->epfd, evs, RT_MAX_EVENTS, -1);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        rt->stats[TP_RT_STAT_LOOP_WAKEUPS]++;
        dispatch(rt, evs, n);
    }
    return rt->fatal;
}

void
tp_rt_stop(struct tp_rt *rt)
{
    rt->stop = true;
}

int
tp_rt_stop_signal(const struct tp_rt *rt)
{
    return rt->stop_signal;
}

size_t
tp_rt_counters_count(void)
{
    return tapir_stats_count() + TP_RT_STAT_N;
}

void
tp_rt_counter(const struct tp_rt *rt, size_t i, struct tp_counter *out)
{
    size_t n_stack = tapir_stats_count();

    if (i < n_stack) {
        out->name = tapir_stats_name(i);
        out->desc = tapir_stats_desc(i);
        out->value = tapir_stats_get(rt->stack, i);
        return;
    }
    i -= n_stack;
    out->name = i < TP_RT_STAT_N ? rt_stat_names[i] : "?";
    out->desc = i < TP_RT_STAT_N ? rt_stat_descs[i] : "?";
    out->value = i < TP_RT_STAT_N ? rt->stats[i] : 0;
}

uint64_t
tp_rt_stat(const struct tp_rt *rt, enum tp_rt_stat s)
{
    return s < TP_RT_STAT_N ? rt->stats[s] : 0;
}
