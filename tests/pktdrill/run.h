/*
 * tests/pktdrill/run.h -- the runner's state, shared by run*.c.
 *
 * One struct pd_run per script: the stack under test (created lazily, so
 * the sysctl lines at the top can shape its configuration), the virtual
 * clock, the queue of packets the stack transmitted, the script-fd to
 * handle map, and the connection under test with its sequence offsets.
 */
#ifndef PD_RUN_H
#define PD_RUN_H

#include "tapir/stack.h"
#include "tapir/tcp.h"

#include "pd.h"

#define PD_MAX_FDS 16
#define PD_MAX_TS_MAP 64
#define PD_LOCAL_IP 0xc0a80001u      /* 192.168.0.1: the stack under test */
#define PD_REMOTE_IP 0xc0000201u     /* 192.0.2.1: the script's peer */
#define PD_DEFAULT_PORT 8080
#define PD_TIME_BASE_US 1000000      /* virtual time of script time 0 */
#define PD_ANY_WAIT_US 600000000     /* how long a '*' outbound packet is awaited */

/* A packet the stack sent, stamped with the virtual time it left. */
struct pd_sent {
    int64_t t_us;
    size_t len;
    uint8_t *data;
    struct pd_sent *next;
};

struct pd_fd {
    bool used;
    int handle;                     /* -1: dropped by tcpdrop, fd still open */
    bool nonblock;                  /* O_NONBLOCK set with fcntl */
    bool listener;
};

/* The connection under test: script packets carry no addresses. */
struct pd_conn {
    bool known;                     /* ports chosen */
    uint16_t local_port, remote_port;
    bool local_isn_known;
    uint32_t local_off;             /* live seq = script seq + local_off (our side) */
    bool listening;                 /* next inbound SYN starts a new connection */
};

struct pd_ts_map { uint32_t script_val, live_val; };

struct pd_run {
    const struct pd_script *script;
    const struct pd_run_opts *opts;
    char *why;                      /* PD_ERR_LEN bytes: the failure reason */
    const struct pd_event *ev;      /* the event being played */
    enum pd_verdict verdict;

    struct tapir_config cfg;
    struct tapir_stack *st;         /* NULL until the first event that needs it */
    char notes[PD_ERR_LEN];         /* knobs that could not be honoured */

    int64_t now_us;                 /* virtual time since script start */
    int64_t next_poll_us;           /* the stack's next deadline */
    int64_t last_event_us;          /* script time of the previous event */
    int64_t tolerance_us;
    double tolerance_pct;           /* of the gap since the previous event */

    struct pd_sent *sent_head, **sent_tail;
    int nsent;

    struct pd_fd fds[PD_MAX_FDS];
    int last_fd;                    /* the socket under test for %{ }% */
    struct pd_conn conn;
    uint16_t next_remote_port;
    struct pd_ts_map ts[PD_MAX_TS_MAP];
    int nts;
};

/* run.c */
int pd_fail(struct pd_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pd_skip(struct pd_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pd_note(struct pd_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pd_need_stack(struct pd_run *r);
void pd_advance_to(struct pd_run *r, int64_t t_us);
void pd_poll_now(struct pd_run *r);
void pd_trace(struct pd_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* run_packet.c */
int pd_inject(struct pd_run *r, const struct pd_packet *p);
/* Match the next sent packet against p, expected in [lo_us, hi_us] (script
 * time).  Sets *at_us to when it was sent. */
int pd_expect(struct pd_run *r, const struct pd_packet *p, int64_t lo_us, int64_t hi_us,
    int64_t *at_us);
void pd_sent_free_all(struct pd_run *r);

/* run_syscall.c */
int pd_syscall(struct pd_run *r, const struct pd_syscall *sc, int64_t end_us);
/* Resolve a symbol (errno names, constants) to its value; false if unknown. */
bool pd_symbol(const char *name, long long *out);

/* run_cmd.c */
void pd_bsd_profile(struct tapir_config *cfg);
int pd_command(struct pd_run *r, const char *text);
int pd_code(struct pd_run *r, const char *text);
/* The info of the connection under test, or of the last socket. */
int pd_sut_info(struct pd_run *r, struct tapir_tcp_info *out);

#endif
