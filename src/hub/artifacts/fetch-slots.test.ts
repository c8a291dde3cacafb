// The fetch slots alone: first come first served, a slot passes straight to the next waiter, a full
// queue and a wait past its bound are ARTIFACT_FETCH_BUSY (with when to retry), and giving a slot back
// twice frees one slot only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Errors, isScaleAgentError } from '../../common/errors.ts';
import { FETCH_BUSY_RETRY_AFTER_SECONDS, FetchSlots } from './fetch-slots.ts';

const LONG_WAIT_MS = 60_000;

async function busy(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isScaleAgentError(err, Errors.ARTIFACT_FETCH_BUSY.code), String(err));
    assert.equal(err.details.retryAfterSeconds, FETCH_BUSY_RETRY_AFTER_SECONDS);
    return err.message;
  }
  assert.fail('expected ARTIFACT_FETCH_BUSY');
}

test('waiters get slots in order; a full queue is refused at once', async () => {
  const slots = new FetchSlots({ maxConcurrent: 1, maxQueued: 2 });
  const first = await slots.acquire(LONG_WAIT_MS);
  const order: string[] = [];
  const second = slots.acquire(LONG_WAIT_MS).then((release) => (order.push('second'), release));
  const third = slots.acquire(LONG_WAIT_MS).then((release) => (order.push('third'), release));
  assert.match(await busy(slots.acquire(LONG_WAIT_MS)), /1 artifact fetches are running .* and 2 waiting/);
  first();
  first(); // a second release of the same slot frees nothing more
  const releaseSecond = await second;
  assert.deepEqual([slots.running(), slots.queued()], [1, 1]);
  releaseSecond();
  (await third)();
  assert.deepEqual(order, ['second', 'third']);
  assert.deepEqual([slots.running(), slots.queued()], [0, 0]);
});

test('a waiter whose wait runs out is refused and leaves the queue', async () => {
  const slots = new FetchSlots({ maxConcurrent: 1, maxQueued: 1 });
  const held = await slots.acquire(LONG_WAIT_MS);
  assert.match(await busy(slots.acquire(1)), /no slot for artifact fetches freed within 1 ms/);
  assert.equal(slots.queued(), 0);
  held();
  assert.equal(slots.running(), 0);
});

test("a waiter leaves the queue when its caller's deadline passes (ARTIFACT_FETCH_TIMEOUT), and an aborted caller never takes a slot", async () => {
  const slots = new FetchSlots({ maxConcurrent: 1, maxQueued: 1 });
  const held = await slots.acquire(LONG_WAIT_MS);
  const deadline = new AbortController();
  const waiting = slots.acquire(LONG_WAIT_MS, deadline.signal);
  assert.equal(slots.queued(), 1);
  deadline.abort();
  await assert.rejects(waiting, (err: unknown) => isScaleAgentError(err, Errors.ARTIFACT_FETCH_TIMEOUT.code));
  assert.equal(slots.queued(), 0);
  await assert.rejects(slots.acquire(LONG_WAIT_MS, deadline.signal), (err: unknown) => isScaleAgentError(err, Errors.ARTIFACT_FETCH_TIMEOUT.code));
  held();
  assert.deepEqual([slots.running(), slots.queued()], [0, 0]);
});

test('slots with a label name their own keys when busy', async () => {
  const slots = new FetchSlots({ maxConcurrent: 1, maxQueued: 0, label: { what: 'git fetches', maxConcurrentKey: 'A', maxQueuedKey: 'B' } });
  const held = await slots.acquire(LONG_WAIT_MS);
  assert.match(await busy(slots.acquire(LONG_WAIT_MS)), /1 git fetches are running \(A\) and 0 waiting \(B\)/);
  held();
});
