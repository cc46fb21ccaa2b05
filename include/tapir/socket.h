/*
 * tapir/socket.h -- BSD-style TCP sockets for programs that link libtapir.
 *
 * A "net" is one tapir stack running on its own thread, on a link: an
 * existing TUN device (configured by the caller, e.g. with `ip tuntap add`
 * and `ip addr`), or any fd that carries one IPv4 packet per read and
 * write (a TUN fd, one end of a SOCK_DGRAM socketpair joining two nets).
 *
 * Each tapir socket is a real file descriptor: a Unix stream socket that
 * the stack thread connects to itself at connect() (and makes a listener
 * at listen()), the same file throughout.  So data
 * moves with read, write, send, recv, readv, writev, sendmsg, recvmsg and
 * sendfile; readiness comes from poll, select or epoll mixed with the
 * program's other descriptors; O_NONBLOCK (SOCK_NONBLOCK, fcntl) makes
 * calls non-blocking; and the fd is what joins the program's event loop.
 * Only the calls below go to the stack.  They follow the BSD calls: 0 (or
 * an fd) on success, -1 with errno on failure (EBADF, EINVAL, EINPROGRESS,
 * EISCONN, ECONNREFUSED, ...).  Every call is thread-safe.
 *
 * What a program sees at the edges (see docs/sockets.md): the peer's FIN
 * is end of file; after a reset, reads return end of file (or ECONNRESET)
 * and writes EPIPE (use MSG_NOSIGNAL or ignore SIGPIPE), and SO_ERROR
 * says ECONNRESET; close() is the kernel's close (the last fd closing
 * closes the connection; unread data makes it a reset).
 */
#ifndef TAPIR_SOCKET_H
#define TAPIR_SOCKET_H

#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tapir/stack.h"

struct tapir_net;                                /* opaque */

struct tapir_net_config {
    struct tapir_config stack;      /* address, prefix, MTU, TCP: see stack.h */
    const char *tun_name;           /* attach to this existing TUN device, or NULL */
    int link_fd;                    /* else this packet fd (borrowed; made non-blocking) */
    unsigned linger_ms;             /* tapir_net_stop(): time left to closing connections */
};

/* Defaults: tapir_config_default(), log lines to stderr at WARN, no link,
 * linger 2000 ms. */
void tapir_net_config_default(struct tapir_net_config *cfg);

/* Start a stack thread.  Returns 0 and *out, or a negative errno. */
int tapir_net_start(const struct tapir_net_config *cfg, struct tapir_net **out);

/* Stop the net as a process exit would end its sockets: each is closed
 * (its connection finishes gracefully, or resets if data was left unread;
 * fds the program still holds read end of file), then the thread waits
 * until those connections are done, at most linger_ms, and stops; what
 * is left is dropped.  NULL allowed. */
void tapir_net_stop(struct tapir_net *net);

/* A TCP socket of net: type is SOCK_STREAM, or-ed with SOCK_NONBLOCK and
 * SOCK_CLOEXEC. */
int tapir_socket(struct tapir_net *net, int type);

int tapir_bind(int fd, const struct sockaddr *addr, socklen_t len);
int tapir_listen(int fd, int backlog);
int tapir_accept(int fd, struct sockaddr *addr, socklen_t *len);
int tapir_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int tapir_connect(int fd, const struct sockaddr *addr, socklen_t len);
int tapir_shutdown(int fd, int how);
int tapir_close(int fd);
int tapir_getsockname(int fd, struct sockaddr *addr, socklen_t *len);
int tapir_getpeername(int fd, struct sockaddr *addr, socklen_t *len);

/* SOL_SOCKET: SO_REUSEADDR, SO_RCVBUF, SO_SNDBUF, SO_KEEPALIVE, SO_LINGER
 * (zero linger: reset on close), SO_ERROR, SO_TYPE, SO_ACCEPTCONN,
 * SO_RCVTIMEO/SO_SNDTIMEO; IPPROTO_TCP: TCP_NODELAY, TCP_MAXSEG,
 * TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_USER_TIMEOUT, TCP_INFO (common
 * fields); IPPROTO_IP: IP_TOS, IP_TTL.  Others: ENOPROTOOPT. */
int tapir_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int tapir_setsockopt(int fd, int level, int name, const void *val, socklen_t len);

/* The data calls: the same as the system's, on the socket's fd. */
ssize_t tapir_read(int fd, void *buf, size_t len);
ssize_t tapir_write(int fd, const void *buf, size_t len);
ssize_t tapir_recv(int fd, void *buf, size_t len, int flags);
ssize_t tapir_send(int fd, const void *buf, size_t len, int flags);
ssize_t tapir_readv(int fd, const struct iovec *iov, int iovcnt);
ssize_t tapir_writev(int fd, const struct iovec *iov, int iovcnt);
int tapir_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

#endif
