/*
 * src/cli/report.c -- what `tapir status` and `tapir stats` show, formed
 * inside the running stack's process when the control socket asks: the
 * connection list (like `ss -ti`) and every counter (the stack's, the
 * runtime's, the impaired link's and the services'), as text or JSON.
 *
 * Called by cmd_run.c's control-socket handler, and at exit for the
 * counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "linux/impair.h"

#define IMPAIR_STATS(X)                                                          \
    X(n_seen, "Seen", "packets that entered the impaired link")                  \
    X(n_lost, "Lost", "packets dropped by the loss chance")                      \
    X(n_dup, "Dup", "extra copies made")                                         \
    X(n_corrupt, "Corrupt", "packets with one bit flipped")                      \
    X(n_delayed, "Delayed", "copies held for the delay")                         \
    X(n_reordered, "Reordered", "copies held back to be overtaken")              \
    X(n_overflow, "Overflow", "copies dropped: the link's queue was full")       \
    X(n_too_big, "TooBig", "packets dropped: longer than the MTU")

/* Call fn for every counter: the runtime's list, then the impaired link's
 * per direction, then the services'. */
static void
each_counter(const struct tp_rt *rt, const struct tp_svc *svc,
    void (*fn)(void *ctx, const struct tp_counter *c), void *ctx)
{
    static const char *const dir_names[TP_IMPAIR_NDIRS] = { "Tx", "Rx" };
    static const char *const dir_descs[TP_IMPAIR_NDIRS] = { "stack to TUN", "TUN to stack" };
    const struct tp_impair *imp = tp_rt_impair(rt);
    struct tp_counter c;
    char names[64][48];
    char descs[64][96];
    int k = 0;

    for (size_t i = 0; i < tp_rt_counters_count(); i++) {
        tp_rt_counter(rt, i, &c);
        fn(ctx, &c);
    }
    for (int d = 0; imp != NULL && d < TP_IMPAIR_NDIRS; d++) {
        const struct tp_impair_stats *s = tp_impair_stats(imp, (enum tp_impair_dir)d);

#define X(field, suffix, desc)                                                   \
        snprintf(names[k], sizeof(names[k]), "TapirImpair%s%s", dir_names[d], suffix); \
        snprintf(descs[k], sizeof(descs[k]), "%s (%s)", desc, dir_descs[d]);     \
        c = (struct tp_counter){ names[k], descs[k], s->field };                 \
        fn(ctx, &c);                                                             \
        k++;
        IMPAIR_STATS(X)
#undef X
    }
    for (int i = 0; svc != NULL && i < TP_SVC_STAT_N; i++) {
        c = (struct tp_counter){ tp_svc_stat_name((enum tp_svc_stat)i),
            tp_svc_stat_desc((enum tp_svc_stat)i), tp_svc_stat(svc, (enum tp_svc_stat)i) };
        fn(ctx, &c);
    }
}

struct print_ctx {
    FILE *f;
    const char *indent;
    bool all;
    bool json;
    int n;
};

static void
print_one(void *ctx, const struct tp_counter *c)
{
    struct print_ctx *p = ctx;

    if (p->json) {
        fprintf(p->f, "%s\n    \"%s\": %llu", p->n > 0 ? "," : "", c->name,
            (unsigned long long)c->value);
        p->n++;
        return;
    }
    if (c->value == 0 && !p->all)
        return;
    fprintf(p->f, "%s%-30s %12llu  %s\n", p->indent, c->name, (unsigned long long)c->value,
        c->desc);
    p->n++;
}

int
tp_cli_print_all_counters(FILE *f, const struct tp_rt *rt, const struct tp_svc *svc,
    const char *indent, bool all)
{
    struct print_ctx p = { f, indent, all, false, 0 };

    each_counter(rt, svc, print_one, &p);
    fflush(f);
    return p.n;
}

void
tp_cli_stats_json(FILE *f, const struct tp_rt *rt, const struct tp_svc *svc)
{
    struct print_ctx p = { f, "", true, true, 0 };

    fprintf(f, "{\n  \"counters\": {");
    each_counter(rt, svc, print_one, &p);
    fprintf(f, "\n  }\n}\n");
}

static void
write_one(void *ctx, const struct tp_counter *c)
{
    fprintf(ctx, "%s %llu\n", c->name, (unsigned long long)c->value);
}

int
tp_cli_write_all_counters(const char *path, const struct tp_rt *rt, const struct tp_svc *svc)
{
    FILE *f = fopen(path, "we");
    int err;

    if (f == NULL) {
        err = -errno;
        tp_cli_error("--stats-on-exit: cannot write '%s': %s", path, strerror(-err));
        return err;
    }
    each_counter(rt, svc, write_one, f);
    err = ferror(f);
    if (fclose(f) != 0 || err != 0) {
        tp_cli_error("--stats-on-exit: cannot write '%s'", path);
        return -EIO;
    }
    return 0;
}

static const char *
short_state(enum tapir_tcp_state s)
{
    static const char *const names[TAPIR_TCP_NSTATES] = {
        "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECV", "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2",
        "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
    };

    return s < TAPIR_TCP_NSTATES ? names[s] : "?";
}

static void
endpoint(const struct tapir_sockaddr *a, char *buf, size_t cap)
{
    char ip[16];

    if (a->addr == 0 && a->port == 0)
        snprintf(buf, cap, "*:*");
    else if (a->addr == 0)
        snprintf(buf, cap, "*:%u", a->port);
    else
        snprintf(buf, cap, "%s:%u", tapir_ipv4_str(a->addr, ip), a->port);
}

static void
status_text(FILE *f, const struct tapir_tcp_info *ti, size_t n, size_t total)
{
    char l[24], r[24];

    fprintf(f, "%-11s %8s %8s %-21s %-21s\n", "State", "Recv-Q", "Send-Q", "Local", "Remote");
    for (size_t i = 0; i < n; i++) {
        const struct tapir_tcp_info *t = &ti[i];

        endpoint(&t->local, l, sizeof(l));
        endpoint(&t->remote, r, sizeof(r));
        fprintf(f, "%-11s %8u %8u %-21s %-21s%s\n", short_state(t->state), t->rcv_queue,
            t->snd_queue, l, r, t->sock < 0 ? " (orphan)" : "");
        if (t->state == TAPIR_TCP_LISTEN)
            continue;
        fprintf(f, "\t rtt:%.3f/%.3f rto:%.0f mss:%u rcvmss:%u cwnd:%u ssthresh:%u "
            "bytes_in_flight:%u snd_wnd:%u rcv_wnd:%u retrans:%u/%llu bytes_acked:%llu "
            "bytes_received:%llu%s%s%s\n",
            t->rtt_us / 1000.0, t->rttvar_us / 1000.0, t->rto_us / 1000.0, t->snd_mss,
            t->rcv_mss, t->cwnd, t->ssthresh, t->bytes_in_flight, t->snd_wnd, t->rcv_wnd,
            t->retransmits, (unsigned long long)t->total_retrans,
            (unsigned long long)t->bytes_acked, (unsigned long long)t->bytes_received,
            (t->options & TAPIR_TCPI_OPT_TIMESTAMPS) != 0 ? " ts" : "",
            (t->options & TAPIR_TCPI_OPT_SACK) != 0 ? " sack" : "",
            (t->options & TAPIR_TCPI_OPT_WSCALE) != 0 ? " wscale" : "");
    }
    if (total > n)
        fprintf(f, "(%zu more not shown)\n", total - n);
}

static void
status_json(FILE *f, const struct tapir_tcp_info *ti, size_t n, size_t total)
{
    char l[24], r[24];

    fprintf(f, "{\n  \"total\": %zu,\n  \"connections\": [", total);
    for (size_t i = 0; i < n; i++) {
        const struct tapir_tcp_info *t = &ti[i];

        endpoint(&t->local, l, sizeof(l));
        endpoint(&t->remote, r, sizeof(r));
        fprintf(f, "%s\n    {\"sock\": %d, \"state\": \"%s\", \"local\": \"%s\", "
            "\"remote\": \"%s\", \"rtt_us\": %u, \"rttvar_us\": %u, \"rto_us\": %u, "
            "\"snd_mss\": %u, \"rcv_mss\": %u, \"cwnd\": %u, \"ssthresh\": %u, "
            "\"bytes_in_flight\": %u, \"snd_queue\": %u, \"rcv_queue\": %u, "
            "\"snd_wnd\": %u, \"rcv_wnd\": %u, \"retransmits\": %u, \"total_retrans\": %llu, "
            "\"bytes_acked\": %llu, \"bytes_received\": %llu}",
            i > 0 ? "," : "", t->sock, tapir_tcp_state_name(t->state), l, r, t->rtt_us,
            t->rttvar_us, t->rto_us, t->snd_mss, t->rcv_mss, t->cwnd, t->ssthresh,
            t->bytes_in_flight, t->snd_queue, t->rcv_queue, t->snd_wnd, t->rcv_wnd,
            t->retransmits, (unsigned long long)t->total_retrans,
            (unsigned long long)t->bytes_acked, (unsigned long long)t->bytes_received);
    }
    fprintf(f, "\n  ]\n}\n");
}

int
tp_cli_status(FILE *f, struct tapir_stack *st, bool json)
{
    size_t cap = 4096, n, total;
    struct tapir_tcp_info *ti = calloc(cap, sizeof(*ti));

    if (ti == NULL)
        return -ENOMEM;
    total = tapir_tcp_snapshot(st, ti, cap);
    n = total < cap ? total : cap;
    if (json)
        status_json(f, ti, n, total);
    else
        status_text(f, ti, n, total);
    free(ti);
    return 0;
}
