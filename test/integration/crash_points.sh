#!/usr/bin/env bash
# kill -9 at every step of an ADD and a DEL (node-agent/common/crashpoint.h: KBNET_CRASH_AT
# makes kbnet-cni or kbnet-agent SIGKILL itself at a named step): before and after the
# agent's commit, during the IPAM call, after the IPAM lease, after the device-info file.
# After each crash the runtime does what it does (DEL after a failed ADD, DEL retried until it
# succeeds, then the pod's ADD and DEL again), the agent restarted when it was the one killed.
# Then nothing may be left: no allocation, no device held twice, no host-local lease, no
# socket directory, no device-info file, no cached result. Then the same with agent IPAM:
# device and address always held together, never one without the other.
source "$(dirname "$0")/../lib.sh"
kb_require_root
[ -x /usr/lib/cni/host-local ] || kb_skip "host-local not installed (containernetworking-plugins)"
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 4'
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
NETNS=/run/netns/$ns
jq -n --arg sock "$KB_SOCK" --arg t "$T" '{cniVersion: "1.0.0", name: "net-a", type: "kbnet",
	agentSocket: $sock, cacheDir: ($t + "/cache"), agentTimeoutMs: 3000,
	ipam: {type: "host-local", dataDir: ($t + "/ipam"),
		ranges: [[{subnet: "10.77.0.0/24", rangeStart: "10.77.0.10", rangeEnd: "10.77.0.20"}]]}}' >"$T/base.json"
# Multus names the device-info file per attachment.
conf() { jq --arg f "$T/devinfo/net-a-$1-net1.json" '.runtimeConfig.CNIDeviceInfoFile = $f' "$T/base.json" >"$T/$1.json"; echo "$T/$1.json"; }
add() { kb_cni ADD "$1" "$NETNS" net1 "$(conf "$1")"; }
del() { kb_cni DEL "$1" "$NETNS" net1 "$(conf "$1")"; }
agent_alive() { [ -n "$KB_AGENT_PID" ] && [ -d "/proc/$KB_AGENT_PID" ] && ! grep -q "^State:.*Z" "/proc/$KB_AGENT_PID/status" 2>/dev/null; }
restart_agent() {
	kb_agent_stop KILL
	kb_agent_start "$T/agent.yaml"
}
# The runtime: DEL until it succeeds (the agent restarted if it died).
runtime_del() {
	local i
	for i in 1 2 3 4 5; do
		agent_alive || restart_agent
		del "$1" && return 0
	done
	return 1
}
leftovers() {
	local n
	n=$(kb_ctl -o json allocations | jq length)
	[ "$n" = 0 ] || echo "allocations: $(kb_ctl -o json allocations | jq -c '[.[] | .containerID + "/" + .deviceID]')"
	[ "$(kb_ctl -o json pools | jq '.[0].free')" = 4 ] || echo "free devices: $(kb_ctl -o json pools | jq '.[0].free')"
	n=$(ls "$T/ipam/net-a" 2>/dev/null | grep -c '^10\.' || true)
	[ "$n" = 0 ] || echo "leases: $(ls "$T/ipam/net-a" | grep '^10\.' | tr '\n' ' ')"
	n=$(ls "$KB_RUN/pods" 2>/dev/null | wc -l)
	[ "$n" = 0 ] || echo "socket dirs: $(ls "$KB_RUN/pods" | tr '\n' ' ')"
	n=$(ls -A "$T/devinfo" 2>/dev/null | wc -l)
	[ "$n" = 0 ] || echo "device-info files: $(ls -A "$T/devinfo" | tr '\n' ' ')"
	n=$(ls "$T/cache/net-a" 2>/dev/null | wc -l)
	[ "$n" = 0 ] || echo "cached results: $(ls "$T/cache/net-a" | tr '\n' ' ')"
}
# Two devices held by one attachment, or one device by two, would show in the agent's view.
held_twice() {
	kb_ctl -o json devices | jq -r '[.[] | select(.holder != null) | .holder.containerID] | group_by(.) | map(select(length > 1)) | length'
}

check_clean() { # LABEL
	local l
	l=$(leftovers)
	if [ -z "$l" ]; then kb_pass "$1: nothing left"; else kb_fail "$1: left: $l"; fi
}

n=0
for step in cni-add-attached cni-add-ipam-running cni-add-ipam-done cni-add-devinfo; do
	n=$((n + 1)); c=k$n
	kb_log "kbnet-cni killed at $step during ADD"
	rc=0; KBNET_CRASH_AT=$step add "$c" || rc=$?
	kb_assert_eq "$rc" 137 "$step: the plugin was killed"
	kb_assert_eq "$(held_twice)" 0 "$step: no device held twice"
	# containerd tears the attachment down after a failed ADD, then the pod is retried.
	kb_assert_rc 0 "$step: runtime DEL after the failed ADD" runtime_del "$c"
	kb_assert_rc 0 "$step: ADD again" add "$c"
	kb_assert_rc 0 "$step: DEL" del "$c"
	check_clean "$step"
done
for step in cni-del-detached cni-del-ipam-done; do
	n=$((n + 1)); c=k$n
	kb_log "kbnet-cni killed at $step during DEL"
	kb_assert_rc 0 "$step: ADD" add "$c"
	rc=0; KBNET_CRASH_AT=$step del "$c" || rc=$?
	kb_assert_eq "$rc" 137 "$step: the plugin was killed"
	kb_assert_rc 0 "$step: DEL retried" runtime_del "$c"
	check_clean "$step"
done
for step in agent-attach-buffered agent-committed; do
	n=$((n + 1)); c=k$n
	kb_log "kbnet-agent killed at $step during ADD"
	kb_agent_stop
	KBNET_CRASH_AT=$step kb_agent_start "$T/agent.yaml"
	rc=0; add "$c" || rc=$?
	kb_assert_eq "$rc" 1 "$step: ADD fails"
	kb_assert_jq "$T/cni.out" .code 11 "$step: code 11 (try again)"
	agent_alive && kb_fail "$step: the agent did not die" || kb_pass "$step: the agent was killed"
	restart_agent
	kb_assert_eq "$(held_twice)" 0 "$step: no device held twice after the restart"
	kb_assert_rc 0 "$step: runtime DEL" runtime_del "$c"
	kb_assert_rc 0 "$step: ADD again" add "$c"
	kb_assert_rc 0 "$step: DEL" del "$c"
	check_clean "$step"
done
for step in agent-detach-buffered agent-committed; do
	n=$((n + 1)); c=k$n
	kb_log "kbnet-agent killed at $step during DEL"
	kb_agent_stop
	kb_agent_start "$T/agent.yaml"
	kb_assert_rc 0 "$step: ADD" add "$c"
	kb_agent_stop
	KBNET_CRASH_AT=$step kb_agent_start "$T/agent.yaml"
	rc=0; del "$c" || rc=$?
	kb_assert_eq "$rc" 1 "$step: DEL fails"
	agent_alive && kb_fail "$step: the agent did not die" || kb_pass "$step: the agent was killed"
	restart_agent
	kb_assert_rc 0 "$step: DEL retried" runtime_del "$c"
	check_clean "$step"
done
# Agent IPAM (ipam type kbnet): device and addresses in one record, so every kill point must
# leave either both or neither, and nothing once the runtime's DELs are through.
kb_log "agent IPAM"
jq '.ipam = {type: "kbnet", ranges: [[{subnet: "10.78.0.0/24", rangeStart: "10.78.0.10", rangeEnd: "10.78.0.20"}]]}' \
	"$T/base.json" >"$T/base-ipam.json"
mv "$T/base-ipam.json" "$T/base.json"
# Every allocation holds its address and no address is held without one (status counts the
# addresses the agent holds, allocations the devices).
paired() {
	local allocs addrs
	allocs=$(kb_ctl -o json allocations | jq '[.[] | select((.ipam.ips | length) == 1)] | length')
	addrs=$(kb_ctl -o json status | jq .ipam.addresses)
	[ "$allocs" = "$(kb_ctl -o json allocations | jq length)" ] && [ "$allocs" = "$addrs" ] && echo yes || echo "no: $allocs allocations with an address, $addrs addresses"
}
for step in cni-add-attached cni-add-devinfo; do
	n=$((n + 1)); c=k$n
	kb_log "agent IPAM: kbnet-cni killed at $step during ADD"
	rc=0; KBNET_CRASH_AT=$step add "$c" || rc=$?
	kb_assert_eq "$rc" 137 "ipam $step: the plugin was killed"
	kb_assert_eq "$(paired)" yes "ipam $step: device and address held together"
	kb_assert_rc 0 "ipam $step: runtime DEL after the failed ADD" runtime_del "$c"
	kb_assert_rc 0 "ipam $step: ADD again" add "$c"
	kb_assert_jq "$T/cni.out" '.ips[0].address | startswith("10.78.0.")' true "ipam $step: address from the agent"
	kb_assert_rc 0 "ipam $step: DEL" del "$c"
	check_clean "ipam $step"
	kb_assert_eq "$(kb_ctl -o json status | jq .ipam.addresses)" 0 "ipam $step: no address held"
done
n=$((n + 1)); c=k$n
kb_log "agent IPAM: kbnet-cni killed at cni-del-detached during DEL"
kb_assert_rc 0 "ipam cni-del-detached: ADD" add "$c"
rc=0; KBNET_CRASH_AT=cni-del-detached del "$c" || rc=$?
kb_assert_eq "$rc" 137 "ipam cni-del-detached: the plugin was killed"
kb_assert_eq "$(kb_ctl -o json status | jq .ipam.addresses)" 0 "ipam cni-del-detached: the address went with the device"
kb_assert_rc 0 "ipam cni-del-detached: DEL retried" runtime_del "$c"
check_clean "ipam cni-del-detached"
for step in agent-ipam-picked agent-attach-buffered agent-committed; do
	n=$((n + 1)); c=k$n
	kb_log "agent IPAM: kbnet-agent killed at $step during ADD"
	kb_agent_stop
	KBNET_CRASH_AT=$step kb_agent_start "$T/agent.yaml"
	rc=0; add "$c" || rc=$?
	kb_assert_jq "$T/cni.out" .code 11 "ipam $step: code 11 (try again)"
	agent_alive && kb_fail "ipam $step: the agent did not die" || kb_pass "ipam $step: the agent was killed"
	restart_agent
	kb_assert_eq "$(paired)" yes "ipam $step: device and address held together after the restart"
	kb_assert_eq "$(held_twice)" 0 "ipam $step: no device held twice after the restart"
	kb_assert_rc 0 "ipam $step: runtime DEL" runtime_del "$c"
	kb_assert_rc 0 "ipam $step: ADD again" add "$c"
	kb_assert_rc 0 "ipam $step: DEL" del "$c"
	check_clean "ipam $step"
	kb_assert_eq "$(kb_ctl -o json status | jq .ipam.addresses)" 0 "ipam $step: no address held"
done
for step in agent-detach-buffered agent-committed; do
	n=$((n + 1)); c=k$n
	kb_log "agent IPAM: kbnet-agent killed at $step during DEL"
	kb_agent_stop
	kb_agent_start "$T/agent.yaml"
	kb_assert_rc 0 "ipam $step: ADD" add "$c"
	kb_agent_stop
	KBNET_CRASH_AT=$step kb_agent_start "$T/agent.yaml"
	rc=0; del "$c" || rc=$?
	kb_assert_eq "$rc" 1 "ipam $step: DEL fails"
	restart_agent
	kb_assert_eq "$(paired)" yes "ipam $step: device and address held together after the restart"
	kb_assert_rc 0 "ipam $step: DEL retried" runtime_del "$c"
	check_clean "ipam $step"
	kb_assert_eq "$(kb_ctl -o json status | jq .ipam.addresses)" 0 "ipam $step: no address held"
done
kb_log "$n kill points covered"
kb_done
