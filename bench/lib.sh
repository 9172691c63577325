# SPDX-License-Identifier: MIT
# Shell helpers the benchmark scripts source.

# start_server BIN DATA_DIR [ARGS...]: starts `BIN serve` on a free port with the limiters off,
# its output in $WORK/server.out and .log; sets URL and PID once it listens, or prints the log
# and exits 1.
start_server() {
  local bin=$1 dir=$2
  shift 2
  "$bin" serve --port 0 --data-dir "$dir" --rate-limit 0 --auth-rate-limit 0 "$@" \
    >"$WORK/server.out" 2>"$WORK/server.log" &
  PID=$!
  URL=
  for _ in $(seq 1 200); do
    URL=$(sed -n 's/^listening on //p' "$WORK/server.out")
    [ -n "$URL" ] && return 0
    sleep 0.05
  done
  cat "$WORK/server.log" >&2
  exit 1
}
