/**
 * `npm run bench -- views`: how fast the hub answers Deck's and Orca's application views (clusters,
 * server groups, load balancers, …) from its SQL cache, per engine and cache size.
 *
 * For each engine (SQLite in a temporary file; PostgreSQL and MySQL/MariaDB in temporary databases on
 * the test servers, see test/support/database-servers.ts) and each size (default 1k, 10k, 100k cached objects)
 * a fresh store is seeded through Store.applyBatch — the ingest path — with a realistic mix (namespaces,
 * Deployments with ReplicaSet histories and pods, StatefulSets, Services, Ingresses, NetworkPolicies,
 * ConfigMaps, Secrets) in which one application, "bigapp", has 1% of the objects' worth of server groups
 * (1,000 at 100k) spread over namespaces it shares with other applications. The views are then requested
 * through the real Fastify app (`inject`: routing, serialisation, no sockets): a few warm-up requests,
 * then --repetitions timed ones per view; p50 and p99 are reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { silentLogger } from '../src/common/logger.ts';
import { FakeRouter } from '../src/hub/api/testing/fake-router.ts';
import { buildApiServer } from '../src/hub/api/server.ts';
import { createStore } from '../src/hub/store/open-store.ts';
import type { SqlStore } from '../src/hub/store/sql-store.ts';
import type { FeedInfo, KindRecord, StoreChange } from '../src/hub/store/types.ts';
import { sql } from 'kysely';
import { mysqlServer, postgresServer, type Server } from '../test/support/database-servers.ts';
import { REPO_ROOT } from './support/processes.ts';
import { environment, formatCount, renderMarkdown, renderText, writeResults, type Table } from './support/report.ts';
import { nonNegativeInt, positiveInt } from './support/cli-args.ts';

type Engine = 'sqlite' | 'postgres' | 'mysql';
const ENGINES: readonly Engine[] = ['sqlite', 'postgres', 'mysql'];

interface ViewsFlags {
  sizes: number[];
  engines: Engine[];
  repetitions: number;
  warmup: number;
  out: string;
}

function sizeList(value: string): number[] {
  const sizes = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (sizes.length === 0) throw new InvalidArgumentError('must name at least one size');
  return sizes.map((s) => {
    const m = /^(\d+)(k?)$/.exec(s);
    if (!m || Number(m[1]) === 0) throw new InvalidArgumentError(`"${s}" is not a size (e.g. 1000, 10k)`);
    return Number(m[1]) * (m[2] === 'k' ? 1000 : 1);
  });
}

function engineList(value: string): Engine[] {
  const engines = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const e of engines) if (!(ENGINES as readonly string[]).includes(e)) throw new InvalidArgumentError(`unknown engine "${e}" (${ENGINES.join(', ')})`);
  if (engines.length === 0) throw new InvalidArgumentError('must name at least one engine');
  return engines as Engine[];
}

export function registerViewsBenchmark(program: Command): void {
  program
    .command('views')
    .description(
      'Application views (clusters, server groups, load balancers, …) through the REST API on SQLite, PostgreSQL and MySQL at 1k/10k/100k cached objects; one application with 1,000 server groups at 100k',
    )
    .addOption(
      new Option('--sizes <list>', 'cached objects per store, comma-separated (1000, 10k, …)')
        .argParser(sizeList)
        .default([1_000, 10_000, 100_000], '1k,10k,100k'),
    )
    .addOption(new Option('--engines <list>', 'engines, comma-separated').argParser(engineList).default([...ENGINES], ENGINES.join(',')))
    .option('--repetitions <n>', 'timed requests per view', positiveInt, 30)
    .option('--warmup <n>', 'untimed requests per view first', nonNegativeInt, 3)
    .option('--out <dir>', 'directory for views.json and views.md', 'bench/results')
    .action(async (flags: ViewsFlags) => {
      await runViewsBenchmark(flags);
    });
}

// ---- the workload ----

const ACCOUNT = 'bench';
const BIG_APP = 'bigapp';
/** The big application gets this share of the objects as server groups, capped at 1,000. */
const BIG_APP_SERVER_GROUP_SHARE = 0.01;
const BIG_APP_MAX_SERVER_GROUPS = 1000;
/** ReplicaSets each of its Deployments keeps (revisionHistoryLimit + the current one). */
const REPLICASETS_PER_DEPLOYMENT = 5;
const PODS_PER_CURRENT_REPLICASET = 2;
const OBJECTS_PER_NAMESPACE = 2000;
const BATCH_CHANGES = 1000;
const SEED_TIME = 1_700_000_000_000;

const feed = (group: string, version: string, kind: string, resource: string, namespaced = true): FeedInfo => ({
  group,
  version,
  kind,
  resource,
  namespace: '',
  namespaced,
});
const F = {
  namespace: feed('', 'v1', 'Namespace', 'namespaces', false),
  deployment: feed('apps', 'v1', 'Deployment', 'deployments'),
  replicaSet: feed('apps', 'v1', 'ReplicaSet', 'replicasets'),
  statefulSet: feed('apps', 'v1', 'StatefulSet', 'statefulsets'),
  pod: feed('', 'v1', 'Pod', 'pods'),
  service: feed('', 'v1', 'Service', 'services'),
  ingress: feed('networking.k8s.io', 'v1', 'Ingress', 'ingresses'),
  networkPolicy: feed('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies'),
  configMap: feed('', 'v1', 'ConfigMap', 'configmaps'),
  secret: feed('', 'v1', 'Secret', 'secrets'),
};

const KINDS: KindRecord[] = Object.values(F).map((f) => ({
  group: f.group,
  version: f.version,
  kind: f.kind,
  resource: f.resource,
  namespaced: f.namespaced,
  watchable: true,
}));

let uidCounter = 0;
const nextUid = () => `00000000-0000-4000-8000-${(++uidCounter).toString(16).padStart(12, '0')}`;
const stamp = (minutesAgo: number) => new Date(SEED_TIME - minutesAgo * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

function spinnakerAnnotations(app: string, cluster: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'moniker.spinnaker.io/application': app,
    'moniker.spinnaker.io/cluster': cluster,
    'artifact.spinnaker.io/location': 'ns',
    'artifact.spinnaker.io/type': 'kubernetes/deployment',
    ...extra,
  };
}

function containerSpec(app: string, version: number) {
  return {
    name: app,
    image: `registry.example.com/team/${app}:1.${version}.0`,
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    env: [
      { name: 'APP_NAME', value: app },
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: `${app}-secrets`, key: 'password' } } },
    ],
    envFrom: [{ configMapRef: { name: `${app}-config` } }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
    readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/health', port: 'http' }, periodSeconds: 10 },
    imagePullPolicy: 'IfNotPresent',
    terminationMessagePath: '/dev/termination-log',
  };
}

class Seeder {
  readonly changes: StoreChange[] = [];
  count = 0;

  add(f: FeedInfo, namespace: string, name: string, manifest: Record<string, unknown>): { uid: string } {
    const uid = nextUid();
    const metadata = {
      name,
      ...(f.namespaced ? { namespace } : {}),
      uid,
      resourceVersion: String(++this.count),
      creationTimestamp: stamp(this.count % 100_000),
      ...(manifest.metadata as object),
    };
    const body = JSON.stringify({ apiVersion: f.group === '' ? f.version : `${f.group}/${f.version}`, kind: f.kind, ...manifest, metadata });
    this.changes.push({ type: 'upsert', feed: f, namespace: f.namespaced ? namespace : '', name, uid, resourceVersion: metadata.resourceVersion, body });
    return { uid };
  }

  /** One Deployment with its ReplicaSet history (the newest has pods), a Service, config; returns the objects added. */
  deployment(app: string, namespace: string, name: string, replicaSets: number, opts: { ingress?: boolean; policy?: boolean; config?: boolean }): void {
    const cluster = `deployment ${name}`;
    const labels = { app: name, 'app.kubernetes.io/name': app, 'app.kubernetes.io/managed-by': 'spinnaker' };
    const dep = this.add(F.deployment, namespace, name, {
      metadata: { labels, annotations: spinnakerAnnotations(app, cluster), generation: replicaSets },
      spec: {
        replicas: PODS_PER_CURRENT_REPLICASET,
        revisionHistoryLimit: replicaSets - 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels }, spec: { containers: [containerSpec(app, replicaSets)] } },
      },
      status: {
        observedGeneration: replicaSets,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
        conditions: [
          { type: 'Available', status: 'True' },
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
        ],
      },
    });
    for (let revision = 1; revision <= replicaSets; revision++) {
      const current = revision === replicaSets;
      const hash = `${(revision * 7919 + name.length * 104729).toString(36)}x`.slice(0, 10);
      const rsName = `${name}-${hash}`;
      const podLabels = { ...labels, 'pod-template-hash': hash };
      const replicas = current ? PODS_PER_CURRENT_REPLICASET : 0;
      const rs = this.add(F.replicaSet, namespace, rsName, {
        metadata: {
          labels: podLabels,
          annotations: {
            ...spinnakerAnnotations(app, cluster),
            'deployment.kubernetes.io/revision': String(revision),
            'deployment.kubernetes.io/desired-replicas': '2',
          },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: dep.uid, controller: true, blockOwnerDeletion: true }],
          generation: 1,
        },
        spec: {
          replicas,
          selector: { matchLabels: { app: name, 'pod-template-hash': hash } },
          template: { metadata: { labels: podLabels }, spec: { containers: [containerSpec(app, revision)] } },
        },
        status: { replicas, fullyLabeledReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 },
      });
      if (!current) continue;
      for (let p = 0; p < PODS_PER_CURRENT_REPLICASET; p++) {
        this.add(F.pod, namespace, `${rsName}-${(p * 48271 + revision).toString(36).padStart(5, 'q')}`, {
          metadata: {
            labels: podLabels,
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.uid, controller: true, blockOwnerDeletion: true }],
          },
          spec: { containers: [containerSpec(app, revision)], nodeName: `node-${p % 7}`, serviceAccountName: 'default' },
          status: {
            phase: 'Running',
            podIP: `10.1.${p}.${revision % 250}`,
            conditions: [
              { type: 'Ready', status: 'True' },
              { type: 'ContainersReady', status: 'True' },
            ],
            containerStatuses: [{ name: app, ready: true, restartCount: 0, image: `registry.example.com/team/${app}:1.${revision}.0`, started: true }],
          },
        });
      }
    }
    this.add(F.service, namespace, name, {
      metadata: { labels, annotations: spinnakerAnnotations(app, `service ${name}`) },
      spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], type: 'ClusterIP', clusterIP: '10.0.0.1' },
    });
    if (opts.config) {
      this.add(F.configMap, namespace, `${name}-config`, {
        metadata: { labels },
        data: { 'application.yaml': `server:\n  port: 8080\napp: ${app}\n`, LOG_LEVEL: 'info' },
      });
      this.add(F.secret, namespace, `${name}-secrets`, { metadata: { labels }, type: 'Opaque' });
    }
    if (opts.ingress) {
      this.add(F.ingress, namespace, name, {
        metadata: { labels, annotations: spinnakerAnnotations(app, `ingress ${name}`) },
        spec: {
          rules: [{ host: `${name}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] } }],
        },
      });
    }
    if (opts.policy) {
      this.add(F.networkPolicy, namespace, `${name}-allow`, {
        metadata: { labels, annotations: spinnakerAnnotations(app, `networkPolicy ${name}-allow`) },
        spec: { podSelector: { matchLabels: { app: name } }, ingress: [{ ports: [{ protocol: 'TCP', port: 8080 }] }], policyTypes: ['Ingress'] },
      });
    }
  }

  statefulSet(app: string, namespace: string, name: string): void {
    const labels = { app: name };
    const sts = this.add(F.statefulSet, namespace, name, {
      metadata: { labels, generation: 1 },
      spec: {
        replicas: 2,
        serviceName: name,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [containerSpec(app, 1)] } },
        updateStrategy: { type: 'RollingUpdate' },
      },
      status: {
        observedGeneration: 1,
        replicas: 2,
        readyReplicas: 2,
        currentReplicas: 2,
        updatedReplicas: 2,
        currentRevision: `${name}-1`,
        updateRevision: `${name}-1`,
      },
    });
    this.add(F.service, namespace, name, { metadata: { labels }, spec: { clusterIP: 'None', selector: labels, ports: [{ port: 5432 }] } });
    for (let i = 0; i < 2; i++) {
      this.add(F.pod, namespace, `${name}-${i}`, {
        metadata: { labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name, uid: sts.uid, controller: true }] },
        spec: { containers: [containerSpec(app, 1)] },
        status: { phase: 'Running', containerStatuses: [{ name: app, ready: true, restartCount: 0 }] },
      });
    }
  }
}

interface Workload {
  changes: StoreChange[];
  objects: number;
  bigAppServerGroups: number;
  bigAppDeployments: number;
  namespaces: number;
  sampleCluster: string;
  sampleNamespace: string;
  sampleServerGroup: string;
  sampleService: string;
  apps: number;
}

/** About `target` objects: the big application first, then other applications until the target is reached. */
export function buildWorkload(target: number): Workload {
  uidCounter = 0;
  const seeder = new Seeder();
  const namespaceCount = Math.max(2, Math.ceil(target / OBJECTS_PER_NAMESPACE));
  const namespaces = Array.from({ length: namespaceCount }, (_, i) => `team-${i}`);
  for (const ns of namespaces)
    seeder.add(F.namespace, '', ns, {
      metadata: { labels: { 'kubernetes.io/metadata.name': ns } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });

  const bigServerGroups = Math.max(REPLICASETS_PER_DEPLOYMENT, Math.min(BIG_APP_MAX_SERVER_GROUPS, Math.round(target * BIG_APP_SERVER_GROUP_SHARE)));
  const bigDeployments = Math.ceil(bigServerGroups / REPLICASETS_PER_DEPLOYMENT);
  // The big application lives in up to four namespaces it shares with the others.
  const bigNamespaces = namespaces.slice(0, Math.min(4, namespaces.length));
  for (let d = 0; d < bigDeployments; d++) {
    seeder.deployment(BIG_APP, bigNamespaces[d % bigNamespaces.length]!, `${BIG_APP}-svc${d}`, REPLICASETS_PER_DEPLOYMENT, {
      ingress: d % 10 === 0,
      policy: d % 20 === 0,
      config: true,
    });
  }
  let apps = 1;
  for (let i = 0; seeder.count < target; i++) {
    const app = `app${i}`;
    const ns = namespaces[i % namespaces.length]!;
    seeder.deployment(app, ns, `${app}-web`, 3, { ingress: i % 10 === 0, policy: i % 10 === 5, config: true });
    if (i % 5 === 0) seeder.statefulSet(app, ns, `${app}-db`);
    apps++;
  }
  return {
    changes: seeder.changes,
    objects: seeder.count,
    bigAppServerGroups: bigDeployments * REPLICASETS_PER_DEPLOYMENT,
    bigAppDeployments: bigDeployments,
    namespaces: namespaceCount,
    sampleCluster: `deployment ${BIG_APP}-svc0`,
    sampleNamespace: bigNamespaces[0]!,
    sampleServerGroup: seeder.changes
      .flatMap((c) => (c.type === 'upsert' && c.feed.kind === 'ReplicaSet' && c.name.startsWith(`${BIG_APP}-svc0-`) ? [c.name] : []))
      .pop()!,
    sampleService: `${BIG_APP}-svc0`,
    apps,
  };
}

// ---- stores ----

interface OpenedStore {
  store: SqlStore;
  cleanup: () => Promise<void>;
}

export async function openEngineStore(engine: Engine): Promise<OpenedStore> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'scale-agent-views-'));
    const store = await createStore({ url: `sqlite:${join(dir, 'hub.db')}` }, silentLogger());
    await store.migrate();
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const server: Server = engine === 'postgres' ? await postgresServer() : await mysqlServer();
  const url = await server.create();
  const store = await createStore({ url }, silentLogger());
  await store.migrate();
  return {
    store,
    cleanup: async () => {
      await store.close();
      await server.drop(url);
      await server.close();
    },
  };
}

export async function seed(store: SqlStore, workload: Workload): Promise<number> {
  await store.upsertAccount(
    {
      name: ACCOUNT,
      cluster: { apiServerHost: 'https://bench.example:6443', caFingerprint: 'sha256:00', kubeSystemUid: 'uid-kube-system' },
      kubernetesVersion: 'v1.30.0',
      namespaces: [],
      kinds: KINDS,
      permissions: {},
      properties: {},
      agentId: 'agent-bench',
      hubId: 'hub-bench',
      status: 'connected',
    },
    SEED_TIME,
  );
  const started = performance.now();
  for (let i = 0; i < workload.changes.length; i += BATCH_CHANGES) {
    await store.applyBatch({ account: ACCOUNT, changes: workload.changes.slice(i, i + BATCH_CHANGES), progress: [] }, SEED_TIME);
  }
  const elapsed = performance.now() - started;
  // Steady state: PostgreSQL's autovacuum and InnoDB keep statistics current; a bulk load outruns them.
  if (store.dialect.name === 'postgres') await sql`analyze objects`.execute(store.db);
  if (store.dialect.name === 'mysql') await sql`analyze table objects`.execute(store.db);
  return elapsed;
}

// ---- measurement ----

interface View {
  id: string;
  label: string;
  url: string;
}

function views(w: Workload): View[] {
  const e = encodeURIComponent;
  return [
    { id: 'applications', label: 'GET /applications', url: '/applications' },
    { id: 'application', label: `GET /applications/${BIG_APP}`, url: `/applications/${BIG_APP}` },
    { id: 'clusterNames', label: 'clusters (names per account)', url: `/applications/${BIG_APP}/clusters` },
    { id: 'clustersOfAccount', label: 'clusters of the account', url: `/applications/${BIG_APP}/clusters/${ACCOUNT}` },
    { id: 'cluster', label: 'one cluster, full', url: `/applications/${BIG_APP}/clusters/${ACCOUNT}/${e(w.sampleCluster)}/kubernetes` },
    { id: 'serverGroups', label: 'server groups (summary list)', url: `/applications/${BIG_APP}/serverGroups` },
    { id: 'serverGroup', label: 'one server group', url: `/serverGroups/${ACCOUNT}/${w.sampleNamespace}/${e(`replicaSet ${w.sampleServerGroup}`)}` },
    { id: 'serverGroupManagers', label: 'server group managers', url: `/applications/${BIG_APP}/serverGroupManagers` },
    { id: 'loadBalancers', label: 'load balancers', url: `/applications/${BIG_APP}/loadBalancers` },
    { id: 'loadBalancer', label: 'one load balancer', url: `/kubernetes/loadBalancers/${ACCOUNT}/${w.sampleNamespace}/${e(`service ${w.sampleService}`)}` },
  ];
}

interface Timing {
  id: string;
  label: string;
  url: string;
  /** The first request of a new server, before it has derived anything. */
  coldMs: number;
  p50Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  responseBytes: number;
  items: number | undefined;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

/** One request on a new server: nothing derived yet (the database's own caches are warm by then). */
async function coldRequest(store: SqlStore, url: string): Promise<number> {
  const app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-bench-cold', logger: silentLogger() });
  await app.ready();
  try {
    const started = performance.now();
    const res = await app.inject({ method: 'GET', url });
    const elapsed = performance.now() - started;
    if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
    return elapsed;
  } finally {
    await app.close();
  }
}

async function measure(store: SqlStore, list: View[], flags: ViewsFlags): Promise<Timing[]> {
  const app = buildApiServer({ store, router: new FakeRouter(), hubId: 'hub-bench', logger: silentLogger() });
  await app.ready();
  const out: Timing[] = [];
  try {
    for (const view of list) {
      const coldMs = await coldRequest(store, view.url);
      let bytes = 0;
      let items: number | undefined;
      for (let i = 0; i < flags.warmup; i++) await app.inject({ method: 'GET', url: view.url });
      const samples: number[] = [];
      for (let i = 0; i < flags.repetitions; i++) {
        const started = performance.now();
        const res = await app.inject({ method: 'GET', url: view.url });
        samples.push(performance.now() - started);
        if (res.statusCode !== 200) throw new Error(`${view.url} answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
        if (i === 0) {
          bytes = res.rawPayload.byteLength;
          const body = res.json() as unknown;
          items = Array.isArray(body) ? body.length : undefined;
        }
      }
      samples.sort((a, b) => a - b);
      out.push({
        id: view.id,
        label: view.label,
        url: view.url,
        coldMs,
        p50Ms: percentile(samples, 50),
        p99Ms: percentile(samples, 99),
        minMs: samples[0]!,
        maxMs: samples[samples.length - 1]!,
        responseBytes: bytes,
        items,
      });
    }
  } finally {
    await app.close();
  }
  return out;
}

// ---- report ----

interface RunResult {
  engine: Engine;
  size: number;
  objects: number;
  bigAppServerGroups: number;
  namespaces: number;
  applications: number;
  seedMs: number;
  timings: Timing[];
}

interface Failure {
  engine: Engine;
  size: number;
  error: string;
}

const ms = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) : 'n/a');
const kib = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

function tableFor(run: RunResult, flags: ViewsFlags): Table {
  return {
    title: `${run.engine}, ${formatCount(run.objects)} objects (${BIG_APP}: ${formatCount(run.bigAppServerGroups)} server groups; ${run.applications} applications in ${run.namespaces} namespaces)`,
    header: ['view', 'p50 ms', 'p99 ms', 'cold ms', 'items', 'response'],
    rows: run.timings.map((t) => [t.label, ms(t.p50Ms), ms(t.p99Ms), ms(t.coldMs), t.items === undefined ? '1' : formatCount(t.items), kib(t.responseBytes)]),
    notes: [
      `seeded through applyBatch in ${(run.seedMs / 1000).toFixed(1)} s (${formatCount((run.objects / run.seedMs) * 1000)} objects/s); ${flags.warmup} warm-up + ${flags.repetitions} timed requests per view`,
      'cold = the first request of a new API server, before its resource cache holds anything (the database is warm)',
    ],
  };
}

function summaryTable(runs: RunResult[]): Table {
  const ids = ['serverGroups', 'cluster', 'clustersOfAccount', 'loadBalancers', 'serverGroupManagers', 'applications'];
  const labels: Record<string, string> = {
    serverGroups: 'server groups',
    cluster: 'one cluster',
    clustersOfAccount: 'clusters/{account}',
    loadBalancers: 'load balancers',
    serverGroupManagers: 'managers',
    applications: '/applications',
  };
  return {
    title: 'Summary: p50 / p99 ms per engine and size',
    header: ['engine', 'objects', `${BIG_APP} SGs`, ...ids.map((id) => labels[id]!)],
    rows: runs.map((r) => [
      r.engine,
      formatCount(r.objects),
      formatCount(r.bigAppServerGroups),
      ...ids.map((id) => {
        const t = r.timings.find((x) => x.id === id);
        return t ? `${ms(t.p50Ms)} / ${ms(t.p99Ms)}` : 'n/a';
      }),
    ]),
  };
}

export async function runViewsBenchmark(flags: ViewsFlags): Promise<void> {
  const started = new Date();
  const loadAtStart = loadavg();
  const runs: RunResult[] = [];
  const failures: Failure[] = [];
  const workloads = new Map<number, Workload>();
  for (const size of flags.sizes) workloads.set(size, buildWorkload(size));

  for (const engine of flags.engines) {
    for (const size of flags.sizes) {
      const workload = workloads.get(size)!;
      process.stderr.write(`views: ${engine}, ${formatCount(workload.objects)} objects: seeding…\n`);
      let opened: OpenedStore | undefined;
      try {
        opened = await openEngineStore(engine);
        const seedMs = await seed(opened.store, workload);
        process.stderr.write(`views: ${engine}, ${formatCount(workload.objects)} objects: seeded in ${(seedMs / 1000).toFixed(1)} s; measuring…\n`);
        const timings = await measure(opened.store, views(workload), flags);
        const run: RunResult = {
          engine,
          size,
          objects: workload.objects,
          bigAppServerGroups: workload.bigAppServerGroups,
          namespaces: workload.namespaces,
          applications: workload.apps,
          seedMs,
          timings,
        };
        runs.push(run);
        process.stdout.write('\n' + renderText(tableFor(run, flags)) + '\n');
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        failures.push({ engine, size, error: message });
        process.stderr.write(`views: ${engine}, ${formatCount(workload.objects)} objects: FAILED: ${message}\n`);
      } finally {
        await opened?.cleanup().catch(() => {});
      }
    }
  }

  const tables = [summaryTable(runs), ...runs.map((r) => tableFor(r, flags))];
  const largestSqlite = runs.filter((r) => r.engine === 'sqlite').sort((a, b) => b.bigAppServerGroups - a.bigAppServerGroups)[0];
  const headline: string[] = [];
  if (largestSqlite) {
    const sg = largestSqlite.timings.find((t) => t.id === 'serverGroups')!;
    const cl = largestSqlite.timings.find((t) => t.id === 'clustersOfAccount')!;
    const lb = largestSqlite.timings.find((t) => t.id === 'loadBalancers')!;
    headline.push(
      `SQLite, application with ${formatCount(largestSqlite.bigAppServerGroups)} server groups (${formatCount(largestSqlite.objects)} cached objects): ` +
        `GET /applications/${BIG_APP}/serverGroups p50 ${ms(sg.p50Ms)} ms, p99 ${ms(sg.p99Ms)} ms (${formatCount(sg.items ?? 0)} server groups, ${kib(sg.responseBytes)}); ` +
        `clusters/{account} p50 ${ms(cl.p50Ms)} ms; loadBalancers p50 ${ms(lb.p50Ms)} ms`,
    );
  }
  for (const f of failures) headline.push(`${f.engine} at ${formatCount(f.size)} objects did not run: ${f.error}`);
  const command = `npm run bench -- views --sizes ${flags.sizes.join(',')} --engines ${flags.engines.join(',')} --repetitions ${flags.repetitions} --warmup ${flags.warmup}`;
  const loadAtEnd = loadavg();
  const intro =
    `Views benchmark, ${started.toISOString()}: ${flags.engines.join(', ')} at ${flags.sizes.map(formatCount).join(', ')} objects; ` +
    `node ${process.version}, ${environment().cpus} CPUs; load average ${loadAtStart[0]!.toFixed(2)} at the start, ${loadAtEnd[0]!.toFixed(2)} at the end`;
  process.stdout.write('\n' + intro + '\n\n' + renderText(tables[0]!) + '\n\n' + headline.join('\n') + '\n\n');
  const markdown = [
    '# Views benchmark',
    '',
    intro,
    '',
    `Command: \`${command}\``,
    '',
    ...headline.map((h) => `**${h}**`),
    '',
    'Each request goes through the real Fastify app (`inject`: routing, JSON serialisation, no socket). The store is seeded through `applyBatch`, as the ingest does. With 30 timed requests p99 is the slowest of them.',
    '',
    ...tables.flatMap((t) => [renderMarkdown(t), '']),
  ].join('\n');
  const result = {
    benchmark: 'views',
    startedAt: started.toISOString(),
    command,
    environment: { ...environment(), loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd },
    flags,
    runs,
    failures,
  };
  const paths = writeResults(resolve(REPO_ROOT, flags.out), 'views', result, markdown);
  process.stdout.write(`results: ${paths.json}, ${paths.markdown}\n`);
  if (runs.length === 0) throw new Error('no engine could be measured');
}
