import { sql, type Kysely, type Selectable, type SelectQueryBuilder } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { Errors, ScaleAgentError, errorMessage, isScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { FeedDigestAccumulator, type FeedDigestValue } from '../../protocol/feed-digest.ts';
import { applyBatchesInTransaction, type IngestCache } from './batch-apply.ts';
import type { SqlDialect } from './dialect.ts';
import { runMigrations } from './migrations.ts';
import { accountFromRow, clampText, objectFromRow, operationFromRow, operationPatchToRow, requestIdKey, taskFromRow, withoutNul, taskToRow, toNullableNumber, toNumber } from './rows.ts';
import { KEY_LENGTHS, type Database, type ObjectsTable } from './schema.ts';
import type {
  AccountRecord,
  ApplicationClusterRow,
  ApplicationScope,
  BatchOutcome,
  CachedObject,
  FeedDigestState,
  FeedInfo,
  FeedKey,
  NamespacedObjectQuery,
  ObjectQuery,
  ObjectVersion,
  ObjectSearch,
  OperationFilter,
  OperationRecord,
  Store,
  StoreBatch,
  StoreGroupKind,
  TaskExpectation,
  TaskHistoryEntry,
  TaskPatch,
  TaskQuery,
  TaskRecord,
} from './types.ts';

const ACCOUNT_UPDATE_COLUMNS = [
  'api_server_host',
  'ca_fingerprint',
  'kube_system_uid',
  'kubernetes_version',
  'namespaces',
  'kinds',
  'permissions',
  'properties',
  'agent_id',
  'hub_id',
  'status',
  'last_seen_at',
] as const;

/**
 * An object version without its body. These columns precede `body` in the row, so SQLite reads them
 * without following a large body into its overflow pages.
 */
const VERSION_COLUMNS = ['account', 'api_group', 'kind', 'namespace', 'name', 'uid', 'resource_version'] as const;

type NamespacedSelect = SelectQueryBuilder<Database, 'objects', object>;

function versionFromRow(row: Pick<Selectable<ObjectsTable>, (typeof VERSION_COLUMNS)[number]>): ObjectVersion {
  return { account: row.account, group: row.api_group, kind: row.kind, namespace: row.namespace, name: row.name, uid: row.uid, resourceVersion: row.resource_version };
}

/** Keys (namespaces, names) per `IN (…)` list of the views' lookups. */
const VIEW_KEYS_PER_STATEMENT = 500;

function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function chunked<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

function kindKey(group: string, kind: string): string {
  return `${group}/${kind}`;
}

function kindSet(kinds: readonly StoreGroupKind[]): Set<string> {
  return new Set(kinds.map((k) => kindKey(k.group, k.kind)));
}

/** A group commit (applyBatch on SQLite) takes at most this many batches, or changes, at once. */
const MAX_GROUP_BATCHES = 512;
const MAX_GROUP_CHANGES = 8000;

/** Attempts of one store call that keeps meeting deadlocks or serialization failures. */
const TRANSIENT_ATTEMPTS = 4;

/**
 * Groups, kinds and namespaces are ASCII by Kubernetes validation and stored in ASCII columns; a value
 * with other characters matches nothing, and MySQL would refuse to compare it with an ASCII column
 * (a collation error), so such lookups answer "nothing" without asking the database.
 */
const NON_ASCII = /[^\x00-\x7f]/;
function asciiKeys(...values: Array<string | undefined>): boolean {
  return values.every((v) => v === undefined || !NON_ASCII.test(v));
}

/**
 * The Store over any Kysely database. Engine differences come in through `dialect`; the constructor
 * functions (createSqliteStore, createPostgresStore, createMysqlStore) only build the Kysely instance.
 */
export class SqlStore implements Store {
  private closing: Promise<void> | undefined;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: SqlDialect,
    private readonly logger: Logger,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {
    this.ingestCache = dialect.name === 'sqlite' ? new Map() : undefined;
  }

  async migrate(): Promise<void> {
    const applied = await runMigrations(this.db as Kysely<unknown>, this.dialect);
    if (applied.length > 0) this.logger.info({ migrations: applied, dialect: this.dialect.name }, 'store schema migrated');
  }

  /** One round trip to the database; throws the driver's error when it cannot be reached. */
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

  // accounts

  async upsertAccount(account: Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>, now: number): Promise<void> {
    await this.guard('upsertAccount', () =>
      this.dialect
        .upsert(
          this.db.insertInto('accounts').values({
            name: account.name,
            api_server_host: account.cluster.apiServerHost,
            ca_fingerprint: account.cluster.caFingerprint,
            kube_system_uid: account.cluster.kubeSystemUid,
            kubernetes_version: clampText(account.kubernetesVersion, KEY_LENGTHS.version),
            namespaces: JSON.stringify(account.namespaces),
            kinds: JSON.stringify(account.kinds),
            permissions: JSON.stringify(account.permissions),
            properties: JSON.stringify(account.properties),
            agent_id: account.agentId,
            hub_id: account.hubId,
            status: account.status,
            registered_at: now,
            last_seen_at: now,
            snapshot_epoch: 0,
          }),
          ['name'],
          ACCOUNT_UPDATE_COLUMNS,
        )
        .execute(),
    );
  }

  async getAccount(name: string): Promise<AccountRecord | undefined> {
    const row = await this.guard('getAccount', () => this.db.selectFrom('accounts').selectAll().where('name', '=', name).executeTakeFirst());
    return row ? accountFromRow(row) : undefined;
  }

  async listAccounts(): Promise<AccountRecord[]> {
    const rows = await this.guard('listAccounts', () => this.db.selectFrom('accounts').selectAll().orderBy('name').execute());
    return rows.map(accountFromRow);
  }

  async setAccountStatus(name: string, status: AccountRecord['status'], agentId: string | null, hubId: string | null, now: number): Promise<void> {
    await this.guard('setAccountStatus', () =>
      this.db.updateTable('accounts').set({ status, agent_id: agentId, hub_id: hubId, last_seen_at: now }).where('name', '=', name).execute(),
    );
  }

  async deleteAccount(name: string): Promise<void> {
    await this.guard('deleteAccount', () =>
      this.db.transaction().execute(async (trx) => {
        // The account row first: it is the lock applyBatch takes, so a batch in flight either commits
        // before this or finds the account gone, and the two never wait on each other's rows.
        await trx.deleteFrom('accounts').where('name', '=', name).execute();
        await trx.deleteFrom('feeds').where('account', '=', name).execute();
        await trx.deleteFrom('objects').where('account', '=', name).execute();
        // Inside the transaction: no group commit can run between these deletes and forgetting the rows.
        this.ingestCache?.delete(name);
      }),
    );
  }

  // ingest

  /**
   * Commits one batch in one transaction. On SQLite (one writer: transactions run one after another
   * anyway) batches that arrive while a transaction runs are committed together in the next one — a
   * group commit: each batch is still applied whole and in arrival order, and each caller gets its own
   * outcome, but a commit's fixed cost (journal pages, locks) is paid once per group rather than once per
   * batch. That is what lets thousands of accounts with a few changes each stay current. Should the
   * group's transaction fail, its batches are retried one transaction each, so only a batch that fails
   * on its own fails its caller.
   */
  async applyBatch(batch: StoreBatch, now: number): Promise<BatchOutcome> {
    if (this.dialect.name !== 'sqlite') return this.applyBatches([{ batch, now }]).then((outcomes) => outcomes[0]!);
    return new Promise<BatchOutcome>((resolve, reject) => {
      this.ingestQueue.push({ batch, now, resolve, reject });
      if (!this.ingesting) void this.drainIngestQueue();
    });
  }

  /**
   * The accounts' snapshot epochs and feed rows as the last group commits left them (batch-apply.ts):
   * only on SQLite, where this store is the database's one writer and its statements run one at a time.
   */
  private readonly ingestCache: IngestCache | undefined;

  private readonly ingestQueue: Array<{ batch: StoreBatch; now: number; resolve: (outcome: BatchOutcome) => void; reject: (err: unknown) => void }> = [];
  private ingesting = false;

  private async drainIngestQueue(): Promise<void> {
    this.ingesting = true;
    try {
      while (this.ingestQueue.length > 0) {
        let changes = 0;
        let take = 0;
        while (take < this.ingestQueue.length && take < MAX_GROUP_BATCHES && (take === 0 || changes + this.ingestQueue[take]!.batch.changes.length <= MAX_GROUP_CHANGES)) {
          changes += this.ingestQueue[take]!.batch.changes.length;
          take++;
        }
        const group = this.ingestQueue.splice(0, take);
        try {
          const outcomes = await this.applyBatches(group);
          group.forEach((g, i) => g.resolve(outcomes[i]!));
        } catch (err) {
          if (group.length === 1) {
            group[0]!.reject(err);
            continue;
          }
          for (const g of group) {
            try {
              g.resolve((await this.applyBatches([g]))[0]!);
            } catch (alone) {
              g.reject(alone);
            }
          }
        }
      }
    } finally {
      this.ingesting = false;
    }
  }

  /** Applies batches in order in one transaction. */
  private async applyBatches(batches: ReadonlyArray<{ batch: StoreBatch; now: number }>): Promise<BatchOutcome[]> {
    const outcomes = await this.guard('applyBatch', async () => {
      try {
        return await this.db.transaction().execute((trx) => applyBatchesInTransaction(trx, this.dialect, batches, this.logger, this.ingestCache));
      } catch (err) {
        // The group may have written its states into the cache before a commit that then failed: forget
        // them before guard() retries it or gives up.
        for (const { batch } of batches) this.ingestCache?.delete(batch.account);
        throw err;
      }
    });
    outcomes.forEach((outcome, i) => {
      if (outcome.touchesMissed > 0) {
        this.logger.debug({ account: batches[i]!.batch.account, touchesMissed: outcome.touchesMissed }, 'touched objects the store does not hold');
      }
    });
    return outcomes;
  }

  async resumePoints(account: string): Promise<Array<{ feed: FeedInfo; resourceVersion: string }>> {
    const rows = await this.guard('resumePoints', () =>
      this.db.selectFrom('feeds').selectAll().where('account', '=', account).where('resume_rv', '<>', '').orderBy('api_group').orderBy('kind').orderBy('namespace').execute(),
    );
    return rows.map((r) => ({
      feed: { group: r.api_group, kind: r.kind, namespace: r.namespace, version: r.version, resource: r.resource, namespaced: toNumber(r.namespaced) === 1 },
      resourceVersion: r.resume_rv,
    }));
  }

  /**
   * The digest (count and order-independent hash of uid and resourceVersion) of what the store holds for
   * a feed: every object of its kind in its namespace, or in all of them for a feed without one. Read
   * from the rows themselves, so that a cache changed behind the hub's back shows.
   */
  async feedDigest(account: string, feed: FeedKey): Promise<FeedDigestValue> {
    const digest = new FeedDigestAccumulator();
    if (!asciiKeys(feed.group, feed.kind, feed.namespace)) return digest.value();
    const rows = await this.guard('feedDigest', () => {
      let query = this.db.selectFrom('objects').select(['uid', 'resource_version']).where('account', '=', account).where('api_group', '=', feed.group).where('kind', '=', feed.kind);
      if (feed.namespace !== '') query = query.where('namespace', '=', feed.namespace);
      return query.execute();
    });
    for (const row of rows) digest.add(row.uid, row.resource_version);
    return digest.value();
  }

  async recordDigestComparison(account: string, feed: FeedKey, diverged: boolean, now: number): Promise<void> {
    if (!asciiKeys(feed.group, feed.kind, feed.namespace)) return;
    await this.guard('recordDigestComparison', () =>
      this.db
        .updateTable('feeds')
        .set({
          digest_checked_at: now,
          diverged_since: diverged ? sql<number>`COALESCE(diverged_since, ${now})` : null,
          divergences: sql<number>`COALESCE(divergences, 0) + ${diverged ? 1 : 0}`,
          ...(diverged ? {} : { digest_due_since: null }),
        })
        .where('account', '=', account)
        .where('api_group', '=', feed.group)
        .where('kind', '=', feed.kind)
        .where('namespace', '=', feed.namespace)
        .execute(),
    );
  }

  async feedDigestStates(account: string): Promise<FeedDigestState[]> {
    const rows = await this.guard('feedDigestStates', () =>
      this.db
        .selectFrom('feeds')
        .select(['api_group', 'kind', 'namespace', 'digest_checked_at', 'diverged_since', 'divergences', 'digest_due_since'])
        .where('account', '=', account)
        .orderBy('api_group')
        .orderBy('kind')
        .orderBy('namespace')
        .execute(),
    );
    return rows.map((r) => ({
      group: r.api_group,
      kind: r.kind,
      namespace: r.namespace,
      checkedAt: toNullableNumber(r.digest_checked_at),
      divergedSince: toNullableNumber(r.diverged_since),
      divergences: toNumber(r.divergences ?? 0),
      dueSince: toNullableNumber(r.digest_due_since),
    }));
  }

  async markDigestsDue(account: string, now: number): Promise<void> {
    await this.guard('markDigestsDue', () =>
      this.db.updateTable('feeds').set({ digest_due_since: sql<number>`COALESCE(digest_due_since, ${now})` }).where('account', '=', account).execute(),
    );
  }

  // reads

  async getObject(account: string, group: string, kind: string, namespace: string, name: string): Promise<CachedObject | undefined> {
    if (!asciiKeys(group, kind, namespace)) return undefined;
    const row = await this.guard('getObject', () =>
      this.db
        .selectFrom('objects')
        .selectAll()
        .where('account', '=', account)
        .where('api_group', '=', group)
        .where('kind', '=', kind)
        .where('namespace', '=', namespace)
        .where('name', '=', name)
        .executeTakeFirst(),
    );
    return row ? objectFromRow(row) : undefined;
  }

  async listObjects(query: ObjectQuery): Promise<CachedObject[]> {
    if (!asciiKeys(query.group, query.kind, query.namespace)) return [];
    let q = this.db.selectFrom('objects').selectAll();
    if (query.account !== undefined) q = q.where('account', '=', query.account);
    if (query.group !== undefined) q = q.where('api_group', '=', query.group);
    if (query.kind !== undefined) q = q.where('kind', '=', query.kind);
    if (query.namespace !== undefined) q = q.where('namespace', '=', query.namespace);
    if (query.name !== undefined) q = q.where('name', '=', query.name);
    if (query.application !== undefined) {
      q = q.where('application', '=', clampText(query.application, KEY_LENGTHS.application));
      if (query.kind === undefined && query.kinds === undefined) {
        const watched = await this.watchedKinds(query.group);
        if (watched === undefined) return [];
        q = q.where('kind', 'in', watched.kinds).where('api_group', 'in', watched.groups);
      }
    }
    if (query.kinds !== undefined) {
      const kinds = query.kinds;
      if (kinds.length === 0) return [];
      q = q.where((eb) => eb.or(kinds.map((k) => eb.and([eb('api_group', '=', k.group), eb('kind', '=', k.kind)]))));
    }
    q = q.orderBy('account').orderBy('kind').orderBy('namespace').orderBy('name');
    if (query.limit !== undefined) q = q.limit(query.limit);
    const rows = await this.guard('listObjects', () => q.execute());
    return rows.map(objectFromRow);
  }

  /**
   * The kinds and groups some feed watches (of `group` when given), undefined when there are none. A query
   * by application names them, so that the index ordered by kind and then application
   * (objects_kind_application) serves it: there is no index by application alone.
   */
  private async watchedKinds(group?: string): Promise<{ kinds: string[]; groups: string[] } | undefined> {
    let q = this.db.selectFrom('feeds').select(['api_group', 'kind']).distinct();
    if (group !== undefined) q = q.where('api_group', '=', group);
    const rows = await this.guard('watchedKinds', () => q.execute());
    if (rows.length === 0) return undefined;
    return { kinds: distinct(rows.map((r) => r.kind)), groups: distinct(rows.map((r) => r.api_group)) };
  }

  async countObjects(account?: string): Promise<number> {
    let q = this.db.selectFrom('objects').select((eb) => eb.fn.countAll().as('count'));
    if (account !== undefined) q = q.where('account', '=', account);
    const row = await this.guard('countObjects', () => q.executeTakeFirstOrThrow());
    return toNumber(row.count);
  }

  // application views

  /** The application's objects of `kinds` (index objects_kind_application: one range per kind and group). */
  private applicationQuery(application: string, kinds: readonly StoreGroupKind[], scope: ApplicationScope) {
    let q = this.db
      .selectFrom('objects')
      .where('kind', 'in', distinct(kinds.map((k) => k.kind)))
      .where('api_group', 'in', distinct(kinds.map((k) => k.group)))
      .where('application', '=', clampText(application, KEY_LENGTHS.application));
    if (scope.account !== undefined) q = q.where('account', '=', scope.account);
    if (scope.cluster !== undefined) q = q.where('cluster', '=', clampText(scope.cluster, KEY_LENGTHS.cluster));
    return q;
  }

  async listApplicationObjects(application: string, kinds: readonly StoreGroupKind[], scope: ApplicationScope = {}): Promise<CachedObject[]> {
    if (kinds.length === 0) return [];
    const rows = await this.guard('listApplicationObjects', () => this.applicationQuery(application, kinds, scope).selectAll().execute());
    const wanted = kindSet(kinds);
    return rows.filter((r) => wanted.has(kindKey(r.api_group, r.kind))).map(objectFromRow);
  }

  async listApplicationObjectVersions(application: string, kinds: readonly StoreGroupKind[], scope: ApplicationScope = {}): Promise<ObjectVersion[]> {
    if (kinds.length === 0) return [];
    const rows = await this.guard('listApplicationObjectVersions', () => this.applicationQuery(application, kinds, scope).select(VERSION_COLUMNS).execute());
    const wanted = kindSet(kinds);
    return rows.filter((r) => wanted.has(kindKey(r.api_group, r.kind))).map(versionFromRow);
  }

  async listApplicationClusters(kinds: readonly StoreGroupKind[], application?: string): Promise<ApplicationClusterRow[]> {
    if (kinds.length === 0) return [];
    // `kind IN … AND api_group IN …` is exact for Kubernetes' own groups (no custom resource lives in them).
    const kindNames = distinct(kinds.map((k) => k.kind));
    const groups = distinct(kinds.map((k) => k.group));
    const app = application === undefined ? undefined : clampText(application, KEY_LENGTHS.application);
    let rows: Array<{ application: string | null; account: string; cluster: string | null }>;
    if (this.dialect.name === 'mysql') {
      // All applications' clusters match a large share of the table: MySQL/MariaDB would rather scan it
      // (bodies and all) than look rows up from the index, and DISTINCT adds a temporary table. The
      // index named, rows de-duplicated below.
      const appCondition = app === undefined ? sql`application is not null` : sql`application = ${app}`;
      const result = await this.guard('listApplicationClusters', () =>
        sql<{ application: string | null; account: string; cluster: string | null }>`select application, account, cluster from objects force index (objects_kind_application) where kind in (${sql.join(kindNames)}) and api_group in (${sql.join(groups)}) and ${appCondition}`.execute(this.db),
      );
      rows = result.rows;
    } else {
      // SQLite reads objects_kind_application alone (it carries the cluster column).
      let q = this.db.selectFrom('objects').select(['application', 'account', 'cluster']).distinct().where('kind', 'in', kindNames).where('api_group', 'in', groups);
      q = app !== undefined ? q.where('application', '=', app) : q.where('application', 'is not', null);
      rows = await this.guard('listApplicationClusters', () => q.execute());
    }
    const seen = new Set<string>();
    const out: ApplicationClusterRow[] = [];
    for (const r of rows) {
      if (r.application === null) continue;
      const key = `${r.application}\u0000${r.account}\u0000${r.cluster ?? ''}\u0000${r.cluster === null ? 'n' : 'c'}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ application: r.application, account: r.account, cluster: r.cluster });
    }
    return out;
  }

  /**
   * One statement per kind and chunk, each a range of the primary key (account, api_group, kind,
   * namespace[, name]); `select` picks the columns.
   */
  private async namespaced<R>(what: string, query: NamespacedObjectQuery, run: (q: NamespacedSelect) => Promise<R[]>): Promise<R[]> {
    const namespaces = distinct(query.namespaces);
    if (namespaces.length === 0 || query.kinds.length === 0) return [];
    const names = query.names === undefined ? undefined : distinct(query.names);
    if (names !== undefined && names.length === 0) return [];
    const out: R[] = [];
    for (const kind of query.kinds) {
      for (const nsChunk of chunked(namespaces, VIEW_KEYS_PER_STATEMENT)) {
        for (const nameChunk of names === undefined ? [undefined] : chunked(names, VIEW_KEYS_PER_STATEMENT)) {
          let q = this.db
            .selectFrom('objects')
            .where('account', '=', query.account)
            .where('api_group', '=', kind.group)
            .where('kind', '=', kind.kind)
            .where('namespace', 'in', nsChunk);
          if (nameChunk !== undefined) q = q.where('name', 'in', nameChunk);
          out.push(...(await this.guard(what, () => run(q))));
        }
      }
    }
    return out;
  }

  async listNamespacedObjects(query: NamespacedObjectQuery): Promise<CachedObject[]> {
    const rows = await this.namespaced('listNamespacedObjects', query, (q) => q.selectAll().execute());
    return rows.map(objectFromRow);
  }

  async listNamespacedObjectVersions(query: NamespacedObjectQuery): Promise<ObjectVersion[]> {
    const rows = await this.namespaced('listNamespacedObjectVersions', query, (q) => q.select(VERSION_COLUMNS).execute());
    return rows.map(versionFromRow);
  }

  // tasks and operations

  async createTask(task: TaskRecord): Promise<void> {
    await this.guard('createTask', () => this.db.insertInto('tasks').values(taskToRow(task)).execute());
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const row = await this.guard('getTask', () => this.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst());
    return row ? taskFromRow(row) : undefined;
  }

  async findTaskByRequestId(requestId: string, createdBy: string): Promise<TaskRecord | undefined> {
    const creator = requestIdKey(createdBy, KEY_LENGTHS.createdBy);
    const row = await this.guard('findTaskByRequestId', () =>
      this.db
        .selectFrom('tasks')
        .selectAll()
        .where('request_id', '=', requestIdKey(requestId, KEY_LENGTHS.requestId))
        .where((eb) => eb.or([eb('created_by', '=', creator), eb('created_by', 'is', null)]))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst(),
    );
    return row ? taskFromRow(row) : undefined;
  }

  async listTasks(limit: number): Promise<TaskRecord[]> {
    const rows = await this.guard('listTasks', () => this.db.selectFrom('tasks').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute());
    return rows.map(taskFromRow);
  }

  async updateTask(id: string, patch: Partial<Pick<TaskRecord, 'state' | 'history' | 'resultObjects'>>, now: number): Promise<void> {
    const set: { updated_at: number; state?: string; history?: string; result_objects?: string } = { updated_at: now };
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.history !== undefined) set.history = JSON.stringify(patch.history);
    if (patch.resultObjects !== undefined) set.result_objects = JSON.stringify(patch.resultObjects);
    await this.guard('updateTask', () => this.db.updateTable('tasks').set(set).where('id', '=', id).execute());
  }

  async updateTaskIf(id: string, expect: TaskExpectation, patch: TaskPatch, now: number): Promise<boolean> {
    const set: { updated_at: number; state?: string; history?: string; result_objects?: string; owner_hub_id?: string; request?: string } = { updated_at: now };
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.history !== undefined) set.history = JSON.stringify(patch.history);
    if (patch.resultObjects !== undefined) set.result_objects = JSON.stringify(patch.resultObjects);
    if (patch.ownerHubId !== undefined) set.owner_hub_id = patch.ownerHubId;
    if (patch.request !== undefined) set.request = JSON.stringify(patch.request ?? null);
    const result = await this.guard('updateTaskIf', () => {
      let q = this.db.updateTable('tasks').set(set).where('id', '=', id);
      if (expect.state !== undefined) {
        const states = typeof expect.state === 'string' ? [expect.state] : [...expect.state];
        q = q.where('state', 'in', states);
      }
      if (expect.ownerHubId !== undefined) q = q.where('owner_hub_id', '=', expect.ownerHubId);
      if (expect.updatedAtOrBefore !== undefined) q = q.where('updated_at', '<=', expect.updatedAtOrBefore);
      return q.executeTakeFirst();
    });
    return Number(result.numUpdatedRows) > 0;
  }

  async findTasks(query: TaskQuery): Promise<TaskRecord[]> {
    const rows = await this.guard('findTasks', () => {
      let q = this.db.selectFrom('tasks').selectAll();
      if (query.state !== undefined) q = q.where('state', '=', query.state);
      if (query.ownerHubId !== undefined) q = q.where('owner_hub_id', '=', query.ownerHubId);
      if (query.updatedBefore !== undefined) q = q.where('updated_at', '<', query.updatedBefore);
      return q.orderBy('created_at', 'asc').orderBy('id', 'asc').limit(query.limit).execute();
    });
    return rows.map(taskFromRow);
  }

  async appendTaskHistory(id: string, entry: TaskHistoryEntry, now: number): Promise<void> {
    await this.guard('appendTaskHistory', () =>
      this.db.transaction().execute(async (trx) => {
        let select = trx.selectFrom('tasks').select('history').where('id', '=', id);
        // Two appends at once must not both read the old history (READ COMMITTED would lose one).
        if (this.dialect.lockRows) select = select.forUpdate();
        const row = await select.executeTakeFirst();
        if (!row) throw new ScaleAgentError(Errors.TASK_NOT_FOUND, `task ${id} not found`, { taskId: id });
        const history = JSON.parse(row.history) as TaskHistoryEntry[];
        history.push(entry);
        await trx.updateTable('tasks').set({ history: JSON.stringify(history), updated_at: now }).where('id', '=', id).execute();
      }),
    );
  }

  async recordOperation(op: OperationRecord): Promise<void> {
    await this.guard('recordOperation', () =>
      this.db
        .insertInto('operations')
        .values({
          id: op.id,
          task_id: op.taskId,
          account: op.account,
          type: op.type,
          status: op.status,
          http_status: op.httpStatus,
          error_code: clampText(op.errorCode, KEY_LENGTHS.errorCode),
          message: withoutNul(op.message),
          agent_id: op.agentId,
          received_at: op.receivedAt,
          routed_at: op.routedAt,
          sent_at: op.sentAt,
          executed_at: op.executedAt,
          result_at: op.resultAt,
        })
        .execute(),
    );
  }

  async updateOperation(id: string, patch: Partial<OperationRecord>): Promise<void> {
    const { id: _ignored, ...rest } = patch;
    const set = operationPatchToRow(rest);
    if (Object.keys(set).length === 0) return;
    await this.guard('updateOperation', () => this.db.updateTable('operations').set(set).where('id', '=', id).execute());
  }

  async listOperations(limit: number, filter: OperationFilter = {}): Promise<OperationRecord[]> {
    const rows = await this.guard('listOperations', () => {
      let q = this.db.selectFrom('operations').selectAll();
      if (filter.taskId !== undefined) q = q.where('task_id', '=', filter.taskId);
      if (filter.account !== undefined) q = q.where('account', '=', filter.account);
      if (filter.type !== undefined) q = q.where('type', '=', filter.type);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      return q.orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    });
    return rows.map(operationFromRow);
  }

  /**
   * Wraps driver errors as STORE_ERROR so callers see one stable code; our own errors pass through.
   * A deadlock or serialization failure rolled the whole call back, so it is run again (every call is
   * one statement or one transaction, and batches are idempotent).
   */
  private async guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        if (isScaleAgentError(err)) throw err;
        if (attempt < TRANSIENT_ATTEMPTS && this.dialect.isTransient(err)) {
          this.logger.debug({ operation: what, attempt, err: errorMessage(err) }, 'store call met a transient conflict; retrying');
          await sleep(Math.floor(Math.random() * 20 * attempt));
          continue;
        }
        throw new ScaleAgentError(Errors.STORE_ERROR, `store ${what} failed: ${errorMessage(err)}`, { operation: what }, { cause: err });
      }
    }
  }

  async searchObjects(query: ObjectSearch): Promise<CachedObject[]> {
    if (query.kinds !== undefined && query.kinds.length === 0) return [];
    if (!asciiKeys(query.namespace)) return [];
    const columns = ['account', 'api_group', 'kind', 'namespace', 'name', 'version', 'uid', 'resource_version', 'application', 'cluster', 'created_at', 'updated_at'] as const;
    let q = query.withoutBodies
      ? this.db.selectFrom('objects').select([...columns, sql<string>`''`.as('body')])
      : this.db.selectFrom('objects').select([...columns, 'body']);
    if (query.account !== undefined) q = q.where('account', '=', query.account);
    if (query.namespace !== undefined) q = q.where('namespace', '=', query.namespace);
    if (query.application !== undefined) {
      q = q.where('application', '=', clampText(query.application, KEY_LENGTHS.application));
      if (query.kinds === undefined) {
        const watched = await this.watchedKinds();
        if (watched === undefined) return [];
        q = q.where('kind', 'in', watched.kinds).where('api_group', 'in', watched.groups);
      }
    }
    if (query.cluster !== undefined) q = q.where('cluster', '=', clampText(query.cluster, KEY_LENGTHS.cluster));
    if (query.kinds !== undefined) {
      const kinds = query.kinds;
      q = q.where((eb) => eb.or(kinds.map((k) => eb.and([eb('api_group', '=', k.group), eb('kind', '=', k.kind)]))));
    }
    if (query.namePrefix !== undefined && query.namePrefix !== '') {
      // A range on the key column (byte-wise on every engine) rather than LIKE, so the primary key serves it.
      const prefix = query.namePrefix;
      const upper = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
      q = q.where('name', '>=', prefix).where('name', '<', upper);
    }
    if (query.text !== undefined) {
      const { contains, orAccounts = [], orKinds = [] } = query.text;
      // ESCAPE '!' works alike on SQLite, PostgreSQL and MySQL (backslash does not).
      const pattern = `%${contains.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
      const like = (column: 'namespace' | 'name' | 'application' | 'cluster') => sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '!'`;
      // Namespaces are ASCII (a MySQL ascii column): text outside ASCII cannot occur in one.
      const ascii = /^[\x00-\x7f]*$/.test(contains);
      q = q.where((eb) =>
        eb.or([
          ...(ascii ? [like('namespace')] : []),
          like('name'),
          like('application'),
          like('cluster'),
          ...(orAccounts.length > 0 ? [eb('account', 'in', orAccounts)] : []),
          ...orKinds.map((k) => eb.and([eb('api_group', '=', k.group), eb('kind', '=', k.kind)])),
        ]),
      );
    }
    q = q.orderBy('account').orderBy('kind').orderBy('namespace').orderBy('name');
    if (query.limit !== undefined) q = q.limit(query.limit);
    const rows = await this.guard('searchObjects', () => q.execute());
    return rows.map((row) => ({
      account: row.account,
      group: row.api_group,
      version: row.version,
      kind: row.kind,
      namespace: row.namespace,
      name: row.name,
      uid: row.uid,
      resourceVersion: row.resource_version,
      body: row.body,
      application: row.application,
      cluster: row.cluster,
      createdAt: toNullableNumber(row.created_at),
      updatedAt: toNumber(row.updated_at),
    }));
  }
}
