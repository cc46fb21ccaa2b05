/*
 * src/linux/tun.h -- a TUN device: raw IPv4 packets to and from the kernel.
 *
 * The device is opened IFF_TUN | IFF_NO_PI (no packet-information prefix:
 * each read returns one IP packet, each write takes one), non-blocking and
 * close-on-exec.  It is not persistent: the kernel removes the interface,
 * with its addresses and routes, when the fd is closed.
 */
#ifndef TP_LINUX_TUN_H
#define TP_LINUX_TUN_H

#include <net/if.h>
#include <stddef.h>
#include <sys/types.h>

#include "tapir/stack.h"

struct tp_tun {
    int fd;                         /* -1 when closed */
    int ifindex;
    char name[IFNAMSIZ];            /* as the kernel named it */
};

/*
 * Open a TUN device named name, or a kernel-chosen "tunN" if name is NULL
 * or "".  Fills *tun.  Returns 0, or -EPERM/-EACCES (no CAP_NET_ADMIN),
 * -ENAMETOOLONG, -EBUSY (the name is taken by a device in use), -ENOENT
 * (no /dev/net/tun), or another negative errno.  On error tun->fd is -1.
 */
int tp_tun_open(struct tp_tun *tun, const char *name);

/* Close the fd (the interface disappears with it).  Safe twice. */
void tp_tun_close(struct tp_tun *tun);

/*
 * Read one packet into buf[0..cap).  Returns its length, -EAGAIN when no
 * packet is queued, or another negative errno.  A packet longer than cap
 * is cut to cap by the kernel; give cap >= MTU.
 */
ssize_t tp_tun_read(struct tp_tun *tun, void *buf, size_t cap);

/*
 * Called by tp_tun_drain for each packet; pkt is borrowed for the call
 * (the next read reuses the buffer).
 */
typedef void tp_tun_packet_fn(void *ctx, const void *pkt, size_t len);

/*
 * Read up to max packets, calling fn for each, and stop early when the
 * queue is empty.  Bounding the batch keeps one busy device from starving
 * the other watchers of a loop.  Returns the number of packets read, or a
 * negative errno if the first read failed with something other than
 * -EAGAIN (a later failure ends the batch and is returned next time).
 */
int tp_tun_drain(struct tp_tun *tun, void *buf, size_t cap, unsigned max,
    tp_tun_packet_fn *fn, void *ctx);

/*
 * Write one packet gathered from iov[0..iovcnt) (borrowed; at most
 * TP_TUN_MAX_IOV pieces) with writev(2).  Returns 0, -EAGAIN if the
 * device queue is full, -EINVAL for too many pieces, or another negative
 * errno (-EIO when the interface is down).
 */
#define TP_TUN_MAX_IOV 16
int tp_tun_writev(struct tp_tun *tun, const struct tapir_iov *iov, int iovcnt);

/*
 * Stop the kernel from running IPv6 on the interface (it would otherwise
 * send router solicitations and MLD reports that the IPv4-only stack can
 * only count as bad versions).  Writes /proc/sys/net/ipv6/conf/NAME/
 * disable_ipv6 in the current network namespace.  Returns 0, 0 when the
 * kernel has no IPv6, or a negative errno.  Call before the link goes up.
 */
int tp_tun_disable_ipv6(const struct tp_tun *tun);

#endif
