// Operations relayed between hub replicas through the shared database, on PostgreSQL (woken by
// LISTEN/NOTIFY) and MySQL/MariaDB (polling), all real processes: the account's only agent is connected
// to hub-a, Spinnaker submits to hub-b. Every operation runs once in the cluster (the sim's audit of
// write requests says so), its task completes at hub-b and reads the same at hub-a; an operation for an
// account nobody serves any more fails retryably once no replica claimed it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/common/time.ts';
import { mysqlServer, postgresServer, type Server } from '../support/database-servers.ts';
import { engineSkip } from '../support/databases.ts';
import { ReplicaSystem } from '../support/replica-system.ts';
import { configMapWrites, onceDeploy } from '../support/once-deploys.ts';
import { simRequest } from '../support/system.ts';

const ACCOUNT = 'cluster-1';
const NS = 'relayed';
const OPERATIONS = 12;
const START_TIMEOUT_MS = 60_000;
const TASK_TIMEOUT_MS = 60_000;

const ENGINE_TITLES = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB' } as const;

for (const engine of ['postgres', 'mysql'] as const) {
  describe(`operations relayed between hub replicas on ${ENGINE_TITLES[engine]} [${engine}]`, { timeout: 300_000, skip: engineSkip(engine) }, () => {
    let server: Server;
    let url: string;
    let system: ReplicaSystem;

    before(async () => {
      server = engine === 'postgres' ? await postgresServer() : await mysqlServer();
      url = await server.create();
      system = new ReplicaSystem({ database: url, clusters: [ACCOUNT], hub: { hub: { heartbeatIntervalSeconds: 1, replicaDeadAfterSeconds: 3 } } });
      await system.startSim();
      await system.startHub('hub-a');
      await system.startHub('hub-b');
      await system.startAgent('agent-1', 'hub-a');
      await waitFor(() => system.caches('agent-1', ACCOUNT), { timeoutMs: START_TIMEOUT_MS, what: 'agent-1 to cache the account' });
      const namespace = await simRequest(system.sim(ACCOUNT), 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
      assert.equal(namespace.status, 201, JSON.stringify(namespace.body));
    });

    after(async () => {
      await system?.stop();
      if (server) {
        await server.drop(url);
        await server.close();
      }
    });

    async function task(hub: string, id: string): Promise<any> {
      return waitFor(
        async () => {
          const r = await system.rest(hub, `/task/${id}`);
          return r.status === 200 && r.body?.status?.completed === true ? r.body : undefined;
        },
        { timeoutMs: TASK_TIMEOUT_MS, intervalMs: 50, what: `task ${id} at ${hub} to complete` },
      );
    }

    test('operations submitted at the replica without the agent run once each at the replica with it', async () => {
      const names = Array.from({ length: OPERATIONS }, (_, i) => `relayed-${i}`);
      const submitted = await Promise.all(
        names.map((name) => system.rest('hub-b', '/kubernetes/ops', { method: 'POST', body: onceDeploy(ACCOUNT, NS, name, 'relay') })),
      );
      for (const s of submitted) assert.equal(s.status, 200, JSON.stringify(s.body));
      const tasks = await Promise.all(submitted.map((s) => task('hub-b', s.body.id)));
      for (const t of tasks) assert.equal(t.status.failed, false, JSON.stringify(t.history));
      assert.deepEqual(
        tasks
          .map((t) => t.resultObjects[0].manifestNamesByNamespace[NS])
          .flat()
          .sort(),
        names.map((n) => `configMap ${n}`).sort(),
      );

      // The same tasks, read at the other replica.
      for (const s of submitted) assert.equal((await task('hub-a', s.body.id)).status.failed, false);

      // Once each: one create per ConfigMap and no replace (a second run's PUT) anywhere.
      const { creates, repeats } = configMapWrites(await system.simWrites(ACCOUNT), NS);
      assert.equal(creates.length, OPERATIONS);
      assert.deepEqual(repeats, []);
      const live = await simRequest(system.sim(ACCOUNT), 'GET', `/api/v1/namespaces/${NS}/configmaps`);
      assert.deepEqual((live.body.items as any[]).map((o) => o.metadata.name).sort(), [...names].sort());

      // The caching replica holds the account's lease; the submitter waits for nothing any more.
      const metric = async (hub: string, name: string) => {
        const text = (await system.rest(hub, '/metrics')).body as string;
        return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      };
      assert.equal(await metric('hub-a', 'scale_agent_hub_caching_leases_held'), 1);
      assert.equal(await metric('hub-b', 'scale_agent_hub_caching_leases_held'), 0);
      assert.equal(await metric('hub-b', 'scale_agent_hub_relayed_operations_waiting'), 0);

      // Any replica's status view names the replica and agent caching the account.
      const status = await system.rest('hub-b', '/admin/replicas');
      assert.deepEqual(
        status.body.replicas.map((r: any) => [r.hubId, r.live, r.cachingAccounts]),
        [
          ['hub-a', true, 1],
          ['hub-b', true, 0],
        ],
      );
      assert.deepEqual(
        status.body.assignments.map((a: any) => [a.account, a.hubId, a.agentId, a.lease]),
        [[ACCOUNT, 'hub-a', 'agent-1', 'held']],
      );

      const hubBLogs = system.logs('hub-b');
      assert.ok(!hubBLogs.some((l) => l.level >= 50), JSON.stringify(hubBLogs.filter((l) => l.level >= 50)));
    });

    test('the agent gone from every replica: an operation fails retryably with ACCOUNT_NOT_CONNECTED once no replica claims it', async () => {
      await system.stopAgent('agent-1');
      // hub-a logs the session's end once it has recorded the account disconnected.
      await waitFor(() => system.logs('hub-a').find((l) => l.msg === 'agent session ended'), { timeoutMs: START_TIMEOUT_MS, what: 'hub-a to see agent-1 go' });
      const submitted = await system.rest('hub-b', '/kubernetes/ops', { method: 'POST', body: onceDeploy(ACCOUNT, NS, 'orphan', 'relay') });
      assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
      const t = await task('hub-b', submitted.body.id);
      assert.equal(t.status.failed, true);
      const exception = t.resultObjects.find((r: any) => r.type === 'EXCEPTION');
      assert.equal(exception.details.code, 'ACCOUNT_NOT_CONNECTED', JSON.stringify(exception));
      assert.equal(exception.retryable, true);
    });
  });
}
