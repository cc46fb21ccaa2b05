/*
 * tests/pktdrill/tcp_api.c -- whether tapir's TCP socket API is linked.
 *
 * Until src/core provides the socket calls the runner still builds (so the
 * parser can be tested): the calls are weak references, and CMakeLists.txt
 * asks the linker (-u) to pull them from libtapir_core.a when they exist.
 * Without them every script is skipped with that reason.
 */
#include <stddef.h>

#include "run.h"

#pragma weak tapir_tcp_socket
#pragma weak tapir_tcp_bind
#pragma weak tapir_tcp_listen
#pragma weak tapir_tcp_accept
#pragma weak tapir_tcp_connect
#pragma weak tapir_tcp_send
#pragma weak tapir_tcp_recv
#pragma weak tapir_tcp_shutdown
#pragma weak tapir_tcp_close
#pragma weak tapir_tcp_abort
#pragma weak tapir_tcp_setsockopt
#pragma weak tapir_tcp_getsockopt
#pragma weak tapir_tcp_getsockname
#pragma weak tapir_tcp_error
#pragma weak tapir_tcp_next_event
#pragma weak tapir_tcp_info
#pragma weak tapir_tcp_snapshot

bool
pd_tcp_api_present(void)
{
    void (*const fns[])(void) = {
        (void (*)(void))tapir_tcp_socket, (void (*)(void))tapir_tcp_bind,
        (void (*)(void))tapir_tcp_listen, (void (*)(void))tapir_tcp_accept,
        (void (*)(void))tapir_tcp_connect, (void (*)(void))tapir_tcp_send,
        (void (*)(void))tapir_tcp_recv, (void (*)(void))tapir_tcp_shutdown,
        (void (*)(void))tapir_tcp_close, (void (*)(void))tapir_tcp_abort,
        (void (*)(void))tapir_tcp_setsockopt, (void (*)(void))tapir_tcp_getsockopt,
        (void (*)(void))tapir_tcp_getsockname, (void (*)(void))tapir_tcp_error,
        (void (*)(void))tapir_tcp_next_event, (void (*)(void))tapir_tcp_info,
        (void (*)(void))tapir_tcp_snapshot,
    };

    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        if (fns[i] == NULL)
            return false;
    return true;
}
