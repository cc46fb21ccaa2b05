#!/usr/bin/env bash
# tests/interop/impair_test.sh -- `tapir run --impair` is reproducible by
# seed and does what it says: the kernel pings the stack 40 times, one at a
# time, over a link that loses 25 % each way; two runs with seed 7 lose the
# same pings, a run with seed 8 loses others; the counters add up (replies =
# requests delivered - replies lost); delay=150 shows in ping's rtt; bad
# specs are refused with one line.  Needs root (exits 77 without).
set -euo pipefail
NAME=impair_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 180 "$@"
run_need ping ip timeout

N=40
# The icmp_seq numbers that came back, one line.
pings() {
    timeout 60 ping -n -c $N -i 0.05 -W 0.5 $SADDR 2>&1 \
        | sed -n 's/.*icmp_seq=\([0-9]*\) .*/\1/p' | tr '\n' ' '
}

# -- bad specs: exit 2, one line naming the field
for spec in "loss=101" "loss=abc" "delay=70000" "bogus=1" "loss=1,loss=2"; do
    rc=0
    "$TAPIR" run --addr $SADDR --peer $KADDR --impair "$spec" >"$tmp/o" 2>"$tmp/e" || rc=$?
    [ $rc -eq 2 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] || fail "--impair $spec: exit $rc, '$(cat "$tmp/e")'"
    grep -q "^tapir: --impair: " "$tmp/e" || fail "--impair $spec: '$(cat "$tmp/e")'"
done
echo "$NAME: bad specs refused with one line"

declare -A got
for run in a:7 b:7 c:8; do
    name=${run%%:*} seed=${run##*:}
    run_start --impair "loss=25,seed=$seed"
    got[$name]=$(pings)
    run_stop
    seen=$(counter TapirImpairRxSeen) rxlost=$(counter TapirImpairRxLost)
    txseen=$(counter TapirImpairTxSeen) txlost=$(counter TapirImpairTxLost)
    reps=$(counter IcmpOutEchoReps)
    [ "$seen" -eq $N ] || die "seed $seed: $seen packets entered towards the stack, want $N"
    [ "$reps" -eq $((seen - rxlost)) ] || die "seed $seed: $reps replies for $((seen - rxlost)) delivered requests"
    [ "$txseen" -eq "$reps" ] || die "seed $seed: $txseen packets left the stack, want $reps"
    answered=$(echo "${got[$name]}" | wc -w)
    [ "$answered" -eq $((reps - txlost)) ] || die "seed $seed: ping saw $answered replies, want $((reps - txlost))"
    [ "$rxlost" -gt 0 ] && [ "$txlost" -gt 0 ] || die "seed $seed: nothing lost ($rxlost, $txlost)"
    echo "$NAME: seed $seed: $answered/$N answered; lost $rxlost in, $txlost out; replies: ${got[$name]}"
done
[ "${got[a]}" = "${got[b]}" ] || fail "seed 7 twice gave different losses"
[ "${got[a]}" != "${got[c]}" ] || fail "seeds 7 and 8 gave the same losses"
echo "$NAME: the same seed loses the same packets; another seed others"

# -- delay: 150 ms each way shows as rtt >= 300 ms
run_start --impair "delay=150,seed=1"
timeout 20 ping -n -c 3 -i 0.2 -W 2 $SADDR >"$tmp/ping" || die "ping over a delayed link failed"
run_stop
min=$(sed -n 's|.*min/avg/max/mdev = \([0-9.]*\)/.*|\1|p' "$tmp/ping")
awk -v m="$min" 'BEGIN { exit !(m >= 300 && m < 600) }' || fail "delay=150: min rtt $min ms, want 300..600"
[ "$(counter TapirImpairRxDelayed)" -eq 3 ] || fail "TapirImpairRxDelayed is not 3"
echo "$NAME: delay=150: min rtt $min ms"
echo "$NAME: ok"
