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
    // Spinnaker's service calls read everything, as Clouddriver answers them; Gate and Fiat filter per user.
    if (this.principal.via === 'service') return authorization === 'READ';
    return allows(await this.access(account), this.principal.roles, authorization);
  }

  /** READ or WRITE: enough to look an account up (an operation's target) or follow its tasks. */
  async canUse(account: string): Promise<boolean> {
    if (this.principal.via === 'service') return true;
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
    const list = new Set(accounts);
    // Refused even when no account can be named: a service call must never act, whatever the route.
    if (authorization === 'WRITE' && this.principal.via === 'service') throw accessDenied(this.principal, list.values().next().value, authorization);
    for (const account of list) {
      if (!(await this.can(account, authorization))) throw accessDenied(this.principal, account, authorization);
    }
  }
}

/** Who the caller is and what they hold, for refusals: the roles, or why a service call holds none. */
export function describeCaller(principal: Principal): string {
  if (principal.via === 'service') {
    return `user ${principal.user}: a call from the trusted Gate without a user (auth.trustedGate.serviceCalls) may only read, and is never admin`;
  }
  return `user ${principal.user}, ${principal.roles.size === 0 ? 'no roles' : `roles: ${[...principal.roles].sort().join(', ')}`}`;
}

export function accessDenied(principal: Principal, account: string | undefined, authorization: AccountAuthorization): ScaleAgentError {
  return new ScaleAgentError(
    Errors.ACCESS_DENIED,
    `Access denied${account === undefined ? '' : ` to account ${account}`} - required authorization: ${authorization} (${describeCaller(principal)})`,
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
 * ANONYMOUS_CREATOR. Spinnaker's service calls get `service:` instead, so that a Gate user who happens to
 * be called spinnaker-services is not the same creator (such calls cannot create tasks; this keeps the
 * two apart wherever a creator is shown or compared).
 */
export function taskCreator(principal: Pick<Principal, 'user' | 'via'>): string {
  return principal.via === 'service' ? `service:${principal.user.toLowerCase()}` : `user:${principal.user.toLowerCase()}`;
}

/** The caller of the request being served, for code that only sees the shared store and router. */
const current = new AsyncLocalStorage<CallerAccess>();

export function runAsCaller<T>(caller: CallerAccess, fn: () => T): T {
  return current.run(caller, fn);
}

export function currentCaller(): CallerAccess | undefined {
  return current.getStore();
}
