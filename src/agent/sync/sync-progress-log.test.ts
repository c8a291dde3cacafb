import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../common/logger.ts';
import { SYNC_FEED_STALLED_MS, SyncProgress } from './sync-progress.ts';
import { PROGRESS_LOG_INTERVAL_MS, PROGRESS_LOG_MAX_INTERVAL_MS, SyncProgressLog, feedLabel } from './sync-progress-log.ts';

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
  const log = new SyncProgressLog({ progress, logger: createLogger({ destination }), accountLines: ACCOUNT_LINES, clock: () => now });
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

const DAY_MS = 24 * 3600 * 1000;

/** The timer's ticks over `ms` (every PROGRESS_LOG_INTERVAL_MS), with `each` run before each tick. */
function tickFor(log: SyncProgressLog, advance: (ms: number) => void, ms: number, each: () => void = () => {}): void {
  for (let t = 0; t < ms; t += PROGRESS_LOG_INTERVAL_MS) {
    advance(PROGRESS_LOG_INTERVAL_MS);
    each();
    log.tick();
  }
}

test('while nothing moves, each report doubles the wait for the next up to the cap; progress brings the interval back', () => {
  const { progress, log, take, advance } = setup();
  startAccount(progress, 'a');
  progress.listPage('a', '/Pod@', { items: 10, first: true, last: false });
  // A list that neither fails nor moves (a page that never comes): never stalled, only quiet.
  const reports = () =>
    take()
      .filter((l) => l.msg === 'initial sync progress')
      .map((l) => l.seconds as number);
  tickFor(log, advance, 700_000);
  const at = reports();
  const gaps = at.slice(1).map((s, i) => Math.round(s - at[i]!));
  assert.deepEqual(gaps, [5, 10, 20, 40, 80, 160, 300], `reports at ${at.join(', ')} s`);

  tickFor(log, advance, PROGRESS_LOG_MAX_INTERVAL_MS);
  take();
  // A page arrives: the next tick reports, and the interval is the base one while things move.
  advance(PROGRESS_LOG_INTERVAL_MS);
  progress.listPage('a', '/Pod@', { items: 10, first: false, last: false });
  log.tick();
  assert.equal(reports().length, 1, 'progress is reported at the next tick');
  tickFor(log, advance, 3 * PROGRESS_LOG_INTERVAL_MS, () => progress.listPage('a', '/Pod@', { items: 1, first: false, last: false }));
  assert.equal(reports().length, 3, 'every interval while it moves');

  const day = { lines: 0 };
  tickFor(log, advance, DAY_MS, () => (day.lines += take().length));
  assert.ok(day.lines <= 2 * (DAY_MS / PROGRESS_LOG_MAX_INTERVAL_MS + 10), `${day.lines} lines in a day of no progress`);
});

test('a kind whose list keeps failing: its account ends incomplete in one warning naming it, the lines stop; one line if it completes', () => {
  const { progress, log, take, advance } = setup();
  startAccount(progress, 'a');
  progress.feedStarted('a', 'apps/Deployment@web', false);
  progress.listPage('a', '/Pod@', { items: 3, first: true, last: true });
  progress.committed('a', '/Pod@', [BEGIN, ...objects(3), END]);
  take();
  // The Deployment list fails at every attempt from the first tick on (5 s), backing off each time; stalled
  // once it has failed for longer than the bound (at 310 s). Before, one stuck feed logged 34,560 lines a day.
  const day: Array<Record<string, unknown>> = [];
  tickFor(log, advance, DAY_MS, () => {
    progress.feedBackingOff('a', 'apps/Deployment@web');
    day.push(...take());
  });
  day.push(...take());
  const progressLines = day.filter((l) => String(l.msg).startsWith('initial sync progress'));
  assert.ok(progressLines.length < 30, `${progressLines.length} progress lines before the feed counted as stalled`);
  assert.ok(
    progressLines.every((l) => (l.seconds as number) <= SYNC_FEED_STALLED_MS / 1000 + 2 * (PROGRESS_LOG_INTERVAL_MS / 1000)),
    'none after',
  );
  const ends = day.filter((l) => !String(l.msg).startsWith('initial sync progress'));
  assert.deepEqual(ends, [
    {
      msg:
        'initial sync of account a incomplete: 3 objects in 310 s; Deployment.apps in web could not be listed (failing for longer than the stall bound); ' +
        'they are retried, and a line says so if they complete',
      account: 'a',
      objects: 3,
      feeds: 2,
      stalledFeeds: ['apps/Deployment@web'],
      seconds: 310,
    },
    {
      msg: 'initial sync done: 3 objects in 1 account in 310 s (0 objects/s); 1 account incomplete',
      objects: 3,
      accounts: 1,
      incompleteAccounts: 1,
      seconds: 310,
      objectsPerSecond: 0,
    },
  ]);

  progress.listPage('a', 'apps/Deployment@web', { items: 2, first: true, last: true });
  progress.committed('a', 'apps/Deployment@web', [BEGIN, ...objects(2), END]);
  assert.deepEqual(
    take().map((l) => l.msg),
    [`initial sync of account a completed after all: 5 objects in ${DAY_MS / 1000} s, its stalled kinds listed at last`],
  );
  tickFor(log, advance, PROGRESS_LOG_MAX_INTERVAL_MS);
  assert.deepEqual(take(), []);
});

test('feed ids as kinds are written', () => {
  assert.equal(feedLabel('apps/Deployment@web'), 'Deployment.apps in web');
  assert.equal(feedLabel('/Pod@'), 'Pod');
  assert.equal(feedLabel('example.com/Widget@'), 'Widget.example.com');
});
