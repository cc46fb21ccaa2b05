#!/usr/bin/env bash
# tests/conformance/selftest.sh -- the runner and the driver must fail what
# is wrong.  Each selftest/*.pkt describes a wrong expectation and says, on
# a line "// expect: TEXT", the failure tapir-pktdrill must report.  Then
# run.sh must report a listed script that passes, and fail on a listed
# script that fails earlier than its pinned line.  Exits 1 on any miss.
set -uo pipefail
bin=${1:?usage: selftest.sh path/to/tapir-pktdrill}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/selftest" || exit 2
status=0 n=0
for f in *.pkt; do
    want=$(sed -n 's|^// expect: ||p' "$f")
    got=$("$bin" "$f" 2>/dev/null | head -1)
    n=$((n + 1))
    if [ -z "$want" ] || [ "${got#FAIL }" = "$got" ] || [ "${got#*"$want"}" = "$got" ]; then
        echo "selftest $f: want a failure with '$want', got '$got'"
        status=1
    fi
done

# The driver, on our own scripts: a listed passing script, and a listed
# failing one pinned after the line it fails on.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
{ cat "$here/own-expected-failures.txt"; printf 'closed-port-syn.pkt\tlisted on purpose\n'; } \
    > "$work/xf1"
out=$(bash "$here/run.sh" --bin "$bin" --own --xfail "$work/xf1")
if [ $? -ne 0 ] || ! grep -q '^unexpected pass (remove from the list): closed-port-syn.pkt' <<<"$out"; then
    echo "selftest run.sh: a listed script that passes is not reported"
    status=1
fi
grep -v '^#' "$here/own-expected-failures.txt" | sed -E 's/\[line [0-9]+\]$/[line 9999]/' > "$work/xf2"
out=$(bash "$here/run.sh" --bin "$bin" --own --xfail "$work/xf2")
if [ $? -eq 0 ] || ! grep -q 'earlier than the listed line 9999' <<<"$out"; then
    echo "selftest run.sh: a failure before the pinned line is not an unexpected failure"
    status=1
fi
echo "selftest: $n scripts and 2 driver checks, $([ $status = 0 ] && echo all caught || echo MISSES)"
exit $status
