#!/usr/bin/env bash
# agent_ctl: agentctl against the real agent: every core command in table and JSON form, the
# lookups of `show`, and the exit statuses the help promises (0 ok, 1 agent error, 2 usage,
# 3 unreachable) with a clear message when the agent is down, gone or hung.
source "$(dirname "$0")/../lib.sh"
kb_require_root
PY=/usr/bin/python3
[ -x "$PY" ] || kb_skip "needs /usr/bin/python3 (hack/deps.txt: python3)"
KBWIRE=$ROOT/test/tools/kbwire
CTL=$BIN/agentctl

# ctl_rc WANT NAME ARGS...: agentctl's exit status; output in $T/out, $T/err.
ctl_rc() {
	local want=$1 name=$2 rc=0
	shift 2
	"$CTL" "$@" >"$T/out" 2>"$T/err" || rc=$?
	kb_assert_eq "$rc" "$want" "$name: exit status"
}
err_has() { # NAME TEXT
	if grep -qF -- "$2" "$T/err"; then kb_pass "$1"; else kb_fail "$1: stderr '$(cat "$T/err")' lacks '$2'"; fi
}
out_has() {
	if grep -qF -- "$2" "$T/out"; then kb_pass "$1"; else kb_fail "$1: stdout lacks '$2': $(cat "$T/out")"; fi
}

kb_log "agent down"
ctl_rc 3 "no socket" -s "$T/none/agent.sock" status
err_has "no socket: says where it looked" "kbnet-agent is not reachable at $T/none/agent.sock"
"$PY" -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind('$T/stale.sock')"
ctl_rc 3 "stale socket (agent died)" -s "$T/stale.sock" pools
err_has "stale socket: connection refused" "Connection refused"
# An "agent" that accepts and never answers: the --timeout budget ends the call.
"$PY" - "$T/hung.sock" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
EOF
HUNG=$!
kb_defer "kill $HUNG"
for i in $(seq 100); do [ -S "$T/hung.sock" ] && break; sleep 0.05; done
ctl_rc 3 "hung agent" -s "$T/hung.sock" --timeout 300 allocations
err_has "hung agent: timed out" "timed out"
kill $HUNG

kb_log "usage errors"
ctl_rc 2 "no command"
ctl_rc 2 "unknown command" frobnicate
err_has "unknown command named" "unknown command 'frobnicate'"
ctl_rc 2 "bad output format" -o yaml status
ctl_rc 2 "timeout out of range" --timeout 0 status
ctl_rc 2 "show without argument" -s "$KB_SOCK" show
ctl_rc 2 "status with an argument" -s "$KB_SOCK" status extra
ctl_rc 0 "help" --help
out_has "help lists the exit statuses" "3 agent unreachable"

kb_agent_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
wire() { "$PY" "$KBWIRE/kbwire.py" "$KB_SOCK" "$@" >/dev/null; }
wire attach '{"containerID":"5e1c0f2a9b8d7c6e5f4a","ifname":"net1","network":"net-a","deviceType":"virtio-user","deviceID":"vu-3","pod":{"namespace":"default","name":"web-0","uid":"8f0e-uid"}}'
wire attach '{"containerID":"5e1c0f2a9b8d7c6e5f4a","ifname":"net2","network":"net-a","deviceType":"virtio-user","pod":{"namespace":"default","name":"web-0","uid":"8f0e-uid"}}'
wire attach '{"containerID":"77aa00","ifname":"net1","network":"net-b","deviceType":"virtio-user","pod":{"namespace":"prod","name":"db-1","uid":"9abc-uid"}}'

kb_log "reads"
ctl_rc 0 "status" -s "$KB_SOCK" status
out_has "status: healthy" "healthy"
out_has "status: allocations" "allocations: 3"
ctl_rc 0 "pools" -s "$KB_SOCK" pools
kb_assert_eq "$(awk 'NR == 2 {print $1, $2, $4, $6, $7}' "$T/out")" "vu virtio-user 8 3 5" \
	"pools table: name, type, capacity, allocated, free"
ctl_rc 0 "devices" -s "$KB_SOCK" devices
kb_assert_eq "$(grep -c 'vu-' "$T/out")" 8 "devices table: a row per device"
grep -E '^vu-3 ' "$T/out" | grep -q 'default/web-0 *net1' && kb_pass "devices table names vu-3's holder" ||
	kb_fail "devices table names vu-3's holder: $(grep -E '^vu-3 ' "$T/out")"
ctl_rc 0 "allocations" -s "$KB_SOCK" allocations
kb_assert_eq "$(head -1 "$T/out" | awk '{print $1, $2, $3, $6, $7}')" "POD CONTAINER IFNAME DEVICE MAC" \
	"allocations table header"
kb_assert_eq "$(grep -c 'default/web-0' "$T/out")" 2 "allocations table: pod column"
kb_assert_eq "$(grep 'net2' "$T/out" | awk '{print $2}')" 5e1c0f2a9b8d "container IDs cut to 12"
ctl_rc 0 "allocations -o json" -s "$KB_SOCK" -o json allocations
kb_assert_jq "$T/out" 'length' 3 "JSON: every allocation"
kb_assert_jq "$T/out" 'map(select(.deviceID == "vu-3")) | .[0].vhostUser.socketPath | test("/devices/vu-3/vhost-user.sock$")' \
	true "JSON: full objects (device-plugin socket layout with a deviceID)"
kb_assert_jq "$T/out" 'map(select(.ifname == "net2")) | .[0].vhostUser.socketPath | test("/pods/8f0e-uid/net2.sock$")' \
	true "JSON: pod socket layout without one"
# Options after the command, as kubectl users type them; the command's own stay its own.
cp "$T/out" "$T/before.json"
ctl_rc 0 "allocations -o json after the command" allocations -o json -s "$KB_SOCK"
kb_assert_eq "$(cmp -s "$T/out" "$T/before.json" && echo same)" same "same output as with -o json before it"
ctl_rc 0 "--output=json --socket=PATH after the command" allocations --output=json --socket="$KB_SOCK" --pool vu
kb_assert_jq "$T/out" 'length' 3 "long forms with = after the command, with the command's --pool"
ctl_rc 2 "-o without a value after the command" -s "$KB_SOCK" allocations -o
err_has "-o without a value: says so" "-o needs a value"
ctl_rc 0 "allocations --help" allocations --help
out_has "per-command help: usage line" "Usage: agentctl allocations [--pool NAME]"
out_has "per-command help: what it does" "who holds what"
ctl_rc 0 "show -h" show -h
out_has "show -h: its own usage" "Usage: agentctl show <containerID|pod>"
ctl_rc 0 "version" -s "$KB_SOCK" version
kb_assert_eq "$(tr '\n' ' ' <"$T/out")" "agentctl 0.1.0 kbnet-agent $("$BIN/kbnet-agent" --version | awk '{print $2}') " \
	"version: client and agent"
ctl_rc 0 "version -o json" version -o json -s "$KB_SOCK"
kb_assert_jq "$T/out" '"\(.client) \(.agent)"' "0.1.0 0.1.0" "version JSON"
ctl_rc 3 "version without an agent" -s "$T/none.sock" version
out_has "version without an agent still prints the client's" "agentctl 0.1.0"
ctl_rc 0 "allocations --pool" -s "$KB_SOCK" -o json allocations --pool vu
kb_assert_jq "$T/out" 'length' 3 "--pool vu"
ctl_rc 0 "allocations --pool other" -s "$KB_SOCK" -o json allocations --pool other
kb_assert_jq "$T/out" 'length' 0 "--pool filters"
KBNET_AGENT_SOCKET=$KB_SOCK ctl_rc 0 "socket from KBNET_AGENT_SOCKET" -o json pools
kb_assert_jq "$T/out" '.[0].name' vu "KBNET_AGENT_SOCKET honoured"

kb_log "show"
ctl_rc 0 "show pod name" -s "$KB_SOCK" show web-0
kb_assert_eq "$(grep -c '^5e1c0f2a9b8d7c6e5f4a/net' "$T/out")" 2 "show web-0: both interfaces"
out_has "show: device line" "vu-3"
ctl_rc 0 "show namespace/pod" -s "$KB_SOCK" -o json show prod/db-1
kb_assert_jq "$T/out" '.[0].containerID' 77aa00 "show prod/db-1"
ctl_rc 0 "show pod UID" -s "$KB_SOCK" -o json show 9abc-uid
kb_assert_jq "$T/out" '.[0].pod.name' db-1 "show by pod UID"
ctl_rc 0 "show container prefix" -s "$KB_SOCK" -o json show 5e1c
kb_assert_jq "$T/out" 'length' 2 "show by container ID prefix"
ctl_rc 1 "show unknown" -s "$KB_SOCK" show nothing-here
err_has "show unknown: says so" "nothing allocated to 'nothing-here'"
ctl_rc 1 "show wrong namespace" -s "$KB_SOCK" show default/db-1
wire attach '{"containerID":"5e1c99","ifname":"net1","network":"net-a","deviceType":"virtio-user"}'
ctl_rc 1 "show ambiguous prefix" -s "$KB_SOCK" show 5e1c
err_has "ambiguous prefix: agent's message" "ambiguous"

kb_log "agent stops while agentctl runs"
kb_agent_stop
ctl_rc 3 "agent stopped" -s "$KB_SOCK" status
err_has "agent stopped: says it is unreachable" "not reachable"
kb_done
