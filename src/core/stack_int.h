/*
 * src/core/stack_int.h -- the stack object as the core's modules see it.
 *
 * Owned and created by stack.c.  ip.c, icmp.c and the tcp_*.c files reach
 * each other only through the functions declared here.
 */
#ifndef TP_CORE_STACK_INT_H
#define TP_CORE_STACK_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapir/stack.h"
#include "core/stats.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#ifdef TAPIR_DEBUG
#define TP_ASSERT(x) ((x) ? (void)0 : tp_assert_fail(#x, __FILE__, __LINE__))
#else
#define TP_ASSERT(x) ((void)0)
#endif

/* Aborts; used only for our own bugs in debug, test and fuzz builds. */
_Noreturn void tp_assert_fail(const char *expr, const char *file, int line);

#define tp_container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct tp_tcp;                      /* the TCP module's state, tcp_*.c */
struct tp_ip_reass;                 /* datagrams being reassembled, ip_reass.c */

/* A token bucket, for rate limits (ICMP replies, challenge ACKs). */
struct tp_ratelimit {
    uint32_t per_sec;               /* 0: unlimited */
    uint32_t tokens;
    struct tapir_time last;
};

struct tapir_stack {
    struct tapir_config cfg;
    struct tapir_link link;
    struct tp_stats stats;
    uint64_t rng[4];                /* xoshiro256** state, seeded from cfg.seed */
    uint16_t ip_id;                 /* next IP identification */
    struct tp_ratelimit icmp_rl;
    struct tp_tcp *tcp;             /* owned; tp_tcp_init() / tp_tcp_fini() */
    struct tp_ip_reass *reass;      /* owned; cfg.reass_max slots, NULL if 0 */
};

static inline void
tp_stat_inc(struct tapir_stack *st, enum tp_stat s)
{
    st->stats.v[s]++;
}

static inline void
tp_stat_add(struct tapir_stack *st, enum tp_stat s, uint64_t n)
{
    st->stats.v[s] += n;
}

/* stack.c */
void tp_log(struct tapir_stack *st, enum tapir_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t tp_rand64(struct tapir_stack *st);
uint32_t tp_rand32(struct tapir_stack *st);
/* Take one token at now; false if the bucket is empty. */
bool tp_ratelimit_take(struct tp_ratelimit *rl, struct tapir_time now);

/* ip.c */
void tp_ip_input(struct tapir_stack *st, const uint8_t *pkt, size_t len, struct tapir_time now);

/*
 * Send one datagram to dst: builds the IPv4 header (DF set, TOS tos, TTL
 * ttl or, if 0, the stack's) and hands [header, iov...] to the link.  iov
 * is borrowed.  A datagram larger than the MTU leaves in fragments without
 * DF, except TCP's: -EMSGSIZE.  Returns 0, -EMSGSIZE (also past 64 KB), or
 * the link's error.
 */
int tp_ip_output(struct tapir_stack *st, uint32_t dst, uint8_t proto, uint8_t tos,
    uint8_t ttl, const struct tapir_iov *iov, int iovcnt);

/* True if addr is on our attached network (and not its broadcast address). */
bool tp_ip_is_local_net(const struct tapir_stack *st, uint32_t addr);
/* Hand a complete datagram (reassembled or not) to its protocol. */
void tp_ip_deliver(struct tapir_stack *st, const struct tp_ipv4 *ip, struct tapir_time now);

/* ip_reass.c */
int tp_ip_reass_init(struct tapir_stack *st);
void tp_ip_reass_fini(struct tapir_stack *st);
/* A fragment addressed to us (ip borrowed): kept, and the datagram
 * delivered once complete. */
void tp_ip_reass_input(struct tapir_stack *st, const struct tp_ipv4 *ip, struct tapir_time now);
/* Give up datagrams whose time ran out; returns the next deadline. */
struct tapir_time tp_ip_reass_poll(struct tapir_stack *st, struct tapir_time now);

/* icmp.c */
void tp_icmp_input(struct tapir_stack *st, const struct tp_ipv4 *ip, struct tapir_time now);

/*
 * Send an ICMP error of type/code about the datagram ip (borrowed), quoting
 * its header and up to 8 bytes of payload (RFC 792; RFC 1122 3.2.2: never
 * about an ICMP error, a broadcast or a fragment other than the first).
 * Rate limited.
 */
void tp_icmp_send_error(struct tapir_stack *st, const struct tp_ipv4 *ip, uint8_t type,
    uint8_t code, struct tapir_time now);

/* tcp_*.c: the TCP module's entry points. */
int tp_tcp_init(struct tapir_stack *st);
void tp_tcp_fini(struct tapir_stack *st);       /* NULL st->tcp allowed */
void tp_tcp_input(struct tapir_stack *st, const struct tp_ipv4 *ip, struct tapir_time now);
/* An ICMP error that quotes one of our TCP segments; qip and l4 are borrowed. */
void tp_tcp_icmp_error(struct tapir_stack *st, const struct tp_icmp *m,
    const struct tp_ipv4 *qip, const uint8_t *l4, size_t l4_len, struct tapir_time now);
struct tapir_time tp_tcp_poll(struct tapir_stack *st, struct tapir_time now);
/* st->cfg.tcp changed (tapir_stack_set_tcp_config): refresh what was
 * derived from it at creation. */
void tp_tcp_config_changed(struct tapir_stack *st);

#endif
