#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# For You benchmarks (issue 14): seeds a graph with build/streamhub-seed (BENCH_USERS 10,000
# users, BENCH_POSTS 100,000 posts, BENCH_REACTIONS 500,000 reactions by default: the issue's
# 100k/1M/10M size takes far longer to seed than a shared machine allows), gives every bench
# viewer a few topics, and runs wrk against For You (signed in, first pages: each starts a
# session and records what it served), For You anonymous, explore, suggested accounts and the
# layered home. Prints a Markdown block for docs/BENCHMARKS.md; nothing here asserts timings.
#   bench/foryou.sh                               SQLite in a fresh temporary data dir
#   BENCH_DATA_DIR=/var/tmp/shfy bench/foryou.sh  seed that dir once, reuse it afterwards
#   BENCH_ONLY=anonymous bench/foryou.sh          only the rows whose label contains that word
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STREAMHUB_BIN:-build/streamhub}
SEED_BIN=${STREAMHUB_SEED_BIN:-build/streamhub-seed}
DUR=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
USERS=${BENCH_USERS:-10000}
POSTS=${BENCH_POSTS:-100000}
REACTIONS=${BENCH_REACTIONS:-500000}
VIEWERS=64
. bench/lib.sh # start_server
WORK=$(mktemp -d /tmp/streamhub-foryou.XXXXXX)
DIR=${BENCH_DATA_DIR:-$WORK/data}
PID=
cleanup() {
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$DIR"
if [ ! -s "$DIR/seed-ids.txt" ]; then
  echo "seeding (takes a while) ..." >&2
  "$SEED_BIN" --database "sqlite:$DIR/streamhub.db" --users "$USERS" --posts "$POSTS" \
    --reactions "$REACTIONS" --viewers "$VIEWERS" --viewer-follows 100 \
    --ids-file "$DIR/seed-ids.txt.part" >"$DIR/seed.log" 2>&1 || { cat "$DIR/seed.log" >&2; exit 1; }
  mv "$DIR/seed-ids.txt.part" "$DIR/seed-ids.txt"
fi

start_server "$BIN" "$DIR"

# the bench viewers' tokens, and a few topics each (the seed's captions carry none, so the
# topic source finds nothing: the other sources and the scoring are what is measured)
for i in $(seq 1 "$VIEWERS"); do
  curl -s -XPOST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"login\":\"$(printf user%06d "$i")\",\"password\":\"benchmark password\"}" |
    grep -o '"access_token": *"[^"]*"' | cut -d '"' -f 4
done >"$WORK/tokens.txt"
while read -r t; do
  curl -s -o /dev/null -XPUT "$URL/api/v1/users/me/interests" -H "Authorization: Bearer $t" \
    -H 'Content-Type: application/json' -d '{"topics":["cats","cooking","travel"]}'
done <"$WORK/tokens.txt"

run() { # label path [anonymous]
  [ -z "${BENCH_ONLY:-}" ] || [[ "$1" == *"$BENCH_ONLY"* ]] || return 0
  local args=()
  [ "${3:-}" = anonymous ] || args=(-s bench/social.lua -- mode=get "path=$2" "tokens=$WORK/tokens.txt")
  wrk -t1 -c"$CONNS" -d"${DUR}s" --timeout 60s --latency "$URL$2" "${args[@]}" >"$WORK/wrk.txt" 2>&1
  local rps p50 p99 errs
  rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
  errs=$(grep -E 'Non-2xx|Socket errors' "$WORK/wrk.txt" | tr '\n' ' ' || true)
  echo "| $1 | $rps req/s, p50 $p50, p99 $p99${errs:+ ($errs)} |"
}

echo "For You, SQLite, $USERS users / $POSTS posts / $REACTIONS reactions, $CONNS connections, ${DUR}s each, $(date -u +%F)"
echo
echo "| scenario | result |"
echo "|---|---|"
run "GET /feed/for-you?limit=15, signed in (a new session per request)" "/api/v1/feed/for-you?limit=15"
run "GET /feed/for-you?limit=15, anonymous" "/api/v1/feed/for-you?limit=15" anonymous
run "GET /explore, signed in" "/api/v1/explore"
run "GET /users/suggested, signed in" "/api/v1/users/suggested"
run "GET /feed/home?mode=layered, signed in" "/api/v1/feed/home?mode=layered"
run "GET /feed/home (chronological, for comparison)" "/api/v1/feed/home"
echo
echo "server RSS after the runs: $(awk '/VmRSS/ {print $2, $3}' "/proc/$PID/status")"
