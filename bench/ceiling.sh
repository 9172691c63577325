#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# How close database routes come to the machine's HTTP ceiling (issue 12): Debian's h2o serving a
# small static file, then /health/live, then GET /api/v1/auth/me signed in (a point read), each
# with the same wrk settings, one after the other in one run, and each figure as a share of h2o's.
# Also prints context switches and syscalls per request for /auth/me as counted on the server
# (load on the machine moves req/s, much less these counts). Nothing here asserts timings.
#   bench/ceiling.sh                         build/streamhub, SQLite in a fresh temporary data dir
#   STREAMHUB_BIN=... BENCH_SECONDS=10 BENCH_CONNECTIONS=64 BENCH_THREADS=2 BENCH_ROUNDS=3 \
#     bench/ceiling.sh
#   BENCH_ARGS='--loop-read-budget 0' bench/ceiling.sh   extra server options (0: the old hand-off)
# Needs wrk, curl and h2o (scripts/deps.sh installs them; strace is optional).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STREAMHUB_BIN:-build/streamhub}
DUR=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
ROUNDS=${BENCH_ROUNDS:-3}
H2O_PORT=${BENCH_H2O_PORT:-18480}
WORK=$(mktemp -d /tmp/streamhub-ceiling.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# h2o: one 13-byte file, access log off, as many threads as the server under test gets.
mkdir -p "$WORK/www"
printf '{"ok":true}\n' >"$WORK/www/live"
cat >"$WORK/h2o.conf" <<EOF
listen:
  host: 127.0.0.1
  port: $H2O_PORT
num-threads: $(nproc)
hosts:
  default:
    paths:
      /:
        file.dir: $WORK/www
EOF
h2o -c "$WORK/h2o.conf" >"$WORK/h2o.log" 2>&1 &
PIDS+=($!)

"$BIN" serve --port 0 --data-dir "$WORK/data" --rate-limit 0 --auth-rate-limit 0 \
  ${BENCH_ARGS:-} >"$WORK/out" 2>"$WORK/log" &
SH_PID=$!
PIDS+=($SH_PID)
URL=
for _ in $(seq 1 300); do
  URL=$(sed -n 's/^listening on //p' "$WORK/out")
  [ -n "$URL" ] && curl -sf -o /dev/null "http://127.0.0.1:$H2O_PORT/live" && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "ceiling: streamhub did not start" >&2; cat "$WORK/log" >&2; exit 1; }
TOK=$(curl -s -XPOST "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","handle":"bench","password":"benchmark password"}' |
  grep -o '"access_token": *"[^"]*"' | cut -d '"' -f 4)
[ -n "$TOK" ] || { echo "ceiling: could not register" >&2; exit 1; }
curl -sf -o /dev/null -H "Authorization: Bearer $TOK" "$URL/api/v1/auth/me"

# wrk NAME URL [HEADER]: prints req/s
run() {
  local hdr=()
  [ -n "${3:-}" ] && hdr=(-H "$3")
  wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" "${hdr[@]}" "$2" >"$WORK/wrk-$1" 2>&1
  awk '/^Requests\/sec/ {printf "%.0f", $2}' "$WORK/wrk-$1"
}
requests() { awk '/requests in/ {print $1}' "$WORK/wrk-$1"; }
switches() {
  awk '/ctxt_switches/ {n += $2} END {print n}' /proc/$SH_PID/task/*/status 2>/dev/null
}

run warm "$URL/api/v1/auth/me" "Authorization: Bearer $TOK" >/dev/null
# This VM's speed drifts by a third from one minute to the next, so the three targets run in
# turn, ROUNDS times, and each round's ratios come from figures taken seconds apart.
echo "# bench/ceiling.sh $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t$THREADS -c$CONNS -d${DUR}s, $ROUNDS rounds${BENCH_ARGS:+, server $BENCH_ARGS}"
printf '%-6s %10s %10s %8s %10s %8s\n' round h2o live "of h2o" auth/me "of h2o"
RATIOS_LIVE=() RATIOS_ME=()
CS_SUM=0 ME_SUM=0
for round in $(seq 1 "$ROUNDS"); do
  H2O=$(run h2o "http://127.0.0.1:$H2O_PORT/live")
  LIVE=$(run live "$URL/health/live")
  CS0=$(switches)
  ME=$(run me "$URL/api/v1/auth/me" "Authorization: Bearer $TOK")
  CS1=$(switches)
  CS_SUM=$((CS_SUM + CS1 - CS0)) ME_SUM=$((ME_SUM + $(requests me)))
  rl=$(echo "$LIVE / $H2O" | bc -l) rm=$(echo "$ME / $H2O" | bc -l)
  RATIOS_LIVE+=("$rl") RATIOS_ME+=("$rm")
  printf '%-6s %10s %10s %7.2fx %10s %7.2fx\n' "$round" "$H2O" "$LIVE" "$rl" "$ME" "$rm"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
printf '%-6s %10s %10s %7.2fx %10s %7.2fx\n' median "" "" "$(median "${RATIOS_LIVE[@]}")" "" \
  "$(median "${RATIOS_ME[@]}")"
printf 'auth/me: %.2f context switches per request (all server threads, %s requests)\n' \
  "$(echo "$CS_SUM / $ME_SUM" | bc -l)" "$ME_SUM"
curl -s "$URL/metrics" | grep '^streamhub_http_point_reads_total' || true

# Syscalls per request: strace slows the server, so its own short wrk run, counted not timed.
if command -v strace >/dev/null; then
  strace -c -f -p $SH_PID -o "$WORK/strace" 2>/dev/null &
  ST=$!
  sleep 0.5
  run strace "$URL/api/v1/auth/me" "Authorization: Bearer $TOK" >/dev/null
  kill -INT $ST
  wait $ST || true
  CALLS=$(awk '$NF == "total" {print $4}' "$WORK/strace")
  N=$(requests strace)
  printf 'auth/me: %.1f syscalls per request under strace (%s requests); top calls:\n' \
    "$(echo "$CALLS / $N" | bc -l)" "$N"
  sed -n '3,9p' "$WORK/strace" | awk -v n="$N" '{printf "  %-16s %.2f\n", $NF, $4 / n}'
fi
