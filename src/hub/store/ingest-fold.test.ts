import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isScaleAgentError } from '../../common/errors.ts';
import { foldBatches, type AppliedOutcome, type BatchInput, type FeedScope, type IngestPlan } from './ingest-fold.ts';
import { accountFeedKey, feedKey, objectKey } from './ingest-keys.ts';
import { IngestPlanModel } from './testing/ingest-plan-model.ts';
import { CONFIGMAPS_WEB, DEPLOYMENTS, NAMESPACES, REPLICASETS, upsert } from './testing/fixtures.ts';
import type { FeedInfo, StoreChange } from './types.ts';

// The snapshot contract, stated against the fold alone: no database, milliseconds. Plans are run on
// IngestPlanModel (what batch-apply.ts does with SQL, on maps) where a spec is about which objects a
// group keeps; store.test.ts checks the same contract end to end on each engine.

const NOW = 1_700_000_000_000;

function batch(account: string, changes: StoreChange[], progress: Array<[FeedInfo, string]> = [], now = NOW): BatchInput {
  return { batch: { account, changes, progress: progress.map(([feed, resourceVersion]) => ({ feed, resourceVersion })) }, now };
}
const del = (feed: FeedInfo, namespace: string, name: string): StoreChange => ({ type: 'delete', feed, namespace, name });
const touch = (feed: FeedInfo, namespace: string, name: string): StoreChange => ({ type: 'touch', feed, namespace, name, resourceVersion: '1' });
const begin = (feed: FeedInfo, snapshotId: string): StoreChange => ({ type: 'snapshotBegin', feed, snapshotId });
const end = (feed: FeedInfo, snapshotId: string, resourceVersion: string): StoreChange => ({ type: 'snapshotEnd', feed, snapshotId, resourceVersion });
const dropped = (feed: FeedInfo): StoreChange => ({ type: 'feedDropped', feed, reason: 'forbidden' });

/** A plan's steps in a line each per write: `upsert#<batch> account/kind/namespace/name@rv e<epoch>`, and so on. */
function steps(plan: IngestPlan): string[][] {
  const scope = (s: FeedScope) => `${s.account}/${s.kind}/${s.namespace === '' ? '*' : s.namespace}`;
  return plan.steps.map((s) => {
    switch (s.step) {
      case 'write':
        return [
          'write',
          ...s.deletes.map((d) => `delete#${d.batch} ${d.account}/${d.kind}/${d.namespace}/${d.name}`),
          ...s.upserts.map(({ batch: i, row: r }) => `upsert#${i} ${r.account}/${r.kind}/${r.namespace}/${r.name}@${r.resource_version} e${r.epoch}`),
          ...s.touches.map((t) => `touch#${t.batch} ${t.account}/${t.kind}/${t.namespace}/${t.name} e${t.epoch}`),
        ];
      case 'prune':
        return [`prune#${s.batch} ${scope(s)} <e${s.olderThanEpoch}`];
      case 'dropFeed':
        return [`drop#${s.batch} ${scope(s)}${s.deleteRow ? ' +row' : ''}`];
    }
  });
}

/** Folds a group on the model's state, keeping the fold's own outcomes apart from the completed ones. */
function apply(model: IngestPlanModel, ...inputs: BatchInput[]): { plan: IngestPlan; folded: AppliedOutcome[]; outcomes: AppliedOutcome[] } {
  const plan = foldBatches(inputs, model.state());
  const folded = structuredClone(plan.outcomes);
  return { plan, folded, outcomes: model.run(plan) };
}

const counts = (upserted: number, deleted: number, touched: number, pruned: number, touchesMissed = 0): AppliedOutcome => ({
  upserted,
  deleted,
  touched,
  pruned,
  touchesMissed,
});

test('a snapshot prunes exactly what it did not re-send: its upserts and touches carry its epoch, its end prunes the older ones after them', () => {
  const model = new IngestPlanModel(['k8s', 'other']);
  apply(
    model,
    batch('k8s', [...['a', 'b', 'c', 'd'].map((n) => upsert(DEPLOYMENTS, 'web', n)), upsert(REPLICASETS, 'web', 'r')]),
    batch('other', [upsert(DEPLOYMENTS, 'web', 'c')]),
  );
  const snapshot = batch(
    'k8s',
    [
      begin(DEPLOYMENTS, 's1'),
      upsert(DEPLOYMENTS, 'web', 'a', '9'),
      touch(DEPLOYMENTS, 'web', 'b'),
      touch(DEPLOYMENTS, 'web', 'ghost'),
      upsert(DEPLOYMENTS, 'web', 'e'),
      end(DEPLOYMENTS, 's1', '10'),
    ],
    [],
    NOW + 1,
  );
  const { plan, folded, outcomes } = apply(model, snapshot);
  assert.deepEqual(steps(plan), [
    [
      'write',
      'upsert#0 k8s/Deployment/web/a@9 e1',
      'upsert#0 k8s/Deployment/web/e@1 e1',
      'touch#0 k8s/Deployment/web/b e1',
      'touch#0 k8s/Deployment/web/ghost e1',
    ],
    ['prune#0 k8s/Deployment/* <e1'],
  ]);
  // The fold knows the upserts; the touches' targets and the pruned rows only the store knows.
  assert.deepEqual(folded, [counts(2, 0, 0, 0)]);
  assert.deepEqual(outcomes, [counts(2, 0, 1, 2, 1)]);
  assert.deepEqual(model.names(), ['Deployment/web/a', 'Deployment/web/b', 'Deployment/web/e', 'ReplicaSet/web/r']);
  assert.deepEqual(model.names('other'), ['Deployment/web/c'], "another account's objects of the kind are not the feed's");
  assert.deepEqual(plan.accounts.get('k8s'), { startEpoch: 0, epoch: 1 });
  assert.deepEqual(plan.accounts.get('other'), { startEpoch: 0, epoch: 0 });
  assert.deepEqual(plan.feedWrites, [
    {
      account: 'k8s',
      api_group: 'apps',
      kind: 'Deployment',
      namespace: '',
      version: 'v1',
      resource: 'deployments',
      namespaced: 1,
      resume_rv: '10',
      epoch: 1,
      snapshot_id: 's1',
      updated_at: NOW + 1,
    },
  ]);

  // A replay (the agent re-sent it before seeing the acknowledgement) keeps the epoch and prunes nothing.
  const replay = apply(model, snapshot);
  assert.deepEqual(steps(replay.plan), steps(plan));
  assert.deepEqual(replay.plan.accounts.get('k8s'), { startEpoch: 1, epoch: 1 });
  assert.deepEqual(replay.outcomes, [counts(2, 0, 1, 0, 1)]);
  assert.deepEqual(model.names(), ['Deployment/web/a', 'Deployment/web/b', 'Deployment/web/e', 'ReplicaSet/web/r']);
  assert.equal(model.feed('k8s', DEPLOYMENTS)?.resume_rv, '10');
});

test("a namespace-scoped feed's prune is limited to its namespace", () => {
  const model = new IngestPlanModel(['k8s']);
  const cmOther = { ...CONFIGMAPS_WEB, namespace: 'other' };
  apply(model, batch('k8s', [upsert(CONFIGMAPS_WEB, 'web', 'x'), upsert(cmOther, 'other', 'y')]));
  const { plan, outcomes } = apply(model, batch('k8s', [begin(CONFIGMAPS_WEB, 'n1'), end(CONFIGMAPS_WEB, 'n1', '2')]));
  assert.deepEqual(steps(plan), [['prune#0 k8s/ConfigMap/web <e1']]);
  assert.equal(outcomes[0]!.pruned, 1);
  assert.deepEqual(model.names(), ['ConfigMap/other/y']);
});

test('a snapshot spanning several batches and several groups: every batch stamps the epoch its begin took, its end prunes once', () => {
  const model = new IngestPlanModel(['k8s', 'other']);
  apply(
    model,
    batch(
      'k8s',
      ['a', 'b', 'c', 'd'].map((n) => upsert(DEPLOYMENTS, 'web', n)),
    ),
    batch('other', [upsert(DEPLOYMENTS, 'web', 'a')]),
  );

  const first = apply(
    model,
    batch('k8s', [begin(DEPLOYMENTS, 's1'), upsert(DEPLOYMENTS, 'web', 'a', '2')]),
    batch('other', [upsert(DEPLOYMENTS, 'web', 'a', '2')]),
    batch('k8s', [upsert(DEPLOYMENTS, 'web', 'b', '2')]),
  );
  assert.deepEqual(steps(first.plan), [
    ['write', 'upsert#0 k8s/Deployment/web/a@2 e1', 'upsert#1 other/Deployment/web/a@2 e0', 'upsert#2 k8s/Deployment/web/b@2 e1'],
  ]);
  assert.deepEqual(model.names(), ['Deployment/web/a', 'Deployment/web/b', 'Deployment/web/c', 'Deployment/web/d'], 'not ended yet: nothing pruned');

  // The next group starts from the feed row the first one wrote: the snapshot's epoch and id.
  assert.deepEqual([model.feed('k8s', DEPLOYMENTS)?.epoch, model.feed('k8s', DEPLOYMENTS)?.snapshot_id], [1, 's1']);
  const second = apply(
    model,
    batch('k8s', [touch(DEPLOYMENTS, 'web', 'c')]),
    batch('other', [begin(DEPLOYMENTS, 'o1'), upsert(DEPLOYMENTS, 'web', 'z')]),
    batch('k8s', [end(DEPLOYMENTS, 's1', '7')]),
  );
  assert.deepEqual(steps(second.plan), [
    ['write', 'upsert#1 other/Deployment/web/z@1 e1', 'touch#0 k8s/Deployment/web/c e1'],
    ['prune#2 k8s/Deployment/* <e1'],
  ]);
  assert.deepEqual(second.outcomes, [counts(0, 0, 1, 0), counts(1, 0, 0, 0), counts(0, 0, 0, 1)]);
  assert.deepEqual(model.names(), ['Deployment/web/a', 'Deployment/web/b', 'Deployment/web/c']);
  assert.deepEqual(model.names('other'), ['Deployment/web/a', 'Deployment/web/z'], "the other account's snapshot has not ended");
  assert.equal(model.feed('k8s', DEPLOYMENTS)?.resume_rv, '7');
});

test('a snapshot begun and not ended prunes nothing; later changes keep its epoch', () => {
  const model = new IngestPlanModel(['k8s']);
  apply(model, batch('k8s', [upsert(DEPLOYMENTS, 'web', 'a'), upsert(DEPLOYMENTS, 'web', 'b')]));
  const begun = apply(model, batch('k8s', [begin(DEPLOYMENTS, 's1'), upsert(DEPLOYMENTS, 'web', 'a', '2')]));
  assert.deepEqual(steps(begun.plan), [['write', 'upsert#0 k8s/Deployment/web/a@2 e1']]);
  assert.deepEqual(
    begun.plan.feedWrites.map((r) => [r.kind, r.epoch, r.snapshot_id, r.resume_rv]),
    [['Deployment', 1, 's1', '']],
  );
  const later = apply(model, batch('k8s', [upsert(DEPLOYMENTS, 'web', 'c')]), batch('k8s', [touch(DEPLOYMENTS, 'web', 'b')]));
  assert.deepEqual(steps(later.plan), [['write', 'upsert#0 k8s/Deployment/web/c@1 e1', 'touch#1 k8s/Deployment/web/b e1']]);
  assert.deepEqual(later.plan.feedWrites, [], 'the feed row is unchanged');
  assert.deepEqual(model.names(), ['Deployment/web/a', 'Deployment/web/b', 'Deployment/web/c']);
});

test("changes to one object coalesce: last change wins in a batch, and a later batch first closes the earlier batch's write", () => {
  const model = new IngestPlanModel(['k8s']);
  // Within a batch: upsert then delete is a delete, delete then upsert an upsert, two upserts the last.
  const within = apply(
    model,
    batch('k8s', [
      upsert(DEPLOYMENTS, 'web', 'a'),
      del(DEPLOYMENTS, 'web', 'a'),
      del(DEPLOYMENTS, 'web', 'b'),
      upsert(DEPLOYMENTS, 'web', 'b', '7'),
      upsert(DEPLOYMENTS, 'web', 'c', '1'),
      upsert(DEPLOYMENTS, 'web', 'c', '2'),
    ]),
  );
  assert.deepEqual(steps(within.plan), [
    ['write', 'delete#0 k8s/Deployment/web/a', 'upsert#0 k8s/Deployment/web/b@7 e0', 'upsert#0 k8s/Deployment/web/c@2 e0'],
  ]);
  assert.deepEqual(within.outcomes, [counts(2, 0, 0, 0)]);
  assert.deepEqual(model.names(), ['Deployment/web/b', 'Deployment/web/c']);

  // Across batches of a group: each batch's write of the object is its own, so each gets its own counts.
  const across = apply(
    model,
    batch('k8s', [upsert(DEPLOYMENTS, 'web', 'b', '8')]),
    batch('k8s', [del(DEPLOYMENTS, 'web', 'b'), upsert(DEPLOYMENTS, 'web', 'd')]),
    batch('k8s', [upsert(DEPLOYMENTS, 'web', 'b', '9')]),
  );
  assert.deepEqual(steps(across.plan), [
    ['write', 'upsert#0 k8s/Deployment/web/b@8 e0'],
    ['write', 'delete#1 k8s/Deployment/web/b', 'upsert#1 k8s/Deployment/web/d@1 e0'],
    ['write', 'upsert#2 k8s/Deployment/web/b@9 e0'],
  ]);
  assert.deepEqual(across.outcomes, [counts(1, 0, 0, 0), counts(1, 1, 0, 0), counts(1, 0, 0, 0)]);
  assert.equal(model.objects.size, 3);
});

test("touches: of a pending upsert they stamp it, of a pending delete they miss, otherwise they are written with the feed's epoch", () => {
  const model = new IngestPlanModel(['k8s']);
  apply(model, batch('k8s', [upsert(DEPLOYMENTS, 'web', 'b'), upsert(DEPLOYMENTS, 'web', 'gone')]));
  const { plan, folded, outcomes } = apply(
    model,
    batch('k8s', [del(DEPLOYMENTS, 'web', 'gone'), upsert(DEPLOYMENTS, 'web', 'a')]),
    batch('k8s', [
      begin(DEPLOYMENTS, 's1'),
      touch(DEPLOYMENTS, 'web', 'a'),
      touch(DEPLOYMENTS, 'web', 'b'),
      touch(DEPLOYMENTS, 'web', 'gone'),
      touch(DEPLOYMENTS, 'web', 'never'),
    ]),
  );
  // The touch of `a` (an earlier batch's pending upsert, made before the snapshot began) stamps it with
  // the snapshot's epoch: no write of its own, no flush.
  assert.deepEqual(steps(plan), [
    [
      'write',
      'delete#0 k8s/Deployment/web/gone',
      'upsert#0 k8s/Deployment/web/a@1 e1',
      'touch#1 k8s/Deployment/web/b e1',
      'touch#1 k8s/Deployment/web/never e1',
    ],
  ]);
  assert.deepEqual(folded, [counts(1, 0, 0, 0), counts(0, 0, 1, 0, 1)]);
  assert.deepEqual(outcomes, [counts(1, 1, 0, 0), counts(0, 0, 2, 0, 2)]);
  assert.equal(model.objects.get(objectKey('k8s', 'apps', 'Deployment', 'web', 'b'))?.epoch, 1);

  // A touch takes the epoch its feed has at that change; a touch of an object an earlier batch touched is its own write.
  const again = apply(
    model,
    batch('k8s', [touch(DEPLOYMENTS, 'web', 'a'), begin(DEPLOYMENTS, 's2'), touch(DEPLOYMENTS, 'web', 'b')]),
    batch('k8s', [touch(DEPLOYMENTS, 'web', 'a')]),
  );
  assert.deepEqual(steps(again.plan), [
    ['write', 'touch#0 k8s/Deployment/web/a e1', 'touch#0 k8s/Deployment/web/b e2'],
    ['write', 'touch#1 k8s/Deployment/web/a e2'],
  ]);
  assert.deepEqual(again.outcomes, [counts(0, 0, 2, 0), counts(0, 0, 1, 0)]);
});

test("feedDropped deletes the feed's objects and its stored row after the writes before it; named again, the feed starts afresh", () => {
  const model = new IngestPlanModel(['k8s']);
  apply(
    model,
    batch(
      'k8s',
      [upsert(DEPLOYMENTS, 'web', 'a'), upsert(NAMESPACES, '', 'web'), upsert(REPLICASETS, 'web', 'r')],
      [
        [DEPLOYMENTS, '5'],
        [NAMESPACES, '6'],
      ],
    ),
  );
  const { plan, outcomes } = apply(
    model,
    batch('k8s', [
      dropped(DEPLOYMENTS),
      { type: 'skipped', feed: REPLICASETS, namespace: 'web', name: 'r', resourceVersion: '9', code: 'OBJECT_TOO_LARGE', message: 'too large' },
    ]),
  );
  // A skipped object is deleted: it must not keep showing an older version.
  assert.deepEqual(steps(plan), [['drop#0 k8s/Deployment/* +row'], ['write', 'delete#0 k8s/ReplicaSet/web/r']]);
  assert.deepEqual(outcomes, [counts(0, 2, 0, 0)]);
  assert.deepEqual(plan.droppedFeeds, [['k8s', feedKey(DEPLOYMENTS)]]);
  assert.equal(plan.feeds.has(accountFeedKey('k8s', 'apps', 'Deployment', '')), false);
  assert.deepEqual(model.names(), ['Namespace//web']);
  assert.deepEqual(
    [...model.feedRows.values()].filter((r) => r.resume_rv !== '').map((r) => [r.kind, r.resume_rv]),
    [['Namespace', '6']],
  );

  // Dropped again within a group that re-created it: its writes before the drop go first, and there is no stored row to delete.
  const again = apply(
    model,
    batch('k8s', [upsert(DEPLOYMENTS, 'web', 'a', '2'), begin(DEPLOYMENTS, 's1'), dropped(DEPLOYMENTS), upsert(DEPLOYMENTS, 'web', 'b', '3')]),
  );
  assert.deepEqual(steps(again.plan), [
    ['write', 'upsert#0 k8s/Deployment/web/a@2 e0'],
    ['drop#0 k8s/Deployment/*'],
    ['write', 'upsert#0 k8s/Deployment/web/b@3 e0'],
  ]);
  assert.deepEqual(again.outcomes, [counts(2, 1, 0, 0)]);
  assert.deepEqual(model.names(), ['Deployment/web/b', 'Namespace//web']);
  const state = again.plan.feeds.get(accountFeedKey('k8s', 'apps', 'Deployment', ''));
  assert.deepEqual(
    [state?.stored, state?.dirty, state?.row.epoch, state?.row.snapshot_id],
    [false, true, 0, ''],
    "a new row: the dropped one's snapshot is gone with it",
  );
  assert.deepEqual(again.plan.accounts.get('k8s'), { startEpoch: 0, epoch: 1 }, 'the account keeps the epoch the dropped snapshot took');
});

test('resume points are recorded with the batch that carries them: after its changes, the last one of the group winning', () => {
  const model = new IngestPlanModel(['k8s', 'other']);
  const first = apply(
    model,
    batch('k8s', [upsert(DEPLOYMENTS, 'web', 'a')], [[DEPLOYMENTS, '11']], NOW + 1),
    batch('other', [], [[DEPLOYMENTS, '3']], NOW + 2),
    batch('k8s', [], [[DEPLOYMENTS, '12']], NOW + 3),
  );
  assert.deepEqual(
    first.plan.feedWrites.map((r) => [r.account, r.kind, r.resume_rv, r.updated_at]),
    [
      ['k8s', 'Deployment', '12', NOW + 3],
      ['other', 'Deployment', '3', NOW + 2],
    ],
  );
  // The same point again changes nothing: no feed row is written.
  assert.deepEqual(apply(model, batch('k8s', [], [[DEPLOYMENTS, '12']])).plan.feedWrites, []);
  // A batch's progress applies after its changes (here after its snapshot's end), and an end without a
  // resourceVersion leaves the point as it was.
  apply(model, batch('k8s', [begin(DEPLOYMENTS, 's1'), end(DEPLOYMENTS, 's1', '20')], [[DEPLOYMENTS, '21']]));
  assert.equal(model.feed('k8s', DEPLOYMENTS)?.resume_rv, '21');
  apply(model, batch('k8s', [begin(DEPLOYMENTS, 's2'), end(DEPLOYMENTS, 's2', '')]));
  assert.equal(model.feed('k8s', DEPLOYMENTS)?.resume_rv, '21');
  // A feed first named by a change has no resume point until one arrives.
  assert.equal(model.feed('k8s', CONFIGMAPS_WEB), undefined);
  apply(model, batch('k8s', [upsert(CONFIGMAPS_WEB, 'web', 'cm')]));
  assert.equal(model.feed('k8s', CONFIGMAPS_WEB)?.resume_rv, '');
});

test('a group orders its writes across accounts: one write step for all, closed by any batch that must see them written', () => {
  const model = new IngestPlanModel(['k8s', 'other']);
  const { plan, outcomes } = apply(
    model,
    batch('k8s', [upsert(DEPLOYMENTS, 'web', 'a'), upsert(DEPLOYMENTS, 'web', 'b')]),
    batch('other', [upsert(DEPLOYMENTS, 'web', 'a'), del(DEPLOYMENTS, 'web', 'q')]),
    batch('k8s', [del(DEPLOYMENTS, 'web', 'a')]),
    batch('other', [begin(DEPLOYMENTS, 'o1'), upsert(DEPLOYMENTS, 'web', 'b'), end(DEPLOYMENTS, 'o1', '')]),
    batch('k8s', [upsert(DEPLOYMENTS, 'web', 'c')]),
  );
  assert.deepEqual(steps(plan), [
    // Batch 2 deletes k8s's `a`, which batch 0 left pending: everything pending is written first.
    [
      'write',
      'delete#1 other/Deployment/web/q',
      'upsert#0 k8s/Deployment/web/a@1 e0',
      'upsert#0 k8s/Deployment/web/b@1 e0',
      'upsert#1 other/Deployment/web/a@1 e0',
    ],
    // Batch 3's snapshot end prunes only once every earlier write, of any account, is in.
    ['write', 'delete#2 k8s/Deployment/web/a', 'upsert#3 other/Deployment/web/b@1 e1'],
    ['prune#3 other/Deployment/* <e1'],
    ['write', 'upsert#4 k8s/Deployment/web/c@1 e0'],
  ]);
  assert.deepEqual(outcomes, [counts(2, 0, 0, 0), counts(1, 0, 0, 0), counts(0, 1, 0, 0), counts(1, 0, 0, 1), counts(1, 0, 0, 0)]);
  assert.deepEqual(model.names(), ['Deployment/web/b', 'Deployment/web/c']);
  assert.deepEqual(model.names('other'), ['Deployment/web/b']);
  assert.deepEqual(
    [...plan.accounts],
    [
      ['k8s', { startEpoch: 0, epoch: 0 }],
      ['other', { startEpoch: 0, epoch: 1 }],
    ],
    'epochs are per account',
  );
});

test("epochs: each begin takes its account's next epoch, carried in the plan; a replayed begin keeps it, an empty snapshot id never replays", () => {
  const model = new IngestPlanModel(['k8s', 'other', 'idle']);
  model.epochs.set('k8s', 41);
  const { plan } = apply(
    model,
    batch('k8s', [upsert(DEPLOYMENTS, 'web', 'a'), begin(DEPLOYMENTS, 's1'), upsert(DEPLOYMENTS, 'web', 'b')]),
    batch('other', [begin(DEPLOYMENTS, 's1')]),
    batch('k8s', [begin(CONFIGMAPS_WEB, 'c1'), upsert(CONFIGMAPS_WEB, 'web', 'cm')]),
  );
  // An upsert takes the epoch its feed has at that change.
  assert.deepEqual(steps(plan), [
    ['write', 'upsert#0 k8s/Deployment/web/a@1 e0', 'upsert#0 k8s/Deployment/web/b@1 e42', 'upsert#2 k8s/ConfigMap/web/cm@1 e43'],
  ]);
  assert.deepEqual(
    [...plan.accounts],
    [
      ['k8s', { startEpoch: 41, epoch: 43 }],
      ['other', { startEpoch: 0, epoch: 1 }],
      ['idle', { startEpoch: 0, epoch: 0 }],
    ],
  );
  assert.deepEqual(
    plan.feedWrites.map((r) => [r.account, r.kind, r.epoch, r.snapshot_id]),
    [
      ['k8s', 'Deployment', 42, 's1'],
      ['other', 'Deployment', 1, 's1'],
      ['k8s', 'ConfigMap', 43, 'c1'],
    ],
  );

  const replay = apply(model, batch('k8s', [begin(DEPLOYMENTS, 's1'), upsert(DEPLOYMENTS, 'web', 'b')]));
  assert.deepEqual(steps(replay.plan), [['write', 'upsert#0 k8s/Deployment/web/b@1 e42']]);
  assert.deepEqual(replay.plan.accounts.get('k8s'), { startEpoch: 43, epoch: 43 });

  const unnamed = apply(model, batch('k8s', [begin(DEPLOYMENTS, ''), begin(DEPLOYMENTS, '')]));
  assert.deepEqual(unnamed.plan.accounts.get('k8s'), { startEpoch: 43, epoch: 45 });
  assert.equal(model.feed('k8s', DEPLOYMENTS)?.epoch, 45);
});

test('a snapshotEnd whose id is not the snapshot its feed began last prunes nothing and records no resume point', () => {
  const model = new IngestPlanModel(['k8s']);
  apply(model, batch('k8s', [upsert(DEPLOYMENTS, 'web', 'a'), upsert(DEPLOYMENTS, 'web', 'b')]));
  apply(model, batch('k8s', [begin(DEPLOYMENTS, 's1'), upsert(DEPLOYMENTS, 'web', 'a')]));
  apply(model, batch('k8s', [begin(DEPLOYMENTS, 's2')]));
  const stale = apply(model, batch('k8s', [end(DEPLOYMENTS, 's1', '3')]));
  assert.deepEqual(steps(stale.plan), []);
  assert.deepEqual(stale.plan.supersededEnds, [{ batch: 0, account: 'k8s', feed: DEPLOYMENTS, snapshotId: 's1', current: 's2' }]);
  assert.deepEqual(stale.plan.feedWrites, []);
  assert.deepEqual(model.names(), ['Deployment/web/a', 'Deployment/web/b']);

  // The current snapshot's end prunes what it did not re-send, `a` (stamped by s1) among them.
  const current = apply(model, batch('k8s', [touch(DEPLOYMENTS, 'web', 'b'), end(DEPLOYMENTS, 's2', '4')]));
  assert.deepEqual(steps(current.plan), [['write', 'touch#0 k8s/Deployment/web/b e2'], ['prune#0 k8s/Deployment/* <e2']]);
  assert.equal(current.outcomes[0]!.pruned, 1);
  assert.deepEqual(model.names(), ['Deployment/web/b']);
  assert.equal(model.feed('k8s', DEPLOYMENTS)?.resume_rv, '4');

  // No snapshot begun: an end with an id is superseded; one with an empty id matches the feed's empty id and prunes below its epoch.
  const unbegun = apply(model, batch('k8s', [upsert(CONFIGMAPS_WEB, 'web', 'x'), end(CONFIGMAPS_WEB, 'n1', '5'), end(CONFIGMAPS_WEB, '', '6')]));
  assert.deepEqual(
    unbegun.plan.supersededEnds.map((s) => [s.snapshotId, s.current]),
    [['n1', '']],
  );
  assert.deepEqual(steps(unbegun.plan), [['write', 'upsert#0 k8s/ConfigMap/web/x@1 e0'], ['prune#0 k8s/ConfigMap/web <e0']]);
  assert.deepEqual(model.names(), ['ConfigMap/web/x', 'Deployment/web/b']);
  assert.equal(model.feed('k8s', CONFIGMAPS_WEB)?.resume_rv, '6');
});

test('a batch of an account the state does not hold fails the group with ACCOUNT_NOT_FOUND, before any step', () => {
  const model = new IngestPlanModel(['k8s']);
  assert.throws(
    () =>
      foldBatches(
        [batch('k8s', [upsert(DEPLOYMENTS, 'web', 'a'), end(DEPLOYMENTS, '', '1')]), batch('nope', [upsert(DEPLOYMENTS, 'web', 'b')])],
        model.state(),
      ),
    (err) => isScaleAgentError(err, 'ACCOUNT_NOT_FOUND') && err.details.account === 'nope',
  );
});

test("feed rows: a new feed takes the change's feed info, a changed version rewrites the row; the loaded rows are copied, never changed", () => {
  const model = new IngestPlanModel(['k8s']);
  const created = apply(model, batch('k8s', [upsert(NAMESPACES, '', 'web')], [], NOW + 1));
  assert.deepEqual(created.plan.feedWrites, [
    {
      account: 'k8s',
      api_group: '',
      kind: 'Namespace',
      namespace: '',
      version: 'v1',
      resource: 'namespaces',
      namespaced: 0,
      resume_rv: '',
      epoch: 0,
      snapshot_id: '',
      updated_at: NOW + 1,
    },
  ]);
  const v2: FeedInfo = { ...NAMESPACES, version: 'v2' };
  // IngestPlanModel.state() freezes the rows it hands over: changing one in place would throw.
  const changed = apply(model, batch('k8s', [upsert(v2, '', 'web')], [], NOW + 2));
  assert.deepEqual(
    changed.plan.feedWrites.map((r) => [r.version, r.updated_at]),
    [['v2', NOW + 2]],
  );
  assert.equal(changed.plan.steps[0]?.step === 'write' && changed.plan.steps[0].upserts[0]?.row.version, 'v2');
  const state = changed.plan.feeds.get(accountFeedKey('k8s', '', 'Namespace', ''));
  assert.deepEqual([state?.stored, state?.dirty], [true, true]);
});
