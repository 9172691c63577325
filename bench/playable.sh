#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Time to playable (issue 12): uploads a source with one tus request (creation-with-upload, so
# the server's own job workers are woken at once), then polls GET /api/v1/media/:id every 0.1 s
# and prints the seconds from the upload's end to `playable` (first rendition and poster) and to
# `ready` (the whole ladder and the storyboard), for a 60 s 1080p30 H.264+AAC landscape source and
# a 10 s 720x1280 portrait one. Both are remuxable (H.264 High, yuv420p), x264's default keyframe
# interval (250 frames: 8.3 s segments). Prints Markdown; asserts nothing.
# BENCH_SOURCES=DIR keeps the generated sources there between runs (making them takes minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${STREAMHUB_BIN:-build/streamhub}
WORK=$(mktemp -d /tmp/streamhub-playable-bench.XXXXXX)
SRC=${BENCH_SOURCES:-$WORK}
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$SRC"
[ -f "$SRC/src1080.mp4" ] || ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 \
  -f lavfi -i sine -t 60 -c:v libx264 -pix_fmt yuv420p -c:a aac "$SRC/src1080.mp4"
[ -f "$SRC/portrait720.mp4" ] || ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=720x1280:rate=30 \
  -f lavfi -i sine -t 10 -c:v libx264 -pix_fmt yuv420p -c:a aac "$SRC/portrait720.mp4"

"$BIN" serve --port 0 --data-dir "$WORK/data" --rate-limit 0 --auth-rate-limit 0 \
  >"$WORK/out" 2>"$WORK/log" &
PID=$!
for _ in $(seq 1 100); do URL=$(sed -n 's/^listening on //p' "$WORK/out"); [ -n "$URL" ] && break; sleep 0.05; done
token=$(curl -s -XPOST "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"pb@example.test","handle":"playbench","password":"benchmark password"}' |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).access_token))')
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);console.log(m.state+" "+m.playable+" "+m.renditions.map(r=>r.name).join(","))})'; }

# measure FILE LABEL: prints a table row
measure() {
  local file=$1 label=$2 size id t0 now playable_s= ready_s= first=
  size=$(stat -c %s "$file")
  id=$(curl -s -D - -o /dev/null -XPOST "$URL/api/v1/uploads" -H "Authorization: Bearer $token" \
    -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $size" \
    -H "Upload-Metadata: filename $(printf %s "$(basename "$file")" | base64 -w0)" \
    -H 'Content-Type: application/offset+octet-stream' --data-binary "@$file" |
    tr -d '\r' | sed -n 's/^[Uu]pload-[Mm]edia-[Ii]d: //p')
  t0=$(date +%s.%N)
  for _ in $(seq 1 6000); do
    read -r state playable names < <(curl -s -H "Authorization: Bearer $token" "$URL/api/v1/media/$id" | field)
    now=$(date +%s.%N)
    if [ -z "$playable_s" ] && [ "$playable" = true ]; then
      playable_s=$(echo "$now - $t0" | bc); first=$names
    fi
    if [ "$state" = ready ] || [ "$state" = failed ]; then ready_s=$(echo "$now - $t0" | bc); break; fi
    sleep 0.1
  done
  printf '| %s | %.1f s (%s) | %.1f s (%s, %s) |\n' "$label" "$playable_s" "$first" "$ready_s" "$state" "$names"
}

echo "### Time to playable — $(date -u +%F) — $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), ffmpeg $(ffmpeg -version | awk 'NR==1 {print $3}')"
echo
echo "| source | upload end -> playable (first rendition) | upload end -> ready (ladder) |"
echo "|---|---|---|"
measure "$SRC/src1080.mp4" "60 s 1920x1080 H.264 High + AAC, $(($(stat -c %s "$SRC/src1080.mp4") / 1000000)) MB"
measure "$SRC/portrait720.mp4" "10 s 720x1280 (portrait) H.264 High + AAC, $(($(stat -c %s "$SRC/portrait720.mp4") / 1000000)) MB"
