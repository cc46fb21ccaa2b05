/*
 * src/core/tcp_int.h -- what the tcp_*.c files share: the control block
 * (RFC 9293 3.3.1 names), the module state hung on st->tcp, and the
 * functions one TCP file calls in another.  Nothing outside src/core/tcp*.c
 * (and the TCP unit tests) includes this.
 *
 * Memory: the TCB array, the hash tables and the timer heap are allocated
 * by tp_tcp_init() for cfg.tcp.max_socks sockets.  A connection's send and
 * receive rings are allocated when it needs them -- at connect(), or when
 * a passive handshake completes (the final ACK; an embryo in the SYN queue
 * holds no buffers) -- and freed with the TCB.  So the total is bounded by
 * max_socks x (sndbuf + rcvbuf); the one allocation made during input is
 * counted (TapirTcpBufAllocs) and a failure is a counted drop
 * (TapirTcpNoMem).  Out-of-order data lives in the receive ring, so
 * reassembly allocates nothing.  The SACK scoreboard (tcp_sack.c) and the
 * congestion-control state (tcp_cc.h) are fixed-size fields of the TCB;
 * RACK's per-segment records (tcp_rack.c) are one array allocated with the
 * send ring (sndbuf / 512 + 16 entries, merged when full): no option or SACK
 * block a peer sends can make memory grow.  Defaults
 * and the reasoning for 1 MB buffers: include/tapir/tcp.h.
 */
#ifndef TP_CORE_TCP_INT_H
#define TP_CORE_TCP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/stack_int.h"
#include "core/tcp_cc.h"
#include "core/seq.h"
#include "tapir/tcp.h"
#include "wire/bytes.h"
#include "wire/tcphdr.h"

#define TP_TCP_NONE UINT32_MAX      /* "no index" in intrusive links */
#define TP_TCP_HANDLE_IDX_BITS 20   /* handle = gen << 20 | index (max_socks <= 2^20) */
#define TP_TCP_REASS_MAX_BLOCKS 32  /* holes tracked per connection */
#define TP_TCP_SACK_MAX_BLOCKS 8    /* SACKed ranges the sender remembers */
#define TP_TCP_MSS_MIN 64           /* clamp for absurd peer MSS values */
#define TP_TCP_MSS_DEFAULT 536      /* RFC 9293 3.7.1, MUST-15 */
#define TP_TCP_DELACK_MS 40         /* delayed ACK timer (issue 4 refines) */
#define TP_TCP_PERSIST_MIN_MS 200
#define TP_TCP_SYN_RTX_BARE 3         /* cfg.tcp.syn_rtx_drop_options: from this retransmission */
#define TP_TCP_OOW_ACK_MS 500      /* out-of-window ACK rate limit (Linux's default) */

/* One transmitted segment, for RACK (tcp_rack.c): the sequence space
 * [seq, end) (a FIN counts), its latest transmission, REC_* flags. */
struct tp_seg_rec {
    uint32_t seq, end;
    int64_t xmit_us;
    uint32_t xmit_n;                /* transmission order: breaks ties of xmit_us */
    uint8_t flags;
};

/* RFC 8985 6.1 and 7 state (tcp_rack.c). */
struct tp_rack {
    int64_t xmit_us;                /* RACK.xmit_ts */
    uint32_t xmit_n;                /* in place of RACK.end_seq: see sent_after() */
    uint32_t n_sent;                /* transmissions so far (wraps) */
    int64_t rtt_us;                 /* RACK.rtt */
    int64_t min_rtt_us;             /* 0: no sample yet */
    uint32_t fack;                  /* RACK.fack */
    bool valid, fack_valid;
    bool reordering_seen;           /* RACK.reordering_seen */
    bool tlp_in_flight;             /* a probe's episode (TLP.end_seq set) */
    bool tlp_is_retrans;
    bool dsack_seen;                /* a D-SACK arrived during the episode */
    uint32_t tlp_end;               /* TLP.end_seq */
    /* RFC 8985 6.2 step 4: the reordering window grows with D-SACKs. */
    bool dsack_on_ack;              /* the ACK being processed carried a D-SACK */
    bool dsack_round_valid;
    uint32_t dsack_round;           /* RACK.dsack_round */
    uint8_t reo_wnd_mult;           /* RACK.reo_wnd_mult, 1 from tp_rack_alloc() */
    uint8_t reo_wnd_persist;        /* RACK.reo_wnd_persist */
    bool was_in_recovery;           /* to see recovery end */
};

/* A byte ring of fixed capacity (tcp_buf.c). */
struct tp_ring {
    uint8_t *buf;                   /* owned; cap bytes */
    uint32_t cap;
    uint32_t head;                  /* offset of the first byte */
    uint32_t len;                   /* bytes held from head */
};

/* Out-of-order data: the bytes sit in the receive ring at their offset
 * from RCV.NXT; these blocks say which ranges are present (tcp_reass.c). */
struct tp_reass {
    uint8_t n;
    struct tp_sack_block blk[TP_TCP_REASS_MAX_BLOCKS];     /* sorted, disjoint */
    uint32_t last_seq;              /* start of the latest segment held: SACK's first block */
    bool has_fin;                   /* a FIN arrived beyond a hole */
    uint32_t fin_seq;
};

struct tp_tcb {
    struct tapir_stack *st;
    uint32_t index;
    uint32_t gen;                   /* bumped on free: stale handles fail */
    bool in_use;
    bool has_handle;                /* false: an orphan, closed by the app */
    bool bound;                     /* on the port hash */
    bool hashed;                    /* on the connection hash */
    enum tapir_tcp_state state;

    uint32_t laddr, raddr;          /* host order */
    uint16_t lport, rport;

    /* RFC 9293 3.3.1 send sequence variables. */
    uint32_t iss;
    uint32_t snd_una;
    uint32_t snd_nxt;
    uint32_t snd_max;               /* highest SND.NXT so far: below it is a retransmission */
    uint32_t snd_wnd;
    uint32_t snd_wl1;
    uint32_t snd_wl2;
    uint32_t max_snd_wnd;           /* RFC 5961 5.2 MAX.SND.WND */
    uint32_t snd_buf_seq;           /* sequence number of the first byte in snd */
    uint16_t snd_mss;               /* min(peer's MSS, our MTU - 40) */
    uint16_t rcv_mss;               /* the MSS we advertise */
    enum tp_cc_algo cc;             /* tcp_cc.h */
    uint32_t cwnd;                  /* bytes */
    uint32_t ssthresh;
    struct tp_cc_state ccs;
    struct tapir_time last_send;    /* latest data sent: restart after idle */
    uint8_t n_dupacks;

    /* RFC 7323 and RFC 2018, decided by the SYN exchange (tcp_opts.c).
     * Before it, opt_* say what we offer; after, what both sides agreed. */
    bool opt_wscale, opt_ts, opt_sack;
    uint8_t snd_wscale;             /* the peer's shift: applies to SEG.WND */
    uint8_t rcv_wscale;             /* ours: applies to the windows we send */
    bool ts_recent_valid;
    uint32_t ts_recent;             /* RFC 7323 4.3 TS.Recent */
    struct tapir_time ts_recent_at; /* when TS.Recent was set (PAWS 24-day rule) */
    uint32_t ts_offset;             /* per-connection random TSval offset (RFC 7323 5.4) */
    uint32_t last_ack_sent;         /* RFC 7323 4.3 Last.ACK.sent */
    bool dsack_pending;             /* RFC 2883: report a duplicate in the next ACK */
    struct tp_sack_block dsack;

    /* Loss recovery (tcp_sack.c): the SACK scoreboard (RFC 6675), and
     * fast recovery with or without it (RFC 6675, RFC 6582). */
    struct tp_sack_block sacked[TP_TCP_SACK_MAX_BLOCKS];   /* sorted, disjoint, above SND.UNA */
    uint8_t n_sacked;
    bool in_recovery;
    uint32_t recover;               /* RecoveryPoint (6675) / recover (6582) */
    uint32_t high_rxt;              /* HighRxt: end of the latest retransmission */
    uint32_t rescue_rxt;            /* RescueRxt (RFC 6675 4 rule 4) */
    bool rescue_valid;              /* false: RescueRxt undefined */
    bool rtx_force;                 /* RACK mode: first rule (1) resend ignores cwnd */
    /* RACK-TLP (tcp_rack.c): segment records from SND.UNA, in SEQ order,
     * recs[rec_head .. rec_head + rec_n) of rec_cap (owned). */
    struct tp_seg_rec *recs;
    uint32_t rec_cap, rec_head, rec_n;
    uint32_t rec_n_marked;          /* records SACKED or LOST */
    uint32_t rec_n_lost;            /* records LOST and not SACKED */
    struct tp_rack rack;
    struct tapir_time rack_at;      /* reordering timer or probe timeout */
    bool rack_reo;                  /* rack_at is the reordering timer */
    bool tlp_now, tlp_new;          /* send a probe: new data or the last segment */

    /* Receive sequence variables. */
    uint32_t irs;
    uint32_t rcv_nxt;
    uint32_t rcv_adv;               /* right edge last advertised: never moves left */

    struct tp_ring snd;
    struct tp_ring rcv;
    uint32_t sndbuf_cap, rcvbuf_cap;
    struct tp_reass reass;

    /* What the app asked for, and what the peer did. */
    bool fin_queued;                /* shutdown(WR) or close: FIN after the data */
    bool rd_shut;                   /* shutdown(RD) */
    bool fin_rcvd;                  /* peer's FIN delivered: end of stream */
    bool from_listen;               /* SYN-RECEIVED origin (MUST-11) */
    bool ack_now;                   /* send an ACK on the next output */
    bool persist;                   /* the rtx timer is the persist timer */
    uint32_t n_probes_unanswered;   /* zero-window probes with no ACK since */
    bool probe_now;                 /* send one byte into a zero window */
    bool rtx_once;                  /* fast retransmit: resend one segment at SND.UNA */
    bool keep_probe;                /* send a keepalive probe (SEQ = SND.UNA - 1) */
    bool out_queued;                /* on the stack's output list */
    uint32_t out_next;
    uint8_t n_unacked_segs;         /* full segments received since our last ACK */
    struct tapir_time last_oow_ack; /* last ACK sent for an unacceptable bare segment */
    int err;                        /* pending error (negative errno), SO_ERROR */
    int soft_err;                   /* last ICMP soft error, reported on timeout */

    /* RFC 6298: microseconds. */
    int64_t srtt_us, rttvar_us, rto_us;
    bool rtt_valid;                 /* a first sample was taken */
    bool rtt_timing;                /* rtt_seq is being timed (Karn: not retransmitted) */
    uint32_t rtt_seq;
    struct tapir_time rtt_start;
    uint32_t n_rtx;                 /* consecutive retransmissions, reset by new ACKs */
    struct tapir_time rtx_since;    /* when the segment now retransmitted was first sent */
    uint64_t total_retrans;
    uint64_t bytes_acked, bytes_received;

    /* Deadlines; TAPIR_TIME_NEVER when off.  timer_at is their minimum and
     * the key of the stack's heap. */
    struct tapir_time rtx_at;       /* retransmission, or persist */
    struct tapir_time delack_at;
    struct tapir_time tw_at;        /* TIME-WAIT 2xMSL, orphan FIN-WAIT-2, SYN-RECEIVED */
    struct tapir_time keep_at;
    struct tapir_time timer_at;
    uint32_t heap_pos;              /* TP_TCP_NONE: not in the heap */

    /* Socket options. */
    bool nodelay, keepalive, linger0, reuseaddr;
    uint8_t ip_tos, ip_ttl;         /* IP_TOS, IP_TTL for our segments; ttl 0: the stack's */

    /* RFC 3168 (tcp_input.c, tcp_output.c). */
    bool ecn_syn;                   /* our latest SYN asked for ECN */
    bool ecn_ok;                    /* negotiated */
    bool ecn_ece;                   /* receiver: echo ECE until the peer's CWR */
    bool ecn_cwr;                   /* sender: CWR on the next new data */
    uint32_t ecn_recover;           /* sender: no new reduction before SND.UNA passes it */
    uint32_t maxseg, keepidle_s, keepintvl_s, keepcnt, user_timeout_ms;
    uint32_t n_keep_probes;

    /* Listener: the SYN queue and the accept queue (children link through
     * acc_next); a child points back with parent. */
    uint32_t parent;
    uint32_t backlog;
    uint32_t n_synq, n_acceptq;
    uint32_t acc_head, acc_tail, acc_next;
    uint32_t syn_head;              /* listener: its SYN-RECEIVED children ... */
    uint32_t syn_prev, syn_next;    /* ... linked through these */
    bool in_acceptq;

    /* Events for the app: bits since the last drain; ev_prev/ev_next link
     * the stack's ready list. */
    unsigned ev_pending;
    bool ev_queued;
    uint32_t ev_prev, ev_next;

    uint32_t conn_next;             /* connection hash chain */
    uint32_t port_next;             /* port hash chain */
    uint32_t free_next;             /* free list */
};

struct tp_tcp {
    struct tp_tcb *tcbs;            /* owned; max_socks */
    uint32_t n_tcbs;
    uint32_t n_used;
    uint32_t free_head;
    uint32_t *conn_hash;            /* owned; buckets of 4-tuples */
    uint32_t *port_hash;            /* owned; buckets of bound local ports */
    uint32_t hash_mask;
    uint32_t *heap;                 /* owned; TCB indices ordered by timer_at */
    uint32_t heap_len;
    uint32_t ev_head, ev_tail;      /* ready list */
    uint32_t out_head;              /* TCBs with output queued by socket calls */
    uint64_t isn_key[2];            /* RFC 6528 secret */
    uint64_t port_key[2];           /* RFC 6056 secret */
    uint16_t port_next_ctr;         /* RFC 6056 algorithm 3's "next_ephemeral" */
    struct tp_ratelimit challenge_rl;
    struct tapir_time now;          /* last time given to input or poll */
    bool isn_forced;                /* tests only: the next ISN is isn_next */
    uint32_t isn_next;
};

/* tcp_subr.c */
const char *tp_tcp_state_str(enum tapir_tcp_state s);
void tp_tcb_set_state(struct tp_tcb *tcb, enum tapir_tcp_state to);
struct tp_tcb *tp_tcb_alloc(struct tapir_stack *st);
void tp_tcb_free(struct tp_tcb *tcb);
struct tp_tcb *tp_tcb_at(struct tapir_stack *st, uint32_t idx);
int tp_tcb_handle(const struct tp_tcb *tcb);
struct tp_tcb *tp_tcb_from_handle(struct tapir_stack *st, int h);
uint32_t tp_tcp_isn(struct tapir_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
    uint16_t rport);
uint64_t tp_siphash24(const uint64_t key[2], const uint8_t *msg, size_t len);
int tp_tcb_alloc_bufs(struct tp_tcb *tcb);
void tp_tcb_round_bufs(struct tp_tcb *tcb);
void tp_tcb_notify(struct tp_tcb *tcb, unsigned ev);
void tp_tcb_unnotify(struct tp_tcb *tcb);
/* The connection is over: CLOSED, err (0 or negative errno) kept for the
 * app; an orphan's slot is freed at once. */
void tp_tcb_closed(struct tp_tcb *tcb, int err);
void tp_tcb_init_rto(struct tp_tcb *tcb);
uint16_t tp_tcp_our_mss(const struct tapir_stack *st, const struct tp_tcb *tcb);

/* Take a child off its listener's SYN queue list (O(1)). */
void tp_tcp_synq_unlink(struct tp_tcb *lst, struct tp_tcb *t);

/* tcp_table.c */
int tp_tcp_table_init(struct tapir_stack *st, struct tp_tcp *tcp);
struct tp_tcb *tp_tcp_lookup(struct tapir_stack *st, uint32_t laddr, uint16_t lport,
    uint32_t raddr, uint16_t rport);
struct tp_tcb *tp_tcp_lookup_listener(struct tapir_stack *st, uint32_t laddr, uint16_t lport);
/* A socket bound to lport that neither listens nor connects, or NULL. */
struct tp_tcb *tp_tcp_lookup_bound(struct tapir_stack *st, uint32_t laddr, uint16_t lport);
void tp_tcp_hash_conn(struct tp_tcb *tcb);
void tp_tcp_unhash_conn(struct tp_tcb *tcb);
void tp_tcp_bind_port(struct tp_tcb *tcb);
void tp_tcp_unbind_port(struct tp_tcb *tcb);
bool tp_tcp_port_in_use(struct tapir_stack *st, uint16_t port, bool reuse);
int tp_tcp_pick_port(struct tapir_stack *st, uint32_t raddr, uint16_t rport, uint16_t *out);

/* tcp_buf.c */
int tp_ring_init(struct tp_ring *r, uint32_t cap);
int tp_ring_grow(struct tp_ring *r, uint32_t cap);
void tp_ring_fini(struct tp_ring *r);
uint32_t tp_ring_free(const struct tp_ring *r);
/* Append up to len bytes of src (borrowed); returns how many. */
uint32_t tp_ring_write(struct tp_ring *r, const void *src, uint32_t len);
/* Write len bytes at offset off past the end (off + len <= free space),
 * without making them part of the ring: for out-of-order data. */
void tp_ring_write_at(struct tp_ring *r, uint32_t off, const void *src, uint32_t len);
/* Extend the ring over n bytes already written past its end. */
void tp_ring_extend(struct tp_ring *r, uint32_t n);
uint32_t tp_ring_peek(const struct tp_ring *r, uint32_t off, void *dst, uint32_t len);
void tp_ring_drop(struct tp_ring *r, uint32_t n);
/* Up to two pieces covering [off, off + len) of the ring; returns the count. */
int tp_ring_iov(const struct tp_ring *r, uint32_t off, uint32_t len, struct tapir_iov iov[2]);

/* tcp_reass.c */
void tp_reass_init(struct tp_reass *q);
/* Hold data[0..len) (borrowed), which starts at seq > RCV.NXT (or at
 * RCV.NXT, for the text of a SYN in SYN-RECEIVED) and fits the
 * ring's free space: copied into the ring at its offset and recorded as a
 * block.  Returns false, counted, if no block is left to record it. */
void tp_reass_dsack(struct tp_tcb *tcb, uint32_t seq, uint32_t len);
bool tp_reass_insert(struct tp_tcb *tcb, uint32_t seq, const uint8_t *data, uint32_t len);
/* After in-order data advanced RCV.NXT: blocks that now touch it join the
 * ring; advances RCV.NXT over them and returns how many bytes joined. */
uint32_t tp_reass_pull(struct tp_tcb *tcb);
bool tp_reass_empty(const struct tp_reass *q);

/* tcp_opts.c: RFC 7323 window scaling and timestamps, RFC 2018 SACK. */
#define TP_TCP_WSCALE_MAX 14        /* RFC 7323 2.3 */
#define TP_TCP_PAWS_IDLE_US (24LL * 24 * 3600 * 1000000)   /* RFC 7323 5.5 */
/* Before our SYN: what we will offer, from the stack's configuration. */
void tp_tcp_opts_offer(struct tp_tcb *tcb);
/* On the peer's SYN (or SYN,ACK): keep what both sides offered. */
void tp_tcp_opts_withdraw(struct tp_tcb *tcb);
void tp_tcp_opts_syn(struct tp_tcb *tcb, const struct tp_tcp_opts *peer, struct tapir_time now);
/* The options an outgoing segment with flags carries. */
void tp_tcp_opts_out(struct tp_tcb *tcb, uint8_t flags, struct tp_tcp_opts *o);
/* Our timestamp clock (ms plus the connection's offset). */
uint32_t tp_tcp_ts_now(const struct tp_tcb *tcb, struct tapir_time now);
/* RFC 7323 5.3 R1: true if the segment fails PAWS (counted). */
bool tp_tcp_paws_reject(struct tp_tcb *tcb, const struct tp_tcp_opts *o, uint8_t flags,
    struct tapir_time now);
/* RFC 7323 4.3 (2): after the acceptability test, maybe update TS.Recent. */
void tp_tcp_ts_update(struct tp_tcb *tcb, const struct tp_tcp_opts *o, uint32_t seq,
    struct tapir_time now);
/* The most payload one segment carries: SND.MSS less our options. */
uint32_t tp_tcp_seg_max(const struct tp_tcb *tcb);
/* SEG.WND as bytes (RFC 7323 2.3: never scaled on a SYN). */
uint32_t tp_tcp_seg_wnd(const struct tp_tcb *tcb, uint16_t win, uint8_t flags);

/* Fill o's SACK blocks from the reassembly queue (RFC 2018 4), a pending
 * D-SACK block first (RFC 2883; it is sent once). */
void tp_tcp_sack_out(struct tp_tcb *tcb, struct tp_tcp_opts *o);
/* A duplicate segment [seq, seq + len) arrived: remember it for D-SACK. */
void tp_tcp_dsack_note(struct tp_tcb *tcb, uint32_t seq, uint32_t len);

/* tcp_sack.c: the sender's loss recovery. */
/* Take the SACK blocks of an acceptable ACK into the scoreboard (bad ones
 * counted and ignored); returns true if they SACKed new bytes. */
bool tp_sack_input(struct tp_tcb *tcb, const struct tp_tcp_opts *o);
/* SND.UNA moved: forget what lies below it; leave recovery at the recovery
 * point.  acked is the number of bytes newly acknowledged. */
void tp_recovery_on_ack(struct tp_tcb *tcb, uint32_t acked);
/* A duplicate ACK (counted in n_dupacks) or one with new SACK information. */
void tp_recovery_on_dupack(struct tp_tcb *tcb);
/* An RTO: leave recovery, keep the scoreboard (RFC 6675 5.1). */
void tp_recovery_on_rto(struct tp_tcb *tcb);
/* RFC 6675 SetPipe(): bytes believed in the network. */
uint32_t tp_sack_pipe(const struct tp_tcb *tcb);
/* The bytes cwnd is measured against: pipe in SACK recovery, otherwise
 * SND.NXT - SND.UNA less what was SACKed below SND.NXT. */
uint32_t tp_sack_in_flight(const struct tp_tcb *tcb);
/* Before a segment at SND.NXT below SND.MAX (go-back-N): move SND.NXT past
 * SACKed data; returns how many bytes may go before the next SACKed block
 * (UINT32_MAX: no limit). */
uint32_t tp_sack_skip_sacked(struct tp_tcb *tcb);
/* RFC 6675 NextSeg() rule 1 (lost_only) or rule 3: the next hole above
 * HighRxt to retransmit, at most SMSS. */
bool tp_sack_next_hole(const struct tp_tcb *tcb, bool lost_only, uint32_t *seq, uint32_t *len);
/* RFC 6675 IsLost(seq). */
bool tp_sack_is_lost(const struct tp_tcb *tcb, uint32_t seq);
/* RACK marked a loss: enter recovery unless below the recovery point. */
void tp_recovery_on_loss(struct tp_tcb *tcb);
/* NextSeg() rule 4: the rescue retransmission, once per recovery: up to
 * SMSS ending at the highest unSACKed byte below data_end.  Sets RescueRxt. */
bool tp_sack_rescue(struct tp_tcb *tcb, uint32_t data_end, uint32_t *seq, uint32_t *len);

/* tcp_rack.c: RFC 8985 RACK-TLP (cfg.tcp.rack, with SACK). */
bool tp_rack_active(const struct tp_tcb *tcb);
/* Records, allocated with the send ring; failure leaves RACK off. */
int tp_rack_alloc(struct tp_tcb *tcb);
void tp_rack_free(struct tp_tcb *tcb);
/* n units of sequence space from seq went out at now (new or again). */
void tp_rack_on_send(struct tp_tcb *tcb, uint32_t seq, uint32_t n, struct tapir_time now);
/* After an acceptable ACK and its SACK blocks: RACK update, loss marks,
 * the probe's episode, the RACK deadline. */
void tp_rack_on_ack(struct tp_tcb *tcb, struct tapir_time now);
/* New data went out: restart the probe timeout. */
void tp_rack_after_send(struct tp_tcb *tcb, struct tapir_time now);
/* rack_at passed: reordering timeout, or ask output for a probe. */
void tp_rack_timer(struct tp_tcb *tcb, struct tapir_time now);
/* Output sent the probe (retrans: the last segment again). */
void tp_rack_probe_sent(struct tp_tcb *tcb, bool retrans, struct tapir_time now);
/* An RTO: every unSACKed record is lost. */
void tp_rack_on_rto(struct tp_tcb *tcb);
/* SetPipe() from the records. */
uint32_t tp_rack_pipe(const struct tp_tcb *tcb);
/* NextSeg() rule 1 from the records: the first LOST one below SND.NXT. */
bool tp_rack_next_lost(const struct tp_tcb *tcb, uint32_t *seq, uint32_t *len);
/* Where the last segment sent begins (its record's SEQ). */
uint32_t tp_rack_last_start(const struct tp_tcb *tcb);
/* Entering recovery: the segment at SND.UNA is lost. */
void tp_rack_mark_head_lost(struct tp_tcb *tcb);

/* tcp_output.c */
/* Send whatever tcb has to send at now (data, FIN, ACKs, probes). */
void tp_tcp_output(struct tp_tcb *tcb, struct tapir_time now);
/* Queue tcb for output on the next tapir_stack_poll() (socket calls). */
void tp_tcp_output_later(struct tp_tcb *tcb);
void tp_tcp_send_ack(struct tp_tcb *tcb);
/* SEQ for a segment without data: SND.MAX, within the peer's window. */
uint32_t tp_tcp_ack_seq(const struct tp_tcb *tcb);
/* Send a RST, or RST+ACK, on the given 4-tuple (RFC 9293 3.10.7.1); the IP
 * header takes IP_TOS/IP_TTL from the socket sk (borrowed; NULL: none). */
void tp_tcp_send_rst(struct tapir_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
    uint16_t rport, uint32_t seq, uint32_t ack, bool with_ack, const struct tp_tcb *sk);
void tp_tcp_send_challenge_ack(struct tp_tcb *tcb, struct tapir_time now);
uint32_t tp_tcp_rcv_window(const struct tp_tcb *tcb);

/* tcp_timer.c */
void tp_tcp_timer_update(struct tp_tcb *tcb);
void tp_tcp_timer_remove(struct tp_tcb *tcb);
void tp_tcp_timers_run(struct tapir_stack *st, struct tapir_time now);
struct tapir_time tp_tcp_next_deadline(const struct tapir_stack *st);
void tp_tcp_arm_rtx(struct tp_tcb *tcb, struct tapir_time now);
void tp_tcp_rtt_sample(struct tp_tcb *tcb, int64_t rtt_us);
void tp_tcp_enter_time_wait(struct tp_tcb *tcb, struct tapir_time now);

/* tcp_input.c */
/* Reset a listener's children and the queues (on close). */
void tp_tcp_listener_drop_children(struct tp_tcb *lst);
void tp_tcp_child_established(struct tp_tcb *tcb);

#endif
