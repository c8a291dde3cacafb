// A replica's row in the shared database (in memory here): written at join, listed live or dead, removed
// at a clean leave with the replica's caching assignments released; on SQLite a second live replica is
// refused, a dead one or a former run of the same replica is not. Also the configuration of the intervals.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../common/config.ts';
import { Errors, ScaleAgentError } from '../../common/errors.ts';
import { silentLogger } from '../../common/logger.ts';
import { DEFAULT_CACHING_LEASE_SECONDS, DEFAULT_HEARTBEAT_INTERVAL_SECONDS, DEFAULT_REPLICA_DEAD_AFTER_SECONDS, hubConfigSchema } from '../config.ts';
import { DEAD_REPLICA_RETENTION_MS, ReplicaPresence } from './replica-presence.ts';
import { ManualClock, MemoryAssignmentStore, MemoryReplicaStore } from './testing/memory-assignments.ts';

const DEAD_AFTER_MS = 15_000;
/** Longer than any test: the timer never fires, the test beats by hand (join, announce). */
const NEVER_MS = 3_600_000;
const SQLITE = { database: 'sqlite:/var/lib/scale-agent/hub.db' };

function setUp() {
  const replicas = new MemoryReplicaStore();
  const assignments = new MemoryAssignmentStore();
  const clock = new ManualClock();
  const store = {
    heartbeat: replicas.heartbeat.bind(replicas),
    listReplicas: replicas.listReplicas.bind(replicas),
    removeReplica: replicas.removeReplica.bind(replicas),
    pruneReplicas: replicas.pruneReplicas.bind(replicas),
    releaseReplica: assignments.releaseReplica.bind(assignments),
  };
  const presence = (hubId: string, singleHub?: { database: string }) =>
    new ReplicaPresence({ store, hubId, intervalMs: NEVER_MS, deadAfterMs: DEAD_AFTER_MS, singleHub, logger: silentLogger(), clock: clock.now });
  return { replicas, assignments, clock, presence };
}

describe('replica presence', () => {
  test('a replica joins live, announces its addresses, and leaves without a trace, its assignments released', async () => {
    const { replicas, assignments, clock, presence } = setUp();
    const a = presence('hub-a');
    await a.join();
    await assignments.claimCaching('prod', { hubId: 'hub-a', sessionId: 's1', agentId: 'agent-1' }, clock.now(), DEAD_AFTER_MS);
    await a.announce('http://10.0.0.1:7002', '10.0.0.1:9091');
    const [self] = await a.list();
    assert.equal(self?.hubId, 'hub-a');
    assert.equal(self?.live, true);
    assert.equal(self?.self, true);
    assert.equal(self?.restUrl, 'http://10.0.0.1:7002');
    assert.equal(self?.grpcAddress, '10.0.0.1:9091');
    await a.leave();
    assert.deepEqual(await replicas.listReplicas(), []);
    assert.equal((await assignments.getAssignment('prod'))?.leaseExpiresAt, 0);
  });

  test('replicas are live until the dead-after interval passes without a heartbeat', async () => {
    const { clock, presence } = setUp();
    const a = presence('hub-a');
    const b = presence('hub-b');
    await a.join();
    await b.join();
    clock.advance(DEAD_AFTER_MS - 1);
    await b.announce('http://b:7002', 'b:9091');
    assert.deepEqual(
      (await b.list()).map((r) => [r.hubId, r.live, r.self]),
      [
        ['hub-a', true, false],
        ['hub-b', true, true],
      ],
    );
    clock.advance(1);
    assert.deepEqual(
      (await b.list()).map((r) => [r.hubId, r.live]),
      [
        ['hub-b', true],
        ['hub-a', false],
      ],
    );
    await a.leave();
    await b.leave();
  });

  test('on SQLite a second live replica is refused, naming the other replica and the engines that serve several', async () => {
    const { replicas, presence } = setUp();
    const a = presence('hub-a', SQLITE);
    await a.join();
    const b = presence('hub-b', SQLITE);
    await assert.rejects(b.join(), (err: unknown) => {
      assert.ok(err instanceof ScaleAgentError);
      assert.equal(err.code, Errors.CONFIG_INVALID.code);
      assert.match(err.message, /SQLite serves one hub/);
      assert.match(err.message, /"hub-a"/);
      assert.match(err.message, /PostgreSQL or MySQL/);
      assert.match(err.message, /hub\.replicaDeadAfterSeconds/);
      return true;
    });
    assert.deepEqual(
      (await replicas.listReplicas()).map((r) => r.hubId),
      ['hub-a'],
      'the refused replica leaves no row',
    );
    await a.leave();
  });

  test('on SQLite a replica that died, or a former run of the same replica, does not stop the start', async () => {
    const { assignments, clock, presence } = setUp();
    const crashed = presence('hub-a', SQLITE);
    await crashed.join();
    await assignments.claimCaching('prod', { hubId: 'hub-a', sessionId: 's1', agentId: 'agent-1' }, clock.now(), DEAD_AFTER_MS);
    // The same replica restarted at once: its former run's assignment is released, so its new sessions cache at once.
    const restarted = presence('hub-a', SQLITE);
    await restarted.join();
    assert.equal((await assignments.getAssignment('prod'))?.leaseExpiresAt, 0);
    // Another replica once its silence passed the dead-after interval (the former one never left cleanly).
    clock.advance(DEAD_AFTER_MS);
    const other = presence('hub-b', SQLITE);
    await other.join();
    await other.leave();
    await restarted.leave();
  });

  test('on PostgreSQL or MySQL any number of replicas join', async () => {
    const { presence } = setUp();
    const all = ['hub-a', 'hub-b', 'hub-c'].map((id) => presence(id));
    for (const p of all) await p.join();
    assert.equal((await all[0]!.list()).filter((r) => r.live).length, 3);
    for (const p of all) await p.leave();
  });
});

describe('replica configuration', () => {
  const base = { grpc: { insecure: true, allowAnyIdentity: true } };

  test('heartbeat, dead-after and lease have their documented defaults', () => {
    const config = parseConfig(hubConfigSchema, base, 'test');
    assert.equal(config.hub.heartbeatIntervalSeconds, DEFAULT_HEARTBEAT_INTERVAL_SECONDS);
    assert.equal(config.hub.replicaDeadAfterSeconds, DEFAULT_REPLICA_DEAD_AFTER_SECONDS);
    assert.equal(config.accounts.cachingLeaseSeconds, DEFAULT_CACHING_LEASE_SECONDS);
    assert.deepEqual([DEFAULT_HEARTBEAT_INTERVAL_SECONDS, DEFAULT_REPLICA_DEAD_AFTER_SECONDS, DEFAULT_CACHING_LEASE_SECONDS], [5, 15, 15]);
  });

  test('a dead-after interval not longer than the heartbeat interval is refused, naming both keys', () => {
    for (const replicaDeadAfterSeconds of [5, 3]) {
      assert.throws(
        () => parseConfig(hubConfigSchema, { ...base, hub: { heartbeatIntervalSeconds: 5, replicaDeadAfterSeconds } }, 'test'),
        (err: unknown) => {
          assert.ok(err instanceof ScaleAgentError);
          assert.equal(err.code, Errors.CONFIG_INVALID.code);
          assert.match(err.message, /hub\.replicaDeadAfterSeconds/);
          assert.match(err.message, /must be greater than hub\.heartbeatIntervalSeconds/);
          return true;
        },
      );
    }
  });
});

describe('long-dead replicas', () => {
  test('a joining replica deletes rows silent for longer than the retention; a replica dead for less stays listed as dead', async () => {
    const { replicas, clock, presence } = setUp();
    await replicas.heartbeat({ hubId: 'pod-gone', startedAt: 0, restUrl: null, grpcAddress: null }, clock.now() - DEAD_REPLICA_RETENTION_MS - 1);
    await replicas.heartbeat({ hubId: 'pod-dying', startedAt: 0, restUrl: null, grpcAddress: null }, clock.now() - DEAD_AFTER_MS * 2);
    const a = presence('hub-a');
    await a.join();
    assert.deepEqual(
      (await a.list()).map((r) => [r.hubId, r.live]),
      [
        ['hub-a', true],
        ['pod-dying', false],
      ],
    );
  });
});
