import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../../common/time.ts';
import { StartPacer } from './start-pacer.ts';

const INTERVAL_MS = 40;

test('starts accounts one interval apart; a newer request replaces a queued one; cancel withdraws it', async () => {
  const pacer = new StartPacer(INTERVAL_MS);
  const started: Array<{ what: string; at: number }> = [];
  const start = (what: string) => () => started.push({ what, at: Date.now() });
  pacer.schedule('a', start('a'));
  pacer.schedule('b', start('b-old'));
  pacer.schedule('c', start('c'));
  pacer.schedule('d', start('d'));
  pacer.schedule('b', start('b-new'));
  pacer.cancel('c');
  assert.deepEqual(
    started.map((s) => s.what),
    ['a'],
    'the first start is immediate',
  );
  await waitFor(() => started.length === 3, { timeoutMs: 2000, intervalMs: 5 });
  assert.deepEqual(
    started.map((s) => s.what),
    ['a', 'd', 'b-new'],
  );
  for (let i = 1; i < started.length; i++) assert.ok(started[i]!.at - started[i - 1]!.at >= INTERVAL_MS - 5, `gap ${started[i]!.at - started[i - 1]!.at} ms`);
  assert.equal(pacer.queued, 0);
  pacer.close();
});

test('an interval of 0 starts at once', () => {
  const pacer = new StartPacer(0);
  const started: string[] = [];
  for (const account of ['a', 'b', 'c']) pacer.schedule(account, () => started.push(account));
  assert.deepEqual(started, ['a', 'b', 'c']);
});

test('groups (cacheGroupSize, cacheGroupDelayMs): a group starts at once, the next after the delay', async () => {
  const GROUP_DELAY_MS = 150;
  const pacer = new StartPacer(0, { size: 2, delayMs: GROUP_DELAY_MS });
  const started: Array<{ what: string; at: number }> = [];
  for (const account of ['a', 'b', 'c', 'd', 'e']) pacer.schedule(account, () => started.push({ what: account, at: Date.now() }));
  assert.deepEqual(
    started.map((s) => s.what),
    ['a', 'b'],
    'the first group starts at once',
  );
  await waitFor(() => started.length === 5, { timeoutMs: 3000, intervalMs: 5 });
  assert.deepEqual(
    started.map((s) => s.what),
    ['a', 'b', 'c', 'd', 'e'],
  );
  const gap = (i: number) => started[i]!.at - started[i - 1]!.at;
  // Timers may fire a millisecond early against Date.now(); the groups are far apart all the same.
  assert.ok(gap(2) >= GROUP_DELAY_MS - 5, `c started ${gap(2)} ms after b`);
  assert.ok(gap(4) >= GROUP_DELAY_MS - 5, `e started ${gap(4)} ms after d`);
  assert.ok(gap(3) < GROUP_DELAY_MS, `c and d are one group (${gap(3)} ms apart)`);
  pacer.close();
});

test('groups: a pause as long as the delay begins a new group; the interval still paces within a group', () => {
  let now = 1000;
  const clock = () => now;
  const pacer = new StartPacer(10, { size: 2, delayMs: 100 }, clock);
  const started: string[] = [];
  pacer.schedule('a', () => started.push('a'));
  now += 10;
  pacer.schedule('b', () => started.push('b'));
  assert.deepEqual(started, ['a', 'b']);
  // Long after the group: a new group, no waiting.
  now += 500;
  pacer.schedule('c', () => started.push('c'));
  assert.deepEqual(started, ['a', 'b', 'c']);
  // Within the group, the interval applies: d waits 10 ms (queued, not started).
  pacer.schedule('d', () => started.push('d'));
  assert.deepEqual(started, ['a', 'b', 'c']);
  assert.equal(pacer.queued, 1);
  pacer.close();
});
