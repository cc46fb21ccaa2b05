/*
 * src/linux/runtime.h -- (loop.c) the runtime: one stack on one TUN device, driven by
 * epoll, a timerfd at the stack's next deadline, and a signalfd.
 *
 * The loop is the only place that blocks.  Each iteration: poll the stack,
 * let the owner drain the stack's events (the "after" hook), arm the timer
 * to the stack's next deadline, wait, dispatch the ready watchers, then free
 * the watchers that were closed during dispatch.  More fds (a control
 * socket, application sockets) join through tp_rt_watch_add().
 * A runtime belongs to the thread that runs it; none of this is thread-safe.
 */
#ifndef TP_LINUX_RUNTIME_H
#define TP_LINUX_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "linux/tun.h"
#include "tapir/stack.h"

struct tp_rt;
struct tp_watch;

/* A watcher is ready: events are EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits. */
typedef void tp_watch_fn(struct tp_rt *rt, struct tp_watch *w, uint32_t events);

/* A closed watcher is no longer referenced by the loop: its owner may free
 * it and close its fd now. */
typedef void tp_watch_close_fn(struct tp_rt *rt, struct tp_watch *w);

/*
 * Embedded in its owner (find the owner with tp_container_of or ctx).  The
 * owner fills fd, events, fn, on_close (may be NULL) and ctx; the rest is
 * the loop's.
 */
struct tp_watch {
    int fd;                         /* borrowed: the owner closes it */
    uint32_t events;                /* EPOLLIN, EPOLLOUT, ... (level-triggered) */
    tp_watch_fn *fn;
    tp_watch_close_fn *on_close;
    void *ctx;
    /* the loop's */
    bool is_active;
    bool is_closing;
    struct tp_watch *next_closing;
};

/*
 * Called after the stack was polled in each iteration, so the owner can
 * drain tapir_tcp_next_event() and act on sockets.  Returns how many
 * events it handled: while that is > 0 the stack is polled again (socket
 * calls queue output that only a poll sends), a bounded number of times.
 */
typedef int tp_rt_after_fn(struct tp_rt *rt, void *ctx);

/*
 * Runtime counters, named like the stack's (see tapir_stats_name).
 */
#define TP_RT_STATS(X)                                                            \
    X(TUN_RX_PACKETS, "TapirTunRxPackets", "packets read from the TUN device")    \
    X(TUN_RX_BYTES, "TapirTunRxBytes", "bytes read from the TUN device")          \
    X(TUN_RX_BATCHES, "TapirTunRxBatches", "TUN readiness events served")         \
    X(TUN_RX_ERRORS, "TapirTunRxErrors", "TUN read failures")                     \
    X(TUN_TX_PACKETS, "TapirTunTxPackets", "packets written to the TUN device")   \
    X(TUN_TX_BYTES, "TapirTunTxBytes", "bytes written to the TUN device")         \
    X(TUN_TX_ERRORS, "TapirTunTxErrors", "TUN write failures (packet lost)")      \
    X(LOOP_WAKEUPS, "TapirLoopWakeups", "returns from epoll_wait")                \
    X(TIMER_FIRES, "TapirLoopTimerFires", "stack deadlines reached (timerfd)")

enum tp_rt_stat {
#define X(name, pub, desc) TP_RT_STAT_##name,
    TP_RT_STATS(X)
#undef X
    TP_RT_STAT_N
};

/* Packets read per TUN readiness event, at most. */
#define TP_RT_RX_BATCH 64

/*
 * Create a runtime: a stack made from cfg (copied; its link is the TUN),
 * an epoll set watching tun (borrowed: it must outlive the runtime), a
 * timerfd, and a signalfd for SIGINT and SIGTERM (stop) and SIGUSR1 (dump
 * the counters to the log).  Those three signals are blocked in the calling
 * thread until tp_rt_free(); a child forked meanwhile inherits the mask and
 * must unblock them before exec.  Returns 0 and *out, or a negative errno
 * (-EINVAL: the stack refused cfg).
 */
int tp_rt_new(const struct tapir_config *cfg, struct tp_tun *tun, struct tp_rt **out);

/* Free the runtime, its stack and its fds (not the TUN device), and restore
 * the signal mask.  NULL is allowed.  Not from inside tp_rt_run(). */
void tp_rt_free(struct tp_rt *rt);

/* The stack, for socket calls and counters; owned by the runtime. */
struct tapir_stack *tp_rt_stack(struct tp_rt *rt);

struct tp_pcap;
struct tp_impair;

/* Capture every packet of the link to pc (taken: closed by tp_rt_free()).
 * Packets are captured as the stack sent and received them, inside any
 * impairment.  Call before tp_rt_run(). */
void tp_rt_set_pcap(struct tp_rt *rt, struct tp_pcap *pc);

/* Put the impaired link imp (taken, even on failure: freed by tp_rt_free())
 * between the stack and the TUN device, both directions.  Call before
 * tp_rt_run().  0 or -ENOMEM. */
int tp_rt_set_impair(struct tp_rt *rt, struct tp_impair *imp);

/* The impaired link, or NULL; for its counters. */
const struct tp_impair *tp_rt_impair(const struct tp_rt *rt);

/* Set or clear (fn NULL) the after-iteration hook. */
void tp_rt_set_after(struct tp_rt *rt, tp_rt_after_fn *fn, void *ctx);

/* Watch w->fd for w->events.  w is borrowed until its on_close ran (or
 * tp_rt_free()).  Returns 0 or a negative errno from epoll_ctl. */
int tp_rt_watch_add(struct tp_rt *rt, struct tp_watch *w);

/* Change the events of an active watcher.  0 or a negative errno. */
int tp_rt_watch_mod(struct tp_rt *rt, struct tp_watch *w, uint32_t events);

/*
 * Stop watching w.  Its callback is not called again; on_close runs once
 * the current iteration's dispatch is over (or at once when called outside
 * tp_rt_run), so an owner may call this from any callback, its own
 * included.  Safe twice.
 */
void tp_rt_watch_close(struct tp_rt *rt, struct tp_watch *w);

/*
 * Run until tp_rt_stop() or SIGINT/SIGTERM.  Returns 0 when stopped, or a
 * negative errno if the loop itself failed (epoll, timerfd) or the TUN
 * device failed (-EBADFD: its interface was deleted).
 */
int tp_rt_run(struct tp_rt *rt);

/* Ask the loop to return after the current iteration.  From callbacks. */
void tp_rt_stop(struct tp_rt *rt);

/* The signal that stopped the loop, or 0. */
int tp_rt_stop_signal(const struct tp_rt *rt);

/*
 * All counters, the stack's then the runtime's, as one list: index i runs
 * from 0 to tp_rt_counters_count() - 1.  name and desc are static strings.
 */
struct tp_counter {
    const char *name;
    const char *desc;
    uint64_t value;
};
size_t tp_rt_counters_count(void);
void tp_rt_counter(const struct tp_rt *rt, size_t i, struct tp_counter *out);

/* One runtime counter's value. */
uint64_t tp_rt_stat(const struct tp_rt *rt, enum tp_rt_stat s);

#endif
