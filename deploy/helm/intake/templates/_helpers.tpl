{{- define "intake.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "intake.fullname" -}}
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

{{- define "intake.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The recommended app.kubernetes.io set; call with (dict "root" $ "component" "api"). */}}
{{- define "intake.labels" -}}
helm.sh/chart: {{ include "intake.chart" .root }}
{{ include "intake.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: intake
{{- end }}

{{- define "intake.selectorLabels" -}}
app.kubernetes.io/name: {{ include "intake.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "intake.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "intake.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "intake.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "intake.configMapName" -}}
{{- printf "%s-config" (include "intake.fullname" .) }}
{{- end }}

{{- define "intake.secretName" -}}
{{- default (printf "%s-secrets" (include "intake.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{/*
Refuses what must not sit in a ConfigMap or a pod spec in clear: the names config/env.ts's shownValue()
redacts, and URLs that carry a user or password (DATABASE_URL). Call with (dict "where" "config" "env" map).
*/}}
{{- define "intake.refuseSecrets" -}}
{{- range $name, $value := .env }}
{{- if regexMatch "SECRET|PASSWORD|TOKEN|KEY" $name }}
{{- fail (printf "%s.%s is a secret: set it in secrets.values or in secrets.existingSecret" $.where $name) }}
{{- end }}
{{- if regexMatch "^[A-Za-z][A-Za-z0-9+.-]*://[^/]*@" (toString $value) }}
{{- fail (printf "%s.%s carries credentials in its URL: set it in secrets.values or in secrets.existingSecret" $.where $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The ConfigMap's data, shared by the release's ConfigMap and the migration hook's copy. */}}
{{- define "intake.configData" -}}
{{- include "intake.refuseSecrets" (dict "where" "config" "env" .Values.config) }}
{{- range $name, $value := .Values.config }}
{{- if ne (toString $value) "" }}
{{ $name }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "intake.secretData" -}}
{{- range $name, $value := .Values.secrets.values }}
{{- if ne (toString $value) "" }}
{{ $name }}: {{ toString $value | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "intake.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "intake.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/* envFrom for every Intake container; call with (dict "root" $ "hook" bool). */}}
{{- define "intake.envFrom" -}}
- configMapRef:
    name: {{ include "intake.configMapName" .root }}{{ if .hook }}-migrate{{ end }}
- secretRef:
    name: {{ include "intake.secretName" .root }}{{ if and .hook (not .root.Values.secrets.existingSecret) }}-migrate{{ end }}
{{- end }}

{{/* Variables the chart itself sets in every container: where the mTLS client certificate is mounted. */}}
{{- define "intake.temporalTlsEnv" -}}
{{- if eq .Values.temporal.auth "mtls" }}
- name: TEMPORAL_TLS_CERT_PATH
  value: /etc/intake/temporal-tls/tls.crt
- name: TEMPORAL_TLS_KEY_PATH
  value: /etc/intake/temporal-tls/tls.key
{{- end }}
{{- end }}

{{- define "intake.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if eq .Values.temporal.auth "mtls" }}
- name: temporal-tls
  mountPath: /etc/intake/temporal-tls
  readOnly: true
{{- end }}
{{- end }}

{{- define "intake.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if eq .Values.temporal.auth "mtls" }}
- name: temporal-tls
  secret:
    secretName: {{ required "temporal.mtlsSecret is required with temporal.auth: mtls" .Values.temporal.mtlsSecret }}
{{- end }}
{{- end }}

{{/* Rolls the pods when the configuration they load at start changes. */}}
{{- define "intake.configChecksums" -}}
checksum/config: {{ include "intake.configData" . | sha256sum }}
checksum/secrets: {{ include "intake.secretData" . | sha256sum }}
{{- end }}

{{/* Checks that hold for the whole release, rendered once. */}}
{{- define "intake.validate" -}}
{{- if not (has .Values.temporal.auth (list "none" "apiKey" "mtls")) }}
{{- fail (printf "temporal.auth must be none, apiKey or mtls (got %q)" .Values.temporal.auth) }}
{{- end }}
{{- if and (eq .Values.temporal.auth "apiKey") (not .Values.secrets.existingSecret) (not .Values.secrets.values.TEMPORAL_API_KEY) }}
{{- fail "temporal.auth: apiKey needs TEMPORAL_API_KEY in secrets.values or in secrets.existingSecret" }}
{{- end }}
{{- end }}
