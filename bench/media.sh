#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Media benchmarks (issue 4): the HLS ladder of a 60-second 1080p source made by the server's
# driver in one ffmpeg process versus three separate ffmpeg runs (wall time, CPU, realtime
# factor), then wrk against one ~1 MB segment over a signed URL with 64 connections, then
# bench/playable.sh (time to playable and to ready, issue 12). Prints
# Markdown for docs/BENCHMARKS.md; asserts nothing. (Uploads: node bench/upload.mjs.)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STREAMHUB_BIN:-build/streamhub}
WORK=$(mktemp -d /tmp/streamhub-media-bench.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -f lavfi \
  -i sine=frequency=440 -t 60 -c:v libx264 -preset veryfast -b:v 8M -c:a aac -shortest \
  "$WORK/src.mp4"
one=$(build/streamhub-transcode-bench "$WORK/src.mp4" "$WORK/one")
three=$(build/streamhub-transcode-bench "$WORK/src.mp4" "$WORK/three" --separate)

# Segment serving: import the source as media, wait until it is ready, fetch a 720p segment.
"$BIN" serve --port 0 --data-dir "$WORK/data" --rate-limit 0 --auth-rate-limit 0 \
  >"$WORK/out" 2>"$WORK/log" &
PID=$!
for _ in $(seq 1 100); do URL=$(sed -n 's/^listening on //p' "$WORK/out"); [ -n "$URL" ] && break; sleep 0.05; done
token=$(curl -s -XPOST "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"mb@example.test","handle":"mediabench","password":"benchmark password"}' |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).access_token))')
id=$("$BIN" admin import-media --owner mediabench --file "$WORK/src.mp4" --data-dir "$WORK/data" |
  sed -n 's/^imported media \([0-9]*\).*/\1/p')
for _ in $(seq 1 600); do
  state=$(curl -s -H "Authorization: Bearer $token" "$URL/api/v1/media/$id" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).state))')
  [ "$state" = ready ] && break
  sleep 0.5
done
master=$(curl -s -H "Authorization: Bearer $token" "$URL/api/v1/media/$id" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).playback.master))')
variant=$(curl -s "$URL$master" | grep '720p/index.m3u8')
segment=$(curl -s "$URL$variant" | grep 'seg003.ts')
bytes=$(curl -s -o /dev/null -w '%{size_download}' "$URL$segment")
wrk -t1 -c64 -d10s --latency "$URL$segment" >"$WORK/wrk.txt"
rps=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.txt")
xfer=$(awk '/^Transfer\/sec/ {print $2}' "$WORK/wrk.txt")
p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")

echo "### Media — $(date -u +%F) — $(nproc) cores, ffmpeg $(ffmpeg -version | awk 'NR==1 {print $3}')"
echo
echo "| scenario | result |"
echo "|---|---|"
echo "| ladder (240p/480p/720p + audio) of a 60 s 1080p30 source, $one |  |" | sed 's/: source/ | source/; s/ |  |$/ |/'
echo "| ladder, $three |  |" | sed 's/: source/ | source/; s/ |  |$/ |/'
echo "| GET one 720p segment ($bytes bytes) over a signed URL, wrk -c64 -d10s | $rps req/s, $xfer, p99 $p99 |"
echo
# Issue 12: seconds from the upload's end to playable and to ready (its own server and sources).
bash bench/playable.sh
