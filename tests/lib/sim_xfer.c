/*
 * tests/lib/sim_xfer.c -- the transfer application and checks of
 * sim_xfer.h, run over the simulator (sim.c, sim_tcp.c).
 *
 * The application is ordinary non-blocking socket code driven by the
 * events the simulator drains after each step; it never runs inside the
 * stack.  Everything random derives from the seed, so a failing case is
 * rerun alone from the command it prints.
 */
#include "lib/sim_xfer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/bytes.h"

#define PORT 5001
#define CHUNK 16384
#define MAX_REPORTED 5              /* failures printed in full per tally;
                                     * the others get one line each */
#define TRACE_LINES 40

static const char *prog = "tcp_transfer_test";

const char *const sim_xfer_dir_names[SIM_XFER_NDIRS] = { "a2b", "b2a", "both" };

void
sim_xfer_set_prog(const char *argv0)
{
    prog = argv0;
}

static uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Byte k of a stream is byte (k mod 8) of mix64(key ^ k / 8), in host order
 * (sender and receiver share the host). */
static void
fill_pattern(uint64_t key, uint64_t off, uint8_t *buf, size_t len)
{
    size_t i = 0;

    while (i < len && ((off + i) & 7) != 0) {
        uint64_t k = off + i, w = mix64(key ^ (k >> 3));

        memcpy(buf + i, (const uint8_t *)&w + (k & 7), 1);
        i++;
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t w = mix64(key ^ ((off + i) >> 3));

        memcpy(buf + i, &w, 8);
    }
    for (; i < len; i++) {
        uint64_t k = off + i, w = mix64(key ^ (k >> 3));

        memcpy(buf + i, (const uint8_t *)&w + (k & 7), 1);
    }
}

/* ---- one transfer ------------------------------------------------------- */

struct xfer;

struct peer {
    struct xfer *x;
    int node;
    int lsock;                      /* listener, node 1 only; -1 once closed */
    int sock;                       /* the connection; -1 before and after */
    bool connected;
    bool sends;
    uint64_t tx_total;
    uint64_t tx_done;
    bool shut;
    uint64_t rx_done;
    bool eof;
    bool closed;
    uint64_t tx_key;                /* pattern of what this side sends */
    uint64_t rx_key;                /* ... and of what it receives */
};

struct xfer {
    const struct sim_xfer_config *cfg;
    uint64_t seed;
    uint64_t size;
    enum sim_xfer_dir dir;
    struct sim *sim;
    struct peer p[2];
    uint64_t rst_open;              /* RSTs sent while an application was open */
    uint64_t rst_after;             /* RSTs sent after both had closed */
    char rst_what[160];
};

static bool
apps_done(const struct xfer *x)
{
    return x->p[0].closed && x->p[1].closed && x->p[1].lsock < 0;
}

/* Read and check up to budget bytes (or all there is). */
static void
receive(struct sim *sim, struct peer *p, uint64_t budget)
{
    uint8_t buf[CHUNK], want[CHUNK];
    long n;

    while (!p->eof && budget > 0) {
        size_t len = budget < CHUNK ? (size_t)budget : CHUNK;

        n = tapir_tcp_recv(sim_stack(sim, p->node), p->sock, buf, len, 0);
        if (n == -EAGAIN)
            return;
        if (n < 0) {
            sim_fail(sim, "node %d: recv: %s after %" PRIu64 " bytes", p->node, strerror((int)-n),
                p->rx_done);
            return;
        }
        if (n == 0) {
            p->eof = true;
            return;
        }
        fill_pattern(p->rx_key, p->rx_done, want, (size_t)n);
        for (long i = 0; i < n; i++) {
            if (buf[i] != want[i]) {
                sim_fail(sim, "node %d: byte %" PRIu64 " is 0x%02x, expected 0x%02x", p->node,
                    p->rx_done + (uint64_t)i, buf[i], want[i]);
                return;
            }
        }
        p->rx_done += (uint64_t)n;
        budget -= (uint64_t)n;
    }
}

static void
transmit(struct sim *sim, struct peer *p)
{
    struct tapir_stack *st = sim_stack(sim, p->node);
    uint8_t buf[CHUNK];
    long n;
    int err;

    while (p->tx_done < p->tx_total) {
        size_t len = p->tx_total - p->tx_done < CHUNK ? (size_t)(p->tx_total - p->tx_done) : CHUNK;

        fill_pattern(p->tx_key, p->tx_done, buf, len);
        n = tapir_tcp_send(st, p->sock, buf, len, 0);
        if (n == -EAGAIN)
            return;
        if (n <= 0 || (size_t)n > len) {
            sim_fail(sim, "node %d: send of %zu bytes returned %ld after %" PRIu64, p->node, len,
                n, p->tx_done);
            return;
        }
        p->tx_done += (uint64_t)n;
    }
    if (p->sends && !p->shut) {
        if ((err = tapir_tcp_shutdown(st, p->sock, TAPIR_SHUT_WR)) != 0)
            sim_fail(sim, "node %d: shutdown: %s", p->node, strerror(-err));
        p->shut = true;
    }
}

/* Do what the connection allows: read, write, shut down, close. */
static void
pump(struct sim *sim, struct peer *p, bool may_read)
{
    const struct sim_xfer_config *c = p->x->cfg;
    int err;

    if (may_read)
        receive(sim, p, c->read_chunk != 0 ? c->read_chunk : UINT64_MAX);
    transmit(sim, p);
    if (p->eof && (p->shut || !p->sends) && !p->closed) {
        if ((err = tapir_tcp_close(sim_stack(sim, p->node), p->sock)) != 0)
            sim_fail(sim, "node %d: close: %s", p->node, strerror(-err));
        p->closed = true;
        p->sock = -1;
    }
}

/* A slow application reads read_chunk bytes per tick, until it closes. */
static void
reader_tick(struct sim *sim, void *ctx)
{
    struct peer *p = ctx;

    if (p->closed)
        return;
    if (p->connected && p->sock >= 0)
        pump(sim, p, true);
    if (!p->closed && sim_at(sim, sim_now(sim) + p->x->cfg->read_every_us, reader_tick, p) != 0)
        sim_fail(sim, "node %d: cannot arm the reader", p->node);
}

static void
accept_one(struct sim *sim, struct peer *p)
{
    struct tapir_stack *st = sim_stack(sim, p->node);
    struct tapir_sockaddr peer;
    int s, err;

    s = tapir_tcp_accept(st, p->lsock, &peer);
    if (s == -EAGAIN)
        return;
    if (s < 0) {
        sim_fail(sim, "node %d: accept: %s", p->node, strerror(-s));
        return;
    }
    if (peer.addr != sim_addr(sim, 0))
        sim_fail(sim, "node %d: accepted a connection from %08" PRIx32, p->node, peer.addr);
    p->sock = s;
    p->connected = true;
    if ((err = tapir_tcp_close(st, p->lsock)) != 0)
        sim_fail(sim, "node %d: close of the listener: %s", p->node, strerror(-err));
    p->lsock = -1;
    pump(sim, p, p->x->cfg->read_every_us == 0);
}

static void
on_event(struct sim *sim, int node, const struct tapir_tcp_event *ev, void *ctx)
{
    struct xfer *x = ctx;
    struct peer *p = &x->p[node];
    int err;

    if (ev->sock == p->lsock && p->lsock >= 0) {
        accept_one(sim, p);
        return;
    }
    if (p->sock < 0 && node == 1 && p->lsock >= 0)
        return;                     /* news of a connection not yet accepted */
    if (ev->sock != p->sock || p->sock < 0) {
        sim_fail(sim, "node %d: event 0x%x for socket %d, which the application does not hold",
            node, ev->events, ev->sock);
        return;
    }
    if (ev->events & TAPIR_EV_ERROR) {
        err = tapir_tcp_error(sim_stack(sim, node), p->sock);
        if (err != 0) {
            sim_fail(sim, "node %d: socket error %s (events 0x%x)", node, strerror(-err),
                ev->events);
            return;
        }
    }
    if (ev->events & (TAPIR_EV_WRITABLE | TAPIR_EV_READABLE))
        p->connected = true;
    if (p->connected)
        pump(sim, p, x->cfg->read_every_us == 0);
}

static void
tap(struct sim *sim, enum sim_tap_point where, int from, int to, const uint8_t *pkt,
    size_t len, bool corrupted, void *ctx)
{
    struct xfer *x = ctx;
    size_t ihl;

    (void)to, (void)corrupted;
    if (where != SIM_TAP_SEND || len < 40 || pkt[9] != 6)
        return;
    ihl = (size_t)(pkt[0] & 0x0f) * 4;
    if (ihl + 20 > len || !(pkt[ihl + 13] & 0x04))
        return;
    if (apps_done(x)) {
        x->rst_after++;
    } else if (x->rst_open++ == 0) {
        snprintf(x->rst_what, sizeof(x->rst_what), "node %d sent RST at t=%" PRId64 " us "
            "(seq %" PRIu32 " ack %" PRIu32 ")", from, sim_now(sim), tp_load_be32(pkt + ihl + 4),
            tp_load_be32(pkt + ihl + 8));
    }
}

static size_t
sockets_left(struct sim *sim, int node, struct tapir_tcp_info *info, size_t cap)
{
    return tapir_tcp_snapshot(sim_stack(sim, node), info, cap);
}

static bool
all_closed(struct sim *sim, void *ctx)
{
    struct tapir_tcp_info info[4];

    return apps_done(ctx) && sockets_left(sim, 0, info, 4) == 0
        && sockets_left(sim, 1, info, 4) == 0;
}

static void
stack_config(const struct sim_xfer_config *c, struct tapir_config *sc)
{
    tapir_config_default(sc);
    sc->tcp.msl_ms = 5000;              /* TIME-WAIT 10 s of virtual time */
    sc->tcp.max_socks = 16;             /* one connection and a listener */
    /* 256 KB: past 64 KB, so window scaling is exercised, yet cheap to
     * allocate for each of the thousands of connections a run makes. */
    sc->tcp.sndbuf = sc->tcp.rcvbuf = c->bufs != 0 ? c->bufs : 256 * 1024;
    if (c->mtu != 0)
        sc->mtu = c->mtu;
    sc->tcp.cc = c->cc;
    if (c->bsd) {
        /* The settings the conformance runner's bsd profile turns on. */
        sc->tcp.wscale_bytes = 2097152;
        sc->tcp.buf_round_mss = true;
        sc->tcp.rcv_wnd_free_space = true;
        sc->tcp.ack_repeats_fin = true;
        sc->tcp.rst_error_after_fin = true;
        sc->tcp.old_segment_ack = true;
        sc->tcp.tw_syn_challenge = true;
    }
    if (c->retries != 0) {
        sc->tcp.syn_retries = c->retries;
        sc->tcp.r2 = c->retries;
        sc->tcp.rto_max_ms = 10000;     /* keeps a long backoff within virtual minutes */
    }
}

/* Each case of a seed draws its own link randomness. */
static uint64_t
sim_seed_of(const struct xfer *x)
{
    return mix64(x->seed ^ mix64(x->size * SIM_XFER_NDIRS + (uint64_t)x->dir));
}

/* Per node: the extensions the configuration switches off. */
static void
node_config(int node, struct tapir_config *tc, void *ctx)
{
    const struct sim_xfer_config *c = ctx;
    uint8_t off = node < 2 ? c->opts_off[node] : 0;

    tc->tcp.wscale = tc->tcp.wscale && !(off & SIM_XFER_NO_WSCALE);
    tc->tcp.timestamps = tc->tcp.timestamps && !(off & SIM_XFER_NO_TIMESTAMPS);
    tc->tcp.sack = tc->tcp.sack && !(off & SIM_XFER_NO_SACK);
}

/* An outage: the links lose everything, then come back as they were. */
static void
outage_begin(struct sim *sim, void *ctx)
{
    const struct sim_xfer_config *c = ctx;
    struct sim_link_cfg down = c->link;

    down.loss = 1.0;
    sim_set_links(sim, 0, 1, &down);
}

static void
outage_end(struct sim *sim, void *ctx)
{
    const struct sim_xfer_config *c = ctx;

    sim_set_link(sim, 0, 1, &c->link);
    sim_set_link(sim, 1, 0, c->back != NULL ? c->back : &c->link);
}

static int
setup(struct xfer *x)
{
    struct sim_cfg sc = {
        .seed = sim_seed_of(x), .max_time_us = 6LL * 3600 * 1000000, .max_events = 30000000,
        .trace_cap = 1024, .node_cfg = node_config,
        .node_cfg_ctx = (void *)(uintptr_t)x->cfg,
    };
    struct tapir_config tc;
    struct tapir_stack *a, *b;
    int s, err;

    stack_config(x->cfg, &tc);
    if ((err = sim_new(&sc, &tc, &x->sim)) != 0)
        return err;
    sim_set_link(x->sim, 0, 1, &x->cfg->link);
    sim_set_link(x->sim, 1, 0, x->cfg->back != NULL ? x->cfg->back : &x->cfg->link);
    sim_set_tap(x->sim, tap, x);
    sim_tcp_on_event(x->sim, 0, on_event, x);
    sim_tcp_on_event(x->sim, 1, on_event, x);
    for (int i = 0; i < 2; i++) {
        struct peer *p = &x->p[i];

        p->x = x;
        p->node = i;
        p->lsock = p->sock = -1;
        p->sends = x->dir == SIM_XFER_BOTH || (i == 0) == (x->dir == SIM_XFER_A2B);
        p->tx_total = p->sends ? x->size : 0;
        p->tx_key = mix64(x->seed * 2 + (uint64_t)i);
        p->rx_key = mix64(x->seed * 2 + (uint64_t)(1 - i));
    }
    if (x->cfg->outage_at_us > 0
        && ((err = sim_at(x->sim, x->cfg->outage_at_us, outage_begin, (void *)(uintptr_t)x->cfg)) != 0
            || (err = sim_at(x->sim, x->cfg->outage_at_us + x->cfg->outage_us, outage_end,
                (void *)(uintptr_t)x->cfg)) != 0))
        return err;
    for (int i = 0; i < 2 && x->cfg->read_every_us != 0; i++)
        if ((err = sim_at(x->sim, x->cfg->read_every_us, reader_tick, &x->p[i])) != 0)
            return err;
    a = sim_stack(x->sim, 0);
    b = sim_stack(x->sim, 1);
    if ((s = tapir_tcp_socket(b)) < 0)
        return s;
    x->p[1].lsock = s;
    if ((err = tapir_tcp_bind(b, s, (struct tapir_sockaddr){ 0, PORT })) != 0
        || (err = tapir_tcp_listen(b, s, 4)) != 0)
        return err;
    if ((s = tapir_tcp_socket(a)) < 0)
        return s;
    x->p[0].sock = s;
    err = tapir_tcp_connect(a, s, (struct tapir_sockaddr){ sim_addr(x->sim, 1), PORT });
    return err == -EINPROGRESS ? 0 : err;
}

static uint64_t
counter(struct sim *sim, int node, const char *name)
{
    for (size_t i = 0; i < tapir_stats_count(); i++)
        if (strcmp(tapir_stats_name(i), name) == 0)
            return tapir_stats_get(sim_stack(sim, node), i);
    fprintf(stderr, "sim_xfer: no counter named %s\n", name);
    abort();
}

/* The stacks' own counters agree with the run: each corrupted copy was
 * dropped by a checksum, one connection was opened at each end, and none
 * was reset or abandoned. */
static void
check_counters(struct xfer *x, int node, char *why, size_t cap)
{
    static const char *const zero[] = {
        "TcpEstabResets", "TcpAttemptFails", "TcpExtTCPAbortOnTimeout",
        "TcpExtTCPAbortOnClose", "TcpExtTCPAbortOnData",
    };
    const struct sim_link_stats *in = sim_link_stats(x->sim, 1 - node, node);
    uint64_t bad = counter(x->sim, node, "IpInHdrErrors") + counter(x->sim, node, "TcpInErrs");
    const char *opens = node == 0 ? "TcpActiveOpens" : "TcpPassiveOpens";

    if (bad != in->delivered_corrupt) {
        snprintf(why, cap, "node %d: IpInHdrErrors + TcpInErrs = %" PRIu64 ", but %" PRIu64
            " corrupted copies were delivered", node, bad, in->delivered_corrupt);
        return;
    }
    if (counter(x->sim, node, opens) != 1) {
        snprintf(why, cap, "node %d: %s = %" PRIu64 ", expected 1", node, opens,
            counter(x->sim, node, opens));
        return;
    }
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        if (counter(x->sim, node, zero[i]) != 0) {
            snprintf(why, cap, "node %d: %s = %" PRIu64 ", expected 0", node, zero[i],
                counter(x->sim, node, zero[i]));
            return;
        }
    }
}

/* The outcome, checked once the run has stopped: "" if all is well. */
static void
verdict(struct xfer *x, int rc, char *why, size_t cap)
{
    struct peer *p = x->p;

    why[0] = '\0';
    if (rc != 0)
        snprintf(why, cap, "%s", sim_error(x->sim));
    else if (x->rst_open != 0)
        snprintf(why, cap, "%" PRIu64 " RST sent while open; first: %s", x->rst_open,
            x->rst_what);
    else if (x->rst_after != 0 && !x->cfg->strays)
        snprintf(why, cap, "%" PRIu64 " RST sent after both closed on a link without strays",
            x->rst_after);
    else if (p[0].rx_done != p[1].tx_total || p[1].rx_done != p[0].tx_total)
        snprintf(why, cap, "bytes: node 0 got %" PRIu64 " of %" PRIu64 ", node 1 got %" PRIu64
            " of %" PRIu64, p[0].rx_done, p[1].tx_total, p[1].rx_done, p[0].tx_total);
    else if (!p[0].eof || !p[1].eof)
        snprintf(why, cap, "end of stream: node 0 %s, node 1 %s", p[0].eof ? "yes" : "no",
            p[1].eof ? "yes" : "no");
    for (int i = 0; i < 2 && why[0] == '\0'; i++)
        check_counters(x, i, why, cap);
}

static void
print_sockets(struct sim *sim, int node)
{
    struct tapir_tcp_info info[8];
    size_t n = sockets_left(sim, node, info, 8);

    fprintf(stderr, "  node %d: %zu socket(s)\n", node, n);
    for (size_t i = 0; i < n && i < 8; i++)
        fprintf(stderr, "    sock %d %s :%u > :%u snd_queue %" PRIu32 " rcv_queue %" PRIu32
            " in_flight %" PRIu32 " cwnd %" PRIu32 " rto %" PRIu32 " us retrans %" PRIu64 "\n",
            info[i].sock, tapir_tcp_state_name(info[i].state), info[i].local.port,
            info[i].remote.port, info[i].snd_queue, info[i].rcv_queue, info[i].bytes_in_flight,
            info[i].cwnd, info[i].rto_us, info[i].total_retrans);
}

static void
report_failure(struct xfer *x, const char *why)
{
    const struct peer *p = x->p;

    fprintf(stderr, "\nFAIL config %s seed %" PRIu64 " size %" PRIu64 " dir %s (sim seed %"
        PRIu64 "): %s\n", x->cfg->name, x->seed, x->size, sim_xfer_dir_names[x->dir], sim_seed_of(x), why);
    fprintf(stderr, "  virtual time %" PRId64 " us, %" PRIu64 " events\n", sim_now(x->sim),
        sim_events(x->sim));
    for (int i = 0; i < 2; i++)
        fprintf(stderr, "  app %d: sent %" PRIu64 "/%" PRIu64 "%s, received %" PRIu64 "%s%s\n", i,
            p[i].tx_done, p[i].tx_total, p[i].shut ? " +FIN" : "", p[i].rx_done,
            p[i].eof ? " +EOF" : "", p[i].closed ? ", closed" : "");
    print_sockets(x->sim, 0);
    print_sockets(x->sim, 1);
    sim_trace_dump(x->sim, stderr, TRACE_LINES);
    fprintf(stderr, "  rerun: TAPIR_SIM_SEED=%" PRIu64 " TAPIR_SIM_CONFIG=%s TAPIR_SIM_SIZE=%"
        PRIu64 " TAPIR_SIM_DIR=%s TAPIR_SIM_TRACE=1 %s\n", x->seed, x->cfg->name, x->size,
        sim_xfer_dir_names[x->dir], prog);
}


/* One transfer; true if it passed. */
bool
sim_xfer_one(const struct sim_xfer_config *c, uint64_t seed, uint64_t size, enum sim_xfer_dir dir,
    struct sim_xfer_tally *t)
{
    struct xfer x = { .cfg = c, .seed = seed, .size = size, .dir = dir };
    char why[512];
    int rc, err;

    err = setup(&x);
    if (err != 0) {
        snprintf(why, sizeof(why), "setup failed: %s", strerror(-err));
        rc = SIM_ERR_FAILED;
    } else {
        rc = sim_run(x.sim, all_closed, &x);
        verdict(&x, rc, why, sizeof(why));
    }
    t->runs++;
    t->bytes += x.p[0].rx_done + x.p[1].rx_done;
    if (x.sim != NULL) {
        for (int i = 0; i < 2; i++) {
            const struct sim_link_stats *ls = sim_link_stats(x.sim, i, 1 - i);

            t->packets += ls->sent;
            t->lost += ls->lost + ls->queue_drops + ls->corrupted;
        }
        if (sim_now(x.sim) > t->max_time_us)
            t->max_time_us = sim_now(x.sim);
        t->last_digest = sim_digest(x.sim);
    }
    if (why[0] != '\0') {
        if (t->failures++ < MAX_REPORTED && x.sim != NULL)
            report_failure(&x, why);
        else
            fprintf(stderr, "FAIL config %s seed %" PRIu64 " size %" PRIu64 " dir %s: %s\n",
                c->name, seed, size, sim_xfer_dir_names[dir], why);
        if (t->first[0] == '\0')
            snprintf(t->first, sizeof(t->first), "seed %" PRIu64 " size %" PRIu64 " dir %s: %s",
                seed, size, sim_xfer_dir_names[dir], why);
    }
    sim_free(x.sim);
    return why[0] == '\0';
}

/* ---- which cases run ---------------------------------------------------- */

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? strtoull(v, NULL, 0) : dflt;
}

static const uint64_t small_sizes[] = { 0, 1, 1000, 65536 };
#define MB_SEEDS 20                 /* seeds that also move 1 MB */
#define MULTI_MB_SEEDS 3            /* ... and 4 MB */

static bool
dir_wanted(enum sim_xfer_dir dir)
{
    const char *d = getenv("TAPIR_SIM_DIR");

    return d == NULL || *d == '\0' || strcmp(d, sim_xfer_dir_names[dir]) == 0;
}

/* Every case of one seed: the small sizes in each direction, and for the
 * first seeds 1 MB and 4 MB in a direction that rotates with the seed.
 * TAPIR_SIM_SIZE replaces all of these by one size. */
static void
run_seed(const struct sim_xfer_config *c, uint64_t seed, struct sim_xfer_tally *t)
{
    const char *only = getenv("TAPIR_SIM_SIZE");
    enum sim_xfer_dir rot = (enum sim_xfer_dir)(seed % SIM_XFER_NDIRS);

    if (only != NULL && *only != '\0') {
        for (int d = 0; d < SIM_XFER_NDIRS; d++)
            if (dir_wanted((enum sim_xfer_dir)d))
                sim_xfer_one(c, seed, env_u64("TAPIR_SIM_SIZE", 0), (enum sim_xfer_dir)d, t);
        return;
    }
    for (size_t i = 0; i < sizeof(small_sizes) / sizeof(small_sizes[0]); i++)
        for (int d = 0; d < SIM_XFER_NDIRS; d++)
            if (dir_wanted((enum sim_xfer_dir)d))
                sim_xfer_one(c, seed, small_sizes[i], (enum sim_xfer_dir)d, t);
    if (seed <= MB_SEEDS && dir_wanted(rot))
        sim_xfer_one(c, seed, 1u << 20, rot, t);
    if (seed <= MULTI_MB_SEEDS && dir_wanted(rot))
        sim_xfer_one(c, seed, 4u << 20, rot, t);
}

uint64_t
sim_xfer_run_config(const struct sim_xfer_config *c, struct sim_xfer_tally *t)
{
    uint64_t n_seeds = env_u64("TAPIR_SIM_SEEDS", 500);
    uint64_t first = 1, last = n_seeds;

    if (getenv("TAPIR_SIM_SEED") != NULL)
        first = last = env_u64("TAPIR_SIM_SEED", 1);
    for (uint64_t seed = first; seed <= last; seed++)
        run_seed(c, seed, t);
    printf("sim %-10s %6" PRIu64 " transfers, %" PRIu64 " failed; %.1f MB verified, %" PRIu64
        " packets, %.2f %% lost on the links, longest %.3f s virtual\n", c->name, t->runs,
        t->failures, (double)t->bytes / 1e6, t->packets,
        t->packets ? 100.0 * (double)t->lost / (double)t->packets : 0.0,
        (double)t->max_time_us / 1e6);
    return t->failures;
}
