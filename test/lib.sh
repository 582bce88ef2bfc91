# shellcheck shell=bash
# Helpers sourced by test/integration/*.sh and test/e2e/*.sh.
# Everything a test creates lives under $T (a short /tmp path: vhost-user sockets must fit in
# sun_path) or in network namespaces named kb<pid>-*; all of it is removed at exit, and every
# helper process started here is stopped by PID.
set -euo pipefail

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-build}
BIN=${BIN:-$ROOT/$BUILD/bin}
TOOLS=${TOOLS:-$ROOT/$BUILD/tools}
T=$(mktemp -d /tmp/kb.XXXXXX)
KB_NS_PREFIX=kb$$
KB_FAILS=0
declare -a KB_DEFERRED=()

# Run "$@" at exit, last registered first.
kb_defer() { KB_DEFERRED+=("$*"); }
kb_cleanup() {
	local rc=$?
	set +e
	for ((i = ${#KB_DEFERRED[@]} - 1; i >= 0; i--)); do
		eval "${KB_DEFERRED[$i]}" >/dev/null 2>&1
	done
	# kb_netns usually runs in a $(...) subshell, where its kb_defer is lost: sweep by prefix.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$KB_NS_PREFIX-"); do
		ip netns delete "$ns" >/dev/null 2>&1
	done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -f "$T/agent.log" ]; then
		echo "---- agent log (last 30 lines) ----"
		tail -n 30 "$T/agent.log"
	fi
	rm -rf "$T"
	exit $rc
}
trap kb_cleanup EXIT

kb_log() { echo "# $*"; }
kb_pass() { echo "ok - $*"; }
kb_fail() {
	echo "not ok - $*"
	KB_FAILS=$((KB_FAILS + 1))
}
kb_skip() {
	echo "SKIP: $*"
	exit 77
}
# End of a suite: non-zero exit when any check failed.
kb_done() {
	if [ "$KB_FAILS" -ne 0 ]; then
		echo "$KB_FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
}

kb_require_root() { [ "$(id -u)" -eq 0 ] || kb_skip "needs root (network namespaces)"; }

kb_assert_eq() { # actual expected message
	if [ "$1" == "$2" ]; then kb_pass "$3"; else kb_fail "$3: got '$1', expected '$2'"; fi
}
kb_assert_ne() {
	if [ "$1" != "$2" ]; then kb_pass "$3"; else kb_fail "$3: got '$1', expected something else"; fi
}
# kb_assert_jq FILE EXPR EXPECTED MESSAGE: jq -r EXPR on FILE equals EXPECTED.
kb_assert_jq() {
	local got
	got=$(jq -r "$2" "$1" 2>&1) || got="<jq failed: $got>"
	kb_assert_eq "$got" "$3" "$4"
}
# kb_assert_rc EXPECTED MESSAGE CMD...: exit status of CMD.
kb_assert_rc() {
	local want=$1 msg=$2 rc=0
	shift 2
	"$@" || rc=$?
	kb_assert_eq "$rc" "$want" "$msg (exit status)"
}

# kb_netns NAME: create namespace kb<pid>-NAME (removed at exit, also when created in a
# subshell as in NS=$(kb_netns x)); prints its name.
kb_netns() {
	local ns=$KB_NS_PREFIX-$1
	ip netns add "$ns"
	kb_defer "ip netns delete $ns"
	ip -n "$ns" link set lo up
	echo "$ns"
}

# Paths of the agent under test.
KB_SOCK=$T/run/agent.sock
KB_STATE=$T/state
KB_RUN=$T/run
# kubelet's paths as the agent's device-plugin module sees them: under $T, so no test ever
# touches the host's /var/lib/kubelet. Nothing is there unless a suite starts
# test/tools/kubelet-standin; the module then just waits. KB_DP_EXTRA: more devicePlugin keys
# (indented two spaces), e.g. "  gracePeriodMs: 500".
KB_KUBELET=$T/kubelet
KB_DP_EXTRA=${KB_DP_EXTRA:-}

# kb_agent_config FILE [POOLS_YAML]: a test configuration; pools default to one virtio-user
# pool "vu" of 8 ports. Extra top-level YAML can be appended by the caller.
kb_agent_config() {
	local f=$1 pools=${2:-}
	if [ -z "$pools" ]; then
		pools='  - name: vu
    type: virtio-user
    count: 8'
	fi
	cat >"$f" <<-YAML
	apiSocket: $KB_SOCK
	stateDir: $KB_STATE
	runDir: $KB_RUN
	resourcePrefix: kbnet.io
	logLevel: debug
	devicePlugin:
	  pluginDir: $KB_KUBELET/device-plugins
	  podResourcesSocket: $KB_KUBELET/pod-resources/kubelet.sock
	  deviceInfoDir: $T/devinfo
	$KB_DP_EXTRA
	pools:
	$pools
	YAML
}

# kb_agent_start CONFIG [NETNS]: start kbnet-agent (inside NETNS if given), wait for its socket.
KB_AGENT_PID=
kb_agent_start() {
	local cfg=$1 ns=${2:-} i
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$BIN/kbnet-agent" --config "$cfg" >>"$T/agent.log" 2>&1 &
	else
		"$BIN/kbnet-agent" --config "$cfg" >>"$T/agent.log" 2>&1 &
	fi
	KB_AGENT_PID=$!
	kb_defer "kb_agent_stop"
	for i in $(seq 1 200); do
		if [ -S "$KB_SOCK" ] && "$BIN/agentctl" -s "$KB_SOCK" status >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$KB_AGENT_PID" 2>/dev/null; then
			echo "kbnet-agent exited during start:"
			tail -n 20 "$T/agent.log"
			return 1
		fi
		sleep 0.05
	done
	echo "kbnet-agent did not come up"
	return 1
}

# kb_agent_stop [SIGNAL]: stop the agent started by kb_agent_start and wait for it.
kb_agent_stop() {
	local sig=${1:-TERM}
	[ -n "$KB_AGENT_PID" ] || return 0
	kill -s "$sig" "$KB_AGENT_PID" 2>/dev/null || true
	wait "$KB_AGENT_PID" 2>/dev/null || true
	KB_AGENT_PID=
}

kb_ctl() { "$BIN/agentctl" -s "$KB_SOCK" "$@"; }

# CNI plumbing: the plugin is installed as "kbnet" (the netconf type) in $T/cni-bin.
KB_CNI_BIN=$T/cni-bin
KB_CNI_PATH=$KB_CNI_BIN:/usr/lib/cni
# The plugin's own configuration (cni-plugin/plugincfg.h), what /etc/kbnet/cni.json is on a
# node: the roots a netconf may point into. Tests keep everything under $T.
KB_CNI_CONF=$T/cni-plugin.json
export KBNET_CNI_CONFIG=$KB_CNI_CONF
# kb_cni_plugin_config [SOCKET...]: allow $KB_SOCK and SOCKETs; cache $T/cache, device-info
# files in $T/devinfo, log files under $T/logroot.
kb_cni_plugin_config() {
	jq -n --arg s "$KB_SOCK" --arg t "$T" \
		'{agentSockets: ([$s] + $ARGS.positional), cacheDir: ($t + "/cache"),
		  deviceInfoDir: ($t + "/devinfo"), logDir: ($t + "/logroot")}' --args "$@" >"$KB_CNI_CONF"
	chmod 0644 "$KB_CNI_CONF"
}
kb_cni_setup() {
	mkdir -p "$KB_CNI_BIN"
	ln -sf "$BIN/kbnet-cni" "$KB_CNI_BIN/kbnet"
	kb_cni_plugin_config
}

# kb_cni CMD CONTAINERID NETNS IFNAME NETCONF [CNI_ARGS]: run the plugin like a runtime does.
# stdout goes to $T/cni.out, stderr to $T/cni.err; returns the plugin's exit status.
kb_cni() {
	local cmd=$1 cid=$2 netns=$3 ifname=$4 conf=$5 args=${6:-}
	env -i PATH="$PATH" KBNET_CNI_CONFIG="$KB_CNI_CONF" ${KBNET_CRASH_AT:+KBNET_CRASH_AT="$KBNET_CRASH_AT"} CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="$netns" \
		CNI_IFNAME="$ifname" CNI_PATH="$KB_CNI_PATH" CNI_ARGS="$args" \
		"$KB_CNI_BIN/kbnet" <"$conf" >"$T/cni.out" 2>"$T/cni.err"
}
