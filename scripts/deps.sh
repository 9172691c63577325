#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what StreamHub needs on a Debian 12 machine, only what is missing, so `make run` and
# `make test` work on a fresh machine and cost nothing on a prepared one.
#   scripts/deps.sh                 everything (build, tests, benchmarks)
#   scripts/deps.sh --runtime-only  what building and running the server needs
#   scripts/deps.sh --list runtime|testing   print one list (scripts/check-runtime-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

# libvips42 is named although libvips-dev pulls it in: the server dlopens libvips.so.42 by name
# on the first image (the binary does not link it), so nothing else would show it is needed.
runtime=(build-essential pkg-config meson ninja-build python3 libmicrohttpd-dev libjansson-dev
  libsodium-dev libjwt-dev libsqlite3-dev libpq-dev libwslay-dev libcurl4-openssl-dev libmagic-dev libssl-dev libvips-dev libvips42 ffmpeg
  libhiredis-dev # hiredis: the Redis bus backend of the scale path (--redis)
  libopenblas-dev liblapacke-dev) # the recommender's linear algebra (src/reco/)
# h2o: bench/ceiling.sh's static-file ceiling; chromium: the hls.js playback test (driven by npm
# playwright-core, which never downloads a browser of its own); redis-server, nginx-light and
# pgbouncer: the many-node topology (tests/cluster).
testing=(libcmocka-dev postgresql postgresql-client clang libclang-rt-14-dev wrk curl
  h2o chromium redis-server nginx-light pgbouncer)

if [ "${1:-}" = "--list" ]; then
  case "${2:-}" in
  runtime) printf '%s\n' "${runtime[@]}" ;;
  testing) printf '%s\n' "${testing[@]}" ;;
  *) echo "usage: scripts/deps.sh --list runtime|testing" >&2; exit 2 ;;
  esac
  exit 0
fi

want=("${runtime[@]}")
[ "${1:-}" = "--runtime-only" ] || want+=("${testing[@]}")
command -v node >/dev/null && command -v npm >/dev/null || want+=(nodejs npm)

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  echo "deps: installing ${missing[*]}"
  log=$(mktemp /tmp/streamhub-deps.XXXXXX.log)
  if ! { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
      --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
fi

# npm packages from the lockfile (the Swagger UI asset and the test clients).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log=$(mktemp /tmp/streamhub-npm.XXXXXX.log)
  npm ci --no-audit --no-fund >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
