import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { waitFor } from '../../src/common/time.ts';
import { TASK_TIMEOUT_MS, PROPAGATION_TIMEOUT_MS, type Json } from './operations.ts';
import type { TestSystem } from './system.ts';

/**
 * Orca's Deploy (Manifest) stage as it talks to Clouddriver (here: the hub), task by task
 * (spinnaker/orca, orca-clouddriver/…/pipeline/manifest/DeployManifestStage.java taskGraph):
 *
 * 1. resolveDeploySourceManifest (ResolveDeploySourceManifestTask → ManifestEvaluator): for `source:
 *    artifact`, `PUT /artifacts/fetch/` of the bound manifest artifact (OortService.fetchArtifact), the
 *    body read as a YAML stream (SnakeYAML loadAll), null documents dropped, a list document flattened;
 *    requiredArtifacts are the stage's bound artifacts, optionalArtifacts every artifact of the pipeline.
 * 2. deployManifest (DeployManifestTask): the whole stage context with `source: text`, the resolved
 *    manifests and artifacts, and `enableTraffic: true` (traffic management off), sent as
 *    `[{deployManifest: {...}}]` to `POST /{cloudProvider}/ops?clientRequestId=…` (KatoRestService).
 * 3. monitorDeploy (MonitorKatoTask): `GET /task/{id}` until `status.failed` (TERMINAL) or
 *    `status.completed` with result objects (`kato.result.expected` is true for a deploy).
 * 4. promoteOutputs (PromoteManifestKatoOutputsTask): the first result object's manifests,
 *    manifestNamesByNamespace, boundArtifacts, createdArtifacts become `outputs.*`, and createdArtifacts
 *    the stage's `artifacts` (what later stages get as optionalArtifacts).
 * 5. waitForManifestToStabilize (WaitForManifestStableTask): for every name of
 *    outputs.manifestNamesByNamespace, `GET /manifests/{account}/{location}/{name}?includeEvents=false`
 *    until `status.failed.state` (TERMINAL) or `status.stable.state`.
 *
 * Orca's own waits (5 s between polls, retries of a failed fetch) are shortened; the requests and what
 * Orca reads from the answers are the same. Every request is recorded in `calls`, so a test can show
 * what was (not) sent.
 */

/** Kork's Artifact, as far as these stages use it. */
export interface Artifact {
  type: string;
  name?: string;
  reference?: string;
  version?: string;
  location?: string;
  artifactAccount?: string;
  metadata?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The stage context Deck writes for a Deploy (Manifest) stage (the keys Orca's DeployManifestContext reads). */
export interface DeployManifestStageContext {
  account: string;
  moniker: { app: string };
  source: 'artifact' | 'text';
  /** The manifest artifact, already bound to the pipeline's artifact (what ArtifactUtils.getBoundArtifactForStage answers). */
  manifestArtifact?: Artifact;
  manifestArtifactId?: string;
  manifests?: Json[];
  namespaceOverride?: string;
  /** Bound required artifacts (Orca resolves each `{expectedArtifactId, artifact}` to the pipeline's artifact). */
  requiredArtifacts?: Artifact[];
  skipExpressionEvaluation?: boolean;
}

/** What the stage put in its outputs (PromoteManifestKatoOutputsTask) and what it saw. */
export interface DeployManifestStageResult {
  taskId: string;
  task: Json;
  /** The request sent to POST /kubernetes/ops. */
  operations: Json[];
  outputs: {
    manifests?: Json[];
    manifestNamesByNamespace: Record<string, string[]>;
    boundArtifacts: Artifact[];
    createdArtifacts: Artifact[];
  };
  /** The stage's `artifacts` output: what the next stages see among the pipeline's artifacts. */
  artifacts: Artifact[];
  /** Each deployed manifest as GET /manifests/… answered once it was stable. */
  stableManifests: Json[];
}

/** A stage that ended TERMINAL, with the answer that ended it. */
export class StageTerminalError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export interface FetchedArtifact {
  status: number;
  contentType: string;
  bytes: Buffer;
}

/** Poll interval standing in for Orca's task back-off (5 s for the monitor and stable tasks). */
const POLL_INTERVAL_MS = 50;
const OK = 200;

/** What Orca's ManifestEvaluator asks of Clouddriver: `PUT /artifacts/fetch/` with the artifact as the body. */
export async function fetchArtifact(system: TestSystem, artifact: Artifact, calls?: string[]): Promise<FetchedArtifact> {
  calls?.push('PUT /artifacts/fetch/');
  const response = await fetch(`${system.restUrl}/artifacts/fetch/`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', accept: '*/*' },
    body: JSON.stringify(artifact),
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', bytes: Buffer.from(await response.arrayBuffer()) };
}

/** The documents of a YAML stream as SnakeYAML's loadAll gives them, nulls dropped and list documents flattened (ManifestEvaluator). */
export function manifestsOfYamlStream(text: string): Json[] {
  const out: Json[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`the manifest artifact is not YAML: ${document.errors[0]!.message}`);
    const value = document.toJS();
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) out.push(...value);
    else out.push(value);
  }
  return out;
}

function errorMessage(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8'));
    return String(parsed?.message ?? parsed?.error ?? body.toString('utf8'));
  } catch {
    return body.toString('utf8');
  }
}

/** Orca's clientRequestId: a hash of the stage and the operations, so a retried submission is the same request. */
function clientRequestId(stageId: string, operations: Json[]): string {
  return createHash('sha256')
    .update(`${stageId}-${JSON.stringify(operations)}`)
    .digest('hex');
}

/** The first result object's value for `key`, as PromoteManifestKatoOutputsTask picks it. */
function firstResult(task: Json, key: string): any {
  return (task.resultObjects ?? []).map((r: Json) => r?.[key]).find((v: unknown) => v !== undefined && v !== null);
}

/**
 * Runs one Deploy (Manifest) stage. `pipelineArtifacts` are the artifacts of the trigger and of earlier
 * stages (Orca sends them all as optionalArtifacts). A fetch or a task that fails ends the stage with
 * StageTerminalError before anything later is sent.
 */
export async function runDeployManifestStage(
  system: TestSystem,
  stageId: string,
  context: DeployManifestStageContext,
  pipelineArtifacts: Artifact[],
  calls: string[] = [],
): Promise<DeployManifestStageResult> {
  // resolveDeploySourceManifest
  let manifests = context.manifests ?? [];
  if (context.source === 'artifact') {
    const artifact = context.manifestArtifact;
    if (artifact?.artifactAccount === undefined) throw new StageTerminalError('No manifest artifact account was specified.', 0, undefined);
    const fetched = await fetchArtifact(system, artifact, calls);
    if (fetched.status !== OK) throw new StageTerminalError(errorMessage(fetched.bytes), fetched.status, fetched.bytes.toString('utf8'));
    manifests = manifestsOfYamlStream(fetched.bytes.toString('utf8'));
  }
  const requiredArtifacts = context.requiredArtifacts ?? [];

  // deployManifest: the whole context, resolved, as Orca sends it.
  const description = {
    type: 'deployManifest',
    name: 'Deploy (Manifest)',
    refId: stageId,
    requisiteStageRefIds: [],
    cloudProvider: 'kubernetes',
    trafficManagement: { enabled: false, options: { enableTraffic: false, services: [], strategy: 'none' } },
    ...context,
    source: 'text',
    manifests,
    requiredArtifacts,
    optionalArtifacts: pipelineArtifacts,
    enableTraffic: true,
  };
  const operations = [{ deployManifest: description }];
  calls.push('POST /kubernetes/ops');
  const submitted = await system.rest(`/kubernetes/ops?clientRequestId=${clientRequestId(stageId, operations)}`, { method: 'POST', body: operations });
  if (submitted.status !== OK)
    throw new StageTerminalError(String(submitted.body?.message ?? JSON.stringify(submitted.body)), submitted.status, submitted.body);
  const taskId = String(submitted.body.id);

  // monitorDeploy
  const task = await waitFor(
    async () => {
      calls.push('GET /task/{id}');
      const r = await system.rest(`/task/${encodeURIComponent(taskId)}`);
      if (r.status !== OK) return undefined;
      const { status } = r.body;
      if (status?.failed === true) return r.body;
      return status?.completed === true && (r.body.resultObjects ?? []).length > 0 ? r.body : undefined;
    },
    { timeoutMs: TASK_TIMEOUT_MS, intervalMs: POLL_INTERVAL_MS, what: `task ${taskId} to complete` },
  );
  if (task.status.failed === true) {
    const exception = (task.resultObjects ?? []).find((r: Json) => r?.type === 'EXCEPTION');
    throw new StageTerminalError(String(exception?.message ?? task.status.status), OK, task);
  }

  // promoteOutputs
  const outputs = {
    manifests: firstResult(task, 'manifests'),
    manifestNamesByNamespace: (firstResult(task, 'manifestNamesByNamespace') ?? {}) as Record<string, string[]>,
    boundArtifacts: (firstResult(task, 'boundArtifacts') ?? []) as Artifact[],
    createdArtifacts: (firstResult(task, 'createdArtifacts') ?? []) as Artifact[],
  };

  // waitForManifestToStabilize
  const stableManifests: Json[] = [];
  for (const [location, names] of Object.entries(outputs.manifestNamesByNamespace)) {
    for (const name of names) {
      const path = `/manifests/${encodeURIComponent(context.account)}/${encodeURIComponent(location)}/${encodeURIComponent(name)}?includeEvents=false`;
      const manifest = await waitFor(
        async () => {
          calls.push('GET /manifests/{account}/{location}/{name}');
          const r = await system.rest(path);
          if (r.status !== OK) return undefined;
          return r.body?.status?.failed?.state === true || r.body?.status?.stable?.state === true ? r.body : undefined;
        },
        { timeoutMs: PROPAGATION_TIMEOUT_MS, intervalMs: POLL_INTERVAL_MS, what: `'${name}' in '${location}' to stabilize` },
      );
      // Failed is read before stable, as Orca does.
      if (manifest.status.failed.state === true) throw new StageTerminalError(`'${name}' in '${location}': ${manifest.status.failed.message}`, OK, manifest);
      stableManifests.push(manifest);
    }
  }
  return { taskId, task, operations, outputs, artifacts: outputs.createdArtifacts, stableManifests };
}
