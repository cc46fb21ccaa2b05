/*
 * src/services/svc_test.c -- the services' generated content: the pattern
 * (byte i is i % 251) from any offset, over lengths shorter than, equal to
 * and many times one period, as chargen and HTTP /bytes/N produce it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/svc.h"

/* Every byte of a fill from off equals the reference (off + i) % 251, and
 * nothing past len is written. */
static void
check_fill(uint64_t off, size_t len)
{
    uint8_t *buf = malloc(len + 1);

    assert_non_null(buf);
    buf[len] = 0xee;
    tp_svc_pattern(off, buf, len);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != (uint8_t)((off + i) % 251u))
            fail_msg("off %llu len %zu: byte %zu is %u, not %u", (unsigned long long)off, len,
                i, buf[i], (unsigned)((off + i) % 251u));
    }
    assert_int_equal(buf[len], 0xee);
    free(buf);
}

static void
pattern_matches_reference_at_every_offset_and_length(void **state)
{
    static const size_t lens[] = { 0, 1, 2, 250, 251, 252, 501, 502, 503, 1000, 4096, 16384,
        65536 + 7 };
    static const uint64_t offs[] = { 0, 1, 249, 250, 251, 252, 1000, 4294967295u,
        4294967296u + 17, 1000000000000u + 5 };

    (void)state;
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        for (size_t j = 0; j < sizeof(offs) / sizeof(offs[0]); j++)
            check_fill(offs[j], lens[i]);
}

/* Consecutive fills continue each other, as chargen's successive buffers do. */
static void
consecutive_fills_continue_the_stream(void **state)
{
    uint8_t whole[20000], parts[20000];
    size_t at = 0, step = 1;

    (void)state;
    tp_svc_pattern(3, whole, sizeof(whole));
    while (at < sizeof(parts)) {
        size_t n = step < sizeof(parts) - at ? step : sizeof(parts) - at;

        tp_svc_pattern(3 + at, parts + at, n);
        at += n;
        step = step * 3 + 1;
    }
    assert_memory_equal(whole, parts, sizeof(whole));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pattern_matches_reference_at_every_offset_and_length),
        cmocka_unit_test(consecutive_fills_continue_the_stream),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
