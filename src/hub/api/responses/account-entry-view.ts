import type { AccountStatus } from '../../definitions/account-status.ts';
import type { AccountEntry } from '../../definitions/definition-service.ts';

/**
 * An account as GET /admin/accounts shows it: its status (Armory's lifecycle names), its dynamic
 * definition when it has one (what the operator asked: `state`, `zoneId`, the account's keys under
 * `definition`, revision and authorship) and its registration by an agent when it has one. A dynamic
 * account's body can be sent back to PUT /admin/accounts/{name} as it is (the read-only keys are ignored).
 */
export interface AccountEntryView {
  name: string;
  /** Defined through the hub (true) or by an agent's own configuration (false). */
  dynamic: boolean;
  status: AccountStatus;
  /** Why, for FAILED, ORPHANED and DELETING. */
  statusReason?: string;
  /** Dynamic only: ACTIVE (served), INACTIVE (kept, not served) or DELETING. */
  state?: 'ACTIVE' | 'INACTIVE' | 'DELETING';
  /** Dynamic only: the zone whose agents serve it; null for every agent that takes dynamic accounts. */
  zoneId?: string | null;
  /** Dynamic only: 1 when created, one more at every change. */
  revision?: number;
  definition?: Record<string, unknown>;
  createdAt?: string;
  createdBy?: string;
  updatedAt?: string;
  updatedBy?: string;
  /** The registration, when an agent registered the account. */
  agent?: {
    id: string | null;
    hubId: string | null;
    status: 'connected' | 'disconnected';
    lastSeen: string;
    registeredAt: string;
    kubernetesVersion: string;
    unreachableReason?: string;
  };
  /** After a write: Clouddriver-only keys left out of the definition, each with why. */
  ignored?: Record<string, string>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function accountEntryView(entry: AccountEntry, ignored?: Record<string, string>): AccountEntryView {
  const { definition, account, status } = entry;
  return {
    name: entry.name,
    dynamic: definition !== undefined,
    status: status.status,
    ...(status.reason !== undefined ? { statusReason: status.reason } : {}),
    ...(definition !== undefined
      ? {
          state: definition.desiredState === 'active' ? 'ACTIVE' : definition.desiredState === 'inactive' ? 'INACTIVE' : 'DELETING',
          zoneId: definition.zoneId,
          revision: definition.revision,
          definition: JSON.parse(definition.definition) as Record<string, unknown>,
          createdAt: iso(definition.createdAt),
          createdBy: definition.createdBy,
          updatedAt: iso(definition.updatedAt),
          updatedBy: definition.updatedBy,
        }
      : {}),
    ...(account !== undefined
      ? {
          agent: {
            id: account.agentId,
            hubId: account.hubId,
            status: account.status,
            lastSeen: iso(account.lastSeenAt),
            registeredAt: iso(account.registeredAt),
            kubernetesVersion: account.kubernetesVersion,
            ...(account.unreachableReason !== undefined ? { unreachableReason: account.unreachableReason } : {}),
          },
        }
      : {}),
    ...(ignored !== undefined && Object.keys(ignored).length > 0 ? { ignored } : {}),
  };
}
