# tests/interop/lib/run.sh -- shared by the tests of `tapir run` and `tapir
# nc` (tcp, services, status, nc, impair, pcap, concurrency, slowreader,
# vanish): a private network namespace, `tapir run` on a TUN device in it,
# the kernel's TCP on the other end.
#
# Usage, at the top of a test (after defining NAME):
#   . "$(dirname "$0")/lib/run.sh"
#   run_enter_ns 120 "$@"           # re-exec inside `unshare --net`, bounded
#   run_start --echo --http ...     # sets run_pid; waits for "ready:"
#   ... kernel-side clients against $SADDR ...
#   run_stop                        # SIGTERM, exit status 0, device gone
#   counter TcpRetransSegs          # from the counters printed at exit
# Addresses: the stack is $SADDR, the kernel $KADDR, device $DEV.  Scratch:
# $tmp (removed at exit).  Every process started is killed by its pid.

SADDR=10.78.0.1
KADDR=10.78.0.2
DEV=tprun0

fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }

run_enter_ns() {
    local secs=$1
    shift
    [ -n "${TAPIR_RUN_TEST_NS:-}" ] && return 0
    [ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces and TUN"
    [ -c /dev/net/tun ] || skip "needs root for network namespaces and TUN (no /dev/net/tun)"
    unshare --net true 2>/dev/null || skip "needs root for network namespaces (unshare failed)"
    local bin=${TAPIR_BIN:-$(dirname "$0")/../../build/bin}
    [ -x "$bin/tapir" ] || fail "no tapir binary in $bin (set TAPIR_BIN)"
    bin=$(cd "$bin" && pwd)
    export TAPIR_RUN_TEST_NS=1 TAPIR_BIN=$bin
    exec timeout --kill-after=5 "$secs" unshare --net -- bash "$0" "$@"
}

run_need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup.sh)"
    done
}

TAPIR=${TAPIR_BIN:-}/tapir
PY="python3 $(dirname "$0")/lib/tcpc.py"
CTL=
tmp=$(mktemp -d "/tmp/tapir-$NAME.XXXXXX")
CTL=$tmp/ctl
run_pid=
run_pids=()
run_cleanup() {
    for p in "${run_pids[@]}" $run_pid; do
        { kill -KILL "$p" && wait "$p"; } 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap run_cleanup EXIT
[ -n "${TAPIR_RUN_TEST_NS:-}" ] && ip link set lo up

run_logs() {
    echo "--- tapir stderr (last lines)" >&2; tail -n 30 "$tmp/run.err" >&2 || true
    echo "--- tapir stdout (last lines)" >&2; tail -n 80 "$tmp/run.out" >&2 || true
}
die() { run_logs; fail "$*"; }

# run_start [extra tapir run options]: start and wait until ready.
run_start() {
    : >"$tmp/run.err"
    "$TAPIR" run --dev $DEV --addr $SADDR --peer $KADDR --ctl "$CTL" "$@" \
        >"$tmp/run.out" 2>"$tmp/run.err" &
    run_pid=$!
    for _ in $(seq 100); do
        grep -q "ready:" "$tmp/run.err" 2>/dev/null && return 0
        kill -0 $run_pid 2>/dev/null || die "tapir run exited during setup"
        sleep 0.05
    done
    die "tapir run did not become ready within 5 s"
}

# run_stop: SIGTERM; it must exit 0 and take its device with it.
run_stop() {
    local status=0
    kill -0 $run_pid 2>/dev/null || die "tapir run died"
    kill -TERM $run_pid
    wait $run_pid || status=$?
    run_pid=
    [ $status -eq 0 ] || die "tapir run exited with status $status after SIGTERM"
    ! ip link show $DEV >/dev/null 2>&1 || die "$DEV still exists after tapir run exited"
}

# counter NAME: its value in the counters tapir run printed at exit.
counter() { awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' "$tmp/run.out"; }

# live_counter NAME: its value now, through the control socket.
live_counter() {
    "$TAPIR" stats --ctl "$CTL" --all | awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}

# pattern_sha N: sha256 of the first N bytes of the services' pattern (i % 251).
pattern_sha() { $PY pattern-sha "$1"; }

# make_file PATH BYTES: pseudo-random content, fixed by the name.
make_file() { $PY make-file "$1" "$2"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
