import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SYNC_FEED_STALLED_MS, SyncProgress, type SyncFinished } from './sync-progress.ts';

const START = 1_700_000_000_000;

/** A progress on a clock the test moves, with what it reported as finished. */
function setup() {
  let now = START;
  const progress = new SyncProgress(() => now);
  const finished: SyncFinished[] = [];
  progress.onFinished((f) => finished.push(f));
  return {
    progress,
    finished,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** `n` object entries of a batch, as the feed queue hands them out. */
function objects(n: number, type = 'upsert'): Array<{ type: string }> {
  return Array.from({ length: n }, () => ({ type }));
}

/** What an account runtime does when it starts caching: joins the sync, starts its feeds (resumed or listing), is started. */
function startAccount(progress: SyncProgress, account: string, feeds: Record<string, 'list' | 'resume'>): void {
  progress.accountWaiting(account);
  for (const [feed, how] of Object.entries(feeds)) progress.feedStarted(account, feed, how === 'resume');
  progress.accountStarted(account);
}

const BEGIN = { type: 'snapshotBegin' };
const END = { type: 'snapshotEnd' };

test('listed and expected from the pages, committed from acknowledged batches; rate and ETA from what is committed', () => {
  const { progress, finished, advance } = setup();
  startAccount(progress, 'a', { 'apps/Deployment@': 'list', '/Pod@': 'list' });
  let report = progress.report()!;
  assert.equal(report.total.expected, undefined, 'no list has said how many objects it holds');
  assert.equal(report.total.etaSeconds, undefined);

  progress.listPage('a', 'apps/Deployment@', { items: 500, first: true, last: false, remainingItemCount: 1500 });
  progress.listPage('a', '/Pod@', { items: 100, first: true, last: true });
  report = progress.report()!;
  assert.deepEqual(
    { listed: report.total.listed, expected: report.total.expected, committed: report.total.committed },
    { listed: 600, expected: 2100, committed: 0 },
  );
  assert.equal(report.total.etaSeconds, undefined, 'nothing committed yet: no rate, no ETA');

  // 1,000 objects committed over 10 s: 100 objects/s, 1,100 to go.
  progress.committed('a', 'apps/Deployment@', [BEGIN, ...objects(100)]);
  for (let s = 1; s < 10; s++) {
    advance(1000);
    progress.committed('a', 'apps/Deployment@', objects(100));
  }
  advance(1000);
  report = progress.report()!;
  assert.equal(report.total.committed, 1000);
  assert.equal(Math.round(report.total.objectsPerSecond), 100);
  assert.equal(report.total.etaSeconds, 11);
  assert.equal(report.total.seconds, 10);
  const [account] = report.syncing;
  assert.deepEqual(
    { account: account!.account, feeds: account!.feeds, feedsDone: account!.feedsDone, etaSeconds: account!.etaSeconds },
    { account: 'a', feeds: 2, feedsDone: 0, etaSeconds: 11 },
  );
  assert.deepEqual(finished, []);
});

test('an account is done when every list is committed up to its snapshot end; all are done when the last account is', () => {
  const { progress, finished, advance } = setup();
  for (const account of ['a', 'b']) progress.accountWaiting(account);
  startAccount(progress, 'a', { '/Pod@': 'list', '/Secret@': 'resume', 'batch/CronJob@': 'list' });
  progress.listPage('a', '/Pod@', { items: 3, first: true, last: true });
  progress.feedRefused('a', 'batch/CronJob@');
  advance(2000);
  progress.committed('a', '/Pod@', [BEGIN, ...objects(2), { type: 'skipped' }]);
  assert.deepEqual(finished, [], 'the list is committed, its end not yet');
  progress.committed('a', '/Pod@', [END, { type: 'digest' }]);
  assert.deepEqual(finished, [{ what: 'account', account: 'a', objects: 3, feeds: 3, resumedFeeds: 1, refusedFeeds: 1, seconds: 2 }]);
  let report = progress.report()!;
  assert.deepEqual(
    { accounts: report.total.accounts, accountsDone: report.total.accountsDone, accountsWaiting: report.total.accountsWaiting },
    { accounts: 2, accountsDone: 1, accountsWaiting: 1 },
  );
  assert.equal(report.total.expected, undefined, 'b has not started: what it holds is unknown');

  advance(1000);
  startAccount(progress, 'b', { '/Pod@': 'list' });
  progress.listPage('b', '/Pod@', { items: 5, first: true, last: true });
  report = progress.report()!;
  assert.equal(report.total.expected, 8);
  progress.committed('b', '/Pod@', [BEGIN, ...objects(5), END]);
  assert.deepEqual(finished.slice(1), [
    { what: 'account', account: 'b', objects: 5, feeds: 1, resumedFeeds: 0, refusedFeeds: 0, seconds: 0 },
    { what: 'all', objects: 8, accounts: 2, incompleteAccounts: 0, seconds: 3 },
  ]);
  assert.equal(progress.report(), undefined, 'nothing syncing');
  assert.equal(progress.active, false);

  // Done stays done: later batches, relists and new kinds of a finished account are not an initial sync.
  progress.committed('a', '/Pod@', [BEGIN, ...objects(3), END]);
  progress.feedStarted('a', 'example.com/New@', false);
  progress.listPage('a', 'example.com/New@', { items: 1, first: true, last: true });
  assert.equal(finished.length, 3);
  assert.equal(progress.active, false);

  // An account added later (a reload, a dynamic account) is a sync of its own.
  advance(60_000);
  startAccount(progress, 'c', {});
  assert.deepEqual(finished.slice(3), [
    { what: 'account', account: 'c', objects: 0, feeds: 0, resumedFeeds: 0, refusedFeeds: 0, seconds: 0 },
    { what: 'all', objects: 0, accounts: 1, incompleteAccounts: 0, seconds: 0 },
  ]);
});

test('a list that starts again (its continue token expired, or a relist) counts again from its first page and its snapshotBegin', () => {
  const { progress, finished } = setup();
  startAccount(progress, 'a', { '/Pod@': 'list' });
  progress.listPage('a', '/Pod@', { items: 10, first: true, last: false, remainingItemCount: 10 });
  progress.committed('a', '/Pod@', [BEGIN, ...objects(10)]);
  progress.listPage('a', '/Pod@', { items: 10, first: true, last: false });
  progress.listPage('a', '/Pod@', { items: 9, first: false, last: true });
  let [account] = progress.report()!.syncing;
  assert.deepEqual({ listed: account!.listed, expected: account!.expected, committed: account!.committed }, { listed: 19, expected: 19, committed: 10 });
  progress.committed('a', '/Pod@', [BEGIN, ...objects(10, 'touch')]);
  [account] = progress.report()!.syncing;
  assert.equal(account!.committed, 10, 'the abandoned list no longer counts');
  progress.committed('a', '/Pod@', [...objects(9), END]);
  assert.deepEqual(finished[0], { what: 'account', account: 'a', objects: 19, feeds: 1, resumedFeeds: 0, refusedFeeds: 0, seconds: 0 });
});

test('objects a filter leaves out (onlySpinnakerManaged) count as committed once the list has ended at the hub', () => {
  const { progress, finished } = setup();
  startAccount(progress, 'a', { '/Pod@': 'list' });
  progress.listPage('a', '/Pod@', { items: 10, first: true, last: true });
  progress.committed('a', '/Pod@', [BEGIN, ...objects(4), END]);
  assert.equal(finished[0]?.objects, 10);
});

test('a resumed feed whose point expired lists after all, and holds its account back until that list is committed', () => {
  const { progress, finished } = setup();
  startAccount(progress, 'a', { '/Pod@': 'resume', '/Secret@': 'list' });
  progress.listPage('a', '/Pod@', { items: 4, first: true, last: true });
  progress.listPage('a', '/Secret@', { items: 1, first: true, last: true });
  progress.committed('a', '/Secret@', [BEGIN, ...objects(1), END]);
  assert.deepEqual(finished, []);
  progress.committed('a', '/Pod@', [{ type: 'delete' }, BEGIN, ...objects(4), END]);
  assert.deepEqual(finished[0], { what: 'account', account: 'a', objects: 5, feeds: 2, resumedFeeds: 0, refusedFeeds: 0, seconds: 0 });
});

test('accounts and feeds that stop leave the sync: the rest finishes without them, or nothing is reported when none is left', () => {
  const { progress, finished } = setup();
  for (const account of ['a', 'b', 'c']) startAccount(progress, account, { '/Pod@': 'list', 'example.com/Gone@': 'list' });
  progress.feedRemoved('a', 'example.com/Gone@');
  progress.committed('a', '/Pod@', [BEGIN, ...objects(2), END]);
  assert.deepEqual(
    finished.map((f) => f.what),
    ['account'],
  );
  progress.accountStopped('b');
  progress.accountWaiting('d');
  progress.accountStopped('d');
  progress.accountStopped('c');
  assert.deepEqual(finished[1], { what: 'all', objects: 2, accounts: 1, incompleteAccounts: 0, seconds: 0 });

  startAccount(progress, 'e', { '/Pod@': 'list' });
  progress.accountStopped('e');
  assert.equal(finished.length, 2, 'an account stopped before it finished: no line');
  assert.equal(progress.active, false);
});

test('a feed whose list keeps failing past the stall bound: its account ends incomplete, naming it, and no longer holds the round open', () => {
  const { progress, finished, advance } = setup();
  startAccount(progress, 'a', { '/Pod@': 'list', 'apps/Deployment@': 'list' });
  startAccount(progress, 'b', { '/Pod@': 'list' });
  progress.listPage('a', '/Pod@', { items: 2, first: true, last: true });
  progress.committed('a', '/Pod@', [BEGIN, ...objects(2), END]);
  progress.feedBackingOff('a', 'apps/Deployment@');
  advance(SYNC_FEED_STALLED_MS / 2);
  // Every retry fails and backs off again: the failure is counted from its first backoff.
  progress.feedBackingOff('a', 'apps/Deployment@');
  progress.listPage('b', '/Pod@', { items: 1, first: true, last: true });
  progress.committed('b', '/Pod@', [BEGIN, ...objects(1), END]);
  advance(SYNC_FEED_STALLED_MS / 2);
  progress.checkStalls();
  assert.deepEqual(
    finished.map((f) => f.what),
    ['account'],
    'failing for exactly the bound: not stalled yet',
  );
  assert.equal(progress.report()!.syncing[0]?.account, 'a');

  advance(1);
  progress.checkStalls();
  assert.deepEqual(finished.slice(1), [
    { what: 'incomplete', account: 'a', objects: 2, feeds: 2, stalledFeeds: ['apps/Deployment@'], seconds: SYNC_FEED_STALLED_MS / 1000 + 0.001 },
    { what: 'all', objects: 3, accounts: 2, incompleteAccounts: 1, seconds: SYNC_FEED_STALLED_MS / 1000 + 0.001 },
  ]);
  assert.equal(progress.active, false, 'the round is over: nothing more to report');
  progress.checkStalls();
  assert.equal(finished.length, 3);

  // The kind lists at last: one event says the account completed after all.
  advance(60_000);
  progress.listPage('a', 'apps/Deployment@', { items: 4, first: true, last: true });
  progress.committed('a', 'apps/Deployment@', [BEGIN, ...objects(4)]);
  assert.equal(finished.length, 3);
  progress.committed('a', 'apps/Deployment@', [END]);
  assert.deepEqual(finished.slice(3), [{ what: 'completed', account: 'a', objects: 6, feeds: 2, seconds: SYNC_FEED_STALLED_MS / 1000 + 60.001 }]);
  progress.committed('a', 'apps/Deployment@', [BEGIN, ...objects(4), END]);
  assert.equal(finished.length, 4, 'done stays done');
  assert.equal(progress.active, false);
});

test('a page before the stall bound restarts the count; a stalled feed holds nothing back while its account’s other feeds still list', () => {
  const stalledAfterMs = 10_000;
  let now = START;
  const own = new SyncProgress(() => now, { stalledAfterMs });
  const finished: SyncFinished[] = [];
  own.onFinished((f) => finished.push(f));
  startAccount(own, 'a', { '/Pod@': 'list', '/Secret@': 'list', '/ConfigMap@': 'list' });
  own.feedBackingOff('a', '/Pod@');
  now += stalledAfterMs - 1;
  own.listPage('a', '/Pod@', { items: 5, first: true, last: false });
  own.feedBackingOff('a', '/Pod@');
  now += stalledAfterMs - 1;
  own.checkStalls();
  assert.equal(own.report()!.total.feedsStalled, 0, 'a page came between: the failure counts from the next backoff');
  own.feedBackingOff('a', '/Secret@');
  now += stalledAfterMs + 1;
  own.checkStalls();
  const report = own.report()!;
  assert.equal(report.total.feedsStalled, 2);
  assert.equal(finished.length, 0, 'ConfigMaps still list: the account is not over');
  assert.equal(report.syncing[0]?.expected, undefined, 'the ConfigMap list has not said how many it holds');
  own.listPage('a', '/ConfigMap@', { items: 3, first: true, last: true });
  assert.equal(own.report()!.syncing[0]?.expected, 8, 'a stalled feed counts what it listed as expected');
  own.committed('a', '/ConfigMap@', [BEGIN, ...objects(3), END]);
  assert.deepEqual(
    finished.map((f) => (f.what === 'incomplete' ? [f.what, f.stalledFeeds] : [f.what])),
    [['incomplete', ['/Pod@', '/Secret@']], ['all']],
  );
  // A stalled feed that lists again is no longer stalled, but the account stays incomplete until it completes.
  own.listPage('a', '/Pod@', { items: 5, first: true, last: true });
  own.committed('a', '/Pod@', [BEGIN, ...objects(5), END]);
  assert.equal(finished.length, 2, 'Secrets are still missing');
  own.feedRemoved('a', '/Secret@');
  assert.deepEqual(finished[2], { what: 'completed', account: 'a', objects: 8, feeds: 2, seconds: (3 * stalledAfterMs - 1) / 1000 });
});
