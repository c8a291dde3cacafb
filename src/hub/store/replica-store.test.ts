// ReplicaStore on every engine: heartbeats insert then update a replica's row, the list is newest first.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine } from '../../../test/support/databases.ts';
import { KEY_LENGTHS } from './schema.ts';
import type { SqlStore } from './sql-store.ts';

const NOW = 1_700_000_000_000;

forEachEngine('ReplicaStore', (engine) => {
  let store: SqlStore;

  beforeEach(async () => {
    store = await engine.openStore();
    // The shared test helper does not empty this table between tests.
    await store.db.deleteFrom('hub_replicas').execute();
  });

  afterEach(async () => {
    await store.close();
  });

  test('the first heartbeat inserts the row, later ones move heartbeatAt; a restart under the same id starts afresh', async () => {
    const a = { hubId: 'hub-a', startedAt: NOW, restUrl: 'http://10.0.0.1:7002', grpcAddress: '10.0.0.1:9091' };
    await store.heartbeat(a, NOW);
    assert.deepEqual(await store.listReplicas(), [{ ...a, heartbeatAt: NOW }]);
    await store.heartbeat(a, NOW + 5_000);
    assert.deepEqual(await store.listReplicas(), [{ ...a, heartbeatAt: NOW + 5_000 }]);
    const restarted = { hubId: 'hub-a', startedAt: NOW + 9_000, restUrl: null, grpcAddress: null };
    await store.heartbeat(restarted, NOW + 9_000);
    assert.deepEqual(await store.listReplicas(), [{ ...restarted, heartbeatAt: NOW + 9_000 }]);
  });

  test('replicas are listed newest heartbeat first; removeReplica removes only its row', async () => {
    await store.heartbeat({ hubId: 'hub-a', startedAt: NOW, restUrl: null, grpcAddress: null }, NOW + 2);
    await store.heartbeat({ hubId: 'hub-b', startedAt: NOW, restUrl: null, grpcAddress: null }, NOW + 3);
    await store.heartbeat({ hubId: 'hub-c', startedAt: NOW, restUrl: null, grpcAddress: null }, NOW + 1);
    assert.deepEqual(
      (await store.listReplicas()).map((r) => r.hubId),
      ['hub-b', 'hub-a', 'hub-c'],
    );
    await store.removeReplica('hub-a');
    await store.removeReplica('hub-unknown');
    assert.deepEqual(
      (await store.listReplicas()).map((r) => r.hubId),
      ['hub-b', 'hub-c'],
    );
  });

  test('announced addresses too long for their columns are cut, not refused', async () => {
    const restUrl = `http://${'h'.repeat(KEY_LENGTHS.restUrl)}:7002`;
    const grpcAddress = `${'g'.repeat(KEY_LENGTHS.grpcAddress)}:9091`;
    await store.heartbeat({ hubId: 'hub-a', startedAt: NOW, restUrl, grpcAddress }, NOW);
    const [replica] = await store.listReplicas();
    assert.equal(replica?.restUrl, restUrl.slice(0, KEY_LENGTHS.restUrl));
    assert.equal(replica?.grpcAddress, grpcAddress.slice(0, KEY_LENGTHS.grpcAddress));
  });

  test('pruneReplicas deletes only rows silent since before the cutoff, and counts them', async () => {
    for (const [hubId, at] of [
      ['hub-old', NOW - 2],
      ['hub-edge', NOW - 1],
      ['hub-new', NOW],
    ] as const)
      await store.heartbeat({ hubId, startedAt: at, restUrl: null, grpcAddress: null }, at);
    assert.equal(await store.pruneReplicas(NOW - 1), 1);
    assert.deepEqual(
      (await store.listReplicas()).map((r) => r.hubId),
      ['hub-new', 'hub-edge'],
    );
    assert.equal(await store.pruneReplicas(NOW - 1), 0);
  });
});
