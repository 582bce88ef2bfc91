#!/usr/bin/env bash
# Integration: sriov-vf pools with VFs on kernel drivers. ADD moves the VF netdev into the pod
# namespace, renames it, sets MAC/MTU and brings it up (real: the VF netdevs are veth ends);
# VF settings go through the PF as netlink messages, here to pfsim (no SR-IOV hardware: those
# are checked by content); DEL restores everything. Also: idempotency, ownership (EBUSY),
# deviceID outside the pool, rollback when a setting fails, CHECK, agent restart.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
initial_state=$(jq -c . "$FX_PFSIM_STATE")
fx_agent_config "$T/agent.yaml" '  - name: intel_vf
    type: sriov-vf
    pfNames: ["kbpfa0#0-1"]
  - name: intel_dpdk
    type: sriov-vf
    drivers: [vfio-pci]'
kb_agent_start "$T/agent.yaml" "$HOST"
POD=$(kb_netns pod1)
POD2=$(kb_netns pod2)
NS1=/var/run/netns/$POD
NS2=/var/run/netns/$POD2

kb_log "ADD with every VF setting"
before=$(fx_pfsim_n)
fx_attach c1 net1 intel_vf "$NS1" '{"deviceID": "0000:3b:02.0", "mac": "02:aa:00:00:00:01",
	"mtu": 1400, "vlan": 100, "pod": {"namespace": "default", "name": "web-0"},
	"config": {"vlanQoS": 3, "spoofchk": "off", "trust": "on", "link_state": "enable",
	"max_tx_rate": 500}}'
kb_assert_eq "$FX_RC" 0 "attach succeeds"
kb_assert_jq "$T/out.json" '.allocation.vf | [.pciAddress, .pfPciAddress, .pfName, .vfIndex,
	.driver, .netdev] | join(" ")' "0000:3b:02.0 0000:3b:00.0 kbpfa0 0 iavf true" "vf object"
kb_assert_jq "$T/out.json" '.allocation.deviceInfo | "\(.type) \(.pci."pci-address")"' \
	"pci 0000:3b:02.0" "device-info"
kb_assert_jq "$T/out.json" '.allocation | "\(.mac) \(.mtu)"' "02:aa:00:00:00:01 1400" "mac/mtu"
kb_assert_eq "$(fx_link "$POD" net1)" "net1 02:aa:00:00:00:01 1400 up" "pod has net1 (MAC, MTU, up)"
kb_assert_eq "$(fx_link "$HOST" kbvfa0)" absent "the VF netdev left the host namespace"
kb_assert_eq "$(fx_pfsim_sets "$before" | tr '\n' ';')" \
	"mac vf=0 02:aa:00:00:00:01 ok;vlan vf=0 100/3/802.1Q ok;spoofchk vf=0 0 ok;trust vf=0 1 ok;link_state vf=0 1 ok;rate vf=0 0-500 ok;" \
	"PF-side settings in order, one per message"
kb_assert_eq "$(jq -c 'select(.op == "setlink") | [.attrs, .vfInfos, .nested]' "$FX_PFSIM_LOG" | sort -u)" \
	"[1,1,true]" "each request: one IFLA_VF_INFO (nested) with one attribute"
kb_assert_eq "$(jq -r "select(.n == $((before + 1))) | \"\(.op) \(.extMask)\"" "$FX_PFSIM_LOG")" \
	"getlink 9" "original state read first (RTEXT_FILTER_VF|SKIP_STATS)"
kb_assert_eq "$(fx_vf_state kbpfa0 0)" \
	'{"linkState":1,"mac":"02:aa:00:00:00:01","maxTxRate":500,"minTxRate":0,"proto":"802.1Q","qos":3,"spoofchk":false,"trust":true,"vlan":100}' \
	"VF 0 as the PF holds it"
kb_ctl devices --pool intel_vf >"$T/devices.txt"
kb_assert_eq "$(grep -c '0000:3b:02.0 .*default/web-0 net1.*pfName=kbpfa0.*"trust":"on"' "$T/devices.txt")" 1 \
	"agentctl devices: holder, PF and settings"
fx_call check '{"containerID": "c1", "ifname": "net1"}' >/dev/null
kb_assert_eq "$FX_RC" 0 "CHECK passes"

kb_log "idempotent ADD, ownership, deviceID checks"
before=$(fx_pfsim_n)
fx_attach c1 net1 intel_vf "$NS1" '{"deviceID": "0000:3b:02.0"}'
kb_assert_jq "$T/out.json" .existing true "same (containerID, ifname): existing allocation"
kb_assert_eq "$(fx_pfsim_n)" "$before" "no PF traffic for an existing allocation"
fx_attach c2 net1 intel_vf "$NS2" '{"deviceID": "0000:3b:02.0"}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("held by container c1/net1 \\(pod default/web-0\\)"))"' \
	"EBUSY true" "a VF held by another is refused, naming the holder"
fx_attach c2 net1 intel_vf "$NS2" '{"deviceID": "0000:3b:02.2"}'
kb_assert_jq "$T/out.json" .code EINVAL "deviceID of another pool refused"
fx_attach c2 net1 intel_vf "$NS2" '{"deviceID": "0000:3b:09.0"}'
kb_assert_jq "$T/out.json" .code ENODEV "unknown deviceID refused"
fx_attach c2 net1 intel_vf "" '{"deviceID": "0000:3b:02.1"}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("netns is required"))"' "EINVAL true" \
	"a netdev VF needs a netns"
kb_assert_eq "$(fx_pfsim_n)" "$before" "refused requests touched no VF"

kb_log "bad settings are refused before anything changes"
fx_attach c2 net1 intel_vf "$NS2" '{"vlan": 5, "config": {"vlanQoS": 9}}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message)"' "EINVAL config.vlanQoS must be an integer in [0, 7]" "vlanQoS range"
fx_attach c2 net1 intel_vf "$NS2" '{"config": {"trust": "maybe"}}'
kb_assert_jq "$T/out.json" .code EINVAL "trust value"
kb_assert_eq "$(fx_pfsim_n)" "$before" "no PF traffic"
kb_assert_eq "$(fx_link "$HOST" kbvfa1)" "kbvfa1 02:00:00:00:a0:01 9000 up" "VF1 untouched"

kb_log "a setting the PF refuses rolls everything back"
fx_attach c2 net1 intel_vf "$NS2" '{"mac": "02:bb:00:00:00:02", "config": {"trust": "off",
	"min_tx_rate": 100, "max_tx_rate": 900}}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("setting VF 1 tx_rate on PF kbpfa0"))"' \
	"EINVAL true" "i40e-like PF refuses min_tx_rate"
kb_assert_eq "$(fx_pfsim_sets "$before" | tr '\n' ';')" \
	"mac vf=1 02:bb:00:00:00:02 ok;trust vf=1 0 ok;rate vf=1 100-900 Invalid argument;trust vf=1 1 ok;mac vf=1 02:11:22:33:44:01 ok;" \
	"applied settings undone in reverse order"
kb_assert_eq "$(fx_vf_state kbpfa0 1)" "$(jq -c '.pfs[0].vfs[1]' <<<"$initial_state")" \
	"VF1 back to its original settings"
kb_assert_eq "$(fx_link "$HOST" kbvfa1)" "kbvfa1 02:00:00:00:a0:01 9000 up" "VF1 netdev never moved"
kb_assert_jq <(fx_call list '{"what": "allocations"}') '.allocations | length' 1 "nothing allocated"

kb_log "interface name taken in the pod: refused, rolled back"
ip -n "$POD2" link add net1 type veth peer name x1
fx_attach c2 net1 intel_vf "$NS2" '{"vlan": 9}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("already has an interface net1"))"' \
	"EEXIST true" "EEXIST"
kb_assert_eq "$(fx_vf_state kbpfa0 1 | jq -c '[.vlan, .qos]')" "[7,2]" "VF1 VLAN restored"
ip -n "$POD2" link del net1

kb_log "VF with non-default original state: ADD, agent restart, DEL restores all of it"
before=$(fx_pfsim_n)
fx_attach c2 eth9 intel_vf "$NS2" '{"mac": "02:bb:00:00:00:02", "mtu": 1500, "vlan": 200,
	"config": {"vlanProto": "802.1q", "spoofchk": "on", "trust": "off", "link_state": "auto",
	"max_tx_rate": 0}}'
kb_assert_eq "$FX_RC" 0 "attach VF1"
kb_assert_eq "$(fx_link "$POD2" eth9)" "eth9 02:bb:00:00:00:02 1500 up" "VF1 in pod2 as eth9"
kb_assert_jq "$T/out.json" '.allocation.vf.original | "\(.name) \(.mtu) \(.up) \(.vf.vlan) \(.vf.trust) \(.vf.max_tx_rate)"' \
	"kbvfa1 9000 true 7 on 1000" "original state recorded"
kb_agent_stop
kb_agent_start "$T/agent.yaml" "$HOST"
kb_assert_jq <(fx_call list '{"what": "allocations"}') '.allocations | length' 2 "allocations survive a restart"
fx_call check '{"containerID": "c2", "ifname": "eth9"}' >/dev/null
kb_assert_eq "$FX_RC" 0 "CHECK after restart ($(jq -r .message "$T/out.json"))"
fx_detach c2 eth9
kb_assert_jq "$T/out.json" '"\(.released) \(.warning)"' "true null" "released without warnings"
kb_assert_eq "$(fx_link "$HOST" kbvfa1)" "kbvfa1 02:00:00:00:a0:01 9000 up" "VF1 netdev back: name, MAC, MTU 9000, up"
kb_assert_eq "$(fx_link "$POD2" eth9)" absent "gone from the pod"
kb_assert_eq "$(fx_vf_state kbpfa0 1)" \
	'{"linkState":1,"mac":"02:11:22:33:44:01","maxTxRate":1000,"minTxRate":0,"proto":"802.1Q","qos":2,"spoofchk":false,"trust":true,"vlan":7}' \
	"VF1 settings restored exactly"

kb_log "CHECK notices a tampered attachment"
ip -n "$POD" link set net1 down
ip -n "$POD" link set net1 name other
fx_call check '{"containerID": "c1", "ifname": "net1"}' >/dev/null
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("named other, not net1"))"' "EIO true" "CHECK: EIO"
ip -n "$POD" link set other name net1

kb_log "DEL restores VF0"
fx_detach c1 net1
kb_assert_jq "$T/out.json" .released true "released"
kb_assert_eq "$(fx_link "$HOST" kbvfa0)" "kbvfa0 02:00:00:00:a0:00 1500 down" "VF0 netdev back as it was"
kb_assert_eq "$(fx_link "$POD" net1)" absent "gone from the pod"
kb_assert_eq "$(jq -c . "$FX_PFSIM_STATE")" "$initial_state" "every VF as before the suite"
fx_detach c1 net1
kb_assert_jq "$T/out.json" .released false "a second DEL is a no-op"
kb_assert_jq <(fx_call list '{"what": "pools"}') \
	'.pools[] | select(.name == "intel_vf") | "\(.healthy) \(.free)"' "2 2" "both VFs free and healthy"

kb_log "the original name is taken on the host at DEL: the VF comes back under another name"
fx_attach c5 net1 intel_vf "$NS1" '{"deviceID": "0000:3b:02.0", "mtu": 1400}'
kb_assert_eq "$FX_RC" 0 "attach"
fallback=kbr$(jq -r .allocation.vf.podIfindex "$T/out.json")
ip -n "$HOST" link add kbvfa0 type veth peer name squat0
fx_detach c5 net1
kb_assert_jq "$T/out.json" '"\(.released) \(.warning)"' \
	"true the name kbvfa0 is taken in the host namespace: the netdev came back as $fallback" \
	"released, with a warning naming the fallback"
kb_assert_eq "$(fx_link "$HOST" "$fallback")" "$fallback 02:00:00:00:a0:00 1500 down" \
	"MAC and MTU restored all the same"
ip -n "$HOST" link del kbvfa0
ip -n "$HOST" link set "$fallback" name kbvfa0
# A rescan between those two commands rightly saw VF0 without its netdev: wait for the next.
for _ in $(seq 50); do
	h=$(fx_call list '{"what": "devices"}' | jq -r '.devices[] | select(.id == "0000:3b:02.0") | .health')
	[ "$h" = Healthy ] && break
	sleep 0.1
done
kb_assert_eq "$h" Healthy "VF0 healthy with its netdev renamed back"

kb_log "the PF cannot be reached at release: the VF is quarantined, then restored by rediscovery"
fx_attach c3 net1 intel_vf "$NS1" '{"deviceID": "0000:3b:02.0", "vlan": 77, "config": {"trust": "on"}}'
kb_assert_eq "$FX_RC" 0 "attach with VF settings"
kill "$FX_PFSIM_PID"
wait "$FX_PFSIM_PID" || true
fx_detach c3 net1
kb_assert_jq "$T/out.json" '"\(.released) \(.warning | test("connecting to PF netlink stand-in"))"' \
	"true true" "DEL succeeds and says the VF settings were not restored"
kb_assert_eq "$(fx_link "$HOST" kbvfa0)" "kbvfa0 02:00:00:00:a0:00 1500 down" "the netdev is home"
kb_assert_jq <(fx_call list '{"what": "devices"}') \
	'.devices[] | select(.id == "0000:3b:02.0") | "\(.health) \(.reason)"' \
	"Unhealthy VF settings could not be restored at release (retried at each rescan)" \
	"the VF is kept out of service"
fx_attach c4 net1 intel_vf "$NS1" '{"deviceID": "0000:3b:02.0"}'
kb_assert_jq "$T/out.json" .code ENODEV "not handed out with the last pod's VLAN"
kb_assert_eq "$(fx_vf_state kbpfa0 0 | jq -c '[.vlan, .trust]')" "[77,true]" "(the PF still has them)"
n=$(fx_pfsim_n)
fx_pfsim_start "$T" "$HOST"
kill -HUP "$KB_AGENT_PID"
for _ in $(seq 50); do
	h=$(fx_call list '{"what": "devices"}' | jq -r '.devices[] | select(.id == "0000:3b:02.0") | .health')
	[ "$h" = Healthy ] && break
	sleep 0.1
done
kb_assert_eq "$h" Healthy "Healthy once the restore went through"
kb_assert_eq "$(fx_pfsim_sets "$n" | tr '\n' ';')" "trust vf=0 0 ok;vlan vf=0 0/0/802.1Q ok;" \
	"the retry restored exactly what was applied"
kb_assert_eq "$(jq -c . "$FX_PFSIM_STATE")" "$initial_state" "every VF as before the suite"
fx_agent_stop_clean
kb_done
