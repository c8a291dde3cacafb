/**
 * `npm run bench -- ops`: the deploy round trip as Orca sees it — `POST /kubernetes/ops` with a
 * deployManifest until `GET /task/{id}` says completed — at 1, 10 and 50 operations in flight, with the
 * read-your-writes promise checked on every operation (at completion the hub's cache serves the deployed
 * object at the resourceVersion the write produced), where the time went by the hub's per-hop timestamps
 * (`GET /admin/operations`), and next to the floor of the Kubernetes write itself: the same manifest
 * applied directly against the sim from the benchmark process, as the agent applies it, at the same
 * concurrency, in the same run. See docs/performance.md ("ops").
 *
 * Every part is its own process: the sim (bench/support/sim-process.ts) and the real `scale-agent hub`
 * (SQLite by default; --database postgres|mysql on the test servers) and `scale-agent agent`. All bind
 * 127.0.0.1 on OS-chosen ports; all are stopped at the end, on error, on Ctrl-C and at --timeout-seconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { KubeClient } from '../src/kube/index.ts';
import { DEFAULT_FIELD_MANAGER } from '../src/agent/config.ts';
import { cpuMs, ownCpuMs } from './support/cpu.ts';
import { DATABASE_ENGINES, openBenchDatabase, startHubWithDatabase, type BenchDatabase, type DatabaseEngine } from './support/hub-database.ts';
import { clientFor } from './support/kube-lists.ts';
import { agentState, startAgent, writeAgentConfig } from './support/parts.ts';
import { poll, ProcessRegistry, REPO_ROOT, sleep, type BenchProcess } from './support/processes.ts';
import { environment, formatCount, formatRatio, renderMarkdown, renderText, writeResults, type Table } from './support/report.ts';
import type { SimProcessOptions } from './support/sim-process.ts';
import { nonNegativeInt, positiveInt } from './support/cli-args.ts';

type DeployKind = 'deployment' | 'configmap';

interface OpsFlags {
  concurrency: number[];
  operations: number;
  warmup: number;
  clusters: number;
  objects: number;
  kind: DeployKind;
  replicas: number;
  pollMs: number;
  database: DatabaseEngine;
  direct: boolean;
  opTimeoutSeconds: number;
  timeoutSeconds: number;
  out: string;
  keepTemp: boolean;
}

function concurrencyList(value: string): number[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) throw new InvalidArgumentError('must name at least one concurrency');
  return list.map((s) => {
    if (!/^\d+$/.test(s) || Number(s) === 0) throw new InvalidArgumentError(`"${s}" is not a positive integer`);
    return Number(s);
  });
}

export function registerOpsBenchmark(program: Command): void {
  program
    .command('ops')
    .description(
      'Deploy round trip (POST /kubernetes/ops → task completed, the cache verified at completion) p50/p90/p99 and ops/s at 1, 10 and 50 concurrent operations; where the time goes by hop; next to a direct apply against the sim',
    )
    .addOption(
      new Option('--concurrency <list>', 'operations in flight, comma-separated; one measured level each')
        .argParser(concurrencyList)
        .default([1, 10, 50], '1,10,50'),
    )
    .option('--operations <n>', 'deploys measured per concurrency level (and as many direct applies)', positiveInt, 1000)
    .option('--warmup <n>', 'untimed deploys (and direct applies) before the first level', nonNegativeInt, 20)
    .option('--clusters <n>', 'sim clusters, one agent account each; operations go round-robin over them', positiveInt, 3)
    .option('--objects <n>', 'background objects per cluster (Spinnaker-style applications) the agent watches beside the deploys', nonNegativeInt, 1000)
    .addOption(
      new Option(
        '--kind <kind>',
        "what each operation deploys: a new Deployment (the sim's controllers then add a ReplicaSet and pods) or a new ConfigMap (versioned: -v000)",
      )
        .choices(['deployment', 'configmap'])
        .default('deployment'),
    )
    .option('--replicas <n>', 'replicas of each deployed Deployment', nonNegativeInt, 1)
    .option('--poll-ms <ms>', 'pause between two GET /task/{id} of one operation (the hub has no long-poll)', nonNegativeInt, 5)
    .addOption(
      new Option('--database <engine>', "the hub's database: SQLite in a temporary file, or a new database on the PostgreSQL or MySQL/MariaDB test server")
        .choices([...DATABASE_ENGINES])
        .default('sqlite'),
    )
    .option('--no-direct', 'skip the direct-apply floor')
    .option('--op-timeout-seconds <s>', 'an operation not completed after this long counts as failed', positiveInt, 60)
    .option('--timeout-seconds <s>', 'stop everything and fail after this long', positiveInt, 900)
    .option('--out <dir>', 'directory for ops.json and ops.md', 'bench/results')
    .option('--keep-temp', 'keep the temporary directory (kubeconfigs, agent configuration, SQLite file)', false)
    .action(async (flags: OpsFlags) => {
      await runOpsBenchmark(flags);
    });
}

// ---- the workload ------------------------------------------------------------------------------------

const NAMESPACE = 'bench-ops';
const APP = 'opsbench';
/** The deploy whose applied manifest is the direct floor's template (its name is replaced per apply). */
const TEMPLATE_NAME = 'opsbench-template';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Pause after each measured phase, inside its CPU accounting: the controllers and the agent's stream finish what it started. */
const SETTLE_MS = 1000;
/** Concurrent GET /admin/operations after a level. */
const HOP_FETCH_CONCURRENCY = 8;

type Json = any;

/** What Orca adds to every description: the whole stage context. */
const STAGE_CONTEXT = {
  cloudProvider: 'kubernetes',
  type: 'deployManifest',
  name: 'Deploy (Manifest)',
  refId: '1',
  requisiteStageRefIds: [],
  skipExpressionEvaluation: false,
};

function manifestFor(kind: DeployKind, name: string, replicas: number): Json {
  if (kind === 'configmap') {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: NAMESPACE },
      data: { 'application.yaml': `server:\n  port: 8080\napp: ${name}\nfeatures:\n  audit: true\n`, LOG_LEVEL: 'info' },
    };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'main',
              image: 'registry.example.com/opsbench/web:1.0.0',
              ports: [{ containerPort: 8080 }],
              env: [{ name: 'MODE', value: 'bench' }],
              resources: { requests: { cpu: '100m', memory: '128Mi' } },
            },
          ],
        },
      },
    },
  };
}

/** An Orca-shaped deployManifest request for one manifest. */
function deployRequest(account: string, manifest: Json): Json[] {
  return [
    {
      deployManifest: {
        ...STAGE_CONTEXT,
        account,
        source: 'text',
        manifests: [manifest],
        moniker: { app: APP },
        enableTraffic: true,
        trafficManagement: { enabled: false, options: { enableTraffic: false, services: [], strategy: 'none' } },
        requiredArtifacts: [],
        optionalArtifacts: [],
      },
    },
  ];
}

/** The REST paths of a kind in the bench namespace. */
function kubePaths(kind: DeployKind): { collection: string; object: (name: string) => string } {
  const collection = kind === 'configmap' ? `/api/v1/namespaces/${NAMESPACE}/configmaps` : `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`;
  return { collection, object: (name) => `${collection}/${encodeURIComponent(name)}` };
}

// ---- measurement ---------------------------------------------------------------------------------------

interface Hops {
  /** Hub→agent operations the task made (1 for these deploys). */
  operations: number;
  receivedAt: number;
  routedAt: number | null;
  sentAt: number | null;
  executedAt: number | null;
  resultAt: number | null;
}

interface RoundTripSample {
  index: number;
  account: string;
  name: string;
  taskId?: string;
  /** Wall clock (ms since the epoch) just before the POST: comparable with the hub's hop timestamps. */
  postAt: number;
  /** POST until its answer (the task id), ms. */
  acceptedMs?: number;
  /** POST until a GET /task/{id} answered completed, ms. */
  roundTripMs?: number;
  /** Wall clock when completion was seen. */
  completedAt?: number;
  polls: number;
  failed: boolean;
  error?: string;
  /** The deployed object's name, kind-qualified (`deployment x`, `configMap x-v000`). */
  manifestName?: string;
  appliedResourceVersion?: string;
  /** What GET /manifests answered right after completion. */
  cachedResourceVersion?: string;
  cacheStatus?: number;
  /** The cache did not serve the write at completion: why. */
  violation?: string;
  /** The verification read, ms. */
  readMs?: number;
  hops?: Hops;
}

interface DirectSample {
  index: number;
  account: string;
  name: string;
  /** GET (404) + POST, ms. */
  applyMs?: number;
  failed: boolean;
  error?: string;
}

interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

function summarize(values: number[]): Summary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    mean: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN,
  };
}

/** Runs `count` jobs with at most `concurrency` in flight; returns results in index order and the wall time. */
async function pool<T>(count: number, concurrency: number, job: (index: number) => Promise<T>): Promise<{ results: T[]; wallMs: number }> {
  const results: T[] = new Array(count);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= count) return;
      results[index] = await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { results, wallMs: performance.now() - started };
}

function failureOf(task: Json): string {
  const exception = (task?.resultObjects ?? []).find((r: Json) => r?.type === 'EXCEPTION');
  if (exception !== undefined) return String(exception.message ?? '');
  return String(task?.history?.at(-1)?.status ?? task?.status?.status ?? 'failed');
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

class HubClient {
  constructor(readonly url: string) {}

  async json(path: string, init?: RequestInit): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${this.url}${path}`, init);
    const text = await response.text();
    let body: Json = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body };
  }
}

/** One deploy through the hub: POST, poll the task until completed, then read the deployed object from the cache. */
async function roundTrip(hub: HubClient, index: number, account: string, name: string, manifest: Json, flags: OpsFlags): Promise<RoundTripSample> {
  const sample: RoundTripSample = { index, account, name, postAt: Date.now(), polls: 0, failed: false };
  const started = performance.now();
  const fail = (error: string): RoundTripSample => Object.assign(sample, { failed: true, error });
  let id: string;
  try {
    const submitted = await hub.json('/kubernetes/ops', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(deployRequest(account, manifest)),
    });
    sample.acceptedMs = performance.now() - started;
    if (submitted.status !== 200 || typeof submitted.body?.id !== 'string')
      return fail(`POST /kubernetes/ops answered ${submitted.status}: ${JSON.stringify(submitted.body).slice(0, 300)}`);
    id = submitted.body.id;
    sample.taskId = id;
  } catch (err) {
    return fail(`POST /kubernetes/ops: ${errorText(err)}`);
  }
  const deadline = started + flags.opTimeoutSeconds * 1000;
  let task: Json;
  for (;;) {
    try {
      const r = await hub.json(`/task/${encodeURIComponent(id)}`);
      sample.polls++;
      if (r.status === 200 && r.body?.status?.completed === true) {
        task = r.body;
        break;
      }
    } catch (err) {
      if (performance.now() > deadline) return fail(`GET /task/${id}: ${errorText(err)}`);
    }
    if (performance.now() > deadline) return fail(`not completed after ${flags.opTimeoutSeconds} s`);
    if (flags.pollMs > 0) await sleep(flags.pollMs);
  }
  sample.roundTripMs = performance.now() - started;
  sample.completedAt = Date.now();
  if (task.status.failed === true) return fail(`task failed: ${failureOf(task)}`);

  // Read-your-writes: at completion the cache serves the object at (at least) the version written.
  const result = (task.resultObjects ?? []).find((r: Json) => r && r.type !== 'EXCEPTION');
  const applied = result?.manifests?.[0];
  const manifestName = (Object.values(result?.manifestNamesByNamespace ?? {}) as string[][]).flat()[0];
  if (!applied || typeof manifestName !== 'string')
    return fail(`the completed task has no deployed manifest: ${JSON.stringify(task.resultObjects).slice(0, 300)}`);
  sample.manifestName = manifestName;
  sample.appliedResourceVersion = String(applied.metadata?.resourceVersion ?? '');
  const readStarted = performance.now();
  try {
    const cached = await hub.json(`/manifests/${encodeURIComponent(account)}/${NAMESPACE}/${encodeURIComponent(manifestName)}?includeEvents=false`);
    sample.readMs = performance.now() - readStarted;
    sample.cacheStatus = cached.status;
    if (cached.status !== 200) {
      sample.violation = `GET /manifests answered ${cached.status}`;
    } else {
      const meta = cached.body?.manifest?.metadata ?? {};
      sample.cachedResourceVersion = String(meta.resourceVersion ?? '');
      if (meta.uid !== applied.metadata?.uid) sample.violation = `the cache holds another object (uid ${meta.uid}, written ${applied.metadata?.uid})`;
      else if (!(Number(sample.cachedResourceVersion) >= Number(sample.appliedResourceVersion))) {
        sample.violation = `the cache holds resourceVersion ${sample.cachedResourceVersion}, the write produced ${sample.appliedResourceVersion}`;
      }
    }
  } catch (err) {
    sample.violation = `GET /manifests: ${errorText(err)}`;
  }
  return sample;
}

/** The same manifest applied straight to the sim from this process, as the agent applies it: GET (404), then POST. */
async function directApply(client: KubeClient, kind: DeployKind, index: number, account: string, name: string, manifestJson: string): Promise<DirectSample> {
  const paths = kubePaths(kind);
  const sample: DirectSample = { index, account, name, failed: false };
  const started = performance.now();
  try {
    const manifest = JSON.parse(manifestJson) as Json;
    const objectName = String(manifest.metadata.name);
    // kubectl's client-side apply of a new object: the last-applied annotation holds the manifest itself.
    const desired = {
      ...manifest,
      metadata: { ...manifest.metadata, annotations: { ...(manifest.metadata.annotations ?? {}), [LAST_APPLIED]: manifestJson } },
    };
    const current = await client.request({ path: paths.object(objectName) });
    if (current.status !== 404) throw new Error(`GET answered ${current.status} for a new object`);
    const created = await client.request({ method: 'POST', path: paths.collection, body: desired, query: { fieldManager: DEFAULT_FIELD_MANAGER } });
    if (created.status >= 400) throw new Error(`POST answered ${created.status}: ${created.body.toString('utf8').slice(0, 300)}`);
    sample.applyMs = performance.now() - started;
  } catch (err) {
    sample.failed = true;
    sample.error = errorText(err);
  }
  return sample;
}

async function fetchHops(hub: HubClient, samples: RoundTripSample[]): Promise<number> {
  const withTask = samples.filter((s) => s.taskId !== undefined);
  let missing = 0;
  await pool(withTask.length, HOP_FETCH_CONCURRENCY, async (i) => {
    const sample = withTask[i]!;
    const r = await hub.json(`/admin/operations?taskId=${encodeURIComponent(sample.taskId!)}`);
    const ops = Array.isArray(r.body) ? (r.body as Json[]) : [];
    const apply = ops.filter((o) => o.type === 'apply');
    const main = apply.at(-1) ?? ops.at(-1);
    if (!main) {
      missing++;
      return;
    }
    const results = ops.map((o) => o.resultAt).filter((v): v is number => typeof v === 'number');
    sample.hops = {
      operations: ops.length,
      receivedAt: Math.min(...ops.map((o) => Number(o.receivedAt))),
      routedAt: main.routedAt ?? null,
      sentAt: main.sentAt ?? null,
      executedAt: main.executedAt ?? null,
      resultAt: results.length ? Math.max(...results) : null,
    };
  });
  return missing;
}

/** The segments of one operation, ms; null when a timestamp is missing. */
const SEGMENTS = [
  {
    key: 'postToReceived',
    label: 'POST → received',
    help: 'the hub parsed the request, stored the task, prepared the deploy (history lines written) and handed the apply to its router',
  },
  { key: 'receivedToRouted', label: 'received → routed', help: 'the router recorded the operation and chose the agent session' },
  { key: 'routedToSent', label: 'routed → sent', help: "encoded and written to the agent's gRPC stream" },
  {
    key: 'sentToExecuted',
    label: 'sent → executed',
    help: "to the agent, and its Kubernetes write (GET, then POST) — executedAt is the agent's clock, same machine",
  },
  {
    key: 'executedToResult',
    label: 'executed → result',
    help: "the agent waited until the hub's cache held the write (watch event → batch → hub commit → acknowledgement), then answered",
  },
  {
    key: 'resultToCompleted',
    label: 'result → completion seen',
    help: "the hub wrote the result and the task's end; the next GET /task/{id} saw it (poll interval included)",
  },
] as const;
type SegmentKey = (typeof SEGMENTS)[number]['key'];

function segmentsOf(s: RoundTripSample): Record<SegmentKey, number | null> {
  const h = s.hops;
  const d = (from: number | null | undefined, to: number | null | undefined) =>
    from === null || from === undefined || to === null || to === undefined ? null : to - from;
  return {
    postToReceived: d(s.postAt, h?.receivedAt),
    receivedToRouted: d(h?.receivedAt, h?.routedAt),
    routedToSent: d(h?.routedAt, h?.sentAt),
    sentToExecuted: d(h?.sentAt, h?.executedAt),
    executedToResult: d(h?.executedAt, h?.resultAt),
    resultToCompleted: d(h?.resultAt, s.completedAt),
  };
}

interface CpuReading {
  hub: number;
  agent: number;
  sim: number;
  bench: number;
}

function readCpu(parts: { hub: BenchProcess; agent: BenchProcess; sim: BenchProcess }): CpuReading {
  return { hub: cpuMs(parts.hub.pid), agent: cpuMs(parts.agent.pid), sim: cpuMs(parts.sim.pid), bench: ownCpuMs() };
}

function cpuDelta(before: CpuReading, after: CpuReading): CpuReading {
  return { hub: after.hub - before.hub, agent: after.agent - before.agent, sim: after.sim - before.sim, bench: after.bench - before.bench };
}

interface LevelResult {
  concurrency: number;
  loadAverageAtStart: number[];
  roundTrip: {
    samples: RoundTripSample[];
    wallMs: number;
    succeeded: number;
    failed: number;
    opsPerSecond: number;
    latencyMs: Summary;
    acceptedMs: Summary;
    readMs: Summary;
    pollsPerOperation: number;
    pollsPerSecond: number;
    violations: number;
    hopsMissing: number;
    segmentsMedianMs: Record<SegmentKey, number>;
    hubOperationsPerTask: number;
    cpuMsPerOperation: CpuReading;
  };
  direct?: {
    samples: DirectSample[];
    wallMs: number;
    succeeded: number;
    failed: number;
    opsPerSecond: number;
    latencyMs: Summary;
    cpuMsPerOperation: CpuReading;
  };
  ratios: { p50: number; p90: number; p99: number; throughput: number };
  errors: Record<string, number>;
}

const log = (startedAt: number, message: string) =>
  process.stderr.write(`[ops ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);

/** Counts of distinct messages (numbers blanked so that one cause is one line). */
function tally(messages: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of messages) {
    const key = m.replace(/\d+/g, 'N').slice(0, 300);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

export async function runOpsBenchmark(flags: OpsFlags): Promise<void> {
  const t0 = performance.now();
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const deadline = t0 + flags.timeoutSeconds * 1000;
  const remaining = () => Math.max(1000, deadline - performance.now());
  const say = (message: string) => log(t0, message);
  const registry = new ProcessRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'scale-agent-bench-ops-'));
  let database: BenchDatabase | undefined;
  const clients = new Map<string, KubeClient>();
  const guard = setTimeout(() => {
    process.stderr.write(`ops: gave up after --timeout-seconds ${flags.timeoutSeconds}; stopping every process\n`);
    registry.killAllNow();
    if (!flags.keepTemp) rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  }, flags.timeoutSeconds * 1000);
  guard.unref();
  const onSignal = () => {
    registry.killAllNow();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const clusterNames = Array.from({ length: flags.clusters }, (_, i) => `ops-${i + 1}`);
    const kubeconfigDir = join(dir, 'kubeconfigs');
    const kubeconfig = (name: string) => join(kubeconfigDir, `${name}.yaml`);

    // --- the sim, with a background workload and the bench namespace ---------------------------------------
    say(`starting the sim: ${flags.clusters} clusters of ~${formatCount(flags.objects)} background objects`);
    const simOptions: SimProcessOptions = { loadClusters: clusterNames, idleClusters: [], objectsPerCluster: flags.objects, replicas: 1, kubeconfigDir };
    const sim = registry.spawnTs('sim', 'bench/support/sim-process.ts', [JSON.stringify(simOptions)], { stdin: true });
    const simReady = await sim.waitForJson<{ seedMs: number; clusters: Record<string, { objects: number }> }>(
      (r) => r.type === 'ready',
      remaining(),
      'the sim to start and seed the workload',
    );
    const backgroundObjects = Object.values(simReady.clusters).reduce((sum, c) => sum + c.objects, 0);
    for (const name of clusterNames) {
      const client = await clientFor(kubeconfig(name));
      clients.set(name, client);
      const created = await client.request({
        method: 'POST',
        path: '/api/v1/namespaces',
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
      });
      if (created.status >= 400)
        throw new Error(`creating namespace ${NAMESPACE} in ${name}: HTTP ${created.status} ${created.body.toString('utf8').slice(0, 200)}`);
    }
    say(`sim ready: ${formatCount(backgroundObjects)} objects (seeded in ${(simReady.seedMs / 1000).toFixed(1)} s)`);

    // --- the hub and the agent --------------------------------------------------------------------------
    database = await openBenchDatabase(flags.database, dir);
    say(`starting the hub on ${database.redacted} and the agent with ${flags.clusters} accounts`);
    const hubRun = await startHubWithDatabase(registry, { databaseUrl: database.url, configDir: dir, timeoutMs: remaining() });
    const hub = new HubClient(`http://127.0.0.1:${hubRun.restPort}`);
    const configPath = join(dir, 'agent.yaml');
    writeAgentConfig(configPath, {
      hubGrpcPort: hubRun.grpcPort,
      accounts: clusterNames.map((name) => ({ name, kubeconfigFile: kubeconfig(name) })),
      kinds: [],
    });
    const agent = await startAgent(registry, configPath, remaining());
    const alive = () => {
      for (const p of [sim, hubRun.process, agent.process]) p.assertRunning();
    };
    await poll(
      async () => {
        const [credentials, state] = await Promise.all([hub.json('/credentials'), agentState(agent.adminUrl)]);
        const connected = Array.isArray(credentials.body) ? credentials.body.filter((a: Json) => a?.agent?.status === 'connected').length : 0;
        return (
          connected === flags.clusters &&
          state.cachingAccounts === flags.clusters &&
          state.feeds > 0 &&
          state.watching === state.feeds &&
          state.pending === 0 &&
          state.unackedBatches === 0
        );
      },
      { timeoutMs: remaining(), intervalMs: 200, what: 'the agent to sync every account and the hub to list them', alive },
    );
    const parts = { hub: hubRun.process, agent: agent.process, sim };
    say('hub and agent ready');

    const account = (index: number) => clusterNames[index % clusterNames.length]!;
    const run = (tag: string, index: number) => `${APP}-${tag}-${index}`;

    // --- the template of the direct floor: the manifest the agent applied for one deploy -------------------
    const template = await roundTrip(hub, 0, account(0), TEMPLATE_NAME, manifestFor(flags.kind, TEMPLATE_NAME, flags.replicas), flags);
    if (template.failed) throw new Error(`the first deploy failed: ${template.error}`);
    // The cache never holds the last-applied annotation (the agent drops it): read the object from the sim.
    const templateObjectName = template.manifestName!.slice(template.manifestName!.indexOf(' ') + 1);
    const templateLive = await clients.get(account(0))!.request({ path: kubePaths(flags.kind).object(templateObjectName) });
    const templateObject = templateLive.status === 200 ? (JSON.parse(templateLive.body.toString('utf8')) as Json) : undefined;
    const templateApplied = templateObject?.metadata?.annotations?.[LAST_APPLIED] as string | undefined;
    if (typeof templateApplied !== 'string')
      throw new Error(`the deployed ${template.manifestName} carries no ${LAST_APPLIED} annotation to take the applied manifest from`);
    const directManifest = (name: string) => templateApplied.split(TEMPLATE_NAME).join(name);
    const manifestBytes = Buffer.byteLength(templateApplied);
    say(`deploy template: ${template.manifestName}, ${formatCount(template.roundTripMs!)} ms; the agent applied ${manifestBytes} bytes of manifest`);

    // --- warm-up --------------------------------------------------------------------------------------------
    if (flags.warmup > 0) {
      say(`warm-up: ${flags.warmup} deploys${flags.direct ? ' and direct applies' : ''}, untimed`);
      const warm = await pool(flags.warmup, Math.min(5, flags.warmup), (i) =>
        roundTrip(hub, i, account(i), run('warm', i), manifestFor(flags.kind, run('warm', i), flags.replicas), flags),
      );
      const warmFailed = warm.results.filter((s) => s.failed);
      if (warmFailed.length > 0) say(`warm-up: ${warmFailed.length} deploys failed, e.g. ${warmFailed[0]!.error}`);
      if (flags.direct)
        await pool(flags.warmup, Math.min(5, flags.warmup), (i) =>
          directApply(clients.get(account(i))!, flags.kind, i, account(i), run('dwarm', i), directManifest(run('dwarm', i))),
        );
    }

    // --- measured levels ------------------------------------------------------------------------------------
    const levels: LevelResult[] = [];
    for (const concurrency of flags.concurrency) {
      alive();
      const levelLoad = loadavg();
      let direct: LevelResult['direct'];
      if (flags.direct) {
        say(`concurrency ${concurrency}: ${flags.operations} direct applies against the sim`);
        const before = readCpu(parts);
        const d = await pool(flags.operations, concurrency, (i) =>
          directApply(clients.get(account(i))!, flags.kind, i, account(i), run(`d${concurrency}`, i), directManifest(run(`d${concurrency}`, i))),
        );
        // The settle lets the controllers and the agent's stream finish what the applies started (counted
        // in the CPU figures), before the deploys are measured.
        await sleep(SETTLE_MS);
        const cpu = cpuDelta(before, readCpu(parts));
        const ok = d.results.filter((s) => !s.failed);
        direct = {
          samples: d.results,
          wallMs: d.wallMs,
          succeeded: ok.length,
          failed: d.results.length - ok.length,
          opsPerSecond: ok.length / (d.wallMs / 1000),
          latencyMs: summarize(ok.map((s) => s.applyMs!)),
          cpuMsPerOperation: {
            hub: cpu.hub / flags.operations,
            agent: cpu.agent / flags.operations,
            sim: cpu.sim / flags.operations,
            bench: cpu.bench / flags.operations,
          },
        };
        say(
          `concurrency ${concurrency}: direct p50 ${direct.latencyMs.p50.toFixed(1)} ms, p99 ${direct.latencyMs.p99.toFixed(1)} ms, ${direct.opsPerSecond.toFixed(0)}/s, ${direct.failed} failed`,
        );
      }

      say(`concurrency ${concurrency}: ${flags.operations} deploys through the hub`);
      const before = readCpu(parts);
      const r = await pool(flags.operations, concurrency, (i) =>
        roundTrip(hub, i, account(i), run(`c${concurrency}`, i), manifestFor(flags.kind, run(`c${concurrency}`, i), flags.replicas), flags),
      );
      await sleep(SETTLE_MS);
      const cpu = cpuDelta(before, readCpu(parts));
      const hopsMissing = await fetchHops(hub, r.results);
      const ok = r.results.filter((s) => !s.failed);
      const violations = ok.filter((s) => s.violation !== undefined).length;
      const latency = summarize(ok.map((s) => s.roundTripMs!));
      const segmentsMedianMs = {} as Record<SegmentKey, number>;
      const segmented = ok.map(segmentsOf);
      for (const { key } of SEGMENTS) segmentsMedianMs[key] = summarize(segmented.map((s) => s[key]).filter((v): v is number => v !== null)).p50;
      const polls = ok.reduce((sum, s) => sum + s.polls, 0);
      const roundTripResult: LevelResult['roundTrip'] = {
        samples: r.results,
        wallMs: r.wallMs,
        succeeded: ok.length,
        failed: r.results.length - ok.length,
        opsPerSecond: ok.length / (r.wallMs / 1000),
        latencyMs: latency,
        acceptedMs: summarize(ok.map((s) => s.acceptedMs!)),
        readMs: summarize(ok.map((s) => s.readMs ?? NaN)),
        pollsPerOperation: ok.length ? polls / ok.length : NaN,
        pollsPerSecond: r.results.reduce((sum, s) => sum + s.polls, 0) / (r.wallMs / 1000),
        violations,
        hopsMissing,
        segmentsMedianMs,
        hubOperationsPerTask: summarize(ok.map((s) => s.hops?.operations ?? NaN)).p50,
        cpuMsPerOperation: {
          hub: cpu.hub / flags.operations,
          agent: cpu.agent / flags.operations,
          sim: cpu.sim / flags.operations,
          bench: cpu.bench / flags.operations,
        },
      };
      const ratio = (a: number, b: number | undefined) => (b === undefined ? NaN : a / b);
      const level: LevelResult = {
        concurrency,
        loadAverageAtStart: levelLoad,
        roundTrip: roundTripResult,
        ...(direct ? { direct } : {}),
        ratios: {
          p50: ratio(latency.p50, direct?.latencyMs.p50),
          p90: ratio(latency.p90, direct?.latencyMs.p90),
          p99: ratio(latency.p99, direct?.latencyMs.p99),
          throughput: ratio(roundTripResult.opsPerSecond, direct?.opsPerSecond),
        },
        errors: tally([
          ...r.results.flatMap((s) => (s.error ? [s.error] : [])),
          ...(direct?.samples ?? []).flatMap((s) => (s.error ? [`direct: ${s.error}`] : [])),
          ...ok.flatMap((s) => (s.violation ? [`read-your-writes: ${s.violation}`] : [])),
        ]),
      };
      levels.push(level);
      say(
        `concurrency ${concurrency}: p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, ${roundTripResult.opsPerSecond.toFixed(1)} ops/s, ${roundTripResult.failed} failed, ${violations} read-your-writes violations`,
      );
      for (const [message, count] of Object.entries(level.errors).slice(0, 5)) say(`  ${count}× ${message}`);
    }
    const loadAtEnd = loadavg();

    // --- report ---------------------------------------------------------------------------------------------
    const env = { ...environment(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd };
    const tables = buildTables(flags, levels, { manifestBytes, backgroundObjects, engine: database.engine });
    const heading =
      `Ops benchmark, ${startedAt.toISOString()}: deployManifest of one new ${flags.kind === 'configmap' ? 'ConfigMap' : `Deployment (${flags.replicas} replica${flags.replicas === 1 ? '' : 's'})`} per operation, ` +
      `${flags.operations} per level over ${flags.clusters} accounts (${formatCount(backgroundObjects)} background objects), hub on ${flags.database}; ` +
      `node ${process.version}, ${env.cpus} CPUs (${env.cpuModel ?? 'unknown'}); load average ${loadAtStart[0]!.toFixed(2)} at the start, ${loadAtEnd[0]!.toFixed(2)} at the end`;
    process.stdout.write('\n' + heading + '\n\n' + tables.map(renderText).join('\n\n') + '\n\n');
    const command = `npm run bench -- ops ${process.argv.slice(3).join(' ')}`.trim();
    const markdown = ['# Ops benchmark', '', heading, '', `Command: \`${command}\``, '', ...tables.flatMap((t) => [renderMarkdown(t), ''])].join('\n');
    const result = {
      benchmark: 'ops',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round((performance.now() - t0) / 100) / 10,
      command,
      environment: env,
      options: flags,
      setup: {
        clusters: clusterNames,
        namespace: NAMESPACE,
        backgroundObjects,
        simSeedMs: simReady.seedMs,
        database: database.redacted,
        appliedManifestBytes: manifestBytes,
        template: { name: template.manifestName, roundTripMs: template.roundTripMs },
      },
      levels,
    };
    const paths = writeResults(resolve(REPO_ROOT, flags.out), 'ops', result, markdown);
    say(`wrote ${paths.json} and ${paths.markdown}`);
    const failures = levels.reduce((sum, l) => sum + l.roundTrip.failed, 0);
    const violations = levels.reduce((sum, l) => sum + l.roundTrip.violations, 0);
    if (failures > 0 || violations > 0) {
      process.stderr.write(`ops: ${failures} failed operations, ${violations} read-your-writes violations (see the tables)\n`);
      process.exitCode = 1;
    }
  } finally {
    clearTimeout(guard);
    for (const client of clients.values()) await client.close().catch(() => {});
    await registry.stopAll();
    registry.dispose();
    await database?.cleanup().catch((err) => say(`dropping the benchmark database: ${errorText(err)}`));
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (flags.keepTemp) say(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) : 'n/a');
/** Hop medians come from 1 ms timestamps: whole numbers print as such. */
const hopMs = (v: number) => (Number.isFinite(v) ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : 'n/a');
const rate = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : 'n/a');

function buildTables(flags: OpsFlags, levels: LevelResult[], info: { manifestBytes: number; backgroundObjects: number; engine: DatabaseEngine }): Table[] {
  const roundTrip: Table = {
    title: `Deploy round trip: POST /kubernetes/ops → GET /task/{id} completed, ms (hub on ${info.engine})`,
    header: ['concurrency', 'ops', 'failed', 'p50', 'p90', 'p99', 'max', 'ops/s', 'read-your-writes violations', 'POST answered p50', 'load avg'],
    rows: levels.map((l) => {
      const r = l.roundTrip;
      return [
        String(l.concurrency),
        formatCount(r.succeeded + r.failed),
        formatCount(r.failed),
        ms(r.latencyMs.p50),
        ms(r.latencyMs.p90),
        ms(r.latencyMs.p99),
        ms(r.latencyMs.max),
        rate(r.opsPerSecond),
        formatCount(r.violations),
        ms(r.acceptedMs.p50),
        l.loadAverageAtStart[0]!.toFixed(2),
      ];
    }),
    notes: [
      `Each operation deploys a new ${flags.kind === 'configmap' ? 'ConfigMap (versioned: -v000; unique name' : 'Deployment (unique name'}, moniker app ${APP}) into namespace ${NAMESPACE} of one of ${flags.clusters} accounts, round-robin; the agent applied ${formatCount(info.manifestBytes)} bytes of manifest per deploy. The levels run in the order given, each after the last, so later levels find more objects in the sim and the cache.`,
      `Completion is polled with GET /task/{id} every ${flags.pollMs} ms per operation (the hub has no long-poll): ${levels.map((l) => `${rate(l.roundTrip.pollsPerSecond)} polls/s at ${l.concurrency}`).join(', ')} — load on the hub that Orca (polling every few seconds) does not add.`,
      'read-your-writes: right after completion, GET /manifests/{account}/{ns}/{kind name}?includeEvents=false must serve the deployed uid at a resourceVersion ≥ the one the write returned; a violation is any other answer.',
      `ops/s = completed operations ÷ the level's wall time; p-values are nearest-rank over the completed operations; load avg = the 1-minute load average when the level started, on ${environment().cpus} CPUs shared by the sim, the hub, the agent and this process.`,
    ],
  };
  const floorRows = levels.filter((l) => l.direct !== undefined);
  const floor: Table | undefined = floorRows.length
    ? {
        title: 'Next to the floor: the same manifest applied directly against the sim from the benchmark process, ms',
        header: ['concurrency', 'direct p50', 'direct p90', 'direct p99', 'direct ops/s', 'round trip ÷ direct, p50', 'p90', 'p99', 'ops/s'],
        rows: floorRows.map((l) => {
          const d = l.direct!;
          return [
            String(l.concurrency),
            ms(d.latencyMs.p50),
            ms(d.latencyMs.p90),
            ms(d.latencyMs.p99),
            rate(d.opsPerSecond),
            formatRatio(l.ratios.p50),
            formatRatio(l.ratios.p90),
            formatRatio(l.ratios.p99),
            formatRatio(l.ratios.throughput),
          ];
        }),
        notes: [
          "direct = what the agent does for a new object under client-side apply — GET (404), then POST with the last-applied annotation — over the project's HTTP/2 Kubernetes client, with the exact manifest the agent applied (another name), at the same concurrency, just before the level's deploys.",
          "The agent watches these objects too, so the sim's controllers and the agent's stream run during both measurements.",
          `direct failures: ${floorRows.map((l) => `${l.direct!.failed} at ${l.concurrency}`).join(', ')}.`,
        ],
      }
    : undefined;
  const hops: Table = {
    title: 'Where the time goes: medians per hop, ms (GET /admin/operations timestamps; POST and completion seen by the benchmark)',
    header: ['concurrency', ...SEGMENTS.map((s) => s.label), 'round trip p50', 'verify read p50', 'polls per op'],
    rows: levels.map((l) => [
      String(l.concurrency),
      ...SEGMENTS.map((s) => hopMs(l.roundTrip.segmentsMedianMs[s.key])),
      ms(l.roundTrip.latencyMs.p50),
      ms(l.roundTrip.readMs.p50),
      rate(l.roundTrip.pollsPerOperation),
    ]),
    notes: [
      ...SEGMENTS.map((s) => `${s.label}: ${s.help}.`),
      'Medians of each hop separately: they need not add up to the median round trip. Wall-clock timestamps of three processes on one machine, 1 ms resolution.',
      `hub operations per task (median): ${levels.map((l) => `${rate(l.roundTrip.hubOperationsPerTask)} at ${l.concurrency}`).join(', ')}; tasks without hop records: ${levels.map((l) => l.roundTrip.hopsMissing).join(', ')}.`,
    ],
  };
  const cpu: Table = {
    title: 'CPU per operation, ms (user + system, from /proc; all processes share the machine)',
    header: ['concurrency', 'deploys: hub', 'agent', 'sim', 'benchmark', 'all', 'direct: hub', 'agent', 'sim', 'benchmark', 'all'],
    rows: levels.map((l) => {
      const all = (c: CpuReading) => c.hub + c.agent + c.sim + c.bench;
      const c = l.roundTrip.cpuMsPerOperation;
      const d = l.direct?.cpuMsPerOperation;
      return [
        String(l.concurrency),
        ms(c.hub),
        ms(c.agent),
        ms(c.sim),
        ms(c.bench),
        ms(all(c)),
        ...(d ? [ms(d.hub), ms(d.agent), ms(d.sim), ms(d.bench), ms(all(d))] : ['', '', '', '', '']),
      ];
    }),
    notes: [
      `CPU time each process used from the start of the phase until ${SETTLE_MS} ms after its last operation (the controllers' and the agent's follow-up work included) ÷ the phase's operations. The deploys include the benchmark's task polling (hub and benchmark columns); during the direct applies the agent and the hub stream and store what the sim's watches report.`,
    ],
  };
  return [roundTrip, ...(floor ? [floor] : []), hops, cpu];
}
