import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENTRY_OVERHEAD_BYTES, FeedQueue, type PendingEntry } from './feed-queue.ts';
import { WriteJournal } from './write-journal.ts';
import { FeedDigestAccumulator } from '../../protocol/feed-digest.ts';

const feed = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: '', namespaced: true };

function queue(): FeedQueue {
  return new FeedQueue({ feed, maxObjectBytes: 10_000, onPending: () => undefined });
}

function obj(name: string, rv: string, extra: Record<string, unknown> = {}) {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: rv }, ...extra };
}

function types(entries: readonly PendingEntry[]): string[] {
  return entries.map((e) => ('name' in e ? `${e.type}:${e.name}@${'resourceVersion' in e ? e.resourceVersion : ''}` : e.type));
}

test('changes to one object coalesce in place: latest state wins, delete wins', () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '1'));
  q.onEvent('ADDED', obj('b', '2'));
  q.onEvent('MODIFIED', obj('a', '3'));
  q.onEvent('DELETED', obj('b', '4'));
  const { entries, progress } = q.take(1_000_000, 100);
  assert.deepEqual(types(entries), ['upsert:a@3', 'delete:b@4']);
  assert.equal(progress, '4');
});

test('progress never passes the first change still pending', () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '10'));
  q.onEvent('ADDED', obj('b', '11'));
  q.onEvent('MODIFIED', obj('a', '12'));
  // Only one entry fits: the batch holds a@12, b (first seen after rv 10) is still pending.
  const first = q.take(1, 1);
  assert.deepEqual(types(first.entries), ['upsert:a@12']);
  assert.equal(first.progress, '10');
  const second = q.take(1_000_000, 100);
  assert.deepEqual(types(second.entries), ['upsert:b@11']);
  assert.equal(second.progress, '12');
});

test('a relist sends unchanged objects as touches and drops vanished ones', () => {
  const q = queue();
  q.onSnapshotBegin();
  q.onSnapshotObject(obj('a', '1'));
  q.onSnapshotObject(obj('b', '1'));
  q.onSnapshotEnd('5');
  assert.deepEqual(types(q.take(1_000_000, 100).entries), ['snapshotBegin', 'upsert:a@1', 'upsert:b@1', 'snapshotEnd']);
  q.onSnapshotBegin();
  q.onSnapshotObject(obj('a', '1'));
  q.onSnapshotEnd('9');
  const { entries, progress } = q.take(1_000_000, 100);
  assert.deepEqual(types(entries), ['snapshotBegin', 'touch:a@1', 'snapshotEnd']);
  assert.equal(progress, '9');
  assert.equal(q.knownCount, 1);
});

test('a relist while changes wait moves the objects it lists behind its snapshotBegin, and progress stays behind them', () => {
  const q = queue();
  q.onSnapshotBegin();
  for (const name of ['a', 'b', 'c']) q.onSnapshotObject(obj(name, '1'));
  q.onSnapshotEnd('5');
  q.take(1_000_000, 100);
  // Changes the hub has not received yet (its session is gone) when the watch expires and the feed relists.
  q.onEvent('MODIFIED', obj('a', '6'));
  q.onEvent('ADDED', obj('d', '7'));
  q.onEvent('DELETED', obj('c', '8'));
  q.onSnapshotBegin();
  for (const listed of [obj('a', '6'), obj('b', '1'), obj('d', '7')]) q.onSnapshotObject(listed);
  q.onSnapshotEnd('9');
  const entries: PendingEntry[] = [];
  const progress: Array<string | undefined> = [];
  while (q.pendingCount > 0) {
    const batch = q.take(1, 1);
    entries.push(...batch.entries);
    progress.push(batch.progress);
  }
  // Ahead of the marker, a and d would keep the previous snapshot's epoch at the hub and be pruned at its end.
  assert.deepEqual(types(entries), ['delete:c@8', 'snapshotBegin', 'upsert:a@6', 'touch:b@1', 'upsert:d@7', 'snapshotEnd']);
  // No batch before the last claims more than the point before the oldest change (5, already sent).
  assert.deepEqual(progress, [undefined, undefined, undefined, undefined, undefined, '9']);
  assert.equal(q.knownCount, 3);
});

test('unacknowledged entries are requeued ahead of newer ones, unless superseded', () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '1'));
  q.onEvent('ADDED', obj('b', '2'));
  const sent = q.take(1_000_000, 100);
  q.onEvent('MODIFIED', obj('b', '3'));
  q.onEvent('ADDED', obj('c', '4'));
  sent.requeue();
  assert.deepEqual(types(q.take(1_000_000, 100).entries), ['upsert:a@1', 'upsert:b@3', 'upsert:c@4']);
});

test('objects over the size limit are reported as skipped', () => {
  const q = new FeedQueue({ feed, maxObjectBytes: 200, onPending: () => undefined });
  q.onEvent('ADDED', obj('big', '1', { data: 'x'.repeat(500) }));
  const [entry] = q.take(1_000_000, 100).entries;
  assert.equal(entry?.type, 'skipped');
});

test('a write waits until the batch holding its resourceVersion is acknowledged', async () => {
  const q = queue();
  const synced = q.waitForSync('ns', 'a', '7', 5_000);
  q.onEvent('ADDED', obj('a', '7'));
  const lease = q.take(1_000_000, 100);
  let done = false;
  void synced.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  lease.ack();
  assert.equal(await synced, true);
  // Already committed: resolves at once.
  assert.equal(await q.waitForSync('ns', 'a', '7', 5_000), true);
  // Never observed: times out as not synced.
  assert.equal(await q.waitForSync('ns', 'zz', '1', 20), false);
});

test('a written version already replaced by a newer one is covered by the newer entry while an operation runs', async () => {
  const journal = new WriteJournal();
  const q = new FeedQueue({ feed, maxObjectBytes: 10_000, onPending: () => undefined, journal });
  const end = journal.begin();
  // The write produced 7; a controller changed the object to 8 before the operation asked.
  q.onEvent('ADDED', obj('a', '7'));
  q.onEvent('MODIFIED', obj('a', '8'));
  const pendingNewer = q.waitForSync('ns', 'a', '7', 5_000);
  q.take(1_000_000, 100).ack();
  assert.equal(await pendingNewer, true);

  // 9 sent and in flight, 10 pending: the wait for 9 ends only when the hub has 10.
  q.onEvent('MODIFIED', obj('a', '9'));
  const inFlight = q.take(1_000_000, 100);
  q.onEvent('MODIFIED', obj('a', '10'));
  let done = false;
  const behindNewer = q.waitForSync('ns', 'a', '9', 5_000).then((synced) => ((done = true), synced));
  inFlight.ack();
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'not before the newer state is committed');
  q.take(1_000_000, 100).ack();
  assert.equal(await behindNewer, true);
  // Everything committed: a version seen earlier resolves at once.
  assert.equal(await q.waitForSync('ns', 'a', '8', 5_000), true);
  end();
  // Once no operation runs nothing is kept: an old version is no longer known to have passed.
  assert.equal(await q.waitForSync('ns', 'a', '8', 20), false);
});

test('a dropped feed sends feedDropped and nothing after it, ignores a stopping reflector, and knows when the hub acknowledged', () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '10'));
  q.take(1_000_000, 100);
  q.onEvent('MODIFIED', obj('a', '11'));
  q.drop('the API server no longer serves this kind');
  q.onEvent('ADDED', obj('late', '12'));
  q.onProgress('13');
  const lease = q.take(1_000_000, 100);
  const { entries, progress } = lease;
  assert.deepEqual(types(entries), ['feedDropped']);
  assert.equal(progress, undefined, 'no resume point may follow a drop');
  assert.equal(q.hasWork(), false);
  assert.equal(q.dropAcknowledged, false);
  lease.ack();
  assert.equal(q.dropAcknowledged, true);
});

test('a revived feed keeps its drop ahead of the new list', () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '10'));
  q.drop('gone');
  q.revive({ ...feed, version: 'v2' });
  q.onSnapshotBegin();
  q.onSnapshotObject(obj('b', '20'));
  q.onSnapshotEnd('20');
  assert.deepEqual(types(q.take(1_000_000, 100).entries), ['feedDropped', 'snapshotBegin', 'upsert:b@20', 'snapshotEnd']);
  assert.equal(q.feed.version, 'v2');
  assert.equal(q.isDropped, false);
});

test('anti-entropy: a digest of what was sent goes out once nothing is pending, only for a record a list completed', () => {
  const q = queue();
  // Resumed without a list: the record is partial, so no digest yet.
  q.onEvent('ADDED', obj('a', '1'));
  q.requestDigest();
  assert.deepEqual(types(q.take(1_000_000, 100).entries), ['upsert:a@1']);
  assert.equal(q.hasWork(), false);
  q.onSnapshotBegin();
  q.onSnapshotObject(obj('a', '1'));
  q.onSnapshotObject(obj('b', '2'));
  q.onSnapshotEnd('3');
  // The digest is held back while the snapshot's entries are pending, then rides on the batch that empties the queue.
  const first = q.take(1_000_000, 2);
  assert.ok(!first.entries.some((e) => e.type === 'digest'));
  const second = q.take(1_000_000, 100);
  const digest = second.entries.at(-1)!;
  assert.equal(digest.type, 'digest');
  assert.deepEqual(digest.type === 'digest' ? [digest.count] : [], [2]);
  // Lost with its batch: asked for again, not re-sent stale.
  second.requeue();
  const again = q.take(1_000_000, 100);
  assert.equal(again.entries.at(-1)!.type, 'digest');
  assert.equal(again.entries.filter((e) => e.type === 'digest').length, 1);
});

test("an upsert lost with its batch after a relist touched it is sent in the touch's place, inside the snapshot", () => {
  const q = queue();
  q.onSnapshotBegin();
  q.onSnapshotEnd('1');
  q.take(1_000_000, 100);
  q.onEvent('ADDED', obj('a', '2'));
  const sent = q.take(1_000_000, 100);
  assert.deepEqual(types(sent.entries), ['upsert:a@2']);
  // A relist while that batch is unacknowledged: the feed believes the hub has a@2 and touches it.
  q.onSnapshotBegin();
  q.onSnapshotObject(obj('a', '2'));
  q.onSnapshotEnd('3');
  // The stream breaks: the batch comes back.
  sent.requeue();
  assert.deepEqual(types(q.take(1_000_000, 100).entries), ['snapshotBegin', 'upsert:a@2', 'snapshotEnd']);
});

/** The digest of exactly these (uid, resourceVersion) pairs. */
function digestOf(pairs: Array<[string, string]>): { count: number; hashHigh: number; hashLow: number } {
  const accumulator = new FeedDigestAccumulator();
  for (const [uid, rv] of pairs) accumulator.add(uid, rv);
  return accumulator.value();
}

function digestIn(entries: readonly PendingEntry[]): { count: number; hashHigh: number; hashLow: number } | undefined {
  const digest = entries.find((e) => e.type === 'digest');
  return digest?.type === 'digest' ? { count: digest.count, hashHigh: digest.hashHigh, hashLow: digest.hashLow } : undefined;
}

test("anti-entropy after a resume: a verification list completes the record, overlaid with the watch's newer changes, sending nothing", () => {
  const q = queue();
  // Resumed at the hub's point: only what changes from now on is known.
  q.onEvent('ADDED', obj('d', '4'));
  q.onVerificationBegin();
  q.onVerificationObject(obj('a', '5'));
  q.onVerificationObject(obj('b', '3'));
  q.onVerificationObject(obj('c', '2'));
  q.onVerificationObject(obj('d', '4'));
  // The watch runs on beside the list (which is at 6): b changes after it, c is deleted after it.
  q.onEvent('MODIFIED', obj('b', '7'));
  q.onEvent('DELETED', obj('c', '8'));
  q.onVerificationEnd('6');
  assert.equal(q.isKnownComplete, true);
  q.requestDigest();
  const { entries } = q.take(1_000_000, 100);
  // Only the watch's changes went out; the listed objects did not.
  assert.deepEqual(types(entries.filter((e) => e.type !== 'digest')), ['upsert:d@4', 'upsert:b@7', 'delete:c@8']);
  assert.deepEqual(
    digestIn(entries),
    digestOf([
      ['uid-a', '5'],
      ['uid-b', '7'],
      ['uid-d', '4'],
    ]),
  );
});

test('anti-entropy after a resume: changes not newer than the verification list do not roll the record back, and no digest goes out before the watch passes it', () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '3'));
  q.onVerificationBegin();
  q.onVerificationObject(obj('a', '9'));
  q.onVerificationEnd('10');
  q.requestDigest();
  // The watch is behind the list: its change of a at 8 is already in the list's state (a at 9).
  q.onEvent('MODIFIED', obj('a', '8'));
  const early = q.take(1_000_000, 100);
  assert.equal(digestIn(early.entries), undefined);
  q.onEvent('MODIFIED', obj('a', '9'));
  q.onProgress('11');
  const late = q.take(1_000_000, 100);
  assert.deepEqual(digestIn(late.entries), digestOf([['uid-a', '9']]));
});

test('anti-entropy after a resume: a relist makes a verification in flight moot; versions that cannot be ordered leave the record incomplete', () => {
  const q = queue();
  q.onVerificationBegin();
  q.onVerificationObject(obj('a', '1'));
  q.onSnapshotBegin();
  q.onSnapshotObject(obj('b', '2'));
  q.onSnapshotEnd('3');
  q.onVerificationEnd('1');
  q.requestDigest();
  assert.deepEqual(digestIn(q.take(1_000_000, 100).entries), digestOf([['uid-b', '2']]));

  const opaque = queue();
  opaque.onVerificationBegin();
  opaque.onVerificationObject(obj('a', 'opaque-1'));
  opaque.onVerificationEnd('opaque-2');
  assert.equal(opaque.isKnownComplete, false);
  assert.match(opaque.verificationFailure ?? '', /cannot be ordered/);
});

// --- leases -------------------------------------------------------------------------------------------

/** Whether `promise` has settled once everything already due has run (ack() resolves waiters synchronously). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

test('a lease carries its entries and progress; ack() releases them: waiters resolve and the acked progress moves', async () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '1'));
  q.onEvent('ADDED', obj('b', '2'));
  const lease = q.take(1_000_000, 100);
  assert.deepEqual(types(lease.entries), ['upsert:a@1', 'upsert:b@2']);
  assert.equal(lease.progress, '2');
  assert.equal(
    lease.bytes,
    lease.entries.reduce((n, e) => n + ENTRY_OVERHEAD_BYTES + (e.type === 'upsert' ? e.bodyBytes : 0), 0),
  );
  // In flight: a write of a@1 waits for the ack, not for a new entry.
  const synced = q.waitForSync('ns', 'a', '1', 5_000);
  assert.equal(await settled(synced), false);
  assert.equal(q.ackedProgress, '');
  lease.ack();
  assert.equal(await synced, true);
  assert.equal(q.ackedProgress, '2');
  // No longer in flight: a write of b@2 is known committed at once.
  assert.equal(await settled(q.waitForSync('ns', 'b', '2', 5_000)), true);
});

test('a second ack() of a lease changes nothing: the acked progress never moves back', () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '1'));
  const first = q.take(1_000_000, 100);
  first.ack();
  q.onEvent('ADDED', obj('b', '2'));
  const second = q.take(1_000_000, 100);
  second.ack();
  assert.equal(q.ackedProgress, '2');
  second.ack();
  first.ack();
  assert.equal(q.ackedProgress, '2');
  assert.equal(q.hasWork(), false);
});

test('ack() of a lease acknowledges the earlier ones still outstanding; requeue() of one requeues the later ones', async () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '1'));
  const first = q.take(1_000_000, 100);
  const waitA = q.waitForSync('ns', 'a', '1', 5_000);
  q.onEvent('ADDED', obj('b', '2'));
  const second = q.take(1_000_000, 100);
  // The hub commits a stream's batches in order: the second's ack covers the first.
  second.ack();
  assert.equal(await waitA, true);
  assert.equal(q.ackedProgress, '2');
  first.requeue();
  assert.equal(q.pendingCount, 0, 'an acknowledged lease is not sent again');

  // Three leases, a in the first and the third: the second is lost, so the third is too.
  q.onEvent('MODIFIED', obj('a', '3'));
  q.onEvent('ADDED', obj('c', '4'));
  const third = q.take(1_000_000, 100);
  q.onEvent('ADDED', obj('d', '5'));
  const fourth = q.take(1_000_000, 100);
  q.onEvent('MODIFIED', obj('a', '6'));
  const fifth = q.take(1_000_000, 100);
  q.onEvent('ADDED', obj('e', '7'));
  fourth.requeue();
  // The fourth and fifth come back together, in take order, ahead of e; the third stays in flight.
  assert.deepEqual(types(q.take(1_000_000, 100).entries), ['upsert:d@5', 'upsert:a@6', 'upsert:e@7']);
  fifth.ack();
  assert.equal(q.ackedProgress, '2', 'a requeued lease no longer acknowledges');
  third.ack();
  assert.equal(q.ackedProgress, '4');
});

test('requeue() of a lease twice puts its entries back once', () => {
  const q = queue();
  q.onSnapshotBegin();
  q.onSnapshotObject(obj('a', '1'));
  q.onSnapshotEnd('2');
  const lease = q.take(1_000_000, 100);
  lease.requeue();
  lease.requeue();
  assert.deepEqual(types(q.take(1_000_000, 100).entries), ['snapshotBegin', 'upsert:a@1', 'snapshotEnd']);
});

test('ack() of a requeued lease neither resolves waiters nor moves the progress: its entries are pending again', async () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '1'));
  const lost = q.take(1_000_000, 100);
  const synced = q.waitForSync('ns', 'a', '1', 5_000);
  lost.requeue();
  lost.ack();
  assert.equal(await settled(synced), false);
  assert.equal(q.ackedProgress, '');
  const again = q.take(1_000_000, 100);
  assert.deepEqual(types(again.entries), ['upsert:a@1']);
  again.ack();
  assert.equal(await synced, true);
  assert.equal(q.ackedProgress, '1');
});

test('a lease with nothing in it is empty, and settling it does nothing', () => {
  let pendingCalls = 0;
  const q = new FeedQueue({ feed, maxObjectBytes: 10_000, onPending: () => pendingCalls++ });
  const lease = q.take(1_000_000, 100);
  assert.equal(lease.isEmpty, true);
  lease.requeue();
  lease.ack();
  assert.equal(pendingCalls, 0);
  assert.equal(q.ackedProgress, '');
});

test('a progress-only lease moves the acked progress when acknowledged', () => {
  const q = queue();
  q.onProgress('9');
  const lease = q.take(1_000_000, 100);
  assert.deepEqual(lease.entries, []);
  assert.equal(lease.isEmpty, false);
  lease.ack();
  assert.equal(q.ackedProgress, '9');
});

test('after drop() resets the queue, a lease taken before still settles its entries but no longer moves the acked progress', async () => {
  const q = queue();
  q.recordHubResumePoint('5');
  q.onEvent('ADDED', obj('a', '10'));
  const acked = q.take(1_000_000, 100);
  const synced = q.waitForSync('ns', 'a', '10', 5_000);
  q.drop('gone');
  assert.equal(q.ackedProgress, '');
  acked.ack();
  // The hub did commit a@10: the write is read. The dropped feed has no resume point.
  assert.equal(await synced, true);
  assert.equal(q.ackedProgress, '');

  const other = queue();
  other.onEvent('ADDED', obj('a', '10'));
  other.onEvent('ADDED', obj('b', '11'));
  const lost = other.take(1, 1);
  other.drop('gone');
  lost.requeue();
  // Back ahead of the feedDropped marker, which deletes it at the hub; no resume point follows.
  const { entries, progress } = other.take(1_000_000, 100);
  assert.deepEqual(types(entries), ['upsert:a@10', 'feedDropped']);
  assert.equal(progress, undefined);
  lost.requeue();
  assert.equal(other.pendingCount, 0);
});

test('a change to an object whose entry is in flight queues a new entry beside it; a requeue keeps only the newer one', async () => {
  const q = queue();
  q.onEvent('ADDED', obj('a', '1'));
  q.onEvent('ADDED', obj('b', '2'));
  const inFlight = q.take(1_000_000, 100);
  q.onEvent('MODIFIED', obj('a', '3'));
  q.onEvent('ADDED', obj('c', '4'));
  // Nothing coalesces into the lease: it still carries a@1; a@3 waits at the back, where it arrived.
  assert.deepEqual(types(inFlight.entries), ['upsert:a@1', 'upsert:b@2']);
  assert.equal(q.pendingCount, 2);
  // A write of a@3 rides on the pending entry, not on the one in flight.
  const synced = q.waitForSync('ns', 'a', '3', 5_000);
  inFlight.ack();
  assert.equal(await settled(synced), false);
  const next = q.take(1_000_000, 100);
  assert.deepEqual(types(next.entries), ['upsert:a@3', 'upsert:c@4']);
  next.ack();
  assert.equal(await synced, true);

  // Lost instead of acknowledged: the superseded a@1 is dropped, and a@3 keeps its own place behind b.
  const r = queue();
  r.onEvent('ADDED', obj('a', '1'));
  r.onEvent('ADDED', obj('b', '2'));
  const lost = r.take(1_000_000, 100);
  r.onEvent('MODIFIED', obj('a', '3'));
  r.onEvent('ADDED', obj('c', '4'));
  lost.requeue();
  assert.deepEqual(types(r.take(1_000_000, 100).entries), ['upsert:b@2', 'upsert:a@3', 'upsert:c@4']);
});

// --- read-your-writes across coalescing, requeues and drops --------------------------------------------

/** What `promise` resolved to once everything already due has run, or 'pending'. */
async function outcome<T>(promise: Promise<T>): Promise<T | 'pending'> {
  let value: T | 'pending' = 'pending';
  void promise.then((v) => (value = v));
  await new Promise((r) => setImmediate(r));
  return value;
}

/** Far beyond anything a test waits: with mocked timeouts it only passes when a test ticks it. */
const WAIT_MS = 60_000;

test('a waiter on an entry in flight follows the newer change of its object when the lease is lost', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const recreated = { metadata: { name: 'a', namespace: 'ns', uid: 'uid-a-2', resourceVersion: '3' } };
  const cases: Array<{ name: string; sent: (q: FeedQueue) => void; wanted: string | undefined; newer: (q: FeedQueue) => void; resent: string[] }> = [
    { name: 'an update', sent: () => undefined, wanted: '1', newer: (q) => q.onEvent('MODIFIED', obj('a', '3')), resent: ['upsert:a@3'] },
    { name: 'a delete', sent: () => undefined, wanted: '1', newer: (q) => q.onEvent('DELETED', obj('a', '3')), resent: ['delete:a@3'] },
    {
      name: 'a recreation',
      sent: (q) => q.onEvent('DELETED', obj('a', '2')),
      wanted: undefined,
      newer: (q) => q.onEvent('ADDED', { ...obj('a', '3'), ...recreated }),
      resent: ['upsert:a@3'],
    },
  ];
  for (const c of cases) {
    const q = queue();
    q.onEvent('ADDED', obj('a', '1'));
    c.sent(q);
    const lost = q.take(1_000_000, 100);
    // Boards the entry in flight, which carries exactly the state written.
    const synced = q.waitForSync('ns', 'a', c.wanted, WAIT_MS);
    assert.equal(await outcome(synced), 'pending', `${c.name}: not before the hub has it`);
    c.newer(q);
    lost.requeue();
    assert.equal(await outcome(synced), 'pending', c.name);
    const next = q.take(1_000_000, 100);
    assert.deepEqual(types(next.entries), c.resent, c.name);
    next.ack();
    assert.equal(await outcome(synced), true, `${c.name}: the newer state's commit covers the write`);
  }
});

test('an object lost in two leases comes back once, where it first stood, in its newest state, with the waiters of both', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const q = queue();
  q.onEvent('ADDED', obj('x', '1'));
  q.onEvent('ADDED', obj('a', '2'));
  q.onEvent('ADDED', obj('b', '3'));
  const first = q.take(1_000_000, 100);
  const forOlder = q.waitForSync('ns', 'a', '2', WAIT_MS);
  q.onEvent('MODIFIED', obj('a', '4'));
  const second = q.take(1_000_000, 100);
  const forNewer = q.waitForSync('ns', 'a', '4', WAIT_MS);
  first.requeue();
  // a@4 stands where a@2 stood, ahead of b@3: it resumes from where a@2 did, or the progress would pass b@3.
  const head = q.take(1, 1);
  assert.deepEqual(types(head.entries), ['upsert:x@1']);
  assert.equal(head.progress, '1');
  const rest = q.take(1_000_000, 100);
  assert.deepEqual(types(rest.entries), ['upsert:a@4', 'upsert:b@3']);
  second.ack();
  assert.equal(await outcome(forOlder), 'pending', 'a late ack of a requeued lease resolves nothing');
  head.ack();
  rest.ack();
  assert.equal(await outcome(forOlder), true);
  assert.equal(await outcome(forNewer), true);
});

test("an upsert lost after a relist touched it takes the touch's place with the waiters of both", async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const q = queue();
  q.onSnapshotBegin();
  q.onSnapshotEnd('1');
  q.take(1_000_000, 100).ack();
  q.onEvent('ADDED', obj('a', '2'));
  const sent = q.take(1_000_000, 100);
  const onUpsert = q.waitForSync('ns', 'a', '2', WAIT_MS);
  q.onSnapshotBegin();
  q.onSnapshotObject(obj('a', '2'));
  q.onSnapshotEnd('3');
  const onTouch = q.waitForSync('ns', 'a', '2', WAIT_MS);
  sent.requeue();
  const again = q.take(1_000_000, 100);
  assert.deepEqual(types(again.entries), ['snapshotBegin', 'upsert:a@2', 'snapshotEnd']);
  again.ack();
  assert.equal(await outcome(onUpsert), true);
  assert.equal(await outcome(onTouch), true);
});

test('a queued entry replaced by a newer change of its object, a delete included, hands its waiters on', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const q = queue();
  q.onEvent('ADDED', obj('a', '1'));
  const forVersion = q.waitForSync('ns', 'a', '1', WAIT_MS);
  q.onEvent('MODIFIED', obj('a', '2'));
  const forNewer = q.waitForSync('ns', 'a', '2', WAIT_MS);
  q.onEvent('DELETED', obj('a', '3'));
  const lease = q.take(1_000_000, 100);
  assert.deepEqual(types(lease.entries), ['delete:a@3']);
  assert.equal(await outcome(forVersion), 'pending');
  lease.ack();
  assert.equal(await outcome(forVersion), true);
  assert.equal(await outcome(forNewer), true);
});

test("drop(): a pending deletion's waiters resolve when the hub commits feedDropped, a pending state's resolve false at once", async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const q = queue();
  q.onEvent('ADDED', obj('a', '1'));
  q.onEvent('ADDED', obj('b', '2'));
  q.onEvent('ADDED', obj('c', '3'));
  q.take(1_000_000, 100).ack();
  q.onEvent('MODIFIED', obj('a', '4'));
  q.onEvent('DELETED', obj('b', '5'));
  q.onEvent('MODIFIED', obj('c', '6'));
  const forVersion = q.waitForSync('ns', 'a', '4', WAIT_MS);
  const forDeletion = q.waitForSync('ns', 'b', undefined, WAIT_MS);
  // A write of c@6, followed by c's deletion before the feed was dropped: it follows the deletion.
  const forSuperseded = q.waitForSync('ns', 'c', '6', WAIT_MS);
  q.onEvent('DELETED', obj('c', '7'));
  q.drop('gone');
  // a@4 will never reach the hub.
  assert.equal(await outcome(forVersion), false);
  assert.equal(await outcome(forDeletion), 'pending');
  // A second drop before the first went out replaces its marker, waiters and all.
  q.drop('gone again');
  const lease = q.take(1_000_000, 100);
  assert.deepEqual(types(lease.entries), ['feedDropped']);
  assert.equal(await outcome(forDeletion), 'pending');
  lease.ack();
  assert.equal(await outcome(forDeletion), true);
  assert.equal(await outcome(forSuperseded), true);
});
