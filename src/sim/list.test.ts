import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/logger.ts';
import { SimCluster } from './sim-cluster.ts';
import { listObjects } from './list.ts';
import { parseLabelSelector } from './label-selector.ts';
import { StatusError } from './status.ts';

function cluster(historyLimit = 1000): SimCluster {
  return new SimCluster({
    name: 'unit',
    historyLimit,
    podStartDelayMs: 10,
    podTerminationCapMs: 10,
    progressNotifyIntervalMs: 0,
    openApiSchemas: true,
    logger: silentLogger(),
  });
}

const all = { namespace: undefined, labels: [], fields: [] };
const names = (items: string[]) => items.map((i) => (JSON.parse(i) as { metadata: { name: string } }).metadata.name);

test('pages follow key order, report remaining items, and stay at their snapshot', () => {
  const c = cluster();
  for (let i = 0; i < 7; i++) c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { v: '0' } });
  const first = listObjects(c.store, '/configmaps', { filter: all, limit: 3 });
  assert.deepEqual(names(first.items), ['cm-0', 'cm-1', 'cm-2']);
  assert.equal(first.remainingItemCount, 4);
  c.delete('v1', 'ConfigMap', 'default', 'cm-4');
  c.patch('v1', 'ConfigMap', 'default', 'cm-5', { data: { v: '1' } });
  c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-3a' } });
  const second = listObjects(c.store, '/configmaps', { filter: all, limit: 3, continueToken: first.continueToken! });
  assert.equal(second.resourceVersion, first.resourceVersion);
  assert.deepEqual(names(second.items), ['cm-3', 'cm-4', 'cm-5']);
  assert.equal((JSON.parse(second.items[2]!) as { data: { v: string } }).data.v, '0');
  const third = listObjects(c.store, '/configmaps', { filter: all, limit: 3, continueToken: second.continueToken! });
  assert.deepEqual(names(third.items), ['cm-6']);
  assert.equal(third.continueToken, undefined);
  c.close();
});

test('namespace and label filters page correctly', () => {
  const c = cluster();
  c.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } });
  for (let i = 0; i < 4; i++) {
    c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `x${i}`, namespace: 'b', labels: { odd: String(i % 2) } } });
    c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `x${i}`, namespace: 'default' } });
  }
  const page = listObjects(c.store, '/configmaps', { filter: { namespace: 'b', labels: parseLabelSelector('odd=1'), fields: [] }, limit: 1 });
  assert.deepEqual(names(page.items), ['x1']);
  const rest = listObjects(c.store, '/configmaps', {
    filter: { namespace: 'b', labels: parseLabelSelector('odd=1'), fields: [] },
    limit: 1,
    continueToken: page.continueToken!,
  });
  assert.deepEqual(names(rest.items), ['x3']);
  assert.equal(rest.continueToken, undefined);
  c.close();
});

test('a continue token older than the history is 410 Expired', () => {
  const c = cluster(2);
  for (let i = 0; i < 3; i++) c.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` } });
  const first = listObjects(c.store, '/configmaps', { filter: all, limit: 1 });
  for (let i = 0; i < 3; i++) c.patch('v1', 'ConfigMap', 'default', 'cm-0', { data: { n: String(i) } });
  assert.throws(
    () => listObjects(c.store, '/configmaps', { filter: all, limit: 1, continueToken: first.continueToken! }),
    (e: unknown) => e instanceof StatusError && e.code === 410,
  );
  c.close();
});
