/*
 * tests/pktdrill/parser.c -- packetdrill scripts into a list of events.
 *
 * Recursive descent over the lexer.c cursor, one function per grammar rule
 * of the language summary (options, times, packets with TCP options, ICMP,
 * syscalls with expressions, backtick commands, %{ }% snippets).  Every
 * error names the file and line.  Names (flags, ICMP types, symbols) are
 * resolved here where the grammar fixes them and in run_*.c otherwise.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd.h"

#define TRY(x) do { if ((x) < 0) return -1; } while (0)

/* ---- expressions ------------------------------------------------------------ */

static struct pd_expr *parse_expr(struct pd_lexer *lx);

static struct pd_expr *
new_expr(struct pd_lexer *lx, enum pd_expr_kind kind)
{
    struct pd_expr *e = calloc(1, sizeof(*e));

    if (!e) {
        pd_lex_error(lx, "out of memory");
        return NULL;
    }
    e->kind = kind;
    e->line = lx->line;
    return e;
}

static void
free_expr(struct pd_expr *e)
{
    if (!e)
        return;
    free(e->str);
    free_expr(e->lhs);
    free_expr(e->rhs);
    for (int i = 0; i < e->nitems; i++)
        free_expr(e->items[i]);
    free(e->items);
    free(e);
}

/* Items of a [..], {..} or f(..) list up to the closing character. */
static struct pd_expr *
parse_list(struct pd_lexer *lx, struct pd_expr *e, const char *close)
{
    struct pd_expr **ni;

    if (pd_lex_accept(lx, close))
        return e;
    do {
        struct pd_expr *it = parse_expr(lx);
        if (!it || !(ni = realloc(e->items, sizeof(*ni) * (size_t)(e->nitems + 1)))) {
            free_expr(it);
            free_expr(e);
            return NULL;
        }
        e->items = ni;
        e->items[e->nitems++] = it;
    } while (pd_lex_accept(lx, ","));
    if (!pd_lex_accept(lx, close)) {
        pd_lex_error(lx, "expected '%s' in expression list", close);
        free_expr(e);
        return NULL;
    }
    return e;
}

static struct pd_expr *
parse_number_expr(struct pd_lexer *lx)
{
    bool neg = pd_lex_accept(lx, "-");
    unsigned long long v;
    struct pd_expr *e;

    if (!pd_lex_uint(lx, &v)) {
        pd_lex_error(lx, "expected a number");
        return NULL;
    }
    if (!(e = new_expr(lx, PD_E_INT)))
        return NULL;
    e->num = neg ? -(long long)v : (long long)v;
    return e;
}

/* A word: a symbol, "name = expr" (struct field), or "f(args)" (a helper
 * such as htons(), kept as a struct named f). */
static struct pd_expr *
parse_word_expr(struct pd_lexer *lx)
{
    char *w = pd_lex_word(lx);
    struct pd_expr *e;

    if (!w)
        return NULL;
    if (pd_lex_peek(lx) == '=' && pd_lex_peek_at(lx, 1) != '=') {
        pd_lex_accept(lx, "=");
        if (!(e = new_expr(lx, PD_E_ASSIGN)) || !(e->rhs = parse_expr(lx))) {
            free(w);
            free_expr(e);
            return NULL;
        }
    } else if (pd_lex_accept(lx, "(")) {
        if (!(e = new_expr(lx, PD_E_STRUCT)) || !(e = parse_list(lx, e, ")"))) {
            free(w);
            return NULL;
        }
    } else if (!(e = new_expr(lx, PD_E_WORD))) {
        free(w);
        return NULL;
    }
    e->str = w;
    return e;
}

static struct pd_expr *
parse_primary(struct pd_lexer *lx)
{
    struct pd_expr *e;
    int c = pd_lex_peek(lx);

    if (pd_lex_accept(lx, "..."))
        return new_expr(lx, PD_E_ELLIPSIS);
    if (c == '-' || (c >= 0 && isdigit(c)))
        return parse_number_expr(lx);
    if (c == '"') {
        pd_lex_accept(lx, "\"");
        if (!(e = new_expr(lx, PD_E_STRING)))
            return NULL;
        if (!(e->str = pd_lex_until(lx, "\""))) {
            pd_lex_error(lx, "unterminated string");
            free_expr(e);
            return NULL;
        }
        return e;
    }
    if (pd_lex_accept(lx, "["))
        return (e = new_expr(lx, PD_E_ARRAY)) ? parse_list(lx, e, "]") : NULL;
    if (pd_lex_accept(lx, "{"))
        return (e = new_expr(lx, PD_E_STRUCT)) ? parse_list(lx, e, "}") : NULL;
    if (c >= 0 && (isalpha(c) || c == '_'))
        return parse_word_expr(lx);
    pd_lex_error(lx, "unexpected '%c' in expression", c < 0 ? '?' : c);
    return NULL;
}

static struct pd_expr *
parse_expr(struct pd_lexer *lx)
{
    struct pd_expr *e = parse_primary(lx), *o;

    while (e && pd_lex_peek(lx) == '|') {
        pd_lex_accept(lx, "|");
        if (!(o = new_expr(lx, PD_E_OR))) {
            free_expr(e);
            return NULL;
        }
        o->lhs = e;
        if (!(o->rhs = parse_primary(lx))) {
            free_expr(o);
            return NULL;
        }
        e = o;
    }
    return e;
}

/* ---- times ----------------------------------------------------------------- */

static int
parse_one_time(struct pd_lexer *lx, enum pd_time_kind *kind, int64_t *us)
{
    if (pd_lex_accept(lx, "*")) {
        *kind = PD_T_ANY;
        *us = 0;
        return 0;
    }
    *kind = pd_lex_accept(lx, "+") ? PD_T_REL : PD_T_ABS;
    if (!pd_lex_seconds(lx, us))
        return pd_lex_error(lx, "expected a time");
    return 0;
}

static int
parse_time(struct pd_lexer *lx, struct pd_time *t)
{
    memset(t, 0, sizeof(*t));
    TRY(parse_one_time(lx, &t->kind, &t->us));
    if (pd_lex_accept(lx, "~")) {
        t->has_end = true;
        TRY(parse_one_time(lx, &t->end_kind, &t->end_us));
    }
    return 0;
}

/* ---- packets ---------------------------------------------------------------- */

static int
parse_u32(struct pd_lexer *lx, uint32_t *out, const char *what)
{
    unsigned long long v;

    if (!pd_lex_uint(lx, &v) || v > UINT32_MAX)
        return pd_lex_error(lx, "expected %s (a 32-bit number)", what);
    *out = (uint32_t)v;
    return 0;
}

/* '[noecn]', '(tos 0x28)', '(ttl 4)', '[ect0]', ... */
static int
parse_ipinfo(struct pd_lexer *lx, struct pd_packet *p, const char *close)
{
    static const struct { const char *name; enum pd_ecn ecn; } ecns[] = {
        { "noecn", PD_ECN_NOT }, { "ect0", PD_ECN_ECT0 }, { "ect1", PD_ECN_ECT1 },
        { "ect01", PD_ECN_ECT0 }, { "ce", PD_ECN_CE },
    };
    uint32_t v = 0;
    char *w;

    while (!pd_lex_accept(lx, close)) {
        if (!(w = pd_lex_word(lx)))
            return pd_lex_error(lx, "bad IP info in packet");
        bool found = false;
        for (size_t i = 0; i < sizeof(ecns) / sizeof(ecns[0]); i++)
            if (strcmp(w, ecns[i].name) == 0) {
                p->ecn = ecns[i].ecn;
                found = true;
            }
        if (!found && (strcmp(w, "tos") == 0 || strcmp(w, "ttl") == 0
                || strcmp(w, "flowlabel") == 0 || strcmp(w, "class") == 0
                || strcmp(w, "hlim") == 0)) {
            found = parse_u32(lx, &v, w) == 0;
            if (strcmp(w, "tos") == 0 || strcmp(w, "class") == 0)
                p->tos = (int)v;
            else if (strcmp(w, "ttl") == 0 || strcmp(w, "hlim") == 0)
                p->ttl = (int)v;
        }
        free(w);
        if (!found)
            return pd_lex_error(lx, "unknown IP info in packet");
        pd_lex_accept(lx, ",");
    }
    return 0;
}

static int
parse_flags(struct pd_lexer *lx, struct pd_packet *p)
{
    static const char names[] = "FSRP.UEW";
    int c;

    pd_lex_skip_ws(lx);
    if ((c = pd_lex_peek_at(lx, 0)) < 0 || isspace(c))
        return pd_lex_error(lx, "expected TCP flags");
    while ((c = pd_lex_peek_at(lx, 0)) >= 0 && !isspace(c)) {
        const char *f = c == '-' ? NULL : strchr(names, c);
        if (c != '-' && !f)
            return pd_lex_error(lx, "unknown TCP flag '%c'", c);
        if (f)
            p->flags |= (uint8_t)(1u << (f - names));
        lx->pos++;
    }
    return 0;
}

/* 'start:end(len)' with an optional '!', or '...(len)'. */
static int
parse_seq(struct pd_lexer *lx, struct pd_packet *p)
{
    uint32_t end = 0;

    if (pd_lex_accept(lx, "...")) {
        p->seq_any = true;
    } else {
        TRY(parse_u32(lx, &p->seq, "a sequence number"));
        if (!pd_lex_accept(lx, ":"))
            return pd_lex_error(lx, "expected ':' in sequence range");
        TRY(parse_u32(lx, &end, "a sequence number"));
    }
    if (!pd_lex_accept(lx, "("))
        return pd_lex_error(lx, "expected '(' before payload length");
    TRY(parse_u32(lx, &p->len, "a payload length"));
    if (!pd_lex_accept(lx, ")"))
        return pd_lex_error(lx, "expected ')' after payload length");
    if (!p->seq_any && end != p->seq + p->len)
        return pd_lex_error(lx, "sequence range end %u is not start %u + length %u", end,
            p->seq, p->len);
    p->seq_abs = pd_lex_peek_at(lx, 0) == '!';
    if (p->seq_abs)
        lx->pos++;
    return 0;
}

static int
parse_sack_blocks(struct pd_lexer *lx, struct pd_tcpopt *o)
{
    while (pd_lex_peek(lx) >= 0 && isdigit(pd_lex_peek(lx))) {
        if (o->nsack >= PD_MAX_SACK)
            return pd_lex_error(lx, "more than %d SACK blocks", PD_MAX_SACK);
        TRY(parse_u32(lx, &o->sack[o->nsack][0], "a SACK left edge"));
        if (!pd_lex_accept(lx, ":"))
            return pd_lex_error(lx, "expected ':' in SACK block");
        TRY(parse_u32(lx, &o->sack[o->nsack][1], "a SACK right edge"));
        o->nsack++;
    }
    return o->nsack > 0 ? 0 : pd_lex_error(lx, "sack without blocks");
}

static int
hex_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Tapir extension: '0x0402...' is option bytes as written (for malformed
 * options: lengths 0, 1, past the header). */
static int
parse_raw_opt(struct pd_lexer *lx, struct pd_tcpopt *o)
{
    int hi, lo;

    o->kind = PD_OPT_RAW;
    pd_lex_accept(lx, "0x");
    while ((hi = hex_digit(pd_lex_peek_at(lx, 0))) >= 0) {
        if ((lo = hex_digit(pd_lex_peek_at(lx, 1))) < 0)
            return pd_lex_error(lx, "raw option: odd number of hex digits");
        if (o->nraw >= (int)sizeof(o->raw))
            return pd_lex_error(lx, "raw option longer than %zu bytes", sizeof(o->raw));
        o->raw[o->nraw++] = (uint8_t)(hi << 4 | lo);
        lx->pos += 2;
    }
    return o->nraw > 0 ? 0 : pd_lex_error(lx, "raw option without bytes");
}

static int
parse_tcpopt(struct pd_lexer *lx, struct pd_tcpopt *o)
{
    char *w;
    int rc = 0;

    memset(o, 0, sizeof(*o));
    if (pd_lex_peek(lx) == '0' && pd_lex_peek_at(lx, 1) == 'x')
        return parse_raw_opt(lx, o);
    w = pd_lex_word(lx);
    if (!w)
        return pd_lex_error(lx, "expected a TCP option name");
    if (strcmp(w, "nop") == 0)
        o->kind = PD_OPT_NOP;
    else if (strcmp(w, "eol") == 0)
        o->kind = PD_OPT_EOL;
    else if (strcmp(w, "sackOK") == 0)
        o->kind = PD_OPT_SACKOK;
    else if (strcmp(w, "mss") == 0)
        o->kind = PD_OPT_MSS, rc = parse_u32(lx, &o->v1, "an MSS");
    else if (strcmp(w, "wscale") == 0)
        o->kind = PD_OPT_WSCALE, rc = parse_u32(lx, &o->v1, "a window scale");
    else if (strcmp(w, "sack") == 0)
        o->kind = PD_OPT_SACK, rc = parse_sack_blocks(lx, o);
    else if (strcmp(w, "TS") == 0) {
        o->kind = PD_OPT_TS;
        if (!pd_lex_accept_word(lx, "val") || parse_u32(lx, &o->v1, "TS val") < 0
            || !pd_lex_accept_word(lx, "ecr") || parse_u32(lx, &o->v2, "TS ecr") < 0)
            rc = pd_lex_error(lx, "expected 'TS val N ecr N'");
    } else {
        rc = pd_lex_error(lx, "unsupported TCP option '%s'", w);
    }
    free(w);
    return rc;
}

static int
parse_tcpopts(struct pd_lexer *lx, struct pd_packet *p)
{
    if (pd_lex_accept(lx, "...")) {
        p->opts_mode = PD_OPTS_ANY;
        return pd_lex_accept(lx, ">") ? 0 : pd_lex_error(lx, "expected '>' after '<...'");
    }
    p->opts_mode = PD_OPTS_LIST;
    if (pd_lex_accept(lx, ">"))
        return 0;
    do {
        if (p->nopts >= PD_MAX_OPTS)
            return pd_lex_error(lx, "too many TCP options");
        TRY(parse_tcpopt(lx, &p->opts[p->nopts++]));
    } while (pd_lex_accept(lx, ","));
    return pd_lex_accept(lx, ">") ? 0 : pd_lex_error(lx, "expected ',' or '>' in options");
}

static int
parse_tcp(struct pd_lexer *lx, struct pd_packet *p)
{
    TRY(parse_flags(lx, p));
    TRY(parse_seq(lx, p));
    for (;;) {
        if (pd_lex_accept_word(lx, "ack")) {
            p->has_ack = true;
            TRY(parse_u32(lx, &p->ack, "an ack number"));
        } else if (pd_lex_accept_word(lx, "win")) {
            p->has_win = true;
            TRY(parse_u32(lx, &p->win, "a window"));
        } else if (pd_lex_accept_word(lx, "urg")) {
            p->has_urg = true;
            TRY(parse_u32(lx, &p->urg, "an urgent pointer"));
        } else if (pd_lex_accept_word(lx, "bad_csum")) {
            p->bad_csum = true;
        } else {
            break;
        }
    }
    if (pd_lex_peek(lx) == '<') {
        pd_lex_accept(lx, "<");
        TRY(parse_tcpopts(lx, p));
    }
    if (pd_lex_accept_word(lx, "bad_csum"))
        p->bad_csum = true;
    return 0;
}

struct pd_name { const char *name; int value; };

static const struct pd_name icmp_types[] = {
    { "echo_reply", 0 }, { "unreachable", 3 }, { "source_quench", 4 }, { "redirect", 5 },
    { "echo_request", 8 }, { "time_exceeded", 11 }, { "parameter_problem", 12 },
    { NULL, 0 },
};

static const struct pd_name icmp_unreach_codes[] = {
    { "net_unreachable", 0 }, { "host_unreachable", 1 }, { "protocol_unreachable", 2 },
    { "port_unreachable", 3 }, { "frag_needed", 4 }, { "source_route_failed", 5 },
    { "net_unknown", 6 }, { "host_unknown", 7 }, { "source_host_isolated", 8 },
    { "net_prohibited", 9 }, { "host_prohibited", 10 }, { "net_unreachable_for_tos", 11 },
    { "host_unreachable_for_tos", 12 }, { "packet_filtered", 13 },
    { "precedence_violation", 14 }, { "precedence_cutoff", 15 }, { NULL, 0 },
};

static const struct pd_name icmp_time_codes[] = {
    { "ttl_exceeded_in_transit", 0 }, { "frag_reass_exceeded", 1 }, { NULL, 0 },
};

static const struct pd_name icmp_redirect_codes[] = {
    { "redirect_net", 0 }, { "redirect_host", 1 }, { "redirect_tos_net", 2 },
    { "redirect_tos_host", 3 }, { NULL, 0 },
};

/* A name from table, or "<prefix>N". */
static bool
lookup_name(const struct pd_name *table, const char *prefix, const char *w, int *out)
{
    size_t pl = strlen(prefix);
    char *end;

    for (; table && table->name; table++)
        if (strcmp(table->name, w) == 0) {
            *out = table->value;
            return true;
        }
    if (strncmp(w, prefix, pl) == 0 && isdigit((unsigned char)w[pl])) {
        long v = strtol(w + pl, &end, 10);
        if (*end == '\0' && v >= 0 && v <= 255) {
            *out = (int)v;
            return true;
        }
    }
    return false;
}

static const struct pd_name *
codes_for_type(int type)
{
    switch (type) {
    case 3: return icmp_unreach_codes;
    case 5: return icmp_redirect_codes;
    case 11: return icmp_time_codes;
    default: return NULL;
    }
}

static int
parse_icmp_quote(struct pd_lexer *lx, struct pd_icmp *m)
{
    struct pd_packet q = { 0 };

    if (pd_lex_accept_word(lx, "udp"))
        return pd_lex_error(lx, "ICMP quoting UDP is not supported");
    TRY(parse_seq(lx, &q));
    m->has_quote = true;
    m->q_seq = q.seq;
    m->q_len = q.len;
    return pd_lex_accept(lx, "]") ? 0 : pd_lex_error(lx, "expected ']' after quoted segment");
}

static int
parse_icmp(struct pd_lexer *lx, struct pd_packet *p)
{
    struct pd_icmp *m = &p->icmp;
    char *w = pd_lex_word(lx);
    uint32_t id;
    int rc = 0;

    p->is_icmp = true;
    if (!w || !lookup_name(icmp_types, "type_", w, &m->type)) {
        free(w);
        return pd_lex_error(lx, "unknown ICMP type");
    }
    free(w);
    while (rc == 0 && (w = pd_lex_word(lx)) != NULL) {
        if (strcmp(w, "mtu") == 0) {
            m->has_mtu = true;
            rc = parse_u32(lx, &m->mtu, "an MTU");
        } else if (strcmp(w, "id") == 0) {
            rc = parse_u32(lx, &id, "an ICMP id");
        } else if (!lookup_name(codes_for_type(m->type), "code_", w, &m->code)) {
            rc = pd_lex_error(lx, "unknown ICMP code '%s' for type %d", w, m->type);
        }
        free(w);
    }
    if (rc == 0 && pd_lex_accept(lx, "["))
        rc = parse_icmp_quote(lx, m);
    return rc;
}

static int
parse_packet(struct pd_lexer *lx, struct pd_event *ev)
{
    struct pd_packet *p = &ev->pkt;

    ev->kind = PD_EV_PACKET;
    p->ecn = PD_ECN_UNSET;
    p->tos = p->ttl = -1;
    p->outbound = pd_lex_accept(lx, ">");
    if (!p->outbound)
        pd_lex_accept(lx, "<");
    if (pd_lex_accept(lx, "["))
        TRY(parse_ipinfo(lx, p, "]"));
    else if (pd_lex_accept(lx, "("))
        TRY(parse_ipinfo(lx, p, ")"));
    if (pd_lex_accept_word(lx, "icmp"))
        return parse_icmp(lx, p);
    if (pd_lex_accept_word(lx, "udp"))
        return pd_lex_error(lx, "UDP packets are not supported");
    return parse_tcp(lx, p);
}

/* ---- syscalls ---------------------------------------------------------------- */

static int
parse_syscall(struct pd_lexer *lx, struct pd_event *ev)
{
    struct pd_syscall *sc = &ev->sys;

    ev->kind = PD_EV_SYSCALL;
    if (!(sc->name = pd_lex_word(lx)))
        return pd_lex_error(lx, "expected a system call name");
    if (!pd_lex_accept(lx, "("))
        return pd_lex_error(lx, "expected '(' after %s", sc->name);
    if (!pd_lex_accept(lx, ")")) {
        do {
            if (sc->nargs >= PD_MAX_ARGS)
                return pd_lex_error(lx, "too many arguments to %s", sc->name);
            if (!(sc->args[sc->nargs++] = parse_expr(lx)))
                return -1;
        } while (pd_lex_accept(lx, ","));
        if (!pd_lex_accept(lx, ")"))
            return pd_lex_error(lx, "expected ')' after arguments of %s", sc->name);
    }
    if (!pd_lex_accept(lx, "="))
        return pd_lex_error(lx, "expected '=' after %s(...)", sc->name);
    if (!(sc->ret = parse_expr(lx)))
        return -1;
    if (pd_lex_peek(lx) >= 0 && isupper(pd_lex_peek(lx)))
        sc->err = pd_lex_word(lx);
    if (pd_lex_accept(lx, "(")) {
        char *note = pd_lex_until(lx, ")");
        if (!note)
            return pd_lex_error(lx, "unterminated '(' note after %s", sc->name);
        free(note);
    }
    return 0;
}

/* ---- events and the script ------------------------------------------------------ */

static int
parse_action(struct pd_lexer *lx, struct pd_event *ev)
{
    int c = pd_lex_peek(lx);

    if (c == '<' || c == '>')
        return parse_packet(lx, ev);
    if (pd_lex_accept(lx, "`")) {
        ev->kind = PD_EV_COMMAND;
        ev->text = pd_lex_until(lx, "`");
        return ev->text ? 0 : pd_lex_error(lx, "unterminated backtick command");
    }
    if (pd_lex_accept(lx, "%{")) {
        ev->kind = PD_EV_CODE;
        ev->text = pd_lex_until(lx, "}%");
        return ev->text ? 0 : pd_lex_error(lx, "unterminated %%{ }%% block");
    }
    if (c >= 0 && (isalpha(c) || c == '_'))
        return parse_syscall(lx, ev);
    return pd_lex_error(lx, "expected a packet, a system call or a command");
}

static int
parse_event(struct pd_lexer *lx, struct pd_event *ev)
{
    ev->line = lx->line;
    TRY(parse_time(lx, &ev->time));
    if (pd_lex_accept(lx, "...")) {
        ev->sys.blocking = true;
        TRY(parse_one_time(lx, &ev->sys.end.kind, &ev->sys.end.us));
    }
    TRY(parse_action(lx, ev));
    if (ev->sys.blocking && ev->kind != PD_EV_SYSCALL)
        return pd_lex_error(lx, "'...' end time on something other than a system call");
    if (ev->time.kind == PD_T_ANY || ev->time.has_end)
        if (ev->kind != PD_EV_PACKET || !ev->pkt.outbound)
            return pd_lex_error(lx, "'*' and '~' times are for outbound packets only");
    return 0;
}

static int
parse_option(struct pd_lexer *lx, struct pd_script *s)
{
    struct pd_option *o, **tail;
    size_t n = 0;
    char *text;

    pd_lex_accept(lx, "--");
    while (pd_lex_peek_at(lx, n) >= 0 && !isspace(pd_lex_peek_at(lx, n)))
        n++;
    if (n == 0 || !(o = calloc(1, sizeof(*o))))
        return pd_lex_error(lx, "bad option");
    text = strndup(lx->text + lx->pos, n);
    lx->pos += n;
    if (!text) {
        free(o);
        return pd_lex_error(lx, "out of memory");
    }
    char *eq = strchr(text, '=');
    if (eq) {
        *eq = '\0';
        o->value = strdup(eq + 1);
    }
    o->name = text;
    for (tail = &s->options; *tail; tail = &(*tail)->next)
        ;
    *tail = o;
    return 0;
}

static int
parse_script(struct pd_lexer *lx, struct pd_script *s)
{
    struct pd_event **tail = &s->events;

    while (!pd_lex_eof(lx)) {
        if (pd_lex_peek(lx) == '-' && pd_lex_peek_at(lx, 1) == '-') {
            TRY(parse_option(lx, s));
            continue;
        }
        struct pd_event *ev = calloc(1, sizeof(*ev));
        if (!ev)
            return pd_lex_error(lx, "out of memory");
        *tail = ev;
        tail = &ev->next;
        s->nevents++;
        TRY(parse_event(lx, ev));
    }
    return 0;
}

int
pd_parse_file(const char *path, const char *const *defines, int ndefines,
    struct pd_script *out, char err[PD_ERR_LEN])
{
    struct pd_lexer lx;
    int rc;

    memset(out, 0, sizeof(*out));
    out->path = path;
    rc = pd_lex_open(&lx, path, defines, ndefines);
    if (rc == 0)
        rc = parse_script(&lx, out);
    if (rc < 0) {
        snprintf(err, PD_ERR_LEN, "%s", lx.err);
        pd_script_free(out);
    }
    pd_lex_close(&lx);
    return rc;
}

void
pd_script_free(struct pd_script *s)
{
    struct pd_event *ev, *nev;
    struct pd_option *o, *no;

    for (ev = s->events; ev; ev = nev) {
        nev = ev->next;
        free(ev->sys.name);
        free(ev->sys.err);
        for (int i = 0; i < ev->sys.nargs; i++)
            free_expr(ev->sys.args[i]);
        free_expr(ev->sys.ret);
        free(ev->text);
        free(ev);
    }
    for (o = s->options; o; o = no) {
        no = o->next;
        free(o->name);
        free(o->value);
        free(o);
    }
    s->events = NULL;
    s->options = NULL;
}

const char *
pd_script_option(const struct pd_script *s, const char *name)
{
    for (const struct pd_option *o = s->options; o; o = o->next)
        if (strcmp(o->name, name) == 0)
            return o->value ? o->value : "";
    return NULL;
}
