/**
 * The hub's store contract, by role: AccountStore (AccountReader for reads), IngestStore, CacheReader,
 * TaskStore (TaskReader for reads, OperationRecorder for the router's bookkeeping), and for several hub
 * replicas on one database ReplicaStore, AssignmentStore and RelayStore. Each component depends on the narrowest
 * role it uses; Store composes them for whoever opens the database. Which SQL engine sits behind them
 * (SQLite embedded, PostgreSQL, MySQL/MariaDB) never leaks past this folder.
 */
import type { ObjectKey } from '../../common/object-key.ts';
import type { FeedDigestValue } from '../../protocol/feed-digest.ts';

/** A feed: one kind watched in one namespace, or across all namespaces (namespace ""). */
export interface FeedKey {
  group: string;
  kind: string;
  /** The watch scope: "" for all namespaces (or a cluster-scoped kind). */
  namespace: string;
}

export interface FeedDigestState extends FeedKey {
  checkedAt: number | null;
  divergedSince: number | null;
  divergences: number;
  /** Set from the agent's (re)connect until a comparison matches. */
  dueSince: number | null;
}

/** A feed of some account as the status page shows it: its digest state and when a batch last changed it. */
export interface AccountFeedState extends FeedDigestState {
  account: string;
  /** When a committed batch last changed the feed's row (its resume point, snapshot or kind): epoch ms. */
  updatedAt: number;
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

/** A reason is a sentence or two; an agent's longer one is cut rather than stored (or logged) whole. */
export const UNREACHABLE_REASON_MAX_LENGTH = 2000;
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
  /**
   * Why the agent serving the account cannot reach its cluster (or read its credentials), when it
   * cannot; the account stays registered, with its cache, and reads say why it is stale.
   */
  unreachableReason?: string;
  registeredAt: number;
  lastSeenAt: number;
}

/** One change of a batch, already decoded from the wire. */
export type StoreChange =
  /** `metadata`: the JSON of the body's top-level metadata when the agent located it (the indexed columns come from it alone). */
  | { type: 'upsert'; feed: FeedInfo; namespace: string; name: string; uid: string; resourceVersion: string; body: string; metadata?: string }
  /**
   * `uid`, `resourceVersion`: the deleted object's, when the sender knows them (the agent does). Not
   * stored, but held to the limits of every key a change carries (storable-keys.ts).
   */
  | { type: 'delete'; feed: FeedInfo; namespace: string; name: string; uid?: string; resourceVersion?: string }
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
  /**
   * The caching epoch the sender holds (AssignmentStore): the batch commits only while the account's
   * assignment still has this epoch, and is refused with CACHING_EPOCH_STALE otherwise, so a replica or
   * session that lost the account cannot write over its successor. Absent: not fenced (a single hub).
   */
  fence?: number;
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

/** An entry of a batch the store left out because it cannot hold its keys (storable-keys.ts). */
export interface RejectedEntry {
  /** Where in the StoreBatch: `changes` or `progress`. */
  entry: 'change' | 'progress';
  /** Its index there. */
  index: number;
  /** Why, in the words the hub logs. */
  reason: string;
}

/** What applyBatch did: the counts, and the entries it left out (the rest of the batch is committed). */
export interface IngestOutcome extends BatchOutcome {
  rejected: RejectedEntry[];
}

/** A cached object as the REST views read it: its account and key, and what the row holds. */
export interface CachedObject extends ObjectKey {
  account: string;
  version: string;
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

/** What listObjects selects: any parts of the key, the account, kinds, the application (each optional). */
export interface ObjectQuery extends Partial<ObjectKey> {
  account?: string;
  kinds?: Array<{ group: string; kind: string }>;
  application?: string;
  limit?: number;
}

/** A Kubernetes kind as the store keys it. */
export interface StoreGroupKind {
  group: string;
  kind: string;
}

/** One (application, account, cluster) the cache holds objects for. */
export interface ApplicationClusterRow {
  application: string;
  account: string;
  /** The moniker cluster column; null when the object had none. */
  cluster: string | null;
}

/** Which object version a row is, without its body: what the views' caches are keyed by. */
export interface ObjectVersion extends ObjectKey {
  account: string;
  uid: string;
  resourceVersion: string;
}

/** Narrows an application's objects to one account and/or one moniker cluster. */
export interface ApplicationScope {
  account?: string;
  cluster?: string;
}

/** Objects of some kinds in some namespaces of one account, optionally only some names. */
export interface NamespacedObjectQuery {
  account: string;
  kinds: readonly StoreGroupKind[];
  namespaces: readonly string[];
  names?: readonly string[];
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
  /**
   * Who created the task: `user:<name>` (lower-cased) for an authenticated REST caller, `anonymous` while
   * REST auth is off; null for tasks stored before the hub recorded it. A repeated clientRequestId finds
   * only its own caller's task (see findTaskByRequestId). Never changed by a retry.
   */
  createdBy?: string | null;
  ownerHubId: string;
  createdAt: number;
  updatedAt: number;
}

/** The fields of a task its runner rewrites. */
export type TaskPatch = Partial<Pick<TaskRecord, 'state' | 'history' | 'resultObjects' | 'ownerHubId' | 'request'>>;

/** What a conditional task update expects to find. */
export interface TaskExpectation {
  state?: TaskState | readonly TaskState[];
  ownerHubId?: string;
  /** The task was last updated at or before this time (it went stale). */
  updatedAtOrBefore?: number;
}

export interface TaskQuery {
  state?: TaskState;
  ownerHubId?: string;
  /** Only tasks last updated before this time. */
  updatedBefore?: number;
  limit: number;
}

export interface OperationFilter {
  taskId?: string;
  account?: string;
  /**
   * Only operations on these accounts (SQL `IN`, in bounded chunks): what a caller may READ, so that the
   * newest `limit` are theirs rather than the newest hub-wide with theirs dropped after. Empty: none.
   */
  accounts?: readonly string[];
  type?: string;
  status?: OperationRecord['status'];
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

/** Of a registered account, what says whether and where it is served: what the account gauges read. */
export type AccountState = Pick<AccountRecord, 'name' | 'status' | 'unreachableReason' | 'hubId' | 'agentId' | 'lastSeenAt'>;

/** The accounts as they are registered: what the REST side and the operation router read. */
export interface AccountReader {
  getAccount(name: string): Promise<AccountRecord | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
}

/** The accounts' states: what the account gauges of /metrics read at every scrape. */
export interface AccountStateReader {
  /**
   * Every account's state alone, by name: without the kinds, namespaces and permissions whose JSON a
   * whole record parses (reading a thousand whole records for each scrape of /metrics cost the hub 5 s
   * of CPU over a thousand-account sync scraped every second).
   */
  listAccountStates(): Promise<AccountState[]>;
}

/** Registering accounts, following their agents' sessions, and removing them (the hub's sweep). */
export interface AccountStore extends AccountReader {
  upsertAccount(account: Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>, now: number): Promise<void>;
  setAccountStatus(name: string, status: AccountRecord['status'], agentId: string | null, hubId: string | null, now: number): Promise<void>;
  /** Removes the account with its cache; with `expect`, only while its row is as read (false when it changed or is gone). */
  deleteAccount(name: string, expect?: AccountExpectation): Promise<boolean>;
}

/**
 * What an account's row must still say for a conditional removal: unchanged since it was read (an agent
 * registering it meanwhile moves last_seen_at), so a check-then-delete never removes what just arrived.
 */
export interface AccountExpectation {
  status: AccountRecord['status'];
  lastSeenAt: number;
}

/** What the account sweep (replicas/account-lifetime.ts) changes: abandoned accounts marked, long-gone ones removed. */
export interface AccountSweepStore extends AccountStateReader {
  /**
   * Marks the account disconnected since `since` only while it is still marked connected through
   * `hubId` (null: through no replica), so a session that connected meanwhile is not overwritten; false
   * when it was not.
   */
  markAbandoned(name: string, hubId: string | null, since: number): Promise<boolean>;
  deleteAccount(name: string, expect?: AccountExpectation): Promise<boolean>;
}

/**
 * What an operator wants of a dynamic account definition: served (`active`), kept but not served
 * (`inactive`), or withdrawn from its agents until no session serves it, then removed (`deleting`).
 */
export type DefinitionDesiredState = 'active' | 'inactive' | 'deleting';

/** What a write of a dynamic account definition sets. */
export interface AccountDefinitionWrite {
  name: string;
  /** The account as a JSON object with the keys of the agent's kubernetes.accounts[] entries. */
  definition: string;
  /** Only the agents of this zone serve it; null: every agent that takes dynamic accounts. */
  zoneId: string | null;
  desiredState: DefinitionDesiredState;
}

/** A dynamic account definition as stored (src/hub/definitions). */
export interface AccountDefinitionRecord extends AccountDefinitionWrite {
  /** 1 when created, one more at every change. */
  revision: number;
  createdAt: number;
  /** Who created it: `user:<name>`, or `anonymous` while REST authorization is off. */
  createdBy: string;
  updatedAt: number;
  updatedBy: string;
}

/**
 * Dynamic account definitions: written by the REST API, read whole by every replica, which pushes
 * them to its agents. A change at any replica shows in definitionsVersion, which replicas poll.
 */
export interface AccountDefinitionStore {
  /** Inserts a definition at revision 1; false (and nothing written) when one of that name exists. */
  createDefinition(definition: AccountDefinitionWrite, by: string, now: number): Promise<boolean>;
  /**
   * Replaces a definition's content, zone and desired state and adds one to its revision; false when
   * there is no such definition, or (compare-and-set) its revision is not `expectRevision`.
   */
  updateDefinition(definition: AccountDefinitionWrite, by: string, now: number, expectRevision?: number): Promise<boolean>;
  getDefinition(name: string): Promise<AccountDefinitionRecord | undefined>;
  /** Every definition, by name. */
  listDefinitions(): Promise<AccountDefinitionRecord[]>;
  /** Removes a definition, only while its desired state is `onlyIf` when given; true when a row went. */
  deleteDefinition(name: string, onlyIf?: DefinitionDesiredState): Promise<boolean>;
  /**
   * A value that changes whenever a definition is created, changed or removed (at any replica): one
   * cheap aggregate read, for polling.
   */
  definitionsVersion(): Promise<string>;
}

/** The ingest path: the sync streams' batches, the resume points they leave, and anti-entropy. */
export interface IngestStore {
  /**
   * Commits one batch in one transaction. Entries whose keys the store cannot hold (storable-keys.ts)
   * are left out and listed in the outcome, so that they never fail the whole batch. A fenced batch
   * (StoreBatch.fence) is refused whole with CACHING_EPOCH_STALE unless its epoch is the account's.
   */
  applyBatch(batch: StoreBatch, now: number): Promise<IngestOutcome>;
  resumePoints(account: string): Promise<Array<{ feed: FeedInfo; resourceVersion: string }>>;
  /** Anti-entropy: the digest of what the store holds for a feed (see src/protocol/feed-digest.ts). */
  feedDigest(account: string, feed: FeedKey): Promise<FeedDigestValue>;
  /** Records the outcome of a digest comparison on the feed's row. */
  recordDigestComparison(account: string, feed: FeedKey, diverged: boolean, now: number): Promise<void>;
  /** The account's agent (re)opened its sync stream: every feed's digest is awaited from `now` (unless already awaited). */
  markDigestsDue(account: string, now: number): Promise<void>;
}

/**
 * The cache as the REST views read it: objects, the application views' indexed reads, and how current
 * each feed's copy is (anti-entropy's verdicts, shown with the account).
 */
export interface CacheReader {
  getObject(account: string, group: string, kind: string, namespace: string, name: string): Promise<CachedObject | undefined>;
  listObjects(query: ObjectQuery): Promise<CachedObject[]>;
  countObjects(account?: string): Promise<number>;

  // application views (src/hub/views): indexed reads, never a scan of the objects table
  /** The objects of `kinds` whose application column is `application`, optionally in one account or cluster. */
  listApplicationObjects(application: string, kinds: readonly StoreGroupKind[], scope?: ApplicationScope): Promise<CachedObject[]>;
  /** The same objects' versions, without reading their bodies. */
  listApplicationObjectVersions(application: string, kinds: readonly StoreGroupKind[], scope?: ApplicationScope): Promise<ObjectVersion[]>;
  /**
   * Distinct (application, account, cluster) of objects of `kinds` that carry an application; one
   * application or all. Kinds are matched as kind IN … AND group IN …, exact for Kubernetes' own groups.
   */
  listApplicationClusters(kinds: readonly StoreGroupKind[], application?: string): Promise<ApplicationClusterRow[]>;
  /** Objects of some kinds in some namespaces of an account (primary-key ranges). */
  listNamespacedObjects(query: NamespacedObjectQuery): Promise<CachedObject[]>;
  /** The same objects' versions, without reading their bodies. */
  listNamespacedObjectVersions(query: NamespacedObjectQuery): Promise<ObjectVersion[]>;

  /**
   * Objects by the filters the Spinnaker views beyond plain listing need (search, dynamic targets, a
   * Job's pods, raw resources): every field given narrows the result. Ordered like listObjects.
   */
  searchObjects(query: ObjectSearch): Promise<CachedObject[]>;

  /** Per feed of the account: when its digest was last compared, and since when it differs (if it does). */
  feedDigestStates(account: string): Promise<FeedDigestState[]>;
  /** Every feed of every account in one read, by account and feed (the status page's freshness and divergence). */
  listFeedStates(): Promise<AccountFeedState[]>;
}

/** Tasks and operations as the REST routes and the task runner read them. */
export interface TaskReader {
  getTask(id: string): Promise<TaskRecord | undefined>;
  /**
   * The newest task made for a clientRequestId by `createdBy`, or by nobody recorded (a task stored before
   * creators were: the caller decides what to do with it). Another caller's task under the same id is
   * never returned: request ids are scoped per caller.
   */
  findTaskByRequestId(requestId: string, createdBy: string): Promise<TaskRecord | undefined>;
  /** The most recent tasks, newest first (GET /task). */
  listTasks(limit: number): Promise<TaskRecord[]>;
  /** Tasks by state, owner and staleness (recovery after a restart, dead replicas), oldest first. */
  findTasks(query: TaskQuery): Promise<TaskRecord[]>;
  /** The most recent operations, newest first; every filter field given narrows the list. */
  listOperations(limit: number, filter?: OperationFilter): Promise<OperationRecord[]>;
}

/** Every hop of a hub→agent operation (the router's bookkeeping, the task runner's failures). */
export interface OperationRecorder {
  recordOperation(op: OperationRecord): Promise<void>;
  updateOperation(id: string, patch: Partial<OperationRecord>): Promise<void>;
}

/** What the task runner writes: tasks, and the operations it fails along with them. */
export interface TaskWriter extends OperationRecorder {
  createTask(task: TaskRecord): Promise<void>;
  updateTask(id: string, patch: Partial<Pick<TaskRecord, 'state' | 'history' | 'resultObjects'>>, now: number): Promise<void>;
  /**
   * Writes `patch` only while the task still matches `expect` (compare-and-set): false when it did not,
   * i.e. another writer (a PATCH from Orca, another replica's recovery) took the task meanwhile.
   */
  updateTaskIf(id: string, expect: TaskExpectation, patch: TaskPatch, now: number): Promise<boolean>;
  appendTaskHistory(id: string, entry: TaskHistoryEntry, now: number): Promise<void>;
}

export interface TaskStore extends TaskReader, TaskWriter {}

/**
 * The read roles together: what the REST routes read, through AuthorizedStore (src/hub/auth) when REST
 * authorization is installed. None of them changes anything.
 */
export interface StoreReader extends AccountReader, CacheReader, TaskReader {}

/** Whether the database answers (GET /health). */
export interface StoreHealth {
  /** One round trip to the database; throws the driver's error when it cannot be reached. */
  ping(): Promise<void>;
}

/** A hub replica as the shared database knows it. */
export interface ReplicaRecord {
  hubId: string;
  startedAt: number;
  /** The replica's last heartbeat; a replica silent for longer than the dead-after interval is dead. */
  heartbeatAt: number;
  /** Where the replica serves REST and gRPC, as it announced them (for operators; nothing dials them). */
  restUrl: string | null;
  grpcAddress: string | null;
}

/** Replica liveness: every hub replica heartbeats in the database (src/hub/replicas). */
export interface ReplicaStore {
  /** Records that the replica is alive at `now`, inserting its row on the first beat. */
  heartbeat(replica: Omit<ReplicaRecord, 'heartbeatAt'>, now: number): Promise<void>;
  /** Every replica row, newest heartbeat first; the caller judges liveness by heartbeatAt. */
  listReplicas(): Promise<ReplicaRecord[]>;
  /** A replica that stops cleanly removes its row. */
  removeReplica(hubId: string): Promise<void>;
  /** Deletes the rows of replicas silent since before `heartbeatBefore` (long dead); returns how many. */
  pruneReplicas(heartbeatBefore: number): Promise<number>;
}

/** Who caches an account: one agent session at one hub replica. */
export interface CachingOwner {
  hubId: string;
  sessionId: string;
  agentId: string;
}

/** An account's caching assignment: its owner, fencing epoch and lease. */
export interface CachingAssignment extends CachingOwner {
  account: string;
  /**
   * Grows by one every time the account's caching changes hands, and is never reused (a release keeps
   * it), so a batch carrying an older epoch is known to come from a former owner.
   */
  epoch: number;
  /** The owner must renew before this time; after it any replica may claim the account. 0 once released. */
  leaseExpiresAt: number;
}

export type CachingClaim = { granted: true; epoch: number } | { granted: false; holder: CachingAssignment };

/**
 * Caching ownership across hub replicas: per account exactly one (replica, session) caches at a time,
 * under a lease it renews, fenced by an epoch that every batch carries (StoreBatch.fence).
 */
export interface AssignmentStore {
  /**
   * Grants the account to `owner` when nobody holds it (never claimed, or released), the holder's lease
   * has expired (now ≥ leaseExpiresAt) or `owner` already holds it (then the epoch stays and the lease
   * is extended); a change of hands increments the epoch (the first claim gets 1). Atomic: of racing
   * claims exactly one is granted. An owner is its (hubId, sessionId); agentId is recorded with it. An
   * owner whose lease lapsed still holds the account until someone else claims it (nobody else can have
   * written meanwhile); one that released it does not, and claiming again takes the next epoch.
   */
  claimCaching(account: string, owner: CachingOwner, now: number, leaseMs: number): Promise<CachingClaim>;
  /**
   * Renews, in one transaction, every lease replica `hubId` holds for one of `sessionIds` (a lapsed lease
   * nobody claimed included), and returns those assignments as they are now. An account the replica
   * believes it holds but that is not among them (or is at another epoch) was claimed by another owner
   * or released: the replica has lost it. Two statements whatever the number of accounts.
   */
  renewSessions(hubId: string, sessionIds: readonly string[], now: number, leaseMs: number): Promise<CachingAssignment[]>;
  /** Gives the account up (lease 0, owner kept for the record) if `owner` still holds it at `epoch`. */
  releaseCaching(account: string, owner: CachingOwner, epoch: number): Promise<void>;
  /** Releases every assignment `hubId` holds (the replica stops, or was found dead); returns how many. */
  releaseReplica(hubId: string): Promise<number>;
  getAssignment(account: string): Promise<CachingAssignment | undefined>;
  /** Every assignment, by account, released ones included (leaseExpiresAt 0). */
  listAssignments(): Promise<CachingAssignment[]>;
}

/** Where a relayed operation is: waiting for a replica, claimed by one, sent to its agent, finished. */
export type RelayStatus = 'QUEUED' | 'CLAIMED' | 'SENT' | 'DONE';

/**
 * An operation submitted at a hub replica that has no agent session for its account, waiting in the
 * shared database for a replica that has one (src/hub/relay).
 */
export interface RelayedOperation {
  id: string;
  account: string;
  /** The replica that submitted it and waits for the outcome. */
  originHubId: string;
  /** The OperationRequest as JSON. */
  request: string;
  /** When the operation's deadline passes (epoch ms). */
  deadlineAt: number;
  createdAt: number;
}

/** A relayed operation some replica has taken and not finished. */
export interface RelayedClaim {
  id: string;
  account: string;
  originHubId: string;
  status: 'CLAIMED' | 'SENT';
  claimedBy: string;
  deadlineAt: number;
}

/** Whose claims listClaimedRelayed lists: one replica's, or every replica's but some (both: the one, unless excepted). */
export interface RelayClaimScope {
  claimedBy?: string;
  exceptHubs?: readonly string[];
}

/** The state a relayed operation must be in for a transition to happen (compare-and-set). */
export interface RelayExpectation {
  statuses: readonly RelayStatus[];
  /** The claimer the row must name. */
  claimedBy?: string;
}

/**
 * The operation relay between hub replicas. Every transition is one conditional UPDATE, so of two
 * replicas racing for a row exactly one wins, and a replica that lost its claim (found dead by the
 * others) can no longer move the row: QUEUED → CLAIMED → SENT → DONE, or CLAIMED → QUEUED again when
 * its claimer died before sending, or straight to DONE when the submitter gives up or a claimer died after sending.
 */
export interface RelayStore {
  enqueueRelayed(op: RelayedOperation, now: number): Promise<void>;
  /** Operations no replica has claimed yet and whose deadline is after `now`, oldest first. */
  listQueuedRelayed(now: number, limit: number): Promise<Array<Pick<RelayedOperation, 'id' | 'account' | 'createdAt'>>>;
  /** Takes a queued operation for `hubId`; undefined when another replica took it first (or it is gone). */
  claimRelayed(id: string, hubId: string, now: number): Promise<RelayedOperation | undefined>;
  /** CLAIMED → SENT while `hubId` still holds the claim: only then may it hand the operation to an agent. */
  markRelayedSent(id: string, hubId: string, now: number): Promise<boolean>;
  /** CLAIMED → QUEUED while `hubId` still holds the claim (it cannot run it after all; another replica may). */
  unclaimRelayed(id: string, hubId: string, now: number): Promise<boolean>;
  /** Records the outcome (JSON) and moves the row to DONE, if it is as expected; false when it was not. */
  completeRelayed(id: string, outcome: string, expect: RelayExpectation, now: number): Promise<boolean>;
  /**
   * Operations claimed and not finished, oldest first, by the replicas `scope` names: one (`claimedBy`:
   * a starting replica's leftovers) or all but some (`exceptHubs`: the live ones), so that claims the
   * caller does not look for never crowd out those it does.
   */
  listClaimedRelayed(scope: RelayClaimScope, limit: number): Promise<RelayedClaim[]>;
  /** Where a relayed operation is; undefined when there is no such row (never queued, or deleted). */
  relayedStatus(id: string): Promise<RelayStatus | undefined>;
  /** The finished operations `originHubId` submitted, with their outcomes (JSON). */
  finishedRelayed(originHubId: string, limit: number): Promise<Array<{ id: string; outcome: string }>>;
  deleteRelayed(ids: readonly string[]): Promise<void>;
  /** Deletes rows whose deadline passed before `before` (their submitter gave up or died); returns how many. */
  pruneRelayed(before: number): Promise<number>;
}

/** Every role over one database, for whoever opens it (open-store.ts, hub.ts) and hands the roles out. */
export interface Store
  extends
    AccountStore,
    AccountStateReader,
    AccountSweepStore,
    IngestStore,
    CacheReader,
    TaskStore,
    StoreHealth,
    ReplicaStore,
    AssignmentStore,
    RelayStore,
    AccountDefinitionStore {
  /** Runs migrations; idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** The query of CacheReader.searchObjects. */
export interface ObjectSearch {
  account?: string;
  /** Any of these kinds; an empty list matches nothing. */
  kinds?: Array<{ group: string; kind: string }>;
  namespace?: string;
  /** The moniker application column. */
  application?: string;
  /** The moniker cluster column. */
  cluster?: string;
  /** Names starting with this text, e.g. "<job>-" for a Job's pods (byte-wise, case-sensitive). */
  namePrefix?: string;
  /**
   * A case-insensitive substring prefilter: objects whose namespace, name, application or cluster
   * contains `contains`, or whose account is one of `orAccounts`, or whose kind is one of `orKinds`.
   */
  text?: { contains: string; orAccounts?: string[]; orKinds?: Array<{ group: string; kind: string }> };
  /** Leaves the bodies out (`body` is "") when only the keys and columns are needed. */
  withoutBodies?: boolean;
  limit?: number;
}
