#!/usr/bin/env bash
# The fast-path part of `make demo` (called by hack/demo.sh with the agent running; also runs
# alone against any agent with the fast path on): two pods, network namespaces each running
# dpdk-testpmd on net_virtio_user, attached through kbnet-cni, exchange frames through the
# agent's switch; agentctl shows the ports' counters. Everything it starts is stopped by PID.
set -euo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-build}
BIN=${BIN:-$ROOT/$BUILD/bin}
export KBNET_AGENT_SOCKET=${KBNET_AGENT_SOCKET:-/run/kbnet/agent.sock}
W=$(mktemp -d /tmp/kbfp.XXXXXX)
NSP=kbfpdemo$$
declare -A PID=() FD=()
fp_cleanup() {
	set +e
	for p in "${!PID[@]}"; do
		echo quit >&"${FD[$p]}" 2>/dev/null
		sleep 0.3
		kill "${PID[$p]}" 2>/dev/null
		wait "${PID[$p]}" 2>/dev/null
	done
	for i in 1 2; do ip netns delete "$NSP-pod$i" 2>/dev/null; done
	rm -rf "$W" /var/run/dpdk/"$NSP"-*
}
trap fp_cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
ctl() { "$BIN/agentctl" "$@"; }

state=$(ctl -o json status | jq -r '.fastpath.state // "absent"')
if [ "$state" != running ]; then
	echo "demo: the agent's fast path is $state: no traffic to show"
	exit 0
fi
command -v dpdk-testpmd >/dev/null || { echo "demo: dpdk-testpmd missing (Debian package dpdk)"; exit 0; }

say "fast path: $(ctl -o json status | jq -r .fastpath.memory)"
mkdir -p "$W/cni-bin"
ln -s "$BIN/kbnet-cni" "$W/cni-bin/kbnet"
# The plugin's own roots (/etc/kbnet/cni.json on a node).
jq -n --arg sock "$KBNET_AGENT_SOCKET" --arg dir "$W" '{agentSockets: [$sock],
	cacheDir: ($dir + "/cache"), deviceInfoDir: ($dir + "/devinfo")}' >"$W/cni-plugin.json"
cni() { # COMMAND POD MAC
	jq -n --arg mac "$3" --arg dir "$W" --arg sock "$KBNET_AGENT_SOCKET" '{cniVersion: "1.1.0",
		name: "dpdk-net", type: "kbnet", deviceType: "virtio-user", mac: $mac,
		agentSocket: $sock, cacheDir: ($dir + "/cache")}' >"$W/net-$2.json"
	env -i PATH="$PATH" KBNET_CNI_CONFIG="$W/cni-plugin.json" CNI_COMMAND="$1" \
		CNI_CONTAINERID="$2-fpdemo$$" \
		CNI_NETNS="/run/netns/$NSP-$2" CNI_IFNAME=net1 CNI_PATH="$W/cni-bin:/usr/lib/cni" \
		CNI_ARGS="IgnoreUnknown=true;K8S_POD_NAMESPACE=default;K8S_POD_NAME=fp-$2" \
		"$W/cni-bin/kbnet" <"$W/net-$2.json"
}
# pod POD MAC: CNI ADD, then testpmd on the socket it got, pinned to CPU 0 (the agent's
# worker has the last CPU)
pod() {
	local p=$1 mac=$2 sock
	ip netns add "$NSP-$p"
	echo "$ CNI_COMMAND=ADD kbnet ($p, mac $mac)"
	cni ADD "$p" "$mac" >"$W/$p.result"
	sock=$(jq -r '.interfaces[0].socketPath' "$W/$p.result")
	echo "   vhost-user socket: $sock"
	mkfifo "$W/$p.in"
	ip netns exec "$NSP-$p" stdbuf -o0 dpdk-testpmd --lcores=0@0,1@0 --no-huge -m 128 \
		--no-shconf --file-prefix "$NSP-$p" --no-pci \
		--vdev "net_virtio_user0,path=$sock,server=1,mac=$mac" -- -i --no-mlockall \
		--total-num-mbufs=2048 --forward-mode=rxonly --burst=16 <"$W/$p.in" >"$W/$p.log" 2>&1 &
	PID[$p]=$!
	exec {fd}>"$W/$p.in"
	FD[$p]=$fd
	for _ in $(seq 100); do grep -q 'testpmd> ' "$W/$p.log" && break; sleep 0.1; done
	echo start >&"${FD[$p]}"
}
cmd() { echo "$2" >&"${FD[$1]}"; }
pod_stats() { # POD: its port counters, from testpmd
	local n
	n=$(wc -l <"$W/$1.log")
	cmd "$1" "show port stats 0"
	sleep 0.5
	tail -n +"$n" "$W/$1.log" | awk -v p="$1" '/RX-packets:/ {rx = $2} /TX-packets:/ {tx = $2}
		END {printf "   %s (testpmd): RX-packets %d, TX-packets %d\n", p, rx, tx}'
}

say "two pods attach through kbnet-cni and start dpdk-testpmd on net_virtio_user"
pod pod1 02:6b:62:00:00:01
pod pod2 02:6b:62:00:00:02
for _ in $(seq 50); do
	[ "$(ctl -o json ports | jq '[.[] | select(.network == "dpdk-net" and .connected)] | length')" = 2 ] && break
	sleep 0.2
done
run ctl ports

say "pod1 sends 8 x 16 frames to pod2, pod2 answers with 4 x 16 broadcasts"
cmd pod1 stop; cmd pod1 "set eth-peer 0 02:6b:62:00:00:02"; cmd pod1 "start tx_first 8"
sleep 1
cmd pod2 stop; cmd pod2 "set eth-peer 0 ff:ff:ff:ff:ff:ff"; cmd pod2 "start tx_first 4"
sleep 1
pod_stats pod1
pod_stats pod2
run ctl ports
run ctl stats

say "pod1 sends 2 x 16 frames to a MAC nobody has: no uplink here, so dropped and counted"
cmd pod1 stop; cmd pod1 "set eth-peer 0 02:6b:62:00:00:99"; cmd pod1 "start tx_first 2"
sleep 1
run ctl ports

say "DEL: the ports leave the switch"
for p in pod1 pod2; do
	echo "$ CNI_COMMAND=DEL kbnet ($p)"
	cni DEL "$p" "02:6b:62:00:00:0${p#pod}" >/dev/null && echo "   DEL ok"
done
run ctl ports
