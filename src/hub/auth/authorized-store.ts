import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type { FeedDigestValue } from '../../protocol/feed-digest.ts';
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
  ObjectSearch,
  ObjectVersion,
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
} from '../store/types.ts';
import type { AccountPolicy } from './account-policy.ts';
import { currentCaller, taskCreator, type CallerAccess } from './caller-access.ts';

export interface AuthorizedStoreOptions {
  policy: AccountPolicy;
  /** Filter by the caller (auth.enabled); otherwise only permissions are presented normalised. */
  enforce: boolean;
  /** The accounts a task acts on; undefined when they cannot be told (then, while enforcing, nobody sees it). */
  taskAccounts: (task: TaskRecord) => string[] | undefined;
}

/**
 * The store as the REST routes see it: every read returns only what the current caller (the request
 * being served, see caller-access.ts) may READ — accounts, objects, application rows, tasks,
 * operations — and accounts carry their effective permissions (hub overrides applied, roles normalised,
 * closed accounts shown closed). Writes pass through: the routes that write check WRITE first.
 *
 * It implements the whole Store interface on purpose: a read method added to the store does not compile
 * here until it is filtered too.
 */
export class AuthorizedStore implements Store {
  constructor(
    private readonly target: Store,
    private readonly options: AuthorizedStoreOptions,
  ) {}

  /** The database health check the /health route uses (not part of the Store interface). */
  get ping(): (() => Promise<void>) | undefined {
    const ping = (this.target as { ping?: () => Promise<void> }).ping;
    return ping === undefined ? undefined : () => ping.call(this.target);
  }

  /** The caller, or undefined when nothing is enforced; fails closed when enforcing without a caller. */
  private caller(): CallerAccess | undefined {
    if (!this.options.enforce) return undefined;
    const caller = currentCaller();
    if (!caller) throw new ScaleAgentError(Errors.INTERNAL_ERROR, 'no authenticated caller for this store read (a route ran outside the request context); refusing to answer');
    return caller;
  }

  private present(record: AccountRecord): AccountRecord {
    this.options.policy.remember(record);
    return { ...record, permissions: (this.options.policy.present(record) ?? {}) as Record<string, string[]> };
  }

  private async mayRead(account: string | undefined): Promise<boolean> {
    const caller = this.caller();
    return caller === undefined || account === undefined || caller.can(account, 'READ');
  }

  private async readable<T extends { account: string }>(rows: T[]): Promise<T[]> {
    const caller = this.caller();
    return caller === undefined ? rows : caller.readable(rows);
  }

  private async taskVisible(task: TaskRecord | undefined): Promise<boolean> {
    if (task === undefined) return false;
    const caller = this.caller();
    if (caller === undefined) return true;
    const accounts = this.options.taskAccounts(task);
    if (accounts === undefined || accounts.length === 0) return false;
    for (const account of accounts) if (!(await caller.canUse(account))) return false;
    return true;
  }

  private async visibleTasks(tasks: TaskRecord[]): Promise<TaskRecord[]> {
    const out: TaskRecord[] = [];
    for (const task of tasks) if (await this.taskVisible(task)) out.push(task);
    return out;
  }

  migrate(): Promise<void> {
    return this.target.migrate();
  }

  close(): Promise<void> {
    return this.target.close();
  }

  // ---- accounts ----

  upsertAccount(account: Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>, now: number): Promise<void> {
    return this.target.upsertAccount(account, now);
  }

  /** An account the caller may READ or WRITE (an operation's target may be write-only to its caller). */
  async getAccount(name: string): Promise<AccountRecord | undefined> {
    const record = await this.target.getAccount(name);
    if (!record) return undefined;
    const caller = this.caller();
    if (caller !== undefined && !(await caller.canUse(name))) return undefined;
    return this.present(record);
  }

  async listAccounts(): Promise<AccountRecord[]> {
    const records = (await this.target.listAccounts()).map((r) => this.present(r));
    const caller = this.caller();
    if (caller === undefined) return records;
    const out: AccountRecord[] = [];
    for (const record of records) if (await caller.can(record.name, 'READ')) out.push(record);
    return out;
  }

  setAccountStatus(name: string, status: AccountRecord['status'], agentId: string | null, hubId: string | null, now: number): Promise<void> {
    return this.target.setAccountStatus(name, status, agentId, hubId, now);
  }

  deleteAccount(name: string): Promise<void> {
    return this.target.deleteAccount(name);
  }

  // ---- ingest ----

  applyBatch(batch: StoreBatch, now: number): Promise<BatchOutcome> {
    return this.target.applyBatch(batch, now);
  }

  async resumePoints(account: string): Promise<Array<{ feed: FeedInfo; resourceVersion: string }>> {
    return (await this.mayRead(account)) ? this.target.resumePoints(account) : [];
  }

  feedDigest(account: string, feed: FeedKey): Promise<FeedDigestValue> {
    return this.target.feedDigest(account, feed);
  }

  recordDigestComparison(account: string, feed: FeedKey, diverged: boolean, now: number): Promise<void> {
    return this.target.recordDigestComparison(account, feed, diverged, now);
  }

  async feedDigestStates(account: string): Promise<FeedDigestState[]> {
    return (await this.mayRead(account)) ? this.target.feedDigestStates(account) : [];
  }

  markDigestsDue(account: string, now: number): Promise<void> {
    return this.target.markDigestsDue(account, now);
  }

  // ---- reads ----

  async getObject(account: string, group: string, kind: string, namespace: string, name: string): Promise<CachedObject | undefined> {
    return (await this.mayRead(account)) ? this.target.getObject(account, group, kind, namespace, name) : undefined;
  }

  async listObjects(query: ObjectQuery): Promise<CachedObject[]> {
    if (!(await this.mayRead(query.account))) return [];
    return this.readable(await this.target.listObjects(query));
  }

  async countObjects(account?: string): Promise<number> {
    if (this.caller() === undefined) return this.target.countObjects(account);
    if (account !== undefined) return (await this.mayRead(account)) ? this.target.countObjects(account) : 0;
    let total = 0;
    for (const a of await this.listAccounts()) total += await this.target.countObjects(a.name);
    return total;
  }

  async listApplicationObjects(application: string, kinds: readonly StoreGroupKind[], scope?: ApplicationScope): Promise<CachedObject[]> {
    if (!(await this.mayRead(scope?.account))) return [];
    return this.readable(await this.target.listApplicationObjects(application, kinds, scope));
  }

  async listApplicationObjectVersions(application: string, kinds: readonly StoreGroupKind[], scope?: ApplicationScope): Promise<ObjectVersion[]> {
    if (!(await this.mayRead(scope?.account))) return [];
    return this.readable(await this.target.listApplicationObjectVersions(application, kinds, scope));
  }

  async listApplicationClusters(kinds: readonly StoreGroupKind[], application?: string): Promise<ApplicationClusterRow[]> {
    return this.readable(await this.target.listApplicationClusters(kinds, application));
  }

  async listNamespacedObjects(query: NamespacedObjectQuery): Promise<CachedObject[]> {
    if (!(await this.mayRead(query.account))) return [];
    return this.readable(await this.target.listNamespacedObjects(query));
  }

  async listNamespacedObjectVersions(query: NamespacedObjectQuery): Promise<ObjectVersion[]> {
    if (!(await this.mayRead(query.account))) return [];
    return this.readable(await this.target.listNamespacedObjectVersions(query));
  }

  async searchObjects(query: ObjectSearch): Promise<CachedObject[]> {
    if (!(await this.mayRead(query.account))) return [];
    return this.readable(await this.target.searchObjects(query));
  }

  // ---- tasks and operations ----

  createTask(task: TaskRecord): Promise<void> {
    return this.target.createTask(task);
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const task = await this.target.getTask(id);
    return (await this.taskVisible(task)) ? task : undefined;
  }

  /**
   * Not filtered by accounts: only POST /ops uses it, after checking WRITE on every account of the
   * request, to answer a repeated clientRequestId with the task it already started (a filtered miss
   * would start a second task under the same request id). Scoped to the caller instead: the store
   * returns only the caller's own tasks (and unrecorded ones, which the route refuses), and a lookup for
   * anyone but the current caller is refused here.
   */
  findTaskByRequestId(requestId: string, createdBy: string): Promise<TaskRecord | undefined> {
    const caller = this.caller();
    if (caller !== undefined && createdBy !== taskCreator(caller.principal)) {
      throw new ScaleAgentError(Errors.INTERNAL_ERROR, `a clientRequestId lookup for ${createdBy} in a request of ${taskCreator(caller.principal)}; refusing to answer`);
    }
    return this.target.findTaskByRequestId(requestId, createdBy);
  }

  get listTasks(): ((limit: number) => Promise<TaskRecord[]>) | undefined {
    const list = this.target.listTasks;
    if (list === undefined) return undefined;
    return async (limit: number) => this.visibleTasks(await list.call(this.target, limit));
  }

  updateTask(id: string, patch: Partial<Pick<TaskRecord, 'state' | 'history' | 'resultObjects'>>, now: number): Promise<void> {
    return this.target.updateTask(id, patch, now);
  }

  updateTaskIf(id: string, expect: TaskExpectation, patch: TaskPatch, now: number): Promise<boolean> {
    return this.target.updateTaskIf(id, expect, patch, now);
  }

  async findTasks(query: TaskQuery): Promise<TaskRecord[]> {
    return this.visibleTasks(await this.target.findTasks(query));
  }

  appendTaskHistory(id: string, entry: TaskHistoryEntry, now: number): Promise<void> {
    return this.target.appendTaskHistory(id, entry, now);
  }

  recordOperation(op: OperationRecord): Promise<void> {
    return this.target.recordOperation(op);
  }

  updateOperation(id: string, patch: Partial<OperationRecord>): Promise<void> {
    return this.target.updateOperation(id, patch);
  }

  async listOperations(limit: number, filter?: OperationFilter): Promise<OperationRecord[]> {
    if (!(await this.mayRead(filter?.account))) return [];
    return this.readable(await this.target.listOperations(limit, filter));
  }
}
