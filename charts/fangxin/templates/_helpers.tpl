{{/* Names ------------------------------------------------------------------------------ */}}

{{- define "fangxin.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fangxin.fullname" -}}
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

{{- define "fangxin.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fangxin.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fangxin.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Labels. part-of is fixed to "fangxin": the ServiceMonitor makes it the job label, which the
alerting rules select on (job="fangxin"), whatever the release is called. */}}
{{- define "fangxin.labels" -}}
helm.sh/chart: {{ include "fangxin.chart" . }}
{{ include "fangxin.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fangxin
{{- end }}

{{- define "fangxin.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fangxin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: (dict "root" $ "component" "gateway"). */}}
{{- define "fangxin.componentLabels" -}}
{{ include "fangxin.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fangxin.componentSelectorLabels" -}}
{{ include "fangxin.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Settings ---------------------------------------------------------------------------- */}}

{{/* The container port: the port of .Values.listen ("0.0.0.0:8080", ":8080"). */}}
{{- define "fangxin.port" -}}
{{- $port := regexFind ":[0-9]+$" (toString .Values.listen) | trimPrefix ":" }}
{{- if not $port }}
{{- fail (printf "listen (--listen, FANGXIN_LISTEN): %q has no :port" (toString .Values.listen)) }}
{{- end }}
{{- $port }}
{{- end }}

{{/* A comma-separated setting given as a string or a list. */}}
{{- define "fangxin.csv" -}}
{{- if kindIs "slice" . }}{{ join "," . }}{{ else }}{{ toString (default "" .) | trim }}{{ end }}
{{- end }}

{{- define "fangxin.image" -}}
{{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion (toString .Values.image.tag)) }}
{{- end }}

{{- define "fangxin.settingsSecretName" -}}
{{- default (printf "%s-settings" (include "fangxin.fullname" .)) .Values.existingSecret }}
{{- end }}

{{- define "fangxin.keysSecretName" -}}
{{- default (printf "%s-keys" (include "fangxin.fullname" .)) .Values.keys.existingSecret }}
{{- end }}

{{- define "fangxin.hasKeysSecret" -}}
{{- if or .Values.keys.existingSecret .Values.keys.json }}true{{ end }}
{{- end }}

{{/* Validation: the same rules the binary applies at start (hub.Config.Validate), reported at
render time and naming the value. Rendered once, from configmap.yaml. */}}
{{- define "fangxin.validate" -}}
{{- $errs := list }}
{{- if not (has .Values.logLevel (list "debug" "info" "warn" "error")) }}
{{- $errs = append $errs (printf "logLevel (FANGXIN_LOG_LEVEL): %q is not debug, info, warn or error" (toString .Values.logLevel)) }}
{{- end }}
{{- $_ := include "fangxin.port" . }}
{{- $brokers := include "fangxin.csv" .Values.kafkaBrokers }}
{{- $es := include "fangxin.csv" .Values.elasticsearchUrl }}
{{- if .Values.embedded.enabled }}
{{- if or $brokers $es .Values.existingSecret }}
{{- $errs = append $errs "embedded.enabled runs the embedded log and views: unset kafkaBrokers, elasticsearchUrl and existingSecret (or disable embedded mode)" }}
{{- end }}
{{- else }}
{{- if .Values.demo }}
{{- $errs = append $errs "demo (FANGXIN_DEMO): the demo loads into the embedded log only; set embedded.enabled=true" }}
{{- end }}
{{- if not .Values.existingSecret }}
{{- if not $brokers }}
{{- $errs = append $errs "kafkaBrokers (FANGXIN_KAFKA_BROKERS) is required in distributed mode (or existingSecret, or embedded.enabled=true)" }}
{{- end }}
{{- range splitList "," $brokers }}
{{- if and (trim .) (not (contains ":" .)) }}
{{- $errs = append $errs (printf "kafkaBrokers (FANGXIN_KAFKA_BROKERS): %q is not host:port" (trim .)) }}
{{- end }}
{{- end }}
{{- if not $es }}
{{- $errs = append $errs "elasticsearchUrl (FANGXIN_ELASTICSEARCH_URL) is required in distributed mode (or existingSecret, or embedded.enabled=true)" }}
{{- end }}
{{- range $i, $u := splitList "," $es }}
{{- if and (trim $u) (not (regexMatch "^https?://" (trim $u))) }}
{{- /* the URL itself is not echoed: it may carry credentials */}}
{{- $errs = append $errs (printf "elasticsearchUrl (FANGXIN_ELASTICSEARCH_URL): URL number %d must start with http:// or https://" (add1 $i)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- if $errs }}
{{- fail (printf "\n  - %s" (join "\n  - " $errs)) }}
{{- end }}
{{- end }}

{{/* Pod parts ---------------------------------------------------------------------------- */}}

{{/* The fangxin container: (dict "root" $ "role" "gateway" "resources" ... "probes" dict "http" bool). */}}
{{- define "fangxin.container" -}}
{{- $root := .root -}}
- name: fangxin
  image: {{ include "fangxin.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  command: {{ toJson $root.Values.image.command }}
  args: ["serve", "--role", {{ .role | quote }}]
  envFrom:
    - configMapRef:
        name: {{ include "fangxin.fullname" $root }}
    {{- if not $root.Values.embedded.enabled }}
    - secretRef:
        name: {{ include "fangxin.settingsSecretName" $root }}
    {{- end }}
  {{- $memLimit := dig "limits" "memory" "" (.resources | default dict) }}
  {{- if or $memLimit $root.Values.extraEnv }}
  env:
    {{- if $memLimit }}
    # fangxin serve collects garbage at GOGC 300 within a soft limit (internal/gctune); in a
    # container that limit is the container's memory limit.
    - name: GOMEMLIMIT
      valueFrom:
        resourceFieldRef:
          resource: limits.memory
    {{- end }}
    {{- with $root.Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- if .http }}
  ports:
    - name: http
      containerPort: {{ include "fangxin.port" $root }}
      protocol: TCP
  {{- end }}
  {{- range $probe, $spec := .probes }}
  {{ $probe }}:
    {{- toYaml $spec | nindent 4 }}
  {{- end }}
  resources:
    {{- toYaml .resources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: data
      mountPath: {{ $root.Values.dataDir }}
      {{- if eq .role "gateway" }}
      readOnly: true
      {{- end }}
    - name: tmp
      mountPath: /tmp
{{- end }}

{{/* Pod-level fields shared by every workload: (dict "root" $ "component" "gateway" "spec" .Values.gateway). */}}
{{- define "fangxin.podSpecCommon" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "fangxin.serviceAccountName" $root }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ .spec.terminationGracePeriodSeconds }}
{{- with .spec.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .spec.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if hasKey .spec "topologySpreadConstraints" }}
topologySpreadConstraints:
{{- if .spec.topologySpreadConstraints }}
  {{- toYaml .spec.topologySpreadConstraints | nindent 2 }}
{{- else }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "fangxin.componentSelectorLabels" (dict "root" $root "component" .component) | nindent 8 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod annotations: config checksums roll the pods when the settings change. */}}
{{- define "fangxin.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.embedded.enabled }}
checksum/settings: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end }}
