/*
 * src/services/svc.h -- built-in TCP services on a tapir stack: echo (RFC
 * 862), discard (RFC 863), chargen (RFC 864) and a small HTTP/1.1 server.
 *
 * Written on the core's socket API (include/tapir/tcp.h) as any program
 * would be: the owner of the stack drains tapir_tcp_next_event() after
 * each input/poll and hands every event to tp_svc_event(); the services
 * act on their sockets there, and the owner polls the stack again to send
 * what they queued (the runtime's after-hook does both).
 *
 * Memory is bounded: at most max_conns connections, each with fixed
 * buffers allocated at accept; a connection over the limit is reset.
 * Not thread-safe: the stack's thread only.
 */
#ifndef TP_SERVICES_SVC_H
#define TP_SERVICES_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapir/stack.h"

enum tp_svc_kind {
    TP_SVC_ECHO,
    TP_SVC_DISCARD,
    TP_SVC_CHARGEN,
    TP_SVC_HTTP,
    TP_SVC_NKINDS
};

struct tp_svc_config {
    uint32_t max_conns;             /* open service connections, at most */
    uint32_t keepalive_s;           /* 0: off; else idle and interval, 3 probes */
    uint32_t user_timeout_ms;       /* 0: the stack's R2; else give up after this */
    const char *http_dir;           /* borrowed; NULL: generated content only */
};

/* Counters of the services, as "TapirSvc..." names for `tapir stats`. */
#define TP_SVC_STATS(X)                                                            \
    X(ACCEPTED, "TapirSvcAccepted", "service connections accepted")                \
    X(REFUSED, "TapirSvcRefused", "connections reset: over the connection limit")  \
    X(CLOSED, "TapirSvcClosed", "service connections closed")                      \
    X(ERRORS, "TapirSvcErrors", "service connections ended by an error")           \
    X(BYTES_IN, "TapirSvcBytesIn", "bytes received by the services")               \
    X(BYTES_OUT, "TapirSvcBytesOut", "bytes queued for sending by the services")   \
    X(HTTP_REQS, "TapirSvcHttpRequests", "HTTP requests answered")                 \
    X(HTTP_4XX, "TapirSvcHttp4xx", "HTTP requests answered with a 4xx status")     \
    X(HTTP_5XX, "TapirSvcHttp5xx", "HTTP requests answered with a 5xx status")

enum tp_svc_stat {
#define X(name, pub, desc) TP_SVC_STAT_##name,
    TP_SVC_STATS(X)
#undef X
    TP_SVC_STAT_N
};

struct tp_svc;

/* 0 and *out, or -ENOMEM, -EINVAL (max_conns 0). cfg is copied. */
int tp_svc_new(struct tapir_stack *st, const struct tp_svc_config *cfg, struct tp_svc **out);

/* Reset every open connection, close the listeners, free.  NULL allowed. */
void tp_svc_free(struct tp_svc *svc);

/* Listen on port for kind.  0, or a negative errno from the stack. */
int tp_svc_listen(struct tp_svc *svc, enum tp_svc_kind kind, uint16_t port);

/* One event from tapir_tcp_next_event(): true if it was for one of the
 * services' sockets (and was handled), false if the socket is not ours. */
bool tp_svc_event(struct tp_svc *svc, const struct tapir_tcp_event *ev);

/* Open service connections now. */
size_t tp_svc_conns(const struct tp_svc *svc);

/* "echo", "discard", "chargen", "http". */
const char *tp_svc_kind_name(enum tp_svc_kind kind);

/* Counters: names and descriptions are static strings. */
const char *tp_svc_stat_name(enum tp_svc_stat s);
const char *tp_svc_stat_desc(enum tp_svc_stat s);
uint64_t tp_svc_stat(const struct tp_svc *svc, enum tp_svc_stat s);

/* The byte at offset off of generated content (HTTP /bytes/N): off % 251. */
static inline uint8_t
tp_svc_pattern_byte(uint64_t off)
{
    return (uint8_t)(off % 251u);
}

/* Fill buf with the pattern from offset off. */
void tp_svc_pattern(uint64_t off, uint8_t *buf, size_t len);

#endif
