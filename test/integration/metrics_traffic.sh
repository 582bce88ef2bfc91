#!/usr/bin/env bash
# /metrics follows real traffic: two testpmd processes (net_virtio_user, as DPDK pods) on
# ports of the agent's fast path exchange frames; the per-port packet, byte and drop counters
# scraped from /metrics (parsed with the official Prometheus client's parser) move by the
# frames sent and equal the agent's own port statistics.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/e2e/lib_fp.bash"
fp_require
command -v curl >/dev/null || kb_skip "curl not installed (hack/deps.txt)"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
	kb_skip "python3-prometheus-client not installed (hack/deps.txt)"

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b
fp_config "$T/agent.yaml"
cat >>"$T/agent.yaml" <<-YAML
metrics:
  enabled: true
  port: 0
YAML
kb_agent_start "$T/agent.yaml"
ADDR=$(kb_ctl -o json status | jq -r .metrics.address)
[ "$(kb_ctl -o json status | jq -r .fastpath.state)" = running ] ||
	kb_skip "fast path not running here: $(kb_ctl -o json status | jq -c .fastpath)"

# scrape OUT: /metrics as {"name{l=v,...}": value}.
scrape() {
	curl -sS --max-time 5 "http://$ADDR/metrics" >"$T/metrics.txt" || return 1
	/usr/bin/python3 - "$T/metrics.txt" >"$1" <<-'PY'
	import json, sys
	from prometheus_client.parser import text_string_to_metric_families
	out = {}
	for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
	    for s in fam.samples:
	        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
	        out["%s{%s}" % (s.name, labels)] = s.value
	print(json.dumps(out, sort_keys=True))
	PY
}
# port_metric FILE NAME CID [REASON]: the sample NAME (a counter: ends in _total) of the pod's
# port, with reason=REASON for the drops family; "absent" when missing.
port_metric() {
	local port
	port=$(fp_port "$3" | jq -r .name)
	jq -r --arg n "$2" --arg p "port=$port" --arg r "${4:+reason=$4}" '[to_entries[]
		| select(.key | startswith($n + "{")) | select(.key | split("{")[1] | rtrimstr("}")
		| split(",") | index($p) != null and ($r == "" or index($r) != null))][0]
		| if . == null then "absent" else (.value | floor | tostring) end' "$1"
}
# labels FILE NAME CID: the label set of NAME's sample for the pod's port.
labels() {
	local port
	port=$(fp_port "$3" | jq -r .name)
	jq -r --arg n "$2" --arg p "port=$port" '[keys[] | select(startswith($n + "{"))
		| split("{")[1] | rtrimstr("}") | select(split(",") | index($p) != null)][0]' "$1"
}

FP_ATTACH_EXTRA=',"pod":{"namespace":"shop","name":"web-a","uid":"u-a"}'
SA=$(fp_attach pa red $MA)
FP_ATTACH_EXTRA=
SB=$(fp_attach pb red $MB)
fp_pod_start a "$SA" $MA
fp_pod_start b "$SB" $MB
fp_wait_connected pa && fp_wait_connected pb || kb_fail "pods connected"
fp_settle
scrape "$T/m0.json"
rx0=$(port_metric "$T/m0.json" kbnet_fastpath_port_rx_packets_total pa)
kb_assert_ne "$rx0" absent "per-port counters exported for the pod's port (named *_total)"
kb_assert_eq "$(labels "$T/m0.json" kbnet_fastpath_port_rx_packets_total pa | tr ',' '\n' | grep '^pod_' | xargs)" \
	"pod_name=web-a pod_namespace=shop" "port series carry the pod's namespace and name"
kb_assert_eq "$(jq -r '[keys[] | select(test("^kbnet_fastpath_port_(rx|tx)_(packets|bytes)\\{"))] | length' "$T/m0.json")" 0 \
	"no counter without _total"
kb_assert_eq "$(jq -r '[keys[] | select(startswith("kbnet_fastpath_port_dropped_packets_total{")) | capture("reason=(?<r>[a-z_]+)").r] | unique | join(",")' "$T/m0.json")" \
	"down,no_mbuf,offload,oversize,spoof,tx_full,unknown_destination,vlan" "drops: one family, a reason label per cause"

# 10 bursts of 16 frames of 64 bytes (60 without CRC) from a to b.
fp_pod_send a $MB 10 64
fp_settle
scrape "$T/m1.json"
for kv in "rx_packets:.stats.rxPackets:pa" "rx_bytes:.stats.rxBytes:pa" \
	"tx_packets:.stats.txPackets:pb" "tx_bytes:.stats.txBytes:pb" \
	"dropped_packets:.stats.drops.unknown:pa:unknown_destination" \
	"dropped_packets:.stats.drops.txFull:pb:tx_full"; do
	IFS=: read -r m path cid reason <<<"$kv"
	got=$(port_metric "$T/m1.json" "kbnet_fastpath_port_${m}_total" "$cid" "$reason")
	kb_assert_eq "$got" "$(fp_port_stat "$cid" "$path")" "metric $m of $cid equals the port's statistics"
done
d_rx=$(($(port_metric "$T/m1.json" kbnet_fastpath_port_rx_packets_total pa) - rx0))
kb_assert_eq "$d_rx" 160 "a's port received the 160 frames sent"
d_tx=$(($(port_metric "$T/m1.json" kbnet_fastpath_port_tx_packets_total pb) - $(port_metric "$T/m0.json" kbnet_fastpath_port_tx_packets_total pb)))
kb_assert_eq "$d_tx" 160 "b's port sent them on"
d_b=$(($(port_metric "$T/m1.json" kbnet_fastpath_port_tx_bytes_total pb) - $(port_metric "$T/m0.json" kbnet_fastpath_port_tx_bytes_total pb)))
kb_assert_eq "$d_b" $((160 * 60)) "bytes counted"
kb_assert_eq "$(fp_pod_rx b)" 160 "testpmd b received them"

# Frames to a MAC nobody has: the switch counts them as drops on the sending port.
fp_pod_send a 02:00:00:00:00:99 2 64
fp_settle
scrape "$T/m2.json"
du=$(($(port_metric "$T/m2.json" kbnet_fastpath_port_dropped_packets_total pa unknown_destination) - $(port_metric "$T/m1.json" kbnet_fastpath_port_dropped_packets_total pa unknown_destination)))
kb_assert_eq "$du" 32 "32 frames to an absent MAC: 32 drops in /metrics"
kb_assert_eq "$(port_metric "$T/m2.json" kbnet_fastpath_port_dropped_packets_total pa unknown_destination)" \
	"$(fp_port_stat pa .stats.drops.unknown)" "drop counter in /metrics equals the port's"
kb_assert_eq "$(jq -r '."kbnet_pool_allocated_devices{pool=vu,type=virtio-user}"' "$T/m2.json" | cut -d. -f1)" 2 "allocations in the same scrape"
fp_pod_stop a
fp_pod_stop b

kb_done
