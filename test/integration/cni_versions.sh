#!/usr/bin/env bash
# kbnet-cni result formats of every CNI version (0.3.0 .. 1.1.0) with the reference static IPAM
# (v4 + v6, routes, DNS; static speaks at most 1.0.0, so 1.1.0 is negotiated), CHECK per version,
# MAC and deviceID precedence reaching the agent, a chained ADD with a prevResult, no IPAM.
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_agent_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
NETNS=/run/netns/$ns

conf() { # FILE VERSION [extra json]
	jq -n --arg v "$2" --arg sock "$KB_SOCK" --arg t "$T" --argjson extra "${3:-{\}}" '{
		cniVersion: $v, name: "net-v", type: "kbnet", agentSocket: $sock, cacheDir: ($t + "/cache"),
		ipam: {type: "static",
			addresses: [{address: "10.93.0.5/24", gateway: "10.93.0.1"},
				{address: "fd93::5/64", gateway: "fd93::1"}],
			routes: [{dst: "0.0.0.0/0"}, {dst: "fd94::/48", gw: "fd93::2"}],
			dns: {nameservers: ["10.93.0.53"], domain: "pod.example", search: ["example"]}}
	} + $extra' >"$T/$1"
	echo "$T/$1"
}

for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
	kb_log "cniVersion $v"
	c=$(conf "c-$v.json" "$v")
	cid=c${v//./}
	kb_assert_rc 0 "ADD $v" kb_cni ADD "$cid" "$NETNS" net1 "$c"
	out=$T/out-$v.json
	cp "$T/cni.out" "$out"
	kb_assert_jq "$out" .cniVersion "$v" "$v: cniVersion"
	kb_assert_jq "$out" '[.ips[].address] | join(",")' "10.93.0.5/24,fd93::5/64" "$v: addresses"
	kb_assert_jq "$out" '[.ips[].gateway] | join(",")' "10.93.0.1,fd93::1" "$v: gateways"
	kb_assert_jq "$out" '[.ips[].interface] | join(",")' "0,0" "$v: ips point at our interface"
	kb_assert_jq "$out" '.routes | map(.dst + "@" + (.gw // "")) | join(",")' "0.0.0.0/0@,fd94::/48@fd93::2" "$v: routes"
	kb_assert_eq "$(jq -cS .dns "$out")" '{"domain":"pod.example","nameservers":["10.93.0.53"],"search":["example"]}' "$v: dns"
	kb_assert_jq "$out" '.interfaces | length' 1 "$v: one interface"
	kb_assert_jq "$out" '.interfaces[0] | .name + " " + .sandbox' "net1 $NETNS" "$v: interface name and sandbox"
	kb_assert_jq "$out" '.interfaces[0].mac | test("^([0-9a-f]{2}:){5}[0-9a-f]{2}$")' true "$v: interface mac"
	case $v in
	0.*)
		kb_assert_jq "$out" '[.ips[].version] | join(",")' "4,6" "$v: ips carry their version"
		;;
	*)
		kb_assert_jq "$out" '[.ips[] | has("version")] | any' false "$v: ips carry no version"
		;;
	esac
	if [ "$v" = 1.1.0 ]; then
		kb_assert_jq "$out" '.interfaces[0].mtu' 1500 "$v: interface mtu"
		kb_assert_jq "$out" '.interfaces[0].socketPath | startswith("'"$KB_RUN"'/")' true "$v: socketPath"
	else
		kb_assert_jq "$out" '.interfaces[0] | has("mtu") or has("socketPath") or has("pciID")' false \
			"$v: no 1.1.0 interface fields"
	fi
	if [ "$v" != 0.3.0 ] && [ "$v" != 0.3.1 ]; then
		jq --slurpfile p "$out" '. + {prevResult: $p[0]}' "$c" >"$T/chk-$v.json"
		kb_assert_rc 0 "CHECK $v" kb_cni CHECK "$cid" "$NETNS" net1 "$T/chk-$v.json"
	fi
	kb_assert_rc 0 "DEL $v" kb_cni DEL "$cid" "$NETNS" net1 "$c"
done
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "every version released its device"

kb_log "precedence: runtimeConfig.mac > args.cni.mac > mac; runtimeConfig.deviceID > deviceID > pciBusID"
p=$(conf p.json 1.0.0 '{"ipam":{}, "mac":"02:00:00:00:00:01", "args":{"cni":{"mac":"02:00:00:00:00:02"}},
	"runtimeConfig":{"mac":"02:00:00:00:00:03","deviceID":"vu-5"}, "deviceID":"vu-4", "pciBusID":"vu-3"}')
kb_assert_rc 0 "ADD" kb_cni ADD p1 "$NETNS" net1 "$p"
kb_assert_jq "$T/cni.out" '.interfaces[0].mac' 02:00:00:00:00:03 "runtimeConfig.mac wins"
kb_assert_jq "$T/cni.out" 'has("ips")' false "ipam {} means no addresses"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[0].deviceID + " " + .[0].mac')" "vu-5 02:00:00:00:00:03" \
	"the agent got runtimeConfig's deviceID and MAC"
kb_assert_rc 0 "DEL" kb_cni DEL p1 "$NETNS" net1 "$p"
p=$(conf p2.json 1.0.0 '{"ipam":{}, "mac":"02:00:00:00:00:01", "args":{"cni":{"mac":"02:00:00:00:00:02"}}, "pciBusID":"vu-6"}')
kb_assert_rc 0 "ADD" kb_cni ADD p2 "$NETNS" net1 "$p"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[0].deviceID + " " + .[0].mac')" "vu-6 02:00:00:00:00:02" \
	"args.cni.mac over mac; pciBusID when nothing else"
kb_assert_rc 0 "DEL" kb_cni DEL p2 "$NETNS" net1 "$p"

kb_log "chained ADD: our interface is appended to prevResult"
ch=$(conf ch.json 1.0.0 '{"prevResult":{"cniVersion":"1.0.0",
	"interfaces":[{"name":"eth0","mac":"02:aa:00:00:00:01","sandbox":"'"$NETNS"'"}],
	"ips":[{"address":"192.168.9.2/24","interface":0}]}}')
kb_assert_rc 0 "ADD" kb_cni ADD ch1 "$NETNS" net1 "$ch"
kb_assert_jq "$T/cni.out" '[.interfaces[].name] | join(",")' "eth0,net1" "interfaces"
kb_assert_jq "$T/cni.out" '[.ips[] | .address + "@" + (.interface|tostring)] | join(",")' \
	"192.168.9.2/24@0,10.93.0.5/24@1,fd93::5/64@1" "ips keep their interface index"
jq --slurpfile p "$T/cni.out" '. + {prevResult: $p[0]}' "$ch" >"$T/ch-check.json"
kb_assert_rc 0 "CHECK finds net1 at index 1" kb_cni CHECK ch1 "$NETNS" net1 "$T/ch-check.json"
kb_assert_rc 0 "DEL" kb_cni DEL ch1 "$NETNS" net1 "$ch"

kb_done
