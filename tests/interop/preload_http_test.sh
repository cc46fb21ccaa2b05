#!/usr/bin/env bash
# tests/interop/preload_http_test.sh -- HTTP both ways over tapird:
#   `tapir exec -- curl` downloads a 50 MB file from the kernel's
#   `python3 -m http.server`;
#   `tapir exec -- python3 -m http.server` serves a 50 MB file that the
#   kernel's curl fetches.
# Each download's sha256 must match the file's.  tapird must end with no
# socket open.  Needs root (exit 77 without); private namespace, bounded.
set -euo pipefail
NAME=preload_http_test
. "$(dirname "$0")/lib/sockets.sh"
sock_enter_ns 180 "$@"
sock_need curl python3 sha256sum ss timeout

mkdir -p "$tmp/www"
head -c $((50 * 1000 * 1000)) /dev/urandom >"$tmp/www/big.bin"
want=$(sha256sum <"$tmp/www/big.bin" | cut -d' ' -f1)
sock_start_tapird

check() {   # LABEL FILE
    local got
    got=$(sha256sum <"$2" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "$1: sha256 $got, want $want ($(stat -c %s "$2") bytes)"
    echo "$NAME: $1: 50 MB, sha256 matches"
}

# 1. tapir curl <- kernel http.server.
(cd "$tmp/www" && exec timeout 120 python3 -m http.server --bind $KADDR 8001 \
    >"$tmp/srv1.log" 2>&1) &
sock_pids+=($!)
sock_wait_kernel_listen 8001
start=$(date +%s.%N)
timeout 60 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- curl -sS --fail -o "$tmp/got1" \
    http://$KADDR:8001/big.bin || die "tapir curl failed"
end=$(date +%s.%N)
check "tapir curl <- kernel http.server" "$tmp/got1"
echo "$NAME: download took $(echo "$end - $start" | bc 2>/dev/null || echo "?") s"

# 2. kernel curl <- tapir http.server.
(cd "$tmp/www" && exec timeout 120 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- \
    python3 -m http.server --bind 0.0.0.0 8002 >"$tmp/srv2.log" 2>&1) &
sock_pids+=($!)
sock_wait_tapir_listen 8002
timeout 60 curl -sS --fail -o "$tmp/got2" http://$SADDR:8002/big.bin \
    || { cat "$tmp/srv2.log" >&2; die "kernel curl from tapir http.server failed"; }
check "kernel curl <- tapir http.server" "$tmp/got2"

for p in "${sock_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${sock_pids[@]}"; do wait "$p" 2>/dev/null || true; done
sock_pids=()
sleep 0.2
sock_stop_tapird
echo "$NAME: PASS"
