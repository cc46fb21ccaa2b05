/*
 * src/api/api.c -- the socket C API of include/tapir/socket.h.
 *
 * A net is the bridge engine (engine.c) on a runtime (src/linux/loop.c)
 * run by a thread of its own; the calls are the client side of the
 * engine's protocol (client.c) over an abstract Unix socket private to the
 * process.  A socket's fd names its net: its own Unix name starts with
 * "tapir-sock:<pid>:<engine>:" (proto.h), and the nets started by the
 * process are listed here with that prefix.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/client.h"
#include "api/engine.h"
#include "linux/clock.h"
#include "linux/log.h"
#include "tapir/socket.h"

#define API_MAX_NETS 32

struct tapir_net {
    struct tapir_net_config cfg;
    struct tp_tun tun;
    bool own_tun;
    struct tp_rt *rt;
    struct tp_engine *eng;
    pthread_t thread;
    int stop_fd;                    /* eventfd: tapir_net_stop() */
    struct tp_watch stop_w;
    int linger_fd;                  /* timerfd: the end of the linger */
    struct tp_watch linger_w;
    bool stopping;
    char path[64];                  /* the engine's control socket */
    char prefix[80];                /* its sockets' names start so */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started;
    int start_err;
};

/* The process's nets, for finding a socket's control path. */
static pthread_mutex_t nets_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tapir_net *nets[API_MAX_NETS];

void
tapir_net_config_default(struct tapir_net_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    tapir_config_default(&cfg->stack);
    cfg->stack.log = tp_log_stack;
    cfg->stack.log_level = TAPIR_LOG_WARN;
    cfg->link_fd = -1;
    cfg->linger_ms = 2000;
}

/* Every connection closed by now has delivered its data (or failed). */
static bool
quiet(struct tapir_net *net)
{
    struct tapir_tcp_info ti[32];
    size_t n = tapir_tcp_snapshot(tp_rt_stack(net->rt), ti, 32);

    if (n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ti[i].state != TAPIR_TCP_CLOSED && ti[i].state != TAPIR_TCP_TIME_WAIT)
            return false;
    }
    return true;
}

static int
net_after(struct tp_rt *rt, void *ctx)
{
    struct tapir_net *net = ctx;
    int n = tp_engine_after(rt, net->eng);

    if (net->stopping && quiet(net))
        tp_rt_stop(rt);
    return n;
}

static void
on_linger_end(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    (void)w;
    (void)events;
    tp_rt_stop(rt);
}

/* tapir_net_stop(): close every socket as an exiting process would, then
 * stop once they are done, or at the end of the linger time. */
static void
on_stop(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct tapir_net *net = w->ctx;
    struct itimerspec its;
    uint64_t v;

    (void)events;
    (void)!read(w->fd, &v, sizeof(v));
    if (net->stopping)
        return;
    net->stopping = true;
    tp_engine_close_all(net->eng);
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = net->cfg.linger_ms / 1000;
    its.it_value.tv_nsec = (long)(net->cfg.linger_ms % 1000) * 1000000 + 1;
    net->linger_w = (struct tp_watch){ .fd = net->linger_fd, .events = EPOLLIN,
        .fn = on_linger_end, .ctx = net };
    if (timerfd_settime(net->linger_fd, 0, &its, NULL) != 0
        || tp_rt_watch_add(rt, &net->linger_w) != 0)
        tp_rt_stop(rt);
}

static void
started(struct tapir_net *net, int err)
{
    pthread_mutex_lock(&net->mu);
    net->started = true;
    net->start_err = err;
    pthread_cond_signal(&net->cv);
    pthread_mutex_unlock(&net->mu);
}

static void *
net_main(void *arg)
{
    struct tapir_net *net = arg;
    int err;

    if ((err = tp_rt_new(&net->cfg.stack, &net->tun, &net->rt)) != 0) {
        started(net, err);
        return NULL;
    }
    net->stop_w = (struct tp_watch){ .fd = net->stop_fd, .events = EPOLLIN, .fn = on_stop,
        .ctx = net };
    if ((err = tp_rt_watch_add(net->rt, &net->stop_w)) != 0
        || (err = tp_engine_new(net->rt, net->path, geteuid(), &net->eng)) != 0) {
        tp_rt_free(net->rt);
        started(net, err);
        return NULL;
    }
    snprintf(net->prefix, sizeof(net->prefix), "%s%d:%p:", TP_SOCK_PEER_PREFIX,
        (int)getpid(), (void *)net->eng);
    tp_rt_set_after(net->rt, net_after, net);
    started(net, 0);
    if ((err = tp_rt_run(net->rt)) != 0)
        tp_err("tapir net: the loop failed: %s", strerror(-err));
    tp_engine_free(net->eng);
    tapir_stack_poll(tp_rt_stack(net->rt), tp_clock_now());     /* send the resets */
    tp_rt_free(net->rt);
    return NULL;
}

static int
open_link(struct tapir_net *net)
{
    int fl;

    if (net->cfg.tun_name != NULL) {
        net->own_tun = true;
        return tp_tun_open(&net->tun, net->cfg.tun_name);
    }
    if (net->cfg.link_fd < 0)
        return -EINVAL;
    if ((fl = fcntl(net->cfg.link_fd, F_GETFL)) < 0
        || fcntl(net->cfg.link_fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    memset(&net->tun, 0, sizeof(net->tun));
    net->tun.fd = net->cfg.link_fd;
    snprintf(net->tun.name, sizeof(net->tun.name), "fd%d", net->cfg.link_fd);
    return 0;
}

static int
register_net(struct tapir_net *net, bool add)
{
    int err = add ? -EMFILE : 0;

    pthread_mutex_lock(&nets_mu);
    for (int i = 0; i < API_MAX_NETS; i++) {
        if (add && nets[i] == NULL) {
            nets[i] = net;
            err = 0;
            break;
        }
        if (!add && nets[i] == net)
            nets[i] = NULL;
    }
    pthread_mutex_unlock(&nets_mu);
    return err;
}

static void
net_free(struct tapir_net *net)
{
    if (net->own_tun)
        tp_tun_close(&net->tun);
    if (net->stop_fd >= 0)
        close(net->stop_fd);
    if (net->linger_fd >= 0)
        close(net->linger_fd);
    pthread_cond_destroy(&net->cv);
    pthread_mutex_destroy(&net->mu);
    free(net);
}

int
tapir_net_start(const struct tapir_net_config *cfg, struct tapir_net **out)
{
    struct tapir_net *net;
    int err;

    *out = NULL;
    if ((net = calloc(1, sizeof(*net))) == NULL)
        return -ENOMEM;
    net->cfg = *cfg;
    net->tun.fd = -1;
    pthread_mutex_init(&net->mu, NULL);
    pthread_cond_init(&net->cv, NULL);
    snprintf(net->path, sizeof(net->path), "@tapir-api-%d-%p", (int)getpid(), (void *)net);
    net->linger_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if ((net->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 || net->linger_fd < 0) {
        err = -errno;
        goto fail;
    }
    if ((err = open_link(net)) != 0)
        goto fail;
    if ((err = -pthread_create(&net->thread, NULL, net_main, net)) != 0)
        goto fail;
    pthread_mutex_lock(&net->mu);
    while (!net->started)
        pthread_cond_wait(&net->cv, &net->mu);
    err = net->start_err;
    pthread_mutex_unlock(&net->mu);
    if (err != 0) {
        pthread_join(net->thread, NULL);
        goto fail;
    }
    if ((err = register_net(net, true)) != 0) {
        tapir_net_stop(net);
        return err;
    }
    *out = net;
    return 0;
fail:
    net_free(net);
    return err;
}

void
tapir_net_stop(struct tapir_net *net)
{
    uint64_t one = 1;

    if (net == NULL)
        return;
    register_net(net, false);
    (void)!write(net->stop_fd, &one, sizeof(one));
    pthread_join(net->thread, NULL);
    net_free(net);
}

/* The control path of fd's net, copied into path; false if fd is none of
 * ours. */
static bool
path_of(int fd, char *path, size_t cap)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    bool found = false;

    memset(&sa, 0, sizeof(sa));
    if (syscall(SYS_getsockname, fd, (struct sockaddr *)&sa, &len) < 0
        || sa.sun_family != AF_UNIX || sa.sun_path[0] != '\0')
        return false;
    pthread_mutex_lock(&nets_mu);
    for (int i = 0; i < API_MAX_NETS && !found; i++) {
        struct tapir_net *n = nets[i];

        if (n != NULL && strncmp(sa.sun_path + 1, n->prefix, strlen(n->prefix)) == 0) {
            snprintf(path, cap, "%s", n->path);
            found = true;
        }
    }
    pthread_mutex_unlock(&nets_mu);
    return found;
}

static int
ret(int r)
{
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return r;
}

/* Look up fd's net into a local path or fail with EBADF (ENOTSOCK for a
 * descriptor that is no tapir socket). */
#define WITH_PATH(fd, path)                                                   \
    char path[64];                                                            \
    if (!path_of((fd), path, sizeof(path)))                                   \
        return ret(fcntl((fd), F_GETFD) < 0 ? -EBADF : -ENOTSOCK)

int
tapir_socket(struct tapir_net *net, int type)
{
    if (net == NULL)
        return ret(-EINVAL);
    if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM)
        return ret(-EPROTONOSUPPORT);
    return ret(tp_sc_socket(net->path, type & (SOCK_NONBLOCK | SOCK_CLOEXEC)));
}

int
tapir_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    WITH_PATH(fd, path);
    return ret(tp_sc_bind(path, fd, addr, len));
}

int
tapir_listen(int fd, int backlog)
{
    WITH_PATH(fd, path);
    return ret(tp_sc_listen(path, fd, backlog));
}

int
tapir_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    WITH_PATH(fd, path);
    return ret(tp_sc_accept(path, fd, addr, len, flags));
}

int
tapir_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return tapir_accept4(fd, addr, len, 0);
}

int
tapir_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    WITH_PATH(fd, path);
    return ret(tp_sc_connect(path, fd, addr, len));
}

int
tapir_shutdown(int fd, int how)
{
    WITH_PATH(fd, path);
    return ret(tp_sc_shutdown(path, fd, how));
}

int
tapir_close(int fd)
{
    return close(fd);
}

int
tapir_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
    WITH_PATH(fd, path);
    return ret(tp_sc_getname(path, fd, false, addr, len));
}

int
tapir_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    WITH_PATH(fd, path);
    return ret(tp_sc_getname(path, fd, true, addr, len));
}

int
tapir_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    WITH_PATH(fd, path);
    return ret(tp_sc_getsockopt(path, fd, level, name, val, len));
}

int
tapir_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    WITH_PATH(fd, path);
    return ret(tp_sc_setsockopt(path, fd, level, name, val, len));
}

/* The data calls are the system's; a failure on a socket not connected
 * gets the kernel TCP's errno (client.h). */
ssize_t
tapir_read(int fd, void *buf, size_t len)
{
    return tp_sc_rd(read(fd, buf, len), fd);
}

ssize_t
tapir_write(int fd, const void *buf, size_t len)
{
    return tp_sc_wr(write(fd, buf, len), fd, 0);
}

ssize_t
tapir_recv(int fd, void *buf, size_t len, int flags)
{
    return tp_sc_rd(recv(fd, buf, len, flags), fd);
}

ssize_t
tapir_send(int fd, const void *buf, size_t len, int flags)
{
    return tp_sc_wr(send(fd, buf, len, flags), fd, flags);
}

ssize_t
tapir_readv(int fd, const struct iovec *iov, int iovcnt)
{
    return tp_sc_rd(readv(fd, iov, iovcnt), fd);
}

ssize_t
tapir_writev(int fd, const struct iovec *iov, int iovcnt)
{
    return tp_sc_wr(writev(fd, iov, iovcnt), fd, 0);
}

int
tapir_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    return poll(fds, nfds, timeout_ms);
}
