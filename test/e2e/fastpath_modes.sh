#!/usr/bin/env bash
# Fast path off and broken: without a `fastpath:` section DPDK is never initialised and
# virtio-user devices stay allocatable (control plane only); with the fast path enabled but
# failed, virtio-user devices turn Unhealthy, attach is refused and status says why.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
kb_require_root

# ---- disabled ----
kb_agent_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.state)" disabled "no section: fast path disabled"
kb_assert_eq "$(kb_ctl -o json status | jq -r .healthy)" true "agent healthy"
kb_assert_eq "$(fp_attach p1 red 02:00:00:00:00:01 | grep -c sock)" 1 "virtio-user attach works without the fast path"
kb_assert_rc 1 "agentctl ports says the fast path is off" kb_ctl ports
{ kb_ctl ports 2>&1 || true; } | grep -q disabled && kb_pass "ports error names the reason" || kb_fail "ports error"
grep -q "EAL" "$T/agent.log" && kb_fail "DPDK was initialised" || kb_pass "no DPDK initialisation"
kb_agent_stop

# ---- enabled, failed (uplink that does not exist) ----
rm -rf "$KB_STATE"
fp_config "$T/bad.yaml" "  uplink:
    devargs: net_af_packet0,iface=kbnope$$"
# the test namespace has no such interface either
NS=$(kb_netns agent)
# JSON logs (KBNET_LOG_FORMAT, as the chart's logFormat sets it), DPDK's EAL lines included.
: >"$T/agent.log"
export KBNET_LOG_FORMAT=json
# The metrics listener inside the agent's namespace: probes see what the kubelet would.
printf 'metrics:\n  enabled: true\n  address: 127.0.0.1\n  port: 0\n' >>"$T/bad.yaml"
kb_agent_start "$T/bad.yaml" "$NS"
kb_defer "rm -rf /var/run/dpdk/$FP_PREFIX-agent"
unset KBNET_LOG_FORMAT
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.state)" failed "fast path failed"
kb_assert_eq "$(jq -R 'fromjson? // "bad" | type' "$T/agent.log" | sort -u | xargs)" object \
	"JSON log format: every line of the agent's log is a JSON object"
kb_assert_ne "$(jq -r 'select(.msg | startswith("EAL: ")) | .level' "$T/agent.log" | head -n 1)" "" \
	"DPDK EAL lines go through the agent's logger (JSON, with a level)"
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.healthy)" false "fastpath section unhealthy"
kb_assert_eq "$(kb_ctl -o json status | jq -r .healthy)" false "agent reports itself unhealthy"
# A failed module is readiness' business, not liveness': kubelet must not restart the agent.
ADDR=$(kb_ctl -o json status | jq -r .metrics.address)
probe() { ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' "http://$ADDR$1"; }
kb_assert_eq "$(probe /livez)" 200 "/livez 200 with the fast path failed (no restart loop)"
kb_assert_eq "$(probe /readyz)" 503 "/readyz 503 with the fast path failed"
kb_assert_eq "$(probe /healthz)" 503 "/healthz reports the failure"
kb_ctl -o json status | jq -r .fastpath.error | grep -q . && kb_pass "status carries the error" || kb_fail "error missing"
kb_assert_eq "$(kb_ctl -o json devices | jq '[.[] | select(.health == "Unhealthy")] | length')" 8 "virtio-user devices Unhealthy"
if fp_api attach '{"containerID":"p2","ifname":"net1","network":"red","deviceType":"virtio-user"}' 2>"$T/err"; then
	kb_fail "attach refused while the fast path is down"
else
	grep -q ENO "$T/err" && kb_pass "attach refused while the fast path is down ($(cat "$T/err"))" || kb_fail "attach error: $(cat "$T/err")"
fi
kb_done
