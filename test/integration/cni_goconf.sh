#!/usr/bin/env bash
# Netconf values read as the Go plugins read them (sriov-cni, libcni's types: json.Unmarshal
# into structs): an absent key, null and "" are all "not set" for a string, null for any
# value; unknown keys are ignored. So "mac": "" or "deviceID": "" in a configuration written
# for sriov-cni means the default here too, while a value that is set is still validated.
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 32'
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
n=0
# add EXTRA-JSON: ADD (result in $T/cni.out), then DEL when it succeeded; ADD's status.
add() {
	n=$((n + 1))
	jq -n --arg sock "$KB_SOCK" --arg t "$T" --argjson x "$1" '{cniVersion: "1.0.0", name: "go",
		type: "kbnet", agentSocket: $sock, cacheDir: ($t + "/cache")} + $x' >"$T/c$n.json"
	local rc=0
	kb_cni ADD "g$n" "/run/netns/$ns" net1 "$T/c$n.json" || rc=$?
	cp "$T/cni.out" "$T/add.out"
	if [ $rc = 0 ]; then
		kb_cni DEL "g$n" "/run/netns/$ns" net1 "$T/c$n.json" || kb_fail "DEL g$n: $(cat "$T/cni.out")"
	fi
	cp "$T/add.out" "$T/cni.out"
	return $rc
}
ok() { # NAME EXTRA-JSON
	if add "$2"; then kb_pass "$1"; else kb_fail "$1: $(cat "$T/cni.out")"; fi
}
mac_of() { jq -r '.interfaces[0].mac' "$T/cni.out"; }

ok '"mac": "" is not set' '{"mac": ""}'
kb_assert_ne "$(mac_of)" "" "the agent's MAC instead"
ok '"deviceID": "" is not set' '{"deviceID": ""}'
ok '"deviceType": "" is not set (virtio-user)' '{"deviceType": ""}'
ok '"resourceName": "" is not set' '{"resourceName": ""}'
ok '"spoofchk"/"trust"/"link_state": "" are not set' '{"spoofchk": "", "trust": "", "link_state": ""}'
ok 'runtimeConfig "" values are not set' '{"runtimeConfig": {"mac": "", "deviceID": "", "CNIDeviceInfoFile": ""}}'
kb_assert_eq "$(ls "$T" | grep -c '^devinfo' || true)" 0 "no device-info file for an empty CNIDeviceInfoFile"
ok 'args.cni.mac "" is not set' '{"args": {"cni": {"mac": ""}}}'
ok 'null is not set' '{"mac": null, "deviceID": null, "deviceType": null, "resourceName": null,
	"ipam": null, "runtimeConfig": null, "args": null, "mtu": null, "vlan": null, "prevResult": null}'
ok 'null inside runtimeConfig and args.cni' '{"runtimeConfig": {"mac": null, "ips": null, "deviceID": null}, "args": {"cni": null}}'
ok 'unknown keys are ignored' '{"someOtherPluginKey": {"x": [1, 2]}, "logicalName": "x"}'
# Set values are still what they say, and still validated.
ok 'a set mac is applied' '{"mac": "02:00:00:00:00:77"}'
kb_assert_eq "$(mac_of)" 02:00:00:00:00:77 "set mac honoured"
if add '{"mac": "zz"}'; then kb_fail "a bad mac accepted"; else
	kb_assert_jq "$T/cni.out" .code 7 "a bad mac is still refused (code 7)"; fi
if add '{"deviceType": "bogus"}'; then kb_fail "a bad deviceType accepted"; else
	kb_assert_jq "$T/cni.out" .code 7 "a bad deviceType is still refused"; fi
if add '{"mac": 5}'; then kb_fail "a non-string mac accepted"; else
	kb_assert_jq "$T/cni.out" .code 7 "a mac of the wrong type is refused (as json.Unmarshal does)"; fi
kb_done
