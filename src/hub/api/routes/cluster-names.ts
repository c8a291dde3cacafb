import type { ApplicationClusterRow } from '../../store/types.ts';
import type { Resource } from '../../views/resource.ts';

/** account → cluster names (sorted), from the clusters index alone. */
export function clusterNamesByAccount(rows: readonly ApplicationClusterRow[]): Record<string, string[]> {
  const sets = new Map<string, Set<string>>();
  for (const row of rows) {
    if (row.cluster === null) continue;
    const set = sets.get(row.account);
    if (set) set.add(row.cluster);
    else sets.set(row.account, new Set([row.cluster]));
  }
  const out: Record<string, string[]> = {};
  for (const account of [...sets.keys()].sort()) out[account] = [...sets.get(account)!].sort();
  return out;
}

/** The moniker cluster a resource belongs to, if any. */
export function clusterOf(resource: Resource): string | undefined {
  return resource.moniker.cluster;
}
