#!/usr/bin/env bash
# The drop-in path from sriov-network-device-plugin + sriov-cni, on the sysfs fixtures of
# test/fixtures/sriov.sh and kubelet-standin: the agent reads the device plugin's config.json
# unchanged (`pools: [{sriovDevicePluginConfig: FILE}]`), advertises the same resource names
# (intel.com/..., per-resource resourcePrefix), answers Allocate with PCIDEVICE_<RES> and
# PCIDEVICE_<RES>_INFO as the device plugin does (vfio, vdpa, needVhostNet's vhost mounts),
# refuses what kbnet cannot do with an error naming the key, and a sriov-cni
# NetworkAttachmentDefinition config works with only "type" changed (no deviceType: the type
# of the device Multus passes).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/fixtures/sriov.sh"
. "$ROOT/test/tools/kubelet-standin/standin.sh"
kb_require_root
kb_require_standin
[ -x "$TOOLS/pfsim" ] || kb_skip "pfsim not built ($TOOLS/pfsim): make tests"

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
mkdir -p "$T/dev/net" "$T/pcidp"
touch "$T/dev/vhost-net" "$T/dev/net/tun"
# A ConfigMap's config.json in the device plugin's own format (object and list selectors).
cat >"$T/pcidp/config.json" <<'JSON'
{
    "resourceList": [
        {
            "resourceName": "intel_sriov_netdevice",
            "selectors": {
                "vendors": ["8086"],
                "devices": ["154c", "10ed"],
                "drivers": ["i40evf", "iavf", "ixgbevf"]
            }
        },
        {
            "resourceName": "intel_sriov_dpdk",
            "resourcePrefix": "intel.com",
            "selectors": {
                "vendors": ["8086"],
                "devices": ["154c"],
                "drivers": ["vfio-pci"],
                "isRdma": false,
                "needVhostNet": true
            }
        },
        {
            "resourceName": "mlnx_vdpa",
            "resourcePrefix": "nvidia.com",
            "deviceType": "netDevice",
            "excludeTopology": true,
            "selectors": [{"vendors": ["15b3"], "vdpaType": "vhost"}]
        },
        {
            "resourceName": "mlnx_sriov",
            "resourcePrefix": "nvidia.com",
            "selectors": [{"pfNames": ["kbpfb0#0"]}, {"pciAddresses": ["0000:5e:00.3"]}]
        }
    ]
}
JSON
cp "$T/pcidp/config.json" "$T/pcidp/config.orig"
fx_agent_config "$T/agent.yaml" "  - sriovDevicePluginConfig: $T/pcidp/config.json"
kb_assert_rc 0 "agent accepts the device plugin's config.json" "$BIN/kbnet-agent" --check-config -c "$T/agent.yaml"

# ---- what kbnet cannot do: an error naming the key, never ignored ----
bad() { # WHAT JQ-EDIT EXPECTED
	jq "$2" "$T/pcidp/config.orig" >"$T/pcidp/config.json"
	if "$BIN/kbnet-agent" --check-config -c "$T/agent.yaml" >"$T/check.out" 2>&1; then
		kb_fail "$1 accepted"
	elif grep -qF -- "$3" "$T/check.out"; then
		kb_pass "$1 refused: $(grep -F -- "$3" "$T/check.out" | head -n 1 | sed 's/.*config.json: //')"
	else
		kb_fail "$1: error does not name $3: $(cat "$T/check.out")"
	fi
}
bad "isRdma: true" '.resourceList[0].selectors.isRdma = true' "resourceList[0].selectors.isRdma: RDMA"
bad "ddpProfiles" '.resourceList[1].selectors.ddpProfiles = ["GTPv1"]' "resourceList[1].selectors.ddpProfiles"
bad "auxNetDevice" '.resourceList[0].deviceType = "auxNetDevice"' "resourceList[0].deviceType: auxiliary"
bad "accelerator" '.resourceList[0].deviceType = "accelerator"' "resourceList[0].deviceType: accelerator"
bad "an unknown selector" '.resourceList[2].selectors[0].vendor = ["15b3"]' "resourceList[2].selectors[0].vendor: unknown selector"
bad "an unknown resource key" '.resourceList[3].resouceName = "x"' "resourceList[3].resouceName: unknown key"
bad "vdpaType vduse" '.resourceList[2].selectors[0].vdpaType = "vduse"' "resourceList[2].selectors[0].vdpaType"
bad "a selector that is not a list" '.resourceList[0].selectors.vendors = "8086"' "resourceList[0].selectors.vendors: must be a non-empty list"
bad "a bad PF range" '.resourceList[3].selectors[0].pfNames = ["kbpfb0#3-1"]' "pfNames"
bad "mixed device types in one resource" '.resourceList[2].selectors += [{"vendors": ["8086"]}]' "resourceList[2].selectors[1]: vdpaType and needVhostNet must be the same"
cp "$T/pcidp/config.orig" "$T/pcidp/config.json"

# ---- the same resource names, advertised to kubelet ----
mkdir -p "$KB_KUBELET"
kb_standin_start
kb_agent_start "$T/agent.yaml" "$HOST"
kb_wait_for 10 kb_state_is '[.resources[] | select(.connected)] | length' 4 ||
	kb_fail "four resources should register: $(kb_standin GET /state)"
kb_standin GET /state >"$T/state.json"
kb_assert_jq "$T/state.json" '[.resources | to_entries[] | "\(.key)=\(.value.devices | map(.id) | sort | join(","))"] | sort | join(" ")' \
	"intel.com/intel_sriov_dpdk=0000:3b:02.2,0000:3b:02.3 intel.com/intel_sriov_netdevice=0000:3b:02.0,0000:3b:02.1 nvidia.com/mlnx_sriov=0000:5e:00.2,0000:5e:00.3 nvidia.com/mlnx_vdpa=vdpa0" \
	"resource names as the device plugin's (prefix per resource; selector lists OR-ed)"
kb_assert_jq "$T/state.json" '[.resources["nvidia.com/mlnx_vdpa"].devices[].numa // [] | length] | add' 0 \
	"excludeTopology: no NUMA topology advertised"
kb_assert_jq "$T/state.json" '[.resources["intel.com/intel_sriov_dpdk"].devices[].numa[0]] | unique | join(",")' 0 \
	"topology advertised otherwise"

# ---- Allocate: env and files as the device plugin gives them ----
kb_standin POST /admit '{"namespace":"default","name":"dpdk-0","resource":"intel.com/intel_sriov_dpdk","count":2}' >"$T/dpdk.json"
kb_assert_jq "$T/dpdk.json" '.response.envs.PCIDEVICE_INTEL_COM_INTEL_SRIOV_DPDK | split(",") | sort | join(",")' \
	"0000:3b:02.2,0000:3b:02.3" "PCIDEVICE_INTEL_COM_INTEL_SRIOV_DPDK"
kb_assert_jq "$T/dpdk.json" '.response.envs.PCIDEVICE_INTEL_COM_INTEL_SRIOV_DPDK_INFO | fromjson | to_entries | map("\(.key) \(.value.generic.deviceID) \(.value.vfio."dev-mount") \(.value.vfio.mount) \(.value.vhost."net-mount") \(.value.vhost."tun-mount")") | join("; ")' \
	"0000:3b:02.2 0000:3b:02.2 /dev/vfio/62 /dev/vfio/vfio /dev/vhost-net /dev/net/tun; 0000:3b:02.3 0000:3b:02.3 /dev/vfio/63 /dev/vfio/vfio /dev/vhost-net /dev/net/tun" \
	"PCIDEVICE_..._INFO: one entry per device (generic, vfio, vhost)"
kb_assert_jq "$T/dpdk.json" '.response.devices | map(.containerPath) | join(" ")' \
	"/dev/vfio/vfio /dev/vfio/62 /dev/vhost-net /dev/net/tun /dev/vfio/63" "needVhostNet: /dev/vhost-net and /dev/net/tun"
kb_standin POST /admit '{"namespace":"default","name":"vdpa-0","resource":"nvidia.com/mlnx_vdpa","count":1}' >"$T/vdpa.json"
kb_assert_jq "$T/vdpa.json" '.response.envs.PCIDEVICE_NVIDIA_COM_MLNX_VDPA' 0000:5e:00.4 \
	"vDPA: PCIDEVICE carries the parent VF's PCI address"
kb_assert_jq "$T/vdpa.json" '.response.envs.PCIDEVICE_NVIDIA_COM_MLNX_VDPA_INFO | fromjson | .["0000:5e:00.4"].vdpa.mount' \
	/dev/vhost-vdpa-0 "vDPA: _INFO names the vhost-vdpa node"

# ---- a sriov-cni NetworkAttachmentDefinition config with only "type" changed ----
kb_cni_setup
POD=$(kb_netns pod)
NETNS=/var/run/netns/$POD
ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=sriov-pod"
# sriov-cni's README example; Multus adds deviceID; agentSocket/cacheDir point at this test.
nad() { # FILE DEVICEID
	jq -n --arg sock "$KB_SOCK" --arg t "$T" --arg dev "$2" '{
		cniVersion: "0.3.1", name: "sriov-net", type: "kbnet",
		vlan: 1000, spoofchk: "off", trust: "on",
		ipam: {type: "host-local", subnet: "10.56.217.0/24",
			routes: [{dst: "0.0.0.0/0"}], gateway: "10.56.217.1", dataDir: ($t + "/ipam")},
		deviceID: $dev, agentSocket: $sock, cacheDir: ($t + "/cache")}' >"$T/$1"
	echo "$T/$1"
}
c=$(nad vf.json 0000:3b:02.1)
if kb_cni ADD s1 "$NETNS" net1 "$c" "$ARGS"; then kb_pass "ADD of the sriov-cni config"; else
	kb_fail "ADD: $(cat "$T/cni.out" "$T/cni.err")"; fi
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[] | select(.containerID == "s1") | "\(.deviceType) \(.deviceID)"')" \
	"sriov-vf 0000:3b:02.1" "no deviceType: sriov-vf, from the VF Multus passed"
kb_assert_eq "$(ip -n "$POD" -o link show net1 >/dev/null 2>&1 && echo yes)" yes "the VF netdev is net1 in the pod"
kb_assert_eq "$(fx_vf_state kbpfa0 1 | jq -c '[.vlan, .spoofchk, .trust]')" '[1000,false,true]' \
	"sriov-cni's vlan/spoofchk/trust applied through the PF"
kb_assert_rc 0 "DEL" kb_cni DEL s1 "$NETNS" net1 "$c" "$ARGS"
c=$(nad vdpa.json vdpa0)
jq 'del(.ipam, .vlan, .spoofchk, .trust)' "$c" >"$T/vdpa-noipam.json"
# kubelet reserved vdpa0 for default/vdpa-0 (the admit above): only that pod may take it.
VARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=vdpa-0"
if kb_cni ADD s2 "$NETNS" net2 "$T/vdpa-noipam.json" "$ARGS" 2>/dev/null; then
	kb_fail "another pod took the device kubelet reserved for vdpa-0"
else
	jq -r .msg "$T/cni.out" | grep -q "reserved by kubelet for another pod" &&
		kb_pass "another pod is refused the device reserved for vdpa-0" ||
		kb_fail "error: $(cat "$T/cni.out")"
fi
if kb_cni ADD s2 "$NETNS" net2 "$T/vdpa-noipam.json" "$VARGS"; then kb_pass "ADD with a vDPA device"; else
	kb_fail "ADD vdpa: $(cat "$T/cni.out" "$T/cni.err")"; fi
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[] | select(.containerID == "s2") | .deviceType')" \
	vdpa "no deviceType: vdpa, from the vDPA device Multus passed"
kb_assert_rc 0 "DEL vdpa" kb_cni DEL s2 "$NETNS" net2 "$T/vdpa-noipam.json" "$VARGS"
c=$(nad none.json 0000:99:00.1)
kb_assert_rc 1 "a deviceID the agent does not have is refused" kb_cni ADD s3 "$NETNS" net1 "$c" "$ARGS"
jq -r .msg "$T/cni.out" | grep -q "kbnet agent: .*0000:99:00.1" && kb_pass "the agent's error names the device" ||
	kb_fail "error: $(cat "$T/cni.out")"
kb_done
