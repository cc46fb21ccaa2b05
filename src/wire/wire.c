/*
 * src/wire/wire.c -- names of the wire layer's error codes, for logs and
 * tests.
 */
#include "wire/wire.h"

const char *
tp_wire_err_str(enum tp_wire_err e)
{
    switch (e) {
    case TP_WIRE_OK:
        return "ok";
    case TP_WIRE_TRUNCATED:
        return "truncated";
    case TP_WIRE_BAD_VERSION:
        return "bad version";
    case TP_WIRE_BAD_HDR_LEN:
        return "bad header length";
    case TP_WIRE_BAD_TOTAL_LEN:
        return "bad total length";
    case TP_WIRE_BAD_CSUM:
        return "bad checksum";
    case TP_WIRE_BAD_OPTION:
        return "bad option";
    case TP_WIRE_NERR:
        break;
    }
    return "unknown error";
}
