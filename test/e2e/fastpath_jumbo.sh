#!/usr/bin/env bash
# Jumbo frames: a pool with `mtu: 9000` carries 9014-byte frames pod to pod (the agent's
# default 2 KiB mbufs: vhost chains them), pod to uplink and uplink to pod (fastpath.mbufSize
# 10368 so that af_packet's 10 KiB frames fit one mbuf), with exact counts and sizes; one byte
# more is dropped as oversize.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require
command -v tcpdump >/dev/null || kb_skip "tcpdump not installed"

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b EXT=02:00:00:00:00:e0 FAR=02:00:00:00:00:ee
POOLS='  - name: vu
    type: virtio-user
    mtu: 9000
    count: 4'
# Pods: 10 KiB mbufs so that a 9014-byte frame is one segment on their side.
JUMBO_POD="--mbuf-size=10240 --max-pkt-len=9018"

# ---- pod to pod, default mbufs in the agent (chains) ----
fp_config "$T/agent.yaml" "" "$POOLS"
kb_agent_start "$T/agent.yaml"
SA=$(fp_attach pa red $MA 100)
SB=$(fp_attach pb red $MB 100)
kb_assert_eq "$(fp_port_stat pa .mtu)" 9000 "pool MTU 9000 on the port"
# shellcheck disable=SC2086
fp_pod_start a "$SA" $MA server $JUMBO_POD
# shellcheck disable=SC2086
fp_pod_start b "$SB" $MB server $JUMBO_POD
fp_wait_connected pa && fp_wait_connected pb || kb_fail "pods connected"
for i in 1 2 3; do
	fp_pod_send a $MB 2 9018 # 9014-byte frames (MTU 9000 + Ethernet header)
	fp_settle
done
kb_assert_eq "$(fp_pod_tx a)" 96 "pod a sent 96 jumbo frames"
kb_assert_eq "$(fp_port_stat pa .stats.rxBytes)" $((96 * 9014)) "agent received 96 x 9014 bytes"
kb_assert_eq "$(fp_port_stat pb .stats.txPackets)" 96 "agent sent 96 to b"
kb_assert_eq "$(fp_port_stat pb .stats.txBytes)" $((96 * 9014)) "... of 9014 bytes each"
kb_assert_eq "$(fp_port_sum pb .stats.drops.txFull .stats.drops.down .stats.drops.oversize)" 0 "none dropped at b"
kb_assert_eq "$(fp_port_stat pa .stats.drops.noMbuf)" 0 "no mbuf shortage"
kb_assert_eq "$(fp_pod_rx b)" 96 "pod b received 96"
fp_pod_send a $MB 1 9019 # 9015 bytes: one over
fp_settle
kb_assert_eq "$(fp_port_stat pa .stats.drops.oversize)" 16 "9015-byte frames dropped as oversize"
kb_assert_eq "$(fp_pod_rx b)" 96 "none reached b"
kb_agent_stop

# ---- pod to uplink and back, 10 KiB mbufs, af_packet with 10 KiB frames ----
HOST=$(kb_netns host)
EXTNS=$(kb_netns ext)
ip link add up0 netns "$HOST" type veth peer name ext0 netns "$EXTNS"
for ns in "$HOST" "$EXTNS"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n "$HOST" link set up0 mtu 9100 up
ip -n "$EXTNS" link set ext0 mtu 9100 address $EXT up
fp_config "$T/agent2.yaml" "  mbufSize: 10368
  uplink:
    devargs: net_af_packet0,iface=up0,framesz=10240,blocksz=20480,framecnt=256
    mtu: 9000" "$POOLS"
kb_agent_start "$T/agent2.yaml" "$HOST"
kb_assert_eq "$(fp_uplink_stat .connected)" true "uplink up"
kb_ctl -o json status | jq -r .fastpath.uplinkNotes >"$T/notes"
grep -q "MTU 9000 not applied" "$T/notes" && kb_pass "status says af_packet does not take MTU 9000 ($(cat "$T/notes"))" ||
	kb_fail "uplink notes: $(cat "$T/notes")"
fp_wait_connected pa 20 && fp_wait_connected pb 20 || kb_fail "pods reconnected"
ip netns exec "$EXTNS" tcpdump -i ext0 -nn -U -s 0 -w "$T/wire.pcap" >"$T/tcpdump.log" 2>&1 &
TCPDUMP=$!
kb_defer "kill $TCPDUMP 2>/dev/null"
sleep 1
fp_pod_send a $FAR 2 9018
fp_settle
ip netns exec "$EXTNS" "$ROOT/test/e2e/rawsend.py" ext0 $MB $EXT 100 10 9018
fp_settle
sleep 0.5
kill -INT $TCPDUMP
wait $TCPDUMP 2>/dev/null || true
kb_assert_eq "$(tcpdump -r "$T/wire.pcap" -nn -e "ether src $MA" 2>/dev/null | grep -c "length 9018: vlan 100")" 32 "32 jumbo frames from a on the wire, 9018 bytes with the tag"
kb_assert_eq "$(fp_uplink_stat .stats.txPackets)" 32 "uplink sent 32"
kb_assert_eq "$(fp_uplink_stat .stats.txBytes)" $((32 * 9018)) "... of 9018 bytes each"
kb_assert_eq "$(fp_uplink_stat .stats.rxPackets)" 10 "uplink received 10 tagged jumbo frames"
kb_assert_eq "$(fp_port_stat pb .stats.txBytes)" $((10 * 9014)) "b got them, tag popped: 9014 bytes each"
kb_assert_eq "$(fp_pod_rx b)" 106 "pod b received 10 more"
fp_agent_finish
kb_done
