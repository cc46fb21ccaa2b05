#!/usr/bin/env bash
# tests/interop/lib/sock_zero_window_repro.sh -- not a test: reproduces a
# stall of the TCP core for its owner.  8 programs under tapir exec each
# send 1 MB (SIZE) to a kernel-side python echo server and read the echo,
# ROUNDS times.  About one connection in 150 stalls for good: the kernel's
# receive window closes while it still sends to tapir; tapir probes the
# zero window with new data (SND.NXT moves past the kernel's window), and
# its later pure ACKs carry that SEQ, which Linux finds unacceptable
# (RFC 9293 3.10.7.4) and drops without reading their ACK field; the
# kernel retransmits data tapir already has, forever.  On a stall it
# prints tapir status, the kernel's ss -tni and tapird's counters; with
# PCAP=FILE it keeps tapird's capture.  Usage (root):
#   TAPIR_BIN=build/bin ROUNDS=40 bash tests/interop/lib/sock_zero_window_repro.sh
NAME=sock_zero_window_repro
. "$(dirname "$0")/sockets.sh"
sock_enter_ns 170 "$@"
cat >"$tmp/kpeer.py" <<'PY'
import socket, sys, threading
def echo(c):
    while True:
        b = c.recv(65536)
        if not b: break
        c.sendall(b)
    c.close()
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 9100)); s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
PY
timeout 160 python3 "$tmp/kpeer.py" $KADDR 2>"$tmp/kpeer.err" &
sock_pids+=($!)
sock_wait_kernel_listen 9100
if [ -n "${PCAP:-}" ]; then sock_start_tapird --pcap $tmp/cap.pcap; else sock_start_tapird; fi
cat >"$tmp/many.py" <<'PY'
import hashlib, os, socket, sys, threading
d = os.urandom(int(os.environ.get("SIZE", 1 << 20)))
c = socket.create_connection((sys.argv[1], 9100), timeout=20)
got = []
t = threading.Thread(target=lambda: got.extend(iter(lambda: c.recv(65536), b"")))
t.start(); c.sendall(d); c.shutdown(socket.SHUT_WR); t.join()
b = b"".join(got)
if b != d:
    print("MISMATCH len", len(b), "first diff", next((i for i in range(min(len(b), len(d))) if b[i] != d[i]), None), file=sys.stderr)
    sys.exit(1)
PY
for round in $(seq ${ROUNDS:-10}); do
pids=()
for i in $(seq 8); do
    timeout 60 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- python3 "$tmp/many.py" $KADDR 2>"$tmp/m$i.err" &
    pids+=($!)
done
for w in $(seq 40); do
    alive=0; for p in "${pids[@]}"; do kill -0 $p 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.25
done
if [ $alive = 1 ]; then
    echo "=== stalled in round $round"; "$TAPIR" status --ctl $tmp/ctl | grep -v TIME-WAIT
    ss -tni "sport = :9100" | grep -v "^State" | paste - - | awk '{print $1, $2, $3, $4, $5}' | head -20
    "$TAPIR" stats --ctl $tmp/ctl | grep -iE "drop|bad|retrans|timeout|zero|window|probe|paws|ts" | head -30
    "$TAPIR" status --ctl $tmp/ctl | grep -A1 "FIN-WAIT-1\|ESTAB" | grep -v TIME-WAIT > $tmp/stall.status
    ss -tni "sport = :9100" > $tmp/stall.ss
    [ -z "${PCAP:-}" ] || { sleep 1; cp $tmp/cap.pcap "$PCAP"; }
fi
bad=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" || { bad=1; echo "round $round prog $((i+1)) failed rc=$?"; cat "$tmp/m$((i+1)).err" | tail -5; }; done
[ $bad = 0 ] || { cat $tmp/kpeer.err | tail -5; break; }
done
echo "rounds done"
sock_stop_tapird
