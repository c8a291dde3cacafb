import { errorMessage } from '../common/errors.ts';
import type { ApiResource } from './api-resource.ts';
import type { KubeRequest } from './client.ts';
import { mapLimited } from '../common/map-limited.ts';

export interface ServerVersion {
  gitVersion: string;
  major: string;
  minor: string;
}

/** A group version whose resource list could not be fetched (an aggregated API that is down, typically). */
export interface FailedGroup {
  groupVersion: string;
  error: string;
}

export interface DiscoveryResult {
  serverVersion: ServerVersion;
  /** Every resource of every served group version (subresources excluded); `preferred` marks the preferred version's. */
  resources: ApiResource[];
  /** Partial failure is data: one broken aggregated API must not hide the rest of the cluster. */
  failedGroups: FailedGroup[];
}

/** Group-version lists fetched at once; a cluster has a few dozen, and the API server handles them cheaply. */
export const DISCOVERY_CONCURRENCY = 8;

/** The one client call discovery makes. */
export interface DiscoveryClient {
  json<T>(req: KubeRequest): Promise<T>;
}

interface ApiVersions {
  versions?: string[];
}
interface ApiGroupList {
  groups?: { name?: string; versions?: { groupVersion?: string; version?: string }[]; preferredVersion?: { version?: string } }[];
}
interface ApiResourceList {
  resources?: {
    name?: string;
    singularName?: string;
    namespaced?: boolean;
    kind?: string;
    verbs?: string[];
    shortNames?: string[];
    group?: string;
    version?: string;
  }[];
}

interface GroupVersionToFetch {
  group: string;
  version: string;
  preferred: boolean;
  path: string;
}

/**
 * Legacy (per group version) discovery: /version, /api, /apis, then every /api/{v} and /apis/{g}/{v}.
 * The core group and the group list must answer (else this throws); any other group version that fails
 * is listed in `failedGroups`.
 */
export async function discoverResources(client: DiscoveryClient, options: { signal?: AbortSignal } = {}): Promise<DiscoveryResult> {
  const signal = options.signal;
  const get = <T>(path: string) => client.json<T>(signal ? { path, signal } : { path });
  const [version, core, groups] = await Promise.all([get<Partial<ServerVersion>>('/version'), get<ApiVersions>('/api'), get<ApiGroupList>('/apis')]);
  const serverVersion: ServerVersion = {
    gitVersion: String(version?.gitVersion ?? ''),
    major: String(version?.major ?? ''),
    minor: String(version?.minor ?? ''),
  };

  const coreVersions = core?.versions ?? [];
  const toFetch: GroupVersionToFetch[] = coreVersions.map((v, i) => ({ group: '', version: v, preferred: i === 0, path: `/api/${v}` }));
  for (const group of groups?.groups ?? []) {
    if (typeof group.name !== 'string') continue;
    const preferredVersion = group.preferredVersion?.version ?? group.versions?.[0]?.version;
    for (const v of group.versions ?? []) {
      if (typeof v.version !== 'string') continue;
      toFetch.push({ group: group.name, version: v.version, preferred: v.version === preferredVersion, path: `/apis/${group.name}/${v.version}` });
    }
  }

  const lists = await mapLimited(toFetch, DISCOVERY_CONCURRENCY, async (gv) => {
    try {
      return { gv, list: await get<ApiResourceList>(gv.path) };
    } catch (err) {
      // The core group is not optional: without it there is nothing to operate on.
      if (gv.group === '') throw err;
      return { gv, error: errorMessage(err) };
    }
  });

  const resources: ApiResource[] = [];
  const failedGroups: FailedGroup[] = [];
  for (const entry of lists) {
    const { gv } = entry;
    if ('error' in entry) {
      failedGroups.push({ groupVersion: gv.group === '' ? gv.version : `${gv.group}/${gv.version}`, error: entry.error ?? '' });
      continue;
    }
    for (const r of entry.list?.resources ?? []) {
      if (typeof r.name !== 'string' || typeof r.kind !== 'string' || r.name.includes('/')) continue;
      resources.push({
        group: r.group ?? gv.group,
        version: r.version ?? gv.version,
        kind: r.kind,
        resource: r.name,
        namespaced: r.namespaced === true,
        verbs: Array.isArray(r.verbs) ? r.verbs : [],
        shortNames: Array.isArray(r.shortNames) ? r.shortNames : [],
        singularName: r.singularName || r.kind.toLowerCase(),
        preferred: gv.preferred,
      });
    }
  }
  return { serverVersion, resources, failedGroups };
}

/**
 * The resources after a rediscovery: what `result` found, plus — for each group version that did not
 * answer this time — what `previous` knew of it. An aggregated API that is briefly down must not look
 * like kinds that were deleted: their feeds would be dropped and the hub would forget their objects.
 */
export function carryOverFailedGroups(previous: readonly ApiResource[], result: Pick<DiscoveryResult, 'resources' | 'failedGroups'>): ApiResource[] {
  if (result.failedGroups.length === 0) return [...result.resources];
  const failed = new Set(result.failedGroups.map((f) => f.groupVersion));
  return [...result.resources, ...previous.filter((r) => failed.has(r.group === '' ? r.version : `${r.group}/${r.version}`))];
}

/** What changed between two discoveries, by group/version/resource (names as "resource.version.group"). */
export interface ResourceChanges {
  added: string[];
  removed: string[];
  /** Same resource, different kind, scope, verbs or preference. */
  changed: string[];
}

export function diffResources(before: readonly ApiResource[], after: readonly ApiResource[]): ResourceChanges {
  const key = (r: ApiResource) => [r.resource, r.version, r.group].filter((p) => p !== '').join('.');
  const shape = (r: ApiResource) => JSON.stringify([r.kind, r.namespaced, [...r.verbs].sort(), r.preferred]);
  const old = new Map(before.map((r) => [key(r), shape(r)]));
  const now = new Map(after.map((r) => [key(r), shape(r)]));
  const changes: ResourceChanges = { added: [], removed: [], changed: [] };
  for (const [k, s] of now) {
    const was = old.get(k);
    if (was === undefined) changes.added.push(k);
    else if (was !== s) changes.changed.push(k);
  }
  for (const k of old.keys()) if (!now.has(k)) changes.removed.push(k);
  return changes;
}

export function hasResourceChanges(changes: ResourceChanges): boolean {
  return changes.added.length + changes.removed.length + changes.changed.length > 0;
}
