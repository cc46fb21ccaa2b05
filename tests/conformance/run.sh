#!/usr/bin/env bash
# tests/conformance/run.sh -- run every IPv4 script of the FreeBSD TCP test
# suite through tapir-pktdrill and print passed / failed / skipped by
# directory, then the total (docs/conformance.md).
#
#   run.sh --bin build/bin/tapir-pktdrill [--corpus DIR] [--mode strict|semantic]
#          [--xfail FILE] [--results FILE] [--summary FILE] [--jobs N] [--own]
#
# Each script runs in its own process (a crash fails that script only),
# bounded by a timeout.  A failure listed in the expected-failure file
# (path<TAB>reason) is "expected"; any other failure makes the exit status
# 1.  A listed script that passes is reported as an unexpected pass.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=""
corpus="$here/../../../shared/conformance/freebsd-tcp-testsuite"
mode=strict
xfail="$here/expected-failures.txt"
results=""
summary=""
jobs=$(nproc 2>/dev/null || echo 4)
own=0

while [ $# -gt 0 ]; do
    case "$1" in
    --bin) bin=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --xfail) xfail=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --summary) summary=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --own) own=1; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "run.sh: --bin must name the tapir-pktdrill executable" >&2
    exit 2
fi
if [ "$own" = 0 ] && [ ! -f "$corpus/MANIFEST.tsv" ]; then
    echo "run.sh: no MANIFEST.tsv in $corpus: the corpus is not here, skipped" >&2
    exit 77
fi
case "$mode" in strict|semantic|parse-only) ;; *) echo "run.sh: bad --mode" >&2; exit 2 ;; esac
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$results" ] || results="$work/results.tsv"

# The scripts: the corpus's IPv4 ones (relative to the corpus), or ours.
if [ "$own" = 1 ]; then
    corpus="$here/scripts"
    (cd "$corpus" && ls ./*.pkt | sed 's|^\./||') > "$work/list"
else
    awk -F'\t' 'NR > 1 && $4 == "ipv4" { print $1 }' "$corpus/MANIFEST.tsv" > "$work/list"
fi
total=$(wc -l < "$work/list")

# One script: prints "VERDICT<TAB>path<TAB>reason".
run_one() {
    local path=$1 out rc line
    out=$(cd "$corpus" && timeout 120 "$bin" "--$mode" $profile "$path" 2>/dev/null)
    rc=$?
    if [ "$mode" = parse-only ]; then
        line=$(printf '%s\n' "$out" | grep -m1 -E '^(PASS|FAIL) ')
        printf '%s\t%s\t%s\n' "${line%% *}" "$path" "$([ "${line%% *}" = PASS ] || echo "${line#* }")"
        return
    fi
    line=$(printf '%s\n' "$out" | grep -m1 -E '^(PASS|FAIL|SKIP) ')
    if [ -z "$line" ] || { [ $rc -ne 0 ] && [ $rc -ne 1 ]; }; then
        printf 'FAIL\t%s\trunner crashed or timed out (exit %d)\n' "$path" "$rc"
        return
    fi
    case "$line" in
    PASS*) printf 'PASS\t%s\t\n' "$path" ;;
    *) printf '%s\t%s\t%s\n' "${line%% *}" "$path" "${line#* }" ;;
    esac
}
export -f run_one
# The corpus runs with FreeBSD's choices (the runner's bsd profile); our own
# scripts test tapir's defaults.
profile=""
[ "$own" = 1 ] && profile=--no-bsd-profile
export bin corpus mode profile
tr '\n' '\0' < "$work/list" | xargs -0 -P "$jobs" -I{} bash -c 'run_one "$1"' _ {} \
    | sort -t$'\t' -k2 > "$results"

# Expected failures: path<TAB>reason, '#' comments.  A reason that ends in
# "[line N]" also pins where the script fails: failing earlier is a
# regression (counted as an unexpected failure), later is progress.
touch "$work/xfail"
[ -f "$xfail" ] && grep -v '^\s*#' "$xfail" | awk -F'\t' 'NF >= 2 {
    line = 0; if (match($2, /\[line [0-9]+\]$/)) line = substr($2, RSTART + 6, RLENGTH - 7)
    print $1 "\t" line }' > "$work/xfail"

what="conformance summary"
[ "$own" = 1 ] && what="own-scripts summary"
{
awk -F'\t' -v xf="$work/xfail" -v total="$total" -v mode="$mode" -v what="$what" '
BEGIN { while ((getline l < xf) > 0) { split(l, f, "\t"); listed[f[1]] = 1; pin[f[1]] = f[2] + 0 } }
function fail_line(why,   m) {
    if (match(why, /:[0-9]+: /)) return substr(why, RSTART + 1, RLENGTH - 3) + 0
    return 0
}
{
    v = $1; p = $2; d = p; sub(/\/[^\/]*$/, "", d); if (d == p) d = "."
    if (!(d in seen)) { seen[d] = 1; order[++nd] = d }
    n[d, v]++; all[v]++
    if (v == "FAIL" && !(p in listed)) { bad[++nbad] = p "\t" $3 }
    if (v == "FAIL" && (p in listed)) {
        xfails++; at = fail_line($3)
        if (pin[p] && at && at < pin[p]) bad[++nbad] = p "\t" "fails at line " at ", earlier than the listed line " pin[p] " (regression?): " $3
        else if (pin[p] && at > pin[p]) later[++nlater] = p " (line " pin[p] " -> " at ")"
    }
    if (v == "PASS" && (p in listed)) xpass[++nxp] = p
}
END {
    printf "%-52s %6s %6s %6s\n", "directory (" mode ")", "pass", "fail", "skip"
    for (i = 1; i <= nd; i++)
        printf "%-52s %6d %6d %6d\n", order[i], n[order[i], "PASS"], n[order[i], "FAIL"], n[order[i], "SKIP"]
    printf "%-52s %6d %6d %6d\n", "total", all["PASS"], all["FAIL"], all["SKIP"]
    for (i = 1; i <= nxp; i++) printf "unexpected pass (remove from the list): %s\n", xpass[i]
    for (i = 1; i <= nlater; i++) printf "progress: fails later than listed (update the list): %s\n", later[i]
    for (i = 1; i <= nbad; i++) printf "UNEXPECTED FAILURE: %s\n", bad[i]
    printf "expected failures: %d listed and failing, %d unexpected failures, %d unexpected passes, %d failing later\n", xfails, nbad, nxp, nlater
    printf "%s: pass %d / fail %d / skip %d of %d (%s mode)\n", what, all["PASS"], all["FAIL"], all["SKIP"], total, mode
    exit nbad > 0 ? 1 : 0
}' "$results"
} > "$work/summary"
status=$?
cat "$work/summary"
[ -n "$summary" ] && cp "$work/summary" "$summary"
exit $status
