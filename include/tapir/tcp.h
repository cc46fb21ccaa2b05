/*
 * tapir/tcp.h -- TCP configuration and the core's non-blocking socket API.
 *
 * Sockets are named by handles (int >= 0) that encode a slot and a
 * generation, so a stale handle yields -EBADF and never a recycled
 * connection.  Every call returns 0 (or a count) or a negative errno.  Calls
 * never block and never call back into the application: after
 * tapir_stack_input() or tapir_stack_poll() returns, the caller drains
 * tapir_tcp_next_event() to learn which sockets changed.
 */
#ifndef TAPIR_TCP_H
#define TAPIR_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapir/time.h"

struct tapir_stack;

/* Congestion control (TAPIR_TCP_CONGESTION, cfg.tcp.cc). */
enum tapir_tcp_cc {
    TAPIR_TCP_CC_NEWRENO,           /* RFC 5681 + RFC 6582, ABC (RFC 3465) */
    TAPIR_TCP_CC_CUBIC,             /* RFC 9438, with HyStart++ (RFC 9406) */
    TAPIR_TCP_CC_COUNT
};

/* What happens to a congestion window the sender is not using
 * (cfg.tcp.cwv). */
enum tapir_tcp_cwv {
    /* RFC 7661 (zero, the default): an application-limited sender keeps
     * its window for the non-validated period (5 minutes) without growing
     * it, answers a loss in that period from what it really used, and
     * halves the window when the period runs out. */
    TAPIR_TCP_CWV_RFC7661,
    /* RFC 5681 4.1: after an idle period longer than the RTO, restart from
     * min(IW, cwnd) (FreeBSD's and Linux's default). */
    TAPIR_TCP_CWV_RESTART,
    /* Neither: keep the window however long the sender pauses. */
    TAPIR_TCP_CWV_OFF,
    TAPIR_TCP_CWV_COUNT
};

/* Explicit Congestion Notification, RFC 3168 (cfg.tcp.ecn). */
enum tapir_tcp_ecn {
    TAPIR_TCP_ECN_OFF,              /* never (zero, the default) */
    TAPIR_TCP_ECN_ON,               /* ask for it on our SYNs, and accept it */
    TAPIR_TCP_ECN_PASSIVE,          /* accept a peer's request only */
};

struct tapir_tcp_config {
    uint32_t max_socks;             /* connections + listeners, all states */
    /* Default buffers, bytes; tapir_config_default() gives 1 MB each: a
     * bandwidth-delay product of 10 Gbit/s x 0.8 ms or 1 Gbit/s x 8 ms, so
     * one connection can fill a LAN path (the receive window needs window
     * scaling past 64 KB: shift 5 for 1 MB).  A connection's buffers are
     * allocated when it is established, so memory is bounded by
     * max_socks x (sndbuf + rcvbuf) (2 GB for 1024 sockets) but a ring's
     * pages are only touched as data passes through it.  Lower them for
     * many connections; SO_SNDBUF/SO_RCVBUF change them per socket. */
    uint32_t sndbuf;
    uint32_t rcvbuf;
    uint32_t reass_max_bytes;       /* cap on out-of-order data held per connection */
    uint32_t msl_ms;                /* maximum segment lifetime; TIME-WAIT is 2x */
    uint32_t rto_initial_ms;        /* RFC 6298 (2.1): 1 s */
    uint32_t rto_min_ms;            /* RFC 6298 (2.4): 1 s; Linux uses 200 ms */
    uint32_t rto_max_ms;            /* RFC 6298 (2.5): at least 60 s */
    uint32_t syn_retries;           /* SYN retransmissions before ETIMEDOUT */
    uint32_t r1;                    /* RFC 9293 3.8.3: retransmissions before advice */
    uint32_t r2;                    /* retransmissions before giving up */
    uint32_t challenge_ack_per_sec; /* RFC 5961 7: rate limit */
    uint16_t ephemeral_lo;          /* RFC 6056 range */
    uint16_t ephemeral_hi;
    /* Keepalive defaults for new sockets (RFC 9293 3.8.4; TCP_KEEPIDLE,
     * TCP_KEEPINTVL, TCP_KEEPCNT change them per socket).  0: 7200 s,
     * 75 s and 9 probes (Linux's; FreeBSD counts 8). */
    uint32_t keepidle_s;
    uint32_t keepintvl_s;
    uint32_t keepcnt;
    /* Older behaviours some peers and test suites expect; each is off by
     * default, which is the RFC behaviour (docs/conformance.md maps them
     * to FreeBSD's sysctls). */
    bool rst_in_window;             /* RFC 5961 3.2 off: any in-window RST resets (RFC 793) */
    bool syn_in_window;             /* RFC 5961 4.2 off: an in-window SYN resets (RFC 793) */
    bool synfin_as_syn;             /* take SYN+FIN as a SYN (its FIN ignored); else dropped */
    bool icmp_soft_only;            /* ICMP errors never abort a SYN-SENT connection */
    /* RFC 3168: negotiated on the handshake; then data is sent ECT(0), a
     * CE mark is echoed with ECE until the sender's CWR, and an ECE halves
     * cwnd at most once per window. */
    enum tapir_tcp_ecn ecn;
    /* SYN retransmissions that still ask for ECN; later ones do not, in
     * case a middlebox drops ECN-setup SYNs (6.1.1.1).  Default 1. */
    uint32_t ecn_syn_retries;
    /* Extensions, each offered on our SYNs and accepted on the peer's when
     * on (tapir_config_default() turns them all on); off, the stack
     * behaves as if it had never heard of them. */
    bool wscale;                    /* RFC 7323 2: window scaling */
    bool timestamps;                /* RFC 7323 3: timestamps (RTTM, PAWS) */
    bool sack;                      /* RFC 2018: selective acknowledgments */
    bool rack;                      /* RFC 8985 RACK-TLP loss detection (with SACK) */
    enum tapir_tcp_cc cc;           /* default for new sockets: NewReno (zero) */
    uint32_t delack_ms;             /* delayed ACK timer (RFC 9293 MUST-58: < 500); 0: 40 */
    enum tapir_tcp_cwv cwv;         /* congestion window validation: RFC 7661 (zero) */
    /* The window scale we offer is the smallest whose largest window
     * reaches max(receive buffer, wscale_bytes) (RFC 7323 2.2 leaves the
     * choice to us).  0 (the default): the connection's receive buffer
     * alone.  FreeBSD derives its scale from its largest socket buffer
     * (kern.ipc.maxsockbuf, 2 MB: scale 6), so that a buffer grown later
     * can still be advertised whole. */
    uint32_t wscale_bytes;
    /* Round both buffers of a connection up to a whole number of segments
     * once the peer's SYN fixes the MSS (as FreeBSD does: 65536 -> 65700
     * for MSS 1460).  Off by default; SO_RCVBUF/SO_SNDBUF then report the
     * rounded sizes. */
    bool buf_round_mss;
    /* Receiver SWS avoidance (RFC 9293 3.8.6.2.2, MUST-39).  false (the
     * default): RFC 1122 4.2.3.3's algorithm, the right edge moves only by
     * min(buffer / 2, MSS) or more.  true: the window offered is all the
     * free space unless that is below both a quarter of the buffer and one
     * MSS (then the window already offered stands), and a scaled window is
     * rounded up to the scale's unit rather than down (FreeBSD's choice). */
    bool rcv_wnd_free_space;
    /* While our FIN is sent and not yet acknowledged (FIN-WAIT-1, CLOSING,
     * LAST-ACK), a segment that only acknowledges repeats the FIN: SEQ is
     * the FIN's and the FIN flag is set, a retransmission of it (FreeBSD's
     * choice).  Off by default: a bare ACK with SEQ = SND.NXT (RFC 9293
     * 3.10.7.4).  Challenge ACKs (RFC 5961) stay bare either way. */
    bool ack_repeats_fin;
    /* An acceptable RST in CLOSING or LAST-ACK leaves ECONNRESET for the
     * application as in the other synchronized states (FreeBSD's choice).
     * Off by default: the connection closes without an error, as RFC 9293
     * 3.10.7.4 says for these states. */
    bool rst_error_after_fin;
    /* From the third SYN retransmission on, offer only the MSS (no window
     * scale, timestamps or SACK-permitted), in case a middlebox drops SYNs
     * carrying them.  Off by default (FreeBSD's rexmit_drop_options). */
    bool syn_rtx_drop_options;
    /* A SYN for a connection in TIME-WAIT never reopens it: it gets RFC
     * 5961 4.2's challenge ACK as in the other synchronized states.  Off
     * by default: a SYN beyond RCV.NXT ends the TIME-WAIT connection and
     * goes to the listener (RFC 6191, RFC 1122 4.2.2.13; FreeBSD does the
     * same).  The FreeBSD suite's STANDARD branch expects it on. */
    bool tw_syn_challenge;
    /* A segment lying wholly before RCV.NXT still has its ACK field
     * processed before the duplicate ACK answers it (BSD's practice: a
     * retransmitted FIN may carry the ACK of ours).  Off by default: RFC
     * 9293 3.10.7.4 drops an unacceptable segment after the answer. */
    bool old_segment_ack;
    /* A SYN,ACK arriving at a listener is dropped without a reply (FreeBSD's
     * choice).  Off by default: it gets <SEQ=SEG.ACK><CTL=RST> like any
     * ACK-bearing segment there (RFC 9293 3.10.7.2, a lowercase "should"). */
    bool listen_synack_silent;
};

enum tapir_tcp_state {
    TAPIR_TCP_CLOSED,
    TAPIR_TCP_LISTEN,
    TAPIR_TCP_SYN_SENT,
    TAPIR_TCP_SYN_RECEIVED,
    TAPIR_TCP_ESTABLISHED,
    TAPIR_TCP_FIN_WAIT_1,
    TAPIR_TCP_FIN_WAIT_2,
    TAPIR_TCP_CLOSE_WAIT,
    TAPIR_TCP_CLOSING,
    TAPIR_TCP_LAST_ACK,
    TAPIR_TCP_TIME_WAIT,
    TAPIR_TCP_NSTATES
};

/* "ESTABLISHED", "SYN-SENT", ...; never NULL. */
const char *tapir_tcp_state_name(enum tapir_tcp_state s);

/* An IPv4 address and port, both in host byte order. */
struct tapir_sockaddr {
    uint32_t addr;
    uint16_t port;
};

/*
 * The stack's notion of "now" is the time given to the latest
 * tapir_stack_input() or tapir_stack_poll(); socket calls use it (ISNs,
 * timers) and never transmit themselves: call tapir_stack_poll() after them
 * to send what they queued.
 */

/* A new socket, in CLOSED.  Returns its handle, or -ENOBUFS (table full). */
int tapir_tcp_socket(struct tapir_stack *st);

/* Bind to local (addr 0: the stack's address; port 0: an ephemeral port).
 * -EADDRINUSE, -EINVAL (already bound, or an address not ours), -EBADF. */
int tapir_tcp_bind(struct tapir_stack *st, int s, struct tapir_sockaddr local);

/* Passive open (RFC 9293 3.10.1).  backlog bounds the SYN and accept queues
 * (at least 1).  Binds an ephemeral port if unbound.  -EINVAL if not CLOSED. */
int tapir_tcp_listen(struct tapir_stack *st, int s, int backlog);

/* Take one established connection from a listener's accept queue.  Returns
 * its handle and fills *peer (may be NULL), or -EAGAIN, -EINVAL (not
 * listening), -EBADF. */
int tapir_tcp_accept(struct tapir_stack *st, int s, struct tapir_sockaddr *peer);

/* Active open.  Returns -EINPROGRESS: TAPIR_EV_WRITABLE (connected) or
 * TAPIR_EV_ERROR (see tapir_tcp_error()) tells the outcome.  -EISCONN,
 * -EALREADY, -EADDRNOTAVAIL (no ephemeral port), -ENETUNREACH, -EBADF. */
int tapir_tcp_connect(struct tapir_stack *st, int s, struct tapir_sockaddr remote);

enum {
    TAPIR_MSG_PEEK = 0x1,           /* recv: leave the data in the buffer */
    TAPIR_MSG_MORE = 0x2,           /* send: more follows, hold a partial segment */
};

/* Queue up to len bytes of buf (borrowed) for sending.  Returns the count
 * taken (maybe less than len), or -EAGAIN (buffer full), -ENOTCONN, -EPIPE
 * (shut down for writing or closed by the peer's RST), the pending error. */
long tapir_tcp_send(struct tapir_stack *st, int s, const void *buf, size_t len,
    unsigned flags);

/* Copy up to len received bytes into buf.  Returns the count, 0 at the
 * end of the stream (peer's FIN, or shut down for reading), -EAGAIN,
 * -ENOTCONN, -ECONNRESET or the pending error. */
long tapir_tcp_recv(struct tapir_stack *st, int s, void *buf, size_t len, unsigned flags);

enum {
    TAPIR_SHUT_RD = 0,
    TAPIR_SHUT_WR = 1,
    TAPIR_SHUT_RDWR = 2,
};

/* Half-close (SHUT_WR sends FIN after the queued data), stop reading, or
 * both.  -ENOTCONN, -EINVAL, -EBADF. */
int tapir_tcp_shutdown(struct tapir_stack *st, int s, int how);

/* Close: the handle is released now.  The connection goes on closing
 * gracefully (FIN after queued data, TIME-WAIT) under the stack's care; if
 * received data was left unread it is reset instead (RFC 9293 3.10.4 and
 * RFC 2525 2.17).  A listener's queued connections are reset. */
int tapir_tcp_close(struct tapir_stack *st, int s);

/* Abort: send RST if synchronized, release the handle (RFC 9293 3.10.5). */
int tapir_tcp_abort(struct tapir_stack *st, int s);

enum tapir_tcp_opt {
    TAPIR_SO_REUSEADDR,             /* bool: bind over TIME-WAIT connections */
    TAPIR_SO_RCVBUF,                /* bytes; set before connect/listen */
    TAPIR_SO_SNDBUF,                /* bytes */
    TAPIR_SO_KEEPALIVE,             /* bool */
    TAPIR_SO_LINGER_ZERO,           /* bool: close() aborts with RST */
    TAPIR_TCP_NODELAY,              /* bool: disable Nagle (MUST-17) */
    TAPIR_TCP_MAXSEG,               /* bytes: cap our MSS */
    TAPIR_TCP_KEEPIDLE,             /* seconds */
    TAPIR_TCP_KEEPINTVL,            /* seconds */
    TAPIR_TCP_KEEPCNT,              /* probes */
    TAPIR_TCP_USER_TIMEOUT,         /* ms: R2 as a time (MUST-21); 0: default */
    TAPIR_TCP_CONGESTION,           /* enum tapir_tcp_cc; before or after connect */
    TAPIR_IP_TOS,                   /* 0..255: the IPv4 TOS byte we send; its ECN bits are TCP's */
    TAPIR_IP_TTL,                   /* 1..255, or -1 for the stack's (cfg.ttl) */
    TAPIR_TCP_NOPTS
};

/* -ENOPROTOOPT for an unknown option, -EINVAL for a bad value, -EBADF. */
int tapir_tcp_setsockopt(struct tapir_stack *st, int s, enum tapir_tcp_opt opt, int value);
int tapir_tcp_getsockopt(struct tapir_stack *st, int s, enum tapir_tcp_opt opt, int *value);

int tapir_tcp_getsockname(struct tapir_stack *st, int s, struct tapir_sockaddr *out);
/* -ENOTCONN before a connection exists. */
int tapir_tcp_getpeername(struct tapir_stack *st, int s, struct tapir_sockaddr *out);

/* The pending error as a negative errno, cleared by the call (SO_ERROR); 0
 * if none: -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT, -EHOSTUNREACH, ... */
int tapir_tcp_error(struct tapir_stack *st, int s);

enum {
    TAPIR_EV_READABLE = 0x01,       /* data, end of stream, or a connection to accept */
    TAPIR_EV_WRITABLE = 0x02,       /* connected and send buffer space */
    TAPIR_EV_ERROR = 0x04,          /* a pending error (tapir_tcp_error) */
    TAPIR_EV_HUP = 0x08,            /* both directions finished, or reset */
    TAPIR_EV_RDHUP = 0x10,          /* the peer sent FIN */
};

/* Current readiness of s as TAPIR_EV_* bits (level-triggered), or -EBADF. */
int tapir_tcp_readiness(struct tapir_stack *st, int s);

struct tapir_tcp_event {
    int sock;
    unsigned events;                /* TAPIR_EV_* that changed since last drained */
};

/* Take the next socket with news; false when there is none.  Drain after
 * tapir_stack_input()/tapir_stack_poll() and after socket calls.  A socket
 * with several changes is reported once, with the bits or-ed. */
bool tapir_tcp_next_event(struct tapir_stack *st, struct tapir_tcp_event *ev);

enum {
    TAPIR_TCPI_OPT_TIMESTAMPS = 0x1,
    TAPIR_TCPI_OPT_SACK = 0x2,
    TAPIR_TCPI_OPT_WSCALE = 0x4,
    TAPIR_TCPI_OPT_ECN = 0x8,       /* RFC 3168 negotiated */
};

struct tapir_tcp_info {
    int sock;                       /* handle, or -1 for an orphan (closed by the app) */
    enum tapir_tcp_state state;
    struct tapir_sockaddr local;
    struct tapir_sockaddr remote;
    uint32_t options;               /* TAPIR_TCPI_OPT_* negotiated */
    uint8_t snd_wscale;
    uint8_t rcv_wscale;
    uint32_t rtt_us;                /* smoothed RTT (SRTT) */
    uint32_t rttvar_us;
    uint32_t rto_us;
    uint32_t snd_mss;
    uint32_t rcv_mss;
    uint32_t cwnd;                  /* bytes */
    uint32_t ssthresh;              /* bytes */
    uint32_t bytes_in_flight;       /* SND.NXT - SND.UNA */
    uint32_t snd_queue;             /* bytes in the send buffer, sent or not */
    uint32_t rcv_queue;             /* bytes received, not yet read */
    uint32_t snd_wnd;               /* peer's window, scaled */
    uint32_t rcv_wnd;               /* ours, scaled */
    uint32_t retransmits;           /* consecutive, for the current segment */
    uint64_t total_retrans;
    uint64_t bytes_acked;           /* data bytes acknowledged (not SYN or FIN) */
    uint64_t bytes_received;
};

/* Fill *out for socket s.  -EBADF. */
int tapir_tcp_info(struct tapir_stack *st, int s, struct tapir_tcp_info *out);

/* Fill out[0..cap) with every connection and listener, orphans included;
 * returns how many exist (may exceed cap). */
size_t tapir_tcp_snapshot(struct tapir_stack *st, struct tapir_tcp_info *out, size_t cap);

#endif
