#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Real-looking packets between 10.0.0.1 (a peer) and 10.0.0.2 (the stack),
with checksums computed here.  Run it again after changing it and commit
what it writes: python3 tests/fuzz/make_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = bytes([10, 0, 0, 1])
US = bytes([10, 0, 0, 2])


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip(payload, proto, src=PEER, dst=US, ident=0x1c46, frag=0x4000, opts=b'', ttl=64):
    hl = 20 + len(opts)
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | hl // 4, 0, hl + len(payload), ident, frag,
                    ttl, proto, 0, src, dst) + opts
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload


def tcp(sport, dport, seq, ack, flags, opts=b'', data=b'', src=PEER, dst=US, win=64240):
    off = (20 + len(opts)) // 4
    h = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, off << 4, flags, win, 0, 0)
    seg = h + opts + data
    ph = src + dst + struct.pack('!BBH', 0, 6, len(seg))
    c = csum(ph + seg)
    return seg[:16] + struct.pack('!H', c) + seg[18:]


def icmp(typ, code, rest, body):
    m = struct.pack('!BB', typ, code) + b'\0\0' + rest + body
    return m[:2] + struct.pack('!H', csum(m)) + m[4:]


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
MSS = bytes([2, 4, 0x05, 0xb4])
LINUX_SYN_OPTS = MSS + bytes([4, 2, 8, 10]) + struct.pack('!II', 0x0a0b0c0d, 0) + bytes([1, 3, 3, 7])
BSD_SYN_OPTS = MSS + bytes([1, 3, 3, 6, 4, 2, 8, 10]) + struct.pack('!II', 77, 0)
TS_OPTS = bytes([1, 1, 8, 10]) + struct.pack('!II', 1000, 2000)
SACK3 = bytes([1, 1, 5, 26]) + struct.pack('!6I', 100, 200, 300, 400, 500, 600)

tcp_segs = {
    'syn_linux': tcp(43210, 80, 0x11223344, 0, SYN, LINUX_SYN_OPTS),
    'syn_bsd': tcp(43211, 80, 1, 0, SYN, BSD_SYN_OPTS),
    'synack': tcp(80, 43210, 5000, 0x11223345, SYN | ACK, MSS + bytes([4, 2, 0, 0])),
    'ack_ts': tcp(43210, 80, 0x11223345, 5001, ACK, TS_OPTS),
    'data_ts_sack': tcp(43210, 80, 0x11223345, 5001, ACK | PSH, TS_OPTS + SACK3, b'hello world'),
    'rst': tcp(43210, 80, 7, 0, RST),
    'fin_data': tcp(43210, 80, 9, 10, FIN | ACK | PSH, b'', b'bye'),
    'unknown_opts': tcp(1, 2, 3, 4, ACK, bytes([30, 6, 1, 2, 3, 4, 1, 0])),
    'eol_then_junk': tcp(1, 2, 3, 4, SYN, MSS + bytes([0, 9, 9, 9])),
    'bad_opt_len': tcp(1, 2, 3, 4, SYN, bytes([2, 1, 0, 0])),
}

echo_req = icmp(8, 0, struct.pack('!HH', 0x1234, 1), b'abcdefghijklmnop')
udp = struct.pack('!HHHH', 5353, 53, 16, 0) + b'12345678'
quoted_syn = ip(tcp_segs['syn_linux'], 6, src=US, dst=PEER)[:28]
icmp_msgs = {
    'echo_request': echo_req,
    'echo_reply': icmp(0, 0, struct.pack('!HH', 0x1234, 1), b'abcdefghijklmnop'),
    'port_unreach': icmp(3, 3, b'\0' * 4, ip(udp, 17, src=US, dst=PEER)[:28]),
    'needfrag_tcp': icmp(3, 4, struct.pack('!HH', 0, 1280), quoted_syn),
    'time_exceeded': icmp(11, 0, b'\0' * 4, quoted_syn),
    'param_problem': icmp(12, 0, bytes([9, 0, 0, 0]), quoted_syn),
    'redirect': icmp(5, 1, PEER, quoted_syn),
    'short_quote': icmp(3, 1, b'\0' * 4, quoted_syn[:24]),
    'timestamp': icmp(13, 0, struct.pack('!HH', 1, 2), b'\0' * 12),
}

ipv4_pkts = {
    'tcp_syn': ip(tcp_segs['syn_linux'], 6),
    'icmp_echo': ip(echo_req, 1, ident=0xbeef),
    'udp': ip(udp, 17),
    'options': ip(udp, 17, opts=bytes([0x94, 4, 0, 0, 1, 1, 1, 0])),
    'first_fragment': ip(udp, 17, frag=0x2000),
    'last_fragment': ip(udp, 17, frag=185),
    'padded': ip(echo_req, 1) + b'\0' * 10,
    'gre': ip(b'\0' * 8, 47),
    'header_only': ip(b'', 6),
}
ipv4_pkts['truncated'] = ipv4_pkts['tcp_syn'][:30]
ipv4_pkts['ihl4'] = bytes([0x44]) + ipv4_pkts['udp'][1:]


def record(pkt, fix=1, advance=0, close=0):
    return bytes([(advance << 2) | (close << 1) | fix]) + struct.pack('!H', len(pkt)) + pkt


ISN = 0x11223344
big_echo = icmp(8, 0, struct.pack('!HH', 0x77, 3), bytes((i * 7 + 1) & 0xff for i in range(3000)))
big_syn = tcp(40004, 80, ISN, 0, SYN, MSS, b'abcd')


def frags(payload, proto, ident, cuts):
    # The datagram's data cut at the offsets in cuts (multiples of 8);
    # checksums are right as they stand, so the records are not fixed.
    out, edges = [], [0] + cuts + [len(payload)]
    for a, b in zip(edges, edges[1:]):
        mf = 0x2000 if b < len(payload) else 0
        out.append(ip(payload[a:b], proto, ident=ident, frag=mf | a // 8))
    return out


stack_seqs = {
    'echo': record(ip(echo_req, 1)),
    'echo_burst': b''.join(record(ip(echo_req, 1), advance=i % 3) for i in range(8)),
    'syn_closed': record(ip(tcp_segs['syn_linux'], 6)),
    'handshake_80': record(ip(tcp(43210, 80, ISN, 0, SYN, LINUX_SYN_OPTS), 6)) +
    record(ip(tcp(43210, 80, ISN + 1, 1, ACK), 6), advance=5) +
    record(ip(tcp(43210, 80, ISN + 1, 1, ACK | PSH, b'', b'GET / HTTP/1.0\r\n\r\n'), 6)) +
    record(ip(tcp(43210, 80, ISN + 19, 1, FIN | ACK), 6), advance=20),
    'handshake_ts_ooo': record(ip(tcp(40001, 80, ISN, 0, SYN, BSD_SYN_OPTS), 6)) +
    record(ip(tcp(40001, 80, ISN + 1, 1, ACK, TS_OPTS), 6)) +
    record(ip(tcp(40001, 80, ISN + 11, 1, ACK, TS_OPTS, b'later'), 6), advance=2) +
    record(ip(tcp(40001, 80, ISN + 1, 1, ACK | PSH, TS_OPTS, b'0123456789'), 6)) +
    record(ip(tcp(40001, 80, ISN + 16, 1, ACK, TS_OPTS + SACK3), 6), advance=30),
    'handshake_app_close': record(ip(tcp(40002, 80, ISN, 0, SYN, MSS), 6)) +
    record(ip(tcp(40002, 80, ISN + 1, 1, ACK | PSH, b'', b'x' * 100), 6), close=1) +
    record(ip(tcp(40002, 80, ISN + 101, 1, ACK), 6), advance=10) +
    record(ip(tcp(40002, 80, ISN + 101, 1, FIN | ACK), 6), advance=60),
    'handshake_rst': record(ip(tcp(40003, 80, ISN, 0, SYN), 6)) +
    record(ip(tcp(40003, 80, ISN + 1, 1, ACK), 6)) +
    record(ip(tcp(40003, 80, ISN + 1, 0, RST), 6)),
    'data_and_rst': record(ip(tcp_segs['data_ts_sack'], 6)) + record(ip(tcp_segs['rst'], 6)),
    'udp_and_proto': record(ip(udp, 17)) + record(ip(b'\0' * 8, 47), advance=50),
    'icmp_errors': b''.join(record(ip(m, 1)) for k, m in icmp_msgs.items() if k != 'echo_request'),
    'fragments': record(ip(udp, 17, frag=0x2000)) + record(ip(udp, 17, frag=185)),
    'fragmented_echo': b''.join(record(f, fix=0)
                                for f in reversed(frags(big_echo, 1, 0x501, [1480, 2960]))),
    'fragmented_syn': b''.join(record(f, fix=0) for f in frags(big_syn, 6, 0x502, [16])),
    'fragment_timeout': record(frags(big_echo, 1, 0x503, [1480])[0], fix=0) +
    record(ip(echo_req, 1), advance=63),
    'malformed': record(ipv4_pkts['truncated'], fix=0) + record(ipv4_pkts['ihl4'], fix=0) +
    record(b'\x60' + b'\0' * 39, fix=0),
    'unfixed_bad_csum': record(ip(echo_req, 1)[:-1] + b'\0', fix=0),
    'wrong_dst': record(ip(echo_req, 1, dst=bytes([10, 0, 0, 3]))),
    'long_wait': record(ip(tcp_segs['syn_linux'], 6)) + record(ip(echo_req, 1), advance=63),
}

corpora = {
    'fuzz_ipv4': ipv4_pkts,
    'fuzz_icmp': icmp_msgs,
    'fuzz_tcphdr': tcp_segs,
    'fuzz_stack_input': stack_seqs,
}

for target, files in corpora.items():
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
    print('%s: %d files' % (target, len(files)))
