/*
 * src/services/svc.c -- the service host: listeners, the connection table
 * and its limit, and the three simple services (echo RFC 862, discard RFC
 * 863, chargen RFC 864).  HTTP lives in http.c.
 *
 * Each connection is driven by conn_pump(): read what the service has room
 * for, let the service produce, send, and repeat while anything moved.
 * Events are edge-like (a socket is reported when its readiness changes),
 * so the pump always goes on until nothing moves rather than trusting one
 * event to mean one action.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux/log.h"
#include "services/svc_int.h"

#define SVC_PUMP_ROUNDS 4096        /* a safety bound; buffers bound it first */

static const char *const svc_stat_names[TP_SVC_STAT_N] = {
#define X(name, pub, desc) [TP_SVC_STAT_##name] = pub,
    TP_SVC_STATS(X)
#undef X
};

static const char *const svc_stat_descs[TP_SVC_STAT_N] = {
#define X(name, pub, desc) [TP_SVC_STAT_##name] = desc,
    TP_SVC_STATS(X)
#undef X
};

static const char *const svc_kind_names[TP_SVC_NKINDS] = {
    [TP_SVC_ECHO] = "echo",
    [TP_SVC_DISCARD] = "discard",
    [TP_SVC_CHARGEN] = "chargen",
    [TP_SVC_HTTP] = "http",
};

const char *
tp_svc_kind_name(enum tp_svc_kind kind)
{
    return kind < TP_SVC_NKINDS ? svc_kind_names[kind] : "?";
}

const char *
tp_svc_stat_name(enum tp_svc_stat s)
{
    return s < TP_SVC_STAT_N ? svc_stat_names[s] : "?";
}

const char *
tp_svc_stat_desc(enum tp_svc_stat s)
{
    return s < TP_SVC_STAT_N ? svc_stat_descs[s] : "?";
}

uint64_t
tp_svc_stat(const struct tp_svc *svc, enum tp_svc_stat s)
{
    return s < TP_SVC_STAT_N ? svc->stats[s] : 0;
}

size_t
tp_svc_conns(const struct tp_svc *svc)
{
    return svc->n_conns;
}

/*
 * The pattern repeats every 251 bytes: write one period byte by byte, then
 * double what is written with memcpy (a copy of a whole number of periods
 * continues the pattern).  Chargen fills its buffer on every pump; a byte
 * loop there cost about a third of tapir's CPU time as a sender.
 */
void
tp_svc_pattern(uint64_t off, uint8_t *buf, size_t len)
{
    uint8_t b = tp_svc_pattern_byte(off);
    size_t done = len < 251 ? len : 251;

    for (size_t i = 0; i < done; i++) {
        buf[i] = b;
        b = b == 250 ? 0 : (uint8_t)(b + 1);
    }
    while (done < len) {
        size_t n = done <= len - done ? done : len - done;

        memcpy(buf + done, buf, n);
        done += n;
    }
}

int
tp_svc_new(struct tapir_stack *st, const struct tp_svc_config *cfg, struct tp_svc **out)
{
    struct tp_svc *svc;

    *out = NULL;
    if (cfg->max_conns == 0)
        return -EINVAL;
    if ((svc = calloc(1, sizeof(*svc))) == NULL)
        return -ENOMEM;
    svc->st = st;
    svc->cfg = *cfg;
    svc->dirfd = -1;
    for (int k = 0; k < TP_SVC_NKINDS; k++)
        svc->listeners[k] = -1;
    if ((svc->conns = calloc(cfg->max_conns, sizeof(*svc->conns))) == NULL) {
        free(svc);
        return -ENOMEM;
    }
    if (cfg->http_dir != NULL) {
        svc->dirfd = open(cfg->http_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (svc->dirfd == -1) {
            int err = -errno;

            tp_svc_free(svc);
            return err;
        }
    }
    *out = svc;
    return 0;
}

static void
conn_free(struct svc_conn *c)
{
    svc_http_free(c);
    free(c->out);
    free(c);
}

/* Remove c from the table and free it; the socket is already released. */
static void
conn_forget(struct svc_conn *c)
{
    struct tp_svc *svc = c->svc;

    for (size_t i = 0; i < svc->n_conns; i++) {
        if (svc->conns[i] == c) {
            svc->conns[i] = svc->conns[--svc->n_conns];
            svc->conns[svc->n_conns] = NULL;
            break;
        }
    }
    conn_free(c);
}

/* Done: the stack closes gracefully (FIN after what is queued). */
static void
conn_close(struct svc_conn *c)
{
    (void)tapir_tcp_close(c->svc->st, c->sock);
    c->svc->stats[TP_SVC_STAT_CLOSED]++;
    conn_forget(c);
}

/* An error ended it (reset, timeout, keepalive gave up): release it. */
static void
conn_fail(struct svc_conn *c, int err)
{
    tp_debug("%s: connection %d ended: %s", tp_svc_kind_name(c->kind), c->sock,
        strerror(-err));
    (void)tapir_tcp_abort(c->svc->st, c->sock);
    c->svc->stats[TP_SVC_STAT_ERRORS]++;
    conn_forget(c);
}

void
tp_svc_free(struct tp_svc *svc)
{
    if (svc == NULL)
        return;
    while (svc->n_conns > 0) {
        struct svc_conn *c = svc->conns[0];

        (void)tapir_tcp_abort(svc->st, c->sock);
        conn_forget(c);
    }
    for (int k = 0; k < TP_SVC_NKINDS; k++) {
        if (svc->listeners[k] >= 0)
            (void)tapir_tcp_close(svc->st, svc->listeners[k]);
    }
    if (svc->dirfd >= 0)
        close(svc->dirfd);
    free(svc->conns);
    free(svc);
}

int
tp_svc_listen(struct tp_svc *svc, enum tp_svc_kind kind, uint16_t port)
{
    int s, err;

    if (kind >= TP_SVC_NKINDS || svc->listeners[kind] >= 0)
        return -EINVAL;
    if ((s = tapir_tcp_socket(svc->st)) < 0)
        return s;
    (void)tapir_tcp_setsockopt(svc->st, s, TAPIR_SO_REUSEADDR, 1);
    if ((err = tapir_tcp_bind(svc->st, s, (struct tapir_sockaddr){ 0, port })) != 0
        || (err = tapir_tcp_listen(svc->st, s, 128)) != 0) {
        (void)tapir_tcp_close(svc->st, s);
        return err;
    }
    svc->listeners[kind] = s;
    return 0;
}

size_t
svc_out_room(struct svc_conn *c)
{
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    else if (c->out_off > 0 && c->out_len == SVC_OUT_CAP) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    return SVC_OUT_CAP - c->out_len;
}

int
svc_flush(struct svc_conn *c, bool *progress)
{
    while (c->out_off < c->out_len) {
        long n = tapir_tcp_send(c->svc->st, c->sock, c->out + c->out_off,
            c->out_len - c->out_off, 0);

        if (n == -EAGAIN)
            return 0;
        if (n < 0)
            return (int)n;
        c->out_off += (size_t)n;
        c->svc->stats[TP_SVC_STAT_BYTES_OUT] += (uint64_t)n;
        *progress = true;
    }
    return 0;
}

/*
 * Read into dst (cap bytes; NULL: into a scratch buffer, dropped).
 * Returns the count (0 at EOF, which sets rd_eof), -EAGAIN, or an error.
 */
static long
conn_recv(struct svc_conn *c, void *dst, size_t cap, bool *progress)
{
    uint8_t scratch[4096];
    long n;

    if (c->rd_eof)
        return -EAGAIN;
    n = dst != NULL ? tapir_tcp_recv(c->svc->st, c->sock, dst, cap, 0)
                    : tapir_tcp_recv(c->svc->st, c->sock, scratch, sizeof(scratch), 0);
    if (n == 0)
        c->rd_eof = true;
    if (n >= 0) {
        *progress = true;
        c->svc->stats[TP_SVC_STAT_BYTES_IN] += (uint64_t)n;
    }
    return n;
}

/* Echo: what is read goes to c->out; reading stops while it is full. */
static int
echo_work(struct svc_conn *c, bool *progress)
{
    size_t room = svc_out_room(c);
    long n = room > 0 ? conn_recv(c, c->out + c->out_len, room, progress) : -EAGAIN;
    int err;

    if (n > 0)
        c->out_len += (size_t)n;
    else if (n < 0 && n != -EAGAIN)
        return (int)n;
    if ((err = svc_flush(c, progress)) != 0)
        return err;
    return c->rd_eof && c->out_off == c->out_len ? 1 : 0;
}

/* Discard: read and drop until the peer's FIN. */
static int
discard_work(struct svc_conn *c, bool *progress)
{
    long n = conn_recv(c, NULL, 0, progress);

    if (n < 0 && n != -EAGAIN)
        return (int)n;
    return c->rd_eof ? 1 : 0;
}

/* Chargen: drop input, keep the send buffer full of the pattern until the
 * peer closes. */
static int
chargen_work(struct svc_conn *c, bool *progress)
{
    long n = conn_recv(c, NULL, 0, progress);
    size_t room = svc_out_room(c);

    if (n < 0 && n != -EAGAIN)
        return (int)n;
    if (c->rd_eof)
        return 1;
    if (room > 0) {
        tp_svc_pattern(c->pat_off, c->out + c->out_len, room);
        c->pat_off += room;
        c->out_len += room;
    }
    return svc_flush(c, progress);
}

/* After we sent FIN: read and drop until the peer's FIN, then close (a
 * close with unread data would reset what we sent). */
static int
drain_work(struct svc_conn *c, bool *progress)
{
    long n = conn_recv(c, NULL, 0, progress);

    if (n < 0 && n != -EAGAIN)
        return (int)n;
    return c->rd_eof ? 1 : 0;
}

static int
conn_work(struct svc_conn *c, bool *progress)
{
    if (c->wr_shut)
        return drain_work(c, progress);
    switch (c->kind) {
    case TP_SVC_ECHO:
        return echo_work(c, progress);
    case TP_SVC_DISCARD:
        return discard_work(c, progress);
    case TP_SVC_CHARGEN:
        return chargen_work(c, progress);
    case TP_SVC_HTTP:
        return svc_http_work(c, progress);
    default:
        return -EINVAL;
    }
}

/* Move data until nothing moves; close or fail c when it is over. */
static void
conn_pump(struct svc_conn *c)
{
    for (int round = 0; round < SVC_PUMP_ROUNDS; round++) {
        bool progress = false;
        int r = conn_work(c, &progress);

        if (r < 0) {
            conn_fail(c, r);
            return;
        }
        if (r > 0) {
            conn_close(c);
            return;
        }
        if (!progress)
            return;
    }
}

static struct svc_conn *
conn_new(struct tp_svc *svc, enum tp_svc_kind kind, int sock)
{
    struct svc_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->svc = svc;
    c->kind = kind;
    c->sock = sock;
    if ((c->out = malloc(SVC_OUT_CAP)) == NULL
        || (kind == TP_SVC_HTTP && svc_http_new(c) != 0)) {
        conn_free(c);
        return NULL;
    }
    return c;
}

static void
set_options(struct tp_svc *svc, int s)
{
    int idle = (int)svc->cfg.keepalive_s;

    if (svc->cfg.user_timeout_ms != 0)
        (void)tapir_tcp_setsockopt(svc->st, s, TAPIR_TCP_USER_TIMEOUT,
            (int)svc->cfg.user_timeout_ms);
    if (idle == 0)
        return;
    (void)tapir_tcp_setsockopt(svc->st, s, TAPIR_TCP_KEEPIDLE, idle);
    (void)tapir_tcp_setsockopt(svc->st, s, TAPIR_TCP_KEEPINTVL, idle);
    (void)tapir_tcp_setsockopt(svc->st, s, TAPIR_TCP_KEEPCNT, 3);
    (void)tapir_tcp_setsockopt(svc->st, s, TAPIR_SO_KEEPALIVE, 1);
}

static void
accept_all(struct tp_svc *svc, enum tp_svc_kind kind)
{
    int s;

    while ((s = tapir_tcp_accept(svc->st, svc->listeners[kind], NULL)) >= 0) {
        struct svc_conn *c = NULL;

        if (svc->n_conns < svc->cfg.max_conns)
            c = conn_new(svc, kind, s);
        if (c == NULL) {
            /* Over the limit (or out of memory): refuse with RST. */
            (void)tapir_tcp_abort(svc->st, s);
            svc->stats[TP_SVC_STAT_REFUSED]++;
            continue;
        }
        svc->conns[svc->n_conns++] = c;
        svc->stats[TP_SVC_STAT_ACCEPTED]++;
        set_options(svc, s);
        /* Data may have come with the handshake: no event will say so. */
        conn_pump(c);
    }
}

bool
tp_svc_event(struct tp_svc *svc, const struct tapir_tcp_event *ev)
{
    for (int k = 0; k < TP_SVC_NKINDS; k++) {
        if (svc->listeners[k] == ev->sock) {
            accept_all(svc, (enum tp_svc_kind)k);
            return true;
        }
    }
    for (size_t i = 0; i < svc->n_conns; i++) {
        struct svc_conn *c = svc->conns[i];

        if (c->sock != ev->sock)
            continue;
        conn_pump(c);
        return true;
    }
    return false;
}
