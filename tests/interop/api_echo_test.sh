#!/usr/bin/env bash
# tests/interop/api_echo_test.sh -- examples/echo, a program on the socket
# C API (include/tapir/socket.h), on a TUN device against the kernel's TCP:
#   echo --connect: 8 MB sent to a kernel-side python3 echo server and read
#     back interleaved, every byte compared, and the kernel's count of
#     echoed bytes must equal 8 MB;
#   echo --listen: the kernel's python3 client sends 8 MB to it, reads the
#     echo, and compares sha256 of what it sent and got.
# Needs root (exit 77 without); private namespace, bounded.
set -euo pipefail
NAME=api_echo_test
. "$(dirname "$0")/lib/sockets.sh"
sock_enter_ns 120 "$@"
sock_need python3 ip ss timeout
ECHO=${TAPIR_BIN%/bin}/examples/echo
[ -x "$ECHO" ] || fail "no examples/echo beside $TAPIR_BIN"
BYTES=$((8 * 1024 * 1024))

ip link set lo up
ip tuntap add dev tpapi0 mode tun
ip addr add $KADDR peer $SADDR dev tpapi0
ip link set tpapi0 up

# 1. echo --connect -> kernel echo server (serves one connection, counts).
cat >"$tmp/echo_srv.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    c.sendall(b); n += len(b)
c.close(); print(n)
PY
timeout 60 python3 "$tmp/echo_srv.py" $KADDR 9000 >"$tmp/srv.count" &
sock_pids+=($!)
srv=$!
sock_wait_kernel_listen 9000
timeout 60 "$ECHO" --tun tpapi0 --addr $SADDR/30 --connect $KADDR:9000 --bytes $BYTES \
    >"$tmp/client.out" || { cat "$tmp/client.out" >&2; fail "echo --connect failed"; }
wait $srv || fail "the kernel echo server failed"
grep -q "^echo: $BYTES bytes echoed intact" "$tmp/client.out" || fail "$(cat "$tmp/client.out")"
[ "$(cat "$tmp/srv.count")" = "$BYTES" ] || fail "kernel server echoed $(cat "$tmp/srv.count") bytes"
echo "$NAME: $(cat "$tmp/client.out") (kernel server counted $BYTES)"

# 2. kernel client -> echo --listen.
timeout 60 "$ECHO" --tun tpapi0 --addr $SADDR/30 --listen 9001 --count 1 >"$tmp/server.out" &
sock_pids+=($!)
esrv=$!
for _ in $(seq 100); do grep -q listening "$tmp/server.out" 2>/dev/null && break; sleep 0.05; done
cat >"$tmp/echo_cli.py" <<'PY'
import hashlib, os, socket, sys, threading
data = os.urandom(int(sys.argv[3]))
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
got = []
def reader():
    while True:
        b = c.recv(65536)
        if not b: break
        got.append(b)
t = threading.Thread(target=reader); t.start()
c.sendall(data); c.shutdown(socket.SHUT_WR); t.join()
back = b"".join(got)
print(len(back), hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest())
PY
res=$(timeout 60 python3 "$tmp/echo_cli.py" $SADDR 9001 $BYTES) || fail "kernel echo client failed"
[ "$res" = "$BYTES True" ] || fail "kernel client got back: $res"
wait $esrv || fail "echo --listen failed"
grep -q "served a connection, $BYTES bytes" "$tmp/server.out" || fail "$(cat "$tmp/server.out")"
echo "$NAME: kernel client -> echo --listen: $BYTES bytes back, sha256 matches"
ip link del tpapi0
echo "$NAME: PASS"
