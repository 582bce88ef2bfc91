#!/usr/bin/env bash
# Devices kubelet assigned to a pod (device-plugin Allocate) are reserved for it: an attachment
# that names no deviceID (a pod using the network without requesting the resource) never takes
# them, the pod's own CNI ADD (Multus passes the deviceID) does. Reservations follow kubelet's
# PodResources: they come back after an agent restart and end a grace period after kubelet
# stops assigning the device. Against kubelet-standin (grpc-go).
source "$(dirname "$0")/../lib.sh"
kb_require_root
. "$ROOT/test/tools/kubelet-standin/standin.sh"
kb_require_standin

KB_DP_EXTRA="  checkIntervalMs: 300
  reconcileIntervalMs: 200
  gracePeriodMs: 800"
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 3'
mkdir -p "$KB_KUBELET"
kb_standin_start
kb_agent_start "$T/agent.yaml"
kb_wait_for 10 kb_state_is '.resources["kbnet.io/vu"].connected' true || kb_fail "not registered"

attach() { # CID [NAMESPACE/]POD [DEVICE]: prints the device or the error code
	local dev=${3:+,\"deviceID\":\"$3\"} ns=default name=$2
	[[ $2 == */* ]] && ns=${2%%/*} name=${2#*/}
	kb_api attach "{\"containerID\":\"$1\",\"ifname\":\"net1\",\"network\":\"dpdk\",
		\"deviceType\":\"virtio-user\",\"pod\":{\"namespace\":\"$ns\",\"name\":\"$name\"}$dev}" >"$T/a.json"
	jq -r 'if .ok then .result.allocation.deviceID else .error.code end' "$T/a.json"
}
attach_is() { [ "$(attach "$1" "$2" "$3")" == "$4" ]; }
reserved() { kb_ctl -o json devices | jq -r '[.[] | select(.reserved) | .id] | join(",")'; }
reserved_is() { [ "$(reserved)" == "$1" ]; }

kb_standin POST /admit '{"namespace":"default","name":"web-0","resource":"kbnet.io/vu","count":1}' >"$T/admit.json"
X=$(jq -r '.devices[0]' "$T/admit.json")
kb_assert_eq "$(reserved)" "$X" "kubelet's device $X reserved at Allocate"
kb_assert_eq "$(kb_ctl -o json pools | jq -r '.[0].reserved')" 1 "pools count it"

# Two live pods without the resource fill the rest; a third finds no device, never $X.
for p in plain-1 plain-2 plain-3; do
	kb_standin POST /pods "{\"namespace\":\"default\",\"name\":\"$p\"}" >/dev/null
done
a1=$(attach c1 plain-1)
a2=$(attach c2 plain-2)
kb_assert_ne "$a1" "$X" "an attachment without deviceID skips the reserved device"
kb_assert_ne "$a2" "$X" "and so does the next one"
kb_assert_eq "$(attach c3 plain-3)" ENOSPC "pool exhausted rather than taking $X"
kb_assert_eq "$(jq -r '.error.message | contains("reserved by kubelet")' "$T/a.json")" true \
	"the error says why"
# Naming the ID is not enough: a NetworkAttachmentDefinition in any namespace may carry any
# deviceID, and the pod kubelet chose would then fail its ADD and find the taker in its mount.
kb_standin POST /pods '{"namespace":"other","name":"thief"}' >/dev/null
if kb_wait_for 10 attach_is ct other/thief "$X" EBUSY; then
	kb_pass "another pod's ADD naming $X is refused (EBUSY)"
else kb_fail "another pod naming $X: $(cat "$T/a.json")"; fi
kb_assert_eq "$(jq -r '.error.message | contains("reserved by kubelet for another pod")' "$T/a.json")" \
	true "the error says why"
kb_assert_eq "$(attach ct default/web-1 "$X")" EBUSY "a pod of the same namespace with another name too"
kb_api attach "{\"containerID\":\"cn\",\"ifname\":\"net1\",\"network\":\"dpdk\",
	\"deviceType\":\"virtio-user\",\"deviceID\":\"$X\"}" >"$T/a.json" || true
kb_assert_eq "$(jq -r '.error.code' "$T/a.json")" EBUSY "an attachment naming no pod too"
# The pod kubelet chose gets it by ID (what Multus passes).
kb_assert_eq "$(attach cw web-0 "$X")" "$X" "web-0's CNI ADD with deviceID gets $X"
kb_api detach '{"containerID":"cw","ifname":"net1"}' >/dev/null
kb_assert_eq "$(attach c3 plain-3)" ENOSPC "released but still assigned by kubelet: still reserved"

# An agent restart forgets nothing: the next PodResources List reserves it again, for web-0.
kb_agent_stop KILL
kb_agent_start "$T/agent.yaml"
if kb_wait_for 10 reserved_is "$X"; then kb_pass "reserved again after kill -9 (from PodResources)"; else
	kb_fail "reserved after restart: '$(reserved)'"; fi
kb_assert_eq "$(attach ct other/thief "$X")" EBUSY "and still not for another pod"

# The pod is deleted: after the grace period the device is anyone's.
kb_standin DELETE '/pods?namespace=default&name=web-0' >/dev/null
if kb_wait_for 10 reserved_is ""; then kb_pass "reservation ends once kubelet no longer assigns it"; else
	kb_fail "still reserved: '$(reserved)'"; fi
kb_assert_eq "$(attach c3 plain-3)" "$X" "then a plain attachment can take $X"

# Right after Allocate the agent may not know the pod yet: it asks PodResources, refuses
# (EAGAIN, the runtime retries) until it knows, and never hands the device to another pod.
kb_api detach '{"containerID":"c3","ifname":"net1"}' >/dev/null
kb_standin POST /admit '{"namespace":"default","name":"web-1","resource":"kbnet.io/vu","count":1}' >"$T/admit.json"
Y=$(jq -r '.devices[0]' "$T/admit.json")
kb_assert_eq "$(reserved | wc -w)" 1 "web-1's device reserved"
r=$(attach ct other/thief "$Y")
case $r in EBUSY | EAGAIN) kb_pass "another pod naming $Y right after Allocate: $r" ;;
*) kb_fail "another pod naming $Y right after Allocate: $r" ;; esac
if kb_wait_for 10 attach_is cw1 web-1 "$Y" "$Y"; then kb_pass "web-1 gets $Y once the agent knows its pod"; else
	kb_fail "web-1 naming $Y: $(cat "$T/a.json")"; fi
n=$(kb_api status | jq '.result.devicePlugin.podResources.refusedReserved + .result.devicePlugin.podResources.ownerUnknown')
if [ "$n" -ge 2 ]; then kb_pass "refusals counted in status ($n)"; else kb_fail "refusals counted: $n"; fi
kb_api detach '{"containerID":"cw1","ifname":"net1"}' >/dev/null

# kbnet-cni right after Allocate: the agent may not know the pod yet (EAGAIN); the plugin waits
# briefly for it instead of failing the sandbox; another pod still gets code 101.
for c in $(kb_ctl -o json allocations | jq -r '.[].containerID'); do
	kb_api detach "{\"containerID\":\"$c\",\"ifname\":\"net1\"}" >/dev/null
done
kb_cni_setup
ns=$(kb_netns cnipod)
jq -n --arg s "$KB_SOCK" --arg t "$T" '{cniVersion: "1.0.0", name: "dpdk", type: "kbnet",
	deviceType: "virtio-user", agentSocket: $s, cacheDir: ($t + "/cache")}' >"$T/nc.json"
unknown0=$(kb_api status | jq '.result.devicePlugin.podResources.ownerUnknown')
kb_standin POST /admit '{"namespace":"default","name":"web-2","resource":"kbnet.io/vu","count":1}' >"$T/admit.json"
Z=$(jq -r '.devices[0]' "$T/admit.json")
jq --arg z "$Z" '.deviceID = $z' "$T/nc.json" >"$T/nc-z.json"
owner="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-2"
if kb_cni ADD cz "/var/run/netns/$ns" net1 "$T/nc-z.json" "$owner"; then
	kb_pass "the owner's ADD of $Z right after Allocate succeeds in one CNI call"
else
	kb_fail "owner's ADD right after Allocate: $(cat "$T/cni.out")"
fi
echo "# ownerUnknown refusals the plugin waited out: $(($(kb_api status | jq '.result.devicePlugin.podResources.ownerUnknown') - unknown0))"
kb_assert_rc 0 "DEL" kb_cni DEL cz "/var/run/netns/$ns" net1 "$T/nc-z.json" "$owner"
if kb_cni ADD cy "/var/run/netns/$ns" net1 "$T/nc-z.json" "IgnoreUnknown=1;K8S_POD_NAMESPACE=other;K8S_POD_NAME=thief"; then
	kb_fail "another pod's ADD took $Z"
else
	kb_assert_jq "$T/cni.out" .code 101 "another pod's ADD of $Z: code 101 (device busy)"
fi

# A pool taken out of the device plugin drops its reservations.
sed -i '/name: vu$/a\    devicePlugin: false' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
if kb_wait_for 10 reserved_is ""; then kb_pass "devicePlugin: false drops the reservations"; else
	kb_fail "still reserved: '$(reserved)'"; fi
kb_done
