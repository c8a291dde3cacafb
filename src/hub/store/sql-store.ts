import { sql, type Kysely } from 'kysely';
import type { Logger } from '../../common/logger.ts';
import type { FeedDigestValue } from '../../protocol/feed-digest.ts';
import type { SqlDialect } from './dialect.ts';
import { runMigrations } from './migrations.ts';
import type { Database } from './schema.ts';
import { SqlAccountStore } from './sql-account-store.ts';
import { SqlAssignmentStore } from './sql-assignment-store.ts';
import { SqlCacheReader } from './sql-cache-reader.ts';
import { SqlContext } from './sql-context.ts';
import { SqlDefinitionStore } from './sql-definition-store.ts';
import { SqlIngestStore } from './sql-ingest-store.ts';
import { SqlRelayStore } from './sql-relay-store.ts';
import { SqlReplicaStore } from './sql-replica-store.ts';
import { SqlTaskStore } from './sql-task-store.ts';
import type {
  AccountDefinitionRecord,
  AccountDefinitionWrite,
  AccountExpectation,
  AccountFeedState,
  AccountRecord,
  AccountState,
  ApplicationClusterRow,
  ApplicationScope,
  CachedObject,
  CachingAssignment,
  CachingClaim,
  CachingOwner,
  DefinitionDesiredState,
  FeedDigestState,
  FeedInfo,
  FeedKey,
  IngestOutcome,
  NamespacedObjectQuery,
  ObjectQuery,
  ObjectSearch,
  ObjectVersion,
  OperationFilter,
  OperationRecord,
  RelayClaimScope,
  RelayedClaim,
  RelayedOperation,
  RelayExpectation,
  RelayStatus,
  ReplicaRecord,
  Store,
  StoreBatch,
  StoreGroupKind,
  TaskExpectation,
  TaskHistoryEntry,
  TaskPatch,
  TaskQuery,
  TaskRecord,
} from './types.ts';

/**
 * The Store over any Kysely database: the SQL roles (accounts, ingest, cache reads, tasks, replicas,
 * caching assignments, the operation relay, dynamic account definitions) over one SqlContext, plus migrations, the health check and closing. Engine differences come in through
 * `dialect`; the constructor functions (createSqliteStore, createPostgresStore, createMysqlStore) only
 * build the Kysely instance. Each method below hands the call to its role.
 */
export class SqlStore implements Store {
  private readonly accounts: SqlAccountStore;
  private readonly ingest: SqlIngestStore;
  private readonly cache: SqlCacheReader;
  private readonly tasks: SqlTaskStore;
  private readonly replicas: SqlReplicaStore;
  private readonly assignments: SqlAssignmentStore;
  private readonly relay: SqlRelayStore;
  private readonly definitions: SqlDefinitionStore;
  private closing: Promise<void> | undefined;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: SqlDialect,
    private readonly logger: Logger,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    const context = new SqlContext(db, dialect, logger);
    this.ingest = new SqlIngestStore(context);
    this.accounts = new SqlAccountStore(context, this.ingest);
    this.cache = new SqlCacheReader(context);
    this.tasks = new SqlTaskStore(context);
    this.replicas = new SqlReplicaStore(context);
    this.assignments = new SqlAssignmentStore(context);
    this.relay = new SqlRelayStore(context);
    this.definitions = new SqlDefinitionStore(context);
  }

  async migrate(): Promise<void> {
    const applied = await runMigrations(this.db as Kysely<unknown>, this.dialect);
    if (applied.length > 0) this.logger.info({ migrations: applied, dialect: this.dialect.name }, 'store schema migrated');
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /** Closes the connections; later calls wait for the first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.db.destroy();
      await this.onClose();
    })();
    return this.closing;
  }

  // AccountStore

  upsertAccount(account: Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>, now: number): Promise<void> {
    return this.accounts.upsertAccount(account, now);
  }
  getAccount(name: string): Promise<AccountRecord | undefined> {
    return this.accounts.getAccount(name);
  }
  listAccounts(): Promise<AccountRecord[]> {
    return this.accounts.listAccounts();
  }

  listAccountStates(): Promise<AccountState[]> {
    return this.accounts.listAccountStates();
  }
  setAccountStatus(name: string, status: AccountRecord['status'], agentId: string | null, hubId: string | null, now: number): Promise<void> {
    return this.accounts.setAccountStatus(name, status, agentId, hubId, now);
  }
  markAbandoned(name: string, hubId: string | null, since: number): Promise<boolean> {
    return this.accounts.markAbandoned(name, hubId, since);
  }
  deleteAccount(name: string, expect?: AccountExpectation): Promise<boolean> {
    return this.accounts.deleteAccount(name, expect);
  }

  // IngestStore

  applyBatch(batch: StoreBatch, now: number): Promise<IngestOutcome> {
    return this.ingest.applyBatch(batch, now);
  }
  resumePoints(account: string): Promise<Array<{ feed: FeedInfo; resourceVersion: string }>> {
    return this.ingest.resumePoints(account);
  }
  feedDigest(account: string, feed: FeedKey): Promise<FeedDigestValue> {
    return this.ingest.feedDigest(account, feed);
  }
  recordDigestComparison(account: string, feed: FeedKey, diverged: boolean, now: number): Promise<void> {
    return this.ingest.recordDigestComparison(account, feed, diverged, now);
  }
  markDigestsDue(account: string, now: number): Promise<void> {
    return this.ingest.markDigestsDue(account, now);
  }

  // CacheReader

  getObject(account: string, group: string, kind: string, namespace: string, name: string): Promise<CachedObject | undefined> {
    return this.cache.getObject(account, group, kind, namespace, name);
  }
  listObjects(query: ObjectQuery): Promise<CachedObject[]> {
    return this.cache.listObjects(query);
  }
  countObjects(account?: string): Promise<number> {
    return this.cache.countObjects(account);
  }
  listApplicationObjects(application: string, kinds: readonly StoreGroupKind[], scope?: ApplicationScope): Promise<CachedObject[]> {
    return this.cache.listApplicationObjects(application, kinds, scope);
  }
  listApplicationObjectVersions(application: string, kinds: readonly StoreGroupKind[], scope?: ApplicationScope): Promise<ObjectVersion[]> {
    return this.cache.listApplicationObjectVersions(application, kinds, scope);
  }
  listApplicationClusters(kinds: readonly StoreGroupKind[], application?: string): Promise<ApplicationClusterRow[]> {
    return this.cache.listApplicationClusters(kinds, application);
  }
  listNamespacedObjects(query: NamespacedObjectQuery): Promise<CachedObject[]> {
    return this.cache.listNamespacedObjects(query);
  }
  listNamespacedObjectVersions(query: NamespacedObjectQuery): Promise<ObjectVersion[]> {
    return this.cache.listNamespacedObjectVersions(query);
  }
  searchObjects(query: ObjectSearch): Promise<CachedObject[]> {
    return this.cache.searchObjects(query);
  }
  feedDigestStates(account: string): Promise<FeedDigestState[]> {
    return this.cache.feedDigestStates(account);
  }
  listFeedStates(): Promise<AccountFeedState[]> {
    return this.cache.listFeedStates();
  }

  // TaskStore

  createTask(task: TaskRecord): Promise<void> {
    return this.tasks.createTask(task);
  }
  getTask(id: string): Promise<TaskRecord | undefined> {
    return this.tasks.getTask(id);
  }
  findTaskByRequestId(requestId: string, createdBy: string): Promise<TaskRecord | undefined> {
    return this.tasks.findTaskByRequestId(requestId, createdBy);
  }
  listTasks(limit: number): Promise<TaskRecord[]> {
    return this.tasks.listTasks(limit);
  }
  findTasks(query: TaskQuery): Promise<TaskRecord[]> {
    return this.tasks.findTasks(query);
  }
  listOperations(limit: number, filter?: OperationFilter): Promise<OperationRecord[]> {
    return this.tasks.listOperations(limit, filter);
  }
  updateTask(id: string, patch: Partial<Pick<TaskRecord, 'state' | 'history' | 'resultObjects'>>, now: number): Promise<void> {
    return this.tasks.updateTask(id, patch, now);
  }
  updateTaskIf(id: string, expect: TaskExpectation, patch: TaskPatch, now: number): Promise<boolean> {
    return this.tasks.updateTaskIf(id, expect, patch, now);
  }
  appendTaskHistory(id: string, entry: TaskHistoryEntry, now: number): Promise<void> {
    return this.tasks.appendTaskHistory(id, entry, now);
  }
  recordOperation(op: OperationRecord): Promise<void> {
    return this.tasks.recordOperation(op);
  }
  updateOperation(id: string, patch: Partial<OperationRecord>): Promise<void> {
    return this.tasks.updateOperation(id, patch);
  }

  // ReplicaStore

  heartbeat(replica: Omit<ReplicaRecord, 'heartbeatAt'>, now: number): Promise<void> {
    return this.replicas.heartbeat(replica, now);
  }
  listReplicas(): Promise<ReplicaRecord[]> {
    return this.replicas.listReplicas();
  }
  removeReplica(hubId: string): Promise<void> {
    return this.replicas.removeReplica(hubId);
  }
  pruneReplicas(heartbeatBefore: number): Promise<number> {
    return this.replicas.pruneReplicas(heartbeatBefore);
  }

  // AssignmentStore

  claimCaching(account: string, owner: CachingOwner, now: number, leaseMs: number): Promise<CachingClaim> {
    return this.assignments.claimCaching(account, owner, now, leaseMs);
  }
  renewSessions(hubId: string, sessionIds: readonly string[], now: number, leaseMs: number): Promise<CachingAssignment[]> {
    return this.assignments.renewSessions(hubId, sessionIds, now, leaseMs);
  }
  releaseCaching(account: string, owner: CachingOwner, epoch: number): Promise<void> {
    return this.assignments.releaseCaching(account, owner, epoch);
  }
  releaseReplica(hubId: string): Promise<number> {
    return this.assignments.releaseReplica(hubId);
  }
  getAssignment(account: string): Promise<CachingAssignment | undefined> {
    return this.assignments.getAssignment(account);
  }
  listAssignments(): Promise<CachingAssignment[]> {
    return this.assignments.listAssignments();
  }

  // RelayStore

  enqueueRelayed(op: RelayedOperation, now: number): Promise<void> {
    return this.relay.enqueueRelayed(op, now);
  }
  listQueuedRelayed(now: number, limit: number): Promise<Array<Pick<RelayedOperation, 'id' | 'account' | 'createdAt'>>> {
    return this.relay.listQueuedRelayed(now, limit);
  }
  claimRelayed(id: string, hubId: string, now: number): Promise<RelayedOperation | undefined> {
    return this.relay.claimRelayed(id, hubId, now);
  }
  markRelayedSent(id: string, hubId: string, now: number): Promise<boolean> {
    return this.relay.markRelayedSent(id, hubId, now);
  }
  unclaimRelayed(id: string, hubId: string, now: number): Promise<boolean> {
    return this.relay.unclaimRelayed(id, hubId, now);
  }
  completeRelayed(id: string, outcome: string, expect: RelayExpectation, now: number): Promise<boolean> {
    return this.relay.completeRelayed(id, outcome, expect, now);
  }
  listClaimedRelayed(scope: RelayClaimScope, limit: number): Promise<RelayedClaim[]> {
    return this.relay.listClaimedRelayed(scope, limit);
  }
  relayedStatus(id: string): Promise<RelayStatus | undefined> {
    return this.relay.relayedStatus(id);
  }
  finishedRelayed(originHubId: string, limit: number): Promise<Array<{ id: string; outcome: string }>> {
    return this.relay.finishedRelayed(originHubId, limit);
  }
  deleteRelayed(ids: readonly string[]): Promise<void> {
    return this.relay.deleteRelayed(ids);
  }
  pruneRelayed(before: number): Promise<number> {
    return this.relay.pruneRelayed(before);
  }

  // AccountDefinitionStore

  createDefinition(definition: AccountDefinitionWrite, by: string, now: number): Promise<boolean> {
    return this.definitions.createDefinition(definition, by, now);
  }
  updateDefinition(definition: AccountDefinitionWrite, by: string, now: number, expectRevision?: number): Promise<boolean> {
    return this.definitions.updateDefinition(definition, by, now, expectRevision);
  }
  getDefinition(name: string): Promise<AccountDefinitionRecord | undefined> {
    return this.definitions.getDefinition(name);
  }
  listDefinitions(): Promise<AccountDefinitionRecord[]> {
    return this.definitions.listDefinitions();
  }
  deleteDefinition(name: string, onlyIf?: DefinitionDesiredState): Promise<boolean> {
    return this.definitions.deleteDefinition(name, onlyIf);
  }
  definitionsVersion(): Promise<string> {
    return this.definitions.definitionsVersion();
  }
}
