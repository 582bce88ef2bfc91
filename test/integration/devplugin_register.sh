#!/usr/bin/env bash
# Device plugins and kubelet (test/tools/kubelet-standin on grpc-go): registration when kubelet
# comes up after the agent, what ListAndWatch advertises (health, NUMA topology, per-pool
# opt-outs), agentctl's view, kubelet restarts (crash and clean) answered by re-registration
# without an agent restart and without ever advertising zero devices, and reload turning a
# plugin off and on.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/tools/kubelet-standin/standin.sh"
kb_require_standin

KB_DP_EXTRA="  checkIntervalMs: 300"
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 4
    numaNode: 0
  - name: vt
    type: virtio-user
    count: 2
    numaNode: 1
    topology: false
  - name: vo
    type: virtio-user
    count: 2
    devicePlugin: false'
cat >>"$T/agent.yaml" <<-YAML
metrics:
  enabled: true
  address: 127.0.0.1
  port: 0
YAML
# The agent first: kubelet is not there yet, and that is fine.
kb_agent_start "$T/agent.yaml"
agent_pid=$KB_AGENT_PID
kb_assert_eq "$(kb_ctl -o json pools | jq -r '.[] | select(.name=="vu") | .devicePluginStatus.registered')" \
	false "no kubelet yet: not registered"
kb_assert_eq "$(kb_ctl -o json status | jq -r '.devicePlugin.kubeletPresent')" false \
	"status: kubelet absent"

mkdir -p "$KB_KUBELET"
kb_standin_start
if kb_wait_for 10 kb_state_is '.resources["kbnet.io/vu"].connected' true; then
	kb_pass "kubelet appeared: registered and connected"
else
	kb_fail "no registration after kubelet appeared"
fi
kb_wait_for 10 kb_state_is '.resources["kbnet.io/vt"].connected' true || true
kb_standin GET /state >"$T/state.json"
kb_assert_jq "$T/state.json" '.resources | keys | join(",")' "kbnet.io/vt,kbnet.io/vu" \
	"both enabled pools registered, the opted-out one not"
kb_assert_jq "$T/state.json" '.resources["kbnet.io/vu"].endpoint' kbnet-vu.sock "endpoint"
kb_assert_jq "$T/state.json" '.resources["kbnet.io/vu"].options.get_preferred_allocation_available' \
	true "options: GetPreferredAllocation offered"
kb_assert_jq "$T/state.json" '.resources["kbnet.io/vu"].devices | map(.id) | join(",")' \
	"vu-0,vu-1,vu-2,vu-3" "ListAndWatch lists every device"
kb_assert_jq "$T/state.json" '[.resources["kbnet.io/vu"].devices[].health] | unique | join(",")' \
	Healthy "health"
kb_assert_jq "$T/state.json" '[.resources["kbnet.io/vu"].devices[].numa[]] | unique | join(",")' \
	0 "NUMA topology of the pool"
kb_assert_jq "$T/state.json" '[.resources["kbnet.io/vt"].devices[].numa | length] | add' 0 \
	"topology: false leaves topology out"
kb_assert_eq "$([ -S "$KB_DP_DIR/kbnet-vo.sock" ] && echo yes || echo no)" no \
	"no socket for devicePlugin: false"
kb_assert_eq "$(kb_dpclient options "$KB_DP_DIR/kbnet-vu.sock" | jq -r .getPreferredAllocationAvailable)" \
	true "python3-grpcio client: GetDevicePluginOptions"

addr=$(kb_ctl -o json status | jq -r .metrics.address)
curl -sS --max-time 5 "http://$addr/metrics" >"$T/metrics.txt"
kb_assert_eq "$(grep -c '^kbnet_device_plugin_registered{pool="vu",resource="kbnet.io/vu"} 1$' "$T/metrics.txt")" 1 \
	"/metrics: kbnet_device_plugin_registered"
kb_assert_eq "$(grep -c '^kbnet_device_plugin_streams{pool="vt",resource="kbnet.io/vt"} 1$' "$T/metrics.txt")" 1 \
	"/metrics: one ListAndWatch stream"
kb_assert_eq "$(grep -c '^kbnet_metrics_dropped_samples_total 0$' "$T/metrics.txt")" 1 "no sample dropped"

kb_ctl pools >"$T/pools.txt"
kb_assert_eq "$(awk '$1=="vu" {print $NF}' "$T/pools.txt")" registered "agentctl pools: vu registered"
kb_assert_eq "$(awk '$1=="vo" {print $NF}' "$T/pools.txt")" off "agentctl pools: vo off"
kb_assert_eq "$(awk '$1=="vu" {print $4, $5, $6}' "$T/pools.txt")" "4 4 0" \
	"agentctl pools: capacity, healthy, allocated"

# kubelet crashes and comes back: it empties the directory (our sockets too) and serves a new
# kubelet.sock. The agent must notice, listen again and register again, on its own.
kb_log "kubelet crash (SIGKILL) and restart"
kb_standin_stop KILL
kb_standin_start
if kb_wait_for 15 kb_state_is '[.resources[] | select(.connected)] | length' 2; then
	kb_pass "re-registered after a kubelet crash"
else
	kb_fail "no re-registration after a kubelet crash: $(kb_standin GET /state)"
fi
kb_assert_eq "$(kill -0 "$agent_pid" && echo alive)" alive "same agent process"
kb_assert_eq "$([ -S "$KB_DP_DIR/kbnet-vu.sock" ] && echo yes)" yes "socket re-created"
kb_assert_eq "$(kb_state '.resources["kbnet.io/vu"].devices | length')" 4 "all devices advertised again"

kb_log "kubelet clean restart (SIGTERM)"
kb_standin_stop TERM
kb_standin_start
if kb_wait_for 15 kb_state_is '[.resources[] | select(.connected)] | length' 2; then
	kb_pass "re-registered after a clean kubelet restart"
else
	kb_fail "no re-registration after a clean restart"
fi
# Every ListAndWatch message the kubelets saw carried the whole pool: never zero devices.
kb_assert_eq "$(kb_state '[.resources[].counts[]] | min')" 2 "never an empty device list"
kb_assert_eq "$(kb_ctl -o json pools | jq -r '.[] | select(.name=="vu") | .devicePluginStatus.registrations >= 3')" \
	true "agentctl: three registrations counted"

# The socket vanishes while kubelet stays (someone cleaned the directory): back, and registered.
rm -f "$KB_DP_DIR/kbnet-vu.sock"
if kb_wait_for 10 test -S "$KB_DP_DIR/kbnet-vu.sock"; then kb_pass "removed socket re-created"; else
	kb_fail "removed socket not re-created"; fi
kb_wait_for 10 kb_state_is '.resources["kbnet.io/vu"].connected' true && kb_pass "and registered again" ||
	kb_fail "not registered again after the socket was removed"

# Reload: vu off -> its socket goes and kubelet's stream ends; on again -> back.
sed -i '/name: vu$/a\    devicePlugin: false' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
if kb_wait_for 10 kb_state_is '.resources["kbnet.io/vu"].connected' false; then
	kb_pass "reload devicePlugin: false ends the plugin"
else
	kb_fail "plugin still connected after devicePlugin: false"
fi
kb_assert_eq "$([ -S "$KB_DP_DIR/kbnet-vu.sock" ] && echo yes || echo no)" no "its socket removed"
sed -i '/devicePlugin: false/{x;s/^/x/;/^x$/{x;d};x}' "$T/agent.yaml" # drop the first one only
kill -HUP "$KB_AGENT_PID"
if kb_wait_for 10 kb_state_is '.resources["kbnet.io/vu"].connected' true; then
	kb_pass "reload devicePlugin back on: registered again"
else
	kb_fail "not registered after re-enabling"
fi

# Stopping the agent removes its sockets.
kb_agent_stop
kb_assert_eq "$(ls "$KB_DP_DIR" | grep -c '^kbnet-' || true)" 0 "agent stop removes its sockets"
kb_done
