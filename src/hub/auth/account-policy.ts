import type { Logger } from '../../common/logger.ts';
import type { AccountReader, AccountRecord } from '../store/types.ts';
import type { AuthConfig } from './auth-config.ts';
import { isRestricted, normalizePermissions, problemText, type PermissionMap } from './roles.ts';

/**
 * Shown as an account's READ and WRITE roles in /credentials when the hub holds the account closed (its
 * agent sent malformed permissions, or it names no role and auth.unrestrictedAccounts is closed), so that
 * Fiat, which reads /credentials, closes it too instead of reading "no permissions" as "open to all". The
 * hub itself never grants anything for this role.
 */
export const CLOSED_ROLE = 'scale-agent:closed';

/** How long an account's permissions are reused before being read from the store again. */
export const DEFAULT_PERMISSIONS_TTL_MS = 1000;

export type AccountAccess =
  | { restricted: false }
  | {
      restricted: true;
      read: ReadonlySet<string>;
      write: ReadonlySet<string>;
      /** Where the permissions come from: a hub override, the agent, or why the account is closed. */
      source: 'override' | 'agent' | 'malformed' | 'closed-by-default';
    };

const OPEN: AccountAccess = { restricted: false };

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

function closed(source: 'malformed' | 'closed-by-default'): AccountAccess {
  return { restricted: true, read: new Set(), write: new Set(), source };
}

function fromMap(permissions: PermissionMap, source: 'override' | 'agent'): AccountAccess {
  return { restricted: true, read: new Set(permissions.READ ?? []), write: new Set(permissions.WRITE ?? []), source };
}

export interface AccountPolicyOptions {
  config: AuthConfig;
  /** The accounts as they are (never an authorizing wrapper): the policy reads every account. */
  store: AccountReader;
  logger: Logger;
  ttlMs?: number;
  now?: () => number;
}

/**
 * Decides each account's effective permissions: the first auth.accounts pattern that matches the name
 * replaces the agent's; otherwise the agent's, normalised, or closed when malformed; an account that
 * names no role is open or closed by auth.unrestrictedAccounts (always open while auth is disabled).
 */
export class AccountPolicy {
  private readonly overrides: Array<{ pattern: RegExp; permissions: PermissionMap }>;
  private readonly cache = new Map<string, { record: AccountRecord; at: number }>();
  private readonly reported = new Map<string, string>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: AccountPolicyOptions) {
    this.overrides = options.config.accounts.map((entry) => ({ pattern: globToRegExp(entry.name), permissions: entry.permissions }));
    this.ttlMs = options.ttlMs ?? DEFAULT_PERMISSIONS_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  private get closedByDefault(): boolean {
    return this.options.config.enabled && this.options.config.unrestrictedAccounts === 'closed';
  }

  private override(name: string): PermissionMap | undefined {
    return this.overrides.find((o) => o.pattern.test(name))?.permissions;
  }

  /** The permissions in force for an account (a name the store does not hold gets overrides or the default). */
  access(name: string, record: AccountRecord | undefined): AccountAccess {
    const override = this.override(name);
    if (override) return fromMap(override, 'override');
    if (record) {
      const { permissions, problems } = normalizePermissions(record.permissions);
      if (problems.length > 0) {
        this.reportMalformed(record, problems.map(problemText));
        return closed('malformed');
      }
      if (isRestricted(permissions)) return fromMap(permissions, 'agent');
    }
    return this.closedByDefault ? closed('closed-by-default') : OPEN;
  }

  /** What /credentials shows as the account's `permissions` (undefined: none, i.e. unrestricted). */
  present(record: AccountRecord): PermissionMap | undefined {
    const override = this.override(record.name);
    if (override) return override;
    const { permissions, problems } = normalizePermissions(record.permissions);
    if (problems.length > 0) {
      this.reportMalformed(record, problems.map(problemText));
      return { READ: [CLOSED_ROLE], WRITE: [CLOSED_ROLE] };
    }
    if (isRestricted(permissions)) return permissions;
    return this.closedByDefault ? { READ: [CLOSED_ROLE], WRITE: [CLOSED_ROLE] } : undefined;
  }

  /** An account's permissions by name, from a short-lived cache or the store. */
  async lookup(name: string): Promise<AccountAccess> {
    const cached = this.cache.get(name);
    if (cached && this.now() - cached.at < this.ttlMs) return this.access(name, cached.record);
    const record = await this.options.store.getAccount(name);
    if (record) this.remember(record);
    else this.cache.delete(name);
    return this.access(name, record);
  }

  /** Refreshes the cache from accounts just read (a list of accounts costs no extra query). */
  remember(record: AccountRecord): void {
    this.cache.set(record.name, { record, at: this.now() });
  }

  private reportMalformed(record: AccountRecord, problems: string[]): void {
    const signature = JSON.stringify(record.permissions);
    if (this.reported.get(record.name) === signature) return;
    this.reported.set(record.name, signature);
    this.options.logger.warn(
      { account: record.name, agentId: record.agentId, problems },
      `account ${record.name}: the permissions its agent sent are malformed (${problems.join('; ')}); the account is closed to every user until the agent's permissions are fixed`,
    );
  }
}

/** Whether a caller with these roles holds the authorization on the account. */
export function allows(access: AccountAccess, roles: ReadonlySet<string>, authorization: 'READ' | 'WRITE'): boolean {
  if (!access.restricted) return true;
  const granted = authorization === 'READ' ? access.read : access.write;
  for (const role of roles) if (granted.has(role)) return true;
  return false;
}
