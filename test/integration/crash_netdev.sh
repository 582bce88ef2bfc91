#!/usr/bin/env bash
# kill -9 of kbnet-agent during the netdev move of an SR-IOV VF and of a virtio-vdpa device (KBNET_CRASH_AT=
# agent-netdev-moved: the VF netdev is in the pod's namespace, the allocation not committed).
# After the restart, the runtime's DEL and a repeated ADD/DEL must leave the VF back on the
# host under its own name, held by nobody, no intent left (alloc_intent_save).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root
[ -x "$TOOLS/pfsim" ] || kb_skip "pfsim not built ($TOOLS/pfsim): make tests"

HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
fx_agent_config "$T/agent.yaml" '  - name: intel_vf
    type: sriov-vf
    pfNames: ["kbpfa0#0-0"]
  - name: vdpa_net
    type: vdpa
    vdpaType: virtio'
kb_cni_setup
POD=$(kb_netns pod)
NETNS=/var/run/netns/$POD
jq -n --arg sock "$KB_SOCK" --arg t "$T" '{cniVersion: "1.0.0", name: "sriov-net", type: "kbnet",
	agentSocket: $sock, cacheDir: ($t + "/cache"), deviceType: "sriov-vf",
	resourceName: "kbnet.io/intel_vf", agentTimeoutMs: 3000}' >"$T/n.json"
host_links() { ip -n "$HOST" -j link show | jq -r '[.[].ifname] | sort | join(",")'; }
pod_links() { ip -n "$POD" -j link show | jq -r '[.[].ifname | select(. != "lo")] | sort | join(",")'; }

# crash_case LABEL NETCONF: the agent killed right after moving the netdev, then the runtime.
crash_case() {
	local label=$1 conf=$2 gone _
	kb_log "$label"
	KBNET_CRASH_AT=agent-netdev-moved kb_agent_start "$T/agent.yaml" "$HOST"
	before=$(host_links)
	rc=0; kb_cni ADD c1 "$NETNS" net1 "$conf" || rc=$?
	kb_assert_eq "$rc" 1 "$label: ADD fails: the agent died during the move"
	gone=no
	for _ in $(seq 100); do # ip netns exec reaps the agent, then exits (a zombie until waited)
		if [ ! -d "/proc/$KB_AGENT_PID" ] || grep -q "^State:.*Z" "/proc/$KB_AGENT_PID/status"; then
			gone=yes; break; fi
		sleep 0.05
	done
	kb_assert_eq "$gone" yes "$label: the agent was killed after the move"
	kb_assert_eq "$(pod_links)" net1 "$label: the netdev sits in the pod as net1"
	kb_agent_stop KILL
	kb_agent_start "$T/agent.yaml" "$HOST"
	kb_assert_rc 0 "$label: runtime DEL after the failed ADD" kb_cni DEL c1 "$NETNS" net1 "$conf"
	kb_assert_rc 0 "$label: ADD again" kb_cni ADD c1 "$NETNS" net1 "$conf"
	kb_assert_eq "$(pod_links)" net1 "$label: the netdev is net1 in the pod"
	kb_assert_rc 0 "$label: DEL" kb_cni DEL c1 "$NETNS" net1 "$conf"
	kb_assert_eq "$(pod_links)" "" "$label: nothing left in the pod"
	kb_assert_eq "$(host_links)" "$before" "$label: the netdev is back on the host under its name"
	kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "$label: no allocation"
	kb_assert_eq "$(ls "$KB_RUN/intents" 2>/dev/null | wc -l)" 0 "$label: no intent left"
	if grep -q "undid the unfinished attach of c1/net1" "$T/agent.log"; then
		kb_pass "$label: the restart undid the move"; else kb_fail "$label: no undo logged"; fi
	kb_agent_stop
	: >"$T/agent.log"
}
crash_case "SR-IOV VF netdev" "$T/n.json"
jq '.deviceType = "vdpa" | .resourceName = "kbnet.io/vdpa_net"' "$T/n.json" >"$T/v.json"
crash_case "virtio-vdpa netdev" "$T/v.json"
kb_done
