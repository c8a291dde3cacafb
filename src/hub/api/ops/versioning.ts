import { createHash } from 'node:crypto';
import type { KubeObject } from '../../../common/kube-object.ts';
import { isObject } from './fields.ts';

/**
 * Versioned deploys (`name-v003`), decided as Clouddriver's ResourceVersioner does: among the objects
 * of the same kind in the namespace that carry Spinnaker's artifact annotations for the same name, reuse
 * the version of one whose applied content equals the new manifest (metadata ignored), otherwise take
 * the highest version plus one (the first is v000).
 *
 * Clouddriver compares with the `last-applied-configuration` annotation, which the agent does not cache
 * (it holds the whole manifest, Secret values included). Instead a deploy records a SHA-256 of what it
 * applied, metadata left out, in CONTENT_HASH_ANNOTATION, and the next deploy compares hashes. Secrets
 * get no hash (a hash of a low-entropy value can be guessed), so a Secret is never reused: every deploy
 * of one makes a new version.
 */
export const ArtifactAnnotations = {
  type: 'artifact.spinnaker.io/type',
  name: 'artifact.spinnaker.io/name',
  location: 'artifact.spinnaker.io/location',
  version: 'artifact.spinnaker.io/version',
} as const;

export const CONTENT_HASH_ANNOTATION = 'artifact.scale-agent.io/content-sha256';

/** "v003" → 3; undefined for anything else. */
export function parseVersion(version: string | undefined): number | undefined {
  if (version === undefined || !/^v\d+$/.test(version)) return undefined;
  const n = Number(version.slice(1));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export function formatVersion(version: number): string {
  return `v${String(version).padStart(3, '0')}`;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = canonical(value[key]);
  return out;
}

/** SHA-256 of the manifest without its metadata, keys sorted (Clouddriver's nonMetadataEquals, as a hash). */
export function contentHash(manifest: KubeObject): string {
  const { metadata: _metadata, ...rest } = manifest;
  return createHash('sha256')
    .update(JSON.stringify(canonical(rest)))
    .digest('hex');
}

/** Whether a kind may carry a content hash (never Secrets: see above). */
export function hashable(kind: string): boolean {
  return kind !== 'Secret';
}

export interface PriorVersion {
  version: number;
  hash?: string;
  /** The object's name (`cfg-v002`). */
  name: string;
  creationTimestamp: string;
}

/** The earlier versions of `name` among objects of its kind and namespace, oldest first. */
export function priorVersions(objects: readonly KubeObject[], name: string): PriorVersion[] {
  const out: PriorVersion[] = [];
  for (const o of objects) {
    const annotations = o.metadata?.annotations ?? {};
    if (!annotations[ArtifactAnnotations.type] || annotations[ArtifactAnnotations.name] !== name) continue;
    const version = parseVersion(annotations[ArtifactAnnotations.version]);
    if (version === undefined) continue;
    out.push({ version, hash: annotations[CONTENT_HASH_ANNOTATION], name: o.metadata?.name ?? '', creationTimestamp: o.metadata?.creationTimestamp ?? '' });
  }
  return out.sort((a, b) => (a.creationTimestamp < b.creationTimestamp ? -1 : a.creationTimestamp > b.creationTimestamp ? 1 : a.version - b.version));
}

export function latestVersion(prior: readonly PriorVersion[]): number | undefined {
  return prior.length === 0 ? undefined : Math.max(...prior.map((p) => p.version));
}

/** The version to deploy: an identical earlier one, else the next free one. */
export function chooseVersion(prior: readonly PriorVersion[], hash: string | undefined): { version: number; reused: boolean } {
  if (hash !== undefined) {
    const same = prior.find((p) => p.hash === hash);
    if (same) return { version: same.version, reused: true };
  }
  const latest = latestVersion(prior);
  return { version: latest === undefined ? 0 : latest + 1, reused: false };
}
