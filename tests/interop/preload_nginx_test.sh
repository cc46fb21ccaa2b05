#!/usr/bin/env bash
# tests/interop/preload_nginx_test.sh -- `tapir exec -- nginx` (Debian's,
# a master and two workers: fork and inherited listeners) serves static
# files to the kernel's curl running 50 transfers at once (curl --parallel
# --parallel-max 50): 400 requests over 20 files of 1 B .. 3 MB.  Every
# response must be 200 with the file's exact bytes (sha256 per file).
# Needs root (exit 77 without); private namespace, bounded.
set -euo pipefail
NAME=preload_nginx_test
. "$(dirname "$0")/lib/sockets.sh"
sock_enter_ns 180 "$@"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || fail "nginx is not installed (scripts/setup.sh)"
sock_need curl sha256sum timeout

NFILES=20
NREQ=400
mkdir -p "$tmp/www" "$tmp/nginx/logs" "$tmp/got"
for i in $(seq 1 $NFILES); do
    head -c $(( (i * i * i * 397) % 3000000 + 1 )) /dev/urandom >"$tmp/www/f$i"
done
(cd "$tmp/www" && sha256sum f*) | sort -k2 >"$tmp/want.sha"

cat >"$tmp/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
user root;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 10000;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        listen 8080;
        root $tmp/www;
    }
}
CONF

sock_start_tapird
timeout 120 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- \
    "$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" &
sock_pids+=($!)
nginx_pid=$!
sock_wait_tapir_listen 8080

# One curl, 50 transfers at a time, each response to its own file with its
# status code recorded.
: >"$tmp/curl.cfg"
for r in $(seq 1 $NREQ); do
    f=$(( (r % NFILES) + 1 ))
    printf 'url = "http://%s:8080/f%s"\noutput = "%s/got/r%s.f%s"\n' \
        $SADDR $f "$tmp" $r $f >>"$tmp/curl.cfg"
done
start=$(date +%s%N)
timeout 90 curl -sS --parallel --parallel-max 50 --parallel-immediate -K "$tmp/curl.cfg" \
    -w '%{http_code} %{filename_effective}\n' >"$tmp/codes" 2>"$tmp/curl.err" \
    || { head -n 20 "$tmp/curl.err" >&2; tail -n 20 "$tmp/nginx/logs/error.log" >&2; die "curl failed"; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))

n200=$(grep -c '^200 ' "$tmp/codes" || true)
[ "$n200" -eq $NREQ ] || { grep -v '^200 ' "$tmp/codes" | head >&2; die "$n200/$NREQ responses were 200"; }
bad=0
while read -r sum name; do
    for got in "$tmp"/got/r*."$name"; do
        g=$(sha256sum <"$got" | cut -d' ' -f1)
        [ "$g" = "$sum" ] || { echo "mismatch: $got" >&2; bad=$((bad + 1)); }
    done
done < <(sed 's/ \*\?/ /' "$tmp/want.sha" | awk '{print $1, $2}')
ngot=$(ls "$tmp/got" | wc -l)
[ "$ngot" -eq $NREQ ] || die "$ngot response files, want $NREQ"
[ "$bad" -eq 0 ] || die "$bad responses differ from their files"
echo "$NAME: $NREQ responses (50 at a time) all 200 and byte-exact, in $ms ms"

kill -TERM "$nginx_pid" 2>/dev/null || true
wait "$nginx_pid" 2>/dev/null || true
sock_pids=()
sleep 0.3
sock_stop_tapird
echo "$NAME: PASS"
