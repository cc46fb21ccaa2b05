#!/usr/bin/env bash
# tests/interop/nc_test.sh -- `tapir nc` against the kernel's TCP:
#   half-close: stdin's end sends FIN while the connection keeps receiving
#     (a kernel server reads until FIN, then answers the sha256 of it);
#   --listen: both directions at once, each verified by sha256;
#   a refused connection: exit 1 and one line; usage errors: exit 2, one line.
# Needs root (exits 77 without).  Env: TAPIR_BIN.
set -euo pipefail
NAME=nc_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 120 "$@"
run_need python3 ip timeout sha256sum

NC=("$TAPIR" nc --dev $DEV --addr $SADDR --peer $KADDR --no-ctl)

# -- usage errors: one line on stderr, exit 2, nothing on stdout
usage() {                           # expected-substring args...
    local want=$1 rc=0
    shift
    "$TAPIR" nc "$@" >"$tmp/u.out" 2>"$tmp/u.err" || rc=$?
    [ $rc -eq 2 ] || fail "nc $*: exit $rc, want 2"
    [ "$(wc -l <"$tmp/u.err")" -eq 1 ] || fail "nc $*: not one line: $(cat "$tmp/u.err")"
    grep -qF -- "$want" "$tmp/u.err" || fail "nc $*: '$(cat "$tmp/u.err")' lacks '$want'"
    [ ! -s "$tmp/u.out" ] || fail "nc $*: wrote to stdout"
}
usage "HOST and PORT are required" --addr $SADDR --peer $KADDR
usage "--listen needs a PORT" --addr $SADDR --peer $KADDR -l
usage "nc: PORT: '0' is out of range" --addr $SADDR --peer $KADDR $KADDR 0
usage "nc: HOST: 'foo' is not an IPv4 address" --addr $SADDR --peer $KADDR foo 80
usage "unexpected argument 'extra'" --addr $SADDR --peer $KADDR $KADDR 80 extra
usage "--addr is required" $KADDR 80
echo "$NAME: usage errors: one line, exit 2"

# -- half-close: FIN at stdin's end, the answer still arrives
make_file "$tmp/a" 1500000
$PY sha-server 5002 "$tmp/ready" >"$tmp/srv.out" &
kpid=$!
run_pids+=($kpid)
for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
timeout 60 "${NC[@]}" $KADDR 5002 <"$tmp/a" >"$tmp/answer" 2>"$tmp/nc.err" \
    || { cat "$tmp/nc.err" >&2; fail "tapir nc (half-close) failed"; }
wait $kpid || fail "the kernel server failed: $(cat "$tmp/srv.out")"
[ "$(cat "$tmp/answer")" = "$(sha "$tmp/a")" ] || fail "half-close: the answer '$(cat "$tmp/answer")' is not the sha256 of what was sent"
echo "$NAME: half-close: 1500000 bytes sent, FIN, the kernel's answer (their sha256) received"

# -- listen mode, both directions at once
make_file "$tmp/b" 800000
timeout 60 "${NC[@]}" --log-level info --listen 6001 <"$tmp/a" >"$tmp/got.b" 2>"$tmp/nc.err" &
npid=$!
run_pids+=($npid)
for _ in $(seq 100); do grep -q "ready:" "$tmp/nc.err" && break; sleep 0.05; done
$PY exchange $SADDR 6001 "$tmp/b" "$tmp/got.a" >/dev/null || fail "the kernel client failed"
wait $npid || { cat "$tmp/nc.err" >&2; fail "tapir nc --listen failed"; }
[ "$(sha "$tmp/got.b")" = "$(sha "$tmp/b")" ] || fail "listen: kernel to tapir: sha256 differs"
[ "$(sha "$tmp/got.a")" = "$(sha "$tmp/a")" ] || fail "listen: tapir to kernel: sha256 differs"
grep -q "nc: done: 1500000 bytes sent, 800000 received" "$tmp/nc.err" || fail "no 'done' line"
echo "$NAME: listen: 800000 bytes in and 1500000 out at once, both sha256 ok"

# -- refused: nobody listens on the kernel's port 5999
rc=0
timeout 30 "${NC[@]}" $KADDR 5999 </dev/null >"$tmp/r.out" 2>"$tmp/r.err" || rc=$?
[ $rc -eq 1 ] || fail "a refused connection: exit $rc, want 1"
grep -q "^tapir: nc: connection to $KADDR:5999: Connection refused$" "$tmp/r.err" \
    || fail "a refused connection: '$(cat "$tmp/r.err")'"
! ip link show $DEV >/dev/null 2>&1 || fail "$DEV left behind"
echo "$NAME: refused: exit 1, one line"
echo "$NAME: ok"
