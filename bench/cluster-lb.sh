#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Through the load balancer (issue 13): wrk against signed-in reads — GET /api/v1/auth/me and
# GET /api/v1/feed/trending — on (a) one node directly, (b) one node behind nginx, (c) N nodes
# behind nginx (round robin, as deploy/compose/nginx.conf), all on one PostgreSQL database with
# --redis. Besides req/s and latency it prints the CPU each process kind spent per request
# (utime+stime from /proc over the wrk run, divided by the requests answered): the nodes', nginx's
# and Redis's, which the machine's load moves less than req/s, and the Redis commands per request
# (INFO's total_commands_processed). A node without --redis on the same database gives the
# in-process row: what Redis adds to each path (a feed page's bus_sync PING, docs/operations.md).
# Nothing here asserts timings.
#   BENCH_PG=$(bash tests/pg.sh url) bench/cluster-lb.sh      (tests/pg.sh start first)
#   BENCH_NODES=3 BENCH_SECONDS=8 BENCH_CONNECTIONS=64 BENCH_THREADS=2 bench/cluster-lb.sh
# Needs wrk, curl, nginx, redis-server and psql (scripts/deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STREAMHUB_BIN:-build/streamhub}
ADMIN=${BENCH_PG:?BENCH_PG: an admin URL of a throwaway PostgreSQL (bash tests/pg.sh url)}
NODES=${BENCH_NODES:-3}
DUR=${BENCH_SECONDS:-8}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
WORK=$(mktemp -d /tmp/streamhub-lb.XXXXXX)
PIDS=()
NODE_PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

DB="sh_bench_lb_$$"
psql -q "$ADMIN" -c "CREATE DATABASE $DB"
DBURL="${ADMIN%/postgres}/$DB"
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >/dev/null &
REDIS_PID=$!
PIDS+=($REDIS_PID)
SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')

start_node() { # index [--redis URL]
  "$BIN" serve --port 0 --data-dir "$WORK/data" --database "$DBURL" "${@:2}" \
    --node-id auto --jwt-secret "$SECRET" --trust-proxy --rate-limit 0 --auth-rate-limit 0 \
    >"$WORK/out$1" 2>"$WORK/log$1" &
  NODE_PIDS+=($!)
  PIDS+=($!)
  for _ in $(seq 1 300); do
    grep -q '^listening on ' "$WORK/out$1" && return 0
    sleep 0.1
  done
  echo "cluster-lb: node $1 did not start" >&2; cat "$WORK/log$1" >&2; exit 1
}
node_url() { sed -n 's/^listening on //p' "$WORK/out$1"; }

for i in $(seq 1 "$NODES"); do start_node "$i" --redis "redis://127.0.0.1:$REDIS_PORT/0"; done
start_node 0 # in-process bus, no Redis
URL1=$(node_url 1)
URL0=$(node_url 0)

# nginx configured like deploy/compose/nginx.conf; one config per upstream set
start_nginx() { # name port upstream-urls...
  local name=$1 port=$2 dir="$WORK/nginx-$1"
  shift 2
  mkdir -p "$dir"
  {
    echo "pid $dir/nginx.pid; error_log $dir/error.log warn; daemon off; worker_processes 1;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; client_body_temp_path $dir/b; proxy_temp_path $dir/p;"
    echo "  fastcgi_temp_path $dir/f; uwsgi_temp_path $dir/u; scgi_temp_path $dir/s;"
    echo "  upstream streamhub {"
    for u in "$@"; do echo "    server ${u#http://};"; done
    echo "    keepalive 64; }"
    echo "  server { listen 127.0.0.1:$port; location / { proxy_pass http://streamhub;"
    echo "    proxy_http_version 1.1; proxy_set_header Connection ''; proxy_set_header Host \$http_host;"
    echo "    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; } } }"
  } >"$dir/nginx.conf"
  nginx -p "$dir" -c "$dir/nginx.conf" &
  PIDS+=($!)
  eval "NGINX_PID_$name=$!"
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health/live" && return 0; sleep 0.05; done
  echo "cluster-lb: nginx $name did not start" >&2; cat "$dir/error.log" >&2; exit 1
}
P1=$(free_port); PN=$(free_port)
start_nginx one "$P1" "$URL1"
ALL=()
for i in $(seq 1 "$NODES"); do ALL+=("$(node_url "$i")"); done
start_nginx all "$PN" "${ALL[@]}"

TOK=$(curl -s -XPOST "$URL1/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","handle":"bench","password":"benchmark password"}' |
  grep -o '"access_token": *"[^"]*"' | cut -d '"' -f 4)
[ -n "$TOK" ] || { echo "cluster-lb: could not register" >&2; exit 1; }
for i in $(seq 1 40); do
  curl -s -o /dev/null -XPOST "$URL1/api/v1/posts" -H "Authorization: Bearer $TOK" \
    -H 'Content-Type: application/json' -d "{\"caption\":\"bench $i\",\"visibility\":\"public\"}"
done

ticks() { # pids... -> utime+stime in clock ticks
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
HZ=$(getconf CLK_TCK)
redis_commands() { # commands Redis has processed, less the INFO asking
  redis-cli -p "$REDIS_PORT" INFO stats | awk -F: '/^total_commands_processed/ {print $2 + 0}'
}
printf '%-34s %-22s %9s %9s %9s %12s %12s %12s %10s\n' setup path req/s p50 p99 "node µs/req" "nginx µs/req" "redis µs/req" "redis/req"
run() { # label base-url path nginx-pid
  local label=$1 base=$2 path=$3 ngx=${4:-}
  wrk -t"$THREADS" -c"$CONNS" -d2s -H "Authorization: Bearer $TOK" "$base$path" >/dev/null # warm
  local n0 g0 r0 n1 g1 r1 out reqs
  # nginx's work is done by its worker process, a child of the master started here
  local ngx_pids=()
  [ -n "$ngx" ] && mapfile -t ngx_pids < <(echo "$ngx"; pgrep -P "$ngx")
  local c0 c1
  c0=$(redis_commands)
  n0=$(ticks "${NODE_PIDS[@]}"); g0=$(ticks "${ngx_pids[@]}"); r0=$(ticks "$REDIS_PID")
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -H "Authorization: Bearer $TOK" "$base$path")
  n1=$(ticks "${NODE_PIDS[@]}"); g1=$(ticks "${ngx_pids[@]}"); r1=$(ticks "$REDIS_PID")
  c1=$(redis_commands)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/^Requests\/sec/ {printf "%d", $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '%-34s %-22s %9s %9s %9s %12s %12s %12s %10s%s\n' "$label" "$path" "$rps" "$p50" "$p99" \
    "$(( (n1 - n0) * 1000000 / HZ / reqs ))" "$(( (g1 - g0) * 1000000 / HZ / reqs ))" \
    "$(( (r1 - r0) * 1000000 / HZ / reqs ))" "$(awk -v c=$((c1 - c0 - 1)) -v n="$reqs" 'BEGIN {printf "%.2f", c / n}')" \
    "${non2xx:+  (non-2xx: $non2xx)}"
}
for path in /api/v1/auth/me /api/v1/feed/trending; do
  run "1 node without Redis, direct" "$URL0" "$path"
  run "1 node, direct" "$URL1" "$path"
  # shellcheck disable=SC2154
  run "1 node behind nginx" "http://127.0.0.1:$P1" "$path" "$NGINX_PID_one"
  # shellcheck disable=SC2154
  run "$NODES nodes behind nginx" "http://127.0.0.1:$PN" "$path" "$NGINX_PID_all"
done
echo "(node µs/req sums every node's CPU; 1-node rows: the other nodes idle. load: $(cut -d ' ' -f 1-3 /proc/loadavg))"
psql -q "$ADMIN" -c "DROP DATABASE $DB WITH (FORCE)" >/dev/null 2>&1 || true
