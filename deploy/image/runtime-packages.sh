#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Print the Debian packages that ship the shared libraries the given binaries load, one per
# line: the runtime image installs exactly these (Dockerfile). Fails when a library is missing
# or belongs to no package.
#
# DPDK loads its drivers as plugins from its pmds directory, which ldd cannot see: the
# packages of the bus, mempool and net drivers found there are added (the fast path needs the
# ring mempool; uplinks need their NIC's PMD).
set -eu
DPDK_PLUGINS='librte_(bus_pci|bus_vdev|mempool_ring|net_[a-z0-9_]+)[.]so[.][0-9]+$'

libs=$(for b in "$@"; do ldd "$b"; done)
if echo "$libs" | grep -q 'not found'; then
	echo "$libs" | grep 'not found' >&2
	exit 1
fi
{
	echo "$libs" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'
	for f in /usr/lib/*/dpdk/pmds-*/*; do
		[ -e "$f" ] && printf '%s\n' "$f"
	done | grep -E "/$DPDK_PLUGINS" || true
} | sort -u | while read -r lib; do
	real=$(readlink -f "$lib")
	pkg=
	# dpkg knows a file by the path its package installed it at: /lib or /usr/lib.
	for p in "$lib" "$real" "/usr$lib" "${lib#/usr}" "/usr$real" "${real#/usr}"; do
		pkg=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) || pkg=
		[ -n "$pkg" ] && break
	done
	if [ -z "$pkg" ]; then
		echo "runtime-packages: no package ships $lib" >&2
		exit 1
	fi
	echo "$pkg"
done | sort -u
