import { Errors, ScaleAgentError } from '../../common/errors.ts';
import type {
  AccountFeedState,
  AccountReader,
  AccountRecord,
  ApplicationClusterRow,
  ApplicationScope,
  CacheReader,
  CachedObject,
  FeedDigestState,
  NamespacedObjectQuery,
  ObjectQuery,
  ObjectSearch,
  ObjectVersion,
  OperationFilter,
  OperationRecord,
  StoreGroupKind,
  StoreReader,
  TaskQuery,
  TaskReader,
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
 * The store's read roles as the REST routes see them: every read returns only what the current caller
 * (the request being served, see caller-access.ts) may READ — accounts, objects, application rows,
 * feed states, tasks, operations — and accounts carry their effective permissions (hub overrides
 * applied, roles normalised, closed accounts shown closed).
 *
 * It implements exactly the read roles the routes are given (AccountReader, CacheReader, TaskReader) on
 * purpose: a read method added to one of them does not compile here until it is filtered too. It has no
 * writes to pass through: the routes write nothing themselves (tasks and operations are written by the
 * task runner and the router, with the store as it is, after the routes' WRITE checks), and registering
 * accounts and ingest are the gRPC side's.
 */
export class AuthorizedStore implements AccountReader, CacheReader, TaskReader {
  constructor(
    private readonly target: StoreReader,
    private readonly options: AuthorizedStoreOptions,
  ) {}

  /** The caller, or undefined when nothing is enforced; fails closed when enforcing without a caller. */
  private caller(): CallerAccess | undefined {
    if (!this.options.enforce) return undefined;
    const caller = currentCaller();
    if (!caller)
      throw new ScaleAgentError(
        Errors.INTERNAL_ERROR,
        'no authenticated caller for this store read (a route ran outside the request context); refusing to answer',
      );
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

  // ---- accounts ----

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

  // ---- the cache ----

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

  async feedDigestStates(account: string): Promise<FeedDigestState[]> {
    return (await this.mayRead(account)) ? this.target.feedDigestStates(account) : [];
  }

  async listFeedStates(): Promise<AccountFeedState[]> {
    return this.readable(await this.target.listFeedStates());
  }

  // ---- tasks and operations ----

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
      throw new ScaleAgentError(
        Errors.INTERNAL_ERROR,
        `a clientRequestId lookup for ${createdBy} in a request of ${taskCreator(caller.principal)}; refusing to answer`,
      );
    }
    return this.target.findTaskByRequestId(requestId, createdBy);
  }

  async listTasks(limit: number): Promise<TaskRecord[]> {
    return this.visibleTasks(await this.target.listTasks(limit));
  }

  async findTasks(query: TaskQuery): Promise<TaskRecord[]> {
    return this.visibleTasks(await this.target.findTasks(query));
  }

  async listOperations(limit: number, filter?: OperationFilter): Promise<OperationRecord[]> {
    if (!(await this.mayRead(filter?.account))) return [];
    return this.readable(await this.target.listOperations(limit, filter));
  }
}
