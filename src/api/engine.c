/*
 * src/api/engine.c -- the bridge engine (see engine.h): tapir sockets as
 * Unix stream sockets, served on the runtime's loop.
 *
 * A socket's life, as the program's Unix socket shows it (names: proto.h):
 *   SOCKET: an unconnected Unix socket bound to "f<ino>": reads fail, writes
 *     fail, poll says OUT|HUP, as for the kernel's fresh TCP socket.
 *   CONNECT: the client connects that same socket to our bridge listener;
 *     we accept it and take the accepted end as ours (efd).  The program's
 *     file does not change, so epoll registrations, dups and children that
 *     share it all follow.
 *   LISTEN: we make the program's socket a Unix listener; each connection
 *     tapir accepts we connect to it, from a socket of ours named after the
 *     peer ("a<seq>:<addr>:<port>"), and the program accepts it with the
 *     kernel's accept (blocking, O_NONBLOCK, accept4 flags, several
 *     processes, epoll all native).  Closing the listener resets the
 *     connections still queued on it (our ends see ECONNRESET).
 * A socket with no end of ours (fresh, listening) gives no sign when the
 * program closes it; its name does: once free, the socket is gone.  Such
 * sockets are swept (sweep()) every second while any exist, before a bind
 * that would fail with EADDRINUSE, and when the owner asks.
 *
 * Data path of one connection (all non-blocking, level-triggered epoll):
 *   program -> tapir: EPOLLIN on our end -> read -> tapir_tcp_send; when the
 *     send buffer is full the rest waits in pend and EPOLLIN is switched
 *     off until TAPIR_EV_WRITABLE.  EOF -> tapir_tcp_shutdown(WR) (FIN).
 *   tapir -> program: TAPIR_EV_READABLE -> recv (peek) -> send into our
 *     end -> consume what was taken; on EAGAIN, wait for EPOLLOUT.  The
 *     peer's FIN -> shutdown(SHUT_WR) of our end: the program reads EOF.
 * EPOLLHUP on our end means the program's end is gone (every fd closed) or
 * both directions are finished: once what it wrote has reached tapir the
 * tapir socket is closed (RFC 9293 3.10.4; reset if data was left unread)
 * and our end is closed.  An error (RST, refused, timeout) closes our end;
 * the program then reads EOF (or ECONNRESET), writes get EPIPE, and
 * SO_ERROR, getsockname and getpeername are answered from a short memory
 * of released sockets, keyed like live ones by the program end's inode.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/engine.h"
#include "api/proto.h"
#include "linux/log.h"

#define ENG_SCRATCH 65536
#define ENG_BUCKETS 4096            /* hash buckets, by inode and by handle */
#define ENG_ZOMBIES 1024            /* released sockets remembered */
#define ENG_MAX_CTL 4096            /* control connections at once */
#define ENG_PUMP_BUDGET (1u << 20)  /* bytes per direction per callback */
#define ENG_LISTEN_BACKLOG 128
#define ENG_SWEEP_MS 1000           /* sockets with no end of ours: checked this often */
#define ENG_RETRY_MS 10             /* a program's full accept queue: retried this often */
#define KEY_ACCEPTED (1ull << 63)   /* keys of accepted sockets (by sequence number) */

enum bs_state {
    BS_FRESH,                       /* socket(), maybe bound */
    BS_CONNECTING,
    BS_CONNECTED,
    BS_LISTENING,
};

struct eng_ctl;

struct bsock {
    struct tp_engine *eng;
    struct tp_watch w;              /* on efd */
    int efd;                        /* our end of the connection; -1 while none */
    uint64_t key;                   /* the program's socket: its inode, or KEY_ACCEPTED|seq */
    int h;                          /* tapir handle */
    enum bs_state state;
    uint32_t filler;                /* bytes to discard once connected */
    struct eng_ctl *waiter;         /* blocking connect awaiting its reply */
    bool prog_eof;                  /* read 0: the program shut its write side */
    bool hup;                       /* EPOLLHUP seen */
    bool tapir_full;                /* tapir's send buffer is full */
    bool unix_full;                 /* our end's send buffer is full */
    bool rx_eof;                    /* we shut our write side (peer's FIN) */
    bool rx_dead;                   /* the program no longer reads: drop */
    bool prog_reset;                /* it closed with unread data: reset */
    uint8_t *pend;                  /* read from the program, not yet taken */
    size_t pend_off, pend_len;
    uint32_t opts_set;              /* TP_SOCK_CARRIED options the program set */
    bool nb_connect;                /* a non-blocking connect was made */
    bool attached;                  /* our end carries data (ATTACH done, or accepted) */
    int conn_err;                   /* a non-blocking connect failed before ATTACH */
    bool connect_unreported;        /* ... has completed: the next connect() says 0 */
    int acc_h;                      /* listener: a connection the program's queue refused */
    struct tapir_sockaddr acc_peer;
    /* SO_REUSEPORT: sockets bound to one address form a ring; one of them
     * (holds_port) has the tapir handle bound there, the others keep an
     * unbound one of their own.  The holder listens for them all. */
    bool reuseport;
    bool holds_port;
    bool kick;                          /* holder: take tapir's queue at the next sweep */
    struct tapir_sockaddr port_name;    /* the ring's address */
    struct bsock *grp_next, *grp_prev;  /* the ring (itself when alone) */
    uint32_t rr;                        /* holder: the next listener to serve */
    bool dead;                      /* released; freed at the next after-hook */
    struct bsock *next_key, *next_h, *next_dead;
};

struct eng_ctl {
    struct tp_engine *eng;
    struct tp_watch w;
    struct bsock *waiting;          /* its blocking connect */
    bool refused;                   /* peer uid not allowed: answer EACCES */
    struct eng_ctl *prev, *next;
};

struct zombie {
    uint64_t key;
    int err;
    struct tapir_sockaddr local, peer;
};

struct tp_engine {
    struct tp_rt *rt;
    struct tapir_stack *st;
    struct tp_watch lw;             /* the control listener */
    struct tp_watch bw;             /* the bridge listener: connect() comes here */
    struct tp_watch tw;             /* timerfd: sweeps and listener retries */
    int probe_fd;                   /* an unbound Unix socket: is a name free? */
    char prefix[64];                /* TP_SOCK_PEER_PREFIX "<pid>:<engine>:" */
    uint64_t accept_seq;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    bool path_is_file;
    uid_t allow_uid;
    size_t nsocks, nctl;
    struct bsock *by_key[ENG_BUCKETS];
    struct bsock *by_h[ENG_BUCKETS];
    struct bsock *graveyard;        /* released, watch closed, not yet freed */
    struct eng_ctl *ctls;
    struct zombie zombies[ENG_ZOMBIES];
    size_t zombie_next;
    uint8_t *scratch;
    uint64_t stats[TP_ENGINE_STAT_N];
};

static const char *const eng_stat_names[TP_ENGINE_STAT_N] = {
#define X(name, pub, desc) [TP_ENGINE_STAT_##name] = pub,
    TP_ENGINE_STATS(X)
#undef X
};

static void arm_timer(struct tp_engine *eng);
static int carried_opt(int i);
static void bs_update(struct bsock *bs);
static void bs_release(struct bsock *bs, int err);
static void bs_pump_tx(struct bsock *bs);
static void bs_pump_rx(struct bsock *bs);
static void ctl_reply(struct eng_ctl *c, const struct tp_sock_rep *rep, int fd);

/* ---- tables ---------------------------------------------------------------- */

static size_t
hash_u64(uint64_t v)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    return (size_t)(v % ENG_BUCKETS);
}

static void
table_add(struct tp_engine *eng, struct bsock *bs)
{
    size_t i = hash_u64(bs->key), j = hash_u64((uint64_t)(unsigned)bs->h);

    bs->next_key = eng->by_key[i];
    eng->by_key[i] = bs;
    bs->next_h = eng->by_h[j];
    eng->by_h[j] = bs;
}

static void
table_del(struct tp_engine *eng, struct bsock *bs)
{
    struct bsock **p;

    for (p = &eng->by_key[hash_u64(bs->key)]; *p != NULL; p = &(*p)->next_key) {
        if (*p == bs) {
            *p = bs->next_key;
            break;
        }
    }
    for (p = &eng->by_h[hash_u64((uint64_t)(unsigned)bs->h)]; *p != NULL; p = &(*p)->next_h) {
        if (*p == bs) {
            *p = bs->next_h;
            break;
        }
    }
}

static struct bsock *
find_key(struct tp_engine *eng, uint64_t key)
{
    for (struct bsock *bs = eng->by_key[hash_u64(key)]; bs != NULL; bs = bs->next_key) {
        if (bs->key == key)
            return bs;
    }
    return NULL;
}

static struct bsock *
find_h(struct tp_engine *eng, int h)
{
    for (struct bsock *bs = eng->by_h[hash_u64((uint64_t)(unsigned)h)]; bs != NULL;
         bs = bs->next_h) {
        if (bs->h == h)
            return bs;
    }
    return NULL;
}

static struct zombie *
find_zombie(struct tp_engine *eng, uint64_t key)
{
    for (size_t i = 0; i < ENG_ZOMBIES; i++) {
        if (eng->zombies[i].key == key && key != 0)
            return &eng->zombies[i];
    }
    return NULL;
}

/* ---- socket objects -------------------------------------------------------- */

/* A released bsock may still be on the call stack (a tapir event handler
 * that released it returns through its caller), so it is freed later. */
static void
bs_on_close(struct tp_rt *rt, struct tp_watch *w)
{
    struct bsock *bs = w->ctx;

    (void)rt;
    bs->next_dead = bs->eng->graveyard;
    bs->eng->graveyard = bs;
}

static void
bury(struct tp_engine *eng)
{
    while (eng->graveyard != NULL) {
        struct bsock *bs = eng->graveyard;

        eng->graveyard = bs->next_dead;
        if (bs->efd >= 0)
            close(bs->efd);
        free(bs->pend);
        free(bs);
    }
}

static void
bs_on_event(struct tp_rt *rt, struct tp_watch *w, uint32_t events);

/* One of our abstract names: prefix + tail (proto.h).  Returns its length. */
static socklen_t
eng_name(const struct tp_engine *eng, struct sockaddr_un *sa, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static socklen_t
eng_name(const struct tp_engine *eng, struct sockaddr_un *sa, const char *fmt, ...)
{
    va_list ap;
    int n, m;

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "%s", eng->prefix);
    va_start(ap, fmt);
    m = vsnprintf(sa->sun_path + 1 + n, sizeof(sa->sun_path) - 1 - (size_t)n, fmt, ap);
    va_end(ap);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n + (size_t)m);
}

/* The tail of one of our names after the prefix, NUL-terminated in buf;
 * false if sa is not ours. */
static bool
our_tail(const struct tp_engine *eng, const struct sockaddr_un *sa, socklen_t len, char *buf,
    size_t cap)
{
    size_t plen = strlen(eng->prefix), off = offsetof(struct sockaddr_un, sun_path) + 1, n;

    if (len <= off + plen || sa->sun_family != AF_UNIX || sa->sun_path[0] != '\0'
        || memcmp(sa->sun_path + 1, eng->prefix, plen) != 0)
        return false;
    n = len - off - plen;
    if (n >= cap)
        return false;
    memcpy(buf, sa->sun_path + 1 + plen, n);
    buf[n] = '\0';
    return true;
}

/* efd becomes our end of bs (non-blocking, close-on-exec; ours to close). */
static int
bs_attach(struct bsock *bs, int efd)
{
    int err;

    bs->efd = efd;
    bs->w = (struct tp_watch){ .fd = efd, .events = 0, .fn = bs_on_event,
        .on_close = bs_on_close, .ctx = bs };
    if ((err = tp_rt_watch_add(bs->eng->rt, &bs->w)) != 0) {
        bs->efd = -1;
        return err;
    }
    return 0;
}

/*
 * A new bsock for tapir handle h, in state, known by key; efd is our end
 * (-1: none yet), closed on failure.
 */
static int
bs_new(struct tp_engine *eng, int h, enum bs_state state, uint64_t key, int efd,
    struct bsock **out)
{
    struct bsock *bs;
    int err;

    if ((bs = calloc(1, sizeof(*bs))) == NULL) {
        if (efd >= 0)
            close(efd);
        return -ENOMEM;
    }
    bs->eng = eng;
    bs->efd = -1;
    bs->key = key;
    bs->h = h;
    bs->state = state;
    bs->acc_h = -1;
    bs->grp_next = bs->grp_prev = bs;
    if (efd >= 0 && (err = bs_attach(bs, efd)) != 0) {
        close(efd);
        free(bs);
        return err;
    }
    table_add(eng, bs);
    eng->nsocks++;
    eng->stats[TP_ENGINE_STAT_SOCKETS]++;
    *out = bs;
    return 0;
}

/* The epoll events our end needs now. */
static uint32_t
bs_events(const struct bsock *bs)
{
    uint32_t ev = 0;

    if (bs->state == BS_CONNECTED && bs->attached) {
        if (!bs->prog_eof && !bs->tapir_full && bs->pend_len == 0)
            ev |= EPOLLIN;
        if (bs->unix_full)
            ev |= EPOLLOUT;
    }
    /* EPOLLHUP is reported whatever we ask; once seen, edge-triggering
     * keeps it from repeating while we wait for tapir. */
    if (bs->hup && (ev & EPOLLIN) == 0)
        ev |= EPOLLET;
    return ev;
}

static void
bs_update(struct bsock *bs)
{
    uint32_t ev = bs_events(bs);

    if (bs->w.is_active && ev != bs->w.events)
        tp_rt_watch_mod(bs->eng->rt, &bs->w, ev);
}

/* ---- SO_REUSEPORT rings ------------------------------------------------------ */

/* a and b exchange tapir handles (and the port that goes with one). */
static void
swap_h(struct bsock *a, struct bsock *b)
{
    struct tp_engine *eng = a->eng;
    int h = a->h;
    bool holds = a->holds_port;

    table_del(eng, a);
    table_del(eng, b);
    a->h = b->h;
    b->h = h;
    a->holds_port = b->holds_port;
    b->holds_port = holds;
    table_add(eng, a);
    table_add(eng, b);
}

/* The ring member bound to at (0.0.0.0: the stack's address) with
 * SO_REUSEPORT that holds the port, or NULL. */
static struct bsock *
grp_find(struct tp_engine *eng, struct tapir_sockaddr at)
{
    for (size_t i = 0; i < ENG_BUCKETS; i++) {
        for (struct bsock *bs = eng->by_key[i]; bs != NULL; bs = bs->next_key) {
            if (!bs->dead && bs->holds_port && bs->reuseport && bs->port_name.port == at.port
                && (at.addr == 0 || bs->port_name.addr == at.addr))
                return bs;
        }
    }
    return NULL;
}

static struct bsock *
grp_holder(struct bsock *bs)
{
    struct bsock *m = bs;

    do {
        if (m->holds_port)
            return m;
        m = m->grp_next;
    } while (m != bs);
    return NULL;
}

/*
 * bs leaves its ring (it is being released).  If it held the port, the
 * port passes on: to a listener of the ring, by exchanging handles (bs
 * then closes the other's unbound one); else to a bound member, by
 * binding its handle once bs's is closed (done here, after closing it).
 */
static void
grp_leave(struct bsock *bs)
{
    struct tp_engine *eng = bs->eng;
    struct bsock *heir = NULL;

    if (bs->grp_next == bs)
        return;
    for (struct bsock *m = bs->grp_next; m != bs; m = m->grp_next) {
        if (heir == NULL || (m->state == BS_LISTENING && heir->state != BS_LISTENING))
            heir = m;
    }
    bs->grp_prev->grp_next = bs->grp_next;
    bs->grp_next->grp_prev = bs->grp_prev;
    bs->grp_next = bs->grp_prev = bs;
    if (!bs->holds_port)
        return;
    if (bs->state == BS_LISTENING && heir->state == BS_LISTENING) {
        swap_h(bs, heir);
        heir->rr = 0;
        heir->kick = true;          /* the heir takes what waits in tapir's queue */
        arm_timer(eng);
        return;
    }
    /* The handle cannot change hands: close it, bind the heir's. */
    if (bs->acc_h >= 0) {
        tapir_tcp_abort(eng->st, bs->acc_h);
        bs->acc_h = -1;
    }
    tapir_tcp_close(eng->st, bs->h);
    bs->h = tapir_tcp_socket(eng->st);
    table_del(eng, bs);
    table_add(eng, bs);
    bs->holds_port = false;
    if (tapir_tcp_bind(eng->st, heir->h, heir->port_name) == 0) {
        heir->holds_port = true;
        if (heir->state == BS_LISTENING
            && tapir_tcp_listen(eng->st, heir->h, ENG_LISTEN_BACKLOG) != 0)
            tp_warn("reuseport: the port could not pass on");
    }
}

/* BIND on a port a SO_REUSEPORT ring holds: join it (both set the option). */
static int
grp_bind(struct tp_engine *eng, struct bsock *bs, struct tapir_sockaddr at)
{
    struct bsock *holder;

    if (!bs->reuseport || (holder = grp_find(eng, at)) == NULL)
        return EADDRINUSE;
    bs->port_name = holder->port_name;
    bs->grp_next = holder;
    bs->grp_prev = holder->grp_prev;
    holder->grp_prev->grp_next = bs;
    holder->grp_prev = bs;
    return 0;
}

/* How many listeners ls's ring has (1 without SO_REUSEPORT). */
static uint32_t
grp_listeners(const struct bsock *ls)
{
    const struct bsock *m = ls;
    uint32_t n = 0;

    do {
        n += m->state == BS_LISTENING;
        m = m->grp_next;
    } while (m != ls);
    return n;
}

/* The ring's next listener to hand a connection to, after skip tries. */
static struct bsock *
grp_pick(struct bsock *holder, uint32_t skip)
{
    uint32_t n = grp_listeners(holder), want;
    struct bsock *m = holder;

    if (n == 0)
        return holder;
    want = (holder->rr + skip) % n;
    do {
        if (m->state == BS_LISTENING && want-- == 0)
            return m;
        m = m->grp_next;
    } while (1);
}

static void
remember(struct tp_engine *eng, struct bsock *bs, int err)
{
    struct zombie *z = &eng->zombies[eng->zombie_next];

    eng->zombie_next = (eng->zombie_next + 1) % ENG_ZOMBIES;
    memset(z, 0, sizeof(*z));
    z->key = bs->key;
    z->err = err;
    tapir_tcp_getsockname(eng->st, bs->h, &z->local);
    tapir_tcp_getpeername(eng->st, bs->h, &z->peer);
}

/* Answer a blocking connect's START. */
static void
answer_waiter(struct bsock *bs, int err)
{
    struct tp_sock_rep rep = { .op = TP_SOCK_OP_CONNECT, .err = err };

    ctl_reply(bs->waiter, &rep, -1);
    bs->waiter->waiting = NULL;
    bs->waiter = NULL;
}

/*
 * Forget bs: the tapir socket is closed (gracefully unless err, which is
 * remembered for SO_ERROR), our end is closed, a waiting connect answered.
 */
static void
bs_release(struct bsock *bs, int err)
{
    struct tp_engine *eng = bs->eng;
    bool told = false;

    if (bs->waiter != NULL) {
        answer_waiter(bs, err != 0 ? err : ECONNABORTED);
        told = true;                /* connect() returned the error: SO_ERROR is 0 */
    }
    if (bs->dead)
        return;
    bs->dead = true;
    grp_leave(bs);
    remember(eng, bs, told ? 0 : err);
    if (err != 0)
        eng->stats[TP_ENGINE_STAT_RESETS]++;
    if (bs->acc_h >= 0)
        tapir_tcp_abort(eng->st, bs->acc_h);
    if (bs->prog_reset)
        tapir_tcp_abort(eng->st, bs->h);
    else
        tapir_tcp_close(eng->st, bs->h);
    table_del(eng, bs);
    eng->nsocks--;
    if (bs->w.is_active) {
        tp_rt_watch_close(eng->rt, &bs->w);
    } else {
        bs->next_dead = eng->graveyard;
        eng->graveyard = bs;
    }
}

/* A tapir error ended the connection. */
static void
bs_fail(struct bsock *bs, int err)
{
    tp_debug("sock %d: %s", bs->h, strerror(err));
    bs_release(bs, err);
}

/* ---- program -> tapir --------------------------------------------------- */

/* Offer pend to tapir.  Returns true when it is empty. */
static bool
flush_pend(struct bsock *bs)
{
    struct tp_engine *eng = bs->eng;

    while (bs->pend_len > 0) {
        long n = tapir_tcp_send(eng->st, bs->h, bs->pend + bs->pend_off, bs->pend_len, 0);

        if (n == -EAGAIN || n == 0) {
            bs->tapir_full = true;
            return false;
        }
        if (n < 0) {
            /* Shut for writing or reset: what the program writes is lost,
             * as the kernel's EPIPE would lose it. */
            bs->pend_len = 0;
            return true;
        }
        eng->stats[TP_ENGINE_STAT_TX_BYTES] += (uint64_t)n;
        bs->pend_off += (size_t)n;
        bs->pend_len -= (size_t)n;
    }
    bs->pend_off = 0;
    return true;
}

static int
keep_rest(struct bsock *bs, const uint8_t *p, size_t len)
{
    if (bs->pend == NULL && (bs->pend = malloc(ENG_SCRATCH)) == NULL)
        return -ENOMEM;
    memcpy(bs->pend, p, len);
    bs->pend_off = 0;
    bs->pend_len = len;
    bs->tapir_full = true;
    return 0;
}

/* Read from the program's end while tapir takes it. */
static void
bs_pump_tx(struct bsock *bs)
{
    struct tp_engine *eng = bs->eng;
    size_t moved = 0;

    if (!bs->attached)
        return;                     /* not attached yet */
    if (bs->state != BS_CONNECTED || !flush_pend(bs))
        goto out;
    bs->tapir_full = false;
    while (!bs->prog_eof && moved < ENG_PUMP_BUDGET) {
        ssize_t r = recv(bs->efd, eng->scratch, ENG_SCRATCH, MSG_DONTWAIT);
        long n;

        if (r == 0) {
            bs->prog_eof = true;
            tapir_tcp_shutdown(eng->st, bs->h, TAPIR_SHUT_WR);
            break;
        }
        if (r < 0 && errno == ECONNRESET) {
            /* The program closed its end with data unread in it: the
             * kernel would reset the connection, and so do we. */
            bs->prog_eof = bs->prog_reset = true;
            break;
        }
        if (r < 0)
            break;                  /* EAGAIN */
        moved += (size_t)r;
        n = tapir_tcp_send(eng->st, bs->h, eng->scratch, (size_t)r, 0);
        if (n == -EAGAIN)
            n = 0;
        if (n < 0)
            continue;               /* reset or shut: drop, as above */
        eng->stats[TP_ENGINE_STAT_TX_BYTES] += (uint64_t)n;
        if (n < r) {
            if (keep_rest(bs, eng->scratch + n, (size_t)(r - n)) != 0) {
                bs_fail(bs, ENOMEM);
                return;
            }
            break;
        }
    }
out:
    bs_update(bs);
}

/* ---- tapir -> program --------------------------------------------------- */

static void
drop_rx(struct bsock *bs)
{
    struct tp_engine *eng = bs->eng;

    while (tapir_tcp_recv(eng->st, bs->h, eng->scratch, ENG_SCRATCH, 0) > 0)
        ;
}

static void
bs_pump_rx(struct bsock *bs)
{
    struct tp_engine *eng = bs->eng;
    size_t moved = 0;

    if (bs->state != BS_CONNECTED || bs->rx_eof || !bs->attached)
        return;                     /* (not attached yet: tapir keeps it) */
    if (bs->rx_dead) {
        drop_rx(bs);
        return;
    }
    bs->unix_full = false;
    while (moved < ENG_PUMP_BUDGET) {
        long n = tapir_tcp_recv(eng->st, bs->h, eng->scratch, ENG_SCRATCH, TAPIR_MSG_PEEK);
        ssize_t w;

        if (n == -EAGAIN)
            break;
        if (n == 0) {
            shutdown(bs->efd, SHUT_WR);
            bs->rx_eof = true;
            break;
        }
        if (n < 0) {
            bs_fail(bs, (int)-n);
            return;
        }
        w = send(bs->efd, eng->scratch, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            bs->unix_full = true;
            break;
        }
        if (w < 0) {
            bs->rx_dead = true;     /* the program shut its read side or left */
            drop_rx(bs);
            break;
        }
        tapir_tcp_recv(eng->st, bs->h, eng->scratch, (size_t)w, 0);
        eng->stats[TP_ENGINE_STAT_RX_BYTES] += (uint64_t)w;
        moved += (size_t)w;
        if (w < n) {
            bs->unix_full = true;
            break;
        }
    }
    bs_update(bs);
}

/* ---- listeners -------------------------------------------------------------- */

/*
 * Hand ls's waiting connection to the program: connect a socket of ours,
 * named after the peer, to the listening socket of `to` (ls, or another
 * listener of its SO_REUSEPORT ring).  0 when it is queued there; EAGAIN
 * when that queue is full; another errno when that socket is gone.
 */
static int
deliver(struct bsock *ls, const struct bsock *to)
{
    struct tp_engine *eng = ls->eng;
    struct sockaddr_un me, sa;
    socklen_t mlen, tlen;
    struct bsock *c;
    int fd, err;

    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
        return EAGAIN;
    mlen = eng_name(eng, &me, "a%llx:%x:%x", (unsigned long long)++eng->accept_seq,
        (unsigned)ls->acc_peer.addr, (unsigned)ls->acc_peer.port);
    tlen = eng_name(eng, &sa, "f%llx", (unsigned long long)to->key);
    if (bind(fd, (struct sockaddr *)&me, mlen) == -1
        || connect(fd, (struct sockaddr *)&sa, tlen) == -1) {
        err = errno;
        close(fd);
        return err == EAGAIN || err == ENOMEM || err == ENOBUFS ? EAGAIN : err;
    }
    if ((err = bs_new(eng, ls->acc_h, BS_CONNECTED, KEY_ACCEPTED | eng->accept_seq, fd, &c)) != 0) {
        tp_warn("accept: %s; resetting", strerror(-err));
        tapir_tcp_abort(eng->st, ls->acc_h);
    } else {
        c->attached = true;
        eng->stats[TP_ENGINE_STAT_ACCEPTS]++;
        bs_update(c);
        bs_pump_rx(c);
    }
    ls->acc_h = -1;
    ls->rr++;
    return 0;
}


/* Move the connections tapir accepted on ls into the programs' queues:
 * ls's, or in turn those of its SO_REUSEPORT ring. */
static void
ls_accept(struct bsock *ls)
{
    struct tp_engine *eng = ls->eng;

    while (!ls->dead && ls->state == BS_LISTENING) {
        uint32_t n = grp_listeners(ls), skip;
        struct bsock *to = ls;
        int err = EAGAIN;

        if (ls->acc_h < 0 && (ls->acc_h = tapir_tcp_accept(eng->st, ls->h, &ls->acc_peer)) < 0) {
            ls->acc_h = -1;
            return;
        }
        for (skip = 0; skip < n && err == EAGAIN; skip++)
            err = deliver(ls, to = grp_pick(ls, skip));
        if (err == EAGAIN) {
            arm_timer(eng);         /* retried shortly: nothing tells us it accepted */
            return;
        }
        if (err != 0) {
            /* That program's listener is gone: as its close would, reset
             * what waits on it and stop it listening.  If it was ls, the
             * ring's next listener takes tapir's listener and this
             * connection. */
            struct bsock *other = to->grp_next;
            int h = ls->acc_h;

            eng->stats[TP_ENGINE_STAT_PROG_CLOSES]++;
            if (to == ls && other != ls)
                ls->acc_h = -1;
            bs_release(to, 0);
            if (to == ls && other != ls) {
                if ((ls = grp_holder(other)) == NULL || ls->state != BS_LISTENING) {
                    tapir_tcp_abort(eng->st, h);
                    return;
                }
                ls->acc_h = h;
                ls->acc_peer = to->acc_peer;
            }
        }
    }
}

/* ---- events ------------------------------------------------------------------ */

static void
discard_filler(struct bsock *bs)
{
    while (bs->filler > 0) {
        size_t want = bs->filler < ENG_SCRATCH ? bs->filler : ENG_SCRATCH;
        ssize_t r = recv(bs->efd, bs->eng->scratch, want, MSG_DONTWAIT);

        if (r <= 0)
            break;
        bs->filler -= (uint32_t)r;
    }
}


/*
 * A blocking connect failed before the program's socket was attached: it
 * is a fresh socket again, as Linux's is, with a new tapir socket that
 * has the options the program set and the address it bound.
 */
static void
bs_renew(struct bsock *bs, int err)
{
    struct tp_engine *eng = bs->eng;
    int h = tapir_tcp_socket(eng->st);

    answer_waiter(bs, err);
    if (h < 0) {
        bs_release(bs, 0);
        return;
    }
    for (int i = 0; i < 32; i++) {
        int opt = carried_opt(i), v;

        if ((bs->opts_set & (1u << i)) && opt >= 0
            && tapir_tcp_getsockopt(eng->st, bs->h, (enum tapir_tcp_opt)opt, &v) == 0)
            tapir_tcp_setsockopt(eng->st, h, (enum tapir_tcp_opt)opt, v);
    }
    table_del(eng, bs);
    tapir_tcp_close(eng->st, bs->h);
    bs->h = h;
    table_add(eng, bs);
    if (bs->holds_port && tapir_tcp_bind(eng->st, h, bs->port_name) != 0)
        bs->holds_port = false;
    bs->state = BS_FRESH;
    bs->nb_connect = false;
}

static void
connect_done(struct bsock *bs, int err)
{
    if (err != 0 && !bs->attached && bs->waiter != NULL) {
        bs_renew(bs, err);
        return;
    }
    if (err != 0 && !bs->attached && bs->nb_connect) {
        bs->conn_err = err;         /* told at ATTACH, as POLLERR and SO_ERROR */
        return;
    }
    if (err != 0) {
        /* The filler stays unread: closing our end with data in it marks
         * the program's socket in error, so poll says POLLERR as well. */
        bs_fail(bs, err);
        return;
    }
    bs->state = BS_CONNECTED;
    if (bs->waiter != NULL)
        answer_waiter(bs, 0);       /* the client attaches next */
    if (!bs->attached)
        return;
    discard_filler(bs);
    bs->connect_unreported = bs->nb_connect;
    bs_pump_rx(bs);
    if (!bs->dead)
        bs_pump_tx(bs);
}

static void
bs_on_event(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct bsock *bs = w->ctx;

    (void)rt;
    if (events & EPOLLHUP)
        bs->hup = true;
    if (bs->state == BS_CONNECTED) {
        if (events & EPOLLOUT)
            bs_pump_rx(bs);
        if (bs->dead)
            return;
        if (events & (EPOLLIN | EPOLLHUP))
            bs_pump_tx(bs);
        if (bs->dead)
            return;
    }
    if (!bs->hup)
        return;
    /* Release once what the program wrote has all been read; while tapir
     * is full the rest of it waits (bs_events keeps HUP quiet).  A socket
     * connecting, or failed to connect, goes at once. */
    if (bs->state == BS_CONNECTED && bs->attached && (!bs->prog_eof || bs->pend_len > 0)) {
        bs_update(bs);
        return;
    }
    bs->eng->stats[TP_ENGINE_STAT_PROG_CLOSES]++;
    bs_release(bs, 0);
}

static void
on_tapir_event(struct tp_engine *eng, const struct tapir_tcp_event *ev)
{
    struct bsock *bs = find_h(eng, ev->sock);

    if (bs == NULL)
        return;
    switch (bs->state) {
    case BS_LISTENING:
        if (ev->events & TAPIR_EV_READABLE)
            ls_accept(bs);
        break;
    case BS_CONNECTING:
        if (ev->events & (TAPIR_EV_ERROR | TAPIR_EV_HUP)) {
            int err = -tapir_tcp_error(eng->st, bs->h);

            connect_done(bs, err > 0 ? err : ECONNREFUSED);
        } else if (ev->events & TAPIR_EV_WRITABLE) {
            connect_done(bs, 0);
        }
        break;
    case BS_CONNECTED:
        if (ev->events & (TAPIR_EV_READABLE | TAPIR_EV_RDHUP | TAPIR_EV_HUP | TAPIR_EV_ERROR))
            bs_pump_rx(bs);
        if (!bs->dead && (ev->events & TAPIR_EV_WRITABLE) && bs->tapir_full)
            bs_pump_tx(bs);
        if (!bs->dead && bs->hup)
            bs_on_event(eng->rt, &bs->w, 0);
        break;
    case BS_FRESH:
        break;
    }
}

int
tp_engine_after(struct tp_rt *rt, void *ctx)
{
    struct tp_engine *eng = ctx;
    struct tapir_tcp_event ev;
    int n = 0;

    (void)rt;
    bury(eng);
    while (tapir_tcp_next_event(eng->st, &ev)) {
        on_tapir_event(eng, &ev);
        n++;
    }
    return n;
}

/* ---- control requests ----------------------------------------------------- */

static void
ctl_on_close(struct tp_rt *rt, struct tp_watch *w)
{
    struct eng_ctl *c = w->ctx;

    (void)rt;
    if (c->waiting != NULL) {
        /* A blocking connect whose caller left (SO_SNDTIMEO ran out, a
         * signal): it ends as a non-blocking one, a failure kept for the
         * ATTACH that follows (connect_done). */
        c->waiting->waiter = NULL;
        c->waiting->nb_connect = true;
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        c->eng->ctls = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->eng->nctl--;
    close(w->fd);
    free(c);
}

static void
ctl_reply(struct eng_ctl *c, const struct tp_sock_rep *rep, int fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct tp_sock_rep r = *rep;
    struct iovec iov = { &r, sizeof(r) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    r.magic = TP_SOCK_MAGIC;
    r.version = TP_SOCK_VERSION;
    if (fd >= 0) {
        struct cmsghdr *cm;

        memset(cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    /* A client that does not read its reply loses it; it cannot block us. */
    if (sendmsg(c->w.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        tp_debug("control: reply lost: %s", strerror(errno));
}

/* ---- sockets with no end of ours ------------------------------------------ */

/* Is the program's socket of bs (fresh or listening) still open?  Its
 * name is bound as long as it is: try to bind the probe to it. */
static bool
prog_alive(struct tp_engine *eng, const struct bsock *bs)
{
    struct sockaddr_un sa;
    socklen_t len = eng_name(eng, &sa, "f%llx", (unsigned long long)bs->key);

    if (eng->probe_fd < 0
        && (eng->probe_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
        return true;
    if (bind(eng->probe_fd, (struct sockaddr *)&sa, len) == -1)
        return errno != ENOENT;     /* EADDRINUSE: alive; any doubt: alive */
    close(eng->probe_fd);           /* bound now: a new probe next time */
    eng->probe_fd = -1;
    return false;
}

static bool
unattached(const struct bsock *bs)
{
    return !bs->dead && bs->efd < 0;
}

/* Release the fresh and listening sockets whose program socket is gone;
 * retry listeners whose program queue was full.  Returns how many were
 * released. */
static size_t
sweep(struct tp_engine *eng)
{
    size_t n = 0;

    for (size_t i = 0; i < ENG_BUCKETS; i++) {
        struct bsock *bs = eng->by_key[i], *next;

        for (; bs != NULL; bs = next) {
            next = bs->next_key;
            if (!unattached(bs))
                continue;
            if (!prog_alive(eng, bs)) {
                eng->stats[TP_ENGINE_STAT_SWEPT]++;
                bs_release(bs, 0);
                n++;
            } else if (bs->state == BS_LISTENING && (bs->acc_h >= 0 || bs->kick)) {
                bs->kick = false;
                ls_accept(bs);
            }
        }
    }
    return n;
}

/* The timer: ENG_RETRY_MS while a listener waits for room in its program's
 * queue, else ENG_SWEEP_MS while a socket has no end of ours, else off. */
static void
arm_timer(struct tp_engine *eng)
{
    struct itimerspec its;
    bool any = false, retry = false;

    for (size_t i = 0; i < ENG_BUCKETS && !retry; i++) {
        for (struct bsock *bs = eng->by_key[i]; bs != NULL; bs = bs->next_key) {
            if (unattached(bs)) {
                any = true;
                retry |= bs->state == BS_LISTENING && (bs->acc_h >= 0 || bs->kick);
            }
        }
    }
    memset(&its, 0, sizeof(its));
    if (any)
        its.it_value.tv_nsec = (retry ? ENG_RETRY_MS : ENG_SWEEP_MS - 1) * 1000000L;
    if (eng->tw.fd >= 0)
        timerfd_settime(eng->tw.fd, 0, &its, NULL);
}

static void
on_timer(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct tp_engine *eng = w->ctx;
    uint64_t v;

    (void)rt;
    (void)events;
    (void)!read(w->fd, &v, sizeof(v));
    sweep(eng);
    arm_timer(eng);
}

size_t
tp_engine_sweep(struct tp_engine *eng)
{
    return sweep(eng);
}

/* Take the connections made to the bridge: each is a program's socket
 * (named "f<ino>") at connect(); its accepted end becomes ours. */
static void
drain_bridge(struct tp_engine *eng)
{
    for (;;) {
        int fd = accept4(eng->bw.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct sockaddr_un sa;
        socklen_t len = sizeof(sa);
        struct bsock *bs = NULL;
        char tail[64], *end;
        unsigned long long ino;

        if (fd < 0)
            return;
        memset(&sa, 0, sizeof(sa));
        if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0
            && our_tail(eng, &sa, len, tail, sizeof(tail)) && tail[0] == 'f') {
            ino = strtoull(tail + 1, &end, 16);
            if (*end == '\0')
                bs = find_key(eng, ino);
        }
        if (bs == NULL || bs->state == BS_LISTENING || bs->efd >= 0 || bs_attach(bs, fd) != 0) {
            eng->stats[TP_ENGINE_STAT_BAD_REQUESTS]++;
            close(fd);
        }
    }
}

static void
on_bridge(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    (void)rt;
    (void)events;
    drain_bridge(w->ctx);
}

/* ---- control operations ----------------------------------------------------- */

/* SOCKET: an unconnected Unix socket named after its inode. */
static int
op_socket(struct tp_engine *eng, int *out_fd)
{
    struct sockaddr_un sa;
    struct bsock *bs;
    struct stat sb;
    int h, fd, err;

    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
        return errno;
    if (fstat(fd, &sb) == -1
        || bind(fd, (struct sockaddr *)&sa,
            eng_name(eng, &sa, "f%llx", (unsigned long long)sb.st_ino)) == -1) {
        err = errno;
        close(fd);
        return err;
    }
    if ((h = tapir_tcp_socket(eng->st)) < 0 && sweep(eng) > 0)
        h = tapir_tcp_socket(eng->st);
    if (h < 0) {
        close(fd);
        return -h;
    }
    if ((err = bs_new(eng, h, BS_FRESH, (uint64_t)sb.st_ino, -1, &bs)) != 0) {
        tapir_tcp_close(eng->st, h);
        close(fd);
        return -err;
    }
    arm_timer(eng);
    *out_fd = fd;
    return 0;
}

/* ATTACH: the program's socket is connected to the bridge (and filled, for
 * a non-blocking connect): take our end of it. */
static int
op_attach(struct tp_engine *eng, struct bsock *bs, const struct tp_sock_req *req)
{
    bool blocking = req->arg[2] != 0;

    if (req->arg[1] < 0 || bs->attached
        || (bs->state != BS_CONNECTING && bs->state != BS_CONNECTED))
        return EINVAL;
    if (bs->efd < 0)
        drain_bridge(eng);          /* (the bridge's watch may have done it) */
    if (bs->efd < 0)
        return EINVAL;              /* the client did not connect its socket to the bridge */
    bs->attached = true;
    bs->filler = (uint32_t)req->arg[1];
    if (bs->conn_err != 0) {
        bs_fail(bs, bs->conn_err);  /* our end closes on the filler: POLLERR */
        return EINPROGRESS;
    }
    if (bs->state == BS_CONNECTING) {
        bs->nb_connect = true;      /* from here it ends as a non-blocking connect */
        return EINPROGRESS;
    }
    /* Established already (a blocking connect, or a quick one). */
    discard_filler(bs);
    bs->connect_unreported = !blocking;
    bs_pump_rx(bs);
    if (!bs->dead)
        bs_pump_tx(bs);
    return blocking ? 0 : EINPROGRESS;
}

static int
op_connect(struct tp_engine *eng, struct eng_ctl *c, struct bsock *bs,
    const struct tp_sock_req *req, struct tp_sock_rep *rep, bool *deferred)
{
    int err;

    if (req->arg[0] == TP_SOCK_CONNECT_ATTACH)
        return op_attach(eng, bs, req);
    if (req->arg[0] != TP_SOCK_CONNECT_START_BLOCK
        && req->arg[0] != TP_SOCK_CONNECT_START_NONBLOCK)
        return EINVAL;
    if (bs->state == BS_CONNECTING)
        return EALREADY;
    if (bs->state == BS_CONNECTED && bs->connect_unreported) {
        bs->connect_unreported = false;     /* Linux: 0 once, then EISCONN */
        rep->val = TP_SOCK_CONNECT_DONE;
        return 0;
    }
    if (bs->state != BS_FRESH || bs->efd >= 0)
        return EISCONN;
    err = tapir_tcp_connect(eng->st, bs->h,
        (struct tapir_sockaddr){ .addr = req->addr, .port = req->port });
    if (err != -EINPROGRESS && err != 0)
        return -err;                /* the socket stays fresh */
    bs->state = BS_CONNECTING;
    bs->nb_connect = req->arg[0] == TP_SOCK_CONNECT_START_NONBLOCK;
    arm_timer(eng);
    if (bs->nb_connect)
        return 0;
    bs->waiter = c;
    c->waiting = bs;
    *deferred = true;
    return 0;
}

/* The port is bs's: remember where, for a ring that may form there. */
static void
took_port(struct tp_engine *eng, struct bsock *bs)
{
    bs->holds_port = true;
    tapir_tcp_getsockname(eng->st, bs->h, &bs->port_name);
}

static int
op_bind(struct tp_engine *eng, struct bsock *bs, struct tapir_sockaddr at)
{
    int err;

    if (bs->state != BS_FRESH || bs->grp_next != bs)
        return EINVAL;
    err = tapir_tcp_bind(eng->st, bs->h, at);
    if (err == -EADDRINUSE && sweep(eng) > 0)
        err = tapir_tcp_bind(eng->st, bs->h, at);
    if (err == -EADDRINUSE)
        return grp_bind(eng, bs, at);
    if (err == 0)
        took_port(eng, bs);
    return err == -EINVAL && at.addr != 0 ? EADDRNOTAVAIL : -err;
}

/* LISTEN: tapir listens, and the program's socket (fd) becomes a Unix
 * listener that our connections queue on.  A member of a SO_REUSEPORT
 * ring joins its holder's listening, or takes the port over to listen. */
static int
op_listen(struct tp_engine *eng, struct bsock *bs, int backlog, int fd)
{
    int err, ubacklog = backlog < 0 ? 0 : backlog > 4096 ? 4096 : backlog;

    if (bs->state == BS_LISTENING)
        return listen(fd, ubacklog) == -1 ? errno : 0;   /* a new backlog, as Linux allows */
    if (bs->state != BS_FRESH || bs->efd >= 0)
        return EINVAL;
    if (backlog <= 0 || backlog > ENG_LISTEN_BACKLOG * 32)
        backlog = ENG_LISTEN_BACKLOG;
    if (bs->grp_next != bs && !bs->holds_port) {
        struct bsock *holder = grp_holder(bs);

        if (holder != NULL && holder->state == BS_LISTENING) {
            if (listen(fd, ubacklog) == -1)
                return errno;
            bs->state = BS_LISTENING;
            arm_timer(eng);
            return 0;
        }
        if (holder != NULL)
            swap_h(bs, holder);
    }
    err = tapir_tcp_listen(eng->st, bs->h, backlog);
    if (err == -EADDRINUSE && sweep(eng) > 0)
        err = tapir_tcp_listen(eng->st, bs->h, backlog);
    if (err != 0)
        return -err;
    if (listen(fd, ubacklog) == -1)
        return errno;
    if (!bs->holds_port)
        took_port(eng, bs);
    bs->state = BS_LISTENING;
    arm_timer(eng);
    return 0;
}

static int
op_shutdown(struct tp_engine *eng, struct bsock *bs, int how)
{
    struct tapir_tcp_info ti;
    int err;

    if (how < SHUT_RD || how > SHUT_RDWR)
        return EINVAL;
    if (bs->state == BS_LISTENING)
        return 0;                   /* Linux: SHUT_WR does nothing; SHUT_RD would stop it */
    if (bs->state != BS_CONNECTED
        || (tapir_tcp_info(eng->st, bs->h, &ti) == 0
            && (ti.state == TAPIR_TCP_TIME_WAIT || ti.state == TAPIR_TCP_CLOSED)))
        return ENOTCONN;            /* closed both ways: Linux's socket is CLOSED */
    /* SHUT_WR travels in band (the shim shuts its own end, so the FIN
     * follows the data); here only the read side is tapir's business. */
    if (how != SHUT_WR) {
        if ((err = tapir_tcp_shutdown(eng->st, bs->h, TAPIR_SHUT_RD)) != 0)
            return -err;
        if (!bs->rx_eof) {
            shutdown(bs->efd, SHUT_WR);
            bs->rx_eof = true;
        }
    }
    return 0;
}

/* Map a BSD option to tapir's; -1 if tapir has none. */
static int
map_opt(int level, int name)
{
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR: return TAPIR_SO_REUSEADDR;
        case SO_RCVBUF: return TAPIR_SO_RCVBUF;
        case SO_SNDBUF: return TAPIR_SO_SNDBUF;
        case SO_KEEPALIVE: return TAPIR_SO_KEEPALIVE;
        case SO_LINGER: return TAPIR_SO_LINGER_ZERO;
        default: return -1;
        }
    }
    if (level == IPPROTO_TCP) {
        switch (name) {
        case TCP_NODELAY: return TAPIR_TCP_NODELAY;
        case TCP_MAXSEG: return TAPIR_TCP_MAXSEG;
        case TCP_KEEPIDLE: return TAPIR_TCP_KEEPIDLE;
        case TCP_KEEPINTVL: return TAPIR_TCP_KEEPINTVL;
        case TCP_KEEPCNT: return TAPIR_TCP_KEEPCNT;
        case TCP_USER_TIMEOUT: return TAPIR_TCP_USER_TIMEOUT;
        default: return -1;
        }
    }
    if (level == IPPROTO_IP) {
        switch (name) {
        case IP_TOS: return TAPIR_IP_TOS;
        case IP_TTL: return TAPIR_IP_TTL;
        default: return -1;
        }
    }
    return -1;
}

/* The bit of (level, name) in TP_SOCK_CARRIED's mask; 0 if not carried. */
static uint32_t
carried_bit(int level, int name)
{
    static const int opts[][2] = {
#define X(l, n) { l, n },
        TP_SOCK_CARRIED(X)
#undef X
    };

    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (opts[i][0] == level && opts[i][1] == name)
            return 1u << i;
    }
    return 0;
}

/* tapir's option for entry i of TP_SOCK_CARRIED; -1 if none (or no entry). */
static int
carried_opt(int i)
{
    static const int opts[][2] = {
#define X(l, n) { l, n },
        TP_SOCK_CARRIED(X)
#undef X
    };

    if (i < 0 || (size_t)i >= sizeof(opts) / sizeof(opts[0]))
        return -1;
    return map_opt(opts[i][0], opts[i][1]);
}

static int
op_getsockopt(struct tp_engine *eng, struct bsock *bs, const struct tp_sock_req *req,
    struct tp_sock_rep *rep)
{
    int opt, err, v = 0;

    if (req->arg[0] == TP_SOCK_LEVEL_SET) {
        rep->val = (int32_t)bs->opts_set;
        return 0;
    }
    if (req->arg[0] == SOL_SOCKET && req->arg[1] == SO_REUSEPORT) {
        rep->val = bs->reuseport;
        return 0;
    }
    if (req->arg[0] == SOL_SOCKET && req->arg[1] == SO_ERROR) {
        rep->val = -tapir_tcp_error(eng->st, bs->h);
        return 0;
    }
    if (req->arg[0] == SOL_SOCKET && req->arg[1] == SO_ACCEPTCONN) {
        rep->val = bs->state == BS_LISTENING;
        return 0;
    }
    if ((opt = map_opt(req->arg[0], req->arg[1])) < 0)
        return ENOPROTOOPT;
    if ((err = tapir_tcp_getsockopt(eng->st, bs->h, (enum tapir_tcp_opt)opt, &v)) != 0)
        return -err;
    rep->val = v;
    return 0;
}

static int
op_setsockopt(struct tp_engine *eng, struct bsock *bs, const struct tp_sock_req *req)
{
    int opt = map_opt(req->arg[0], req->arg[1]), err;

    if (req->arg[0] == SOL_SOCKET && req->arg[1] == SO_REUSEPORT) {
        bs->reuseport = req->arg[2] != 0;     /* the engine's: see grp_bind() */
        bs->opts_set |= carried_bit(SOL_SOCKET, SO_REUSEPORT);
        return 0;
    }
    if (opt < 0)
        return ENOPROTOOPT;
    err = tapir_tcp_setsockopt(eng->st, bs->h, (enum tapir_tcp_opt)opt, req->arg[2]);
    /* Buffer sizes are fixed once the connection has its buffers; the
     * kernel takes a late change without complaint, and so do we. */
    if (err == -EINVAL && bs->state != BS_FRESH && req->arg[2] >= 256
        && (opt == TAPIR_SO_RCVBUF || opt == TAPIR_SO_SNDBUF))
        return 0;
    if (err == 0)
        bs->opts_set |= carried_bit(req->arg[0], req->arg[1]);
    return -err;
}

static void
fill_info(const struct tapir_tcp_info *ti, struct tp_sock_info *o)
{
    o->state = (uint8_t)ti->state;
    o->options = (uint8_t)ti->options;
    o->snd_wscale = ti->snd_wscale;
    o->rcv_wscale = ti->rcv_wscale;
    o->rtt_us = ti->rtt_us;
    o->rttvar_us = ti->rttvar_us;
    o->rto_us = ti->rto_us;
    o->snd_mss = ti->snd_mss;
    o->rcv_mss = ti->rcv_mss;
    o->cwnd = ti->cwnd;
    o->ssthresh = ti->ssthresh;
    o->in_flight = ti->bytes_in_flight;
    o->snd_queue = ti->snd_queue;
    o->rcv_queue = ti->rcv_queue;
    o->snd_wnd = ti->snd_wnd;
    o->rcv_wnd = ti->rcv_wnd;
    o->retransmits = ti->retransmits;
    o->total_retrans = ti->total_retrans;
    o->bytes_acked = ti->bytes_acked;
    o->bytes_received = ti->bytes_received;
}

/* A request about a released socket. */
static int
op_zombie(struct zombie *z, const struct tp_sock_req *req, struct tp_sock_rep *rep)
{
    switch (req->op) {
    case TP_SOCK_OP_GETSOCKNAME:
        rep->addr = z->local.addr;
        rep->port = z->local.port;
        return 0;
    case TP_SOCK_OP_GETPEERNAME:
        if (z->peer.port == 0)
            return ENOTCONN;
        rep->addr = z->peer.addr;
        rep->port = z->peer.port;
        return 0;
    case TP_SOCK_OP_GETSOCKOPT:
        if (req->arg[0] == SOL_SOCKET && req->arg[1] == SO_ERROR) {
            rep->val = z->err;
            z->err = 0;
            return 0;
        }
        return req->arg[0] == SOL_SOCKET || req->arg[0] == IPPROTO_TCP ? 0 : ENOPROTOOPT;
    case TP_SOCK_OP_INFO:
        rep->info.state = TAPIR_TCP_CLOSED;
        return 0;
    case TP_SOCK_OP_CONNECT:
        return z->err != 0 ? z->err : EISCONN;
    case TP_SOCK_OP_SETSOCKOPT:
        return 0;                   /* the kernel too accepts options on a dead socket */
    case TP_SOCK_OP_SHUTDOWN:
    case TP_SOCK_OP_LISTEN:
    case TP_SOCK_OP_BIND:
        return req->op == TP_SOCK_OP_SHUTDOWN ? ENOTCONN : EINVAL;
    default:
        return EINVAL;
    }
}

static int
op_sock(struct tp_engine *eng, struct eng_ctl *c, struct bsock *bs, int fd,
    const struct tp_sock_req *req, struct tp_sock_rep *rep, bool *deferred)
{
    struct tapir_sockaddr sa = { 0, 0 };
    struct tapir_tcp_info ti;
    int err = 0;

    switch (req->op) {
    case TP_SOCK_OP_BIND:
        return op_bind(eng, bs, (struct tapir_sockaddr){ .addr = req->addr, .port = req->port });
    case TP_SOCK_OP_LISTEN:
        return op_listen(eng, bs, req->arg[0], fd);
    case TP_SOCK_OP_CONNECT:
        return op_connect(eng, c, bs, req, rep, deferred);
    case TP_SOCK_OP_SHUTDOWN:
        return op_shutdown(eng, bs, req->arg[0]);
    case TP_SOCK_OP_GETSOCKNAME:
    case TP_SOCK_OP_GETPEERNAME:
        if (req->op == TP_SOCK_OP_GETSOCKNAME && !bs->holds_port && bs->grp_next != bs)
            sa = bs->port_name;     /* a ring member: the ring's address */
        else if (req->op == TP_SOCK_OP_GETSOCKNAME)
            err = tapir_tcp_getsockname(eng->st, bs->h, &sa);
        else
            err = tapir_tcp_getpeername(eng->st, bs->h, &sa);
        rep->addr = sa.addr;
        rep->port = sa.port;
        return -err;
    case TP_SOCK_OP_GETSOCKOPT:
        return op_getsockopt(eng, bs, req, rep);
    case TP_SOCK_OP_SETSOCKOPT:
        return op_setsockopt(eng, bs, req);
    case TP_SOCK_OP_INFO:
        if ((err = tapir_tcp_info(eng->st, bs->h, &ti)) != 0)
            return -err;
        fill_info(&ti, &rep->info);
        return 0;
    default:
        return EINVAL;
    }
}

/*
 * The keys a program's socket fd may be known by: its inode (sockets made
 * by SOCKET, connected or listening), and, if its peer is one of our
 * ends of an accepted connection ("a<seq>:..."), KEY_ACCEPTED|seq (0 if
 * not).  False if fd is no socket.  Only the holder of a socket can send
 * it, and only a socket accepted from a program's listener has our end
 * as its peer, so possession proves ownership.
 */
static bool
prog_keys(struct tp_engine *eng, int fd, uint64_t key[2])
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    struct stat sb;
    char tail[64], *end;
    unsigned long long seq;

    if (fstat(fd, &sb) == -1 || !S_ISSOCK(sb.st_mode))
        return false;
    key[0] = (uint64_t)sb.st_ino;
    key[1] = 0;
    memset(&sa, 0, sizeof(sa));
    if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0
        && our_tail(eng, &sa, len, tail, sizeof(tail)) && tail[0] == 'a') {
        seq = strtoull(tail + 1, &end, 16);
        if (*end == ':')
            key[1] = KEY_ACCEPTED | seq;
    }
    return true;
}

/* Validate and serve one request; fd is the program's socket it carried. */
static void
ctl_serve(struct eng_ctl *c, const struct tp_sock_req *req, ssize_t len, int fd)
{
    struct tp_engine *eng = c->eng;
    struct tp_sock_rep rep;
    struct bsock *bs;
    struct zombie *z;
    uint64_t key[2];
    bool deferred = false;
    int out_fd = -1;

    memset(&rep, 0, sizeof(rep));
    if (len != (ssize_t)sizeof(*req) || req->magic != TP_SOCK_MAGIC
        || req->version != TP_SOCK_VERSION || req->op == 0 || req->op >= TP_SOCK_OP_N
        || (req->op != TP_SOCK_OP_SOCKET && fd < 0)) {
        eng->stats[TP_ENGINE_STAT_BAD_REQUESTS]++;
        rep.err = req->magic == TP_SOCK_MAGIC && req->version != TP_SOCK_VERSION
            ? EPROTONOSUPPORT : EINVAL;
        ctl_reply(c, &rep, -1);
        return;
    }
    eng->stats[TP_ENGINE_STAT_REQUESTS]++;
    rep.op = req->op;
    if (req->op == TP_SOCK_OP_SOCKET) {
        rep.err = op_socket(eng, &out_fd);
    } else if (!prog_keys(eng, fd, key)) {
        rep.err = ENOTSOCK;
    } else if ((bs = find_key(eng, key[0])) != NULL || (bs = find_key(eng, key[1])) != NULL) {
        rep.err = op_sock(eng, c, bs, fd, req, &rep, &deferred);
    } else if ((z = find_zombie(eng, key[0])) != NULL || (z = find_zombie(eng, key[1])) != NULL) {
        rep.err = op_zombie(z, req, &rep);
    } else {
        rep.err = EBADF;
    }
    if (!deferred)
        ctl_reply(c, &rep, out_fd);
    if (out_fd >= 0)
        close(out_fd);
}

static void
ctl_on_event(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct eng_ctl *c = w->ctx;
    union {
        struct tp_sock_req req;
        uint8_t raw[sizeof(struct tp_sock_req) + 64];
    } u;
    char cbuf[CMSG_SPACE(sizeof(int) * 4)];
    struct iovec iov = { &u, sizeof(u) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
        .msg_controllen = sizeof(cbuf) };
    int fd = -1;
    ssize_t n;

    memset(&u, 0, sizeof(u));
    n = recvmsg(w->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n <= 0) {
        if (n == 0 || errno != EAGAIN || (events & (EPOLLHUP | EPOLLERR)))
            tp_rt_watch_close(rt, w);
        return;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i * sizeof(int) < cm->cmsg_len - CMSG_LEN(0); i++) {
            int x;

            memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (fd < 0)
                fd = x;
            else
                close(x);           /* more than one: keep the first */
        }
    }
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        n = -1;                     /* judged malformed by its length */
    if (c->refused) {
        struct tp_sock_rep rep = { .err = EACCES };

        ctl_reply(c, &rep, -1);
        tp_rt_watch_close(rt, w);
    } else {
        ctl_serve(c, &u.req, n, fd);
    }
    if (fd >= 0)
        close(fd);
}

static bool
peer_allowed(struct tp_engine *eng, int fd)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
        return false;
    return cr.uid == 0 || cr.uid == eng->allow_uid;
}

static void
on_ctl_listen(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct tp_engine *eng = w->ctx;

    (void)events;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct eng_ctl *c;

        if (fd < 0)
            return;
        if (eng->nctl >= ENG_MAX_CTL || (c = calloc(1, sizeof(*c))) == NULL) {
            close(fd);
            continue;
        }
        c->eng = eng;
        /* A refused peer's request is read and answered EACCES: closing
         * at once would show it a reset instead of the reason. */
        if (!peer_allowed(eng, fd)) {
            c->refused = true;
            eng->stats[TP_ENGINE_STAT_CTL_REFUSED]++;
        }
        c->w = (struct tp_watch){ .fd = fd, .events = EPOLLIN, .fn = ctl_on_event,
            .on_close = ctl_on_close, .ctx = c };
        if (tp_rt_watch_add(rt, &c->w) != 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = eng->ctls;
        if (c->next != NULL)
            c->next->prev = c;
        eng->ctls = c;
        eng->nctl++;
        eng->stats[TP_ENGINE_STAT_CTL_ACCEPTED]++;
    }
}

/* ---- life ---------------------------------------------------------------- */

static int
listen_at(struct tp_engine *eng, const char *path)
{
    struct sockaddr_un sa;
    socklen_t len;
    size_t n = strlen(path);
    int fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (n == 0 || n >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, n);
    eng->path_is_file = path[0] != '@';
    if (!eng->path_is_file)
        sa.sun_path[0] = '\0';
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (eng->path_is_file ? 1 : 0));
    if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
        return -errno;
    if (eng->path_is_file)
        unlink(path);               /* a stale socket of a previous run */
    if (bind(fd, (struct sockaddr *)&sa, len) == -1
        || (eng->path_is_file && chmod(path, 0660) == -1) || listen(fd, 512) == -1) {
        int err = -errno;

        close(fd);
        return err;
    }
    memcpy(eng->path, path, n + 1);
    eng->lw = (struct tp_watch){ .fd = fd, .events = EPOLLIN, .fn = on_ctl_listen, .ctx = eng };
    return 0;
}

/* The bridge listener and the timer. */
static int
bridge_open(struct tp_engine *eng)
{
    struct sockaddr_un sa;
    socklen_t len = eng_name(eng, &sa, TP_SOCK_BRIDGE);
    int fd, err;

    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, len) == -1 || listen(fd, 4096) == -1) {
        err = -errno;
        close(fd);
        return err;
    }
    eng->bw = (struct tp_watch){ .fd = fd, .events = EPOLLIN, .fn = on_bridge, .ctx = eng };
    if ((err = tp_rt_watch_add(eng->rt, &eng->bw)) != 0) {
        close(fd);
        eng->bw.fd = -1;
        return err;
    }
    if ((fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) == -1)
        return -errno;
    eng->tw = (struct tp_watch){ .fd = fd, .events = EPOLLIN, .fn = on_timer, .ctx = eng };
    if ((err = tp_rt_watch_add(eng->rt, &eng->tw)) != 0) {
        close(fd);
        eng->tw.fd = -1;
        return err;
    }
    return 0;
}

int
tp_engine_new(struct tp_rt *rt, const char *path, uid_t allow_uid, struct tp_engine **out)
{
    struct tp_engine *eng;
    int err;

    *out = NULL;
    if ((eng = calloc(1, sizeof(*eng))) == NULL)
        return -ENOMEM;
    eng->rt = rt;
    eng->st = tp_rt_stack(rt);
    eng->allow_uid = allow_uid;
    eng->lw.fd = eng->bw.fd = eng->tw.fd = eng->probe_fd = -1;
    snprintf(eng->prefix, sizeof(eng->prefix), "%s%d:%p:", TP_SOCK_PEER_PREFIX, (int)getpid(),
        (void *)eng);
    if ((eng->scratch = malloc(ENG_SCRATCH)) == NULL) {
        free(eng);
        return -ENOMEM;
    }
    if ((err = listen_at(eng, path)) != 0 || (err = tp_rt_watch_add(rt, &eng->lw)) != 0
        || (err = bridge_open(eng)) != 0) {
        tp_engine_free(eng);
        return err;
    }
    tp_rt_set_after(rt, tp_engine_after, eng);
    *out = eng;
    return 0;
}

void
tp_engine_close_all(struct tp_engine *eng)
{
    for (size_t i = 0; i < ENG_BUCKETS; i++) {
        while (eng->by_key[i] != NULL)
            bs_release(eng->by_key[i], 0);
    }
}

void
tp_engine_free(struct tp_engine *eng)
{
    if (eng == NULL)
        return;
    tp_rt_set_after(eng->rt, NULL, NULL);
    for (size_t i = 0; i < ENG_BUCKETS; i++) {
        while (eng->by_key[i] != NULL) {
            struct bsock *bs = eng->by_key[i];

            tapir_tcp_abort(eng->st, bs->h);
            bs_release(bs, ECONNABORTED);
        }
    }
    while (eng->ctls != NULL)
        tp_rt_watch_close(eng->rt, &eng->ctls->w);
    bury(eng);
    if (eng->lw.fd >= 0) {
        tp_rt_watch_close(eng->rt, &eng->lw);
        close(eng->lw.fd);
        if (eng->path_is_file)
            unlink(eng->path);
    }
    for (int i = 0; i < 2; i++) {
        struct tp_watch *w = i == 0 ? &eng->bw : &eng->tw;

        if (w->fd >= 0) {
            tp_rt_watch_close(eng->rt, w);
            close(w->fd);
        }
    }
    if (eng->probe_fd >= 0)
        close(eng->probe_fd);
    free(eng->scratch);
    free(eng);
}

size_t
tp_engine_nsocks(const struct tp_engine *eng)
{
    return eng->nsocks;
}

uint64_t
tp_engine_stat(const struct tp_engine *eng, enum tp_engine_stat s)
{
    return eng->stats[s];
}

const char *
tp_engine_stat_name(enum tp_engine_stat s)
{
    return eng_stat_names[s];
}
