/*
 * tests/lib/sim.h -- a deterministic simulation of tapir stacks joined by
 * impaired links, in virtual time.
 *
 * Each node is a real stack (tapir_stack_new) with address 10.0.0.<i+1>/24.
 * Every packet a stack transmits is copied into a pooled event and crosses a
 * one-way link that may lose, duplicate, hold back, corrupt, delay and
 * rate-limit it.  The event loop takes the earliest thing due: a packet to
 * deliver (tapir_stack_input), a stack's own deadline (tapir_stack_poll), or
 * a test timer.  After each step the node's news is drained and handed to the
 * test's application callbacks; the core itself never calls the application.
 * All randomness comes from one generator seeded by the test, so a seed
 * replays the same run exactly.  Every run is bounded in virtual time and in
 * events and fails with a message, never a hang.
 */
#ifndef TAPIR_TESTS_SIM_H
#define TAPIR_TESTS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tapir/tapir.h"

#define SIM_MAX_NODES 8

/* One direction of a link.  Probabilities are in [0, 1]. */
struct sim_link_cfg {
    double loss;                    /* a packet vanishes on the wire */
    double dup;                     /* a packet arrives twice */
    double reorder;                 /* a packet is held back ... */
    int64_t reorder_us;             /* ... by 1..reorder_us extra (uniform) */
    double corrupt;                 /* one random bit of the packet is flipped */
    int64_t delay_us;               /* fixed one-way propagation delay */
    int64_t jitter_us;              /* plus 0..jitter_us (uniform, may reorder) */
    uint64_t rate_bps;              /* serialisation rate; 0: no limit, no queue */
    uint32_t queue_bytes;           /* bottleneck queue with rate_bps; 0: 150000 */
    /* Bursts of loss: with probability burst_enter a packet starts a burst
     * lasting 0..2 x burst_us (uniform); packets sent during a burst, that
     * one included, are lost with burst_loss.  Bursts are measured in time,
     * not packets, so a quiet connection's retransmissions do not keep one
     * alive for ever. */
    double burst_enter;
    int64_t burst_us;
    double burst_loss;
};

/* Counters of one direction.  Invariant once nothing is in flight:
 * sent == filtered + queue_drops + lost + delivered - duplicated. */
struct sim_link_stats {
    uint64_t sent;                  /* packets the source offered to the link */
    uint64_t sent_bytes;
    uint64_t filtered;              /* dropped by the test's filter (sim_set_filter) */
    uint64_t queue_drops;           /* tail drops at the bottleneck queue */
    uint64_t lost;                  /* random loss, bursts included */
    uint64_t bursts;                /* times the link turned bad */
    uint64_t corrupted;             /* packets with a flipped bit (before dup) */
    uint64_t duplicated;            /* extra copies made */
    uint64_t reordered;             /* packets held back */
    uint64_t delivered;             /* copies handed to the receiving stack */
    uint64_t delivered_corrupt;     /* ... of which carried a flipped bit */
    uint64_t delivered_bytes;
    uint64_t tcp_payload_bytes;     /* TCP payload in intact deliveries, resent data too */
    uint32_t queue_max_bytes;       /* high-water mark of the bottleneck queue */
};

/* Adjusts node `node`'s stack configuration before its stack is made
 * (its address and seed are already set). */
typedef void sim_node_cfg_fn(int node, struct tapir_config *cfg, void *ctx);

struct sim_cfg {
    uint64_t seed;                  /* the run's only source of randomness */
    sim_node_cfg_fn *node_cfg;      /* NULL: every node as stack_cfg says */
    void *node_cfg_ctx;
    int n_nodes;                    /* 2..SIM_MAX_NODES; 0 means 2 */
    int64_t max_time_us;            /* a run fails past this virtual time; 0: 1 h */
    uint64_t max_events;            /* ... or past this many steps; 0: 50 million */
    uint32_t max_in_flight;         /* packets in flight at once; 0: 1 million */
    size_t trace_cap;               /* packet records kept for sim_trace_dump; 0: 4096 */
};

/* Return values of sim_run besides 0. */
enum {
    SIM_ERR_TIME = -1000,           /* max_time_us passed before done */
    SIM_ERR_EVENTS,                 /* max_events passed, or a livelock at one instant */
    SIM_ERR_IDLE,                   /* nothing left to happen and not done */
    SIM_ERR_FAILED,                 /* sim_fail() was called, or the sim broke */
};

struct sim;

/* The test's application, told about one socket's news on one node. */
typedef void sim_tcp_event_fn(struct sim *sim, int node, const struct tapir_tcp_event *ev,
    void *ctx);
/* A test timer (sim_at). */
typedef void sim_timer_fn(struct sim *sim, void *ctx);
/* True once the test's goal is reached; sim_run stops then. */
typedef bool sim_done_fn(struct sim *sim, void *ctx);

enum sim_tap_point {
    SIM_TAP_SEND,                   /* as the source transmitted it (before the link) */
    SIM_TAP_DELIVER,                /* as the destination receives it (after the link) */
};

/* Sees every packet at both points; pkt is borrowed for the call. */
typedef void sim_tap_fn(struct sim *sim, enum sim_tap_point where, int from, int to,
    const uint8_t *pkt, size_t len, bool corrupted, void *ctx);

/*
 * Create a simulation.  stack_cfg (NULL: tapir_config_default) is the
 * configuration of every node; its addr and seed are replaced by
 * 10.0.0.<i+1>/24 and a seed derived from cfg->seed.  Links start clean
 * (no loss, no delay).  Returns 0 and *out, or a negative errno (the stack's
 * own, if tapir_stack_new refused).
 */
int sim_new(const struct sim_cfg *cfg, const struct tapir_config *stack_cfg,
    struct sim **out);
void sim_free(struct sim *sim);     /* NULL is allowed */

struct tapir_stack *sim_stack(struct sim *sim, int node);
uint32_t sim_addr(const struct sim *sim, int node);      /* host order */
uint64_t sim_seed(const struct sim *sim);
int64_t sim_now(const struct sim *sim);                  /* virtual µs */
struct tapir_time sim_time(const struct sim *sim);

/* Set the link from -> to, or both directions between a and b. */
void sim_set_link(struct sim *sim, int from, int to, const struct sim_link_cfg *lc);
void sim_set_links(struct sim *sim, int a, int b, const struct sim_link_cfg *lc);
const struct sim_link_stats *sim_link_stats(const struct sim *sim, int from, int to);

/* Packets now travelling on any link. */
uint64_t sim_in_flight(const struct sim *sim);
/* Packets a stack sent to an address no node has (counted, not delivered). */
uint64_t sim_unroutable(const struct sim *sim);
/* Steps taken so far (deliveries, polls, timers). */
uint64_t sim_events(const struct sim *sim);

/* One random number from the run's generator, for the test's own choices. */
uint64_t sim_rand(struct sim *sim);

/*
 * The application of node: fn is called with each socket event the node's
 * stack reports, after every step of that node (tests/lib/sim_tcp.c; it is
 * a separate object so that ICMP-only programs do not link the TCP API).
 * The callback acts on its own node's stack; the simulator then polls the
 * stack again to send what it queued.
 */
void sim_tcp_on_event(struct sim *sim, int node, sim_tcp_event_fn *fn, void *ctx);

/* Call fn at virtual time t_us (>= now); all nodes are polled after it. */
int sim_at(struct sim *sim, int64_t t_us, sim_timer_fn *fn, void *ctx);

/* Put an IPv4 packet on the link from node `from` as if its stack had sent
 * it; the destination is read from the packet.  pkt is copied.  -EMSGSIZE,
 * -EINVAL (not IPv4, no such destination). */
int sim_inject(struct sim *sim, int from, const void *pkt, size_t len);

void sim_set_tap(struct sim *sim, sim_tap_fn *fn, void *ctx);

/*
 * Scripted loss: fn sees each packet as its source sent it, before the
 * link's own impairments, and returns true to drop it ("the third data
 * segment", "every retransmission of sequence number X").  pkt is borrowed.
 */
typedef bool sim_filter_fn(struct sim *sim, int from, int to, const uint8_t *pkt, size_t len,
    void *ctx);
void sim_set_filter(struct sim *sim, sim_filter_fn *fn, void *ctx);

/*
 * Run until done(sim, ctx) is true (checked after every step), or, with
 * done NULL, until nothing is left to happen.  Returns 0, or a SIM_ERR_*
 * value with the reason in sim_error().  A run may be resumed with another
 * call after it returned 0.
 */
int sim_run(struct sim *sim, sim_done_fn *done, void *ctx);

/* Stop the run in progress with a failure (from an application callback). */
void sim_fail(struct sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The reason the last run failed, or "". */
const char *sim_error(const struct sim *sim);

/*
 * The last trace_cap packets sent, one line each in tcpdump style with their
 * fate on the link: time, direction, addresses and ports, flags, seq, ack,
 * window, length, and FILTERED, QDROP, LOST, CORRUPT, HELD, DUP.  last limits
 * the lines printed (0: all kept).  With TAPIR_SIM_TRACE=1 in the
 * environment, every line is also printed to stderr as it happens.
 */
void sim_trace_dump(const struct sim *sim, FILE *f, size_t last);

/* A 64-bit digest of everything sent so far (times, fates, bytes): two runs
 * with the same seed have the same digest. */
uint64_t sim_digest(const struct sim *sim);

/* From now on, write every packet sent, as its source transmitted it (before
 * the link), to a pcap file of raw IPv4 (LINKTYPE_IPV4, virtual timestamps).
 * With TAPIR_SIM_PCAP=path in the environment, sim_new opens it itself. */
int sim_pcap_open(struct sim *sim, const char *path);

/* Used by sim_tcp.c: the node's application slot. */
typedef int sim_drain_fn(struct sim *sim, int node);
void sim_set_drain(struct sim *sim, int node, sim_drain_fn *drain, sim_tcp_event_fn *fn,
    void *ctx);
void sim_get_app(const struct sim *sim, int node, sim_tcp_event_fn **fn, void **ctx);

#endif
