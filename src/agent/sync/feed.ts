/** What a feed watches: one kind (group/version/resource) in one namespace, or in all ("" scope). */
export interface FeedDescriptor {
  group: string;
  version: string;
  kind: string;
  resource: string;
  /** The watch scope: a namespace, or "" for all namespaces and for cluster-scoped kinds. */
  namespace: string;
  namespaced: boolean;
}

/** A stable identity of a feed, for maps: "group/Kind@namespace". */
export function feedId(feed: Pick<FeedDescriptor, 'group' | 'kind' | 'namespace'>): string {
  return `${feed.group}/${feed.kind}@${feed.namespace}`;
}
