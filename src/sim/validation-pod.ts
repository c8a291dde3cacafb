import {
  asList,
  asObject,
  checkPortNumOrName,
  checkProtocol,
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  portNameProblems,
  portNumberProblems,
  type FieldErrors,
  type Obj,
} from './field-errors.ts';
import { parseQuantity, QUANTITY_PATTERN } from './quantity.ts';

/**
 * Pod spec validation as pkg/apis/core/validation does it for what charts and manifests commonly get
 * wrong: containers (names, images, ports, env, mounts, probes, resources) and volumes (one source each,
 * names, the Secret/ConfigMap references, file modes). A value of the wrong JSON type where the API has
 * a number or a quantity is refused as the real server refuses it while decoding: a 400, not a 422.
 */

/** A body the API server cannot decode into the kind's Go type: answered 400 BadRequest. */
export class DecodeError extends Error {}

/** fileModeErrorMsg: Secret, ConfigMap and projected volume modes. */
const MAX_FILE_MODE = 0o777;
const FILE_MODE_PROBLEM = 'must be a number between 0 and 0777 (octal), both inclusive';
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_CONFIG_KEY_LENGTH = 253;

/** Every field of core/v1 VolumeSource: a volume sets exactly one. */
const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];
const PROBE_HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
const PROBE_COUNTERS = ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'];
const ENV_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'];
const HTTP_SCHEMES = ['HTTP', 'HTTPS'];

/** validation.IsConfigMapKey: data keys of ConfigMaps and Secrets, and the keys items and selectors name. */
export function configKeyProblems(key: string): string[] {
  const problems: string[] = [];
  if (key.length > MAX_CONFIG_KEY_LENGTH) problems.push(`must be no more than ${MAX_CONFIG_KEY_LENGTH} characters`);
  if (!CONFIG_KEY.test(key)) {
    problems.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  }
  if (key === '.') problems.push("must not be '.'");
  else if (key === '..') problems.push("must not be '..'");
  else if (key.startsWith('..')) problems.push("must not start with '..'");
  return problems;
}

/** A number field of an int32 in the Go type: a string there fails to decode. */
function requireInt(value: unknown, goField: string): void {
  if (value !== undefined && value !== null && typeof value !== 'number') {
    throw new DecodeError(`json: cannot unmarshal ${typeof value === 'string' ? 'string' : 'object'} into Go struct field ${goField} of type int32`);
  }
}

function checkQuantities(map: Obj | undefined): void {
  for (const value of Object.values(map ?? {})) {
    if (parseQuantity(value) === undefined) throw new DecodeError(`quantities must match the regular expression '${QUANTITY_PATTERN}'`);
  }
}

function checkResources(errors: FieldErrors, resources: Obj | undefined, path: string): void {
  const requests = asObject(resources?.requests);
  const limits = asObject(resources?.limits);
  checkQuantities(requests);
  checkQuantities(limits);
  for (const [name, request] of Object.entries(requests ?? {})) {
    const limit = limits?.[name];
    if (limit !== undefined && parseQuantity(request)! > parseQuantity(limit)!) {
      errors.invalid(`${path}.requests`, String(request), `must be less than or equal to ${name} limit of ${String(limit)}`);
    }
  }
}

function checkProbe(errors: FieldErrors, probe: Obj | undefined, path: string, goPath: string, mustSucceedOnce: boolean): void {
  if (probe === undefined) return;
  const handlers = PROBE_HANDLERS.filter((h) => probe[h] !== undefined && probe[h] !== null);
  if (handlers.length === 0) errors.required(path, 'must specify a handler type');
  for (const extra of handlers.slice(1)) errors.forbidden(`${path}.${extra}`, 'may not specify more than 1 handler type');
  const httpGet = asObject(probe.httpGet);
  if (httpGet !== undefined) {
    if (typeof httpGet.path !== 'string' || httpGet.path === '') errors.required(`${path}.httpGet.path`);
    checkPortNumOrName(errors, `${path}.httpGet.port`, httpGet.port);
    if (httpGet.scheme !== undefined && !HTTP_SCHEMES.includes(httpGet.scheme as string))
      errors.notSupported(`${path}.httpGet.scheme`, httpGet.scheme, HTTP_SCHEMES);
  }
  const tcpSocket = asObject(probe.tcpSocket);
  if (tcpSocket !== undefined) checkPortNumOrName(errors, `${path}.tcpSocket.port`, tcpSocket.port);
  for (const counter of PROBE_COUNTERS) {
    const value = probe[counter];
    requireInt(value, `Probe.${goPath}.${counter}`);
    if (typeof value === 'number' && value < 0) errors.invalid(`${path}.${counter}`, value, 'must be greater than or equal to 0');
  }
  if (mustSucceedOnce && typeof probe.successThreshold === 'number' && probe.successThreshold !== 1) {
    errors.invalid(`${path}.successThreshold`, probe.successThreshold, 'must be 1');
  }
}

function checkEnv(errors: FieldErrors, env: unknown[], path: string): void {
  env.forEach((entry, i) => {
    const variable = asObject(entry) ?? {};
    const at = `${path}[${i}]`;
    if (typeof variable.name !== 'string' || variable.name === '') errors.required(`${at}.name`);
    const valueFrom = asObject(variable.valueFrom);
    if (valueFrom === undefined) return;
    const sources = ENV_SOURCES.filter((s) => valueFrom[s] !== undefined && valueFrom[s] !== null);
    if (typeof variable.value === 'string' && variable.value !== '') {
      errors.invalid(`${at}.valueFrom`, '', 'may not be specified when `value` is not empty');
    }
    if (sources.length === 0) {
      errors.invalid(`${at}.valueFrom`, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`');
    } else if (sources.length > 1) errors.invalid(`${at}.valueFrom`, '', 'may not have more than one field specified at a time');
    for (const kind of ['secretKeyRef', 'configMapKeyRef'] as const) {
      const ref = asObject(valueFrom[kind]);
      if (ref === undefined) continue;
      const name = typeof ref.name === 'string' ? ref.name : '';
      for (const problem of dns1123SubdomainProblems(name)) errors.invalid(`${at}.valueFrom.${kind}.name`, name, problem);
      if (typeof ref.key !== 'string' || ref.key === '') errors.required(`${at}.valueFrom.${kind}.key`);
      else for (const problem of configKeyProblems(ref.key)) errors.invalid(`${at}.valueFrom.${kind}.key`, ref.key, problem);
    }
  });
}

function checkContainer(errors: FieldErrors, container: Obj, at: string, goPath: string, volumes: Set<string>, names: Set<string>): void {
  if (typeof container.name !== 'string' || container.name === '') errors.required(`${at}.name`);
  else {
    for (const problem of dns1123LabelProblems(container.name)) errors.invalid(`${at}.name`, container.name, problem);
    if (names.has(container.name)) errors.duplicate(`${at}.name`, container.name);
    names.add(container.name);
  }
  if (typeof container.image !== 'string' || container.image === '') errors.required(`${at}.image`);
  const portNames = new Set<string>();
  asList(container.ports).forEach((p, j) => {
    const port = asObject(p) ?? {};
    const portAt = `${at}.ports[${j}]`;
    requireInt(port.containerPort, `ContainerPort.${goPath}.ports.containerPort`);
    if (port.containerPort === undefined || port.containerPort === 0) errors.required(`${portAt}.containerPort`);
    else for (const problem of portNumberProblems(port.containerPort as number)) errors.invalid(`${portAt}.containerPort`, port.containerPort, problem);
    if (typeof port.name === 'string' && port.name !== '') {
      const problems = portNameProblems(port.name);
      for (const problem of problems) errors.invalid(`${portAt}.name`, port.name, problem);
      if (problems.length === 0 && portNames.has(port.name)) errors.duplicate(`${portAt}.name`, port.name);
      portNames.add(port.name);
    }
    checkProtocol(errors, `${portAt}.protocol`, port.protocol);
  });
  checkEnv(errors, asList(container.env), `${at}.env`);
  const mountPaths = new Set<string>();
  asList(container.volumeMounts).forEach((m, j) => {
    const mount = asObject(m) ?? {};
    const mountAt = `${at}.volumeMounts[${j}]`;
    const name = typeof mount.name === 'string' ? mount.name : '';
    if (name === '') errors.required(`${mountAt}.name`);
    if (!volumes.has(name)) errors.notFound(`${mountAt}.name`, name);
    const mountPath = typeof mount.mountPath === 'string' ? mount.mountPath : '';
    if (mountPath === '') errors.required(`${mountAt}.mountPath`);
    else if (mountPaths.has(mountPath)) errors.invalid(`${mountAt}.mountPath`, mountPath, 'must be unique');
    mountPaths.add(mountPath);
  });
  checkProbe(errors, asObject(container.livenessProbe), `${at}.livenessProbe`, `${goPath}.livenessProbe`, true);
  checkProbe(errors, asObject(container.readinessProbe), `${at}.readinessProbe`, `${goPath}.readinessProbe`, false);
  checkProbe(errors, asObject(container.startupProbe), `${at}.startupProbe`, `${goPath}.startupProbe`, true);
  checkResources(errors, asObject(container.resources), `${at}.resources`);
}

function checkKeyToPaths(errors: FieldErrors, items: unknown[], path: string): void {
  items.forEach((entry, i) => {
    const item = asObject(entry) ?? {};
    if (typeof item.key !== 'string' || item.key === '') errors.required(`${path}[${i}].key`);
    const file = typeof item.path === 'string' ? item.path : '';
    if (file === '') errors.required(`${path}[${i}].path`);
    else if (file.startsWith('/')) errors.invalid(`${path}[${i}].path`, file, 'must be a relative path');
    else if (file.split('/').includes('..')) errors.invalid(`${path}[${i}].path`, file, "must not contain '..'");
    checkFileMode(errors, item.mode, `${path}[${i}].mode`);
  });
}

function checkFileMode(errors: FieldErrors, mode: unknown, path: string): void {
  if (mode === undefined || mode === null) return;
  if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > MAX_FILE_MODE) errors.invalid(path, mode, FILE_MODE_PROBLEM);
}

function checkVolumes(errors: FieldErrors, volumes: unknown[], path: string): Set<string> {
  const names = new Set<string>();
  volumes.forEach((entry, i) => {
    const volume = asObject(entry) ?? {};
    const at = `${path}[${i}]`;
    const name = typeof volume.name === 'string' ? volume.name : '';
    if (name === '') errors.required(`${at}.name`);
    else for (const problem of dns1123LabelProblems(name)) errors.invalid(`${at}.name`, name, problem);
    if (names.has(name)) errors.duplicate(`${at}.name`, name);
    names.add(name);
    const sources = VOLUME_SOURCES.filter((s) => volume[s] !== undefined && volume[s] !== null);
    if (sources.length === 0) errors.required(at, 'must specify a volume type');
    for (const extra of sources.slice(1)) errors.forbidden(`${at}.${extra}`, 'may not specify more than 1 volume type');
    const secret = asObject(volume.secret);
    if (secret !== undefined) {
      if (typeof secret.secretName !== 'string' || secret.secretName === '') errors.required(`${at}.secret.secretName`);
      checkFileMode(errors, secret.defaultMode, `${at}.secret.defaultMode`);
      checkKeyToPaths(errors, asList(secret.items), `${at}.secret.items`);
    }
    const configMap = asObject(volume.configMap);
    if (configMap !== undefined) {
      if (typeof configMap.name !== 'string' || configMap.name === '') errors.required(`${at}.configMap.name`);
      checkFileMode(errors, configMap.defaultMode, `${at}.configMap.defaultMode`);
      checkKeyToPaths(errors, asList(configMap.items), `${at}.configMap.items`);
    }
    const claim = asObject(volume.persistentVolumeClaim);
    if (claim !== undefined && (typeof claim.claimName !== 'string' || claim.claimName === '')) errors.required(`${at}.persistentVolumeClaim.claimName`);
  });
  return names;
}

/**
 * A pod spec at `path` (`spec`, `spec.template.spec`). `claimNames`: a StatefulSet's volumeClaimTemplates,
 * which its containers mount like volumes.
 */
export function validatePodSpec(errors: FieldErrors, spec: Obj | undefined, path: string, claimNames: readonly string[] = []): void {
  const goPath = path.replace(/\[\d+\]/g, '');
  const volumes = checkVolumes(errors, asList(spec?.volumes), `${path}.volumes`);
  for (const claim of claimNames) volumes.add(claim);
  const containers = spec?.containers;
  const names = new Set<string>();
  if (!Array.isArray(containers) || containers.length === 0) errors.required(`${path}.containers`);
  else containers.forEach((c, i) => checkContainer(errors, asObject(c) ?? {}, `${path}.containers[${i}]`, `${goPath}.containers`, volumes, names));
  asList(spec?.initContainers).forEach((c, i) =>
    checkContainer(errors, asObject(c) ?? {}, `${path}.initContainers[${i}]`, `${goPath}.initContainers`, volumes, names),
  );
  const account = spec?.serviceAccountName;
  if (typeof account === 'string' && account !== '') {
    for (const problem of dns1123SubdomainProblems(account)) errors.invalid(`${path}.serviceAccountName`, account, problem);
  }
}
