/*
 * bench/csum_bench.c -- throughput of the Internet checksum (src/wire/csum.c)
 * over buffers of common sizes, against a 16-bit-at-a-time reference loop.
 *
 * Usage: csum_bench [seconds per size, default 0.5]
 * Prints one line per size: bytes, GB/s (10^9 bytes per second) and ns per
 * call, the best of five runs.  Time is the thread's CPU time, so other
 * load on the machine disturbs the numbers less (caches and clock speed
 * are still shared).
 * Build it in a release build for numbers worth quoting.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wire/csum.h"

static double
now_sec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* RFC 1071 4.1 as written: 16 bits at a time into a 32-bit sum. */
static uint16_t
ref_csum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;

    for (; len > 1; p += 2, len -= 2)
        s += (uint32_t)p[0] << 8 | p[1];
    if (len)
        s += (uint32_t)p[0] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

typedef uint16_t csum_fn(const void *buf, size_t len);

static uint16_t
ref_wrap(const void *buf, size_t len)
{
    return ref_csum(buf, len);
}

/* Run fn over buf[0..len) for about secs seconds; returns bytes per second. */
static double
measure_once(csum_fn *fn, const uint8_t *buf, size_t len, double secs, double *ns_per_call)
{
    volatile uint16_t sink = 0;
    unsigned long calls = 0, batch = 1;
    double t0 = now_sec(), t;

    do {
        for (unsigned long i = 0; i < batch; i++)
            sink = (uint16_t)(sink + fn(buf, len));
        calls += batch;
        if (batch < (1ul << 20))
            batch *= 2;
        t = now_sec() - t0;
    } while (t < secs);
    (void)sink;
    *ns_per_call = t * 1e9 / (double)calls;
    return (double)calls * (double)len / t;
}

/* The best of five runs of secs / 5: the run least disturbed by other load. */
static double
measure(csum_fn *fn, const uint8_t *buf, size_t len, double secs, double *ns_per_call)
{
    double best = 0, ns = 0;

    *ns_per_call = 0;
    for (int i = 0; i < 5; i++) {
        double r = measure_once(fn, buf, len, secs / 5, &ns);

        if (r > best) {
            best = r;
            *ns_per_call = ns;
        }
    }
    return best;
}

int
main(int argc, char **argv)
{
    static const size_t sizes[] = { 20, 40, 64, 576, 1500, 9000, 65536 };
    double secs = argc > 1 ? atof(argv[1]) : 0.5;
    uint8_t *mem = malloc(65536 + 64);
    uint64_t x = 88172645463325252u;

    if (mem == NULL || secs <= 0)
        return 1;
    for (size_t i = 0; i < 65536 + 64; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        mem[i] = (uint8_t)x;
    }
    /* The two must agree before their speeds mean anything. */
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (tp_csum(mem + 1, sizes[i]) != ref_csum(mem + 1, sizes[i])) {
            fprintf(stderr, "csum_bench: tp_csum disagrees with the reference\n");
            return 1;
        }
    printf("%8s %10s %10s %12s %10s\n", "bytes", "tp_csum", "ns/call", "reference", "ns/call");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        double ns_a = 0, ns_b = 0;
        double a = measure(tp_csum, mem, sizes[i], secs, &ns_a);
        double b = measure(ref_wrap, mem, sizes[i], secs, &ns_b);

        printf("%8zu %7.2f GB/s %9.1f %9.2f GB/s %9.1f\n", sizes[i], a / 1e9, ns_a, b / 1e9,
            ns_b);
    }
    /* An odd start, where word loads are unaligned. */
    {
        double ns = 0, a = measure(tp_csum, mem + 1, 65536, secs, &ns);

        printf("%8s %7.2f GB/s %9.1f   (65536 bytes at an odd address)\n", "65536+1", a / 1e9,
            ns);
    }
    free(mem);
    return 0;
}
