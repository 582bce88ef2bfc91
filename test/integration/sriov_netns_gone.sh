#!/usr/bin/env bash
# Integration: DEL when the pod's network namespace is already gone.
# When a namespace dies the kernel moves physical netdevs (a real VF's) back to the initial
# namespace - keeping the name when it is free there, else naming them dev<ifindex> - but
# destroys virtual ones, so the veth ends that stand in for VF netdevs here would die with it.
# The suite therefore performs the kernel's move itself (fx_refund) before deleting the
# namespace, then checks that DEL finds the netdev (through sysfs, or by the kernel's names and
# the recorded ifindex) and restores name, MAC, MTU and the VF settings. The last case lets the
# veth die as a virtual device does: DEL still succeeds, the VF turns Unhealthy and is not
# handed out until its netdev is back.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
initial_state=$(jq -c . "$FX_PFSIM_STATE")
fx_agent_config "$T/agent.yaml" '  - name: vf
    type: sriov-vf
    pfNames: ["kbpfa0#0-1", "kbpfb0#0"]'
kb_agent_start "$T/agent.yaml" "$HOST"

kb_log "refunded, then renamed on the host (as udev may): only sysfs knows where it is"
POD=$(kb_netns pod1)
fx_attach g1 net1 vf "/var/run/netns/$POD" '{"deviceID": "0000:3b:02.0", "mac": "02:ee:00:00:00:01",
	"mtu": 2000, "vlan": 11, "config": {"trust": "on"}}'
kb_assert_eq "$FX_RC" 0 "attach VF0"
name=$(fx_refund "$POD" net1 "$HOST")
kb_assert_eq "$name" net1 "the kernel keeps the name net1 (free on the host)"
ip netns delete "$POD"
ip -n "$HOST" link set net1 name vfx7
fx_set_netdev "$(fx_vf_dir "$T" 0000:3b:02.0)" kbvfa0 vfx7
fx_detach g1 net1
kb_assert_jq "$T/out.json" '"\(.released) \(.warning)"' "true null" "DEL succeeds without warnings"
fx_set_netdev "$(fx_vf_dir "$T" 0000:3b:02.0)" vfx7 kbvfa0
kb_assert_eq "$(fx_link "$HOST" kbvfa0)" "kbvfa0 02:00:00:00:a0:00 1500 down" "name, MAC, MTU restored"
kb_assert_eq "$(fx_link "$HOST" vfx7)" absent "no vfx7 left on the host"
kb_assert_eq "$(fx_vf_state kbpfa0 0)" "$(jq -c '.pfs[0].vfs[0]' <<<"$initial_state")" "VF0 settings restored"

kb_log "refunded as dev<ifindex> (its pod name is taken on the host); sysfs not consulted"
POD=$(kb_netns pod2)
fx_attach g2 eth0 vf "/var/run/netns/$POD" '{"deviceID": "0000:3b:02.1", "mtu": 1280}'
kb_assert_eq "$FX_RC" 0 "attach VF1"
ip -n "$HOST" link add eth0 type veth peer name eth0p
host_eth0=$(fx_link "$HOST" eth0)
name=$(fx_refund "$POD" eth0 "$HOST")
kb_assert_eq "${name:0:3}" dev "the kernel names it dev<ifindex> ($name)"
ip netns delete "$POD"
fx_detach g2 eth0
kb_assert_jq "$T/out.json" '"\(.released) \(.warning)"' "true null" "DEL succeeds"
kb_assert_eq "$(fx_link "$HOST" kbvfa1)" "kbvfa1 02:00:00:00:a0:01 9000 up" "name, MTU 9000 and up restored"
kb_assert_eq "$(fx_link "$HOST" "$name")" absent "no $name left"
kb_assert_eq "$(fx_link "$HOST" eth0)" "$host_eth0" "the host's own eth0 untouched"
ip -n "$HOST" link del eth0

kb_log "containerd's second DEL (empty netns, no prevResult) is a no-op"
fx_detach g2 eth0
kb_assert_jq "$T/out.json" .released false "released: false"

kb_log "the netdev died with the namespace (a virtual device): VF quarantined"
POD=$(kb_netns pod3)
fx_attach g3 net1 vf "/var/run/netns/$POD" '{"deviceID": "0000:5e:00.2", "vlan": 33}'
kb_assert_eq "$FX_RC" 0 "attach mlx VF0"
ip netns delete "$POD"
fx_detach g3 net1
kb_assert_jq "$T/out.json" '"\(.released) \(.warning | test("neither in the pod namespace .* nor back in the host namespace"))"' \
	"true true" "DEL succeeds and says the netdev is lost"
kb_assert_eq "$(fx_vf_state kbpfb0 0 | jq -c .vlan)" 0 "VF settings restored all the same"
kb_assert_jq <(fx_call list '{"what": "devices"}') \
	'.devices[] | select(.id == "0000:5e:00.2") | "\(.health) \(.holder)"' "Unhealthy null" \
	"the VF is Unhealthy and free"
fx_attach g4 net1 vf "/var/run/netns/$HOST" '{"deviceID": "0000:5e:00.2"}'
kb_assert_jq "$T/out.json" .code ENODEV "not handed out"
fx_veth "$HOST" kbvfb0 02:00:00:00:b0:00 1500
kill -HUP "$KB_AGENT_PID"
for _ in $(seq 50); do
	h=$(fx_call list '{"what": "devices"}' | jq -r '.devices[] | select(.id == "0000:5e:00.2") | .health')
	[ "$h" = Healthy ] && break
	sleep 0.1
done
kb_assert_eq "$h" Healthy "healthy again once its netdev is back (rediscovery)"
kb_assert_eq "$(jq -c . "$FX_PFSIM_STATE")" "$initial_state" "every VF as before"
fx_agent_stop_clean
kb_done
