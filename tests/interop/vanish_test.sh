#!/usr/bin/env bash
# tests/interop/vanish_test.sh -- the kernel's end vanishes mid-connection
# (its address is deleted from the device: nothing it sent arrives any more,
# nothing tapir sends is answered).  Two connections must end on their own:
#   an idle echo connection, by keepalive (--keepalive 1: 3 probes 1 s apart);
#   a busy chargen connection, by giving up retransmitting (--user-timeout).
# tapir status shows them gone, and the counters say they timed out.
# Needs root (exits 77 without).
set -euo pipefail
NAME=vanish_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 120 "$@"
run_need python3 ip timeout

run_start --echo --chargen --keepalive 1 --user-timeout 3000 --log-level debug
$PY hold $SADDR 7 "$tmp/idle" 30 >/dev/null 2>&1 &
run_pids+=($!)
$PY drain $SADDR 19 "$tmp/busy" 30 >/dev/null 2>&1 &
run_pids+=($!)
for _ in $(seq 100); do [ -e "$tmp/idle" ] && [ -e "$tmp/busy" ] && break; sleep 0.05; done
[ -e "$tmp/idle" ] && [ -e "$tmp/busy" ] || die "the kernel clients did not connect"
estab() { "$TAPIR" status --ctl "$CTL" | grep -c "^ESTAB" || true; }
[ "$(estab)" -eq 2 ] || die "want 2 established connections before the peer vanishes"

ip addr del $KADDR peer $SADDR dev $DEV
t0=$(date +%s)
for _ in $(seq 200); do
    [ "$(estab)" -eq 0 ] && break
    sleep 0.1
done
t1=$(date +%s)
[ "$(estab)" -eq 0 ] || { "$TAPIR" status --ctl "$CTL" >&2; die "connections still established 20 s after the peer vanished"; }
echo "$NAME: both connections ended $((t1 - t0)) s after the peer vanished"
run_stop
# Each service saw its connection end with ETIMEDOUT (logged at debug).
grep -Eq "echo: connection [0-9]+ ended: Connection timed out" "$tmp/run.err" \
    || die "the idle echo connection did not time out (keepalive)"
grep -Eq "chargen: connection [0-9]+ ended: Connection timed out" "$tmp/run.err" \
    || die "the busy chargen connection did not time out (R2)"
[ "$(counter TapirSvcErrors)" -eq 2 ] || die "TapirSvcErrors $(counter TapirSvcErrors), want 2"
# The stack counts R2 give-ups here (keepalive give-ups are not counted in it).
[ "$(counter TcpExtTCPAbortOnTimeout)" -ge 1 ] || die "TcpExtTCPAbortOnTimeout is 0"
[ "$(counter TcpRetransSegs)" -ge 1 ] || die "no retransmission before giving up"
echo "$NAME: keepalive and R2 both ended their connection with ETIMEDOUT; TcpExtTCPAbortOnTimeout $(counter TcpExtTCPAbortOnTimeout)"
echo "$NAME: ok"
