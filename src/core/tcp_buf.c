/*
 * src/core/tcp_buf.c -- byte rings for the send and receive buffers.
 *
 * Called by tcp_usrreq.c (the app's send and recv), tcp_input.c (received
 * data, acknowledged data) and tcp_output.c (segments read in place, as up to
 * two iovecs).  The ring is allocated once, at its capacity; only
 * tp_ring_grow(), once per connection at the SYN exchange, allocates again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/tcp_int.h"

int
tp_ring_init(struct tp_ring *r, uint32_t cap)
{
    memset(r, 0, sizeof(*r));
    if (cap == 0)
        return -EINVAL;
    if ((r->buf = malloc(cap)) == NULL)
        return -ENOMEM;
    r->cap = cap;
    return 0;
}

/* A larger ring with the same contents, the bytes held beyond len (out of
 * order data at their offsets) included; they start at offset 0 of the new
 * buffer.  Used once per connection, when the SYN exchange fixes the MSS
 * (cfg.tcp.buf_round_mss); on failure the ring is left as it was. */
int
tp_ring_grow(struct tp_ring *r, uint32_t cap)
{
    uint8_t *nb;
    uint32_t first;

    if (cap <= r->cap)
        return 0;
    if ((nb = malloc(cap)) == NULL)
        return -ENOMEM;
    if (r->buf != NULL) {
        first = r->cap - r->head;
        memcpy(nb, r->buf + r->head, first);
        memcpy(nb + first, r->buf, r->head);
    }
    free(r->buf);
    r->buf = nb;
    r->cap = cap;
    r->head = 0;
    return 0;
}

void
tp_ring_fini(struct tp_ring *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

uint32_t
tp_ring_free(const struct tp_ring *r)
{
    return r->cap - r->len;
}

/* Copy len bytes of src into the ring starting at absolute offset pos. */
static void
copy_in(struct tp_ring *r, uint32_t pos, const uint8_t *src, uint32_t len)
{
    uint32_t first;

    pos %= r->cap;
    first = r->cap - pos < len ? r->cap - pos : len;
    memcpy(r->buf + pos, src, first);
    if (len > first)
        memcpy(r->buf, src + first, len - first);
}

uint32_t
tp_ring_write(struct tp_ring *r, const void *src, uint32_t len)
{
    uint32_t n = len < tp_ring_free(r) ? len : tp_ring_free(r);

    if (n == 0)
        return 0;
    copy_in(r, r->head + r->len, src, n);
    r->len += n;
    return n;
}

void
tp_ring_write_at(struct tp_ring *r, uint32_t off, const void *src, uint32_t len)
{
    TP_ASSERT(off + len <= tp_ring_free(r));
    if (len > 0)
        copy_in(r, r->head + r->len + off, src, len);
}

void
tp_ring_extend(struct tp_ring *r, uint32_t n)
{
    TP_ASSERT(n <= tp_ring_free(r));
    r->len += n;
}

uint32_t
tp_ring_peek(const struct tp_ring *r, uint32_t off, void *dst, uint32_t len)
{
    struct tapir_iov iov[2];
    int n;
    uint32_t done = 0;

    if (off >= r->len)
        return 0;
    if (len > r->len - off)
        len = r->len - off;
    n = tp_ring_iov(r, off, len, iov);
    for (int i = 0; i < n; i++) {
        memcpy((uint8_t *)dst + done, iov[i].base, iov[i].len);
        done += (uint32_t)iov[i].len;
    }
    return done;
}

void
tp_ring_drop(struct tp_ring *r, uint32_t n)
{
    TP_ASSERT(n <= r->len);
    if (n > r->len)
        n = r->len;
    r->head = (r->head + n) % (r->cap ? r->cap : 1);
    r->len -= n;
    /* head is not reset when the ring empties: out-of-order bytes may sit
     * past the end at their offsets (tp_ring_write_at). */
}

int
tp_ring_iov(const struct tp_ring *r, uint32_t off, uint32_t len, struct tapir_iov iov[2])
{
    uint32_t pos, first;

    if (len == 0)
        return 0;
    TP_ASSERT(off + len <= r->len);
    pos = (r->head + off) % r->cap;
    first = r->cap - pos < len ? r->cap - pos : len;
    iov[0] = (struct tapir_iov){ r->buf + pos, first };
    if (first == len)
        return 1;
    iov[1] = (struct tapir_iov){ r->buf, len - first };
    return 2;
}
