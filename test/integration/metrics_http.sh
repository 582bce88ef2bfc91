#!/usr/bin/env bash
# /metrics, /healthz and /readyz of a real kbnet-agent: the exposition parses with the official
# Prometheus client's parser, and pool, allocation and CNI request numbers move with attaches,
# failures and detaches done over the agent's API. The listener binds 127.0.0.1 on a port the
# kernel picks (port 0), read back from `agentctl status`.
source "$(dirname "$0")/../lib.sh"
kb_require_root
command -v curl >/dev/null || kb_skip "curl not installed (hack/deps.txt)"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
	kb_skip "python3-prometheus-client not installed (hack/deps.txt)"

CALL="/usr/bin/python3 $ROOT/test/tools/apiserver-standin/agent_call.py $KB_SOCK"

# scrape OUT: fetch /metrics, parse it, write {"name{l=v,...}": value} to OUT.
scrape() {
	curl -sS --max-time 5 -D "$T/headers" "http://$ADDR/metrics" >"$T/metrics.txt" || return 1
	/usr/bin/python3 - "$T/metrics.txt" >"$1" <<-'PY'
	import json, sys
	from prometheus_client.parser import text_string_to_metric_families
	out = {}
	for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
	    for s in fam.samples:
	        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
	        out["%s{%s}" % (s.name, labels)] = s.value
	print(json.dumps(out, sort_keys=True))
	PY
}
# m FILE KEY: a sample's value as an integer string, "absent" when missing.
m() { jq -r --arg k "$2" 'if has($k) then (.[$k] | floor | tostring) else "absent" end' "$1"; }

attach() { # cid [deviceID]
	local dev=${2:+,\"deviceID\":\"$2\"}
	$CALL attach "{\"containerID\":\"$1\",\"ifname\":\"net1\",\"network\":\"dpdk\",\"deviceType\":\"virtio-user\",\"pod\":{\"namespace\":\"default\",\"name\":\"p-$1\",\"uid\":\"0000-$1\"}$dev}" >"$T/call.out"
}

kb_agent_config "$T/agent.yaml"
cat >>"$T/agent.yaml" <<-YAML
metrics:
  enabled: true
  address: 127.0.0.1
  port: 0
YAML
kb_agent_start "$T/agent.yaml"
ADDR=$(kb_ctl -o json status | jq -r .metrics.address)
kb_assert_eq "${ADDR%:*}" "127.0.0.1" "listener on loopback"
kb_assert_ne "${ADDR##*:}" "0" "kernel-chosen port reported"

scrape "$T/m0.json" || kb_fail "first scrape"
kb_pass "exposition parses with prometheus_client"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/headers" &&
	kb_pass "content type is the text format 0.0.4" || kb_fail "content type: $(grep -i content-type "$T/headers")"
kb_assert_eq "$(m "$T/m0.json" 'kbnet_pool_capacity{pool=vu,type=virtio-user}')" 8 "capacity per pool"
kb_assert_eq "$(m "$T/m0.json" 'kbnet_pool_allocated_devices{pool=vu,type=virtio-user}')" 0 "nothing allocated"
kb_assert_eq "$(m "$T/m0.json" 'kbnet_pool_healthy_devices{pool=vu,type=virtio-user}')" 8 "devices by health: healthy"
kb_assert_eq "$(m "$T/m0.json" 'kbnet_pool_unhealthy_devices{pool=vu,type=virtio-user}')" 0 "devices by health: unhealthy"
kb_assert_eq "$(m "$T/m0.json" 'kbnet_cni_requests_total{command=ADD,result=ok}')" absent "no ADD yet"

for i in 1 2 3; do attach "c$i" || kb_fail "attach c$i: $(cat "$T/call.out")"; done
scrape "$T/m1.json"
kb_assert_eq "$(m "$T/m1.json" 'kbnet_pool_allocated_devices{pool=vu,type=virtio-user}')" 3 "allocated follows attaches"
kb_assert_eq "$(m "$T/m1.json" 'kbnet_pool_free_devices{pool=vu,type=virtio-user}')" 5 "free follows attaches"
kb_assert_eq "$(m "$T/m1.json" 'kbnet_allocations{}')" 3 "live allocations"
kb_assert_eq "$(m "$T/m1.json" 'kbnet_cni_requests_total{command=ADD,result=ok}')" 3 "ADD ok counted"
kb_assert_eq "$(m "$T/m1.json" 'kbnet_cni_request_duration_seconds_count{command=ADD}')" 3 "ADD latency observed"
kb_assert_eq "$(m "$T/m1.json" 'kbnet_cni_request_duration_seconds_bucket{command=ADD,le=+Inf}')" 3 "+Inf bucket = count"
# The socket round trip of a virtio-user attach stays far under a second.
kb_assert_eq "$(m "$T/m1.json" 'kbnet_cni_request_duration_seconds_bucket{command=ADD,le=1}')" 3 "ADDs under 1s"

# Failures are counted by errno: a held device (EBUSY), then an exhausted pool (ENOSPC).
held=$(jq -r .result.allocation.deviceID "$T/call.out")
attach c9 "$held" && kb_fail "attach of a held device succeeded"
for i in 4 5 6 7 8; do attach "c$i" || kb_fail "attach c$i"; done
attach c10 && kb_fail "attach beyond capacity succeeded"
$CALL detach '{"containerID":"c1","ifname":"net1"}' >/dev/null || kb_fail "detach c1"
kb_ctl status >/dev/null
scrape "$T/m2.json"
kb_assert_eq "$(m "$T/m2.json" 'kbnet_cni_requests_total{command=ADD,result=EBUSY}')" 1 "ADD EBUSY counted"
kb_assert_eq "$(m "$T/m2.json" 'kbnet_cni_requests_total{command=ADD,result=ENOSPC}')" 1 "ADD ENOSPC counted"
kb_assert_eq "$(m "$T/m2.json" 'kbnet_cni_requests_total{command=ADD,result=ok}')" 8 "ADD ok counted"
kb_assert_eq "$(m "$T/m2.json" 'kbnet_cni_requests_total{command=DEL,result=ok}')" 1 "DEL counted"
kb_assert_eq "$(m "$T/m2.json" 'kbnet_pool_allocated_devices{pool=vu,type=virtio-user}')" 7 "allocated after detach"
kb_assert_eq "$(m "$T/m2.json" 'kbnet_api_requests_total{op=status,result=ok}')" \
	"$(($(m "$T/m1.json" 'kbnet_api_requests_total{op=status,result=ok}') + 1))" "agentctl status counted"
kb_assert_eq "$(m "$T/m2.json" 'kbnet_metrics_scrapes_total{}')" 3 "scrapes counted"
kb_assert_eq "$(m "$T/m2.json" 'kbnet_metrics_dropped_samples_total{}')" 0 "no sample dropped"

code() { curl -s -o "$T/body" -w '%{http_code}' --max-time 5 "$@"; }
poll() { # SECONDS CMD...: until CMD succeeds; 1 when the time runs out
	local i n=$(($1 * 20))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
kb_ctl_is_jq() { [ "$(kb_ctl -o json status | jq "$1")" == "$2" ]; }
kb_assert_eq "$(code "http://$ADDR/healthz")" 200 "/healthz 200"
kb_assert_jq "$T/body" .healthy true "/healthz says healthy"
# Any local process may ask: health only, no paths, URLs or configuration (the status object
# stays on the root-owned API socket).
kb_assert_jq "$T/body" '[keys[]] | join(",")' "healthy,unhealthy" "/healthz carries health only"
kb_assert_eq "$(grep -c -e "$T" -e /run/ -e http "$T/body")" 0 "/healthz names no path or URL"
kb_assert_eq "$(code "http://$ADDR/readyz")" 200 "/readyz 200"
kb_assert_jq "$T/body" .ready true "/readyz body"
kb_assert_eq "$(code -I "http://$ADDR/metrics")" 200 "HEAD /metrics"
kb_assert_eq "$(code -X POST "http://$ADDR/metrics")" 405 "POST refused"
kb_assert_eq "$(code "http://$ADDR/nope")" 404 "unknown path"
kb_assert_eq "$(code -H "X-Big: $(head -c 10000 /dev/zero | tr '\0' a)" "http://$ADDR/metrics")" \
	431 "oversized headers refused"
kb_assert_eq "$(code "http://$ADDR/metrics?x=1")" 200 "a query string is ignored"

# A request that never completes does not hold the agent: the API still answers at once.
exec 7<>/dev/tcp/127.0.0.1/"${ADDR##*:}"
printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' >&7
start=$(date +%s%N)
kb_ctl status >/dev/null || kb_fail "status while an HTTP request hangs"
kb_assert_eq "$(( ($(date +%s%N) - start) / 1000000 < 1000 ))" 1 "API not blocked by a stalled scrape"
exec 7>&-

# Connections are limited (default 16): idle ones held open by a local process do not take
# the agent's descriptors; the one over the limit is answered 503 at once, and the API still
# answers. Then the holders go away and scrapes work again.
/usr/bin/python3 - "${ADDR##*:}" 16 >"$T/hold.out" <<-'PY' &
	import socket, sys, time
	port, n = int(sys.argv[1]), int(sys.argv[2])
	held = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
	print("held", flush=True)
	time.sleep(4)
PY
hold_pid=$!
poll 10 grep -q held "$T/hold.out" || kb_fail "holding connections"
poll 10 kb_ctl_is_jq '.metrics.connections' 16 || kb_fail "16 connections open: $(kb_ctl -o json status | jq -c .metrics)"
kb_assert_eq "$(code "http://$ADDR/metrics")" 503 "the connection over the limit is refused (503)"
kb_assert_eq "$(kb_ctl -o json status | jq .metrics.refused)" 1 "refusals counted"
kb_ctl status >/dev/null && kb_pass "API answers while the metrics connections are full" ||
	kb_fail "API while the metrics connections are full"
wait "$hold_pid"
if poll 10 kb_ctl_is_jq '.metrics.connections' 0; then kb_pass "held connections released"; else
	kb_fail "connections still open: $(kb_ctl -o json status | jq -c .metrics)"; fi
kb_assert_eq "$(code "http://$ADDR/healthz")" 200 "served again after they close"

# The deadline (requestTimeoutMs, default 10 s) is for the whole request, not per byte: a
# client sending a byte a second is closed after the deadline (generous slack), not kept
# forever.
/usr/bin/python3 - "${ADDR##*:}" >"$T/dribble.out" <<-'PY'
	import socket, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	s.settimeout(1)
	s.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
	t0 = time.monotonic()
	while time.monotonic() - t0 < 30:
	    try:
	        s.sendall(b"a")
	        if s.recv(1) == b"":
	            break
	    except socket.timeout:
	        continue
	    except OSError:
	        break
	print("%.1f" % (time.monotonic() - t0))
PY
t=$(cat "$T/dribble.out")
if awk -v t="$t" 'BEGIN { exit !(t >= 9 && t < 20) }'; then kb_pass "a dribbling request is closed at the deadline (${t}s)"; else
	kb_fail "dribbling request closed after ${t}s (deadline 10 s)"; fi
kb_assert_eq "$(kb_ctl -o json status | jq '.metrics.timeouts >= 1')" true "deadline expiries counted"

# Readiness follows the API socket: without it kbnet-cni cannot reach the agent.
mv "$KB_SOCK" "$T/sock.moved"
kb_assert_eq "$(code "http://$ADDR/readyz")" 503 "/readyz 503 without the API socket"
kb_assert_jq "$T/body" .reason "API socket missing" "/readyz says why"
kb_assert_eq "$(code "http://$ADDR/livez")" 200 "liveness (/livez) unaffected"
kb_assert_jq "$T/body" .alive true "/livez body"
mv "$T/sock.moved" "$KB_SOCK"

# Reload: the listener goes away when disabled.
sed -i 's/  enabled: true/  enabled: false/' "$T/agent.yaml"
kill -HUP "$KB_AGENT_PID"
for _ in $(seq 50); do
	[ "$(kb_ctl -o json status | jq -r .metrics.enabled)" = false ] && break
	sleep 0.1
done
kb_assert_eq "$(code "http://$ADDR/metrics")" 000 "listener closed after reload"
kb_assert_eq "$(kb_ctl -o json status | jq -r .metrics.enabled)" false "status: metrics off"

# Shut down cleanly (sanitizer builds report leaks and errors at exit).
kb_agent_stop
if grep -E 'Sanitizer|runtime error' "$T/agent.log" >/dev/null; then
	kb_fail "sanitizer report in the agent log"
	grep -E -A20 'Sanitizer|runtime error' "$T/agent.log" | head -40
fi
kb_done
