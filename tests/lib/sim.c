/*
 * tests/lib/sim.c -- the discrete-event simulator of sim.h.
 *
 * Called by the simulation tests and bench/sim_bench.c; calls the stacks'
 * public entry points (input, poll) and, through the node's drain slot
 * (sim_tcp.c), the test's application.  Time is virtual: a min-heap of
 * events ordered by (time, insertion number) decides what happens next,
 * so equal times resolve the same way on every run.
 */
#include "lib/sim.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "wire/bytes.h"

#define SIM_DEFAULT_MAX_TIME_US (3600LL * 1000000)
#define SIM_DEFAULT_MAX_EVENTS 50000000u
#define SIM_DEFAULT_MAX_IN_FLIGHT 1000000u
#define SIM_DEFAULT_TRACE_CAP 4096u
#define SIM_DEFAULT_QUEUE_BYTES (100u * 1500u)
#define SIM_DUP_SPREAD_US 100           /* a duplicate trails its original by 0..this */
#define SIM_SERVICE_ROUNDS 10000        /* app <-> stack exchanges in one step */
#define SIM_SAME_INSTANT 200000         /* steps at one instant before a livelock is called */

enum ev_kind {
    EV_DELIVER,
    EV_TIMER,
};

struct sim_ev {
    int64_t t;
    uint64_t seq;                   /* insertion number: ties resolve FIFO */
    enum ev_kind kind;
    int from;
    int to;
    bool corrupted;
    size_t len;
    uint8_t *buf;                   /* pkt_cap bytes, owned by the event */
    sim_timer_fn *fn;
    void *ctx;
    struct sim_ev *next_free;
    struct sim_ev *next_all;        /* every event ever made, for sim_free */
};

enum {
    FATE_LOST = 0x01,
    FATE_QDROP = 0x02,
    FATE_CORRUPT = 0x04,
    FATE_DUP = 0x08,
    FATE_HELD = 0x10,
    FATE_FILTERED = 0x20,
};

/* One packet as sent, summarised for the trace. */
struct trace_rec {
    int64_t t;
    int64_t arrive;                 /* of the first copy; -1 if none */
    uint8_t from;
    uint8_t to;
    uint8_t fate;
    uint8_t proto;
    uint8_t flags;                  /* TCP flags */
    uint8_t icmp_type;
    uint16_t len;                   /* IP total */
    uint16_t payload;               /* TCP or ICMP payload */
    uint16_t sport;                 /* TCP ports; ICMP id and seq */
    uint16_t dport;
    uint16_t win;
    uint32_t seq;
    uint32_t ack;
    uint32_t src;
    uint32_t dst;
};

struct sim_link {
    struct sim_link_cfg cfg;
    struct sim_link_stats st;
    int64_t busy_until_ns;          /* the bottleneck's transmitter is busy until */
    int64_t burst_until;            /* a loss burst lasts until then */
};

struct sim_node {
    struct sim *sim;
    int index;
    struct tapir_stack *st;
    int64_t deadline;               /* what tapir_stack_poll last returned */
    sim_drain_fn *drain;
    sim_tcp_event_fn *app_fn;
    void *app_ctx;
};

struct sim {
    struct sim_cfg cfg;
    int n;
    struct sim_node nodes[SIM_MAX_NODES];
    struct sim_link links[SIM_MAX_NODES][SIM_MAX_NODES];
    uint64_t rng[4];
    int64_t now;
    uint64_t next_seq;
    uint64_t n_events;
    uint64_t n_same_instant;        /* steps taken since the clock last moved */
    struct sim_ev **heap;
    size_t heap_len;
    size_t heap_cap;
    struct sim_ev *free_evs;
    struct sim_ev *all_evs;
    size_t pkt_cap;
    uint64_t in_flight;
    uint64_t unroutable;
    sim_tap_fn *tap;
    void *tap_ctx;
    sim_filter_fn *filter;
    void *filter_ctx;
    bool failed;
    char err[1024];
    struct trace_rec *trace;
    size_t trace_cap;
    uint64_t n_traced;
    bool trace_live;
    uint64_t digest;
    FILE *pcap;
    uint8_t *scratch;               /* pkt_cap bytes: a packet being transmitted */
};

/* ---- randomness: xoshiro256**, seeded through splitmix64 ---------------- */

uint64_t
sim_rand(struct sim *sim)
{
    return tp_rng_next(sim->rng);
}

/* True with probability p; draws nothing when p is 0. */
static bool
chance(struct sim *sim, double p)
{
    if (p <= 0)
        return false;
    return (double)(sim_rand(sim) >> 11) * 0x1.0p-53 < p;
}

/* Uniform in [0, n]. */
static int64_t
upto(struct sim *sim, int64_t n)
{
    return n <= 0 ? 0 : (int64_t)(sim_rand(sim) % ((uint64_t)n + 1));
}

/* ---- the event heap --------------------------------------------------- */

static bool
ev_before(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int
heap_push(struct sim *sim, struct sim_ev *ev)
{
    size_t i;

    if (sim->heap_len == sim->heap_cap) {
        size_t cap = sim->heap_cap ? sim->heap_cap * 2 : 256;
        struct sim_ev **h = realloc(sim->heap, cap * sizeof(*h));

        if (h == NULL)
            return -ENOMEM;
        sim->heap = h;
        sim->heap_cap = cap;
    }
    ev->seq = sim->next_seq++;
    i = sim->heap_len++;
    while (i > 0 && ev_before(ev, sim->heap[(i - 1) / 2])) {
        sim->heap[i] = sim->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    sim->heap[i] = ev;
    return 0;
}

static struct sim_ev *
heap_pop(struct sim *sim)
{
    struct sim_ev *top = sim->heap[0];
    struct sim_ev *last = sim->heap[--sim->heap_len];
    size_t i = 0, n = sim->heap_len;

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= n)
            break;
        if (c + 1 < n && ev_before(sim->heap[c + 1], sim->heap[c]))
            c++;
        if (!ev_before(sim->heap[c], last))
            break;
        sim->heap[i] = sim->heap[c];
        i = c;
    }
    if (n > 0)
        sim->heap[i] = last;
    return top;
}

static struct sim_ev *
ev_get(struct sim *sim)
{
    struct sim_ev *ev = sim->free_evs;

    if (ev != NULL) {
        sim->free_evs = ev->next_free;
        return ev;
    }
    if ((ev = calloc(1, sizeof(*ev))) == NULL)
        return NULL;
    if ((ev->buf = malloc(sim->pkt_cap)) == NULL) {
        free(ev);
        return NULL;
    }
    ev->next_all = sim->all_evs;
    sim->all_evs = ev;
    return ev;
}

static void
ev_put(struct sim *sim, struct sim_ev *ev)
{
    ev->next_free = sim->free_evs;
    sim->free_evs = ev;
}

/* ---- failure ---------------------------------------------------------- */

static void vfail(struct sim *sim, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
vfail(struct sim *sim, const char *fmt, va_list ap)
{
    int n;

    if (sim->failed)
        return;                     /* the first reason is the one that matters */
    sim->failed = true;
    n = snprintf(sim->err, sizeof(sim->err), "seed %" PRIu64 ", t=%" PRId64 ".%06" PRId64 " s: ",
        sim->cfg.seed, sim->now / 1000000, sim->now % 1000000);
    if (n > 0 && (size_t)n < sizeof(sim->err))
        vsnprintf(sim->err + n, sizeof(sim->err) - (size_t)n, fmt, ap);
}

void
sim_fail(struct sim *sim, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(sim, fmt, ap);
    va_end(ap);
}

static int
fail_with(struct sim *sim, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail_with(struct sim *sim, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(sim, fmt, ap);
    va_end(ap);
    return code;
}

const char *
sim_error(const struct sim *sim)
{
    return sim->err;
}

/* ---- trace, digest, pcap ---------------------------------------------- */

static void
summarise(const uint8_t *p, size_t len, struct trace_rec *r)
{
    size_t ihl, total, off;
    const uint8_t *l4;

    if (len < 20 || p[0] >> 4 != 4)
        return;
    ihl = (size_t)(p[0] & 0x0f) * 4;
    total = tp_load_be16(p + 2);
    if (total > len)
        total = len;
    r->proto = p[9];
    r->src = tp_load_be32(p + 12);
    r->dst = tp_load_be32(p + 16);
    if (ihl < 20 || ihl > total)
        return;
    l4 = p + ihl;
    if (r->proto == 6 && total - ihl >= 20) {
        off = (size_t)(l4[12] >> 4) * 4;
        r->sport = tp_load_be16(l4);
        r->dport = tp_load_be16(l4 + 2);
        r->seq = tp_load_be32(l4 + 4);
        r->ack = tp_load_be32(l4 + 8);
        r->flags = l4[13];
        r->win = tp_load_be16(l4 + 14);
        r->payload = off >= 20 && off <= total - ihl ? (uint16_t)(total - ihl - off) : 0;
    } else if (r->proto == 1 && total - ihl >= 8) {
        r->icmp_type = l4[0];
        r->sport = tp_load_be16(l4 + 4);
        r->dport = tp_load_be16(l4 + 6);
        r->payload = (uint16_t)(total - ihl - 8);
    }
}

static void
format_rec(const struct trace_rec *r, char *buf, size_t cap)
{
    char a[16], b[16], fl[8], fate[64];
    size_t n = 0;
    int k = 0;

    tapir_ipv4_str(r->src, a);
    tapir_ipv4_str(r->dst, b);
    if (r->fate & FATE_FILTERED)
        n += (size_t)snprintf(fate + n, sizeof(fate) - n, " FILTERED");
    if (r->fate & FATE_QDROP)
        n += (size_t)snprintf(fate + n, sizeof(fate) - n, " QDROP");
    if (r->fate & FATE_LOST)
        n += (size_t)snprintf(fate + n, sizeof(fate) - n, " LOST");
    if (r->fate & FATE_CORRUPT)
        n += (size_t)snprintf(fate + n, sizeof(fate) - n, " CORRUPT");
    if (r->fate & FATE_HELD)
        n += (size_t)snprintf(fate + n, sizeof(fate) - n, " HELD");
    if (r->fate & FATE_DUP)
        n += (size_t)snprintf(fate + n, sizeof(fate) - n, " DUP");
    if (r->arrive >= 0)
        snprintf(fate + n, sizeof(fate) - n, " arrives +%" PRId64 "us", r->arrive - r->t);
    if (r->proto == 6) {
        static const char names[] = "FSRP.UEC";

        for (int i = 0; i < 8; i++)
            if (r->flags & (1u << i))
                fl[k++] = names[i];
        fl[k] = '\0';
        snprintf(buf, cap, "%4" PRId64 ".%06" PRId64 " %d>%d %s:%u > %s:%u [%s] seq %u ack %u "
            "win %u len %u%s", r->t / 1000000, r->t % 1000000, r->from, r->to, a, r->sport, b,
            r->dport, fl, r->seq, r->ack, r->win, r->payload, fate);
    } else if (r->proto == 1) {
        snprintf(buf, cap, "%4" PRId64 ".%06" PRId64 " %d>%d %s > %s ICMP type %u id %u seq %u "
            "len %u%s", r->t / 1000000, r->t % 1000000, r->from, r->to, a, b, r->icmp_type,
            r->sport, r->dport, r->payload, fate);
    } else {
        snprintf(buf, cap, "%4" PRId64 ".%06" PRId64 " %d>%d %s > %s proto %u len %u%s",
            r->t / 1000000, r->t % 1000000, r->from, r->to, a, b, r->proto, r->len, fate);
    }
}

static struct trace_rec *
trace_add(struct sim *sim, int from, int to, const uint8_t *p, size_t len)
{
    struct trace_rec *r = &sim->trace[sim->n_traced++ % sim->trace_cap];

    memset(r, 0, sizeof(*r));
    r->t = sim->now;
    r->arrive = -1;
    r->from = (uint8_t)from;
    r->to = (uint8_t)to;
    r->len = (uint16_t)len;
    summarise(p, len, r);
    return r;
}

static void
trace_done(struct sim *sim, const struct trace_rec *r)
{
    char line[256];

    sim->digest = (sim->digest ^ (uint64_t)r->arrive) * 0x100000001b3u;
    sim->digest = (sim->digest ^ r->fate) * 0x100000001b3u;
    if (sim->trace_live) {
        format_rec(r, line, sizeof(line));
        fprintf(stderr, "sim: %s\n", line);
    }
}

static void
digest_packet(struct sim *sim, int from, int to, const uint8_t *p, size_t len)
{
    uint64_t d = sim->digest;
    size_t n = len < 64 ? len : 64;  /* headers; payload follows from them */

    d = (d ^ (uint64_t)sim->now) * 0x100000001b3u;
    d = (d ^ (uint64_t)(from * SIM_MAX_NODES + to)) * 0x100000001b3u;
    d = (d ^ len) * 0x100000001b3u;
    for (size_t i = 0; i < n; i++)
        d = (d ^ p[i]) * 0x100000001b3u;
    sim->digest = d;
}

void
sim_trace_dump(const struct sim *sim, FILE *f, size_t last)
{
    uint64_t n = sim->n_traced < sim->trace_cap ? sim->n_traced : sim->trace_cap;
    char line[256];

    if (last != 0 && last < n)
        n = last;
    fprintf(f, "sim trace: last %" PRIu64 " of %" PRIu64 " packets sent (seed %" PRIu64 ")\n",
        n, sim->n_traced, sim->cfg.seed);
    for (uint64_t i = sim->n_traced - n; i < sim->n_traced; i++) {
        format_rec(&sim->trace[i % sim->trace_cap], line, sizeof(line));
        fprintf(f, "  %s\n", line);
    }
}

uint64_t
sim_digest(const struct sim *sim)
{
    return sim->digest;
}

static void
put32(FILE *f, uint32_t v)
{
    fwrite(&v, 4, 1, f);            /* pcap is written in host order; readers detect it */
}

int
sim_pcap_open(struct sim *sim, const char *path)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL)
        return -errno;
    if (sim->pcap != NULL)
        fclose(sim->pcap);
    sim->pcap = f;
    put32(f, 0xa1b2c3d4u);
    put32(f, 2u | 4u << 16);        /* version 2.4 as two host-order 16-bit fields */
    put32(f, 0);
    put32(f, 0);
    put32(f, 65535);
    put32(f, 228);                  /* LINKTYPE_IPV4 */
    return 0;
}

static void
pcap_write(struct sim *sim, const uint8_t *p, size_t len)
{
    if (sim->pcap == NULL)
        return;
    put32(sim->pcap, (uint32_t)(sim->now / 1000000));
    put32(sim->pcap, (uint32_t)(sim->now % 1000000));
    put32(sim->pcap, (uint32_t)len);
    put32(sim->pcap, (uint32_t)len);
    fwrite(p, 1, len, sim->pcap);
}

/* ---- links ------------------------------------------------------------ */

static int
node_of_addr(const struct sim *sim, uint32_t addr)
{
    for (int i = 0; i < sim->n; i++)
        if (sim_addr(sim, i) == addr)
            return i;
    return -1;
}

static int
schedule_copy(struct sim *sim, int from, int to, const uint8_t *p, size_t len, int64_t t,
    bool corrupted)
{
    struct sim_ev *ev;

    if (sim->in_flight >= sim->cfg.max_in_flight)
        return fail_with(sim, -ENOBUFS, "more than %" PRIu32 " packets in flight",
            sim->cfg.max_in_flight);
    if ((ev = ev_get(sim)) == NULL)
        return fail_with(sim, -ENOMEM, "out of memory for packets");
    ev->t = t;
    ev->kind = EV_DELIVER;
    ev->from = from;
    ev->to = to;
    ev->corrupted = corrupted;
    ev->len = len;
    memcpy(ev->buf, p, len);
    if (heap_push(sim, ev) != 0) {
        ev_put(sim, ev);
        return fail_with(sim, -ENOMEM, "out of memory for the event heap");
    }
    sim->in_flight++;
    return 0;
}

/* The bottleneck: returns the departure time, or -1 for a tail drop. */
static int64_t
bottleneck(struct sim_link *l, int64_t now, size_t len)
{
    int64_t now_ns = now * 1000, start, tx_ns;
    double backlog = 0, rate = (double)l->cfg.rate_bps;
    uint32_t cap = l->cfg.queue_bytes ? l->cfg.queue_bytes : SIM_DEFAULT_QUEUE_BYTES;

    if (l->busy_until_ns > now_ns)
        backlog = (double)(l->busy_until_ns - now_ns) * rate / 8e9;
    if (backlog + (double)len > (double)cap)
        return -1;
    if (backlog + (double)len > l->st.queue_max_bytes)
        l->st.queue_max_bytes = (uint32_t)(backlog + (double)len);
    start = l->busy_until_ns > now_ns ? l->busy_until_ns : now_ns;
    tx_ns = (int64_t)((double)len * 8e9 / rate + 0.999999);
    l->busy_until_ns = start + tx_ns;
    return (l->busy_until_ns + 999) / 1000;
}

/* Random loss, and loss in bursts. */
static bool
lose(struct sim *sim, struct sim_link *l)
{
    const struct sim_link_cfg *c = &l->cfg;

    if (sim->now >= l->burst_until && chance(sim, c->burst_enter)) {
        l->burst_until = sim->now + 1 + upto(sim, 2 * c->burst_us);
        l->st.bursts++;
    }
    if (sim->now < l->burst_until && chance(sim, c->burst_loss))
        return true;
    return chance(sim, c->loss);
}

/* Send p (which may be modified: corruption flips a bit in place). */
static int
link_send(struct sim *sim, int from, int to, uint8_t *p, size_t len)
{
    struct sim_link *l = &sim->links[from][to];
    const struct sim_link_cfg *c = &l->cfg;
    struct trace_rec *r = trace_add(sim, from, to, p, len);
    int64_t depart = sim->now, arrive;
    bool corrupted = false;
    int err = 0;

    l->st.sent++;
    l->st.sent_bytes += len;
    digest_packet(sim, from, to, p, len);
    pcap_write(sim, p, len);
    if (sim->tap != NULL)
        sim->tap(sim, SIM_TAP_SEND, from, to, p, len, false, sim->tap_ctx);
    if (sim->filter != NULL && sim->filter(sim, from, to, p, len, sim->filter_ctx)) {
        l->st.filtered++;
        r->fate |= FATE_FILTERED;
    } else if (c->rate_bps != 0 && (depart = bottleneck(l, sim->now, len)) < 0) {
        l->st.queue_drops++;
        r->fate |= FATE_QDROP;
    } else if (lose(sim, l)) {
        l->st.lost++;
        r->fate |= FATE_LOST;
    } else {
        arrive = depart + c->delay_us + upto(sim, c->jitter_us);
        if (chance(sim, c->corrupt)) {
            uint64_t bit = sim_rand(sim) % (len * 8);

            p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            corrupted = true;
            l->st.corrupted++;
            r->fate |= FATE_CORRUPT;
        }
        if (chance(sim, c->reorder)) {
            arrive += 1 + upto(sim, c->reorder_us - 1);
            l->st.reordered++;
            r->fate |= FATE_HELD;
        }
        r->arrive = arrive;
        err = schedule_copy(sim, from, to, p, len, arrive, corrupted);
        if (err == 0 && chance(sim, c->dup)) {
            l->st.duplicated++;
            r->fate |= FATE_DUP;
            err = schedule_copy(sim, from, to, p, len, arrive + upto(sim, SIM_DUP_SPREAD_US),
                corrupted);
        }
    }
    trace_done(sim, r);
    return err;
}

static int
route(struct sim *sim, int from, uint8_t *p, size_t len)
{
    int to;

    if (len < 20 || p[0] >> 4 != 4 || (to = node_of_addr(sim, tp_load_be32(p + 16))) < 0) {
        sim->unroutable++;
        return -EINVAL;
    }
    return link_send(sim, from, to, p, len);
}

/* The tapir_transmit_fn of every node: gather the iovecs and route them. */
static int
node_transmit(void *ctx, const struct tapir_iov *iov, int iovcnt)
{
    struct sim_node *node = ctx;
    struct sim *sim = node->sim;
    size_t len = 0;

    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].len > sim->pkt_cap - len) {
            sim_fail(sim, "node %d transmitted a packet larger than its MTU %zu", node->index,
                sim->pkt_cap);
            return 0;
        }
        memcpy(sim->scratch + len, iov[i].base, iov[i].len);
        len += iov[i].len;
    }
    route(sim, node->index, sim->scratch, len);
    return 0;                       /* taken, or knowingly dropped */
}

int
sim_inject(struct sim *sim, int from, const void *pkt, size_t len)
{
    if (from < 0 || from >= sim->n)
        return -EINVAL;
    if (len > sim->pkt_cap)
        return -EMSGSIZE;
    memcpy(sim->scratch, pkt, len);
    return route(sim, from, sim->scratch, len);
}

/* ---- creation --------------------------------------------------------- */

static void node_log(void *ctx, enum tapir_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
node_log(void *ctx, enum tapir_log_level level, const char *fmt, va_list ap)
{
    struct sim_node *node = ctx;

    fprintf(stderr, "sim %4" PRId64 ".%06" PRId64 " node %d log %d: ", node->sim->now / 1000000,
        node->sim->now % 1000000, node->index, (int)level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static bool
env_on(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

static int
nodes_new(struct sim *sim, const struct tapir_config *stack_cfg)
{
    struct tapir_config c;
    uint64_t x = sim->cfg.seed ^ 0x5eed5eed5eed5eedu;
    int err;

    if (stack_cfg != NULL)
        c = *stack_cfg;
    else
        tapir_config_default(&c);
    sim->pkt_cap = c.mtu;
    if (env_on("TAPIR_SIM_LOG")) {
        c.log = node_log;
        c.log_level = TAPIR_LOG_TRACE;
    }
    for (int i = 0; i < sim->n; i++) {
        struct sim_node *node = &sim->nodes[i];
        struct tapir_link link = { node_transmit, node };
        struct tapir_config nc = c;

        node->sim = sim;
        node->index = i;
        node->deadline = INT64_MAX;
        nc.addr = sim_addr(sim, i);
        nc.prefix_len = 24;
        nc.seed = tp_splitmix64(&x);
        if (nc.log != NULL)
            nc.log_ctx = node;
        if (sim->cfg.node_cfg != NULL)
            sim->cfg.node_cfg(i, &nc, sim->cfg.node_cfg_ctx);
        if (nc.mtu > sim->pkt_cap)
            return -EINVAL;         /* one packet size for every event buffer */
        if ((err = tapir_stack_new(&nc, &link, &node->st)) != 0)
            return err;
    }
    return 0;
}

int
sim_new(const struct sim_cfg *cfg, const struct tapir_config *stack_cfg, struct sim **out)
{
    struct sim *sim;
    const char *pcap;
    int err = -ENOMEM;

    *out = NULL;
    if (cfg->n_nodes < 0 || cfg->n_nodes > SIM_MAX_NODES || cfg->n_nodes == 1)
        return -EINVAL;
    if ((sim = calloc(1, sizeof(*sim))) == NULL)
        return -ENOMEM;
    sim->cfg = *cfg;
    sim->n = cfg->n_nodes ? cfg->n_nodes : 2;
    if (sim->cfg.max_time_us == 0)
        sim->cfg.max_time_us = SIM_DEFAULT_MAX_TIME_US;
    if (sim->cfg.max_events == 0)
        sim->cfg.max_events = SIM_DEFAULT_MAX_EVENTS;
    if (sim->cfg.max_in_flight == 0)
        sim->cfg.max_in_flight = SIM_DEFAULT_MAX_IN_FLIGHT;
    sim->trace_cap = cfg->trace_cap ? cfg->trace_cap : SIM_DEFAULT_TRACE_CAP;
    sim->trace_live = env_on("TAPIR_SIM_TRACE");
    sim->digest = 0xcbf29ce484222325u;
    tp_rng_seed(sim->rng, cfg->seed);
    if ((sim->trace = calloc(sim->trace_cap, sizeof(*sim->trace))) == NULL)
        goto fail;
    if ((err = nodes_new(sim, stack_cfg)) != 0)
        goto fail;
    err = -ENOMEM;
    if ((sim->scratch = malloc(sim->pkt_cap)) == NULL)
        goto fail;
    if ((pcap = getenv("TAPIR_SIM_PCAP")) != NULL && *pcap != '\0'
        && (err = sim_pcap_open(sim, pcap)) != 0)
        goto fail;
    *out = sim;
    return 0;
fail:
    sim_free(sim);
    return err;
}

void
sim_free(struct sim *sim)
{
    struct sim_ev *ev, *next;

    if (sim == NULL)
        return;
    for (int i = 0; i < sim->n; i++)
        tapir_stack_free(sim->nodes[i].st);
    for (ev = sim->all_evs; ev != NULL; ev = next) {
        next = ev->next_all;
        free(ev->buf);
        free(ev);
    }
    if (sim->pcap != NULL)
        fclose(sim->pcap);
    free(sim->heap);
    free(sim->trace);
    free(sim->scratch);
    free(sim);
}

/* ---- accessors -------------------------------------------------------- */

struct tapir_stack *
sim_stack(struct sim *sim, int node)
{
    return node >= 0 && node < sim->n ? sim->nodes[node].st : NULL;
}

uint32_t
sim_addr(const struct sim *sim, int node)
{
    (void)sim;
    return 0x0a000001u + (uint32_t)node;    /* 10.0.0.<node + 1> */
}

uint64_t
sim_seed(const struct sim *sim)
{
    return sim->cfg.seed;
}

int64_t
sim_now(const struct sim *sim)
{
    return sim->now;
}

struct tapir_time
sim_time(const struct sim *sim)
{
    return (struct tapir_time){ sim->now };
}

void
sim_set_link(struct sim *sim, int from, int to, const struct sim_link_cfg *lc)
{
    sim->links[from][to].cfg = *lc;
}

void
sim_set_links(struct sim *sim, int a, int b, const struct sim_link_cfg *lc)
{
    sim_set_link(sim, a, b, lc);
    sim_set_link(sim, b, a, lc);
}

const struct sim_link_stats *
sim_link_stats(const struct sim *sim, int from, int to)
{
    return &sim->links[from][to].st;
}

uint64_t
sim_in_flight(const struct sim *sim)
{
    return sim->in_flight;
}

uint64_t
sim_unroutable(const struct sim *sim)
{
    return sim->unroutable;
}

uint64_t
sim_events(const struct sim *sim)
{
    return sim->n_events;
}

void
sim_set_tap(struct sim *sim, sim_tap_fn *fn, void *ctx)
{
    sim->tap = fn;
    sim->tap_ctx = ctx;
}

void
sim_set_filter(struct sim *sim, sim_filter_fn *fn, void *ctx)
{
    sim->filter = fn;
    sim->filter_ctx = ctx;
}

void
sim_set_drain(struct sim *sim, int node, sim_drain_fn *drain, sim_tcp_event_fn *fn, void *ctx)
{
    sim->nodes[node].drain = drain;
    sim->nodes[node].app_fn = fn;
    sim->nodes[node].app_ctx = ctx;
}

void
sim_get_app(const struct sim *sim, int node, sim_tcp_event_fn **fn, void **ctx)
{
    *fn = sim->nodes[node].app_fn;
    *ctx = sim->nodes[node].app_ctx;
}

int
sim_at(struct sim *sim, int64_t t_us, sim_timer_fn *fn, void *ctx)
{
    struct sim_ev *ev;

    if (t_us < sim->now || fn == NULL)
        return -EINVAL;
    if ((ev = ev_get(sim)) == NULL)
        return -ENOMEM;
    ev->t = t_us;
    ev->kind = EV_TIMER;
    ev->fn = fn;
    ev->ctx = ctx;
    if (heap_push(sim, ev) != 0) {
        ev_put(sim, ev);
        return -ENOMEM;
    }
    return 0;
}

/* ---- the loop ----------------------------------------------------------- */

/* Poll node at now and hand its news to the application, until the two
 * have nothing more to say to each other. */
static void
service(struct sim *sim, struct sim_node *node)
{
    for (int round = 0; !sim->failed; round++) {
        if (round == SIM_SERVICE_ROUNDS) {
            sim_fail(sim, "node %d: stack and application still exchanging events after %d "
                "rounds at one instant", node->index, round);
            return;
        }
        node->deadline = tapir_stack_poll(node->st, sim_time(sim)).us;
        if (node->drain == NULL || node->drain(sim, node->index) == 0)
            return;
    }
}

static void
deliver(struct sim *sim, struct sim_ev *ev)
{
    struct sim_link *l = &sim->links[ev->from][ev->to];
    struct trace_rec r = { 0 };

    sim->in_flight--;
    l->st.delivered++;
    l->st.delivered_bytes += ev->len;
    if (ev->corrupted) {
        l->st.delivered_corrupt++;
    } else {
        summarise(ev->buf, ev->len, &r);
        if (r.proto == 6)
            l->st.tcp_payload_bytes += r.payload;
    }
    if (sim->tap != NULL)
        sim->tap(sim, SIM_TAP_DELIVER, ev->from, ev->to, ev->buf, ev->len, ev->corrupted,
            sim->tap_ctx);
    tapir_stack_input(sim->nodes[ev->to].st, ev->buf, ev->len, sim_time(sim));
    service(sim, &sim->nodes[ev->to]);
}

static void
step_event(struct sim *sim)
{
    struct sim_ev *ev = heap_pop(sim);

    switch (ev->kind) {
    case EV_DELIVER:
        deliver(sim, ev);
        break;
    case EV_TIMER:
        ev->fn(sim, ev->ctx);
        for (int i = 0; i < sim->n; i++)
            service(sim, &sim->nodes[i]);
        break;
    }
    ev_put(sim, ev);
}

int
sim_run(struct sim *sim, sim_done_fn *done, void *ctx)
{
    for (int i = 0; i < sim->n; i++)
        service(sim, &sim->nodes[i]);
    for (;;) {
        int64_t t_ev = sim->heap_len ? sim->heap[0]->t : INT64_MAX, t_poll = INT64_MAX, t;
        int who = -1;

        if (sim->failed)
            return SIM_ERR_FAILED;
        if (done != NULL && done(sim, ctx))
            return 0;
        for (int i = 0; i < sim->n; i++) {
            if (sim->nodes[i].deadline < t_poll) {
                t_poll = sim->nodes[i].deadline;
                who = i;
            }
        }
        t = t_ev < t_poll ? t_ev : t_poll;
        if (t == INT64_MAX)
            return done == NULL ? 0
                : fail_with(sim, SIM_ERR_IDLE, "idle: no packet in flight, no deadline, "
                    "and the run is not done");
        if (t < sim->now)
            t = sim->now;
        if (t > sim->cfg.max_time_us)
            return fail_with(sim, SIM_ERR_TIME, "virtual time limit %" PRId64 " us reached "
                "(next event at %" PRId64 " us)", sim->cfg.max_time_us, t);
        if (sim->n_events >= sim->cfg.max_events)
            return fail_with(sim, SIM_ERR_EVENTS, "event limit %" PRIu64 " reached",
                sim->cfg.max_events);
        sim->n_events++;
        if (t == sim->now && ++sim->n_same_instant > SIM_SAME_INSTANT)
            return fail_with(sim, SIM_ERR_EVENTS, "livelock: %d steps without the clock "
                "moving (a deadline that is always now?)", SIM_SAME_INSTANT);
        if (t != sim->now)
            sim->n_same_instant = 0;
        sim->now = t;
        if (t_ev <= t_poll)
            step_event(sim);
        else
            service(sim, &sim->nodes[who]);
    }
}
