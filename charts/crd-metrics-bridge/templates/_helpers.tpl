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
{{- if .Values.releaseLabel }}
release: {{ .Release.Name }}
{{- end }}
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
{{- $repository := .Values.image.repository -}}
{{- with .Values.image.registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository -}}
{{- end -}}
{{- $digest := .Values.image.digest -}}
{{- if and (not $digest) .Values.image.sha -}}
{{- $digest = printf "sha256:%s" .Values.image.sha -}}
{{- end -}}
{{- if $digest -}}
{{- printf "%s:%s@%s" $repository $tag $digest -}}
{{- else -}}
{{- printf "%s:%s" $repository $tag -}}
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

{{/* The directory holding the web config file and the TLS Secret's keys (one projected volume). */}}
{{- define "crd-metrics-bridge.webConfigDir" -}}
/etc/crd-metrics-bridge-web
{{- end -}}

{{/* The web config file's text ("" when webConfig.config is empty): a string verbatim, a map as YAML. */}}
{{- define "crd-metrics-bridge.webConfigYaml" -}}
{{- $config := .Values.webConfig.config -}}
{{- if kindIs "string" $config -}}
{{- $config -}}
{{- else if kindIs "map" $config -}}
{{- if $config }}{{ toYaml $config }}{{ end -}}
{{- else if not (kindIs "invalid" $config) -}}
{{- fail "webConfig.config must be an exporter-toolkit web config (a map, or a string holding YAML)" -}}
{{- end -}}
{{- end -}}

{{/* The web config as JSON ("{}" when unset), for templates that look at its keys. */}}
{{- define "crd-metrics-bridge.webConfigJson" -}}
{{- $text := include "crd-metrics-bridge.webConfigYaml" . -}}
{{- $parsed := dict -}}
{{- if $text -}}
{{- $parsed = fromYaml $text -}}
{{- if hasKey $parsed "Error" -}}
{{- fail (printf "webConfig.config: not valid YAML: %s" (get $parsed "Error")) -}}
{{- end -}}
{{- end -}}
{{- toJson $parsed -}}
{{- end -}}

{{/*
How the listeners serve under the web config: "" (plain HTTP), "tls" (HTTPS; kubelet's probes
work with scheme HTTPS) or "mtls" (a client certificate is required, which kubelet cannot send:
tcpSocket probes). As in docs/serving.md, "Health probes under authentication".
*/}}
{{- define "crd-metrics-bridge.tlsMode" -}}
{{- $web := include "crd-metrics-bridge.webConfigJson" . | fromJson -}}
{{- $tls := $web.tls_server_config -}}
{{- if $tls -}}
{{- if has (toString $tls.client_auth_type) (list "RequireAnyClientCert" "RequireAndVerifyClientCert") -}}
mtls
{{- else -}}
tls
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
A probe from values, adapted to the TLS mode (an explicit httpGet.scheme is kept, upper-cased as
Kubernetes wants it: the kube-state-metrics chart's values write `http`). `enabled` (the
kube-state-metrics chart's switch) is not a probe field: false means no probe, true with no handler
means an httpGet of /healthz. Prints nothing for no probe.
*/}}
{{- define "crd-metrics-bridge.probe" -}}
{{- $probe := deepCopy (default (dict) .probe) -}}
{{- $enabled := true -}}
{{- if hasKey $probe "enabled" -}}
{{- $enabled = $probe.enabled -}}
{{- $_ := unset $probe "enabled" -}}
{{- if and $enabled (not (or $probe.httpGet $probe.tcpSocket $probe.exec $probe.grpc)) -}}
{{- $_ := set $probe "httpGet" (dict "path" "/healthz" "port" "http-metrics") -}}
{{- end -}}
{{- end -}}
{{- if and $enabled $probe -}}
{{- if $probe.httpGet -}}
{{- if $probe.httpGet.scheme -}}
{{- $_ := set $probe.httpGet "scheme" (upper $probe.httpGet.scheme) -}}
{{- end -}}
{{- if eq .mode "mtls" -}}
{{- $port := $probe.httpGet.port -}}
{{- $_ := unset $probe "httpGet" -}}
{{- $_ := set $probe "tcpSocket" (dict "port" $port) -}}
{{- else if and (eq .mode "tls") (not $probe.httpGet.scheme) -}}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" -}}
{{- end -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}
{{- end -}}

{{/* A comma-separated list from a string or a list (the kube-state-metrics chart's namespaces). */}}
{{- define "crd-metrics-bridge.commaList" -}}
{{- if kindIs "slice" . -}}
{{- join "," . -}}
{{- else -}}
{{- toString (default "" .) | nospace -}}
{{- end -}}
{{- end -}}

{{/* The telemetry listener's address from selfMonitor (an IPv6 host gets its brackets). */}}
{{- define "crd-metrics-bridge.telemetryAddress" -}}
{{- $host := toString (default "" .Values.selfMonitor.telemetryHost) -}}
{{- if and (contains ":" $host) (not (hasPrefix "[" $host)) -}}
{{- $host = printf "[%s]" $host -}}
{{- end -}}
{{- printf "%s:%v" $host .Values.selfMonitor.telemetryPort -}}
{{- end -}}

{{/*
OTEL_RESOURCE_ATTRIBUTES of every pod: service.instance.id from the pod name (POD_NAME, defined
before it), so that replicas pushing OTLP stay separate series, then what env.OTEL_RESOURCE_ATTRIBUTES
gives; a value that sets service.instance.id itself is used as it is.
*/}}
{{- define "crd-metrics-bridge.resourceAttributes" -}}
{{- $given := toString (default "" (get .Values.env "OTEL_RESOURCE_ATTRIBUTES")) -}}
{{- if regexMatch "(^|,)\\s*service\\.instance\\.id\\s*=" $given -}}
{{- $given -}}
{{- else -}}
{{- list "service.instance.id=$(POD_NAME)" $given | compact | join "," -}}
{{- end -}}
{{- end -}}

{{/*
One ServiceMonitor endpoint from prometheus.monitor.http or .metrics, with the defaults the other
values imply: https under a web config with TLS, and with the auth filter Prometheus' own
ServiceAccount token unless the endpoint has authorization or bearerTokenSecret.
*/}}
{{- define "crd-metrics-bridge.monitorEndpoint" -}}
{{- $endpoint := .endpoint -}}
{{- $scheme := $endpoint.scheme -}}
{{- if and (not $scheme) (include "crd-metrics-bridge.tlsMode" .root) }}{{ $scheme = "https" }}{{ end -}}
{{- $bearerTokenFile := $endpoint.bearerTokenFile -}}
{{- if and (not $bearerTokenFile) .root.Values.authFilter.enabled (not $endpoint.authorization) (not $endpoint.bearerTokenSecret) -}}
{{- $bearerTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token" -}}
{{- end -}}
- port: {{ .port }}
  {{- with $endpoint.interval }}
  interval: {{ . }}
  {{- end }}
  {{- with $endpoint.scrapeTimeout }}
  scrapeTimeout: {{ . }}
  {{- end }}
  {{- with $endpoint.proxyUrl }}
  proxyUrl: {{ . }}
  {{- end }}
  {{- if $endpoint.enableHttp2 }}
  enableHttp2: true
  {{- end }}
  honorLabels: {{ $endpoint.honorLabels }}
  {{- with $scheme }}
  scheme: {{ . }}
  {{- end }}
  {{- with $endpoint.tlsConfig }}
  tlsConfig:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $endpoint.basicAuth }}
  basicAuth:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $endpoint.authorization }}
  authorization:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $endpoint.bearerTokenSecret }}
  bearerTokenSecret:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $bearerTokenFile }}
  bearerTokenFile: {{ . }}
  {{- end }}
  {{- with $endpoint.metricRelabelings }}
  metricRelabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $endpoint.relabelings }}
  relabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* Rules `rbac --auth-filter` adds: the bridge reviews scrapers' tokens and rights. */}}
{{- define "crd-metrics-bridge.authFilterRules" -}}
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
- apiGroups: [authorization.k8s.io]
  resources: [subjectaccessreviews]
  verbs: [create]
{{- end -}}

{{/* Rules of the Role `rbac --pod-sharding NAMESPACE` prints: read its pod, follow its StatefulSet. */}}
{{- define "crd-metrics-bridge.shardingRules" -}}
- apiGroups: [""]
  resources: [pods]
  verbs: [get]
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, list, watch]
{{- end -}}

{{/* One-line failures for value combinations the bridge would refuse at start. */}}
{{- define "crd-metrics-bridge.validate" -}}
{{- $web := include "crd-metrics-bridge.webConfigJson" . | fromJson -}}
{{- if and .Values.authFilter.enabled $web.basic_auth_users -}}
{{- fail "authFilter.enabled cannot be combined with webConfig.config.basic_auth_users (both use the Authorization header)" -}}
{{- end -}}
{{- if and .Values.autosharding.enabled (ne (toString .Values.service.clusterIP) "None") -}}
{{- fail "autosharding.enabled needs the headless Service the StatefulSet names: set service.clusterIP to None" -}}
{{- end -}}
{{- if and (include "crd-metrics-bridge.commaList" .Values.namespaces) (include "crd-metrics-bridge.commaList" .Values.namespacesDenylist) -}}
{{- fail "namespaces and namespacesDenylist cannot both be set (as --namespaces and --namespaces-denylist)" -}}
{{- end -}}
{{- end -}}

{{/*
The pod template of the Deployment and of the auto-sharded StatefulSet, with the web config,
auth filter and auto-sharding flags, volumes and probes.
*/}}
{{- define "crd-metrics-bridge.podTemplate" -}}
{{- include "crd-metrics-bridge.validate" . -}}
{{- $webConfig := include "crd-metrics-bridge.webConfigYaml" . -}}
{{- $tlsMode := include "crd-metrics-bridge.tlsMode" . -}}
metadata:
  labels:
    {{- include "crd-metrics-bridge.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # A config change rolls the pods (the bridge also reloads on SIGHUP, but nothing sends one here).
    checksum/config: {{ include "crd-metrics-bridge.configYaml" . | trimSuffix "\n" | sha256sum }}
    {{- if $webConfig }}
    # The bridge re-reads the web config by itself, but turning TLS on or off needs a restart.
    checksum/web-config: {{ $webConfig | sha256sum }}
    {{- end }}
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
  {{- if .Values.securityContext.enabled }}
  securityContext:
    {{- omit .Values.securityContext "enabled" | toYaml | nindent 4 }}
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
        - --telemetry.listen-address={{ include "crd-metrics-bridge.telemetryAddress" . }}
        {{- if .Values.autosharding.enabled }}
        # Auto-sharding as kube-state-metrics: shard = this pod's ordinal, total = replicas.
        - --pod=$(POD_NAME)
        - --pod-namespace=$(POD_NAMESPACE)
        {{- end }}
        {{- with include "crd-metrics-bridge.commaList" .Values.namespaces }}
        - --namespaces={{ . }}
        {{- end }}
        {{- with include "crd-metrics-bridge.commaList" .Values.namespacesDenylist }}
        - --namespaces-denylist={{ . }}
        {{- end }}
        {{- if $webConfig }}
        - --web.config.file={{ include "crd-metrics-bridge.webConfigDir" . }}/web-config.yml
        {{- end }}
        {{- if .Values.authFilter.enabled }}
        - --auth-filter
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        {{- if .Values.autosharding.enabled }}
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        {{- end }}
        {{- range $name, $value := .Values.env }}
        {{- if and (not (kindIs "invalid" $value)) (ne $name "OTEL_RESOURCE_ATTRIBUTES") }}
        - name: {{ $name }}
          value: {{ $value | toString | quote }}
        {{- end }}
        {{- end }}
        # service.instance.id: one OTLP stream per pod.
        - name: OTEL_RESOURCE_ATTRIBUTES
          value: {{ include "crd-metrics-bridge.resourceAttributes" . | quote }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http-metrics
          containerPort: {{ .Values.service.port }}
          protocol: TCP
        - name: telemetry
          containerPort: {{ .Values.selfMonitor.telemetryPort }}
          protocol: TCP
      {{- with include "crd-metrics-bridge.probe" (dict "probe" .Values.livenessProbe "mode" $tlsMode) }}
      livenessProbe:
        {{- . | nindent 8 }}
      {{- end }}
      {{- with include "crd-metrics-bridge.probe" (dict "probe" .Values.readinessProbe "mode" $tlsMode) }}
      readinessProbe:
        {{- . | nindent 8 }}
      {{- end }}
      {{- with include "crd-metrics-bridge.probe" (dict "probe" .Values.startupProbe "mode" $tlsMode) }}
      startupProbe:
        {{- . | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.containerSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: /etc/crd-metrics-bridge
          readOnly: true
        - name: tmp
          mountPath: /tmp
        {{- if $webConfig }}
        - name: web-config
          mountPath: {{ include "crd-metrics-bridge.webConfigDir" . }}
          readOnly: true
        {{- end }}
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
    {{- if $webConfig }}
    # The web config and the certificate files in one directory, so the web config can name them
    # relative to itself; kubelet updates both when the Secrets change.
    - name: web-config
      projected:
        sources:
          - secret:
              name: {{ include "crd-metrics-bridge.fullname" . }}-web-config
          {{- with .Values.webConfig.tlsSecret.name }}
          - secret:
              name: {{ . }}
              {{- with $.Values.webConfig.tlsSecret.items }}
              items:
                {{- toYaml . | nindent 16 }}
              {{- end }}
          {{- end }}
    {{- end }}
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
