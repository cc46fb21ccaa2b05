/*
 * src/wire/csum.c -- the Internet checksum (RFC 1071) and its incremental
 * update (RFC 1624).  Called by every parser and emitter that carries a
 * checksum; calls nothing.
 *
 * Each piece is summed in native byte order, 64 bits at a time with the
 * carries counted, folded to 16 bits and turned into network order (RFC 1071
 * 2.(B) byte order independence, 2.(C) parallel summation, 2.(D) deferred
 * carries).  The pieces are then joined in struct tp_csum, swapping a
 * piece's bytes when it started at an odd offset: by 2.(B), a sum taken one
 * byte out of step is the byte-swapped sum.
 */
#include <string.h>

#include "wire/bytes.h"
#include "wire/csum.h"

/* End-around carry: fold a 64-bit one's complement sum down to 16 bits. */
static uint16_t
fold64(uint64_t s)
{
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)s;
}

static uint16_t
swap16(uint16_t v)
{
    return (uint16_t)((unsigned)v << 8 | (unsigned)v >> 8);
}

/*
 * The native-order sum of buf[0..len), as if a zero byte padded an odd
 * length, congruent modulo 0xffff to the sum of its 16-bit words.  Words of
 * 64 bits go into two accumulators whose carries are counted apart, so the
 * two add chains run side by side; a carry out of bit 63 is worth 1, since
 * 2^64 is 1 modulo 2^64 - 1, a multiple of 0xffff.
 */
static uint64_t
sum_native(const uint8_t *p, size_t len)
{
    uint64_t s0 = 0, s1 = 0, c0 = 0, c1 = 0, w[4], sum;
    uint32_t w32;
    uint16_t h;

    while (len >= 32) {
        memcpy(w, p, 32);
        s0 += w[0];
        c0 += (uint64_t)(s0 < w[0]);
        s1 += w[1];
        c1 += (uint64_t)(s1 < w[1]);
        s0 += w[2];
        c0 += (uint64_t)(s0 < w[2]);
        s1 += w[3];
        c1 += (uint64_t)(s1 < w[3]);
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        memcpy(w, p, 8);
        s0 += w[0];
        c0 += (uint64_t)(s0 < w[0]);
        p += 8;
        len -= 8;
    }
    /* Each term is below 2^32, or a carry count below len / 8. */
    sum = (s0 & 0xffffffffu) + (s0 >> 32) + (s1 & 0xffffffffu) + (s1 >> 32) + c0 + c1;
    if (len >= 4) {
        memcpy(&w32, p, 4);
        sum += w32;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        memcpy(&h, p, 2);
        sum += h;
        p += 2;
        len -= 2;
    }
    if (len == 1) {
        uint8_t last[2] = { p[0], 0 };

        memcpy(&h, last, 2);
        sum += h;
    }
    return sum;
}

/* The folded network-order value of a native-order 16-bit sum. */
static uint16_t
to_network(uint16_t native)
{
    uint8_t b[2];

    memcpy(b, &native, 2);
    return tp_load_be16(b);
}

void
tp_csum_add(struct tp_csum *c, const void *buf, size_t len)
{
    uint16_t piece;

    if (len == 0)
        return;
    piece = to_network(fold64(sum_native(buf, len)));
    if (c->len & 1)
        piece = swap16(piece);
    c->acc += piece;
    c->len += len;
}

void
tp_csum_add_pseudo(struct tp_csum *c, uint32_t src, uint32_t dst, uint8_t proto,
    uint16_t l4_len)
{
    /* RFC 9293 3.1: src, dst, zero, PTCL, TCP length; 12 bytes, so the
     * parity of c->len is unchanged. */
    uint64_t s = (src >> 16) + (src & 0xffffu) + (dst >> 16) + (dst & 0xffffu) + proto +
        l4_len;

    if (c->len & 1)
        s = swap16(fold64(s));
    c->acc += s;
    c->len += 12;
}

uint16_t
tp_csum_finish(const struct tp_csum *c)
{
    return (uint16_t)~fold64(c->acc);
}

uint16_t
tp_csum(const void *buf, size_t len)
{
    /* One piece at offset 0: no accumulator needed. */
    return (uint16_t)~to_network(fold64(sum_native(buf, len)));
}

uint16_t
tp_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val)
{
    /* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
    uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~old_val + new_val;

    return (uint16_t)~fold64(s);
}

uint16_t
tp_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val)
{
    uint32_t s = (uint32_t)(uint16_t)~csum + (uint16_t)~(old_val >> 16) +
        (uint16_t)~(old_val & 0xffffu) + (new_val >> 16) + (new_val & 0xffffu);

    return (uint16_t)~fold64(s);
}
