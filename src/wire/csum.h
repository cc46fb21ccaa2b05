/*
 * src/wire/csum.h -- the Internet checksum (RFC 1071) and its incremental
 * update (RFC 1624).
 *
 * The sum is kept in a 64-bit accumulator and folded once at the end.  A
 * buffer may be added in pieces of any length: the accumulator remembers
 * whether an odd number of bytes has gone before, so pieces need not be
 * 16-bit aligned.  Results are host-order 16-bit values, to be stored with
 * tp_store_be16().
 */
#ifndef TP_WIRE_CSUM_H
#define TP_WIRE_CSUM_H

#include <stddef.h>
#include <stdint.h>

struct tp_csum {
    uint64_t acc;
    size_t len;                     /* bytes added so far; odd means mid-word */
};

static inline void
tp_csum_init(struct tp_csum *c)
{
    c->acc = 0;
    c->len = 0;
}

/* Add len bytes at buf (borrowed). */
void tp_csum_add(struct tp_csum *c, const void *buf, size_t len);

/* Add the IPv4 pseudo-header (RFC 9293 3.1): addresses in host order. */
void tp_csum_add_pseudo(struct tp_csum *c, uint32_t src, uint32_t dst, uint8_t proto,
    uint16_t l4_len);

/* The one's complement of the folded sum: the value to put in the field.
 * Over data that already holds a correct checksum it returns 0. */
uint16_t tp_csum_finish(const struct tp_csum *c);

/* One call: tp_csum_finish() of buf[0..len). */
uint16_t tp_csum(const void *buf, size_t len);

/* RFC 1624 eqn. 3: the checksum after a 16-bit field changes from old to new. */
uint16_t tp_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val);

/* The same for a 32-bit field (an address, a sequence number). */
uint16_t tp_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val);

#endif
