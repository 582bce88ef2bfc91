#!/usr/bin/env bash
# Integration: 100 ADD/DEL cycles over kernel-driver VFs and a virtio-vdpa device, alternating
# pod namespaces, MACs, MTUs and VF settings. After every DEL the netdev is back under its name
# with its MAC and MTU; at the end every link, VF setting (pfsim, by content), allocation and
# agent file descriptor is as at the start.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/fixtures/sriov.sh"
kb_require_root

CYCLES=${CYCLES:-100}
HOST=$(kb_netns host)
fx_default "$T" "$HOST"
fx_pfsim_start "$T" "$HOST"
initial_state=$(jq -c . "$FX_PFSIM_STATE")
fx_agent_config "$T/agent.yaml" '  - name: vf
    type: sriov-vf
    pfNames: ["kbpfa0#0-1", "kbpfb0#0-1"]
  - name: vdpa_virtio
    type: vdpa
    vdpaType: virtio'
kb_agent_start "$T/agent.yaml" "$HOST"
PODS=("$(kb_netns pa)" "$(kb_netns pb)")
links_before=$(fx_links "$HOST")

# The agent's open files. Inotify instances are left out: one may come and go with the
# user-wide limit (fs.inotify.max_user_instances) that every process on the machine shares.
agent_fds() { ls -l "/proc/$KB_AGENT_PID/fd" | awk 'NR > 1 && $NF != "anon_inode:inotify" {print $NF}' | sort; }

declare -A orig=([0000:3b:02.0]=kbvfa0 [0000:3b:02.1]=kbvfa1 [0000:5e:00.2]=kbvfb0
	[0000:5e:00.3]=kbvfb1 [vdpa1]=kbvd1)
devs=(0000:3b:02.0 0000:3b:02.1 0000:5e:00.2 0000:5e:00.3 vdpa1)
bad=0
start=$(date +%s.%N)
for ((i = 0; i < CYCLES; i++)); do
	dev=${devs[$((i % ${#devs[@]}))]}
	pod=${PODS[$((i % 2))]}
	mac=$(printf '02:5a:%02x:%02x:00:01' $((i / 256)) $((i % 256)))
	mtu=$((1280 + i * 7))
	before=$(fx_link "$HOST" "${orig[$dev]}")
	if [ "$dev" = vdpa1 ]; then
		extra="{\"deviceID\": \"$dev\", \"mac\": \"$mac\", \"mtu\": $mtu}"
		fx_attach "cy$i" net1 vdpa_virtio "/var/run/netns/$pod" "$extra"
	else
		extra="{\"deviceID\": \"$dev\", \"mac\": \"$mac\", \"mtu\": $mtu, \"vlan\": $((i + 1)),
			\"config\": {\"vlanQoS\": $((i % 8)), \"trust\": \"on\", \"max_tx_rate\": $((i * 10))}}"
		fx_attach "cy$i" net1 vf "/var/run/netns/$pod" "$extra"
	fi
	got=$(fx_link "$pod" net1)
	if [ "$FX_RC" != 0 ] || [ "$got" != "net1 $mac $mtu up" ]; then
		kb_fail "cycle $i: ADD $dev: rc $FX_RC, pod link '$got': $(cat "$T/out.json")"
		bad=$((bad + 1))
	fi
	fx_detach "cy$i" net1
	after=$(fx_link "$HOST" "${orig[$dev]}")
	if [ "$(jq -r .released "$T/out.json")" != true ] || [ "$after" != "$before" ] ||
		[ "$(fx_link "$pod" net1)" != absent ]; then
		kb_fail "cycle $i: DEL $dev: '$after' != '$before': $(cat "$T/out.json")"
		bad=$((bad + 1))
	fi
	[ $bad -gt 5 ] && break
	# Baseline after the first cycle: the state journal is opened at the first change.
	[ "$i" = 0 ] && fds_before=$(agent_fds)
done
end=$(date +%s.%N)
kb_assert_eq "$bad" 0 "$CYCLES cycles: every ADD configured, every DEL restored name/MAC/MTU"
kb_log "$(echo "scale=1; ($end - $start) * 1000 / $CYCLES" | bc) ms per ADD+DEL cycle (with the checks)"
kb_assert_eq "$(fx_links "$HOST")" "$links_before" "host links exactly as before"
kb_assert_eq "$(ip -n "${PODS[0]}" -o link | wc -l) $(ip -n "${PODS[1]}" -o link | wc -l)" "1 1" \
	"pods hold nothing but lo"
kb_assert_eq "$(jq -c . "$FX_PFSIM_STATE")" "$initial_state" "every VF setting as before"
kb_assert_eq "$(jq -c 'select(.result != 0)' "$FX_PFSIM_LOG" | wc -l)" 0 "no request refused by the PF"
kb_assert_jq <(fx_call list '{"what": "allocations"}') '.allocations | length' 0 "no allocation left"
kb_assert_jq <(fx_call list '{"what": "pools"}') '[.pools[] | .free] | add' 5 "every device free"
kb_assert_eq "$(agent_fds)" "$fds_before" "no file descriptor leaked"
fx_agent_stop_clean
kb_done
