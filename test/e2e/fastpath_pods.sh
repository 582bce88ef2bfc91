#!/usr/bin/env bash
# Fast path, pod to pod: real dpdk-testpmd pods (net_virtio_user, server mode) attached to the
# agent's switch. Exact frame counts: unicast delivered, spoofed and oversized frames dropped
# and counted, broadcast flooded within the network only, detach removes the port.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b MC=02:00:00:00:00:0c MD=02:00:00:00:00:0d
fp_config "$T/agent.yaml" "metrics:
  enabled: true
  port: 0"
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.state)" running "fast path running"
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.hugepages)" false "no-huge memory reported"

SA=$(fp_attach pa red $MA)
SB=$(fp_attach pb red $MB)
SC=$(fp_attach pc red $MC)
SD=$(fp_attach pd blue $MD) # another network: must see nothing of red
kb_assert_eq "$(fp_api ports | jq '.ports | length')" 4 "a port per attachment"
kb_assert_eq "$(fp_port_stat pa .agentMode)" client "agent is the vhost-user client by default"

fp_pod_start a "$SA" $MA
fp_pod_start b "$SB" $MB
fp_pod_start c "$SC" $MC
# pod "d" announces a MAC that is not its allocation's: everything it sends is spoofed
fp_pod_start d "$SD" 02:00:00:00:00:66
for p in pa pb pc pd; do
	fp_wait_connected $p || kb_fail "$p connected"
done
kb_assert_eq "$(fp_api ports | jq '[.ports[] | select(.connected)] | length')" 4 "all pods connected"

# unicast a -> b: 2 x 10 bursts of 16
fp_pod_send a $MB 10
fp_settle
fp_pod_send a $MB 10
fp_settle
txa=$(fp_pod_tx a)
kb_assert_eq "$txa" 320 "pod a sent 320 frames"
kb_assert_eq "$(fp_port_stat pa .stats.rxPackets)" 320 "agent received 320 from a"
kb_assert_eq "$(fp_port_stat pb .stats.txPackets)" 320 "agent sent 320 to b"
kb_assert_eq "$(fp_pod_rx b)" 320 "pod b received 320 frames"
kb_assert_eq "$(fp_pod_rx c)" 0 "pod c received nothing of the unicast"
kb_assert_eq "$(fp_port_stat pb .stats.txBytes)" $((320 * 60)) "tx bytes to b (60-byte frames without CRC)"

# unknown unicast without an uplink: dropped and counted
fp_pod_send a 02:00:00:00:00:ee 2
fp_settle
kb_assert_eq "$(fp_port_stat pa .stats.drops.unknown)" 32 "unknown unicast dropped (no uplink)"

# spoofed source MAC from d: dropped and counted
fp_pod_send d $MB 3
fp_settle
kb_assert_eq "$(fp_pod_tx d)" 48 "pod d sent 48 frames"
kb_assert_eq "$(fp_port_stat pd .stats.drops.spoof)" 48 "48 spoofed frames dropped"
kb_assert_eq "$(fp_pod_rx b)" 320 "pod b got none of them"

# oversize: 1518-byte frames fit MTU 1500, 1600-byte frames do not
fp_pod_send a $MB 2 1518
fp_settle
kb_assert_eq "$(fp_pod_rx b)" $((320 + 32)) "1518-byte frames delivered at MTU 1500"
fp_pod_send a $MB 2 1600
fp_settle
kb_assert_eq "$(fp_port_stat pa .stats.drops.oversize)" 32 "1600-byte frames dropped as oversize"
kb_assert_eq "$(fp_pod_rx b)" $((320 + 32)) "pod b got no oversize frame"

# broadcast from a: b and c get it, d (other network) does not
fp_pod_send a ff:ff:ff:ff:ff:ff 4
fp_settle
kb_assert_eq "$(fp_pod_rx b)" $((352 + 64)) "broadcast reached b"
kb_assert_eq "$(fp_pod_rx c)" 64 "broadcast reached c"
kb_assert_eq "$(fp_pod_rx d)" 0 "broadcast stayed in its network"
# multicast too
fp_pod_send b 01:00:5e:00:00:01 1
fp_settle
kb_assert_eq "$(fp_pod_rx a)" 16 "multicast from b reached a"
kb_assert_eq "$(fp_pod_rx c)" 80 "multicast from b reached c"

# agentctl shows the counters
kb_ctl ports >"$T/ports.txt"
grep -q "pa/net1" "$T/ports.txt" && grep -q "spoof:48" "$T/ports.txt" &&
	kb_pass "agentctl ports lists ports and drops" || kb_fail "agentctl ports: $(cat "$T/ports.txt")"
kb_ctl stats >"$T/stats.txt" && grep -q CYCLES/PKT "$T/stats.txt" &&
	kb_pass "agentctl stats" || kb_fail "agentctl stats"
kb_ctl stats --watch -i 0.5 -n 2 >"$T/watch.txt" && [ "$(grep -c RX-PPS "$T/watch.txt")" = 2 ] &&
	kb_pass "agentctl stats --watch prints rates" || kb_fail "agentctl stats --watch: $(cat "$T/watch.txt")"
busy=$(fp_api stats | jq '.workers[0].busyCycles')
pk=$(fp_api stats | jq '.workers[0].packets')
[ "$busy" -gt 0 ] && [ "$pk" -ge 500 ] && kb_pass "worker cycles and packets reported" ||
	kb_fail "worker stats busy=$busy packets=$pk"

# the same counters reach the metrics exporter (telemetry source)
addr=$(kb_ctl -o json status | jq -r .metrics.address)
python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen('http://$addr/metrics').read().decode())" >"$T/metrics.txt" || true
kb_assert_eq "$(awk '/^kbnet_fastpath_port_tx_packets_total\{.*port="pb\/net1"/ {print $NF}' "$T/metrics.txt" | head -1)" \
	"$(fp_port_stat pb .stats.txPackets)" "/metrics has the port's tx counter"
grep -q '^kbnet_fastpath_port_dropped_packets_total{.*port="pd/net1".*reason="spoof".*} 48' "$T/metrics.txt" &&
	kb_pass "/metrics has the spoof drops" || kb_fail "/metrics spoof drops: $(grep dropped_packets "$T/metrics.txt" | head -3)"

# detach removes the port and its socket; the pod's link goes down
fp_detach pc
kb_assert_eq "$(fp_port pc)" null "detached port removed from the switch"
kb_assert_eq "$(fp_api ports | jq '.ports | length')" 3 "3 ports left"
fp_pod_send a ff:ff:ff:ff:ff:ff 1
fp_settle
kb_assert_eq "$(fp_pod_rx c)" 80 "detached pod gets no more frames"
kb_assert_eq "$(fp_pod_rx b)" $((416 + 16)) "others still get the flood"
kb_assert_eq "$(kb_ctl -o json status | jq -r .healthy)" true "agent healthy"
fp_agent_finish
kb_done
