#!/usr/bin/env bash
# kbnet-cni with the real agent and host-local: ADD, idempotent ADD, CHECK, DEL (twice, with an
# empty netns), device-info file, VERSION, result formats of every version.
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_agent_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
NETNS=/run/netns/$ns
ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=8f0e0c4e-1111-2222-3333-444455556666"

# conf VERSION [extra json]: a netconf on host-local under $T.
conf() {
	local f=$T/conf-$1.json
	jq -n --arg v "$1" --arg sock "$KB_SOCK" --arg t "$T" --argjson extra "${2:-{\}}" '{
		cniVersion: $v, name: "net-a", type: "kbnet", agentSocket: $sock,
		cacheDir: ($t + "/cache"),
		ipam: {type: "host-local", subnet: "10.77.0.0/24", dataDir: ($t + "/ipam"),
			routes: [{dst: "10.99.0.0/16"}]},
		runtimeConfig: {CNIDeviceInfoFile: ($t + "/devinfo/net-a-c1-net1.json")}
	} + $extra' >"$f"
	echo "$f"
}

kb_log "VERSION"
CNI_COMMAND=VERSION "$KB_CNI_BIN/kbnet" <<<'{"cniVersion":"1.0.0"}' >"$T/v.json" # VERSION may exit before reading stdin: no pipe (SIGPIPE)
kb_assert_eq "$(jq -c . "$T/v.json")" '{"cniVersion":"1.1.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}' \
	"VERSION output"

kb_log "ADD 1.1.0 with host-local (negotiated down to 1.0.0)"
c=$(conf 1.1.0)
kb_assert_rc 0 "ADD" kb_cni ADD c1 "$NETNS" net1 "$c" "$ARGS"
cp "$T/cni.out" "$T/add1.json"
kb_assert_jq "$T/add1.json" .cniVersion 1.1.0 "result cniVersion"
kb_assert_jq "$T/add1.json" '.interfaces[0].name' net1 "interface name"
kb_assert_jq "$T/add1.json" '.interfaces[0].sandbox' "$NETNS" "interface sandbox"
kb_assert_jq "$T/add1.json" '.interfaces[0].mtu' 1500 "1.1.0 interface mtu"
kb_assert_jq "$T/add1.json" '.interfaces[0].socketPath | test("/net1.sock$")' true "1.1.0 socketPath"
kb_assert_jq "$T/add1.json" '.ips[0].address' 10.77.0.2/24 "IPAM address"
kb_assert_jq "$T/add1.json" '.ips[0].interface' 0 "ip points at interface 0"
kb_assert_jq "$T/add1.json" '.ips[0] | has("version")' false "no ip version in 1.1.0"
kb_assert_jq "$T/add1.json" '.routes[0].dst' 10.99.0.0/16 "IPAM route"
mac=$(jq -r '.interfaces[0].mac' "$T/add1.json")
sock=$(jq -r '.interfaces[0].socketPath' "$T/add1.json")
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[0].mac')" "$mac" "agent holds the MAC of the result"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[0].pod.name')" web-0 "pod from CNI_ARGS reached the agent"
kb_assert_eq "$(jq -c . "$T/devinfo/net-a-c1-net1.json")" \
	"{\"type\":\"vhost-user\",\"version\":\"1.1.0\",\"vhost-user\":{\"mode\":\"server\",\"path\":\"$sock\"}}" \
	"device-info file content"
kb_assert_eq "$(stat -c %a "$T/devinfo/net-a-c1-net1.json")" 644 "device-info file mode"

kb_log "ADD again: same result"
kb_assert_rc 0 "repeated ADD" kb_cni ADD c1 "$NETNS" net1 "$c" "$ARGS"
kb_assert_eq "$(jq -cS . "$T/cni.out")" "$(jq -cS . "$T/add1.json")" "repeated ADD returns the same result"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 1 "still one allocation"

kb_log "CHECK with prevResult"
jq --slurpfile p "$T/add1.json" '. + {prevResult: $p[0]}' "$c" >"$T/check.json"
kb_assert_rc 0 "CHECK" kb_cni CHECK c1 "$NETNS" net1 "$T/check.json" "$ARGS"

kb_log "DEL, DEL again, DEL with empty netns"
kb_assert_rc 0 "DEL" kb_cni DEL c1 "$NETNS" net1 "$c" "$ARGS"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "allocation released"
kb_assert_eq "$(ls "$T/ipam/net-a" | grep -c '^10\.')" 0 "host-local lease released"
kb_assert_eq "$(ls "$T/devinfo" | wc -l)" 0 "device-info file removed"
kb_assert_rc 0 "second DEL" kb_cni DEL c1 "$NETNS" net1 "$c" "$ARGS"
kb_assert_rc 0 "DEL with empty CNI_NETNS" kb_cni DEL c1 "" net1 "$c" "$ARGS"
kb_assert_eq "$(wc -c <"$T/cni.out")" 0 "DEL prints nothing"

kb_done
