/**
 * Every error the project raises on purpose is a ScaleAgentError with a stable code, declared once in
 * the catalogue below (in the manner of Fastify's FST_ERR_* codes), so that logs, API responses and
 * tests can match on the code instead of on message text.
 */
export interface ErrorDefinition {
  readonly code: string;
  /** HTTP status to use when this error reaches a REST client. */
  readonly httpStatus: number;
}

export class ScaleAgentError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  readonly details: Record<string, unknown>;

  constructor(def: ErrorDefinition, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScaleAgentError';
    this.code = def.code;
    this.httpStatus = def.httpStatus;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** Keeps each code's literal type, so that `Errors.X.code` is an ErrorCode wherever it is passed on. */
function def<Code extends string>(code: Code, httpStatus: number): { readonly code: Code; readonly httpStatus: number } {
  return { code, httpStatus };
}

/** The catalogue of error codes. Add a code here before raising it anywhere. */
export const Errors = {
  CONFIG_INVALID: def('CONFIG_INVALID', 500),
  CONFIG_FILE_UNREADABLE: def('CONFIG_FILE_UNREADABLE', 500),
  /**
   * A port a part must listen on cannot be opened: in use, not permitted, or its host is not an address
   * of this machine (src/common/listen-errors.ts). The message names the setting and its value.
   */
  PORT_UNAVAILABLE: def('PORT_UNAVAILABLE', 500),
  /** `scale-agent demo` in a directory where another demo still runs (its state file names a live process). */
  DEMO_ALREADY_RUNNING: def('DEMO_ALREADY_RUNNING', 409),
  KUBECONFIG_INVALID: def('KUBECONFIG_INVALID', 500),
  KUBE_API_ERROR: def('KUBE_API_ERROR', 502),
  KUBE_TRANSPORT_ERROR: def('KUBE_TRANSPORT_ERROR', 502),
  KUBE_TIMEOUT: def('KUBE_TIMEOUT', 504),
  KUBE_KIND_UNKNOWN: def('KUBE_KIND_UNKNOWN', 400),
  PROTOCOL_VIOLATION: def('PROTOCOL_VIOLATION', 400),
  PROTOCOL_VERSION_UNSUPPORTED: def('PROTOCOL_VERSION_UNSUPPORTED', 400),
  ACCOUNT_NOT_FOUND: def('ACCOUNT_NOT_FOUND', 404),
  ACCOUNT_OWNED_BY_OTHER_CLUSTER: def('ACCOUNT_OWNED_BY_OTHER_CLUSTER', 409),
  /** A release of an account name (POST /admin/accounts/{name}/release) while a session serves the account; `?force=true` ends this replica's hold first. */
  ACCOUNT_IN_USE: def('ACCOUNT_IN_USE', 409),
  /** Sent to an agent whose account an operator released with `force`: the hub no longer serves it through this session. */
  ACCOUNT_RELEASED: def('ACCOUNT_RELEASED', 409),
  ACCOUNT_NOT_CONNECTED: def('ACCOUNT_NOT_CONNECTED', 503),
  ACCOUNT_CLUSTER_UNREACHABLE: def('ACCOUNT_CLUSTER_UNREACHABLE', 503),
  SESSION_UNKNOWN: def('SESSION_UNKNOWN', 400),
  /** A Sync stream for an account its session does not (or no longer) cache. */
  NOT_CACHING_OWNER: def('NOT_CACHING_OWNER', 409),
  /**
   * A batch whose caching epoch (StoreBatch.fence) is no longer its account's: another (replica,
   * session) has claimed the account since, so the batch is refused whole and nothing of it is written.
   */
  CACHING_EPOCH_STALE: def('CACHING_EPOCH_STALE', 409),
  /** An account in a hello or update without a name, or declared twice. */
  ACCOUNT_INVALID: def('ACCOUNT_INVALID', 400),
  /** A dynamic account definition the agent could not run: not an object, or refused by the agent's account schema (the message lists each key). */
  ACCOUNT_DEFINITION_INVALID: def('ACCOUNT_DEFINITION_INVALID', 400),
  /** A dynamic account definition carrying credentials in the clear (kubeconfigContents that is not an `encrypted:` reference); the message names the key. */
  ACCOUNT_CREDENTIALS_IN_CLEAR: def('ACCOUNT_CREDENTIALS_IN_CLEAR', 400),
  /** A dynamic account definition created under a name that already has one. */
  ACCOUNT_DEFINITION_EXISTS: def('ACCOUNT_DEFINITION_EXISTS', 409),
  /** No dynamic account definition of that name (to update). */
  ACCOUNT_DEFINITION_NOT_FOUND: def('ACCOUNT_DEFINITION_NOT_FOUND', 404),
  /** A dynamic account definition changed by someone else between the read and the write (an import applying its plan). */
  ACCOUNT_DEFINITION_CONFLICT: def('ACCOUNT_DEFINITION_CONFLICT', 409),
  /** The account name is served by an agent from its own configuration: it cannot be defined, changed or deleted as a dynamic account. */
  ACCOUNT_NOT_DYNAMIC: def('ACCOUNT_NOT_DYNAMIC', 409),
  /** Clouddriver Account Management for a provider other than Kubernetes (`@type` other than `kubernetes`). */
  ACCOUNT_TYPE_UNSUPPORTED: def('ACCOUNT_TYPE_UNSUPPORTED', 400),
  /** The CLI (`scale-agent accounts`) cannot reach the hub's REST API, or its answer is not the API's. */
  HUB_UNREACHABLE: def('HUB_UNREACHABLE', 503),
  OPERATION_INVALID: def('OPERATION_INVALID', 400),
  OPERATION_DEADLINE_EXCEEDED: def('OPERATION_DEADLINE_EXCEEDED', 504),
  OPERATION_AGENT_GONE: def('OPERATION_AGENT_GONE', 503),
  /**
   * A relayed operation was handed to an agent by a hub replica that died before the result came back:
   * whether it ran is unknown. It is never sent again by the hub (at most once); Orca may retry the task.
   */
  OPERATION_OUTCOME_UNKNOWN: def('OPERATION_OUTCOME_UNKNOWN', 503),
  OPERATION_UNSUPPORTED: def('OPERATION_UNSUPPORTED', 400),
  /** An operation that cannot be sent to the agent: it does not encode, or is larger than one Session message may be. */
  OPERATION_TOO_LARGE: def('OPERATION_TOO_LARGE', 413),
  /** An operation's result larger than one Session message may be; the agent answers this instead. */
  OPERATION_RESULT_TOO_LARGE: def('OPERATION_RESULT_TOO_LARGE', 502),
  /** A deleted object still exists at the deadline because finalizers hold it; the message names them. */
  DELETE_BLOCKED_BY_FINALIZERS: def('DELETE_BLOCKED_BY_FINALIZERS', 409),
  MANIFEST_INVALID: def('MANIFEST_INVALID', 400),
  /**
   * An operation naming a namespace its account does not serve: not among the account's `namespaces`, or
   * among its `omitNamespaces` (Clouddriver's `wrongNamespace` / `omittedNamespace` validation, a 400 on
   * the POST before any task exists). The message names the namespace, the account and the operation.
   */
  NAMESPACE_NOT_ALLOWED: def('NAMESPACE_NOT_ALLOWED', 400),
  /** A JSON patch of a Secret that would copy, move or test its values (src/kube/secret-values.ts). */
  SECRET_VALUES_PROTECTED: def('SECRET_VALUES_PROTECTED', 403),
  REQUEST_INVALID: def('REQUEST_INVALID', 400),
  /**
   * A REST body, or a document decoded from it (an embedded/base64 artifact's YAML), beyond a structural
   * bound: nested deeper than MAX_NESTING_DEPTH, or YAML with too many tokens, documents, anchors or
   * aliases, or aliases that expand too far (src/hub/api/bounded-input.ts). The message names the limit and where.
   */
  REQUEST_TOO_COMPLEX: def('REQUEST_TOO_COMPLEX', 400),
  NOT_FOUND: def('NOT_FOUND', 404),
  TASK_NOT_FOUND: def('TASK_NOT_FOUND', 404),
  /** A resume or restart of a task that did not fail retryably. */
  TASK_NOT_RETRYABLE: def('TASK_NOT_RETRYABLE', 400),
  /**
   * A repeated clientRequestId whose task cannot be this request's: the caller's own task under that id
   * runs other operations or accounts, or the task predates the hub recording who creates tasks.
   */
  TASK_REQUEST_ID_CONFLICT: def('TASK_REQUEST_ID_CONFLICT', 409),
  /** A task's run ended without an outcome: its hub stopped (restart, crash) while it ran. */
  TASK_INTERRUPTED: def('TASK_INTERRUPTED', 503),
  /** A REST request without credentials while the hub's REST authorization is on (auth.enabled). */
  AUTHENTICATION_REQUIRED: def('AUTHENTICATION_REQUIRED', 401),
  /** A REST request whose credentials were refused: unknown token, untrusted Gate, malformed roles header. */
  AUTHENTICATION_FAILED: def('AUTHENTICATION_FAILED', 401),
  /** An authenticated REST caller without the role an account (READ, WRITE) or an admin endpoint needs. */
  ACCESS_DENIED: def('ACCESS_DENIED', 403),
  STORE_ERROR: def('STORE_ERROR', 500),
  /** The database server cannot be reached or refuses the hub's credentials. */
  STORE_UNAVAILABLE: def('STORE_UNAVAILABLE', 503),
  OBJECT_TOO_LARGE: def('OBJECT_TOO_LARGE', 413),
  SHUTTING_DOWN: def('SHUTTING_DOWN', 503),
  /** An agent's identity (client certificate or bearer token) does not allow the account it registers. */
  ACCOUNT_NOT_ALLOWED_FOR_IDENTITY: def('ACCOUNT_NOT_ALLOWED_FOR_IDENTITY', 403),
  /** An agent matches no configured identity (no or unknown credentials) and grpc.allowAnyIdentity is off. */
  AGENT_UNAUTHENTICATED: def('AGENT_UNAUTHENTICATED', 401),
  /** An agent presented a bearer token that matches no identity's token. */
  AGENT_TOKEN_INVALID: def('AGENT_TOKEN_INVALID', 401),
  /** Certificate, key or CA files for the agent-hub connection cannot be read or do not fit together. */
  TLS_FILES_INVALID: def('TLS_FILES_INVALID', 500),
  /** The agent's token command failed and no earlier token is at hand. */
  AUTH_TOKEN_UNAVAILABLE: def('AUTH_TOKEN_UNAVAILABLE', 503),
  /**
   * A secret reference (`encrypted:`, `encryptedFile:`) that cannot be used: malformed, an unknown engine
   * or parameter, or an engine the agent is not configured for. The message names the reference, never a value.
   */
  SECRET_REFERENCE_INVALID: def('SECRET_REFERENCE_INVALID', 500),
  /** A secret store (Vault, the agent's cluster) could not be read, or holds no such secret or key. */
  SECRET_UNAVAILABLE: def('SECRET_UNAVAILABLE', 503),
  /** An artifact request (PUT /artifacts/fetch/, the names and versions lists) that is malformed; the message names the field. */
  ARTIFACT_REQUEST_INVALID: def('ARTIFACT_REQUEST_INVALID', 400),
  /** No artifact account of that name handles that artifact type (Clouddriver's MissingCredentialsException, a 404 there too). */
  ARTIFACT_ACCOUNT_NOT_FOUND: def('ARTIFACT_ACCOUNT_NOT_FOUND', 404),
  /** An artifact type the hub does not fetch (s3/object, gcs/object, …), or an action its account does not offer (names of a github/file account). */
  ARTIFACT_TYPE_UNSUPPORTED: def('ARTIFACT_TYPE_UNSUPPORTED', 400),
  /** The artifact is not where the request says: a Helm chart name or version not in the repository's index. */
  ARTIFACT_NOT_FOUND: def('ARTIFACT_NOT_FOUND', 404),
  /** The artifact's server refused, failed or could not be reached, or redirected too often; the message names the host and its status. */
  ARTIFACT_FETCH_FAILED: def('ARTIFACT_FETCH_FAILED', 502),
  /** Fetching an artifact took longer than artifacts.timeoutMs (or connecting, artifacts.connectTimeoutMs). */
  ARTIFACT_FETCH_TIMEOUT: def('ARTIFACT_FETCH_TIMEOUT', 504),
  /**
   * An artifact larger than artifacts.maxBytes (a Helm index, artifacts.helm.indexMaxBytes): 502 when the
   * artifact's server sent it, 413 when the caller did (an embedded artifact).
   */
  ARTIFACT_TOO_LARGE: def('ARTIFACT_TOO_LARGE', 502),
  /**
   * A reference outside the origins an artifact account's credentials may be sent to (its `origins`, or
   * the provider's default: https://api.github.com, https://gitlab.com, https://api.bitbucket.org); the
   * message names the account, the origin and the key.
   */
  ARTIFACT_ORIGIN_REFUSED: def('ARTIFACT_ORIGIN_REFUSED', 403),
  /**
   * Every upstream fetch slot is taken (artifacts.maxConcurrentFetches) and the wait queue is full
   * (artifacts.maxQueuedFetches), or no slot freed within artifacts.timeoutMs; answered with Retry-After.
   */
  ARTIFACT_FETCH_BUSY: def('ARTIFACT_FETCH_BUSY', 503),
  /**
   * An artifact URL (or a redirect) to an address the operator did not allow (artifacts.network: loopback,
   * private, link-local, … by default) or with a scheme other than http and https; the message names the address and the rule.
   */
  ARTIFACT_ADDRESS_REFUSED: def('ARTIFACT_ADDRESS_REFUSED', 403),
  /**
   * Front50 (front50.baseUrl), asked for a project by GET /projects/{project}/clusters, could not be
   * reached, took longer than front50.timeoutMs, answered an error other than 404, more than
   * front50.maxResponseBytes, or something that is not a project. The message names Front50's URL and why.
   */
  FRONT50_UNAVAILABLE: def('FRONT50_UNAVAILABLE', 502),
  /**
   * A project whose clusters show more applications than the hub loads for one dashboard
   * (MAX_PROJECT_APPLICATIONS, src/hub/api/projects/project-clusters.ts); the message names the count and the limit.
   */
  PROJECT_TOO_LARGE: def('PROJECT_TOO_LARGE', 422),
  /** A failure nobody raised on purpose (a bug); the message and the log say more. */
  INTERNAL_ERROR: def('INTERNAL_ERROR', 500),
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof Errors;

export function isScaleAgentError(err: unknown, code?: ErrorCode): err is ScaleAgentError {
  return err instanceof ScaleAgentError && (code === undefined || err.code === code);
}

/** A message for logs from anything thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
