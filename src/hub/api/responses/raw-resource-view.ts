import type { KubeObject } from '../../../common/kube-object.ts';
import { fullResourceName, spinnakerKindName } from '../../store/kind-names.ts';
import type { Moniker } from '../../store/moniker.ts';
import { resourceMoniker } from '../../views/resource.ts';
import type { CachedObject } from '../../store/types.ts';

/**
 * One entry of GET /applications/{app}/rawResources: Clouddriver's KubernetesRawResource (what Deck's
 * "Kubernetes" resources tab lists), null fields omitted.
 */
export interface RawResourceView {
  account: string;
  name: string;
  namespace: string;
  displayName: string;
  apiVersion?: string;
  kind: string;
  labels: Record<string, string>;
  moniker: Moniker;
  createdTime?: number;
  cloudProvider: 'kubernetes';
  region: string;
}

export function rawResourceView(object: CachedObject): RawResourceView {
  let manifest: KubeObject = {};
  try {
    const parsed = JSON.parse(object.body) as unknown;
    if (typeof parsed === 'object' && parsed !== null) manifest = parsed as KubeObject;
  } catch {
    // an unreadable body still lists the object by its key
  }
  // The cached moniker (a ReplicaSet's sequence falls back to its Deployment revision, as Clouddriver's
  // namer has it); the stored columns are what the application filter used, so they win.
  const moniker = resourceMoniker(object, { ...manifest, metadata: { ...manifest.metadata, name: object.name } });
  const view: RawResourceView = {
    account: object.account,
    name: fullResourceName(object.group, object.kind, object.name),
    namespace: object.namespace,
    displayName: object.name,
    kind: spinnakerKindName(object.group, object.kind),
    labels: { ...(manifest.metadata?.labels ?? {}) },
    moniker,
    cloudProvider: 'kubernetes',
    region: object.namespace,
  };
  if (typeof manifest.apiVersion === 'string') view.apiVersion = manifest.apiVersion;
  if (object.createdAt !== null) view.createdTime = object.createdAt;
  return view;
}
