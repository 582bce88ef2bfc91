#!/usr/bin/env bash
# Device plugins, the allocation side, against kubelet-standin (grpc-go) and dpclient
# (python3-grpcio): pod admission (GetPreferredAllocation + Allocate) and what a virtio-user
# container gets (mounts, env, device-info files for Multus); the deviceID Multus injects
# mapping to the allocation; preferred allocation honouring must-include, size and devices
# already held; Allocate errors as gRPC statuses; ListAndWatch updates when a device turns
# unhealthy, disappears and comes back (and none when nothing changed); the PodResources
# reconcile releasing devices whose pod is gone without a CNI DEL, and nothing else.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/tools/kubelet-standin/standin.sh"
kb_require_standin

KB_DP_EXTRA="  checkIntervalMs: 300
  reconcileIntervalMs: 200
  gracePeriodMs: 600"
pools='  - name: vu
    type: virtio-user
    count: 4
    numaNode: 0'
kb_agent_config "$T/agent.yaml" "$pools"
mkdir -p "$KB_KUBELET"
kb_standin_start
kb_agent_start "$T/agent.yaml"
SOCK=$KB_DP_DIR/kbnet-vu.sock
kb_wait_for 10 kb_state_is '.resources["kbnet.io/vu"].connected' true || kb_fail "not registered"

# ---- admission: GetPreferredAllocation, then Allocate ----
kb_standin POST /admit '{"namespace":"default","name":"web-0","resource":"kbnet.io/vu","count":2}' >"$T/admit.json"
kb_assert_jq "$T/admit.json" '.devices | join(",")' "vu-0,vu-1" "kubelet assigned two devices"
kb_assert_jq "$T/admit.json" '.preferred | join(",")' "vu-0,vu-1" "the plugin's preference was used"
kb_assert_jq "$T/admit.json" '.response.envs.KBNET_DEVICE_KBNET_IO_VU' "vu-0,vu-1" "env: device IDs"
kb_assert_jq "$T/admit.json" '.response.envs.VHOST_USER_SOCKET_KBNET_IO_VU' \
	"$KB_RUN/devices/vu-0/vhost-user.sock,$KB_RUN/devices/vu-1/vhost-user.sock" "env: socket paths"
kb_assert_jq "$T/admit.json" '.response.envs.VHOST_USER_MODE_KBNET_IO_VU' "server,server" \
	"env: the pod's vhost-user role"
kb_assert_jq "$T/admit.json" '.response.envs.VHOST_USER_MAC_KBNET_IO_VU | split(",") | length' 2 "env: MACs"
kb_assert_jq "$T/admit.json" '[.response.mounts[] | select(.hostPath == .containerPath) | .hostPath] | join(",")' \
	"$KB_RUN/devices/vu-0,$KB_RUN/devices/vu-1" "mounts: each device's directory, same path inside"
kb_assert_eq "$([ -d "$KB_RUN/devices/vu-0" ] && [ -d "$KB_RUN/devices/vu-1" ] && echo yes)" yes \
	"the mounted directories exist for the runtime"
di=$T/devinfo/kbnet.io-vu-vu-0-device.json
kb_assert_jq "$di" '.type + " " + .version' "vhost-user 1.1.0" "device-info file for Multus"
kb_assert_jq "$di" '."vhost-user".path' "$KB_RUN/devices/vu-0/vhost-user.sock" "device-info path"
kb_assert_eq "$(stat -c %a "$di")" 444 "device-info file read-only, as Multus writes them"
mac0=$(jq -r '.response.envs.VHOST_USER_MAC_KBNET_IO_VU | split(",")[0]' "$T/admit.json")

# ---- the deviceID Multus injects selects exactly that device for the CNI ADD ----
# (Right after Allocate the agent may not know the pod yet: EAGAIN, and the runtime retries.)
attach_c1() {
	kb_api attach '{"containerID":"c1","ifname":"net1","network":"dpdk","deviceType":"virtio-user",
		"deviceID":"vu-0","pod":{"namespace":"default","name":"web-0"}}' >"$T/attach.json"
}
kb_wait_for 10 attach_c1 || true
kb_assert_jq "$T/attach.json" '.result.allocation.deviceID' vu-0 "attach with deviceID gets that device"
kb_assert_jq "$T/attach.json" '.result.allocation.vhostUser.socketPath' \
	"$KB_RUN/devices/vu-0/vhost-user.sock" "the socket Allocate announced"
kb_assert_jq "$T/attach.json" '.result.allocation.mac' "$mac0" "the MAC Allocate announced"
kb_assert_jq "$T/attach.json" '.result.allocation.deviceInfo."vhost-user".path' \
	"$(jq -r '."vhost-user".path' "$di")" "CNI device-info matches the device plugin's"

# ---- GetPreferredAllocation: must-include, size, held devices last ----
pref() { kb_standin POST /preferred "$1" | jq -r '.deviceIDs | sort | join(",")'; }
kb_assert_eq "$(pref '{"resource":"kbnet.io/vu","available":["vu-0","vu-1","vu-2","vu-3"],"mustInclude":["vu-3"],"size":2}')" \
	"vu-1,vu-3" "preferred: must-include kept, size respected, held vu-0 avoided"
kb_assert_eq "$(pref '{"resource":"kbnet.io/vu","available":["vu-0","vu-2"],"size":2}')" "vu-0,vu-2" \
	"preferred: a held device when nothing else is left"
kb_assert_eq "$(pref '{"resource":"kbnet.io/vu","available":["vu-1","vu-2"],"size":0}')" "" "preferred: size 0"
kb_assert_eq "$(kb_dpclient preferred "$SOCK" 1 vu-9,vu-2 | jq -r '.deviceIDs | join(",")')" "vu-2" \
	"preferred: unknown IDs are no candidates (python3-grpcio)"
kb_assert_eq "$(kb_standin POST /preferred '{"resource":"kbnet.io/vu","available":["vu-1"],"size":-1}' | jq -r .code)" \
	3 "preferred: negative size is INVALID_ARGUMENT"

# ---- Allocate errors are gRPC statuses ----
code() { kb_standin POST /allocate "$1" | jq -r '.code // "ok"'; }
kb_assert_eq "$(code '{"resource":"kbnet.io/vu","containers":[["vu-7"]]}')" 3 "Allocate: unknown device"
kb_assert_eq "$(code '{"resource":"kbnet.io/vu","containers":[]}')" 3 "Allocate: no container request"
kb_assert_eq "$(code '{"resource":"kbnet.io/vu","containers":[[]]}')" 3 "Allocate: no device"
kb_assert_eq "$(code '{"resource":"kbnet.io/vu","containers":[["vu-2","vu-2"]]}')" 3 "Allocate: duplicate"
kb_assert_eq "$(code '{"resource":"kbnet.io/vu","containers":[["vu-2"],["vu-3"]]}')" ok \
	"Allocate: two containers in one call"
kb_assert_eq "$(kb_standin POST /prestart '{"resource":"kbnet.io/vu","devices":["vu-2"]}' | jq -r .ok)" \
	true "PreStartContainer answers"

# Those raw Allocate calls reserved vu-2 and vu-3 for a pod kubelet never recorded: no other
# pod may take them by ID until the grace period (600 ms) ends without kubelet assigning them
# (devplugin_reserve.sh checks the refusal).
kb_standin POST /pods '{"namespace":"default","name":"db-0"}' >/dev/null
reserved_are() { [ "$(kb_ctl -o json devices | jq -r '[.[] | select(.reserved) | .id] | join(",")')" == "$1" ]; }
kb_wait_for 10 reserved_are vu-0,vu-1 || kb_fail "reservations not assigned by kubelet did not end"

# ---- ListAndWatch follows health ----
kb_api attach '{"containerID":"c3","ifname":"net1","network":"dpdk","deviceType":"virtio-user",
	"deviceID":"vu-3","pod":{"namespace":"default","name":"db-0"}}' >/dev/null
kb_dpclient watch "$SOCK" >"$T/watch.jsonl" 2>"$T/watch.err" &
watch_pid=$!
kb_defer "kill $watch_pid"
last() { tail -n 1 "$T/watch.jsonl" | jq -r "$1"; }
kb_wait_for 10 test -s "$T/watch.jsonl"
kb_assert_eq "$(last '.devices | map(.id + "=" + .health) | join(",")')" \
	"vu-0=Healthy,vu-1=Healthy,vu-2=Healthy,vu-3=Healthy" "watch: initial list"
n0=$(wc -l <"$T/watch.jsonl")
# A reload that changes nothing rescans every pool: kubelet hears nothing.
kill -HUP "$KB_AGENT_PID"
sleep 0.5
kb_assert_eq "$(wc -l <"$T/watch.jsonl")" "$n0" "no update when nothing changed"
# vu-3 leaves the configuration while db-0 holds it: listed, Unhealthy.
sed -i 's/count: 4/count: 3/' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
vu3() { [ "$(last '.devices[] | select(.id=="vu-3") | .health')" == "$1" ]; }
if kb_wait_for 10 vu3 Unhealthy; then kb_pass "watch: vu-3 turned Unhealthy"; else kb_fail "no Unhealthy update"; fi
kb_assert_eq "$(kb_state '.resources["kbnet.io/vu"].devices[] | select(.id=="vu-3") | .health')" Unhealthy \
	"kubelet (grpc-go) saw it too"
kb_assert_eq "$(kb_ctl -o json devices | jq -r '.[] | select(.id=="vu-3") | .reason')" "device disappeared" \
	"agentctl devices says why"
kb_assert_eq "$(kb_ctl -o json pools | jq -r '.[0] | "\(.capacity) \(.healthy)"')" "4 3" \
	"agentctl pools: capacity 4, 3 healthy"
# Released: it is gone for good.
kb_api detach '{"containerID":"c3","ifname":"net1"}' >/dev/null
gone() { [ "$(last '[.devices[].id] | join(",")')" == "vu-0,vu-1,vu-2" ]; }
if kb_wait_for 10 gone; then kb_pass "watch: vu-3 removed from the list"; else kb_fail "vu-3 still listed"; fi
sed -i 's/count: 3/count: 4/' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
if kb_wait_for 10 vu3 Healthy; then kb_pass "watch: vu-3 back, Healthy"; else kb_fail "vu-3 not back"; fi
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true

# ---- PodResources reconcile ----
# db-0 is live and asked kubelet for nothing: its CNI-only allocation is not ours to judge.
kb_api attach '{"containerID":"c2","ifname":"net1","network":"dpdk","deviceType":"virtio-user",
	"deviceID":"vu-2","pod":{"namespace":"default","name":"db-0"}}' >/dev/null
# ghost-0 is not a pod kubelet knows: a leak from the start.
kb_api attach '{"containerID":"c4","ifname":"net1","network":"dpdk","deviceType":"virtio-user",
	"pod":{"namespace":"default","name":"ghost-0"}}' >/dev/null
# web-0 is deleted and its CNI DEL never comes.
kb_standin DELETE '/pods?namespace=default&name=web-0' >/dev/null
allocs() { kb_ctl -o json allocations | jq -r '[.[].containerID] | sort | join(",")'; }
allocs_are() { [ "$(allocs)" == "$1" ]; }
if kb_wait_for 10 allocs_are c2; then
	kb_pass "reconcile released the leaks (web-0's vu-0, ghost-0's device), kept db-0's"
else
	kb_fail "allocations after reconcile: $(allocs)"
fi
kb_assert_eq "$(kb_ctl -o json status | jq -r '.devicePlugin.podResources.released')" 2 \
	"status counts two releases"
kb_assert_eq "$(kb_ctl -o json devices | jq -r '.[] | select(.id=="vu-0") | .holder')" null "vu-0 free again"
nofile() { [ ! -e "$T/devinfo/kbnet.io-vu-vu-0-device.json" ] && [ ! -e "$T/devinfo/kbnet.io-vu-vu-1-device.json" ]; }
if kb_wait_for 10 nofile; then kb_pass "device-info files of unassigned devices removed"; else
	kb_fail "stale device-info files left: $(ls "$T/devinfo")"; fi
# The release is durable: a restarted agent does not bring the leak back.
kb_agent_stop
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(allocs)" c2 "releases survive an agent restart"
sleep 1.5
kb_assert_eq "$(allocs)" c2 "db-0's allocation still kept after more reconciles"

# kubelet unreachable: no evidence, no release.
kb_wait_for 10 kb_state_is '.resources["kbnet.io/vu"].connected' true || true
kb_standin_stop KILL
kb_api attach '{"containerID":"c5","ifname":"net1","network":"dpdk","deviceType":"virtio-user",
	"pod":{"namespace":"default","name":"gone-1"}}' >/dev/null
sleep 2
kb_assert_eq "$(allocs)" "c2,c5" "no release while PodResources cannot be listed"
kb_assert_eq "$(kb_ctl -o json status | jq -r '.devicePlugin.podResources.lastError != null')" true \
	"status shows the List failure"
kb_standin_start
if kb_wait_for 15 allocs_are c2; then kb_pass "released once kubelet answers again"; else
	kb_fail "allocations: $(allocs)"; fi

# Device-info files go with their plugin (not with an agent restart: see above).
kb_wait_for 10 kb_state_is '.resources["kbnet.io/vu"].connected' true || true
kb_standin POST /admit '{"namespace":"default","name":"web-2","resource":"kbnet.io/vu","count":1}' >"$T/admit2.json"
f=$T/devinfo/kbnet.io-vu-$(jq -r '.devices[0]' "$T/admit2.json")-device.json
kb_assert_eq "$([ -f "$f" ] && echo yes)" yes "device-info file written"
sed -i '/name: vu$/a\    devicePlugin: false' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
if kb_wait_for 10 test ! -e "$f"; then kb_pass "plugin switched off: its device-info files removed"; else
	kb_fail "$f left behind"; fi
kb_done
