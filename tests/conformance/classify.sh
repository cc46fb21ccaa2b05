#!/usr/bin/env bash
# tests/conformance/classify.sh -- write the expected-failure list from a
# fresh run: every failing IPv4 script with the reason it fails, in words.
#
#   classify.sh --bin build/bin/tapir-pktdrill [--corpus DIR] [--mode strict] > FILE
#
# The reason is the first failure in the CI mode, then (after "then:") the
# first failure once TCP options are not compared (--ignore-options), so an
# entry also says what stands behind a missing option.  Known messages are
# translated into the FreeBSD-versus-tapir difference they show (see the
# table in reason()); anything else is kept as the runner's message.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bin=""
corpus="$here/../../../shared/conformance/freebsd-tcp-testsuite"
mode=strict
while [ $# -gt 0 ]; do
    case "$1" in
    --bin) bin=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    *) echo "classify.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -x "$bin" ] || { echo "classify.sh: --bin must name tapir-pktdrill" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$here/run.sh" --bin "$bin" --corpus "$corpus" --mode "$mode" --xfail /dev/null \
    --results "$work/res.tsv" > /dev/null

# The runner's message without "path:line: " and the knob notes.
msg() { sed -E 's/^[^ ]*:[0-9]+: //; s/ \[not honoured: .*\]$//'; }

# A message in words.  The patterns are the runner's own failure texts.
# "FreeBSD offers window scale W, tapir 1, nothing else differs", or nothing.
wscale_only() {
    local m=$1 want sent
    [[ $m =~ options\ differ:\ expected\ ([0-9a-f]+),\ sent\ ([0-9a-f]+) ]] || return 1
    want=${BASH_REMATCH[1]} sent=${BASH_REMATCH[2]}
    [[ $want =~ 010303([0-9a-f]{2}) ]] || return 1
    [ "${want/010303${BASH_REMATCH[1]}/01030301}" = "$sent" ] || return 1
    [ "${BASH_REMATCH[1]}" != 01 ] || return 1
    echo "SYN window scale: FreeBSD offers $((16#${BASH_REMATCH[1]})) (derived from kern.ipc.maxsockbuf); tapir offers 1 (derived from its 64 KB receive buffer); the layout is the same"
}

reason() {
    local m=$1 path=${2:-}
    wscale_only "$m" && return
    case "$path|$m" in
    *dropping-disabled*"|expected packet not sent"*)
        echo "SYN+FIN: with drop_synfin=0 FreeBSD answers a SYN+FIN like a SYN; tapir always drops SYN+FIN (FreeBSD's drop_synfin=1)"; return ;;
    *reordering-5F4321*"|expected packet not sent"*)
        echo "out-of-order FIN: FreeBSD sends an immediate duplicate ACK (RFC 5681 4.2 SHOULD); tapir sends none -- tapir issue"; return ;;
    *"|. ack 1, expected 4")
        echo "data on a SYN-ACK: tapir discards it and ACKs only the SYN; RFC 9293 3.10.7.3 says to go on processing the text -- tapir issue"; return ;;
    *mtu-72*"|options differ: expected 02040020"*)
        echo "MSS for a 72-byte MTU: FreeBSD offers 32 (MTU - 40, RFC 9293 3.7.1, MUST-67); tapir offers 64, its MSS floor, more than the link can carry -- tapir issue; besides, no window scaling, SACK or timestamps yet"; return ;;
    *ttl-exceeded*"|getsockopt: value 0, expected 113")
        echo "ICMP time exceeded in SYN-SENT: FreeBSD puts EHOSTUNREACH on the socket; tapir treats it as a soft error (RFC 5461 2) and reports nothing"; return ;;
    *rcv-syn-with-data-syn-sent*"|read returned -1 EWOULDBLOCK, expected 3")
        echo "data on a SYN in SYN-SENT (simultaneous open): tapir discards it; RFC 9293 3.10.7.3 says to queue it until ESTABLISHED -- tapir issue"; return ;;
    esac
    case "$m" in
    *"options differ: expected 020405b4010303060402080a"*"sent 020405b4 "*)
        echo "SYN options: FreeBSD sends <mss 1460,nop,wscale 6,sackOK,TS val ecr 0>; tapir has no window scaling, SACK or timestamps yet and sends <mss 1460>" ;;
    *"options differ: expected 020405b404020000, sent 020405b4 "*)
        echo "SYN-ACK options: FreeBSD answers <mss 1460,sackOK,eol,eol> (SACK-permitted, EOL padding); tapir has no SACK yet and sends <mss 1460>" ;;
    *"options differ: expected 0101050a"*)
        echo "SACK blocks: FreeBSD reports out-of-order data in SACK blocks (RFC 2018); tapir sends none yet" ;;
    *"options differ: expected 0101080a"*)
        echo "timestamps: FreeBSD sends TS on every segment after negotiating it (RFC 7323); tapir has no timestamps yet" ;;
    *"options differ:"*)
        echo "options: ${m#*options differ: } -- tapir has no window scaling, SACK or timestamps yet" ;;
    *"SO_RCVBUF"*|*"getsockopt: value 65536, expected 65700"*|*"getsockopt: value 65536, expected 66240"*)
        echo "SO_RCVBUF: FreeBSD rounds the receive buffer up to a multiple of the MSS after the handshake (65536 -> 65700); tapir keeps 65536 ($m)" ;;
    *" win 6"*", expected 65535"*)
        echo "receive window: FreeBSD advertises 65535 because its buffer was rounded up to 65700 bytes; tapir's 65536-byte buffer advertises less while data is queued ($m)" ;;
    *"flags S, expected SEW"*|*"expected S.E"*|*"expected SE"*)
        echo "ECN: FreeBSD negotiates ECN (RFC 3168, ecn.enable); tapir does not implement ECN ($m)" ;;
    *"IP_TOS"*|*"IP_TTL"*)
        echo "socket API: tapir has no per-socket IP_TOS/IP_TTL option ($m)" ;;
    *"getsockopt: value 113, expected 111"*)
        echo "ICMP errors: FreeBSD reports an administratively prohibited unreachable as ECONNREFUSED, tapir as EHOSTUNREACH (RFC 1122 fixes no errno)" ;;
    *"getsockopt: value 101, expected 111"*)
        echo "ICMP errors: FreeBSD reports net-prohibited as ECONNREFUSED, tapir as ENETUNREACH (RFC 1122 fixes no errno)" ;;
    *"getsockopt: value 101, expected 0"*)
        echo "ICMP errors: with icmp_may_rst=0 FreeBSD ignores hard errors in SYN-SENT; tapir aborts the connection (RFC 5461 permits either)" ;;
    *"getsockopt: value 9, expected 8"*)
        echo "keepalive: FreeBSD's default TCP_KEEPCNT is 8, tapir's is 9" ;;
    *"getsockopt: value 7200, expected"*|*"getsockopt: value 75, expected"*)
        echo "keepalive: the net.inet.tcp.keepidle/keepintvl sysctls set FreeBSD's defaults; tapir has no stack-wide keepalive setting ($m)" ;;
    *"sockstat: 1 connections in SYN_RCVD, expected 0"*)
        echo "RFC 5961: with insecure_rst=1 FreeBSD resets on any in-window RST; tapir always applies RFC 5961 3.2 (challenge ACK, stays in SYN-RECEIVED)" ;;
    *"sent R seq"*"expected a S."*)
        echo "RST to an ACK-bearing segment in LISTEN: tapir answers <SEQ=SEG.ACK><CTL=RST> as RFC 9293 3.10.7.2 says; FreeBSD drops it silently ($m)" ;;
    *)
        echo "$m" ;;
    esac
}

echo "# Expected failures of the FreeBSD TCP test suite (IPv4) in $mode mode."
echo "# path<TAB>reason.  Generated by tests/conformance/classify.sh on $(date -u +%Y-%m-%d)"
echo "# and reviewed; 'then:' is the next difference once TCP options are not compared;"
echo "# [line N] is the script line that fails today (run.sh flags a failure before it)."
awk -F'\t' '$1 == "FAIL" { print $2 "\t" $3 }' "$work/res.tsv" | while IFS=$'\t' read -r path why; do
    first=$(reason "$(printf '%s' "$why" | msg)" "$path")
    second=$( (cd "$corpus" && timeout 60 "$bin" --ignore-options "$path" 2>/dev/null) \
        | grep -m1 -E '^(PASS|FAIL|SKIP) ')
    case "$second" in
    PASS*) then="passes once options are not compared" ;;
    *) then=$(reason "$(printf '%s' "${second#* }" | msg)" "$path") ;;
    esac
    line=$(printf '%s' "$why" | sed -nE 's/^[^ ]*:([0-9]+): .*/\1/p')
    if [ "$then" = "$first" ]; then
        printf '%s\t%s [line %s]\n' "$path" "$first" "$line"
    else
        printf '%s\t%s; then: %s [line %s]\n' "$path" "$first" "$then" "$line"
    fi
done
