#!/usr/bin/env bash
# tests/interop/preload_impair_test.sh -- real programs over a faulty link:
# tapird's link loses, duplicates and reorders packets both ways
# (--impair loss=1,dup=0.5,reorder=1,delay=1, seeded), and still
#   `tapir exec -- curl` downloads 10 MB from the kernel's http.server,
#   the kernel's curl downloads 10 MB from `tapir exec -- python3 -m http.server`,
# with sha256 matching, bounded in time.  Needs root (exit 77 without).
set -euo pipefail
NAME=preload_impair_test
. "$(dirname "$0")/lib/sockets.sh"
sock_enter_ns 170 "$@"
sock_need curl python3 sha256sum ss timeout
SPEC=${TAPIR_IMPAIR:-loss=1,dup=0.5,reorder=1,delay=1,seed=7}

mkdir -p "$tmp/www"
head -c $((10 * 1000 * 1000)) /dev/urandom >"$tmp/www/f.bin"
want=$(sha256sum <"$tmp/www/f.bin" | cut -d' ' -f1)
sock_start_tapird --impair "$SPEC"

check() {   # LABEL FILE SECONDS
    local got
    got=$(sha256sum <"$2" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "$1: sha256 $got, want $want ($(stat -c %s "$2") bytes)"
    echo "$NAME: $1: 10 MB over '$SPEC' in $3 s, sha256 matches"
}
secs() { echo "scale=2; ($(date +%s%N) - $1) / 1000000000" | bc; }

(cd "$tmp/www" && exec timeout 120 python3 -m http.server --bind $KADDR 8001 \
    >"$tmp/srv1.log" 2>&1) &
sock_pids+=($!)
sock_wait_kernel_listen 8001
t=$(date +%s%N)
timeout 60 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- curl -sS --fail -o "$tmp/got1" \
    http://$KADDR:8001/f.bin || die "tapir curl failed"
check "tapir curl <- kernel http.server" "$tmp/got1" "$(secs $t)"

(cd "$tmp/www" && exec timeout 120 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- \
    python3 -m http.server --bind 0.0.0.0 8002 >"$tmp/srv2.log" 2>&1) &
sock_pids+=($!)
sock_wait_tapir_listen 8002
t=$(date +%s%N)
timeout 60 curl -sS --fail -o "$tmp/got2" http://$SADDR:8002/f.bin \
    || die "kernel curl from tapir http.server failed"
check "kernel curl <- tapir http.server" "$tmp/got2" "$(secs $t)"

for p in "${sock_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${sock_pids[@]}"; do wait "$p" 2>/dev/null || true; done
sock_pids=()
sleep 0.3
sock_stop_tapird
echo "$NAME: tapir: $(sock_counter TcpRetransSegs) segments retransmitted," \
    "$(sock_counter TcpExtTCPTimeouts) timeouts, $(sock_counter TcpExtTCPFastRetrans) fast" \
    "retransmits, $(sock_counter TcpExtTCPOFOQueue) segments held out of order"
echo "$NAME: PASS"
