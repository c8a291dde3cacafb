import type { KubeObject } from '../../common/kube-object.ts';

/**
 * Artifacts a manifest references, as Clouddriver's replacers find them: container and init-container
 * images (docker/image), and ConfigMaps/Secrets used as volumes, projected sources, envFrom or key refs.
 */
export interface Artifact {
  type: string;
  name: string;
  reference: string;
}

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

function list(value: unknown): Obj[] {
  return Array.isArray(value) ? value.map(obj).filter((v): v is Obj => v !== undefined) : [];
}

/** The pod spec of a workload, a pod, or a CronJob's job template. */
export function podSpecOf(manifest: KubeObject): Obj | undefined {
  const spec = obj(manifest.spec);
  if (!spec) return undefined;
  if (manifest.kind === 'Pod') return spec;
  if (manifest.kind === 'CronJob') return obj(obj(obj(obj(spec.jobTemplate)?.spec)?.template)?.spec);
  return obj(obj(spec.template)?.spec);
}

/** "gcr.io/x/web:1.2" → "gcr.io/x/web"; keeps registry ports ("host:5000/x:1" → "host:5000/x"). */
export function imageName(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
}

export function manifestArtifacts(manifest: KubeObject): Artifact[] {
  const podSpec = podSpecOf(manifest);
  if (!podSpec) return [];
  const out = new Map<string, Artifact>();
  const add = (type: string, name: unknown, reference = name) => {
    if (typeof name !== 'string' || name === '' || typeof reference !== 'string') return;
    out.set(`${type} ${reference}`, { type, name, reference });
  };
  const containers = [...list(podSpec.initContainers), ...list(podSpec.containers)];
  for (const container of containers) {
    if (typeof container.image === 'string') add('docker/image', imageName(container.image), container.image);
    for (const from of list(container.envFrom)) {
      add('kubernetes/configMap', obj(from.configMapRef)?.name);
      add('kubernetes/secret', obj(from.secretRef)?.name);
    }
    for (const env of list(container.env)) {
      const valueFrom = obj(env.valueFrom);
      add('kubernetes/configMap', obj(valueFrom?.configMapKeyRef)?.name);
      add('kubernetes/secret', obj(valueFrom?.secretKeyRef)?.name);
    }
  }
  for (const volume of list(podSpec.volumes)) {
    add('kubernetes/configMap', obj(volume.configMap)?.name);
    add('kubernetes/secret', obj(volume.secret)?.secretName);
    for (const source of list(obj(volume.projected)?.sources)) {
      add('kubernetes/configMap', obj(source.configMap)?.name);
      add('kubernetes/secret', obj(source.secret)?.name);
    }
  }
  return [...out.values()];
}
