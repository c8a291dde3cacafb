import type { AccountDefinitionStore, AccountStore } from '../store/types.ts';

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
  if (account !== undefined) await store.deleteAccount(name);
  await store.deleteDefinition(name, 'deleting');
  return true;
}
