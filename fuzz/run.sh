#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS (default 30) on a copy
# of its seed corpus, so the repository is never modified. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-30}
targets=(router json search proxy framing)
if ! command -v clang >/dev/null; then
  echo "clang is not installed (scripts/deps.sh installs it)"
  echo "0 passed, ${#targets[@]} failed"
  exit 1
fi
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang meson setup build-fuzz -Dfuzz=true --buildtype=debugoptimized >/tmp/streamhub-fuzz-setup.log 2>&1 ||
    { cat /tmp/streamhub-fuzz-setup.log; echo "0 passed, ${#targets[@]} failed"; exit 1; }
fi
ninja -C build-fuzz fuzz/fuzz_router fuzz/fuzz_json fuzz/fuzz_search fuzz/fuzz_proxy fuzz/fuzz_framing >/tmp/streamhub-fuzz-build.log 2>&1 ||
  { tail -30 /tmp/streamhub-fuzz-build.log; echo "0 passed, ${#targets[@]} failed"; exit 1; }
pass=0 fail=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$t/." "$work/"
  if "build-fuzz/fuzz/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$work.log" 2>&1; then
    echo "PASS fuzz_$t ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work.log" | awk '{print $2}') runs)"
    pass=$((pass + 1))
  else
    echo "FAIL fuzz_$t"
    tail -40 "$work.log"
    fail=$((fail + 1))
  fi
  rm -rf "$work" "$work.log"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
