import type { KubeObject } from '../../common/kube-object.ts';
import { asList, asObject } from './manifest-facts.ts';

/**
 * Instance health the way Clouddriver's KubernetesHealth and KubernetesModelUtil compute it: one entry
 * for the pod (phase Pending → Down, Running → Up, anything else Unknown) and one per container status
 * (ready → Up, else Down), aggregated into one health state for the instance.
 */
export type HealthState = 'Up' | 'Down' | 'Unknown' | 'Starting' | 'OutOfService' | 'Succeeded' | 'Failed';

export interface HealthEntry {
  state: HealthState;
  /** "Pod" or "Container <name>" */
  source: string;
  type: 'kubernetes/pod' | 'kubernetes/container';
  /** Clouddriver writes the health class as a key naming itself. */
  platform: 'platform';
}

function podState(phase: unknown): HealthState {
  if (typeof phase !== 'string') return 'Unknown';
  const lower = phase.toLowerCase();
  return lower === 'pending' ? 'Down' : lower === 'running' ? 'Up' : 'Unknown';
}

/** The health entries of a pod; none while the pod has no status. */
export function podHealth(pod: KubeObject): HealthEntry[] {
  const status = asObject(pod.status);
  if (!status) return [];
  const health: HealthEntry[] = [{ state: podState(status.phase), source: 'Pod', type: 'kubernetes/pod', platform: 'platform' }];
  for (const container of asList(status.containerStatuses)) {
    const name = typeof container.name === 'string' ? container.name : '';
    health.push({ state: container.ready === true ? 'Up' : 'Down', source: `Container ${name}`, type: 'kubernetes/container', platform: 'platform' });
  }
  return health;
}

/**
 * All known states Up → Up; all known Succeeded → Succeeded; otherwise the first of Starting, Down,
 * Failed, OutOfService present; otherwise Unknown.
 */
export function healthState(health: readonly { state: string }[]): HealthState {
  const known = health.filter((h) => h.state !== 'Unknown');
  if (known.length > 0 && known.every((h) => h.state === 'Up')) return 'Up';
  if (known.length > 0 && known.every((h) => h.state === 'Succeeded')) return 'Succeeded';
  for (const state of ['Starting', 'Down', 'Failed', 'OutOfService'] as const) {
    if (health.some((h) => h.state === state)) return state;
  }
  return 'Unknown';
}

export interface InstanceCounts {
  total: number;
  up: number;
  down: number;
  unknown: number;
  outOfService: number;
  starting: number;
}

export function instanceCounts(states: readonly HealthState[]): InstanceCounts {
  const counts: InstanceCounts = { total: states.length, up: 0, down: 0, unknown: 0, outOfService: 0, starting: 0 };
  for (const state of states) {
    if (state === 'Up') counts.up++;
    else if (state === 'Down') counts.down++;
    else if (state === 'Unknown') counts.unknown++;
    else if (state === 'OutOfService') counts.outOfService++;
    else if (state === 'Starting') counts.starting++;
  }
  return counts;
}
