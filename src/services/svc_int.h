/*
 * src/services/svc_int.h -- what svc.c (connections, echo, discard,
 * chargen) and http.c (the HTTP/1.1 server) share.
 */
#ifndef TP_SERVICES_SVC_INT_H
#define TP_SERVICES_SVC_INT_H

#include "services/svc.h"

#define SVC_OUT_CAP 16384           /* pending output per connection */
#define SVC_HTTP_IN_CAP 8192        /* an HTTP request head, at most */

struct svc_http;

struct svc_conn {
    struct tp_svc *svc;
    int sock;
    enum tp_svc_kind kind;
    bool rd_eof;                    /* the peer's FIN was read */
    bool wr_shut;                   /* we sent FIN: only draining input now */
    uint8_t *out;                   /* SVC_OUT_CAP bytes; echo's input too */
    size_t out_off, out_len;        /* unsent bytes are out[out_off..out_len) */
    uint64_t pat_off;               /* chargen: the pattern's next offset */
    struct svc_http *http;          /* HTTP only */
};

struct tp_svc {
    struct tapir_stack *st;
    struct tp_svc_config cfg;
    int listeners[TP_SVC_NKINDS];   /* handle, or -1 */
    struct svc_conn **conns;        /* cfg.max_conns slots */
    size_t n_conns;
    uint64_t stats[TP_SVC_STAT_N];
    int dirfd;                      /* cfg.http_dir opened, or -1 */
};

/* Send what is pending in c->out; sets *progress.  0 or a negative errno. */
int svc_flush(struct svc_conn *c, bool *progress);

/* Room left at the end of c->out, after compacting. */
size_t svc_out_room(struct svc_conn *c);

/* http.c: per-connection state, created at accept. */
int svc_http_new(struct svc_conn *c);
void svc_http_free(struct svc_conn *c);
/* Read, parse, answer, produce body bytes: one step; sets *progress.
 * Returns 0, 1 when the connection is finished (close it), or a negative
 * errno (abort it). */
int svc_http_work(struct svc_conn *c, bool *progress);

#endif
