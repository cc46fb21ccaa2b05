/*
 * tests/sim/tcp_conns_test.c -- more than one connection, and connections
 * that end badly, between two tapir stacks over simulated links.
 *
 *   - many connections at once, opened from both nodes, each moving its
 *     own amount of data both ways (demultiplexing, ephemeral ports, one
 *     timer per connection);
 *   - connections one after another from the same node, each new one
 *     opened while earlier ones sit in TIME-WAIT (RFC 6056 port choice);
 *   - simultaneous open (RFC 9293 3.5, MUST-10);
 *   - a receiver that aborts, or closes with unread data (RFC 2525 2.17),
 *     in the middle of a transfer: the sender must learn ECONNRESET.
 *
 * Every byte is checked against a pattern keyed by the connection's client
 * port, and every run ends only when both stacks hold no socket.
 * Environment: TAPIR_SIM_SEEDS (default 100), TAPIR_SIM_SEED, TAPIR_SIM_TRACE.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/sim.h"

#define PORT 5001
#define MAX_CONNS 64
#define CHUNK 16384

static const char *prog = "tcp_conns_test";

static const struct sim_link_cfg clean = { .delay_us = 1000 };
static const struct sim_link_cfg mixed = {
    .loss = 0.05, .dup = 0.05, .reorder = 0.05, .reorder_us = 3000, .corrupt = 0.02,
    .delay_us = 1000, .jitter_us = 500,
};
static const struct sim_link_cfg neck = {
    .rate_bps = 10000000, .queue_bytes = 30000, .delay_us = 5000,
};

static uint64_t
mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void
fill_pattern(uint64_t key, uint64_t off, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t k = off + i;

        buf[i] = (uint8_t)(mix64(key ^ (k >> 3)) >> ((k & 7) * 8));
    }
}

/* ---- one end of a connection ------------------------------------------ */

struct conn {
    int sock;
    bool connected;
    bool shut;
    bool eof;
    bool closed;
    int err;                        /* error the application saw, negative errno */
    uint64_t tx_total;
    uint64_t tx_done;
    uint64_t rx_total;              /* what the peer will send */
    uint64_t rx_done;
    uint64_t rx_limit;              /* stop reading here and end badly (reset tests) */
    uint64_t tx_key;
    uint64_t rx_key;
};

enum ending {
    END_CLOSE,                      /* read to EOF, then close */
    END_ABORT,                      /* read rx_limit bytes, then tapir_tcp_abort */
    END_CLOSE_UNREAD,               /* read rx_limit bytes, then close with data unread */
};

struct world;

struct node_app {
    struct world *w;
    int node;
    int lsock;                      /* -1 when there is none (any more) */
    int to_accept;                  /* connections still expected at the listener */
    int n;
    struct conn c[MAX_CONNS];
};

struct world {
    struct sim *sim;
    uint64_t seed;
    const char *what;
    struct node_app app[2];
    int total;                      /* connections to make */
    int started;
    bool sequential;                /* node 0 opens each one after the last closed */
    enum ending ending;             /* of the server side */
    uint64_t fixed_size;            /* 0: sizes drawn per connection */
    bool fixed_both_ways;           /* fixed_size flows server to client too */
    bool client_keeps_open;         /* node 0 sends no FIN after its data */
    uint32_t isn[2];                /* first SYN (node 0) and SYN,ACK (node 1) seen */
    bool seen_isn[2];
};

static const uint64_t sizes[] = { 0, 1, 1000, 20000, 100000 };

/* Sizes and pattern keys of a connection follow from who opened it and
 * from which port, so both ends derive them without talking. */
static void
keys(struct world *w, int client, uint16_t cport, bool is_client, struct conn *c)
{
    uint64_t k = mix64(w->seed ^ ((uint64_t)client << 20) ^ cport);
    uint64_t c2s = w->fixed_size ? w->fixed_size : sizes[k % 5];
    uint64_t s2c = w->fixed_size ? (w->fixed_both_ways ? w->fixed_size : 0)
        : sizes[(k >> 8) % 5];

    c->tx_total = is_client ? c2s : s2c;
    c->rx_total = is_client ? s2c : c2s;
    c->tx_key = k ^ (is_client ? 1 : 2);
    c->rx_key = k ^ (is_client ? 2 : 1);
    c->rx_limit = UINT64_MAX;
}

static struct conn *
conn_new(struct node_app *a, int sock)
{
    struct conn *c;

    if (a->n == MAX_CONNS) {
        sim_fail(a->w->sim, "node %d: more than %d connections", a->node, MAX_CONNS);
        return NULL;
    }
    c = &a->c[a->n++];
    memset(c, 0, sizeof(*c));
    c->sock = sock;
    return c;
}

static void start_conn(struct world *w, int client);

static void
finish(struct node_app *a, struct conn *c, bool abort)
{
    struct tapir_stack *st = sim_stack(a->w->sim, a->node);
    int err = abort ? tapir_tcp_abort(st, c->sock) : tapir_tcp_close(st, c->sock);

    if (err != 0)
        sim_fail(a->w->sim, "node %d: %s: %s", a->node, abort ? "abort" : "close",
            strerror(-err));
    c->closed = true;
    c->sock = -1;
    if (a->w->sequential && a->node == 0 && a->w->started < a->w->total)
        start_conn(a->w, 0);
}

static bool
receive(struct node_app *a, struct conn *c)
{
    uint8_t buf[CHUNK], want[CHUNK];
    long n;

    while (!c->eof && c->rx_done < c->rx_limit) {
        uint64_t room = c->rx_limit - c->rx_done;

        n = tapir_tcp_recv(sim_stack(a->w->sim, a->node), c->sock, buf,
            room < CHUNK ? (size_t)room : CHUNK, 0);
        if (n == -EAGAIN)
            return true;
        if (n < 0) {
            c->err = (int)n;
            return false;
        }
        if (n == 0) {
            c->eof = true;
            break;
        }
        fill_pattern(c->rx_key, c->rx_done, want, (size_t)n);
        if (memcmp(buf, want, (size_t)n) != 0) {
            sim_fail(a->w->sim, "node %d: sock %d: wrong bytes at %" PRIu64, a->node, c->sock,
                c->rx_done);
            return false;
        }
        c->rx_done += (uint64_t)n;
    }
    return true;
}

static bool
transmit(struct node_app *a, struct conn *c)
{
    struct tapir_stack *st = sim_stack(a->w->sim, a->node);
    uint8_t buf[CHUNK];
    long n;

    while (c->tx_done < c->tx_total) {
        uint64_t left = c->tx_total - c->tx_done;
        size_t len = left < CHUNK ? (size_t)left : CHUNK;

        fill_pattern(c->tx_key, c->tx_done, buf, len);
        if ((n = tapir_tcp_send(st, c->sock, buf, len, 0)) == -EAGAIN)
            return true;
        if (n < 0) {
            c->err = (int)n;
            return false;
        }
        c->tx_done += (uint64_t)n;
    }
    if (!c->shut && !(a->node == 0 && a->w->client_keeps_open)) {
        int err = tapir_tcp_shutdown(st, c->sock, TAPIR_SHUT_WR);

        if (err != 0) {
            c->err = err;
            return false;
        }
        c->shut = true;
    }
    return true;
}

static void
pump(struct node_app *a, struct conn *c)
{
    enum ending end = a->w->ending;

    if (c->closed)
        return;
    /* A server that will end badly sends nothing, not even its FIN: the
     * client must be synchronized and not closing when the reset comes
     * (in CLOSING, LAST-ACK and TIME-WAIT a RST just closes, RFC 9293 3.10.7.4). */
    if (!receive(a, c) || ((end == END_CLOSE || a->node == 0) && !transmit(a, c))) {
        finish(a, c, false);        /* the error is recorded; release the socket */
        return;
    }
    if (end != END_CLOSE && a->node == 1 && c->rx_done >= c->rx_limit) {
        finish(a, c, end == END_ABORT);
        return;
    }
    if (c->eof && c->shut)
        finish(a, c, false);
}

static void
accept_all(struct node_app *a)
{
    struct tapir_stack *st = sim_stack(a->w->sim, a->node);
    struct tapir_sockaddr peer;
    struct conn *c;
    int s;

    while (a->lsock >= 0 && (s = tapir_tcp_accept(st, a->lsock, &peer)) >= 0) {
        if ((c = conn_new(a, s)) == NULL)
            return;
        c->connected = true;
        keys(a->w, 1 - a->node, peer.port, false, c);
        if (a->w->ending != END_CLOSE)
            c->rx_limit = 10000;
        if (--a->to_accept == 0) {
            tapir_tcp_close(st, a->lsock);
            a->lsock = -1;
        }
        pump(a, c);
    }
}

static void
on_event(struct sim *sim, int node, const struct tapir_tcp_event *ev, void *ctx)
{
    struct world *w = ctx;
    struct node_app *a = &w->app[node];

    (void)sim;
    if (ev->sock == a->lsock) {
        accept_all(a);
        return;
    }
    for (int i = 0; i < a->n; i++) {
        struct conn *c = &a->c[i];

        if (c->sock != ev->sock || c->closed)
            continue;
        if (ev->events & TAPIR_EV_ERROR) {
            c->err = tapir_tcp_error(sim_stack(sim, node), c->sock);
            if (c->err != 0) {
                finish(a, c, false);
                return;
            }
        }
        if (ev->events & (TAPIR_EV_WRITABLE | TAPIR_EV_READABLE))
            c->connected = true;
        if (c->connected)
            pump(a, c);
        return;
    }
    /* Not yet accepted, or already closed: nothing the application holds. */
}

static void
start_conn(struct world *w, int client)
{
    struct node_app *a = &w->app[client];
    struct tapir_stack *st = sim_stack(w->sim, client);
    struct tapir_sockaddr me;
    struct conn *c;
    int s, err;

    w->started++;
    if ((s = tapir_tcp_socket(st)) < 0) {
        sim_fail(w->sim, "node %d: socket: %s", client, strerror(-s));
        return;
    }
    err = tapir_tcp_connect(st, s, (struct tapir_sockaddr){ sim_addr(w->sim, 1 - client), PORT });
    if (err != -EINPROGRESS || (err = tapir_tcp_getsockname(st, s, &me)) != 0) {
        sim_fail(w->sim, "node %d: connect: %s", client, strerror(-err));
        return;
    }
    if ((c = conn_new(a, s)) != NULL)
        keys(w, client, me.port, true, c);
}

static size_t
sockets_left(struct sim *sim, int node)
{
    struct tapir_tcp_info info[4];

    return tapir_tcp_snapshot(sim_stack(sim, node), info, 4);
}

static bool
all_done(struct sim *sim, void *ctx)
{
    struct world *w = ctx;

    if (w->started < w->total)
        return false;
    for (int i = 0; i < 2; i++) {
        if (w->app[i].lsock >= 0)
            return false;
        for (int k = 0; k < w->app[i].n; k++)
            if (!w->app[i].c[k].closed)
                return false;
    }
    return sockets_left(sim, 0) == 0 && sockets_left(sim, 1) == 0;
}

static uint64_t
stat(struct sim *sim, int node, const char *name)
{
    for (size_t i = 0; i < tapir_stats_count(); i++)
        if (strcmp(tapir_stats_name(i), name) == 0)
            return tapir_stats_get(sim_stack(sim, node), i);
    fail_msg("no counter named %s", name);
    return 0;
}

static int
listen_on(struct world *w, int node, int expected)
{
    struct tapir_stack *st = sim_stack(w->sim, node);
    int s = tapir_tcp_socket(st), err;

    if (s < 0)
        return s;
    if ((err = tapir_tcp_bind(st, s, (struct tapir_sockaddr){ 0, PORT })) != 0
        || (err = tapir_tcp_listen(st, s, 64)) != 0)
        return err;
    w->app[node].lsock = s;
    w->app[node].to_accept = expected;
    return 0;
}

static void
world_init(struct world *w, uint64_t seed, const struct sim_link_cfg *link, const char *what)
{
    struct sim_cfg sc = { .seed = mix64(seed ^ 0xc0115), .max_time_us = 6LL * 3600 * 1000000,
        .max_events = 30000000, .trace_cap = 1024 };
    struct tapir_config tc;

    memset(w, 0, sizeof(*w));
    w->seed = seed;
    w->what = what;
    tapir_config_default(&tc);
    tc.tcp.msl_ms = 5000;
    tc.tcp.max_socks = 2 * MAX_CONNS + 2;
    tc.tcp.sndbuf = tc.tcp.rcvbuf = 256 * 1024;     /* scaled windows, cheap connections */
    assert_int_equal(sim_new(&sc, &tc, &w->sim), 0);
    sim_set_links(w->sim, 0, 1, link);
    for (int i = 0; i < 2; i++) {
        w->app[i].w = w;
        w->app[i].node = i;
        w->app[i].lsock = -1;
        sim_tcp_on_event(w->sim, i, on_event, w);
    }
}

/* Run to the end; on failure print what is needed to rerun it and return false. */
static bool
world_run(struct world *w, const char *test)
{
    int rc = sim_run(w->sim, all_done, w);

    if (rc == 0)
        return true;
    fprintf(stderr, "\nFAIL %s (%s) seed %" PRIu64 ": %s\n", test, w->what, w->seed,
        sim_error(w->sim));
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < w->app[i].n; k++) {
            const struct conn *c = &w->app[i].c[k];

            if (!c->closed || c->err != 0)
                fprintf(stderr, "  node %d conn %d: sent %" PRIu64 "/%" PRIu64 " received %"
                    PRIu64 "/%" PRIu64 "%s%s err %d\n", i, k, c->tx_done, c->tx_total,
                    c->rx_done, c->rx_total, c->eof ? " +EOF" : "",
                    c->closed ? " closed" : "", c->err);
        }
    sim_trace_dump(w->sim, stderr, 40);
    fprintf(stderr, "  rerun: TAPIR_SIM_SEED=%" PRIu64 " TAPIR_SIM_TRACE=1 %s %s\n", w->seed,
        prog, test);
    return false;
}

/* Every end got exactly what its peer sent, saw no error, and the stacks
 * counted one open per connection and nothing reset. */
static bool
world_check_clean(struct world *w, const char *test)
{
    char why[256] = "";
    uint64_t opens[2] = { 0, 0 };

    for (int i = 0; i < 2 && why[0] == '\0'; i++) {
        for (int k = 0; k < w->app[i].n; k++) {
            const struct conn *c = &w->app[i].c[k];

            if (c->err != 0 || c->rx_done != c->rx_total || !c->eof) {
                snprintf(why, sizeof(why), "node %d conn %d: received %" PRIu64 " of %" PRIu64
                    "%s, error %d", i, k, c->rx_done, c->rx_total, c->eof ? " +EOF" : "",
                    c->err);
                break;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        opens[i] = stat(w->sim, i, "TcpActiveOpens") + stat(w->sim, i, "TcpPassiveOpens");
    if (why[0] == '\0' && (opens[0] != (uint64_t)w->app[0].n || opens[1] != (uint64_t)w->app[1].n))
        snprintf(why, sizeof(why), "opens counted %" PRIu64 " and %" PRIu64 ", connections %d and "
            "%d", opens[0], opens[1], w->app[0].n, w->app[1].n);
    for (int i = 0; i < 2 && why[0] == '\0'; i++)
        if (stat(w->sim, i, "TcpEstabResets") + stat(w->sim, i, "TcpExtTCPAbortOnTimeout") != 0)
            snprintf(why, sizeof(why), "node %d counted a reset or a timeout", i);
    if (why[0] == '\0')
        return true;
    sim_fail(w->sim, "%s", why);
    return world_run(w, test);      /* prints the failure the same way */
}

static uint64_t
n_seeds(uint64_t *first)
{
    const char *one = getenv("TAPIR_SIM_SEED"), *n = getenv("TAPIR_SIM_SEEDS");

    if (one != NULL && *one != '\0') {
        *first = strtoull(one, NULL, 0);
        return 1;
    }
    *first = 1;
    return n != NULL && *n != '\0' ? strtoull(n, NULL, 0) : 100;
}

/* ---- tests -------------------------------------------------------------- */

static void
many_connections(const struct sim_link_cfg *link, const char *what, uint64_t *failed,
    uint64_t seed)
{
    struct world w;

    world_init(&w, seed, link, what);
    w.total = 16;
    /* Both nodes listen and both open: 8 connections each way. */
    assert_int_equal(listen_on(&w, 0, 8), 0);
    assert_int_equal(listen_on(&w, 1, 8), 0);
    for (int i = 0; i < w.total; i++)
        start_conn(&w, i % 2);
    if (!world_run(&w, "many_connections_at_once_each_arrive_exact")
        || !world_check_clean(&w, "many_connections_at_once_each_arrive_exact"))
        (*failed)++;
    sim_free(w.sim);
}

static void
many_connections_at_once_each_arrive_exact(void **state)
{
    uint64_t first, n = n_seeds(&first), failed = 0;

    (void)state;
    for (uint64_t s = first; s < first + n; s++) {
        many_connections(&clean, "clean", &failed, s);
        many_connections(&mixed, "mixed", &failed, s);
        many_connections(&neck, "bottleneck", &failed, s);
    }
    if (failed != 0)
        fail_msg("%" PRIu64 " runs failed", failed);
}

/* Node 0 opens 40 connections one after another, each as soon as the last
 * closed, while earlier ones still sit in TIME-WAIT on one side or the
 * other: every one must find a port and complete. */
static void
connections_one_after_another_all_complete(void **state)
{
    uint64_t first, n = n_seeds(&first), failed = 0;

    (void)state;
    for (uint64_t s = first; s < first + n; s++) {
        struct world w;

        world_init(&w, s, &mixed, "mixed");
        w.total = 40;
        w.sequential = true;
        assert_int_equal(listen_on(&w, 1, w.total), 0);
        start_conn(&w, 0);
        if (!world_run(&w, "connections_one_after_another_all_complete")
            || !world_check_clean(&w, "connections_one_after_another_all_complete"))
            failed++;
        else
            assert_int_equal(w.app[1].n, 40);
        sim_free(w.sim);
    }
    if (failed != 0)
        fail_msg("%" PRIu64 " runs failed", failed);
}

/* Both nodes bind a port and connect to the other's at the same instant. */
static void
simultaneous_open_connects_both_and_transfers(void **state)
{
    uint64_t first, n = n_seeds(&first), failed = 0;

    (void)state;
    for (uint64_t s = first; s < first + n; s++) {
        for (int pass = 0; pass < 2; pass++) {
            struct world w;

            world_init(&w, s, pass == 0 ? &clean : &mixed, pass == 0 ? "clean" : "mixed");
            w.total = 2;
            w.started = 2;
            for (int i = 0; i < 2; i++) {
                struct tapir_stack *st = sim_stack(w.sim, i);
                int sk = tapir_tcp_socket(st);
                struct conn *c;

                assert_true(sk >= 0);
                assert_int_equal(tapir_tcp_bind(st, sk,
                    (struct tapir_sockaddr){ 0, (uint16_t)(6000 + i) }), 0);
                assert_int_equal(tapir_tcp_connect(st, sk,
                    (struct tapir_sockaddr){ sim_addr(w.sim, 1 - i), (uint16_t)(6001 - i) }),
                    -EINPROGRESS);
                c = conn_new(&w.app[i], sk);
                assert_non_null(c);
                /* Sizes keyed as if node 0 were the client from port 6000. */
                keys(&w, 0, 6000, i == 0, c);
            }
            if (!world_run(&w, "simultaneous_open_connects_both_and_transfers")
                || !world_check_clean(&w, "simultaneous_open_connects_both_and_transfers")) {
                failed++;
            } else if (pass == 0) {
                /* On a symmetric clean link the SYNs cross: both ends pass
                 * through SYN-RECEIVED (RFC 9293 figure 7). */
                assert_int_equal(stat(w.sim, 0, "TapirTcpStateSynReceived"), 1);
                assert_int_equal(stat(w.sim, 1, "TapirTcpStateSynReceived"), 1);
                assert_int_equal(stat(w.sim, 0, "TcpActiveOpens"), 1);
                assert_int_equal(stat(w.sim, 1, "TcpActiveOpens"), 1);
            }
            sim_free(w.sim);
        }
    }
    if (failed != 0)
        fail_msg("%" PRIu64 " runs failed", failed);
}

/* The server reads 10000 of 200000 bytes, then aborts or closes: the
 * client must see ECONNRESET, and both stacks must end with no socket. */
static void
reset_run(uint64_t seed, const struct sim_link_cfg *link, const char *what, enum ending end,
    const char *test, uint64_t *failed)
{
    struct world w;
    const struct conn *c, *srv;
    struct tapir_stack *st0;
    int sock;

    world_init(&w, seed, link, what);
    w.total = 1;
    w.ending = end;
    w.fixed_size = 200000;
    assert_int_equal(listen_on(&w, 1, 1), 0);
    start_conn(&w, 0);
    /* The server's RST is sent once and may be lost.  If by then the client
     * has sent everything and seen it acknowledged (a hole early in the
     * stream held up the server's reader until the end), nothing of its own
     * would ever reach the server again: as in any TCP, only a keepalive
     * probe, answered by a RST from the closed port, tells it.  Keepalive
     * probes go in ESTABLISHED only, so the client sends no FIN here. */
    w.client_keeps_open = true;
    st0 = sim_stack(w.sim, 0);
    sock = w.app[0].c[0].sock;
    assert_int_equal(tapir_tcp_setsockopt(st0, sock, TAPIR_SO_KEEPALIVE, 1), 0);
    assert_int_equal(tapir_tcp_setsockopt(st0, sock, TAPIR_TCP_KEEPIDLE, 10), 0);
    assert_int_equal(tapir_tcp_setsockopt(st0, sock, TAPIR_TCP_KEEPINTVL, 1), 0);
    if (!world_run(&w, test)) {
        (*failed)++;
    } else {
        c = &w.app[0].c[0];
        srv = &w.app[1].c[0];
        if (c->err != -ECONNRESET || srv->rx_done != 10000 || srv->err != 0) {
            sim_fail(w.sim, "client error %d (expected %d), server read %" PRIu64 " error %d",
                c->err, -ECONNRESET, srv->rx_done, srv->err);
            world_run(&w, test);
            (*failed)++;
        } else if (end == END_CLOSE_UNREAD && stat(w.sim, 1, "TcpExtTCPAbortOnClose") != 1) {
            sim_fail(w.sim, "TcpExtTCPAbortOnClose = %" PRIu64,
                stat(w.sim, 1, "TcpExtTCPAbortOnClose"));
            world_run(&w, test);
            (*failed)++;
        }
    }
    sim_free(w.sim);
}

static void
an_abort_mid_transfer_resets_the_sender(void **state)
{
    uint64_t first, n = n_seeds(&first), failed = 0;

    (void)state;
    for (uint64_t s = first; s < first + n; s++) {
        reset_run(s, &clean, "clean", END_ABORT, "an_abort_mid_transfer_resets_the_sender",
            &failed);
        reset_run(s, &mixed, "mixed", END_ABORT, "an_abort_mid_transfer_resets_the_sender",
            &failed);
    }
    if (failed != 0)
        fail_msg("%" PRIu64 " runs failed", failed);
}

static void
a_close_with_unread_data_resets_the_sender(void **state)
{
    uint64_t first, n = n_seeds(&first), failed = 0;

    (void)state;
    for (uint64_t s = first; s < first + n; s++) {
        reset_run(s, &clean, "clean", END_CLOSE_UNREAD,
            "a_close_with_unread_data_resets_the_sender", &failed);
        reset_run(s, &mixed, "mixed", END_CLOSE_UNREAD,
            "a_close_with_unread_data_resets_the_sender", &failed);
    }
    if (failed != 0)
        fail_msg("%" PRIu64 " runs failed", failed);
}

/* ---- sequence wrap-around -------------------------------------------- */

static void
isn_tap(struct sim *sim, enum sim_tap_point where, int from, int to, const uint8_t *pkt,
    size_t len, bool corrupted, void *ctx)
{
    struct world *w = ctx;
    size_t ihl;

    (void)sim, (void)to, (void)corrupted;
    if (where != SIM_TAP_SEND || len < 40 || pkt[9] != 6 || w->seen_isn[from])
        return;
    ihl = (size_t)(pkt[0] & 0x0f) * 4;
    if (ihl + 20 <= len && (pkt[ihl + 13] & 0x02)) {
        w->isn[from] = (uint32_t)pkt[ihl + 4] << 24 | (uint32_t)pkt[ihl + 5] << 16
            | (uint32_t)pkt[ihl + 6] << 8 | pkt[ihl + 7];
        w->seen_isn[from] = true;
    }
}

static bool
both_isns(struct sim *sim, void *ctx)
{
    struct world *w = ctx;

    (void)sim;
    return w->seen_isn[0] && w->seen_isn[1];
}

#define WRAP_SIZE (4u << 20)

/* One 4 MB transfer each way from seed s; `search` stops at the handshake
 * and reports the ISNs instead. */
static bool
wrap_run(uint64_t s, bool search, uint32_t isn[2], const char *test)
{
    struct world w;
    bool ok = true;

    world_init(&w, s, &mixed, "mixed");
    w.total = 1;
    w.fixed_size = WRAP_SIZE;
    w.fixed_both_ways = true;
    sim_set_tap(w.sim, isn_tap, &w);
    assert_int_equal(listen_on(&w, 1, 1), 0);
    start_conn(&w, 0);
    if (search) {
        assert_int_equal(sim_run(w.sim, both_isns, &w), 0);
    } else {
        ok = world_run(&w, test) && world_check_clean(&w, test);
        if (ok && (w.app[0].c[0].rx_done != WRAP_SIZE || w.app[1].c[0].rx_done != WRAP_SIZE))
            ok = false;
    }
    isn[0] = w.isn[0];
    isn[1] = w.isn[1];
    sim_free(w.sim);
    return ok;
}

/* True if 4 MB sent from isn crosses 2^32 at least 1 MB in. */
static bool
wraps_inside(uint32_t isn)
{
    return isn > UINT32_MAX - (WRAP_SIZE - (1u << 20)) && isn < UINT32_MAX - (1u << 20);
}

/*
 * The stacks' ISNs cannot be chosen through the API, so the test searches
 * seeds for one whose client ISN lies 1..3 MB below 2^32, and one whose
 * server ISN does, and moves 4 MB each way over the mixed link: every
 * sequence comparison, the reassembly queue and the retransmission logic
 * then work across the wrap (RFC 9293 3.4).
 */
static void
transfers_across_sequence_wrap_arrive_exact(void **state)
{
    const char *test = "transfers_across_sequence_wrap_arrive_exact";
    uint64_t found[2] = { 0, 0 };
    uint32_t isn[2];

    (void)state;
    if (getenv("TAPIR_SIM_SEED") != NULL) {     /* a rerun of one seed the search found */
        assert_true(wrap_run(strtoull(getenv("TAPIR_SIM_SEED"), NULL, 0), false, isn, test));
        return;
    }
    for (uint64_t s = 1; s < 100000 && (found[0] == 0 || found[1] == 0); s++) {
        wrap_run(s, true, isn, test);
        for (int i = 0; i < 2; i++)
            if (found[i] == 0 && wraps_inside(isn[i]))
                found[i] = s;
    }
    assert_true(found[0] != 0 && found[1] != 0);
    for (int i = 0; i < 2; i++) {
        assert_true(wrap_run(found[i], false, isn, test));
        assert_true(wraps_inside(isn[i]));
        print_message("wrap: seed %" PRIu64 ", %s ISN 0x%08" PRIx32 "\n", found[i],
            i == 0 ? "client" : "server", isn[i]);
    }
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_connections_at_once_each_arrive_exact),
        cmocka_unit_test(connections_one_after_another_all_complete),
        cmocka_unit_test(simultaneous_open_connects_both_and_transfers),
        cmocka_unit_test(an_abort_mid_transfer_resets_the_sender),
        cmocka_unit_test(a_close_with_unread_data_resets_the_sender),
        cmocka_unit_test(transfers_across_sequence_wrap_arrive_exact),
    };

    prog = argv[0];
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);    /* run one test by name */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
