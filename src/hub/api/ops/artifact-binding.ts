import type { KubeObject } from '../../../common/kube-object.ts';
import { knownKind } from '../../store/kind-names.ts';
import { at, expectObject, invalid, isObject, optionalArray, type Obj } from './fields.ts';

/**
 * Spinnaker artifacts bound into manifests, as Clouddriver's ArtifactReplacer does it: each kind's
 * handler has replacers (a path into the manifest and an artifact type); an artifact whose name matches
 * the value at the path replaces it with its reference. Docker images match by name without tag or
 * digest (`nginx:1.25` and `nginx` both match an artifact named `nginx`); ConfigMaps and Secrets by
 * exact (unversioned) name, so a ConfigMap deployed as `cfg-v003` is bound wherever `cfg` is used.
 */
export interface Artifact {
  type: string;
  name?: string;
  reference?: string;
  version?: string;
  location?: string;
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

export function parseArtifacts(source: Obj, key: string, path: string): Artifact[] {
  const list = optionalArray(source, key, path) ?? [];
  return list.flatMap((raw, i) => {
    if (raw === null || raw === undefined) return [];
    const artifact = expectObject(raw, at(at(path, key), i), 'an artifact object');
    if (artifact.type !== undefined && artifact.type !== null && typeof artifact.type !== 'string')
      invalid(at(at(at(path, key), i), 'type'), 'expected a string');
    for (const field of ['name', 'reference', 'version', 'location'] as const) {
      const value = artifact[field];
      if (value !== undefined && value !== null && typeof value !== 'string') invalid(at(at(at(path, key), i), field), 'expected a string');
    }
    return [{ ...artifact, type: typeof artifact.type === 'string' ? artifact.type : '' } as Artifact];
  });
}

/** The key Clouddriver collects a deploy's artifacts under: later entries with the same key lose (or win, for artifacts the deploy creates). */
export function artifactSlot(a: Artifact): string {
  return `[${a.type}]-[${a.name ?? ''}]-[${a.location ?? ''}]`;
}

/** Clouddriver's ArtifactKey: what decides whether a required artifact was bound. */
export function artifactIdentity(a: Artifact): string {
  return JSON.stringify([a.type, a.name ?? '', a.version ?? '', a.location ?? '', a.reference ?? '']);
}

/** "nginx:1.25" → "nginx", "nginx@sha256:…" → "nginx" (Clouddriver's rule, which also cuts a bare registry port). */
export function dockerName(reference: string): string {
  const atIndex = reference.indexOf('@');
  if (atIndex >= 0) return reference.slice(0, atIndex);
  const colon = reference.lastIndexOf(':');
  return colon >= 0 ? reference.slice(0, colon) : reference;
}

interface Slot {
  get(): unknown;
  set(value: string): void;
}

type Finder = (manifest: KubeObject) => Slot[];

interface Replacer {
  type: string;
  find: Finder;
  /** The value at a slot, as the name an artifact must have to replace it. */
  nameOf(value: string): string;
}

function slot(holder: Obj, key: string): Slot {
  return { get: () => holder[key], set: (value) => (holder[key] = value) };
}

function objects(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** Every `spec.template.spec` below the root, at any depth (JSONPath `$..spec.template.spec`: workloads, a CronJob's job template). */
function podTemplateSpecs(root: unknown, out: Obj[] = []): Obj[] {
  if (Array.isArray(root)) {
    for (const item of root) podTemplateSpecs(item, out);
    return out;
  }
  if (!isObject(root)) return out;
  for (const [key, value] of Object.entries(root)) {
    if (key === 'spec' && isObject(value) && isObject(value.template) && isObject(value.template.spec)) out.push(value.template.spec);
    podTemplateSpecs(value, out);
  }
  return out;
}

function containers(podSpec: Obj): Obj[] {
  return [...objects(podSpec.containers), ...objects(podSpec.initContainers)];
}

function nested(holder: Obj, path: string[]): Slot | undefined {
  let current: Obj = holder;
  for (const key of path.slice(0, -1)) {
    const next = current[key];
    if (!isObject(next)) return undefined;
    current = next;
  }
  return slot(current, path[path.length - 1]!);
}

const identity = (value: string) => value;

function templateReplacer(type: string, findInPodSpec: (podSpec: Obj) => Array<Slot | undefined>, nameOf: (value: string) => string = identity): Replacer {
  return {
    type,
    nameOf,
    find: (manifest) => podTemplateSpecs(manifest).flatMap((podSpec) => findInPodSpec(podSpec).filter((s): s is Slot => s !== undefined)),
  };
}

const WORKLOAD_REPLACERS: readonly Replacer[] = [
  templateReplacer('docker/image', (p) => containers(p).map((c) => slot(c, 'image')), dockerName),
  templateReplacer('kubernetes/configMap', (p) => objects(p.volumes).map((v) => nested(v, ['configMap', 'name']))),
  templateReplacer('kubernetes/secret', (p) => objects(p.volumes).map((v) => nested(v, ['secret', 'secretName']))),
  templateReplacer('kubernetes/configMap', (p) =>
    objects(p.volumes)
      .flatMap((v) => (isObject(v.projected) ? objects(v.projected.sources) : []))
      .map((s) => nested(s, ['configMap', 'name'])),
  ),
  templateReplacer('kubernetes/secret', (p) =>
    objects(p.volumes)
      .flatMap((v) => (isObject(v.projected) ? objects(v.projected.sources) : []))
      .map((s) => nested(s, ['secret', 'name'])),
  ),
  templateReplacer('kubernetes/configMap', (p) =>
    containers(p)
      .flatMap((c) => objects(c.envFrom))
      .map((e) => nested(e, ['configMapRef', 'name'])),
  ),
  templateReplacer('kubernetes/secret', (p) =>
    containers(p)
      .flatMap((c) => objects(c.envFrom))
      .map((e) => nested(e, ['secretRef', 'name'])),
  ),
  templateReplacer('kubernetes/configMap', (p) =>
    containers(p)
      .flatMap((c) => objects(c.env))
      .map((e) => nested(e, ['valueFrom', 'configMapKeyRef', 'name'])),
  ),
  templateReplacer('kubernetes/secret', (p) =>
    containers(p)
      .flatMap((c) => objects(c.env))
      .map((e) => nested(e, ['valueFrom', 'secretKeyRef', 'name'])),
  ),
];

/** A bare Pod: its own containers' images, matched by the exact image string (Clouddriver's podDockerImage). */
const POD_REPLACERS: readonly Replacer[] = [
  { type: 'docker/image', nameOf: identity, find: (m) => (isObject(m.spec) ? objects(m.spec.containers).map((c) => slot(c, 'image')) : []) },
];

function scaleTargetReplacer(type: string, kinds: readonly string[]): Replacer {
  return {
    type,
    nameOf: identity,
    find: (m) => {
      const ref = isObject(m.spec) && isObject(m.spec.scaleTargetRef) ? m.spec.scaleTargetRef : undefined;
      return ref && typeof ref.kind === 'string' && kinds.includes(ref.kind) ? [slot(ref, 'name')] : [];
    },
  };
}

const HPA_REPLACERS: readonly Replacer[] = [
  scaleTargetReplacer('kubernetes/deployment', ['Deployment', 'deployment']),
  scaleTargetReplacer('kubernetes/replicaSet', ['ReplicaSet', 'replicaSet']),
];

const WORKLOAD_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);

/** The replacers of a kind's Clouddriver handler (none for kinds that reference no artifacts). */
export function replacersFor(group: string, kind: string): readonly Replacer[] {
  const known = knownKind(group, kind);
  if (!known) return [];
  if (WORKLOAD_KINDS.has(known.kind)) return WORKLOAD_REPLACERS;
  if (known.kind === 'Pod') return POD_REPLACERS;
  if (known.kind === 'HorizontalPodAutoscaler') return HPA_REPLACERS;
  return [];
}

/**
 * Kubernetes artifacts only bind in their own namespace and account (an artifact without an account
 * binds anywhere, as Clouddriver assumes the omission unintentional); other types bind everywhere.
 */
function bindable(artifact: Artifact, namespace: string, account: string): boolean {
  if (artifact.type === '') return false;
  if (!artifact.type.startsWith('kubernetes/')) return true;
  if ((artifact.location ?? '') !== namespace) return false;
  const owner = artifact.metadata?.account;
  return owner === undefined || owner === null || owner === '' || owner === account;
}

/** Replaces what the artifacts bind to, in place; returns the artifacts that bound somewhere. */
export function bindArtifacts(
  manifest: KubeObject,
  group: string,
  kind: string,
  artifacts: readonly Artifact[],
  namespace: string,
  account: string,
): Artifact[] {
  const replacers = replacersFor(group, kind);
  if (replacers.length === 0 || artifacts.length === 0) return [];
  const candidates = artifacts.filter((a) => bindable(a, namespace, account));
  const bound = new Map<string, Artifact>();
  for (const replacer of replacers) {
    const slots = replacer.find(manifest);
    if (slots.length === 0) continue;
    for (const artifact of candidates) {
      if (artifact.type !== replacer.type || artifact.name === undefined || artifact.reference === undefined) continue;
      let replaced = false;
      for (const s of slots) {
        const value = s.get();
        if (typeof value === 'string' && replacer.nameOf(value) === artifact.name) {
          s.set(artifact.reference);
          replaced = true;
        }
      }
      if (replaced) bound.set(JSON.stringify(artifact), artifact);
    }
  }
  return [...bound.values()];
}

/** The required artifacts no manifest bound (their identities); empty when all were. */
export function unboundRequired(required: readonly Artifact[], bound: readonly Artifact[]): Artifact[] {
  const boundKeys = new Set(bound.map(artifactIdentity));
  return required.filter((a) => !boundKeys.has(artifactIdentity(a)));
}

export function describeArtifacts(artifacts: readonly Artifact[]): string {
  return artifacts.map((a) => `${a.type} ${a.name ?? ''}${a.reference ? ` (${a.reference})` : ''}`).join(', ');
}
