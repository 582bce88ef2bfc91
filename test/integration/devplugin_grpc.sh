#!/usr/bin/env bash
# The device-plugin gRPC server under abuse, from python3-grpcio (dpclient) and raw sockets:
# unknown methods, bad protobuf and malformed HTTP/2 frames get a gRPC status or a GOAWAY,
# never a crash; 100 concurrent ListAndWatch streams and 1,000 Allocate calls leave no
# connection, descriptor or memory behind (with `make test SANITIZE=1` the agent is the
# ASan+UBSan build and must exit cleanly with no leak report).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/tools/kubelet-standin/standin.sh"
kb_require_standin

KB_DP_EXTRA="  maxStreams: 128
  maxConnections: 16"
kb_agent_config "$T/agent.yaml" '  - name: vu
    type: virtio-user
    count: 8'
# No kubelet needed to talk to the plugin socket: create the directory it would.
mkdir -p "$KB_DP_DIR"
kb_agent_start "$T/agent.yaml"
SOCK=$KB_DP_DIR/kbnet-vu.sock
kb_wait_for 10 test -S "$SOCK" || kb_fail "no plugin socket"
pid=$KB_AGENT_PID
fds() { ls "/proc/$pid/fd" | wc -l; }
fd0=$(fds)

kb_dpclient errors "$SOCK" >"$T/errors.json"
kb_assert_jq "$T/errors.json" .unknownMethod.name UNIMPLEMENTED "unknown method: UNIMPLEMENTED"
kb_assert_jq "$T/errors.json" .unknownService.name UNIMPLEMENTED "unknown service: UNIMPLEMENTED"
kb_assert_jq "$T/errors.json" .badProtobuf.name INTERNAL "truncated protobuf: INTERNAL"
kb_assert_jq "$T/errors.json" .badWireType.name INTERNAL "bad wire type: INTERNAL"
kb_assert_jq "$T/errors.json" .emptyAllocate.name INVALID_ARGUMENT "empty Allocate: INVALID_ARGUMENT"
kb_assert_jq "$T/errors.json" .unknownDevice.name INVALID_ARGUMENT "unknown device: INVALID_ARGUMENT"
kb_assert_jq "$T/errors.json" '.unknownDevice.message | test("no-such-device")' true "the message names it"
kb_assert_jq "$T/errors.json" .options.name OK "still serving"

kb_dpclient raw "$SOCK" >"$T/raw.json"
kb_assert_jq "$T/raw.json" .badPreface.goaway 1 "not HTTP/2: GOAWAY PROTOCOL_ERROR"
kb_assert_jq "$T/raw.json" .dataOnStream0.goaway 1 "DATA on stream 0: GOAWAY PROTOCOL_ERROR"
kb_assert_jq "$T/raw.json" .badHpack.goaway 9 "broken HPACK: GOAWAY COMPRESSION_ERROR"
kb_assert_jq "$T/raw.json" .shortPing.goaway 6 "short PING: GOAWAY FRAME_SIZE_ERROR"
kb_assert_jq "$T/raw.json" '.truncated.goaway == null' true "truncated frame: no reply, no crash"
kb_assert_eq "$(kill -0 "$pid" && echo alive)" alive "agent alive after malformed input"

kb_dpclient stress "$SOCK" --streams 100 --allocs 1000 --channels 4 >"$T/stress.json"
kb_assert_jq "$T/stress.json" .streams 100 "100 concurrent ListAndWatch streams got the device list"
kb_assert_jq "$T/stress.json" .allocs 1000 "1000 Allocate calls answered"
kb_assert_jq "$T/stress.json" '.errors | length' 0 "no errors"
kb_log "1000 Allocate calls from 8 threads: $(jq -r .allocSeconds "$T/stress.json") s"

# Everything the clients opened is closed again.
settle() { [ "$(fds)" -le "$fd0" ] && [ "$(kb_ctl -o json status | jq -r .devicePlugin.listAndWatchStreams)" == 0 ]; }
if kb_wait_for 10 settle; then kb_pass "no descriptor or stream left behind"; else
	kb_fail "fds $(fds) (was $fd0), streams $(kb_ctl -o json status | jq -r .devicePlugin.listAndWatchStreams)"; fi
kb_assert_eq "$(kb_ctl -o json pools | jq -r '.[0].devicePluginStatus.calls.allocate')" 1002 \
	"agentctl counts the Allocate calls (1000 + the 2 well-formed ones of the error battery)"

# A clean exit; under SANITIZE=1 LeakSanitizer runs at exit and reports into the log.
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
KB_AGENT_PID=
kb_assert_eq "$rc" 0 "agent exit status"
kb_assert_eq "$(grep -c -E 'LeakSanitizer|AddressSanitizer|runtime error' "$T/agent.log" || true)" 0 \
	"no sanitizer report${SANITIZE:+ (SANITIZE=$SANITIZE)}"
kb_done
