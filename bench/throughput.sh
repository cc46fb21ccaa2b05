#!/usr/bin/env bash
# bench/throughput.sh -- bulk TCP throughput of tapir against the kernel's
# own TCP, single flow, MTU 1500, in private network namespaces (issue 4,
# item 7).  A benchmark, not a test: it measures and prints, it does not pass
# or fail on the figures.
#
#   sudo bench/throughput.sh [BUILD_DIR] [--size MB] [--loss-size MB] [--reps N]
#                            [--loss P] [--seed N] [--limit SECONDS] [--cc NAME]
#
#   --size MB        per transfer on the clean link (default 256)
#   --loss-size MB   per transfer with loss (default 64)
#   --reps N         runs of each; the median is reported (default 3)
#   --loss P         percent lost each way (default 1)
#   --seed N         tapir's --impair seed (default 1)
#   --limit SECONDS  per transfer (default 120)
#   --cc NAME        the kernel sockets' congestion control (default cubic;
#                    "default" keeps the namespace's sysctl)
#
# BUILD_DIR holds bin/tapir, built Release (default: build-release/):
#   cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release
#   cmake --build build-release
# The script builds nothing.  Needs root, ip (iproute2) and python3; ethtool
# to switch the veth offloads off; tc with sch_netem, or nft, for loss on the
# veth pair.
#
# Paths, each measured in both directions with the same tool (bench/flow.py,
# the kernel-side end, which times the transfer):
#   tapir        namespace tpb-PID-tun: `tapir run --discard --chargen` on a
#                TUN device; the kernel sends to discard, reads from chargen
#   veth         namespaces tpb-PID-a and tpb-PID-b joined by a veth pair;
#                flow.py's own discard and chargen servers in -b
# once on a clean link and once with --loss percent dropped each way (tapir:
# --impair loss=P,seed=N; veth: netem on both ends, or an nft rule dropping
# that share of what each end receives).  Each figure is the median of
# --reps runs.  Every transfer is bounded by --limit seconds; a stall ends it
# with a message and the stack's `tapir status` and counters.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FLOW="$ROOT/bench/flow.py"
BUILD=build-release
SIZE_MB=256
LOSS_MB=64
REPS=3
LOSS=1
SEED=1
LIMIT=120
CC=cubic

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit "$1"
}
while [ $# -gt 0 ]; do
    case $1 in
        --size) SIZE_MB=$2; shift 2 ;;
        --loss-size) LOSS_MB=$2; shift 2 ;;
        --reps) REPS=$2; shift 2 ;;
        --loss) LOSS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --limit) LIMIT=$2; shift 2 ;;
        --cc) CC=$2; shift 2 ;;
        -h|--help) usage 0 ;;
        -*) echo "throughput.sh: unknown option $1" >&2; exit 2 ;;
        *) BUILD=$1; shift ;;
    esac
done
for v in "$SIZE_MB" "$LOSS_MB" "$REPS" "$SEED" "$LIMIT"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "throughput.sh: '$v' is not a positive integer" >&2; exit 2; }
done
[[ $LOSS =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "throughput.sh: --loss '$LOSS' is not a percentage" >&2; exit 2; }

case $BUILD in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
TAPIR="$BUILD/bin/tapir"
if [ ! -x "$TAPIR" ]; then
    echo "throughput.sh: no $TAPIR; build it first (Release):" >&2
    echo "  cmake -S $ROOT -B $BUILD -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build $BUILD" >&2
    exit 1
fi
[ "$(id -u)" -eq 0 ] || { echo "throughput.sh: needs root (namespaces, TUN device)" >&2; exit 1; }
for t in ip python3 timeout; do
    command -v $t >/dev/null || { echo "throughput.sh: needs $t" >&2; exit 1; }
done
if grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    BUILD_TYPE=Release
else
    BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
    echo "throughput.sh: warning: $BUILD is a '${BUILD_TYPE:-unknown}' build, not Release; figures will be low" >&2
fi

BYTES=$((SIZE_MB * 1024 * 1024))
NS_T=tpb-$$-tun NS_A=tpb-$$-a NS_B=tpb-$$-b
TMP=$(mktemp -d /tmp/tpbench.XXXXXX)
CTL=$TMP/tapir.ctl
TAPIR_PID='' PIDS=() CHILD=''

cleanup() {
    local p
    # timeout passes the TERM on to the transfer it watches.
    if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null || true; fi
    if [ -n "$TAPIR_PID" ]; then kill -TERM "$TAPIR_PID" 2>/dev/null || true; fi
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ns in "$NS_T" "$NS_A" "$NS_B"; do
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "throughput.sh: interrupted" >&2; exit 130' INT TERM

# ---- namespaces -------------------------------------------------------------
ip netns add "$NS_T"
ip netns add "$NS_A"
ip netns add "$NS_B"
for ns in "$NS_T" "$NS_A" "$NS_B"; do
    ip -n "$ns" link set lo up
done
# --cc: the congestion control of every kernel socket flow.py opens (by
# TCP_CONGESTION).  Default cubic, the stock Linux default, so that figures
# from machines with another sysctl compare; --cc default keeps what a new
# namespace inherits.
[ "$CC" != default ] || CC=
if [ -n "$CC" ] && ! grep -qw "$CC" /proc/sys/net/ipv4/tcp_available_congestion_control; then
    echo "throughput.sh: congestion control '$CC' is not available (have: $(cat /proc/sys/net/ipv4/tcp_available_congestion_control))" >&2
    exit 1
fi
KCC=${CC:-$(ip netns exec "$NS_A" sysctl -n net.ipv4.tcp_congestion_control)}
export FLOW_CC=$CC
ip -n "$NS_A" link add va mtu 1500 type veth peer name vb netns "$NS_B" mtu 1500
ip -n "$NS_A" addr add 10.78.0.1/30 dev va
ip -n "$NS_B" addr add 10.78.0.2/30 dev vb
ip -n "$NS_A" link set va up
ip -n "$NS_B" link set vb up
ip netns exec "$NS_B" python3 "$FLOW" discard 5009 &
PIDS+=($!)
ip netns exec "$NS_B" python3 "$FLOW" chargen 5019 &
PIDS+=($!)

HAVE_ETHTOOL=no
command -v ethtool >/dev/null && HAVE_ETHTOOL=yes
# offloads on|off: TSO, GSO and GRO on both ends of the veth pair.
offloads() {
    ip netns exec "$NS_A" ethtool -K va tso "$1" gso "$1" gro "$1" 2>/dev/null
    ip netns exec "$NS_B" ethtool -K vb tso "$1" gso "$1" gro "$1" 2>/dev/null
}

# Loss on the veth pair: netem on each end's egress if the kernel has it,
# else an nft rule in each namespace dropping that share of what arrives
# (the input hook: a drop at output would be reported to the sending TCP,
# which would simply send again, and not be a loss on the wire).
LOSS_HOW=none
if tc -n "$NS_A" qdisc add dev va root netem loss 0% 2>/dev/null; then
    tc -n "$NS_A" qdisc del dev va root
    LOSS_HOW=netem
elif command -v nft >/dev/null && ip netns exec "$NS_A" nft add table inet tpb 2>/dev/null; then
    ip netns exec "$NS_A" nft delete table inet tpb
    LOSS_HOW=nft
fi
P_RATIO=$(awk -v p="$LOSS" 'BEGIN { printf "%d", p * 100 }') # loss in 1/10000
veth_loss() { # on|off
    local ns dev
    for ns in "$NS_A:va" "$NS_B:vb"; do
        dev=${ns#*:} ns=${ns%%:*}
        case $LOSS_HOW:$1 in
            netem:on) tc -n "$ns" qdisc add dev "$dev" root netem loss "$LOSS%" ;;
            netem:off) tc -n "$ns" qdisc del dev "$dev" root ;;
            nft:on)
                ip netns exec "$ns" nft -f - <<EOF
table inet tpb {
    chain in {
        type filter hook input priority 0; policy accept;
        iifname "$dev" numgen random mod 10000 < $P_RATIO counter drop
    }
}
EOF
                ;;
            nft:off) ip netns exec "$ns" nft delete table inet tpb ;;
        esac
    done
}
# Packets dropped so far by the nft rules (both ends), for the report.
veth_lost() {
    [ "$LOSS_HOW" = nft ] || { echo "?"; return; }
    { ip netns exec "$NS_A" nft list table inet tpb; ip netns exec "$NS_B" nft list table inet tpb; } 2>/dev/null |
        awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}

# ---- tapir ------------------------------------------------------------------
start_tapir() { # [--impair SPEC]
    ip netns exec "$NS_T" "$TAPIR" run --dev tpb0 --addr 10.77.0.2 --peer 10.77.0.1 \
        --discard --chargen --ctl "$CTL" --log-level warn "$@" \
        >"$TMP/tapir.out" 2>"$TMP/tapir.err" &
    TAPIR_PID=$!
    for _ in $(seq 50); do
        "$TAPIR" stats --ctl "$CTL" >/dev/null 2>&1 && return 0
        kill -0 "$TAPIR_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "throughput.sh: tapir run did not come up:" >&2
    cat "$TMP/tapir.err" >&2
    exit 1
}
stop_tapir() {
    kill -TERM "$TAPIR_PID" 2>/dev/null || true
    timeout 10 tail --pid="$TAPIR_PID" -f /dev/null || kill -KILL "$TAPIR_PID" 2>/dev/null || true
    wait "$TAPIR_PID" 2>/dev/null || true
    TAPIR_PID=
}
counter() { # NAME, from a running tapir
    "$TAPIR" stats --ctl "$CTL" --all 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }'
}

# ---- one transfer -------------------------------------------------------------
# measure KEY NS HOST PORT send|recv: one run, appended to $TMP/KEY as
# "gbits bytes seconds" (gbits 0 and a message if it stalled or failed).
STALLS=0
measure() {
    local key=$1 ns=$2 host=$3 port=$4 mode=$5 out rc=0 hook=
    if [ "$ns" = "$NS_T" ]; then
        hook="echo '  tapir status:'; '$TAPIR' status --ctl '$CTL'; echo '  tapir counters:';"
        hook+=" '$TAPIR' stats --ctl '$CTL'; "
    fi
    hook+="echo '  kernel side (ss -tin):'; ss -tin"
    # In the background, so that a SIGTERM or Ctrl-C to the script is acted
    # on at once (bash runs traps only between foreground commands).
    FLOW_ON_STALL=$hook timeout $((LIMIT + 30)) \
        ip netns exec "$ns" python3 "$FLOW" "$mode" "$host" "$port" "$BYTES" "$LIMIT" >"$TMP/flow.out" 2>&1 &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=
    out=$(cat "$TMP/flow.out")
    if [ $rc -eq 0 ] && [[ $out =~ ^bytes=([0-9]+)\ seconds=([0-9.]+)$ ]]; then
        awk -v b="${BASH_REMATCH[1]}" -v s="${BASH_REMATCH[2]}" \
            'BEGIN { printf "%.3f %d %.4f\n", b * 8 / s / 1e9, b, s }' >>"$TMP/$key"
        return 0
    fi
    STALLS=$((STALLS + 1))
    echo "0 0 0 stalled" >>"$TMP/$key"
    { echo "$key: did not finish (exit $rc):"; echo "$out" | sed 's/^/    /'; } | tee -a "$TMP/stalls" | head -3
    return 0
}

# One round of every path in both directions; the veth offloads are switched
# within the round so that all paths see the machine in the same state.
round() { # PHASE
    local ph=$1
    measure "$ph.tapir.send" "$NS_T" 10.77.0.2 9 send
    measure "$ph.tapir.recv" "$NS_T" 10.77.0.2 19 recv
    if [ $HAVE_ETHTOOL = yes ]; then
        offloads off
        measure "$ph.vethoff.send" "$NS_A" 10.78.0.2 5009 send
        measure "$ph.vethoff.recv" "$NS_A" 10.78.0.2 5019 recv
        offloads on
    fi
    measure "$ph.vethon.send" "$NS_A" 10.78.0.2 5009 send
    measure "$ph.vethon.recv" "$NS_A" 10.78.0.2 5019 recv
}

# median KEY: "gbits bytes seconds runs" of the median run (by Gbit/s).
median() {
    [ -s "$TMP/$1" ] || { echo "-"; return; }
    sort -n -k1,1 "$TMP/$1" | awk -v runs="$(awk '{ printf "%s%s", s, $1; s = " " }' "$TMP/$1")" \
        '{ l[NR] = $0 } END { split(l[int((NR + 1) / 2)], f, " "); printf "%s %s %s %s\n", f[1], f[2], f[3], runs }'
}

# ---- run ----------------------------------------------------------------------
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "tapir throughput benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "  machine: $(nproc) cores, ${CPU:-unknown CPU}, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  build: $BUILD ($BUILD_TYPE), $("$TAPIR" version 2>/dev/null)"
echo "  single flow, MTU 1500, $SIZE_MB MB per transfer ($LOSS_MB MB with loss), median of $REPS runs, limit ${LIMIT} s per transfer"
echo "  kernel TCP: congestion control $KCC, SACK $(ip netns exec "$NS_A" sysctl -n net.ipv4.tcp_sack), timestamps $(ip netns exec "$NS_A" sysctl -n net.ipv4.tcp_timestamps)"
echo "  clean link, then $LOSS % loss each way (tapir: --impair loss=$LOSS,seed=$SEED; veth: $LOSS_HOW)"
[ $HAVE_ETHTOOL = yes ] || echo "  no ethtool: the veth pair keeps its offloads (GSO/GRO/TSO on); the ratio is against that"
echo

echo "clean link: $REPS rounds..."
start_tapir
for r in $(seq "$REPS"); do round clean; done
stop_tapir
if [ "$LOSS_HOW" != none ]; then
    echo "$LOSS % loss: $REPS rounds..."
    start_tapir --impair "loss=$LOSS,seed=$SEED"
    veth_loss on
    BYTES=$((LOSS_MB * 1024 * 1024))
    for r in $(seq "$REPS"); do round loss; done
    IMP="lost by --impair: $(counter TapirImpairRxLost) of $(counter TapirImpairRxSeen) packets towards tapir, $(counter TapirImpairTxLost) of $(counter TapirImpairTxSeen) from it"
    VL=$(veth_lost)
    veth_loss off
    stop_tapir
else
    echo "$LOSS % loss: SKIPPED -- neither netem (tc qdisc ... netem) nor nft works in this kernel, so no loss on the veth pair"
fi
echo

# ---- report -------------------------------------------------------------------
REF=vethoff
[ $HAVE_ETHTOOL = yes ] || REF=vethon
row() { # LABEL KEY REFKEY
    local m r ref
    m=$(median "$2")
    [ "$m" != "-" ] || return 0
    ref=$(median "$3")
    r=$(awk -v a="${m%% *}" -v b="${ref%% *}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    read -r g b s runs <<<"$m"
    printf "  %-40s %7s  %5s  %10s  %8s   %s\n" "$1" "$g" "$r" "$b" "$s" "$runs"
}
table() { # PHASE TITLE
    local ph=$1
    echo "$2"
    printf "  %-40s %7s  %5s  %10s  %8s   %s\n" scenario Gbit/s ratio bytes seconds "runs (Gbit/s)"
    row "kernel -> tapir (TUN)" "$ph.tapir.send" "$ph.$REF.send"
    row "kernel -> kernel (veth, no offloads)" "$ph.vethoff.send" "$ph.$REF.send"
    row "kernel -> kernel (veth, offloads on)" "$ph.vethon.send" "$ph.$REF.send"
    row "tapir -> kernel (TUN)" "$ph.tapir.recv" "$ph.$REF.recv"
    row "kernel -> kernel (veth, no offloads)" "$ph.vethoff.recv" "$ph.$REF.recv"
    row "kernel -> kernel (veth, offloads on)" "$ph.vethon.recv" "$ph.$REF.recv"
}
table clean "clean link (ratio: to the kernel's veth single flow$([ $REF = vethoff ] && echo ", no offloads"))"
if [ "$LOSS_HOW" != none ]; then
    echo
    table loss "$LOSS % loss each way (ratio: to the kernel's veth pair at the same loss)"
    echo "  $IMP"
    echo "  (with offloads on, GRO/GSO aggregates are dropped whole, so fewer, larger losses: not like for like)"
    [ "$LOSS_HOW" != nft ] || echo "  dropped by nft on the veth pair: $VL packets"
fi
echo
target() { # PHASE DIR WANT LABEL
    local t v
    t=$(median "$1.tapir.$2") v=$(median "$1.$REF.$2")
    [ "$t" != "-" ] && [ "$v" != "-" ] || return 0
    awk -v a="${t%% *}" -v b="${v%% *}" -v w="$3" -v l="$4" 'BEGIN {
        r = b > 0 ? a / b : 0
        printf "  %-36s %.2fx, target %.1fx: %s\n", l, r, w, (r >= w ? "met" : "NOT met") }'
}
echo "targets (issue 4):"
target clean send 0.4 "kernel -> tapir, clean"
target clean recv 0.4 "tapir -> kernel, clean"
if [ "$LOSS_HOW" != none ]; then
    target loss send 0.5 "kernel -> tapir, $LOSS % loss"
    target loss recv 0.5 "tapir -> kernel, $LOSS % loss"
fi
if [ "$STALLS" -gt 0 ]; then
    echo
    echo "$STALLS transfer(s) did not finish (counted as 0 Gbit/s in the medians):"
    cat "$TMP/stalls"
fi
