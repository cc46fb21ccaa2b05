/*
 * src/api/proto.h -- the socket protocol between a program (the C API or
 * the preload shim) and the bridge engine (in-process or tapird).
 *
 * Each tapir socket is a Unix stream socket that the engine makes and the
 * program holds: unconnected until connect() or listen(), as a fresh TCP
 * socket is.  At connect() the client connects it to the engine's bridge
 * listener and the engine keeps the accepted end; at listen() the engine
 * makes it a Unix listener, and connects to it one socket per connection
 * that tapir accepts.  Data moves by read/write on these Unix sockets.
 * Control requests travel on a separate SOCK_SEQPACKET connection to the
 * engine's control socket, one fixed-size request and one fixed-size reply
 * per exchange.  A request about a socket carries the program's socket as
 * SCM_RIGHTS: possession of the fd is the proof of ownership, and the
 * engine finds its socket by the fd's inode (or, for an accepted one, by
 * its peer's name).
 * Every integer is in host byte order (both ends run on one host).
 */
#ifndef TP_API_PROTO_H
#define TP_API_PROTO_H

#include <stdint.h>

#define TP_SOCK_MAGIC 0x74617073u      /* "taps" */
#define TP_SOCK_VERSION 2

/*
 * Abstract socket names.  Each starts with TP_SOCK_PEER_PREFIX
 * "<pid>:<engine>:", then:
 *   "f<ino>"      a program's socket made by SOCKET (hex inode); accepted
 *                 sockets inherit their listener's, so one getsockname()
 *                 recognises any tapir socket;
 *   "bridge"      the engine's listener that connect() connects to;
 *   "a<seq>:<addr>:<port>"  (hex) the engine's end of an accepted
 *                 connection: the accepted socket's peer, naming the TCP peer.
 */
#define TP_SOCK_PEER_PREFIX "tapir-sock:"
#define TP_SOCK_BRIDGE "bridge"

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
 * CONNECT's arg0.  A connect() is two requests, so that the program's
 * socket is attached (connected to the bridge) only once tapir has taken
 * the connection in hand, and stays a fresh socket when it refuses.
 *   START_NONBLOCK, START_BLOCK: tapir connects to addr:port.  An error
 *     (EALREADY, EISCONN, ENETUNREACH, ...) leaves the socket as it was.
 *     NONBLOCK is answered at once (0); BLOCK when the connection is
 *     established (0) or failed (its errno: the socket is fresh again, as
 *     Linux's is after a failed connect, and can connect again).
 *   ATTACH: the client has connected its socket to the bridge and, for a
 *     non-blocking connect, filled it until it polls not-writable (arg1:
 *     the byte count); the engine takes the bridge's end, and discards the
 *     filler once the connection is established (or failed), so that the
 *     program sees POLLOUT at that moment, as with the kernel's TCP.
 *     Answered EINPROGRESS (arg2 0: non-blocking) or 0 (arg2 1: after a
 *     blocking START said 0).
 */
enum {
    TP_SOCK_CONNECT_START_BLOCK = 0,
    TP_SOCK_CONNECT_START_NONBLOCK = 1,
    TP_SOCK_CONNECT_ATTACH = 2,
};

/* START's reply val: a non-blocking connect completed since the last
 * connect(), which therefore returns 0 (later ones: EISCONN). */
#define TP_SOCK_CONNECT_DONE 1

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
    uint16_t flags;                 /* getsockopt: TP_SOCK_REP_SET */
    struct tp_sock_info info;       /* TP_SOCK_OP_INFO */
};

/* getsockopt's reply flag: the program set this option itself. */
#define TP_SOCK_REP_SET 1

/*
 * The options the engine remembers as set by the program, so that a
 * socket handed to the kernel (loopback) keeps them: bit i of the value
 * GETSOCKOPT at level TP_SOCK_LEVEL_SET answers is entry i.  X(level, name);
 * expand where <sys/socket.h> and <netinet/tcp.h> are included.
 */
#define TP_SOCK_LEVEL_SET (-1)
#define TP_SOCK_CARRIED(X)                                                      \
    X(SOL_SOCKET, SO_REUSEADDR) X(SOL_SOCKET, SO_KEEPALIVE) X(SOL_SOCKET, SO_RCVBUF)     \
    X(SOL_SOCKET, SO_SNDBUF) X(SOL_SOCKET, SO_LINGER) X(IPPROTO_TCP, TCP_NODELAY)    \
    X(IPPROTO_TCP, TCP_MAXSEG) X(IPPROTO_TCP, TCP_KEEPIDLE) X(IPPROTO_TCP, TCP_KEEPINTVL) \
    X(IPPROTO_TCP, TCP_KEEPCNT) X(IPPROTO_TCP, TCP_USER_TIMEOUT) X(SOL_SOCKET, SO_REUSEPORT)

#endif
