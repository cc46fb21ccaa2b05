#!/usr/bin/env bash
# tests/interop/preload_redis_test.sh -- `tapir exec -- redis-server`
# answers the kernel's redis-cli (PING, SET and GET of a 100 kB value,
# INCR) and a short redis-benchmark (-n 2000 -c 10, SET and GET, bounded;
# the server's own command counters must show every request); then
# `tapir exec -- redis-cli` sets and gets a 100 kB value on a kernel-side
# redis-server.  Every reply is checked.  Needs root (exit 77 without);
# private namespace, bounded.
set -euo pipefail
NAME=preload_redis_test
. "$(dirname "$0")/lib/sockets.sh"
sock_enter_ns 180 "$@"
sock_need redis-server redis-cli redis-benchmark timeout

sock_start_tapird
mkdir -p "$tmp/rd"
timeout 120 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- redis-server --port 6379 \
    --bind 0.0.0.0 --protected-mode no --save '' --appendonly no --dir "$tmp/rd" \
    >"$tmp/redis.log" 2>&1 &
sock_pids+=($!)
redis_pid=$!
sock_wait_tapir_listen 6379

cli() { timeout 10 redis-cli -h $SADDR -p 6379 "$@"; }
[ "$(cli PING)" = PONG ] || die "PING did not get PONG"
big=$(head -c 75000 /dev/urandom | base64 -w0)
[ "$(cli SET k1 "$big")" = OK ] || die "SET of a 100 kB value failed"
[ "$(cli GET k1)" = "$big" ] || die "GET returned other bytes than SET stored"
cli DEL ctr >/dev/null
for _ in 1 2 3; do cli INCR ctr >/dev/null; done
[ "$(cli GET ctr)" = 3 ] || die "INCR x3 did not give 3"
echo "$NAME: kernel redis-cli: PING, SET/GET 100 kB, INCR ok"

timeout 60 redis-benchmark -h $SADDR -p 6379 -n 2000 -c 10 -t set,get --csv \
    >"$tmp/bench.csv" 2>"$tmp/bench.err" || { cat "$tmp/bench.err" >&2; die "redis-benchmark failed"; }
grep -q '^"SET"' "$tmp/bench.csv" && grep -q '^"GET"' "$tmp/bench.csv" \
    || { cat "$tmp/bench.csv" >&2; die "redis-benchmark reported no SET/GET result"; }
# The server counted every benchmark command: 2000 SETs and 2000 GETs.
stats=$(cli INFO commandstats | tr -d '\r')
sets=$(echo "$stats" | sed -n 's/^cmdstat_set:calls=\([0-9]*\),.*/\1/p')
gets=$(echo "$stats" | sed -n 's/^cmdstat_get:calls=\([0-9]*\),.*/\1/p')
[ "${sets:-0}" -ge 2001 ] && [ "${gets:-0}" -ge 2002 ] \
    || die "server counted $sets SET and $gets GET calls, want >= 2001 and >= 2002"
echo "$NAME: redis-benchmark: $(tr '\n' ' ' <"$tmp/bench.csv")"

kill -TERM "$redis_pid" 2>/dev/null || true
wait "$redis_pid" 2>/dev/null || true

# tapir redis-cli -> kernel redis-server.
timeout 60 redis-server --port 6380 --bind $KADDR --protected-mode no --save '' --appendonly no \
    --dir "$tmp/rd" >"$tmp/kredis.log" 2>&1 &
sock_pids+=($!)
sock_wait_kernel_listen 6380
tcli() { timeout 10 "$TAPIR" exec --socket "$TAPIRD_SOCK" -- redis-cli -h $KADDR -p 6380 "$@"; }
[ "$(tcli SET k2 "$big")" = OK ] || die "tapir redis-cli SET failed"
[ "$(tcli GET k2)" = "$big" ] || die "tapir redis-cli GET returned other bytes"
echo "$NAME: tapir redis-cli -> kernel redis-server: SET/GET 100 kB ok"

for p in "${sock_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${sock_pids[@]}"; do wait "$p" 2>/dev/null || true; done
sock_pids=()
sleep 0.2
sock_stop_tapird
echo "$NAME: PASS"
