#!/usr/bin/env bash
# Fast path VLAN rules and the uplink's configuration, with two workers and a two-queue
# af_packet uplink: pods replay crafted frames (net_pcap + io forwarding, mkpcap.py) and the
# wire is a veth end in a test namespace (tcpdump, rawsend.py). Exact counts:
#   - a pod's own VLAN tag (not trunked), an 802.1ad S-tag, its network's own VLAN: dropped,
#     counted as drops.vlan, never on the wire (no double tagging);
#   - priority tags (VID 0) from a pod: accepted, their PCP kept in the network's tag;
#     untagged frames get the network's vlanQoS;
#   - a trunk network (fastpath.networks[].trunk): its VLANs leave and arrive with their tag;
#   - from the uplink: VID 0 to the untagged network with the tag kept, a network's VLAN popped;
#   - pod-to-uplink frames over the uplink MTU: dropped and counted at the uplink;
#   - the uplink has a receive queue per worker and status says what its PMD does not offer.
source "$(dirname "$0")/../lib.sh"
[ "$(nproc)" -ge 2 ] || kb_skip "two workers need two CPUs"
FP_WORKERS="$(($(nproc) - 2)), $(($(nproc) - 1))"
source "$(dirname "$0")/lib_fp.bash"
fp_require
command -v tcpdump >/dev/null || kb_skip "tcpdump not installed"
[ -n "$(ls /usr/lib/*/dpdk/pmds-*/librte_net_pcap.so* 2>/dev/null)" ] || kb_skip "DPDK net_pcap PMD not installed"

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b MC=02:00:00:00:00:0c MD=02:00:00:00:00:0d
EXT=02:00:00:00:00:e0 FAR=02:00:00:00:00:ee
HOST=$(kb_netns host)
EXTNS=$(kb_netns ext)
ip link add up0 netns "$HOST" type veth peer name ext0 netns "$EXTNS"
for ns in "$HOST" "$EXTNS"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$HOST" link set up0 mtu 2000 up
ip -n "$EXTNS" link set ext0 mtu 2000 address $EXT up

fp_config "$T/agent.yaml" "  uplink:
    devargs: net_af_packet0,iface=up0,qpairs=2
    mtu: 1500
  networks:
    - name: red
      vlanQoS: 5
    - name: tr
      trunk: [300]"
kb_agent_start "$T/agent.yaml" "$HOST"
kb_assert_eq "$(fp_uplink_stat .connected)" true "uplink link up"
kb_assert_eq "$(fp_uplink_stat ".queueWorkers | tostring")" "[0,1]" "uplink: a receive queue per worker"
kb_ctl -o json status | jq -r .fastpath.uplinkNotes | grep -q "no RSS" &&
	kb_pass "status says the uplink PMD offers no RSS" ||
	kb_fail "uplink notes: $(kb_ctl -o json status | jq -c .fastpath)"

SA=$(fp_attach pa red $MA 100 9000) # MTU 9000: its 1600-byte frames fit it, not the uplink
SB=$(fp_attach pb red $MB 100)
SC=$(fp_attach pc tr $MC 200)
SD=$(fp_attach pd blue $MD)
kb_assert_eq "$(fp_port_stat pa .vlanQoS)" 5 "red's vlanQoS on its ports"
kb_assert_eq "$(fp_port_stat pc ".trunk | tostring")" "[300]" "tr trunks VLAN 300"

ip netns exec "$EXTNS" tcpdump -i ext0 -nn -U -w "$T/wire.pcap" >"$T/tcpdump.log" 2>&1 &
TCPDUMP=$!
kb_defer "kill $TCPDUMP 2>/dev/null"
sleep 1

fp_pod_start b "$SB" $MB
fp_pod_start d "$SD" $MD
for p in pb pd; do fp_wait_connected $p || kb_fail "$p connected"; done

# a (red, VLAN 100, vlanQoS 5): 7 kinds x 10 frames
"$ROOT/test/e2e/mkpcap.py" "$T/a.pcap" \
	$FAR,$MA,-,10 \
	$FAR,$MA,8100:0:6,10 \
	$FAR,$MA,8100:200:0,10 \
	$FAR,$MA,88a8:300:0/8100:100:0,10 \
	$MB,$MA,8100:100:0,10 \
	$MB,$MA,8100:0:3,10 \
	$FAR,$MA,-,10,1600
# c (tr, VLAN 200, trunk 300): 3 kinds x 10 frames
"$ROOT/test/e2e/mkpcap.py" "$T/c.pcap" \
	$FAR,$MC,8100:300:3,10 \
	$FAR,$MC,8100:301:0,10 \
	$FAR,$MC,-,10
FP_POD_PCAP=$T/a.pcap fp_pod_start a "$SA" $MA server --forward-mode=io --no-flush-rx
FP_POD_PCAP=$T/c.pcap fp_pod_start c "$SC" $MC server --forward-mode=io --no-flush-rx
for p in pa pc; do fp_wait_connected $p || kb_fail "$p connected"; done
fp_settle
kb_assert_eq "$(fp_pod_tx a)" 70 "pod a sent its 70 crafted frames"
kb_assert_eq "$(fp_pod_tx c)" 30 "pod c sent its 30 crafted frames"

# ---- uplink -> pods ----
ext_send() { ip netns exec "$EXTNS" "$ROOT/test/e2e/rawsend.py" ext0 "$@"; }
ext_send $MD $EXT $((5 << 13)) 10        # priority tag (PCP 5, VID 0): the untagged network
ext_send $MC $EXT 300 10                 # trunked VLAN: tag kept
ext_send $MC $EXT 200 10                 # tr's own VLAN: popped
ext_send $MB $EXT $((7 << 13 | 100)) 10  # red's VLAN with PCP 7: popped
fp_settle
sleep 0.5
kill -INT $TCPDUMP
wait $TCPDUMP 2>/dev/null || true
# single-tag lines: one tag right after the addresses, then the payload's ethertype
wire() { tcpdump -r "$T/wire.pcap" -nn -e "$1" 2>/dev/null | grep -c -- "$2"; }

kb_assert_eq "$(fp_port_stat pa .stats.rxPackets)" 70 "agent received 70 from a"
kb_assert_eq "$(fp_port_stat pa .stats.drops.vlan)" 30 "a's own VLAN, S-tag and red's VLAN tag: 30 dropped as vlan"
kb_assert_eq "$(wire "ether src $MA" "length 64: vlan 100, p 5, ethertype Unknown (0x88b5)")" 10 "a's untagged frames: VLAN 100 with vlanQoS 5"
kb_assert_eq "$(wire "ether src $MA" "length 60: vlan 100, p 6, ethertype Unknown (0x88b5)")" 10 "a's priority tags: VLAN 100, PCP 6 kept"
kb_assert_eq "$(wire "ether src $MA" "vlan 200")" 0 "no frame from a on VLAN 200 (no hop)"
kb_assert_eq "$(wire "ether src $MA" "0x88a8")" 0 "no S-tagged frame from a on the wire"
kb_assert_eq "$(wire "ether src $MA" "$MA > ")" 20 "20 frames from a on the wire"
kb_assert_eq "$(fp_uplink_stat .stats.drops.oversize)" 10 "a's 1600-byte frames dropped at the uplink (MTU 1500)"
kb_assert_eq "$(fp_pod_rx b)" 20 "b got a's 10 priority-tagged frames and 10 from the uplink"
kb_assert_eq "$(fp_port_stat pc .stats.drops.vlan)" 10 "c's VLAN 301 (not trunked): dropped"
kb_assert_eq "$(wire "ether src $MC" "length 60: vlan 300, p 3, ethertype Unknown (0x88b5)")" 10 "c's trunked VLAN 300 on the wire, single tag, PCP 3"
kb_assert_eq "$(wire "ether src $MC" "length 64: vlan 200, p 0, ethertype Unknown (0x88b5)")" 10 "c's untagged frames on VLAN 200"
kb_assert_eq "$(wire "ether src $MC" "$MC > ")" 20 "20 frames from c on the wire"
kb_assert_eq "$(fp_uplink_stat .stats.txPackets)" 40 "uplink sent 40"
kb_assert_eq "$(fp_pod_rx d)" 10 "priority-tagged frames from the uplink reached the untagged network"
kb_assert_eq "$(fp_port_stat pd .stats.txBytes)" 600 "... with their tag (60 bytes each)"
kb_assert_eq "$(fp_pod_rx c)" 20 "c got VLAN 300 and VLAN 200 frames"
kb_assert_eq "$(fp_port_stat pc .stats.txBytes)" $((10 * 60 + 10 * 56)) "VLAN 300 kept its tag, VLAN 200 popped"
kb_assert_eq "$(fp_port_stat pb .stats.txBytes)" $((10 * 60 + 10 * 56)) "b: a's priority tag kept, the uplink's VLAN 100 popped"
kb_assert_eq "$(fp_uplink_stat .stats.rxPackets)" 40 "uplink received 40"
kb_assert_eq "$(fp_uplink_stat .stats.drops.unknown)" 0 "none unknown"
n=$(fp_api stats | jq '[.workers[].packets] | add')
[ "$n" -ge 140 ] && kb_pass "workers handled every frame ($n)" || kb_fail "workers handled $n"

# ---- the uplink's two receive queues: flows spread over both workers ----
w0=$(fp_api stats | jq '.workers[0].packets')
w1=$(fp_api stats | jq '.workers[1].packets')
ext_send $MB $EXT 100 256 60 udp # 256 UDP flows (source ports)
fp_settle
kb_assert_eq "$(fp_port_stat pb .stats.txPackets)" $((20 + 256)) "b got all 256 UDP frames from the uplink"
kb_assert_eq "$(fp_pod_rx b)" $((20 + 256)) "pod b received them"
d0=$(($(fp_api stats | jq '.workers[0].packets') - w0))
d1=$(($(fp_api stats | jq '.workers[1].packets') - w1))
kb_assert_eq "$((d0 + d1))" 256 "the workers handled 256 uplink frames"
[ "$d0" -gt 0 ] && [ "$d1" -gt 0 ] && kb_pass "both uplink queues' workers received flows ($d0 + $d1)" ||
	kb_fail "uplink flows not spread: worker 0 got $d0, worker 1 got $d1"
fp_agent_finish
kb_done
