#!/usr/bin/env bash
# tests/interop/status_test.sh -- `tapir status` and `tapir stats` read a
# running `tapir run` over its control socket (mode 0600, removed at exit):
# the connection a kernel client holds is listed with its addresses, state,
# rtt, rto, cwnd, ssthresh, bytes in flight and queues, as text and JSON;
# the counters (stack, runtime, impaired link, services), as text and JSON,
# agree with each other; without a running stack both say so and exit 1; a
# second stack on the same socket is refused.  Needs root (exits 77 without).
set -euo pipefail
NAME=status_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 120 "$@"
run_need python3 ip timeout

# -- no stack: one line, exit 1
rc=0
"$TAPIR" status --ctl "$tmp/none.ctl" >"$tmp/o" 2>"$tmp/e" || rc=$?
[ $rc -eq 1 ] || fail "status without a stack: exit $rc"
[ "$(cat "$tmp/e")" = "tapir: no stack running at $tmp/none.ctl (start one with tapir run)" ] \
    || fail "status without a stack: '$(cat "$tmp/e")'"
rc=0
"$TAPIR" stats --dev tpnone0 >"$tmp/o" 2>"$tmp/e" || rc=$?
[ $rc -eq 1 ] || fail "stats without a stack: exit $rc"
[ "$(cat "$tmp/e")" = "tapir: no stack running at /run/tapir/tpnone0.ctl (start one with tapir run)" ] \
    || fail "stats without a stack: '$(cat "$tmp/e")'"
rc=0
"$TAPIR" status --json --bogus >"$tmp/o" 2>"$tmp/e" || rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/e")" -eq 1 ] || fail "status --bogus: exit $rc, '$(cat "$tmp/e")'"
echo "$NAME: without a stack: one line, exit 1"

run_start --echo --impair delay=1,seed=5
[ "$(stat -c %a "$CTL")" = 600 ] || fail "control socket mode $(stat -c %a "$CTL"), want 600"
[ -S "$CTL" ] || fail "$CTL is not a socket"

# -- a second stack on the same control socket is refused
rc=0
timeout 10 "$TAPIR" run --dev tpsecond0 --addr 10.79.0.1 --peer 10.79.0.2 --ctl "$CTL" \
    >"$tmp/o2" 2>"$tmp/e2" || rc=$?
[ $rc -eq 1 ] || fail "a second stack on $CTL: exit $rc"
grep -q "^tapir: --ctl: a stack is already running at $CTL$" "$tmp/e2" || fail "second stack: '$(cat "$tmp/e2")'"
! ip link show tpsecond0 >/dev/null 2>&1 || fail "tpsecond0 left behind"

# -- a held connection, seen by status
$PY hold $SADDR 7 "$tmp/held" 4 >"$tmp/hold.out" &
hpid=$!
run_pids+=($hpid)
for _ in $(seq 100); do [ -e "$tmp/held" ] && break; sleep 0.05; done
[ -e "$tmp/held" ] || die "the kernel client did not connect"
"$TAPIR" status --ctl "$CTL" >"$tmp/st" || die "tapir status failed"
cat "$tmp/st"
head -1 "$tmp/st" | grep -q "^State  *Recv-Q  *Send-Q  *Local  *Remote" || die "no header line"
grep -Eq "^LISTEN +0 +0 +$SADDR:7 " "$tmp/st" || die "no LISTEN line for port 7"
grep -Eq "^ESTAB +0 +0 +$SADDR:7 +$KADDR:[0-9]+" "$tmp/st" || die "no ESTAB line for the held connection"
for f in rtt: rto: cwnd: ssthresh: bytes_in_flight: snd_wnd: rcv_wnd: bytes_acked: bytes_received:6; do
    grep -q "	 .*$f" "$tmp/st" || die "status lacks $f"
done
"$TAPIR" status --ctl "$CTL" --json >"$tmp/st.json" || die "tapir status --json failed"
python3 - "$tmp/st.json" "$SADDR" "$KADDR" <<'PYEOF' || die "status --json"
import json, sys
d = json.load(open(sys.argv[1]))
est = [c for c in d["connections"] if c["state"] == "ESTABLISHED"]
assert len(est) == 1, d
c = est[0]
assert c["local"] == sys.argv[2] + ":7" and c["remote"].startswith(sys.argv[3] + ":"), c
assert c["rto_us"] >= 200000 and c["cwnd"] > 0 and c["ssthresh"] > 0, c
assert c["bytes_acked"] >= 6 and c["bytes_received"] == 6, c
assert c["bytes_in_flight"] == 0 and c["snd_queue"] == 0 and c["rcv_queue"] == 0, c
assert d["total"] == len(d["connections"]) == 2, d
print("status --json: 1 listener, 1 connection with rtt %d us, rto %d us, cwnd %d" %
      (c["rtt_us"], c["rto_us"], c["cwnd"]))
PYEOF

# -- counters, text and JSON
"$TAPIR" stats --ctl "$CTL" >"$tmp/stats" || die "tapir stats failed"
"$TAPIR" stats --ctl "$CTL" --json >"$tmp/stats.json" || die "tapir stats --json failed"
"$TAPIR" stats --ctl "$CTL" --all >"$tmp/stats.all" || die "tapir stats --all failed"
grep -Eq "^TcpPassiveOpens +1 " "$tmp/stats" || die "stats: TcpPassiveOpens is not 1"
grep -Eq "^TapirImpairRxSeen +[1-9]" "$tmp/stats" || die "stats: no impaired-link counters"
grep -Eq "^TapirSvcAccepted +1 " "$tmp/stats" || die "stats: TapirSvcAccepted is not 1"
grep -Eq "^TcpOutRsts +0 " "$tmp/stats.all" || die "stats --all: no zero counters"
python3 - "$tmp/stats.json" "$tmp/stats.all" <<'PYEOF' || die "stats --json"
import json, sys
d = json.load(open(sys.argv[1]))["counters"]
text = {l.split()[0]: int(l.split()[1]) for l in open(sys.argv[2])}
assert set(d) == set(text), set(d) ^ set(text)
for k in ("TcpPassiveOpens", "TcpInSegs", "TapirTunRxPackets", "TapirImpairTxSeen"):
    assert k in d, k
assert d["TcpPassiveOpens"] == 1 and d["TcpInSegs"] > 0, d
print("stats --json: %d counters, the same names as the text" % len(d))
PYEOF
wait $hpid || die "the held connection failed"

run_stop
[ ! -e "$CTL" ] || fail "the control socket is still there after exit"
rc=0
"$TAPIR" status --ctl "$CTL" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "status after exit: exit $rc"

# -- the default path: /run/tapir/<dev>.ctl, found by --dev
dev=tpst$$
"$TAPIR" run --dev $dev --addr $SADDR --peer $KADDR >"$tmp/d.out" 2>"$tmp/d.err" &
dpid=$!
run_pids+=($dpid)
for _ in $(seq 100); do grep -q "ready:" "$tmp/d.err" && break; sleep 0.05; done
[ "$(stat -c %a /run/tapir/$dev.ctl)" = 600 ] || fail "/run/tapir/$dev.ctl: not mode 600"
"$TAPIR" status --dev $dev | grep -q "^State" || fail "status --dev $dev"
# The same device name in another namespace: a warning, no second socket.
rc=0
timeout --preserve-status -s TERM 2 unshare --net "$TAPIR" run --dev $dev --addr $SADDR --peer $KADDR \
    >"$tmp/d2.out" 2>"$tmp/d2.err" || rc=$?
[ $rc -eq 0 ] || fail "a second stack named $dev in another namespace: exit $rc"
grep -q "control socket: a stack already answers at /run/tapir/$dev.ctl; this one has none" \
    "$tmp/d2.err" || fail "no warning for the second $dev: $(cat "$tmp/d2.err")"
"$TAPIR" status --dev $dev | grep -q "^State" || fail "the first stack lost its socket"
kill -TERM $dpid
wait $dpid || fail "the stack on $dev exited non-zero"
[ ! -e /run/tapir/$dev.ctl ] || fail "/run/tapir/$dev.ctl left behind"
echo "$NAME: ok"
