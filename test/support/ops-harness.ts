import type { FastifyInstance } from 'fastify';
import { silentLogger } from '../../src/common/logger.ts';
import { waitFor } from '../../src/common/time.ts';
import type { TaskView } from '../../src/hub/api/ops/task-view.ts';
import { TaskRunner, type TaskObserver } from '../../src/hub/api/ops/task-runner.ts';
import { buildApiServer, DEFAULT_OPERATION_TIMEOUT_MS } from '../../src/hub/api/server.ts';
import { openStore } from '../../src/hub/store/open-store.ts';
import type { SqlStore } from '../../src/hub/store/sql-store.ts';
import { accountRecord } from '../../src/hub/store/testing/fixtures.ts';
import type { AccountRecord, KindRecord } from '../../src/hub/store/types.ts';
import { FakeCluster } from './fake-cluster.ts';

/**
 * A hub REST API over an in-memory SQLite store and a FakeCluster router, for unit tests of the ops
 * endpoints: `post` an ops body, `run` it to completion, read tasks.
 */
export type Json = any;

const NOW = 1_700_000_000_000;

const KINDS: KindRecord[] = [
  { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespaced: true, watchable: true },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', resource: 'replicasets', namespaced: true, watchable: true },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', resource: 'statefulsets', namespaced: true, watchable: true },
  { group: 'apps', version: 'v1', kind: 'DaemonSet', resource: 'daemonsets', namespaced: true, watchable: true },
  {
    group: 'apps',
    version: 'v1',
    kind: 'ControllerRevision',
    resource: 'controllerrevisions',
    namespaced: true,
    watchable: false,
    reason: 'omitted by default',
  },
  { group: 'batch', version: 'v1', kind: 'Job', resource: 'jobs', namespaced: true, watchable: true },
  { group: '', version: 'v1', kind: 'Pod', resource: 'pods', namespaced: true, watchable: true },
  { group: '', version: 'v1', kind: 'Service', resource: 'services', namespaced: true, watchable: true },
  { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true, watchable: true },
  { group: '', version: 'v1', kind: 'Secret', resource: 'secrets', namespaced: true, watchable: true },
  { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false, watchable: true },
  { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', resource: 'horizontalpodautoscalers', namespaced: true, watchable: true },
  { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', resource: 'customresourcedefinitions', namespaced: false, watchable: true },
  { group: 'stable.example.com', version: 'v1', kind: 'CronTab', resource: 'crontabs', namespaced: true, watchable: true },
];

export interface Harness {
  store: SqlStore;
  cluster: FakeCluster;
  app: FastifyInstance;
  /** The task runner behind the app: `drain()` waits until every run has finished, writes included. */
  tasks: TaskRunner;
  post(url: string, body: unknown): Promise<{ status: number; body: Json }>;
  get(url: string): Promise<{ status: number; body: Json }>;
  /** POSTs to /kubernetes/ops and waits for the task to finish. */
  run(body: unknown): Promise<TaskView & { resultObjects: Json[] }>;
  finished(id: string): Promise<TaskView & { resultObjects: Json[] }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  account?: Partial<Omit<AccountRecord, 'registeredAt' | 'lastSeenAt'>>;
  operationTimeoutMs?: number;
  /** A store to use (e.g. one per SQL engine); an in-memory SQLite store otherwise. */
  store?: SqlStore;
  hubId?: string;
  now?: () => number;
  /** Told how each task run ended (the hub's metrics). */
  taskMetrics?: TaskObserver;
}

export async function opsHarness(options: HarnessOptions = {}): Promise<Harness> {
  const store = options.store ?? (await openStore('sqlite::memory:', silentLogger()));
  await store.upsertAccount(accountRecord('k8s', { kinds: KINDS, ...options.account }), NOW);
  const cluster = new FakeCluster(store, 'k8s');
  const hubId = options.hubId ?? 'hub-test';
  const logger = silentLogger();
  const tasks = new TaskRunner({
    store,
    router: cluster,
    hubId,
    logger,
    operationTimeoutMs: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
    now: options.now,
    ...(options.taskMetrics !== undefined ? { metrics: options.taskMetrics } : {}),
  });
  const app = buildApiServer({ store, router: cluster, hubId, logger, operationTimeoutMs: options.operationTimeoutMs, now: options.now, tasks });
  const post = async (url: string, body: unknown) => {
    const res = await app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return { status: res.statusCode, body: res.body === '' ? undefined : res.json() };
  };
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    return { status: res.statusCode, body: res.body === '' ? undefined : res.json() };
  };
  const finished = (id: string) =>
    waitFor(
      async () => {
        const task = (await get(`/task/${id}`)).body as TaskView & { resultObjects: Json[] };
        return task.status.completed ? task : undefined;
      },
      { timeoutMs: 5000, intervalMs: 2, what: `task ${id}` },
    );
  return {
    store,
    cluster,
    app,
    tasks,
    post,
    get,
    finished,
    async run(body: unknown) {
      const res = await post('/kubernetes/ops', body);
      if (res.status !== 200) throw new Error(`POST /kubernetes/ops answered ${res.status}: ${JSON.stringify(res.body)}`);
      return finished(res.body.id);
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}

/** The first result object of a task that must have succeeded (the failure's message otherwise). */
export function resultOf(task: TaskView & { resultObjects: Json[] }): Json {
  if (task.status.failed) throw new Error(`task failed: ${JSON.stringify(task.resultObjects)}`);
  return task.resultObjects[0];
}
