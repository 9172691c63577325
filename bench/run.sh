#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Foundation benchmarks (issue 2), run on this machine against build/streamhub with wrk on
# loopback. Prints a Markdown block to paste into docs/BENCHMARKS.md. Each scenario starts a
# fresh server; nothing here asserts timings (tests never do).
#   bench/run.sh            SQLite
#   BENCH_PG=postgres://... bench/run.sh   also the PostgreSQL figures (a database the script may fill)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STREAMHUB_BIN:-build/streamhub}
DUR=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
WORK=$(mktemp -d /tmp/streamhub-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
ulimit -n 65536 2>/dev/null || true

# Every load generator here is one address (loopback): no per-address connection cap.
start_server() { # data_dir [extra args...] -> sets URL and PID
  local dir=$1; shift
  "$BIN" serve --port 0 --data-dir "$dir" --rate-limit 0 --auth-rate-limit 0 --per-ip-connections 0 "$@" \
    >"$dir.out" 2>"$dir.log" &
  PID=$!
  for _ in $(seq 1 200); do
    URL=$(sed -n 's/^listening on //p' "$dir.out")
    [ -n "$URL" ] && return 0
    sleep 0.05
  done
  echo "server did not start: $(cat "$dir.log")" >&2
  exit 1
}
stop_server() { kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# wrk summary: "req/s p50 p99"
wrk_run() { # url [wrk args...]
  local url=$1; shift
  wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "$@" "$url" >"$WORK/wrk.txt" 2>&1
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
  local errs
  errs=$(grep -E 'Non-2xx|Socket errors' "$WORK/wrk.txt" | tr '\n' ' ' || true)
  echo "$rps req/s, p50 $p50, p99 $p99 ${errs:+($errs)}"
}

register_token() { # url -> access token of a fresh user
  curl -s -XPOST "$1/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"bench$RANDOM$RANDOM@example.test\",\"handle\":\"bench$RANDOM$RANDOM\",\"password\":\"benchmark password\"}" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).access_token))'
}

echo "### Foundation benchmarks — $(date -u +%Y-%m-%d) — $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), wrk -t1 -c$CONNS -d${DUR}s on loopback"
echo
echo "| scenario | result |"
echo "|---|---|"

# Start-up time and idle memory on an empty data dir.
times=()
for i in 1 2 3 4 5; do
  d="$WORK/start$i"
  t0=$(date +%s%N)
  start_server "$d"
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  [ "$i" = 1 ] && { sleep 1; idle=$(rss_kib "$PID"); }
  stop_server
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
echo "| start to \`listening\` line, empty data dir (5 runs, ms, sorted; includes migrations, secret creation and the dummy argon2id hash) | $sorted |"
echo "| idle RSS after start | $((idle / 1024)) MiB ($idle KiB) |"

d="$WORK/main"
start_server "$d"
echo "| GET /health/live | $(wrk_run "$URL/health/live") |"
TOKEN=$(register_token "$URL")
echo "| GET /api/v1/auth/me (JWT check + session/user read), SQLite | $(wrk_run "$URL/api/v1/auth/me" -H "Authorization: Bearer $TOKEN") |"
echo "| RSS after those runs | $(( $(rss_kib "$PID") / 1024 )) MiB |"

# Login storm: logins/s at the default argon2id cost, and /health/live latency meanwhile.
curl -s -XPOST "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"storm@example.test","handle":"stormuser","password":"benchmark password"}' >/dev/null
CONNS=16 wrk_run "$URL/api/v1/auth/login" -s bench/login.lua >"$WORK/storm.txt" &
storm=$!
sleep 1
live=$(DUR=$((DUR - 2)) wrk_run "$URL/health/live")
wait $storm
echo "| POST /api/v1/auth/login storm (16 connections, argon2id m=19 MiB t=2 p=1, 1 hash thread) | $(cat "$WORK/storm.txt") |"
echo "| GET /health/live during that storm | $live |"

# 10,000 idle keep-alive connections.
before=$(rss_kib "$PID")
node bench/idle-connections.mjs "$URL" 10000 "$PID" >"$WORK/idle.txt"
echo "| 10,000 idle keep-alive connections (each made one request) | $(cat "$WORK/idle.txt"), RSS before: $((before / 1024)) MiB |"
stop_server

# The realtime hub: 10,000 authenticated WebSockets (its own server; see docs/BENCHMARKS.md).
echo
echo "Realtime hub (bench/ws-connections.mjs):"
echo
STREAMHUB_BIN="$BIN" node bench/ws-connections.mjs 10000 20 2>/dev/null | sed 's/^/    /'
echo
echo "Room fan-out, 5,000 members x 100 msg/s (bench/ws-room.mjs):"
echo
STREAMHUB_BIN="$BIN" node bench/ws-room.mjs 5000 100 10 100 2 2>/dev/null | sed 's/^/    /'

if [ -n "${BENCH_PG:-}" ]; then
  d="$WORK/pg"
  start_server "$d" --database "$BENCH_PG"
  TOKEN=$(register_token "$URL")
  echo "| GET /api/v1/auth/me, PostgreSQL 15 (same machine) | $(wrk_run "$URL/api/v1/auth/me" -H "Authorization: Bearer $TOKEN") |"
  echo "| GET /health/live, PostgreSQL backend | $(wrk_run "$URL/health/live") |"
  stop_server
fi
