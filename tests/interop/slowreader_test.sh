#!/usr/bin/env bash
# tests/interop/slowreader_test.sh -- a kernel client with a small receive
# buffer asks tapir's HTTP server for 3 MB and reads nothing for 3 s: its
# window closes (tapir status shows snd_wnd 0 with data queued), tapir
# probes the zero window (TapirTcpZeroWindowProbes), and once the client
# reads, the window opens again and every byte arrives (sha256).
# Needs root (exits 77 without).
set -euo pipefail
NAME=slowreader_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 120 "$@"
run_need python3 ip timeout

run_start --http --http-port 8080
$PY slow-read $SADDR 8080 3000000 4096 3 >"$tmp/slow.out" 2>&1 &
spid=$!
run_pids+=($spid)
sleep 1.5
"$TAPIR" status --ctl "$CTL" --json >"$tmp/st.json" || die "tapir status failed"
python3 - "$tmp/st.json" <<'PYEOF' || { cat "$tmp/st.json" >&2; die "the window did not close"; }
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["connections"] if c["state"] == "ESTABLISHED"]
assert len(c) == 1, c
c = c[0]
assert c["snd_wnd"] == 0 and c["snd_queue"] > 0, c
print("while the client sleeps: snd_wnd 0, %d bytes queued" % c["snd_queue"])
PYEOF
wait $spid || { cat "$tmp/slow.out" >&2; die "the slow reader failed"; }
cat "$tmp/slow.out"
run_stop
probes=$(counter TapirTcpZeroWindowProbes)
[ "$probes" -gt 0 ] || die "no zero-window probe was sent"
[ "$(counter TcpExtTCPAbortOnTimeout)" -eq 0 ] || die "a connection timed out"
echo "$NAME: TapirTcpZeroWindowProbes $probes"
echo "$NAME: ok"
