import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, type ClusterEvent } from './event-log.ts';
import type { StoredObject } from './stored-object.ts';

function event(rv: number): ClusterEvent {
  const object = {
    key: `k${rv}`,
    namespace: '',
    name: `k${rv}`,
    uid: '',
    resourceVersion: rv,
    labels: undefined,
    fields: {},
    ownerUids: [],
    controller: undefined,
    json: '{}',
  } satisfies StoredObject;
  return { resourceVersion: rv, type: 'ADDED', resource: '/configmaps', object, previous: undefined };
}

test('the event log keeps the last N events and knows what it can replay', () => {
  const log = new EventLog(3);
  assert.equal(log.canResumeFrom(0), true);
  for (let rv = 1; rv <= 5; rv++) log.append(event(rv));
  assert.deepEqual(
    [...log.since(0)].map((e) => e.resourceVersion),
    [3, 4, 5],
  );
  assert.deepEqual(
    [...log.since(3)].map((e) => e.resourceVersion),
    [4, 5],
  );
  assert.deepEqual([...log.since(5)], []);
  assert.equal(log.canResumeFrom(2), true, 'everything after 2 is kept');
  assert.equal(log.canResumeFrom(1), false);
  log.compact(4);
  assert.equal(log.canResumeFrom(3), false);
  assert.equal(log.canResumeFrom(4), true);
  assert.deepEqual(
    [...log.since(4)].map((e) => e.resourceVersion),
    [5],
  );
  log.append(event(6));
  assert.deepEqual(
    [...log.since(4)].map((e) => e.resourceVersion),
    [5, 6],
  );
});
