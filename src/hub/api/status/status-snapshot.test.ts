// The status page's shared snapshot: one read serves every poll for its TTL, polls during a read wait for
// it (single flight), a read after the TTL reads again, and a database that does not answer is a DOWN
// snapshot kept as long as any other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accountRecord } from '../../store/testing/fixtures.ts';
import type { AccountRecord } from '../../store/types.ts';
import { STATUS_OPERATIONS_SHOWN, STATUS_SNAPSHOT_TTL_MS, StatusSnapshots } from './status-snapshot.ts';

function setup() {
  let now = 1_700_000_000_000;
  const reads = { accounts: 0, feeds: 0, operations: 0, pings: 0, replicas: 0 };
  let failing: Error | undefined;
  /** Released by the test: the accounts read waits for it, as a slow database would. */
  let release: () => void = () => {};
  let gate = Promise.resolve();
  const account = { ...accountRecord('prod'), registeredAt: now, lastSeenAt: now } as AccountRecord;
  const snapshots = new StatusSnapshots({
    store: {
      listAccounts: async () => {
        reads.accounts++;
        await gate;
        return [account];
      },
      listFeedStates: async () => {
        reads.feeds++;
        return [];
      },
      listOperations: async (limit) => {
        reads.operations++;
        assert.equal(limit, STATUS_OPERATIONS_SHOWN);
        return [];
      },
    },
    health: {
      ping: async () => {
        reads.pings++;
        if (failing) throw failing;
      },
    },
    replicas: {
      list: async () => {
        reads.replicas++;
        return [];
      },
    },
    clock: () => now,
  });
  return {
    snapshots,
    reads,
    advance: (ms: number) => (now += ms),
    fail: (err: Error | undefined) => (failing = err),
    hold: () => {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
  };
}

test('polls during a read share it; polls within the TTL reuse it; the first poll after it reads again', async () => {
  const { snapshots, reads, advance, hold, release } = setup();
  hold();
  const polls = [snapshots.get(), snapshots.get(), snapshots.get()];
  release();
  const [a, b, c] = await Promise.all(polls);
  assert.equal(a, b);
  assert.equal(b, c);
  assert.deepEqual(reads, { accounts: 1, feeds: 1, operations: 1, pings: 1, replicas: 1 });
  assert.deepEqual(
    a!.accounts.map((r) => r.name),
    ['prod'],
  );

  advance(STATUS_SNAPSHOT_TTL_MS - 1);
  assert.equal(await snapshots.get(), a, 'within the TTL: the same snapshot, no read');
  assert.equal(reads.accounts, 1);
  advance(1);
  const d = await snapshots.get();
  assert.notEqual(d, a);
  assert.deepEqual(reads, { accounts: 2, feeds: 2, operations: 2, pings: 2, replicas: 2 });
});

test('a database that does not answer: a DOWN snapshot, kept for the TTL like any other', async () => {
  const { snapshots, reads, advance, fail } = setup();
  fail(new Error('connection refused'));
  const down = await snapshots.get();
  assert.deepEqual(down, { database: { status: 'DOWN', error: 'connection refused' }, replicas: [], accounts: [], feeds: [], operations: [] });
  assert.equal(await snapshots.get(), down);
  assert.equal(reads.pings, 1, 'open pages do not pile pings onto a failing database');
  fail(undefined);
  advance(STATUS_SNAPSHOT_TTL_MS);
  assert.deepEqual((await snapshots.get()).database, { status: 'UP' });
});
