/*
 * tests/lib/sim_tcp.c -- the simulator's TCP drain: after each step of a
 * node, hand every tapir_tcp_next_event() to the test's application.
 *
 * Kept apart from sim.c so that a program using only ICMP does not pull in
 * the TCP socket API from the static test library.
 */
#include "lib/sim.h"

/* Returns how many events were handed out: the simulator polls again
 * after any, since the application may have queued output. */
static int
tcp_drain(struct sim *sim, int node)
{
    struct tapir_stack *st = sim_stack(sim, node);
    struct tapir_tcp_event ev;
    sim_tcp_event_fn *fn;
    void *ctx;
    int n = 0;

    sim_get_app(sim, node, &fn, &ctx);
    while (tapir_tcp_next_event(st, &ev)) {
        n++;
        if (fn != NULL)
            fn(sim, node, &ev, ctx);
    }
    return n;
}

void
sim_tcp_on_event(struct sim *sim, int node, sim_tcp_event_fn *fn, void *ctx)
{
    sim_set_drain(sim, node, tcp_drain, fn, ctx);
}
