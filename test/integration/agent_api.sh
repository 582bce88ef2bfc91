#!/usr/bin/env bash
# agent_api: the real kbnet-agent's API socket under hostile and unusual clients: garbage,
# malformed, zero-length, oversized, truncated and dribbled frames, idle connections, more
# than api.maxClients connections, pipelining, half-closed clients, non-root peers. After
# every case the agent must still be alive and answering; at the end no connection may leak.
source "$(dirname "$0")/../lib.sh"
kb_require_root
PY=/usr/bin/python3
[ -x "$PY" ] || kb_skip "needs /usr/bin/python3 (hack/deps.txt: python3)"
command -v setpriv >/dev/null || kb_skip "needs setpriv (util-linux)"
KBWIRE=$ROOT/test/tools/kbwire

kb_agent_config "$T/agent.yaml"
cat >>"$T/agent.yaml" <<-YAML
	api:
	  maxClients: 8
	  idleTimeoutMs: 1000
YAML
# Start from a soft open-files limit below the hard one (as under systemd: 1024 / 524288).
hard_nofile=$(ulimit -Hn)
[ "$hard_nofile" = unlimited ] || [ "$hard_nofile" -gt 512 ] && ulimit -Sn 512
kb_agent_start "$T/agent.yaml"
PID=$KB_AGENT_PID

# alive CASE: the agent process exists and answers a status request within 5 s.
alive() {
	if ! kill -0 "$PID" 2>/dev/null; then
		kb_fail "agent still running after: $1"
		return
	fi
	timeout 5 "$BIN/agentctl" -s "$KB_SOCK" status >/dev/null 2>&1 ||
		kb_fail "agent still answers after: $1"
}

# py NAME <<EOF: a Python check (kbwire importable, S = the socket path); passes when it
# exits 0, then checks the agent is alive.
py() {
	local name=$1 out rc=0
	out=$(PYTHONPATH=$KBWIRE SOCK=$KB_SOCK timeout 60 "$PY" - 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		kb_pass "$name"
	else
		kb_fail "$name"
		echo "$out" | sed 's/^/    /'
	fi
	alive "$name"
}

# The agent runs with its hard open-files limit (vhost-user ports cost descriptors).
kb_assert_eq "$(awk '/Max open files/ {print ($4 == $5)}' "/proc/$PID/limits")" 1 \
	"soft open-files limit raised to the hard one ($(awk '/Max open files/ {print $4 "/" $5}' "/proc/$PID/limits"))"

nfds() { ls "/proc/$PID/fd" | wc -l; }
# Baseline once the state journal is open (it is opened by the first change).
"$PY" "$KBWIRE/kbwire.py" "$KB_SOCK" attach \
	'{"containerID":"warm","ifname":"net1","network":"n","deviceType":"virtio-user"}' >/dev/null
"$PY" "$KBWIRE/kbwire.py" "$KB_SOCK" detach '{"containerID":"warm","ifname":"net1"}' >/dev/null
sleep 0.2
FDS0=$(nfds)

PRELUDE='
import os, socket, struct, time, json, kbwire as k
S = os.environ["SOCK"]
def expect(cond, what):
    if not cond:
        raise SystemExit("FAILED: " + what)
'

kb_log "malformed requests get error replies and the connection stays usable"
py "malformed requests" <<EOF
$PRELUDE
s = k.connect(S)
cases = [
    (b"hello", "EBADMSG"),
    (b"{\"version\":1,", "EBADMSG"),
    (b"[1,2,3]", "EBADMSG"),
    (b"\"status\"", "EBADMSG"),
    (b"\xff\xfe{}", "EBADMSG"),
    (b"{\"version\":1,\"op\":\"status\",\"op\":\"list\"}", "EBADMSG"),  # duplicate key
    (b"[" * 100000, "EBADMSG"),  # nesting far beyond the parser's depth limit
    (json.dumps({"op": "status"}).encode(), "EPROTONOSUPPORT"),
    (json.dumps({"version": 2, "op": "status"}).encode(), "EPROTONOSUPPORT"),
    (json.dumps({"version": 1}).encode(), "EBADMSG"),
    (json.dumps({"version": 1, "op": "status", "args": [1]}).encode(), "EBADMSG"),
    (json.dumps({"version": 1, "op": "launch-missiles"}).encode(), "ENOSYS"),
    (json.dumps({"version": 1, "op": "attach", "args": {"containerID": "../../etc"}}).encode(), "EINVAL"),
]
for body, code in cases:
    s.sendall(k.frame(body))
    r = k.recv_reply(s)
    expect(r is not None, "reply to %r" % body[:40])
    expect(k.error_code(r) == code, "%r -> %s, want %s" % (body[:40], r, code))
k.send_req(s, "status", rid=99)
r = k.recv_reply(s)
expect(r["ok"] and r["id"] == 99, "connection still usable: %s" % r)
EOF

kb_log "zero-length and oversized frames: EMSGSIZE, then closed"
py "zero-length frame" <<EOF
$PRELUDE
s = k.connect(S)
s.sendall(struct.pack(">I", 0))
r = k.recv_reply(s)
expect(k.error_code(r) == "EMSGSIZE", "zero length -> %s" % r)
expect(k.closed(s, 3), "closed after a zero-length frame")
EOF
py "frame announcing more than 1 MiB" <<EOF
$PRELUDE
s = k.connect(S)
s.sendall(struct.pack(">I", k.MAX_REQUEST + 1))
r = k.recv_reply(s)
expect(k.error_code(r) == "EMSGSIZE", "1 MiB + 1 -> %s" % r)
expect(k.closed(s, 3), "closed after an oversized frame")
s = k.connect(S)
s.sendall(struct.pack(">I", 0xffffffff))
expect(k.error_code(k.recv_reply(s)) == "EMSGSIZE", "4 GiB announced")
EOF
py "oversized frame with its body streamed" <<EOF
$PRELUDE
s = k.connect(S)
try:
    s.sendall(struct.pack(">I", 8 * k.MAX_REQUEST) + b" " * (8 * k.MAX_REQUEST))
except (BrokenPipeError, ConnectionResetError):
    pass  # the agent stopped reading: right
s.close()
EOF
py "exactly 1 MiB is served" <<EOF
$PRELUDE
body = json.dumps(k.req("status", rid=5)).encode()
body = body + b" " * (k.MAX_REQUEST - len(body))
s = k.connect(S)
s.sendall(k.frame(body))
r = k.recv_reply(s, 10)
expect(r and r["ok"] and r["id"] == 5, "1 MiB request: %s" % r)
EOF

kb_log "truncated frames and garbage"
py "truncated frames" <<EOF
$PRELUDE
for data in [b"\x00\x00", struct.pack(">I", 100), struct.pack(">I", 100) + b"{" * 50,
             k.frame(k.req("status"))[:-3]]:
    s = k.connect(S)
    s.sendall(data)
    s.close()
time.sleep(0.1)
EOF
py "random garbage" <<EOF
$PRELUDE
import random
rnd = random.Random(7)
for i in range(20):
    s = k.connect(S)
    try:
        s.sendall(bytes(rnd.getrandbits(8) for _ in range(rnd.choice([3, 100, 5000, 70000]))))
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.close()
# small garbage inside a well-formed frame: an error reply, then business as usual
s = k.connect(S)
s.sendall(struct.pack(">I", 16) + bytes(rnd.getrandbits(8) for _ in range(16)))
expect(k.error_code(k.recv_reply(s)) == "EBADMSG", "garbage body")
k.send_req(s, "status", rid=2)
expect(k.recv_reply(s)["ok"], "usable after garbage body")
EOF

kb_log "idle and slow clients are closed after api.idleTimeoutMs (1 s)"
py "idle connection closed" <<EOF
$PRELUDE
s = k.connect(S)
t0 = time.monotonic()
expect(k.closed(s, 5), "idle connection still open after 5 s")
dt = time.monotonic() - t0
expect(dt >= 0.8, "closed after %.2f s, before the 1 s idle limit" % dt)
EOF
py "dribbled frame closed" <<EOF
$PRELUDE
s = k.connect(S)
s.sendall(struct.pack(">I", 200))
t0 = time.monotonic()
# one byte every 0.3 s: never idle for 1 s, but the frame stays incomplete
gone = False
while time.monotonic() - t0 < 6:
    try:
        s.sendall(b" ")
    except (BrokenPipeError, ConnectionResetError):
        gone = True
        break
    if k.closed(s, 0.3):
        gone = True
        break
dt = time.monotonic() - t0
expect(gone, "a frame dribbled for %.1f s (6 x the limit) is still accepted" % dt)
EOF

kb_log "more than api.maxClients (8) connections: the newest is refused"
py "client limit" <<EOF
$PRELUDE
held = [k.connect(S) for _ in range(8)]
time.sleep(0.2)
extra = k.connect(S)
r = k.recv_reply(extra)
expect(k.error_code(r) == "EBUSY", "9th connection: %s" % r)
expect(k.closed(extra, 3), "9th connection closed")
for i, s in enumerate(held):
    k.send_req(s, "status", rid=i + 1)
    r = k.recv_reply(s)
    expect(r and r["ok"] and r["id"] == i + 1, "held connection %d still served" % i)
held.pop().close()
time.sleep(0.2)
s = k.connect(S)
k.send_req(s, "status", rid=7)
expect(k.recv_reply(s)["ok"], "a freed slot is usable")
for s in held:
    s.close()
EOF

kb_log "pipelined requests: replies in request order"
py "pipelining" <<EOF
$PRELUDE
reqs = []
for i in range(20):
    reqs.append(k.req("attach", {"containerID": "pipe%d" % i, "ifname": "net1", "network": "n",
                                  "deviceType": "virtio-user"}, rid=len(reqs) + 1))
reqs.append(k.req("list", {"what": "allocations"}, rid=len(reqs) + 1))
for i in range(20):
    reqs.append(k.req("detach", {"containerID": "pipe%d" % i, "ifname": "net1"}, rid=len(reqs) + 1))
reqs.append(k.req("list", {"what": "allocations"}, rid=len(reqs) + 1))
s = k.connect(S)
s.sendall(b"".join(k.frame(r) for r in reqs))
replies = [k.recv_reply(s, 10) for _ in reqs]
expect([r["id"] for r in replies] == list(range(1, len(reqs) + 1)), "reply order")
att = replies[:20]
expect(sum(1 for r in att if r["ok"]) == 8, "8 attaches succeed (pool of 8)")
expect(all(k.error_code(r) == "ENOSPC" for r in att[8:]), "the rest: ENOSPC")
devs = [r["result"]["allocation"]["deviceID"] for r in att[:8]]
expect(len(set(devs)) == 8, "8 distinct devices: %s" % devs)
expect(len(replies[20]["result"]["allocations"]) == 8, "list between")
rel = [r["result"]["released"] for r in replies[21:41]]
expect(rel == [True] * 8 + [False] * 12, "detach results %s" % rel)
expect(replies[41]["result"]["allocations"] == [], "nothing left")
EOF

kb_log "half-closed client still gets its replies"
py "half-close" <<EOF
$PRELUDE
s = k.connect(S)
s.sendall(k.frame(k.req("attach", {"containerID": "half", "ifname": "net1", "network": "n",
                                   "deviceType": "virtio-user"}, rid=1)) +
          k.frame(k.req("detach", {"containerID": "half", "ifname": "net1"}, rid=2)))
s.shutdown(socket.SHUT_WR)
r1 = k.recv_reply(s)
r2 = k.recv_reply(s)
expect(r1 and r1["ok"] and r1["id"] == 1, "attach reply %s" % r1)
expect(r2 and r2["ok"] and r2["result"]["released"], "detach reply %s" % r2)
expect(k.closed(s, 3), "closed after the replies")
EOF

kb_log "connection churn"
py "500 short connections" <<EOF
$PRELUDE
for i in range(500):
    s = k.connect(S)
    if i % 2:
        k.send_req(s, "status")
        expect(k.recv_reply(s)["ok"], "status %d" % i)
    s.close()
EOF

kb_log "non-root peers: reads only"
# The socket is root:root 0660: other users cannot connect at all. A deployment grants read
# access through the socket's group; here group nogroup, with a client running as nobody.
chmod o+x "$T"
cp -r "$KBWIRE" "$T/kbwire"
chmod -R a+rX "$T/kbwire"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
wire() { as_nobody "$PY" "$T/kbwire/kbwire.py" "$KB_SOCK" "$@"; }
rc=0
out=$(wire status) || rc=$?
kb_assert_eq "$rc:$(echo "$out" | jq -r .connectError)" "2:PermissionError" \
	"nobody cannot connect to the root:root 0660 socket"
kb_assert_eq "$(stat -c %a "$KB_SOCK")" 660 "socket mode"
chgrp 65534 "$KB_SOCK"
rc=0
out=$(wire status) || rc=$?
kb_assert_eq "$rc:$(echo "$out" | jq -r .ok)" "0:true" "nobody (socket group) reads status"
out=$(wire list '{"what":"pools"}') || true
kb_assert_eq "$(echo "$out" | jq -r '.result.pools[0].name')" vu "nobody lists pools"
out=$(wire check '{"containerID":"x","ifname":"net1"}') || true
kb_assert_eq "$(echo "$out" | jq -r .error.code)" ENOENT "nobody may check (ENOENT, not EPERM)"
for req in 'attach {"containerID":"np","ifname":"net1","network":"n","deviceType":"virtio-user"}' \
	'detach {"containerID":"np","ifname":"net1"}' 'gc {"network":"n","valid":[]}'; do
	op=${req%% *}
	rc=0
	out=$(wire "$op" "${req#* }") || rc=$?
	kb_assert_eq "$rc:$(echo "$out" | jq -r .error.code)" "1:EPERM" "nobody: $op refused"
done
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "refused attach allocated nothing"
# Root's attach, then nobody's detach and gc must leave it alone.
kb_ctl -o json status >/dev/null
"$PY" "$KBWIRE/kbwire.py" "$KB_SOCK" attach \
	'{"containerID":"rootc","ifname":"net1","network":"n","deviceType":"virtio-user"}' >/dev/null
wire detach '{"containerID":"rootc","ifname":"net1"}' >/dev/null || true
wire gc '{"network":"n","valid":[]}' >/dev/null || true
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '.[0].containerID')" rootc \
	"nobody's detach and gc left root's allocation alone"
rc=0
as_nobody "$BIN/agentctl" -s "$KB_SOCK" allocations >"$T/ctl-nobody.out" 2>&1 || rc=$?
kb_assert_eq "$rc" 0 "agentctl as nobody lists allocations"
grep -q rootc "$T/ctl-nobody.out" && kb_pass "agentctl as nobody shows the holder" ||
	kb_fail "agentctl as nobody shows the holder"
"$PY" "$KBWIRE/kbwire.py" "$KB_SOCK" detach '{"containerID":"rootc","ifname":"net1"}' >/dev/null
chgrp 0 "$KB_SOCK"
alive "non-root peers"

kb_log "out of file descriptors: no busy loop, recovery once descriptors are free"
# A second agent limited to 24 descriptors, 40 clients connecting at once: accept() fails
# with EMFILE while the connections wait in the backlog.
sed -e "s|$KB_SOCK|$T/run2/agent.sock|" -e "s|$KB_STATE|$T/state2|" -e "s|^runDir: .*|runDir: $T/run2|" \
	-e "s|maxClients: 8|maxClients: 64|" "$T/agent.yaml" >"$T/agent2.yaml"
prlimit --nofile=24:24 "$BIN/kbnet-agent" --config "$T/agent2.yaml" >"$T/agent2.log" 2>&1 &
PID2=$!
kb_defer "kill $PID2"
for i in $(seq 100); do [ -S "$T/run2/agent.sock" ] && break; sleep 0.05; done
SOCK2=$T/run2/agent.sock py "fd exhaustion" <<EOF
$PRELUDE
S = os.environ["SOCK2"]
held = [k.connect(S) for _ in range(40)]
time.sleep(1.5)
for s in held[:35]:
    s.close()
time.sleep(0.5)
r = k.call(S, "status", timeout=10)
expect(r and r["ok"], "served again once descriptors are free: %s" % r)
expect(r["result"]["api"]["acceptErrors"] > 0, "accept errors counted")
for s in held[35:]:
    s.close()
EOF
n=$(grep -c 'accept failed' "$T/agent2.log" || true)
kb_assert_eq "$((n >= 1 && n <= 5))" 1 "accept failure logged once per episode, not once per retry ($n lines)"
kb_assert_eq "$(kill -0 $PID2 && echo alive)" alive "agent with few descriptors still running"
kill $PID2
wait $PID2 || true

kb_log "nothing leaked"
# Idle connections left by the checks above time out after 1 s; wait for that (bounded).
for i in $(seq 100); do [ "$(nfds)" -le "$FDS0" ] && break; sleep 0.1; done
kb_assert_eq "$(( $(nfds) <= FDS0 ))" 1 "agent file descriptors back to $FDS0 (now $(nfds))"
kb_assert_eq "$(kb_ctl -o json status | jq .api.clients)" 1 "only the status connection is open"
kb_assert_eq "$(kb_ctl -o json allocations | jq length)" 0 "no allocations left"
grep -E 'AddressSanitizer|runtime error' "$T/agent.log" && kb_fail "sanitizer report in the agent log"
kb_agent_stop
kb_assert_eq "$(grep -c 'stopped' "$T/agent.log")" 1 "clean shutdown"
kb_done
