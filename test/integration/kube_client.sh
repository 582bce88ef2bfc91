#!/usr/bin/env bash
# kbnet-agent's Kubernetes API client against the kube-apiserver stand-in over TLS with the
# in-cluster configuration (KUBERNETES_SERVICE_HOST/PORT, service-account token and CA files):
# paginated list with the node's field selector, watch from the list's resourceVersion with
# bookmarks, 410 Gone -> relist, token rotation and 401, 403 and 5xx retried with backoff, a
# slow API server that never delays the agent's own API.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/tools/apiserver-standin/standin.sh"
kb_require_root
for c in openssl curl jq; do command -v $c >/dev/null || kb_skip "$c not installed (hack/deps.txt)"; done

standin_certs "$T/pki"
mkdir -p "$T/sa"
cp "$T/pki/ca.crt" "$T/sa/ca.crt"
echo tok-1 >"$T/sa/token"
standin_start --token tok-1
for i in 1 2 3 4 5; do spod default "web-$i" node-a >/dev/null; done
spod default other node-b >/dev/null

kb_agent_config "$T/agent.yaml"
cat >>"$T/agent.yaml" <<-YAML
kubernetes:
  enabled: true
  tokenFile: $T/sa/token
  caFile: $T/sa/ca.crt
  gcGracePeriodSeconds: 0
  requestTimeoutSeconds: 2
  watchTimeoutSeconds: 4
  backoffMaxSeconds: 1
  listPageSize: 2
YAML
export KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$STANDIN_PORT NODE_NAME=node-a
kb_agent_start "$T/agent.yaml"

# ---- list, paginated, then watch ----
kwait '.watch.synced and .watch.pods == 5' || kb_fail "initial sync"
kb_assert_eq "$(kstat .server)" "https://127.0.0.1:$STANDIN_PORT" "in-cluster server from the environment"
kb_assert_eq "$(kstat .node)" node-a "node name from NODE_NAME"
kb_assert_eq "$(kstat .watch.pods)" 5 "only this node's pods"
lists=$(sreq '[.[] | select(.path == "/api/v1/pods" and .query.watch == null)]')
kb_assert_eq "$(jq length <<<"$lists")" 3 "5 pods in pages of 2: 3 list requests"
kb_assert_eq "$(jq -r '[.[].query.fieldSelector] | unique | join(",")' <<<"$lists")" \
	"spec.nodeName=node-a" "field selector on spec.nodeName"
kb_assert_eq "$(jq -r '[.[].query.limit] | unique | join(",")' <<<"$lists")" 2 "limit sent"
kb_assert_eq "$(jq -r '[.[1:][] | .query.continue | length > 0] | all' <<<"$lists")" true \
	"later pages carry the continue token"
kb_assert_eq "$(jq -r '[.[].token] | unique | join(",")' <<<"$lists")" tok-1 "bearer token from the file"
watch=$(sreq '[.[] | select(.query.watch == "1")][0]')
kb_assert_eq "$(jq -r .query.allowWatchBookmarks <<<"$watch")" true "watch asks for bookmarks"
kb_assert_eq "$(jq -r .query.resourceVersion <<<"$watch")" "$(kstat .watch.resourceVersion)" \
	"watch starts at the list's resourceVersion"
kb_assert_eq "$(jq -r .query.timeoutSeconds <<<"$watch")" 4 "watch timeoutSeconds"

spod default web-6 node-a >/dev/null
sctl DELETE /pods/default/web-1 >/dev/null
spod default other-2 node-b >/dev/null
kwait '.watch.pods == 5 and .watch.watchEvents >= 2' || kb_fail "watch events applied"
kb_pass "ADDED and DELETED applied from the watch"

# ---- bookmarks carry the resourceVersion forward ----
sctl POST /config '{"bookmarkSeconds": 1}' >/dev/null
spod default other-3 node-b >/dev/null # moves the resourceVersion, not seen by node-a's watch
kwait '.watch.bookmarks >= 1' || kb_fail "bookmark received"
srv_rv=$(sctl GET /state | jq -r .resourceVersion)
kwait ".watch.resourceVersion == \"$srv_rv\"" || kb_fail "bookmark resourceVersion adopted"
# The server ends the watch after timeoutSeconds; the next one resumes from the bookmark.
before=$(sreq '[.[] | select(.query.watch == "1")] | length')
for _ in $(seq 60); do
	[ "$(sreq '[.[] | select(.query.watch == "1")] | length')" -gt "$before" ] && break
	sleep 0.1
done
kb_assert_eq "$(sreq '[.[] | select(.query.watch == "1")][-1].query.resourceVersion')" "$srv_rv" \
	"next watch resumes from the bookmark"
kb_assert_eq "$(sreq '[.[] | select(.query.watch == null)] | length')" 3 "no relist when a watch ends"
sctl POST /config '{"bookmarkSeconds": 0}' >/dev/null

# ---- 410 Gone in the stream -> relist ----
sctl POST /expire-watches >/dev/null
kwait '.watch.relistsGone == 1 and .watch.synced' || kb_fail "relist after 410"
kb_assert_eq "$(sreq '[.[] | select(.query.watch == null)] | length')" 6 "410 made it list again (3 pages)"
kb_assert_eq "$(kstat .watch.pods)" 5 "pod set rebuilt by the relist"

# ---- token rotation: the kubelet swaps the file; the server stops taking the old token ----
sctl POST /tokens '{"valid": ["tok-2"]}' >/dev/null
printf 'tok-2\n' >"$T/sa/token.new" && mv "$T/sa/token.new" "$T/sa/token"
sctl POST /expire-watches >/dev/null
kwait '.watch.relistsGone == 2 and .watch.synced' || kb_fail "resync with the rotated token"
kb_assert_eq "$(sreq '.[-1].token')" tok-2 "rotated token read from the file"
kb_assert_eq "$(sreq '[.[] | select(.token == "tok-1" and .code == 401)] | length')" 0 \
	"rotation noticed before any 401"

# 401: the server moved on before the file did; the agent backs off, reads the file again.
sctl POST /tokens '{"valid": ["tok-3"]}' >/dev/null
sctl POST /expire-watches >/dev/null
kwait '.watch.synced == false and .watch.lastStatus == 401' || kb_fail "401 seen"
sleep 1
printf 'tok-3\n' >"$T/sa/token.new" && mv "$T/sa/token.new" "$T/sa/token"
kwait '.watch.synced' 10 || kb_fail "recovered after 401"
kb_assert_eq "$(sreq '[.[] | select(.code == 401)] | length > 0')" true "401s were answered"
kb_assert_eq "$(sreq '.[-1].token')" tok-3 "new token after 401"

# ---- 403 Forbidden: retried with backoff, not in a tight loop ----
sctl POST /config '{"forbidden": true}' >/dev/null
sctl POST /expire-watches >/dev/null
kwait '.watch.synced == false and .watch.lastStatus == 403' || kb_fail "403 seen"
n0=$(sreq 'length')
sleep 3
n1=$(sreq 'length')
kb_assert_eq "$(( n1 - n0 >= 2 && n1 - n0 <= 12 ))" 1 "403 retried with backoff ($((n1 - n0)) requests in 3s)"
kb_assert_eq "$(kstat '.watch.lastError | test("Forbidden")')" true "403 reason reported"
kb_assert_eq "$(kb_ctl -o json status | jq -r .healthy)" true "API outage does not make the agent unhealthy"
sctl POST /config '{"forbidden": false}' >/dev/null
kwait '.watch.synced' 10 || kb_fail "recovered after 403"

# ---- 5xx ----
sctl POST /config '{"listFail": {"code": 500, "count": 2}}' >/dev/null
sctl POST /expire-watches >/dev/null
kwait '.watch.synced and .watch.relistsGone == 5' 15 || kb_fail "recovered after 500s"
kb_assert_eq "$(sreq '[.[] | select(.code == 500)] | length')" 2 "500s retried"

# ---- a slow API server never delays the agent's API ----
# Every list now takes 4 s and the agent gives up after 2 s, then retries: an agent that
# waited on the API server would be stuck most of the time. Read-only status calls (no state
# sync to disk) measure the loop itself; attaches must work meanwhile.
sctl POST /config '{"listDelay": 4}' >/dev/null
sctl POST /expire-watches >/dev/null
kwait '.watch.state == "listing"' || kb_fail "list in flight"
for i in 1 2 3; do
	agent_call attach "{\"containerID\":\"slow$i\",\"ifname\":\"net1\",\"network\":\"n\",\"deviceType\":\"virtio-user\"}" >/dev/null ||
		kb_fail "attach while the API server hangs"
done
: >"$T/lat"
end=$((SECONDS + 3))
while [ $SECONDS -lt $end ]; do
	t0=$(date +%s%N)
	kb_ctl status >/dev/null || kb_fail "status while the API server hangs"
	echo $((($(date +%s%N) - t0) / 1000000)) >>"$T/lat"
done
n=$(wc -l <"$T/lat")
median=$(sort -n "$T/lat" | sed -n "$(((n + 1) / 2))p")
kb_assert_eq "$((n >= 10 && median < 200))" 1 \
	"agent API answers while lists hang ($n calls in 3 s, median ${median} ms, worst $(sort -n "$T/lat" | tail -n 1) ms)"
kwait '.watch.lastError | test("[Tt]imeout|timed out")' 10 || kb_fail "list timed out"
sctl POST /config '{"listDelay": 0}' >/dev/null
kwait '.watch.synced' 15 || kb_fail "recovered after the slow list"

# ---- metrics of the module ----
kb_assert_eq "$(kstat ".watch.errors > 0")" true "errors counted"
kb_assert_eq "$(kb_ctl -o json status | jq -r .healthy)" true "agent healthy throughout"
# Shut down cleanly (sanitizer builds report leaks and errors at exit).
kb_agent_stop
if grep -E 'Sanitizer|runtime error' "$T/agent.log" >/dev/null; then
	kb_fail "sanitizer report in the agent log"
	grep -E -A20 'Sanitizer|runtime error' "$T/agent.log" | head -40
fi
kb_done
