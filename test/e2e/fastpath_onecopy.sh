#!/usr/bin/env bash
# Fast path in one-copy mode (fastpath.copyMode: one, fp_onecopy.h): the switch walks the
# pods' rings itself and copies each pod-to-pod frame once. The most important checks of the
# other suites in this mode, with two workers (the second beside the pods) so that two
# workers write one receive ring: exact counts pod to pod, spoofed / oversized / unknown
# frames dropped and counted, floods within the network, a packed-ring request answered with
# a split ring (masked), no offload negotiated, 9014-byte frames into a pod's 2 KiB buffers
# (mergeable: num_buffers), two senders on different workers into one receiver with every
# frame accounted for, a receiver that quits under traffic (GET_VRING_BASE) and comes back,
# and an agent restart (SIGKILL) with the pods in server mode resuming.
# The other suites run in this mode too: KB_FP_COPY_MODE=one test/run.sh e2e fastpath_.
source "$(dirname "$0")/../lib.sh"
[ "$(nproc)" -ge 2 ] || kb_skip "two workers need two CPUs"
FP_WORKERS="$(($(nproc) - 2)), $(($(nproc) - 1))"
KB_FP_COPY_MODE=one
source "$(dirname "$0")/lib_fp.bash"
fp_require

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b MC=02:00:00:00:00:0c MD=02:00:00:00:00:0d
MJ=02:00:00:00:00:1a MK=02:00:00:00:00:1b
fp_config "$T/agent.yaml" "" '  - name: vu
    type: virtio-user
    count: 8
  - name: jumbo
    type: virtio-user
    mtu: 9000
    count: 2'
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(kb_ctl -o json status | jq -r .fastpath.copyMode)" one "status: copyMode one"
attach_pool() { # CID NETWORK MAC POOL
	fp_api attach "{\"containerID\":\"$1\",\"ifname\":\"net1\",\"network\":\"$2\",\"deviceType\":\"virtio-user\",\"mac\":\"$3\",\"pool\":\"$4\"}" |
		jq -r .allocation.vhostUser.socketPath
}
# a and c on different workers, b (the common receiver) after them.
SA=$(attach_pool pa red $MA vu)
SC=$(attach_pool pc red $MC vu)
SB=$(attach_pool pb red $MB vu)
SD=$(attach_pool pd blue $MD vu)
kb_assert_ne "$(fp_port pa | jq -c .queueWorkers)" "$(fp_port pc | jq -c .queueWorkers)" \
	"senders a and c polled by different workers"

# a asks for a packed ring: one-copy mode masks it, the pod gets a split ring.
FP_POD_VDEV=packed_vq=1 FP_POD_MBUFS=4096 fp_pod_start a "$SA" $MA
FP_POD_MBUFS=4096 fp_pod_start b "$SB" $MB
FP_POD_MBUFS=4096 fp_pod_start c "$SC" $MC
fp_pod_start d "$SD" 02:00:00:00:00:66 # spoofs
for p in pa pb pc pd; do fp_wait_connected $p || kb_fail "$p connected"; done
feat=$(sed -n 's/.*port pa\/net1: virtio features \(0x[0-9a-f]*\).*/\1/p' "$T/agent.log" | tail -1)
[ -n "$feat" ] && [ $((feat >> 34 & 1)) = 0 ] && [ $((feat >> 28 & 1)) = 0 ] &&
	[ $((feat >> 15 & 1)) = 1 ] &&
	kb_pass "pod a negotiated a split ring, no indirect descriptors, mergeable buffers ($feat)" ||
	kb_fail "pod a's features: '$feat'"
kb_assert_eq "$(fp_port_stat pa .offloadFeatures)" "" "no offload negotiated in one-copy mode"

# ---- exact counts ----
fp_pod_send a $MB 10
fp_settle
fp_pod_send a $MB 10
fp_settle
kb_assert_eq "$(fp_pod_tx a)" 320 "pod a sent 320 frames"
kb_assert_eq "$(fp_port_stat pa .stats.rxPackets)" 320 "agent received 320 from a"
kb_assert_eq "$(fp_port_stat pb .stats.txPackets)" 320 "agent sent 320 to b"
kb_assert_eq "$(fp_port_stat pb .stats.txBytes)" $((320 * 60)) "tx bytes to b"
kb_assert_eq "$(fp_pod_rx b)" 320 "pod b received 320 frames"
kb_assert_eq "$(fp_pod_rx c)" 0 "pod c received nothing of the unicast"
fp_pod_send a 02:00:00:00:00:ee 2
fp_settle
kb_assert_eq "$(fp_port_stat pa .stats.drops.unknown)" 32 "unknown unicast dropped (no uplink)"
fp_pod_send d $MB 3
fp_settle
kb_assert_eq "$(fp_port_stat pd .stats.drops.spoof)" 48 "48 spoofed frames dropped"
kb_assert_eq "$(fp_pod_rx b)" 320 "pod b got none of them"
fp_pod_send a $MB 2 1518
fp_settle
kb_assert_eq "$(fp_pod_rx b)" 352 "1518-byte frames delivered at MTU 1500"
fp_pod_send a $MB 2 1600
fp_settle
kb_assert_eq "$(fp_port_stat pa .stats.drops.oversize)" 32 "1600-byte frames dropped as oversize"
kb_assert_eq "$(fp_pod_rx b)" 352 "pod b got no oversize frame"
fp_pod_send a ff:ff:ff:ff:ff:ff 4
fp_settle
kb_assert_eq "$(fp_pod_rx b)" 416 "broadcast reached b"
kb_assert_eq "$(fp_pod_rx c)" 64 "broadcast reached c"
kb_assert_eq "$(fp_pod_rx d)" 0 "broadcast stayed in its network"

# ---- two workers into one receive ring: a and c send to b at the same time ----
txon() { # POD DST
	fp_pod_cmd "$1" stop
	fp_pod_cmd "$1" "set eth-peer 0 $2"
	fp_pod_cmd "$1" "set txpkts 60"
	fp_pod_cmd "$1" "set fwd txonly"
	fp_pod_cmd "$1" start
}
txoff() {
	fp_pod_cmd "$1" stop
	fp_pod_cmd "$1" "set fwd rxonly"
	fp_pod_cmd "$1" start
}
account() { # every frame a and c sent reached b, or is counted where it was dropped
	local pa pb pc
	pa=$(fp_port pa) pb=$(fp_port pb) pc=$(fp_port pc)
	jq -n --argjson a "$pa" --argjson b "$pb" --argjson c "$pc" \
		'($a.stats.rxPackets + $c.stats.rxPackets) - ($b.stats.txPackets + $b.stats.drops.txFull + $b.stats.drops.down + $a.stats.drops.unknown + $a.stats.drops.oversize + $c.stats.drops.unknown)'
}
txon a $MB
txon c $MB
sleep 2
txoff a
txoff c
fp_settle
kb_assert_eq "$(account)" 0 "two senders, one receiver: no frame unaccounted for"
kb_assert_eq "$(fp_pod_rx b)" "$(fp_port_stat pb .stats.txPackets)" "pod b received every frame the agent gave it"
kb_assert_eq "$(fp_pod_tx a)" "$(fp_port_stat pa .stats.rxPackets)" "agent took every frame pod a sent"
sent=$(fp_port_stat pb .stats.txPackets)
[ "$sent" -gt 10000 ] && kb_pass "two workers delivered $sent frames to b" || kb_fail "only $sent frames to b"

# ---- the receiver quits under traffic and comes back (GET_VRING_BASE, then a new device) ----
txon a $MB
sleep 1
fp_pod_stop b
sleep 1
FP_POD_MBUFS=4096 fp_pod_start b2 "$SB" $MB # the same socket, a new process
fp_wait_connected pb || kb_fail "pod b reconnected"
sleep 1
b0=$(fp_pod_rx b2)
txoff a
fp_settle
[ "$b0" -gt 0 ] && kb_pass "pod b receives again after its restart ($b0 frames)" ||
	kb_fail "pod b got nothing after its restart"
kb_assert_eq "$(account)" 0 "receiver restart under traffic: no frame unaccounted for"

# ---- jumbo: 9014-byte frames into 2 KiB receive buffers (mergeable) ----
SJ=$(attach_pool pj red $MJ jumbo)
SK=$(attach_pool pk red $MK jumbo)
fp_pod_start j "$SJ" $MJ server --mbuf-size=10240 --max-pkt-len=9018
fp_pod_start k "$SK" $MK server --max-pkt-len=9018 --enable-scatter
fp_wait_connected pj && fp_wait_connected pk || kb_fail "jumbo pods connected"
fp_pod_send j $MK 2 9018
fp_settle
kb_assert_eq "$(fp_port_stat pk .stats.txPackets)" 32 "32 jumbo frames to k"
kb_assert_eq "$(fp_port_stat pk .stats.txBytes)" $((32 * 9014)) "9014 bytes each"
kb_assert_eq "$(fp_pod_rx k)" 32 "pod k received them in 2 KiB buffers"
rxb=$(fp_pod_cmd k "show port stats 0"; sleep 0.5; grep -o 'RX-bytes: *[0-9]*' "$T/k.log" | tail -1 | awk '{print $2}')
kb_assert_eq "$rxb" $((32 * 9014)) "pod k counted 9014 bytes per frame"

# ---- agent restart (SIGKILL), pods in server mode resume ----
b0=$(fp_pod_rx b2)
kb_agent_stop KILL
kb_agent_start "$T/agent.yaml"
for p in pa pb pc; do fp_wait_connected $p 20 || kb_fail "$p reconnected after SIGKILL"; done
sleep 1
fp_pod_send a $MB 5
fp_settle
kb_assert_eq "$(fp_pod_rx b2)" $((b0 + 80)) "after an agent restart a -> b delivers exactly 80"
kb_assert_eq "$(kb_ctl -o json status | jq -r .healthy)" true "agent healthy"
fp_agent_finish
kb_done
