/*
 * src/linux/ctl.h -- the control socket of a running stack: a Unix stream
 * socket at a path (mode 0600) on which `tapir status` and `tapir stats`
 * ask one question each and read the answer until the server closes.
 *
 * Protocol: the client writes one request line ("status", "stats json",
 * ...; at most TP_CTL_REQ_MAX bytes, ending in '\n'); the server writes the
 * whole answer and closes.  The server side is one more watcher on the
 * runtime loop; the answer is formed by the owner's callback, in the loop's
 * thread, so it may read the stack.
 */
#ifndef TP_LINUX_CTL_H
#define TP_LINUX_CTL_H

#include <stdio.h>

#include "linux/runtime.h"

#define TP_CTL_REQ_MAX 128
#define TP_CTL_DIR "/run/tapir"     /* default paths: TP_CTL_DIR/<dev>.ctl */

struct tp_ctl;

/* Write the answer to req (a line without its '\n') to out.  Returns 0, or
 * a negative errno (the answer so far is still sent). */
typedef int tp_ctl_fn(void *ctx, const char *req, FILE *out);

/*
 * Listen at path (borrowed; copied): a stale socket file nobody answers on
 * is replaced; a path where a server answers gives -EADDRINUSE.  The file
 * is created with mode 0600.  Returns 0 and *out, or a negative errno.
 */
int tp_ctl_open(struct tp_rt *rt, const char *path, tp_ctl_fn *fn, void *ctx,
    struct tp_ctl **out);

/* Stop listening, remove the socket file, free.  NULL is allowed.  Call
 * before tp_rt_free() (the watcher is the runtime's until then). */
void tp_ctl_close(struct tp_ctl *ctl);

/*
 * The client: send req to the server at path and copy its answer to out.
 * Returns 0, -ENOENT or -ECONNREFUSED when no server is there, or another
 * negative errno.  Gives up after timeout_ms without an answer (-ETIMEDOUT).
 */
int tp_ctl_ask(const char *path, const char *req, FILE *out, unsigned timeout_ms);

#endif
