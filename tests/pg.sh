#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A throwaway PostgreSQL server for the test suites: its own data directory, port and socket
# directory under /tmp, trust authentication, fsync off; never the machine's own cluster.
#   tests/pg.sh start   starts it and records where in tests/.pg-state
#   tests/pg.sh url     prints the admin URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   tests/pg.sh stop    stops it and removes its files
set -euo pipefail
cd "$(dirname "$0")/.."
state=tests/.pg-state
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg.sh: PostgreSQL server binaries not found" >&2; exit 1; }

as_pg() {
  # from / so the postgres user is not left in a directory it cannot read
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

case "${1:-}" in
start)
  dir=$(mktemp -d /tmp/streamhub-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=1000" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  printf 'dir=%s\nport=%s\n' "$dir" "$port" >"$state"
  ;;
url)
  # shellcheck disable=SC1090
  . "$state"
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  [ -f "$state" ] || exit 0
  # shellcheck disable=SC1090
  . "$state"
  as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir" "$state"
  ;;
*)
  echo "usage: tests/pg.sh start|url|stop" >&2
  exit 2
  ;;
esac
