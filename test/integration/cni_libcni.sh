#!/usr/bin/env bash
# kbnet-cni driven through libcni (test/tools/libcni-client) like a container runtime: a conflist
# of kbnet (host-local IPAM) chained with the reference tuning plugin; capability args (mac,
# deviceID, CNIDeviceInfoFile) become runtimeConfig; ADD caches the result, CHECK and DEL get it
# as prevResult; VERSION/validation through libcni; conflists at 1.0.0 and 0.4.0; agent IPAM
# with the ips capability.
source "$(dirname "$0")/../lib.sh"
kb_require_root
CLIENT=$TOOLS/libcni-client
[ -x "$CLIENT" ] || kb_skip "libcni-client not built ($CLIENT): make tests"
[ -x /usr/lib/cni/tuning ] || kb_skip "no /usr/lib/cni/tuning (containernetworking-plugins)"
kb_agent_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
NETNS=/run/netns/$ns
CACHE=$T/libcni-cache

# conflist FILE VERSION [tuning]: kbnet, optionally chained with tuning (whose CHECK needs a
# kernel link, which a virtio-user pod does not have: that chain is run for ADD and DEL only).
conflist() {
	jq -n --arg v "$2" --arg sock "$KB_SOCK" --arg t "$T" --arg chain "${3:-}" '{
		cniVersion: $v, name: "dpdk-net",
		plugins: ([
			{type: "kbnet", agentSocket: $sock, cacheDir: ($t + "/cache"),
			 capabilities: {mac: true, deviceID: true, CNIDeviceInfoFile: true},
			 ipam: {type: "host-local", subnet: "10.95.0.0/24", dataDir: ($t + "/ipam")}},
			{type: "tuning", dataDir: ($t + "/tuning"), sysctl: {"net.ipv4.ip_forward": "1"}}
		] | if $chain == "" then .[:1] else . end)}' >"$T/$1"
	echo "$T/$1"
}
# lc CMD CID [extra flags]: output in $T/lc.out, returns the client's status.
lc() {
	local cmd=$1 cid=$2
	shift 2
	"$CLIENT" -conflist "$LIST" -path "$KB_CNI_PATH" -cachedir "$CACHE" -netns "$NETNS" \
		-cid "$cid" -ifname net1 \
		-args "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-$cid;K8S_POD_UID=uid-$cid" \
		"$@" "$cmd" >"$T/lc.out" 2>"$T/lc.err"
}
allocs() { kb_ctl -o json allocations | jq -r '[.[].containerID] | sort | join(",")'; }
leases() { (ls "$T/ipam/dpdk-net" 2>/dev/null || true) | grep -c '^10\.' || true; }

LIST=$(conflist list-1.0.0.json 1.0.0)

kb_log "VERSION and validation through libcni"
kb_assert_rc 0 "version" lc version x
kb_assert_jq "$T/lc.out" '.kbnet | join(",")' "0.3.0,0.3.1,0.4.0,1.0.0,1.1.0" "kbnet's supported versions"
kb_assert_rc 0 "validate" lc validate x
kb_assert_jq "$T/lc.out" '.capabilities | sort | join(",")' "CNIDeviceInfoFile,deviceID,mac" "capabilities"

kb_log "ADD (1.0.0 conflist) with capability args"
caps='{"mac":"02:00:00:00:aa:01","deviceID":"vu-6","CNIDeviceInfoFile":"'"$T"'/devinfo/dpdk-net-c1-net1.json"}'
kb_assert_rc 0 "AddNetworkList" lc add c1 -capargs "$caps"
cat "$T/lc.err" >&2
cp "$T/lc.out" "$T/add.json"
kb_assert_jq "$T/add.json" .cniVersion 1.0.0 "result version"
kb_assert_jq "$T/add.json" '.interfaces[0].mac' 02:00:00:00:aa:01 "runtimeConfig.mac (capability) applied"
kb_assert_jq "$T/add.json" '.interfaces[0].sandbox' "$NETNS" "sandbox"
kb_assert_jq "$T/add.json" '.ips[0].address' 10.95.0.2/24 "host-local address"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[0].deviceID + " " + .[0].pod.name')" "vu-6 pod-c1" \
	"deviceID capability and CNI_ARGS reached the agent"
kb_assert_eq "$(jq -r '.["vhost-user"].path' "$T/devinfo/dpdk-net-c1-net1.json")" \
	"$(kb_ctl -o json allocations | jq -r '.[0].vhostUser.socketPath')" "device-info file written"
cached=$(grep -l '"c1"' "$CACHE"/results/* 2>/dev/null | head -1)
kb_assert_ne "$cached" "" "libcni cached the result"
kb_assert_rc 0 "cached result" lc cached c1
kb_assert_eq "$(jq -cS . "$T/lc.out")" "$(jq -cS . "$T/add.json")" "cached result is the ADD result"

kb_log "CHECK with the cached prevResult"
kb_assert_rc 0 "CheckNetworkList" lc check c1 -capargs "$caps"

kb_log "CHECK fails once the agent lost the attachment"
kb_agent_stop
mv "$KB_STATE" "$T/state.saved"
kb_agent_start "$T/agent.yaml"
kb_assert_rc 1 "CheckNetworkList" lc check c1 -capargs "$caps"
kb_assert_jq "$T/lc.out" .code 103 "code 103 through libcni"
kb_agent_stop
rm -rf "$KB_STATE"
mv "$T/state.saved" "$KB_STATE"
kb_agent_start "$T/agent.yaml"
kb_assert_rc 0 "CheckNetworkList with the state back" lc check c1 -capargs "$caps"

kb_log "an error through libcni keeps its code"
kb_assert_rc 1 "ADD c2 asking for c1's device" lc add c2 -capargs '{"deviceID":"vu-6"}'
kb_assert_jq "$T/lc.out" .code 101 "code 101"
kb_assert_eq "$(allocs)" "c1" "c2 holds nothing"
kb_assert_eq "$(leases)" 1 "only c1's lease"

kb_log "DEL with the cached prevResult, then again with no cache"
kb_assert_rc 0 "DelNetworkList" lc del c1 -capargs "$caps"
kb_assert_eq "$(allocs)" "" "device released"
kb_assert_eq "$(leases)" 0 "lease released"
kb_assert_eq "$(ls "$T/devinfo")" "" "device-info file removed"
kb_assert_eq "$(ls "$CACHE/results" 2>/dev/null | wc -l)" 0 "libcni dropped its cache entry"
kb_assert_rc 0 "DelNetworkList again" lc del c1 -capargs "$caps"
# containerd's second DEL: empty netns, no cached result.
NETNS='' kb_assert_rc 0 "DelNetworkList with an empty netns" lc del c1 -capargs "$caps"

kb_log "chain kbnet + tuning: our result is tuning's prevResult and the list's result"
LIST=$(conflist list-chain.json 1.0.0 tuning)
kb_assert_rc 0 "AddNetworkList" lc add c4
cp "$T/lc.out" "$T/chain.json"
kb_assert_eq "$(ip netns exec "$ns" sysctl -n net.ipv4.ip_forward)" 1 "tuning ran after kbnet"
lease=$(ls "$T/ipam/dpdk-net" | grep '^10\.')
kb_assert_jq "$T/chain.json" '.interfaces[0].name + " " + .ips[0].address' "net1 $lease/24" \
	"kbnet's result (host-local's lease) came through tuning"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[0].mac')" "$(jq -r '.interfaces[0].mac' "$T/chain.json")" \
	"MAC of the agent's allocation"
kb_assert_rc 0 "DelNetworkList" lc del c4
kb_assert_eq "$(allocs)" "" "device released"
kb_assert_eq "$(leases)" 0 "lease released"

kb_log "0.4.0 conflist"
LIST=$(conflist list-0.4.0.json 0.4.0)
kb_assert_rc 0 "AddNetworkList" lc add c3
kb_assert_jq "$T/lc.out" .cniVersion 0.4.0 "result version"
kb_assert_jq "$T/lc.out" '.ips[0].version' 4 "0.4.0 ips carry their version"
kb_assert_rc 0 "CheckNetworkList" lc check c3
kb_assert_rc 0 "DelNetworkList" lc del c3
kb_assert_eq "$(allocs)" "" "nothing left"
kb_assert_eq "$(leases)" 0 "no lease left"

kb_log "agent IPAM (ipam type kbnet) through libcni: the ips capability, CHECK, DEL"
jq -n --arg sock "$KB_SOCK" --arg t "$T" '{
	cniVersion: "1.0.0", name: "dpdk-ipam",
	plugins: [{type: "kbnet", agentSocket: $sock, cacheDir: ($t + "/cache"),
		capabilities: {ips: true, mac: true},
		ipam: {type: "kbnet", ranges: [[{subnet: "10.96.0.0/24"}], [{subnet: "fd00:96::/64"}]],
			routes: [{dst: "0.0.0.0/0"}]}}]}' >"$T/list-ipam.json"
LIST=$T/list-ipam.json
kb_assert_rc 0 "AddNetworkList with capability ips" lc add c5 -capargs '{"ips":["10.96.0.50/24"]}'
cat "$T/lc.err" >&2
cp "$T/lc.out" "$T/ipam-add.json"
kb_assert_jq "$T/ipam-add.json" '[.ips[].address] | join(",")' "10.96.0.50/24,fd00:96::2/64" \
	"static IPv4 from runtimeConfig.ips, IPv6 from the agent"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '[.[0].ipam.ips[].address] | join(",")')" \
	"10.96.0.50/24,fd00:96::2/64" "the agent holds both with the device"
kb_assert_rc 0 "AddNetworkList without a request" lc add c6
kb_assert_jq "$T/lc.out" '[.ips[].address] | join(",")' "10.96.0.51/24,fd00:96::3/64" "next addresses (after the last handed out, as host-local)"
kb_assert_rc 0 "CheckNetworkList" lc check c5 -capargs '{"ips":["10.96.0.50/24"]}'
kb_assert_rc 1 "AddNetworkList asking for a held address" lc add c7 -capargs '{"ips":["10.96.0.50/24"]}'
kb_assert_jq "$T/lc.out" .code 105 "code 105 through libcni"
kb_assert_rc 0 "DelNetworkList c5" lc del c5 -capargs '{"ips":["10.96.0.50/24"]}'
kb_assert_rc 0 "DelNetworkList c6" lc del c6
NETNS='' kb_assert_rc 0 "DelNetworkList c6 again, empty netns" lc del c6
kb_assert_rc 0 "DelNetworkList c7 (failed ADD)" lc del c7
kb_assert_eq "$(allocs)" "" "nothing held"
kb_assert_eq "$(kb_ctl -o json status | jq .ipam.addresses)" 0 "no address held"

kb_done
