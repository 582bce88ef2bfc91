#!/usr/bin/env bash
# Fault injection on the device-plugin side. kubelet restart storms: kubelet-standin (grpc-go)
# killed (SIGKILL, sockets left behind) or stopped (SIGTERM) and started again, emptying the
# device-plugin directory as kubelet's device manager does, KB_FAULT_RESTARTS times (30).
# Meanwhile the API server (apiserver-standin) flaps: killed and restarted on the same port,
# or frozen (SIGSTOP) and thawed. After every kubelet restart the plugins register again, and
# no ListAndWatch message any kubelet received ever advertised fewer devices, or fewer healthy
# devices, than the pools have (capacity zero would make the scheduler evict or refuse pods).
# A device held across the storm stays held, and the agent's API answers throughout.
source "$(dirname "$0")/../lib.sh"
kb_require_root
. "$ROOT/test/tools/kubelet-standin/standin.sh"
kb_require_standin
source "$ROOT/test/tools/apiserver-standin/standin.sh"
for c in openssl curl jq; do command -v $c >/dev/null || kb_skip "$c not installed (hack/deps.txt)"; done
RESTARTS=${KB_FAULT_RESTARTS:-30}

standin_certs "$T/pki"
mkdir -p "$T/sa"
cp "$T/pki/ca.crt" "$T/sa/ca.crt"
echo tok-1 >"$T/sa/token"
standin_start --token tok-1
api_port=$STANDIN_PORT
spod default web-0 node-a >/dev/null

KB_DP_EXTRA="  checkIntervalMs: 300
  reconcileIntervalMs: 500
  gracePeriodMs: 600000"
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 4
  - name: vt
    type: virtio-user
    count: 2'
cat >>"$T/agent.yaml" <<-YAML
kubernetes:
  enabled: true
  tokenFile: $T/sa/token
  caFile: $T/sa/ca.crt
  requestTimeoutSeconds: 2
  watchTimeoutSeconds: 4
  backoffMaxSeconds: 1
YAML
export KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$api_port NODE_NAME=node-a
mkdir -p "$KB_KUBELET"
kb_standin_start
kb_agent_start "$T/agent.yaml"
both_connected() { kb_state_is '[.resources[] | select(.connected)] | length' 2; }
kb_wait_for 15 both_connected || kb_fail "not registered at start: $(kb_standin GET /state)"

# A pod holds a device kubelet assigned to it, through everything below.
kb_standin POST /admit '{"namespace":"default","name":"web-0","resource":"kbnet.io/vu","count":1}' >"$T/admit.json"
X=$(jq -r '.devices[0]' "$T/admit.json")
hold() {
	kb_api attach "{\"containerID\":\"cw\",\"ifname\":\"net1\",\"network\":\"dpdk\",
		\"deviceType\":\"virtio-user\",\"deviceID\":\"$X\",\"pod\":{\"namespace\":\"default\",\"name\":\"web-0\"}}" >"$T/a.json" || true
	[ "$(jq -r .ok "$T/a.json")" = true ]
}
kb_wait_for 10 hold || kb_fail "web-0 attach of $X: $(cat "$T/a.json")"

# check_lw: every ListAndWatch message this kubelet saw had the whole pool, all healthy.
bad=0 msgs=0
check_lw() {
	kb_standin GET /state >"$T/state.json" || return 0
	local min_vu min_vt minh_vu minh_vt
	min_vu=$(jq '[.resources["kbnet.io/vu"].counts[]?] | min // 4' "$T/state.json")
	min_vt=$(jq '[.resources["kbnet.io/vt"].counts[]?] | min // 2' "$T/state.json")
	minh_vu=$(jq '[.resources["kbnet.io/vu"].healthyCounts[]?] | min // 4' "$T/state.json")
	minh_vt=$(jq '[.resources["kbnet.io/vt"].healthyCounts[]?] | min // 2' "$T/state.json")
	msgs=$((msgs + $(jq '[.resources[].healthyCounts | length] | add // 0' "$T/state.json")))
	if [ "$min_vu$min_vt$minh_vu$minh_vt" != 4242 ]; then
		bad=$((bad + 1))
		echo "# restart $1: fewest devices vu $min_vu (healthy $minh_vu), vt $min_vt (healthy $minh_vt)"
	fi
}

api_up=1 restarts=0 flaps=0 api_slow=0
regs0=$(kb_ctl -o json pools | jq '[.[] | select(.devicePluginStatus) | .devicePluginStatus.registrations] | add')
for i in $(seq 1 "$RESTARTS"); do
	case $((i % 4)) in # the API server flaps every other restart, two ways
	1) kill "$STANDIN_PID"; wait "$STANDIN_PID" 2>/dev/null || true; api_up=0; flaps=$((flaps + 1)) ;;
	2) standin_start --token tok-1 --port "$api_port" || kb_fail "API server restart on $api_port"
	   api_up=1 ;;
	3) kill -STOP "$STANDIN_PID"; flaps=$((flaps + 1)) ;;
	0) kill -CONT "$STANDIN_PID" ;;
	esac
	check_lw "$i"
	if [ $((i % 2)) -eq 0 ]; then sig=KILL; else sig=TERM; fi
	kb_standin_stop "$sig"
	kb_standin_start || kb_fail "kubelet-standin restart $i"
	restarts=$((restarts + 1))
	if ! kb_wait_for 20 both_connected; then
		kb_fail "restart $i ($sig): not registered again: $(kb_standin GET /state | jq -c '.resources | map_values({connected, lastError})')"
		break
	fi
	# The agent's own API stays quick whatever the API server does.
	t0=$(date +%s%N)
	kb_ctl status >/dev/null || kb_fail "restart $i: agentctl status failed"
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 2000 ] || api_slow=$((api_slow + 1))
done
check_lw final
kill -CONT "$STANDIN_PID" 2>/dev/null || true
[ $api_up = 1 ] || true

kb_log "faults injected: $restarts kubelet restarts ($((RESTARTS / 2)) SIGKILL, $(((RESTARTS + 1) / 2)) SIGTERM, plugin dir emptied each time), $flaps API server flaps (killed or frozen)"
kb_assert_eq "$restarts" "$RESTARTS" "every kubelet restart done"
kb_log "ListAndWatch messages checked: $msgs"
[ "$msgs" -ge $((2 * RESTARTS)) ] || kb_fail "only $msgs ListAndWatch messages seen by the kubelets"
kb_assert_eq "$bad" 0 "no ListAndWatch message ever advertised fewer (or fewer healthy) devices than the pools have"
regs=$(kb_ctl -o json pools | jq '[.[] | select(.devicePluginStatus) | .devicePluginStatus.registrations] | add')
kb_log "registrations: $regs0 before the storm, $regs after"
if [ $((regs - regs0)) -ge $((2 * RESTARTS)) ]; then kb_pass "both plugins registered again after every restart ($((regs - regs0)))"; else
	kb_fail "registrations during the storm: $((regs - regs0)), want >= $((2 * RESTARTS))"; fi
kb_assert_eq "$api_slow" 0 "the agent's API answered within 2 s after every restart"
kb_assert_eq "$(kb_ctl -o json devices | jq -r --arg x "$X" '.[] | select(.id == $x) | .holder.containerID')" cw \
	"$X still held by web-0's attachment"
kb_assert_eq "$(kb_ctl -o json pools | jq '[.[].healthy] | add')" 6 "every device healthy"
kb_assert_eq "$(kill -0 "$KB_AGENT_PID" && echo alive)" alive "same agent process throughout"

kb_agent_stop
if grep -E 'Sanitizer|runtime error' "$T/agent.log" >/dev/null; then
	kb_fail "sanitizer report in the agent log"
	grep -E -A20 'Sanitizer|runtime error' "$T/agent.log" | head -40
fi
kb_done
