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
