import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/logger.ts';
import { isScaleAgentError } from '../../common/errors.ts';
import { forEachEngine } from '../../../test/support/databases.ts';
import { digestOf, sameDigest } from '../../protocol/feed-digest.ts';
import { createStore } from './open-store.ts';
import { migrationNames } from './migrations.ts';
import type { SqlStore } from './sql-store.ts';
import type { BatchOutcome, FeedInfo, StoreBatch, StoreChange, TaskRecord } from './types.ts';
import { CONFIGMAPS_WEB, DEPLOYMENTS, NAMESPACES, REPLICASETS, accountRecord, upsert } from './testing/fixtures.ts';

const NOW = 1_700_000_000_000;
const WIDGETS: FeedInfo = { group: 'example.com', version: 'v1', kind: 'Widget', resource: 'widgets', namespace: '', namespaced: true };
const LOWER_WIDGETS: FeedInfo = { ...WIDGETS, kind: 'widget', resource: 'lowerwidgets' };

function task(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id,
    requestId: null,
    account: 'k8s',
    operationType: 'deployManifest',
    state: 'STARTED',
    history: [{ phase: 'ORCHESTRATION', status: 'Initializing Orchestration Task', timestamp: NOW }],
    resultObjects: [],
    request: [{ deployManifest: { account: 'k8s' } }],
    ownerHubId: 'hub-1',
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  };
}

forEachEngine('Store', (engine) => {
  let store: SqlStore;

  beforeEach(async () => {
    store = await engine.openStore();
    await store.upsertAccount(accountRecord('k8s'), NOW);
  });

  afterEach(async () => {
    await store.close();
  });

  async function names(kind?: string): Promise<string[]> {
    return (await store.listObjects({ account: 'k8s', kind })).map((o) => `${o.kind}/${o.namespace}/${o.name}`);
  }

  test('migrate is idempotent and records the migration', async () => {
    await store.migrate();
    const rows = await store.db
      .selectFrom('schema_migrations' as never)
      .selectAll()
      .execute();
    assert.equal(rows.length, migrationNames(store.dialect).length);
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
    assert.deepEqual(
      (await store.listAccounts()).map((a) => a.name),
      ['k8s'],
    );
    await store.deleteAccount('k8s');
    assert.equal(await store.getAccount('k8s'), undefined);
    assert.equal(await store.countObjects('k8s'), 0);
    assert.deepEqual(await store.resumePoints('k8s'), []);
  });

  test("accounts' states are the state fields of the whole records, by name", async () => {
    await store.upsertAccount(accountRecord('b-unreachable', { unreachableReason: 'dial tcp: connection refused', hubId: 'hub-2' }), NOW + 5);
    await store.upsertAccount(accountRecord('a-served'), NOW + 10);
    await store.setAccountStatus('b-unreachable', 'disconnected', null, null, NOW + 20);
    const whole = await store.listAccounts();
    assert.deepEqual(
      await store.listAccountStates(),
      whole.map(({ name, status, unreachableReason, hubId, agentId, lastSeenAt }) => ({
        name,
        status,
        ...(unreachableReason ? { unreachableReason } : {}),
        hubId,
        agentId,
        lastSeenAt,
      })),
    );
    assert.deepEqual(
      (await store.listAccountStates()).filter((a) => a.name !== 'k8s').map((a) => [a.name, a.status, a.unreachableReason, a.hubId, a.lastSeenAt]),
      [
        ['a-served', 'connected', undefined, 'hub-1', NOW + 10],
        ['b-unreachable', 'disconnected', 'dial tcp: connection refused', null, NOW + 20],
      ],
    );
    for (const name of ['a-served', 'b-unreachable']) await store.deleteAccount(name);
  });

  test('upsert derives application, cluster and createdAt; replay is idempotent', async () => {
    const batch: StoreBatch = {
      account: 'k8s',
      changes: [
        upsert(DEPLOYMENTS, 'web', 'nginx-frontend'),
        upsert(DEPLOYMENTS, 'web', 'annotated', '2', {
          annotations: { 'moniker.spinnaker.io/application': 'shop', 'moniker.spinnaker.io/cluster': 'deployment cart' },
        }),
        upsert(REPLICASETS, 'web', 'nginx-frontend-7d9c', '3', {
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'nginx-frontend', uid: 'u', controller: true }],
        }),
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

    assert.deepEqual(
      (await store.listObjects({ application: 'nginx' })).map((o) => o.name),
      ['nginx-frontend', 'nginx-frontend-7d9c'],
    );
  });

  test("a feed's digest is what it holds, read from the rows: a row deleted, changed or added behind the hub's back shows", async () => {
    await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          upsert(DEPLOYMENTS, 'web', 'a', '10'),
          upsert(DEPLOYMENTS, 'web', 'b', '11'),
          upsert(DEPLOYMENTS, 'api', 'c', '12'),
          upsert(REPLICASETS, 'web', 'r', '13'),
        ],
        progress: [],
      },
      NOW,
    );
    const expected = digestOf([
      { uid: 'uid-a', resourceVersion: '10' },
      { uid: 'uid-b', resourceVersion: '11' },
      { uid: 'uid-c', resourceVersion: '12' },
    ]);
    assert.deepEqual(await store.feedDigest('k8s', DEPLOYMENTS), expected);
    assert.deepEqual(await store.feedDigest('k8s', { ...DEPLOYMENTS, namespace: 'api' }), digestOf([{ uid: 'uid-c', resourceVersion: '12' }]));
    const rows = () => store.db.selectFrom('objects').where('account', '=', 'k8s').where('kind', '=', 'Deployment');
    await store.db.deleteFrom('objects').where('account', '=', 'k8s').where('kind', '=', 'Deployment').where('name', '=', 'a').execute();
    assert.equal((await store.feedDigest('k8s', DEPLOYMENTS)).count, 2);
    await store.applyBatch({ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a', '10')], progress: [] }, NOW);
    assert.deepEqual(await store.feedDigest('k8s', DEPLOYMENTS), expected);
    await store.db
      .updateTable('objects')
      .set({ resource_version: '99' })
      .where('account', '=', 'k8s')
      .where('kind', '=', 'Deployment')
      .where('name', '=', 'b')
      .execute();
    const changed = await store.feedDigest('k8s', DEPLOYMENTS);
    assert.equal(changed.count, 3);
    assert.ok(!sameDigest(changed, expected));
    await store.db
      .updateTable('objects')
      .set({ resource_version: '11' })
      .where('account', '=', 'k8s')
      .where('kind', '=', 'Deployment')
      .where('name', '=', 'b')
      .execute();
    const [row] = await rows().selectAll().where('name', '=', 'c').execute();
    await store.db
      .insertInto('objects')
      .values({ ...row!, name: 'phantom', uid: 'uid-phantom' })
      .execute();
    assert.equal((await store.feedDigest('k8s', DEPLOYMENTS)).count, 4);
  });

  test("digest comparisons are recorded on the feed's row: since when it differs, how often, cleared by a match", async () => {
    await store.applyBatch({ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a', '10')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '10' }] }, NOW);
    const state = async () => (await store.feedDigestStates('k8s')).find((s) => s.kind === 'Deployment')!;
    assert.deepEqual(await state(), { group: 'apps', kind: 'Deployment', namespace: '', checkedAt: null, divergedSince: null, divergences: 0, dueSince: null });
    // The agent reconnected: a comparison is awaited from then on (a second reconnect keeps the first time).
    await store.markDigestsDue('k8s', NOW);
    await store.markDigestsDue('k8s', NOW + 1);
    await store.recordDigestComparison('k8s', DEPLOYMENTS, true, NOW + 1);
    await store.recordDigestComparison('k8s', DEPLOYMENTS, true, NOW + 2);
    assert.deepEqual(await state(), {
      group: 'apps',
      kind: 'Deployment',
      namespace: '',
      checkedAt: NOW + 2,
      divergedSince: NOW + 1,
      divergences: 2,
      dueSince: NOW,
    });
    await store.recordDigestComparison('k8s', DEPLOYMENTS, false, NOW + 3);
    assert.deepEqual(await state(), {
      group: 'apps',
      kind: 'Deployment',
      namespace: '',
      checkedAt: NOW + 3,
      divergedSince: null,
      divergences: 2,
      dueSince: null,
    });
    // Ingest afterwards keeps them.
    await store.applyBatch(
      { account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a', '11')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '11' }] },
      NOW + 4,
    );
    assert.equal((await state()).divergences, 2);
  });

  test('updates rewrite the body and follow a changed moniker, whether or not the moniker changed', async () => {
    const monikered = (rv: string, app: string, data: string) =>
      upsert(DEPLOYMENTS, 'web', 'svc', rv, { annotations: { 'moniker.spinnaker.io/application': app } }, { spec: { data } });
    await store.applyBatch({ account: 'k8s', changes: [monikered('1', 'shop', 'a'), upsert(DEPLOYMENTS, 'web', 'other')], progress: [] }, NOW);
    // Same moniker, new body; a new object beside it in the same batch.
    await store.applyBatch({ account: 'k8s', changes: [monikered('2', 'shop', 'b'), upsert(DEPLOYMENTS, 'web', 'fresh')], progress: [] }, NOW + 1);
    let svc = await store.getObject('k8s', 'apps', 'Deployment', 'web', 'svc');
    assert.equal(svc?.resourceVersion, '2');
    assert.match(svc!.body, /"data":"b"/);
    assert.equal(svc?.application, 'shop');
    assert.equal(svc?.updatedAt, NOW + 1);
    // A changed moniker moves the object between applications; beside it in one statement a changed
    // cluster, an unchanged moniker and a new object.
    const recluster = upsert(DEPLOYMENTS, 'web', 'other', '2', { annotations: { 'moniker.spinnaker.io/cluster': 'deployment main' } });
    await store.applyBatch(
      {
        account: 'k8s',
        changes: [monikered('3', 'cart', 'c'), recluster, upsert(DEPLOYMENTS, 'web', 'fresh', '2'), upsert(DEPLOYMENTS, 'web', 'third')],
        progress: [],
      },
      NOW + 2,
    );
    svc = await store.getObject('k8s', 'apps', 'Deployment', 'web', 'svc');
    assert.equal(svc?.application, 'cart');
    assert.equal(svc?.cluster, 'deployment svc');
    assert.match(svc!.body, /"data":"c"/);
    const other = await store.getObject('k8s', 'apps', 'Deployment', 'web', 'other');
    assert.deepEqual([other?.resourceVersion, other?.application, other?.cluster], ['2', 'other', 'deployment main']);
    const fresh = await store.getObject('k8s', 'apps', 'Deployment', 'web', 'fresh');
    assert.deepEqual([fresh?.resourceVersion, fresh?.updatedAt], ['2', NOW + 2]);
    assert.deepEqual(
      (await store.listObjects({ application: 'shop' })).map((o) => o.name),
      [],
    );
    assert.deepEqual(
      (await store.listObjects({ application: 'cart' })).map((o) => o.name),
      ['svc'],
    );
    assert.equal(await store.countObjects(), 4);
  });

  // The ingest contract (coalescing, snapshots and epochs, touches, feedDropped, resume points) is
  // specified case by case against the fold alone in ingest-fold.test.ts; the cases here check it end to
  // end on each engine, through the SQL that runs the fold's plan.
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
    await store.applyBatch(
      { account: 'k8s', changes: [{ type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: 's1' }, upsert(DEPLOYMENTS, 'web', 'a')], progress: [] },
      NOW,
    );
    await store.applyBatch({ account: 'k8s', changes: [{ type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: 's2' }], progress: [] }, NOW);
    const stale = await store.applyBatch(
      { account: 'k8s', changes: [{ type: 'snapshotEnd', feed: DEPLOYMENTS, snapshotId: 's1', resourceVersion: '3' }], progress: [] },
      NOW,
    );
    assert.equal(stale.pruned, 0);
    assert.deepEqual(await names(), ['Deployment/web/a', 'Deployment/web/b']);
    const end = await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          { type: 'touch', feed: DEPLOYMENTS, namespace: 'web', name: 'b', resourceVersion: '1' },
          { type: 'snapshotEnd', feed: DEPLOYMENTS, snapshotId: 's2', resourceVersion: '4' },
        ],
        progress: [],
      },
      NOW,
    );
    assert.equal(end.pruned, 1);
    assert.deepEqual(await names(), ['Deployment/web/b']);
  });

  test('a namespace-scoped feed prunes only its namespace', async () => {
    const cmOther = { ...CONFIGMAPS_WEB, namespace: 'other' };
    await store.applyBatch({ account: 'k8s', changes: [upsert(CONFIGMAPS_WEB, 'web', 'x'), upsert(cmOther, 'other', 'y')], progress: [] }, NOW);
    const outcome = await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          { type: 'snapshotBegin', feed: CONFIGMAPS_WEB, snapshotId: 'n1' },
          { type: 'snapshotEnd', feed: CONFIGMAPS_WEB, snapshotId: 'n1', resourceVersion: '2' },
        ],
        progress: [],
      },
      NOW,
    );
    assert.equal(outcome.pruned, 1);
    assert.deepEqual(await names('ConfigMap'), ['ConfigMap/other/y']);
  });

  test('feedDropped removes the objects and the resume point; skipped removes a stale row', async () => {
    await store.applyBatch(
      {
        account: 'k8s',
        changes: [upsert(DEPLOYMENTS, 'web', 'a'), upsert(NAMESPACES, '', 'web'), upsert(REPLICASETS, 'web', 'r')],
        progress: [
          { feed: DEPLOYMENTS, resourceVersion: '5' },
          { feed: NAMESPACES, resourceVersion: '6' },
        ],
      },
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
    assert.deepEqual(
      (await store.resumePoints('k8s')).map((p) => [p.feed.kind, p.resourceVersion]),
      [['Namespace', '6']],
    );
  });

  test('resume points: progress upserts, empty RVs are not resume points', async () => {
    await store.applyBatch({ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a')], progress: [] }, NOW);
    assert.deepEqual(await store.resumePoints('k8s'), []);
    await store.applyBatch({ account: 'k8s', changes: [], progress: [{ feed: DEPLOYMENTS, resourceVersion: '11' }] }, NOW);
    await store.applyBatch({ account: 'k8s', changes: [], progress: [{ feed: DEPLOYMENTS, resourceVersion: '12' }] }, NOW);
    assert.deepEqual(await store.resumePoints('k8s'), [{ feed: DEPLOYMENTS, resourceVersion: '12' }]);
  });

  test('a batch for an unknown account fails with ACCOUNT_NOT_FOUND and writes nothing', async () => {
    await assert.rejects(store.applyBatch({ account: 'nope', changes: [upsert(DEPLOYMENTS, 'web', 'a')], progress: [] }, NOW), (err) =>
      isScaleAgentError(err, 'ACCOUNT_NOT_FOUND'),
    );
    assert.equal(await store.countObjects(), 0);
  });

  test('a conditional deleteAccount removes the account only while its row is as read; an agent that registered meanwhile keeps it', async () => {
    await store.applyBatch({ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a')], progress: [] }, NOW);
    const read = (await store.getAccount('k8s'))!;
    // An agent registers the account again between the check and the removal.
    await store.upsertAccount(accountRecord('k8s'), NOW + 5);
    assert.equal(await store.deleteAccount('k8s', { status: read.status, lastSeenAt: read.lastSeenAt }), false);
    assert.ok(await store.getAccount('k8s'));
    assert.equal(await store.countObjects('k8s'), 1, 'its cache stays');
    const current = (await store.getAccount('k8s'))!;
    assert.equal(await store.deleteAccount('k8s', { status: current.status, lastSeenAt: current.lastSeenAt }), true);
    assert.equal(await store.getAccount('k8s'), undefined);
    assert.equal(await store.countObjects('k8s'), 0);
  });

  test('after deleteAccount, batches see the deletion: refused until the account registers again, then start afresh', async () => {
    const snapshot = (id: string, names: string[], rv: string): StoreBatch => ({
      account: 'k8s',
      changes: [
        { type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: id },
        ...names.map((n) => upsert(DEPLOYMENTS, 'web', n, rv)),
        { type: 'snapshotEnd', feed: DEPLOYMENTS, snapshotId: id, resourceVersion: rv },
      ],
      progress: [],
    });
    await store.applyBatch(snapshot('s1', ['a', 'b'], '10'), NOW);
    await store.deleteAccount('k8s');
    await assert.rejects(store.applyBatch({ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'c')], progress: [] }, NOW), (err) =>
      isScaleAgentError(err, 'ACCOUNT_NOT_FOUND'),
    );
    assert.equal(await store.countObjects(), 0);
    await store.upsertAccount(accountRecord('k8s'), NOW);
    assert.deepEqual(await store.resumePoints('k8s'), []);
    // The same snapshot id as before the deletion is a new snapshot of a new feed row: it prunes nothing it sent.
    const outcome = await store.applyBatch(snapshot('s1', ['d'], '20'), NOW);
    assert.equal(outcome.pruned, 0);
    assert.deepEqual(await names(), ['Deployment/web/d']);
    assert.deepEqual(
      (await store.resumePoints('k8s')).map((p) => p.resourceVersion),
      ['20'],
    );
  });

  test('listObjects filters and orders', async () => {
    await store.upsertAccount(accountRecord('a-first'), NOW);
    await store.applyBatch(
      { account: 'k8s', changes: [upsert(REPLICASETS, 'web', 'z'), upsert(DEPLOYMENTS, 'web', 'b'), upsert(DEPLOYMENTS, 'app', 'c')], progress: [] },
      NOW,
    );
    await store.applyBatch({ account: 'a-first', changes: [upsert(DEPLOYMENTS, 'web', 'x')], progress: [] }, NOW);
    const all = await store.listObjects({});
    assert.deepEqual(
      all.map((o) => `${o.account}/${o.kind}/${o.namespace}/${o.name}`),
      ['a-first/Deployment/web/x', 'k8s/Deployment/app/c', 'k8s/Deployment/web/b', 'k8s/ReplicaSet/web/z'],
    );
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
      createdBy: 'user:alice',
      ownerHubId: 'hub-1',
      createdAt: NOW,
      updatedAt: NOW,
    };
    await store.createTask(task);
    await store.createTask({ ...task, id: 't2', requestId: null, createdAt: NOW + 5, updatedAt: NOW + 5 });
    assert.deepEqual(await store.getTask('t1'), task);
    assert.equal((await store.findTaskByRequestId('req-1', 'user:alice'))?.id, 't1');
    assert.equal(await store.findTaskByRequestId('req-x', 'user:alice'), undefined);
    await store.appendTaskHistory('t1', { phase: 'DEPLOY', status: 'go', timestamp: NOW + 1 }, NOW + 1);
    await store.updateTask('t1', { state: 'COMPLETED', resultObjects: [{ ok: true }] }, NOW + 2);
    const updated = await store.getTask('t1');
    assert.equal(updated?.state, 'COMPLETED');
    assert.equal(updated?.history.length, 2);
    assert.deepEqual(updated?.resultObjects, [{ ok: true }]);
    assert.equal(updated?.updatedAt, NOW + 2);
    assert.deepEqual(
      (await store.listTasks(10)).map((t) => t.id),
      ['t2', 't1'],
    );
    await assert.rejects(store.appendTaskHistory('nope', { phase: 'x', status: 'y', timestamp: 0 }, NOW), (err) => isScaleAgentError(err, 'TASK_NOT_FOUND'));
    assert.equal(await store.getTask('nope'), undefined);
  });

  test('operations: record, update, list newest first', async () => {
    const base = {
      taskId: 't1',
      account: 'k8s',
      type: 'apply',
      status: 'PENDING' as const,
      httpStatus: null,
      errorCode: null,
      message: null,
      agentId: null,
      routedAt: null,
      sentAt: null,
      executedAt: null,
      resultAt: null,
    };
    await store.recordOperation({ ...base, id: 'o1', receivedAt: NOW });
    await store.recordOperation({ ...base, id: 'o2', receivedAt: NOW + 1 });
    await store.updateOperation('o1', { status: 'SUCCEEDED', httpStatus: 200, sentAt: NOW + 2, resultAt: NOW + 3, agentId: 'agent-1' });
    const ops = await store.listOperations(10);
    assert.deepEqual(
      ops.map((o) => o.id),
      ['o2', 'o1'],
    );
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
    const deletes = changes.map((c) => ({
      type: 'delete' as const,
      feed: DEPLOYMENTS,
      namespace: (c as { namespace: string }).namespace,
      name: (c as { name: string }).name,
    }));
    const removed = await store.applyBatch({ account: 'k8s', changes: deletes.slice(0, 1000), progress: [] }, NOW);
    assert.equal(removed.deleted, 1000);
    assert.equal(await store.countObjects(), count - 1000);
  });

  test('numbers come back as numbers (PostgreSQL returns BIGINT as text, MySQL counts as BIGINT)', async () => {
    await store.applyBatch({ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '5' }] }, NOW);
    const object = await store.getObject('k8s', 'apps', 'Deployment', 'web', 'a');
    assert.equal(typeof object?.updatedAt, 'number');
    assert.equal(object?.updatedAt, NOW);
    assert.equal(typeof object?.createdAt, 'number');
    const account = await store.getAccount('k8s');
    assert.equal(account?.registeredAt, NOW);
    assert.equal(typeof account?.lastSeenAt, 'number');
    assert.equal(await store.countObjects(), 1);
    assert.equal((await store.resumePoints('k8s'))[0]?.feed.namespaced, true);
  });

  test('keys compare case-sensitively and sort by bytes on every engine', async () => {
    await store.upsertAccount(accountRecord('K8s'), NOW);
    const outcome = await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          upsert(WIDGETS, 'web', 'Nginx', '1'),
          upsert(WIDGETS, 'web', 'nginx', '2'),
          upsert(LOWER_WIDGETS, 'web', 'nginx', '3'),
          upsert(WIDGETS, 'Web', 'nginx', '4'),
          upsert(WIDGETS, 'web', 'b', '5'),
          upsert(WIDGETS, 'web', 'B', '6'),
        ],
        progress: [],
      },
      NOW,
    );
    assert.equal(outcome.upserted, 6);
    assert.equal(await store.countObjects('k8s'), 6);
    assert.equal(await store.countObjects('K8s'), 0);
    assert.equal((await store.getObject('k8s', 'example.com', 'Widget', 'web', 'Nginx'))?.resourceVersion, '1');
    assert.equal((await store.getObject('k8s', 'example.com', 'Widget', 'web', 'nginx'))?.resourceVersion, '2');
    assert.equal((await store.getObject('k8s', 'example.com', 'widget', 'web', 'nginx'))?.resourceVersion, '3');
    assert.equal((await store.getObject('k8s', 'example.com', 'Widget', 'Web', 'nginx'))?.resourceVersion, '4');
    assert.equal(await store.getObject('k8s', 'example.com', 'WIDGET', 'web', 'nginx'), undefined);
    assert.equal(await store.getObject('k8s', 'Example.com', 'Widget', 'web', 'nginx'), undefined);
    // Byte order: uppercase before lowercase, as SQLite's BINARY collation sorts.
    assert.deepEqual(
      (await store.listObjects({ account: 'k8s', group: 'example.com' })).map((o) => `${o.kind}/${o.namespace}/${o.name}`),
      ['Widget/Web/nginx', 'Widget/web/B', 'Widget/web/Nginx', 'Widget/web/b', 'Widget/web/nginx', 'widget/web/nginx'],
    );
    assert.deepEqual(
      (await store.listAccounts()).map((a) => a.name),
      ['K8s', 'k8s'],
    );
    await store.applyBatch({ account: 'k8s', changes: [{ type: 'delete', feed: WIDGETS, namespace: 'web', name: 'NGINX' }], progress: [] }, NOW);
    assert.equal(await store.countObjects('k8s'), 6);
    await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          { type: 'snapshotBegin', feed: LOWER_WIDGETS, snapshotId: 's' },
          { type: 'snapshotEnd', feed: LOWER_WIDGETS, snapshotId: 's', resourceVersion: '9' },
        ],
        progress: [],
      },
      NOW,
    );
    assert.deepEqual((await store.listObjects({ account: 'k8s', kind: 'widget' })).length, 0);
    assert.deepEqual((await store.listObjects({ account: 'k8s', kind: 'Widget' })).length, 5);
  });

  test('text keeps 4-byte characters; over-long descriptive values are cut, not refused', async () => {
    const app = 'shop-\u{1F680}-\u00e9';
    const longCluster = 'deployment ' + 'x'.repeat(600);
    const longApp = 'a'.repeat(300) + '\u{1F680}';
    await store.applyBatch(
      {
        account: 'k8s',
        changes: [
          upsert(DEPLOYMENTS, 'web', 'emoji', '1', { annotations: { 'moniker.spinnaker.io/application': app, note: '\u{1F600} \u4e2d\u6587 \\ \' " \u0001' } }),
          upsert(DEPLOYMENTS, 'web', 'long', '1', {
            annotations: { 'moniker.spinnaker.io/application': longApp, 'moniker.spinnaker.io/cluster': longCluster },
          }),
        ],
        progress: [],
      },
      NOW,
    );
    const emoji = await store.getObject('k8s', 'apps', 'Deployment', 'web', 'emoji');
    assert.equal(emoji?.application, app);
    assert.equal(JSON.parse(emoji?.body ?? '{}').metadata.annotations.note, '\u{1F600} \u4e2d\u6587 \\ \' " \u0001');
    assert.deepEqual(
      (await store.listObjects({ application: app })).map((o) => o.name),
      ['emoji'],
    );
    const long = await store.getObject('k8s', 'apps', 'Deployment', 'web', 'long');
    assert.equal(long?.application, 'a'.repeat(253));
    assert.equal(long?.cluster, longCluster.slice(0, 512));
    assert.deepEqual(
      (await store.listObjects({ application: longApp })).map((o) => o.name),
      ['long'],
    );
    await store.upsertAccount(accountRecord('\u00fcber', { properties: { note: '\u{1F680}' } }), NOW);
    assert.deepEqual((await store.getAccount('\u00fcber'))?.properties, { note: '\u{1F680}' });
  });

  test('large bodies: multi-megabyte objects, and a batch larger than one statement may carry', async () => {
    // 8 bodies of 2.25 MB once JSON-escaped: more than MariaDB's 16 MiB max_allowed_packet default if
    // written as one statement.
    const big = 'x"'.repeat(750_000);
    const changes: StoreChange[] = Array.from({ length: 8 }, (_, i) => upsert(CONFIGMAPS_WEB, 'web', `big-${i}`, '1', {}, { data: { blob: big } }));
    const outcome = await store.applyBatch({ account: 'k8s', changes, progress: [] }, NOW);
    assert.equal(outcome.upserted, 8);
    const stored = await store.getObject('k8s', '', 'ConfigMap', 'web', 'big-7');
    assert.equal(JSON.parse(stored?.body ?? '{}').data.blob, big);
    assert.equal(await store.countObjects(), 8);
  });

  test('concurrent batches of different accounts all commit', async () => {
    const accounts = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    for (const name of accounts) await store.upsertAccount(accountRecord(name), NOW);
    const rounds = 8;
    await Promise.all(
      accounts.map(async (account) => {
        for (let round = 0; round < rounds; round++) {
          const changes: StoreChange[] = [{ type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: `s${round}` }];
          for (let i = 0; i < 40; i++) changes.push(upsert(DEPLOYMENTS, `ns-${i % 3}`, `d-${(i + round) % 50}`, String(round)));
          changes.push({ type: 'delete', feed: DEPLOYMENTS, namespace: 'ns-0', name: `d-${round}` });
          changes.push({ type: 'snapshotEnd', feed: DEPLOYMENTS, snapshotId: `s${round}`, resourceVersion: String(round) });
          await store.applyBatch({ account, changes, progress: [{ feed: DEPLOYMENTS, resourceVersion: String(round) }] }, NOW + round);
        }
      }),
    );
    const last = rounds - 1;
    const expected = new Set<string>();
    for (let i = 0; i < 40; i++) expected.add(`ns-${i % 3}/d-${(i + last) % 50}`);
    expected.delete(`ns-0/d-${last}`);
    for (const account of accounts) {
      const objects = await store.listObjects({ account });
      assert.deepEqual(new Set(objects.map((o) => `${o.namespace}/${o.name}`)), expected, account);
      assert.ok(objects.every((o) => o.resourceVersion === String(last)));
      assert.deepEqual(
        (await store.resumePoints(account)).map((p) => p.resourceVersion),
        [String(last)],
      );
    }
  });

  test('concurrent batches of one account apply one at a time: every snapshot takes its own epoch', async () => {
    await store.applyBatch({ account: 'k8s', changes: ['a', 'b', 'c'].map((n) => upsert(DEPLOYMENTS, 'web', n)), progress: [] }, NOW);
    const feeds = ['web', 'app', 'db', 'ops'].map((namespace) => ({ ...CONFIGMAPS_WEB, namespace }));
    await Promise.all(
      feeds.map((feed) =>
        store.applyBatch(
          {
            account: 'k8s',
            changes: [
              { type: 'snapshotBegin', feed, snapshotId: feed.namespace },
              upsert(feed, feed.namespace, 'cm'),
              { type: 'snapshotEnd', feed, snapshotId: feed.namespace, resourceVersion: '1' },
            ],
            progress: [],
          },
          NOW,
        ),
      ),
    );
    assert.equal(await store.countObjects('k8s'), 3 + feeds.length);
    const epochs = await store.db.selectFrom('feeds').select('epoch').where('kind', '=', 'ConfigMap').execute();
    assert.equal(new Set(epochs.map((e) => Number(e.epoch))).size, feeds.length);
  });

  test('concurrent batches where one fails: the others commit, only that one is refused', async () => {
    const accounts = ['g1', 'g2', 'g3'];
    for (const name of accounts) await store.upsertAccount(accountRecord(name), NOW);
    const results = await Promise.allSettled([
      ...accounts.map((account) => store.applyBatch({ account, changes: [upsert(DEPLOYMENTS, 'web', 'a')], progress: [] }, NOW)),
      store.applyBatch({ account: 'missing', changes: [upsert(DEPLOYMENTS, 'web', 'b')], progress: [] }, NOW),
      ...accounts.map((account) =>
        store.applyBatch({ account, changes: [upsert(DEPLOYMENTS, 'web', 'c')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '3' }] }, NOW),
      ),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    assert.ok(isScaleAgentError((results[3] as PromiseRejectedResult).reason, 'ACCOUNT_NOT_FOUND'));
    for (const account of accounts) {
      assert.deepEqual(
        (await store.listObjects({ account })).map((o) => o.name),
        ['a', 'c'],
        account,
      );
      assert.deepEqual(
        (await store.resumePoints(account)).map((p) => p.resourceVersion),
        ['3'],
      );
    }
  });

  test('batches committed together each get the outcome and rows they would get alone', async () => {
    await store.upsertAccount(accountRecord('other'), NOW);
    await store.applyBatch({ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'kept'), upsert(DEPLOYMENTS, 'web', 'gone')], progress: [] }, NOW);
    const batches: Array<[StoreBatch, number]> = [
      [{ account: 'k8s', changes: [upsert(DEPLOYMENTS, 'web', 'a', '2')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '2' }] }, NOW + 1],
      [{ account: 'other', changes: [upsert(DEPLOYMENTS, 'web', 'a', '3')], progress: [{ feed: DEPLOYMENTS, resourceVersion: '3' }] }, NOW + 2],
      [
        {
          account: 'k8s',
          changes: [
            { type: 'delete', feed: DEPLOYMENTS, namespace: 'web', name: 'a' },
            { type: 'delete', feed: DEPLOYMENTS, namespace: 'web', name: 'gone' },
          ],
          progress: [],
        },
        NOW + 3,
      ],
      [
        {
          account: 'k8s',
          changes: [upsert(DEPLOYMENTS, 'web', 'a', '5'), upsert(DEPLOYMENTS, 'web', 'b', '5')],
          progress: [{ feed: DEPLOYMENTS, resourceVersion: '5' }],
        },
        NOW + 4,
      ],
      [
        {
          account: 'k8s',
          changes: [
            { type: 'touch', feed: DEPLOYMENTS, namespace: 'web', name: 'b', resourceVersion: '5' },
            { type: 'touch', feed: DEPLOYMENTS, namespace: 'web', name: 'missing', resourceVersion: '1' },
          ],
          progress: [],
        },
        NOW + 5,
      ],
    ];
    // On SQLite, batches issued without waiting share one transaction (all but the first: a group
    // commit). PostgreSQL and MySQL run concurrent transactions in no set order, so there they go in turn.
    const outcomes =
      store.dialect.name === 'sqlite'
        ? await Promise.all(batches.map(([batch, now]) => store.applyBatch(batch, now)))
        : await batches.reduce<Promise<BatchOutcome[]>>(
            async (done, [batch, now]) => [...(await done), await store.applyBatch(batch, now)],
            Promise.resolve([]),
          );
    assert.deepEqual(
      outcomes.map((o) => [o.upserted, o.deleted, o.touched, o.pruned]),
      [
        [1, 0, 0, 0],
        [1, 0, 0, 0],
        [0, 2, 0, 0],
        [2, 0, 0, 0],
        [0, 0, 1, 0],
      ],
    );
    assert.equal(outcomes[4]!.touchesMissed, 1);
    const k8s = await store.listObjects({ account: 'k8s' });
    assert.deepEqual(
      k8s.map((o) => `${o.name}@${o.resourceVersion}`),
      ['a@5', 'b@5', 'kept@1'],
    );
    assert.deepEqual(
      (await store.listObjects({ account: 'other' })).map((o) => `${o.name}@${o.resourceVersion}`),
      ['a@3'],
    );
    assert.deepEqual(
      (await store.resumePoints('k8s')).map((p) => p.resourceVersion),
      ['5'],
    );
    assert.deepEqual(
      (await store.resumePoints('other')).map((p) => p.resourceVersion),
      ['3'],
    );
  });

  test('a snapshot over batches committed together prunes once, at its end, what none of them re-sent', async () => {
    await store.upsertAccount(accountRecord('other'), NOW);
    await store.applyBatch({ account: 'k8s', changes: ['a', 'b', 'c', 'd'].map((n) => upsert(DEPLOYMENTS, 'web', n)), progress: [] }, NOW);
    const batches: StoreBatch[] = [
      // On SQLite the first batch commits alone and the others, arriving meanwhile, as one group.
      { account: 'other', changes: [upsert(DEPLOYMENTS, 'web', 'y')], progress: [] },
      { account: 'k8s', changes: [{ type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: 's1' }, upsert(DEPLOYMENTS, 'web', 'a', '2')], progress: [] },
      { account: 'other', changes: [upsert(DEPLOYMENTS, 'web', 'x')], progress: [] },
      { account: 'k8s', changes: [{ type: 'touch', feed: DEPLOYMENTS, namespace: 'web', name: 'b', resourceVersion: '1' }], progress: [] },
      { account: 'k8s', changes: [{ type: 'snapshotEnd', feed: DEPLOYMENTS, snapshotId: 's1', resourceVersion: '9' }], progress: [] },
    ];
    const outcomes =
      store.dialect.name === 'sqlite'
        ? await Promise.all(batches.map((batch) => store.applyBatch(batch, NOW + 1)))
        : await batches.reduce<Promise<BatchOutcome[]>>(async (done, batch) => [...(await done), await store.applyBatch(batch, NOW + 1)], Promise.resolve([]));
    assert.deepEqual(
      outcomes.map((o) => [o.upserted, o.deleted, o.touched, o.pruned]),
      [
        [1, 0, 0, 0],
        [1, 0, 0, 0],
        [1, 0, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 2],
      ],
    );
    assert.deepEqual(await names(), ['Deployment/web/a', 'Deployment/web/b']);
    assert.deepEqual(
      (await store.listObjects({ account: 'other' })).map((o) => o.name),
      ['x', 'y'],
    );
    assert.deepEqual(
      (await store.resumePoints('k8s')).map((p) => p.resourceVersion),
      ['9'],
    );
  });

  test('client request ids are scoped to the task creator; tasks stored without one are returned to anyone', async () => {
    await store.createTask(task('t-alice', { requestId: 'shared', createdBy: 'user:alice' }));
    await store.createTask(task('t-bob', { requestId: 'shared', createdBy: 'user:bob', createdAt: NOW + 1 }));
    assert.equal((await store.findTaskByRequestId('shared', 'user:alice'))?.id, 't-alice', "bob's newer task is not alice's");
    assert.equal((await store.findTaskByRequestId('shared', 'user:bob'))?.id, 't-bob');
    assert.equal(await store.findTaskByRequestId('shared', 'user:carol'), undefined);
    assert.equal(await store.findTaskByRequestId('shared', 'anonymous'), undefined);
    // A task stored before creators were recorded (NULL) is returned with createdBy null: the route decides.
    await store.createTask(task('t-old', { requestId: 'old' }));
    const old = await store.findTaskByRequestId('old', 'user:carol');
    assert.equal(old?.id, 't-old');
    assert.equal(old?.createdBy, null);
    // A creator longer than the column is kept as its digest and still finds its task.
    const longUser = `user:${'u'.repeat(400)}`;
    await store.createTask(task('t-long-user', { requestId: 'long-user', createdBy: longUser }));
    assert.equal((await store.findTaskByRequestId('long-user', longUser))?.id, 't-long-user');
    assert.equal(await store.findTaskByRequestId('long-user', `${longUser}x`), undefined);
  });

  test('concurrent history appends to one task keep every entry', async () => {
    await store.createTask(task('t1'));
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.appendTaskHistory('t1', { phase: 'P', status: `s${i}`, timestamp: NOW + i }, NOW + i)));
    assert.equal((await store.getTask('t1'))?.history.length, 11);
  });

  test('client request ids of any length find their task; messages keep odd characters', async () => {
    const long = 'r'.repeat(1000);
    await store.createTask(task('t-long', { requestId: long }));
    await store.createTask(task('t-other', { requestId: 'r'.repeat(999) + 's', createdAt: NOW + 1 }));
    assert.equal((await store.findTaskByRequestId(long, 'anonymous'))?.id, 't-long');
    await store.recordOperation({
      id: 'o1',
      taskId: 't-long',
      account: 'k8s',
      type: 'apply',
      status: 'FAILED',
      httpStatus: 500,
      errorCode: 'E'.repeat(100),
      message: 'bad\u0000byte \u{1F680}',
      agentId: null,
      receivedAt: NOW,
      routedAt: null,
      sentAt: null,
      executedAt: null,
      resultAt: null,
    });
    await store.updateOperation('o1', { message: 'still\u0000bad', errorCode: 'F'.repeat(100) });
    const [op] = await store.listOperations(1);
    assert.equal(op?.message, 'still\uFFFDbad');
    assert.equal(op?.errorCode, 'F'.repeat(64));
  });

  test('two hubs migrating a new database at once both start', async () => {
    const url = await engine.createDatabase();
    const [a, b] = await Promise.all([createStore({ url, poolSize: 2 }, silentLogger()), createStore({ url, poolSize: 2 }, silentLogger())]);
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      await a.upsertAccount(accountRecord('shared'), NOW);
      assert.equal((await b.getAccount('shared'))?.name, 'shared');
      const rows = await b.db
        .selectFrom('schema_migrations' as never)
        .selectAll()
        .execute();
      assert.equal(rows.length, migrationNames(b.dialect).length);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
