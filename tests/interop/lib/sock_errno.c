/*
 * tests/interop/lib/sock_errno.c -- one fixed sequence of socket calls,
 * most of them wrong, printing what each returned: "ok" or the errno's
 * name, and for some the value read, the poll events or the SIGPIPEs
 * raised.  sock_errno_test.sh runs it once on the kernel's TCP and once
 * under `tapir exec`, and requires the two outputs to be identical.
 *
 * usage: sock_errno PEER SELF OPEN CLOSED FULL BASEPORT
 *   PEER    the kernel's address: OPEN is a port where it accepts (and
 *           echoes), CLOSED one where nothing listens, FULL one whose
 *           accept queue is full (SYNs go unanswered);
 *   SELF    the address at which our own listeners are reached by a
 *           kernel socket made with syscall(2) (the shim never sees it);
 *   BASEPORT  BASEPORT..BASEPORT+9 are free for our listeners.
 *
 * Built without sanitizers: it runs under LD_PRELOAD and passes bad
 * pointers on purpose.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static struct sockaddr_in peer_open, peer_closed, peer_full, self_addr;
static int base_port;
static void *bad;                   /* an unmapped page */
static volatile sig_atomic_t sigpipes;

static const char *
ename(int e)
{
    static char buf[16];

    switch (e) {
    case 0: return "ok";
#define E(x) case x: return #x;
    E(EBADF) E(EINVAL) E(EFAULT) E(ENOTCONN) E(EISCONN) E(EADDRINUSE) E(EALREADY)
    E(EINPROGRESS) E(ECONNREFUSED) E(EPIPE) E(EOPNOTSUPP) E(ENOTSOCK) E(EAFNOSUPPORT)
    E(EAGAIN) E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(EADDRNOTAVAIL) E(ECONNRESET)
    E(ESOCKTNOSUPPORT) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE) E(ENETUNREACH)
#undef E
    default:
        snprintf(buf, sizeof(buf), "E%d", e);
        return buf;
    }
}

/* Print one step: its name, ok or the errno, and SIGPIPEs since the last. */
static void
say(const char *name, long r)
{
    int e = r < 0 ? errno : 0;

    printf("%-44s %s", name, ename(e));
    if (sigpipes != 0)
        printf(" +SIGPIPE");
    sigpipes = 0;
    printf("\n");
    fflush(stdout);
}

static void
say_val(const char *name, const char *what, long v)
{
    printf("%-44s %s=%ld\n", name, what, v);
    fflush(stdout);
}

static void
on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static struct sockaddr_in
in4(const char *a, int port)
{
    struct sockaddr_in sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, a, &sa.sin_addr) != 1) {
        fprintf(stderr, "sock_errno: bad address %s\n", a);
        exit(2);
    }
    return sa;
}

static struct sockaddr_in
any(int port)
{
    return in4("0.0.0.0", port);
}

#define SA(x) ((struct sockaddr *)&(x))

static int
tcp(int flags)
{
    int s = socket(AF_INET, SOCK_STREAM | flags, 0);

    if (s < 0) {
        perror("sock_errno: socket");
        exit(2);
    }
    return s;
}

/* The poll events of fd right now, as letters. */
static void
say_poll(const char *name, int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
    int n = poll(&p, 1, timeout_ms);

    printf("%-44s poll=%s%s%s%s%s\n", name, n < 0 ? "error" : "",
        (p.revents & POLLIN) ? "I" : "", (p.revents & POLLOUT) ? "O" : "",
        (p.revents & POLLERR) ? "E" : "", (p.revents & POLLHUP) ? "H" : "");
    fflush(stdout);
}

static int
so_error(int fd)
{
    int v = -1;
    socklen_t len = sizeof(v);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len) < 0)
        return -errno;
    return v;
}

/* Calls on a descriptor that is not a TCP socket: what the kernel says
 * (the shim passes them through). */
static void
not_sockets(void)
{
    struct sockaddr_in sa = any(base_port);
    socklen_t len = sizeof(sa);
    int v = 1, p[2], closed = tcp(0);

    close(closed);
    say("bind on fd -1", bind(-1, SA(sa), sizeof(sa)));
    say("connect on fd -1", connect(-1, SA(peer_open), sizeof(peer_open)));
    say("listen on fd -1", listen(-1, 1));
    say("accept on fd -1", accept(-1, NULL, NULL));
    say("getsockname on a closed fd", getsockname(closed, SA(sa), &len));
    say("getpeername on a closed fd", getpeername(closed, SA(sa), &len));
    say("getsockopt on a closed fd", getsockopt(closed, SOL_SOCKET, SO_ERROR, &v, &len));
    say("setsockopt on a closed fd", setsockopt(closed, SOL_SOCKET, SO_KEEPALIVE, &v, 4));
    say("shutdown on a closed fd", shutdown(closed, SHUT_RDWR));
    if (pipe(p) != 0)
        exit(2);
    say("bind on a pipe", bind(p[0], SA(sa), sizeof(sa)));
    say("connect on a pipe", connect(p[0], SA(peer_open), sizeof(peer_open)));
    say("listen on a pipe", listen(p[0], 1));
    say("accept on a pipe", accept(p[0], NULL, NULL));
    say("getsockopt on a pipe", getsockopt(p[0], SOL_SOCKET, SO_ERROR, &v, &len));
    say("shutdown on a pipe", shutdown(p[0], SHUT_RDWR));
    close(p[0]);
    close(p[1]);
    say("socket(AF_INET, STREAM|0x40000000)", socket(AF_INET, SOCK_STREAM | 0x40000000, 0));
    say("socket(AF_INET, STREAM, IPPROTO_UDP)", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    v = socket(AF_INET, SOCK_DGRAM, 0);
    say("listen on a UDP socket", listen(v, 1));
    say("accept on a UDP socket", accept(v, NULL, NULL));
    close(v);
}

/* A socket never connected: reads ENOTCONN, writes EPIPE (and SIGPIPE). */
static void
fresh(void)
{
    int s = tcp(0), v = 1;
    char b[8] = "abc";
    struct iovec iov = { b, 3 };
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    say_poll("poll a fresh socket", s, 0);
    say("read a fresh socket", read(s, b, sizeof(b)));
    say("recv a fresh socket", recv(s, b, sizeof(b), 0));
    say("recv MSG_DONTWAIT a fresh socket", recv(s, b, sizeof(b), MSG_DONTWAIT));
    say("readv a fresh socket", readv(s, &iov, 1));
    say("write a fresh socket", write(s, b, 3));
    say("send MSG_NOSIGNAL a fresh socket", send(s, b, 3, MSG_NOSIGNAL));
    say("writev a fresh socket", writev(s, &iov, 1));
    say("sendto with an address a fresh socket",
        sendto(s, b, 3, MSG_NOSIGNAL, SA(peer_open), sizeof(peer_open)));
    say("getpeername a fresh socket", getpeername(s, SA(sa), &len));
    say("shutdown(RDWR) a fresh socket", shutdown(s, SHUT_RDWR));
    say("shutdown(7) a fresh socket", shutdown(s, 7));
    say("accept a fresh socket", accept(s, NULL, NULL));
    fcntl(s, F_SETFL, O_NONBLOCK);
    say("accept a fresh non-blocking socket", accept(s, NULL, NULL));
    fcntl(s, F_SETFL, 0);
    say("accept4 bad flags", accept4(s, NULL, NULL, 0x1234));
    say_val("SO_ERROR of a fresh socket", "v", so_error(s));
    len = sizeof(v);
    say("getsockopt(SOL_SOCKET, 9999)", getsockopt(s, SOL_SOCKET, 9999, &v, &len));
    len = sizeof(v);
    say("getsockopt(IPPROTO_TCP, 9999)", getsockopt(s, IPPROTO_TCP, 9999, &v, &len));
    len = sizeof(v);
    say("getsockopt(level 4242)", getsockopt(s, 4242, 1, &v, &len));
    len = sizeof(v);
    say("getsockopt val unmapped", getsockopt(s, IPPROTO_TCP, TCP_NODELAY, bad, &len));
    say("getsockopt len unmapped", getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, bad));
    say("getsockopt len NULL", getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, NULL));
    len = (socklen_t)-1;
    say("getsockopt len -1", getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &len));
    say("setsockopt TCP_NODELAY optlen 0", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, 0));
    say("setsockopt TCP_NODELAY val unmapped", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, bad, 4));
    say("setsockopt TCP_NODELAY val NULL", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, NULL, 4));
    say("setsockopt SO_KEEPALIVE val unmapped", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, bad, 4));
    say("setsockopt(SOL_SOCKET, 9999)", setsockopt(s, SOL_SOCKET, 9999, &v, 4));
    len = sizeof(sa);
    say("getsockname addr unmapped", getsockname(s, bad, &len));
    say("getsockname len unmapped", getsockname(s, SA(sa), bad));
    say("getsockname NULL", getsockname(s, NULL, &len));
    say("getpeername addr unmapped", getpeername(s, bad, &len));
    sa = any(base_port);
    sa.sin_family = AF_INET6;
    say("bind family AF_INET6", bind(s, SA(sa), sizeof(sa)));
    sa.sin_family = AF_INET;
    say("bind short length", bind(s, SA(sa), 8));
    say("bind length 200", bind(s, SA(sa), 200));
    say("bind addr unmapped", bind(s, bad, sizeof(sa)));
    say("bind addr NULL", bind(s, NULL, sizeof(sa)));
    sa = in4("10.250.250.250", base_port);
    say("bind a foreign address", bind(s, SA(sa), sizeof(sa)));
    sa = peer_open;
    sa.sin_family = AF_INET6;
    say("connect family AF_INET6", connect(s, SA(sa), sizeof(sa)));
    say("connect short length", connect(s, SA(peer_open), 8));
    say("connect addr unmapped", connect(s, bad, sizeof(sa)));
    say("connect addr NULL", connect(s, NULL, sizeof(sa)));
    close(s);
}

/* A listener: it is not connected, and its address is taken. */
static void
listener(void)
{
    struct sockaddr_in sa = any(base_port), got;
    socklen_t len = sizeof(got);
    int s = tcp(0), s2 = tcp(0), one = 1;
    char b[4] = "abc";

    say("bind a fresh socket", bind(s, SA(sa), sizeof(sa)));
    say("bind it again", bind(s, SA(sa), sizeof(sa)));
    say("listen", listen(s, 4));
    say("listen again", listen(s, 8));
    say_poll("poll an idle listener", s, 0);
    say("read a listener", read(s, b, sizeof(b)));
    say("write a listener", write(s, b, 3));
    say("getpeername a listener", getpeername(s, SA(got), &len));
    say("connect a listener", connect(s, SA(peer_open), sizeof(peer_open)));
    say("bind another socket to its port", bind(s2, SA(sa), sizeof(sa)));
    setsockopt(s2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    say("... with SO_REUSEADDR", bind(s2, SA(sa), sizeof(sa)));
    close(s2);
    fcntl(s, F_SETFL, O_NONBLOCK);
    say("accept nothing waiting, non-blocking", accept(s, NULL, NULL));
    fcntl(s, F_SETFL, 0);
    say("shutdown(SHUT_WR) a listener", shutdown(s, SHUT_WR));
    close(s);

    /* Two listeners sharing a port with SO_REUSEPORT; a third without it. */
    s = tcp(0);
    s2 = tcp(0);
    sa = any(base_port + 1);
    setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    setsockopt(s2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    say("SO_REUSEPORT: bind the first", bind(s, SA(sa), sizeof(sa)));
    say("SO_REUSEPORT: listen the first", listen(s, 4));
    say("SO_REUSEPORT: bind the second", bind(s2, SA(sa), sizeof(sa)));
    say("SO_REUSEPORT: bind the second again", bind(s2, SA(sa), sizeof(sa)));
    say("SO_REUSEPORT: listen the second", listen(s2, 4));
    len = sizeof(got);
    say("SO_REUSEPORT: getsockname the second", getsockname(s2, SA(got), &len));
    say_val("SO_REUSEPORT: ... its port", "same", got.sin_port == sa.sin_port);
    close(s2);
    s2 = tcp(0);
    say("SO_REUSEPORT: bind a third without it", bind(s2, SA(sa), sizeof(sa)));
    close(s2);
    close(s);
}

/* A kernel socket (syscall(2): not the shim's) connected to our listener
 * on port; returns it or -1. */
static int
kernel_client(int port)
{
    struct sockaddr_in sa = self_addr;
    int c = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);

    sa.sin_port = htons((uint16_t)port);
    if (c < 0 || syscall(SYS_connect, c, SA(sa), sizeof(sa)) != 0) {
        perror("sock_errno: kernel client");
        exit(2);
    }
    return c;
}

/* accept with a connection waiting and a bad address: EFAULT. */
static void
accept_faults(void)
{
    struct sockaddr_in sa = any(base_port + 2);
    socklen_t len = sizeof(sa);
    int s = tcp(0), c[4], a;

    bind(s, SA(sa), sizeof(sa));
    listen(s, 8);
    for (int i = 0; i < 4; i++)
        c[i] = kernel_client(base_port + 2);
    say_poll("poll a listener with 4 waiting", s, 5000);
    say("accept addr unmapped", a = accept(s, bad, &len));
    if (a >= 0)
        close(a);
    say("accept len unmapped", a = accept(s, SA(sa), bad));
    if (a >= 0)
        close(a);
    len = (socklen_t)-1;
    say("accept len -1", a = accept(s, SA(sa), &len));
    if (a >= 0)
        close(a);
    len = sizeof(sa);
    say("accept addr given, len NULL", a = accept(s, SA(sa), NULL));
    if (a >= 0)
        close(a);
    close(s);
    for (int i = 0; i < 4; i++)
        close(c[i]);
}

static void
connects(void)
{
    int s = tcp(0), v = 0;
    char b[4] = "abc";
    struct sockaddr_in sa;

    say("connect to a closed port", connect(s, SA(peer_closed), sizeof(peer_closed)));
    say_val("... then SO_ERROR", "v", so_error(s));
    close(s);

    s = tcp(SOCK_NONBLOCK);
    say("non-blocking connect to a closed port", connect(s, SA(peer_closed), sizeof(peer_closed)));
    say_poll("... poll", s, 5000);
    say_val("... then SO_ERROR", "v", so_error(s));
    say_val("... SO_ERROR again", "v", so_error(s));
    say_poll("... poll after SO_ERROR", s, 0);
    say("... read after SO_ERROR", read(s, b, 3));
    say("... write after SO_ERROR", send(s, b, 3, MSG_NOSIGNAL));
    close(s);

    s = tcp(0);
    say("connect to a closed port", connect(s, SA(peer_closed), sizeof(peer_closed)));
    say("... and again", connect(s, SA(peer_closed), sizeof(peer_closed)));
    say("... write", send(s, b, 3, MSG_NOSIGNAL));
    say("... read", recv(s, b, 3, MSG_DONTWAIT));
    say_poll("... poll", s, 0);
    say("... then to an open port", connect(s, SA(peer_open), sizeof(peer_open)));
    say("... send 3", send(s, b, 3, 0));
    say("... recv 3", recv(s, b, 3, MSG_WAITALL));
    close(s);

    s = tcp(0);
    sa = in4("224.0.0.1", 80);
    say("connect to a multicast address", connect(s, SA(sa), sizeof(sa)));
    say("... write", send(s, b, 3, MSG_NOSIGNAL));
    say("... read", recv(s, b, 3, MSG_DONTWAIT));
    close(s);

    s = tcp(SOCK_NONBLOCK);
    say("non-blocking connect to a full port", connect(s, SA(peer_full), sizeof(peer_full)));
    say("... connect again", connect(s, SA(peer_full), sizeof(peer_full)));
    say_poll("... poll", s, 0);
    say("... write while connecting", send(s, b, 3, MSG_NOSIGNAL));
    say("... listen while connecting", listen(s, 1));
    close(s);

    s = tcp(0);
    say("connect to an open port", connect(s, SA(peer_open), sizeof(peer_open)));
    say("... connect again", connect(s, SA(peer_open), sizeof(peer_open)));
    say("... connect elsewhere", connect(s, SA(peer_closed), sizeof(peer_closed)));
    say("... bind", bind(s, SA(peer_open), sizeof(peer_open)));
    say("... listen", listen(s, 1));
    say("... accept", accept(s, NULL, NULL));
    say("... send 3", send(s, b, 3, 0));
    say("... recv 3", recv(s, b, 3, MSG_WAITALL));
    say("... shutdown(SHUT_WR)", shutdown(s, SHUT_WR));
    say("... write after SHUT_WR", write(s, b, 3));
    say("... send MSG_NOSIGNAL after SHUT_WR", send(s, b, 3, MSG_NOSIGNAL));
    say("... read end of file", read(s, b, 3));
    say("... shutdown(SHUT_WR) once closed", shutdown(s, SHUT_WR));
    (void)v;
    close(s);

    s = tcp(SOCK_NONBLOCK);
    say("non-blocking connect to an open port", connect(s, SA(peer_open), sizeof(peer_open)));
    say_poll("... poll", s, 5000);
    say_val("... SO_ERROR", "v", so_error(s));
    say("... connect again", connect(s, SA(peer_open), sizeof(peer_open)));
    close(s);
}

int
main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: sock_errno PEER SELF OPEN CLOSED FULL BASEPORT\n");
        return 2;
    }
    peer_open = in4(argv[1], atoi(argv[3]));
    peer_closed = in4(argv[1], atoi(argv[4]));
    peer_full = in4(argv[1], atoi(argv[5]));
    self_addr = in4(argv[2], 0);
    base_port = atoi(argv[6]);
    bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bad == MAP_FAILED || munmap(bad, 4096) != 0)
        return 2;
    signal(SIGPIPE, on_sigpipe);
    not_sockets();
    fresh();
    listener();
    accept_faults();
    connects();
    printf("end\n");
    return 0;
}
