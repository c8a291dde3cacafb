import { create } from '@bufbuild/protobuf';
import { ResumePointSchema, type AccountInfo, type Feed, type ResumePoint } from '../../protocol/index.ts';
import type { AccountRecord, FeedInfo } from '../store/types.ts';

/** The store's view of an account from the agent's declaration. */
export function accountRecordFromInfo(info: AccountInfo): Omit<AccountRecord, 'registeredAt' | 'lastSeenAt' | 'agentId' | 'hubId' | 'status'> {
  const permissions: Record<string, string[]> = {};
  for (const p of info.permissions) permissions[p.access] = [...p.roles];
  return {
    name: info.name.trim(),
    cluster: {
      apiServerHost: info.cluster?.apiServerHost ?? '',
      caFingerprint: info.cluster?.caFingerprint ?? '',
      kubeSystemUid: info.cluster?.kubeSystemUid ?? '',
    },
    kubernetesVersion: info.kubernetesVersion,
    namespaces: [...info.namespaces],
    kinds: info.kinds.map((k) => ({
      group: k.group,
      version: k.version,
      kind: k.kind,
      resource: k.resource,
      namespaced: k.namespaced,
      watchable: k.watchable,
      ...(k.reason ? { reason: k.reason } : {}),
    })),
    permissions,
    properties: { ...info.properties },
  };
}

export function feedInfoFromWire(feed: Feed): FeedInfo {
  return { group: feed.group, version: feed.version, kind: feed.kind, resource: feed.resource, namespace: feed.namespace, namespaced: feed.namespaced };
}

export function toResumePoint(point: { feed: FeedInfo; resourceVersion: string }): ResumePoint {
  const f = point.feed;
  return create(ResumePointSchema, {
    feed: { group: f.group, version: f.version, kind: f.kind, resource: f.resource, namespace: f.namespace, namespaced: f.namespaced },
    resourceVersion: point.resourceVersion,
  });
}
