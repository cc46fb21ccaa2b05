/*
 * src/wire/wire.h -- what every parser returns.
 *
 * Parsers are pure: they validate every length before reading it and fill a
 * host-order struct whose pointers borrow the packet buffer.  A parser never
 * allocates and never reads outside [buf, buf + len).  The reason a packet is
 * rejected is returned so the core can count drops by reason.
 */
#ifndef TP_WIRE_WIRE_H
#define TP_WIRE_WIRE_H

enum tp_wire_err {
    TP_WIRE_OK = 0,
    TP_WIRE_TRUNCATED,              /* fewer bytes than a header or length field says */
    TP_WIRE_BAD_VERSION,            /* IP version is not 4 */
    TP_WIRE_BAD_HDR_LEN,            /* IHL < 5, or TCP data offset < 5 or past the end */
    TP_WIRE_BAD_TOTAL_LEN,          /* IP total length smaller than the header */
    TP_WIRE_BAD_CSUM,               /* checksum mismatch */
    TP_WIRE_BAD_OPTION,             /* option length 0 or 1, past the end, or wrong for its kind */
    TP_WIRE_NERR
};

/* A short name for logs and tests: "truncated", "bad checksum", ... */
const char *tp_wire_err_str(enum tp_wire_err e);

#endif
