import type { KubeObject } from '../../common/kube-object.ts';
import type { ClusterEvent } from '../event-log.ts';
import { randomSuffix } from '../names.ts';
import {
  controllerKeys,
  createPod,
  isActivePod,
  isPodReady,
  ownedBy,
  splitKey,
  writeStatus,
  type ControllerContext,
  type Reconciler,
} from './controller-context.ts';

/**
 * The ReplicaSet controller: keeps spec.replicas active pods named `<replicaset>-<5 random chars>`,
 * deleting the least started ones first when scaling down, and reports replicas/ready/available counts.
 */
type Obj = Record<string, unknown>;

/** Scale-down order: pods not yet running and not ready go first, then the newest. */
function deletionRank(pod: KubeObject): number {
  const phase = (pod.status as Obj | undefined)?.phase;
  return (phase === 'Running' ? 2 : 0) + (isPodReady(pod) ? 1 : 0);
}

export class ReplicaSetController implements Reconciler {
  readonly name = 'replicaset';

  constructor(private readonly context: ControllerContext) {}

  keysFor(event: ClusterEvent): string[] {
    if (event.resource === 'apps/replicasets') return [event.object.key];
    if (event.resource === '/pods') return controllerKeys(event, 'ReplicaSet');
    return [];
  }

  reconcile(key: string): void {
    const { namespace, name } = splitKey(key);
    const { api, types } = this.context;
    const replicaSet = api.find(types.replicaSet, namespace, name);
    if (replicaSet === undefined || replicaSet.metadata?.deletionTimestamp !== undefined) return;
    const spec = replicaSet.spec as Obj;
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const active = ownedBy(this.context, types.pod, replicaSet.metadata!.uid!).filter(isActivePod);
    if (active.length < desired) {
      for (let i = active.length; i < desired; i++) createPod(this.context, replicaSet, (spec.template ?? {}) as Obj, `${name}-${randomSuffix()}`);
    } else if (active.length > desired) {
      const victims = [...active]
        .sort((a, b) => deletionRank(a) - deletionRank(b) || String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp)))
        .slice(0, active.length - desired);
      for (const pod of victims) api.delete(types.pod, namespace, pod.metadata!.name!);
    }
    const pods = ownedBy(this.context, types.pod, replicaSet.metadata!.uid!).filter(isActivePod);
    const ready = pods.filter(isPodReady).length;
    writeStatus(this.context, types.replicaSet, api.get(types.replicaSet, namespace, name), {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: replicaSet.metadata?.generation ?? 1,
    });
  }
}
