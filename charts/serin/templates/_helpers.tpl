{{/* The chart's name, or nameOverride. */}}
{{- define "serin.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: fullnameOverride, or release and chart names. */}}
{{- define "serin.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "serin.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "serin.labels" -}}
helm.sh/chart: {{ include "serin.chart" . }}
app.kubernetes.io/name: {{ include "serin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the operator's pods. */}}
{{- define "serin.selectorLabels" -}}
app.kubernetes.io/name: {{ include "serin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "serin.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "serin.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
serin.validate fails the install on a value Serin cannot honour, naming
the value and what to do instead.
*/}}
{{- define "serin.validate" -}}
{{- if and .Values.slack.proxy .Values.slack.proxyUrl (ne .Values.slack.proxy .Values.slack.proxyUrl) }}
{{- fail "slack.proxy and slack.proxyUrl name different proxies: set one of them (both become -slack-proxy-url)" }}
{{- end }}
{{- if or .Values.ingressAnnotationsPrefix .Values.ingressClass }}
{{- fail "ingressAnnotationsPrefix and ingressClass are not supported: they configure ingress providers; Serin's meshProvider is one of kubernetes, appmesh, appmesh:v1beta2, gatewayapi:v1, istio, linkerd" }}
{{- end }}
{{- if .Values.controlplane.kubeconfig.secretName }}
{{- fail "controlplane.kubeconfig.secretName is not supported: Serin writes routing objects to its own cluster only" }}
{{- end }}
{{- if .Values.prometheus.install }}
{{- fail "prometheus.install is not supported: the chart installs no Prometheus; set metricsServer to yours" }}
{{- end }}
{{- if .Values.crd.create }}
{{- fail "crd.create is not supported: the CRDs are in the chart's crds/ folder, which helm install applies; upgrade them with kubectl apply --server-side -f charts/serin/crds" }}
{{- end }}
{{- if .Values.linkerdAuthPolicy.create }}
{{- fail "linkerdAuthPolicy.create is not supported: Serin has no Linkerd provider" }}
{{- end }}
{{- $providers := list "kubernetes" "appmesh" "appmesh:v1beta2" "gatewayapi:v1" "istio" "linkerd" }}
{{- if and .Values.meshProvider (not (has .Values.meshProvider $providers)) }}
{{- fail (printf "meshProvider %q is not supported: use one of %s" .Values.meshProvider (join ", " $providers)) }}
{{- end }}
{{- if and (gt (int .Values.leaderElection.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail "leaderElection.replicaCount above 1 needs leaderElection.enabled: true, or the replicas would step the same canaries" }}
{{- end }}
{{- end }}
