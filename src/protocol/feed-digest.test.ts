import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digestOf, FeedDigestAccumulator, sameDigest } from './feed-digest.ts';

const objects = Array.from({ length: 50 }, (_, i) => ({ uid: `uid-${i}`, resourceVersion: String(1000 + i) }));

test('the digest does not depend on order, and removing undoes adding', () => {
  const forward = digestOf(objects);
  const backward = digestOf([...objects].reverse());
  assert.ok(sameDigest(forward, backward));
  const running = new FeedDigestAccumulator();
  for (const o of objects) running.add(o.uid, o.resourceVersion);
  running.add('extra', '1');
  running.remove('extra', '1');
  assert.deepEqual(running.value(), forward);
  running.clear();
  assert.deepEqual(running.value(), { count: 0, hashHigh: 0, hashLow: 0 });
});

test('a missing object, a changed resourceVersion or a phantom changes the digest', () => {
  const base = digestOf(objects);
  assert.ok(!sameDigest(base, digestOf(objects.slice(1))));
  assert.ok(!sameDigest(base, digestOf(objects.map((o, i) => (i === 7 ? { ...o, resourceVersion: '9999' } : o)))));
  assert.ok(!sameDigest(base, digestOf([...objects, { uid: 'phantom', resourceVersion: '1' }])));
  // Same count, one object swapped for another: only the hash tells.
  const swapped = digestOf([...objects.slice(1), { uid: 'other', resourceVersion: '1' }]);
  assert.equal(swapped.count, base.count);
  assert.ok(!sameDigest(base, swapped));
});
