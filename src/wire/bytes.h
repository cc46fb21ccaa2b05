/*
 * src/wire/bytes.h -- the only place that knows the network is big-endian.
 * Every multi-byte field of a packet is read and written through these;
 * there are no packed structs laid over packet memory.
 */
#ifndef TP_WIRE_BYTES_H
#define TP_WIRE_BYTES_H

#include <stdint.h>

static inline uint16_t
tp_load_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
tp_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
tp_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void
tp_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
