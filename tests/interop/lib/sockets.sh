# tests/interop/lib/sockets.sh -- shared by the preload_*_test.sh and
# api_*_test.sh scripts: a private network namespace with tapird on a TUN
# device, the kernel's TCP on the other end.
#
# Usage, at the top of a test (after defining NAME):
#   . "$(dirname "$0")/lib/sockets.sh"
#   sock_enter_ns 120 "$@"          # re-exec inside `unshare --net`, bounded
#   sock_start_tapird               # sets TAPIRD_SOCK, tapird_pid
#   ... tapir exec --socket "$TAPIRD_SOCK" -- prog ...
#   sock_stop_tapird                # exit status 0 and no socket left open
# Addresses: the stack is $SADDR, the kernel $KADDR.  Scratch: $tmp.

SADDR=10.77.0.2
KADDR=10.77.0.1
DEV=tpsock0

fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }

# Re-exec the calling script in a new network namespace under a time bound;
# inside it, make the scratch directory and the cleanup trap.
sock_enter_ns() {
    local secs=$1
    shift
    if [ -n "${TAPIR_SOCK_TEST_NS:-}" ]; then
        sock_inside
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces and TUN"
    [ -c /dev/net/tun ] || skip "needs root for network namespaces and TUN (no /dev/net/tun)"
    unshare --net true 2>/dev/null || skip "needs root for network namespaces (unshare failed)"
    local bin=${TAPIR_BIN:-$(dirname "$0")/../../build/bin}
    [ -x "$bin/tapird" ] || fail "no tapird in $bin (set TAPIR_BIN)"
    bin=$(cd "$bin" && pwd)
    export TAPIR_SOCK_TEST_NS=1 TAPIR_BIN=$bin
    exec timeout --kill-after=5 "$secs" unshare --net -- bash "$0" "$@"
}

sock_need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup.sh)"
    done
}

tmp=
tapird_pid=
sock_pids=()
# Every process left in this private namespace is one of ours (servers
# started under timeout(1) would outlive a killed timeout): end them all,
# found by the namespace itself -- never in the namespace of pid 1.
sock_cleanup() {
    local me ns p
    for p in "${sock_pids[@]}" $tapird_pid; do
        kill -TERM "$p" 2>/dev/null || true
    done
    me=$(readlink /proc/self/ns/net)
    if [ -z "${TAPIR_SOCK_TEST_NS:-}" ] || [ -z "$me" ] \
        || [ "$me" = "$(readlink /proc/1/ns/net 2>/dev/null)" ]; then
        [ -n "$tmp" ] && rm -rf "$tmp"
        return 0
    fi
    for _ in 1 2; do
        for ns in /proc/[0-9]*/ns/net; do
            p=${ns#/proc/}
            p=${p%%/*}
            [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
            [ "$(readlink "$ns" 2>/dev/null)" = "$me" ] && kill -KILL "$p" 2>/dev/null
        done
        sleep 0.1
    done
    rm -rf "$tmp"
}

sock_inside() {
    tmp=$(mktemp -d "/tmp/tapir-$NAME.XXXXXX")
    TAPIRD_SOCK=$tmp/tapird.sock
    trap sock_cleanup EXIT
}

sock_logs() {
    echo "--- tapird stderr" >&2; tail -n 40 "$tmp/tapird.err" >&2 || true
    echo "--- tapird stdout" >&2; tail -n 60 "$tmp/tapird.out" >&2 || true
}
die() { sock_logs; fail "$*"; }

TAPIR=${TAPIR_BIN:-}/tapir
TAPIRD=${TAPIR_BIN:-}/tapird
TAPIRD_SOCK=

sock_start_tapird() {
    ip link set lo up
    "$TAPIRD" --dev $DEV --addr $SADDR --peer $KADDR --socket "$TAPIRD_SOCK" --ctl "$tmp/ctl" \
        --log-level "${TAPIRD_LOG:-info}" "$@" >"$tmp/tapird.out" 2>"$tmp/tapird.err" &
    tapird_pid=$!
    for _ in $(seq 100); do
        grep -q "ready:" "$tmp/tapird.err" 2>/dev/null && return 0
        kill -0 "$tapird_pid" 2>/dev/null || die "tapird exited during setup"
        sleep 0.05
    done
    die "tapird did not become ready within 5 s"
}

# Stop tapird with SIGTERM: it must exit 0 (ASan builds: no leak) and
# report no tapir socket still open.
sock_stop_tapird() {
    local st=0
    kill -0 "$tapird_pid" 2>/dev/null || die "tapird died during the test"
    kill -TERM "$tapird_pid"
    wait "$tapird_pid" || st=$?
    tapird_pid=
    [ "$st" -eq 0 ] || die "tapird exited with status $st"
    grep -q "sockets open at exit: 0$" "$tmp/tapird.err" \
        || die "tapird had sockets open at exit: $(grep 'sockets open at exit' "$tmp/tapird.err")"
}

# The value of one tapird counter after sock_stop_tapird (0 if absent).
sock_counter() {
    awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }' "$tmp/tapird.out"
}

# Run "$@" under tapir exec, in the background; its pid joins sock_pids.
sock_exec_bg() {
    "$TAPIR" exec --socket "$TAPIRD_SOCK" -- "$@" &
    sock_pids+=($!)
}

# Wait until something listens on the kernel's or the stack's side.
sock_wait_kernel_listen() {     # PORT
    for _ in $(seq 100); do
        ss -Hltn "sport = :$1" | grep -q . && return 0
        sleep 0.05
    done
    die "nothing listens on kernel port $1"
}
sock_wait_tapir_listen() {      # PORT: poll with the kernel's connect
    for _ in $(seq 100); do
        timeout 1 bash -c "exec 3<>/dev/tcp/$SADDR/$1" 2>/dev/null && return 0
        sleep 0.05
    done
    die "nothing listens on tapir port $1"
}
