#!/usr/bin/env bash
# Integration: vdpa pools. vhost_vdpa: no kernel interface, the allocation and device-info give
# the /dev/vhost-vdpa-N path; virtio_vdpa: the virtio netdev (a veth end here) moves into the pod
# and back like a VF netdev. deviceID is the vDPA device name.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
fx_agent_config "$T/agent.yaml" '  - name: vdpa_vhost
    type: vdpa
    vdpaType: vhost
  - name: vdpa_virtio
    type: vdpa
    pfNames: [kbpfb0]
    vdpaType: virtio'
kb_agent_start "$T/agent.yaml" "$HOST"
POD=$(kb_netns pod1)
NS=/var/run/netns/$POD

kb_log "vhost-vdpa"
fx_attach v1 net1 vdpa_vhost "$NS" '{"mac": "02:00:00:00:00:01"}'
kb_assert_jq "$T/out.json" '"\(.code) \(.message | test("vdpa dev add"))"' "EINVAL true" \
	"MAC refused: it is set when the vDPA device is created"
fx_attach v1 net1 vdpa_vhost "$NS" '{"deviceID": "vdpa0"}'
kb_assert_eq "$FX_RC" 0 "attach vdpa0"
kb_assert_jq "$T/out.json" '.allocation.vdpa | "\(.name) \(.driver) \(.path) \(.parentDevice) \(.pciAddress) \(.pfPciAddress) \(.netdev)"' \
	"vdpa0 vhost_vdpa /dev/vhost-vdpa-0 0000:5e:00.4 0000:5e:00.4 0000:5e:00.0 false" "vdpa object"
kb_assert_jq "$T/out.json" '.allocation.deviceInfo | "\(.type) \(.vdpa."parent-device") \(.vdpa.driver) \(.vdpa.path) \(.vdpa."pci-address")"' \
	"vdpa vdpa0 vhost /dev/vhost-vdpa-0 0000:5e:00.4" "device-info type vdpa"
kb_assert_eq "$(ip -n "$POD" -o link | wc -l)" 1 "no kernel interface in the pod"
fx_attach v2 net1 vdpa_vhost "$NS" '{"deviceID": "vdpa1"}'
kb_assert_jq "$T/out.json" .code EINVAL "vdpa1 is in the other pool"
fx_attach v2 net1 vdpa_virtio "$NS" '{"deviceID": "0000:5e:00.5"}'
kb_assert_jq "$T/out.json" .code ENODEV "a PCI address is no vDPA device ID"
fx_call check '{"containerID": "v1", "ifname": "net1"}' >/dev/null
kb_assert_eq "$FX_RC" 0 "CHECK"
fx_detach v1 net1
kb_assert_jq "$T/out.json" .released true "released"

kb_log "virtio-vdpa"
fx_attach v2 net2 vdpa_virtio "$NS" '{"mac": "02:dd:00:00:00:02", "mtu": 1450, "vlan": 5}'
kb_assert_jq "$T/out.json" .code EINVAL "VF settings refused for vDPA"
fx_attach v2 net2 vdpa_virtio "$NS" '{"mac": "02:dd:00:00:00:02", "mtu": 1450}'
kb_assert_eq "$FX_RC" 0 "attach vdpa1"
kb_assert_jq "$T/out.json" '.allocation | "\(.deviceID) \(.vdpa.netdev) \(.vdpa.path) \(.deviceInfo.vdpa.driver)"' \
	"vdpa1 true /sys/bus/virtio/devices/virtio0 virtio" "virtio allocation"
kb_assert_eq "$(fx_link "$POD" net2)" "net2 02:dd:00:00:00:02 1450 up" "virtio netdev in the pod"
kb_assert_eq "$(fx_link "$HOST" kbvd1)" absent "gone from the host"
fx_call check '{"containerID": "v2", "ifname": "net2"}' >/dev/null
kb_assert_eq "$FX_RC" 0 "CHECK"
kb_agent_stop
kb_agent_start "$T/agent.yaml" "$HOST"
fx_detach v2 net2
kb_assert_jq "$T/out.json" '"\(.released) \(.warning)"' "true null" "released after a restart"
kb_assert_eq "$(fx_link "$HOST" kbvd1)" "kbvd1 02:00:00:00:d0:01 1500 down" "back in the host as it was"
kb_assert_eq "$(jq -c 'select(.op == "setlink")' "$FX_PFSIM_LOG" | wc -l)" 0 "no VF settings for vDPA"
kb_assert_jq <(fx_call list '{"what": "pools"}') '[.pools[] | .free] | add' 2 "both free"
fx_agent_stop_clean
kb_done
