import type { ClusterEvent } from '../event-log.ts';
import { randomSuffix, templateHash } from '../names.ts';
import { SIM_NODE_NAME } from '../strategies.ts';
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
import { ensureRevision, REVISION_HASH_LABEL } from './statefulset-controller.ts';

/**
 * The DaemonSet controller: one pod on the cluster's single simulated node; a changed template replaces it.
 */
type Obj = Record<string, unknown>;

const NODES = [SIM_NODE_NAME];
const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

export class DaemonSetController implements Reconciler {
  readonly name = 'daemonset';

  constructor(private readonly context: ControllerContext) {}

  keysFor(event: ClusterEvent): string[] {
    if (event.resource === 'apps/daemonsets') return [event.object.key];
    if (event.resource === '/pods') return controllerKeys(event, 'DaemonSet');
    return [];
  }

  reconcile(key: string): void {
    const { namespace, name } = splitKey(key);
    const { api, types } = this.context;
    const ds = api.find(types.daemonSet, namespace, name);
    if (ds === undefined || ds.metadata?.deletionTimestamp !== undefined) return;
    const template = ((ds.spec as Obj).template ?? {}) as Obj;
    const hash = templateHash(template);
    ensureRevision(this.context, ds, `${name}-${hash}`, template);
    const pods = ownedBy(this.context, types.pod, ds.metadata!.uid!);
    for (const node of NODES) {
      const onNode = pods.filter((p) => (p.spec as Obj | undefined)?.nodeName === node);
      const current = onNode.filter(isActivePod);
      for (const pod of current) if (pod.metadata?.labels?.[REVISION_HASH_LABEL] !== hash) api.delete(types.pod, namespace, pod.metadata!.name!);
      // A replacement waits until the old pod is gone, as with maxUnavailable=1.
      if (onNode.length === 0) {
        createPod(
          this.context,
          ds,
          template,
          `${name}-${randomSuffix()}`,
          {
            [REVISION_HASH_LABEL]: hash,
            [TEMPLATE_GENERATION_LABEL]: String(ds.metadata?.generation ?? 1),
          },
          { nodeName: node },
        );
      }
    }
    const active = ownedBy(this.context, types.pod, ds.metadata!.uid!).filter(isActivePod);
    const ready = active.filter(isPodReady).length;
    const updated = active.filter((p) => p.metadata?.labels?.[REVISION_HASH_LABEL] === hash).length;
    writeStatus(this.context, types.daemonSet, api.get(types.daemonSet, namespace, name), {
      currentNumberScheduled: active.length,
      desiredNumberScheduled: NODES.length,
      numberMisscheduled: 0,
      numberReady: ready,
      numberAvailable: ready,
      ...(NODES.length - ready > 0 ? { numberUnavailable: NODES.length - ready } : {}),
      updatedNumberScheduled: updated,
      observedGeneration: ds.metadata?.generation ?? 1,
    });
  }
}
