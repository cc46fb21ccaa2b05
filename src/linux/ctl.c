/*
 * src/linux/ctl.c -- the control socket: a listening Unix socket watched by
 * the runtime loop, one request and one answer per connection, and the
 * client that `tapir status` and `tapir stats` use.
 *
 * The server reads the request with a short receive timeout and writes the
 * answer with a send timeout, so a stuck client delays the loop by a bounded
 * time and cannot stop it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "linux/ctl.h"
#include "linux/log.h"

#define CTL_IO_TIMEOUT_MS 500

struct tp_ctl {
    struct tp_rt *rt;
    struct tp_watch w;
    tp_ctl_fn *fn;
    void *ctx;
    char *path;
};

static int
ctl_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    strcpy(sa->sun_path, path);
    return 0;
}

static void
set_timeouts(int fd, unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000 };

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* One request line, without '\n'; -1 if none came in time. */
static int
read_request(int fd, char *req, size_t cap)
{
    size_t len = 0;

    while (len + 1 < cap) {
        ssize_t n = read(fd, req + len, cap - 1 - len);

        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(req, '\n', len) != NULL)
            break;
    }
    req[len] = '\0';
    req[strcspn(req, "\n")] = '\0';
    return len > 0 ? 0 : -1;
}

static void
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        /* MSG_NOSIGNAL: a client that went away must not SIGPIPE the stack. */
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n <= 0)
            return;                 /* the client went away or timed out */
        buf += n;
        len -= (size_t)n;
    }
}

static void
serve_one(struct tp_ctl *ctl, int fd)
{
    char req[TP_CTL_REQ_MAX];
    char *ans = NULL;
    size_t ans_len = 0;
    FILE *out;

    set_timeouts(fd, CTL_IO_TIMEOUT_MS);
    if (read_request(fd, req, sizeof(req)) != 0)
        return;
    if ((out = open_memstream(&ans, &ans_len)) == NULL)
        return;
    if (ctl->fn(ctl->ctx, req, out) != 0)
        tp_debug("ctl: request '%s' failed", req);
    if (fclose(out) == 0)
        write_all(fd, ans, ans_len);
    free(ans);
}

static void
on_ctl(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct tp_ctl *ctl = w->ctx;
    int fd;

    (void)rt;
    (void)events;
    while ((fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        serve_one(ctl, fd);
        close(fd);
    }
}

/* Is a server answering at path? */
static bool
is_live(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live;

    if (fd < 0)
        return false;
    live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
    close(fd);
    return live;
}

static int
listen_at(const char *path, int *out)
{
    struct sockaddr_un sa;
    mode_t old;
    int fd, err;

    if ((err = ctl_addr(path, &sa)) != 0)
        return err;
    if (is_live(&sa))
        return -EADDRINUSE;
    (void)unlink(path);             /* a stale socket of a stack that died */
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    old = umask(077);
    err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
    umask(old);
    if (err == 0 && chmod(path, 0600) != 0)
        err = -errno;
    if (err == 0 && listen(fd, 16) != 0)
        err = -errno;
    if (err != 0) {
        close(fd);
        return err;
    }
    *out = fd;
    return 0;
}

int
tp_ctl_open(struct tp_rt *rt, const char *path, tp_ctl_fn *fn, void *ctx,
    struct tp_ctl **out)
{
    struct tp_ctl *ctl;
    int fd = -1, err;

    *out = NULL;
    if ((err = listen_at(path, &fd)) != 0)
        return err;
    if ((ctl = calloc(1, sizeof(*ctl))) == NULL || (ctl->path = strdup(path)) == NULL) {
        free(ctl);
        close(fd);
        unlink(path);
        return -ENOMEM;
    }
    ctl->rt = rt;
    ctl->fn = fn;
    ctl->ctx = ctx;
    ctl->w = (struct tp_watch){ .fd = fd, .events = EPOLLIN, .fn = on_ctl, .ctx = ctl };
    if ((err = tp_rt_watch_add(rt, &ctl->w)) != 0) {
        close(fd);
        unlink(path);
        free(ctl->path);
        free(ctl);
        return err;
    }
    *out = ctl;
    return 0;
}

void
tp_ctl_close(struct tp_ctl *ctl)
{
    if (ctl == NULL)
        return;
    tp_rt_watch_close(ctl->rt, &ctl->w);
    close(ctl->w.fd);
    (void)unlink(ctl->path);
    free(ctl->path);
    free(ctl);
}

int
tp_ctl_ask(const char *path, const char *req, FILE *out, unsigned timeout_ms)
{
    struct sockaddr_un sa;
    char buf[4096];
    int fd, err;
    ssize_t n;

    if ((err = ctl_addr(path, &sa)) != 0)
        return err;
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    set_timeouts(fd, timeout_ms);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        err = -errno;
        close(fd);
        return err;
    }
    if (dprintf(fd, "%s\n", req) < 0) {
        err = -errno;
        close(fd);
        return err;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, out);
    err = n == 0 ? 0 : (errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno);
    close(fd);
    return err;
}
