/*
 * src/linux/loop_test.c -- the runtime without root: a SOCK_SEQPACKET
 * socketpair stands in for the TUN fd (it keeps packet boundaries, as a TUN
 * device does).  Proves that an echo request read from the fd is answered
 * on it, that batches stop at their bound and at an empty queue, that a
 * watcher closed during dispatch is not called again and is reaped after
 * dispatch, that the after-hook re-polls while it has work, and that
 * SIGTERM stops the loop through the signalfd.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "linux/runtime.h"
#include "linux/tun.h"
#include "wire/bytes.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define STACK_ADDR 0x0a000001u      /* 10.0.0.1 */
#define KERNEL_ADDR 0x0a000002u     /* 10.0.0.2 */

struct fixture {
    int sv[2];                      /* sv[0]: the "TUN" fd; sv[1]: the kernel side */
    struct tp_tun tun;
    struct tp_rt *rt;
};

static int
setup(void **state)
{
    static struct fixture f;
    struct tapir_config cfg;

    memset(&f, 0, sizeof(f));
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
        f.sv), 0);
    f.tun.fd = f.sv[0];
    f.tun.ifindex = 1;
    strcpy(f.tun.name, "test0");
    tapir_config_default(&cfg);
    cfg.addr = STACK_ADDR;
    cfg.prefix_len = 24;
    assert_int_equal(tp_rt_new(&cfg, &f.tun, &f.rt), 0);
    *state = &f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    tp_rt_free(f->rt);
    close(f->sv[0]);
    close(f->sv[1]);
    return 0;
}

/* An ICMP echo request from the kernel to the stack; returns its length. */
static size_t
echo_request(uint8_t *buf, uint16_t seq)
{
    static const uint8_t payload[] = "tapir loop test payload";
    struct tp_icmp m = { .type = TP_ICMP_ECHO, .id = 0x1234, .seq = seq, .body = payload,
        .body_len = sizeof(payload) };
    struct tp_ipv4_out o = { .id = seq, .ttl = 64, .proto = TP_IP_PROTO_ICMP,
        .src = KERNEL_ADDR, .dst = STACK_ADDR,
        .payload_len = (uint16_t)(TP_ICMP_HDR_LEN + sizeof(payload)) };

    tp_ipv4_emit(&o, buf);
    tp_icmp_emit(&m, buf + TP_IPV4_HDR_MIN);
    memcpy(buf + TP_IPV4_HDR_MIN + TP_ICMP_HDR_LEN, payload, sizeof(payload));
    return TP_IPV4_HDR_MIN + TP_ICMP_HDR_LEN + sizeof(payload);
}

struct kernel_side {
    struct tp_watch w;
    uint8_t reply[2048];
    ssize_t reply_len;
};

static void
on_reply(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct kernel_side *k = w->ctx;

    (void)events;
    k->reply_len = read(w->fd, k->reply, sizeof(k->reply));
    tp_rt_stop(rt);
}

static void
echo_request_on_the_fd_is_answered_on_it(void **state)
{
    struct fixture *f = *state;
    struct kernel_side k = { .reply_len = -1 };
    uint8_t req[256];
    size_t len = echo_request(req, 7);
    struct tp_ipv4 ip;
    struct tp_icmp m;

    k.w = (struct tp_watch){ .fd = f->sv[1], .events = EPOLLIN, .fn = on_reply, .ctx = &k };
    assert_int_equal(tp_rt_watch_add(f->rt, &k.w), 0);
    assert_int_equal(write(f->sv[1], req, len), (ssize_t)len);
    assert_int_equal(tp_rt_run(f->rt), 0);

    assert_int_equal(k.reply_len, (ssize_t)len);
    assert_int_equal(tp_ipv4_parse(k.reply, (size_t)k.reply_len, &ip), TP_WIRE_OK);
    assert_int_equal(ip.src, STACK_ADDR);
    assert_int_equal(ip.dst, KERNEL_ADDR);
    assert_int_equal(tp_icmp_parse(ip.payload, ip.payload_len, &m), TP_WIRE_OK);
    assert_int_equal(m.type, TP_ICMP_ECHO_REPLY);
    assert_int_equal(m.id, 0x1234);
    assert_int_equal(m.seq, 7);
    assert_memory_equal(m.body, req + TP_IPV4_HDR_MIN + TP_ICMP_HDR_LEN, m.body_len);
    assert_int_equal(tp_rt_stat(f->rt, TP_RT_STAT_TUN_RX_PACKETS), 1);
    assert_int_equal(tp_rt_stat(f->rt, TP_RT_STAT_TUN_TX_PACKETS), 1);
    assert_int_equal(tp_rt_stat(f->rt, TP_RT_STAT_TUN_TX_BYTES), len);
    assert_int_equal(tp_rt_stat(f->rt, TP_RT_STAT_TUN_TX_ERRORS), 0);
    tp_rt_watch_close(f->rt, &k.w);
}

static int n_seen;

static void
count_packet(void *ctx, const void *pkt, size_t len)
{
    (void)ctx;
    (void)pkt;
    assert_int_equal(len, 100);
    n_seen++;
}

static void
drain_stops_at_its_bound_and_at_an_empty_queue(void **state)
{
    struct fixture *f = *state;
    uint8_t pkt[100] = { 0x45 }, buf[256];

    for (int i = 0; i < 5; i++)
        assert_int_equal(write(f->sv[1], pkt, sizeof(pkt)), (ssize_t)sizeof(pkt));
    n_seen = 0;
    assert_int_equal(tp_tun_drain(&f->tun, buf, sizeof(buf), 3, count_packet, NULL), 3);
    assert_int_equal(n_seen, 3);
    assert_int_equal(tp_tun_drain(&f->tun, buf, sizeof(buf), 3, count_packet, NULL), 2);
    assert_int_equal(tp_tun_drain(&f->tun, buf, sizeof(buf), 3, count_packet, NULL), 0);
    assert_int_equal(tp_tun_read(&f->tun, buf, sizeof(buf)), -EAGAIN);
    assert_int_equal(n_seen, 5);
}

struct closer {
    struct tp_watch w;
    struct closer *other;
    int n_called;
    int n_closed;
    bool closed_while_dispatching;
    int *n_open;
};

static bool in_callback;

static void
on_closer_closed(struct tp_rt *rt, struct tp_watch *w)
{
    struct closer *c = w->ctx;

    c->n_closed++;
    c->closed_while_dispatching = in_callback;
    if (--*c->n_open == 0)
        tp_rt_stop(rt);
}

/* Whichever runs first closes both; the other must never be called. */
static void
on_closer(struct tp_rt *rt, struct tp_watch *w, uint32_t events)
{
    struct closer *c = w->ctx;

    (void)events;
    in_callback = true;
    c->n_called++;
    tp_rt_watch_close(rt, &c->other->w);
    tp_rt_watch_close(rt, w);
    tp_rt_watch_close(rt, w);          /* twice is harmless */
    in_callback = false;
}

static void
watcher_closed_in_dispatch_is_not_called_and_is_reaped_after(void **state)
{
    struct fixture *f = *state;
    struct closer a = { 0 }, b = { 0 };
    int pa[2], pb[2], n_open = 2;

    assert_int_equal(pipe(pa), 0);
    assert_int_equal(pipe(pb), 0);
    a = (struct closer){ .w = { .fd = pa[0], .events = EPOLLIN, .fn = on_closer,
        .on_close = on_closer_closed, .ctx = &a }, .other = &b, .n_open = &n_open };
    b = (struct closer){ .w = { .fd = pb[0], .events = EPOLLIN, .fn = on_closer,
        .on_close = on_closer_closed, .ctx = &b }, .other = &a, .n_open = &n_open };
    assert_int_equal(tp_rt_watch_add(f->rt, &a.w), 0);
    assert_int_equal(tp_rt_watch_add(f->rt, &b.w), 0);
    /* Both readable before the loop waits: one epoll batch holds both. */
    assert_int_equal(write(pa[1], "x", 1), 1);
    assert_int_equal(write(pb[1], "x", 1), 1);
    assert_int_equal(tp_rt_run(f->rt), 0);

    assert_int_equal(a.n_called + b.n_called, 1);
    assert_int_equal(a.n_closed, 1);
    assert_int_equal(b.n_closed, 1);
    assert_false(a.closed_while_dispatching);
    assert_false(b.closed_while_dispatching);
    for (int i = 0; i < 2; i++) {
        close(pa[i]);
        close(pb[i]);
    }
}

static int n_after;

static int
after_hook(struct tp_rt *rt, void *ctx)
{
    (void)ctx;
    if (++n_after == 3) {
        tp_rt_stop(rt);
        return 0;
    }
    return 1;                          /* "I did something": poll again */
}

static void
after_hook_repolls_while_it_has_work(void **state)
{
    struct fixture *f = *state;

    n_after = 0;
    tp_rt_set_after(f->rt, after_hook, NULL);
    assert_int_equal(tp_rt_run(f->rt), 0);
    assert_int_equal(n_after, 3);
    /* Stopped before waiting: the loop never returned from epoll_wait. */
    assert_int_equal(tp_rt_stat(f->rt, TP_RT_STAT_LOOP_WAKEUPS), 0);
    tp_rt_set_after(f->rt, NULL, NULL);
}

static void
sigterm_stops_the_loop(void **state)
{
    struct fixture *f = *state;

    /* Blocked by tp_rt_new: it stays pending until the signalfd reads it. */
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(tp_rt_run(f->rt), 0);
    assert_int_equal(tp_rt_stop_signal(f->rt), SIGTERM);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(echo_request_on_the_fd_is_answered_on_it, setup,
            teardown),
        cmocka_unit_test_setup_teardown(drain_stops_at_its_bound_and_at_an_empty_queue, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            watcher_closed_in_dispatch_is_not_called_and_is_reaped_after, setup, teardown),
        cmocka_unit_test_setup_teardown(after_hook_repolls_while_it_has_work, setup, teardown),
        cmocka_unit_test_setup_teardown(sigterm_stops_the_loop, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
