/*
 * src/preload/preload.c -- libtapir-preload.so: an unmodified program's
 * AF_INET TCP sockets, served by tapird.
 *
 * Loaded with LD_PRELOAD (see `tapir exec`).  socket(AF_INET, SOCK_STREAM)
 * asks tapird (at $TAPIR_SOCKET, default /run/tapir/tapird.sock) for a
 * tapir socket and returns a Unix stream socket that tapird connects to
 * itself at connect() and makes a listener at listen() (src/api/proto.h):
 * reads, writes, poll, select, epoll, fcntl, dup, fork and exec then work
 * on it as on any socket.  Intercepted, and forwarded to tapird when the
 * fd is a tapir socket (recognised by its own name): bind, listen, accept,
 * accept4, connect, shutdown, getsockname, getpeername, getsockopt,
 * setsockopt.  The data calls go straight to the kernel; only when one
 * fails is its errno made the kernel TCP's (a socket not connected:
 * ENOTCONN for reads, EPIPE and SIGPIPE for writes).  Everything else,
 * and every other kind of socket, goes to the kernel untouched.  A socket
 * bound or connected to 127.0.0.0/8 is handed to the kernel at that moment
 * (the fd number is kept), so loopback keeps working.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "api/client.h"

#define TP_EXPORT __attribute__((visibility("default")))
#define DEFAULT_SOCKET "/run/tapir/tapird.sock"

typedef int socket_fn(int, int, int);
typedef int bind_fn(int, const struct sockaddr *, socklen_t);
typedef int connect_fn(int, const struct sockaddr *, socklen_t);
typedef int listen_fn(int, int);
typedef int accept_fn(int, struct sockaddr *, socklen_t *);
typedef int accept4_fn(int, struct sockaddr *, socklen_t *, int);
typedef int shutdown_fn(int, int);
typedef int getname_fn(int, struct sockaddr *, socklen_t *);
typedef int getsockopt_fn(int, int, int, void *, socklen_t *);
typedef int setsockopt_fn(int, int, int, const void *, socklen_t);
typedef ssize_t sendto_fn(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t read_fn(int, void *, size_t);
typedef ssize_t write_fn(int, const void *, size_t);
typedef ssize_t readv_fn(int, const struct iovec *, int);
typedef ssize_t recv_fn(int, void *, size_t, int);
typedef ssize_t send_fn(int, const void *, size_t, int);
typedef ssize_t recvfrom_fn(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t recvmsg_fn(int, struct msghdr *, int);
typedef ssize_t sendmsg_fn(int, const struct msghdr *, int);
typedef ssize_t read_chk_fn(int, void *, size_t, size_t);
typedef ssize_t recv_chk_fn(int, void *, size_t, size_t, int);
typedef ssize_t recvfrom_chk_fn(int, void *, size_t, size_t, int, struct sockaddr *,
    socklen_t *);

/* The next definitions (libc's), resolved once when the library loads. */
static struct {
    socket_fn *socket;
    bind_fn *bind;
    connect_fn *connect;
    listen_fn *listen;
    accept_fn *accept;
    accept4_fn *accept4;
    shutdown_fn *shutdown;
    getname_fn *getsockname, *getpeername;
    getsockopt_fn *getsockopt;
    setsockopt_fn *setsockopt;
    sendto_fn *sendto;
    read_fn *read;
    write_fn *write;
    readv_fn *readv, *writev;
    recv_fn *recv;
    send_fn *send;
    recvfrom_fn *recvfrom;
    recvmsg_fn *recvmsg;
    sendmsg_fn *sendmsg;
    read_chk_fn *read_chk;
    recv_chk_fn *recv_chk;
    recvfrom_chk_fn *recvfrom_chk;
} real;

static const char *ctl_path = DEFAULT_SOCKET;

__attribute__((constructor)) static void
preload_init(void)
{
    const char *p = getenv("TAPIR_SOCKET");

    if (p != NULL && p[0] != '\0')
        ctl_path = p;
    real.socket = (socket_fn *)dlsym(RTLD_NEXT, "socket");
    real.bind = (bind_fn *)dlsym(RTLD_NEXT, "bind");
    real.connect = (connect_fn *)dlsym(RTLD_NEXT, "connect");
    real.listen = (listen_fn *)dlsym(RTLD_NEXT, "listen");
    real.accept = (accept_fn *)dlsym(RTLD_NEXT, "accept");
    real.accept4 = (accept4_fn *)dlsym(RTLD_NEXT, "accept4");
    real.shutdown = (shutdown_fn *)dlsym(RTLD_NEXT, "shutdown");
    real.getsockname = (getname_fn *)dlsym(RTLD_NEXT, "getsockname");
    real.getpeername = (getname_fn *)dlsym(RTLD_NEXT, "getpeername");
    real.getsockopt = (getsockopt_fn *)dlsym(RTLD_NEXT, "getsockopt");
    real.setsockopt = (setsockopt_fn *)dlsym(RTLD_NEXT, "setsockopt");
    real.read = (read_fn *)dlsym(RTLD_NEXT, "read");
    real.write = (write_fn *)dlsym(RTLD_NEXT, "write");
    real.readv = (readv_fn *)dlsym(RTLD_NEXT, "readv");
    real.writev = (readv_fn *)dlsym(RTLD_NEXT, "writev");
    real.recv = (recv_fn *)dlsym(RTLD_NEXT, "recv");
    real.send = (send_fn *)dlsym(RTLD_NEXT, "send");
    real.recvfrom = (recvfrom_fn *)dlsym(RTLD_NEXT, "recvfrom");
    real.recvmsg = (recvmsg_fn *)dlsym(RTLD_NEXT, "recvmsg");
    real.sendmsg = (sendmsg_fn *)dlsym(RTLD_NEXT, "sendmsg");
    real.read_chk = (read_chk_fn *)dlsym(RTLD_NEXT, "__read_chk");
    real.recv_chk = (recv_chk_fn *)dlsym(RTLD_NEXT, "__recv_chk");
    real.recvfrom_chk = (recvfrom_chk_fn *)dlsym(RTLD_NEXT, "__recvfrom_chk");
    real.sendto = (sendto_fn *)dlsym(RTLD_NEXT, "sendto");
}

#define RESOLVED() do { if (real.sendto == NULL) preload_init(); } while (0)

/* Set errno from a negative result; returns -1 for it, or r as is. */
static int
ret(int r)
{
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}

static void
say_unreachable(int err)
{
    static volatile int said;
    char line[256];
    int n;

    if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
        return;
    if (err == EACCES)
        n = snprintf(line, sizeof(line), "tapir-preload: tapird at %s refused uid %u (%s); "
            "run as root or as tapird's user\n", ctl_path, (unsigned)getuid(), strerror(err));
    else
        n = snprintf(line, sizeof(line), "tapir-preload: no tapird at %s (%s); start tapird "
            "or set TAPIR_SOCKET\n", ctl_path, strerror(err));
    if (n > 0)
        (void)!write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static bool
is_tcp4(int domain, int type, int protocol)
{
    return domain == AF_INET && (type & 0xf) == SOCK_STREAM
        && (protocol == 0 || protocol == IPPROTO_TCP);
}

TP_EXPORT int
socket(int domain, int type, int protocol)
{
    RESOLVED();
    int fd;

    if (!is_tcp4(domain, type, protocol))
        return real.socket(domain, type, protocol);
    if (type & ~(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC)) {
        errno = EINVAL;
        return -1;
    }
    fd = tp_sc_socket(ctl_path, type & (SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd == -ECONNREFUSED || fd == -EACCES || fd == -EPROTO)
        say_unreachable(-fd);
    return ret(fd);
}

static bool
is_loopback(const struct sockaddr *sa, socklen_t len)
{
    struct sockaddr_in sin;

    if (len < (socklen_t)sizeof(sin) || tp_sc_copy_in(&sin, sa, sizeof(sin)) != 0)
        return false;
    return sin.sin_family == AF_INET && (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
}

/*
 * Replace tapir socket fd by a kernel TCP socket under the same number,
 * keeping O_NONBLOCK, FD_CLOEXEC and the options the program set (socket
 * and TCP options, timeouts).  Our old socket closes, and tapird forgets
 * the tapir socket.
 */
static int
to_kernel(int fd)
{
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD), nfd;

    if (fl < 0 || fdfl < 0)
        return -errno;
    if ((nfd = real.socket(AF_INET, SOCK_STREAM | ((fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0), 0)) < 0)
        return -errno;
    tp_sc_carry_options(ctl_path, fd, nfd, real.setsockopt);
    if (dup3(nfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
        int err = -errno;

        close(nfd);
        return err;
    }
    close(nfd);
    return 0;
}

TP_EXPORT int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    RESOLVED();
    int err;

    if (!tp_sc_is_ours(fd))
        return real.bind(fd, sa, len);
    if (is_loopback(sa, len)) {
        if ((err = to_kernel(fd)) != 0)
            return ret(err);
        return real.bind(fd, sa, len);
    }
    return ret(tp_sc_bind(ctl_path, fd, sa, len));
}

TP_EXPORT int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    RESOLVED();
    int err;

    if (!tp_sc_is_ours(fd))
        return real.connect(fd, sa, len);
    if (is_loopback(sa, len)) {
        if ((err = to_kernel(fd)) != 0)
            return ret(err);
        return real.connect(fd, sa, len);
    }
    return ret(tp_sc_connect(ctl_path, fd, sa, len));
}

TP_EXPORT int
listen(int fd, int backlog)
{
    RESOLVED();
    if (!tp_sc_is_ours(fd))
        return real.listen(fd, backlog);
    return ret(tp_sc_listen(ctl_path, fd, backlog));
}

TP_EXPORT int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    RESOLVED();
    if (!tp_sc_is_ours(fd))
        return real.accept4(fd, sa, len, flags);
    return ret(tp_sc_accept(ctl_path, fd, sa, len, flags));
}

TP_EXPORT int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
    RESOLVED();
    if (!tp_sc_is_ours(fd))
        return real.accept(fd, sa, len);
    return ret(tp_sc_accept(ctl_path, fd, sa, len, 0));
}

TP_EXPORT int
shutdown(int fd, int how)
{
    RESOLVED();
    if (!tp_sc_is_ours(fd))
        return real.shutdown(fd, how);
    return ret(tp_sc_shutdown(ctl_path, fd, how));
}

TP_EXPORT int
getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
    RESOLVED();
    if (!tp_sc_is_ours(fd))
        return real.getsockname(fd, sa, len);
    return ret(tp_sc_getname(ctl_path, fd, false, sa, len));
}

TP_EXPORT int
getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
    RESOLVED();
    if (!tp_sc_is_ours(fd))
        return real.getpeername(fd, sa, len);
    return ret(tp_sc_getname(ctl_path, fd, true, sa, len));
}

TP_EXPORT int
getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    RESOLVED();
    if (!tp_sc_is_ours(fd))
        return real.getsockopt(fd, level, name, val, len);
    return ret(tp_sc_getsockopt(ctl_path, fd, level, name, val, len));
}

TP_EXPORT int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    RESOLVED();
    if (!tp_sc_is_ours(fd))
        return real.setsockopt(fd, level, name, val, len);
    return ret(tp_sc_setsockopt(ctl_path, fd, level, name, val, len));
}

/*
 * The data calls: the kernel's, on the Unix socket.  Only a failure is
 * looked at, to give the errno of a TCP socket that is not connected
 * (client.h); the success path costs one indirect call.
 */
/* glibc's fortified entry points (_FORTIFY_SOURCE builds call these). */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t cap);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t cap, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t cap, int flags, struct sockaddr *sa,
    socklen_t *len);

TP_EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
    RESOLVED();
    return tp_sc_rd(real.read(fd, buf, n), fd);
}

TP_EXPORT ssize_t
__read_chk(int fd, void *buf, size_t n, size_t cap)
{
    RESOLVED();
    return tp_sc_rd(real.read_chk(fd, buf, n, cap), fd);
}

TP_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int cnt)
{
    RESOLVED();
    return tp_sc_rd(real.readv(fd, iov, cnt), fd);
}

TP_EXPORT ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
    RESOLVED();
    return tp_sc_rd(real.recv(fd, buf, n, flags), fd);
}

TP_EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t n, size_t cap, int flags)
{
    RESOLVED();
    return tp_sc_rd(real.recv_chk(fd, buf, n, cap, flags), fd);
}

TP_EXPORT ssize_t
recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len)
{
    RESOLVED();
    return tp_sc_rd(real.recvfrom(fd, buf, n, flags, sa, len), fd);
}

TP_EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t n, size_t cap, int flags, struct sockaddr *sa,
    socklen_t *len)
{
    RESOLVED();
    return tp_sc_rd(real.recvfrom_chk(fd, buf, n, cap, flags, sa, len), fd);
}

TP_EXPORT ssize_t
recvmsg(int fd, struct msghdr *mh, int flags)
{
    RESOLVED();
    return tp_sc_rd(real.recvmsg(fd, mh, flags), fd);
}

TP_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
    RESOLVED();
    return tp_sc_wr(real.write(fd, buf, n), fd, 0);
}

TP_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
    RESOLVED();
    return tp_sc_wr(real.writev(fd, iov, cnt), fd, 0);
}

TP_EXPORT ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
    RESOLVED();
    return tp_sc_wr(real.send(fd, buf, n, flags), fd, flags);
}

TP_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *mh, int flags)
{
    RESOLVED();
    return tp_sc_wr(real.sendmsg(fd, mh, flags), fd, flags);
}

/* A TCP socket ignores sendto's address once connected (and a fresh one
 * says EPIPE); a Unix stream socket would refuse it, so it is dropped. */
TP_EXPORT ssize_t
sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len)
{
    RESOLVED();
    if (sa != NULL && tp_sc_is_ours(fd))
        return tp_sc_wr(real.sendto(fd, buf, n, flags, NULL, 0), fd, flags);
    return tp_sc_wr(real.sendto(fd, buf, n, flags, sa, len), fd, flags);
}
