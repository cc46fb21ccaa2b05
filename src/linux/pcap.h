/*
 * src/linux/pcap.h -- a capture file of the link, in classic pcap format.
 *
 * The runtime's tap for `tapir run --pcap FILE`: every packet the stack
 * sends or receives is appended, with its time, to a file that tshark,
 * tcpdump and Wireshark read.  The file is written through libpcap's dump
 * functions with link type LINKTYPE_RAW (101): each record is a bare IP
 * packet, no link header.  Writes are buffered; the file is complete after
 * tp_pcap_flush() or tp_pcap_close().
 *
 * Not thread-safe: one thread at a time, like the stack.
 */
#ifndef TP_LINUX_PCAP_H
#define TP_LINUX_PCAP_H

#include <stddef.h>
#include <stdint.h>

#include "tapir/stack.h"
#include "tapir/time.h"

#define TP_PCAP_SNAPLEN_DEFAULT 65535u  /* the largest IPv4 packet: nothing is cut */
#define TP_PCAP_LINKTYPE        101u    /* LINKTYPE_RAW, what the file header says */

struct tp_pcap;                         /* opaque */

struct tp_pcap_stats {
    uint64_t n_pkts;                    /* records written */
    uint64_t n_bytes;                   /* packet bytes written (after snaplen) */
    uint64_t n_truncated;               /* records cut to snaplen */
};

/*
 * Create (or truncate) path and write the pcap file header.  snaplen bounds
 * the bytes kept per packet (0: TP_PCAP_SNAPLEN_DEFAULT).  now is the
 * caller's monotonic clock at this moment; the wall clock is read once here
 * (CLOCK_REALTIME) so that every later record carries the real time of
 * day: wall = wall_at_open + (t - now).  path is borrowed.  Returns 0 and
 * *out (owned by the caller, release with tp_pcap_close()), or -EINVAL
 * (snaplen above 262144), -ENOMEM, or the negative errno of open/write.
 */
int tp_pcap_open(const char *path, uint32_t snaplen, struct tapir_time now,
    struct tp_pcap **out);

/*
 * As tp_pcap_open(), but the wall-clock time of now is given (wall_us:
 * microseconds since the Unix epoch) instead of read.  For tests, and for
 * callers whose clock is virtual.
 */
int tp_pcap_open_at(const char *path, uint32_t snaplen, struct tapir_time now,
    int64_t wall_us, struct tp_pcap **out);

/*
 * Append one packet held in one buffer (a packet read from the TUN device).
 * pkt is borrowed.  t is the caller's monotonic time of the packet.  Returns
 * 0, or a negative errno if the file cannot be written; after a write error
 * every later call returns the same error.
 */
int tp_pcap_write(struct tp_pcap *pc, const void *pkt, size_t len, struct tapir_time t);

/*
 * Append one packet given as iovcnt pieces, as tapir_transmit_fn receives
 * it.  iov and its pieces are borrowed.  Returns as tp_pcap_write(), and
 * -EINVAL for iovcnt < 0 or a NULL piece with a non-zero length.
 */
int tp_pcap_writev(struct tp_pcap *pc, const struct tapir_iov *iov, int iovcnt,
    struct tapir_time t);

/*
 * Hand buffered records to the kernel, so a reader of the file sees them.
 * Cheap when nothing is buffered; the loop may call it before each sleep.
 * Returns 0 or a negative errno.
 */
int tp_pcap_flush(struct tp_pcap *pc);

/*
 * Flush, close the file and free pc.  NULL is allowed (returns 0).  Returns
 * 0, or the first write error the file met (the file may then be short).
 */
int tp_pcap_close(struct tp_pcap *pc);

/* The counters of pc; the pointer stays valid until tp_pcap_close(). */
const struct tp_pcap_stats *tp_pcap_stats(const struct tp_pcap *pc);

#endif
