#!/usr/bin/env bash
# kbnet-cni's netconf logLevel/logFile (as sriov-cni has them), with logFile confined to the
# log root: the netconf comes from whoever may create a NetworkAttachmentDefinition, and root
# runs the plugin, so no logFile may make it write outside the root (a path elsewhere, "..",
# a symlinked file or directory, a hard link to another file are refused and the command goes
# on). absent/null/"" mean "not set", as in the Go plugins; a bad logLevel names the key.
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 32'
kb_agent_start "$T/agent.yaml"
kb_cni_setup
ns=$(kb_netns pod)
LR=$T/logroot # the logDir of kb_cni_plugin_config
mkdir -p "$T/outside"
echo secret >"$T/outside/victim"

# cni CMD CID EXTRA-JSON: the plugin with the log root of this test; out/err in $T/cni.*
cni() {
	jq -n --arg sock "$KB_SOCK" --arg t "$T" --argjson x "$3" '{cniVersion: "1.0.0",
		name: "lognet", type: "kbnet", agentSocket: $sock, cacheDir: ($t + "/cache"),
		deviceType: "virtio-user"} + $x' >"$T/conf.json"
	env -i PATH="$PATH" KBNET_CNI_CONFIG="$KB_CNI_CONF" CNI_COMMAND="$1" CNI_CONTAINERID="$2" \
		CNI_NETNS="/run/netns/$ns" CNI_IFNAME=net1 CNI_PATH="$KB_CNI_PATH" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=team;K8S_POD_NAME=pod-$2" \
		"$KB_CNI_BIN/kbnet" <"$T/conf.json" >"$T/cni.out" 2>"$T/cni.err"
}
refused() { # WHAT LOGFILE CHECK...
	local what=$1 file=$2
	if cni ADD "r$RANDOM" "$(jq -nc --arg f "$file" '{logFile: $f, logLevel: "debug"}')"; then
		kb_pass "$what: the command goes on"
	else
		kb_fail "$what: ADD failed: $(cat "$T/cni.out")"
	fi
	grep -q "logFile '.*' refused" "$T/cni.err" && kb_pass "$what: refused on stderr ($(cut -c1-120 "$T/cni.err"))" ||
		kb_fail "$what: no refusal on stderr: $(cat "$T/cni.err")"
}

# ---- not set: nothing logged anywhere ----
kb_assert_rc 0 "ADD without log keys" cni ADD c0 '{}'
kb_assert_eq "$(cat "$T/cni.err")" "" "no log keys: stderr stays empty"
kb_assert_rc 0 "null and empty values are 'not set'" cni ADD c0b '{"logLevel": null, "logFile": ""}'
kb_assert_eq "$(cat "$T/cni.err")$(ls -A "$LR" 2>/dev/null)" "" "null/empty: nothing logged"

# ---- a file under the root ----
kb_assert_rc 0 "ADD with logFile under the root" cni ADD c1 "{\"logFile\": \"$LR/kbnet-cni.log\", \"logLevel\": \"debug\"}"
grep -q "info kbnet-cni\[[0-9]*\]: ADD c1/net1 network lognet pod team/pod-c1 device .*: ok" "$LR/kbnet-cni.log" &&
	kb_pass "ADD logged with container, network, pod" || kb_fail "log: $(cat "$LR/kbnet-cni.log" 2>&1)"
kb_assert_eq "$(stat -c %a "$LR/kbnet-cni.log")" 600 "log file created 0600"
kb_assert_eq "$(cat "$T/cni.err")" "" "with a logFile nothing goes to stderr"
kb_assert_rc 1 "a failing ADD (unknown device)" cni ADD c9 "{\"logFile\": \"$LR/kbnet-cni.log\", \"logLevel\": \"error\", \"deviceID\": \"vu-99\"}"
grep -q "error kbnet-cni\[[0-9]*\]: ADD c9/net1 network lognet pod team/pod-c9: kbnet agent: .*vu-99" "$LR/kbnet-cni.log" &&
	kb_pass "errors logged at logLevel error, with the agent's message" ||
	kb_fail "no error line: $(cat "$LR/kbnet-cni.log")"
lines=$(wc -l <"$LR/kbnet-cni.log")
kb_assert_rc 0 "ADD at logLevel error" cni ADD c2 "{\"logFile\": \"$LR/kbnet-cni.log\", \"logLevel\": \"error\"}"
kb_assert_eq "$(wc -l <"$LR/kbnet-cni.log")" "$lines" "logLevel error: a success is not logged"
kb_assert_rc 0 "logLevel alone logs to stderr" cni ADD c3 '{"logLevel": "info"}'
grep -q "ADD c3/net1 .*: ok" "$T/cni.err" && kb_pass "logLevel without logFile: stderr (Multus' log)" ||
	kb_fail "stderr: $(cat "$T/cni.err")"

# ---- what the netconf must not reach ----
refused "a path outside the root" "$T/outside/evil.log"
kb_assert_eq "$(ls "$T/outside")" victim "nothing created outside"
refused "'..' out of the root" "$LR/../outside/evil.log"
kb_assert_eq "$(ls "$T/outside")" victim "nothing created through .."
ln -s "$T/outside/victim" "$LR/link.log"
refused "a symlinked file" "$LR/link.log"
ln -s "$T/outside" "$LR/dir"
refused "a symlinked directory" "$LR/dir/x.log"
ln "$T/outside/victim" "$LR/hard.log"
refused "a hard link to another file" "$LR/hard.log"
kb_assert_eq "$(cat "$T/outside/victim") $(ls "$T/outside")" "secret victim" "the file outside is untouched"
refused "the root itself" "$LR"
refused "a prefix of the root's name" "${LR}x/a.log"

# ---- bad values ----
kb_assert_rc 1 "a bad logLevel" cni ADD c4 '{"logLevel": "verbose"}'
kb_assert_jq "$T/cni.out" '"\(.code) \(.msg)"' "7 logLevel must be panic, error, warning, info or debug, not 'verbose'" \
	"bad logLevel: code 7 naming the key"
kb_assert_rc 1 "a non-string logFile" cni ADD c5 '{"logFile": 7}'
kb_assert_jq "$T/cni.out" .msg "logFile must be a string" "non-string logFile names the key"
kb_done
