/*
 * tests/pktdrill/pd.h -- a packetdrill-script runner for tapir's core.
 *
 * lexer.c turns a script into a character cursor with comments and #ifdef
 * blocks removed; parser.c builds the event list declared here; run*.c play
 * the events against a fresh stack in virtual time.  Written from the
 * language summary in the conformance corpus's README, not from packetdrill.
 */
#ifndef PD_H
#define PD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PD_MAX_DEFINES 16
#define PD_MAX_OPTS 16
#define PD_MAX_SACK 4
#define PD_MAX_ARGS 8
#define PD_ERR_LEN 512

/* ---- expressions (syscall arguments and results) ------------------------ */

enum pd_expr_kind {
    PD_E_ELLIPSIS,                  /* "..." : any value / default */
    PD_E_INT,                       /* 12, 0x2, -1 */
    PD_E_WORD,                      /* a symbol: SOCK_STREAM, EINPROGRESS */
    PD_E_STRING,                    /* "text" */
    PD_E_OR,                        /* lhs | rhs */
    PD_E_ASSIGN,                    /* name = rhs, inside structs */
    PD_E_ARRAY,                     /* [a, b]: an in/out pointer or array */
    PD_E_STRUCT,                    /* {a, b}: a struct literal */
};

struct pd_expr {
    enum pd_expr_kind kind;
    int line;
    long long num;                  /* PD_E_INT */
    char *str;                      /* PD_E_WORD, PD_E_STRING, PD_E_ASSIGN's name */
    struct pd_expr *lhs, *rhs;      /* PD_E_OR; PD_E_ASSIGN uses rhs */
    struct pd_expr **items;         /* PD_E_ARRAY, PD_E_STRUCT */
    int nitems;
};

/* ---- times ---------------------------------------------------------------- */

enum pd_time_kind {
    PD_T_ABS,                       /* since script start */
    PD_T_REL,                       /* '+': since the previous event */
    PD_T_ANY,                       /* '*': any time (outbound packets) */
};

struct pd_time {
    enum pd_time_kind kind;
    int64_t us;
    bool has_end;                   /* a '~' range: [us, end_us] */
    enum pd_time_kind end_kind;
    int64_t end_us;
};

/* ---- packets -------------------------------------------------------------- */

enum pd_opt_kind {
    PD_OPT_EOL, PD_OPT_NOP, PD_OPT_MSS, PD_OPT_WSCALE, PD_OPT_SACKOK,
    PD_OPT_SACK, PD_OPT_TS,
    PD_OPT_RAW,                     /* tapir extension: '0xHEX' bytes as written */
};

struct pd_tcpopt {
    enum pd_opt_kind kind;
    uint32_t v1, v2;                /* mss / wscale / TS val, ecr */
    int nsack;
    uint32_t sack[PD_MAX_SACK][2];  /* script-relative left, right */
    int nraw;
    uint8_t raw[40];
};

enum pd_opts_mode {
    PD_OPTS_NONE,                   /* no '<..>': no options */
    PD_OPTS_LIST,                   /* '<a,b,..>' */
    PD_OPTS_ANY,                    /* '<...>': not checked */
};

enum pd_ecn { PD_ECN_UNSET = -1, PD_ECN_NOT = 0, PD_ECN_ECT1 = 1, PD_ECN_ECT0 = 2, PD_ECN_CE = 3 };

/* TCP flag bits as on the wire (RFC 9293 3.1, RFC 3168). */
enum {
    PD_TH_FIN = 0x01, PD_TH_SYN = 0x02, PD_TH_RST = 0x04, PD_TH_PSH = 0x08,
    PD_TH_ACK = 0x10, PD_TH_URG = 0x20, PD_TH_ECE = 0x40, PD_TH_CWR = 0x80,
};

struct pd_icmp {
    int type, code;                 /* numeric, from names or type_N/code_N */
    bool has_mtu;
    uint32_t mtu;
    bool has_quote;                 /* '[start:end(len)]': the quoted TCP segment */
    uint32_t q_seq, q_len;
};

struct pd_packet {
    bool outbound;                  /* '>' */
    bool is_icmp;
    enum pd_ecn ecn;
    int tos, ttl;                   /* -1: not given */
    /* TCP */
    uint8_t flags;
    bool seq_any;                   /* '...(len)' */
    bool seq_abs;                   /* 'start:end(len)!': not translated */
    uint32_t seq, len;
    bool has_ack;
    uint32_t ack;
    bool has_win;
    uint32_t win;
    bool has_urg;
    uint32_t urg;
    bool bad_csum;                  /* tapir extension: inbound with a wrong TCP checksum */
    enum pd_opts_mode opts_mode;
    int nopts;
    struct pd_tcpopt opts[PD_MAX_OPTS];
    struct pd_icmp icmp;
};

/* ---- syscalls and the rest ----------------------------------------------- */

struct pd_syscall {
    char *name;
    int nargs;
    struct pd_expr *args[PD_MAX_ARGS];
    struct pd_expr *ret;
    char *err;                      /* errno name after the result, or NULL */
    bool blocking;                  /* '... T': returns at end time */
    struct pd_time end;
};

enum pd_event_kind { PD_EV_PACKET, PD_EV_SYSCALL, PD_EV_COMMAND, PD_EV_CODE };

struct pd_event {
    int line;
    struct pd_time time;
    enum pd_event_kind kind;
    struct pd_packet pkt;
    struct pd_syscall sys;
    char *text;                     /* backtick command or %{ code }% */
    struct pd_event *next;
};

struct pd_option {
    char *name;
    char *value;                    /* NULL if none */
    struct pd_option *next;
};

struct pd_script {
    const char *path;
    struct pd_option *options;
    struct pd_event *events;
    int nevents;
};

/* ---- lexer.c: a cursor over preprocessed text ---------------------------- */

struct pd_lexer {
    const char *path;
    char *text;                     /* owned; comments and #if'd-out lines blanked */
    size_t pos, len;
    int line;
    char err[PD_ERR_LEN];
};

/* Load path, blank comments and drop #ifdef blocks whose symbol is not in
 * defines.  Returns 0, or -1 with lx->err set. */
int pd_lex_open(struct pd_lexer *lx, const char *path, const char *const *defines,
    int ndefines);
void pd_lex_close(struct pd_lexer *lx);

void pd_lex_skip_ws(struct pd_lexer *lx);
bool pd_lex_eof(struct pd_lexer *lx);
int pd_lex_peek(struct pd_lexer *lx);                   /* after skipping white space */
int pd_lex_peek_at(const struct pd_lexer *lx, size_t off); /* raw, no skipping */
bool pd_lex_accept(struct pd_lexer *lx, const char *s); /* literal after white space */
bool pd_lex_accept_word(struct pd_lexer *lx, const char *w); /* whole word only */
/* [A-Za-z_][A-Za-z0-9_]*; returns a malloc'd copy or NULL. */
char *pd_lex_word(struct pd_lexer *lx);
/* An unsigned integer: decimal or 0x hex.  Returns false if none. */
bool pd_lex_uint(struct pd_lexer *lx, unsigned long long *out);
/* A decimal number with an optional fraction, as microseconds ("0.1" -> 100000). */
bool pd_lex_seconds(struct pd_lexer *lx, int64_t *us);
/* Text up to the closing delimiter (not included), consumed with it. */
char *pd_lex_until(struct pd_lexer *lx, const char *close);
/* Record an error at the current line; returns -1. */
int pd_lex_error(struct pd_lexer *lx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- parser.c ------------------------------------------------------------- */

/* Parse the script at path.  Returns 0, or -1 and "path:line: message" in err. */
int pd_parse_file(const char *path, const char *const *defines, int ndefines,
    struct pd_script *out, char err[PD_ERR_LEN]);
void pd_script_free(struct pd_script *s);
const char *pd_script_option(const struct pd_script *s, const char *name);

/* ---- run.c ---------------------------------------------------------------- */

enum pd_match_mode { PD_MATCH_STRICT, PD_MATCH_SEMANTIC };

struct pd_run_opts {
    enum pd_match_mode mode;
    bool ignore_options;            /* diagnosis only: never compare options */
    bool no_profile;                /* tapir's defaults, without the bsd profile */
    bool verbose;
};

enum pd_verdict { PD_PASS, PD_FAIL, PD_SKIP };

/* Play s against a fresh stack.  Returns the verdict and, unless PD_PASS,
 * "path:line: reason" in why. */
enum pd_verdict pd_run_script(const struct pd_script *s, const struct pd_run_opts *o,
    char why[PD_ERR_LEN]);

#endif
