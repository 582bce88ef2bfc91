#!/usr/bin/env bash
# storm_cni: 200 concurrent ADD/DEL through the real kbnet-cni with host-local IPAM, run the
# way a runtime runs them (test/tools/cnistorm). Audited from outside: no device (MAC) or IP
# held by two containers at once, every allocation the agent reports belongs to a completed
# ADD without DEL and vice versa, host-local leases match, nothing leaked after DEL.
#   A: 200 containers, 32 at a time, 30% keep their attachment, then DEL for all
#   B: exhaustion, 200 containers 64 at a time: 24 devices (the agent refuses), then 29
#      addresses for 64 devices (IPAM fails after the attach); failed ADDs must leave nothing
#      behind on their own
#   C: kill -9 and SIGTERM restarts of the agent in the middle of a storm
#   D: agent IPAM (ipam type kbnet, no exec): D1 200 containers with a kill -9 of the agent in
#      the middle, no address or device held twice, every device with its address and the
#      reverse; D2 29 addresses for 64 devices: ADDs refused with code 104 hold nothing
source "$(dirname "$0")/../lib.sh"
kb_require_root
PY=/usr/bin/python3
[ -x "$PY" ] || kb_skip "needs /usr/bin/python3 (hack/deps.txt: python3)"
[ -x "$BIN/kbnet-cni" ] || kb_skip "kbnet-cni is not built"
[ -x /usr/lib/cni/host-local ] || kb_skip "needs host-local (containernetworking-plugins)"
STORM=$ROOT/test/tools/cnistorm/cnistorm.py
kb_cni_setup
ns=$(kb_netns storm)
NETNS=/run/netns/$ns
mkdir -p "$T/devinfo"

pools() { printf '  - name: vu\n    type: virtio-user\n    count: %s\n' "$1"; }
# conf NAME SUBNET: a kbnet netconf on host-local, everything under $T.
conf() {
	jq -n --arg name "$1" --arg subnet "$2" --arg sock "$KB_SOCK" --arg t "$T" '{
		cniVersion: "1.0.0", name: $name, type: "kbnet", agentSocket: $sock,
		agentTimeoutMs: 5000, cacheDir: ($t + "/cache"),
		ipam: {type: "host-local", subnet: $subnet, dataDir: ($t + "/ipam")}
	}' >"$T/$1.json"
	echo "$T/$1.json"
}
storm() { # LOG CONF [options]
	local log=$1 c=$2
	shift 2
	"$PY" "$STORM" run --plugin "$KB_CNI_BIN/kbnet" --cni-path "$KB_CNI_PATH" --conf "$c" \
		--netns "$NETNS" --devinfo-dir "$T/devinfo" --log "$log" "$@"
}
# aconf NAME SUBNET: the same on agent IPAM.
aconf() {
	jq -n --arg name "$1" --arg subnet "$2" --arg sock "$KB_SOCK" --arg t "$T" '{
		cniVersion: "1.0.0", name: $name, type: "kbnet", agentSocket: $sock,
		agentTimeoutMs: 5000, cacheDir: ($t + "/cache"),
		ipam: {type: "kbnet", subnet: $subnet}
	}' >"$T/$1.json"
	echo "$T/$1.json"
}
# audit NAME LOG NETWORK [--expect-empty]
audit() {
	local name=$1 log=$2 net=$3 rc=0
	shift 3
	kb_ctl -o json allocations >"$T/allocs.json"
	"$PY" "$STORM" check --log "$log" --allocations "$T/allocs.json" --leases "$T/ipam/$net" \
		"$@" >"$T/audit.out" 2>&1 || rc=$?
	sed 's/^/    /' "$T/audit.out"
	kb_assert_eq "$rc" 0 "$name"
}
# No leftovers on disk once everything is deleted.
nothing_left() {
	kb_assert_eq "$(find "$KB_RUN/pods" -mindepth 1 2>/dev/null | wc -l)" 0 "$1: no pod socket directories left"
	find "$KB_RUN/pods" -mindepth 1 2>/dev/null | head -5 | sed 's/^/    left: /' 
	kb_assert_eq "$(ls "$T/devinfo" | wc -l)" 0 "$1: no device-info files left"
	kb_assert_eq "$(find "$T/cache" -type f 2>/dev/null | wc -l)" 0 "$1: no cached results left"
	kb_assert_eq "$(kb_ctl -o json pools | jq '[.[].allocated] | add')" 0 "$1: pool counters at 0"
}
# Agent-side sampler: a device never appears twice in one allocation list.
sampler() {
	while :; do
		kb_ctl -o json allocations 2>/dev/null |
			jq -e '(map(.deviceID) | length) != (map(.deviceID) | unique | length)' >/dev/null &&
			echo "duplicate device in: $(kb_ctl -o json allocations | jq -c 'map(.deviceID)')"
		sleep 0.05
	done
}

# 96 devices: enough for the kept 30% plus 32 in flight, few enough that devices are reused
# (the MAC-interval audit needs reuse to mean something).
kb_agent_config "$T/agent.yaml" "$(pools 96)"
kb_agent_start "$T/agent.yaml"

kb_log "A: 200 ADD/DEL on 96 devices, 32 at a time, 30% kept"
sampler >"$T/sampler-a.log" 2>&1 &
SAMPLER=$!
kb_defer "kill $SAMPLER"
c=$(conf storm-a 10.78.0.0/22)
storm "$T/a.log" "$c" --prefix a --count 200 --concurrency 32 --keep 0.3 --hold-ms 50
kill "$SAMPLER"
audit "A: audit after the storm" "$T/a.log" storm-a
kb_assert_eq "$(jq -s '[.[] | select(.op == "ADD" and .rc == 0) | .mac] | length - (unique | length) > 20' "$T/a.log")" \
	true "A: devices were reused by later containers"
kb_assert_eq "$(cat "$T/sampler-a.log")" "" "A: the agent never listed a device twice"
"$PY" "$STORM" del-all --plugin "$KB_CNI_BIN/kbnet" --cni-path "$KB_CNI_PATH" --conf "$c" \
	--netns "$NETNS" --devinfo-dir "$T/devinfo" --log "$T/a.log" --concurrency 32 ||
	kb_fail "A: DEL for all succeeds"
audit "A: audit after DEL for all" "$T/a.log" storm-a --expect-empty
nothing_left A

kb_log "B1: pool exhaustion: 24 devices for 200 containers, 64 at a time"
kb_agent_stop TERM
kb_agent_config "$T/agent.yaml" "$(pools 24)"
kb_agent_start "$T/agent.yaml"
c=$(conf storm-b1 10.79.0.0/24)
storm "$T/b1.log" "$c" --prefix b --count 200 --concurrency 64 --keep 0 --hold-ms 30 --no-del-failed
audit "B1: ADDs refused by the agent left nothing, DELs released everything" "$T/b1.log" storm-b1 \
	--expect-empty
kb_assert_eq "$(jq -s '[.[] | select(.op == "ADD" and .rc != 0 and (.msg | test("no free device")))] | length > 0' "$T/b1.log")" \
	true "B1: some ADDs hit the empty pool"
nothing_left B1

kb_log "B2: IPAM exhaustion after attach: 64 devices, 29 addresses, 64 at a time"
kb_agent_stop TERM
kb_agent_config "$T/agent.yaml" "$(pools 64)"
kb_agent_start "$T/agent.yaml"
c=$(conf storm-b2 10.79.1.0/27)
storm "$T/b2.log" "$c" --prefix b --count 200 --concurrency 64 --keep 0 --hold-ms 30 --no-del-failed
audit "B2: ADDs failing in IPAM rolled their attach back" "$T/b2.log" storm-b2 --expect-empty
kb_assert_eq "$(jq -s '[.[] | select(.op == "ADD" and .rc != 0 and (.msg | test("no free device") | not))] | length > 0' "$T/b2.log")" \
	true "B2: some ADDs failed in IPAM after the attach"
nothing_left B2

kb_log "C: kill -9 and SIGTERM restart during a storm"
kb_agent_stop TERM
kb_agent_config "$T/agent.yaml" "$(pools 256)"
kb_agent_start "$T/agent.yaml"
c=$(conf storm-c 10.80.0.0/22)
storm "$T/c.log" "$c" --prefix c --count 200 --concurrency 16 --keep 0.3 --hold-ms 200 &
STORM_PID=$!
kb_defer "kill $STORM_PID"
progress() { if [ -f "$T/c.log" ]; then wc -l <"$T/c.log"; else echo 0; fi; }
for want in 60 220; do
	while [ "$(progress)" -lt "$want" ] && kill -0 $STORM_PID 2>/dev/null; do sleep 0.02; done
	if [ "$want" = 60 ]; then
		kb_log "kill -9 after $(progress) CNI calls"
		kb_agent_stop KILL
		sleep 0.3
	else
		kb_log "SIGTERM restart after $(progress) CNI calls"
		kb_agent_stop TERM
	fi
	kb_agent_start "$T/agent.yaml"
done
wait $STORM_PID || kb_fail "C: storm driver"
kb_assert_eq "$(jq -s '[.[] | select(.rc != 0 and .code == 11)] | length > 0' "$T/c.log")" true \
	"C: the outage was seen (code 11, try again later)"
audit "C: agent state consistent after the restarts" "$T/c.log" storm-c
kb_assert_eq "$(kb_ctl -o json devices | jq '[.[] | select(.holder != null)] | length')" \
	"$(kb_ctl -o json allocations | jq length)" "C: held devices match allocations"
"$PY" "$STORM" del-all --plugin "$KB_CNI_BIN/kbnet" --cni-path "$KB_CNI_PATH" --conf "$c" \
	--netns "$NETNS" --devinfo-dir "$T/devinfo" --log "$T/c.log" --concurrency 32 ||
	kb_fail "C: DEL for all succeeds"
audit "C: DEL for all cleans everything" "$T/c.log" storm-c --expect-empty
nothing_left C

kb_log "D1: agent IPAM, 200 ADD/DEL, 32 at a time, 30% kept, kill -9 of the agent in the middle"
c=$(aconf storm-d1 10.81.0.0/24)
: >"$T/d1.log"
storm "$T/d1.log" "$c" --prefix d --count 200 --concurrency 32 --keep 0.3 --hold-ms 50 &
STORM_PID=$!
kb_defer "kill $STORM_PID"
while [ "$(wc -l <"$T/d1.log")" -lt 100 ] && kill -0 $STORM_PID 2>/dev/null; do sleep 0.02; done
kb_log "kill -9 after $(wc -l <"$T/d1.log") CNI calls"
kb_agent_stop KILL
sleep 0.3
kb_agent_start "$T/agent.yaml"
wait $STORM_PID || kb_fail "D1: storm driver"
audit "D1: no address or device twice, each device with its address" "$T/d1.log" storm-d1 --agent-ipam
kb_assert_eq "$(kb_ctl -o json status | jq '.ipam.addresses')" "$(kb_ctl -o json allocations | jq length)" \
	"D1: held addresses match allocations"
"$PY" "$STORM" del-all --plugin "$KB_CNI_BIN/kbnet" --cni-path "$KB_CNI_PATH" --conf "$c" \
	--netns "$NETNS" --devinfo-dir "$T/devinfo" --log "$T/d1.log" --concurrency 32 ||
	kb_fail "D1: DEL for all succeeds"
audit "D1: DEL for all releases every address" "$T/d1.log" storm-d1 --agent-ipam --expect-empty
kb_assert_eq "$(kb_ctl -o json status | jq '.ipam.addresses')" 0 "D1: no address held"
nothing_left D1

kb_log "D2: agent IPAM exhaustion: 64 devices, 29 addresses, 64 at a time"
kb_agent_stop TERM
kb_agent_config "$T/agent.yaml" "$(pools 64)"
kb_agent_start "$T/agent.yaml"
c=$(aconf storm-d2 10.81.1.0/27)
storm "$T/d2.log" "$c" --prefix e --count 200 --concurrency 64 --keep 0 --hold-ms 30 --no-del-failed
audit "D2: ADDs refused for want of an address hold nothing" "$T/d2.log" storm-d2 --agent-ipam --expect-empty
kb_assert_eq "$(jq -s '[.[] | select(.op == "ADD" and .rc != 0 and .code == 104)] | length > 0' "$T/d2.log")" \
	true "D2: some ADDs were refused with code 104"
kb_assert_eq "$(jq -s '[.[] | select(.op == "ADD" and .rc != 0 and .code != 104)] | length' "$T/d2.log")" \
	0 "D2: no other failure"
nothing_left D2

grep -E 'AddressSanitizer|runtime error' "$T/agent.log" && kb_fail "sanitizer report in the agent log"
kb_done
