import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { simRequest, type TestSystem } from './system.ts';

/**
 * Helpers for end-to-end tests of Spinnaker operations: submit `POST /kubernetes/ops`, poll
 * `GET /task/{id}` until it completes, read the failure the way Orca would (the EXCEPTION result object,
 * else the last history line), read the sim and the hub's cache. Polling only — no sleeps.
 */
export const TASK_TIMEOUT_MS = 45_000;
export const PROPAGATION_TIMEOUT_MS = 30_000;

export type Json = any;

export interface Submitted {
  status: number;
  body: Json;
}

/** How an operation ended: refused at submission (4xx/5xx), or a task that completed or failed. */
export type Outcome = { kind: 'rejected'; status: number; message: string; body: Json } | { kind: 'task'; task: Json; failed: boolean; message: string };

export async function submit(system: TestSystem, ops: Json[]): Promise<Submitted> {
  return system.rest('/kubernetes/ops', { method: 'POST', body: ops });
}

/** Polls a task until `status.completed`. */
export async function waitForTask(system: TestSystem, id: string, timeoutMs = TASK_TIMEOUT_MS): Promise<Json> {
  return waitFor(
    async () => {
      const r = await system.rest(`/task/${id}`);
      return r.status === 200 && r.body?.status?.completed === true ? r.body : undefined;
    },
    { timeoutMs, intervalMs: 50, what: `task ${id} to complete` },
  );
}

/** The failure text of a task: its EXCEPTION result's message, else the last history line. */
export function taskFailure(task: Json): string {
  const exception = (task.resultObjects ?? []).find((r: Json) => r?.type === 'EXCEPTION');
  if (exception !== undefined) return String(exception.message ?? '');
  return String(task.history?.at(-1)?.status ?? task.status?.status ?? '');
}

/** Submits one operation and waits for its outcome. */
export async function outcomeOf(system: TestSystem, opName: string, description: Json, timeoutMs = TASK_TIMEOUT_MS): Promise<Outcome> {
  const submitted = await submit(system, [{ [opName]: description }]);
  if (submitted.status !== 200) {
    const message =
      typeof submitted.body === 'object' && submitted.body !== null
        ? String(submitted.body.message ?? submitted.body.error ?? JSON.stringify(submitted.body))
        : String(submitted.body);
    return { kind: 'rejected', status: submitted.status, message, body: submitted.body };
  }
  const task = await waitForTask(system, submitted.body.id, timeoutMs);
  return { kind: 'task', task, failed: task.status.failed === true, message: task.status.failed ? taskFailure(task) : '' };
}

/** Runs one operation that must succeed; returns the completed task. */
export async function runOp(system: TestSystem, opName: string, description: Json): Promise<Json> {
  const outcome = await outcomeOf(system, opName, description);
  assert.equal(outcome.kind, 'task', `${opName} was refused at submission: ${outcome.kind === 'rejected' ? `${outcome.status} ${outcome.message}` : ''}`);
  const { task } = outcome as Extract<Outcome, { kind: 'task' }>;
  assert.equal(task.status.failed, false, `${opName} failed: ${taskFailure(task)}\n${JSON.stringify(task.history)}`);
  assert.equal(task.status.completed, true);
  assert.ok(!(task.resultObjects ?? []).some((r: Json) => r?.type === 'EXCEPTION'), 'no EXCEPTION result on success');
  return task;
}

/**
 * Runs one operation that must fail; returns its message. A failure may be a refusal at submission
 * (a description problem the hub checks before any task exists) only when `allowRejection` says so;
 * otherwise it must be a failed task, as Orca sees a failed cluster operation.
 */
export async function failOp(
  system: TestSystem,
  opName: string,
  description: Json,
  options: { allowRejection?: boolean; timeoutMs?: number } = {},
): Promise<{ message: string; outcome: Outcome }> {
  const outcome = await outcomeOf(system, opName, description, options.timeoutMs);
  if (outcome.kind === 'rejected') {
    assert.ok(options.allowRejection, `${opName} was refused at submission (${outcome.status} ${outcome.message}); expected a failed task`);
    assert.doesNotMatch(outcome.message, /unknown operation/, `the hub does not implement ${opName}`);
    assert.ok(outcome.status >= 400 && outcome.status < 500, `a refusal is a 4xx, got ${outcome.status}`);
    return { message: outcome.message, outcome };
  }
  assert.equal(outcome.failed, true, `${opName} was expected to fail, but completed: ${JSON.stringify(outcome.task.resultObjects)}`);
  assert.equal(outcome.task.status.completed, true);
  const exception = (outcome.task.resultObjects ?? []).find((r: Json) => r?.type === 'EXCEPTION');
  assert.ok(exception, `a failed task carries an EXCEPTION result object: ${JSON.stringify(outcome.task.resultObjects)}`);
  assert.match(String(outcome.task.history.at(-1)?.status), /^Orchestration failed: /);
  return { message: outcome.message, outcome };
}

/** GET a sim object (status and body). */
export async function simGet(system: TestSystem, cluster: string, path: string): Promise<{ status: number; body: Json }> {
  return simRequest(system.sim(cluster), 'GET', path);
}

/** The live object at the sim, or undefined when it is not there. */
export async function live(system: TestSystem, cluster: string, path: string): Promise<Json | undefined> {
  const r = await simGet(system, cluster, path);
  return r.status === 200 ? r.body : undefined;
}

export async function createAtSim(system: TestSystem, cluster: string, collectionPath: string, object: Json): Promise<Json> {
  const r = await simRequest(system.sim(cluster), 'POST', collectionPath, object);
  assert.equal(r.status, 201, `create at ${collectionPath}: ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function createNamespace(system: TestSystem, cluster: string, name: string): Promise<void> {
  await createAtSim(system, cluster, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** `GET /manifests/{account}/{location}/{kind name}` at the hub. */
export async function hubManifest(system: TestSystem, account: string, location: string, name: string): Promise<{ status: number; body: Json }> {
  return system.rest(`/manifests/${encodeURIComponent(account)}/${encodeURIComponent(location === '' ? '_' : location)}/${encodeURIComponent(name)}`);
}

/** Waits until the hub's cache serves the manifest and `check` accepts it; returns the response body. */
export async function waitForHubManifest(
  system: TestSystem,
  account: string,
  location: string,
  name: string,
  check: (body: Json) => boolean = () => true,
  what?: string,
): Promise<Json> {
  return waitFor(
    async () => {
      const r = await hubManifest(system, account, location, name);
      return r.status === 200 && check(r.body) ? r.body : undefined;
    },
    { timeoutMs: PROPAGATION_TIMEOUT_MS, intervalMs: 50, what: what ?? `${name} in ${location} at the hub` },
  );
}

export async function waitForHubGone(system: TestSystem, account: string, location: string, name: string): Promise<void> {
  await waitFor(async () => (await hubManifest(system, account, location, name)).status === 404, {
    timeoutMs: PROPAGATION_TIMEOUT_MS,
    intervalMs: 50,
    what: `${name} gone from the hub`,
  });
}

/** Waits until the sim object at `path` satisfies `check`; returns it. */
export async function waitForLive(system: TestSystem, cluster: string, path: string, check: (o: Json) => boolean, what: string): Promise<Json> {
  return waitFor(
    async () => {
      const o = await live(system, cluster, path);
      return o !== undefined && check(o) ? o : undefined;
    },
    { timeoutMs: PROPAGATION_TIMEOUT_MS, intervalMs: 50, what },
  );
}

/** Revokes write verbs on a resource at the sim while `body` runs, then lifts the revocation. */
export async function withRevoked<T>(
  system: TestSystem,
  cluster: string,
  group: string,
  resource: string,
  verbs: string[],
  body: () => Promise<T>,
): Promise<T> {
  const revoked = await system.simAdmin('POST', `/sim/clusters/${cluster}/faults/revoke`, { group, resource, verbs });
  assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
  try {
    return await body();
  } finally {
    await system.simAdmin('POST', `/sim/clusters/${cluster}/faults/restore`, { group, resource });
  }
}

/** What a Deployment whose rollout completed looks like (as `kubectl rollout status` decides). */
export function rolledOut(d: Json): boolean {
  const s = d?.status ?? {};
  const replicas = d?.spec?.replicas ?? 1;
  const progressing = (s.conditions ?? []).find((c: Json) => c.type === 'Progressing');
  return (
    s.observedGeneration >= d.metadata.generation &&
    s.updatedReplicas === replicas &&
    s.replicas === replicas &&
    s.availableReplicas === replicas &&
    progressing?.reason === 'NewReplicaSetAvailable'
  );
}

export function deploymentManifest(
  name: string,
  namespace: string,
  image: string,
  replicas = 1,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...(extra.labels ?? {}) } },
        spec: { containers: [{ name: 'main', image, ports: [{ containerPort: 8080 }], env: [{ name: 'MODE', value: 'one' }] }] },
      },
    },
  };
}

/** The EXCEPTION results and history a failed task shows, for assertion messages. */
export function describeTask(task: Json): string {
  return JSON.stringify({ status: task?.status, history: task?.history, resultObjects: task?.resultObjects });
}

/**
 * Result objects of an operation for which Clouddriver returns none (scale, undo, pause, resume, restart,
 * enable, disable, resize): Orca reads nothing from them. An empty list is exact; result objects that name
 * the target in `manifestNamesByNamespace` (and only it) are tolerated — Orca ignores them.
 */
export function assertNoResultObjects(task: Json, location: string, manifestName: string): void {
  for (const result of task.resultObjects ?? []) {
    assert.notEqual(result?.type, 'EXCEPTION', JSON.stringify(result));
    assert.deepEqual(result?.manifestNamesByNamespace, { [location]: [manifestName] }, `unexpected result object: ${JSON.stringify(task.resultObjects)}`);
  }
}
