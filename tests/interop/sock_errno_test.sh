#!/usr/bin/env bash
# tests/interop/sock_errno_test.sh -- bad socket calls get the kernel's
# errno under `tapir exec`.  lib/sock_errno.c makes one fixed sequence of
# calls (EBADF, ENOTSOCK, EINVAL, EFAULT with unmapped pointers, ENOTCONN,
# EPIPE and SIGPIPE, EISCONN, EADDRINUSE, EALREADY, EINPROGRESS,
# ECONNREFUSED, EOPNOTSUPP, EAFNOSUPPORT, ...); it runs once on the
# kernel's TCP and once on tapir's, against the same kernel peer, and the
# two outputs must be identical line for line.
# Needs root (exit 77 without); private namespace, bounded.
set -euo pipefail
NAME=sock_errno_test
. "$(dirname "$0")/lib/sockets.sh"
sock_enter_ns 120 "$@"
sock_need python3 timeout ss diff
prog=$TAPIR_BIN/../tests/sock_errno
[ -x "$prog" ] || fail "no $prog (build the tree)"

# The kernel's peer (lib/kpeer.py): echo on 9100, nothing on 9101, and
# 9102 whose accept queue is full (SYNs go unanswered).
sock_start_tapird
timeout 100 python3 "$(dirname "$0")/lib/kpeer.py" $KADDR --fill &
sock_pids+=($!)
sock_wait_kernel_listen 9100
sock_wait_kernel_listen 9102

timeout 30 "$prog" $KADDR $KADDR 9100 9101 9102 9700 >"$tmp/kernel.out" 2>&1 \
    || { cat "$tmp/kernel.out" >&2; die "the sequence failed on the kernel's TCP"; }
timeout 30 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- "$prog" $KADDR $SADDR 9100 9101 9102 9700 \
    >"$tmp/tapir.out" 2>&1 || { cat "$tmp/tapir.out" >&2; die "the sequence failed under tapir exec"; }
grep -q '^end$' "$tmp/kernel.out" && grep -q '^end$' "$tmp/tapir.out" \
    || die "a run did not reach its end"
if ! diff -u --label kernel --label tapir "$tmp/kernel.out" "$tmp/tapir.out" >"$tmp/diff"; then
    cat "$tmp/diff" >&2
    die "tapir's answers differ from the kernel's ($(grep -c '^+[^+]' "$tmp/diff") lines)"
fi
sed "s/^/$NAME: /" "$tmp/tapir.out"
sock_stop_tapird
echo "$NAME: $(grep -vc '^end$' "$tmp/tapir.out") calls, every answer the kernel's"
echo "$NAME: PASS"
