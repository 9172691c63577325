#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CPU time per thread name of a running process over an interval (utime+stime from
# /proc/PID/task/*/stat), e.g. the server's request workers against its interest writer and
# checkpointer during a bench/social.sh row (docs/BENCHMARKS.md). Nothing here asserts timings.
#   bench/thread-cpu.sh PID SECONDS
set -euo pipefail
pid=${1:?pid} secs=${2:?seconds}
snap() { # thread name, clock ticks; threads of one name summed
  local t
  for t in /proc/"$pid"/task/*; do
    [ -r "$t/stat" ] || continue
    printf '%s %s\n' "$(tr ' ' '_' <"$t/comm")" "$(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')"
  done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
before=$(snap)
sleep "$secs"
after=$(snap)
hz=$(getconf CLK_TCK)
join <(echo "$before") <(echo "$after") | awk -v s="$secs" -v hz="$hz" '
  {d = ($3 - $2) / hz; total += d; printf "%-20s %6.2f s (%4.0f%% of a core)\n", $1, d, d * 100 / s}
  END {printf "%-20s %6.2f s\n", "total", total}'
