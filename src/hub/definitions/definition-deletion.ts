import type { AccountDefinitionStore, AccountStore } from '../store/types.ts';

/**
 * The property an agent declares with every account: where its definition comes from (`file`: the agent's
 * configuration; `hub`: a dynamic account). The agent's name for it is ACCOUNT_SOURCE_PROPERTY.
 */
export const ACCOUNT_SOURCE_PROPERTY = 'accountSource';
const FILE_SOURCE = 'file';

/** What finishing a deletion touches: the definition, and the account's row and cache. */
export type DeletionStore = Pick<AccountDefinitionStore, 'deleteDefinition'> & Pick<AccountStore, 'getAccount' | 'deleteAccount'>;

/**
 * Finishes the deletion of a definition marked `deleting` once no agent serves its account: the
 * account's row and cache are removed at once (not after the grace period that keeps an account whose
 * agent merely went away), then the definition. While an agent still serves the account (its row says
 * connected: it has not yet stopped it) nothing happens; the next call tries again. True once the
 * definition is gone. Safe to run at several replicas at once: each step is idempotent, and the
 * definition is removed only while it is still marked `deleting`.
 */
export async function finishDeletion(store: DeletionStore, name: string): Promise<boolean> {
  const account = await store.getAccount(name);
  if (account?.status === 'connected') return false;
  // An agent's own configuration declared the name last (`accountSource: file`): the registration and its
  // cache are that agent's, not the definition's, and stay (the grace period decides for them).
  if (account !== undefined && account.properties[ACCOUNT_SOURCE_PROPERTY] !== FILE_SOURCE) await store.deleteAccount(name);
  await store.deleteDefinition(name, 'deleting');
  return true;
}
