#!/usr/bin/env bash
# The chart's NetworkAttachmentDefinition config, run the way Multus runs it: through libcni
# (test/tools/libcni-client -conf: AddNetwork/DelNetwork, what Multus calls for a delegate
# that is not a list) with the capability arguments Multus derives from a pod's
# k8s.v1.cni.cncf.io/networks selection (mac, ips), from the device plugin (deviceID) and its
# own device-info path (CNIDeviceInfoFile). libcni turns a capability argument into
# runtimeConfig only when the config declares the capability: kbnet-cni must receive all four
# with the rendered config, and none once `capabilities` is removed (the day-one bug).
source "$(dirname "$0")/../lib.sh"
kb_require_root
CLIENT=$TOOLS/libcni-client
RENDER=$TOOLS/helm-render
[ -x "$CLIENT" ] || kb_skip "libcni-client not built: make tests"
[ -x "$RENDER" ] || kb_skip "helm-render not built: make tests"
[ -x /usr/lib/cni/host-local ] || kb_skip "no /usr/lib/cni/host-local (containernetworking-plugins)"

"$RENDER" template "$ROOT/charts/kbnet" --name kbnet --namespace kbnet -o json >"$T/chart.json"
jq -r '.[] | select(.kind == "NetworkAttachmentDefinition" and .metadata.name == "kbnet-virtio-user")
	| .spec.config' "$T/chart.json" >"$T/nad.json"
kb_assert_jq "$T/nad.json" '.capabilities | to_entries | map(select(.value) | .key) | sort | join(",")' \
	"CNIDeviceInfoFile,deviceID,ips,mac" "rendered NAD declares mac, ips, deviceID, CNIDeviceInfoFile"
# Only what points the config at this test's agent and directories changes.
conf() { # OUT [jq filter]
	jq --arg sock "$KB_SOCK" --arg t "$T" '.agentSocket = $sock | .cacheDir = ($t + "/cache")
		| .ipam.dataDir = ($t + "/ipam") | '"${2:-.}" "$T/nad.json" >"$1"
}
conf "$T/with.json"
conf "$T/without.json" 'del(.capabilities)'

kb_agent_config "$T/agent.yaml" '  - name: virtio_user
    type: virtio-user
    count: 4'
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
CACHE=$T/libcni-cache
mkdir -p "$T/devinfo"
dev=$(kb_ctl -o json devices | jq -r '[.[] | select(.pool == "virtio_user") | .id] | sort | .[2]')
kb_assert_ne "$dev" "" "a virtio_user device to ask for"

lc() { # CONF CMD CID [capargs]
	"$CLIENT" -conf "$1" -path "$KB_CNI_PATH" -cachedir "$CACHE" -netns "/run/netns/$ns" \
		-cid "$3" -ifname net1 \
		-args "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$3;K8S_POD_UID=uid-$3" \
		${4:+-capargs "$4"} "$2" >"$T/lc.out" 2>"$T/lc.err"
}
capargs() { # CID
	jq -nc --arg dev "$dev" --arg f "$T/devinfo/$1.json" '{mac: "02:00:00:00:5a:01",
		ips: ["10.56.0.77/24"], deviceID: $dev, CNIDeviceInfoFile: $f,
		portMappings: [{hostPort: 8080, containerPort: 80, protocol: "tcp"}]}'
}

# ---- the rendered config: every capability reaches kbnet-cni ----
if lc "$T/with.json" add c1 "$(capargs c1)"; then
	kb_pass "ADD of the chart's NAD config through libcni"
else
	kb_fail "ADD: $(cat "$T/lc.out" "$T/lc.err")"
fi
kb_assert_jq "$T/lc.out" '.interfaces[] | select(.name == "net1") | .mac' 02:00:00:00:5a:01 \
	"mac from the networks annotation applied"
kb_assert_jq "$T/lc.out" '.ips[0].address' 10.56.0.77/24 "ips from the networks annotation reached IPAM"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[] | select(.containerID == "c1") | .deviceID')" \
	"$dev" "deviceID from the device plugin used"
kb_assert_jq "$T/devinfo/c1.json" .type vhost-user "device-info file written where Multus asked"
lc "$T/with.json" del c1 "$(capargs c1)" || kb_fail "DEL: $(cat "$T/lc.out" "$T/lc.err")"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "DEL released the device"

# ---- the same config without `capabilities` (the NADs before): libcni drops them all ----
if lc "$T/without.json" add c2 "$(capargs c2)"; then
	kb_pass "ADD without capabilities"
else
	kb_fail "ADD without capabilities: $(cat "$T/lc.out" "$T/lc.err")"
fi
kb_assert_ne "$(jq -r '.interfaces[] | select(.name == "net1") | .mac' "$T/lc.out")" 02:00:00:00:5a:01 \
	"without the capability the requested mac is lost"
kb_assert_ne "$(jq -r '.ips[0].address' "$T/lc.out")" 10.56.0.77/24 "without it the requested IP is lost"
kb_assert_ne "$(kb_ctl -o json allocations | jq -r '.[] | select(.containerID == "c2") | .deviceID')" \
	"$dev" "without it the device plugin's deviceID is lost"
[ -e "$T/devinfo/c2.json" ] && kb_fail "device-info file written without the capability" ||
	kb_pass "without it no device-info file for Multus"
lc "$T/without.json" del c2 "$(capargs c2)" || kb_fail "DEL: $(cat "$T/lc.out" "$T/lc.err")"

# ---- a network's own capabilities override the chart's per key ----
"$RENDER" template "$ROOT/charts/kbnet" --name kbnet --namespace kbnet -o json \
	-f <(printf 'networks:\n- {name: n, pool: virtio_user, deviceType: virtio-user, capabilities: {ips: false}, namespace: team-a}\n') \
	>"$T/custom.json"
kb_assert_eq "$(jq -r '.[] | select(.kind == "NetworkAttachmentDefinition") | .spec.config | fromjson
	| .capabilities | to_entries | map(select(.value) | .key) | sort | join(",")' "$T/custom.json")" \
	"CNIDeviceInfoFile,deviceID,mac" "per-network capabilities override the chart's"
kb_assert_eq "$(jq -r '.[] | select(.kind == "NetworkAttachmentDefinition") | .metadata.namespace' "$T/custom.json")" \
	team-a "per-network namespace"
kb_done
