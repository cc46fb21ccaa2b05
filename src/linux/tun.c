/*
 * src/linux/tun.c -- the TUN device: open, read in batches, write from iovecs.
 *
 * Called by the runtime loop (loop.c) and by the CLI to create the device.
 * Calls only the kernel's TUN driver (Documentation/networking/tuntap.rst);
 * addresses and link state are netlink.c's business.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "linux/tun.h"

int
tp_tun_open(struct tp_tun *tun, const char *name)
{
    struct ifreq ifr;
    int err;

    tun->fd = -1;
    tun->ifindex = 0;
    tun->name[0] = '\0';
    if (name != NULL && strlen(name) >= IFNAMSIZ)
        return -ENAMETOOLONG;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (name != NULL)
        memcpy(ifr.ifr_name, name, strlen(name));
    if ((tun->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1)
        return -errno;
    if (ioctl(tun->fd, TUNSETIFF, &ifr) == -1) {
        err = -errno;
        goto fail;
    }
    memcpy(tun->name, ifr.ifr_name, IFNAMSIZ);
    tun->name[IFNAMSIZ - 1] = '\0';
    if ((tun->ifindex = (int)if_nametoindex(tun->name)) == 0) {
        err = -errno;
        goto fail;
    }
    return 0;
fail:
    tp_tun_close(tun);
    return err;
}

void
tp_tun_close(struct tp_tun *tun)
{
    if (tun->fd >= 0)
        close(tun->fd);
    tun->fd = -1;
}

ssize_t
tp_tun_read(struct tp_tun *tun, void *buf, size_t cap)
{
    ssize_t n;

    do
        n = read(tun->fd, buf, cap);
    while (n == -1 && errno == EINTR);
    if (n == -1)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n;
}

int
tp_tun_drain(struct tp_tun *tun, void *buf, size_t cap, unsigned max,
    tp_tun_packet_fn *fn, void *ctx)
{
    unsigned n = 0;

    while (n < max) {
        ssize_t len = tp_tun_read(tun, buf, cap);

        if (len < 0) {
            if (len == -EAGAIN || n > 0)
                break;
            return (int)len;
        }
        fn(ctx, buf, (size_t)len);
        n++;
    }
    return (int)n;
}

int
tp_tun_writev(struct tp_tun *tun, const struct tapir_iov *iov, int iovcnt)
{
    struct iovec v[TP_TUN_MAX_IOV];
    ssize_t n;

    if (iovcnt < 0 || iovcnt > TP_TUN_MAX_IOV)
        return -EINVAL;
    for (int i = 0; i < iovcnt; i++) {
        /* writev takes non-const bases but only reads them. */
        v[i].iov_base = (void *)(uintptr_t)iov[i].base;
        v[i].iov_len = iov[i].len;
    }
    do
        n = writev(tun->fd, v, iovcnt);
    while (n == -1 && errno == EINTR);
    if (n == -1)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return 0;
}

int
tp_tun_disable_ipv6(const struct tp_tun *tun)
{
    char path[96];
    int fd, err = 0;

    snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", tun->name);
    if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
        return errno == ENOENT ? 0 : -errno;
    if (write(fd, "1\n", 2) != 2)
        err = -errno;
    close(fd);
    return err;
}
