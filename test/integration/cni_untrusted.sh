#!/usr/bin/env bash
# kbnet-cni with a hostile netconf (a NetworkAttachmentDefinition is any namespace user's
# input, run by the root plugin): runtimeConfig.CNIDeviceInfoFile, agentSocket and cacheDir
# may only point into the roots of the plugin's own configuration ($KBNET_CNI_CONFIG), files
# in the device-info directory are reached without following symlinks, and DEL removes only a
# device-info file kbnet wrote for that attachment, also while the agent is down.
source "$(dirname "$0")/../lib.sh"
kb_require_root
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 2'
kb_agent_start "$T/agent.yaml"
kb_cni_setup
kb_cni_plugin_config "$T/nobody.sock"
ns=$(kb_netns pod)
NETNS=/run/netns/$ns
mkdir -p "$T/victim"
echo "precious" >"$T/victim/file"

# conf FILE [extra json]: a valid 1.1.0 netconf merged with extra.
conf() {
	jq -n --arg sock "$KB_SOCK" --arg t "$T" --argjson extra "${2:-{\}}" '{
		cniVersion: "1.1.0", name: "net-a", type: "kbnet", agentSocket: $sock,
		cacheDir: ($t + "/cache"), agentTimeoutMs: 2000
	} * $extra' >"$T/$1"
	echo "$T/$1"
}
devinfo() { conf "$1" "{\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"$2\"}${3:+,$3}}"; }
allocs() { kb_ctl -o json allocations | jq -r '[.[].containerID] | sort | join(",")'; }
code_msg() { jq -r '"\(.code) \(.msg)"' "$T/cni.out" 2>/dev/null | head -c 400; }
victim_ok() {
	kb_assert_eq "$(cat "$T/victim/file" 2>&1)" precious "$1: the file outside is untouched"
}
expect7() { # DESCRIPTION KEY
	local got
	got=$(code_msg)
	if [[ $got == "7 "*"$2"* ]]; then kb_pass "$1: code 7 naming $2"; else kb_fail "$1: got '$got'"; fi
}

kb_log "CNIDeviceInfoFile outside the device-info directory: refused before anything is held"
kb_assert_rc 1 "ADD writing over a file elsewhere" kb_cni ADD c1 "$NETNS" net1 \
	"$(devinfo a.json "$T/victim/file")"
expect7 "file elsewhere" CNIDeviceInfoFile
victim_ok "ADD"
kb_assert_rc 1 "ADD creating directories elsewhere" kb_cni ADD c1 "$NETNS" net1 \
	"$(devinfo b.json "$T/newdir/sub/x.json")"
expect7 "new directories" CNIDeviceInfoFile
kb_assert_eq "$(test -e "$T/newdir" && echo created || echo absent)" absent "no directory created"
kb_assert_rc 1 "ADD into a subdirectory of the device-info directory" kb_cni ADD c1 "$NETNS" net1 \
	"$(devinfo c.json "$T/devinfo/sub/x.json")"
expect7 "subdirectory" CNIDeviceInfoFile
kb_assert_rc 1 "ADD with '..'" kb_cni ADD c1 "$NETNS" net1 \
	"$(devinfo d.json "$T/devinfo/../victim/file")"
victim_ok "'..'"
kb_assert_eq "$(allocs)" "" "no device held after the refusals"

kb_log "DEL never unlinks outside the device-info directory, agent up or down"
kb_assert_rc 0 "DEL naming a file elsewhere (agent up)" kb_cni DEL c1 "$NETNS" net1 \
	"$(devinfo e.json "$T/victim/file")"
victim_ok "DEL, agent up"
kb_assert_rc 1 "DEL naming a file elsewhere (agent down)" kb_cni DEL c1 "$NETNS" net1 \
	"$(devinfo f.json "$T/victim/file" "\"agentSocket\":\"$T/nobody.sock\"")"
kb_assert_jq "$T/cni.out" .code 11 "agent down: code 11 (retry)"
victim_ok "DEL, agent down"

kb_log "in the device-info directory: symlinks not followed, foreign files kept"
mkdir -p "$T/devinfo"
ln -s "$T/victim/file" "$T/devinfo/link.json"
kb_assert_rc 1 "ADD onto a planted symlink" kb_cni ADD c1 "$NETNS" net1 \
	"$(devinfo g.json "$T/devinfo/link.json")"
expect7 "planted symlink" "not the device-info file of c1/net1"
victim_ok "symlink"
kb_assert_eq "$(readlink "$T/devinfo/link.json")" "$T/victim/file" "the symlink is left as it was"
kb_assert_eq "$(allocs)" "" "the failed ADD released its device"
kb_assert_rc 0 "DEL through a planted symlink" kb_cni DEL c1 "$NETNS" net1 "$T/g.json"
kb_assert_eq "$(test -L "$T/devinfo/link.json" && cat "$T/victim/file")" precious "symlink and target kept"
echo '{"type":"pci"}' >"$T/devinfo/other-plugin.json"
kb_assert_rc 0 "DEL naming another plugin's file" kb_cni DEL c1 "$NETNS" net1 \
	"$(devinfo h.json "$T/devinfo/other-plugin.json")"
kb_assert_eq "$(cat "$T/devinfo/other-plugin.json")" '{"type":"pci"}' "another plugin's file kept"

kb_log "an attachment cannot take over or remove another attachment's file"
kb_assert_rc 0 "ADD c1 (legitimate)" kb_cni ADD c1 "$NETNS" net1 "$(devinfo i.json "$T/devinfo/net-a-c1-net1.json")"
kb_assert_jq "$T/devinfo/net-a-c1-net1.json" .type vhost-user "c1's device-info file written"
before=$(cat "$T/devinfo/net-a-c1-net1.json")
kb_assert_rc 1 "ADD c2 naming c1's file" kb_cni ADD c2 "$NETNS" net1 "$T/i.json"
expect7 "c1's file" "not the device-info file of c2/net1"
kb_assert_rc 0 "DEL c2 naming c1's file" kb_cni DEL c2 "$NETNS" net1 "$T/i.json"
kb_assert_eq "$(cat "$T/devinfo/net-a-c1-net1.json")" "$before" "c1's file kept as it was"
kb_assert_eq "$(allocs)" "c1" "only c1 holds a device"
kb_assert_rc 0 "DEL c1" kb_cni DEL c1 "$NETNS" net1 "$T/i.json"
kb_assert_eq "$(test -e "$T/devinfo/net-a-c1-net1.json" && echo left || echo removed)" removed \
	"c1's own DEL removes its file"

kb_log "agentSocket only from the allow-list: a socket of the writer's choosing is never dialled"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
while True:
    c, _ = s.accept(); open(sys.argv[2], "a").write("connected\n"); c.close()
' "$T/evil.sock" "$T/evil.log" &
evil=$!
kb_defer "kill $evil"
for _ in $(seq 100); do [ -S "$T/evil.sock" ] && break; sleep 0.05; done
kb_assert_rc 1 "ADD with agentSocket outside the allow-list" kb_cni ADD c3 "$NETNS" net1 \
	"$(conf j.json "{\"agentSocket\":\"$T/evil.sock\"}")"
expect7 "evil socket" agentSocket
kb_assert_rc 1 "DEL with agentSocket outside the allow-list" kb_cni DEL c3 "$NETNS" net1 "$T/j.json"
kb_assert_eq "$(cat "$T/evil.log" 2>/dev/null | wc -l)" 0 "the socket was never connected to"

kb_log "cacheDir only under the configured one"
kb_assert_rc 1 "ADD with cacheDir elsewhere" kb_cni ADD c3 "$NETNS" net1 \
	"$(conf k.json "{\"cacheDir\":\"$T/victim/cache\",\"ipam\":{\"type\":\"static\",\"addresses\":[{\"address\":\"10.9.0.2/24\"}]}}")"
expect7 "cacheDir" cacheDir
kb_assert_eq "$(test -e "$T/victim/cache" && echo created || echo absent)" absent "nothing created there"
kb_assert_rc 0 "DEL with cacheDir elsewhere (falls back to the configured one)" kb_cni DEL c3 \
	"$NETNS" net1 "$T/k.json"

kb_log "the plugin configuration itself"
chmod 0666 "$KB_CNI_CONF"
kb_assert_rc 1 "ADD with a world-writable plugin configuration" kb_cni ADD c4 "$NETNS" net1 "$(conf l.json)"
expect7 "world-writable" "writable only by its owner"
chmod 0644 "$KB_CNI_CONF"
kb_assert_eq "$(allocs)" "" "nothing held at the end"
kb_done
