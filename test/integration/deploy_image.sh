#!/usr/bin/env bash
# The image, built for real: a Debian 12 base made here with debootstrap (no registry is
# reachable from CI), imported into podman, then `podman build` of the Dockerfile (builder
# stage compiles kbnet, runtime stage installs only the packages of the libraries the binaries
# load). The image is then run as the DaemonSet runs it: the entrypoint installs kbnet-cni into
# a host CNI bin dir and starts the agent, which answers on a host-mounted API socket.
# Everything podman stores lives under $T (its own --root/--runroot).
source "$(dirname "$0")/../lib.sh"
kb_require_root
for c in podman debootstrap; do
	command -v $c >/dev/null || kb_skip "$c not installed (hack/deps.txt)"
done
[ "${SANITIZE:-0}" = 1 ] && kb_skip "the image is built by the plain run (make test); sanitizers do not change it"

# Works on cgroup v1, hybrid (v1 controllers + a v2 mount) and v2 hosts alike. Debian's
# podman runs crun, which refuses hybrid hosts outright ("cgroups in hybrid mode not
# supported, drop all controllers from cgroupv2"), even with --cgroups=disabled. So: no
# systemd cgroup manager (cgroupfs), the build's RUN steps in chroot isolation (no OCI
# runtime, so no cgroups), and the containers on runc (hack/deps.txt; the runtime Kubernetes
# nodes run under containerd), which handles all three layouts.
case $(stat -fc %T /sys/fs/cgroup) in
cgroup2fs) cg=v2 ;;
*) [ -d /sys/fs/cgroup/unified ] && cg=hybrid || cg=v1 ;;
esac
RUNTIME=()
if command -v runc >/dev/null; then
	RUNTIME=(--runtime "$(command -v runc)")
elif [ $cg = hybrid ]; then
	kb_fail "cgroup hybrid host and no runc (hack/deps.txt): crun cannot run containers here"
	kb_done
fi
P=(podman --root "$T/storage" --runroot "$T/runroot" --cgroup-manager cgroupfs "${RUNTIME[@]}")
kb_defer "${P[*]} rm -af -t 0; ${P[*]} rmi -af; umount -R $T/storage/overlay 2>/dev/null"
# This machine's limits are the ceiling for containers (podman would ask for more).
UL=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
# The machine's own Debian mirror (deb822 or one-line format).
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
	sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p; s/^deb \(http[^ ]*debian\) bookworm .*/\1/p' |
	head -n 1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

t0=$SECONDS
if ! debootstrap --variant=minbase bookworm "$T/rootfs" "$mirror" >"$T/debootstrap.log" 2>&1; then
	tail -n 20 "$T/debootstrap.log"
	kb_fail "debootstrap bookworm from $mirror"
	kb_done
fi
t_boot=$((SECONDS - t0))
# debootstrap leaves the downloaded packages behind: not part of a base image.
rm -rf "$T"/rootfs/var/cache/apt/archives/*.deb "$T"/rootfs/var/lib/apt/lists/*
tar -C "$T/rootfs" -c . | "${P[@]}" import - localhost/kbnet-base:bookworm >/dev/null 2>"$T/import.log"
rm -rf "$T/rootfs"
kb_pass "debootstrap base image in ${t_boot}s"

t0=$SECONDS
if ! "${P[@]}" build --pull=never --isolation chroot "${UL[@]}" --build-arg BASE=localhost/kbnet-base:bookworm \
	-t localhost/kbnet:test -f "$ROOT/Dockerfile" "$ROOT" >"$T/build.log" 2>&1; then
	tail -n 40 "$T/build.log"
	kb_fail "podman build"
	kb_done
fi
t_build=$((SECONDS - t0))
size=$("${P[@]}" image inspect localhost/kbnet:test --format '{{.Size}}')
kb_pass "podman build in ${t_build}s (cgroup $cg host), image $((size / 1048576)) MiB"

RUNOPTS=(--pull=never "${UL[@]}" --network none)
run() { "${P[@]}" run --rm "${RUNOPTS[@]}" "$@"; }
kb_assert_eq "$(run --entrypoint /usr/bin/kbnet-agent localhost/kbnet:test --version)" \
	"kbnet-agent 0.1.0" "kbnet-agent runs in the image"
kb_assert_eq "$(run --entrypoint /bin/sh localhost/kbnet:test -c \
	'for b in /usr/bin/kbnet-agent /usr/bin/agentctl /usr/bin/kbnet-cni; do ldd $b; done | grep -c "not found"')" \
	0 "every shared library resolves in the runtime image"
kb_assert_eq "$(run --entrypoint /bin/sh localhost/kbnet:test -c \
	'command -v cc gcc make; dpkg-query -W -f "\${Package}\n" | grep -c -- "-dev$"')" 0 \
	"runtime image: no compiler, no -dev package"
kb_assert_eq "$(run --entrypoint /bin/sh localhost/kbnet:test -c \
	'ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-*/librte_mempool_ring.so.* | wc -l')" 2 \
	"DPDK driver plugins the fast path loads are in the image"
kb_assert_eq "$("${P[@]}" image inspect localhost/kbnet:test --format '{{json .Config.Entrypoint}}')" \
	'["/usr/bin/kbnet-entrypoint"]' "entrypoint"

# ---- as the DaemonSet runs it ----
mkdir -p "$T/host/opt/cni/bin" "$T/host/run/kbnet" "$T/host/var/lib/kbnet" "$T/etc"
cat >"$T/etc/agent.yaml" <<-YAML
apiSocket: /run/kbnet/agent.sock
stateDir: /var/lib/kbnet
runDir: /run/kbnet
pools:
  - {name: virtio_user, type: virtio-user, count: 4}
fastpath: {enabled: false}
YAML
cid=$("${P[@]}" run -d "${RUNOPTS[@]}" \
	-e KBNET_CNI_BIN_DIR=/host/opt/cni/bin \
	-v "$T/host/opt/cni/bin:/host/opt/cni/bin" -v "$T/host/run/kbnet:/run/kbnet" \
	-v "$T/host/var/lib/kbnet:/var/lib/kbnet" -v "$T/etc:/etc/kbnet:ro" localhost/kbnet:test)
for _ in $(seq 100); do [ -S "$T/host/run/kbnet/agent.sock" ] && break; sleep 0.1; done
if "$BIN/agentctl" -s "$T/host/run/kbnet/agent.sock" -o json status >"$T/status.json" 2>&1; then
	kb_pass "agent in the container answers on the host-mounted socket"
	kb_assert_jq "$T/status.json" .pools 1 "agent loaded the mounted configuration"
else
	kb_fail "agent in the container: $("${P[@]}" logs "$cid" 2>&1 | tail -n 20)"
fi
kb_assert_eq "$(CNI_COMMAND=VERSION "$T/host/opt/cni/bin/kbnet" </dev/null | jq -r .cniVersion)" 1.1.0 \
	"entrypoint installed kbnet into the host CNI bin dir"
kb_assert_eq "$(ls -A "$T/host/opt/cni/bin" | tr '\n' ' ')" "kbnet " "installed atomically (no temporary left)"
"${P[@]}" stop -t 10 "$cid" >/dev/null
kb_assert_eq "$("${P[@]}" inspect "$cid" --format '{{.State.ExitCode}}')" 0 "agent stops cleanly on SIGTERM"
"${P[@]}" logs "$cid" >"$T/container.log" 2>&1
grep -q "received signal 15" "$T/container.log" && kb_pass "SIGTERM reached the agent (exec)" ||
	kb_fail "$(tail -n 5 "$T/container.log")"
echo "# image: debootstrap ${t_boot}s, build ${t_build}s, $((size / 1048576)) MiB"
kb_done
