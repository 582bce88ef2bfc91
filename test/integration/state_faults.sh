#!/usr/bin/env bash
# Fault injection on the agent's state directory: a small tmpfs that fills up (ENOSPC), and
# an ext4 on a loop device whose backing file cannot grow (writes fail with EIO). Changes
# are refused with a clear error and nothing is half-made: no reply claims a change the disk
# does not have (a DEL is not acknowledged before its release is durable), what was committed
# survives kill -9, and the agent recovers by itself once space comes back. Also: a snapshot
# of a newer format stops the agent with a clear error and leaves the files untouched.
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_cni_setup
ns=$(kb_netns pod)
NETNS=/run/netns/$ns
conf() {
	jq -n --arg sock "$KB_SOCK" --arg t "$T" '{cniVersion: "1.0.0", name: "net-a",
		type: "kbnet", agentSocket: $sock, cacheDir: ($t + "/cache"), agentTimeoutMs: 5000}' >"$T/n.json"
	echo "$T/n.json"
}
N=$(conf)
allocs() { kb_ctl -o json allocations | jq -r '[.[].containerID] | sort | join(",")'; }
add() { kb_cni ADD "$1" "$NETNS" net1 "$N"; }
del() { kb_cni DEL "$1" "$NETNS" net1 "$N"; }
msg() { jq -r '"\(.code) \(.msg)"' "$T/cni.out" 2>/dev/null; }
has_msg() { # DESCRIPTION SUBSTRING
	if [[ $(msg) == *"$2"* ]]; then kb_pass "$1: '$2'"; else kb_fail "$1: got '$(msg)'"; fi
}

# run_faults LABEL FILL-CMD FREE-CMD: the scenario on the state dir as mounted. FREE-CMD may
# restart the agent (a file system that went read-only needs a remount).
run_faults() {
	local label=$1 fill=$2 free=$3 held="c1,c2" i failed=""
	kb_log "$label: committed state survives, changes refused while the disk fails"
	kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 64'
	kb_agent_start "$T/agent.yaml"
	kb_assert_rc 0 "$label: ADD c1 (disk fine)" add c1
	kb_assert_rc 0 "$label: ADD c2 (disk fine)" add c2
	eval "$fill"
	# The journal's last page may still have room: ADD until the disk says no.
	for i in $(seq 3 60); do
		if add "c$i"; then held+=",c$i"; else failed=c$i; break; fi
	done
	if [ -n "$failed" ]; then kb_pass "$label: ADD $failed fails on the full disk"; else
		kb_fail "$label: no ADD failed"; fi
	if msg | grep -Eq "No space left on device|Input/output error|Read-only file system"; then
		kb_pass "$label: the error names the cause ($(msg | head -c 160))"
	else kb_fail "$label: unclear error: $(msg)"; fi
	kb_assert_rc 1 "$label: the next ADD is refused up front" add c99
	has_msg "$label: ADD c99" "change refused"
	kb_assert_rc 1 "$label: DEL c2 is not acknowledged while its release cannot be saved" del c2
	has_msg "$label: DEL c2" "change refused"
	kb_assert_eq "$(allocs | tr , '\n' | grep -c '^c[12]$')" 2 "$label: c1 and c2 still held"
	# kill -9 while the disk fails: exactly what was acknowledged comes back.
	kb_agent_stop KILL
	kb_agent_start "$T/agent.yaml"
	# Every acknowledged ADD is there. The failed one may be too: after a failed fsync the
	# record can still be in the page cache of a file system that went read-only (the
	# journal cannot be cut back); the runtime's DEL after the failed ADD releases it.
	got=$(allocs)
	want=$(echo "$held" | tr , '\n' | sort | paste -sd,)
	want2=$(echo "$held,$failed" | tr , '\n' | sort | paste -sd,)
	if [ "$got" = "$want" ] || [ "$got" = "$want2" ]; then
		kb_pass "$label: after kill -9: the acknowledged ADDs ($got)"
	else kb_fail "$label: after kill -9: got '$got', want '$want' (or with $failed)"; fi
	kb_assert_rc 1 "$label: ADD while the disk still fails" add c99
	kb_log "$label: space comes back"
	eval "$free"
	for c in $(echo "$held" | tr , ' '); do
		[ "$c" = c1 ] || kb_assert_rc 0 "$label: DEL $c" del "$c"
	done
	kb_assert_rc 0 "$label: DEL $failed (never acknowledged)" del "$failed"
	kb_assert_rc 0 "$label: DEL c99 (never held)" del c99
	kb_assert_rc 0 "$label: ADD c3 after recovery" add c3
	kb_assert_rc 0 "$label: DEL c3" del c3
	kb_assert_eq "$(allocs)" "c1" "$label: only c1 held"
	kb_agent_stop KILL
	kb_agent_start "$T/agent.yaml"
	kb_assert_eq "$(allocs)" "c1" "$label: after kill -9: c1"
	kb_assert_rc 0 "$label: DEL c1" del c1
	kb_assert_eq "$(kb_ctl -o json pools | jq '.[0].free')" 64 "$label: every device free"
	kb_agent_stop
}

# ---- ENOSPC: tmpfs ----
mkdir -p "$KB_STATE"
mount -t tmpfs -o size=256k,mode=0700 kbstate "$KB_STATE"
kb_defer "umount -l $KB_STATE"
run_faults "tmpfs ENOSPC" \
	'dd if=/dev/zero of=$KB_STATE/fill bs=4k 2>/dev/null || true' \
	'rm -f $KB_STATE/fill'
umount "$KB_STATE"

# ---- EIO: ext4 on a loop device over a sparse file that cannot grow ----
if ! command -v mkfs.ext4 >/dev/null || ! losetup -f >/dev/null 2>&1; then
	kb_log "SKIPPED EIO: no mkfs.ext4 or loop device"
else
	mkdir -p "$T/back"
	mount -t tmpfs -o size=6m kbback "$T/back"
	kb_defer "umount -l $T/back"
	truncate -s 64m "$T/back/disk.img"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$T/back/disk.img"
	loop=$(losetup -f --show "$T/back/disk.img")
	kb_defer "losetup -d $loop"
	mount -o errors=continue,data=ordered "$loop" "$KB_STATE"
	kb_defer "umount -l $KB_STATE"
	# Filling the backing tmpfs: ext4 still sees free blocks, the loop device's writes fail.
	# ext4 aborts its journal on the write errors and turns read-only: coming back takes a
	# remount, so the agent is killed, the file system checked and mounted again.
	run_faults "loop EIO" \
		'dd if=/dev/zero of=$T/back/fill bs=64k 2>/dev/null || true; sync' \
		'kb_agent_stop KILL; rm -f $T/back/fill; umount $KB_STATE; e2fsck -fy $loop >/dev/null 2>&1 || true
		 mount -o errors=continue $loop $KB_STATE; kb_agent_start $T/agent.yaml'
	umount "$KB_STATE"
fi

kb_log "a snapshot of a newer format stops the agent; the files are left as they are"
rm -rf "$KB_STATE"
kb_agent_config "$T/agent.yaml"
kb_agent_start "$T/agent.yaml"
kb_assert_rc 0 "ADD c9" add c9
kb_ctl compact >/dev/null 2>&1 || true
kb_agent_stop
snap=$KB_STATE/state.snap
if [ ! -s "$snap" ]; then
	# No snapshot yet: make one the way the agent writes it (CRC32 + JSON lines).
	python3 - "$snap" <<'PY'
import json, sys, zlib
def line(o):
    s = json.dumps(o, separators=(",", ":")).encode()
    return b"%08x " % zlib.crc32(s) + s + b"\n"
open(sys.argv[1], "wb").write(line({"kbnetState": 2, "seq": 0}) + line({"end": 0}))
PY
else
	python3 - "$snap" <<'PY'
import json, sys, zlib
p = sys.argv[1]
lines = open(p, "rb").read().split(b"\n")
hdr = json.loads(lines[0][9:]); hdr["kbnetState"] = 2
s = json.dumps(hdr, separators=(",", ":")).encode()
lines[0] = b"%08x " % zlib.crc32(s) + s
open(p, "wb").write(b"\n".join(lines))
PY
fi
before=$(cd "$KB_STATE" && ls | sort | xargs sha256sum)
rc=0
timeout 20 "$BIN/kbnet-agent" --config "$T/agent.yaml" >"$T/newer.log" 2>&1 || rc=$?
kb_assert_ne "$rc" 0 "the agent refuses to start"
if grep -q "state format 2" "$T/newer.log"; then kb_pass "the log names the format"; else
	kb_fail "no clear error: $(tail -3 "$T/newer.log")"; fi
kb_assert_eq "$(cd "$KB_STATE" && ls | sort | xargs sha256sum)" "$before" "state files untouched"
kb_done
