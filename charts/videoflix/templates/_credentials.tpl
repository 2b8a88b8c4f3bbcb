{{/*
Separate credentials per component (componentCredentials): the API, the operator and the transcoder
Jobs each get their own S3 identity, the API and the operator their own RabbitMQ user. What each may
do is common/grants/index.ts (bucket policies set by the bucket hook, RabbitMQ permissions set by the
bundled broker's ensure-users.sh).
*/}}

{{/* True when the S3 part is on and this component has an identity of its own (bundled versitygw: always;
external S3: when its existingSecret is given). usage: include "videoflix.ownS3" (list . "api") */}}
{{- define "videoflix.ownS3" -}}
{{- $ := index . 0 }}
{{- $c := index $.Values.componentCredentials.s3 (index . 1) }}
{{- if and $.Values.componentCredentials.enabled (or $.Values.versitygw.enabled $c.existingSecret) }}true{{ end }}
{{- end }}

{{/* The Secret and keys of a component's S3 identity (the shared s3 Secret when it has none of its own). */}}
{{- define "videoflix.componentS3SecretName" -}}
{{- $ := index . 0 }}
{{- if include "videoflix.ownS3" . }}
{{- default (include "videoflix.componentName" (list $ (printf "s3-%s" (index . 1)))) (index $.Values.componentCredentials.s3 (index . 1)).existingSecret }}
{{- else }}
{{- include "videoflix.s3SecretName" $ }}
{{- end }}
{{- end }}
{{- define "videoflix.componentS3AccessKeyKey" -}}
{{- $ := index . 0 }}
{{- if include "videoflix.ownS3" . }}
{{- if (index $.Values.componentCredentials.s3 (index . 1)).existingSecret }}{{ $.Values.componentCredentials.s3.existingSecretAccessKeyKey }}{{ else }}S3_ACCESS_KEY{{ end }}
{{- else }}
{{- include "videoflix.s3AccessKeyKey" $ }}
{{- end }}
{{- end }}
{{- define "videoflix.componentS3SecretKeyKey" -}}
{{- $ := index . 0 }}
{{- if include "videoflix.ownS3" . }}
{{- if (index $.Values.componentCredentials.s3 (index . 1)).existingSecret }}{{ $.Values.componentCredentials.s3.existingSecretSecretKeyKey }}{{ else }}S3_SECRET_KEY{{ end }}
{{- else }}
{{- include "videoflix.s3SecretKeyKey" $ }}
{{- end }}
{{- end }}

{{/* S3 environment of one component (videoflix.s3Env with the component's own identity). */}}
{{- define "videoflix.componentS3Env" -}}
{{- $ := index . 0 }}
- name: S3_ENDPOINT
  value: {{ include "videoflix.s3Endpoint" $ | quote }}
- name: S3_REGION
  value: {{ $.Values.s3.region | quote }}
- name: S3_SOURCE_BUCKET
  value: {{ $.Values.s3.sourceBucket | quote }}
- name: S3_MEDIA_BUCKET
  value: {{ $.Values.s3.mediaBucket | quote }}
- name: S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.componentS3SecretName" . }}
      key: {{ include "videoflix.componentS3AccessKeyKey" . }}
- name: S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.componentS3SecretName" . }}
      key: {{ include "videoflix.componentS3SecretKeyKey" . }}
{{- end }}

{{/* True when a component (api, operator) has a RabbitMQ user of its own. */}}
{{- define "videoflix.ownAmqp" -}}
{{- $ := index . 0 }}
{{- $c := index $.Values.componentCredentials.rabbitmq (index . 1) }}
{{- if and $.Values.componentCredentials.enabled (or $.Values.rabbitmq.enabled $c.existingSecret) }}true{{ end }}
{{- end }}
{{- define "videoflix.componentAmqpSecretName" -}}
{{- $ := index . 0 }}
{{- default (include "videoflix.componentName" (list $ (printf "amqp-%s" (index . 1)))) (index $.Values.componentCredentials.rabbitmq (index . 1)).existingSecret }}
{{- end }}

{{/* RabbitMQ environment of one component: its own user when it has one, else videoflix.amqpEnv. */}}
{{- define "videoflix.componentAmqpEnv" -}}
{{- $ := index . 0 }}
{{- $c := index $.Values.componentCredentials.rabbitmq (index . 1) }}
{{- if not (include "videoflix.ownAmqp" .) }}
{{- include "videoflix.amqpEnv" $ }}
{{- else if and (not $.Values.rabbitmq.enabled) $c.existingSecret $.Values.componentCredentials.rabbitmq.existingSecretUrlKey }}
- name: AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ $c.existingSecret }}
      key: {{ $.Values.componentCredentials.rabbitmq.existingSecretUrlKey }}
- name: AMQP_EXCHANGE
  value: {{ $.Values.amqpExchange | quote }}
{{- else }}
- name: AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.componentAmqpSecretName" . }}
      key: {{ ternary $.Values.componentCredentials.rabbitmq.existingSecretPasswordKey "password" (not (empty $c.existingSecret)) }}
{{- if $.Values.rabbitmq.enabled }}
- name: AMQP_URL
  value: {{ printf "amqp://%s:$(AMQP_PASSWORD)@%s:5672" $c.username (include "videoflix.componentName" (list $ "rabbitmq")) | quote }}
{{- else }}
- name: AMQP_URL
  value: {{ printf "amqp://%s:$(AMQP_PASSWORD)@%s:%d/%s" $c.username (required "externalRabbitmq.host is required when rabbitmq.enabled is false" $.Values.externalRabbitmq.host) (int $.Values.externalRabbitmq.port) (urlquery $.Values.externalRabbitmq.vhost) | quote }}
{{- end }}
- name: AMQP_EXCHANGE
  value: {{ $.Values.amqpExchange | quote }}
{{- end }}
{{- end }}

{{/*
RabbitMQ permissions (configure write read regexes) of the API and the operator: common/grants'
amqpPermissions(exchange, apiQueue, legacyQueue) (the queue, its dead-letter exchange <queue>.dlx and
queue <queue>.dead, the legacy queue to drain), which the chart template test compares with this.
*/}}
{{- define "videoflix.amqpPermissions" -}}
{{- $ex := regexQuoteMeta .Values.amqpExchange }}
{{- $rq := .Values.componentCredentials.rabbitmq }}
{{- $q := regexQuoteMeta $rq.apiQueue }}
{{- $dlx := regexQuoteMeta (printf "%s.dlx" $rq.apiQueue) }}
{{- $dead := regexQuoteMeta (printf "%s.dead" $rq.apiQueue) }}
{{- $legacy := "" }}
{{- if and $rq.legacyQueue (ne $rq.legacyQueue $rq.apiQueue) }}{{ $legacy = printf "|%s" (regexQuoteMeta $rq.legacyQueue) }}{{ end }}
api: {{ printf "^(%s|%s|%s|%s%s)$ ^(%s|%s|%s%s)$ ^(%s|%s|%s%s)$" $ex $q $dlx $dead $legacy $q $dlx $dead $legacy $ex $q $dlx $legacy }}
{{- if .Values.progress.enabled }}
{{- $px := regexQuoteMeta .Values.progress.exchange }}
{{- $pq := printf "%s[A-Za-z0-9._-]+" (regexQuoteMeta (printf "%s.operator." .Values.progress.exchange)) }}
operator: {{ printf "^(%s|%s|%s)$ ^(%s|%s)$ ^(%s|%s)$" $ex $px $pq $ex $pq $px $pq }}
transcoder: {{ printf "^$ ^(%s)$ ^$" $px }}
{{- else }}
operator: {{ printf "^(%s)$ ^(%s)$ ^$" $ex $ex }}
{{- end }}
{{- end }}

{{/*
The Secret (and its key) with the transcoder Jobs' broker URL, when they report progress: the bundled
broker's transcoder user, or an existing Secret with the URL (external RabbitMQ); empty = no progress.
*/}}
{{- define "videoflix.transcoderProgressSecret" -}}
{{- $c := .Values.componentCredentials.rabbitmq.transcoder }}
{{- if and .Values.progress.enabled .Values.componentCredentials.enabled }}
{{- if $c.existingSecret }}
{{- $c.existingSecret }}
{{- else if .Values.rabbitmq.enabled }}
{{- include "videoflix.componentName" (list . "amqp-transcoder") }}
{{- end }}
{{- end }}
{{- end }}
{{- define "videoflix.transcoderProgressUrlKey" -}}
{{- if .Values.componentCredentials.rabbitmq.transcoder.existingSecret }}{{ default "url" .Values.componentCredentials.rabbitmq.existingSecretUrlKey }}{{ else }}url{{ end }}
{{- end }}
