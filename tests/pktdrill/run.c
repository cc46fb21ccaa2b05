/*
 * tests/pktdrill/run.c -- plays a parsed script against a fresh stack in
 * virtual time.
 *
 * Each event has a script time; the runner moves the virtual clock there,
 * polling the stack at every deadline on the way so timers fire at their
 * instant and transmitted packets carry the time they left.  Inbound
 * packets, syscalls and commands happen exactly at their time; an outbound
 * packet must have left within the tolerance of its time (run_packet.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define PD_MAX_POLLS_PER_STEP 100000

static void __attribute__((format(printf, 2, 0)))
vset_reason(struct pd_run *r, const char *fmt, va_list ap)
{
    int line = r->ev ? r->ev->line : 0;
    int n = snprintf(r->why, PD_ERR_LEN, "%s:%d: ", r->script->path, line);

    if (n > 0 && n < PD_ERR_LEN)
        vsnprintf(r->why + n, PD_ERR_LEN - (size_t)n, fmt, ap);
}

int
pd_fail(struct pd_run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->verdict != PD_PASS)
        return -1;
    va_start(ap, fmt);
    vset_reason(r, fmt, ap);
    va_end(ap);
    r->verdict = PD_FAIL;
    return -1;
}

int
pd_skip(struct pd_run *r, const char *fmt, ...)
{
    va_list ap;

    if (r->verdict != PD_PASS)
        return -1;
    va_start(ap, fmt);
    vset_reason(r, fmt, ap);
    va_end(ap);
    r->verdict = PD_SKIP;
    return -1;
}

void
pd_note(struct pd_run *r, const char *fmt, ...)
{
    size_t n = strlen(r->notes);
    va_list ap;

    if (n + 3 >= sizeof(r->notes))
        return;
    if (n > 0) {
        strcpy(r->notes + n, "; ");
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(r->notes + n, sizeof(r->notes) - n, fmt, ap);
    va_end(ap);
}

void
pd_trace(struct pd_run *r, const char *fmt, ...)
{
    va_list ap;

    if (!r->opts->verbose)
        return;
    fprintf(stderr, "[%4lld.%06lld] ", (long long)(r->now_us / 1000000),
        (long long)(r->now_us % 1000000));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The link: every packet the stack sends is queued with its time. */
static int
capture(void *ctx, const struct tapir_iov *iov, int iovcnt)
{
    struct pd_run *r = ctx;
    struct pd_sent *s;
    size_t len = 0, off = 0;

    for (int i = 0; i < iovcnt; i++)
        len += iov[i].len;
    if (!(s = calloc(1, sizeof(*s))) || !(s->data = malloc(len ? len : 1))) {
        free(s);
        return -ENOMEM;
    }
    for (int i = 0; i < iovcnt; i++) {
        memcpy(s->data + off, iov[i].base, iov[i].len);
        off += iov[i].len;
    }
    s->len = len;
    s->t_us = r->now_us;
    *r->sent_tail = s;
    r->sent_tail = &s->next;
    r->nsent++;
    return 0;
}

static struct tapir_time
vtime(int64_t us)
{
    return (struct tapir_time){ us + PD_TIME_BASE_US };
}

static void
drain_events(struct pd_run *r)
{
    struct tapir_tcp_event ev;

    while (tapir_tcp_next_event(r->st, &ev))
        ;
}

void
pd_poll_now(struct pd_run *r)
{
    struct tapir_time next;

    if (!r->st)
        return;
    next = tapir_stack_poll(r->st, vtime(r->now_us));
    r->next_poll_us = next.us == INT64_MAX ? INT64_MAX : next.us - PD_TIME_BASE_US;
    drain_events(r);
}

void
pd_advance_to(struct pd_run *r, int64_t t_us)
{
    int guard = 0;

    while (r->st && r->next_poll_us <= t_us && guard++ < PD_MAX_POLLS_PER_STEP) {
        if (r->next_poll_us > r->now_us)
            r->now_us = r->next_poll_us;
        pd_poll_now(r);
        if (r->next_poll_us <= r->now_us)
            r->next_poll_us = r->now_us + 1;    /* asked again for the same instant */
    }
    if (t_us > r->now_us)
        r->now_us = t_us;
    pd_poll_now(r);
}

int
pd_need_stack(struct pd_run *r)
{
    struct tapir_link link = { .transmit = capture, .ctx = r };
    int err;

    if (r->st)
        return 0;
    if ((err = tapir_stack_new(&r->cfg, &link, &r->st)) != 0)
        return pd_fail(r, "tapir_stack_new: %s", strerror(-err));
    pd_poll_now(r);
    return 0;
}

static int
apply_options(struct pd_run *r)
{
    const char *v;

    if ((v = pd_script_option(r->script, "ip_version")) && strcmp(v, "ipv4") != 0)
        return pd_skip(r, "--ip_version=%s: only IPv4 is run", v);
    if ((v = pd_script_option(r->script, "tolerance_usecs")))
        r->tolerance_us = strtoll(v, NULL, 10);
    if ((v = pd_script_option(r->script, "tolerance_percent")))
        r->tolerance_pct = strtod(v, NULL);
    if ((v = pd_script_option(r->script, "mtu")))
        r->cfg.mtu = (uint16_t)strtoul(v, NULL, 10);
    if ((v = pd_script_option(r->script, "local_ip")) && strcmp(v, "192.168.0.1") != 0)
        return pd_skip(r, "--local_ip=%s: the runner uses 192.168.0.1", v);
    if ((v = pd_script_option(r->script, "remote_ip")) && strcmp(v, "192.0.2.1") != 0)
        return pd_skip(r, "--remote_ip=%s: the runner uses 192.0.2.1", v);
    return 0;
}

static int64_t
event_time(const struct pd_run *r, enum pd_time_kind kind, int64_t us)
{
    return kind == PD_T_REL ? r->last_event_us + us : kind == PD_T_ABS ? us : r->last_event_us;
}

/* The window an outbound packet may leave in, in script time. */
static void
packet_window(const struct pd_run *r, const struct pd_time *t, int64_t *lo, int64_t *hi)
{
    int64_t at = event_time(r, t->kind, t->us), tol, gap;

    if (t->kind == PD_T_ANY) {
        *lo = r->last_event_us;
        *hi = r->last_event_us + PD_ANY_WAIT_US;
        return;
    }
    if (t->has_end) {
        int64_t end = t->end_kind == PD_T_REL ? r->last_event_us + t->end_us : t->end_us;
        *lo = at - r->tolerance_us;
        *hi = end + r->tolerance_us;
        return;
    }
    gap = (int64_t)((double)(at - r->last_event_us) * r->tolerance_pct / 100.0);
    tol = gap > r->tolerance_us ? gap : r->tolerance_us;
    *lo = at - tol;
    *hi = at + tol;
}

static int
play_packet(struct pd_run *r, const struct pd_event *ev)
{
    int64_t lo, hi, at;

    if (!ev->pkt.outbound) {
        pd_advance_to(r, event_time(r, ev->time.kind, ev->time.us));
        r->last_event_us = r->now_us;
        return pd_inject(r, &ev->pkt);
    }
    packet_window(r, &ev->time, &lo, &hi);
    if (pd_expect(r, &ev->pkt, lo, hi, &at) < 0)
        return -1;
    /* '*' and '~' events anchor what follows at the time the packet left. */
    if (ev->time.kind == PD_T_ANY || ev->time.has_end)
        r->last_event_us = at;
    else
        r->last_event_us = event_time(r, ev->time.kind, ev->time.us);
    return 0;
}

static int
play(struct pd_run *r, const struct pd_event *ev)
{
    int64_t t;

    r->ev = ev;
    if (ev->kind == PD_EV_PACKET) {
        if (pd_need_stack(r) < 0)
            return -1;
        return play_packet(r, ev);
    }
    t = event_time(r, ev->time.kind, ev->time.us);
    pd_advance_to(r, t);
    r->last_event_us = t;
    switch (ev->kind) {
    case PD_EV_SYSCALL:
        if (pd_need_stack(r) < 0)
            return -1;
        return pd_syscall(r, &ev->sys, ev->sys.blocking
            ? event_time(r, ev->sys.end.kind, ev->sys.end.us) : t);
    case PD_EV_COMMAND:
        return pd_command(r, ev->text);
    case PD_EV_CODE:
        return pd_code(r, ev->text);
    default:
        return pd_fail(r, "unknown event");
    }
}

static void
cleanup(struct pd_run *r)
{
    for (int fd = 0; fd < PD_MAX_FDS; fd++)
        if (r->fds[fd].used && r->fds[fd].handle >= 0 && r->st)
            tapir_tcp_abort(r->st, r->fds[fd].handle);
    pd_sent_free_all(r);
    tapir_stack_free(r->st);
    r->st = NULL;
}

static void
init_run(struct pd_run *r, const struct pd_script *s, const struct pd_run_opts *o, char *why)
{
    memset(r, 0, sizeof(*r));
    r->script = s;
    r->opts = o;
    r->why = why;
    r->verdict = PD_PASS;
    r->sent_tail = &r->sent_head;
    r->tolerance_us = 4000;
    r->tolerance_pct = 12.5;
    r->next_remote_port = 40000;
    r->next_poll_us = INT64_MAX;
    r->last_fd = -1;
    tapir_config_default(&r->cfg);
    r->cfg.addr = PD_LOCAL_IP;
    r->cfg.prefix_len = 0;          /* the peer 192.0.2.1 is on another net: one link */
    r->cfg.seed = 0x7061636b65746472ull;
    if (!o->no_profile)
        pd_bsd_profile(&r->cfg);
}

/* Append the knob notes to a failure so its reason shows what was not honoured. */
static void
append_notes(struct pd_run *r)
{
    size_t n = strlen(r->why), room;

    if (!r->notes[0] || r->verdict != PD_FAIL || n + 20 >= PD_ERR_LEN)
        return;
    room = PD_ERR_LEN - n - 20;
    snprintf(r->why + n, PD_ERR_LEN - n, " [not honoured: %.*s]", (int)room, r->notes);
}

enum pd_verdict
pd_run_script(const struct pd_script *s, const struct pd_run_opts *o, char why[PD_ERR_LEN])
{
    struct pd_run r;

    init_run(&r, s, o, why);
    if (apply_options(&r) == 0)
        for (const struct pd_event *ev = s->events; ev; ev = ev->next)
            if (play(&r, ev) < 0)
                break;
    append_notes(&r);
    cleanup(&r);
    return r.verdict;
}
