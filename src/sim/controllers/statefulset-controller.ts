import type { KubeObject } from '../../common/kube-object.ts';
import type { ClusterEvent } from '../event-log.ts';
import { templateHash } from '../names.ts';
import { StatusError } from '../status.ts';
import {
  controllerKeys,
  createPod,
  isActivePod,
  isPodReady,
  ownedBy,
  ownerReference,
  splitKey,
  writeStatus,
  type ControllerContext,
  type Reconciler,
} from './controller-context.ts';

/**
 * The StatefulSet controller: pods `<statefulset>-0..n-1` carrying the `controller-revision-hash` of their
 * template (a ControllerRevision records each template); a pod of an old revision is deleted and comes back
 * at the new one. All ordinals are started at once rather than one by one.
 */
type Obj = Record<string, unknown>;

export const REVISION_HASH_LABEL = 'controller-revision-hash';
const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export class StatefulSetController implements Reconciler {
  readonly name = 'statefulset';

  constructor(private readonly context: ControllerContext) {}

  keysFor(event: ClusterEvent): string[] {
    if (event.resource === 'apps/statefulsets') return [event.object.key];
    if (event.resource === '/pods') return controllerKeys(event, 'StatefulSet');
    return [];
  }

  reconcile(key: string): void {
    const { namespace, name } = splitKey(key);
    const { api, types } = this.context;
    const sts = api.find(types.statefulSet, namespace, name);
    if (sts === undefined || sts.metadata?.deletionTimestamp !== undefined) return;
    const spec = sts.spec as Obj;
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const template = (spec.template ?? {}) as Obj;
    const updateRevision = `${name}-${templateHash(template)}`;
    ensureRevision(this.context, sts, updateRevision, template);
    const pods = ownedBy(this.context, types.pod, sts.metadata!.uid!);
    const byName = new Map(pods.map((p) => [p.metadata!.name!, p]));
    for (let ordinal = 0; ordinal < desired; ordinal++) {
      const podName = `${name}-${ordinal}`;
      const pod = byName.get(podName);
      if (pod === undefined) {
        createPod(
          this.context,
          sts,
          template,
          podName,
          { [REVISION_HASH_LABEL]: updateRevision, [POD_NAME_LABEL]: podName, [POD_INDEX_LABEL]: String(ordinal) },
          {
            hostname: podName,
            ...(typeof spec.serviceName === 'string' ? { subdomain: spec.serviceName } : {}),
          },
        );
      } else if (isActivePod(pod) && pod.metadata?.labels?.[REVISION_HASH_LABEL] !== updateRevision) {
        api.delete(types.pod, namespace, podName);
      }
    }
    for (const pod of pods) {
      const ordinal = Number(pod.metadata?.labels?.[POD_INDEX_LABEL] ?? -1);
      if (ordinal >= desired && isActivePod(pod)) api.delete(types.pod, namespace, pod.metadata!.name!);
    }
    const active = ownedBy(this.context, types.pod, sts.metadata!.uid!).filter(isActivePod);
    const updated = active.filter((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] === updateRevision);
    const ready = active.filter(isPodReady).length;
    const previous = (sts.status ?? {}) as Obj;
    const done = updated.length === desired && active.length === desired && ready === desired;
    const currentRevision = done || typeof previous.currentRevision !== 'string' ? updateRevision : previous.currentRevision;
    writeStatus(this.context, types.statefulSet, api.get(types.statefulSet, namespace, name), {
      observedGeneration: sts.metadata?.generation ?? 1,
      replicas: active.length,
      readyReplicas: ready,
      currentReplicas: currentRevision === updateRevision ? updated.length : active.length - updated.length,
      updatedReplicas: updated.length,
      availableReplicas: ready,
      currentRevision,
      updateRevision,
      collisionCount: 0,
    });
  }
}

/**
 * Makes sure a ControllerRevision records `template` (what `kubectl rollout history|undo` read): a new one
 * takes the next revision number; an existing one that is not the latest (the template went back to an
 * earlier one) is moved up to the next number, as the real controllers do. Revisions beyond the owner's
 * spec.revisionHistoryLimit are deleted, oldest first, never the one in use.
 */
export function ensureRevision(context: ControllerContext, owner: KubeObject, revisionName: string, template: Obj): void {
  const { api, types } = context;
  const namespace = owner.metadata!.namespace ?? '';
  const revisions = ownedBy(context, types.controllerRevision, owner.metadata!.uid!);
  const numberOf = (r: KubeObject): number => Number((r as Obj).revision ?? 0);
  const latest = revisions.reduce((max, r) => Math.max(max, numberOf(r)), 0);
  const existing = api.find(types.controllerRevision, namespace, revisionName);
  if (existing !== undefined) {
    if (numberOf(existing) !== latest && revisions.some((r) => r.metadata?.uid === existing.metadata?.uid)) {
      api.update(types.controllerRevision, namespace, revisionName, { ...existing, revision: latest + 1 });
    }
  } else {
    api.create(types.controllerRevision, namespace, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: revisionName,
        namespace,
        labels: {
          ...((template.metadata as Obj | undefined)?.labels as Record<string, string> | undefined),
          [REVISION_HASH_LABEL]: revisionName.slice(revisionName.lastIndexOf('-') + 1),
        },
        ownerReferences: [ownerReference(owner) as never],
      },
      data: { spec: { template: { ...template, $patch: 'replace' } } },
      revision: latest + 1,
    });
  }
  const limit = (owner.spec as Obj | undefined)?.revisionHistoryLimit;
  if (typeof limit !== 'number') return;
  const inUse = new Set([revisionName, (owner.status as Obj | undefined)?.currentRevision]);
  const old = ownedBy(context, types.controllerRevision, owner.metadata!.uid!)
    .filter((r) => !inUse.has(r.metadata!.name!))
    .sort((a, b) => numberOf(a) - numberOf(b));
  for (const r of old.slice(0, Math.max(0, old.length - limit))) {
    try {
      api.delete(types.controllerRevision, namespace, r.metadata!.name!);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
  }
}
