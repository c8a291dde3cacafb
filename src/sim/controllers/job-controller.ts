import type { KubeObject } from '../../common/kube-object.ts';
import type { ClusterEvent } from '../event-log.ts';
import { kubeTime, randomSuffix } from '../names.ts';
import { controllerKeys, createPod, isActivePod, ownedBy, splitKey, writeStatus, type ControllerContext, type Reconciler } from './controller-context.ts';

/**
 * The Job controller: runs pods until spec.completions have succeeded (at most spec.parallelism at a time),
 * then marks the Job Complete; the first failed pod fails the Job (the sim does not retry up to
 * backoffLimit).
 */
type Obj = Record<string, unknown>;

function phaseOf(pod: KubeObject): string | undefined {
  return (pod.status as Obj | undefined)?.phase as string | undefined;
}

export class JobController implements Reconciler {
  readonly name = 'job';

  constructor(private readonly context: ControllerContext) {}

  keysFor(event: ClusterEvent): string[] {
    if (event.resource === 'batch/jobs') return [event.object.key];
    if (event.resource === '/pods') return controllerKeys(event, 'Job');
    return [];
  }

  reconcile(key: string): void {
    const { namespace, name } = splitKey(key);
    const { api, types } = this.context;
    const job = api.find(types.job, namespace, name);
    if (job === undefined || job.metadata?.deletionTimestamp !== undefined) return;
    const previous = (job.status ?? {}) as Obj;
    const conditions = (previous.conditions ?? []) as Obj[];
    if (conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) return;
    const spec = job.spec as Obj;
    const completions = typeof spec.completions === 'number' ? spec.completions : 1;
    const parallelism = typeof spec.parallelism === 'number' ? spec.parallelism : 1;
    let pods = ownedBy(this.context, types.pod, job.metadata!.uid!);
    const succeeded = pods.filter((p) => phaseOf(p) === 'Succeeded').length;
    const failed = pods.filter((p) => phaseOf(p) === 'Failed').length;
    const now = kubeTime();
    const base: Obj = { startTime: previous.startTime ?? now, ...(succeeded > 0 ? { succeeded } : {}), ...(failed > 0 ? { failed } : {}) };
    const finished: Obj = { ...base, ready: 0, terminating: 0, uncountedTerminatedPods: {} };
    if (failed > 0) {
      writeStatus(this.context, types.job, job, {
        ...finished,
        conditions: [
          {
            type: 'FailureTarget',
            status: 'True',
            lastProbeTime: now,
            lastTransitionTime: now,
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
          {
            type: 'Failed',
            status: 'True',
            lastProbeTime: now,
            lastTransitionTime: now,
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
          },
        ],
      });
      return;
    }
    if (succeeded >= completions) {
      writeStatus(this.context, types.job, job, {
        ...finished,
        completionTime: now,
        conditions: [
          {
            type: 'SuccessCriteriaMet',
            status: 'True',
            lastProbeTime: now,
            lastTransitionTime: now,
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
          },
          {
            type: 'Complete',
            status: 'True',
            lastProbeTime: now,
            lastTransitionTime: now,
            reason: 'CompletionsReached',
            message: 'Reached expected number of succeeded pods',
          },
        ],
      });
      return;
    }
    const active = pods.filter(isActivePod).length;
    const wanted = Math.min(parallelism, completions - succeeded);
    for (let i = active; i < wanted; i++) createPod(this.context, job, (spec.template ?? {}) as Obj, `${name}-${randomSuffix()}`);
    pods = ownedBy(this.context, types.pod, job.metadata!.uid!);
    const nowActive = pods.filter(isActivePod).length;
    writeStatus(this.context, types.job, api.get(types.job, namespace, name), {
      ...base,
      ...(nowActive > 0 ? { active: nowActive } : {}),
      ready: 0,
      terminating: 0,
      uncountedTerminatedPods: {},
    });
  }
}
