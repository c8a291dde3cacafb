/**
 * Patch metadata of the built-in Kubernetes types, for clusters whose OpenAPI does not carry it (and the
 * sim): the fields the Kubernetes API types tag with `patchStrategy` / `patchMergeKey`, reached from
 * each kind's root. kubectl falls back to its compiled-in types the same way. Fields not listed have no
 * strategy: maps merge key by key and lists are replaced, which is also what those tags mean.
 */
import { NO_PATCH_META, OPEN_SCHEMA, type PatchMeta, type PatchSchema } from './patch-meta.ts';

interface Field {
  /** `merge`, `replace`, `retainKeys` or `merge,retainKeys`. */
  readonly strategy?: string;
  readonly mergeKey?: string;
  /** The type of the field's value (for lists: of its items), when it has tagged fields of its own. */
  readonly type?: string;
}

const merge = (mergeKey: string, type?: string): Field => ({ strategy: 'merge', mergeKey, ...(type ? { type } : {}) });

const TYPES: Record<string, Record<string, Field>> = {
  ObjectMeta: { ownerReferences: merge('uid'), finalizers: { strategy: 'merge' } },
  PodTemplateSpec: { metadata: { type: 'ObjectMeta' }, spec: { type: 'PodSpec' } },
  PodSpec: {
    volumes: { strategy: 'merge,retainKeys', mergeKey: 'name' },
    initContainers: merge('name', 'Container'),
    containers: merge('name', 'Container'),
    ephemeralContainers: merge('name', 'Container'),
    imagePullSecrets: merge('name'),
    hostAliases: merge('ip'),
    topologySpreadConstraints: merge('topologyKey'),
    schedulingGates: merge('name'),
    resourceClaims: { strategy: 'merge,retainKeys', mergeKey: 'name' },
  },
  Container: { ports: merge('containerPort'), env: merge('name'), volumeMounts: merge('mountPath'), volumeDevices: merge('devicePath') },
  PodStatus: {
    conditions: merge('type'),
    hostIPs: merge('ip'),
    podIPs: merge('ip'),
    resourceClaimStatuses: { strategy: 'merge,retainKeys', mergeKey: 'name' },
  },
  ConditionsStatus: { conditions: merge('type') },
  ServiceSpec: { ports: merge('port') },
  NodeSpec: { podCIDRs: { strategy: 'merge' } },
  NodeStatus: { conditions: merge('type'), addresses: merge('type') },
  WorkloadSpec: { template: { type: 'PodTemplateSpec' } },
  DeploymentSpec: { template: { type: 'PodTemplateSpec' }, strategy: { strategy: 'retainKeys' } },
  CronJobSpec: { jobTemplate: { type: 'JobTemplateSpec' } },
  JobTemplateSpec: { metadata: { type: 'ObjectMeta' }, spec: { type: 'WorkloadSpec' } },
  PodDisruptionBudgetSpec: { selector: { strategy: 'replace' } },
  Webhook: { matchConditions: merge('name') },
  AdmissionPolicySpec: { matchConditions: merge('name'), variables: merge('name') },
  CSINodeSpec: { drivers: merge('name') },
};

/** Root fields per `group/Kind` besides `metadata` (every kind has ObjectMeta). */
const KINDS: Record<string, Record<string, Field>> = {
  '/Pod': { spec: { type: 'PodSpec' }, status: { type: 'PodStatus' } },
  '/PodTemplate': { template: { type: 'PodTemplateSpec' } },
  '/ReplicationController': { spec: { type: 'WorkloadSpec' }, status: { type: 'ConditionsStatus' } },
  '/Service': { spec: { type: 'ServiceSpec' }, status: { type: 'ConditionsStatus' } },
  '/ServiceAccount': { secrets: merge('name') },
  '/Node': { spec: { type: 'NodeSpec' }, status: { type: 'NodeStatus' } },
  '/Namespace': { status: { type: 'ConditionsStatus' } },
  '/PersistentVolumeClaim': { status: { type: 'ConditionsStatus' } },
  'apps/Deployment': { spec: { type: 'DeploymentSpec' }, status: { type: 'ConditionsStatus' } },
  'apps/StatefulSet': { spec: { type: 'WorkloadSpec' }, status: { type: 'ConditionsStatus' } },
  'apps/DaemonSet': { spec: { type: 'WorkloadSpec' }, status: { type: 'ConditionsStatus' } },
  'apps/ReplicaSet': { spec: { type: 'WorkloadSpec' }, status: { type: 'ConditionsStatus' } },
  'extensions/Deployment': { spec: { type: 'DeploymentSpec' }, status: { type: 'ConditionsStatus' } },
  'extensions/DaemonSet': { spec: { type: 'WorkloadSpec' }, status: { type: 'ConditionsStatus' } },
  'extensions/ReplicaSet': { spec: { type: 'WorkloadSpec' }, status: { type: 'ConditionsStatus' } },
  'batch/Job': { spec: { type: 'WorkloadSpec' }, status: { type: 'ConditionsStatus' } },
  'batch/CronJob': { spec: { type: 'CronJobSpec' } },
  'autoscaling/HorizontalPodAutoscaler': { status: { type: 'ConditionsStatus' } },
  'policy/PodDisruptionBudget': { spec: { type: 'PodDisruptionBudgetSpec' }, status: { type: 'ConditionsStatus' } },
  'admissionregistration.k8s.io/MutatingWebhookConfiguration': { webhooks: merge('name', 'Webhook') },
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration': { webhooks: merge('name', 'Webhook') },
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy': { spec: { type: 'AdmissionPolicySpec' }, status: { type: 'ConditionsStatus' } },
  'admissionregistration.k8s.io/MutatingAdmissionPolicy': { spec: { type: 'AdmissionPolicySpec' } },
  'certificates.k8s.io/CertificateSigningRequest': { status: { type: 'ConditionsStatus' } },
  'storage.k8s.io/CSINode': { spec: { type: 'CSINodeSpec' } },
};

/**
 * The API groups kubectl has compiled-in types for: a kind in one of them gets a strategic merge patch,
 * any other (custom resources, CRDs themselves, aggregated APIs) a JSON merge patch.
 */
export const BUILTIN_GROUPS: ReadonlySet<string> = new Set([
  '',
  'admissionregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'extensions',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
]);

function schemaOf(fields: Record<string, Field>, name: string): PatchSchema {
  const find = (key: string): { schema: PatchSchema; meta: PatchMeta } => {
    const field = fields[key];
    if (field === undefined) return { schema: OPEN_SCHEMA, meta: NO_PATCH_META };
    const meta: PatchMeta = field.strategy ? { strategies: field.strategy.split(','), mergeKey: field.mergeKey ?? '' } : NO_PATCH_META;
    const schema = field.type ? schemaOf(TYPES[field.type]!, field.type) : OPEN_SCHEMA;
    return { schema, meta };
  };
  return { lookupStruct: find, lookupSlice: find, name };
}

/** The patch schema of a built-in kind, or undefined when kubectl would not use a strategic merge patch for it. */
export function builtinPatchSchema(group: string, kind: string): PatchSchema | undefined {
  if (!BUILTIN_GROUPS.has(group)) return undefined;
  return schemaOf({ metadata: { type: 'ObjectMeta' }, ...(KINDS[`${group}/${kind}`] ?? {}) }, kind);
}

// A type named but not defined would only fail on the first deploy that reaches it: fail at load instead.
for (const fields of [...Object.values(TYPES), ...Object.values(KINDS)]) {
  for (const [key, field] of Object.entries(fields)) {
    if (field.type !== undefined && TYPES[field.type] === undefined)
      throw new Error(`builtin patch schema: field ${key} names the undefined type ${field.type}`);
  }
}
