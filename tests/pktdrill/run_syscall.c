/*
 * tests/pktdrill/run_syscall.c -- script system calls on tapir's socket API.
 *
 * Script fds (3, 4, ...) map to tapir handles; addresses given as '...'
 * are the defaults (we bind 192.168.0.1:8080, connect to 192.0.2.1:8080).
 * Results are compared with the script's value and errno name.  tapir's
 * calls never block: a call on an fd without O_NONBLOCK that would block
 * is retried while virtual time advances to its '... T' end time, and an
 * accepted socket inherits O_NONBLOCK from its listener as on FreeBSD.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define L_O_RDWR 0x2
#define L_O_NONBLOCK 0x800
#define L_MSG_PEEK 0x2
#define L_MSG_DONTWAIT 0x40

/* ---- symbols ---------------------------------------------------------------- */

struct pd_sym { const char *name; long long value; };

static const struct pd_sym symbols[] = {
    { "EINPROGRESS", EINPROGRESS }, { "EWOULDBLOCK", EWOULDBLOCK }, { "EAGAIN", EAGAIN },
    { "ECONNRESET", ECONNRESET }, { "ECONNREFUSED", ECONNREFUSED },
    { "EHOSTUNREACH", EHOSTUNREACH }, { "ENETUNREACH", ENETUNREACH }, { "EPIPE", EPIPE },
    { "EFAULT", EFAULT }, { "ENOTCONN", ENOTCONN }, { "EINVAL", EINVAL },
    { "ETIMEDOUT", ETIMEDOUT }, { "EADDRINUSE", EADDRINUSE }, { "EISCONN", EISCONN },
    { "EALREADY", EALREADY }, { "EBADF", EBADF }, { "ENOPROTOOPT", ENOPROTOOPT },
    { "ECONNABORTED", ECONNABORTED }, { "EOPNOTSUPP", EOPNOTSUPP }, { "ENOBUFS", ENOBUFS },
    { "EMSGSIZE", EMSGSIZE }, { "EADDRNOTAVAIL", EADDRNOTAVAIL }, { "EACCES", EACCES },
    { "AF_INET", 2 }, { "PF_INET", 2 }, { "SOCK_STREAM", 1 }, { "IPPROTO_IP", 0 },
    { "IPPROTO_TCP", 6 }, { "SOL_SOCKET", 1 }, { "SOL_TCP", 6 }, { "SOL_IP", 0 },
    { "F_GETFL", 3 }, { "F_SETFL", 4 }, { "O_RDWR", L_O_RDWR }, { "O_NONBLOCK", L_O_NONBLOCK },
    { "MSG_PEEK", L_MSG_PEEK }, { "MSG_DONTWAIT", L_MSG_DONTWAIT }, { "SHUT_RD", 0 },
    { "SHUT_WR", 1 }, { "SHUT_RDWR", 2 }, { "NULL", 0 }, { "IPTOS_DSCP_CS1", 0x20 },
    { "IPTOS_DSCP_CS7", 0xe0 }, { NULL, 0 },
};

bool
pd_symbol(const char *name, long long *out)
{
    for (const struct pd_sym *s = symbols; s->name; s++)
        if (strcmp(s->name, name) == 0) {
            *out = s->value;
            return true;
        }
    return false;
}

static int
eval(struct pd_run *r, const struct pd_expr *e, long long *out)
{
    long long a = 0, b = 0;

    switch (e->kind) {
    case PD_E_INT:
        *out = e->num;
        return 0;
    case PD_E_WORD:
        if (pd_symbol(e->str, out))
            return 0;
        return pd_fail(r, "unknown symbol %s", e->str);
    case PD_E_OR:
        if (eval(r, e->lhs, &a) < 0 || eval(r, e->rhs, &b) < 0)
            return -1;
        *out = a | b;
        return 0;
    case PD_E_ARRAY:
        if (e->nitems == 1)
            return eval(r, e->items[0], out);
        return pd_fail(r, "expected one value in [..]");
    default:
        return pd_fail(r, "expected a number");
    }
}

static bool
is_ellipsis(const struct pd_expr *e)
{
    return e->kind == PD_E_ELLIPSIS;
}

/* ---- fds ------------------------------------------------------------------------ */

static int
get_fd(struct pd_run *r, const struct pd_syscall *sc, int argi, struct pd_fd **out)
{
    long long fd = -1;

    if (sc->nargs <= argi)
        return pd_fail(r, "%s: missing fd argument", sc->name);
    if (eval(r, sc->args[argi], &fd) < 0)
        return -1;
    if (fd < 0 || fd >= PD_MAX_FDS || !r->fds[fd].used)
        return pd_fail(r, "%s: fd %lld is not open in the script", sc->name, fd);
    *out = &r->fds[fd];
    return 0;
}

/* The script fd for a new handle: the one the script expects, else the lowest free. */
static int
new_fd(struct pd_run *r, const struct pd_syscall *sc, int handle)
{
    long long want = -1;
    int fd;

    if (sc->ret->kind == PD_E_INT)
        want = sc->ret->num;
    if (want >= 3 && want < PD_MAX_FDS && !r->fds[want].used) {
        fd = (int)want;
    } else {
        for (fd = 3; fd < PD_MAX_FDS && r->fds[fd].used; fd++)
            ;
        if (fd == PD_MAX_FDS)
            return pd_fail(r, "%s: more than %d fds", sc->name, PD_MAX_FDS - 3);
    }
    r->fds[fd] = (struct pd_fd){ .used = true, .handle = handle };
    r->last_fd = fd;
    return fd;
}

static long long
arg_or(struct pd_run *r, const struct pd_syscall *sc, int i, long long dflt, int *err)
{
    long long v = dflt;

    if (i < sc->nargs && !is_ellipsis(sc->args[i]) && eval(r, sc->args[i], &v) < 0)
        *err = -1;
    return v;
}

/* ---- the calls ------------------------------------------------------------------- */

struct call {
    struct pd_run *r;
    const struct pd_syscall *sc;
    struct pd_fd *fd;
    long rc;                        /* what the call returned: >= 0 or -errno */
};

static int
do_socket(struct call *c)
{
    int h = tapir_tcp_socket(c->r->st);

    c->rc = h < 0 ? h : new_fd(c->r, c->sc, h);
    return h >= 0 && c->rc < 0 ? -1 : 0;
}

static int
do_bind(struct call *c)
{
    struct tapir_sockaddr a = { PD_LOCAL_IP, PD_DEFAULT_PORT };

    if (c->sc->nargs > 1 && !is_ellipsis(c->sc->args[1]))
        return pd_fail(c->r, "bind: only '...' addresses are supported");
    c->rc = tapir_tcp_bind(c->r->st, c->fd->handle, a);
    if (c->rc == 0)
        c->r->conn.local_port = PD_DEFAULT_PORT;
    return 0;
}

static int
do_listen(struct call *c)
{
    int err = 0;
    long long backlog = arg_or(c->r, c->sc, 1, 1, &err);

    if (err)
        return -1;
    c->rc = tapir_tcp_listen(c->r->st, c->fd->handle, (int)backlog);
    if (c->rc == 0) {
        c->fd->listener = true;
        c->r->conn.listening = true;
        if (c->r->conn.local_port == 0)
            c->r->conn.local_port = PD_DEFAULT_PORT;
    }
    return 0;
}

static int
do_accept(struct call *c)
{
    int h = tapir_tcp_accept(c->r->st, c->fd->handle, NULL);
    bool nb = c->fd->nonblock;
    int fd;

    if (h < 0) {
        c->rc = h;
        return 0;
    }
    if ((fd = new_fd(c->r, c->sc, h)) < 0)
        return -1;
    c->r->fds[fd].nonblock = nb;        /* FreeBSD: inherited from the listener */
    c->rc = fd;
    return 0;
}

static int
do_connect(struct call *c)
{
    struct tapir_sockaddr remote = { PD_REMOTE_IP, PD_DEFAULT_PORT }, local;
    struct pd_conn *k = &c->r->conn;

    if (c->sc->nargs > 1 && !is_ellipsis(c->sc->args[1]))
        return pd_fail(c->r, "connect: only '...' addresses are supported");
    c->rc = tapir_tcp_connect(c->r->st, c->fd->handle, remote);
    if (c->rc != 0 && c->rc != -EINPROGRESS)
        return 0;                       /* no new connection: keep the one under test */
    if (tapir_tcp_getsockname(c->r->st, c->fd->handle, &local) == 0 && local.port != 0) {
        *k = (struct pd_conn){ .known = true, .local_port = local.port,
            .remote_port = PD_DEFAULT_PORT };
        c->r->nts = 0;
    }
    return 0;
}

static unsigned
msg_flags(struct call *c, int argi, bool *dontwait, int *err)
{
    long long f = arg_or(c->r, c->sc, argi, 0, err);

    *dontwait = (f & L_MSG_DONTWAIT) != 0;
    return (f & L_MSG_PEEK) ? TAPIR_MSG_PEEK : 0;
}

static bool
is_null(const struct pd_expr *e)
{
    return e->kind == PD_E_WORD && strcmp(e->str, "NULL") == 0;
}

static int
do_recv(struct call *c)
{
    int err = 0;
    bool dontwait = false;
    long long len = arg_or(c->r, c->sc, 2, 0, &err);
    unsigned flags = strcmp(c->sc->name, "read") == 0 ? 0 : msg_flags(c, 3, &dontwait, &err);
    void *buf;

    if (err || len < 0)
        return err ? -1 : pd_fail(c->r, "%s: negative length", c->sc->name);
    if (c->sc->nargs > 1 && is_null(c->sc->args[1]) && len > 0) {
        c->rc = -EFAULT;
        return 0;
    }
    if (!(buf = malloc((size_t)len + 1)))
        return pd_fail(c->r, "out of memory");
    c->rc = tapir_tcp_recv(c->r->st, c->fd->handle, buf, (size_t)len, flags);
    free(buf);
    return 0;
}

static int
do_send(struct call *c)
{
    int err = 0;
    bool dontwait = false;
    long long len = arg_or(c->r, c->sc, 2, 0, &err);
    void *buf;

    if (strcmp(c->sc->name, "write") != 0)
        msg_flags(c, 3, &dontwait, &err);
    if (err || len < 0)
        return err ? -1 : pd_fail(c->r, "%s: negative length", c->sc->name);
    if (c->sc->nargs > 1 && is_null(c->sc->args[1]) && len > 0) {
        c->rc = -EFAULT;
        return 0;
    }
    if (!(buf = calloc(1, (size_t)len + 1)))
        return pd_fail(c->r, "out of memory");
    c->rc = tapir_tcp_send(c->r->st, c->fd->handle, buf, (size_t)len, 0);
    free(buf);
    return 0;
}

static int
do_close(struct call *c)
{
    c->rc = c->fd->handle < 0 ? 0 : tapir_tcp_close(c->r->st, c->fd->handle);
    *c->fd = (struct pd_fd){ .used = false };
    return 0;
}

static int
do_shutdown(struct call *c)
{
    int err = 0;
    long long how = arg_or(c->r, c->sc, 1, 0, &err);

    if (err)
        return -1;
    c->rc = tapir_tcp_shutdown(c->r->st, c->fd->handle, (int)how);
    return 0;
}

static int
do_fcntl(struct call *c)
{
    int err = 0;
    long long cmd = arg_or(c->r, c->sc, 1, -1, &err);
    long long fl = arg_or(c->r, c->sc, 2, 0, &err);

    if (err)
        return -1;
    if (cmd == 3) {
        c->rc = L_O_RDWR | (c->fd->nonblock ? L_O_NONBLOCK : 0);
    } else if (cmd == 4) {
        c->fd->nonblock = (fl & L_O_NONBLOCK) != 0;
        c->rc = 0;
    } else {
        return pd_fail(c->r, "fcntl: only F_GETFL and F_SETFL are supported");
    }
    return 0;
}

/* ---- socket options ---------------------------------------------------------------- */

struct pd_sockopt { const char *name; enum tapir_tcp_opt opt; };

static const struct pd_sockopt sockopts[] = {
    { "SO_REUSEADDR", TAPIR_SO_REUSEADDR }, { "SO_RCVBUF", TAPIR_SO_RCVBUF },
    { "SO_SNDBUF", TAPIR_SO_SNDBUF }, { "SO_KEEPALIVE", TAPIR_SO_KEEPALIVE },
    { "TCP_NODELAY", TAPIR_TCP_NODELAY }, { "TCP_MAXSEG", TAPIR_TCP_MAXSEG },
    { "TCP_KEEPIDLE", TAPIR_TCP_KEEPIDLE }, { "TCP_KEEPINTVL", TAPIR_TCP_KEEPINTVL },
    { "TCP_KEEPCNT", TAPIR_TCP_KEEPCNT }, { "TCP_USER_TIMEOUT", TAPIR_TCP_USER_TIMEOUT },
    { "IP_TOS", TAPIR_IP_TOS }, { "IP_TTL", TAPIR_IP_TTL },
    { NULL, 0 },
};

static int
sockopt_name(struct call *c, const char **name)
{
    const struct pd_expr *e = c->sc->nargs > 2 ? c->sc->args[2] : NULL;

    if (!e || e->kind != PD_E_WORD)
        return pd_fail(c->r, "%s: the option must be a name", c->sc->name);
    *name = e->str;
    return 0;
}

/* SO_LINGER {onoff=1, linger=0} is the only linger tapir has: abort on close. */
static int
linger_value(struct call *c, const struct pd_expr *e, int *v)
{
    long long on = 0, secs = 0;

    for (int i = 0; e->kind == PD_E_STRUCT && i < e->nitems; i++) {
        const struct pd_expr *f = e->items[i];
        if (f->kind != PD_E_ASSIGN || eval(c->r, f->rhs, strcmp(f->str, "onoff") == 0
                ? &on : &secs) < 0)
            return pd_fail(c->r, "SO_LINGER: expected {onoff=N, linger=N}");
    }
    if (on && secs != 0)
        return pd_fail(c->r, "SO_LINGER with a non-zero time is not in tapir's API");
    *v = on != 0;
    return 0;
}

static int
do_setsockopt(struct call *c)
{
    const char *name = NULL;
    long long v = 0;
    int iv = 0;

    if (sockopt_name(c, &name) < 0 || c->sc->nargs < 4)
        return pd_fail(c->r, "setsockopt: expected (fd, level, name, value, len)");
    if (strcmp(name, "SO_LINGER") == 0) {
        if (linger_value(c, c->sc->args[3], &iv) < 0)
            return -1;
        c->rc = tapir_tcp_setsockopt(c->r->st, c->fd->handle, TAPIR_SO_LINGER_ZERO, iv);
        return 0;
    }
    for (const struct pd_sockopt *o = sockopts; o->name; o++)
        if (strcmp(o->name, name) == 0) {
            if (eval(c->r, c->sc->args[3], &v) < 0)
                return -1;
            c->rc = tapir_tcp_setsockopt(c->r->st, c->fd->handle, o->opt, (int)v);
            return 0;
        }
    return pd_fail(c->r, "setsockopt %s: not in tapir's socket API", name);
}

/* Compare an in/out '[v]' argument with what the call produced. */
static int
check_out(struct call *c, const struct pd_expr *e, long long got)
{
    long long want;

    if (is_ellipsis(e) || (e->kind == PD_E_ARRAY && e->nitems == 1 && is_ellipsis(e->items[0])))
        return 0;
    if (eval(c->r, e, &want) < 0)
        return -1;
    if (want != got)
        return pd_fail(c->r, "%s: value %lld, expected %lld", c->sc->name, got, want);
    return 0;
}

static int
do_getsockopt(struct call *c)
{
    const char *name = NULL;
    int v = 0;

    if (sockopt_name(c, &name) < 0 || c->sc->nargs < 4)
        return pd_fail(c->r, "getsockopt: expected (fd, level, name, [value], [len])");
    if (strcmp(name, "SO_ERROR") == 0) {
        c->rc = 0;
        v = c->fd->handle < 0 ? 0 : -tapir_tcp_error(c->r->st, c->fd->handle);
        return check_out(c, c->sc->args[3], v);
    }
    for (const struct pd_sockopt *o = sockopts; o->name; o++)
        if (strcmp(o->name, name) == 0) {
            c->rc = tapir_tcp_getsockopt(c->r->st, c->fd->handle, o->opt, &v);
            return c->rc == 0 ? check_out(c, c->sc->args[3], v) : 0;
        }
    return pd_fail(c->r, "getsockopt %s: not in tapir's socket API", name);
}

/* ---- dispatch ------------------------------------------------------------------------ */

struct pd_call_def {
    const char *name;
    bool has_fd;
    bool may_block;
    int (*fn)(struct call *c);
};

static const struct pd_call_def calls[] = {
    { "socket", false, false, do_socket }, { "bind", true, false, do_bind },
    { "listen", true, false, do_listen }, { "accept", true, true, do_accept },
    { "connect", true, false, do_connect }, { "read", true, true, do_recv },
    { "recv", true, true, do_recv }, { "recvfrom", true, true, do_recv },
    { "write", true, true, do_send }, { "send", true, true, do_send },
    { "sendto", true, true, do_send }, { "close", true, false, do_close },
    { "shutdown", true, false, do_shutdown }, { "fcntl", true, false, do_fcntl },
    { "setsockopt", true, false, do_setsockopt }, { "getsockopt", true, false, do_getsockopt },
    { NULL, false, false, NULL },
};

static const char *
errno_name(long e)
{
    for (const struct pd_sym *s = symbols; s->name; s++)
        if (s->name[0] == 'E' && s->value == e)
            return s->name;
    return "E?";
}

static int
check_result(struct pd_run *r, const struct pd_syscall *sc, long rc)
{
    long long want = 0, werr = 0;

    if (is_ellipsis(sc->ret))
        return 0;
    if (eval(r, sc->ret, &want) < 0)
        return -1;
    if (want >= 0 && rc == want)
        return 0;
    if (want >= 0)
        return rc < 0 ? pd_fail(r, "%s returned -1 %s, expected %lld", sc->name,
            errno_name(-rc), want) : pd_fail(r, "%s returned %ld, expected %lld", sc->name, rc,
            want);
    if (rc >= 0)
        return pd_fail(r, "%s returned %ld, expected -1 %s", sc->name, rc,
            sc->err ? sc->err : "");
    if (sc->err && (!pd_symbol(sc->err, &werr) || werr != -rc))
        return pd_fail(r, "%s failed with %s, expected %s", sc->name, errno_name(-rc), sc->err);
    return 0;
}

static bool
would_block(const struct call *c, const struct pd_call_def *d)
{
    return d->may_block && c->rc == -EAGAIN && c->fd && !c->fd->nonblock;
}

int
pd_syscall(struct pd_run *r, const struct pd_syscall *sc, int64_t end_us)
{
    const struct pd_call_def *d;
    struct call c = { .r = r, .sc = sc };

    for (d = calls; d->name && strcmp(d->name, sc->name) != 0; d++)
        ;
    if (!d->name)
        return pd_fail(r, "system call %s is not supported by the runner", sc->name);
    if (d->has_fd && get_fd(r, sc, 0, &c.fd) < 0)
        return -1;
    if (d->fn(&c) < 0)
        return -1;
    /* A blocking fd: let virtual time run until the call can finish. */
    while (would_block(&c, d) && r->now_us < end_us + r->tolerance_us && r->verdict == PD_PASS) {
        pd_advance_to(r, r->next_poll_us < end_us + r->tolerance_us
            ? r->next_poll_us : end_us + r->tolerance_us);
        if (d->fn(&c) < 0)
            return -1;
    }
    pd_poll_now(r);
    pd_trace(r, "%s() = %ld", sc->name, c.rc);
    if (would_block(&c, d))
        return pd_fail(r, "%s would block (fd without O_NONBLOCK, nothing to do by %.6f s)",
            sc->name, (double)(end_us + r->tolerance_us) / 1e6);
    if (sc->blocking && (r->now_us < end_us - r->tolerance_us))
        return pd_fail(r, "%s returned at %.6f s, expected to block until %.6f s", sc->name,
            (double)r->now_us / 1e6, (double)end_us / 1e6);
    return check_result(r, sc, c.rc);
}
