#!/usr/bin/env bash
# tests/interop/preload_iperf3_test.sh -- iperf3 over tapird against the
# kernel's iperf3, short runs (-t 3) in both directions and both roles:
#   tapir iperf3 -c -> kernel iperf3 -s (tapir sends, then -R: receives);
#   kernel iperf3 -c -> tapir iperf3 -s (kernel sends, then -R).
# Each run must finish within its bound and its JSON report (iperf3 -J)
# must show more than 1 MB received; throughput is printed.
# Needs root (exit 77 without); private namespace, bounded.
set -euo pipefail
NAME=preload_iperf3_test
. "$(dirname "$0")/lib/sockets.sh"
sock_enter_ns 180 "$@"
sock_need iperf3 python3 ss timeout

sock_start_tapird

# Print "sent received mbit/s" of an iperf3 -J report.
summary() {
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
if "error" in r:
    sys.exit("iperf3 error: " + r["error"])
e = r["end"]
print(e["sum_sent"]["bytes"], e["sum_received"]["bytes"],
      round(e["sum_received"]["bits_per_second"] / 1e6))' "$1"
}

run() {     # LABEL REPORT -- client command
    local label=$1 rep=$2 s
    shift 3
    timeout 30 "$@" -J -t 3 >"$rep" || { cat "$rep" >&2; die "$label: iperf3 client failed"; }
    s=$(summary "$rep") || die "$label: bad report"
    set -- $s
    [ "$2" -gt 1000000 ] || die "$label: only $2 bytes received"
    echo "$NAME: $label: sent $1 B, received $2 B, $3 Mbit/s"
}

# tapir client, kernel server.
timeout 60 iperf3 -s -B $KADDR -p 5201 >"$tmp/ks.log" 2>&1 &
sock_pids+=($!)
sock_wait_kernel_listen 5201
run "tapir -c -> kernel -s" "$tmp/r1" -- "$TAPIR" exec --socket "$TAPIRD_SOCK" -- \
    iperf3 -4 -c $KADDR -p 5201
run "tapir -c -R <- kernel -s" "$tmp/r2" -- "$TAPIR" exec --socket "$TAPIRD_SOCK" -- \
    iperf3 -4 -c $KADDR -p 5201 -R

# kernel client, tapir server.
timeout 60 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- iperf3 -4 -s -p 5202 --forceflush \
    >"$tmp/ts.log" 2>&1 &
sock_pids+=($!)
# Not a probe connection: iperf3 -s would take it for a test and be busy.
for _ in $(seq 100); do grep -q "Server listening" "$tmp/ts.log" && break; sleep 0.05; done
grep -q "Server listening" "$tmp/ts.log" || die "tapir iperf3 -s did not start: $(cat "$tmp/ts.log")"
run "kernel -c -> tapir -s" "$tmp/r3" -- iperf3 -c $SADDR -p 5202
run "kernel -c -R <- tapir -s" "$tmp/r4" -- iperf3 -c $SADDR -p 5202 -R

for p in "${sock_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${sock_pids[@]}"; do wait "$p" 2>/dev/null || true; done
sock_pids=()
sleep 0.2
sock_stop_tapird
echo "$NAME: PASS"
