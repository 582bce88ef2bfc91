#!/usr/bin/env bash
# Integration: a late DEL from an old container racing a new ADD on the same VF, and many
# concurrent ADDs for one VF. The agent serialises requests (one event loop) and detach only
# ever touches its own (containerID, ifname) allocation: the new holder's netdev and VF
# settings must never be reset by the old container's DEL, and exactly one ADD may win.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root

ROUNDS=${ROUNDS:-15}
HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
initial_state=$(jq -c . "$FX_PFSIM_STATE")
fx_agent_config "$T/agent.yaml" '  - name: vf
    type: sriov-vf
    pfNames: ["kbpfa0#0-1"]'
kb_agent_start "$T/agent.yaml" "$HOST"
OLD=$(kb_netns old)
NEW=$(kb_netns new)
VF=0000:3b:02.0

call() { "$TOOLS/kbcall" "$KB_SOCK" "$@"; }
attach_args() { # CID NETNS MAC VLAN
	echo "{\"containerID\": \"$1\", \"ifname\": \"net1\", \"network\": \"n\",
		\"deviceType\": \"sriov-vf\", \"deviceID\": \"$VF\", \"netns\": \"/var/run/netns/$2\",
		\"mac\": \"$3\", \"vlan\": $4, \"config\": {\"trust\": \"on\"}}"
}

kb_log "late DEL after the VF went to a new container"
fx_call attach "$(attach_args old1 "$OLD" 02:01:00:00:00:01 10)" >/dev/null
kb_assert_eq "$FX_RC" 0 "old container holds the VF"
fx_detach old1 net1
fx_call attach "$(attach_args new1 "$NEW" 02:02:00:00:00:01 20)" >/dev/null
kb_assert_eq "$FX_RC" 0 "new container gets it"
n=$(fx_pfsim_n)
fx_detach old1 net1
kb_assert_jq "$T/out.json" .released false "the late DEL releases nothing"
fx_call detach "{\"containerID\": \"old1\", \"ifname\": \"net1\", \"netns\": \"/var/run/netns/$OLD\"}" >/dev/null
kb_assert_jq "$T/out.json" .released false "nor with the old netns"
kb_assert_eq "$(fx_pfsim_n)" "$n" "no VF setting touched"
kb_assert_eq "$(fx_link "$NEW" net1)" "net1 02:02:00:00:00:01 1500 up" "the new holder's netdev intact"
kb_assert_eq "$(fx_vf_state kbpfa0 0 | jq -c '[.vlan, .mac]')" '[20,"02:02:00:00:00:01"]' \
	"the new holder's VF settings intact"
fx_detach new1 net1

kb_log "$ROUNDS rounds: old DEL and new ADD sent at the same time"
bad=0
for ((r = 0; r < ROUNDS; r++)); do
	call attach "$(attach_args "old$r" "$OLD" 02:01:00:00:00:0$((r % 10)) $((100 + r)))" >/dev/null ||
		{ kb_fail "round $r: old ADD"; bad=$((bad + 1)); continue; }
	call detach "{\"containerID\": \"old$r\", \"ifname\": \"net1\"}" >"$T/del.json" &
	pd=$!
	new_mac=02:02:00:00:00:0$((r % 10))
	( for _ in $(seq 50); do
		call attach "$(attach_args "new$r" "$NEW" "$new_mac" $((200 + r)))" >"$T/add.json" && exit 0
		grep -q EBUSY "$T/add.json" || exit 1 # only "still held" may be retried
		echo "$r" >>"$T/busy"
		sleep 0.01
	done; exit 1 ) &
	pa=$!
	wait $pd || { kb_fail "round $r: DEL failed"; bad=$((bad + 1)); }
	wait $pa || { kb_fail "round $r: ADD failed: $(cat "$T/add.json")"; bad=$((bad + 1)); }
	# The late duplicate DEL from the old container (containerd sends two), racing CHECK.
	call detach "{\"containerID\": \"old$r\", \"ifname\": \"net1\"}" >"$T/del2.json" &
	pd=$!
	call check "{\"containerID\": \"new$r\", \"ifname\": \"net1\"}" >"$T/check.json" ||
		{ kb_fail "round $r: CHECK: $(cat "$T/check.json")"; bad=$((bad + 1)); }
	wait $pd
	[ "$(jq -r .released "$T/del2.json")" = false ] || { kb_fail "round $r: late DEL released"; bad=$((bad + 1)); }
	got=$(fx_link "$NEW" net1)
	[ "$got" = "net1 $new_mac 1500 up" ] || { kb_fail "round $r: new pod has '$got'"; bad=$((bad + 1)); }
	[ "$(fx_link "$OLD" net1)" = absent ] || { kb_fail "round $r: old pod still has net1"; bad=$((bad + 1)); }
	vlan=$(fx_vf_state kbpfa0 0 | jq .vlan)
	[ "$vlan" = $((200 + r)) ] || { kb_fail "round $r: VF vlan $vlan"; bad=$((bad + 1)); }
	call detach "{\"containerID\": \"new$r\", \"ifname\": \"net1\"}" >/dev/null
	[ $bad -gt 3 ] && break
done
kb_assert_eq "$bad" 0 "every round: the new holder keeps its netdev and settings"
kb_log "$(sort -u "$T/busy" 2>/dev/null | wc -l) of $ROUNDS rounds: the new ADD came first and got EBUSY (old holder)"

kb_log "8 containers ADD the same VF at once"
pids=()
for i in $(seq 8); do
	call attach "$(attach_args "par$i" "$NEW" 02:03:00:00:00:0$i 30)" >"$T/par$i.json" &
	pids+=($!)
done
wait "${pids[@]}" || true
ok=$(cat "$T"/par*.json | jq -r 'select(.allocation) | .allocation.containerID')
kb_assert_eq "$(echo "$ok" | wc -w)" 1 "exactly one wins"
kb_assert_eq "$(cat "$T"/par*.json | jq -r 'select(.code) | .code' | sort -u)" EBUSY "the others: EBUSY"
kb_assert_eq "$(fx_link "$NEW" net1 | cut -d' ' -f2)" "02:03:00:00:00:0${ok#par}" "the winner's MAC"
fx_detach "$ok" net1

kb_assert_eq "$(fx_link "$HOST" kbvfa0)" "kbvfa0 02:00:00:00:a0:00 1500 down" "VF netdev home"
kb_assert_eq "$(jq -c . "$FX_PFSIM_STATE")" "$initial_state" "VF settings as before"
kb_assert_jq <(fx_call list '{"what": "allocations"}') '.allocations | length' 0 "no allocation left"
fx_agent_stop_clean
kb_done
