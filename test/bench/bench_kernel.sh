#!/usr/bin/env bash
# Kernel-pod benchmark: two co-located pods (network namespaces) that use the kernel's own
# stack, connected five ways, measured in one run on this machine:
#
#   veth            a veth pair between the two pods (the floor: no switch at all)
#   bridge          each pod's veth on a Linux bridge in a switch namespace
#   bridge-xcpu     the same with pod B's servers on the worker's CPU: every request and
#                   reply wakes a task on the other CPU, as through kbnet (the latency floor
#                   for a switch on another CPU)
#   macvlan         two macvlan (mode bridge) netdevs on one parent (a veth end)
#   kbnet           kbnet kernel ports (TAPs with virtio-net headers, offloads on, io_uring
#                   batches), switched by the agent's DPDK worker on a CPU of its own
#                   (busy-polling, idlePolls: 0)
#   kbnet-shared    the same with the worker on the pods' CPU and the agent's default idle
#                   settings (idlePolls 128, idleWait: events): it sleeps when idle and the
#                   pods' frames wake it, so nothing crosses CPUs and no CPU is added
#   kbnet-syscall   the same with one readv/writev per frame (what batching buys)
#   kbnet-nooff     the same with the pool's offloads off (1500-byte frames through the switch)
#   mixed-tso       a kernel pod (iperf3 client) to a DPDK pod through kbnet: the DPDK pod is
#   mixed-notso     dpdk-testpmd (csum engine) between its virtio-user port and a net_tap
#                   exception port where iperf3 listens; with offloads on the kernel pod's 64 KB
#                   TSO frames cross kbnet whole (the pod negotiated GUEST_TSO) and the DPDK
#                   pod segments them (net_tap TSO, in software); off: 1500-byte frames all the
#                   way. What is measured is mostly net_tap's software segmentation.
#   dpdk-mid-tso    kernel pod A -> kbnet -> a DPDK pod forwarding between two virtio-user
#   dpdk-mid-notso  ports (networks left and right) -> kbnet -> kernel pod B. tso: testpmd's
#                   csum engine with TSO and the TCP checksum offloaded on both ports (64 KB
#                   frames cross the DPDK pod whole: testpmd's io engine cannot carry them,
#                   virtio-user's transmit builds the virtio-net header from TX flags only);
#                   notso: every pool's offloads off (TAPs without TSO, virtio-user without
#                   GUEST/HOST_TSO) and testpmd's mac engine (MAC rewrite only, the cheapest
#                   forwarding that delivers: no checksum work in either case)
#
# Figures: TCP bulk throughput (iperf3, one and four streams), 64-byte UDP packet rate (iperf3
# -u -l 18, what the receiver got), request/response latency (sockperf ping-pong, 64 bytes,
# p50 and p99). Pods on CPU 0 (taskset), kbnet's worker on the last CPU (busy-polling,
# idlePolls: 0) except in kbnet-shared: the kernel cases use no CPU of their own, so kbnet has
# one more CPU at work; the table says so. The agent runs only during the kbnet cases (an
# agent per layout), so the other cases have the other CPU to themselves. Each figure is the
# median of BENCH_ROUNDS rounds (cases interleaved).
#
# Cross-CPU wake-ups cost what the machine's idle loop makes them cost: a virtual CPU that
# halts when idle (cpuidle haltpoll with guest_halt_poll_ns 0, as on this VM) takes ~10 us to
# wake. The table's header prints the setting; BENCH_HALTPOLL_NS=N sets
# /sys/module/haltpoll/parameters/guest_halt_poll_ns for the run (the driver's default is
# 200000) and restores it at the end.
# Ratios are to veth (the floor) and to the Linux bridge. Goals (printed, not asserted):
# kbnet TCP bulk >= 1.0x bridge, ping-pong p50 <= 1.5x bridge, dpdk-mid-tso >= 3x
# dpdk-mid-notso (the kernel-to-DPDK stream goal; mixed-tso/notso shown beside it).
#
# Output: the table on stdout; results.tsv and kernel.png (python3-matplotlib) in
# $BUILD/bench-logs/kernel/. Env: BENCH_ROUNDS (3), BENCH_SECONDS (3), BENCH_CASES,
# BENCH_HALTPOLL_NS.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../e2e/lib_fp.bash"
fp_require
for t in iperf3 sockperf ethtool; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed (hack/deps-bench.txt)"; exit 77; }
done
[ -c /dev/net/tun ] || { echo "SKIP: no /dev/net/tun"; exit 77; }

ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
CASES=${BENCH_CASES:-veth bridge bridge-xcpu macvlan kbnet kbnet-shared kbnet-syscall kbnet-nooff mixed-tso mixed-notso dpdk-mid-tso dpdk-mid-notso}
OUT=$ROOT/$BUILD/bench-logs/kernel
mkdir -p "$OUT"
RAW=$OUT/raw.tsv
: >"$RAW"
IPA=10.77.0.1 IPB=10.77.0.2
POD_CPU=0
MT=02:00:00:00:00:7d

inns() { local ns=$1; shift; ip netns exec "$ns" taskset -c $POD_CPU "$@"; }

# ---- the machine's idle setting ----
HP=/sys/module/haltpoll/parameters/guest_halt_poll_ns
IDLE_DRV=$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo none)
if [ -n "${BENCH_HALTPOLL_NS:-}" ]; then
	[ -w $HP ] || { echo "SKIP: BENCH_HALTPOLL_NS set but $HP is not writable (cpuidle driver: $IDLE_DRV)"; exit 77; }
	HP_OLD=$(cat $HP)
	echo "$BENCH_HALTPOLL_NS" >$HP
	kb_defer "echo $HP_OLD >$HP"
fi
IDLE_NOTE="cpuidle $IDLE_DRV"
[ -r $HP ] && IDLE_NOTE+=", guest_halt_poll_ns $(cat $HP)"

# ---- the kbnet agents: one per layout, running only during the kbnet cases ----
# dedicated: the worker busy-polls on the last CPU; shared: on the pods' CPU, default idle
# settings (it sleeps when idle and the pods' traffic wakes it).
kb_agent_config "$T/agent.yaml" '  - name: kp
    type: kernel
    count: 4
  - name: kps
    type: kernel
    count: 4
    io: syscall
  - name: kpoff
    type: kernel
    count: 4
    offloads: false
  - name: vu
    type: virtio-user
    count: 4
  - name: vuoff
    type: virtio-user
    count: 4
    offloads: false'
cp "$T/agent.yaml" "$T/shared.yaml"
cat >>"$T/agent.yaml" <<-YAML
fastpath:
  workers: [$FP_WORKER_CPU]
  memory: no-huge
  memoryMB: 512
  mbufs: 16383
  filePrefix: $FP_PREFIX-agent
  idlePolls: 0
YAML
cat >>"$T/shared.yaml" <<-YAML
fastpath:
  workers: [$POD_CPU]
  memory: no-huge
  memoryMB: 512
  mbufs: 16383
  filePrefix: $FP_PREFIX-agent
YAML
LAYOUT=none
agent_layout() { # dedicated | shared | none
	[ "$1" = "$LAYOUT" ] && return 0
	kb_agent_stop
	LAYOUT=none
	case $1 in
	dedicated) kb_agent_start "$T/agent.yaml" || return 1 ;;
	shared) kb_agent_start "$T/shared.yaml" || return 1 ;;
	esac
	LAYOUT=$1
}

kattach() { # CID NETNS POOL [NETWORK]
	fp_api attach "{\"containerID\":\"$1\",\"ifname\":\"net1\",\"network\":\"${4:-bench}\",\"deviceType\":\"kernel\",\"pool\":\"$3\",\"netns\":\"/var/run/netns/$2\"}" >/dev/null
}

# ---- cases: setup CASE sets A and B (pod namespaces), teardown undoes it ----
setup() {
	case $1 in
	kbnet-shared) agent_layout shared ;;
	kbnet* | mixed-* | dpdk-mid-*) agent_layout dedicated ;;
	*) agent_layout none ;;
	esac || return 1
	A=$(fp_kernel_pod a)
	B=$(fp_kernel_pod b)
	case $1 in
	veth)
		ip link add kbva type veth peer name kbvb
		ip link set kbva netns "$A" name eth1
		ip link set kbvb netns "$B" name eth1
		;;
	bridge | bridge-xcpu)
		# bridge-xcpu: pod B's servers on the other CPU (the worker's), the wake-ups of
		# every request and reply cross CPUs as they do through kbnet's worker.
		[ "$1" = bridge-xcpu ] && SRV_CPU=$FP_WORKER_CPU
		S=$(kb_netns sw)
		ip -n "$S" link add br0 type bridge
		ip -n "$S" link set br0 up
		for p in a b; do
			local ns=$A
			[ $p = b ] && ns=$B
			ip link add kbv$p type veth peer name kbp$p
			ip link set kbv$p netns "$ns" name eth1
			ip link set kbp$p netns "$S" master br0 up 2>/dev/null || {
				ip link set kbp$p netns "$S"
				ip -n "$S" link set kbp$p master br0 up
			}
		done
		;;
	macvlan)
		S=$(kb_netns sw)
		ip -n "$S" link add mvp type veth peer name mvq
		ip -n "$S" link set mvp up
		ip -n "$S" link set mvq up
		ip -n "$S" link add link mvp name mva type macvlan mode bridge
		ip -n "$S" link add link mvp name mvb type macvlan mode bridge
		ip -n "$S" link set mva netns "$A" name eth1
		ip -n "$S" link set mvb netns "$B" name eth1
		;;
	kbnet | kbnet-shared | kbnet-syscall | kbnet-nooff)
		local pool=kp
		[ "$1" = kbnet-syscall ] && pool=kps
		[ "$1" = kbnet-nooff ] && pool=kpoff
		kattach ka "$A" $pool
		kattach kb "$B" $pool
		ip -n "$A" link set net1 name eth1
		ip -n "$B" link set net1 name eth1
		;;
	mixed-tso | mixed-notso)
		local kpool=kp vpool=vu sock tso=1
		[ "$1" = mixed-notso ] && kpool=kpoff vpool=vuoff tso=0
		kattach ka "$A" $kpool
		ip -n "$A" link set net1 name eth1
		sock=$(fp_api attach "{\"containerID\":\"kt\",\"ifname\":\"net1\",\"network\":\"bench\",\"deviceType\":\"virtio-user\",\"pool\":\"$vpool\",\"mac\":\"$MT\"}" |
			jq -r .allocation.vhostUser.socketPath)
		mixed_pod "$sock" $tso
		;;
	dpdk-mid-tso | dpdk-mid-notso)
		local kpool=kp vpool=vu tso=1 s0 s1
		[ "$1" = dpdk-mid-notso ] && kpool=kpoff vpool=vuoff tso=0
		kattach ka "$A" $kpool left
		kattach kb "$B" $kpool right
		ip -n "$A" link set net1 name eth1
		ip -n "$B" link set net1 name eth1
		s0=$(fp_api attach "{\"containerID\":\"kt\",\"ifname\":\"net1\",\"network\":\"left\",\"deviceType\":\"virtio-user\",\"pool\":\"$vpool\",\"mac\":\"$MY0\"}" |
			jq -r .allocation.vhostUser.socketPath)
		s1=$(fp_api attach "{\"containerID\":\"kt\",\"ifname\":\"net2\",\"network\":\"right\",\"deviceType\":\"virtio-user\",\"pool\":\"$vpool\",\"mac\":\"$MY1\"}" |
			jq -r .allocation.vhostUser.socketPath)
		mid_pod "$s0" "$s1" $tso
		;;
	esac
	ip -n "$A" addr add $IPA/24 dev eth1
	ip -n "$A" link set eth1 up
	if [ "${MIXED:-}" != 1 ]; then
		ip -n "$B" addr add $IPB/24 dev eth1
		ip -n "$B" link set eth1 up
	fi
	sleep 0.5
	ip netns exec "$A" ping -c 2 -W 2 -i 0.2 $IPB >/dev/null 2>&1 || echo "# $1: no ping reply" >&2
}
teardown() {
	if [ -n "${MIXED:-}" ]; then
		fp_pod_stop t
		cp "$T/t.log" "$OUT/dpdk-pod.log"
		rm -f "$T/t.in"
		fp_api detach '{"containerID":"kt","ifname":"net1"}' >/dev/null
		fp_api detach '{"containerID":"kt","ifname":"net2"}' >/dev/null
		MIXED=
	fi
	if [ "$LAYOUT" != none ]; then
		fp_api detach '{"containerID":"ka","ifname":"net1"}' >/dev/null
		fp_api detach '{"containerID":"kb","ifname":"net1"}' >/dev/null
	fi
	for ns in "$A" "$B" ${S:-}; do ip netns delete "$ns" 2>/dev/null; done
	S=''
	SRV_CPU=''
}

# The DPDK pod of the mixed cases: testpmd in pod B's namespace, csum engine between its
# virtio-user port (0) and a net_tap port (1, kernel netdev eth1 with the allocation's MAC).
# tso=1: port 0 takes TSO frames (GUEST_TSO/GUEST_CSUM via LRO), port 1 segments them
# (net_tap TSO, MSS 1400) and completes checksums; tso=0: plain frames, checksums in software.
mixed_pod() {
	local sock=$1 tso=$2 peer
	MIXED=1
	# The csum engine writes its port's MAC as source and the peer's as destination.
	peer=$(ip -n "$A" -j link show eth1 | jq -r '.[0].address')
	mkfifo "$T/t.in"
	# shellcheck disable=SC2086
	ip netns exec "$B" stdbuf -o0 -e0 dpdk-testpmd --lcores="0@$POD_CPU,1@$POD_CPU" \
		--no-huge -m 512 --no-shconf --file-prefix "$FP_PREFIX-t" --no-pci \
		--vdev "net_virtio_user0,path=$sock,server=1,queues=1,mac=$MT" \
		--vdev "net_tap0,iface=eth1,mac=$MT" -- -i --no-mlockall --total-num-mbufs=16384 \
		--forward-mode=csum --burst=32 --eth-peer=0,"$peer" --eth-peer=1,$MT <"$T/t.in" >"$T/t.log" 2>&1 &
	FP_POD_PID[t]=$!
	exec {fd}>"$T/t.in"
	FP_POD_FD[t]=$fd
	fp_pod_wait t 'testpmd> ' 30 || { tail "$T/t.log" >&2; return 1; }
	fp_pod_cmd t "port stop all"
	if [ "$tso" = 1 ]; then
		fp_pod_cmd t "port config 0 rx_offload tcp_lro on"
		fp_pod_cmd t "port config 0 rx_offload tcp_cksum on"
		fp_pod_cmd t "csum set ip hw 1"
		fp_pod_cmd t "csum set tcp hw 1"
		fp_pod_cmd t "tso set 1400 1"
	else
		fp_pod_cmd t "csum set ip sw 1"
		fp_pod_cmd t "csum set tcp sw 1"
	fi
	fp_pod_cmd t "port start all"
	fp_pod_cmd t "start"
	# net_tap's stop waits for a (missing) secondary process's answer: seconds.
	fp_pod_wait t "packet forwarding - ports=" 60 || echo "# DPDK pod not forwarding" >&2
	ip -n "$B" addr add $IPB/24 dev eth1
	ip -n "$B" link set eth1 address $MT up
	fp_wait_connected kt 20 || echo "# DPDK pod not connected" >&2
}

# The DPDK pod of the dpdk-mid cases: testpmd in its own namespace between virtio-user port 0
# (network left, pod A) and port 1 (network right, pod B). The pods' neighbour entries point at
# the port on their network; testpmd writes the peer pod's MAC as destination.
MY0=02:00:00:00:00:70
MY1=02:00:00:00:00:71
mid_pod() { # SOCK0 SOCK1 TSO
	local tso=$3 ma mb ns
	MIXED=1
	ns=$(kb_netns dm)
	S=$ns
	ma=$(ip -n "$A" -j link show eth1 | jq -r '.[0].address')
	mb=$(ip -n "$B" -j link show eth1 | jq -r '.[0].address')
	mkfifo "$T/t.in"
	local fwd=mac
	[ "$tso" = 1 ] && fwd=csum
	ip netns exec "$ns" stdbuf -o0 -e0 dpdk-testpmd --lcores="0@$POD_CPU,1@$POD_CPU" \
		--no-huge -m 512 --no-shconf --file-prefix "$FP_PREFIX-t" --no-pci \
		--vdev "net_virtio_user0,path=$1,server=1,queues=1,mac=$MY0" \
		--vdev "net_virtio_user1,path=$2,server=1,queues=1,mac=$MY1" -- -i --no-mlockall \
		--total-num-mbufs=16384 --forward-mode=$fwd \
		--burst=32 --eth-peer=0,"$ma" --eth-peer=1,"$mb" <"$T/t.in" >"$T/t.log" 2>&1 &
	FP_POD_PID[t]=$!
	exec {fd}>"$T/t.in"
	FP_POD_FD[t]=$fd
	fp_pod_wait t 'testpmd> ' 30 || { tail "$T/t.log" >&2; return 1; }
	if [ "$tso" = 1 ]; then
		local c
		for c in "port stop all" "port config 0 rx_offload tcp_lro on" \
			"port config 1 rx_offload tcp_lro on" "port config 0 rx_offload tcp_cksum on" \
			"port config 1 rx_offload tcp_cksum on" "csum set ip sw 0" "csum set ip sw 1" \
			"csum set tcp hw 0" "csum set tcp hw 1" "tso set 1448 0" "tso set 1448 1" \
			"port start all"; do
			fp_pod_cmd t "$c"
		done
	fi
	fp_pod_cmd t "start"
	fp_pod_wait t "packet forwarding - ports=" 60 || echo "# DPDK pod not forwarding" >&2
	ip -n "$A" neigh replace $IPB lladdr $MY0 dev eth1
	ip -n "$B" neigh replace $IPA lladdr $MY1 dev eth1
	fp_wait_connected kt 20 || echo "# DPDK pod not connected" >&2
	MIXED=2
}

# ---- measurements (print one value each) ----
# Servers are stopped by PID after each measurement (also when the client failed): a server
# left behind would keep this run's benchmark lock (an inherited descriptor) for ever.
srv_stop() { # PID
	kill -INT "$1" 2>/dev/null
	sleep 0.2
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
iperf_srv() { # PORT: an iperf3 server in pod B (foreground process in the background)
	# Not through inns: a backgrounded function is a subshell, and $! would be its PID,
	# not the server's (ip netns exec and taskset exec the server in place).
	ip netns exec "$B" taskset -c "${SRV_CPU:-$POD_CPU}" iperf3 -s -1 -B $IPB -p "$1" >"$T/ips.log" 2>&1 &
	SRV=$!
	kb_defer "kill -KILL $SRV"
	sleep 0.3
}
tcp() { # STREAMS: Gbit/s received
	iperf_srv 5201
	timeout $((SECS + 20)) ip netns exec "$A" taskset -c $POD_CPU iperf3 -c $IPB -p 5201 -t "$SECS" -P "$1" -J >"$T/ipc.json" 2>/dev/null
	srv_stop $SRV
	jq '.end.sum_received.bits_per_second / 1e9' "$T/ipc.json" 2>/dev/null || echo 0
}
udp64() { # kpps the receiver got
	iperf_srv 5202
	timeout $((SECS + 20)) ip netns exec "$A" taskset -c $POD_CPU iperf3 -c $IPB -p 5202 -u -b 0 -l 18 -t "$SECS" -J >"$T/ipu.json" 2>/dev/null
	srv_stop $SRV
	jq '.end.sum as $s | ($s.packets - $s.lost_packets) / $s.seconds / 1e3' "$T/ipu.json" 2>/dev/null || echo 0
}
pingpong() { # "p50 p99" in microseconds
	ip netns exec "$B" taskset -c "${SRV_CPU:-$POD_CPU}" sockperf sr -i $IPB -p 11111 --tcp >/dev/null 2>&1 &
	local srv=$!
	kb_defer "kill -KILL $srv"
	sleep 0.5
	timeout $((SECS + 20)) ip netns exec "$A" taskset -c $POD_CPU sockperf pp -i $IPB -p 11111 --tcp -m 64 -t "$SECS" >"$T/spp.log" 2>&1
	srv_stop $srv
	awk '/percentile 50.000/ {p50=$NF} /percentile 99.000/ {p99=$NF} END {print (p50 ? p50 : 0), (p99 ? p99 : 0)}' "$T/spp.log"
}
gso_counts() { # rxGsoPackets of pod a's port, txGsoSoftware towards the other pod
	[ "$LAYOUT" != none ] || { echo 0; return; }
	fp_api ports | jq -r '[.ports[] | select(.containerID == "ka")][0].stats.offloads.rxGsoPackets // 0'
}

echo "# kernel pods: $(nproc) CPUs, pods on CPU $POD_CPU, kbnet worker on CPU $FP_WORKER_CPU (busy-polling; kbnet-shared: CPU $POD_CPU, sleeps when idle), $IDLE_NOTE, $ROUNDS rounds x ${SECS}s"
for r in $(seq 1 "$ROUNDS"); do
	for c in $CASES; do
		setup "$c" || { teardown; continue; }
		g0=$(gso_counts)
		t1=$(tcp 1)
		g1=$(gso_counts)
		if [[ $c == dpdk-mid-* ]]; then
			echo "# $c: GSO frames from the DPDK pod towards B: $(fp_api ports | jq -r '[.ports[] | select(.containerID == "kt" and .ifname == "net2")][0].stats.offloads.rxGsoPackets // 0'); drops: $(fp_api ports | jq -c '[.ports[] | {p: "\(.containerID)/\(.ifname)", d: (.stats.drops | with_entries(select(.value > 0)))} | select(.d != {})]'); testpmd: $(fp_pod_cmd t "show port stats all"; sleep 0.5; grep -E 'RX-missed|TX-errors' "$T/t.log" | tail -2 | tr -s ' ' | tr '\n' ' ')" >&2
		fi
		t4=0 u=0 pp="0 0"
		if [[ $c != mixed-* && $c != dpdk-mid-* ]]; then
			t4=$(tcp 4)
			u=$(udp64)
			pp=$(pingpong)
		fi
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$r" "$t1" "$t4" "$u" "$pp" "$((g1 - g0))" | tr ' ' '\t' >>"$RAW"
		echo "# round $r $c: tcp1 $t1 tcp4 $t4 udp64 $u pp $pp gso $((g1 - g0))" >&2
		teardown
	done
done
agent_layout none

# ---- table, ratios, plot ----
/usr/bin/python3 - "$RAW" "$OUT" "$CASES" <<'PY'
import statistics, sys
raw, out, cases = sys.argv[1], sys.argv[2], sys.argv[3].split()
rows = {}
for line in open(raw):
    f = line.split()
    if len(f) < 8:
        continue
    rows.setdefault(f[0], []).append([float(x) for x in f[2:8]])
med = {c: [statistics.median(v[i] for v in rows[c]) for i in range(6)] for c in cases if c in rows}
names = ["tcp1 Gbit/s", "tcp4 Gbit/s", "udp64 kpps", "pp p50 us", "pp p99 us"]
with open(out + "/results.tsv", "w") as f:
    f.write("case\t" + "\t".join(names) + "\tgso frames (tcp1)\n")
    for c, m in med.items():
        f.write(c + "\t" + "\t".join("%.3f" % x for x in m) + "\n")
def ratio(c, base, i):
    if base not in med or not med[base][i] or c not in med or not med[c][i]:
        return "-"
    return "%.2fx" % (med[c][i] / med[base][i])
print("%-14s %9s %9s %9s %9s %9s %8s" % ("case", "tcp1", "tcp4", "udp64", "pp-p50", "pp-p99", "gso"))
print("%-14s %9s %9s %9s %9s %9s %8s" % ("", "Gbit/s", "Gbit/s", "kpps", "us", "us", "frames"))
for c, m in med.items():
    print("%-14s %9.2f %9.2f %9.0f %9.1f %9.1f %8.0f" % (c, *m))
print()
print("ratios (median of each): to veth | to bridge   (latency: lower is better)")
print("%-14s %17s %17s %17s %17s" % ("case", "tcp1", "tcp4", "udp64", "pp-p50"))
for c in med:
    print("%-14s %17s %17s %17s %17s" % (c, *("%s | %s" % (ratio(c, "veth", i), ratio(c, "bridge", i)) for i in range(4))))
print()
def goal(label, ok):
    print("goal %-52s %s" % (label, "met" if ok else "MISSED"))
for kc in ("kbnet", "kbnet-shared"):
    if kc not in med or "bridge" not in med:
        continue
    b, k = med["bridge"], med[kc]
    goal("%s tcp1 >= 1.0x bridge (%.2fx)" % (kc, k[0] / b[0] if b[0] else 0), b[0] and k[0] >= b[0])
    goal("%s tcp4 >= 1.0x bridge (%.2fx)" % (kc, k[1] / b[1] if b[1] else 0), b[1] and k[1] >= b[1])
    goal("%s pp p50 <= 1.5x bridge (%.2fx)" % (kc, k[3] / b[3] if b[3] else 0), b[3] and k[3] <= 1.5 * b[3])
    if kc == "kbnet" and "bridge-xcpu" in med and med["bridge-xcpu"][3]:
        print("(kbnet pp p50 %.2fx bridge-xcpu, the bridge with its wake-ups across CPUs)" % (k[3] / med["bridge-xcpu"][3]))
if "dpdk-mid-tso" in med and "dpdk-mid-notso" in med and med["dpdk-mid-notso"][0]:
    x = med["dpdk-mid-tso"][0] / med["dpdk-mid-notso"][0]
    goal("kernel->DPDK->kernel tcp1 offloads on >= 3x off (%.2fx)" % x, x >= 3)
if "mixed-tso" in med and "mixed-notso" in med and med["mixed-notso"][0]:
    x = med["mixed-tso"][0] / med["mixed-notso"][0]
    print("(mixed, net_tap exception port: offloads on %.2fx off)" % x)
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.5))
    cs = list(med)
    for ax, i, title in zip(axes, [0, 1, 2, 3], ["TCP 1 stream (Gbit/s)", "TCP 4 streams (Gbit/s)", "UDP 64 B (kpps)", "ping-pong p50 (us, lower is better)"]):
        vals = [med[c][i] for c in cs]
        ax.bar(range(len(cs)), vals, color=["#888" if not c.startswith(("kbnet", "mixed")) else "#2a7" for c in cs])
        ax.set_xticks(range(len(cs)))
        ax.set_xticklabels(cs, rotation=45, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
    fig.suptitle("kernel pods on one node: veth floor, Linux bridge, macvlan, kbnet kernel ports (medians)")
    fig.tight_layout()
    fig.savefig(out + "/kernel.png", dpi=100)
    print("\nplot: " + out + "/kernel.png, table: " + out + "/results.tsv")
except ImportError:
    print("\nno plot: python3-matplotlib not installed")
PY
