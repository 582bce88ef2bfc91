#!/usr/bin/env bash
# Integration: sriov-vf with VFs bound to vfio-pci. Nothing moves and no kernel interface
# appears in the pod; PF-level settings (through pfsim: checked by content) are applied and
# restored; device-info type pci; MTU refused (no netdev).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
initial_state=$(jq -c . "$FX_PFSIM_STATE")
fx_agent_config "$T/agent.yaml" '  - name: intel_dpdk
    type: sriov-vf
    vendors: ["8086"]
    drivers: [vfio-pci]'
kb_agent_start "$T/agent.yaml" "$HOST"
POD=$(kb_netns pod1)
links_before=$(ip -n "$HOST" -o link | wc -l)

before=$(fx_pfsim_n)
fx_attach d1 net1 intel_dpdk "/var/run/netns/$POD" '{"mac": "02:cc:00:00:00:03", "vlan": 300,
	"config": {"vlanQoS": 1, "trust": "on", "spoofchk": "off"}}'
kb_assert_eq "$FX_RC" 0 "attach a vfio VF"
kb_assert_jq "$T/out.json" '.allocation | "\(.deviceID) \(.vf.driver) \(.vf.netdev) \(.vf.vfioGroup) \(.mac)"' \
	"0000:3b:02.2 vfio-pci false 62 02:cc:00:00:00:03" "vf object: no netdev, VFIO group"
kb_assert_jq "$T/out.json" '.allocation.deviceInfo | "\(.type) \(.version) \(.pci."pci-address") \(.pci."pf-pci-address")"' \
	"pci 1.1.0 0000:3b:02.2 0000:3b:00.0" "device-info type pci"
kb_assert_eq "$(ip -n "$POD" -o link | wc -l)" 1 "no interface in the pod (lo only)"
kb_assert_eq "$(ip -n "$HOST" -o link | wc -l)" "$links_before" "nothing moved on the host"
kb_assert_eq "$(fx_pfsim_sets "$before" | tr '\n' ';')" \
	"mac vf=2 02:cc:00:00:00:03 ok;vlan vf=2 300/1/802.1Q ok;spoofchk vf=2 0 ok;trust vf=2 1 ok;" \
	"PF-level settings applied"
fx_call check '{"containerID": "d1", "ifname": "net1"}' >/dev/null
kb_assert_eq "$FX_RC" 0 "CHECK: VFIO node present, settings in force"

fx_attach d2 net1 intel_dpdk "/var/run/netns/$POD" '{"mtu": 9000}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("mtu cannot be set on VF 0000:3b:02.3"))"' \
	"EINVAL true" "MTU refused for a vfio VF"
fx_attach d2 net1 intel_dpdk "" '{}'
kb_assert_eq "$FX_RC" 0 "a vfio VF needs no netns"
kb_assert_jq "$T/out.json" '.allocation | "\(.deviceID) \(.vf.settings)"' "0000:3b:02.3 {}" \
	"no settings asked, none applied"
fx_attach d3 net1 intel_dpdk "" '{}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("pool intel_dpdk has no free device"))"' \
	"ENOSPC true" "pool exhausted"

kb_log "a VFIO device node that vanishes makes CHECK fail"
mv "$T/dev/vfio/63" "$T/dev/vfio/63.away"
fx_call check '{"containerID": "d2", "ifname": "net1"}' >/dev/null
kb_assert_jq "$T/out.json" .code EIO "CHECK: EIO"
mv "$T/dev/vfio/63.away" "$T/dev/vfio/63"

fx_detach d1 net1
fx_detach d2 net1
kb_assert_jq "$T/out.json" .released true "released"
kb_assert_eq "$(fx_pfsim_sets "$before" | tail -4 | tr '\n' ';')" \
	"trust vf=2 0 ok;spoofchk vf=2 1 ok;vlan vf=2 0/0/802.1Q ok;mac vf=2 00:00:00:00:00:00 ok;" \
	"restored in reverse order"
kb_assert_eq "$(jq -c . "$FX_PFSIM_STATE")" "$initial_state" "PF state as before"
fx_agent_stop_clean
kb_done
