import type { KubeObject } from '../../../common/kube-object.ts';
import type { OperationRouter } from '../../router/types.ts';
import { spinnakerKindName, type GroupKind } from '../../store/kind-names.ts';
import { MonikerAnnotations } from '../../store/moniker.ts';
import type { AccountRecord, CacheReader } from '../../store/types.ts';
import { liveList, target } from './live-reads.ts';

/**
 * The objects of one kind in one namespace that belong to an application's cluster, the way Clouddriver's
 * KubernetesManifestProvider finds them for Orca's deploy strategies and dynamic target selection: by the
 * `moniker.spinnaker.io/application` and `/cluster` annotations only (names are not parsed, so objects
 * Spinnaker did not deploy never match).
 */
export type Criteria = 'oldest' | 'newest' | 'second_newest' | 'largest' | 'smallest';
export const CRITERIA: readonly Criteria[] = ['oldest', 'newest', 'second_newest', 'largest', 'smallest'];

/** Clouddriver's KubernetesCoordinates as JSON. */
export interface ManifestCoordinates {
  kind: string;
  namespace: string;
  name: string;
}

type Obj = Record<string, unknown>;

function parse(body: string): KubeObject | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as KubeObject) : undefined;
  } catch {
    return undefined;
  }
}

function annotated(object: KubeObject, application: string, cluster: string): boolean {
  const annotations = object.metadata?.annotations ?? {};
  return annotations[MonikerAnnotations.application] === application && annotations[MonikerAnnotations.cluster] === cluster;
}

export async function clusterManifests(
  store: CacheReader,
  router: OperationRouter,
  account: AccountRecord,
  gk: GroupKind,
  namespace: string,
  application: string,
  cluster: string,
): Promise<KubeObject[]> {
  const watched = account.kinds.some((k) => k.group === gk.group && k.kind === gk.kind && k.watchable);
  let objects: KubeObject[];
  if (watched) {
    // The stored moniker columns equal the annotations whenever those are set, so they narrow the query.
    const rows = await store.searchObjects({ account: account.name, kinds: [gk], namespace, application, cluster });
    objects = rows.map((r) => parse(r.body)).filter((o): o is KubeObject => o !== undefined);
  } else {
    objects = (await liveList(router, account.name, target(gk.group, gk.kind, namespace))) ?? [];
  }
  return objects.filter((o) => annotated(o, application, cluster));
}

export function coordinates(gk: GroupKind, object: KubeObject): ManifestCoordinates {
  return { kind: spinnakerKindName(gk.group, gk.kind), namespace: object.metadata?.namespace ?? '', name: object.metadata?.name ?? '' };
}

/** Age: creationTimestamp (RFC 3339 strings order by time). Size: spec.replicas, -1 when absent. */
function ascending(criteria: Criteria): (a: KubeObject, b: KubeObject) => number {
  if (criteria === 'largest' || criteria === 'smallest') {
    const size = (o: KubeObject) => {
      const replicas = (o.spec as Obj | undefined)?.replicas;
      return typeof replicas === 'number' ? replicas : -1;
    };
    return (a, b) => size(a) - size(b);
  }
  const age = (o: KubeObject) => o.metadata?.creationTimestamp ?? '';
  return (a, b) => (age(a) < age(b) ? -1 : age(a) > age(b) ? 1 : 0);
}

/** The object a dynamic target criteria picks, or undefined (Clouddriver's 404). */
export function pick(objects: readonly KubeObject[], criteria: Criteria): KubeObject | undefined {
  const sorted = [...objects].sort(ascending(criteria));
  switch (criteria) {
    case 'oldest':
    case 'smallest':
      return sorted[0];
    case 'newest':
    case 'largest':
      return sorted[sorted.length - 1];
    case 'second_newest':
      return sorted.length >= 2 ? sorted[sorted.length - 2] : undefined;
  }
}
