import type { KubeObject } from '../../../common/kube-object.ts';
import type { Moniker } from '../../store/moniker.ts';
import { resourceMoniker } from '../../views/resource.ts';
import { fullResourceName } from '../../store/kind-names.ts';
import type { CachedObject } from '../../store/types.ts';
import { manifestArtifacts, type Artifact } from '../../manifest/artifacts.ts';
import { stripSecretData } from '../../manifest/secrets.ts';
import { manifestStatus, type ManifestStatus } from '../../manifest/stability.ts';

/** Clouddriver's KubernetesManifest container, the body of GET /manifests/{account}/{location}/{name}. */
export interface ManifestView {
  account: string;
  name: string;
  location: string;
  moniker: Moniker;
  manifest: KubeObject;
  status: ManifestStatus;
  artifacts: Artifact[];
  events: unknown[];
  // Orca types warnings as strings: always an empty list.
  warnings: string[];
  metrics: unknown[];
}

export function manifestView(object: CachedObject, events: unknown[] = []): ManifestView {
  const manifest = stripSecretData(JSON.parse(object.body) as KubeObject);
  // Clouddriver's namer (KubernetesManifestAnnotater.getMoniker): annotations, else the name; a
  // ReplicaSet's sequence falls back to its Deployment revision. The stored columns win, so the
  // response agrees with the views that filter on them.
  const moniker = resourceMoniker(object, manifest);
  return {
    account: object.account,
    name: fullResourceName(object.group, object.kind, object.name),
    location: object.namespace,
    moniker,
    manifest,
    status: manifestStatus(object.group, object.kind, manifest),
    artifacts: manifestArtifacts(manifest),
    events,
    warnings: [],
    metrics: [],
  };
}
