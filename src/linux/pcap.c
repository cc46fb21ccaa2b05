/*
 * src/linux/pcap.c -- the link's capture file, written with libpcap.
 *
 * Called by the runtime (the transmit function and the TUN read path).
 * Calls libpcap's pcap_open_dead() and pcap_dump*() on a stdio stream we
 * open ourselves, so we choose its buffer and its O_CLOEXEC.  The monotonic
 * times the runtime passes are turned into wall-clock times from one
 * CLOCK_REALTIME reading taken at open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

#include "linux/pcap.h"

#define PCAP_SNAPLEN_MAX  262144u       /* libpcap's own ceiling */
#define PCAP_STDIO_BUF    (64u * 1024u) /* records are batched into writes of this size */

struct tp_pcap {
    pcap_t *dead;                       /* owned; only describes the link type */
    pcap_dumper_t *dumper;              /* owned; owns fp once created */
    FILE *fp;                           /* borrowed from dumper */
    uint32_t snaplen;
    struct tapir_time mono_base;        /* the caller's clock at open ... */
    int64_t wall_base_us;               /* ... and the wall clock at that instant */
    int err;                            /* first write error, sticky; 0 if none */
    struct tp_pcap_stats stats;
    unsigned char buf[];                /* snaplen bytes: iovec pieces gathered */
};

/* The negative errno a failed stdio call left, never 0. */
static int
stdio_error(void)
{
    return errno != 0 ? -errno : -EIO;
}

static int
wall_now_us(int64_t *us)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
        return -errno;
    *us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    return 0;
}

static int
open_stream(struct tp_pcap *pc, const char *path)
{
    FILE *fp;

    if ((fp = fopen(path, "wbe")) == NULL)
        return -errno;
    if (setvbuf(fp, NULL, _IOFBF, PCAP_STDIO_BUF) != 0) {
        fclose(fp);
        return -ENOMEM;
    }
    /*
     * pcap_dump_fopen() writes the 24-byte file header into the empty stdio
     * buffer, which cannot fail; its one other failure (an unknown link
     * type) leaves fp open.  So on NULL the stream is still ours to close.
     */
    if ((pc->dumper = pcap_dump_fopen(pc->dead, fp)) == NULL) {
        fclose(fp);
        return -EIO;
    }
    pc->fp = fp;
    return 0;
}

int
tp_pcap_open_at(const char *path, uint32_t snaplen, struct tapir_time now,
    int64_t wall_us, struct tp_pcap **out)
{
    struct tp_pcap *pc;
    int err;

    *out = NULL;
    if (snaplen == 0)
        snaplen = TP_PCAP_SNAPLEN_DEFAULT;
    if (snaplen > PCAP_SNAPLEN_MAX || path == NULL)
        return -EINVAL;
    if ((pc = calloc(1, sizeof(*pc) + snaplen)) == NULL)
        return -ENOMEM;
    pc->snaplen = snaplen;
    pc->mono_base = now;
    pc->wall_base_us = wall_us;
    err = -ENOMEM;
    if ((pc->dead = pcap_open_dead(DLT_RAW, (int)snaplen)) == NULL)
        goto fail;
    if ((err = open_stream(pc, path)) != 0)
        goto fail;
    *out = pc;
    return 0;
fail:
    if (pc->dead != NULL)
        pcap_close(pc->dead);
    free(pc);
    return err;
}

int
tp_pcap_open(const char *path, uint32_t snaplen, struct tapir_time now,
    struct tp_pcap **out)
{
    int64_t wall_us = 0;
    int err;

    *out = NULL;
    if ((err = wall_now_us(&wall_us)) != 0)
        return err;
    return tp_pcap_open_at(path, snaplen, now, wall_us, out);
}

/* The record header for a packet of orig_len bytes, caplen of them kept, at t. */
static void
fill_hdr(const struct tp_pcap *pc, struct pcap_pkthdr *h, size_t orig_len, size_t caplen,
    struct tapir_time t)
{
    int64_t us = pc->wall_base_us + (t.us - pc->mono_base.us);

    if (us < 0)
        us = 0;                         /* before the epoch: the format cannot say it */
    h->ts.tv_sec = (time_t)(us / 1000000);
    h->ts.tv_usec = (suseconds_t)(us % 1000000);
    h->caplen = (bpf_u_int32)caplen;
    h->len = orig_len > UINT32_MAX ? UINT32_MAX : (bpf_u_int32)orig_len;
}

/* Write one record whose first caplen bytes are at data. */
static int
dump(struct tp_pcap *pc, const void *data, size_t orig_len, size_t caplen, struct tapir_time t)
{
    struct pcap_pkthdr h;

    if (pc->err != 0)
        return pc->err;
    fill_hdr(pc, &h, orig_len, caplen, t);
    errno = 0;
    pcap_dump((unsigned char *)pc->dumper, &h, data);
    if (ferror(pc->fp)) {
        pc->err = stdio_error();        /* pcap_dump() reports nothing itself */
        return pc->err;
    }
    pc->stats.n_pkts++;
    pc->stats.n_bytes += caplen;
    if (caplen < orig_len)
        pc->stats.n_truncated++;
    return 0;
}

int
tp_pcap_write(struct tp_pcap *pc, const void *pkt, size_t len, struct tapir_time t)
{
    if (pkt == NULL && len != 0)
        return -EINVAL;
    return dump(pc, pkt, len, len < pc->snaplen ? len : pc->snaplen, t);
}

int
tp_pcap_writev(struct tp_pcap *pc, const struct tapir_iov *iov, int iovcnt,
    struct tapir_time t)
{
    size_t total = 0, caplen = 0;

    if (iovcnt < 0)
        return -EINVAL;
    for (int i = 0; i < iovcnt; i++) {
        size_t take = iov[i].len;

        if (iov[i].base == NULL && iov[i].len != 0)
            return -EINVAL;
        if (take > pc->snaplen - caplen)
            take = pc->snaplen - caplen;
        if (take != 0)
            memcpy(pc->buf + caplen, iov[i].base, take);
        caplen += take;
        total += iov[i].len;
    }
    return dump(pc, pc->buf, total, caplen, t);
}

int
tp_pcap_flush(struct tp_pcap *pc)
{
    if (pc->err != 0)
        return pc->err;
    errno = 0;
    if (pcap_dump_flush(pc->dumper) == -1)
        pc->err = stdio_error();
    return pc->err;
}

int
tp_pcap_close(struct tp_pcap *pc)
{
    int err;

    if (pc == NULL)
        return 0;
    err = tp_pcap_flush(pc);
    /*
     * pcap_dump_close() returns nothing; after a successful flush the only
     * error left to miss is a deferred one from close(2) (NFS).
     */
    pcap_dump_close(pc->dumper);
    pcap_close(pc->dead);
    free(pc);
    return err;
}

const struct tp_pcap_stats *
tp_pcap_stats(const struct tp_pcap *pc)
{
    return &pc->stats;
}
