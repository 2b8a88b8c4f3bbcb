{{/*
The API's environment (api/config.ts), shared by the Deployment, the migration Job and the test Pod.
*/}}
{{- define "videoflix.apiEnv" -}}
- name: NODE_ENV
  value: production
- name: HOST
  value: "0.0.0.0"
- name: PORT
  value: {{ .Values.api.port | quote }}
- name: METRICS_PORT
  value: {{ .Values.api.metricsPort | quote }}
- name: TRUST_PROXY
  value: {{ .Values.api.trustProxy | quote }}
- name: PUBLIC_API_URL
  value: {{ required "api.publicUrl is required: the API's public URL, e.g. https://videoflix.example.com (no development default is trusted)" .Values.api.publicUrl | quote }}
- name: FRONTEND_URL
  value: {{ required "api.frontendUrl is required: the frontend's URL that mail links point to, e.g. https://app.videoflix.example.com (no development default is trusted)" .Values.api.frontendUrl | quote }}
- name: CORS_ALLOWED_ORIGINS
  value: {{ join "," .Values.api.corsAllowedOrigins | quote }}
- name: CSRF_TRUSTED_ORIGINS
  value: {{ join "," .Values.api.csrfTrustedOrigins | quote }}
- name: AUTH_COOKIE_SECURE
  value: {{ .Values.api.authCookie.secure | quote }}
- name: AUTH_COOKIE_ALLOW_INSECURE
  value: {{ .Values.api.authCookie.allowInsecure | quote }}
- name: AUTH_COOKIE_SAMESITE
  value: {{ .Values.api.authCookie.sameSite | quote }}
{{- if eq (include "videoflix.streamingMode" .) "offload" }}
{{- /* the access cookie stays on the API's paths: it never goes to the S3 server's /<bucket>/ route */}}
- name: AUTH_COOKIE_ACCESS_PATH
  value: /api/
{{- end }}
- name: STREAMING_MODE
  value: {{ include "videoflix.streamingMode" . | quote }}
- name: STREAMING_URL_TTL
  value: {{ .Values.streaming.urlTtlSeconds | quote }}
- name: STREAMING_HOSTS
  value: {{ include "videoflix.streamingHosts" . | quote }}
- name: BCRYPT_COST
  value: {{ .Values.api.bcryptCost | quote }}
- name: UPLOAD_RESUMABLE_EXPIRY_SECONDS
  value: {{ .Values.api.resumableUploads.expirySeconds | quote }}
- name: UPLOAD_RESUMABLE_CLEANUP_SECONDS
  value: {{ .Values.api.resumableUploads.cleanupSeconds | quote }}
- name: UPLOAD_RESUMABLE_CONCURRENT_PARTS
  value: {{ .Values.api.resumableUploads.concurrentParts | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.jwtSecretName" . }}
      key: {{ include "videoflix.jwtSecretKey" . }}
{{ include "videoflix.databaseEnv" (dict "ctx" .) }}
{{ include "videoflix.componentS3Env" (list . "api") }}
{{ include "videoflix.componentAmqpEnv" (list . "api") | trim }}
- name: AMQP_QUEUE
  value: {{ .Values.componentCredentials.rabbitmq.apiQueue | quote }}
- name: AMQP_LEGACY_QUEUE
  value: {{ .Values.componentCredentials.rabbitmq.legacyQueue | quote }}
- name: MAIL_FROM
  value: {{ .Values.api.mailFrom | quote }}
{{- if .Values.maildev.enabled }}
{{- /* the bundled mail catcher (a development setting): its SMTP side takes no credentials */}}
- name: SMTP_HOST
  value: {{ include "videoflix.componentName" (list . "maildev") | quote }}
- name: SMTP_PORT
  value: {{ .Values.maildev.smtpPort | quote }}
- name: SMTP_SECURE
  value: "false"
- name: SMTP_REQUIRE_TLS
  value: "false"
{{- else }}
- name: SMTP_HOST
  value: {{ required "smtp.host is required: the SMTP server the API sends activation and reset mails through (or maildev.enabled=true, the development mail catcher)" .Values.smtp.host | quote }}
- name: SMTP_PORT
  value: {{ .Values.smtp.port | quote }}
- name: SMTP_SECURE
  value: {{ .Values.smtp.secure | quote }}
- name: SMTP_REQUIRE_TLS
  value: {{ .Values.smtp.requireTls | quote }}
{{- if include "videoflix.smtpAuth" . }}
- name: SMTP_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.smtpSecretName" . }}
      key: {{ include "videoflix.smtpUserKey" . }}
- name: SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "videoflix.smtpSecretName" . }}
      key: {{ include "videoflix.smtpPasswordKey" . }}
{{- end }}
{{- end }}
- name: KUBE_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- with .Values.api.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
