import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../common/logger.ts';
import { SyncProgress } from './sync-progress.ts';
import { SyncProgressLog } from './sync-progress-log.ts';

const START = 1_700_000_000_000;
const ACCOUNT_LINES = 3;

function setup() {
  let now = START;
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const progress = new SyncProgress(() => now);
  const log = new SyncProgressLog({ progress, logger: createLogger({ destination }), accountLines: ACCOUNT_LINES });
  return {
    progress,
    log,
    /** The lines logged since the last call, without pino's own fields. */
    take(): Array<Record<string, unknown>> {
      return logs.splice(0).map(({ level: _l, time: _t, ...rest }) => rest);
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

/** What an account runtime does when it starts caching with one feed. */
function startAccount(progress: SyncProgress, account: string, resumed = false): void {
  progress.accountWaiting(account);
  progress.feedStarted(account, '/Pod@', resumed);
  progress.accountStarted(account);
}

const BEGIN = { type: 'snapshotBegin' };
const END = { type: 'snapshotEnd' };
const objects = (n: number) => Array.from({ length: n }, () => ({ type: 'upsert' }));

test('a report: the total, then the slowest accounts still syncing, capped, and how many more', () => {
  const { progress, log, take, advance } = setup();
  log.report();
  assert.deepEqual(take(), [], 'no sync, no lines');

  // Six accounts of 1,000 objects; account i has committed 100 × i of them at a steady rate; a seventh waits.
  for (let i = 0; i < 6; i++) {
    startAccount(progress, `a${i}`);
    progress.listPage(`a${i}`, '/Pod@', { items: 1000, first: true, last: true });
  }
  progress.accountWaiting('waiting');
  for (let s = 0; s < 10; s++) {
    for (let i = 0; i < 6; i++) progress.committed(`a${i}`, '/Pod@', s === 0 ? [BEGIN, ...objects(10 * i)] : objects(10 * i));
    advance(1000);
  }
  log.report();
  const lines = take();
  assert.deepEqual(lines[0], {
    msg: 'initial sync progress',
    accounts: 7,
    accountsDone: 0,
    accountsWaiting: 1,
    feeds: 6,
    feedsDone: 0,
    listed: 6000,
    committed: 1500,
    objectsPerSecond: 150,
    seconds: 10,
  });
  assert.deepEqual(
    lines.slice(1, 1 + ACCOUNT_LINES).map((l) => [l.account, l.committed, l.expected, l.objectsPerSecond, l.etaSeconds]),
    [
      ['a0', 0, 1000, 0, undefined],
      ['a1', 100, 1000, 10, 90],
      ['a2', 200, 1000, 20, 40],
    ],
    'the slowest first: no rate (no ETA) ahead of the longest ETA',
  );
  assert.equal(lines[1]!.msg, 'initial sync progress of an account');
  assert.deepEqual(lines.slice(1 + ACCOUNT_LINES), [{ msg: 'initial sync progress: 3 more accounts syncing', more: 3 }]);
});

test('a line when an account is done and one when all are; none after stop()', () => {
  const { progress, log, take, advance } = setup();
  for (const account of ['a', 'b']) {
    startAccount(progress, account);
    progress.listPage(account, '/Pod@', { items: 300, first: true, last: true });
  }
  advance(1500);
  progress.committed('a', '/Pod@', [BEGIN, ...objects(300), END]);
  advance(500);
  progress.committed('b', '/Pod@', [BEGIN, ...objects(300), END]);
  assert.deepEqual(take(), [
    {
      msg: 'initial sync of account a done: 300 objects in 1.5 s (200 objects/s)',
      account: 'a',
      objects: 300,
      feeds: 1,
      seconds: 1.5,
      objectsPerSecond: 200,
    },
    {
      msg: 'initial sync of account b done: 300 objects in 2 s (150 objects/s)',
      account: 'b',
      objects: 300,
      feeds: 1,
      seconds: 2,
      objectsPerSecond: 150,
    },
    { msg: 'initial sync done: 600 objects in 2 accounts in 2 s (300 objects/s)', objects: 600, accounts: 2, seconds: 2, objectsPerSecond: 300 },
  ]);
  log.report();
  assert.deepEqual(take(), [], 'nothing syncing: no progress lines');

  startAccount(progress, 'c', true);
  assert.deepEqual(
    take().map((l) => l.msg),
    ['initial sync of account c done: 0 objects in 0 s (0 objects/s)', 'initial sync done: 0 objects in 1 account in 0 s (0 objects/s)'],
  );

  log.stop();
  startAccount(progress, 'd');
  progress.committed('d', '/Pod@', [BEGIN, END]);
  assert.deepEqual(take(), [], 'an agent that stops logs no sync finishing');
});
