import { KNOWN_KINDS, knownKind, resolveKind, spinnakerKindName, spinnakerKindOf, type GroupKind, type SpinnakerKind } from '../../store/kind-names.ts';
import type { AccountReader, AccountRecord, CacheReader, CachedObject, ObjectSearch } from '../../store/types.ts';

/**
 * GET /search the way Clouddriver's KubernetesSearchProvider answers it. Clouddriver matches the glob
 * `*<q lower-cased>*` against its cache keys:
 *
 *   kubernetes.v2:infrastructure:<kind>:<account>:<namespace>:<name>
 *   kubernetes.v2:logical:applications:<application>
 *   kubernetes.v2:logical:clusters:<account>:<application>:<cluster>
 *
 * (":" inside a part written as ";"). An object is a hit when its own key matches, or when it belongs to
 * an application or cluster whose key matches (serverGroups, serverGroupManagers, loadBalancers and
 * securityGroups belong to their application; serverGroups and serverGroupManagers to their cluster).
 * We build the same keys from the store's columns and match them the same way, case-insensitively.
 */
export interface SearchResultSet {
  totalMatches: number;
  pageNumber: number;
  pageSize: number;
  platform: string;
  query: string;
  results: SearchResult[];
}

export type SearchResult = Record<string, string>;

export const SEARCH_PLATFORM = 'kubernetes';

const PROVIDER = 'kubernetes';
const KEY_PREFIX = 'kubernetes.v2';
const INFRASTRUCTURE = 'infrastructure';
const LOGICAL = 'logical';
const APPLICATIONS = 'applications';
const CLUSTERS = 'clusters';

/** Spinnaker kinds the cache relates to an application, and to a cluster (Clouddriver's caching agents). */
const APPLICATION_LINKED: ReadonlySet<SpinnakerKind> = new Set(['serverGroups', 'serverGroupManagers', 'loadBalancers', 'securityGroups']);
const CLUSTER_LINKED: ReadonlySet<SpinnakerKind> = new Set(['serverGroups', 'serverGroupManagers']);
/** Spinnaker kinds a `type` may name to ask for all their Kubernetes kinds (not "unclassified"). */
const SPINNAKER_KINDS: ReadonlySet<string> = new Set(['serverGroups', 'serverGroupManagers', 'instances', 'loadBalancers', 'securityGroups', 'configs']);

/** The field a hit of these kinds repeats its name under (Clouddriver's handlers' hydrateSearchResult). */
const NAME_ALIAS: Readonly<Record<string, string>> = {
  replicaSet: 'serverGroup',
  statefulSet: 'serverGroup',
  daemonSet: 'serverGroup',
  pod: 'instanceId',
  service: 'loadBalancer',
  ingress: 'loadBalancer',
  networkPolicy: 'id',
};

/** Segments of the keys that are the same for every object: a query inside one matches everything. */
const CONSTANT_SEGMENTS = [KEY_PREFIX, INFRASTRUCTURE, LOGICAL, APPLICATIONS, CLUSTERS];

function part(value: string): string {
  return value.replaceAll(':', ';');
}

export function infrastructureKey(kindName: string, account: string, namespace: string, name: string): string {
  return [KEY_PREFIX, INFRASTRUCTURE, kindName, account, namespace, name].map(part).join(':');
}

export function applicationKey(application: string): string {
  return [KEY_PREFIX, LOGICAL, APPLICATIONS, application].map(part).join(':');
}

export function clusterKey(account: string, application: string, cluster: string): string {
  return [KEY_PREFIX, LOGICAL, CLUSTERS, account, application, cluster].map(part).join(':');
}

/** What a `type` list asks for: Kubernetes kinds, and the logical applications and clusters. */
export interface SearchTypes {
  kinds: GroupKind[];
  applications: boolean;
  clusters: boolean;
}

function gkKey(gk: GroupKind): string {
  return `${gk.group}/${gk.kind}`;
}

/**
 * `type` values: "applications", "clusters", a Spinnaker kind ("serverGroups": all its Kubernetes kinds)
 * or a Kubernetes kind as Spinnaker spells it ("replicaSet", aliases and any case accepted). Custom kinds
 * count when an account serves them; anything else is ignored, as Clouddriver ignores types it has no
 * cache for.
 */
export function resolveSearchTypes(tokens: readonly string[], accounts: readonly AccountRecord[]): SearchTypes {
  const served = accounts.flatMap((a) => a.kinds);
  const kinds = new Map<string, GroupKind>();
  const add = (gk: GroupKind) => kinds.set(gkKey(gk), { group: gk.group, kind: gk.kind });
  const out: SearchTypes = { kinds: [], applications: false, clusters: false };
  for (const raw of tokens) {
    const token = raw.trim();
    if (token === '') continue;
    const lower = token.toLowerCase();
    if (lower === APPLICATIONS) out.applications = true;
    else if (lower === CLUSTERS) out.clusters = true;
    else {
      const spinnakerKind = [...SPINNAKER_KINDS].find((k) => k.toLowerCase() === lower) as SpinnakerKind | undefined;
      if (spinnakerKind !== undefined) {
        for (const known of KNOWN_KINDS) if (known.spinnakerKind === spinnakerKind) add(known);
        for (const kind of served) if (spinnakerKindOf(kind.group, kind.kind) === spinnakerKind) add(kind);
        continue;
      }
      const gk = resolveKind(token, served);
      if (gk && (knownKind(gk.group, gk.kind) !== undefined || served.some((s) => s.group === gk.group && s.kind === gk.kind))) add(gk);
    }
  }
  out.kinds = [...kinds.values()];
  return out;
}

/** Kinds whose objects can reach a logical key of the wanted types (for the candidate query). */
function linkedKinds(types: SearchTypes, accounts: readonly AccountRecord[]): GroupKind[] {
  const classes = new Set<SpinnakerKind>([...(types.applications ? APPLICATION_LINKED : []), ...(types.clusters ? CLUSTER_LINKED : [])]);
  if (classes.size === 0) return [];
  const out: GroupKind[] = [];
  for (const known of KNOWN_KINDS) if (classes.has(known.spinnakerKind)) out.push(known);
  for (const kind of accounts.flatMap((a) => a.kinds)) if (classes.has(spinnakerKindOf(kind.group, kind.kind))) out.push(kind);
  return out;
}

/**
 * The candidate query: the wanted kinds, narrowed by a substring prefilter whenever the query can only
 * match inside one variable key part (no ":" or ";", and not inside a part every key shares).
 */
export function candidateQuery(query: string, types: SearchTypes, accounts: readonly AccountRecord[]): ObjectSearch | undefined {
  const byKey = new Map<string, GroupKind>();
  for (const gk of [...types.kinds, ...linkedKinds(types, accounts)]) byKey.set(gkKey(gk), { group: gk.group, kind: gk.kind });
  const kinds = [...byKey.values()];
  if (kinds.length === 0) return undefined;
  const q = query.toLowerCase();
  const matchesEverything = q === '' || /[:;]/.test(q) || CONSTANT_SEGMENTS.some((segment) => segment.includes(q));
  if (matchesEverything) return { kinds, withoutBodies: true };
  return {
    kinds,
    withoutBodies: true,
    text: {
      contains: q,
      orAccounts: accounts.filter((a) => a.name.toLowerCase().includes(q)).map((a) => a.name),
      orKinds: kinds.filter((k) => spinnakerKindName(k.group, k.kind).toLowerCase().includes(q)),
    },
  };
}

/** Every hit of `query` among `candidates`, deduplicated and ordered by cache key. */
export function searchHits(query: string, types: SearchTypes, candidates: readonly CachedObject[]): SearchResult[] {
  const q = query.toLowerCase();
  const matches = (key: string) => key.toLowerCase().includes(q);
  const wanted = new Set(types.kinds.map(gkKey));
  const hits = new Map<string, SearchResult>();
  const appMatch = new Map<string, boolean>();
  const clusterMatch = new Map<string, boolean>();
  for (const o of candidates) {
    const kindName = spinnakerKindName(o.group, o.kind);
    const spinnakerKind = spinnakerKindOf(o.group, o.kind);
    const application = APPLICATION_LINKED.has(spinnakerKind) ? o.application : null;
    const cluster = CLUSTER_LINKED.has(spinnakerKind) && o.application !== null ? o.cluster : null;
    let viaApplication = false;
    let viaCluster = false;
    if (application !== null) {
      const key = applicationKey(application);
      let matched = appMatch.get(key);
      if (matched === undefined) appMatch.set(key, (matched = matches(key)));
      viaApplication = matched;
      if (matched && types.applications && !hits.has(key)) {
        hits.set(key, { provider: PROVIDER, group: APPLICATIONS, name: application, application, type: APPLICATIONS });
      }
    }
    if (cluster !== null && application !== null) {
      const key = clusterKey(o.account, application, cluster);
      let matched = clusterMatch.get(key);
      if (matched === undefined) clusterMatch.set(key, (matched = matches(key)));
      viaCluster = matched;
      if (matched && types.clusters && !hits.has(key)) {
        hits.set(key, { provider: PROVIDER, group: CLUSTERS, account: o.account, application, name: cluster, cluster, type: CLUSTERS });
      }
    }
    if (!wanted.has(gkKey(o))) continue;
    const key = infrastructureKey(kindName, o.account, o.namespace, o.name);
    if (!(viaApplication || viaCluster || matches(key))) continue;
    const fullName = `${kindName} ${o.name}`;
    const hit: SearchResult = {
      provider: PROVIDER,
      group: kindName,
      kubernetesKind: kindName,
      account: o.account,
      namespace: o.namespace,
      region: o.namespace,
      name: fullName,
      type: spinnakerKind,
    };
    const alias = NAME_ALIAS[kindName];
    if (alias !== undefined && knownKind(o.group, o.kind) !== undefined) hit[alias] = fullName;
    if (application !== null) hit.application = application;
    if (cluster !== null) hit.cluster = cluster;
    hits.set(key, hit);
  }
  return [...hits.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, hit]) => hit);
}

export interface SearchRequest {
  query: string;
  types: readonly string[];
  pageNumber: number;
  pageSize: number;
}

export async function search(store: AccountReader & CacheReader, request: SearchRequest): Promise<SearchResultSet> {
  const accounts = await store.listAccounts();
  const types = resolveSearchTypes(request.types, accounts);
  const candidates = candidateQuery(request.query, types, accounts);
  const all = candidates === undefined ? [] : searchHits(request.query, types, await store.searchObjects(candidates));
  const start = request.pageSize * (request.pageNumber - 1);
  const end = Math.min(request.pageSize * request.pageNumber, all.length);
  return {
    // Clouddriver's Kubernetes provider reports the size of the page here; the total is what the
    // field means (and what its other providers report), so a client can tell there are more pages.
    totalMatches: all.length,
    pageNumber: request.pageNumber,
    pageSize: request.pageSize,
    platform: SEARCH_PLATFORM,
    query: request.query,
    results: start < end ? all.slice(start, end) : [],
  };
}
