#!/usr/bin/env bash
# tests/interop/pcap_test.sh -- `tapir run --pcap FILE` writes every packet
# of the link in a file tshark reads: as many records as packets crossed the
# TUN device, every IPv4, ICMP and TCP checksum correct, the pings and their
# replies, a TCP handshake and the echoed bytes all there.  With --impair the
# capture shows what the stack sent and received (inside the impairment).
# Needs root (exits 77 without) and tshark (skipped without).  Env: TAPIR_BIN.
set -euo pipefail
NAME=pcap_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 120 "$@"
command -v tshark >/dev/null || skip "tshark is not installed"
run_need python3 ping ip timeout

# -- a capture file that cannot be created: one line, exit 1, no device made
rc=0
"$TAPIR" run --dev $DEV --addr $SADDR --peer $KADDR --no-ctl --pcap "$tmp/no/such/dir.pcap" \
    >"$tmp/o" 2>"$tmp/e" || rc=$?
[ $rc -eq 1 ] || fail "--pcap in a missing directory: exit $rc"
[ "$(cat "$tmp/e")" = "tapir: --pcap $tmp/no/such/dir.pcap: No such file or directory" ] \
    || fail "--pcap in a missing directory: '$(cat "$tmp/e")'"
! ip link show $DEV >/dev/null 2>&1 || fail "$DEV was created although --pcap failed"

# -- a plain link: the capture has exactly the packets of the TUN device
run_start --echo --pcap "$tmp/a.pcap"
timeout 10 ping -n -c 3 -i 0.2 -W 1 $SADDR >/dev/null || die "ping failed"
$PY echo-check $SADDR 7 200000 || die "echo"
run_stop

ts() { tshark -n -r "$1" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE "${@:2}" 2>"$tmp/tshark.err"; }
total=$(ts "$tmp/a.pcap" | wc -l)
grep -v "^Running as user" "$tmp/tshark.err" >"$tmp/tshark.err2" || true
[ -s "$tmp/tshark.err2" ] && { cat "$tmp/tshark.err2" >&2; die "tshark complained about the file"; }
want=$(( $(counter TapirTunRxPackets) + $(counter TapirTunTxPackets) ))
[ "$total" -eq "$want" ] || die "$total records, but $want packets crossed the device"
bad=$(ts "$tmp/a.pcap" -Y 'ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || icmp.checksum.status == "Bad"' | wc -l)
[ "$bad" -eq 0 ] || die "$bad packets with a bad checksum"
good_tcp=$(ts "$tmp/a.pcap" -Y 'tcp.checksum.status == "Good"' | wc -l)
all_tcp=$(ts "$tmp/a.pcap" -Y tcp | wc -l)
[ "$all_tcp" -gt 0 ] && [ "$good_tcp" -eq "$all_tcp" ] || die "$good_tcp of $all_tcp TCP checksums verified good"
reps=$(ts "$tmp/a.pcap" -Y "icmp.type == 0 && ip.src == $SADDR && icmp.checksum.status == \"Good\"" | wc -l)
[ "$reps" -eq 3 ] || die "$reps good echo replies in the capture, want 3"
syn=$(ts "$tmp/a.pcap" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 1 && ip.src == $SADDR" | wc -l)
[ "$syn" -eq 1 ] || die "$syn SYN,ACKs from the stack, want 1"
# New data only: a retransmission (a tail loss probe when the kernel's ACK
# comes late on a busy machine) is tshark's to recognise.
payload=$(ts "$tmp/a.pcap" -Y "ip.src == $SADDR && tcp.srcport == 7 && !tcp.analysis.retransmission && !tcp.analysis.spurious_retransmission && !tcp.analysis.fast_retransmission" -T fields -e tcp.len | awk '{s += $1} END {print s + 0}')
[ "$payload" -eq 200000 ] || die "the stack sent $payload payload bytes of new data from port 7, want 200000"
echo "$NAME: $total records = TUN packets, all checksums good, 3 echo replies, 200000 echoed bytes"

# -- an impaired link: the capture is inside the impairment
run_start --echo --pcap "$tmp/b.pcap" --impair loss=20,seed=11
timeout 20 ping -n -c 20 -i 0.1 -W 1 $SADDR >/dev/null || true
run_stop
total=$(ts "$tmp/b.pcap" | wc -l)
want=$(( $(counter TapirImpairRxSeen) - $(counter TapirImpairRxLost) + $(counter TapirImpairTxSeen) ))
[ "$total" -eq "$want" ] || die "impaired: $total records, want $want (RX delivered + TX sent by the stack)"
bad=$(ts "$tmp/b.pcap" -Y 'ip.checksum.status == "Bad" || icmp.checksum.status == "Bad"' | wc -l)
[ "$bad" -eq 0 ] || die "impaired: $bad packets with a bad checksum"
echo "$NAME: impaired link: $total records = what the stack received and sent"
echo "$NAME: ok"
