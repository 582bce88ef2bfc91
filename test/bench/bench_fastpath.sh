#!/usr/bin/env bash
# Fast-path benchmark: kbnet's switch beside dpdk-testpmd io forwarding and OVS-DPDK, each
# switching between the same vhost-user ports on the same CPU, measured in the same run.
#
#   pod-to-pod   two virtio-user ports served by one testpmd "pods" process in macswap mode
#                with loop topology (each port sends back what it receives, source MAC its
#                own): a closed loop of BENCH_INFLIGHT bursts per port, so no ring on this
#                2-core machine ever overflows and every switch sees the same load.
#   pod-to-null  one virtio-user pod in txonly mode towards an unknown MAC; the switch sends
#                it to a null uplink (net_null, no-rx=1).
#
# Cycles per packet are the switch's own TSC cycles (rte_rdtsc on its forwarding thread) over
# the frames it received, two ways: "cyc/pkt" counts only polls that returned packets, from the
# receive call to the end of transmit (testpmd's --record-core-cycles definition), "loop-cyc"
# whole forwarding-loop iterations that moved packets, empty polls of other queues included
# (OVS's pmd-stats-show "avg processing cycles per packet"). kbnet reports both (its `stats`
# API: workCycles, busyCycles), so it is compared with each peer on that peer's definition. Each
# cell is # the median over BENCH_ROUNDS rounds (interleaving the switches) of BENCH_WINDOWS windows of
# BENCH_WINDOW_S seconds. Goals (not asserted):
# kbnet <= 1.1x testpmd io-fwd and <= 0.8x OVS-DPDK; kbnet-1copy (copyMode: one) <= 0.6x
# testpmd at 1518 bytes and <= 0.9x at 64 (the goal is printed beside its ratio).
#
# CPUs: the switch's forwarding thread on the last CPU, the pods and every control thread on
# CPU 0. Env: BENCH_SIZES ("64 1518"), BENCH_ROUNDS (3), BENCH_WINDOWS (4), BENCH_WINDOW_S (1), BENCH_PEERS
# ("kbnet testpmd ovs"), BENCH_SCENARIOS ("pod-to-pod pod-to-null"), BENCH_HUGEPAGES (auto|no).
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../e2e/lib_fp.bash"
fp_require

SIZES=${BENCH_SIZES:-64 1518}
WINDOWS=${BENCH_WINDOWS:-4}
ROUNDS=${BENCH_ROUNDS:-3}
WIN_S=${BENCH_WINDOW_S:-1}
PEERS=${BENCH_PEERS:-kbnet kbnet-1copy kbnet-nooff kbnet-backoff kbnet-2w testpmd ovs}
SCENARIOS=${BENCH_SCENARIOS:-pod-to-pod pod-to-null}
INFLIGHT=${BENCH_INFLIGHT:-3}
SW_CPU=$FP_WORKER_CPU
MA=02:00:00:00:00:0a MB=02:00:00:00:00:0b UNKNOWN=02:00:00:00:00:ee
OVS_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
NS=$(kb_netns bench)
RESULTS=$T/results.txt
: >"$RESULTS"

# ---- memory: hugepages when they can be had, else --no-huge everywhere ----
HUGE=0
HP_NEED=600 # 2 MiB pages: a switch (agent, testpmd or OVS) and the pods, never all at once
hp() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
if [ "${BENCH_HUGEPAGES:-auto}" != no ] && [ "$(hp Hugepagesize)" = 2048 ]; then
	free=$(hp HugePages_Free)
	if [ "$free" -lt "$HP_NEED" ]; then
		old=$(hp HugePages_Total)
		echo $((old + HP_NEED - free)) >/proc/sys/vm/nr_hugepages 2>/dev/null || true
		added=$(($(hp HugePages_Total) - old))
		# Give back what this run added (the kernel releases only pages that are free).
		[ "$added" -le 0 ] || kb_defer "echo \$(( \$(awk '/HugePages_Total/ {print \$2}' /proc/meminfo) - $added )) >/proc/sys/vm/nr_hugepages"
	fi
	[ "$(hp HugePages_Free)" -ge "$HP_NEED" ] && HUGE=1
fi
if [ $HUGE = 1 ]; then
	MEM_DESC="hugepages (2 MiB, in-memory)"
	SW_MEM="--in-memory"
	POD_MEM="--in-memory --single-file-segments"
	AGENT_MEM=hugepages
else
	MEM_DESC="no-huge (memfd): hugepages could not be allocated"
	SW_MEM="--no-huge -m 512 --no-shconf"
	POD_MEM="--no-huge -m 512 --no-shconf"
	AGENT_MEM=no-huge
fi

# ---- pods ----
# bench_pod NAME SCENARIO SIZE: start the pods' testpmd (interactive, on CPU 0).
bench_pod() {
	local name=$1 scen=$2 size=$3 vdevs fwd args
	mkfifo "$T/$name.in"
	if [ "$scen" = pod-to-pod ]; then
		vdevs=(--vdev "net_virtio_user0,path=$A_SOCK,server=1,queues=1,mac=$MA"
			--vdev "net_virtio_user1,path=$B_SOCK,server=1,queues=1,mac=$MB")
		args=(--forward-mode=macswap --port-topology=loop --eth-peer=0,$MB --eth-peer=1,$MA)
	else
		vdevs=(--vdev "net_virtio_user0,path=$A_SOCK,server=1,queues=1,mac=$MA")
		args=(--forward-mode=txonly --eth-peer=0,$UNKNOWN)
	fi
	# shellcheck disable=SC2086
	stdbuf -o0 -e0 dpdk-testpmd --lcores="0@$FP_POD_CPU,1@$FP_POD_CPU" $POD_MEM \
		--file-prefix "$FP_PREFIX-$name" --no-pci "${vdevs[@]}" -- -i --no-mlockall \
		--total-num-mbufs=8192 --burst=32 --txpkts=$((size - 4)) "${args[@]}" \
		<"$T/$name.in" >"$T/$name.log" 2>&1 &
	FP_POD_PID[$name]=$!
	exec {fd}>"$T/$name.in"
	FP_POD_FD[$name]=$fd
	kb_defer "fp_pod_stop $name"
	fp_pod_wait "$name" 'testpmd> ' 30 || { tail "$T/$name.log"; return 1; }
}
bench_pod_go() { # NAME SCENARIO: start forwarding once the switch has connected
	if [ "$2" = pod-to-pod ]; then
		fp_pod_cmd "$1" "start tx_first $INFLIGHT"
	else
		fp_pod_cmd "$1" start
	fi
}

# ---- switch: kbnet ----
kbnet_start() { # SCENARIO
	local up=""
	[ "$1" = pod-to-null ] && up="  uplink:
    devargs: net_null0,no-rx=1"
	kb_agent_config "$T/agent.yaml" "  - name: vu
    type: virtio-user
    count: 8
    offloads: $KBNET_OFFLOADS"
	cat >>"$T/agent.yaml" <<-YAML
	fastpath:
	  workers: [$KBNET_WORKERS]
	  memory: $AGENT_MEM
	  memoryMB: 512
	  filePrefix: $FP_PREFIX-kbnet
	  idlePolls: $KBNET_IDLE_POLLS
	  copyMode: $KBNET_COPY_MODE
	YAML
	[ -z "$up" ] || printf '%s\n' "$up" >>"$T/agent.yaml"
	rm -rf "$KB_STATE"
	kb_agent_start "$T/agent.yaml" "$NS"
	fp_api attach "{\"containerID\":\"a\",\"ifname\":\"net1\",\"network\":\"bench\",\"deviceType\":\"virtio-user\",\"mac\":\"$MA\"}" >/dev/null
	if [ "$1" = pod-to-pod ]; then
		fp_api attach "{\"containerID\":\"b\",\"ifname\":\"net1\",\"network\":\"bench\",\"deviceType\":\"virtio-user\",\"mac\":\"$MB\"}" >/dev/null
	fi
}
kbnet_sockets() { # the pods listen where the agent connects (its runDir)
	A_SOCK=$KB_RUN/pods/a/net1.sock
	B_SOCK=$KB_RUN/pods/b/net1.sock
}
kbnet_ready() { fp_wait_connected a 20 && { [ "$1" != pod-to-pod ] || fp_wait_connected b 20; }; }
# Sums over the workers: cycles per packet of the whole switch.
kbnet_sample() { fp_api stats | jq -r '"\([.workers[].workCycles] | add) \([.workers[].busyCycles] | add) \([.workers[].packets] | add)"'; }
# window output: WORK_CYC/PKT LOOP_CYC/PKT MPPS
kbnet_window() {
	local s0 s1
	s0=$(kbnet_sample)
	sleep "$WIN_S"
	s1=$(kbnet_sample)
	awk -v a="$s0" -v b="$s1" -v w="$WIN_S" 'BEGIN {split(a, x, " "); split(b, y, " ");
		p = y[3] - x[3];
		if (p > 0) printf "%.1f %.1f %.3f\n", (y[1] - x[1]) / p, (y[2] - x[2]) / p, p / w / 1e6;
		else print "nan nan 0"}'
}
kbnet_stop() {
	fp_api ports >"$T/kbnet-ports.json" 2>/dev/null || true
	fp_agent_finish >/dev/null
}

# "kbnet" busy-polls like the peers (idlePolls: 0); "kbnet-backoff" runs the default idle
# back-off (workers sleep after 128 empty polls), to show what the back-off costs.
KBNET_IDLE_POLLS=0
KBNET_WORKERS=$SW_CPU
KBNET_OFFLOADS=true
KBNET_COPY_MODE=two
# "kbnet-1copy": as "kbnet" in one-copy mode (fastpath.copyMode: one): the switch walks the
# pods' rings and copies pod to pod once. Goals: <= 0.6x testpmd at 1518 bytes, <= 0.9x at 64.
kbnet-1copy_start() { KBNET_COPY_MODE=one kbnet_start "$@"; }
kbnet-1copy_sockets() { kbnet_sockets; }
kbnet-1copy_ready() { kbnet_ready "$@"; }
kbnet-1copy_window() { kbnet_window; }
# Where its cycles go (stats oneCopyCycles, summed over the workers, over the whole cell; the
# agent times one burst in 16 and scales, so these are estimates):
# one line per cell in $T/oc-stages.txt, medians printed under the table.
kbnet-1copy_stop() {
	fp_api stats 2>/dev/null | jq -r --arg s "$scen" --arg z "$size" '"\($s) \($z) \([.workers[].oneCopyCycles.walk] | add) \([.workers[].oneCopyCycles.copy] | add) \([.workers[].oneCopyCycles.handBack] | add) \([.workers[].workCycles] | add) \([.workers[].packets] | add)"' >>"$T/oc-stages.txt" || true
	kbnet_stop
}
# "kbnet-nooff": as "kbnet" with the pool's checksum/TSO offloads off (the pre-offload
# feature set), to show what negotiating offloads costs a frame that uses none.
kbnet-nooff_start() { KBNET_OFFLOADS=false kbnet_start "$@"; }
kbnet-nooff_sockets() { kbnet_sockets; }
kbnet-nooff_ready() { kbnet_ready "$@"; }
kbnet-nooff_window() { kbnet_window; }
kbnet-nooff_stop() { kbnet_stop; }
kbnet-backoff_start() { KBNET_IDLE_POLLS=128 kbnet_start "$@"; }
kbnet-backoff_sockets() { kbnet_sockets; }
kbnet-backoff_ready() { kbnet_ready "$@"; }
kbnet-backoff_window() { kbnet_window; }
kbnet-backoff_stop() { kbnet_stop; }
# "kbnet-2w": two workers with the back-off, the second on the pods' CPU (this 2-CPU machine
# has no third): pod a's and pod b's queues on different workers. Cycles and packets are
# summed over both workers.
kbnet-2w_start() {
	if [ "$SW_CPU" -lt 1 ]; then return 1; fi
	KBNET_WORKERS="$((SW_CPU - 1)), $SW_CPU" KBNET_IDLE_POLLS=128 kbnet_start "$@"
}
kbnet-2w_sockets() { kbnet_sockets; }
kbnet-2w_ready() { kbnet_ready "$@"; }
kbnet-2w_window() { kbnet_window; }
kbnet-2w_stop() { kbnet_stop; }

# ---- switch: testpmd io forwarding between two vhost-user ports ----
testpmd_start() { # SCENARIO
	local second
	if [ "$1" = pod-to-pod ]; then
		second=(--vdev "net_vhost1,iface=$T/b.sock,client=1,queues=1")
	else
		second=(--vdev "net_null0,no-rx=1")
	fi
	mkfifo "$T/sw.in"
	# shellcheck disable=SC2086
	ip netns exec "$NS" stdbuf -o0 dpdk-testpmd --lcores="0@$FP_POD_CPU,1@$SW_CPU" $SW_MEM \
		--file-prefix "$FP_PREFIX-tpsw" --no-pci \
		--vdev "net_vhost0,iface=$T/a.sock,client=1,queues=1" "${second[@]}" -- -i \
		--no-mlockall --total-num-mbufs=16384 --forward-mode=io --record-core-cycles \
		--burst=32 <"$T/sw.in" >"$T/sw.log" 2>&1 &
	SW_PID=$!
	exec {SW_FD}>"$T/sw.in"
	kb_defer "testpmd_stop"
	for _ in $(seq 1 100); do grep -q 'testpmd> ' "$T/sw.log" && break; sleep 0.1; done
	echo start >&"$SW_FD"
}
testpmd_sockets() { A_SOCK=$T/a.sock; B_SOCK=$T/b.sock; }
testpmd_ready() {
	for _ in $(seq 1 200); do
		[ "$(grep -c 'new device' "$T/sw.log")" -ge "$([ "$1" = pod-to-pod ] && echo 2 || echo 1)" ] && return 0
		grep -c 'virtio is now ready' "$T/sw.log" | grep -q "^$([ "$1" = pod-to-pod ] && echo 2 || echo 1)$" && return 0
		sleep 0.1
	done
	return 1
}
testpmd_window() {
	local before
	echo "clear fwd stats all" >&"$SW_FD"
	sleep "$WIN_S"
	before=$(wc -l <"$T/sw.log")
	echo "show fwd stats all" >&"$SW_FD"
	for _ in $(seq 1 50); do
		tail -n +"$before" "$T/sw.log" | grep -q 'CPU cycles/packet' && break
		sleep 0.1
	done
	tail -n +"$before" "$T/sw.log" | awk -v w="$WIN_S" '
		/CPU cycles\/packet=/ {split($0, a, "="); split(a[2], b, " "); cpp = b[1]}
		/Accumulated forward statistics/ {acc = 1}
		acc && /RX-packets:/ {rx = $2; acc = 0}
		END {if (rx > 0) printf "%.1f nan %.3f\n", cpp, rx / w / 1e6; else print "nan nan 0"}'
}
testpmd_stop() {
	[ -n "${SW_PID:-}" ] || return 0
	echo quit >&"$SW_FD" 2>/dev/null || true
	for _ in $(seq 1 30); do kill -0 "$SW_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$SW_PID" 2>/dev/null || true
	wait "$SW_PID" 2>/dev/null || true
	eval "exec $SW_FD>&-"
	rm -f "$T/sw.in"
	SW_PID=
}

# ---- switch: OVS-DPDK (own database and run directory under $T, in the test namespace) ----
OVS_D=$T/ovs
ovs_vsctl() { ovs-vsctl --db="unix:$OVS_D/db.sock" "$@"; }
ovs_start() { # SCENARIO
	rm -rf "$OVS_D"
	mkdir -p "$OVS_D"
	export OVS_RUNDIR=$OVS_D OVS_DBDIR=$OVS_D OVS_LOGDIR=$OVS_D
	ovsdb-tool create "$OVS_D/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	ip netns exec "$NS" ovsdb-server "$OVS_D/conf.db" --remote="punix:$OVS_D/db.sock" \
		--unixctl="$OVS_D/ovsdb.ctl" --log-file="$OVS_D/ovsdb.log" >/dev/null 2>&1 &
	OVSDB_PID=$!
	kb_defer "ovs_stop"
	for _ in $(seq 1 100); do [ -S "$OVS_D/db.sock" ] && break; sleep 0.05; done
	ovs_vsctl --no-wait init
	ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
		other_config:pmd-cpu-mask="$(printf '0x%x' $((1 << SW_CPU)))" \
		other_config:dpdk-lcore-mask=0x1 \
		other_config:dpdk-extra="--no-pci --file-prefix=$FP_PREFIX-ovs $SW_MEM"
	ip netns exec "$NS" "$OVS_VSWITCHD" "unix:$OVS_D/db.sock" --unixctl="$OVS_D/vswitchd.ctl" \
		--log-file="$OVS_D/vswitchd.log" >"$OVS_D/vswitchd.out" 2>&1 &
	OVS_PID=$!
	ovs_vsctl --timeout=30 add-br br0 -- set bridge br0 datapath_type=netdev || return 1
	ovs_vsctl --timeout=30 add-port br0 va -- set Interface va type=dpdkvhostuserclient \
		options:vhost-server-path="$T/a.sock" || return 1
	if [ "$1" = pod-to-pod ]; then
		ovs_vsctl --timeout=30 add-port br0 vb -- set Interface vb type=dpdkvhostuserclient \
			options:vhost-server-path="$T/b.sock" || return 1
	else
		ovs_vsctl --timeout=30 add-port br0 vb -- set Interface vb type=dpdk \
			'options:dpdk-devargs="net_null0,no-rx=1"' || return 1
	fi
	ovs-ofctl del-flows br0 &&
		ovs-ofctl add-flow br0 in_port=va,actions=output:vb &&
		ovs-ofctl add-flow br0 in_port=vb,actions=output:va
}
ovs_sockets() { A_SOCK=$T/a.sock; B_SOCK=$T/b.sock; }
ovs_ready() {
	local want=1
	[ "$1" = pod-to-pod ] && want=2
	for _ in $(seq 1 200); do
		[ "$(grep -c 'vHost Device .* has been added' "$OVS_D/vswitchd.log" 2>/dev/null)" -ge $want ] && return 0
		sleep 0.1
	done
	return 1
}
ovs_appctl() { ovs-appctl -t "$OVS_D/vswitchd.ctl" "$@"; }
ovs_window() {
	ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null
	sleep "$WIN_S"
	# Only the PMD thread's section counts (the main thread's has no packets).
	ovs_appctl dpif-netdev/pmd-stats-show | tee "$OVS_D/last-pmd-stats" | awk -v w="$WIN_S" '
		/^pmd thread/ {pmd = 1} /^main thread/ {pmd = 0}
		pmd && /packets received:/ {rx = $3}
		pmd && /avg processing cycles per packet:/ {cpp = $6}
		END {if (rx > 0) printf "nan %.1f %.3f\n", cpp, rx / w / 1e6; else print "nan nan 0"}'
}
ovs_stop() {
	[ -z "${OVS_PID:-}" ] || { kill "$OVS_PID" 2>/dev/null; wait "$OVS_PID" 2>/dev/null || true; }
	[ -z "${OVSDB_PID:-}" ] || { kill "$OVSDB_PID" 2>/dev/null; wait "$OVSDB_PID" 2>/dev/null || true; }
	OVS_PID=
	OVSDB_PID=
	unset OVS_RUNDIR OVS_DBDIR OVS_LOGDIR
}

# ---- one cell: a switch, a scenario, a frame size; appends one line per window ----
run_cell() { # PEER SCENARIO SIZE
	local peer=$1 scen=$2 size=$3 i
	rm -f "$T"/a.sock "$T"/b.sock "$T"/pods.in
	if ! "${peer}_start" "$scen"; then
		echo "$scen $size $peer nan nan 0 start-failed" >>"$RESULTS"
		"${peer}_stop"
		return
	fi
	"${peer}_sockets"
	# The pods listen (server=1) where the switch connects.
	bench_pod pods "$scen" "$size"
	if ! "${peer}_ready" "$scen"; then
		echo "$scen $size $peer nan nan 0 not-connected" >>"$RESULTS"
		fp_pod_stop pods
		"${peer}_stop"
		return
	fi
	bench_pod_go pods "$scen"
	sleep 1.5 # warm-up
	for i in $(seq 1 "$WINDOWS"); do
		echo "$scen $size $peer $("${peer}_window") ok" >>"$RESULTS"
	done
	fp_pod_stop pods
	"${peer}_stop"
	rm -f "$T/pods.in"
}

echo "# memory: $MEM_DESC; switch forwarding thread on CPU $SW_CPU, pods on CPU $FP_POD_CPU;" \
	"median of $ROUNDS rounds x $WINDOWS x ${WIN_S}s windows (n = windows with packets); TSC $(awk '/cpu MHz/ {printf "%.0f", $4; exit}' /proc/cpuinfo) MHz"
# Rounds interleave the switches so that the machine's slow and fast spells hit all of them.
for round in $(seq 1 "$ROUNDS"); do
	for scen in $SCENARIOS; do
		for size in $SIZES; do
			for peer in $PEERS; do
				if [ "$peer" = ovs ] && [ ! -x "$OVS_VSWITCHD" ]; then
					[ "$round" = 1 ] && echo "$scen $size ovs nan nan 0 not-installed" >>"$RESULTS"
					continue
				fi
				run_cell "$peer" "$scen" "$size"
			done
		done
	done
done

# ---- table: medians over every window of every round ----
# Result lines: scenario bytes switch work-cyc/pkt loop-cyc/pkt Mpps note. "work" counts
# polls that returned packets (testpmd's --record-core-cycles definition), "loop" whole
# forwarding-loop iterations that moved packets (OVS's "processing cycles"); kbnet reports
# both, so each peer is compared on its own definition.
sort -k1,1 -k2,2n -k3,3 "$RESULTS" | awk '
function median(arr, n,    i, j, t) {
	if (n == 0) return -1
	for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
	return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
function flush() {
	if (cur == "") return
	work[cur] = median(wv, nw); loop[cur] = median(lv, nl); mpps[cur] = median(mv, nm)
	nwin[cur] = nm; why[cur] = lastnote
	if (!(ckey in seen)) { seen[ckey] = 1; order[++n] = ckey }
	delete wv; delete lv; delete mv; nw = nl = nm = 0; lastnote = ""
}
{
	key = $1 " " $2 " " $3
	if (key != cur) { flush(); cur = key; ckey = $1 " " $2 }
	if ($7 != "ok") { lastnote = $7; next }
	if ($6 + 0 <= 0) { lastnote = "no packets"; next }
	nm++; mv[nm] = $6 + 0
	if ($4 != "nan") { nw++; wv[nw] = $4 + 0 }
	if ($5 != "nan") { nl++; lv[nl] = $5 + 0 }
}
function f(v) { return v > 0 ? sprintf("%.1f", v) : "-" }
END {
	flush()
	printf "%-12s %5s  %-13s %6s %9s %9s %3s  %-18s %-16s\n", "scenario", "bytes", "switch", "Mpps",
		"cyc/pkt", "loop-cyc", "n", "vs testpmd (<=1.1)", "vs OVS (<=0.8)"
	np = split("kbnet kbnet-1copy kbnet-nooff kbnet-backoff kbnet-2w testpmd ovs", peers, " ")
	for (i = 1; i <= n; i++) {
		k = order[i]; split(k, ks, " ")
		tp = k " testpmd"; ov = k " ovs"
		for (j = 1; j <= np; j++) {
			pk = k " " peers[j]
			if (!(pk in mpps)) continue
			r1 = ""; r2 = ""
			if (peers[j] ~ /^kbnet/) {
				# one copy: its own goals (issue 14), 0.6x at 1518 bytes, 0.9x at 64
				goal = peers[j] == "kbnet-1copy" ? (ks[2] + 0 >= 1518 ? 0.6 : 0.9) : 1.1
				if (work[pk] > 0 && (tp in work) && work[tp] > 0)
					r1 = sprintf("%.2fx %s%s", work[pk] / work[tp], work[pk] / work[tp] <= goal ? "met" : "MISSED", goal != 1.1 ? "(<=" goal ")" : "")
				if (loop[pk] > 0 && (ov in loop) && loop[ov] > 0)
					r2 = sprintf("%.2fx %s", loop[pk] / loop[ov], loop[pk] / loop[ov] <= 0.8 ? "met" : "MISSED")
			}
			name = peers[j]; if (name == "testpmd") name = "testpmd-io"; if (name == "ovs") name = "ovs-dpdk"
			m = mpps[pk] > 0 ? sprintf("%.2f", mpps[pk]) : "-"
			extra = nwin[pk] > 0 ? "" : "  (" why[pk] ")"
			printf "%-12s %5s  %-13s %6s %9s %9s %3d  %-18s %-16s%s\n", ks[1], ks[2], name, m,
				f(work[pk]), f(loop[pk]), nwin[pk], r1, r2, extra
		}
	}
}'

# ---- one copy: cycles per packet by stage (medians over the cells) ----
if [ -s "$T/oc-stages.txt" ]; then
	echo
	echo "kbnet-1copy cycles/packet by stage (cyc/pkt definition, medians of $ROUNDS cells):"
	sort -k1,1 -k2,2n "$T/oc-stages.txt" | awk '
	function median(arr, n,    i, j, t) {
		for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
		return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
	}
	function out() {
		if (cur == "" || n == 0) return
		printf "  %-12s %5s  walk+switch %6.1f  copy %6.1f  hand back %6.1f  rest %6.1f  (work %6.1f)\n", cs, cz,
			median(w, n), median(c, n), median(h, n), median(r, n), median(k, n)
		delete w; delete c; delete h; delete r; delete k; n = 0
	}
	{
		key = $1 " " $2
		if (key != cur) { out(); cur = key; cs = $1; cz = $2 }
		if ($7 + 0 <= 0) next
		n++; w[n] = $3 / $7; c[n] = $4 / $7; h[n] = $5 / $7; k[n] = $6 / $7; r[n] = ($6 - $3 - $4 - $5) / $7
	}
	END { out() }'
fi
