/*
 * src/services/http.c -- a small HTTP/1.1 server (RFC 9112) for `tapir run
 * --http`: GET and HEAD of files under one directory, and of generated
 * content: /bytes/N answers N bytes of the pattern tp_svc_pattern().
 *
 * Keep-alive and pipelining; a request head is at most SVC_HTTP_IN_CAP
 * bytes (more: 413), a malformed one gets 400; both end that connection
 * after the answer, the server goes on.  Paths are resolved beneath the
 * directory only (openat2 RESOLVE_BENEATH), and ".." segments are refused
 * before that.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "linux/log.h"
#include "services/svc_int.h"

#define HTTP_BODY_MAX (1u << 20)    /* a request body we read and drop, at most */
#define HTTP_BYTES_MAX (1ull << 40) /* /bytes/N, at most */

struct svc_http {
    uint8_t in[SVC_HTTP_IN_CAP];
    size_t in_len;
    uint64_t req_body_left;         /* request body bytes still to drop */
    bool in_response;               /* a body is being produced */
    bool close_after;               /* FIN once this answer is sent */
    int fd;                         /* the file being sent, or -1 */
    uint64_t body_left;             /* body bytes still to produce */
    uint64_t pat_off;               /* generated content: next offset */
};

struct http_req {
    char method[8];
    char path[1024];                /* decoded, without the query */
    bool is_head;
    bool keep_alive;
    uint64_t content_length;
};

int
svc_http_new(struct svc_conn *c)
{
    if ((c->http = calloc(1, sizeof(*c->http))) == NULL)
        return -ENOMEM;
    c->http->fd = -1;
    return 0;
}

void
svc_http_free(struct svc_conn *c)
{
    if (c->http == NULL)
        return;
    if (c->http->fd >= 0)
        close(c->http->fd);
    free(c->http);
    c->http = NULL;
}

static const char *
reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

/* Queue the status line and headers (c->out is empty between answers). */
static void
put_head(struct svc_conn *c, int status, const char *type, uint64_t len, bool keep_alive)
{
    size_t room = svc_out_room(c);
    int n = snprintf((char *)c->out + c->out_len, room,
        "HTTP/1.1 %d %s\r\nServer: tapir\r\nContent-Type: %s\r\nContent-Length: %llu\r\n"
        "Connection: %s\r\n%s\r\n", status, reason(status), type, (unsigned long long)len,
        keep_alive ? "keep-alive" : "close", status == 405 ? "Allow: GET, HEAD\r\n" : "");

    if (n > 0 && (size_t)n < room)
        c->out_len += (size_t)n;
    c->svc->stats[TP_SVC_STAT_HTTP_REQS]++;
    if (status >= 400 && status < 500)
        c->svc->stats[TP_SVC_STAT_HTTP_4XX]++;
    else if (status >= 500)
        c->svc->stats[TP_SVC_STAT_HTTP_5XX]++;
}

/* An error answer with a short text body; the connection ends after it. */
static void
answer_error(struct svc_conn *c, int status)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));

    put_head(c, status, "text/plain", (uint64_t)n, false);
    if (svc_out_room(c) >= (size_t)n) {
        memcpy(c->out + c->out_len, body, (size_t)n);
        c->out_len += (size_t)n;
    }
    c->http->close_after = true;
    c->http->in_response = true;
    c->http->body_left = 0;
}

static int
hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Decode %XX escapes of the target's path (the query is dropped).  -1 on a
 * bad escape, an encoded NUL, or no room. */
static int
decode_path(const char *t, size_t len, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < len && t[i] != '?' && t[i] != '#'; i++) {
        char ch = t[i];

        if (ch == '%') {
            int hi = i + 2 < len ? hexval(t[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(t[i + 2]) : -1;

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

static bool
is_tchar(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
        || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* "METHOD SP TARGET SP HTTP/1.x".  Returns 0 or an HTTP status. */
static int
parse_request_line(const char *line, size_t len, struct http_req *r, int *minor)
{
    const char *sp1 = memchr(line, ' ', len), *sp2;
    size_t mlen;

    if (sp1 == NULL)
        return 400;
    mlen = (size_t)(sp1 - line);
    sp2 = memchr(sp1 + 1, ' ', len - mlen - 1);
    if (mlen == 0 || mlen >= sizeof(r->method) || sp2 == NULL)
        return 400;
    for (size_t i = 0; i < mlen; i++) {
        if (!is_tchar(line[i]))
            return 400;
    }
    memcpy(r->method, line, mlen);
    r->method[mlen] = '\0';
    if ((size_t)(line + len - (sp2 + 1)) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return 400;
    if (sp2[8] != '0' && sp2[8] != '1')
        return sp2[8] >= '2' && sp2[8] <= '9' ? 505 : 400;
    *minor = sp2[8] - '0';
    if (sp1[1] != '/' || decode_path(sp1 + 1, (size_t)(sp2 - sp1 - 1), r->path,
            sizeof(r->path)) != 0)
        return 400;
    return 0;
}

static bool
value_is(const char *v, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(v, word, len) == 0;
}

/* One "Name: value" line.  Returns 0 or an HTTP status. */
static int
parse_header(const char *line, size_t len, struct http_req *r)
{
    const char *colon = memchr(line, ':', len), *v;
    size_t nlen, vlen;

    if (colon == NULL || colon == line)
        return 400;
    nlen = (size_t)(colon - line);
    for (size_t i = 0; i < nlen; i++) {
        if (!is_tchar(line[i]))
            return 400;
    }
    v = colon + 1;
    vlen = len - nlen - 1;
    while (vlen > 0 && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
        if (value_is(v, vlen, "close"))
            r->keep_alive = false;
        else if (value_is(v, vlen, "keep-alive"))
            r->keep_alive = true;
    } else if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
        uint64_t n = 0;

        if (vlen == 0 || vlen > 12)
            return vlen == 0 ? 400 : 413;
        for (size_t i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9')
                return 400;
            n = n * 10 + (uint64_t)(v[i] - '0');
        }
        if (n > HTTP_BODY_MAX)
            return 413;
        r->content_length = n;
    } else if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
        return 501;
    }
    return 0;
}

/* Parse the head in[0..head_len) (ending in CRLF CRLF).  0 or a status. */
static int
parse_head(const char *in, size_t head_len, struct http_req *r)
{
    const char *p = in, *end = in + head_len - 2;   /* the final empty line */
    int minor = 1, err;
    bool first = true;

    memset(r, 0, sizeof(*r));
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len;

        if (eol == NULL || eol == p || eol[-1] != '\r')
            return 400;
        len = (size_t)(eol - 1 - p);
        if (first) {
            if ((err = parse_request_line(p, len, r, &minor)) != 0)
                return err;
            r->keep_alive = minor == 1;
            first = false;
        } else if (len == 0 || (err = parse_header(p, len, r)) != 0) {
            return len == 0 ? 400 : err;
        }
        p = eol + 1;
    }
    if (first)
        return 400;
    r->is_head = strcmp(r->method, "HEAD") == 0;
    if (!r->is_head && strcmp(r->method, "GET") != 0)
        return 405;
    return 0;
}

/* /bytes/N: N decimal digits, no sign, no leading junk. */
static bool
parse_bytes_path(const char *path, uint64_t *n)
{
    const char *d = path + 7;

    if (strncmp(path, "/bytes/", 7) != 0 || *d == '\0' || strlen(d) > 13)
        return false;
    *n = 0;
    for (; *d != '\0'; d++) {
        if (*d < '0' || *d > '9')
            return false;
        *n = *n * 10 + (uint64_t)(*d - '0');
    }
    return *n <= HTTP_BYTES_MAX;
}

/* A ".." segment anywhere refuses the path. */
static bool
has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2) {
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return true;
    }
    return false;
}

/* Open path beneath the served directory: an fd and its size, or a status. */
static int
open_file(struct svc_conn *c, const char *path, int *fd, uint64_t *size)
{
    struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
    char rel[1040];
    struct stat sb;
    long f;

    while (*path == '/')
        path++;
    snprintf(rel, sizeof(rel), "%s", *path == '\0' ? "." : path);
    f = syscall(SYS_openat2, c->svc->dirfd, rel, &how, sizeof(how));
    if (f >= 0 && fstat((int)f, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        long idx = syscall(SYS_openat2, (int)f, "index.html", &how, sizeof(how));

        close((int)f);
        f = idx;
    }
    if (f < 0)
        return errno == EXDEV || errno == EACCES || errno == ELOOP ? 403 : 404;
    if (fstat((int)f, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close((int)f);
        return 404;
    }
    *fd = (int)f;
    *size = (uint64_t)sb.st_size;
    return 0;
}

static const char index_text[] =
    "tapir HTTP server\n"
    "GET /bytes/N returns N bytes: byte i is i % 251\n";

/* Answer a parsed request: head now, the body as room allows. */
static void
answer(struct svc_conn *c, const struct http_req *r)
{
    struct svc_http *h = c->http;
    uint64_t n = 0;
    int fd = -1, status;

    h->close_after = !r->keep_alive;
    if (parse_bytes_path(r->path, &n)) {
        put_head(c, 200, "application/octet-stream", n, r->keep_alive);
        h->pat_off = 0;
    } else if (has_dotdot(r->path)) {
        answer_error(c, 403);
        return;
    } else if (c->svc->dirfd < 0 && strcmp(r->path, "/") == 0) {
        n = sizeof(index_text) - 1;
        put_head(c, 200, "text/plain", n, r->keep_alive);
        if (!r->is_head) {
            memcpy(c->out + c->out_len, index_text, n);
            c->out_len += n;
        }
        n = 0;
    } else if (c->svc->dirfd < 0 || (status = open_file(c, r->path, &fd, &n)) != 0) {
        answer_error(c, c->svc->dirfd < 0 ? 404 : status);
        return;
    } else {
        put_head(c, 200, "application/octet-stream", n, r->keep_alive);
    }
    h->fd = fd;
    h->body_left = r->is_head ? 0 : n;
    h->in_response = true;
}

/* Take the next request from the input, if a whole head is there. */
static void
next_request(struct svc_conn *c, bool *progress)
{
    struct svc_http *h = c->http;
    const char *end = memmem(h->in, h->in_len, "\r\n\r\n", 4);
    struct http_req r;
    size_t head_len;
    int status;

    if (end == NULL) {
        if (h->in_len == SVC_HTTP_IN_CAP) {
            answer_error(c, 413);       /* the head does not fit */
            *progress = true;
        }
        return;
    }
    head_len = (size_t)(end - (const char *)h->in) + 4;
    status = parse_head((const char *)h->in, head_len, &r);
    memmove(h->in, h->in + head_len, h->in_len - head_len);
    h->in_len -= head_len;
    *progress = true;
    if (status != 0) {
        answer_error(c, status);
        return;
    }
    h->req_body_left = r.content_length;
    answer(c, &r);
}

/* Drop a request body from the input buffer. */
static void
drop_body(struct svc_http *h)
{
    size_t n = h->req_body_left < h->in_len ? (size_t)h->req_body_left : h->in_len;

    memmove(h->in, h->in + n, h->in_len - n);
    h->in_len -= n;
    h->req_body_left -= n;
}

/* Produce body bytes into c->out.  0 or a negative errno. */
static int
produce_body(struct svc_conn *c, bool *progress)
{
    struct svc_http *h = c->http;
    size_t room = svc_out_room(c);
    size_t n = h->body_left < room ? (size_t)h->body_left : room;
    ssize_t got;

    if (n == 0)
        return 0;
    if (h->fd < 0) {
        tp_svc_pattern(h->pat_off, c->out + c->out_len, n);
        h->pat_off += n;
        got = (ssize_t)n;
    } else if ((got = read(h->fd, c->out + c->out_len, n)) <= 0) {
        /* The file shrank or failed: the promised length cannot be kept. */
        return got == 0 ? -EIO : -errno;
    }
    c->out_len += (size_t)got;
    h->body_left -= (uint64_t)got;
    *progress = true;
    return 0;
}

/* The answer is produced and sent: next request, or FIN. */
static int
end_response(struct svc_conn *c, bool *progress)
{
    struct svc_http *h = c->http;

    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->in_response = false;
    *progress = true;
    if (!h->close_after)
        return 0;
    c->wr_shut = true;              /* drain input until the peer's FIN */
    return tapir_tcp_shutdown(c->svc->st, c->sock, TAPIR_SHUT_WR);
}

int
svc_http_work(struct svc_conn *c, bool *progress)
{
    struct svc_http *h = c->http;
    size_t room = SVC_HTTP_IN_CAP - h->in_len;
    long n = -EAGAIN;
    int err;

    if (room > 0 && !c->rd_eof) {
        n = tapir_tcp_recv(c->svc->st, c->sock, h->in + h->in_len, room, 0);
        if (n > 0) {
            h->in_len += (size_t)n;
            c->svc->stats[TP_SVC_STAT_BYTES_IN] += (uint64_t)n;
            *progress = true;
        } else if (n == 0) {
            c->rd_eof = true;
            *progress = true;
        } else if (n != -EAGAIN) {
            return (int)n;
        }
    }
    if (h->req_body_left > 0)
        drop_body(h);
    if (!h->in_response && h->req_body_left == 0)
        next_request(c, progress);
    if (h->in_response && (err = produce_body(c, progress)) != 0)
        return err;
    if ((err = svc_flush(c, progress)) != 0)
        return err;
    if (h->in_response && h->body_left == 0 && c->out_off == c->out_len)
        return end_response(c, progress);
    /* The peer is done and nothing is left to answer. */
    if (c->rd_eof && !h->in_response && c->out_off == c->out_len)
        return 1;
    return 0;
}
