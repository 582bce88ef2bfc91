#!/usr/bin/env bash
# Agent IPAM ("ipam": {"type": "kbnet"}) through kbnet-cni and the real agent: ADD (address in
# the allocation's one journal record, no IPAM exec), idempotent ADD, CHECK, DEL, GC; IPv6 and
# dual stack; static requests (runtimeConfig.ips, args.cni.ips); exhaustion (code 104) and a
# held static address (code 105); exclude; addresses survive kill -9 of the agent and are never
# handed out twice after it; agentctl and status show them; malformed sections refused by the
# plugin (code 7) and by the agent itself (EINVAL); delegated host-local unchanged beside it.
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_agent_config "$T/agent.yaml"
cat >>"$T/agent.yaml" <<-YAML
metrics:
  enabled: true
  address: 127.0.0.1
  port: 0
YAML
export NODE_NAME=node-a # the agent's node, for ipam.nodeRanges
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
NETNS=/run/netns/$ns
CALL=$TOOLS/kbcall
# No IPAM plugin may be exec'd: CNI_PATH holds only kbnet.
KB_CNI_PATH=$KB_CNI_BIN

args() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$1;K8S_POD_UID=uid-$1"; }
# conf FILE IPAM_JSON [EXTRA_JSON]
conf() {
	jq -n --arg sock "$KB_SOCK" --arg t "$T" --argjson ipam "$2" --argjson extra "${3:-{\}}" '{
		cniVersion: "1.1.0", name: "net-ipam", type: "kbnet", agentSocket: $sock,
		cacheDir: ($t + "/cache"), ipam: $ipam} + $extra' >"$T/$1"
	echo "$T/$1"
}
held() { kb_ctl -o json allocations | jq -r '[.[] | .ipam.ips[]?.address] | sort | join(",")'; }

V4='{"type":"kbnet","ranges":[[{"subnet":"10.88.0.0/24","rangeStart":"10.88.0.10","rangeEnd":"10.88.0.12"}]],"routes":[{"dst":"10.99.0.0/16"},{"dst":"0.0.0.0/0","gw":"10.88.0.254"}],"dns":{"nameservers":["10.88.0.53"],"search":["svc.local"]}}'
c4=$(conf v4.json "$V4")

kb_log "ADD: address from the agent, no IPAM exec"
kb_assert_rc 0 "ADD" kb_cni ADD c1 "$NETNS" net1 "$c4" "$(args c1)"
cat "$T/cni.err" >&2
cp "$T/cni.out" "$T/add1.json"
kb_assert_jq "$T/add1.json" '.ips[0].address' 10.88.0.10/24 "first address of rangeStart"
kb_assert_jq "$T/add1.json" '.ips[0].gateway' 10.88.0.1 "default gateway (host-local's)"
kb_assert_jq "$T/add1.json" '.ips[0].interface' 0 "ip points at the interface"
kb_assert_jq "$T/add1.json" '[.routes[].dst] | join(",")' "10.99.0.0/16,0.0.0.0/0" "routes"
kb_assert_jq "$T/add1.json" '.routes[1].gw' 10.88.0.254 "route gateway"
kb_assert_jq "$T/add1.json" '.dns.nameservers[0]' 10.88.0.53 "dns"
kb_assert_eq "$(held)" "10.88.0.10/24" "agent holds the address with the device"
kb_assert_eq "$(grep -c '"ipam"' "$KB_STATE/state.journal")" 1 "one journal record carries device and address"
kb_assert_eq "$(kb_ctl allocations | awk 'NR==2{print $8}')" 10.88.0.10 "agentctl shows the address"

kb_log "ADD again: same result; CHECK"
kb_assert_rc 0 "repeated ADD" kb_cni ADD c1 "$NETNS" net1 "$c4" "$(args c1)"
kb_assert_eq "$(jq -cS . "$T/cni.out")" "$(jq -cS . "$T/add1.json")" "idempotent"
jq --slurpfile p "$T/add1.json" '. + {prevResult: $p[0]}' "$c4" >"$T/check.json"
kb_assert_rc 0 "CHECK" kb_cni CHECK c1 "$NETNS" net1 "$T/check.json" "$(args c1)"
jq --slurpfile p "$T/add1.json" '. + {prevResult: ($p[0] | .ips[0].address = "10.88.0.99/24")}' "$c4" >"$T/check-bad.json"
kb_assert_rc 1 "CHECK with other addresses" kb_cni CHECK c1 "$NETNS" net1 "$T/check-bad.json" "$(args c1)"
kb_assert_jq "$T/cni.out" .code 103 "CHECK mismatch code"

kb_log "exhaustion: code 104"
kb_assert_rc 0 "ADD c2" kb_cni ADD c2 "$NETNS" net1 "$c4" "$(args c2)"
kb_assert_rc 0 "ADD c3" kb_cni ADD c3 "$NETNS" net1 "$c4" "$(args c3)"
kb_assert_eq "$(held)" "10.88.0.10/24,10.88.0.11/24,10.88.0.12/24" "three addresses, each once"
kb_assert_rc 1 "ADD c4 (range full)" kb_cni ADD c4 "$NETNS" net1 "$c4" "$(args c4)"
kb_assert_jq "$T/cni.out" .code 104 "exhaustion code"
kb_assert_jq "$T/cni.out" '.msg | test("no free address in 10.88.0.10-10.88.0.12")' true "message names the range"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 3 "the refused ADD holds no device"
kb_assert_jq <(kb_ctl -o json status) '.ipam.ranges[0].allocated' 3 "status: range usage"
ADDR=$(kb_ctl -o json status | jq -r .metrics.address)
curl -sS --max-time 5 "http://$ADDR/metrics" >"$T/metrics.txt"
kb_assert_eq "$(grep -c '^kbnet_ipam_range_allocated{network="net-ipam",range="10.88.0.10-10.88.0.12"} 3$' "$T/metrics.txt")" 1 \
	"metrics: range usage"
kb_assert_eq "$(grep -c '^kbnet_ipam_range_size{network="net-ipam",range="10.88.0.10-10.88.0.12"} 3$' "$T/metrics.txt")" 1 \
	"metrics: range size"

kb_log "DEL releases device and address together; a released address is reused last"
kb_assert_rc 0 "DEL c2" kb_cni DEL c2 "$NETNS" net1 "$c4" "$(args c2)"
kb_assert_eq "$(held)" "10.88.0.10/24,10.88.0.12/24" "address released"
kb_assert_rc 0 "DEL c2 again" kb_cni DEL c2 "" net1 "$c4" "$(args c2)"
kb_assert_rc 0 "ADD c4" kb_cni ADD c4 "$NETNS" net1 "$c4" "$(args c4)"
kb_assert_jq "$T/cni.out" '.ips[0].address' 10.88.0.11/24 "the freed address"

kb_log "kill -9 the agent: addresses come back with their devices, none handed out twice"
kb_agent_stop KILL
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(held)" "10.88.0.10/24,10.88.0.11/24,10.88.0.12/24" "restored"
kb_assert_rc 1 "ADD c5 after restart (still full)" kb_cni ADD c5 "$NETNS" net1 "$c4" "$(args c5)"
kb_assert_jq "$T/cni.out" .code 104 "still exhausted"

kb_log "GC releases devices and addresses not in valid-attachments"
jq '. + {"cni.dev/valid-attachments": [{containerID: "c1", ifname: "net1"}]}' "$c4" >"$T/gc.json"
kb_assert_rc 0 "GC" kb_cni GC "" "" "" "$T/gc.json"
cat "$T/cni.err" >&2
kb_assert_eq "$(held)" "10.88.0.10/24" "GC released the others' addresses"
kb_assert_rc 0 "DEL c1" kb_cni DEL c1 "$NETNS" net1 "$c4" "$(args c1)"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "nothing held"

kb_log "static requests: runtimeConfig.ips, args.cni.ips; held: code 105"
c=$(conf static.json "$V4" '{"runtimeConfig":{"ips":["10.88.0.12/24"]}}')
kb_assert_rc 0 "ADD with runtimeConfig.ips" kb_cni ADD s1 "$NETNS" net1 "$c" "$(args s1)"
kb_assert_jq "$T/cni.out" '.ips[0].address' 10.88.0.12/24 "requested address"
kb_assert_rc 1 "same address for another attachment" kb_cni ADD s2 "$NETNS" net1 "$c" "$(args s2)"
kb_assert_jq "$T/cni.out" .code 105 "address-in-use code"
c=$(conf static2.json "$V4" '{"args":{"cni":{"ips":["10.88.0.11"]}}}')
kb_assert_rc 0 "ADD with args.cni.ips" kb_cni ADD s3 "$NETNS" net1 "$c" "$(args s3)"
kb_assert_jq "$T/cni.out" '.ips[0].address' 10.88.0.11/24 "args.cni.ips address"
c=$(conf static3.json "$V4" '{"runtimeConfig":{"ips":["10.1.2.3"]}}')
kb_assert_rc 1 "a request outside the ranges" kb_cni ADD s4 "$NETNS" net1 "$c" "$(args s4)"
kb_assert_jq "$T/cni.out" .code 7 "invalid config code"
kb_cni DEL s1 "$NETNS" net1 "$c" "$(args s1)"
kb_cni DEL s3 "$NETNS" net1 "$c" "$(args s3)"

kb_log "IPv6, dual stack, legacy subnet form, exclude"
c=$(conf v6.json '{"type":"kbnet","subnet":"fd00:88::/64","exclude":["fd00:88::/120"]}')
kb_assert_rc 0 "ADD v6" kb_cni ADD v1 "$NETNS" net1 "$c" "$(args v1)"
kb_assert_jq "$T/cni.out" '.ips[0].address' fd00:88::100/64 "exclude skipped a /120 in one step"
kb_assert_jq "$T/cni.out" '.ips[0].gateway' fd00:88::1 "v6 gateway"
kb_cni DEL v1 "$NETNS" net1 "$c" "$(args v1)"
DS='{"type":"kbnet","ranges":[[{"subnet":"10.89.0.0/24"}],[{"subnet":"fd00:89::/64","gateway":"fd00:89::fe"}]]}'
c=$(conf ds.json "$DS")
kb_assert_rc 0 "ADD dual stack" kb_cni ADD d1 "$NETNS" net1 "$c" "$(args d1)"
kb_assert_jq "$T/cni.out" '[.ips[].address] | join(",")' "10.89.0.2/24,fd00:89::1/64" "one address per family"
kb_assert_rc 0 "ADD dual stack 2" kb_cni ADD d2 "$NETNS" net1 "$c" "$(args d2)"
kb_assert_jq "$T/cni.out" '[.ips[].address] | join(",")' "10.89.0.3/24,fd00:89::2/64" "next addresses"
kb_assert_rc 0 "DEL d1" kb_cni DEL d1 "$NETNS" net1 "$c" "$(args d1)"
kb_assert_rc 0 "DEL d2" kb_cni DEL d2 "$NETNS" net1 "$c" "$(args d2)"
kb_assert_eq "$(held)" "" "all released"

kb_log "nodeRanges: each node its own range from one NAD"
c=$(conf nr.json '{"type":"kbnet","nodeRanges":{"node-a":[[{"subnet":"10.91.0.0/24"}]],"node-b":[[{"subnet":"10.92.0.0/24"}]]}}')
kb_assert_rc 0 "ADD on node-a" kb_cni ADD n1 "$NETNS" net1 "$c" "$(args n1)"
kb_assert_jq "$T/cni.out" '.ips[0].address' 10.91.0.2/24 "node-a's range"
kb_assert_rc 0 "DEL" kb_cni DEL n1 "$NETNS" net1 "$c" "$(args n1)"
c=$(conf nr2.json '{"type":"kbnet","nodeRanges":{"node-b":[[{"subnet":"10.92.0.0/24"}]]}}')
kb_assert_rc 1 "ADD on a node without an entry" kb_cni ADD n2 "$NETNS" net1 "$c" "$(args n2)"
kb_assert_jq "$T/cni.out" '.code' 7 "refused as invalid config"
kb_assert_jq "$T/cni.out" '.msg | test("no entry for node .node-a.")' true "message names the node"
c=$(conf nr3.json '{"type":"kbnet","subnet":"10.93.0.0/24","nodeRanges":{"node-b":[[{"subnet":"10.92.0.0/24"}]]}}')
kb_assert_rc 0 "ADD: no entry, top-level subnet" kb_cni ADD n3 "$NETNS" net1 "$c" "$(args n3)"
kb_assert_jq "$T/cni.out" '.ips[0].address' 10.93.0.2/24 "falls back to subnet"
kb_assert_rc 0 "DEL" kb_cni DEL n3 "$NETNS" net1 "$c" "$(args n3)"

kb_log "malformed sections: code 7 from the plugin, EINVAL from the agent"
for bad in '{"type":"kbnet"}' '{"type":"kbnet","subnet":"10.0.0.0/31"}' \
	'{"type":"kbnet","subnet":"10.0.0.0/24","rangeStart":"10.0.1.1"}' \
	'{"type":"kbnet","ranges":[[{"subnet":"10.0.0.0/24"}],[{"subnet":"10.0.0.0/25"}]]}' \
	'{"type":"kbnet","ranges":[[{"subnet":"10.0.0.0/24"},{"subnet":"fd00::/64"}]]}' \
	'{"type":"kbnet","subnet":"10.0.0.0/24","routes":[{"dst":"fd00::/8","gw":"10.0.0.1"}]}' \
	'{"type":"kbnet","subnet":"10.0.0.0/24","dns":{"nameservers":["x"]}}' \
	'{"type":"kbnet","nodeRanges":{"node-b":[[{"subnet":"10.0.0.0/33"}]]}}' \
	'{"type":"kbnet","subnet":"10.0.0.0/24","exclude":["bogus"]}' \
	'{"type":"kbnet","subnet":"10.0.0.0/24","routes":{}}' \
	"{\"type\":\"kbnet\",\"ranges\":$(jq -nc '[range(9)|[{subnet:"10.\(.).0.0/24"}]]')}"; do
	c=$(conf bad.json "$bad")
	kb_assert_rc 1 "plugin refuses $bad" kb_cni ADD b1 "$NETNS" net1 "$c" "$(args b1)"
	kb_assert_jq "$T/cni.out" .code 7 "code 7"
	rc=0
	$CALL "$KB_SOCK" attach "{\"containerID\":\"b1\",\"ifname\":\"net1\",\"network\":\"n\",\"deviceType\":\"virtio-user\",\"ipam\":$bad}" >"$T/call.out" || rc=$?
	kb_assert_eq "$rc:$(jq -r .code "$T/call.out")" "1:EINVAL" "agent refuses it too"
done
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "nothing held after refusals"

kb_log "delegated host-local still works beside it"
c=$(conf hl.json "{\"type\":\"host-local\",\"subnet\":\"10.90.0.0/24\",\"dataDir\":\"$T/ipam\"}")
KB_CNI_PATH=$KB_CNI_BIN:/usr/lib/cni
kb_assert_rc 0 "ADD host-local" kb_cni ADD h1 "$NETNS" net1 "$c" "$(args h1)"
kb_assert_jq "$T/cni.out" '.ips[0].address' 10.90.0.2/24 "host-local address"
kb_assert_eq "$(kb_ctl -o json allocations | jq '.[0] | has("ipam")')" false "no agent lease"
kb_assert_rc 0 "DEL host-local" kb_cni DEL h1 "$NETNS" net1 "$c" "$(args h1)"
kb_assert_eq "$(ls "$T/ipam/net-ipam" | grep -c '^10\.')" 0 "host-local lease released"

kb_done
