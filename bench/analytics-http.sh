#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Analytics reads over HTTP (issue 15): builds a SQLite data dir with build/streamhub-analytics-bench
# (BENCH_EVENTS events over the last BENCH_DAYS days, rolled up; the bench's own timings are
# printed too), adds an admin who is also given creator 2's rollup rows (so /analytics/me has a
# creator's 90 days to read), runs the daily snapshot, then wrk against
#   - GET /api/v1/analytics/posts/1        a post's 90-day daily series (as admin)
#   - GET /api/v1/analytics/me             a creator's 90-day daily series
#   - GET /api/v1/leaderboards             views over the month, and the score
# Prints one line per URL (req/s, p50, p99); nothing here asserts timings.
#   bench/analytics-http.sh        BENCH_EVENTS=1000000 BENCH_USERS=100000 BENCH_POSTS=20000
#                                  BENCH_DAYS=90 BENCH_SECONDS=10 BENCH_CONNECTIONS=32
# STREAMHUB_BIN and STREAMHUB_ANALYTICS_BENCH choose the binaries (an older pair: before/after).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STREAMHUB_BIN:-build/streamhub}
AB=${STREAMHUB_ANALYTICS_BENCH:-build/streamhub-analytics-bench}
DUR=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
. bench/lib.sh # start_server
WORK=$(mktemp -d /tmp/streamhub-analytics.XXXXXX)
DIR=$WORK/data
PID=
cleanup() {
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$DIR"
DB=$DIR/streamhub.db
BENCH_NO_READS=1 "$AB" "sqlite:$DB" "${BENCH_EVENTS:-1000000}" "${BENCH_USERS:-100000}" \
  "${BENCH_POSTS:-20000}" "${BENCH_DAYS:-90}" >&2
echo 'benchmark password' | "$BIN" admin create-user --email bench@example.com --handle benchadmin \
  --password-stdin --role admin --data-dir "$DIR" >/dev/null
ME=$(sqlite3 "$DB" "SELECT id FROM users WHERE handle = 'benchadmin'")
sqlite3 "$DB" <<SQL
CREATE TEMP TABLE h AS SELECT * FROM analytics_creator_hours WHERE creator_id = 2;
UPDATE h SET creator_id = $ME;
INSERT INTO analytics_creator_hours SELECT * FROM h;
SQL
# the creator's member sets (analytics_members before migration 34: a bench binary from before
# it builds the old schema, which the server under test then migrates)
U=$(sqlite3 "$DB" "SELECT name FROM sqlite_master WHERE name IN ('analytics_uniques', 'analytics_members')")
sqlite3 "$DB" <<SQL
CREATE TEMP TABLE u AS SELECT * FROM $U WHERE kind = 2 AND key_id = 2;
UPDATE u SET key_id = $ME;
INSERT INTO $U SELECT * FROM u;
SQL

start_server "$BIN" "$DIR"
TOK=$(curl -s -XPOST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d '{"login":"benchadmin","password":"benchmark password"}' |
  grep -o '"access_token": *"[^"]*"' | cut -d '"' -f 4)
curl -s -o /dev/null -XPOST "$URL/api/v1/admin/analytics/snapshots" -H "Authorization: Bearer $TOK"
FROM=$(date -u -d '89 days ago' +%F) TO=$(date -u -d tomorrow +%F)

for P in "/api/v1/analytics/posts/1?from=$FROM&to=$TO" "/api/v1/analytics/me?from=$FROM&to=$TO" \
  "/api/v1/leaderboards?metric=views&period=month" "/api/v1/leaderboards?metric=score"; do
  CODE=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" "$URL$P")
  [ "$CODE" = 200 ] || { echo "$P: HTTP $CODE $(head -c 300 "$WORK/body")" >&2; exit 1; }
  OUT=$(wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -H "Authorization: Bearer $TOK" "$URL$P")
  RPS=$(echo "$OUT" | awk '/Requests\/sec/ {print $2}')
  P50=$(echo "$OUT" | awk '$1 == "50%" {print $2}')
  P99=$(echo "$OUT" | awk '$1 == "99%" {print $2}')
  echo "| GET ${P%%\?from=*} | $RPS req/s | p50 $P50 | p99 $P99 |"
done
