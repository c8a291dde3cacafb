/**
 * The hub's store contract. Every REST view and the ingest path go through it; which SQL engine sits
 * behind it (SQLite embedded, PostgreSQL, MySQL/MariaDB) never leaks past this folder.
 */

/** A feed: one kind watched in one namespace, or across all namespaces (namespace ""). */
export interface FeedKey {
  group: string;
  kind: string;
  /** The watch scope: "" for all namespaces (or a cluster-scoped kind). */
  namespace: string;
}

export interface FeedInfo extends FeedKey {
  version: string;
  resource: string;
  namespaced: boolean;
}

export interface ClusterIdentity {
  apiServerHost: string;
  caFingerprint: string;
  kubeSystemUid: string;
}

export interface KindRecord {
  group: string;
  version: string;
  kind: string;
  resource: string;
  namespaced: boolean;
  watchable: boolean;
  reason?: string;
}

export interface AccountRecord {
  name: string;
  cluster: ClusterIdentity;
  kubernetesVersion: string;
  namespaces: string[];
  kinds: KindRecord[];
  permissions: Record<string, string[]>;
  properties: Record<string, string>;
  /** The agent currently holding the account's caching stream, if any. */
  agentId: string | null;
  /** The hub replica holding that agent's session. */
  hubId: string | null;
  status: 'connected' | 'disconnected';
  registeredAt: number;
  lastSeenAt: number;
}

/** One change of a batch, already decoded from the wire. */
export type StoreChange =
  | { type: 'upsert'; feed: FeedInfo; namespace: string; name: string; uid: string; resourceVersion: string; body: string }
  | { type: 'delete'; feed: FeedInfo; namespace: string; name: string }
  | { type: 'touch'; feed: FeedInfo; namespace: string; name: string; resourceVersion: string }
  | { type: 'snapshotBegin'; feed: FeedInfo; snapshotId: string }
  | { type: 'snapshotEnd'; feed: FeedInfo; snapshotId: string; resourceVersion: string }
  | { type: 'feedDropped'; feed: FeedInfo; reason: string }
  | { type: 'skipped'; feed: FeedInfo; namespace: string; name: string; resourceVersion: string; code: string; message: string };

export interface StoreBatch {
  account: string;
  changes: StoreChange[];
  /** Resume points to record in the same transaction. */
  progress: Array<{ feed: FeedInfo; resourceVersion: string }>;
}

export interface BatchOutcome {
  upserted: number;
  deleted: number;
  touched: number;
  /** Objects deleted because a snapshot did not contain them. */
  pruned: number;
  /** Touches of objects the store does not hold (ignored). */
  touchesMissed?: number;
}

/** A cached object as the REST views read it. */
export interface CachedObject {
  account: string;
  group: string;
  version: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** Parsed lazily by callers: the JSON body as stored. */
  body: string;
  /** moniker application (from annotations or the name), null when none. */
  application: string | null;
  cluster: string | null;
  createdAt: number | null;
  updatedAt: number;
}

export interface ObjectQuery {
  account?: string;
  group?: string;
  kind?: string;
  kinds?: Array<{ group: string; kind: string }>;
  namespace?: string;
  name?: string;
  application?: string;
  limit?: number;
}

export type TaskState = 'STARTED' | 'COMPLETED' | 'FAILED' | 'FAILED_RETRYABLE';

export interface TaskHistoryEntry {
  phase: string;
  status: string;
  timestamp: number;
}

export interface TaskRecord {
  id: string;
  requestId: string | null;
  account: string | null;
  operationType: string;
  state: TaskState;
  history: TaskHistoryEntry[];
  resultObjects: unknown[];
  /** The request as received (the ops array), kept for restart and audit. */
  request: unknown;
  ownerHubId: string;
  createdAt: number;
  updatedAt: number;
}

/** One hub→agent operation, with the per-hop timestamps shown at the admin endpoint. */
export interface OperationRecord {
  id: string;
  taskId: string | null;
  account: string;
  type: string;
  status: 'PENDING' | 'SENT' | 'SUCCEEDED' | 'FAILED';
  httpStatus: number | null;
  errorCode: string | null;
  message: string | null;
  agentId: string | null;
  receivedAt: number;
  routedAt: number | null;
  sentAt: number | null;
  executedAt: number | null;
  resultAt: number | null;
}

export interface Store {
  /** Runs migrations; idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // accounts
  upsertAccount(account: Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>, now: number): Promise<void>;
  getAccount(name: string): Promise<AccountRecord | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  setAccountStatus(name: string, status: AccountRecord['status'], agentId: string | null, hubId: string | null, now: number): Promise<void>;
  deleteAccount(name: string): Promise<void>;

  // ingest
  applyBatch(batch: StoreBatch, now: number): Promise<BatchOutcome>;
  resumePoints(account: string): Promise<Array<{ feed: FeedInfo; resourceVersion: string }>>;

  // reads
  getObject(account: string, group: string, kind: string, namespace: string, name: string): Promise<CachedObject | undefined>;
  listObjects(query: ObjectQuery): Promise<CachedObject[]>;
  countObjects(account?: string): Promise<number>;

  // tasks and operations
  createTask(task: TaskRecord): Promise<void>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  findTaskByRequestId(requestId: string): Promise<TaskRecord | undefined>;
  /** The most recent tasks, newest first (GET /task). */
  listTasks?(limit: number): Promise<TaskRecord[]>;
  updateTask(id: string, patch: Partial<Pick<TaskRecord, 'state' | 'history' | 'resultObjects'>>, now: number): Promise<void>;
  appendTaskHistory(id: string, entry: TaskHistoryEntry, now: number): Promise<void>;
  recordOperation(op: OperationRecord): Promise<void>;
  updateOperation(id: string, patch: Partial<OperationRecord>): Promise<void>;
  listOperations(limit: number): Promise<OperationRecord[]>;
}
