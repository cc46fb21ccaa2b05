/*
 * tests/pktdrill/lexer.c -- the script text as a cursor for parser.c.
 *
 * The language is context sensitive ('.' is the ACK flag in a packet and a
 * decimal point in a time), so instead of a token stream the parser asks
 * for what it expects next.  Loading removes comments (// and C style) and
 * the lines of #ifdef/#ifndef blocks whose symbol is not defined, keeping
 * newlines so line numbers stay those of the file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd.h"

#define PD_MAX_IF_DEPTH 16

static char *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (!f)
        return NULL;
    do {
        if (n + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = (cap ? cap * 2 : 8192));
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void
blank(char *from, char *to)
{
    for (char *p = from; p < to; p++)
        if (*p != '\n')
            *p = ' ';
}

static bool
is_defined(const char *sym, size_t len, const char *const *defines, int ndefines)
{
    for (int i = 0; i < ndefines; i++)
        if (strlen(defines[i]) == len && strncmp(defines[i], sym, len) == 0)
            return true;
    return false;
}

/* The directive on one line starting at p (already past the '#').  Updates
 * the stack of "this level is live" flags.  Returns -1 on a bad directive. */
static int
directive(const char *p, bool *live, int *depth, const char *const *defines, int ndefines)
{
    size_t wl;
    bool neg = false, parent = *depth == 0 || live[*depth - 1];

    if (strncmp(p, "ifdef", 5) == 0 || (neg = strncmp(p, "ifndef", 6) == 0)) {
        p += neg ? 6 : 5;
        while (*p == ' ' || *p == '\t')
            p++;
        wl = strcspn(p, " \t\r\n");
        if (*depth >= PD_MAX_IF_DEPTH)
            return -1;
        live[(*depth)++] = parent && (is_defined(p, wl, defines, ndefines) != neg);
        return 0;
    }
    if (strncmp(p, "else", 4) == 0 && *depth > 0) {
        bool grand = *depth == 1 || live[*depth - 2];
        live[*depth - 1] = grand && !live[*depth - 1];
        return 0;
    }
    if (strncmp(p, "endif", 5) == 0 && *depth > 0) {
        (*depth)--;
        return 0;
    }
    return -1;
}

static int
preprocess(struct pd_lexer *lx, const char *const *defines, int ndefines)
{
    bool live[PD_MAX_IF_DEPTH];
    int depth = 0, line = 1;
    char *p = lx->text, *eol, *q;

    while (*p) {
        eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        for (q = p; *q == ' ' || *q == '\t'; q++)
            ;
        if (*q == '#') {
            if (directive(q + 1, live, &depth, defines, ndefines) < 0) {
                lx->line = line;
                return pd_lex_error(lx, "bad preprocessor line");
            }
            blank(p, eol);
        } else if (depth > 0 && !live[depth - 1]) {
            blank(p, eol);
        }
        p = *eol ? eol + 1 : eol;
        line++;
    }
    if (depth != 0) {
        lx->line = line;
        return pd_lex_error(lx, "#ifdef without #endif");
    }
    return 0;
}

/* Skip a quoted region starting at p (its opening delimiter) and return the
 * first character after its closing one. */
static char *
skip_quoted(char *p, const char *close)
{
    char *e = strstr(p + 1, close);

    return e ? e + strlen(close) : p + strlen(p);
}

static void
strip_comments(char *p)
{
    char *e;

    while (*p) {
        if (*p == '"' || *p == '`') {
            p = skip_quoted(p, *p == '"' ? "\"" : "`");
        } else if (p[0] == '%' && p[1] == '{') {
            p = skip_quoted(p + 1, "}%");
        } else if (p[0] == '/' && p[1] == '/') {
            e = strchr(p, '\n');
            e = e ? e : p + strlen(p);
            blank(p, e);
            p = e;
        } else if (p[0] == '/' && p[1] == '*') {
            e = strstr(p + 2, "*/");
            e = e ? e + 2 : p + strlen(p);
            blank(p, e);
            p = e;
        } else {
            p++;
        }
    }
}

int
pd_lex_open(struct pd_lexer *lx, const char *path, const char *const *defines,
    int ndefines)
{
    memset(lx, 0, sizeof(*lx));
    lx->path = path;
    lx->line = 1;
    lx->text = read_all(path, &lx->len);
    if (!lx->text)
        return pd_lex_error(lx, "cannot read: %s", strerror(errno));
    if (strlen(lx->text) != lx->len)
        return pd_lex_error(lx, "NUL byte in script");
    if (preprocess(lx, defines, ndefines) < 0)
        return -1;
    lx->line = 1;
    strip_comments(lx->text);
    return 0;
}

void
pd_lex_close(struct pd_lexer *lx)
{
    free(lx->text);
    lx->text = NULL;
}

void
pd_lex_skip_ws(struct pd_lexer *lx)
{
    while (lx->pos < lx->len && isspace((unsigned char)lx->text[lx->pos])) {
        if (lx->text[lx->pos] == '\n')
            lx->line++;
        lx->pos++;
    }
}

bool
pd_lex_eof(struct pd_lexer *lx)
{
    pd_lex_skip_ws(lx);
    return lx->pos >= lx->len;
}

int
pd_lex_peek(struct pd_lexer *lx)
{
    pd_lex_skip_ws(lx);
    return lx->pos < lx->len ? (unsigned char)lx->text[lx->pos] : -1;
}

int
pd_lex_peek_at(const struct pd_lexer *lx, size_t off)
{
    return lx->pos + off < lx->len ? (unsigned char)lx->text[lx->pos + off] : -1;
}

bool
pd_lex_accept(struct pd_lexer *lx, const char *s)
{
    size_t n = strlen(s);

    pd_lex_skip_ws(lx);
    if (lx->len - lx->pos < n || strncmp(lx->text + lx->pos, s, n) != 0)
        return false;
    lx->pos += n;
    return true;
}

static bool
is_word_char(int c)
{
    return c >= 0 && (isalnum(c) || c == '_');
}

bool
pd_lex_accept_word(struct pd_lexer *lx, const char *w)
{
    size_t n = strlen(w);

    pd_lex_skip_ws(lx);
    if (lx->len - lx->pos < n || strncmp(lx->text + lx->pos, w, n) != 0
        || is_word_char(pd_lex_peek_at(lx, n)))
        return false;
    lx->pos += n;
    return true;
}

char *
pd_lex_word(struct pd_lexer *lx)
{
    size_t n = 0;
    char *w;
    int c = pd_lex_peek(lx);

    if (c < 0 || !(isalpha(c) || c == '_'))
        return NULL;
    while (is_word_char(pd_lex_peek_at(lx, n)))
        n++;
    w = strndup(lx->text + lx->pos, n);
    lx->pos += n;
    return w;
}

bool
pd_lex_uint(struct pd_lexer *lx, unsigned long long *out)
{
    const char *s;
    char *end;

    if (pd_lex_peek(lx) < 0 || !isdigit(pd_lex_peek(lx)))
        return false;
    s = lx->text + lx->pos;
    errno = 0;
    *out = strtoull(s, &end, 0);
    if (errno != 0 || is_word_char((unsigned char)*end))
        return false;
    lx->pos += (size_t)(end - s);
    return true;
}

bool
pd_lex_seconds(struct pd_lexer *lx, int64_t *us)
{
    int64_t secs = 0, frac = 0, scale = 1000000;
    bool any = false;
    int c;

    pd_lex_skip_ws(lx);
    while ((c = pd_lex_peek_at(lx, 0)) >= 0 && isdigit(c)) {
        secs = secs * 10 + (c - '0');
        lx->pos++;
        any = true;
    }
    if (pd_lex_peek_at(lx, 0) == '.' && isdigit(pd_lex_peek_at(lx, 1))) {
        lx->pos++;
        while ((c = pd_lex_peek_at(lx, 0)) >= 0 && isdigit(c)) {
            scale /= 10;
            frac += (c - '0') * scale;
            lx->pos++;
        }
        any = true;
    }
    *us = secs * 1000000 + frac;
    return any;
}

char *
pd_lex_until(struct pd_lexer *lx, const char *close)
{
    const char *s = lx->text + lx->pos, *e = strstr(s, close);
    char *out;

    if (!e)
        return NULL;
    out = strndup(s, (size_t)(e - s));
    for (const char *p = s; p < e; p++)
        lx->line += *p == '\n';
    lx->pos += (size_t)(e - s) + strlen(close);
    return out;
}

int
pd_lex_error(struct pd_lexer *lx, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(lx->err, sizeof(lx->err), "%s:%d: ", lx->path, lx->line);
    if (n < 0 || (size_t)n >= sizeof(lx->err))
        return -1;
    va_start(ap, fmt);
    vsnprintf(lx->err + n, sizeof(lx->err) - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}
