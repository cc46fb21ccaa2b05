"""tests/interop/lib/kpeer.py -- the kernel's side of the socket tests.

usage: kpeer.py ADDR [--hold-log FILE] [--fill]
  9100: echoes each connection until EOF, then closes;
  9101 (with --hold-log): holds connections and appends to FILE how each
        one ended (eof, data, reset);
  9102: listens with a backlog of 0 and never accepts: once one connection
        waits in its queue (--fill makes it), SYNs go unanswered.
"""
import argparse, socket, threading

ap = argparse.ArgumentParser()
ap.add_argument("addr")
ap.add_argument("--hold-log")
ap.add_argument("--fill", action="store_true")
args = ap.parse_args()


def echo(c):
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()


def hold(c, log):
    try:
        b = c.recv(1)
        how = "eof" if not b else "data"
    except ConnectionResetError:
        how = "reset"
    with open(log, "a") as f:
        f.write(how + "\n")


def serve(port, fn, *a):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.addr, port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=fn, args=(c,) + a, daemon=True).start()


if args.hold_log:
    threading.Thread(target=serve, args=(9101, hold, args.hold_log), daemon=True).start()
full = socket.socket()
full.bind((args.addr, 9102))
full.listen(0)
if args.fill:
    held = socket.create_connection((args.addr, 9102))
serve(9100, echo)
