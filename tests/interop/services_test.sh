#!/usr/bin/env bash
# tests/interop/services_test.sh -- the built-in services of `tapir run`
# against the kernel's TCP: echo, discard and chargen byte-exact; HTTP
# /bytes/N (sha256), a served directory, keep-alive and pipelining, HEAD,
# 404, traversal refused (403), malformed (400) and oversized (413) requests
# answered while the server goes on serving; the connection limit.
# Needs root (exits 77 without).  Env: TAPIR_BIN.
set -euo pipefail
NAME=services_test
. "$(dirname "$0")/lib/run.sh"
run_enter_ns 120 "$@"
run_need python3 curl ip timeout sha256sum

mkdir -p "$tmp/www/sub"
make_file "$tmp/www/sub/file.bin" 300000
echo "<p>index</p>" >"$tmp/www/index.html"
echo "secret" >"$tmp/secret.txt"
ln -s "$tmp/secret.txt" "$tmp/www/link.txt"
run_start --echo --discard --chargen --http="$tmp/www" --http-port 8080 --max-conns 8
P=8080

# echo, discard, chargen
$PY echo-check $SADDR 7 1000000 || die "echo"
$PY discard $SADDR 9 500000 || die "discard"
$PY chargen-check $SADDR 19 300000 || die "chargen"

# HTTP: generated content, checked by sha256
got=$(timeout 20 curl -sf http://$SADDR:$P/bytes/3000000 | sha256sum | cut -d' ' -f1)
[ "$got" = "$(pattern_sha 3000000)" ] || die "GET /bytes/3000000: sha256 differs"
echo "$NAME: GET /bytes/3000000: sha256 ok"
len=$(timeout 10 curl -sfI http://$SADDR:$P/bytes/12345 | tr -d '\r' | awk -F': ' 'tolower($1)=="content-length"{print $2}')
[ "$len" = 12345 ] || die "HEAD /bytes/12345: Content-Length '$len'"
got=$(timeout 10 curl -sf http://$SADDR:$P/bytes/0 | wc -c)
[ "$got" -eq 0 ] || die "GET /bytes/0 gave $got bytes"

# a served directory
got=$(timeout 10 curl -sf http://$SADDR:$P/sub/file.bin | sha256sum | cut -d' ' -f1)
[ "$got" = "$(sha "$tmp/www/sub/file.bin")" ] || die "GET /sub/file.bin: sha256 differs"
got=$(timeout 10 curl -sf http://$SADDR:$P/)
[ "$got" = "<p>index</p>" ] || die "GET / did not serve index.html: '$got'"
code() { timeout 10 curl -s -o /dev/null -w '%{http_code}' --path-as-is "http://$SADDR:$P$1"; }
[ "$(code /nothere)" = 404 ] || die "GET /nothere: not 404"
[ "$(code /../secret.txt)" = 403 ] || die "GET /../secret.txt: not 403"
[ "$(code /sub/../../secret.txt)" = 403 ] || die "GET /sub/../../secret.txt: not 403"
[ "$(code /%2e%2e/secret.txt)" = 403 ] || die "GET /%2e%2e/secret.txt: not 403"
c=$(code /link.txt)
[ "$c" = 403 ] || [ "$c" = 404 ] || die "GET /link.txt (a symlink out of the directory): $c"
echo "$NAME: directory: file and index served; 404; traversal and symlink escape refused"

# keep-alive and pipelining
$PY http-keepalive $SADDR $P || die "keep-alive"

# bad requests: an answer, then the server goes on
r=$($PY http-raw $SADDR $P 'GARBAGE\r\n\r\n') || die "malformed request: $r"
[ "$r" = "400 closed" ] || die "malformed request: '$r', want '400 closed'"
r=$($PY http-raw $SADDR $P 'GET / HTTP/1.1\r\nno colon here\r\n\r\n') || die "bad header: $r"
[ "$r" = "400 closed" ] || die "bad header: '$r', want '400 closed'"
r=$($PY http-raw $SADDR $P 'POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n') || die "POST: $r"
[ "${r%% *}" = 405 ] || die "POST: '$r', want 405"
r=$($PY http-raw $SADDR $P 'GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n') || die "big body: $r"
[ "${r%% *}" = 413 ] || die "Content-Length 99999999: '$r', want 413"
r=$($PY http-big-head $SADDR $P 20000) || die "big head: $r"
[ "$r" = 413 ] || die "a 20000-byte request head: '$r', want 413"
# 300 requests of random bytes (some with a request-like start), seeded:
# each must get a 4xx/5xx answer or a close, never a crash or a hang.
python3 - "$SADDR" $P <<'PYEOF' || die "random requests"
import random, socket, sys
rnd = random.Random(5)
starts = [b"", b"GET ", b"GET /", b"GET / HTTP/1.1\r\n", b"HEAD /bytes/", b"GET /bytes/9 HTTP/9.9\r\n"]
answered = 0
for i in range(300):
    body = rnd.choice(starts) + rnd.randbytes(rnd.randrange(0, 3000))
    if rnd.random() < 0.5:
        body += b"\r\n\r\n"
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
    try:
        s.sendall(body)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except ConnectionResetError:
        got = b""
    s.close()
    if got:
        status = int(got.split(b" ", 2)[1])
        assert 200 <= status < 600, got[:80]
        answered += 1
print("random requests: 300 sent, %d answered, the rest closed" % answered)
PYEOF
kill -0 $run_pid 2>/dev/null || die "tapir run died on random requests"
got=$(timeout 10 curl -sf http://$SADDR:$P/bytes/1000 | sha256sum | cut -d' ' -f1)
[ "$got" = "$(pattern_sha 1000)" ] || die "the server stopped serving after bad requests"
echo "$NAME: 400, 405, 413 answered; still serving"

# the connection limit: 8 held open, the 9th is reset
python3 - "$SADDR" <<'PYEOF' || die "connection limit"
import socket, sys, time
held = []
for i in range(8):
    s = socket.create_connection((sys.argv[1], 7), timeout=10)
    s.sendall(b"x"); assert s.recv(1) == b"x"
    held.append(s)
try:
    # The reset may come before connect() returns (ECONNRESET there).
    s = socket.create_connection((sys.argv[1], 7), timeout=10)
    s.sendall(b"y")
    got = s.recv(1)
    sys.exit("the 9th connection was served: %r" % got)
except ConnectionResetError:
    pass
for h in held: h.close()
time.sleep(0.3)
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.sendall(b"z"); assert s.recv(1) == b"z"
print("limit: 8 served, the 9th reset, served again once they closed")
PYEOF

[ "$(live_counter TapirSvcRefused)" -eq 1 ] || die "TapirSvcRefused is not 1"
run_stop
errors=$(counter TapirSvcErrors)
http4=$(counter TapirSvcHttp4xx)
[ "$http4" -ge 10 ] || die "TapirSvcHttp4xx = $http4, expected at least 10"
[ "$(counter TcpEstabResets)" -ge 0 ]
echo "$NAME: counters: TapirSvcAccepted $(counter TapirSvcAccepted), TapirSvcHttp4xx $http4, TapirSvcErrors $errors"
echo "$NAME: ok"
