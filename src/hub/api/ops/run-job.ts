import type { AccountRecord } from '../../store/types.ts';
import { splitApiVersion } from '../../../common/kube-object.ts';
import { knownKind } from '../../store/kind-names.ts';
import { parseArtifacts } from './artifact-binding.ts';
import { deploy, parseDeployDescription, placeManifests, StrategyAnnotations, type DeployDescription, type PlacedManifest } from './deploy-manifest.ts';
import { at, expectObject, invalid, optionalArray, optionalString } from './fields.ts';
import type { OpContext, OpHandler, ParsedOp, PreparedOp } from './op-handler.ts';
import { invalidOperation } from './operation-failure.ts';

/**
 * runJob (Run Job (Manifest)), as Clouddriver's KubernetesRunJobOperation: the stage's single Job is
 * deployed with the recreate strategy (a Job is immutable; each run must make a new one) or created
 * when it has a `generateName`, in `namespace` when given, with the moniker `{app: application}`. The
 * result adds `deployedNamesByLocation`, which Orca copies to `deploy.jobs` and polls through the jobs
 * endpoint until the Job finishes.
 */
const PHASE = 'RUN_KUBERNETES_JOB';
const STRATEGY_KEYS = [StrategyAnnotations.recreate, StrategyAnnotations.replace, StrategyAnnotations.serverSideApply];

function parseRunJob(raw: unknown, path: string): DeployDescription {
  const source = expectObject(raw, path);
  // Orca sends the evaluated Job as `manifest`; a stage context may also carry it as the only entry of `manifests`.
  let manifestSource: Record<string, unknown> = source;
  if (source.manifest === undefined || source.manifest === null) {
    const manifests = (optionalArray(source, 'manifests', path) ?? []).filter((m) => m !== null && m !== undefined);
    if (manifests.length !== 1) invalid(at(path, 'manifest'), 'Run Job needs exactly one manifest: a Job');
    manifestSource = { ...source, manifest: manifests[0] };
  }
  const description = parseDeployDescription(
    { ...manifestSource, manifests: undefined, moniker: undefined, labelSelectors: undefined, services: undefined },
    path,
    'manifest',
  );
  const application = optionalString(source, 'application', path) ?? optionalString(source, 'app', path);
  const namespace = optionalString(source, 'namespace', path)?.trim();
  const manifest = description.manifests[0]!.manifest;
  if (namespace) manifest.metadata = { ...manifest.metadata, namespace };
  // Every strategy annotation gives way to recreate (Clouddriver's setDeploymentStrategy).
  const annotations = { ...(manifest.metadata?.annotations ?? {}) };
  for (const key of STRATEGY_KEYS) delete annotations[key];
  annotations[StrategyAnnotations.recreate] = 'true';
  manifest.metadata = { ...manifest.metadata, annotations };
  return {
    ...description,
    moniker: application ? { app: application } : {},
    requiredArtifacts: parseArtifacts(source, 'requiredArtifacts', path),
    optionalArtifacts: parseArtifacts(source, 'optionalArtifacts', path),
    namespaceOverride: undefined,
    enableTraffic: false,
    services: [],
    forceRecreate: true,
  };
}

async function runJob(description: DeployDescription, placed: PlacedManifest[], account: AccountRecord, ctx: OpContext): Promise<unknown> {
  await ctx.status(PHASE, 'Running Kubernetes job...');
  const manifest = description.manifests[0]!.manifest;
  const { group } = splitApiVersion(String(manifest.apiVersion));
  if (description.manifests.length !== 1 || knownKind(group, String(manifest.kind))?.kind !== 'Job')
    throw invalidOperation('Only kind of Job is accepted for the Run Job operation.');
  const result = await deploy(description, placed, account, ctx, PHASE);
  return { ...result, deployedNamesByLocation: Object.fromEntries(Object.entries(result.manifestNamesByNamespace).map(([ns, names]) => [ns, [...names]])) };
}

export const runJobOp: OpHandler = {
  name: 'runJob',
  operationClass: 'KubernetesRunJobOperation',
  phase: PHASE,
  parse(raw: unknown, path: string): ParsedOp {
    const description = parseRunJob(raw, path);
    return {
      account: description.account,
      // Running it again runs the Job again.
      idempotent: false,
      prepare(account: AccountRecord): PreparedOp {
        const placed = placeManifests(description, account, 'runKubernetesJob');
        return { run: (ctx) => runJob(description, placed, account, ctx) };
      },
    };
  },
};
