/*
 * tests/sim/sim_link_test.c -- the simulator itself, proved with ICMP echo
 * before any TCP runs over it.
 *
 * The test crafts echo requests, puts them on the link from node 0 (as if
 * its stack had sent them) to node 1, whose stack answers over the link
 * back.  Every impairment (loss, duplication, corruption, reordering,
 * delay, the bottleneck) is checked against the link's counters and the
 * stacks' own counters, and every run is checked to be reproducible and
 * bounded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/sim.h"
#include "wire/bytes.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define ECHO_ID 0x7a11
#define MAX_REQS 4096

static uint64_t
stat(struct sim *sim, int node, const char *name)
{
    for (size_t i = 0; i < tapir_stats_count(); i++)
        if (strcmp(tapir_stats_name(i), name) == 0)
            return tapir_stats_get(sim_stack(sim, node), i);
    fail_msg("no counter named %s", name);
    return 0;
}

static uint8_t
pattern(uint16_t seq, size_t i)
{
    return (uint8_t)(seq * 7u + i * 13u + 1u);
}

/* An echo request from node `from` to node `to`, total IP length `len`. */
static size_t
make_echo(struct sim *sim, int from, int to, uint16_t seq, size_t len, uint8_t *buf)
{
    struct tp_ipv4_out ip = {
        .id = seq, .df = true, .ttl = 64, .proto = TP_IP_PROTO_ICMP,
        .src = sim_addr(sim, from), .dst = sim_addr(sim, to),
    };
    struct tp_icmp m = { .type = TP_ICMP_ECHO, .id = ECHO_ID, .seq = seq };
    size_t body = len - TP_IPV4_HDR_MIN - TP_ICMP_HDR_LEN;
    uint8_t *data = buf + TP_IPV4_HDR_MIN + TP_ICMP_HDR_LEN;

    for (size_t i = 0; i < body; i++)
        data[i] = pattern(seq, i);
    m.body = data;
    m.body_len = body;
    ip.payload_len = (uint16_t)(len - TP_IPV4_HDR_MIN);
    tp_ipv4_emit(&ip, buf);
    tp_icmp_emit(&m, buf + TP_IPV4_HDR_MIN);
    return len;
}

/* What the tap saw. */
struct seen {
    size_t n_req_intact;            /* echo requests delivered to node 1 intact */
    size_t n_rep_intact;            /* echo replies delivered to node 0 intact */
    size_t n_rep_bad;               /* intact replies that do not match a request */
    size_t n_answered;              /* distinct sequence numbers answered */
    bool answered[MAX_REQS];
    uint16_t req_order[MAX_REQS];   /* sequence numbers in delivery order at node 1 */
    size_t n_order;
    int64_t req_at[MAX_REQS];       /* delivery time at node 1, by sequence number */
    int64_t rep_at[MAX_REQS];
    uint8_t last_sent[2048];        /* the last packet node 0 sent, for bit flips
                                     * (meaningful with one packet in flight) */
    size_t last_sent_len;
    size_t n_flip_ok;               /* corrupted deliveries differing in exactly one bit */
    size_t n_flip_bad;
};

static int
popcount8(uint8_t x)
{
    int n = 0;

    for (; x != 0; x &= (uint8_t)(x - 1))
        n++;
    return n;
}

static void
check_flip(struct seen *s, const uint8_t *pkt, size_t len)
{
    int bits = 0;

    if (len != s->last_sent_len) {
        s->n_flip_bad++;
        return;
    }
    for (size_t i = 0; i < len; i++)
        bits += popcount8(pkt[i] ^ s->last_sent[i]);
    if (bits == 1)
        s->n_flip_ok++;
    else
        s->n_flip_bad++;
}

static bool
reply_matches(const struct tp_icmp *m)
{
    if (m->id != ECHO_ID || m->seq >= MAX_REQS)
        return false;
    for (size_t i = 0; i < m->body_len; i++)
        if (m->body[i] != pattern(m->seq, i))
            return false;
    return true;
}

static void
tap(struct sim *sim, enum sim_tap_point where, int from, int to, const uint8_t *pkt,
    size_t len, bool corrupted, void *ctx)
{
    struct seen *s = ctx;
    struct tp_ipv4 ip;
    struct tp_icmp m;

    if (where == SIM_TAP_SEND) {
        if (from == 0 && len <= sizeof(s->last_sent)) {
            memcpy(s->last_sent, pkt, len);
            s->last_sent_len = len;
        }
        return;
    }
    if (corrupted) {
        if (from == 0)
            check_flip(s, pkt, len);
        return;
    }
    assert_int_equal(tp_ipv4_parse(pkt, len, &ip), TP_WIRE_OK);
    assert_int_equal(tp_icmp_parse(ip.payload, ip.payload_len, &m), TP_WIRE_OK);
    if (to == 1 && m.type == TP_ICMP_ECHO) {
        s->n_req_intact++;
        if (s->n_order < MAX_REQS)
            s->req_order[s->n_order++] = m.seq;
        if (m.seq < MAX_REQS && s->req_at[m.seq] == 0)
            s->req_at[m.seq] = sim_now(sim);
    } else if (to == 0 && m.type == TP_ICMP_ECHO_REPLY) {
        s->n_rep_intact++;
        if (!reply_matches(&m)) {
            s->n_rep_bad++;
        } else if (!s->answered[m.seq]) {
            s->answered[m.seq] = true;
            s->rep_at[m.seq] = sim_now(sim);
            s->n_answered++;
        }
    }
}

static struct sim *
new_sim(uint64_t seed, int n_nodes)
{
    struct sim_cfg cfg = { .seed = seed, .n_nodes = n_nodes, .max_time_us = 600LL * 1000000 };
    struct tapir_config sc;
    struct sim *sim;

    tapir_config_default(&sc);
    sc.icmp_rate_per_sec = 0;       /* answer every request */
    assert_int_equal(sim_new(&cfg, &sc, &sim), 0);
    return sim;
}

/* Sends requests 0..n-1 from node 0 to node 1, one every `gap_us`. */
struct pinger {
    struct sim *sim;
    uint16_t next;
    uint16_t n;
    int64_t gap_us;
    size_t len;
};

static void
ping_tick(struct sim *sim, void *ctx)
{
    struct pinger *p = ctx;
    uint8_t buf[2048];

    assert_int_equal(sim_inject(sim, 0, buf, make_echo(sim, 0, 1, p->next, p->len, buf)), 0);
    if (++p->next < p->n)
        assert_int_equal(sim_at(sim, sim_now(sim) + p->gap_us, ping_tick, p), 0);
}

static void
check_conservation(struct sim *sim, int from, int to)
{
    const struct sim_link_stats *ls = sim_link_stats(sim, from, to);

    assert_int_equal(ls->sent,
        ls->filtered + ls->queue_drops + ls->lost + ls->delivered - ls->duplicated);
}

/* ---- tests -------------------------------------------------------------- */

static void
echo_crosses_a_clean_link_with_its_delay(void **state)
{
    struct sim *sim = new_sim(1, 2);
    struct sim_link_cfg lc = { .delay_us = 5000 };
    struct seen *s = calloc(1, sizeof(*s));
    uint8_t buf[128];

    (void)state;
    sim_set_links(sim, 0, 1, &lc);
    sim_set_tap(sim, tap, s);
    assert_int_equal(sim_inject(sim, 0, buf, make_echo(sim, 0, 1, 3, 84, buf)), 0);
    assert_int_equal(sim_run(sim, NULL, NULL), 0);

    assert_int_equal(s->req_at[3], 5000);
    assert_int_equal(s->rep_at[3], 10000);
    assert_int_equal(s->n_answered, 1);
    assert_int_equal(s->n_rep_bad, 0);
    assert_int_equal(sim_link_stats(sim, 0, 1)->delivered, 1);
    assert_int_equal(sim_link_stats(sim, 1, 0)->sent, 1);
    assert_int_equal(sim_link_stats(sim, 1, 0)->delivered_bytes, 84);
    assert_int_equal(stat(sim, 1, "IcmpInEchos"), 1);
    assert_int_equal(stat(sim, 1, "IcmpOutEchoReps"), 1);
    assert_int_equal(stat(sim, 0, "TapirIcmpInOther"), 1);  /* our request was crafted */
    assert_int_equal(sim_in_flight(sim), 0);
    assert_int_equal(sim_now(sim), 10000);
    sim_free(sim);
    free(s);
}

/* One impaired run: 1000 requests through loss, dup, corruption, reorder. */
static struct sim *
impaired_run(uint64_t seed, struct seen *s)
{
    struct sim *sim = new_sim(seed, 2);
    struct sim_link_cfg lc = {
        .loss = 0.1, .dup = 0.1, .corrupt = 0.1, .reorder = 0.1, .reorder_us = 3000,
        .delay_us = 2000, .jitter_us = 500,
    };
    struct pinger p = { .n = 1000, .gap_us = 200, .len = 100 };

    sim_set_links(sim, 0, 1, &lc);
    sim_set_tap(sim, tap, s);
    assert_int_equal(sim_at(sim, 0, ping_tick, &p), 0);
    assert_int_equal(sim_run(sim, NULL, NULL), 0);
    return sim;
}

static void
in_range(uint64_t x, uint64_t lo, uint64_t hi, const char *what, uint64_t seed)
{
    if (x < lo || x > hi)
        fail_msg("seed %llu: %s = %llu, expected %llu..%llu", (unsigned long long)seed, what,
            (unsigned long long)x, (unsigned long long)lo, (unsigned long long)hi);
}

static void
impaired_link_counters_agree_with_the_stacks(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct seen *s = calloc(1, sizeof(*s));
        struct sim *sim = impaired_run(seed, s);
        const struct sim_link_stats *ab = sim_link_stats(sim, 0, 1);
        const struct sim_link_stats *ba = sim_link_stats(sim, 1, 0);

        assert_int_equal(sim_in_flight(sim), 0);
        assert_int_equal(ab->sent, 1000);
        check_conservation(sim, 0, 1);
        check_conservation(sim, 1, 0);
        /* 1000 draws at p = 0.1: mean 100, sd 9.5; six sd either way. */
        in_range(ab->lost, 43, 157, "lost", seed);
        in_range(ab->duplicated, 35, 157, "duplicated", seed);
        in_range(ab->corrupted, 35, 157, "corrupted", seed);
        in_range(ab->reordered, 35, 157, "reordered", seed);
        /* Node 1 answers each intact request, and only those. */
        assert_int_equal(stat(sim, 1, "IpInReceives"), ab->delivered);
        assert_int_equal(stat(sim, 1, "IcmpInEchos"), ab->delivered - ab->delivered_corrupt);
        assert_int_equal(s->n_req_intact, ab->delivered - ab->delivered_corrupt);
        assert_int_equal(stat(sim, 1, "IcmpOutEchoReps"), stat(sim, 1, "IcmpInEchos"));
        assert_int_equal(ba->sent, stat(sim, 1, "IcmpOutEchoReps"));
        /* Each corrupted copy is dropped by a checksum, IP's or ICMP's. */
        assert_int_equal(stat(sim, 1, "IpInHdrErrors") + stat(sim, 1, "IcmpInErrors"),
            ab->delivered_corrupt);
        assert_int_equal(stat(sim, 0, "IpInHdrErrors") + stat(sim, 0, "IcmpInErrors"),
            ba->delivered_corrupt);
        /* Node 0 sees every intact reply, each one a faithful echo. */
        assert_int_equal(stat(sim, 0, "IpInReceives"), ba->delivered);
        assert_int_equal(stat(sim, 0, "TapirIcmpInOther"), ba->delivered - ba->delivered_corrupt);
        assert_int_equal(s->n_rep_intact, ba->delivered - ba->delivered_corrupt);
        assert_int_equal(s->n_rep_bad, 0);
        in_range(s->n_answered, 600, 800, "requests answered", seed);
        sim_free(sim);
        free(s);
    }
}

static void
corruption_flips_one_bit_and_the_stack_drops_it(void **state)
{
    struct sim *sim = new_sim(7, 2);
    struct sim_link_cfg bad = { .corrupt = 1.0, .delay_us = 100 };
    struct pinger p = { .n = 500, .gap_us = 1000, .len = 200 };
    struct seen *s = calloc(1, sizeof(*s));

    (void)state;
    sim_set_link(sim, 0, 1, &bad);
    sim_set_tap(sim, tap, s);
    assert_int_equal(sim_at(sim, 0, ping_tick, &p), 0);
    assert_int_equal(sim_run(sim, NULL, NULL), 0);

    assert_int_equal(sim_link_stats(sim, 0, 1)->corrupted, 500);
    assert_int_equal(sim_link_stats(sim, 0, 1)->delivered_corrupt, 500);
    assert_int_equal(s->n_flip_ok, 500);
    assert_int_equal(s->n_flip_bad, 0);
    assert_int_equal(stat(sim, 1, "IcmpInEchos"), 0);
    assert_int_equal(stat(sim, 1, "IpInHdrErrors") + stat(sim, 1, "IcmpInErrors"), 500);
    assert_int_equal(sim_link_stats(sim, 1, 0)->sent, 0);
    sim_free(sim);
    free(s);
}

static size_t
inversions(const struct seen *s)
{
    size_t n = 0;

    for (size_t i = 1; i < s->n_order; i++)
        if (s->req_order[i] < s->req_order[i - 1])
            n++;
    return n;
}

static void
reordering_holds_packets_back_and_loses_none(void **state)
{
    struct sim_link_cfg straight = { .delay_us = 1000 };
    struct sim_link_cfg held = { .delay_us = 1000, .reorder = 0.3, .reorder_us = 5000 };

    (void)state;
    for (int pass = 0; pass < 2; pass++) {
        struct sim *sim = new_sim(11, 2);
        struct pinger p = { .n = 500, .gap_us = 100, .len = 64 };
        struct seen *s = calloc(1, sizeof(*s));

        sim_set_link(sim, 0, 1, pass == 0 ? &straight : &held);
        sim_set_tap(sim, tap, s);
        assert_int_equal(sim_at(sim, 0, ping_tick, &p), 0);
        assert_int_equal(sim_run(sim, NULL, NULL), 0);
        assert_int_equal(s->n_order, 500);
        assert_int_equal(s->n_answered, 500);
        if (pass == 0) {
            assert_int_equal(inversions(s), 0);
            assert_int_equal(sim_link_stats(sim, 0, 1)->reordered, 0);
        } else {
            in_range(sim_link_stats(sim, 0, 1)->reordered, 100, 200, "reordered", 11);
            in_range(inversions(s), 50, 500, "inversions", 11);
        }
        sim_free(sim);
        free(s);
    }
}

/* Of the requests lost (never delivered), the share whose successor was
 * lost too, in percent. */
static unsigned
lost_after_lost(const struct seen *s, int n)
{
    unsigned pairs = 0, both = 0;

    for (int i = 0; i + 1 < n; i++) {
        if (s->req_at[i] != 0)
            continue;
        pairs++;
        if (s->req_at[i + 1] == 0)
            both++;
    }
    return pairs ? 100 * both / pairs : 0;
}

static void
loss_bursts_cluster_losses(void **state)
{
    /* One packet in 100 starts a burst of 250 us on average, 5 packets at
     * one per 50 us: about 5 % of packets lost, nearly all next to another. */
    struct sim_link_cfg bursty = { .delay_us = 100, .burst_enter = 0.01, .burst_us = 250,
        .burst_loss = 1.0 };
    struct sim_link_cfg uniform = { .delay_us = 100, .loss = 0.048 };

    (void)state;
    for (int pass = 0; pass < 2; pass++) {
        struct sim *sim = new_sim(21, 2);
        struct pinger p = { .n = 4000, .gap_us = 50, .len = 64 };
        struct seen *s = calloc(1, sizeof(*s));
        const struct sim_link_stats *ls;

        sim_set_link(sim, 0, 1, pass == 0 ? &bursty : &uniform);
        sim_set_tap(sim, tap, s);
        assert_int_equal(sim_at(sim, 0, ping_tick, &p), 0);
        assert_int_equal(sim_run(sim, NULL, NULL), 0);
        ls = sim_link_stats(sim, 0, 1);
        in_range(ls->lost, 100, 300, "lost", 21);
        check_conservation(sim, 0, 1);
        if (pass == 0) {
            in_range(ls->bursts, 20, 70, "bursts", 21);
            in_range(lost_after_lost(s, 4000), 60, 100, "% lost after a loss (bursty)", 21);
        } else {
            assert_int_equal(ls->bursts, 0);
            in_range(lost_after_lost(s, 4000), 0, 15, "% lost after a loss (uniform)", 21);
        }
        sim_free(sim);
        free(s);
    }
}

static void
burst_at_t(struct sim *sim, void *ctx)
{
    struct pinger *p = ctx;
    uint8_t buf[2048];

    for (uint16_t i = 0; i < p->n; i++, p->next++)
        assert_int_equal(sim_inject(sim, 0, buf, make_echo(sim, 0, 1, p->next, p->len, buf)),
            0);
}

static void
bottleneck_paces_and_tail_drops(void **state)
{
    struct sim *sim = new_sim(5, 2);
    /* 8 Mbit/s is one byte per microsecond: a 1000-byte packet takes 1 ms. */
    struct sim_link_cfg neck = { .rate_bps = 8000000, .queue_bytes = 10000, .delay_us = 1000 };
    struct pinger first = { .next = 0, .n = 30, .len = 1000 };
    struct pinger second = { .next = 100, .n = 5, .len = 1000 };
    struct seen *s = calloc(1, sizeof(*s));

    (void)state;
    sim_set_link(sim, 0, 1, &neck);
    sim_set_tap(sim, tap, s);
    assert_int_equal(sim_at(sim, 0, burst_at_t, &first), 0);
    assert_int_equal(sim_at(sim, 50000, burst_at_t, &second), 0);
    assert_int_equal(sim_run(sim, NULL, NULL), 0);

    /* The queue holds 10 packets; the other 20 of the burst are tail-dropped. */
    assert_int_equal(sim_link_stats(sim, 0, 1)->queue_drops, 20);
    assert_int_equal(sim_link_stats(sim, 0, 1)->queue_max_bytes, 10000);
    for (int k = 0; k < 10; k++)
        assert_int_equal(s->req_at[k], (k + 1) * 1000 + 1000);
    for (int k = 10; k < 30; k++)
        assert_int_equal(s->req_at[k], 0);
    /* Long after, the queue is empty again and takes the next burst whole. */
    for (int k = 0; k < 5; k++)
        assert_int_equal(s->req_at[100 + k], 50000 + (k + 1) * 1000 + 1000);
    assert_int_equal(s->n_answered, 15);
    check_conservation(sim, 0, 1);
    sim_free(sim);
    free(s);
}

/* Drops the echo requests with an odd sequence number. */
static bool
odd_requests(struct sim *sim, int from, int to, const uint8_t *pkt, size_t len, void *ctx)
{
    (void)sim, (void)to, (void)ctx;
    return from == 0 && len >= 28 && pkt[20] == TP_ICMP_ECHO && (tp_load_be16(pkt + 26) & 1);
}

static void
a_filter_drops_exactly_the_packets_it_picks(void **state)
{
    struct sim *sim = new_sim(12, 2);
    struct sim_link_cfg lc = { .delay_us = 500 };
    struct pinger p = { .n = 100, .gap_us = 100, .len = 64 };
    struct seen *s = calloc(1, sizeof(*s));

    (void)state;
    sim_set_links(sim, 0, 1, &lc);
    sim_set_tap(sim, tap, s);
    sim_set_filter(sim, odd_requests, NULL);
    assert_int_equal(sim_at(sim, 0, ping_tick, &p), 0);
    assert_int_equal(sim_run(sim, NULL, NULL), 0);
    assert_int_equal(sim_link_stats(sim, 0, 1)->filtered, 50);
    assert_int_equal(s->n_answered, 50);
    for (int k = 0; k < 100; k++)
        assert_int_equal(s->answered[k], k % 2 == 0);
    check_conservation(sim, 0, 1);
    sim_free(sim);
    free(s);
}

static void
the_same_seed_replays_the_same_run(void **state)
{
    struct seen *s1 = calloc(1, sizeof(*s1)), *s2 = calloc(1, sizeof(*s2));
    struct seen *s3 = calloc(1, sizeof(*s3));
    struct sim *a = impaired_run(42, s1), *b = impaired_run(42, s2), *c = impaired_run(43, s3);

    (void)state;
    assert_true(sim_digest(a) == sim_digest(b));
    assert_memory_equal(sim_link_stats(a, 0, 1), sim_link_stats(b, 0, 1),
        sizeof(struct sim_link_stats));
    assert_memory_equal(sim_link_stats(a, 1, 0), sim_link_stats(b, 1, 0),
        sizeof(struct sim_link_stats));
    assert_int_equal(sim_now(a), sim_now(b));
    assert_int_equal(sim_events(a), sim_events(b));
    assert_true(sim_digest(a) != sim_digest(c));
    sim_free(a);
    sim_free(b);
    sim_free(c);
    free(s1);
    free(s2);
    free(s3);
}

static void
tick_forever(struct sim *sim, void *ctx)
{
    (*(int *)ctx)++;
    assert_int_equal(sim_at(sim, sim_now(sim) + 1000, tick_forever, ctx), 0);
}

static void
tick_now_forever(struct sim *sim, void *ctx)
{
    (*(int *)ctx)++;
    assert_int_equal(sim_at(sim, sim_now(sim), tick_now_forever, ctx), 0);
}

static bool
never(struct sim *sim, void *ctx)
{
    (void)sim, (void)ctx;
    return false;
}

static void
runs_are_bounded_in_time_and_events(void **state)
{
    struct sim_cfg by_time = { .seed = 99, .max_time_us = 1000000 };
    struct sim_cfg by_events = { .seed = 99, .max_events = 100 };
    struct sim *sim;
    int ticks = 0;

    (void)state;
    assert_int_equal(sim_new(&by_time, NULL, &sim), 0);
    assert_int_equal(sim_at(sim, 0, tick_forever, &ticks), 0);
    assert_int_equal(sim_run(sim, NULL, NULL), SIM_ERR_TIME);
    assert_int_equal(ticks, 1001);  /* t = 0, 1 ms, ..., 1 s */
    assert_int_equal(sim_now(sim), 1000000);
    assert_non_null(strstr(sim_error(sim), "seed 99"));
    sim_free(sim);

    ticks = 0;
    assert_int_equal(sim_new(&by_events, NULL, &sim), 0);
    assert_int_equal(sim_at(sim, 0, tick_forever, &ticks), 0);
    assert_int_equal(sim_run(sim, never, NULL), SIM_ERR_EVENTS);
    assert_int_equal(sim_events(sim), 100);
    assert_int_equal(ticks, 100);
    sim_free(sim);

    /* Something due at the same instant for ever: a livelock, not a hang. */
    ticks = 0;
    assert_int_equal(sim_new(&by_time, NULL, &sim), 0);
    assert_int_equal(sim_at(sim, 7, tick_now_forever, &ticks), 0);
    assert_int_equal(sim_run(sim, NULL, NULL), SIM_ERR_EVENTS);
    assert_non_null(strstr(sim_error(sim), "livelock"));
    assert_int_equal(sim_now(sim), 7);
    sim_free(sim);

    /* Nothing to do and a goal never reached: idle, not a hang. */
    assert_int_equal(sim_new(&by_time, NULL, &sim), 0);
    assert_int_equal(sim_run(sim, never, NULL), SIM_ERR_IDLE);
    assert_non_null(strstr(sim_error(sim), "idle"));
    sim_free(sim);
}

static void
fail_in_timer(struct sim *sim, void *ctx)
{
    (void)ctx;
    sim_fail(sim, "application says %d", 17);
}

static void
a_failure_stops_the_run_with_its_reason(void **state)
{
    struct sim *sim = new_sim(3, 2);
    int ticks = 0;

    (void)state;
    assert_int_equal(sim_at(sim, 0, tick_forever, &ticks), 0);
    assert_int_equal(sim_at(sim, 5500, fail_in_timer, NULL), 0);
    assert_int_equal(sim_run(sim, NULL, NULL), SIM_ERR_FAILED);
    assert_int_equal(sim_now(sim), 5500);
    assert_non_null(strstr(sim_error(sim), "application says 17"));
    assert_non_null(strstr(sim_error(sim), "seed 3"));
    sim_free(sim);
}

static void
packets_to_unknown_addresses_are_counted(void **state)
{
    struct sim *sim = new_sim(4, 2);
    uint8_t buf[128];
    size_t len = make_echo(sim, 0, 1, 0, 64, buf);

    (void)state;
    tp_store_be32(buf + 16, 0x0a000009);   /* 10.0.0.9: no such node */
    assert_int_equal(sim_inject(sim, 0, buf, len), -EINVAL);
    assert_int_equal(sim_unroutable(sim), 1);
    assert_int_equal(sim_run(sim, NULL, NULL), 0);
    assert_int_equal(sim_link_stats(sim, 0, 1)->sent, 0);
    sim_free(sim);
}

static void
three_nodes_each_reach_the_others(void **state)
{
    struct sim *sim = new_sim(8, 3);
    struct sim_link_cfg lc = { .delay_us = 300 };
    uint8_t buf[128];

    (void)state;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            if (a != b)
                sim_set_link(sim, a, b, &lc);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            if (a != b)
                assert_int_equal(sim_inject(sim, a, buf,
                    make_echo(sim, a, b, (uint16_t)(a * 3 + b), 64, buf)), 0);
    assert_int_equal(sim_run(sim, NULL, NULL), 0);
    for (int a = 0; a < 3; a++) {
        assert_int_equal(stat(sim, a, "IcmpInEchos"), 2);
        assert_int_equal(stat(sim, a, "IcmpOutEchoReps"), 2);
        assert_int_equal(stat(sim, a, "TapirIcmpInOther"), 2);
        for (int b = 0; b < 3; b++)
            if (a != b)
                assert_int_equal(sim_link_stats(sim, a, b)->delivered, 2);
    }
    assert_int_equal(sim_now(sim), 600);
    sim_free(sim);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_crosses_a_clean_link_with_its_delay),
        cmocka_unit_test(impaired_link_counters_agree_with_the_stacks),
        cmocka_unit_test(corruption_flips_one_bit_and_the_stack_drops_it),
        cmocka_unit_test(reordering_holds_packets_back_and_loses_none),
        cmocka_unit_test(bottleneck_paces_and_tail_drops),
        cmocka_unit_test(loss_bursts_cluster_losses),
        cmocka_unit_test(a_filter_drops_exactly_the_packets_it_picks),
        cmocka_unit_test(the_same_seed_replays_the_same_run),
        cmocka_unit_test(runs_are_bounded_in_time_and_events),
        cmocka_unit_test(a_failure_stops_the_run_with_its_reason),
        cmocka_unit_test(packets_to_unknown_addresses_are_counted),
        cmocka_unit_test(three_nodes_each_reach_the_others),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
