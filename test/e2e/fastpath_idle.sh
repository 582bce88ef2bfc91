#!/usr/bin/env bash
# idleWait: events. A worker that has gone to sleep (idlePolls empty polls) is woken by its
# ports' traffic instead of a timer: a kernel pod's frame (its TAP queue turns readable) and a
# DPDK pod's kick (notifications are on while the worker sleeps, off while it polls). The
# sleep's timeout is set to one second here, so every frame that ended a sleep early is
# counted by the worker's `wakes`; with `idleWait: sleep` (reloaded on SIGHUP) the same
# traffic wakes nothing and still arrives (blind back-off). A TAP whose netdev was deleted
# while the worker slept must not turn its sleep into a spin. Real peers: ping between two
# kernel pods, dpdk-testpmd pods (net_virtio_user) sending counted bursts.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require
command -v ping >/dev/null || kb_skip "ping not installed (Debian iputils-ping)"
[ -c /dev/net/tun ] || kb_skip "no /dev/net/tun"

POOLS='  - name: vu
    type: virtio-user
    count: 4
  - name: kp
    type: kernel
    count: 4'
FP_IDLE_POLLS=16 FP_IDLE_SLEEP_MAX_US=1000000 fp_config "$T/agent.yaml" "  idleWait: events" "$POOLS"
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(fp_api status | jq -r .fastpath.idle.wait)" events "status: idle.wait events"

wstat() { fp_api stats | jq -r ".workers[0].$1"; }
kattach() { # CID NETNS ADDR
	fp_api attach "{\"containerID\":\"$1\",\"ifname\":\"net1\",\"network\":\"red\",\"deviceType\":\"kernel\",\"pool\":\"kp\",\"netns\":\"/var/run/netns/$2\"}" >/dev/null ||
		return 1
	ip -n "$2" addr add "$3/24" dev net1
	ip -n "$2" link set net1 up
}
# replies NETNS ADDR COUNT: ping with gaps (the worker falls asleep between frames)
replies() {
	ip netns exec "$1" ping -c "$3" -i 0.3 -W 3 "$2" 2>/dev/null | awk '/packets transmitted/ {print $4}'
}

kb_log "kernel pods: frames wake the sleeping worker"
PA=$(fp_kernel_pod ia)
PB=$(fp_kernel_pod ib)
kb_assert_rc 0 "attach kernel pod a" kattach ia "$PA" 10.61.0.1
kb_assert_rc 0 "attach kernel pod b" kattach ib "$PB" 10.61.0.2
ip netns exec "$PA" ping -c 1 -W 3 10.61.0.2 >/dev/null 2>&1 # ARP, and the table settled
w0=$(wstat wakes)
s0=$(wstat sleeps)
kb_assert_eq "$(replies "$PA" 10.61.0.2 10)" 10 "10 pings between kernel pods answered"
w1=$(wstat wakes)
s1=$(wstat sleeps)
kb_log "wakes $w0 -> $w1, sleeps $s0 -> $s1"
# Each request comes after a 0.3 s gap and wakes the worker; the reply follows within
# microseconds and finds it still polling. Allow a request that came while the worker was
# between a timeout and its next sleep.
kb_assert_rc 0 "requests ended >= 8 of 10 sleeps early (wakes $w0 -> $w1)" [ $((w1 - w0)) -ge 8 ]
kb_assert_rc 0 "the worker slept between pings (sleeps $s0 -> $s1)" [ $((s1 - s0)) -ge 8 ]

kb_log "DPDK pods: a pod's kick wakes the sleeping worker"
MA=02:00:00:00:61:0a
MB=02:00:00:00:61:0b
SA=$(fp_attach da blue $MA)
SB=$(fp_attach db blue $MB)
fp_pod_start da "$SA" $MA server
fp_pod_start db "$SB" $MB server
kb_assert_rc 0 "pod da connected" fp_wait_connected da 20
kb_assert_rc 0 "pod db connected" fp_wait_connected db 20
rx0=$(fp_pod_rx db)
w0=$(wstat wakes)
for i in 1 2 3 4 5; do
	fp_pod_send da $MB 1
	sleep 0.5
done
fp_settle
rx1=$(fp_pod_rx db)
w1=$(wstat wakes)
kb_log "wakes $w0 -> $w1"
kb_assert_eq "$((rx1 - rx0))" 80 "pod db got 5 x 16 frames"
kb_assert_rc 0 "separate bursts woke the worker (wakes $w0 -> $w1)" [ $((w1 - w0)) -ge 4 ]
fp_pod_stop da
fp_pod_stop db
fp_detach da
fp_detach db

kb_assert_eq "$(kb_ctl stats | awk 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "WAKES") c = i} $1 == "0" && c {print ($c > 0)}')" 1 \
	"agentctl stats: worker 0's WAKES column counts them"

kb_log "a TAP deleted while the worker sleeps: no spin"
PC=$(fp_kernel_pod ic)
kb_assert_rc 0 "attach kernel pod c" kattach ic "$PC" 10.61.0.3
ip netns delete "$PC"
sleep 1
l0=$(wstat loops)
sleep 2
l1=$(wstat loops)
kb_log "loops in 2 s with a deleted TAP: $((l1 - l0))"
# Sleeping: a few dozen loops a second at most (one-second timeouts, 16 polls per sleep, the
# control plane's kicks); a wake-up set that kept the dead queue would loop without end.
kb_assert_rc 0 "the worker sleeps (loops in 2 s: $((l1 - l0)))" [ $((l1 - l0)) -lt 5000 ]
fp_api detach '{"containerID":"ic","ifname":"net1"}' >/dev/null

kb_log "reload to idleWait: sleep: the same traffic wakes nothing, and still arrives"
sed -i 's/idleWait: events/idleWait: sleep/' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
for _ in $(seq 1 50); do
	[ "$(fp_api status | jq -r .fastpath.idle.wait)" = sleep ] && break
	sleep 0.1
done
kb_assert_eq "$(fp_api status | jq -r .fastpath.idle.wait)" sleep "status: idle.wait sleep after SIGHUP"
w0=$(wstat wakes)
kb_assert_eq "$(replies "$PA" 10.61.0.2 5)" 5 "5 pings answered with blind sleeps"
w1=$(wstat wakes)
kb_assert_eq "$((w1 - w0))" 0 "no sleep ended by traffic"

fp_api detach '{"containerID":"ia","ifname":"net1"}' >/dev/null
fp_api detach '{"containerID":"ib","ifname":"net1"}' >/dev/null
fp_agent_finish
kb_done
