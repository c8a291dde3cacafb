/** The subset of a discovered API resource the agent's filters look at. */
export interface FilterableResource {
  group: string;
  kind: string;
  resource: string;
  namespaced: boolean;
  verbs: string[];
}

/**
 * Whether a configured kind name ("Deployment", "deployment", "deployments", "Widget.example.com",
 * "replicaSet") names this resource. Matching ignores case; a name with a dot must match the group too.
 */
export function kindMatches(name: string, resource: Pick<FilterableResource, 'group' | 'kind' | 'resource'>): boolean {
  const lower = name.toLowerCase();
  const dot = lower.indexOf('.');
  const bare = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  if (group !== undefined && group !== resource.group.toLowerCase()) return false;
  return bare === resource.kind.toLowerCase() || bare === resource.resource.toLowerCase();
}

export interface KindSelection {
  kinds: string[];
  omitKinds: string[];
  defaultOmitKinds: string[];
  onlyNamespacedResources: boolean;
  /** Kinds the hub asked for ("group/Kind"); empty = no restriction. */
  hubKinds: string[];
}

/** Why a discovered kind is not watched, or undefined when it is. */
export function exclusionReason(resource: FilterableResource, selection: KindSelection): string | undefined {
  if (!resource.verbs.includes('list') || !resource.verbs.includes('watch')) return 'the API does not offer list and watch for this kind';
  if (selection.onlyNamespacedResources && !resource.namespaced) return 'cluster-scoped and onlyNamespacedResources is set';
  if (selection.kinds.length > 0) {
    if (!selection.kinds.some((k) => kindMatches(k, resource))) return 'not in kinds';
  } else {
    if (selection.omitKinds.some((k) => kindMatches(k, resource))) return 'in omitKinds';
    if (selection.defaultOmitKinds.some((k) => kindMatches(k, resource))) return 'omitted by default (list it in kinds to watch it)';
  }
  if (selection.hubKinds.length > 0 && !selection.hubKinds.includes(`${resource.group}/${resource.kind}`)) return 'not in the kind list the hub asked for';
  return undefined;
}
