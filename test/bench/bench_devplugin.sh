#!/usr/bin/env bash
# Device-plugin benchmark: Allocate latency as kubelet sees it and the agent's memory with
# ListAndWatch streams open. kubelet-standin's bench mode (grpc-go, the client library kubelet
# uses) holds STREAMS ListAndWatch streams on one connection, then makes CALLS Allocate calls of
# one virtio-user device each, one after another, as kubelet does when containers start (each
# one creates the device directory and writes its device-info file). Prints a table; the goal
# (p50 under 1 ms) is shown, never asserted. Latency on a shared machine includes waiting for
# a CPU; the agent's own CPU time per call (schedstat) is printed beside it.
. "$(dirname "$0")/../lib.sh"
TOOLS=${TOOLS:-$ROOT/$BUILD/tools}
STREAMS=${STREAMS:-4}
CALLS=${CALLS:-1000}

# `make bench` builds the agent only; the stand-in is a test tool.
make -s -C "$ROOT" --no-print-directory BUILD="$BUILD" "$BUILD/tools/kubelet-standin" >/dev/null ||
	kb_skip "cannot build kubelet-standin"
[ -x "$BIN/kbnet-agent" ] || kb_skip "no agent binary in $BIN"

# logLevel info: the agent logs every Allocate, as it does in production.
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 64
    numaNode: 0'
sed -i 's/logLevel: debug/logLevel: info/' "$T/agent.yaml"
# runDir and deviceInfoDir live on tmpfs on a node (/run, /var/run): so here too, when there is
# one. On a disk file system each device-info file costs an inode allocation that dominates.
fsdesc="$(stat -f -c %T "$T") (\$T)"
if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
	S=$(mktemp -d /dev/shm/kbbench.XXXXXX)
	kb_defer "rm -rf $S"
	sed -i "s|^runDir: .*|runDir: $S/run|; s|deviceInfoDir: .*|deviceInfoDir: $S/devinfo|" "$T/agent.yaml"
	fsdesc="tmpfs (/dev/shm)"
fi
mkdir -p "$KB_KUBELET/device-plugins"
kb_agent_start "$T/agent.yaml"
SOCK=$KB_KUBELET/device-plugins/kbnet-vu.sock
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$KB_AGENT_PID/status")

"$TOOLS/kubelet-standin" bench -endpoint "$SOCK" -streams "$STREAMS" -n "$CALLS" \
	-pid "$KB_AGENT_PID" >"$T/bench.json" 2>"$T/bench.err" || {
	cat "$T/bench.err"
	exit 1
}
# A second run with many streams: what each open stream costs.
"$TOOLS/kubelet-standin" bench -endpoint "$SOCK" -streams 100 -n 200 -warmup 0 \
	-pid "$KB_AGENT_PID" >"$T/bench100.json" 2>>"$T/bench.err" || true

j() { jq -r "$1" "$T/bench.json"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.3f ms", us / 1000 }'; }
mb() { awk -v kib="$1" 'BEGIN { printf "%.1f MB", kib / 1024 }'; }
printf '%-44s %14s  %s\n' "device plugin (virtio-user, $(j .devices) devices)" "value" "goal"
printf '%-44s %14s\n' "runDir and deviceInfoDir on" "$fsdesc"
printf '%-44s %14s  %s\n' "Allocate p50 ($(j .calls) calls, $STREAMS streams open)" "$(ms "$(j .p50_us)")" "< 1 ms"
printf '%-44s %14s\n' "Allocate p90" "$(ms "$(j .p90_us)")"
printf '%-44s %14s\n' "Allocate p99" "$(ms "$(j .p99_us)")"
printf '%-44s %14s\n' "Allocate max" "$(ms "$(j .max_us)")"
printf '%-44s %14s\n' "Allocate mean" "$(ms "$(j .mean_us)")"
# CPU the agent spent per call: what an Allocate costs, however busy the machine is.
printf '%-44s %14s\n' "agent CPU per Allocate" "$(ms "$(j .agent_cpu_us_per_call)")"
# The whole agent (inventory, API server, every module linked in); the deltas are the
# device plugin's own cost.
printf '%-44s %14s\n' "agent RSS, no client" "$(mb "$rss_idle")"
printf '%-44s %14s\n' "agent RSS, $STREAMS ListAndWatch streams open" "$(mb "$(j .rss_kib)")"
printf '%-44s %14s\n' "  of which anonymous (heap, stacks)" "$(mb "$(j .rss_anon_kib)")"
printf '%-44s %14s\n' "  growth over $CALLS Allocate calls" "$(( $(j .rss_kib) - $(j .rss_kib_before) )) KiB"
if [ -s "$T/bench100.json" ]; then
	printf '%-44s %14s\n' "agent RSS, 100 streams (+ the $STREAMS above)" \
		"$(mb "$(jq -r .rss_kib "$T/bench100.json")")"
	printf '%-44s %14s\n' "  growth for 100 more streams" \
		"$(( $(jq -r '.rss_kib - .rss_kib_before' "$T/bench100.json") )) KiB"
	printf '%-44s %14s\n' "Allocate p50 with 104 streams open" \
		"$(ms "$(jq -r .p50_us "$T/bench100.json")")"
fi
