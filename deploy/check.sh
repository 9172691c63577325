#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the deployment files with what runs on this machine, offline (tests/run-all.sh's deploy
# suite). No Docker engine or Kubernetes cluster runs here; what is checked instead:
#   - Kubernetes objects against the API schemas, the Compose file against the Compose
#     Specification, and every option they set against `streamhub --help` (check-manifests.mjs)
#   - the systemd units with `systemd-analyze verify` (any warning fails)
#   - the Compose nginx.conf with `nginx -t` (the service names pointed at 127.0.0.1)
#   - the Dockerfile: its runtime stage installs the packages that own every shared library the
#     binary loads (ldd, dpkg -S) plus libvips42 (dlopened) and ffmpeg, each package exists in
#     Debian 12, and its build stage installs every -dev package of scripts/deps.sh
# deploy/README.md says what these checks cannot prove.
#   deploy/check.sh [path/to/streamhub]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/streamhub}
work=$(mktemp -d /tmp/streamhub-deploy-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
problem() { echo "deploy: $*"; fail=1; }

node deploy/check-manifests.mjs "$BIN" || fail=1

# systemd: the units as installed, with ExecStart pointing at this build
for unit in deploy/systemd/*.service; do
  name=$(basename "$unit")
  [[ $name == *@.service ]] && name=${name/@.service/@1.service}
  sed -e "s|/usr/local/bin/streamhub|$PWD/$BIN|" \
      -e "s|EnvironmentFile=/etc/streamhub/streamhub.env|EnvironmentFile=$PWD/deploy/systemd/streamhub.env|" \
      "$unit" >"$work/$name"
  if ! out=$(systemd-analyze verify "$work/$name" 2>&1) || [ -n "$out" ]; then
    problem "$unit: systemd-analyze verify: $out"
  fi
done
echo "deploy: systemd units verified"

# nginx: the load balancer's config inside a minimal nginx.conf
mkdir -p "$work/nginx/logs"
sed -E 's/server api[0-9]+:8080/server 127.0.0.1:8080/' deploy/compose/nginx.conf >"$work/nginx/lb.conf"
cat >"$work/nginx/nginx.conf" <<CONF
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events {}
http { access_log off; include $work/nginx/lb.conf; }
CONF
if ! out=$(nginx -t -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>&1); then
  problem "deploy/compose/nginx.conf: $out"
fi
echo "deploy: nginx config tested"

# Dockerfile: the apt-get install list of each stage
stage_packages() { # stage number (1 = build, 2 = runtime)
  awk -v want="$1" '/^FROM /{stage++} stage==want' deploy/docker/Dockerfile |
    sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' |
    grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|update)$' | sort -u
}
stage_packages 1 >"$work/build-pkgs"
stage_packages 2 >"$work/run-pkgs"
for p in $(cat "$work/build-pkgs" "$work/run-pkgs"); do
  apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || problem "Dockerfile: no Debian package $p"
done
for p in $(bash scripts/deps.sh --list runtime | grep -- '-dev$'); do
  grep -qx "$p" "$work/build-pkgs" || problem "Dockerfile: the build stage lacks $p (scripts/deps.sh)"
done
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $(cat "$work/run-pkgs") 2>/dev/null |
  grep -E '^[a-z0-9]' | sed 's/:.*$//' | sort -u >"$work/run-closure"
# one dpkg -S for every library (each call reads every package's file list); a library is
# asked for under its path, its resolved path and their /lib <-> /usr/lib twins (merged /usr:
# dpkg knows each file under one of them)
ldd "$BIN" | awk '$3 ~ /^\// {print $3}' | sort -u >"$work/libs"
while read -r lib; do
  for p in "$lib" "$(readlink -f "$lib")"; do echo "$p"; echo "${p#/usr}"; echo "/usr${p#/usr}"; done
done <"$work/libs" | sort -u >"$work/paths"
dpkg -S $(cat "$work/paths") 2>/dev/null | sed 's/:[^ ]*: /\t/' >"$work/owners" || true
while read -r lib; do
  real=$(readlink -f "$lib")
  owner=$(awk -F'\t' -v a="$lib" -v b="$real" '{p = $2; sub(/^\/usr/, "", p)
    x = a; sub(/^\/usr/, "", x); y = b; sub(/^\/usr/, "", y)
    if (p == x || p == y) {print $1; exit}}' "$work/owners")
  [ -n "$owner" ] || { problem "Dockerfile: no package owns $lib"; continue; }
  grep -qx "$owner" "$work/run-closure" || problem "Dockerfile: the runtime stage lacks $owner ($lib)"
done <"$work/libs"
for p in libvips42 ffmpeg; do
  grep -qx "$p" "$work/run-pkgs" || problem "Dockerfile: the runtime stage lacks $p"
done
echo "deploy: Dockerfile packages checked ($(wc -l <"$work/run-pkgs") runtime packages)"

exit $fail
