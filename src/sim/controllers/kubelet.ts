import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../../common/kube-object.ts';
import type { ClusterEvent } from '../event-log.ts';
import { kubeTime } from '../names.ts';
import type { ControllerContext, Reconciler } from './controller-context.ts';
import { splitKey } from './controller-context.ts';

/**
 * The simulated kubelet: a new pod stays Pending for podStartDelayMs, then runs with every container
 * ready — or, for a Job's pod, terminates: Succeeded, or Failed when the pod carries the annotation
 * `sim.scale-agent.io/fail: "true"`.
 */
type Obj = Record<string, unknown>;

export const FAIL_ANNOTATION = 'sim.scale-agent.io/fail';
const HOST_IP = '10.0.0.1';
const POD_NETWORK_PREFIX = '10.244';
const OCTET = 256;
const CONTAINER_ID_BYTES = 32;

export class Kubelet implements Reconciler {
  readonly name = 'kubelet';
  private podIps = 0;

  constructor(private readonly context: ControllerContext) {}

  keysFor(event: ClusterEvent): string[] {
    if (event.resource === '/pods' && event.type === 'ADDED') {
      const { key, uid } = event.object;
      this.context.scheduler.after(this.context.podStartDelayMs, () => this.start(key, uid));
    }
    return [];
  }

  reconcile(): void {
    // Pods are started by timers set in keysFor; nothing is queued.
  }

  private start(key: string, uid: string): void {
    const { namespace, name } = splitKey(key);
    const { api, types } = this.context;
    const pod = api.find(types.pod, namespace, name);
    if (pod === undefined || pod.metadata?.uid !== uid || pod.metadata.deletionTimestamp !== undefined) return;
    const status = (pod.status ?? {}) as Obj;
    if (status.phase !== 'Pending') return;
    const controller = pod.metadata.ownerReferences?.find((o) => o.controller === true);
    const outcome = controller?.kind === 'Job' ? (pod.metadata.annotations?.[FAIL_ANNOTATION] === 'true' ? 'Failed' : 'Succeeded') : 'Running';
    api.update(types.pod, namespace, name, { ...pod, status: this.statusFor(pod, outcome) }, { subresource: 'status' });
  }

  private statusFor(pod: KubeObject, phase: 'Running' | 'Succeeded' | 'Failed'): Obj {
    const now = kubeTime();
    const host = ++this.podIps;
    const podIp = `${POD_NETWORK_PREFIX}.${Math.floor(host / OCTET) % OCTET}.${host % OCTET}`;
    const running = phase === 'Running';
    const containers = ((pod.spec as Obj | undefined)?.containers ?? []) as Obj[];
    const condition = (type: string, ok: boolean, reason?: string): Obj => ({
      type,
      status: ok ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: now,
      ...(reason ? { reason } : {}),
    });
    return {
      phase,
      conditions: [
        condition('PodReadyToStartContainers', running),
        condition('Initialized', true),
        condition('Ready', running, running ? undefined : 'PodCompleted'),
        condition('ContainersReady', running, running ? undefined : 'PodCompleted'),
        condition('PodScheduled', true),
      ],
      hostIP: HOST_IP,
      hostIPs: [{ ip: HOST_IP }],
      podIP: podIp,
      podIPs: [{ ip: podIp }],
      startTime: now,
      qosClass: 'BestEffort',
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `sim.scale-agent.io/${String(c.image)}`,
        containerID: `containerd://${randomBytes(CONTAINER_ID_BYTES).toString('hex')}`,
        ready: running,
        started: running,
        restartCount: 0,
        lastState: {},
        state: running
          ? { running: { startedAt: now } }
          : { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, reason: phase === 'Succeeded' ? 'Completed' : 'Error', startedAt: now, finishedAt: now } },
      })),
    };
  }
}
