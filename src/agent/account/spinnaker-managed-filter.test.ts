import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FeedQueue, type PendingEntry } from '../sync/feed-queue.ts';
import { SpinnakerManagedFilter } from './spinnaker-managed-filter.ts';

const feed = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespace: '', namespaced: true };

function deployment(name: string, rv: string, application?: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      resourceVersion: rv,
      ...(application ? { annotations: { 'moniker.spinnaker.io/application': application } } : {}),
    },
  };
}

function drain(queue: FeedQueue): string[] {
  return queue.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).entries.map((e: PendingEntry) => ('name' in e ? `${e.type}:${e.name}` : e.type));
}

test('onlySpinnakerManaged: a relist carries only managed objects', () => {
  const queue = new FeedQueue({ feed, maxObjectBytes: 10_000, onPending: () => undefined });
  const filter = new SpinnakerManagedFilter(queue);
  filter.onSnapshotBegin('initial');
  filter.onSnapshotObject(deployment('managed', '1', 'shop'));
  filter.onSnapshotObject(deployment('unmanaged', '2'));
  filter.onSnapshotEnd('2');
  assert.deepEqual(drain(queue), ['snapshotBegin', 'upsert:managed', 'snapshotEnd']);
});

test('onlySpinnakerManaged: unmanaged events are sent as deletes, so the hub never keeps what lost the annotation', () => {
  const queue = new FeedQueue({ feed, maxObjectBytes: 10_000, onPending: () => undefined });
  const filter = new SpinnakerManagedFilter(queue);
  filter.onEvent('ADDED', deployment('web', '3', 'shop'));
  assert.deepEqual(drain(queue), ['upsert:web']);
  filter.onEvent('MODIFIED', deployment('web', '4'));
  filter.onEvent('ADDED', deployment('stray', '5'));
  filter.onEvent('DELETED', deployment('gone', '6', 'shop'));
  assert.deepEqual(drain(queue), ['delete:web', 'delete:stray', 'delete:gone']);
  filter.onProgress('7');
  assert.equal(queue.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).progress, '7');
});
