/*
 * src/api/proto.h -- the socket protocol between a program (the C API or
 * the preload shim) and the bridge engine (in-process or tapird).
 *
 * Each tapir socket is a Unix stream socketpair: the program holds one end
 * (its socket fd), the engine the other, and data moves by read/write.
 * Control requests travel on a separate SOCK_SEQPACKET connection to the
 * engine's control socket, one fixed-size request and one fixed-size reply
 * per exchange.  A request about a socket carries the program's end as
 * SCM_RIGHTS: possession of the fd is the proof of ownership, and the
 * engine finds its socket by the fd's inode.  Accepted connections arrive
 * on the listener's own fd as a struct tp_sock_accept with the new fd.
 * Every integer is in host byte order (both ends run on one host).
 */
#ifndef TP_API_PROTO_H
#define TP_API_PROTO_H

#include <stdint.h>

#define TP_SOCK_MAGIC 0x74617073u      /* "taps" */
#define TP_SOCK_VERSION 1

/* The engine binds its end of each pair to an abstract name starting
 * with this, so a program's end is recognised with one getpeername(). */
#define TP_SOCK_PEER_PREFIX "tapir-sock:"

enum tp_sock_op {
    TP_SOCK_OP_SOCKET = 1,          /* reply carries the new fd */
    TP_SOCK_OP_BIND,                /* addr, port */
    TP_SOCK_OP_LISTEN,              /* arg0: backlog */
    TP_SOCK_OP_CONNECT,             /* addr, port; arg0: TP_SOCK_CONNECT_*; arg1: filler bytes */
    TP_SOCK_OP_SHUTDOWN,            /* arg0: SHUT_RD, SHUT_WR, SHUT_RDWR */
    TP_SOCK_OP_GETSOCKNAME,
    TP_SOCK_OP_GETPEERNAME,
    TP_SOCK_OP_GETSOCKOPT,          /* arg0: level, arg1: name */
    TP_SOCK_OP_SETSOCKOPT,          /* arg0: level, arg1: name, arg2: value */
    TP_SOCK_OP_INFO,                /* TCP_INFO */
    TP_SOCK_OP_N
};

/*
 * CONNECT's arg0.  A blocking connect is answered when it completes.  A
 * non-blocking one first probes (answered at once: 0 if the socket can
 * start connecting, else EALREADY, EISCONN, ...), then fills the program's
 * end until it polls not-writable and sends NONBLOCK with the byte count
 * in arg1: the engine discards that many bytes once the connection is
 * established (or failed), and the program sees POLLOUT at that moment,
 * as with the kernel's TCP.
 */
enum {
    TP_SOCK_CONNECT_BLOCK = 0,
    TP_SOCK_CONNECT_NONBLOCK = 1,
    TP_SOCK_CONNECT_PROBE = 2,
};

struct tp_sock_req {
    uint32_t magic;
    uint16_t version;
    uint16_t op;                    /* enum tp_sock_op */
    int32_t arg[3];
    uint32_t addr;                  /* IPv4, host order */
    uint16_t port;
    uint16_t pad;
};

/* TCP_INFO's common fields, as the engine knows them. */
struct tp_sock_info {
    uint8_t state;                  /* enum tapir_tcp_state */
    uint8_t options;                /* TAPIR_TCPI_OPT_* */
    uint8_t snd_wscale, rcv_wscale;
    uint32_t rtt_us, rttvar_us, rto_us;
    uint32_t snd_mss, rcv_mss;
    uint32_t cwnd, ssthresh;        /* bytes */
    uint32_t in_flight, snd_queue, rcv_queue;
    uint32_t snd_wnd, rcv_wnd, retransmits;
    uint64_t total_retrans, bytes_acked, bytes_received;
};

struct tp_sock_rep {
    uint32_t magic;
    uint16_t version;
    uint16_t op;                    /* echoes the request's */
    int32_t err;                    /* 0, or a positive errno */
    int32_t val;                    /* getsockopt's value */
    uint32_t addr;                  /* getsockname, getpeername */
    uint16_t port;
    uint16_t pad;
    struct tp_sock_info info;       /* TP_SOCK_OP_INFO */
};

/* Sent by the engine on a listener's pair with the accepted fd. */
struct tp_sock_accept {
    uint32_t magic;
    uint32_t local_addr, peer_addr;
    uint16_t local_port, peer_port;
};

#endif
