#!/usr/bin/env bash
# agent_state: persistence of the real kbnet-agent across SIGTERM and kill -9 (also while
# several clients change allocations), damaged state files (corrupt snapshot, torn journal
# tail, corrupt journal record), a second agent on the same state directory, configuration
# errors, and the embedded default configuration.
source "$(dirname "$0")/../lib.sh"
kb_require_root
PY=/usr/bin/python3
[ -x "$PY" ] || kb_skip "needs /usr/bin/python3 (hack/deps.txt: python3)"
KBWIRE=$ROOT/test/tools/kbwire
export PYTHONPATH=$KBWIRE

wire() { "$PY" "$KBWIRE/kbwire.py" "$KB_SOCK" "$@"; }
attach() { # CID [DEVICEID]
	local dev=${2:+,\"deviceID\":\"$2\"}
	wire attach "{\"containerID\":\"$1\",\"ifname\":\"net1\",\"network\":\"n\",\"deviceType\":\"virtio-user\",\"pod\":{\"namespace\":\"default\",\"name\":\"$1\",\"uid\":\"uid-$1\"}$dev}" >/dev/null
}
detach() { wire detach "{\"containerID\":\"$1\",\"ifname\":\"net1\"}" >/dev/null; }
# The allocations as a stable, comparable text.
allocs() {
	kb_ctl -o json allocations |
		jq -c 'sort_by(.containerID) | map({containerID, deviceID, mac, pod, socket: .vhostUser.socketPath})'
}
restart() { # [SIGNAL]
	kb_agent_stop "${1:-TERM}"
	kb_agent_start "$T/agent.yaml"
}

kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 64'
kb_agent_start "$T/agent.yaml"

kb_log "allocations survive SIGTERM and kill -9"
for c in a1 a2 a3 a4 a5; do attach $c; done
attach a6 vu-40
detach a3
before=$(allocs)
kb_assert_eq "$(echo "$before" | jq length)" 5 "five allocations"
restart TERM
kb_assert_eq "$(allocs)" "$before" "same allocations after SIGTERM restart"
attach b1
attach b2 vu-50
detach a1
before=$(allocs)
restart KILL
kb_assert_eq "$(allocs)" "$before" "same allocations after kill -9 right after the changes"
kb_assert_eq "$(wire attach '{"containerID":"b2","ifname":"net1","network":"n","deviceType":"virtio-user","deviceID":"vu-50"}' | jq -r .result.existing)" \
	true "idempotent attach after kill -9 returns the existing allocation"
kb_assert_eq "$(wire attach '{"containerID":"zz","ifname":"net1","network":"n","deviceType":"virtio-user","deviceID":"vu-50"}' | jq -r .error.code)" \
	EBUSY "a restored device is not handed out again"

kb_log "kill -9 while four clients attach and detach"
cat >"$T/load.py" <<'EOF'
# Four connections each attach and detach their own keys as fast as replies come; every
# request is logged before it is sent and every reply when it arrives, so after a kill -9 we
# know what the agent acknowledged.
import os, sys, threading, kbwire as k
S, out = sys.argv[1], sys.argv[2]
log = open(out, "w", buffering=1)
lock = threading.Lock()
def note(*a):
    with lock:
        log.write(" ".join(map(str, a)) + "\n")
def worker(w):
    s = k.connect(S, 10)
    i = 0
    try:
        while True:
            key = "w%d-%d" % (w, i % 6)
            held = (i // 6) % 2 == 0  # first round attaches the 6 keys, next detaches them...
            if held:
                note("SENT", key, "attach")
                k.send_req(s, "attach", {"containerID": key, "ifname": "net1", "network": "n",
                                         "deviceType": "virtio-user"})
            else:
                note("SENT", key, "detach")
                k.send_req(s, "detach", {"containerID": key, "ifname": "net1"})
            r = k.recv_reply(s, 10)
            if r is None:
                return
            if not r["ok"]:
                note("ERR", key, r["error"]["code"])
                return
            if held:
                note("ACK", key, "attach", r["result"]["allocation"]["deviceID"])
            else:
                note("ACK", key, "detach", r["result"]["released"])
            i += 1
    except OSError:
        return
ts = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
for t in ts: t.start()
for t in ts: t.join()
EOF
"$PY" "$T/load.py" "$KB_SOCK" "$T/load.log" &
LOAD=$!
kb_defer "kill $LOAD"
sleep 1.5
kill -KILL "$KB_AGENT_PID"
wait "$LOAD" || true
kb_agent_stop KILL
kb_log "$(grep -c ACK "$T/load.log") acknowledged changes before the kill"
kb_agent_start "$T/agent.yaml"
kb_ctl -o json allocations >"$T/after.json"
rc=0
"$PY" - "$T/load.log" "$T/after.json" >"$T/verify.out" 2>&1 <<'EOF' || rc=$?
# Every acknowledged change is there; an unacknowledged last request may or may not be.
import json, sys
last, inflight = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "SENT":
        inflight[f[1]] = f[2]
    elif f[0] == "ACK":
        last[f[1]] = (f[2], f[3] if len(f) > 3 else None)
        inflight.pop(f[1], None)
    elif f[0] == "ERR":
        sys.exit("agent refused %s: %s" % (f[1], f[2]))
have = {a["containerID"]: a["deviceID"] for a in json.load(open(sys.argv[2]))
        if a["containerID"].startswith("w")}
bad = []
for key in set(last) | set(inflight) | set(have):
    acked = last.get(key)
    want_held = acked is not None and acked[0] == "attach"
    if key in inflight:
        continue  # either outcome is correct for a request the agent never answered
    if want_held and have.get(key) != acked[1]:
        bad.append("%s: acknowledged attach of %s, agent has %s" % (key, acked[1], have.get(key)))
    if not want_held and key in have:
        bad.append("%s: acknowledged detach, agent still has %s" % (key, have[key]))
print("%d keys checked, %d in flight" % (len(set(last) | set(have)), len(inflight)))
if bad:
    sys.exit("\n".join(bad))
EOF
cat "$T/verify.out"
kb_assert_eq "$rc" 0 "every acknowledged change survived kill -9"
kb_assert_eq "$(kb_ctl -o json devices | jq '[.[] | select(.holder != null)] | length')" \
	"$(kb_ctl -o json allocations | jq length)" "held devices match allocations after restart"
# Clean the load's keys.
for w in 0 1 2 3; do for i in 0 1 2 3 4 5; do detach "w$w-$i"; done; done

kb_log "compaction: a snapshot is written and reloaded"
"$PY" - "$KB_SOCK" <<'EOF' || kb_fail "churn requests answered"
# 2100 attach/detach pairs (4200 journal records, more than the live set) force a snapshot.
import sys, kbwire as k
s = k.connect(sys.argv[1], 30)
for batch in range(21):
    reqs = []
    for i in range(100):
        reqs.append(k.req("attach", {"containerID": "churn", "ifname": "net1", "network": "n",
                                     "deviceType": "virtio-user"}, rid=len(reqs) + 1))
        reqs.append(k.req("detach", {"containerID": "churn", "ifname": "net1"}, rid=len(reqs) + 1))
    s.sendall(b"".join(k.frame(r) for r in reqs))
    for r in reqs:
        rep = k.recv_reply(s, 30)
        assert rep and rep["ok"], rep
EOF
kb_assert_eq "$(kb_ctl -o json status | jq '.state.snapshots >= 1')" true "snapshot written"
kb_assert_eq "$([ -s "$KB_STATE/state.snap" ] && echo yes)" yes "state.snap exists"
before=$(allocs)
restart KILL
kb_assert_eq "$(allocs)" "$before" "allocations from snapshot + journal after kill -9"

kb_log "corrupt snapshot: moved aside, clear log line, agent starts empty"
kb_agent_stop TERM
"$PY" - "$KB_STATE/state.snap" <<'EOF'
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
d[len(d) // 2] ^= 0x01
open(p, "wb").write(d)
EOF
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(grep -c 'state snapshot corrupt (bad record at byte [0-9]*); moved aside to .*state.snap.corrupt-[0-9]*.*; starting with no allocations' "$T/agent.log")" \
	1 "log names the problem and where the file went"
kb_assert_eq "$(ls "$KB_STATE" | grep -c '^state.snap.corrupt-')" 1 "corrupt snapshot kept aside"
kb_assert_eq "$(ls "$KB_STATE" | grep -c '^state.journal.corrupt-')" 1 "its journal kept aside too"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "agent started with no allocations"
kb_assert_eq "$(kb_ctl -o json pools | jq '.[0].free')" 64 "every device free"
attach c1
restart KILL
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[0].containerID')" c1 "works normally afterwards"

kb_log "torn journal tail: cut off, the rest kept"
attach c2
attach c3
before=$(allocs)
kb_agent_stop TERM
size=$(stat -c %s "$KB_STATE/state.journal")
printf '0badc0de {"seq":999,"key":"c4/net1","value":{"containerID":"c4"' >>"$KB_STATE/state.journal"
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(allocs)" "$before" "allocations before the torn record kept"
kb_assert_eq "$(grep -c 'cut off an incomplete last journal record' "$T/agent.log")" 1 "torn tail logged"
kb_assert_eq "$(stat -c %s "$KB_STATE/state.journal")" "$size" "torn bytes removed from the journal"
attach c5
restart KILL
kb_assert_eq "$(kb_ctl -o json allocations | jq -r 'map(.containerID) | sort | join(",")')" \
	c1,c2,c3,c5 "appending after the cut works"

kb_log "corrupt journal record in the middle: good prefix kept, copy aside"
kb_agent_stop TERM
rm -f "$KB_STATE"/state.*
kb_agent_start "$T/agent.yaml"
for c in d1 d2 d3 d4; do attach $c; done
kb_agent_stop TERM
"$PY" - "$KB_STATE/state.journal" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p, "rb").read().split(b"\n")
lines[2] = lines[2].replace(b"d3", b"dX")  # the third record's checksum no longer matches
open(p, "wb").write(b"\n".join(lines))
EOF
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r 'map(.containerID) | sort | join(",")')" \
	d1,d2 "records before the damage kept, none after"
kb_assert_eq "$(grep -c 'state journal damaged (journal record at byte [0-9]* is corrupt); kept a copy at [^;]*$' "$T/agent.log")" \
	1 "damage logged with the copy's name (and no claim of starting empty)"
kb_assert_eq "$(ls "$KB_STATE" | grep -c '^state.journal.corrupt-')" 1 "damaged journal kept aside"
kb_assert_eq "$(kb_ctl -o json pools | jq '.[0].allocated')" 2 "devices of lost records are free"
for c in d1 d2; do detach $c; done

kb_log "a second agent on the same state directory is refused"
sed "s|^apiSocket: .*|apiSocket: $T/run2/agent.sock|" "$T/agent.yaml" >"$T/agent2.yaml"
rc=0
timeout 20 "$BIN/kbnet-agent" --config "$T/agent2.yaml" >"$T/agent2.log" 2>&1 || rc=$?
kb_assert_ne "$rc" 0 "second agent exits with an error"
kb_assert_eq "$(grep -c "state directory $KB_STATE is locked by another kbnet-agent" "$T/agent2.log")" 1 \
	"second agent says why"
kb_assert_eq "$([ -e "$T/run2/agent.sock" ] && echo yes || echo no)" no "second agent never listened"
sed "s|^stateDir: .*|stateDir: $T/state2|" "$T/agent.yaml" >"$T/agent3.yaml"
rc=0
timeout 20 "$BIN/kbnet-agent" --config "$T/agent3.yaml" >"$T/agent3.log" 2>&1 || rc=$?
kb_assert_ne "$rc" 0 "an agent on a served API socket exits with an error"
kb_assert_eq "$(grep -c "is served by another process" "$T/agent3.log")" 1 "and says why"
kb_assert_eq "$(kb_ctl -o json status | jq -r .pid)" "$KB_AGENT_PID" "the first agent still serves"

kb_log "SIGHUP with a broken configuration keeps the running one"
cp "$T/agent.yaml" "$T/agent.good"
echo "bogus: 1" >>"$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
for i in $(seq 100); do grep -q 'keeping the running configuration' "$T/agent.log" && break; sleep 0.05; done
kb_assert_eq "$(grep -c 'reload: .*bogus: unknown key (keeping the running configuration)' "$T/agent.log")" \
	1 "reload error logged"
kb_assert_eq "$(kb_ctl -o json pools | jq '.[0].capacity')" 64 "pools unchanged"
cp "$T/agent.good" "$T/agent.yaml"
kb_agent_stop TERM

kb_log "configuration errors name key, line and column; the agent exits non-zero"
cfg_err() { # NAME EXPECTED-MESSAGE (config on stdin)
	local rc=0
	cat >"$T/bad.yaml"
	timeout 20 "$BIN/kbnet-agent" --config "$T/bad.yaml" >"$T/bad.log" 2>&1 || rc=$?
	kb_assert_ne "$rc" 0 "$1: exit status"
	if grep -qF "$2" "$T/bad.log"; then kb_pass "$1: message"; else
		kb_fail "$1: message: want '$2', got '$(cat "$T/bad.log")'"
	fi
	rc=0
	"$BIN/kbnet-agent" --check-config --config "$T/bad.yaml" >/dev/null 2>&1 || rc=$?
	kb_assert_ne "$rc" 0 "$1: --check-config fails too"
}
cfg_err "unknown key" "$T/bad.yaml:3:1: bogus: unknown key" <<-YAML
	apiSocket: $T/bad/agent.sock
	stateDir: $T/bad/state
	bogus: true
YAML
cfg_err "bad value" "$T/bad.yaml:5:12: count: must be an integer between 1 and 65536" <<-YAML
	apiSocket: $T/bad/agent.sock
	stateDir: $T/bad/state
	pools:
	  - name: vu
	    count: 0
	    type: virtio-user
YAML
cfg_err "unknown pool key" "$T/bad.yaml:4:5: size: unknown key in pool" <<-YAML
	pools:
	  - name: vu
	    type: virtio-user
	    size: 3
YAML
cfg_err "bad api limit" "$T/bad.yaml:2:18: idleTimeoutMs: must be an integer between 100" <<-YAML
	api:
	  idleTimeoutMs: 5
YAML
cfg_err "YAML syntax" "$T/bad.yaml:3:1: YAML syntax error" <<-YAML
	pools: [
	apiSocket: x
YAML
kb_assert_eq "$([ -e "$T/bad" ] && echo yes || echo no)" no "a rejected configuration created nothing"
rc=0
"$BIN/kbnet-agent" --config "$T/missing.yaml" >"$T/missing.log" 2>&1 || rc=$?
kb_assert_ne "$rc" 0 "an explicit --config that does not exist is an error"
kb_assert_eq "$(grep -c "$T/missing.yaml: No such file or directory" "$T/missing.log")" 1 \
	"and the message names the file"
rc=0
out=$("$BIN/kbnet-agent" --check-config --config "$T/agent.yaml" 2>&1) || rc=$?
kb_assert_eq "$rc:$out" "0:$T/agent.yaml: ok" "--check-config on a good file"

kb_log "no configuration file at the default path: the embedded default"
if [ -e /etc/kbnet/agent.yaml ]; then
	kb_log "skipped: /etc/kbnet/agent.yaml exists on this machine"
else
	host_run=$(ls -d /run/kbnet /var/lib/kbnet 2>/dev/null || true)
	# A private mount namespace with empty /run and /var/lib, so the default apiSocket,
	# stateDir and runDir are used without touching the host's.
	cat >"$T/default.sh" <<-'EOF'
		set -e
		mount -t tmpfs kbtest /run
		mount -t tmpfs kbtest /var/lib
		"$BIN/kbnet-agent" >"$T/default.log" 2>&1 &
		pid=$!
		for i in $(seq 200); do [ -S /run/kbnet/agent.sock ] && break; sleep 0.05; done
		"$BIN/agentctl" -o json status >"$T/default-status.json"
		"$BIN/agentctl" -o json pools >"$T/default-pools.json"
		ls -d /var/lib/kbnet >"$T/default-state.txt"
		kill "$pid"
		wait "$pid"
	EOF
	rc=0
	T=$T BIN=$BIN timeout 60 unshare -m --propagation private bash "$T/default.sh" || rc=$?
	kb_assert_eq "$rc" 0 "agent on the embedded default starts and stops cleanly"
	kb_assert_jq "$T/default-status.json" .config "<embedded>" "status names the embedded config"
	kb_assert_jq "$T/default-pools.json" '.[0] | "\(.name) \(.type) \(.capacity)"' \
		"virtio_user virtio-user 64" "a virtio_user pool of 64 ports"
	kb_assert_eq "$(cat "$T/default-state.txt")" /var/lib/kbnet "default stateDir used"
	kb_assert_eq "$(ls -d /run/kbnet /var/lib/kbnet 2>/dev/null || true)" "$host_run" \
		"the host's /run/kbnet and /var/lib/kbnet were not touched"
fi
"$BIN/kbnet-agent" --print-default-config >"$T/printed.yaml"
kb_assert_eq "$("$BIN/kbnet-agent" --check-config --config "$T/printed.yaml" 2>&1)" \
	"$T/printed.yaml: ok" "the printed default configuration is valid"

grep -E 'AddressSanitizer|runtime error' "$T"/*.log && kb_fail "sanitizer report in an agent log"
kb_done
