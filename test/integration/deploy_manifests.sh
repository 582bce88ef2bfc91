#!/usr/bin/env bash
# deploy/ and charts/kbnet: the chart renders (test/tools/helm-render: Go text/template +
# sprig, as helm does) to exactly the objects in deploy/, every object passes the Kubernetes
# schema checks available offline (python3-kubernetes' models, generated from the OpenAPI
# spec), the ConfigMap's agent.yaml is accepted by `kbnet-agent --check-config`, and the
# objects name each other consistently (mounts/volumes/paths, probes/metrics port, RBAC,
# NetworkAttachmentDefinitions/pools/resource names, example pods/networks).
source "$(dirname "$0")/../lib.sh"
RENDER=$TOOLS/helm-render
SCHEMA="/usr/bin/python3 $ROOT/test/tools/helm-render/k8s_schema_check.py"
[ -x "$RENDER" ] || kb_skip "helm-render not built (make tests)"
/usr/bin/python3 -c 'import kubernetes' 2>/dev/null || kb_skip "python3-kubernetes not installed (hack/deps.txt)"
CHART=$ROOT/charts/kbnet
DEPLOY=$ROOT/deploy

# ---- deploy/ is the chart ----
if HELM_RENDER=$RENDER "$DEPLOY/generate.sh" --check >"$T/gen.out" 2>&1; then
	kb_pass "deploy/ is what deploy/generate.sh writes from the chart"
else
	kb_fail "deploy/ is stale: $(tail -n 20 "$T/gen.out")"
fi
"$RENDER" template "$CHART" --name kbnet --namespace kbnet --set createNamespace=true -o json >"$T/chart.json"
"$RENDER" objects "$DEPLOY"/[0-9]*.yaml >"$T/deploy.json"
canon() { jq -S 'sort_by(.kind, .metadata.namespace, .metadata.name)' "$1"; }
if diff <(canon "$T/chart.json") <(canon "$T/deploy.json") >"$T/objdiff"; then
	kb_pass "chart and deploy/ render to the same $(jq length "$T/chart.json") objects"
else
	kb_fail "chart and deploy/ objects differ: $(head -n 30 "$T/objdiff")"
fi
"$RENDER" objects "$DEPLOY"/examples/*.yaml >"$T/examples.json"

# ---- schemas ----
for f in chart deploy examples; do
	if $SCHEMA "$T/$f.json" >"$T/schema-$f.out"; then
		kb_pass "schema: $f ($(tail -n 1 "$T/schema-$f.out"))"
	else
		kb_fail "schema: $f: $(cat "$T/schema-$f.out")"
	fi
done

J=$T/deploy.json
obj() { jq -c --arg k "$1" --arg n "$2" '[.[] | select(.kind == $k and .metadata.name == $n)][0]' "$J"; }
kinds=$(jq -r '[.[] | "\(.kind)/\(.metadata.name)"] | sort | join(" ")' "$J")
kb_assert_eq "$kinds" "ClusterRole/kbnet-agent ClusterRoleBinding/kbnet-agent ConfigMap/kbnet-agent DaemonSet/kbnet-agent Namespace/kbnet NetworkAttachmentDefinition/kbnet-kernel NetworkAttachmentDefinition/kbnet-sriov-dpdk NetworkAttachmentDefinition/kbnet-sriov-netdev NetworkAttachmentDefinition/kbnet-vdpa NetworkAttachmentDefinition/kbnet-virtio-user ServiceAccount/kbnet-agent" \
	"the objects deploy/ installs"

# ---- RBAC: what the agent calls, nothing more ----
kb_assert_eq "$(obj ClusterRole kbnet-agent | jq -c '[.rules[] | {g: .apiGroups, r: .resources, v: (.verbs | sort)}]')" \
	'[{"g":[""],"r":["pods"],"v":["list","watch"]},{"g":[""],"r":["events"],"v":["create"]}]' \
	"ClusterRole: pods list/watch, events create"
kb_assert_eq "$(obj ClusterRoleBinding kbnet-agent | jq -r '"\(.roleRef.kind)/\(.roleRef.name) \(.subjects[0].kind)/\(.subjects[0].namespace)/\(.subjects[0].name)"')" \
	"ClusterRole/kbnet-agent ServiceAccount/kbnet/kbnet-agent" "binding: role to the agent's service account"

# ---- the agent's configuration ----
obj ConfigMap kbnet-agent | jq -r '.data["agent.yaml"]' >"$T/agent.yaml"
if "$BIN/kbnet-agent" --check-config -c "$T/agent.yaml" >"$T/check.out" 2>&1; then
	kb_pass "ConfigMap agent.yaml accepted by kbnet-agent --check-config"
else
	kb_fail "ConfigMap agent.yaml rejected: $(cat "$T/check.out")"
fi
# The same check fails on a key the agent does not know (so the check above means something).
sed 's/^fastpath:$/fastpath:\n  noSuchKey: 1/' "$T/agent.yaml" >"$T/bad.yaml"
kb_assert_rc 1 "--check-config rejects an unknown key" "$BIN/kbnet-agent" --check-config -c "$T/bad.yaml"
cfg() { "$RENDER" objects "$T/agent.yaml" | jq -r ".[0] | $1"; }

DS=$(obj DaemonSet kbnet-agent)
ds() { jq -r "$1" <<<"$DS"; }
C='.spec.template.spec.containers[0]'
kb_assert_eq "$(ds '.spec.template.spec.hostNetwork')" true "DaemonSet: hostNetwork"
kb_assert_eq "$(ds "$C.securityContext.privileged")" true "DaemonSet: privileged"
kb_assert_eq "$(ds '.spec.template.spec.serviceAccountName')" kbnet-agent "DaemonSet: service account"
kb_assert_eq "$(ds '.spec.updateStrategy.type')" RollingUpdate "DaemonSet: rolling update"
kb_assert_eq "$(ds '.spec.selector.matchLabels as $s | .spec.template.metadata.labels | contains($s)')" true \
	"DaemonSet: selector matches the pod labels"
kb_assert_eq "$(ds "$C.env[] | select(.name == \"NODE_NAME\") | .valueFrom.fieldRef.fieldPath")" spec.nodeName \
	"NODE_NAME from the downward API (the kube client's node)"
kb_assert_eq "$(ds "$C.image")" "kbnet/kbnet:$("$RENDER" objects "$CHART/Chart.yaml" | jq -r ".[0].appVersion")" \
	"image tag is the chart's appVersion"
# A hugepage request the node cannot meet keeps the agent Pending: none by default (the fast
# path falls back to --no-huge with memory: auto).
kb_assert_eq "$(ds "[$C.resources.requests, $C.resources.limits | keys[] | select(startswith(\"hugepages-\"))] | length")" 0 \
	"no hugepage request by default"
kb_assert_eq "$(ds '[.spec.template.spec.volumes[].name] | index("hugepages")')" null "no hugepages volume by default"
kb_assert_eq "$(cfg .fastpath.memory)" auto "fast path memory auto (no-huge fallback)"
kb_assert_eq "$(ds '.spec.template.spec.priorityClassName')" system-node-critical "priorityClassName system-node-critical"
# Standard labels on every object (helm.sh/chart, app.kubernetes.io/managed-by).
kb_assert_eq "$(jq -r '[.[] | .metadata.labels["helm.sh/chart"] + " " + .metadata.labels["app.kubernetes.io/managed-by"]] | unique | join(",")' "$J")" \
	"kbnet-$("$RENDER" objects "$CHART/Chart.yaml" | jq -r ".[0].version") Helm" "helm.sh/chart and managed-by labels on every object"
kb_assert_eq "$(obj Namespace kbnet | jq -r '.metadata.labels["pod-security.kubernetes.io/enforce"]')" privileged \
	"created namespace labelled for Pod Security privileged"
# Every mount has a volume, every hostPath the issue lists is mounted at its own path.
kb_assert_eq "$(ds "[$C.volumeMounts[].name] - [.spec.template.spec.volumes[].name] | length")" 0 \
	"every volumeMount has a volume"
mount_of() { ds "$C.volumeMounts[] | select(.mountPath == \"$1\") | .name as \$n | \$n"; }
host_of() { ds ".spec.template.spec.volumes[] | select(.name == \"$1\") | .hostPath.path"; }
for p in /sys /dev /run/kbnet /var/lib/kbnet /var/lib/kubelet/device-plugins \
	/var/lib/kubelet/pod-resources /var/run/k8s.cni.cncf.io/devinfo /var/run/netns; do
	v=$(mount_of "$p")
	kb_assert_eq "$(host_of "$v")" "$p" "host $p mounted at the same path"
done
kb_assert_eq "$(host_of "$(mount_of /host/opt/cni/bin)")" /opt/cni/bin "host CNI bin dir mounted for the entrypoint"
kb_assert_eq "$(ds "$C.env[] | select(.name == \"KBNET_CNI_BIN_DIR\") | .value")" /host/opt/cni/bin \
	"entrypoint told where the CNI bin dir is"
kb_assert_eq "$(ds "$C.env[] | select(.name == \"KBNET_LOG_FORMAT\") | .value")" text "log format from values (text)"
kb_assert_eq "$(ds "$C.volumeMounts[] | select(.mountPath == \"/var/run/netns\") | .mountPropagation")" \
	HostToContainer "pod netns mounts propagate into the agent"
# Paths in agent.yaml are the mounted host paths.
kb_assert_eq "$(dirname "$(cfg .apiSocket)")" "$(cfg .runDir)" "API socket in runDir"
kb_assert_eq "$(host_of "$(mount_of "$(cfg .runDir)")")" "$(cfg .runDir)" "runDir is the mounted host dir"
kb_assert_eq "$(host_of "$(mount_of "$(cfg .stateDir)")")" "$(cfg .stateDir)" "stateDir is the mounted host dir"
kb_assert_eq "$(cfg .devicePlugin.enabled)" true "device plugins enabled"
kb_assert_eq "$(host_of "$(mount_of "$(cfg .devicePlugin.pluginDir)")")" "$(cfg .devicePlugin.pluginDir)" \
	"device-plugin dir is the kubelet's, mounted"
kb_assert_eq "$(host_of "$(mount_of "$(dirname "$(cfg .devicePlugin.podResourcesSocket)")")")" \
	"$(dirname "$(cfg .devicePlugin.podResourcesSocket)")" "pod-resources socket dir mounted"
kb_assert_eq "$(host_of "$(mount_of "$(dirname "$(cfg .devicePlugin.deviceInfoDir)")")")" \
	"$(dirname "$(cfg .devicePlugin.deviceInfoDir)")" "Multus device-info dir mounted"
kb_assert_eq "$(ds "$C.args | join(\" \")")" "--config /etc/kbnet/agent.yaml" "agent reads the ConfigMap"
kb_assert_eq "$(ds "$C.volumeMounts[] | select(.name == \"config\") | .mountPath")" /etc/kbnet "ConfigMap mounted"
# Probes reach the metrics listener of agent.yaml.
kb_assert_eq "$(cfg .metrics.enabled)" true "metrics enabled for the probes"
# Liveness is "the loop answers" (/livez), never module health: a failed uplink must not make
# kubelet restart the agent in a loop. A startupProbe covers EAL init and state restore.
kb_assert_eq "$(ds "$C.livenessProbe.httpGet | \"\(.host) \(.path) \(.port)\"")" "$(cfg .metrics.address) /livez $(cfg .metrics.port)" \
	"liveness probe on /livez of the metrics listener"
kb_assert_eq "$(ds "$C.startupProbe.httpGet | \"\(.host) \(.path) \(.port)\"")" "$(cfg .metrics.address) /livez $(cfg .metrics.port)" \
	"startup probe on /livez"
kb_assert_eq "$(ds "$C.startupProbe.periodSeconds * $C.startupProbe.failureThreshold >= 120")" true \
	"startup probe allows at least 2 minutes"
kb_assert_eq "$(ds "$C.readinessProbe.httpGet | \"\(.host) \(.path) \(.port)\"")" "$(cfg .metrics.address) /readyz $(cfg .metrics.port)" \
	"readiness probe on /readyz"
kb_assert_eq "$(cfg .kubernetes.enabled)" true "kube client enabled (GC of vanished pods, Events)"

# ---- NetworkAttachmentDefinitions: one per device type, on existing pools ----
prefix=$(cfg .resourcePrefix)
jq -c '.[] | select(.kind == "NetworkAttachmentDefinition")' "$J" >"$T/nads"
kinds_seen=""
while read -r nad; do
	name=$(jq -r .metadata.name <<<"$nad")
	rn=$(jq -r '.metadata.annotations["k8s.v1.cni.cncf.io/resourceName"]' <<<"$nad")
	conf=$(jq -r .spec.config <<<"$nad")
	pool=${rn#"$prefix"/}
	ptype=$(cfg ".pools[] | select(.name == \"$pool\") | .type")
	kb_assert_eq "${rn%%/*}" "$prefix" "$name: resourceName under the agent's prefix"
	kb_assert_eq "$(jq -r .type <<<"$conf")" kbnet "$name: delegates to kbnet"
	kb_assert_eq "$(jq -r '.capabilities | to_entries | map(select(.value) | .key) | sort | join(",")' <<<"$conf")" \
		"CNIDeviceInfoFile,deviceID,ips,mac" "$name: declares the capabilities kbnet-cni reads"
	kb_assert_eq "$(jq -r .name <<<"$conf")" "$name" "$name: CNI network name"
	kb_assert_eq "$(jq -r .resourceName <<<"$conf")" "$rn" "$name: config names the same pool"
	kb_assert_eq "$(jq -r .deviceType <<<"$conf")" "$ptype" "$name: deviceType is the pool's type"
	vfio=$(cfg "[.pools[] | select(.name == \"$pool\") | .drivers // [] | .[] | select(. == \"vfio-pci\")] | length")
	case $ptype in
	sriov-vf) [ "$vfio" -gt 0 ] && kinds_seen+=" sriov-vfio" || kinds_seen+=" sriov-netdev" ;;
	*) kinds_seen+=" $ptype" ;;
	esac
done <"$T/nads"
kb_assert_eq "$(tr ' ' '\n' <<<"$kinds_seen" | sort | xargs)" "kernel sriov-netdev sriov-vfio vdpa virtio-user" \
	"a network for each device type (virtio-user, VF netdev, VF vfio, vdpa, kernel)"

# ---- example pods use those networks and resources ----
jq -c '.[] | select(.kind == "Pod")' "$T/examples.json" >"$T/pods"
while read -r pod; do
	name=$(jq -r .metadata.name <<<"$pod")
	net=$(jq -r '.metadata.annotations["k8s.v1.cni.cncf.io/networks"]' <<<"$pod")
	rn=$(jq -r --arg n "$net" '.[] | select(.kind == "NetworkAttachmentDefinition" and .metadata.name == $n) | .metadata.annotations["k8s.v1.cni.cncf.io/resourceName"]' "$J")
	kb_assert_ne "$rn" "" "$name: network $net exists"
	kb_assert_eq "$(jq -r --arg r "$rn" '.spec.containers[0].resources.limits[$r]' <<<"$pod")" 1 \
		"$name: requests one $rn"
done <"$T/pods"
kb_assert_eq "$(jq -r '[.[] | select(.kind == "Pod") | .spec.containers[0].args[0] // "" | test("net_virtio_user0,path=\\$VHOST_USER_SOCKET_KBNET_IO_VIRTIO_USER,server=1")] | any' "$T/examples.json")" \
	true "DPDK example: net_virtio_user in server mode on the device plugin's socket"

# ---- values.schema.json: what Helm checks the values against (python3-jsonschema here) ----
VSCHEMA="/usr/bin/python3 $ROOT/test/tools/helm-render/values_schema_check.py $CHART/values.schema.json"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	vcheck() { # OUT [helm-render values flags]: status of the schema check
		local out=$1
		shift
		"$RENDER" values "$CHART" "$@" >"$T/vals.json" && $VSCHEMA "$T/vals.json" >"$out" 2>&1
	}
	vcheck "$T/vs.out" && kb_pass "default values pass values.schema.json" || kb_fail "default values: $(cat "$T/vs.out")"
	bad() { # WHAT EXPECTED-IN-MESSAGE --set/-f ...
		local what=$1 want=$2
		shift 2
		if vcheck "$T/vs.out" "$@"; then
			kb_fail "schema accepted $what"
		elif grep -q -- "$want" "$T/vs.out"; then
			kb_pass "schema refuses $what ($(head -n 1 "$T/vs.out"))"
		else
			kb_fail "schema refused $what but not for $want: $(cat "$T/vs.out")"
		fi
	}
	bad "an unknown top-level key (typo)" "hugepage" --set hugepage.amount=1Gi
	bad "a bad logLevel" "logLevel" --set logLevel=loud
	bad "a bad logFormat" "logFormat" --set logFormat=yaml
	bad "an unsupported hugepage size" "hugepages" --set hugepages.size=3Mi
	bad "a malformed hugepage amount" "hugepages/amount" --set hugepages.amount=lots
	bad "a metrics port out of range" "metrics/port" --set metrics.port=70000
	bad "an unknown capability" "networkCapabilities" --set networkCapabilities.macc=true
	bad "a relative host path" "hostPaths/run" --set hostPaths.run=run/kbnet
	printf 'networks:\n- {name: n, pool: p, deviceType: sriov}\n' >"$T/badnet.yaml"
	bad "an unknown network deviceType" "networks/0/deviceType" -f "$T/badnet.yaml"
	printf 'pools:\n- {name: p}\n' >"$T/badpool.yaml"
	bad "a pool without a type" "'type' is a required property" -f "$T/badpool.yaml"
else
	kb_fail "python3-jsonschema not installed (hack/deps.txt): values.schema.json unchecked"
fi

# ---- the chart with other values ----
cat >"$T/values.yaml" <<-'YAML'
image: {repository: registry.example/kbnet, tag: "1.2.3"}
resourcePrefix: example.com
pools:
  - {name: vu, type: virtio-user, count: 8, mode: server}
fastpath: {enabled: false}
hugepages: {amount: 512Mi}
metrics: {enabled: true, address: 0.0.0.0, port: 9500}
monitoring: {scrapeAnnotations: true, podMonitor: {enabled: true}, serviceMonitor: {enabled: true, labels: {release: prom}}}
priorityClassQuota: {create: true}
kubernetes: {enabled: false}
nodeSelector: {kbnet.io/enabled: "true"}
tolerations: []
networks:
  - {name: fast, pool: vu, deviceType: virtio-user, config: {mtu: 9000}}
YAML
"$RENDER" template "$CHART" --name other --namespace net -f "$T/values.yaml" --set logLevel=debug -o json >"$T/custom.json"
vcheck "$T/vs.out" -f "$T/values.yaml" && kb_pass "custom values pass values.schema.json" || kb_fail "custom values: $(cat "$T/vs.out")"
if $SCHEMA "$T/custom.json" >"$T/schema-custom.out"; then kb_pass "schema: custom values"; else kb_fail "schema: custom values: $(cat "$T/schema-custom.out")"; fi
jq -r '.[] | select(.kind == "ConfigMap") | .data["agent.yaml"]' "$T/custom.json" >"$T/custom-agent.yaml"
kb_assert_rc 0 "custom agent.yaml accepted" "$BIN/kbnet-agent" --check-config -c "$T/custom-agent.yaml"
cds() { jq -r ".[] | select(.kind == \"DaemonSet\") | $1" "$T/custom.json"; }
kb_assert_eq "$(cds "$C.image")" registry.example/kbnet:1.2.3 "custom image"
kb_assert_eq "$(cds '.metadata.name + " " + .metadata.namespace')" "other-agent net" "release name and namespace"
kb_assert_eq "$(cds "[$C.resources.requests[\"hugepages-2Mi\"], $C.resources.limits[\"hugepages-2Mi\"]] | join(\" \")")" \
	"512Mi 512Mi" "hugepages.amount requests hugepages (requests equal limits)"
kb_assert_eq "$(cds '.spec.template.spec.volumes[] | select(.name == "hugepages") | .emptyDir.medium')" \
	HugePages-2Mi "hugepages volume of the requested size"
kb_assert_eq "$(cds '.spec.template.metadata.annotations | "\(.["prometheus.io/scrape"]) \(.["prometheus.io/port"]) \(.["prometheus.io/path"])"')" \
	"true 9500 /metrics" "scrape annotations"
cobj() { jq -c --arg k "$1" '[.[] | select(.kind == $k)][0]' "$T/custom.json"; }
kb_assert_eq "$(cobj PodMonitor | jq -c '[.spec.selector.matchLabels, .spec.podMetricsEndpoints[0].port]')" \
	"$(cds '[.spec.selector.matchLabels, "metrics"]' | jq -c .)" "PodMonitor selects the agent pods' metrics port"
svc=$(cobj Service)
kb_assert_eq "$(cobj ServiceMonitor | jq -c --argjson svc "$svc" '.spec.selector.matchLabels as $m | $svc.metadata.labels | contains($m)')" \
	true "ServiceMonitor selects the metrics Service"
kb_assert_eq "$(jq -r --argjson svc "$svc" '.[] | select(.kind == "DaemonSet") | .spec.template.metadata.labels | contains($svc.spec.selector)' "$T/custom.json")" \
	true "metrics Service selects the agent pods"
kb_assert_eq "$(cobj ServiceMonitor | jq -r '.metadata.labels.release')" prom "ServiceMonitor extra labels"
kb_assert_eq "$(cobj ResourceQuota | jq -c '.spec.scopeSelector.matchExpressions[0] | [.scopeName, .values[0]]')" \
	'["PriorityClass","system-node-critical"]' "ResourceQuota admitting the priority class"
kb_assert_eq "$(cds "$C.readinessProbe.httpGet.port")" 9500 "probes follow metrics.port"
kb_assert_eq "$(cds '.spec.template.spec.nodeSelector["kbnet.io/enabled"]')" true "nodeSelector"
kb_assert_eq "$(cds '.spec.template.spec.tolerations')" null "tolerations can be emptied"
kb_assert_eq "$(jq -r '[.[] | select(.kind == "ClusterRole")] | length' "$T/custom.json")" 0 "no RBAC without the kube client"
kb_assert_eq "$(jq -r '.[] | select(.kind == "NetworkAttachmentDefinition") | .spec.config | fromjson | "\(.mtu) \(.resourceName)"' "$T/custom.json")" \
	"9000 example.com/vu" "network config merged from values"
kb_assert_eq "$(cds '.spec.template.metadata.annotations["kbnet.io/config-hash"] != "'"$(ds '.spec.template.metadata.annotations["kbnet.io/config-hash"]')"'"')" \
	true "config hash changes with the configuration (rolls the agents)"
# ---- CDI: the spec dir the agent writes is the host's, mounted ----
"$RENDER" template "$CHART" --set devicePlugin.cdi=true -o json >"$T/cdi.json"
jq -r '.[] | select(.kind == "ConfigMap") | .data["agent.yaml"]' "$T/cdi.json" >"$T/cdi-agent.yaml"
cdidir=$("$RENDER" objects "$T/cdi-agent.yaml" | jq -r '.[0].devicePlugin | select(.cdi) | .cdiSpecDir')
kb_assert_eq "$(jq -r --arg d "$cdidir" '.[] | select(.kind == "DaemonSet") | .spec.template.spec as $s
	| ($s.containers[0].volumeMounts[] | select(.mountPath == $d) | .name) as $v
	| $s.volumes[] | select(.name == $v) | .hostPath.path' "$T/cdi.json")" /var/run/cdi \
	"devicePlugin.cdi: the CDI spec dir is the host's /var/run/cdi, mounted"
kb_assert_rc 0 "agent.yaml with CDI accepted" "$BIN/kbnet-agent" --check-config -c "$T/cdi-agent.yaml"

# ---- drop-in for sriov-network-device-plugin: its ConfigMap mounted, read as pools ----
"$RENDER" template "$CHART" --set sriovDevicePlugin.configMap=sriovdp-config -o json >"$T/dp.json"
jq -r '.[] | select(.kind == "ConfigMap") | .data["agent.yaml"]' "$T/dp.json" >"$T/dp-agent.yaml"
dpfile=$("$RENDER" objects "$T/dp-agent.yaml" | jq -r '.[0].pools[-1].sriovDevicePluginConfig.file')
kb_assert_eq "$(jq -r --arg f "$(dirname "$dpfile")" '.[] | select(.kind == "DaemonSet") | .spec.template.spec as $s
	| ($s.containers[0].volumeMounts[] | select(.mountPath == $f) | .name) as $v
	| $s.volumes[] | select(.name == $v) | .configMap.name' "$T/dp.json")" sriovdp-config \
	"sriovdp ConfigMap mounted where agent.yaml's sriovDevicePluginConfig points"
kb_assert_eq "$(basename "$dpfile") $("$RENDER" objects "$T/dp-agent.yaml" | jq -r '.[0].pools[-1].sriovDevicePluginConfig.resourcePrefix')" \
	"config.json intel.com" "the device plugin's file name and default prefix"
mkdir -p "$T/pcidp"
echo '{"resourceList": [{"resourceName": "intel_sriov_netdevice", "selectors": {"drivers": ["iavf"]}}]}' >"$T/pcidp/config.json"
sed "s|$dpfile|$T/pcidp/config.json|" "$T/dp-agent.yaml" >"$T/dp-agent-local.yaml"
kb_assert_rc 0 "agent.yaml with the import accepted (file at a local path)" \
	"$BIN/kbnet-agent" --check-config -c "$T/dp-agent-local.yaml"

"$RENDER" template "$CHART" --notes >"$T/notes.txt"
grep -q "kubectl -n kbnet rollout status ds/kbnet-agent" "$T/notes.txt" && kb_pass "NOTES.txt renders" ||
	kb_fail "NOTES.txt: $(head -n 5 "$T/notes.txt")"
grep -q "kubectl label ns kbnet pod-security.kubernetes.io/enforce=privileged" "$T/notes.txt" &&
	kb_pass "NOTES.txt: Pod Security label to set when the chart does not create the namespace" ||
	kb_fail "NOTES.txt: no Pod Security note"
"$RENDER" template "$CHART" --notes --set createNamespace=true >"$T/notes2.txt"
sed -n "/^NOTES:/,/^---/p" "$T/notes2.txt" | grep -q "kubectl label ns" && kb_fail "PSA note although the namespace is rendered labelled" ||
	kb_pass "no PSA note when the chart creates the labelled namespace"
kb_done
