#!/usr/bin/env bash
# Integration: the agent with `sriov.pfNetlink: kernel` (the production setting). The fixture's
# PF netdevs are veth ends, so the kernel answers the VF requests itself: RTM_GETLINK with
# RTEXT_FILTER_VF returns no VF list (a veth has no VFs). An ADD asking for VF settings must
# then fail cleanly with the kernel's answer and leave everything as it was; an ADD asking for
# none still moves the netdev (real) and DEL restores it.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_agent_config "$T/agent.yaml" '  - name: vf
    type: sriov-vf
    pfNames: ["kbpfa0#0-1"]'
sed -i "s|^  pfNetlink: .*|  pfNetlink: kernel|" "$T/agent.yaml"
kb_agent_start "$T/agent.yaml" "$HOST"
POD=$(kb_netns pod)

fx_attach k1 net1 vf "/var/run/netns/$POD" '{"deviceID": "0000:3b:02.0", "vlan": 10, "config": {"trust": "on"}}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message)"' \
	"ENOENT reading VF 0 settings from PF kbpfa0: the PF reports no VF information (not an SR-IOV PF?)" \
	"VF settings refused with the kernel's answer"
kb_assert_eq "$(fx_link "$HOST" kbvfa0)" "kbvfa0 02:00:00:00:a0:00 1500 down" "nothing moved"
kb_assert_jq <(fx_call list '{"what": "allocations"}') '.allocations | length' 0 "nothing held"

fx_attach k1 net1 vf "/var/run/netns/$POD" '{"deviceID": "0000:3b:02.0", "mac": "02:ab:00:00:00:01", "mtu": 1300}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("reading VF 0 settings from PF kbpfa0"))"' \
	"ENOENT true" "a MAC is a VF setting too (admin MAC through the PF)"

fx_attach k1 net1 vf "/var/run/netns/$POD" '{"deviceID": "0000:3b:02.0", "mtu": 1300}'
kb_assert_eq "$FX_RC" 0 "no VF settings: attach works"
kb_assert_jq "$T/out.json" '.allocation.vf | "\(.settings) \(.original.vf)"' "{} {}" \
	"nothing applied, nothing known of the VF"
kb_assert_eq "$(fx_link "$POD" net1)" "net1 02:00:00:00:a0:00 1300 up" "netdev moved, MTU set"
fx_detach k1 net1
kb_assert_jq "$T/out.json" '"\(.released) \(.warning)"' "true null" "DEL"
kb_assert_eq "$(fx_link "$HOST" kbvfa0)" "kbvfa0 02:00:00:00:a0:00 1500 down" "restored"
fx_agent_stop_clean
kb_done
