/*
 * src/core/tcp_table.c -- finding TCBs: a hash of 4-tuples for
 * connections, a hash of local ports for bound sockets and listeners, and
 * ephemeral port selection (RFC 6056 3.3.3, algorithm 3).
 *
 * Called by tcp_input.c (demultiplexing), tcp_usrreq.c (bind, connect,
 * listen) and tcp_subr.c (free).  Both tables are arrays of bucket heads
 * sized at creation (a power of two >= max_socks); chains run through the
 * TCBs, so hashing never allocates.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/tcp_int.h"

int
tp_tcp_table_init(struct tapir_stack *st, struct tp_tcp *tcp)
{
    uint32_t n = 16;

    (void)st;
    while (n < tcp->n_tcbs)
        n <<= 1;
    tcp->hash_mask = n - 1;
    tcp->conn_hash = malloc(n * sizeof(*tcp->conn_hash));
    tcp->port_hash = malloc(n * sizeof(*tcp->port_hash));
    if (tcp->conn_hash == NULL || tcp->port_hash == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        tcp->conn_hash[i] = tcp->port_hash[i] = TP_TCP_NONE;
    return 0;
}

/* Keyed, so a peer cannot aim its 4-tuples at one chain. */
static uint32_t
conn_bucket(const struct tp_tcp *tcp, uint32_t laddr, uint16_t lport, uint32_t raddr,
    uint16_t rport)
{
    uint8_t m[12];

    tp_store_be32(m, laddr);
    tp_store_be16(m + 4, lport);
    tp_store_be32(m + 6, raddr);
    tp_store_be16(m + 10, rport);
    return (uint32_t)tp_siphash24(tcp->port_key, m, sizeof(m)) & tcp->hash_mask;
}

static uint32_t
port_bucket(const struct tp_tcp *tcp, uint16_t port)
{
    return (port * 0x9e3779b1u >> 16) & tcp->hash_mask;
}

struct tp_tcb *
tp_tcp_lookup(struct tapir_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
    uint16_t rport)
{
    struct tp_tcp *tcp = st->tcp;
    uint32_t i = tcp->conn_hash[conn_bucket(tcp, laddr, lport, raddr, rport)];

    while (i != TP_TCP_NONE) {
        struct tp_tcb *t = &tcp->tcbs[i];

        if (t->lport == lport && t->rport == rport && t->raddr == raddr && t->laddr == laddr)
            return t;
        i = t->conn_next;
    }
    return NULL;
}

struct tp_tcb *
tp_tcp_lookup_listener(struct tapir_stack *st, uint32_t laddr, uint16_t lport)
{
    struct tp_tcp *tcp = st->tcp;
    uint32_t i = tcp->port_hash[port_bucket(tcp, lport)];

    while (i != TP_TCP_NONE) {
        struct tp_tcb *t = &tcp->tcbs[i];

        if (t->lport == lport && t->state == TAPIR_TCP_LISTEN
            && (t->laddr == 0 || t->laddr == laddr))
            return t;
        i = t->port_next;
    }
    return NULL;
}

struct tp_tcb *
tp_tcp_lookup_bound(struct tapir_stack *st, uint32_t laddr, uint16_t lport)
{
    struct tp_tcp *tcp = st->tcp;
    uint32_t i = tcp->port_hash[port_bucket(tcp, lport)];

    while (i != TP_TCP_NONE) {
        struct tp_tcb *t = &tcp->tcbs[i];

        if (t->lport == lport && t->state == TAPIR_TCP_CLOSED && t->raddr == 0
            && (t->laddr == 0 || t->laddr == laddr))
            return t;
        i = t->port_next;
    }
    return NULL;
}

void
tp_tcp_hash_conn(struct tp_tcb *tcb)
{
    struct tp_tcp *tcp = tcb->st->tcp;
    uint32_t b = conn_bucket(tcp, tcb->laddr, tcb->lport, tcb->raddr, tcb->rport);

    TP_ASSERT(!tcb->hashed);
    tcb->conn_next = tcp->conn_hash[b];
    tcp->conn_hash[b] = tcb->index;
    tcb->hashed = true;
}

void
tp_tcp_unhash_conn(struct tp_tcb *tcb)
{
    struct tp_tcp *tcp = tcb->st->tcp;
    uint32_t *link;

    if (!tcb->hashed)
        return;
    link = &tcp->conn_hash[conn_bucket(tcp, tcb->laddr, tcb->lport, tcb->raddr, tcb->rport)];
    while (*link != TP_TCP_NONE && *link != tcb->index)
        link = &tcp->tcbs[*link].conn_next;
    TP_ASSERT(*link == tcb->index);
    if (*link == tcb->index)
        *link = tcb->conn_next;
    tcb->hashed = false;
    tcb->conn_next = TP_TCP_NONE;
}

void
tp_tcp_bind_port(struct tp_tcb *tcb)
{
    struct tp_tcp *tcp = tcb->st->tcp;
    uint32_t b = port_bucket(tcp, tcb->lport);

    TP_ASSERT(!tcb->bound);
    tcb->port_next = tcp->port_hash[b];
    tcp->port_hash[b] = tcb->index;
    tcb->bound = true;
}

void
tp_tcp_unbind_port(struct tp_tcb *tcb)
{
    struct tp_tcp *tcp = tcb->st->tcp;
    uint32_t *link;

    if (!tcb->bound)
        return;
    link = &tcp->port_hash[port_bucket(tcp, tcb->lport)];
    while (*link != TP_TCP_NONE && *link != tcb->index)
        link = &tcp->tcbs[*link].port_next;
    TP_ASSERT(*link == tcb->index);
    if (*link == tcb->index)
        *link = tcb->port_next;
    tcb->bound = false;
    tcb->port_next = TP_TCP_NONE;
}

/* A port is in use if a socket is bound to it; with reuse, TCBs in
 * TIME-WAIT (or closed) do not count. */
bool
tp_tcp_port_in_use(struct tapir_stack *st, uint16_t port, bool reuse)
{
    struct tp_tcp *tcp = st->tcp;
    uint32_t i = tcp->port_hash[port_bucket(tcp, port)];

    while (i != TP_TCP_NONE) {
        struct tp_tcb *t = &tcp->tcbs[i];

        if (t->lport == port
            && !(reuse && (t->state == TAPIR_TCP_TIME_WAIT || t->state == TAPIR_TCP_CLOSED)))
            return true;
        i = t->port_next;
    }
    return false;
}

/* RFC 6056 3.3.3 (algorithm 3): a keyed hash of the remote end picks where
 * the search starts, and a counter moves it on per connection, so ports
 * are hard to guess and reuse of a 4-tuple is rare.  raddr 0 asks for a
 * port no socket uses at all (bind or listen to port 0). */
int
tp_tcp_pick_port(struct tapir_stack *st, uint32_t raddr, uint16_t rport, uint16_t *out)
{
    struct tp_tcp *tcp = st->tcp;
    uint32_t lo = st->cfg.tcp.ephemeral_lo, num = st->cfg.tcp.ephemeral_hi - lo + 1u;
    uint8_t m[10];
    uint32_t offset;

    tp_store_be32(m, st->cfg.addr);
    tp_store_be32(m + 4, raddr);
    tp_store_be16(m + 8, rport);
    offset = (uint32_t)tp_siphash24(tcp->isn_key, m, sizeof(m));
    for (uint32_t count = 0; count < num; count++) {
        uint16_t port = (uint16_t)(lo + (offset + tcp->port_next_ctr) % num);

        tcp->port_next_ctr++;
        if (raddr == 0 ? !tp_tcp_port_in_use(st, port, false)
                       : tp_tcp_lookup(st, st->cfg.addr, port, raddr, rport) == NULL
                && tp_tcp_lookup_listener(st, st->cfg.addr, port) == NULL) {
            *out = port;
            return 0;
        }
    }
    return -EADDRNOTAVAIL;
}
