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

  /**
   * The rows of accounts the caller may READ: what every listing here answers. Public for rows read
   * elsewhere and shared between callers (the status page's snapshot), so they are narrowed by the same rule.
   */
  async readableRows<T extends { account: string }>(rows: readonly T[]): Promise<T[]> {
    const caller = this.caller();
    return caller === undefined ? [...rows] : caller.readable(rows);
  }

  private readable<T extends { account: string }>(rows: T[]): Promise<T[]> {
    return this.readableRows(rows);
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
    return this.readableAccounts(await this.target.listAccounts());
  }

  /**
   * The accounts of `records` the caller may READ, with their permissions presented: what listAccounts
   * answers, for account rows read elsewhere and shared between callers (the status page's snapshot).
   */
  async readableAccounts(records: readonly AccountRecord[]): Promise<AccountRecord[]> {
    const presented = records.map((r) => this.present(r));
    const caller = this.caller();
    if (caller === undefined) return presented;
    const out: AccountRecord[] = [];
    for (const record of presented) if (await caller.can(record.name, 'READ')) out.push(record);
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

  /**
   * The newest operations the caller may read. The store narrows them to the caller's accounts in its
   * query (`accounts`), so that a caller of a few accounts gets their own newest rather than the newest
   * hub-wide with theirs dropped; a caller who may read every account is not narrowed. `filter.accounts`,
   * when given, is narrowed to those the caller may read. Operations on a name the hub holds no account
   * row for are listed only to callers who may read every account (such a name cannot be put in a list).
   */
  async listOperations(limit: number, filter: OperationFilter = {}): Promise<OperationRecord[]> {
    const caller = this.caller();
    if (caller === undefined) return this.target.listOperations(limit, filter);
    if (!(await this.mayRead(filter.account))) return [];
    let accounts: string[] | undefined;
    if (filter.accounts !== undefined) {
      accounts = [];
      for (const account of new Set(filter.accounts)) if (await caller.can(account, 'READ')) accounts.push(account);
    } else if (filter.account === undefined) {
      const records = await this.target.listAccounts();
      const readable = await this.readableAccounts(records);
      accounts = readable.length === records.length ? undefined : readable.map((r) => r.name);
    }
    return this.readable(await this.target.listOperations(limit, accounts === undefined ? filter : { ...filter, accounts }));
  }
}
