#!/usr/bin/env bash
# Garbage collection of allocations whose pod is gone, and Events on pods whose attach failed,
# with kbnet-agent configured from a kubeconfig (development mode) against the kube-apiserver
# stand-in: released after the grace period and not before, matched on the pod UID (a pod
# recreated under the same name is another pod) or namespace/name, never while the pod set is
# stale, persisted across a restart; Events are core/v1 Events on the pod, deduplicated, and
# retried after a 403.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/test/tools/apiserver-standin/standin.sh"
kb_require_root
for c in openssl curl jq; do command -v $c >/dev/null || kb_skip "$c not installed (hack/deps.txt)"; done

GRACE=3
standin_certs "$T/pki"
# The stand-in enforces the chart's ClusterRole: the agent must manage with exactly that.
[ -x "$TOOLS/helm-render" ] || kb_skip "helm-render not built (make tests)"
"$TOOLS/helm-render" template "$ROOT/charts/kbnet" -o json |
	jq '.[] | select(.kind == "ClusterRole")' >"$T/clusterrole.json"
standin_start --token dev-token --rbac "$T/clusterrole.json"
mkdir -p "$T/kube"
echo dev-token >"$T/kube/token"
# A kubeconfig as kubectl writes it: CA inline, token in a file named relative to it.
cat >"$T/kube/config" <<-YAML
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: standin
  cluster:
    server: https://127.0.0.1:$STANDIN_PORT/
    certificate-authority-data: $(base64 -w0 "$T/pki/ca.crt")
- name: other
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: wrong
  context: {cluster: other, user: dev}
- name: dev
  context: {cluster: standin, user: dev, namespace: default}
users:
- name: dev
  user:
    tokenFile: token
YAML

ua=$(spod default pa node-a)
ub=$(spod default pb node-a)
spod default pe node-a >/dev/null
spod default elsewhere node-b >/dev/null

kb_agent_config "$T/agent.yaml"
cat >>"$T/agent.yaml" <<-YAML
kubernetes:
  enabled: true
  nodeName: node-a
  kubeconfig: $T/kube/config
  gcGracePeriodSeconds: $GRACE
  gcIntervalSeconds: 1
  requestTimeoutSeconds: 2
  backoffMaxSeconds: 1
YAML
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT NODE_NAME
kb_agent_start "$T/agent.yaml"
kwait '.watch.synced and .watch.pods == 3' || kb_fail "initial sync"
kb_assert_eq "$(kstat .server)" "https://127.0.0.1:$STANDIN_PORT" "server from the kubeconfig's context"
kb_assert_eq "$(kstat .token)" "file $T/kube/token" "tokenFile relative to the kubeconfig"

attach() { # cid pod-json [deviceID]
	agent_call attach "{\"containerID\":\"$1\",\"ifname\":\"net1\",\"network\":\"dpdk\",\"deviceType\":\"virtio-user\"${2:+,\"pod\":$2}${3:+,\"deviceID\":\"$3\"}}" >"$T/call.out"
}
have() { kb_ctl -o json allocations | jq -r --arg c "$1" '[.[] | select(.containerID == $c)] | length'; }

attach ca "{\"namespace\":\"default\",\"name\":\"pa\",\"uid\":\"$ua\"}" || kb_fail "attach ca"
attach cb "{\"namespace\":\"default\",\"name\":\"pb\",\"uid\":\"$ub\"}" || kb_fail "attach cb"
# cc with agent IPAM: the pod GC must release its address with its device.
agent_call attach '{"containerID":"cc","ifname":"net1","network":"dpdk","deviceType":"virtio-user","pod":{"namespace":"default","name":"pc","uid":"11111111-2222-3333-4444-555555555555"},"ipam":{"type":"kbnet","subnet":"10.66.0.0/24"}}' >"$T/call.out" || kb_fail "attach cc"
kb_assert_eq "$(kb_ctl -o json status | jq .ipam.addresses)" 1 "cc holds an agent IPAM address"
attach cd '' || kb_fail "attach cd (no pod)"
attach ce '{"namespace":"default","name":"pe"}' || kb_fail "attach ce (no uid)"
attach cx '{"namespace":"default","name":"elsewhere"}' || kb_fail "attach cx (pod of another node)"
t0=$SECONDS

# Not before the grace period...
kwait '.gcPending == 2' 5 || kb_fail "pods of cc and cx seen missing"
kb_assert_eq "$(have cc)$(have cx)" 11 "nothing released before the grace period"
# ...and after it.
kwait '.gcReleased == 2' $((GRACE + 5)) || kb_fail "released after the grace period"
el=$((SECONDS - t0))
kb_assert_eq "$((el >= GRACE - 1))" 1 "released after ${el}s (grace ${GRACE}s)"
kb_assert_eq "$(have cc)$(have cx)" 00 "allocations of a never-seen pod and of another node's pod released"
kb_assert_eq "$(kb_ctl -o json status | jq .ipam.addresses)" 0 "cc's address released with its device"
kb_assert_eq "$(have ca)$(have cb)$(have cd)$(have ce)" 1111 "live pods (by UID, by name) and pod-less allocations kept"

# A pod deleted, a pod recreated under the same name (new UID): both are gone pods.
sctl DELETE /pods/default/pb >/dev/null
sctl DELETE /pods/default/pa >/dev/null
spod default pa node-a >/dev/null
kwait '.gcReleased == 4' $((GRACE + 6)) || kb_fail "deleted and recreated pods collected"
kb_assert_eq "$(have ca)$(have cb)" 00 "released: deleted pod, recreated pod (UID differs)"
kb_assert_eq "$(have ce)" 1 "namespace/name match kept"

# Never while the pod set is stale: a pod created during an outage is unknown to the agent.
sctl POST /config '{"forbidden": true}' >/dev/null
sctl POST /expire-watches >/dev/null
kwait '.watch.synced == false' || kb_fail "outage"
uf=$(spod default pf node-a)
attach cf "{\"namespace\":\"default\",\"name\":\"pf\",\"uid\":\"$uf\"}" || kb_fail "attach cf"
sleep $((GRACE + 2))
kb_assert_eq "$(have cf)" 1 "no collection while out of sync"
kb_assert_eq "$(kstat .gcPending)" 0 "nothing pending while out of sync"
sctl POST /config '{"forbidden": false}' >/dev/null
kwait '.watch.synced' 10 || kb_fail "resync"
sleep 2
kb_assert_eq "$(have cf)" 1 "pod created during the outage found after resync"

# The releases are durable: a restarted agent does not bring them back.
kb_agent_stop
kb_agent_start "$T/agent.yaml"
kb_assert_eq "$(kb_ctl -o json allocations | jq -r '[.[].containerID] | sort | join(",")')" \
	"cd,ce,cf" "releases survived a restart"
kwait '.watch.synced' || kb_fail "sync after restart"

# ---- Events ----
held=$(kb_ctl -o json allocations | jq -r '.[] | select(.containerID == "cf") | .deviceID')
attach cg "{\"namespace\":\"default\",\"name\":\"pf\",\"uid\":\"$uf\"}" "$held" && kb_fail "attach of a held device succeeded"
attach cg "{\"namespace\":\"default\",\"name\":\"pf\",\"uid\":\"$uf\"}" "$held" || true # CNI retries ADD
kwait '.events.posted == 1' || kb_fail "event posted"
sctl GET /events >"$T/events.json"
kb_assert_jq "$T/events.json" length 1 "one event for two identical failures"
kb_assert_jq "$T/events.json" '.[0].involvedObject | "\(.kind)/\(.namespace)/\(.name)/\(.uid)"' \
	"Pod/default/pf/$uf" "event on the pod (kind, namespace, name, uid)"
kb_assert_jq "$T/events.json" '.[0] | "\(.type) \(.reason) \(.source.component) \(.source.host)"' \
	"Warning FailedAttach kbnet-agent node-a" "type, reason, source"
kb_assert_jq "$T/events.json" '.[0].message | test("held by")' true "message says why"
kb_assert_jq "$T/events.json" '.[0].metadata.name | startswith("pf.")' true "name like the kubelet's"
kb_assert_eq "$(sreq '[.[] | select(.method == "POST")][0].path')" /api/v1/namespaces/default/events \
	"POST to the pod's namespace"
kb_assert_eq "$(kstat .events.deduplicated)" 1 "duplicate suppressed"

# Refused for a while (403): the event waits and goes out when allowed.
sctl POST /config '{"forbidden": true}' >/dev/null
agent_call attach '{"containerID":"ch","ifname":"net1","network":"dpdk","deviceType":"virtio-user","pool":"nope","pod":{"namespace":"default","name":"pe"}}' >/dev/null &&
	kb_fail "attach to an unknown pool succeeded"
kwait '.events.failedAttempts >= 1' || kb_fail "event refused"
sctl POST /config '{"forbidden": false}' >/dev/null
kwait '.events.posted == 2' 10 || kb_fail "event posted after 403"
kb_assert_eq "$(sctl GET /events | jq -r '.[1].involvedObject.name')" pe "second event on pe"

# Every rule of the ClusterRole was needed, and nothing was refused by it.
kb_assert_eq "$(sctl GET /state | jq -r '.rulesUsed | join(" ")')" \
	"0:pods:list 0:pods:watch 1:events:create" "every ClusterRole rule used"
kb_assert_eq "$(sreq '[.[] | select(.forbiddenBy == "rbac")] | length')" 0 \
	"no request outside the ClusterRole"
kb_assert_eq "$(sreq '[.[] | select(.forbiddenBy == "test")] | length > 0')" true \
	"(the outage above was the test's)"

# No pod, no event.
agent_call attach '{"containerID":"ci","ifname":"net1","network":"dpdk","deviceType":"virtio-user","pool":"nope"}' >/dev/null || true
sleep 1
kb_assert_eq "$(kstat .events.posted)" 2 "no event without a pod"
# Shut down cleanly (sanitizer builds report leaks and errors at exit).
kb_agent_stop
if grep -E 'Sanitizer|runtime error' "$T/agent.log" >/dev/null; then
	kb_fail "sanitizer report in the agent log"
	grep -E -A20 'Sanitizer|runtime error' "$T/agent.log" | head -40
fi
kb_done
