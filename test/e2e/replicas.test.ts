// Two hub replicas on one PostgreSQL (and one MariaDB/MySQL) database of its own, an agent at each
// declaring the same account, all real processes. Exactly one agent caches the account while the other stands by;
// when the caching hub stops cleanly the other replica's standby takes over at once, when it is killed
// (kill -9) once its lease ran out; either way within a bound, and the cache converges, the changes made
// during the gap included. Every replica lists the replicas in /health, live or dead.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { mysqlServer, postgresServer, type Server } from '../support/database-servers.ts';
import { engineSkip } from '../support/databases.ts';
import { openHubSql, type HubSql } from '../support/hub-sql.ts';
import { ReplicaSystem } from '../support/replica-system.ts';
import { simRequest, type SimAccess } from '../support/system.ts';

const ACCOUNT = 'cluster-1';
const NS = 'failover';
const HEARTBEAT_SECONDS = 1;
const DEAD_AFTER_SECONDS = 3;
const LEASE_SECONDS = 2;
/**
 * From a hub's stop to caching at the other replica: the lease (after a kill), a tick (a third of it),
 * the agent starting its reflectors; with room for two cores shared by five processes and the test.
 */
const TAKEOVER_BOUND_MS = 20_000;
const CONVERGENCE_TIMEOUT_MS = 45_000;
const STANDS_BY = 'another session caches the account; this one stands by';

interface ReplicaJson {
  hubId: string;
  live: boolean;
  self: boolean;
}

const ENGINE_TITLES = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB' } as const;

for (const engine of ['postgres', 'mysql'] as const) {
  describe(`hub replicas on one ${ENGINE_TITLES[engine]} database [${engine}]`, { timeout: 300_000, skip: engineSkip(engine) }, () => {
    let server: Server;
    let url: string;
    let system: ReplicaSystem;
    let sql: HubSql;
    let sim: SimAccess;

    before(async () => {
      server = engine === 'postgres' ? await postgresServer() : await mysqlServer();
      url = await server.create();
      system = new ReplicaSystem({
        database: url,
        clusters: [ACCOUNT],
        hub: {
          hub: { heartbeatIntervalSeconds: HEARTBEAT_SECONDS, replicaDeadAfterSeconds: DEAD_AFTER_SECONDS },
          accounts: { cachingLeaseSeconds: LEASE_SECONDS },
        },
      });
      await system.startSim();
      await system.startHub('hub-a');
      await system.startHub('hub-b');
      sql = await openHubSql(url);
      sim = system.sim(ACCOUNT);
      const namespace = await simRequest(sim, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
      assert.equal(namespace.status, 201, JSON.stringify(namespace.body));
    });

    after(async () => {
      await sql?.close();
      await system?.stop();
      if (server) {
        await server.drop(url);
        await server.close();
      }
    });

    async function createConfigMap(name: string): Promise<void> {
      const created = await simRequest(sim, 'POST', `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }

    /** Waits until the hub's database holds exactly the sim's ConfigMaps of the namespace, at their resourceVersions. */
    async function converged(what: string): Promise<void> {
      await waitFor(
        async () => {
          const list = await simRequest(sim, 'GET', `/api/v1/namespaces/${NS}/configmaps`);
          const atSim = new Map<string, string>((list.body.items as any[]).map((o) => [o.metadata.name, o.metadata.resourceVersion]));
          const rows = await sql.query<{ name: string; resource_version: string }>(
            'SELECT name, resource_version FROM objects WHERE account = ? AND kind = ? AND namespace = ?',
            [ACCOUNT, 'ConfigMap', NS],
          );
          return rows.length === atSim.size && rows.every((r) => atSim.get(r.name) === r.resource_version);
        },
        { timeoutMs: CONVERGENCE_TIMEOUT_MS, what },
      );
    }

    async function replicasAt(hub: string): Promise<ReplicaJson[]> {
      const health = await system.rest(hub, '/health');
      assert.equal(health.status, 200, JSON.stringify(health.body));
      return health.body.components.replicas.details.replicas as ReplicaJson[];
    }

    /** The account's caching assignment as the database holds it. */
    async function assignment(): Promise<{ hub_id: string; agent_id: string; epoch: number }> {
      const [row] = await sql.query<{ hub_id: string; agent_id: string; epoch: number }>(
        'SELECT hub_id, agent_id, epoch FROM caching_assignments WHERE account = ?',
        [ACCOUNT],
      );
      assert.ok(row, 'the account has a caching assignment');
      return { hub_id: row.hub_id, agent_id: row.agent_id, epoch: Number(row.epoch) };
    }

    /** Waits until agent `to` caches the account; returns how long after `since` it did. */
    async function takeover(to: string, since: number): Promise<number> {
      await waitFor(() => system.caches(to, ACCOUNT), { timeoutMs: TAKEOVER_BOUND_MS, what: `${to} to take caching over` });
      return Date.now() - since;
    }

    test("exactly one agent caches the account while the other replica's agent stands by; both replicas are listed live", async () => {
      await system.startAgent('agent-a', 'hub-a');
      await waitFor(() => system.caches('agent-a', ACCOUNT), { timeoutMs: CONVERGENCE_TIMEOUT_MS, what: 'agent-a to cache the account' });
      await system.startAgent('agent-b', 'hub-b');
      await waitFor(() => system.logs('hub-b').find((l) => l.msg === STANDS_BY && l.account === ACCOUNT), {
        timeoutMs: CONVERGENCE_TIMEOUT_MS,
        what: 'hub-b to make agent-b a standby',
      });
      assert.equal(await system.caches('agent-b', ACCOUNT), false);
      assert.equal(await system.caches('agent-a', ACCOUNT), true);
      assert.deepEqual(await assignment(), { hub_id: 'hub-a', agent_id: 'agent-a', epoch: 1 });
      await createConfigMap('before-1');
      await converged('the cache to hold the ConfigMap made before any failover');
      for (const hub of ['hub-a', 'hub-b']) {
        assert.deepEqual(
          (await replicasAt(hub)).map((r) => [r.hubId, r.live, r.self]),
          [
            ['hub-a', true, hub === 'hub-a'],
            ['hub-b', true, hub === 'hub-b'],
          ],
        );
      }
    });

    test('the caching hub stops cleanly: the standby at the other replica takes over, and what changed in the gap arrives', async (t) => {
      const stoppedAt = Date.now();
      await system.stopHub('hub-a');
      for (const name of ['gap-1', 'gap-2', 'gap-3']) await createConfigMap(name);
      const tookMs = await takeover('agent-b', stoppedAt);
      t.diagnostic(`caching moved ${tookMs} ms after the clean stop began`);
      assert.ok(tookMs < TAKEOVER_BOUND_MS, `took ${tookMs} ms`);
      assert.deepEqual(await assignment(), { hub_id: 'hub-b', agent_id: 'agent-b', epoch: 2 });
      await converged('the cache to hold the changes made while caching moved');
      assert.deepEqual(
        (await replicasAt('hub-b')).map((r) => r.hubId),
        ['hub-b'],
        'a replica that stops cleanly removes its row',
      );
    });

    test('the caching hub is killed: once its lease ran out the standby takes over, and what changed in the gap arrives', async (t) => {
      // hub-a comes back on its port; agent-a reconnects to it and stands by, since agent-b caches at hub-b.
      await system.startHub('hub-a');
      // The restarted process's output only: a part started again under its name starts a new log.
      await waitFor(() => system.logs('hub-a').find((l) => l.msg === STANDS_BY && l.account === ACCOUNT), {
        timeoutMs: CONVERGENCE_TIMEOUT_MS,
        what: 'the restarted hub-a to make agent-a a standby',
      });
      await waitFor(async () => !(await system.caches('agent-a', ACCOUNT)), { timeoutMs: CONVERGENCE_TIMEOUT_MS, what: 'agent-a to stop caching' });
      assert.equal(await system.caches('agent-b', ACCOUNT), true);

      const killedAt = Date.now();
      await system.stopHub('hub-b', 'SIGKILL');
      for (const name of ['gap-4', 'gap-5', 'gap-6']) await createConfigMap(name);
      const tookMs = await takeover('agent-a', killedAt);
      t.diagnostic(`caching moved ${tookMs} ms after the kill (lease ${LEASE_SECONDS} s)`);
      assert.ok(tookMs < TAKEOVER_BOUND_MS, `took ${tookMs} ms`);
      assert.deepEqual(await assignment(), { hub_id: 'hub-a', agent_id: 'agent-a', epoch: 3 });
      await converged('the cache to hold the changes made while the killed replica held the account');
      await waitFor(async () => (await replicasAt('hub-a')).find((r) => r.hubId === 'hub-b' && !r.live), {
        timeoutMs: DEAD_AFTER_SECONDS * 1000 * 5,
        what: 'hub-a to list the killed hub-b as dead',
      });
    });
  });
}
