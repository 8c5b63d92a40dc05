{{/* Names and labels, after the kube-state-metrics chart. */}}
{{- define "crd-metrics-bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release name alone when it already contains the chart name; truncated to 63 (DNS label). */}}
{{- define "crd-metrics-bridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "crd-metrics-bridge.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "crd-metrics-bridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "crd-metrics-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "crd-metrics-bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "crd-metrics-bridge.labels" -}}
helm.sh/chart: {{ include "crd-metrics-bridge.chart" . }}
{{ include "crd-metrics-bridge.selectorLabels" . }}
app.kubernetes.io/component: exporter
app.kubernetes.io/part-of: {{ include "crd-metrics-bridge.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "crd-metrics-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "crd-metrics-bridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "crd-metrics-bridge.image" -}}
{{- $tag := toString (default .Chart.AppVersion .Values.image.tag) -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The config file's text: a string value verbatim, a map as YAML. */}}
{{- define "crd-metrics-bridge.configYaml" -}}
{{- if kindIs "string" .Values.config -}}
{{- .Values.config -}}
{{- else if kindIs "map" .Values.config -}}
{{- toYaml .Values.config -}}
{{- else -}}
{{- fail "config must be a CustomResourceStateMetrics document (a map, or a string holding YAML)" -}}
{{- end -}}
{{- end -}}

{{/*
The plural RBAC needs when the config names a kind but no resourcePlural: the same English rules as
guessPlural in src/kube/clusterRole.ts (and kube-state-metrics' fallback). At run time the plural
comes from discovery; test/integration/helm.test.ts checks this agrees with `rbac --config`.
*/}}
{{- define "crd-metrics-bridge.guessPlural" -}}
{{- $kind := lower . -}}
{{- if regexMatch "(s|x|z|ch|sh)$" $kind -}}
{{- printf "%ses" $kind -}}
{{- else if regexMatch "[^aeiou]y$" $kind -}}
{{- printf "%sies" (trimSuffix "y" $kind) -}}
{{- else -}}
{{- printf "%ss" $kind -}}
{{- end -}}
{{- end -}}

{{/*
The ClusterRole rules for the config, as clusterRoleFor in src/kube/clusterRole.ts: CRD read for
discovery, then per API group (sorted) get/list/watch on its configured plurals (sorted, deduplicated),
or on every resource of the group when a resource's kind is "" or "*".
*/}}
{{- define "crd-metrics-bridge.rbacRules" -}}
{{- $config := .Values.config -}}
{{- if kindIs "string" $config -}}
{{- $config = fromYaml $config -}}
{{- if hasKey $config "Error" -}}
{{- fail (printf "config: not valid YAML: %s" (get $config "Error")) -}}
{{- end -}}
{{- end -}}
{{- $resources := list -}}
{{- if and (kindIs "map" $config) (kindIs "map" $config.spec) -}}
{{- $resources = default (list) $config.spec.resources -}}
{{- end -}}
{{- if not (kindIs "slice" $resources) -}}
{{- fail "config.spec.resources must be a list" -}}
{{- end -}}
{{- $byGroup := dict -}}
{{- range $index, $resource := $resources -}}
{{- $gvk := dict -}}
{{- if kindIs "map" $resource -}}
{{- $gvk = default (dict) $resource.groupVersionKind -}}
{{- end -}}
{{- if not (and (kindIs "map" $gvk) (hasKey $gvk "group")) -}}
{{- fail (printf "config.spec.resources[%d].groupVersionKind.group is required" $index) -}}
{{- end -}}
{{- $group := toString (default "" $gvk.group) -}}
{{- $kind := toString (default "" $gvk.kind) -}}
{{- $plural := "*" -}}
{{- if not (or (eq $kind "") (eq $kind "*")) -}}
{{- if kindIs "string" $resource.resourcePlural -}}
{{- $plural = $resource.resourcePlural -}}
{{- else -}}
{{- $plural = include "crd-metrics-bridge.guessPlural" $kind -}}
{{- end -}}
{{- end -}}
{{- $_ := set $byGroup $group (append (default (list) (get $byGroup $group)) $plural) -}}
{{- end -}}
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
{{- range $group, $plurals := $byGroup }}
- apiGroups: [{{ $group | toJson }}]
  resources: {{ if has "*" $plurals }}["*"]{{ else }}{{ $plurals | uniq | sortAlpha | toJson }}{{ end }}
  verbs: [get, list, watch]
{{- end }}
{{- end -}}

{{/*
The pod template, shared so another workload kind (a sharded StatefulSet) can reuse it. Room for
later options (web config, auth filter) is in extraArgs, extraVolumes and extraVolumeMounts.
*/}}
{{- define "crd-metrics-bridge.podTemplate" -}}
metadata:
  labels:
    {{- include "crd-metrics-bridge.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A config change rolls the pods (the bridge also reloads on SIGHUP, but nothing sends one here).
    checksum/config: {{ include "crd-metrics-bridge.configYaml" . | trimSuffix "\n" | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "crd-metrics-bridge.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: crd-metrics-bridge
      image: {{ include "crd-metrics-bridge.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - run
        - --config=/etc/crd-metrics-bridge/config.yaml
        - --source=kubernetes
        - --web.listen-address=:{{ .Values.service.port }}
        - --telemetry.listen-address=:{{ .Values.service.telemetryPort }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        {{- range $name, $value := .Values.env }}
        {{- if not (kindIs "invalid" $value) }}
        - name: {{ $name }}
          value: {{ $value | toString | quote }}
        {{- end }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http-metrics
          containerPort: {{ .Values.service.port }}
          protocol: TCP
        - name: telemetry
          containerPort: {{ .Values.service.telemetryPort }}
          protocol: TCP
      {{- with .Values.livenessProbe }}
      livenessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.readinessProbe }}
      readinessProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.startupProbe }}
      startupProbe:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.securityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: /etc/crd-metrics-bridge
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "crd-metrics-bridge.fullname" . }}
    - name: tmp
      emptyDir:
        sizeLimit: 16Mi
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
