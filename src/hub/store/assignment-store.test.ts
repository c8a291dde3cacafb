// AssignmentStore on every engine: the lease and epoch rules of caching ownership, and claims racing
// from two stores (two pools, as two hub replicas would) on PostgreSQL and MySQL.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../../../test/support/databases.ts';
import type { SqlStore } from './sql-store.ts';
import { accountRecord } from './testing/fixtures.ts';
import type { CachingAssignment, CachingClaim, CachingOwner } from './types.ts';

const NOW = 1_700_000_000_000;
const LEASE_MS = 10_000;
/** Claims racing in each round of the two-store race (half from each store). */
const RACERS = 4;
const RACE_ROUNDS = 50;

function owner(hubId: string, sessionId: string, agentId = 'agent-1'): CachingOwner {
  return { hubId, sessionId, agentId };
}

const A = owner('hub-a', 'session-a', 'agent-1');
const B = owner('hub-b', 'session-b', 'agent-2');
const C = owner('hub-c', 'session-c', 'agent-3');

/** The epoch of a granted claim; fails the test when it was refused. */
function granted(claim: CachingClaim): number {
  assert.ok(claim.granted, `claim refused: held by ${claim.granted ? '' : JSON.stringify(claim.holder)}`);
  return claim.epoch;
}

/** Renewed assignments as account@epoch, sorted. */
function renewedAccounts(assignments: CachingAssignment[]): string[] {
  return assignments.map((a) => `${a.account}@${a.epoch}`).sort();
}

/** The tables the shared test helper does not empty between tests. */
async function emptyHaTables(store: SqlStore): Promise<void> {
  await store.db.deleteFrom('caching_assignments').execute();
  await store.db.deleteFrom('hub_replicas').execute();
}

forEachEngine('AssignmentStore', (engine) => {
  let store: SqlStore;

  beforeEach(async () => {
    store = await engine.openStore();
    await emptyHaTables(store);
  });

  afterEach(async () => {
    await store.close();
  });

  test('the first claim takes epoch 1; the holder claiming again keeps it and extends the lease', async () => {
    assert.equal(await store.getAssignment('k8s'), undefined);
    assert.equal(granted(await store.claimCaching('k8s', A, NOW, LEASE_MS)), 1);
    assert.deepEqual(await store.getAssignment('k8s'), { account: 'k8s', ...A, epoch: 1, leaseExpiresAt: NOW + LEASE_MS });
    assert.equal(granted(await store.claimCaching('k8s', A, NOW + 5_000, LEASE_MS)), 1);
    assert.equal((await store.getAssignment('k8s'))?.leaseExpiresAt, NOW + 5_000 + LEASE_MS);
    // The same instant again (MySQL counts matched rows, not changed ones).
    assert.equal(granted(await store.claimCaching('k8s', A, NOW + 5_000, LEASE_MS)), 1);
  });

  test('another owner is refused while the lease lives and told who holds it; after expiry it takes the next epoch', async () => {
    granted(await store.claimCaching('k8s', A, NOW, LEASE_MS));
    const refused = await store.claimCaching('k8s', B, NOW + LEASE_MS - 1, LEASE_MS);
    assert.deepEqual(refused, { granted: false, holder: { account: 'k8s', ...A, epoch: 1, leaseExpiresAt: NOW + LEASE_MS } });
    // A replica of the same hub with another session is another owner.
    assert.equal((await store.claimCaching('k8s', owner('hub-a', 'session-2'), NOW + 1, LEASE_MS)).granted, false);
    // The lease ends at leaseExpiresAt: from then on anyone may claim.
    assert.equal(granted(await store.claimCaching('k8s', B, NOW + LEASE_MS, LEASE_MS)), 2);
    assert.deepEqual(await store.getAssignment('k8s'), { account: 'k8s', ...B, epoch: 2, leaseExpiresAt: NOW + 2 * LEASE_MS });
    // The former holder is now refused in turn.
    const back = await store.claimCaching('k8s', A, NOW + LEASE_MS + 1, LEASE_MS);
    assert.equal(back.granted, false);
    assert.equal(back.granted ? undefined : back.holder.sessionId, B.sessionId);
  });

  test('a lapsed lease nobody took over is still its owner’s: renewing or claiming again keeps the epoch', async () => {
    granted(await store.claimCaching('k8s', A, NOW, LEASE_MS));
    assert.deepEqual(renewedAccounts(await store.renewSessions(A.hubId, [A.sessionId], NOW + 2 * LEASE_MS, LEASE_MS)), ['k8s@1']);
    assert.equal(granted(await store.claimCaching('k8s', A, NOW + 5 * LEASE_MS, LEASE_MS)), 1);
  });

  test('a release keeps the epoch; the next claim, even by the former owner, takes the next one', async () => {
    granted(await store.claimCaching('k8s', A, NOW, LEASE_MS));
    await store.releaseCaching('k8s', A, 1);
    assert.deepEqual(await store.getAssignment('k8s'), { account: 'k8s', ...A, epoch: 1, leaseExpiresAt: 0 });
    assert.deepEqual(await store.renewSessions(A.hubId, [A.sessionId], NOW + 1, LEASE_MS), [], 'a released lease is not renewed');
    assert.equal((await store.getAssignment('k8s'))?.leaseExpiresAt, 0);
    assert.equal(granted(await store.claimCaching('k8s', B, NOW + 1, LEASE_MS)), 2);
    await store.releaseCaching('k8s', B, 2);
    assert.equal(granted(await store.claimCaching('k8s', B, NOW + 2, LEASE_MS)), 3);
  });

  test('renewSessions extends only the leases the replica holds for those sessions, and returns them as they are', async () => {
    granted(await store.claimCaching('k8s', A, NOW, LEASE_MS));
    granted(await store.claimCaching('a2', owner('hub-a', 'session-a2'), NOW, LEASE_MS));
    granted(await store.claimCaching('other-session', owner('hub-a', 'session-a3'), NOW, LEASE_MS));
    granted(await store.claimCaching('b1', B, NOW, LEASE_MS));
    assert.deepEqual(renewedAccounts(await store.renewSessions('hub-a', [A.sessionId, 'session-a2'], NOW + 1_000, LEASE_MS)), ['a2@1', 'k8s@1']);
    assert.equal((await store.getAssignment('k8s'))?.leaseExpiresAt, NOW + 1_000 + LEASE_MS);
    assert.equal((await store.getAssignment('other-session'))?.leaseExpiresAt, NOW + LEASE_MS, 'a session not named is not renewed');
    assert.equal((await store.getAssignment('b1'))?.leaseExpiresAt, NOW + LEASE_MS, "another replica's lease is not renewed");
    assert.deepEqual(await store.renewSessions('hub-a', [], NOW + 2_000, LEASE_MS), []);
    await store.releaseCaching('k8s', B, 1);
    await store.releaseCaching('k8s', A, 0);
    assert.deepEqual(await store.getAssignment('k8s'), { account: 'k8s', ...A, epoch: 1, leaseExpiresAt: NOW + 1_000 + LEASE_MS });

    // Taken over by another owner: the former holder's renewal no longer names it, and its release at the epoch it had does nothing.
    granted(await store.claimCaching('k8s', B, NOW + 1_000 + LEASE_MS, LEASE_MS));
    assert.deepEqual(renewedAccounts(await store.renewSessions('hub-a', [A.sessionId], NOW + 1_000 + LEASE_MS, LEASE_MS)), []);
    await store.releaseCaching('k8s', A, 1);
    assert.deepEqual(await store.getAssignment('k8s'), { account: 'k8s', ...B, epoch: 2, leaseExpiresAt: NOW + 1_000 + 2 * LEASE_MS });
  });

  test('releaseReplica releases only what that replica holds, and says how many', async () => {
    granted(await store.claimCaching('a1', A, NOW, LEASE_MS));
    granted(await store.claimCaching('a2', owner('hub-a', 'session-a2'), NOW, LEASE_MS));
    granted(await store.claimCaching('b1', B, NOW, LEASE_MS));
    granted(await store.claimCaching('released', A, NOW, LEASE_MS));
    await store.releaseCaching('released', A, 1);
    assert.equal(await store.releaseReplica('hub-a'), 2);
    assert.deepEqual(
      (await store.listAssignments()).map((a) => `${a.account}:${a.hubId}:${a.epoch}:${a.leaseExpiresAt}`),
      ['a1:hub-a:1:0', 'a2:hub-a:1:0', `b1:hub-b:1:${NOW + LEASE_MS}`, 'released:hub-a:1:0'],
    );
    assert.equal(await store.releaseReplica('hub-a'), 0);
    // What it held is free at once, at the next epoch.
    assert.equal(granted(await store.claimCaching('a1', C, NOW + 1, LEASE_MS)), 2);
  });

  test("an account's epochs outlive its deletion: a re-registered account never reuses one", async () => {
    await store.upsertAccount(accountRecord('k8s'), NOW);
    granted(await store.claimCaching('k8s', A, NOW, LEASE_MS));
    await store.releaseCaching('k8s', A, 1);
    await store.deleteAccount('k8s');
    await store.upsertAccount(accountRecord('k8s'), NOW + 1);
    assert.equal(granted(await store.claimCaching('k8s', B, NOW + 1, LEASE_MS)), 2);
  });

  test('claims issued at once through one store: exactly one is granted', async () => {
    const owners = Array.from({ length: 8 }, (_, i) => owner(`hub-${i}`, `session-${i}`));
    const claims = await Promise.all(owners.map((o) => store.claimCaching('k8s', o, NOW, LEASE_MS)));
    const winners = claims.filter((c) => c.granted);
    assert.equal(winners.length, 1);
    const holder = await store.getAssignment('k8s');
    for (const claim of claims) if (!claim.granted) assert.deepEqual(claim.holder, holder);
  });
});

// Two stores on one database are two pools: their claims race in the database, as two replicas' do.
// (SQLite is one hub's embedded file: its one writer serializes claims; see the suite above.)
forEachEngine(
  'AssignmentStore: two replicas racing',
  (engine) => {
    let first: SqlStore;
    let second: SqlStore;

    beforeEach(async () => {
      first = await engine.openStore();
      await emptyHaTables(first);
      second = await engine.openStore({ keepData: true });
    });

    afterEach(async () => {
      await first.close();
      await second.close();
    });

    test(`${RACE_ROUNDS} rounds of ${RACERS} claims on an expired lease: each round exactly one is granted, at the next epoch`, async () => {
      for (let round = 0; round < RACE_ROUNDS; round++) {
        // Every round starts after the last winner's lease has expired.
        const now = NOW + round * 2 * LEASE_MS;
        const claims = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => (i % 2 === 0 ? first : second).claimCaching('k8s', owner(`hub-${i}`, `r${round}-s${i}`), now, LEASE_MS)),
        );
        const winners = claims.flatMap((c) => (c.granted ? [c.epoch] : []));
        assert.deepEqual(winners, [round + 1], `round ${round}`);
        const holder = await second.getAssignment('k8s');
        assert.equal(holder?.epoch, round + 1);
        for (const claim of claims) if (!claim.granted) assert.equal(claim.holder.sessionId, holder?.sessionId, `round ${round}`);
      }
    });

    test('a first claim of a new account raced from both stores is granted once', async () => {
      for (let round = 0; round < RACE_ROUNDS; round++) {
        const account = `new-${round}`;
        const claims = await Promise.all(
          Array.from({ length: RACERS }, (_, i) => (i % 2 === 0 ? first : second).claimCaching(account, owner(`hub-${i}`, `s${i}`), NOW, LEASE_MS)),
        );
        assert.deepEqual(
          claims.flatMap((c) => (c.granted ? [c.epoch] : [])),
          [1],
          account,
        );
      }
    });
  },
  ['postgres', 'mysql'],
);
