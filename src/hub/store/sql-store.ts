import { sql, type Kysely } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { Errors, ScaleAgentError, errorMessage, isScaleAgentError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { applyBatchInTransaction } from './batch-apply.ts';
import type { SqlDialect } from './dialect.ts';
import { runMigrations } from './migrations.ts';
import { accountFromRow, clampText, objectFromRow, operationFromRow, operationPatchToRow, requestIdKey, taskFromRow, withoutNul, taskToRow, toNumber } from './rows.ts';
import { KEY_LENGTHS, type Database } from './schema.ts';
import type {
  AccountRecord,
  BatchOutcome,
  CachedObject,
  FeedInfo,
  ObjectQuery,
  OperationRecord,
  Store,
  StoreBatch,
  TaskHistoryEntry,
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

/** Attempts of one store call that keeps meeting deadlocks or serialization failures. */
const TRANSIENT_ATTEMPTS = 4;

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
  ) {}

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
      }),
    );
  }

  // ingest

  async applyBatch(batch: StoreBatch, now: number): Promise<BatchOutcome> {
    const outcome = await this.guard('applyBatch', () =>
      this.db.transaction().execute((trx) => applyBatchInTransaction(trx, this.dialect, batch, now, this.logger)),
    );
    if (outcome.touchesMissed > 0) {
      this.logger.debug({ account: batch.account, touchesMissed: outcome.touchesMissed }, 'touched objects the store does not hold');
    }
    return outcome;
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

  // reads

  async getObject(account: string, group: string, kind: string, namespace: string, name: string): Promise<CachedObject | undefined> {
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
    let q = this.db.selectFrom('objects').selectAll();
    if (query.account !== undefined) q = q.where('account', '=', query.account);
    if (query.group !== undefined) q = q.where('api_group', '=', query.group);
    if (query.kind !== undefined) q = q.where('kind', '=', query.kind);
    if (query.namespace !== undefined) q = q.where('namespace', '=', query.namespace);
    if (query.name !== undefined) q = q.where('name', '=', query.name);
    if (query.application !== undefined) q = q.where('application', '=', clampText(query.application, KEY_LENGTHS.application));
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

  async countObjects(account?: string): Promise<number> {
    let q = this.db.selectFrom('objects').select((eb) => eb.fn.countAll().as('count'));
    if (account !== undefined) q = q.where('account', '=', account);
    const row = await this.guard('countObjects', () => q.executeTakeFirstOrThrow());
    return toNumber(row.count);
  }

  // tasks and operations

  async createTask(task: TaskRecord): Promise<void> {
    await this.guard('createTask', () => this.db.insertInto('tasks').values(taskToRow(task)).execute());
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const row = await this.guard('getTask', () => this.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst());
    return row ? taskFromRow(row) : undefined;
  }

  async findTaskByRequestId(requestId: string): Promise<TaskRecord | undefined> {
    const row = await this.guard('findTaskByRequestId', () =>
      this.db.selectFrom('tasks').selectAll().where('request_id', '=', requestIdKey(requestId, KEY_LENGTHS.requestId)).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst(),
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

  async listOperations(limit: number): Promise<OperationRecord[]> {
    const rows = await this.guard('listOperations', () =>
      this.db.selectFrom('operations').selectAll().orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit).execute(),
    );
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
}
