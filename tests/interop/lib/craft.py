#!/usr/bin/env python3
"""Send malformed IPv4 packets from the kernel side towards a tapir stack.

Used by tests/interop/ping_test.sh, inside the test's own network namespace.

usage: craft.py METHOD IFNAME SRC DST KIND COUNT
  METHOD  raw     an AF_INET raw socket with IP_HDRINCL, routed by the kernel
          packet  an AF_PACKET socket bound to IFNAME (SOCK_DGRAM, ETH_P_IP):
                  the bytes reach the TUN device exactly as written
  KIND    one of KINDS below

Why two methods: with IP_HDRINCL Linux rewrites the header fields it owns
(raw(7): "IP checksum: always filled in", "total length: always filled
in"), and refuses a header shorter than IHL claims.  What each method
really delivers to the TUN device was checked with tshark on the device;
ping_test.sh uses the method that delivers each malformation intact.
"""
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def echo_request(ident, seq, bad_csum=False):
    payload = b"tapir-interop-" + bytes(range(42))
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    c = csum(hdr + payload)
    if bad_csum:
        c ^= 0x5A5A
    return struct.pack("!BBHHH", 8, 0, c, ident, seq) + payload


def ipv4(src, dst, payload, version=4, ihl=5, total_len=None, bad_csum=False, ident=0x7a01):
    tl = 20 + len(payload) if total_len is None else total_len
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, tl, ident, 0x4000, 64, 1, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    c = csum(hdr)
    if bad_csum:
        c ^= 0x1234
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def build(kind, src, dst, seq):
    icmp = echo_request(0x7a7a, seq)
    if kind == "good":
        return ipv4(src, dst, icmp)
    if kind == "bad_ip_csum":
        return ipv4(src, dst, icmp, bad_csum=True)
    if kind == "total_len_large":        # claims 40 bytes more than it has
        return ipv4(src, dst, icmp, total_len=20 + len(icmp) + 40)
    if kind == "total_len_small":        # claims less than its own header
        return ipv4(src, dst, icmp, total_len=16)
    if kind == "ihl_small":              # IHL 4: a 16-byte header cannot be
        return ipv4(src, dst, icmp, ihl=4)
    if kind == "truncated":              # cut inside the IPv4 header
        return ipv4(src, dst, icmp)[:12]
    if kind == "bad_icmp_csum":
        return ipv4(src, dst, echo_request(0x7a7a, seq, bad_csum=True))
    if kind == "bad_version":            # an ICMP echo in a header saying version 5
        return ipv4(src, dst, icmp, version=5)
    raise SystemExit("craft.py: unknown kind %r" % kind)


KINDS = ["good", "bad_ip_csum", "total_len_large", "total_len_small", "ihl_small",
         "truncated", "bad_icmp_csum", "bad_version"]


def main():
    if len(sys.argv) != 7:
        raise SystemExit(__doc__)
    method, ifname, src, dst, kind, count = sys.argv[1:]
    if kind not in KINDS:
        raise SystemExit("craft.py: unknown kind %r (one of %s)" % (kind, ", ".join(KINDS)))
    if method == "raw":
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
        dest = (dst, 0)
    elif method == "packet":
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
        dest = (ifname, 0x0800)
    else:
        raise SystemExit("craft.py: unknown method %r (raw or packet)" % method)
    sent = 0
    for seq in range(int(count)):
        try:
            s.sendto(build(kind, src, dst, seq), dest)
            sent += 1
        except OSError as e:
            print("craft.py: %s %s: %s" % (method, kind, e), file=sys.stderr)
    print(sent)


if __name__ == "__main__":
    main()
