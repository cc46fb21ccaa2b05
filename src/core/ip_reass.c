/*
 * src/core/ip_reass.c -- IPv4 fragment reassembly (RFC 791 3.2, RFC 815,
 * RFC 1122 3.3.2).
 *
 * cfg.reass_max slots, each with room for the largest datagram (a 60-byte
 * header and 65515 bytes of data) and a bitmap of the 8-byte blocks
 * received, are allocated when the stack is created; nothing grows later.
 * A datagram is keyed by (source, destination, protocol, identification).
 * When every slot is busy, the oldest datagram is given up for the new
 * one, so a flood of first fragments costs a bounded amount of memory and
 * never blocks delivery for long.
 *
 * Choices where the RFCs leave room:
 *   - Overlaps.  RFC 791 lets later data overwrite earlier; fragments that
 *     overlap are also a known way to slip data past filters (RFC 1858,
 *     and RFC 5722 forbids them for IPv6).  tapir ignores a fragment whose
 *     bytes repeat exactly what it holds (a duplicate) and gives up the
 *     whole datagram on any other overlap.
 *   - Bad fragments are dropped on their own: empty ones, ones with more
 *     to follow whose length is not a multiple of 8, and ones reaching past
 *     the 65535-byte limit of a datagram (the "ping of death").
 *   - The timeout is cfg.reass_timeout_ms (RFC 1122 3.3.2: 60 to 120 s).
 *     When it runs out and the first fragment had come, an ICMP time
 *     exceeded, code 1, quotes it (RFC 792).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_int.h"
#include "wire/bytes.h"
#include "wire/csum.h"

#define REASS_DATA_MAX (65535 - TP_IPV4_HDR_MIN)        /* 65515 */
#define REASS_BLOCKS ((REASS_DATA_MAX + 7) / 8)          /* 8190 */

struct tp_reass_dgram {
    bool used;
    uint32_t src, dst;
    uint16_t id;
    uint8_t proto;
    struct tapir_time expires;
    uint32_t have;                  /* data bytes held */
    uint32_t total;                 /* data length once the last fragment came; 0: unknown */
    uint32_t high;                  /* end of the data held so far */
    bool have_first;
    struct tp_ipv4 first;           /* the first fragment's header fields */
    /* The first fragment's header sits right before the data, so the
     * delivered datagram is contiguous as a received packet is (ICMP
     * errors quote header and data from one place). */
    uint8_t *buf;                   /* TP_IPV4_HDR_MAX + REASS_DATA_MAX */
    uint8_t map[(REASS_BLOCKS + 7) / 8];
};

struct tp_ip_reass {
    uint32_t n;
    struct tapir_time next;         /* earliest expiry of a used slot */
    struct tp_reass_dgram d[];
};

int
tp_ip_reass_init(struct tapir_stack *st)
{
    uint32_t n = st->cfg.reass_max;
    struct tp_ip_reass *r;

    if (n == 0)
        return 0;
    if ((r = calloc(1, sizeof(*r) + n * sizeof(r->d[0]))) == NULL)
        return -ENOMEM;
    r->n = n;
    r->next = TAPIR_TIME_NEVER;
    st->reass = r;
    for (uint32_t i = 0; i < n; i++)
        if ((r->d[i].buf = malloc(TP_IPV4_HDR_MAX + REASS_DATA_MAX)) == NULL)
            return -ENOMEM;         /* tapir_stack_free() frees what was made */
    return 0;
}

void
tp_ip_reass_fini(struct tapir_stack *st)
{
    struct tp_ip_reass *r = st->reass;

    if (r == NULL)
        return;
    for (uint32_t i = 0; i < r->n; i++)
        free(r->d[i].buf);
    free(r);
    st->reass = NULL;
}

static void
update_next(struct tp_ip_reass *r)
{
    r->next = TAPIR_TIME_NEVER;
    for (uint32_t i = 0; i < r->n; i++)
        if (r->d[i].used)
            r->next = tapir_time_min(r->next, r->d[i].expires);
}

/* The datagram is given up, counted under why (the caller recomputes
 * the next expiry). */
static void
drop(struct tapir_stack *st, struct tp_reass_dgram *d, enum tp_stat why)
{
    d->used = false;
    tp_stat_inc(st, TP_STAT_IP_REASM_FAILS);
    tp_stat_inc(st, why);
}

static void
give_up(struct tapir_stack *st, struct tp_reass_dgram *d, enum tp_stat why)
{
    drop(st, d, why);
    update_next(st->reass);
}

static struct tp_reass_dgram *
find_or_make(struct tapir_stack *st, const struct tp_ipv4 *ip, struct tapir_time now)
{
    struct tp_ip_reass *r = st->reass;
    struct tp_reass_dgram *free_slot = NULL, *oldest = NULL, *d;

    for (uint32_t i = 0; i < r->n; i++) {
        d = &r->d[i];
        if (!d->used) {
            if (free_slot == NULL)
                free_slot = d;
            continue;
        }
        if (d->src == ip->src && d->dst == ip->dst && d->id == ip->id && d->proto == ip->proto)
            return d;
        /* One timeout for all: the earliest to expire is the oldest. */
        if (oldest == NULL || tapir_time_before(d->expires, oldest->expires))
            oldest = d;
    }
    if ((d = free_slot) == NULL) {
        d = oldest;
        give_up(st, d, TP_STAT_IP_REASM_EVICTED);
    }
    d->used = true;
    d->src = ip->src;
    d->dst = ip->dst;
    d->id = ip->id;
    d->proto = ip->proto;
    d->expires = tapir_time_add(now, TAPIR_MS(st->cfg.reass_timeout_ms
        ? st->cfg.reass_timeout_ms : 60 * 1000));
    d->have = d->total = d->high = 0;
    d->have_first = false;
    memset(d->map, 0, sizeof(d->map));
    r->next = tapir_time_min(r->next, d->expires);
    return d;
}

static bool
block_has(const struct tp_reass_dgram *d, uint32_t b)
{
    return (d->map[b / 8] >> (b % 8)) & 1u;
}

/* How many of the blocks [lo, hi) are already held. */
static uint32_t
blocks_held(const struct tp_reass_dgram *d, uint32_t lo, uint32_t hi)
{
    uint32_t n = 0;

    for (uint32_t b = lo; b < hi; b++)
        n += block_has(d, b);
    return n;
}

/* RFC 791 3.2: the fragment's bytes go to their place; with the first
 * fragment comes the datagram's header. */
static void
place(struct tp_reass_dgram *d, const struct tp_ipv4 *ip, uint32_t lo, uint32_t hi)
{
    uint32_t off = ip->frag_off, len = (uint32_t)ip->payload_len;

    memcpy(d->buf + TP_IPV4_HDR_MAX + off, ip->payload, len);
    for (uint32_t b = lo; b < hi; b++)
        d->map[b / 8] = (uint8_t)(d->map[b / 8] | (1u << (b % 8)));
    d->have += len;
    if (off + len > d->high)
        d->high = off + len;
    if (off == 0) {
        d->have_first = true;
        d->first = *ip;
        memcpy(d->buf + TP_IPV4_HDR_MAX - ip->hdr_len, ip->payload - ip->hdr_len, ip->hdr_len);
    }
}

/* The first fragment's header, kept before the data, made the whole
 * datagram's (total length, MF and offset cleared, checksum), since ICMP
 * errors about the datagram quote it (RFC 792: "the internet header"). */
static void
fix_header(uint8_t *h, size_t hdr_len, uint16_t total_len)
{
    tp_store_be16(h + 2, total_len);
    tp_store_be16(h + 6, (uint16_t)(tp_load_be16(h + 6) & 0x4000));    /* DF alone */
    tp_store_be16(h + 10, 0);
    tp_store_be16(h + 10, tp_csum(h, hdr_len));
}

static void
deliver(struct tapir_stack *st, struct tp_reass_dgram *d, struct tapir_time now)
{
    struct tp_ipv4 ip = d->first;

    ip.total_len = (uint16_t)(ip.hdr_len + d->total);
    ip.mf = false;
    ip.frag_off = 0;
    ip.opts = d->buf + TP_IPV4_HDR_MAX - ip.hdr_len + TP_IPV4_HDR_MIN;
    ip.payload = d->buf + TP_IPV4_HDR_MAX;
    ip.payload_len = d->total;
    fix_header(d->buf + TP_IPV4_HDR_MAX - ip.hdr_len, ip.hdr_len, ip.total_len);
    d->used = false;
    update_next(st->reass);
    tp_stat_inc(st, TP_STAT_IP_REASM_OKS);
    tp_ip_deliver(st, &ip, now);
}

void
tp_ip_reass_input(struct tapir_stack *st, const struct tp_ipv4 *ip, struct tapir_time now)
{
    uint32_t off = ip->frag_off, len = (uint32_t)ip->payload_len, end = off + len;
    uint32_t lo = off / 8, hi = (end + 7) / 8, held;
    struct tp_reass_dgram *d;

    tp_stat_inc(st, TP_STAT_IP_REASM_REQDS);
    if (st->reass == NULL) {
        tp_stat_inc(st, TP_STAT_IP_REASM_FAILS);
        return;
    }
    if (len == 0 || (ip->mf && len % 8 != 0) || end > REASS_DATA_MAX) {
        tp_stat_inc(st, TP_STAT_IP_REASM_FAILS);
        tp_stat_inc(st, TP_STAT_IP_REASM_BAD_FRAG);
        return;
    }
    d = find_or_make(st, ip, now);
    /* The end is known from the last fragment: nothing may pass it, and a
     * second "last" fragment must agree. */
    if ((d->total != 0 && (end > d->total || (!ip->mf && end != d->total)))
        || (!ip->mf && d->high > end)) {
        give_up(st, d, TP_STAT_IP_REASM_BAD_FRAG);
        return;
    }
    if (off == 0 && d->have_first && ip->hdr_len != d->first.hdr_len) {
        give_up(st, d, TP_STAT_IP_REASM_OVERLAPS);
        return;
    }
    if ((held = blocks_held(d, lo, hi)) != 0) {
        if (held == hi - lo && memcmp(d->buf + TP_IPV4_HDR_MAX + off, ip->payload, len) == 0) {
            tp_stat_inc(st, TP_STAT_IP_REASM_DUPS);
            return;
        }
        give_up(st, d, TP_STAT_IP_REASM_OVERLAPS);
        return;
    }
    if (!ip->mf)
        d->total = end;
    place(d, ip, lo, hi);
    if (d->total == 0 || d->have != d->total || !d->have_first)
        return;
    if (d->first.hdr_len + d->total > 65535) {         /* the "ping of death" */
        give_up(st, d, TP_STAT_IP_REASM_BAD_FRAG);
        return;
    }
    deliver(st, d, now);
}

struct tapir_time
tp_ip_reass_poll(struct tapir_stack *st, struct tapir_time now)
{
    struct tp_ip_reass *r = st->reass;

    if (r == NULL)
        return TAPIR_TIME_NEVER;
    if (tapir_time_before(now, r->next))
        return r->next;
    for (uint32_t i = 0; i < r->n; i++) {
        struct tp_reass_dgram *d = &r->d[i];

        if (!d->used || tapir_time_before(now, d->expires))
            continue;
        drop(st, d, TP_STAT_IP_REASM_TIMEOUT);
        if (d->have_first) {
            struct tp_ipv4 q = d->first;

            q.payload = d->buf + TP_IPV4_HDR_MAX;
            tp_icmp_send_error(st, &q, TP_ICMP_TIME_EXCEEDED, TP_ICMP_EXC_FRAGTIME, now);
        }
    }
    update_next(r);
    return r->next;
}
