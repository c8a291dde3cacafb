import type { KubeObject } from '../common/kube-object.ts';
import { parseLabelSelector, matchesLabels, selectorFromObject, type LabelSelectorObject } from './label-selector.ts';
import type { ResourceType } from './resource-type.ts';
import { invalid, type StatusCause } from './status.ts';

/**
 * The validation a real API server does that clients can observe: names, labels, and the required fields of
 * the workload kinds. Failures are one 422 Invalid listing every cause, with field paths like the real ones.
 */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_SUBDOMAIN_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const WORKLOAD_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet']);

export function nameProblem(type: ResourceType, name: string): string | undefined {
  switch (type.nameRule) {
    case 'label':
      if (name.length > MAX_LABEL_LENGTH || !DNS1123_LABEL.test(name)) {
        return `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`;
      }
      return undefined;
    case 'path-segment':
      if (name === '.' || name === '..') return `may not be '${name}'`;
      if (/[/%]/.test(name)) return `may not contain '/' or '%'`;
      return undefined;
    default:
      if (name.length > MAX_SUBDOMAIN_LENGTH || !DNS1123_SUBDOMAIN.test(name)) {
        return `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`;
      }
      return undefined;
  }
}

type Obj = Record<string, unknown>;

function asObject(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

function required(causes: StatusCause[], field: string): void {
  causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
}

function validatePodSpec(causes: StatusCause[], spec: Obj | undefined, path: string): void {
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    required(causes, `${path}.containers`);
    return;
  }
  containers.forEach((c, i) => {
    const container = asObject(c);
    if (typeof container?.name !== 'string' || container.name === '') required(causes, `${path}.containers[${i}].name`);
    if (typeof container?.image !== 'string' || container.image === '') required(causes, `${path}.containers[${i}].image`);
  });
}

function validateWorkload(causes: StatusCause[], object: KubeObject): void {
  const spec = asObject(object.spec);
  const selector = asObject(spec?.selector) as LabelSelectorObject | undefined;
  const template = asObject(spec?.template);
  const replicas = spec?.replicas;
  if (replicas !== undefined && replicas !== null && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
      field: 'spec.replicas',
    });
  }
  if (selector === undefined) required(causes, 'spec.selector');
  else if (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0) {
    causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: empty selector is invalid for deployment', field: 'spec.selector' });
  }
  if (template === undefined) {
    required(causes, 'spec.template');
    return;
  }
  const labels = asObject(asObject(template.metadata)?.labels) as Record<string, string> | undefined;
  if (selector !== undefined && !matchesLabels(selectorFromObject(selector), labels ?? {})) {
    causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: `selector` does not match template `labels`', field: 'spec.template.metadata.labels' });
  }
  validatePodSpec(causes, asObject(template.spec), 'spec.template.spec');
}

function validateKind(causes: StatusCause[], type: ResourceType, object: KubeObject): void {
  if (type.custom) return;
  const spec = asObject(object.spec);
  if (type.group === 'apps' && WORKLOAD_KINDS.has(type.kind)) validateWorkload(causes, object);
  else if (type.kind === 'Pod') validatePodSpec(causes, spec, 'spec');
  else if (type.kind === 'Job') {
    const template = asObject(spec?.template);
    if (template === undefined) required(causes, 'spec.template');
    else {
      validatePodSpec(causes, asObject(template.spec), 'spec.template.spec');
      const policy = asObject(template.spec)?.restartPolicy;
      if (policy !== 'Never' && policy !== 'OnFailure') {
        causes.push({
          reason: 'FieldValueNotSupported',
          message: 'Unsupported value: valid values: "OnFailure", "Never"',
          field: 'spec.template.spec.restartPolicy',
        });
      }
    }
  } else if (type.kind === 'CronJob') {
    if (typeof spec?.schedule !== 'string' || spec.schedule === '') required(causes, 'spec.schedule');
    if (asObject(spec?.jobTemplate) === undefined) required(causes, 'spec.jobTemplate');
  } else if (type.kind === 'CustomResourceDefinition') validateDefinition(causes, object);
}

function validateDefinition(causes: StatusCause[], object: KubeObject): void {
  const spec = asObject(object.spec);
  const names = asObject(spec?.names);
  if (typeof spec?.group !== 'string' || spec.group === '') required(causes, 'spec.group');
  if (typeof names?.plural !== 'string' || names.plural === '') required(causes, 'spec.names.plural');
  if (typeof names?.kind !== 'string' || names.kind === '') required(causes, 'spec.names.kind');
  if (spec?.scope !== 'Namespaced' && spec?.scope !== 'Cluster') {
    causes.push({ reason: 'FieldValueNotSupported', message: 'Unsupported value: supported values: "Cluster", "Namespaced"', field: 'spec.scope' });
  }
  const versions = Array.isArray(spec?.versions) ? (spec.versions as unknown[]).map(asObject) : [];
  if (versions.length === 0) required(causes, 'spec.versions');
  else if (versions.filter((v) => v?.storage === true).length !== 1) {
    causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: must have exactly one version marked as storage version', field: 'spec.versions' });
  }
  const expectedName = `${String(names?.plural ?? '')}.${String(spec?.group ?? '')}`;
  if (object.metadata?.name !== expectedName) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${object.metadata?.name ?? ''}": must be spec.names.plural+"."+spec.group`,
      field: 'metadata.name',
    });
  }
}

function validateLabels(causes: StatusCause[], labels: unknown): void {
  const map = asObject(labels);
  if (labels !== undefined && labels !== null && map === undefined) {
    causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: must be a map of strings', field: 'metadata.labels' });
    return;
  }
  for (const [key, value] of Object.entries(map ?? {})) {
    try {
      parseLabelSelector(key);
    } catch {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.'`,
        field: 'metadata.labels',
      });
    }
    if (typeof value !== 'string' || value.length > MAX_LABEL_LENGTH || !LABEL_VALUE.test(value)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${String(value)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.'`,
        field: `metadata.labels`,
      });
    }
  }
}

/** Throws 422 Invalid when the object (name already generated) is not acceptable. */
export function validateObject(type: ResourceType, object: KubeObject): void {
  const causes: StatusCause[] = [];
  const name = object.metadata?.name;
  if (typeof name !== 'string' || name === '') {
    causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  } else {
    const problem = nameProblem(type, name);
    if (problem !== undefined) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${name}": ${problem}`, field: 'metadata.name' });
  }
  validateLabels(causes, object.metadata?.labels);
  validateKind(causes, type, object);
  if (causes.length > 0) throw invalid(type.group, type.kind, typeof name === 'string' ? name : '', causes);
}

/** Fields that may not change after create, per kind (selector immutability is what clients trip on). */
export function validateImmutable(type: ResourceType, previous: KubeObject, next: KubeObject): void {
  if (type.custom || !(type.group === 'apps' && WORKLOAD_KINDS.has(type.kind))) return;
  const before = JSON.stringify(asObject(previous.spec)?.selector ?? null);
  const after = JSON.stringify(asObject(next.spec)?.selector ?? null);
  if (before !== after) {
    throw invalid(type.group, type.kind, next.metadata?.name ?? '', [
      { reason: 'FieldValueInvalid', message: `Invalid value: ${after}: field is immutable`, field: 'spec.selector' },
    ]);
  }
}
