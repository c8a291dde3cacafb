import type { KubeObject } from '../common/kube-object.ts';
import { asObject, dns1035LabelProblems, dns1123LabelProblems, dns1123SubdomainProblems, FieldErrors, type Obj } from './field-errors.ts';
import { parseLabelSelector } from './label-selector.ts';
import type { ResourceType } from './resource-type.ts';
import { badRequest, invalid, type StatusError } from './status.ts';
import {
  validateBinding,
  validateBindingUpdate,
  validateDataKeys,
  validateDisruptionBudget,
  validateRules,
  validateService,
  validateWorkload,
} from './validation-kinds.ts';
import { DecodeError, validatePodSpec } from './validation-pod.ts';

/**
 * The validation a real API server does that clients can observe: names (by the kind's rule), labels, and
 * the fields of the built-in kinds charts and manifests get wrong (validation-kinds.ts, validation-pod.ts).
 * Failures are one 422 Invalid listing every cause, with field paths like the real ones; a value of the
 * wrong type is a 400, as the real server fails to decode it. Runs after defaulting, as on a real server.
 */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MAX_LABEL_LENGTH = 63;

const WORKLOAD_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet']);
const RBAC_GROUP = 'rbac.authorization.k8s.io';

export function nameProblem(type: ResourceType, name: string): string | undefined {
  switch (type.nameRule) {
    case 'label':
      return dns1123LabelProblems(name).at(-1);
    case 'dns1035':
      return dns1035LabelProblems(name).at(-1);
    case 'path-segment':
      if (name === '.' || name === '..') return `may not be '${name}'`;
      if (/[/%]/.test(name)) return `may not contain '/' or '%'`;
      return undefined;
    default:
      return dns1123SubdomainProblems(name).at(-1);
  }
}

function validateKind(errors: FieldErrors, type: ResourceType, object: KubeObject): void {
  if (type.custom) return;
  const spec = asObject(object.spec);
  if (type.group === 'apps' && WORKLOAD_KINDS.has(type.kind)) validateWorkload(errors, type.kind, spec);
  else if (type.group === '' && type.kind === 'Pod') validatePodSpec(errors, spec, 'spec');
  else if (type.group === '' && type.kind === 'Service') validateService(errors, spec);
  else if (type.group === '' && (type.kind === 'ConfigMap' || type.kind === 'Secret')) validateDataKeys(errors, object as Obj);
  else if (type.group === RBAC_GROUP && (type.kind === 'Role' || type.kind === 'ClusterRole')) validateRules(errors, object.rules, type.kind === 'Role');
  else if (type.group === RBAC_GROUP && (type.kind === 'RoleBinding' || type.kind === 'ClusterRoleBinding')) {
    validateBinding(errors, object as Obj, type.kind === 'RoleBinding');
  } else if (type.group === 'policy' && type.kind === 'PodDisruptionBudget') validateDisruptionBudget(errors, spec);
  else if (type.kind === 'Job') {
    const template = asObject(spec?.template);
    if (template === undefined) errors.required('spec.template');
    else {
      validatePodSpec(errors, asObject(template.spec), 'spec.template.spec');
      const policy = asObject(template.spec)?.restartPolicy;
      if (policy !== 'Never' && policy !== 'OnFailure') {
        errors.causes.push({
          reason: 'FieldValueNotSupported',
          message: 'Unsupported value: valid values: "OnFailure", "Never"',
          field: 'spec.template.spec.restartPolicy',
        });
      }
    }
  } else if (type.kind === 'CronJob') {
    if (typeof spec?.schedule !== 'string' || spec.schedule === '') errors.required('spec.schedule');
    if (asObject(spec?.jobTemplate) === undefined) errors.required('spec.jobTemplate');
  } else if (type.kind === 'CustomResourceDefinition') validateDefinition(errors, object);
}

function validateDefinition(errors: FieldErrors, object: KubeObject): void {
  const spec = asObject(object.spec);
  const names = asObject(spec?.names);
  if (typeof spec?.group !== 'string' || spec.group === '') errors.required('spec.group');
  if (typeof names?.plural !== 'string' || names.plural === '') errors.required('spec.names.plural');
  if (typeof names?.kind !== 'string' || names.kind === '') errors.required('spec.names.kind');
  if (spec?.scope !== 'Namespaced' && spec?.scope !== 'Cluster') {
    errors.causes.push({ reason: 'FieldValueNotSupported', message: 'Unsupported value: supported values: "Cluster", "Namespaced"', field: 'spec.scope' });
  }
  const versions = Array.isArray(spec?.versions) ? (spec.versions as unknown[]).map(asObject) : [];
  if (versions.length === 0) errors.required('spec.versions');
  else if (versions.filter((v) => v?.storage === true).length !== 1) {
    errors.causes.push({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: must have exactly one version marked as storage version',
      field: 'spec.versions',
    });
  }
  const expectedName = `${String(names?.plural ?? '')}.${String(spec?.group ?? '')}`;
  if (object.metadata?.name !== expectedName) {
    errors.invalid('metadata.name', object.metadata?.name ?? '', 'must be spec.names.plural+"."+spec.group');
  }
}

function validateLabels(errors: FieldErrors, labels: unknown): void {
  const map = asObject(labels);
  if (labels !== undefined && labels !== null && map === undefined) {
    errors.causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: must be a map of strings', field: 'metadata.labels' });
    return;
  }
  for (const [key, value] of Object.entries(map ?? {})) {
    try {
      parseLabelSelector(key);
    } catch {
      errors.invalid('metadata.labels', key, "name part must consist of alphanumeric characters, '-', '_' or '.'");
    }
    if (typeof value !== 'string' || value.length > MAX_LABEL_LENGTH || !LABEL_VALUE.test(value)) {
      errors.invalid('metadata.labels', String(value), "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'");
    }
  }
}

/** The real server's 400 for a body it cannot decode into the kind's type: `Deployment in version "v1" cannot be handled as a Deployment: …`. */
function decodeFailure(type: ResourceType, err: DecodeError): StatusError {
  return badRequest(`${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: ${err.message}`);
}

/** Throws 422 Invalid when the object (name generated, defaults applied) is not acceptable; 400 when it cannot be decoded. */
export function validateObject(type: ResourceType, object: KubeObject): void {
  const errors = new FieldErrors();
  const name = object.metadata?.name;
  if (typeof name !== 'string' || name === '') errors.required('metadata.name', 'name or generateName is required');
  else {
    const problem = nameProblem(type, name);
    if (problem !== undefined) errors.invalid('metadata.name', name, problem);
  }
  validateLabels(errors, object.metadata?.labels);
  try {
    validateKind(errors, type, object);
  } catch (err) {
    if (err instanceof DecodeError) throw decodeFailure(type, err);
    throw err;
  }
  if (errors.causes.length > 0) throw invalid(type.group, type.kind, typeof name === 'string' ? name : '', errors.causes);
}

/** Fields that may not change after create: workload selectors and binding roleRefs (what clients trip on). */
export function validateImmutable(type: ResourceType, previous: KubeObject, next: KubeObject): void {
  if (type.custom) return;
  const errors = new FieldErrors();
  if (type.group === 'apps' && WORKLOAD_KINDS.has(type.kind)) {
    const before = JSON.stringify(asObject(previous.spec)?.selector ?? null);
    const after = JSON.stringify(asObject(next.spec)?.selector ?? null);
    if (before !== after) errors.causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${after}: field is immutable`, field: 'spec.selector' });
  } else if (type.group === RBAC_GROUP && (type.kind === 'RoleBinding' || type.kind === 'ClusterRoleBinding')) {
    validateBindingUpdate(errors, previous as Obj, next as Obj);
  }
  if (errors.causes.length > 0) throw invalid(type.group, type.kind, next.metadata?.name ?? '', errors.causes);
}
