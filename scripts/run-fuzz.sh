#!/usr/bin/env bash
# Run one libFuzzer target for a bounded time over its seed corpus.
# Usage: run-fuzz.sh FUZZER CORPUS_DIR SECONDS
#
# New inputs go to a scratch directory, so the committed corpus stays as is.
# If the fuzzer fails (crash, leak, timeout, out of memory), its log and every
# input it saved are printed (hex dump and base64) before the scratch
# directory goes, a copy is kept in ./fuzz-artifacts/, and the script exits
# non-zero.  To replay a printed input:  base64 -d > crash; FUZZER crash
set -uo pipefail
if [ $# -ne 3 ]; then
    echo "usage: $0 FUZZER CORPUS_DIR SECONDS" >&2
    exit 2
fi
fuzzer=$1 corpus=$2 secs=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$corpus" "$scratch/new" "$scratch/artifacts"

"$fuzzer" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" \
    "$scratch/new" "$corpus" >"$scratch/log" 2>&1
status=$?

artifacts=("$scratch"/artifacts/*)
if [ $status -eq 0 ] && [ ! -e "${artifacts[0]}" ]; then
    tail -n 12 "$scratch/log"
    exit 0
fi

echo "run-fuzz: $(basename "$fuzzer") failed (exit status $status); its log ends:"
tail -n 80 "$scratch/log"
keep=$PWD/fuzz-artifacts
mkdir -p "$keep" 2>/dev/null || keep=
for a in "${artifacts[@]}"; do
    [ -e "$a" ] || continue
    size=$(stat -c %s "$a")
    echo "run-fuzz: input $(basename "$a") ($size bytes), hex:"
    xxd "$a" | head -n 256
    echo "run-fuzz: the same input in base64:"
    base64 "$a"
    if [ -n "$keep" ]; then
        cp "$a" "$keep/$(basename "$fuzzer")-$(basename "$a")" &&
            echo "run-fuzz: kept as $keep/$(basename "$fuzzer")-$(basename "$a")"
    fi
done
# Exit 1 whatever the fuzzer's status was (libFuzzer's own is 77, which
# test runners may read as "skipped"); a saved input is a failure too.
exit 1
