#!/usr/bin/env bash
# Fast path lifecycle with testpmd pods: ports added and removed while traffic flows on
# others (no frame unaccounted for), agent restart (SIGTERM and SIGKILL) with pods in server
# mode resuming traffic without restarting them, agent-as-server pools, multi-queue ports.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib_fp.bash"
fp_require

MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b ME=02:00:00:00:00:0e
fp_config "$T/agent.yaml" "" '  - name: vu
    type: virtio-user
    count: 8
  - name: vus
    type: virtio-user
    mode: server
    count: 2
  - name: vumq
    type: virtio-user
    queues: 2
    count: 2'
kb_agent_start "$T/agent.yaml"
attach_pool() { # CID NETWORK MAC POOL
	fp_api attach "{\"containerID\":\"$1\",\"ifname\":\"net1\",\"network\":\"$2\",\"deviceType\":\"virtio-user\",\"mac\":\"$3\",\"pool\":\"$4\"}" |
		jq -r .allocation.vhostUser.socketPath
}
SA=$(attach_pool pa red $MA vu)
SB=$(attach_pool pb red $MB vu)
fp_pod_start a "$SA" $MA
fp_pod_start b "$SB" $MB
fp_wait_connected pa && fp_wait_connected pb || kb_fail "pods connected"

# ---- hot add/remove during traffic ----
fp_pod_cmd a stop
fp_pod_cmd a "set eth-peer 0 $MB"
fp_pod_cmd a "set txpkts 60"
fp_pod_cmd a "set fwd txonly"
fp_pod_cmd a start
sleep 1
rx0=$(fp_port_stat pb .stats.txPackets)
# a real pod joins and leaves, and bare ports come and go, while a -> b runs
SE=$(attach_pool pe red $ME vu)
fp_pod_start e "$SE" $ME
fp_wait_connected pe || kb_fail "pod e connected during traffic"
rx1=$(fp_port_stat pb .stats.txPackets)
for i in 1 2 3 4 5 6; do
	fp_api attach "{\"containerID\":\"hot$i\",\"ifname\":\"net1\",\"network\":\"red\",\"deviceType\":\"virtio-user\",\"pool\":\"vu\"}" >/dev/null
	[ "$(fp_port hot$i)" != null ] || kb_fail "hot$i added"
	fp_detach hot$i
	[ "$(fp_port hot$i)" = null ] || kb_fail "hot$i removed"
done
fp_detach pe
kb_assert_eq "$(fp_port pe)" null "pod e's port removed during traffic"
[ -e "$SE" ] && kb_fail "pod e's socket removed" || kb_pass "pod e's socket removed"
rx2=$(fp_port_stat pb .stats.txPackets)
sleep 0.5
rx3=$(fp_port_stat pb .stats.txPackets)
[ "$rx1" -gt "$rx0" ] && [ "$rx2" -gt "$rx1" ] && [ "$rx3" -gt "$rx2" ] &&
	kb_pass "a -> b kept flowing ($rx0 < $rx1 < $rx2 < $rx3)" ||
	kb_fail "a -> b stalled: $rx0 $rx1 $rx2 $rx3"
fp_pod_cmd a stop
fp_pod_cmd a "set fwd rxonly"
fp_pod_cmd a start
fp_settle
# Every frame from a is accounted for at b's port: delivered, ring full, or b down.
pa=$(fp_port pa)
pb=$(fp_port pb)
got=$(jq -n --argjson a "$pa" --argjson b "$pb" \
	'$a.stats.rxPackets - ($b.stats.txPackets + $b.stats.drops.txFull + $b.stats.drops.down + $a.stats.drops.unknown + $a.stats.drops.spoof)')
kb_assert_eq "$got" 0 "no frame unaccounted for ($(jq -c .stats.rxPackets <<<"$pa") received from a)"
kb_assert_eq "$(fp_pod_tx a)" "$(jq .stats.rxPackets <<<"$pa")" "agent received every frame pod a sent"
kb_assert_eq "$(fp_pod_rx b)" "$(jq .stats.txPackets <<<"$pb")" "pod b received every frame the agent sent it"

# ---- agent restart: pods keep running, traffic resumes ----
for sig in TERM KILL; do
	b0=$(fp_pod_rx b)
	kb_agent_stop $sig
	kb_agent_start "$T/agent.yaml"
	kb_assert_eq "$(fp_api ports | jq '.ports | length')" 2 "SIG$sig restart: ports restored from state"
	fp_wait_connected pa 20 && fp_wait_connected pb 20 && kb_pass "SIG$sig restart: pods reconnected" ||
		kb_fail "SIG$sig restart: pods reconnected"
	fp_pod_send a $MB 8
	fp_settle
	kb_assert_eq "$(fp_pod_rx b)" $((b0 + 128)) "SIG$sig restart: traffic resumed without restarting pods"
done

# ---- agent as vhost-user server (pool mode: server), pods as clients ----
S1=$(attach_pool ps1 blue 02:00:00:00:00:51 vus)
S2=$(attach_pool ps2 blue 02:00:00:00:00:52 vus)
kb_assert_eq "$(fp_port_stat ps1 .agentMode)" server "server-mode pool"
[ -S "$S1" ] && kb_pass "agent listens on $S1" || kb_fail "agent listens on $S1"
fp_pod_start s1 "$S1" 02:00:00:00:00:51 client
fp_pod_start s2 "$S2" 02:00:00:00:00:52 client
fp_wait_connected ps1 && fp_wait_connected ps2 || kb_fail "client pods connected"
b0=$(fp_pod_rx b)
fp_pod_send s1 02:00:00:00:00:52 6
fp_settle
kb_assert_eq "$(fp_pod_rx s2)" 96 "traffic between client-mode pods"
kb_assert_eq "$(fp_pod_rx b)" "$b0" "red saw nothing of blue"
fp_pod_stop s1
fp_pod_stop s2

# ---- multi-queue ----
M1=$(attach_pool pm1 mq 02:00:00:00:00:61 vumq)
M2=$(attach_pool pm2 mq 02:00:00:00:00:62 vumq)
fp_pod_start_mq() {
	local name=$1 sock=$2 mac=$3
	mkfifo "$T/$name.in"
	stdbuf -o0 -e0 dpdk-testpmd --lcores="0@$FP_POD_CPU,1@$FP_POD_CPU" --no-huge -m 128 --no-shconf \
		--file-prefix "$FP_PREFIX-$name" --no-pci \
		--vdev "net_virtio_user0,path=$sock,server=1,queues=2,mac=$mac" -- -i \
		--no-mlockall --total-num-mbufs=4096 --forward-mode=rxonly --burst=16 --rxq=2 --txq=2 \
		<"$T/$name.in" >"$T/$name.log" 2>&1 &
	FP_POD_PID[$name]=$!
	exec {fd}>"$T/$name.in"
	FP_POD_FD[$name]=$fd
	kb_defer "fp_pod_stop $name"
	fp_pod_wait "$name" 'testpmd> ' 20 && fp_pod_cmd "$name" start
}
fp_pod_start_mq m1 "$M1" 02:00:00:00:00:61
fp_pod_start_mq m2 "$M2" 02:00:00:00:00:62
fp_wait_connected pm1 && fp_wait_connected pm2 || kb_fail "multi-queue pods connected"
sleep 1
kb_assert_eq "$(fp_port_stat pm1 .activeQueues)" 2 "two queue pairs active"
# tx_first sends on both of m1's queues (two streams on its forwarding core)
fp_pod_send m1 02:00:00:00:00:62 4
fp_settle
kb_assert_eq "$(fp_pod_tx m1)" 128 "m1 sent 4 bursts on each of 2 queues"
kb_assert_eq "$(fp_pod_rx m2)" 128 "m2 received all of them"
fp_agent_finish
kb_done
