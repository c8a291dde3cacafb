import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListBudget } from './list-budget.ts';

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

test('a page waits while the queues hold the high-water mark, and goes on once they drain', async () => {
  let pending = 10;
  const budget = new ListBudget(5, 5, { pendingHighWater: 10, maxPageWaitMs: 60_000 });
  const untrack = budget.trackPending(() => pending);
  let passed = false;
  const page = budget.roomForPage().then(() => (passed = true));
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(passed, false);
  pending = 9;
  await page;
  assert.equal(passed, true);
  untrack();
  pending = 1000;
  await budget.roomForPage(); // no source counted any more
});

test('a page waits at most maxPageWaitMs, and an abort rejects the wait', async () => {
  const budget = new ListBudget(5, 5, { pendingHighWater: 1, maxPageWaitMs: 50 });
  budget.trackPending(() => 5);
  const started = Date.now();
  await budget.roomForPage();
  assert.ok(Date.now() - started >= 45);
  const controller = new AbortController();
  const waiting = budget.roomForPage(controller.signal);
  controller.abort(new Error('stop'));
  await assert.rejects(waiting, /stop/);
});
