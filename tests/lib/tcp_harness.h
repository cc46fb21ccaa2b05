/*
 * tests/lib/tcp_harness.h -- scripted-segment tests for the TCP core.
 *
 * One harness owns one stack (10.0.0.1/24) whose link records every
 * transmitted packet, and a virtual clock.  Tests play the peer
 * (10.0.0.2): th_inject() builds an IPv4+TCP packet with correct checksums
 * from fields; th_expect() asserts the exact next segment the stack sent.
 * Every assertion is a cmocka assertion.  th_free() fails the test if any
 * socket slot is still in use (close everything, then th_expire()).
 */
#ifndef TAPIR_TESTS_TCP_HARNESS_H
#define TAPIR_TESTS_TCP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapir/stack.h"
#include "tapir/tcp.h"
#include "wire/tcphdr.h"

#define TH_LOCAL 0x0a000001u        /* 10.0.0.1: the stack */
#define TH_REMOTE 0x0a000002u       /* 10.0.0.2: the scripted peer */
#define TH_ANY (-1)                 /* th_expect(): do not check this field */
#define TH_MAX_PKTS 256

struct th_seg {
    uint16_t sport, dport;          /* th_inject: defaults from the harness if 0 */
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    struct tp_tcp_opts opts;
    const void *data;               /* borrowed */
    size_t len;
    uint32_t src, dst;              /* filled by th_next() */
    uint8_t tos;                    /* the IPv4 TOS byte: th_inject sends it, th_next fills it */
    uint8_t payload[65536];         /* filled by th_next() */
};

struct th_pkt {
    uint8_t *buf;
    size_t len;
};

struct th {
    struct tapir_stack *st;
    struct tapir_config cfg;
    struct tapir_time now;
    struct th_pkt q[TH_MAX_PKTS];   /* recorded, not yet consumed */
    size_t q_head, q_len;
    size_t n_tx;                    /* packets transmitted in all */
    uint16_t lport, rport;          /* defaults: our port, the peer's port */
    struct th_seg last;             /* the latest segment th_next() returned */
};

/* A harness with cfg (NULL: defaults with max_socks 16, seed 1).  The clock
 * starts at 1 s. */
struct th *th_new(const struct tapir_config *cfg);
/* Teardown: asserts every socket slot is free, then frees all. */
void th_free(struct th *h);

/* The defaults th_new() uses, for tests that change a field. */
void th_config(struct tapir_config *cfg);

/* Inject a segment from the peer.  Zero ports mean h->rport -> h->lport. */
void th_inject(struct th *h, const struct th_seg *s);
/* The same, from fields. */
void th_send(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
    const void *data, size_t len);

/* Inject raw TCP bytes tcp[0..len) (borrowed) from the peer, with the IPv4
 * header and the TCP checksum filled in (so malformed options can be sent). */
void th_inject_raw(struct th *h, const uint8_t *tcp, size_t len);

/* Inject an ICMP error of type/code from the peer quoting a TCP segment of
 * ours (ports h->lport -> h->rport, sequence number seq).  next_mtu is for
 * frag-needed. */
void th_inject_icmp(struct th *h, uint8_t type, uint8_t code, uint16_t next_mtu, uint32_t seq);

/* Make the stack's next ISN iss (tests of sequence wrap-around). */
void th_force_isn(struct th *h, uint32_t iss);

/* Poll at the current time (flushes what socket calls queued). */
struct tapir_time th_poll(struct th *h);
/* Advance the virtual clock by ms (or us) and poll. */
void th_advance_ms(struct th *h, int64_t ms);
void th_advance_us(struct th *h, int64_t us);
/* Advance step by step to the stack's deadlines until none is left or
 * max_ms passed; transmitted packets are discarded. */
void th_expire(struct th *h, int64_t max_ms);

/* Take the next transmitted segment; false if none.  Asserts it is a
 * well-formed TCP/IPv4 packet with correct checksums. */
bool th_next(struct th *h, struct th_seg *out);
/* Assert the next transmitted segment's fields (TH_ANY skips one); returns
 * it in h->last. */
void th_expect(struct th *h, int flags, int64_t seq, int64_t ack, int64_t win, int64_t len);
void th_expect_none(struct th *h);
size_t th_pending(const struct th *h);
void th_drain(struct th *h);

/* State of socket s (asserting it exists). */
enum tapir_tcp_state th_state(struct th *h, int s);
/* Counter by its public name. */
uint64_t th_stat(struct th *h, const char *name);
/* Number of sockets in use, orphans included. */
size_t th_nsocks(struct th *h);

/* Listen on port, take the peer's SYN (seq peer_iss) through to an accepted
 * socket; returns it and our ISS in *iss.  *lsock gets the listener. */
int th_passive_open(struct th *h, uint16_t port, uint32_t peer_iss, int *lsock, uint32_t *iss);
/* Connect socket s (the caller's, so options can be set first) to the
 * peer's rport: the harness's ports follow, and the SYN must go at once
 * with exactly syn_flags (TP_TCP_SYN, and ECE|CWR when asking for ECN).
 * Returns our ISS. */
uint32_t th_connect(struct th *h, int s, uint16_t rport, int syn_flags);
/* Connect to the peer, answer with SYN,ACK (seq peer_iss), expect our ACK;
 * returns the socket and our ISS in *iss. */
int th_active_open(struct th *h, uint16_t rport, uint32_t peer_iss, uint32_t *iss);

#endif
