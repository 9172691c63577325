#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Idle memory of `streamhub serve` (issue 12): starts the server with default options on an
# empty data dir (SQLite), waits for "listening on" and a few quiet seconds, then prints its
# VmRSS, the resident memory by kind (smaps_rollup), the mappings that hold the most resident
# memory (libraries, heap, thread arenas and stacks) and its threads. Load on the machine does
# not change these figures. Asserts nothing.
#   bench/idle-rss.sh                 build/streamhub
#   STREAMHUB_BIN=... bench/idle-rss.sh [extra serve options]
#   IDLE_RSS_IMAGE=1 bench/idle-rss.sh   then one photo upload, and the figures once it is ready
#                                        (what loading libvips on the first image costs)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STREAMHUB_BIN:-build/streamhub}
TOP=${IDLE_RSS_TOP:-20}
SETTLE=${IDLE_RSS_SETTLE:-3}
WORK=$(mktemp -d /tmp/streamhub-idle-rss.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$BIN" serve --port 0 --data-dir "$WORK/data" "$@" >"$WORK/out" 2>"$WORK/log" &
PID=$!
for _ in $(seq 1 200); do grep -q '^listening on' "$WORK/out" && break; sleep 0.05; done
grep -q '^listening on' "$WORK/out" || { cat "$WORK/log" >&2; echo "idle-rss: no 'listening on'" >&2; exit 1; }
sleep "$SETTLE"

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $BIN serve $*"
grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|Threads):' "/proc/$PID/status"
grep -E '^(Rss|Pss|Shared_Clean|Private_Clean|Private_Dirty|Anonymous):' "/proc/$PID/smaps_rollup" |
  sed 's/^/rollup /'
echo "# top $TOP mappings by resident kB (anonymous ones: [anon] = thread arenas and stacks)"
awk '/^[0-9a-f]+-[0-9a-f]+ /{name = ($6 == "" ? "[anon]" : $6)} /^Rss:/{rss[name] += $2}
     END {for (n in rss) printf "%8d kB  %s\n", rss[n], n}' "/proc/$PID/smaps" |
  sort -rn | head -n "$TOP"
echo "# libraries mapped: $(awk '$6 ~ /\.so/ {print $6}' "/proc/$PID/maps" | sort -u | wc -l)"
echo "# threads by name"
for t in /proc/"$PID"/task/*; do cat "$t/comm"; done | sort | uniq -c | sort -rn

[ "${IDLE_RSS_IMAGE:-0}" = 1 ] || exit 0
URL=$(sed -n 's/^listening on //p' "$WORK/out")
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)'"$1"'))'; }
token=$(curl -s -XPOST "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"rss@example.test","handle":"idlerss","password":"benchmark password"}' |
  json .access_token)
ffmpeg -loglevel error -f lavfi -i testsrc=size=1920x1080 -frames:v 1 "$WORK/photo.jpg"
id=$(curl -s -XPOST "$URL/api/v1/media?filename=photo.jpg" -H "Authorization: Bearer $token" \
  -H 'Content-Type: image/jpeg' --data-binary @"$WORK/photo.jpg" | json .id)
state=
for _ in $(seq 1 600); do
  state=$(curl -s "$URL/api/v1/media/$id" -H "Authorization: Bearer $token" | json .state)
  [ "$state" = ready ] || [ "$state" = failed ] && break
  sleep 0.1
done
sleep "$SETTLE"
echo "# after one 1920x1080 photo (media $id: $state)"
grep -E '^(VmRSS|RssAnon|RssFile|Threads):' "/proc/$PID/status"
echo "# libraries mapped: $(awk '$6 ~ /\.so/ {print $6}' "/proc/$PID/maps" | sort -u | wc -l)"
