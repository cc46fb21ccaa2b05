/*
 * tests/fuzz/fuzz_icmp.c -- ICMP parse, the quoted datagram of errors, and
 * emit on arbitrary bytes.
 *
 * Invariants: a parsed message's body lies inside the input and its checksum
 * verifies; the quoted datagram's slices lie inside the body; emitting the
 * parsed fields over the same body parses back to the same fields, and for
 * echo messages to the same bytes.
 */
#include <string.h>

#include "fuzz_check.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/icmp.h"

static void
check_quoted(const struct tp_icmp *m)
{
    struct tp_ipv4 qip;
    const uint8_t *l4;
    size_t l4_len;

    if (tp_icmp_quoted(m, &qip, &l4, &l4_len) != TP_WIRE_OK)
        return;
    FUZZ_CHECK(qip.hdr_len >= TP_IPV4_HDR_MIN && qip.hdr_len <= m->body_len);
    FUZZ_CHECK(l4 == m->body + qip.hdr_len);
    FUZZ_CHECK(fuzz_inside(m->body, m->body_len, l4, l4_len));
    FUZZ_CHECK(l4_len >= 8 || l4_len == (size_t)qip.total_len - qip.hdr_len);
}

static void
check_reemit(const uint8_t *data, const struct tp_icmp *m)
{
    uint8_t hdr[TP_ICMP_HDR_LEN];
    struct tp_icmp back;
    uint8_t *copy;

    tp_icmp_emit(m, hdr);
    if (m->type == TP_ICMP_ECHO || m->type == TP_ICMP_ECHO_REPLY) {
        FUZZ_CHECK(memcmp(hdr, data, 2) == 0);
        FUZZ_CHECK(memcmp(hdr + 4, data + 4, 4) == 0);
    }
    copy = malloc(TP_ICMP_HDR_LEN + m->body_len);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, hdr, TP_ICMP_HDR_LEN);
    memcpy(copy + TP_ICMP_HDR_LEN, m->body, m->body_len);
    FUZZ_CHECK(tp_icmp_parse(copy, TP_ICMP_HDR_LEN + m->body_len, &back) == TP_WIRE_OK);
    FUZZ_CHECK(back.type == m->type && back.code == m->code);
    FUZZ_CHECK(back.id == m->id && back.seq == m->seq);
    FUZZ_CHECK(back.next_mtu == m->next_mtu && back.pointer == m->pointer);
    FUZZ_CHECK(back.body_len == m->body_len);
    free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tp_icmp m;

    if (tp_icmp_parse(data, size, &m) == TP_WIRE_OK) {
        FUZZ_CHECK(size >= TP_ICMP_HDR_LEN);
        FUZZ_CHECK(m.body == data + TP_ICMP_HDR_LEN);
        FUZZ_CHECK(m.body_len == size - TP_ICMP_HDR_LEN);
        FUZZ_CHECK(tp_csum(data, size) == 0);
        FUZZ_CHECK(m.type == data[0] && m.code == data[1]);
        if (tp_icmp_is_error(m.type))
            check_quoted(&m);
        check_reemit(data, &m);
    }
    /* The quote parser on its own, without a checksum to get past. */
    if (size >= TP_ICMP_HDR_LEN) {
        struct tp_icmp raw = { .type = TP_ICMP_DEST_UNREACH, .body = data + TP_ICMP_HDR_LEN,
            .body_len = size - TP_ICMP_HDR_LEN };

        check_quoted(&raw);
    }
    return 0;
}
