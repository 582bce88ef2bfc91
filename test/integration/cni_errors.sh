#!/usr/bin/env bash
# kbnet-cni error codes with the real agent: 1, 4, 6, 7, 11, 50, 100, 101, 102, 103 from
# malformed netconfs and environments and from agent refusals. Each error must be the CNI
# error JSON on stdout with a non-zero exit, and must leave nothing allocated.
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 2'
kb_agent_start "$T/agent.yaml"
kb_cni_setup
# Sockets of the "agent down" and "agent silent" cases below are in the allow-list.
kb_cni_plugin_config "$T/nobody.sock" "$T/mute.sock" "$T/again.sock"
ns=$(kb_netns pod)
NETNS=/run/netns/$ns

# conf FILE [extra json]: a valid 1.0.0 netconf merged with extra.
conf() {
	jq -n --arg sock "$KB_SOCK" --arg t "$T" --argjson extra "${2:-{\}}" '{
		cniVersion: "1.0.0", name: "net-a", type: "kbnet", agentSocket: $sock,
		cacheDir: ($t + "/cache"), agentTimeoutMs: 2000
	} + $extra' >"$T/$1"
	echo "$T/$1"
}

# expect_err CODE MSG-SUBSTRING DESCRIPTION: check the last plugin output ($T/cni.out).
expect_err() {
	local code=$1 want=$2 what=$3 got msg
	# One jq per check: "<code>\t<msg>" when the output is a CNI error object.
	if ! got=$(jq -r 'if type == "object" and has("cniVersion") and has("msg") and has("details")
		then "\(.code)\t\(.msg)" else error("not an error object") end' "$T/cni.out" 2>/dev/null); then
		kb_fail "$what: not a CNI error object: $(head -c 300 "$T/cni.out")"
		return
	fi
	msg=${got#*$'\t'}
	kb_assert_eq "${got%%$'\t'*}" "$code" "$what: code"
	if [[ $msg == *"$want"* ]]; then
		kb_pass "$what: message names '$want'"
	else
		kb_fail "$what: message '$msg' lacks '$want'"
	fi
}

# run_err CODE MSG DESCRIPTION CNI-ARGS...: kb_cni must fail with that code.
run_err() {
	local code=$1 want=$2 what=$3 rc=0
	shift 3
	kb_cni "$@" || rc=$?
	kb_assert_ne "$rc" 0 "$what: non-zero exit"
	expect_err "$code" "$want" "$what"
}

# raw ENV...: run the plugin with exactly these environment variables and $T/raw.json on stdin.
raw() {
	local rc=0
	env -i PATH="$PATH" KBNET_CNI_CONFIG="$KB_CNI_CONF" "$@" "$KB_CNI_BIN/kbnet" <"$T/raw.json" >"$T/cni.out" 2>"$T/cni.err" || rc=$?
	return $rc
}

ok=$(conf ok.json)
allocs() { kb_ctl -o json allocations | jq length; }

kb_log "code 6: undecodable configuration"
echo 'not json' >"$T/bad.json"
run_err 6 "not valid JSON" "not JSON" ADD c1 "$NETNS" net1 "$T/bad.json"
echo '["a"]' >"$T/bad.json"
run_err 6 "must be a JSON object" "JSON array" ADD c1 "$NETNS" net1 "$T/bad.json"
echo '{"cniVersion":1,"name":"n","type":"kbnet"}' >"$T/bad.json"
run_err 6 "cniVersion must be a string" "numeric cniVersion" ADD c1 "$NETNS" net1 "$T/bad.json"

kb_log "code 1: incompatible versions"
run_err 1 '"0.2.0"' "cniVersion 0.2.0" ADD c1 "$NETNS" net1 "$(conf v.json '{"cniVersion":"0.2.0"}')"
kb_assert_jq "$T/cni.out" .cniVersion 1.1.0 "error for an unknown version is printed as 1.1.0"
run_err 1 "missing cniVersion" "no cniVersion" ADD c1 "$NETNS" net1 "$(conf v.json '{"cniVersion":null}')"
run_err 1 "does not allow CHECK" "CHECK in 0.3.1" CHECK c1 "$NETNS" net1 \
	"$(conf v.json '{"cniVersion":"0.3.1","prevResult":{"cniVersion":"0.3.1"}}')"
kb_assert_jq "$T/cni.out" .cniVersion 0.3.1 "error printed in the configuration's version"
run_err 1 "does not allow GC" "GC in 1.0.0" GC "" "" "" "$(conf v.json '{"cni.dev/valid-attachments":[]}')"
run_err 1 "does not allow STATUS" "STATUS in 0.4.0" STATUS "" "" "" "$(conf v.json '{"cniVersion":"0.4.0"}')"

kb_log "code 4: environment"
cp "$ok" "$T/raw.json"
raw CNI_CONTAINERID=c1 CNI_NETNS="$NETNS" CNI_IFNAME=net1 || true
expect_err 4 "CNI_COMMAND is not set" "no CNI_COMMAND"
raw CNI_COMMAND=BOGUS CNI_CONTAINERID=c1 CNI_NETNS="$NETNS" CNI_IFNAME=net1 || true
expect_err 4 "CNI_COMMAND 'BOGUS'" "unknown CNI_COMMAND"
kb_assert_jq "$T/cni.out" .cniVersion 1.0.0 "environment errors use the configuration's version"
raw CNI_COMMAND=ADD CNI_NETNS="$NETNS" CNI_IFNAME=net1 || true
expect_err 4 "CNI_CONTAINERID is required" "no CNI_CONTAINERID"
run_err 4 "CNI_CONTAINERID '../etc'" "container ID with a path" ADD ../etc "$NETNS" net1 "$ok"
run_err 4 "CNI_IFNAME 'net/1'" "ifname with a slash" ADD c1 "$NETNS" net/1 "$ok"
run_err 4 "CNI_IFNAME" "ifname too long" ADD c1 "$NETNS" averyveryverylongname "$ok"
raw CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_IFNAME=net1 || true
expect_err 4 "CNI_NETNS is required" "ADD without CNI_NETNS"
run_err 4 "CNI_NETNS '/run/netns/kb-missing-ns'" "ADD into a missing netns" ADD c1 /run/netns/kb-missing-ns net1 "$ok"
run_err 4 "unknown key 'FOO'" "unknown CNI_ARGS key" ADD c1 "$NETNS" net1 "$ok" "FOO=bar;K8S_POD_NAME=p"
run_err 4 "K8S_POD_NAMESPACE" "invalid pod namespace" ADD c1 "$NETNS" net1 "$ok" "K8S_POD_NAMESPACE=Bad_NS"
cp "$(conf ipam.json "{\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.90.0.0/24\",\"dataDir\":\"$T/ipam\"}}")" "$T/raw.json"
raw CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS="$NETNS" CNI_IFNAME=net1 || true
expect_err 4 "CNI_PATH is required" "IPAM without CNI_PATH"
kb_assert_eq "$(allocs)" 0 "environment errors allocate nothing"

kb_log "code 7: invalid configuration"
run_err 7 "deviceType 'macvlan'" "unknown deviceType" ADD c1 "$NETNS" net1 "$(conf b.json '{"deviceType":"macvlan"}')"
run_err 7 "mac 'zz:zz:zz:zz:zz:zz'" "bad mac" ADD c1 "$NETNS" net1 "$(conf b.json '{"mac":"zz:zz:zz:zz:zz:zz"}')"
run_err 7 "runtimeConfig.mac" "multicast runtimeConfig.mac" ADD c1 "$NETNS" net1 \
	"$(conf b.json '{"runtimeConfig":{"mac":"01:00:5e:00:00:01"}}')"
run_err 7 "mtu must be an integer in [68, 65535]" "mtu too small" ADD c1 "$NETNS" net1 "$(conf b.json '{"mtu":10}')"
run_err 7 "mtu" "mtu as a string" ADD c1 "$NETNS" net1 "$(conf b.json '{"mtu":"1500"}')"
run_err 7 "vlan must be an integer in [0, 4094]" "vlan 4095" ADD c1 "$NETNS" net1 "$(conf b.json '{"vlan":4095}')"
run_err 7 "name is missing" "no name" ADD c1 "$NETNS" net1 "$(conf b.json '{"name":null}')"
run_err 7 "ipam.type '../../bin/sh'" "IPAM type with a path" ADD c1 "$NETNS" net1 \
	"$(conf b.json '{"ipam":{"type":"../../bin/sh"}}')"
run_err 7 "'nosuch-ipam' was not found" "IPAM plugin not installed" ADD c1 "$NETNS" net1 \
	"$(conf b.json '{"ipam":{"type":"nosuch-ipam"}}')"
run_err 7 "CNIDeviceInfoFile" "relative device-info path" ADD c1 "$NETNS" net1 \
	"$(conf b.json '{"runtimeConfig":{"CNIDeviceInfoFile":"x.json"}}')"
run_err 7 "agentSocket" "relative agentSocket" ADD c1 "$NETNS" net1 "$(conf b.json '{"agentSocket":"agent.sock"}')"
run_err 7 "resourceName" "bad resourceName" ADD c1 "$NETNS" net1 "$(conf b.json '{"resourceName":"a/b/c"}')"
run_err 7 "prevResult is required" "CHECK without prevResult" CHECK c1 "$NETNS" net1 "$ok"
# The agent refuses: unknown pool (ENODEV), unknown device (ENODEV), wrong device type (EINVAL).
run_err 7 "kbnet agent:" "unknown pool" ADD c1 "$NETNS" net1 "$(conf b.json '{"resourceName":"kbnet.io/nopool"}')"
run_err 7 "kbnet agent:" "unknown deviceID" ADD c1 "$NETNS" net1 "$(conf b.json '{"deviceID":"vu-99"}')"
run_err 7 "kbnet agent:" "no pool of the type" ADD c1 "$NETNS" net1 "$(conf b.json '{"deviceType":"vdpa"}')"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
run_err 7 "larger than 1048576 bytes" "stdin over 1 MiB" ADD c1 "$NETNS" net1 "$T/big.json"
kb_assert_eq "$(allocs)" 0 "configuration errors allocate nothing"

kb_log "codes 100, 101, 102: agent refusals"
kb_assert_rc 0 "ADD c1 (device vu-0)" kb_cni ADD c1 "$NETNS" net1 "$(conf d0.json '{"deviceID":"vu-0"}')"
run_err 101 "held by" "deviceID held by another container" ADD c2 "$NETNS" net1 "$T/d0.json"
run_err 102 "kbnet agent:" "same attachment, other network" ADD c1 "$NETNS" net1 "$(conf nb.json '{"name":"net-b"}')"
kb_assert_rc 0 "ADD c3 (last device)" kb_cni ADD c3 "$NETNS" net1 "$ok"
run_err 100 "kbnet agent:" "pool exhausted" ADD c4 "$NETNS" net1 "$ok"
kb_assert_eq "$(allocs)" 2 "refusals leave only the two real attachments"

kb_log "code 103: CHECK mismatch"
kb_cni ADD c3 "$NETNS" net1 "$ok"
jq '.interfaces[0].mac = "02:11:22:33:44:55"' "$T/cni.out" >"$T/prev.json"
jq --slurpfile p "$T/prev.json" '. + {prevResult: $p[0]}' "$ok" >"$T/chk.json"
run_err 103 "does not match" "CHECK with another MAC" CHECK c3 "$NETNS" net1 "$T/chk.json"
run_err 103 "no allocation" "CHECK of an unknown attachment" CHECK c9 "$NETNS" net1 \
	"$(jq --slurpfile p "$T/prev.json" '. + {prevResult: $p[0]}' "$ok" | tee "$T/chk9.json" >/dev/null; echo "$T/chk9.json")"
run_err 103 "prevResult has no interface net2" "CHECK of an interface not in prevResult" CHECK c3 "$NETNS" net2 "$T/chk.json"
ipc=$(conf ipc.json "{\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.90.1.0/24\",\"dataDir\":\"$T/ipam\"}}")
kb_cni DEL c3 "$NETNS" net1 "$ok"
kb_assert_rc 0 "ADD c3 with host-local" kb_cni ADD c3 "$NETNS" net1 "$ipc"
jq '.ips[0].address = "10.90.1.200/24"' "$T/cni.out" >"$T/prev-ip.json"
jq --slurpfile p "$T/prev-ip.json" '. + {prevResult: $p[0]}' "$ipc" >"$T/chk-ip.json"
run_err 103 "prevResult addresses [10.90.1.200/24] differ from those ADD assigned [10.90.1.2/24]" \
	"CHECK with another address" CHECK c3 "$NETNS" net1 "$T/chk-ip.json"
kb_assert_rc 0 "DEL c3 with an unreadable prevResult" kb_cni DEL c3 "$NETNS" net1 \
	"$(jq '. + {prevResult: {cniVersion: "0.1.0", ip4: {ip: "x"}}}' "$ipc" >"$T/del-bad.json"; echo "$T/del-bad.json")"
kb_assert_eq "$( (ls "$T/ipam/net-a" 2>/dev/null || true) | grep -c '^10\.' || true)" 0 "its lease was released"
kb_assert_rc 0 "ADD c3 again" kb_cni ADD c3 "$NETNS" net1 "$ok"

kb_log "code 50: STATUS"
st=$(conf st.json '{"cniVersion":"1.1.0"}')
run_err 50 "no free device" "STATUS with the pool exhausted" STATUS "" "" "" "$st"
kb_assert_rc 0 "DEL c3" kb_cni DEL c3 "$NETNS" net1 "$ok"
kb_assert_rc 0 "STATUS with a free device" kb_cni STATUS "" "" "" "$st"
jq ".ipam = {type: \"host-local\", subnet: \"10.90.2.0/24\", dataDir: \"$T/ipam\"}" "$st" >"$T/raw.json"
kb_assert_rc 0 "STATUS with IPAM and no CNI_PATH (IPAM not asked)" raw CNI_COMMAND=STATUS
run_err 50 "no pool" "STATUS for a pool that does not exist" STATUS "" "" "" \
	"$(conf st2.json '{"cniVersion":"1.1.0","resourceName":"kbnet.io/nopool"}')"

kb_log "code 11: agent unreachable or silent"
down=$(conf down.json "{\"agentSocket\":\"$T/nobody.sock\"}")
run_err 11 "is not available" "ADD with no agent" ADD c5 "$NETNS" net1 "$down"
run_err 11 "is not available" "DEL with no agent" DEL c5 "$NETNS" net1 "$down"
run_err 50 "is not available" "STATUS with no agent" STATUS "" "" "" \
	"$(conf down11.json "{\"cniVersion\":\"1.1.0\",\"agentSocket\":\"$T/nobody.sock\"}")"
# A listener that accepts and never answers: the plugin gives up after agentTimeoutMs.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$T/mute.sock" &
mute=$!
kb_defer "kill $mute"
for _ in $(seq 50); do [ -S "$T/mute.sock" ] && break; sleep 0.05; done
start=$(date +%s%N)
run_err 11 "timed out" "ADD with a silent agent" ADD c5 "$NETNS" net1 \
	"$(conf mute.json "{\"agentSocket\":\"$T/mute.sock\",\"agentTimeoutMs\":300}")"
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$ms" -lt 3000 ]; then kb_pass "gave up after ${ms} ms (budget 300 ms)"; else kb_fail "took ${ms} ms"; fi

kb_log "code 11: the agent does not know yet whose reserved device it is (EAGAIN)"
# A proxy in front of the real agent that answers the first N attaches with EAGAIN, as the
# agent does while PodResources has not named the owner of a device kubelet just assigned.
again() { # N: (re)start the proxy
	if [ -n "${againpid:-}" ]; then kill "$againpid" 2>/dev/null; wait "$againpid" 2>/dev/null || true; fi
	rm -f "$T/again.sock" "$T/again.n"
	python3 -c '
import json, socket, struct, sys
def rd(c):
    b = b""
    while len(b) < 4:
        x = c.recv(4 - len(b))
        if not x: return None
        b += x
    n, b = struct.unpack(">I", b)[0], b""
    while len(b) < n: b += c.recv(n - len(b))
    return b
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
seen = 0
while True:
    c, _ = s.accept(); req = rd(c)
    if req is None: c.close(); continue
    r = json.loads(req)
    if r.get("op") == "attach":
        seen += 1
        open(sys.argv[3], "w").write(str(seen))
    if r.get("op") == "attach" and seen <= int(sys.argv[4]):
        out = json.dumps({"version": 1, "id": r.get("id"), "ok": False, "error": {"code": "EAGAIN",
            "message": "device vu-0 is reserved by kubelet for a pod the agent has not learned from PodResources yet; retry"}}).encode()
    else:
        a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[2])
        a.sendall(struct.pack(">I", len(req)) + req); out = rd(a); a.close()
    c.sendall(struct.pack(">I", len(out)) + out); c.close()
' "$T/again.sock" "$KB_SOCK" "$T/again.n" "$1" &
	againpid=$!
	kb_defer "kill $againpid 2>/dev/null"
	for _ in $(seq 50); do [ -S "$T/again.sock" ] && break; sleep 0.05; done
}
ag=$(conf again.json "{\"agentSocket\":\"$T/again.sock\"}")
again 2
kb_assert_rc 0 "ADD waits out two EAGAIN replies" kb_cni ADD c6 "$NETNS" net1 "$ag"
kb_assert_eq "$(cat "$T/again.n")" 3 "three attach calls: two refused, the third served"
kb_assert_rc 0 "DEL c6" kb_cni DEL c6 "$NETNS" net1 "$ag"
again 1000
start=$(date +%s%N)
run_err 11 "has not learned" "ADD when the agent keeps answering EAGAIN" ADD c7 "$NETNS" net1 "$ag"
ms=$((($(date +%s%N) - start) / 1000000))
kb_assert_eq "$(cat "$T/again.n")" 8 "bounded: 8 attach calls, then the error stands"
if [ "$ms" -lt 6000 ]; then kb_pass "gave up after ${ms} ms"; else kb_fail "took ${ms} ms"; fi
kb_assert_rc 0 "DEL c7 (nothing held)" kb_cni DEL c7 "$NETNS" net1 "$ag"

kb_assert_rc 0 "DEL c1" kb_cni DEL c1 "$NETNS" net1 "$T/d0.json"
kb_assert_eq "$(allocs)" 0 "nothing left"
kb_done
