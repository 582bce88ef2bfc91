#!/usr/bin/env bash
# Device plugins for the SR-IOV and vDPA device types, against kubelet-standin, on the sysfs
# fixtures of test/fixtures/sriov.sh (no SR-IOV hardware here): a vfio-pci pool spread over
# two NUMA nodes (preferred allocation keeps a request on one node when one node can hold it),
# Allocate for vfio (/dev/vfio/vfio once, one node per IOMMU group, PCIDEVICE_<PREFIX>_<POOL>
# listing every VF of the container) and for vhost-vdpa (/dev/vhost-vdpa-N), device-info files
# of type pci and vdpa, and ListAndWatch following the provider's health (a VFIO group node
# vanishing, a VF disappearing).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/fixtures/sriov.sh"
. "$ROOT/test/tools/kubelet-standin/standin.sh"
kb_require_root
kb_require_standin

# The standard fixture, plus three more vfio-pci VFs on the NUMA-1 PF: the pool "dpdk" then
# holds two VFs on node 0 (groups 62, 63) and three on node 1 (74-76).
HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_vf "$T" 0000:5e:00.0 4 0000:5e:00.6 15b3 101e vfio-pci 1 74
fx_vf "$T" 0000:5e:00.0 5 0000:5e:00.7 15b3 101e vfio-pci 1 75
fx_vf "$T" 0000:5e:00.0 6 0000:5e:01.0 15b3 101e vfio-pci 1 76
KB_DP_EXTRA="  checkIntervalMs: 300"
fx_agent_config "$T/agent.yaml" '  - name: dpdk
    type: sriov-vf
    drivers: [vfio-pci]
  - name: vhost
    type: vdpa
    vdpaType: vhost
  - name: netdev
    type: sriov-vf
    drivers: [iavf]' 200
mkdir -p "$KB_KUBELET"
kb_standin_start
kb_agent_start "$T/agent.yaml" "$HOST"
kb_wait_for 10 kb_state_is '[.resources[] | select(.connected)] | length' 3 ||
	kb_fail "all three pools should register: $(kb_standin GET /state)"

kb_standin GET /state >"$T/state.json"
kb_assert_jq "$T/state.json" '.resources["kbnet.io/dpdk"].devices | map("\(.id)@\(.numa[0])") | sort | join(",")' \
	"0000:3b:02.2@0,0000:3b:02.3@0,0000:5e:00.6@1,0000:5e:00.7@1,0000:5e:01.0@1" \
	"vfio VFs advertised with their NUMA node"
kb_assert_jq "$T/state.json" '[.resources["kbnet.io/dpdk"].devices[].health] | unique | join(",")' Healthy \
	"all healthy"
kb_assert_jq "$T/state.json" '.resources["kbnet.io/vhost"].devices | map(.id) | join(",")' vdpa0 \
	"vhost-vdpa device advertised"

# ---- preferred allocation on the NUMA fixture ----
ALL='"0000:3b:02.2","0000:3b:02.3","0000:5e:00.6","0000:5e:00.7","0000:5e:01.0"'
pref() { kb_standin POST /preferred "{\"resource\":\"kbnet.io/dpdk\",\"available\":[$ALL],$1}" |
	jq -r '.deviceIDs | sort | join(",")'; }
kb_assert_eq "$(pref '"size":2')" "0000:3b:02.2,0000:3b:02.3" \
	"2 devices: one node, the one that fits exactly (node 0)"
kb_assert_eq "$(pref '"size":3')" "0000:5e:00.6,0000:5e:00.7,0000:5e:01.0" "3 devices: node 1"
kb_assert_eq "$(pref '"size":2,"mustInclude":["0000:5e:01.0"]')" "0000:5e:00.6,0000:5e:01.0" \
	"must-include on node 1 keeps the request on node 1"
kb_assert_eq "$(pref '"size":4')" "0000:3b:02.2,0000:5e:00.6,0000:5e:00.7,0000:5e:01.0" \
	"4 devices: as few nodes as possible, the larger first"
kb_assert_eq "$(pref '"size":1,"mustInclude":["0000:3b:02.3","0000:5e:00.7"]')" \
	"0000:3b:02.3,0000:5e:00.7" "must-include wins over size"

# ---- Allocate: vfio ----
kb_standin POST /admit '{"namespace":"default","name":"dpdk-0","resource":"kbnet.io/dpdk","count":2}' >"$T/vfio.json"
kb_assert_jq "$T/vfio.json" '.devices | sort | join(",")' "0000:3b:02.2,0000:3b:02.3" \
	"kubelet took the NUMA-local preference"
kb_assert_jq "$T/vfio.json" '.response.envs.PCIDEVICE_KBNET_IO_DPDK' "0000:3b:02.2,0000:3b:02.3" \
	"PCIDEVICE_KBNET_IO_DPDK lists both VFs"
kb_assert_jq "$T/vfio.json" '.response.devices | map("\(.containerPath)=\(.hostPath):\(.permissions)") | join(" ")' \
	"/dev/vfio/vfio=$T/dev/vfio/vfio:rw /dev/vfio/62=$T/dev/vfio/62:rw /dev/vfio/63=$T/dev/vfio/63:rw" \
	"/dev/vfio/vfio once, then one node per IOMMU group"
kb_assert_jq "$T/devinfo/kbnet.io-dpdk-0000:3b:02.2-device.json" '"\(.type) \(.version) \(.pci."pci-address")"' \
	"pci 1.1.0 0000:3b:02.2" "device-info file for the VF"

# ---- Allocate: vhost-vdpa ----
kb_standin POST /admit '{"namespace":"default","name":"vdpa-0","resource":"kbnet.io/vhost","count":1}' >"$T/vdpa.json"
kb_assert_jq "$T/vdpa.json" '.response.devices | map("\(.containerPath)=\(.hostPath)") | join(" ")' \
	"/dev/vhost-vdpa-0=$T/dev/vhost-vdpa-0" "/dev/vhost-vdpa-0 handed to the container"
kb_assert_jq "$T/devinfo/kbnet.io-vhost-vdpa0-device.json" '"\(.type) \(.vdpa.driver) \(.vdpa.path)"' \
	"vdpa vhost /dev/vhost-vdpa-0" "device-info file for the vDPA device"

# ---- Allocate: a VF on its kernel driver (the CNI moves the netdev; nothing to mount) ----
kb_standin POST /admit '{"namespace":"default","name":"net-0","resource":"kbnet.io/netdev","count":1}' >"$T/netdev.json"
kb_assert_jq "$T/netdev.json" '"\(.response.envs.PCIDEVICE_KBNET_IO_NETDEV) \(.response.devices | length) \(.response.mounts | length)"' \
	"$(jq -r '.devices[0]' "$T/netdev.json") 0 0" "netdev VF: PCIDEVICE env only"

# ---- health from the provider reaches kubelet ----
health() { kb_state ".resources[\"kbnet.io/dpdk\"].devices[] | select(.id==\"$1\") | .health"; }
health_is() { [ "$(health "$1")" == "$2" ]; }
mv "$T/dev/vfio/76" "$T/dev/vfio/76.away"
if kb_wait_for 10 health_is 0000:5e:01.0 Unhealthy; then kb_pass "VFIO node gone: Unhealthy on ListAndWatch"; else
	kb_fail "no Unhealthy update: $(health 0000:5e:01.0)"; fi
mv "$T/dev/vfio/76.away" "$T/dev/vfio/76"
if kb_wait_for 10 health_is 0000:5e:01.0 Healthy; then kb_pass "node back: Healthy again"; else
	kb_fail "no Healthy update"; fi
fx_rm_vf "$T" 0000:5e:00.0 6
gone() { [ "$(kb_state '.resources["kbnet.io/dpdk"].devices | length')" == 4 ]; }
if kb_wait_for 10 gone; then kb_pass "VF removed: gone from the list"; else kb_fail "still 5 devices"; fi
kb_assert_eq "$(kb_state '[.resources[].counts[]] | min')" 1 "never an empty list on the way"
kb_done
