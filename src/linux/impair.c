/*
 * src/linux/impair.c -- the faulty link: loss, duplication, corruption,
 * delay and reordering, driven by a seeded generator.
 *
 * Called by the runtime on both paths between the stack and the TUN
 * device.  Calls nothing but memory functions.  Each direction has a fixed
 * pool of packet slots and a binary min-heap of the queued ones keyed by
 * (due time, push sequence), so release order is due order and FIFO among
 * equals.  The generator is xoshiro256** seeded through splitmix64, one per
 * direction so that the interleaving of the two directions does not change
 * either one's decisions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "linux/impair.h"

#define NO_SLOT UINT32_MAX

struct slot {
    struct tapir_time due;
    uint64_t seq;                       /* push order, breaks ties in due */
    uint32_t len;
};

struct queue {
    struct slot *slots;                 /* limit of them */
    uint8_t *data;                      /* limit * max_pkt_len bytes: slot i's packet at i */
    uint32_t *heap;                     /* queued slot indices, earliest first */
    uint32_t *free;                     /* a stack of unused slot indices */
    uint32_t n_heap;
    uint32_t n_free;
    uint64_t next_seq;
    uint64_t rng[4];                    /* xoshiro256** state */
    struct tp_impair_stats stats;
};

struct tp_impair {
    struct tp_impair_spec spec;
    size_t max_pkt_len;
    struct queue q[TP_IMPAIR_NDIRS];
};

/* ---- the generator ---------------------------------------------------- */

/* Uniform in [0, n), n <= 2^32, by multiply-shift: no modulo bias to speak of. */
static uint32_t
uniform(struct queue *q, uint32_t n)
{
    return (uint32_t)(((tp_rng_next(q->rng) >> 32) * n) >> 32);
}

/* True with chance ppm millionths; draws nothing for 0 or certainty. */
static bool
chance(struct queue *q, uint32_t ppm)
{
    if (ppm == 0)
        return false;
    if (ppm >= TP_IMPAIR_PPM)
        return true;
    return uniform(q, TP_IMPAIR_PPM) < ppm;
}

/* ---- the heap of queued slots ----------------------------------------- */

static bool
earlier(const struct queue *q, uint32_t a, uint32_t b)
{
    const struct slot *x = &q->slots[a], *y = &q->slots[b];

    return x->due.us < y->due.us || (x->due.us == y->due.us && x->seq < y->seq);
}

static void
heap_swap(struct queue *q, uint32_t i, uint32_t j)
{
    uint32_t t = q->heap[i];

    q->heap[i] = q->heap[j];
    q->heap[j] = t;
}

static void
heap_push(struct queue *q, uint32_t idx)
{
    uint32_t i = q->n_heap++;

    q->heap[i] = idx;
    while (i > 0 && earlier(q, q->heap[i], q->heap[(i - 1) / 2])) {
        heap_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void
heap_pop(struct queue *q)
{
    uint32_t i = 0;

    q->heap[0] = q->heap[--q->n_heap];
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < q->n_heap && earlier(q, q->heap[l], q->heap[m]))
            m = l;
        if (r < q->n_heap && earlier(q, q->heap[r], q->heap[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(q, i, m);
        i = m;
    }
}

/* ---- the link --------------------------------------------------------- */

static uint8_t *
slot_data(const struct tp_impair *imp, const struct queue *q, uint32_t idx)
{
    return q->data + (size_t)idx * imp->max_pkt_len;
}

static uint32_t
slot_get(struct queue *q)
{
    return q->n_free == 0 ? NO_SLOT : q->free[--q->n_free];
}

static void
slot_put(struct queue *q, uint32_t idx)
{
    q->free[q->n_free++] = idx;
}

/*
 * Where a flipped bit is caught by a transport checksum rather than the IP
 * header checksum: after the IPv4 header when there is anything after it,
 * anywhere otherwise (the header checksum then catches it; RFC 791 3.1).
 */
static size_t
corrupt_from(const uint8_t *p, size_t len)
{
    size_t ihl;

    if (len < 20 || p[0] >> 4 != 4)
        return 0;
    ihl = (size_t)(p[0] & 0x0f) * 4;
    return ihl >= 20 && ihl < len ? ihl : 0;
}

static void
flip_one_bit(struct queue *q, uint8_t *p, size_t len)
{
    size_t from = corrupt_from(p, len);
    size_t bit = from * 8 + uniform(q, (uint32_t)((len - from) * 8));

    p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

/* Queue slot idx, due after the delay and perhaps a reordering hold. */
static void
enqueue(struct tp_impair *imp, struct queue *q, uint32_t idx, struct tapir_time now)
{
    struct tapir_time due = tapir_time_add(now, TAPIR_MS(imp->spec.delay_ms));

    if (chance(q, imp->spec.reorder_ppm)) {
        uint32_t span = TP_IMPAIR_REORDER_MAX_US - TP_IMPAIR_REORDER_MIN_US + 1;

        due = tapir_time_add(due, TAPIR_US(TP_IMPAIR_REORDER_MIN_US + uniform(q, span)));
        q->stats.n_reordered++;
    }
    if (tapir_time_before(now, due))
        q->stats.n_delayed++;
    q->slots[idx].due = due;
    q->slots[idx].seq = q->next_seq++;
    heap_push(q, idx);
}

/* The packet is in slot idx: corrupt it, copy it, queue it (and the copy). */
static void
impair_slot(struct tp_impair *imp, struct queue *q, uint32_t idx, struct tapir_time now)
{
    uint8_t *p = slot_data(imp, q, idx);
    uint32_t len = q->slots[idx].len;

    if (chance(q, imp->spec.corrupt_ppm)) {
        flip_one_bit(q, p, len);
        q->stats.n_corrupt++;
    }
    if (chance(q, imp->spec.dup_ppm)) {
        uint32_t dup = slot_get(q);

        if (dup == NO_SLOT) {
            q->stats.n_overflow++;
        } else {
            memcpy(slot_data(imp, q, dup), p, len);
            q->slots[dup].len = len;
            q->stats.n_dup++;
            enqueue(imp, q, idx, now);  /* the original first: it wins a tie */
            enqueue(imp, q, dup, now);
            return;
        }
    }
    enqueue(imp, q, idx, now);
}

int
tp_impair_pushv(struct tp_impair *imp, enum tp_impair_dir dir,
    const struct tapir_iov *iov, int iovcnt, struct tapir_time now)
{
    struct queue *q = &imp->q[dir];
    size_t len = 0, off = 0;
    uint32_t idx;

    q->stats.n_seen++;
    for (int i = 0; i < iovcnt; i++)
        len += iov[i].len;
    if (len == 0 || len > imp->max_pkt_len) {
        q->stats.n_too_big++;
        return -EMSGSIZE;
    }
    if (chance(q, imp->spec.loss_ppm)) {
        q->stats.n_lost++;
        return 0;
    }
    if ((idx = slot_get(q)) == NO_SLOT) {
        q->stats.n_overflow++;
        return -ENOBUFS;
    }
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].len != 0)
            memcpy(slot_data(imp, q, idx) + off, iov[i].base, iov[i].len);
        off += iov[i].len;
    }
    q->slots[idx].len = (uint32_t)len;
    impair_slot(imp, q, idx, now);
    return 0;
}

int
tp_impair_push(struct tp_impair *imp, enum tp_impair_dir dir, const void *pkt, size_t len,
    struct tapir_time now)
{
    struct tapir_iov iov = { pkt, len };

    return tp_impair_pushv(imp, dir, &iov, 1, now);
}

int
tp_impair_pop(struct tp_impair *imp, enum tp_impair_dir dir, struct tapir_time now,
    void *buf, size_t cap)
{
    struct queue *q = &imp->q[dir];
    uint32_t idx;
    uint32_t len;

    if (q->n_heap == 0)
        return 0;
    idx = q->heap[0];
    if (tapir_time_before(now, q->slots[idx].due))
        return 0;
    len = q->slots[idx].len;
    if (len > cap)
        return -EMSGSIZE;
    memcpy(buf, slot_data(imp, q, idx), len);
    heap_pop(q);
    slot_put(q, idx);
    q->stats.n_out++;
    return (int)len;
}

struct tapir_time
tp_impair_next_deadline(const struct tp_impair *imp)
{
    struct tapir_time t = TAPIR_TIME_NEVER;

    for (int d = 0; d < TP_IMPAIR_NDIRS; d++) {
        const struct queue *q = &imp->q[d];

        if (q->n_heap != 0)
            t = tapir_time_min(t, q->slots[q->heap[0]].due);
    }
    return t;
}

size_t
tp_impair_queued(const struct tp_impair *imp, enum tp_impair_dir dir)
{
    return imp->q[dir].n_heap;
}

const struct tp_impair_stats *
tp_impair_stats(const struct tp_impair *imp, enum tp_impair_dir dir)
{
    return &imp->q[dir].stats;
}

/* ---- creation ----------------------------------------------------------- */

static int
queue_init(struct queue *q, uint32_t limit, size_t max_pkt_len, uint64_t seed)
{
    q->slots = calloc(limit, sizeof(*q->slots));
    q->data = malloc((size_t)limit * max_pkt_len);
    q->heap = calloc(limit, sizeof(*q->heap));
    q->free = calloc(limit, sizeof(*q->free));
    if (q->slots == NULL || q->data == NULL || q->heap == NULL || q->free == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < limit; i++)
        q->free[i] = limit - 1 - i;     /* slot 0 is taken first */
    q->n_free = limit;
    tp_rng_seed(q->rng, seed);
    return 0;
}

static void
queue_fini(struct queue *q)
{
    free(q->slots);
    free(q->data);
    free(q->heap);
    free(q->free);
}

static bool
spec_is_valid(const struct tp_impair_spec *s)
{
    return s->loss_ppm <= TP_IMPAIR_PPM && s->dup_ppm <= TP_IMPAIR_PPM &&
        s->reorder_ppm <= TP_IMPAIR_PPM && s->corrupt_ppm <= TP_IMPAIR_PPM &&
        s->delay_ms <= TP_IMPAIR_DELAY_MS_MAX && s->limit >= 1 &&
        s->limit <= TP_IMPAIR_LIMIT_MAX;
}

int
tp_impair_new(const struct tp_impair_spec *spec, size_t max_pkt_len, struct tp_impair **out)
{
    struct tp_impair *imp;
    int err = 0;

    *out = NULL;
    if (!spec_is_valid(spec) || max_pkt_len == 0 || max_pkt_len > 65535)
        return -EINVAL;
    if ((imp = calloc(1, sizeof(*imp))) == NULL)
        return -ENOMEM;
    imp->spec = *spec;
    imp->max_pkt_len = max_pkt_len;
    for (int d = 0; d < TP_IMPAIR_NDIRS && err == 0; d++) {
        /* A different stream per direction from one seed. */
        err = queue_init(&imp->q[d], spec->limit, max_pkt_len,
            spec->seed ^ (0x5851f42d4c957f2du * (uint64_t)(d + 1)));
    }
    if (err != 0) {
        tp_impair_free(imp);
        return err;
    }
    *out = imp;
    return 0;
}

void
tp_impair_free(struct tp_impair *imp)
{
    if (imp == NULL)
        return;
    for (int d = 0; d < TP_IMPAIR_NDIRS; d++)
        queue_fini(&imp->q[d]);
    free(imp);
}

/* ---- the text form ------------------------------------------------------- */

enum spec_key { K_LOSS, K_DUP, K_REORDER, K_CORRUPT, K_DELAY, K_SEED, K_LIMIT, K_N };

static const char *const key_names[K_N] = {
    [K_LOSS] = "loss",
    [K_DUP] = "dup",
    [K_REORDER] = "reorder",
    [K_CORRUPT] = "corrupt",
    [K_DELAY] = "delay",
    [K_SEED] = "seed",
    [K_LIMIT] = "limit",
};

void
tp_impair_spec_default(struct tp_impair_spec *spec)
{
    memset(spec, 0, sizeof(*spec));
    spec->limit = TP_IMPAIR_LIMIT_DEFAULT;
}

__attribute__((format(printf, 3, 4))) static int
parse_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen != 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Percent "D[.DDDD]", 0..100, into millionths. */
static bool
parse_percent(const char *v, size_t len, uint32_t *ppm)
{
    uint32_t whole = 0, frac = 0, n_frac = 0;
    size_t i = 0;

    for (; i < len && is_digit(v[i]); i++) {
        whole = whole * 10 + (uint32_t)(v[i] - '0');
        if (whole > 100)
            return false;
    }
    if (i == 0)
        return false;
    if (i < len && v[i] == '.') {
        for (i++; i < len && is_digit(v[i]) && n_frac < 4; i++, n_frac++)
            frac = frac * 10 + (uint32_t)(v[i] - '0');
        if (n_frac == 0)
            return false;
    }
    if (i != len)
        return false;
    for (; n_frac < 4; n_frac++)
        frac *= 10;
    *ppm = whole * 10000 + frac;
    return *ppm <= TP_IMPAIR_PPM;
}

/* Decimal digits only, no sign or space, at most max. */
static bool
parse_uint(const char *v, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t x = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(v[i]))
            return false;
        if (x > (max - (uint64_t)(v[i] - '0')) / 10)
            return false;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return true;
}

static bool
set_field(struct tp_impair_spec *s, enum spec_key k, const char *v, size_t len)
{
    uint64_t x;

    switch (k) {
    case K_LOSS:
        return parse_percent(v, len, &s->loss_ppm);
    case K_DUP:
        return parse_percent(v, len, &s->dup_ppm);
    case K_REORDER:
        return parse_percent(v, len, &s->reorder_ppm);
    case K_CORRUPT:
        return parse_percent(v, len, &s->corrupt_ppm);
    case K_DELAY:
        if (!parse_uint(v, len, TP_IMPAIR_DELAY_MS_MAX, &x))
            return false;
        s->delay_ms = (uint32_t)x;
        return true;
    case K_SEED:
        s->has_seed = true;
        return parse_uint(v, len, UINT64_MAX, &s->seed);
    case K_LIMIT:
        if (!parse_uint(v, len, TP_IMPAIR_LIMIT_MAX, &x) || x == 0)
            return false;
        s->limit = (uint32_t)x;
        return true;
    case K_N:
        break;
    }
    return false;
}

static const char *const key_wants[K_N] = {
    [K_LOSS] = "a percentage 0..100 with at most 4 decimals",
    [K_DUP] = "a percentage 0..100 with at most 4 decimals",
    [K_REORDER] = "a percentage 0..100 with at most 4 decimals",
    [K_CORRUPT] = "a percentage 0..100 with at most 4 decimals",
    [K_DELAY] = "whole milliseconds 0..60000",
    [K_SEED] = "an integer 0..18446744073709551615",
    [K_LIMIT] = "a packet count 1..100000",
};

static enum spec_key
find_key(const char *k, size_t len)
{
    for (int i = 0; i < K_N; i++) {
        if (strlen(key_names[i]) == len && memcmp(key_names[i], k, len) == 0)
            return (enum spec_key)i;
    }
    return K_N;
}

/* One "key=value" field of len bytes at f; seen marks keys already given. */
static int
parse_field(const char *f, size_t len, struct tp_impair_spec *s, bool seen[K_N], char *err,
    size_t errlen)
{
    const char *eq = memchr(f, '=', len);
    size_t klen = eq != NULL ? (size_t)(eq - f) : len;
    enum spec_key k = find_key(f, klen);
    int n = len > 64 ? 64 : (int)len;   /* quote at most this much of a field */

    if (len == 0)
        return parse_error(err, errlen, "empty field (want key=value,...)");
    if (k == K_N)
        return parse_error(err, errlen, "unknown field \"%.*s\" (want loss, dup, "
            "reorder, delay, corrupt, seed or limit)", klen > 64 ? 64 : (int)klen, f);
    if (eq == NULL)
        return parse_error(err, errlen, "field \"%s\" has no value (want %s=...)",
            key_names[k], key_names[k]);
    if (seen[k])
        return parse_error(err, errlen, "field \"%s\" given twice", key_names[k]);
    seen[k] = true;
    if (!set_field(s, k, eq + 1, len - klen - 1))
        return parse_error(err, errlen, "bad value in \"%.*s\": %s wants %s", n, f,
            key_names[k], key_wants[k]);
    return 0;
}

int
tp_impair_parse(const char *s, struct tp_impair_spec *out, char *err, size_t errlen)
{
    struct tp_impair_spec spec;
    bool seen[K_N] = { false };

    if (err != NULL && errlen != 0)
        err[0] = '\0';
    if (s == NULL || *s == '\0')
        return parse_error(err, errlen, "empty spec (want key=value,...)");
    tp_impair_spec_default(&spec);
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
        int rc = parse_field(s, len, &spec, seen, err, errlen);

        if (rc != 0)
            return rc;
        if (comma == NULL)
            break;
        s = comma + 1;
    }
    *out = spec;
    return 0;
}

/* A chance in millionths as percent, without trailing zeros: "0.5", "1", "12.3456". */
static void
format_percent(uint32_t ppm, char buf[16])
{
    size_t n;

    snprintf(buf, 16, "%u.%04u", ppm / 10000, ppm % 10000);
    n = strlen(buf);
    while (buf[n - 1] == '0')
        buf[--n] = '\0';
    if (buf[n - 1] == '.')
        buf[n - 1] = '\0';
}

int
tp_impair_format(const struct tp_impair_spec *spec, char *buf, size_t len)
{
    char loss[16], dup[16], reorder[16], corrupt[16];

    format_percent(spec->loss_ppm, loss);
    format_percent(spec->dup_ppm, dup);
    format_percent(spec->reorder_ppm, reorder);
    format_percent(spec->corrupt_ppm, corrupt);
    return snprintf(buf, len, "loss=%s,dup=%s,reorder=%s,delay=%u,corrupt=%s,seed=%llu,"
        "limit=%u", loss, dup, reorder, spec->delay_ms, corrupt,
        (unsigned long long)spec->seed, spec->limit);
}
