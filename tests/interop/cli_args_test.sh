#!/usr/bin/env bash
# tests/interop/cli_args_test.sh -- the tapir command's answers to bad
# arguments: exit status 2, exactly one line on stderr that names the
# argument, nothing on stdout.  Also `version` and `help`, and the one-line
# refusal without privilege (exit 1).  Needs no root and creates nothing:
# every failing invocation stops before touching the kernel.
# Env: TAPIR_BIN (the build's bin/ directory).
set -euo pipefail

bin=${TAPIR_BIN:-$(dirname "$0")/../../build/bin}
tapir=$bin/tapir
[ -x "$tapir" ] || { echo "cli_args_test: no tapir binary in $bin (set TAPIR_BIN)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/tapir-cli-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0

# check STATUS 'SUBSTRING|SUBSTRING...' -- ARGS...: run tapir ARGS, expect
# exit STATUS and one stderr line holding every SUBSTRING, empty stdout.
check() {
    local want=$1 needles=$2 rc=0 lines line
    shift 3
    timeout 10 "$tapir" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
    lines=$(wc -l <"$tmp/err")
    line=$(head -n 1 "$tmp/err")
    local why=""
    [ "$rc" -eq "$want" ] || why="exit $rc, expected $want"
    [ -z "$why" ] && [ "$lines" -ne 1 ] && why="$lines lines on stderr, expected 1"
    [ -z "$why" ] && [ -s "$tmp/out" ] && why="unexpected stdout: $(head -c 200 "$tmp/out")"
    if [ -z "$why" ]; then
        IFS='|' read -ra parts <<<"$needles"
        for n in "${parts[@]}"; do
            [[ $line == *"$n"* ]] || { why="stderr lacks '$n'"; break; }
        done
    fi
    if [ -n "$why" ]; then
        echo "FAIL: tapir $*: $why; stderr was: $(cat "$tmp/err")" >&2
        failures=$((failures + 1))
    else
        echo "ok:   tapir $* -> $rc: $line"
    fi
}

ok=(--addr 10.0.0.1 --peer 10.0.0.2)
check 2 "missing command" --
check 2 "'frobnicate' is not a command" -- frobnicate
check 2 "--addr: '10.0.0.300' is not an IPv4 address" -- run --addr 10.0.0.300 --peer 10.0.0.2
check 2 "--peer: 'example.org' is not an IPv4 address" -- run --addr 10.0.0.1 --peer example.org
check 2 "--addr|not a unicast address" -- run --addr 224.0.0.1 --peer 10.0.0.2
check 2 "--mtu: '10' is out of range" -- run "${ok[@]}" --mtu 10
check 2 "--mtu: '70000' is out of range" -- run "${ok[@]}" --mtu 70000
check 2 "--mtu: '15x0' is not a number" -- run "${ok[@]}" --mtu 15x0
check 2 "--mtu: '-1' is not a number" -- run "${ok[@]}" --mtu -1
check 2 "--addr: missing value" -- run --addr
check 2 "-a: missing value" -- run -a
check 2 "--stats-on-exit: missing value" -- run "${ok[@]}" --stats-on-exit
check 2 "--bogus: unknown option" -- run --bogus
check 2 "--bogus: unknown option" -- run --bogus=1 "${ok[@]}"
check 2 "--addr is required" -- run --peer 10.0.0.2
check 2 "--peer is required" -- run --addr 10.0.0.1
check 2 "--peer: must differ from --addr" -- run --addr 10.0.0.1 --peer 10.0.0.1
check 2 "--prefix: '40' is out of range" -- run "${ok[@]}" --prefix 40
check 2 "--prefix|not in one /24 network" -- run --addr 10.0.0.1 --peer 10.0.1.2 --prefix 24
check 2 "--log-level: 'loud' is not a log level" -- run "${ok[@]}" --log-level loud
check 2 "--route: '10.1.0.0' is not ADDRESS/PREFIX" -- run "${ok[@]}" --route 10.1.0.0
check 2 "--route: '10.1.0.1/16' has host bits set" -- run "${ok[@]}" --route 10.1.0.1/16
check 2 "--dev|is not an interface name" -- run "${ok[@]}" --dev abcdefghijklmnopqrstuvwxyz
check 2 "--dev|is not an interface name" -- run "${ok[@]}" --dev a/b
check 2 "unexpected argument 'extra'" -- run "${ok[@]}" extra
check 2 "--count: '0' is out of range" -- demo --count 0
check 2 "--count: missing value" -- demo --count
check 2 "--frob: unknown option" -- demo --frob
check 2 "'nosuch' is not a command" -- help nosuch
check 2 "unexpected argument 'x'" -- version x

# Commands that succeed print to stdout only.
for args in "version" "help" "help run" "help demo" "run --help" "demo --help"; do
    rc=0
    timeout 10 "$tapir" $args >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ $rc -ne 0 ] || [ -s "$tmp/err" ] || ! [ -s "$tmp/out" ]; then
        echo "FAIL: tapir $args: exit $rc, stderr '$(cat "$tmp/err")'" >&2
        failures=$((failures + 1))
    else
        echo "ok:   tapir $args -> 0"
    fi
done
grep -q "^tapir [0-9]" <<<"$("$tapir" version)" || { echo "FAIL: version output" >&2; failures=$((failures + 1)); }

# Without privilege: one clear line, exit 1.  As root, drop to nobody with
# setpriv (without it, running would really create a device: skip).
unpriv=()
if [ "$(id -u)" -ne 0 ]; then
    unpriv=(env)
elif command -v setpriv >/dev/null; then
    unpriv=(setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all --bounding-set=-all)
fi
if [ ${#unpriv[@]} -gt 0 ]; then
    # check runs "$tapir" itself; run these two by hand.
    for args in "run ${ok[*]}|need root (CAP_NET_ADMIN) to create a TUN device" \
                "run ${ok[*]} --netns-new|need root (CAP_SYS_ADMIN) to create a network namespace"; do
        a=${args%%|*}
        want=${args#*|}
        rc=0
        timeout 10 "${unpriv[@]}" "$tapir" $a >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
        if [ $rc -ne 1 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -qF "tapir: $want" "$tmp/err"; then
            echo "FAIL: unprivileged tapir $a: exit $rc, stderr '$(cat "$tmp/err")'" >&2
            failures=$((failures + 1))
        else
            echo "ok:   unprivileged tapir $a -> 1: $(cat "$tmp/err")"
        fi
    done
else
    echo "note: privilege check not run (root without setpriv)"
fi

if [ $failures -ne 0 ]; then
    echo "cli_args_test: $failures failure(s)" >&2
    exit 1
fi
echo "cli_args_test: ok"
