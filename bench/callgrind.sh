#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Instructions per request inside one function, with callgrind: repeatable where req/s is not
# (this VM's throughput drifts by a third between minutes; instruction counts do not move).
#   bench/callgrind.sh BIN DATA_DIR PATH FN [N=300]
# DATA_DIR is a seeded benchmark directory (bench/social.sh's BENCH_DATA_DIR); the requests are
# sent signed in as user000001, @ID@ in PATH becomes the first seeded post id, and FN is the
# function to count inside (a handler, or api_dispatch for every declared route: then the
# sign-in, login_handler, is subtracted). VIPSHOME points libvips away from its modules: one of
# them (libjxl's libhwy) runs RDTSCP, which valgrind 3.19 cannot execute. KEEP=file keeps the
# callgrind output for callgrind_annotate. RESET=PATH is POSTed (signed in) after every request,
# e.g. /api/v1/feed/refresh so that each For You request is a first page from scratch rather
# than one from a served set that grows until the sources run dry (count a FN that does not
# cover it, such as for_you_handler). WALK=1 follows each answer's next_cursor (a session's
# pages one after the other; at the end, RESET if given and a new session). SERVE_ARGS adds server options, e.g.
# "--trending-refresh-ms 60000": under valgrind a request takes ~100x longer, so a list
# refreshed every second would be re-read every few requests and counted against them.
set -euo pipefail
BIN=$1 DIR=$2 P=$3 FN=$4 N=${5:-300}
W=$(mktemp -d)
VIPSHOME=/nonexistent valgrind --tool=callgrind --callgrind-out-file=$W/cg.out --toggle-collect="$FN" \
  "$BIN" serve --port 0 --data-dir "$DIR" --rate-limit 0 --auth-rate-limit 0 ${SERVE_ARGS:-} >$W/out 2>$W/log &
VP=$!
for _ in $(seq 1 600); do URL=$(sed -n 's/^listening on //p' $W/out); [ -n "$URL" ] && break; sleep 0.2; done
# a server started on a used benchmark directory first catches up its analytics roll-up, holding
# the writer lock for seconds under valgrind: the sign-in is retried until it goes through
for _ in $(seq 1 60); do
  TOK=$(curl -s -XPOST "$URL/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"login":"user000001","password":"benchmark password"}' | grep -o '"access_token": *"[^"]*"' | cut -d '"' -f 4 || true)
  [ -n "$TOK" ] && break
  sleep 1
done
P=${P//@ID@/$(head -n 1 "$DIR/seed-ids.txt")}
for _ in 1 2 3; do curl -s -o /dev/null -H "Authorization: Bearer $TOK" "$URL$P"; done
CUR=
for _ in $(seq 1 "$N"); do
  SEP=; case $P in *\?*) SEP='&' ;; *) SEP='?' ;; esac
  BODY=$(curl -s -H "Authorization: Bearer $TOK" "$URL$P${CUR:+${SEP}cursor=$CUR}")
  if [ -n "${WALK:-}" ]; then
    CUR=$(echo "$BODY" | grep -o '"next_cursor": *"[^"]*"' | cut -d '"' -f 4 || true)
    [ -n "$CUR" ] && continue
  fi
  if [ -n "${RESET:-}" ]; then curl -s -o /dev/null -XPOST -H "Authorization: Bearer $TOK" "$URL$RESET"; fi
done
kill -TERM $VP; wait $VP || true
ANN=$(callgrind_annotate --inclusive=yes $W/cg.out 2>/dev/null)
TOTAL=$(echo "$ANN" | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
LOGIN=$(echo "$ANN" | awk '/auth.c:login_handler \[/ && !n++ {gsub(",","",$1); print $1}')
LOGIN=${LOGIN:-0}
echo "$FN $P: $(( (TOTAL - LOGIN) / (N + 3) )) instructions per request (total $TOTAL, sign-in $LOGIN, $((N+3)) requests)"
if [ -n "${KEEP:-}" ]; then cp $W/cg.out "$KEEP"; fi
rm -rf $W
