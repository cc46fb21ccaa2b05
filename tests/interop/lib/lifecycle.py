#!/usr/bin/env python3
"""tests/interop/lib/lifecycle.py -- the kernel's side of tcp_lifecycle_test:
a server that sends a file and closes first, a client that resets its
connection, and connection attempts that must be refused.  Each subcommand
prints one line and exits 0, or prints why and exits 1; every socket has a
timeout.
"""
import socket
import struct
import sys

TIMEOUT = 60


def die(msg):
    print(msg)
    sys.exit(1)


def listener(port, ready):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(1)
    ls.settimeout(TIMEOUT)
    open(ready, "w").close()
    s, _ = ls.accept()
    s.settimeout(TIMEOUT)
    ls.close()
    return s


def cmd_send_server(port, path, ready):
    """Accept one connection, send the file, close first (our FIN goes
    before the peer's), then expect the peer's FIN with no data."""
    s = listener(port, ready)
    with open(path, "rb") as f:
        data = f.read()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    rest = s.recv(1)
    s.close()
    if rest:
        die("send-server: the peer sent data back")
    print("sent %d bytes, closed first, then read the peer's FIN" % len(data))


def cmd_reset_client(host, port):
    """Connect, exchange a line with an echo server, then close with
    SO_LINGER 0 so the kernel sends RST instead of FIN."""
    s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    s.sendall(b"hello\n")
    got = b""
    while len(got) < 6:
        b = s.recv(6 - len(got))
        if not b:
            die("reset-client: the echo ended early")
        got += b
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("echoed %r, then reset the connection" % got)


def cmd_expect_reset(host, port, ready_hold):
    """Connect while another connection holds the only slot; the server
    must reset this one (reading yields ECONNRESET or an immediate EOF
    after RST)."""
    # The RST may come so soon after the handshake that the kernel reports
    # it from connect() itself; either way the server reset us.
    try:
        s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        b = s.recv(1)
    except ConnectionResetError:
        print("connection reset by the peer, as expected")
        return
    die("expect-reset: read %r instead of a reset" % b)


def cmd_refused(host, port):
    """A connection to a port with no listener must be refused (RST)."""
    try:
        socket.create_connection((host, int(port)), timeout=10)
    except ConnectionRefusedError:
        print("refused, as expected")
        return
    except OSError as e:
        die("refused: got %s instead of ECONNREFUSED" % e)
    die("refused: the connection was accepted")


def cmd_hold(host, port, ready, secs):
    """Hold one echo connection open for secs seconds."""
    import time
    s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    s.sendall(b"x")
    if s.recv(1) != b"x":
        die("hold: no echo")
    open(ready, "w").close()
    time.sleep(float(secs))
    s.close()
    print("held the connection")


def main():
    cmds = {"send-server": cmd_send_server, "reset-client": cmd_reset_client,
            "expect-reset": cmd_expect_reset, "refused": cmd_refused, "hold": cmd_hold}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: lifecycle.py %s ..." % "|".join(cmds))
    try:
        cmds[sys.argv[1]](*sys.argv[2:])
    except (OSError, ValueError) as e:
        die("%s: %s" % (sys.argv[1], e))


if __name__ == "__main__":
    main()
