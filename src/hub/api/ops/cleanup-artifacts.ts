import type { KubeObject } from '../../../common/kube-object.ts';
import { splitApiVersion } from '../../../common/kube-object.ts';
import type { ObjectKey } from '../../../common/object-key.ts';
import { fullResourceName, resolveKind } from '../../store/kind-names.ts';
import type { AccountRecord } from '../../store/types.ts';
import { Cluster } from './cluster.ts';
import { StrategyAnnotations } from './deploy-manifest.ts';
import { at, accountOf, expectObject, optionalArray } from './fields.ts';
import type { OpContext, OpHandler, ParsedOp, PreparedOp } from './op-handler.ts';
import { namespacedKind } from './scope.ts';
import { ArtifactAnnotations, formatVersion, priorVersions } from './versioning.ts';

/**
 * cleanupArtifacts, which Orca runs after a deploy with the manifests it deployed: for each manifest
 * annotated `strategy.spinnaker.io/max-version-history: N`, list the versions of the same artifact
 * (kind, name, namespace — read live, as deletion deserves) and delete all but the newest N, oldest
 * first by creation time. The result names what was deleted; like Clouddriver's it has no `manifests`.
 */
const PHASE = 'CLEANUP_KUBERNETES_ARTIFACTS';

interface CleanupDescription {
  account: string;
  manifests: KubeObject[];
}

interface Doomed extends ObjectKey {
  /** Where the result reports it: the artifact's location. */
  location: string;
}

export function parseCleanupDescription(raw: unknown, path: string): CleanupDescription {
  const source = expectObject(raw, path);
  const account = accountOf(source, path);
  const manifests = (optionalArray(source, 'manifests', path) ?? []).flatMap((m, i) =>
    m === null || m === undefined ? [] : [expectObject(m, at(at(path, 'manifests'), i), 'a manifest object') as KubeObject],
  );
  return { account, manifests };
}

function maxHistory(manifest: KubeObject): number | undefined {
  const value = manifest.metadata?.annotations?.[StrategyAnnotations.maxVersionHistory]?.trim();
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

async function toDelete(cluster: Cluster, account: AccountRecord, manifest: KubeObject, status: (m: string) => Promise<void>): Promise<Doomed[]> {
  const keep = maxHistory(manifest);
  if (keep === undefined) return [];
  const annotations = manifest.metadata?.annotations ?? {};
  const type = annotations[ArtifactAnnotations.type];
  const name = annotations[ArtifactAnnotations.name];
  if (!type || !name) return [];
  if (!type.startsWith('kubernetes/')) return [];
  const location = annotations[ArtifactAnnotations.location] ?? '';
  const gk =
    typeof manifest.apiVersion === 'string' && typeof manifest.kind === 'string'
      ? { group: splitApiVersion(manifest.apiVersion).group, kind: manifest.kind }
      : resolveKind(type.slice('kubernetes/'.length), account.kinds);
  if (!gk) return [];
  const namespace = namespacedKind(account, gk.group, gk.kind) ? location : '';
  const versions = priorVersions(await cluster.list({ group: gk.group, version: '', kind: gk.kind, namespace }), name);
  if (keep >= versions.length) return [];
  const doomed = versions.slice(0, versions.length - keep);
  await status(
    `Keeping the newest ${keep} of ${versions.length} versions of ${fullResourceName(gk.group, gk.kind, name)}; deleting ${doomed.map((v) => formatVersion(v.version)).join(', ')}`,
  );
  return doomed.map((v) => ({ group: gk.group, kind: gk.kind, namespace, location, name: v.name || `${name}-${formatVersion(v.version)}` }));
}

async function runCleanup(account: AccountRecord, d: CleanupDescription, ctx: OpContext): Promise<unknown> {
  const status = (message: string) => ctx.status(PHASE, message);
  const cluster = new Cluster(ctx, account);
  const manifestNamesByNamespace: Record<string, string[]> = {};
  const doomed: Doomed[] = [];
  for (const manifest of d.manifests) doomed.push(...(await toDelete(cluster, account, manifest, status)));
  for (const item of doomed) {
    const full = fullResourceName(item.group, item.kind, item.name);
    await status(`Deleting artifact '${full}' in ${item.location || 'the cluster'}`);
    const deleted = await cluster.delete({ group: item.group, version: '', kind: item.kind, namespace: item.namespace, name: item.name }, {});
    const names = (manifestNamesByNamespace[item.location] ??= []);
    for (const n of deleted) {
      const name = fullResourceName(item.group, item.kind, n);
      if (!names.includes(name)) names.push(name);
    }
  }
  if (doomed.length === 0) await status('Nothing to clean up');
  return { manifestNamesByNamespace, createdArtifacts: [], boundArtifacts: [] };
}

export const cleanupArtifactsOp: OpHandler = {
  name: 'cleanupArtifacts',
  operationClass: 'KubernetesCleanupArtifactsOperation',
  phase: PHASE,
  parse(raw: unknown, path: string): ParsedOp {
    const description = parseCleanupDescription(raw, path);
    return {
      account: description.account,
      idempotent: true,
      prepare(account: AccountRecord): PreparedOp {
        return { run: (ctx) => runCleanup(account, description, ctx) };
      },
    };
  },
};
