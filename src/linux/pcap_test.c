/*
 * src/linux/pcap_test.c -- the capture file, read back byte by byte: the
 * global header, record headers with times mapped from the monotonic clock,
 * iovec gathering, snaplen truncation, write errors; and, where tshark is
 * installed, tshark's decoding of a crafted ICMP echo and TCP SYN.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "linux/pcap.h"
#include "wire/bytes.h"
#include "wire/csum.h"

#define WALL_BASE_US (1700000000LL * 1000000 + 250000)  /* 2023-11-14 22:13:20.25 UTC */
#define MONO_BASE_US 5000000LL

struct fixture {
    char dir[256];
    char path[300];
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "%s/tapir-pcap-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/cap.pcap", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The whole file, malloc'ed; *len its size. */
static uint8_t *
slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 20);

    assert_non_null(fp);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, fp);
    fclose(fp);
    return buf;
}

/* pcap fields are in the writer's byte order: on this host, host order. */
static uint32_t
u32_at(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static uint16_t
u16_at(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return v;
}

static struct tapir_time
mono(int64_t us)
{
    return (struct tapir_time){ MONO_BASE_US + us };
}

/* Check the record at p: time, lengths and data; returns the next record. */
static const uint8_t *
check_record(const uint8_t *p, int64_t wall_us, uint32_t caplen, uint32_t len,
    const uint8_t *data)
{
    assert_int_equal(u32_at(p), (uint32_t)(wall_us / 1000000));
    assert_int_equal(u32_at(p + 4), (uint32_t)(wall_us % 1000000));
    assert_int_equal(u32_at(p + 8), caplen);
    assert_int_equal(u32_at(p + 12), len);
    assert_memory_equal(p + 16, data, caplen);
    return p + 16 + caplen;
}

static void
global_header_says_pcap_2_4_microseconds_linktype_raw(void **state)
{
    struct fixture *f = *state;
    struct tp_pcap *pc;
    uint8_t *buf;
    size_t len;

    assert_int_equal(tp_pcap_open_at(f->path, 0, mono(0), WALL_BASE_US, &pc), 0);
    assert_int_equal(tp_pcap_close(pc), 0);
    buf = slurp(f->path, &len);
    assert_int_equal(len, 24);
    assert_int_equal(u32_at(buf), 0xa1b2c3d4u);        /* microsecond resolution */
    assert_int_equal(u16_at(buf + 4), 2);
    assert_int_equal(u16_at(buf + 6), 4);
    assert_int_equal(u32_at(buf + 8), 0);              /* thiszone */
    assert_int_equal(u32_at(buf + 12), 0);             /* sigfigs */
    assert_int_equal(u32_at(buf + 16), TP_PCAP_SNAPLEN_DEFAULT);
    assert_int_equal(u32_at(buf + 20), TP_PCAP_LINKTYPE);
    assert_int_equal(TP_PCAP_LINKTYPE, 101);
    free(buf);
}

static void
records_carry_wall_time_lengths_and_bytes(void **state)
{
    struct fixture *f = *state;
    uint8_t a[40], b[100], whole[100], *buf;
    struct tapir_iov iov[3] = { { b, 10 }, { b + 10, 0 }, { b + 10, 90 } };
    const struct tp_pcap_stats *s;
    struct tp_pcap *pc;
    const uint8_t *p;
    size_t len;

    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)(0x45 + i);
    for (size_t i = 0; i < sizeof(b); i++)
        b[i] = whole[i] = (uint8_t)(0xa0 ^ i);
    assert_int_equal(tp_pcap_open_at(f->path, 64, mono(0), WALL_BASE_US, &pc), 0);
    assert_int_equal(tp_pcap_write(pc, a, sizeof(a), mono(7)), 0);
    assert_int_equal(tp_pcap_writev(pc, iov, 3, mono(2750000)), 0);  /* cut at 64 */
    assert_int_equal(tp_pcap_write(pc, b, 64, mono(-250001)), 0);    /* before open */
    s = tp_pcap_stats(pc);
    assert_int_equal(s->n_pkts, 3);
    assert_int_equal(s->n_bytes, 40 + 64 + 64);
    assert_int_equal(s->n_truncated, 1);
    assert_int_equal(tp_pcap_close(pc), 0);

    buf = slurp(f->path, &len);
    assert_int_equal(len, 24 + (16 + 40) + (16 + 64) + (16 + 64));
    assert_int_equal(u32_at(buf + 16), 64);            /* snaplen */
    p = check_record(buf + 24, WALL_BASE_US + 7, 40, 40, a);
    p = check_record(p, WALL_BASE_US + 2750000, 64, 100, whole);
    p = check_record(p, WALL_BASE_US - 250001, 64, 64, b);
    assert_ptr_equal(p, buf + len);
    free(buf);
}

static void
flush_makes_records_visible_before_close(void **state)
{
    struct fixture *f = *state;
    uint8_t pkt[20] = { 0x45 };
    struct tp_pcap *pc;
    uint8_t *buf;
    size_t len;

    assert_int_equal(tp_pcap_open_at(f->path, 0, mono(0), WALL_BASE_US, &pc), 0);
    assert_int_equal(tp_pcap_write(pc, pkt, sizeof(pkt), mono(1)), 0);
    buf = slurp(f->path, &len);
    assert_int_equal(len, 0);                          /* still in the buffer */
    free(buf);
    assert_int_equal(tp_pcap_flush(pc), 0);
    buf = slurp(f->path, &len);
    assert_int_equal(len, 24 + 16 + 20);
    free(buf);
    assert_int_equal(tp_pcap_close(pc), 0);
}

static void
open_rejects_bad_arguments_with_negative_errno(void **state)
{
    struct fixture *f = *state;
    struct tp_pcap *pc = (struct tp_pcap *)&pc;
    char path[320];

    assert_int_equal(tp_pcap_open_at(f->path, 262145, mono(0), 0, &pc), -EINVAL);
    assert_null(pc);
    snprintf(path, sizeof(path), "%s/no/such/dir.pcap", f->dir);
    assert_int_equal(tp_pcap_open(path, 0, mono(0), &pc), -ENOENT);
    assert_null(pc);
    assert_int_equal(tp_pcap_close(NULL), 0);
}

static void
write_error_is_reported_and_sticky(void **state)
{
    uint8_t pkt[1500] = { 0x45 };
    struct tp_pcap *pc;
    int err = 0;

    (void)state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    assert_int_equal(tp_pcap_open("/dev/full", 0, mono(0), &pc), 0);
    /* The stdio buffer fills after ~43 of these; the write then fails. */
    for (int i = 0; i < 100 && err == 0; i++)
        err = tp_pcap_write(pc, pkt, sizeof(pkt), mono(i));
    if (err == 0)
        err = tp_pcap_flush(pc);
    assert_int_equal(err, -ENOSPC);
    assert_int_equal(tp_pcap_write(pc, pkt, 20, mono(200)), -ENOSPC);
    assert_int_equal(tp_pcap_flush(pc), -ENOSPC);
    assert_int_equal(tp_pcap_close(pc), -ENOSPC);
}

static void
writev_rejects_bad_vectors(void **state)
{
    struct fixture *f = *state;
    struct tapir_iov bad = { NULL, 4 };
    struct tp_pcap *pc;

    assert_int_equal(tp_pcap_open_at(f->path, 0, mono(0), WALL_BASE_US, &pc), 0);
    assert_int_equal(tp_pcap_writev(pc, &bad, 1, mono(0)), -EINVAL);
    assert_int_equal(tp_pcap_writev(pc, &bad, -1, mono(0)), -EINVAL);
    assert_int_equal(tp_pcap_stats(pc)->n_pkts, 0);
    assert_int_equal(tp_pcap_close(pc), 0);
}

/* ---- tshark ---------------------------------------------------------- */

#define ADDR_A 0x0a000001u                             /* 10.0.0.1 */
#define ADDR_B 0x0a000002u                             /* 10.0.0.2 */

/* An IPv4 header (RFC 791 3.1) with a correct checksum, at p. */
static void
put_ipv4(uint8_t *p, uint16_t total_len, uint8_t proto, uint32_t src, uint32_t dst)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    tp_store_be16(p + 2, total_len);
    tp_store_be16(p + 4, 0x1234);
    p[8] = 64;
    p[9] = proto;
    tp_store_be32(p + 12, src);
    tp_store_be32(p + 16, dst);
    tp_store_be16(p + 10, tp_csum(p, 20));
}

/* ICMP echo request (RFC 792), id 7, seq 1, 8 bytes of data: 36 bytes. */
static size_t
craft_icmp_echo(uint8_t *p)
{
    uint8_t *icmp = p + 20;

    put_ipv4(p, 36, 1, ADDR_A, ADDR_B);
    memset(icmp, 0, 16);
    icmp[0] = 8;
    tp_store_be16(icmp + 4, 7);
    tp_store_be16(icmp + 6, 1);
    memcpy(icmp + 8, "tapir!!!", 8);
    tp_store_be16(icmp + 2, tp_csum(icmp, 16));
    return 36;
}

/* TCP SYN (RFC 9293 3.1) 10.0.0.2:40000 -> 10.0.0.1:80, MSS 1460: 44 bytes. */
static size_t
craft_tcp_syn(uint8_t *p)
{
    uint8_t *tcp = p + 20;
    struct tp_csum c;

    put_ipv4(p, 44, 6, ADDR_B, ADDR_A);
    memset(tcp, 0, 24);
    tp_store_be16(tcp, 40000);
    tp_store_be16(tcp + 2, 80);
    tp_store_be32(tcp + 4, 0x01020304);
    tcp[12] = 6 << 4;                                  /* data offset: 24 bytes */
    tcp[13] = 0x02;                                    /* SYN */
    tp_store_be16(tcp + 14, 65535);
    tcp[20] = 2;                                       /* MSS option */
    tcp[21] = 4;
    tp_store_be16(tcp + 22, 1460);
    tp_csum_init(&c);
    tp_csum_add_pseudo(&c, ADDR_B, ADDR_A, 6, 24);
    tp_csum_add(&c, tcp, 24);
    tp_store_be16(tcp + 16, tp_csum_finish(&c));
    return 44;
}

static bool
have_tshark(void)
{
    return system("command -v tshark >/dev/null 2>&1") == 0;
}

/*
 * Compare one line of tshark's '|'-separated fields with want, where a
 * field "#" in want stands for the hex number flags (0x prefix, any width).
 */
static void
expect_fields(char *line, const char *want, unsigned long flags)
{
    char got[256], *hash;

    assert_non_null(line);
    snprintf(got, sizeof(got), "%s", want);
    if ((hash = strchr(got, '#')) != NULL) {
        char *end, *field = line + (hash - got);

        assert_true(strlen(line) > (size_t)(hash - got));
        assert_int_equal(strtoul(field, &end, 16), flags);
        assert_true(end > field && (*end == '|' || *end == '\0'));
        assert_string_equal(end, hash + 1);
        line[hash - got] = '\0';
        *hash = '\0';
    }
    assert_string_equal(line, got);
}

static void
tshark_decodes_icmp_echo_and_tcp_syn(void **state)
{
    struct fixture *f = *state;
    uint8_t pkt[64];
    struct tapir_iov iov[2];
    struct tp_pcap *pc;
    char cmd[1024], out[512] = "";
    size_t n, len;
    FILE *p;

    if (!have_tshark()) {
        fprintf(stderr, "SKIP: tshark is not installed (apt-get install tshark); "
            "the decode check did not run\n");
        skip();
    }
    assert_int_equal(tp_pcap_open(f->path, 0, mono(0), &pc), 0);
    len = craft_icmp_echo(pkt);
    assert_int_equal(tp_pcap_write(pc, pkt, len, mono(10)), 0);
    len = craft_tcp_syn(pkt);
    iov[0] = (struct tapir_iov){ pkt, 20 };            /* as the stack sends it */
    iov[1] = (struct tapir_iov){ pkt + 20, len - 20 };
    assert_int_equal(tp_pcap_writev(pc, iov, 2, mono(20)), 0);
    assert_int_equal(tp_pcap_close(pc), 0);

    snprintf(cmd, sizeof(cmd), "tshark -n -r '%s' -o ip.check_checksum:TRUE "
        "-o tcp.check_checksum:TRUE -T fields -E 'separator=|' -e ip.src -e ip.dst "
        "-e ip.checksum.status -e icmp.type -e icmp.checksum.status -e tcp.flags "
        "-e tcp.checksum.status -e tcp.options.mss_val 2>/dev/null", f->path);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    /*
     * checksum.status 1 is "Good" in tshark's field values.  tcp.flags is
     * compared as a number: its hex width has changed between versions.
     */
    expect_fields(strtok(out, "\n"), "10.0.0.1|10.0.0.2|1|8|1|||", 0);
    expect_fields(strtok(NULL, "\n"), "10.0.0.2|10.0.0.1|1|||#|1|1460", 0x002);
    assert_null(strtok(NULL, "\n"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(global_header_says_pcap_2_4_microseconds_linktype_raw,
            setup, teardown),
        cmocka_unit_test_setup_teardown(records_carry_wall_time_lengths_and_bytes, setup,
            teardown),
        cmocka_unit_test_setup_teardown(flush_makes_records_visible_before_close, setup,
            teardown),
        cmocka_unit_test_setup_teardown(open_rejects_bad_arguments_with_negative_errno, setup,
            teardown),
        cmocka_unit_test(write_error_is_reported_and_sticky),
        cmocka_unit_test_setup_teardown(writev_rejects_bad_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(tshark_decodes_icmp_echo_and_tcp_syn, setup,
            teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
