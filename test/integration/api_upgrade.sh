#!/usr/bin/env bash
# api_upgrade: an agent upgraded in place restores the journal an older agent wrote (record
# format 1, test/fixtures/state-v1), writes its own records in format 2 (only what restore
# needs), restores a journal mixing both after kill -9, and serves the same allocations.
# Then the rolling upgrade both ways against the previous release (built from git history, or
# KBNET_OLD_BIN=<dir with its kbnet-agent, kbnet-cni>): the old plugin against this agent, this
# plugin against the old agent, and the old agent reading the new journal (rollback).
source "$(dirname "$0")/../lib.sh"
kb_require_root
PY=/usr/bin/python3
[ -x "$PY" ] || kb_skip "needs /usr/bin/python3 (hack/deps.txt: python3)"
KBWIRE=$ROOT/test/tools/kbwire
wire() { "$PY" "$KBWIRE/kbwire.py" "$KB_SOCK" "$@"; }
allocs() {
	kb_ctl -o json allocations | jq -c 'sort_by(.containerID) |
		map({containerID, ifname, deviceID, mac, mtu, vlan, pod, netns, ips: [.ipam.ips[]?.address]})'
}

kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 8'
mkdir -p "$KB_STATE"
cp "$ROOT/test/fixtures/state-v1/state.journal" "$KB_STATE/"
kb_agent_start "$T/agent.yaml"

kb_log "a format-1 journal (written by 0.1.0) restores"
want='[{"containerID":"old1","ifname":"net1","deviceID":"vu-0","mac":"02:00:00:00:01:01","mtu":9000,"vlan":12,"pod":{"namespace":"default","name":"web-0","uid":"uid-old1","infraContainerID":"old1"},"netns":null,"ips":[]},{"containerID":"old2","ifname":"net1","deviceID":"vu-5","mac":"02:a3:48:cd:ac:df","mtu":1500,"vlan":null,"pod":null,"netns":"/var/run/netns/old2","ips":[]},{"containerID":"old3","ifname":"net2","deviceID":"vu-1","mac":"02:26:9d:ba:93:52","mtu":1500,"vlan":null,"pod":{"namespace":"default","name":"web-3","uid":"uid-old3"},"netns":null,"ips":["10.88.0.10/24"]}]'
kb_assert_eq "$(allocs | jq -cS .)" "$(echo "$want" | jq -cS .)" "allocations of the old journal"
kb_assert_jq <(kb_ctl -o json allocations) '[.[].endpoint | has("socketPath")] | all' true \
	"the listing has the generic endpoint"
kb_assert_eq "$(wire attach '{"containerID":"x","ifname":"net1","network":"n","deviceType":"virtio-user","deviceID":"vu-5"}' | jq -r .error.code)" \
	EBUSY "a restored device is held"
kb_assert_eq "$(wire attach '{"containerID":"old1","ifname":"net1","network":"n","deviceType":"virtio-user"}' | jq -r .result.existing)" \
	true "an old allocation is found again (idempotent attach)"
kb_assert_eq "$(wire attach '{"containerID":"x","ifname":"net1","network":"net-ipam","deviceType":"virtio-user","ipam":{"type":"kbnet","ranges":[[{"subnet":"10.88.0.0/24","rangeStart":"10.88.0.10","rangeEnd":"10.88.0.10"}]]}}' | jq -r .error.code)" \
	EADDRNOTAVAIL "a restored address is held"

kb_log "new records are format 2: only what restore needs"
wire attach '{"containerID":"new1","ifname":"net1","network":"n","deviceType":"virtio-user","pod":{"namespace":"default","name":"n1","uid":"uid-new1"}}' >/dev/null
wire detach '{"containerID":"old2","ifname":"net1"}' >/dev/null
rec=$(grep '"key":"new1/net1"' "$KB_STATE/state.journal" | cut -d' ' -f2-)
kb_assert_eq "$(echo "$rec" | jq -c '.value.record')" 2 "record format 2"
kb_assert_eq "$(echo "$rec" | jq -c '.value | [has("deviceInfo"), has("resourceName"), has("endpoint"), has("orphaned")]')" \
	'[false,false,false,false]' "no derived fields in the record"
kb_assert_eq "$(echo "$rec" | jq -c '.value | [.containerID, .deviceType, (.vhostUser | has("socketPath"))]')" \
	'["new1","virtio-user",true]' "the record keeps the key, type and the type's own object"

kb_log "a journal mixing both formats restores after kill -9"
before=$(allocs)
kb_assert_eq "$(echo "$before" | jq -r 'map(.containerID) | join(",")')" new1,old1,old3 "before the restart"
kb_agent_stop KILL
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(allocs)" "$before" "same allocations after kill -9"

kb_log "a record of a newer format stops the start, files untouched"
kb_agent_stop TERM
cp -a "$KB_STATE" "$T/state.bak"
"$PY" - "$KB_STATE/state.journal" <<'PY'
import json, sys, zlib
path = sys.argv[1]
lines = open(path).read().splitlines()
seq = max(json.loads(l[9:])["seq"] for l in lines) if lines else 0
v = {"record": 3, "containerID": "fut", "ifname": "net1", "network": "n", "pool": "vu",
     "deviceType": "virtio-user", "deviceID": "vu-7", "mac": "02:00:00:00:00:07",
     "created": "2026-12-03T09:30:55Z"}
body = json.dumps({"seq": seq + 1, "key": "fut/net1", "value": v}, separators=(",", ":"))
with open(path, "a") as f:
    f.write("%08x %s\n" % (zlib.crc32(body.encode()), body))
PY
cp "$KB_STATE/state.journal" "$T/journal.future"
if "$BIN/kbnet-agent" --config "$T/agent.yaml" >"$T/future.log" 2>&1; then
	kb_fail "the agent started on a record of a newer format"
fi
grep -q "record format newer" "$T/future.log" || kb_fail "no reason given: $(tail -3 "$T/future.log")"
cmp -s "$KB_STATE/state.journal" "$T/journal.future" || kb_fail "the journal was changed"
kb_pass "refused with the reason, journal untouched"
rm -rf "$KB_STATE" && mv "$T/state.bak" "$KB_STATE"

# The previous release: the last commit before the codec (format-1 records, no "endpoint"),
# built from this clone's history when KBNET_OLD_BIN is not given (about 20 s on 2 cores;
# kb_agent_start waits for it with its own agentctl).
OLD_REV=5e02697
if [ -z "${KBNET_OLD_BIN:-}" ]; then
	if ! git -C "$ROOT" cat-file -e "$OLD_REV^{commit}" 2>/dev/null; then
		kb_log "commit $OLD_REV is not in this clone (shallow?) and KBNET_OLD_BIN is not set:" \
			"the rolling upgrade against the previous release is not run"
		kb_done
		exit 0
	fi
	kb_log "building the previous release ($OLD_REV) for the rolling upgrade"
	mkdir -p "$T/old"
	git -C "$ROOT" archive "$OLD_REV" | tar -x -C "$T/old"
	(cd "$T/old" && env -u SANITIZE -u BUILD make -j2 BUILD=build build/bin/kbnet-agent build/bin/agentctl \
		build/bin/kbnet-cni) >"$T/old-build.log" 2>&1 ||
		{ tail -20 "$T/old-build.log"; kb_fail "building $OLD_REV failed"; kb_done; }
	KBNET_OLD_BIN=$T/old/build/bin
fi
if ! [ -x "$KBNET_OLD_BIN/kbnet-agent" ] || ! [ -x "$KBNET_OLD_BIN/kbnet-cni" ]; then
	kb_fail "KBNET_OLD_BIN=$KBNET_OLD_BIN has no kbnet-agent and kbnet-cni"
	kb_done
fi

kb_log "rollback: the previous agent reads the format-2 journal"
NEWBIN=$BIN
BIN=$KBNET_OLD_BIN kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(allocs)" "$before" "the old agent restores the new records"

kb_log "this plugin against the old agent (ADD, CHECK, STATUS, DEL)"
kb_cni_setup
ns=$(kb_netns pod)
conf=$T/conf.json
jq -n --arg sock "$KB_SOCK" --arg t "$T" '{cniVersion: "1.1.0", name: "n", type: "kbnet",
	agentSocket: $sock, cacheDir: ($t + "/cache"), deviceType: "virtio-user"}' >"$conf"
ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=up;K8S_POD_UID=uid-up"
kb_assert_rc 0 "ADD (new plugin, old agent)" kb_cni ADD up1 "/run/netns/$ns" net1 "$conf" "$ARGS"
kb_assert_jq "$T/cni.out" '.interfaces[0].socketPath | test("/net1.sock$")' true \
	"socket path from the old agent's vhostUser object"
cp "$T/cni.out" "$T/add-new.json"
jq --slurpfile p "$T/add-new.json" '. + {prevResult: $p[0]}' "$conf" >"$T/check.json"
kb_assert_rc 0 "CHECK (new plugin, old agent)" kb_cni CHECK up1 "/run/netns/$ns" net1 "$T/check.json" "$ARGS"
kb_assert_rc 0 "STATUS (new plugin, old agent: reachability)" kb_cni STATUS "" "" "" "$conf"
kb_assert_rc 0 "DEL (new plugin, old agent)" kb_cni DEL up1 "/run/netns/$ns" net1 "$conf" "$ARGS"
kb_agent_stop TERM

kb_log "the old plugin against this agent (ADD, CHECK, STATUS, DEL)"
BIN=$NEWBIN kb_agent_start "$T/agent.yaml"
ln -sf "$KBNET_OLD_BIN/kbnet-cni" "$KB_CNI_BIN/kbnet"
kb_assert_rc 0 "ADD (old plugin, new agent)" kb_cni ADD up2 "/run/netns/$ns" net1 "$conf" "$ARGS"
kb_assert_jq "$T/cni.out" '.interfaces[0].socketPath | test("/net1.sock$")' true \
	"the old plugin still finds the socket path"
cp "$T/cni.out" "$T/add-old.json"
jq --slurpfile p "$T/add-old.json" '. + {prevResult: $p[0]}' "$conf" >"$T/check.json"
kb_assert_rc 0 "CHECK (old plugin, new agent)" kb_cni CHECK up2 "/run/netns/$ns" net1 "$T/check.json" "$ARGS"
kb_assert_rc 0 "STATUS (old plugin, new agent)" kb_cni STATUS "" "" "" "$conf"
kb_assert_rc 0 "DEL (old plugin, new agent)" kb_cni DEL up2 "/run/netns/$ns" net1 "$conf" "$ARGS"
kb_done
