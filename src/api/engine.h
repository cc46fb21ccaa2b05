/*
 * src/api/engine.h -- the bridge engine: tapir TCP sockets served to
 * programs as Unix stream sockets, on the runtime's loop.
 *
 * The engine runs on the thread of its runtime (tapird's main thread, or
 * the C API's stack thread).  It listens for control requests (proto.h) on
 * a Unix SOCK_SEQPACKET socket, gives every tapir socket a Unix stream
 * socket, connected to an end of ours once the tapir socket connects, and
 * moves bytes between the two, epoll-driven, with backpressure in both
 * directions.  A program's end closing (exit, crash,
 * last close) closes the tapir socket like the kernel would.
 */
#ifndef TP_API_ENGINE_H
#define TP_API_ENGINE_H

#include <stdint.h>
#include <sys/types.h>

#include "linux/runtime.h"

struct tp_engine;

/*
 * Engine counters, named like the stack's.
 */
#define TP_ENGINE_STATS(X)                                                        \
    X(CTL_ACCEPTED, "TapirSockCtlAccepted", "control connections accepted")       \
    X(CTL_REFUSED, "TapirSockCtlRefused", "control connections refused (peer uid)") \
    X(REQUESTS, "TapirSockRequests", "control requests served")                   \
    X(BAD_REQUESTS, "TapirSockBadRequests", "malformed requests answered EINVAL")  \
    X(SOCKETS, "TapirSockSockets", "sockets created")                             \
    X(ACCEPTS, "TapirSockAccepts", "connections handed to programs")              \
    X(TX_BYTES, "TapirSockTxBytes", "bytes from programs into tapir")             \
    X(RX_BYTES, "TapirSockRxBytes", "bytes from tapir into programs")             \
    X(RESETS, "TapirSockResets", "connections ended by an error or RST")          \
    X(PROG_CLOSES, "TapirSockProgCloses", "sockets closed because the program's end closed") \
    X(SWEPT, "TapirSockSwept", "fresh or listening sockets found closed by the program")

enum tp_engine_stat {
#define X(name, pub, desc) TP_ENGINE_STAT_##name,
    TP_ENGINE_STATS(X)
#undef X
    TP_ENGINE_STAT_N
};

/*
 * Create an engine on rt (borrowed; the engine takes its after-hook).  It
 * listens at path: a file system path, or "@name" for Linux's abstract
 * namespace.  A file is created with mode 0660 after removing a stale
 * socket file there.  Control connections from a uid other than 0 and
 * allow_uid are refused.  Returns 0 and *out, or a negative errno.
 */
int tp_engine_new(struct tp_rt *rt, const char *path, uid_t allow_uid, struct tp_engine **out);

/* Close every socket as a process exit closes its fds: the connections
 * finish gracefully (or reset, when data was left unread) under the
 * stack's care.  Programs' ends read end of file. */
void tp_engine_close_all(struct tp_engine *eng);

/* Close every socket (reset), the control socket,
 * and remove a socket file.  NULL is allowed.  Not from a callback. */
void tp_engine_free(struct tp_engine *eng);

/* The runtime's after-hook the engine installs (ctx: the engine), for an
 * owner that wraps it in a hook of its own. */
int tp_engine_after(struct tp_rt *rt, void *ctx);

/* Release the fresh and listening sockets that their programs have closed
 * (the engine notices them by itself within a second).  Returns how many.
 * Call before reading tp_engine_nsocks() or listing the stack's sockets.
 * Not from a callback of the engine. */
size_t tp_engine_sweep(struct tp_engine *eng);

/* Live sockets (connections, listeners, fresh sockets). */
size_t tp_engine_nsocks(const struct tp_engine *eng);

uint64_t tp_engine_stat(const struct tp_engine *eng, enum tp_engine_stat s);
const char *tp_engine_stat_name(enum tp_engine_stat s);

#endif
