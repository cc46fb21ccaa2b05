/*
 * src/api/api_test.c -- the socket C API (and through it the bridge
 * engine and its protocol) between two nets in one process, joined by a
 * SOCK_DGRAM socketpair as their link: no root, no TUN, real threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/client.h"
#include "tapir/socket.h"

#define ADDR_A 0x0a000001u              /* 10.0.0.1 */
#define ADDR_B 0x0a000002u              /* 10.0.0.2 */

struct pair {
    struct tapir_net *a, *b;
    int link[2];
};

static struct sockaddr_in
sin_of(uint32_t addr, uint16_t port)
{
    struct sockaddr_in s;

    memset(&s, 0, sizeof(s));
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(addr);
    s.sin_port = htons(port);
    return s;
}

static struct tapir_net *
start(int fd, uint32_t addr, uint64_t seed)
{
    struct tapir_net_config cfg;
    struct tapir_net *net;

    tapir_net_config_default(&cfg);
    cfg.stack.addr = addr;
    cfg.stack.prefix_len = 24;
    cfg.stack.seed = seed;
    cfg.stack.tcp.rto_min_ms = 200;
    cfg.link_fd = fd;
    assert_int_equal(tapir_net_start(&cfg, &net), 0);
    return net;
}

static int
setup(void **state)
{
    struct pair *p = calloc(1, sizeof(*p));

    assert_non_null(p);
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p->link), 0);
    p->a = start(p->link[0], ADDR_A, 1);
    p->b = start(p->link[1], ADDR_B, 2);
    *state = p;
    return 0;
}

static int
teardown(void **state)
{
    struct pair *p = *state;

    tapir_net_stop(p->a);
    tapir_net_stop(p->b);
    close(p->link[0]);
    close(p->link[1]);
    free(p);
    return 0;
}

/* A listener on a at port; returns its fd. */
static int
listener(struct pair *p, uint16_t port)
{
    struct sockaddr_in s = sin_of(0, port);
    int one = 1, fd = tapir_socket(p->a, SOCK_STREAM);

    assert_true(fd >= 0);
    assert_int_equal(tapir_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    assert_int_equal(tapir_bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
    assert_int_equal(tapir_listen(fd, 8), 0);
    return fd;
}

/* Blocking connect from b to a:port; returns the fd. */
static int
dial(struct pair *p, uint16_t port)
{
    struct sockaddr_in s = sin_of(ADDR_A, port);
    int fd = tapir_socket(p->b, SOCK_STREAM);

    assert_true(fd >= 0);
    assert_int_equal(tapir_connect(fd, (struct sockaddr *)&s, sizeof(s)), 0);
    return fd;
}

static void
fill_pattern(uint8_t *buf, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
}

/* Send n bytes on wfd while reading n bytes from rfd, with poll, both
 * non-blocking; the bytes read must be the bytes sent. */
static void
pump(int wfd, int rfd, size_t n, uint32_t seed)
{
    uint8_t *out = malloc(n), *in = malloc(n);
    size_t sent = 0, got = 0;

    assert_non_null(out);
    assert_non_null(in);
    fill_pattern(out, n, seed);
    fcntl(wfd, F_SETFL, O_RDWR | O_NONBLOCK);
    fcntl(rfd, F_SETFL, O_RDWR | O_NONBLOCK);
    while (got < n) {
        struct pollfd pf[2] = { { wfd, sent < n ? POLLOUT : 0, 0 }, { rfd, POLLIN, 0 } };
        ssize_t r;

        assert_true(tapir_poll(pf, 2, 10000) > 0);
        if ((pf[0].revents & POLLOUT) && sent < n) {
            r = tapir_send(wfd, out + sent, n - sent, MSG_NOSIGNAL);
            assert_true(r > 0 || errno == EAGAIN);
            if (r > 0)
                sent += (size_t)r;
        }
        if (pf[1].revents & POLLIN) {
            r = tapir_recv(rfd, in + got, n - got, 0);
            assert_true(r > 0 || (r < 0 && errno == EAGAIN));
            if (r > 0)
                got += (size_t)r;
        }
    }
    assert_memory_equal(in, out, n);
    free(out);
    free(in);
}

/* Connect, accept, 2 MB each way at once, names, TCP_INFO, orderly close. */
static void
test_transfer(void **state)
{
    struct pair *p = *state;
    int ls = listener(p, 8000), c = dial(p, 8000), s, v = -1;
    struct sockaddr_in peer, name;
    socklen_t len = sizeof(peer);
    struct tcp_info ti;
    char byte;

    s = tapir_accept4(ls, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    assert_true(s >= 0);
    assert_int_equal(len, sizeof(peer));
    assert_int_equal(ntohl(peer.sin_addr.s_addr), ADDR_B);
    assert_true(fcntl(s, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(s, F_GETFD) & FD_CLOEXEC);
    len = sizeof(name);
    assert_int_equal(tapir_getsockname(c, (struct sockaddr *)&name, &len), 0);
    assert_int_equal(ntohl(name.sin_addr.s_addr), ADDR_B);
    assert_int_equal(ntohs(name.sin_port), ntohs(peer.sin_port));
    len = sizeof(name);
    assert_int_equal(tapir_getpeername(c, (struct sockaddr *)&name, &len), 0);
    assert_int_equal(ntohl(name.sin_addr.s_addr), ADDR_A);
    assert_int_equal(ntohs(name.sin_port), 8000);

    pump(c, s, 2u << 20, 7);
    pump(s, c, 2u << 20, 9);

    len = sizeof(ti);
    assert_int_equal(tapir_getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    assert_int_equal(ti.tcpi_state, 1);         /* TCP_ESTABLISHED */
    assert_true(ti.tcpi_snd_mss > 0);
    len = sizeof(v);
    assert_int_equal(tapir_getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &len), 0);
    assert_int_equal(v, 0);
    len = sizeof(v);
    assert_int_equal(tapir_getsockopt(ls, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
    assert_int_equal(v, 1);

    /* Half-close: s reads end of file, and can still send to c. */
    assert_int_equal(tapir_shutdown(c, SHUT_WR), 0);
    fcntl(s, F_SETFL, O_RDWR);
    assert_int_equal(tapir_read(s, &byte, 1), 0);
    assert_int_equal(tapir_write(s, "z", 1), 1);
    fcntl(c, F_SETFL, O_RDWR);
    assert_int_equal(tapir_read(c, &byte, 1), 1);
    assert_int_equal(byte, 'z');
    assert_int_equal(tapir_close(s), 0);
    assert_int_equal(tapir_read(c, &byte, 1), 0);
    tapir_close(c);
    tapir_close(ls);
}

/* Non-blocking connect: EINPROGRESS, POLLOUT, SO_ERROR 0, then a second
 * connect says 0, then EISCONN; data written after POLLOUT arrives intact (the
 * filler that held POLLOUT back is never sent). */
static void
test_nonblocking_connect(void **state)
{
    struct pair *p = *state;
    struct sockaddr_in s = sin_of(ADDR_A, 8001);
    int ls = listener(p, 8001), c = tapir_socket(p->b, SOCK_STREAM | SOCK_NONBLOCK), a, v = -1;
    struct pollfd pf = { c, POLLOUT, 0 };
    socklen_t len = sizeof(v);
    char buf[8];

    assert_true(c >= 0);
    assert_int_equal(tapir_connect(c, (struct sockaddr *)&s, sizeof(s)), -1);
    assert_int_equal(errno, EINPROGRESS);
    assert_int_equal(tapir_poll(&pf, 1, 10000), 1);
    assert_true(pf.revents & POLLOUT);
    assert_int_equal(tapir_getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &len), 0);
    assert_int_equal(v, 0);
    /* Linux: the first connect() after completion says 0, later ones EISCONN. */
    assert_int_equal(tapir_connect(c, (struct sockaddr *)&s, sizeof(s)), 0);
    assert_int_equal(tapir_connect(c, (struct sockaddr *)&s, sizeof(s)), -1);
    assert_int_equal(errno, EISCONN);
    assert_int_equal(tapir_write(c, "hello", 5), 5);
    a = tapir_accept(ls, NULL, NULL);
    assert_true(a >= 0);
    assert_int_equal(recv(a, buf, 5, MSG_WAITALL), 5);
    assert_memory_equal(buf, "hello", 5);
    tapir_close(a);
    tapir_close(c);
    tapir_close(ls);
}

/* A closed port: blocking connect fails ECONNREFUSED; non-blocking polls
 * writable and SO_ERROR says ECONNREFUSED. */
static void
test_refused(void **state)
{
    struct pair *p = *state;
    struct sockaddr_in s = sin_of(ADDR_A, 9);
    int c = tapir_socket(p->b, SOCK_STREAM), v = 0;
    struct pollfd pf;
    socklen_t len = sizeof(v);

    assert_int_equal(tapir_connect(c, (struct sockaddr *)&s, sizeof(s)), -1);
    assert_int_equal(errno, ECONNREFUSED);
    tapir_close(c);
    c = tapir_socket(p->b, SOCK_STREAM | SOCK_NONBLOCK);
    assert_int_equal(tapir_connect(c, (struct sockaddr *)&s, sizeof(s)), -1);
    assert_int_equal(errno, EINPROGRESS);
    pf = (struct pollfd){ c, POLLOUT, 0 };
    assert_int_equal(tapir_poll(&pf, 1, 10000), 1);
    assert_int_equal(tapir_getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &len), 0);
    assert_int_equal(v, ECONNREFUSED);
    tapir_close(c);
}

static void
on_sigusr1(int sig)
{
    (void)sig;
}

struct kicker {
    pthread_t target;
    int ms;
};

static void *
kick_main(void *arg)
{
    struct kicker *k = arg;

    poll(NULL, 0, k->ms);
    pthread_kill(k->target, SIGUSR1);
    return NULL;
}

/* A blocking connect interrupted by a signal (a handler without
 * SA_RESTART) says EINTR and goes on, as Linux's does: the socket is a
 * connecting one (not writable, connect() says EALREADY), not a fresh one
 * that polls POLLOUT|POLLHUP at once.  10.0.0.3 never answers. */
static void
test_blocking_connect_interrupted(void **state)
{
    struct pair *p = *state;
    struct sockaddr_in s = sin_of(0x0a000003u, 80);
    struct sigaction sa, old;
    struct kicker k = { pthread_self(), 100 };
    pthread_t t;
    int c = tapir_socket(p->b, SOCK_STREAM);
    struct pollfd pf = { c, POLLIN | POLLOUT, 0 };

    assert_true(c >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigusr1;             /* no SA_RESTART */
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    assert_int_equal(pthread_create(&t, NULL, kick_main, &k), 0);
    assert_int_equal(tapir_connect(c, (struct sockaddr *)&s, sizeof(s)), -1);
    assert_int_equal(errno, EINTR);
    pthread_join(t, NULL);
    sigaction(SIGUSR1, &old, NULL);
    assert_int_equal(tapir_poll(&pf, 1, 200), 0);
    assert_int_equal(tapir_connect(c, (struct sockaddr *)&s, sizeof(s)), -1);
    assert_int_equal(errno, EALREADY);
    tapir_close(c);
}

/* A failed read or write on a descriptor that is no socket keeps the
 * kernel's errno: only ours get TCP's (an eventfd read of fewer than 8
 * bytes says EINVAL; asking whether it is ours must not make it ENOTSOCK). */
static void
test_errno_of_other_fds(void **state)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    uint8_t b[4] = { 0 };

    (void)state;
    assert_true(efd >= 0);
    assert_int_equal(tapir_read(efd, b, sizeof(b)), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(tapir_write(efd, b, sizeof(b)), -1);
    assert_int_equal(errno, EINVAL);
    close(efd);
}

/* Bad arguments get the kernel's errno. */
static void
test_errors(void **state)
{
    struct pair *p = *state;
    struct sockaddr_in s = sin_of(ADDR_A, 8002), other = sin_of(0x0a000063u, 80);
    int ls = listener(p, 8002), fd = tapir_socket(p->a, SOCK_STREAM), devnull, v;
    socklen_t len = sizeof(s);

    assert_int_equal(tapir_bind(fd, (struct sockaddr *)&s, sizeof(s)), -1);
    assert_int_equal(errno, EADDRINUSE);
    assert_int_equal(tapir_bind(fd, (struct sockaddr *)&other, sizeof(other)), -1);
    assert_int_equal(errno, EADDRNOTAVAIL);
    assert_int_equal(tapir_bind(fd, (struct sockaddr *)&s, 4), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(tapir_getpeername(fd, (struct sockaddr *)&s, &len), -1);
    assert_int_equal(errno, ENOTCONN);
    assert_int_equal(tapir_accept(fd, NULL, NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(tapir_shutdown(fd, SHUT_WR), -1);
    assert_int_equal(errno, ENOTCONN);
    assert_int_equal(tapir_listen(-1, 1), -1);
    assert_int_equal(errno, EBADF);
    devnull = open("/dev/null", O_RDONLY);
    assert_int_equal(tapir_listen(devnull, 1), -1);
    assert_int_equal(errno, ENOTSOCK);
    close(devnull);
    len = sizeof(v);
    assert_int_equal(tapir_getsockopt(fd, SOL_SOCKET, SO_BROADCAST, &v, &len), -1);
    assert_int_equal(errno, ENOPROTOOPT);
    v = 0x20;                                   /* IP_TOS and IP_TTL reach the stack */
    assert_int_equal(tapir_setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof(v)), 0);
    v = 300;
    assert_int_equal(tapir_setsockopt(fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)), -1);
    assert_int_equal(errno, EINVAL);
    v = 0;
    len = sizeof(v);
    assert_int_equal(tapir_getsockopt(fd, IPPROTO_IP, IP_TOS, &v, &len), 0);
    assert_int_equal(v, 0x20);
    assert_int_equal(tapir_getsockopt(fd, IPPROTO_IP, IP_TTL, &v, &len), 0);
    assert_int_equal(v, 64);
    assert_int_equal(tapir_socket(p->a, SOCK_DGRAM), -1);
    assert_int_equal(errno, EPROTONOSUPPORT);
    tapir_close(fd);
    tapir_close(ls);
}

static int
listen_still(int ls)
{
    int v = 0;
    socklen_t len = sizeof(v);

    assert_int_equal(tapir_getsockopt(ls, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
    return v;
}

/* Malformed requests get an error reply and leave the engine serving. */
static void
test_malformed_requests(void **state)
{
    struct pair *p = *state;
    int ls = listener(p, 8003), c, a;
    struct tp_sock_req req;
    struct tp_sock_rep rep;
    char path[64], junk[7] = "garbage";
    struct sockaddr_in name;
    socklen_t len = sizeof(name);

    /* The control path of net a, from a socket's peer name. */
    snprintf(path, sizeof(path), "@tapir-api-%d-%p", (int)getpid(), (void *)p->a);
    assert_int_equal(tp_sc_call(path, junk, sizeof(junk), -1, &rep, NULL), 0);
    assert_int_equal(rep.err, EINVAL);
    memset(&req, 0, sizeof(req));
    req.magic = TP_SOCK_MAGIC;
    req.version = 99;
    req.op = TP_SOCK_OP_SOCKET;
    assert_int_equal(tp_sc_call(path, &req, sizeof(req), -1, &rep, NULL), 0);
    assert_int_equal(rep.err, EPROTONOSUPPORT);
    req.version = TP_SOCK_VERSION;
    req.op = 200;
    assert_int_equal(tp_sc_call(path, &req, sizeof(req), ls, &rep, NULL), 0);
    assert_int_equal(rep.err, EINVAL);
    req.op = TP_SOCK_OP_LISTEN;         /* about a socket, but none passed */
    assert_int_equal(tp_sc_call(path, &req, sizeof(req), -1, &rep, NULL), 0);
    assert_int_equal(rep.err, EINVAL);
    req.op = TP_SOCK_OP_GETSOCKNAME;    /* an fd that is not a tapir socket */
    assert_int_equal(tp_sc_call(path, &req, sizeof(req), p->link[0], &rep, NULL), 0);
    assert_int_equal(rep.err, EBADF);
    /* 2000 random requests: random lengths and bytes, half of them with a
     * valid header and a random op and args, some with a socket's fd.
     * Each gets a reply; none may disturb the engine. */
    srand(42);
    for (int i = 0; i < 2000; i++) {
        uint8_t raw[sizeof(req) + 16];
        size_t n = (size_t)rand() % sizeof(raw) + 1;

        for (size_t j = 0; j < sizeof(raw); j++)
            raw[j] = (uint8_t)rand();
        if (i % 2 == 0) {
            n = sizeof(req);
            memcpy(&req, raw, sizeof(req));
            req.magic = TP_SOCK_MAGIC;
            req.version = TP_SOCK_VERSION;
            req.op = (uint16_t)(rand() % (TP_SOCK_OP_N + 2));
            if (req.op == TP_SOCK_OP_SOCKET)
                req.op = TP_SOCK_OP_GETSOCKNAME;
            memcpy(raw, &req, sizeof(req));
        }
        assert_int_equal(tp_sc_call(path, raw, n, i % 3 == 0 ? -1 : ls, &rep, NULL), 0);
        assert_int_equal(rep.magic, TP_SOCK_MAGIC);
    }
    assert_int_equal(listen_still(ls), 1);
    /* Still serving. */
    c = dial(p, 8003);
    a = tapir_accept(ls, NULL, NULL);
    assert_true(a >= 0);
    assert_int_equal(tapir_getsockname(a, (struct sockaddr *)&name, &len), 0);
    assert_int_equal(ntohs(name.sin_port), 8003);
    tapir_close(a);
    tapir_close(c);
    tapir_close(ls);
}

/* Closing with unread data resets the peer, as the kernel does; the peer
 * reads end of file and SO_ERROR says ECONNRESET. */
static void
test_close_unread_resets(void **state)
{
    struct pair *p = *state;
    int ls = listener(p, 8004), c = dial(p, 8004), a = tapir_accept(ls, NULL, NULL), v = 0;
    socklen_t len = sizeof(v);
    char buf[16];

    assert_true(a >= 0);
    assert_int_equal(tapir_write(c, "unread", 6), 6);
    usleep(100 * 1000);                 /* let it reach a's side */
    tapir_close(a);
    assert_true(tapir_read(c, buf, sizeof(buf)) <= 0);
    assert_int_equal(tapir_getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &len), 0);
    assert_int_equal(v, ECONNRESET);
    tapir_close(c);
    tapir_close(ls);
}

#define NTHREADS 8
#define THREAD_BYTES (256u << 10)

struct worker {
    struct pair *p;
    int fd;
    int ok;
};

/* Client thread: connect, send THREAD_BYTES, half-close, read the echo. */
static void *
client_main(void *arg)
{
    struct worker *w = arg;
    struct sockaddr_in s = sin_of(ADDR_A, 8005);
    uint8_t *out = malloc(THREAD_BYTES), *in = malloc(THREAD_BYTES + 1);
    size_t got = 0;
    int fd = tapir_socket(w->p->b, SOCK_STREAM);
    ssize_t n;

    fill_pattern(out, THREAD_BYTES, (uint32_t)(uintptr_t)w);
    if (fd < 0 || tapir_connect(fd, (struct sockaddr *)&s, sizeof(s)) != 0)
        goto out;
    w->fd = fd;
    /* The path holds more than THREAD_BYTES each way (two Unix socket
     * buffers and two tapir buffers), so sending all before reading
     * cannot deadlock. */
    for (size_t off = 0; off < THREAD_BYTES; off += (size_t)n) {
        if ((n = tapir_send(fd, out + off, THREAD_BYTES - off, MSG_NOSIGNAL)) <= 0)
            goto out;
    }
    tapir_shutdown(fd, SHUT_WR);
    while ((n = tapir_recv(fd, in + got, THREAD_BYTES - got + 1, 0)) > 0)
        got += (size_t)n;
    w->ok = got == THREAD_BYTES && memcmp(in, out, THREAD_BYTES) == 0;
out:
    if (fd >= 0)
        tapir_close(fd);
    free(out);
    free(in);
    return NULL;
}

/* Server thread: echo one accepted connection until end of file. */
static void *
echo_main(void *arg)
{
    struct worker *w = arg;
    uint8_t buf[16384];
    ssize_t n;

    while ((n = tapir_read(w->fd, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t k = tapir_send(w->fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

            if (k <= 0)
                return NULL;
            off += k;
        }
    }
    w->ok = n == 0;
    tapir_close(w->fd);
    return NULL;
}

/* 8 client threads against 8 echo threads at once, through two nets. */
static void
test_threads(void **state)
{
    struct pair *p = *state;
    struct worker cw[NTHREADS], sw[NTHREADS];
    pthread_t ct[NTHREADS], st[NTHREADS];
    int ls = listener(p, 8005);

    for (int i = 0; i < NTHREADS; i++) {
        cw[i] = (struct worker){ .p = p, .fd = -1, .ok = 0 };
        assert_int_equal(pthread_create(&ct[i], NULL, client_main, &cw[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        sw[i] = (struct worker){ .p = p, .fd = tapir_accept(ls, NULL, NULL), .ok = 0 };
        assert_true(sw[i].fd >= 0);
        assert_int_equal(pthread_create(&st[i], NULL, echo_main, &sw[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(ct[i], NULL);
        pthread_join(st[i], NULL);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_true(cw[i].ok);
        assert_true(sw[i].ok);
    }
    tapir_close(ls);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transfer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonblocking_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_connect_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test(test_errno_of_other_fds),
        cmocka_unit_test_setup_teardown(test_malformed_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_unread_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
