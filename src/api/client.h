/*
 * src/api/client.h -- the program's side of the socket protocol (proto.h):
 * BSD-shaped socket calls on tapir sockets served by an engine.
 *
 * Shared by the C API (src/api/api.c, engine in-process) and the preload
 * shim (src/preload/, engine in tapird).  It depends on libc alone and
 * makes the calls the shim intercepts (socket, connect, getsockopt, ...)
 * as raw system calls, so it never re-enters the shim.  Every function is
 * thread-safe and fork-safe: each control request opens its own short
 * connection to the engine, and nothing is cached in the process.
 * Functions return 0 (or an fd) or a negative errno, never set errno.
 *
 * path names the engine's control socket: a file, or "@name" (abstract).
 */
#ifndef TP_API_CLIENT_H
#define TP_API_CLIENT_H

#include <stdbool.h>
#include <sys/socket.h>

#include "api/proto.h"

/* A new tapir socket; flags: SOCK_NONBLOCK, SOCK_CLOEXEC.  -ECONNREFUSED
 * when no engine answers at path. */
int tp_sc_socket(const char *path, int flags);

/* True if fd is a tapir socket (one getsockname). */
bool tp_sc_is_ours(int fd);

/* A data call's result r on fd, with errno made the kernel TCP's for a
 * tapir socket that is not connected: a read's EINVAL becomes ENOTCONN; a
 * write's ENOTCONN becomes EPIPE, with SIGPIPE unless flags has
 * MSG_NOSIGNAL.  Returns r; other fds and results are left as they are.
 * (These set errno: they wrap the system's data calls.) */
ssize_t tp_sc_rd(ssize_t r, int fd);
ssize_t tp_sc_wr(ssize_t r, int fd, int flags);

/* Copy n bytes from the program's src: 0, or -EFAULT for a bad address
 * (never a crash). */
int tp_sc_copy_in(void *dst, const void *src, size_t n);

int tp_sc_bind(const char *path, int fd, const struct sockaddr *sa, socklen_t len);
int tp_sc_listen(const char *path, int fd, int backlog);

/* Blocking or not as fd's O_NONBLOCK says: -EINPROGRESS, then POLLOUT
 * and SO_ERROR, like the kernel. */
int tp_sc_connect(const char *path, int fd, const struct sockaddr *sa, socklen_t len);

/* Take one connection from listener fd (blocking as its O_NONBLOCK says);
 * flags: SOCK_NONBLOCK, SOCK_CLOEXEC.  Returns the new fd; -EINVAL on a
 * socket that is not listening.  Bad pointers: -EFAULT (the connection is
 * lost, as with Linux). */
int tp_sc_accept(const char *path, int fd, struct sockaddr *sa, socklen_t *len, int flags);

int tp_sc_shutdown(const char *path, int fd, int how);
int tp_sc_getname(const char *path, int fd, bool peer, struct sockaddr *sa, socklen_t *len);
int tp_sc_getsockopt(const char *path, int fd, int level, int name, void *val, socklen_t *len);
int tp_sc_setsockopt(const char *path, int fd, int level, int name, const void *val,
    socklen_t len);

/* Copy the options the program set on tapir socket from (those the engine
 * remembers, TP_SOCK_CARRIED, and the timeouts of the Unix socket) to the
 * kernel socket to, with set (the kernel's setsockopt). */
typedef int tp_sc_setopt_fn(int, int, int, const void *, socklen_t);
int tp_sc_carry_options(const char *path, int from, int to, tp_sc_setopt_fn *set);

/* One raw exchange (tests of the engine's validation use it): sends req
 * with fd (if >= 0), fills *rep and *rfd (-1 if none).  0 or -errno of
 * the transport; the engine's answer is rep->err. */
int tp_sc_call(const char *path, const void *req, size_t req_len, int fd,
    struct tp_sock_rep *rep, int *rfd);

#endif
