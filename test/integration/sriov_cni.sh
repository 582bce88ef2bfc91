#!/usr/bin/env bash
# Integration: kbnet-cni end to end for the types without a kernel interface in the pod
# (sriov-vf on vfio-pci, vdpa on vhost_vdpa) and for DEL of a VF netdev whose netns is gone
# (cni_netdev.sh covers kernel VFs and virtio-vdpa ADD/CHECK/DEL). Device IDs come the way
# Multus passes them (deviceID, runtimeConfig.deviceID).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root
[ -x "$BIN/kbnet-cni" ] || kb_skip "kbnet-cni not built"

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
initial_state=$(jq -c . "$FX_PFSIM_STATE")
fx_agent_config "$T/agent.yaml" '  - name: intel_dpdk
    type: sriov-vf
    drivers: [vfio-pci]
  - name: intel_vf
    type: sriov-vf
    pfNames: ["kbpfa0#0-1"]
  - name: vdpa_vhost
    type: vdpa
    vdpaType: vhost'
kb_agent_start "$T/agent.yaml" "$HOST"
kb_cni_setup
POD=$(kb_netns pod)
NETNS=/var/run/netns/$POD
ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=dpdk-0"

conf() { # NAME DEVICETYPE RESOURCE [extra json]
	jq -n --arg n "$1" --arg dt "$2" --arg r "$3" --arg sock "$KB_SOCK" --arg t "$T" \
		--argjson extra "${4:-{\}}" '{
		cniVersion: "1.1.0", name: $n, type: "kbnet", agentSocket: $sock,
		cacheDir: ($t + "/cache"), deviceType: $dt, resourceName: $r,
		ipam: {type: "static", addresses: [{address: "10.98.0.7/24"}]},
		runtimeConfig: {CNIDeviceInfoFile: ($t + "/devinfo/" + $n + ".json")}
	} * $extra' >"$T/$1.json"
	echo "$T/$1.json"
}

kb_log "sriov-vf on vfio-pci through kbnet-cni"
c=$(conf dpdk-net sriov-vf kbnet.io/intel_dpdk '{"deviceID": "0000:3b:02.3", "vlan": 40,
	"trust": "on", "mac": "02:cc:00:00:00:07"}')
kb_assert_rc 0 "ADD" kb_cni ADD d1 "$NETNS" net1 "$c" "$ARGS"
cp "$T/cni.out" "$T/add.json"
kb_assert_jq "$T/add.json" '.interfaces[0] | "\(.name) \(.pciID) \(.mac)"' \
	"net1 0000:3b:02.3 02:cc:00:00:00:07" "result: pciID and the VF's MAC"
kb_assert_jq "$T/devinfo/dpdk-net.json" '"\(.type) \(.pci."pci-address") \(.pci."pf-pci-address")"' \
	"pci 0000:3b:02.3 0000:3b:00.0" "device-info type pci"
kb_assert_eq "$(ip -n "$POD" -o link | wc -l)" 1 "no kernel interface in the pod"
kb_assert_eq "$(ip -n "$POD" -o addr | grep -c 10.98 || true)" 0 "IPAM addresses reported, not configured"
kb_assert_eq "$(fx_vf_state kbpfa0 3 | jq -c '[.vlan, .trust, .mac]')" '[40,true,"02:cc:00:00:00:07"]' \
	"PF-level settings applied"
jq --slurpfile p "$T/add.json" '. + {prevResult: $p[0]}' "$c" >"$T/check.json"
kb_assert_rc 0 "CHECK" kb_cni CHECK d1 "$NETNS" net1 "$T/check.json" "$ARGS"
kb_assert_rc 0 "DEL" kb_cni DEL d1 "$NETNS" net1 "$c" "$ARGS"
kb_assert_rc 0 "DEL with empty CNI_NETNS" kb_cni DEL d1 "" net1 "$c" "$ARGS"
kb_assert_eq "$(test -e "$T/devinfo/dpdk-net.json" && echo present || echo removed)" removed \
	"device-info file removed"
kb_assert_eq "$(fx_vf_state kbpfa0 3)" "$(jq -c '.pfs[0].vfs[3]' <<<"$initial_state")" "VF3 restored"

kb_log "mtu for a vfio VF: a configuration error (code 7)"
c=$(conf dpdk-net sriov-vf kbnet.io/intel_dpdk '{"mtu": 9000}')
kb_assert_rc 1 "ADD refused" kb_cni ADD d2 "$NETNS" net1 "$c" "$ARGS"
kb_assert_jq "$T/cni.out" '"\(.code) \(.msg | test("mtu cannot be set"))"' "7 true" "code 7 with the reason"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "nothing held"

kb_log "vdpa on vhost_vdpa through kbnet-cni (runtimeConfig.deviceID)"
c=$(conf vdpa-net vdpa kbnet.io/vdpa_vhost '{"runtimeConfig": {"deviceID": "vdpa0"}}')
kb_assert_rc 0 "ADD" kb_cni ADD v1 "$NETNS" net2 "$c" "$ARGS"
cp "$T/cni.out" "$T/add.json"
kb_assert_jq "$T/add.json" '.interfaces[0] | "\(.name) \(.pciID)"' "net2 0000:5e:00.4" "result pciID: the vDPA parent"
kb_assert_jq "$T/devinfo/vdpa-net.json" '"\(.type) \(.vdpa."parent-device") \(.vdpa.driver) \(.vdpa.path)"' \
	"vdpa vdpa0 vhost /dev/vhost-vdpa-0" "device-info type vdpa with the char device"
kb_assert_eq "$(ip -n "$POD" -o link | wc -l)" 1 "no kernel interface in the pod"
kb_assert_rc 0 "DEL" kb_cni DEL v1 "$NETNS" net2 "$c" "$ARGS"

kb_log "DEL through kbnet-cni when the pod namespace is gone (VF refunded by the kernel)"
c=$(conf vf-net sriov-vf kbnet.io/intel_vf '{"deviceID": "0000:3b:02.0", "mtu": 1600}')
kb_assert_rc 0 "ADD" kb_cni ADD g1 "$NETNS" net1 "$c" "$ARGS"
kb_assert_eq "$(ip -n "$POD" -4 -o addr show dev net1 | awk '{print $4}')" 10.98.0.7/24 "address on the VF"
fx_refund "$POD" net1 "$HOST" >/dev/null
ip netns delete "$POD"
kb_assert_rc 0 "DEL (netns gone)" kb_cni DEL g1 "$NETNS" net1 "$c" "$ARGS"
kb_assert_rc 0 "DEL again, empty CNI_NETNS" kb_cni DEL g1 "" net1 "$c" "$ARGS"
kb_assert_eq "$(fx_link "$HOST" kbvfa0)" "kbvfa0 02:00:00:00:a0:00 1500 down" "VF netdev home, as it was"
kb_assert_eq "$(ip -n "$HOST" -o addr show dev kbvfa0 | grep -c inet || true)" 0 "no pod address left on it"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "nothing held"
kb_assert_eq "$(jq -c . "$FX_PFSIM_STATE")" "$initial_state" "every VF as before"
fx_agent_stop_clean
kb_done
