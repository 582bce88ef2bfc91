# shellcheck shell=bash
# Fast-path e2e helpers (sourced after test/lib.sh): real dpdk-testpmd processes as pods
# (net_virtio_user), driven through their interactive prompt on a FIFO.
#
# CPU layout on small machines: the agent's worker gets the last CPU, pods share CPU 0, so a
# busy-polling pod never starves the switch. Functional checks count frames, never rates.

KBAPI=${KBAPI:-$ROOT/test/e2e/kbapi.py}
FP_NCPU=$(nproc)
FP_WORKER_CPU=$((FP_NCPU - 1))
# Worker CPUs for fp_config (a YAML list body), e.g. FP_WORKERS="0, 1" for two workers.
FP_WORKERS=${FP_WORKERS:-$FP_WORKER_CPU}
FP_POD_CPU=0
FP_PREFIX=kb$$
# Pods' memory: memfd without hugepages unless a suite asks for hugepages.
FP_POD_MEM=${FP_POD_MEM:---no-huge -m 128 --no-shconf}
# Agent's memory mode in fp_config (auto | hugepages | no-huge).
FP_MEMORY=${FP_MEMORY:-no-huge}
# The switch's copy mode (fastpath.copyMode: one | two): every suite runs in either,
# e.g. `KB_FP_COPY_MODE=one test/run.sh e2e fastpath_pods`. Empty: the default (two).
KB_FP_COPY_MODE=${KB_FP_COPY_MODE:-}
declare -A FP_POD_PID=() FP_POD_FD=()

fp_require() {
	kb_require_root
	command -v dpdk-testpmd >/dev/null || kb_skip "dpdk-testpmd not installed (Debian package dpdk)"
	command -v jq >/dev/null || kb_skip "jq not installed"
	kb_defer "rm -rf /var/run/dpdk/$FP_PREFIX-*"
}

# fp_agent_finish: stop the agent and check it exited cleanly (under SANITIZE=1 this is where
# ASan/LeakSanitizer findings turn into a failure).
fp_agent_finish() {
	local pid=$KB_AGENT_PID rc=0
	[ -n "$pid" ] || return 0
	# A run in the other copy mode must have been in it (not a config the suite overrode).
	[ -z "$KB_FP_COPY_MODE" ] ||
		kb_assert_eq "$(fp_api status | jq -r .fastpath.copyMode)" "$KB_FP_COPY_MODE" \
			"the agent ran with copyMode $KB_FP_COPY_MODE"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	KB_AGENT_PID=
	kb_assert_eq "$rc" 0 "agent exited cleanly"
	if grep -q 'Sanitizer' "$T/agent.log"; then
		kb_fail "sanitizer report: $(grep -m3 -A5 'Sanitizer' "$T/agent.log")"
	fi
}

# fp_config FILE [EXTRA_FASTPATH_YAML] [POOLS_YAML]: agent config with the fast path enabled
# (no-huge memory so that parallel runs need no hugepages; FP_IDLE_POLLS and
# FP_IDLE_SLEEP_MAX_US override the idle settings). The watchdog waits 20 s: on a
# shared 2-CPU machine under load a worker can be starved for 5 s, which would turn devices
# Unhealthy and fail attaches that have nothing to do with it (FP_WATCHDOG_MS overrides).
fp_config() {
	local f=$1 extra=${2:-} pools=${3:-}
	kb_agent_config "$f" "$pools"
	cat >>"$f" <<-YAML
	fastpath:
	  workers: [$FP_WORKERS]
	  memory: $FP_MEMORY
	  memoryMB: 256
	  mbufs: 8191
	  filePrefix: $FP_PREFIX-agent
	  idlePolls: ${FP_IDLE_POLLS:-64}
	  idleSleepMaxUs: ${FP_IDLE_SLEEP_MAX_US:-200}
	  watchdogMs: ${FP_WATCHDOG_MS:-20000}
	YAML
	[ -z "$KB_FP_COPY_MODE" ] || echo "  copyMode: $KB_FP_COPY_MODE" >>"$f"
	[ -z "$extra" ] || printf '%s\n' "$extra" >>"$f"
}

# fp_kernel_pod NAME: a kernel pod's namespace (kb_netns) without IPv6: no router
# solicitations or ND, so frame counts stay exact. Prints its name.
fp_kernel_pod() {
	local ns
	ns=$(kb_netns "$1")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
	echo "$ns"
}

fp_api() { "$KBAPI" "$KB_SOCK" "$@"; }

# fp_attach CID NETWORK MAC [VLAN] [MTU]: prints the vhost-user socket path.
fp_attach() {
	local cid=$1 net=$2 mac=$3 vlan=${4:-} mtu=${5:-} extra=""
	[ -z "$vlan" ] || extra+=",\"vlan\":$vlan"
	[ -z "$mtu" ] || extra+=",\"mtu\":$mtu"
	extra+=${FP_ATTACH_EXTRA:-} # more request members, e.g. ,"pod":{...}
	fp_api attach "{\"containerID\":\"$cid\",\"ifname\":\"net1\",\"network\":\"$net\",\"deviceType\":\"virtio-user\",\"mac\":\"$mac\"$extra}" |
		jq -r .allocation.vhostUser.socketPath
}
fp_detach() { fp_api detach "{\"containerID\":\"$1\",\"ifname\":\"net1\"}" >/dev/null; }

# fp_port CID: the agent's view of the pod's port (JSON), "null" when absent.
fp_port() { fp_api ports | jq -c --arg c "$1" '[.ports[] | select(.containerID == $c)][0]'; }
# fp_port_stat CID PATH: one counter, e.g. fp_port_stat a .stats.rxPackets
fp_port_stat() { fp_port "$1" | jq -r "$2"; }
fp_uplink_stat() { fp_api ports | jq -r "[.ports[] | select(.kind == \"uplink\")][0] | $1"; }

# fp_wait_connected CID [TIMEOUT_S]
fp_wait_connected() {
	local i
	for i in $(seq 1 $((${2:-15} * 10))); do
		[ "$(fp_port_stat "$1" .connected)" = true ] && return 0
		sleep 0.1
	done
	return 1
}

# fp_pod_start NAME SOCKET MAC [server|client] [TESTPMD ARGS...]: a testpmd pod with its
# prompt on $T/NAME.in; output in $T/NAME.log. Forwarding starts in rxonly mode.
# FP_POD_QUEUES=N creates N queue pairs (net_virtio_user queues=N; pass --rxq/--txq to use
# them); FP_POD_MBUFS sets --total-num-mbufs; FP_POD_VDEV adds net_virtio_user arguments
# (e.g. packed_vq=1). FP_POD_PCAP=FILE adds a net_pcap port replaying FILE (mkpcap.py); with
# --forward-mode=io --no-flush-rx the pod sends those frames once, exactly as crafted.
fp_pod_start() {
	local name=$1 sock=$2 mac=$3 mode=${4:-server} srv=1
	shift 4 || shift $#
	[ "$mode" = server ] || srv=0
	mkfifo "$T/$name.in"
	# Unbuffered: the prompt's replies are read from the log as they come.
	# shellcheck disable=SC2086 # FP_POD_MEM is a list of EAL arguments
	stdbuf -o0 -e0 dpdk-testpmd --lcores="0@$FP_POD_CPU,1@$FP_POD_CPU" $FP_POD_MEM \
		--file-prefix "$FP_PREFIX-$name" --no-pci \
		--vdev "net_virtio_user0,path=$sock,server=$srv,queues=${FP_POD_QUEUES:-1},mac=$mac${FP_POD_VDEV:+,$FP_POD_VDEV}" \
		${FP_POD_PCAP:+--vdev net_pcap0,rx_pcap=$FP_POD_PCAP,tx_pcap=$T/$name.out.pcap} -- -i \
		--no-mlockall --total-num-mbufs=${FP_POD_MBUFS:-2048} --forward-mode=rxonly --burst=16 "$@" \
		<"$T/$name.in" >"$T/$name.log" 2>&1 &
	FP_POD_PID[$name]=$!
	exec {fd}>"$T/$name.in"
	FP_POD_FD[$name]=$fd
	kb_defer "fp_pod_stop $name"
	fp_pod_wait "$name" 'testpmd> ' 20 || { tail -20 "$T/$name.log"; return 1; }
	fp_pod_cmd "$name" start
}

fp_pod_stop() {
	local name=$1 pid=${FP_POD_PID[$1]:-}
	[ -n "$pid" ] || return 0
	echo quit >&"${FP_POD_FD[$name]}" 2>/dev/null || true
	for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	eval "exec ${FP_POD_FD[$name]}>&-" 2>/dev/null || true
	unset "FP_POD_PID[$name]"
}

fp_pod_cmd() { echo "$2" >&"${FP_POD_FD[$1]}"; }

# fp_pod_wait NAME PATTERN [TIMEOUT_S]: wait until the log has PATTERN.
fp_pod_wait() {
	local i
	for i in $(seq 1 $((${3:-10} * 10))); do
		grep -qF -- "$2" "$T/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# fp_pod_stats NAME: "RX TX" packet counters of the pod's port 0.
fp_pod_stats() {
	local name=$1 log=$T/$1.log before
	before=$(wc -l <"$log")
	fp_pod_cmd "$name" "show port stats 0"
	# Up to 30 s: a busy-polling pod on a loaded 2-CPU machine can take seconds to answer
	# (5 s was seen to be too short in CI with other jobs running: the counters read as 0).
	for _ in $(seq 1 300); do
		if tail -n +"$((before + 1))" "$log" | grep -q 'TX-packets'; then break; fi
		sleep 0.1
	done
	tail -n +"$((before + 1))" "$log" | awk '/RX-packets:/ {rx=$2} /TX-packets:/ {tx=$2} END {print rx+0, tx+0}'
}
fp_pod_rx() { fp_pod_stats "$1" | cut -d' ' -f1; }
fp_pod_tx() { fp_pod_stats "$1" | cut -d' ' -f2; }

# fp_pod_send NAME DST_MAC BURSTS [FRAME_LEN]: send BURSTS x 16 frames (testpmd txonly
# frames: UDP/IPv4, src = the pod's MAC) to DST_MAC, then go back to receiving. Keep
# BURSTS <= 10: a vring holds 256 frames, and a sleeping switch or a descheduled receiver
# must not turn a functional check into a ring-overflow test.
fp_pod_send() {
	local name=$1 dst=$2 n=$3 len=${4:-64}
	fp_pod_cmd "$name" stop
	fp_pod_cmd "$name" "set eth-peer 0 $dst"
	# testpmd's length excludes the 4-byte CRC.
	fp_pod_cmd "$name" "set txpkts $((len - 4))"
	fp_pod_cmd "$name" "start tx_first $n"
	# testpmd reads its commands in order: once it answers the next one, the bursts are in
	# the vring (a fixed sleep let fp_settle run before a slow pod had sent anything).
	fp_pod_stats "$name" >/dev/null
}

# fp_port_sum CID FIELD...: sum of the port's counters, e.g. fp_port_sum pb .stats.txPackets
fp_port_sum() {
	local cid=$1 f expr=0
	shift
	for f in "$@"; do expr+=" + ($f)"; done
	fp_port "$cid" | jq "$expr"
}

# fp_settle: wait until the agent's counters stop moving: unchanged over three reads 0.3 s
# apart. One unchanged pair is not enough on a loaded machine (the sanitizer build, other
# jobs): a worker descheduled for 300 ms looks idle while frames still wait in the rings.
fp_settle() {
	local a b same=0
	a=$(fp_api ports | jq -c '[.ports[].stats]')
	for _ in $(seq 1 40); do
		sleep 0.3
		b=$(fp_api ports | jq -c '[.ports[].stats]')
		if [ "$a" = "$b" ]; then
			same=$((same + 1))
			[ $same -ge 3 ] && return 0
		else
			same=0
		fi
		a=$b
	done
}
