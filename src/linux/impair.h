/*
 * src/linux/impair.h -- a faulty link between the stack and the TUN device.
 *
 * For `tapir run --impair loss=P,dup=P,reorder=P,delay=MS,corrupt=P,seed=N`:
 * each packet crossing the link, in either direction, is copied in with
 * tp_impair_push() and comes out of tp_impair_pop() when due -- or never
 * (lost), twice (duplicated), with one bit flipped (corrupted), late
 * (delayed), or after packets pushed behind it (reordered).  Decisions come
 * from a generator seeded by the spec, one per direction, so the same seed
 * and the same packet sequence give the same decisions.  Memory is fixed at
 * creation: a queue of `limit` packets per direction; a packet that finds
 * the queue full is dropped and counted.
 *
 * Sans-IO like the core (no clock, no syscalls): time comes in as now.  Not
 * thread-safe: one thread at a time.
 */
#ifndef TP_LINUX_IMPAIR_H
#define TP_LINUX_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapir/stack.h"
#include "tapir/time.h"

#define TP_IMPAIR_PPM           1000000u    /* a chance of one, in millionths */
#define TP_IMPAIR_DELAY_MS_MAX  60000u
#define TP_IMPAIR_LIMIT_DEFAULT 1000u       /* packets held per direction */
#define TP_IMPAIR_LIMIT_MAX     100000u
/* A reordered packet is held this much longer than the others, uniformly. */
#define TP_IMPAIR_REORDER_MIN_US 1000
#define TP_IMPAIR_REORDER_MAX_US 10000

enum tp_impair_dir {
    TP_IMPAIR_TX,                   /* stack -> TUN */
    TP_IMPAIR_RX,                   /* TUN -> stack */
    TP_IMPAIR_NDIRS
};

/*
 * What the link does, the same in both directions.  Chances are in
 * millionths (TP_IMPAIR_PPM is certainty); the text form gives percent
 * with up to 4 decimals, so loss=0.5 is loss_ppm 5000.
 */
struct tp_impair_spec {
    uint32_t loss_ppm;              /* dropped */
    uint32_t dup_ppm;               /* sent twice */
    uint32_t reorder_ppm;           /* held back so later packets overtake it */
    uint32_t corrupt_ppm;           /* one bit after the IP header flipped */
    uint32_t delay_ms;              /* every packet is held this long */
    uint32_t limit;                 /* queue capacity per direction, packets */
    uint64_t seed;
    bool has_seed;                  /* seed was given; else the caller may pick one */
};

struct tp_impair_stats {
    uint64_t n_seen;                /* packets pushed */
    uint64_t n_lost;                /* dropped by the loss chance */
    uint64_t n_dup;                 /* extra copies made */
    uint64_t n_corrupt;             /* packets with a bit flipped */
    uint64_t n_delayed;             /* copies queued with a due time after now */
    uint64_t n_reordered;           /* copies held back beyond the delay */
    uint64_t n_overflow;            /* copies dropped: queue full */
    uint64_t n_too_big;             /* packets dropped: longer than max_pkt_len */
    uint64_t n_out;                 /* copies handed out by tp_impair_pop() */
};

/* A spec that changes nothing: all chances 0, no delay, the default limit. */
void tp_impair_spec_default(struct tp_impair_spec *spec);

/*
 * Parse "key=value,..." with keys loss, dup, reorder, corrupt (percent,
 * 0..100, up to 4 decimals), delay (whole milliseconds, 0..60000), seed
 * (0..2^64-1) and limit (1..100000); each at most once, in any order;
 * missing keys keep tp_impair_spec_default() values.  s is borrowed.
 * Returns 0 and *out, or -EINVAL with a one-line message naming the bad
 * field in err (errlen bytes, always terminated; err may be NULL), without
 * a prefix, for the caller to put one: "--impair: " + err.
 */
int tp_impair_parse(const char *s, struct tp_impair_spec *out, char *err, size_t errlen);

/*
 * Write spec in the form tp_impair_parse() reads, every key present, so a
 * run can log the seed it used.  Returns what snprintf() returns.
 */
int tp_impair_format(const struct tp_impair_spec *spec, char *buf, size_t len);

struct tp_impair;                   /* opaque */

/*
 * Create a link with spec (copied).  max_pkt_len is the longest packet it
 * will carry (the TUN MTU): all queue memory, 2 * limit * max_pkt_len
 * bytes, is allocated here.  Returns 0 and *out (owned by the caller), or
 * -EINVAL (a chance above certainty, delay or limit out of range,
 * max_pkt_len 0 or above 65535), -ENOMEM.
 */
int tp_impair_new(const struct tp_impair_spec *spec, size_t max_pkt_len,
    struct tp_impair **out);

/* Free imp and the packets it holds.  NULL is allowed. */
void tp_impair_free(struct tp_impair *imp);

/*
 * One packet enters the link in direction dir at now; pkt is borrowed and
 * copied.  Returns 0 when the packet was queued or lost on purpose,
 * -ENOBUFS when the queue was full (counted in n_overflow; a transmit
 * function may answer -EAGAIN), -EMSGSIZE when len is 0 or above
 * max_pkt_len (counted in n_too_big).  Call tp_impair_pop() afterwards:
 * with no delay the packet is due at once.
 */
int tp_impair_push(struct tp_impair *imp, enum tp_impair_dir dir, const void *pkt,
    size_t len, struct tapir_time now);

/* As tp_impair_push(), the packet given as the stack's transmit pieces. */
int tp_impair_pushv(struct tp_impair *imp, enum tp_impair_dir dir,
    const struct tapir_iov *iov, int iovcnt, struct tapir_time now);

/*
 * Copy the next packet of dir that is due at now into buf (cap bytes) and
 * remove it.  Packets come out in order of due time, and in push order
 * among equal due times.  Returns its length (> 0), 0 when none is due,
 * or -EMSGSIZE if cap is too small (the packet stays queued).
 */
int tp_impair_pop(struct tp_impair *imp, enum tp_impair_dir dir, struct tapir_time now,
    void *buf, size_t cap);

/*
 * The earliest due time of any queued packet, either direction, or
 * TAPIR_TIME_NEVER: the loop arms its timer for the earlier of this and the
 * stack's deadline.
 */
struct tapir_time tp_impair_next_deadline(const struct tp_impair *imp);

/* Packets queued in dir now. */
size_t tp_impair_queued(const struct tp_impair *imp, enum tp_impair_dir dir);

/* The counters of dir; valid until tp_impair_free(). */
const struct tp_impair_stats *tp_impair_stats(const struct tp_impair *imp,
    enum tp_impair_dir dir);

#endif
