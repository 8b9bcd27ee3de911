{{- define "engine.name" -}}{{ .Values.name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "engine.recurse" -}}{{ if gt (int .) 0 }}{{ include "engine.recurse" (sub (int .) 1) }}{{ end }}{{ . }}{{- end -}}
{{- define "engine.template" -}}{{ .Template.Name }}{{- end -}}
