/*
 * src/core/stack.c -- the stack object: creation, the two entry points
 * (input, poll), counters, logging, randomness and rate limits.
 *
 * Called by the application (the Linux runtime, tests, simulations).  Calls
 * ip.c for input and the TCP module for timers.  Makes no system call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/stack_int.h"

static const char *const stat_names[TP_STAT_N] = {
#define X(name, pub, desc) [TP_STAT_##name] = pub,
    TP_STATS_IP(X) TP_STATS_ICMP(X) TP_STATS_TCP(X)
#undef X
};

static const char *const stat_descs[TP_STAT_N] = {
#define X(name, pub, desc) [TP_STAT_##name] = desc,
    TP_STATS_IP(X) TP_STATS_ICMP(X) TP_STATS_TCP(X)
#undef X
};

void
tapir_config_default(struct tapir_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->prefix_len = 24;
    cfg->mtu = 1500;
    cfg->ttl = 64;
    cfg->seed = 1;
    cfg->icmp_rate_per_sec = 1000;
    cfg->reass_max = 8;
    cfg->reass_timeout_ms = 60 * 1000;
    cfg->log_level = TAPIR_LOG_INFO;
    cfg->tcp.max_socks = 1024;
    cfg->tcp.sndbuf = 1024 * 1024;   /* 1 MB: a 10 Gbit/s x 0.8 ms BDP (docs: tcp.h) */
    cfg->tcp.rcvbuf = 1024 * 1024;
    cfg->tcp.reass_max_bytes = 1024 * 1024;
    cfg->tcp.msl_ms = 60 * 1000;
    cfg->tcp.rto_initial_ms = 1000;
    cfg->tcp.rto_min_ms = 200;
    cfg->tcp.rto_max_ms = 60 * 1000;
    cfg->tcp.syn_retries = 6;
    cfg->tcp.r1 = 3;
    cfg->tcp.r2 = 15;
    cfg->tcp.challenge_ack_per_sec = 1000;
    cfg->tcp.ephemeral_lo = 49152;
    cfg->tcp.ephemeral_hi = 65535;
    cfg->tcp.wscale = true;
    cfg->tcp.timestamps = true;
    cfg->tcp.sack = true;
    cfg->tcp.rack = true;
    cfg->tcp.delack_ms = 40;
    cfg->tcp.ecn_syn_retries = 1;
}

static int
config_check(const struct tapir_config *cfg)
{
    if (cfg->addr == 0 || cfg->prefix_len > 32 || cfg->mtu < 68 || cfg->ttl == 0)
        return -EINVAL;
    if (cfg->tcp.max_socks == 0 || cfg->tcp.max_socks > (1u << 20))
        return -EINVAL;
    if (cfg->tcp.ephemeral_lo == 0 || cfg->tcp.ephemeral_lo > cfg->tcp.ephemeral_hi)
        return -EINVAL;
    if (cfg->tcp.rto_min_ms == 0 || cfg->tcp.rto_min_ms > cfg->tcp.rto_max_ms)
        return -EINVAL;
    if ((unsigned)cfg->tcp.cwv >= TAPIR_TCP_CWV_COUNT)
        return -EINVAL;
    if (cfg->reass_max > 1024)
        return -EINVAL;
    return 0;
}

int
tapir_stack_new(const struct tapir_config *cfg, const struct tapir_link *link,
    struct tapir_stack **out)
{
    struct tapir_stack *st;
    int err;

    *out = NULL;
    if (link == NULL || link->transmit == NULL || (err = config_check(cfg)) != 0)
        return -EINVAL;
    if ((st = calloc(1, sizeof(*st))) == NULL)
        return -ENOMEM;
    st->cfg = *cfg;
    st->link = *link;
    tp_rng_seed(st->rng, cfg->seed);
    st->ip_id = (uint16_t)tp_rand32(st);
    st->icmp_rl.per_sec = cfg->icmp_rate_per_sec;
    st->icmp_rl.tokens = cfg->icmp_rate_per_sec;
    if ((err = tp_ip_reass_init(st)) != 0 || (err = tp_tcp_init(st)) != 0)
        goto fail;
    *out = st;
    return 0;
fail:
    tapir_stack_free(st);
    return err;
}

void
tapir_stack_free(struct tapir_stack *st)
{
    if (st == NULL)
        return;
    tp_tcp_fini(st);
    tp_ip_reass_fini(st);
    free(st);
}

void
tapir_stack_input(struct tapir_stack *st, const void *pkt, size_t len, struct tapir_time now)
{
    tp_ip_input(st, pkt, len, now);
}

struct tapir_time
tapir_stack_poll(struct tapir_stack *st, struct tapir_time now)
{
    struct tapir_time ip = tp_ip_reass_poll(st, now);

    return tapir_time_min(ip, tp_tcp_poll(st, now));
}

const struct tapir_config *
tapir_stack_config(const struct tapir_stack *st)
{
    return &st->cfg;
}

int
tapir_stack_set_tcp_config(struct tapir_stack *st, const struct tapir_tcp_config *tcp)
{
    struct tapir_config cfg = st->cfg;

    cfg.tcp = *tcp;
    if (tcp->max_socks != st->cfg.tcp.max_socks || config_check(&cfg) != 0)
        return -EINVAL;
    st->cfg.tcp = *tcp;
    tp_tcp_config_changed(st);
    return 0;
}

size_t
tapir_stats_count(void)
{
    return TP_STAT_N;
}

const char *
tapir_stats_name(size_t i)
{
    return i < TP_STAT_N ? stat_names[i] : NULL;
}

const char *
tapir_stats_desc(size_t i)
{
    return i < TP_STAT_N ? stat_descs[i] : NULL;
}

uint64_t
tapir_stats_get(const struct tapir_stack *st, size_t i)
{
    return i < TP_STAT_N ? st->stats.v[i] : 0;
}

void
tp_log(struct tapir_stack *st, enum tapir_log_level lvl, const char *fmt, ...)
{
    va_list ap;

    if (st->cfg.log == NULL || lvl > st->cfg.log_level)
        return;
    va_start(ap, fmt);
    st->cfg.log(st->cfg.log_ctx, lvl, fmt, ap);
    va_end(ap);
}

/* xoshiro256**: fast, and good enough for ports and jitter.  Secrets that
 * must resist prediction (RFC 6528) are keyed from it once, at creation. */
uint64_t
tp_rand64(struct tapir_stack *st)
{
    return tp_rng_next(st->rng);
}

uint32_t
tp_rand32(struct tapir_stack *st)
{
    return (uint32_t)(tp_rand64(st) >> 32);
}

bool
tp_ratelimit_take(struct tp_ratelimit *rl, struct tapir_time now)
{
    if (rl->per_sec == 0)
        return true;
    if (now.us > rl->last.us) {
        uint64_t add = (uint64_t)(now.us - rl->last.us) * rl->per_sec / 1000000;

        if (add > 0) {
            rl->tokens = add >= rl->per_sec ? rl->per_sec
                : (uint32_t)(rl->tokens + add > rl->per_sec ? rl->per_sec : rl->tokens + add);
            rl->last = now;
        }
    } else if (now.us < rl->last.us) {
        rl->last = now;             /* the caller's clock went back: restart */
    }
    if (rl->tokens == 0)
        return false;
    rl->tokens--;
    return true;
}

char *
tapir_ipv4_str(uint32_t addr, char buf[16])
{
    char *p = buf;

    for (int i = 3; i >= 0; i--) {
        unsigned b = (addr >> (i * 8)) & 0xff;

        if (b >= 100)
            *p++ = (char)('0' + b / 100);
        if (b >= 10)
            *p++ = (char)('0' + b / 10 % 10);
        *p++ = (char)('0' + b % 10);
        if (i > 0)
            *p++ = '.';
    }
    *p = '\0';
    return buf;
}

int
tapir_ipv4_parse(const char *s, uint32_t *addr)
{
    uint32_t a = 0;

    for (int i = 0; i < 4; i++) {
        unsigned v = 0;
        int digits = 0;

        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (unsigned)(*s++ - '0');
            if (++digits > 3 || v > 255)
                return -EINVAL;
        }
        if (digits == 0 || (i < 3 && *s++ != '.'))
            return -EINVAL;
        a = a << 8 | v;
    }
    if (*s != '\0')
        return -EINVAL;
    *addr = a;
    return 0;
}

_Noreturn void
tp_assert_fail(const char *expr, const char *file, int line)
{
    (void)expr;
    (void)file;
    (void)line;
    abort();
}
