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
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
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

/* Receive a reply; EINTR is returned (a blocking connect goes on). */
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

bool
tp_sc_is_ours(int fd)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    size_t plen = sizeof(TP_SOCK_PEER_PREFIX) - 1;

    if (fd < 0)
        return false;
    memset(&sa, 0, sizeof(sa));
    if (syscall(SYS_getpeername, fd, (struct sockaddr *)&sa, &len) < 0)
        return false;
    return sa.sun_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) + plen
        && sa.sun_path[0] == '\0' && memcmp(sa.sun_path + 1, TP_SOCK_PEER_PREFIX, plen) == 0;
}

static int
get_in(const struct sockaddr *sa, socklen_t len, uint32_t *addr, uint16_t *port)
{
    struct sockaddr_in sin;

    if (sa == NULL)
        return -EFAULT;
    if (len < (socklen_t)sizeof(sin))
        return -EINVAL;
    memcpy(&sin, sa, sizeof(sin));
    if (sin.sin_family != AF_INET)
        return -EAFNOSUPPORT;
    *addr = ntohl(sin.sin_addr.s_addr);
    *port = ntohs(sin.sin_port);
    return 0;
}

static void
put_in(uint32_t addr, uint16_t port, struct sockaddr *sa, socklen_t *len)
{
    struct sockaddr_in sin;
    socklen_t n;

    if (sa == NULL || len == NULL)
        return;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(addr);
    sin.sin_port = htons(port);
    n = *len < (socklen_t)sizeof(sin) ? *len : (socklen_t)sizeof(sin);
    memcpy(sa, &sin, n);
    *len = sizeof(sin);
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
    if (req.port == 0 || req.addr == 0)
        return req.port == 0 ? -ECONNREFUSED : -ENETUNREACH;
    if (fl & O_NONBLOCK) {
        /* Fill only a socket that will start connecting: on one that is
         * connected the zeros would be data (a second connect() is how
         * some programs check for completion: EISCONN). */
        req.arg[0] = TP_SOCK_CONNECT_PROBE;
        if ((err = call(path, fd, &req, &rep)) != 0)
            return err;
        req.arg[0] = TP_SOCK_CONNECT_NONBLOCK;
        req.arg[1] = fill(fd);
        return call(path, fd, &req, &rep);
    }
    /* A blocking connect waits at most SO_SNDTIMEO, as the kernel's does,
     * then says EINPROGRESS; the connection goes on. */
    req.magic = TP_SOCK_MAGIC;
    req.version = TP_SOCK_VERSION;
    if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_SNDTIMEO_OLD, &tv, &tvlen) < 0
        || (tv.tv_sec == 0 && tv.tv_usec == 0))
        err = exchange(path, &req, sizeof(req), fd, &rep, NULL, NULL);
    else
        err = exchange(path, &req, sizeof(req), fd, &rep, NULL, &tv);
    if (err != 0)
        return err == -EAGAIN ? -EINPROGRESS : err;
    return -rep.err;
}

static bool
is_listening(const char *path, int fd)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_GETSOCKOPT, .arg = { SOL_SOCKET, SO_ACCEPTCONN } };
    struct tp_sock_rep rep;

    return call(path, fd, &req, &rep) == 0 && rep.val != 0;
}

int
tp_sc_accept(const char *path, int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    struct tp_sock_accept msg;
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &msg, sizeof(msg) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
        .msg_controllen = sizeof(cbuf) };
    int nfd = -1, rflags;
    ssize_t n;

    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return -EINVAL;
    if (sa != NULL && len == NULL)
        return -EFAULT;
    rflags = MSG_WAITALL | ((flags & SOCK_CLOEXEC) ? MSG_CMSG_CLOEXEC : 0);
    n = recvmsg(fd, &mh, rflags | MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN && (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0) {
        if (!is_listening(path, fd))
            return -EINVAL;
        n = recvmsg(fd, &mh, rflags);
    }
    if (n < 0)
        return -errno;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS
            && cm->cmsg_len >= CMSG_LEN(sizeof(int)))
            memcpy(&nfd, CMSG_DATA(cm), sizeof(int));
    }
    if (n != (ssize_t)sizeof(msg) || msg.magic != TP_SOCK_MAGIC || nfd < 0) {
        if (nfd >= 0)
            raw_close(nfd);
        /* 0: the listener was shut down or is not listening. */
        return n == 0 ? -EINVAL : -EPROTO;
    }
    if (flags & SOCK_NONBLOCK)
        fcntl(nfd, F_SETFL, O_RDWR | O_NONBLOCK);
    put_in(msg.peer_addr, msg.peer_port, sa, len);
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

    if (sa == NULL || len == NULL)
        return -EFAULT;
    if ((err = call(path, fd, &req, &rep)) != 0)
        return err;
    put_in(rep.addr, rep.port, sa, len);
    return 0;
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

static int
get_info(const char *path, int fd, void *val, socklen_t *len)
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
    *len = *len < (socklen_t)sizeof(ti) ? *len : (socklen_t)sizeof(ti);
    memcpy(val, &ti, *len);
    return 0;
}

/* Options tapir accepts and ignores (they tune what it does not have). */
static bool
ignored_opt(int level, int name)
{
    if (level == SOL_SOCKET)
        return name == SO_REUSEPORT || name == SO_PRIORITY || name == SO_OOBINLINE;
    if (level == IPPROTO_IP)
        return name == IP_TOS || name == IP_BIND_ADDRESS_NO_PORT || name == IP_RECVERR;
    if (level == IPPROTO_TCP)
        return name == TCP_QUICKACK || name == TCP_DEFER_ACCEPT || name == TCP_FASTOPEN
            || name == TCP_NOTSENT_LOWAT || name == TCP_CORK;
    return false;
}

/* Options that belong to the program's end of the pair, and work there. */
static bool
local_opt(int level, int name)
{
    return level == SOL_SOCKET && (name == SO_RCVTIMEO_OLD || name == SO_SNDTIMEO_OLD
        || name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW || name == SO_RCVLOWAT
        || name == SO_SNDLOWAT);
}

static int
put_int(int v, void *val, socklen_t *len)
{
    if (*len < (socklen_t)sizeof(int)) {
        if (*len == 0)
            return -EINVAL;
        *(unsigned char *)val = (unsigned char)v;
        *len = 1;
        return 0;
    }
    memcpy(val, &v, sizeof(v));
    *len = sizeof(v);
    return 0;
}

int
tp_sc_getsockopt(const char *path, int fd, int level, int name, void *val, socklen_t *len)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_GETSOCKOPT, .arg = { level, name } };
    struct tp_sock_rep rep;
    int err;

    if (val == NULL || len == NULL)
        return -EFAULT;
    if (level == IPPROTO_TCP && name == TCP_INFO)
        return get_info(path, fd, val, len);
    if (local_opt(level, name))
        return syscall(SYS_getsockopt, fd, level, name, val, len) < 0 ? -errno : 0;
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_TYPE: return put_int(SOCK_STREAM, val, len);
        case SO_DOMAIN: return put_int(AF_INET, val, len);
        case SO_PROTOCOL: return put_int(IPPROTO_TCP, val, len);
        case SO_LINGER: {
            struct linger l = { 0, 0 };

            req.arg[1] = SO_LINGER;
            if ((err = call(path, fd, &req, &rep)) != 0)
                return err;
            l.l_onoff = rep.val != 0;
            *len = *len < (socklen_t)sizeof(l) ? *len : (socklen_t)sizeof(l);
            memcpy(val, &l, *len);
            return 0;
        }
        default: break;
        }
    }
    if (ignored_opt(level, name))
        return put_int(0, val, len);
    if ((err = call(path, fd, &req, &rep)) != 0)
        return err;
    return put_int(rep.val, val, len);
}

int
tp_sc_setsockopt(const char *path, int fd, int level, int name, const void *val,
    socklen_t len)
{
    struct tp_sock_req req = { .op = TP_SOCK_OP_SETSOCKOPT, .arg = { level, name } };
    struct tp_sock_rep rep;
    int v = 0;

    if (val == NULL && len > 0)
        return -EFAULT;
    if (local_opt(level, name))
        return syscall(SYS_setsockopt, fd, level, name, val, len) < 0 ? -errno : 0;
    if (level == SOL_SOCKET && name == SO_LINGER) {
        struct linger l;

        if (len < (socklen_t)sizeof(l))
            return -EINVAL;
        memcpy(&l, val, sizeof(l));
        v = l.l_onoff != 0 && l.l_linger == 0;  /* only "reset on close" is tapir's */
    } else {
        if (len < (socklen_t)sizeof(int)) {
            if (len == 0)
                return -EINVAL;
            v = *(const unsigned char *)val;
        } else {
            memcpy(&v, val, sizeof(v));
        }
        if (ignored_opt(level, name))
            return 0;
    }
    req.arg[2] = v;
    return call(path, fd, &req, &rep);
}
