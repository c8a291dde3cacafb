/**
 * The Kubernetes client layer: credentials (kubeconfig, in-cluster, exec plugins), the HTTP/1.1 or HTTP/2
 * client, discovery, slimming and the Reflector (list+watch). Parts import from here.
 */
export type { ClusterAuth, ClusterCredentials } from './credentials.ts';
export { loadKubeconfig, kubeconfigContextNames, defaultKubeconfigPath, type LoadKubeconfigOptions } from './kubeconfig.ts';
export { inClusterCredentials, SERVICE_ACCOUNT_DIR, type InClusterOptions } from './in-cluster.ts';
export { EXEC_CREDENTIAL_API_VERSIONS, EXEC_TIMEOUT_MS, ExecCredentialSource, parseExecCredential, type ExecCredentialResult } from './exec-credential.ts';
export { TOKEN_FILE_REREAD_MS } from './token-file.ts';
export {
  KubeClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_USER_AGENT,
  WATCH_DEADLINE_GRACE_MS,
  type KubeClientOptions,
  type KubeRequest,
  type KubeResponse,
  type QueryValue,
  type WatchOptions,
} from './client.ts';
export { caFingerprint } from './ca-fingerprint.ts';
export {
  apiErrorStatus,
  isExpiredError,
  kubeApiError,
  parseRetryAfter,
  parseStatus,
  HTTP_FORBIDDEN,
  HTTP_GONE,
  HTTP_NOT_FOUND,
  HTTP_TOO_MANY_REQUESTS,
  HTTP_UNAUTHORIZED,
  type KubeApiErrorDetails,
  type KubeStatus,
} from './api-error.ts';
export { pumpWatchStream, parseWatchLine, MAX_WATCH_LINE_BYTES, type WatchEvent, type WatchEventType } from './watch-event.ts';
export { apiVersionOf, resolveKind, resourcePath, type ApiResource, type KindQuery } from './api-resource.ts';
export {
  carryOverFailedGroups,
  diffResources,
  discoverResources,
  hasResourceChanges,
  DISCOVERY_CONCURRENCY,
  type DiscoveryResult,
  type FailedGroup,
  type ResourceChanges,
  type ServerVersion,
} from './discovery.ts';
export { slimObject, LAST_APPLIED_ANNOTATION } from './slim.ts';
export { listPages, type KubeList } from './pager.ts';
export {
  Reflector,
  REFLECTOR_STATES,
  type ListerWatcher,
  type ListSemaphore,
  type ReflectorOptions,
  type ReflectorState,
  type ReflectorStatus,
} from './reflector.ts';
export type { ChangeType, ReflectorSink, SnapshotReason } from './reflector-sink.ts';
export * from './reflector-defaults.ts';
