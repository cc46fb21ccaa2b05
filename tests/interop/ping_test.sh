#!/usr/bin/env bash
# tests/interop/ping_test.sh -- the kernel pings `tapir run` over a TUN device,
# then sends it malformed IPv4 packets; each must be dropped and counted under
# its own reason, and ping must still work afterwards.
#
# Runs in a private network namespace (unshare --net) that dies with the
# script; tapir is stopped by its exact pid.  Needs root: exits 77 (skipped)
# without it.  Env: TAPIR_BIN (the build's bin/ directory).
#
# Which malformations reach the stack, and how (checked with tshark on the
# TUN device, Linux 6.x; see lib/craft.py):
#   AF_INET raw socket with IP_HDRINCL -- the kernel recomputes the header
#     checksum and the total length (raw(7)), so a bad IP checksum or a bad
#     total length arrives repaired; IHL < 5 and a packet cut inside its
#     header are refused with EINVAL.  A bad ICMP checksum and a wrong IP
#     version arrive intact: those two are sent this way.
#   AF_PACKET socket (SOCK_DGRAM, ETH_P_IP) bound to the TUN interface -- the
#     bytes reach the device as written: every malformation is sent this way.
set -euo pipefail

N=3                                 # packets of each malformed kind
PINGS=5
DEV=tptest0
ADDR=10.201.0.1                     # the stack
PEER=10.201.0.2                     # the kernel's end of the device

fail() { echo "ping_test: FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*"; exit 77; }

if [ -z "${TAPIR_PING_TEST_NS:-}" ]; then
    [ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces and TUN"
    [ -c /dev/net/tun ] || skip "needs root for network namespaces and TUN (no /dev/net/tun)"
    unshare --net true 2>/dev/null || skip "needs root for network namespaces and TUN (unshare failed)"
    for tool in ping python3 timeout ip; do
        command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup.sh)"
    done
    bin=${TAPIR_BIN:-$(dirname "$0")/../../build/bin}
    [ -x "$bin/tapir" ] || fail "no tapir binary in $bin (set TAPIR_BIN)"
    export TAPIR_PING_TEST_NS=1 TAPIR=$bin/tapir
    exec timeout --kill-after=5 120 unshare --net -- bash "$0" "$@"
fi

# ---- inside the private namespace ----------------------------------------
craft="python3 $(dirname "$0")/lib/craft.py"
tmp=$(mktemp -d /tmp/tapir-ping-test.XXXXXX)
tapir_pid=
cleanup() {
    if [ -n "$tapir_pid" ] && kill -0 "$tapir_pid" 2>/dev/null; then
        kill -KILL "$tapir_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

show_logs() {
    echo "--- tapir stderr" >&2; cat "$tmp/err" >&2 || true
    echo "--- tapir stdout" >&2; cat "$tmp/out" >&2 || true
}
die() { show_logs; fail "$*"; }

ip link set lo up
timeout -s TERM 100 "$TAPIR" run --dev $DEV --addr $ADDR --peer $PEER \
    --stats-on-exit "$tmp/stats" >"$tmp/out" 2>"$tmp/err" &
tapir_pid=$!
for _ in $(seq 100); do
    grep -q "ready:" "$tmp/err" 2>/dev/null && break
    kill -0 $tapir_pid 2>/dev/null || die "tapir run exited during setup"
    sleep 0.05
done
grep -q "ready:" "$tmp/err" || die "tapir run did not become ready within 5 s"

# Replies counted by ping itself: "5 packets transmitted, 5 received, ...".
ping_replies() {
    timeout 20 ping -n -c $PINGS -i 0.2 -W 1 $ADDR >"$tmp/ping" 2>&1 || true
    sed -n 's/.* packets transmitted, \([0-9]*\) received.*/\1/p' "$tmp/ping"
}

r1=$(ping_replies)
[ "${r1:-0}" -eq $PINGS ] || { cat "$tmp/ping" >&2; die "first ping: ${r1:-0}/$PINGS replies"; }
echo "ping_test: ping before the malformed packets: $r1/$PINGS replies"

# method kind -- see the header for why each goes the way it does.
sends=(
    "raw bad_icmp_csum"
    "raw bad_version"
    "packet bad_ip_csum"
    "packet total_len_large"
    "packet total_len_small"
    "packet ihl_small"
    "packet truncated"
    "packet bad_icmp_csum"
    "packet bad_version"
)
for s in "${sends[@]}"; do
    set -- $s
    sent=$(timeout 10 $craft "$1" $DEV $PEER $ADDR "$2" $N) || die "craft.py $s failed"
    [ "$sent" -eq $N ] || die "craft.py $s sent $sent of $N"
done
echo "ping_test: sent $N of each: ${sends[*]}"
sleep 0.3                           # let the stack read the last ones

kill -0 $tapir_pid 2>/dev/null || die "tapir run died on malformed input"
r2=$(ping_replies)
[ "${r2:-0}" -eq $PINGS ] || { cat "$tmp/ping" >&2; die "second ping: ${r2:-0}/$PINGS replies"; }
echo "ping_test: ping after the malformed packets: $r2/$PINGS replies"

# Echo requests larger than the MTU: the kernel sends them in fragments,
# tapir reassembles each and answers in fragments, which the kernel
# reassembles (RFC 791 3.2).  4008 bytes: 3 fragments; 60008: 41.
big_ping() {                        # size count
    timeout 20 ping -n -c "$2" -i 0.2 -W 2 -s "$1" $ADDR >"$tmp/ping" 2>&1 || true
    sed -n 's/.* packets transmitted, \([0-9]*\) received.*/\1/p' "$tmp/ping"
}
r3=$(big_ping 4000 3)
[ "${r3:-0}" -eq 3 ] || { cat "$tmp/ping" >&2; die "ping -s 4000: ${r3:-0}/3 replies"; }
r4=$(big_ping 60000 1)
[ "${r4:-0}" -eq 1 ] || { cat "$tmp/ping" >&2; die "ping -s 60000: ${r4:-0}/1 replies"; }
echo "ping_test: fragmented pings answered: $r3/3 of 4000 bytes, $r4/1 of 60000 bytes"

kill -TERM $tapir_pid
status=0
wait $tapir_pid || status=$?
tapir_pid=
[ $status -eq 0 ] || die "tapir run exited with status $status after SIGTERM"
ip link show $DEV >/dev/null 2>&1 && die "$DEV still exists after tapir run exited"

# Counters as printed on stdout at exit ("name value description"); a
# counter that is not printed is zero.
counter() { awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' "$tmp/out"; }
errors=0
expect() {                          # name expected
    local got
    got=$(counter "$1")
    if [ "$got" -ne "$2" ]; then
        echo "ping_test: $1 = $got, expected $2" >&2
        errors=$((errors + 1))
    else
        echo "ping_test: $1 = $got"
    fi
}
answered=$((r1 + r2 + r3 + r4))
expect IcmpOutEchoReps $answered            # every answered ping, nothing else
expect IcmpInEchos $answered                # requests that passed every check
expect TapirIpInCsumErrors $N               # bad header checksum
expect TapirIpInBadTotalLen $N              # total length below the header
expect TapirIpInBadHdrLen $N                # IHL < 5
expect TapirIpInTruncated $((2 * N))        # total length too large, cut header
expect TapirIpInBadVersion $((2 * N))       # raw and packet
expect IcmpInCsumErrors $((2 * N))          # raw and packet
expect IpInHdrErrors $((7 * N))             # every IP-level drop above
expect TapirTunTxErrors 0
expect IpReasmOKs $((r3 + r4))              # the fragmented requests
expect IpReasmReqds $((3 * r3 + 41 * r4))
expect IpReasmFails 0
expect IpFragOKs $((r3 + r4))               # the replies, fragmented alike
expect IpFragCreates $((3 * r3 + 41 * r4))
# The file written by --stats-on-exit has every counter as "name value".
file_reps=$(awk '$1 == "IcmpOutEchoReps" { print $2 }' "$tmp/stats")
[ "$file_reps" = "$answered" ] || { echo "ping_test: --stats-on-exit file says IcmpOutEchoReps $file_reps" >&2; errors=$((errors + 1)); }
[ $errors -eq 0 ] || die "$errors counter(s) wrong"
echo "ping_test: ok"
