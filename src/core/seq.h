/*
 * src/core/seq.h -- TCP sequence-number arithmetic (RFC 9293 3.4): the
 * sequence space is arithmetic modulo 2^32.  Every comparison of sequence
 * numbers in the TCP module goes through these helpers.
 *
 * A distance of exactly 2^31 is ambiguous by definition; windows are far
 * smaller (at most 2^30 with window scaling), so it never arises between
 * numbers the module compares.
 */
#ifndef TP_CORE_SEQ_H
#define TP_CORE_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/* Signed distance from b to a, without implementation-defined casts. */
static inline int32_t
tp_seq_diff(uint32_t a, uint32_t b)
{
    uint32_t d = a - b;

    return d <= INT32_MAX ? (int32_t)d : -(int32_t)(UINT32_MAX - d) - 1;
}

static inline bool tp_seq_lt(uint32_t a, uint32_t b)  { return tp_seq_diff(a, b) < 0; }
static inline bool tp_seq_leq(uint32_t a, uint32_t b) { return tp_seq_diff(a, b) <= 0; }
static inline bool tp_seq_gt(uint32_t a, uint32_t b)  { return tp_seq_diff(a, b) > 0; }
static inline bool tp_seq_geq(uint32_t a, uint32_t b) { return tp_seq_diff(a, b) >= 0; }

/* True if x lies in [start, start + len), wrap-around included. */
static inline bool
tp_seq_in(uint32_t x, uint32_t start, uint32_t len)
{
    return x - start < len;
}

static inline uint32_t
tp_seq_max(uint32_t a, uint32_t b)
{
    return tp_seq_lt(a, b) ? b : a;
}

static inline uint32_t
tp_seq_min(uint32_t a, uint32_t b)
{
    return tp_seq_lt(a, b) ? a : b;
}

#endif
