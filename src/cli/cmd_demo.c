/*
 * src/cli/cmd_demo.c -- `tapir demo`: a stack on a TUN device in a private
 * network namespace, the kernel's tools against it (ping; a TCP echo round
 * trip and a 10 MB HTTP GET by the kernel's python3 and curl; a kernel
 * listener that tapir connects out to), and a readable report.
 * Called by main.c; calls device.c, the runtime (src/linux), the services
 * (src/services) and ping(8), python3, curl.
 * Design notes (one thread, steps as a table, fork for the namespace) are
 * above demo_steps[] and run_demo().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cli/cli.h"
#include "linux/clock.h"
#include "linux/log.h"
#include "services/nc.h"

#define DEMO_DEV "tapir0"
#define DEMO_ADDR 0xc0000201u       /* 192.0.2.1 (RFC 5737 TEST-NET-1): the stack */
#define DEMO_PEER 0xc0000202u       /* 192.0.2.2: the kernel's end of the device */
#define DEMO_MTU 1500
#define OUT_CAP 16384               /* a tool's output kept for the report */
#define DEMO_HTTP_PORT 80
#define DEMO_ECHO_BYTES 65536
#define DEMO_HTTP_BYTES (10u << 20)
#define DEMO_OUT_PORT 7000          /* the kernel's listener for tapir's connection */

extern char **environ;

struct demo_opts {
    unsigned count;                 /* pings */
    bool verbose;
    enum tapir_log_level level;
};

enum verdict { V_PASS, V_FAIL, V_PENDING };

struct demo;

/* A kernel-side tool a step runs: output captured, exit seen by pidfd. */
struct demo_proc {
    struct demo *d;
    pid_t pid;
    struct tp_watch out_w;          /* the read end of its stdout+stderr pipe */
    struct tp_watch pid_w;          /* its pidfd: readable once it exited */
    struct tp_watch timer_w;        /* a timerfd: the step's time limit */
    int n_open;                     /* watchers not yet closed */
    int status;                     /* from waitpid */
    bool is_pending;                /* started; its step awaits the outcome */
    bool is_timed_out;
    bool is_aborted;
    unsigned timeout_ms;
    char out[OUT_CAP];
    size_t out_len;
};

struct demo_step {
    const char *name;
    /* Run the step; V_PENDING if it started a tool (see proc_start). */
    enum verdict (*start)(struct demo *d);
    /* The tool exited on its own in time: judge its outcome.  NULL for
     * steps that never return V_PENDING. */
    enum verdict (*finish)(struct demo *d, struct demo_proc *p);
};

struct demo {
    struct demo_opts opts;
    struct tp_cli_dev dev;
    struct tp_tun tun;
    struct tp_nl nl;
    bool is_dev_up;
    struct tp_rt *rt;
    size_t cur;                     /* the step running or next */
    const struct demo_step *step;   /* the step running */
    int n_pass, n_fail, n_skip;
    bool is_interrupted;            /* stop starting steps */
    struct tapir_time t0;           /* the current step's start */
    char detail[200];               /* the current step's one-line outcome */
    struct demo_proc proc;
    uint64_t echo_reps_before;
    struct tp_svc *svc;             /* echo and HTTP on the stack */
    struct tp_nc *nc;               /* tapir's connection out */
    int out_file_fd;                /* what nc sends */
    int null_fd;                    /* where nc writes what it receives */
};

static void run_steps(struct demo *d);
static void finish_step(struct demo *d, enum verdict v);

/* ---- the report -------------------------------------------------------- */

static void
print_step(const char *verdict, const char *name, const char *detail, const char *took)
{
    printf("  %-4s  %-10s %-58s %10s\n", verdict, name, detail, took);
    fflush(stdout);
}

static void
format_ms(struct tapir_dur d, char *buf, size_t cap)
{
    double ms = (double)d.us / 1000.0;

    snprintf(buf, cap, ms < 10 ? "%.2f ms" : "%.0f ms", ms);
}

static void
print_output(const struct demo_proc *p)
{
    const char *s = p->out, *end = p->out + p->out_len;

    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        int n = (int)((nl != NULL ? nl : end) - s);

        printf("          | %.*s\n", n, s);
        s += n + 1;
    }
}

static void
detail(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
detail(struct demo *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(d->detail, sizeof(d->detail), fmt, ap);
    va_end(ap);
}

/* ---- kernel-side tools --------------------------------------------------- */

static void proc_maybe_done(struct demo_proc *p);

static void
on_proc_closed(struct tp_rt *rt, struct tp_watch *w)
{
    struct demo_proc *p = w->ctx;

    (void)rt;
    close(w->fd);
    w->fd = -1;
    p->n_open--;
    proc_maybe_done(p);
}

static void
read_output(struct demo_proc *p)
{
    char scratch[4096];

    for (;;) {
        size_t room = sizeof(p->out) - p->out_len;
        char *dst = room > 0 ? p->out + p->out_len : scratch;
        ssize_t n = read(p->out_w.fd, dst, room > 0 ? room : sizeof(scratch));

        if (n > 0) {
            if (room > 0)
                p->out_len += (size_t)n;     /* past OUT_CAP, output is dropped */
            continue;
        }
        if (n == 0 || (errno != EINTR && errno != EAGAIN))
            tp_rt_watch_close(p->d->rt, &p->out_w);   /* EOF or a broken pipe */
        if (n == -1 && errno == EINTR)
            continue;
        return;
    }
}

static void
on_proc_output(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    (void)rt;
    (void)events;
    read_output(w->ctx);
}

static void
on_proc_exit(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct demo_proc *p = w->ctx;

    (void)events;
    if (waitpid(p->pid, &p->status, WNOHANG) != p->pid)
        return;
    p->pid = -1;
    if (p->out_w.is_active)
        read_output(p);             /* what it wrote before exiting */
    tp_rt_watch_close(rt, &p->out_w);
    tp_rt_watch_close(rt, &p->pid_w);
    tp_rt_watch_close(rt, &p->timer_w);
}

static void
on_proc_timeout(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct demo_proc *p = w->ctx;

    (void)events;
    p->is_timed_out = true;
    if (p->pid > 0)
        kill(p->pid, SIGKILL);      /* by its exact pid; the pidfd then fires */
    tp_rt_watch_close(rt, w);
}

static int
watch(struct demo_proc *p, struct tp_watch *w, int fd, tp_watch_fn *fn)
{
    int err;

    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->events = EPOLLIN;
    w->fn = fn;
    w->on_close = on_proc_closed;
    w->ctx = p;
    if ((err = tp_rt_watch_add(p->d->rt, w)) != 0) {
        close(fd);
        w->fd = -1;
        return err;
    }
    p->n_open++;
    return 0;
}

static int
spawn(pid_t *pid, char *const argv[], int in_fd, int out_fd)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, dfl;
    int err;

    /* The runtime blocks SIGINT/SIGTERM/SIGUSR1 for its signalfd; the tool
     * gets them back, with their default actions. */
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGUSR1);
    posix_spawn_file_actions_init(&fa);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
    else
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    err = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return -err;
}

static int
arm_timeout(struct demo_proc *p)
{
    struct itimerspec its = { .it_value = { .tv_sec = p->timeout_ms / 1000,
        .tv_nsec = (long)(p->timeout_ms % 1000) * 1000000 } };
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

    if (fd == -1)
        return -errno;
    if (timerfd_settime(fd, 0, &its, NULL) == -1) {
        close(fd);
        return -errno;
    }
    return watch(p, &p->timer_w, fd, on_proc_timeout);
}

/*
 * Start argv[0] (found on PATH) with stdout and stderr captured and a time
 * limit.  Returns V_PENDING, or V_FAIL with the detail set.
 */
static enum verdict
proc_start_in(struct demo *d, char *const argv[], unsigned timeout_ms, int in_fd)
{
    struct demo_proc *p = &d->proc;
    int fds[2], pidfd, err;

    memset(p, 0, sizeof(*p));
    p->d = d;
    p->pid = -1;
    p->timeout_ms = timeout_ms;
    if (pipe2(fds, O_CLOEXEC) == -1) {
        detail(d, "pipe: %s", strerror(errno));
        return V_FAIL;
    }
    err = spawn(&p->pid, argv, in_fd, fds[1]);
    close(fds[1]);
    if (err != 0) {
        close(fds[0]);
        detail(d, "cannot run %s: %s", argv[0], strerror(-err));
        return V_FAIL;
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    /* watch() owns the fd it is given, even when it fails. */
    if (watch(p, &p->out_w, fds[0], on_proc_output) != 0
        || (pidfd = pidfd_open(p->pid, 0)) == -1 || watch(p, &p->pid_w, pidfd, on_proc_exit) != 0
        || arm_timeout(p) != 0) {
        /* Unlikely (fd limits); end the tool and fail the step. */
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = -1;
        detail(d, "cannot watch %s: %s", argv[0], strerror(errno));
        p->is_aborted = true;
        tp_rt_watch_close(d->rt, &p->out_w);
        tp_rt_watch_close(d->rt, &p->pid_w);
        tp_rt_watch_close(d->rt, &p->timer_w);
        return V_FAIL;
    }
    p->is_pending = true;
    return V_PENDING;
}

static enum verdict
proc_start(struct demo *d, char *const argv[], unsigned timeout_ms)
{
    return proc_start_in(d, argv, timeout_ms, -1);
}

/* Interrupted while a tool runs: end it and let its step fail. */
static void
proc_abort(struct demo_proc *p, const char *why)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &p->status, 0);
        p->pid = -1;
    }
    p->is_aborted = true;
    detail(p->d, "%s", why);
    tp_rt_watch_close(p->d->rt, &p->out_w);
    tp_rt_watch_close(p->d->rt, &p->pid_w);
    tp_rt_watch_close(p->d->rt, &p->timer_w);
}

/* All three watchers are closed: judge the step and go on. */
static void
proc_maybe_done(struct demo_proc *p)
{
    struct demo *d = p->d;
    enum verdict v;

    if (!p->is_pending || p->n_open > 0)
        return;
    p->is_pending = false;
    if (p->is_aborted) {
        v = V_FAIL;                         /* the detail says why */
    } else if (p->is_timed_out) {
        detail(d, "no result within %u ms: stopped", p->timeout_ms);
        v = V_FAIL;
    } else {
        v = d->step->finish(d, p);
    }
    finish_step(d, v);
}

/* ---- the steps ----------------------------------------------------------- */

static enum verdict
step_namespace(struct demo *d)
{
    if (tp_cli_netns_new() != 0) {
        detail(d, "unshare(CLONE_NEWNET) failed");
        return V_FAIL;
    }
    detail(d, "private network namespace (pid %d), lo up", (int)getpid());
    return V_PASS;
}

static enum verdict
step_device(struct demo *d)
{
    char a[16], p[16];

    if (tp_cli_dev_up(&d->dev, &d->tun, &d->nl) != 0) {
        detail(d, "could not create and configure %s", DEMO_DEV);
        return V_FAIL;
    }
    d->is_dev_up = true;
    detail(d, "%s (ifindex %d): %s peer %s, mtu %u, up", d->tun.name, d->tun.ifindex,
        tapir_ipv4_str(d->dev.peer, p), tapir_ipv4_str(d->dev.addr, a), d->dev.mtu);
    return V_PASS;
}

/* The runtime's after-hook: each TCP event to the services or to nc. */
static int
demo_after(struct tp_rt *rt, void *ctx)
{
    struct demo *d = ctx;
    struct tapir_tcp_event ev;
    int n = 0;

    while (tapir_tcp_next_event(tp_rt_stack(rt), &ev)) {
        n++;
        if (d->svc != NULL && tp_svc_event(d->svc, &ev))
            continue;
        if (d->nc != NULL)
            (void)tp_nc_event(d->nc, &ev);
    }
    if (d->nc != NULL)
        n += tp_nc_tick(d->nc);
    return n;
}

static enum verdict
step_stack(struct demo *d)
{
    struct tp_svc_config sc = { .max_conns = 64 };
    struct tapir_config cfg;
    char a[16];
    int err;

    tp_cli_stack_config(&d->dev, &cfg);
    if ((err = tp_rt_new(&cfg, &d->tun, &d->rt)) != 0) {
        detail(d, "tp_rt_new: %s", strerror(-err));
        return V_FAIL;
    }
    if ((err = tp_svc_new(tp_rt_stack(d->rt), &sc, &d->svc)) != 0
        || (err = tp_svc_listen(d->svc, TP_SVC_ECHO, 7)) != 0
        || (err = tp_svc_listen(d->svc, TP_SVC_HTTP, DEMO_HTTP_PORT)) != 0) {
        detail(d, "services: %s", strerror(-err));
        return V_FAIL;
    }
    tp_rt_set_after(d->rt, demo_after, d);
    detail(d, "%s/%u on %s; echo on port 7, HTTP on port %u", tapir_ipv4_str(cfg.addr, a),
        cfg.prefix_len, d->tun.name, DEMO_HTTP_PORT);
    return V_PASS;
}

static enum verdict
step_ping(struct demo *d)
{
    char count[16], addr[16];
    char *argv[] = { "ping", "-n", "-c", count, "-i", "0.2", "-W", "1", addr, NULL };

    snprintf(count, sizeof(count), "%u", d->opts.count);
    tapir_ipv4_str(d->dev.addr, addr);
    d->echo_reps_before = tp_cli_counter(d->rt, "IcmpOutEchoReps");
    /* ping -c N -i 0.2 -W 1 ends within N * 0.2 + 1 s; allow slack. */
    return proc_start(d, argv, d->opts.count * 200 + 5000);
}

/* "5 packets transmitted, 5 received, ..." and "rtt min/avg/max/mdev = ..." */
static enum verdict
ping_finish(struct demo *d, struct demo_proc *p)
{
    const char *s = memmem(p->out, p->out_len, " packets transmitted, ", 22);
    const char *r = memmem(p->out, p->out_len, "min/avg/max/mdev = ", 19);
    unsigned tx = 0, rx = 0;
    double mn = 0, av = 0, mx = 0;
    uint64_t reps = tp_cli_counter(d->rt, "IcmpOutEchoReps") - d->echo_reps_before;

    p->out[p->out_len < OUT_CAP ? p->out_len : OUT_CAP - 1] = '\0';
    while (s != NULL && s > p->out && s[-1] != '\n')
        s--;
    if (s == NULL || sscanf(s, "%u packets transmitted, %u received", &tx, &rx) != 2) {
        detail(d, "no summary in ping's output (exit status %d)", WEXITSTATUS(p->status));
        return V_FAIL;
    }
    if (r != NULL)
        sscanf(r + 19, "%lf/%lf/%lf", &mn, &av, &mx);
    detail(d, "%u/%u replies, rtt min/avg/max %.3f/%.3f/%.3f ms", rx, tx, mn, av, mx);
    if (tx != d->opts.count || rx != tx || !WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0)
        return V_FAIL;
    if (reps != rx) {
        detail(d, "%u replies, but the stack counted %llu echo replies sent", rx,
            (unsigned long long)reps);
        return V_FAIL;
    }
    return V_PASS;
}

/* ---- TCP: echo, HTTP, tapir connecting out -------------------------------- */

/* The kernel's python3 sends random bytes to port 7 and checks the echo. */
#define ECHO_PY \
    "import os, socket, sys, threading, time\n" \
    "n = int(sys.argv[2]); data = os.urandom(n); got = bytearray()\n" \
    "t0 = time.monotonic()\n" \
    "s = socket.create_connection((sys.argv[1], 7), timeout=10)\n" \
    "def rd():\n" \
    "    while len(got) < n:\n" \
    "        b = s.recv(65536)\n" \
    "        if not b: break\n" \
    "        got.extend(b)\n" \
    "t = threading.Thread(target=rd); t.start(); s.sendall(data); t.join(10); s.close()\n" \
    "ms = (time.monotonic() - t0) * 1000\n" \
    "print('echo %d %d %.3f %s' % (n, len(got), ms, 'same' if bytes(got) == data else 'differ'))\n"

static enum verdict
step_echo(struct demo *d)
{
    char addr[16], n[16];
    char *argv[] = { "python3", "-c", ECHO_PY, addr, n, NULL };

    tapir_ipv4_str(d->dev.addr, addr);
    snprintf(n, sizeof(n), "%u", DEMO_ECHO_BYTES);
    return proc_start(d, argv, 15000);
}

static void
terminate_output(struct demo_proc *p)
{
    p->out[p->out_len < OUT_CAP ? p->out_len : OUT_CAP - 1] = '\0';
}

static enum verdict
echo_finish(struct demo *d, struct demo_proc *p)
{
    const char *s;
    unsigned sent = 0, got = 0;
    double ms = 0;
    char same[8] = "";

    terminate_output(p);
    s = strstr(p->out, "echo ");
    if (s == NULL || sscanf(s, "echo %u %u %lf %7s", &sent, &got, &ms, same) != 4) {
        detail(d, "python3 gave no result (exit status %d)", WEXITSTATUS(p->status));
        return V_FAIL;
    }
    if (got != sent || strcmp(same, "same") != 0) {
        detail(d, "sent %u bytes, %u came back, %s", sent, got, same);
        return V_FAIL;
    }
    detail(d, "%u KB from python3 echoed byte-exact in %.1f ms", sent / 1024, ms);
    return V_PASS;
}

/* The kernel's curl fetches /bytes/N; sha256sum and python3 check it. */
#define HTTP_SH \
    "set -e\n" \
    "f=$(mktemp /tmp/tapir-demo.XXXXXX); trap 'rm -f \"$f\"' EXIT\n" \
    "curl -sf --max-time 30 -o \"$f\" -w 'curl %{size_download} %{speed_download} %{time_total}\\n' \"$1\"\n" \
    "echo \"got $(sha256sum \"$f\" | cut -c1-64)\"\n" \
    "python3 -c 'import hashlib, sys; n = int(sys.argv[1]); " \
    "print(\"want\", hashlib.sha256((bytes(range(251)) * (n // 251 + 1))[:n]).hexdigest())' \"$2\"\n"

static enum verdict
step_http(struct demo *d)
{
    char url[64], addr[16], n[16];
    char *argv[] = { "sh", "-c", HTTP_SH, "sh", url, n, NULL };

    snprintf(url, sizeof(url), "http://%s:%u/bytes/%u", tapir_ipv4_str(d->dev.addr, addr),
        DEMO_HTTP_PORT, DEMO_HTTP_BYTES);
    snprintf(n, sizeof(n), "%u", DEMO_HTTP_BYTES);
    return proc_start(d, argv, 40000);
}

static enum verdict
http_finish(struct demo *d, struct demo_proc *p)
{
    const char *c, *g, *w;
    unsigned long long size = 0;
    double speed = 0, secs = 0;
    char got[65] = "", want[65] = "";

    terminate_output(p);
    c = strstr(p->out, "curl ");
    g = strstr(p->out, "got ");
    w = strstr(p->out, "want ");
    if (c == NULL || g == NULL || w == NULL || sscanf(c, "curl %llu %lf %lf", &size, &speed,
            &secs) != 3 || sscanf(g, "got %64s", got) != 1 || sscanf(w, "want %64s", want) != 1) {
        detail(d, "curl did not complete (exit status %d)", WEXITSTATUS(p->status));
        return V_FAIL;
    }
    if (size != DEMO_HTTP_BYTES || strcmp(got, want) != 0) {
        detail(d, "%llu bytes, sha256 %.16s..., want %.16s...", size, got, want);
        return V_FAIL;
    }
    detail(d, "curl: %u MB at %.1f MB/s, sha256 %.12s ok", DEMO_HTTP_BYTES >> 20,
        speed / 1e6, got);
    return V_PASS;
}

/* The kernel listens (the demo made the socket; python3 accepts on its
 * stdin), tapir connects out and sends a file; python3 checks its sha256. */
#define OUT_PY \
    "import hashlib, socket, sys, time\n" \
    "ls = socket.socket(fileno=0); ls.settimeout(15)\n" \
    "s, _ = ls.accept(); s.settimeout(15)\n" \
    "h = hashlib.sha256(); n = 0; t0 = time.monotonic()\n" \
    "while True:\n" \
    "    b = s.recv(65536)\n" \
    "    if not b: break\n" \
    "    h.update(b); n += len(b)\n" \
    "ms = (time.monotonic() - t0) * 1000\n" \
    "s.close()\n" \
    "w = hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest()\n" \
    "print('recv %d %.3f %s %s' % (n, ms, h.hexdigest(), w))\n"

/* The kernel's listening socket on its end of the device. */
static int
kernel_listener(const struct demo *d)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(DEMO_OUT_PORT),
        .sin_addr.s_addr = htonl(d->dev.peer) };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static enum verdict
step_out(struct demo *d)
{
    static char exe[4096];
    char *argv[] = { "python3", "-c", OUT_PY, exe, NULL };
    struct tp_nc_config nc = { .remote = { d->dev.peer, DEMO_OUT_PORT } };
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    enum verdict v;
    int lfd, err;

    exe[n > 0 ? n : 0] = '\0';
    if (n <= 0 || (d->out_file_fd = open(exe, O_RDONLY | O_CLOEXEC)) < 0
        || (d->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0) {
        detail(d, "cannot open the file to send: %s", strerror(errno));
        return V_FAIL;
    }
    if ((lfd = kernel_listener(d)) < 0) {
        detail(d, "kernel listener on port %u: %s", DEMO_OUT_PORT, strerror(errno));
        return V_FAIL;
    }
    v = proc_start_in(d, argv, 30000, lfd);
    close(lfd);                     /* python3 holds it now */
    if (v != V_PENDING)
        return v;
    nc.in_fd = d->out_file_fd;
    nc.out_fd = d->null_fd;
    if ((err = tp_nc_new(d->rt, &nc, &d->nc)) != 0) {
        proc_abort(&d->proc, "tapir could not start its connection");
        return V_PENDING;           /* the abort finishes the step */
    }
    return V_PENDING;
}

static enum verdict
out_finish(struct demo *d, struct demo_proc *p)
{
    const char *r;
    unsigned long long n = 0;
    double ms = 0;
    char got[65] = "", want[65] = "";
    int res = d->nc != NULL ? tp_nc_result(d->nc) : -EINVAL;

    terminate_output(p);
    r = strstr(p->out, "recv ");
    if (r == NULL || sscanf(r, "recv %llu %lf %64s %64s", &n, &ms, got, want) != 4) {
        detail(d, "the kernel listener gave no result (exit status %d)", WEXITSTATUS(p->status));
        return V_FAIL;
    }
    if (res != 0 && res != -EINPROGRESS) {
        detail(d, "tapir's connection failed: %s", strerror(-res));
        return V_FAIL;
    }
    if (strcmp(got, want) != 0 || n == 0) {
        detail(d, "%llu bytes arrived, sha256 %.12s..., want %.12s...", n, got, want);
        return V_FAIL;
    }
    detail(d, "tapir -> python3: %.1f MB (its binary), %.0f MB/s, sha256 ok",
        (double)n / 1e6, ms > 0 ? (double)n / 1e3 / ms : 0.0);
    return V_PASS;
}

/*
 * The demo is this list of steps.  A step either finishes at once or starts
 * a kernel-side tool and finishes when the tool exits.  The stack, the steps
 * and the tools' output all live in one thread on one runtime loop: the
 * stack is not thread-safe, and every kernel-side tool is a separate process
 * anyway, so its pipe and its pidfd are just two more watched fds.  Later
 * steps (TCP echo, curl, tapir connecting out to a kernel listener) add rows
 * here and may drain stack events through tp_rt_set_after().
 */
static const struct demo_step demo_steps[] = {
    { "namespace", step_namespace, NULL },
    { "device", step_device, NULL },
    { "stack", step_stack, NULL },
    { "ping", step_ping, ping_finish },
    { "tcp-echo", step_echo, echo_finish },
    { "http-get", step_http, http_finish },
    { "tcp-out", step_out, out_finish },
};

#define N_STEPS (sizeof(demo_steps) / sizeof(demo_steps[0]))

/* ---- the step runner ----------------------------------------------------- */

static void
finish_step(struct demo *d, enum verdict v)
{
    char took[32];

    format_ms(tapir_time_sub(tp_clock_now(), d->t0), took, sizeof(took));
    print_step(v == V_PASS ? "PASS" : "FAIL", d->step->name, d->detail, took);
    if (d->opts.verbose && d->proc.out_len > 0)
        print_output(&d->proc);
    d->proc.out_len = 0;
    if (v == V_PASS)
        d->n_pass++;
    else
        d->n_fail++;
    d->cur++;
    run_steps(d);
}

/*
 * Start steps in order until one is pending or all are done.  After a
 * failure the rest are skipped: each builds on the ones before.
 */
static void
run_steps(struct demo *d)
{
    while (d->cur < N_STEPS) {
        enum verdict v;

        if (d->n_fail > 0 || d->is_interrupted) {
            print_step("SKIP", demo_steps[d->cur].name, "(an earlier step failed)", "");
            d->n_skip++;
            d->cur++;
            continue;
        }
        d->detail[0] = '\0';
        d->t0 = tp_clock_now();
        d->step = &demo_steps[d->cur];
        if ((v = d->step->start(d)) == V_PENDING)
            return;                         /* the loop drives it on */
        finish_step(d, v);
        return;                             /* finish_step went on with the rest */
    }
    if (d->rt != NULL)
        tp_rt_stop(d->rt);
}

/* ---- the child: everything in the private namespace ---------------------- */

static void
teardown(struct demo *d)
{
    struct tapir_time t0 = tp_clock_now();
    char took[32];
    bool ok = true;

    tp_nc_free(d->nc);
    d->nc = NULL;
    tp_svc_free(d->svc);
    d->svc = NULL;
    if (d->out_file_fd >= 0)
        close(d->out_file_fd);
    if (d->null_fd >= 0)
        close(d->null_fd);
    tp_rt_free(d->rt);
    d->rt = NULL;
    if (d->is_dev_up) {
        ok = tp_cli_dev_down(&d->tun, &d->nl) == 0;
        d->is_dev_up = false;
        /* A non-persistent TUN device goes with its last fd. */
        ok = ok && if_nametoindex(DEMO_DEV) == 0;
        detail(d, ok ? "address removed, link down, %s closed and gone"
                     : "%s or its address is still there", DEMO_DEV);
    } else {
        detail(d, "nothing to remove");
    }
    format_ms(tapir_time_sub(tp_clock_now(), t0), took, sizeof(took));
    print_step(ok ? "PASS" : "FAIL", "teardown", d->detail, took);
    if (ok)
        d->n_pass++;
    else
        d->n_fail++;
}

/* A step is pending but the loop returned (a signal, or a loop failure). */
static void
interrupted(struct demo *d, int loop_err)
{
    char why[64];
    int sig = tp_rt_stop_signal(d->rt);

    if (sig != 0)
        snprintf(why, sizeof(why), "interrupted by SIG%s", sigabbrev_np(sig));
    else
        snprintf(why, sizeof(why), "the loop failed: %s", strerror(-loop_err));
    d->is_interrupted = true;
    proc_abort(&d->proc, why);          /* fails the step, skips the rest */
}

static int
demo_child(const struct demo_opts *o, int result_fd)
{
    struct demo *d = calloc(1, sizeof(*d));
    int err;

    if (d == NULL)
        return TP_EXIT_FAIL;
    d->opts = *o;
    d->dev = (struct tp_cli_dev){ .name = DEMO_DEV, .addr = DEMO_ADDR, .peer = DEMO_PEER,
        .mtu = DEMO_MTU };
    d->tun.fd = -1;
    d->out_file_fd = d->null_fd = -1;
    run_steps(d);
    if (d->cur < N_STEPS) {
        err = tp_rt_run(d->rt);
        if (d->cur < N_STEPS)
            interrupted(d, err);
    }
    /* The loop is over: a further SIGINT or SIGTERM must not cut the
     * teardown short once tp_rt_free() unblocks them. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    if (d->rt != NULL) {
        printf("\n  counters that moved (stack, runtime, services):\n");
        if (tp_cli_print_all_counters(stdout, d->rt, d->svc, "    ", false) == 0)
            printf("    (none)\n");
        printf("\n");
    }
    teardown(d);
    fflush(stdout);
    dprintf(result_fd, "%d %d %d\n", d->n_pass, d->n_fail, d->n_skip);
    err = d->n_fail == 0 && d->n_skip == 0 ? TP_EXIT_OK : TP_EXIT_FAIL;
    free(d);
    return err;
}

/* ---- the parent: fork, wait, check that nothing was left behind ----------- */

/* The interface names of the current namespace, sorted by index. */
static void
interfaces(char *buf, size_t cap, int *n)
{
    struct if_nameindex *ifs = if_nameindex();
    size_t len = 0;

    buf[0] = '\0';
    *n = 0;
    for (struct if_nameindex *i = ifs; i != NULL && i->if_index != 0; i++, (*n)++)
        len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s ", i->if_name);
    if (ifs != NULL)
        if_freenameindex(ifs);
}

static int
wait_child(pid_t pid, int result_fd, int *n_pass, int *n_fail, int *n_skip)
{
    char buf[64] = "";
    ssize_t n;
    int status;

    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    n = read(result_fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    if (sscanf(buf, "%d %d %d", n_pass, n_fail, n_skip) == 3)
        return 0;
    if (WIFSIGNALED(status))
        tp_cli_error("demo: the demo process was killed by SIG%s",
            sigabbrev_np(WTERMSIG(status)));
    else
        tp_cli_error("demo: the demo process ended early (exit status %d)",
            WEXITSTATUS(status));
    return -1;
}

static void
print_header(void)
{
    char a[16], p[16];

    printf("tapir demo: the kernel's ping, python3 and curl against tapir, a user-space TCP/IP\n"
        "stack, over a TUN device\n");
    printf("  setup: device %s in a private network namespace; stack %s, kernel %s "
        "(point-to-point), mtu %u\n\n", DEMO_DEV, tapir_ipv4_str(DEMO_ADDR, a),
        tapir_ipv4_str(DEMO_PEER, p), DEMO_MTU);
    fflush(stdout);
}

/*
 * The parent only forks: the child unshares its network namespace, so the
 * namespace, the device and its addresses die with the child even if it
 * crashes.  The parent then checks that its own namespace has the same
 * interfaces as before.
 */
static int
run_demo(const struct demo_opts *o)
{
    char before[2048], after[2048], msg[96];
    int fds[2], n_before, n_after, n_pass = 0, n_fail = 0, n_skip = 0, total;
    bool same;
    pid_t pid, parent = getpid();

    interfaces(before, sizeof(before), &n_before);
    print_header();
    if (pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
        tp_cli_error("demo: cannot start: %s", strerror(errno));
        return TP_EXIT_FAIL;
    }
    if (pid == 0) {
        close(fds[0]);
        /* If the parent dies, the loop stops cleanly on SIGTERM. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(TP_EXIT_FAIL);
        exit(demo_child(o, fds[1]));
    }
    close(fds[1]);
    signal(SIGINT, SIG_IGN);            /* the child reports an interruption */
    if (wait_child(pid, fds[0], &n_pass, &n_fail, &n_skip) != 0) {
        close(fds[0]);
        return TP_EXIT_FAIL;
    }
    close(fds[0]);
    interfaces(after, sizeof(after), &n_after);
    same = strcmp(before, after) == 0;
    snprintf(msg, sizeof(msg), same ? "this namespace has the same %d interfaces as before"
                                    : "this namespace's interfaces changed (%d before)", n_before);
    print_step(same ? "PASS" : "FAIL", "cleanup", msg, "");
    n_pass += same;
    n_fail += !same;
    total = n_pass + n_fail + n_skip;
    if (n_fail == 0 && n_skip == 0)
        printf("demo: all %d steps passed\n", total);
    else
        printf("demo: %d of %d steps failed, %d skipped\n", n_fail, total, n_skip);
    return n_fail == 0 && n_skip == 0 ? TP_EXIT_OK : TP_EXIT_FAIL;
}

enum {
    OPT_COUNT = 'c',
    OPT_HELP = 'h',
    OPT_VERBOSE = 'v',
    OPT_LOG_LEVEL = 256,
};

static const struct option demo_longopts[] = {
    { "count", required_argument, NULL, OPT_COUNT },
    { "help", no_argument, NULL, OPT_HELP },
    { "verbose", no_argument, NULL, OPT_VERBOSE },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { NULL, 0, NULL, 0 },
};

int
tp_cmd_demo(int argc, char **argv)
{
    struct demo_opts o = { .count = 5, .level = TAPIR_LOG_WARN };
    int c;

    tp_cli_getopt_reset();
    while ((c = tp_cli_getopt(argc, argv, ":c:hv", demo_longopts)) != -1) {
        switch (c) {
        case OPT_COUNT:
            o.count = (unsigned)tp_cli_uint("--count", optarg, 1, 100);
            break;
        case OPT_HELP:
            tp_cli_print_help("demo");
            return TP_EXIT_OK;
        case OPT_VERBOSE:
            o.verbose = true;
            break;
        case OPT_LOG_LEVEL:
            o.level = tp_cli_log_level("--log-level", optarg);
            break;
        default:
            tp_cli_usage_fail("demo: unexpected option");
        }
    }
    tp_cli_no_operands("demo", argc, argv);
    tp_log_set_level(o.level);
    /* Tools' output is parsed: make it locale-independent. */
    setenv("LC_ALL", "C", 1);
    return run_demo(&o);
}
