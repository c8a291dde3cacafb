import type { AccountDefinitionRecord, AccountRecord } from '../store/types.ts';

/**
 * An account's lifecycle as Armory's Dynamic Accounts name it (KubesvcAccount.status), computed from its
 * dynamic definition (what the operator wants) and its accounts row (what the agents report):
 *
 * - INACTIVE: the definition is kept but not served (sent to no agent);
 * - ACTIVATING: active, and no agent has registered it since (it was last) defined;
 * - ACTIVE: registered by a connected agent that reaches its cluster;
 * - FAILED: registered, but its agent cannot reach the cluster or read the credentials (the reason shown);
 * - ORPHANED: was registered, and no agent serves it any more (an agent's static account alike);
 * - DELETING: deleted by the operator; its agents are stopping it, then its row and cache go.
 */
export type AccountStatus = 'ACTIVE' | 'INACTIVE' | 'ACTIVATING' | 'FAILED' | 'ORPHANED' | 'DELETING';

export interface AccountStatusView {
  status: AccountStatus;
  /** Why, for FAILED, ORPHANED and DELETING. */
  reason?: string;
}

function agentOf(account: AccountRecord): string {
  return account.agentId === null ? 'no agent' : `agent ${account.agentId}`;
}

/** The status of an account that has a definition, a row, or both (never neither). */
export function accountStatus(definition: AccountDefinitionRecord | undefined, account: AccountRecord | undefined): AccountStatusView {
  if (definition?.desiredState === 'inactive') return { status: 'INACTIVE' };
  if (definition?.desiredState === 'deleting') {
    return {
      status: 'DELETING',
      reason:
        account?.status === 'connected'
          ? `waiting for ${agentOf(account)} to stop serving it`
          : 'its row and cache are removed at the next check of the definitions',
    };
  }
  if (account === undefined) return { status: 'ACTIVATING' };
  if (account.status === 'disconnected') {
    // A row left from before the definition was (last) changed says nothing about the definition.
    if (definition !== undefined && account.lastSeenAt < definition.updatedAt) return { status: 'ACTIVATING' };
    return { status: 'ORPHANED', reason: `no agent serves it since ${new Date(account.lastSeenAt).toISOString()} (last: ${agentOf(account)})` };
  }
  if (account.unreachableReason !== undefined) return { status: 'FAILED', reason: account.unreachableReason };
  return { status: 'ACTIVE' };
}
