#!/usr/bin/env bash
# tests/interop/tcp_lifecycle_test.sh -- the connection lifecycle against the
# kernel's TCP (issue 3's interop list):
#   sizes 0 B .. 64 MB both ways, with tapir as server (kernel client against
#   the echo service, sending while receiving) and as client (`tapir nc` to
#   kernel listeners, sending, and receiving), each verified by sha256;
#   graceful close from either side (tapir's FIN first, the kernel's first),
#   with no RST on the wire; a kernel RST; a reset from tapir; connection
#   refused both ways.  Needs root (exits 77 without).
set -euo pipefail
NAME=tcp_lifecycle_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 600 "$@"
run_need python3 ip timeout sha256sum
LC="python3 $(dirname "$0")/lib/lifecycle.py"

sizes=(0 1 1460 65536 1000000 67108864)

wait_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
stat_of() { awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }' "$1"; }

# 1. tapir as the server: the kernel sends N bytes to the echo service while
#    reading the echo; the kernel half-closes first, tapir closes after.
run_start --echo
for n in "${sizes[@]}"; do
    f=$tmp/in.$n
    make_file "$f" "$n"
    timeout 120 $PY exchange $SADDR 7 "$f" "$tmp/echo.$n" >/dev/null \
        || die "echo of $n bytes: the kernel client failed"
    [ "$(sha "$tmp/echo.$n")" = "$(sha "$f")" ] \
        || die "echo of $n bytes: sha256 differs ($(stat -c %s "$tmp/echo.$n") bytes back)"
    echo "$NAME: kernel -> tapir echo -> kernel, $n bytes, sha256 ok"
done

# A kernel RST on an established connection.
resets0=$(live_counter TcpEstabResets)
$LC reset-client $SADDR 7 >/dev/null || die "reset-client failed"
for _ in $(seq 50); do
    [ "$(live_counter TcpEstabResets)" -gt "$resets0" ] && break
    sleep 0.05
done
[ "$(live_counter TcpEstabResets)" -gt "$resets0" ] || die "a kernel RST was not counted as TcpEstabResets"
echo "$NAME: the kernel's RST reset tapir's connection"

# Connection refused: no listener on port 9 of this stack.
$LC refused $SADDR 9 >/dev/null || die "the kernel's connect to a closed tapir port was not refused"
echo "$NAME: kernel -> closed tapir port: refused"
run_stop
[ "$(counter TcpEstabResets)" -eq 1 ] || die "TcpEstabResets is $(counter TcpEstabResets), want exactly the one kernel RST"
# Besides the RST to the closed port, a RST may only answer a stray ACK at a
# listener: a late duplicate of an ACK after its connection closed (when
# the kernel's ACK came after a tail loss probe; concurrency_test.sh).
[ "$(counter TcpOutRsts)" -eq $((1 + $(counter TapirTcpListenAckRst))) ] ||
    die "TcpOutRsts is $(counter TcpOutRsts): want only the RST to the closed port (and $(counter TapirTcpListenAckRst) to stray ACKs)"
echo "$NAME: the echo connections closed without a RST of ours"

# 2. A reset from tapir: the echo service with one connection slot resets
#    a second connection.
run_start --echo --max-conns 1
$LC hold $SADDR 7 "$tmp/held" 3 >/dev/null &
hpid=$!
run_pids+=($hpid)
wait_file "$tmp/held" || die "the first connection was not established"
$LC expect-reset $SADDR 7 "$tmp/held" >/dev/null || die "tapir did not reset the connection over its limit"
wait $hpid || die "the held connection failed"
run_stop
echo "$NAME: tapir reset the connection over --max-conns"

# 3. tapir as the client, sending: `tapir nc` shuts down for writing at the
#    end of its input (its FIN first); the kernel stores what it read.
for n in "${sizes[@]}"; do
    f=$tmp/in.$n
    rm -f "$tmp/k.ready"
    $PY recv-server 5001 "$tmp/k.$n" "$tmp/k.ready" >/dev/null &
    kpid=$!
    run_pids+=($kpid)
    wait_file "$tmp/k.ready" || fail "the kernel listener did not start"
    timeout 120 "$TAPIR" nc --dev $DEV --addr $SADDR --peer $KADDR --no-ctl \
        --stats-on-exit "$tmp/s.out.$n" $KADDR 5001 <"$f" >/dev/null 2>"$tmp/nc.err" \
        || { cat "$tmp/nc.err" >&2; fail "tapir nc sending $n bytes failed"; }
    wait $kpid || fail "the kernel listener failed for $n bytes"
    [ "$(sha "$tmp/k.$n")" = "$(sha "$f")" ] || fail "tapir -> kernel $n bytes: sha256 differs"
    [ "$(stat_of "$tmp/s.out.$n" TcpOutRsts)" -eq 0 ] || fail "tapir -> kernel $n bytes: tapir sent a RST"
    [ "$(stat_of "$tmp/s.out.$n" TcpEstabResets)" -eq 0 ] || fail "tapir -> kernel $n bytes: the connection was reset"
    echo "$NAME: tapir -> kernel, $n bytes, tapir closed first, sha256 ok, no RST"
done

# 4. tapir as the client, receiving: the kernel sends and closes first.
for n in "${sizes[@]}"; do
    f=$tmp/in.$n
    rm -f "$tmp/k.ready"
    $LC send-server 5002 "$f" "$tmp/k.ready" >/dev/null &
    kpid=$!
    run_pids+=($kpid)
    wait_file "$tmp/k.ready" || fail "the kernel sender did not start"
    timeout 120 "$TAPIR" nc --dev $DEV --addr $SADDR --peer $KADDR --no-ctl \
        --stats-on-exit "$tmp/s.in.$n" $KADDR 5002 </dev/null >"$tmp/t.$n" 2>"$tmp/nc.err" \
        || { cat "$tmp/nc.err" >&2; fail "tapir nc receiving $n bytes failed"; }
    wait $kpid || fail "the kernel sender failed for $n bytes"
    [ "$(sha "$tmp/t.$n")" = "$(sha "$f")" ] || fail "kernel -> tapir $n bytes: sha256 differs"
    [ "$(stat_of "$tmp/s.in.$n" TcpOutRsts)" -eq 0 ] || fail "kernel -> tapir $n bytes: tapir sent a RST"
    [ "$(stat_of "$tmp/s.in.$n" TcpEstabResets)" -eq 0 ] || fail "kernel -> tapir $n bytes: the connection was reset"
    echo "$NAME: kernel -> tapir, $n bytes, kernel closed first, sha256 ok, no RST"
done

# 5. tapir connecting to a kernel port with no listener.
if timeout 30 "$TAPIR" nc --dev $DEV --addr $SADDR --peer $KADDR --no-ctl $KADDR 5999 \
    </dev/null >/dev/null 2>"$tmp/nc.err"; then
    fail "tapir nc to a closed kernel port succeeded"
fi
grep -q "refused" "$tmp/nc.err" || { cat "$tmp/nc.err" >&2; fail "tapir nc to a closed port: no 'refused' in its error"; }
echo "$NAME: tapir -> closed kernel port: $(tail -n1 "$tmp/nc.err")"
echo "$NAME: ok"
