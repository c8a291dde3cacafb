import { AsyncLocalStorage } from 'node:async_hooks';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { allows, type AccountAccess, type AccountPolicy } from './account-policy.ts';
import type { Principal } from './authenticator.ts';

export type AccountAuthorization = 'READ' | 'WRITE';

/**
 * One request's caller and what it may do with each account. Decisions are memoised for the request,
 * so a list of ten thousand objects costs one permission lookup per account.
 */
export class CallerAccess {
  private readonly memo = new Map<string, Promise<AccountAccess>>();

  constructor(
    readonly principal: Principal,
    private readonly policy: AccountPolicy,
  ) {}

  private access(account: string): Promise<AccountAccess> {
    let pending = this.memo.get(account);
    if (!pending) {
      pending = this.policy.lookup(account);
      this.memo.set(account, pending);
    }
    return pending;
  }

  async can(account: string, authorization: AccountAuthorization): Promise<boolean> {
    return allows(await this.access(account), this.principal.roles, authorization);
  }

  /** READ or WRITE: enough to look an account up (an operation's target) or follow its tasks. */
  async canUse(account: string): Promise<boolean> {
    const access = await this.access(account);
    return allows(access, this.principal.roles, 'READ') || allows(access, this.principal.roles, 'WRITE');
  }

  /** The rows of accounts the caller may read. */
  async readable<T extends { account: string }>(rows: readonly T[]): Promise<T[]> {
    const verdicts = new Map<string, boolean>();
    for (const row of rows) if (!verdicts.has(row.account)) verdicts.set(row.account, await this.can(row.account, 'READ'));
    return rows.filter((row) => verdicts.get(row.account) === true);
  }

  /** Throws ACCESS_DENIED (403) naming the first account the caller lacks the authorization on. */
  async require(accounts: Iterable<string>, authorization: AccountAuthorization): Promise<void> {
    for (const account of new Set(accounts)) {
      if (!(await this.can(account, authorization))) throw accessDenied(this.principal, account, authorization);
    }
  }
}

export function accessDenied(principal: Principal, account: string, authorization: AccountAuthorization): ScaleAgentError {
  const roles = principal.roles.size === 0 ? 'no roles' : `roles: ${[...principal.roles].sort().join(', ')}`;
  return new ScaleAgentError(
    Errors.ACCESS_DENIED,
    `Access denied to account ${account} - required authorization: ${authorization} (user ${principal.user}, ${roles})`,
    {
      account,
      authorization,
      user: principal.user,
    },
  );
}

/** The creator recorded on tasks made while REST auth is off (every caller is the same nobody). */
export const ANONYMOUS_CREATOR = 'anonymous';

/**
 * The creator a task records for an authenticated caller (TaskRecord.createdBy): the user name,
 * lower-cased as auth.users compares it, behind a `user:` prefix so that no user name can pass for
 * ANONYMOUS_CREATOR.
 */
export function taskCreator(principal: Pick<Principal, 'user'>): string {
  return `user:${principal.user.toLowerCase()}`;
}

/** The caller of the request being served, for code that only sees the shared store and router. */
const current = new AsyncLocalStorage<CallerAccess>();

export function runAsCaller<T>(caller: CallerAccess, fn: () => T): T {
  return current.run(caller, fn);
}

export function currentCaller(): CallerAccess | undefined {
  return current.getStore();
}
