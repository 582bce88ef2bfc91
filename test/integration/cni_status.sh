#!/usr/bin/env bash
# kbnet-cni STATUS asks the agent whether an ADD of the netconf would find a device, and the
# agent answers by attach's own pool rule: several pools of one type need resourceName (as
# ADD does), a foreign resource prefix or an unknown pool is no pool, an exhausted pool is
# code 50. ADD and STATUS agree in every case.
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_agent_config "$T/agent.yaml" '  - name: vu-a
    type: virtio-user
    count: 1
  - name: vu-b
    type: virtio-user
    count: 2'
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
NETNS=/run/netns/$ns

conf() { # FILE [extra json]
	jq -n --arg sock "$KB_SOCK" --arg t "$T" --argjson extra "${2:-{\}}" '{
		cniVersion: "1.1.0", name: "net-s", type: "kbnet", agentSocket: $sock,
		cacheDir: ($t + "/cache"), deviceType: "virtio-user"
	} + $extra' >"$T/$1"
	echo "$T/$1"
}
# status_err CODE MSG DESCRIPTION CONF
status_err() {
	local rc=0
	kb_cni STATUS "" "" "" "$4" || rc=$?
	kb_assert_ne "$rc" 0 "$3: exit status"
	kb_assert_jq "$T/cni.out" .code "$1" "$3: code"
	if grep -q -- "$2" "$T/cni.out"; then kb_pass "$3: message names '$2'"; else
		kb_fail "$3: message lacks '$2': $(cat "$T/cni.out")"; fi
}

kb_log "two pools of the type, no resourceName: STATUS and ADD refuse alike"
any=$(conf any.json)
status_err 50 "set resourceName" "STATUS" "$any"
kb_cni ADD c0 "$NETNS" net1 "$any" || true
kb_assert_jq "$T/cni.out" .code 7 "ADD: code 7 (the same rule)"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "nothing allocated"

kb_log "resourceName picks the pool (name or <prefix>/<name>)"
a=$(conf a.json '{"resourceName":"kbnet.io/vu-a"}')
b=$(conf b.json '{"resourceName":"vu-b"}')
kb_assert_rc 0 "STATUS kbnet.io/vu-a" kb_cni STATUS "" "" "" "$a"
kb_assert_rc 0 "STATUS vu-b" kb_cni STATUS "" "" "" "$b"
kb_assert_rc 0 "ADD on vu-a" kb_cni ADD c1 "$NETNS" net1 "$a"
status_err 50 "no free device" "STATUS vu-a exhausted" "$a"
kb_cni ADD c2 "$NETNS" net1 "$a" || true
kb_assert_jq "$T/cni.out" .code 100 "ADD on the exhausted vu-a: code 100"
kb_assert_rc 0 "STATUS vu-b still has devices" kb_cni STATUS "" "" "" "$b"

kb_log "a pool this agent does not serve"
status_err 50 "not served by this agent" "STATUS other.io/vu-a" "$(conf o.json '{"resourceName":"other.io/vu-a"}')"
status_err 50 "unknown pool" "STATUS nopool" "$(conf n.json '{"resourceName":"nopool"}')"
kb_cni ADD c3 "$NETNS" net1 "$T/o.json" || true
kb_assert_jq "$T/cni.out" .code 7 "ADD other.io/vu-a: code 7"

kb_log "freed again"
kb_assert_rc 0 "DEL c1" kb_cni DEL c1 "$NETNS" net1 "$a"
kb_assert_rc 0 "STATUS vu-a after DEL" kb_cni STATUS "" "" "" "$a"
kb_done
