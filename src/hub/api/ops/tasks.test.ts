import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Errors, ScaleAgentError } from '../../../common/errors.ts';
import { silentLogger } from '../../../common/logger.ts';
import { waitFor } from '../../../common/time.ts';
import { forEachEngine } from '../../../../test/support/databases.ts';
import { opsHarness, type Harness, type Json } from '../../../../test/support/ops-harness.ts';
import type { SqlStore } from '../../store/sql-store.ts';
import type { TaskRecord } from '../../store/types.ts';
import { MULTIPLE_OPERATIONS, TaskRunner } from './task-runner.ts';

/**
 * The task lifecycle Orca relies on, on every SQL engine: tasks readable at once, idempotent POSTs,
 * retryable failures and their resume/restart, Orca's PATCH, and what a hub does with the tasks of a
 * replica that stopped (its own after a restart, another's that went silent).
 */
const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { a: '1' } });
/** Staleness bound of the heartbeat test, and how long its task runs by the clock: longer than the bound. */
const STALE_AFTER_MS = 1000;
const RUNNING_FOR_MS = 1500;
const deploy = (name: string): Json[] => [
  { deployManifest: { account: 'k8s', cloudProvider: 'kubernetes', moniker: { app: 'web' }, manifests: [configMap(name)] } },
];

function started(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id,
    requestId: null,
    account: 'k8s',
    operationType: 'deployManifest',
    state: 'STARTED',
    history: [
      { phase: 'ORCHESTRATION', status: 'Initializing Orchestration Task', timestamp: 1 },
      { phase: 'ORCHESTRATION', status: 'Processing op: KubernetesDeployManifestOperation', timestamp: 2 },
    ],
    resultObjects: [],
    request: deploy('cfg'),
    ownerHubId: 'hub-test',
    createdAt: 1,
    updatedAt: 2,
    ...overrides,
  };
}

forEachEngine('tasks', (engine) => {
  let store: SqlStore;
  let h: Harness;

  beforeEach(async () => {
    store = await engine.openStore();
    h = await opsHarness({ store });
  });
  afterEach(async () => {
    await h.app.close();
    await store.close();
  });

  test('a task is readable as STARTED the moment the POST answers, and completes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const original = h.cluster.execute.bind(h.cluster);
    h.cluster.execute = async (...args) => {
      await gate;
      return original(...args);
    };
    const res = await h.post('/kubernetes/ops', deploy('slow'));
    const running = (await h.get(`/task/${res.body.id}`)).body;
    assert.equal(running.status.completed, false);
    assert.equal(running.status.failed, false);
    assert.deepEqual(running.history[0], { phase: 'ORCHESTRATION', status: 'Initializing Orchestration Task' });
    release();
    const task = await h.finished(res.body.id);
    assert.equal(task.status.status, 'Orchestration completed.');
    assert.deepEqual(task.outputs, []);
  });

  test('a task write the database fails (a connection cut) is retried: the task still completes', async () => {
    const original = store.updateTaskIf.bind(store);
    let writes = 0;
    store.updateTaskIf = async (...args) => {
      // Every second write of the run fails once, history lines and the final state alike.
      if (++writes % 2 === 0) throw new ScaleAgentError(Errors.STORE_ERROR, 'store updateTaskIf failed: Connection terminated unexpectedly');
      return original(...args);
    };
    const res = await h.post('/kubernetes/ops', deploy('cut'));
    const task = await h.finished(res.body.id);
    assert.equal(task.status.failed, false, JSON.stringify(task.history));
    assert.equal(task.status.status, 'Orchestration completed.');
    assert.ok(writes >= 6, `${writes} writes`);
  });

  test('clientRequestId: a repeat gets the same task; a retryably failed one runs again under the same id', async () => {
    h.cluster.connected = false;
    const first = await h.post('/kubernetes/ops?clientRequestId=req-1', deploy('cfg'));
    const failed = await h.finished(first.body.id);
    assert.equal(failed.status.failed, true);
    assert.equal(failed.status.retryable, true);
    assert.equal(failed.retryable, true);
    assert.equal(failed.resultObjects[0].retryable, true);
    assert.equal(failed.resultObjects[0].details.code, 'ACCOUNT_NOT_CONNECTED');
    assert.match(failed.resultObjects[0].message, /no agent is connected for account k8s/);

    h.cluster.connected = true;
    const again = await h.post('/kubernetes/ops?clientRequestId=req-1', deploy('cfg'));
    assert.equal(again.body.id, first.body.id);
    const done = await h.finished(again.body.id);
    assert.equal(done.status.failed, false, JSON.stringify(done));
    assert.equal(done.resultObjects.length, 1, 'the failure is not kept among the results');
    assert.deepEqual(done.resultObjects[0].manifestNamesByNamespace, { default: ['configMap cfg-v000'] });
    assert.ok(done.history.some((l) => /^Re-initializing Orchestration Task \(failure is retryable\)/.test(l.status)));
    const third = await h.post('/kubernetes/ops?clientRequestId=req-1', deploy('other'));
    assert.equal(third.body.id, first.body.id);
    assert.equal(
      (await h.finished(third.body.id)).resultObjects[0].manifestNamesByNamespace.default[0],
      'configMap cfg-v000',
      'a completed task is not run again',
    );
  });

  test('clientRequestId: a repeat naming other operations or accounts is a 409 conflict and leaves the task alone', async () => {
    h.cluster.connected = false;
    const first = await h.post('/kubernetes/ops?clientRequestId=req-2', deploy('cfg'));
    assert.equal((await h.finished(first.body.id)).status.retryable, true);
    h.cluster.connected = true;
    const calls = h.cluster.calls.length;
    const tasksBefore = (await h.get('/task')).body.length;
    const deleteIt = { account: 'k8s', manifestName: 'configMap cfg', location: 'default' };
    const otherAccount = [{ deployManifest: { ...deploy('cfg')[0].deployManifest, account: 'elsewhere' } }];
    for (const [url, body, names] of [
      ['/kubernetes/ops?clientRequestId=req-2', [{ deleteManifest: deleteIt }], 'deleteManifest on k8s'],
      ['/ops/deleteManifest?clientRequestId=req-2', deleteIt, 'deleteManifest on k8s'],
      ['/kubernetes/ops?clientRequestId=req-2', otherAccount, 'deployManifest on elsewhere'],
      ['/kubernetes/ops?clientRequestId=req-2', [...deploy('cfg'), ...deploy('more')], 'deployManifest on k8s, deployManifest on k8s'],
    ] as const) {
      const res = await h.post(url, body);
      assert.equal(res.status, 409, `${url} ${names}`);
      assert.equal(res.body.code, 'TASK_REQUEST_ID_CONFLICT');
      assert.equal(
        res.body.message,
        `clientRequestId req-2 is already used by task ${first.body.id} for deployManifest on k8s; this request names ${names}. Use a new clientRequestId for a different request`,
      );
    }
    const task = (await h.get(`/task/${first.body.id}`)).body;
    assert.equal(task.status.retryable, true, 'the task was neither run nor marked otherwise');
    assert.ok(!task.history.some((l: Json) => /Re-initializing/.test(l.status)));
    assert.equal(h.cluster.calls.length, calls, 'nothing reached an agent');
    assert.equal((await h.get('/task')).body.length, tasksBefore, 'no task was created');
    // The same operations on the same account (Orca's repeat) still resume it.
    const again = await h.post('/kubernetes/ops?clientRequestId=req-2', deploy('cfg'));
    assert.equal(again.body.id, first.body.id);
    assert.equal((await h.finished(first.body.id)).status.failed, false);
  });

  test('clientRequestId: while auth is off, a task stored before creators were recorded is still found', async () => {
    await store.createTask(started('T-OLD', { requestId: 'req-old', state: 'COMPLETED' }));
    const res = await h.post('/kubernetes/ops?clientRequestId=req-old', deploy('cfg'));
    assert.deepEqual(res.body, { id: 'T-OLD', resourceUri: '/task/T-OLD' });
  });

  test('POST /task/{id}:resume runs a retryable task again; others are refused with 400', async () => {
    h.cluster.connected = false;
    const res = await h.post('/kubernetes/ops', deploy('cfg'));
    await h.finished(res.body.id);
    h.cluster.connected = true;
    const resumed = await h.post(`/task/${res.body.id}:resume`, {});
    assert.deepEqual(resumed, { status: 200, body: { id: res.body.id, resourceUri: `/task/${res.body.id}` } });
    const done = await h.finished(res.body.id);
    assert.equal(done.status.failed, false);
    const refused = await h.post(`/task/${res.body.id}:resume`, {});
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'TASK_NOT_RETRYABLE');
    assert.equal((await h.post('/task/nope:resume', {})).status, 404);
  });

  test('a transient failure of an operation that must not run twice is not retryable', async () => {
    h.cluster.failures.push({ httpStatus: 0, errorCode: 'OPERATION_AGENT_GONE', message: 'the session with agent a1 ended before it answered: stream error' });
    const task = await h.run([
      {
        runJob: {
          account: 'k8s',
          application: 'jobs',
          manifest: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi', namespace: 'default' }, spec: {} },
        },
      },
    ]);
    assert.equal(task.status.failed, true);
    assert.equal(task.status.retryable, false);
    assert.match(task.resultObjects[0].message, /OPERATION_AGENT_GONE: the session with agent a1 ended before it answered/);
  });

  test('a deadline with no answer is a clear, retryable failure', async () => {
    h.cluster.failures.push({ httpStatus: 0, errorCode: 'OPERATION_DEADLINE_EXCEEDED', message: 'the agent a1 did not answer within 30000 ms' });
    const task = await h.run([{ scaleManifest: { account: 'k8s', manifestName: 'deployment web', location: 'default', replicas: 2 } }]);
    assert.equal(task.status.retryable, true);
    assert.equal(
      task.resultObjects[0].message,
      'Scaling deployment web in namespace default failed: OPERATION_DEADLINE_EXCEEDED: the agent a1 did not answer within 30000 ms',
    );
  });

  test('every task run is reported with its operation, how it ended and how long it took', async () => {
    const runs: Array<{ operation: string; result: string; seconds: number }> = [];
    const observed = await opsHarness({
      store,
      hubId: 'hub-observed',
      taskMetrics: { taskFinished: (operation, result, seconds) => runs.push({ operation, result, seconds }) },
    });
    try {
      await observed.run(deploy('observed'));
      observed.cluster.failures.push({ httpStatus: 0, errorCode: 'OPERATION_DEADLINE_EXCEEDED', message: 'no answer' });
      await observed.run([{ scaleManifest: { account: 'k8s', manifestName: 'deployment web', location: 'default', replicas: 2 } }]);
      await observed.run([...deploy('first'), ...deploy('second')]);
      await observed.tasks.drain();
    } finally {
      await observed.app.close();
    }
    assert.deepEqual(
      runs.map(({ operation, result }) => [operation, result]),
      [
        ['deployManifest', 'completed'],
        ['scaleManifest', 'failed_retryable'],
        [MULTIPLE_OPERATIONS, 'completed'],
      ],
    );
    assert.ok(runs.every((run) => run.seconds >= 0 && run.seconds < 60));
  });

  test('PATCH /kubernetes/task/{id} fails a running task; its late result does not overwrite that', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const original = h.cluster.execute.bind(h.cluster);
    h.cluster.execute = async (...args) => {
      entered();
      await gate;
      return original(...args);
    };
    const res = await h.post('/kubernetes/ops', deploy('cfg'));
    await inside;
    const patched = await h.app.inject({ method: 'PATCH', url: `/kubernetes/task/${res.body.id}`, payload: { retry: true } });
    assert.equal(patched.statusCode, 200);
    assert.deepEqual(patched.json(), { id: res.body.id, resourceUri: `/task/${res.body.id}` });
    release();
    // The run goes on with the agent's answer, finds the task no longer its own, and stops writing.
    await waitFor(() => h.cluster.calls.some((c) => c.request.type === 'apply'), { timeoutMs: 2000, what: 'the apply' });
    await h.tasks.drain();
    const task = (await h.get(`/task/${res.body.id}`)).body;
    assert.equal(task.status.failed, true);
    assert.equal(task.status.retryable, true);
    assert.match(task.status.status, /marked failed on request \(retryable\)/);
    const bad = await h.app.inject({ method: 'PATCH', url: `/kubernetes/task/${res.body.id}`, payload: { state: 'x' } });
    assert.equal(bad.statusCode, 400);

    // restart: new operations under the same task.
    const restarted = await h.post(`/kubernetes/task/${res.body.id}/restart`, deploy('replacement'));
    assert.equal(restarted.body.id, res.body.id);
    const done = await h.finished(res.body.id);
    assert.deepEqual(done.resultObjects[0].manifestNamesByNamespace, { default: ['configMap replacement-v000'] });
    assert.equal((await h.post(`/kubernetes/task/${res.body.id}/restart`, deploy('x'))).body.code, 'TASK_NOT_RETRYABLE');
    assert.deepEqual((await h.get(`/kubernetes/task/${res.body.id}/owner`)).body, { name: 'hub-test' });
  });

  test('a restarted hub fails its STARTED tasks: retryably when running them again is safe, with their open operations', async () => {
    await store.createTask(started('T-DEPLOY'));
    await store.createTask(
      started('T-JOB', { request: [{ runJob: { account: 'k8s', manifest: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' } } } }] }),
    );
    await store.createTask(started('T-OTHER', { ownerHubId: 'hub-other', updatedAt: Date.now() }));
    await store.recordOperation({
      id: 'OP-OPEN',
      taskId: 'T-DEPLOY',
      account: 'k8s',
      type: 'apply',
      status: 'SENT',
      httpStatus: null,
      errorCode: null,
      message: null,
      agentId: 'a1',
      receivedAt: 1,
      routedAt: 1,
      sentAt: 2,
      executedAt: null,
      resultAt: null,
    });
    const runner = new TaskRunner({ store, router: h.cluster, hubId: 'hub-test', logger: silentLogger(), operationTimeoutMs: 1000 });
    assert.equal(await runner.recover(), 2);
    const deployTask = (await h.get('/task/T-DEPLOY')).body;
    assert.equal(deployTask.status.failed, true);
    assert.equal(deployTask.status.retryable, true);
    assert.equal(deployTask.resultObjects[0].cause, 'TaskInterrupted');
    assert.equal(deployTask.resultObjects[0].operation, 'KubernetesDeployManifestOperation');
    assert.match(
      deployTask.status.status,
      /^Orchestration failed: KubernetesDeployManifestOperation \| TaskInterrupted: \[Task interrupted: the hub hub-test restarted while the task was running/,
    );
    assert.equal((await h.get('/task/T-JOB')).body.status.retryable, false);
    assert.equal((await h.get('/task/T-OTHER')).body.status.completed, false, "another replica's live task is left alone");
    const [op] = await store.listOperations(10, { taskId: 'T-DEPLOY' });
    assert.equal(op!.status, 'FAILED');
    assert.equal(op!.errorCode, 'TASK_INTERRUPTED');

    // Orca resumes it: it runs again here.
    const resumed = await h.post('/task/T-DEPLOY:resume', {});
    assert.equal(resumed.status, 200);
    const done = await h.finished('T-DEPLOY');
    assert.equal(done.status.failed, false);
    assert.equal(done.ownerId, 'hub-test');
  });

  test("a replica's tasks it stopped updating are failed by any replica; live ones are kept", async () => {
    const now = Date.now();
    await store.createTask(started('T-STALE', { ownerHubId: 'hub-gone', updatedAt: now - 10 * 60_000 }));
    await store.createTask(started('T-FRESH', { ownerHubId: 'hub-alive', updatedAt: now }));
    const runner = new TaskRunner({ store, router: h.cluster, hubId: 'hub-test', logger: silentLogger(), operationTimeoutMs: 1000, staleAfterMs: 120_000 });
    assert.equal(await runner.sweepStale(), 1);
    const stale = (await h.get('/task/T-STALE')).body;
    assert.equal(stale.status.retryable, true);
    assert.match(stale.resultObjects[0].message, /its hub hub-gone stopped updating the task \d+ s ago/);
    assert.equal((await h.get('/task/T-FRESH')).body.status.completed, false);
    assert.equal(await runner.sweepStale(), 0);
  });

  test('a running task keeps its row fresh, so no sweep takes it', async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const original = h.cluster.execute.bind(h.cluster);
    h.cluster.execute = async (...args) => {
      entered();
      await gate;
      return original(...args);
    };
    // Simulated time: the maintenance interval fires when ticked, and both runners read the same clock.
    t.mock.timers.enable({ apis: ['setInterval'] });
    let now = Date.now();
    const clock = () => now;
    const runner = new TaskRunner({
      store,
      router: h.cluster,
      hubId: 'hub-test',
      logger: silentLogger(),
      operationTimeoutMs: 1000,
      staleAfterMs: STALE_AFTER_MS,
      now: clock,
    });
    const ops = await (await import('./parse-request.ts')).parseOpsRequest(deploy('beat'), store);
    const task = await runner.start(ops, deploy('beat'), null);
    runner.startMaintenance();
    // The run waits for the agent's answer, its own writes done: from here only the heartbeat touches the row.
    await inside;
    now += RUNNING_FOR_MS;
    t.mock.timers.tick(RUNNING_FOR_MS);
    await waitFor(async () => (await store.getTask(task.id))!.updatedAt === now, { timeoutMs: 2000, what: 'the heartbeat to refresh the task' });
    const other = new TaskRunner({
      store,
      router: h.cluster,
      hubId: 'hub-other',
      logger: silentLogger(),
      operationTimeoutMs: 1000,
      staleAfterMs: STALE_AFTER_MS,
      now: clock,
    });
    assert.equal(await other.sweepStale(), 0);
    release();
    await runner.drain();
    runner.stopMaintenance();
    assert.equal((await store.getTask(task.id))!.state, 'COMPLETED');
  });

  test('GET /admin/operations: every hop of an operation, filtered by task', async () => {
    await store.recordOperation({
      id: 'OP-1',
      taskId: 'T-1',
      account: 'k8s',
      type: 'apply',
      status: 'SUCCEEDED',
      httpStatus: 201,
      errorCode: null,
      message: null,
      agentId: 'a1',
      receivedAt: 1000,
      routedAt: 1001,
      sentAt: 1003,
      executedAt: 1010,
      resultAt: 1012,
    });
    await store.recordOperation({
      id: 'OP-2',
      taskId: 'T-2',
      account: 'k8s',
      type: 'get',
      status: 'FAILED',
      httpStatus: 404,
      errorCode: 'KUBE_API_ERROR',
      message: 'nf',
      agentId: 'a1',
      receivedAt: 2000,
      routedAt: null,
      sentAt: null,
      executedAt: null,
      resultAt: 2001,
    });
    const byTask = (await h.get('/admin/operations?taskId=T-1')).body;
    assert.equal(byTask.length, 1);
    assert.deepEqual(byTask[0].hops, { routeMs: 1, sendMs: 2, agentMs: 7, returnMs: 2, totalMs: 12 });
    assert.deepEqual(
      (await h.get('/admin/operations?status=failed&type=get')).body.map((o: Json) => o.id),
      ['OP-2'],
    );
    assert.equal((await h.get('/admin/operations?account=nope')).body.length, 0);
  });

  test('the store: conditional task updates and task queries', async () => {
    await store.createTask(started('T-A', { updatedAt: 100 }));
    assert.equal(await store.updateTaskIf('T-A', { state: 'FAILED' }, { state: 'COMPLETED' }, 200), false);
    assert.equal(
      await store.updateTaskIf(
        'T-A',
        { state: ['STARTED', 'FAILED'], ownerHubId: 'hub-test', updatedAtOrBefore: 100 },
        { state: 'COMPLETED', ownerHubId: 'hub-b' },
        200,
      ),
      true,
    );
    const task = (await store.getTask('T-A'))!;
    assert.equal(task.state, 'COMPLETED');
    assert.equal(task.ownerHubId, 'hub-b');
    assert.equal(task.updatedAt, 200);
    assert.equal(await store.updateTaskIf('T-A', { updatedAtOrBefore: 150 }, {}, 300), false);
    assert.equal(await store.updateTaskIf('T-missing', {}, {}, 300), false);
    await store.createTask(started('T-B', { updatedAt: 50 }));
    assert.deepEqual(
      (await store.findTasks({ state: 'STARTED', limit: 10 })).map((t) => t.id),
      ['T-B'],
    );
    assert.deepEqual(
      (await store.findTasks({ updatedBefore: 100, limit: 10 })).map((t) => t.id),
      ['T-B'],
    );
    assert.deepEqual(
      (await store.findTasks({ ownerHubId: 'hub-b', limit: 10 })).map((t) => t.id),
      ['T-A'],
    );
  });
});
