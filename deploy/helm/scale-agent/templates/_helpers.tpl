{{/*
Names, labels and shared pieces of both roles.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "scale-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource name: fullnameOverride, else the release name when it already holds the
chart name, else release-chart. Kept to 52 characters so that "-agent-identity" still fits 63.
*/}}
{{- define "scale-agent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "scale-agent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels of one role: call with (dict "root" $ "component" "agent"). */}}
{{- define "scale-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scale-agent.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Every label of one role's resources: call with (dict "root" $ "component" "agent"). */}}
{{- define "scale-agent.labels" -}}
helm.sh/chart: {{ include "scale-agent.chart" .root }}
{{ include "scale-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: scale-agent
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The image reference: repository@digest, or repository:tag (default the chart's appVersion). */}}
{{- define "scale-agent.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "scale-agent.agent.fullname" -}}
{{- printf "%s-agent" (include "scale-agent.fullname" .) }}
{{- end }}

{{- define "scale-agent.hub.fullname" -}}
{{- printf "%s-hub" (include "scale-agent.fullname" .) }}
{{- end }}

{{- define "scale-agent.agent.serviceAccountName" -}}
{{- if .Values.agent.serviceAccount.create }}
{{- default (include "scale-agent.agent.fullname" .) .Values.agent.serviceAccount.name }}
{{- else }}
{{- required "agent.serviceAccount.name is required when agent.serviceAccount.create is false" .Values.agent.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "scale-agent.hub.serviceAccountName" -}}
{{- if .Values.hub.serviceAccount.create }}
{{- default (include "scale-agent.hub.fullname" .) .Values.hub.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.hub.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Where Secrets are mounted: below /var/run/secrets, never inside the configuration's directory. */}}
{{- define "scale-agent.secretsDir" -}}
/var/run/secrets/scale-agent
{{- end }}

{{/* The directory the configuration ConfigMap is mounted at (whole, so that updates reach the pod). */}}
{{- define "scale-agent.configDir" -}}
/etc/scale-agent
{{- end }}

{{/* The writable data volume (SQLite file) and /tmp: the root file system is read-only. */}}
{{- define "scale-agent.dataDir" -}}
/var/lib/scale-agent
{{- end }}

{{/* The image's pull secrets, the pod security context and the scheduling fields of a role (call with the role's values as .role). */}}
{{- define "scale-agent.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .role.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .role.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .role.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .role.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .role.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
terminationGracePeriodSeconds: {{ .role.terminationGracePeriodSeconds }}
{{- end }}

{{/*
The agent's address of the hub: agent.hub.address, else the hub of this release, else a failure naming
the value to set.
*/}}
{{- define "scale-agent.agent.hubAddress" -}}
{{- if .Values.agent.hub.address }}
{{- .Values.agent.hub.address }}
{{- else if .Values.hub.enabled }}
{{- printf "%s:%d" (include "scale-agent.hub.fullname" .) (int .Values.hub.grpc.port) }}
{{- else }}
{{- fail "agent.hub.address is required: the hub's gRPC address, host:port (for example hub.example.com:9091)" }}
{{- end }}
{{- end }}

{{/* Whether the agent pod mounts its ServiceAccount token (see agent.serviceAccount.automountToken). */}}
{{- define "scale-agent.agent.automountToken" -}}
{{- $auto := .Values.agent.serviceAccount.automountToken }}
{{- if kindIs "bool" $auto }}
{{- $auto }}
{{- else }}
{{- or (eq .Values.agent.mode "agent") (ne .Values.agent.hub.token.secretName "") (gt (len .Values.agent.rbac.secretNames) 0) }}
{{- end }}
{{- end }}

{{/* A DNS-label-safe volume name for a Secret: "kc-" and a hash of its name. */}}
{{- define "scale-agent.secretVolumeName" -}}
{{- printf "%s-%s" .prefix (sha256sum .name | trunc 10) }}
{{- end }}

{{/*
The kubeconfig Secrets of infrastructure mode, one per distinct name: a list of names, as YAML (to
parse with fromYamlArray).
*/}}
{{- define "scale-agent.agent.kubeconfigSecrets" -}}
{{- $names := list }}
{{- range .Values.agent.accounts }}
{{- with .kubeconfigSecret }}
{{- $names = append $names (required "agent.accounts[].kubeconfigSecret.name is required" .name) }}
{{- end }}
{{- end }}
{{- toYaml (uniq $names) }}
{{- end }}

{{/* The agent's configuration file (agent.yaml), the chart's keys with agent.config merged over them. */}}
{{- define "scale-agent.agent.config" -}}
{{- $secrets := include "scale-agent.secretsDir" . }}
{{- $hub := .Values.agent.hub }}
{{- $clouddriver := dict "grpc" (include "scale-agent.agent.hubAddress" .) }}
{{- if $hub.insecure }}
{{- if or $hub.tls.caSecretName $hub.tls.clientCertSecretName $hub.serverName }}
{{- fail "agent.hub.insecure is exclusive with agent.hub.tls.* and agent.hub.serverName" }}
{{- end }}
{{- $_ := set $clouddriver "insecure" true }}
{{- else }}
{{- $tls := dict }}
{{- with $hub.tls.caSecretName }}
{{- $_ := set $tls "cacertFile" (printf "%s/hub-ca/%s" $secrets $hub.tls.caKey) }}
{{- end }}
{{- with $hub.serverName }}
{{- $_ := set $tls "serverName" . }}
{{- end }}
{{- with $hub.tls.clientCertSecretName }}
{{- $_ := set $tls "clientCertFile" (printf "%s/client-tls/%s" $secrets $hub.tls.clientCertKey) }}
{{- $_ := set $tls "clientKeyFile" (printf "%s/client-tls/%s" $secrets $hub.tls.clientKeyKey) }}
{{- end }}
{{- if $tls }}
{{- $_ := set $clouddriver "tls" $tls }}
{{- end }}
{{- end }}
{{- with $hub.token.secretName }}
{{- $_ := set $clouddriver "auth" (dict "token" (printf "encrypted:k8s!n:%s!k:%s!ns:%s" . $hub.token.key $.Release.Namespace)) }}
{{- end }}
{{- $kubernetes := dict }}
{{- if eq .Values.agent.mode "agent" }}
{{- $account := merge (dict "name" .Values.agent.accountName "serviceAccount" true) (deepCopy .Values.agent.account) }}
{{- if and .Values.agent.rbac.namespaces (not (hasKey .Values.agent.account "namespaces")) }}
{{- $_ := set $account "namespaces" .Values.agent.rbac.namespaces }}
{{- $_ := set $account "onlyNamespacedResources" true }}
{{- end }}
{{- $_ := set $kubernetes "accounts" (list $account) }}
{{- $_ := set $kubernetes "inClusterAccount" (dict "mode" "never") }}
{{- else if eq .Values.agent.mode "infrastructure" }}
{{- $accounts := list }}
{{- range .Values.agent.accounts }}
{{- $account := omit . "kubeconfigSecret" }}
{{- with .kubeconfigSecret }}
{{- $_ := set $account "kubeconfigFile" (printf "%s/kubeconfigs/%s/%s" $secrets .name (default "config" .key)) }}
{{- end }}
{{- $accounts = append $accounts $account }}
{{- end }}
{{- $_ := set $kubernetes "accounts" $accounts }}
{{- $_ := set $kubernetes "inClusterAccount" (dict "mode" "never") }}
{{- else }}
{{- fail (printf "agent.mode must be agent or infrastructure, not %q" .Values.agent.mode) }}
{{- end }}
{{- $config := dict "clouddriver" $clouddriver "kubernetes" $kubernetes "server" (dict "port" (int .Values.agent.adminPort)) }}
{{- if .Values.agent.prometheus.enabled }}
{{- $_ := set $config "prometheus" (dict "enabled" true "port" (int .Values.agent.prometheus.port)) }}
{{- end }}
{{- toYaml (mustMergeOverwrite $config (deepCopy .Values.agent.config)) }}
{{- end }}

{{/*
The agent's configuration without kubernetes.accounts: the settings the agent applies only at a restart
(config-reloader.ts reloads the accounts and just warns about the rest), for the pods' checksum.
*/}}
{{- define "scale-agent.agent.configWithoutAccounts" -}}
{{- $config := include "scale-agent.agent.config" . | fromYaml }}
{{- with $config.kubernetes }}
{{- $_ := unset . "accounts" }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* Whether the hub runs on the embedded SQLite (no external database configured). */}}
{{- define "scale-agent.hub.sqlite" -}}
{{- if .Values.hub.database.existingSecret }}
{{- false }}
{{- else if .Values.hub.database.url }}
{{- hasPrefix "sqlite:" .Values.hub.database.url }}
{{- else }}
{{- true }}
{{- end }}
{{- end }}

{{/* The Secret holding the hub's database URL, or nothing for the embedded SQLite. */}}
{{- define "scale-agent.hub.databaseSecret" -}}
{{- if .Values.hub.database.existingSecret }}
{{- .Values.hub.database.existingSecret }}
{{- else if .Values.hub.database.url }}
{{- printf "%s-database" (include "scale-agent.hub.fullname" .) }}
{{- end }}
{{- end }}

{{/* The hub's configuration file (hub.yaml), the chart's keys with hub.config merged over them. */}}
{{- define "scale-agent.hub.config" -}}
{{- $secrets := include "scale-agent.secretsDir" . }}
{{- $grpc := dict "port" (int .Values.hub.grpc.port) }}
{{- $tls := .Values.hub.grpc.tls }}
{{- if .Values.hub.grpc.insecure }}
{{- if or $tls.secretName $tls.clientCaSecretName }}
{{- fail "hub.grpc.insecure is exclusive with hub.grpc.tls.secretName and clientCaSecretName" }}
{{- end }}
{{- $_ := set $grpc "insecure" true }}
{{- else }}
{{- $files := dict "certFile" (printf "%s/grpc-tls/%s" $secrets $tls.certKey) "keyFile" (printf "%s/grpc-tls/%s" $secrets $tls.keyKey) }}
{{- if not $tls.secretName }}
{{- if not (dig "grpc" "tls" "" .Values.hub.config) }}
{{- fail "hub.grpc.tls.secretName is required (a Secret with the hub's gRPC certificate and key), or hub.grpc.insecure: true for plaintext (docs/security.md)" }}
{{- end }}
{{- end }}
{{- with $tls.clientCaSecretName }}
{{- $_ := set $files "clientCaFile" (printf "%s/grpc-client-ca/%s" $secrets $tls.clientCaKey) }}
{{- end }}
{{- with $tls.clientAuth }}
{{- $_ := set $files "clientAuth" . }}
{{- end }}
{{- if $tls.secretName }}
{{- $_ := set $grpc "tls" $files }}
{{- end }}
{{- end }}
{{- if .Values.hub.allowAnyIdentity }}
{{- $_ := set $grpc "allowAnyIdentity" true }}
{{- else if not (or .Values.hub.identities (hasKey .Values.hub.config "identities")) }}
{{- fail "hub.identities is required (which agents may register which accounts, docs/security.md), or hub.allowAnyIdentity: true to admit any agent" }}
{{- end }}
{{- $database := dict "poolSize" (int .Values.hub.database.poolSize) }}
{{- if eq (include "scale-agent.hub.sqlite" .) "true" }}
{{- $_ := set $database "url" (default (printf "sqlite:%s" .Values.hub.database.sqlitePath) .Values.hub.database.url) }}
{{- else }}
{{- $_ := set $database "urlEnv" "SCALE_AGENT_DATABASE_URL" }}
{{- end }}
{{- $config := dict "server" (dict "port" (int .Values.hub.restPort)) "grpc" $grpc "database" $database }}
{{- with .Values.hub.identities }}
{{- $_ := set $config "identities" . }}
{{- end }}
{{- toYaml (mustMergeOverwrite $config (deepCopy .Values.hub.config)) }}
{{- end }}
