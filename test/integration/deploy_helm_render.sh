#!/usr/bin/env bash
# test/tools/helm-render behaves as `helm template` on what the chart may use: a fixture chart
# exercising .Values/.Release/.Chart/.Capabilities, include/tpl/required/toYaml/nindent/
# lookup, sprig functions, values files (null deletes) and --set typing, partials, NOTES.txt,
# missing values rendering as "" and Helm's removal of env/expandenv. Expected outputs are
# what Helm 3 produces for the same chart.
source "$(dirname "$0")/../lib.sh"
RENDER=$TOOLS/helm-render
[ -x "$RENDER" ] || kb_skip "helm-render not built (make tests)"
C=$T/chart
mkdir -p "$C/templates"
cat >"$C/Chart.yaml" <<'YAML'
apiVersion: v2
name: fixture
version: 1.2.3
appVersion: "4.5"
YAML
cat >"$C/values.yaml" <<'YAML'
greeting: hello
nested: {keep: 1, drop: 2}
list: [a, b]
tplString: "{{ .Release.Name }}-{{ .Values.greeting }}"
deep: {pools: [{name: a, pfNames: [x, "y"]}], on: "on"}
YAML
cat >"$C/templates/_helpers.tpl" <<'YAML'
{{- define "fixture.labels" -}}
app: {{ .Chart.Name }}
release: {{ .Release.Name }}
{{- end -}}
YAML
cat >"$C/templates/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "fixture.labels" . | nindent 4 }}
data:
  chart: {{ printf "%s-%s-%s" .Chart.Name .Chart.Version .Chart.AppVersion | quote }}
  kube: {{ .Capabilities.KubeVersion.Major | quote }}
  tpl: {{ tpl .Values.tplString . | quote }}
  missing: "{{ .Values.nothing }}"
  list: |
    {{- toYaml .Values.list | nindent 4 }}
  deep: |
    {{- toYaml .Values.deep | nindent 4 }}
  numtype: {{ printf "%T" .Values.nested.keep | quote }}
  nested: {{ toJson .Values.nested | quote }}
  set: {{ printf "%v/%T %v/%T" .Values.n .Values.n .Values.flag .Values.flag | quote }}
  setlist: {{ .Values.setlist | join "," | quote }}
  sprig: {{ "abc" | b64enc | upper | quote }}
  default: {{ default "dflt" .Values.unset | quote }}
  hash: {{ "x" | sha256sum | trunc 8 | quote }}
  lookup: {{ if lookup "v1" "Pod" "ns" "x" }}"found"{{ else }}"none"{{ end }}
YAML
cat >"$C/templates/NOTES.txt" <<'YAML'
Installed {{ .Release.Name }}.
YAML
cat >"$T/more.yaml" <<'YAML'
nested: {drop: null, add: 3}
YAML
"$RENDER" template "$C" --name rel --namespace ns1 -f "$T/more.yaml" --set n=7 --set flag=true \
	--set 'setlist={x,y}' -o json >"$T/out.json"
d() { jq -r ".[0].data[\"$1\"]" "$T/out.json"; }
kb_assert_eq "$(jq -r '.[0].metadata | "\(.name) \(.namespace) \(.labels.app) \(.labels.release)"' "$T/out.json")" \
	"rel-cm ns1 fixture rel" ".Release, include + nindent"
kb_assert_eq "$(d chart)" "fixture-1.2.3-4.5" ".Chart.Name/Version/AppVersion"
kb_assert_eq "$(d kube)" 1 ".Capabilities.KubeVersion"
kb_assert_eq "$(d tpl)" "rel-hello" "tpl"
kb_assert_eq "$(d missing)" "" "a missing value renders empty, not <no value>"
kb_assert_eq "$(d list)" $'- a\n- b' "toYaml of a list"
# Helm's encoder (sigs.k8s.io/yaml on yaml.v2): lists under a key are not indented, strings
# that YAML 1.1 reads as booleans are quoted. Its decoder is YAML 1.1 too: the unquoted key
# `on` is the boolean true. Values numbers are float64 (YAML -> JSON -> Go).
kb_assert_eq "$(d deep)" $'pools:\n- name: a\n  pfNames:\n  - x\n  - "y"\n"true": "on"' \
	"toYaml lays out nested lists as helm does"
kb_assert_eq "$(d numtype)" float64 "values numbers are float64, as helm reads them"
kb_assert_eq "$(d nested)" '{"add":3,"keep":1}' "values file merged; null deletes a key"
kb_assert_eq "$(d set)" "7/int64 true/bool" "--set types integers and booleans"
kb_assert_eq "$(d setlist)" "x,y" "--set {a,b} is a list"
kb_assert_eq "$(d sprig)" "YWJJ" "sprig functions"
kb_assert_eq "$(d default)" "dflt" "default"
kb_assert_eq "$(d hash)" "2d711642" "sha256sum"
kb_assert_eq "$(d lookup)" none "lookup finds nothing without a cluster"
"$RENDER" template "$C" --name rel --notes >"$T/out.yaml"
grep -q '^Installed rel\.$' "$T/out.yaml" && kb_pass "NOTES.txt with --notes" || kb_fail "NOTES.txt: $(cat "$T/out.yaml")"
grep -q '^# Source: fixture/templates/cm.yaml$' "$T/out.yaml" && kb_pass "# Source: comments as helm prints" ||
	kb_fail "no Source comment"

# required, env: errors, as with helm.
echo 'x: {{ required "need .Values.foo" .Values.foo }}' >"$C/templates/req.yaml"
"$RENDER" template "$C" >/dev/null 2>"$T/err" && kb_fail "required passed without a value" ||
	kb_pass "required fails without the value"
grep -q "need .Values.foo" "$T/err" && kb_pass "required's message" || kb_fail "$(cat "$T/err")"
kb_assert_eq "$("$RENDER" template "$C" --set foo=1 -s templates/req.yaml -o json | jq -r '.[0].x')" 1 \
	"required passes with the value; -s selects a template"
echo 'x: {{ env "HOME" }}' >"$C/templates/req.yaml"
"$RENDER" template "$C" >/dev/null 2>"$T/err" && kb_fail "env available" || kb_pass "env is removed, as in helm"
kb_done
