#!/usr/bin/env bash
# What an idle poll loop of a busy-polling worker costs with K kernel ports (TAPs), from the
# worker's own counters (stats: idleCycles / loops over 3 s): the TAP probe (fp_worker.c) makes
# it one epoll_wait whatever K is, where a read per queue grew with K. Run as root:
#   hack/fp-idle-loop.sh 1 2 16        (BUILD=build-x for another build)
# Pods are network namespaces (removed at the end); the agent runs from $BUILD.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT BUILD=${BUILD:-build}
export BIN=$ROOT/$BUILD/bin
source "$ROOT/test/lib.sh"
source "$ROOT/test/e2e/lib_fp.bash"
fp_require
[ $# -gt 0 ] || set -- 1 2 16
FP_IDLE_POLLS=0 fp_config "$T/agent.yaml" "" '  - name: kp
    type: kernel
    count: 64'
kb_agent_start "$T/agent.yaml" || exit 1
n=0
echo "kernel ports   loops/s   cycles/loop   us/loop"
for K in "$@"; do
	[ "$K" -le 64 ] || { echo "at most 64 ports"; break; }
	while [ $n -lt "$K" ]; do
		ns=$(fp_kernel_pod p$n)
		fp_api attach "{\"containerID\":\"c$n\",\"ifname\":\"net1\",\"network\":\"x\",\"deviceType\":\"kernel\",\"pool\":\"kp\",\"netns\":\"/var/run/netns/$ns\"}" >/dev/null ||
			{ echo "attach $n failed"; exit 1; }
		n=$((n + 1))
	done
	sleep 1
	a=$(fp_api stats | jq -c '[.workers[0].loops, .workers[0].idleCycles, .tscHz]')
	sleep 3
	b=$(fp_api stats | jq -c '[.workers[0].loops, .workers[0].idleCycles, .tscHz]')
	jq -rn --argjson a "$a" --argjson b "$b" --arg k "$K" \
		'($b[0] - $a[0]) as $l | ($b[1] - $a[1]) as $c |
		 "\($k | .[0:12] | . + " " * (12 - length))   \($l / 3 | floor)   \($c / $l | floor)   \($c / $l / $b[2] * 1e6 * 100 | round / 100)"'
done
for i in $(seq 0 $((n - 1))); do fp_api detach "{\"containerID\":\"c$i\",\"ifname\":\"net1\"}" >/dev/null; done
fp_agent_finish
kb_done
