{{/* Names and labels shared by every object. */}}
{{- define "kbnet.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kbnet.agentName" -}}
{{- printf "%s-agent" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kbnet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kbnet.labels" -}}
helm.sh/chart: {{ include "kbnet.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/name: {{ include "kbnet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kbnet
{{- end -}}

{{- define "kbnet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kbnet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end -}}

{{- define "kbnet.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The agent's configuration file (agent.yaml), from the values. */}}
{{- define "kbnet.agentConfig" -}}
apiSocket: {{ .Values.hostPaths.run }}/agent.sock
stateDir: {{ .Values.hostPaths.state }}
runDir: {{ .Values.hostPaths.run }}
resourcePrefix: {{ .Values.resourcePrefix }}
logLevel: {{ .Values.logLevel }}
pools:
{{- with .Values.pools }}
{{ toYaml . | indent 2 }}
{{- end }}
{{- if .Values.sriovDevicePlugin.configMap }}
  - sriovDevicePluginConfig:
      file: /etc/pcidp/{{ .Values.sriovDevicePlugin.key }}
      resourcePrefix: {{ .Values.sriovDevicePlugin.defaultResourcePrefix }}
{{- end }}
fastpath:
{{ toYaml .Values.fastpath | indent 2 }}
{{- with .Values.sriov }}
sriov:
{{ toYaml . | indent 2 }}
{{- end }}
devicePlugin:
{{- $dpPaths := dict "pluginDir" .Values.hostPaths.devicePlugins "podResourcesSocket" (printf "%s/kubelet.sock" .Values.hostPaths.podResources) "deviceInfoDir" (printf "%s/dp" .Values.hostPaths.multusDevinfo) "cdiSpecDir" .Values.hostPaths.cdi }}
{{ toYaml (merge (deepCopy .Values.devicePlugin) $dpPaths) | indent 2 }}
metrics:
{{ toYaml .Values.metrics | indent 2 }}
kubernetes:
{{ toYaml .Values.kubernetes | indent 2 }}
{{- end -}}
