import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ListBudget } from './list-budget.ts';

/** Simulated time a page is held while the queues stay at the high-water mark: many polls and pending-total refreshes. */
const HELD_MS = 1_000;
const MAX_PAGE_WAIT_MS = 50;

/**
 * Page waits poll on a timer that re-arms itself, and node's mock timers fire a timer at most once per
 * tick: advance one millisecond at a time, letting the callbacks of resolved waits run at that moment.
 */
async function advance(t: TestContext, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    t.mock.timers.tick(1);
    await nextTurn();
  }
}

/** Mock timers and Date; the budget reads the mocked Date as its clock. */
function simulatedTime(t: TestContext): () => number {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  return () => Date.now();
}

test('lists take turns within the total and per-account budgets', async () => {
  const budget = new ListBudget(2, 1);
  const a1 = await budget.acquire('a');
  const b1 = await budget.acquire('b');
  let a2Granted = false;
  const a2 = budget.acquire('a').then((release) => {
    a2Granted = true;
    return release;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(a2Granted, false, 'account a is at its own limit');
  a1();
  (await a2)();
  b1();
  assert.equal(budget.active, 0);
});

test('a page waits while the queues hold the high-water mark, and goes on once they drain', async (t) => {
  const clock = simulatedTime(t);
  let pending = 10;
  const budget = new ListBudget(5, 5, { pendingHighWater: 10, maxPageWaitMs: 60_000, clock });
  const untrack = budget.trackPending(() => pending);
  let passed = false;
  const page = budget.roomForPage().then(() => (passed = true));
  await advance(t, HELD_MS);
  assert.equal(passed, false);
  pending = 9;
  await advance(t, HELD_MS);
  await page;
  assert.equal(passed, true);
  untrack();
  pending = 1000;
  await budget.roomForPage(); // no source counted any more
});

test('a page waits at most maxPageWaitMs, and an abort rejects the wait', async (t) => {
  const clock = simulatedTime(t);
  const budget = new ListBudget(5, 5, { pendingHighWater: 1, maxPageWaitMs: MAX_PAGE_WAIT_MS, clock });
  budget.trackPending(() => 5);
  const started = Date.now();
  let passedAt: number | undefined;
  const page = budget.roomForPage().then(() => (passedAt = Date.now()));
  await advance(t, 2 * MAX_PAGE_WAIT_MS);
  assert.ok(passedAt !== undefined, 'the page went on after maxPageWaitMs');
  await page;
  assert.ok(passedAt - started >= MAX_PAGE_WAIT_MS, `passed after ${passedAt - started} ms`);
  const controller = new AbortController();
  const waiting = budget.roomForPage(controller.signal);
  controller.abort(new Error('stop'));
  await assert.rejects(waiting, /stop/);
});
