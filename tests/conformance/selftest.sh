#!/usr/bin/env bash
# tests/conformance/selftest.sh -- the runner must fail what is wrong.
# Each selftest/*.pkt describes a wrong expectation and says, on a line
# "// expect: TEXT", the failure tapir-pktdrill must report.  Exits 1 if a
# script passes or fails with another reason.
set -uo pipefail
bin=${1:?usage: selftest.sh path/to/tapir-pktdrill}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
cd "$(dirname "$0")/selftest" || exit 2
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
echo "selftest: $n scripts, $([ $status = 0 ] && echo all failed as they must || echo MISMATCHES)"
exit $status
