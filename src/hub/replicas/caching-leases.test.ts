// The caching leases of hub replicas over one shared database (an in-memory AssignmentStore), with a
// clock moved by hand and ticks called by the test: renewal, loss, release, takeover after a release or
// after a lease ran out, and races between replicas.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/logger.ts';
import { CachingLeases, RENEWALS_PER_LEASE, type CachingHost, type CachingSessionRef } from './caching-leases.ts';
import { ManualClock, MemoryAssignmentStore } from './testing/memory-assignments.ts';

const LEASE_MS = 15_000;
const TICK_MS = LEASE_MS / RENEWALS_PER_LEASE;
const ACCOUNT = 'prod';

/** A replica's sessions as the leases see them: which accounts stand by, and what the leases told it. */
class FakeHost implements CachingHost {
  readonly standing = new Map<string, CachingSessionRef>();
  readonly takenOver: Array<{ account: string; sessionId: string }> = [];
  readonly lost: Array<{ account: string; sessionId: string; reason: string }> = [];
  acceptTakeOver = true;

  standbys(): Array<{ account: string; session: CachingSessionRef }> {
    return [...this.standing].map(([account, session]) => ({ account, session }));
  }

  takeOver(account: string, session: CachingSessionRef): boolean {
    if (!this.acceptTakeOver) return false;
    this.takenOver.push({ account, sessionId: session.sessionId });
    this.standing.delete(account);
    return true;
  }

  lose(account: string, sessionId: string, reason: string): void {
    this.lost.push({ account, sessionId, reason });
  }
}

function replica(store: MemoryAssignmentStore, clock: ManualClock, hubId: string): { leases: CachingLeases; host: FakeHost } {
  const leases = new CachingLeases({ store, hubId, leaseMs: LEASE_MS, logger: silentLogger(), clock: clock.now });
  const host = new FakeHost();
  leases.setHost(host);
  return { leases, host };
}

function setUp() {
  const store = new MemoryAssignmentStore();
  const clock = new ManualClock();
  const a = replica(store, clock, 'hub-a');
  const b = replica(store, clock, 'hub-b');
  return { store, clock, a, b };
}

const SESSION_A: CachingSessionRef = { sessionId: 'session-a', agentId: 'agent-a' };
const SESSION_B: CachingSessionRef = { sessionId: 'session-b', agentId: 'agent-b' };

describe('caching leases', () => {
  test('the first claim is granted; a session of another replica is refused and told who holds the account', async () => {
    const { a, b } = setUp();
    assert.deepEqual(await a.leases.claim(ACCOUNT, SESSION_A), { granted: true, epoch: 1 });
    const refused = await b.leases.claim(ACCOUNT, SESSION_B);
    assert.equal(refused.granted, false);
    assert.equal(!refused.granted && refused.holder.hubId, 'hub-a');
    assert.equal(a.leases.epoch(ACCOUNT, SESSION_A.sessionId), 1);
    assert.equal(a.leases.epoch(ACCOUNT, 'another-session'), undefined);
    assert.equal(b.leases.epoch(ACCOUNT, SESSION_B.sessionId), undefined);
  });

  test('of two replicas racing for one account, exactly one is granted', async () => {
    const { a, b } = setUp();
    const claims = await Promise.all([a.leases.claim(ACCOUNT, SESSION_A), b.leases.claim(ACCOUNT, SESSION_B)]);
    assert.equal(claims.filter((c) => c.granted).length, 1);
  });

  test('a renewed lease is never taken over, however long it is held', async () => {
    const { store, clock, a, b } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    b.host.standing.set(ACCOUNT, SESSION_B);
    for (let i = 0; i < RENEWALS_PER_LEASE * 4; i++) {
      clock.advance(TICK_MS);
      await a.leases.tick();
      await b.leases.tick();
    }
    assert.deepEqual(b.host.takenOver, []);
    assert.deepEqual(a.host.lost, []);
    assert.equal((await store.getAssignment(ACCOUNT))?.hubId, 'hub-a');
  });

  test('a lease its holder stops renewing is taken over once it ran out, at a higher epoch, and not before', async () => {
    const { store, clock, a, b } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    b.host.standing.set(ACCOUNT, SESSION_B);
    // Replica a dies: it ticks no more.
    clock.advance(LEASE_MS - 1);
    await b.leases.tick();
    assert.deepEqual(b.host.takenOver, [], 'the lease has not run out yet');
    clock.advance(1);
    await b.leases.tick();
    assert.deepEqual(b.host.takenOver, [{ account: ACCOUNT, sessionId: SESSION_B.sessionId }]);
    assert.equal(b.leases.epoch(ACCOUNT, SESSION_B.sessionId), 2);
    assert.equal((await store.getAssignment(ACCOUNT))?.sessionId, SESSION_B.sessionId);
  });

  test('a released lease is taken over at the next tick, and its former holder renews it no more', async () => {
    const { clock, a, b } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    b.host.standing.set(ACCOUNT, SESSION_B);
    await a.leases.releaseSession(SESSION_A.sessionId);
    assert.equal(a.leases.epoch(ACCOUNT, SESSION_A.sessionId), undefined);
    await b.leases.tick();
    assert.deepEqual(b.host.takenOver, [{ account: ACCOUNT, sessionId: SESSION_B.sessionId }]);
    clock.advance(TICK_MS);
    await a.leases.tick();
    assert.deepEqual(a.host.lost, [], 'a released lease is not renewed, so not lost either');
  });

  test('a holder whose lease was taken over while it could not renew loses the account at its next renewal', async () => {
    const { store, clock, a, b } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    b.host.standing.set(ACCOUNT, SESSION_B);
    // Replica a is cut off from the database for longer than the lease: its renewals fail, and b takes over.
    store.failures.renewSessions = 2;
    clock.advance(TICK_MS);
    await a.leases.tick();
    clock.advance(TICK_MS);
    await a.leases.tick();
    assert.equal(a.leases.epoch(ACCOUNT, SESSION_A.sessionId), 1, 'a failed renewal is not a loss: the lease is kept and renewed again');
    clock.advance(LEASE_MS);
    await b.leases.tick();
    assert.equal(b.leases.epoch(ACCOUNT, SESSION_B.sessionId), 2);
    await a.leases.tick();
    assert.equal(a.host.lost.length, 1);
    assert.equal(a.host.lost[0]!.account, ACCOUNT);
    assert.equal(a.host.lost[0]!.sessionId, SESSION_A.sessionId);
    assert.match(a.host.lost[0]!.reason, /hub-b/);
    assert.equal(a.leases.epoch(ACCOUNT, SESSION_A.sessionId), undefined);
  });

  test('one renewal call renews every held account; only the one another replica took over is lost', async () => {
    const { store, clock, a, b } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    await a.leases.claim('second', SESSION_A);
    b.host.standing.set('second', SESSION_B);
    store.failures.renewSessions = 1;
    clock.advance(LEASE_MS);
    await a.leases.tick();
    await b.leases.tick();
    assert.equal(b.leases.epoch('second', SESSION_B.sessionId), 2);
    const renewals = store.calls.renewSessions ?? 0;
    await a.leases.tick();
    assert.equal((store.calls.renewSessions ?? 0) - renewals, 1, 'one call for both accounts');
    assert.deepEqual(
      a.host.lost.map((l) => l.account),
      ['second'],
    );
    assert.equal(a.leases.epoch(ACCOUNT, SESSION_A.sessionId), 1);
    assert.equal((await store.getAssignment(ACCOUNT))?.leaseExpiresAt, clock.now() + LEASE_MS);
  });

  test('a loss reported for an epoch no longer held is ignored', async () => {
    const { a } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    a.leases.lost(ACCOUNT, SESSION_A.sessionId, 0, 'stale');
    a.leases.lost(ACCOUNT, 'another-session', 1, 'another session');
    assert.deepEqual(a.host.lost, []);
    a.leases.lost(ACCOUNT, SESSION_A.sessionId, 1, 'a batch was fenced');
    assert.deepEqual(a.host.lost, [{ account: ACCOUNT, sessionId: SESSION_A.sessionId, reason: 'a batch was fenced' }]);
  });

  test('confirm answers the epoch while the database agrees, and loses the account when it does not', async () => {
    const { clock, a, b } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    assert.equal(await a.leases.confirm(ACCOUNT, SESSION_A.sessionId), 1);
    assert.equal(await a.leases.confirm(ACCOUNT, 'another-session'), undefined);
    clock.advance(LEASE_MS);
    await b.leases.claim(ACCOUNT, SESSION_B);
    assert.equal(await a.leases.confirm(ACCOUNT, SESSION_A.sessionId), undefined);
    assert.equal(a.host.lost.length, 1);
  });

  test('a takeover the host can no longer accept gives the lease back', async () => {
    const { store, a, b } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    await a.leases.releaseSession(SESSION_A.sessionId);
    b.host.standing.set(ACCOUNT, SESSION_B);
    b.host.acceptTakeOver = false;
    await b.leases.tick();
    assert.equal(b.leases.epoch(ACCOUNT, SESSION_B.sessionId), undefined);
    assert.equal((await store.getAssignment(ACCOUNT))?.leaseExpiresAt, 0);
  });

  test('an account nobody ever claimed is claimed by a standby; a failed listing is retried at the next tick', async () => {
    const { store, b } = setUp();
    b.host.standing.set(ACCOUNT, SESSION_B);
    store.failures.listAssignments = 1;
    await b.leases.tick();
    assert.deepEqual(b.host.takenOver, []);
    await b.leases.tick();
    assert.deepEqual(b.host.takenOver, [{ account: ACCOUNT, sessionId: SESSION_B.sessionId }]);
  });

  test('ticks do not overlap: one asked for while one runs runs once more after it', async () => {
    const { store, a } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    const renewals = store.calls.renewSessions ?? 0;
    await Promise.all([a.leases.tick(), a.leases.tick(), a.leases.tick()]);
    assert.equal((store.calls.renewSessions ?? 0) - renewals, 2);
  });

  test('a stopped replica neither renews nor takes over', async () => {
    const { store, a, b } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    await a.leases.releaseSession(SESSION_A.sessionId);
    b.host.standing.set(ACCOUNT, SESSION_B);
    await b.leases.stop();
    await b.leases.tick();
    assert.deepEqual(b.host.takenOver, []);
    assert.equal((await store.getAssignment(ACCOUNT))?.hubId, 'hub-a');
  });

  test('a lone replica (SQLite) claims and fences without renewing; its own standby still takes a released account over', async () => {
    const store = new MemoryAssignmentStore();
    const clock = new ManualClock();
    const leases = new CachingLeases({ store, hubId: 'hub-a', leaseMs: LEASE_MS, renew: false, logger: silentLogger(), clock: clock.now });
    const host = new FakeHost();
    leases.setHost(host);
    assert.deepEqual(await leases.claim(ACCOUNT, SESSION_A), { granted: true, epoch: 1 });
    clock.advance(LEASE_MS * 4);
    await leases.tick();
    assert.equal(store.calls.renewSessions, undefined);
    assert.deepEqual(host.lost, []);
    assert.equal(leases.epoch(ACCOUNT, SESSION_A.sessionId), 1);
    await leases.releaseSession(SESSION_A.sessionId);
    host.standing.set(ACCOUNT, SESSION_B);
    await leases.tick();
    assert.deepEqual(host.takenOver, [{ account: ACCOUNT, sessionId: SESSION_B.sessionId }]);
    assert.equal(leases.epoch(ACCOUNT, SESSION_B.sessionId), 2);
  });

  test('a session that declares an account it already holds keeps its epoch without asking the database', async () => {
    const { store, a } = setUp();
    await a.leases.claim(ACCOUNT, SESSION_A);
    const claims = store.calls.claimCaching;
    assert.deepEqual(await a.leases.claim(ACCOUNT, SESSION_A), { granted: true, epoch: 1 });
    assert.equal(store.calls.claimCaching, claims);
  });

  test('leases tick every third of the lease', () => {
    const { a } = setUp();
    assert.equal(a.leases.tickIntervalMs, TICK_MS);
  });
});
