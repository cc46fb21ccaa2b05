/*
 * src/wire/csum.c -- the Internet checksum (RFC 1071) and its incremental
 * update (RFC 1624).  Called by every parser and emitter that carries a
 * checksum; calls nothing.
 *
 * Each piece is summed in native byte order, 32 bits at a time into a 64-bit
 * accumulator (RFC 1071 2.(B): the sum is independent of byte order and may
 * be deferred), folded to 16 bits and turned into network order.  The pieces
 * are then joined in struct tp_csum, swapping a piece's bytes when it started
 * at an odd offset (RFC 1071 2.(A)-(B): a sum shifted by one byte is the
 * byte-swapped sum).
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
 * length.  Four independent accumulators let the loads overlap; each gains
 * less than 2^32 per 16 bytes, so none can wrap below 2^60 bytes of input.
 */
static uint64_t
sum_native(const uint8_t *p, size_t len)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint32_t w[4];
    uint16_t h;

    while (len >= 16) {
        memcpy(w, p, 16);
        s0 += w[0];
        s1 += w[1];
        s2 += w[2];
        s3 += w[3];
        p += 16;
        len -= 16;
    }
    while (len >= 4) {
        memcpy(w, p, 4);
        s0 += w[0];
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        memcpy(&h, p, 2);
        s1 += h;
        p += 2;
        len -= 2;
    }
    if (len == 1) {
        uint8_t last[2] = { p[0], 0 };

        memcpy(&h, last, 2);
        s2 += h;
    }
    /* Each s_i < 2^62 here, so the sum cannot wrap. */
    return s0 + s1 + s2 + s3;
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
    struct tp_csum c;

    tp_csum_init(&c);
    tp_csum_add(&c, buf, len);
    return tp_csum_finish(&c);
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
