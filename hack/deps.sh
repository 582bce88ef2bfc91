#!/usr/bin/env bash
# Install every Debian package kbnet needs (hack/deps.txt, or the list files given, e.g.
# hack/deps-bench.txt). Idempotent: does nothing when all are present, so `make test`,
# `make demo` and `make bench` can call it every time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lists=("$@")
[ ${#lists[@]} -gt 0 ] || lists=("$here/deps.txt")
mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "${lists[@]}")
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (or: apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages with daemons (openvswitch for the benchmark) must not start system services on this
# host: the suites start their own instances in test namespaces. policy-rc.d says no to
# invoke-rc.d for the duration of the install (an existing one is kept and restored).
prc=/usr/sbin/policy-rc.d
saved=
if [ -e "$prc" ]; then saved=$(mktemp); cp -p "$prc" "$saved"; fi
restore_prc() { if [ -n "$saved" ]; then mv -f "$saved" "$prc"; else rm -f "$prc"; fi; }
trap restore_prc EXIT
printf '#!/bin/sh\nexit 101\n' >"$prc"
chmod 0755 "$prc"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
