/*
 * src/linux/netlink.c -- rtnetlink requests with libmnl: link up/down and
 * MTU (RTM_NEWLINK), IPv4 addresses (RTM_NEWADDR/DELADDR), routes
 * (RTM_NEWROUTE/DELROUTE); see rtnetlink(7) and RFC 3549.
 * Called by the CLI while it sets up and tears down a device.  Every request
 * asks for an ACK, so errors surface here as negative errno values, never
 * later and never silently.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "linux/rtnl.h"

/* A request or an ACK fits easily; a page is what libmnl suggests. */
#define NL_BUF 8192

/* How long to wait for an ACK; the kernel answers rtnetlink requests
 * before sendmsg returns, so this only bounds a broken kernel or socket. */
#define NL_ACK_TIMEOUT_SEC 2

static void
set_err(struct tp_nl *nl, const char *what, int err, const char *kernel_msg)
{
    snprintf(nl->errmsg, sizeof(nl->errmsg), "%s: %s%s%s%s", what, strerror(-err),
        kernel_msg != NULL ? " (kernel: " : "", kernel_msg != NULL ? kernel_msg : "",
        kernel_msg != NULL ? ")" : "");
}

int
tp_nl_open(struct tp_nl *nl)
{
    struct timeval tv = { .tv_sec = NL_ACK_TIMEOUT_SEC };
    int one = 1, err;

    memset(nl, 0, sizeof(*nl));
    if ((nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)) == NULL) {
        err = -errno;
        set_err(nl, "open rtnetlink socket", err, NULL);
        return err;
    }
    if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        err = -errno;
        set_err(nl, "bind rtnetlink socket", err, NULL);
        tp_nl_close(nl);
        return err;
    }
    /* Extended ACKs carry the kernel's reason as text; capped ACKs do not
     * echo our request back.  Both are optional: old kernels refuse them. */
    mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
    mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
    setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    nl->portid = mnl_socket_get_portid(nl->sock);
    nl->seq = 1;
    return 0;
}

void
tp_nl_close(struct tp_nl *nl)
{
    if (nl->sock != NULL)
        mnl_socket_close(nl->sock);
    nl->sock = NULL;
}

const char *
tp_nl_errmsg(const struct tp_nl *nl)
{
    return nl->errmsg;
}

static int
ext_ack_attr(const struct nlattr *attr, void *data)
{
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG
        && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
        *(const char **)data = mnl_attr_get_str(attr);
    return MNL_CB_OK;
}

/* The error of an NLMSG_ERROR reply (0 for an ACK) and its extended-ACK
 * text, if any.  *kernel_msg borrows from nlh. */
static int
parse_error(const struct nlmsghdr *nlh, const char **kernel_msg)
{
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
    unsigned off = sizeof(*e);

    *kernel_msg = NULL;
    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
        return -EBADMSG;
    if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
        /* Without NLM_F_CAPPED the request's payload sits before the TLVs. */
        if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0)
            off += MNL_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
        if (mnl_nlmsg_size(off) <= nlh->nlmsg_len)
            mnl_attr_parse(nlh, off, ext_ack_attr, kernel_msg);
    }
    return e->error;                     /* 0, or a negative errno */
}

/* Send nlh (with NLM_F_ACK set) and wait for its ACK.  what describes the
 * request for the error message. */
static int
transact(struct tp_nl *nl, struct nlmsghdr *nlh, const char *what)
{
    char buf[NL_BUF];
    const char *kmsg = NULL;
    uint32_t seq = ++nl->seq;
    ssize_t n;
    int err, left;

    nlh->nlmsg_seq = seq;
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
        set_err(nl, what, err = -errno, NULL);
        return err;
    }
    for (;;) {
        if ((n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf))) < 0) {
            set_err(nl, what, err = errno == EAGAIN ? -ETIMEDOUT : -errno, NULL);
            return err;
        }
        left = (int)n;
        for (const struct nlmsghdr *m = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(m, left);
             m = mnl_nlmsg_next(m, &left)) {
            if (m->nlmsg_seq != seq || m->nlmsg_type != NLMSG_ERROR)
                continue;               /* a stale reply, or not the ACK */
            if ((err = parse_error(m, &kmsg)) != 0)
                set_err(nl, what, err, kmsg);
            return err;
        }
    }
}

static const char *
ifname(int ifindex, char buf[IF_NAMESIZE])
{
    if (if_indextoname((unsigned)ifindex, buf) == NULL)
        snprintf(buf, IF_NAMESIZE, "if%d", ifindex);
    return buf;
}

static const char *
ipstr(uint32_t a, char buf[INET_ADDRSTRLEN])
{
    uint32_t be = htonl(a);

    return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

static int
record(struct tp_nl *nl, struct tp_nl_undo u)
{
    if (nl->n_undo == TP_NL_UNDO_MAX)
        return -ENOBUFS;
    nl->undo[nl->n_undo++] = u;
    return 0;
}

static int
link_req(struct tp_nl *nl, int ifindex, bool up, uint32_t mtu)
{
    char buf[NL_BUF], what[96], name[IF_NAMESIZE];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifinfomsg *ifi;

    nlh->nlmsg_type = RTM_NEWLINK;
    ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = up ? IFF_UP : 0;
    if (mtu != 0)
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    snprintf(what, sizeof(what), "set %s %s%s%.0u", ifname(ifindex, name),
        up ? "up" : "down", mtu != 0 ? ", mtu " : "", mtu);
    return transact(nl, nlh, what);
}

int
tp_nl_link_set(struct tp_nl *nl, int ifindex, bool up, uint32_t mtu, bool rec)
{
    int err;

    if ((err = link_req(nl, ifindex, up, mtu)) != 0)
        return err;
    if (up && rec)
        return record(nl, (struct tp_nl_undo){ .kind = TP_NL_UNDO_LINK_DOWN, .ifindex = ifindex });
    return 0;
}

static int
addr_req(struct tp_nl *nl, uint16_t type, int ifindex, uint32_t local, uint32_t peer,
    uint8_t prefix_len)
{
    char buf[NL_BUF], what[128], name[IF_NAMESIZE];
    char l[INET_ADDRSTRLEN], p[INET_ADDRSTRLEN];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifaddrmsg *ifa;

    nlh->nlmsg_type = type;
    if (type == RTM_NEWADDR)
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = prefix_len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (uint32_t)ifindex;
    /* IFA_LOCAL is our end; IFA_ADDRESS is the far end of a point-to-point
     * link, or the address itself on a broadcast-style one. */
    mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(local));
    mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(peer != 0 ? peer : local));
    if (peer != 0)
        snprintf(what, sizeof(what), "%s address %s peer %s/%u on %s",
            type == RTM_NEWADDR ? "add" : "delete", ipstr(local, l), ipstr(peer, p),
            prefix_len, ifname(ifindex, name));
    else
        snprintf(what, sizeof(what), "%s address %s/%u on %s",
            type == RTM_NEWADDR ? "add" : "delete", ipstr(local, l), prefix_len,
            ifname(ifindex, name));
    return transact(nl, nlh, what);
}

int
tp_nl_addr_add(struct tp_nl *nl, int ifindex, uint32_t local, uint32_t peer,
    uint8_t prefix_len)
{
    int err;

    if (prefix_len > 32)
        return -EINVAL;
    if ((err = addr_req(nl, RTM_NEWADDR, ifindex, local, peer, prefix_len)) != 0)
        return err;
    return record(nl, (struct tp_nl_undo){ .kind = TP_NL_UNDO_ADDR_DEL, .ifindex = ifindex,
        .a = local, .peer = peer, .prefix_len = prefix_len });
}

static int
route_req(struct tp_nl *nl, uint16_t type, int ifindex, uint32_t dst, uint8_t prefix_len)
{
    char buf[NL_BUF], what[128], name[IF_NAMESIZE], d[INET_ADDRSTRLEN];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct rtmsg *rtm;

    nlh->nlmsg_type = type;
    if (type == RTM_NEWROUTE)
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = prefix_len;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_LINK;      /* on the link: no gateway */
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put_u32(nlh, RTA_DST, htonl(dst));
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
    snprintf(what, sizeof(what), "%s route %s/%u dev %s",
        type == RTM_NEWROUTE ? "add" : "delete", ipstr(dst, d), prefix_len,
        ifname(ifindex, name));
    return transact(nl, nlh, what);
}

int
tp_nl_route_add(struct tp_nl *nl, int ifindex, uint32_t dst, uint8_t prefix_len)
{
    int err;

    if (prefix_len > 32)
        return -EINVAL;
    if ((err = route_req(nl, RTM_NEWROUTE, ifindex, dst, prefix_len)) != 0)
        return err;
    return record(nl, (struct tp_nl_undo){ .kind = TP_NL_UNDO_ROUTE_DEL, .ifindex = ifindex,
        .a = dst, .prefix_len = prefix_len });
}

/* The interface, address or route is gone already: nothing to undo. */
static bool
is_gone(int err)
{
    return err == -ENODEV || err == -EADDRNOTAVAIL || err == -ESRCH || err == -ENOENT;
}

static int
undo_one(struct tp_nl *nl, const struct tp_nl_undo *u)
{
    switch (u->kind) {
    case TP_NL_UNDO_LINK_DOWN:
        return link_req(nl, u->ifindex, false, 0);
    case TP_NL_UNDO_ADDR_DEL:
        return addr_req(nl, RTM_DELADDR, u->ifindex, u->a, u->peer, u->prefix_len);
    case TP_NL_UNDO_ROUTE_DEL:
        return route_req(nl, RTM_DELROUTE, u->ifindex, u->a, u->prefix_len);
    }
    return -EINVAL;
}

int
tp_nl_undo(struct tp_nl *nl)
{
    int first = 0;

    while (nl->n_undo > 0) {
        int err = undo_one(nl, &nl->undo[--nl->n_undo]);

        if (err != 0 && !is_gone(err) && first == 0)
            first = err;
    }
    return first;
}
