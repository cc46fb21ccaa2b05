/*
 * tests/fuzz/fuzz_check.h -- what the fuzz targets share: an invariant check
 * that aborts with the failed expression, so libFuzzer saves the input.
 */
#ifndef TP_FUZZ_CHECK_H
#define TP_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(x)                                                          \
    do {                                                                       \
        if (!(x)) {                                                            \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
                __LINE__, #x);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* True if [p, p + n) lies inside [buf, buf + len). */
static inline int
fuzz_inside(const uint8_t *buf, size_t len, const uint8_t *p, size_t n)
{
    return p >= buf && p <= buf + len && n <= (size_t)(buf + len - p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
