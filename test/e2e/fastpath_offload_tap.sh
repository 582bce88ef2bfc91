#!/usr/bin/env bash
# Offloads through an uplink PMD that has them: net_tap offers TCP TSO and checksum offloads
# (it does them in software inside the PMD, but to the switch it is a PMD with
# tx_offload_capa TCP_TSO): a TSO pod's GSO frames go to the PMD whole (no software
# segmentation in the switch) and leave the tap segmented with correct checksums (tcpdump
# on the tap). net_tap compares headers + segment size with its MTU: MSS 1400 here.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require
command -v tcpdump >/dev/null || kb_skip "tcpdump not installed"
[ -n "$(ls /usr/lib/*/dpdk/pmds-*/librte_net_pcap.so* 2>/dev/null)" ] || kb_skip "DPDK net_pcap PMD not installed"
[ -c /dev/net/tun ] || kb_skip "no /dev/net/tun"

MKTCP=$ROOT/test/e2e/mktcp.py
MA=02:00:00:00:00:0a EXT=02:00:00:00:00:e0
N=4 PAYLOAD=16000 MSS=1400
SEGS=$(((PAYLOAD + MSS - 1) / MSS))

HOST=$(kb_netns host)
ip netns exec "$HOST" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec "$HOST" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
fp_config "$T/agent.yaml" "  uplink:
    devargs: net_tap0,iface=kbtap0
    mtu: 1500"
kb_agent_start "$T/agent.yaml" "$HOST"
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.uplinkOffloads)" "PMD: TSO and checksums" \
	"status: the tap uplink's PMD does TSO and checksums"
kb_assert_eq "$(fp_uplink_stat .offloads)" "PMD: TSO and checksums" "ports: the same"

SA=$(fp_attach pa red $MA)
ip netns exec "$HOST" tcpdump -i kbtap0 -nn -U -s 0 -w "$T/wire.pcap" ether src $MA >"$T/tcpdump.log" 2>&1 &
TCPDUMP=$!
kb_defer "kill $TCPDUMP 2>/dev/null"
sleep 1

printf '%s\n' "port stop 0" "csum set ip sw 0" "csum set tcp hw 0" "tso set $MSS 0" "port start 0" >"$T/a.cmds"
python3 "$MKTCP" gen "$T/a.in.pcap" $EXT $MA $N $PAYLOAD
FP_POD_MBUFS=8192 FP_POD_PCAP=$T/a.in.pcap fp_pod_start a "$SA" $MA server \
	--forward-mode=csum --no-flush-rx --eth-peer=0,$EXT --cmdline-file="$T/a.cmds"
fp_settle
sleep 0.5
kill -INT $TCPDUMP
wait $TCPDUMP 2>/dev/null
kb_assert_eq "$(fp_port_stat pa .stats.offloads.rxGsoPackets)" $N "agent: $N GSO frames from the pod"
kb_assert_eq "$(fp_uplink_stat .stats.txPackets)" $N "agent: $N whole frames to the PMD"
kb_assert_eq "$(fp_uplink_stat .stats.txBytes)" $((N * (PAYLOAD + 54))) "agent: their bytes"
kb_assert_eq "$(fp_uplink_stat .stats.offloads.txGsoSoftware)" 0 "agent: nothing segmented in the switch"
kb_assert_eq "$(fp_uplink_stat .stats.offloads.txCsumSoftware)" 0 "agent: no checksum in the switch"
kb_assert_eq "$(python3 "$MKTCP" check "$T/wire.pcap" $N $PAYLOAD)" \
	"frames=$((N * SEGS)) bytes=$((N * (PAYLOAD + SEGS * 54))) maxlen=$((MSS + 54)) badcsum=0 payload=ok" \
	"tap: $((N * SEGS)) segments from the PMD, checksums correct, payload intact"
fp_pod_stop a
fp_agent_finish
kb_done
