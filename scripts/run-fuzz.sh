#!/usr/bin/env bash
# Run one libFuzzer target for a bounded time over its seed corpus.
# Usage: run-fuzz.sh FUZZER CORPUS_DIR SECONDS
# New inputs go to a scratch directory, so the committed corpus stays as is.
set -euo pipefail
fuzzer=$1 corpus=$2 secs=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$corpus"
"$fuzzer" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$scratch/" "$scratch" "$corpus" 2>&1 | tail -n 12
