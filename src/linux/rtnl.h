/*
 * src/linux/rtnl.h -- (netlink.c) configure interfaces, addresses and routes through
 * rtnetlink (RFC 3549; rtnetlink(7)), with libmnl.
 *
 * Each call sends one request, waits for the kernel's ACK and turns an
 * NLMSG_ERROR into a negative errno, keeping a readable description of the
 * failure (with the kernel's extended-ACK text when it gives one) for
 * tp_nl_errmsg().  What a tp_nl handle creates is recorded, so that
 * tp_nl_undo() can remove it in reverse order at shutdown.
 * Not thread-safe: one thread per handle.
 */
#ifndef TP_LINUX_RTNL_H
#define TP_LINUX_RTNL_H

#include <stdbool.h>
#include <stdint.h>

#define TP_NL_UNDO_MAX 16

enum tp_nl_undo_kind {
    TP_NL_UNDO_LINK_DOWN,
    TP_NL_UNDO_ADDR_DEL,
    TP_NL_UNDO_ROUTE_DEL,
};

struct tp_nl_undo {
    enum tp_nl_undo_kind kind;
    int ifindex;
    uint32_t a;                     /* address or route destination, host order */
    uint32_t peer;                  /* point-to-point peer, or 0 */
    uint8_t prefix_len;
};

struct mnl_socket;

struct tp_nl {
    struct mnl_socket *sock;        /* owned */
    uint32_t portid;
    uint32_t seq;
    struct tp_nl_undo undo[TP_NL_UNDO_MAX];
    int n_undo;
    char errmsg[256];               /* the last failure, "" if none */
};

/* Open a NETLINK_ROUTE socket in the current network namespace.  Returns
 * 0, or a negative errno (the description is in nl->errmsg). */
int tp_nl_open(struct tp_nl *nl);

/* Close the socket.  Does not undo anything: call tp_nl_undo() first if
 * that is wanted.  Safe on a handle that failed to open, and twice. */
void tp_nl_close(struct tp_nl *nl);

/* The description of the last failure ("" if none); borrowed from nl. */
const char *tp_nl_errmsg(const struct tp_nl *nl);

/*
 * RTM_NEWLINK: set the interface up or down and, if mtu != 0, its MTU.
 * Setting an interface up is recorded for undo (down), unless record is
 * false (loopback in a private namespace is left up).
 */
int tp_nl_link_set(struct tp_nl *nl, int ifindex, bool up, uint32_t mtu, bool record);

/*
 * RTM_NEWADDR: add IPv4 address local (host order) to the interface.  With
 * peer != 0 it is a point-to-point address (IFA_LOCAL local, IFA_ADDRESS
 * peer, prefix_len usually 32: the kernel routes peer via the interface);
 * with peer == 0 it is local/prefix_len with a subnet route.  -EEXIST if
 * it is already there.  Recorded for undo.
 */
int tp_nl_addr_add(struct tp_nl *nl, int ifindex, uint32_t local, uint32_t peer,
    uint8_t prefix_len);

/* RTM_NEWROUTE: dst/prefix_len (host order) through the interface, scope
 * link, main table.  Recorded for undo. */
int tp_nl_route_add(struct tp_nl *nl, int ifindex, uint32_t dst, uint8_t prefix_len);

/*
 * Remove what this handle created, newest first.  Things already gone (the
 * interface was removed, someone deleted the address) are not errors.
 * Returns 0 or the first other failure's negative errno; it goes on with
 * the rest either way.
 */
int tp_nl_undo(struct tp_nl *nl);

#endif
