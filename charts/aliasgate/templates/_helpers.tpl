{{/*
Naming and labelling helpers, named as `helm create` names them so they read as expected.
*/}}

{{/* Chart name, overridable with nameOverride. */}}
{{- define "aliasgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name. Truncated at 63 characters because some Kubernetes name fields are
limited to that (DNS-1123 labels). A release named like the chart is not repeated twice.
*/}}
{{- define "aliasgate.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "aliasgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels. */}}
{{- define "aliasgate.labels" -}}
helm.sh/chart: {{ include "aliasgate.chart" . }}
{{ include "aliasgate.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: aliasgate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels (stable across upgrades: never add to these). */}}
{{- define "aliasgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aliasgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Per-component names and labels. */}}
{{- define "aliasgate.controller.fullname" -}}
{{- printf "%s-controller" (include "aliasgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aliasgate.gateway.fullname" -}}
{{- printf "%s-gateway" (include "aliasgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The gateway's admin Service (admin port only; never exposed by the public Service type). */}}
{{- define "aliasgate.gateway.adminServiceName" -}}
{{- printf "%s-admin" (include "aliasgate.gateway.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aliasgate.controller.selectorLabels" -}}
{{ include "aliasgate.selectorLabels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "aliasgate.gateway.selectorLabels" -}}
{{ include "aliasgate.selectorLabels" . }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "aliasgate.controller.labels" -}}
{{ include "aliasgate.labels" . }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "aliasgate.gateway.labels" -}}
{{ include "aliasgate.labels" . }}
app.kubernetes.io/component: gateway
{{- end }}

{{/* Service account names: the given name, else the component's full name when created, else "default". */}}
{{- define "aliasgate.controller.serviceAccountName" -}}
{{- if .Values.controller.serviceAccount.create }}
{{- default (include "aliasgate.controller.fullname" .) .Values.controller.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.controller.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "aliasgate.gateway.serviceAccountName" -}}
{{- if .Values.gateway.serviceAccount.create }}
{{- default (include "aliasgate.gateway.fullname" .) .Values.gateway.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.gateway.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: digest wins over tag; tag defaults to the chart's appVersion. */}}
{{- define "aliasgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The controller's leader-election Lease, named after the release (passed as --lease-name, granted by
resourceName). The routing ConfigMap is created and owned by the controller: Helm never templates it.
*/}}
{{- define "aliasgate.leaseName" -}}
{{- include "aliasgate.controller.fullname" . }}
{{- end }}

{{/* Termination grace of gateway pods: always longer than preStop sleep + stream drain. */}}
{{- define "aliasgate.gateway.terminationGracePeriodSeconds" -}}
{{- add .Values.gateway.drain.preStopSleepSeconds .Values.gateway.drain.shutdownGraceSeconds .Values.gateway.drain.terminationMarginSeconds }}
{{- end }}

{{/* Where the client API keys Secret is mounted (a directory, so key rotation propagates). */}}
{{- define "aliasgate.gateway.apiKeysDir" -}}
/etc/aliasgate/api-keys
{{- end }}

{{- define "aliasgate.gateway.secretsDir" -}}
/etc/aliasgate/credentials
{{- end }}

{{/* The admission webhook: its Service, TLS Secret and the cert-manager Certificate's name. */}}
{{- define "aliasgate.webhook.serviceName" -}}
{{- printf "%s-webhook" (include "aliasgate.controller.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aliasgate.webhook.secretName" -}}
{{- printf "%s-webhook-tls" (include "aliasgate.controller.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aliasgate.webhook.certDir" -}}
/etc/aliasgate/webhook-tls
{{- end }}
