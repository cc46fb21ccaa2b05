/*
 * src/cli/device.c -- set up and tear down what a command needs from the
 * kernel: a network namespace, the TUN device and its addresses and routes.
 *
 * Called by `tapir run` and `tapir demo`.  Calls src/linux (tun.c,
 * netlink.c).  Every failure is reported here as one line, with the missing
 * privilege named when that is the cause.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli/cli.h"
#include "linux/clock.h"
#include "linux/log.h"

static bool
is_privilege_error(int err)
{
    return err == -EPERM || err == -EACCES;
}

int
tp_cli_netns_new(void)
{
    struct tp_nl nl;
    int err, lo;

    if (unshare(CLONE_NEWNET) == -1) {
        err = -errno;
        if (is_privilege_error(err))
            tp_cli_error("need root (CAP_SYS_ADMIN) to create a network namespace");
        else
            tp_cli_error("cannot create a network namespace: %s", strerror(-err));
        return err;
    }
    if ((err = tp_nl_open(&nl)) != 0) {
        tp_cli_error("%s", tp_nl_errmsg(&nl));
        return err;
    }
    /* The namespace is ours alone and dies with us: lo stays up. */
    lo = (int)if_nametoindex("lo");
    if (lo == 0 || (err = tp_nl_link_set(&nl, lo, true, 0, false)) != 0) {
        tp_cli_error("bring lo up: %s", lo == 0 ? "no loopback device" : tp_nl_errmsg(&nl));
        tp_nl_close(&nl);
        return lo == 0 ? -ENODEV : err;
    }
    tp_nl_close(&nl);
    return 0;
}

static int
open_tun(const struct tp_cli_dev *dev, struct tp_tun *tun)
{
    int err = tp_tun_open(tun, dev->name);

    if (err == 0)
        return 0;
    if (is_privilege_error(err))
        tp_cli_error("need root (CAP_NET_ADMIN) to create a TUN device");
    else if (err == -ENOENT || err == -ENODEV)
        tp_cli_error("no TUN support: /dev/net/tun is missing (modprobe tun)");
    else if (err == -EBUSY)
        tp_cli_error("--dev: '%s' is in use by another program", dev->name);
    else if (err == -EINVAL && dev->name != NULL)
        tp_cli_error("--dev: '%s' exists and is not a TUN device", dev->name);
    else
        tp_cli_error("cannot create a TUN device: %s", strerror(-err));
    return err;
}

static int
configure(const struct tp_cli_dev *dev, const struct tp_tun *tun, struct tp_nl *nl)
{
    int err;

    if ((err = tp_tun_disable_ipv6(tun)) != 0)
        tp_warn("%s: cannot disable IPv6: %s", tun->name, strerror(-err));
    if ((err = tp_nl_link_set(nl, tun->ifindex, true, dev->mtu, true)) != 0)
        return err;
    /* Point-to-point: the kernel's end is peer, the far end (the stack) is
     * addr, and the kernel routes addr/32 through the device. */
    if (dev->has_prefix)
        err = tp_nl_addr_add(nl, tun->ifindex, dev->peer, 0, dev->prefix_len);
    else
        err = tp_nl_addr_add(nl, tun->ifindex, dev->peer, dev->addr, 32);
    if (err != 0)
        return err;
    for (int i = 0; i < dev->n_routes; i++) {
        if ((err = tp_nl_route_add(nl, tun->ifindex, dev->route_dst[i], dev->route_len[i])) != 0)
            return err;
    }
    return 0;
}

int
tp_cli_dev_up(const struct tp_cli_dev *dev, struct tp_tun *tun, struct tp_nl *nl)
{
    int err;

    memset(nl, 0, sizeof(*nl));
    if ((err = open_tun(dev, tun)) != 0)
        return err;
    if ((err = tp_nl_open(nl)) != 0 || (err = configure(dev, tun, nl)) != 0) {
        if (is_privilege_error(err))
            tp_cli_error("need root (CAP_NET_ADMIN) to configure %s", tun->name);
        else
            tp_cli_error("%s", tp_nl_errmsg(nl));
        if (nl->sock != NULL)
            tp_nl_undo(nl);
        tp_nl_close(nl);
        tp_tun_close(tun);
        return err;
    }
    return 0;
}

int
tp_cli_dev_down(struct tp_tun *tun, struct tp_nl *nl)
{
    int err = 0;

    if (nl->sock != NULL && (err = tp_nl_undo(nl)) != 0)
        tp_cli_error("%s", tp_nl_errmsg(nl));
    tp_nl_close(nl);
    tp_tun_close(tun);
    return err;
}

static bool
is_host_in(uint32_t a, uint8_t len)
{
    uint32_t host = len >= 32 ? 0 : 0xffffffffu >> len;

    /* RFC 3021: on a /31 both addresses are hosts. */
    return len >= 31 || ((a & host) != 0 && (a & host) != host);
}

void
tp_cli_dev_check(const char *cmd, const struct tp_cli_dev *d, bool has_addr, bool has_peer)
{
    uint32_t mask;

    if (!has_addr)
        tp_cli_usage_fail("%s: --addr is required (the stack's address)", cmd);
    if (!has_peer)
        tp_cli_usage_fail("%s: --peer is required (the kernel's address on the device)", cmd);
    if (d->addr == d->peer)
        tp_cli_usage_fail("--peer: must differ from --addr");
    if (!d->has_prefix)
        return;
    mask = d->prefix_len == 0 ? 0 : 0xffffffffu << (32 - d->prefix_len);
    if (((d->addr ^ d->peer) & mask) != 0)
        tp_cli_usage_fail("--prefix: --addr and --peer are not in one /%u network",
            d->prefix_len);
}

uint8_t
tp_cli_stack_prefix(const struct tp_cli_dev *dev)
{
    uint32_t diff = dev->addr ^ dev->peer;
    int len = diff == 0 ? 32 : __builtin_clz(diff);

    if (dev->has_prefix)
        return dev->prefix_len;
    for (; len > 0; len--) {
        if (is_host_in(dev->addr, (uint8_t)len) && is_host_in(dev->peer, (uint8_t)len))
            break;
    }
    return (uint8_t)len;
}

void
tp_cli_stack_config(const struct tp_cli_dev *dev, struct tapir_config *cfg)
{
    tapir_config_default(cfg);
    cfg->addr = dev->addr;
    cfg->prefix_len = tp_cli_stack_prefix(dev);
    cfg->mtu = dev->mtu;
    /* ISNs and ports must not be predictable (RFC 6528); tests fix the seed
     * in the core, the runtime takes it from the kernel. */
    if (getrandom(&cfg->seed, sizeof(cfg->seed), 0) != (ssize_t)sizeof(cfg->seed))
        cfg->seed = (uint64_t)tp_clock_now().us ^ (uint64_t)getpid() << 32;
    cfg->log = tp_log_stack;
    cfg->log_ctx = NULL;
    cfg->log_level = tp_log_level();
}
