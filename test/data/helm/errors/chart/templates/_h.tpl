{{- define "loop" }}{{ include "loop" . }}{{ end -}}
{{- define "needs" }}{{ required "inner value is required" .Values.inner }}{{ end -}}
