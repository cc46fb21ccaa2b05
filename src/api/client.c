/*
 * src/api/client.c -- the program's side of the socket protocol (client.h).
 *
 * Called by the C API and the preload shim.  Socket calls the shim
 * intercepts are made here with syscall(2) so that they reach the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/client.h"
#include "tapir/tcp.h"

#define FILL_CHUNK 65536

static int
raw_socket(int domain, int type, int proto)
{
    long r = syscall(SYS_socket, domain, type, proto);

    return r < 0 ? -errno : (int)r;
}

static int
raw_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    return syscall(SYS_connect, fd, sa, len) < 0 ? -errno : 0;
}

static void
raw_close(int fd)
{
    int saved = errno;

    syscall(SYS_close, fd);
    errno = saved;
}

/* Connect to the engine's control socket. */
static int
ctl_open(const char *path)
{
    struct sockaddr_un sa;
    size_t n = path != NULL ? strlen(path) : 0;
    socklen_t len;
    int fd, err;

    if (n == 0 || n >= sizeof(sa.sun_path))
        return -EINVAL;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
    if ((fd = raw_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
        return fd;
    do {
        err = raw_connect(fd, (struct sockaddr *)&sa, len);
    } while (err == -EINTR);
    if (err != 0) {
        raw_close(fd);
        /* No engine at path: the socket file is missing or stale. */
        return err == -ENOENT || err == -ECONNREFUSED ? -ECONNREFUSED : err;
    }
    return fd;
}

static int
send_req(int cfd, const void *req, size_t len, int fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { (void *)(uintptr_t)req, len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    ssize_t n;

    if (fd >= 0) {
        struct cmsghdr *cm;

        memset(cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    do {
        n = sendmsg(cfd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EPIPE || errno == ECONNRESET ? -ECONNREFUSED : -errno;
    return 0;
}

/* Receive a reply; EINTR is returned (tp_sc_connect goes on without it). */
static int
recv_rep(int cfd, struct tp_sock_rep *rep, int *rfd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { rep, sizeof(*rep) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
        .msg_controllen = sizeof(cbuf) };
    ssize_t n = recvmsg(cfd, &mh, MSG_CMSG_CLOEXEC);

    if (n < 0)
        return -errno;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS
            && cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int fd;

            memcpy(&fd, CMSG_DATA(cm), sizeof(int));
            if (rfd != NULL && *rfd < 0)
                *rfd = fd;
            else
                raw_close(fd);
        }
    }
    if (n != (ssize_t)sizeof(*rep) || rep->magic != TP_SOCK_MAGIC)
        return n == 0 ? -ECONNREFUSED : -EPROTO;
    return 0;
}

/* One exchange; a reply not there within *timeout (NULL: no bound) is
 * -EAGAIN. */
static int
exchange(const char *path, const void *req, size_t req_len, int fd,
    struct tp_sock_rep *rep, int *rfd, const struct timeval *timeout)
{
    int cfd = ctl_open(path), err;

    if (rfd != NULL)
        *rfd = -1;
    memset(rep, 0, sizeof(*rep));
    if (cfd < 0)
        return cfd;
    if (timeout != NULL)
        syscall(SYS_setsockopt, cfd, SOL_SOCKET, SO_RCVTIMEO_OLD, timeout, sizeof(*timeout));
    if ((err = send_req(cfd, req, req_len, fd)) == 0)
        err = recv_rep(cfd, rep, rfd);
    raw_close(cfd);
    return err == -EWOULDBLOCK ? -EAGAIN : err;
}

int
tp_sc_call(const char *path, const void *req, size_t req_len, int fd,
    struct tp_sock_rep *rep, int *rfd)
{
    return exchange(path, req, req_len, fd, rep, rfd, NULL);
}

/* One request about fd; returns -rep.err or a transport error. */
static int
call(const char *path, int fd, struct tp_sock_req *req, struct tp_sock_rep *rep)
{
    int err;

    req->magic = TP_SOCK_MAGIC;
    req->version = TP_SOCK_VERSION;
    if ((err = tp_sc_call(path, req, sizeof(*req), fd, rep, NULL)) != 0)
        return err;
    return -rep->err;
}

int
tp_sc_socket(const char *path, int flags)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_SOCKET };
    struct tp_sock_rep rep;
    int fd = -1, err;

    req.magic = TP_SOCK_MAGIC;
    req.version = TP_SOCK_VERSION;
    if ((err = tp_sc_call(path, &req, sizeof(req), -1, &rep, &fd)) != 0)
        return err;
    if (rep.err != 0 || fd < 0) {
        if (fd >= 0)
            raw_close(fd);
        return rep.err != 0 ? -rep.err : -EPROTO;
    }
    /* The fd arrived close-on-exec (MSG_CMSG_CLOEXEC) and blocking. */
    if (!(flags & SOCK_CLOEXEC))
        fcntl(fd, F_SETFD, 0);
    if (flags & SOCK_NONBLOCK)
        fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK);
    return fd;
}

/* fd's own name if it is one of ours (proto.h), else false.  errno is
 * kept: callers ask after a failed call whose errno the program gets. */
static bool
own_name(int fd, struct sockaddr_un *sa, socklen_t *len)
{
    size_t plen = sizeof(TP_SOCK_PEER_PREFIX) - 1;
    int saved = errno;

    if (fd < 0)
        return false;
    *len = sizeof(*sa);
    memset(sa, 0, sizeof(*sa));
    if (syscall(SYS_getsockname, fd, (struct sockaddr *)sa, len) < 0) {
        errno = saved;              /* ENOTSOCK for a file, an eventfd, ... */
        return false;
    }
    return sa->sun_family == AF_UNIX && *len > offsetof(struct sockaddr_un, sun_path) + 1 + plen
        && *len <= sizeof(*sa) && sa->sun_path[0] == '\0'
        && memcmp(sa->sun_path + 1, TP_SOCK_PEER_PREFIX, plen) == 0;
}

bool
tp_sc_is_ours(int fd)
{
    struct sockaddr_un sa;
    socklen_t len;

    return own_name(fd, &sa, &len);
}

/* A read on our unconnected (fresh or listening) Unix socket says EINVAL,
 * a write ENOTCONN; the kernel's TCP says ENOTCONN, and EPIPE with
 * SIGPIPE.  The program then sees the kernel's. */
ssize_t
tp_sc_rd(ssize_t r, int fd)
{
    if (r < 0 && errno == EINVAL && tp_sc_is_ours(fd))
        errno = ENOTCONN;
    return r;
}

ssize_t
tp_sc_wr(ssize_t r, int fd, int flags)
{
    if (r < 0 && errno == ENOTCONN && tp_sc_is_ours(fd)) {
        if (!(flags & MSG_NOSIGNAL))
            raise(SIGPIPE);
        errno = EPIPE;
    }
    return r;
}

/*
 * Copies to and from the program's memory that fail with EFAULT where the
 * kernel's would, instead of crashing: process_vm_readv/writev on our own
 * process report a bad address.  Where they are not allowed (a seccomp
 * filter), a plain copy.
 */
static int
copy_vm(void *dst, const void *src, size_t n, bool out)
{
    struct iovec l = { out ? (void *)(uintptr_t)src : dst, n };
    struct iovec r = { out ? dst : (void *)(uintptr_t)src, n };
    int saved = errno;
    long got;

    if (n == 0)
        return 0;
    if ((out ? dst : src) == NULL)
        return -EFAULT;
    got = syscall(out ? SYS_process_vm_writev : SYS_process_vm_readv, (long)getpid(), &l, 1L,
        &r, 1L, 0L);
    if (got == (long)n)
        return 0;
    if (got < 0 && (errno == ENOSYS || errno == EPERM)) {
        errno = saved;
        memcpy(dst, src, n);
        return 0;
    }
    errno = saved;
    return -EFAULT;
}

static int
copy_out(void *dst, const void *src, size_t n)
{
    return copy_vm(dst, src, n, true);
}

static int
copy_in(void *dst, const void *src, size_t n)
{
    return copy_vm(dst, src, n, false);
}

int
tp_sc_copy_in(void *dst, const void *src, size_t n)
{
    return copy_in(dst, src, n);
}

/* An IPv4 address from the program, checked as Linux's inet_bind and
 * tcp_v4_connect check it. */
static int
get_in(const struct sockaddr *sa, socklen_t len, uint32_t *addr, uint16_t *port)
{
    struct sockaddr_in sin;
    int err;

    if ((int)len < 0 || len > (socklen_t)sizeof(struct sockaddr_storage))
        return -EINVAL;
    if (len > 0 && (err = copy_in(&sin, sa, len < sizeof(sin) ? len : sizeof(sin))) != 0)
        return err;
    if (len < (socklen_t)sizeof(sin))
        return -EINVAL;
    if (sin.sin_family != AF_INET)
        return -EAFNOSUPPORT;
    *addr = ntohl(sin.sin_addr.s_addr);
    *port = ntohs(sin.sin_port);
    return 0;
}

/* An IPv4 address to the program, as Linux's move_addr_to_user: the
 * length is read (EFAULT), must not be negative (EINVAL), and the address
 * is truncated to it. */
static int
put_in(uint32_t addr, uint16_t port, struct sockaddr *sa, socklen_t *len)
{
    struct sockaddr_in sin;
    socklen_t n, full = sizeof(sin);
    int err;

    if ((err = copy_in(&n, len, sizeof(n))) != 0)
        return err;
    if ((int)n < 0)
        return -EINVAL;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    sin.sin_port = htons(port);
    n = n < full ? n : full;
    if ((err = copy_out(sa, &sin, n)) != 0)
        return err;
    return copy_out(len, &full, sizeof(full));
}

int
tp_sc_bind(const char *path, int fd, const struct sockaddr *sa, socklen_t len)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_BIND };
    struct tp_sock_rep rep;
    int err;

    if ((err = get_in(sa, len, &req.addr, &req.port)) != 0)
        return err;
    return call(path, fd, &req, &rep);
}

int
tp_sc_listen(const char *path, int fd, int backlog)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_LISTEN, .arg = { backlog } };
    struct tp_sock_rep rep;

    return call(path, fd, &req, &rep);
}

/* Fill fd's send buffer so that it polls not-writable until the engine,
 * once connected, drains what we wrote.  Returns the byte count. */
static int32_t
fill(int fd)
{
    static const char zeros[FILL_CHUNK];
    int32_t total = 0;

    for (;;) {
        ssize_t n = send(fd, zeros, sizeof(zeros), MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n <= 0)
            return total;
        total += (int32_t)n;
    }
}

/* Connect our socket fd to its engine's bridge (named after fd's own
 * name, proto.h).  A socket already connected, or listening, is left as it
 * is: the engine says what connect() on it means. */
static int
to_bridge(int fd)
{
    struct sockaddr_un sa;
    socklen_t len;
    char *colon;
    int err;

    if (!own_name(fd, &sa, &len))
        return -EBADF;
    sa.sun_path[len - offsetof(struct sockaddr_un, sun_path)] = '\0';
    if ((colon = strrchr(sa.sun_path + 1, ':')) == NULL
        || (size_t)(colon - sa.sun_path) + sizeof(TP_SOCK_BRIDGE) >= sizeof(sa.sun_path))
        return -EPROTO;
    memcpy(colon + 1, TP_SOCK_BRIDGE, sizeof(TP_SOCK_BRIDGE) - 1);
    len = (socklen_t)(colon + 1 + sizeof(TP_SOCK_BRIDGE) - 1 - (char *)&sa);
    do {
        err = raw_connect(fd, (struct sockaddr *)&sa, len);
    } while (err == -EINTR);
    return err == -EISCONN || err == -EINVAL ? 0 : err;
}

/* Connect fd to the bridge (filled until not writable when non-blocking)
 * and ask the engine to take it: proto.h's ATTACH. */
static int
attach(const char *path, int fd, struct tp_sock_req *req, bool nonblocking)
{
    struct tp_sock_rep rep;
    int err;

    if ((err = to_bridge(fd)) != 0)
        return err;
    req->arg[0] = TP_SOCK_CONNECT_ATTACH;
    req->arg[1] = nonblocking ? fill(fd) : 0;
    req->arg[2] = !nonblocking;
    return call(path, fd, req, &rep);
}

int
tp_sc_connect(const char *path, int fd, const struct sockaddr *sa, socklen_t len)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_CONNECT };
    struct tp_sock_rep rep;
    struct timeval tv = { 0, 0 };
    socklen_t tvlen = sizeof(tv);
    int fl = fcntl(fd, F_GETFL), err;

    if (fl < 0)
        return -errno;
    if ((err = get_in(sa, len, &req.addr, &req.port)) != 0)
        return err;
    /* Linux's answers for what it will not send a SYN to. */
    if (req.port == 0)
        return -ECONNREFUSED;
    if (req.addr == 0 || req.addr == INADDR_BROADCAST || IN_MULTICAST(req.addr))
        return -ENETUNREACH;
    if (fl & O_NONBLOCK) {
        /* START first: the socket is filled only once tapir connects (on
         * one connected, the zeros would be data). */
        req.arg[0] = TP_SOCK_CONNECT_START_NONBLOCK;
        if ((err = call(path, fd, &req, &rep)) != 0)
            return err;
        if (rep.val == TP_SOCK_CONNECT_DONE)
            return 0;
        return attach(path, fd, &req, true);
    }
    /* A blocking connect waits at most SO_SNDTIMEO, as the kernel's does,
     * then says EINPROGRESS; the connection goes on, as a non-blocking one. */
    req.magic = TP_SOCK_MAGIC;
    req.version = TP_SOCK_VERSION;
    req.arg[0] = TP_SOCK_CONNECT_START_BLOCK;
    if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_SNDTIMEO_OLD, &tv, &tvlen) < 0
        || (tv.tv_sec == 0 && tv.tv_usec == 0))
        err = exchange(path, &req, sizeof(req), fd, &rep, NULL, NULL);
    else
        err = exchange(path, &req, sizeof(req), fd, &rep, NULL, &tv);
    if (err == -EAGAIN || err == -EINTR) {
        /* Timed out, or a signal interrupted it: the connection goes on
         * as a non-blocking one (the engine learnt so when our control
         * connection closed), so the socket is attached as one. */
        int aerr = attach(path, fd, &req, true);

        if (aerr != 0 && aerr != -EINPROGRESS)
            return aerr;
        return err == -EAGAIN ? -EINPROGRESS : -EINTR;
    }
    if (err != 0)
        return err;
    if (rep.err != 0 || rep.val == TP_SOCK_CONNECT_DONE)
        return -rep.err;
    return attach(path, fd, &req, false);
}

/*
 * accept: the program's listener is a Unix listener (proto.h), so the
 * kernel's accept4 does the waiting, O_NONBLOCK and the flags; the TCP
 * peer is in the name of the accepted socket's peer.  As with Linux, the
 * connection is taken before the address is written, and lost if that
 * fails (EFAULT, EINVAL).
 */
int
tp_sc_accept(const char *path, int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    struct sockaddr_un un;
    socklen_t ulen = sizeof(un);
    unsigned addr = 0, port = 0;
    char *p;
    int nfd, err;

    (void)path;
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return -EINVAL;
    memset(&un, 0, sizeof(un));
    if ((nfd = (int)syscall(SYS_accept4, fd, (struct sockaddr *)&un, &ulen, flags)) < 0)
        return -errno;
    if (ulen > offsetof(struct sockaddr_un, sun_path) && ulen < sizeof(un)) {
        un.sun_path[ulen - offsetof(struct sockaddr_un, sun_path)] = '\0';
        if ((p = strrchr(un.sun_path + 1, ':')) != NULL) {
            port = (unsigned)strtoul(p + 1, NULL, 16);
            *p = '\0';
            if ((p = strrchr(un.sun_path + 1, ':')) != NULL)
                addr = (unsigned)strtoul(p + 1, NULL, 16);
        }
    }
    if (sa != NULL && (err = put_in(addr, (uint16_t)port, sa, len)) != 0) {
        raw_close(nfd);
        return err;
    }
    return nfd;
}

int
tp_sc_shutdown(const char *path, int fd, int how)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_SHUTDOWN, .arg = { how } };
    struct tp_sock_rep rep;
    int err;

    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    if ((err = call(path, fd, &req, &rep)) != 0)
        return err;
    /* The write side ends in band, after the data already written. */
    if (how != SHUT_RD && syscall(SYS_shutdown, fd, SHUT_WR) < 0)
        return -errno;
    return 0;
}

int
tp_sc_getname(const char *path, int fd, bool peer, struct sockaddr *sa, socklen_t *len)
{
    struct tp_sock_req req = { .op = peer ? TP_SOCK_OP_GETPEERNAME : TP_SOCK_OP_GETSOCKNAME };
    struct tp_sock_rep rep;
    int err;

    if ((err = call(path, fd, &req, &rep)) != 0)
        return err;
    return put_in(rep.addr, rep.port, sa, len);
}

/* Linux's TCP_INFO state numbers (include/net/tcp_states.h). */
static uint8_t
linux_state(uint8_t s)
{
    static const uint8_t map[TAPIR_TCP_NSTATES] = {
        [TAPIR_TCP_CLOSED] = 7, [TAPIR_TCP_LISTEN] = 10, [TAPIR_TCP_SYN_SENT] = 2,
        [TAPIR_TCP_SYN_RECEIVED] = 3, [TAPIR_TCP_ESTABLISHED] = 1,
        [TAPIR_TCP_FIN_WAIT_1] = 4, [TAPIR_TCP_FIN_WAIT_2] = 5, [TAPIR_TCP_CLOSE_WAIT] = 8,
        [TAPIR_TCP_CLOSING] = 11, [TAPIR_TCP_LAST_ACK] = 9, [TAPIR_TCP_TIME_WAIT] = 6,
    };

    return s < TAPIR_TCP_NSTATES ? map[s] : 7;
}

/* An option's value to the program: the first n bytes of it (n: what the
 * program's length allows), then the length, as Linux copies them. */
static int
put_opt(const void *v, size_t size, void *val, socklen_t *len, socklen_t n)
{
    int err;

    n = n < (socklen_t)size ? n : (socklen_t)size;
    if ((err = copy_out(val, v, n)) != 0)
        return err;
    return copy_out(len, &n, sizeof(n));
}

static int
put_int(int v, void *val, socklen_t *len, socklen_t n)
{
    return put_opt(&v, sizeof(v), val, len, n);
}

static int
get_info(const char *path, int fd, void *val, socklen_t *len, socklen_t n)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_INFO };
    struct tp_sock_rep rep;
    struct tcp_info ti;
    const struct tp_sock_info *i = &rep.info;
    uint32_t mss;
    int err;

    if ((err = call(path, fd, &req, &rep)) != 0)
        return err;
    mss = i->snd_mss != 0 ? i->snd_mss : 536;
    memset(&ti, 0, sizeof(ti));
    ti.tcpi_state = linux_state(i->state);
    ti.tcpi_retransmits = (uint8_t)(i->retransmits > 255 ? 255 : i->retransmits);
    ti.tcpi_options = (uint8_t)(((i->options & TAPIR_TCPI_OPT_TIMESTAMPS) ? TCPI_OPT_TIMESTAMPS : 0)
        | ((i->options & TAPIR_TCPI_OPT_SACK) ? TCPI_OPT_SACK : 0)
        | ((i->options & TAPIR_TCPI_OPT_WSCALE) ? TCPI_OPT_WSCALE : 0));
    ti.tcpi_snd_wscale = i->snd_wscale & 0xf;
    ti.tcpi_rcv_wscale = i->rcv_wscale & 0xf;
    ti.tcpi_rto = i->rto_us;
    ti.tcpi_snd_mss = i->snd_mss;
    ti.tcpi_rcv_mss = i->rcv_mss;
    ti.tcpi_unacked = (i->in_flight + mss - 1) / mss;
    ti.tcpi_rtt = i->rtt_us;
    ti.tcpi_rttvar = i->rttvar_us;
    ti.tcpi_snd_ssthresh = i->ssthresh / mss;
    ti.tcpi_snd_cwnd = (i->cwnd + mss - 1) / mss;
    ti.tcpi_advmss = i->rcv_mss;
    ti.tcpi_total_retrans = (uint32_t)i->total_retrans;
    return put_opt(&ti, sizeof(ti), val, len, n);
}

/* Options tapir accepts and ignores (they tune what it does not have). */
static bool
ignored_opt(int level, int name)
{
    if (level == SOL_SOCKET)
        return name == SO_PRIORITY || name == SO_OOBINLINE;
    if (level == IPPROTO_IP)
        return name == IP_BIND_ADDRESS_NO_PORT || name == IP_RECVERR;
    if (level == IPPROTO_TCP)
        return name == TCP_QUICKACK || name == TCP_DEFER_ACCEPT || name == TCP_FASTOPEN
            || name == TCP_NOTSENT_LOWAT || name == TCP_CORK;
    return false;
}

/* Options that belong to the program's Unix socket, and work there. */
static bool
local_opt(int level, int name)
{
    return level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD
        || name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW || name == SO_RCVLOWAT
        || name == SO_SNDLOWAT);
}

/* Levels tapir answers; Linux says EOPNOTSUPP for others on a TCP socket. */
static bool
known_level(int level)
{
    return level == SOL_SOCKET || level == IPPROTO_TCP || level == IPPROTO_IP;
}

int
tp_sc_carry_options(const char *path, int from, int to, tp_sc_setopt_fn *set)
{
    static const int opts[][2] = {
#define X(l, n) { l, n },
        TP_SOCK_CARRIED(X)
#undef X
    };
    static const int local[] = { SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD, SO_RCVLOWAT };
    struct tp_sock_req req = { .op = TP_SOCK_OP_GETSOCKOPT, .arg = { TP_SOCK_LEVEL_SET } };
    struct tp_sock_rep rep;
    int err;

    /* The options of the program's Unix socket, where they are not defaults. */
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        struct timeval tv = { 0, 0 };
        socklen_t len = sizeof(tv);

        if (syscall(SYS_getsockopt, from, SOL_SOCKET, local[i], &tv, &len) == 0
            && (local[i] == SO_RCVLOWAT ? tv.tv_sec > 1 : tv.tv_sec != 0 || tv.tv_usec != 0))
            set(to, SOL_SOCKET, local[i], &tv, len);
    }
    if ((err = call(path, from, &req, &rep)) != 0)
        return err;
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        union {
            int v;
            struct linger l;
        } u;
        socklen_t len = sizeof(u);

        if (!((uint32_t)rep.val & (1u << i)))
            continue;
        if (tp_sc_getsockopt(path, from, opts[i][0], opts[i][1], &u, &len) == 0)
            set(to, opts[i][0], opts[i][1], &u, len);
    }
    return 0;
}

int
tp_sc_getsockopt(const char *path, int fd, int level, int name, void *val, socklen_t *len)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_GETSOCKOPT, .arg = { level, name } };
    struct tp_sock_rep rep;
    socklen_t n;
    int err;

    if (local_opt(level, name))
        return syscall(SYS_getsockopt, fd, level, name, val, len) < 0 ? -errno : 0;
    if (!known_level(level))
        return -EOPNOTSUPP;
    if ((err = copy_in(&n, len, sizeof(n))) != 0)
        return err;
    if ((int)n < 0)
        return -EINVAL;
    if (level == IPPROTO_TCP && name == TCP_INFO)
        return get_info(path, fd, val, len, n);
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_TYPE: return put_int(SOCK_STREAM, val, len, n);
        case SO_DOMAIN: return put_int(AF_INET, val, len, n);
        case SO_PROTOCOL: return put_int(IPPROTO_TCP, val, len, n);
        case SO_LINGER: {
            struct linger l = { 0, 0 };

            req.arg[1] = SO_LINGER;
            if ((err = call(path, fd, &req, &rep)) != 0)
                return err;
            l.l_onoff = rep.val != 0;
            return put_opt(&l, sizeof(l), val, len, n);
        }
        default: break;
        }
    }
    if (ignored_opt(level, name))
        return put_int(0, val, len, n);
    if ((err = call(path, fd, &req, &rep)) != 0)
        return err;
    /* Reading SO_ERROR clears it, on the Unix socket too: an error kept
     * there (a connection that failed) would still say POLLERR. */
    if (level == SOL_SOCKET && name == SO_ERROR) {
        int e;
        socklen_t elen = sizeof(e);

        syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR, &e, &elen);
    }
    return put_int(rep.val, val, len, n);
}

int
tp_sc_setsockopt(const char *path, int fd, int level, int name, const void *val,
    socklen_t len)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_SETSOCKOPT, .arg = { level, name } };
    struct tp_sock_rep rep;
    int v = 0, err;

    if (local_opt(level, name))
        return syscall(SYS_setsockopt, fd, level, name, val, len) < 0 ? -errno : 0;
    if ((int)len < 0)
        return -EINVAL;
    if (!known_level(level))
        return -EOPNOTSUPP;
    if (level == SOL_SOCKET && name == SO_LINGER) {
        struct linger l;

        if (len < (socklen_t)sizeof(l))
            return -EINVAL;
        if ((err = copy_in(&l, val, sizeof(l))) != 0)
            return err;
        v = l.l_onoff != 0 && l.l_linger == 0;  /* only "reset on close" is tapir's */
    } else {
        /* Linux wants an int at SOL_SOCKET and IPPROTO_TCP; some IP options
         * take a byte. */
        if (len < (socklen_t)sizeof(int) && (level != IPPROTO_IP || len == 0))
            return -EINVAL;
        if ((err = copy_in(&v, val, len < sizeof(int) ? 1 : sizeof(int))) != 0)
            return err;
        if (len < sizeof(int))
            v &= 0xff;
        if (ignored_opt(level, name))
            return 0;
    }
    req.arg[2] = v;
    return call(path, fd, &req, &rep);
}
