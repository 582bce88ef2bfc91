#!/usr/bin/env bash
# `make demo`: the agent on its embedded default configuration, a pod attached through the real
# kbnet-cni (as a runtime/Multus would call it), what agentctl shows, and a clean teardown.
# Run as root. Pods are network namespaces; everything is removed at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
BIN=$ROOT/$BUILD/bin
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (network namespaces, /run/kbnet)"; exit 1; }

D=$(mktemp -d /tmp/kbdemo.XXXXXX)
NS=kbdemo$$
AGENT_PID=
cleanup() {
	set +e
	[ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	ip netns delete "$NS-pod1" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

if [ -e /etc/kbnet/agent.yaml ]; then
	echo "demo: /etc/kbnet/agent.yaml exists; the demo wants the embedded default: move it away first"
	exit 1
fi
SOCK=/run/kbnet/agent.sock
export KBNET_AGENT_SOCKET=$SOCK

say "kbnet-agent on its embedded default configuration"
"$BIN/kbnet-agent" --print-default-config | sed 's/^/  /'
"$BIN/kbnet-agent" >"$D/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 100); do
	"$BIN/agentctl" status >/dev/null 2>&1 && break
	kill -0 "$AGENT_PID" 2>/dev/null || { cat "$D/agent.log"; exit 1; }
	sleep 0.1
done
run "$BIN/agentctl" status
run "$BIN/agentctl" pools

mkdir -p "$D/cni-bin"
ln -s "$BIN/kbnet-cni" "$D/cni-bin/kbnet"
cat >"$D/net.json" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "dpdk-net",
  "type": "kbnet",
  "deviceType": "virtio-user",
  "cacheDir": "$D/cache",
  "resourceName": "kbnet.io/virtio_user",
  "ipam": {"type": "host-local", "dataDir": "$D/ipam",
           "ranges": [[{"subnet": "10.56.0.0/24"}]]},
  "runtimeConfig": {"CNIDeviceInfoFile": "$D/devinfo/dpdk-net-pod1-net1.json"}
}
JSON
# The plugin's own roots (what /etc/kbnet/cni.json holds on a node): the netconf may only
# point into them.
cat >"$D/cni-plugin.json" <<JSON
{"agentSockets": ["$SOCK"], "cacheDir": "$D/cache", "deviceInfoDir": "$D/devinfo"}
JSON
export KBNET_CNI_CONFIG=$D/cni-plugin.json
POD_UID=6f1c2d3e-0000-4000-8000-00000000d3e0
CID=demo$(printf '%08x' $$)0000000000000000000000000000000000000000000000000000
cni() { # command
	env -i PATH="$PATH" KBNET_CNI_CONFIG="$KBNET_CNI_CONFIG" CNI_COMMAND="$1" CNI_CONTAINERID="$CID" CNI_NETNS="/run/netns/$NS-pod1" \
		CNI_IFNAME=net1 CNI_PATH="$D/cni-bin:/usr/lib/cni" \
		CNI_ARGS="IgnoreUnknown=true;K8S_POD_NAMESPACE=default;K8S_POD_NAME=dpdk-pod1;K8S_POD_UID=$POD_UID;K8S_POD_INFRA_CONTAINER_ID=$CID" \
		"$D/cni-bin/kbnet" <"$D/net.json"
}
say "CNI GC: release whatever an interrupted earlier demo left in this network"
# cni.dev/valid-attachments lists what the runtime still has: here, nothing of dpdk-net.
jq '.cniVersion = "1.1.0" | . + {"cni.dev/valid-attachments": []}' "$D/net.json" >"$D/gc.json"
echo "$ CNI_COMMAND=GC kbnet < gc.json   (allocations before: $("$BIN/agentctl" -o json allocations | jq length))"
env -i PATH="$PATH" KBNET_CNI_CONFIG="$KBNET_CNI_CONFIG" CNI_COMMAND=GC CNI_PATH="$D/cni-bin:/usr/lib/cni" "$D/cni-bin/kbnet" <"$D/gc.json"
echo "GC ok (allocations now: $("$BIN/agentctl" -o json allocations | jq length))"

say "a pod (network namespace $NS-pod1) asks for a virtio-user port through kbnet-cni"
ip netns add "$NS-pod1"
echo "$ CNI_COMMAND=ADD kbnet < net.json"
cni ADD | jq .
echo "device-info file written for Multus ($D/devinfo/dpdk-net-pod1-net1.json):"
jq . "$D/devinfo/dpdk-net-pod1-net1.json"

say "who holds what"
run "$BIN/agentctl" allocations
run "$BIN/agentctl" show default/dpdk-pod1
# Captured first: `| head` would cut agentctl off mid-write (SIGPIPE under pipefail).
echo "$ $BIN/agentctl devices --pool virtio_user   (first 4 of 64)"
"$BIN/agentctl" devices --pool virtio_user >"$D/devices.txt"
head -n 5 "$D/devices.txt"

say "CHECK, then DEL (twice: runtimes repeat it)"
echo "$ CNI_COMMAND=CHECK kbnet"
jq --argjson prev "$(cni ADD)" '. + {prevResult: $prev}' "$D/net.json" >"$D/check.json"
env -i PATH="$PATH" CNI_COMMAND=CHECK CNI_CONTAINERID="$CID" CNI_NETNS="/run/netns/$NS-pod1" \
	CNI_IFNAME=net1 CNI_PATH="$D/cni-bin:/usr/lib/cni" "$D/cni-bin/kbnet" <"$D/check.json" &&
	echo "CHECK ok"
echo "$ CNI_COMMAND=DEL kbnet"; cni DEL && echo "DEL ok"
echo "$ CNI_COMMAND=DEL kbnet"; cni DEL && echo "DEL ok (nothing left to release)"
run "$BIN/agentctl" pools

# The fast path (node-agent/agent/fastpath): two DPDK pods exchange frames through the agent.
ROOT=$ROOT BUILD=$BUILD BIN=$BIN "$ROOT/hack/demo_fastpath.sh"

say "stopping the agent"
kill "$AGENT_PID"
wait "$AGENT_PID" || true
AGENT_PID=
tail -n 4 "$D/agent.log"
echo
echo "demo complete"
