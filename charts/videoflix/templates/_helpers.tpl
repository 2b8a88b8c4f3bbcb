{{/*
Expand the name of the chart.
*/}}
{{- define "videoflix.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name (63 characters at most: some Kubernetes name fields are
limited to this by the DNS naming spec). If the release name contains the chart name it is used as
the full name.
*/}}
{{- define "videoflix.fullname" -}}
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

{{/*
A component's full name: <fullname>-<component>, within 63 characters.
usage: include "videoflix.componentName" (list . "api")
*/}}
{{- define "videoflix.componentName" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "videoflix.fullname" $root | trunc (int (sub 62 (len (index . 1))))) (index . 1) | trimSuffix "-" }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "videoflix.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "videoflix.labels" -}}
helm.sh/chart: {{ include "videoflix.chart" . }}
{{ include "videoflix.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: videoflix
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "videoflix.selectorLabels" -}}
app.kubernetes.io/name: {{ include "videoflix.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels and selector labels of one component.
usage: include "videoflix.componentLabels" (list . "api")
*/}}
{{- define "videoflix.componentLabels" -}}
{{ include "videoflix.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}
{{- define "videoflix.componentSelectorLabels" -}}
{{ include "videoflix.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/*
An image reference and its pull policy.
usage: include "videoflix.image" .Values.api.image
*/}}
{{- define "videoflix.image" -}}
{{- printf "%s:%s" .repository (toString .tag) }}
{{- end }}
{{- define "videoflix.pullPolicy" -}}
{{- $image := index . 1 }}
{{- default (index . 0).Values.global.imagePullPolicy $image.pullPolicy }}
{{- end }}

{{/*
ServiceAccount names.
*/}}
{{- define "videoflix.apiServiceAccountName" -}}
{{- if .Values.api.serviceAccount.create }}
{{- default (include "videoflix.componentName" (list . "api")) .Values.api.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.api.serviceAccount.name }}
{{- end }}
{{- end }}
{{- define "videoflix.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "videoflix.componentName" (list . "operator")) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}
{{- define "videoflix.transcoderServiceAccountName" -}}
{{- if .Values.transcoder.serviceAccount.create }}
{{- default (include "videoflix.componentName" (list . "transcoder")) .Values.transcoder.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.transcoder.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
A stored secret value: the value given, else the one already in the cluster's Secret (so generated
values survive upgrades), else a new random one, generated only when the chart talks to the cluster.
Where `lookup` cannot reach the cluster (`helm template`, `helm install --dry-run=client`, `helm lint`,
GitOps tools that render with `helm template`), a generated value would change on every render and
silently rotate the credential: rendering fails instead and names the value to set (or the
existingSecret to use). A list of the namespace's Secrets tells the two cases apart: the API server
answers it with a SecretList (even for a namespace that does not exist yet), the offline stub with
an empty map. (Helm's own release storage needs the same right, so every installer has it.)
usage: include "videoflix.secretValue" (dict "ctx" . "secret" "<name>" "key" "<key>" "value" "<given>" "length" 32 "setting" "<values key>")
*/}}
{{- define "videoflix.secretValue" -}}
{{- if .value }}
{{- .value }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- if and $existing (hasKey ($existing.data | default dict) .key) }}
{{- index $existing.data .key | b64dec }}
{{- else if hasKey (lookup "v1" "Secret" .ctx.Release.Namespace "") "kind" }}
{{- randAlphaNum (int (default 32 .length)) }}
{{- else }}
{{- fail (printf "%s is empty and the chart cannot read the Secret %s to keep a generated value (no cluster: helm template, helm lint, --dry-run=client, a GitOps render): a new value would be generated on every render. Set it, or use an existing Secret (chart README, \"Generated secrets\")" (default (printf "%s/%s" .secret .key) .setting) .secret) }}
{{- end }}
{{- end }}
{{- end }}

{{/* ---------- credentials: Secret names and keys ---------- */}}

{{- define "videoflix.jwtSecretName" -}}
{{- default (include "videoflix.componentName" (list . "jwt")) .Values.jwt.existingSecret }}
{{- end }}
{{- define "videoflix.jwtSecretKey" -}}
{{- if .Values.jwt.existingSecret }}{{ .Values.jwt.existingSecretKey }}{{ else }}JWT_SECRET{{ end }}
{{- end }}

{{- define "videoflix.s3SecretName" -}}
{{- default (include "videoflix.componentName" (list . "s3")) .Values.s3.existingSecret }}
{{- end }}
{{- define "videoflix.s3AccessKeyKey" -}}
{{- if .Values.s3.existingSecret }}{{ .Values.s3.existingSecretAccessKeyKey }}{{ else }}S3_ACCESS_KEY{{ end }}
{{- end }}
{{- define "videoflix.s3SecretKeyKey" -}}
{{- if .Values.s3.existingSecret }}{{ .Values.s3.existingSecretSecretKeyKey }}{{ else }}S3_SECRET_KEY{{ end }}
{{- end }}

{{- define "videoflix.smtpSecretName" -}}
{{- default (include "videoflix.componentName" (list . "smtp")) .Values.smtp.existingSecret }}
{{- end }}
{{- define "videoflix.smtpUserKey" -}}
{{- if .Values.smtp.existingSecret }}{{ .Values.smtp.existingSecretUserKey }}{{ else }}SMTP_USER{{ end }}
{{- end }}
{{- define "videoflix.smtpPasswordKey" -}}
{{- if .Values.smtp.existingSecret }}{{ .Values.smtp.existingSecretPasswordKey }}{{ else }}SMTP_PASSWORD{{ end }}
{{- end }}
{{/* SMTP credentials are used only with an external server that has a user (or an existing Secret). */}}
{{- define "videoflix.smtpAuth" -}}
{{- if and (not .Values.maildev.enabled) (or .Values.smtp.existingSecret .Values.smtp.user) }}true{{ end }}
{{- end }}

{{- define "videoflix.maildevSecretName" -}}
{{- default (include "videoflix.componentName" (list . "maildev")) .Values.maildev.auth.existingSecret }}
{{- end }}
{{- define "videoflix.maildevUsernameKey" -}}
{{- if .Values.maildev.auth.existingSecret }}{{ .Values.maildev.auth.existingSecretUsernameKey }}{{ else }}username{{ end }}
{{- end }}
{{- define "videoflix.maildevPasswordKey" -}}
{{- if .Values.maildev.auth.existingSecret }}{{ .Values.maildev.auth.existingSecretPasswordKey }}{{ else }}password{{ end }}
{{- end }}

{{- define "videoflix.databaseSecretName" -}}
{{- if .Values.postgresql.enabled }}
{{- default (include "videoflix.componentName" (list . "postgresql")) .Values.postgresql.auth.existingSecret }}
{{- else }}
{{- default (include "videoflix.componentName" (list . "database")) .Values.externalDatabase.existingSecret }}
{{- end }}
{{- end }}
{{- define "videoflix.databasePasswordKey" -}}
{{- if .Values.postgresql.enabled }}
{{- if .Values.postgresql.auth.existingSecret }}{{ .Values.postgresql.auth.existingSecretPasswordKey }}{{ else }}password{{ end }}
{{- else }}
{{- if .Values.externalDatabase.existingSecret }}{{ .Values.externalDatabase.existingSecretPasswordKey }}{{ else }}password{{ end }}
{{- end }}
{{- end }}

{{- define "videoflix.rabbitmqSecretName" -}}
{{- if .Values.rabbitmq.enabled }}
{{- default (include "videoflix.componentName" (list . "rabbitmq")) .Values.rabbitmq.auth.existingSecret }}
{{- else }}
{{- default (include "videoflix.componentName" (list . "amqp")) .Values.externalRabbitmq.existingSecret }}
{{- end }}
{{- end }}
{{- define "videoflix.rabbitmqPasswordKey" -}}
{{- if .Values.rabbitmq.enabled }}
{{- if .Values.rabbitmq.auth.existingSecret }}{{ .Values.rabbitmq.auth.existingSecretPasswordKey }}{{ else }}password{{ end }}
{{- else }}
{{- if .Values.externalRabbitmq.existingSecret }}{{ .Values.externalRabbitmq.existingSecretPasswordKey }}{{ else }}password{{ end }}
{{- end }}
{{- end }}

{{/* ---------- service endpoints ---------- */}}

{{- define "videoflix.s3Endpoint" -}}
{{- if .Values.versitygw.enabled }}
{{- printf "http://%s:%d" (include "videoflix.componentName" (list . "versitygw")) (int .Values.versitygw.port) }}
{{- else }}
{{- required "s3.endpoint is required when versitygw.enabled is false" .Values.s3.endpoint }}
{{- end }}
{{- end }}

{{/*
Environment variables for the database: DATABASE_PASSWORD from its Secret, then DATABASE_URL built
from it with Kubernetes' $(VAR) expansion (or taken whole from an existing Secret).
usage: include "videoflix.databaseEnv" (dict "ctx" . "secretName" "<override or empty>")
*/}}
{{- define "videoflix.databaseEnv.raw" -}}
{{- $ := .ctx }}
{{- $secret := default (include "videoflix.databaseSecretName" $) .secretName }}
{{- if and (not $.Values.postgresql.enabled) $.Values.externalDatabase.existingSecret $.Values.externalDatabase.existingSecretUrlKey }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $.Values.externalDatabase.existingSecretUrlKey }}
{{- else }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ include "videoflix.databasePasswordKey" $ }}
{{- if $.Values.postgresql.enabled }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DATABASE_PASSWORD)@%s:5432/%s" $.Values.postgresql.auth.username (include "videoflix.componentName" (list $ "postgresql")) $.Values.postgresql.auth.database | quote }}
{{- else }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DATABASE_PASSWORD)@%s:%d/%s" $.Values.externalDatabase.user (required "externalDatabase.host is required when postgresql.enabled is false" $.Values.externalDatabase.host) (int $.Values.externalDatabase.port) $.Values.externalDatabase.database | quote }}
{{- end }}
{{- end }}
- name: DATABASE_SSL
  value: {{ ternary "true" "false" (and (not $.Values.postgresql.enabled) $.Values.externalDatabase.ssl) | quote }}
{{- end }}

{{/*
Environment variables for RabbitMQ: AMQP_PASSWORD from its Secret and AMQP_URL built from it.
*/}}
{{- define "videoflix.amqpEnv.raw" -}}
{{- if and (not .Values.rabbitmq.enabled) .Values.externalRabbitmq.existingSecret .Values.externalRabbitmq.existingSecretUrlKey }}
- name: AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.rabbitmqSecretName" . }}
      key: {{ .Values.externalRabbitmq.existingSecretUrlKey }}
{{- else }}
- name: AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.rabbitmqSecretName" . }}
      key: {{ include "videoflix.rabbitmqPasswordKey" . }}
{{- if .Values.rabbitmq.enabled }}
- name: AMQP_URL
  value: {{ printf "amqp://%s:$(AMQP_PASSWORD)@%s:5672" .Values.rabbitmq.auth.username (include "videoflix.componentName" (list . "rabbitmq")) | quote }}
{{- else }}
- name: AMQP_URL
  value: {{ printf "amqp://%s:$(AMQP_PASSWORD)@%s:%d/%s" .Values.externalRabbitmq.user (required "externalRabbitmq.host is required when rabbitmq.enabled is false" .Values.externalRabbitmq.host) (int .Values.externalRabbitmq.port) (urlquery .Values.externalRabbitmq.vhost) | quote }}
{{- end }}
{{- end }}
- name: AMQP_EXCHANGE
  value: {{ .Values.amqpExchange | quote }}
{{- end }}

{{/*
Environment variables for S3.
*/}}
{{- define "videoflix.s3Env" -}}
- name: S3_ENDPOINT
  value: {{ include "videoflix.s3Endpoint" . | quote }}
- name: S3_REGION
  value: {{ .Values.s3.region | quote }}
- name: S3_SOURCE_BUCKET
  value: {{ .Values.s3.sourceBucket | quote }}
- name: S3_MEDIA_BUCKET
  value: {{ .Values.s3.mediaBucket | quote }}
- name: S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.s3SecretName" . }}
      key: {{ include "videoflix.s3AccessKeyKey" . }}
- name: S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.s3SecretName" . }}
      key: {{ include "videoflix.s3SecretKeyKey" . }}
{{- end }}

{{/*
The volumes every read-only-root container needs: a writable /tmp.
*/}}
{{- define "videoflix.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}
{{- define "videoflix.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
A checksum of the credentials given by value (and of the names of existing Secrets), for Pod
annotations: a changed password rolls the Pods; generated values are stable, so they never do.
*/}}
{{- define "videoflix.credentialsChecksum" -}}
{{- $v := .Values }}
{{- list $v.jwt $v.s3.accessKey $v.s3.secretKey $v.s3.existingSecret $v.smtp.user $v.smtp.password $v.smtp.existingSecret $v.postgresql.auth $v.externalDatabase $v.rabbitmq.auth $v.externalRabbitmq $v.componentCredentials | toJson | sha256sum | trunc 16 }}
{{- end }}

{{/* The env helpers above, without the leading newline their conditionals leave. */}}
{{- define "videoflix.databaseEnv" -}}
{{- include "videoflix.databaseEnv.raw" . | trim }}
{{- end }}
{{- define "videoflix.amqpEnv" -}}
{{- include "videoflix.amqpEnv.raw" . | trim }}
{{- end }}

{{/* The cluster-scoped Video source policy and its binding: one per release and namespace. */}}
{{- define "videoflix.videoPolicyName" -}}
{{- printf "%s-%s-video-source" (include "videoflix.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Data of a bundled stateful service (PostgreSQL, RabbitMQ, versitygw). Persistence on (the default): a
volumeClaimTemplate "data" (a PVC per Pod, kept by Kubernetes when the Pod or the release goes);
storageClass "" = the cluster's default class, "-" = storageClassName "" (a pre-bound PV, no dynamic
provisioning). Persistence off: an emptyDir (lost with the Pod; NOTES.txt warns).
  usage: {{ include "videoflix.dataVolume" (list . "postgresql") }}          in the Pod's volumes
         {{ include "videoflix.dataClaimTemplate" (list . "postgresql") }}   in the StatefulSet's spec
*/}}
{{- define "videoflix.dataVolume" -}}
{{- $svc := index (index . 0).Values (index . 1) -}}
{{- if not $svc.persistence.enabled }}
- name: data
  {{- if $svc.emptyDirSizeLimit }}
  emptyDir:
    sizeLimit: {{ $svc.emptyDirSizeLimit }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}
{{- end }}
{{- define "videoflix.dataClaimTemplate" -}}
{{- $ctx := index . 0 -}}
{{- $name := index . 1 -}}
{{- $p := (index $ctx.Values $name).persistence -}}
{{- if $p.enabled }}
volumeClaimTemplates:
  - metadata:
      name: data
      labels:
        {{- include "videoflix.componentSelectorLabels" (list $ctx $name) | nindent 8 }}
    spec:
      accessModes: ["ReadWriteOnce"]
      {{- if eq $p.storageClass "-" }}
      storageClassName: ""
      {{- else if $p.storageClass }}
      storageClassName: {{ $p.storageClass | quote }}
      {{- end }}
      resources:
        requests:
          storage: {{ $p.size }}
{{- end }}
{{- end }}

{{/* Names of the bundled stateful services whose data lives in an emptyDir (for NOTES.txt). */}}
{{- define "videoflix.ephemeralServices" -}}
{{- $out := list -}}
{{- range $name := list "postgresql" "rabbitmq" "versitygw" -}}
{{- $svc := index $.Values $name -}}
{{- if and $svc.enabled (not $svc.persistence.enabled) -}}
{{- $out = append $out $name -}}
{{- end -}}
{{- end -}}
{{- join ", " $out -}}
{{- end }}

{{/*
Streaming mode as the API runs it (STREAMING_MODE): streaming.mode, with auto = offload when the chart's
own Ingress and the bundled S3 server are both enabled (the media Ingress can then route to it), else proxy.
*/}}
{{- define "videoflix.streamingMode" -}}
{{- if eq .Values.streaming.mode "auto" -}}
{{- ternary "offload" "proxy" (and .Values.api.ingress.enabled .Values.versitygw.enabled) -}}
{{- else -}}
{{- .Values.streaming.mode -}}
{{- end -}}
{{- end }}

{{/* The media Ingress is rendered: offload with the chart's Ingress and the bundled S3 server. */}}
{{- define "videoflix.mediaIngress" -}}
{{- if and (eq (include "videoflix.streamingMode" .) "offload") .Values.api.ingress.enabled .Values.versitygw.enabled -}}
true
{{- end -}}
{{- end }}

{{/*
STREAMING_HOSTS: streaming.hosts, else the hosts named in api.ingress.hosts and the host (with its port)
of api.publicUrl, comma-separated.
*/}}
{{- define "videoflix.streamingHosts" -}}
{{- $hosts := .Values.streaming.hosts -}}
{{- if not $hosts -}}
{{- range .Values.api.ingress.hosts }}{{ with .host }}{{ $hosts = append $hosts . }}{{ end }}{{ end -}}
{{- with .Values.api.publicUrl }}{{ $hosts = append $hosts (urlParse .).host }}{{ end -}}
{{- end -}}
{{- join "," (uniq $hosts) -}}
{{- end }}

{{/*
The CRD storage migration hook's settings (crd-migration-*.yaml), each with its default when the key is
missing: `helm upgrade --reuse-values` from a release before them keeps that release's chart values, where
there is no `crd` block (helm/helm#9000). usage: include "videoflix.crdMigration" (list . "migrateStorage")
*/}}
{{- define "videoflix.crdMigration" -}}
{{- $root := index . 0 }}
{{- $defaults := dict "migrateStorage" true "backoffLimit" 3 "activeDeadlineSeconds" 600 }}
{{- $key := index . 1 }}
{{- dig $key (index $defaults $key) ($root.Values.crd | default dict) }}
{{- end }}
