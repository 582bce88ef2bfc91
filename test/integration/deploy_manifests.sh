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
kb_assert_eq "$kinds" "ClusterRole/kbnet-agent ClusterRoleBinding/kbnet-agent ConfigMap/kbnet-agent DaemonSet/kbnet-agent Namespace/kbnet NetworkAttachmentDefinition/kbnet-sriov-dpdk NetworkAttachmentDefinition/kbnet-sriov-netdev NetworkAttachmentDefinition/kbnet-vdpa NetworkAttachmentDefinition/kbnet-virtio-user ServiceAccount/kbnet-agent" \
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
kb_assert_eq "$(ds "$C.resources.requests[\"hugepages-2Mi\"] == $C.resources.limits[\"hugepages-2Mi\"]")" true \
	"hugepages: requests equal limits"
kb_assert_eq "$(ds '.spec.template.spec.volumes[] | select(.name == "hugepages") | .emptyDir.medium')" \
	HugePages-2Mi "hugepages volume of the requested size"
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
kb_assert_eq "$(ds "$C.livenessProbe.httpGet | \"\(.host) \(.path) \(.port)\"")" "$(cfg .metrics.address) /healthz $(cfg .metrics.port)" \
	"liveness probe on /healthz of the metrics listener"
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
	kb_assert_eq "$(jq -r .name <<<"$conf")" "$name" "$name: CNI network name"
	kb_assert_eq "$(jq -r .resourceName <<<"$conf")" "$rn" "$name: config names the same pool"
	kb_assert_eq "$(jq -r .deviceType <<<"$conf")" "$ptype" "$name: deviceType is the pool's type"
	vfio=$(cfg "[.pools[] | select(.name == \"$pool\") | .drivers // [] | .[] | select(. == \"vfio-pci\")] | length")
	case $ptype in
	sriov-vf) [ "$vfio" -gt 0 ] && kinds_seen+=" sriov-vfio" || kinds_seen+=" sriov-netdev" ;;
	*) kinds_seen+=" $ptype" ;;
	esac
done <"$T/nads"
kb_assert_eq "$(tr ' ' '\n' <<<"$kinds_seen" | sort | xargs)" "sriov-netdev sriov-vfio vdpa virtio-user" \
	"a network for each device type (virtio-user, VF netdev, VF vfio, vdpa)"

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

# ---- the chart with other values ----
cat >"$T/values.yaml" <<-'YAML'
image: {repository: registry.example/kbnet, tag: "1.2.3"}
resourcePrefix: example.com
pools:
  - {name: vu, type: virtio-user, count: 8, mode: server}
fastpath: {enabled: false}
hugepages: {amount: ""}
metrics: {enabled: true, address: 0.0.0.0, port: 9500}
kubernetes: {enabled: false}
nodeSelector: {kbnet.io/enabled: "true"}
tolerations: []
networks:
  - {name: fast, pool: vu, deviceType: virtio-user, config: {mtu: 9000}}
YAML
"$RENDER" template "$CHART" --name other --namespace net -f "$T/values.yaml" --set logLevel=debug -o json >"$T/custom.json"
if $SCHEMA "$T/custom.json" >"$T/schema-custom.out"; then kb_pass "schema: custom values"; else kb_fail "schema: custom values: $(cat "$T/schema-custom.out")"; fi
jq -r '.[] | select(.kind == "ConfigMap") | .data["agent.yaml"]' "$T/custom.json" >"$T/custom-agent.yaml"
kb_assert_rc 0 "custom agent.yaml accepted" "$BIN/kbnet-agent" --check-config -c "$T/custom-agent.yaml"
cds() { jq -r ".[] | select(.kind == \"DaemonSet\") | $1" "$T/custom.json"; }
kb_assert_eq "$(cds "$C.image")" registry.example/kbnet:1.2.3 "custom image"
kb_assert_eq "$(cds '.metadata.name + " " + .metadata.namespace')" "other-agent net" "release name and namespace"
kb_assert_eq "$(cds "$C.resources.limits | has(\"hugepages-2Mi\")")" false "no hugepages when amount is empty"
kb_assert_eq "$(cds '[.spec.template.spec.volumes[].name] | index("hugepages")')" null "no hugepages volume"
kb_assert_eq "$(cds "$C.readinessProbe.httpGet.port")" 9500 "probes follow metrics.port"
kb_assert_eq "$(cds '.spec.template.spec.nodeSelector["kbnet.io/enabled"]')" true "nodeSelector"
kb_assert_eq "$(cds '.spec.template.spec.tolerations')" null "tolerations can be emptied"
kb_assert_eq "$(jq -r '[.[] | select(.kind == "ClusterRole")] | length' "$T/custom.json")" 0 "no RBAC without the kube client"
kb_assert_eq "$(jq -r '.[] | select(.kind == "NetworkAttachmentDefinition") | .spec.config | fromjson | "\(.mtu) \(.resourceName)"' "$T/custom.json")" \
	"9000 example.com/vu" "network config merged from values"
kb_assert_eq "$(cds '.spec.template.metadata.annotations["kbnet.io/config-hash"] != "'"$(ds '.spec.template.metadata.annotations["kbnet.io/config-hash"]')"'"')" \
	true "config hash changes with the configuration (rolls the agents)"
"$RENDER" template "$CHART" --notes >"$T/notes.txt"
grep -q "kubectl -n kbnet rollout status ds/kbnet-agent" "$T/notes.txt" && kb_pass "NOTES.txt renders" ||
	kb_fail "NOTES.txt: $(head -n 5 "$T/notes.txt")"
kb_done
