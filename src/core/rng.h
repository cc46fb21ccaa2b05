/*
 * src/core/rng.h -- the one pseudo-random generator of the project:
 * xoshiro256** seeded through splitmix64.  Fast, reproducible from a seed,
 * and not for secrets (the stack keys its RFC 6528 hash from it once, at
 * creation).  Used by the stack (src/core/stack.c), the link impairment
 * (src/linux/impair.c) and the simulator (tests/lib/sim.c).
 */
#ifndef TP_CORE_RNG_H
#define TP_CORE_RNG_H

#include <stdint.h>

/* splitmix64: spreads a small seed over a whole state; advances *x. */
static inline uint64_t
tp_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline void
tp_rng_seed(uint64_t s[4], uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        s[i] = tp_splitmix64(&seed);
}

static inline uint64_t
tp_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The next 64 bits of xoshiro256** state s. */
static inline uint64_t
tp_rng_next(uint64_t s[4])
{
    uint64_t r = tp_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = tp_rng_rotl(s[3], 45);
    return r;
}

#endif
