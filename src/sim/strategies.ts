import type { KubeObject } from '../common/kube-object.ts';
import type { ResourceType } from './resource-type.ts';
import { kubeTime } from './names.ts';

/**
 * What the real API server's per-kind strategies do to an object on create and update that clients can
 * see: status reset on create, pods scheduled onto the simulated node, ClusterIPs allocated, Job selectors
 * generated, CustomResourceDefinitions accepted and established.
 */
type Obj = Record<string, unknown>;

/** The one node of every simulated cluster (DaemonSets place one pod on it). */
export const SIM_NODE_NAME = 'sim-node-1';
const SERVICE_CIDR_PREFIX = '10.96';
const OCTET = 256;
/** .0.0 and .0.1 are the network and the kubernetes Service; allocation starts after them. */
const FIRST_SERVICE_IP_OFFSET = 10;

export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';

export interface StrategyContext {
  /** Next ClusterIP host number in this cluster. */
  allocateServiceIp(): number;
}

function spec(object: KubeObject): Obj {
  if (typeof object.spec !== 'object' || object.spec === null) object.spec = {};
  return object.spec as Obj;
}

export function serviceIp(n: number): string {
  const host = n + FIRST_SERVICE_IP_OFFSET;
  return `${SERVICE_CIDR_PREFIX}.${Math.floor(host / OCTET) % OCTET}.${host % OCTET}`;
}

export function prepareForCreate(type: ResourceType, object: KubeObject, context: StrategyContext): void {
  if (type.custom) {
    if (type.subresources.status) delete object.status;
    return;
  }
  switch (type.kind) {
    case 'Namespace':
      object.status = { phase: 'Active' };
      return;
    case 'Node':
      // Nodes register themselves with their status already filled in.
      return;
    case 'Pod': {
      const podSpec = spec(object);
      if (typeof podSpec.nodeName !== 'string' || podSpec.nodeName === '') podSpec.nodeName = SIM_NODE_NAME;
      object.status = {
        phase: 'Pending',
        qosClass: 'BestEffort',
        conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: kubeTime() }],
      };
      return;
    }
    case 'Service': {
      const serviceSpec = spec(object);
      if (serviceSpec.type !== 'ExternalName' && (serviceSpec.clusterIP === undefined || serviceSpec.clusterIP === '')) {
        const ip = serviceIp(context.allocateServiceIp());
        serviceSpec.clusterIP = ip;
        serviceSpec.clusterIPs = [ip];
      }
      serviceSpec.ipFamilies ??= ['IPv4'];
      serviceSpec.ipFamilyPolicy ??= 'SingleStack';
      serviceSpec.internalTrafficPolicy ??= 'Cluster';
      object.status = { loadBalancer: {} };
      return;
    }
    case 'Job': {
      const uid = object.metadata!.uid!;
      const jobSpec = spec(object);
      const name = object.metadata!.name!;
      if (jobSpec.manualSelector !== true) {
        jobSpec.selector = { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: uid } };
        const template = (jobSpec.template ??= {}) as Obj;
        const metadata = (template.metadata ??= {}) as Obj;
        metadata.labels = {
          ...(metadata.labels as Obj | undefined),
          [JOB_CONTROLLER_UID_LABEL]: uid,
          [JOB_NAME_LABEL]: name,
          'controller-uid': uid,
          'job-name': name,
        };
      }
      object.status = {};
      return;
    }
    case 'CustomResourceDefinition':
      object.status = definitionStatus(object);
      return;
    default:
      if (type.subresources.status) object.status = {};
  }
}

/** Keeps CustomResourceDefinition status in step with its spec on every write (names accepted, established). */
export function prepareForUpdate(type: ResourceType, object: KubeObject): void {
  if (!type.custom && type.kind === 'CustomResourceDefinition') object.status = definitionStatus(object);
}

function definitionStatus(object: KubeObject): Obj {
  const definition = spec(object);
  const versions = Array.isArray(definition.versions) ? (definition.versions as Obj[]) : [];
  const storage = versions.find((v) => v?.storage === true)?.name;
  const now = kubeTime();
  return {
    acceptedNames: definition.names ?? {},
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    storedVersions: storage === undefined ? [] : [storage],
  };
}
