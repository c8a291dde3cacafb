import { matchesLabels, selectorFromObject, type LabelSelectorObject } from './label-selector.ts';
import {
  asList,
  asObject,
  checkPortNumOrName,
  checkProtocol,
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  portNumberProblems,
  type FieldErrors,
  type Obj,
} from './field-errors.ts';
import { configKeyProblems, DecodeError, validatePodSpec } from './validation-pod.ts';

/**
 * Per-kind validation of the built-in kinds, after pkg/apis/{apps,core,rbac,policy}/validation: what a
 * real API server refuses with 422 Invalid and a field path per problem.
 */
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const STRATEGY_TYPES = ['Recreate', 'RollingUpdate'];
const SUBJECT_KINDS = ['ServiceAccount', 'User', 'Group'];
const PERCENT = /^[0-9]+%$/;
const MAX_PERCENT = 100;

export function validateWorkload(errors: FieldErrors, kind: string, spec: Obj | undefined): void {
  const selector = asObject(spec?.selector) as LabelSelectorObject | undefined;
  const template = asObject(spec?.template);
  const replicas = spec?.replicas;
  if (replicas !== undefined && replicas !== null && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)) {
    errors.invalid('spec.replicas', replicas, 'must be greater than or equal to 0');
  }
  if (selector === undefined) errors.required('spec.selector');
  else if (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0) {
    errors.causes.push({ reason: 'FieldValueInvalid', message: 'Invalid value: empty selector is invalid for deployment', field: 'spec.selector' });
  }
  if (kind === 'Deployment') validateStrategy(errors, asObject(spec?.strategy));
  if (template === undefined) {
    errors.required('spec.template');
    return;
  }
  const labels = asObject(asObject(template.metadata)?.labels) as Record<string, string> | undefined;
  if (selector !== undefined && !matchesLabels(selectorFromObject(selector), labels ?? {})) {
    errors.causes.push({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: `selector` does not match template `labels`',
      field: 'spec.template.metadata.labels',
    });
  }
  const podSpec = asObject(template.spec);
  const restartPolicy = podSpec?.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== 'Always') errors.notSupported('spec.template.spec.restartPolicy', restartPolicy, ['Always']);
  const claims = asList(spec?.volumeClaimTemplates).map((c) => String(asObject(asObject(c)?.metadata)?.name ?? ''));
  validatePodSpec(errors, podSpec, 'spec.template.spec', claims);
}

/**
 * An IntOrString that must be a count or a percentage (maxSurge, maxUnavailable, minAvailable). A real
 * API server caps percentages at 100% for what may be unavailable, never for a surge ("200%" is valid).
 */
function checkIntOrPercent(errors: FieldErrors, field: string, value: unknown, capAtHundredPercent = true): void {
  if (typeof value === 'number') {
    if (value < 0) errors.invalid(field, value, 'must be greater than or equal to 0');
  } else if (typeof value === 'string') {
    if (!PERCENT.test(value)) {
      errors.invalid(
        field,
        value,
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      );
    } else if (capAtHundredPercent && Number.parseInt(value, 10) > MAX_PERCENT) errors.invalid(field, value, 'must not be greater than 100%');
  }
}

const isZero = (value: unknown): boolean => value === 0 || value === '0%';

function validateStrategy(errors: FieldErrors, strategy: Obj | undefined): void {
  const type = strategy?.type ?? 'RollingUpdate';
  const rolling = asObject(strategy?.rollingUpdate);
  if (type === 'Recreate') {
    if (strategy?.rollingUpdate !== undefined && strategy.rollingUpdate !== null) {
      errors.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'");
    }
  } else if (type === 'RollingUpdate') {
    checkIntOrPercent(errors, 'spec.strategy.rollingUpdate.maxUnavailable', rolling?.maxUnavailable);
    checkIntOrPercent(errors, 'spec.strategy.rollingUpdate.maxSurge', rolling?.maxSurge, false);
    if (rolling !== undefined && isZero(rolling.maxUnavailable) && isZero(rolling.maxSurge)) {
      errors.invalid('spec.strategy.rollingUpdate.maxUnavailable', rolling.maxUnavailable, 'may not be 0 when `maxSurge` is 0');
    }
  } else errors.notSupported('spec.strategy.type', type, STRATEGY_TYPES);
}

/** Services: ports (numbers, names, protocols, target ports), the type; DNS-1035 names are checked with the name. */
export function validateService(errors: FieldErrors, spec: Obj | undefined): void {
  const type = spec?.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type as string)) errors.notSupported('spec.type', type, SERVICE_TYPES);
  const headless = spec?.clusterIP === 'None';
  const ports = asList(spec?.ports);
  if (ports.length === 0 && !headless && type !== 'ExternalName') errors.required('spec.ports');
  const names = new Set<string>();
  ports.forEach((entry, i) => {
    const port = asObject(entry) ?? {};
    const at = `spec.ports[${i}]`;
    const name = typeof port.name === 'string' ? port.name : '';
    if (ports.length > 1 && name === '') errors.required(`${at}.name`);
    else if (name !== '') {
      for (const problem of dns1123LabelProblems(name)) errors.invalid(`${at}.name`, name, problem);
      if (names.has(name)) errors.duplicate(`${at}.name`, name);
      names.add(name);
    }
    if (port.port !== undefined && typeof port.port !== 'number') {
      throw new DecodeError(`json: cannot unmarshal ${typeof port.port} into Go struct field ServicePort.spec.ports.port of type int32`);
    }
    for (const problem of portNumberProblems((port.port as number | undefined) ?? 0)) errors.invalid(`${at}.port`, port.port ?? 0, problem);
    checkProtocol(errors, `${at}.protocol`, port.protocol);
    if (port.targetPort !== undefined) checkPortNumOrName(errors, `${at}.targetPort`, port.targetPort);
  });
}

/** ConfigMaps and Secrets: every data key must be a valid file name in a volume. */
export function validateDataKeys(errors: FieldErrors, object: Obj): void {
  for (const field of ['data', 'binaryData', 'stringData']) {
    for (const key of Object.keys(asObject(object[field]) ?? {})) {
      for (const problem of configKeyProblems(key)) errors.invalid(`${field}[${key}]`, key, problem);
    }
  }
}

/** Roles and ClusterRoles: every rule needs verbs, and either resources with API groups or non-resource URLs. */
export function validateRules(errors: FieldErrors, rules: unknown, namespaced: boolean): void {
  asList(rules).forEach((entry, i) => {
    const rule = asObject(entry) ?? {};
    const at = `rules[${i}]`;
    const listed = (field: string): number => asList(rule[field]).length;
    if (listed('verbs') === 0) errors.required(`${at}.verbs`, 'verbs must contain at least one value');
    if (listed('nonResourceURLs') > 0) {
      if (namespaced) errors.invalid(`${at}.nonResourceURLs`, rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs');
      if (listed('apiGroups') > 0 || listed('resources') > 0 || listed('resourceNames') > 0) {
        errors.invalid(`${at}.nonResourceURLs`, rule.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs');
      }
      return;
    }
    if (listed('apiGroups') === 0) errors.required(`${at}.apiGroups`, 'resource rules must supply at least one api group');
    if (listed('resources') === 0) errors.required(`${at}.resources`, 'resource rules must supply at least one resource');
  });
}

/** RoleBindings and ClusterRoleBindings: the role they grant and who gets it. */
export function validateBinding(errors: FieldErrors, binding: Obj, namespaced: boolean): void {
  const roleRef = asObject(binding.roleRef) ?? {};
  if (roleRef.apiGroup !== RBAC_GROUP) errors.notSupported('roleRef.apiGroup', roleRef.apiGroup ?? '', [RBAC_GROUP]);
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(roleRef.kind as string)) errors.notSupported('roleRef.kind', roleRef.kind ?? '', kinds);
  const roleName = typeof roleRef.name === 'string' ? roleRef.name : '';
  if (roleName === '') errors.required('roleRef.name');
  else if (roleName === '.' || roleName === '..' || /[/%]/.test(roleName)) errors.invalid('roleRef.name', roleName, `may not contain '/' or '%'`);
  asList(binding.subjects).forEach((entry, i) => {
    const subject = asObject(entry) ?? {};
    const at = `subjects[${i}]`;
    const name = typeof subject.name === 'string' ? subject.name : '';
    if (name === '') errors.required(`${at}.name`);
    switch (subject.kind) {
      case 'ServiceAccount':
        if (name !== '') for (const problem of dns1123SubdomainProblems(name)) errors.invalid(`${at}.name`, name, problem);
        if (typeof subject.apiGroup === 'string' && subject.apiGroup !== '') errors.notSupported(`${at}.apiGroup`, subject.apiGroup, ['']);
        if (!namespaced && (typeof subject.namespace !== 'string' || subject.namespace === '')) errors.required(`${at}.namespace`);
        break;
      case 'User':
      case 'Group':
        if (subject.apiGroup !== RBAC_GROUP) errors.notSupported(`${at}.apiGroup`, subject.apiGroup ?? '', [RBAC_GROUP]);
        break;
      default:
        errors.notSupported(`${at}.kind`, subject.kind ?? '', SUBJECT_KINDS);
    }
  });
}

/** The roleRef of a binding may not change: a different grant is a new binding. */
export function validateBindingUpdate(errors: FieldErrors, previous: Obj, next: Obj): void {
  const before = asObject(previous.roleRef) ?? {};
  const after = asObject(next.roleRef) ?? {};
  if (before.apiGroup !== after.apiGroup || before.kind !== after.kind || before.name !== after.name) {
    errors.invalid('roleRef', { apiGroup: after.apiGroup, kind: after.kind, name: after.name }, 'cannot change roleRef');
  }
}

/** PodDisruptionBudgets: minAvailable or maxUnavailable (not both), each a count or a percentage. */
export function validateDisruptionBudget(errors: FieldErrors, spec: Obj | undefined): void {
  const min = spec?.minAvailable;
  const max = spec?.maxUnavailable;
  const set = (value: unknown): boolean => value !== undefined && value !== null;
  if (set(min) && set(max)) errors.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set');
  if (set(min)) checkIntOrPercent(errors, 'spec.minAvailable', min);
  if (set(max)) checkIntOrPercent(errors, 'spec.maxUnavailable', max);
  const policy = spec?.unhealthyPodEvictionPolicy;
  if (policy !== undefined && policy !== 'AlwaysAllow' && policy !== 'IfHealthyBudget') {
    errors.notSupported('spec.unhealthyPodEvictionPolicy', policy, ['AlwaysAllow', 'IfHealthyBudget']);
  }
}
