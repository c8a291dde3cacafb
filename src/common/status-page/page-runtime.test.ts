// The status pages' polling loop (page-runtime.ts), run against a fake browser with timers the test
// fires: it polls at the interval the data asks for, asks nothing while the page is hidden and loads at
// once when it is shown again, and after failures waits twice as long each time up to a cap, back to the
// interval after a success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_REFRESH_MS, MAX_RETRY_MS, statusPageScript } from './page-runtime.ts';
import { FakePage, type FakeResponse } from './testing/fake-page.ts';

const PAGE_REFRESH_MS = 7_000;

/** A page of one number, polled from `data`, whose answer sets the interval. */
const SCRIPT = statusPageScript(String.raw`
startPolling({
  load: function () { return getJson('data'); },
  render: function (d) { return { nodes: [el('p', null, d.n)], subject: 'n ' + d.n, refreshMs: d.refreshMs }; },
});
`);

function page(answer: () => FakeResponse): FakePage {
  return new FakePage(SCRIPT, answer);
}

test('loads at once, then every refresh interval the data asks for (the default without one)', async () => {
  let n = 0;
  let refreshMs: number | undefined = PAGE_REFRESH_MS;
  const p = page(() => ({ status: 200, body: { n: ++n, refreshMs } }));
  await p.settle();
  assert.deepEqual(p.requests, ['data']);
  assert.equal(p.elements.subject.textContent, 'n 1');
  assert.deepEqual(p.pendingTimers, [PAGE_REFRESH_MS]);
  refreshMs = undefined;
  await p.fire();
  assert.equal(p.elements.subject.textContent, 'n 2');
  assert.deepEqual(p.pendingTimers, [DEFAULT_REFRESH_MS]);
});

test('a hidden page asks nothing; shown again, it loads at once and polls on', async () => {
  const p = page(() => ({ status: 200, body: { n: 1, refreshMs: PAGE_REFRESH_MS } }));
  await p.settle();
  await p.setHidden(true);
  await p.fire();
  assert.equal(p.requests.length, 1, 'no request while hidden');
  assert.deepEqual(p.pendingTimers, [], 'and no timer: nothing runs until the page is shown');
  await p.setHidden(false);
  assert.equal(p.requests.length, 2, 'shown again: loads at once');
  assert.deepEqual(p.pendingTimers, [PAGE_REFRESH_MS]);
  // Shown or hidden in between polls changes nothing: one timer, no extra request.
  await p.setHidden(true);
  await p.setHidden(false);
  assert.equal(p.requests.length, 2);
  assert.deepEqual(p.pendingTimers, [PAGE_REFRESH_MS]);
});

test('failed loads: each wait twice the one before, up to a cap; the banner says why; a success returns to the interval', async () => {
  let failing = false;
  const p = page(() => (failing ? { status: 503, body: { message: 'database down' } } : { status: 200, body: { n: 1, refreshMs: PAGE_REFRESH_MS } }));
  await p.settle();
  failing = true;
  const waits: number[] = [];
  for (let i = 0; i < 6; i++) {
    await p.fire();
    waits.push(...p.pendingTimers);
  }
  assert.deepEqual(
    waits,
    [2, 4, 8, 16, 32, 64].map((x) => Math.min(x * PAGE_REFRESH_MS, MAX_RETRY_MS)),
  );
  assert.equal(waits.at(-1), MAX_RETRY_MS);
  assert.equal(p.elements.banner.hidden, false);
  assert.match(p.elements.banner.textContent, /HTTP 503 — database down/);
  assert.match(p.elements.meta.textContent, /next try in 60 s/);
  failing = false;
  await p.fire();
  assert.equal(p.elements.banner.hidden, true);
  assert.deepEqual(p.pendingTimers, [PAGE_REFRESH_MS]);
  failing = true;
  await p.fire();
  assert.deepEqual(p.pendingTimers, [2 * PAGE_REFRESH_MS], 'the doubling starts again from the interval');
});
