import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../common/logger.ts';
import { isScaleAgentError } from '../../common/errors.ts';
import { createSqliteStore } from './sqlite-store.ts';
import type { SqlStore } from './sql-store.ts';
import type { StoreBatch, TaskRecord } from './types.ts';
import { CONFIGMAPS_WEB, DEPLOYMENTS, NAMESPACES, REPLICASETS, accountRecord, upsert } from './test-fixtures.ts';

const NOW = 1_700_000_000_000;

describe('SqliteStore', () => {
  let dir: string;
  let store: SqlStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scale-agent-store-'));
    store = createSqliteStore({ path: join(dir, 'hub.db'), logger: silentLogger() });
    await store.migrate();
    await store.upsertAccount(accountRecord('k8s'), NOW);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function names(kind?: string): Promise<string[]> {
    return (await store.listObjects({ account: 'k8s', kind })).map((o) => `${o.kind}/${o.namespace}/${o.name}`);
  }

  test('migrate is idempotent and records the migration', async () => {
    await store.migrate();
    const rows = await store.db.selectFrom('schema_migrations' as never).selectAll().execute();
    assert.equal(rows.length, 1);
  });

  test('accounts: upsert keeps registeredAt, status updates, delete removes the cache', async () => {
    await store.upsertAccount(accountRecord('k8s', { namespaces: ['web'], permissions: { READ: ['eng'] }, properties: { environment: 'prod' } }), NOW + 10);
    let account = await store.getAccount('k8s');
    assert.ok(account);
    assert.equal(account.registeredAt, NOW);
    assert.equal(account.lastSeenAt, NOW + 10);
    assert.deepEqual(account.namespaces, ['web']);
    assert.deepEqual(account.permissions, { READ: ['eng'] });
    assert.equal(account.kinds.length, 7);
    await store.setAccountStatus('k8s', 'disconnected', null, null, NOW + 20);
    account = await store.getAccount('k8s');
    assert.equal(account?.status, 'disconnected');
    assert.equal(account?.agentId, null);
    assert.equal(account?.lastSeenAt, NOW + 20);
    await store.applyBatch({ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'nginx')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '5' }] }, NOW);
    assert.deepEqual((await store.listAccounts()).map((a) => a.name), ['k8s']);
    await store.deleteAccount('k8s');
    assert.equal(await store.getAccount('k8s'), undefined);
    assert.equal(await store.countObjects('k8s'), 0);
    assert.deepEqual(await store.resumePoints('k8s'), []);
  });

  test('upsert derives application, cluster and createdAt; replay is idempotent', async () => {
    const batch: StoreBatch = {
      account: 'k8s',
      changes: [
        upsert(DEPLOYMENTS, 'web', 'nginx-frontend'),
        upsert(DEPLOYMENTS, 'web', 'annotated', '2', { annotations: { 'moniker.spinnaker.io/application': 'shop', 'moniker.spinnaker.io/cluster': 'deployment cart' } }),
        upsert(REPLICASETS, 'web', 'nginx-frontend-7d9c', '3', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'nginx-frontend', uid: 'u', controller: true }] }),
        upsert(REPLICASETS, 'web', 'backend-v002'),
      ],
      progress: [],
    };
    const first = await store.applyBatch(batch, NOW);
    assert.equal(first.upserted, 4);
    const second = await store.applyBatch(batch, NOW + 1);
    assert.equal(second.upserted, 4);
    assert.equal(await store.countObjects(), 4);

    const nginx = await store.getObject('k8s', 'apps', 'Deployment', 'web', 'nginx-frontend');
    assert.equal(nginx?.application, 'nginx');
    assert.equal(nginx?.cluster, 'deployment nginx-frontend');
    assert.equal(nginx?.createdAt, Date.parse('2024-01-02T03:04:05Z'));
    assert.equal(nginx?.version, 'v1');
    assert.equal(nginx?.updatedAt, NOW + 1);
    const annotated = await store.getObject('k8s', 'apps', 'Deployment', 'web', 'annotated');
    assert.equal(annotated?.application, 'shop');
    assert.equal(annotated?.cluster, 'deployment cart');
    const rs = await store.getObject('k8s', 'apps', 'ReplicaSet', 'web', 'nginx-frontend-7d9c');
    assert.equal(rs?.cluster, 'deployment nginx-frontend');
    const versioned = await store.getObject('k8s', 'apps', 'ReplicaSet', 'web', 'backend-v002');
    assert.equal(versioned?.application, 'backend');
    assert.equal(versioned?.cluster, 'replicaSet backend');

    assert.deepEqual((await store.listObjects({ application: 'nginx' })).map((o) => o.name), ['nginx-frontend', 'nginx-frontend-7d9c']);
  });

  test('changes apply in order within a batch: upsert then delete, delete then upsert', async () => {
    const outcome = await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          upsert(DEPLOYMENTS, 'web', 'a'),
          { type: 'delete', feed: DEPLOYMENTS, namespace: 'web', name: 'a' },
          { type: 'delete', feed: DEPLOYMENTS, namespace: 'web', name: 'b' },
          upsert(DEPLOYMENTS, 'web', 'b', '7'),
        ],
        progress: [],
      },
      NOW,
    );
    assert.deepEqual(await names(), ['Deployment/web/b']);
    assert.equal((await store.getObject('k8s', 'apps', 'Deployment', 'web', 'b'))?.resourceVersion, '7');
    assert.equal(outcome.upserted, 1);
  });

  test('snapshot prunes what it did not contain, touches keep objects, replay keeps the epoch', async () => {
    await store.applyBatch({ account: 'k8s', changes: ['a', 'b', 'c', 'd'].map((n) => upsert(DEPLOYMENTS, 'web', n)), progress: [] }, NOW);
    const snapshot: StoreBatch = {
      account: 'k8s',
      changes: [
        { type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: 's1' },
        upsert(DEPLOYMENTS, 'web', 'a', '9'),
        { type: 'touch', feed: DEPLOYMENTS, namespace: 'web', name: 'b', resourceVersion: '1' },
        { type: 'touch', feed: DEPLOYMENTS, namespace: 'web', name: 'ghost', resourceVersion: '1' },
        upsert(DEPLOYMENTS, 'web', 'e'),
        { type: 'snapshotEnd', feed: DEPLOYMENTS, snapshotId: 's1', resourceVersion: '10' },
      ],
      progress: [],
    };
    const outcome = await store.applyBatch(snapshot, NOW + 1);
    assert.equal(outcome.pruned, 2);
    assert.equal(outcome.touched, 1);
    assert.equal(outcome.touchesMissed, 1);
    assert.deepEqual(await names(), ['Deployment/web/a', 'Deployment/web/b', 'Deployment/web/e']);
    const replay = await store.applyBatch(snapshot, NOW + 2);
    assert.equal(replay.pruned, 0);
    assert.deepEqual(await names(), ['Deployment/web/a', 'Deployment/web/b', 'Deployment/web/e']);
    assert.deepEqual(await store.resumePoints('k8s'), [{ feed: { ...DEPLOYMENTS }, resourceVersion: '10' }]);
  });

  test('a snapshot spread over batches; a superseded snapshotEnd does not prune', async () => {
    await store.applyBatch({ account: 'k8s', changes: ['a', 'b'].map((n) => upsert(DEPLOYMENTS, 'web', n)), progress: [] }, NOW);
    await store.applyBatch({ account: 'k8s', changes: [{ type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: 's1' }, upsert(DEPLOYMENTS, 'web', 'a')], progress: [] }, NOW);
    await store.applyBatch({ account: 'k8s', changes: [{ type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: 's2' }], progress: [] }, NOW);
    const stale = await store.applyBatch({ account: 'k8s', changes: [{ type: 'snapshotEnd', feed: DEPLOYMENTS, snapshotId: 's1', resourceVersion: '3' }], progress: [] }, NOW);
    assert.equal(stale.pruned, 0);
    assert.deepEqual(await names(), ['Deployment/web/a', 'Deployment/web/b']);
    const end = await store.applyBatch(
      { account: 'k8s', changes: [{ type: 'touch', feed: DEPLOYMENTS, namespace: 'web', name: 'b', resourceVersion: '1' }, { type: 'snapshotEnd', feed: DEPLOYMENTS, snapshotId: 's2', resourceVersion: '4' }], progress: [] },
      NOW,
    );
    assert.equal(end.pruned, 1);
    assert.deepEqual(await names(), ['Deployment/web/b']);
  });

  test('a namespace-scoped feed prunes only its namespace', async () => {
    const cmOther = { ...CONFIGMAPS_WEB, namespace: 'other' };
    await store.applyBatch({ account: 'k8s', changes: [upsert(CONFIGMAPS_WEB, 'web', 'x'), upsert(cmOther, 'other', 'y')], progress: [] }, NOW);
    const outcome = await store.applyBatch(
      { account: 'k8s', changes: [{ type: 'snapshotBegin', feed: CONFIGMAPS_WEB, snapshotId: 'n1' }, { type: 'snapshotEnd', feed: CONFIGMAPS_WEB, snapshotId: 'n1', resourceVersion: '2' }], progress: [] },
      NOW,
    );
    assert.equal(outcome.pruned, 1);
    assert.deepEqual(await names('ConfigMap'), ['ConfigMap/other/y']);
  });

  test('feedDropped removes the objects and the resume point; skipped removes a stale row', async () => {
    await store.applyBatch(
      { account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a'), upsert(NAMESPACES, '', 'web'), upsert(REPLICASETS, 'web', 'r')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '5' }, { feed: NAMESPACES, resourceVersion: '6' }] },
      NOW,
    );
    assert.equal((await store.resumePoints('k8s')).length, 2);
    const outcome = await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          { type: 'feedDropped', feed: DEPLOYMENTS, reason: 'forbidden' },
          { type: 'skipped', feed: REPLICASETS, namespace: 'web', name: 'r', resourceVersion: '9', code: 'OBJECT_TOO_LARGE', message: 'too large' },
        ],
        progress: [],
      },
      NOW,
    );
    assert.equal(outcome.deleted, 2);
    assert.deepEqual(await names(), ['Namespace//web']);
    assert.deepEqual((await store.resumePoints('k8s')).map((p) => [p.feed.kind, p.resourceVersion]), [['Namespace', '6']]);
  });

  test('resume points: progress upserts, empty RVs are not resume points', async () => {
    await store.applyBatch({ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a')], progress: [] }, NOW);
    assert.deepEqual(await store.resumePoints('k8s'), []);
    await store.applyBatch({ account: 'k8s', changes: [], progress: [{ feed: DEPLOYMENTS, resourceVersion: '11' }] }, NOW);
    await store.applyBatch({ account: 'k8s', changes: [], progress: [{ feed: DEPLOYMENTS, resourceVersion: '12' }] }, NOW);
    assert.deepEqual(await store.resumePoints('k8s'), [{ feed: DEPLOYMENTS, resourceVersion: '12' }]);
  });

  test('a batch for an unknown account fails with ACCOUNT_NOT_FOUND and writes nothing', async () => {
    await assert.rejects(store.applyBatch({ account: 'nope', changes: [upsert(DEPLOYMENTS, 'web', 'a')], progress: [] }, NOW), (err) => isScaleAgentError(err, 'ACCOUNT_NOT_FOUND'));
    assert.equal(await store.countObjects(), 0);
  });

  test('listObjects filters and orders', async () => {
    await store.upsertAccount(accountRecord('a-first'), NOW);
    await store.applyBatch({ account: 'k8s', changes: [upsert(REPLICASETS, 'web', 'z'), upsert(DEPLOYMENTS, 'web', 'b'), upsert(DEPLOYMENTS, 'app', 'c')], progress: [] }, NOW);
    await store.applyBatch({ account: 'a-first', changes: [upsert(DEPLOYMENTS, 'web', 'x')], progress: [] }, NOW);
    const all = await store.listObjects({});
    assert.deepEqual(all.map((o) => `${o.account}/${o.kind}/${o.namespace}/${o.name}`), ['a-first/Deployment/web/x', 'k8s/Deployment/app/c', 'k8s/Deployment/web/b', 'k8s/ReplicaSet/web/z']);
    assert.equal((await store.listObjects({ kinds: [{ group: 'apps', kind: 'ReplicaSet' }] })).length, 1);
    assert.equal((await store.listObjects({ kinds: [] })).length, 0);
    assert.equal((await store.listObjects({ account: 'k8s', namespace: 'web', limit: 1 })).length, 1);
    assert.equal((await store.listObjects({ name: 'c', group: 'apps' }))[0]?.namespace, 'app');
    assert.equal(await store.countObjects(), 4);
    assert.equal(await store.countObjects('k8s'), 3);
  });

  test('tasks: create, get, find by request id, update, append history, list', async () => {
    const task: TaskRecord = {
      id: 't1',
      requestId: 'req-1',
      account: 'k8s',
      operationType: 'deployManifest',
      state: 'STARTED',
      history: [{ phase: 'ORCHESTRATION', status: 'Initializing Orchestration Task', timestamp: NOW }],
      resultObjects: [],
      request: [{ deployManifest: { account: 'k8s' } }],
      ownerHubId: 'hub-1',
      createdAt: NOW,
      updatedAt: NOW,
    };
    await store.createTask(task);
    await store.createTask({ ...task, id: 't2', requestId: null, createdAt: NOW + 5, updatedAt: NOW + 5 });
    assert.deepEqual(await store.getTask('t1'), task);
    assert.equal((await store.findTaskByRequestId('req-1'))?.id, 't1');
    assert.equal(await store.findTaskByRequestId('req-x'), undefined);
    await store.appendTaskHistory('t1', { phase: 'DEPLOY', status: 'go', timestamp: NOW + 1 }, NOW + 1);
    await store.updateTask('t1', { state: 'COMPLETED', resultObjects: [{ ok: true }] }, NOW + 2);
    const updated = await store.getTask('t1');
    assert.equal(updated?.state, 'COMPLETED');
    assert.equal(updated?.history.length, 2);
    assert.deepEqual(updated?.resultObjects, [{ ok: true }]);
    assert.equal(updated?.updatedAt, NOW + 2);
    assert.deepEqual((await store.listTasks(10)).map((t) => t.id), ['t2', 't1']);
    await assert.rejects(store.appendTaskHistory('nope', { phase: 'x', status: 'y', timestamp: 0 }, NOW), (err) => isScaleAgentError(err, 'TASK_NOT_FOUND'));
    assert.equal(await store.getTask('nope'), undefined);
  });

  test('operations: record, update, list newest first', async () => {
    const base = { taskId: 't1', account: 'k8s', type: 'apply', status: 'PENDING' as const, httpStatus: null, errorCode: null, message: null, agentId: null, routedAt: null, sentAt: null, executedAt: null, resultAt: null };
    await store.recordOperation({ ...base, id: 'o1', receivedAt: NOW });
    await store.recordOperation({ ...base, id: 'o2', receivedAt: NOW + 1 });
    await store.updateOperation('o1', { status: 'SUCCEEDED', httpStatus: 200, sentAt: NOW + 2, resultAt: NOW + 3, agentId: 'agent-1' });
    const ops = await store.listOperations(10);
    assert.deepEqual(ops.map((o) => o.id), ['o2', 'o1']);
    assert.equal(ops[1]?.status, 'SUCCEEDED');
    assert.equal(ops[1]?.httpStatus, 200);
    assert.equal(ops[1]?.resultAt, NOW + 3);
    assert.equal(ops[1]?.routedAt, null);
    assert.equal((await store.listOperations(1)).length, 1);
  });

  test('a large batch is written in chunks', async () => {
    const count = 1234;
    const changes = Array.from({ length: count }, (_, i) => upsert(DEPLOYMENTS, `ns-${i % 7}`, `app-${i}`));
    const outcome = await store.applyBatch({ account: 'k8s', changes, progress: [] }, NOW);
    assert.equal(outcome.upserted, count);
    const deletes = changes.map((c) => ({ type: 'delete' as const, feed: DEPLOYMENTS, namespace: (c as { namespace: string }).namespace, name: (c as { name: string }).name }));
    const removed = await store.applyBatch({ account: 'k8s', changes: deletes.slice(0, 1000), progress: [] }, NOW);
    assert.equal(removed.deleted, 1000);
    assert.equal(await store.countObjects(), count - 1000);
  });

  test('in-memory databases work for tests', async () => {
    const memory = createSqliteStore({ path: ':memory:', logger: silentLogger() });
    await memory.migrate();
    await memory.upsertAccount(accountRecord('m'), NOW);
    assert.equal((await memory.getAccount('m'))?.name, 'm');
    await memory.close();
  });
});
