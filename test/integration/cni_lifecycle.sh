#!/usr/bin/env bash
# kbnet-cni lifecycle with the real agent and host-local: a failed ADD holds nothing (IPAM
# failure releases the device, a later failure releases both, a repeated ADD that fails keeps
# the original), DEL after the agent's state was wiped, DEL while the agent is down (IPAM freed,
# code 11, retried later), GC (agent + host-local leases, other networks untouched, leases of
# attachments the agent forgot).
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_agent_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
NETNS=/run/netns/$ns

# conf FILE NETWORK [extra json]: 1.1.0 netconf, host-local with 3 addresses under $T.
conf() {
	jq -n --arg sock "$KB_SOCK" --arg t "$T" --arg net "$2" --argjson extra "${3:-{\}}" '{
		cniVersion: "1.1.0", name: $net, type: "kbnet", agentSocket: $sock,
		cacheDir: ($t + "/cache"),
		ipam: {type: "host-local", dataDir: ($t + "/ipam"),
			ranges: [[{subnet: "10.91.0.0/24", rangeStart: "10.91.0.10", rangeEnd: "10.91.0.12"}]]}
	} * $extra' >"$T/$1"
	echo "$T/$1"
}
allocs() { kb_ctl -o json allocations | jq -r "[.[] | select(.network == \"${1:-net-a}\") | .containerID] | sort | join(\",\")"; }
leases() { (ls "$T/ipam/${1:-net-a}" 2>/dev/null || true) | grep -c '^10\.' || true; }
# host-local lease files hold "<containerID>\r\n<ifname>".
lease_of() { grep -l "^$1"$'\r'"\?\$" "$T/ipam/${2:-net-a}"/10.* 2>/dev/null | wc -l; }

a=$(conf a.json net-a)
# c1's with its device-info file, named per attachment as Multus does.
di=$(conf di.json net-a "{\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"$T/devinfo/net-a-c1-net1.json\"}}")

kb_log "IPAM failure: the device is released"
kb_assert_rc 0 "ADD c1" kb_cni ADD c1 "$NETNS" net1 "$di"
kb_assert_rc 0 "ADD c2" kb_cni ADD c2 "$NETNS" net1 "$a"
kb_assert_rc 0 "ADD c3 (last address)" kb_cni ADD c3 "$NETNS" net1 "$a"
kb_assert_rc 1 "ADD c4 with the range exhausted" kb_cni ADD c4 "$NETNS" net1 "$a"
kb_assert_jq "$T/cni.out" '.msg | startswith("IPAM plugin host-local")' true "the IPAM error is passed on"
kb_assert_eq "$(allocs)" "c1,c2,c3" "c4's device was released"
kb_assert_rc 1 "ADD c5 with a broken ipam section" kb_cni ADD c5 "$NETNS" net1 \
	"$(conf bad.json net-a '{"ipam":{"ranges":[[{"subnet":"bogus"}]]}}')"
kb_assert_eq "$(allocs)" "c1,c2,c3" "c5's device was released"

kb_log "failure after IPAM (device-info file cannot be written): both released"
kb_assert_rc 0 "DEL c3" kb_cni DEL c3 "$NETNS" net1 "$a"
# Something that is not kbnet's file sits at the name: it is left alone and ADD fails.
mkdir -p "$T/devinfo/x.json"
broken=$(conf broken.json net-a "{\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"$T/devinfo/x.json\"}}")
kb_assert_rc 1 "ADD c6 with a foreign object at the device-info path" kb_cni ADD c6 "$NETNS" net1 "$broken"
kb_assert_jq "$T/cni.out" '"\(.code) \(.msg | test("not the device-info file of c6/net1"))"' "7 true" \
	"code 7 (not kbnet's file)"
kb_assert_eq "$(test -d "$T/devinfo/x.json" && echo kept)" kept "the foreign object is kept"
kb_assert_eq "$(allocs)" "c1,c2" "c6's device was released"
kb_assert_eq "$(lease_of c6)" 0 "c6's lease was released"
kb_assert_eq "$(leases)" 2 "only c1 and c2 hold leases"

kb_log "agent refusal: IPAM is never called"
kb_assert_rc 1 "ADD c7 asking for a device held by another" kb_cni ADD c7 "$NETNS" net1 \
	"$(conf dev.json net-a "{\"deviceID\":\"$(kb_ctl -o json allocations | jq -r '.[0].deviceID')\"}")"
kb_assert_jq "$T/cni.out" .code 101 "code 101"
kb_assert_eq "$(lease_of c7)" 0 "no lease taken for c7"

kb_log "a repeated ADD that fails keeps the original attachment"
kb_cni ADD c1 "$NETNS" net1 "$di"
cp "$T/cni.out" "$T/c1.json"
kb_assert_rc 1 "repeated ADD c1 with an unwritable device-info path" kb_cni ADD c1 "$NETNS" net1 "$broken"
kb_assert_eq "$(allocs)" "c1,c2" "c1 still attached"
kb_assert_eq "$(lease_of c1)" 1 "c1 still holds its lease"
kb_assert_rc 0 "repeated ADD c1" kb_cni ADD c1 "$NETNS" net1 "$di"
kb_assert_eq "$(jq -cS . "$T/cni.out")" "$(jq -cS . "$T/c1.json")" "same result as the first ADD"

kb_assert_eq "$(test -d "$T/devinfo/x.json" && echo kept)" kept "the foreign object is still kept"
rmdir "$T/devinfo/x.json"

kb_log "DEL after the agent's state was wiped"
kb_agent_stop
rm -rf "$KB_STATE" "$KB_RUN"
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(allocs)" "" "the agent forgot everything"
kb_assert_rc 0 "DEL c1" kb_cni DEL c1 "$NETNS" net1 "$di"
kb_assert_eq "$(lease_of c1)" 0 "c1's lease released anyway"
kb_assert_eq "$(ls "$T/devinfo")" "" "device-info file removed"
kb_assert_rc 0 "DEL of a container nobody knows" kb_cni DEL never-seen "" net1 "$a"

kb_log "DEL while the agent is down: IPAM freed, code 11, a retry finishes"
kb_assert_rc 0 "ADD c8" kb_cni ADD c8 "$NETNS" net1 "$a"
kb_agent_stop
kb_assert_rc 1 "DEL c8 with the agent down" kb_cni DEL c8 "" net1 "$a"
kb_assert_jq "$T/cni.out" .code 11 "code 11 (try again later)"
kb_assert_eq "$(lease_of c8)" 0 "c8's lease released although the agent is down"
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(allocs)" "c8" "the agent still holds c8's device"
kb_assert_rc 0 "DEL c8 retried" kb_cni DEL c8 "" net1 "$a"
kb_assert_eq "$(allocs)" "" "c8's device released"

kb_log "GC"
kb_assert_rc 0 "DEL c2" kb_cni DEL c2 "$NETNS" net1 "$a"
kb_assert_eq "$(leases)" 0 "no lease left in net-a"
b=$(conf b.json net-b '{"ipam":{"ranges":[[{"subnet":"10.92.0.0/24"}]]}}')
for c in g1 g2 g3; do kb_assert_rc 0 "ADD $c" kb_cni ADD $c "$NETNS" net1 "$a"; done
kb_assert_rc 0 "ADD h1 in net-b" kb_cni ADD h1 "$NETNS" net1 "$b"
jq '. + {"cni.dev/valid-attachments": [{containerID: "g1", ifname: "net1"}, {containerID: "gone", ifname: "net1"}]}' \
	"$a" >"$T/gc.json"
kb_assert_rc 0 "GC net-a keeping g1" kb_cni GC "" "" "" "$T/gc.json"
kb_assert_eq "$(wc -c <"$T/cni.out")" 0 "GC prints nothing on success"
kb_assert_eq "$(allocs)" "g1" "g2 and g3 released by the agent"
kb_assert_eq "$(lease_of g2)$(lease_of g3)$(lease_of g1)" "001" "their host-local leases released, g1's kept"
kb_assert_eq "$(allocs net-b)" "h1" "net-b untouched"
kb_assert_eq "$(lease_of h1 net-b)" 1 "net-b's lease untouched"
kb_assert_rc 0 "GC again is a no-op" kb_cni GC "" "" "" "$T/gc.json"
kb_assert_eq "$(allocs)" "g1" "g1 still there"

kb_log "GC after the agent lost its state: leases found through the result cache"
kb_assert_rc 0 "ADD g4" kb_cni ADD g4 "$NETNS" net1 "$a"
kb_agent_stop
rm -rf "$KB_STATE" "$KB_RUN"
kb_agent_start "$T/agent.yaml"
kb_assert_rc 0 "GC net-a keeping g1" kb_cni GC "" "" "" "$T/gc.json"
kb_assert_eq "$(lease_of g4)$(lease_of g1)" "01" "g4's lease released, g1's kept"

kb_log "GC with the agent down: IPAM still cleaned, error 11 reported"
kb_assert_rc 0 "ADD g5" kb_cni ADD g5 "$NETNS" net1 "$a"
kb_agent_stop
kb_assert_rc 1 "GC with the agent down" kb_cni GC "" "" "" "$T/gc.json"
kb_assert_jq "$T/cni.out" .code 11 "code 11"
kb_assert_eq "$(lease_of g5)" 0 "g5's lease released from the cache anyway"
kb_agent_start "$T/agent.yaml"

kb_done
