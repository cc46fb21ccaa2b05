/*
 * tapir/stack.h -- the stack object: configuration, packets in, packets out.
 *
 * The stack is sans-IO.  The caller hands it received IP packets and the
 * current time; the stack hands packets to send to the link's transmit
 * function and says when it next wants to be polled.  It makes no system
 * calls, reads no clock and keeps no globals, so several stacks can live in
 * one process.  A stack is not thread-safe: one thread at a time.
 */
#ifndef TAPIR_STACK_H
#define TAPIR_STACK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "tapir/time.h"
#include "tapir/tcp.h"

struct tapir_stack;                             /* opaque */

struct tapir_iov {
    const void *base;
    size_t len;
};

/*
 * Send one IPv4 packet made of iovcnt pieces.  iov and what it points to are
 * borrowed for the duration of the call only.  Return 0 once the packet is
 * taken (or knowingly dropped), or -EAGAIN if the link is full: the stack
 * counts the packet as lost and relies on its own retransmission.
 */
typedef int tapir_transmit_fn(void *ctx, const struct tapir_iov *iov, int iovcnt);

struct tapir_link {
    tapir_transmit_fn *transmit;
    void *ctx;                                  /* borrowed; passed back as is */
};

enum tapir_log_level {
    TAPIR_LOG_ERROR,
    TAPIR_LOG_WARN,
    TAPIR_LOG_INFO,
    TAPIR_LOG_DEBUG,
    TAPIR_LOG_TRACE,
};

/*
 * Receives the stack's log lines.  Called from inside tapir_stack_input() and
 * tapir_stack_poll() with the stack in a consistent state; it must not call
 * back into the stack.  fmt and ap follow vprintf; no trailing newline.
 */
typedef void tapir_log_fn(void *ctx, enum tapir_log_level level, const char *fmt, va_list ap);

struct tapir_config {
    uint32_t addr;                  /* our IPv4 address, host byte order */
    uint8_t prefix_len;             /* of the attached network, 0..32 */
    uint16_t mtu;                   /* link MTU in bytes, 68..65535 */
    uint8_t ttl;                    /* for packets we originate */
    uint64_t seed;                  /* seeds ISNs, ports, secrets: fix it in tests */
    uint32_t icmp_rate_per_sec;     /* ICMP errors and echo replies; 0: unlimited */
    /* IPv4 reassembly (RFC 791, RFC 815): datagrams held at once, each up
     * to 64 KB, allocated at creation (tapir_config_default(): 8, about
     * 530 KB); when all are busy the oldest is given up.  0: fragments are
     * counted and dropped. */
    uint32_t reass_max;
    uint32_t reass_timeout_ms;      /* RFC 1122 3.3.2: 60 to 120 s; 0: 60 s */
    struct tapir_tcp_config tcp;
    tapir_log_fn *log;              /* NULL: no logs */
    void *log_ctx;                  /* borrowed; passed back as is */
    enum tapir_log_level log_level; /* lines above this level are not formatted */
};

/* Fill cfg with defaults.  addr is left 0: the caller must set it. */
void tapir_config_default(struct tapir_config *cfg);

/*
 * Create a stack.  All memory it will use is allocated here, sized by cfg.
 * cfg and link are copied.  Returns 0 and *out, or -EINVAL for a bad
 * configuration, -ENOMEM.
 */
int tapir_stack_new(const struct tapir_config *cfg, const struct tapir_link *link,
    struct tapir_stack **out);

/* Free a stack and everything it owns.  NULL is allowed. */
void tapir_stack_free(struct tapir_stack *st);

/*
 * One received IPv4 packet.  pkt is borrowed: whatever the stack keeps, it
 * copies.  Replies may be transmitted before this returns.  Malformed packets
 * are counted (see tapir_stats_*) and dropped.
 */
void tapir_stack_input(struct tapir_stack *st, const void *pkt, size_t len,
    struct tapir_time now);

/*
 * Do what is due at now (timers, pending output).  Returns the instant the
 * stack next needs a poll, or TAPIR_TIME_NEVER.  Calling it earlier is
 * harmless.
 */
struct tapir_time tapir_stack_poll(struct tapir_stack *st, struct tapir_time now);

/* The stack's own configuration, as it is in force. */
const struct tapir_config *tapir_stack_config(const struct tapir_stack *st);

/*
 * Change the TCP settings of a running stack, as a sysctl would: buffer
 * sizes, keepalive and option defaults apply to sockets created afterwards,
 * the rest (timers' bounds, the RFC 5961 switches, rate limits) to what
 * happens from now on.  tcp is copied.  -EINVAL if it is invalid or
 * changes max_socks (the tables are sized at creation).
 */
int tapir_stack_set_tcp_config(struct tapir_stack *st, const struct tapir_tcp_config *tcp);

/*
 * Counters.  Each has a stable name (lined up with Linux nstat where a
 * counterpart exists, "Tapir..." otherwise) and a one-line description.
 * Indices run from 0 to tapir_stats_count() - 1 and may change between
 * versions; names do not.
 */
size_t tapir_stats_count(void);
const char *tapir_stats_name(size_t i);
const char *tapir_stats_desc(size_t i);
uint64_t tapir_stats_get(const struct tapir_stack *st, size_t i);

/* Format an IPv4 address (host order) into buf; returns buf. */
char *tapir_ipv4_str(uint32_t addr, char buf[16]);

/* Parse dotted-quad text; returns 0 and *addr (host order), or -EINVAL. */
int tapir_ipv4_parse(const char *s, uint32_t *addr);

#endif
