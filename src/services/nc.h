/*
 * src/services/nc.h -- netcat over a tapir stack: one TCP connection (made
 * by connecting out, or accepted on a port) joined to two file descriptors:
 * what is read from in_fd is sent, what is received is written to out_fd.
 *
 * End of input shuts the connection down for writing (FIN); the session is
 * over when both directions are finished (our FIN and all data acknowledged
 * or the connection closed, and the peer's FIN read), or on an error.
 * Runs on a runtime (src/linux/runtime.h): in_fd is one more watcher (or,
 * for a regular file, which epoll cannot watch, read as the socket allows).
 */
#ifndef TP_SERVICES_NC_H
#define TP_SERVICES_NC_H

#include <stdbool.h>

#include "linux/runtime.h"

struct tp_nc_config {
    bool listen;                    /* accept one connection on local port */
    struct tapir_sockaddr remote;   /* connect mode: where to */
    uint16_t port;                  /* listen mode: the port */
    int in_fd, out_fd;              /* borrowed */
};

struct tp_nc;

/* Start: open the listener or send the SYN (at the next poll).  0 and
 * *out, or a negative errno from the stack or -ENOMEM. */
int tp_nc_new(struct tp_rt *rt, const struct tp_nc_config *cfg, struct tp_nc **out);

/* Close the watcher and the socket (aborting it if still open), free.  NULL
 * allowed; not from a callback. */
void tp_nc_free(struct tp_nc *nc);

/* An event from tapir_tcp_next_event(): true if it was for nc's socket. */
bool tp_nc_event(struct tp_nc *nc, const struct tapir_tcp_event *ev);

/* Once per loop iteration: move data, check for the end.  Returns how many
 * things it did (the runtime then polls again to send them). */
int tp_nc_tick(struct tp_nc *nc);

/* The session is over: 0 (both directions done) or the negative errno that
 * ended it; -EINPROGRESS while it goes on. */
int tp_nc_result(const struct tp_nc *nc);

/* Bytes moved each way, for the log. */
uint64_t tp_nc_bytes_sent(const struct tp_nc *nc);
uint64_t tp_nc_bytes_received(const struct tp_nc *nc);

#endif
