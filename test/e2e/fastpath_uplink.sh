#!/usr/bin/env bash
# Fast path and the uplink: the agent runs in a test namespace whose veth end is its uplink
# (net_af_packet); the other end lives in a second namespace with tcpdump and a raw-socket
# sender standing for the wire. Exact counts: pod -> uplink with the network's VLAN pushed,
# uplink -> pod by (VLAN, MAC) with the tag popped, unknown VLAN/MAC dropped, flooding both
# ways, oversize from the uplink dropped.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require
command -v tcpdump >/dev/null || kb_skip "tcpdump not installed"

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b MC=02:00:00:00:00:0c EXT=02:00:00:00:00:e0
HOST=$(kb_netns host)
EXTNS=$(kb_netns ext)
ip link add up0 netns "$HOST" type veth peer name ext0 netns "$EXTNS"
for ns in "$HOST" "$EXTNS"; do
	# no IPv6 autoconfiguration noise on the wire
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$HOST" link set up0 mtu 2000 up
ip -n "$EXTNS" link set ext0 mtu 2000 address $EXT up

fp_config "$T/agent.yaml" "  uplink:
    devargs: net_af_packet0,iface=up0
    mtu: 1500"
kb_agent_start "$T/agent.yaml" "$HOST"
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.uplink)" "net_af_packet0,iface=up0" "uplink configured"
kb_assert_eq "$(fp_uplink_stat .connected)" true "uplink link up"

SA=$(fp_attach pa red $MA 100)
SB=$(fp_attach pb red $MB 100)
SC=$(fp_attach pc green $MC 200)
fp_pod_start a "$SA" $MA
fp_pod_start b "$SB" $MB
fp_pod_start c "$SC" $MC
for p in pa pb pc; do fp_wait_connected $p || kb_fail "$p connected"; done

ip netns exec "$EXTNS" tcpdump -i ext0 -nn -U -w "$T/wire.pcap" >"$T/tcpdump.log" 2>&1 &
TCPDUMP=$!
kb_defer "kill $TCPDUMP"
sleep 1
wire() { tcpdump -r "$T/wire.pcap" -nn -e "$@" 2>/dev/null | wc -l; }

# pod a -> unknown unicast: out of the uplink tagged 100
fp_pod_send a 02:00:00:00:00:ee 5
fp_settle
# broadcast from b: to a and to the uplink (tagged), not to c
fp_pod_send b ff:ff:ff:ff:ff:ff 2
fp_settle
sleep 0.5
kill -INT $TCPDUMP
wait $TCPDUMP 2>/dev/null || true
kb_assert_eq "$(wire "vlan 100 and ether src $MA and ether dst 02:00:00:00:00:ee")" 80 "80 frames from a on the wire with VLAN 100"
kb_assert_eq "$(wire "vlan 100 and ether src $MB and ether broadcast")" 32 "b's broadcast on the wire with VLAN 100"
kb_assert_eq "$(wire "not vlan")" 0 "nothing untagged on the wire"
kb_assert_eq "$(fp_uplink_stat .stats.txPackets)" 112 "agent counted 112 frames to the uplink"
kb_assert_eq "$(fp_pod_rx a)" 32 "b's broadcast reached a"
kb_assert_eq "$(fp_pod_rx c)" 0 "nothing reached c (VLAN 200)"

# uplink -> pods by (VLAN, MAC)
ext_send() { ip netns exec "$EXTNS" "$ROOT/test/e2e/rawsend.py" ext0 "$@"; }
ext_send $MB $EXT 100 50
ext_send $MB $EXT 200 30     # b's MAC on c's VLAN: unknown
ext_send $MC $EXT 200 20
ext_send $MC $EXT 300 10     # no network on VLAN 300
ext_send $MC $EXT -1 10      # untagged: no untagged network here
fp_settle
kb_assert_eq "$(fp_pod_rx b)" 50 "50 tagged frames reached b by MAC"
kb_assert_eq "$(fp_pod_rx c)" 20 "20 frames on VLAN 200 reached c"
kb_assert_eq "$(fp_uplink_stat .stats.drops.unknown)" 50 "unknown (VLAN, MAC) dropped and counted"
# the tag is popped: the 60-byte tagged frames reach b as 56-byte frames
kb_assert_eq "$(fp_port_stat pb .stats.txBytes)" $((50 * 56)) "tag popped towards the pod"

# broadcast from the uplink on VLAN 100 floods red only
ext_send ff:ff:ff:ff:ff:ff $EXT 100 40
fp_settle
kb_assert_eq "$(fp_pod_rx a)" $((32 + 40)) "uplink broadcast reached a"
kb_assert_eq "$(fp_pod_rx b)" $((50 + 40)) "uplink broadcast reached b"
kb_assert_eq "$(fp_pod_rx c)" 20 "uplink broadcast stayed on VLAN 100"

# oversize from the uplink (1600 bytes at MTU 1500)
ext_send $MB $EXT 100 10 1600
fp_settle
kb_assert_eq "$(fp_uplink_stat .stats.drops.oversize)" 10 "oversize uplink frames dropped"
kb_assert_eq "$(fp_pod_rx b)" 90 "none reached b"
fp_agent_finish
kb_done
