#!/usr/bin/env bash
# Checksum and TCP segmentation offloads on virtio-user ports (pool `offloads`, on by default).
# A sender pod replays 16 KB TCP/IPv4 frames (mktcp.py, net_pcap) through testpmd's csum engine
# with TSO (`tso set 1448`), so its virtio-user driver hands over GSO frames; receivers write
# what they get to a pcap (io forwarding to net_pcap) that mktcp.py checks byte for byte:
#   - to a pod that negotiated GUEST_TSO (testpmd rx_offload tcp_lro): the frames arrive whole
#     (agent: rxGsoPackets at the sender, no software segmentation for the receiver), 63 KB
#     ones too;
#   - to a pod without it (plain testpmd): segmented into MTU-sized frames, IP and TCP
#     checksums completed in software, payload intact and in order; TCP/IPv6 too;
#   - to the uplink (net_af_packet: no TSO, no checksum offload): segmented and checksummed in
#     software, seen on the wire by tcpdump; status says what the uplink does;
#   - flooded (multicast destination): segmented once, segments shared by every destination;
#   - a pool with `offloads: false`: nothing negotiated, the same frames are oversize drops
#     (today's behaviour), and plain frames pass as before.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require
command -v tcpdump >/dev/null || kb_skip "tcpdump not installed"
[ -n "$(ls /usr/lib/*/dpdk/pmds-*/librte_net_pcap.so* 2>/dev/null)" ] || kb_skip "DPDK net_pcap PMD not installed"

MKTCP=$ROOT/test/e2e/mktcp.py
MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b MC=02:00:00:00:00:0c MD=02:00:00:00:00:0d
ME=02:00:00:00:00:0e EXT=02:00:00:00:00:e0
N=4 PAYLOAD=16000 MSS=1448 # frames within net_pcap's 16128-byte capture of a chained mbuf
FRAME=$((PAYLOAD + 54))
SEGS=$(((PAYLOAD + MSS - 1) / MSS)) # per frame

HOST=$(kb_netns host)
EXTNS=$(kb_netns ext)
ip link add up0 netns "$HOST" type veth peer name ext0 netns "$EXTNS"
for ns in "$HOST" "$EXTNS"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$HOST" link set up0 up
ip -n "$EXTNS" link set ext0 address $EXT up

fp_config "$T/agent.yaml" "  uplink:
    devargs: net_af_packet0,iface=up0
    mtu: 1500" "  - name: vu
    type: virtio-user
    count: 8
  - name: plain
    type: virtio-user
    count: 4
    offloads: false"
kb_agent_start "$T/agent.yaml" "$HOST"
kb_ctl -o json status | jq -r .fastpath.uplinkOffloads | grep -q "^software: segmentation" &&
	kb_pass "status: the af_packet uplink gets software segmentation and checksums" ||
	kb_fail "uplink offloads: $(kb_ctl -o json status | jq -c .fastpath)"
kb_ctl status | grep -q "uplinkOffloads *software: segmentation (librte_gso) and checksums" &&
	kb_pass "agentctl status says it" || kb_fail "agentctl status: $(kb_ctl status)"

FP_ATTACH_EXTRA=',"pool":"vu"'
SA=$(fp_attach pa red $MA)
SB=$(fp_attach pb red $MB)
SC=$(fp_attach pc red $MC)
FP_ATTACH_EXTRA=',"pool":"plain"'
SD=$(fp_attach pd red $MD)
SE=$(fp_attach pe red $ME)
FP_ATTACH_EXTRA=

# Receivers write what they get to $T/NAME.out.pcap (io forwarding: port 0 -> net_pcap).
python3 "$MKTCP" gen "$T/empty.pcap" $MA $MA 0 0
python3 "$MKTCP" gen "$T/big.pcap" $MB $MA $N $PAYLOAD
# b takes TSO frames whole: LRO and checksum offloads on its virtio-user port (GUEST_TSO4/6,
# GUEST_CSUM); not on its net_pcap port, which has none.
printf '%s\n' "port stop 0" "port config 0 rx_offload tcp_lro on" \
	"port config 0 rx_offload tcp_cksum on" "port config 0 rx_offload udp_cksum on" \
	"port start 0" >"$T/b.cmds"
FP_POD_PCAP=$T/empty.pcap fp_pod_start b "$SB" $MB server --forward-mode=io --no-flush-rx \
	--cmdline-file="$T/b.cmds"
FP_POD_PCAP=$T/empty.pcap fp_pod_start c "$SC" $MC server --forward-mode=io --no-flush-rx
fp_wait_connected pb && fp_wait_connected pc || kb_fail "receivers connected"
kb_assert_eq "$(fp_port_stat pb .offloadFeatures)" "guest_csum,guest_tso4,guest_tso6" \
	"the LRO pod negotiated GUEST_CSUM and GUEST_TSO4/6"
kb_assert_eq "$(fp_port_stat pc .offloadFeatures)" "" \
	"the plain pod (testpmd without offloads) negotiates none"

# fp_sender NAME SOCK MAC PEER [TSO]: a pod replaying big.pcap to PEER through the csum engine,
# with TSO (segment size MSS) on its virtio-user port when TSO is given.
fp_sender() {
	local name=$1 sock=$2 mac=$3 peer=$4 tso=${5:-}
	{
		echo "port stop 0"
		echo "csum set ip sw 0"
		echo "csum set tcp hw 0"
		[ -z "$tso" ] || echo "tso set $MSS 0"
		echo "port start 0"
	} >"$T/$name.cmds"
	python3 "$MKTCP" gen "$T/$name.in.pcap" "$peer" "$mac" $N $PAYLOAD ${FP_IPV6:+ipv6}
	FP_POD_MBUFS=8192 FP_POD_PCAP=$T/$name.in.pcap fp_pod_start "$name" "$sock" "$mac" server \
		--forward-mode=csum --no-flush-rx --eth-peer=0,"$peer" --cmdline-file="$T/$name.cmds"
}

# 1. TSO pod to LRO pod: whole.
fp_sender a "$SA" $MA $MB tso
grep -q "TSO segment size for non-tunneled packets is $MSS" "$T/a.log" &&
	kb_pass "sender pod: TSO on its virtio-user port" || kb_fail "sender TSO: $(tail -20 "$T/a.log")"
fp_settle
kb_assert_eq "$(fp_port_stat pa .stats.offloads.rxGsoPackets)" $N "agent: $N GSO frames from the sender"
kb_assert_eq "$(fp_port_stat pa .stats.offloads.rxGsoBytes)" $((N * FRAME)) "agent: GSO bytes from the sender"
kb_assert_eq "$(fp_port_stat pb .stats.txPackets)" $N "agent: $N frames to the LRO pod"
kb_assert_eq "$(fp_port_stat pb .stats.txBytes)" $((N * FRAME)) "agent: whole frames' bytes to the LRO pod"
kb_assert_eq "$(fp_port_stat pb .stats.offloads.txGsoSoftware)" 0 "agent: nothing segmented for the LRO pod"
kb_assert_eq "$(fp_pod_rx b)" $N "LRO pod received $N frames"
fp_pod_stop b
kb_assert_eq "$(python3 "$MKTCP" check "$T/b.out.pcap" $N $PAYLOAD --partial)" \
	"frames=$N bytes=$((N * FRAME)) maxlen=$FRAME badcsum=0 payload=ok" \
	"LRO pod: $N whole ${FRAME}-byte frames, payload intact"
fp_pod_stop a

# 2. TSO pod to a pod without GUEST_TSO/GUEST_CSUM: segmented, checksummed in software.
fp_sender a2 "$SA" $MA $MC tso
fp_settle
kb_assert_eq "$(fp_port_stat pa .stats.offloads.rxGsoPackets)" $((2 * N)) "agent: $N more GSO frames"
kb_assert_eq "$(fp_port_stat pc .stats.offloads.txGsoSoftware)" $N "agent: $N frames segmented for the plain pod"
kb_assert_eq "$(fp_port_stat pc .stats.offloads.txGsoSegments)" $((N * SEGS)) "agent: $((N * SEGS)) segments"
kb_assert_eq "$(fp_port_stat pc .stats.offloads.txCsumSoftware)" $((N * SEGS)) "agent: their checksums in software"
kb_assert_eq "$(fp_port_stat pc .stats.txPackets)" $((N * SEGS)) "agent: $((N * SEGS)) frames to the plain pod"
kb_assert_eq "$(fp_port_stat pc .stats.txBytes)" $((N * (PAYLOAD + SEGS * 54))) "agent: segment bytes"
kb_assert_eq "$(fp_pod_rx c)" $((N * SEGS)) "plain pod received $((N * SEGS)) frames"
fp_pod_stop c
kb_assert_eq "$(python3 "$MKTCP" check "$T/c.out.pcap" $N $PAYLOAD)" \
	"frames=$((N * SEGS)) bytes=$((N * (PAYLOAD + SEGS * 54))) maxlen=$((MSS + 54)) badcsum=0 payload=ok" \
	"plain pod: MTU-sized segments, IP and TCP checksums correct, payload intact"
fp_pod_stop a2

# 3. TSO pod to the uplink (af_packet: no TSO): segmented and checksummed in software.
ip netns exec "$EXTNS" tcpdump -i ext0 -nn -U -s 0 -w "$T/wire.pcap" ether src $MA >"$T/tcpdump.log" 2>&1 &
TCPDUMP=$!
kb_defer "kill $TCPDUMP 2>/dev/null"
sleep 1
fp_sender a3 "$SA" $MA $EXT tso
fp_settle
sleep 0.5
kill -INT $TCPDUMP
wait $TCPDUMP 2>/dev/null
kb_assert_eq "$(fp_uplink_stat .stats.offloads.txGsoSoftware)" $N "agent: $N frames segmented for the uplink"
kb_assert_eq "$(fp_uplink_stat .stats.txPackets)" $((N * SEGS)) "agent: $((N * SEGS)) segments out of the uplink"
kb_assert_eq "$(python3 "$MKTCP" check "$T/wire.pcap" $N $PAYLOAD)" \
	"frames=$((N * SEGS)) bytes=$((N * (PAYLOAD + SEGS * 54))) maxlen=$((MSS + 54)) badcsum=0 payload=ok" \
	"wire: MTU-sized segments, checksums correct, payload intact"
fp_pod_stop a3

# 4. Offloads off (pool plain): nothing negotiated, large frames are oversize as before.
FP_POD_PCAP=$T/empty.pcap fp_pod_start e "$SE" $ME server --forward-mode=io --no-flush-rx
fp_wait_connected pe || kb_fail "pe connected"
kb_assert_eq "$(fp_port_stat pe .offloads)" false "port of the plain pool: offloads off"
kb_assert_eq "$(fp_port_stat pe .offloadFeatures)" null "no offload features shown"
fp_sender d "$SD" $MD $ME tso
grep -q "TSO is not supported by port 0" "$T/d.log" &&
	kb_pass "pod on the plain pool: its driver offers no TSO" || kb_fail "plain sender: $(tail -20 "$T/d.log")"
fp_settle
kb_assert_eq "$(fp_port_stat pd .stats.drops.oversize)" $N "agent: the $N 16 KB frames are oversize drops"
kb_assert_eq "$(fp_port_stat pd .stats.offloads.rxGsoPackets)" 0 "agent: no GSO frame from it"
fp_pod_send e $MD 2
fp_settle
kb_assert_eq "$(fp_pod_rx d)" 32 "plain frames still pass between plain-pool pods"
fp_pod_stop d
fp_pod_stop e

kb_ctl ports >"$T/ports.txt"
grep -q "gso:$((3 * N))" "$T/ports.txt" && kb_pass "agentctl ports shows the GSO counters" ||
	kb_fail "agentctl ports: $(cat "$T/ports.txt")"

# 5. 63 KB frames (the size a kernel's TSO sends) to the LRO pod: whole, received into one
# external buffer each (no pcap here: net_pcap would cut them at 16128 bytes).
BIG=63000
fp_pod_start b2 "$SB" $MB server --cmdline-file="$T/b.cmds"
fp_wait_connected pb || kb_fail "b2 connected"
gso0=$(fp_port_stat pa .stats.offloads.rxGsoPackets)
tx0=$(fp_port_stat pb .stats.txPackets)
txb0=$(fp_port_stat pb .stats.txBytes)
N=2 PAYLOAD=$BIG fp_sender a5 "$SA" $MA $MB tso
fp_settle
kb_assert_eq "$(($(fp_port_stat pa .stats.offloads.rxGsoPackets) - gso0))" 2 "agent: 2 GSO frames of $((BIG + 54)) bytes"
kb_assert_eq "$(($(fp_port_stat pb .stats.txPackets) - tx0))" 2 "agent: 2 frames to the LRO pod"
kb_assert_eq "$(($(fp_port_stat pb .stats.txBytes) - txb0))" $((2 * (BIG + 54))) "agent: whole frames' bytes"
kb_assert_eq "$(fp_port_stat pb .stats.offloads.txGsoSoftware)" 0 "agent: still nothing segmented for it"
kb_assert_eq "$(fp_pod_rx b2)" 2 "LRO pod received 2 frames"
kb_assert_eq "$(grep -o 'RX-bytes: *[0-9]*' "$T/b2.log" | tail -1 | awk '{print $2}')" $((2 * (BIG + 54))) \
	"LRO pod received $((2 * (BIG + 54))) bytes"
fp_pod_stop a5
fp_pod_stop b2

# 6. TCP/IPv6 GSO frames to the plain pod: segmented by the switch's own IPv6 segmentation
# (librte_gso has none in 22.11), checksums completed. MSS 1428: 74 bytes of headers.
SEGS6=$(((PAYLOAD + 1427) / 1428))
FP_POD_PCAP=$T/empty.pcap fp_pod_start c2 "$SC" $MC server --forward-mode=io --no-flush-rx
fp_wait_connected pc || kb_fail "c2 connected"
sw0=$(fp_port_stat pc .stats.offloads.txGsoSoftware)
seg0=$(fp_port_stat pc .stats.offloads.txGsoSegments)
FP_IPV6=1 MSS=1428 fp_sender a6 "$SA" $MA $MC tso
fp_settle
kb_assert_eq "$(($(fp_port_stat pc .stats.offloads.txGsoSoftware) - sw0))" $N "agent: $N IPv6 frames segmented for the plain pod"
kb_assert_eq "$(($(fp_port_stat pc .stats.offloads.txGsoSegments) - seg0))" $((N * SEGS6)) "agent: $((N * SEGS6)) IPv6 segments"
kb_assert_eq "$(fp_port_stat pa .stats.drops.offload)" 0 "agent: no offload drops"
fp_pod_stop c2
kb_assert_eq "$(python3 "$MKTCP" check "$T/c2.out.pcap" $N $PAYLOAD)" \
	"frames=$((N * SEGS6)) bytes=$((N * (PAYLOAD + SEGS6 * 74))) maxlen=$((1428 + 74)) badcsum=0 payload=ok" \
	"plain pod: IPv6 segments, TCP checksums correct, payload intact"
fp_pod_stop a6

# 7. A TSO frame to a multicast address: flooded to pods and the uplink of different abilities,
# so segmented and checksummed once in software and the segments shared (reference counts on
# every segment of the chains).
FP_POD_PCAP=$T/empty.pcap fp_pod_start c3 "$SC" $MC server --forward-mode=io --no-flush-rx
fp_wait_connected pc || kb_fail "c3 connected"
up0=$(fp_uplink_stat .stats.txPackets)
down0=$(fp_port_stat pb .stats.drops.down)
FP_POD_MBUFS=8192 fp_sender a7 "$SA" $MA 01:00:5e:00:00:07 tso
fp_settle
kb_assert_eq "$(($(fp_uplink_stat .stats.txPackets) - up0))" $((N * SEGS)) "flood: $((N * SEGS)) segments out of the uplink"
kb_assert_eq "$(($(fp_port_stat pb .stats.drops.down) - down0))" $((N * SEGS)) "flood: the stopped pod's share counted down"
fp_pod_stop c3
kb_assert_eq "$(python3 "$MKTCP" check "$T/c3.out.pcap" $N $PAYLOAD)" \
	"frames=$((N * SEGS)) bytes=$((N * (PAYLOAD + SEGS * 54))) maxlen=$((MSS + 54)) badcsum=0 payload=ok" \
	"flood: the running pod got every segment, checksums correct, payload intact"
kb_assert_eq "$(fp_port_stat pa .stats.drops.offload)" 0 "agent: no offload drops"
fp_pod_stop a7

fp_agent_finish
kb_done
