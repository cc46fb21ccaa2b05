#!/usr/bin/env python3
"""tests/interop/lib/tcpc.py -- the kernel's side of the interop tests of
`tapir run` and `tapir nc`: clients and servers on the kernel's TCP that
check what they get.  Each subcommand prints one result line and exits 0,
or prints why and exits 1.  Every socket has a timeout.
"""
import hashlib
import random
import socket
import sys
import threading
import time

TIMEOUT = 30


def pattern(off, n):
    """The services' generated content: byte i is i % 251."""
    base = bytes(range(251))
    start = off % 251
    reps = (start + n) // 251 + 1
    return (base * reps)[start:start + n]


def die(msg):
    print(msg)
    sys.exit(1)


def connect(host, port, rcvbuf=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(TIMEOUT)
    s.connect((host, int(port)))
    return s


def recv_all(s):
    chunks = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(min(1 << 16, n - len(buf)))
        if not b:
            break
        buf += b
    return bytes(buf)


def cmd_pattern_sha(n):
    print(hashlib.sha256(pattern(0, int(n))).hexdigest())


def cmd_make_file(path, n):
    rnd = random.Random(path)
    with open(path, "wb") as f:
        left = int(n)
        while left > 0:
            k = min(left, 1 << 20)
            f.write(rnd.randbytes(k))
            left -= k


def cmd_send(host, port, path):
    """Send a file, half-close, read until the peer's FIN."""
    s = connect(host, port)
    with open(path, "rb") as f:
        s.sendall(f.read())
    s.shutdown(socket.SHUT_WR)
    got = recv_all(s)
    s.close()
    print("sent, then read %d bytes until EOF" % len(got))


def cmd_recv_server(port, out, ready):
    """Accept one connection, store what it sends until FIN, then close."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    open(ready, "w").close()
    s, peer = ls.accept()
    s.settimeout(TIMEOUT)
    data = recv_all(s)
    with open(out, "wb") as f:
        f.write(data)
    s.close()
    print("received %d bytes from %s:%d" % (len(data), peer[0], peer[1]))


def cmd_sha_server(port, ready):
    """Accept one connection, read until FIN, answer the sha256 of it."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    open(ready, "w").close()
    s, _ = ls.accept()
    s.settimeout(TIMEOUT)
    data = recv_all(s)
    s.sendall(hashlib.sha256(data).hexdigest().encode() + b"\n")
    s.close()
    print("read %d bytes until FIN, answered their sha256" % len(data))


def cmd_exchange(host, port, path, out):
    """Send a file while receiving; half-close after it; store what came."""
    s = connect(host, port)
    got = bytearray()

    def reader():
        while True:
            b = s.recv(1 << 16)
            if not b:
                return
            got.extend(b)

    t = threading.Thread(target=reader)
    t.start()
    with open(path, "rb") as f:
        s.sendall(f.read())
    s.shutdown(socket.SHUT_WR)
    t.join(TIMEOUT)
    s.close()
    with open(out, "wb") as f:
        f.write(got)
    print("sent %s, received %d bytes" % (path, len(got)))


def echo_once(host, port, n, seed, results, idx):
    try:
        data = random.Random(seed).randbytes(n)
        s = connect(host, port)
        got = bytearray()

        def reader():
            while len(got) < n:
                b = s.recv(1 << 16)
                if not b:
                    break
                got.extend(b)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(data)
        t.join(TIMEOUT)
        s.shutdown(socket.SHUT_WR)
        rest = recv_all(s)
        s.close()
        results[idx] = bytes(got) == data and rest == b""
    except OSError as e:
        results[idx] = False
        print("connection %d: %s" % (idx, e), file=sys.stderr)


def cmd_echo_check(host, port, n):
    results = [False]
    echo_once(host, port, int(n), 1, results, 0)
    if not results[0]:
        die("echo of %s bytes: mismatch" % n)
    print("echo of %s bytes: ok" % n)


def cmd_concurrent(host, port, conns, n):
    """conns connections open at once, each echoing n bytes."""
    conns, n = int(conns), int(n)
    socks = []
    # Open them all first, so they are truly concurrent.
    for _ in range(conns):
        socks.append(connect(host, port))
    results = [False] * conns
    threads = []

    def run(i):
        try:
            data = random.Random(i).randbytes(n)
            s = socks[i]
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            got = recv_all(s)
            s.close()
            results[i] = got == data
        except OSError as e:
            print("connection %d: %s" % (i, e), file=sys.stderr)

    for i in range(conns):
        t = threading.Thread(target=run, args=(i,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join(TIMEOUT * 2)
    ok = sum(results)
    if ok != conns:
        die("%d of %d concurrent connections echoed correctly" % (ok, conns))
    print("%d of %d concurrent connections echoed correctly" % (ok, conns))


def cmd_chargen_check(host, port, n):
    s = connect(host, port)
    got = recv_exact(s, int(n))
    s.close()
    if got != pattern(0, int(n)):
        die("chargen: %d bytes, not the pattern" % len(got))
    print("chargen: %d bytes of the pattern" % len(got))


def cmd_discard(host, port, n):
    s = connect(host, port)
    s.sendall(random.Random(3).randbytes(int(n)))
    s.shutdown(socket.SHUT_WR)
    rest = recv_all(s)
    s.close()
    if rest:
        die("discard answered %d bytes" % len(rest))
    print("discard: sent %s bytes, nothing came back" % n)


def read_response(f):
    """Status and body of one HTTP response from a buffered reader."""
    line = f.readline()
    if not line:
        return None, None, None
    status = int(line.split()[1])
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, v = h.decode().split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return status, headers, f


def cmd_http_keepalive(host, port):
    """Three requests, pipelined on one connection, then one more."""
    s = connect(host, port)
    reqs = [("GET", "/bytes/10"), ("GET", "/bytes/100000"), ("HEAD", "/bytes/5")]
    s.sendall(b"".join(b"%s %s HTTP/1.1\r\nHost: t\r\n\r\n" % (m.encode(), p.encode())
                       for m, p in reqs))
    f = s.makefile("rb")
    for m, p in reqs:
        status, h, _ = read_response(f)
        n = int(p.rsplit("/", 1)[1])
        if status != 200 or int(h["content-length"]) != n:
            die("%s %s: status %s, headers %s" % (m, p, status, h))
        body = f.read(n) if m == "GET" else b""
        if m == "GET" and body != pattern(0, n):
            die("%s %s: wrong body (%d bytes)" % (m, p, len(body)))
        if h.get("connection") != "keep-alive":
            die("%s %s: Connection: %s" % (m, p, h.get("connection")))
    s.sendall(b"GET /bytes/7 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    status, h, _ = read_response(f)
    body = f.read()
    if status != 200 or body != pattern(0, 7) or h.get("connection") != "close":
        die("last request: status %s, %d bytes, connection %s" % (status, len(body),
                                                                   h.get("connection")))
    print("keep-alive: 4 answers on one connection, closed after Connection: close")


def cmd_http_raw(host, port, req):
    """Send req (with \\r\\n escapes), print the status of the answer and
    whether the server then closed."""
    s = connect(host, port)
    s.sendall(req.encode().decode("unicode_escape").encode("latin-1"))
    f = s.makefile("rb")
    status, h, _ = read_response(f)
    if status is None:
        die("no answer")
    f.read(int(h.get("content-length", "0")))
    s.settimeout(5)
    try:
        closed = f.read(1) == b""
    except socket.timeout:
        closed = False
    print("%d %s" % (status, "closed" if closed else "open"))


def cmd_http_big_head(host, port, n):
    """A request head of n bytes: one long header."""
    s = connect(host, port)
    head = b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * int(n) + b"\r\n\r\n"
    try:
        s.sendall(head)
    except OSError:
        pass
    f = s.makefile("rb")
    status, h, _ = read_response(f)
    print("%s" % status)


def cmd_slow_read(host, port, n, rcvbuf, pause):
    """GET /bytes/n with a small receive buffer, read nothing for pause
    seconds (the window closes), then read it all and check it."""
    n = int(n)
    s = connect(host, port, int(rcvbuf))
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % n)
    time.sleep(float(pause))
    f = s.makefile("rb")
    status, h, _ = read_response(f)
    body = f.read(n)
    s.close()
    if status != 200 or hashlib.sha256(body).digest() != hashlib.sha256(pattern(0, n)).digest():
        die("slow read: status %s, %d bytes, wrong content" % (status, len(body)))
    print("slow read: %d bytes after a %s s pause, sha256 ok" % (n, pause))


def cmd_hold(host, port, ready, secs):
    """Echo one line, then hold the connection open for secs seconds."""
    s = connect(host, port)
    s.sendall(b"hello\n")
    if recv_exact(s, 6) != b"hello\n":
        die("no echo")
    open(ready, "w").close()
    time.sleep(float(secs))
    print("held")


def cmd_drain(host, port, ready, secs):
    """Read continuously for secs seconds (or until the connection ends)."""
    s = connect(host, port)
    s.settimeout(float(secs))
    n = len(s.recv(1 << 16))
    open(ready, "w").close()
    end = time.time() + float(secs)
    try:
        while time.time() < end:
            b = s.recv(1 << 16)
            if not b:
                break
            n += len(b)
    except OSError:
        pass
    print("read %d bytes" % n)


def main():
    cmds = {
        "pattern-sha": cmd_pattern_sha, "make-file": cmd_make_file, "send": cmd_send,
        "recv-server": cmd_recv_server, "echo-check": cmd_echo_check,
        "concurrent": cmd_concurrent, "chargen-check": cmd_chargen_check,
        "discard": cmd_discard, "http-keepalive": cmd_http_keepalive,
        "http-raw": cmd_http_raw, "http-big-head": cmd_http_big_head,
        "slow-read": cmd_slow_read, "hold": cmd_hold, "sha-server": cmd_sha_server,
        "exchange": cmd_exchange, "drain": cmd_drain,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: tcpc.py %s ..." % "|".join(cmds))
    try:
        cmds[sys.argv[1]](*sys.argv[2:])
    except (OSError, ValueError, KeyError) as e:
        die("%s: %s" % (sys.argv[1], e))


if __name__ == "__main__":
    main()
