#!/usr/bin/env bash
# tests/interop/concurrency_test.sh -- 100 connections open at once from the
# kernel to tapir's echo service, each echoing 50 KB byte-exact; then 100
# concurrent HTTP GETs of /bytes/N checked by sha256; the stack ends with no
# connection left open and none reset.  A RST is allowed only as the
# listener's answer to a stray ACK (RFC 9293 3.10.7.2): when the kernel's
# ACK of our last data and FIN comes late on a busy machine, the tail loss
# probe resends them, the kernel acknowledges twice, and the second ACK finds
# the connection already closed -- the kernel's own TCP answers alike.  Needs
# root (exits 77 without).
set -euo pipefail
NAME=concurrency_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 180 "$@"
run_need python3 curl ip timeout

run_start --echo --http --http-port 8080 --max-conns 256
$PY concurrent $SADDR 7 100 50000 || die "100 concurrent echo connections"
[ "$(live_counter TapirSvcAccepted)" -eq 100 ] || die "TapirSvcAccepted is not 100"

want=$(pattern_sha 200000)
pids=()
for i in $(seq 100); do
    (timeout 60 curl -sf http://$SADDR:8080/bytes/200000 | sha256sum | cut -d' ' -f1 >"$tmp/h.$i") &
    pids+=($!)
done
for p in "${pids[@]}"; do wait $p || true; done
ok=0
for i in $(seq 100); do [ "$(cat "$tmp/h.$i")" = "$want" ] && ok=$((ok + 1)); done
[ $ok -eq 100 ] || die "$ok of 100 concurrent HTTP GETs got the right body"
echo "$NAME: 100 concurrent HTTP GETs of 200000 bytes, sha256 ok"
sleep 0.5
open=$("$TAPIR" status --ctl "$CTL" | grep -Ec "^(ESTAB|SYN-RECV|CLOSE-WAIT|LAST-ACK|FIN-WAIT)" || true)
[ "$open" -eq 0 ] || { "$TAPIR" status --ctl "$CTL" >&2; die "$open connections still open"; }
run_stop
[ "$(counter TcpPassiveOpens)" -eq 200 ] || die "TcpPassiveOpens $(counter TcpPassiveOpens), want 200"
[ "$(counter TcpEstabResets)" -eq 0 ] || die "TcpEstabResets $(counter TcpEstabResets), want 0"
[ "$(counter TcpOutRsts)" -eq "$(counter TapirTcpListenAckRst)" ] ||
    die "TcpOutRsts $(counter TcpOutRsts): only $(counter TapirTcpListenAckRst) answered stray ACKs at the listener"
echo "$NAME: resets sent: $(counter TcpOutRsts), each to a stray ACK; loss probes $(counter TcpExtTCPLossProbes), D-SACKs received $(counter TcpExtTCPDSACKRecv)"
[ "$(counter TapirSvcErrors)" -eq 0 ] || die "TapirSvcErrors $(counter TapirSvcErrors), want 0"
echo "$NAME: ok"
