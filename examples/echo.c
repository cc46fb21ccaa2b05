/*
 * examples/echo.c -- the socket C API (include/tapir/socket.h) in one
 * short program: a tapir stack on an existing TUN device, and either
 *
 *   echo --tun DEV --addr A/N --connect B:PORT [--bytes N]
 *       connect to an echo server, send N pseudo-random bytes while
 *       reading the echo back (one poll loop over the socket's fd), check
 *       that every byte came back, print a checksum;
 *   echo --tun DEV --addr A/N --listen PORT [--count N]
 *       serve N connections one after the other, echoing what they send.
 *
 * Create the device first, e.g. (as root):
 *   ip tuntap add dev tapir0 mode tun
 *   ip addr add 10.78.0.1 peer 10.78.0.2 dev tapir0 && ip link set tapir0 up
 *   ./echo --tun tapir0 --addr 10.78.0.2/30 --connect 10.78.0.1:9000
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tapir/socket.h"

struct opts {
    const char *tun, *connect;
    uint32_t addr;
    uint8_t prefix;
    int listen_port, count;
    size_t bytes;
};

static void
usage(void)
{
    fprintf(stderr, "usage: echo --tun DEV --addr A/N (--connect B:PORT [--bytes N] | "
        "--listen PORT [--count N])\n");
    exit(2);
}

static void
parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "tun", required_argument, NULL, 't' }, { "addr", required_argument, NULL, 'a' },
        { "connect", required_argument, NULL, 'c' }, { "listen", required_argument, NULL, 'l' },
        { "bytes", required_argument, NULL, 'b' }, { "count", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 },
    };
    char ip[32];
    int c;

    memset(o, 0, sizeof(*o));
    o->bytes = 1 << 20;
    o->count = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 't': o->tun = optarg; break;
        case 'a': {
            unsigned n = 32;

            if (sscanf(optarg, "%31[0-9.]/%u", ip, &n) < 1 || n > 32
                || tapir_ipv4_parse(ip, &o->addr) != 0)
                usage();
            o->prefix = (uint8_t)n;
            break;
        }
        case 'c': o->connect = optarg; break;
        case 'l': o->listen_port = atoi(optarg); break;
        case 'b': o->bytes = strtoull(optarg, NULL, 10); break;
        case 'n': o->count = atoi(optarg); break;
        default: usage();
        }
    }
    if (o->tun == NULL || o->addr == 0 || (o->connect == NULL) == (o->listen_port == 0))
        usage();
}

/* FNV-1a, 64 bits: enough to compare both ends' bytes in a script. */
static uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Send out[0..n) and read as many bytes back, interleaved, non-blocking. */
static int
echo_round(int fd, const uint8_t *out, uint8_t *in, size_t n)
{
    size_t sent = 0, got = 0;

    fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK);
    while (got < n) {
        struct pollfd pf = { fd, (short)(POLLIN | (sent < n ? POLLOUT : 0)), 0 };
        ssize_t r;

        if (tapir_poll(&pf, 1, 10000) <= 0) {
            fprintf(stderr, "echo: no progress for 10 s (%zu sent, %zu back)\n", sent, got);
            return -1;
        }
        if ((pf.revents & POLLOUT) && sent < n) {
            r = tapir_send(fd, out + sent, n - sent, MSG_NOSIGNAL);
            if (r < 0 && errno != EAGAIN)
                return perror("echo: send"), -1;
            sent += r > 0 ? (size_t)r : 0;
        }
        if (pf.revents & (POLLIN | POLLHUP)) {
            r = tapir_recv(fd, in + got, n - got, 0);
            if (r == 0) {
                fprintf(stderr, "echo: end of stream after %zu of %zu bytes\n", got, n);
                return -1;
            }
            if (r < 0 && errno != EAGAIN)
                return perror("echo: recv"), -1;
            got += r > 0 ? (size_t)r : 0;
        }
    }
    return 0;
}

static int
run_client(struct tapir_net *net, const struct opts *o)
{
    char host[32];
    unsigned port = 0;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    uint8_t *out = malloc(o->bytes), *in = malloc(o->bytes);
    uint32_t x = 12345;
    int fd, rc = 1;

    if (out == NULL || in == NULL || sscanf(o->connect, "%31[0-9.]:%u", host, &port) != 2
        || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        usage();
    sa.sin_port = htons((uint16_t)port);
    for (size_t i = 0; i < o->bytes; i++) {
        x = x * 1103515245u + 12345u;
        out[i] = (uint8_t)(x >> 16);
    }
    if ((fd = tapir_socket(net, SOCK_STREAM)) < 0
        || tapir_connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("echo: connect");
        goto out;
    }
    if (echo_round(fd, out, in, o->bytes) == 0) {
        if (memcmp(in, out, o->bytes) == 0) {
            printf("echo: %zu bytes echoed intact, fnv1a %016llx\n", o->bytes,
                (unsigned long long)fnv1a(0xcbf29ce484222325ull, in, o->bytes));
            rc = 0;
        } else {
            fprintf(stderr, "echo: the echo differs from what was sent\n");
        }
    }
    tapir_close(fd);
out:
    free(out);
    free(in);
    return rc;
}

static int
serve_one(int ls)
{
    uint8_t buf[65536];
    size_t total = 0;
    int fd = tapir_accept(ls, NULL, NULL);
    ssize_t n;

    if (fd < 0)
        return perror("echo: accept"), -1;
    while ((n = tapir_read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = tapir_send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

            if (w < 0)
                return perror("echo: send"), tapir_close(fd), -1;
            off += w;
        }
        total += (size_t)n;
    }
    printf("echo: served a connection, %zu bytes\n", total);
    fflush(stdout);
    tapir_shutdown(fd, SHUT_WR);
    tapir_close(fd);
    return 0;
}

static int
run_server(struct tapir_net *net, const struct opts *o)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o->listen_port) };
    int ls = tapir_socket(net, SOCK_STREAM), one = 1;

    if (ls < 0 || tapir_setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
        || tapir_bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || tapir_listen(ls, 16) != 0)
        return perror("echo: listen"), 1;
    printf("echo: listening on port %d\n", o->listen_port);
    fflush(stdout);
    for (int i = 0; i < o->count; i++) {
        if (serve_one(ls) != 0)
            return 1;
    }
    tapir_close(ls);
    return 0;
}

int
main(int argc, char **argv)
{
    struct tapir_net_config cfg;
    struct tapir_net *net;
    struct opts o;
    int err, rc;

    parse(argc, argv, &o);
    tapir_net_config_default(&cfg);
    cfg.stack.addr = o.addr;
    cfg.stack.prefix_len = o.prefix;
    cfg.tun_name = o.tun;
    if ((err = tapir_net_start(&cfg, &net)) != 0) {
        fprintf(stderr, "echo: cannot start tapir on %s: %s\n", o.tun, strerror(-err));
        return 1;
    }
    rc = o.connect != NULL ? run_client(net, &o) : run_server(net, &o);
    tapir_net_stop(net);
    return rc;
}
