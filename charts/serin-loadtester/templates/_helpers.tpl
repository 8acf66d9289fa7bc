{{- define "loadtester.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "loadtester.fullname" -}}
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

{{- define "loadtester.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "loadtester.labels" -}}
helm.sh/chart: {{ include "loadtester.chart" . }}
app.kubernetes.io/name: {{ include "loadtester.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Pod labels that select the load tester; "app" as in Flagger's chart. */}}
{{- define "loadtester.selectorLabels" -}}
app: {{ include "loadtester.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The chart creates a ServiceAccount when the pod needs API access. */}}
{{- define "loadtester.createServiceAccount" -}}
{{- if and (not .Values.serviceAccountName) (or .Values.rbac.create (eq .Values.gates.store "configmap")) }}true{{ end }}
{{- end }}

{{- define "loadtester.serviceAccountName" -}}
{{- if .Values.serviceAccountName }}
{{- .Values.serviceAccountName }}
{{- else if include "loadtester.createServiceAccount" . }}
{{- include "loadtester.fullname" . }}
{{- end }}
{{- end }}

{{- define "loadtester.validate" -}}
{{- if .Values.istio.enabled }}
{{- fail "istio.enabled is not supported: this chart makes no Istio VirtualService or Gateway for the load tester; the canary's webhooks reach its Service without them" }}
{{- end }}
{{- if not (has .Values.gates.store (list "configmap" "file")) }}
{{- fail (printf "gates.store %q is not supported: use configmap or file" .Values.gates.store) }}
{{- end }}
{{- if and .Values.rbac.create (not (has (toString .Values.rbac.scope) (list "" "cluster"))) }}
{{- fail (printf "rbac.scope %q is not supported: use \"\" (a Role in the release namespace) or cluster" .Values.rbac.scope) }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (eq .Values.gates.store "file") }}
{{- fail "replicaCount above 1 needs gates.store: configmap, or each replica would keep its own gates" }}
{{- end }}
{{- if and .Values.rbac.rules (not .Values.rbac.create) }}
{{- fail "rbac.rules needs rbac.create: true, or no Role would carry them" }}
{{- end }}
{{- if and .Values.serviceAccountName .Values.rbac.serviceAccountAnnotations }}
{{- fail "rbac.serviceAccountAnnotations applies to the ServiceAccount the chart creates; with serviceAccountName set, annotate that ServiceAccount instead" }}
{{- end }}
{{- if and .Values.gates.token.existingSecret .Values.gates.token.value }}
{{- fail "gates.token.existingSecret and gates.token.value are both set: name your Secret, or let the chart create one from value, not both" }}
{{- end }}
{{- if and .Values.backends (not .Values.meshName) }}
{{- fail "backends needs meshName: they are the App Mesh v1beta1 VirtualNode's backends (for v1beta2 use appmesh.enabled and appmesh.backends)" }}
{{- end }}
{{- end }}

{{/* loadtester.gateTokenSecret is the Secret holding the gate token, or empty. */}}
{{- define "loadtester.gateTokenSecret" -}}
{{- if .Values.gates.token.existingSecret }}
{{- .Values.gates.token.existingSecret }}
{{- else if .Values.gates.token.value }}
{{- include "loadtester.fullname" . }}-gate-token
{{- end }}
{{- end }}

{{/* loadtester.gateTokenDir is where the gate token Secret is mounted. */}}
{{- define "loadtester.gateTokenDir" -}}
/etc/serin-loadtester/gate-token
{{- end }}
