{{/* loadtester.args are the load tester's flags, in Flagger's spellings where it has them. */}}
{{- define "loadtester.args" -}}
- -port=8080
- -log-level={{ .Values.logLevel }}
- -timeout={{ .Values.cmd.timeout }}
{{- with .Values.cmd.namespaceRegexp }}
- -namespace-regexp={{ . }}
{{- end }}
{{- if .Values.cmd.logOutput }}
- -log-cmd-output
{{- end }}
{{- range .Values.cmd.allowPrograms }}
- --allow-program={{ . }}
{{- end }}
- --gate-store={{ .Values.gates.store }}
{{- if eq .Values.gates.store "file" }}
- --gate-file=/var/lib/serin-loadtester/gates.json
{{- else }}
- --gate-configmap={{ include "loadtester.fullname" . }}-gates
{{- end }}
{{- if include "loadtester.gateTokenSecret" . }}
- --gate-token-file={{ include "loadtester.gateTokenDir" . }}/token
{{- end }}
{{- end }}
