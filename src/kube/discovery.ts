import { Errors, errorMessage, ScaleAgentError } from '../common/errors.ts';
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
 * What discovery asks for at /api and /apis, client-go's order: the aggregated document (apidiscovery.k8s.io
 * v2, then v2beta1: every group's versions and resources in one response, served since Kubernetes 1.26 and
 * GA in 1.30), else the legacy one, which then costs a request per group version.
 */
export const DISCOVERY_ACCEPT = [
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
  'application/json',
].join(',');

/** An aggregated discovery document (APIGroupDiscoveryList), as far as discovery reads it. */
interface GroupDiscoveryList {
  kind: 'APIGroupDiscoveryList';
  items?: {
    metadata?: { name?: string };
    /** In descending order of preference: the first is the preferred version. */
    versions?: { version?: string; freshness?: string; resources?: ResourceDiscovery[] }[];
  }[];
}

interface ResourceDiscovery {
  resource?: string;
  responseKind?: { kind?: string } | null;
  scope?: string;
  singularResource?: string;
  verbs?: string[];
  shortNames?: string[];
}

/** The freshness of a group version an aggregated API server did not answer for (its resources may be out of date). */
const STALE = 'Stale';

/** Whether a document at /api or /apis is the aggregated kind (a server without it sends the legacy one, whatever Accept said). */
function isAggregated(document: unknown): document is GroupDiscoveryList {
  const d = document as { kind?: unknown; apiVersion?: unknown } | undefined;
  return d?.kind === 'APIGroupDiscoveryList' && typeof d.apiVersion === 'string' && d.apiVersion.startsWith('apidiscovery.k8s.io/');
}

/** How a group version is named in `failedGroups` and by kubectl: `v1` for the core group, else `apps/v1`. */
function groupVersionName(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** The fields of one resource, as either kind of discovery document gives them. */
interface ResourceFields {
  kind: string;
  resource: string;
  namespaced: boolean;
  verbs: unknown;
  shortNames: unknown;
  singularName: string | undefined;
}

function apiResource(group: string, version: string, preferred: boolean, r: ResourceFields): ApiResource {
  return {
    group,
    version,
    kind: r.kind,
    resource: r.resource,
    namespaced: r.namespaced,
    verbs: Array.isArray(r.verbs) ? (r.verbs as string[]) : [],
    shortNames: Array.isArray(r.shortNames) ? (r.shortNames as string[]) : [],
    singularName: r.singularName || r.kind.toLowerCase(),
    preferred,
  };
}

/**
 * The resources of an aggregated document. A version that is `Stale` (its aggregated API server did not
 * answer) or whose `resources` is not a list counts as failed, like a legacy group version that did not
 * answer: a rediscovery keeps what it knew of it. A version without `resources` serves none (the field
 * is omitted when empty). The preferred version is the first current one, as client-go reads it.
 */
function aggregatedResources(document: GroupDiscoveryList, core: boolean, resources: ApiResource[], failedGroups: FailedGroup[]): void {
  for (const item of Array.isArray(document.items) ? document.items : []) {
    if (item === null || typeof item !== 'object') continue;
    const group = core ? '' : item.metadata?.name;
    if (typeof group !== 'string' || (!core && group === '')) continue;
    let preferred = true;
    for (const entry of Array.isArray(item.versions) ? item.versions : []) {
      const version = entry?.version;
      // A version without a name cannot be fetched, kept or told apart: there is nothing to record.
      if (typeof version !== 'string' || version === '') continue;
      const listed: unknown = entry.resources ?? [];
      if (entry.freshness === STALE || !Array.isArray(listed)) {
        const why =
          entry.freshness === STALE
            ? 'discovery is stale: the aggregated API server did not answer'
            : 'the aggregated discovery document lists no resources for it';
        failedGroups.push({ groupVersion: groupVersionName(group, version), error: why });
        continue;
      }
      for (const r of listed as ResourceDiscovery[]) {
        const kind = r?.responseKind?.kind;
        if (typeof r?.resource !== 'string' || r.resource === '' || r.resource.includes('/') || typeof kind !== 'string') continue;
        const fields = {
          kind,
          resource: r.resource,
          namespaced: r.scope === 'Namespaced',
          verbs: r.verbs,
          shortNames: r.shortNames,
          singularName: r.singularResource,
        };
        resources.push(apiResource(group, version, preferred, fields));
      }
      preferred = false;
    }
  }
}

/**
 * Discovery: /version, /api and /apis, asking for the aggregated documents (DISCOVERY_ACCEPT). Where the
 * server answers with a legacy document, every group version it names is fetched on its own
 * (/api/{v}, /apis/{g}/{v}), as before aggregated discovery. The core group and the group list must
 * answer (else this throws); any other group version that fails, or is stale, is listed in `failedGroups`.
 */
export async function discoverResources(client: DiscoveryClient, options: { signal?: AbortSignal } = {}): Promise<DiscoveryResult> {
  const signal = options.signal;
  const get = <T>(path: string, accept?: string) => client.json<T>({ path, ...(accept ? { accept } : {}), ...(signal ? { signal } : {}) });
  const [version, core, groups] = await Promise.all([
    get<Partial<ServerVersion>>('/version'),
    get<ApiVersions | GroupDiscoveryList>('/api', DISCOVERY_ACCEPT),
    get<ApiGroupList | GroupDiscoveryList>('/apis', DISCOVERY_ACCEPT),
  ]);
  const serverVersion: ServerVersion = {
    gitVersion: String(version?.gitVersion ?? ''),
    major: String(version?.major ?? ''),
    minor: String(version?.minor ?? ''),
  };

  const coreResources: ApiResource[] = [];
  const groupResources: ApiResource[] = [];
  const failedGroups: FailedGroup[] = [];
  const toFetch: GroupVersionToFetch[] = [];
  if (isAggregated(core)) {
    // The core group is not optional (the legacy path throws when /api/v1 fails): without it there is
    // nothing to operate on, and a rediscovery that carried nothing over would drop every core kind.
    aggregatedResources(core, true, coreResources, failedGroups);
    if (coreResources.length === 0)
      throw new ScaleAgentError(Errors.KUBE_API_ERROR, 'GET /api: the aggregated discovery document lists no current resource of the core group', {
        path: '/api',
      });
  } else (core?.versions ?? []).forEach((v, i) => toFetch.push({ group: '', version: v, preferred: i === 0, path: `/api/${v}` }));
  if (isAggregated(groups)) aggregatedResources(groups, false, groupResources, failedGroups);
  else {
    for (const group of groups?.groups ?? []) {
      if (typeof group.name !== 'string') continue;
      const preferredVersion = group.preferredVersion?.version ?? group.versions?.[0]?.version;
      for (const v of group.versions ?? []) {
        if (typeof v.version !== 'string') continue;
        toFetch.push({ group: group.name, version: v.version, preferred: v.version === preferredVersion, path: `/apis/${group.name}/${v.version}` });
      }
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

  for (const entry of lists) {
    const { gv } = entry;
    if ('error' in entry) {
      failedGroups.push({ groupVersion: groupVersionName(gv.group, gv.version), error: entry.error ?? '' });
      continue;
    }
    const resources = gv.group === '' ? coreResources : groupResources;
    for (const r of entry.list?.resources ?? []) {
      if (typeof r.name !== 'string' || typeof r.kind !== 'string' || r.name.includes('/')) continue;
      const fields = {
        kind: r.kind,
        resource: r.name,
        namespaced: r.namespaced === true,
        verbs: r.verbs,
        shortNames: r.shortNames,
        singularName: r.singularName,
      };
      resources.push(apiResource(r.group ?? gv.group, r.version ?? gv.version, gv.preferred, fields));
    }
  }
  return { serverVersion, resources: [...coreResources, ...groupResources], failedGroups };
}

/**
 * The resources after a rediscovery: what `result` found, plus — for each group version that did not
 * answer this time — what `previous` knew of it. An aggregated API that is briefly down must not look
 * like kinds that were deleted: their feeds would be dropped and the hub would forget their objects.
 */
export function carryOverFailedGroups(previous: readonly ApiResource[], result: Pick<DiscoveryResult, 'resources' | 'failedGroups'>): ApiResource[] {
  if (result.failedGroups.length === 0) return [...result.resources];
  const failed = new Set(result.failedGroups.map((f) => f.groupVersion));
  return [...result.resources, ...previous.filter((r) => failed.has(groupVersionName(r.group, r.version)))];
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
