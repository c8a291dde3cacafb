/**
 * The hub's tables as Kysely sees them. Column names are snake_case SQL; timestamps are epoch
 * milliseconds (BIGINT); JSON documents are TEXT so that one schema serves SQLite, PostgreSQL and
 * MySQL/MariaDB alike. `api_group` (not `group`) because GROUP is reserved in every dialect.
 */
import type { ColumnType } from 'kysely';

/**
 * Bounded lengths of key columns. Kubernetes limits: names are DNS subdomains (253), namespaces
 * DNS labels (63), API groups DNS subdomains (253). Kinds are CamelCase identifiers; 100 leaves room
 * for long CRD kinds. Account names follow Clouddriver's practice of short identifiers, but a DNS
 * subdomain fits. See dialect.ts for how MySQL keeps the objects primary key within its index limit.
 */
export const KEY_LENGTHS = {
  account: 253,
  group: 253,
  kind: 100,
  namespace: 63,
  name: 253,
  version: 63,
  resource: 253,
  resourceVersion: 64,
  uid: 64,
  id: 64,
  requestId: 255,
  /** A task's creator: `user:<name>`; a longer one is kept as its SHA-256 (rows.ts, requestIdKey). */
  createdBy: 255,
  agentId: 253,
  hubId: 253,
  status: 32,
  operationType: 64,
  application: 253,
  cluster: 512,
  errorCode: 64,
  snapshotId: 128,
  /** An agent session's id (a ULID today; room for another scheme). */
  sessionId: 64,
  /** Where a hub replica serves REST, as it announces it (descriptive: cut to fit). */
  restUrl: 2048,
  /** Where a hub replica serves gRPC, host:port as it announces it (descriptive: cut to fit). */
  grpcAddress: 512,
  /** An agent's zone (Armory's zoneId: `<deployment>_<namespace>` or a pod name by default). */
  zoneId: 253,
} as const;

export interface AccountsTable {
  name: string;
  api_server_host: string;
  ca_fingerprint: string;
  kube_system_uid: string;
  kubernetes_version: string;
  /** JSON string[] */
  namespaces: string;
  /** JSON KindRecord[] */
  kinds: string;
  /** JSON Record<string, string[]> */
  permissions: string;
  /** JSON Record<string, string> */
  properties: string;
  agent_id: string | null;
  hub_id: string | null;
  status: string;
  registered_at: number;
  last_seen_at: number;
  /** Source of snapshot epochs: strictly increasing per account. */
  snapshot_epoch: number;
  /** Why the serving agent cannot reach the account's cluster; NULL when it can (migration 0010). */
  unreachable_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A nullable number column that inserts may leave out (added by a later migration). */
type OptionalColumn = ColumnType<number | null, number | null | undefined, number | null>;

export interface FeedsTable {
  account: string;
  api_group: string;
  kind: string;
  /** The watch scope: "" for all namespaces or a cluster-scoped kind. */
  namespace: string;
  version: string;
  resource: string;
  namespaced: number;
  resume_rv: string;
  /** The epoch objects of this feed are stamped with; a snapshot takes a new one. */
  epoch: number;
  /** The snapshot that took the current epoch, so a replayed snapshotBegin keeps it. */
  snapshot_id: string;
  updated_at: number;
  /** Anti-entropy: when the agent's digest of the feed was last compared with the rows (epoch ms). */
  digest_checked_at: OptionalColumn;
  /** Set while the last comparison found a difference: since when. */
  diverged_since: OptionalColumn;
  /** Comparisons that found a difference, ever. */
  divergences: OptionalColumn;
  /** Since when a comparison is awaited: set when the agent's sync stream (re)opens, cleared by a match. */
  digest_due_since: OptionalColumn;
}

export interface ObjectsTable {
  account: string;
  api_group: string;
  kind: string;
  namespace: string;
  name: string;
  version: string;
  uid: string;
  resource_version: string;
  body: string;
  application: string | null;
  cluster: string | null;
  created_at: number | null;
  epoch: number;
  updated_at: number;
}

export interface TasksTable {
  id: string;
  request_id: string | null;
  account: string | null;
  operation_type: string;
  state: string;
  /** JSON TaskHistoryEntry[] */
  history: string;
  /** JSON unknown[] */
  result_objects: string;
  /** JSON: the request as received */
  request: string;
  /** Who created the task (TaskRecord.createdBy); null for tasks stored before migration 0007. */
  created_by: string | null;
  owner_hub_id: string;
  created_at: number;
  updated_at: number;
}

export interface OperationsTable {
  id: string;
  task_id: string | null;
  account: string;
  type: string;
  status: string;
  http_status: number | null;
  error_code: string | null;
  message: string | null;
  agent_id: string | null;
  received_at: number;
  routed_at: number | null;
  sent_at: number | null;
  executed_at: number | null;
  result_at: number | null;
}

/** One row per hub replica that heartbeats in the database (ReplicaStore). */
export interface HubReplicasTable {
  hub_id: string;
  started_at: number;
  heartbeat_at: number;
  rest_url: string | null;
  grpc_address: string | null;
}

/**
 * Who caches each account (AssignmentStore): one row per account that was ever claimed. Rows outlive
 * releases and accounts, so that an epoch is never handed out twice for an account name.
 */
export interface CachingAssignmentsTable {
  account: string;
  hub_id: string;
  session_id: string;
  agent_id: string;
  /** The fencing epoch: grows by one whenever the account's caching changes hands. */
  epoch: number;
  /** The caching lease's end (epoch ms); 0 once released. */
  lease_expires_at: number;
  /** When the row was last claimed or renewed (a release leaves it). */
  updated_at: number;
}

/**
 * Operations on their way between hub replicas (RelayStore): submitted at a replica without a session
 * for the account, claimed and run by one that has one, the outcome read back by the submitter. Rows
 * are transient: the submitter deletes its row once it has the outcome; the operations table keeps the record.
 */
export interface RelayedOperationsTable {
  id: string;
  account: string;
  /** The replica that submitted the operation and waits for its outcome. */
  origin_hub_id: string;
  /** QUEUED, CLAIMED, SENT or DONE (RelayStatus). */
  status: string;
  /** The replica that claimed the operation; NULL while queued. */
  claimed_by: string | null;
  /** JSON OperationRequest. */
  request: string;
  deadline_at: number;
  /** JSON OperationOutcome once DONE. */
  outcome: string | null;
  created_at: number;
  updated_at: number;
}

/**
 * Dynamic account definitions (AccountDefinitionStore, migration 0011): accounts the hub's operators
 * define through the REST API, pushed to the agents that serve them (src/hub/definitions).
 */
export interface AccountDefinitionsTable {
  name: string;
  /** JSON object: the account with the keys of the agent's kubernetes.accounts[] entries, keys sorted. */
  definition: string;
  /** Only agents of this zone serve it; NULL: every agent that takes dynamic accounts. */
  zone_id: string | null;
  /** active, inactive or deleting (DefinitionDesiredState). */
  desired_state: string;
  /** 1 when created, one more at every change. */
  revision: number;
  created_at: number;
  created_by: string;
  updated_at: number;
  updated_by: string;
}

export interface Database {
  accounts: AccountsTable;
  feeds: FeedsTable;
  objects: ObjectsTable;
  tasks: TasksTable;
  operations: OperationsTable;
  hub_replicas: HubReplicasTable;
  caching_assignments: CachingAssignmentsTable;
  relayed_operations: RelayedOperationsTable;
  account_definitions: AccountDefinitionsTable;
}
