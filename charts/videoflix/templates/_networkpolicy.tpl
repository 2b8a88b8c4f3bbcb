{{/*
NetworkPolicy building blocks (networkpolicy-*.yaml). Every Pod of the release is selected by exactly
one policy with both policyTypes, so whatever a policy does not list is denied for it.
*/}}

{{/* A podSelector peer of one component of this release (the operator's Jobs carry the same two labels). */}}
{{- define "videoflix.netpol.peer" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
      app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The podSelector of a policy: one component of this release. */}}
{{- define "videoflix.netpol.select" -}}
podSelector:
  matchLabels:
    app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
    app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Egress to the cluster DNS (port 53, UDP and TCP). */}}
{{- define "videoflix.netpol.dnsEgress" -}}
- to:
    {{- toYaml .Values.networkPolicy.dns | nindent 4 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}

{{/*
Egress to an external service on one port: the peers given (networkPolicy.external.<name>), else any
address on that port. usage: include "videoflix.netpol.externalEgress" (list $peers $port)
*/}}
{{- define "videoflix.netpol.externalEgress" -}}
- ports:
    - protocol: TCP
      port: {{ index . 1 }}
  {{- with index . 0 }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
Egress to the Kubernetes API server. NetworkPolicies see the address after the Service's DNAT (the
API server's own address and port), so the peers are the addresses of the `kubernetes` Service's
endpoints: networkPolicy.kubeApiServer.peers if given, else the EndpointSlice read at install time
(lookup), else (helm template, no cluster) any address on networkPolicy.kubeApiServer.ports.
*/}}
{{- define "videoflix.netpol.kubeApiEgress" -}}
{{- $peers := .Values.networkPolicy.kubeApiServer.peers }}
{{- $ports := .Values.networkPolicy.kubeApiServer.ports }}
{{- if not $peers }}
{{- $slice := lookup "discovery.k8s.io/v1" "EndpointSlice" "default" "kubernetes" }}
{{- if and $slice $slice.endpoints }}
{{- $found := list }}
{{- range $slice.endpoints }}{{- range .addresses }}{{- $found = append $found (dict "ipBlock" (dict "cidr" (printf "%s/%s" . (ternary "128" "32" (contains ":" .))))) }}{{- end }}{{- end }}
{{- $peers = $found }}
{{- $slicePorts := list }}
{{- range $slice.ports }}{{- $slicePorts = append $slicePorts (int .port) }}{{- end }}
{{- $ports = uniq (concat $ports $slicePorts) }}
{{- end }}
{{- end }}
- ports:
    {{- range $ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with $peers }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* Egress to the S3 service: the bundled versitygw Pods, else the external endpoint's port. */}}
{{- define "videoflix.netpol.s3Egress" -}}
{{- if .Values.versitygw.enabled }}
- to:
    {{- include "videoflix.netpol.peer" (list . "versitygw") | nindent 4 }}
  ports:
    - protocol: TCP
      port: {{ .Values.versitygw.port }}
{{- else }}
{{- $u := urlParse (include "videoflix.s3Endpoint" .) }}
{{- $port := ternary 443 80 (eq $u.scheme "https") }}
{{- with regexFind ":[0-9]+$" $u.host }}{{ $port = int (trimPrefix ":" .) }}{{ end }}
{{- include "videoflix.netpol.externalEgress" (list .Values.networkPolicy.external.s3 $port) }}
{{- end }}
{{- end }}

{{/* Egress to PostgreSQL: the bundled Pods, else the external database's port. */}}
{{- define "videoflix.netpol.databaseEgress" -}}
{{- if .Values.postgresql.enabled }}
- to:
    {{- include "videoflix.netpol.peer" (list . "postgresql") | nindent 4 }}
  ports:
    - protocol: TCP
      port: 5432
{{- else }}
{{- include "videoflix.netpol.externalEgress" (list .Values.networkPolicy.external.database (int .Values.externalDatabase.port)) }}
{{- end }}
{{- end }}

{{/* Egress to RabbitMQ: the bundled Pods, else the external broker's port. */}}
{{- define "videoflix.netpol.rabbitmqEgress" -}}
{{- if .Values.rabbitmq.enabled }}
- to:
    {{- include "videoflix.netpol.peer" (list . "rabbitmq") | nindent 4 }}
  ports:
    - protocol: TCP
      port: 5672
{{- else }}
{{- include "videoflix.netpol.externalEgress" (list .Values.networkPolicy.external.rabbitmq (int .Values.externalRabbitmq.port)) }}
{{- end }}
{{- end }}

{{/* Egress to the mail server: the bundled maildev's SMTP port, else the external server's port. */}}
{{- define "videoflix.netpol.smtpEgress" -}}
{{- if .Values.maildev.enabled }}
- to:
    {{- include "videoflix.netpol.peer" (list . "maildev") | nindent 4 }}
  ports:
    - protocol: TCP
      port: {{ .Values.maildev.smtpPort }}
{{- else }}
{{- include "videoflix.netpol.externalEgress" (list .Values.networkPolicy.external.smtp (int .Values.smtp.port)) }}
{{- end }}
{{- end }}
