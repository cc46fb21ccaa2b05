/*
 * src/services/nc.c -- netcat over a tapir stack (see nc.h).
 *
 * Driven from the runtime's loop: tp_nc_event() for the socket's events,
 * the in_fd watcher for input, and tp_nc_tick() once per iteration, which
 * runs the pump again (the socket's readiness is reported on changes only)
 * and decides when the session is over.  Output to out_fd is written in
 * full before more is received: a slow reader of our stdout slows the
 * connection down through the receive window, as it should.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "linux/log.h"
#include "services/nc.h"

#define NC_BUF 65536

struct tp_nc {
    struct tp_rt *rt;
    struct tapir_stack *st;
    struct tp_nc_config cfg;
    int lsock, sock;                /* handles, or -1 */
    bool connected;
    bool in_eof, shut_sent, sock_eof;
    bool in_is_file;                /* epoll refused in_fd: read it directly */
    struct tp_watch in_w;
    uint32_t in_events;             /* what in_w is armed for now */
    int result;                     /* -EINPROGRESS, 0, or the error */
    uint8_t buf[NC_BUF];            /* input read, not yet sent */
    size_t off, len;
    uint8_t rbuf[NC_BUF];           /* received, to out_fd */
    uint64_t sent, received;
};

static void nc_pump(struct tp_nc *nc, bool *progress);

int
tp_nc_result(const struct tp_nc *nc)
{
    return nc->result;
}

uint64_t
tp_nc_bytes_sent(const struct tp_nc *nc)
{
    return nc->sent;
}

uint64_t
tp_nc_bytes_received(const struct tp_nc *nc)
{
    return nc->received;
}

static void
nc_fail(struct tp_nc *nc, int err)
{
    if (nc->result == -EINPROGRESS)
        nc->result = err;
}

/* Arm the input watcher only when input is wanted: connected, room. */
static void
arm_input(struct tp_nc *nc)
{
    uint32_t want = 0;

    if (nc->in_is_file || !nc->in_w.is_active)
        return;
    if (nc->connected && !nc->in_eof && nc->off == nc->len && nc->result == -EINPROGRESS)
        want = EPOLLIN;
    if (want != nc->in_events && tp_rt_watch_mod(nc->rt, &nc->in_w, want) == 0)
        nc->in_events = want;
}

static void
read_input(struct tp_nc *nc, bool *progress)
{
    ssize_t n;

    if (nc->in_eof || nc->off != nc->len)
        return;
    n = read(nc->cfg.in_fd, nc->buf, sizeof(nc->buf));
    if (n > 0) {
        nc->off = 0;
        nc->len = (size_t)n;
        *progress = true;
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        if (n < 0)
            tp_warn("nc: reading input: %s; treating it as the end", strerror(errno));
        nc->in_eof = true;
        *progress = true;
    }
}

static void
on_input(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct tp_nc *nc = w->ctx;
    bool progress = false;

    (void)rt;
    (void)events;
    read_input(nc, &progress);
    nc_pump(nc, &progress);
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };

            (void)poll(&pfd, 1, 1000);
        } else if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* Socket to out_fd, until the socket has nothing more. */
static void
pump_receive(struct tp_nc *nc, bool *progress)
{
    while (!nc->sock_eof && nc->result == -EINPROGRESS) {
        long n = tapir_tcp_recv(nc->st, nc->sock, nc->rbuf, sizeof(nc->rbuf), 0);
        int err;

        if (n == -EAGAIN)
            return;
        if (n < 0) {
            nc_fail(nc, (int)n);
            return;
        }
        *progress = true;
        if (n == 0) {
            nc->sock_eof = true;
            return;
        }
        nc->received += (uint64_t)n;
        if ((err = write_all(nc->cfg.out_fd, nc->rbuf, (size_t)n)) != 0) {
            tp_warn("nc: writing output: %s", strerror(-err));
            nc_fail(nc, err);
            return;
        }
    }
}

/* Input to the socket; FIN after the last byte. */
static void
pump_send(struct tp_nc *nc, bool *progress)
{
    for (;;) {
        if (nc->in_is_file)
            read_input(nc, progress);
        if (nc->off == nc->len)
            break;
        long n = tapir_tcp_send(nc->st, nc->sock, nc->buf + nc->off, nc->len - nc->off, 0);

        if (n == -EAGAIN)
            return;
        if (n < 0) {
            nc_fail(nc, (int)n);
            return;
        }
        nc->off += (size_t)n;
        nc->sent += (uint64_t)n;
        *progress = true;
        if (!nc->in_is_file)
            break;                  /* the watcher brings the next read */
    }
    if (nc->in_eof && nc->off == nc->len && !nc->shut_sent) {
        int err = tapir_tcp_shutdown(nc->st, nc->sock, TAPIR_SHUT_WR);

        if (err != 0 && err != -ENOTCONN)
            nc_fail(nc, err);
        nc->shut_sent = true;
        *progress = true;
    }
}

static void
nc_pump(struct tp_nc *nc, bool *progress)
{
    if (nc->connected && nc->result == -EINPROGRESS) {
        pump_receive(nc, progress);
        if (nc->result == -EINPROGRESS)
            pump_send(nc, progress);
    }
    arm_input(nc);
}

static void
on_listener(struct tp_nc *nc)
{
    struct tapir_sockaddr peer;
    char a[16];
    int s = tapir_tcp_accept(nc->st, nc->lsock, &peer);

    if (s < 0)
        return;
    tp_info("nc: connection from %s:%u", tapir_ipv4_str(peer.addr, a), peer.port);
    nc->sock = s;
    nc->connected = true;
    /* One connection, like nc -l: later SYNs find no listener. */
    (void)tapir_tcp_close(nc->st, nc->lsock);
    nc->lsock = -1;
}

bool
tp_nc_event(struct tp_nc *nc, const struct tapir_tcp_event *ev)
{
    bool progress = false;

    if (nc->lsock >= 0 && ev->sock == nc->lsock) {
        on_listener(nc);
    } else if (nc->sock >= 0 && ev->sock == nc->sock) {
        if (!nc->connected && (ev->events & TAPIR_EV_ERROR) != 0) {
            int err = tapir_tcp_error(nc->st, nc->sock);

            nc_fail(nc, err != 0 ? err : -ECONNABORTED);
        } else if (!nc->connected && (ev->events & TAPIR_EV_WRITABLE) != 0) {
            nc->connected = true;
            tp_info("nc: connected");
        }
    } else {
        return false;
    }
    nc_pump(nc, &progress);
    return true;
}

/* Our FIN and data are acknowledged (or the connection is gone). */
static bool
is_wr_finished(struct tp_nc *nc)
{
    struct tapir_tcp_info ti;

    if (tapir_tcp_info(nc->st, nc->sock, &ti) != 0)
        return true;
    return ti.state == TAPIR_TCP_TIME_WAIT || ti.state == TAPIR_TCP_CLOSED
        || ti.state == TAPIR_TCP_FIN_WAIT_2
        || (ti.state == TAPIR_TCP_LAST_ACK && ti.bytes_in_flight == 0);
}

int
tp_nc_tick(struct tp_nc *nc)
{
    bool progress = false;

    if (nc->result != -EINPROGRESS)
        return 0;
    /* Connected without the event saying so (it may have been drained
     * together with others): readiness is the truth. */
    if (!nc->connected && nc->sock >= 0
        && (tapir_tcp_readiness(nc->st, nc->sock) & TAPIR_EV_WRITABLE) != 0) {
        nc->connected = true;
        progress = true;
    }
    nc_pump(nc, &progress);
    if (nc->result == -EINPROGRESS && nc->sock_eof && nc->shut_sent && is_wr_finished(nc))
        nc->result = 0;
    return progress ? 1 : 0;
}

int
tp_nc_new(struct tp_rt *rt, const struct tp_nc_config *cfg, struct tp_nc **out)
{
    struct tapir_stack *st = tp_rt_stack(rt);
    struct tp_nc *nc;
    int s, err;

    *out = NULL;
    if ((nc = calloc(1, sizeof(*nc))) == NULL)
        return -ENOMEM;
    nc->rt = rt;
    nc->st = st;
    nc->cfg = *cfg;
    nc->lsock = nc->sock = -1;
    nc->result = -EINPROGRESS;
    if ((s = tapir_tcp_socket(st)) < 0) {
        free(nc);
        return s;
    }
    if (cfg->listen) {
        nc->lsock = s;
        (void)tapir_tcp_setsockopt(st, s, TAPIR_SO_REUSEADDR, 1);
        err = tapir_tcp_bind(st, s, (struct tapir_sockaddr){ 0, cfg->port });
        if (err == 0)
            err = tapir_tcp_listen(st, s, 1);
    } else {
        nc->sock = s;
        err = tapir_tcp_connect(st, s, cfg->remote);
        if (err == -EINPROGRESS)
            err = 0;
    }
    if (err != 0) {
        (void)tapir_tcp_close(st, s);
        free(nc);
        return err;
    }
    nc->in_w = (struct tp_watch){ .fd = cfg->in_fd, .events = 0, .fn = on_input, .ctx = nc };
    if (tp_rt_watch_add(rt, &nc->in_w) != 0)
        nc->in_is_file = true;      /* EPERM: a regular file, always ready */
    *out = nc;
    return 0;
}

void
tp_nc_free(struct tp_nc *nc)
{
    if (nc == NULL)
        return;
    tp_rt_watch_close(nc->rt, &nc->in_w);
    if (nc->lsock >= 0)
        (void)tapir_tcp_close(nc->st, nc->lsock);
    if (nc->sock >= 0) {
        if (nc->result == 0)
            (void)tapir_tcp_close(nc->st, nc->sock);
        else
            (void)tapir_tcp_abort(nc->st, nc->sock);
    }
    free(nc);
}
