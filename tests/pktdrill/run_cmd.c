/*
 * tests/pktdrill/run_cmd.c -- backtick commands and %{ }% snippets.
 *
 * No shell runs.  `sysctl -w KNOB=V` lines set the stack's configuration
 * (the table below; docs/conformance.md explains each row), before the
 * stack exists or, for its TCP settings, while it runs
 * (tapir_stack_set_tcp_config()), `sockstat ...
 * | grep -c STATE | grep N` counts connections through tapir_tcp_snapshot(),
 * `tcpdrop -s STATE` aborts them, and `%{ assert tcpi_X == Y }%` compares
 * tapir_tcp_info() of the connection under test.  Anything else fails the
 * script with the command in the reason.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

/* ---- the FreeBSD profile ------------------------------------------------------ */

/*
 * FreeBSD's defaults where the RFCs leave tapir a choice, applied to every
 * script before its sysctl lines (docs/conformance.md, "The bsd profile"):
 * the default buffers (recvspace 65536, sendspace 32768), congestion window
 * validation as RFC 5681's restart after idle (net.inet.tcp.newcwv=0), the window scale
 * derived from kern.ipc.maxsockbuf (2 MB: scale 6), the buffers rounded
 * up to a multiple of the MSS after the SYN exchange, and the receive
 * window offered as all the free space (its receiver SWS avoidance), and
 * an ACK sent while our FIN is unacknowledged repeating the FIN, and
 * ECONNRESET for an RST in CLOSING or LAST-ACK, the ACK of an old
 * segment processed, a SYN,ACK to a listener dropped silently, ECN
 * accepted when a peer asks (ecn.enable=2) and 8 keepalive probes.  One
 * choice is the
 * STANDARD branch's, not FreeBSD's (the runner runs STANDARD branches): a
 * SYN in TIME-WAIT gets a challenge ACK rather than reopening.
 */
void
pd_bsd_profile(struct tapir_config *cfg)
{
    cfg->tcp.rcvbuf = 65536;
    cfg->tcp.sndbuf = 32768;
    cfg->tcp.wscale_bytes = 2097152;
    cfg->tcp.buf_round_mss = true;
    cfg->tcp.cwv = TAPIR_TCP_CWV_RESTART;           /* newcwv=0: RFC 5681 4.1 restart */
    cfg->tcp.rcv_wnd_free_space = true;
    cfg->tcp.ack_repeats_fin = true;
    cfg->tcp.rst_error_after_fin = true;
    cfg->tcp.old_segment_ack = true;
    cfg->tcp.listen_synack_silent = true;
    cfg->tcp.tw_syn_challenge = true;               /* what the STANDARD branches expect */
    cfg->tcp.ecn = TAPIR_TCP_ECN_PASSIVE;           /* ecn.enable=2 */
    cfg->tcp.keepcnt = 8;
}

/* ---- sysctl knobs ------------------------------------------------------------- */

enum knob_kind {
    KNOB_CFG,                       /* sets a uint32_t field of struct tapir_config */
    KNOB_CFG_BOOL,                  /* sets one or two bool fields (off2: SIZE_MAX if one) */
    KNOB_CFG_NOT,                   /* sets a bool field to value == 0 */
    KNOB_CFG_MS_S,                  /* sets a uint32_t field in seconds from milliseconds */
    KNOB_CFG_ENUM,                  /* sets an enum field (values as FreeBSD's: 0, 1, 2) */
    KNOB_FIXED,                     /* tapir's fixed behaviour equals value 'fixed' */
    KNOB_IGNORED,                   /* no meaning for a fresh stack in virtual time */
};

struct knob {
    const char *name;
    enum knob_kind kind;
    size_t off;                     /* KNOB_CFG, KNOB_CFG_BOOL */
    long fixed;                     /* KNOB_FIXED */
    const char *what;               /* KNOB_FIXED: what tapir does instead */
    size_t off2;                    /* KNOB_CFG_BOOL: a second field, or SIZE_MAX */
};

#define CFG(field) KNOB_CFG, offsetof(struct tapir_config, field), 0, NULL, SIZE_MAX
#define CFG_BOOL(f1, f2) KNOB_CFG_BOOL, offsetof(struct tapir_config, f1), 0, NULL, (f2)
#define CFG_NOT(field) KNOB_CFG_NOT, offsetof(struct tapir_config, field), 0, NULL, SIZE_MAX
#define CFG_MS_S(field) KNOB_CFG_MS_S, offsetof(struct tapir_config, field), 0, NULL, SIZE_MAX
#define CFG_ENUM(field) KNOB_CFG_ENUM, offsetof(struct tapir_config, field), 0, NULL, SIZE_MAX
#define FIXED(v, what) KNOB_FIXED, 0, (v), (what), SIZE_MAX
#define IGNORED KNOB_IGNORED, 0, 0, NULL, SIZE_MAX

static const struct knob knobs[] = {
    { "net.inet.tcp.recvspace", CFG(tcp.rcvbuf) },
    { "net.inet.tcp.sendspace", CFG(tcp.sndbuf) },
    { "net.inet.tcp.rexmit_initial", CFG(tcp.rto_initial_ms) },
    { "net.inet.tcp.rexmit_slop", CFG(tcp.rto_min_ms) },
    { "net.inet.tcp.hostcache.purgenow", IGNORED },
    { "kern.ipc.maxsockbuf", CFG(tcp.wscale_bytes) },
    { "net.inet.tcp.ecn.maxretries", CFG(tcp.ecn_syn_retries) },
#ifdef PD_HAVE_TCP_EXTENSIONS
    { "net.inet.tcp.rfc1323", CFG_BOOL(tcp.wscale,
        offsetof(struct tapir_config, tcp.timestamps)) },
    { "net.inet.tcp.sack.enable", CFG_BOOL(tcp.sack, SIZE_MAX) },
#else
    { "net.inet.tcp.rfc1323", FIXED(0, "tapir has neither timestamps nor window scaling yet") },
    { "net.inet.tcp.sack.enable", FIXED(0, "tapir has no SACK yet") },
#endif
    { "net.inet.tcp.ecn.enable", CFG_ENUM(tcp.ecn) },
    { "net.inet.tcp.blackhole", FIXED(0, "tapir always answers closed ports with RST") },
    { "net.inet.tcp.insecure_rst", CFG_BOOL(tcp.rst_in_window, SIZE_MAX) },
    { "net.inet.tcp.insecure_syn", CFG_BOOL(tcp.syn_in_window, SIZE_MAX) },
    { "net.inet.tcp.drop_synfin", CFG_NOT(tcp.synfin_as_syn) },
    { "net.inet.tcp.rexmit_drop_options", CFG_BOOL(tcp.syn_rtx_drop_options, SIZE_MAX) },
    { "net.inet.tcp.icmp_may_rst", CFG_NOT(tcp.icmp_soft_only) },
    { "net.inet.tcp.keepidle", CFG_MS_S(tcp.keepidle_s) },
    { "net.inet.tcp.keepintvl", CFG_MS_S(tcp.keepintvl_s) },
    { "net.inet.tcp.keepcnt", CFG(tcp.keepcnt) },
    { "net.inet.tcp.keepinit", FIXED(-1, "tapir bounds connection setup by SYN retries") },
    { "net.inet.tcp.delacktime", FIXED(40, "tapir's delayed-ACK time is a fixed 40 ms") },
    { "net.inet.tcp.syncookies", FIXED(0, "tapir has no SYN cookies") },
    { NULL, 0, 0, 0, NULL, SIZE_MAX },
};

static const struct knob *
find_knob(const char *name)
{
    for (const struct knob *k = knobs; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* Set a knob's field(s) in r->cfg; once the stack runs, hand its TCP
 * settings over as a sysctl would (anything else is only noted). */
static int
set_field(struct pd_run *r, const struct knob *k, const char *name, long value)
{
    struct tapir_config old = r->cfg;
    char *f1 = (char *)&r->cfg + k->off;
    bool in_tcp = k->off >= offsetof(struct tapir_config, tcp)
        && k->off < offsetof(struct tapir_config, tcp) + sizeof(r->cfg.tcp);

    switch (k->kind) {
    case KNOB_CFG:
        *(uint32_t *)(void *)f1 = (uint32_t)value;
        break;
    case KNOB_CFG_MS_S:
        *(uint32_t *)(void *)f1 = (uint32_t)((value + 999) / 1000);
        break;
    case KNOB_CFG_NOT:
        *(bool *)(void *)f1 = value == 0;
        break;
    case KNOB_CFG_ENUM:
        *(int *)(void *)f1 = (int)value;
        break;
    case KNOB_CFG_BOOL:
        *(bool *)(void *)f1 = value != 0;
        if (k->off2 != SIZE_MAX)
            *(bool *)(void *)((char *)&r->cfg + k->off2) = value != 0;
        break;
    case KNOB_FIXED:
    case KNOB_IGNORED:
        break;
    }
    if (!r->st || memcmp(&old, &r->cfg, sizeof(old)) == 0)
        return 0;
    if (!in_tcp || tapir_stack_set_tcp_config(r->st, &r->cfg.tcp) != 0) {
        r->cfg = old;
        pd_note(r, "%s=%ld (set after the stack started)", name, value);
    }
    return 0;
}

static int
do_sysctl(struct pd_run *r, const char *arg)
{
    char name[128];
    long value;
    const struct knob *k;

    if (sscanf(arg, "%127[^=]=%ld", name, &value) != 2)
        return pd_fail(r, "sysctl: expected -w NAME=VALUE");
    if (!(k = find_knob(name))) {
        pd_note(r, "%s=%ld (unknown knob)", name, value);
        return 0;
    }
    if (k->kind == KNOB_IGNORED)
        return 0;
    if (k->kind == KNOB_FIXED) {
        if (value != k->fixed)
            pd_note(r, "%s=%ld (%s)", name, value, k->what);
        return 0;
    }
    return set_field(r, k, name, value);
}

/* ---- state queries --------------------------------------------------------------- */

struct state_name { const char *bsd, *tcpi; enum tapir_tcp_state s; };

static const struct state_name states[] = {
    { "CLOSED", "TCPI_CLOSED", TAPIR_TCP_CLOSED },
    { "LISTEN", "TCPI_LISTEN", TAPIR_TCP_LISTEN },
    { "SYN_SENT", "TCPI_SYN_SENT", TAPIR_TCP_SYN_SENT },
    { "SYN_RCVD", "TCPI_SYN_RECEIVED", TAPIR_TCP_SYN_RECEIVED },
    { "ESTABLISHED", "TCPI_ESTABLISHED", TAPIR_TCP_ESTABLISHED },
    { "FIN_WAIT_1", "TCPI_FIN_WAIT_1", TAPIR_TCP_FIN_WAIT_1 },
    { "FIN_WAIT_2", "TCPI_FIN_WAIT_2", TAPIR_TCP_FIN_WAIT_2 },
    { "CLOSE_WAIT", "TCPI_CLOSE_WAIT", TAPIR_TCP_CLOSE_WAIT },
    { "CLOSING", "TCPI_CLOSING", TAPIR_TCP_CLOSING },
    { "LAST_ACK", "TCPI_LAST_ACK", TAPIR_TCP_LAST_ACK },
    { "TIME_WAIT", "TCPI_TIME_WAIT", TAPIR_TCP_TIME_WAIT },
    { NULL, NULL, TAPIR_TCP_CLOSED },
};

static const struct state_name *
state_by_bsd(const char *name)
{
    for (const struct state_name *s = states; s->bsd; s++)
        if (strcmp(s->bsd, name) == 0)
            return s;
    return NULL;
}

#define PD_MAX_SNAP 64

static size_t
snapshot(struct pd_run *r, struct tapir_tcp_info *out)
{
    size_t n;

    if (pd_need_stack(r) < 0)
        return 0;
    n = tapir_tcp_snapshot(r->st, out, PD_MAX_SNAP);
    return n < PD_MAX_SNAP ? n : PD_MAX_SNAP;
}

/* `sockstat -4 -P tcp [-p PORT] -s [| grep packetdril] | grep -c STATE | grep N`:
 * with "grep packetdril" only sockets the script holds an fd for count. */
static int
do_sockstat(struct pd_run *r, const char *cmd)
{
    struct tapir_tcp_info info[PD_MAX_SNAP];
    const char *p = strstr(cmd, " -p "), *c = strstr(cmd, "grep -c "), *last;
    const struct state_name *s;
    char state[32];
    long port = -1, want, got = 0;
    bool owned = strstr(cmd, "grep packetdril") != NULL;
    size_t n;

    if (p)
        port = strtol(p + 4, NULL, 10);
    last = strrchr(cmd, '|');
    if (!c || !last || sscanf(c + 8, "%31s", state) != 1
        || sscanf(last, "| grep %ld", &want) != 1 || !(s = state_by_bsd(state)))
        return pd_fail(r, "sockstat: unsupported form `%s`", cmd);
    n = snapshot(r, info);
    if (r->verdict != PD_PASS)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (info[i].state != s->s || (owned && info[i].sock < 0))
            continue;
        if (port >= 0 && info[i].local.port != port && info[i].remote.port != port)
            continue;
        got++;
    }
    if (got != want)
        return pd_fail(r, "sockstat: %ld connections in %s, expected %ld", got, state, want);
    return 0;
}

/* `tcpdrop -s STATE`: abort every connection in STATE. */
static int
do_tcpdrop(struct pd_run *r, const char *arg)
{
    struct tapir_tcp_info info[PD_MAX_SNAP];
    const struct state_name *s = state_by_bsd(arg);
    size_t n;

    if (!s)
        return pd_fail(r, "tcpdrop: unknown state %s", arg);
    n = snapshot(r, info);
    if (r->verdict != PD_PASS)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (info[i].state != s->s)
            continue;
        if (info[i].sock < 0)
            return pd_fail(r, "tcpdrop: a %s connection without a handle cannot be "
                "aborted through tapir's API", arg);
        tapir_tcp_abort(r->st, info[i].sock);
        for (int fd = 0; fd < PD_MAX_FDS; fd++)
            if (r->fds[fd].used && r->fds[fd].handle == info[i].sock)
                r->fds[fd].handle = -1;         /* the fd stays open, disconnected */
    }
    pd_poll_now(r);
    return 0;
}

int
pd_command(struct pd_run *r, const char *text)
{
    while (*text == ' ')
        text++;
    pd_trace(r, "`%s`", text);
    if (strncmp(text, "sysctl -w ", 10) == 0)
        return do_sysctl(r, text + 10);
    if (strncmp(text, "sockstat ", 9) == 0)
        return do_sockstat(r, text);
    if (strncmp(text, "tcpdrop -s ", 11) == 0)
        return do_tcpdrop(r, text + 11);
    return pd_fail(r, "shell command not supported by the runner: `%s`", text);
}

/* ---- %{ }% --------------------------------------------------------------------------- */

int
pd_sut_info(struct pd_run *r, struct tapir_tcp_info *out)
{
    struct tapir_tcp_info info[PD_MAX_SNAP];
    size_t n = snapshot(r, info);

    if (r->verdict != PD_PASS)
        return -1;
    for (size_t i = 0; r->conn.known && i < n; i++)
        if (info[i].local.port == r->conn.local_port
            && info[i].remote.port == r->conn.remote_port
            && info[i].remote.addr == PD_REMOTE_IP) {
            *out = info[i];
            return 0;
        }
    if (r->last_fd >= 0 && r->fds[r->last_fd].used && r->fds[r->last_fd].handle >= 0)
        return tapir_tcp_info(r->st, r->fds[r->last_fd].handle, out);
    memset(out, 0, sizeof(*out));
    out->state = TAPIR_TCP_CLOSED;
    return 0;
}

struct tcpi_opt { const char *name; uint32_t bit; };

static const struct tcpi_opt tcpi_opts[] = {
    { "TCPI_OPT_TIMESTAMPS", TAPIR_TCPI_OPT_TIMESTAMPS }, { "TCPI_OPT_SACK", TAPIR_TCPI_OPT_SACK },
    { "TCPI_OPT_WSCALE", TAPIR_TCPI_OPT_WSCALE }, { "TCPI_OPT_ECN", TAPIR_TCPI_OPT_ECN }, { NULL, 0 },
};

/* "(A | B | C)" of TCPI_OPT_* names into bits; false on anything else. */
static bool
options_value(const char *expr, uint32_t *bits)
{
    char buf[256], *tok, *save = NULL;

    snprintf(buf, sizeof(buf), "%s", expr);
    *bits = 0;
    for (tok = strtok_r(buf, "()| \t\n", &save); tok; tok = strtok_r(NULL, "()| \t\n", &save)) {
        const struct tcpi_opt *o = tcpi_opts;
        while (o->name && strcmp(o->name, tok) != 0)
            o++;
        if (!o->name)
            return false;
        *bits |= o->bit;
    }
    return true;
}

static int
assert_state(struct pd_run *r, const struct tapir_tcp_info *ti, const char *rhs)
{
    char name[40];

    if (sscanf(rhs, "%39s", name) != 1)
        return pd_fail(r, "%%{ }%%: expected a TCPI_ state");
    for (const struct state_name *s = states; s->bsd; s++)
        if (strcmp(s->tcpi, name) == 0) {
            if (ti->state != s->s)
                return pd_fail(r, "tcpi_state is %s, expected %s",
                    tapir_tcp_state_name(ti->state), name);
            return 0;
        }
    return pd_fail(r, "%%{ }%%: unknown state %s", name);
}

int
pd_code(struct pd_run *r, const char *text)
{
    struct tapir_tcp_info ti;
    char lhs[40];
    const char *eq;
    uint32_t bits;
    int n = 0;

    pd_trace(r, "%%{%s}%%", text);
    if (sscanf(text, " assert %39s ==%n", lhs, &n) != 1 || n == 0 || !(eq = text + n))
        return pd_skip(r, "%%{ }%%: only 'assert tcpi_X == Y' is supported, not '%s'", text);
    if (pd_need_stack(r) < 0 || pd_sut_info(r, &ti) < 0)
        return pd_fail(r, "%%{ }%%: no socket under test");
    if (strcmp(lhs, "tcpi_state") == 0)
        return assert_state(r, &ti, eq);
    if (strcmp(lhs, "tcpi_options") == 0) {
        if (!options_value(eq, &bits))
            return pd_skip(r, "%%{ }%%: unsupported tcpi_options value '%s'", eq);
        if (ti.options != bits)
            return pd_fail(r, "tcpi_options is 0x%x, expected 0x%x", ti.options, bits);
        return 0;
    }
    return pd_skip(r, "%%{ }%%: %s is not evaluated by the runner", lhs);
}
