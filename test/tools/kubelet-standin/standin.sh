# shellcheck shell=bash
# Helpers for suites that run kbnet's device plugins against kubelet-standin; source after
# test/lib.sh. The stand-in uses the kubelet paths that kb_agent_config gives the agent
# ($KB_KUBELET under $T), is started by PID and stopped by PID at exit.

KB_DP_DIR=$KB_KUBELET/device-plugins
KB_PODRES=$KB_KUBELET/pod-resources/kubelet.sock
KB_STANDIN_CTL=$T/standin.sock
KB_STANDIN_PID=
KB_STANDIN_DEFERRED=
DPCLIENT=${DPCLIENT:-$ROOT/test/tools/dpclient/dpclient.py}
export TOOLS

kb_require_standin() {
	[ -x "$TOOLS/kubelet-standin" ] || kb_skip "kubelet-standin not built (make tests)"
	[ -f "$TOOLS/py/deviceplugin_v1beta1_pb2.py" ] || kb_skip "dpclient messages not generated"
	command -v curl >/dev/null || kb_skip "curl is not installed (hack/deps.txt)"
	/usr/bin/python3 -c 'import grpc' 2>/dev/null || kb_skip "python3-grpcio is not installed"
}

# kb_standin_start: start kubelet (the stand-in); it empties the plugin directory first, as
# kubelet does, and is ready once kubelet.sock exists.
kb_standin_start() {
	local i
	"$TOOLS/kubelet-standin" -plugin-dir "$KB_DP_DIR" -pod-resources "$KB_PODRES" \
		-control "$KB_STANDIN_CTL" >>"$T/standin.log" 2>&1 &
	KB_STANDIN_PID=$!
	if [ -z "$KB_STANDIN_DEFERRED" ]; then
		kb_defer "kb_standin_stop KILL"
		KB_STANDIN_DEFERRED=1
	fi
	for i in $(seq 1 200); do
		[ -S "$KB_DP_DIR/kubelet.sock" ] && [ -S "$KB_STANDIN_CTL" ] && return 0
		kill -0 "$KB_STANDIN_PID" 2>/dev/null || { tail -n 20 "$T/standin.log"; return 1; }
		sleep 0.05
	done
	echo "kubelet-standin did not come up"
	return 1
}

# kb_standin_stop [SIGNAL]: KILL is a crash (sockets left behind), TERM a clean stop.
kb_standin_stop() {
	local sig=${1:-TERM}
	[ -n "$KB_STANDIN_PID" ] || return 0
	kill -s "$sig" "$KB_STANDIN_PID" 2>/dev/null || true
	wait "$KB_STANDIN_PID" 2>/dev/null || true
	KB_STANDIN_PID=
}

# kb_standin METHOD PATH [JSON]: one control call; the JSON reply on stdout.
kb_standin() {
	local method=$1 path=$2 body=${3:-}
	if [ -n "$body" ]; then
		curl -sS --max-time 20 --unix-socket "$KB_STANDIN_CTL" -X "$method" \
			-H 'Content-Type: application/json' -d "$body" "http://kubelet$path"
	else
		curl -sS --max-time 20 --unix-socket "$KB_STANDIN_CTL" -X "$method" "http://kubelet$path"
	fi
}

# kb_state JQ: jq -r over the stand-in's /state.
kb_state() { kb_standin GET /state | jq -r "$1"; }

# kb_wait_for SECONDS CMD...: poll until CMD succeeds; 1 when the time runs out.
kb_wait_for() {
	local secs=$1 i
	shift
	for i in $(seq 1 $((secs * 20))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# kb_state_is JQ EXPECTED: for kb_wait_for.
kb_state_is() { [ "$(kb_state "$1")" == "$2" ]; }

kb_dpclient() { /usr/bin/python3 "$DPCLIENT" "$@"; }

# kb_api OP JSON: one agent API call (root), the reply's JSON on stdout.
kb_api() { kb_dpclient agent "$KB_SOCK" "$@"; }
