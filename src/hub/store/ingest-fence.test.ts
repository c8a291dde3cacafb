// Fencing on every engine: a batch commits only at its account's current caching epoch
// (StoreBatch.fence), a refused one writes nothing and fails only its own caller, and on PostgreSQL and
// MySQL the check holds the assignment row so a claim cannot slip in before the batch commits.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Errors, isScaleAgentError } from '../../common/errors.ts';
import { forEachEngine } from '../../../test/support/databases.ts';
import type { SqlStore } from './sql-store.ts';
import { DEPLOYMENTS, accountRecord, upsert } from './testing/fixtures.ts';
import type { CachingOwner, StoreBatch } from './types.ts';

const NOW = 1_700_000_000_000;
const LEASE_MS = 10_000;
/** Long enough for a batch that does not wait for a lock to have committed. */
const WAIT_MS = 300;
const ROUNDS = 20;

const A: CachingOwner = { hubId: 'hub-a', sessionId: 'session-a', agentId: 'agent-1' };
const B: CachingOwner = { hubId: 'hub-b', sessionId: 'session-b', agentId: 'agent-2' };

function stale(err: unknown): boolean {
  return isScaleAgentError(err, Errors.CACHING_EPOCH_STALE.code);
}

async function claim(store: SqlStore, account: string, owner: CachingOwner, now: number): Promise<number> {
  const result = await store.claimCaching(account, owner, now, LEASE_MS);
  assert.ok(result.granted, `${owner.sessionId} could not claim ${account}`);
  return result.epoch;
}

/** One upsert of `name` at `rv` and the resume point it leaves, fenced at `fence` when given. */
function batch(account: string, name: string, rv: string, fence?: number): StoreBatch {
  return {
    account,
    changes: [upsert(DEPLOYMENTS, 'web', name, rv)],
    progress: [{ feed: DEPLOYMENTS, resourceVersion: rv }],
    ...(fence === undefined ? {} : { fence }),
  };
}

async function contents(store: SqlStore, account: string): Promise<{ objects: string[]; resume: string[] }> {
  return {
    objects: (await store.listObjects({ account })).map((o) => `${o.name}@${o.resourceVersion}`),
    resume: (await store.resumePoints(account)).map((p) => p.resourceVersion),
  };
}

/** Runs the calls one after another, settling each like Promise.allSettled. */
async function sequentially<T>(calls: Array<() => Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
  const out: Array<PromiseSettledResult<T>> = [];
  for (const call of calls) out.push(...(await Promise.allSettled([call()])));
  return out;
}

forEachEngine('IngestStore: fencing', (engine) => {
  let store: SqlStore;

  beforeEach(async () => {
    store = await engine.openStore();
    // The shared test helper does not empty this table between tests.
    await store.db.deleteFrom('caching_assignments').execute();
    await store.upsertAccount(accountRecord('k8s'), NOW);
  });

  afterEach(async () => {
    await store.close();
  });

  test('a batch at the current epoch commits; one at any other epoch is refused whole and writes nothing', async () => {
    const first = await claim(store, 'k8s', A, NOW);
    assert.equal((await store.applyBatch(batch('k8s', 'a', '1', first), NOW)).upserted, 1);
    const second = await claim(store, 'k8s', B, NOW + LEASE_MS);
    assert.equal(second, first + 1);

    const before = await contents(store, 'k8s');
    const snapshot: StoreBatch = {
      account: 'k8s',
      changes: [
        { type: 'snapshotBegin', feed: DEPLOYMENTS, snapshotId: 'late' },
        upsert(DEPLOYMENTS, 'web', 'b', '5'),
        { type: 'snapshotEnd', feed: DEPLOYMENTS, snapshotId: 'late', resourceVersion: '5' },
      ],
      progress: [{ feed: DEPLOYMENTS, resourceVersion: '5' }],
      fence: first,
    };
    await assert.rejects(store.applyBatch(snapshot, NOW + LEASE_MS), (err) => {
      assert.ok(stale(err), String(err));
      assert.deepEqual((err as { details: unknown }).details, { account: 'k8s', fence: first, epoch: second });
      return true;
    });
    // An epoch from the future is no more the account's than one from the past.
    await assert.rejects(store.applyBatch(batch('k8s', 'c', '6', second + 1), NOW + LEASE_MS), stale);
    assert.deepEqual(await contents(store, 'k8s'), before);

    assert.equal((await store.applyBatch(batch('k8s', 'b', '7', second), NOW + LEASE_MS)).upserted, 1);
    assert.deepEqual(await contents(store, 'k8s'), { objects: ['a@1', 'b@7'], resume: ['7'] });
  });

  test('unfenced batches apply as before, whoever holds the account', async () => {
    await claim(store, 'k8s', A, NOW);
    await claim(store, 'k8s', B, NOW + LEASE_MS);
    assert.equal((await store.applyBatch(batch('k8s', 'a', '3'), NOW)).upserted, 1);
    assert.deepEqual(await contents(store, 'k8s'), { objects: ['a@3'], resume: ['3'] });
  });

  test('a fenced batch of an account nobody ever claimed is refused', async () => {
    await assert.rejects(store.applyBatch(batch('k8s', 'a', '1', 1), NOW), (err) => {
      assert.ok(stale(err), String(err));
      assert.deepEqual((err as { details: unknown }).details, { account: 'k8s', fence: 1, epoch: null });
      return true;
    });
    assert.deepEqual(await contents(store, 'k8s'), { objects: [], resume: [] });
  });

  test('a release keeps the epoch: the holder’s batches still commit until someone else claims', async () => {
    const epoch = await claim(store, 'k8s', A, NOW);
    await store.releaseCaching('k8s', A, epoch);
    assert.equal((await store.applyBatch(batch('k8s', 'a', '1', epoch), NOW)).upserted, 1);
    await claim(store, 'k8s', B, NOW + 1);
    await assert.rejects(store.applyBatch(batch('k8s', 'a', '2', epoch), NOW + 1), stale);
  });

  test('among batches committed together, a fenced-out one fails only its own caller', async () => {
    for (const name of ['g1', 'g2']) await store.upsertAccount(accountRecord(name), NOW);
    const g1 = await claim(store, 'g1', A, NOW);
    await claim(store, 'g2', A, NOW);
    const g2 = await claim(store, 'g2', B, NOW + LEASE_MS);
    const batches = [
      batch('g1', 'a', '1', g1),
      batch('g2', 'a', '1', g2),
      batch('g2', 'stale', '2', g2 - 1),
      batch('g1', 'b', '3', g1),
      batch('k8s', 'c', '4'),
      batch('g2', 'b', '5', g2),
    ];
    // On SQLite, issued without waiting: the first commits alone and the rest as one group (whose
    // transaction the stale batch fails; its batches are then retried one by one). PostgreSQL and MySQL
    // commit each batch in a transaction of its own, concurrently: there they are sent one after
    // another, as the sync handler sends an account's batches, or an account's later batch could commit
    // before its earlier one.
    const results =
      store.dialect.name === 'sqlite'
        ? await Promise.allSettled(batches.map((b) => store.applyBatch(b, NOW + LEASE_MS)))
        : await sequentially(batches.map((b) => () => store.applyBatch(b, NOW + LEASE_MS)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    assert.ok(stale((results[2] as PromiseRejectedResult).reason));
    for (const r of results) if (r.status === 'fulfilled') assert.equal(r.value.upserted, 1);
    assert.deepEqual(await contents(store, 'g1'), { objects: ['a@1', 'b@3'], resume: ['3'] });
    assert.deepEqual(await contents(store, 'g2'), { objects: ['a@1', 'b@5'], resume: ['5'] });
    assert.deepEqual(await contents(store, 'k8s'), { objects: ['c@4'], resume: ['4'] });
  });
});

// Row locks: what PostgreSQL and MySQL need so that the check and the commit are one step for claims.
forEachEngine(
  'IngestStore: fencing against claims from another replica',
  (engine) => {
    let first: SqlStore;
    let second: SqlStore;

    beforeEach(async () => {
      first = await engine.openStore();
      await first.db.deleteFrom('caching_assignments').execute();
      await first.upsertAccount(accountRecord('k8s'), NOW);
      second = await engine.openStore({ keepData: true });
    });

    afterEach(async () => {
      await first.close();
      await second.close();
    });

    test('a fenced batch waits for a claim in flight, then is refused at the epoch the claim took', async () => {
      const epoch = await claim(first, 'k8s', A, NOW);
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      let commit!: () => void;
      const committing = new Promise<void>((resolve) => (commit = resolve));
      // What claimCaching's UPDATE does, held open: the row is taken over but not yet committed.
      const claimInFlight = second.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('caching_assignments')
          .set({
            epoch: epoch + 1,
            hub_id: B.hubId,
            session_id: B.sessionId,
            agent_id: B.agentId,
            lease_expires_at: NOW + 2 * LEASE_MS,
            updated_at: NOW + LEASE_MS,
          })
          .where('account', '=', 'k8s')
          .execute();
        locked();
        await committing;
      });
      await isLocked;
      const applying = first.applyBatch(batch('k8s', 'a', '1', epoch), NOW + LEASE_MS);
      const early = await Promise.race([
        applying.then(
          () => 'committed',
          () => 'refused',
        ),
        sleep(WAIT_MS).then(() => 'waiting'),
      ]);
      commit();
      await claimInFlight;
      assert.equal(early, 'waiting', 'the batch must wait for the claim holding the assignment row');
      await assert.rejects(applying, stale);
      assert.deepEqual(await contents(first, 'k8s'), { objects: [], resume: [] });
    });

    test(`${ROUNDS} rounds of a holder's batch racing another replica's claim: no deadlock, no failure but the fence`, async () => {
      let epoch = await claim(first, 'k8s', A, NOW);
      for (let round = 0; round < ROUNDS; round++) {
        const now = NOW + (round + 1) * 2 * LEASE_MS;
        const [holder, claimant] = round % 2 === 0 ? [first, second] : [second, first];
        const next: CachingOwner = { hubId: `hub-${round}`, sessionId: `session-${round}`, agentId: 'agent' };
        const [applied, claimed] = await Promise.allSettled([
          holder.applyBatch(batch('k8s', `o${round}`, String(round + 1), epoch), now),
          claimant.claimCaching('k8s', next, now, LEASE_MS),
        ]);
        if (applied.status === 'rejected') assert.ok(stale(applied.reason), `round ${round}: ${String(applied.reason)}`);
        if (claimed.status === 'rejected') assert.fail(`round ${round}: the claim failed: ${String(claimed.reason)}`);
        assert.ok(claimed.value.granted, `round ${round}: the claim was refused`);
        assert.equal(claimed.value.epoch, epoch + 1);
        epoch = claimed.value.epoch;
      }
    });
  },
  ['postgres', 'mysql'],
);
