#!/usr/bin/env bash
# kbnet-cni with devices the agent moves into the pod as kernel netdevs ("netdev": true):
# SR-IOV VFs on a kernel driver and virtio-vdpa, from the sysfs fixture (test/fixtures/sriov.sh:
# veth ends stand in for the VF netdevs, pfsim for the PF's VF settings). The plugin sets the
# IPAM addresses and routes on CNI_IFNAME inside the pod (checked with ip -n), reports pciID,
# writes the pci/vdpa device-info, CHECKs the addresses, and rolls everything back when the
# pod-side configuration fails.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root
[ -x "$TOOLS/pfsim" ] || kb_skip "pfsim not built ($TOOLS/pfsim): make tests"

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
fx_agent_config "$T/agent.yaml" '  - name: intel_vf
    type: sriov-vf
    pfNames: ["kbpfa0#0-1"]
  - name: vdpa_net
    type: vdpa
    vdpaType: virtio'
kb_agent_start "$T/agent.yaml" "$HOST"
kb_cni_setup
POD=$(kb_netns pod)
NETNS=/var/run/netns/$POD

conf() { # FILE VERSION [extra json]
	jq -n --arg v "$2" --arg sock "$KB_SOCK" --arg t "$T" --argjson extra "${3:-{\}}" '{
		cniVersion: $v, name: "sriov-net", type: "kbnet", agentSocket: $sock,
		cacheDir: ($t + "/cache"), deviceType: "sriov-vf", resourceName: "kbnet.io/intel_vf",
		ipam: {type: "static",
			addresses: [{address: "10.96.0.5/24", gateway: "10.96.0.1"}, {address: "fd96::5/64"}],
			routes: [{dst: "10.97.0.0/16"}]},
		runtimeConfig: {CNIDeviceInfoFile: ($t + "/devinfo/sriov-net.json")}
	} * $extra' >"$T/$1"
	echo "$T/$1"
}
addrs() { ip -n "$POD" -j addr show dev "${1:-net1}" 2>/dev/null |
	jq -r '[.[0].addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"] | join(",")'; }
route() { ip -n "$POD" -j route show "$1" 2>/dev/null | jq -r '.[0] | "\(.gateway) \(.dev)"'; }
allocs() { kb_ctl -o json allocations | jq length; }

kb_log "ADD: Multus-style deviceID, VF settings, static IPAM on the VF netdev"
c=$(conf a.json 1.1.0 '{"deviceID":"0000:3b:02.0","mac":"02:aa:00:00:00:05","vlan":100,
	"spoofchk":"off","trust":"on"}')
kb_assert_rc 0 "ADD" kb_cni ADD c1 "$NETNS" net1 "$c" "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=vf-pod"
cp "$T/cni.out" "$T/add.json"
kb_assert_jq "$T/add.json" '.interfaces[0] | "\(.name) \(.mac) \(.pciID) \(has("socketPath"))"' \
	"net1 02:aa:00:00:00:05 0000:3b:02.0 false" "result interface: MAC, pciID, no socketPath"
kb_assert_eq "$(fx_link "$POD" net1)" "net1 02:aa:00:00:00:05 1500 up" "the VF netdev is net1 in the pod, up"
kb_assert_eq "$(addrs)" "10.96.0.5/24,fd96::5/64" "IPAM addresses set on net1 in the pod"
kb_assert_eq "$(route 10.97.0.0/16)" "10.96.0.1 net1" "IPAM route via the IPv4 gateway"
kb_assert_eq "$(ip -4 addr show | grep -c 10.96.0.5 || true)" 0 "nothing configured in the plugin's own namespace"
kb_assert_eq "$(fx_vf_state kbpfa0 0 | jq -c '[.vlan, .spoofchk, .trust]')" "[100,false,true]" \
	"VF settings reached the PF"
kb_assert_eq "$(jq -r '"\(.type) \(.pci."pci-address")"' "$T/devinfo/sriov-net.json")" "pci 0000:3b:02.0" \
	"pci device-info file"

kb_log "CHECK sees the pod side"
jq --slurpfile p "$T/add.json" '. + {prevResult: $p[0]}' "$c" >"$T/check.json"
kb_assert_rc 0 "CHECK" kb_cni CHECK c1 "$NETNS" net1 "$T/check.json"
ip -n "$POD" addr del fd96::5/64 dev net1
kb_assert_rc 1 "CHECK with an address removed" kb_cni CHECK c1 "$NETNS" net1 "$T/check.json"
kb_assert_jq "$T/cni.out" '"\(.code) \(.msg | test("fd96::5/64 is missing on net1"))"' "103 true" "code 103 naming the address"
kb_assert_rc 0 "repeated ADD restores it" kb_cni ADD c1 "$NETNS" net1 "$c"
kb_assert_eq "$(jq -cS . "$T/cni.out")" "$(jq -cS . "$T/add.json")" "same result"
kb_assert_eq "$(addrs)" "10.96.0.5/24,fd96::5/64" "addresses back"
kb_assert_rc 0 "CHECK again" kb_cni CHECK c1 "$NETNS" net1 "$T/check.json"

kb_log "DEL returns the VF"
kb_assert_rc 0 "DEL" kb_cni DEL c1 "$NETNS" net1 "$c"
kb_assert_eq "$(fx_link "$POD" net1)" absent "net1 gone from the pod"
kb_assert_eq "$(fx_link "$HOST" kbvfa0)" "kbvfa0 02:00:00:00:a0:00 1500 down" "VF0 back on the host as it was"
kb_assert_eq "$(allocs)" 0 "released"
kb_assert_rc 0 "DEL again" kb_cni DEL c1 "" net1 "$c"

kb_log "chained ADD: only our IPAM routes go on our interface"
ip -n "$POD" link add eth0 type veth peer name eth0p
ip -n "$POD" addr add 192.168.9.2/24 dev eth0
ip -n "$POD" link set eth0 up
ch=$(conf ch.json 1.0.0 '{"prevResult":{"cniVersion":"1.0.0",
	"interfaces":[{"name":"eth0","sandbox":"'"$NETNS"'"}],
	"ips":[{"address":"192.168.9.2/24","gateway":"192.168.9.1","interface":0}],
	"routes":[{"dst":"0.0.0.0/0"},{"dst":"192.168.50.0/24","gw":"192.168.9.1"}]}}')
kb_assert_rc 0 "ADD after another plugin" kb_cni ADD c4 "$NETNS" net1 "$ch"
kb_assert_jq "$T/cni.out" '[.routes[].dst] | join(",")' "0.0.0.0/0,192.168.50.0/24,10.97.0.0/16" "all routes in the result"
kb_assert_eq "$(route 10.97.0.0/16)" "10.96.0.1 net1" "our IPAM route on net1"
kb_assert_eq "$(ip -n "$POD" -j route show dev net1 | jq -r '[.[].dst] | sort | join(",")')" "10.96.0.0/24,10.97.0.0/16" \
	"nothing of the previous plugin's routes on net1"
kb_assert_rc 0 "repeated ADD (from the cache)" kb_cni ADD c4 "$NETNS" net1 "$ch"
kb_assert_eq "$(ip -n "$POD" -j route show dev net1 | jq -r '[.[].dst] | sort | join(",")')" "10.96.0.0/24,10.97.0.0/16" \
	"still only ours"
kb_assert_rc 0 "DEL" kb_cni DEL c4 "$NETNS" net1 "$ch"
ip -n "$POD" link del eth0

kb_log "the pod-side configuration fails: device and lease released"
jq --arg t "$T" '.ipam = {type: "host-local", subnet: "10.96.1.0/24", dataDir: ($t + "/ipam"),
	routes: [{dst: "10.98.0.0/16", gw: "192.0.2.1"}]}' "$(conf bad0.json 1.0.0)" >"$T/bad.json"
bad=$T/bad.json
kb_assert_rc 1 "ADD with a route the kernel refuses" kb_cni ADD c2 "$NETNS" net1 "$bad"
kb_assert_jq "$T/cni.out" '.msg | test("configuring net1: adding route 10.98.0.0/16 via 192.0.2.1")' true \
	"the error names the route"
kb_assert_eq "$(allocs)" 0 "the VF was released"
kb_assert_eq "$(fx_link "$POD" net1)" absent "and left the pod"
kb_assert_eq "$(fx_link "$HOST" kbvfa0 | cut -d' ' -f1)" kbvfa0 "VF0 is back on the host"
kb_assert_eq "$( (ls "$T/ipam/sriov-net" 2>/dev/null || true) | grep -c '^10\.' || true)" 0 "the host-local lease was released"

kb_log "virtio-vdpa netdev, 0.4.0"
v=$(conf v.json 0.4.0 '{"deviceType":"vdpa","resourceName":"vdpa_net"}')
kb_assert_rc 0 "ADD vdpa" kb_cni ADD c3 "$NETNS" net2 "$v"
kb_assert_jq "$T/cni.out" '.interfaces[0] | has("pciID")' false "0.4.0 result has no pciID"
kb_assert_jq "$T/cni.out" '[.ips[].version] | join(",")' "4,6" "0.4.0 ips carry their version"
kb_assert_eq "$(addrs net2)" "10.96.0.5/24,fd96::5/64" "addresses on the virtio-vdpa netdev"
kb_assert_eq "$(jq -r .type "$T/devinfo/sriov-net.json")" vdpa "vdpa device-info file"
v11=$(conf v11.json 1.1.0 '{"deviceType":"vdpa","resourceName":"vdpa_net"}')
kb_assert_rc 0 "repeated ADD in 1.1.0" kb_cni ADD c3 "$NETNS" net2 "$v11"
kb_assert_jq "$T/cni.out" '.interfaces[0].pciID' 0000:5e:00.5 "1.1.0 pciID is the vDPA device's parent"
kb_assert_rc 0 "DEL vdpa" kb_cni DEL c3 "$NETNS" net2 "$v"
kb_assert_eq "$(fx_link "$POD" net2)" absent "net2 gone from the pod"
kb_assert_eq "$(allocs)" 0 "nothing left"

kb_done
