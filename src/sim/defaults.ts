import type { KubeObject } from '../common/kube-object.ts';
import type { ResourceType } from './resource-type.ts';

/**
 * The defaulting a real API server applies on every write, for the fields clients and the controllers
 * read back (replicas, strategy, restartPolicy, service ports, secret type...). Idempotent, so it runs on
 * update as well as on create.
 */
type Obj = Record<string, unknown>;

const DEFAULT_REPLICAS = 1;
const DEFAULT_REVISION_HISTORY_LIMIT = 10;
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
const DEFAULT_TERMINATION_GRACE_SECONDS = 30;
const DEFAULT_BACKOFF_LIMIT = 6;
const DEFAULT_SURGE = '25%';

function obj(parent: Obj, key: string): Obj {
  const value = parent[key];
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Obj;
  const created: Obj = {};
  parent[key] = created;
  return created;
}

function setDefault(target: Obj, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

export function defaultPodSpec(spec: Obj): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', DEFAULT_TERMINATION_GRACE_SECONDS);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  for (const list of ['containers', 'initContainers']) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers as Obj[]) {
      if (typeof c !== 'object' || c === null) continue;
      setDefault(c, 'terminationMessagePath', '/dev/termination-log');
      setDefault(c, 'terminationMessagePolicy', 'File');
      const image = typeof c.image === 'string' ? c.image : '';
      setDefault(c, 'imagePullPolicy', image.endsWith(':latest') || !image.includes(':') ? 'Always' : 'IfNotPresent');
      setDefault(c, 'resources', {});
      if (Array.isArray(c.ports)) for (const p of c.ports as Obj[]) if (typeof p === 'object' && p !== null) setDefault(p, 'protocol', 'TCP');
    }
  }
}

function defaultTemplate(spec: Obj): void {
  const template = spec.template;
  if (typeof template !== 'object' || template === null) return;
  defaultPodSpec(obj(template as Obj, 'spec'));
}

export function applyDefaults(type: ResourceType, object: KubeObject): void {
  if (type.custom) return;
  const metadata = object.metadata!;
  switch (type.kind) {
    case 'Namespace':
      metadata.labels = { ...metadata.labels, 'kubernetes.io/metadata.name': metadata.name ?? '' };
      setDefault(obj(object, 'spec'), 'finalizers', ['kubernetes']);
      break;
    case 'Secret':
      setDefault(object, 'type', 'Opaque');
      break;
    case 'Pod':
      defaultPodSpec(obj(object, 'spec'));
      break;
    case 'Service': {
      const spec = obj(object, 'spec');
      setDefault(spec, 'type', 'ClusterIP');
      setDefault(spec, 'sessionAffinity', 'None');
      if (Array.isArray(spec.ports)) {
        for (const p of spec.ports as Obj[]) {
          if (typeof p !== 'object' || p === null) continue;
          setDefault(p, 'protocol', 'TCP');
          setDefault(p, 'targetPort', p.port);
        }
      }
      break;
    }
    case 'Deployment': {
      const spec = obj(object, 'spec');
      setDefault(spec, 'replicas', DEFAULT_REPLICAS);
      setDefault(spec, 'revisionHistoryLimit', DEFAULT_REVISION_HISTORY_LIMIT);
      setDefault(spec, 'progressDeadlineSeconds', DEFAULT_PROGRESS_DEADLINE_SECONDS);
      const strategy = obj(spec, 'strategy');
      setDefault(strategy, 'type', 'RollingUpdate');
      if (strategy.type === 'RollingUpdate') {
        const rolling = obj(strategy, 'rollingUpdate');
        setDefault(rolling, 'maxSurge', DEFAULT_SURGE);
        setDefault(rolling, 'maxUnavailable', DEFAULT_SURGE);
      }
      defaultTemplate(spec);
      break;
    }
    case 'ReplicaSet':
      setDefault(obj(object, 'spec'), 'replicas', DEFAULT_REPLICAS);
      defaultTemplate(obj(object, 'spec'));
      break;
    case 'StatefulSet': {
      const spec = obj(object, 'spec');
      setDefault(spec, 'replicas', DEFAULT_REPLICAS);
      setDefault(spec, 'podManagementPolicy', 'OrderedReady');
      setDefault(spec, 'revisionHistoryLimit', DEFAULT_REVISION_HISTORY_LIMIT);
      setDefault(obj(spec, 'updateStrategy'), 'type', 'RollingUpdate');
      defaultTemplate(spec);
      break;
    }
    case 'DaemonSet': {
      const spec = obj(object, 'spec');
      setDefault(spec, 'revisionHistoryLimit', DEFAULT_REVISION_HISTORY_LIMIT);
      setDefault(obj(spec, 'updateStrategy'), 'type', 'RollingUpdate');
      defaultTemplate(spec);
      break;
    }
    case 'Job': {
      const spec = obj(object, 'spec');
      setDefault(spec, 'completions', 1);
      setDefault(spec, 'parallelism', 1);
      setDefault(spec, 'backoffLimit', DEFAULT_BACKOFF_LIMIT);
      setDefault(spec, 'completionMode', 'NonIndexed');
      defaultTemplate(spec);
      break;
    }
    default:
      break;
  }
}
