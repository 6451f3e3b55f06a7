{{/* Chart name. */}}
{{- define "sanxiang.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-sanxiang, or <release> when it already contains the chart name. */}}
{{- define "sanxiang.fullname" -}}
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

{{- define "sanxiang.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels. */}}
{{- define "sanxiang.labels" -}}
helm.sh/chart: {{ include "sanxiang.chart" . }}
app.kubernetes.io/name: {{ include "sanxiang.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sanxiang
{{- end }}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "operator"). */}}
{{- define "sanxiang.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sanxiang.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Image reference of one component: include with (dict "ctx" $ "image" .Values.operator.image). */}}
{{- define "sanxiang.image" -}}
{{- $registry := .ctx.Values.image.registry -}}
{{- $repo := .image.repository -}}
{{- if $registry }}{{ $repo = printf "%s/%s" (trimSuffix "/" $registry) $repo }}{{ end -}}
{{- if .image.digest -}}
{{ $repo }}@{{ .image.digest }}
{{- else -}}
{{ $repo }}:{{ default .ctx.Chart.AppVersion .image.tag }}
{{- end -}}
{{- end }}

{{- define "sanxiang.operator.fullname" -}}
{{- printf "%s-operator" (include "sanxiang.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sanxiang.tenantService.fullname" -}}
{{- printf "%s-tenant-service" (include "sanxiang.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Namespace of the operator's copies of the agencies' database Secrets, the only Secrets the
tenant service may read (docs/deploy.md §4). */}}
{{- define "sanxiang.tenantCredentialsNamespace" -}}
{{- $default := printf "%s-tenant-credentials" .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- default $default .Values.tenantService.credentials.namespace }}
{{- end }}

{{/* The names of Sanxiang's CRDs (the chart's crds/<name>.yaml), as a flow list. */}}
{{- define "sanxiang.crdNames" -}}
{{- $names := list }}
{{- range $path, $_ := .Files.Glob "crds/*.yaml" }}
{{- $names = append $names (base $path | trimSuffix ".yaml") }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{/* ServiceAccount names (the default account when not created). */}}
{{- define "sanxiang.operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}{{ include "sanxiang.operator.fullname" . }}{{ else }}default{{ end }}
{{- end }}

{{- define "sanxiang.tenantService.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}{{ include "sanxiang.tenantService.fullname" . }}{{ else }}default{{ end }}
{{- end }}

{{/* The shipped calendar files (calendars/<year>.yaml) selected by workCalendars, as YAML of
file name -> text; empty when workCalendars.enabled is false. */}}
{{- define "sanxiang.shippedCalendars" -}}
{{- $files := dict }}
{{- if .Values.workCalendars.enabled }}
{{- $years := list }}
{{- range .Values.workCalendars.years }}{{ $years = append $years (toString .) }}{{ end }}
{{- range $path, $_ := .Files.Glob "calendars/*.yaml" }}
{{- $text := $.Files.Get $path }}
{{- $year := toString ($text | fromYaml).spec.year }}
{{- if or (empty $years) (has $year $years) }}
{{- $_ := set $files (base $path) $text }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $files }}
{{- end }}

{{- define "sanxiang.disclosure.fullname" -}}
{{- printf "%s-disclosure" (include "sanxiang.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sanxiang.disclosure.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}{{ include "sanxiang.disclosure.fullname" . }}{{ else }}default{{ end }}
{{- end }}

{{- define "sanxiang.supervision.fullname" -}}
{{- printf "%s-supervision" (include "sanxiang.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sanxiang.supervision.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}{{ include "sanxiang.supervision.fullname" . }}{{ else }}default{{ end }}
{{- end }}
