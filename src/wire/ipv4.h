/*
 * src/wire/ipv4.h -- IPv4 header parse and emit (RFC 791).
 *
 * Options are skipped, never interpreted: their bytes are handed out as a
 * borrowed slice.  Fragments are recognised (mf, frag_off) and left to the
 * caller.
 */
#ifndef TP_WIRE_IPV4_H
#define TP_WIRE_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define TP_IPV4_HDR_MIN 20
#define TP_IPV4_HDR_MAX 60

#define TP_IP_PROTO_ICMP 1
#define TP_IP_PROTO_TCP  6
#define TP_IP_PROTO_UDP  17

struct tp_ipv4 {                    /* host byte order; all lengths checked */
    uint8_t hdr_len;                /* bytes, 20..60 */
    uint8_t tos;
    uint16_t total_len;
    uint16_t id;
    bool df;
    bool mf;
    uint16_t frag_off;              /* bytes (the field times 8) */
    uint8_t ttl;
    uint8_t proto;
    uint32_t src;
    uint32_t dst;
    const uint8_t *opts;            /* borrowed; opts_len = hdr_len - 20 */
    size_t opts_len;
    const uint8_t *payload;         /* borrowed; total_len - hdr_len bytes */
    size_t payload_len;
};

/*
 * Parse the IPv4 packet in buf[0..len) and verify its header checksum.
 * Bytes past total_len (link padding) are ignored.  Returns TP_WIRE_OK, or
 * TRUNCATED (len < 20, < IHL*4 or < total_len), BAD_VERSION, BAD_HDR_LEN
 * (IHL < 5), BAD_TOTAL_LEN (total_len < IHL*4), BAD_CSUM.
 */
enum tp_wire_err tp_ipv4_parse(const uint8_t *buf, size_t len, struct tp_ipv4 *out);

/*
 * The same for a header quoted inside an ICMP error: the checksum is not
 * verified and the datagram may be cut short, so total_len may exceed len;
 * payload_len is what is present.  At least the header must be there.
 */
enum tp_wire_err tp_ipv4_parse_quoted(const uint8_t *buf, size_t len, struct tp_ipv4 *out);

struct tp_ipv4_out {
    uint8_t tos;
    uint16_t id;
    bool df;
    bool mf;                        /* more fragments */
    uint16_t frag_off;              /* bytes, a multiple of 8 */
    uint8_t ttl;
    uint8_t proto;
    uint32_t src;
    uint32_t dst;
    uint16_t payload_len;           /* total_len is 20 + this */
};

/* Write a 20-byte header without options, checksum filled in. */
void tp_ipv4_emit(const struct tp_ipv4_out *o, uint8_t buf[TP_IPV4_HDR_MIN]);

#endif
