/*
 * tests/unit/ip_icmp_test.c -- IPv4 and ICMP input of a real stack, driven
 * with crafted packets: the exact bytes it sends back (echo replies, ICMP
 * errors, RSTs for closed ports) and the counters it keeps for every drop.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tapir/tapir.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcphdr.h"

#define US_ADDR   0x0a000002u        /* 10.0.0.2: the stack */
#define PEER_ADDR 0x0a000001u        /* 10.0.0.1 */
#define MAX_SENT 64
#define PKT_MAX 2048

struct sent {
    uint8_t b[PKT_MAX];
    size_t len;
};

struct fixture {
    struct tapir_stack *st;
    struct sent sent[MAX_SENT];
    int n_sent;
    struct tapir_time now;
};

/* The link: record every packet whole. */
static int
record(void *ctx, const struct tapir_iov *iov, int iovcnt)
{
    struct fixture *f = ctx;
    struct sent *s;

    assert_true(f->n_sent < MAX_SENT);
    s = &f->sent[f->n_sent++];
    s->len = 0;
    for (int i = 0; i < iovcnt; i++) {
        assert_true(s->len + iov[i].len <= PKT_MAX);
        memcpy(s->b + s->len, iov[i].base, iov[i].len);
        s->len += iov[i].len;
    }
    return 0;
}

static struct fixture *
new_fixture(uint32_t icmp_rate)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct tapir_config cfg;
    struct tapir_link link = { record, NULL };

    assert_non_null(f);
    tapir_config_default(&cfg);
    cfg.addr = US_ADDR;
    cfg.prefix_len = 24;
    cfg.icmp_rate_per_sec = icmp_rate;
    link.ctx = f;
    assert_int_equal(tapir_stack_new(&cfg, &link, &f->st), 0);
    f->now.us = 1000000;
    return f;
}

static int
setup(void **state)
{
    *state = new_fixture(0);
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    tapir_stack_free(f->st);
    free(f);
    return 0;
}

/* A counter by its public name; the test fails if there is none. */
static uint64_t
stat(const struct fixture *f, const char *name)
{
    for (size_t i = 0; i < tapir_stats_count(); i++)
        if (strcmp(tapir_stats_name(i), name) == 0)
            return tapir_stats_get(f->st, i);
    fail_msg("no counter named %s", name);
    return 0;
}

/* Every counter must be zero except the names given (NULL-terminated). */
static void
only_counters(const struct fixture *f, const char *const *names)
{
    for (size_t i = 0; i < tapir_stats_count(); i++) {
        const char *n = tapir_stats_name(i);
        bool listed = false;

        for (size_t j = 0; names[j] != NULL; j++)
            listed |= strcmp(names[j], n) == 0;
        if (!listed && tapir_stats_get(f->st, i) != 0)
            fail_msg("counter %s is %llu", n, (unsigned long long)tapir_stats_get(f->st, i));
    }
}

static void
input(struct fixture *f, const uint8_t *pkt, size_t len)
{
    /* An exact-size copy, so ASan catches any read past the packet. */
    uint8_t *copy = malloc(len ? len : 1);

    memcpy(copy, pkt, len);
    tapir_stack_input(f->st, copy, len, f->now);
    free(copy);
}

/* An IPv4 header (IHL 5 + opts_len/4) before payload; returns the length. */
static size_t
build_ip_opts(uint8_t *b, uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *opts,
    size_t opts_len, const void *payload, size_t plen)
{
    size_t hl = 20 + opts_len;

    b[0] = (uint8_t)(0x40 | hl / 4);
    b[1] = 0;
    tp_store_be16(b + 2, (uint16_t)(hl + plen));
    tp_store_be16(b + 4, 0x4242);
    tp_store_be16(b + 6, 0x4000);
    b[8] = 63;
    b[9] = proto;
    tp_store_be16(b + 10, 0);
    tp_store_be32(b + 12, src);
    tp_store_be32(b + 16, dst);
    if (opts_len > 0)
        memcpy(b + 20, opts, opts_len);
    memcpy(b + hl, payload, plen);
    tp_store_be16(b + 10, tp_csum(b, hl));
    return hl + plen;
}

static size_t
build_ip(uint8_t *b, uint32_t src, uint32_t dst, uint8_t proto, const void *payload,
    size_t plen)
{
    return build_ip_opts(b, src, dst, proto, NULL, 0, payload, plen);
}

/* An echo request, id 0x1234 seq 1, data "a".."p" (independently checked:
 * ICMP checksum a27f; the reply's is aa7f). */
static const uint8_t echo_req[] = {
    0x08, 0x00, 0xa2, 0x7f, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
};
static const uint8_t echo_rep[] = {
    0x00, 0x00, 0xaa, 0x7f, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70,
};

/* Check a sent packet's IPv4 header: ours, to dst, proto, valid; returns its
 * parsed form. */
static struct tp_ipv4
check_sent_ip(const struct sent *s, uint32_t dst, uint8_t proto)
{
    struct tp_ipv4 ip;

    assert_int_equal(tp_ipv4_parse(s->b, s->len, &ip), TP_WIRE_OK);
    assert_int_equal(ip.total_len, s->len);
    assert_int_equal(ip.hdr_len, 20);
    assert_int_equal(ip.src, US_ADDR);
    assert_int_equal(ip.dst, dst);
    assert_int_equal(ip.proto, proto);
    assert_int_equal(ip.ttl, 64);
    assert_true(ip.df);
    assert_false(ip.mf);
    assert_int_equal(ip.frag_off, 0);
    return ip;
}

static void
echo_request_gets_exact_reply(void **state)
{
    struct fixture *f = *state;
    uint8_t pkt[128];
    struct tp_ipv4 ip;
    size_t n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, echo_req, sizeof(echo_req));

    input(f, pkt, n);
    assert_int_equal(f->n_sent, 1);
    ip = check_sent_ip(&f->sent[0], PEER_ADDR, TP_IP_PROTO_ICMP);
    assert_int_equal(ip.payload_len, sizeof(echo_rep));
    assert_memory_equal(ip.payload, echo_rep, sizeof(echo_rep));
    assert_int_equal(stat(f, "IpInReceives"), 1);
    assert_int_equal(stat(f, "IpInDelivers"), 1);
    assert_int_equal(stat(f, "IcmpInMsgs"), 1);
    assert_int_equal(stat(f, "IcmpInEchos"), 1);
    assert_int_equal(stat(f, "IcmpOutMsgs"), 1);
    assert_int_equal(stat(f, "IcmpOutEchoReps"), 1);
    assert_int_equal(stat(f, "IpOutRequests"), 1);
    only_counters(f, (const char *const[]){ "IpInReceives", "IpInDelivers", "IcmpInMsgs",
        "IcmpInEchos", "IcmpOutMsgs", "IcmpOutEchoReps", "IpOutRequests", NULL });
}

static void
echo_with_odd_data_and_ip_options(void **state)
{
    struct fixture *f = *state;
    static const uint8_t opts[4] = { 1, 1, 1, 0 };  /* NOP NOP NOP EOL */
    uint8_t msg[8 + 33], pkt[128];
    struct tp_icmp m = { .type = TP_ICMP_ECHO, .id = 0xffff, .seq = 0xfffe };
    struct tp_icmp r;
    struct tp_ipv4 ip;
    size_t n;

    for (size_t i = 0; i < 33; i++)
        msg[8 + i] = (uint8_t)(0xf0 + i);
    m.body = msg + 8;
    m.body_len = 33;
    tp_icmp_emit(&m, msg);
    n = build_ip_opts(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, opts, 4, msg, sizeof(msg));
    pkt[1] = 0x10;                                  /* a TOS the reply keeps */
    tp_store_be16(pkt + 10, 0);
    tp_store_be16(pkt + 10, tp_csum(pkt, 24));
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 1);
    ip = check_sent_ip(&f->sent[0], PEER_ADDR, TP_IP_PROTO_ICMP);
    assert_int_equal(ip.tos, 0x10);
    assert_int_equal(tp_icmp_parse(ip.payload, ip.payload_len, &r), TP_WIRE_OK);
    assert_int_equal(r.type, TP_ICMP_ECHO_REPLY);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.id, 0xffff);
    assert_int_equal(r.seq, 0xfffe);
    assert_int_equal(r.body_len, 33);
    assert_memory_equal(r.body, msg + 8, 33);
}

static void
echo_with_nonzero_code_is_ignored(void **state)
{
    struct fixture *f = *state;
    uint8_t msg[sizeof(echo_req)], pkt[128];
    size_t n;

    memcpy(msg, echo_req, sizeof(msg));
    msg[1] = 1;
    tp_store_be16(msg + 2, 0);
    tp_store_be16(msg + 2, tp_csum(msg, sizeof(msg)));
    n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, msg, sizeof(msg));
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(stat(f, "IcmpInEchos"), 1);
}

/* One malformed-IPv4 case: a mutation of a good echo request and the
 * counter it must land in. */
struct bad_case {
    const char *what;
    const char *counter;
    void (*mutate)(uint8_t *pkt, size_t *len);
};

static void
fix_ip_csum(uint8_t *p)
{
    size_t hl = (size_t)(p[0] & 0x0f) * 4;

    tp_store_be16(p + 10, 0);
    tp_store_be16(p + 10, tp_csum(p, hl < 20 ? 20 : hl));
}

static void mut_short(uint8_t *p, size_t *len) { (void)p; *len = 19; }
static void mut_cut(uint8_t *p, size_t *len) { (void)p; *len -= 1; }
static void mut_empty(uint8_t *p, size_t *len) { (void)p; *len = 0; }
static void mut_v6(uint8_t *p, size_t *len) { (void)len; p[0] = 0x65; fix_ip_csum(p); }
static void mut_ihl4(uint8_t *p, size_t *len) { (void)len; p[0] = 0x44; fix_ip_csum(p); }
static void mut_ihl0(uint8_t *p, size_t *len) { (void)len; p[0] = 0x40; fix_ip_csum(p); }
static void mut_ihl_big(uint8_t *p, size_t *len) { p[0] = 0x4f; *len = 40; }
static void
mut_tl_small(uint8_t *p, size_t *len)
{
    (void)len;
    tp_store_be16(p + 2, 19);
    fix_ip_csum(p);
}
static void
mut_tl_big(uint8_t *p, size_t *len)
{
    tp_store_be16(p + 2, (uint16_t)(*len + 1));
    fix_ip_csum(p);
}
static void mut_csum(uint8_t *p, size_t *len) { (void)len; p[11] ^= 0x01; }
static void mut_src(uint8_t *p, size_t *len) { (void)len; p[15] ^= 0x80; }

static const struct bad_case bad_cases[] = {
    { "19 bytes", "TapirIpInTruncated", mut_short },
    { "one byte short of total_len", "TapirIpInTruncated", mut_cut },
    { "empty", "TapirIpInTruncated", mut_empty },
    { "IHL past the buffer", "TapirIpInTruncated", mut_ihl_big },
    { "total_len past the buffer", "TapirIpInTruncated", mut_tl_big },
    { "version 6", "TapirIpInBadVersion", mut_v6 },
    { "IHL 4", "TapirIpInBadHdrLen", mut_ihl4 },
    { "IHL 0", "TapirIpInBadHdrLen", mut_ihl0 },
    { "total_len 19", "TapirIpInBadTotalLen", mut_tl_small },
    { "checksum", "TapirIpInCsumErrors", mut_csum },
    { "source changed after the checksum", "TapirIpInCsumErrors", mut_src },
};

static void
malformed_ipv4_counted_by_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct fixture *f = new_fixture(0);
        uint8_t pkt[128];
        size_t n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, echo_req,
            sizeof(echo_req));

        bad_cases[i].mutate(pkt, &n);
        input(f, pkt, n);
        if (f->n_sent != 0 || stat(f, bad_cases[i].counter) != 1)
            fail_msg("case '%s': sent %d, %s = %llu", bad_cases[i].what, f->n_sent,
                bad_cases[i].counter, (unsigned long long)stat(f, bad_cases[i].counter));
        only_counters(f, (const char *const[]){ "IpInReceives", "IpInHdrErrors",
            bad_cases[i].counter, NULL });
        assert_int_equal(stat(f, "IpInHdrErrors"), 1);
        assert_int_equal(stat(f, "IpInReceives"), 1);
        teardown((void **)&f);
    }
}

static void
trailing_link_padding_is_ignored(void **state)
{
    struct fixture *f = *state;
    uint8_t pkt[128];
    size_t n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, echo_req, sizeof(echo_req));

    memset(pkt + n, 0, 18);
    input(f, pkt, n + 18);
    assert_int_equal(f->n_sent, 1);
    assert_int_equal(f->sent[0].len, n);
}

static void
wrong_destination_is_addr_error(void **state)
{
    static const uint32_t dsts[] = { 0x0a000003, 0x0a0000ff, 0xffffffff, 0xe0000001, 0 };
    struct fixture *f = *state;
    uint8_t pkt[128];

    for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
        size_t n = build_ip(pkt, PEER_ADDR, dsts[i], TP_IP_PROTO_ICMP, echo_req,
            sizeof(echo_req));

        input(f, pkt, n);
    }
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(stat(f, "IpInAddrErrors"), 5);
    only_counters(f, (const char *const[]){ "IpInReceives", "IpInAddrErrors", NULL });
}

static void
bad_source_is_dropped(void **state)
{
    static const uint32_t srcs[] = { 0, US_ADDR, 0x7f000001, 0xffffffff, 0xe0000001,
        0x0a0000ff };
    struct fixture *f = *state;
    uint8_t pkt[128];

    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        size_t n = build_ip(pkt, srcs[i], US_ADDR, 17, "12345678", 8);

        input(f, pkt, n);
    }
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(stat(f, "TapirIpInBadSrc"), 6);
}

static void
bad_icmp_checksum_is_counted(void **state)
{
    struct fixture *f = *state;
    uint8_t msg[sizeof(echo_req)], pkt[128];
    size_t n;

    memcpy(msg, echo_req, sizeof(msg));
    msg[sizeof(msg) - 1] ^= 0x20;
    n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, msg, sizeof(msg));
    input(f, pkt, n);
    /* And one too short for a header. */
    n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, echo_req, 7);
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(stat(f, "IcmpInCsumErrors"), 1);
    assert_int_equal(stat(f, "IcmpInErrors"), 2);
    assert_int_equal(stat(f, "IcmpInMsgs"), 2);
    assert_int_equal(stat(f, "IcmpInEchos"), 0);
}

/* Check an ICMP error sent about the packet pkt[0..len). */
static void
check_icmp_error(const struct sent *s, uint8_t type, uint8_t code, const uint8_t *pkt,
    size_t quote_len)
{
    struct tp_ipv4 ip = check_sent_ip(s, PEER_ADDR, TP_IP_PROTO_ICMP);
    struct tp_icmp m;

    assert_int_equal(ip.tos, 0);
    assert_int_equal(tp_icmp_parse(ip.payload, ip.payload_len, &m), TP_WIRE_OK);
    assert_int_equal(m.type, type);
    assert_int_equal(m.code, code);
    assert_int_equal(tp_load_be32(ip.payload + 4), 0);      /* unused field */
    assert_int_equal(m.body_len, quote_len);
    assert_memory_equal(m.body, pkt, quote_len);
}

static void
udp_gets_port_unreachable(void **state)
{
    struct fixture *f = *state;
    static const uint8_t opts[8] = { 0x94, 4, 0, 0, 1, 1, 1, 0 };
    uint8_t udp[40], pkt[128];
    size_t n;

    for (size_t i = 0; i < sizeof(udp); i++)
        udp[i] = (uint8_t)(i + 1);
    /* Header plus the first 8 bytes of a 40-byte datagram. */
    n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_UDP, udp, sizeof(udp));
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 1);
    check_icmp_error(&f->sent[0], TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PORT, pkt, 20 + 8);
    /* A 3-byte datagram is quoted whole. */
    n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_UDP, udp, 3);
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 2);
    check_icmp_error(&f->sent[1], TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PORT, pkt, 23);
    /* IP options are part of the quoted header. */
    n = build_ip_opts(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_UDP, opts, 8, udp, sizeof(udp));
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 3);
    check_icmp_error(&f->sent[2], TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PORT, pkt, 28 + 8);
    assert_int_equal(stat(f, "IcmpOutDestUnreachs"), 3);
    assert_int_equal(stat(f, "IcmpOutMsgs"), 3);
}

static void
unknown_protocol_gets_protocol_unreachable(void **state)
{
    struct fixture *f = *state;
    uint8_t pkt[128];
    size_t n = build_ip(pkt, PEER_ADDR, US_ADDR, 47, "0123456789abcdef", 16);

    input(f, pkt, n);
    assert_int_equal(f->n_sent, 1);
    check_icmp_error(&f->sent[0], TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PROTO, pkt, 28);
    assert_int_equal(stat(f, "IpInUnknownProtos"), 1);
    assert_int_equal(stat(f, "IcmpOutDestUnreachs"), 1);
}

static void
no_icmp_error_about_icmp(void **state)
{
    struct fixture *f = *state;
    static const uint8_t types[] = { TP_ICMP_DEST_UNREACH, TP_ICMP_SOURCE_QUENCH,
        TP_ICMP_REDIRECT, TP_ICMP_TIME_EXCEEDED, TP_ICMP_PARAM_PROBLEM, 13, 42, 255 };
    uint8_t quoted[28], msg[8 + 28], pkt[128];

    /* Errors quoting a datagram from the peer (not ours), and unknown types:
     * none draws an answer. */
    build_ip(quoted, PEER_ADDR, 0x08080808, TP_IP_PROTO_UDP, "12345678", 8);
    for (size_t i = 0; i < sizeof(types); i++) {
        struct tp_icmp m = { .type = types[i], .code = 3, .body = quoted, .body_len = 28 };
        size_t n;

        tp_icmp_emit(&m, msg);
        memcpy(msg + 8, quoted, 28);
        n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, msg, sizeof(msg));
        input(f, pkt, n);
    }
    /* An error with a malformed quote. */
    {
        struct tp_icmp m = { .type = TP_ICMP_DEST_UNREACH, .code = 1, .body = quoted,
            .body_len = 10 };
        size_t n;

        tp_icmp_emit(&m, msg);
        memcpy(msg + 8, quoted, 10);
        n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, msg, 18);
        input(f, pkt, n);
    }
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(stat(f, "IcmpOutMsgs"), 0);
    assert_int_equal(stat(f, "IcmpInMsgs"), 9);
    assert_int_equal(stat(f, "IcmpInDestUnreachs"), 2);
    assert_int_equal(stat(f, "IcmpInTimeExcds"), 1);
    /* Quotes of datagrams we did not send, and the malformed one. */
    assert_int_equal(stat(f, "IcmpInErrors"), 5);
    /* Redirects are ignored: one link, no routes to update. */
    assert_int_equal(stat(f, "TapirIcmpInOther"), 4);
}

static void
echo_rate_limit_with_virtual_time(void **state)
{
    struct fixture *f = new_fixture(5);
    uint8_t pkt[128];
    size_t n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_ICMP, echo_req, sizeof(echo_req));

    (void)state;
    for (int i = 0; i < 10; i++)
        input(f, pkt, n);
    assert_int_equal(f->n_sent, 5);
    assert_int_equal(stat(f, "TapirIcmpOutRateLimited"), 5);
    /* 199 ms later not one token has come back (5/s: one per 200 ms). */
    f->now.us += 199000;
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 5);
    f->now.us += 1000;
    input(f, pkt, n);
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 6);
    /* Errors draw from the same bucket. */
    {
        uint8_t u[64];
        size_t un = build_ip(u, PEER_ADDR, US_ADDR, TP_IP_PROTO_UDP, "12345678", 8);

        input(f, u, un);
        assert_int_equal(f->n_sent, 6);
    }
    /* A full second refills the whole bucket, no more. */
    f->now.us += 10 * 1000000;
    for (int i = 0; i < 10; i++)
        input(f, pkt, n);
    assert_int_equal(f->n_sent, 11);
    assert_int_equal(stat(f, "IcmpOutEchoReps"), 11);
    assert_int_equal(stat(f, "TapirIcmpOutRateLimited"), 5 + 1 + 1 + 1 + 5);
    teardown((void **)&f);
}

/* A TCP segment from the peer's port 40000 to our port 7, checksummed. */
static size_t
build_tcp(uint8_t *pkt, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
    struct tp_tcp_out o = { .src_port = 40000, .dst_port = 7, .seq = seq, .ack = ack,
        .flags = flags, .window = 1000 };
    uint8_t seg[128];
    size_t hl = tp_tcphdr_len(&o), dl = strlen(data);

    tp_tcphdr_emit(&o, seg);
    memcpy(seg + hl, data, dl);
    tp_store_be16(seg + 16, tp_tcp_csum(PEER_ADDR, US_ADDR, seg, hl + dl));
    return build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_TCP, seg, hl + dl);
}

static void
check_rst(const struct sent *s, uint32_t seq, uint32_t ack, uint8_t flags)
{
    struct tp_ipv4 ip = check_sent_ip(s, PEER_ADDR, TP_IP_PROTO_TCP);
    struct tp_tcphdr h;

    assert_int_equal(tp_tcp_csum(US_ADDR, PEER_ADDR, ip.payload, ip.payload_len), 0);
    assert_int_equal(tp_tcphdr_parse(ip.payload, ip.payload_len, &h), TP_WIRE_OK);
    assert_int_equal(h.src_port, 7);
    assert_int_equal(h.dst_port, 40000);
    assert_int_equal(h.flags, flags);
    assert_int_equal(h.seq, seq);
    if (flags & TP_TCP_ACK)
        assert_int_equal(h.ack, ack);
    assert_int_equal(h.payload_len, 0);
}

static void
tcp_to_closed_port_gets_rst(void **state)
{
    struct fixture *f = *state;
    uint8_t pkt[256];
    size_t n;

    /* RFC 9293 3.10.7.1: no ACK -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
    n = build_tcp(pkt, 1000, 0, TP_TCP_SYN, "");
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 1);
    check_rst(&f->sent[0], 0, 1001, TP_TCP_RST | TP_TCP_ACK);
    /* SYN, FIN and five data bytes all count in SEG.LEN; the seq wraps. */
    n = build_tcp(pkt, 0xfffffffe, 0, TP_TCP_SYN | TP_TCP_FIN, "hello");
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 2);
    check_rst(&f->sent[1], 0, 5, TP_TCP_RST | TP_TCP_ACK);
    /* ACK set -> <SEQ=SEG.ACK><CTL=RST>. */
    n = build_tcp(pkt, 5, 0xdeadbeef, TP_TCP_ACK | TP_TCP_PSH, "xyz");
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 3);
    check_rst(&f->sent[2], 0xdeadbeef, 0, TP_TCP_RST);
    /* A RST is never answered. */
    n = build_tcp(pkt, 5, 6, TP_TCP_RST | TP_TCP_ACK, "");
    input(f, pkt, n);
    n = build_tcp(pkt, 5, 0, TP_TCP_RST, "");
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 3);
    assert_int_equal(stat(f, "TcpOutRsts"), 3);
    assert_int_equal(stat(f, "TcpInSegs"), 5);
}

static void
tcp_bad_checksum_or_header_is_dropped(void **state)
{
    struct fixture *f = *state;
    uint8_t pkt[256];
    size_t n;

    n = build_tcp(pkt, 1000, 0, TP_TCP_SYN, "data");
    pkt[n - 1] ^= 1;
    input(f, pkt, n);
    assert_int_equal(stat(f, "TcpInCsumErrors"), 1);
    /* Data offset 4. */
    n = build_tcp(pkt, 1000, 0, TP_TCP_SYN, "");
    pkt[20 + 12] = 0x40;
    input(f, pkt, n);
    /* Shorter than a TCP header. */
    n = build_ip(pkt, PEER_ADDR, US_ADDR, TP_IP_PROTO_TCP, "0123456789", 10);
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(stat(f, "TcpInErrs"), 3);
}

/* ---- Fragments (RFC 791 3.2, RFC 815, RFC 1122 3.3.2) ---- */

/* A fragment: the bytes [off, off + len) of a datagram's data, with MF. */
static size_t
build_frag(uint8_t *b, uint16_t id, uint8_t proto, const uint8_t *data, size_t off, size_t len,
    bool mf)
{
    size_t n = build_ip(b, PEER_ADDR, US_ADDR, proto, data + off, len);

    tp_store_be16(b + 4, id);
    tp_store_be16(b + 6, (uint16_t)((mf ? 0x2000 : 0) | off / 8));
    fix_ip_csum(b);
    return n;
}

#define BIG_DATA 3000

/* An echo request of 8 + BIG_DATA bytes, id 0x77 seq 3. */
static size_t
big_echo(uint8_t *icmp)
{
    struct tp_icmp m = { .type = TP_ICMP_ECHO, .id = 0x77, .seq = 3 };
    static uint8_t data[BIG_DATA];

    for (size_t i = 0; i < BIG_DATA; i++)
        data[i] = (uint8_t)(i * 7 + 1);
    m.body = data;
    m.body_len = BIG_DATA;
    tp_icmp_emit(&m, icmp);
    memcpy(icmp + TP_ICMP_HDR_LEN, data, BIG_DATA);
    return TP_ICMP_HDR_LEN + BIG_DATA;
}

/* The reply left in fragments of 1480, 1480 and 48 bytes (MTU 1500); put
 * together, it is the request's data behind an echo reply header. */
static void
check_fragmented_reply(const struct fixture *f, int first, const uint8_t *req, size_t req_len)
{
    static uint8_t whole[TP_ICMP_HDR_LEN + BIG_DATA];
    static const size_t lens[] = { 1480, 1480, 48 };
    struct tp_ipv4 ip;
    struct tp_icmp m;
    size_t got = 0;

    assert_int_equal(f->n_sent, first + 3);
    for (int i = 0; i < 3; i++) {
        const struct sent *s = &f->sent[first + i];

        assert_int_equal(tp_ipv4_parse(s->b, s->len, &ip), TP_WIRE_OK);
        assert_int_equal(ip.src, US_ADDR);
        assert_int_equal(ip.dst, PEER_ADDR);
        assert_int_equal(ip.proto, TP_IP_PROTO_ICMP);
        assert_false(ip.df);
        assert_int_equal(ip.mf, i < 2);
        assert_int_equal(ip.frag_off, got);
        assert_int_equal(ip.payload_len, lens[i]);
        if (i > 0)
            assert_int_equal(tp_load_be16(s->b + 4), tp_load_be16(f->sent[first].b + 4));
        memcpy(whole + got, ip.payload, ip.payload_len);
        got += ip.payload_len;
    }
    assert_int_equal(got, req_len);
    assert_int_equal(tp_icmp_parse(whole, got, &m), TP_WIRE_OK);
    assert_int_equal(m.type, TP_ICMP_ECHO_REPLY);
    assert_int_equal(m.id, 0x77);
    assert_int_equal(m.seq, 3);
    assert_memory_equal(whole + TP_ICMP_HDR_LEN, req + TP_ICMP_HDR_LEN, req_len - TP_ICMP_HDR_LEN);
}

/* The three fragments of a 3008-byte echo request in every order, one of
 * them twice: one reassembled datagram, answered in three fragments. */
static void
fragmented_echo_is_reassembled_and_answered_in_fragments(void **state)
{
    static const int orders[][4] = {
        { 0, 1, 2, 1 }, { 2, 1, 0, 1 }, { 1, 0, 1, 2 }, { 2, 0, 2, 1 }, { 1, 2, 2, 0 },
    };
    static const size_t off[] = { 0, 1480, 2960 }, len[] = { 1480, 1480, 48 };
    struct fixture *f = *state;
    static uint8_t req[TP_ICMP_HDR_LEN + BIG_DATA], pkt[2048];
    size_t req_len = big_echo(req);

    for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
        int first = f->n_sent;

        for (int k = 0; k < 4; k++) {
            int i = orders[o][k];
            size_t n = build_frag(pkt, (uint16_t)(0x100 + o), TP_IP_PROTO_ICMP, req, off[i],
                len[i], i < 2);

            input(f, pkt, n);
        }
        check_fragmented_reply(f, first, req, req_len);
    }
    assert_int_equal(stat(f, "IpReasmReqds"), 5 * 4);
    assert_int_equal(stat(f, "IpReasmOKs"), 5);
    assert_int_equal(stat(f, "TapirIpReasmDups"), 3);   /* a repeat is ignored, */
    assert_int_equal(stat(f, "IpFragOKs"), 5);
    assert_int_equal(stat(f, "IpFragCreates"), 15);
    assert_int_equal(stat(f, "IpReasmFails"), 0);
    /* or, after delivery, starts a datagram that times out without a first
     * fragment: no ICMP about it. */
    f->now.us += 61 * 1000000LL;
    tapir_stack_poll(f->st, f->now);
    assert_int_equal(f->n_sent, 15);
    assert_int_equal(stat(f, "IpReasmTimeout"), 2);
}

/* Overlapping data that differs gives the whole datagram up (RFC 1858's
 * attack); the same data again is a harmless duplicate. */
static void
overlapping_fragments_give_the_datagram_up(void **state)
{
    struct fixture *f = *state;
    static uint8_t req[TP_ICMP_HDR_LEN + BIG_DATA], other[TP_ICMP_HDR_LEN + BIG_DATA];
    static uint8_t pkt[2048];
    size_t n;

    big_echo(req);
    memcpy(other, req, sizeof(other));
    other[1475] ^= 0xff;
    input(f, pkt, build_frag(pkt, 9, TP_IP_PROTO_ICMP, req, 0, 1480, true));
    input(f, pkt, build_frag(pkt, 9, TP_IP_PROTO_ICMP, req, 0, 1480, true));   /* again */
    assert_int_equal(stat(f, "TapirIpReasmDups"), 1);
    assert_int_equal(stat(f, "IpReasmFails"), 0);
    /* Bytes 1472..2952: eight of them (1472..1480) overlap, one differs. */
    input(f, pkt, build_frag(pkt, 9, TP_IP_PROTO_ICMP, other, 1472, 1480, true));
    assert_int_equal(stat(f, "TapirIpReasmOverlaps"), 1);
    assert_int_equal(stat(f, "IpReasmFails"), 1);
    /* The rest now starts a new datagram that never completes. */
    input(f, pkt, build_frag(pkt, 9, TP_IP_PROTO_ICMP, req, 1480, 1480, true));
    n = build_frag(pkt, 9, TP_IP_PROTO_ICMP, req, 2960, 48, false);
    input(f, pkt, n);
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(stat(f, "IpReasmOKs"), 0);
}

/* Fragments no datagram can hold are dropped alone: empty, unaligned with
 * more to follow, past 64 KB (the ping of death), or past a known end. */
static void
bad_fragments_are_dropped(void **state)
{
    struct fixture *f = *state;
    static uint8_t data[70000], pkt[2048];

    input(f, pkt, build_frag(pkt, 1, TP_IP_PROTO_ICMP, data, 8, 0, true));
    input(f, pkt, build_frag(pkt, 2, TP_IP_PROTO_ICMP, data, 8, 13, true));
    input(f, pkt, build_frag(pkt, 3, TP_IP_PROTO_ICMP, data, 65512, 8, false));
    input(f, pkt, build_frag(pkt, 4, TP_IP_PROTO_ICMP, data, 65528, 8, true));
    assert_int_equal(stat(f, "TapirIpReasmBadFrag"), 4);
    /* The last fragment says the data ends at 24; data past it gives up. */
    input(f, pkt, build_frag(pkt, 5, TP_IP_PROTO_ICMP, data, 16, 8, false));
    input(f, pkt, build_frag(pkt, 5, TP_IP_PROTO_ICMP, data, 24, 8, true));
    assert_int_equal(stat(f, "TapirIpReasmBadFrag"), 5);
    /* Two different ends. */
    input(f, pkt, build_frag(pkt, 6, TP_IP_PROTO_ICMP, data, 16, 8, false));
    input(f, pkt, build_frag(pkt, 6, TP_IP_PROTO_ICMP, data, 32, 8, false));
    assert_int_equal(stat(f, "TapirIpReasmBadFrag"), 6);
    assert_int_equal(stat(f, "IpReasmFails"), 6);
    assert_int_equal(f->n_sent, 0);
}

/* RFC 1122 3.3.2: the time runs out (60 s); an ICMP time exceeded, code 1,
 * quotes the first fragment when it had come (RFC 792), nothing otherwise. */
static void
reassembly_timeout_sends_time_exceeded(void **state)
{
    struct fixture *f = *state;
    static uint8_t req[TP_ICMP_HDR_LEN + BIG_DATA], pkt[2048];
    struct tapir_time t0 = f->now;
    size_t n;

    big_echo(req);
    n = build_frag(pkt, 21, TP_IP_PROTO_ICMP, req, 0, 1480, true);
    input(f, pkt, n);
    input(f, pkt + 1024, build_frag(pkt + 1024, 22, TP_IP_PROTO_ICMP, req, 1480, 8, true));
    assert_int_equal(tapir_stack_poll(f->st, f->now).us, t0.us + 60 * 1000000LL);
    f->now.us = t0.us + 59 * 1000000LL;
    tapir_stack_poll(f->st, f->now);
    assert_int_equal(f->n_sent, 0);
    f->now.us = t0.us + 60 * 1000000LL;
    assert_int_equal(tapir_stack_poll(f->st, f->now).us, INT64_MAX);
    assert_int_equal(f->n_sent, 1);
    check_icmp_error(&f->sent[0], TP_ICMP_TIME_EXCEEDED, TP_ICMP_EXC_FRAGTIME, pkt, 20 + 8);
    assert_true(n > 20 + 8);
    assert_int_equal(stat(f, "IpReasmTimeout"), 2);
    assert_int_equal(stat(f, "IpReasmFails"), 2);
}

/* With every slot busy the oldest datagram is given up for the new one:
 * memory stays bounded under a flood of first fragments. */
static void
full_table_gives_up_the_oldest(void **state)
{
    struct fixture *f = *state;
    static uint8_t req[TP_ICMP_HDR_LEN + BIG_DATA], pkt[2048];

    big_echo(req);
    for (uint16_t id = 1; id <= 9; id++) {
        input(f, pkt, build_frag(pkt, id, TP_IP_PROTO_ICMP, req, 0, 1480, true));
        f->now.us += 1000;
    }
    assert_int_equal(stat(f, "TapirIpReasmEvicted"), 1);
    for (uint16_t id = 1; id <= 9; id += 8) {           /* 1: evicted; 9: held */
        input(f, pkt, build_frag(pkt, id, TP_IP_PROTO_ICMP, req, 1480, 1480, true));
        input(f, pkt, build_frag(pkt, id, TP_IP_PROTO_ICMP, req, 2960, 48, false));
    }
    assert_int_equal(stat(f, "IpReasmOKs"), 1);
    assert_int_equal(f->n_sent, 3);                     /* id 9's reply */
    assert_int_equal(stat(f, "TapirIpReasmEvicted"), 2);   /* id 1's rest took a slot */
}

/* A TCP SYN in two fragments reaches TCP: the closed port answers RST. */
static void
fragmented_tcp_segment_is_delivered(void **state)
{
    struct fixture *f = *state;
    uint8_t seg[256], pkt[256];
    size_t n = build_tcp(seg, 1000, 0, TP_TCP_SYN, "abcd");    /* 20 + 24 */

    input(f, pkt, build_frag(pkt, 0x55, TP_IP_PROTO_TCP, seg + 20, 16, n - 20 - 16, false));
    assert_int_equal(f->n_sent, 0);
    input(f, pkt, build_frag(pkt, 0x55, TP_IP_PROTO_TCP, seg + 20, 0, 16, true));
    assert_int_equal(f->n_sent, 1);
    check_rst(&f->sent[0], 0, 1000 + 1 + 4, TP_TCP_RST | TP_TCP_ACK);
}

/* An ICMP error about a reassembled datagram quotes its header as the
 * whole datagram's (RFC 792: "the internet header"): its total length, no
 * MF, offset 0, a valid checksum; not the first fragment's. */
static void
reassembled_datagram_quoted_whole(void **state)
{
    struct fixture *f = *state;
    uint8_t udp[24], pkt[128], whole[128];

    for (size_t i = 0; i < sizeof(udp); i++)
        udp[i] = (uint8_t)(i + 1);
    input(f, pkt, build_frag(pkt, 0x66, TP_IP_PROTO_UDP, udp, 16, 8, false));
    input(f, pkt, build_frag(pkt, 0x66, TP_IP_PROTO_UDP, udp, 0, 16, true));
    assert_int_equal(stat(f, "IpReasmOKs"), 1);
    assert_int_equal(f->n_sent, 1);
    build_ip(whole, PEER_ADDR, US_ADDR, TP_IP_PROTO_UDP, udp, sizeof(udp));
    tp_store_be16(whole + 4, 0x66);
    tp_store_be16(whole + 6, 0);                        /* no DF, as the fragments */
    fix_ip_csum(whole);
    check_icmp_error(&f->sent[0], TP_ICMP_DEST_UNREACH, TP_ICMP_UNREACH_PORT, whole, 20 + 8);
}

/* A fragment with IP options: header length hl, flags/offset field ff. */
static size_t
build_frag_opts(uint8_t *b, uint16_t id, const uint8_t *opts, size_t opts_len,
    const uint8_t *data, size_t off, size_t len, bool mf)
{
    size_t n = build_ip_opts(b, PEER_ADDR, US_ADDR, TP_IP_PROTO_UDP, opts, opts_len,
        data + off, len);

    tp_store_be16(b + 4, id);
    tp_store_be16(b + 6, (uint16_t)((mf ? 0x2000 : 0) | off / 8));
    fix_ip_csum(b);
    return n;
}

/* The edges of reassembly, each given up and counted, nothing delivered:
 * a last fragment ending before data already held; a first fragment
 * repeated with another header length; a fragment that partly overlaps
 * with the same bytes (a duplicate only if it is wholly held, even when
 * the slot's stale bytes match the rest); a datagram that fits 64 KB of
 * data only without its 60-byte header (the ping of death with options). */
static void
reassembly_edges_give_up(void **state)
{
    struct fixture *f = *state;
    static uint8_t data[65536], pkt[65536];
    static const uint8_t nops[40] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 };

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13 + 5);
    input(f, pkt, build_frag(pkt, 1, TP_IP_PROTO_UDP, data, 32, 8, true));
    input(f, pkt, build_frag(pkt, 1, TP_IP_PROTO_UDP, data, 16, 8, false));
    assert_int_equal(stat(f, "TapirIpReasmBadFrag"), 1);
    input(f, pkt, build_frag(pkt, 2, TP_IP_PROTO_UDP, data, 0, 16, true));
    input(f, pkt, build_frag_opts(pkt, 2, nops, 4, data, 0, 16, true));
    assert_int_equal(stat(f, "TapirIpReasmOverlaps"), 1);
    /* id 3 completes in a slot whose bytes 16..24 are then data's own. */
    input(f, pkt, build_frag(pkt, 3, TP_IP_PROTO_UDP, data, 0, 16, true));
    input(f, pkt, build_frag(pkt, 3, TP_IP_PROTO_UDP, data, 16, 8, false));
    assert_int_equal(stat(f, "IpReasmOKs"), 1);
    assert_int_equal(f->n_sent, 1);                     /* UDP: port unreachable */
    input(f, pkt, build_frag(pkt, 4, TP_IP_PROTO_UDP, data, 0, 16, true));
    input(f, pkt, build_frag(pkt, 4, TP_IP_PROTO_UDP, data, 8, 16, true));
    assert_int_equal(stat(f, "TapirIpReasmOverlaps"), 2);
    assert_int_equal(stat(f, "TapirIpReasmDups"), 0);
    input(f, pkt, build_frag_opts(pkt, 5, nops, sizeof(nops), data, 0, 65000, true));
    input(f, pkt, build_frag(pkt, 5, TP_IP_PROTO_UDP, data, 65000, 515, false));
    assert_int_equal(stat(f, "TapirIpReasmBadFrag"), 2);
    assert_int_equal(stat(f, "IpReasmFails"), 4);
    assert_int_equal(stat(f, "IpReasmOKs"), 1);
    assert_int_equal(f->n_sent, 1);
}

/* cfg.reass_max = 0: no reassembly; fragments are counted and dropped. */
static void
fragments_dropped_without_reassembly(void **state)
{
    static const uint16_t frag_fields[] = { 0x2000, 0x0001, 0x20b9, 0x1fff };
    struct fixture *f = calloc(1, sizeof(*f));
    struct tapir_config cfg;
    struct tapir_link link = { record, f };
    struct tapir_stack *bad = NULL;
    uint8_t pkt[128];

    (void)state;
    tapir_config_default(&cfg);
    cfg.addr = US_ADDR;
    cfg.reass_max = 0;
    assert_int_equal(tapir_stack_new(&cfg, &link, &f->st), 0);
    for (size_t i = 0; i < sizeof(frag_fields) / sizeof(frag_fields[0]); i++) {
        /* Unknown protocol, so a delivered packet would draw an ICMP error. */
        size_t n = build_ip(pkt, PEER_ADDR, US_ADDR, 99, "12345678", 8);

        tp_store_be16(pkt + 6, frag_fields[i]);
        fix_ip_csum(pkt);
        input(f, pkt, n);
    }
    assert_int_equal(f->n_sent, 0);
    assert_int_equal(stat(f, "IpReasmFails"), 4);
    only_counters(f, (const char *const[]){ "IpInReceives", "IpReasmReqds", "IpReasmFails",
        NULL });
    cfg.reass_max = 1025;
    assert_int_equal(tapir_stack_new(&cfg, &link, &bad), -EINVAL);
    assert_null(bad);
    teardown((void **)&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(echo_request_gets_exact_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(echo_with_odd_data_and_ip_options, setup, teardown),
        cmocka_unit_test_setup_teardown(echo_with_nonzero_code_is_ignored, setup, teardown),
        cmocka_unit_test(malformed_ipv4_counted_by_reason),
        cmocka_unit_test_setup_teardown(trailing_link_padding_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_destination_is_addr_error, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_source_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(fragmented_echo_is_reassembled_and_answered_in_fragments,
            setup, teardown),
        cmocka_unit_test_setup_teardown(overlapping_fragments_give_the_datagram_up, setup,
            teardown),
        cmocka_unit_test_setup_teardown(bad_fragments_are_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(reassembly_timeout_sends_time_exceeded, setup, teardown),
        cmocka_unit_test_setup_teardown(full_table_gives_up_the_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(fragmented_tcp_segment_is_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(reassembled_datagram_quoted_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(reassembly_edges_give_up, setup, teardown),
        cmocka_unit_test(fragments_dropped_without_reassembly),
        cmocka_unit_test_setup_teardown(bad_icmp_checksum_is_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(udp_gets_port_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_protocol_gets_protocol_unreachable, setup,
            teardown),
        cmocka_unit_test_setup_teardown(no_icmp_error_about_icmp, setup, teardown),
        cmocka_unit_test(echo_rate_limit_with_virtual_time),
        cmocka_unit_test_setup_teardown(tcp_to_closed_port_gets_rst, setup, teardown),
        cmocka_unit_test_setup_teardown(tcp_bad_checksum_or_header_is_dropped, setup,
            teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
