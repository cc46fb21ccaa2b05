/*
 * src/wire/tcphdr.h -- TCP header and options, parse and emit
 * (RFC 9293 3.1, RFC 7323 window scale and timestamps, RFC 2018 SACK).
 */
#ifndef TP_WIRE_TCPHDR_H
#define TP_WIRE_TCPHDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define TP_TCPHDR_MIN 20
#define TP_TCPHDR_MAX 60
#define TP_TCP_MAX_SACK 4           /* blocks that fit in 40 option bytes */

enum {
    TP_TCP_FIN = 0x01,
    TP_TCP_SYN = 0x02,
    TP_TCP_RST = 0x04,
    TP_TCP_PSH = 0x08,
    TP_TCP_ACK = 0x10,
    TP_TCP_URG = 0x20,
    TP_TCP_ECE = 0x40,
    TP_TCP_CWR = 0x80,
};

enum {
    TP_TCPOPT_EOL = 0,
    TP_TCPOPT_NOP = 1,
    TP_TCPOPT_MSS = 2,
    TP_TCPOPT_WSCALE = 3,
    TP_TCPOPT_SACK_PERM = 4,
    TP_TCPOPT_SACK = 5,
    TP_TCPOPT_TS = 8,
};

struct tp_sack_block {
    uint32_t left;                  /* first sequence number of the block */
    uint32_t right;                 /* one past the last */
};

struct tp_tcp_opts {                /* host byte order, values as on the wire */
    bool has_mss;
    bool has_wscale;
    bool sack_permitted;
    bool has_ts;
    uint16_t mss;                   /* may be 0: the TCP layer judges values */
    uint8_t wscale;                 /* may exceed 14: the TCP layer clamps */
    uint32_t ts_val;
    uint32_t ts_ecr;
    uint8_t n_sack;
    struct tp_sack_block sack[TP_TCP_MAX_SACK];
    uint8_t n_unknown;              /* options skipped by their length */
};

struct tp_tcphdr {                  /* host byte order; all lengths checked */
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t seq;
    uint32_t ack;
    uint8_t hdr_len;                /* data offset in bytes, 20..60 */
    uint8_t flags;                  /* TP_TCP_SYN | TP_TCP_ACK | ... */
    uint8_t reserved;               /* the 4 reserved bits, for strict matching */
    uint16_t window;                /* as sent; the caller applies the scale */
    uint16_t csum;
    uint16_t urg;
    const uint8_t *opts;            /* borrowed from the packet buffer */
    size_t opts_len;
    const uint8_t *payload;         /* borrowed from the packet buffer */
    size_t payload_len;
};

/*
 * Parse the TCP header at buf[0..len).  Nothing is read before its offset is
 * known to lie inside the buffer.  The checksum is not verified here (it
 * needs the pseudo-header: see tp_tcp_csum()), and options are not parsed
 * (see tp_tcp_opts_parse()).  Returns TP_WIRE_OK, TRUNCATED (len < 20) or
 * BAD_HDR_LEN (data offset < 5 or past len).
 */
enum tp_wire_err tp_tcphdr_parse(const uint8_t *buf, size_t len, struct tp_tcphdr *h);

/*
 * Parse the option bytes opts[0..len).  Unknown kinds are skipped by their
 * length and counted.  Returns TP_WIRE_OK or BAD_OPTION: a length of 0 or 1,
 * a length past the end, or a known kind with the wrong length (MSS 4,
 * WSCALE 3, SACK_PERM 2, TS 10, SACK 2 + 8n with 1 <= n).  More SACK blocks
 * than TP_TCP_MAX_SACK cannot fit in 40 bytes.
 */
enum tp_wire_err tp_tcp_opts_parse(const uint8_t *opts, size_t len, struct tp_tcp_opts *out);

/*
 * The checksum of a whole segment seg[0..len) with its pseudo-header, as
 * found in the packet: 0 means it verifies.  Over a segment whose checksum
 * field is zero it yields the value to store.
 */
uint16_t tp_tcp_csum(uint32_t src, uint32_t dst, const void *seg, size_t len);

struct tp_tcp_out {                 /* what to send */
    uint16_t src_port;
    uint16_t dst_port;
    uint32_t seq;
    uint32_t ack;
    uint8_t flags;
    uint16_t window;                /* already scaled down */
    uint16_t urg;
    struct tp_tcp_opts opts;        /* has_* and n_sack say what to write */
};

/*
 * Bytes tp_tcphdr_emit() will write: 20 plus the options, padded to a
 * multiple of 4, at most 60 (SACK blocks that do not fit are left out).
 */
size_t tp_tcphdr_len(const struct tp_tcp_out *s);

/*
 * Write exactly tp_tcphdr_len(s) bytes at buf, checksum field zero (fill it
 * with tp_tcp_csum() once the payload is known).  Option layout follows the
 * common BSD order and alignment, which puts the 4-byte fields of TS and
 * SACK on 4-byte boundaries: MSS; NOPs until the length is odd, WSCALE; a NOP
 * if the length is odd, SACK_PERM; NOPs until it is 2 mod 4, TS; the same,
 * SACK; EOL padding to a multiple of 4.  So a SYN with all of them is
 * "mss,nop,wscale,sackOK,TS" (20 bytes), a SYN-ACK with MSS and SACK_PERM
 * "mss,sackOK,eol,eol", a data segment "nop,nop,TS[,nop,nop,sack]".
 */
void tp_tcphdr_emit(const struct tp_tcp_out *s, uint8_t *buf);

#endif
