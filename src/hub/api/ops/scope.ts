import { knownKind } from '../../store/kind-names.ts';
import type { AccountRecord } from '../../store/types.ts';

/**
 * Whether a kind is namespaced: as the account's agent discovered it, else as Kubernetes defines the
 * built-in kinds; unknown custom kinds are assumed namespaced (most are).
 */
export function namespacedKind(account: AccountRecord, group: string, kind: string): boolean {
  const discovered = account.kinds.find((k) => k.group === group && k.kind === kind);
  if (discovered) return discovered.namespaced;
  return knownKind(group, kind)?.namespaced ?? true;
}
