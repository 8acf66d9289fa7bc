{{/*
serin.args are the operator's flags, one per value (Flagger's spellings).
The test/install package starts the operator with exactly these.
*/}}
{{- define "serin.args" -}}
- -log-level={{ .Values.logLevel }}
- -port={{ .Values.service.port }}
- -health-probe-bind-address=0
{{- with .Values.meshProvider }}
- -mesh-provider={{ . }}
{{- end }}
{{- with .Values.meshName }}
- -mesh-name={{ . }}
{{- end }}
- -metrics-server={{ .Values.metricsServer }}
{{- with .Values.selectorLabels }}
- -selector-labels={{ . }}
{{- end }}
- -enable-config-tracking={{ .Values.configTracking.enabled }}
{{- with .Values.namespace }}
- -namespace={{ . }}
{{- end }}
{{- with .Values.slack.url }}
- -slack-url={{ . }}
{{- end }}
{{- with .Values.slack.user }}
- -slack-user={{ . }}
{{- end }}
{{- with .Values.slack.channel }}
- -slack-channel={{ . }}
{{- end }}
{{- with (.Values.slack.proxyUrl | default .Values.slack.proxy) }}
- -slack-proxy-url={{ . }}
{{- end }}
{{- with .Values.msteams.url }}
- -msteams-url={{ . }}
{{- end }}
{{- with .Values.msteams.proxyUrl }}
- -msteams-proxy-url={{ . }}
{{- end }}
{{- with .Values.clusterName }}
- -cluster-name={{ . }}
{{- end }}
{{- with .Values.includeLabelPrefix }}
- -include-label-prefix={{ . }}
{{- end }}
{{- with .Values.eventWebhook }}
- -event-webhook={{ . }}
{{- end }}
{{- with .Values.threadiness }}
- -threadiness={{ . }}
{{- end }}
{{- with .Values.stepTimeout }}
- -step-timeout={{ . }}
{{- end }}
{{- with .Values.kubeconfigQPS }}
- -kubeconfig-qps={{ . }}
{{- end }}
{{- with .Values.kubeconfigBurst }}
- -kubeconfig-burst={{ . }}
{{- end }}
{{- with .Values.watchLabelSelector }}
- -watch-label-selector={{ . }}
{{- end }}
{{- if .Values.noCrossNamespaceRefs }}
- -no-cross-namespace-refs=true
{{- end }}
{{- if .Values.leaderElection.enabled }}
- -enable-leader-election=true
- -leader-election-namespace={{ .Release.Namespace }}
{{- end }}
{{- end }}
