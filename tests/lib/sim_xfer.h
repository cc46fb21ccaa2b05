/*
 * tests/lib/sim_xfer.h -- one reliable transfer between two simulated
 * stacks, and the seeds and sizes a configuration runs (see
 * tests/sim/tcp_transfer_test.c and docs/testing.md, "Simulation").
 *
 * Node 1 listens on port 5001, node 0 connects.  One side (or both at once)
 * sends N bytes of a seeded pattern and shuts down writing after the last
 * byte; the receiver checks every byte as it reads, and each side closes
 * once it has read the end of the stream (and sent everything).  A transfer
 * passes when every byte arrived exactly once and in order, neither
 * application saw an error, no RST was sent while the applications were
 * open, the stacks' counters agree, and, once TIME-WAIT has expired,
 * neither stack holds a socket.
 */
#ifndef TAPIR_TESTS_SIM_XFER_H
#define TAPIR_TESTS_SIM_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/sim.h"

/* A link configuration and how the stacks and applications behave on it. */
struct sim_xfer_config {
    const char *name;
    struct sim_link_cfg link;       /* node 0 -> node 1, and back unless `back` */
    const struct sim_link_cfg *back; /* node 1 -> node 0, if it differs */
    bool strays;                    /* segments can arrive after their connection is gone */
    uint32_t retries;               /* SYN retries and R2; 0: the stack's defaults */
    uint32_t bufs;                  /* send and receive buffers; 0: the defaults */
    uint16_t mtu;                   /* 0: 1500 */
    uint32_t read_chunk;            /* > 0: applications read at most this many bytes */
    int64_t read_every_us;          /* ... per tick of this period, not on each event */
    int64_t outage_at_us;           /* > 0: both directions lose everything ... */
    int64_t outage_us;              /* ... for this long from then on */
    uint8_t opts_off[2];            /* per node: SIM_XFER_NO_* extensions not offered */
    enum tapir_tcp_cc cc;           /* congestion control of both nodes */
    bool bsd;                       /* both nodes with FreeBSD's choices (the
                                     * conformance runner's bsd profile) */
};

enum {
    SIM_XFER_NO_WSCALE = 0x1,
    SIM_XFER_NO_TIMESTAMPS = 0x2,
    SIM_XFER_NO_SACK = 0x4,
    SIM_XFER_NO_OPTS = 0x7,
};


enum sim_xfer_dir { SIM_XFER_A2B, SIM_XFER_B2A, SIM_XFER_BOTH, SIM_XFER_NDIRS };

extern const char *const sim_xfer_dir_names[SIM_XFER_NDIRS];   /* "a2b", "b2a", "both" */

/* What a series of transfers did. */
struct sim_xfer_tally {
    uint64_t runs;
    uint64_t failures;
    uint64_t bytes;
    uint64_t packets;
    uint64_t lost;                  /* random loss, queue drops and corruption */
    int64_t max_time_us;
    uint64_t last_digest;           /* sim_digest() of the latest run */
    char first[768];
};

/* argv[0], for the rerun command a failure prints. */
void sim_xfer_set_prog(const char *prog);

/* One transfer; true if it passed.  A failure is printed in full (seed,
 * reason, sockets left, trace, rerun command) for the first few of a tally,
 * in one line after that. */
bool sim_xfer_one(const struct sim_xfer_config *c, uint64_t seed, uint64_t size,
    enum sim_xfer_dir dir, struct sim_xfer_tally *t);

/*
 * Every case of configuration c for the seeds the environment asks for
 * (TAPIR_SIM_SEEDS, default 500; TAPIR_SIM_SEED; TAPIR_SIM_SIZE;
 * TAPIR_SIM_DIR), then one summary line on stdout.  Returns the number of
 * failed transfers.
 */
uint64_t sim_xfer_run_config(const struct sim_xfer_config *c, struct sim_xfer_tally *t);

#endif
