"""tests/interop/lib/preload_semantics.py -- run under `tapir exec`: the
socket behaviours the preload shim must keep, checked one by one against
the kernel's TCP at KADDR (an echo server on port 9100, started by
preload_semantics_test.sh).  Kernel-side helpers are child processes
started without LD_PRELOAD.  Prints "ok NAME" per check; any failure raises.
"""
import errno, fcntl, os, select, socket, struct, subprocess, sys, time

KADDR, SADDR = sys.argv[1], sys.argv[2]
ECHO = (KADDR, 9100)
KERNEL_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def ok(name):
    print("ok", name, flush=True)


def echo_conn(**kw):
    return socket.create_connection(ECHO, timeout=10, **kw)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        assert b, "eof after %d of %d" % (len(buf), n)
        buf += b
    return buf


def kernel_client(port, data_len):
    """A kernel-side client: connect to SADDR:port, send data_len bytes,
    print the sha of what comes back."""
    code = ("import socket,sys,hashlib,os\n"
            "c=socket.create_connection((%r,%d),timeout=10)\n"
            "d=bytes(range(256))*(%d//256)\n"
            "c.sendall(d);c.shutdown(socket.SHUT_WR)\n"
            "b=b''\n"
            "while True:\n"
            "  x=c.recv(65536)\n"
            "  if not x: break\n"
            "  b+=x\n"
            "print(len(b))\n") % (SADDR, port, data_len)
    return subprocess.Popen([sys.executable, "-c", code], env=KERNEL_ENV,
                            stdout=subprocess.PIPE, text=True)


# --- connect ------------------------------------------------------------
s = echo_conn()
assert s.getpeername() == ECHO
addr, port = s.getsockname()
assert addr == SADDR and port != 0
s.sendall(b"ping")
assert recv_exact(s, 4) == b"ping"
s.close()
ok("blocking connect, getsockname/getpeername")

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
assert fcntl.fcntl(s.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK
assert fcntl.fcntl(s.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC  # python's default
e = s.connect_ex(ECHO)
assert e == errno.EINPROGRESS, e
p = select.poll()
p.register(s, select.POLLOUT)
assert p.poll(5000), "no POLLOUT"
assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
assert s.connect_ex(ECHO) == 0             # Linux: 0 once after completion,
assert s.connect_ex(ECHO) == errno.EISCONN  # then EISCONN
s.setblocking(True)
s.sendall(b"x" * 1000)
assert recv_exact(s, 1000) == b"x" * 1000
s.close()
ok("non-blocking connect: EINPROGRESS, POLLOUT, SO_ERROR 0, connect 0, EISCONN")

s = socket.socket()
s.setblocking(False)
assert s.connect_ex((KADDR, 9)) == errno.EINPROGRESS
p = select.poll()
p.register(s, select.POLLOUT)
assert p.poll(5000)
assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED
s.close()
s = socket.socket()
try:
    s.connect((KADDR, 9))
    raise AssertionError("connected to a closed port")
except ConnectionRefusedError:
    pass
s.close()
ok("refused: SO_ERROR and blocking connect say ECONNREFUSED")

full = socket.create_connection((KADDR, 9102), timeout=5)     # fills its queue
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 300000))
start = time.monotonic()
e = t.connect_ex((KADDR, 9102))
took = time.monotonic() - start
assert e == errno.EINPROGRESS and 0.25 < took < 2.5, (e, took)
t.close()
full.close()
ok("blocking connect bounded by SO_SNDTIMEO: EINPROGRESS after %.2f s" % took)

# --- options ------------------------------------------------------------
s = echo_conn()
for level, name in ((socket.IPPROTO_TCP, socket.TCP_NODELAY),
                    (socket.SOL_SOCKET, socket.SO_KEEPALIVE)):
    s.setsockopt(level, name, 1)
    assert s.getsockopt(level, name) == 1
    s.setsockopt(level, name, 0)
    assert s.getsockopt(level, name) == 0
assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG) > 500
assert s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) > 0
assert s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) > 0
assert s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_STREAM
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)   # late: accepted
info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
assert info[0] == 1, "tcpi_state %d" % info[0]             # TCP_ESTABLISHED
rtt = struct.unpack_from("I", info, 68)[0]                   # tcpi_rtt
assert 0 < rtt < 1000000, rtt
s.close()
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
assert t.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 65536
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
assert t.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
try:
    t.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
    raise AssertionError("SO_BROADCAST answered")
except OSError as e:
    assert e.errno == errno.ENOPROTOOPT
t.close()
ok("TCP_NODELAY, SO_KEEPALIVE, TCP_MAXSEG, SO_RCVBUF/SNDBUF, SO_REUSEADDR, TCP_INFO")

# --- data calls -----------------------------------------------------------
s = echo_conn()
s.settimeout(None)                         # a blocking fd for the os.* calls
fd = s.fileno()
assert os.writev(fd, [b"abc", b"defg", b"h"]) == 8
time.sleep(0.2)
a, b = bytearray(5), bytearray(3)
assert os.readv(fd, [a, b]) == 8
assert bytes(a) + bytes(b) == b"abcdefgh"
s.sendmsg([b"12", b"34"])
time.sleep(0.2)
assert s.recv(4, socket.MSG_PEEK) == b"1234"
data, anc, flags, _ = s.recvmsg(4)
assert data == b"1234"
try:
    s.recv(10, socket.MSG_DONTWAIT)
    raise AssertionError("MSG_DONTWAIT returned data")
except BlockingIOError:
    pass
with open(sys.argv[3], "rb") as f:
    blob = f.read()
    sent = 0
    while sent < len(blob):
        sent += os.sendfile(fd, f.fileno(), sent, len(blob) - sent)
assert recv_exact(s, len(blob)) == blob
s.sendto(b"to", ECHO)                      # connected: the address is ignored
assert recv_exact(s, 2) == b"to"
s.close()
ok("readv/writev, sendmsg/recvmsg, MSG_PEEK, MSG_DONTWAIT, sendfile, sendto")

# --- poll, select and epoll mixed with a pipe ------------------------------
s = echo_conn()
r, w = os.pipe()
ep = select.epoll()
ep.register(s.fileno(), select.EPOLLIN)
ep.register(r, select.EPOLLIN)
assert ep.poll(0.2) == []
os.write(w, b"p")
assert ep.poll(1) == [(r, select.EPOLLIN)]
os.read(r, 1)
s.sendall(b"q")
evs = ep.poll(5)
assert evs == [(s.fileno(), select.EPOLLIN)], evs
assert s.recv(1) == b"q"
rl, _, _ = select.select([s, r], [], [], 0.2)
assert rl == []
s.sendall(b"z")
rl, _, _ = select.select([s, r], [], [], 5)
assert rl == [s]
s.recv(1)
ep.close()
os.close(r)
os.close(w)
s.close()
ok("epoll and select over a tapir socket and a pipe")

# --- epoll registrations made before connect() and before listen() ------------
# The socket's file never changes (tapir connects it in place), so they hold.
ep = select.epoll()
s = socket.socket()
s.setblocking(False)
ep.register(s.fileno(), select.EPOLLOUT | select.EPOLLET)
evs = ep.poll(0)                            # a fresh socket: OUT|HUP, as the kernel's
assert evs == [(s.fileno(), select.EPOLLOUT | select.EPOLLHUP)], evs
assert s.connect_ex(ECHO) == errno.EINPROGRESS
evs = ep.poll(5)                            # edge-triggered: the connection's edge
assert evs == [(s.fileno(), select.EPOLLOUT)], evs
ep.modify(s.fileno(), select.EPOLLIN)
s.send(b"e")
assert ep.poll(5) == [(s.fileno(), select.EPOLLIN)]
assert s.recv(1) == b"e"
ls = socket.socket()
ls.bind(("0.0.0.0", 9201))
ep.register(ls.fileno(), select.EPOLLIN)
ls.listen(4)
assert ep.poll(0.1) == []
kc = kernel_client(9201, 0)
evs = ep.poll(5)
assert evs == [(ls.fileno(), select.EPOLLIN)], evs
c, _ = ls.accept()
c.close()
assert kc.communicate(timeout=10)[0].strip() == "0"
for x in (s, ls, ep):
    x.close()
ok("epoll registered before connect() and before listen() keeps working")

# --- shutdown ----------------------------------------------------------------
s = echo_conn()
s.sendall(b"last")
s.shutdown(socket.SHUT_WR)
assert recv_exact(s, 4) == b"last"
assert s.recv(1) == b""                    # the echo server closes after our FIN
s.close()
ok("shutdown(SHUT_WR): data, then FIN, then the peer's EOF")

# --- dup, fork, exec -------------------------------------------------------
s = echo_conn()
d = os.dup(s.fileno())
d2 = os.dup2(s.fileno(), 100)
os.write(d, b"A")
os.write(100, b"B")
assert recv_exact(s, 2) == b"AB"
os.close(d)
os.close(100)
pid = os.fork()
if pid == 0:
    os.write(s.fileno(), b"C")
    os._exit(0)
os.waitpid(pid, 0)
assert recv_exact(s, 1) == b"C"
fdn = s.fileno()
os.set_inheritable(fdn, True)
subprocess.run([sys.executable, "-c",
                "import os,socket;s=socket.socket(fileno=%d);"
                "assert s.getpeername()==(%r,9100);os.write(%d,b'D')" % (fdn, KADDR, fdn)],
               close_fds=False, check=True)
assert recv_exact(s, 1) == b"D"
s.sendall(b"E")                             # still ours after the others closed
assert recv_exact(s, 1) == b"E"
s.close()
ok("dup, dup2, fork, exec (getpeername in the exec'd child)")

# --- listen, accept, accept4 flags -------------------------------------------
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 9200))
ls.listen(8)
assert ls.getsockname() == (SADDR, 9200)
assert ls.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
ls.setblocking(False)
try:
    ls.accept()
    raise AssertionError("accepted nothing")
except BlockingIOError:
    pass
kc = kernel_client(9200, 65536)
p = select.poll()
p.register(ls, select.POLLIN)
assert p.poll(5000), "listener not readable"
c, peer = ls.accept()                      # python: accept4(SOCK_CLOEXEC)
assert peer[0] == KADDR
assert fcntl.fcntl(c.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
assert c.getpeername() == peer and c.getsockname() == (SADDR, 9200)
c.setblocking(True)
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    c.sendall(b)
    n += len(b)
c.close()
assert n == 65536
assert kc.communicate(timeout=10)[0].strip() == "65536"
t = socket.socket()
try:
    t.bind(("0.0.0.0", 9200))
    raise AssertionError("bound a port in use")
except OSError as e:
    assert e.errno == errno.EADDRINUSE, e
t.close()
ls.close()
ok("listen, poll on the listener, accept4 flags, names, EADDRINUSE")

# --- SO_REUSEPORT: two listeners share a port ---------------------------------
l1, l2 = socket.socket(), socket.socket()
for x in (l1, l2):
    x.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    x.bind(("0.0.0.0", 9202))
    x.listen(8)
assert l2.getsockname() == (SADDR, 9202)
got = {l1: 0, l2: 0}
for _ in range(8):
    kc = kernel_client(9202, 0)
    r, _, _ = select.select([l1, l2], [], [], 5)
    assert r, "no listener readable"
    c, _ = r[0].accept()
    got[r[0]] += 1
    c.close()
    assert kc.communicate(timeout=10)[0].strip() == "0"
assert got[l1] > 0 and got[l2] > 0 and got[l1] + got[l2] == 8, got
l1.close()                                   # the one holding tapir's port
kc = kernel_client(9202, 0)
r, _, _ = select.select([l2], [], [], 5)
assert r, "the second listener lost the port with the first"
c, _ = l2.accept()
c.close()
assert kc.communicate(timeout=10)[0].strip() == "0"
l2.close()
ok("SO_REUSEPORT: two listeners share port 9202 (%d/%d of 8), the second goes on alone"
   % (got[l1], got[l2]))

# --- loopback goes to the kernel ---------------------------------------------
ll = socket.socket()
ll.bind(("127.0.0.1", 0))
ll.listen(1)
lc = socket.create_connection(ll.getsockname(), timeout=5)
la, _ = ll.accept()
lc.sendall(b"lo")
assert la.recv(2) == b"lo"
for x in (lc, la, ll):
    x.close()
# Options set before the handover are the kernel socket's afterwards.
ll = socket.socket()
ll.bind(("127.0.0.1", 0))
ll.listen(1)
lc = socket.socket()
lc.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
lc.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
lc.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)
lc.settimeout(3.5)                          # python: O_NONBLOCK and poll, not SO_RCVTIMEO
lc.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 2, 500000))
lc.connect(ll.getsockname())
assert lc.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
assert lc.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
assert lc.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 77
assert struct.unpack("ll", lc.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)) == (2, 500000)
assert lc.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
for x in (lc, ll):
    x.close()
ok("127.0.0.1 sockets are the kernel's, with the options set before")
print("all ok", flush=True)
