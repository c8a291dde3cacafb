import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { clampText, operationFromRow, operationPatchToRow, requestIdKey, taskFromRow, taskToRow, withoutNul } from './rows.ts';
import { KEY_LENGTHS } from './schema.ts';
import type { SqlContext } from './sql-context.ts';
import type { OperationFilter, OperationRecord, TaskExpectation, TaskHistoryEntry, TaskPatch, TaskQuery, TaskRecord, TaskStore } from './types.ts';

/**
 * Account names one operations query binds at most (`account IN (…)`): far below every engine's limit on
 * parameters (SQLite 32,766, PostgreSQL 65,535), and a statement MySQL parses quickly. Longer lists run
 * in chunks.
 */
export const OPERATION_ACCOUNTS_PER_QUERY = 500;

/** The tasks and operations tables. */
export class SqlTaskStore implements TaskStore {
  constructor(private readonly ctx: SqlContext) {}

  async createTask(task: TaskRecord): Promise<void> {
    await this.ctx.guard('createTask', () => this.ctx.db.insertInto('tasks').values(taskToRow(task)).execute());
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const row = await this.ctx.guard('getTask', () => this.ctx.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst());
    return row ? taskFromRow(row) : undefined;
  }

  async findTaskByRequestId(requestId: string, createdBy: string): Promise<TaskRecord | undefined> {
    const creator = requestIdKey(createdBy, KEY_LENGTHS.createdBy);
    const row = await this.ctx.guard('findTaskByRequestId', () =>
      this.ctx.db
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
    const rows = await this.ctx.guard('listTasks', () =>
      this.ctx.db.selectFrom('tasks').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute(),
    );
    return rows.map(taskFromRow);
  }

  async updateTask(id: string, patch: Partial<Pick<TaskRecord, 'state' | 'history' | 'resultObjects'>>, now: number): Promise<void> {
    const set: { updated_at: number; state?: string; history?: string; result_objects?: string } = { updated_at: now };
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.history !== undefined) set.history = JSON.stringify(patch.history);
    if (patch.resultObjects !== undefined) set.result_objects = JSON.stringify(patch.resultObjects);
    await this.ctx.guard('updateTask', () => this.ctx.db.updateTable('tasks').set(set).where('id', '=', id).execute());
  }

  async updateTaskIf(id: string, expect: TaskExpectation, patch: TaskPatch, now: number): Promise<boolean> {
    const set: { updated_at: number; state?: string; history?: string; result_objects?: string; owner_hub_id?: string; request?: string } = { updated_at: now };
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.history !== undefined) set.history = JSON.stringify(patch.history);
    if (patch.resultObjects !== undefined) set.result_objects = JSON.stringify(patch.resultObjects);
    if (patch.ownerHubId !== undefined) set.owner_hub_id = patch.ownerHubId;
    if (patch.request !== undefined) set.request = JSON.stringify(patch.request ?? null);
    const result = await this.ctx.guard('updateTaskIf', () => {
      let q = this.ctx.db.updateTable('tasks').set(set).where('id', '=', id);
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
    const rows = await this.ctx.guard('findTasks', () => {
      let q = this.ctx.db.selectFrom('tasks').selectAll();
      if (query.state !== undefined) q = q.where('state', '=', query.state);
      if (query.ownerHubId !== undefined) q = q.where('owner_hub_id', '=', query.ownerHubId);
      if (query.updatedBefore !== undefined) q = q.where('updated_at', '<', query.updatedBefore);
      return q.orderBy('created_at', 'asc').orderBy('id', 'asc').limit(query.limit).execute();
    });
    return rows.map(taskFromRow);
  }

  async appendTaskHistory(id: string, entry: TaskHistoryEntry, now: number): Promise<void> {
    await this.ctx.guard(
      'appendTaskHistory',
      () =>
        this.ctx.db.transaction().execute(async (trx) => {
          let select = trx.selectFrom('tasks').select('history').where('id', '=', id);
          // Two appends at once must not both read the old history (READ COMMITTED would lose one).
          if (this.ctx.dialect.lockRows) select = select.forUpdate();
          const row = await select.executeTakeFirst();
          if (!row) throw new ScaleAgentError(Errors.TASK_NOT_FOUND, `task ${id} not found`, { taskId: id });
          const history = JSON.parse(row.history) as TaskHistoryEntry[];
          history.push(entry);
          await trx
            .updateTable('tasks')
            .set({ history: JSON.stringify(history), updated_at: now })
            .where('id', '=', id)
            .execute();
        }),
      { transaction: true },
    );
  }

  async recordOperation(op: OperationRecord): Promise<void> {
    await this.ctx.guard('recordOperation', () =>
      this.ctx.db
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
    await this.ctx.guard('updateOperation', () => this.ctx.db.updateTable('operations').set(set).where('id', '=', id).execute());
  }

  async listOperations(limit: number, filter: OperationFilter = {}): Promise<OperationRecord[]> {
    if (filter.accounts === undefined) return this.queryOperations(limit, filter, undefined);
    const accounts = [...new Set(filter.accounts)];
    if (accounts.length === 0) return [];
    if (accounts.length <= OPERATION_ACCOUNTS_PER_QUERY) return this.queryOperations(limit, filter, accounts);
    // More names than one statement should bind: the newest `limit` of each chunk, merged, hold the newest overall.
    const merged: OperationRecord[] = [];
    for (let i = 0; i < accounts.length; i += OPERATION_ACCOUNTS_PER_QUERY) {
      merged.push(...(await this.queryOperations(limit, filter, accounts.slice(i, i + OPERATION_ACCOUNTS_PER_QUERY))));
    }
    return merged.sort(newestFirst).slice(0, limit);
  }

  private async queryOperations(limit: number, filter: OperationFilter, accounts: string[] | undefined): Promise<OperationRecord[]> {
    const rows = await this.ctx.guard('listOperations', () => {
      let q = this.ctx.db.selectFrom('operations').selectAll();
      if (filter.taskId !== undefined) q = q.where('task_id', '=', filter.taskId);
      if (filter.account !== undefined) q = q.where('account', '=', filter.account);
      if (accounts !== undefined) q = q.where('account', 'in', accounts);
      if (filter.type !== undefined) q = q.where('type', '=', filter.type);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      return q.orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    });
    return rows.map(operationFromRow);
  }
}

/** The order of listOperations: received last first, then by id as the query breaks ties. */
function newestFirst(a: OperationRecord, b: OperationRecord): number {
  if (a.receivedAt !== b.receivedAt) return b.receivedAt - a.receivedAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
