#!/usr/bin/env bash
# Integration: rediscovery. Devices removed from the fixture tree disappear on SIGHUP (config
# reload); a held one stays Unhealthy and is never handed out, and is dropped once released;
# devices added to the tree appear without SIGHUP (inotify on the tree), and with watching off
# the periodic rescan finds changes; a changed pool selection applies on SIGHUP.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
pools='  - name: vf
    type: sriov-vf
    pfNames: ["kbpfa0#0-1"]
  - name: dpdk
    type: sriov-vf
    drivers: [vfio-pci]
  - name: vdpa_vhost
    type: vdpa
    vdpaType: vhost'
fx_agent_config "$T/agent.yaml" "$pools"
kb_agent_start "$T/agent.yaml" "$HOST"
POD=$(kb_netns pod1)

devices() { fx_call list '{"what": "devices"}' | jq -r '[.devices[] | "\(.id):\(.health)\(if .holder then "*" else "" end)"] | sort | join(" ")'; }
# wait_devices WANT: poll (up to 5 s) until devices() says WANT.
wait_devices() {
	local got
	for _ in $(seq 100); do
		got=$(devices)
		[ "$got" = "$1" ] && break
		sleep 0.05
	done
	echo "$got"
}

kb_assert_eq "$(devices)" \
	"0000:3b:02.0:Healthy 0000:3b:02.1:Healthy 0000:3b:02.2:Healthy 0000:3b:02.3:Healthy vdpa0:Healthy" \
	"initial inventory"
fx_attach r1 net1 vf "/var/run/netns/$POD" '{"deviceID": "0000:3b:02.0", "vlan": 8}'
kb_assert_eq "$FX_RC" 0 "VF0 held"

kb_log "devices removed from the tree, then SIGHUP"
# Watching would notice by itself; turn it off to see SIGHUP do it.
sed -i 's/^  rescanIntervalMs: .*/  rescanIntervalMs: 0\n  watch: false/' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
sleep 0.3
fx_rm_vf "$T" 0000:3b:00.0 0   # held
fx_rm_vf "$T" 0000:3b:00.0 3   # free (vfio)
fx_rm_vdpa "$T" vdpa0
sleep 0.3
kb_assert_eq "$(devices)" \
	"0000:3b:02.0:Healthy* 0000:3b:02.1:Healthy 0000:3b:02.2:Healthy 0000:3b:02.3:Healthy vdpa0:Healthy" \
	"no rediscovery without a trigger (watch off)"
kill -HUP "$KB_AGENT_PID"
kb_assert_eq "$(wait_devices "0000:3b:02.0:Unhealthy* 0000:3b:02.1:Healthy 0000:3b:02.2:Healthy")" \
	"0000:3b:02.0:Unhealthy* 0000:3b:02.1:Healthy 0000:3b:02.2:Healthy" \
	"after SIGHUP: free ones gone, the held one Unhealthy"
kb_assert_jq <(fx_call list '{"what": "devices"}') '.devices[0].reason' "device disappeared" "reason given"
fx_attach r2 net1 vf "/var/run/netns/$POD" '{"deviceID": "0000:3b:02.3"}'
kb_assert_jq "$T/out.json" .code ENODEV "a vanished device is unknown"
fx_attach r2 net1 vdpa_vhost "/var/run/netns/$POD"
kb_assert_jq "$T/out.json" .code ENOSPC "an emptied pool has nothing to give"
fx_call check '{"containerID": "r1", "ifname": "net1"}' >/dev/null
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("unhealthy: device disappeared"))"' "EIO true" \
	"CHECK of the holder reports it"
fx_detach r1 net1
kb_assert_jq "$T/out.json" .released true "DEL of the vanished VF succeeds"
kb_assert_eq "$(fx_link "$HOST" kbvfa0)" "kbvfa0 02:00:00:00:a0:00 1500 down" "its netdev came home all the same"
kb_assert_eq "$(fx_vf_state kbpfa0 0 | jq .vlan)" 0 "its VLAN restored"
kb_assert_eq "$(devices)" "0000:3b:02.1:Healthy 0000:3b:02.2:Healthy" "and it is dropped on release"

kb_log "devices added to the tree appear without SIGHUP (inotify)"
sed -i 's/^  watch: false/  watch: true/' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
sleep 0.3
fx_vf "$T" 0000:3b:00.0 0 0000:3b:02.0 8086 154c iavf 0 60 kbvfa0
fx_vf "$T" 0000:3b:00.0 3 0000:3b:02.3 8086 154c vfio-pci 0 63
fx_vdpa "$T" vdpa0 0000:5e:00.4 vhost_vdpa 0
kb_assert_eq "$(wait_devices "0000:3b:02.0:Healthy 0000:3b:02.1:Healthy 0000:3b:02.2:Healthy 0000:3b:02.3:Healthy vdpa0:Healthy")" \
	"0000:3b:02.0:Healthy 0000:3b:02.1:Healthy 0000:3b:02.2:Healthy 0000:3b:02.3:Healthy vdpa0:Healthy" \
	"rediscovered by the watch"
kb_log "a driver unbound turns the VF Unhealthy without SIGHUP"
rm "$(fx_vf_dir "$T" 0000:3b:02.1)/driver"
kb_assert_eq "$(wait_devices "0000:3b:02.0:Healthy 0000:3b:02.1:Unhealthy 0000:3b:02.2:Healthy 0000:3b:02.3:Healthy vdpa0:Healthy")" \
	"0000:3b:02.0:Healthy 0000:3b:02.1:Unhealthy 0000:3b:02.2:Healthy 0000:3b:02.3:Healthy vdpa0:Healthy" \
	"driver unbound: Unhealthy"
kb_assert_jq <(fx_call list '{"what": "devices"}') '.devices[] | select(.id == "0000:3b:02.1") | .reason' \
	"no driver bound to the VF" "reason given"
ln -s ../../../../bus/pci/drivers/iavf "$(fx_vf_dir "$T" 0000:3b:02.1)/driver"

kb_log "watch off, periodic rescan on"
sed -i 's/^  watch: true/  watch: false/; s/^  rescanIntervalMs: 0/  rescanIntervalMs: 200/' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
sleep 0.3
fx_rm_vf "$T" 0000:3b:00.0 1
kb_assert_eq "$(wait_devices "0000:3b:02.0:Healthy 0000:3b:02.2:Healthy 0000:3b:02.3:Healthy vdpa0:Healthy")" \
	"0000:3b:02.0:Healthy 0000:3b:02.2:Healthy 0000:3b:02.3:Healthy vdpa0:Healthy" \
	"the timer's rescan found the change"
kb_assert_jq <(fx_call status '{}') '.sriov | "\(.watch) \(.rescanIntervalMs) \(.rescans > 0)"' \
	"false 200 true" "status shows the rediscovery settings"

kb_log "pool selection changed on SIGHUP"
sed -i 's/pfNames: \["kbpfa0#0-1"\]/pfNames: ["kbpfb0#0-1"]/' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
kb_assert_eq "$(wait_devices "0000:3b:02.2:Healthy 0000:3b:02.3:Healthy 0000:5e:00.2:Healthy 0000:5e:00.3:Healthy vdpa0:Healthy")" \
	"0000:3b:02.2:Healthy 0000:3b:02.3:Healthy 0000:5e:00.2:Healthy 0000:5e:00.3:Healthy vdpa0:Healthy" \
	"the vf pool now holds the mlx VFs"
fx_agent_stop_clean
kb_done
