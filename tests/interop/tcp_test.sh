#!/usr/bin/env bash
# tests/interop/tcp_test.sh -- bulk transfers between tapir and the kernel's
# TCP, both ways, verified by sha256, over a clean link and over links that
# lose 1 % and 5 % of the packets in each direction (--impair, fixed seeds):
#   tapir to kernel: `tapir nc HOST PORT < file`, a kernel listener stores it;
#   kernel to tapir: a kernel client sends the file to `tapir nc --listen`.
# Over a lossy link the stack must have retransmitted (TcpRetransSegs > 0)
# and still deliver every byte.  Needs root (exits 77 without).
set -euo pipefail
NAME=tcp_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 300 "$@"
run_need python3 ip timeout sha256sum

# loss %, bytes, seed: sizes keep each transfer well under a minute.
cases=("0 4000000 1" "1 2000000 2" "5 1000000 3")

nc_ready() {                        # wait for "ready:" in $1
    for _ in $(seq 100); do
        grep -q "ready:" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
retrans() { awk '$1 == "TcpRetransSegs" { print $2 }' "$1"; }

for c in "${cases[@]}"; do
    set -- $c
    loss=$1 size=$2 seed=$3
    impair=()
    [ "$loss" -gt 0 ] && impair=(--impair "loss=$loss,seed=$seed")
    f=$tmp/data.$loss
    make_file "$f" "$size"
    want=$(sha "$f")

    # tapir -> kernel
    $PY recv-server 5001 "$tmp/k.$loss" "$tmp/k.ready" >"$tmp/k.out" &
    kpid=$!
    run_pids+=($kpid)
    for _ in $(seq 100); do [ -e "$tmp/k.ready" ] && break; sleep 0.05; done
    t0=$(date +%s.%N)
    timeout 60 "$TAPIR" nc --dev $DEV --addr $SADDR --peer $KADDR "${impair[@]}" --no-ctl \
        --stats-on-exit "$tmp/s.out.$loss" $KADDR 5001 <"$f" >"$tmp/nc.out" 2>"$tmp/nc.err" \
        || { cat "$tmp/nc.err" >&2; fail "loss $loss%: tapir nc to the kernel failed"; }
    wait $kpid || { cat "$tmp/k.out" >&2; fail "loss $loss%: the kernel listener failed"; }
    t1=$(date +%s.%N)
    rm -f "$tmp/k.ready"
    [ "$(sha "$tmp/k.$loss")" = "$want" ] || fail "loss $loss%: tapir to kernel: sha256 differs ($(stat -c %s "$tmp/k.$loss") of $size bytes)"
    r1=$(retrans "$tmp/s.out.$loss")
    echo "$NAME: loss $loss%: tapir -> kernel $size bytes, sha256 ok, $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}') s, TcpRetransSegs $r1"

    # kernel -> tapir
    timeout 60 "$TAPIR" nc --dev $DEV --addr $SADDR --peer $KADDR "${impair[@]}" --no-ctl \
        --log-level info --stats-on-exit "$tmp/s.in.$loss" --listen 6000 \
        </dev/null >"$tmp/t.$loss" 2>"$tmp/nc.err" &
    npid=$!
    run_pids+=($npid)
    nc_ready "$tmp/nc.err" || { cat "$tmp/nc.err" >&2; fail "tapir nc --listen not ready"; }
    t0=$(date +%s.%N)
    $PY send $SADDR 6000 "$f" >/dev/null || fail "loss $loss%: the kernel client failed"
    wait $npid || { cat "$tmp/nc.err" >&2; fail "loss $loss%: tapir nc --listen failed"; }
    t1=$(date +%s.%N)
    [ "$(sha "$tmp/t.$loss")" = "$want" ] || fail "loss $loss%: kernel to tapir: sha256 differs ($(stat -c %s "$tmp/t.$loss") of $size bytes)"
    r2=$(retrans "$tmp/s.in.$loss")
    echo "$NAME: loss $loss%: kernel -> tapir $size bytes, sha256 ok, $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}') s, TcpRetransSegs $r2"
    if [ "$loss" -gt 0 ]; then
        [ "$r1" -gt 0 ] || fail "loss $loss%: tapir sent $size bytes without a retransmission"
        lost=$(awk '$1 == "TapirImpairRxLost" { print $2 }' "$tmp/s.in.$loss")
        [ "$lost" -gt 0 ] || fail "loss $loss%: the impaired link lost nothing on the way in"
    fi
done
echo "$NAME: ok"
