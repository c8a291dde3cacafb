import { createHash } from 'node:crypto';
import { KEY_LENGTHS } from '../schema.ts';
import type { AccountRecord, FeedInfo, OperationRecord, StoreChange } from '../types.ts';

/** Shared builders for store and API tests. */
export const DEPLOYMENTS: FeedInfo = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: '', namespaced: true };
export const REPLICASETS: FeedInfo = { group: 'apps', version: 'v1', kind: 'ReplicaSet', resource: 'replicasets', namespace: '', namespaced: true };
export const NAMESPACES: FeedInfo = { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespace: '', namespaced: false };
export const CONFIGMAPS_WEB: FeedInfo = { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespace: 'web', namespaced: true };

export function accountRecord(
  name: string,
  overrides: Partial<Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>> = {},
): Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'> {
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

/** Hex digits of a long name's digest that stand for it in its uid. */
const UID_DIGEST_CHARS = 32;

/**
 * The uid the builders give an object: `uid-<name>`, or for a name too long for that to fit the uid
 * column (the store refuses longer uids, storable-keys.ts) `uid-<digest of the name>`.
 */
export function uidOf(name: string): string {
  const uid = `uid-${name}`;
  return uid.length <= KEY_LENGTHS.uid ? uid : `uid-${createHash('sha256').update(name).digest('hex').slice(0, UID_DIGEST_CHARS)}`;
}

export function objectBody(
  kind: string,
  apiVersion: string,
  namespace: string,
  name: string,
  extra: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    apiVersion,
    kind,
    metadata: {
      name,
      ...(namespace === '' ? {} : { namespace }),
      uid: uidOf(name),
      resourceVersion: '1',
      creationTimestamp: '2024-01-02T03:04:05Z',
      ...metadata,
    },
    ...extra,
  });
}

export function upsert(
  feed: FeedInfo,
  namespace: string,
  name: string,
  rv = '1',
  metadata: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): StoreChange {
  const apiVersion = feed.group === '' ? feed.version : `${feed.group}/${feed.version}`;
  return {
    type: 'upsert',
    feed,
    namespace,
    name,
    uid: uidOf(name),
    resourceVersion: rv,
    body: objectBody(feed.kind, apiVersion, namespace, name, extra, { resourceVersion: rv, ...metadata }),
  };
}

/** A succeeded `apply` operation record on `account` received at `receivedAt`, with no task or hop times unless overridden. */
export function operationRecord(id: string, account: string, receivedAt: number, overrides: Partial<OperationRecord> = {}): OperationRecord {
  return {
    id,
    taskId: null,
    account,
    type: 'apply',
    status: 'SUCCEEDED',
    httpStatus: 200,
    errorCode: null,
    message: null,
    agentId: 'agent-1',
    receivedAt,
    routedAt: null,
    sentAt: null,
    executedAt: null,
    resultAt: null,
    ...overrides,
  };
}
