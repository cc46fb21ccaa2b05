#!/usr/bin/env bash
# tests/interop/demo_test.sh -- `tapir demo` passes every step and leaves
# nothing behind: the caller's interfaces, addresses, routes and named
# namespaces are the same after it as before.  Needs root (exits 77 without).
# Env: TAPIR_BIN (the build's bin/ directory).
set -euo pipefail

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "demo_test: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces and TUN"
[ -c /dev/net/tun ] || skip "needs root for network namespaces and TUN (no /dev/net/tun)"
unshare --net true 2>/dev/null || skip "needs root for network namespaces and TUN (unshare failed)"
for tool in ping python3 curl sha256sum; do
    command -v $tool >/dev/null || fail "$tool is not installed (scripts/setup.sh)"
done
bin=${TAPIR_BIN:-$(dirname "$0")/../../build/bin}
[ -x "$bin/tapir" ] || fail "no tapir binary in $bin (set TAPIR_BIN)"

tmp=$(mktemp -d /tmp/tapir-demo-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

snapshot() {
    { ip -o link show | sed 's/^[0-9]*: //; s/ state [A-Z]*.*//'; ip -o addr show; ip route show
      ip netns list; } 2>&1
}
snapshot >"$tmp/before"
rc=0
timeout --kill-after=5 60 "$bin/tapir" demo >"$tmp/out" 2>"$tmp/err" || rc=$?
cat "$tmp/out"
snapshot >"$tmp/after"

[ $rc -eq 0 ] || { cat "$tmp/err" >&2; fail "tapir demo exited $rc"; }
grep -Eq '^demo: all [0-9]+ steps passed$' "$tmp/out" || fail "no 'all steps passed' line"
grep -Eq '^  PASS  ping +5/5 replies' "$tmp/out" || fail "ping step did not get 5/5 replies"
grep -Eq '^ +IcmpOutEchoReps +5 ' "$tmp/out" || fail "the stack did not count 5 echo replies"
grep -Eq '^  PASS  tcp-echo +64 KB from python3 echoed byte-exact' "$tmp/out" || fail "no TCP echo round trip"
grep -Eq '^  PASS  http-get +curl: 10 MB at [0-9.]+ MB/s, sha256 [0-9a-f]{12} ok' "$tmp/out" || fail "no verified HTTP GET"
grep -Eq '^  PASS  tcp-out +tapir -> python3: [0-9.]+ MB \(its binary\), [0-9]+ MB/s, sha256 ok' "$tmp/out" || fail "no verified transfer from tapir to the kernel"
grep -Eq '^ +TcpActiveOpens +1 ' "$tmp/out" || fail "the stack did not count its active open"
grep -Eq '^ +TcpPassiveOpens +2 ' "$tmp/out" || fail "the stack did not count 2 passive opens"
! grep -Eq '^  (FAIL|SKIP) ' "$tmp/out" || fail "a step failed or was skipped"
diff -u "$tmp/before" "$tmp/after" >&2 || fail "the caller's namespace changed"
echo "demo_test: ok"
