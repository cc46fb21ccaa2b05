/*
 * src/linux/impair_test.c -- the faulty link in virtual time: spec parsing
 * and its error messages, loss rate against P over 100k packets, duplicate
 * copies, one flipped bit after the IP header, release at the due time,
 * overtaking under reorder, the queue cap, and reproducibility by seed.
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

#include "linux/impair.h"
#include "wire/bytes.h"

#define PKT_LEN 64
#define MTU     1500

static struct tapir_time
at_us(int64_t us)
{
    return (struct tapir_time){ us };
}

/* A spec from text; the test fails if it does not parse. */
static struct tp_impair_spec
spec_of(const char *s)
{
    struct tp_impair_spec spec;
    char err[160];

    if (tp_impair_parse(s, &spec, err, sizeof(err)) != 0)
        fail_msg("spec \"%s\" did not parse: %s", s, err);
    return spec;
}

static struct tp_impair *
link_of(const char *s)
{
    struct tp_impair_spec spec = spec_of(s);
    struct tp_impair *imp;

    assert_int_equal(tp_impair_new(&spec, MTU, &imp), 0);
    return imp;
}

/* An IPv4-looking packet (IHL 5) of PKT_LEN bytes whose payload starts with id. */
static void
make_pkt(uint8_t *p, uint32_t id)
{
    memset(p, 0, PKT_LEN);
    p[0] = 0x45;
    tp_store_be16(p + 2, PKT_LEN);
    tp_store_be32(p + 20, id);
    for (int i = 24; i < PKT_LEN; i++)
        p[i] = (uint8_t)(id * 7 + (uint32_t)i);
}

static int
push_id(struct tp_impair *imp, enum tp_impair_dir dir, uint32_t id, int64_t now_us)
{
    uint8_t p[PKT_LEN];

    make_pkt(p, id);
    return tp_impair_push(imp, dir, p, sizeof(p), at_us(now_us));
}

/* Pop one packet due at now_us; returns its id, or -1 if none is due. */
static int64_t
pop_id(struct tp_impair *imp, enum tp_impair_dir dir, int64_t now_us)
{
    uint8_t buf[MTU];
    int n = tp_impair_pop(imp, dir, at_us(now_us), buf, sizeof(buf));

    if (n == 0)
        return -1;
    assert_int_equal(n, PKT_LEN);
    return tp_load_be32(buf + 20);
}

/* ---- parsing ---------------------------------------------------------- */

static void
parse_reads_every_key_in_any_order(void **state)
{
    struct tp_impair_spec s = spec_of(
        "seed=42,loss=0.5,dup=1,reorder=25,delay=30,corrupt=100,limit=7");

    (void)state;
    assert_int_equal(s.loss_ppm, 5000);
    assert_int_equal(s.dup_ppm, 10000);
    assert_int_equal(s.reorder_ppm, 250000);
    assert_int_equal(s.corrupt_ppm, TP_IMPAIR_PPM);
    assert_int_equal(s.delay_ms, 30);
    assert_int_equal(s.limit, 7);
    assert_int_equal(s.seed, 42);
    assert_true(s.has_seed);

    s = spec_of("loss=12.3456,seed=18446744073709551615");
    assert_int_equal(s.loss_ppm, 123456);
    assert_int_equal(s.seed, UINT64_MAX);
    s = spec_of("loss=0.0001,dup=000100.0");
    assert_int_equal(s.loss_ppm, 1);
    assert_int_equal(s.dup_ppm, TP_IMPAIR_PPM);
}

static void
parse_leaves_missing_keys_at_defaults(void **state)
{
    struct tp_impair_spec s = spec_of("loss=1");

    (void)state;
    assert_int_equal(s.loss_ppm, 10000);
    assert_int_equal(s.dup_ppm, 0);
    assert_int_equal(s.reorder_ppm, 0);
    assert_int_equal(s.corrupt_ppm, 0);
    assert_int_equal(s.delay_ms, 0);
    assert_int_equal(s.limit, TP_IMPAIR_LIMIT_DEFAULT);
    assert_false(s.has_seed);
}

static void
parse_rejects_bad_specs_naming_the_field(void **state)
{
    static const struct {
        const char *in;
        const char *names;              /* must appear in the message */
    } bad[] = {
        { "", "empty spec" },
        { "loss=abc", "loss" },
        { "loss=101", "loss" },
        { "loss=100.0001", "loss" },
        { "loss=0.12345", "loss" },
        { "loss=-1", "loss" },
        { "loss=1.", "loss" },
        { "loss=.5", "loss" },
        { "loss= 1", "loss" },
        { "dup=1e3", "dup" },
        { "reorder=50%", "reorder" },
        { "corrupt=", "corrupt" },
        { "delay=1.5", "delay" },
        { "delay=60001", "delay" },
        { "seed=18446744073709551616", "seed" },
        { "seed=0x10", "seed" },
        { "limit=0", "limit" },
        { "limit=100001", "limit" },
        { "jitter=5", "\"jitter\"" },
        { "Loss=5", "\"Loss\"" },
        { "loss", "\"loss\" has no value" },
        { "loss=1,loss=2", "\"loss\" given twice" },
        { "loss=1,,dup=2", "empty field" },
        { "loss=1,", "empty field" },
        { "dup=1,delay=abc,loss=1", "delay" },
    };
    char err[160];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tp_impair_spec s;

        memset(&s, 0xa5, sizeof(s));
        assert_int_equal(tp_impair_parse(bad[i].in, &s, err, sizeof(err)), -EINVAL);
        if (strstr(err, bad[i].names) == NULL || strchr(err, '\n') != NULL)
            fail_msg("spec \"%s\": message \"%s\" does not name %s", bad[i].in, err,
                bad[i].names);
        assert_int_equal(s.loss_ppm, 0xa5a5a5a5u);          /* out untouched */
    }
    /* A short or absent message buffer is fine. */
    assert_int_equal(tp_impair_parse("loss=x", &(struct tp_impair_spec){ 0 }, err, 5),
        -EINVAL);
    assert_string_equal(err, "bad ");
    assert_int_equal(tp_impair_parse("loss=x", &(struct tp_impair_spec){ 0 }, NULL, 0),
        -EINVAL);
}

static void
format_writes_what_parse_reads(void **state)
{
    struct tp_impair_spec a = spec_of(
        "loss=0.5,dup=1,reorder=12.3456,delay=30,corrupt=100,seed=9,limit=77"), b;
    char buf[256];

    (void)state;
    assert_true(tp_impair_format(&a, buf, sizeof(buf)) < (int)sizeof(buf));
    assert_string_equal(buf,
        "loss=0.5,dup=1,reorder=12.3456,delay=30,corrupt=100,seed=9,limit=77");
    b = spec_of(buf);
    assert_memory_equal(&a, &b, sizeof(a));
}

static void
new_rejects_an_impossible_link(void **state)
{
    struct tp_impair_spec s;
    struct tp_impair *imp = (struct tp_impair *)&imp;

    (void)state;
    tp_impair_spec_default(&s);
    s.loss_ppm = TP_IMPAIR_PPM + 1;
    assert_int_equal(tp_impair_new(&s, MTU, &imp), -EINVAL);
    assert_null(imp);
    tp_impair_spec_default(&s);
    s.limit = 0;
    assert_int_equal(tp_impair_new(&s, MTU, &imp), -EINVAL);
    tp_impair_spec_default(&s);
    assert_int_equal(tp_impair_new(&s, 0, &imp), -EINVAL);
    assert_int_equal(tp_impair_new(&s, 65536, &imp), -EINVAL);
    tp_impair_free(NULL);
}

/* ---- behaviour ---------------------------------------------------------- */

static void
no_impairment_passes_every_packet_at_once_in_order(void **state)
{
    struct tp_impair *imp = link_of("seed=1");

    (void)state;
    assert_int_equal(tp_impair_next_deadline(imp).us, TAPIR_TIME_NEVER.us);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(push_id(imp, TP_IMPAIR_TX, i, 5), 0);
    assert_int_equal(tp_impair_next_deadline(imp).us, 5);
    for (int64_t i = 0; i < 100; i++)
        assert_int_equal(pop_id(imp, TP_IMPAIR_TX, 5), i);
    assert_int_equal(pop_id(imp, TP_IMPAIR_TX, 5), -1);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_TX)->n_out, 100);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_TX)->n_delayed, 0);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_RX)->n_seen, 0);
    tp_impair_free(imp);
}

/* Push n packets one by one, popping each at once; returns how many were lost. */
static uint64_t
run_loss(const char *spec, uint32_t n)
{
    struct tp_impair *imp = link_of(spec);
    const struct tp_impair_stats *st = tp_impair_stats(imp, TP_IMPAIR_RX);
    uint64_t out = 0, lost;

    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(push_id(imp, TP_IMPAIR_RX, i, i), 0);
        while (pop_id(imp, TP_IMPAIR_RX, i) >= 0)
            out++;
    }
    lost = st->n_lost;
    assert_int_equal(st->n_seen, n);
    assert_int_equal(out + lost, n);
    assert_int_equal(st->n_out, out);
    tp_impair_free(imp);
    return lost;
}

/* The square root of x > 0, by Newton's method: the tests do not link libm. */
static double
root(double x)
{
    double r = x + 1;

    for (int i = 0; i < 100; i++)
        r = (r + x / r) / 2;
    return r;
}

static void
loss_rate_over_100k_packets_is_within_5_sigma_of_p(void **state)
{
    static const struct {
        const char *spec;
        double p;
    } cases[] = {
        { "loss=0.5,seed=1", 0.005 },
        { "loss=1,seed=2", 0.01 },
        { "loss=5,seed=3", 0.05 },
        { "loss=50,seed=4", 0.5 },
    };
    const uint32_t n = 100000;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double mean = n * cases[i].p, sd = root(mean * (1 - cases[i].p));
        uint64_t lost = run_loss(cases[i].spec, n);

        if ((double)lost < mean - 5 * sd || (double)lost > mean + 5 * sd)
            fail_msg("%s: %llu of %u lost, want %.0f +- %.0f", cases[i].spec,
                (unsigned long long)lost, n, mean, 5 * sd);
    }
    assert_int_equal(run_loss("loss=0,seed=5", 1000), 0);
    assert_int_equal(run_loss("loss=100,seed=6", 1000), 1000);
}

static void
duplication_produces_two_identical_copies(void **state)
{
    struct tp_impair *imp = link_of("dup=100,seed=3");
    uint8_t in[PKT_LEN], a[MTU], b[MTU];

    (void)state;
    make_pkt(in, 77);
    assert_int_equal(tp_impair_push(imp, TP_IMPAIR_TX, in, sizeof(in), at_us(10)), 0);
    assert_int_equal(tp_impair_queued(imp, TP_IMPAIR_TX), 2);
    assert_int_equal(tp_impair_pop(imp, TP_IMPAIR_TX, at_us(10), a, sizeof(a)), PKT_LEN);
    assert_int_equal(tp_impair_pop(imp, TP_IMPAIR_TX, at_us(10), b, sizeof(b)), PKT_LEN);
    assert_int_equal(tp_impair_pop(imp, TP_IMPAIR_TX, at_us(10), b, sizeof(b)), 0);
    assert_memory_equal(a, in, PKT_LEN);
    assert_memory_equal(b, in, PKT_LEN);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_TX)->n_dup, 1);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_TX)->n_out, 2);
    tp_impair_free(imp);
}

static int
popcount8(uint8_t x)
{
    int n = 0;

    for (; x != 0; x &= (uint8_t)(x - 1))
        n++;
    return n;
}

/* Corrupt many copies of in; each differs in one bit at or after byte from. */
static void
check_one_bit_flips(struct tp_impair *imp, const uint8_t *in, size_t len, size_t from)
{
    bool hit[MTU * 8] = { false };
    int n_positions = 0;

    for (int k = 0; k < 2000; k++) {
        uint8_t out[MTU];
        int bits = 0;

        assert_int_equal(tp_impair_push(imp, TP_IMPAIR_RX, in, len, at_us(k)), 0);
        assert_int_equal(tp_impair_pop(imp, TP_IMPAIR_RX, at_us(k), out, sizeof(out)),
            (int)len);
        for (size_t i = 0; i < len; i++) {
            int d = popcount8(in[i] ^ out[i]);

            if (d != 0) {
                assert_true(i >= from);
                for (int b = 0; b < 8; b++) {
                    if (((in[i] ^ out[i]) >> b & 1) != 0 && !hit[i * 8 + (size_t)b]) {
                        hit[i * 8 + (size_t)b] = true;
                        n_positions++;
                    }
                }
            }
            bits += d;
        }
        assert_int_equal(bits, 1);
    }
    /* 2000 draws over (len - from) * 8 positions reach most of them. */
    assert_true(n_positions > (int)((len - from) * 8) / 2);
}

static void
corrupt_flips_exactly_one_bit_after_the_ip_header(void **state)
{
    struct tp_impair *imp = link_of("corrupt=100,seed=4");
    uint8_t p[PKT_LEN];

    (void)state;
    make_pkt(p, 5);
    check_one_bit_flips(imp, p, PKT_LEN, 20);
    p[0] = 0x47;                        /* 8 bytes of options: payload from 28 */
    check_one_bit_flips(imp, p, PKT_LEN, 28);
    p[0] = 0x45;
    check_one_bit_flips(imp, p, 20, 0); /* header only: anywhere */
    p[0] = 0x60;                        /* not IPv4: anywhere */
    check_one_bit_flips(imp, p, PKT_LEN, 0);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_RX)->n_corrupt, 8000);
    tp_impair_free(imp);
}

static void
delay_releases_each_packet_at_its_due_time(void **state)
{
    struct tp_impair *imp = link_of("delay=30,seed=5");

    (void)state;
    assert_int_equal(push_id(imp, TP_IMPAIR_TX, 1, 1000), 0);
    assert_int_equal(push_id(imp, TP_IMPAIR_TX, 2, 6000), 0);
    assert_int_equal(push_id(imp, TP_IMPAIR_RX, 3, 2000), 0);
    assert_int_equal(tp_impair_next_deadline(imp).us, 31000);
    assert_int_equal(pop_id(imp, TP_IMPAIR_TX, 30999), -1);
    assert_int_equal(pop_id(imp, TP_IMPAIR_TX, 31000), 1);
    assert_int_equal(pop_id(imp, TP_IMPAIR_TX, 31000), -1);
    assert_int_equal(tp_impair_next_deadline(imp).us, 32000);   /* the RX one */
    assert_int_equal(pop_id(imp, TP_IMPAIR_RX, 31999), -1);
    assert_int_equal(pop_id(imp, TP_IMPAIR_RX, 40000), 3);     /* late is fine */
    assert_int_equal(tp_impair_next_deadline(imp).us, 36000);
    assert_int_equal(pop_id(imp, TP_IMPAIR_TX, 36000), 2);
    assert_int_equal(tp_impair_next_deadline(imp).us, TAPIR_TIME_NEVER.us);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_TX)->n_delayed, 2);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_RX)->n_delayed, 1);
    tp_impair_free(imp);
}

/*
 * Send n packets 1 ms apart and collect them as the clock moves in 100 us
 * steps.  Returns how many came out behind a higher id; each id must come
 * out exactly once, no earlier than delay_us after it went in and no later
 * than max_extra_us after that.
 */
static int
run_reorder(const char *spec, uint32_t n, int64_t delay_us, int64_t max_extra_us)
{
    struct tp_impair *imp = link_of(spec);
    int64_t *sent = calloc(n, sizeof(*sent)), highest = -1;
    uint32_t got = 0;
    int overtaken = 0;

    assert_non_null(sent);
    for (int64_t t = 0; got < n; t += 100) {
        int64_t id;

        assert_true(t < (int64_t)n * 1000 + delay_us + max_extra_us + 1000);
        if (t % 1000 == 0 && t / 1000 < n) {
            sent[t / 1000] = t;
            assert_int_equal(push_id(imp, TP_IMPAIR_TX, (uint32_t)(t / 1000), t), 0);
        }
        while ((id = pop_id(imp, TP_IMPAIR_TX, t)) >= 0) {
            assert_true(id < n && sent[id] >= 0);
            assert_true(t - sent[id] >= delay_us && t - sent[id] <= delay_us + max_extra_us);
            sent[id] = -1;
            got++;
            if (id < highest)
                overtaken++;
            highest = id > highest ? id : highest;
        }
    }
    free(sent);
    tp_impair_free(imp);
    return overtaken;
}

static void
reorder_makes_later_packets_overtake(void **state)
{
    (void)state;
    /* Held 1..10 ms extra, a packet is overtaken by up to 10 sent after it. */
    assert_true(run_reorder("reorder=10,seed=6", 2000, 0, TP_IMPAIR_REORDER_MAX_US) > 100);
    assert_true(run_reorder("reorder=10,delay=5,seed=6", 2000, 5000,
        TP_IMPAIR_REORDER_MAX_US) > 100);
    assert_int_equal(run_reorder("delay=5,seed=6", 2000, 5000, 0), 0);
}

static void
queue_cap_bounds_memory_and_counts_overflow(void **state)
{
    struct tp_impair *imp = link_of("delay=100,limit=10,seed=7");
    const struct tp_impair_stats *st = tp_impair_stats(imp, TP_IMPAIR_TX);

    (void)state;
    for (uint32_t i = 0; i < 25; i++)
        assert_int_equal(push_id(imp, TP_IMPAIR_TX, i, 0), i < 10 ? 0 : -ENOBUFS);
    assert_int_equal(tp_impair_queued(imp, TP_IMPAIR_TX), 10);
    assert_int_equal(st->n_overflow, 15);
    assert_int_equal(push_id(imp, TP_IMPAIR_RX, 99, 0), 0);     /* its own queue */
    for (int64_t i = 0; i < 10; i++)
        assert_int_equal(pop_id(imp, TP_IMPAIR_TX, 100000), i);
    assert_int_equal(push_id(imp, TP_IMPAIR_TX, 50, 100000), 0);
    tp_impair_free(imp);

    /* A duplicate that finds no slot is counted; the original still goes. */
    imp = link_of("dup=100,limit=1,seed=7");
    assert_int_equal(push_id(imp, TP_IMPAIR_TX, 1, 0), 0);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_TX)->n_overflow, 1);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_TX)->n_dup, 0);
    assert_int_equal(pop_id(imp, TP_IMPAIR_TX, 0), 1);
    assert_int_equal(pop_id(imp, TP_IMPAIR_TX, 0), -1);
    tp_impair_free(imp);
}

static void
oversized_packets_and_small_buffers_are_refused(void **state)
{
    struct tp_impair *imp = link_of("seed=8");
    uint8_t big[MTU + 1] = { 0x45 }, small[10];
    struct tapir_iov iov[2] = { { big, 1000 }, { big + 1000, 501 } };

    (void)state;
    assert_int_equal(tp_impair_push(imp, TP_IMPAIR_TX, big, sizeof(big), at_us(0)), -EMSGSIZE);
    assert_int_equal(tp_impair_pushv(imp, TP_IMPAIR_TX, iov, 2, at_us(0)), -EMSGSIZE);
    assert_int_equal(tp_impair_push(imp, TP_IMPAIR_TX, big, 0, at_us(0)), -EMSGSIZE);
    assert_int_equal(tp_impair_stats(imp, TP_IMPAIR_TX)->n_too_big, 3);
    assert_int_equal(tp_impair_push(imp, TP_IMPAIR_TX, big, MTU, at_us(0)), 0);
    assert_int_equal(tp_impair_pop(imp, TP_IMPAIR_TX, at_us(0), small, sizeof(small)),
        -EMSGSIZE);
    assert_int_equal(tp_impair_queued(imp, TP_IMPAIR_TX), 1);  /* still there */
    tp_impair_free(imp);
}

static void
pushv_gathers_the_pieces(void **state)
{
    struct tp_impair *imp = link_of("seed=9");
    uint8_t p[PKT_LEN], out[MTU];
    struct tapir_iov iov[3];

    (void)state;
    make_pkt(p, 1234);
    iov[0] = (struct tapir_iov){ p, 20 };
    iov[1] = (struct tapir_iov){ NULL, 0 };
    iov[2] = (struct tapir_iov){ p + 20, PKT_LEN - 20 };
    assert_int_equal(tp_impair_pushv(imp, TP_IMPAIR_TX, iov, 3, at_us(0)), 0);
    assert_int_equal(tp_impair_pop(imp, TP_IMPAIR_TX, at_us(0), out, sizeof(out)), PKT_LEN);
    assert_memory_equal(out, p, PKT_LEN);
    tp_impair_free(imp);
}

/*
 * A trace of one run: every packet out of TX with its time and a hash of
 * its bytes.  With rx_noise, RX traffic is interleaved as well.
 */
static uint64_t
trace(const char *spec, bool rx_noise, uint64_t *n_out)
{
    struct tp_impair *imp = link_of(spec);
    uint64_t h = 1469598103934665603u;
    uint8_t buf[MTU];

    *n_out = 0;
    for (int64_t t = 0; t < 3000000; t += 100) {
        int n;

        if (t % 300 == 0)
            push_id(imp, TP_IMPAIR_TX, (uint32_t)t, t);
        if (rx_noise && t % 700 == 0)
            push_id(imp, TP_IMPAIR_RX, (uint32_t)t, t);
        while ((n = tp_impair_pop(imp, TP_IMPAIR_TX, at_us(t), buf, sizeof(buf))) > 0) {
            for (int i = 0; i < n; i++)
                h = (h ^ buf[i]) * 1099511628211u;
            h = (h ^ (uint64_t)t) * 1099511628211u;
            (*n_out)++;
        }
        while (tp_impair_pop(imp, TP_IMPAIR_RX, at_us(t), buf, sizeof(buf)) > 0)
            ;
    }
    tp_impair_free(imp);
    return h;
}

static void
same_seed_gives_same_decisions(void **state)
{
    const char *spec = "loss=3,dup=3,reorder=5,delay=2,corrupt=3,seed=12345";
    uint64_t n1, n2, n3, n4;
    uint64_t h1 = trace(spec, false, &n1), h2 = trace(spec, false, &n2);
    uint64_t h3 = trace("loss=3,dup=3,reorder=5,delay=2,corrupt=3,seed=12346", false, &n3);
    uint64_t h4 = trace(spec, true, &n4);

    (void)state;
    assert_true(n1 > 9000);
    assert_int_equal(h1, h2);
    assert_int_equal(n1, n2);
    assert_true(h1 != h3);              /* another seed, other decisions */
    /* One direction's decisions do not depend on the other's traffic. */
    assert_int_equal(h1, h4);
    assert_int_equal(n1, n4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_reads_every_key_in_any_order),
        cmocka_unit_test(parse_leaves_missing_keys_at_defaults),
        cmocka_unit_test(parse_rejects_bad_specs_naming_the_field),
        cmocka_unit_test(format_writes_what_parse_reads),
        cmocka_unit_test(new_rejects_an_impossible_link),
        cmocka_unit_test(no_impairment_passes_every_packet_at_once_in_order),
        cmocka_unit_test(loss_rate_over_100k_packets_is_within_5_sigma_of_p),
        cmocka_unit_test(duplication_produces_two_identical_copies),
        cmocka_unit_test(corrupt_flips_exactly_one_bit_after_the_ip_header),
        cmocka_unit_test(delay_releases_each_packet_at_its_due_time),
        cmocka_unit_test(reorder_makes_later_packets_overtake),
        cmocka_unit_test(queue_cap_bounds_memory_and_counts_overflow),
        cmocka_unit_test(oversized_packets_and_small_buffers_are_refused),
        cmocka_unit_test(pushv_gathers_the_pieces),
        cmocka_unit_test(same_seed_gives_same_decisions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
