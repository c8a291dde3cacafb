import type { ResourceRegistry } from './resource-registry.ts';
import { JSON_MEDIA_TYPES, mediaRanges } from './media-ranges.ts';
import { apiVersionOf, type ResourceType } from './resource-type.ts';

/**
 * The discovery documents, shaped like a v1.31 API server's: the legacy ones (/version, /api, /api/v1,
 * /apis, /apis/<group> and /apis/<group>/<version>), and at /api and /apis the aggregated ones
 * (apidiscovery.k8s.io, GA in 1.30) for a client whose Accept header asks for them first, as client-go and
 * kubectl do: every group's versions and resources in one document instead of one request per version.
 */
export const KUBERNETES_VERSION = { major: '1', minor: '31', gitVersion: 'v1.31.0' } as const;

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

export function versionInfo(): Record<string, string> {
  return {
    ...KUBERNETES_VERSION,
    gitCommit: 'scale-agent-sim',
    gitTreeState: 'clean',
    buildDate: '2024-08-13T00:00:00Z',
    goVersion: 'go1.22.5',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function coreVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupEntry(group: string, versions: string[]): Record<string, unknown> {
  const entries = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: entries, preferredVersion: entries[0] };
}

export function groupList(registry: ResourceRegistry): Record<string, unknown> {
  const groups = [...registry.groups()].filter(([group]) => group !== '').map(([group, versions]) => groupEntry(group, versions));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(registry: ResourceRegistry, group: string): Record<string, unknown> | undefined {
  const versions = registry.groups().get(group);
  if (group === '' || versions === undefined) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group, versions) };
}

/** A subresource a kind serves, and the kind its responses are (Scale for `scale`). */
interface Subresource {
  name: 'status' | 'scale';
  responseKind: { group: string; version: string; kind: string };
}

/** What both kinds of discovery document say of a kind's subresources, in the order legacy discovery lists them. */
function subresourcesOf(type: ResourceType): Subresource[] {
  const out: Subresource[] = [];
  if (type.subresources.status) out.push({ name: 'status', responseKind: { group: type.group, version: type.version, kind: type.kind } });
  if (type.subresources.scale) out.push({ name: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' } });
  return out;
}

function resourceEntries(type: ResourceType): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: ALL_VERBS,
  };
  if (type.shortNames !== undefined) main.shortNames = type.shortNames;
  if (type.categories !== undefined) main.categories = type.categories;
  const subresources = subresourcesOf(type).map(({ name, responseKind }) => ({
    name: `${type.plural}/${name}`,
    singularName: '',
    namespaced: type.namespaced,
    // A legacy entry names the group and version of a Scale, which is not the resource's own kind.
    ...(name === 'scale' ? { group: responseKind.group, version: responseKind.version } : {}),
    kind: responseKind.kind,
    verbs: SUBRESOURCE_VERBS,
  }));
  return [main, ...subresources];
}

export function resourceList(registry: ResourceRegistry, group: string, version: string): Record<string, unknown> | undefined {
  const types = registry.resourcesIn(group, version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources: types.flatMap(resourceEntries),
  };
}

/** The aggregated discovery versions the sim serves, in the order it prefers them. */
export const AGGREGATED_DISCOVERY_VERSIONS = ['v2', 'v2beta1'] as const;
export type AggregatedDiscoveryVersion = (typeof AGGREGATED_DISCOVERY_VERSIONS)[number];

/** The media type of an aggregated discovery document of `version`. */
export function aggregatedDiscoveryContentType(version: AggregatedDiscoveryVersion): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}

/**
 * Which document an Accept header asks for at /api and /apis: the first of its media ranges the sim can
 * serve, by weight (`q`, 1 when absent; 0 = not acceptable), then in the client's order, with the
 * parameters the API server reads (`g`, `v`, `as`). Undefined = the legacy document (plain JSON, a
 * wildcard, or no Accept at all).
 */
export function negotiateAggregatedDiscovery(accept: string | undefined): AggregatedDiscoveryVersion | undefined {
  for (const { type, params } of mediaRanges(accept)) {
    if (!JSON_MEDIA_TYPES.has(type)) continue;
    if (!params.has('as') && !params.has('g')) return undefined;
    const version = params.get('v');
    if (params.get('g') === 'apidiscovery.k8s.io' && params.get('as') === 'APIGroupDiscoveryList' && isServedVersion(version)) return version;
  }
  return undefined;
}

function isServedVersion(version: string | undefined): version is AggregatedDiscoveryVersion {
  return (AGGREGATED_DISCOVERY_VERSIONS as readonly (string | undefined)[]).includes(version);
}

function resourceDiscovery(type: ResourceType): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    resource: type.plural,
    responseKind: { group: type.group, version: type.version, kind: type.kind },
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: ALL_VERBS,
  };
  if (type.shortNames !== undefined) entry.shortNames = type.shortNames;
  if (type.categories !== undefined) entry.categories = type.categories;
  const subresources = subresourcesOf(type).map(({ name, responseKind }) => ({ subresource: name, responseKind, verbs: SUBRESOURCE_VERBS }));
  if (subresources.length > 0) entry.subresources = subresources;
  return entry;
}

/**
 * The aggregated discovery document at /api (`core`: the legacy group alone) or /apis (every named
 * group). Versions are in descending order of preference, the preferred first, as in the legacy
 * APIGroup's preferredVersion; every version is `Current` (the sim has no aggregated API servers).
 */
export function aggregatedDiscovery(registry: ResourceRegistry, core: boolean, version: AggregatedDiscoveryVersion): Record<string, unknown> {
  const items = [...registry.groups()]
    .filter(([group]) => (group === '') === core)
    .map(([group, versions]) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: versions.map((v) => ({
        version: v,
        resources: registry.resourcesIn(group, v).map(resourceDiscovery),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}
