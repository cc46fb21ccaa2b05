#!/usr/bin/env bash
# tests/interop/preload_nc_test.sh -- `tapir exec -- nc` against the
# kernel's nc, both ways: tapir nc connects to a kernel listener and sends
# 4 MB; tapir nc listens and receives 4 MB from a kernel client; tapir nc
# listens and sends 4 MB to a kernel client.  Every transfer is checked
# byte for byte (sha256), and tapird must end with no socket open.
# Needs root (exit 77 without); runs in a private namespace, bounded.
set -euo pipefail
NAME=preload_nc_test
. "$(dirname "$0")/lib/sockets.sh"
sock_enter_ns 120 "$@"
sock_need nc sha256sum ss timeout

head -c $((4 * 1024 * 1024)) /dev/urandom >"$tmp/data"
want=$(sha256sum <"$tmp/data" | cut -d' ' -f1)
sock_start_tapird

check() {   # LABEL FILE
    local got
    got=$(sha256sum <"$2" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "$1: sha256 $got, want $want ($(stat -c %s "$2") bytes)"
    echo "$NAME: $1: 4 MiB, sha256 matches"
}

# 1. tapir client -> kernel listener.
timeout 30 nc -4 -l -N -s $KADDR -p 7001 >"$tmp/out1" &
sock_pids+=($!)
listener=$!
sock_wait_kernel_listen 7001
timeout 30 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- nc -N $KADDR 7001 <"$tmp/data" \
    || die "tapir nc client failed"
wait $listener || die "kernel nc listener failed"
check "tapir nc -> kernel nc -l" "$tmp/out1"

# 2. kernel client -> tapir listener (the client retries until it listens).
timeout 30 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- nc -4 -l -N -p 7002 >"$tmp/out2" &
sock_pids+=($!)
listener=$!
ok=
for _ in $(seq 100); do
    if timeout 30 nc -N $SADDR 7002 <"$tmp/data" 2>/dev/null; then ok=1; break; fi
    sleep 0.05
done
[ -n "$ok" ] || die "kernel nc could not connect to tapir nc -l"
wait $listener || die "tapir nc listener failed"
check "kernel nc -> tapir nc -l" "$tmp/out2"

# 3. tapir listener sends, kernel client receives.
timeout 30 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- nc -4 -l -N -p 7003 <"$tmp/data" &
sock_pids+=($!)
listener=$!
ok=
for _ in $(seq 100); do
    if timeout 30 nc -d $SADDR 7003 >"$tmp/out3" 2>/dev/null && [ -s "$tmp/out3" ]; then
        ok=1
        break
    fi
    sleep 0.05
done
[ -n "$ok" ] || die "kernel nc could not fetch from tapir nc -l"
wait $listener || die "tapir nc listener (sending) failed"
check "tapir nc -l -> kernel nc" "$tmp/out3"

sock_stop_tapird
accepts=$(sock_counter TapirSockAccepts)
[ "$accepts" -eq 2 ] || die "tapird handed over $accepts connections, want 2"
echo "$NAME: PASS"
