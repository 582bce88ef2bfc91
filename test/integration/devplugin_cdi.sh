#!/usr/bin/env bash
# CDI (Container Device Interface): with devicePlugin.cdi the device plugin answers Allocate
# with a CDI device name (kubelet's cdi_devices) and writes the CDI spec holding the device
# nodes and mounts, which the container runtime applies. The consumer here is real: podman
# (it reads CDI specs from /var/run/cdi and takes CDI names in --device), running a container
# from a minimal image; the virtio-user socket directory must appear inside only through the
# CDI device.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/tools/kubelet-standin/standin.sh"
kb_require_root
kb_require_standin
command -v podman >/dev/null || kb_skip "podman not installed (hack/deps.txt)"
command -v runc >/dev/null || kb_skip "runc not installed (hack/deps.txt)"

CDI=/var/run/cdi
PREFIX=cdi$$.kbnet.io
KIND=$PREFIX/vu
kb_defer "rm -f $CDI/kbnet-${PREFIX}_vu-*.json"
KB_DP_EXTRA=$'  cdi: true\n  reconcileIntervalMs: 200\n  gracePeriodMs: 600\n  cdiSpecDir: '"$CDI"
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 4'
sed -i "s/^resourcePrefix: .*/resourcePrefix: $PREFIX/" "$T/agent.yaml"
mkdir -p "$KB_KUBELET"
kb_standin_start
kb_agent_start "$T/agent.yaml"
kb_wait_for 10 kb_state_is '[.resources[] | select(.connected)] | length' 1 ||
	kb_fail "the pool should register: $(kb_standin GET /state)"

kb_standin POST /admit "{\"namespace\":\"default\",\"name\":\"cdi-0\",\"resource\":\"$KIND\",\"count\":1}" >"$T/a.json"
dev=$(jq -r '.devices[0]' "$T/a.json")
kb_assert_jq "$T/a.json" '.response.cdiDevices | join(",")' "$KIND=$dev" "Allocate answers with the CDI name <resource>=<device>"
kb_assert_jq "$T/a.json" '"\(.response.mounts | length) \(.response.devices | length)"' "0 0" \
	"mounts and device nodes moved to the CDI spec"
kb_assert_ne "$(jq -r ".response.envs[\"VHOST_USER_SOCKET_$(tr 'a-z./' 'A-Z__' <<<"$PREFIX")_VU\"] // empty" "$T/a.json")" "" \
	"env stays in the response"
spec=$CDI/kbnet-${PREFIX}_vu-$dev.json
kb_assert_jq "$spec" '"\(.cdiVersion) \(.kind) \(.devices[0].name)"' "0.5.0 $KIND $dev" "CDI spec file: version, kind, device"
hostdir=$(jq -r '.devices[0].containerEdits.mounts[0].hostPath' "$spec")
kb_assert_eq "$hostdir" "$KB_RUN/devices/$dev" "CDI spec mounts the device's socket directory"
echo "from-the-host" >"$hostdir/marker"

# ---- a real CDI consumer: podman ----
P=(podman --root "$T/storage" --runroot "$T/runroot" --cgroup-manager cgroupfs --runtime "$(command -v runc)")
kb_defer "${P[*]} rm -af -t 0 >/dev/null 2>&1; ${P[*]} rmi -af >/dev/null 2>&1; umount -R $T/storage/overlay 2>/dev/null"
mkdir -p "$T/rootfs"
for f in /bin/bash $(ldd /bin/bash | grep -o '/[^ ]*'); do
	mkdir -p "$T/rootfs$(dirname "$f")"
	cp -L "$f" "$T/rootfs$f"
done
mkdir -p "$T/rootfs/proc" "$T/rootfs/sys" "$T/rootfs/dev" "$T/rootfs/etc"
tar -C "$T/rootfs" -c . | "${P[@]}" import - localhost/kbnet-cdi-min >/dev/null 2>"$T/import.log" ||
	kb_fail "podman import: $(cat "$T/import.log")"
run() {
	"${P[@]}" run --rm --pull=never --network none --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" \
		--ulimit nproc=4096:4096 "$@" localhost/kbnet-cdi-min /bin/bash -c \
		"if [ -d $hostdir ]; then read -r l <$hostdir/marker; echo \"\$l\"; else echo absent; fi"
}
kb_assert_eq "$(run --device "$KIND=$dev" 2>"$T/run.err")" from-the-host \
	"podman applied the CDI spec: the socket directory is in the container"
kb_assert_eq "$(run 2>"$T/run.err")" absent "without the CDI device it is not"
if run --device "$KIND=nosuchdevice" >/dev/null 2>"$T/run.err"; then
	kb_fail "an unknown CDI device was accepted"
else
	kb_pass "podman refuses a CDI name no spec has ($(grep -o 'unresolvable CDI devices[^"]*' "$T/run.err" | head -n 1))"
fi

# ---- specs go when their devices do (as device-info files): no spec left per pod ever run ----
kb_standin POST /admit "{\"namespace\":\"default\",\"name\":\"cdi-1\",\"resource\":\"$KIND\",\"count\":2}" >"$T/b.json"
spec2=$CDI/kbnet-${PREFIX}_vu-$(jq -r '.devices | join("_")' "$T/b.json").json
kb_assert_eq "$([ -f "$spec2" ] && echo yes)" yes "a two-device container gets one spec naming both"
kb_standin DELETE '/pods?namespace=default&name=cdi-0' >/dev/null
if kb_wait_for 10 test ! -e "$spec"; then kb_pass "cdi-0 deleted: its spec removed after the grace period"; else
	kb_fail "$spec left behind"; fi
kb_assert_eq "$([ -f "$spec2" ] && echo yes)" yes "cdi-1's spec kept while cdi-1 runs"
# A restarted agent adopts the specs it finds (it decomposes the name into the pool's IDs).
kb_agent_stop
echo '{"cdiVersion":"0.5.0","kind":"other.io/x","devices":[]}' >"$CDI/kbnet-${PREFIX}_vu-notadevice.json"
kb_defer "rm -f $CDI/kbnet-${PREFIX}_vu-notadevice.json"
kb_agent_start "$T/agent.yaml"
kb_wait_for 10 kb_state_is '[.resources[] | select(.connected)] | length' 1 || true
kb_standin DELETE '/pods?namespace=default&name=cdi-1' >/dev/null
if kb_wait_for 10 test ! -e "$spec2"; then kb_pass "after an agent restart: cdi-1's spec adopted and removed"; else
	kb_fail "$spec2 left behind after the restart"; fi
kb_assert_eq "$([ -f "$CDI/kbnet-${PREFIX}_vu-notadevice.json" ] && echo yes)" yes \
	"a spec whose name is not the pool's devices is left alone"
kb_done
