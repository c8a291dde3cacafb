import type { AccountRecord, FeedInfo, StoreChange } from '../types.ts';

/** Shared builders for store and API tests. */
export const DEPLOYMENTS: FeedInfo = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: '', namespaced: true };
export const REPLICASETS: FeedInfo = { group: 'apps', version: 'v1', kind: 'ReplicaSet', resource: 'replicasets', namespace: '', namespaced: true };
export const NAMESPACES: FeedInfo = { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespace: '', namespaced: false };
export const CONFIGMAPS_WEB: FeedInfo = { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace: 'web', namespaced: true };

export function accountRecord(name: string, overrides: Partial<Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>> = {}): Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'> {
  return {
    name,
    cluster: { apiServerHost: `https://${name}.example:6443`, caFingerprint: 'sha256:ab', kubeSystemUid: `uid-${name}` },
    kubernetesVersion: 'v1.30.0',
    namespaces: [],
    kinds: [
      { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespaced: true, watchable: true },
      { group: 'apps', version: 'v1', kind: 'ReplicaSet', resource: 'replicasets', namespaced: true, watchable: true },
      { group: '', version: 'v1', kind: 'Service', resource: 'services', namespaced: true, watchable: true },
      { group: '', version: 'v1', kind: 'Secret', resource: 'secrets', namespaced: true, watchable: true },
      { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true, watchable: true },
      { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false, watchable: true },
      { group: 'example.com', version: 'v1', kind: 'Widget', resource: 'widgets', namespaced: true, watchable: true },
    ],
    permissions: {},
    properties: {},
    agentId: 'agent-1',
    hubId: 'hub-1',
    status: 'connected',
    ...overrides,
  };
}

export function objectBody(kind: string, apiVersion: string, namespace: string, name: string, extra: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion,
    kind,
    metadata: { name, ...(namespace === '' ? {} : { namespace }), uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2024-01-02T03:04:05Z', ...metadata },
    ...extra,
  });
}

export function upsert(feed: FeedInfo, namespace: string, name: string, rv = '1', metadata: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): StoreChange {
  const apiVersion = feed.group === '' ? feed.version : `${feed.group}/${feed.version}`;
  return { type: 'upsert', feed, namespace, name, uid: `uid-${name}`, resourceVersion: rv, body: objectBody(feed.kind, apiVersion, namespace, name, extra, { resourceVersion: rv, ...metadata }) };
}
