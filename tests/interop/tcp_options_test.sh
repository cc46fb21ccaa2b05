#!/usr/bin/env bash
# tests/interop/tcp_options_test.sh -- tapir against the kernel's TCP with
# window scaling, timestamps and SACK all negotiated, then with each one
# switched off on the kernel side (sysctl net.ipv4.tcp_window_scaling,
# tcp_timestamps, tcp_sack: set inside this test's own namespace only).
# For each: 2 MB each way over a link losing 1 % (--impair, fixed seed),
# verified by sha256; tapir's counters must show exactly the options the
# kernel allowed (TapirTcpConn*), RTT samples from timestamps only when
# they were on, and SACK recovery only with SACK.  Needs root (77 without).
set -euo pipefail
NAME=tcp_options_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 300 "$@"
run_need python3 ip timeout sha256sum sysctl

size=2000000
f=$tmp/data
make_file "$f" "$size"
want=$(sha "$f")

nc_ready() {
    for _ in $(seq 100); do
        grep -q "ready:" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
stat_of() { awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' "$2"; }

# name, window_scaling, timestamps, sack
cases=("all 1 1 1" "no-wscale 0 1 1" "no-timestamps 1 0 1" "no-sack 1 1 0" "none 0 0 0")
for c in "${cases[@]}"; do
    set -- $c
    name=$1 ws=$2 ts=$3 sack=$4
    sysctl -qw net.ipv4.tcp_window_scaling=$ws net.ipv4.tcp_timestamps=$ts net.ipv4.tcp_sack=$sack
    impair=(--impair "loss=1,seed=7")

    # tapir -> kernel
    rm -f "$tmp/k.ready"
    $PY recv-server 5001 "$tmp/k.$name" "$tmp/k.ready" >"$tmp/k.out" &
    kpid=$!
    run_pids+=($kpid)
    for _ in $(seq 100); do [ -e "$tmp/k.ready" ] && break; sleep 0.05; done
    timeout 60 "$TAPIR" nc --dev $DEV --addr $SADDR --peer $KADDR "${impair[@]}" --no-ctl \
        --stats-on-exit "$tmp/s.out.$name" $KADDR 5001 <"$f" >/dev/null 2>"$tmp/nc.err" \
        || { cat "$tmp/nc.err" >&2; fail "$name: tapir nc to the kernel failed"; }
    wait $kpid || { cat "$tmp/k.out" >&2; fail "$name: the kernel listener failed"; }
    [ "$(sha "$tmp/k.$name")" = "$want" ] || fail "$name: tapir to kernel: sha256 differs"

    # kernel -> tapir
    timeout 60 "$TAPIR" nc --dev $DEV --addr $SADDR --peer $KADDR "${impair[@]}" --no-ctl \
        --log-level info --stats-on-exit "$tmp/s.in.$name" --listen 6000 \
        </dev/null >"$tmp/t.$name" 2>"$tmp/nc.err" &
    npid=$!
    run_pids+=($npid)
    nc_ready "$tmp/nc.err" || { cat "$tmp/nc.err" >&2; fail "$name: tapir nc --listen not ready"; }
    $PY send $SADDR 6000 "$f" >/dev/null || fail "$name: the kernel client failed"
    wait $npid || { cat "$tmp/nc.err" >&2; fail "$name: tapir nc --listen failed"; }
    [ "$(sha "$tmp/t.$name")" = "$want" ] || fail "$name: kernel to tapir: sha256 differs"

    for s in "$tmp/s.out.$name" "$tmp/s.in.$name"; do
        [ "$(stat_of TapirTcpConnWscale "$s")" = "$ws" ] || fail "$name: TapirTcpConnWscale $(stat_of TapirTcpConnWscale "$s"), want $ws"
        [ "$(stat_of TapirTcpConnTimestamps "$s")" = "$ts" ] || fail "$name: TapirTcpConnTimestamps, want $ts"
        [ "$(stat_of TapirTcpConnSack "$s")" = "$sack" ] || fail "$name: TapirTcpConnSack, want $sack"
        [ "$(stat_of TcpExtPAWSEstab "$s")" = 0 ] || fail "$name: PAWS dropped segments of a live transfer"
    done
    out=$tmp/s.out.$name
    rtts=$(stat_of TapirTcpTsRttSamples "$out")
    if [ "$ts" = 1 ]; then [ "$rtts" -gt 0 ] || fail "$name: no RTT sample from timestamps"
    else [ "$rtts" = 0 ] || fail "$name: RTT samples from timestamps that were off"; fi
    sr=$(stat_of TcpExtTCPSackRecovery "$out") rr=$(stat_of TcpExtTCPRenoRecovery "$out")
    if [ "$sack" = 0 ]; then [ "$sr" = 0 ] || fail "$name: SACK recovery without SACK"; fi
    echo "$NAME: $name (wscale $ws, timestamps $ts, sack $sack): 2 MB each way at 1 % loss, sha256 ok;" \
        "tapir sending: TcpRetransSegs $(stat_of TcpRetransSegs "$out"), SACK recoveries $sr," \
        "NewReno recoveries $rr, RTOs $(stat_of TcpExtTCPTimeouts "$out"), TS RTT samples $rtts"
done
echo "$NAME: ok"
