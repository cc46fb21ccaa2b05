#!/usr/bin/env python3
"""One bulk TCP flow, timed by the kernel-side end (bench/throughput.sh).

  flow.py send HOST PORT BYTES LIMIT   connect, send BYTES, shut down writing,
                                       wait for the peer's FIN; time = connect
                                       to FIN (the peer has read every byte)
  flow.py recv HOST PORT BYTES LIMIT   connect, read BYTES from a peer that
                                       sends without end; time = connect to
                                       the last of BYTES
  flow.py discard PORT                 server for the veth reference: read and
                                       drop until FIN, then close (RFC 863)
  flow.py chargen PORT                 server for the veth reference: send
                                       until the peer closes (RFC 864)

FLOW_ON_STALL, if set, is a shell command run at a stall while the
connection is still open (throughput.sh shows the stack's state with it).
If the environment names FLOW_CC, every socket uses that congestion control
(TCP_CONGESTION; root may choose any the kernel has).

A client prints one line "bytes=N seconds=S" and exits 0.  LIMIT (seconds)
bounds the whole transfer: past it, or after STALL seconds without progress,
it prints "stall: bytes=N (why)" on stdout and exits 3.  Any other
failure prints one line on stderr and exits 1.
"""
import os
import socket
import subprocess
import sys
import time

CHUNK = 256 * 1024
STALL = 10.0  # seconds without a byte moving


class Stall(Exception):
    pass


def set_cc(s):
    cc = os.environ.get("FLOW_CC")
    if cc:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, cc.encode())


def connect(host, port, limit):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    set_cc(s)
    s.settimeout(min(limit, STALL))
    s.connect((host, port))
    s.settimeout(STALL)
    return s


def stalled(why, moved):
    print("stall: bytes=%d (%s)" % (moved, why), flush=True)
    hook = os.environ.get("FLOW_ON_STALL")
    if hook:
        subprocess.run(hook, shell=True, timeout=10, check=False)
    raise Stall()


def check(t0, limit, moved):
    if time.perf_counter() - t0 > limit:
        stalled("time limit %.0f s reached" % limit, moved)


def client_send(host, port, total, limit):
    buf = memoryview(bytes(CHUNK))
    t0 = time.perf_counter()
    s = connect(host, port, limit)
    sent = 0
    try:
        while sent < total:
            n = s.send(buf[: min(CHUNK, total - sent)])
            sent += n
            check(t0, limit, sent)
        s.shutdown(socket.SHUT_WR)
        # The sink closes once it has read our FIN, so its FIN proves that
        # every byte reached the application.
        while True:
            d = s.recv(4096)
            if not d:
                break
            check(t0, limit, sent)
    except socket.timeout:
        stalled("no progress for %.0f s" % STALL, sent)
    t = time.perf_counter() - t0
    s.close()
    return sent, t


def client_recv(host, port, total, limit):
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    t0 = time.perf_counter()
    s = connect(host, port, limit)
    got = 0
    try:
        while got < total:
            n = s.recv_into(mv[: min(CHUNK, total - got)])
            if n == 0:
                raise OSError("peer closed after %d bytes" % got)
            got += n
            check(t0, limit, got)
    except socket.timeout:
        stalled("no progress for %.0f s" % STALL, got)
    t = time.perf_counter() - t0
    s.close()
    return got, t


def serve(port, kind):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    set_cc(ls)
    ls.bind(("0.0.0.0", port))
    ls.listen(4)
    out = memoryview(bytes(range(256)) * (CHUNK // 256))
    buf = bytearray(CHUNK)
    while True:
        c, _ = ls.accept()
        try:
            if kind == "discard":
                while c.recv_into(buf):
                    pass
            else:
                while True:
                    c.sendall(out)
        except OSError:
            pass
        c.close()


def main(argv):
    if len(argv) == 3 and argv[1] in ("discard", "chargen"):
        serve(int(argv[2]), argv[1])
        return 0
    if len(argv) != 6 or argv[1] not in ("send", "recv"):
        sys.stderr.write(__doc__)
        return 2
    host, port, total, limit = argv[2], int(argv[3]), int(argv[4]), float(argv[5])
    fn = client_send if argv[1] == "send" else client_recv
    try:
        n, t = fn(host, port, total, limit)
    except Stall:
        return 3
    except OSError as e:
        sys.stderr.write("flow.py: %s %s:%d: %s\n" % (argv[1], host, port, e))
        return 1
    print("bytes=%d seconds=%.6f" % (n, t), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
