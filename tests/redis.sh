#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A throwaway redis-server for the test suites (like tests/pg.sh): its own port and directory
# under /tmp, no persistence, never the machine's own instance.
#   tests/redis.sh start   starts it and records where in tests/.redis-state
#   tests/redis.sh url     prints its URL (redis://127.0.0.1:PORT)
#   tests/redis.sh stop    stops it and removes its files
# REDIS_STATE=FILE keeps a second server's state apart (the unit tests restart their own).
set -euo pipefail
cd "$(dirname "$0")/.."
state=${REDIS_STATE:-tests/.redis-state}
command -v redis-server >/dev/null || { echo "redis.sh: redis-server not found (scripts/deps.sh installs it)" >&2; exit 1; }

case "${1:-}" in
start)
  dir=$(mktemp -d /tmp/streamhub-redis.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  redis-cli -p "$port" ping >/dev/null || { cat "$dir/redis.log" >&2; exit 1; }
  printf 'dir=%s\nport=%s\n' "$dir" "$port" >"$state"
  ;;
url)
  # shellcheck disable=SC1090
  . "$state"
  echo "redis://127.0.0.1:$port"
  ;;
stop)
  [ -f "$state" ] || exit 0
  # shellcheck disable=SC1090
  . "$state"
  if [ -f "$dir/redis.pid" ]; then
    pid=$(cat "$dir/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  fi
  rm -rf "$dir" "$state"
  ;;
*)
  echo "usage: tests/redis.sh start|url|stop" >&2
  exit 2
  ;;
esac
