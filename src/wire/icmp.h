/*
 * src/wire/icmp.h -- ICMPv4 parse and emit (RFC 792, RFC 1191 next-hop MTU).
 */
#ifndef TP_WIRE_ICMP_H
#define TP_WIRE_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "wire/ipv4.h"
#include "wire/wire.h"

#define TP_ICMP_HDR_LEN 8

enum {
    TP_ICMP_ECHO_REPLY = 0,
    TP_ICMP_DEST_UNREACH = 3,
    TP_ICMP_SOURCE_QUENCH = 4,
    TP_ICMP_REDIRECT = 5,
    TP_ICMP_ECHO = 8,
    TP_ICMP_TIME_EXCEEDED = 11,
    TP_ICMP_PARAM_PROBLEM = 12,
};

enum {                              /* codes of TP_ICMP_DEST_UNREACH */
    TP_ICMP_UNREACH_NET = 0,
    TP_ICMP_UNREACH_HOST = 1,
    TP_ICMP_UNREACH_PROTO = 2,
    TP_ICMP_UNREACH_PORT = 3,
    TP_ICMP_UNREACH_NEEDFRAG = 4,
    TP_ICMP_UNREACH_SRCFAIL = 5,
    TP_ICMP_UNREACH_NET_PROHIB = 9,
    TP_ICMP_UNREACH_HOST_PROHIB = 10,
    TP_ICMP_UNREACH_ADMIN_PROHIB = 13,
};

enum {                              /* codes of TP_ICMP_TIME_EXCEEDED */
    TP_ICMP_EXC_TTL = 0,
    TP_ICMP_EXC_FRAGTIME = 1,       /* fragment reassembly time exceeded */
};

struct tp_icmp {                    /* host byte order */
    uint8_t type;
    uint8_t code;
    uint16_t id;                    /* echo, echo reply */
    uint16_t seq;                   /* echo, echo reply */
    uint16_t next_mtu;              /* dest unreach, code NEEDFRAG (RFC 1191) */
    uint8_t pointer;                /* param problem */
    const uint8_t *body;            /* borrowed: echo data, or the quoted datagram */
    size_t body_len;
};

/*
 * Parse an ICMP message in buf[0..len) and verify its checksum.  Returns
 * TP_WIRE_OK, TRUNCATED (len < 8) or BAD_CSUM.  The quoted datagram of an
 * error is not parsed here: see tp_icmp_quoted().
 */
enum tp_wire_err tp_icmp_parse(const uint8_t *buf, size_t len, struct tp_icmp *out);

/* True for the types that quote an offending datagram (3, 4, 5, 11, 12). */
bool tp_icmp_is_error(uint8_t type);

/*
 * Parse the datagram quoted by an error message: its IPv4 header and at
 * least the first 8 bytes of its payload (RFC 792), which *l4 and *l4_len
 * borrow.  Returns TP_WIRE_OK, or TRUNCATED / BAD_VERSION / BAD_HDR_LEN /
 * BAD_TOTAL_LEN (see tp_ipv4_parse_quoted()).  A datagram with fewer than 8
 * payload bytes must be quoted whole.
 */
enum tp_wire_err tp_icmp_quoted(const struct tp_icmp *m, struct tp_ipv4 *ip,
    const uint8_t **l4, size_t *l4_len);

/*
 * Write the 8-byte header of m into hdr, with the checksum computed over the
 * header and m->body (which the caller sends right after it).
 */
void tp_icmp_emit(const struct tp_icmp *m, uint8_t hdr[TP_ICMP_HDR_LEN]);

#endif
