#!/usr/bin/env bash
# Install what tapir needs to build, test and run its demo on Debian 12.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config   # build
    clang                                          # libFuzzer targets
    libmnl-dev                                     # netlink, for the TUN device
    libcmocka-dev                                  # unit-test framework
    iproute2 iputils-ping procps                   # namespaces, ping, sysctl in tests
    netcat-openbsd curl python3                    # the kernel-side peers in tests
    tshark                                         # pcap checks
    libpcap-dev                                    # writing --pcap files
    iperf3 nginx-light redis-server redis-tools    # programs run over tapird in tests
    ethtool nftables                               # bench/throughput.sh: veth offloads off, loss without netem
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# tshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
