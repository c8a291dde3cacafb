import { Errors, ScaleAgentError } from '../common/errors.ts';
import { joinApiVersion } from '../common/kube-object.ts';

/** One listable resource of one group version, as discovery reports it (subresources excluded). */
export interface ApiResource {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** The plural used in URLs, e.g. `deployments`. */
  resource: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  singularName: string;
  /** True when `version` is the group's preferred version. */
  preferred: boolean;
}

export function apiVersionOf(resource: Pick<ApiResource, 'group' | 'version'>): string {
  return joinApiVersion(resource.group, resource.version);
}

/**
 * URL path of a resource collection (or one object when `name` is given). `namespace` '' means all
 * namespaces for a namespaced resource; it is ignored for cluster-scoped ones.
 */
export function resourcePath(resource: Pick<ApiResource, 'group' | 'version' | 'resource' | 'namespaced'>, namespace = '', name?: string): string {
  const root = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  const scope = resource.namespaced && namespace !== '' ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const item = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${root}${scope}/${resource.resource}${item}`;
}

export interface KindQuery {
  /** Matched exactly when given ('' is the core group). */
  group?: string;
  /** Matched exactly when given; otherwise the preferred version wins. */
  version?: string;
  /** Case-insensitive; the plural resource name, singular name and short names are accepted too. */
  kind: string;
}

/**
 * Finds the resource for a kind (what an operation on "Deployment" or "deploy" needs). Among matches,
 * the preferred version wins, then the core group (like kubectl, `Event` means the core one), then the
 * group name in order, so the answer is stable.
 */
export function resolveKind(resources: readonly ApiResource[], query: KindQuery): ApiResource {
  const wanted = query.kind.toLowerCase();
  const matches = resources.filter(
    (r) =>
      (query.group === undefined || r.group === query.group) &&
      (query.version === undefined || r.version === query.version) &&
      (r.kind.toLowerCase() === wanted || r.resource === wanted || r.singularName === wanted || r.shortNames.includes(wanted)),
  );
  // An exact kind match beats a resource-name or short-name match.
  const byKind = matches.filter((r) => r.kind.toLowerCase() === wanted);
  const candidates = byKind.length > 0 ? byKind : matches;
  if (candidates.length === 0) {
    const what = query.group === undefined ? query.kind : `${query.kind} in group "${query.group}"`;
    throw new ScaleAgentError(Errors.KUBE_KIND_UNKNOWN, `the API server has no resource for kind ${what}`, {
      kind: query.kind,
      ...(query.group !== undefined ? { group: query.group } : {}),
    });
  }
  return [...candidates].sort(compareCandidates)[0]!;
}

function compareCandidates(a: ApiResource, b: ApiResource): number {
  if (a.preferred !== b.preferred) return a.preferred ? -1 : 1;
  if ((a.group === '') !== (b.group === '')) return a.group === '' ? -1 : 1;
  return a.group < b.group ? -1 : a.group > b.group ? 1 : 0;
}
