#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Proves that `make run`'s dependency path is enough to build the server: the default build is
# configured and compiled with only the pkg-config files that the runtime package list
# (scripts/deps.sh --list runtime) and the packages it pulls in provide. A package that the
# build needs but only the test list installs (cmocka once made `make run` fail on a fresh
# machine) makes this check fail, although this machine has every package installed.
#
# The closure of the runtime list is read from apt's records of what is installed; the pkg-config
# search path is then narrowed to a folder holding only the .pc files owned by that closure.
# Headers found without pkg-config (wslay) are checked by their owning package instead.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/streamhub-depcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT

mapfile -t runtime < <(bash scripts/deps.sh --list runtime)
apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances "${runtime[@]}" 2>/dev/null |
  grep -E '^[a-z0-9]' | sed 's/:.*$//' | sort -u >"$work/closure"
echo "check-runtime-deps: ${#runtime[@]} runtime packages, $(wc -l <"$work/closure") with what they pull in"

# Every .pc file on pkg-config's default path, kept only when its owner is in the closure.
mkdir "$work/pc"
IFS=: read -ra pc_dirs <<<"$(pkg-config --variable pc_path pkg-config)"
for dir in "${pc_dirs[@]}"; do
  [ -d "$dir" ] || continue
  dpkg -S "$dir/*.pc" 2>/dev/null || true
done | while IFS= read -r line; do
  owners=${line%%: /*}
  file=${line#*: }
  for owner in ${owners//,/ }; do
    if grep -qx "${owner%%:*}" "$work/closure"; then
      ln -sf "$file" "$work/pc/"
      break
    fi
  done
done
# .pc files that are Debian alternatives (openblas.pc -> /etc/alternatives/... -> the chosen
# BLAS's file) belong to no package themselves: they count when the file they resolve to does.
for dir in "${pc_dirs[@]}"; do
  for link in "$dir"/*.pc; do
    [ -L "$link" ] && [ ! -e "$work/pc/$(basename "$link")" ] || continue
    owner=$(dpkg -S "$(readlink -f "$link")" 2>/dev/null | sed 's/:.*$//' || true)
    if [ -n "$owner" ] && grep -qx "$owner" "$work/closure"; then
      ln -sf "$(readlink -f "$link")" "$work/pc/$(basename "$link")"
    fi
  done
done
echo "check-runtime-deps: $(ls "$work/pc" | wc -l) pkg-config files available"

# wslay has no .pc file in Debian 12: its header must come from the closure too.
owner=$(dpkg -S /usr/include/wslay/wslay.h 2>/dev/null | sed 's/:.*$//' || true)
if ! grep -qx "${owner:-none}" "$work/closure"; then
  echo "check-runtime-deps: wslay.h comes from '${owner:-no package}', not a runtime package" >&2
  exit 1
fi

if ! PKG_CONFIG_LIBDIR="$work/pc" PKG_CONFIG_PATH="" \
    meson setup "$work/build" --buildtype=debugoptimized >"$work/setup.log" 2>&1; then
  cat "$work/setup.log" >&2
  echo "check-runtime-deps: the default build does not configure with the runtime packages" >&2
  exit 1
fi
# meson falls back to CMake's package files, which this narrowed path does not hide: the
# build asks pkg-config only, and the check makes sure nothing came in another way.
if grep -qE "Run-time dependency cmocka found: YES|found: YES.*cmake" \
    "$work/setup.log"; then
  grep -E "found: YES" "$work/setup.log" >&2
  echo "check-runtime-deps: a dependency was found outside the runtime packages" >&2
  exit 1
fi
if ! ninja -C "$work/build" --quiet streamhub; then
  echo "check-runtime-deps: the server does not build with the runtime packages" >&2
  exit 1
fi
"$work/build/streamhub" --version >/dev/null
echo "check-runtime-deps: the server configures and builds with the runtime packages only"
