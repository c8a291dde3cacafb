import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { abandonCarrier, board, carriesState, handOver, settleCarrier, WriteWaiters, type SyncWaiter, type WaiterCarrier } from './write-waiters.ts';

const TIMEOUT_MS = 1_000;

/** What `promise` resolved to once everything already due has run, or 'pending'. */
async function state<T>(promise: Promise<T>): Promise<T | 'pending'> {
  let outcome: T | 'pending' = 'pending';
  void promise.then((value) => (outcome = value));
  await new Promise((r) => setImmediate(r));
  return outcome;
}

/** Mocked timeouts, so that a wait's deadline passes when the test says so. */
function mockTimeouts(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout'] });
}

const upsert = (resourceVersion: string): WaiterCarrier => ({ type: 'upsert', resourceVersion });
const deletion = (): WaiterCarrier => ({ type: 'delete', resourceVersion: '9' });

test('an entry carries a state: its resourceVersion, or the deletion for a delete', () => {
  assert.equal(carriesState(upsert('3'), '3'), true);
  assert.equal(carriesState(upsert('3'), '4'), false);
  assert.equal(carriesState(upsert('3'), undefined), false);
  assert.equal(carriesState(deletion(), undefined), true);
  assert.equal(carriesState(deletion(), '9'), false, 'a delete never stands for a version');
  assert.equal(carriesState({ type: 'snapshotBegin' }, '3'), false);
});

test('a waiter boarded on an entry already on its way resolves true once that entry is committed, once', async (t) => {
  mockTimeouts(t);
  const waiters = new WriteWaiters();
  const entry = upsert('3');
  const synced = waiters.wait('ns/a', '3', TIMEOUT_MS, (waiter) => {
    board(entry, waiter);
    return true;
  });
  assert.equal(waiters.unobservedCount, 0);
  assert.equal(await state(synced), 'pending');
  settleCarrier(entry);
  assert.equal(await state(synced), true);
  assert.equal(entry.waiters, undefined);
  // Its deadline is void: passing it changes nothing.
  t.mock.timers.tick(TIMEOUT_MS);
  assert.equal(await synced, true);
});

test('a waiter for a state not observed yet boards the entry that brings exactly that state', async (t) => {
  mockTimeouts(t);
  const waiters = new WriteWaiters();
  const forVersion = waiters.wait('ns/a', '5', TIMEOUT_MS, () => false);
  const forDeletion = waiters.wait('ns/a', undefined, TIMEOUT_MS, () => false);
  assert.equal(waiters.unobservedCount, 2);
  const older = upsert('4');
  waiters.observed('ns/a', '4', older);
  assert.equal(older.waiters, undefined, 'another version does not satisfy it');
  const wanted = upsert('5');
  waiters.observed('ns/a', '5', wanted);
  assert.equal(wanted.waiters?.length, 1);
  assert.equal(waiters.unobservedCount, 1);
  const gone = deletion();
  waiters.observed('ns/a', undefined, gone);
  assert.equal(waiters.unobservedCount, 0);
  // Boarded, not resolved: that happens when the hub commits the entry.
  assert.equal(await state(forVersion), 'pending');
  settleCarrier(wanted);
  settleCarrier(gone);
  assert.equal(await state(forVersion), true);
  assert.equal(await state(forDeletion), true);
});

test('an object a relist no longer returns resolves the waiters for its deletion at once, not those for a version', async (t) => {
  mockTimeouts(t);
  const waiters = new WriteWaiters();
  const forDeletion = waiters.wait('ns/a', undefined, TIMEOUT_MS, () => false);
  const forVersion = waiters.wait('ns/a', '5', TIMEOUT_MS, () => false);
  waiters.gone('ns/a');
  assert.equal(await state(forDeletion), true);
  assert.equal(await state(forVersion), 'pending');
  assert.equal(waiters.unobservedCount, 1);
});

test('a waiter resolves false when its timeout passes, wherever it waits, and leaves nothing behind', async (t) => {
  mockTimeouts(t);
  const waiters = new WriteWaiters();
  const unobserved = waiters.wait('ns/a', '5', TIMEOUT_MS, () => false);
  const entry = upsert('6');
  const boarded = waiters.wait('ns/b', '6', TIMEOUT_MS, (waiter) => {
    board(entry, waiter);
    return true;
  });
  t.mock.timers.tick(TIMEOUT_MS - 1);
  assert.equal(await state(unobserved), 'pending');
  t.mock.timers.tick(1);
  assert.equal(await state(unobserved), false);
  assert.equal(await state(boarded), false);
  assert.equal(waiters.unobservedCount, 0);
  // Observed or committed too late: a waiter resolves once.
  waiters.observed('ns/a', '5', upsert('5'));
  settleCarrier(entry);
  assert.equal(await boarded, false);
});

test('waiters handed over to the entry that replaces theirs resolve with it; an abandoned entry answers its waiters false', async (t) => {
  mockTimeouts(t);
  const waiters = new WriteWaiters();
  const onBoard = (entry: WaiterCarrier) => (waiter: SyncWaiter) => {
    board(entry, waiter);
    return true;
  };
  const older = upsert('3');
  const newer = upsert('4');
  const forOlder = waiters.wait('ns/a', '3', TIMEOUT_MS, onBoard(older));
  const forNewer = waiters.wait('ns/a', '4', TIMEOUT_MS, onBoard(newer));
  handOver(older, newer);
  assert.equal(older.waiters, undefined);
  assert.equal(newer.waiters?.length, 2);
  const gone = deletion();
  handOver(newer, gone);
  settleCarrier(older);
  assert.equal(await state(forOlder), 'pending', 'the replaced entry no longer carries it');
  settleCarrier(gone);
  assert.equal(await state(forOlder), true);
  assert.equal(await state(forNewer), true);

  const lost = upsert('5');
  const forLost = waiters.wait('ns/b', '5', TIMEOUT_MS, onBoard(lost));
  abandonCarrier(lost);
  assert.equal(await state(forLost), false);
  assert.equal(lost.waiters, undefined);
});
