{{- define "cflux.labels" -}}
app.kubernetes.io/name: cflux
app.kubernetes.io/part-of: flux
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "cflux.selector" -}}
app.kubernetes.io/name: cflux
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
