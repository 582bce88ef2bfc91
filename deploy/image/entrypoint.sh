#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Entrypoint of the kbnet image: install kbnet-cni into the host's CNI bin dir as `kbnet`,
# then run the agent (arguments are passed to kbnet-agent).
#
# The copy is atomic: the runtime may exec /opt/cni/bin/kbnet at any moment (Multus calls it
# for every pod), so it must never see a half-written file. The binary is copied under a
# temporary name in the same directory, synced, then renamed over the old one; a running
# plugin keeps its old inode. An identical binary is left alone.
#
#   KBNET_CNI_BIN_DIR  host CNI bin dir as mounted in the container (default /host/opt/cni/bin;
#                      empty: do not install)
#   KBNET_CNI_SRC      the plugin to install (default /usr/bin/kbnet-cni)
#   KBNET_AGENT        the agent to run (default /usr/bin/kbnet-agent)
set -eu

bin_dir=${KBNET_CNI_BIN_DIR-/host/opt/cni/bin}
src=${KBNET_CNI_SRC:-/usr/bin/kbnet-cni}
agent=${KBNET_AGENT:-/usr/bin/kbnet-agent}

log() { echo "kbnet-entrypoint: $*" >&2; }

install_cni() {
	dst=$bin_dir/kbnet
	if [ ! -d "$bin_dir" ]; then
		log "CNI bin dir $bin_dir is not a directory (is it mounted?)"
		return 1
	fi
	if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
		log "$dst is up to date"
		return 0
	fi
	tmp=$bin_dir/.kbnet.$$.tmp
	trap 'rm -f "$tmp"' EXIT
	cp "$src" "$tmp"
	chmod 0755 "$tmp"
	sync "$tmp" 2>/dev/null || sync
	mv -f "$tmp" "$dst" # rename(2): same directory, same file system
	trap - EXIT
	log "installed $dst"
}

if [ -n "$bin_dir" ]; then
	install_cni
fi
exec "$agent" "$@"
