{{/*
Monitoring helpers (api-metrics-service.yaml, servicemonitor-*.yaml, prometheusrule.yaml).
*/}}

{{/*
Whether to render a Prometheus Operator object: the value's `enabled`, and either its `force` or the
cluster serving monitoring.coreos.com/v1 (helm template: --api-versions monitoring.coreos.com/v1).
usage: include "videoflix.monitoring.render" (list . .Values.metrics.serviceMonitor) → "true" or ""
*/}}
{{- define "videoflix.monitoring.render" -}}
{{- $ctx := index . 0 }}{{- $v := index . 1 }}
{{- if and $v.enabled (or $v.force ($ctx.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) }}true{{ end }}
{{- end }}

{{/* The label that marks a Service as a metrics endpoint (the ServiceMonitors select it). */}}
{{- define "videoflix.metricsServiceLabel" -}}
media.videoflix.io/metrics: "true"
{{- end }}

{{/* A ServiceMonitor of one component's metrics Service. usage: include "videoflix.serviceMonitor" (list . "api") */}}
{{- define "videoflix.serviceMonitor" -}}
{{- $ctx := index . 0 }}{{- $component := index . 1 }}
{{- $sm := $ctx.Values.metrics.serviceMonitor }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "videoflix.componentName" (list $ctx $component) }}
  labels:
    {{- include "videoflix.componentLabels" (list $ctx $component) | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "videoflix.componentSelectorLabels" (list $ctx $component) | nindent 6 }}
      {{- include "videoflix.metricsServiceLabel" $ctx | nindent 6 }}
  namespaceSelector:
    matchNames: [{{ $ctx.Release.Namespace | quote }}]
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
{{- end }}
