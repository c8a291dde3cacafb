// RelayStore on every engine: each transition of a relayed operation happens only from the states its
// expectation names, and a refused one leaves the row as it was; claims and completions racing from two
// stores (two pools, as two hub replicas would) on PostgreSQL and MySQL each have exactly one winner.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../../../test/support/databases.ts';
import type { SqlStore } from './sql-store.ts';
import type { RelayedOperation, RelayStatus } from './types.ts';

const NOW = 1_700_000_000_000;
const DEADLINE_MS = 60_000;
/** Claims racing for each operation in each round of the two-store race (half from each store). */
const RACERS = 4;
const RACE_ROUNDS = 50;
const GIVE_UP: readonly RelayStatus[] = ['QUEUED', 'CLAIMED', 'SENT'];

function op(id: string, overrides: Partial<RelayedOperation> = {}): RelayedOperation {
  const request = JSON.stringify({ id, type: 'deployManifest', account: 'k8s' });
  return { id, account: 'k8s', originHubId: 'hub-a', request, deadlineAt: NOW + DEADLINE_MS, createdAt: NOW, ...overrides };
}

/** Roughly 1 MB of JSON with what drivers and charsets get wrong: multi-byte text, emoji, escapes. */
function largeRequest(): string {
  const manifest = { metadata: { name: 'größe-日本-🚀', annotations: { note: 'quote " backslash \\ newline \n tab \t' } }, data: {} as Record<string, string> };
  for (let i = 0; i < 6_000; i++) manifest.data[`key-${i}`] = `värde ✓ 🐳🧪 ${'x'.repeat(150)} ${i}`;
  return JSON.stringify({ id: 'big', type: 'deployManifest', manifests: [manifest] });
}

/** The stored row's mutable columns, read behind the store's back to prove a refused move changed nothing. */
async function row(store: SqlStore, id: string) {
  const r = await store.db.selectFrom('relayed_operations').select(['status', 'claimed_by', 'outcome', 'updated_at']).where('id', '=', id).executeTakeFirst();
  return r && { status: r.status, claimedBy: r.claimed_by, outcome: r.outcome, updatedAt: Number(r.updated_at) };
}

forEachEngine('RelayStore', (engine) => {
  let store: SqlStore;

  beforeEach(async () => {
    store = await engine.openStore();
  });

  afterEach(async () => {
    await store.close();
  });

  test('queued operations are listed oldest first (then by id) up to the limit; claimed ones are not', async () => {
    await store.enqueueRelayed(op('c', { createdAt: NOW + 2 }), NOW + 2);
    await store.enqueueRelayed(op('b', { account: 'other' }), NOW + 3);
    await store.enqueueRelayed(op('a'), NOW + 4);
    assert.deepEqual(await store.listQueuedRelayed(NOW, 10), [
      { id: 'a', account: 'k8s', createdAt: NOW },
      { id: 'b', account: 'other', createdAt: NOW },
      { id: 'c', account: 'k8s', createdAt: NOW + 2 },
    ]);
    assert.deepEqual(
      (await store.listQueuedRelayed(NOW, 2)).map((q) => q.id),
      ['a', 'b'],
    );
    assert.ok(await store.claimRelayed('a', 'hub-b', NOW + 5));
    assert.deepEqual(
      (await store.listQueuedRelayed(NOW, 10)).map((q) => q.id),
      ['b', 'c'],
    );
  });

  test('a claim returns the whole operation, its request byte for byte, and only once', async () => {
    const big = op('big', { request: largeRequest(), deadlineAt: NOW + 123_456, createdAt: NOW - 7 });
    const small = op('small', { originHubId: 'hub-c', request: '{"note":"ünïcødé 漢字 👩‍👩‍👧 \\u0000"}' });
    assert.ok(big.request.length > 1_000_000);
    await store.enqueueRelayed(big, NOW);
    await store.enqueueRelayed(small, NOW);
    for (const enqueued of [big, small]) {
      const claimed = await store.claimRelayed(enqueued.id, 'hub-b', NOW + 1);
      assert.ok(claimed, `${enqueued.id} not claimed`);
      // Compared apart first so a mismatch reports lengths rather than diffing a megabyte.
      assert.ok(claimed.request === enqueued.request, `${enqueued.id}: request of ${claimed.request.length} chars, not ${enqueued.request.length}`);
      assert.deepEqual(claimed, enqueued);
      assert.deepEqual(await row(store, enqueued.id), { status: 'CLAIMED', claimedBy: 'hub-b', outcome: null, updatedAt: NOW + 1 });
      assert.equal(await store.claimRelayed(enqueued.id, 'hub-c', NOW + 2), undefined, 'claimed twice');
      assert.equal(await store.claimRelayed(enqueued.id, 'hub-b', NOW + 2), undefined, 'claimed twice by its claimer');
    }
    assert.equal(await store.claimRelayed('missing', 'hub-b', NOW), undefined);
  });

  test('only the claimer marks its claim SENT, and only from CLAIMED', async () => {
    await store.enqueueRelayed(op('x'), NOW);
    assert.equal(await store.markRelayedSent('x', 'hub-b', NOW + 1), false, 'not claimed yet');
    await store.claimRelayed('x', 'hub-b', NOW + 2);
    assert.equal(await store.markRelayedSent('x', 'hub-c', NOW + 3), false, 'not the claimer');
    assert.deepEqual(await row(store, 'x'), { status: 'CLAIMED', claimedBy: 'hub-b', outcome: null, updatedAt: NOW + 2 });
    assert.equal(await store.markRelayedSent('x', 'hub-b', NOW + 4), true);
    assert.deepEqual(await row(store, 'x'), { status: 'SENT', claimedBy: 'hub-b', outcome: null, updatedAt: NOW + 4 });
    assert.equal(await store.markRelayedSent('x', 'hub-b', NOW + 5), false, 'already sent');
    assert.equal(await store.unclaimRelayed('x', 'hub-b', NOW + 5), false, 'a sent operation cannot be given back');
    assert.equal((await row(store, 'x'))?.updatedAt, NOW + 4);
  });

  test('only the claimer gives a claim back, only from CLAIMED; then another replica may claim it and the former claimer can no longer move it', async () => {
    await store.enqueueRelayed(op('x'), NOW);
    assert.equal(await store.unclaimRelayed('x', 'hub-b', NOW + 1), false, 'not claimed yet');
    await store.claimRelayed('x', 'hub-b', NOW + 2);
    assert.equal(await store.unclaimRelayed('x', 'hub-c', NOW + 3), false, 'not the claimer');
    assert.deepEqual(await row(store, 'x'), { status: 'CLAIMED', claimedBy: 'hub-b', outcome: null, updatedAt: NOW + 2 });
    assert.equal(await store.unclaimRelayed('x', 'hub-b', NOW + 4), true);
    assert.deepEqual(await row(store, 'x'), { status: 'QUEUED', claimedBy: null, outcome: null, updatedAt: NOW + 4 });
    assert.deepEqual(await store.listClaimedRelayed({}, 10), []);
    assert.deepEqual(await store.claimRelayed('x', 'hub-c', NOW + 5), op('x'));
    assert.equal(await store.markRelayedSent('x', 'hub-b', NOW + 6), false, 'former claimer sends');
    assert.equal(await store.unclaimRelayed('x', 'hub-b', NOW + 6), false, 'former claimer gives back');
    assert.equal(await store.markRelayedSent('x', 'hub-c', NOW + 7), true);
  });

  test('completeRelayed records the outcome only when the row has an expected status and claimer; a refusal changes nothing', async () => {
    await store.enqueueRelayed(op('x'), NOW);
    await store.claimRelayed('x', 'hub-b', NOW + 1);
    const claimed = { status: 'CLAIMED', claimedBy: 'hub-b', outcome: null, updatedAt: NOW + 1 };
    assert.equal(await store.completeRelayed('x', '{"r":1}', { statuses: ['SENT', 'QUEUED'] }, NOW + 2), false, 'not in an expected status');
    assert.equal(await store.completeRelayed('x', '{"r":2}', { statuses: ['CLAIMED'], claimedBy: 'hub-c' }, NOW + 2), false, 'not the claimer');
    assert.equal(await store.completeRelayed('x', '{"r":3}', { statuses: [] }, NOW + 2), false, 'no status expected');
    assert.deepEqual(await row(store, 'x'), claimed);
    assert.equal(await store.completeRelayed('x', '{"r":"ok ✅"}', { statuses: ['CLAIMED'], claimedBy: 'hub-b' }, NOW + 3), true);
    assert.deepEqual(await row(store, 'x'), { status: 'DONE', claimedBy: 'hub-b', outcome: '{"r":"ok ✅"}', updatedAt: NOW + 3 });
    // Finished is final: the submitter giving up late changes nothing.
    assert.equal(await store.completeRelayed('x', '{"r":4}', { statuses: GIVE_UP }, NOW + 4), false);
    assert.equal((await row(store, 'x'))?.outcome, '{"r":"ok ✅"}');

    // A queued row names no claimer, so no expected claimer matches it; the submitter's give-up does.
    await store.enqueueRelayed(op('q'), NOW);
    assert.equal(await store.completeRelayed('q', '{"r":5}', { statuses: ['QUEUED'], claimedBy: 'hub-b' }, NOW + 5), false);
    assert.deepEqual(await row(store, 'q'), { status: 'QUEUED', claimedBy: null, outcome: null, updatedAt: NOW });
    assert.equal(await store.completeRelayed('q', '{"r":6}', { statuses: GIVE_UP }, NOW + 6), true);
    assert.deepEqual(await row(store, 'q'), { status: 'DONE', claimedBy: null, outcome: '{"r":6}', updatedAt: NOW + 6 });
    assert.equal(await store.claimRelayed('q', 'hub-b', NOW + 7), undefined, 'a finished row is not claimable');
  });

  test('finishedRelayed lists only the finished rows of that origin with their outcomes; deleteRelayed removes them', async () => {
    for (const o of [op('a1'), op('a2'), op('a3'), op('b1', { originHubId: 'hub-b' })]) await store.enqueueRelayed(o, NOW);
    await store.claimRelayed('a3', 'hub-c', NOW + 1);
    await store.markRelayedSent('a3', 'hub-c', NOW + 1);
    for (const id of ['a1', 'a2', 'b1']) assert.equal(await store.completeRelayed(id, `{"id":"${id}","é":"🎉"}`, { statuses: GIVE_UP }, NOW + 2), true);
    const finished = async (origin: string, limit = 10) => (await store.finishedRelayed(origin, limit)).sort((x, y) => x.id.localeCompare(y.id));
    assert.deepEqual(await finished('hub-a'), [
      { id: 'a1', outcome: '{"id":"a1","é":"🎉"}' },
      { id: 'a2', outcome: '{"id":"a2","é":"🎉"}' },
    ]);
    assert.equal((await finished('hub-a', 1)).length, 1);
    assert.deepEqual(await finished('hub-c'), [], 'the claimer is not the origin');

    await store.deleteRelayed([]);
    assert.equal((await finished('hub-a')).length, 2);
    await store.deleteRelayed(['a1', 'a2']);
    assert.deepEqual(await finished('hub-a'), []);
    assert.deepEqual(await finished('hub-b'), [{ id: 'b1', outcome: '{"id":"b1","é":"🎉"}' }]);
    assert.equal((await row(store, 'a3'))?.status, 'SENT');
  });

  test('pruneRelayed deletes the rows, in any status, whose deadline is before the instant given, and counts them', async () => {
    await store.enqueueRelayed(op('queued', { deadlineAt: NOW + 1_000 }), NOW);
    await store.enqueueRelayed(op('claimed', { deadlineAt: NOW + 2_000 }), NOW);
    await store.enqueueRelayed(op('done', { deadlineAt: NOW + 2_000 }), NOW);
    await store.enqueueRelayed(op('later', { deadlineAt: NOW + 3_000 }), NOW);
    await store.claimRelayed('claimed', 'hub-b', NOW);
    await store.completeRelayed('done', '{}', { statuses: GIVE_UP }, NOW);
    assert.equal(await store.pruneRelayed(NOW + 1_000), 0, 'a deadline at the instant has not passed before it');
    assert.equal(await store.pruneRelayed(NOW + 2_001), 3);
    assert.deepEqual(
      (await store.listQueuedRelayed(NOW, 10)).map((q) => q.id),
      ['later'],
    );
    assert.deepEqual(await store.listClaimedRelayed({}, 10), []);
    assert.deepEqual(await store.finishedRelayed('hub-a', 10), []);
    assert.equal(await store.pruneRelayed(NOW + 2_001), 0);
  });

  test('the queue leaves out rows past their deadline; claims can be listed for one replica or without some; relayedStatus follows a row', async () => {
    await store.enqueueRelayed(op('late', { deadlineAt: NOW }), NOW);
    await store.enqueueRelayed(op('on-time'), NOW);
    assert.deepEqual(
      (await store.listQueuedRelayed(NOW, 10)).map((q) => q.id),
      ['on-time'],
    );
    assert.equal(await store.relayedStatus('on-time'), 'QUEUED');
    assert.ok(await store.claimRelayed('on-time', 'hub-live', NOW));
    assert.ok(await store.claimRelayed('late', 'hub-dead', NOW - 1));
    assert.equal(await store.relayedStatus('late'), 'CLAIMED');
    assert.deepEqual(
      (await store.listClaimedRelayed({ exceptHubs: ['hub-live'] }, 10)).map((c) => c.id),
      ['late'],
    );
    assert.deepEqual(
      (await store.listClaimedRelayed({ claimedBy: 'hub-live' }, 10)).map((c) => c.id),
      ['on-time'],
    );
    assert.equal(await store.relayedStatus('never-queued'), undefined);
  });

  test('listClaimedRelayed lists CLAIMED and SENT rows oldest first with their claimer, origin, status and deadline', async () => {
    await store.enqueueRelayed(op('sent', { originHubId: 'hub-x', createdAt: NOW + 1, deadlineAt: NOW + 9 }), NOW);
    await store.enqueueRelayed(op('claimed', { account: 'other', createdAt: NOW }), NOW);
    await store.enqueueRelayed(op('queued', { createdAt: NOW - 2 }), NOW);
    await store.enqueueRelayed(op('done', { createdAt: NOW - 1 }), NOW);
    await store.claimRelayed('claimed', 'hub-b', NOW);
    await store.claimRelayed('sent', 'hub-c', NOW);
    await store.markRelayedSent('sent', 'hub-c', NOW);
    await store.claimRelayed('done', 'hub-c', NOW);
    await store.completeRelayed('done', '{}', { statuses: ['CLAIMED'], claimedBy: 'hub-c' }, NOW);
    assert.deepEqual(await store.listClaimedRelayed({}, 10), [
      { id: 'claimed', account: 'other', originHubId: 'hub-a', status: 'CLAIMED', claimedBy: 'hub-b', deadlineAt: NOW + DEADLINE_MS },
      { id: 'sent', account: 'k8s', originHubId: 'hub-x', status: 'SENT', claimedBy: 'hub-c', deadlineAt: NOW + 9 },
    ]);
    assert.deepEqual(
      (await store.listClaimedRelayed({}, 1)).map((c) => c.id),
      ['claimed'],
    );
  });

  test('claims issued at once through one store: exactly one wins', async () => {
    await store.enqueueRelayed(op('x'), NOW);
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => store.claimRelayed('x', `hub-${i}`, NOW + 1)));
    const winners = claims.flatMap((c, i) => (c ? [i] : []));
    assert.equal(winners.length, 1);
    assert.equal((await row(store, 'x'))?.claimedBy, `hub-${winners[0]}`);
  });
});

// Two stores on one database are two pools: their updates race in the database, as two replicas' do.
// (SQLite is one hub's embedded file: its one writer serializes them; see the suite above.)
forEachEngine(
  'RelayStore: two replicas racing',
  (engine) => {
    let first: SqlStore;
    let second: SqlStore;

    beforeEach(async () => {
      first = await engine.openStore();
      second = await engine.openStore({ keepData: true });
    });

    afterEach(async () => {
      await first.close();
      await second.close();
    });

    test(`${RACE_ROUNDS} rounds of ${RACERS} claims for each of 3 queued operations: exactly one claim wins each`, async () => {
      for (let round = 0; round < RACE_ROUNDS; round++) {
        const ids = [0, 1, 2].map((n) => `r${round}-${n}`);
        for (const id of ids) await first.enqueueRelayed(op(id), NOW);
        const raced = await Promise.all(
          ids.map(async (id) => ({
            id,
            claims: await Promise.all(Array.from({ length: RACERS }, (_, i) => (i % 2 === 0 ? first : second).claimRelayed(id, `hub-${i}`, NOW + round))),
          })),
        );
        for (const { id, claims } of raced) {
          const winners = claims.flatMap((claimed, i) => (claimed ? [{ hubId: `hub-${i}`, claimed }] : []));
          assert.equal(winners.length, 1, `${id}: ${winners.length} claims won`);
          assert.deepEqual(winners[0]?.claimed, op(id));
          assert.equal((await row(second, id))?.claimedBy, winners[0]?.hubId, id);
        }
      }
    });

    test(`${RACE_ROUNDS} rounds of the claimer finishing a sent operation as its submitter gives up: exactly one outcome is recorded`, async () => {
      for (let round = 0; round < RACE_ROUNDS; round++) {
        const id = `r${round}`;
        await first.enqueueRelayed(op(id), NOW);
        assert.ok(await second.claimRelayed(id, 'hub-b', NOW));
        assert.equal(await second.markRelayedSent(id, 'hub-b', NOW), true);
        const finish = () => second.completeRelayed(id, '{"by":"claimer"}', { statuses: ['SENT'], claimedBy: 'hub-b' }, NOW + 1);
        const giveUp = () => first.completeRelayed(id, '{"by":"submitter"}', { statuses: GIVE_UP }, NOW + 1);
        // Either may be sent first; whichever the database applies first must be the only one to win.
        const [finished, gaveUp] = round % 2 === 0 ? await Promise.all([finish(), giveUp()]) : (await Promise.all([giveUp(), finish()])).reverse();
        assert.equal(Number(finished) + Number(gaveUp), 1, `${id}: finished ${finished}, gave up ${gaveUp}`);
        const stored = await first.finishedRelayed('hub-a', RACE_ROUNDS).then((rows) => rows.find((r) => r.id === id));
        assert.equal(stored?.outcome, finished ? '{"by":"claimer"}' : '{"by":"submitter"}', id);
      }
    });
  },
  ['postgres', 'mysql'],
);
